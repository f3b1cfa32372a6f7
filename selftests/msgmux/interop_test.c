// SPDX-License-Identifier: GPL-2.0
/*
 * interop_test - msgmux against a plain TCP program that frames messages
 * itself: peer.py, run with the host's python3, speaks a 4-byte big-endian
 * length and the payload, which is msgmux's default framing.
 *
 * msgmux listens (SOCK_SEQPACKET with accept(), SOCK_DGRAM with its
 * automatic accept) and the peer connects, or the peer listens and msgmux
 * connects (SOCK_SEQPACKET and SOCK_DGRAM).  Both sides send at once,
 * messages of 0 bytes, 1 byte, exactly 1 MiB and seeded random sizes in
 * between, and both check every byte of what they receive: the peer exits
 * non-zero on a mismatch.  Over IPv4 and IPv6 loopback.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "libmsgmux.h"
#include "host.h"
#include "util.h"

#define MAX_MSG		(1U << 20)	/* peer.py's MAX_SIZE */
#define NMSGS		14		/* each way */
#define TO_PEER		0		/* the streams, as in peer.py */
#define FROM_PEER	1
#define TIMEOUT_S	120		/* for anything that should happen */

/* ---- SHAKE-128 (FIPS 202), python's hashlib.shake_128 ------------------ */

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the Keccak state below is addressed as little-endian bytes"
#endif

#define ROTL64(x, n)	(((x) << (n)) | ((x) >> (64 - (n))))
#define SHAKE128_RATE	168

static void keccak_f1600(uint64_t st[25])
{
	static const uint64_t rc[24] = {
		0x0000000000000001ULL, 0x0000000000008082ULL,
		0x800000000000808aULL, 0x8000000080008000ULL,
		0x000000000000808bULL, 0x0000000080000001ULL,
		0x8000000080008081ULL, 0x8000000000008009ULL,
		0x000000000000008aULL, 0x0000000000000088ULL,
		0x0000000080008009ULL, 0x000000008000000aULL,
		0x000000008000808bULL, 0x800000000000008bULL,
		0x8000000000008089ULL, 0x8000000000008003ULL,
		0x8000000000008002ULL, 0x8000000000000080ULL,
		0x000000000000800aULL, 0x800000008000000aULL,
		0x8000000080008081ULL, 0x8000000000008080ULL,
		0x0000000080000001ULL, 0x8000000080008008ULL,
	};
	static const int rot[24] = {
		1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14,
		27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44,
	};
	static const int pi[24] = {
		10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4,
		15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1,
	};
	uint64_t bc[5], t;
	int r, i, j;

	for (r = 0; r < 24; r++) {
		/* theta */
		for (i = 0; i < 5; i++)
			bc[i] = st[i] ^ st[i + 5] ^ st[i + 10] ^ st[i + 15] ^
				st[i + 20];
		for (i = 0; i < 5; i++) {
			t = bc[(i + 4) % 5] ^ ROTL64(bc[(i + 1) % 5], 1);
			for (j = 0; j < 25; j += 5)
				st[j + i] ^= t;
		}
		/* rho and pi */
		t = st[1];
		for (i = 0; i < 24; i++) {
			j = pi[i];
			bc[0] = st[j];
			st[j] = ROTL64(t, rot[i]);
			t = bc[0];
		}
		/* chi */
		for (j = 0; j < 25; j += 5) {
			for (i = 0; i < 5; i++)
				bc[i] = st[j + i];
			for (i = 0; i < 5; i++)
				st[j + i] ^= ~bc[(i + 1) % 5] & bc[(i + 2) % 5];
		}
		/* iota */
		st[0] ^= rc[r];
	}
}

