// SPDX-License-Identifier: GPL-2.0
/*
 * stress_test - many threads doing random operations on shared msgmux
 * sockets, with every message checked and accounted for.
 *
 * Worker threads pick operations at random (seeded: each thread's choices
 * follow from the seed; the interleaving is the scheduler's): create a mux,
 * clone, close, attach one end of a TCP pair, unattach, connect() to a TCP
 * or msgmux listener on loopback, listen(), accept(), send (plain,
 * addressed, sendmmsg, MSG_DONTWAIT, MSG_BATCH), recv (blocking with
 * SO_RCVTIMEO, MSG_DONTWAIT, recvmmsg, MSG_PEEK, MSG_TRUNC), poll, the
 * error queue, shutdown(), MSGMUX_RECV_DISABLE, SO_RCVBUF/SO_SNDBUF, and
 * /proc/net/msgmux; on the TCP ends that are not attached ("raw" ends) the
 * test frames messages itself, reads, writes, shuts down and closes.  All
 * of them act on the same sockets.
 *
 * Every message starts with a header: stream, sequence number, length,
 * the connection the sender addressed, when it was sent, and checksums of
 * the header and the payload.  A stream is one thread sending from one
 * source (a mux, to one connection id or to any; or a raw end) and has a
 * ledger: a state per sequence number (reserved, sent, failed, partly
 * written, received).  Each message received is checked at once: intact,
 * of this run, sent and not failed, not received before, on a connection
 * of the receiving mux (conn id and peer port consistent), and in order
 * where msgmux promises order: per connection, on one receiving socket,
 * for a stream with one connection (addressed or from a raw end), unless
 * an operation that moves queued messages between sockets (RECV_DISABLE,
 * SHUT_RD, close) ran after that stream's later message was sent; on a raw
 * end, always.
 *
 * At the end the threads stop, everything is drained (pending accepts
 * taken, receiving re-enabled, a clone added to every mux, all sockets and
 * raw ends read until quiet), and each stream is classified by what the
 * test itself did to the connections it could use, from the time of its
 * first message:
 *
 * - clean: nothing; every message sent must have been received;
 * - counted: an operation after which msgmux drops messages and counts
 *   them in /proc/net/msgmux ("dropped"): unattach, a FIN from the peer,
 *   close of a socket while no other socket of the mux receives; their
 *   losses together must not exceed the mux lines' dropped counters;
 * - excused: the test lost messages itself: it closed a raw end (unread
 *   data is a reset) or the fd of an attached socket, destroyed a mux
 *   (its queues and counters go with it), stopped a listener with
 *   connections in its backlog, or an unattach aborted the connection.
 *
 * The counters must also not exceed the messages lost (plus one per
 * abort, whose cut message both sides count).  A connection failure
 * notification on a connection the test never disturbed, or with a
 * framing reason, fails the test; so do an unexpected errno, a stuck
 * thread (watchdog) and anything in dmesg (make check).
 *
 * Limits: MSGMUX_STRESS_SECS (10), MSGMUX_STRESS_OPS (20000),
 * MSGMUX_STRESS_SEED (1), MSGMUX_STRESS_THREADS (6), MSGMUX_STRESS_DRAIN
 * (seconds to drain, 8), or the same as --secs=, --ops=, --seed=,
 * --threads=, --drain=.  The run stops at the first limit reached.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "harness.h"
#include "libmsgmux.h"
#include "util.h"

#ifndef MSG_BATCH
#define MSG_BATCH	0x40000
#endif

/* ---- limits ------------------------------------------------------------- */

#define MAX_THREADS	16
#define MUX_LIMIT	6	/* muxes alive during the run */
#define MUX_SLOTS	24	/* and room for what the drain accepts */
#define SOCK_LIMIT	4	/* upper sockets per mux during the run */
#define SOCK_SLOTS	5	/* and one clone for the drain */
#define END_LIMIT	18	/* TCP sockets the test holds during the run */
#define END_SLOTS	64
#define LIS_SLOTS	8
#define LIS_LIMIT	4	/* msgmux listeners */
#define HIST		8	/* muxes an end of a connection may have been in */
#define PORT_MIN	10000	/* ports connect() binds to, below the */
#define PORT_MAX	32000	/* ephemeral range */
#define MAX_RECS	(1 << 16)
#define MAX_STREAMS	(1 << 18)
#define MAX_MSG		(160 * 1024)
#define RX_CAP		(MAX_MSG + 4096)
#define MMSG		4	/* messages per sendmmsg()/recvmmsg() */
#define MMSG_SIZE	(16 * 1024)
#define HANG_SECS	60	/* one operation that long is a hang */

static struct {
	unsigned int seed;
	unsigned int secs;
	unsigned long ops;
	unsigned int threads;
	unsigned int drain;
} cfg = { .seed = 1, .secs = 10, .ops = 20000, .threads = 6, .drain = 8 };

/* ---- messages ----------------------------------------------------------- */

#define MAGIC		0x4d584d53u

/**
 * struct mhdr - the start of every message the test sends
 * @magic: MAGIC.
 * @len: the whole message, this header included.
 * @stream: the stream's id.
 * @seq: its sequence number in the stream.
 * @conn: the connection record the sender knew it used, or 0.
 * @seed: the run's seed, so that nothing from elsewhere passes.
 * @ns: when the send started (CLOCK_MONOTONIC).
 * @pcsum: checksum of the payload after the header.
 * @hcsum: checksum of the fields above.
 */
struct mhdr {
	uint32_t magic;
	uint32_t len;
	uint32_t stream;
	uint32_t seq;
	uint32_t conn;
	uint32_t seed;
	uint64_t ns;
	uint64_t pcsum;
	uint64_t hcsum;
};

#define HDR		((unsigned int)sizeof(struct mhdr))

/* Per sequence number, in struct stream's state array. */
#define S_RES		0x01	/* handed out */
#define S_OK		0x02	/* the send succeeded (written whole) */
#define S_FAIL		0x04	/* the send failed: never queued */
#define S_RECV		0x08	/* received */
#define S_PART		0x10	/* a raw end wrote part of it, then no more */
#define S_ABANDON	0x20	/* ... because the test gave up on it */

/**
 * struct stream - what one thread sends from one source
 * @id: index in g.streams, and mhdr.stream.
 * @thread: the sending thread.
 * @raw: written on a raw end (@src a connection record, @end its end);
 *	else sent on a mux (@src a mux record).
 * @conn_id: the connection id sends are addressed to; 0 for any.
 * @conn: the connection record it goes on (0: any of the mux's).
 * @first_ns: when its first send started.
 * @last_ns: when its latest send started.
 * @lock: protects @next, @cap, @st, @t0, @t1 and @via.
 * @t0, @t1: per sequence number, when its send started and when it ended.
 * @via: per connection that delivered some of it, the highest sequence
 *	number it delivered, plus one.
 */
struct stream {
	unsigned int id;
	unsigned int thread;
	bool raw;
	unsigned int src;
	unsigned int end;
	uint32_t conn_id;
	unsigned int conn;
	uint64_t first_ns;
	uint64_t last_ns;
	pthread_mutex_t lock;
	uint32_t next;
	uint32_t cap;
	uint8_t *st;
	uint64_t *t0, *t1;
	struct via {
		unsigned int conn;
		uint32_t top;
	} *via;
	unsigned int nvia, capvia;
};

/* ---- records: what existed during the run, kept to the end -------------- */

struct idmap {
	uint32_t conn_id;
	unsigned int conn;
};

/*
 * A connection's stay in a mux: when it came, and left (0: not yet), and
 * its connection id there (0: not known).
 */
struct mconn {
	unsigned int conn;
	uint32_t conn_id;
	uint64_t enter_ns;
	uint64_t leave_ns;
};

/**
 * struct mux_rec - one mux, alive or not
 * @proc_id: its id in /proc/net/msgmux.
 * @destroyed_ns: when the test closed its last socket; 0 while it lives.
 * @gone_ns: when that close returned.
 * @counted_ns: latest close of a socket while no other socket received
 *	(its queue was dropped and counted).
 * @dropq_ns: the same, for the hole checks.
 * @norecv_ns: latest time none of its sockets received: a connection that
 *	leaves then drops the message it held back (counted).
 * @moving: operations moving queued messages between its sockets now.
 * @closing: closes of its sockets in progress.
 * @epoch: changes whenever a connection comes or goes.
 * @move_end_ns: when the latest of them ended.
 * @dropped: its /proc "dropped": before it was destroyed, or at the end.
 * @one2one: SOCK_SEQPACKET, with a socket that connects or was accepted.
 * @conns: every stay of a connection in it.
 * @ids: connection ids learned, and their records.
 */
struct mux_rec {
	unsigned int id;
	unsigned int proc_id;
	int type;
	uint64_t destroyed_ns;
	uint64_t gone_ns;
	uint64_t counted_ns;
	uint64_t dropq_ns;
	uint64_t norecv_ns;
	int moving;
	uint64_t move_end_ns;
	int closing;
	unsigned int epoch;
	bool one2one;
	unsigned long long dropped;
	struct mconn *conns;
	unsigned int nconns, capconns;
	struct idmap *ids;
	unsigned int nids, capids;
};

/* A list of times: of an event, or a message's send start and arrival. */
struct tlist {
	struct tpair {
		uint64_t t, u;
	} *t;
	unsigned int n, cap;
};

static void tl_add(struct tlist *l, uint64_t t, uint64_t u)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->t = realloc(l->t, l->cap * sizeof(*l->t));
		if (!l->t)
			abort();
	}
	l->t[l->n].t = t;
	l->t[l->n].u = u;
	l->n++;
}

/**
 * struct conn_rec - one TCP connection
 * @family: AF_INET or AF_INET6.
 * @port: the local port of each end (0: unknown).
 * @kernel: end 0 was made by a msgmux connect() (bound first: its port
 *	is unique).
 * @lis: the listener end 1 connected to (listener record), or 0.
 * @accepted: end 1 was taken from that listener's backlog.
 * @from_inst: the upper socket that connected.
 * @connecting: connect() may still be in progress.
 * @muxes: the muxes each end has been in (@nmux each).
 * @cur: the mux each end is in now (as the test knows), or 0.
 * @hist_full: an end went through more than HIST muxes.
 * @excuse_ns: a test operation lost its messages, uncounted, and may
 *	still lose any (a reset, a peer gone).
 * @counted_ns: one made msgmux drop messages, counted, and it may still
 *	(a FIN).
 * @excuse_until: per end, one lost messages of streams that started
 *	before this time, but the connection lives on (its mux destroyed, an
 *	attached socket given back).
 * @counted_until: the same, counted (an unattach of that end).
 * @pending: such bounded operations in progress.
 * @why: what excused it, for the report.
 * @resynced: per end, a raw end had to skip the rest of a message whose
 *	start msgmux had taken (and dropped, counted) when it let go of it.
 * @deliv_ns: per end, the latest send start of a message that arrived
 *	there; @deliv, all of them, with when the test received them.
 * @letgo: per end, when msgmux let go of it (unattach, failure, mux
 *	destroyed): what it had queued to send there was dropped (and a new
 *	writer may follow), and what it was parsing or held back from there.
 */
struct conn_rec {
	unsigned int id;
	int family;
	uint16_t port[2];
	bool kernel;
	unsigned int lis;
	bool accepted;
	unsigned int from_inst;
	bool connecting;
	unsigned int muxes[2][HIST];
	unsigned int nmux[2];
	unsigned int cur[2];
	bool hist_full;
	uint64_t excuse_ns;
	uint64_t counted_ns;
	uint64_t excuse_until[2];
	uint64_t counted_until[2];
	unsigned int pending;
	int why;
	bool resynced[2];
	uint64_t deliv_ns[2];
	struct tlist deliv[2];
	struct tlist letgo[2];
};

/* ---- live objects --------------------------------------------------------- */

struct ord {
	unsigned int stream;
	uint32_t seq;
	uint64_t ns;
};

/* The last message of each stream seen on one receiver. */
struct ordtab {
	struct ord *e;
	unsigned int n, cap;
};

/**
 * struct usock - an upper socket of a live mux
 * @refs: operations using @fd; close waits for them.
 * @dying: being closed: no new operation takes it.
 * @inst: unique over the run.
 * @rx: held by "ordered" receivers, which check @ord.
 * @dis_gen, @dis_busy: MSGMUX_RECV_DISABLE 1 calls started, and not yet
 *	returned: a 0 call that may have been overtaken by one leaves
 *	@disabled set (the kernel may well be disabled).
 */
struct usock {
	bool used, dying;
	unsigned int refs;
	int fd;
	unsigned int inst;
	bool disabled, shut_rd, shut_wr, connects;
	unsigned int dis_gen, dis_busy;
	unsigned int lis;
	unsigned int o2o;	/* SEQPACKET: the connection it is one with */
	pthread_mutex_t rx;
	struct ordtab ord;
};

struct mux_slot {
	bool used;
	unsigned int rec;
	int type;
	unsigned int nlive;
	unsigned int cloning;
	struct usock s[SOCK_SLOTS];
};

enum { END_RAW = 1, END_ATTACHED };

/**
 * struct end_slot - a TCP socket the test holds
 * @state: END_RAW (the test reads and writes it) or END_ATTACHED.
 * @conn, @e: its connection record and which end it is.
 * @mux: END_ATTACHED: the mux slot; @conn_id its id there (0: unknown).
 * @io: serialises raw I/O and attaching.
 * @need_sync: it was attached: the stream may continue in the middle of
 *	a message msgmux took the start of; the reader resynchronises.
 * @tx: a message being written (@txoff of @txlen bytes written).
 */
struct end_slot {
	bool used, dying;
	unsigned int refs;
	int state;
	int fd;
	unsigned int conn, e;
	int mux;
	unsigned int mux_rec;
	uint32_t conn_id;
	pthread_mutex_t io;
	unsigned char *rx;
	size_t rxlen;
	bool need_sync, rx_eof;
	struct ordtab ord;
	unsigned char *tx;
	size_t txlen, txoff;
	struct stream *txs;
	uint32_t txseq;
	bool shut_wr, tx_broken;
	char log[8][64];	/* its last transitions, for failure reports */
	unsigned int nlog;
};

enum { L_TCP = 1, L_DGRAM, L_SEQ };

struct listener {
	bool used;
	unsigned int id;	/* unique over the run */
	int kind;
	int family;
	uint16_t port;
	int fd;			/* L_TCP */
	int mux;		/* msgmux listeners: the mux slot and socket */
	unsigned int inst;
	unsigned int mux_rec;
};

/* ---- operations ------------------------------------------------------------ */

enum {
	OP_CREATE, OP_CLONE, OP_CLOSE, OP_PAIR, OP_ATTACH, OP_UNATTACH,
	OP_CONNECT, OP_LISTEN, OP_ACCEPT, OP_SEND, OP_RECV, OP_RAW_SEND,
	OP_RAW_RECV, OP_POLL, OP_ERRQ, OP_SHUTDOWN, OP_RAW_SHUT, OP_RAW_CLOSE,
	OP_ORPHAN, OP_DISABLE, OP_SOCKOPT, OP_PROC, NOPS
};

static const struct {
	const char *name;
	unsigned int weight;
} opdef[NOPS] = {
	[OP_CREATE]	= { "create",		10 },
	[OP_CLONE]	= { "clone",		10 },
	[OP_CLOSE]	= { "close",		5 },
	[OP_PAIR]	= { "pair+attach",	12 },
	[OP_ATTACH]	= { "attach",		10 },
	[OP_UNATTACH]	= { "unattach",		8 },
	[OP_CONNECT]	= { "connect",		10 },
	[OP_LISTEN]	= { "listen",		4 },
	[OP_ACCEPT]	= { "accept",		15 },
	[OP_SEND]	= { "send",		300 },
	[OP_RECV]	= { "recv",		260 },
	[OP_RAW_SEND]	= { "raw-send",		120 },
	[OP_RAW_RECV]	= { "raw-recv",		120 },
	[OP_POLL]	= { "poll",		40 },
	[OP_ERRQ]	= { "errqueue",		25 },
	[OP_SHUTDOWN]	= { "shutdown",		3 },
	[OP_RAW_SHUT]	= { "raw-shutdown",	3 },
	[OP_RAW_CLOSE]	= { "raw-close",	3 },
	[OP_ORPHAN]	= { "close-attached-fd", 1 },
	[OP_DISABLE]	= { "recv-disable",	25 },
	[OP_SOCKOPT]	= { "sockopt",		12 },
	[OP_PROC]	= { "proc",		8 },
};

struct kv {
	uint64_t key;
	struct stream *s;
};

struct worker {
	unsigned int id;
	pthread_t th;
	uint64_t rng;
	unsigned char *tx;
	unsigned char *rxb;
	unsigned char (*mrx)[MMSG_SIZE];
	struct kv *map;
	unsigned int nmap, capmap;
	/* what it is doing, for the watchdog */
	int op;
	uint64_t op_ns;
	char what[96];
	bool done;
	/* counters */
	unsigned long tries[NOPS], ok[NOPS];
	unsigned long sent, sent_bytes, failed, recvd, recvd_bytes;
	unsigned long send_err[4];	/* EPIPE, ENOTCONN, EAGAIN, other */
	unsigned long raw_sent, raw_recvd, truncs, peeks, mmsgs, ordered;
	unsigned long reorders_moved;
};

/* ---- the shared state ------------------------------------------------------- */

