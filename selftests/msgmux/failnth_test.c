// SPDX-License-Identifier: GPL-2.0
/*
 * failnth_test - every allocation msgmux's calls make in the caller's
 * task, failed one at a time.
 *
 * For each call: set up the state it runs in, write n to
 * /proc/thread-self/fail-nth, make the call, and read fail-nth back.  The
 * kernel counts the task's fail points (with FAILSLAB, its slab
 * allocations) down from n and fails the n-th; it reads back 0 once it
 * failed one, and more than 0 if the call ended before its n-th.  n runs
 * 1, 2, 3, ... until a call ends without a failure: n - 1 is the number
 * of failure points of the call, printed for each.
 *
 * Every run with a failure must return success or an errno of the
 * call's list (each with its reason at the list), and leave things sane:
 *
 * - a call that succeeded did its whole job: what it made (a socket, a
 *   connection, a clone, an accepted socket, a listener) carries a
 *   message each way, and a message it sent arrives whole;
 * - a call that failed changed nothing: a TCP socket it did not attach
 *   is a plain TCP socket still, and attaches afterwards; a socket whose
 *   connect() or listen() failed connects or listens afterwards; a failed
 *   send sent nothing; a connection accept() could not take is still
 *   there for the next accept();
 * - once everything is closed, nothing is left: no file descriptor, no
 *   /proc/net/msgmux line, no socket ("sockets: used" of
 *   /proc/net/sockstat), no reference on the module, no BPF program.
 *
 * The VM's verdict adds no kernel splat, and on the debug kernel no
 * kmemleak report and lockdep still on after the run.
 *
 * Only the caller's task is swept: fail-nth never fails an allocation in
 * softirq context (the receive path, TCP's handshake) or in a worker.
 * Page allocations fail only with FAIL_PAGE_ALLOC; without it (the debug
 * kernel has FAILSLAB only) the page fragments of large skbs are not
 * swept.
 *
 * Needs root and a kernel with CONFIG_FAULT_INJECTION and FAILSLAB, with
 * debugfs: the VM runs it on the debug kernel only, and without fail-nth
 * it fails rather than skips.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/bpf.h>

#include "harness.h"
#include "libmsgmux.h"
#include "util.h"

#define SA(p)		((struct sockaddr *)(p))

/* A sweep that reaches this many failure points never ends: a failure. */
#define MAX_NTH		2000

/* Failed runs logged in full per sweep; the rest are only counted. */
#define MAX_LOGGED	5

/* sendmsg()'s large message: several skbs of MSGMUX_TX_CHUNK. */
#define LARGE		(200 * 1024)
#define SMALL		100

static const char failnth_path[] = "/proc/thread-self/fail-nth";