static void shake128(const void *in, size_t inlen, void *out, size_t outlen)
{
	uint64_t st[25] = { 0 };
	uint8_t *s = (uint8_t *)st, *o = out;
	const uint8_t *p = in;
	size_t pos = 0, n;

	while (inlen--) {
		s[pos++] ^= *p++;
		if (pos == SHAKE128_RATE) {
			keccak_f1600(st);
			pos = 0;
		}
	}
	s[pos] ^= 0x1f;
	s[SHAKE128_RATE - 1] ^= 0x80;
	keccak_f1600(st);
	while (outlen) {
		n = outlen < SHAKE128_RATE ? outlen : SHAKE128_RATE;
		memcpy(o, s, n);
		o += n;
		outlen -= n;
		if (outlen)
			keccak_f1600(st);
	}
}

/* ---- the messages, as peer.py makes them ------------------------------- */

static size_t msg_size(unsigned int seed, int stream, unsigned int k)
{
	uint8_t b[8];
	uint64_t r = 0;
	char in[64];
	int i, n;

	if (k == 0)
		return 0;
	if (k == 1)
		return 1;
	if (k == 2)
		return MAX_MSG;
	n = snprintf(in, sizeof(in), "size %u %d %u", seed, stream, k);
	shake128(in, n, b, sizeof(b));
	for (i = 7; i >= 0; i--)
		r = r << 8 | b[i];
	return (r >> 8) % ((1ULL << (r % 21)) + 1);
}

/* Message @k of @stream into @buf (MAX_MSG bytes); returns its size. */
static size_t gen_msg(unsigned int seed, int stream, unsigned int k,
		      uint8_t *buf)
{
	size_t len = msg_size(seed, stream, k);
	char in[64];
	int n;

	n = snprintf(in, sizeof(in), "data %u %d %u", seed, stream, k);
	shake128(in, n, buf, len);
	return len;
}

/* ---- the msgmux side ----------------------------------------------------- */

/** struct sender - the thread that sends msgmux's messages */
struct sender {
	pthread_t thread;
	int fd;
	bool reply;			/* sendto() @to, else send() */
	struct sockaddr_msgmux to;
	unsigned int seed;
	char err[256];			/* what went wrong, or "" */
};

static void *send_all(void *arg)
{
	struct sender *s = arg;
	uint8_t *buf = malloc(MAX_MSG);
	unsigned int k;
	size_t len;
	ssize_t n;

	if (!buf) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		return NULL;
	}
	for (k = 0; k < NMSGS; k++) {
		len = gen_msg(s->seed, TO_PEER, k, buf);
		if (s->reply)
			n = sendto(s->fd, buf, len, MSG_NOSIGNAL,
				   (struct sockaddr *)&s->to, sizeof(s->to));
		else
			n = send(s->fd, buf, len, MSG_NOSIGNAL);
		if (n != (ssize_t)len) {
			snprintf(s->err, sizeof(s->err),
				 "message %u (%zu bytes): send %zd: %s", k, len,
				 n, n < 0 ? strerror(errno) : "short");
			break;
		}
	}
	free(buf);
	return NULL;
}