static struct {
	pthread_mutex_t mu;	/* everything below but the atomics */
	pthread_cond_t cv;	/* refs dropped, clones done */
	pthread_mutex_t print;
	struct mux_slot mux[MUX_SLOTS];
	struct end_slot end[END_SLOTS];
	struct listener lis[LIS_SLOTS];
	struct mux_rec **muxr;
	unsigned int nmuxr;
	struct conn_rec **connr;
	unsigned int nconnr;
	struct stream **streams;
	unsigned int nstreams;		/* atomic */
	unsigned int next_inst, next_lis, next_port;
	unsigned int port_conn[PORT_MAX - PORT_MIN];	/* until they wrap */
	int family;
	int stop;			/* atomic */
	int failures;			/* atomic */
	unsigned long ops;		/* atomic: operations started */
	uint64_t t0;
	bool draining;
	struct worker *workers;
	/* totals, under mu */
	unsigned long notes[8], notes_unmapped, resyncs, resync_bytes;
	unsigned long aborts, moves, learned, reconciled;
	const char *stop_why;
} g = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
	.print = PTHREAD_MUTEX_INITIALIZER,
};

/* ---- small helpers ---------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static double secs_since(uint64_t t)
{
	return (now_ns() - t) / 1e9;
}

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t rnd(struct worker *w, uint32_t n)
{
	return n ? splitmix(&w->rng) % n : 0;
}

static bool stopping(void)
{
	return __atomic_load_n(&g.stop, __ATOMIC_RELAXED);
}

static void stop_run(const char *why)
{
	pthread_mutex_lock(&g.print);
	if (!g.stop_why)
		g.stop_why = why;
	pthread_mutex_unlock(&g.print);
	__atomic_store_n(&g.stop, 1, __ATOMIC_SEQ_CST);
}

static void say(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&g.print);
	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	pthread_mutex_unlock(&g.print);
}

/* A failure: printed with the seed and what the thread was doing. */
static void failf(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&g.print);
	printf("# FAIL [seed %u", cfg.seed);
	if (w)
		printf(" thread %u op %s", w->id, opdef[w->op].name);
	printf("] ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	pthread_mutex_unlock(&g.print);
	if (__atomic_add_fetch(&g.failures, 1, __ATOMIC_SEQ_CST) >= 20)
		stop_run("too many failures");
}

static void unexpected(struct worker *w, const char *call, int err)
{
	failf(w, "%s: unexpected %s (%d)", call, strerror(err), err);
}

/*
 * A connect() that failed after EINPROGRESS leaves its error in the
 * socket's SO_ERROR, and the socket layer returns (and clears) it on the
 * next send() or recv(), as on TCP.
 */
static bool connect_error(int err)
{
	return err == ECONNREFUSED || err == ECONNRESET ||
	       err == ECONNABORTED || err == ETIMEDOUT ||
	       err == EHOSTUNREACH || err == ENETUNREACH;
}

/* Is @err one of the @n errnos that follow? */
static bool one_of(int err, int n, ...)
{
	va_list ap;
	bool found = false;

	va_start(ap, n);
	while (n--)
		if (va_arg(ap, int) == err)
			found = true;
	va_end(ap);
	return found;
}

static void *xzalloc(size_t n)
{
	void *p = calloc(1, n);

	if (!p) {
		perror("calloc");
		abort();
	}
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		perror("realloc");
		abort();
	}
	return p;
}

static void max64(uint64_t *p, uint64_t v)
{
	if (*p < v)
		*p = v;
}

static int set_int(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val));
}

static void set_timeo(int fd, int opt, unsigned int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000,
			      .tv_usec = (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

static uint64_t csum(const void *p, size_t len, uint64_t h)
{
	const unsigned char *b = p;
	uint64_t x;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&x, b + i, 8);
		h = (h ^ x) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	for (; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h ^ len;
}

static uint64_t hdr_csum(const struct mhdr *h)
{
	return csum(h, offsetof(struct mhdr, hcsum), 0x5a5a5a5a);
}

static void msg_build(unsigned char *buf, size_t len, const struct stream *s,
		      uint32_t seq, uint64_t ns)
{
	struct mhdr h = {
		.magic = MAGIC, .len = len, .stream = s->id, .seq = seq,
		.conn = s->conn, .seed = cfg.seed, .ns = ns,
	};
	uint64_t x = ((uint64_t)s->id << 32 | seq) * 0x9e3779b97f4a7c15ULL | 1;
	size_t i;

	for (i = HDR; i + 8 <= len; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf + i, &x, 8);
	}
	for (; i < len; i++)
		buf[i] = i * 7;
	h.pcsum = csum(buf + HDR, len - HDR, cfg.seed);
	h.hcsum = hdr_csum(&h);
	memcpy(buf, &h, HDR);
}

/* A header of this run, whole and plausible. */
static bool hdr_valid(const void *p)
{
	struct mhdr h;

	memcpy(&h, p, HDR);
	return h.magic == MAGIC && h.seed == cfg.seed && h.hcsum == hdr_csum(&h) &&
	       h.len >= HDR && h.len <= MAX_MSG;
}

static size_t msg_size(struct worker *w, size_t max)
{
	unsigned int r = rnd(w, 100);
	size_t n;

	if (r < 60)
		n = HDR + rnd(w, 200);
	else if (r < 90)
		n = HDR + rnd(w, 4096);
	else if (r < 98)
		n = HDR + rnd(w, 65536);
	else
		n = HDR + rnd(w, MAX_MSG - HDR + 1);
	return n < max ? n : max;
}

/* ---- records ----------------------------------------------------------------- */

static struct mux_rec *MR(unsigned int id)
{
	return g.muxr[id];
}

static struct conn_rec *CR(unsigned int id)
{
	return id ? g.connr[id] : NULL;
}

/* Caller holds g.mu.  NULL when the tables are full (the run stops). */
static struct mux_rec *mux_rec_new(int type)
{
	struct mux_rec *m;

	if (g.nmuxr + 1 >= MAX_RECS) {
		stop_run("mux records full");
		return NULL;
	}
	m = xzalloc(sizeof(*m));
	m->id = ++g.nmuxr;
	m->type = type;
	g.muxr[m->id] = m;
	return m;
}

static struct conn_rec *conn_rec_new(int family)
{
	struct conn_rec *c;

	if (g.nconnr + 1 >= MAX_RECS) {
		stop_run("connection records full");
		return NULL;
	}
	c = xzalloc(sizeof(*c));
	c->id = ++g.nconnr;
	c->family = family;
	g.connr[c->id] = c;
	return c;
}

/* Caller holds g.mu.  End @e of @c goes into mux record @mux. */
static void conn_enter(struct conn_rec *c, unsigned int e, unsigned int mux)
{
	struct mux_rec *m = MR(mux);
	unsigned int i;

	c->cur[e] = mux;
	for (i = 0; i < c->nmux[e]; i++)
		if (c->muxes[e][i] == mux)
			goto listed;
	if (c->nmux[e] == HIST)
		c->hist_full = true;
	else
		c->muxes[e][c->nmux[e]++] = mux;
listed:
	for (i = 0; i < m->nconns; i++)
		if (m->conns[i].conn == c->id && !m->conns[i].leave_ns)
			return;
	if (m->nconns == m->capconns) {
		m->capconns = m->capconns ? 2 * m->capconns : 8;
		m->conns = xrealloc(m->conns, m->capconns * sizeof(*m->conns));
	}
	m->conns[m->nconns].conn = c->id;
	m->conns[m->nconns].conn_id = 0;
	m->conns[m->nconns].enter_ns = now_ns();
	m->conns[m->nconns].leave_ns = 0;
	m->nconns++;
	m->epoch++;
}

/*
 * Caller holds g.mu.  msgmux let go of end @e of @c at @t: what it had
 * queued there to send was dropped, and (@counted) counted, or lost with a
 * mux; what it was parsing or held back was dropped too.
 */
static void end_let_go(struct conn_rec *c, unsigned int e, uint64_t t,
		       bool counted)
{
	max64(counted ? &c->counted_until[e] : &c->excuse_until[e], t);
	tl_add(&c->letgo[e], t, 0);
}

/* Caller holds g.mu.  End @e of @c is no longer in mux record @mux. */
static void conn_leave(struct conn_rec *c, unsigned int e, unsigned int mux)
{
	struct mux_rec *m = MR(mux);
	unsigned int i;

	if (!mux || c->cur[e] != mux)
		return;
	c->cur[e] = 0;
	if (c->cur[!e] == mux)
		return;
	for (i = 0; i < m->nconns; i++) {
		if (m->conns[i].conn != c->id || m->conns[i].leave_ns)
			continue;
		m->conns[i].leave_ns = now_ns();
		/* Left while no socket received: its held message dropped. */
		if (m->norecv_ns >= m->conns[i].enter_ns)
			end_let_go(c, e, now_ns(), true);
	}
	m->epoch++;
}

static bool conn_in_mux(const struct conn_rec *c, unsigned int mux)
{
	unsigned int e, i;

	if (c->hist_full)
		return true;
	for (e = 0; e < 2; e++)
		for (i = 0; i < c->nmux[e]; i++)
			if (c->muxes[e][i] == mux)
				return true;
	return false;
}

/*
 * Caller holds g.mu.  The current stay of connection @conn in @m, if
 * connection id @id names it (and not an earlier stay); else NULL.
 */
static struct mconn *stay_named(struct mux_rec *m, unsigned int conn,
				uint32_t id)
{
	struct mconn *open = NULL;
	unsigned int i, stays = 0;

	for (i = 0; i < m->nconns; i++) {
		if (m->conns[i].conn != conn)
			continue;
		stays++;
		if (!m->conns[i].leave_ns)
			open = &m->conns[i];
	}
	if (!open)
		return NULL;
	if (open->conn_id)
		return open->conn_id == id ? open : NULL;
	return stays == 1 ? open : NULL;
}

/* Caller holds g.mu.  The record for @conn_id on @m, or 0. */
static unsigned int id_lookup(const struct mux_rec *m, uint32_t conn_id)
{
	unsigned int i;

	for (i = 0; i < m->nids; i++)
		if (m->ids[i].conn_id == conn_id)
			return m->ids[i].conn;
	return 0;
}

/*
 * Caller holds g.mu.  Connection id @conn_id of @m is connection record
 * @conn.  It names @conn's current stay in @m if @attached (the attach
 * returned it), or if @conn was never there before (a message's id may be
 * an earlier stay's).
 */
static void id_learn(struct mux_rec *m, uint32_t conn_id, unsigned int conn,
		     bool attached)
{
	unsigned int i, stays = 0;

	if (!conn_id || id_lookup(m, conn_id))
		return;
	for (i = 0; i < m->nconns; i++)
		stays += m->conns[i].conn == conn;
	for (i = 0; i < m->nconns; i++)
		if (m->conns[i].conn == conn && !m->conns[i].leave_ns &&
		    !m->conns[i].conn_id && (attached || stays == 1))
			m->conns[i].conn_id = conn_id;
	if (m->nids == m->capids) {
		m->capids = m->capids ? 2 * m->capids : 8;
		m->ids = xrealloc(m->ids, m->capids * sizeof(*m->ids));
	}
	m->ids[m->nids].conn_id = conn_id;
	m->ids[m->nids].conn = conn;
	m->nids++;
	g.learned++;
}

/* Why a connection was excused, for the report. */
enum {
	X_LISTENER, X_DESTROY, X_CONNECTING, X_ABORT, X_CLOSE_END,
	X_NO_CONNECT, X_NO_SLOT, X_BOUNDED, X_MUX, NX
};

static const char *const x_name[NX] = {
	"listener stopped", "mux destroyed", "connect abandoned",
	"unattach aborted", "TCP socket closed", "connect failed",
	"no slot to accept", "mux destroyed (attached)", "mux destroyed (mux)",
};

static void excuse(struct conn_rec *c, uint64_t t, int why)
{
	if (c) {
		max64(&c->excuse_ns, t);
		c->why = why;
	}
}

static void counted(struct conn_rec *c, uint64_t t)
{
	if (c)
		max64(&c->counted_ns, t);
}

/* Did the test do anything to @c that may end it? */
static bool disturbed(const struct conn_rec *c)
{
	return c->excuse_ns || c->counted_ns || c->excuse_until[0] ||
	       c->excuse_until[1] || c->counted_until[0] ||
	       c->counted_until[1] || c->pending || c->hist_full;
}

static double rel(uint64_t t)
{
	return t && t != UINT64_MAX ? (double)(t - g.t0) / 1e9 : -1;
}

/* Everything the test knows of connection @c, for a failure report. */
static void show_conn(const struct conn_rec *c)
{
	unsigned int e, i;

	say("  connection %u: %s%s ports %u/%u, listener %u, excused %.3f (%s), "
	    "counted %.3f, until: excused %.3f/%.3f counted %.3f/%.3f, "
	    "resynced %d/%d, delivered %.3f/%.3f", c->id,
	    c->family == AF_INET ? "ipv4" : "ipv6",
	    c->kernel ? " kernel-made" : "", c->port[0], c->port[1], c->lis,
	    rel(c->excuse_ns), c->excuse_ns ? x_name[c->why] : "-",
	    rel(c->counted_ns), rel(c->excuse_until[0]),
	    rel(c->excuse_until[1]), rel(c->counted_until[0]),
	    rel(c->counted_until[1]), c->resynced[0], c->resynced[1],
	    rel(c->deliv_ns[0]), rel(c->deliv_ns[1]));
	for (e = 0; e < 2; e++)
		for (i = 0; i < c->nmux[e]; i++) {
			const struct mux_rec *m = MR(c->muxes[e][i]);
			unsigned int k;

			for (k = 0; k < m->nconns; k++)
				if (m->conns[k].conn == c->id)
					say("  end %u in mux %u (%s): id %u, "
					    "%.3f..%.3f; mux destroyed %.3f, "
					    "counted %.3f", e, m->proc_id,
					    m->type == SOCK_DGRAM ? "dgram" :
					    "seqpacket", m->conns[k].conn_id,
					    rel(m->conns[k].enter_ns),
					    rel(m->conns[k].leave_ns),
					    rel(m->destroyed_ns),
					    rel(m->counted_ns));
		}
}

/* ---- streams ------------------------------------------------------------------- */

static struct stream *stream_find(uint32_t id)
{
	if (!id || id > __atomic_load_n(&g.nstreams, __ATOMIC_ACQUIRE))
		return NULL;
	return __atomic_load_n(&g.streams[id], __ATOMIC_ACQUIRE);
}

/*
 * The stream @w sends from a source: a mux record (@raw false) or a
 * connection record's end (@raw true; @sub the end).  A mux's stream is
 * addressed to @conn_id (0: unaddressed), and goes on connection record
 * @conn (0: any of the mux's); @sub tells the mux's streams apart.
 */
static struct stream *stream_get(struct worker *w, bool raw, unsigned int src,
				 uint32_t sub, uint32_t conn_id,
				 unsigned int conn)
{
	uint64_t key = (uint64_t)raw << 63 | (uint64_t)src << 32 | sub;
	struct stream *s;
	unsigned int i, id;

	for (i = 0; i < w->nmap; i++)
		if (w->map[i].key == key)
			return w->map[i].s;
	id = __atomic_load_n(&g.nstreams, __ATOMIC_RELAXED) + 1;
	if (id >= MAX_STREAMS) {
		stop_run("stream table full");
		return NULL;
	}
	s = xzalloc(sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->thread = w->id;
	s->raw = raw;
	s->src = src;
	s->end = raw ? sub : 0;
	s->conn_id = conn_id;
	s->conn = conn;
	s->first_ns = now_ns();
	pthread_mutex_lock(&g.mu);
	s->id = ++g.nstreams;
	__atomic_store_n(&g.streams[s->id], s, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&g.mu);
	if (w->nmap == w->capmap) {
		w->capmap = w->capmap ? 2 * w->capmap : 64;
		w->map = xrealloc(w->map, w->capmap * sizeof(*w->map));
	}
	w->map[w->nmap].key = key;
	w->map[w->nmap].s = s;
	w->nmap++;
	return s;
}

static uint32_t seq_reserve(struct stream *s)
{
	uint32_t seq;

	pthread_mutex_lock(&s->lock);
	if (s->next == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->st = xrealloc(s->st, s->cap);
		s->t0 = xrealloc(s->t0, s->cap * sizeof(*s->t0));
		s->t1 = xrealloc(s->t1, s->cap * sizeof(*s->t1));
	}
	seq = s->next++;
	s->st[seq] = S_RES;
	s->last_ns = now_ns();
	s->t0[seq] = s->last_ns;
	s->t1[seq] = 0;
	pthread_mutex_unlock(&s->lock);
	return seq;
}

static void seq_mark(struct worker *w, struct stream *s, uint32_t seq,
		     uint8_t bits)
{
	pthread_mutex_lock(&s->lock);
	if ((bits & (S_FAIL | S_PART)) && (s->st[seq] & S_RECV))
		failf(w, "stream %u seq %u was received, but its send %s",
		      s->id, seq, bits & S_FAIL ? "failed" : "was cut short");
	s->st[seq] |= bits;
	s->t1[seq] = now_ns();
	pthread_mutex_unlock(&s->lock);
}

/* ---- order ------------------------------------------------------------------ */

static struct ord *ord_find(struct ordtab *t, unsigned int stream)
{
	unsigned int i;

	for (i = 0; i < t->n; i++)
		if (t->e[i].stream == stream)
			return &t->e[i];
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->e = xrealloc(t->e, t->cap * sizeof(*t->e));
	}
	t->e[t->n] = (struct ord){ .stream = stream, .seq = UINT32_MAX };
	return &t->e[t->n++];
}

/* ---- where a message was received -------------------------------------------- */

/**
 * struct rxwhere - the receiver of a message
 * @mux: the mux record (0 for a raw end).
 * @ord: the receiver's order table, or NULL if it does not check order.
 * @end: a raw end: its slot.
 * @from: the address recvmsg() gave, and @alen its length.
 * @what: for messages.
 */
struct rxwhere {
	unsigned int mux;
	struct ordtab *ord;
	struct end_slot *end;
	const struct sockaddr_msgmux *from;
	socklen_t alen;
	const char *what;
};

static uint16_t peer_port(const struct sockaddr_msgmux *a)
{
	if (a->smm_peer_in.sin_family == AF_INET)
		return ntohs(a->smm_peer_in.sin_port);
	if (a->smm_peer_in6.sin6_family == AF_INET6)
		return ntohs(a->smm_peer_in6.sin6_port);
	return 0;
}

/*
 * A mux received a message of @c's on connection id @a->smm_conn_id:
 * check that @c may reach that mux and that the id and port fit.
 */
static void check_route(struct worker *w, const struct rxwhere *rw,
			const struct mhdr *h)
{
	struct mux_rec *m = MR(rw->mux);
	uint32_t id = rw->from->smm_conn_id;
	struct conn_rec *c;
	unsigned int known;
	uint16_t port = peer_port(rw->from);

	pthread_mutex_lock(&g.mu);
	c = h->conn <= g.nconnr ? CR(h->conn) : NULL;
	if (!c) {
		pthread_mutex_unlock(&g.mu);
		failf(w, "stream %u seq %u names connection record %u, which "
		      "does not exist", h->stream, h->seq, h->conn);
		return;
	}
	if (!conn_in_mux(c, rw->mux)) {
		pthread_mutex_unlock(&g.mu);
		failf(w, "stream %u seq %u of connection %u arrived on mux %u "
		      "(conn id %u), where that connection never was",
		      h->stream, h->seq, h->conn, m->proc_id, id);
		return;
	}
	known = id_lookup(m, id);
	if (known && known != c->id) {
		pthread_mutex_unlock(&g.mu);
		failf(w, "stream %u seq %u of connection %u arrived with conn "
		      "id %u of mux %u, which is connection %u's",
		      h->stream, h->seq, h->conn, id, m->proc_id, known);
		return;
	}
	id_learn(m, id, c->id, false);
	if (port && c->port[0] && c->port[1] && port != c->port[0] &&
	    port != c->port[1]) {
		pthread_mutex_unlock(&g.mu);
		failf(w, "stream %u seq %u of connection %u (ports %u, %u) "
		      "came with peer port %u", h->stream, h->seq, c->id,
		      c->port[0], c->port[1], port);
		return;
	}
	pthread_mutex_unlock(&g.mu);
}

/*
 * A message whose sender did not say which connection it took, from a
 * peer port connect() bound: the test gave each such port to one
 * connection (until the ports wrap around).
 */
static void learn_by_port(const struct rxwhere *rw)
{
	uint16_t port = peer_port(rw->from);
	struct conn_rec *c;

	if (port < PORT_MIN || port >= PORT_MAX)
		return;
	pthread_mutex_lock(&g.mu);
	c = CR(g.port_conn[port - PORT_MIN]);
	if (c && g.next_port <= PORT_MAX - PORT_MIN &&
	    c->family == rw->from->smm_peer_in.sin_family &&
	    conn_in_mux(c, rw->mux))
		id_learn(MR(rw->mux), rw->from->smm_conn_id, c->id, false);
	pthread_mutex_unlock(&g.mu);
}

/*
 * One message received: @copied bytes in @buf of a message of @full bytes
 * (more than @copied if it was truncated).
 */
static void rx_message(struct worker *w, const struct rxwhere *rw,
		       const unsigned char *buf, size_t copied, size_t full)
{
	unsigned int conn = 0, i;
	struct stream *s;
	struct mhdr h;
	struct ord *o;
	uint8_t st;

	if (copied < HDR || !hdr_valid(buf)) {
		failf(w, "%s: a corrupt message of %zu bytes (%zu copied): "
		      "%02x %02x %02x %02x %02x %02x %02x %02x", rw->what, full,
		      copied, buf[0], buf[1], buf[2], buf[3], buf[4], buf[5],
		      buf[6], buf[7]);
		return;
	}
	memcpy(&h, buf, HDR);
	if (h.len != full) {
		failf(w, "%s: stream %u seq %u: %zu bytes, its header says %u",
		      rw->what, h.stream, h.seq, full, h.len);
		return;
	}
	if (copied == full &&
	    csum(buf + HDR, full - HDR, cfg.seed) != h.pcsum) {
		size_t i = HDR;
		uint64_t x = ((uint64_t)h.stream << 32 | h.seq) *
			     0x9e3779b97f4a7c15ULL | 1;

		/* Find where it differs, for the report. */
		for (; i + 8 <= full; i += 8) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			if (memcmp(buf + i, &x, 8))
				break;
		}
		failf(w, "%s: stream %u seq %u (%zu bytes): payload corrupt "
		      "near offset %zu", rw->what, h.stream, h.seq, full, i);
		return;
	}
	s = stream_find(h.stream);
	if (!s) {
		failf(w, "%s: stream %u does not exist", rw->what, h.stream);
		return;
	}
	if (rw->end && h.conn && h.conn != rw->end->conn) {
		failf(w, "%s: stream %u seq %u of connection %u read on a raw "
		      "end of connection %u", rw->what, h.stream, h.seq, h.conn,
		      rw->end->conn);
		return;
	}
	if (rw->mux) {
		if (rw->alen != sizeof(*rw->from) ||
		    rw->from->smm_family != g.family ||
		    !rw->from->smm_conn_id) {
			failf(w, "%s: stream %u seq %u: bad address (len %u, "
			      "family %u, conn id %u)", rw->what, h.stream,
			      h.seq, rw->alen, rw->from->smm_family,
			      rw->from->smm_conn_id);
			return;
		}
		if (h.conn)
			check_route(w, rw, &h);
		else
			learn_by_port(rw);
	}
	/* The connection it came on and at which end, if the test knows. */
	pthread_mutex_lock(&g.mu);
	if (rw->end) {
		conn = rw->end->conn;
		max64(&CR(conn)->deliv_ns[rw->end->e], h.ns);
		tl_add(&CR(conn)->deliv[rw->end->e], h.ns, now_ns());
	} else {
		conn = id_lookup(MR(rw->mux), rw->from->smm_conn_id);
		if (conn) {
			struct conn_rec *c = CR(conn);
			bool in[2];

			for (i = 0; i < 2; i++) {
				unsigned int k;

				in[i] = false;
				for (k = 0; k < c->nmux[i]; k++)
					in[i] |= c->muxes[i][k] == rw->mux;
			}
			if (in[0] != in[1] && !c->hist_full) {
				max64(&c->deliv_ns[in[1]], h.ns);
				tl_add(&c->deliv[in[1]], h.ns, now_ns());
			}
		}
	}
	pthread_mutex_unlock(&g.mu);

	pthread_mutex_lock(&s->lock);
	st = h.seq < s->next ? s->st[h.seq] : 0;
	if (st & S_RECV)
		failf(w, "%s: stream %u seq %u received twice", rw->what,
		      h.stream, h.seq);
	else if (!(st & S_RES))
		failf(w, "%s: stream %u seq %u was never sent (%u so far)",
		      rw->what, h.stream, h.seq, s->next);
	else if (st & (S_FAIL | S_PART))
		failf(w, "%s: stream %u seq %u received, but its send %s",
		      rw->what, h.stream, h.seq,
		      st & S_FAIL ? "failed" : "was cut short");
	else
		s->st[h.seq] |= S_RECV;
	for (i = 0; conn && i < s->nvia; i++)
		if (s->via[i].conn == conn)
			break;
	if (conn && i == s->nvia) {
		if (s->nvia == s->capvia) {
			s->capvia = s->capvia ? 2 * s->capvia : 4;
			s->via = xrealloc(s->via, s->capvia * sizeof(*s->via));
		}
		s->via[s->nvia++] = (struct via){ .conn = conn };
	}
	if (conn && s->via[i].top < h.seq + 1)
		s->via[i].top = h.seq + 1;
	pthread_mutex_unlock(&s->lock);

	/*
	 * Order: one connection carries a stream's messages in order, and a
	 * socket queues them in order; a raw end reads one connection.
	 */
	if (!rw->ord || (!rw->end && !s->raw && !s->conn))
		return;
	o = ord_find(rw->ord, s->id);
	if (o->seq != UINT32_MAX && h.seq < o->seq) {
		bool moved = false;

		if (!rw->end) {
			struct mux_rec *m = MR(rw->mux);

			pthread_mutex_lock(&g.mu);
			moved = m->moving || m->move_end_ns >= o->ns;
			pthread_mutex_unlock(&g.mu);
		}
		if (!moved)
			failf(w, "%s: stream %u seq %u after seq %u: out of "
			      "order", rw->what, h.stream, h.seq, o->seq);
		else
			w->reorders_moved++;
	}
	o->seq = h.seq;
	o->ns = h.ns;
	w->ordered++;
}

