// SPDX-License-Identifier: GPL-2.0
/*
 * attach_test - attaching TCP sockets to a multiplexor, detaching them and
 * cloning upper sockets (SIOCMSGMUXATTACH, ATTACHX, UNATTACH, CLONE).
 *
 * The shared tests run against msgmux and the in-tree AF_KCM: the ioctls
 * have KCM's numbers and layouts, so a test that passes on KCM checks the
 * test itself.  Where KCM answers with another errno, the KCM variant
 * expects what KCM was seen to do (Linux 6.1), so the difference is
 * written down and kept honest.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <linux/kcm.h>
#include <unistd.h>

#include "harness.h"
#include "libmsgmux.h"
#include "util.h"

#define BUF 4096

FIXTURE(attach)
{
	int mux;
	int a, b;	/* a TCP pair over 127.0.0.1: a is attached, b the peer */
};

FIXTURE_VARIANT(attach)
{
	struct mux_cfg cfg;
};

FIXTURE_VARIANT_ADD(attach, kcm)
{
	.cfg = { MUX_KCM, SOCK_DGRAM, FRAME_BPF },
};

FIXTURE_VARIANT_ADD(attach, msgmux)
{
	.cfg = { MUX_MSGMUX, SOCK_DGRAM, FRAME_KEEP_HDR },
};

FIXTURE_VARIANT_ADD(attach, msgmux_bpf)
{
	.cfg = { MUX_MSGMUX, SOCK_SEQPACKET, FRAME_BPF },
};

FIXTURE_VARIANT_ADD(attach, msgmux_strip)
{
	.cfg = { MUX_MSGMUX, SOCK_SEQPACKET, FRAME_STRIP },
};

FIXTURE_SETUP(attach)
{
	self->mux = mux_open(&variant->cfg);
	ASSERT_LE(0, self->mux) TH_LOG("mux socket: %s", strerror(errno));
	ASSERT_EQ(0, tcp_pair(AF_INET, &self->a, &self->b));
}

FIXTURE_TEARDOWN(attach)
{
	close(self->mux);
	close(self->a);
	close(self->b);
}

static bool is_kcm(const FIXTURE_VARIANT(attach) *v)
{
	return v->cfg.kind == MUX_KCM;
}

/* A message the peer writes arrives on @mux, whole. */
static void peer_to_mux(struct __test_metadata *_metadata,
			const struct mux_cfg *c, int peer, int mux,
			unsigned int seed)
{
	char msg[BUF], got[BUF];
	size_t len = msg_make(c, msg, 100 + seed, seed);
	ssize_t n;

	ASSERT_EQ(0, peer_send(c, peer, msg, len));
	n = recv_wait(mux, got, sizeof(got), 0, WAIT_MS);
	ASSERT_EQ(len, n) TH_LOG("recv on the mux: %zd (%s)", n,
				 n < 0 ? strerror(errno) : "short");
	ASSERT_TRUE(msg_check(c, got, n, 100 + seed, seed));
}

/* A message sent on @mux reaches the peer's TCP socket, framed. */
static void mux_to_peer(struct __test_metadata *_metadata,
			const struct mux_cfg *c, int mux, int peer,
			unsigned int seed)
{
	char msg[BUF], got[BUF];
	size_t len = msg_make(c, msg, 200 + seed, seed);
	ssize_t n;

	n = mux_send(c, mux, msg, len, 0);
	ASSERT_EQ(len, n) TH_LOG("send on the mux: %s", strerror(errno));
	n = peer_recv(c, peer, got, sizeof(got), WAIT_MS);
	ASSERT_EQ(len, n) TH_LOG("the peer read no whole message");
	ASSERT_TRUE(msg_check(c, got, n, 200 + seed, seed));
}

static void messages_flow(struct __test_metadata *_metadata,
			  const struct mux_cfg *c, int mux, int peer)
{
	peer_to_mux(_metadata, c, peer, mux, 1);
	mux_to_peer(_metadata, c, mux, peer, 2);
}

TEST_F(attach, ipv4_messages_flow)
{
	ASSERT_EQ(0, mux_attach_cfg(&variant->cfg, self->mux, self->a))
		TH_LOG("attach: %s", strerror(errno));
	messages_flow(_metadata, &variant->cfg, self->mux, self->b);
}

