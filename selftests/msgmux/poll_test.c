// SPDX-License-Identifier: GPL-2.0
/*
 * poll_test - readiness (SPEC 3.4): POLLIN only for a whole queued
 * message, POLLOUT only when a message can be queued, epoll level- and
 * edge-triggered, and EPOLLEXCLUSIVE waiters next to blocked readers with
 * no message lost, duplicated or left waiting (no lost wake-up).
 *
 * Runs against msgmux and AF_KCM.  KCM's POLLOUT differs (6.1): it is
 * reported with no connection attached (KCM queues messages until one
 * is) and while send() returns EAGAIN.  The KCM variants expect that.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "libmsgmux.h"
#include "util.h"

#define BUF 4096

FIXTURE(ready)
{
	int mux;
	int a, b;	/* a is attached to mux, b is the peer */
};

FIXTURE_VARIANT(ready)
{
	struct mux_cfg cfg;
};

FIXTURE_VARIANT_ADD(ready, kcm_dgram)
{
	.cfg = { MUX_KCM, SOCK_DGRAM, FRAME_BPF },
};

FIXTURE_VARIANT_ADD(ready, kcm_seqpacket)
{
	.cfg = { MUX_KCM, SOCK_SEQPACKET, FRAME_BPF },
};

FIXTURE_VARIANT_ADD(ready, msgmux_dgram)
{
	.cfg = { MUX_MSGMUX, SOCK_DGRAM, FRAME_STRIP },
};

FIXTURE_VARIANT_ADD(ready, msgmux_seqpacket)
{
	.cfg = { MUX_MSGMUX, SOCK_SEQPACKET, FRAME_STRIP },
};

FIXTURE_VARIANT_ADD(ready, msgmux_keep_hdr_seqpacket)
{
	.cfg = { MUX_MSGMUX, SOCK_SEQPACKET, FRAME_KEEP_HDR },
};

FIXTURE_SETUP(ready)
{
	self->mux = mux_open(&variant->cfg);
	ASSERT_LE(0, self->mux) TH_LOG("mux socket: %s", strerror(errno));
	ASSERT_EQ(0, tcp_pair(AF_INET, &self->a, &self->b));
	ASSERT_EQ(0, mux_attach_cfg(&variant->cfg, self->mux, self->a))
		TH_LOG("attach: %s", strerror(errno));
}

FIXTURE_TEARDOWN(ready)
{
	close(self->mux);
	close(self->a);
	close(self->b);
}

static bool is_kcm(const FIXTURE_VARIANT(ready) *v)
{
	return v->cfg.kind == MUX_KCM;
}

/* The peer writes one message of @payload bytes. */
static int peer_msg(const struct mux_cfg *c, int peer, size_t payload,
		    unsigned int seed)
{
	char msg[BUF];

	return peer_send(c, peer, msg, msg_make(c, msg, payload, seed));
}

/* POLLIN once a whole message is queued, not for part of one. */
TEST_F(ready, pollin_only_for_a_whole_message)
{
	const struct mux_cfg *c = &variant->cfg;
	char msg[BUF], wire[BUF];
	size_t len = msg_make(c, msg, 1000, 1);
	size_t wlen = wire_of(c, wire, msg, len);

	EXPECT_EQ(0, poll_events(self->mux, POLLIN, 0));
	ASSERT_EQ(0, write_full(self->b, wire, wlen / 2));
	EXPECT_EQ(0, poll_events(self->mux, POLLIN, 200) & POLLIN)
		TH_LOG("POLLIN for half a message");
	ASSERT_EQ(0, write_full(self->b, wire + wlen / 2, wlen - wlen / 2));
	EXPECT_EQ(POLLIN | POLLRDNORM,
		  poll_events(self->mux, POLLIN | POLLRDNORM, WAIT_MS));
	EXPECT_EQ(len, recv(self->mux, msg, sizeof(msg), MSG_DONTWAIT));
	EXPECT_EQ(0, poll_events(self->mux, POLLIN, 0) & POLLIN)
		TH_LOG("POLLIN with nothing queued");
}

/*
 * POLLOUT when a message can be queued: with a connection, and (msgmux)
 * not without one.  KCM reports POLLOUT on a mux with no connection.
 */