/* ---- picking live objects ------------------------------------------------------ */

struct sref {
	int m, i;
	struct usock *u;
	int fd;
	unsigned int mux_rec;
	int type;
};

enum {
	P_LISTENING	= 1 << 0,
	P_NOT_LISTENING	= 1 << 1,
	P_SEQ		= 1 << 2,
	P_DGRAM		= 1 << 3,
	P_CONNECTED	= 1 << 4,	/* its mux has a connection */
};

static bool sock_ok(const struct mux_slot *ms, const struct usock *u,
		    unsigned int flags)
{
	if (!u->used || u->dying)
		return false;
	if ((flags & P_LISTENING) && !u->lis)
		return false;
	if ((flags & P_NOT_LISTENING) && u->lis)
		return false;
	if ((flags & P_SEQ) && ms->type != SOCK_SEQPACKET)
		return false;
	if ((flags & P_DGRAM) && ms->type != SOCK_DGRAM)
		return false;
	if (flags & P_CONNECTED) {
		const struct mux_rec *m = MR(ms->rec);
		unsigned int i;

		for (i = 0; i < m->nconns; i++)
			if (!m->conns[i].leave_ns)
				return true;
		return false;
	}
	return true;
}

/* Caller holds g.mu.  Takes a reference on a random matching socket. */
static bool __sock_pick(struct worker *w, struct sref *r, unsigned int flags,
			int only_mux)
{
	int cand[MUX_SLOTS * SOCK_SLOTS], n = 0, m, i, k;

	for (m = 0; m < MUX_SLOTS; m++) {
		if (!g.mux[m].used || (only_mux >= 0 && m != only_mux))
			continue;
		for (i = 0; i < SOCK_SLOTS; i++)
			if (sock_ok(&g.mux[m], &g.mux[m].s[i], flags))
				cand[n++] = m * SOCK_SLOTS + i;
	}
	if (!n)
		return false;
	k = cand[rnd(w, n)];
	r->m = k / SOCK_SLOTS;
	r->i = k % SOCK_SLOTS;
	r->u = &g.mux[r->m].s[r->i];
	r->u->refs++;
	r->fd = r->u->fd;
	r->mux_rec = g.mux[r->m].rec;
	r->type = g.mux[r->m].type;
	return true;
}

static bool sock_pick(struct worker *w, struct sref *r, unsigned int flags)
{
	bool ok;

	pthread_mutex_lock(&g.mu);
	ok = __sock_pick(w, r, flags, -1);
	pthread_mutex_unlock(&g.mu);
	return ok;
}

static void sock_put(struct sref *r)
{
	pthread_mutex_lock(&g.mu);
	if (!--r->u->refs)
		pthread_cond_broadcast(&g.cv);
	pthread_mutex_unlock(&g.mu);
}

/* Caller holds g.mu.  A reference on a random end in @state. */
static struct end_slot *__end_pick(struct worker *w, int state)
{
	int cand[END_SLOTS], n = 0, i;
	struct end_slot *e;

	for (i = 0; i < END_SLOTS; i++)
		if (g.end[i].used && !g.end[i].dying &&
		    (!state || g.end[i].state == state))
			cand[n++] = i;
	if (!n)
		return NULL;
	e = &g.end[cand[rnd(w, n)]];
	e->refs++;
	return e;
}

static struct end_slot *end_pick(struct worker *w, int state)
{
	struct end_slot *e;

	pthread_mutex_lock(&g.mu);
	e = __end_pick(w, state);
	pthread_mutex_unlock(&g.mu);
	return e;
}

static void end_put(struct end_slot *e)
{
	pthread_mutex_lock(&g.mu);
	if (!--e->refs)
		pthread_cond_broadcast(&g.cv);
	pthread_mutex_unlock(&g.mu);
}

/* Caller holds g.mu. */
static int free_mux_slot(bool drain)
{
	int m, n = 0;

	for (m = 0; m < MUX_SLOTS; m++)
		n += g.mux[m].used;
	if (!drain && n >= MUX_LIMIT)
		return -1;
	for (m = 0; m < MUX_SLOTS; m++)
		if (!g.mux[m].used)
			return m;
	return -1;
}

static int free_end_slots(void)
{
	int i, n = 0;

	for (i = 0; i < END_SLOTS; i++)
		n += g.end[i].used;
	return END_LIMIT - n;
}

/* Caller holds g.mu.  Remember a transition of @e. */
static void end_log(struct end_slot *e, const char *fmt, ...)
{
	char *line = e->log[e->nlog++ % ARRAY_SIZE(e->log)];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(e->log[0]), "%.3f ",
		     (now_ns() - g.t0) / 1e9);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(e->log[0]) - n, fmt, ap);
	va_end(ap);
}

static void end_show(const struct end_slot *e)
{
	unsigned int i = e->nlog > ARRAY_SIZE(e->log) ?
			 e->nlog - ARRAY_SIZE(e->log) : 0;

	say("  end %u of connection %u (fd %d, state %d):", e->e, e->conn,
	    e->fd, e->state);
	for (; i < e->nlog; i++)
		say("    %s", e->log[i % ARRAY_SIZE(e->log)]);
}

static struct end_slot *end_new(int fd, struct conn_rec *c, unsigned int e,
				bool need_sync)
{
	int i;

	for (i = 0; i < END_SLOTS; i++) {
		struct end_slot *s = &g.end[i];

		if (s->used)
			continue;
		s->used = true;
		s->dying = false;
		s->refs = 0;
		s->state = END_RAW;
		s->fd = fd;
		s->conn = c->id;
		s->e = e;
		s->mux = -1;
		s->mux_rec = 0;
		s->conn_id = 0;
		s->rxlen = 0;
		s->need_sync = need_sync;
		s->rx_eof = false;
		s->ord.n = 0;
		s->txlen = s->txoff = 0;
		s->txs = NULL;
		s->shut_wr = false;
		s->tx_broken = false;
		s->nlog = 0;
		end_log(s, "new, fd %d", fd);
		return s;
	}
	return NULL;
}

/* Caller holds g.mu.  A new upper socket @fd in mux slot @m. */
static struct usock *usock_add(int m, int fd)
{
	struct mux_slot *ms = &g.mux[m];
	int i;

	for (i = 0; i < SOCK_SLOTS; i++) {
		struct usock *u = &ms->s[i];

		if (u->used)
			continue;
		u->used = true;
		u->dying = false;
		u->refs = 0;
		u->fd = fd;
		u->inst = ++g.next_inst;
		u->disabled = u->shut_rd = u->shut_wr = u->connects = false;
		u->dis_gen = u->dis_busy = 0;
		u->lis = 0;
		u->o2o = 0;
		u->ord.n = 0;
		ms->nlive++;
		return u;
	}
	return NULL;
}

/* Options every upper socket gets: bounded waits. */
static void usock_setup(struct worker *w, int fd)
{
	set_timeo(fd, SO_RCVTIMEO, 10 + rnd(w, 90));
	set_timeo(fd, SO_SNDTIMEO, 10 + rnd(w, 190));
}

static unsigned int proc_mux_of(int fd)
{
	struct proc_row row;

	if (proc_find_sock(fd_inode(fd), &row))
		return 0;
	return row.mux;
}

/* Caller holds g.mu.  A new mux slot for socket @fd of @type, or -1. */
static int mux_add(int fd, int type, bool drain)
{
	int m = free_mux_slot(drain);
	struct mux_rec *r;

	if (m < 0)
		return -1;
	r = mux_rec_new(type);
	if (!r)
		return -1;
	r->proc_id = proc_mux_of(fd);
	memset(&g.mux[m], 0, sizeof(g.mux[m]) - sizeof(g.mux[m].s));
	g.mux[m].used = true;
	g.mux[m].rec = r->id;
	g.mux[m].type = type;
	g.mux[m].nlive = 0;
	g.mux[m].cloning = 0;
	usock_add(m, fd);
	return m;
}

/* ---- create, clone, close ---------------------------------------------------- */

static void op_create(struct worker *w)
{
	int type = rnd(w, 10) < 7 ? SOCK_DGRAM : SOCK_SEQPACKET;
	int fd, m;

	pthread_mutex_lock(&g.mu);
	m = free_mux_slot(false);
	pthread_mutex_unlock(&g.mu);
	if (m < 0)
		return;
	fd = socket(g.family, type | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		unexpected(w, "socket", errno);
		return;
	}
	usock_setup(w, fd);
	if (!rnd(w, 4))
		set_int(fd, SOL_SOCKET, SO_RCVBUF, 1024 + rnd(w, 65536));
	pthread_mutex_lock(&g.mu);
	m = mux_add(fd, type, false);
	pthread_mutex_unlock(&g.mu);
	if (m < 0) {
		close(fd);
		return;
	}
	w->ok[w->op]++;
}

