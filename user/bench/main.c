// SPDX-License-Identifier: GPL-2.0
/*
 * msgmux-bench - msgmux against AF_KCM, AF_UNIX SOCK_SEQPACKET and TCP
 * with userspace framing: throughput, ping-pong latency and memory, on the
 * running kernel, all in one run.
 *
 *   msgmux-bench [--quick | --full] [--check-only] [--secs=S] [--reps=N]
 *                [--sizes=LIST] [--cases=PATTERNS] [--transports=LIST]
 *                [--batch=N] [--mem-n=N] [--kcm-parser=fixed|load-word]
 *                [--lat-split] [--inject=FAULT] [--out=DIR] [--list]
 *
 * Each case runs --reps times on every transport, the transports taking
 * turns, so that a machine that gets busier for a while slows them all.
 * A line per case and transport shows progress; at the end the tables
 * go to standard output and bench.txt, bench.csv and bench.json to DIR.
 *
 * Every message is checked (see flow.c).  Exit status: 0 if every
 * message of every run arrived intact, 1 if one was corrupt, missing or
 * duplicated or a run failed, 2 on a usage error.  --check-only runs each
 * case once with a fixed number of messages, prints TAP and no figures:
 * a correctness smoke test with no timing in it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

struct options opt = {
	.secs = 1.0,
	.reps = 5,
	.batch = 32,
	.transports = (1u << TR_NR) - 1,
	.out = ".",
	.kcm_parser = KCM_FIXED,
	.mem_n = 1024,
};

#define MAX_SIZES	16
#define MAX_CASES	512

static size_t sizes[MAX_SIZES] = { 0, 64, 1024, 16384, 65536 };
static int nsizes = 5;
static bool sizes_given;
static bool list_only;

/** struct bcase - one case of the plan, run on every transport */
struct bcase {
	enum kind kind;
	char id[48];		/* for --cases: "tput/64/send/1x1" */
	char config[48];	/* in the tables: "64B send 1c/1r" */
	size_t size;
	enum api api;
	int conns, recvs;
	bool tcp_tx;		/* receive-only: plain TCP senders */
	enum mem_kind mem;
};

static struct bcase plan[MAX_CASES];
static int nplan;

u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void put_be32(void *p, u32 v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

u32 get_be32(const void *p)
{
	u32 v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

const char *size_name(size_t size, char *buf, size_t len)
{
	if (size && !(size % 1024))
		snprintf(buf, len, "%zuKiB", size / 1024);
	else
		snprintf(buf, len, "%zuB", size);
	return buf;
}

/* 1234567 as "1.23M". */
const char *si(double v, char *buf, size_t len)
{
	if (v >= 1e6)
		snprintf(buf, len, "%.3gM", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, len, "%.3gk", v / 1e3);
	else
		snprintf(buf, len, "%.3g", v);
	return buf;
}

static void print_usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: msgmux-bench [options]\n"
		"  --quick            fewer cases (sizes 0, 64, 16KiB), 1 repetition of 0.25 s\n"
		"  --full             every size with every topology (default: 1c/1r for\n"
		"                     all sizes, 4c/1r, 1c/4r and 4c/4r for 64B and 16KiB),\n"
		"                     and receive-only (rx) cases for every size (default:\n"
		"                     64B and 16KiB)\n"
		"  --check-only       correctness only: a fixed number of messages per run,\n"
		"                     TAP output, no figures and no files\n"
		"  --secs=S           seconds per run (default 1)\n"
		"  --reps=N           repetitions of each case (default 5, at most %d)\n"
		"  --sizes=LIST       payload sizes, 0 or at least %d (default 0,64,1024,16384,65536)\n"
		"  --cases=PATTERNS   only cases whose id matches one of these comma-separated\n"
		"                     shell patterns, e.g. 'tput/64/*,lat/*' (see --list)\n"
		"  --transports=LIST  some of mmx-attach,mmx-connect,kcm,unix,tcp\n"
		"  --batch=N          sendmmsg()/recvmmsg() vector (default 32, at most %d)\n"
		"  --mem-n=N          sockets per memory run (default 1024)\n"
		"  --lat-split        ping-pong across CPUs 0 and 1 (default: both ends on 0)\n"
		"  --kcm-parser=P     fixed (default) or load-word, KCM's documented parser,\n"
		"                     which mis-frames coalesced messages\n"
		"  --inject=FAULT     test the checks: sender 0's 50th message is corrupt,\n"
		"                     dropped or duplicated (corrupt|drop|dup); exits 1\n"
		"  --out=DIR          where bench.txt, bench.csv, bench.json go (default .)\n"
		"  --list             print the case ids and exit\n",
		MAX_REPS, MSG_HDR_LEN, MAX_BATCH);
	exit(status);
}

