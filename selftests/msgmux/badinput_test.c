// SPDX-License-Identifier: GPL-2.0
/*
 * badinput_test - every entry point of msgmux with bad arguments.
 *
 * A table: one row per call, with the state the call is made in (a setup
 * kind), the call, and the return value and errno it must give.  The
 * expectations come from the kernel-doc "Return:" sections in kmod/ and
 * from Documentation/socket-api.rst and user-guide.rst; where the generic
 * socket layer answers before msgmux does (a bad pointer, a negative or
 * huge length), from net/socket.c, and the row's comment says so.
 *
 * After each row the socket must still do its job, as far as its setup
 * allows: one message each way on its connection, or on a TCP pair
 * attached afterwards, or an accept() and a message; a rejected setting
 * must have left the framing as it was.  Then everything the row made is
 * closed, and nothing may be left behind: no file descriptor, and no
 * mux, socket or connection line in /proc/net/msgmux.  The VM's verdict
 * fails the run on any kernel warning, so a row that upsets the kernel
 * fails the run too.
 *
 * Every row also checks SIGPIPE: a send that fails with EPIPE raises it
 * (unless MSG_NOSIGNAL), nothing else does.
 *
 * Malformed lengths on the wire are rows as well: the peer of an attached
 * TCP socket writes them, and the errno is the error that the connection
 * notification (struct msgmux_conn_error, read with MSG_ERRQUEUE)
 * carries; its reason and the TCP socket's SO_ERROR must agree with it,
 * and the msgmux socket's SO_ERROR stays 0.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/sockios.h>

#include "harness.h"
#include "libmsgmux.h"
#include "util.h"

#define SA(p)		((struct sockaddr *)(p))
#ifndef TCP_ULP
#define TCP_ULP		31
#endif
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP	262
#endif

#define SIN_LEN		((long)sizeof(struct sockaddr_in))
#define SIN6_LEN	((long)sizeof(struct sockaddr_in6))
#define SMM_LEN		((long)sizeof(struct sockaddr_msgmux))
#define FRAMING_LEN	((long)sizeof(struct msgmux_framing))

/* A file descriptor number above any RLIMIT_NOFILE: never open. */
#define NOT_OPEN	1000000

/* The setup's message on the mux (S_DGRAM_MSG). */
#define QUEUED		"queued"

/* ---- what a row needs: the state, the call, the arguments ---------------- */

/* The state the call is made in. */
enum setup {
	S_NONE,		/* no socket: socket() itself is the call */
	S_SEQ,		/* a new SOCK_SEQPACKET mux, nothing else */
	S_DGRAM,	/* a new SOCK_DGRAM mux */
	S_SEQ_BOUND,	/* bound to 127.0.0.1, port 0 */
	S_DGRAM_BOUND,
	S_SEQ_ATT,	/* a TCP pair: e->a attached (ATTACHX), e->b peer */
	S_DGRAM_ATT,
	S_DGRAM_MSG,	/* S_DGRAM_ATT, and a message (QUEUED) on the mux */
	S_SEQ_LISTEN,	/* bound to 127.0.0.1 and listening */
	S_DGRAM_LISTEN,
	S_SEQ_CONN,	/* connect()ed to a TCP listener; e->b accepted */
	S_DGRAM_CONN,
	S_WIRE,		/* S_DGRAM_ATT with the row's framing */
};

/* What must still work after the call; P_AUTO: what the setup allows. */
enum post {
	P_AUTO,
	P_RECV_ONLY,	/* the mux still receives (it shut down sending) */
	P_TCP_ATTACH,	/* the row's TCP socket (F_TCP) attaches, works */
	P_CONN,		/* the call's connection (peer e->b) works */
	P_NONE,		/* nothing: the call ended the socket's use */
};

/* Addresses for bind(), connect(), sendto() and sendmsg(). */
enum addr {
	A_NULL,		/* a NULL pointer */
	A_UNMAPPED,	/* a pointer to a page that is not mapped */
	A_LO,		/* 127.0.0.1, port 0 */
	A_LO6,		/* ::1, port 0 */
	A_UNSPEC,	/* AF_UNSPEC */
	A_UNIX,		/* AF_UNIX */
	A_MSGMUX,	/* a struct sockaddr_msgmux: msgmux's own family */
	A_REMOTE,	/* 192.0.2.1 (TEST-NET-1): not a local address */
	A_IN_USE,	/* the address of a TCP listener */
	A_REFUSED,	/* a port TCP has bound but does not listen on */
	A_LO6_REFUSED,	/* the same over IPv6 */
	A_SMM,		/* sockaddr_msgmux: the setup's connection */
	A_SMM_ANY,	/* sockaddr_msgmux: conn id 0, any connection */
	A_SMM_INET,	/* sockaddr_msgmux with smm_family AF_INET */
	A_SMM_RESERVED,	/* sockaddr_msgmux with smm_reserved 1 */
	A_SMM_UNKNOWN,	/* sockaddr_msgmux naming conn id 4242 */
};

/* File descriptors for listen(), accept() and the ioctls. */
enum fdk {
	F_MUX,		/* the setup's msgmux socket */
	F_NEG,		/* -1 */
	F_NOT_OPEN,	/* NOT_OPEN */
	F_DEVNULL,	/* /dev/null */
	F_PIPE,		/* a pipe */
	F_BPF,		/* a BPF program */
	F_UDP,		/* an unconnected UDP socket */
	F_UDP_CONN,	/* a connected UDP socket */
	F_UNIX,		/* an AF_UNIX stream socket, connected */
	F_TCP_LISTEN,	/* a listening TCP socket */
	F_TCP6_LISTEN,	/* the same, IPv6 */
	F_TCP_UNCONN,	/* a TCP socket that never connected */
	F_TCP_RESET,	/* a TCP socket whose peer reset it: CLOSE */
	F_TCP_TLS,	/* a connected TCP socket with the "tls" ULP */
	F_MPTCP,	/* an MPTCP socket */
	F_TCP,		/* a connected TCP socket (e->t, peer e->tp) */
	F_TCP_ATT,	/* e->a, attached to the setup's mux */
	F_TCP_OTHER,	/* a TCP socket attached to another mux */
	F_MUX_OTHER,	/* another msgmux socket */
};

/* bpf_fd of an attach. */
enum bpfk {
	B_NONE,		/* -1: the built-in framing */
	B_NEG,		/* -2 */
	B_NOT_OPEN,	/* NOT_OPEN */
	B_DEVNULL,	/* /dev/null: not a BPF program */
	B_SOCKET,	/* a UDP socket: not a BPF program */
	B_SCHED_CLS,	/* a BPF program of another type */
};

/* Pointers given to a call. */
enum ptr {
	P_OK,		/* a good buffer */
	P_NULL,		/* NULL */
	P_UNMAPPED,	/* a page that is not mapped */
	P_RO,		/* a read-only page holding the right contents */
};

/* Malformed message headers for sendmsg(), recvmsg() and the mmsg calls. */
enum mh {
	MH_NAMELEN_NEG,		/* msg_namelen -1 */
	MH_NAMELEN_SHORT,	/* msg_namelen 8 */
	MH_NAMELEN_HUGE,	/* msg_namelen 1000 (> sockaddr_storage) */
	MH_NAME_UNMAPPED,	/* msg_name unmapped, msg_namelen 36 */
	MH_IOV_NULL,		/* msg_iov NULL, msg_iovlen 1 */
	MH_IOVLEN_HUGE,		/* msg_iovlen 1025 (> UIO_MAXIOV) */
	MH_BASE_NULL,		/* one iovec: NULL, 16 bytes */
	MH_CONTROL_NULL,	/* msg_control NULL, msg_controllen 64 */
	MH_FLAGS,		/* good, with the row's flags */
	MH_VEC_NULL,		/* mmsg: the vector is NULL */
	MH_SECOND_BAD,		/* mmsg: the second entry's address bad */
	MH_TIMEOUT_BAD,		/* recvmmsg: tv_nsec 2000000000 */
	MH_TIMEOUT_UNMAPPED,	/* recvmmsg: the timeout is not mapped */
	MH_ADDRLEN_NEG,		/* recvfrom: *addrlen -1 */
	MH_ADDRLEN_NULL,	/* recvfrom: addrlen NULL */
};

struct env;
struct row;

typedef long (*call_fn)(struct env *e, const struct row *r);

/**
 * struct row - one call with bad arguments and what it must return
 * @name: the row's name in the log.
 * @setup: the state the call is made in.
 * @call: the call; returns what the system call returned, with errno, or
 *	-2 (never expected) when something around it went wrong, with
 *	&env.note saying what.
 * @type: socket()'s type.  @level, @cmd, @how, @mh: the option level,
 *	the ioctl, shutdown()'s how, the malformed message header.
 * @proto: socket()'s protocol.  @optname, @fd, @addr: the option, the
 *	file descriptor, the address.
 * @len: a length: of the address, option or buffer; listen()'s
 *	backlog; for accept(), 1 to make the listener non-blocking.
 * @flags: send and receive flags, accept4() flags, ATTACHX's flags;
 *	getsockopt()'s optlen pointer (an &enum ptr); 1 for getpeername()
 *	rather than getsockname(), and for a wire row whose peer closes
 *	after writing.
 * @bpf: the attach's bpf_fd.
 * @ptr: the buffer or argument pointer.
 * @reserved: ATTACHX's reserved field.
 * @val: the option value, or the bytes a wire row's peer writes (@len).
 * @frame: a wire row's framing.
 * @reason: a wire row's expected &msgmux_conn_error.reason.
 * @post: what must still work afterwards.
 * @sigpipe: the call raises SIGPIPE.
 * @ret: the expected return value.
 * @err: the expected errno when @ret is -1.
 */
struct row {
	const char *name;
	enum setup setup;
	call_fn call;
	union {
		int type;
		int level;
		unsigned int cmd;
		int how;
		enum mh mh;
	};
	union {
		int proto;
		int optname;
		enum fdk fd;
		enum addr addr;
	};
	long len;
	int flags;
	enum bpfk bpf;
	enum ptr ptr;
	unsigned long long reserved;
	const void *val;
	const struct msgmux_framing *frame;
	unsigned int reason;
	enum post post;
	bool sigpipe;
	long ret;
	int err;
};

#define FAILS(e)	.ret = -1, .err = (e)
#define RETURNS(n)	.ret = (n), .err = 0

/* Everything a row made, closed when it is done. */
struct env {
	int mux;		/* the msgmux socket under test */
	int a, b;		/* its connection: ours, and the peer */
	int t, tp;		/* F_TCP: a connected TCP socket, its peer */
	uint32_t conn_id;	/* the connection's id in the mux */
	struct sockaddr_in self; /* the mux's bound or listening address */
	int fds[16];		/* everything else to close */
	int nfds;
	char note[256];		/* what went wrong, for the log */
};

/*
 * Option values.  int options read 4 bytes, the framing 16; the "long"
 * rows pass twice as much.
 */
static const int zero_int[2];
static const int minus_one[2] = { -1, 0 };
static const int one_int[2] = { 1, 0 };
static const int limit_int[2] = { MSGMUX_DEFAULT_ACCEPT_LIMIT, 0 };
static const struct msgmux_framing default_framing[2] = {
	{ .len_size = 4 },
};

static char *unmapped;		/* PROT_NONE: every access faults */
static char *ro_page;		/* read-only, but for fill_ro() */
static char big[MSGMUX_DEFAULT_MAX_SIZE + 64];
static char scratch[256];

static long note(struct env *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->note, sizeof(e->note), fmt, ap);
	va_end(ap);
	return -2;
}

static int keep(struct env *e, int fd)
{
	if (fd >= 0 && e->nfds < (int)ARRAY_SIZE(e->fds))
		e->fds[e->nfds++] = fd;
	return fd;
}

static const char *errname(int err)
{
	const char *s = err ? strerrorname_np(err) : "0";

	return s ? s : "?";
}

/* Put @len bytes of @src at the start of the read-only page. */
static void *fill_ro(const void *src, size_t len)
{
	mprotect(ro_page, getpagesize(), PROT_READ | PROT_WRITE);
	memcpy(ro_page, src, len);
	mprotect(ro_page, getpagesize(), PROT_READ);
	return ro_page;
}

static void *pointer(enum ptr p, void *good, size_t len)
{
	switch (p) {
	case P_NULL:
		return NULL;
	case P_UNMAPPED:
		return unmapped;
	case P_RO:
		return fill_ro(good, len);
	default:
		return good;
	}
}

/* Nothing a row does may block for good. */
static int mm_socket(int type)
{
	return mm_socket_bounded(type);
}

static socklen_t lo4(struct sockaddr_in *sin, uint16_t port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = htons(port);
	return sizeof(*sin);
}

/* A TCP socket bound to loopback and, if @backlog, listening. */
static int tcp_bound(struct env *e, int family, int backlog,
		     struct sockaddr_storage *ss)
{
	socklen_t len = loopback_addr(family, 0, ss);
	int fd = keep(e, socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));

	if (fd < 0 || bind(fd, SA(ss), len) ||
	    (backlog && listen(fd, backlog)) ||
	    getsockname(fd, SA(ss), &len))
		return -1;
	return fd;
}

