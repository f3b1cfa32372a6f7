// SPDX-License-Identifier: GPL-2.0
/*
 * msgmux-echo-client: send numbered, checksummed messages to an echo
 * server and check every echo.
 *
 *   msgmux-echo-client [-t seqpacket|dgram] [-a ADDRESS] [-p PORT]
 *                      [-c CONNECTIONS] [-n COUNT] [-s SIZES] [-w WINDOW]
 *                      [-T SECONDS] [-H]
 *
 * The kernel makes the TCP connections: connect() on a msgmux socket.  A
 * SOCK_SEQPACKET socket has one connection; each connect() on a
 * SOCK_DGRAM socket adds one more to its mux, and sends without an
 * address take them in turn.  Either way one send() is one message and
 * one recv() returns one.
 *
 * Each message is a 16-byte header (magic, sequence number, payload size,
 * FNV-1a checksum of the payload, all big-endian) and a payload of the
 * next size from SIZES.  Up to WINDOW messages are in flight; echoes may
 * come back in any order (several connections, several server workers)
 * but each must come back once, whole and unchanged.
 *
 * Exit status: 0 if every echo came back intact, 1 otherwise, 2 on a
 * usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "libmsgmux.h"

#define ECHO_MAGIC	0x4d4d5845	/* "MMXE" */
#define MAX_SIZES	32
#define MAX_CONNS	64
/* Largest payload: the wire message (length prefix, header) fits max_size. */
#define MAX_PAYLOAD	(MSGMUX_DEFAULT_MAX_SIZE - 4 - sizeof(struct echo_hdr))

/** struct echo_hdr - the start of every message, big-endian */
struct echo_hdr {
	uint32_t magic;
	uint32_t seq;
	uint32_t len;		/* payload bytes after the header */
	uint32_t sum;		/* fnv1a(payload) */
};

static size_t sizes[MAX_SIZES] = { 0, 1, 100, 1400, 65536 };
static int nsizes = 5;

static void usage(void)
{
	fprintf(stderr,
		"usage: msgmux-echo-client [-t seqpacket|dgram] [-a ADDRESS] [-p PORT]\n"
		"                          [-c CONNECTIONS] [-n COUNT] [-s SIZES]\n"
		"                          [-w WINDOW] [-T SECONDS] [-H]\n"
		"  -t TYPE         seqpacket (default) or dgram\n"
		"  -a ADDRESS      server's IPv4 or IPv6 address (default 127.0.0.1)\n"
		"  -p PORT         server's port (default 7000)\n"
		"  -c CONNECTIONS  dgram: connect() this many times (default 1)\n"
		"  -n COUNT        messages to send (default 100)\n"
		"  -s SIZES        payload sizes, comma-separated, used in turn\n"
		"                  (default 0,1,100,1400,65536; a 16-byte header is added)\n"
		"  -w WINDOW       messages in flight (default 8)\n"
		"  -T SECONDS      give up waiting for an echo after this (default 10)\n"
		"  -H              after the check, hold the connections open until\n"
		"                  SIGTERM or SIGINT\n");
	exit(2);
}

static void parse_sizes(char *list)
{
	char *tok, *save = NULL;

	nsizes = 0;
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		long v = strtol(tok, NULL, 0);

		if (nsizes == MAX_SIZES || v < 0 || (size_t)v > MAX_PAYLOAD)
			usage();
		sizes[nsizes++] = v;
	}
	if (!nsizes)
		usage();
}