TEST_F(attach, ipv6_messages_flow)
{
	int a, b;

	ASSERT_EQ(0, tcp_pair(AF_INET6, &a, &b));
	ASSERT_EQ(0, mux_attach_cfg(&variant->cfg, self->mux, a))
		TH_LOG("attach: %s", strerror(errno));
	messages_flow(_metadata, &variant->cfg, self->mux, b);
	close(a);
	close(b);
}

/* Two connections on one mux: each peer's message arrives. */
TEST_F(attach, two_connections_on_one_mux)
{
	int a2, b2;

	ASSERT_EQ(0, tcp_pair(AF_INET6, &a2, &b2));
	ASSERT_EQ(0, mux_attach_cfg(&variant->cfg, self->mux, self->a));
	ASSERT_EQ(0, mux_attach_cfg(&variant->cfg, self->mux, a2));
	peer_to_mux(_metadata, &variant->cfg, self->b, self->mux, 3);
	peer_to_mux(_metadata, &variant->cfg, b2, self->mux, 4);
	close(a2);
	close(b2);
}

/* A socket already attached, to this mux or another: EALREADY (as KCM). */
TEST_F(attach, attached_twice_is_ealready)
{
	int other = mux_open(&variant->cfg);

	ASSERT_LE(0, other);
	ASSERT_EQ(0, mux_attach_cfg(&variant->cfg, self->mux, self->a));
	EXPECT_EQ(-1, mux_attach_cfg(&variant->cfg, self->mux, self->a));
	EXPECT_EQ(EALREADY, errno) TH_LOG("same mux: %s", strerror(errno));
	EXPECT_EQ(-1, mux_attach_cfg(&variant->cfg, other, self->a));
	EXPECT_EQ(EALREADY, errno) TH_LOG("other mux: %s", strerror(errno));
	/* The first attachment is untouched. */
	messages_flow(_metadata, &variant->cfg, self->mux, self->b);
	close(other);
}

/*
 * bpf_fd that is no BPF program: EINVAL; a closed one: EBADF.  KCM says
 * the same (bpf_prog_get_type()).  The socket stays unattached.
 */
TEST_F(attach, bad_bpf_fd)
{
	int p[2], closed = dup(0);

	ASSERT_EQ(0, pipe(p));
	close(closed);
	EXPECT_EQ(-1, mux_attach(variant->cfg.kind, self->mux, self->a, p[0]));
	EXPECT_EQ(EINVAL, errno) TH_LOG("pipe: %s", strerror(errno));
	EXPECT_EQ(-1, mux_attach(variant->cfg.kind, self->mux, self->a,
				 closed));
	EXPECT_EQ(EBADF, errno) TH_LOG("closed: %s", strerror(errno));
	ASSERT_EQ(0, mux_attach_cfg(&variant->cfg, self->mux, self->a));
	messages_flow(_metadata, &variant->cfg, self->mux, self->b);
	close(p[0]);
	close(p[1]);
}

/* ---- fds that are not a connected TCP socket ----------------------------- */

static int closed_fd(int mux)
{
	int fd = dup(mux);

	close(fd);
	return fd;
}

static int pipe_fd(int mux)
{
	int p[2];

	if (pipe(p))
		return -1;
	close(p[1]);
	return p[0];
}

static int devnull_fd(int mux)
{
	return open("/dev/null", O_RDWR | O_CLOEXEC);
}

/* A UDP socket, even a connected one. */
static int udp_fd(int mux)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET, .sin_port = htons(9),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
		return -1;
	return fd;
}

static int unix_fd(int mux)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return -1;
	return sv[0];
}

static int own_fd(int mux)
{
	return dup(mux);
}

static int msgmux_fd(int mux)
{
	return msgmux_socket(SOCK_SEQPACKET);
}

static int kcm_fd(int mux)
{
	return socket(AF_KCM, SOCK_DGRAM, KCMPROTO_CONNECTED);
}

static int listener_fd(int mux)
{
	return tcp_listener(AF_INET);
}

