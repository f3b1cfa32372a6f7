// SPDX-License-Identifier: GPL-2.0
/*
 * flow.c - throughput and ping-pong runs, and the check of every message.
 *
 * A message's payload of 16 bytes or more starts with a header: the
 * sequence number (64 bits), the payload size and a magic number with the
 * sender's id (32 bits each, host order).  The rest is one of %SLOTS
 * pseudo-random templates, chosen by the sequence number, so that a
 * message that came with another one's bytes, or a stale buffer, does not
 * compare equal.  Payloads of 0 bytes are counted.  On the wire of TCP
 * and in KCM's messages a 4-byte big-endian length comes first, which is
 * checked too.
 *
 * With one connection and one receiver, sequence numbers must arrive in
 * order, one after the other.  Otherwise each receiver must see each
 * sender's numbers increasing (a connection keeps order, and so does
 * each receiving socket), a bitmap per sender catches duplicates, and the
 * count of each sender's messages must match what it sent.  Any
 * difference fails the run.
 *
 * Throughput is measured on the receiving side: messages received, over
 * the time from the start to the last message's arrival.  Senders send
 * for --secs (or a fixed count) as fast as the transport takes them, but
 * no more than 4 MiB (64 to 2048 messages) ahead of the receivers: that
 * keeps the receiving side's queues full without leaving seconds of
 * backlog to check after the senders stop.  What was still queued then is
 * received and counted too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define SLOTS		64	/* distinct payload templates */
#define SEEN_BITS	BIT_ULL(27)	/* sequence numbers per sender */
#define RX_TIMEO_MS	100	/* receivers look around this often */
#define STALL_NS	(10ULL * 1000000000)	/* no progress: missing */
#define WATCHDOG_NS	(60ULL * 1000000000)	/* the whole run is stuck */
#define STREAM_BUF	(256 * 1024)
#define INJECT_AT	50	/* the message of sender 0 --inject spoils */
#define WINDOW_BYTES	(4 << 20)	/* in flight, all senders together */
#define WINDOW_MIN	64
#define WINDOW_MAX	2048

struct run;

/** struct sender - a thread writing one connection */
struct sender {
	struct run *run;
	pthread_t thread;
	int id;
	int fd;
	int cpu;
	u8 *slots;		/* %SLOTS messages, each length prefix + payload */
	u64 sending;		/* sent so far: __atomic, for the window */
	u64 sent;		/* valid once the sender is done */
};

/** struct stream - what a TCP receiver has read of one connection */
struct stream {
	u8 *buf;
	size_t cap, have;
};

/** struct receiver - a thread reading one receiving socket */
struct receiver {
	struct run *run;
	pthread_t thread;
	int id;
	int fds[MAX_CONNS];
	int nfds;
	int epfd;		/* several fds: epoll */
	int cpu;
	struct stream st[MAX_CONNS];
	u8 *buf;		/* MAX_BATCH buffers of @buflen */
	size_t buflen;
	u64 msgs;		/* read by other threads: __atomic */
	u64 next[MAX_CONNS];	/* each sender's next sequence number */
	u64 per[MAX_CONNS];	/* each sender's messages */
	u64 t_last;		/* when the last message came */
};

/** struct run - one throughput or ping-pong run */
struct run {
	enum transport tr;
	size_t size;		/* payload */
	size_t tx_len;		/* bytes per send(): payload, or prefix too */
	size_t rx_len;		/* bytes per recv() of a message socket */
	size_t stride;		/* between slots */
	enum api api;
	int batch;
	int tx_batch;		/* messages per send call */
	int nconns, nrecvs;
	bool tx_hdr;		/* the sender writes the length prefix */
	bool rx_hdr;		/* a received message includes it */
	bool tx_stream;		/* the sender writes a TCP stream */
	bool strict;		/* one sender, one receiver: exact order */
	u64 limit;		/* messages per sender; 0: until @stop */
	u64 window;		/* messages in flight, all senders together */
	int stop;		/* __atomic */
	int senders_done;	/* __atomic */
	int threads_done;	/* __atomic */
	u64 t0, t_done;
	pthread_barrier_t barrier;
	u8 *tmpl;		/* %SLOTS payload templates */
	u64 *seen[MAX_CONNS];	/* bitmaps of sequence numbers, !@strict */
	struct sender tx[MAX_CONNS];
	struct receiver rx[MAX_RECVS];
	int failed;		/* __atomic */
	char err[256];
	pthread_mutex_t err_lock;
};

static __printf(2, 3) int run_fail(struct run *run, const char *fmt, ...);

/* Record the run's first failure; always returns -1. */
static int run_fail(struct run *run, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&run->err_lock);
	if (!run->failed) {
		va_start(ap, fmt);
		vsnprintf(run->err, sizeof(run->err), fmt, ap);
		va_end(ap);
		__atomic_store_n(&run->failed, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&run->err_lock);
	return -1;
}

