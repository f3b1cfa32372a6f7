// SPDX-License-Identifier: GPL-2.0
/*
 * mem.c - kernel memory per socket, per idle connection end and per queued
 * message.
 *
 * Each run creates N units and reads, before and after, the bytes in slab
 * objects (the sum of active objects times object size over
 * /proc/slabinfo's caches) and the pages of slab caches (/proc/meminfo's
 * "Slab:", after /proc/sys/vm/stat_refresh folds the per-CPU counters
 * in); the deltas divided by N are the figures.  Memory outside the slab
 * caches (skb data in page fragments) is not counted: MemFree: moves in
 * steps of per-CPU page lists and misses units this small.  Nothing else
 * runs meanwhile.
 *
 *   socket()  a new socket: msgmux and KCM make a mux with one socket,
 *             AF_UNIX counts both ends of a socketpair(), TCP an
 *             unconnected socket.
 *   endpoint  one end of an idle connection over loopback, all its
 *             kernel objects: for mmx-attach and kcm a TCP socket
 *             attached to a mux of its own; for mmx-connect a msgmux
 *             SOCK_SEQPACKET socket (client or accepted) with its kernel
 *             TCP socket; for unix an end of a socketpair(); for tcp an
 *             established socket.
 *   queued    a 64-byte message sent and not yet received, wherever the
 *             transport keeps it (the receiving socket, TCP's queue, the
 *             sender's for AF_UNIX); receive buffers are raised so that
 *             all fit.  The messages are then received and counted.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "libmsgmux.h"
#include "bench.h"

const char *const mem_kind_name[MEM_NR] = {
	[MEM_SOCKET] = "socket()",
	[MEM_ENDPOINT] = "idle endpoint",
	[MEM_QUEUED] = "queued 64B msg",
};

#define QUEUED_SIZE	64
#define BIG_BUF		(64 << 20)

/** struct fdset - descriptors of a memory run, closed at the end */
struct fdset {
	int *fd;
	int n, cap;
};

static int fdset_add(struct fdset *s, int fd)
{
	if (fd >= 0 && s->n < s->cap)
		s->fd[s->n++] = fd;
	else if (fd >= 0)
		close(fd);
	return fd;
}

static void fdset_close(struct fdset *s)
{
	while (s->n)
		close(s->fd[--s->n]);
	free(s->fd);
}

/* Bytes in slab objects, and in slab pages, right now. */
static int read_slab(long long *objects, long long *pages)
{
	unsigned long active, num, size;
	char line[512], name[64];
	FILE *f;
	int fd;

	/*
	 * Fold the per-CPU vmstat differentials into the totals; without
	 * stat_refresh they lag by a few pages, which is noise here.
	 */
	fd = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = write(fd, "1", 1);

		(void)n;
		close(fd);
	}
	*objects = *pages = -1;
	f = fopen("/proc/slabinfo", "re");
	if (f) {
		*objects = 0;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "%63s %lu %lu %lu", name, &active, &num,
				   &size) == 4)
				*objects += (long long)active * size;
		fclose(f);
	}
	f = fopen("/proc/meminfo", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Slab: %llu kB", (unsigned long long *)pages) == 1)
			*pages *= 1024;
	fclose(f);
	return *objects < 0 || *pages < 0 ? -1 : 0;
}

/* Let RCU free what earlier runs closed, and the counters settle. */
static void settle(void)
{
	struct timespec ts = { 0, 150000000 };

	nanosleep(&ts, NULL);
}

static int connect_to(int fd, int port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};

	return connect(fd, (struct sockaddr *)&sin, sizeof(sin));
}

static int mem_sockets(enum transport tr, struct fdset *s, int n)
{
	int i, sv[2];

	for (i = 0; i < n; i++) {
		switch (tr) {
		case TR_ATTACH:
			sv[0] = msgmux_socket(SOCK_DGRAM);
			break;
		case TR_CONNECT:
			sv[0] = msgmux_socket(SOCK_SEQPACKET);
			break;
		case TR_KCM:
			sv[0] = kcm_socket();
			break;
		case TR_UNIX:
			if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
				return -1;
			fdset_add(s, sv[1]);
			i++;
			break;
		default:
			sv[0] = socket(AF_INET, SOCK_STREAM, 0);
			break;
		}
		if (fdset_add(s, sv[0]) < 0)
			return -1;
	}
	return i;
}

/* A TCP connection over loopback through @lfd (listening on @port). */
static int tcp_pair_on(struct fdset *s, int lfd, int port, int *a, int *b)
{
	*a = fdset_add(s, socket(AF_INET, SOCK_STREAM, 0));
	if (*a < 0 || connect_to(*a, port))
		return -1;
	*b = fdset_add(s, accept(lfd, NULL, NULL));
	return *b < 0 ? -1 : 0;
}

/* Set up what every endpoint needs before the first reading. */
static int mem_endpoint_prep(enum transport tr, struct fdset *s, int *lfd,
			     int *port, int *bpf)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t len = sizeof(sin);

	*bpf = -1;
	if (tr == TR_KCM) {
		*bpf = fdset_add(s, kcm_parser_prog(QUEUED_SIZE));
		if (*bpf < 0)
			return -1;
	}
	if (tr == TR_UNIX)
		return 0;
	if (tr != TR_CONNECT) {
		*lfd = fdset_add(s, tcp_listener(port));
		return *lfd < 0 ? -1 : 0;
	}
	*lfd = fdset_add(s, msgmux_socket(SOCK_SEQPACKET));
	if (*lfd < 0 || bind(*lfd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(*lfd, 1024) ||
	    getsockname(*lfd, (struct sockaddr *)&sin, &len))
		return -1;
	*port = ntohs(sin.sin_port);
	return 0;
}