static int unconnected_fd(int mux)
{
	return socket(AF_INET6, SOCK_STREAM, 0);
}

struct bad_fd {
	const char *name;
	int (*make)(int mux);
	int err;	/* msgmux */
	int kcm_err;	/* what KCM on 6.1 was seen to answer */
};

/*
 * KCM looks the fd up with sockfd_lookup() and answers ENOENT for any fd
 * that is not a socket, and EOPNOTSUPP for any socket it cannot use.
 * msgmux gives the errnos a socket call would: EBADF, ENOTSOCK, and
 * ENOTCONN for a TCP socket that is not connected.
 */
static const struct bad_fd bad_fds[] = {
	{ "closed fd",		closed_fd,	EBADF,		ENOENT },
	{ "pipe",		pipe_fd,	ENOTSOCK,	ENOENT },
	{ "/dev/null",		devnull_fd,	ENOTSOCK,	ENOENT },
	{ "UDP socket",		udp_fd,		EOPNOTSUPP,	EOPNOTSUPP },
	{ "AF_UNIX socket",	unix_fd,	EOPNOTSUPP,	EOPNOTSUPP },
	{ "the mux itself",	own_fd,		EOPNOTSUPP,	EOPNOTSUPP },
	{ "a msgmux socket",	msgmux_fd,	EOPNOTSUPP,	EOPNOTSUPP },
	{ "a KCM socket",	kcm_fd,		EOPNOTSUPP,	EOPNOTSUPP },
	{ "listening TCP",	listener_fd,	ENOTCONN,	EOPNOTSUPP },
	{ "unconnected TCP",	unconnected_fd,	ENOTCONN,	EOPNOTSUPP },
};

TEST_F(attach, rejects_what_is_not_a_connected_tcp_socket)
{
	int bpf = bpf_len_parser();
	unsigned int i;

	ASSERT_LE(0, bpf);
	for (i = 0; i < ARRAY_SIZE(bad_fds); i++) {
		const struct bad_fd *t = &bad_fds[i];
		int want = is_kcm(variant) ? t->kcm_err : t->err;
		int fd = t->make(self->mux);
		int ret, err;

		ASSERT_NE(-1, fd) TH_LOG("%s: %s", t->name, strerror(errno));
		/* With the mux's own framing and with a BPF parser. */
		ret = mux_attach(variant->cfg.kind, self->mux, fd,
				 is_kcm(variant) ? bpf : -1);
		err = errno;
		EXPECT_EQ(-1, ret) TH_LOG("%s: attached", t->name);
		EXPECT_EQ(want, err) TH_LOG("%s: %s, want %s", t->name,
					    strerror(err), strerror(want));
		ret = mux_attach(variant->cfg.kind, self->mux, fd, bpf);
		err = errno;
		EXPECT_EQ(-1, ret) TH_LOG("%s + bpf: attached", t->name);
		EXPECT_EQ(want, err) TH_LOG("%s + bpf: %s", t->name,
					    strerror(err));
		if (t->make != closed_fd)
			close(fd);
	}
	/* Nothing changed: the mux takes a good socket and works. */
	ASSERT_EQ(0, mux_attach_cfg(&variant->cfg, self->mux, self->a));
	messages_flow(_metadata, &variant->cfg, self->mux, self->b);
	close(bpf);
}

/* ---- unattach ------------------------------------------------------------ */

/* msgmux: EINVAL for a socket not attached to this mux; KCM: ENOENT. */
TEST_F(attach, unattach_of_a_socket_not_attached_here)
{
	int want = is_kcm(variant) ? ENOENT : EINVAL;
	int other = mux_open(&variant->cfg);

	ASSERT_LE(0, other);
	EXPECT_EQ(-1, mux_unattach(variant->cfg.kind, self->mux, self->a));
	EXPECT_EQ(want, errno) TH_LOG("never attached: %s", strerror(errno));

	ASSERT_EQ(0, mux_attach_cfg(&variant->cfg, other, self->a));
	EXPECT_EQ(-1, mux_unattach(variant->cfg.kind, self->mux, self->a));
	EXPECT_EQ(want, errno) TH_LOG("on another mux: %s", strerror(errno));
	/* The other mux still has it. */
	messages_flow(_metadata, &variant->cfg, other, self->b);
	close(other);
}

