// SPDX-License-Identifier: GPL-2.0
/*
 * module_test - msgmux.ko's life cycle: autoload through socket(), rmmod
 * refused while a socket is open or its close() still flushes a
 * connection, an attached TCP socket that outlives the module, 100
 * load/unload cycles with sockets used in between that leave the slab
 * caches as they were, and the "family" module parameter with its errors.
 *
 * Needs root and the module at /lib/modules/$(uname -r)/extra/msgmux.ko,
 * as in the test VM.  Every test leaves the module loaded with its default
 * parameters, as it found it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/membarrier.h>

#include "harness.h"
#include "libmsgmux.h"
#include "util.h"

static bool module_loaded(void)
{
	return access("/sys/module/msgmux", F_OK) == 0;
}

/* finit_module() of msgmux.ko with @params; returns 0 or -errno. */
static int load(const char *params)
{
	char path[256];
	struct utsname u;
	int fd, ret;

	uname(&u);
	snprintf(path, sizeof(path), "/lib/modules/%s/extra/msgmux.ko",
		 u.release);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

static int unload(void)
{
	return syscall(SYS_delete_module, "msgmux", O_NONBLOCK) ? -errno : 0;
}

/*
 * Unload, retrying for up to @ms while the module is in use (EWOULDBLOCK)
 * or going (EBUSY).  close() releases a socket before it returns, but a
 * struct sock (and its reference on the module) lives until the last skb
 * charged to it is freed, which may be a moment later; the retries are
 * counted in @retries, for the log.  Returns 0 or -errno.
 */
static int unload_wait(int ms, int *retries)
{
	long long end = now_ms() + ms;
	int err;

	while ((err = unload()) == -EWOULDBLOCK || err == -EBUSY) {
		if (now_ms() > end)
			break;
		(*retries)++;
		usleep(5 * 1000);
	}
	return err;
}

static int restore_default(void)
{
	if (module_loaded() && msgmux_family() == AF_MSGMUX_DEFAULT)
		return 0;
	if (module_loaded() && unload())
		return -1;
	return load("");
}

/* True if the kernel log has a line containing @needle. */
static bool klog_has(const char *needle)
{
	int len = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *buf;
	bool found;

	if (len <= 0)
		return false;
	buf = calloc(1, len + 1);
	if (!buf)
		return false;
	len = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, len);
	found = len > 0 && strstr(buf, needle);
	free(buf);
	return found;
}

/* ---- what each load of the module does -------------------------------- */

static const struct mux_cfg dgram_cfg = {
	MUX_MSGMUX, SOCK_DGRAM, FRAME_STRIP
};

static const struct mux_cfg seq_cfg = {
	MUX_MSGMUX, SOCK_SEQPACKET, FRAME_STRIP
};

