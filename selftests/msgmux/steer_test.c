// SPDX-License-Identifier: GPL-2.0
/*
 * steer_test - receive steering over the upper sockets of a mux,
 * MSGMUX_RECV_DISABLE, and backpressure: a fast sender is slowed by TCP,
 * not by dropped messages.
 *
 * msgmux only.  KCM steers too, but KCM's RECV_DISABLE and its handling
 * of a closing socket's queue differ (it drops that queue).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "libmsgmux.h"
#include "util.h"

static const struct mux_cfg cfg = { MUX_MSGMUX, SOCK_DGRAM, FRAME_STRIP };

/* A message is its sequence number and its complement. */
static int send_seq(int tcp, uint32_t seq)
{
	uint32_t m[2] = { seq, ~seq };

	return peer_send(&cfg, tcp, m, sizeof(m));
}

/* Receive one message without waiting; its sequence number, or -1. */
static long recv_seq(int fd, int timeout_ms)
{
	uint32_t m[2];
	ssize_t n = recv_wait(fd, m, sizeof(m), MSG_DONTWAIT, timeout_ms);

	if (n != sizeof(m) || m[1] != ~m[0])
		return -1;
	return m[0];
}

/* Read what sockets @from..@to hold; count each message in @seen[N]. */
static int drain_seqs(const int *fds, int from, int to, int *seen, int n)
{
	int total = 0, s;
	long seq;

	for (s = from; s <= to; s++) {
		if (fds[s] < 0)
			continue;
		while ((seq = recv_seq(fds[s], 200)) >= 0 && seq < n) {
			seen[seq]++;
			total++;
		}
	}
	return total;
}

static int set_int(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val));
}

FIXTURE(steer)
{
	int mux[3];
	int tcp, peer;
};

FIXTURE_SETUP(steer)
{
	int i;

	self->mux[0] = mux_open(&cfg);
	ASSERT_LE(0, self->mux[0]);
	for (i = 1; i < 3; i++) {
		self->mux[i] = mux_clone(MUX_MSGMUX, self->mux[0]);
		ASSERT_LE(0, self->mux[i]);
	}
	ASSERT_EQ(0, tcp_pair(AF_INET, &self->tcp, &self->peer));
	ASSERT_EQ(0, mux_attach_cfg(&cfg, self->mux[0], self->tcp));
}

FIXTURE_TEARDOWN(steer)
{
	int i;

	for (i = 0; i < 3; i++)
		close(self->mux[i]);
	close(self->tcp);
	close(self->peer);
}

/* Messages go round robin over the sockets that can take them. */
TEST_F(steer, messages_spread_over_all_sockets)
{
	enum { N = 30 };
	int got[3] = { 0 }, seen[N] = { 0 };
	uint32_t i;
	int s;
	long seq;

	for (i = 0; i < N; i++)
		ASSERT_EQ(0, send_seq(self->peer, i));
	for (i = 0; i < N; i++) {
		struct pollfd p[3];

		for (s = 0; s < 3; s++)
			p[s] = (struct pollfd){ self->mux[s], POLLIN, 0 };
		ASSERT_LT(0, poll(p, 3, WAIT_MS));
		for (s = 0; s < 3; s++) {
			if (!(p[s].revents & POLLIN))
				continue;
			seq = recv_seq(self->mux[s], 0);
			ASSERT_LE(0, seq);
			ASSERT_GT(N, seq);
			seen[seq]++;
			got[s]++;
			break;
		}
	}
	for (i = 0; i < N; i++)
		EXPECT_EQ(1, seen[i]) TH_LOG("message %u", i);
	/* Round robin: each socket gets its share, give or take one. */
	EXPECT_LE(N / 3 - 1, got[0]);
	EXPECT_LE(N / 3 - 1, got[1]);
	EXPECT_LE(N / 3 - 1, got[2]);
}