/* After unattach, the TCP socket is an ordinary socket again. */
TEST_F(attach, unattached_socket_is_ordinary_again)
{
	int want = is_kcm(variant) ? ENOENT : EINVAL;
	char buf[16];

	ASSERT_EQ(0, mux_attach_cfg(&variant->cfg, self->mux, self->a));
	messages_flow(_metadata, &variant->cfg, self->mux, self->b);
	ASSERT_EQ(0, mux_unattach(variant->cfg.kind, self->mux, self->a))
		TH_LOG("unattach: %s", strerror(errno));
	EXPECT_EQ(-1, mux_unattach(variant->cfg.kind, self->mux, self->a));
	EXPECT_EQ(want, errno) TH_LOG("second unattach: %s", strerror(errno));

	ASSERT_EQ(0, write_full(self->b, "from the peer", 13));
	ASSERT_EQ(13, read_full(self->a, buf, 13, WAIT_MS))
		TH_LOG("the owner cannot read its socket");
	EXPECT_EQ(0, memcmp(buf, "from the peer", 13));
	ASSERT_EQ(0, write_full(self->a, "to the peer", 11));
	ASSERT_EQ(11, read_full(self->b, buf, 11, WAIT_MS));
	EXPECT_EQ(0, memcmp(buf, "to the peer", 11));
	/* And it can be attached again. */
	ASSERT_EQ(0, mux_attach_cfg(&variant->cfg, self->mux, self->a));
	messages_flow(_metadata, &variant->cfg, self->mux, self->b);
}

/* ---- clone and close ----------------------------------------------------- */