/* One message each way between @fd, a msgmux socket, and @peer. */
static bool exchange(const struct mux_cfg *c, int fd, int peer,
		     unsigned int seed)
{
	char msg[64], buf[64];
	size_t len;
	ssize_t n;

	if (!(poll_events(fd, POLLOUT, WAIT_MS) & POLLOUT))
		return false;
	len = msg_make(c, msg, 32, seed);
	if (send(fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len)
		return false;
	n = peer_recv(c, peer, buf, sizeof(buf), WAIT_MS);
	if (n < 0 || !msg_check(c, buf, n, 32, seed))
		return false;
	len = msg_make(c, msg, 40, seed + 1);
	if (peer_send(c, peer, msg, len))
		return false;
	n = recv_wait(fd, buf, sizeof(buf), 0, WAIT_MS);
	return n > 0 && msg_check(c, buf, n, 40, seed + 1);
}

/*
 * Use a freshly loaded module: a SOCK_DGRAM socket with an attached TCP
 * connection, and a SOCK_SEQPACKET socket connect()ed to a TCP listener,
 * each carry a message both ways.  Everything is closed.  NULL, or what
 * failed.
 */
static const char *use_module(unsigned int seed)
{
	int dg, sq, a = -1, b = -1, lfd = -1, peer = -1;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const char *err;

	dg = msgmux_socket(SOCK_DGRAM | SOCK_CLOEXEC);
	sq = msgmux_socket(SOCK_SEQPACKET | SOCK_CLOEXEC);
	err = "socket";
	if (dg < 0 || sq < 0)
		goto out;
	err = "attach";
	if (tcp_pair(AF_INET, &a, &b) || mux_attach(MUX_MSGMUX, dg, a, -1))
		goto out;
	err = "a message each way on the attached connection";
	if (!exchange(&dgram_cfg, dg, b, seed))
		goto out;
	err = "connect";
	lfd = tcp_listener(AF_INET);
	if (lfd < 0 || getsockname(lfd, (struct sockaddr *)&ss, &len) ||
	    connect(sq, (struct sockaddr *)&ss, len))
		goto out;
	err = "accept";
	if (poll_events(lfd, POLLIN, WAIT_MS) & POLLIN)
		peer = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (peer < 0)
		goto out;
	err = "a message each way on connect()'s connection";
	if (!exchange(&seq_cfg, sq, peer, seed + 2))
		goto out;
	err = NULL;
out:
	if (dg >= 0)
		close(dg);
	if (sq >= 0)
		close(sq);
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
	if (lfd >= 0)
		close(lfd);
	if (peer >= 0)
		close(peer);
	return err;
}

/* ---- the slab caches that work touches ---------------------------------- */

/*
 * The caches msgmux's sockets, connections and messages come from, by
 * name or (ending in '*') prefix.  TIME_WAIT sockets (tw_sock_TCP) are
 * only shown: each cycle leaves some for TCP to expire a minute later.
 */
static const char * const slab_groups[] = {
	"MSGMUX", "TCP", "TCPv6", "request_sock_TCP", "sock_inode_cache",
	"skbuff_*", "kmalloc-*", "tw_sock_TCP",
};

#define SLAB_KMALLOC	6
#define SLAB_JUDGED	(ARRAY_SIZE(slab_groups) - 1)

/*
 * What a hundred cycles may leave in a group: below one object per cycle,
 * so that a leak of one object per cycle fails, whatever the cache; above
 * the kernel's own noise (deferred frees, caches of the namespace).
 */
#define SLAB_NOISE	32

struct slab_count {
	long active[ARRAY_SIZE(slab_groups)];
	bool msgmux;		/* the MSGMUX cache exists */
};

static bool slab_in_group(const char *name, const char *group)
{
	size_t n = strlen(group);

	if (group[n - 1] == '*')
		return !strncmp(name, group, n - 1);
	return !strcmp(name, group);
}

/* At best: without it the counts only come out higher. */
static bool slab_shrink(const char *name)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = write(fd, "1", 1);
	close(fd);
	return n == 1;
}

/*
 * Active objects per group, from /proc/slabinfo.  With @shrink, each
 * cache is shrunk first (/sys/kernel/slab/NAME/shrink): that flushes its
 * per-CPU slabs, whose free objects slabinfo counts as active, and, with
 * KASAN, frees what its quarantine holds.  Returns 0 or -errno.
 */
static int slab_read(struct slab_count *c, bool shrink)
{
	char line[512], name[128];
	unsigned int g;
	long active;
	FILE *f;

	memset(c, 0, sizeof(*c));
	f = fopen("/proc/slabinfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127s %ld", name, &active) != 2 ||
		    name[0] == '#')
			continue;
		for (g = 0; g < ARRAY_SIZE(slab_groups); g++) {
			if (!slab_in_group(name, slab_groups[g]))
				continue;
			if (!strcmp(name, "MSGMUX"))
				c->msgmux = true;
			if (shrink)
				slab_shrink(name);
			c->active[g] += active;
			break;
		}
	}
	fclose(f);
	return 0;
}

/*
 * Does the kernel hold freed objects back?  KASAN keeps them in its
 * quarantine (and counting the caches frees some: its own sysfs writes),
 * the reference trackers keep the last 128 freed trackers of a namespace
 * (kmalloc-32): the debug kernel's kmalloc caches grow by a few hundred
 * objects, then stay.  There, kmemleak's scans (which the VM runs after
 * the suite, and whose findings fail the run) judge the kmalloc caches
 * instead, if the kernel has kmemleak.
 */