/*
 * An address of kind @k in @ss, or the pointer to use instead; TCP
 * sockets it needs are kept in @e.
 */
static void *make_addr(struct env *e, enum addr k,
		       struct sockaddr_storage *ss)
{
	struct sockaddr_msgmux *smm = (struct sockaddr_msgmux *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)ss;

	memset(ss, 0, sizeof(*ss));
	switch (k) {
	case A_NULL:
		return NULL;
	case A_UNMAPPED:
		return unmapped;
	case A_LO:
		lo4(sin, 0);
		break;
	case A_LO6:
		loopback_addr(AF_INET6, 0, ss);
		break;
	case A_UNSPEC:
		lo4(sin, 0);
		sin->sin_family = AF_UNSPEC;
		break;
	case A_UNIX:
		sun->sun_family = AF_UNIX;
		snprintf(sun->sun_path, sizeof(sun->sun_path), "/nonexistent");
		break;
	case A_MSGMUX:
		smm->smm_family = msgmux_family();
		smm->smm_conn_id = 1;
		break;
	case A_REMOTE:
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(0xc0000201);
		break;
	case A_IN_USE:
	case A_REFUSED:
	case A_LO6_REFUSED:
		if (tcp_bound(e, k == A_LO6_REFUSED ? AF_INET6 : AF_INET,
			      k == A_IN_USE ? 8 : 0, ss) < 0) {
			/* The row fails, and says why. */
			note(e, "no TCP socket for the address: %s",
			     strerrorname_np(errno));
			return unmapped;
		}
		break;
	case A_SMM:
	case A_SMM_ANY:
	case A_SMM_INET:
	case A_SMM_RESERVED:
	case A_SMM_UNKNOWN:
		smm->smm_family = k == A_SMM_INET ? AF_INET : msgmux_family();
		smm->smm_reserved = k == A_SMM_RESERVED;
		smm->smm_conn_id = k == A_SMM_UNKNOWN ? 4242 :
				   k == A_SMM_ANY ? 0 : e->conn_id;
		break;
	}
	return ss;
}

/* A BPF program of @type that returns 0; -1 if it cannot be loaded. */
static int bpf_ret0(int type)
{
	static const struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = type;
	attr.insns = (uintptr_t)prog;
	attr.insn_cnt = ARRAY_SIZE(prog);
	attr.license = (uintptr_t)"GPL";
	return syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
}