static int mem_endpoints(enum transport tr, struct fdset *s, int n, int lfd,
			 int port, int bpf)
{
	int i, a, b, ma, mb, sv[2];

	for (i = 0; i + 1 < n; i += 2) {
		switch (tr) {
		case TR_ATTACH:
		case TR_KCM:
			if (tcp_pair_on(s, lfd, port, &a, &b))
				return -1;
			ma = fdset_add(s, tr == TR_KCM ? kcm_socket() :
				       msgmux_socket(SOCK_DGRAM));
			mb = fdset_add(s, tr == TR_KCM ? kcm_socket() :
				       msgmux_socket(SOCK_DGRAM));
			if (ma < 0 || mb < 0 || mux_attach(tr, ma, a, bpf) ||
			    mux_attach(tr, mb, b, bpf))
				return -1;
			break;
		case TR_CONNECT:
			a = fdset_add(s, msgmux_socket(SOCK_SEQPACKET));
			if (a < 0 || connect_to(a, port) ||
			    fdset_add(s, accept(lfd, NULL, NULL)) < 0)
				return -1;
			break;
		case TR_UNIX:
			if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
				return -1;
			fdset_add(s, sv[0]);
			fdset_add(s, sv[1]);
			break;
		default:
			if (tcp_pair_on(s, lfd, port, &a, &b))
				return -1;
			break;
		}
	}
	return i;
}

/* Room for everything: the figure is per message, not per full queue. */
static void raise_buffers(const struct link *l)
{
	int big = BIG_BUF, i;

	for (i = 0; i < l->nfds; i++) {
		setsockopt(l->fds[i], SOL_SOCKET, SO_RCVBUFFORCE, &big,
			   sizeof(big));
		setsockopt(l->fds[i], SOL_SOCKET, SO_SNDBUFFORCE, &big,
			   sizeof(big));
	}
}

static int mem_queue(const struct link *l, int n, u8 *msg, size_t len)
{
	int i;

	for (i = 0; i < n; i++)
		if (send(l->tx[0], msg, len, MSG_DONTWAIT | MSG_NOSIGNAL) !=
		    (ssize_t)len)
			break;
	return i;
}

/* Receive the @n queued messages (@len bytes each on the wire). */
static int mem_drain(const struct link *l, int n, size_t len, u8 *buf,
		     size_t cap)
{
	struct timeval tv = { .tv_sec = 5 };
	int fd = l->rx[0][0], got = 0;
	size_t bytes = 0;
	ssize_t r;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (got < n) {
		r = recv(fd, buf, cap, 0);
		if (r < 0)
			return -1;
		if (transports[l->tr].stream) {
			if (!r)
				return -1;
			bytes += r;
			got = bytes / len;
			continue;
		}
		if ((size_t)r != len)
			return -1;
		got++;
	}
	return 0;
}

/**
 * run_mem() - kernel memory per unit
 * @tr: the transport.
 * @kind: sockets, idle endpoints or queued messages.
 * @n: how many units (queued messages: four times as many).
 * @res: bytes per unit.
 * @err: what went wrong, on failure.
 * @errlen: room in @err.
 *
 * Return: 0, or -1.
 */
int run_mem(enum transport tr, enum mem_kind kind, int n, struct mem *res,
	    char *err, size_t errlen)
{
	struct fdset s = { .cap = 4 * n + 16 };
	long long obj0, pages0, obj1, pages1;
	int units = 0, lfd = -1, port = 0, bpf = -1, ret = -1;
	size_t len = QUEUED_SIZE, cap = 1 << 16;
	struct link l = { .nfds = 0 };
	u8 *buf = calloc(1, cap);

	s.fd = calloc(s.cap, sizeof(int));
	if (!s.fd || !buf) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (kind == MEM_ENDPOINT &&
	    mem_endpoint_prep(tr, &s, &lfd, &port, &bpf))
		goto fail;
	if (kind == MEM_QUEUED) {
		n *= 4;
		if (link_open(&l, tr, 1, 1, QUEUED_SIZE, false))
			goto fail;
		raise_buffers(&l);
		if (transports[tr].hdr_in_msg) {
			put_be32(buf, QUEUED_SIZE);
			len += HDR_LEN;
		}
	}

	settle();
	if (read_slab(&obj0, &pages0))
		goto fail;
	switch (kind) {
	case MEM_SOCKET:
		units = mem_sockets(tr, &s, n);
		break;
	case MEM_ENDPOINT:
		units = mem_endpoints(tr, &s, n, lfd, port, bpf);
		break;
	default:
		units = mem_queue(&l, n, buf, len);
		break;
	}
	if (units <= 0)
		goto fail;
	settle();
	if (read_slab(&obj1, &pages1))
		goto fail;
	if (kind == MEM_QUEUED && mem_drain(&l, units, len, buf, cap)) {
		snprintf(err, errlen, "the %d queued messages did not all arrive: %s",
			 units, strerror(errno));
		goto out;
	}
	res->objects = (double)(obj1 - obj0) / units;
	res->pages = (double)(pages1 - pages0) / units;
	ret = 0;
	goto out;
fail:
	snprintf(err, errlen, "%s after %d units: %s", mem_kind_name[kind],
		 units, strerror(errno));
out:
	link_close(&l);
	fdset_close(&s);
	free(buf);
	return ret;
}