/* RECV_DISABLE moves a socket's queued messages to the others. */
TEST_F(steer, recv_disable_moves_queued_messages)
{
	enum { N = 12 };
	int seen[N] = { 0 };
	uint32_t i;

	for (i = 0; i < N; i++)
		ASSERT_EQ(0, send_seq(self->peer, i));
	ASSERT_EQ(POLLIN, poll_events(self->mux[0], POLLIN, WAIT_MS));
	usleep(200 * 1000);	/* let all N arrive and spread */

	ASSERT_EQ(0, set_int(self->mux[0], SOL_MSGMUX, MSGMUX_RECV_DISABLE, 1));
	EXPECT_EQ(1, sockopt_level_int(self->mux[0], SOL_MSGMUX,
				       MSGMUX_RECV_DISABLE));
	EXPECT_EQ(-1, recv_seq(self->mux[0], 0));

	EXPECT_EQ(N, drain_seqs(self->mux, 1, 2, seen, N));
	for (i = 0; i < N; i++)
		EXPECT_EQ(1, seen[i]) TH_LOG("message %u", i);

	/* New messages skip it too, until it is enabled again. */
	ASSERT_EQ(0, send_seq(self->peer, 100));
	EXPECT_EQ(-1, recv_seq(self->mux[0], 200));
	EXPECT_EQ(100, recv_seq(self->mux[1], 0) + recv_seq(self->mux[2], 0) + 1);
	ASSERT_EQ(0, set_int(self->mux[0], SOL_MSGMUX, MSGMUX_RECV_DISABLE, 0));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, send_seq(self->peer, 200 + i));
	EXPECT_LE(200, recv_seq(self->mux[0], WAIT_MS));
}

/* A socket that closes hands its unread messages to the others. */
TEST_F(steer, closing_socket_hands_its_messages_over)
{
	enum { N = 9 };
	int seen[N] = { 0 };
	uint32_t i;

	for (i = 0; i < N; i++)
		ASSERT_EQ(0, send_seq(self->peer, i));
	ASSERT_EQ(POLLIN, poll_events(self->mux[1], POLLIN, WAIT_MS));
	usleep(200 * 1000);
	close(self->mux[1]);
	self->mux[1] = -1;

	EXPECT_EQ(N, drain_seqs(self->mux, 0, 2, seen, N));
	for (i = 0; i < N; i++)
		EXPECT_EQ(1, seen[i]) TH_LOG("message %u", i);
}

/* Closing a socket hands its messages over even to a full socket. */
TEST_F(steer, closing_socket_hands_messages_to_full_sockets)
{
	enum { N = 12 };
	int seen[N] = { 0 }, tiny = 1;
	uint32_t i;

	/* Only sockets 0 and 1 receive; 1 is full after its first message. */
	ASSERT_EQ(0, set_int(self->mux[2], SOL_MSGMUX, MSGMUX_RECV_DISABLE, 1));
	ASSERT_EQ(0, setsockopt(self->mux[1], SOL_SOCKET, SO_RCVBUF, &tiny,
				sizeof(tiny)));
	for (i = 0; i < N; i++)
		ASSERT_EQ(0, send_seq(self->peer, i));
	usleep(300 * 1000);
	ASSERT_EQ(0, set_int(self->mux[0], SOL_SOCKET, SO_RCVBUF, 1));
	close(self->mux[0]);
	self->mux[0] = -1;

	EXPECT_EQ(N, drain_seqs(self->mux, 1, 1, seen, N));
	for (i = 0; i < N; i++)
		EXPECT_EQ(1, seen[i]) TH_LOG("message %u", i);
}

/* No state: only for TEST_F_TIMEOUT(), which plain TEST() lacks. */
FIXTURE(bulk)
{
};

FIXTURE_SETUP(bulk)
{
}

FIXTURE_TEARDOWN(bulk)
{
}

/*
 * With every socket full, msgmux stops reading the TCP socket: the peer's
 * writes stop (its window closes) after a bounded amount, and once the
 * application reads, every message arrives, in order, intact.
 *
 * Some 12000 messages, each read when the one before made room: 5 s on
 * an idle machine under TCG, over the harness's default 30 s when other
 * VMs share its two cores.
 */