/* True if @sa is the loopback address of @family. */
static bool is_loopback(int family, const struct sockaddr *sa)
{
	const struct sockaddr_in *sin = (const void *)sa;
	const struct sockaddr_in6 *sin6 = (const void *)sa;

	if (sa->sa_family != family)
		return false;
	if (family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	return sin->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
}

static int set_timeout(int fd, int opt, int secs)
{
	struct timeval tv = { .tv_sec = secs };

	return setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

/* The first byte where @a and @b differ. */
static size_t first_diff(const uint8_t *a, const uint8_t *b, size_t len)
{
	size_t i;

	for (i = 0; i < len && a[i] == b[i]; i++)
		;
	return i;
}

/* Read the port number the peer prints when it listens; -1 if none. */
static int read_port(int fd)
{
	char line[32];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(line) - 1) {
		if (!(poll_events(fd, POLLIN, TIMEOUT_S * 1000) & POLLIN))
			return -1;
		n = read(fd, line + len, 1);
		if (n <= 0)
			return -1;
		if (line[len] == '\n')
			break;
		len++;
	}
	line[len] = 0;
	return len ? atoi(line) : -1;
}

FIXTURE(interop)
{
	int lfd, fd;
	pid_t peer;
	int peer_out;
	struct sender tx;
	bool tx_started;
	uint8_t *buf, *want;
};

FIXTURE_VARIANT(interop)
{
	int family;
};

FIXTURE_VARIANT_ADD(interop, ipv4)
{
	.family = AF_INET,
};

FIXTURE_VARIANT_ADD(interop, ipv6)
{
	.family = AF_INET6,
};

FIXTURE_SETUP(interop)
{
	self->lfd = self->fd = -1;
	self->peer = -1;
	self->peer_out = -1;
	self->tx_started = false;
	self->buf = malloc(MAX_MSG + 1);
	self->want = malloc(MAX_MSG);
	ASSERT_NE(NULL, self->buf);
	ASSERT_NE(NULL, self->want);
	/* Both must exist before anything starts. */
	ASSERT_NE(NULL, host_tool("python3"));
	ASSERT_NE(NULL, test_file("peer.py"));
}

FIXTURE_TEARDOWN(interop)
{
	if (self->peer > 0) {
		kill(self->peer, SIGKILL);
		waitpid(self->peer, NULL, 0);
	}
	if (self->tx_started)
		pthread_cancel(self->tx.thread);
	if (self->fd >= 0 && self->fd != self->lfd)
		close(self->fd);
	if (self->lfd >= 0)
		close(self->lfd);
	if (self->peer_out >= 0)
		close(self->peer_out);
	free(self->buf);
	free(self->want);
}

/* Start peer.py as @role; for a client, @port is where it connects. */
static pid_t start_peer(FIXTURE_DATA(interop) *self, int family,
			const char *role, int port, unsigned int seed)
{
	char fam[4], port_s[16], seed_s[16], count_s[16], tmo_s[16];
	/* -S: no site-packages to look through, only the standard library. */
	char *args[] = {
		"-S", (char *)test_file("peer.py"), (char *)role,
		"--family", fam, "--port", port_s, "--seed", seed_s,
		"--count", count_s, "--timeout", tmo_s, NULL,
	};

	snprintf(fam, sizeof(fam), "%d", family == AF_INET6 ? 6 : 4);
	snprintf(port_s, sizeof(port_s), "%d", port);
	snprintf(seed_s, sizeof(seed_s), "%u", seed);
	snprintf(count_s, sizeof(count_s), "%d", NMSGS);
	snprintf(tmo_s, sizeof(tmo_s), "%d", TIMEOUT_S);
	self->peer = spawn_tool("python3", args,
				port ? NULL : &self->peer_out);
	return self->peer;
}

/*
 * Exchange the messages with the peer over msgmux socket @fd: a thread
 * sends stream TO_PEER (with sendto() to the address the first message
 * came from if @reply, else send()), this one receives stream FROM_PEER
 * and checks each message, and where it came from.  Then the peer's FIN:
 * on SOCK_SEQPACKET recv() returns 0, on SOCK_DGRAM the error queue says
 * the connection closed cleanly.  Last, the peer's verdict.
 */
static void exchange(struct __test_metadata *_metadata,
		     FIXTURE_DATA(interop) *self, int family, int fd,
		     int type, bool reply, unsigned int seed)
{
	struct sockaddr_msgmux from, first = { 0 };
	struct msgmux_conn_error ce;
	struct iovec iov;
	struct msghdr mh;
	unsigned int k;
	size_t len;
	ssize_t n;

	ASSERT_EQ(0, set_timeout(fd, SO_RCVTIMEO, TIMEOUT_S));
	self->tx = (struct sender){ .fd = fd, .reply = reply, .seed = seed };
	if (!reply) {
		ASSERT_EQ(0, pthread_create(&self->tx.thread, NULL, send_all,
					    &self->tx));
		self->tx_started = true;
	}

	for (k = 0; k < NMSGS; k++) {
		len = gen_msg(seed, FROM_PEER, k, self->want);
		memset(&from, 0, sizeof(from));
		iov = (struct iovec){ self->buf, MAX_MSG + 1 };
		mh = (struct msghdr){
			.msg_name = &from, .msg_namelen = sizeof(from),
			.msg_iov = &iov, .msg_iovlen = 1,
		};
		n = recvmsg(fd, &mh, 0);
		ASSERT_EQ((ssize_t)len, n)
			TH_LOG("seed %u message %u: %zd bytes, not %zu (%s)",
			       seed, k, n, len, n < 0 ? strerror(errno) : "");
		ASSERT_EQ(0, mh.msg_flags & MSG_TRUNC);
		ASSERT_EQ(len, first_diff(self->buf, self->want, len))
			TH_LOG("seed %u message %u (%zu bytes) differs", seed,
			       k, len);

		/* Where it came from: one connection, the peer's address. */
		ASSERT_EQ(sizeof(from), mh.msg_namelen);
		ASSERT_EQ(msgmux_family(), from.smm_family);
		ASSERT_NE(0, from.smm_conn_id);
		ASSERT_TRUE(is_loopback(family,
					(struct sockaddr *)&from.smm_peer_in));
		if (!k) {
			first = from;
		} else {
			ASSERT_EQ(first.smm_conn_id, from.smm_conn_id);
		}
		if (reply && !self->tx_started) {
			self->tx.to = from;
			ASSERT_EQ(0, pthread_create(&self->tx.thread, NULL,
						    send_all, &self->tx));
			self->tx_started = true;
		}
	}
	ASSERT_EQ(0, pthread_join(self->tx.thread, NULL));
	self->tx_started = false;
	ASSERT_STREQ("", self->tx.err);

	/* The peer got everything; its FIN follows. */
	if (type == SOCK_SEQPACKET) {
		n = recv(fd, self->buf, MAX_MSG, 0);
		EXPECT_EQ(0, n) TH_LOG("after the last message: %zd (%s)", n,
				       n < 0 ? strerror(errno) : "data");
	} else {
		ASSERT_NE(0, poll_events(fd, 0, TIMEOUT_S * 1000) & POLLERR);
		iov = (struct iovec){ &ce, sizeof(ce) };
		mh = (struct msghdr){
			.msg_name = &from, .msg_namelen = sizeof(from),
			.msg_iov = &iov, .msg_iovlen = 1,
		};
		ASSERT_EQ(sizeof(ce), recvmsg(fd, &mh, MSG_ERRQUEUE));
		EXPECT_EQ(first.smm_conn_id, ce.conn_id);
		EXPECT_EQ(MSGMUX_CONN_CLOSED, ce.reason);
		EXPECT_EQ(0, ce.error);
		EXPECT_EQ(0, ce.dropped_bytes);
	}
	/* Closing sends our FIN; the peer checks that nothing else came. */
	close(fd);
	if (fd == self->lfd)
		self->lfd = -1;
	self->fd = -1;
	EXPECT_EQ(0, wait_child(self->peer, 2 * TIMEOUT_S * 1000))
		TH_LOG("peer.py failed (seed %u)", seed);
	self->peer = -1;
}

/* A msgmux listener of @type on the loopback address; its port. */
static int listen_loopback(struct __test_metadata *_metadata,
			   FIXTURE_DATA(interop) *self, int family, int type)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback_addr(family, 0, &ss);

	self->lfd = msgmux_socket(type);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&ss, len))
		TH_LOG("bind: %s", strerror(errno));
	ASSERT_EQ(0, listen(self->lfd, 4)) TH_LOG("listen: %s",
						  strerror(errno));
	len = sizeof(ss);
	ASSERT_EQ(0, getsockname(self->lfd, (struct sockaddr *)&ss, &len));
	ASSERT_TRUE(is_loopback(family, (struct sockaddr *)&ss));
	ASSERT_NE(0, sockaddr_port(&ss));
	return sockaddr_port(&ss);
}

