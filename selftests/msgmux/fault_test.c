// SPDX-License-Identifier: GPL-2.0
/*
 * fault_test - connections that fail, and races KCM is known to lose.
 *
 * A failed connection leaves service, the bytes of its partial message
 * are dropped and counted, the error is posted on the TCP socket and
 * every upper socket reads a struct msgmux_conn_error from MSG_ERRQUEUE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"
#include "libmsgmux.h"
#include "util.h"

static const struct mux_cfg cfg = { MUX_MSGMUX, SOCK_SEQPACKET, FRAME_STRIP };

/* Read a notification from @mux's error queue. */
static int recv_conn_error(int mux, struct msgmux_conn_error *ce,
			   struct sockaddr_msgmux *addr, int flags)
{
	struct iovec iov = { ce, sizeof(*ce) };
	struct msghdr mh = {
		.msg_name = addr, .msg_namelen = sizeof(*addr),
		.msg_iov = &iov, .msg_iovlen = 1,
	};

	return recvmsg(mux, &mh, MSG_ERRQUEUE | flags) == sizeof(*ce) ?
	       0 : -errno;
}

/*
 * Wait for a notification on @mux and read it: first with MSG_PEEK,
 * which must leave it queued, then for real.
 */
static int read_conn_error(int mux, struct msgmux_conn_error *ce,
			   struct sockaddr_msgmux *addr)
{
	struct msgmux_conn_error peeked;
	int err;

	if (!(poll_events(mux, 0, WAIT_MS) & POLLERR))
		return -ETIMEDOUT;
	err = recv_conn_error(mux, &peeked, addr, MSG_PEEK);
	if (err)
		return err;
	err = recv_conn_error(mux, ce, addr, MSG_CMSG_CLOEXEC);
	if (!err && memcmp(&peeked, ce, sizeof(*ce)))
		return -EIO;
	return err;
}

/* The peer starts a 100-byte message and sends only 10 bytes of it. */
static int send_partial(int peer)
{
	char part[HDR_LEN + 10] = { 0 };

	put_be32(part, 100);
	return write_full(peer, part, sizeof(part));
}

FIXTURE(conn)
{
	int mux, tcp, peer;
	uint32_t id;
};

FIXTURE_SETUP(conn)
{
	self->mux = mux_open(&cfg);
	ASSERT_LE(0, self->mux);
	ASSERT_EQ(0, tcp_pair(AF_INET, &self->tcp, &self->peer));
}

FIXTURE_TEARDOWN(conn)
{
	close(self->mux);
	close(self->tcp);
	if (self->peer >= 0)
		close(self->peer);
}

/*
 * SO_RCVTIMEO on the TCP socket bounds how long a message may take to
 * arrive (KCM's rule); a message held past it fails the connection.
 */
TEST_F(conn, assembly_timeout_drops_the_partial_message)
{
	struct timeval tv = { .tv_usec = 200 * 1000 };
	struct msgmux_conn_error ce;
	struct sockaddr_msgmux addr;

	ASSERT_EQ(0, setsockopt(self->tcp, SOL_SOCKET, SO_RCVTIMEO, &tv,
				sizeof(tv)));
	ASSERT_EQ(0, mux_attachx(self->mux, self->tcp, -1, &self->id));
	ASSERT_EQ(0, send_partial(self->peer));

	ASSERT_EQ(0, read_conn_error(self->mux, &ce, &addr));
	EXPECT_EQ(self->id, ce.conn_id);
	EXPECT_EQ(ETIMEDOUT, ce.error);
	EXPECT_EQ(MSGMUX_CONN_TIMEOUT, ce.reason);
	EXPECT_EQ(HDR_LEN + 10, ce.dropped_bytes);
	EXPECT_EQ(self->id, addr.smm_conn_id);
	EXPECT_EQ(ETIMEDOUT, sockopt_int(self->tcp, SO_ERROR));
	/* Out of service: nothing can be sent on it any more. */
	EXPECT_EQ(-1, send(self->mux, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
}

/* A reset in the middle of a message: ECONNRESET, partial bytes counted. */
TEST_F(conn, reset_mid_message_is_reported)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct msgmux_conn_error ce;
	struct sockaddr_msgmux addr;
	struct proc_row row;

	ASSERT_EQ(0, mux_attachx(self->mux, self->tcp, -1, &self->id));
	ASSERT_EQ(0, send_partial(self->peer));
	usleep(100 * 1000);
	ASSERT_EQ(0, setsockopt(self->peer, SOL_SOCKET, SO_LINGER, &lg,
				sizeof(lg)));
	close(self->peer);
	self->peer = -1;

	ASSERT_EQ(0, read_conn_error(self->mux, &ce, &addr));
	EXPECT_EQ(self->id, ce.conn_id);
	EXPECT_EQ(ECONNRESET, ce.error);
	EXPECT_EQ(MSGMUX_CONN_TCP_ERROR, ce.reason);
	EXPECT_EQ(HDR_LEN + 10, ce.dropped_bytes);
	EXPECT_EQ(AF_INET, addr.smm_peer_in.sin_family);
	/* No more notification; /proc counts the dropped message. */
	EXPECT_EQ(-EAGAIN, recv_conn_error(self->mux, &ce, &addr, 0));
	ASSERT_EQ(0, proc_find_sock(fd_inode(self->mux), &row));
	ASSERT_EQ(0, proc_find_mux(row.mux, &row));
	EXPECT_LE(1, row.errors);
	EXPECT_EQ(1, row.dropped);
}

/* Messages a connection carried before it failed were all delivered. */
TEST_F(conn, messages_before_a_failure_are_delivered)
{
	struct msgmux_conn_error ce;
	struct sockaddr_msgmux addr;
	char buf[64];
	int i;

	ASSERT_EQ(0, mux_attachx(self->mux, self->tcp, -1, &self->id));
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, peer_send(&cfg, self->peer, "hello", 5));
	put_be32(buf, 0x7fffffff);	/* over max_size */
	ASSERT_EQ(0, write_full(self->peer, buf, HDR_LEN));

	ASSERT_EQ(0, read_conn_error(self->mux, &ce, &addr));
	EXPECT_EQ(MSGMUX_CONN_TOO_BIG, ce.reason);
	for (i = 0; i < 5; i++)
		EXPECT_EQ(5, recv_wait(self->mux, buf, sizeof(buf), 0, WAIT_MS));
}