/* debugfs knobs the sweep sets, and their values before. */
static const struct knob {
	const char *path;
	const char *value;
	bool optional;		/* only with FAIL_PAGE_ALLOC */
} knobs[] = {
	/*
	 * Count (and fail) allocations that may sleep too: FAILSLAB skips
	 * them by default, and nearly all of msgmux's are GFP_KERNEL.
	 */
	{ "/sys/kernel/debug/failslab/ignore-gfp-wait", "N", false },
	/*
	 * Say nothing when failing: verbose 1 logs the failure, 2 (the
	 * default) a stack trace as well, which the verdict would take for
	 * a kernel splat ("Call Trace:").
	 */
	{ "/sys/kernel/debug/failslab/verbose", "0", false },
	/* Fail only caches flagged in /sys/kernel/slab/.../failslab. */
	{ "/sys/kernel/debug/failslab/cache-filter", "Y", false },
	{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N", true },
	{ "/sys/kernel/debug/fail_page_alloc/verbose", "0", true },
};

/*
 * The debugging tools' own caches: kmemleak's metadata, allocated after
 * every allocation (and from a pool when that fails), and debugobjects'
 * pool, refilled at random moments.  They are not the call's allocations,
 * and would shift its fail points from one run to the next: every other
 * cache is flagged for FAILSLAB, and only flagged caches fail.
 */
static const char * const tool_caches[] = {
	"kmemleak_object", "kmemleak_scan_area", "debug_objects_cache",
};

#define SLAB_DIR	"/sys/kernel/slab"

/* ---- the errnos each call may return when an allocation fails ---------- */

/* msgmux's own allocations (mux, socket, connection, skb), kmalloc(). */
static const int e_nomem[] = { ENOMEM, 0 };

/*
 * socket() and SIOCMSGMUXCLONE: sock_alloc() failing is ENFILE ("no more
 * sockets", net/socket.c), the rest of the socket and its file ENOMEM.
 */
static const int e_socket[] = { ENOMEM, ENFILE, 0 };

/*
 * connect() and listen(): msgmux's TCP socket (ENFILE, ENOMEM as
 * socket()), its connection (ENOMEM), and TCP's own: an skb for the SYN
 * or a route (ENOBUFS), a bind bucket (ENOMEM in __inet_hash_connect(),
 * but EADDRINUSE from listen(), where inet_csk_listen_start() reports any
 * failure to take the port so).
 */
static const int e_connect[] = { ENOMEM, ENFILE, ENOBUFS, 0 };
static const int e_listen[] = { ENOMEM, ENFILE, EADDRINUSE, 0 };

/*
 * sendmsg(): the message's skbs come from sock_alloc_send_pskb() or
 * alloc_skb(), and a large payload's pages from the task's page_frag;
 * msgmux reports a failure of any of them as ENOBUFS.
 */
static const int e_send[] = { ENOBUFS, 0 };

/* accept(): the new socket and file (ENFILE, ENOMEM), its mux (ENOMEM). */
static const int e_accept[] = { ENOMEM, ENFILE, 0 };

/* ---- the state of one run --------------------------------------------- */

struct op;

/**
 * struct env - everything one run makes, closed when it is done
 * @mux: the msgmux socket the call is made on.
 * @a: a TCP socket to attach, or attached; @b its peer.
 * @lfd: a TCP listener to connect() to, with its address in @addr.
 * @res: what the call made: a socket, a clone, an accepted socket.
 * @bpf: a BPF parser for the attach, or -1.
 * @family: msgmux's address family, read before the call.
 * @addr: @lfd's address, or the msgmux listener's.
 * @addr_len: its length.
 * @buf: the message sendmsg() sends; @rbuf, room for what is read.
 * @seed: the pattern of the next message.
 * @fds: more descriptors to close.
 * @nfds: entries in @fds.
 * @note: what went wrong, for the log.
 */
struct env {
	int mux;
	int a, b;
	int lfd;
	int res;
	int bpf;
	int family;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char *buf, *rbuf;
	unsigned int seed;
	int fds[8];
	int nfds;
	char note[256];
};

/**
 * struct op - a call to sweep
 * @name: for the log.
 * @cfg: the msgmux socket's type and framing.
 * @len: sendmsg()'s message size.
 * @cmd: the ioctl.
 * @prepare: make the state the call runs in, without any failure.
 * @call: the call; returns what the system call returned, with errno.
 * @check: after the call (@ret, with errno in @err): 0 if the state is
 *	sane, else -1 with &env.note set.
 * @errnos: what the call may fail with, 0-terminated.
 */
struct op {
	const char *name;
	struct mux_cfg cfg;
	size_t len;
	unsigned long cmd;
	int (*prepare)(struct env *e, const struct op *op);
	long (*call)(struct env *e, const struct op *op);
	int (*check)(struct env *e, const struct op *op, long ret, int err);
	const int *errnos;
};

static int fail(struct env *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->note, sizeof(e->note), fmt, ap);
	va_end(ap);
	return -1;
}

static const char *errname(int err)
{
	const char *s = err ? strerrorname_np(err) : "0";

	return s ? s : "?";
}

static int keep(struct env *e, int fd)
{
	if (fd >= 0 && e->nfds < (int)ARRAY_SIZE(e->fds))
		e->fds[e->nfds++] = fd;
	return fd;
}

static void env_init(struct env *e, char *buf, char *rbuf)
{
	memset(e, 0, sizeof(*e));
	e->mux = -1;
	e->a = -1;
	e->b = -1;
	e->lfd = -1;
	e->res = -1;
	e->bpf = -1;
	e->buf = buf;
	e->rbuf = rbuf;
}

static void env_done(struct env *e)
{
	int fds[] = { e->res, e->mux, e->a, e->b, e->lfd, e->bpf };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	for (i = 0; i < (unsigned int)e->nfds; i++)
		close(e->fds[i]);
}

static int mm_socket(int type)
{
	return mm_socket_bounded(type);
}

static int mux_id(int fd)
{
	struct proc_row row;

	return proc_find_sock(fd_inode(fd), &row) ? -1 : (int)row.mux;
}

/* ---- what must still work ------------------------------------------- */

/*
 * One message each way between @fd, a msgmux socket, and @peer, the TCP
 * end of its connection.  Strict: a stray byte on the wire (of a send
 * that failed) misframes the peer's read and fails it.
 */