static bool kernel_holds_frees(void)
{
	static const char * const syms[] = {
		" kasan_quarantine_put\n", " ref_tracker_alloc\n",
	};
	char line[256];
	bool found = false;
	unsigned int i;
	FILE *f;

	f = fopen("/proc/kallsyms", "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		for (i = 0; i < ARRAY_SIZE(syms); i++)
			found |= !!strstr(line, syms[i]);
	fclose(f);
	return found && !access("/sys/kernel/debug/kmemleak", F_OK);
}

static bool slab_judged(unsigned int g, bool holds_frees)
{
	return g < SLAB_JUDGED && !(g == SLAB_KMALLOC && holds_frees);
}

static bool slab_within(const struct slab_count *now,
			const struct slab_count *base, bool holds_frees)
{
	unsigned int g;

	for (g = 0; g < SLAB_JUDGED; g++)
		if (slab_judged(g, holds_frees) &&
		    now->active[g] - base->active[g] > SLAB_NOISE)
			return false;
	return !now->msgmux;
}

/*
 * Read the caches once what was freed last has gone back: sockets and
 * their inodes are freed after an RCU grace period (membarrier() waits
 * for one), TCP sockets once TCP closed them.  With @base, retry for up
 * to @ms until the counts are within SLAB_NOISE of it.
 */
static int slab_settle(struct slab_count *c, const struct slab_count *base,
		       bool holds_frees, int ms)
{
	long long end = now_ms() + ms;
	int err;

	for (;;) {
		syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
		usleep(20 * 1000);
		/* Shrink, then read what the shrinking left. */
		err = slab_read(c, true);
		if (!err)
			err = slab_read(c, false);
		if (err || !base || slab_within(c, base, holds_frees) ||
		    now_ms() > end)
			return err;
		usleep(100 * 1000);
	}
}

FIXTURE(module)
{
};

FIXTURE_SETUP(module)
{
	if (geteuid())
		SKIP(return, "loading modules needs root");
	if (load("") != -EEXIST && !module_loaded())
		SKIP(return, "msgmux.ko is not installed for this kernel");
	ASSERT_EQ(0, restore_default());
}

FIXTURE_TEARDOWN(module)
{
	EXPECT_EQ(0, restore_default());
}

/* While a socket is open the module cannot go, and the socket keeps working. */
TEST_F(module, rmmod_refused_while_socket_open)
{
	int fd = msgmux_socket(SOCK_SEQPACKET);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EWOULDBLOCK, unload());
	EXPECT_TRUE(module_loaded());
	EXPECT_EQ(SOCK_SEQPACKET, sockopt_int(fd, SO_TYPE));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, unload());
	EXPECT_FALSE(module_loaded());
}

/* socket(AF_MSGMUX, ...) loads the module through its net-pf alias. */
TEST_F(module, socket_autoloads_module)
{
	int fd;

	ASSERT_EQ(0, unload());
	ASSERT_FALSE(module_loaded());
	fd = socket(AF_MSGMUX_DEFAULT, SOCK_DGRAM, 0);
	ASSERT_LE(0, fd) TH_LOG("socket: %s", strerror(errno));
	EXPECT_TRUE(module_loaded());
	EXPECT_EQ(AF_MSGMUX_DEFAULT, msgmux_family());
	close(fd);
}

TEST_F(module, load_unload_twice_with_sockets_between)
{
	struct proc_row row;
	int i, fd;

	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, unload());
		ASSERT_FALSE(module_loaded());
		ASSERT_EQ(-ENOENT, access("/proc/net/msgmux", F_OK) ? -errno : 0);
		ASSERT_EQ(0, load(""));
		fd = msgmux_socket(SOCK_SEQPACKET);
		ASSERT_LE(0, fd);
		EXPECT_EQ(0, proc_find_sock(fd_inode(fd), &row));
		close(fd);
	}
}

/* family=N moves the socket family, and sysfs reports the live value. */
TEST_F(module, family_parameter_moves_the_family)
{
	const int other = 25;	/* unused by Linux, like the default */
	int fd;

	ASSERT_EQ(0, unload());
	ASSERT_EQ(0, load("family=25"));
	EXPECT_EQ(other, msgmux_family());
	fd = socket(other, SOCK_SEQPACKET, 0);
	EXPECT_LE(0, fd);
	close(fd);
	EXPECT_EQ(-1, socket(AF_MSGMUX_DEFAULT, SOCK_SEQPACKET, 0));
	EXPECT_EQ(EAFNOSUPPORT, errno);
}

