// SPDX-License-Identifier: GPL-2.0
/*
 * conn_test - connections the kernel makes: connect(), bind(), listen(),
 * accept(), MSGMUX_ACCEPT_LIMIT, a socket's names, shutdown() and close().
 *
 * The far end is a plain TCP socket over loopback that speaks the default
 * framing: a 4-byte big-endian length, then the payload.  A case that
 * applies to IPv4 and IPv6 runs for both (the ipv4 and ipv6 variants).
 *
 * A SYN that is never answered comes from a "SYN sink": a TCP listener
 * with backlog 1 whose accept queue two connections already fill.  TCP
 * drops every SYN such a listener gets (ListenOverflows), so a connect()
 * to it stays in SYN_SENT, retransmitting, until the queue is drained.
 * Cases that need a network namespace of their own (routes, sysctls)
 * unshare one in the test's process; the VM runs them as root.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/capability.h>

#include "harness.h"
#include "libmsgmux.h"
#include "util.h"

/* The peer's framing: the default, header stripped. */
static const struct mux_cfg strip = { MUX_MSGMUX, SOCK_SEQPACKET,
				      FRAME_STRIP };

/* How long a connect() may need with its SYNs dropped: 1 s, 3 s, 7 s. */
#define SYN_WAIT_MS	10000
/* Upper bound for a blocking call that should return by itself. */
#define BLOCK_MS	5000

#define SA(ss)		((struct sockaddr *)(ss))

static socklen_t sa_len(int family)
{
	return family == AF_INET6 ? sizeof(struct sockaddr_in6) :
				    sizeof(struct sockaddr_in);
}

static int mm_socket(int type)
{
	return msgmux_socket(type | SOCK_CLOEXEC);
}

static int set_int(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val));
}

static int set_timeo(int fd, int opt, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	return setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

/* getsockname() (or getpeername()) into @ss: its length, or -errno. */
static int name_of(int fd, struct sockaddr_storage *ss, bool peer)
{
	socklen_t len = sizeof(*ss);
	int ret;

	memset(ss, 0, sizeof(*ss));
	ret = peer ? getpeername(fd, SA(ss), &len) :
		     getsockname(fd, SA(ss), &len);
	return ret ? -errno : (int)len;
}

/* connect() to @ss: 0 or errno. */
static int connect_err(int fd, const struct sockaddr_storage *ss)
{
	return connect(fd, (const struct sockaddr *)ss,
		       sa_len(ss->ss_family)) ? errno : 0;
}

/* bind() to @ss: 0 or errno. */
static int bind_err(int fd, const struct sockaddr_storage *ss)
{
	return bind(fd, (const struct sockaddr *)ss,
		    sa_len(ss->ss_family)) ? errno : 0;
}

/* A TCP socket connected to @ss, or -1. */
static int tcp_client(const struct sockaddr_storage *ss)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int err;

	if (fd < 0)
		return -1;
	err = connect_err(fd, ss);
	if (err) {
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* accept() what arrives on a listener within @ms, or -1. */
static int accept_wait(int lfd, int ms)
{
	if (!(poll_events(lfd, POLLIN, ms) & POLLIN)) {
		errno = ETIMEDOUT;
		return -1;
	}
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

/*
 * A TCP socket bound to a loopback port, not listening: a SYN to @ss is
 * answered with a reset.
 */
static int closed_port(int family, struct sockaddr_storage *ss)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	loopback_addr(family, 0, ss);
	if (bind_err(fd, ss) || name_of(fd, ss, false) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A msgmux socket listening on loopback; its address in @ss. */
static int mm_listener(int type, int family, struct sockaddr_storage *ss)
{
	int fd = mm_socket(type);

	if (fd < 0)
		return -1;
	loopback_addr(family, 0, ss);
	if (bind_err(fd, ss) || listen(fd, 16) ||
	    name_of(fd, ss, false) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A msgmux socket of @type connected to @ss, or -1. */
static int mm_connected(int type, const struct sockaddr_storage *ss)
{
	int fd = mm_socket(type);
	int err;

	if (fd < 0)
		return -1;
	err = connect_err(fd, ss);
	if (err) {
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* The id of @fd's mux, from its line in /proc/net/msgmux; 0 if none. */
static unsigned int mux_of(int fd)
{
	struct proc_row row;

	return proc_find_sock(fd_inode(fd), &row) ? 0 : row.mux;
}

/* Connection lines of mux @mux once they are @want, or after WAIT_MS. */
static int wait_conns(unsigned int mux, int want)
{
	long long end = now_ms() + WAIT_MS;
	int n;

	while ((n = proc_count_conns(mux, NULL)) != want && now_ms() < end)
		usleep(10 * 1000);
	return n;
}

/* The TCP peer reads one message; true if it is @msg. */
static bool peer_got(int tcp, const void *msg, size_t len)
{
	char *buf = malloc(len + 1);
	ssize_t n;
	bool ok;

	if (!buf)
		return false;
	n = peer_recv(&strip, tcp, buf, len + 1, WAIT_MS);
	ok = n == (ssize_t)len && !memcmp(buf, msg, len);
	free(buf);
	return ok;
}

/*
 * @fd receives one message within WAIT_MS; true if it is @msg.  A
 * notification on the error queue (POLLERR) does not end the wait.
 */
static bool mm_got(int fd, const void *msg, size_t len)
{
	long long end = now_ms() + WAIT_MS;
	char *buf = malloc(len + 1);
	ssize_t n;
	bool ok;

	if (!buf)
		return false;
	for (;;) {
		n = recv(fd, buf, len + 1, MSG_DONTWAIT);
		if (n >= 0 || errno != EAGAIN || now_ms() >= end)
			break;
		if (!(poll_events(fd, POLLIN, end - now_ms()) & POLLIN))
			usleep(1000);
	}
	ok = n == (ssize_t)len && !memcmp(buf, msg, len);
	free(buf);
	return ok;
}

/* The TCP peer sees end of file within WAIT_MS. */
static bool peer_eof(int tcp)
{
	char c;

	if (!(poll_events(tcp, POLLIN, WAIT_MS) & POLLIN))
		return false;
	return recv(tcp, &c, 1, MSG_DONTWAIT) == 0;
}

/* recvfrom() on whichever of @fds has a message first; -1 on timeout. */
static ssize_t recv_any(const int *fds, int nfds, void *buf, size_t cap,
			struct sockaddr_msgmux *from, int *which)
{
	struct pollfd p[4];
	socklen_t alen;
	int i;

	for (i = 0; i < nfds; i++)
		p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	if (poll(p, nfds, WAIT_MS) <= 0)
		return -1;
	for (i = 0; i < nfds; i++) {
		if (!(p[i].revents & POLLIN))
			continue;
		alen = sizeof(*from);
		*which = i;
		return recvfrom(fds[i], buf, cap, MSG_DONTWAIT, SA(from),
				&alen);
	}
	return -1;
}

/* Read a connection error from @fd's error queue: 0 or -errno. */
static int recv_conn_error(int fd, struct msgmux_conn_error *ce)
{
	struct iovec iov = { ce, sizeof(*ce) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	return recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) ==
	       sizeof(*ce) ? 0 : -errno;
}

/* ---- a SYN that is never answered ---------------------------------------- */

struct syn_sink {
	int lfd;
	int fill[2];
	struct sockaddr_storage addr;
};

static void syn_sink_close(struct syn_sink *s)
{
	close(s->lfd);
	close(s->fill[0]);
	close(s->fill[1]);
}

/*
 * A listener with backlog 1 and two connections in its accept queue:
 * the queue is full (sk_ack_backlog > sk_max_ack_backlog, which TCP_INFO
 * reports on a listener as tcpi_unacked and tcpi_sacked), and TCP drops
 * the SYNs it gets from then on.
 */
static int syn_sink_open(int family, struct syn_sink *s)
{
	socklen_t len = sizeof(struct tcp_info);
	struct tcp_info ti;
	long long end;
	int i;

	s->fill[0] = -1;
	s->fill[1] = -1;
	s->lfd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0)
		return -1;
	loopback_addr(family, 0, &s->addr);
	if (bind_err(s->lfd, &s->addr) || listen(s->lfd, 1) ||
	    name_of(s->lfd, &s->addr, false) < 0)
		return -1;
	for (i = 0; i < 2; i++) {
		s->fill[i] = tcp_client(&s->addr);
		if (s->fill[i] < 0)
			return -1;
	}
	end = now_ms() + WAIT_MS;
	do {
		len = sizeof(ti);
		if (getsockopt(s->lfd, IPPROTO_TCP, TCP_INFO, &ti, &len))
			return -1;
		if (ti.tcpi_unacked > ti.tcpi_sacked)
			return 0;
		usleep(1000);
	} while (now_ms() < end);
	errno = ETIMEDOUT;
	return -1;
}

/* Take the two fillers out of the queue: the next SYN gets through. */
static int syn_sink_drain(struct syn_sink *s)
{
	int i, fd;

	for (i = 0; i < 2; i++) {
		fd = accept_wait(s->lfd, WAIT_MS);
		if (fd < 0)
			return -1;
		close(fd);
	}
	return 0;
}

/* ---- namespaces, capabilities, signals --------------------------------- */

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -1;
	ret = write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
	close(fd);
	return ret;
}

/*
 * Move the test's process to a new network namespace with only "lo",
 * up, and wait for its IPv6 address.
 */
static int netns_private(void)
{
	struct sockaddr_storage ss;
	struct ifreq ifr;
	long long end;
	int fd, ret;

	if (unshare(CLONE_NEWNET))
		return -1;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	ret = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (!ret) {
		ifr.ifr_flags |= IFF_UP;
		ret = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	if (ret)
		return -1;
	end = now_ms() + WAIT_MS;
	do {
		fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
		loopback_addr(AF_INET6, 0, &ss);
		ret = fd < 0 ? -1 : bind_err(fd, &ss);
		close(fd);
		if (!ret)
			return 0;
		usleep(10 * 1000);
	} while (now_ms() < end);
	return -1;
}

/* Raise or lower CAP_NET_BIND_SERVICE in the effective set. */
static int cap_net_bind(bool on)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];
	unsigned int bit = 1U << CAP_NET_BIND_SERVICE;

	if (syscall(SYS_capget, &h, d))
		return -1;
	if (on)
		d[0].effective |= bit;
	else
		d[0].effective &= ~bit;
	return syscall(SYS_capset, &h, d);
}

/* Whether a TCP socket with local port @port is in state @st (hex). */
static bool tcp_state_on_port(int family, uint16_t port, unsigned int st)
{
	FILE *f = fopen(family == AF_INET6 ? "/proc/net/tcp6" :
			"/proc/net/tcp", "r");
	unsigned int lport, rport, state;
	char line[512];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line,
			       "%*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%x %x",
			       &lport, &rport, &state) == 3 &&
			lport == port && state == st;
	fclose(f);
	return found;
}

#define TCP_ST_TIME_WAIT	0x06

static void on_signal(int sig)
{
}

struct kicker {
	pthread_t target;
	volatile bool stop;
};

/* Signal the target every 50 ms until told to stop. */
static void *kick(void *arg)
{
	struct kicker *k = arg;

	while (!k->stop) {
		pthread_kill(k->target, SIGUSR1);
		usleep(50 * 1000);
	}
	return NULL;
}

/* ---- the fixture: a plain TCP listener on loopback ----------------------- */

FIXTURE(conn)
{
	int tcp_l;
	struct sockaddr_storage tcp_addr;
};

FIXTURE_VARIANT(conn)
{
	int family;
};

FIXTURE_VARIANT_ADD(conn, ipv4)
{
	.family = AF_INET,
};

FIXTURE_VARIANT_ADD(conn, ipv6)
{
	.family = AF_INET6,
};

FIXTURE_SETUP(conn)
{
	signal(SIGPIPE, SIG_IGN);
	self->tcp_l = tcp_listener(variant->family);
	ASSERT_LE(0, self->tcp_l);
	ASSERT_LT(0, name_of(self->tcp_l, &self->tcp_addr, false));
}

FIXTURE_TEARDOWN(conn)
{
	close(self->tcp_l);
}

/* ---- connect() ----------------------------------------------------------- */

/* A blocking connect; then messages both ways, framed for plain TCP. */
TEST_F(conn, connect_blocking_and_messages_both_ways)
{
	static char big[64 << 10];
	int mm, peer;

	fill_pattern(big, sizeof(big), 1);
	mm = mm_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, mm);
	ASSERT_EQ(0, connect_err(mm, &self->tcp_addr));
	peer = accept_wait(self->tcp_l, WAIT_MS);
	ASSERT_LE(0, peer);

	ASSERT_EQ(5, send(mm, "hello", 5, MSG_NOSIGNAL));
	ASSERT_EQ(0, send(mm, "", 0, MSG_NOSIGNAL));
	ASSERT_EQ(sizeof(big), send(mm, big, sizeof(big), MSG_NOSIGNAL));
	EXPECT_TRUE(peer_got(peer, "hello", 5));
	EXPECT_TRUE(peer_got(peer, "", 0));
	EXPECT_TRUE(peer_got(peer, big, sizeof(big)));

	ASSERT_EQ(0, peer_send(&strip, peer, "world", 5));
	ASSERT_EQ(0, peer_send(&strip, peer, "", 0));
	ASSERT_EQ(0, peer_send(&strip, peer, big, sizeof(big)));
	EXPECT_TRUE(mm_got(mm, "world", 5));
	EXPECT_TRUE(mm_got(mm, "", 0));
	EXPECT_TRUE(mm_got(mm, big, sizeof(big)));
	close(mm);
	close(peer);
}

/* The connection frames as the mux was told to before connect(). */
TEST_F(conn, connect_uses_the_mux_framing)
{
	const struct msgmux_framing f16 = { .len_size = 2 };
	unsigned char wire[8];
	int mm, peer;

	mm = mm_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, mm);
	ASSERT_EQ(0, framing_set(mm, &f16));
	ASSERT_EQ(0, connect_err(mm, &self->tcp_addr));
	peer = accept_wait(self->tcp_l, WAIT_MS);
	ASSERT_LE(0, peer);
	ASSERT_EQ(2, send(mm, "hi", 2, MSG_NOSIGNAL));
	ASSERT_EQ(4, read_full(peer, wire, 4, WAIT_MS));
	EXPECT_EQ(0, memcmp(wire, "\0\2hi", 4));
	ASSERT_EQ(0, write_full(peer, "\0\3abc", 5));
	EXPECT_TRUE(mm_got(mm, "abc", 3));
	close(mm);
	close(peer);
}

/* A reset answers the SYN: ECONNREFUSED, on both socket types. */
TEST_F(conn, connect_refused)
{
	static const int types[] = { SOCK_SEQPACKET, SOCK_DGRAM };
	struct sockaddr_storage ss;
	int hold, mm, i;

	hold = closed_port(variant->family, &ss);
	ASSERT_LE(0, hold);
	for (i = 0; i < 2; i++) {
		mm = mm_socket(types[i]);
		ASSERT_LE(0, mm);
		EXPECT_EQ(ECONNREFUSED, connect_err(mm, &ss))
			TH_LOG("type %d", types[i]);
		close(mm);
	}
	close(hold);
}

/* Non-blocking: EINPROGRESS, then POLLOUT and SO_ERROR 0. */
TEST_F(conn, connect_nonblocking_completes)
{
	int mm, peer;

	mm = mm_socket(SOCK_SEQPACKET | SOCK_NONBLOCK);
	ASSERT_LE(0, mm);
	ASSERT_EQ(EINPROGRESS, connect_err(mm, &self->tcp_addr));
	EXPECT_TRUE(poll_events(mm, POLLOUT, WAIT_MS) & POLLOUT);
	EXPECT_EQ(0, sockopt_int(mm, SO_ERROR));
	peer = accept_wait(self->tcp_l, WAIT_MS);
	ASSERT_LE(0, peer);
	ASSERT_EQ(2, send(mm, "nb", 2, MSG_NOSIGNAL));
	EXPECT_TRUE(peer_got(peer, "nb", 2));
	close(mm);
	close(peer);
}

/* Non-blocking and refused: POLLERR, SO_ERROR read once. */
TEST_F(conn, connect_nonblocking_refused)
{
	struct sockaddr_storage ss;
	int hold, mm;

	hold = closed_port(variant->family, &ss);
	ASSERT_LE(0, hold);
	mm = mm_socket(SOCK_SEQPACKET | SOCK_NONBLOCK);
	ASSERT_LE(0, mm);
	ASSERT_EQ(EINPROGRESS, connect_err(mm, &ss));
	EXPECT_TRUE(poll_events(mm, POLLOUT, WAIT_MS) & POLLERR);
	EXPECT_EQ(ECONNREFUSED, sockopt_int(mm, SO_ERROR));
	EXPECT_EQ(0, sockopt_int(mm, SO_ERROR));
	close(mm);
	close(hold);
}

/*
 * connect() again while the first is in progress: EALREADY.  It still
 * completes once the SYN is answered.
 */
TEST_F(conn, connect_in_progress_is_ealready)
{
	struct syn_sink sink;
	int mm, peer;

	ASSERT_EQ(0, syn_sink_open(variant->family, &sink));
	mm = mm_socket(SOCK_SEQPACKET | SOCK_NONBLOCK);
	ASSERT_LE(0, mm);
	ASSERT_EQ(EINPROGRESS, connect_err(mm, &sink.addr));
	EXPECT_EQ(EALREADY, connect_err(mm, &sink.addr));
	EXPECT_FALSE(poll_events(mm, POLLOUT, 0) & POLLOUT);
	EXPECT_EQ(0, sockopt_int(mm, SO_ERROR));

	ASSERT_EQ(0, syn_sink_drain(&sink));
	EXPECT_TRUE(poll_events(mm, POLLOUT, SYN_WAIT_MS) & POLLOUT);
	EXPECT_EQ(0, sockopt_int(mm, SO_ERROR));
	peer = accept_wait(sink.lfd, WAIT_MS);
	ASSERT_LE(0, peer);
	ASSERT_EQ(2, send(mm, "ok", 2, MSG_NOSIGNAL));
	EXPECT_TRUE(peer_got(peer, "ok", 2));
	close(mm);
	close(peer);
	syn_sink_close(&sink);
}

/*
 * A blocking connect gives up waiting after SO_SNDTIMEO with EINPROGRESS,
 * as TCP, and the connection completes in the background.
 */
TEST_F(conn, connect_sndtimeo_is_einprogress)
{
	struct syn_sink sink;
	int mm, peer;

	ASSERT_EQ(0, syn_sink_open(variant->family, &sink));
	mm = mm_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, mm);
	ASSERT_EQ(0, set_timeo(mm, SO_SNDTIMEO, 200));
	EXPECT_EQ(EINPROGRESS, connect_err(mm, &sink.addr));

	ASSERT_EQ(0, syn_sink_drain(&sink));
	EXPECT_TRUE(poll_events(mm, POLLOUT, SYN_WAIT_MS) & POLLOUT);
	EXPECT_EQ(0, sockopt_int(mm, SO_ERROR));
	peer = accept_wait(sink.lfd, WAIT_MS);
	ASSERT_LE(0, peer);
	ASSERT_EQ(2, send(mm, "bg", 2, MSG_NOSIGNAL));
	EXPECT_TRUE(peer_got(peer, "bg", 2));
	close(mm);
	close(peer);
	syn_sink_close(&sink);
}

/*
 * A signal interrupts a blocking connect(): EINTR, as TCP, and the
 * connection goes on in the background (SPEC 3.2).
 */
TEST_F(conn, connect_interrupted_by_a_signal_is_eintr)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct kicker k = { .target = pthread_self() };
	struct syn_sink sink;
	pthread_t t;
	int mm, peer, err;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, syn_sink_open(variant->family, &sink));
	mm = mm_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, mm);
	ASSERT_EQ(0, set_timeo(mm, SO_SNDTIMEO, BLOCK_MS));
	ASSERT_EQ(0, pthread_create(&t, NULL, kick, &k));
	err = connect_err(mm, &sink.addr);
	k.stop = true;
	pthread_join(t, NULL);
	EXPECT_EQ(EINTR, err) TH_LOG("%s", strerror(err));

	ASSERT_EQ(0, syn_sink_drain(&sink));
	EXPECT_TRUE(poll_events(mm, POLLOUT, SYN_WAIT_MS) & POLLOUT);
	EXPECT_EQ(0, sockopt_int(mm, SO_ERROR));
	peer = accept_wait(sink.lfd, WAIT_MS);
	ASSERT_LE(0, peer);
	ASSERT_EQ(2, send(mm, "bg", 2, MSG_NOSIGNAL));
	EXPECT_TRUE(peer_got(peer, "bg", 2));
	close(mm);
	close(peer);
	syn_sink_close(&sink);
}

