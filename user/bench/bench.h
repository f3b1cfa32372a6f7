/* SPDX-License-Identifier: GPL-2.0 */
/*
 * msgmux-bench - msgmux against its peers, on one kernel, in one run.
 *
 * The transports, all over loopback: msgmux with TCP connections the
 * application attaches (SIOCMSGMUXATTACH), msgmux with connections the
 * kernel makes (connect(), listen()), AF_KCM with a BPF parser, AF_UNIX
 * SOCK_SEQPACKET, and TCP with the framing done in userspace.  Every
 * message carries a sequence number and a payload that is checked on
 * arrival, so a fast wrong result cannot pass.
 */
#ifndef _MSGMUX_BENCH_H
#define _MSGMUX_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/types.h>

/* The kernel's short types, as in tools/include/linux/types.h. */
typedef __u8 u8;
typedef __u32 u32;
typedef __u64 u64;

/* What <linux/compiler.h> and <linux/bits.h> give kernel code. */
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define BIT_ULL(n)	(1ULL << (n))
#define __printf(a, b)	__attribute__((format(printf, a, b)))

#define MAX_CONNS	4	/* connections, one sender thread each */
#define MAX_RECVS	4	/* receiving sockets, one thread each */
#define MAX_REPS	15
#define MAX_BATCH	64	/* sendmmsg()/recvmmsg() vector */
#define HDR_LEN		4	/* the 4-byte big-endian length prefix */

/* The application header at the start of a payload of 16 bytes or more. */
#define MSG_HDR_LEN	16
#define MSG_MAGIC	0x4d4d4200u	/* "MMB", then the sender's id */

enum transport {
	TR_ATTACH,	/* msgmux, TCP pairs attached with SIOCMSGMUXATTACH */
	TR_CONNECT,	/* msgmux, connect() to a listening msgmux socket */
	TR_KCM,		/* AF_KCM, TCP pairs attached with a BPF parser */
	TR_UNIX,	/* AF_UNIX SOCK_SEQPACKET socketpair() */
	TR_TCP,		/* TCP, length prefix written and parsed here */
	TR_NR
};

/**
 * struct transport_info - what differs between transports
 * @name: short name, for --transports= and the tables.
 * @what: one line for the text report.
 * @hdr_in_msg: the application writes and reads the 4-byte length prefix
 *	itself (KCM's messages include it; TCP is a byte stream).
 * @stream: a byte stream the receiver cuts into messages.
 */
struct transport_info {
	const char *name;
	const char *what;
	bool hdr_in_msg;
	bool stream;
};

extern const struct transport_info transports[TR_NR];

enum api { API_SEND, API_MMSG };

/* The KCM parser: see transport.c. */
enum kcm_parser { KCM_FIXED, KCM_LOAD_WORD };

/* --inject: what sender 0 does wrong, to show that the checks see it. */
enum inject { INJ_NONE, INJ_CORRUPT, INJ_DROP, INJ_DUP };

/** struct options - the command line */
struct options {
	double secs;		/* per throughput or latency run */
	int reps;
	int batch;		/* sendmmsg()/recvmmsg() vector length */
	bool check_only;	/* counted runs, TAP, no figures */
	bool quick;
	bool full;
	unsigned int transports;	/* bit per enum transport */
	const char *cases;	/* comma-separated fnmatch() patterns */
	const char *out;	/* directory for bench.{txt,csv,json} */
	enum kcm_parser kcm_parser;
	enum inject inject;
	bool lat_split;		/* ping-pong ends on CPUs 0 and 1, not both 0 */
	int mem_n;		/* sockets or messages per memory run */
};

extern struct options opt;

/* ---- sockets for one run (transport.c) ---------------------------------- */

/**
 * struct link - the sockets of one run
 * @tr: the transport.
 * @nconns: connections; sender i writes to @tx[i].
 * @nrecvs: receiving sockets; receiver j reads @rx[j][0..@nrx[j]).
 * @tx: the sending end of each connection.
 * @rx: what each receiver reads.  Several fds (TCP or AF_UNIX with more
 *	connections than receivers) are polled with epoll.
 * @nrx: fds in @rx[j].
 * @fds: every fd to close.
 * @nfds: entries in @fds.
 */