static int exchange(struct env *e, const struct mux_cfg *c, int fd, int peer)
{
	char msg[64], buf[64];
	size_t len;
	ssize_t n;

	if (!(poll_events(fd, POLLOUT, WAIT_MS) & POLLOUT))
		return fail(e, "the socket never polled writable");
	len = msg_make(c, msg, 16, ++e->seed);
	if (mux_send(c, fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len)
		return fail(e, "send: %s", errname(errno));
	n = peer_recv(c, peer, buf, sizeof(buf), WAIT_MS);
	if (n < 0 || !msg_check(c, buf, n, 16, e->seed))
		return fail(e, "the peer did not read the message sent");
	len = msg_make(c, msg, 24, ++e->seed);
	if (peer_send(c, peer, msg, len))
		return fail(e, "the peer could not write");
	n = recv_wait(fd, buf, sizeof(buf), 0, WAIT_MS);
	if (n < 0)
		return fail(e, "recv: %s", errname(errno));
	if (!msg_check(c, buf, n, 24, e->seed))
		return fail(e, "recv: not the peer's message");
	return 0;
}

/* Attach @a (no failure injected) and exchange a message each way. */
static int attach_works(struct env *e, const struct mux_cfg *c)
{
	int bpf = -1, ret;

	if (c->mode == FRAME_BPF) {
		bpf = bpf_len_parser();
		if (bpf < 0)
			return fail(e, "BPF_PROG_LOAD: %s", errname(errno));
	}
	ret = mux_attach(MUX_MSGMUX, e->mux, e->a, bpf);
	if (bpf >= 0)
		close(bpf);
	if (ret)
		return fail(e, "attach afterwards: %s", errname(errno));
	return exchange(e, c, e->mux, e->b);
}

/* @a and @b, a TCP pair, pass bytes as they are: @a is not attached. */
static int tcp_plain(struct env *e)
{
	struct proc_row row;
	char buf[4];

	if (proc_find_conn(fd_inode(e->a), &row) != -ENOENT)
		return fail(e, "the TCP socket is a connection of mux %u",
			    row.mux);
	if (write_full(e->b, "raw", 3) || read_full(e->a, buf, 3, WAIT_MS) != 3 ||
	    memcmp(buf, "raw", 3))
		return fail(e, "the peer's bytes did not reach the TCP socket");
	if (write_full(e->a, "raw", 3) || read_full(e->b, buf, 3, WAIT_MS) != 3 ||
	    memcmp(buf, "raw", 3))
		return fail(e, "the TCP socket's bytes did not reach the peer");
	return 0;
}

/* Accept what waits on TCP listener @lfd, within WAIT_MS; -1 if nothing. */
static int tcp_accept(int lfd)
{
	if (!(poll_events(lfd, POLLIN, WAIT_MS) & POLLIN))
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

/* connect() @e->mux to @e->lfd (no failure), accept, exchange. */
static int connect_works(struct env *e, const struct mux_cfg *c)
{
	int peer;

	if (connect(e->mux, SA(&e->addr), e->addr_len))
		return fail(e, "connect afterwards: %s", errname(errno));
	peer = keep(e, tcp_accept(e->lfd));
	if (peer < 0)
		return fail(e, "the listener got no connection");
	return exchange(e, c, e->mux, peer);
}

/* A TCP client of the msgmux listener @e->mux, accepted, exchanges. */
static int listener_works(struct env *e, const struct mux_cfg *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int cl, fd;

	if (getsockname(e->mux, SA(&ss), &len))
		return fail(e, "getsockname: %s", errname(errno));
	cl = keep(e, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	if (cl < 0 || connect(cl, SA(&ss), len))
		return fail(e, "TCP connect: %s", errname(errno));
	if (!(poll_events(e->mux, POLLIN, WAIT_MS) & POLLIN))
		return fail(e, "the listener never polled readable");
	fd = keep(e, accept4(e->mux, NULL, NULL, SOCK_CLOEXEC));
	if (fd < 0)
		return fail(e, "accept: %s", errname(errno));
	return exchange(e, c, fd, cl);
}

/* ---- the calls ---------------------------------------------------------- */

static int prep_none(struct env *e, const struct op *op)
{
	e->family = msgmux_family();
	return 0;
}

static long call_socket(struct env *e, const struct op *op)
{
	e->res = socket(e->family, op->cfg.type | SOCK_CLOEXEC, 0);
	return e->res < 0 ? -1 : 0;
}

static int check_socket(struct env *e, const struct op *op, long ret,
			int err)
{
	struct proc_row row;

	if (ret)
		return 0;
	if (sockopt_int(e->res, SO_TYPE) != op->cfg.type)
		return fail(e, "the new socket has the wrong type");
	if (proc_find_sock(fd_inode(e->res), &row))
		return fail(e, "the new socket has no /proc/net/msgmux line");
	e->mux = e->res;
	e->res = -1;
	if (tcp_pair(AF_INET, &e->a, &e->b))
		return fail(e, "tcp_pair failed");
	return attach_works(e, &op->cfg);
}

/* A msgmux socket as @op says, and a TCP pair; @a to attach. */
static int prep_pair(struct env *e, const struct op *op)
{
	e->mux = mux_open(&op->cfg);
	if (e->mux < 0)
		return fail(e, "socket: %s", errname(errno));
	if (tcp_pair(AF_INET, &e->a, &e->b))
		return fail(e, "tcp_pair failed");
	if (op->cfg.mode == FRAME_BPF) {
		e->bpf = bpf_len_parser();
		if (e->bpf < 0)
			return fail(e, "BPF_PROG_LOAD: %s", errname(errno));
	}
	return 0;
}

static long call_attach(struct env *e, const struct op *op)
{
	struct msgmux_attach_ext ax = { .fd = e->a, .bpf_fd = e->bpf };

	/* ATTACH reads the first two fields of the same layout. */
	return ioctl(e->mux, op->cmd, &ax);
}

static int check_attach(struct env *e, const struct op *op, long ret,
			int err)
{
	struct proc_row row;

	if (ret)
		return tcp_plain(e) ? -1 : attach_works(e, &op->cfg);
	if (proc_find_conn(fd_inode(e->a), &row))
		return fail(e, "the connection has no /proc/net/msgmux line");
	return exchange(e, &op->cfg, e->mux, e->b);
}

/* A msgmux socket as @op says, a TCP listener to connect() to. */
static int prep_listener(struct env *e, const struct op *op)
{
	e->addr_len = sizeof(e->addr);
	e->lfd = tcp_listener(AF_INET);
	if (e->lfd < 0 || getsockname(e->lfd, SA(&e->addr), &e->addr_len))
		return fail(e, "TCP listener: %s", errname(errno));
	e->mux = mm_socket(op->cfg.type);
	if (e->mux < 0)
		return fail(e, "socket: %s", errname(errno));
	return 0;
}

static long call_connect(struct env *e, const struct op *op)
{
	return connect(e->mux, SA(&e->addr), e->addr_len);
}

static int check_connect(struct env *e, const struct op *op, long ret,
			 int err)
{
	int peer, id = mux_id(e->mux), fd, so_err;

	if (!ret) {
		peer = keep(e, tcp_accept(e->lfd));
		if (peer < 0)
			return fail(e, "connected, but the listener got nothing");
		return exchange(e, &op->cfg, e->mux, peer);
	}
	/* The error is returned, not left behind in SO_ERROR as well. */
	so_err = sockopt_int(e->mux, SO_ERROR);
	if (so_err)
		return fail(e, "SO_ERROR %s after the failed connect()",
			    errname(so_err));
	if (id < 0 || proc_count_conns(id, NULL))
		return fail(e, "a connection is left in the mux");
	/* What TCP's SYN may have left at the listener goes. */
	while (poll_events(e->lfd, POLLIN, 0) & POLLIN) {
		fd = accept4(e->lfd, NULL, NULL, SOCK_NONBLOCK);
		if (fd < 0)
			break;
		close(fd);
	}
	return connect_works(e, &op->cfg);
}

/* An attached connection, writable, and the message to send. */
static int prep_send(struct env *e, const struct op *op)
{
	if (prep_pair(e, op))
		return -1;
	if (mux_attach(MUX_MSGMUX, e->mux, e->a, -1))
		return fail(e, "attach: %s", errname(errno));
	if (!(poll_events(e->mux, POLLOUT, WAIT_MS) & POLLOUT))
		return fail(e, "the socket never polled writable");
	e->seed = 1000;
	fill_pattern(e->buf, op->len, e->seed);
	return 0;
}

static long call_send(struct env *e, const struct op *op)
{
	return send(e->mux, e->buf, op->len, MSG_NOSIGNAL);
}

static int check_send(struct env *e, const struct op *op, long ret, int err)
{
	ssize_t n;

	if (ret >= 0) {
		if (ret != (long)op->len)
			return fail(e, "send returned %ld of %zu", ret,
				    op->len);
		n = peer_recv(&op->cfg, e->b, e->rbuf, op->len + HDR_LEN,
			      WAIT_MS);
		if (n != (ssize_t)op->len ||
		    !msg_check(&op->cfg, e->rbuf, n, op->len, e->seed))
			return fail(e, "the message sent never arrived whole");
	}
	/* After a failed send, the next message is the next on the wire. */
	return exchange(e, &op->cfg, e->mux, e->b);
}

static long call_clone(struct env *e, const struct op *op)
{
	struct msgmux_clone mc = { .fd = -1 };
	long ret = ioctl(e->mux, SIOCMSGMUXCLONE, &mc);

	if (!ret)
		e->res = mc.fd;
	return ret;
}

static int check_clone(struct env *e, const struct op *op, long ret,
		       int err)
{
	int one = 1, id = mux_id(e->mux);
	struct proc_row row;

	if (ret)
		return exchange(e, &op->cfg, e->mux, e->b);
	if (e->res < 0 || proc_find_sock(fd_inode(e->res), &row) ||
	    (int)row.mux != id)
		return fail(e, "the clone is not a socket of the mux");
	/* Messages from the peer go to the clone only. */
	if (setsockopt(e->mux, SOL_MSGMUX, MSGMUX_RECV_DISABLE, &one,
		       sizeof(one)))
		return fail(e, "MSGMUX_RECV_DISABLE: %s", errname(errno));
	return exchange(e, &op->cfg, e->res, e->b);
}

static int prep_attached(struct env *e, const struct op *op)
{
	if (prep_pair(e, op))
		return -1;
	if (mux_attach(MUX_MSGMUX, e->mux, e->a, -1))
		return fail(e, "attach: %s", errname(errno));
	return 0;
}

static int prep_socket(struct env *e, const struct op *op)
{
	e->mux = mm_socket(op->cfg.type);
	return e->mux < 0 ? fail(e, "socket: %s", errname(errno)) : 0;
}

static long call_listen(struct env *e, const struct op *op)
{
	return listen(e->mux, 8);
}

static int check_listen(struct env *e, const struct op *op, long ret,
			int err)
{
	if (ret && listen(e->mux, 8))
		return fail(e, "listen afterwards: %s", errname(errno));
	return listener_works(e, &op->cfg);
}

/* A msgmux listener on 127.0.0.1 with a TCP client (@b) to accept. */
static int prep_accept(struct env *e, const struct op *op)
{
	e->addr_len = loopback_addr(AF_INET, 0, &e->addr);
	e->mux = mm_socket(op->cfg.type);
	if (e->mux < 0 || bind(e->mux, SA(&e->addr), e->addr_len) ||
	    listen(e->mux, 8) ||
	    getsockname(e->mux, SA(&e->addr), &e->addr_len))
		return fail(e, "msgmux listener: %s", errname(errno));
	e->b = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (e->b < 0 || connect(e->b, SA(&e->addr), e->addr_len))
		return fail(e, "TCP connect: %s", errname(errno));
	if (!(poll_events(e->mux, POLLIN, WAIT_MS) & POLLIN))
		return fail(e, "the listener never polled readable");
	return 0;
}

static long call_accept(struct env *e, const struct op *op)
{
	e->res = accept4(e->mux, NULL, NULL, SOCK_CLOEXEC);
	return e->res < 0 ? -1 : 0;
}

static int check_accept(struct env *e, const struct op *op, long ret,
			int err)
{
	if (!ret)
		return exchange(e, &op->cfg, e->res, e->b);
	/* The connection waits for the next accept(), which gets it. */
	if (!(poll_events(e->mux, POLLIN, 0) & POLLIN))
		return fail(e, "the failed accept() lost the connection");
	e->res = accept4(e->mux, NULL, NULL, SOCK_CLOEXEC);
	if (e->res < 0)
		return fail(e, "accept afterwards: %s", errname(errno));
	return exchange(e, &op->cfg, e->res, e->b);
}

/* An attached connection with a message from the peer waiting. */
static int prep_recv(struct env *e, const struct op *op)
{
	size_t len;

	if (prep_attached(e, op))
		return -1;
	e->seed = 2000;
	len = msg_make(&op->cfg, e->buf, SMALL, e->seed);
	if (peer_send(&op->cfg, e->b, e->buf, len))
		return fail(e, "the peer could not write");
	if (!(poll_events(e->mux, POLLIN, WAIT_MS) & POLLIN))
		return fail(e, "the message never arrived");
	return 0;
}

static long call_recv(struct env *e, const struct op *op)
{
	return recv(e->mux, e->rbuf, LARGE, 0);
}

static int check_recv(struct env *e, const struct op *op, long ret, int err)
{
	if (!ret)
		return fail(e, "recv returned 0");
	if (ret > 0 && !msg_check(&op->cfg, e->rbuf, ret, SMALL, e->seed))
		return fail(e, "recv: not the peer's message");
	if (ret < 0 && recv_wait(e->mux, e->rbuf, LARGE, 0, WAIT_MS) < 0)
		return fail(e, "the message was lost");
	return exchange(e, &op->cfg, e->mux, e->b);
}

#define SEQ_STRIP	{ MUX_MSGMUX, SOCK_SEQPACKET, FRAME_STRIP }
#define DGRAM_STRIP	{ MUX_MSGMUX, SOCK_DGRAM, FRAME_STRIP }
#define DGRAM_BPF	{ MUX_MSGMUX, SOCK_DGRAM, FRAME_BPF }

static const struct op op_socket_seq = {
	"socket(SOCK_SEQPACKET)", SEQ_STRIP, 0, 0,
	prep_none, call_socket, check_socket, e_socket,
};

static const struct op op_socket_dgram = {
	"socket(SOCK_DGRAM)", DGRAM_STRIP, 0, 0,
	prep_none, call_socket, check_socket, e_socket,
};

static const struct op op_attach = {
	"SIOCMSGMUXATTACH", DGRAM_STRIP, 0, SIOCMSGMUXATTACH,
	prep_pair, call_attach, check_attach, e_nomem,
};

static const struct op op_attachx = {
	"SIOCMSGMUXATTACHX", SEQ_STRIP, 0, SIOCMSGMUXATTACHX,
	prep_pair, call_attach, check_attach, e_nomem,
};

static const struct op op_attach_bpf = {
	"SIOCMSGMUXATTACH (BPF parser)", DGRAM_BPF, 0, SIOCMSGMUXATTACH,
	prep_pair, call_attach, check_attach, e_nomem,
};

static const struct op op_connect_seq = {
	"connect(SOCK_SEQPACKET)", SEQ_STRIP, 0, 0,
	prep_listener, call_connect, check_connect, e_connect,
};

static const struct op op_connect_dgram = {
	"connect(SOCK_DGRAM)", DGRAM_STRIP, 0, 0,
	prep_listener, call_connect, check_connect, e_connect,
};

static const struct op op_send_small = {
	"sendmsg(100 B)", DGRAM_STRIP, SMALL, 0,
	prep_send, call_send, check_send, e_send,
};

static const struct op op_send_large = {
	"sendmsg(200 KiB)", DGRAM_STRIP, LARGE, 0,
	prep_send, call_send, check_send, e_send,
};

static const struct op op_clone = {
	"SIOCMSGMUXCLONE", DGRAM_STRIP, 0, 0,
	prep_attached, call_clone, check_clone, e_socket,
};

static const struct op op_listen = {
	"listen(SOCK_SEQPACKET)", SEQ_STRIP, 0, 0,
	prep_socket, call_listen, check_listen, e_listen,
};

static const struct op op_accept = {
	"accept(SOCK_SEQPACKET)", SEQ_STRIP, 0, 0,
	prep_accept, call_accept, check_accept, e_accept,
};

static const struct op op_recv = {
	"recvmsg", DGRAM_STRIP, 0, 0,
	prep_recv, call_recv, check_recv, e_nomem,
};

/* ---- what is left behind ------------------------------------------------ */

/* "sockets: used" of /proc/net/sockstat: the namespace's users' socks. */
static int sockets_used(void)
{
	static const char key[] = "sockets: used ";
	char *s = read_file("/proc/net/sockstat");
	char *p = s ? strstr(s, key) : NULL;
	int n = p ? atoi(p + strlen(key)) : -1;

	free(s);
	return n;
}

/* References on msgmux.ko: each socket holds some. */
static int module_refs(void)
{
	char *s = read_file("/sys/module/msgmux/refcnt");
	int n = s ? atoi(s) : -1;

	free(s);
	return n;
}

/* BPF programs loaded in the system. */
static int bpf_progs(void)
{
	union bpf_attr attr;
	int n = 0;

	memset(&attr, 0, sizeof(attr));
	while (!syscall(__NR_bpf, BPF_PROG_GET_NEXT_ID, &attr, sizeof(attr))) {
		attr.start_id = attr.next_id;
		n++;
	}
	return n;
}

/**
 * struct ledger - what a run may not leave behind
 * @fds: this process's descriptors.
 * @objects: lines of /proc/net/msgmux.
 * @sockets: "sockets: used" of /proc/net/sockstat.
 * @modrefs: references on msgmux.ko.
 * @progs: BPF programs.
 */
struct ledger {
	int fds, objects, sockets, modrefs, progs;
};

static void ledger_read(struct ledger *l)
{
	l->fds = count_fds();
	l->objects = count_objects();
	l->sockets = sockets_used();
	l->modrefs = module_refs();
	l->progs = bpf_progs();
}

/*
 * Wait for @want: a socket goes with its last reference, which TCP (an
 * orphan finishing its close) or a worker may hold a moment.  Returns
 * what differs, or NULL.
 */
static const char *ledger_back_to(const struct ledger *want,
				  struct ledger *now)
{
	long long end = now_ms() + WAIT_MS;

	for (;;) {
		ledger_read(now);
		if (!memcmp(now, want, sizeof(*now)))
			return NULL;
		if (now_ms() > end)
			break;
		usleep(20 * 1000);
	}
	if (now->fds != want->fds)
		return "file descriptors";
	if (now->objects != want->objects)
		return "/proc/net/msgmux lines";
	if (now->sockets != want->sockets)
		return "sockets (sockstat)";
	if (now->modrefs != want->modrefs)
		return "msgmux.ko references";
	return "BPF programs";
}

/* ---- the sweep ---------------------------------------------------------- */

FIXTURE(failnth)
{
	int nth;		/* /proc/thread-self/fail-nth */
	char saved[ARRAY_SIZE(knobs)][8];
	char *buf, *rbuf;
	char **flagged;		/* caches whose failslab flag we set */
	int nflagged;
};

static int knob_read(const char *path, char *val, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	val[0] = 0;
	if (fd < 0)
		return -errno;
	n = read(fd, val, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	val[n] = 0;
	val[strcspn(val, "\n")] = 0;
	return 0;
}

static int knob_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -EIO;
}

static bool tool_cache(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(tool_caches); i++)
		if (!strcmp(name, tool_caches[i]))
			return true;
	return false;
}

/*
 * Flag every cache but the tools' for FAILSLAB; remember which were not
 * flagged before.  Returns how many could not be flagged (a cache merged
 * with another refuses; slub_debug on the VM's command line keeps them
 * apart), or -errno.
 */
static int flag_caches(FIXTURE_DATA(failnth) *self)
{
	char path[300], val[8];
	struct dirent *d;
	int refused = 0;
	DIR *dir;

	dir = opendir(SLAB_DIR);
	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		/* Aliases of merged caches are symbolic links. */
		if (d->d_type != DT_DIR || d->d_name[0] == '.' ||
		    tool_cache(d->d_name))
			continue;
		snprintf(path, sizeof(path), SLAB_DIR "/%s/failslab",
			 d->d_name);
		if (knob_read(path, val, sizeof(val)) || !strcmp(val, "1"))
			continue;
		if (knob_write(path, "1")) {
			refused++;
			continue;
		}
		self->flagged = realloc(self->flagged, (self->nflagged + 1) *
					sizeof(*self->flagged));
		if (!self->flagged)
			break;
		self->flagged[self->nflagged++] = strdup(path);
	}
	closedir(dir);
	return self->flagged ? refused : -ENOMEM;
}

FIXTURE_SETUP(failnth)
{
	unsigned int i;
	int err;

	self->nth = -1;
	/* Not a skip: the VM runs this test only where it must work. */
	ASSERT_EQ(0, geteuid()) TH_LOG("the sweep needs root");
	self->nth = open(failnth_path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->nth)
		TH_LOG("%s: %s: the kernel has no CONFIG_FAULT_INJECTION",
		       failnth_path, strerror(errno));
	err = flag_caches(self);
	ASSERT_LE(0, err) TH_LOG("%s: %s", SLAB_DIR, strerror(-err));
	if (err)
		TH_LOG("%d caches could not be flagged for FAILSLAB", err);
	for (i = 0; i < ARRAY_SIZE(knobs); i++) {
		err = knob_read(knobs[i].path, self->saved[i],
				sizeof(self->saved[i]));
		if (err == -ENOENT && knobs[i].optional)
			continue;
		ASSERT_EQ(0, err) TH_LOG("%s: %s (FAILSLAB and debugfs?)",
					 knobs[i].path, strerror(-err));
		ASSERT_EQ(0, knob_write(knobs[i].path, knobs[i].value))
			TH_LOG("cannot write %s", knobs[i].path);
	}
	self->buf = malloc(LARGE + HDR_LEN);
	self->rbuf = malloc(LARGE + HDR_LEN);
	ASSERT_TRUE(self->buf && self->rbuf);
	/* Faulted in now: a page fault under fail-nth could fail a copy. */
	memset(self->buf, 0, LARGE + HDR_LEN);
	memset(self->rbuf, 0, LARGE + HDR_LEN);
	signal(SIGPIPE, SIG_IGN);
	/* socket() autoloads the module: count after. */
	close(mm_socket(SOCK_DGRAM));
}

FIXTURE_TEARDOWN(failnth)
{
	unsigned int i;
	int k;

	for (i = 0; i < ARRAY_SIZE(knobs); i++)
		if (self->saved[i][0])
			knob_write(knobs[i].path, self->saved[i]);
	for (k = 0; k < self->nflagged; k++) {
		knob_write(self->flagged[k], "0");
		free(self->flagged[k]);
	}
	free(self->flagged);
	if (self->nth >= 0)
		close(self->nth);
	free(self->buf);
	free(self->rbuf);
}

/*
 * Arm fail-nth for the n-th fail point.  Plain pwrite()/pread() on a
 * descriptor opened beforehand: nothing between arming and the call
 * allocates in the kernel.
 */
static int nth_arm(int fd, int n)
{
	char v[16];
	int len = snprintf(v, sizeof(v), "%d", n);

	return pwrite(fd, v, len, 0) == len ? 0 : -1;
}

/* Read fail-nth back (0: the fault was injected) and disarm it. */
static int nth_disarm(int fd)
{
	char v[16] = "";
	ssize_t n = pread(fd, v, sizeof(v) - 1, 0);

	if (pwrite(fd, "0", 1, 0) != 1 || n <= 0)
		return -1;
	return atoi(v);
}

/* Errnos seen in a sweep, how often, and at which n. */
struct tally {
	int err[8];
	int count[8];
	int ok;		/* runs that succeeded although a fault was injected */
	char where[512];	/* "n errno" of each failed run */
	size_t len;
};

static void tally_add(struct tally *t, int n, int err)
{
	unsigned int i;

	if (!err) {
		t->ok++;
		return;
	}
	if (t->len < sizeof(t->where))
		t->len += snprintf(t->where + t->len, sizeof(t->where) - t->len,
				   "%s%d %s", t->len ? ", " : "", n,
				   errname(err));
	for (i = 0; i < ARRAY_SIZE(t->err); i++) {
		if (!t->err[i])
			t->err[i] = err;
		if (t->err[i] == err) {
			t->count[i]++;
			return;
		}
	}
}

static const char *tally_str(const struct tally *t, char *s, size_t size)
{
	unsigned int i;
	size_t len = 0;

	s[0] = 0;
	for (i = 0; i < ARRAY_SIZE(t->err) && t->err[i]; i++)
		len += snprintf(s + len, size - len, "%s%s x%d",
				i ? ", " : "", errname(t->err[i]),
				t->count[i]);
	if (!i)
		snprintf(s, size, "none");
	return s;
}

static bool allowed(const int *errnos, int err)
{
	for (; *errnos; errnos++)
		if (*errnos == err)
			return true;
	return false;
}

static void sweep(struct __test_metadata *_metadata,
		  FIXTURE_DATA(failnth) *self, const struct op *op)
{
	struct ledger before, after;
	struct tally t = {};
	int n, left, err, bad = 0, points = -1;
	const char *leak;
	struct env e;
	char s[160];
	long ret;

	ledger_read(&before);
	for (n = 1; n <= MAX_NTH && points < 0; n++) {
		env_init(&e, self->buf, self->rbuf);
		if (op->prepare(&e, op)) {
			EXPECT_TRUE(0) TH_LOG("%s n=%d: setup: %s", op->name, n,
					      e.note);
			env_done(&e);
			break;
		}
		ASSERT_EQ(0, nth_arm(self->nth, n));
		errno = 0;
		ret = op->call(&e, op);
		err = ret < 0 ? errno : 0;
		left = nth_disarm(self->nth);
		ASSERT_LE(0, left) TH_LOG("%s: cannot read back", failnth_path);

		e.note[0] = 0;
		if (left) {
			/* It ended before its n-th fail point: done. */
			points = n - 1;
			if (ret < 0)
				snprintf(e.note, sizeof(e.note),
					 "failed with no fault injected: %s",
					 errname(err));
		} else {
			tally_add(&t, n, err);
			if (ret < 0 && !allowed(op->errnos, err))
				snprintf(e.note, sizeof(e.note),
					 "returned %s", errname(err));
		}
		if (!e.note[0])
			op->check(&e, op, ret, err);
		env_done(&e);
		leak = ledger_back_to(&before, &after);
		if (!e.note[0] && leak)
			snprintf(e.note, sizeof(e.note),
				 "left %s behind: fds %d->%d, lines %d->%d, sockets %d->%d, module refs %d->%d, BPF %d->%d",
				 leak, before.fds, after.fds, before.objects,
				 after.objects, before.sockets, after.sockets,
				 before.modrefs, after.modrefs, before.progs,
				 after.progs);
		if (e.note[0]) {
			if (bad++ < MAX_LOGGED)
				TH_LOG("%s n=%d (%s): %s", op->name, n,
				       left ? "no fault" : errname(err), e.note);
			/* Judge the next run from where this one left. */
			before = after;
		}
	}
	EXPECT_LE(0, points) TH_LOG("%s: still failing at n=%d", op->name,
				    MAX_NTH);
	EXPECT_EQ(0, bad) TH_LOG("%s: %d runs went wrong", op->name, bad);
	TH_LOG("%s: %d failure points; failed with %s; succeeded anyway %d",
	       op->name, points, tally_str(&t, s, sizeof(s)), t.ok);
	TH_LOG("%s: failed at n = %s", op->name, t.len ? t.where : "none");
}

#define SWEEP(name, op) \
	TEST_F_TIMEOUT(failnth, name, 180) \
	{ \
		sweep(_metadata, self, &(op)); \
	}

SWEEP(socket_seqpacket, op_socket_seq)
SWEEP(socket_dgram, op_socket_dgram)
SWEEP(attach, op_attach)
SWEEP(attachx, op_attachx)
SWEEP(attach_bpf, op_attach_bpf)
SWEEP(connect_seqpacket, op_connect_seq)
SWEEP(connect_dgram, op_connect_dgram)
SWEEP(sendmsg_small, op_send_small)
SWEEP(sendmsg_large, op_send_large)
SWEEP(clone, op_clone)
SWEEP(listen, op_listen)
SWEEP(accept, op_accept)
SWEEP(recvmsg, op_recv)

TEST_HARNESS_MAIN