/*
 * close() while connect() is in progress ends the attempt: once the
 * listener takes SYNs again, none comes.
 */
TEST_F(conn, close_while_connecting_abandons_the_connection)
{
	struct syn_sink sink;
	int mm;

	ASSERT_EQ(0, syn_sink_open(variant->family, &sink));
	mm = mm_socket(SOCK_SEQPACKET | SOCK_NONBLOCK);
	ASSERT_LE(0, mm);
	ASSERT_EQ(EINPROGRESS, connect_err(mm, &sink.addr));
	close(mm);
	ASSERT_EQ(0, syn_sink_drain(&sink));
	/* The first retransmission would come 1 s after the SYN. */
	EXPECT_TRUE(tcp_quiet(sink.lfd, 1500));
	syn_sink_close(&sink);
}

/*
 * SYNs never answered: ETIMEDOUT once TCP gives up (tcp_syn_retries 1,
 * about 3 s, in a namespace of the test's own).
 */
TEST_F(conn, connect_timeout_is_etimedout)
{
	struct syn_sink sink;
	int mm;

	ASSERT_EQ(0, netns_private());
	ASSERT_EQ(0, write_str("/proc/sys/net/ipv4/tcp_syn_retries", "1"));
	ASSERT_EQ(0, syn_sink_open(variant->family, &sink));
	mm = mm_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, mm);
	ASSERT_EQ(0, set_timeo(mm, SO_SNDTIMEO, 20000));
	EXPECT_EQ(ETIMEDOUT, connect_err(mm, &sink.addr));
	close(mm);
	syn_sink_close(&sink);
}

/* No route (a namespace with only lo): ENETUNREACH. */
TEST_F(conn, connect_no_route_is_enetunreach)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	int mm;

	ASSERT_EQ(0, netns_private());
	loopback_addr(variant->family, 9, &ss);
	if (variant->family == AF_INET6)
		inet_pton(AF_INET6, "2001:db8::1", &sin6->sin6_addr);
	else
		inet_pton(AF_INET, "192.0.2.1", &sin->sin_addr);
	mm = mm_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, mm);
	EXPECT_EQ(ENETUNREACH, connect_err(mm, &ss));
	close(mm);
}

/*
 * The connection is made in the caller's namespace: a listener that
 * exists only there takes it.  The process then exits with the
 * connection open, and its namespace goes away under it.
 */
TEST_F(conn, connect_in_the_callers_namespace)
{
	struct sockaddr_storage ss;
	int l, mm, peer;

	ASSERT_EQ(0, netns_private());
	l = tcp_listener(variant->family);
	ASSERT_LE(0, l);
	ASSERT_LT(0, name_of(l, &ss, false));
	mm = mm_connected(SOCK_SEQPACKET, &ss);
	ASSERT_LE(0, mm) TH_LOG("connect: %s", strerror(errno));
	peer = accept_wait(l, WAIT_MS);
	ASSERT_LE(0, peer);
	ASSERT_EQ(0, peer_send(&strip, peer, "ns", 2));
	EXPECT_TRUE(mm_got(mm, "ns", 2));
}