/* A TCP socket in CLOSE: its peer closed with SO_LINGER { 1, 0 }. */
static int tcp_reset(struct env *e)
{
	struct linger lg = { 1, 0 };
	int x, y;

	if (tcp_pair(AF_INET, &x, &y))
		return -1;
	keep(e, x);
	setsockopt(y, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(y);
	if (!(poll_events(x, POLLIN, WAIT_MS) & (POLLHUP | POLLERR)))
		return -1;
	return x;
}

/* A file descriptor of kind @k, kept for closing; < 0 if none was made. */
static int make_fd_kind(struct env *e, enum fdk k)
{
	struct sockaddr_storage ss;
	struct sockaddr_in sin;
	int p[2], fd, x, y;

	switch (k) {
	case F_MUX:
		return e->mux;
	case F_NEG:
		return -1;
	case F_NOT_OPEN:
		return NOT_OPEN;
	case F_DEVNULL:
		return keep(e, open("/dev/null", O_RDWR | O_CLOEXEC));
	case F_PIPE:
		if (pipe2(p, O_CLOEXEC))
			return -2;
		keep(e, p[1]);
		return keep(e, p[0]);
	case F_BPF:
		return keep(e, bpf_ret0(BPF_PROG_TYPE_SOCKET_FILTER));
	case F_UDP:
		return keep(e, socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	case F_UDP_CONN:
		fd = keep(e, socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
		if (fd < 0 || connect(fd, SA(&sin), lo4(&sin, 9)))
			return -2;
		return fd;
	case F_UNIX:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p))
			return -2;
		keep(e, p[1]);
		return keep(e, p[0]);
	case F_TCP_LISTEN:
		return tcp_bound(e, AF_INET, 8, &ss);
	case F_TCP6_LISTEN:
		return tcp_bound(e, AF_INET6, 8, &ss);
	case F_TCP_UNCONN:
		return keep(e, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	case F_TCP_RESET:
		return tcp_reset(e);
	case F_TCP_TLS:
		if (tcp_pair(AF_INET, &x, &y))
			return -2;
		keep(e, y);
		keep(e, x);
		/* Loads tls.ko (the VM stages it). */
		return setsockopt(x, IPPROTO_TCP, TCP_ULP, "tls", 3) ? -2 : x;
	case F_MPTCP:
		return keep(e, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC,
				      IPPROTO_MPTCP));
	case F_TCP:
		if (e->t < 0 && tcp_pair(AF_INET, &e->t, &e->tp))
			return -2;
		return e->t;
	case F_TCP_ATT:
		return e->a;
	case F_TCP_OTHER:
		fd = keep(e, mm_socket(SOCK_DGRAM));
		if (fd < 0 || tcp_pair(AF_INET, &x, &y))
			return -2;
		keep(e, x);
		keep(e, y);
		return mux_attach(MUX_MSGMUX, fd, x, -1) ? -2 : x;
	case F_MUX_OTHER:
		return keep(e, mm_socket(SOCK_SEQPACKET));
	}
	return -2;
}

/* As make_fd_kind(), but -2 (and never F_NEG's -1) if none was made. */
static int make_fd(struct env *e, enum fdk k)
{
	int fd = make_fd_kind(e, k);

	return fd == -1 && k != F_NEG ? -2 : fd;
}

/* A bpf_fd of kind @k, kept for closing; -3 if none could be made. */
static int make_bpf(struct env *e, enum bpfk k)
{
	int fd = -3;

	switch (k) {
	case B_NONE:
		return -1;
	case B_NEG:
		return -2;
	case B_NOT_OPEN:
		return NOT_OPEN;
	case B_DEVNULL:
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		break;
	case B_SOCKET:
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		break;
	case B_SCHED_CLS:
		fd = bpf_ret0(BPF_PROG_TYPE_SCHED_CLS);
		break;
	}
	return keep(e, fd) < 0 ? -3 : fd;
}

/* ---- setups and what must work afterwards ------------------------------- */

/* Wait until @mux can queue a message (a connection is in service). */
static bool mux_writable(int mux)
{
	return poll_events(mux, POLLOUT, WAIT_MS) & POLLOUT;
}

/*
 * One message each way between @mux and @peer, a plain TCP socket that
 * speaks the default framing.  Messages that earlier calls left on the
 * way are skipped.  0, or -2 with the note set.
 */
static long exchange(struct env *e, int mux, int peer)
{
	unsigned char wire[8], buf[256];
	uint32_t n;
	ssize_t k;
	int i;

	if (!mux_writable(mux))
		return note(e, "the mux never polled writable");
	if (send(mux, "ping", 4, 0) != 4)
		return note(e, "send: %s", strerrorname_np(errno));
	for (i = 0; ; i++) {
		if (i == 8 || read_full(peer, wire, 4, WAIT_MS) != 4)
			return note(e, "the peer read no ping");
		n = get_be32(wire);
		if (n > sizeof(buf) || read_full(peer, buf, n, WAIT_MS) != n)
			return note(e, "the peer read a broken frame");
		if (n == 4 && !memcmp(buf, "ping", 4))
			break;
	}
	put_be32(wire, 4);
	memcpy(wire + 4, "pong", 4);
	if (write_full(peer, wire, 8))
		return note(e, "the peer could not write");
	for (i = 0; ; i++) {
		k = recv_wait(mux, buf, sizeof(buf), 0, WAIT_MS);
		if (i == 8 || k < 0)
			return note(e, "recv: %s", strerrorname_np(errno));
		if (k == 4 && !memcmp(buf, "pong", 4))
			return 0;
	}
}

/* Attach a new TCP pair to @mux and exchange a message each way. */
static long attach_works(struct env *e, int mux)
{
	int x, y;

	if (tcp_pair(AF_INET, &x, &y))
		return note(e, "tcp_pair failed");
	keep(e, x);
	keep(e, y);
	if (mux_attach(MUX_MSGMUX, mux, x, -1))
		return note(e, "attach: %s", strerrorname_np(errno));
	return exchange(e, mux, y);
}

static bool framing_is_default(int mux)
{
	struct msgmux_framing f;

	return !framing_get(mux, &f) && f.flags == 0 && f.len_offset == 0 &&
	       f.len_size == 4 && f.reserved == 0 && f.len_adjust == 0 &&
	       f.max_size == MSGMUX_DEFAULT_MAX_SIZE;
}

/* A TCP client connects to the listener; a message each way. */
static long listener_works(struct env *e, const struct row *r)
{
	struct sockaddr_in sin = e->self;
	int c, fd;

	c = keep(e, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	if (c < 0 || connect(c, SA(&sin), sizeof(sin)))
		return note(e, "TCP connect: %s", strerrorname_np(errno));
	if (r->setup == S_DGRAM_LISTEN)
		return exchange(e, e->mux, c);
	if (!(poll_events(e->mux, POLLIN, WAIT_MS) & POLLIN))
		return note(e, "the listener never polled readable");
	fd = keep(e, accept4(e->mux, NULL, NULL, SOCK_CLOEXEC));
	if (fd < 0)
		return note(e, "accept: %s", strerrorname_np(errno));
	return exchange(e, fd, c);
}

static long post_check(struct env *e, const struct row *r)
{
	unsigned char wire[8], buf[16];
	int fd;

	switch (r->post) {
	case P_NONE:
		return 0;
	case P_RECV_ONLY:
		put_be32(wire, 4);
		memcpy(wire + 4, "pong", 4);
		if (write_full(e->b, wire, 8) ||
		    recv_wait(e->mux, buf, sizeof(buf), 0, WAIT_MS) != 4)
			return note(e, "the mux received nothing");
		return 0;
	case P_TCP_ATTACH:
		if (mux_attach(MUX_MSGMUX, e->mux, e->t, -1))
			return note(e, "attach afterwards: %s",
				    strerrorname_np(errno));
		return exchange(e, e->mux, e->tp);
	case P_CONN:
		return exchange(e, e->mux, e->b);
	case P_AUTO:
		break;
	}

	switch (r->setup) {
	case S_NONE:
		fd = mm_socket(SOCK_SEQPACKET);
		if (fd < 0)
			return note(e, "socket: %s", strerrorname_np(errno));
		close(fd);
		return 0;
	case S_SEQ:
	case S_DGRAM:
	case S_SEQ_BOUND:
	case S_DGRAM_BOUND:
		if (!framing_is_default(e->mux))
			return note(e, "the framing changed");
		return attach_works(e, e->mux);
	case S_SEQ_ATT:
	case S_DGRAM_ATT:
	case S_DGRAM_MSG:
		if (!framing_is_default(e->mux))
			return note(e, "the framing changed");
		/* fall through */
	case S_SEQ_CONN:
	case S_DGRAM_CONN:
		return exchange(e, e->mux, e->b);
	case S_SEQ_LISTEN:
	case S_DGRAM_LISTEN:
		return listener_works(e, r);
	case S_WIRE:
		/* EBUSY here would mean the failed connection never left. */
		if (framing_set(e->mux, default_framing))
			return note(e, "framing afterwards: %s",
				    strerrorname_np(errno));
		return attach_works(e, e->mux);
	}
	return 0;
}

static long setup(struct env *e, const struct row *r)
{
	bool dgram = r->setup == S_DGRAM || r->setup == S_DGRAM_BOUND ||
		     r->setup == S_DGRAM_ATT || r->setup == S_DGRAM_MSG ||
		     r->setup == S_DGRAM_LISTEN || r->setup == S_DGRAM_CONN ||
		     r->setup == S_WIRE;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(e->self);
	unsigned char wire[16];
	int lfd;

	if (r->setup == S_NONE)
		return 0;
	e->mux = mm_socket(dgram ? SOCK_DGRAM : SOCK_SEQPACKET);
	if (e->mux < 0)
		return note(e, "socket: %s", strerrorname_np(errno));

	switch (r->setup) {
	case S_SEQ_BOUND:
	case S_DGRAM_BOUND:
	case S_SEQ_LISTEN:
	case S_DGRAM_LISTEN:
		if (bind(e->mux, SA(&e->self), lo4(&e->self, 0)) ||
		    getsockname(e->mux, SA(&e->self), &len))
			return note(e, "bind: %s", strerrorname_np(errno));
		if ((r->setup == S_SEQ_LISTEN || r->setup == S_DGRAM_LISTEN) &&
		    listen(e->mux, 8))
			return note(e, "listen: %s", strerrorname_np(errno));
		return 0;
	case S_WIRE:
		if (framing_set(e->mux, r->frame))
			return note(e, "framing: %s", strerrorname_np(errno));
		/* fall through */
	case S_SEQ_ATT:
	case S_DGRAM_ATT:
	case S_DGRAM_MSG:
		if (tcp_pair(AF_INET, &e->a, &e->b) ||
		    mux_attachx(e->mux, e->a, -1, &e->conn_id))
			return note(e, "attach: %s", strerrorname_np(errno));
		if (r->setup != S_DGRAM_MSG)
			return 0;
		put_be32(wire, strlen(QUEUED));
		memcpy(wire + 4, QUEUED, strlen(QUEUED));
		if (write_full(e->b, wire, 4 + strlen(QUEUED)) ||
		    !(poll_events(e->mux, POLLIN, WAIT_MS) & POLLIN))
			return note(e, "no message queued");
		return 0;
	case S_SEQ_CONN:
	case S_DGRAM_CONN:
		lfd = tcp_bound(e, AF_INET, 8, &ss);
		if (lfd < 0 || connect(e->mux, SA(&ss), SIN_LEN))
			return note(e, "connect: %s", strerrorname_np(errno));
		if (!(poll_events(lfd, POLLIN, WAIT_MS) & POLLIN))
			return note(e, "nothing to accept");
		e->b = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		/* Ids start at 1 in each mux. */
		e->conn_id = 1;
		return e->b < 0 ? note(e, "accept: %s", strerrorname_np(errno))
				: 0;
	default:
		return 0;
	}
}

static void env_init(struct env *e)
{
	memset(e, 0, sizeof(*e));
	e->mux = -1;
	e->a = -1;
	e->b = -1;
	e->t = -1;
	e->tp = -1;
}

static void env_done(struct env *e)
{
	int i;

	for (i = 0; i < e->nfds; i++)
		close(e->fds[i]);
	if (e->mux >= 0)
		close(e->mux);
	if (e->a >= 0)
		close(e->a);
	if (e->b >= 0)
		close(e->b);
	if (e->t >= 0)
		close(e->t);
	if (e->tp >= 0)
		close(e->tp);
}

/* Was SIGPIPE raised (it is blocked) since the last call?  Clears it. */
static bool sigpipe_taken(void)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;
	bool got = false;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	while (sigtimedwait(&set, NULL, &zero) == SIGPIPE)
		got = true;
	return got;
}

/*
 * Leave no descriptor free: RLIMIT_NOFILE at the lowest free one.  The
 * limit was @old.
 */
static int use_up_fds(struct rlimit *old)
{
	struct rlimit rl;
	int fd;

	if (getrlimit(RLIMIT_NOFILE, old))
		return -1;
	fd = fcntl(0, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	close(fd);
	rl = *old;
	rl.rlim_cur = fd;
	return setrlimit(RLIMIT_NOFILE, &rl);
}

/* ---- the calls ----------------------------------------------------------- */

static long c_socket(struct env *e, const struct row *r)
{
	return keep(e, socket(msgmux_family(), r->type, r->proto)) < 0 ?
	       -1 : 0;
}

static long c_bind(struct env *e, const struct row *r)
{
	struct sockaddr_storage ss;

	return bind(e->mux, make_addr(e, r->addr, &ss), r->len);
}

static long c_connect(struct env *e, const struct row *r)
{
	struct sockaddr_storage ss;

	return connect(e->mux, make_addr(e, r->addr, &ss), r->len);
}

static long c_listen(struct env *e, const struct row *r)
{
	int fd = make_fd(e, r->fd);

	if (fd == -2)
		return note(e, "no descriptor of kind %d", r->fd);
	return listen(fd, r->len);
}

/* accept4() on @fd with @flags; with @len 1, on a non-blocking listener. */
static long c_accept(struct env *e, const struct row *r)
{
	int lfd = make_fd(e, r->fd), fd, err;

	if (lfd == -2)
		return note(e, "no descriptor of kind %d", r->fd);
	if (r->len && set_nonblock(lfd, true))
		return note(e, "O_NONBLOCK: %s", strerrorname_np(errno));
	fd = keep(e, accept4(lfd, NULL, NULL, r->flags));
	err = errno;
	if (r->len)
		set_nonblock(lfd, false);
	errno = err;
	return fd < 0 ? -1 : 0;
}

/* shutdown(SHUT_RD) of the listener, then accept(). */
static long c_accept_after_shut_rd(struct env *e, const struct row *r)
{
	if (shutdown(e->mux, SHUT_RD))
		return note(e, "shutdown: %s", strerrorname_np(errno));
	return keep(e, accept4(e->mux, NULL, NULL, SOCK_CLOEXEC)) < 0 ?
	       -1 : 0;
}

static long c_send(struct env *e, const struct row *r)
{
	return send(e->mux, pointer(r->ptr, big, r->len), r->len, r->flags);
}

/* shutdown(SHUT_WR), then a send. */
static long c_send_after_shut_wr(struct env *e, const struct row *r)
{
	if (shutdown(e->mux, SHUT_WR))
		return note(e, "shutdown: %s", strerrorname_np(errno));
	return send(e->mux, "x", 1, r->flags);
}

static long c_sendto(struct env *e, const struct row *r)
{
	struct sockaddr_storage ss;

	return sendto(e->mux, "x", 1, r->flags, make_addr(e, r->addr, &ss),
		      r->len);
}

/* A one-byte message "x" with a well-formed or malformed header. */
static void build_msg(struct env *e, enum mh k, struct msghdr *m,
		      struct iovec *iov, struct sockaddr_storage *ss)
{
	memset(m, 0, sizeof(*m));
	iov->iov_base = "x";
	iov->iov_len = 1;
	m->msg_iov = iov;
	m->msg_iovlen = 1;
	m->msg_name = make_addr(e, A_SMM, ss);
	m->msg_namelen = SMM_LEN;
	switch (k) {
	case MH_NAMELEN_NEG:
		m->msg_namelen = -1;
		break;
	case MH_NAMELEN_SHORT:
		m->msg_namelen = 8;
		break;
	case MH_NAMELEN_HUGE:
		m->msg_namelen = 1000;
		break;
	case MH_NAME_UNMAPPED:
		m->msg_name = unmapped;
		break;
	case MH_IOV_NULL:
		m->msg_iov = NULL;
		break;
	case MH_IOVLEN_HUGE:
		m->msg_iovlen = 1025;
		break;
	case MH_BASE_NULL:
		iov->iov_base = NULL;
		iov->iov_len = 16;
		break;
	case MH_CONTROL_NULL:
		m->msg_controllen = 64;
		break;
	default:
		break;
	}
}

static long c_sendmsg(struct env *e, const struct row *r)
{
	struct sockaddr_storage ss;
	struct iovec iov;
	struct msghdr m;

	build_msg(e, r->mh, &m, &iov, &ss);
	return sendmsg(e->mux, &m, r->flags);
}

static long c_sendmmsg(struct env *e, const struct row *r)
{
	struct sockaddr_storage ss[2];
	struct mmsghdr v[2];
	struct iovec iov[2];
	unsigned char wire[5];

	memset(v, 0, sizeof(v));
	build_msg(e, r->mh == MH_SECOND_BAD ? MH_FLAGS : r->mh,
		  &v[0].msg_hdr, &iov[0], &ss[0]);
	build_msg(e, MH_FLAGS, &v[1].msg_hdr, &iov[1], &ss[1]);
	if (r->mh == MH_VEC_NULL)
		return sendmmsg(e->mux, NULL, 2, r->flags);
	if (r->mh != MH_SECOND_BAD)
		return sendmmsg(e->mux, v, 1, r->flags);

	/* The first is sent: sendmmsg() returns 1, the error is dropped. */
	make_addr(e, A_SMM_RESERVED, &ss[1]);
	if (sendmmsg(e->mux, v, 2, r->flags) != 1)
		return note(e, "sendmmsg: %s", strerrorname_np(errno));
	if (read_full(e->b, wire, 5, WAIT_MS) != 5 || wire[4] != 'x')
		return note(e, "the peer did not get the first message");
	return 1;
}

static long c_recv(struct env *e, const struct row *r)
{
	return recv(e->mux, pointer(r->ptr, scratch, r->len), r->len,
		    r->flags);
}

static long c_recvfrom(struct env *e, const struct row *r)
{
	struct sockaddr_msgmux from;
	socklen_t len = -1;

	switch (r->mh) {
	case MH_ADDRLEN_NEG:
		return recvfrom(e->mux, scratch, sizeof(scratch), r->flags,
				SA(&from), &len);
	case MH_ADDRLEN_NULL:
		return recvfrom(e->mux, scratch, sizeof(scratch), r->flags,
				SA(&from), NULL);
	default:
		len = SMM_LEN;
		return recvfrom(e->mux, scratch, sizeof(scratch), r->flags,
				SA(unmapped), &len);
	}
}

static long c_recvmsg(struct env *e, const struct row *r)
{
	struct sockaddr_storage ss;
	struct iovec iov;
	struct msghdr m;

	build_msg(e, r->mh, &m, &iov, &ss);
	/* Receive into the row's buffer, unless the iovec is the fault. */
	if (iov.iov_base) {
		iov.iov_base = pointer(r->ptr, scratch, sizeof(scratch));
		iov.iov_len = sizeof(scratch);
	}
	return recvmsg(e->mux, &m, r->flags);
}

static long c_recvmmsg(struct env *e, const struct row *r)
{
	struct timespec ts = { 0, 2000000000 }, *tp = NULL;
	struct sockaddr_storage ss;
	struct iovec iov;
	struct mmsghdr v;

	memset(&v, 0, sizeof(v));
	build_msg(e, r->mh == MH_BASE_NULL ? MH_BASE_NULL : MH_FLAGS,
		  &v.msg_hdr, &iov, &ss);
	if (iov.iov_base) {
		iov.iov_base = scratch;
		iov.iov_len = sizeof(scratch);
	}
	switch (r->mh) {
	case MH_VEC_NULL:
		return recvmmsg(e->mux, NULL, 1, r->flags, NULL);
	case MH_TIMEOUT_BAD:
		tp = &ts;
		break;
	case MH_TIMEOUT_UNMAPPED:
		tp = (struct timespec *)unmapped;
		break;
	default:
		break;
	}
	return recvmmsg(e->mux, &v, 1, r->flags, tp);
}

static long c_setsockopt(struct env *e, const struct row *r)
{
	return setsockopt(e->mux, r->level, r->optname,
			  r->ptr == P_NULL ? NULL : r->val, r->len);
}

/* getsockopt(); on success returns the length it reported. */
static long c_getsockopt(struct env *e, const struct row *r)
{
	socklen_t len = r->len;
	void *lenp = &len;

	if (r->flags)
		lenp = r->flags == P_NULL ? NULL : unmapped;
	if (getsockopt(e->mux, r->level, r->optname,
		       pointer(r->ptr, scratch, sizeof(scratch)), lenp))
		return -1;
	return len;
}

static long c_attach(struct env *e, const struct row *r)
{
	struct msgmux_attach_ext x = {
		.bpf_fd = make_bpf(e, r->bpf),
		.flags = r->flags,
		.reserved = r->reserved,
	};

	x.fd = make_fd(e, r->fd);
	if (x.fd == -2 || x.bpf_fd == -3)
		return note(e, "could not make the descriptors: %s",
			    strerrorname_np(errno));
	return ioctl(e->mux, r->cmd, pointer(r->ptr, &x, sizeof(x)));
}

static long c_unattach(struct env *e, const struct row *r)
{
	struct msgmux_unattach u = { .fd = make_fd(e, r->fd) };

	if (u.fd == -2)
		return note(e, "no descriptor of kind %d", r->fd);
	return ioctl(e->mux, SIOCMSGMUXUNATTACH,
		     pointer(r->ptr, &u, sizeof(u)));
}

static long c_clone(struct env *e, const struct row *r)
{
	struct msgmux_clone c = { .fd = -1 };
	long ret = ioctl(e->mux, SIOCMSGMUXCLONE,
			 pointer(r->ptr, &c, sizeof(c)));

	if (!ret)
		keep(e, c.fd);
	return ret;
}

static long c_ioctl(struct env *e, const struct row *r)
{
	memset(scratch, 0, sizeof(scratch));
	return ioctl(e->mux, r->cmd, pointer(r->ptr, scratch,
					     sizeof(scratch)));
}

static long c_shutdown(struct env *e, const struct row *r)
{
	int fd = make_fd(e, r->fd);

	if (fd == -2)
		return note(e, "no descriptor of kind %d", r->fd);
	return shutdown(fd, r->how);
}

static long c_getname(struct env *e, const struct row *r)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	void *addr = pointer(r->ptr, &ss, sizeof(ss));

	if (r->flags)
		return getpeername(e->mux, addr, &len);
	return getsockname(e->mux, addr, &len);
}

/*
 * The peer writes the row's bytes (and closes, with @flags); the mux must
 * then report the connection's failure on its error queue.  Returns -1
 * with the notification's error in errno, or what recvmsg() returned.
 */
static long c_wire(struct env *e, const struct row *r)
{
	struct msgmux_conn_error ce;
	struct sockaddr_msgmux from;
	struct iovec iov = { &ce, sizeof(ce) };
	struct msghdr m = {
		.msg_name = &from, .msg_namelen = sizeof(from),
		.msg_iov = &iov, .msg_iovlen = 1,
	};
	int so_error;
	long n;

	if (write_full(e->b, r->val, r->len))
		return note(e, "the peer could not write");
	if (r->flags)
		shutdown(e->b, SHUT_WR);
	if (!(poll_events(e->mux, 0, WAIT_MS) & POLLERR))
		return note(e, "no POLLERR");
	iov.iov_base = pointer(r->ptr, &ce, sizeof(ce));
	n = recvmsg(e->mux, &m, MSG_ERRQUEUE | MSG_DONTWAIT);
	if (n != sizeof(ce))
		return n;
	so_error = sockopt_int(e->a, SO_ERROR);
	if (ce.conn_id != e->conn_id || from.smm_conn_id != e->conn_id)
		return note(e, "conn id %u, address %u, not %u", ce.conn_id,
			    from.smm_conn_id, e->conn_id);
	if (ce.reason != r->reason)
		return note(e, "reason %u, not %u (error %s)", ce.reason,
			    r->reason, errname(ce.error));
	/* The framing error is posted on the TCP socket too, as KCM does. */
	if (r->reason != MSGMUX_CONN_CLOSED && so_error != ce.error)
		return note(e, "SO_ERROR %s, notification %s",
			    errname(so_error), errname(ce.error));
	/* It is not the msgmux socket's error. */
	so_error = sockopt_int(e->mux, SO_ERROR);
	if (so_error)
		return note(e, "the mux's SO_ERROR is %s", errname(so_error));
	errno = ce.error;
	return -1;
}

static long c_socketpair(struct env *e, const struct row *r)
{
	int sv[2];

	if (socketpair(msgmux_family(), r->type, r->proto, sv))
		return -1;
	keep(e, sv[0]);
	keep(e, sv[1]);
	return 0;
}

static long c_mmap(struct env *e, const struct row *r)
{
	void *p = mmap(NULL, getpagesize(), PROT_READ, MAP_SHARED, e->mux, 0);

	if (p == MAP_FAILED)
		return -1;
	munmap(p, getpagesize());
	return 0;
}

/* write(); with @flags, on a non-blocking file. */
static long c_write(struct env *e, const struct row *r)
{
	long ret;

	if (r->flags)
		set_nonblock(e->mux, true);
	ret = write(e->mux, pointer(r->ptr, big, r->len), r->len);
	if (r->flags)
		set_nonblock(e->mux, false);
	return ret;
}

/* read(); with @flags, on a non-blocking file. */
static long c_read(struct env *e, const struct row *r)
{
	long ret;
	int err;

	if (r->flags)
		set_nonblock(e->mux, true);
	ret = read(e->mux, pointer(r->ptr, scratch, r->len), r->len);
	err = errno;
	if (r->flags)
		set_nonblock(e->mux, false);
	errno = err;
	return ret;
}

/*
 * listen() on a socket bound with SO_REUSEADDR to the port of a TCP
 * socket that listens meanwhile: TCP's EADDRINUSE.
 */
static long c_listen_in_use(struct env *e, const struct row *r)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback_addr(AF_INET, 0, &ss);
	int one = 1, t;

	t = keep(e, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	if (t < 0 || setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, 4) ||
	    bind(t, SA(&ss), len) || getsockname(t, SA(&ss), &len) ||
	    setsockopt(e->mux, SOL_SOCKET, SO_REUSEADDR, &one, 4) ||
	    bind(e->mux, SA(&ss), len) || listen(t, 8))
		return note(e, "set up: %s", strerrorname_np(errno));
	return listen(e->mux, 8);
}

