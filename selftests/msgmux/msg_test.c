// SPDX-License-Identifier: GPL-2.0
/*
 * msg_test - sending and receiving messages (SPEC 3.3).
 *
 * FIXTURE(msg) runs against msgmux and the in-tree AF_KCM wherever msgmux
 * promises KCM's behaviour; where KCM is known to differ the KCM variant
 * expects what KCM was seen to do on 6.1, and a comment says so.
 * FIXTURE(mm) is msgmux only: its default framing (a 4-byte big-endian
 * length the kernel adds and strips) and what KCM does not have.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/sockios.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "harness.h"
#include "libmsgmux.h"
#include "util.h"

#define BUF 8192

FIXTURE(msg)
{
	int mux;
	int a, b;	/* a is attached to mux, b is the peer */
};

FIXTURE_VARIANT(msg)
{
	struct mux_cfg cfg;
};

FIXTURE_VARIANT_ADD(msg, kcm_dgram)
{
	.cfg = { MUX_KCM, SOCK_DGRAM, FRAME_BPF },
};

FIXTURE_VARIANT_ADD(msg, kcm_seqpacket)
{
	.cfg = { MUX_KCM, SOCK_SEQPACKET, FRAME_BPF },
};

FIXTURE_VARIANT_ADD(msg, msgmux_dgram)
{
	.cfg = { MUX_MSGMUX, SOCK_DGRAM, FRAME_STRIP },
};

FIXTURE_VARIANT_ADD(msg, msgmux_seqpacket)
{
	.cfg = { MUX_MSGMUX, SOCK_SEQPACKET, FRAME_STRIP },
};

FIXTURE_VARIANT_ADD(msg, msgmux_keep_hdr_dgram)
{
	.cfg = { MUX_MSGMUX, SOCK_DGRAM, FRAME_KEEP_HDR },
};

FIXTURE_VARIANT_ADD(msg, msgmux_bpf_seqpacket)
{
	.cfg = { MUX_MSGMUX, SOCK_SEQPACKET, FRAME_BPF },
};

FIXTURE_SETUP(msg)
{
	self->mux = mux_open(&variant->cfg);
	ASSERT_LE(0, self->mux) TH_LOG("mux socket: %s", strerror(errno));
	ASSERT_EQ(0, tcp_pair(AF_INET, &self->a, &self->b));
	ASSERT_EQ(0, mux_attach_cfg(&variant->cfg, self->mux, self->a))
		TH_LOG("attach: %s", strerror(errno));
}

FIXTURE_TEARDOWN(msg)
{
	close(self->mux);
	close(self->a);
	close(self->b);
}

static bool is_kcm(const FIXTURE_VARIANT(msg) *v)
{
	return v->cfg.kind == MUX_KCM;
}

/* The peer writes one message of @payload bytes made from @seed. */
static void peer_msg(struct __test_metadata *_metadata,
		     const struct mux_cfg *c, int peer, size_t payload,
		     unsigned int seed)
{
	char *msg = malloc(payload + HDR_LEN);

	ASSERT_NE(NULL, msg);
	ASSERT_EQ(0, peer_send(c, peer, msg, msg_make(c, msg, payload, seed)));
	free(msg);
}

/* The peer reads one message and it is msg_make(@payload, @seed). */
static void peer_expect(struct __test_metadata *_metadata,
			const struct mux_cfg *c, int peer, size_t payload,
			unsigned int seed)
{
	char *buf = malloc(payload + HDR_LEN);
	ssize_t n;

	ASSERT_NE(NULL, buf);
	n = peer_recv(c, peer, buf, payload + HDR_LEN, WAIT_MS);
	ASSERT_LE(0, n) TH_LOG("peer: no whole message of %zu bytes (%s)",
			       payload, strerror(errno));
	EXPECT_TRUE(msg_check(c, buf, n, payload, seed))
		TH_LOG("peer: message %u is wrong (%zd bytes)", seed, n);
	free(buf);
}