static void parse_sizes(char *list)
{
	char *tok, *save = NULL;
	long v;

	nsizes = 0;
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		v = strtol(tok, NULL, 0);
		if (nsizes == MAX_SIZES || v < 0 || (v && v < MSG_HDR_LEN) ||
		    v > (1 << 20))
			print_usage(2);
		sizes[nsizes++] = v;
	}
	if (!nsizes)
		print_usage(2);
	sizes_given = true;
}

static void parse_transports(char *list)
{
	char *tok, *save = NULL;
	int t;

	opt.transports = 0;
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (t = 0; t < TR_NR; t++)
			if (!strcmp(tok, transports[t].name))
				break;
		if (t == TR_NR)
			print_usage(2);
		opt.transports |= 1u << t;
	}
}

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "full", no_argument, NULL, 'F' },
		{ "check-only", no_argument, NULL, 'C' },
		{ "secs", required_argument, NULL, 's' },
		{ "reps", required_argument, NULL, 'r' },
		{ "sizes", required_argument, NULL, 'S' },
		{ "cases", required_argument, NULL, 'c' },
		{ "transports", required_argument, NULL, 't' },
		{ "batch", required_argument, NULL, 'b' },
		{ "mem-n", required_argument, NULL, 'm' },
		{ "kcm-parser", required_argument, NULL, 'k' },
		{ "inject", required_argument, NULL, 'i' },
		{ "lat-split", no_argument, NULL, 'L' },
		{ "out", required_argument, NULL, 'o' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	bool secs = false, reps = false, memn = false;
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			opt.quick = true;
			break;
		case 'F':
			opt.full = true;
			break;
		case 'C':
			opt.check_only = true;
			break;
		case 's':
			opt.secs = strtod(optarg, NULL);
			if (opt.secs <= 0 || opt.secs > 60)
				print_usage(2);
			secs = true;
			break;
		case 'r':
			opt.reps = atoi(optarg);
			if (opt.reps < 1 || opt.reps > MAX_REPS)
				print_usage(2);
			reps = true;
			break;
		case 'S':
			parse_sizes(optarg);
			break;
		case 'c':
			opt.cases = optarg;
			break;
		case 't':
			parse_transports(optarg);
			break;
		case 'b':
			opt.batch = atoi(optarg);
			if (opt.batch < 1 || opt.batch > MAX_BATCH)
				print_usage(2);
			break;
		case 'm':
			opt.mem_n = atoi(optarg);
			if (opt.mem_n < 16 || opt.mem_n > 100000)
				print_usage(2);
			memn = true;
			break;
		case 'k':
			if (!strcmp(optarg, "fixed"))
				opt.kcm_parser = KCM_FIXED;
			else if (!strcmp(optarg, "load-word"))
				opt.kcm_parser = KCM_LOAD_WORD;
			else
				print_usage(2);
			break;
		case 'i':
			if (!strcmp(optarg, "corrupt"))
				opt.inject = INJ_CORRUPT;
			else if (!strcmp(optarg, "drop"))
				opt.inject = INJ_DROP;
			else if (!strcmp(optarg, "dup"))
				opt.inject = INJ_DUP;
			else
				print_usage(2);
			break;
		case 'L':
			opt.lat_split = true;
			break;
		case 'o':
			opt.out = optarg;
			break;
		case 'l':
			list_only = true;
			break;
		case 'h':
			print_usage(0);
			break;
		default:
			print_usage(2);
		}
	}
	if (optind < argc)
		print_usage(2);
	if (opt.quick) {
		if (!secs)
			opt.secs = 0.25;
		if (!reps)
			opt.reps = 1;
		if (!memn)
			opt.mem_n = 256;
		if (!sizes_given) {
			sizes[0] = 0;
			sizes[1] = 64;
			sizes[2] = 16384;
			nsizes = 3;
		}
	}
	if (opt.check_only)
		opt.reps = 1;
}

/* ---- the plan ------------------------------------------------------------ */

static bool wanted(const char *id)
{
	char buf[1024], *tok, *save = NULL;

	if (!opt.cases)
		return true;
	snprintf(buf, sizeof(buf), "%s", opt.cases);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save))
		if (!fnmatch(tok, id, 0))
			return true;
	return false;
}

static void plan_add(const struct bcase *c)
{
	if (!wanted(c->id) || nplan == MAX_CASES)
		return;
	plan[nplan++] = *c;
}

/*
 * Which topologies a size gets: 1c/1r always; 4c/1r, 1c/4r and 4c/4r for
 * 64 B and 16 KiB (--quick: 4c/4r for 64 B), or for every size (--full).
 */
static bool topology_wanted(size_t size, int conns, int recvs)
{
	if (conns == 1 && recvs == 1)
		return true;
	if (opt.full)
		return true;
	if (opt.quick)
		return size == 64 && conns == 4 && recvs == 4;
	return size == 64 || size == 16384;
}