/* Only AF_INET and AF_INET6 addresses: EAFNOSUPPORT. */
TEST(connect_other_family_is_eafnosupport)
{
	struct sockaddr_storage ss;
	int mm;

	mm = mm_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, mm);
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	EXPECT_EQ(-1, connect(mm, SA(&ss), sizeof(struct sockaddr_in6)));
	EXPECT_EQ(EAFNOSUPPORT, errno);
	ss.ss_family = msgmux_family();
	EXPECT_EQ(-1, connect(mm, SA(&ss), sizeof(struct sockaddr_msgmux)));
	EXPECT_EQ(EAFNOSUPPORT, errno);
	close(mm);
}

/*
 * An address shorter than its family's: EINVAL.  (TCP takes a 24-byte
 * RFC 2133 sockaddr_in6, so IPv6 is cut below that.)
 */
TEST_F(conn, connect_short_addrlen_is_einval)
{
	socklen_t lens[] = { sa_len(variant->family) - 1, 1, 0 };
	int mm, i;

	if (variant->family == AF_INET6)
		lens[0] = 23;
	mm = mm_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, mm);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(-1, connect(mm, SA(&self->tcp_addr), lens[i]));
		EXPECT_EQ(EINVAL, errno) TH_LOG("addrlen %u", lens[i]);
	}
	close(mm);
}

/* SOCK_SEQPACKET has one connection: connecting again is EISCONN. */
TEST_F(conn, seqpacket_second_connect_is_eisconn)
{
	struct sockaddr_storage other;
	int mm, peer, l2;

	mm = mm_connected(SOCK_SEQPACKET, &self->tcp_addr);
	ASSERT_LE(0, mm);
	peer = accept_wait(self->tcp_l, WAIT_MS);
	ASSERT_LE(0, peer);
	l2 = tcp_listener(variant->family);
	ASSERT_LE(0, l2);
	ASSERT_LT(0, name_of(l2, &other, false));
	EXPECT_EQ(EISCONN, connect_err(mm, &self->tcp_addr));
	EXPECT_EQ(EISCONN, connect_err(mm, &other));
	EXPECT_EQ(1, proc_count_conns(mux_of(mm), NULL));
	EXPECT_TRUE(tcp_quiet(l2, 100));
	close(mm);
	close(peer);
	close(l2);
}

/*
 * SOCK_DGRAM: each connect adds a connection; sends take them in turn
 * and both have their line in /proc/net/msgmux.
 */
TEST_F(conn, dgram_connect_twice_makes_two_connections)
{
	enum { N = 6 };
	struct sockaddr_storage a2;
	int mm, l2, peer[2], first[2] = { -1, -1 }, got[2] = { 0, 0 };
	char buf[8];
	int i, p;

	l2 = tcp_listener(variant->family);
	ASSERT_LE(0, l2);
	ASSERT_LT(0, name_of(l2, &a2, false));
	mm = mm_connected(SOCK_DGRAM, &self->tcp_addr);
	ASSERT_LE(0, mm);
	ASSERT_EQ(0, connect_err(mm, &a2));
	peer[0] = accept_wait(self->tcp_l, WAIT_MS);
	peer[1] = accept_wait(l2, WAIT_MS);
	ASSERT_LE(0, peer[0]);
	ASSERT_LE(0, peer[1]);
	EXPECT_EQ(2, proc_count_conns(mux_of(mm), NULL));

	for (i = 0; i < N; i++) {
		buf[0] = 'a' + i;
		ASSERT_EQ(1, send(mm, buf, 1, MSG_NOSIGNAL));
	}
	/* Round robin: each peer gets every other message, in order. */
	for (p = 0; p < 2; p++) {
		for (i = 0; i < N / 2; i++) {
			ASSERT_EQ(1, peer_recv(&strip, peer[p], buf,
					       sizeof(buf), WAIT_MS))
				TH_LOG("peer %d, message %d", p, i);
			if (first[p] < 0)
				first[p] = buf[0] - 'a';
			EXPECT_EQ(first[p] + 2 * i, buf[0] - 'a');
			got[p]++;
		}
		EXPECT_TRUE(tcp_quiet(peer[p], 100));
	}
	EXPECT_EQ(1, first[0] + first[1]);
	EXPECT_EQ(N / 2, got[0]);
	EXPECT_EQ(N / 2, got[1]);

	/* And both connections deliver. */
	ASSERT_EQ(0, peer_send(&strip, peer[0], "p0", 2));
	EXPECT_TRUE(mm_got(mm, "p0", 2));
	ASSERT_EQ(0, peer_send(&strip, peer[1], "p1", 2));
	EXPECT_TRUE(mm_got(mm, "p1", 2));
	close(mm);
	close(peer[0]);
	close(peer[1]);
	close(l2);
}

/* ---- bind(), listen(), accept() on SOCK_SEQPACKET ------------------------ */

/*
 * accept() gives a new SOCK_SEQPACKET msgmux socket on its own mux, with
 * the one connection, and the client's address.
 */
TEST_F(conn, accept_gives_a_socket_and_the_peer_address)
{
	struct sockaddr_storage laddr, want, peer, cname, cpeer, an;
	socklen_t len = sizeof(peer);
	int l, c, a;

	l = mm_listener(SOCK_SEQPACKET, variant->family, &laddr);
	ASSERT_LE(0, l);
	EXPECT_NE(0, sockaddr_port(&laddr));
	loopback_addr(variant->family, sockaddr_port(&laddr), &want);
	EXPECT_TRUE(sockaddr_same(&want, &laddr));

	c = tcp_client(&laddr);
	ASSERT_LE(0, c);
	ASSERT_TRUE(poll_events(l, POLLIN, WAIT_MS) & POLLIN);
	memset(&peer, 0, sizeof(peer));
	a = accept(l, SA(&peer), &len);
	ASSERT_LE(0, a) TH_LOG("accept: %s", strerror(errno));
	EXPECT_EQ(sa_len(variant->family), len);
	ASSERT_LT(0, name_of(c, &cname, false));
	ASSERT_LT(0, name_of(c, &cpeer, true));
	EXPECT_TRUE(sockaddr_same(&cname, &peer));

	EXPECT_EQ(msgmux_family(), sockopt_int(a, SO_DOMAIN));
	EXPECT_EQ(SOCK_SEQPACKET, sockopt_int(a, SO_TYPE));
	EXPECT_EQ(sa_len(variant->family), name_of(a, &an, false));
	EXPECT_TRUE(sockaddr_same(&cpeer, &an));
	EXPECT_EQ(sa_len(variant->family), name_of(a, &an, true));
	EXPECT_TRUE(sockaddr_same(&cname, &an));

	ASSERT_EQ(0, peer_send(&strip, c, "up", 2));
	EXPECT_TRUE(mm_got(a, "up", 2));
	ASSERT_EQ(4, send(a, "down", 4, MSG_NOSIGNAL));
	EXPECT_TRUE(peer_got(c, "down", 4));

	EXPECT_NE(mux_of(l), mux_of(a));
	EXPECT_EQ(1, proc_count_conns(mux_of(a), NULL));
	EXPECT_EQ(0, proc_count_conns(mux_of(l), NULL));
	close(a);
	close(c);
	close(l);
}

/* accept4() flags apply to the new socket; accept() sets none. */
TEST(accept4_flags)
{
	struct sockaddr_storage laddr;
	char c;
	int l, c1, c2, a, b;

	l = mm_listener(SOCK_SEQPACKET, AF_INET, &laddr);
	ASSERT_LE(0, l);
	c1 = tcp_client(&laddr);
	ASSERT_LE(0, c1);
	ASSERT_TRUE(poll_events(l, POLLIN, WAIT_MS) & POLLIN);
	a = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	ASSERT_LE(0, a) TH_LOG("accept4: %s", strerror(errno));
	EXPECT_TRUE(fcntl(a, F_GETFL) & O_NONBLOCK);
	EXPECT_TRUE(fcntl(a, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(-1, recv(a, &c, 1, 0));
	EXPECT_EQ(EAGAIN, errno);

	c2 = tcp_client(&laddr);
	ASSERT_LE(0, c2);
	ASSERT_TRUE(poll_events(l, POLLIN, WAIT_MS) & POLLIN);
	b = accept(l, NULL, NULL);
	ASSERT_LE(0, b);
	EXPECT_FALSE(fcntl(b, F_GETFL) & O_NONBLOCK);
	EXPECT_FALSE(fcntl(b, F_GETFD) & FD_CLOEXEC);
	close(a);
	close(b);
	close(c1);
	close(c2);
	close(l);
}

/* A non-blocking accept() with nothing pending: EAGAIN. */
TEST(accept_nonblocking_is_eagain)
{
	struct sockaddr_storage laddr;
	int l;

	l = mm_listener(SOCK_SEQPACKET | SOCK_NONBLOCK, AF_INET, &laddr);
	ASSERT_LE(0, l);
	EXPECT_EQ(-1, accept(l, NULL, NULL));
	EXPECT_EQ(EAGAIN, errno);
	close(l);

	/* O_NONBLOCK set later counts the same. */
	l = mm_listener(SOCK_SEQPACKET, AF_INET, &laddr);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, set_nonblock(l, true));
	EXPECT_EQ(-1, accept4(l, NULL, NULL, SOCK_CLOEXEC));
	EXPECT_EQ(EAGAIN, errno);
	close(l);
}

/* SO_RCVTIMEO bounds a blocking accept(): EAGAIN. */
TEST(accept_rcvtimeo_is_eagain)
{
	struct sockaddr_storage laddr;
	int l;

	l = mm_listener(SOCK_SEQPACKET, AF_INET, &laddr);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, set_timeo(l, SO_RCVTIMEO, 100));
	EXPECT_EQ(-1, accept(l, NULL, NULL));
	EXPECT_EQ(EAGAIN, errno);
	close(l);
}

/* A signal interrupts a blocked accept(): EINTR. */
TEST(accept_interrupted_by_a_signal_is_eintr)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct sockaddr_storage laddr;
	struct kicker k = { .target = pthread_self() };
	pthread_t t;
	int l, ret, err;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	l = mm_listener(SOCK_SEQPACKET, AF_INET, &laddr);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, set_timeo(l, SO_RCVTIMEO, BLOCK_MS));
	ASSERT_EQ(0, pthread_create(&t, NULL, kick, &k));
	ret = accept(l, NULL, NULL);
	err = errno;
	k.stop = true;
	pthread_join(t, NULL);
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(EINTR, err) TH_LOG("%s", strerror(err));
	close(l);
}

/* The listener is readable only while a connection waits. */
TEST_F(conn, listener_pollin_only_when_a_connection_is_pending)
{
	struct sockaddr_storage laddr;
	int l, c, a;

	l = mm_listener(SOCK_SEQPACKET, variant->family, &laddr);
	ASSERT_LE(0, l);
	EXPECT_FALSE(poll_events(l, POLLIN, 0) & POLLIN);
	c = tcp_client(&laddr);
	ASSERT_LE(0, c);
	EXPECT_TRUE(poll_events(l, POLLIN, WAIT_MS) & POLLIN);
	a = accept(l, NULL, NULL);
	ASSERT_LE(0, a);
	EXPECT_FALSE(poll_events(l, POLLIN, 0) & POLLIN);
	close(a);
	close(c);
	close(l);
}