static uint32_t fnv1a(const unsigned char *p, size_t len)
{
	uint32_t h = 2166136261u;

	while (len--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

/* Message @seq: its header and a payload that differs from seq to seq. */
static size_t build_msg(unsigned char *buf, uint32_t seq)
{
	struct echo_hdr *h = (struct echo_hdr *)buf;
	size_t len = sizes[seq % nsizes], i;
	uint32_t x = seq * 2654435761u + 1;

	for (i = 0; i < len; i++) {
		x = x * 1103515245u + 12345;	/* a little LCG */
		buf[sizeof(*h) + i] = x >> 24;
	}
	h->magic = htonl(ECHO_MAGIC);
	h->seq = htonl(seq);
	h->len = htonl(len);
	h->sum = htonl(fnv1a(buf + sizeof(*h), len));
	return sizeof(*h) + len;
}

/* What is wrong with an echo, or NULL if it is the message that was sent. */
static const char *check_echo(const unsigned char *buf, ssize_t n,
			      uint32_t nsent, const bool *seen, uint32_t *seqp)
{
	const struct echo_hdr *h = (const struct echo_hdr *)buf;
	uint32_t seq, len;

	if (n < (ssize_t)sizeof(*h) || ntohl(h->magic) != ECHO_MAGIC)
		return "no header";
	seq = *seqp = ntohl(h->seq);
	len = ntohl(h->len);
	if (seq >= nsent)
		return "a sequence number never sent";
	if (seen[seq])
		return "a second echo";
	if (len != sizes[seq % nsizes] || (size_t)n != sizeof(*h) + len)
		return "wrong length";
	if (fnv1a(buf + sizeof(*h), len) != ntohl(h->sum))
		return "wrong checksum";
	return NULL;
}

/** struct run - what was sent and what came back */
struct run {
	int fd;
	unsigned long count;		/* messages to send */
	unsigned long sent, echoed, bad;
	unsigned long long bytes;	/* echoed */
	bool *seen;			/* [seq]: its echo came back */
	unsigned char *out, *in;	/* message buffers */
	struct {
		uint32_t conn_id;
		unsigned long echoes;
	} conns[MAX_CONNS];		/* echoes per connection */
	int nconns;
};

static void count_conn(struct run *r, uint32_t conn_id)
{
	int i;

	for (i = 0; i < r->nconns; i++)
		if (r->conns[i].conn_id == conn_id)
			break;
	if (i == r->nconns) {
		if (r->nconns == MAX_CONNS)
			return;
		r->conns[r->nconns++].conn_id = conn_id;
	}
	r->conns[i].echoes++;
}

/* Send the next message.  False on an error other than "no room now". */
static bool send_next(struct run *r)
{
	size_t len = build_msg(r->out, r->sent);

	/* One send() is one message, queued whole or not at all. */
	if (send(r->fd, r->out, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return true;
		perror("send");
		return false;
	}
	r->sent++;
	return true;
}

/* Receive and check one echo.  False when no more can come. */
static bool recv_echo(struct run *r)
{
	struct sockaddr_msgmux from;
	socklen_t fromlen = sizeof(from);
	const char *what;
	uint32_t seq = 0;
	ssize_t n;

	/* One recv() is one whole message, from one connection. */
	n = recvfrom(r->fd, r->in, MSGMUX_DEFAULT_MAX_SIZE, MSG_DONTWAIT,
		     (struct sockaddr *)&from, &fromlen);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return true;
		perror("recv");
		return false;
	}
	if (n == 0 && fromlen == 0) {
		/* Not a zero-length message (that has an address): the end. */
		fprintf(stderr, "the server closed the connection\n");
		return false;
	}
	what = check_echo(r->in, n, r->sent, r->seen, &seq);
	if (what) {
		fprintf(stderr, "bad echo (%zd bytes) on connection %u: %s\n",
			n, from.smm_conn_id, what);
		r->bad++;
		return true;
	}
	r->seen[seq] = true;
	r->echoed++;
	r->bytes += n;
	count_conn(r, from.smm_conn_id);
	return true;
}

/*
 * POLLERR: a connection left the mux (the server closed it, a reset...).
 * Echoes in flight on it are lost; the count of missing ones will show it.
 */
static void report_notifications(int fd)
{
	struct msgmux_conn_error ce;
	struct iovec iov = { .iov_base = &ce, .iov_len = sizeof(ce) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	while (recvmsg(fd, &msg, MSG_ERRQUEUE) == sizeof(ce))
		fprintf(stderr, "connection %u left: %s (reason %u)\n",
			ce.conn_id, ce.error ? strerror(ce.error) : "closed",
			ce.reason);
}

/*
 * Keep up to @window messages in flight until every echo is back.  poll()
 * rather than blocking calls: a client blocked in send() while echoes wait
 * to be read could block the server's send() too.
 */
static void exchange(struct run *r, unsigned long window, int timeout_ms)
{
	while (r->echoed + r->bad < r->count) {
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
		int n;

		if (r->sent < r->count && r->sent - r->echoed - r->bad < window)
			pfd.events |= POLLOUT;
		n = poll(&pfd, 1, timeout_ms);
		if (n < 0 && errno != EINTR) {
			perror("poll");
			return;
		}
		if (n == 0) {
			fprintf(stderr, "no echo for %d ms\n", timeout_ms);
			return;
		}
		if (pfd.revents & POLLERR)
			report_notifications(r->fd);
		if ((pfd.revents & POLLOUT) && !send_next(r))
			return;
		if ((pfd.revents & (POLLIN | POLLHUP)) && !recv_echo(r))
			return;
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Wait for SIGTERM or SIGINT, blocked since the start of main(). */
static void hold(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigwait(&set, &sig);
}

/*
 * SEQPACKET: after shutdown(SHUT_WR) the server sees the end of the
 * stream, closes, and recv() returns 0 here (with no address: it is not a
 * zero-length message).
 */
static bool check_end_of_stream(int fd)
{
	struct sockaddr_msgmux from;
	char c;
	socklen_t len = sizeof(from);
	ssize_t n;

	if (shutdown(fd, SHUT_WR)) {
		perror("shutdown(SHUT_WR)");
		return false;
	}
	n = recvfrom(fd, &c, 1, 0, (struct sockaddr *)&from, &len);
	if (n == 0 && len == 0)
		return true;
	if (n < 0)
		perror("waiting for the server to close");
	else
		fprintf(stderr, "a message (%zd bytes) after the echoes\n", n);
	return false;
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1";
	int port = 7000, nconns = 1, window = 8, timeout = 10;
	bool is_dgram = false, holding = false, ok;
	struct run r = { .count = 100 };
	struct sockaddr_storage addr;
	char peer[INET6_ADDRSTRLEN + 8];
	struct timeval tv;
	socklen_t addrlen;
	sigset_t sigs;
	int opt, i;
	double t0;

	while ((opt = getopt(argc, argv, "t:a:p:c:n:s:w:T:H")) != -1) {
		switch (opt) {
		case 't':
			if (!strcmp(optarg, "dgram"))
				is_dgram = true;
			else if (strcmp(optarg, "seqpacket"))
				usage();
			break;
		case 'a':
			host = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'c':
			nconns = atoi(optarg);
			break;
		case 'n':
			r.count = strtoul(optarg, NULL, 0);
			break;
		case 's':
			parse_sizes(optarg);
			break;
		case 'w':
			window = atoi(optarg);
			break;
		case 'T':
			timeout = atoi(optarg);
			break;
		case 'H':
			holding = true;
			break;
		default:
			usage();
		}
	}
	addrlen = msgmux_inet_addr(host, port, &addr);
	if (optind != argc || !addrlen || port <= 0 || port > 65535 ||
	    nconns < 1 || nconns > MAX_CONNS || window < 1 || timeout < 1 ||
	    r.count > UINT32_MAX)
		usage();
	if (!is_dgram && nconns > 1) {
		fprintf(stderr, "a SOCK_SEQPACKET socket has one connection: use -t dgram\n");
		usage();
	}

	/* -H waits for these with sigwait(); until then they stay pending. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	if (holding)
		sigprocmask(SIG_BLOCK, &sigs, NULL);

	r.out = malloc(MSGMUX_DEFAULT_MAX_SIZE);
	r.in = malloc(MSGMUX_DEFAULT_MAX_SIZE);
	r.seen = calloc(r.count + 1, sizeof(*r.seen));
	if (!r.out || !r.in || !r.seen) {
		perror("malloc");
		return 1;
	}

	r.fd = msgmux_socket((is_dgram ? SOCK_DGRAM : SOCK_SEQPACKET) |
			     SOCK_CLOEXEC);
	if (r.fd < 0) {
		perror("socket(AF_MSGMUX)");
		return 1;
	}
	/* Bounds the blocking recv() of check_end_of_stream(). */
	tv.tv_sec = timeout;
	tv.tv_usec = 0;
	if (setsockopt(r.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		perror("setsockopt(SO_RCVTIMEO)");

	/*
	 * The kernel opens each TCP connection and frames it.  On SOCK_DGRAM
	 * every connect() adds one to the mux; sends take them in turn.
	 */
	for (i = 0; i < nconns; i++) {
		if (connect(r.fd, (struct sockaddr *)&addr, addrlen)) {
			fprintf(stderr, "connect %d to %s: %s\n", i + 1,
				msgmux_inet_str(&addr, peer, sizeof(peer)),
				strerror(errno));
			return 1;
		}
	}

	t0 = now();
	exchange(&r, window, timeout * 1000);
	ok = r.echoed == r.count && !r.bad;
	printf("msgmux-echo-client: %s to %s, %d connection%s: %lu sent, %lu echoed, %lu bad, %lu missing, %llu bytes, %.2f s\n",
	       is_dgram ? "dgram" : "seqpacket",
	       msgmux_inet_str(&addr, peer, sizeof(peer)), nconns,
	       nconns == 1 ? "" : "s", r.sent, r.echoed, r.bad,
	       r.count - r.echoed - r.bad, r.bytes, now() - t0);
	if (is_dgram) {
		/* Which connections the kernel sent them on, by connection id. */
		printf("  echoes per connection:");
		for (i = 0; i < r.nconns; i++)
			printf(" %u:%lu", r.conns[i].conn_id,
			       r.conns[i].echoes);
		printf("\n");
	}
	fflush(stdout);

	if (holding)
		hold();
	if (ok && !is_dgram) {
		ok = check_end_of_stream(r.fd);
		printf("msgmux-echo-client: end of stream %s\n",
		       ok ? "seen after shutdown(SHUT_WR)" : "NOT seen");
	}
	close(r.fd);
	return ok ? 0 : 1;
}