/*
 * Receive-only cases: every transport's receiver fed by the same plain
 * TCP sender, for 64 B and 16 KiB (--full: every size), 1c/1r.
 */
static void plan_rx(void)
{
	struct bcase c;
	char sz[24];
	int s, a;

	for (s = 0; s < nsizes; s++) {
		if (!opt.full && sizes[s] != 64 && sizes[s] != 16384)
			continue;
		for (a = API_SEND; a <= API_MMSG; a++) {
			memset(&c, 0, sizeof(c));
			c.kind = K_TPUT;
			c.size = sizes[s];
			c.api = a;
			c.conns = 1;
			c.recvs = 1;
			c.tcp_tx = true;
			snprintf(c.id, sizeof(c.id), "rx/%zu/%s/1x1", c.size,
				 a == API_MMSG ? "mmsg" : "recv");
			snprintf(c.config, sizeof(c.config), "rx %s %s",
				 size_name(c.size, sz, sizeof(sz)),
				 a == API_MMSG ? "recvmmsg" : "recv");
			plan_add(&c);
		}
	}
}

static void plan_build(void)
{
	static const int topo[][2] = { { 1, 1 }, { 4, 1 }, { 1, 4 }, { 4, 4 } };
	struct bcase c;
	char sz[24];
	size_t t;
	int s, a;

	for (t = 0; t < ARRAY_SIZE(topo); t++) {
		if (t == 1)
			plan_rx();
		for (s = 0; s < nsizes; s++) {
			for (a = API_SEND; a <= API_MMSG; a++) {
				if (!topology_wanted(sizes[s], topo[t][0],
						     topo[t][1]))
					continue;
				memset(&c, 0, sizeof(c));
				c.kind = K_TPUT;
				c.size = sizes[s];
				c.api = a;
				c.conns = topo[t][0];
				c.recvs = topo[t][1];
				snprintf(c.id, sizeof(c.id), "tput/%zu/%s/%dx%d",
					 c.size, a == API_MMSG ? "mmsg" : "send",
					 c.conns, c.recvs);
				snprintf(c.config, sizeof(c.config),
					 "%s %s %dc/%dr",
					 size_name(c.size, sz, sizeof(sz)),
					 a == API_MMSG ? "mmsg" : "send",
					 c.conns, c.recvs);
				plan_add(&c);
			}
		}
	}
	memset(&c, 0, sizeof(c));
	c.kind = K_LAT;
	c.size = 64;
	snprintf(c.id, sizeof(c.id), "lat/64");
	snprintf(c.config, sizeof(c.config), "64B ping-pong");
	plan_add(&c);
	if (opt.check_only)
		return;
	for (a = 0; a < MEM_NR; a++) {
		static const char *const ids[MEM_NR] = {
			"mem/socket", "mem/endpoint", "mem/queued"
		};

		memset(&c, 0, sizeof(c));
		c.kind = K_MEM;
		c.mem = a;
		snprintf(c.id, sizeof(c.id), "%s", ids[a]);
		snprintf(c.config, sizeof(c.config), "%s", mem_kind_name[a]);
		plan_add(&c);
	}
}

/* ---- running it ---------------------------------------------------------- */

/* Messages per sender in --check-only: enough to fill the queues. */
static u64 check_count(size_t size)
{
	if (size <= 1024)
		return 600;
	return size <= 16384 ? 100 : 60;
}

static int run_one(const struct bcase *c, struct result *r, char *err,
		   size_t errlen)
{
	struct tput tp;
	struct lat lt;
	struct mem m;
	int ret;

	switch (c->kind) {
	case K_TPUT:
		ret = run_tput(r->tr, c->size, c->api, c->conns, c->recvs,
			       c->tcp_tx, opt.check_only ? check_count(c->size) : 0,
			       &tp, err, errlen);
		r->a[r->n] = tp.msgs_per_s;
		r->b[r->n] = tp.mb_per_s;
		break;
	case K_LAT:
		ret = run_lat(r->tr, c->size, opt.check_only ? 200 : 0, &lt,
			      err, errlen);
		r->a[r->n] = lt.median_us;
		r->b[r->n] = lt.p99_us;
		break;
	default:
		ret = run_mem(r->tr, c->mem, opt.mem_n, &m, err, errlen);
		r->a[r->n] = m.objects;
		r->b[r->n] = m.pages;
		break;
	}
	if (!ret)
		r->n++;
	return ret;
}