TEST_F(ready, pollout_needs_a_connection)
{
	int fresh = mux_open(&variant->cfg);

	ASSERT_LE(0, fresh);
	EXPECT_EQ(POLLOUT | POLLWRNORM,
		  poll_events(self->mux, POLLOUT | POLLWRNORM, 0));
	EXPECT_EQ(is_kcm(variant) ? POLLOUT : 0, poll_events(fresh, POLLOUT, 0))
		TH_LOG("unattached mux");
	if (!is_kcm(variant)) {
		ASSERT_EQ(0, mux_unattach(MUX_MSGMUX, self->mux, self->a));
		EXPECT_EQ(0, poll_events(self->mux, POLLOUT, 0))
			TH_LOG("POLLOUT after the last connection left");
	}
	close(fresh);
}

/* Nonblocking sends until EAGAIN; returns how many were queued. */
static int fill(const struct mux_cfg *c, int mux)
{
	char msg[BUF];
	size_t len = msg_make(c, msg, 3000, 0);
	long long deadline = now_ms() + 10000;
	int n = 0;

	while (now_ms() < deadline && n < 100000 &&
	       mux_send(c, mux, msg, len, MSG_DONTWAIT) == len)
		n++;
	return errno == EAGAIN ? n : -1;
}

/* 1 if a 3000-byte message can be sent without waiting. */
static int send_fits_now(const struct mux_cfg *c, int mux)
{
	char msg[BUF];
	size_t len = msg_make(c, msg, 3000, 0);

	return mux_send(c, mux, msg, len, MSG_DONTWAIT) == len;
}

/* Read what is there from @fd until POLLOUT shows on @mux. */
static bool drain_until_pollout(int fd, int mux)
{
	long long deadline = now_ms() + 2 * WAIT_MS;
	static char sink[65536];

	while (now_ms() < deadline) {
		while (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
			;
		if (poll_events(mux, POLLOUT, 10) & POLLOUT)
			return true;
	}
	return false;
}

/*
 * No POLLOUT while the send path is full, POLLOUT again once the peer
 * reads.  KCM (6.1) keeps reporting POLLOUT while send() returns EAGAIN
 * (its poll looks at sk_wmem_alloc, its send at sk_wmem_queued), so a
 * poll-driven KCM sender spins: the KCM variants expect that.
 */
TEST_F(ready, no_pollout_while_the_send_path_is_full)
{
	int n = fill(&variant->cfg, self->mux);

	ASSERT_LT(0, n) TH_LOG("the path never filled: %s", strerror(errno));
	EXPECT_EQ(is_kcm(variant) ? POLLOUT : 0,
		  poll_events(self->mux, POLLOUT, 0) & POLLOUT)
		TH_LOG("POLLOUT with the path full (%d messages)", n);
	EXPECT_TRUE(drain_until_pollout(self->b, self->mux))
		TH_LOG("no POLLOUT after the peer read everything");
	/* msgmux's POLLOUT is a promise: a message can be queued now. */
	if (!is_kcm(variant))
		EXPECT_LT(0, send_fits_now(&variant->cfg, self->mux));
}

static int epoll_for(int fd, unsigned int events)
{
	struct epoll_event ev = { .events = events };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
		close(ep);
		return -1;
	}
	return ep;
}

static int epoll_count(int ep, int timeout_ms)
{
	struct epoll_event ev[4];

	return epoll_wait(ep, ev, 4, timeout_ms);
}