/* A msgmux socket of @type connected to peer.py's server. */
static void connect_to_peer(struct __test_metadata *_metadata,
			    FIXTURE_DATA(interop) *self, int family, int type,
			    unsigned int seed)
{
	struct sockaddr_storage ss, peer;
	socklen_t len, plen = sizeof(peer);
	int port;

	ASSERT_LT(0, start_peer(self, family, "server", 0, seed));
	port = read_port(self->peer_out);
	ASSERT_LT(0, port) TH_LOG("peer.py did not say where it listens");
	len = loopback_addr(family, port, &ss);

	self->fd = msgmux_socket(type);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, connect(self->fd, (struct sockaddr *)&ss, len))
		TH_LOG("connect: %s", strerror(errno));
	if (type == SOCK_SEQPACKET) {
		ASSERT_EQ(0, getpeername(self->fd, (struct sockaddr *)&peer,
					 &plen));
		EXPECT_EQ(len, plen);
		EXPECT_TRUE(is_loopback(family, (struct sockaddr *)&peer));
		EXPECT_EQ(port, sockaddr_port(&peer));
	}
}

/* peer.py connects to a SOCK_SEQPACKET listener; accept() gets it. */
TEST_F_TIMEOUT(interop, peer_connects_to_seqpacket_listener, 3 * TIMEOUT_S)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	unsigned int seed = 1000 + variant->family;
	int port;

	port = listen_loopback(_metadata, self, variant->family,
			       SOCK_SEQPACKET);
	ASSERT_LT(0, start_peer(self, variant->family, "client", port, seed));
	ASSERT_EQ(0, set_timeout(self->lfd, SO_RCVTIMEO, TIMEOUT_S));
	self->fd = accept(self->lfd, (struct sockaddr *)&peer, &plen);
	ASSERT_LE(0, self->fd) TH_LOG("accept: %s", strerror(errno));
	EXPECT_TRUE(is_loopback(variant->family, (struct sockaddr *)&peer));
	exchange(_metadata, self, variant->family, self->fd, SOCK_SEQPACKET,
		 false, seed);
}