static void op_clone(struct worker *w)
{
	struct mux_slot *ms;
	struct sref r;
	int fd, i, n;

	pthread_mutex_lock(&g.mu);
	if (!__sock_pick(w, &r, 0, -1)) {
		pthread_mutex_unlock(&g.mu);
		return;
	}
	ms = &g.mux[r.m];
	for (i = 0, n = 0; i < SOCK_SLOTS; i++)
		n += ms->s[i].used;
	if (n + ms->cloning >= SOCK_LIMIT) {
		r.u->refs--;
		pthread_cond_broadcast(&g.cv);
		pthread_mutex_unlock(&g.mu);
		return;
	}
	ms->cloning++;
	ms->nlive++;		/* reserved: a close now is not the last */
	pthread_mutex_unlock(&g.mu);

	fd = mux_clone(MUX_MSGMUX, r.fd);
	if (fd < 0)
		unexpected(w, "SIOCMSGMUXCLONE", errno);
	else
		usock_setup(w, fd);

	pthread_mutex_lock(&g.mu);
	ms->nlive--;
	if (fd >= 0 && !usock_add(r.m, fd)) {
		/* Cannot happen: nlive counted it. */
		failf(w, "no socket slot for a clone");
		close(fd);
		fd = -1;
	}
	ms->cloning--;
	r.u->refs--;
	pthread_cond_broadcast(&g.cv);
	pthread_mutex_unlock(&g.mu);
	if (fd >= 0)
		w->ok[w->op]++;
}

/* Caller holds g.mu.  Is listener record @id still in use? */
static bool listener_alive(unsigned int id)
{
	unsigned int i;

	for (i = 0; i < LIS_SLOTS; i++)
		if (g.lis[i].used && g.lis[i].id == id)
			return true;
	return false;
}

/* Caller holds g.mu.  Stop listener record @id: its backlog is reset. */
static void listener_gone(unsigned int id, uint64_t t)
{
	unsigned int i;

	for (i = 0; i < LIS_SLOTS; i++)
		if (g.lis[i].used && g.lis[i].id == id)
			g.lis[i].used = false;
	/* Connections to it not accepted yet are reset; say all of them. */
	for (i = 1; i <= g.nconnr; i++)
		if (g.connr[i]->lis == id && !g.connr[i]->accepted)
			excuse(g.connr[i], t, X_LISTENER);
}

/* Caller holds g.mu.  Does another socket of @ms surely receive? */
static bool other_receiver(const struct mux_slot *ms, const struct usock *self)
{
	int i;

	for (i = 0; i < SOCK_SLOTS; i++) {
		const struct usock *u = &ms->s[i];

		if (u != self && u->used && !u->dying && !u->disabled &&
		    !u->shut_rd)
			return true;
	}
	return false;
}

/* Caller holds g.mu.  Is end @e of @c a TCP socket attached to slot @m? */
static bool end_attached(const struct conn_rec *c, unsigned int e, int m)
{
	int i;

	for (i = 0; i < END_SLOTS; i++)
		if (g.end[i].used && !g.end[i].dying &&
		    g.end[i].state == END_ATTACHED && g.end[i].conn == c->id &&
		    g.end[i].e == e && g.end[i].mux == m)
			return true;
	return false;
}

/*
 * Caller holds g.mu.  The mux @mr in slot @m is being destroyed: a
 * connection msgmux made closes with it (lost for good); an attached one
 * comes back to the test, and only what was in the mux is lost.
 */
static void destroy_begin(struct mux_rec *mr, int m, uint64_t t)
{
	unsigned int i, e;

	for (i = 0; i < mr->nconns; i++) {
		struct conn_rec *c = CR(mr->conns[i].conn);

		if (mr->conns[i].leave_ns)
			continue;
		for (e = 0; e < 2; e++) {
			if (c->cur[e] != mr->id)
				continue;
			if (end_attached(c, e, m))
				c->pending++;
			else
				excuse(c, t, X_DESTROY);
		}
	}
}

static void destroy_end(struct mux_rec *mr, int m)
{
	uint64_t t = now_ns();
	unsigned int i, e;

	for (i = 0; i < mr->nconns; i++) {
		struct conn_rec *c = CR(mr->conns[i].conn);

		if (mr->conns[i].leave_ns)
			continue;
		for (e = 0; e < 2; e++) {
			if (c->cur[e] != mr->id)
				continue;
			if (end_attached(c, e, m)) {
				c->pending--;
				end_let_go(c, e, t, false);
			}
		}
	}
}

/*
 * Caller holds g.mu.  While no socket of a mux receives, a connection that
 * leaves drops the message it held back (counted): mark the start and the
 * end of such a time.
 */
static void receivers_changed(struct mux_slot *ms, struct mux_rec *mr)
{
	if (!other_receiver(ms, NULL))
		max64(&mr->norecv_ns, now_ns());
}

/* Caller holds g.mu.  Connections socket @inst may still be making. */
static void excuse_connecting(unsigned int inst, uint64_t t)
{
	unsigned int i;

	for (i = 1; i <= g.nconnr; i++)
		if (g.connr[i]->from_inst == inst && g.connr[i]->connecting)
			excuse(g.connr[i], t, X_CONNECTING);
}

/*
 * Another socket of @mr's mux stops receiving: a close in progress there
 * may find no receiver left and drop its queue (counted).
 */
static void receiver_leaves(struct mux_rec *mr)
{
	if (mr->closing) {
		max64(&mr->counted_ns, now_ns());
		max64(&mr->dropq_ns, now_ns());
	}
}

/*
 * Close upper socket @r (a reference the caller holds, which this drops).
 * The mux's last socket takes the mux with it.
 */