/* Messages of a connection not accepted yet go nowhere; then to it. */
TEST_F(conn, pending_connection_delivers_nothing_until_accepted)
{
	struct sockaddr_storage laddr;
	struct proc_row row;
	unsigned int lmux;
	char buf[16];
	int l, c, a;

	l = mm_listener(SOCK_SEQPACKET, variant->family, &laddr);
	ASSERT_LE(0, l);
	lmux = mux_of(l);
	ASSERT_NE(0, lmux);
	c = tcp_client(&laddr);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, peer_send(&strip, c, "one", 3));
	ASSERT_EQ(0, peer_send(&strip, c, "two", 3));
	ASSERT_TRUE(poll_events(l, POLLIN, WAIT_MS) & POLLIN);
	usleep(200 * 1000);	/* time for a wrong delivery */

	EXPECT_EQ(-1, recv(l, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(0, proc_count_conns(lmux, NULL));
	ASSERT_EQ(0, proc_find_mux(lmux, &row));
	EXPECT_EQ(0, row.rx_msgs);

	a = accept(l, NULL, NULL);
	ASSERT_LE(0, a);
	EXPECT_TRUE(mm_got(a, "one", 3));
	EXPECT_TRUE(mm_got(a, "two", 3));
	close(a);
	close(c);
	close(l);
}

/* accept() on SOCK_DGRAM: EOPNOTSUPP; its connections join by themselves. */
TEST(accept_on_dgram_is_eopnotsupp)
{
	struct sockaddr_storage laddr;
	int l;

	l = mm_listener(SOCK_DGRAM, AF_INET, &laddr);
	ASSERT_LE(0, l) TH_LOG("listen: %s", strerror(errno));
	EXPECT_EQ(-1, accept(l, NULL, NULL));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(-1, accept4(l, NULL, NULL, SOCK_NONBLOCK));
	EXPECT_EQ(EOPNOTSUPP, errno);
	close(l);
}

/* listen() on a connected SOCK_SEQPACKET socket: EINVAL, as TCP. */
TEST_F(conn, listen_on_a_connected_socket_is_einval)
{
	int mm, peer;

	mm = mm_connected(SOCK_SEQPACKET, &self->tcp_addr);
	ASSERT_LE(0, mm);
	peer = accept_wait(self->tcp_l, WAIT_MS);
	ASSERT_LE(0, peer);
	EXPECT_EQ(-1, listen(mm, 4));
	EXPECT_EQ(EINVAL, errno);
	/* The connection is unharmed. */
	ASSERT_EQ(1, send(mm, "x", 1, MSG_NOSIGNAL));
	EXPECT_TRUE(peer_got(peer, "x", 1));
	close(mm);
	close(peer);
}

/* listen() without bind(): an ephemeral port on 0.0.0.0, as TCP. */
TEST(listen_without_bind_takes_an_ephemeral_port)
{
	struct sockaddr_storage ss, to;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	int l, c, a;

	l = mm_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, listen(l, 4)) TH_LOG("listen: %s", strerror(errno));
	ASSERT_EQ(sizeof(*sin), name_of(l, &ss, false));
	EXPECT_EQ(AF_INET, sin->sin_family);
	EXPECT_EQ(htonl(INADDR_ANY), sin->sin_addr.s_addr);
	EXPECT_NE(0, sin->sin_port);

	loopback_addr(AF_INET, sockaddr_port(&ss), &to);
	c = tcp_client(&to);
	ASSERT_LE(0, c);
	a = accept_wait(l, WAIT_MS);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, peer_send(&strip, c, "eph", 3));
	EXPECT_TRUE(mm_got(a, "eph", 3));
	close(a);
	close(c);
	close(l);
}

/* bind() then connect() without listen(): the bound address is the source. */
TEST_F(conn, bind_then_connect_uses_the_bound_address)
{
	struct sockaddr_storage local, seen;
	int mm, peer;

	mm = mm_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, mm);
	loopback_addr(variant->family, 0, &local);
	ASSERT_EQ(0, bind_err(mm, &local));
	ASSERT_LT(0, name_of(mm, &local, false));
	ASSERT_NE(0, sockaddr_port(&local));
	ASSERT_EQ(0, connect_err(mm, &self->tcp_addr));
	peer = accept_wait(self->tcp_l, WAIT_MS);
	ASSERT_LE(0, peer);
	ASSERT_LT(0, name_of(peer, &seen, true));
	EXPECT_TRUE(sockaddr_same(&local, &seen));
	EXPECT_EQ(sockaddr_port(&local), sockaddr_port(&seen));
	close(mm);
	close(peer);
}

/* The accepted socket frames as its listener was told to. */
TEST_F(conn, accepted_socket_inherits_the_framing)
{
	const struct msgmux_framing f16 = { .len_size = 2 };
	struct msgmux_framing fl, fa;
	struct sockaddr_storage laddr;
	unsigned char wire[8] = { 0, 2, 'h', 'i' };
	int l, c, a;

	l = mm_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, framing_set(l, &f16));
	loopback_addr(variant->family, 0, &laddr);
	ASSERT_EQ(0, bind_err(l, &laddr));
	ASSERT_EQ(0, listen(l, 4));
	ASSERT_LT(0, name_of(l, &laddr, false));
	c = tcp_client(&laddr);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, write_full(c, wire, 4));
	a = accept_wait(l, WAIT_MS);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, framing_get(l, &fl));
	ASSERT_EQ(0, framing_get(a, &fa));
	EXPECT_EQ(0, memcmp(&fl, &fa, sizeof(fl)));
	EXPECT_EQ(2, fa.len_size);
	EXPECT_TRUE(mm_got(a, "hi", 2));
	ASSERT_EQ(2, send(a, "yo", 2, MSG_NOSIGNAL));
	memset(wire, 0, sizeof(wire));
	ASSERT_EQ(4, read_full(c, wire, 4, WAIT_MS));
	EXPECT_EQ(0, memcmp(wire, "\0\2yo", 4));
	close(a);
	close(c);
	close(l);
}

/* shutdown(SHUT_RD) on a listener wakes a blocked accept(): EINVAL. */
struct accepter {
	int fd;
	int ret;
	int err;
};

static void *accept_thread(void *arg)
{
	struct accepter *ac = arg;

	ac->ret = accept(ac->fd, NULL, NULL);
	ac->err = errno;
	return NULL;
}

static void listener_shutdown_wakes_accept(struct __test_metadata *_metadata,
					   int family, int how)
{
	struct sockaddr_storage laddr;
	struct accepter ac;
	pthread_t t;
	int l, c;

	l = mm_listener(SOCK_SEQPACKET, family, &laddr);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, set_timeo(l, SO_RCVTIMEO, BLOCK_MS));
	ac.fd = l;
	ASSERT_EQ(0, pthread_create(&t, NULL, accept_thread, &ac));
	usleep(200 * 1000);	/* let it block (it fails the same if not) */
	EXPECT_EQ(0, shutdown(l, how));
	pthread_join(t, NULL);
	EXPECT_EQ(-1, ac.ret);
	EXPECT_EQ(EINVAL, ac.err) TH_LOG("%s", strerror(ac.err));
	/* The listener is stopped: its port refuses connections. */
	c = tcp_client(&laddr);
	EXPECT_EQ(-1, c);
	EXPECT_EQ(ECONNREFUSED, errno);
	EXPECT_EQ(-1, accept4(l, NULL, NULL, SOCK_NONBLOCK));
	EXPECT_EQ(EINVAL, errno);
	close(l);
}

TEST_F(conn, shutdown_rd_on_a_listener_wakes_accept)
{
	listener_shutdown_wakes_accept(_metadata, variant->family, SHUT_RD);
}

TEST_F(conn, shutdown_rdwr_on_a_listener_wakes_accept)
{
	listener_shutdown_wakes_accept(_metadata, variant->family, SHUT_RDWR);
}

/* ---- SOCK_DGRAM listeners ------------------------------------------------ */

/*
 * Connections join the listener's mux: messages from every client reach
 * the listener and its clone, recvfrom() names the connection, and
 * sendto() that name replies to that client alone.
 */
TEST_F(conn, dgram_listener_serves_every_client)
{
	enum { C = 3, K = 2 };
	struct sockaddr_storage laddr, cname[C];
	struct sockaddr_msgmux from[C];
	uint32_t id[C] = { 0 };
	int fds[2], c[C], got[2] = { 0, 0 };
	char buf[16];
	int i, j, k, which;

	fds[0] = mm_listener(SOCK_DGRAM, variant->family, &laddr);
	ASSERT_LE(0, fds[0]);
	fds[1] = mux_clone(MUX_MSGMUX, fds[0]);
	ASSERT_LE(0, fds[1]);
	for (i = 0; i < C; i++) {
		c[i] = tcp_client(&laddr);
		ASSERT_LE(0, c[i]);
		ASSERT_LT(0, name_of(c[i], &cname[i], false));
	}
	EXPECT_EQ(C, wait_conns(mux_of(fds[0]), C));

	for (k = 0; k < K; k++)
		for (i = 0; i < C; i++) {
			buf[0] = '0' + i;
			buf[1] = '0' + k;
			ASSERT_EQ(0, peer_send(&strip, c[i], buf, 2));
		}
	for (j = 0; j < C * K; j++) {
		struct sockaddr_msgmux sm;

		memset(&sm, 0xa5, sizeof(sm));
		ASSERT_EQ(2, recv_any(fds, 2, buf, sizeof(buf), &sm, &which))
			TH_LOG("message %d", j);
		i = buf[0] - '0';
		ASSERT_LE(0, i);
		ASSERT_GT(C, i);
		EXPECT_EQ(msgmux_family(), sm.smm_family);
		EXPECT_NE(0, sm.smm_conn_id);
		EXPECT_TRUE(sockaddr_same(&sm.smm_peer_in, &cname[i]))
			TH_LOG("client %d", i);
		if (!id[i])
			from[i] = sm;
		else
			EXPECT_EQ(id[i], sm.smm_conn_id);
		id[i] = sm.smm_conn_id;
		got[which]++;
	}
	for (i = 0; i < C; i++)
		for (j = 0; j < i; j++)
			EXPECT_NE(id[i], id[j]);
	/* Round robin over the listener and its clone. */
	EXPECT_LE(C * K / 2 - 1, got[0]);
	EXPECT_LE(C * K / 2 - 1, got[1]);

	/* Replies, in an order no round robin would pick. */
	for (k = 0; k < 4; k++) {
		i = k % 3 == 0 ? 2 : 0;
		buf[0] = 'r';
		buf[1] = '0' + k;
		ASSERT_EQ(2, sendto(fds[k & 1], buf, 2, MSG_NOSIGNAL,
				    SA(&from[i]), sizeof(from[i])))
			TH_LOG("sendto: %s", strerror(errno));
		EXPECT_TRUE(peer_got(c[i], buf, 2));
	}
	for (i = 0; i < C; i++)
		EXPECT_TRUE(tcp_quiet(c[i], i ? 0 : 100));
	for (i = 0; i < C; i++)
		close(c[i]);
	close(fds[0]);
	close(fds[1]);
}

/* sendto() a connection that has gone: ENOTCONN. */
TEST_F(conn, dgram_sendto_a_gone_connection_is_enotconn)
{
	struct sockaddr_storage laddr;
	struct sockaddr_msgmux sm;
	socklen_t alen = sizeof(sm);
	char buf[8];
	int l, c;

	l = mm_listener(SOCK_DGRAM, variant->family, &laddr);
	ASSERT_LE(0, l);
	c = tcp_client(&laddr);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, peer_send(&strip, c, "x", 1));
	ASSERT_TRUE(poll_events(l, POLLIN, WAIT_MS) & POLLIN);
	ASSERT_EQ(1, recvfrom(l, buf, sizeof(buf), 0, SA(&sm), &alen));
	close(c);
	EXPECT_EQ(0, wait_conns(mux_of(l), 0));
	EXPECT_EQ(-1, sendto(l, "y", 1, MSG_NOSIGNAL, SA(&sm), sizeof(sm)));
	EXPECT_EQ(ENOTCONN, errno) TH_LOG("%s", strerror(errno));
	close(l);
}