/* A connection reset while it waits in the backlog, then accept(). */
static long c_accept_reset(struct env *e, const struct row *r)
{
	struct linger lg = { 1, 0 };
	int c;

	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, SA(&e->self), sizeof(e->self)) ||
	    !(poll_events(e->mux, POLLIN, WAIT_MS) & POLLIN))
		return note(e, "no connection to accept");
	setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(c);
	/* The reset goes over loopback at once; give it a moment. */
	usleep(100 * 1000);
	return keep(e, accept4(e->mux, NULL, NULL, SOCK_CLOEXEC)) < 0 ?
	       -1 : 0;
}

/* A non-blocking connect() to a TCP listener, which accepts it (e->b). */
static long c_connect_nonblock(struct env *e, const struct row *r)
{
	struct sockaddr_storage ss;
	int lfd = tcp_bound(e, AF_INET, 8, &ss);
	long ret;
	int err;

	if (lfd < 0 || set_nonblock(e->mux, true))
		return note(e, "set up: %s", strerrorname_np(errno));
	ret = connect(e->mux, SA(&ss), SIN_LEN);
	err = errno;
	set_nonblock(e->mux, false);
	if (!(poll_events(lfd, POLLIN, WAIT_MS) & POLLIN))
		return note(e, "the connection never came");
	e->b = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	errno = err;
	return ret;
}

/* SIOCMSGMUXCLONE with no descriptor left (RLIMIT_NOFILE). */
static long c_clone_emfile(struct env *e, const struct row *r)
{
	struct msgmux_clone c = { .fd = -1 };
	struct rlimit old;
	long ret;
	int err;

	if (use_up_fds(&old))
		return note(e, "RLIMIT_NOFILE: %s", strerrorname_np(errno));
	ret = ioctl(e->mux, SIOCMSGMUXCLONE, &c);
	err = errno;
	setrlimit(RLIMIT_NOFILE, &old);
	if (!ret)
		keep(e, c.fd);
	errno = err;
	return ret;
}