static void sock_close(struct worker *w, struct sref *r)
{
	struct mux_slot *ms = &g.mux[r->m];
	struct mux_rec *mr = MR(r->mux_rec);
	uint64_t t = now_ns();
	struct proc_row row;
	bool last;
	int i;

	pthread_mutex_lock(&g.mu);
	while (ms->cloning)
		pthread_cond_wait(&g.cv, &g.mu);
	if (r->u->dying) {
		r->u->refs--;
		pthread_cond_broadcast(&g.cv);
		pthread_mutex_unlock(&g.mu);
		return;
	}
	r->u->dying = true;
	last = !--ms->nlive;
	receiver_leaves(mr);
	if (r->u->lis)
		listener_gone(r->u->lis, t);
	excuse_connecting(r->u->inst, t);
	if (!last) {
		/* Its queue moves to the other sockets. */
		mr->moving++;
	} else {
		/* The mux's queues, counters and connections go with it. */
		mr->destroyed_ns = t;
		destroy_begin(mr, r->m, t);
	}
	r->u->refs--;
	while (r->u->refs)
		pthread_cond_wait(&g.cv, &g.mu);
	/* No other socket receives: its queue is dropped, and counted. */
	mr->closing++;
	if (!last && !other_receiver(ms, r->u)) {
		max64(&mr->counted_ns, now_ns());
		max64(&mr->dropq_ns, now_ns());
	}
	receivers_changed(ms, mr);
	pthread_mutex_unlock(&g.mu);

	if (last && !proc_find_mux(mr->proc_id, &row))
		mr->dropped = row.dropped;
	if (!rnd(w, 4)) {
		struct linger lg = { 1, rnd(w, 2) ? 0 : 1 };

		/* {1, 0}: kernel-made connections are reset. */
		setsockopt(r->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	if (close(r->fd))
		unexpected(w, "close", errno);

	pthread_mutex_lock(&g.mu);
	mr->closing--;
	if (!last) {
		mr->moving--;
		max64(&mr->move_end_ns, now_ns());
	}
	r->u->used = false;
	if (!last && mr->counted_ns >= t) {
		/* The drop is done. */
		max64(&mr->counted_ns, now_ns());
		max64(&mr->dropq_ns, now_ns());
	}
	receivers_changed(ms, mr);
	if (last) {
		mr->gone_ns = now_ns();
		destroy_end(mr, r->m);
		for (i = 0; i < (int)mr->nconns; i++) {
			struct conn_rec *c = CR(mr->conns[i].conn);

			conn_leave(c, 0, mr->id);
			conn_leave(c, 1, mr->id);
		}
		/* Attached TCP sockets are the test's again. */
		for (i = 0; i < END_SLOTS; i++) {
			struct end_slot *e = &g.end[i];

			if (e->used && e->state == END_ATTACHED &&
			    e->mux == r->m) {
				e->state = END_RAW;
				e->need_sync = true;
				e->mux = -1;
				end_log(e, "raw: mux %u destroyed", mr->proc_id);
			}
		}
		ms->used = false;
	}
	pthread_cond_broadcast(&g.cv);
	pthread_mutex_unlock(&g.mu);
}

static void op_close(struct worker *w)
{
	struct mux_slot *ms;
	struct sref r;
	bool skip;

	if (!sock_pick(w, &r, 0))
		return;
	/* Rarely the last receiving socket of a mux that stays. */
	pthread_mutex_lock(&g.mu);
	ms = &g.mux[r.m];
	skip = ms->nlive > 1 && !other_receiver(ms, r.u) && rnd(w, 8);
	pthread_mutex_unlock(&g.mu);
	if (skip) {
		sock_put(&r);
		return;
	}
	sock_close(w, &r);
	w->ok[w->op]++;
}

/* ---- attach and unattach ----------------------------------------------------- */

/*
 * Attach end @e (held: a reference and its io lock, state END_RAW, at a
 * message boundary both ways) to the mux of socket @r.
 */
static int end_attach(struct worker *w, struct end_slot *e, struct sref *r)
{
	struct conn_rec *c;
	uint32_t id = 0;
	bool one2one;
	int ret;

	pthread_mutex_lock(&g.mu);
	c = CR(e->conn);
	/*
	 * Not both ends of a connection in one mux: the test could not tell
	 * which of its two connection ids a departure was.
	 */
	if (c->cur[!e->e] == r->mux_rec) {
		pthread_mutex_unlock(&g.mu);
		return -EEXIST;
	}
	/* Before the ioctl: a message may arrive before it returns. */
	conn_enter(c, e->e, r->mux_rec);
	pthread_mutex_unlock(&g.mu);

	if (rnd(w, 2))
		ret = mux_attachx(r->fd, e->fd, -1, &id);
	else
		ret = mux_attach(MUX_MSGMUX, r->fd, e->fd, -1);
	if (ret) {
		int err = errno;

		pthread_mutex_lock(&g.mu);
		conn_leave(c, e->e, r->mux_rec);
		one2one = MR(r->mux_rec)->one2one;	/* set only, never cleared */
		pthread_mutex_unlock(&g.mu);
		/*
		 * The connection may have been ended by its peer.  A socket
		 * that connects or was accepted stays one-to-one (a connect()
		 * that failed frees its mux again, so success is no error).
		 */
		if (!(err == ENOTCONN && disturbed(c)) &&
		    !(err == EISCONN && one2one)) {
			unexpected(w, "SIOCMSGMUXATTACH", err);
			pthread_mutex_lock(&g.mu);
			end_show(e);
			show_conn(c);
			pthread_mutex_unlock(&g.mu);
		}
		return -err;
	}
	pthread_mutex_lock(&g.mu);
	e->state = END_ATTACHED;
	e->mux = r->m;
	e->mux_rec = r->mux_rec;
	e->conn_id = id;
	end_log(e, "attached to mux %u, id %u", MR(r->mux_rec)->proc_id, id);
	id_learn(MR(r->mux_rec), id, c->id, true);
	pthread_mutex_unlock(&g.mu);
	return 0;
}

static void op_pair(struct worker *w)
{
	int family = rnd(w, 3) ? AF_INET : AF_INET6;
	struct end_slot *e[2];
	struct conn_rec *c;
	struct sref r;
	int fd[2], i, n;

	pthread_mutex_lock(&g.mu);
	n = free_end_slots();
	pthread_mutex_unlock(&g.mu);
	if (n < 2 || !sock_pick(w, &r, 0))
		return;
	if (tcp_pair(family, &fd[0], &fd[1])) {
		unexpected(w, "tcp_pair", errno);
		sock_put(&r);
		return;
	}
	for (i = 0; i < 2; i++)
		set_nonblock(fd[i], true);
	pthread_mutex_lock(&g.mu);
	c = conn_rec_new(family);
	if (!c) {
		pthread_mutex_unlock(&g.mu);
		close(fd[0]);
		close(fd[1]);
		sock_put(&r);
		return;
	}
	for (i = 0; i < 2; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		if (!getsockname(fd[i], (struct sockaddr *)&ss, &len))
			c->port[i] = sockaddr_port(&ss);
		e[i] = end_new(fd[i], c, i, false);
		e[i]->refs++;
	}
	pthread_mutex_lock(&e[0]->io);
	pthread_mutex_lock(&e[1]->io);
	pthread_mutex_unlock(&g.mu);

	end_attach(w, e[0], &r);
	sock_put(&r);
	/* The other end: attached to another mux, or left raw. */
	if (rnd(w, 2) && sock_pick(w, &r, 0)) {
		end_attach(w, e[1], &r);
		sock_put(&r);
	}
	pthread_mutex_unlock(&e[1]->io);
	pthread_mutex_unlock(&e[0]->io);
	end_put(e[0]);
	end_put(e[1]);
	w->ok[w->op]++;
}

static void raw_flush(struct worker *w, struct end_slot *e, int wait_ms);

/* Attach a raw end that is at a message boundary both ways. */
static void op_attach(struct worker *w)
{
	struct end_slot *e = end_pick(w, END_RAW);
	struct sref r;
	bool ok;

	if (!e)
		return;
	pthread_mutex_lock(&e->io);
	raw_flush(w, e, 0);
	pthread_mutex_lock(&g.mu);
	ok = e->state == END_RAW && !e->need_sync && !e->rxlen &&
	     e->txoff == e->txlen && !e->rx_eof && !e->tx_broken;
	pthread_mutex_unlock(&g.mu);
	if (ok && sock_pick(w, &r, 0)) {
		if (!end_attach(w, e, &r))
			w->ok[w->op]++;
		sock_put(&r);
	}
	pthread_mutex_unlock(&e->io);
	end_put(e);
}

static void op_unattach(struct worker *w)
{
	struct end_slot *e = end_pick(w, END_ATTACHED);
	struct conn_rec *c;
	struct sref r;
	uint64_t t;
	int ret, err = 0;

	if (!e)
		return;
	pthread_mutex_lock(&e->io);
	pthread_mutex_lock(&g.mu);
	if (e->state != END_ATTACHED || !__sock_pick(w, &r, 0, e->mux)) {
		pthread_mutex_unlock(&g.mu);
		goto out;
	}
	c = CR(e->conn);
	t = now_ns();
	/* Queued messages TCP does not take are dropped and counted. */
	c->pending++;
	pthread_mutex_unlock(&g.mu);

	if (!rnd(w, 3)) {
		struct linger lg = { 1, 0 };

		setsockopt(r.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	ret = mux_unattach(MUX_MSGMUX, r.fd, e->fd);
	if (ret) {
		err = errno;
		/* It left already: a failure took it out. */
		if (err != EINVAL)
			unexpected(w, "SIOCMSGMUXUNATTACH", err);
	}
	pthread_mutex_lock(&g.mu);
	c->pending--;
	end_let_go(c, e->e, now_ns(), true);
	if (!ret && sockopt_int(e->fd, SO_ERROR) == ECONNABORTED) {
		/* It cut a message: aborted, and whatever was in flight lost. */
		excuse(c, t, X_ABORT);
		g.aborts++;
		e->tx_broken = true;
	}
	conn_leave(c, e->e, r.mux_rec);
	end_log(e, "raw: unattach from mux %u: %s%s", MR(r.mux_rec)->proc_id,
		ret ? strerror(err) : "ok", e->tx_broken ? ", aborted" : "");
	e->state = END_RAW;
	e->need_sync = true;
	e->mux = -1;
	pthread_mutex_unlock(&g.mu);
	sock_put(&r);
	if (!ret)
		w->ok[w->op]++;
out:
	pthread_mutex_unlock(&e->io);
	end_put(e);
}

/* ---- raw ends: the test frames messages itself ---------------------------------- */

/* Write what is pending on @e, waiting up to @wait_ms for room. */
static void raw_flush(struct worker *w, struct end_slot *e, int wait_ms)
{
	uint64_t deadline = now_ns() + wait_ms * 1000000ULL;
	ssize_t n;

	while (e->txoff < e->txlen && !e->tx_broken) {
		n = send(e->fd, e->tx + e->txoff, e->txlen - e->txoff,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			e->txoff += n;
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			int left = (int64_t)(deadline - now_ns()) / 1000000;

			if (left <= 0 || !(poll_events(e->fd, POLLOUT, left) &
					   POLLOUT))
				return;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		/* The connection failed: a test operation must explain it. */
		pthread_mutex_lock(&g.mu);
		if (!disturbed(CR(e->conn)))
			failf(w, "raw send on connection %u: %s, but nothing "
			      "was done to it", e->conn, strerror(errno));
		pthread_mutex_unlock(&g.mu);
		e->tx_broken = true;
	}
	if (!e->txs)
		return;
	if (e->txoff == e->txlen) {
		seq_mark(w, e->txs, e->txseq, S_OK);
		w->raw_sent++;
		e->txs = NULL;
		e->txlen = e->txoff = 0;
	} else if (e->tx_broken) {
		seq_mark(w, e->txs, e->txseq, e->txoff ? S_PART : S_FAIL);
		e->txs = NULL;
		e->txlen = e->txoff = 0;
	}
}

/* The test gives up on what @e had pending (the end is being closed). */
static void raw_abandon(struct worker *w, struct end_slot *e)
{
	if (!e->txs)
		return;
	seq_mark(w, e->txs, e->txseq,
		 e->txoff ? S_PART | S_ABANDON : S_FAIL);
	e->txs = NULL;
	e->txlen = e->txoff = 0;
}

static void raw_queue(struct worker *w, struct end_slot *e)
{
	struct stream *s;
	size_t len;

	s = stream_get(w, true, e->conn, e->e, 0, e->conn);
	if (!s)
		return;
	len = msg_size(w, MAX_MSG);
	e->txseq = seq_reserve(s);
	e->txs = s;
	put_be32(e->tx, len);
	msg_build(e->tx + 4, len, s, e->txseq, now_ns());
	e->txlen = len + 4;
	e->txoff = 0;
}

/*
 * Parse what @e has read: frames of a be32 length and a message.  After an
 * attachment the stream may continue in the middle of a message whose
 * start msgmux consumed (and counted): find the next valid header.
 */
static void raw_parse(struct worker *w, struct end_slot *e)
{
	struct rxwhere rw = { .ord = &e->ord, .end = e, .what = "raw end" };
	size_t off = 0;

	for (;;) {
		size_t left = e->rxlen - off;
		uint32_t len;

		if (left < 4 + HDR)
			break;
		len = get_be32(e->rx + off);
		if (len > MAX_MSG || !hdr_valid(e->rx + off + 4) ||
		    ((struct mhdr *)(e->rx + off + 4))->len != len) {
			if (!e->need_sync) {
				failf(w, "raw end of connection %u: bad frame "
				      "(length %u) in sync", e->conn, len);
				e->need_sync = true;
			}
			/* Resynchronise one byte further. */
			off++;
			pthread_mutex_lock(&g.mu);
			g.resync_bytes++;
			pthread_mutex_unlock(&g.mu);
			continue;
		}
		if (left < 4 + len)
			break;
		if (e->need_sync) {
			e->need_sync = false;
			if (off) {
				pthread_mutex_lock(&g.mu);
				g.resyncs++;
				CR(e->conn)->resynced[e->e] = true;
				pthread_mutex_unlock(&g.mu);
			}
		}
		rx_message(w, &rw, e->rx + off + 4, len, len);
		w->raw_recvd++;
		off += 4 + len;
	}
	if (off) {
		memmove(e->rx, e->rx + off, e->rxlen - off);
		e->rxlen -= off;
	}
}

/* Read what @e has, up to @budget bytes; returns the bytes read. */
static size_t raw_read(struct worker *w, struct end_slot *e, size_t budget)
{
	size_t total = 0;
	ssize_t n;

	while (!e->rx_eof && total < budget && e->rxlen < RX_CAP) {
		n = recv(e->fd, e->rx + e->rxlen, RX_CAP - e->rxlen,
			 MSG_DONTWAIT);
		if (n > 0) {
			e->rxlen += n;
			total += n;
			raw_parse(w, e);
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || n == 0) {
			bool dist;

			pthread_mutex_lock(&g.mu);
			dist = disturbed(CR(e->conn));
			pthread_mutex_unlock(&g.mu);
			if (!dist)
				failf(w, "raw end of connection %u: %s, but "
				      "nothing was done to it", e->conn,
				      n ? strerror(errno) : "EOF");
			e->rx_eof = true;
		}
	}
	return total;
}

static void op_raw_send(struct worker *w)
{
	struct end_slot *e = end_pick(w, END_RAW);
	int i, n = 1 + rnd(w, 3);

	if (!e)
		return;
	pthread_mutex_lock(&e->io);
	for (i = 0; i < n && e->state == END_RAW && !e->shut_wr &&
	     !e->tx_broken; i++) {
		if (!e->txs)
			raw_queue(w, e);
		raw_flush(w, e, rnd(w, 20));
		if (e->txs)
			break;
	}
	pthread_mutex_unlock(&e->io);
	end_put(e);
	w->ok[w->op]++;
}

static void op_raw_recv(struct worker *w)
{
	struct end_slot *e = end_pick(w, END_RAW);

	if (!e)
		return;
	pthread_mutex_lock(&e->io);
	if (e->state == END_RAW) {
		if (!raw_read(w, e, 1 << 20) && !e->rx_eof &&
		    (poll_events(e->fd, POLLIN, rnd(w, 20)) & POLLIN))
			raw_read(w, e, 1 << 20);
	}
	pthread_mutex_unlock(&e->io);
	end_put(e);
	w->ok[w->op]++;
}

static void op_raw_shut(struct worker *w)
{
	struct end_slot *e = end_pick(w, END_RAW);

	if (!e)
		return;
	pthread_mutex_lock(&e->io);
	raw_flush(w, e, 20);
	if (e->state == END_RAW && !e->shut_wr && !e->txs) {
		pthread_mutex_lock(&g.mu);
		/* The peer's queued messages may be dropped, counted. */
		counted(CR(e->conn), now_ns());
		pthread_mutex_unlock(&g.mu);
		if (shutdown(e->fd, SHUT_WR) && errno != ENOTCONN)
			unexpected(w, "shutdown(tcp)", errno);
		e->shut_wr = true;
		w->ok[w->op]++;
	}
	pthread_mutex_unlock(&e->io);
	end_put(e);
}

/* Close end @e (a reference the caller holds, which this drops). */
static void end_close(struct worker *w, struct end_slot *e, bool graceful)
{
	pthread_mutex_lock(&g.mu);
	if (e->dying) {
		e->refs--;
		pthread_cond_broadcast(&g.cv);
		pthread_mutex_unlock(&g.mu);
		return;
	}
	e->dying = true;
	/*
	 * A raw end's close may reset the connection (unread data); an
	 * attached one's fd goes, and the connection with its detach.
	 */
	excuse(CR(e->conn), now_ns(), X_CLOSE_END);
	e->refs--;
	while (e->refs)
		pthread_cond_wait(&g.cv, &g.mu);
	pthread_mutex_unlock(&g.mu);

	pthread_mutex_lock(&e->io);
	if (e->state == END_RAW) {
		raw_flush(w, e, graceful ? 20 : 0);
		raw_abandon(w, e);
		if (graceful && !e->shut_wr) {
			uint64_t end = now_ns() + 50000000ULL;

			shutdown(e->fd, SHUT_WR);
			while (!e->rx_eof && now_ns() < end) {
				if (!raw_read(w, e, 1 << 20))
					poll_events(e->fd, POLLIN, 10);
			}
		}
	}
	close(e->fd);
	pthread_mutex_unlock(&e->io);

	pthread_mutex_lock(&g.mu);
	e->used = false;
	pthread_mutex_unlock(&g.mu);
}

static void op_raw_close(struct worker *w)
{
	struct end_slot *e = end_pick(w, END_RAW);

	if (!e)
		return;
	end_close(w, e, rnd(w, 2));
	w->ok[w->op]++;
}

/* close() the fd of an attached TCP socket: msgmux keeps it meanwhile. */
static void op_orphan(struct worker *w)
{
	struct end_slot *e = end_pick(w, END_ATTACHED);

	if (!e)
		return;
	end_close(w, e, false);
	w->ok[w->op]++;
}

/* ---- connect, listen, accept ------------------------------------------------ */

static void op_connect(struct worker *w)
{
	struct sockaddr_storage ss, to;
	struct listener lc, *l = &lc;
	struct conn_rec *c = NULL;
	socklen_t len = sizeof(ss), tolen;
	struct sref r;
	int i, n = 0, ret, err, cand[LIS_SLOTS];

	pthread_mutex_lock(&g.mu);
	for (i = 0; i < LIS_SLOTS; i++)
		if (g.lis[i].used)
			cand[n++] = i;
	if (n)
		lc = g.lis[cand[rnd(w, n)]];
	/* A TCP listener's connection needs a slot when it is accepted. */
	if (!n || (lc.kind == L_TCP && free_end_slots() < 1) ||
	    !__sock_pick(w, &r, P_NOT_LISTENING, -1)) {
		pthread_mutex_unlock(&g.mu);
		return;
	}
	/*
	 * From now on attaching to its mux may be EISCONN; and connect() is
	 * EISCONN if the mux has attached connections.
	 */
	if (r.type == SOCK_SEQPACKET)
		MR(r.mux_rec)->one2one = true;
	tolen = loopback_addr(l->family, l->port, &to);
	pthread_mutex_unlock(&g.mu);

	/*
	 * Bound first, so that its port names the connection: a port of its
	 * own in the run, so that a connection of an earlier one left in a
	 * backlog is never taken for it.
	 */
	for (i = 0; i < 8; i++) {
		uint16_t port;

		pthread_mutex_lock(&g.mu);
		port = PORT_MIN + g.next_port++ % (PORT_MAX - PORT_MIN);
		pthread_mutex_unlock(&g.mu);
		loopback_addr(l->family, port, &ss);
		ret = bind(r.fd, (struct sockaddr *)&ss,
			   l->family == AF_INET ? sizeof(struct sockaddr_in) :
			   sizeof(struct sockaddr_in6));
		if (!ret || errno != EADDRINUSE)
			break;
	}
	if (ret) {
		if (!one_of(errno, 2, EINVAL, EADDRINUSE))
			unexpected(w, "bind", errno);
		goto out;
	}
	if (getsockname(r.fd, (struct sockaddr *)&ss, &len)) {
		unexpected(w, "getsockname", errno);
		goto out;
	}

	pthread_mutex_lock(&g.mu);
	c = conn_rec_new(l->family);
	if (c) {
		c->kernel = true;
		c->port[0] = sockaddr_port(&ss);
		if (g.next_port <= PORT_MAX - PORT_MIN)
			g.port_conn[c->port[0] - PORT_MIN] = c->id;
		c->port[1] = l->port;
		c->lis = l->id;
		c->from_inst = r.u->inst;
		c->connecting = true;
		r.u->connects = true;
		conn_enter(c, 0, r.mux_rec);
		if (l->kind == L_DGRAM) {
			conn_enter(c, 1, l->mux_rec);
			c->accepted = true;
		}
		/*
		 * Too late for sock_close()'s excuse_connecting(), or for
		 * the listener_gone() of the listener's close or shutdown.
		 */
		if (r.u->dying)
			excuse(c, now_ns(), X_CONNECTING);
		else if (!listener_alive(l->id))
			excuse(c, now_ns(), X_LISTENER);
		/* Likewise for op_shutdown()'s one-to-one FIN. */
		if (r.type == SOCK_SEQPACKET && r.u->shut_wr)
			counted(c, now_ns());
	}
	pthread_mutex_unlock(&g.mu);
	if (!c)
		goto out;

	ret = connect(r.fd, (struct sockaddr *)&to, tolen);
	err = ret ? errno : 0;
	pthread_mutex_lock(&g.mu);
	if (!ret)
		c->connecting = false;
	/* A SOCK_SEQPACKET socket sends on its own connection only. */
	if (!ret && r.type == SOCK_SEQPACKET)
		r.u->o2o = c->id;
	if (ret && err != EINPROGRESS) {
		/* Nothing was made: nothing of it is in any mux. */
		conn_leave(c, 0, c->cur[0]);
		conn_leave(c, 1, c->cur[1]);
		c->connecting = false;
		excuse(c, now_ns(), X_NO_CONNECT);
	}
	pthread_mutex_unlock(&g.mu);
	if (!ret || err == EINPROGRESS)
		w->ok[w->op]++;
	else if (!one_of(err, 6, ECONNREFUSED, EISCONN, EALREADY, ECONNRESET,
			 ETIMEDOUT, EADDRINUSE))
		unexpected(w, "connect", err);
out:
	sock_put(&r);
}

static void op_listen(struct worker *w)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct listener *l = NULL;
	struct sref r;
	int family = rnd(w, 3) ? AF_INET : AF_INET6, i, n = 0;
	bool shut_rd;

	pthread_mutex_lock(&g.mu);
	for (i = 0; i < LIS_SLOTS; i++)
		n += g.lis[i].used && g.lis[i].kind != L_TCP;
	if (n >= LIS_LIMIT || !__sock_pick(w, &r, P_NOT_LISTENING, -1)) {
		pthread_mutex_unlock(&g.mu);
		return;
	}
	shut_rd = r.u->shut_rd;
	pthread_mutex_unlock(&g.mu);

	loopback_addr(family, 0, &ss);
	if (bind(r.fd, (struct sockaddr *)&ss,
		 family == AF_INET ? sizeof(struct sockaddr_in) :
				     sizeof(struct sockaddr_in6))) {
		if (!one_of(errno, 2, EINVAL, EADDRINUSE))
			unexpected(w, "bind", errno);
		goto out;
	}
	if (listen(r.fd, 16)) {
		if (!one_of(errno, 2, EINVAL, EADDRINUSE))
			unexpected(w, "listen", errno);
		goto out;
	}
	if (getsockname(r.fd, (struct sockaddr *)&ss, &len)) {
		unexpected(w, "getsockname", errno);
		goto out;
	}
	pthread_mutex_lock(&g.mu);
	/*
	 * If another thread closed the socket or shut it for reading since
	 * it was picked, sock_close() or op_shutdown() has already forgotten
	 * its listener, when it had none: do not record this one.  A closed
	 * socket's fd is soon another socket's, and drain() would accept()
	 * on that.
	 */
	for (i = 0; !r.u->dying && r.u->shut_rd == shut_rd &&
		    i < LIS_SLOTS; i++) {
		if (g.lis[i].used)
			continue;
		l = &g.lis[i];
		l->used = true;
		l->id = ++g.next_lis;
		l->kind = r.type == SOCK_DGRAM ? L_DGRAM : L_SEQ;
		l->family = family;
		l->port = sockaddr_port(&ss);
		l->fd = r.fd;
		l->mux = r.m;
		l->inst = r.u->inst;
		l->mux_rec = r.mux_rec;
		r.u->lis = l->id;
		break;
	}
	pthread_mutex_unlock(&g.mu);
	w->ok[w->op]++;
out:
	sock_put(&r);
}

/* Caller holds g.mu.  The connection whose end 0 has @port, not accepted. */
static struct conn_rec *pending_conn(unsigned int lis, uint16_t port)
{
	unsigned int i;

	for (i = g.nconnr; i >= 1; i--) {
		struct conn_rec *c = g.connr[i];

		if (c->lis == lis && !c->accepted && c->port[0] == port)
			return c;
	}
	return NULL;
}

/*
 * Accept one connection from listener @l (its fd borrowed: a TCP
 * listener's lives for the run, a msgmux one's through the reference the
 * caller holds).  Returns 1 if one was taken, 0 if none waited, -1 if
 * there is no room for it.
 */
static int accept_one(struct worker *w, struct listener *l, int fd,
		      bool drain)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	struct conn_rec *c;
	int afd, m;

	pthread_mutex_lock(&g.mu);
	if (l->kind == L_TCP ? (!drain && free_end_slots() < 1) :
			       free_mux_slot(drain) < 0) {
		pthread_mutex_unlock(&g.mu);
		return -1;
	}
	pthread_mutex_unlock(&g.mu);

	afd = accept4(fd, (struct sockaddr *)&peer, &len,
		      SOCK_CLOEXEC | (l->kind == L_TCP || drain || rnd(w, 2) ?
				      SOCK_NONBLOCK : 0));
	if (afd < 0) {
		if (!one_of(errno, 3, EAGAIN, ECONNABORTED, EINVAL))
			unexpected(w, "accept", errno);
		return 0;
	}
	if (l->kind == L_SEQ) {
		set_nonblock(afd, false);
		usock_setup(w, afd);
	}
	pthread_mutex_lock(&g.mu);
	c = pending_conn(l->id, sockaddr_port(&peer));
	if (!c) {
		pthread_mutex_unlock(&g.mu);
		failf(w, "accepted a connection from port %u nobody made",
		      sockaddr_port(&peer));
		close(afd);
		return 0;
	}
	c->accepted = true;
	if (l->kind == L_TCP) {
		if (!end_new(afd, c, 1, false)) {
			pthread_mutex_unlock(&g.mu);
			failf(w, "no end slot for an accepted connection");
			close(afd);
			return 0;
		}
	} else {
		m = mux_add(afd, SOCK_SEQPACKET, drain);
		if (m < 0) {
			excuse(c, now_ns(), X_NO_SLOT);
			pthread_mutex_unlock(&g.mu);
			close(afd);
			return 0;
		}
		conn_enter(c, 1, g.mux[m].rec);
		g.mux[m].s[0].o2o = c->id;
		MR(g.mux[m].rec)->one2one = true;
	}
	pthread_mutex_unlock(&g.mu);
	return 1;
}

static void op_accept(struct worker *w)
{
	struct listener *l, copy;
	struct sref r;
	int i, n = 0, cand[LIS_SLOTS];

	pthread_mutex_lock(&g.mu);
	for (i = 0; i < LIS_SLOTS; i++)
		if (g.lis[i].used && g.lis[i].kind != L_DGRAM)
			cand[n++] = i;
	if (!n) {
		pthread_mutex_unlock(&g.mu);
		return;
	}
	l = &g.lis[cand[rnd(w, n)]];
	copy = *l;
	if (l->kind == L_TCP) {
		pthread_mutex_unlock(&g.mu);
		if (accept_one(w, &copy, copy.fd, false) > 0)
			w->ok[w->op]++;
		return;
	}
	/* A msgmux listener: hold its socket while accepting. */
	for (i = 0; i < SOCK_SLOTS; i++) {
		struct usock *u = &g.mux[l->mux].s[i];

		if (u->used && !u->dying && u->inst == l->inst)
			break;
	}
	if (i == SOCK_SLOTS) {
		pthread_mutex_unlock(&g.mu);
		return;
	}
	r.m = l->mux;
	r.i = i;
	r.u = &g.mux[l->mux].s[i];
	r.u->refs++;
	pthread_mutex_unlock(&g.mu);
	if (accept_one(w, &copy, r.u->fd, false) > 0)
		w->ok[w->op]++;
	sock_put(&r);
}

/* ---- send and receive on upper sockets -------------------------------------- */

static void op_send(struct worker *w)
{
	struct sockaddr_msgmux to = { 0 };
	struct mmsghdr mm[MMSG];
	struct iovec iov[MMSG];
	struct mux_rec *m;
	struct stream *s;
	uint32_t seq[MMSG];
	unsigned int conn = 0, i, n = 1;
	uint32_t id = 0, sub;
	struct sref r;
	size_t off = 0;
	int flags = MSG_NOSIGNAL, ret, err = 0;
	uint64_t t;

	/* Mostly where a message can go; now and then anywhere (EPIPE). */
	if (!sock_pick(w, &r, rnd(w, 5) ? P_CONNECTED : 0))
		return;
	m = MR(r.mux_rec);
	pthread_mutex_lock(&g.mu);
	if (rnd(w, 4) && m->nids) {
		/* Addressed to a connection id learned on this mux. */
		i = rnd(w, m->nids);
		if (CR(m->ids[i].conn)->cur[0] == m->id ||
		    CR(m->ids[i].conn)->cur[1] == m->id || !rnd(w, 8)) {
			id = m->ids[i].conn_id;
			conn = m->ids[i].conn;
		}
	}
	/* A one-to-one socket's sends can only take its connection. */
	if (!id)
		conn = r.u->o2o;
	/* Unaddressed: a new stream whenever the connections change. */
	sub = id ? id : conn ? 0x80000000 | conn :
	      0x40000000 | (m->epoch & 0x3fffffff);
	pthread_mutex_unlock(&g.mu);
	s = stream_get(w, false, r.mux_rec, sub, id, conn);
	if (!s)
		goto out;
	if (!rnd(w, 3))
		flags |= MSG_DONTWAIT;
	if (!rnd(w, 8))
		flags |= MSG_BATCH;
	if (!rnd(w, 6))
		n = 2 + rnd(w, MMSG - 1);
	to.smm_family = g.family;
	to.smm_conn_id = id;
	t = now_ns();
	for (i = 0; i < n; i++) {
		size_t len = msg_size(w, n > 1 ? MMSG_SIZE : MAX_MSG);

		seq[i] = seq_reserve(s);
		msg_build(w->tx + off, len, s, seq[i], t);
		iov[i].iov_base = w->tx + off;
		iov[i].iov_len = len;
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		if (id) {
			mm[i].msg_hdr.msg_name = &to;
			mm[i].msg_hdr.msg_namelen = sizeof(to);
		}
		off += len;
	}
	if (n == 1) {
		ret = sendmsg(r.fd, &mm[0].msg_hdr, flags) ==
		      (ssize_t)iov[0].iov_len;
		err = ret ? 0 : errno;
	} else {
		/* A partial sendmmsg() says nothing of why it stopped. */
		w->mmsgs++;
		ret = sendmmsg(r.fd, mm, n, flags);
		err = ret < 0 ? errno : 0;
		if (ret < 0)
			ret = 0;
	}
	for (i = 0; i < n; i++) {
		if ((int)i < ret) {
			seq_mark(w, s, seq[i], S_OK);
			w->sent++;
			w->sent_bytes += iov[i].iov_len;
		} else {
			seq_mark(w, s, seq[i], S_FAIL);
			w->failed++;
		}
	}
	if (err)
		w->send_err[err == EPIPE ? 0 : err == ENOTCONN ? 1 :
			    err == EAGAIN ? 2 : 3]++;
	if (err && !one_of(err, 5, EPIPE, ENOTCONN, EAGAIN, ENOBUFS,
				    ENOMEM) && !(r.u->connects && connect_error(err)))
		unexpected(w, "send", err);
	if (ret)
		w->ok[w->op]++;
out:
	sock_put(&r);
}

/* Read notifications on socket @fd of mux record @mux. */
static int read_errqueue(struct worker *w, int fd, unsigned int mux, int max)
{
	struct msgmux_conn_error ce;
	struct sockaddr_msgmux from;
	struct iovec iov = { &ce, sizeof(ce) };
	struct msghdr mh;
	struct end_slot *e;
	struct conn_rec *c;
	int n = 0, i;
	ssize_t ret;

	while (n < max) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_name = &from;
		mh.msg_namelen = sizeof(from);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		ret = recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT);
		if (ret < 0) {
			if (errno != EAGAIN)
				unexpected(w, "recvmsg(MSG_ERRQUEUE)", errno);
			break;
		}
		n++;
		if (ret != sizeof(ce) || ce.conn_id != from.smm_conn_id ||
		    !ce.reason || ce.reason > MSGMUX_CONN_BPF_ERROR) {
			failf(w, "bad notification: %zd bytes, conn %u/%u, "
			      "reason %u", ret, ce.conn_id, from.smm_conn_id,
			      ce.reason);
			continue;
		}
		pthread_mutex_lock(&g.mu);
		g.notes[ce.reason]++;
		c = CR(id_lookup(MR(mux), ce.conn_id));
		if (!c)
			g.notes_unmapped++;
		if (c && !disturbed(c))
			failf(w, "connection %u (conn id %u of mux %u) failed: "
			      "reason %u, %s, %u bytes dropped, but nothing was "
			      "done to it", c->id, ce.conn_id, MR(mux)->proc_id,
			      ce.reason, strerror(ce.error), ce.dropped_bytes);
		if (ce.reason >= MSGMUX_CONN_BAD_FRAME) {
			failf(w, "connection %d (conn id %u of mux %u) failed "
			      "with a framing reason %u (%s)", c ? (int)c->id : -1,
			      ce.conn_id, MR(mux)->proc_id, ce.reason,
			      strerror(ce.error));
			for (i = 0; c && i < END_SLOTS; i++)
				if (g.end[i].used && g.end[i].conn == c->id)
					end_show(&g.end[i]);
			if (c)
				show_conn(c);
		}
		/*
		 * The stay it ended, unless it is an earlier one of the same
		 * connection.  An attached TCP socket that left is the test's
		 * again: what msgmux had queued on it was dropped, and the
		 * test may write after that.
		 */
		if (c && stay_named(MR(mux), c->id, ce.conn_id) &&
		    !(c->cur[0] == mux && c->cur[1] == mux)) {
			for (i = 0; i < END_SLOTS; i++) {
				e = &g.end[i];
				if (e->used && e->state == END_ATTACHED &&
				    e->conn == c->id && e->mux_rec == mux) {
					e->state = END_RAW;
					e->need_sync = true;
					e->mux = -1;
					end_let_go(c, e->e, now_ns(), true);
					end_log(e, "raw: notification id %u, "
						"reason %u", ce.conn_id,
						ce.reason);
				}
			}
			conn_leave(c, 0, mux);
			conn_leave(c, 1, mux);
		}
		pthread_mutex_unlock(&g.mu);
	}
	return n;
}

/* Handle one recvmsg() result; false at the end of the socket. */
static bool rx_result(struct worker *w, struct sref *r, bool ordered,
		      const unsigned char *buf, ssize_t n, size_t cap,
		      int mflags, const struct sockaddr_msgmux *from,
		      socklen_t alen)
{
	struct rxwhere rw = {
		.mux = r->mux_rec, .ord = ordered ? &r->u->ord : NULL,
		.from = from, .alen = alen, .what = "recv",
	};
	size_t copied = (size_t)n < cap ? (size_t)n : cap;

	if (n == 0 && alen == 0)
		return false;	/* the end: SHUT_RD, or the peer left */
	if (n == 0) {
		failf(w, "received a zero-length message nobody sent");
		return true;
	}
	if (mflags & MSG_TRUNC)
		w->truncs++;
	else if ((size_t)n > cap)
		failf(w, "recv returned %zd for a %zu-byte buffer", n, cap);
	rx_message(w, &rw, buf, copied, n);
	w->recvd++;
	w->recvd_bytes += n;
	return true;
}

static void op_recv(struct worker *w)
{
	struct sockaddr_msgmux from[MMSG];
	struct mmsghdr mm[MMSG];
	struct iovec iov[MMSG];
	unsigned int kind = rnd(w, 12), i, rounds = 1 + rnd(w, 6);
	bool ordered = rnd(w, 2);
	struct msghdr mh;
	struct sref r;
	size_t cap;
	ssize_t n;
	int flags;

	if (!sock_pick(w, &r, 0))
		return;
	if (ordered)
		pthread_mutex_lock(&r.u->rx);
	while (rounds--) {
		if (kind == 0) {
			/* recvmmsg: several at once, each maybe truncated. */
			int got;

			for (i = 0; i < MMSG; i++) {
				iov[i].iov_base = w->mrx[i];
				iov[i].iov_len = MMSG_SIZE;
				memset(&mm[i], 0, sizeof(mm[i]));
				mm[i].msg_hdr.msg_iov = &iov[i];
				mm[i].msg_hdr.msg_iovlen = 1;
				mm[i].msg_hdr.msg_name = &from[i];
				mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
			}
			got = recvmmsg(r.fd, mm, MMSG, MSG_DONTWAIT | MSG_TRUNC,
				       NULL);
			if (got < 0) {
				if (errno != EAGAIN &&
				    !(r.u->connects && connect_error(errno)))
					unexpected(w, "recvmmsg", errno);
				break;
			}
			w->mmsgs++;
			for (i = 0; i < (unsigned int)got; i++)
				if (!rx_result(w, &r, ordered, w->mrx[i],
					       mm[i].msg_len, MMSG_SIZE,
					       mm[i].msg_hdr.msg_flags,
					       &from[i],
					       mm[i].msg_hdr.msg_namelen))
					break;
			if (!got)
				break;
			continue;
		}
		cap = RX_CAP;
		flags = MSG_DONTWAIT;
		if (kind <= 3)
			flags = 0;	/* blocking, up to SO_RCVTIMEO */
		if (kind == 4) {
			/* A short buffer, but never shorter than a header. */
			cap = HDR + rnd(w, 512);
			flags |= MSG_TRUNC;
		}
		if (kind == 5) {
			/* MSG_PEEK: whole and intact, and it stays queued. */
			iov[0].iov_base = w->rxb;
			iov[0].iov_len = RX_CAP;
			memset(&mh, 0, sizeof(mh));
			mh.msg_iov = iov;
			mh.msg_iovlen = 1;
			n = recvmsg(r.fd, &mh, MSG_DONTWAIT | MSG_PEEK);
			if (n > 0 && !(n >= HDR && hdr_valid(w->rxb) &&
				       ((struct mhdr *)w->rxb)->len == n))
				failf(w, "MSG_PEEK: a bad message of %zd bytes",
				      n);
			w->peeks++;
		}
		iov[0].iov_base = w->rxb;
		iov[0].iov_len = cap;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = 1;
		mh.msg_name = &from[0];
		mh.msg_namelen = sizeof(from[0]);
		n = recvmsg(r.fd, &mh, flags);
		if (n < 0) {
			if (errno != EAGAIN &&
			    !(r.u->connects && connect_error(errno)))
				unexpected(w, "recvmsg", errno);
			break;
		}
		if (!rx_result(w, &r, ordered, w->rxb, n, cap, mh.msg_flags,
			       &from[0], mh.msg_namelen))
			break;
	}
	if (ordered)
		pthread_mutex_unlock(&r.u->rx);
	if (!rnd(w, 4))
		read_errqueue(w, r.fd, r.mux_rec, 8);
	sock_put(&r);
	w->ok[w->op]++;
}

static void op_errq(struct worker *w)
{
	struct sref r;

	if (!sock_pick(w, &r, 0))
		return;
	read_errqueue(w, r.fd, r.mux_rec, 64);
	sock_put(&r);
	w->ok[w->op]++;
}

static void op_poll(struct worker *w)
{
	struct pollfd p[3];
	struct sref r[3];
	int i, n = 0, want = 1 + rnd(w, 3);

	for (i = 0; i < want; i++)
		if (sock_pick(w, &r[n], 0))
			n++;
	for (i = 0; i < n; i++)
		p[i] = (struct pollfd){ r[i].fd,
					POLLIN | POLLOUT | POLLRDHUP, 0 };
	if (n && poll(p, n, rnd(w, 20)) < 0)
		unexpected(w, "poll", errno);
	for (i = 0; i < n; i++) {
		if (p[i].revents & POLLERR)
			read_errqueue(w, r[i].fd, r[i].mux_rec, 64);
		if (p[i].revents & POLLIN) {
			struct sockaddr_msgmux from;
			socklen_t alen = sizeof(from);
			ssize_t got;

			got = recvfrom(r[i].fd, w->rxb, RX_CAP, MSG_DONTWAIT,
				       (struct sockaddr *)&from, &alen);
			if (got >= 0)
				rx_result(w, &r[i], false, w->rxb, got, RX_CAP,
					  0, &from, alen);
			else if (errno != EAGAIN &&
				 !(r[i].u->connects && connect_error(errno)))
				unexpected(w, "recvfrom", errno);
		}
		sock_put(&r[i]);
	}
	if (n)
		w->ok[w->op]++;
}

static void op_shutdown(struct worker *w)
{
	int how = rnd(w, 3);	/* SHUT_RD, SHUT_WR, SHUT_RDWR */
	struct mux_rec *mr;
	struct sref r;
	uint64_t t;
	unsigned int i;

	if (!sock_pick(w, &r, 0))
		return;
	mr = MR(r.mux_rec);
	t = now_ns();
	pthread_mutex_lock(&g.mu);
	if (how != SHUT_WR && !other_receiver(&g.mux[r.m], r.u) &&
	    g.mux[r.m].nlive > 1 && rnd(w, 8))
		how = SHUT_WR;
	if (how != SHUT_WR) {
		mr->moving++;	/* its queue moves to the other sockets */
		r.u->shut_rd = true;
		receiver_leaves(mr);
		receivers_changed(&g.mux[r.m], mr);
		if (r.u->lis) {
			listener_gone(r.u->lis, t);
			r.u->lis = 0;
		}
	}
	if (how != SHUT_RD) {
		r.u->shut_wr = true;
		excuse_connecting(r.u->inst, t);
		/* A one-to-one socket's FIN: its peer may drop, counted. */
		for (i = 0; r.type == SOCK_SEQPACKET && i < mr->nconns; i++) {
			struct conn_rec *c = CR(mr->conns[i].conn);

			if (c->cur[0] == mr->id || c->cur[1] == mr->id)
				counted(c, t);
		}
	}
	pthread_mutex_unlock(&g.mu);
	if (shutdown(r.fd, how) && errno != ENOTCONN)
		unexpected(w, "shutdown", errno);
	else
		w->ok[w->op]++;
	if (how != SHUT_WR) {
		pthread_mutex_lock(&g.mu);
		mr->moving--;
		max64(&mr->move_end_ns, now_ns());
		pthread_mutex_unlock(&g.mu);
	}
	sock_put(&r);
}

static void op_disable(struct worker *w)
{
	int on = rnd(w, 2);
	struct mux_rec *mr;
	unsigned int gen;
	bool raced;
	struct sref r;

	if (!sock_pick(w, &r, 0))
		return;
	mr = MR(r.mux_rec);
	pthread_mutex_lock(&g.mu);
	/* Rarely the mux's last receiving socket: see receivers_changed(). */
	if (on && !other_receiver(&g.mux[r.m], r.u) && rnd(w, 8)) {
		pthread_mutex_unlock(&g.mu);
		sock_put(&r);
		return;
	}
	receivers_changed(&g.mux[r.m], mr);
	if (on) {
		mr->moving++;
		r.u->disabled = true;
		r.u->dis_gen++;
		r.u->dis_busy++;
		receiver_leaves(mr);
		receivers_changed(&g.mux[r.m], mr);
		g.moves++;
	}
	/* A disable already on its way may land after this enable. */
	gen = r.u->dis_gen;
	raced = r.u->dis_busy > 0;
	pthread_mutex_unlock(&g.mu);
	/*
	 * Receiving cannot come back after SHUT_RD, nor after the end of a
	 * one-to-one socket's connection (its shutdown is both ways).
	 */
	if (set_int(r.fd, SOL_MSGMUX, MSGMUX_RECV_DISABLE, on)) {
		if (!(errno == EINVAL && !on &&
		      (r.u->shut_rd || mr->one2one)))
			unexpected(w, "MSGMUX_RECV_DISABLE", errno);
	} else {
		w->ok[w->op]++;
	}
	pthread_mutex_lock(&g.mu);
	if (on) {
		r.u->dis_busy--;
		mr->moving--;
		max64(&mr->move_end_ns, now_ns());
	} else if (!raced && gen == r.u->dis_gen) {
		/*
		 * No disable was in flight or began since: this enable was
		 * the last word.  Otherwise the model keeps the socket
		 * disabled, which only excuses more.
		 */
		r.u->disabled = false;
	}
	receivers_changed(&g.mux[r.m], mr);
	pthread_mutex_unlock(&g.mu);
	sock_put(&r);
}

static void op_sockopt(struct worker *w)
{
	struct sref r;
	int v;

	if (!sock_pick(w, &r, 0))
		return;
	switch (rnd(w, 4)) {
	case 0:
		v = rnd(w, 2) ? 256 + rnd(w, 8192) : 65536 + rnd(w, 1 << 20);
		if (set_int(r.fd, SOL_SOCKET, SO_RCVBUF, v))
			unexpected(w, "SO_RCVBUF", errno);
		break;
	case 1:
		v = rnd(w, 2) ? 1024 + rnd(w, 8192) : 65536 + rnd(w, 1 << 20);
		if (set_int(r.fd, SOL_SOCKET, SO_SNDBUF, v))
			unexpected(w, "SO_SNDBUF", errno);
		break;
	case 2:
		v = sockopt_level_int(r.fd, SOL_MSGMUX, MSGMUX_RECV_DISABLE);
		if (v != 0 && v != 1)
			failf(w, "MSGMUX_RECV_DISABLE reads %d", v);
		break;
	default:
		v = sockopt_int(r.fd, SO_ERROR);
		if (v < 0)
			unexpected(w, "SO_ERROR", -v);
		break;
	}
	sock_put(&r);
	w->ok[w->op]++;
}

/* The connection ids each live mux has in /proc/net/msgmux. */
struct proc_ids {
	unsigned int mux;
	uint32_t id;
};

/*
 * Caller holds g.mu.  A stay whose connection id is known but no longer
 * listed has ended (ids are never reused); the test may not have heard
 * (a notification it could not map, or missed).
 */
static void reconcile(const struct proc_ids *pi, unsigned int n)
{
	unsigned int m, i, k, e;

	for (m = 0; m < MUX_SLOTS; m++) {
		struct mux_rec *mr;

		if (!g.mux[m].used)
			continue;
		mr = MR(g.mux[m].rec);
		/* Its last close has begun: destroy_end() accounts for it. */
		if (mr->destroyed_ns)
			continue;
		for (i = 0; i < mr->nconns; i++) {
			struct mconn *st = &mr->conns[i];
			struct conn_rec *c = CR(st->conn);

			if (st->leave_ns || !st->conn_id ||
			    (c->cur[0] == mr->id && c->cur[1] == mr->id))
				continue;
			for (k = 0; k < n; k++)
				if (pi[k].mux == mr->proc_id &&
				    pi[k].id == st->conn_id)
					break;
			if (k < n)
				continue;
			for (e = 0; e < 2; e++)
				conn_leave(c, e, mr->id);
			g.reconciled++;
			/* An attached socket it was is the test's again. */
			for (k = 0; k < END_SLOTS; k++) {
				struct end_slot *es = &g.end[k];

				if (es->used && es->state == END_ATTACHED &&
				    es->conn == c->id && es->mux_rec == mr->id) {
					es->state = END_RAW;
					es->need_sync = true;
					es->mux = -1;
					end_let_go(c, es->e, now_ns(), true);
					end_log(es, "raw: id %u gone from /proc",
						st->conn_id);
				}
			}
		}
	}
}

/* Read /proc/net/msgmux while everything changes; every line parses. */
static void op_proc(struct worker *w)
{
	char *text, *line, *save = NULL;
	struct proc_ids *pi = NULL;
	unsigned int n = 0, cap = 0;
	int lines = 0;

	/*
	 * Under g.mu until reconcile(): no id is learned meanwhile, so an id
	 * known and not listed left before the read.
	 */
	pthread_mutex_lock(&g.mu);
	text = read_file("/proc/net/msgmux");

	if (!text) {
		pthread_mutex_unlock(&g.mu);
		unexpected(w, "read /proc/net/msgmux", errno);
		return;
	}
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char kind[8], ino[32], type[16], state[16];
		unsigned long long v[7];
		unsigned int mux, id;

		if (!lines++)
			continue;	/* the header */
		if (sscanf(line, "%7s %u %u %31s %15s %15s %llu %llu %llu "
			   "%llu %llu %llu %llu", kind, &mux, &id, ino, type,
			   state, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
			   &v[6]) != 13) {
			say("FAIL [seed %u] /proc/net/msgmux: cannot parse "
			    "\"%s\"", cfg.seed, line);
			__atomic_add_fetch(&g.failures, 1, __ATOMIC_SEQ_CST);
			continue;
		}
		if (strcmp(kind, "conn"))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			pi = xrealloc(pi, cap * sizeof(*pi));
		}
		pi[n].mux = mux;
		pi[n].id = id;
		n++;
	}
	free(text);
	reconcile(pi, n);
	pthread_mutex_unlock(&g.mu);
	free(pi);
	w->ok[w->op]++;
}