TEST_F(module, taken_family_fails_to_load_with_message)
{
	ASSERT_EQ(0, unload());
	EXPECT_EQ(-EEXIST, load("family=2"));	/* AF_INET */
	EXPECT_FALSE(module_loaded());
	EXPECT_TRUE(klog_has("address family 2 is taken by another protocol"));
}

TEST_F(module, out_of_range_family_fails_to_load)
{
	static const char * const bad[] = {
		"family=0", "family=-1", "family=46", "family=1000",
	};
	unsigned int i;

	ASSERT_EQ(0, unload());
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, load(bad[i])) TH_LOG("%s", bad[i]);
		EXPECT_FALSE(module_loaded());
	}
	EXPECT_TRUE(klog_has("is out of range"));
}

/*
 * A mux's last close() detaches its connections, writing what they
 * queued for up to SO_LINGER.  Until it returns the descriptor is gone,
 * but the socket is not released yet: the module must stay.  (A struct
 * sock of the module outliving its file is the case to watch for.)
 */
struct closer {
	int fd;
	long long ms;		/* how long close() took */
	int done;
};

static void *close_thread(void *arg)
{
	struct closer *c = arg;
	long long t0 = now_ms();

	close(c->fd);
	c->ms = now_ms() - t0;
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

#define BIG	(64 * 1024)

TEST_F_TIMEOUT(module, rmmod_refused_while_close_flushes, 120)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 30 };
	int small = 64 * 1024, mux, a, b, sent = 0, retries = 0;
	struct closer c = {};
	size_t want, got = 0;
	char *buf;
	pthread_t t;
	ssize_t n;

	buf = malloc(BIG);
	ASSERT_NE(NULL, buf);
	memset(buf, 'm', BIG);
	mux = msgmux_socket(SOCK_DGRAM | SOCK_CLOEXEC);
	ASSERT_LE(0, mux);
	ASSERT_EQ(0, setsockopt(mux, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	ASSERT_EQ(0, tcp_pair(AF_INET, &a, &b));
	/* Small TCP buffers: the connection's own queue fills soon. */
	setsockopt(a, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(b, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	ASSERT_EQ(0, mux_attach(MUX_MSGMUX, mux, a, -1));
	ASSERT_TRUE(poll_events(mux, POLLOUT, WAIT_MS) & POLLOUT);

	/* The peer reads nothing: queue until msgmux's send buffer is full. */
	while (send(mux, buf, BIG, MSG_DONTWAIT | MSG_NOSIGNAL) == BIG)
		sent++;
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_LT(2, sent);

	c.fd = mux;
	ASSERT_EQ(0, pthread_create(&t, NULL, close_thread, &c));
	usleep(300 * 1000);
	ASSERT_FALSE(__atomic_load_n(&c.done, __ATOMIC_ACQUIRE))
		TH_LOG("close() did not wait for the queued messages");
	EXPECT_EQ(-EWOULDBLOCK, unload());
	EXPECT_TRUE(module_loaded());

	/* The peer reads everything: the close ends, the module may go. */
	want = (size_t)sent * (HDR_LEN + BIG);
	while (got < want) {
		n = read_full(b, buf, want - got < BIG ? want - got : BIG,
			      WAIT_MS);
		if (n <= 0)
			break;
		got += n;
	}
	pthread_join(t, NULL);
	EXPECT_EQ(want, got) TH_LOG("%d messages of %d bytes queued", sent,
				    BIG);
	EXPECT_EQ(0, unload_wait(2000, &retries));
	EXPECT_FALSE(module_loaded());
	TH_LOG("close() flushed %d x %d bytes in %lld ms; unload retried %d",
	       sent, BIG, c.ms, retries);
	close(a);
	close(b);
	free(buf);
}

/*
 * Closing a mux gives its attached TCP socket back: the module can go
 * while the TCP socket stays open, and what runs when data arrives on it
 * afterwards is TCP's own callbacks, restored at detach (msgmux's, left
 * behind, would be code of the unloaded module).
 */
TEST_F(module, attached_tcp_socket_outlives_module)
{
	int mux, a, b, retries = 0;
	char buf[8];

	mux = msgmux_socket(SOCK_SEQPACKET | SOCK_CLOEXEC);
	ASSERT_LE(0, mux);
	ASSERT_EQ(0, tcp_pair(AF_INET, &a, &b));
	ASSERT_EQ(0, mux_attach(MUX_MSGMUX, mux, a, -1));
	ASSERT_TRUE(exchange(&seq_cfg, mux, b, 7));
	EXPECT_EQ(-EWOULDBLOCK, unload());
	close(mux);
	ASSERT_EQ(0, unload_wait(2000, &retries));
	ASSERT_FALSE(module_loaded());

	ASSERT_EQ(0, write_full(b, "after", 5));
	EXPECT_EQ(5, read_full(a, buf, 5, WAIT_MS));
	EXPECT_EQ(0, memcmp(buf, "after", 5));
	ASSERT_EQ(0, write_full(a, "back", 4));
	EXPECT_EQ(4, read_full(b, buf, 4, WAIT_MS));
	EXPECT_EQ(0, memcmp(buf, "back", 4));
	close(a);
	close(b);
}

/*
 * A hundred lives of the module, each using it (use_module()), leave the
 * slab caches as they were: msgmux's own cache goes with the module, and
 * the others grow by less than one object per cycle.  kmemleak judges
 * the debug kernel's run as a whole.
 */
#define CYCLES	100

TEST_F_TIMEOUT(module, hundred_cycles_leave_slabs_as_they_were, 900)
{
	bool holds_frees = kernel_holds_frees();
	struct slab_count before, after;
	int i, retries = 0, err;
	const char *what;
	long long t0;
	unsigned int g;

	/* One cycle first: what the first use allocates for good is not ours. */
	ASSERT_EQ(0, unload());
	ASSERT_EQ(0, load(""));
	what = use_module(1);
	ASSERT_EQ(NULL, what) TH_LOG("warm-up: %s", what);
	ASSERT_EQ(0, unload_wait(2000, &retries));
	ASSERT_EQ(0, slab_settle(&before, NULL, false, 0))
		TH_LOG("/proc/slabinfo: %s", strerror(errno));

	t0 = now_ms();
	for (i = 0; i < CYCLES; i++) {
		err = load("");
		ASSERT_EQ(0, err) TH_LOG("cycle %d: load: %s", i,
					 strerror(-err));
		what = use_module(10 * i);
		ASSERT_EQ(NULL, what) TH_LOG("cycle %d: %s", i, what);
		err = unload_wait(2000, &retries);
		ASSERT_EQ(0, err) TH_LOG("cycle %d: unload: %s", i,
					 strerror(-err));
	}
	TH_LOG("%d cycles in %lld ms; unload retried %d times", CYCLES,
	       now_ms() - t0, retries);

	ASSERT_EQ(0, slab_settle(&after, &before, holds_frees, 10 * 1000));
	for (g = 0; g < ARRAY_SIZE(slab_groups); g++)
		TH_LOG("%-18s %6ld -> %6ld (%+ld)%s", slab_groups[g],
		       before.active[g], after.active[g],
		       after.active[g] - before.active[g],
		       slab_judged(g, holds_frees) ? "" :
		       g == SLAB_KMALLOC ? " (freed objects held back: kmemleak judges)" :
		       " (not judged)");
	EXPECT_FALSE(after.msgmux) TH_LOG("the MSGMUX cache outlived rmmod");
	for (g = 0; g < SLAB_JUDGED; g++) {
		if (!slab_judged(g, holds_frees))
			continue;
		/* Braces: TH_LOG() after EXPECT_GE() is a statement apart. */
		EXPECT_GE(SLAB_NOISE, after.active[g] - before.active[g])
			TH_LOG("%s grew by %ld objects in %d cycles",
			       slab_groups[g],
			       after.active[g] - before.active[g], CYCLES);
	}
}

TEST_HARNESS_MAIN