/* peer.py connects to a SOCK_DGRAM listener, which takes it in itself. */
TEST_F_TIMEOUT(interop, peer_connects_to_dgram_listener, 3 * TIMEOUT_S)
{
	unsigned int seed = 2000 + variant->family;
	int port;

	port = listen_loopback(_metadata, self, variant->family, SOCK_DGRAM);
	ASSERT_LT(0, start_peer(self, variant->family, "client", port, seed));
	exchange(_metadata, self, variant->family, self->lfd, SOCK_DGRAM,
		 true, seed);
}

/* A SOCK_SEQPACKET socket connects to peer.py's server. */
TEST_F_TIMEOUT(interop, seqpacket_connects_to_peer, 3 * TIMEOUT_S)
{
	unsigned int seed = 3000 + variant->family;

	connect_to_peer(_metadata, self, variant->family, SOCK_SEQPACKET,
			seed);
	exchange(_metadata, self, variant->family, self->fd, SOCK_SEQPACKET,
		 false, seed);
}

/* A SOCK_DGRAM socket connects to peer.py's server: a pool of one. */
TEST_F_TIMEOUT(interop, dgram_connects_to_peer, 3 * TIMEOUT_S)
{
	unsigned int seed = 4000 + variant->family;

	connect_to_peer(_metadata, self, variant->family, SOCK_DGRAM, seed);
	exchange(_metadata, self, variant->family, self->fd, SOCK_DGRAM,
		 false, seed);
}

TEST_HARNESS_MAIN