/* ---- the workers --------------------------------------------------------------- */

static void (*const opfn[NOPS])(struct worker *) = {
	[OP_CREATE] = op_create, [OP_CLONE] = op_clone,
	[OP_CLOSE] = op_close, [OP_PAIR] = op_pair,
	[OP_ATTACH] = op_attach, [OP_UNATTACH] = op_unattach,
	[OP_CONNECT] = op_connect, [OP_LISTEN] = op_listen,
	[OP_ACCEPT] = op_accept, [OP_SEND] = op_send, [OP_RECV] = op_recv,
	[OP_RAW_SEND] = op_raw_send, [OP_RAW_RECV] = op_raw_recv,
	[OP_POLL] = op_poll, [OP_ERRQ] = op_errq,
	[OP_SHUTDOWN] = op_shutdown, [OP_RAW_SHUT] = op_raw_shut,
	[OP_RAW_CLOSE] = op_raw_close, [OP_ORPHAN] = op_orphan,
	[OP_DISABLE] = op_disable, [OP_SOCKOPT] = op_sockopt,
	[OP_PROC] = op_proc,
};

static int pick_op(struct worker *w)
{
	unsigned int total = 0, r, i;

	for (i = 0; i < NOPS; i++)
		total += opdef[i].weight;
	r = rnd(w, total);
	for (i = 0; i < NOPS; i++) {
		if (r < opdef[i].weight)
			return i;
		r -= opdef[i].weight;
	}
	return OP_SEND;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	while (!stopping()) {
		unsigned long n = __atomic_add_fetch(&g.ops, 1, __ATOMIC_RELAXED);

		if (n > cfg.ops) {
			stop_run("operation limit");
			break;
		}
		w->op = pick_op(w);
		__atomic_store_n(&w->op_ns, now_ns(), __ATOMIC_RELEASE);
		w->tries[w->op]++;
		opfn[w->op](w);
		__atomic_store_n(&w->op_ns, 0, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&w->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* ---- the drain: read everything there is, with nothing else running ------------- */

static int drain_pass(struct worker *w)
{
	int i, m, k, got = 0;

	/* Take what waits in the listeners' backlogs. */
	for (i = 0; i < LIS_SLOTS; i++) {
		struct listener *l = &g.lis[i];

		if (!l->used || l->kind == L_DGRAM)
			continue;
		while (accept_one(w, l, l->kind == L_TCP ? l->fd :
				  l->fd, true) > 0)
			got++;
	}
	for (i = 0; i < END_SLOTS; i++) {
		struct end_slot *e = &g.end[i];

		if (!e->used || e->state != END_RAW)
			continue;
		if (e->txs) {
			size_t before = e->txoff;

			raw_flush(w, e, 0);
			got += e->txoff != before || !e->txs;
		}
		got += raw_read(w, e, SIZE_MAX) > 0;
	}
	for (m = 0; m < MUX_SLOTS; m++) {
		if (!g.mux[m].used)
			continue;
		for (k = 0; k < SOCK_SLOTS; k++) {
			struct usock *u = &g.mux[m].s[k];
			struct sref r = { m, k, u, u->fd, g.mux[m].rec,
					  g.mux[m].type };
			struct sockaddr_msgmux from;
			socklen_t alen;
			ssize_t n;

			if (!u->used)
				continue;
			for (;;) {
				alen = sizeof(from);
				n = recvfrom(u->fd, w->rxb, RX_CAP,
					     MSG_DONTWAIT,
					     (struct sockaddr *)&from, &alen);
				if (n < 0) {
					if (errno == EAGAIN)
						break;
					if (!(u->connects &&
					      connect_error(errno)))
						unexpected(w, "recvfrom",
							   errno);
					continue;
				}
				if (!rx_result(w, &r, true, w->rxb, n,
					       RX_CAP, 0, &from, alen))
					break;
				got++;
			}
			read_errqueue(w, u->fd, r.mux_rec, 1000);
		}
	}
	return got;
}

/* Every queue in /proc empty?  (Messages waiting to be written.) */
static bool proc_quiet(void)
{
	char *text = read_file("/proc/net/msgmux"), *line, *save = NULL;
	bool quiet = true;

	if (!text)
		return true;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char kind[8];
		unsigned long long q;

		if (sscanf(line, "%7s %*u %*u %*s %*s %*s %*u %*u %*u %*u "
			   "%llu", kind, &q) == 2 && !strcmp(kind, "conn") && q)
			quiet = false;
	}
	free(text);
	return quiet;
}

static void drain(struct worker *w)
{
	uint64_t deadline = now_ns() + cfg.drain * 1000000000ULL;
	uint64_t quiet_since = 0;
	struct proc_row row;
	int i, m, k;

	g.draining = true;
	w->op = OP_RECV;
	for (m = 0; m < MUX_SLOTS; m++) {
		struct mux_slot *ms = &g.mux[m];
		int fd = -1;

		if (!ms->used)
			continue;
		/* Everyone receives again, and a fresh clone as well. */
		for (k = 0; k < SOCK_SLOTS; k++) {
			if (!ms->s[k].used)
				continue;
			set_int(ms->s[k].fd, SOL_MSGMUX, MSGMUX_RECV_DISABLE, 0);
			ms->s[k].disabled = false;
			if (fd < 0)
				fd = ms->s[k].fd;
		}
		if (fd >= 0) {
			int c = mux_clone(MUX_MSGMUX, fd);

			if (c < 0 || !usock_add(m, c)) {
				failf(NULL, "drain: cannot clone a socket of "
				      "mux %u: %s", MR(ms->rec)->proc_id,
				      strerror(errno));
				if (c >= 0)
					close(c);
			}
		}
	}
	/* Attached sockets msgmux let go of (a failure) are raw again. */
	for (i = 0; i < END_SLOTS; i++) {
		struct end_slot *e = &g.end[i];

		if (e->used && e->state == END_ATTACHED &&
		    proc_find_conn(fd_inode(e->fd), &row)) {
			e->state = END_RAW;
			e->need_sync = true;
			e->mux = -1;
			end_let_go(CR(e->conn), e->e, now_ns(), true);
		}
	}
	op_proc(w);
	while (now_ns() < deadline) {
		if (drain_pass(w)) {
			quiet_since = 0;
			continue;
		}
		if (!quiet_since)
			quiet_since = now_ns();
		if (now_ns() - quiet_since > 500000000ULL && proc_quiet()) {
			op_proc(w);
			return;
		}
		usleep(5000);
	}
	say("drain: still not quiet after %u s", cfg.drain);
}

/* What raw ends could not finish writing is the test's loss. */
static void drain_abandon(struct worker *w)
{
	int i;

	for (i = 0; i < END_SLOTS; i++)
		if (g.end[i].used && g.end[i].state == END_RAW)
			raw_abandon(w, &g.end[i]);
}

/* ---- the verdict ------------------------------------------------------------- */

enum { CL_CLEAN, CL_COUNTED, CL_EXCUSED };

/*
 * What the test did to connection @c, for a stream that started at @t.
 * What dooms the connection counts whenever it was done (a connection
 * whose peer is gone takes messages for a while before it fails); what
 * ends with the call (an unattach, a mux destroyed that gives an attached
 * socket back), and what was done to a mux's sockets, only after @t.
 */
static void classify_conn(const struct conn_rec *c, uint64_t t, int *cl,
			  int *why)
{
	unsigned int e, i;

	if (c->hist_full || c->excuse_ns || c->excuse_until[0] >= t ||
	    c->excuse_until[1] >= t) {
		*cl = CL_EXCUSED;
		*why = c->excuse_ns ? c->why : X_BOUNDED;
		return;
	}
	if ((c->counted_ns || c->counted_until[0] >= t ||
	     c->counted_until[1] >= t) && *cl < CL_COUNTED)
		*cl = CL_COUNTED;
	for (e = 0; e < 2; e++)
		for (i = 0; i < c->nmux[e]; i++) {
			const struct mux_rec *m = MR(c->muxes[e][i]);

			if (m->destroyed_ns >= t) {
				*cl = CL_EXCUSED;
				*why = X_MUX;
				return;
			}
			if (m->counted_ns >= t && *cl < CL_COUNTED)
				*cl = CL_COUNTED;
		}
}

/*
 * A stream on one connection depends on it; one sent on a mux to any
 * connection, on every connection the mux had while the stream lived.
 */
static int classify(const struct stream *s, int *why)
{
	int cl = CL_CLEAN;
	unsigned int i;

	if (s->raw || s->conn) {
		classify_conn(CR(s->raw ? s->src : s->conn), s->first_ns, &cl,
			      why);
	} else {
		const struct mux_rec *m = MR(s->src);

		for (i = 0; i < m->nconns && cl != CL_EXCUSED; i++)
			if (m->conns[i].enter_ns <= s->last_ns &&
			    (!m->conns[i].leave_ns ||
			     m->conns[i].leave_ns >= s->first_ns))
				classify_conn(CR(m->conns[i].conn), s->first_ns,
					      &cl, why);
	}
	if (!s->raw && MR(s->src)->destroyed_ns >= s->first_ns) {
		cl = CL_EXCUSED;
		*why = X_MUX;
	}
	return cl;
}

/*
 * Can something the test did since @t drop a message in the middle of
 * connection @c's traffic at the ends in @ends?  What ends a connection (a
 * reset, a closed end) loses what comes after some point, since a
 * connection delivers in order.  Messages are lost with later ones
 * delivered only at an end that was unattached (the message being parsed
 * or held back arriving there; those queued to leave from there), whose
 * mux was destroyed or had a socket closed with messages queued, or went
 * without a receiving socket (a held message is dropped when the
 * connection leaves), or whose raw reader had to skip a message msgmux
 * took the start of.
 */
static bool middle_drop(const struct conn_rec *c, uint64_t t,
			const bool ends[2])
{
	unsigned int e, i;

	if (c->hist_full)
		return true;
	for (e = 0; e < 2; e++) {
		if (!ends[e])
			continue;
		if (c->resynced[e] || c->counted_until[e] >= t ||
		    c->excuse_until[e] >= t)
			return true;
		for (i = 0; i < c->nmux[e]; i++) {
			const struct mux_rec *m = MR(c->muxes[e][i]);

			if (m->destroyed_ns &&
			    (!m->gone_ns || m->gone_ns >= t))
				return true;
			if (m->dropq_ns >= t)
				return true;
		}
	}
	return false;
}

/*
 * The end of @c where stream @s's messages arrive, or -1 if the test
 * cannot tell (both ends were in its mux).
 */
static int arrival_end(const struct stream *s, const struct conn_rec *c)
{
	bool in[2] = { false, false };
	unsigned int e, i;

	if (s->raw)
		return !s->end;
	for (e = 0; e < 2; e++)
		for (i = 0; i < c->nmux[e]; i++)
			in[e] |= c->muxes[e][i] == s->src;
	return in[0] == in[1] ? -1 : in[0];
}

/* A hole in a one-connection stream: what arrives after it came first. */
static bool hole_possible(const struct stream *s, const struct conn_rec *c)
{
	int d = arrival_end(s, c);
	bool ends[2] = { d != 1, d != 0 };

	return middle_drop(c, s->first_ns, ends);
}

/*
 * Was message @k of @s lost by msgmux for sure?  It went on one of the
 * connections its mux had while it was sent (or its one connection);
 * each delivers in order, whoever sends.  If on every one of them a
 * message whose send started after @k's ended arrived at the end @k was
 * going to, sent before msgmux let go of the end @k left from (after
 * which a new writer may follow), and nothing since @k was sent can drop
 * one in the middle where it arrives, @k should have arrived too.
 */
/* The first time msgmux let go of end @e of @c since @t0. */
static uint64_t first_letgo(const struct conn_rec *c, unsigned int e,
			    uint64_t t0)
{
	uint64_t first = UINT64_MAX;
	unsigned int i;

	for (i = 0; i < c->letgo[e].n; i++)
		if (c->letgo[e].t[i].t >= t0 && c->letgo[e].t[i].t < first)
			first = c->letgo[e].t[i].t;
	for (i = 0; i < c->nmux[e]; i++) {
		const struct mux_rec *m = MR(c->muxes[e][i]);

		if (m->destroyed_ns >= t0 && m->destroyed_ns < first)
			first = m->destroyed_ns;
	}
	return first;
}

/*
 * Did @c surely deliver what @s sent on it between @t0 and @t1?  Where it
 * arrives, no mux dropped a socket's queue or went away since; and a
 * message sent after it arrived, sent before msgmux let go of the end it
 * left from (a new writer may follow), and received before msgmux let go
 * of the end it arrived at (what it was parsing or held back is lost).
 */
static bool sure_on(const struct stream *s, const struct conn_rec *c,
		    uint64_t t0, uint64_t t1)
{
	uint64_t src, dst;
	unsigned int i;
	int d = arrival_end(s, c);

	if (d < 0 || c->hist_full || c->deliv_ns[d] <= t1)
		return false;
	for (i = 0; i < c->nmux[d]; i++) {
		const struct mux_rec *m = MR(c->muxes[d][i]);

		if ((m->destroyed_ns && (!m->gone_ns || m->gone_ns >= t0)) ||
		    m->dropq_ns >= t0)
			return false;
	}
	src = first_letgo(c, !d, t0);
	dst = first_letgo(c, d, t0);
	for (i = 0; i < c->deliv[d].n; i++)
		if (c->deliv[d].t[i].t > t1 && c->deliv[d].t[i].t < src &&
		    c->deliv[d].t[i].u < dst)
			return true;
	return false;
}

static bool surely_lost(const struct stream *s, uint32_t k)
{
	uint64_t t0 = s->t0[k], t1 = s->t1[k];
	const struct mux_rec *m;
	unsigned int i, n = 0;

	if (!t1)
		return false;
	if (s->raw || s->conn)
		return sure_on(s, CR(s->raw ? s->src : s->conn), t0, t1);
	m = MR(s->src);
	for (i = 0; i < m->nconns; i++) {
		if (m->conns[i].enter_ns > t1 ||
		    (m->conns[i].leave_ns && m->conns[i].leave_ns < t0))
			continue;
		if (!sure_on(s, CR(m->conns[i].conn), t0, t1))
			return false;
		n++;
	}
	return n;
}

static unsigned long surely_lost_count(const struct stream *s,
				       uint32_t *first)
{
	unsigned long n = 0;
	uint32_t j;

	for (j = 0; j < s->next; j++)
		if ((s->st[j] & S_OK) && !(s->st[j] & (S_RECV | S_ABANDON)) &&
		    surely_lost(s, j) && !n++)
			*first = j;
	return n;
}

static const char *const cl_name[] = { "clean", "counted", "excused" };

/* The fate of each message of @s around @k. */
static void show_stream(const struct stream *s, uint32_t k)
{
	uint32_t j = k > 3 ? k - 3 : 0;

	for (; j < s->next && j <= k + 3; j++)
		say("  seq %u: state %#x, sent %.3f..%.3f", j, s->st[j],
		    rel(s->t0[j]), rel(s->t1[j]));
}

static void describe(const struct stream *s, char *buf, size_t len)
{
	if (s->raw)
		snprintf(buf, len, "thread %u, raw end %u of connection %u",
			 s->thread, s->end, s->src);
	else
		snprintf(buf, len, "thread %u, mux %u, %s %u (connection %u)",
			 s->thread, MR(s->src)->proc_id,
			 s->conn_id ? "conn id" : "any connection", s->conn_id,
			 s->conn);
}

struct totals {
	unsigned long sent, failed, recvd, part, abandoned;
	unsigned long lost[3], streams[3], msgs[3], why[NX];
	unsigned long ordered_msgs, holes;
	unsigned long probed, covered;	/* would a loss have been caught? */
	unsigned long long dropped;
};

static void verdict(struct totals *tt)
{
	unsigned int i, j, shown = 0;
	char desc[160];

	memset(tt, 0, sizeof(*tt));
	for (i = 1; i <= g.nstreams; i++) {
		struct stream *s = g.streams[i];
		unsigned long sent = 0, recvd = 0, lost = 0, unres = 0;
		unsigned long holes = 0, sure;
		uint32_t first_lost = UINT32_MAX, last_lost = 0, top = 0;
		int cl, why = X_MUX;

		for (j = 0; j < s->next; j++) {
			uint8_t st = s->st[j];

			if (st & S_FAIL) {
				tt->failed++;
				continue;
			}
			if (st & S_ABANDON) {
				tt->abandoned++;
				continue;
			}
			if (!(st & (S_OK | S_PART))) {
				unres++;
				continue;
			}
			sent++;
			tt->part += !!(st & S_PART);
			if (st & S_RECV) {
				recvd++;
				top = j + 1;
				continue;
			}
			lost++;
			if (first_lost == UINT32_MAX)
				first_lost = j;
			last_lost = j;
		}
		if (unres)
			failf(NULL, "stream %u: %lu sends never finished",
			      s->id, unres);
		for (j = 0; j < top; j++)
			holes += (s->st[j] & (S_OK | S_PART)) &&
				 !(s->st[j] & (S_RECV | S_ABANDON));
		cl = classify(s, &why);
		if (cl == CL_EXCUSED)
			tt->why[why]++;
		tt->msgs[cl] += sent;
		tt->sent += sent;
		tt->recvd += recvd;
		tt->lost[cl] += lost;
		tt->streams[cl]++;
		describe(s, desc, sizeof(desc));
		if (s->raw || s->conn) {
			tt->ordered_msgs += sent;
			tt->holes += holes;
		}
		/*
		 * The test's power: would the loss of a message that did
		 * arrive have been caught?  (On a sample, it costs.)
		 */
		for (j = s->id % 7; j < s->next && tt->probed < 50000; j += 7) {
			if ((s->st[j] & (S_OK | S_RECV)) != (S_OK | S_RECV))
				continue;
			tt->probed++;
			tt->covered += cl == CL_CLEAN || surely_lost(s, j) ||
				       ((s->raw || s->conn) && j + 1 < top &&
					!hole_possible(s, CR(s->raw ? s->src :
							     s->conn)));
		}
		if (holes && (s->raw || s->conn) &&
		    !hole_possible(s, CR(s->raw ? s->src : s->conn))) {
			failf(NULL, "stream %u (%s): %lu messages lost before "
			      "seq %u, which was received: a connection loses "
			      "only its tail, and the test did nothing that "
			      "drops messages in the middle", s->id, desc, holes,
			      top - 1);
			show_stream(s, first_lost);
			show_conn(CR(s->raw ? s->src : s->conn));
		} else if (lost && (sure = surely_lost_count(s, &first_lost))) {
			failf(NULL, "stream %u (%s): %lu messages lost from seq "
			      "%u on, while on every connection they could take "
			      "messages sent after them arrived, and nothing "
			      "the test did drops one in the middle", s->id,
			      desc, sure, first_lost);
			show_stream(s, first_lost);
			if (s->raw || s->conn)
				show_conn(CR(s->raw ? s->src : s->conn));
		} else if (lost && cl == CL_CLEAN)
			failf(NULL, "stream %u (%s): %lu of %lu messages lost "
			      "(seq %u..%u), and nothing the test did can "
			      "explain it", s->id, desc, lost, sent, first_lost,
			      last_lost);
		else if (lost && shown++ < 8)
			say("stream %u (%s): %lu of %lu lost, %s", s->id, desc,
			    lost, sent, cl_name[cl]);
	}
	for (i = 1; i <= g.nmuxr; i++)
		tt->dropped += MR(i)->dropped;
	if (tt->lost[CL_COUNTED] > tt->dropped)
		failf(NULL, "%lu messages lost where msgmux counts drops, but "
		      "/proc/net/msgmux counted only %llu",
		      tt->lost[CL_COUNTED], tt->dropped);
	if (tt->dropped > tt->lost[CL_COUNTED] + tt->lost[CL_EXCUSED] + g.aborts)
		failf(NULL, "/proc/net/msgmux counted %llu dropped messages, "
		      "but only %lu were lost (and %lu aborts)", tt->dropped,
		      tt->lost[CL_COUNTED] + tt->lost[CL_EXCUSED], g.aborts);
}

static void report(struct totals *tt, double run, double drain)
{
	unsigned long tries[NOPS] = { 0 }, ok[NOPS] = { 0 };
	unsigned long sent = 0, sbytes = 0, recvd = 0, rbytes = 0, raws = 0;
	unsigned long rawr = 0, truncs = 0, peeks = 0, mmsgs = 0, moved = 0;
	unsigned long ordered = 0;
	unsigned long ops = 0, serr[4] = { 0 };
	unsigned int i, t;
	char line[1024];
	int len = 0;

	for (t = 0; t < cfg.threads; t++) {
		struct worker *w = &g.workers[t];

		for (i = 0; i < NOPS; i++) {
			tries[i] += w->tries[i];
			ok[i] += w->ok[i];
			ops += w->tries[i];
		}
		sent += w->sent;
		sbytes += w->sent_bytes;
		recvd += w->recvd;
		rbytes += w->recvd_bytes;
		raws += w->raw_sent;
		rawr += w->raw_recvd;
		truncs += w->truncs;
		peeks += w->peeks;
		mmsgs += w->mmsgs;
		moved += w->reorders_moved;
		ordered += w->ordered;
		for (i = 0; i < 4; i++)
			serr[i] += w->send_err[i];
	}
	say("seed %u: %lu operations by %u threads in %.1f s (stopped: %s), "
	    "drained in %.1f s", cfg.seed, ops, cfg.threads, run,
	    g.stop_why ? g.stop_why : "?", drain);
	for (i = 0; i < NOPS; i++) {
		len += snprintf(line + len, sizeof(line) - len, " %s %lu/%lu",
				opdef[i].name, ok[i], tries[i]);
		if (len > 70 || i == NOPS - 1) {
			say("ops (done/tried):%s", line);
			len = 0;
		}
	}
	say("messages: %lu sent (%lu on upper sockets, %lu bytes; %lu on "
	    "raw ends), %lu sends failed (send calls failing: EPIPE %lu, "
	    "ENOTCONN %lu, EAGAIN %lu, other %lu)", tt->sent, sent, sbytes,
	    raws, tt->failed, serr[0], serr[1], serr[2], serr[3]);
	say("messages: %lu received (%lu on upper sockets, %lu bytes; %lu on "
	    "raw ends), %lu truncated, %lu peeked, %lu mmsg calls", tt->recvd,
	    recvd, rbytes, rawr, truncs, peeks, mmsgs);
	say("accounted: %lu lost on streams the test disturbed (%lu counted "
	    "class, %lu excused), %lu clean-stream losses; /proc dropped %llu; "
	    "%lu partly written, %lu abandoned", tt->lost[CL_COUNTED] +
	    tt->lost[CL_EXCUSED], tt->lost[CL_COUNTED], tt->lost[CL_EXCUSED],
	    tt->lost[CL_CLEAN], tt->dropped, tt->part, tt->abandoned);
	say("streams: %u (%lu clean, %lu counted, %lu excused); muxes %u, "
	    "connections %u; conn ids learned %lu, departures seen in /proc "
	    "%lu", g.nstreams, tt->streams[CL_CLEAN], tt->streams[CL_COUNTED],
	    tt->streams[CL_EXCUSED], g.nmuxr, g.nconnr, g.learned,
	    g.reconciled);
	len = 0;
	for (i = 0; i < NX; i++)
		if (tt->why[i])
			len += snprintf(line + len, sizeof(line) - len,
					"%s %s %lu", len ? "," : "", x_name[i],
					tt->why[i]);
	say("messages sent on clean streams %lu, counted %lu, excused %lu; "
	    "excused streams by cause:%s", tt->msgs[CL_CLEAN],
	    tt->msgs[CL_COUNTED], tt->msgs[CL_EXCUSED], line);
	say("messages on one-connection streams (losses only at the tail "
	    "unless explained) %lu, lost in the middle %lu; order checked on "
	    "%lu messages received", tt->ordered_msgs, tt->holes, ordered);
	say("power: had they been lost, %lu of %lu messages sampled (%.0f%%) "
	    "would have failed the test", tt->covered, tt->probed,
	    tt->probed ? 100.0 * tt->covered / tt->probed : 0);
	say("notifications: closed %lu, tcp error %lu, other %lu, unmapped %lu;"
	    " aborts %lu, resyncs %lu (%lu bytes skipped), order exemptions "
	    "after moves %lu", g.notes[MSGMUX_CONN_CLOSED],
	    g.notes[MSGMUX_CONN_TCP_ERROR],
	    g.notes[3] + g.notes[4] + g.notes[5] + g.notes[6],
	    g.notes_unmapped, g.aborts, g.resyncs, g.resync_bytes, moved);
}

/* ---- the watchdog ------------------------------------------------------------- */

static void dump_threads(void)
{
	unsigned int t;

	for (t = 0; t < cfg.threads; t++) {
		struct worker *w = &g.workers[t];
		uint64_t since = __atomic_load_n(&w->op_ns, __ATOMIC_ACQUIRE);

		if (since)
			say("thread %u: in %s for %.1f s", t, opdef[w->op].name,
			    secs_since(since));
	}
	if (system("for t in /proc/self/task/*; do echo \"# $t: $(cat $t/wchan "
	       "2>/dev/null)\"; cat $t/stack 2>/dev/null | sed 's/^/#   /';"
	       " done; sed 's/^/# /' /proc/net/msgmux"))
		say("cannot show the threads' kernel stacks");
}

/* True if some thread has been in one operation for HANG_SECS. */
static bool hung(void)
{
	unsigned int t;

	for (t = 0; t < cfg.threads; t++) {
		uint64_t since = __atomic_load_n(&g.workers[t].op_ns,
						 __ATOMIC_ACQUIRE);

		if (since && secs_since(since) > HANG_SECS)
			return true;
	}
	return false;
}

/* ---- the test ---------------------------------------------------------------- */

static int tcp_listen_on(int family, struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = tcp_listener(family);

	if (fd < 0 || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len))
		return -1;
	set_nonblock(fd, true);
	l->used = true;
	l->id = ++g.next_lis;
	l->kind = L_TCP;
	l->family = family;
	l->port = sockaddr_port(&ss);
	l->fd = fd;
	return 0;
}

TEST(random_ops)
{
	struct worker main_w = { .id = 99 };
	struct totals tt;
	uint64_t t1, t2;
	unsigned int t, i;
	int m, k;

	signal(SIGPIPE, SIG_IGN);
	g.family = msgmux_family();
	g.t0 = now_ns();
	g.muxr = xzalloc(MAX_RECS * sizeof(*g.muxr));
	g.connr = xzalloc(MAX_RECS * sizeof(*g.connr));
	g.streams = xzalloc(MAX_STREAMS * sizeof(*g.streams));
	for (m = 0; m < MUX_SLOTS; m++)
		for (k = 0; k < SOCK_SLOTS; k++)
			pthread_mutex_init(&g.mux[m].s[k].rx, NULL);
	for (i = 0; i < END_SLOTS; i++) {
		pthread_mutex_init(&g.end[i].io, NULL);
		g.end[i].rx = xzalloc(RX_CAP);
		g.end[i].tx = xzalloc(MAX_MSG + 4);
	}
	ASSERT_EQ(0, tcp_listen_on(AF_INET, &g.lis[0]));
	ASSERT_EQ(0, tcp_listen_on(AF_INET6, &g.lis[1]));

	say("seed %u (MSGMUX_STRESS_SEED), %u s (MSGMUX_STRESS_SECS), %lu "
	    "operations (MSGMUX_STRESS_OPS), %u threads (MSGMUX_STRESS_THREADS)",
	    cfg.seed, cfg.secs, cfg.ops, cfg.threads);

	g.workers = xzalloc(cfg.threads * sizeof(*g.workers));
	for (t = 0; t < cfg.threads; t++) {
		struct worker *w = &g.workers[t];

		w->id = t;
		w->rng = cfg.seed * 0x100000001b3ULL + t;
		splitmix(&w->rng);
		w->tx = xzalloc(MAX_MSG + MMSG * MMSG_SIZE);
		w->rxb = xzalloc(RX_CAP);
		w->mrx = xzalloc(MMSG * MMSG_SIZE);
	}
	main_w.rng = cfg.seed;
	main_w.rxb = xzalloc(RX_CAP);
	for (t = 0; t < cfg.threads; t++)
		ASSERT_EQ(0, pthread_create(&g.workers[t].th, NULL, worker_main,
					    &g.workers[t]));

	while (!stopping()) {
		usleep(20000);
		if (secs_since(g.t0) >= cfg.secs)
			stop_run("time limit");
		if (hung()) {
			failf(NULL, "an operation has run for %u s: hung",
			      HANG_SECS);
			dump_threads();
			/* Threads stuck in the kernel cannot be joined. */
			_exit(KSFT_FAIL);
		}
	}
	t1 = now_ns();
	for (t = 0; t < cfg.threads; t++) {
		while (!__atomic_load_n(&g.workers[t].done, __ATOMIC_ACQUIRE)) {
			usleep(20000);
			if (hung()) {
				failf(NULL, "an operation has run for %u s "
				      "after the stop: hung", HANG_SECS);
				dump_threads();
				_exit(KSFT_FAIL);
			}
		}
		pthread_join(g.workers[t].th, NULL);
	}

	drain(&main_w);
	drain_abandon(&main_w);
	t2 = now_ns();
	for (i = 1; i <= g.nmuxr; i++) {
		struct proc_row row;

		if (!MR(i)->destroyed_ns && !proc_find_mux(MR(i)->proc_id, &row))
			MR(i)->dropped = row.dropped;
	}
	verdict(&tt);
	report(&tt, (t1 - g.t0) / 1e9, (t2 - t1) / 1e9);

	/* Tear down: every close path once more, and nothing may hang. */
	for (i = 0; i < END_SLOTS; i++)
		if (g.end[i].used)
			close(g.end[i].fd);
	for (m = 0; m < MUX_SLOTS; m++)
		for (k = 0; g.mux[m].used && k < SOCK_SLOTS; k++)
			if (g.mux[m].s[k].used)
				close(g.mux[m].s[k].fd);
	close(g.lis[0].fd);
	close(g.lis[1].fd);

	EXPECT_EQ(0, g.failures) {
		TH_LOG("seed %u: %d failures (MSGMUX_STRESS_SEED=%u to rerun)",
		       cfg.seed, g.failures, cfg.seed);
	}
}

int main(int argc, char **argv)
{
	static const struct {
		const char *opt, *env;
	} names[] = {
		{ "--seed=", "MSGMUX_STRESS_SEED" },
		{ "--secs=", "MSGMUX_STRESS_SECS" },
		{ "--ops=", "MSGMUX_STRESS_OPS" },
		{ "--threads=", "MSGMUX_STRESS_THREADS" },
		{ "--drain=", "MSGMUX_STRESS_DRAIN" },
	};
	const char *s[ARRAY_SIZE(names)] = { NULL };
	unsigned long v[ARRAY_SIZE(names)] = {
		cfg.seed, cfg.secs, cfg.ops, cfg.threads, cfg.drain,
	};
	int i, j, n = 1;

	for (j = 0; j < (int)ARRAY_SIZE(names); j++)
		s[j] = getenv(names[j].env);
	/* Our options; the harness gets the rest. */
	for (i = 1; i < argc; i++) {
		for (j = 0; j < (int)ARRAY_SIZE(names); j++) {
			size_t len = strlen(names[j].opt);

			if (!strncmp(argv[i], names[j].opt, len)) {
				s[j] = argv[i] + len;
				break;
			}
		}
		if (j == (int)ARRAY_SIZE(names))
			argv[n++] = argv[i];
	}
	argv[n] = NULL;
	for (j = 0; j < (int)ARRAY_SIZE(names); j++)
		if (s[j] && *s[j])
			v[j] = strtoul(s[j], NULL, 0);
	cfg.seed = v[0];
	cfg.secs = v[1];
	cfg.ops = v[2];
	cfg.threads = v[3] < 1 ? 1 : v[3] > MAX_THREADS ? MAX_THREADS : v[3];
	cfg.drain = v[4];
	_random_ops_object.timeout = cfg.secs + cfg.drain + HANG_SECS + 60;
	return test_harness_run(n, argv);
}