/* A peer's clean close: the connection leaves, error 0, nothing lost. */
TEST_F(conn, peer_close_is_reported_as_closed)
{
	struct msgmux_conn_error ce;
	struct sockaddr_msgmux addr;
	struct proc_row row;
	char buf[16];

	ASSERT_EQ(0, mux_attachx(self->mux, self->tcp, -1, &self->id));
	ASSERT_EQ(0, peer_send(&cfg, self->peer, "bye", 3));
	ASSERT_EQ(0, shutdown(self->peer, SHUT_WR));

	ASSERT_EQ(0, read_conn_error(self->mux, &ce, &addr));
	EXPECT_EQ(MSGMUX_CONN_CLOSED, ce.reason);
	EXPECT_EQ(0, ce.error);
	EXPECT_EQ(0, ce.dropped_bytes);
	EXPECT_EQ(3, recv_wait(self->mux, buf, sizeof(buf), 0, WAIT_MS));
	EXPECT_EQ(-1, send(self->mux, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
	/* A clean close is not an error. */
	ASSERT_EQ(0, proc_find_sock(fd_inode(self->mux), &row));
	ASSERT_EQ(0, proc_find_mux(row.mux, &row));
	EXPECT_EQ(0, row.errors);
	EXPECT_EQ(0, row.dropped);
}

/* Attaching a socket whose peer has closed already: reported at once. */
TEST_F(conn, attach_after_peer_close_is_reported)
{
	struct msgmux_conn_error ce;
	struct sockaddr_msgmux addr;
	char buf[16];

	ASSERT_EQ(0, peer_send(&cfg, self->peer, "last", 4));
	ASSERT_EQ(0, shutdown(self->peer, SHUT_WR));
	usleep(100 * 1000);
	ASSERT_EQ(0, mux_attachx(self->mux, self->tcp, -1, &self->id));
	ASSERT_EQ(0, read_conn_error(self->mux, &ce, &addr));
	EXPECT_EQ(MSGMUX_CONN_CLOSED, ce.reason);
	EXPECT_EQ(self->id, ce.conn_id);
	/* What arrived before the FIN is not lost: delivered or still there. */
	if (recv_wait(self->mux, buf, sizeof(buf), 0, 200) != 4)
		EXPECT_EQ(HDR_LEN + 4, read_full(self->tcp, buf, HDR_LEN + 4,
						 WAIT_MS));
}

/* A close in the middle of a message: EPIPE, the partial bytes counted. */
TEST_F(conn, peer_close_mid_message_drops_it)
{
	struct msgmux_conn_error ce;
	struct sockaddr_msgmux addr;

	ASSERT_EQ(0, mux_attachx(self->mux, self->tcp, -1, &self->id));
	ASSERT_EQ(0, send_partial(self->peer));
	usleep(100 * 1000);
	ASSERT_EQ(0, shutdown(self->peer, SHUT_WR));

	ASSERT_EQ(0, read_conn_error(self->mux, &ce, &addr));
	EXPECT_EQ(MSGMUX_CONN_CLOSED, ce.reason);
	EXPECT_EQ(EPIPE, ce.error);
	EXPECT_EQ(HDR_LEN + 10, ce.dropped_bytes);
}

/*
 * Unattach while a message is half written (the peer does not read):
 * the TCP connection is aborted rather than handed back with a partial
 * message on it, which the peer would misframe.
 */
TEST_F(conn, unattach_mid_message_aborts_the_connection)
{
	enum { BIG = 1 << 20 };
	char *big = calloc(1, BIG);
	int small = 4096;

	ASSERT_NE(NULL, big);
	ASSERT_EQ(0, setsockopt(self->tcp, SOL_SOCKET, SO_SNDBUF, &small,
				sizeof(small)));
	ASSERT_EQ(0, setsockopt(self->peer, SOL_SOCKET, SO_RCVBUF, &small,
				sizeof(small)));
	ASSERT_EQ(0, mux_attach_cfg(&cfg, self->mux, self->tcp));
	ASSERT_EQ(BIG, send(self->mux, big, BIG, 0));
	usleep(200 * 1000);
	ASSERT_EQ(0, mux_unattach(MUX_MSGMUX, self->mux, self->tcp));
	EXPECT_EQ(ECONNABORTED, sockopt_int(self->tcp, SO_ERROR));
	free(big);
}

struct sender {
	int fd, id, n, size, err;
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	char msg[8192];
	int i;

	for (i = 0; i < s->n; i++) {
		fill_pattern(msg, s->size, s->id << 16 | i);
		if (send(s->fd, msg, s->size, 0) != s->size) {
			s->err = errno;
			break;
		}
	}
	return NULL;
}

/*
 * Two threads send on one socket while the path is full, so both block
 * for memory.  Every message reaches the peer whole, each thread's in
 * order, none interleaved with another.  (KCM needed a fix for this:
 * "kcm: Serialise kcm_sendmsg() for the same socket.", 2023.)
 */
TEST_F(conn, two_senders_blocked_for_memory_never_interleave)
{
	enum { N = 150, SIZE = 4000 };
	struct sender s[2] = {
		{ self->mux, 1, N, SIZE, 0 }, { self->mux, 2, N, SIZE, 0 },
	};
	int next[3] = { 0, 0, 0 }, i, sndbuf = 4096;
	char buf[SIZE + 16], want[SIZE];
	pthread_t t[2];

	ASSERT_EQ(0, setsockopt(self->mux, SOL_SOCKET, SO_SNDBUF, &sndbuf,
				sizeof(sndbuf)));
	ASSERT_EQ(0, mux_attach_cfg(&cfg, self->mux, self->tcp));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, sender_main, &s[i]));
	usleep(300 * 1000);	/* both fill the path and block */

	for (i = 0; i < 2 * N; i++) {
		int id, seq;

		ASSERT_EQ(SIZE, peer_recv(&cfg, self->peer, buf, sizeof(buf),
					  WAIT_MS)) TH_LOG("message %d", i);
		/* Find whose message it is: each thread's come in order. */
		for (id = 1; id <= 2; id++) {
			seq = next[id];
			fill_pattern(want, SIZE, id << 16 | seq);
			if (seq < N && !memcmp(buf, want, SIZE))
				break;
		}
		ASSERT_GE(2, id) TH_LOG("message %d is nobody's: interleaved?", i);
		next[id]++;
	}
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, s[i].err);
	}
	EXPECT_EQ(N, next[1]);
	EXPECT_EQ(N, next[2]);
}