/* Both ways: a send is one message, and a recv returns one message. */
TEST_F(msg, one_send_is_one_message)
{
	const struct mux_cfg *c = &variant->cfg;
	char m1[BUF], m2[BUF], got[BUF];
	size_t l1 = msg_make(c, m1, 10, 1), l2 = msg_make(c, m2, 3000, 2);

	ASSERT_EQ(l1, mux_send(c, self->mux, m1, l1, 0));
	ASSERT_EQ(l2, mux_send(c, self->mux, m2, l2, 0));
	peer_expect(_metadata, c, self->b, 10, 1);
	peer_expect(_metadata, c, self->b, 3000, 2);
	EXPECT_TRUE(tcp_quiet(self->b, 100));

	ASSERT_EQ(0, peer_send(c, self->b, m1, l1));
	ASSERT_EQ(0, peer_send(c, self->b, m2, l2));
	usleep(100000);		/* let both be queued */
	EXPECT_EQ(l1, recv_wait(self->mux, got, sizeof(got), 0, WAIT_MS));
	EXPECT_TRUE(msg_check(c, got, l1, 10, 1));
	EXPECT_EQ(l2, recv_wait(self->mux, got, sizeof(got), 0, WAIT_MS));
	EXPECT_TRUE(msg_check(c, got, l2, 3000, 2));
	EXPECT_EQ(-1, recv(self->mux, got, sizeof(got), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

static ssize_t recv_flags(int fd, void *buf, size_t len, int flags,
			  int *msg_flags)
{
	struct iovec iov = { buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (!(poll_events(fd, POLLIN, WAIT_MS) & POLLIN))
		return -2;
	n = recvmsg(fd, &m, flags | MSG_DONTWAIT);
	*msg_flags = m.msg_flags;
	return n;
}

/*
 * A buffer shorter than the message: the buffer's worth is returned,
 * MSG_TRUNC is set and the rest is discarded (as UDP).  KCM does so on
 * SOCK_DGRAM; on SOCK_SEQPACKET (6.1) it discards the rest as well but
 * sets no MSG_TRUNC, so the application cannot tell (seen: recv of 10
 * bytes of a 100-byte message returns 10 with msg_flags 0, and the next
 * recv returns the next message).
 */
TEST_F(msg, short_buffer_truncates_and_discards_the_rest)
{
	const struct mux_cfg *c = &variant->cfg;
	bool no_trunc = is_kcm(variant) && c->type == SOCK_SEQPACKET;
	char msg[BUF], got[BUF];
	size_t len = msg_make(c, msg, 100, 3);
	ssize_t n;
	int fl = 0;

	ASSERT_EQ(0, peer_send(c, self->b, msg, len));
	ASSERT_EQ(10, recv_flags(self->mux, got, 10, 0, &fl));
	EXPECT_EQ(0, memcmp(got, msg, 10));
	EXPECT_EQ(no_trunc ? 0 : MSG_TRUNC, fl & MSG_TRUNC)
		TH_LOG("msg_flags %#x", fl);

	/* The next recv is the next message, whole. */
	peer_msg(_metadata, c, self->b, 20, 4);
	n = recv_flags(self->mux, got, BUF, 0, &fl);
	EXPECT_TRUE(msg_check(c, got, n, 20, 4)) TH_LOG("got %zd bytes", n);
	EXPECT_EQ(0, fl & MSG_TRUNC);
}

/*
 * MSG_TRUNC in the flags: the message's full length is returned (as UDP).
 * KCM (6.1) ignores the flag and returns the bytes copied.
 */
TEST_F(msg, msg_trunc_flag_returns_the_full_length)
{
	const struct mux_cfg *c = &variant->cfg;
	char msg[BUF], got[BUF];
	size_t len = msg_make(c, msg, 100, 5);
	int fl = 0;

	ASSERT_EQ(0, peer_send(c, self->b, msg, len));
	EXPECT_EQ(is_kcm(variant) ? 10 : len,
		  recv_flags(self->mux, got, 10, MSG_TRUNC, &fl));
	EXPECT_EQ(0, memcmp(got, msg, 10));
	if (!is_kcm(variant))
		EXPECT_EQ(MSG_TRUNC, fl & MSG_TRUNC);
	/* The message is gone all the same. */
	EXPECT_EQ(-1, recv(self->mux, got, BUF, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(msg, peek_leaves_the_message_queued)
{
	const struct mux_cfg *c = &variant->cfg;
	char msg[BUF], got[BUF];
	size_t len = msg_make(c, msg, 300, 6);

	ASSERT_EQ(0, peer_send(c, self->b, msg, len));
	EXPECT_EQ(len, recv_wait(self->mux, got, BUF, MSG_PEEK, WAIT_MS));
	EXPECT_TRUE(msg_check(c, got, len, 300, 6));
	memset(got, 0, sizeof(got));
	EXPECT_EQ(len, recv(self->mux, got, BUF, MSG_PEEK | MSG_DONTWAIT));
	EXPECT_EQ(len, recv(self->mux, got, BUF, MSG_DONTWAIT));
	EXPECT_TRUE(msg_check(c, got, len, 300, 6));
	EXPECT_EQ(-1, recv(self->mux, got, BUF, MSG_PEEK | MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(msg, dontwait_on_an_empty_socket_is_eagain)
{
	char got[16];

	EXPECT_EQ(-1, recv(self->mux, got, sizeof(got), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, set_nonblock(self->mux, true));
	EXPECT_EQ(-1, recv(self->mux, got, sizeof(got), 0));
	EXPECT_EQ(EAGAIN, errno);
}

static void set_timeo(int fd, int opt, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

TEST_F(msg, rcvtimeo_on_an_empty_socket_is_eagain)
{
	char got[16];
	long long t0 = now_ms(), dt;

	set_timeo(self->mux, SO_RCVTIMEO, 300);
	EXPECT_EQ(-1, recv(self->mux, got, sizeof(got), 0));
	EXPECT_EQ(EAGAIN, errno) TH_LOG("%s", strerror(errno));
	dt = now_ms() - t0;
	EXPECT_LE(250, dt);
	EXPECT_GT(3000, dt);
}

static void on_signal(int sig)
{
}

/* A signal interrupts a recv blocked on an empty socket: EINTR. */
TEST_F(msg, signal_interrupts_a_blocked_recv)
{
	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART */
	struct itimerval it = { .it_value = { 0, 200000 } };
	char got[16];
	long long t0 = now_ms();

	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	set_timeo(self->mux, SO_RCVTIMEO, 5000);	/* a backstop */
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	EXPECT_EQ(-1, recv(self->mux, got, sizeof(got), 0));
	EXPECT_EQ(EINTR, errno) TH_LOG("%s", strerror(errno));
	EXPECT_GT(4000, now_ms() - t0);
}

/* Many small messages at once, both ways. */
TEST_F(msg, sendmmsg_and_recvmmsg_of_many_small_messages)
{
	enum { N = 64 };
	const struct mux_cfg *c = &variant->cfg;
	static char bufs[N][128];
	struct mmsghdr mm[N] = {};
	struct iovec iov[N];
	int i, got = 0, n;
	long long deadline;

	for (i = 0; i < N; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = msg_make(c, bufs[i], i + 1, i);
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	ASSERT_EQ(N, sendmmsg(self->mux, mm, N, is_kcm(variant) ? MSG_EOR : 0))
		TH_LOG("sendmmsg: %s", strerror(errno));
	for (i = 0; i < N; i++)
		peer_expect(_metadata, c, self->b, i + 1, i);
	EXPECT_TRUE(tcp_quiet(self->b, 100));

	for (i = 0; i < N; i++) {
		peer_msg(_metadata, c, self->b, i + 1, 100 + i);
		iov[i].iov_len = sizeof(bufs[i]);
	}
	deadline = now_ms() + WAIT_MS;
	while (got < N && now_ms() < deadline) {
		if (!(poll_events(self->mux, POLLIN, 100) & POLLIN))
			continue;
		n = recvmmsg(self->mux, mm + got, N - got, MSG_DONTWAIT, NULL);
		ASSERT_LT(0, n) TH_LOG("recvmmsg: %s", strerror(errno));
		for (i = got; i < got + n; i++)
			EXPECT_TRUE(msg_check(c, bufs[i], mm[i].msg_len, i + 1,
					      100 + i))
				TH_LOG("message %d: %u bytes", i, mm[i].msg_len);
		got += n;
	}
	EXPECT_EQ(N, got);
}

/*
 * A nonblocking sender fills the path until EAGAIN.  Every send either
 * queued a whole message or failed: the peer then reads exactly the
 * messages that were accepted, whole and in order, and nothing else.
 */
TEST_F(msg, nonblocking_fill_never_sends_a_partial_message)
{
	enum { PAYLOAD = 3001, MAX = 100000 };
	const struct mux_cfg *c = &variant->cfg;
	char msg[PAYLOAD + HDR_LEN];
	long long deadline = now_ms() + 10000;
	ssize_t n = 0;
	int sent, i;

	for (sent = 0; sent < MAX && now_ms() < deadline; sent++) {
		size_t len = msg_make(c, msg, PAYLOAD, sent);

		n = mux_send(c, self->mux, msg, len, MSG_DONTWAIT);
		if (n < 0)
			break;
		ASSERT_EQ(len, n) TH_LOG("message %d: partial send", sent);
	}
	ASSERT_EQ(-1, n) TH_LOG("never got EAGAIN after %d messages", sent);
	ASSERT_EQ(EAGAIN, errno) TH_LOG("%s", strerror(errno));
	ASSERT_LT(0, sent);
	/* A few more refused sends must leave nothing behind either. */
	for (i = 1; i <= 3; i++)
		mux_send(c, self->mux, msg, msg_make(c, msg, PAYLOAD, sent + i),
			 MSG_DONTWAIT);
	TH_LOG("%d messages of %d bytes queued before EAGAIN", sent, PAYLOAD);

	for (i = 0; i < sent; i++)
		peer_expect(_metadata, c, self->b, PAYLOAD, i);
	/* Refused sends may be retried by the app, never half written. */
	if (!tcp_quiet(self->b, 300)) {
		char extra[PAYLOAD + HDR_LEN];

		n = peer_recv(c, self->b, extra, sizeof(extra), WAIT_MS);
		EXPECT_EQ(-1, n) TH_LOG("an extra message of %zd bytes", n);
	}
}

/*
 * A send whose iovec faults: EFAULT, and nothing of that message goes on
 * the wire; the next message is the first the peer sees.
 */
TEST_F(msg, faulting_iovec_is_efault_and_sends_nothing)
{
	const struct mux_cfg *c = &variant->cfg;
	char msg[BUF];
	size_t len = msg_make(c, msg, 96, 7);
	struct iovec iov[2] = {
		{ msg, len / 2 }, { (void *)1, len - len / 2 },
	};
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };

	EXPECT_EQ(-1, sendmsg(self->mux, &m, is_kcm(variant) ? MSG_EOR : 0));
	EXPECT_EQ(EFAULT, errno) TH_LOG("%s", strerror(errno));
	len = msg_make(c, msg, 20, 8);
	ASSERT_EQ(len, mux_send(c, self->mux, msg, len, 0));
	peer_expect(_metadata, c, self->b, 20, 8);
	EXPECT_TRUE(tcp_quiet(self->b, 100));
}

/* ---- msgmux only ----------------------------------------------------------- */

FIXTURE(mm)
{
	int mux;
	int a, b;
	uint32_t conn_id;
};

FIXTURE_VARIANT(mm)
{
	int type;
};

FIXTURE_VARIANT_ADD(mm, dgram)
{
	.type = SOCK_DGRAM,
};

FIXTURE_VARIANT_ADD(mm, seqpacket)
{
	.type = SOCK_SEQPACKET,
};

FIXTURE_SETUP(mm)
{
	self->mux = msgmux_socket(variant->type);
	ASSERT_LE(0, self->mux) TH_LOG("socket: %s", strerror(errno));
	ASSERT_EQ(0, tcp_pair(AF_INET, &self->a, &self->b));
	ASSERT_EQ(0, mux_attachx(self->mux, self->a, -1, &self->conn_id))
		TH_LOG("attach: %s", strerror(errno));
}

FIXTURE_TEARDOWN(mm)
{
	close(self->mux);
	close(self->a);
	close(self->b);
}

static const struct mux_cfg strip = { MUX_MSGMUX, SOCK_DGRAM, FRAME_STRIP };

/* The peer reads one frame: 4-byte big-endian length, then @want. */
static void peer_expect_bytes(struct __test_metadata *_metadata, int peer,
			      const void *want, size_t len)
{
	char got[BUF];
	ssize_t n = peer_recv(&strip, peer, got, sizeof(got), WAIT_MS);

	ASSERT_EQ(len, n) TH_LOG("peer read %zd bytes, want %zu", n, len);
	EXPECT_EQ(0, memcmp(got, want, len));
}

/*
 * Zero-length messages are legal both ways, and are not EOF.  (KCM has
 * none: its send() of nothing returns 0 and writes nothing, and a
 * zero length on the wire is a message of just the 4-byte header.)
 */
TEST_F(mm, zero_length_messages)
{
	static const char empty[HDR_LEN];
	char got[16];
	int fl = 0;

	EXPECT_EQ(0, send(self->mux, "", 0, 0)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, write(self->mux, NULL, 0));
	peer_expect_bytes(_metadata, self->b, "", 0);
	peer_expect_bytes(_metadata, self->b, "", 0);
	EXPECT_TRUE(tcp_quiet(self->b, 100));

	ASSERT_EQ(0, write_full(self->b, empty, HDR_LEN));
	ASSERT_EQ(0, peer_send(&strip, self->b, "x", 1));
	EXPECT_EQ(0, recv_flags(self->mux, got, sizeof(got), 0, &fl));
	EXPECT_EQ(0, fl & MSG_TRUNC);
	EXPECT_EQ(1, recv_wait(self->mux, got, sizeof(got), 0, WAIT_MS));
	EXPECT_EQ('x', got[0]);
}

/* After a faulting send, an empty write still works and sends []. */
TEST_F(mm, write_of_nothing_after_a_faulting_send)
{
	struct iovec iov[2] = { { "abcd", 4 }, { (void *)1, 4 } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };

	EXPECT_EQ(-1, sendmsg(self->mux, &m, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, write(self->mux, NULL, 0)) TH_LOG("%s", strerror(errno));
	peer_expect_bytes(_metadata, self->b, "", 0);
	EXPECT_TRUE(tcp_quiet(self->b, 100));
}

/* Without MSGMUX_EXPLICIT_EOR, MSG_EOR is accepted and changes nothing. */
TEST_F(mm, msg_eor_without_explicit_eor_changes_nothing)
{
	EXPECT_EQ(0, sockopt_level_int(self->mux, SOL_MSGMUX,
				       MSGMUX_EXPLICIT_EOR));
	EXPECT_EQ(3, send(self->mux, "abc", 3, MSG_EOR));
	EXPECT_EQ(2, send(self->mux, "de", 2, 0));
	peer_expect_bytes(_metadata, self->b, "abc", 3);
	peer_expect_bytes(_metadata, self->b, "de", 2);
}

/*
 * With MSGMUX_EXPLICIT_EOR a message is built by several sends and ends
 * with the one carrying MSG_EOR; another socket's message is not mixed
 * into it.  (KCM's SOCK_SEQPACKET always works so: see mux_send().)
 */
TEST_F(mm, explicit_eor_builds_a_message_from_several_sends)
{
	int one = 1, clone;

	ASSERT_EQ(0, setsockopt(self->mux, SOL_MSGMUX, MSGMUX_EXPLICIT_EOR,
				&one, sizeof(one)))
		TH_LOG("%s", strerror(errno));
	EXPECT_EQ(1, sockopt_level_int(self->mux, SOL_MSGMUX,
				       MSGMUX_EXPLICIT_EOR));
	clone = mux_clone(MUX_MSGMUX, self->mux);
	ASSERT_LE(0, clone);

	EXPECT_EQ(3, send(self->mux, "abc", 3, 0));
	EXPECT_EQ(2, send(self->mux, "de", 2, 0));
	/* The length cannot be on the wire before the message ends. */
	EXPECT_TRUE(tcp_quiet(self->b, 100));
	EXPECT_EQ(2, send(clone, "zz", 2, 0));
	peer_expect_bytes(_metadata, self->b, "zz", 2);
	EXPECT_EQ(1, send(self->mux, "f", 1, MSG_EOR));
	peer_expect_bytes(_metadata, self->b, "abcdef", 6);

	EXPECT_EQ(2, send(self->mux, "gh", 2, MSG_EOR));
	peer_expect_bytes(_metadata, self->b, "gh", 2);
	EXPECT_TRUE(tcp_quiet(self->b, 100));
	close(clone);
}

/* Over max_size (default MSGMUX_DEFAULT_MAX_SIZE, header included). */
TEST_F(mm, send_over_max_size_is_emsgsize)
{
	size_t len = MSGMUX_DEFAULT_MAX_SIZE - HDR_LEN + 1;
	char *big = calloc(1, len);

	ASSERT_NE(NULL, big);
	EXPECT_EQ(-1, send(self->mux, big, len, MSG_DONTWAIT));
	EXPECT_EQ(EMSGSIZE, errno) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(-1, send(self->mux, big, MSGMUX_MAX_SIZE_LIMIT, 0));
	EXPECT_EQ(EMSGSIZE, errno) TH_LOG("%s", strerror(errno));
	EXPECT_TRUE(tcp_quiet(self->b, 100));
	free(big);
}

static volatile sig_atomic_t sigpipes;

static void on_sigpipe(int sig)
{
	sigpipes++;
}

/* No connection to carry a message: EPIPE and SIGPIPE, as TCP. */
TEST_F(mm, send_without_a_connection_is_epipe)
{
	struct sigaction sa = { .sa_handler = on_sigpipe };
	int fresh = msgmux_socket(variant->type);

	ASSERT_LE(0, fresh);
	ASSERT_EQ(0, sigaction(SIGPIPE, &sa, NULL));
	ASSERT_EQ(0, mux_unattach(MUX_MSGMUX, self->mux, self->a));
	sigpipes = 0;
	EXPECT_EQ(-1, send(fresh, "x", 1, 0));
	EXPECT_EQ(EPIPE, errno) TH_LOG("never attached: %s", strerror(errno));
	EXPECT_EQ(1, sigpipes);
	EXPECT_EQ(-1, send(self->mux, "x", 1, 0));
	EXPECT_EQ(EPIPE, errno) TH_LOG("unattached: %s", strerror(errno));
	EXPECT_EQ(2, sigpipes);
	EXPECT_EQ(-1, send(self->mux, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(2, sigpipes);
	close(fresh);
}

/* recvfrom() names the connection: family, conn_id, peer address. */
static void check_name(struct __test_metadata *_metadata, int family)
{
	struct sockaddr_msgmux sm;
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer), alen = sizeof(sm);
	int mux = msgmux_socket(SOCK_DGRAM), a, b;
	uint32_t id = 0;
	char got[16];

	ASSERT_LE(0, mux);
	ASSERT_EQ(0, tcp_pair(family, &a, &b));
	ASSERT_EQ(0, mux_attachx(mux, a, -1, &id));
	ASSERT_EQ(0, getpeername(a, (struct sockaddr *)&peer, &len));
	ASSERT_EQ(0, peer_send(&strip, b, "hi", 2));
	ASSERT_TRUE(poll_events(mux, POLLIN, WAIT_MS) & POLLIN);
	memset(&sm, 0xa5, sizeof(sm));
	ASSERT_EQ(2, recvfrom(mux, got, sizeof(got), 0,
			      (struct sockaddr *)&sm, &alen));
	EXPECT_EQ(sizeof(sm), alen);
	EXPECT_EQ(msgmux_family(), sm.smm_family);
	EXPECT_EQ(0, sm.smm_reserved);
	EXPECT_EQ(id, sm.smm_conn_id);
	if (family == AF_INET) {
		struct sockaddr_in *p = (struct sockaddr_in *)&peer;

		EXPECT_EQ(AF_INET, sm.smm_peer_in.sin_family);
		EXPECT_EQ(p->sin_port, sm.smm_peer_in.sin_port);
		EXPECT_EQ(htonl(INADDR_LOOPBACK),
			  sm.smm_peer_in.sin_addr.s_addr);
	} else {
		struct sockaddr_in6 *p = (struct sockaddr_in6 *)&peer;

		EXPECT_EQ(AF_INET6, sm.smm_peer_in6.sin6_family);
		EXPECT_EQ(p->sin6_port, sm.smm_peer_in6.sin6_port);
		EXPECT_EQ(0, memcmp(&in6addr_loopback,
				    &sm.smm_peer_in6.sin6_addr, 16));
	}
	close(mux);
	close(a);
	close(b);
}

TEST(recvfrom_names_the_ipv4_connection)
{
	check_name(_metadata, AF_INET);
}

TEST(recvfrom_names_the_ipv6_connection)
{
	check_name(_metadata, AF_INET6);
}

/* sendto() with a message's address replies on that message's connection. */
TEST_F(mm, sendto_replies_on_the_connection_a_message_came_from)
{
	struct sockaddr_msgmux from[2];
	int a2, b2, peers[2], i;
	char got[16];

	ASSERT_EQ(0, tcp_pair(AF_INET6, &a2, &b2));
	ASSERT_EQ(0, mux_attachx(self->mux, a2, -1, NULL));
	peers[0] = self->b;
	peers[1] = b2;
	for (i = 0; i < 2; i++) {
		socklen_t alen = sizeof(from[i]);

		ASSERT_EQ(0, peer_send(&strip, peers[i], "q", 1));
		ASSERT_TRUE(poll_events(self->mux, POLLIN, WAIT_MS) & POLLIN);
		ASSERT_EQ(1, recvfrom(self->mux, got, sizeof(got), 0,
				      (struct sockaddr *)&from[i], &alen));
	}
	EXPECT_EQ(self->conn_id, from[0].smm_conn_id);
	EXPECT_NE(from[0].smm_conn_id, from[1].smm_conn_id);
	/* Replies in an order no round robin would pick. */
	for (i = 0; i < 6; i++) {
		int to = i % 3 == 0;
		char r[2] = { 'r', '0' + i };

		ASSERT_EQ(2, sendto(self->mux, r, 2, 0,
				    (struct sockaddr *)&from[to],
				    sizeof(from[to])))
			TH_LOG("sendto: %s", strerror(errno));
		peer_expect_bytes(_metadata, peers[to], r, 2);
	}
	EXPECT_TRUE(tcp_quiet(self->b, 100));
	EXPECT_TRUE(tcp_quiet(b2, 0));
	close(a2);
	close(b2);
}

/* sendto() a connection the mux does not have: ENOTCONN. */
TEST_F(mm, sendto_an_unknown_connection_is_enotconn)
{
	struct sockaddr_msgmux to = {
		.smm_family = msgmux_family(),
		.smm_conn_id = self->conn_id + 1000,
	};

	EXPECT_EQ(-1, sendto(self->mux, "x", 1, 0, (struct sockaddr *)&to,
			     sizeof(to)));
	EXPECT_EQ(ENOTCONN, errno) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, mux_unattach(MUX_MSGMUX, self->mux, self->a));
	to.smm_conn_id = self->conn_id;
	EXPECT_EQ(-1, sendto(self->mux, "x", 1, MSG_NOSIGNAL,
			     (struct sockaddr *)&to, sizeof(to)));
	EXPECT_EQ(ENOTCONN, errno) TH_LOG("gone: %s", strerror(errno));
	EXPECT_TRUE(tcp_quiet(self->b, 100));
}

/*
 * MSG_BATCH holds a message for the rest of its batch, not for ever: a
 * lone one still goes out.  (KCM holds it until the socket's next send.)
 */
TEST_F(mm, lone_msg_batch_message_still_goes_out)
{
	ASSERT_EQ(5, send(self->mux, "hello", 5, MSG_BATCH))
		TH_LOG("%s", strerror(errno));
	peer_expect_bytes(_metadata, self->b, "hello", 5);
	EXPECT_TRUE(tcp_quiet(self->b, 100));
}

static void mmsg_fill(struct mmsghdr *mm, struct iovec *iov, int n)
{
	int i;

	memset(mm, 0, n * sizeof(*mm));
	for (i = 0; i < n; i++) {
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
}

/*
 * A sendmmsg() whose last message faults returns the count it sent, and
 * those messages (sent with MSG_BATCH, their batch never ended) go out.
 */
TEST_F(mm, sendmmsg_cut_short_by_a_fault_sends_what_it_took)
{
	struct iovec iov[3] = { { "one", 3 }, { "two", 3 }, { (void *)1, 3 } };
	struct mmsghdr mm[3];

	mmsg_fill(mm, iov, 3);
	EXPECT_EQ(2, sendmmsg(self->mux, mm, 3, 0))
		TH_LOG("%s", strerror(errno));
	peer_expect_bytes(_metadata, self->b, "one", 3);
	peer_expect_bytes(_metadata, self->b, "two", 3);
	EXPECT_TRUE(tcp_quiet(self->b, 100));
}

/*
 * One batch over two connections (round robin): each gets every other
 * message, in order, whole.
 */
TEST_F(mm, sendmmsg_over_two_connections_writes_both)
{
	enum { N = 8 };
	char bufs[N][8], got[BUF];
	struct iovec iov[N];
	struct mmsghdr mm[N];
	int a2, b2, i, k, first, peer[2];
	uint32_t id2;
	ssize_t n;

	ASSERT_EQ(0, tcp_pair(AF_INET, &a2, &b2));
	ASSERT_EQ(0, mux_attachx(self->mux, a2, -1, &id2))
		TH_LOG("attach: %s", strerror(errno));
	for (i = 0; i < N; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = snprintf(bufs[i], sizeof(bufs[i]), "m%d", i);
	}
	mmsg_fill(mm, iov, N);
	ASSERT_EQ(N, sendmmsg(self->mux, mm, N, 0))
		TH_LOG("%s", strerror(errno));

	peer[0] = self->b;
	peer[1] = b2;
	for (k = 0; k < 2; k++) {
		first = -1;
		for (i = 0; i < N / 2; i++) {
			n = peer_recv(&strip, peer[k], got, sizeof(got), WAIT_MS);
			ASSERT_LT(0, n) TH_LOG("peer %d: message %d missing", k, i);
			got[n] = 0;
			if (first < 0)
				first = atoi(got + 1);
			EXPECT_EQ(first + 2 * i, atoi(got + 1))
				TH_LOG("peer %d got %s", k, got);
		}
		EXPECT_TRUE(tcp_quiet(peer[k], 100));
	}
	close(a2);
	close(b2);
}

/*
 * A message is charged what it uses, not the TCP segment it came in (a
 * clone of the segment would be charged all of it): 150 messages of 64
 * bytes written at once fit in a default receive buffer, so the
 * connection's parser reads the stream to its end before anyone reads.
 * Charged a clone each, the socket would be full after about 20, and
 * the rest would wait in TCP.
 */
TEST_F(mm, small_messages_of_one_segment_fit_the_receive_buffer)
{
	enum { N = 150, LEN = 64, FRAME = HDR_LEN + LEN };
	static char wire[N * FRAME];
	char got[BUF];
	long long deadline;
	int i, inq = -1;

	for (i = 0; i < N; i++) {
		put_be32(wire + i * FRAME, LEN);
		fill_pattern(wire + i * FRAME + HDR_LEN, LEN, i);
	}
	ASSERT_EQ(0, write_full(self->b, wire, sizeof(wire)));

	deadline = now_ms() + WAIT_MS;
	while (now_ms() < deadline) {
		ASSERT_EQ(0, ioctl(self->a, SIOCINQ, &inq));
		if (!inq)
			break;
		usleep(10000);
	}
	EXPECT_EQ(0, inq) TH_LOG("%d bytes left unparsed in TCP", inq);

	for (i = 0; i < N; i++) {
		ASSERT_EQ(LEN, recv_wait(self->mux, got, sizeof(got), 0,
					 WAIT_MS)) TH_LOG("message %d", i);
		EXPECT_EQ(0, memcmp(got, wire + i * FRAME + HDR_LEN, LEN))
			TH_LOG("message %d is wrong", i);
	}
}

TEST_HARNESS_MAIN