/* Receive @n messages spread over two sockets; returns how many arrived. */
static int recv_on_either(int s1, int s2, int n)
{
	long long deadline = now_ms() + WAIT_MS;
	struct pollfd p[2] = { { s1, POLLIN, 0 }, { s2, POLLIN, 0 } };
	char buf[BUF];
	int got = 0, i;

	while (got < n && now_ms() < deadline) {
		if (poll(p, 2, 100) < 0)
			break;
		for (i = 0; i < 2; i++)
			if ((p[i].revents & POLLIN) &&
			    recv(p[i].fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
				got++;
	}
	return got;
}

TEST_F(attach, clone_is_a_socket_on_the_same_mux)
{
	const struct mux_cfg *c = &variant->cfg;
	struct proc_row r1, r2;
	char msg[BUF];
	int fd = mux_clone(c->kind, self->mux), i;

	ASSERT_LE(0, fd) TH_LOG("clone: %s", strerror(errno));
	EXPECT_EQ(c->type, sockopt_int(fd, SO_TYPE));
	/* msgmux's clone is close-on-exec; KCM's (6.1) is not. */
	EXPECT_EQ(is_kcm(variant) ? 0 : FD_CLOEXEC, fcntl(fd, F_GETFD));
	if (!is_kcm(variant)) {
		ASSERT_EQ(0, proc_find_sock(fd_inode(self->mux), &r1));
		ASSERT_EQ(0, proc_find_sock(fd_inode(fd), &r2));
		EXPECT_EQ(r1.mux, r2.mux);
	}
	ASSERT_EQ(0, mux_attach_cfg(c, self->mux, self->a));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, peer_send(c, self->b, msg,
				       msg_make(c, msg, 10, i)));
	EXPECT_EQ(4, recv_on_either(self->mux, fd, 4));
	/* The clone sends on the mux's connection. */
	mux_to_peer(_metadata, c, fd, self->b, 5);
	/* And still works alone once the first socket is gone. */
	close(self->mux);
	self->mux = fd;
	messages_flow(_metadata, c, fd, self->b);
}

/* Closing the mux detaches its TCP sockets; their owner keeps them. */
TEST_F(attach, close_of_the_mux_detaches_tcp_sockets)
{
	char buf[16];

	ASSERT_EQ(0, mux_attach_cfg(&variant->cfg, self->mux, self->a));
	messages_flow(_metadata, &variant->cfg, self->mux, self->b);
	ASSERT_EQ(0, close(self->mux));
	self->mux = -1;

	ASSERT_EQ(0, write_full(self->b, "raw bytes", 9));
	ASSERT_EQ(9, read_full(self->a, buf, 9, WAIT_MS))
		TH_LOG("the owner cannot read its socket");
	EXPECT_EQ(0, memcmp(buf, "raw bytes", 9));
	ASSERT_EQ(0, write_full(self->a, "reply", 5));
	ASSERT_EQ(5, read_full(self->b, buf, 5, WAIT_MS));
	EXPECT_EQ(0, memcmp(buf, "reply", 5));
	EXPECT_EQ(0, sockopt_int(self->a, SO_ERROR));
}

/* ---- msgmux only: SIOCMSGMUXATTACHX ---------------------------------------- */

TEST(attachx_returns_distinct_conn_ids)
{
	uint32_t id1 = 0, id2 = 0;
	int mux = msgmux_socket(SOCK_DGRAM), a1, b1, a2, b2;

	ASSERT_LE(0, mux);
	ASSERT_EQ(0, tcp_pair(AF_INET, &a1, &b1));
	ASSERT_EQ(0, tcp_pair(AF_INET6, &a2, &b2));
	ASSERT_EQ(0, mux_attachx(mux, a1, -1, &id1))
		TH_LOG("ATTACHX: %s", strerror(errno));
	ASSERT_EQ(0, mux_attachx(mux, a2, -1, &id2));
	EXPECT_NE(0, id1);
	EXPECT_NE(0, id2);
	EXPECT_NE(id1, id2);
	close(mux);
	close(a1);
	close(b1);
	close(a2);
	close(b2);
}

/* flags and reserved must be zero; the socket stays unattached. */
TEST(attachx_rejects_flags_and_reserved)
{
	struct msgmux_attach_ext x;
	int mux = msgmux_socket(SOCK_DGRAM), a, b;
	uint32_t id = 0;

	ASSERT_LE(0, mux);
	ASSERT_EQ(0, tcp_pair(AF_INET, &a, &b));
	x = (struct msgmux_attach_ext){ .fd = a, .bpf_fd = -1, .flags = 1 };
	EXPECT_EQ(-1, ioctl(mux, SIOCMSGMUXATTACHX, &x));
	EXPECT_EQ(EINVAL, errno) TH_LOG("flags: %s", strerror(errno));
	x = (struct msgmux_attach_ext){ .fd = a, .bpf_fd = -1,
					.flags = 1U << 31 };
	EXPECT_EQ(-1, ioctl(mux, SIOCMSGMUXATTACHX, &x));
	EXPECT_EQ(EINVAL, errno) TH_LOG("flags: %s", strerror(errno));
	x = (struct msgmux_attach_ext){ .fd = a, .bpf_fd = -1,
					.reserved = 1ULL << 63 };
	EXPECT_EQ(-1, ioctl(mux, SIOCMSGMUXATTACHX, &x));
	EXPECT_EQ(EINVAL, errno) TH_LOG("reserved: %s", strerror(errno));
	/* Nothing was attached: a good call still works. */
	EXPECT_EQ(0, mux_attachx(mux, a, -1, &id));
	EXPECT_NE(0, id);
	close(mux);
	close(a);
	close(b);
}

/* A TCP socket that KCM holds is already attached, for msgmux too. */
TEST(attach_of_a_socket_kcm_holds)
{
	int kcm = socket(AF_KCM, SOCK_DGRAM, KCMPROTO_CONNECTED);
	int mux = msgmux_socket(SOCK_DGRAM), bpf = bpf_len_parser(), a, b;

	ASSERT_LE(0, kcm);
	ASSERT_LE(0, mux);
	ASSERT_LE(0, bpf);
	ASSERT_EQ(0, tcp_pair(AF_INET, &a, &b));
	ASSERT_EQ(0, mux_attach(MUX_KCM, kcm, a, bpf));
	EXPECT_EQ(-1, mux_attach(MUX_MSGMUX, mux, a, -1));
	EXPECT_EQ(EALREADY, errno) TH_LOG("%s", strerror(errno));
	close(kcm);
	close(mux);
	close(bpf);
	close(a);
	close(b);
}

TEST_HARNESS_MAIN