/* MSGMUX_ACCEPT_LIMIT: 1024 by default, any int >= 0, never negative. */
TEST(accept_limit_option)
{
	int mm;

	mm = mm_socket(SOCK_DGRAM);
	ASSERT_LE(0, mm);
	EXPECT_EQ(MSGMUX_DEFAULT_ACCEPT_LIMIT,
		  sockopt_level_int(mm, SOL_MSGMUX, MSGMUX_ACCEPT_LIMIT));
	EXPECT_EQ(1024, MSGMUX_DEFAULT_ACCEPT_LIMIT);
	EXPECT_EQ(-1, set_int(mm, SOL_MSGMUX, MSGMUX_ACCEPT_LIMIT, -1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(1024, sockopt_level_int(mm, SOL_MSGMUX,
					  MSGMUX_ACCEPT_LIMIT));
	EXPECT_EQ(0, set_int(mm, SOL_MSGMUX, MSGMUX_ACCEPT_LIMIT, 0));
	EXPECT_EQ(0, sockopt_level_int(mm, SOL_MSGMUX, MSGMUX_ACCEPT_LIMIT));
	EXPECT_EQ(0, set_int(mm, SOL_MSGMUX, MSGMUX_ACCEPT_LIMIT, 7));
	EXPECT_EQ(7, sockopt_level_int(mm, SOL_MSGMUX, MSGMUX_ACCEPT_LIMIT));
	close(mm);
}

/* With a limit of 1, a second client waits until the first leaves. */
TEST_F(conn, accept_limit_one_serves_one_client_at_a_time)
{
	struct sockaddr_storage laddr;
	unsigned int mux;
	int l, a, b;

	l = mm_socket(SOCK_DGRAM);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, set_int(l, SOL_MSGMUX, MSGMUX_ACCEPT_LIMIT, 1));
	loopback_addr(variant->family, 0, &laddr);
	ASSERT_EQ(0, bind_err(l, &laddr));
	ASSERT_EQ(0, listen(l, 8));
	ASSERT_LT(0, name_of(l, &laddr, false));
	mux = mux_of(l);

	a = tcp_client(&laddr);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, peer_send(&strip, a, "a", 1));
	EXPECT_TRUE(mm_got(l, "a", 1));
	b = tcp_client(&laddr);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, peer_send(&strip, b, "b", 1));
	EXPECT_FALSE(poll_events(l, POLLIN, 300) & POLLIN);
	EXPECT_EQ(1, proc_count_conns(mux, NULL));

	close(a);
	EXPECT_TRUE(mm_got(l, "b", 1));
	EXPECT_EQ(1, wait_conns(mux, 1));
	close(b);
	close(l);
}

/* A SOCK_DGRAM listener can connect() out too: both kinds share the mux. */
TEST_F(conn, dgram_listener_also_connects_out)
{
	struct sockaddr_storage laddr;
	int l, c, peer;

	l = mm_listener(SOCK_DGRAM, variant->family, &laddr);
	ASSERT_LE(0, l);
	c = tcp_client(&laddr);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, connect_err(l, &self->tcp_addr));
	peer = accept_wait(self->tcp_l, WAIT_MS);
	ASSERT_LE(0, peer);
	EXPECT_EQ(2, wait_conns(mux_of(l), 2));
	ASSERT_EQ(0, peer_send(&strip, c, "in", 2));
	EXPECT_TRUE(mm_got(l, "in", 2));
	ASSERT_EQ(0, peer_send(&strip, peer, "out", 3));
	EXPECT_TRUE(mm_got(l, "out", 3));
	close(c);
	close(peer);
	close(l);
}

/* ---- bind() -------------------------------------------------------------- */

TEST_F(conn, bind_twice_is_einval)
{
	struct sockaddr_storage ss;
	int mm;

	mm = mm_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, mm);
	loopback_addr(variant->family, 0, &ss);
	ASSERT_EQ(0, bind_err(mm, &ss));
	EXPECT_EQ(EINVAL, bind_err(mm, &ss));
	ASSERT_LT(0, name_of(mm, &ss, false));
	EXPECT_EQ(EINVAL, bind_err(mm, &ss));
	close(mm);
}

/* A port in use, by TCP or by msgmux: EADDRINUSE, as TCP. */
TEST_F(conn, bind_a_port_in_use_is_eaddrinuse)
{
	struct sockaddr_storage ss;
	int mm, mm2, t;

	/* Held by a TCP listener. */
	mm = mm_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, mm);
	EXPECT_EQ(EADDRINUSE, bind_err(mm, &self->tcp_addr));
	close(mm);

	/* Held by a msgmux listener, for TCP and for msgmux. */
	mm = mm_listener(SOCK_SEQPACKET, variant->family, &ss);
	ASSERT_LE(0, mm);
	t = socket(variant->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, t);
	EXPECT_EQ(EADDRINUSE, bind_err(t, &ss));
	mm2 = mm_socket(SOCK_DGRAM);
	ASSERT_LE(0, mm2);
	EXPECT_EQ(EADDRINUSE, bind_err(mm2, &ss));
	close(mm2);
	close(mm);
	close(t);

	/* Bound, not listening. */
	mm = mm_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, mm);
	loopback_addr(variant->family, 0, &ss);
	ASSERT_EQ(0, bind_err(mm, &ss));
	ASSERT_LT(0, name_of(mm, &ss, false));
	mm2 = mm_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, mm2);
	EXPECT_EQ(EADDRINUSE, bind_err(mm2, &ss));
	close(mm2);
	close(mm);
}

/* A closed listener leaves its port free at once, as TCP. */
TEST_F(conn, closed_listener_frees_its_port)
{
	struct sockaddr_storage ss;
	int l, mm;

	l = mm_listener(SOCK_SEQPACKET, variant->family, &ss);
	ASSERT_LE(0, l);
	close(l);
	mm = mm_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, mm);
	EXPECT_EQ(0, bind_err(mm, &ss));
	EXPECT_EQ(0, listen(mm, 4));
	close(mm);
}

/*
 * @ss's port is held (a live connection, or TIME_WAIT): bind() is
 * EADDRINUSE for TCP and msgmux alike, and succeeds with SO_REUSEADDR,
 * and the new listener serves a client.
 */
static void rebind_needs_reuseaddr(struct __test_metadata *_metadata,
				   int family,
				   const struct sockaddr_storage *ss)
{
	int t, mm, c, a;

	t = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, t);
	EXPECT_EQ(EADDRINUSE, bind_err(t, ss)) TH_LOG("TCP itself");
	close(t);
	mm = mm_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, mm);
	EXPECT_EQ(EADDRINUSE, bind_err(mm, ss));
	close(mm);

	mm = mm_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, mm);
	ASSERT_EQ(0, set_int(mm, SOL_SOCKET, SO_REUSEADDR, 1));
	EXPECT_EQ(0, bind_err(mm, ss));
	ASSERT_EQ(0, listen(mm, 4));
	c = tcp_client(ss);
	ASSERT_LE(0, c);
	a = accept_wait(mm, WAIT_MS);
	EXPECT_LE(0, a);
	close(a);
	close(c);
	close(mm);
}

/*
 * A listener closed while a connection it accepted lives: the port can
 * be bound again only with SO_REUSEADDR, on both sockets, as TCP.
 */
TEST_F(conn, reuseaddr_rebinds_the_port_of_a_closed_listener)
{
	struct sockaddr_storage ss;
	int l, c, a;

	l = mm_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, set_int(l, SOL_SOCKET, SO_REUSEADDR, 1));
	loopback_addr(variant->family, 0, &ss);
	ASSERT_EQ(0, bind_err(l, &ss));
	ASSERT_EQ(0, listen(l, 4));
	ASSERT_LT(0, name_of(l, &ss, false));
	c = tcp_client(&ss);
	ASSERT_LE(0, c);
	a = accept_wait(l, WAIT_MS);
	ASSERT_LE(0, a);
	close(l);

	rebind_needs_reuseaddr(_metadata, variant->family, &ss);
	/* The first connection still works. */
	ASSERT_EQ(0, peer_send(&strip, c, "old", 3));
	EXPECT_TRUE(mm_got(a, "old", 3));
	close(a);
	close(c);
}

/*
 * A connection the msgmux side closed first leaves its port in TIME_WAIT:
 * bind needs SO_REUSEADDR then, as TCP.
 */
TEST_F(conn, reuseaddr_rebinds_a_port_in_time_wait)
{
	struct sockaddr_storage ss;
	long long end;
	uint16_t port;
	int l, c, a;

	l = mm_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, set_int(l, SOL_SOCKET, SO_REUSEADDR, 1));
	loopback_addr(variant->family, 0, &ss);
	ASSERT_EQ(0, bind_err(l, &ss));
	ASSERT_EQ(0, listen(l, 4));
	ASSERT_LT(0, name_of(l, &ss, false));
	port = sockaddr_port(&ss);
	c = tcp_client(&ss);
	ASSERT_LE(0, c);
	a = accept_wait(l, WAIT_MS);
	ASSERT_LE(0, a);
	close(a);
	ASSERT_TRUE(peer_eof(c));
	close(c);
	close(l);
	end = now_ms() + WAIT_MS;
	while (!tcp_state_on_port(variant->family, port, TCP_ST_TIME_WAIT) &&
	       now_ms() < end)
		usleep(10 * 1000);
	ASSERT_TRUE(tcp_state_on_port(variant->family, port,
				      TCP_ST_TIME_WAIT));

	rebind_needs_reuseaddr(_metadata, variant->family, &ss);
}

/*
 * SO_REUSEPORT: the socket core refuses it on any family but AF_INET and
 * AF_INET6 (sk_setsockopt()), before msgmux sees it; documented as such.
 */
TEST_F(conn, reuseport_is_refused_by_the_core)
{
	int mm = mm_socket(SOCK_SEQPACKET);

	ASSERT_LE(0, mm);
	EXPECT_EQ(-1, set_int(mm, SOL_SOCKET, SO_REUSEPORT, 1));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(0, sockopt_level_int(mm, SOL_SOCKET, SO_REUSEPORT));
	close(mm);
}

/* A port below 1024 needs CAP_NET_BIND_SERVICE: EACCES without it. */
TEST_F(conn, privileged_port_needs_cap_net_bind_service)
{
	struct sockaddr_storage ss;
	uint16_t port;
	int mm, t;

	ASSERT_EQ(0, cap_net_bind(true)) TH_LOG("needs root");
	for (port = 1000; port > 600; port--) {
		t = socket(variant->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ASSERT_LE(0, t);
		loopback_addr(variant->family, port, &ss);
		if (!bind_err(t, &ss)) {
			close(t);
			break;
		}
		close(t);
	}
	ASSERT_LT(600, port);

	ASSERT_EQ(0, cap_net_bind(false));
	t = socket(variant->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, t);
	ASSERT_EQ(EACCES, bind_err(t, &ss)) TH_LOG("TCP itself");
	close(t);
	mm = mm_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, mm);
	EXPECT_EQ(EACCES, bind_err(mm, &ss));
	close(mm);

	ASSERT_EQ(0, cap_net_bind(true));
	mm = mm_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, mm);
	EXPECT_EQ(0, bind_err(mm, &ss));
	EXPECT_EQ(0, listen(mm, 4));
	close(mm);
}

/* ---- names --------------------------------------------------------------- */

/*
 * No connection: ENOTCONN for both names; a bound or listening socket
 * has a local name.
 */
TEST(names_without_a_connection)
{
	static const int types[] = { SOCK_SEQPACKET, SOCK_DGRAM };
	struct sockaddr_storage ss, want;
	int mm, i;

	for (i = 0; i < 2; i++) {
		mm = mm_socket(types[i]);
		ASSERT_LE(0, mm);
		EXPECT_EQ(-ENOTCONN, name_of(mm, &ss, false));
		EXPECT_EQ(-ENOTCONN, name_of(mm, &ss, true));

		loopback_addr(AF_INET, 0, &want);
		ASSERT_EQ(0, bind_err(mm, &want));
		ASSERT_EQ(sizeof(struct sockaddr_in),
			  name_of(mm, &ss, false));
		loopback_addr(AF_INET, sockaddr_port(&ss), &want);
		EXPECT_NE(0, sockaddr_port(&ss));
		EXPECT_TRUE(sockaddr_same(&want, &ss));
		EXPECT_EQ(-ENOTCONN, name_of(mm, &ss, true));

		ASSERT_EQ(0, listen(mm, 4));
		ASSERT_EQ(sizeof(struct sockaddr_in),
			  name_of(mm, &ss, false));
		EXPECT_TRUE(sockaddr_same(&want, &ss));
		EXPECT_EQ(-ENOTCONN, name_of(mm, &ss, true));
		close(mm);
	}
}

/*
 * A connected SOCK_SEQPACKET socket has the connection's names; a
 * SOCK_DGRAM socket with connections has none.
 */