struct racer {
	int mux, tcp;
};

static void *unattach_main(void *arg)
{
	struct racer *r = arg;

	mux_unattach(MUX_MSGMUX, r->mux, r->tcp);
	return NULL;
}

/*
 * Unattach racing close() of the mux socket: whichever wins, the kernel
 * stays clean and the TCP socket is its owner's again.  (KCM had a
 * use-after-free here: "kcm: fix a race condition in kcm_recvmsg()" and
 * related unattach/release fixes.)
 */
TEST(unattach_racing_close)
{
	char c;
	int i;

	for (i = 0; i < 100; i++) {
		struct racer r;
		int peer;
		pthread_t t;

		r.mux = mux_open(&cfg);
		ASSERT_LE(0, r.mux);
		ASSERT_EQ(0, tcp_pair(AF_INET, &r.tcp, &peer));
		ASSERT_EQ(0, mux_attach_cfg(&cfg, r.mux, r.tcp));
		ASSERT_EQ(0, peer_send(&cfg, peer, "m", 1));
		ASSERT_EQ(0, pthread_create(&t, NULL, unattach_main, &r));
		close(r.mux);
		pthread_join(t, NULL);

		ASSERT_EQ(1, write(r.tcp, "x", 1));
		ASSERT_EQ(1, read_full(peer, &c, 1, WAIT_MS));
		close(r.tcp);
		close(peer);
	}
}

TEST_HARNESS_MAIN