struct link {
	enum transport tr;
	int nconns, nrecvs;
	int tx[MAX_CONNS];
	int rx[MAX_RECVS][MAX_CONNS];
	int nrx[MAX_RECVS];
	int fds[4 * MAX_CONNS + MAX_RECVS + 4];
	int nfds;
};

bool link_supported(enum transport tr, int nconns, int nrecvs, bool tcp_tx);
int link_open(struct link *l, enum transport tr, int nconns, int nrecvs,
	      size_t size, bool tcp_tx);
void link_close(struct link *l);
int tcp_pair(int *a, int *b);
int tcp_listener(int *port);
int kcm_parser_prog(size_t size);
int mux_attach(enum transport tr, int mux, int tcp, int bpf);
int mux_clone(enum transport tr, int mux);
int kcm_socket(void);
const char *transport_unavailable(enum transport tr);

/* ---- runs (flow.c) ------------------------------------------------------- */

/** struct tput - one throughput run's outcome */
struct tput {
	u64 msgs;		/* received and checked */
	double secs;		/* from the start to the last message */
	double msgs_per_s;
	double mb_per_s;	/* payload bytes, 10^6 per MB */
};

/** struct lat - one ping-pong run's outcome, in microseconds */
struct lat {
	u64 rounds;
	double median_us;
	double p99_us;
};

int run_tput(enum transport tr, size_t size, enum api api, int nconns,
	     int nrecvs, bool tcp_tx, u64 count, struct tput *res, char *err,
	     size_t errlen);
int run_lat(enum transport tr, size_t size, u64 count, struct lat *res,
	    char *err, size_t errlen);

/* ---- memory (mem.c) ------------------------------------------------------ */

enum mem_kind { MEM_SOCKET, MEM_ENDPOINT, MEM_QUEUED, MEM_NR };

extern const char *const mem_kind_name[MEM_NR];

/** struct mem - bytes per unit (socket, endpoint or queued message) */
struct mem {
	double objects;		/* slab objects, /proc/slabinfo */
	double pages;		/* slab pages, /proc/meminfo Slab: */
};

int run_mem(enum transport tr, enum mem_kind kind, int n, struct mem *res,
	    char *err, size_t errlen);

/* ---- results and reports (report.c) -------------------------------------- */

enum kind { K_TPUT, K_LAT, K_MEM };

/**
 * struct result - one case on one transport, over all repetitions
 * @kind: throughput, latency or memory.
 * @config: the case without the transport ("64B send 1c/1r").
 * @tr: the transport.
 * @size: payload bytes (throughput, latency).
 * @api: send/recv or sendmmsg/recvmmsg (throughput).
 * @conns: connections (throughput).
 * @recvs: receiving sockets (throughput).
 * @mem: what is counted (memory).
 * @n: repetitions done.
 * @a: the main figure of each repetition: messages/s, median round trip
 *	(us), bytes of slab objects per unit.
 * @b: the second: MB/s, p99 round trip (us), bytes of slab pages per
 *	unit.
 * @na: not applicable to this transport, or not available.
 * @note: why, for @na.
 */
struct result {
	enum kind kind;
	char config[48];
	enum transport tr;
	size_t size;
	enum api api;
	int conns, recvs;
	enum mem_kind mem;
	int n;
	double a[MAX_REPS], b[MAX_REPS];
	bool na;
	char note[80];
};

struct result *result_new(void);
double median(const double *v, int n);
double min_of(const double *v, int n);
double max_of(const double *v, int n);
const struct result *result_find(enum kind kind, const char *config,
				 enum transport tr);
int report_write(const char *dir, double wall_secs);
void report_text(FILE *f, double wall_secs);

/* ---- helpers (main.c) ---------------------------------------------------- */

u64 now_ns(void);
void put_be32(void *p, u32 v);
u32 get_be32(const void *p);
const char *size_name(size_t size, char *buf, size_t len);
const char *si(double v, char *buf, size_t len);

#endif /* _MSGMUX_BENCH_H */