/* accept() with no descriptor left: the connection waits for the next. */
static long c_accept_emfile(struct env *e, const struct row *r)
{
	struct rlimit old;
	long ret;
	int c, err;

	c = keep(e, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	if (c < 0 || connect(c, SA(&e->self), sizeof(e->self)) ||
	    !(poll_events(e->mux, POLLIN, WAIT_MS) & POLLIN))
		return note(e, "no connection to accept");
	if (use_up_fds(&old))
		return note(e, "RLIMIT_NOFILE: %s", strerrorname_np(errno));
	ret = keep(e, accept4(e->mux, NULL, NULL, SOCK_CLOEXEC));
	err = errno;
	setrlimit(RLIMIT_NOFILE, &old);
	if (ret >= 0)
		return 0;
	/* The connection is still there, and works. */
	e->a = accept4(e->mux, NULL, NULL, SOCK_CLOEXEC);
	if (e->a < 0)
		return note(e, "the connection is gone: %s",
			    strerrorname_np(errno));
	if (exchange(e, e->a, c))
		return -2;
	errno = err;
	return -1;
}

/* The peer breaks the framing; wait until the connection has left. */
static long break_conn(struct env *e, const struct row *r)
{
	if (write_full(e->b, r->val, r->len))
		return note(e, "the peer could not write");
	if (!(poll_events(e->mux, 0, WAIT_MS) & POLLERR))
		return note(e, "no POLLERR");
	return 0;
}

static long c_send_failed(struct env *e, const struct row *r)
{
	return break_conn(e, r) ? : send(e->mux, "x", 1, r->flags);
}

static long c_sendto_failed(struct env *e, const struct row *r)
{
	struct sockaddr_storage ss;

	return break_conn(e, r) ? : sendto(e->mux, "x", 1, r->flags,
					   make_addr(e, A_SMM, &ss), SMM_LEN);
}

static long c_unattach_failed(struct env *e, const struct row *r)
{
	struct msgmux_unattach u = { .fd = e->a };

	return break_conn(e, r) ? : ioctl(e->mux, SIOCMSGMUXUNATTACH, &u);
}

/* ---- the table ----------------------------------------------------------- */

#define FRAMING(...) (&(const struct msgmux_framing){ __VA_ARGS__ })

static const struct row socket_rows[] = {
	/* sock.c msgmux_create(): the type first, then the protocol. */
	{ "socket_stream", S_NONE, c_socket, .type = SOCK_STREAM,
	  FAILS(ESOCKTNOSUPPORT) },
	{ "socket_raw", S_NONE, c_socket, .type = SOCK_RAW,
	  FAILS(ESOCKTNOSUPPORT) },
	{ "socket_rdm", S_NONE, c_socket, .type = SOCK_RDM,
	  FAILS(ESOCKTNOSUPPORT) },
	{ "socket_dccp", S_NONE, c_socket, .type = SOCK_DCCP,
	  FAILS(ESOCKTNOSUPPORT) },
	{ "socket_packet", S_NONE, c_socket, .type = SOCK_PACKET,
	  FAILS(ESOCKTNOSUPPORT) },
	{ "socket_type_0", S_NONE, c_socket, .type = 0,
	  FAILS(ESOCKTNOSUPPORT) },
	/* The socket layer: a type beyond SOCK_MAX, an unknown flag. */
	{ "socket_type_over_max", S_NONE, c_socket, .type = 11,
	  FAILS(EINVAL) },
	{ "socket_unknown_flag", S_NONE, c_socket, .type = SOCK_DGRAM | 0x40,
	  FAILS(EINVAL) },
	{ "socket_proto_tcp", S_NONE, c_socket, .type = SOCK_SEQPACKET,
	  .proto = IPPROTO_TCP, FAILS(EPROTONOSUPPORT) },
	{ "socket_proto_1", S_NONE, c_socket, .type = SOCK_DGRAM,
	  .proto = 1, FAILS(EPROTONOSUPPORT) },
	{ "socket_proto_negative", S_NONE, c_socket, .type = SOCK_DGRAM,
	  .proto = -1, FAILS(EPROTONOSUPPORT) },
	{ "socket_proto_msgmux", S_NONE, c_socket,
	  .type = SOCK_SEQPACKET | SOCK_NONBLOCK, .proto = AF_MSGMUX_DEFAULT,
	  FAILS(EPROTONOSUPPORT) },
	/* user-guide "Other calls": no socketpair(), no mmap(). */
	{ "socketpair_seqpacket", S_NONE, c_socketpair,
	  .type = SOCK_SEQPACKET, FAILS(EOPNOTSUPP) },
	{ "socketpair_dgram", S_NONE, c_socketpair, .type = SOCK_DGRAM,
	  FAILS(EOPNOTSUPP) },
	/* Creating the first socket fails first. */
	{ "socketpair_stream", S_NONE, c_socketpair, .type = SOCK_STREAM,
	  FAILS(ESOCKTNOSUPPORT) },
	{ "socketpair_proto_1", S_NONE, c_socketpair, .type = SOCK_DGRAM,
	  .proto = 1, FAILS(EPROTONOSUPPORT) },
	{ "mmap_seqpacket", S_SEQ_ATT, c_mmap, FAILS(ENODEV) },
	{ "mmap_dgram", S_DGRAM, c_mmap, FAILS(ENODEV) },
};

static const struct row bind_rows[] = {
	/* The socket layer copies the address: EFAULT, or EINVAL. */
	{ "bind_null", S_SEQ, c_bind, .addr = A_NULL, .len = SIN_LEN,
	  FAILS(EFAULT) },
	{ "bind_unmapped", S_SEQ, c_bind, .addr = A_UNMAPPED, .len = SIN_LEN,
	  FAILS(EFAULT) },
	{ "bind_len_huge", S_SEQ, c_bind, .addr = A_LO, .len = 129,
	  FAILS(EINVAL) },
	{ "bind_len_negative", S_SEQ, c_bind, .addr = A_LO, .len = -1,
	  FAILS(EINVAL) },
	/* msgmux_addr_check(): short, EINVAL; not inet, EAFNOSUPPORT. */
	{ "bind_null_len_0", S_SEQ, c_bind, .addr = A_NULL, .len = 0,
	  FAILS(EINVAL) },
	{ "bind_len_1", S_SEQ, c_bind, .addr = A_LO, .len = 1,
	  FAILS(EINVAL) },
	{ "bind_in_short", S_SEQ, c_bind, .addr = A_LO, .len = SIN_LEN - 1,
	  FAILS(EINVAL) },
	{ "bind_in6_short", S_DGRAM, c_bind, .addr = A_LO6, .len = 23,
	  FAILS(EINVAL) },
	{ "bind_unspec", S_SEQ, c_bind, .addr = A_UNSPEC, .len = SIN_LEN,
	  FAILS(EAFNOSUPPORT) },
	{ "bind_unix", S_DGRAM, c_bind, .addr = A_UNIX,
	  .len = sizeof(struct sockaddr_un), FAILS(EAFNOSUPPORT) },
	{ "bind_msgmux_family", S_SEQ, c_bind, .addr = A_MSGMUX,
	  .len = SMM_LEN, FAILS(EAFNOSUPPORT) },
	/* TCP's own errors pass through. */
	{ "bind_not_local", S_SEQ, c_bind, .addr = A_REMOTE, .len = SIN_LEN,
	  FAILS(EADDRNOTAVAIL) },
	{ "bind_in_use", S_DGRAM, c_bind, .addr = A_IN_USE, .len = SIN_LEN,
	  FAILS(EADDRINUSE) },
	/* msgmux_bind(): bound already, listening, connected. */
	{ "bind_twice", S_DGRAM_BOUND, c_bind, .addr = A_LO, .len = SIN_LEN,
	  FAILS(EINVAL) },
	{ "bind_seq_bound", S_SEQ_BOUND, c_bind, .addr = A_LO6,
	  .len = SIN6_LEN, FAILS(EINVAL) },
	{ "bind_listening", S_SEQ_LISTEN, c_bind, .addr = A_LO,
	  .len = SIN_LEN, FAILS(EINVAL) },
	{ "bind_dgram_listening", S_DGRAM_LISTEN, c_bind, .addr = A_LO,
	  .len = SIN_LEN, FAILS(EINVAL) },
	{ "bind_connected", S_SEQ_CONN, c_bind, .addr = A_LO,
	  .len = SIN_LEN, FAILS(EINVAL) },
};

static const struct row connect_rows[] = {
	{ "connect_null", S_SEQ, c_connect, .addr = A_NULL, .len = SIN_LEN,
	  FAILS(EFAULT) },
	{ "connect_unmapped", S_DGRAM, c_connect, .addr = A_UNMAPPED,
	  .len = SIN6_LEN, FAILS(EFAULT) },
	{ "connect_len_huge", S_SEQ, c_connect, .addr = A_LO, .len = 200,
	  FAILS(EINVAL) },
	{ "connect_null_len_0", S_DGRAM, c_connect, .addr = A_NULL, .len = 0,
	  FAILS(EINVAL) },
	{ "connect_in_short", S_SEQ, c_connect, .addr = A_REFUSED,
	  .len = SIN_LEN - 1, FAILS(EINVAL) },
	{ "connect_in6_short", S_SEQ, c_connect, .addr = A_LO6_REFUSED,
	  .len = 23, FAILS(EINVAL) },
	{ "connect_unspec", S_SEQ, c_connect, .addr = A_UNSPEC,
	  .len = SIN_LEN, FAILS(EAFNOSUPPORT) },
	{ "connect_unix", S_DGRAM, c_connect, .addr = A_UNIX,
	  .len = sizeof(struct sockaddr_un), FAILS(EAFNOSUPPORT) },
	{ "connect_msgmux_family", S_SEQ, c_connect, .addr = A_MSGMUX,
	  .len = SMM_LEN, FAILS(EAFNOSUPPORT) },
	/* TCP's errors pass through; a failed connect leaves nothing. */
	{ "connect_refused", S_SEQ, c_connect, .addr = A_REFUSED,
	  .len = SIN_LEN, FAILS(ECONNREFUSED) },
	{ "connect_refused_dgram", S_DGRAM, c_connect, .addr = A_LO6_REFUSED,
	  .len = SIN6_LEN, FAILS(ECONNREFUSED) },
	/* The bound IPv4 TCP socket is the one that connects: TCP's errno. */
	{ "connect_in6_bound_in", S_SEQ_BOUND, c_connect,
	  .addr = A_LO6_REFUSED, .len = SIN6_LEN, FAILS(EAFNOSUPPORT) },
	{ "connect_bound_refused", S_DGRAM_BOUND, c_connect,
	  .addr = A_REFUSED, .len = SIN_LEN, FAILS(ECONNREFUSED) },
	/* msgmux_connect(): one connection in a SOCK_SEQPACKET mux. */
	{ "connect_connected", S_SEQ_CONN, c_connect, .addr = A_REFUSED,
	  .len = SIN_LEN, FAILS(EISCONN) },
	{ "connect_listening", S_SEQ_LISTEN, c_connect, .addr = A_REFUSED,
	  .len = SIN_LEN, FAILS(EISCONN) },
	{ "connect_attached", S_SEQ_ATT, c_connect, .addr = A_REFUSED,
	  .len = SIN_LEN, FAILS(EISCONN) },
	/* Non-blocking: EINPROGRESS, and the connection is made. */
	{ "connect_nonblocking", S_SEQ, c_connect_nonblock,
	  FAILS(EINPROGRESS), .post = P_CONN },
	{ "connect_nonblocking_dgram", S_DGRAM_LISTEN, c_connect_nonblock,
	  FAILS(EINPROGRESS), .post = P_CONN },
};

static const struct row listen_rows[] = {
	{ "listen_bad_fd", S_SEQ, c_listen, .fd = F_NEG, .len = 8,
	  FAILS(EBADF) },
	{ "listen_not_socket", S_SEQ, c_listen, .fd = F_DEVNULL, .len = 8,
	  FAILS(ENOTSOCK) },
	/* msgmux_listen(): not on a connected SOCK_SEQPACKET socket. */
	{ "listen_connected", S_SEQ_CONN, c_listen, .fd = F_MUX, .len = 8,
	  FAILS(EINVAL) },
	/* TCP's check, for the bound address. */
	{ "listen_addr_in_use", S_SEQ, c_listen_in_use,
	  FAILS(EADDRINUSE) },
	/* A SOCK_DGRAM socket listens, and a backlog is TCP's to clamp. */
	{ "listen_dgram", S_DGRAM, c_listen, .fd = F_MUX, .len = 8,
	  RETURNS(0), .post = P_NONE },
	{ "listen_negative_backlog", S_SEQ_BOUND, c_listen, .fd = F_MUX,
	  .len = -1, RETURNS(0), .post = P_NONE },
	/* msgmux_accept_sock(). */
	{ "accept_dgram", S_DGRAM, c_accept, .fd = F_MUX,
	  FAILS(EOPNOTSUPP) },
	{ "accept_dgram_listening", S_DGRAM_LISTEN, c_accept, .fd = F_MUX,
	  FAILS(EOPNOTSUPP) },
	{ "accept_not_listening", S_SEQ, c_accept, .fd = F_MUX,
	  FAILS(EINVAL) },
	{ "accept_bound", S_SEQ_BOUND, c_accept, .fd = F_MUX,
	  FAILS(EINVAL) },
	{ "accept_connected", S_SEQ_CONN, c_accept, .fd = F_MUX,
	  FAILS(EINVAL) },
	{ "accept_nonblock_empty", S_SEQ_LISTEN, c_accept, .fd = F_MUX,
	  .len = 1, FAILS(EAGAIN) },
	{ "accept_after_shut_rd", S_SEQ_LISTEN, c_accept_after_shut_rd,
	  FAILS(EINVAL), .post = P_NONE },
	{ "accept_reset_in_backlog", S_SEQ_LISTEN, c_accept_reset,
	  FAILS(ECONNABORTED) },
	{ "accept_emfile", S_SEQ_LISTEN, c_accept_emfile, FAILS(EMFILE) },
	/* The socket layer: accept4() flags, bad descriptors. */
	{ "accept_bad_flags", S_SEQ_LISTEN, c_accept, .fd = F_MUX,
	  .flags = 0x40, FAILS(EINVAL) },
	{ "accept_bad_fd", S_SEQ, c_accept, .fd = F_NOT_OPEN,
	  FAILS(EBADF) },
	{ "accept_not_socket", S_SEQ, c_accept, .fd = F_PIPE,
	  FAILS(ENOTSOCK) },
};

static const struct row send_rows[] = {
	/* tx.c msgmux_sendmsg(): flags first. */
	{ "send_oob", S_SEQ_ATT, c_send, .flags = MSG_OOB, .len = 1,
	  FAILS(EOPNOTSUPP) },
	{ "send_confirm", S_DGRAM_ATT, c_send, .flags = MSG_CONFIRM,
	  .len = 1, FAILS(EOPNOTSUPP) },
	{ "send_zerocopy", S_DGRAM_ATT, c_send, .flags = MSG_ZEROCOPY,
	  .len = 1, FAILS(EOPNOTSUPP) },
	{ "send_fastopen", S_SEQ_ATT, c_send, .flags = MSG_FASTOPEN,
	  .len = 1, FAILS(EOPNOTSUPP) },
	{ "send_oob_no_conn", S_SEQ, c_send, .flags = MSG_OOB, .len = 1,
	  FAILS(EOPNOTSUPP) },
	/* The copy: nothing is queued. */
	{ "send_null_buf", S_SEQ_ATT, c_send, .ptr = P_NULL, .len = 10,
	  FAILS(EFAULT) },
	{ "send_unmapped_buf", S_DGRAM_ATT, c_send, .ptr = P_UNMAPPED,
	  .len = 100, FAILS(EFAULT) },
	{ "send_null_buf_big", S_DGRAM_ATT, c_send, .ptr = P_NULL,
	  .len = 100000, FAILS(EFAULT) },
	/* Over max_size, with or without the header the kernel adds. */
	{ "send_too_big", S_SEQ_ATT, c_send,
	  .len = MSGMUX_DEFAULT_MAX_SIZE + 1, FAILS(EMSGSIZE) },
	{ "send_too_big_with_hdr", S_DGRAM_ATT, c_send,
	  .len = MSGMUX_DEFAULT_MAX_SIZE - 3, FAILS(EMSGSIZE) },
	{ "send_too_big_no_conn", S_DGRAM, c_send,
	  .len = MSGMUX_DEFAULT_MAX_SIZE + 1, FAILS(EMSGSIZE) },
	/* No connection to carry it: EPIPE, and SIGPIPE. */
	{ "send_no_conn", S_SEQ, c_send, .len = 1, FAILS(EPIPE),
	  .sigpipe = true },
	{ "send_no_conn_nosignal", S_SEQ, c_send, .len = 1,
	  .flags = MSG_NOSIGNAL, FAILS(EPIPE) },
	{ "send_no_conn_dgram", S_DGRAM, c_send, .len = 1, FAILS(EPIPE),
	  .sigpipe = true },
	{ "send_zero_no_conn", S_DGRAM_BOUND, c_send, .len = 0,
	  FAILS(EPIPE), .sigpipe = true },
	{ "send_listening", S_SEQ_LISTEN, c_send, .len = 1, FAILS(EPIPE),
	  .sigpipe = true },
	{ "send_after_shut_wr", S_SEQ_ATT, c_send_after_shut_wr,
	  FAILS(EPIPE), .sigpipe = true, .post = P_RECV_ONLY },
	{ "send_after_shut_wr_nosignal", S_DGRAM_ATT, c_send_after_shut_wr,
	  .flags = MSG_NOSIGNAL, FAILS(EPIPE), .post = P_RECV_ONLY },
	/* A failed connection takes no message: EPIPE, or ENOTCONN. */
	{ "send_failed_conn", S_WIRE, c_send_failed,
	  .frame = FRAMING(.len_size = MSGMUX_LEN_VARINT),
	  .val = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", .len = 11,
	  FAILS(EPIPE), .sigpipe = true },
	{ "sendto_failed_conn", S_WIRE, c_sendto_failed,
	  .frame = FRAMING(.len_size = 4, .max_size = 100),
	  .val = "\0\0\1\0", .len = 4, FAILS(ENOTCONN) },
	/* sendto(): the address. */
	{ "sendto_short_addr", S_DGRAM_ATT, c_sendto, .addr = A_SMM,
	  .len = SMM_LEN - 1, FAILS(EINVAL) },
	{ "sendto_addr_len_4", S_SEQ_ATT, c_sendto, .addr = A_SMM, .len = 4,
	  FAILS(EINVAL) },
	{ "sendto_wrong_family", S_DGRAM_ATT, c_sendto, .addr = A_SMM_INET,
	  .len = SMM_LEN, FAILS(EAFNOSUPPORT) },
	{ "sendto_sockaddr_in", S_DGRAM_ATT, c_sendto, .addr = A_LO,
	  .len = SIN_LEN, FAILS(EINVAL) },
	{ "sendto_reserved", S_DGRAM_ATT, c_sendto, .addr = A_SMM_RESERVED,
	  .len = SMM_LEN, FAILS(EINVAL) },
	{ "sendto_unknown_conn", S_DGRAM_ATT, c_sendto, .addr = A_SMM_UNKNOWN,
	  .len = SMM_LEN, FAILS(ENOTCONN) },
	{ "sendto_unknown_conn_none", S_DGRAM, c_sendto,
	  .addr = A_SMM_UNKNOWN, .len = SMM_LEN, FAILS(ENOTCONN) },
	{ "sendto_any_no_conn", S_SEQ, c_sendto, .addr = A_SMM_ANY,
	  .len = SMM_LEN, FAILS(EPIPE), .sigpipe = true },
	{ "sendto_seq_other_conn", S_SEQ_CONN, c_sendto,
	  .addr = A_SMM_UNKNOWN, .len = SMM_LEN, FAILS(ENOTCONN) },
	{ "sendto_oob_good_addr", S_DGRAM_ATT, c_sendto, .addr = A_SMM,
	  .len = SMM_LEN, .flags = MSG_OOB, FAILS(EOPNOTSUPP) },
	/* The socket layer copies the address. */
	{ "sendto_len_huge", S_DGRAM_ATT, c_sendto, .addr = A_SMM,
	  .len = 129, FAILS(EINVAL) },
	{ "sendto_len_negative", S_DGRAM_ATT, c_sendto, .addr = A_SMM,
	  .len = -1, FAILS(EINVAL) },
	{ "sendto_unmapped_addr", S_DGRAM_ATT, c_sendto, .addr = A_UNMAPPED,
	  .len = SMM_LEN, FAILS(EFAULT) },
	/* sendmsg(): the same checks through a msghdr. */
	{ "sendmsg_namelen_short", S_DGRAM_ATT, c_sendmsg,
	  .mh = MH_NAMELEN_SHORT, FAILS(EINVAL) },
	{ "sendmsg_namelen_negative", S_DGRAM_ATT, c_sendmsg,
	  .mh = MH_NAMELEN_NEG, FAILS(EINVAL) },
	/* The socket layer cuts msg_namelen to sockaddr_storage: it works. */
	{ "sendmsg_namelen_huge", S_DGRAM_ATT, c_sendmsg,
	  .mh = MH_NAMELEN_HUGE, RETURNS(1) },
	{ "sendmsg_name_unmapped", S_SEQ_ATT, c_sendmsg,
	  .mh = MH_NAME_UNMAPPED, FAILS(EFAULT) },
	{ "sendmsg_iov_null", S_DGRAM_ATT, c_sendmsg, .mh = MH_IOV_NULL,
	  FAILS(EFAULT) },
	{ "sendmsg_iovlen_huge", S_DGRAM_ATT, c_sendmsg,
	  .mh = MH_IOVLEN_HUGE, FAILS(EMSGSIZE) },
	{ "sendmsg_iov_base_null", S_SEQ_ATT, c_sendmsg, .mh = MH_BASE_NULL,
	  FAILS(EFAULT) },
	{ "sendmsg_control_null", S_DGRAM_ATT, c_sendmsg,
	  .mh = MH_CONTROL_NULL, FAILS(EFAULT) },
	{ "sendmsg_oob", S_DGRAM_ATT, c_sendmsg, .mh = MH_FLAGS,
	  .flags = MSG_OOB, FAILS(EOPNOTSUPP) },
	/* sendmmsg(): an error on the first entry is returned. */
	{ "sendmmsg_oob", S_DGRAM_ATT, c_sendmmsg, .mh = MH_FLAGS,
	  .flags = MSG_OOB, FAILS(EOPNOTSUPP) },
	{ "sendmmsg_vec_null", S_DGRAM_ATT, c_sendmmsg, .mh = MH_VEC_NULL,
	  FAILS(EFAULT) },
	{ "sendmmsg_namelen_short", S_DGRAM_ATT, c_sendmmsg,
	  .mh = MH_NAMELEN_SHORT, FAILS(EINVAL) },
	{ "sendmmsg_iov_base_null", S_DGRAM_ATT, c_sendmmsg,
	  .mh = MH_BASE_NULL, FAILS(EFAULT) },
	{ "sendmmsg_second_bad", S_DGRAM_ATT, c_sendmmsg,
	  .mh = MH_SECOND_BAD, RETURNS(1) },
	/* write(): a send without flags. */
	{ "write_no_conn", S_SEQ, c_write, .len = 1, FAILS(EPIPE),
	  .sigpipe = true },
	{ "write_null_buf", S_SEQ_ATT, c_write, .ptr = P_NULL, .len = 8,
	  FAILS(EFAULT) },
	{ "write_unmapped_buf", S_DGRAM_ATT, c_write, .ptr = P_UNMAPPED,
	  .len = 3000, FAILS(EFAULT) },
	{ "write_too_big", S_DGRAM_ATT, c_write,
	  .len = MSGMUX_DEFAULT_MAX_SIZE + 1, FAILS(EMSGSIZE) },
};

static const struct row recv_rows[] = {
	/* rx.c msgmux_recvmsg(): flags first. */
	{ "recv_oob", S_DGRAM_MSG, c_recv, .flags = MSG_OOB, .len = 64,
	  FAILS(EOPNOTSUPP) },
	{ "recv_oob_empty", S_SEQ, c_recv, .flags = MSG_OOB, .len = 64,
	  FAILS(EOPNOTSUPP) },
	{ "recv_errqueue_oob", S_DGRAM_ATT, c_recv,
	  .flags = MSG_ERRQUEUE | MSG_OOB, .len = 64, FAILS(EOPNOTSUPP) },
	{ "recv_confirm", S_DGRAM_MSG, c_recv, .flags = MSG_CONFIRM,
	  .len = 64, FAILS(EOPNOTSUPP) },
	{ "recv_nonblock_empty", S_SEQ, c_recv, .flags = MSG_DONTWAIT,
	  .len = 64, FAILS(EAGAIN) },
	{ "recv_errqueue_empty", S_DGRAM_ATT, c_recv,
	  .flags = MSG_ERRQUEUE, .len = 64, FAILS(EAGAIN) },
	/* The copy of a queued message (it is consumed, as on UDP). */
	{ "recv_null_buf", S_DGRAM_MSG, c_recv, .ptr = P_NULL, .len = 64,
	  FAILS(EFAULT) },
	{ "recv_unmapped_buf", S_DGRAM_MSG, c_recv, .ptr = P_UNMAPPED,
	  .len = 64, FAILS(EFAULT) },
	{ "recv_ro_buf", S_DGRAM_MSG, c_recv, .ptr = P_RO, .len = 64,
	  FAILS(EFAULT) },
	{ "recv_peek_null_buf", S_DGRAM_MSG, c_recv, .ptr = P_NULL,
	  .len = 64, .flags = MSG_PEEK, FAILS(EFAULT) },
	/* NULL with no length is no fault; MSG_TRUNC gives the length. */
	{ "recv_null_buf_len_0", S_DGRAM_MSG, c_recv, .ptr = P_NULL,
	  .flags = MSG_PEEK | MSG_TRUNC, RETURNS(sizeof(QUEUED) - 1) },
	/* The socket layer writes the address after the message. */
	{ "recvfrom_addrlen_negative", S_DGRAM_MSG, c_recvfrom,
	  .mh = MH_ADDRLEN_NEG, FAILS(EINVAL) },
	{ "recvfrom_addrlen_null", S_DGRAM_MSG, c_recvfrom,
	  .mh = MH_ADDRLEN_NULL, FAILS(EFAULT) },
	{ "recvfrom_addr_unmapped", S_DGRAM_MSG, c_recvfrom,
	  .mh = MH_NAME_UNMAPPED, FAILS(EFAULT) },
	/* recvmsg(): the msghdr. */
	{ "recvmsg_namelen_negative", S_DGRAM_MSG, c_recvmsg,
	  .mh = MH_NAMELEN_NEG, FAILS(EINVAL) },
	{ "recvmsg_iov_null", S_DGRAM_MSG, c_recvmsg, .mh = MH_IOV_NULL,
	  FAILS(EFAULT) },
	{ "recvmsg_iovlen_huge", S_DGRAM_MSG, c_recvmsg,
	  .mh = MH_IOVLEN_HUGE, FAILS(EMSGSIZE) },
	{ "recvmsg_iov_base_null", S_DGRAM_MSG, c_recvmsg,
	  .mh = MH_BASE_NULL, FAILS(EFAULT) },
	{ "recvmsg_name_unmapped", S_DGRAM_MSG, c_recvmsg,
	  .mh = MH_NAME_UNMAPPED, FAILS(EFAULT) },
	{ "recvmsg_oob", S_DGRAM_MSG, c_recvmsg, .mh = MH_FLAGS,
	  .flags = MSG_OOB, FAILS(EOPNOTSUPP) },
	{ "recvmsg_errqueue_empty", S_SEQ_CONN, c_recvmsg, .mh = MH_FLAGS,
	  .flags = MSG_ERRQUEUE, FAILS(EAGAIN) },
	/* recvmmsg(). */
	{ "recvmmsg_oob", S_DGRAM_MSG, c_recvmmsg, .mh = MH_FLAGS,
	  .flags = MSG_OOB, FAILS(EOPNOTSUPP) },
	{ "recvmmsg_empty", S_DGRAM_ATT, c_recvmmsg, .mh = MH_FLAGS,
	  .flags = MSG_DONTWAIT, FAILS(EAGAIN) },
	{ "recvmmsg_vec_null", S_DGRAM_MSG, c_recvmmsg, .mh = MH_VEC_NULL,
	  FAILS(EFAULT) },
	{ "recvmmsg_iov_base_null", S_DGRAM_MSG, c_recvmmsg,
	  .mh = MH_BASE_NULL, FAILS(EFAULT) },
	{ "recvmmsg_timeout_bad", S_DGRAM_MSG, c_recvmmsg,
	  .mh = MH_TIMEOUT_BAD, FAILS(EINVAL) },
	{ "recvmmsg_timeout_unmapped", S_DGRAM_MSG, c_recvmmsg,
	  .mh = MH_TIMEOUT_UNMAPPED, FAILS(EFAULT) },
	/* read(): a receive without flags. */
	{ "read_nonblock_empty", S_DGRAM_ATT, c_read, .flags = 1, .len = 64,
	  FAILS(EAGAIN) },
	{ "read_null_buf", S_DGRAM_MSG, c_read, .ptr = P_NULL, .len = 64,
	  FAILS(EFAULT) },
	{ "read_unmapped_buf", S_DGRAM_MSG, c_read, .ptr = P_UNMAPPED,
	  .len = 64, FAILS(EFAULT) },
};

#define SET(n, s, opt, l, v, ...) \
	{ n, s, c_setsockopt, .level = SOL_MSGMUX, .optname = (opt), \
	  .len = (l), .val = (v), __VA_ARGS__ }

static const struct row setsockopt_rows[] = {
	/* sock.c msgmux_setsockopt(): int options, at least 4 bytes. */
	SET("set_recv_disable_short", S_DGRAM_ATT, MSGMUX_RECV_DISABLE, 2,
	    zero_int, FAILS(EINVAL)),
	SET("set_recv_disable_len_0", S_DGRAM_ATT, MSGMUX_RECV_DISABLE, 0,
	    zero_int, FAILS(EINVAL)),
	SET("set_recv_disable_null", S_DGRAM_ATT, MSGMUX_RECV_DISABLE, 4,
	    NULL, .ptr = P_NULL, FAILS(EFAULT)),
	SET("set_recv_disable_long", S_DGRAM_ATT, MSGMUX_RECV_DISABLE, 8,
	    zero_int, RETURNS(0)),
	SET("set_explicit_eor_short", S_SEQ_ATT, MSGMUX_EXPLICIT_EOR, 3,
	    zero_int, FAILS(EINVAL)),
	SET("set_explicit_eor_null", S_SEQ_ATT, MSGMUX_EXPLICIT_EOR, 4,
	    NULL, .ptr = P_NULL, FAILS(EFAULT)),
	SET("set_explicit_eor_long", S_SEQ_ATT, MSGMUX_EXPLICIT_EOR, 8,
	    zero_int, RETURNS(0)),
	SET("set_accept_limit_short", S_DGRAM_LISTEN, MSGMUX_ACCEPT_LIMIT, 1,
	    zero_int, FAILS(EINVAL)),
	SET("set_accept_limit_null", S_DGRAM_LISTEN, MSGMUX_ACCEPT_LIMIT, 4,
	    NULL, .ptr = P_NULL, FAILS(EFAULT)),
	SET("set_accept_limit_negative", S_DGRAM_LISTEN, MSGMUX_ACCEPT_LIMIT,
	    4, minus_one, FAILS(EINVAL)),
	SET("set_accept_limit_long", S_DGRAM_LISTEN, MSGMUX_ACCEPT_LIMIT, 8,
	    limit_int, RETURNS(0)),
	/* MSGMUX_FRAMING: msgmux_frame_from_user(). */
	SET("set_framing_short", S_SEQ, MSGMUX_FRAMING, FRAMING_LEN - 1,
	    default_framing, FAILS(EINVAL)),
	SET("set_framing_len_0", S_DGRAM, MSGMUX_FRAMING, 0,
	    default_framing, FAILS(EINVAL)),
	SET("set_framing_null", S_SEQ, MSGMUX_FRAMING, FRAMING_LEN, NULL,
	    .ptr = P_NULL, FAILS(EFAULT)),
	SET("set_framing_long", S_SEQ, MSGMUX_FRAMING, 2 * FRAMING_LEN,
	    default_framing, RETURNS(0)),
	SET("set_framing_len_size_0", S_SEQ, MSGMUX_FRAMING, FRAMING_LEN,
	    FRAMING(.len_size = 0), FAILS(EINVAL)),
	SET("set_framing_len_size_5", S_DGRAM, MSGMUX_FRAMING, FRAMING_LEN,
	    FRAMING(.len_size = 5), FAILS(EINVAL)),
	SET("set_framing_len_size_16", S_SEQ, MSGMUX_FRAMING, FRAMING_LEN,
	    FRAMING(.len_size = 16), FAILS(EINVAL)),
	SET("set_framing_len_size_0xfe", S_SEQ, MSGMUX_FRAMING, FRAMING_LEN,
	    FRAMING(.len_size = 0xfe), FAILS(EINVAL)),
	SET("set_framing_offset_over_max", S_SEQ, MSGMUX_FRAMING,
	    FRAMING_LEN, FRAMING(.len_size = 4,
				 .len_offset = MSGMUX_MAX_LEN_OFFSET + 1),
	    FAILS(EINVAL)),
	SET("set_framing_offset_ffff", S_DGRAM, MSGMUX_FRAMING, FRAMING_LEN,
	    FRAMING(.len_size = 1, .len_offset = 0xffff), FAILS(EINVAL)),
	SET("set_framing_max_size_over", S_SEQ, MSGMUX_FRAMING, FRAMING_LEN,
	    FRAMING(.len_size = 4, .max_size = MSGMUX_MAX_SIZE_LIMIT + 1),
	    FAILS(EINVAL)),
	SET("set_framing_max_size_ffffffff", S_DGRAM, MSGMUX_FRAMING,
	    FRAMING_LEN, FRAMING(.len_size = 8, .max_size = 0xffffffff),
	    FAILS(EINVAL)),
	SET("set_framing_reserved", S_SEQ, MSGMUX_FRAMING, FRAMING_LEN,
	    FRAMING(.len_size = 4, .reserved = 1), FAILS(EINVAL)),
	SET("set_framing_flag_8", S_SEQ, MSGMUX_FRAMING, FRAMING_LEN,
	    FRAMING(.len_size = 4, .flags = 1U << 3), FAILS(EINVAL)),
	SET("set_framing_flag_top", S_DGRAM, MSGMUX_FRAMING, FRAMING_LEN,
	    FRAMING(.len_size = 4, .flags = 1U << 31), FAILS(EINVAL)),
	/* Only while the mux has no connection. */
	SET("set_framing_busy", S_DGRAM_ATT, MSGMUX_FRAMING, FRAMING_LEN,
	    FRAMING(.len_size = 2), FAILS(EBUSY)),
	SET("set_framing_busy_conn", S_SEQ_CONN, MSGMUX_FRAMING, FRAMING_LEN,
	    default_framing, FAILS(EBUSY)),
	/* Unknown names and levels. */
	SET("set_option_0", S_SEQ, 0, 4, zero_int, FAILS(ENOPROTOOPT)),
	SET("set_option_5", S_DGRAM, 5, 4, zero_int, FAILS(ENOPROTOOPT)),
	SET("set_option_negative", S_SEQ, -1, 4, zero_int,
	    FAILS(ENOPROTOOPT)),
	{ "set_level_tcp", S_SEQ_ATT, c_setsockopt, .level = IPPROTO_TCP,
	  .optname = 1, .len = 4, .val = zero_int, FAILS(ENOPROTOOPT) },
	{ "set_level_ip", S_DGRAM, c_setsockopt, .level = IPPROTO_IP,
	  .optname = MSGMUX_FRAMING, .len = FRAMING_LEN,
	  .val = default_framing, FAILS(ENOPROTOOPT) },
	{ "set_level_negative", S_SEQ, c_setsockopt, .level = -1,
	  .optname = MSGMUX_RECV_DISABLE, .len = 4, .val = zero_int,
	  FAILS(ENOPROTOOPT) },
	/* The socket layer: a negative length; SO_REUSEPORT on inet only. */
	SET("set_optlen_negative", S_SEQ, MSGMUX_EXPLICIT_EOR, -1, zero_int,
	    FAILS(EINVAL)),
	{ "set_reuseport", S_SEQ, c_setsockopt, .level = SOL_SOCKET,
	  .optname = SO_REUSEPORT, .len = 4, .val = one_int,
	  FAILS(EOPNOTSUPP) },
};

#define GET(n, s, opt, l, ...) \
	{ n, s, c_getsockopt, .level = SOL_MSGMUX, .optname = (opt), \
	  .len = (l), __VA_ARGS__ }

static const struct row getsockopt_rows[] = {
	/* sock.c msgmux_getsockopt(); a success returns the length. */
	GET("get_framing_short", S_SEQ, MSGMUX_FRAMING, FRAMING_LEN - 1,
	    FAILS(EINVAL)),
	GET("get_framing_len_0", S_SEQ_ATT, MSGMUX_FRAMING, 0,
	    FAILS(EINVAL)),
	GET("get_framing_len_negative", S_SEQ, MSGMUX_FRAMING, -1,
	    FAILS(EINVAL)),
	GET("get_framing_null", S_DGRAM, MSGMUX_FRAMING, FRAMING_LEN,
	    .ptr = P_NULL, FAILS(EFAULT)),
	GET("get_framing_unmapped", S_SEQ, MSGMUX_FRAMING, FRAMING_LEN,
	    .ptr = P_UNMAPPED, FAILS(EFAULT)),
	GET("get_framing_ro", S_DGRAM, MSGMUX_FRAMING, FRAMING_LEN,
	    .ptr = P_RO, FAILS(EFAULT)),
	GET("get_framing_optlen_null", S_SEQ, MSGMUX_FRAMING, FRAMING_LEN,
	    .flags = P_NULL, FAILS(EFAULT)),
	GET("get_framing_optlen_unmapped", S_DGRAM, MSGMUX_FRAMING,
	    FRAMING_LEN, .flags = P_UNMAPPED, FAILS(EFAULT)),
	GET("get_framing_long", S_SEQ, MSGMUX_FRAMING, 2 * FRAMING_LEN,
	    RETURNS(FRAMING_LEN)),
	GET("get_recv_disable_short", S_DGRAM, MSGMUX_RECV_DISABLE, 3,
	    FAILS(EINVAL)),
	GET("get_recv_disable_null", S_DGRAM, MSGMUX_RECV_DISABLE, 4,
	    .ptr = P_NULL, FAILS(EFAULT)),
	GET("get_recv_disable_long", S_DGRAM, MSGMUX_RECV_DISABLE, 8,
	    RETURNS(4)),
	GET("get_explicit_eor_short", S_SEQ, MSGMUX_EXPLICIT_EOR, 2,
	    FAILS(EINVAL)),
	GET("get_explicit_eor_null", S_SEQ, MSGMUX_EXPLICIT_EOR, 4,
	    .ptr = P_NULL, FAILS(EFAULT)),
	GET("get_explicit_eor_optlen_null", S_SEQ, MSGMUX_EXPLICIT_EOR, 4,
	    .flags = P_NULL, FAILS(EFAULT)),
	GET("get_explicit_eor_long", S_SEQ, MSGMUX_EXPLICIT_EOR, 100,
	    RETURNS(4)),
	GET("get_accept_limit_short", S_DGRAM_LISTEN, MSGMUX_ACCEPT_LIMIT, 0,
	    FAILS(EINVAL)),
	GET("get_accept_limit_null", S_DGRAM_LISTEN, MSGMUX_ACCEPT_LIMIT, 4,
	    .ptr = P_NULL, FAILS(EFAULT)),
	GET("get_accept_limit_long", S_DGRAM_LISTEN, MSGMUX_ACCEPT_LIMIT, 16,
	    RETURNS(4)),
	GET("get_option_0", S_SEQ, 0, 4, FAILS(ENOPROTOOPT)),
	GET("get_option_99", S_DGRAM, 99, 64, FAILS(ENOPROTOOPT)),
	{ "get_level_tcp", S_SEQ_CONN, c_getsockopt, .level = IPPROTO_TCP,
	  .optname = 1, .len = 4, FAILS(ENOPROTOOPT) },
	{ "get_level_ipv6", S_DGRAM, c_getsockopt, .level = IPPROTO_IPV6,
	  .optname = MSGMUX_FRAMING, .len = FRAMING_LEN,
	  FAILS(ENOPROTOOPT) },
};

#define ATT(n, s, c, f, b, ...) \
	{ n, s, c_attach, .cmd = (c), .fd = (f), .bpf = (b), __VA_ARGS__ }

static const struct row ioctl_rows[] = {
	/* psock.c msgmux_attach(): the fd, then bpf_fd, then the socket. */
	ATT("attach_fd_negative", S_SEQ, SIOCMSGMUXATTACH, F_NEG, B_NONE,
	    FAILS(EBADF)),
	ATT("attach_fd_not_open", S_DGRAM, SIOCMSGMUXATTACH, F_NOT_OPEN,
	    B_NONE, FAILS(EBADF)),
	ATT("attach_devnull", S_SEQ, SIOCMSGMUXATTACH, F_DEVNULL, B_NONE,
	    FAILS(ENOTSOCK)),
	ATT("attach_pipe", S_DGRAM, SIOCMSGMUXATTACHX, F_PIPE, B_NONE,
	    FAILS(ENOTSOCK)),
	ATT("attach_bpf_prog_as_fd", S_SEQ, SIOCMSGMUXATTACH, F_BPF, B_NONE,
	    FAILS(ENOTSOCK)),
	ATT("attach_udp", S_SEQ, SIOCMSGMUXATTACH, F_UDP, B_NONE,
	    FAILS(EOPNOTSUPP)),
	ATT("attach_udp_connected", S_DGRAM, SIOCMSGMUXATTACHX, F_UDP_CONN,
	    B_NONE, FAILS(EOPNOTSUPP)),
	ATT("attach_unix", S_SEQ, SIOCMSGMUXATTACH, F_UNIX, B_NONE,
	    FAILS(EOPNOTSUPP)),
	ATT("attach_other_mux", S_DGRAM, SIOCMSGMUXATTACH, F_MUX_OTHER,
	    B_NONE, FAILS(EOPNOTSUPP)),
	ATT("attach_self", S_SEQ, SIOCMSGMUXATTACHX, F_MUX, B_NONE,
	    FAILS(EOPNOTSUPP)),
	ATT("attach_tcp_listening", S_SEQ, SIOCMSGMUXATTACH, F_TCP_LISTEN,
	    B_NONE, FAILS(ENOTCONN)),
	ATT("attach_tcp6_listening", S_DGRAM, SIOCMSGMUXATTACHX,
	    F_TCP6_LISTEN, B_NONE, FAILS(ENOTCONN)),
	ATT("attach_tcp_unconnected", S_SEQ, SIOCMSGMUXATTACH, F_TCP_UNCONN,
	    B_NONE, FAILS(ENOTCONN)),
	ATT("attach_tcp_reset", S_DGRAM, SIOCMSGMUXATTACH, F_TCP_RESET,
	    B_NONE, FAILS(ENOTCONN)),
	ATT("attach_mptcp", S_SEQ, SIOCMSGMUXATTACH, F_MPTCP, B_NONE,
	    FAILS(EOPNOTSUPP)),
	ATT("attach_ktls", S_DGRAM, SIOCMSGMUXATTACHX, F_TCP_TLS, B_NONE,
	    FAILS(EBUSY)),
	ATT("attach_twice", S_SEQ_ATT, SIOCMSGMUXATTACH, F_TCP_ATT, B_NONE,
	    FAILS(EALREADY)),
	ATT("attach_twice_x", S_DGRAM_ATT, SIOCMSGMUXATTACHX, F_TCP_ATT,
	    B_NONE, FAILS(EALREADY)),
	ATT("attach_other_muxs_tcp", S_SEQ, SIOCMSGMUXATTACH, F_TCP_OTHER,
	    B_NONE, FAILS(EALREADY)),
	/* A bad bpf_fd: the TCP socket stays unattached and usable. */
	ATT("attach_bpf_negative", S_SEQ, SIOCMSGMUXATTACH, F_TCP, B_NEG,
	    FAILS(EBADF), .post = P_TCP_ATTACH),
	ATT("attach_bpf_not_open", S_DGRAM, SIOCMSGMUXATTACHX, F_TCP,
	    B_NOT_OPEN, FAILS(EBADF), .post = P_TCP_ATTACH),
	ATT("attach_bpf_devnull", S_SEQ, SIOCMSGMUXATTACH, F_TCP, B_DEVNULL,
	    FAILS(EINVAL), .post = P_TCP_ATTACH),
	ATT("attach_bpf_socket", S_DGRAM, SIOCMSGMUXATTACH, F_TCP, B_SOCKET,
	    FAILS(EINVAL), .post = P_TCP_ATTACH),
	ATT("attach_bpf_wrong_type", S_SEQ, SIOCMSGMUXATTACHX, F_TCP,
	    B_SCHED_CLS, FAILS(EINVAL), .post = P_TCP_ATTACH),
	/* The fd is looked up, then bpf_fd, then the socket's kind. */
	ATT("attach_udp_bad_bpf", S_SEQ, SIOCMSGMUXATTACH, F_UDP, B_NEG,
	    FAILS(EBADF)),
	ATT("attach_not_open_bad_bpf", S_SEQ, SIOCMSGMUXATTACH, F_NOT_OPEN,
	    B_DEVNULL, FAILS(EBADF)),
	/* ATTACHX: flags and reserved must be zero. */
	ATT("attachx_flags", S_SEQ, SIOCMSGMUXATTACHX, F_TCP, B_NONE,
	    .flags = 1, FAILS(EINVAL), .post = P_TCP_ATTACH),
	ATT("attachx_flags_top", S_DGRAM, SIOCMSGMUXATTACHX, F_TCP, B_NONE,
	    .flags = 1U << 31, FAILS(EINVAL), .post = P_TCP_ATTACH),
	ATT("attachx_reserved", S_SEQ, SIOCMSGMUXATTACHX, F_TCP, B_NONE,
	    .reserved = 1, FAILS(EINVAL), .post = P_TCP_ATTACH),
	ATT("attachx_reserved_top", S_DGRAM, SIOCMSGMUXATTACHX, F_TCP,
	    B_NONE, .reserved = 1ULL << 63, FAILS(EINVAL),
	    .post = P_TCP_ATTACH),
	/* The argument cannot be read, or (ATTACHX) written back. */
	ATT("attach_arg_null", S_SEQ, SIOCMSGMUXATTACH, F_TCP, B_NONE,
	    .ptr = P_NULL, FAILS(EFAULT), .post = P_TCP_ATTACH),
	ATT("attach_arg_unmapped", S_DGRAM, SIOCMSGMUXATTACH, F_TCP, B_NONE,
	    .ptr = P_UNMAPPED, FAILS(EFAULT), .post = P_TCP_ATTACH),
	ATT("attachx_arg_null", S_SEQ, SIOCMSGMUXATTACHX, F_TCP, B_NONE,
	    .ptr = P_NULL, FAILS(EFAULT), .post = P_TCP_ATTACH),
	ATT("attachx_arg_ro", S_DGRAM, SIOCMSGMUXATTACHX, F_TCP, B_NONE,
	    .ptr = P_RO, FAILS(EFAULT), .post = P_TCP_ATTACH),
	ATT("attachx_arg_ro_seq", S_SEQ, SIOCMSGMUXATTACHX, F_TCP, B_NONE,
	    .ptr = P_RO, FAILS(EFAULT), .post = P_TCP_ATTACH),
	/* psock.c msgmux_unattach(). */
	{ "unattach_fd_negative", S_SEQ_ATT, c_unattach, .fd = F_NEG,
	  FAILS(EBADF) },
	{ "unattach_fd_not_open", S_DGRAM_ATT, c_unattach,
	  .fd = F_NOT_OPEN, FAILS(EBADF) },
	{ "unattach_devnull", S_SEQ_ATT, c_unattach, .fd = F_DEVNULL,
	  FAILS(ENOTSOCK) },
	{ "unattach_not_attached", S_SEQ_ATT, c_unattach, .fd = F_TCP,
	  FAILS(EINVAL) },
	{ "unattach_other_muxs_tcp", S_DGRAM_ATT, c_unattach,
	  .fd = F_TCP_OTHER, FAILS(EINVAL) },
	{ "unattach_udp", S_DGRAM_ATT, c_unattach, .fd = F_UDP,
	  FAILS(EINVAL) },
	{ "unattach_self", S_SEQ_ATT, c_unattach, .fd = F_MUX,
	  FAILS(EINVAL) },
	{ "unattach_arg_null", S_SEQ_ATT, c_unattach, .fd = F_TCP_ATT,
	  .ptr = P_NULL, FAILS(EFAULT) },
	{ "unattach_arg_unmapped", S_DGRAM_ATT, c_unattach, .fd = F_TCP_ATT,
	  .ptr = P_UNMAPPED, FAILS(EFAULT) },
	{ "unattach_failed_conn", S_WIRE, c_unattach_failed,
	  .frame = FRAMING(.len_size = 8),
	  .val = "\xff\xff\xff\xff\xff\xff\xff\xff", .len = 8,
	  FAILS(EINVAL) },
	/* sock.c msgmux_clone(): nothing is left behind on error. */
	{ "clone_arg_null", S_SEQ_ATT, c_clone, .ptr = P_NULL,
	  FAILS(EFAULT) },
	{ "clone_arg_unmapped", S_DGRAM_ATT, c_clone, .ptr = P_UNMAPPED,
	  FAILS(EFAULT) },
	{ "clone_arg_ro", S_DGRAM_LISTEN, c_clone, .ptr = P_RO,
	  FAILS(EFAULT) },
	{ "clone_emfile", S_DGRAM_ATT, c_clone_emfile, FAILS(EMFILE) },
	/* Other protocol ioctls: ENOTTY. */
	{ "ioctl_protoprivate_4", S_SEQ, c_ioctl, .cmd = SIOCPROTOPRIVATE + 4,
	  FAILS(ENOTTY) },
	{ "ioctl_protoprivate_15", S_DGRAM_ATT, c_ioctl,
	  .cmd = SIOCPROTOPRIVATE + 15, FAILS(ENOTTY) },
	{ "ioctl_fionread", S_DGRAM_MSG, c_ioctl, .cmd = FIONREAD,
	  FAILS(ENOTTY) },
	{ "ioctl_siocoutq", S_SEQ_ATT, c_ioctl, .cmd = SIOCOUTQ,
	  FAILS(ENOTTY) },
	{ "ioctl_siocgstamp", S_DGRAM_MSG, c_ioctl, .cmd = SIOCGSTAMP,
	  FAILS(ENOTTY) },
	{ "ioctl_random", S_SEQ, c_ioctl, .cmd = 0x12345678,
	  FAILS(ENOTTY) },
	{ "ioctl_attach_minus_one", S_SEQ, c_ioctl,
	  .cmd = SIOCMSGMUXATTACH - 1, FAILS(ENOTTY) },
};

static const struct row shutdown_rows[] = {
	/* sock.c msgmux_shutdown(): how first, then a connection. */
	{ "shutdown_how_3", S_SEQ_ATT, c_shutdown, .how = 3, FAILS(EINVAL) },
	{ "shutdown_how_negative", S_DGRAM_ATT, c_shutdown, .how = -1,
	  FAILS(EINVAL) },
	{ "shutdown_how_huge", S_SEQ_CONN, c_shutdown, .how = 0x10000,
	  FAILS(EINVAL) },
	{ "shutdown_how_3_unconnected", S_SEQ, c_shutdown, .how = 3,
	  FAILS(EINVAL) },
	{ "shutdown_unconnected", S_SEQ, c_shutdown, .how = SHUT_RDWR,
	  FAILS(ENOTCONN) },
	{ "shutdown_unconnected_dgram", S_DGRAM, c_shutdown, .how = SHUT_WR,
	  FAILS(ENOTCONN) },
	{ "shutdown_bound", S_SEQ_BOUND, c_shutdown, .how = SHUT_RD,
	  FAILS(ENOTCONN) },
	{ "shutdown_bad_fd", S_SEQ, c_shutdown, .fd = F_NOT_OPEN,
	  .how = SHUT_RD, FAILS(EBADF) },
	{ "shutdown_not_socket", S_SEQ, c_shutdown, .fd = F_PIPE,
	  .how = SHUT_RD, FAILS(ENOTSOCK) },
	/* sock.c msgmux_getname(): ENOTCONN where no address is defined. */
	{ "getsockname_unbound", S_SEQ, c_getname, FAILS(ENOTCONN) },
	{ "getsockname_dgram_attached", S_DGRAM_ATT, c_getname,
	  FAILS(ENOTCONN) },
	{ "getsockname_seq_attached", S_SEQ_ATT, c_getname,
	  FAILS(ENOTCONN) },
	{ "getsockname_dgram_connected", S_DGRAM_CONN, c_getname,
	  FAILS(ENOTCONN) },
	{ "getpeername_unbound", S_SEQ, c_getname, .flags = 1,
	  FAILS(ENOTCONN) },
	{ "getpeername_bound", S_SEQ_BOUND, c_getname, .flags = 1,
	  FAILS(ENOTCONN) },
	{ "getpeername_listening", S_SEQ_LISTEN, c_getname, .flags = 1,
	  FAILS(ENOTCONN) },
	{ "getpeername_attached", S_SEQ_ATT, c_getname, .flags = 1,
	  FAILS(ENOTCONN) },
	{ "getpeername_dgram_connected", S_DGRAM_CONN, c_getname,
	  .flags = 1, FAILS(ENOTCONN) },
	/* The socket layer writes the address. */
	{ "getsockname_addr_unmapped", S_SEQ_LISTEN, c_getname,
	  .ptr = P_UNMAPPED, FAILS(EFAULT) },
	{ "getpeername_addr_null", S_SEQ_CONN, c_getname, .flags = 1,
	  .ptr = P_NULL, FAILS(EFAULT) },
};

#define VARINT		MSGMUX_LEN_VARINT
#define INCL_HDR	MSGMUX_FRAMING_LEN_INCLUDES_HDR

#define WIRE(n, f, bytes, e, why, ...) \
	{ n, S_WIRE, c_wire, .frame = (f), .val = (bytes), \
	  .len = sizeof(bytes) - 1, .reason = (why), FAILS(e), __VA_ARGS__ }

static const struct row wire_rows[] = {
	/* frame.c msgmux_frame_decode(); psock.c msgmux_strp_abort(). */
	WIRE("wire_varint_endless", FRAMING(.len_size = VARINT),
	     "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", EBADMSG,
	     MSGMUX_CONN_BAD_FRAME),
	WIRE("wire_varint_tenth_byte_2", FRAMING(.len_size = VARINT),
	     "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x02", EBADMSG,
	     MSGMUX_CONN_BAD_FRAME),
	WIRE("wire_varint_over_max", FRAMING(.len_size = VARINT,
					     .max_size = 100),
	     "\xc8\x01", EMSGSIZE, MSGMUX_CONN_TOO_BIG),
	WIRE("wire_len_over_max", FRAMING(.len_size = 4, .max_size = 1000),
	     "\0\0\x07\xd0" "0123456789", EMSGSIZE, MSGMUX_CONN_TOO_BIG),
	WIRE("wire_len_over_default_max", FRAMING(.len_size = 4),
	     "\0\x20\0\0", EMSGSIZE, MSGMUX_CONN_TOO_BIG),
	WIRE("wire_len8_insane", FRAMING(.len_size = 8),
	     "\xff\xff\xff\xff\xff\xff\xff\xff", EMSGSIZE,
	     MSGMUX_CONN_TOO_BIG),
	WIRE("wire_len_negative", FRAMING(.len_size = 1, .len_adjust = -10),
	     "\x05" "abcde", EBADMSG, MSGMUX_CONN_BAD_FRAME),
	WIRE("wire_len_under_hdr",
	     FRAMING(.len_size = 2, .flags = INCL_HDR),
	     "\0\x01", EBADMSG, MSGMUX_CONN_BAD_FRAME),
	WIRE("wire_len_under_hdr_offset",
	     FRAMING(.len_size = 1, .len_offset = 3,
		     .flags = INCL_HDR | MSGMUX_FRAMING_KEEP_HDR),
	     "abc\x03", EBADMSG, MSGMUX_CONN_BAD_FRAME),
	/* A FIN in the middle of a message: EPIPE, with what was lost. */
	WIRE("wire_fin_mid_message", FRAMING(.len_size = 4),
	     "\0\0\0\x0a" "abc", EPIPE, MSGMUX_CONN_CLOSED, .flags = 1),
	/* The notification cannot be copied out (it is consumed). */
	WIRE("wire_errqueue_null_buf", FRAMING(.len_size = VARINT),
	     "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", EFAULT, 0,
	     .ptr = P_NULL),
};

/* ---- running the table --------------------------------------------------- */

FIXTURE(badinput)
{
	int fds;	/* open file descriptors before the rows */
	int objects;	/* lines of /proc/net/msgmux before the rows */
};

FIXTURE_SETUP(badinput)
{
	long pg = getpagesize();
	sigset_t set;

	/* Kept pending, so that each row can tell whether it raised one. */
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (!unmapped) {
		unmapped = mmap(NULL, pg, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ro_page = mmap(NULL, pg, PROT_READ,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	ASSERT_NE(MAP_FAILED, unmapped);
	ASSERT_NE(MAP_FAILED, ro_page);
	/* Load the module (socket() autoloads it) before counting. */
	close(mm_socket(SOCK_DGRAM));
	self->fds = count_fds();
	self->objects = count_objects();
	ASSERT_LE(0, self->objects) TH_LOG("/proc/net/msgmux: %s",
					   strerror(errno));
}

FIXTURE_TEARDOWN(badinput)
{
}

static void run_rows(struct __test_metadata *_metadata,
		     FIXTURE_DATA(badinput) *self, const struct row *rows,
		     size_t n)
{
	const struct row *r;
	struct env e;
	bool pipe;
	long ret;
	int err;

	for (r = rows; r < rows + n; r++) {
		env_init(&e);
		ret = setup(&e, r);
		if (ret) {
			EXPECT_EQ(0, ret) TH_LOG("%s: setup: %s", r->name,
						 e.note);
			env_done(&e);
			continue;
		}
		sigpipe_taken();
		errno = 0;
		ret = r->call(&e, r);
		err = ret == -1 ? errno : 0;
		pipe = sigpipe_taken();
		ksft_print_msg("%-32s %ld %s%s\n", r->name, ret, errname(err),
			       pipe ? " SIGPIPE" : "");
		EXPECT_TRUE(ret == r->ret && err == r->err)
			TH_LOG("%s: returned %ld (%s), expected %ld (%s) %s",
			       r->name, ret, errname(err), r->ret,
			       errname(r->err), e.note);
		EXPECT_EQ(r->sigpipe, pipe)
			TH_LOG("%s: SIGPIPE %s", r->name,
			       pipe ? "raised" : "not raised");
		if (ret == r->ret && err == r->err) {
			ret = post_check(&e, r);
			EXPECT_EQ(0, ret) TH_LOG("%s: afterwards: %s",
						 r->name, e.note);
		}
		env_done(&e);
		EXPECT_EQ(self->fds, count_fds())
			TH_LOG("%s: file descriptors left behind", r->name);
		EXPECT_TRUE(objects_back_to(self->objects))
			TH_LOG("%s: /proc/net/msgmux kept a line", r->name);
	}
}

#define TABLE(rows) \
	TEST_F_TIMEOUT(badinput, rows, 120) \
	{ \
		run_rows(_metadata, self, rows, ARRAY_SIZE(rows)); \
	}

TABLE(socket_rows)
TABLE(bind_rows)
TABLE(connect_rows)
TABLE(listen_rows)
TABLE(send_rows)
TABLE(recv_rows)
TABLE(setsockopt_rows)
TABLE(getsockopt_rows)
TABLE(ioctl_rows)
TABLE(shutdown_rows)
TABLE(wire_rows)

TEST_HARNESS_MAIN
