// SPDX-License-Identifier: GPL-2.0
/*
 * report.c - results, and the text, CSV and JSON reports.
 *
 * Every figure is the median of the repetitions, shown with its spread
 * (minimum and maximum), and as a ratio to the same case's median on TCP
 * with userspace framing and on AF_KCM.  The text report ends with the
 * targets of SPEC section 7 and whether this run meets them.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define MAX_RESULTS	2048

static struct result results[MAX_RESULTS];
static int nresults;

/* A new, zeroed result; the program has a fixed number of them. */
struct result *result_new(void)
{
	if (nresults == MAX_RESULTS) {
		fprintf(stderr, "msgmux-bench: more than %d results\n",
			MAX_RESULTS);
		exit(2);
	}
	memset(&results[nresults], 0, sizeof(results[0]));
	return &results[nresults++];
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double median(const double *v, int n)
{
	double s[MAX_REPS];

	if (n <= 0)
		return 0;
	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

double min_of(const double *v, int n)
{
	double m = n ? v[0] : 0;
	int i;

	for (i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

double max_of(const double *v, int n)
{
	double m = n ? v[0] : 0;
	int i;

	for (i = 1; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

const struct result *result_find(enum kind kind, const char *config,
				 enum transport tr)
{
	int i;

	for (i = 0; i < nresults; i++)
		if (results[i].kind == kind && results[i].tr == tr &&
		    !strcmp(results[i].config, config))
			return &results[i];
	return NULL;
}

/* @r's median over @peer's in the same case; 0 if there is none. */
static double ratio(const struct result *r, enum transport peer)
{
	const struct result *p = result_find(r->kind, r->config, peer);
	double d;

	if (r->na || !r->n || !p || p->na || !p->n)
		return 0;
	d = median(p->a, p->n);
	return d > 0 ? median(r->a, r->n) / d : 0;
}

static const char *fmt_ratio(double v, char *buf, size_t len)
{
	if (v <= 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.2f", v);
	return buf;
}

/* A figure and its spread: "123.4k [120.1k-125.0k]". */
static const char *fmt_spread(const double *v, int n, bool use_si, int prec,
			      char *buf, size_t len)
{
	char a[16], b[16], c[16];

	if (use_si) {
		si(median(v, n), a, sizeof(a));
		si(min_of(v, n), b, sizeof(b));
		si(max_of(v, n), c, sizeof(c));
	} else {
		snprintf(a, sizeof(a), "%.*f", prec, median(v, n));
		snprintf(b, sizeof(b), "%.*f", prec, min_of(v, n));
		snprintf(c, sizeof(c), "%.*f", prec, max_of(v, n));
	}
	if (n > 1)
		snprintf(buf, len, "%s [%s-%s]", a, b, c);
	else
		snprintf(buf, len, "%s", a);
	return buf;
}

static const char *const kind_title[] = {
	[K_TPUT] = "Throughput: messages received per second and payload MB/s (10^6 B),\n"
		   "from the start until the last message arrived; every message checked",
	[K_LAT] = "Ping-pong round trip (microseconds), one message in flight",
	[K_MEM] = "Kernel memory per unit (bytes): slab objects (/proc/slabinfo) and slab pages\n"
		  "(/proc/meminfo Slab:), change over N units divided by N",
};

static const char *const kind_cols[][2] = {
	[K_TPUT] = { "msgs/s [min-max]", "MB/s [min-max]" },
	[K_LAT] = { "median us [min-max]", "p99 us [min-max]" },
	[K_MEM] = { "objects B [min-max]", "slab pages B [min-max]" },
};

static void text_section(FILE *f, enum kind kind)
{
	char a[64], b[64], rt[16], rk[16];
	const char *prev = "";
	bool any = false;
	int i;

	for (i = 0; i < nresults; i++)
		any |= results[i].kind == kind;
	if (!any)
		return;
	fprintf(f, "\n%s\n", kind_title[kind]);
	if (kind == K_LAT)
		fprintf(f, "%s\n", opt.lat_split ?
			"(client on CPU 0, echoing side on CPU 1: --lat-split)" :
			"(both ends on CPU 0: the path's cost, not vCPU wake-up latency)");
	fputc('\n', f);
	fprintf(f, "%-18s %-12s %-30s %-26s %6s %6s\n", "case", "transport",
		kind_cols[kind][0], kind_cols[kind][1], "x tcp", "x kcm");
	for (i = 0; i < nresults; i++) {
		const struct result *r = &results[i];

		if (r->kind != kind)
			continue;
		if (strcmp(prev, r->config) && *prev)
			fputc('\n', f);
		prev = r->config;
		if (r->na) {
			fprintf(f, "%-18s %-12s %s\n", r->config,
				transports[r->tr].name, r->note);
			continue;
		}
		fmt_spread(r->a, r->n, kind == K_TPUT, kind == K_LAT ? 1 : 0,
			   a, sizeof(a));
		fmt_spread(r->b, r->n, false, kind == K_MEM ? 0 : 1, b,
			   sizeof(b));
		fprintf(f, "%-18s %-12s %-30s %-26s %6s %6s\n", r->config,
			transports[r->tr].name, a, b,
			fmt_ratio(ratio(r, TR_TCP), rt, sizeof(rt)),
			fmt_ratio(ratio(r, TR_KCM), rk, sizeof(rk)));
	}
}

/** struct target - one performance target of SPEC section 7 */
struct target {
	const char *what;
	enum kind kind;
	const char *config;
	enum transport peer;
	double limit;
	bool at_most;		/* the ratio must not exceed @limit */
};

static const struct target targets[] = {
	{ "64B recv vs kcm (rx: TCP sender)", K_TPUT, "rx 64B recv", TR_KCM,
	  1.5, false },
	{ "64B recv vs kcm (end to end, 1c/1r)", K_TPUT, "64B send 1c/1r",
	  TR_KCM, 1.5, false },
	{ "64B recvmmsg vs tcp (rx: TCP sender)", K_TPUT, "rx 64B recvmmsg",
	  TR_TCP, 1.0, false },
	{ "64B recvmmsg vs tcp (end to end, 1c/1r)", K_TPUT,
	  "64B mmsg 1c/1r", TR_TCP, 1.0, false },
	{ "16KiB recv vs tcp (rx: TCP sender)", K_TPUT, "rx 16KiB recv",
	  TR_TCP, 0.9, false },
	{ "16KiB vs tcp (end to end, send, 1c/1r)", K_TPUT,
	  "16KiB send 1c/1r", TR_TCP, 0.9, false },
	{ "16KiB vs tcp (end to end, mmsg, 1c/1r)", K_TPUT,
	  "16KiB mmsg 1c/1r", TR_TCP, 0.9, false },
	{ "64B ping-pong median vs tcp", K_LAT, "64B ping-pong", TR_TCP,
	  1.1, true },
	{ "memory per socket() vs kcm", K_MEM, "socket()", TR_KCM, 1.0,
	  true },
	{ "memory per idle endpoint vs kcm", K_MEM, "idle endpoint", TR_KCM,
	  1.0, true },
	{ "memory per queued 64B msg vs kcm", K_MEM, "queued 64B msg",
	  TR_KCM, 1.0, true },
};

/* The ratio of @t for msgmux transport @tr, or 0 if it was not measured. */
static double target_ratio(const struct target *t, enum transport tr)
{
	const struct result *r = result_find(t->kind, t->config, tr);

	return r ? ratio(r, t->peer) : 0;
}

/* Judged on the ratio as shown, to two decimals: 1.004 is 1.00. */
static const char *target_verdict(const struct target *t, double v)
{
	if (v <= 0)
		return "not measured";
	v = (double)(long)(v * 100 + 0.5) / 100;
	if (t->at_most ? v <= t->limit : v >= t->limit)
		return "met";
	return "NOT met";
}

static void text_targets(FILE *f)
{
	const enum transport mine[] = { TR_ATTACH, TR_CONNECT };
	char buf[16];
	size_t i, k;

	fprintf(f, "\nSPEC section 7 targets (msgmux median / peer median)\n\n");
	fprintf(f, "%-41s %-7s %-18s %-18s\n", "target", "limit",
		transports[TR_ATTACH].name, transports[TR_CONNECT].name);
	for (i = 0; i < ARRAY_SIZE(targets); i++) {
		const struct target *t = &targets[i];
		char cell[2][32];

		for (k = 0; k < ARRAY_SIZE(mine); k++) {
			double v = target_ratio(t, mine[k]);

			snprintf(cell[k], sizeof(cell[k]), "%s %s",
				 fmt_ratio(v, buf, sizeof(buf)),
				 target_verdict(t, v));
		}
		fprintf(f, "%-41s %s%-5.2f %-18s %-18s\n", t->what,
			t->at_most ? "<=" : ">=", t->limit, cell[0], cell[1]);
	}
}

static void text_header(FILE *f, double wall_secs)
{
	struct utsname u;
	char when[64];
	time_t now = time(NULL);
	int i;

	uname(&u);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
	fprintf(f, "msgmux-bench on Linux %s (%s), %ld CPUs, %s, %.0f s\n",
		u.release, u.machine, sysconf(_SC_NPROCESSORS_ONLN), when,
		wall_secs);
	fprintf(f, "%d repetition%s of %.2f s per case, interleaved over the transports;\n"
		"figures are medians [min-max]; x tcp, x kcm: this median over the same\n"
		"case's median on tcp and on kcm.  Cases: SIZE API Nc/Rr = payload size,\n"
		"send = send()/recv(), mmsg = sendmmsg()/recvmmsg() of %d (tcp: writev() of\n"
		"%d framed messages; its receiver always reads 256 KiB blocks), N\n"
		"connections (a sender thread each), R receiving sockets (a thread each).\n",
		opt.reps, opt.reps == 1 ? "" : "s", opt.secs, opt.batch,
		opt.batch);
	fprintf(f, "KCM's BPF parser: %s.\n\n",
		opt.kcm_parser == KCM_FIXED ?
		"returns the run's fixed message length (see transport.c)" :
		"load_word(skb, 0) + 4, as Documentation/networking/kcm.rst");
	for (i = 0; i < TR_NR; i++)
		fprintf(f, "  %-12s %s\n", transports[i].name,
			transports[i].what);
}

void report_text(FILE *f, double wall_secs)
{
	text_header(f, wall_secs);
	text_section(f, K_TPUT);
	text_section(f, K_LAT);
	text_section(f, K_MEM);
	text_targets(f);
}

static const char *const kind_key[] = {
	[K_TPUT] = "throughput", [K_LAT] = "latency", [K_MEM] = "memory",
};

static const char *const metric_key[][2] = {
	[K_TPUT] = { "msgs_per_s", "mb_per_s" },
	[K_LAT] = { "rtt_median_us", "rtt_p99_us" },
	[K_MEM] = { "slab_object_bytes", "slab_page_bytes" },
};

static void csv_values(FILE *f, const double *v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		fprintf(f, "%s%.6g", i ? ";" : "", v[i]);
}

static void report_csv(FILE *f)
{
	int i, m;

	fprintf(f, "kind,case,transport,metric,median,min,max,reps,ratio_tcp,ratio_kcm,values\n");
	for (i = 0; i < nresults; i++) {
		const struct result *r = &results[i];

		if (r->na)
			continue;
		for (m = 0; m < 2; m++) {
			const double *v = m ? r->b : r->a;

			fprintf(f, "%s,%s,%s,%s,%.6g,%.6g,%.6g,%d,",
				kind_key[r->kind], r->config,
				transports[r->tr].name, metric_key[r->kind][m],
				median(v, r->n), min_of(v, r->n),
				max_of(v, r->n), r->n);
			if (m)
				fprintf(f, ",,");
			else
				fprintf(f, "%.4g,%.4g,", ratio(r, TR_TCP),
					ratio(r, TR_KCM));
			csv_values(f, v, r->n);
			fputc('\n', f);
		}
	}
}

static void json_metric(FILE *f, const char *key, const double *v, int n)
{
	int i;

	fprintf(f, "\"%s\": {\"median\": %.6g, \"min\": %.6g, \"max\": %.6g, \"values\": [",
		key, median(v, n), min_of(v, n), max_of(v, n));
	for (i = 0; i < n; i++)
		fprintf(f, "%s%.6g", i ? ", " : "", v[i]);
	fprintf(f, "]}");
}

static void report_json(FILE *f, double wall_secs)
{
	const enum transport mine[] = { TR_ATTACH, TR_CONNECT };
	struct utsname u;
	size_t t, k;
	int i;

	uname(&u);
	fprintf(f, "{\n  \"kernel\": \"%s\", \"cpus\": %ld, \"reps\": %d, \"secs\": %.3g,\n",
		u.release, sysconf(_SC_NPROCESSORS_ONLN), opt.reps, opt.secs);
	fprintf(f, "  \"batch\": %d, \"kcm_parser\": \"%s\", \"wall_secs\": %.0f,\n",
		opt.batch, opt.kcm_parser == KCM_FIXED ? "fixed" : "load-word",
		wall_secs);
	fprintf(f, "  \"results\": [");
	for (i = 0; i < nresults; i++) {
		const struct result *r = &results[i];

		fprintf(f, "%s\n    {\"kind\": \"%s\", \"case\": \"%s\", \"transport\": \"%s\"",
			i ? "," : "", kind_key[r->kind], r->config,
			transports[r->tr].name);
		if (r->kind == K_TPUT)
			fprintf(f, ", \"size\": %zu, \"api\": \"%s\", \"conns\": %d, \"recvs\": %d",
				r->size, r->api == API_MMSG ? "mmsg" : "send",
				r->conns, r->recvs);
		if (r->na) {
			fprintf(f, ", \"na\": \"%s\"}", r->note);
			continue;
		}
		fprintf(f, ", ");
		json_metric(f, metric_key[r->kind][0], r->a, r->n);
		fprintf(f, ", ");
		json_metric(f, metric_key[r->kind][1], r->b, r->n);
		fprintf(f, ", \"ratio_tcp\": %.4g, \"ratio_kcm\": %.4g}",
			ratio(r, TR_TCP), ratio(r, TR_KCM));
	}
	fprintf(f, "\n  ],\n  \"targets\": [");
	for (t = 0; t < ARRAY_SIZE(targets); t++) {
		fprintf(f, "%s\n    {\"target\": \"%s\", \"case\": \"%s\", ",
			t ? "," : "", targets[t].what, targets[t].config);
		fprintf(f, "\"peer\": \"%s\", \"limit\": %.2g, \"at_most\": %s",
			transports[targets[t].peer].name, targets[t].limit,
			targets[t].at_most ? "true" : "false");
		for (k = 0; k < ARRAY_SIZE(mine); k++) {
			double v = target_ratio(&targets[t], mine[k]);

			fprintf(f, ", \"%s\": {\"ratio\": %.4g, \"verdict\": \"%s\"}",
				transports[mine[k]].name, v,
				target_verdict(&targets[t], v));
		}
		fprintf(f, "}");
	}
	fprintf(f, "\n  ]\n}\n");
}

static int write_one(const char *dir, const char *name, int what,
		     double wall_secs)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f) {
		perror(path);
		return -1;
	}
	if (what == 0)
		report_text(f, wall_secs);
	else if (what == 1)
		report_csv(f);
	else
		report_json(f, wall_secs);
	return fclose(f);
}

/* bench.txt, bench.csv and bench.json in @dir. */
int report_write(const char *dir, double wall_secs)
{
	return write_one(dir, "bench.txt", 0, wall_secs) |
	       write_one(dir, "bench.csv", 1, wall_secs) |
	       write_one(dir, "bench.json", 2, wall_secs);
}