TEST_F(conn, names_of_a_connected_socket)
{
	struct sockaddr_storage mine, theirs, pname, ppeer;
	int mm, peer, d, dpeer;

	mm = mm_connected(SOCK_SEQPACKET, &self->tcp_addr);
	ASSERT_LE(0, mm);
	peer = accept_wait(self->tcp_l, WAIT_MS);
	ASSERT_LE(0, peer);
	ASSERT_LT(0, name_of(peer, &pname, false));
	ASSERT_LT(0, name_of(peer, &ppeer, true));
	EXPECT_EQ(sa_len(variant->family), name_of(mm, &mine, false));
	EXPECT_EQ(sa_len(variant->family), name_of(mm, &theirs, true));
	EXPECT_TRUE(sockaddr_same(&ppeer, &mine));
	EXPECT_TRUE(sockaddr_same(&pname, &theirs));
	EXPECT_TRUE(sockaddr_same(&self->tcp_addr, &theirs));

	d = mm_connected(SOCK_DGRAM, &self->tcp_addr);
	ASSERT_LE(0, d);
	dpeer = accept_wait(self->tcp_l, WAIT_MS);
	ASSERT_LE(0, dpeer);
	EXPECT_EQ(-ENOTCONN, name_of(d, &mine, false));
	EXPECT_EQ(-ENOTCONN, name_of(d, &mine, true));
	close(d);
	close(dpeer);
	close(mm);
	close(peer);
}

/* ---- shutdown() ---------------------------------------------------------- */

TEST_F(conn, shutdown_bad_how_is_einval)
{
	static const int hows[] = { -1, SHUT_RDWR + 1, 100 };
	int mm, peer, i;

	mm = mm_connected(SOCK_SEQPACKET, &self->tcp_addr);
	ASSERT_LE(0, mm);
	peer = accept_wait(self->tcp_l, WAIT_MS);
	ASSERT_LE(0, peer);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(-1, shutdown(mm, hows[i]));
		EXPECT_EQ(EINVAL, errno) TH_LOG("how %d", hows[i]);
	}
	/* Nothing was shut. */
	ASSERT_EQ(1, send(mm, "x", 1, MSG_NOSIGNAL));
	EXPECT_TRUE(peer_got(peer, "x", 1));
	ASSERT_EQ(0, peer_send(&strip, peer, "y", 1));
	EXPECT_TRUE(mm_got(mm, "y", 1));
	close(mm);
	close(peer);
}

/* No connection, not listening, nothing attached: ENOTCONN. */
TEST(shutdown_without_a_connection_is_enotconn)
{
	static const int types[] = { SOCK_SEQPACKET, SOCK_DGRAM };
	struct sockaddr_storage ss;
	int mm, i, how;

	for (i = 0; i < 2; i++) {
		mm = mm_socket(types[i]);
		ASSERT_LE(0, mm);
		for (how = SHUT_RD; how <= SHUT_RDWR; how++) {
			EXPECT_EQ(-1, shutdown(mm, how));
			EXPECT_EQ(ENOTCONN, errno);
		}
		/* Bound is not enough. */
		loopback_addr(AF_INET, 0, &ss);
		ASSERT_EQ(0, bind_err(mm, &ss));
		for (how = SHUT_RD; how <= SHUT_RDWR; how++) {
			EXPECT_EQ(-1, shutdown(mm, how));
			EXPECT_EQ(ENOTCONN, errno) TH_LOG("bound, how %d", how);
		}
		close(mm);
	}
}

static volatile sig_atomic_t sigpipes;

static void on_sigpipe(int sig)
{
	sigpipes++;
}

/*
 * SHUT_WR: the queued messages, then FIN; later sends are EPIPE (and
 * SIGPIPE); receiving goes on.
 */