TEST_F_TIMEOUT(bulk, backpressure_stops_the_sender_and_loses_nothing, 180)
{
	enum { PAYLOAD = 1024, LIMIT = 64 << 20 };
	char msg[PAYLOAD], wire[PAYLOAD + HDR_LEN], buf[PAYLOAD + 16];
	int mux, tcp, peer;
	size_t sent = 0, nmsgs = 0, off = 0, w = 0, i;
	long long t0;
	ssize_t n;

	mux = mux_open(&cfg);
	ASSERT_LE(0, mux);
	ASSERT_EQ(0, set_int(mux, SOL_SOCKET, SO_RCVBUF, 4096));
	ASSERT_EQ(0, tcp_pair(AF_INET, &tcp, &peer));
	ASSERT_EQ(0, mux_attach_cfg(&cfg, mux, tcp));
	ASSERT_EQ(0, set_nonblock(peer, true));

	/*
	 * Write until TCP pushes back; it must, long before LIMIT.  Only
	 * whole messages count: one cut short by the closed window never
	 * completes, so it is never delivered.
	 */
	while (sent < LIMIT) {
		if (off == w) {
			fill_pattern(msg, PAYLOAD, nmsgs);
			w = wire_of(&cfg, wire, msg, PAYLOAD);
			off = 0;
		}
		n = send(peer, wire + off, w - off, MSG_DONTWAIT);
		if (n < 0) {
			ASSERT_EQ(EAGAIN, errno);
			if (poll_events(peer, POLLOUT, 500) & POLLOUT)
				continue;
			break;
		}
		off += n;
		sent += n;
		if (off == w)
			nmsgs++;
	}
	EXPECT_GT(LIMIT, sent) TH_LOG("the peer wrote %zu bytes unhindered", sent);
	TH_LOG("peer blocked after %zu messages (%zu bytes)", nmsgs, sent);

	t0 = now_ms();
	for (i = 0; i < nmsgs; i++) {
		n = recv_wait(mux, buf, sizeof(buf), MSG_DONTWAIT, WAIT_MS);
		ASSERT_EQ(PAYLOAD, n) TH_LOG("message %zu of %zu", i, nmsgs);
		fill_pattern(msg, PAYLOAD, i);
		ASSERT_EQ(0, memcmp(buf, msg, PAYLOAD)) TH_LOG("message %zu", i);
	}
	TH_LOG("read them all in %lld ms", now_ms() - t0);
	EXPECT_GT(0, recv(mux, buf, sizeof(buf), MSG_DONTWAIT));
	close(mux);
	close(tcp);
	close(peer);
}

/*
 * A message the connection held back while the socket was full is not
 * lost when the connection is unattached: it goes to the socket.
 */
TEST(held_message_survives_unattach)
{
	char buf[2048];
	uint32_t m[256];
	int mux, tcp, peer, i, got = 0;

	mux = mux_open(&cfg);
	ASSERT_LE(0, mux);
	ASSERT_EQ(0, set_int(mux, SOL_SOCKET, SO_RCVBUF, 1));
	ASSERT_EQ(0, tcp_pair(AF_INET, &tcp, &peer));
	ASSERT_EQ(0, mux_attach_cfg(&cfg, mux, tcp));
	for (i = 0; i < 8; i++) {
		m[0] = i;
		ASSERT_EQ(0, peer_send(&cfg, peer, m, sizeof(m)));
	}
	usleep(300 * 1000);
	ASSERT_EQ(0, mux_unattach(MUX_MSGMUX, mux, tcp));
	while (recv_wait(mux, buf, sizeof(buf), MSG_DONTWAIT, 200) ==
	       sizeof(m)) {
		memcpy(m, buf, sizeof(uint32_t));
		EXPECT_EQ(got, (int)m[0]);
		got++;
	}
	/* Whatever was not parsed is still in the TCP socket, whole. */
	for (; got < 8; got++) {
		ASSERT_EQ(HDR_LEN, read_full(tcp, buf, HDR_LEN, WAIT_MS));
		ASSERT_EQ(sizeof(m), get_be32(buf));
		ASSERT_EQ(sizeof(m), read_full(tcp, buf, sizeof(m), WAIT_MS));
		memcpy(m, buf, sizeof(uint32_t));
		EXPECT_EQ(got, (int)m[0]);
	}
	close(mux);
	close(tcp);
	close(peer);
}

TEST_HARNESS_MAIN