static bool run_failed(struct run *run)
{
	return __atomic_load_n(&run->failed, __ATOMIC_ACQUIRE);
}

/* Run on @cpu only, or (-1) on any. */
static void pin(int cpu)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;
	int c;

	CPU_ZERO(&set);
	for (c = 0; c < n && c < CPU_SETSIZE; c++)
		if (cpu < 0 || c == cpu)
			CPU_SET(c, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static u64 xorshift(u64 *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* %SLOTS payloads of @size bytes: pseudo-random, each different. */
static u8 *make_templates(size_t size)
{
	u8 *t = malloc(SLOTS * size + 8);
	u64 x, v;
	size_t s, i;

	if (!t)
		return NULL;
	for (s = 0; s < SLOTS; s++) {
		x = 0x9e3779b97f4a7c15ULL * (s + 1);
		for (i = 0; i < size; i += 8) {
			v = xorshift(&x);
			memcpy(t + s * size + i, &v, 8);
		}
	}
	return t;
}

static u8 *slot_of(struct sender *s, u64 seq)
{
	return s->slots + (seq % SLOTS) * s->run->stride;
}

/* Message @seq of sender @s, ready to go; returns what send() takes. */
static u8 *build(struct sender *s, u64 seq)
{
	u8 *m = slot_of(s, seq);
	u32 len = s->run->size, tag = MSG_MAGIC | s->id;

	if (len >= MSG_HDR_LEN) {
		memcpy(m + HDR_LEN, &seq, 8);
		memcpy(m + HDR_LEN + 8, &len, 4);
		memcpy(m + HDR_LEN + 12, &tag, 4);
	}
	return s->run->tx_hdr ? m : m + HDR_LEN;
}

static int sender_init(struct run *run, struct sender *s)
{
	size_t i;

	s->slots = malloc(SLOTS * run->stride);
	if (!s->slots)
		return -1;
	for (i = 0; i < SLOTS; i++) {
		u8 *m = s->slots + i * run->stride;

		put_be32(m, run->size);
		memcpy(m + HDR_LEN, run->tmpl + i * run->size, run->size);
	}
	return 0;
}

/* ---- checking what arrived ----------------------------------------------- */

static bool seen_test_and_set(u64 *map, u64 seq)
{
	u64 bit = 1ULL << (seq % 64);

	return __atomic_fetch_or(&map[seq / 64], bit, __ATOMIC_RELAXED) & bit;
}

/* One payload, as received: 0 if it is the one expected, else -1. */
static int check_payload(struct receiver *r, const u8 *p, size_t len)
{
	struct run *run = r->run;
	u32 plen, tag, id;
	u64 seq;

	if (len != run->size)
		return run_fail(run, "receiver %d: a message of %zu bytes, sent %zu",
				r->id, len, run->size);
	if (len < MSG_HDR_LEN) {
		r->per[0]++;
		return 0;
	}
	memcpy(&seq, p, 8);
	memcpy(&plen, p + 8, 4);
	memcpy(&tag, p + 12, 4);
	id = tag & 0xff;
	if ((tag & ~0xffu) != MSG_MAGIC || plen != len ||
	    id >= (u32)run->nconns || seq >= SEEN_BITS)
		return run_fail(run, "receiver %d: a corrupt message header", r->id);
	if (run->strict && seq != r->next[id])
		return run_fail(run, "receiver %d: message %llu arrived when %llu was due",
				r->id, (unsigned long long)seq,
				(unsigned long long)r->next[id]);
	if (!run->strict && seq < r->next[id])
		return run_fail(run, "receiver %d: sender %u's message %llu after %llu",
				r->id, id, (unsigned long long)seq,
				(unsigned long long)r->next[id] - 1);
	if (!run->strict && seen_test_and_set(run->seen[id], seq))
		return run_fail(run, "receiver %d: sender %u's message %llu twice",
				r->id, id, (unsigned long long)seq);
	if (memcmp(p + MSG_HDR_LEN,
		   run->tmpl + (seq % SLOTS) * run->size + MSG_HDR_LEN,
		   len - MSG_HDR_LEN))
		return run_fail(run, "receiver %d: sender %u's message %llu: corrupt payload",
				r->id, id, (unsigned long long)seq);
	r->next[id] = seq + 1;
	r->per[id]++;
	return 0;
}

/* A whole message as a message socket returned it (@len bytes). */
static int check_msg(struct receiver *r, const u8 *m, size_t len)
{
	struct run *run = r->run;

	if (!run->rx_hdr)
		return check_payload(r, m, len);
	if (len < HDR_LEN || get_be32(m) != len - HDR_LEN)
		return run_fail(run, "receiver %d: %zu bytes, length prefix %u",
				r->id, len, len < HDR_LEN ? 0 : get_be32(m));
	return check_payload(r, m + HDR_LEN, len - HDR_LEN);
}

/* Cut the complete messages out of a TCP stream's buffer. */
static int stream_parse(struct receiver *r, struct stream *st)
{
	size_t off = 0, len;
	int k = 0;

	while (st->have - off >= HDR_LEN) {
		len = get_be32(st->buf + off);
		if (len != r->run->size)
			return run_fail(r->run, "receiver %d: length prefix %zu, sent %zu",
					r->id, len, r->run->size);
		if (st->have - off < HDR_LEN + len)
			break;
		if (check_payload(r, st->buf + off + HDR_LEN, len))
			return -1;
		off += HDR_LEN + len;
		k++;
	}
	memmove(st->buf, st->buf + off, st->have - off);
	st->have -= off;
	return k;
}

/* ---- receiving ----------------------------------------------------------- */

static bool again(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

/*
 * One read of @fd: recv() or recvmmsg() of whole messages, or one large
 * read of a TCP stream.  Returns the messages checked, 0 when nothing
 * came (timeout, or nothing ready), -1 when the run failed.
 */
static int rx_one(struct receiver *r, int fd, struct stream *st, int flags)
{
	struct run *run = r->run;
	struct mmsghdr mm[MAX_BATCH];
	struct iovec iov[MAX_BATCH];
	ssize_t n;
	int i, k;

	if (st) {
		n = recv(fd, st->buf + st->have, st->cap - st->have, flags);
		if (n > 0) {
			st->have += n;
			return stream_parse(r, st);
		}
		if (n < 0 && again())
			return 0;
		return run_fail(run, "receiver %d: read: %s", r->id,
				n ? strerror(errno) : "end of stream");
	}
	if (run->api == API_SEND) {
		n = recv(fd, r->buf, r->buflen, flags);
		if (n < 0)
			return again() ? 0 : run_fail(run, "receiver %d: recv: %s",
						      r->id, strerror(errno));
		return check_msg(r, r->buf, n) ? -1 : 1;
	}
	memset(mm, 0, sizeof(mm[0]) * run->batch);
	for (i = 0; i < run->batch; i++) {
		iov[i].iov_base = r->buf + i * r->buflen;
		iov[i].iov_len = r->buflen;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	k = recvmmsg(fd, mm, run->batch, flags | MSG_WAITFORONE, NULL);
	if (k < 0)
		return again() ? 0 : run_fail(run, "receiver %d: recvmmsg: %s",
					      r->id, strerror(errno));
	for (i = 0; i < k; i++) {
		if (mm[i].msg_hdr.msg_flags & MSG_TRUNC)
			return run_fail(run, "receiver %d: a message over %zu bytes",
					r->id, r->buflen);
		if (check_msg(r, iov[i].iov_base, mm[i].msg_len))
			return -1;
	}
	return k;
}

/* Several fds: poll, and read each ready one until it has nothing. */
static int rx_epoll(struct receiver *r)
{
	struct epoll_event ev[MAX_CONNS];
	int i, n, k, got = 0, rounds;

	n = epoll_wait(r->epfd, ev, MAX_CONNS, RX_TIMEO_MS);
	if (n < 0)
		return again() ? 0 : run_fail(r->run, "epoll_wait: %s",
					      strerror(errno));
	for (i = 0; i < n; i++) {
		int c = ev[i].data.u32;
		struct stream *st = r->run->tr == TR_TCP ? &r->st[c] : NULL;

		for (rounds = 0; rounds < 16; rounds++) {
			k = rx_one(r, r->fds[c], st, MSG_DONTWAIT);
			if (k < 0)
				return -1;
			if (!k)
				break;
			got += k;
		}
	}
	return got;
}

static u64 rx_total(struct run *run)
{
	u64 n = 0;
	int j;

	for (j = 0; j < run->nrecvs; j++)
		n += __atomic_load_n(&run->rx[j].msgs, __ATOMIC_RELAXED);
	return n;
}

static u64 tx_total(struct run *run)
{
	u64 n = 0;
	int i;

	for (i = 0; i < run->nconns; i++)
		n += run->tx[i].sent;
	return n;
}

/* Nothing came for a while: is everything in, or is something missing? */
static bool rx_finished(struct receiver *r)
{
	struct run *run = r->run;
	u64 got, sent, t, last = 0;
	int j;

	if (run_failed(run))
		return true;
	if (__atomic_load_n(&run->senders_done, __ATOMIC_ACQUIRE) <
	    run->nconns)
		return false;
	got = rx_total(run);
	sent = tx_total(run);
	if (got == sent)
		return true;
	if (got > sent) {
		run_fail(run, "%llu messages received, %llu sent",
			 (unsigned long long)got, (unsigned long long)sent);
		return true;
	}
	for (j = 0; j < run->nrecvs; j++) {
		t = __atomic_load_n(&run->rx[j].t_last, __ATOMIC_RELAXED);
		if (t > last)
			last = t;
	}
	t = __atomic_load_n(&run->t_done, __ATOMIC_RELAXED);
	if (t > last)
		last = t;
	if (now_ns() - last > STALL_NS) {
		run_fail(run, "%llu of %llu messages missing",
			 (unsigned long long)(sent - got),
			 (unsigned long long)sent);
		return true;
	}
	return false;
}

static void *receiver_main(void *arg)
{
	struct receiver *r = arg;
	struct run *run = r->run;
	int k;

	pin(r->cpu);
	pthread_barrier_wait(&run->barrier);
	for (;;) {
		if (r->nfds == 1)
			k = rx_one(r, r->fds[0], run->tr == TR_TCP ? &r->st[0] :
				   NULL, 0);
		else
			k = rx_epoll(r);
		if (k < 0)
			break;
		if (k > 0) {
			__atomic_store_n(&r->t_last, now_ns(), __ATOMIC_RELAXED);
			__atomic_store_n(&r->msgs, r->msgs + k,
					 __ATOMIC_RELAXED);
			/* The last message: no need to wait for a timeout. */
			if (__atomic_load_n(&run->senders_done,
					    __ATOMIC_ACQUIRE) < run->nconns ||
			    rx_total(run) < tx_total(run))
				continue;
		}
		if (rx_finished(r))
			break;
	}
	__atomic_fetch_add(&run->threads_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int set_rcvtimeo(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000,
			      .tv_usec = (ms % 1000) * 1000 };

	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static int receiver_init(struct run *run, struct receiver *r)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int c;

	r->buflen = run->rx_len + 64;
	r->buf = malloc((run->api == API_MMSG ? run->batch : 1) * r->buflen);
	if (!r->buf)
		return -1;
	r->epfd = -1;
	for (c = 0; c < r->nfds; c++) {
		if (run->tr == TR_TCP) {
			r->st[c].cap = STREAM_BUF;
			if (r->st[c].cap < 2 * (HDR_LEN + run->size))
				r->st[c].cap = 2 * (HDR_LEN + run->size);
			r->st[c].buf = malloc(r->st[c].cap);
			if (!r->st[c].buf)
				return -1;
		}
		if (set_rcvtimeo(r->fds[c], RX_TIMEO_MS))
			return -1;
	}
	if (r->nfds > 1) {
		r->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (r->epfd < 0)
			return -1;
		for (c = 0; c < r->nfds; c++) {
			ev.data.u32 = c;
			if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->fds[c], &ev))
				return -1;
		}
	}
	return 0;
}

static void receiver_free(struct receiver *r)
{
	int c;

	for (c = 0; c < r->nfds; c++)
		free(r->st[c].buf);
	free(r->buf);
	/* 0: never set up (an epoll fd is never 0: stdin is open). */
	if (r->epfd > 0)
		close(r->epfd);
}

/* ---- sending ------------------------------------------------------------- */

/* All of @iov, however many calls it takes (a TCP stream). */
static int send_all(int fd, struct iovec *iov, int n)
{
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = n };
	ssize_t w;

	while (msg.msg_iovlen) {
		w = sendmsg(fd, &msg, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (msg.msg_iovlen && (size_t)w >= msg.msg_iov->iov_len) {
			w -= msg.msg_iov->iov_len;
			msg.msg_iov++;
			msg.msg_iovlen--;
		}
		if (msg.msg_iovlen) {
			msg.msg_iov->iov_base = (u8 *)msg.msg_iov->iov_base + w;
			msg.msg_iov->iov_len -= w;
		}
	}
	return 0;
}

/* One message of @len bytes at @m, whole; 0 or -1. */
static int tx_raw(struct sender *s, u8 *m, size_t len)
{
	struct iovec iov = { .iov_base = m, .iov_len = len };

	if (s->run->tx_stream)
		return send_all(s->fd, &iov, 1);
	return send(s->fd, m, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/*
 * --inject: message @seq goes wrong -- a flipped byte (or, of 0 bytes, a
 * message of 1), not sent at all, or sent twice -- and is counted as sent
 * once.  Returns 1, or -1.
 */
static int tx_fault(struct sender *s, u64 seq)
{
	struct run *run = s->run;
	size_t off = run->tx_hdr ? HDR_LEN : 0;
	u8 bad[HDR_LEN + 1], *m;
	int ret;

	switch (opt.inject) {
	case INJ_DROP:
		return 1;
	case INJ_DUP:
		m = build(s, seq);
		return tx_raw(s, m, run->tx_len) ||
		       tx_raw(s, m, run->tx_len) ? -1 : 1;
	default:
		break;
	}
	if (!run->size) {
		put_be32(bad, 1);
		bad[HDR_LEN] = 0x55;
		return tx_raw(s, bad + HDR_LEN - off, off + 1) ? -1 : 1;
	}
	m = build(s, seq);
	m[off + run->size - 1] ^= 0x20;
	ret = tx_raw(s, m, run->tx_len);
	m[off + run->size - 1] ^= 0x20;
	return ret ? -1 : 1;
}

/* Send messages from @seq on; returns how many went, or -1. */
static int tx_some(struct sender *s, u64 seq)
{
	struct run *run = s->run;
	struct mmsghdr mm[MAX_BATCH];
	struct iovec iov[MAX_BATCH];
	int i, k = 1, n;

	if (run->tx_batch > 1) {
		k = run->tx_batch;
		if (run->limit && run->limit - seq < (u64)k)
			k = run->limit - seq;
		/* --inject's message goes alone. */
		if (opt.inject && !s->id && seq < INJECT_AT &&
		    seq + k > INJECT_AT)
			k = INJECT_AT - seq;
	}
	for (i = 0; i < k; i++) {
		iov[i].iov_base = build(s, seq + i);
		iov[i].iov_len = run->tx_len;
	}
	if (run->tx_stream)
		return send_all(s->fd, iov, k) ? -1 : k;
	if (k == 1 && run->api == API_SEND) {
		ssize_t w = send(s->fd, iov[0].iov_base, run->tx_len,
				 MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			return 0;
		return w == (ssize_t)run->tx_len ? 1 : -1;
	}
	memset(mm, 0, sizeof(mm[0]) * k);
	for (i = 0; i < k; i++) {
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	n = sendmmsg(s->fd, mm, k, MSG_NOSIGNAL);
	if (n < 0 && errno == EINTR)
		return 0;
	for (i = 0; i < n; i++)
		if (mm[i].msg_len != run->tx_len)
			return -1;
	return n;
}

/*
 * Messages sent and not yet received, over all senders.  A sender that
 * is that far ahead waits: the receiver has plenty queued, and when the
 * run stops there is not much more to receive and check.
 */
static u64 in_flight(struct run *run)
{
	u64 sent = 0;
	int i;

	for (i = 0; i < run->nconns; i++)
		sent += __atomic_load_n(&run->tx[i].sending, __ATOMIC_RELAXED);
	return sent - rx_total(run);
}

static void tx_wait_window(struct run *run)
{
	struct timespec ts = { 0, 100000 };

	while (in_flight(run) >= run->window &&
	       !__atomic_load_n(&run->stop, __ATOMIC_RELAXED) &&
	       !run_failed(run))
		nanosleep(&ts, NULL);
}

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	struct run *run = s->run;
	u64 seq = 0;
	int n;

	pin(s->cpu);
	pthread_barrier_wait(&run->barrier);
	while (!__atomic_load_n(&run->stop, __ATOMIC_RELAXED) &&
	       (!run->limit || seq < run->limit) && seq < SEEN_BITS - MAX_BATCH) {
		tx_wait_window(run);
		if (opt.inject && !s->id && seq == INJECT_AT)
			n = tx_fault(s, seq);
		else
			n = tx_some(s, seq);
		if (n < 0) {
			run_fail(run, "sender %d: %s after %llu messages", s->id,
				 strerror(errno), (unsigned long long)seq);
			break;
		}
		seq += n;
		__atomic_store_n(&s->sending, seq, __ATOMIC_RELAXED);
	}
	s->sent = seq;
	if (__atomic_add_fetch(&run->senders_done, 1, __ATOMIC_ACQ_REL) ==
	    run->nconns)
		__atomic_store_n(&run->t_done, now_ns(), __ATOMIC_RELAXED);
	__atomic_fetch_add(&run->threads_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* ---- a run --------------------------------------------------------------- */

/*
 * @tcp_tx: whatever the transport, the senders write framed messages to
 * plain TCP sockets, in batches (a receive-only run).
 */
static struct run *run_new(enum transport tr, size_t size, enum api api,
			   int nconns, int nrecvs, bool tcp_tx, u64 limit)
{
	struct run *run = calloc(1, sizeof(*run));

	if (!run)
		return NULL;
	run->tr = tr;
	run->size = size;
	run->rx_hdr = transports[tr].hdr_in_msg;
	run->tx_stream = tcp_tx || transports[tr].stream;
	run->tx_hdr = run->rx_hdr || run->tx_stream;
	run->tx_len = size + (run->tx_hdr ? HDR_LEN : 0);
	run->rx_len = size + (run->rx_hdr ? HDR_LEN : 0);
	run->stride = (HDR_LEN + size + 7) & ~(size_t)7;
	run->api = api;
	run->batch = opt.batch;
	run->tx_batch = api == API_MMSG || tcp_tx ? opt.batch : 1;
	run->nconns = nconns;
	run->nrecvs = nrecvs;
	run->strict = nconns == 1 && nrecvs == 1;
	run->limit = limit;
	run->window = WINDOW_BYTES / (HDR_LEN + size);
	if (run->window < WINDOW_MIN)
		run->window = WINDOW_MIN;
	if (run->window > WINDOW_MAX)
		run->window = WINDOW_MAX;
	pthread_mutex_init(&run->err_lock, NULL);
	run->tmpl = make_templates(size);
	if (!run->tmpl) {
		free(run);
		return NULL;
	}
	return run;
}

static void run_free(struct run *run)
{
	int i;

	for (i = 0; i < MAX_CONNS; i++) {
		free(run->tx[i].slots);
		if (run->seen[i])
			munmap(run->seen[i], SEEN_BITS / 8);
	}
	for (i = 0; i < run->nrecvs; i++)
		receiver_free(&run->rx[i]);
	free(run->tmpl);
	pthread_mutex_destroy(&run->err_lock);
	free(run);
}

/*
 * Wait for the run's threads.  After a failure, shut the sockets down so
 * that a sender blocked on a receiver that stopped wakes up.  A run that
 * does not end is a transport that lost track of something: report it
 * and exit, since its threads cannot be taken back.
 */
static void run_wait(struct run *run, const struct link *l, u64 deadline)
{
	int nthreads = run->nconns + run->nrecvs, i;
	struct timespec ts = { 0, 5000000 };
	bool shut = false;

	while (__atomic_load_n(&run->threads_done, __ATOMIC_ACQUIRE) <
	       nthreads) {
		if (run_failed(run) && !shut) {
			for (i = 0; i < l->nfds; i++)
				shutdown(l->fds[i], SHUT_RDWR);
			shut = true;
			deadline = now_ns() + 3000000000ULL;
		}
		if (now_ns() > deadline) {
			fprintf(stderr, "msgmux-bench: %s: %s (%llu messages received)\n",
				transports[run->tr].name,
				run->failed ? run->err : "the run is stuck",
				(unsigned long long)rx_total(run));
			printf("not ok - %s: %s\n", transports[run->tr].name,
			       run->failed ? run->err : "the run is stuck");
			fflush(stdout);
			_exit(1);
		}
		nanosleep(&ts, NULL);
	}
}

/*
 * Once every message sent was counted, nothing more may come: not a
 * message sent twice, nor the start of one in a TCP stream.
 */
static int run_leftovers(struct run *run)
{
	struct pollfd pfd[MAX_RECVS * MAX_CONNS];
	int i, j, c, n = 0;

	for (j = 0; j < run->nrecvs; j++) {
		for (c = 0; c < run->rx[j].nfds; c++) {
			if (run->rx[j].st[c].have)
				return run_fail(run, "receiver %d: %zu bytes of a message left",
						j, run->rx[j].st[c].have);
			pfd[n].fd = run->rx[j].fds[c];
			pfd[n++].events = POLLIN;
		}
	}
	if (poll(pfd, n, 20) <= 0)
		return 0;
	for (i = 0; i < n; i++)
		if (pfd[i].revents & POLLIN)
			return run_fail(run, "a message more than was sent");
	return 0;
}

/* Every sender's messages arrived, exactly once. */
static int run_account(struct run *run)
{
	u64 got;
	int i, j;

	if (run->size < MSG_HDR_LEN) {
		got = rx_total(run);
		if (got != tx_total(run))
			return run_fail(run, "%llu messages received, %llu sent",
					(unsigned long long)got,
					(unsigned long long)tx_total(run));
		return 0;
	}
	for (i = 0; i < run->nconns; i++) {
		for (got = 0, j = 0; j < run->nrecvs; j++)
			got += run->rx[j].per[i];
		if (got != run->tx[i].sent)
			return run_fail(run, "sender %d: %llu messages received, %llu sent",
					i, (unsigned long long)got,
					(unsigned long long)run->tx[i].sent);
	}
	return 0;
}

/* Sleep for @secs, or less if the run fails. */
static void run_sleep(struct run *run, double secs)
{
	u64 end = now_ns() + (u64)(secs * 1e9);
	struct timespec ts = { 0, 10000000 };

	while (now_ns() < end && !run_failed(run))
		nanosleep(&ts, NULL);
}

/**
 * run_tput() - one throughput run
 * @tr: the transport.
 * @size: payload bytes per message.
 * @api: send()/recv() or sendmmsg()/recvmmsg().
 * @nconns: connections (sender threads).
 * @nrecvs: receiving sockets (receiver threads).
 * @tcp_tx: a receive-only run: plain TCP senders, writev() of --batch
 *	framed messages; @api applies to the receivers.
 * @count: messages per sender, or 0 to send for --secs.
 * @res: the outcome.
 * @err: what went wrong, on failure.
 * @errlen: room in @err.
 *
 * Return: 0, or -1 if the run could not be set up or a message was
 * corrupt, missing or duplicated.
 */
int run_tput(enum transport tr, size_t size, enum api api, int nconns,
	     int nrecvs, bool tcp_tx, u64 count, struct tput *res, char *err,
	     size_t errlen)
{
	bool one = nconns == 1 && nrecvs == 1 && sysconf(_SC_NPROCESSORS_ONLN) > 1;
	struct run *run = run_new(tr, size, api, nconns, nrecvs, tcp_tx, count);
	struct link l;
	u64 end = 0, got;
	int i, j, ret = -1;

	if (!run) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (link_open(&l, tr, nconns, nrecvs, size, tcp_tx)) {
		snprintf(err, errlen, "setting up the sockets: %s",
			 strerror(errno));
		run_free(run);
		return -1;
	}
	for (i = 0; i < nconns; i++) {
		struct sender *s = &run->tx[i];

		s->run = run;
		s->id = i;
		s->fd = l.tx[i];
		s->cpu = one ? 0 : -1;
		if (sender_init(run, s))
			goto out;
		if (!run->strict && size >= MSG_HDR_LEN) {
			run->seen[i] = mmap(NULL, SEEN_BITS / 8,
					    PROT_READ | PROT_WRITE,
					    MAP_PRIVATE | MAP_ANONYMOUS |
					    MAP_NORESERVE, -1, 0);
			if (run->seen[i] == MAP_FAILED) {
				run->seen[i] = NULL;
				goto out;
			}
		}
	}
	for (j = 0; j < nrecvs; j++) {
		struct receiver *r = &run->rx[j];

		r->run = run;
		r->id = j;
		r->nfds = l.nrx[j];
		memcpy(r->fds, l.rx[j], sizeof(r->fds));
		r->cpu = one ? 1 : -1;
		if (receiver_init(run, r))
			goto out;
	}

	pthread_barrier_init(&run->barrier, NULL, nconns + nrecvs + 1);
	for (j = 0; j < nrecvs; j++)
		pthread_create(&run->rx[j].thread, NULL, receiver_main,
			       &run->rx[j]);
	for (i = 0; i < nconns; i++)
		pthread_create(&run->tx[i].thread, NULL, sender_main,
			       &run->tx[i]);
	pthread_barrier_wait(&run->barrier);
	run->t0 = now_ns();
	if (!count) {
		run_sleep(run, opt.secs);
		__atomic_store_n(&run->stop, 1, __ATOMIC_RELAXED);
	}
	run_wait(run, &l, now_ns() + WATCHDOG_NS);
	for (i = 0; i < nconns; i++)
		pthread_join(run->tx[i].thread, NULL);
	for (j = 0; j < nrecvs; j++)
		pthread_join(run->rx[j].thread, NULL);
	pthread_barrier_destroy(&run->barrier);

	if (run->failed || run_account(run) || run_leftovers(run))
		goto out;
	got = rx_total(run);
	for (j = 0; j < nrecvs; j++)
		if (run->rx[j].t_last > end)
			end = run->rx[j].t_last;
	memset(res, 0, sizeof(*res));
	res->msgs = got;
	res->secs = end > run->t0 ? (end - run->t0) / 1e9 : 0;
	if (res->secs > 0) {
		res->msgs_per_s = got / res->secs;
		res->mb_per_s = res->msgs_per_s * size / 1e6;
	}
	if (!got)
		run_fail(run, "no message arrived");
	else
		ret = 0;
out:
	if (ret)
		snprintf(err, errlen, "%s", run->failed ? run->err :
			 "out of memory or descriptors");
	link_close(&l);
	run_free(run);
	return ret;
}

/* ---- ping-pong ----------------------------------------------------------- */

/*
 * Read one whole message from @fd into @r's buffer (a message socket) or
 * stream.  Returns it and its length in @len (payload and prefix as they
 * came), or NULL on timeout or error.
 */
static u8 *lat_recv(struct receiver *r, int fd, size_t *len)
{
	struct stream *st = &r->st[0];
	size_t want = HDR_LEN + r->run->size;
	ssize_t n;

	if (r->run->tr != TR_TCP) {
		n = recv(fd, r->buf, r->buflen, 0);
		if (n < 0)
			return NULL;
		*len = n;
		return r->buf;
	}
	/*
	 * Ping-pong: nothing follows the one message.  What came before a
	 * timeout stays for the next call.
	 */
	while (st->have < want) {
		n = recv(fd, st->buf + st->have, st->cap - st->have, 0);
		if (n <= 0) {
			if (!n)
				errno = EPIPE;
			return NULL;
		}
		st->have += n;
	}
	*len = st->have;
	st->have = 0;
	return st->buf;
}

struct pong {
	struct run *run;
	struct receiver r;
	int fd;
};

/* The server side: send every message back as it came. */
static void *pong_main(void *arg)
{
	struct pong *p = arg;
	struct run *run = p->run;
	size_t len;
	u8 *m;

	pin(opt.lat_split ? 1 : 0);
	pthread_barrier_wait(&run->barrier);
	while (!__atomic_load_n(&run->stop, __ATOMIC_RELAXED)) {
		m = lat_recv(&p->r, p->fd, &len);
		if (!m) {
			if (again())
				continue;
			run_fail(run, "echo side: recv: %s", strerror(errno));
			break;
		}
		if (send(p->fd, m, len, MSG_NOSIGNAL) != (ssize_t)len) {
			run_fail(run, "echo side: send: %s", strerror(errno));
			break;
		}
	}
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

/* The client side, in the calling thread: returns the round trips done. */
static u64 ping(struct run *run, struct receiver *r, int fd, u32 *rtt,
		u64 max, u64 count)
{
	struct sender *s = &run->tx[0];
	u64 end = now_ns() + (u64)(opt.secs * 1e9), t, i;
	size_t len;
	u8 *m;

	pin(0);
	pthread_barrier_wait(&run->barrier);
	for (i = 0; i < max && (count ? i < count : now_ns() < end); i++) {
		m = build(s, i);
		t = now_ns();
		if (send(fd, m, run->tx_len, MSG_NOSIGNAL) !=
		    (ssize_t)run->tx_len) {
			run_fail(run, "send: %s", strerror(errno));
			break;
		}
		m = lat_recv(r, fd, &len);
		rtt[i] = now_ns() - t;
		if (!m) {
			run_fail(run, "no echo of message %llu: %s",
				 (unsigned long long)i, strerror(errno));
			break;
		}
		if (run->tr == TR_TCP) {
			if (get_be32(m) != run->size) {
				run_fail(run, "a length prefix of %u, sent %zu",
					 get_be32(m), run->size);
				break;
			}
			m += HDR_LEN;
			len -= HDR_LEN;
		} else if (run->rx_hdr) {
			if (check_msg(r, m, len))
				break;
			continue;
		}
		if (check_payload(r, m, len))
			break;
	}
	return i;
}

/**
 * run_lat() - one ping-pong run: a message goes out and comes back
 * @tr: the transport.
 * @size: payload bytes.
 * @count: round trips, or 0 for --secs.
 * @res: the outcome.
 * @err: what went wrong, on failure.
 * @errlen: room in @err.
 *
 * Both ends run on CPU 0, one waking the other: the figure is the cost of
 * the path (system calls, softirq, wake-ups), not how long a virtual
 * machine's idle vCPU takes to be scheduled again on a busy host, which
 * swamps it under TCG.  With --lat-split the echoing side runs on CPU 1.
 *
 * Return: 0, or -1.
 */
int run_lat(enum transport tr, size_t size, u64 count, struct lat *res,
	    char *err, size_t errlen)
{
	const u64 max = 1 << 21;
	struct run *run = run_new(tr, size, API_SEND, 1, 1, false, 0);
	struct pong p = { .run = run };
	struct receiver *r;
	pthread_t thread;
	struct link l;
	u32 *rtt = NULL;
	u64 n = 0;
	int ret = -1;

	if (!run) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (link_open(&l, tr, 1, 1, size, false)) {
		snprintf(err, errlen, "setting up the sockets: %s",
			 strerror(errno));
		run_free(run);
		return -1;
	}
	run->tx[0].run = run;
	r = &run->rx[0];
	r->run = run;
	r->nfds = 1;
	r->fds[0] = l.tx[0];
	p.r.run = run;
	p.r.nfds = 1;
	p.r.fds[0] = l.rx[0][0];
	p.fd = l.rx[0][0];
	rtt = malloc(max * sizeof(*rtt));
	if (!rtt || sender_init(run, &run->tx[0]) || receiver_init(run, r) ||
	    receiver_init(run, &p.r) || set_rcvtimeo(l.tx[0], 10000))
		goto out;

	pthread_barrier_init(&run->barrier, NULL, 2);
	pthread_create(&thread, NULL, pong_main, &p);
	n = ping(run, r, l.tx[0], rtt, max, count);
	__atomic_store_n(&run->stop, 1, __ATOMIC_RELAXED);
	pthread_join(thread, NULL);
	pthread_barrier_destroy(&run->barrier);
	pin(-1);
	if (run->failed)
		goto out;
	if (!n) {
		run_fail(run, "no round trip");
		goto out;
	}
	qsort(rtt, n, sizeof(*rtt), cmp_u32);
	res->rounds = n;
	res->median_us = rtt[n / 2] / 1e3;
	res->p99_us = rtt[n * 99 / 100] / 1e3;
	ret = 0;
out:
	if (ret)
		snprintf(err, errlen, "%s", run->failed ? run->err :
			 "out of memory");
	receiver_free(&p.r);
	free(rtt);
	link_close(&l);
	run_free(run);
	return ret;
}