TEST_F(conn, shutdown_wr_sends_fin_after_queued_messages)
{
	enum { N = 8, SZ = 16 << 10 };
	struct sigaction sa = { .sa_handler = on_sigpipe };
	static char msg[SZ];
	int mm, peer, i;

	mm = mm_connected(SOCK_SEQPACKET, &self->tcp_addr);
	ASSERT_LE(0, mm);
	peer = accept_wait(self->tcp_l, WAIT_MS);
	ASSERT_LE(0, peer);
	for (i = 0; i < N; i++) {
		fill_pattern(msg, SZ, i);
		ASSERT_EQ(SZ, send(mm, msg, SZ, MSG_NOSIGNAL));
	}
	ASSERT_EQ(3, send(mm, "end", 3, MSG_NOSIGNAL));
	ASSERT_EQ(0, shutdown(mm, SHUT_WR));

	for (i = 0; i < N; i++) {
		fill_pattern(msg, SZ, i);
		EXPECT_TRUE(peer_got(peer, msg, SZ)) TH_LOG("message %d", i);
	}
	EXPECT_TRUE(peer_got(peer, "end", 3));
	EXPECT_TRUE(peer_eof(peer));

	EXPECT_EQ(-1, send(mm, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
	ASSERT_EQ(0, sigaction(SIGPIPE, &sa, NULL));
	EXPECT_EQ(-1, send(mm, "x", 1, 0));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(1, sigpipes);

	ASSERT_EQ(0, peer_send(&strip, peer, "back", 4));
	EXPECT_TRUE(mm_got(mm, "back", 4));
	close(mm);
	close(peer);
}

/* SHUT_RD: what is queued can be read, then recv() returns 0. */
TEST_F(conn, shutdown_rd_then_recv_returns_zero)
{
	char buf[8];
	int mm, peer;

	mm = mm_connected(SOCK_SEQPACKET, &self->tcp_addr);
	ASSERT_LE(0, mm);
	ASSERT_EQ(0, set_timeo(mm, SO_RCVTIMEO, BLOCK_MS));
	peer = accept_wait(self->tcp_l, WAIT_MS);
	ASSERT_LE(0, peer);
	ASSERT_EQ(0, peer_send(&strip, peer, "q", 1));
	ASSERT_TRUE(poll_events(mm, POLLIN, WAIT_MS) & POLLIN);

	ASSERT_EQ(0, shutdown(mm, SHUT_RD));
	EXPECT_EQ(1, recv(mm, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(0, recv(mm, buf, sizeof(buf), MSG_DONTWAIT));
	/* It stays shut to later messages. */
	ASSERT_EQ(0, peer_send(&strip, peer, "late", 4));
	usleep(100 * 1000);
	EXPECT_EQ(0, recv(mm, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(0, recv(mm, buf, sizeof(buf), 0));
	/* Sending still works. */
	ASSERT_EQ(2, send(mm, "wr", 2, MSG_NOSIGNAL));
	EXPECT_TRUE(peer_got(peer, "wr", 2));
	close(mm);
	close(peer);
}

/* ---- the peer closes ----------------------------------------------------- */

enum { FIN_MSGS = 5 };

static int peer_sends_then_closes(int peer)
{
	char m[2] = { 'f', 0 };
	int i;

	for (i = 0; i < FIN_MSGS; i++) {
		m[1] = '0' + i;
		if (peer_send(&strip, peer, m, 2))
			return -1;
	}
	return close(peer);
}

/*
 * The peer's FIN: every message before it, then recv() returns 0;
 * poll() says POLLIN|POLLRDHUP|POLLHUP and send() is EPIPE.
 */
TEST_F(conn, peer_fin_blocking_recv_gets_all_then_zero)
{
	const short hup = POLLIN | POLLRDHUP | POLLHUP;
	char buf[8], m[2] = { 'f', 0 };
	int mm, peer, i;

	mm = mm_connected(SOCK_SEQPACKET, &self->tcp_addr);
	ASSERT_LE(0, mm);
	ASSERT_EQ(0, set_timeo(mm, SO_RCVTIMEO, BLOCK_MS));
	peer = accept_wait(self->tcp_l, WAIT_MS);
	ASSERT_LE(0, peer);
	ASSERT_EQ(0, peer_sends_then_closes(peer));

	for (i = 0; i < FIN_MSGS; i++) {
		m[1] = '0' + i;
		memset(buf, 0, sizeof(buf));
		EXPECT_EQ(2, recv(mm, buf, sizeof(buf), 0))
			TH_LOG("message %d: %s", i, strerror(errno));
		EXPECT_EQ(0, memcmp(buf, m, 2));
	}
	EXPECT_EQ(0, recv(mm, buf, sizeof(buf), 0));
	EXPECT_EQ(0, recv(mm, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(hup, poll_events(mm, POLLIN | POLLRDHUP, 0) & hup);
	EXPECT_EQ(-1, send(mm, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
	close(mm);
}

TEST_F(conn, peer_fin_nonblocking_recv_gets_all_then_zero)
{
	const short hup = POLLIN | POLLRDHUP | POLLHUP;
	char buf[8];
	long long end;
	int mm, peer, got = 0;
	ssize_t n;

	mm = mm_connected(SOCK_SEQPACKET, &self->tcp_addr);
	ASSERT_LE(0, mm);
	ASSERT_EQ(0, set_nonblock(mm, true));
	peer = accept_wait(self->tcp_l, WAIT_MS);
	ASSERT_LE(0, peer);
	ASSERT_EQ(0, peer_sends_then_closes(peer));

	end = now_ms() + WAIT_MS;
	for (;;) {
		ASSERT_GT(end, now_ms()) TH_LOG("no end of file");
		n = recv(mm, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN) {
			poll_events(mm, POLLIN, WAIT_MS);
			continue;
		}
		if (n <= 0)
			break;
		EXPECT_EQ(2, n);
		EXPECT_EQ('0' + got, buf[1]);
		got++;
	}
	EXPECT_EQ(0, n) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(FIN_MSGS, got);
	EXPECT_EQ(0, recv(mm, buf, sizeof(buf), 0));
	EXPECT_EQ(hup, poll_events(mm, POLLIN | POLLRDHUP, 0) & hup);
	close(mm);
}

/*
 * The peer resets the connection: queued messages are read first, then
 * recv() returns 0; the reset is on the error queue.
 */
TEST_F(conn, peer_reset_is_reported_and_recv_drains_then_zero)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct msgmux_conn_error ce;
	struct sockaddr_msgmux sm;
	struct sockaddr_storage ss;
	socklen_t alen = sizeof(sm);
	struct proc_row row;
	long long end;
	char buf[8];
	int mm, peer;

	mm = mm_connected(SOCK_SEQPACKET, &self->tcp_addr);
	ASSERT_LE(0, mm);
	peer = accept_wait(self->tcp_l, WAIT_MS);
	ASSERT_LE(0, peer);
	ASSERT_EQ(0, peer_send(&strip, peer, "r1", 2));
	ASSERT_EQ(0, peer_send(&strip, peer, "r2", 2));
	end = now_ms() + WAIT_MS;
	do {
		ASSERT_EQ(0, proc_find_sock(fd_inode(mm), &row));
		if (row.queued >= 2)
			break;
		usleep(10 * 1000);
	} while (now_ms() < end);
	ASSERT_EQ(2, row.queued);

	ASSERT_EQ(0, setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg,
				sizeof(lg)));
	close(peer);
	ASSERT_TRUE(poll_events(mm, 0, WAIT_MS) & POLLERR);
	ASSERT_EQ(0, recv_conn_error(mm, &ce));
	EXPECT_EQ(ECONNRESET, ce.error);
	EXPECT_EQ(MSGMUX_CONN_TCP_ERROR, ce.reason);
	EXPECT_EQ(0, ce.dropped_bytes);

	ASSERT_EQ(2, recvfrom(mm, buf, sizeof(buf), MSG_DONTWAIT, SA(&sm),
			      &alen));
	EXPECT_EQ(0, memcmp(buf, "r1", 2));
	EXPECT_EQ(ce.conn_id, sm.smm_conn_id);
	ASSERT_EQ(2, recv(mm, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(buf, "r2", 2));
	EXPECT_EQ(0, recv(mm, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(0, recv(mm, buf, sizeof(buf), 0));
	/* The connection is gone, and its peer name with it. */
	EXPECT_EQ(-ENOTCONN, name_of(mm, &ss, true));
	close(mm);
}

/* ---- close() ------------------------------------------------------------- */

/* close() writes what is queued, then FIN. */
TEST_F(conn, close_sends_queued_messages_then_fin)
{
	enum { N = 8, SZ = 16 << 10 };
	static char msg[SZ];
	int mm, peer, i;

	mm = mm_connected(SOCK_SEQPACKET, &self->tcp_addr);
	ASSERT_LE(0, mm);
	peer = accept_wait(self->tcp_l, WAIT_MS);
	ASSERT_LE(0, peer);
	for (i = 0; i < N; i++) {
		fill_pattern(msg, SZ, i);
		ASSERT_EQ(SZ, send(mm, msg, SZ, MSG_NOSIGNAL));
	}
	ASSERT_EQ(4, send(mm, "last", 4, MSG_NOSIGNAL));
	close(mm);

	for (i = 0; i < N; i++) {
		fill_pattern(msg, SZ, i);
		EXPECT_TRUE(peer_got(peer, msg, SZ)) TH_LOG("message %d", i);
	}
	EXPECT_TRUE(peer_got(peer, "last", 4));
	EXPECT_TRUE(peer_eof(peer));
	close(peer);
}

/* SO_LINGER {1, 0}: close() resets the connection, as TCP. */
TEST_F(conn, close_with_zero_linger_resets)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	char c;
	int mm, peer;

	mm = mm_connected(SOCK_SEQPACKET, &self->tcp_addr);
	ASSERT_LE(0, mm);
	peer = accept_wait(self->tcp_l, WAIT_MS);
	ASSERT_LE(0, peer);
	ASSERT_EQ(0, setsockopt(mm, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	close(mm);
	EXPECT_NE(0, poll_events(peer, POLLIN, WAIT_MS));
	EXPECT_EQ(-1, recv(peer, &c, 1, MSG_DONTWAIT));
	EXPECT_EQ(ECONNRESET, errno) TH_LOG("%s", strerror(errno));
	close(peer);
}

/* ---- /proc/net/msgmux ---------------------------------------------------- */

/* Kernel-made connections have lines, and lose them on close(). */
TEST_F(conn, proc_lists_kernel_made_connections)
{
	const char *type = variant->family == AF_INET6 ? "tcp6" : "tcp";
	struct sockaddr_storage laddr;
	struct proc_row row;
	unsigned int m1, m2, m3;
	int mm, peer, l, c[2], a, i;

	mm = mm_connected(SOCK_SEQPACKET, &self->tcp_addr);
	ASSERT_LE(0, mm);
	peer = accept_wait(self->tcp_l, WAIT_MS);
	ASSERT_LE(0, peer);
	m1 = mux_of(mm);
	ASSERT_NE(0, m1);
	ASSERT_EQ(1, proc_count_conns(m1, &row));
	EXPECT_STREQ(type, row.type);
	EXPECT_STREQ("frame", row.state);
	EXPECT_NE(0, row.id);

	l = mm_listener(SOCK_DGRAM, variant->family, &laddr);
	ASSERT_LE(0, l);
	m2 = mux_of(l);
	EXPECT_EQ(0, proc_count_conns(m2, NULL));
	for (i = 0; i < 2; i++) {
		c[i] = tcp_client(&laddr);
		ASSERT_LE(0, c[i]);
	}
	EXPECT_EQ(2, wait_conns(m2, 2));

	close(mm);
	EXPECT_EQ(0, wait_conns(m1, 0));
	EXPECT_TRUE(peer_eof(peer));
	close(l);
	EXPECT_EQ(0, wait_conns(m2, 0));
	EXPECT_TRUE(peer_eof(c[0]));
	EXPECT_TRUE(peer_eof(c[1]));

	/* An accepted socket's connection too. */
	l = mm_listener(SOCK_SEQPACKET, variant->family, &laddr);
	ASSERT_LE(0, l);
	close(c[0]);
	c[0] = tcp_client(&laddr);
	ASSERT_LE(0, c[0]);
	a = accept_wait(l, WAIT_MS);
	ASSERT_LE(0, a);
	m3 = mux_of(a);
	ASSERT_EQ(1, proc_count_conns(m3, &row));
	EXPECT_STREQ(type, row.type);
	close(a);
	EXPECT_EQ(0, wait_conns(m3, 0));
	EXPECT_TRUE(peer_eof(c[0]));
	close(l);
	close(c[0]);
	close(c[1]);
	close(peer);
}

/* ---- found in review: each of these failed before its fix ---------------- */

/*
 * POLLHUP within WAIT_MS.  The error queue's notification (POLLERR) may
 * come first: it does not end the wait.
 */
static bool wait_hup(int fd)
{
	long long end = now_ms() + WAIT_MS;

	do {
		if (poll_events(fd, POLLIN, end - now_ms()) & POLLHUP)
			return true;
		usleep(1000);
	} while (now_ms() < end);
	return false;
}

/*
 * The peer sends part of a message, in several segments, then FIN: the
 * rest can never come.  The connection must still end (recv() 0, the
 * partial message counted), although strparser waits for more bytes
 * than TCP holds and stops reading.
 */
TEST_F(conn, peer_fin_mid_message_ends_the_connection)
{
	struct msgmux_conn_error ce;
	struct sockaddr_storage ss;
	char hdr[4], part[10] = "0123456789", c;
	int l, cl, mm, one = 1, i;

	l = mm_listener(SOCK_SEQPACKET, variant->family, &ss);
	ASSERT_LE(0, l);
	cl = tcp_client(&ss);
	ASSERT_LE(0, cl);
	ASSERT_EQ(0, setsockopt(cl, IPPROTO_TCP, TCP_NODELAY, &one,
				sizeof(one)));
	mm = accept_wait(l, WAIT_MS);
	ASSERT_LE(0, mm);
	put_be32(hdr, 100000);
	ASSERT_EQ(0, write_full(cl, hdr, sizeof(hdr)));
	for (i = 0; i < 3; i++) {
		usleep(50 * 1000);
		ASSERT_EQ(0, write_full(cl, part, sizeof(part)));
	}
	usleep(50 * 1000);
	ASSERT_EQ(0, shutdown(cl, SHUT_WR));

	EXPECT_TRUE(wait_hup(mm));
	EXPECT_EQ(0, recv(mm, &c, 1, MSG_DONTWAIT));
	ASSERT_EQ(0, recv_conn_error(mm, &ce));
	EXPECT_EQ(MSGMUX_CONN_CLOSED, ce.reason);
	EXPECT_EQ(34, ce.dropped_bytes);
	close(mm);
	close(cl);
	close(l);
}

/*
 * SO_RCVTIMEO on a listener bounds accept(), and only accept(): it is
 * not an assembly timeout for the connections it accepts afterwards.
 */
TEST_F(conn, listener_rcvtimeo_is_no_assembly_timeout)
{
	struct sockaddr_storage ss;
	char wire[4 + 8], buf[16];
	int l, cl, mm, one = 1;

	l = mm_listener(SOCK_SEQPACKET, variant->family, &ss);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, set_timeo(l, SO_RCVTIMEO, 100));
	/* A first accept(), so that TCP's children are cloned after it. */
	EXPECT_EQ(-1, accept(l, NULL, NULL));
	EXPECT_EQ(EAGAIN, errno);
	cl = tcp_client(&ss);
	ASSERT_LE(0, cl);
	ASSERT_EQ(0, setsockopt(cl, IPPROTO_TCP, TCP_NODELAY, &one,
				sizeof(one)));
	mm = accept(l, NULL, NULL);
	ASSERT_LE(0, mm);
	put_be32(wire, 8);
	memcpy(wire + 4, "slowpoke", 8);
	ASSERT_EQ(0, write_full(cl, wire, 6));
	usleep(400 * 1000);
	ASSERT_EQ(0, write_full(cl, wire + 6, sizeof(wire) - 6));
	EXPECT_EQ(8, recv_wait(mm, buf, sizeof(buf), 0, WAIT_MS));
	EXPECT_EQ(0, memcmp(buf, "slowpoke", 8));
	close(mm);
	close(cl);
	close(l);
}

/*
 * Queue more than TCP takes at once (the peer does not read), then
 * close(): without SO_LINGER every message still arrives, then FIN, as
 * TCP's own close() sends its send queue.
 */
static void close_delivers_all(struct __test_metadata *_metadata,
			       int tcp_l, const struct sockaddr_storage *ss,
			       int linger_s)
{
	struct linger lg = { .l_onoff = 1, .l_linger = linger_s };
	enum { SZ = 256 << 10 };
	static char msg[SZ];
	int mm, peer, n = 0, i;

	mm = mm_connected(SOCK_SEQPACKET, ss);
	ASSERT_LE(0, mm);
	peer = accept_wait(tcp_l, WAIT_MS);
	ASSERT_LE(0, peer);
	for (;;) {
		fill_pattern(msg, SZ, n);
		if (send(mm, msg, SZ, MSG_DONTWAIT | MSG_NOSIGNAL) != SZ)
			break;
		n++;
	}
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_LT(2, n);
	if (linger_s)
		ASSERT_EQ(0, setsockopt(mm, SOL_SOCKET, SO_LINGER, &lg,
					sizeof(lg)));
	close(mm);
	for (i = 0; i < n; i++) {
		fill_pattern(msg, SZ, i);
		ASSERT_TRUE(peer_got(peer, msg, SZ)) TH_LOG("message %d/%d",
							    i, n);
	}
	EXPECT_TRUE(peer_eof(peer));
	close(peer);
}

TEST_F(conn, close_without_linger_sends_all_queued)
{
	close_delivers_all(_metadata, self->tcp_l, &self->tcp_addr, 0);
}

/* SO_LINGER's time runs out: the rest goes in the background, no reset. */
TEST_F(conn, close_after_linger_time_sends_the_rest)
{
	close_delivers_all(_metadata, self->tcp_l, &self->tcp_addr, 1);
}

/*
 * A SOCK_SEQPACKET mux is one-to-one: neither a clone of a connected
 * socket nor a socket with an attached connection connects again.
 */
TEST_F(conn, seqpacket_mux_with_a_connection_is_eisconn)
{
	struct msgmux_clone cl;
	int mm, peer, a, b;

	mm = mm_connected(SOCK_SEQPACKET, &self->tcp_addr);
	ASSERT_LE(0, mm);
	peer = accept_wait(self->tcp_l, WAIT_MS);
	ASSERT_LE(0, peer);
	ASSERT_EQ(0, ioctl(mm, SIOCMSGMUXCLONE, &cl));
	EXPECT_EQ(EISCONN, connect_err(cl.fd, &self->tcp_addr));
	close(cl.fd);
	close(mm);
	close(peer);

	mm = mm_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, mm);
	ASSERT_EQ(0, tcp_pair(variant->family, &a, &b));
	ASSERT_EQ(0, mux_attach(MUX_MSGMUX, mm, a, -1));
	EXPECT_EQ(EISCONN, connect_err(mm, &self->tcp_addr));
	close(mm);
	close(a);
	close(b);
}

/* SIOCMSGMUXATTACH of a fresh TCP pair's end to @mm: 0 or the errno. */
static int attach_pair_err(int mm, int family)
{
	int a, b, err;

	if (tcp_pair(family, &a, &b))
		return -1;
	err = mux_attach(MUX_MSGMUX, mm, a, -1) ? errno : 0;
	close(a);
	close(b);
	return err;
}

/*
 * Nor does anything join a one-to-one mux: attaching to a socket that
 * connected, is connecting or was accepted, or to a clone of one, is
 * EISCONN, and its sends stay on its own connection.
 */
TEST_F(conn, one_to_one_mux_refuses_attach)
{
	struct sockaddr_storage laddr;
	struct msgmux_clone cl;
	struct syn_sink sink;
	int mm, peer, l, c, a;
	char buf[16];

	mm = mm_connected(SOCK_SEQPACKET, &self->tcp_addr);
	ASSERT_LE(0, mm);
	peer = accept_wait(self->tcp_l, WAIT_MS);
	ASSERT_LE(0, peer);
	EXPECT_EQ(EISCONN, attach_pair_err(mm, variant->family));
	ASSERT_EQ(0, ioctl(mm, SIOCMSGMUXCLONE, &cl));
	EXPECT_EQ(EISCONN, attach_pair_err(cl.fd, variant->family));
	close(cl.fd);
	/* Every send takes the one connection. */
	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(3, send(mm, "abc", 3, 0));
		ASSERT_EQ(7, read_full(peer, buf, 7, WAIT_MS));
		EXPECT_EQ(0, memcmp(buf + 4, "abc", 3));
	}
	EXPECT_EQ(1, proc_count_conns(mux_of(mm), NULL));
	close(mm);
	close(peer);

	/* While the connection is being made. */
	ASSERT_EQ(0, syn_sink_open(variant->family, &sink));
	mm = mm_socket(SOCK_SEQPACKET | SOCK_NONBLOCK);
	ASSERT_LE(0, mm);
	ASSERT_EQ(EINPROGRESS, connect_err(mm, &sink.addr));
	EXPECT_EQ(EISCONN, attach_pair_err(mm, variant->family));
	close(mm);
	ASSERT_EQ(0, syn_sink_drain(&sink));
	syn_sink_close(&sink);

	/* An accepted socket; its listener's mux is not one-to-one. */
	l = mm_listener(SOCK_SEQPACKET, variant->family, &laddr);
	ASSERT_LE(0, l);
	c = tcp_client(&laddr);
	ASSERT_LE(0, c);
	a = accept_wait(l, WAIT_MS);
	ASSERT_LE(0, a);
	EXPECT_EQ(EISCONN, attach_pair_err(a, variant->family));
	EXPECT_EQ(0, attach_pair_err(l, variant->family));
	close(a);
	close(c);
	close(l);

	/* A failed connect() leaves the socket free to attach. */
	c = closed_port(variant->family, &laddr);
	ASSERT_LE(0, c);
	mm = mm_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, mm);
	EXPECT_EQ(ECONNREFUSED, connect_err(mm, &laddr));
	EXPECT_EQ(0, attach_pair_err(mm, variant->family));
	close(mm);
	close(c);
}

/*
 * shutdown() while connect() is in progress aborts the attempt, as on
 * TCP: SO_ERROR says ECONNRESET, and no SYN gets through afterwards.
 */
TEST_F(conn, shutdown_while_connecting_aborts)
{
	struct syn_sink sink;
	int mm;

	ASSERT_EQ(0, syn_sink_open(variant->family, &sink));
	mm = mm_socket(SOCK_SEQPACKET | SOCK_NONBLOCK);
	ASSERT_LE(0, mm);
	ASSERT_EQ(EINPROGRESS, connect_err(mm, &sink.addr));
	ASSERT_EQ(0, shutdown(mm, SHUT_WR));
	EXPECT_TRUE(poll_events(mm, POLLOUT, WAIT_MS) & POLLERR);
	EXPECT_EQ(ECONNRESET, sockopt_int(mm, SO_ERROR));
	ASSERT_EQ(0, syn_sink_drain(&sink));
	EXPECT_TRUE(tcp_quiet(sink.lfd, 1500));
	close(mm);
	syn_sink_close(&sink);
}

struct big_writer {
	int fd;
	size_t len;
	char *buf;
	int ret;
};

static void *big_write(void *arg)
{
	struct big_writer *w = arg;

	w->ret = write_full(w->fd, w->buf, w->len);
	return NULL;
}

/*
 * The framing set while connect() is in progress is the one the
 * connection gets: a message over the old max_size, under the new one,
 * arrives.
 */
TEST_F(conn, framing_set_while_connecting_applies)
{
	enum { SZ = 3 << 20 };
	struct msgmux_framing f;
	struct big_writer w = { .len = 4 + SZ };
	struct syn_sink sink;
	pthread_t t;
	char *got;
	int mm, peer;

	w.buf = malloc(w.len);
	got = malloc(SZ + 1);
	ASSERT_TRUE(w.buf && got);
	put_be32(w.buf, SZ);
	fill_pattern(w.buf + 4, SZ, 7);

	ASSERT_EQ(0, syn_sink_open(variant->family, &sink));
	mm = mm_socket(SOCK_SEQPACKET | SOCK_NONBLOCK);
	ASSERT_LE(0, mm);
	ASSERT_EQ(EINPROGRESS, connect_err(mm, &sink.addr));
	ASSERT_EQ(0, framing_get(mm, &f));
	f.max_size = 4 << 20;
	ASSERT_EQ(0, framing_set(mm, &f));
	ASSERT_EQ(0, syn_sink_drain(&sink));
	ASSERT_TRUE(poll_events(mm, POLLOUT, SYN_WAIT_MS) & POLLOUT);
	peer = accept_wait(sink.lfd, WAIT_MS);
	ASSERT_LE(0, peer);

	w.fd = peer;
	ASSERT_EQ(0, pthread_create(&t, NULL, big_write, &w));
	EXPECT_EQ(SZ, recv_wait(mm, got, SZ + 1, 0, 10 * WAIT_MS));
	pthread_join(t, NULL);
	EXPECT_EQ(0, w.ret);
	EXPECT_EQ(0, memcmp(got, w.buf + 4, SZ));
	free(w.buf);
	free(got);
	close(mm);
	close(peer);
	syn_sink_close(&sink);
}

/*
 * A message of the framing's max_size arrives, both ways, on a
 * connection connect() made: TCP's receive buffer must hold all of it,
 * overhead included, before strparser reads the rest.
 */
TEST_F(conn, max_size_message_arrives)
{
	enum { SZ = MSGMUX_DEFAULT_MAX_SIZE - 4 };
	struct big_writer w = { .len = 4 + SZ };
	pthread_t t;
	char *got;
	int mm, peer;

	w.buf = malloc(w.len);
	got = malloc(w.len + 1);
	ASSERT_TRUE(w.buf && got);
	put_be32(w.buf, SZ);
	fill_pattern(w.buf + 4, SZ, 9);
	mm = mm_connected(SOCK_SEQPACKET, &self->tcp_addr);
	ASSERT_LE(0, mm);
	peer = accept_wait(self->tcp_l, WAIT_MS);
	ASSERT_LE(0, peer);

	w.fd = peer;
	ASSERT_EQ(0, pthread_create(&t, NULL, big_write, &w));
	EXPECT_EQ(SZ, recv_wait(mm, got, SZ + 1, 0, 10 * WAIT_MS));
	pthread_join(t, NULL);
	EXPECT_EQ(0, w.ret);
	EXPECT_EQ(0, memcmp(got, w.buf + 4, SZ));

	ASSERT_EQ(SZ, send(mm, w.buf + 4, SZ, MSG_NOSIGNAL));
	EXPECT_EQ(w.len, read_full(peer, got, w.len, 10 * WAIT_MS));
	EXPECT_EQ(0, memcmp(got, w.buf, w.len));
	free(w.buf);
	free(got);
	close(mm);
	close(peer);
}

/* ---- found by the bad-input table -------------------------------------- */

/*
 * sendfile() and splice() reach sendmsg() with the kernel's own flags:
 * still one message per call, not EOPNOTSUPP.
 */
TEST_F(conn, sendfile_and_splice_send_one_message)
{
	enum { SZ = 10000 };
	static char data[SZ];
	int mm, peer, mfd, p[2];
	off_t off = 0;

	mm = mm_connected(SOCK_SEQPACKET, &self->tcp_addr);
	ASSERT_LE(0, mm);
	peer = accept_wait(self->tcp_l, WAIT_MS);
	ASSERT_LE(0, peer);
	fill_pattern(data, SZ, 3);
	mfd = memfd_create("msgmux", 0);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, write_full(mfd, data, SZ));
	EXPECT_EQ(SZ, sendfile(mm, mfd, &off, SZ)) TH_LOG("%s",
							  strerror(errno));
	EXPECT_TRUE(peer_got(peer, data, SZ));

	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(5, write(p[1], "hello", 5));
	EXPECT_EQ(5, splice(p[0], NULL, mm, NULL, 5, 0)) TH_LOG("%s",
								 strerror(errno));
	EXPECT_TRUE(peer_got(peer, "hello", 5));
	close(p[0]);
	close(p[1]);
	close(mfd);
	close(mm);
	close(peer);
}

/* After shutdown(SHUT_RD), MSGMUX_RECV_DISABLE cannot turn receiving on. */
TEST(recv_enable_after_shut_rd_is_einval)
{
	int a, b, mm, zero = 0;

	mm = mm_socket(SOCK_DGRAM);
	ASSERT_LE(0, mm);
	ASSERT_EQ(0, tcp_pair(AF_INET, &a, &b));
	ASSERT_EQ(0, mux_attach(MUX_MSGMUX, mm, a, -1));
	ASSERT_EQ(0, shutdown(mm, SHUT_RD));
	EXPECT_EQ(-1, setsockopt(mm, SOL_MSGMUX, MSGMUX_RECV_DISABLE, &zero,
				 sizeof(zero)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(1, sockopt_level_int(mm, SOL_MSGMUX, MSGMUX_RECV_DISABLE));
	close(mm);
	close(a);
	close(b);
}

/*
 * listen() again after shutdown(SHUT_RD) stopped a listener: it listens,
 * and poll() no longer reports the shutdown (an event loop would spin).
 */
TEST_F(conn, listen_again_after_shutdown_rd)
{
	struct sockaddr_storage ss;
	int l, c, a;

	l = mm_listener(SOCK_SEQPACKET, variant->family, &ss);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, shutdown(l, SHUT_RD));
	ASSERT_EQ(0, listen(l, 4));
	EXPECT_EQ(0, poll_events(l, POLLIN, 0));
	/* Bound to port 0, it may listen on another port now, as TCP. */
	ASSERT_LT(0, name_of(l, &ss, false));
	c = tcp_client(&ss);
	ASSERT_LE(0, c);
	a = accept_wait(l, WAIT_MS);
	EXPECT_LE(0, a);
	close(a);
	close(c);
	close(l);
}

/* A maximum smaller than the header could never carry a message. */
TEST(framing_max_below_the_header_is_einval)
{
	struct msgmux_framing f = { .len_size = 4, .max_size = 3 };
	int mm = mm_socket(SOCK_SEQPACKET);

	ASSERT_LE(0, mm);
	EXPECT_EQ(-1, framing_set(mm, &f));
	EXPECT_EQ(EINVAL, errno);
	f.max_size = 4;
	EXPECT_EQ(0, framing_set(mm, &f));
	close(mm);
}

/*
 * SIOCMSGMUXATTACHX whose argument cannot take the id: EFAULT, and the
 * TCP socket's data is untouched (nothing was attached, nothing read).
 */
TEST(attachx_to_a_read_only_argument_takes_nothing)
{
	struct msgmux_attach_ext *arg;
	char wire[8], got[16];
	int a, b, mm;

	mm = mm_socket(SOCK_DGRAM);
	ASSERT_LE(0, mm);
	ASSERT_EQ(0, tcp_pair(AF_INET, &a, &b));
	put_be32(wire, 4);
	memcpy(wire + 4, "data", 4);
	ASSERT_EQ(0, write_full(b, wire, sizeof(wire)));
	ASSERT_TRUE(poll_events(a, POLLIN, WAIT_MS) & POLLIN);
	arg = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, arg);
	*arg = (struct msgmux_attach_ext){ .fd = a, .bpf_fd = -1 };
	ASSERT_EQ(0, mprotect(arg, 4096, PROT_READ));
	EXPECT_EQ(-1, ioctl(mm, SIOCMSGMUXATTACHX, arg));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(sizeof(wire), read_full(a, got, sizeof(wire), WAIT_MS));
	EXPECT_EQ(0, memcmp(got, wire, sizeof(wire)));
	EXPECT_EQ(-1, recv(mm, got, sizeof(got), MSG_DONTWAIT));
	munmap(arg, 4096);
	close(mm);
	close(a);
	close(b);
}

TEST_HARNESS_MAIN