/* Level-triggered: reported as long as a message is queued. */
TEST_F(ready, epoll_level_triggered)
{
	int ep = epoll_for(self->mux, EPOLLIN);
	char buf[BUF];

	ASSERT_LE(0, ep);
	EXPECT_EQ(0, epoll_count(ep, 0));
	ASSERT_EQ(0, peer_msg(&variant->cfg, self->b, 10, 1));
	EXPECT_EQ(1, epoll_count(ep, WAIT_MS));
	EXPECT_EQ(1, epoll_count(ep, 0)) TH_LOG("level-triggered went quiet");
	ASSERT_LT(0, recv(self->mux, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(0, epoll_count(ep, 100));
	close(ep);
}

/* Edge-triggered: once per message that arrives, not again. */
TEST_F(ready, epoll_edge_triggered)
{
	int ep = epoll_for(self->mux, EPOLLIN | EPOLLET);
	char buf[BUF];

	ASSERT_LE(0, ep);
	ASSERT_EQ(0, peer_msg(&variant->cfg, self->b, 10, 1));
	EXPECT_EQ(1, epoll_count(ep, WAIT_MS));
	EXPECT_EQ(0, epoll_count(ep, 100)) TH_LOG("edge reported twice");
	ASSERT_EQ(0, peer_msg(&variant->cfg, self->b, 10, 2));
	EXPECT_EQ(1, epoll_count(ep, WAIT_MS)) TH_LOG("no edge for message 2");
	EXPECT_LT(0, recv(self->mux, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_LT(0, recv(self->mux, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(0, epoll_count(ep, 100));
	close(ep);
}

/* ---- many waiters: EPOLLEXCLUSIVE and blocked recv ----------------------- */

enum {
	EPOLL_THREADS = 3,
	RECV_THREADS = 2,
	THREADS = EPOLL_THREADS + RECV_THREADS,
	PINGS = 100,		/* one at a time: each must wake someone */
	BURSTS = 50,		/* then bursts of several at once */
	BURST = 20,
	TOTAL = PINGS + BURSTS * BURST,
	STOP = 0xffffffff,	/* each thread leaves at its first STOP */
	WAKE_MS = 2000,		/* a message waiting longer: lost wake-up */
	IDLE_MS = 5000,		/* waiters' own timeouts, > WAKE_MS */
};

struct crowd {
	const struct mux_cfg *cfg;
	int mux;
	long long deadline;
	int seen[TOTAL];	/* how often each message was received */
	int received, stops, errors, unknown;
};

/* A message that carries @seq in its last 4 bytes. */
static size_t seq_msg(const struct mux_cfg *c, char *buf, uint32_t seq)
{
	size_t len = msg_make(c, buf, 4, 0);

	memcpy(buf + len - 4, &seq, 4);
	return len;
}

/* Account for one message; returns false at STOP. */
static bool take(struct crowd *cr, const char *buf, ssize_t n)
{
	uint32_t seq;

	if (n < 4) {
		__atomic_add_fetch(&cr->errors, 1, __ATOMIC_SEQ_CST);
		return true;
	}
	memcpy(&seq, buf + n - 4, 4);
	if (seq == STOP) {
		__atomic_add_fetch(&cr->stops, 1, __ATOMIC_SEQ_CST);
		return false;
	}
	if (seq >= TOTAL)
		__atomic_add_fetch(&cr->unknown, 1, __ATOMIC_SEQ_CST);
	else
		__atomic_add_fetch(&cr->seen[seq], 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&cr->received, 1, __ATOMIC_SEQ_CST);
	return true;
}

/* epoll_wait with EPOLLEXCLUSIVE, then read until EAGAIN. */
static void *epoll_waiter(void *arg)
{
	struct crowd *cr = arg;
	int ep = epoll_for(cr->mux, EPOLLIN | EPOLLEXCLUSIVE);
	char buf[64];

	if (ep < 0) {
		__atomic_add_fetch(&cr->errors, 1, __ATOMIC_SEQ_CST);
		return NULL;
	}
	while (now_ms() < cr->deadline) {
		ssize_t n;

		if (epoll_count(ep, IDLE_MS) <= 0)
			continue;
		while ((n = recv(cr->mux, buf, sizeof(buf), MSG_DONTWAIT)) >= 0)
			if (!take(cr, buf, n))
				goto out;
		if (errno != EAGAIN)
			__atomic_add_fetch(&cr->errors, 1, __ATOMIC_SEQ_CST);
	}
out:
	close(ep);
	return NULL;
}

/* A blocking recv (SO_RCVTIMEO = IDLE_MS on the socket). */
static void *recv_waiter(void *arg)
{
	struct crowd *cr = arg;
	char buf[64];

	while (now_ms() < cr->deadline) {
		ssize_t n = recv(cr->mux, buf, sizeof(buf), 0);

		if (n < 0 && errno != EAGAIN)
			__atomic_add_fetch(&cr->errors, 1, __ATOMIC_SEQ_CST);
		if (n >= 0 && !take(cr, buf, n))
			break;
	}
	return NULL;
}

/* Wait until @want messages were received; false after WAKE_MS. */
static bool wait_received(struct crowd *cr, int want)
{
	long long deadline = now_ms() + WAKE_MS;

	while (__atomic_load_n(&cr->received, __ATOMIC_SEQ_CST) < want) {
		if (now_ms() > deadline)
			return false;
		usleep(200);
	}
	return true;
}

static int send_seq(struct crowd *cr, int peer, uint32_t seq)
{
	char msg[64];

	return peer_send(cr->cfg, peer, msg, seq_msg(cr->cfg, msg, seq));
}

/*
 * Every message is received exactly once and promptly, whoever waits.
 * The waiters' own timeouts are longer than the delay a message may
 * wait, so a lost wake-up fails the test instead of being hidden.
 */
TEST_F_TIMEOUT(ready, epollexclusive_and_recv_waiters_get_each_message_once,
	       90)
{
	struct timeval tv = { IDLE_MS / 1000, 0 };
	struct crowd *cr = calloc(1, sizeof(*cr));
	pthread_t th[THREADS];
	int i, j, sent = 0;

	ASSERT_NE(NULL, cr);
	cr->cfg = &variant->cfg;
	cr->mux = self->mux;
	cr->deadline = now_ms() + 60000;
	ASSERT_EQ(0, setsockopt(self->mux, SOL_SOCKET, SO_RCVTIMEO, &tv,
				sizeof(tv)));
	for (i = 0; i < THREADS; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, i < EPOLL_THREADS ?
					    epoll_waiter : recv_waiter, cr));
	usleep(100000);		/* let them all block */

	for (i = 0; i < PINGS; i++, sent++) {
		ASSERT_EQ(0, send_seq(cr, self->b, sent));
		ASSERT_TRUE(wait_received(cr, sent + 1))
			TH_LOG("ping %d: not received in %d ms", i, WAKE_MS);
	}
	for (i = 0; i < BURSTS; i++) {
		for (j = 0; j < BURST; j++, sent++)
			ASSERT_EQ(0, send_seq(cr, self->b, sent));
		ASSERT_TRUE(wait_received(cr, sent))
			TH_LOG("burst %d: %d of %d received", i, cr->received,
			       sent);
	}
	for (i = 0; i < THREADS; i++)
		ASSERT_EQ(0, send_seq(cr, self->b, STOP));
	for (i = 0; i < THREADS; i++) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += WAKE_MS / 1000 + 1;
		ASSERT_EQ(0, pthread_timedjoin_np(th[i], NULL, &ts))
			TH_LOG("thread %d did not get its STOP", i);
	}
	EXPECT_EQ(THREADS, cr->stops);
	EXPECT_EQ(TOTAL, cr->received);
	EXPECT_EQ(0, cr->errors);
	EXPECT_EQ(0, cr->unknown);
	for (i = 0, j = -1; i < TOTAL; i++)
		if (cr->seen[i] != 1 && j < 0)
			j = i;
	EXPECT_EQ(-1, j) TH_LOG("message %d seen %d times", j,
				j < 0 ? 1 : cr->seen[j]);
	free(cr);
}

struct attacher {
	int mux, tcp;
};

static void *attach_later(void *arg)
{
	struct attacher *a = arg;

	usleep(200 * 1000);
	mux_attach(MUX_MSGMUX, a->mux, a->tcp, -1);
	return NULL;
}

/* A writer waiting in poll() for POLLOUT wakes when a connection joins. */
TEST(pollout_wakes_when_a_connection_is_attached)
{
	struct attacher a;
	int peer;
	pthread_t t;

	a.mux = msgmux_socket(SOCK_DGRAM);
	ASSERT_LE(0, a.mux);
	ASSERT_EQ(0, tcp_pair(AF_INET, &a.tcp, &peer));
	ASSERT_EQ(0, pthread_create(&t, NULL, attach_later, &a));
	EXPECT_TRUE(poll_events(a.mux, POLLOUT, WAIT_MS) & POLLOUT);
	pthread_join(t, NULL);
	close(a.mux);
	close(a.tcp);
	close(peer);
}

TEST_HARNESS_MAIN