static void progress(int done, int total, const struct bcase *c,
		     const struct result *r)
{
	char a[48], b[48];

	printf("[%3d/%d] %-20s %-12s ", done, total, c->id,
	       transports[r->tr].name);
	if (r->na) {
		printf("%s\n", r->note);
	} else if (c->kind == K_TPUT) {
		si(median(r->a, r->n), a, sizeof(a));
		printf("%8s msgs/s %9.1f MB/s  [%s-", a,
		       median(r->b, r->n), si(min_of(r->a, r->n), b, sizeof(b)));
		printf("%s]\n", si(max_of(r->a, r->n), b, sizeof(b)));
	} else if (c->kind == K_LAT) {
		printf("median %.1f us  p99 %.1f us  [%.1f-%.1f]\n",
		       median(r->a, r->n), median(r->b, r->n),
		       min_of(r->a, r->n), max_of(r->a, r->n));
	} else {
		printf("objects %.0f B  slab pages %.0f B  [%.0f-%.0f]\n",
		       median(r->a, r->n), median(r->b, r->n),
		       min_of(r->a, r->n), max_of(r->a, r->n));
	}
	fflush(stdout);
}

static void raise_nofile(void)
{
	struct rlimit rl = { 65536, 65536 };

	if (setrlimit(RLIMIT_NOFILE, &rl) && !getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	const char *why[TR_NR];
	struct result *res[TR_NR];
	u64 t0 = now_ns();
	int i, t, rep, done = 0, total = 0, failed = 0;
	char err[512];

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv);
	plan_build();
	if (!nplan) {
		fprintf(stderr, "msgmux-bench: no case matches --cases=%s (see --list)\n",
			opt.cases);
		return 2;
	}
	if (list_only) {
		for (i = 0; i < nplan; i++)
			printf("%s\n", plan[i].id);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();

	for (t = 0; t < TR_NR; t++)
		why[t] = opt.transports & (1u << t) ?
			 transport_unavailable(t) : NULL;
	for (i = 0; i < nplan; i++)
		for (t = 0; t < TR_NR; t++)
			total += !!(opt.transports & (1u << t));
	if (opt.check_only)
		printf("TAP version 13\n1..%d\n", total);

	for (i = 0; i < nplan; i++) {
		const struct bcase *c = &plan[i];

		for (t = 0; t < TR_NR; t++) {
			struct result *r;

			res[t] = NULL;
			if (!(opt.transports & (1u << t)))
				continue;
			r = result_new();
			res[t] = r;
			r->kind = c->kind;
			r->tr = t;
			r->size = c->size;
			r->api = c->api;
			r->conns = c->conns;
			r->recvs = c->recvs;
			r->mem = c->mem;
			snprintf(r->config, sizeof(r->config), "%s", c->config);
			if (why[t]) {
				r->na = true;
				snprintf(r->note, sizeof(r->note),
					 "not available: %s", why[t]);
			} else if (c->kind == K_TPUT && c->tcp_tx && t == TR_UNIX) {
				r->na = true;
				snprintf(r->note, sizeof(r->note),
					 "n/a: its sender is not TCP");
			} else if (c->kind == K_TPUT &&
				   !link_supported(t, c->conns, c->recvs,
						   c->tcp_tx)) {
				r->na = true;
				snprintf(r->note, sizeof(r->note),
					 "n/a: %d threads cannot share one TCP stream",
					 c->recvs);
			}
		}
		for (rep = 0; rep < opt.reps; rep++) {
			for (t = 0; t < TR_NR; t++) {
				struct result *r = res[t];

				if (!r)
					continue;
				if (!r->na && run_one(c, r, err, sizeof(err))) {
					failed++;
					printf("%s%d %s %s: FAILED: %s\n",
					       opt.check_only ? "not ok " : "!! ",
					       done + 1, c->id,
					       transports[t].name, err);
					fprintf(stderr, "msgmux-bench: %s on %s: %s\n",
						c->id, transports[t].name, err);
					goto out;
				}
				if (rep < opt.reps - 1)
					continue;
				done++;
				if (!opt.check_only)
					progress(done, total, c, r);
				else if (r->na)
					printf("ok %d %s %s # SKIP %s\n", done,
					       c->id, transports[t].name,
					       r->note);
				else
					printf("ok %d %s %s\n", done, c->id,
					       transports[t].name);
			}
		}
	}
out:
	if (opt.check_only) {
		printf("# %d of %d runs checked, %s\n", done, total,
		       failed ? "a message was corrupt, missing or duplicated" :
		       "every message arrived intact");
		return failed ? 1 : 0;
	}
	printf("\n");
	report_text(stdout, (now_ns() - t0) / 1e9);
	if (report_write(opt.out, (now_ns() - t0) / 1e9))
		failed++;
	printf("\nmsgmux-bench: %d runs%s; results in %s/bench.{txt,csv,json}\n",
	       done * opt.reps, failed ? ", FAILED" :
	       ", every message arrived intact", opt.out);
	return failed ? 1 : 0;
}
