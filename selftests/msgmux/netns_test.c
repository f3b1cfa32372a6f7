// SPDX-License-Identifier: GPL-2.0
/*
 * netns_test - msgmux servers and clients in two network namespaces
 * joined by a veth pair whose both ends delay, lose, duplicate and reorder
 * packets (tc netem), over IPv4 and IPv6.
 *
 * The server namespace runs a SOCK_SEQPACKET listener that accept()s each
 * client, or a SOCK_DGRAM listener whose mux takes the connections in
 * itself and spreads their messages over the listener and two sockets
 * cloned with SIOCMSGMUXCLONE.  The clients, in the other namespace,
 * connect() and send numbered, checksummed messages; the server checks
 * each and echoes it with sendto() to the address recvfrom() gave, and
 * each client checks its echoes.  Nothing may be lost, damaged, duplicated
 * or reordered within a connection (within a connection and a receiving
 * socket, when a mux spreads a connection's messages over several).
 *
 * Needs the host's ip and tc (the VM's /hostbin), veth and sch_netem.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"
#include "libmsgmux.h"
#include "host.h"
#include "util.h"

/* Namespace 0 is the server's, 1 the clients'. */
static const char *const addr4[2] = { "10.77.0.1", "10.77.0.2" };
static const char *const addr6[2] = { "fd77::1", "fd77::2" };
/* Modest: the VM is emulated, and TCP must still get through. */
#define NETEM	"delay 10ms 5ms loss 2% duplicate 2% reorder 10%"

#define NCLIENTS	4
#define NMSGS		60	/* per client */
#define MAX_PAYLOAD	6000
#define WINDOW		8	/* messages a client has in flight */
#define NWORKERS	3	/* a SOCK_DGRAM listener and 2 clones */
#define MAX_CONNS	16
#define TIMEOUT_S	30	/* for anything that should happen */

/* ---- messages -------------------------------------------------------- */

#define NMSG_MAGIC	0x6e6d7367	/* "nmsg" */
#define NO_WORKER	0xffff

/**
 * struct nmsg - a test message
 * @magic: %NMSG_MAGIC.
 * @client: the client that sent it.
 * @worker: %NO_WORKER as sent; the SOCK_DGRAM server's echo says which
 *	of its sockets received it.  Not in @sum.
 * @seq: the client's sequence number, from 0.
 * @len: bytes of payload after the header.
 * @sum: FNV-1a of the header without @worker and @sum, then the payload.
 * @payload: fill_pattern() of (@client << 16 | @seq).
 */
struct nmsg {
	uint32_t magic;
	uint16_t client;
	uint16_t worker;
	uint32_t seq;
	uint32_t len;
	uint32_t sum;
	uint8_t payload[];
};

#define MSG_CAP		(sizeof(struct nmsg) + MAX_PAYLOAD + 64)

static uint32_t fnv1a(uint32_t h, const void *p, size_t len)
{
	const uint8_t *b = p;

	while (len--) {
		h ^= *b++;
		h *= 16777619U;
	}
	return h;
}

static uint32_t nmsg_sum(const struct nmsg *m)
{
	uint32_t h = 2166136261U;

	h = fnv1a(h, &m->magic, sizeof(m->magic));
	h = fnv1a(h, &m->client, sizeof(m->client));
	h = fnv1a(h, &m->seq, sizeof(m->seq));
	h = fnv1a(h, &m->len, sizeof(m->len));
	return fnv1a(h, m->payload, m->len);
}

/* Sizes from 0 to MAX_PAYLOAD, different for every client and message. */
static uint32_t payload_len(unsigned int client, uint32_t seq)
{
	uint32_t h = fnv1a(2166136261U, &seq, sizeof(seq));

	h = fnv1a(h, &client, sizeof(client));
	if (h % 8 == 0)
		return h % 16;
	return h % (MAX_PAYLOAD + 1);
}

/* Build message @seq of @client in @m; returns its size. */
static size_t nmsg_make(struct nmsg *m, unsigned int client, uint32_t seq)
{
	m->magic = NMSG_MAGIC;
	m->client = client;
	m->worker = NO_WORKER;
	m->seq = seq;
	m->len = payload_len(client, seq);
	fill_pattern(m->payload, m->len, client << 16 | seq);
	m->sum = nmsg_sum(m);
	return sizeof(*m) + m->len;
}

/*
 * Check a message of @n bytes; NULL if it is one nmsg_make() made, else
 * what is wrong.
 */
static const char *nmsg_check(const struct nmsg *m, ssize_t n)
{
	static __thread uint8_t want[MAX_PAYLOAD];

	if (n < (ssize_t)sizeof(*m))
		return "shorter than a header";
	if (m->magic != NMSG_MAGIC)
		return "bad magic";
	if (m->len != n - sizeof(*m))
		return "length does not match the header";
	if (m->len != payload_len(m->client, m->seq))
		return "not the length this message has";
	if (m->sum != nmsg_sum(m))
		return "bad checksum";
	fill_pattern(want, m->len, m->client << 16 | m->seq);
	if (memcmp(want, m->payload, m->len))
		return "payload differs";
	return NULL;
}

/* ---- addresses ------------------------------------------------------- */

/* The address of namespace @ns (0 or 1) in @family, with @port. */
static socklen_t ns_addr(int family, int ns, int port,
			 struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		inet_pton(AF_INET6, addr6[ns], &sin6->sin6_addr);
		return sizeof(*sin6);
	}
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	inet_pton(AF_INET, addr4[ns], &sin->sin_addr);
	return sizeof(*sin);
}

/* True if @sa is namespace @ns's address in @family (any port). */
static bool is_ns_addr(int family, int ns, const void *sa)
{
	const struct sockaddr_in *sin = sa;
	const struct sockaddr_in6 *sin6 = sa;
	struct sockaddr_storage want;

	ns_addr(family, ns, 0, &want);
	if (sin->sin_family != family)
		return false;
	if (family == AF_INET6)
		return !memcmp(&sin6->sin6_addr,
			       &((struct sockaddr_in6 *)&want)->sin6_addr,
			       sizeof(sin6->sin6_addr));
	return sin->sin_addr.s_addr ==
	       ((struct sockaddr_in *)&want)->sin_addr.s_addr;
}

static int set_rcvtimeo(int fd, int secs)
{
	struct timeval tv = { .tv_sec = secs };

	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* Threads report what went wrong in a buffer; the test asserts on it. */
#define ERR_LEN		256
#define fail(err, ...)	snprintf(err, ERR_LEN, __VA_ARGS__)

/* ---- clients --------------------------------------------------------- */

/** struct client - a client thread, in the clients' namespace */
struct client {
	pthread_t thread;
	unsigned int id;
	int nsfd;
	int family;
	int type;		/* SOCK_SEQPACKET or SOCK_DGRAM */
	int nconnect;		/* SOCK_DGRAM: connect() this many times */
	struct sockaddr_storage srv;
	socklen_t srv_len;
	bool in_order;		/* echoes come back in order */
	bool shut_wr;		/* shutdown(SHUT_WR) at the end; EOF */
	bool no_echo;		/* send everything, close at once */
	char err[ERR_LEN];
};

/* The last sequence number seen per (connection, server socket). */
struct order {
	uint32_t conn;
	uint16_t worker;
	uint32_t last;
};

static bool in_order(struct order *o, int *n, uint32_t conn, uint16_t worker,
		     uint32_t seq)
{
	int i;

	for (i = 0; i < *n; i++) {
		if (o[i].conn == conn && o[i].worker == worker) {
			if (seq <= o[i].last)
				return false;
			o[i].last = seq;
			return true;
		}
	}
	if (*n < MAX_CONNS * NWORKERS)
		o[(*n)++] = (struct order){ conn, worker, seq };
	return true;
}

static void client_run(struct client *c, int fd, struct nmsg *m)
{
	struct order order[MAX_CONNS * NWORKERS];
	struct sockaddr_storage ss;
	struct sockaddr_msgmux from;
	bool seen[NMSGS] = { false };
	uint32_t sent = 0, got = 0;
	int norder = 0, i;
	socklen_t len;
	ssize_t n;
	const char *bad;

	for (i = 0; i < c->nconnect; i++) {
		if (connect(fd, (struct sockaddr *)&c->srv, c->srv_len)) {
			fail(c->err, "connect %d: %s", i, strerror(errno));
			return;
		}
	}
	if (c->type == SOCK_SEQPACKET) {
		len = sizeof(ss);
		if (getpeername(fd, (struct sockaddr *)&ss, &len) ||
		    !is_ns_addr(c->family, 0, &ss) ||
		    sockaddr_port(&ss) != sockaddr_port(&c->srv)) {
			fail(c->err, "getpeername: not the server (%s)",
			     strerror(errno));
			return;
		}
		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) ||
		    !is_ns_addr(c->family, 1, &ss) || !sockaddr_port(&ss)) {
			fail(c->err, "getsockname: not the client (%s)",
			     strerror(errno));
			return;
		}
	}

	while (got < NMSGS) {
		while (sent < NMSGS && (c->no_echo || sent - got < WINDOW)) {
			size_t sz = nmsg_make(m, c->id, sent);

			n = send(fd, m, sz, MSG_NOSIGNAL);
			if (n != (ssize_t)sz) {
				fail(c->err, "send %u: %zd (%s)", sent, n,
				     strerror(errno));
				return;
			}
			sent++;
		}
		if (c->no_echo)
			return;
		len = sizeof(from);
		n = recvfrom(fd, m, MSG_CAP, 0, (struct sockaddr *)&from,
			     &len);
		if (n <= 0) {
			fail(c->err, "echo %u of %d: recv %zd (%s)", got,
			     NMSGS, n, n ? strerror(errno) : "EOF");
			return;
		}
		bad = nmsg_check(m, n);
		if (bad) {
			fail(c->err, "echo %u: %s", got, bad);
			return;
		}
		if (m->client != c->id || m->seq >= sent || seen[m->seq]) {
			fail(c->err, "echo %u: client %u seq %u: not expected",
			     got, m->client, m->seq);
			return;
		}
		if (from.smm_family != msgmux_family() || !from.smm_conn_id ||
		    !is_ns_addr(c->family, 0, &from.smm_peer_in)) {
			fail(c->err, "echo %u: bad address", got);
			return;
		}
		if (c->in_order ? m->seq != got :
		    !in_order(order, &norder, from.smm_conn_id, m->worker,
			      m->seq)) {
			fail(c->err, "echo of %u out of order (echo %u)",
			     m->seq, got);
			return;
		}
		seen[m->seq] = true;
		got++;
	}
	/*
	 * The server sees EOF once it has every message, and closes: EOF
	 * here too.  (Not before the last echo: a msgmux connection whose
	 * peer sent its FIN can send no more.)
	 */
	if (c->shut_wr) {
		if (shutdown(fd, SHUT_WR)) {
			fail(c->err, "shutdown: %s", strerror(errno));
			return;
		}
		n = recv(fd, m, MSG_CAP, 0);
		if (n)
			fail(c->err, "after the last echo: recv %zd (%s)", n,
			     n < 0 ? strerror(errno) : "data");
	}
}

static void *client_thread(void *arg)
{
	struct client *c = arg;
	struct nmsg *m = malloc(MSG_CAP);
	int fd = -1, err;

	if (!m) {
		fail(c->err, "out of memory");
		return NULL;
	}
	err = netns_enter(c->nsfd);
	if (err)
		fail(c->err, "setns: %s", strerror(-err));
	else
		fd = msgmux_socket(c->type);
	if (!err && fd < 0)
		fail(c->err, "socket: %s", strerror(errno));
	else if (!err && set_rcvtimeo(fd, TIMEOUT_S))
		fail(c->err, "SO_RCVTIMEO: %s", strerror(errno));
	else if (!err)
		client_run(c, fd, m);
	if (fd >= 0)
		close(fd);
	free(m);
	return NULL;
}

/* ---- servers --------------------------------------------------------- */

/**
 * struct server - a server thread: the echo of an accepted SOCK_SEQPACKET
 * socket, or a socket of a SOCK_DGRAM listener's mux.
 */
struct server {
	pthread_t thread;
	int fd;
	int family;
	uint16_t worker;	/* SOCK_DGRAM: which of the mux's sockets */
	int *stop;		/* SOCK_DGRAM: set when clients are done */
	bool no_echo;		/* receive only */
	int (*seen)[NMSGS];	/* per client and message: times received */
	int msgs;
	uint32_t conns[MAX_CONNS];	/* the connections it heard from */
	unsigned int conn_client[MAX_CONNS];	/* and their clients */
	int nconns;
	char err[ERR_LEN];
};

/*
 * One message received at the server: check it, and where it came from
 * (a connection of one client, from the clients' address, in order), then
 * echo it there.  Returns false, with s->err set, if anything is wrong.
 */
static bool server_echo(struct server *s, struct nmsg *m, ssize_t n,
			struct sockaddr_msgmux *from, socklen_t from_len,
			struct order *order, int *norder)
{
	const char *bad = nmsg_check(m, n);
	int i;

	if (bad) {
		fail(s->err, "message %d: %s", s->msgs, bad);
		return false;
	}
	if (m->client >= NCLIENTS || m->seq >= NMSGS) {
		fail(s->err, "message from client %u seq %u", m->client,
		     m->seq);
		return false;
	}
	if (from_len != sizeof(*from) ||
	    from->smm_family != msgmux_family() || !from->smm_conn_id ||
	    !is_ns_addr(s->family, 1, &from->smm_peer_in)) {
		fail(s->err, "client %u seq %u: bad address", m->client,
		     m->seq);
		return false;
	}
	/* A connection carries one client; its messages keep their order. */
	for (i = 0; i < s->nconns && s->conns[i] != from->smm_conn_id; i++)
		;
	if (i == s->nconns && s->nconns < MAX_CONNS) {
		s->conns[i] = from->smm_conn_id;
		s->conn_client[i] = m->client;
		s->nconns++;
	}
	if (i < s->nconns && s->conn_client[i] != m->client) {
		fail(s->err, "connection %u carries clients %u and %u",
		     from->smm_conn_id, s->conn_client[i], m->client);
		return false;
	}
	if (!in_order(order, norder, from->smm_conn_id, 0, m->seq)) {
		fail(s->err, "client %u seq %u: out of order", m->client,
		     m->seq);
		return false;
	}
	__atomic_fetch_add(&s->seen[m->client][m->seq], 1, __ATOMIC_RELAXED);
	s->msgs++;
	if (s->no_echo)
		return true;

	m->worker = s->worker;
	n = sendto(s->fd, m, n, MSG_NOSIGNAL, (struct sockaddr *)from,
		   from_len);
	if (n != (ssize_t)(sizeof(*m) + m->len)) {
		fail(s->err, "echo of client %u seq %u: sendto %zd (%s)",
		     m->client, m->seq, n, strerror(errno));
		return false;
	}
	return true;
}

/* Echo an accepted SOCK_SEQPACKET socket's messages until its EOF. */
static void *seqpacket_echo_thread(void *arg)
{
	struct order order[MAX_CONNS * NWORKERS];
	struct server *s = arg;
	struct sockaddr_msgmux from;
	struct nmsg *m = malloc(MSG_CAP);
	int norder = 0;
	socklen_t len;
	ssize_t n;

	if (!m) {
		fail(s->err, "out of memory");
		return NULL;
	}
	for (;;) {
		len = sizeof(from);
		n = recvfrom(s->fd, m, MSG_CAP, 0, (struct sockaddr *)&from,
			     &len);
		if (!n)
			break;
		if (n < 0) {
			fail(s->err, "recv after %d messages: %s", s->msgs,
			     strerror(errno));
			break;
		}
		if (!server_echo(s, m, n, &from, len, order, &norder))
			break;
	}
	if (!s->err[0] && s->msgs != NMSGS)
		fail(s->err, "EOF after %d messages of %d", s->msgs, NMSGS);
	close(s->fd);
	s->fd = -1;
	free(m);
	return NULL;
}

/*
 * Echo what one socket of a SOCK_DGRAM listener's mux receives until
 * *stop.  A connection that leaves service says so on the error queue;
 * only a clean close is expected.
 */
static void *dgram_worker_thread(void *arg)
{
	struct order order[MAX_CONNS * NWORKERS];
	struct server *s = arg;
	struct sockaddr_msgmux from;
	struct msgmux_conn_error ce;
	struct nmsg *m = malloc(MSG_CAP);
	int norder = 0, ev;
	socklen_t len;
	ssize_t n;

	if (!m) {
		fail(s->err, "out of memory");
		return NULL;
	}
	while (!__atomic_load_n(s->stop, __ATOMIC_ACQUIRE)) {
		ev = poll_events(s->fd, POLLIN, 100);
		if (ev & POLLERR) {
			struct iovec iov = { &ce, sizeof(ce) };
			struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

			n = recvmsg(s->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT);
			if (n == sizeof(ce) &&
			    ce.reason != MSGMUX_CONN_CLOSED) {
				fail(s->err,
				     "connection %u failed: reason %u error %d",
				     ce.conn_id, ce.reason, ce.error);
				break;
			}
			if (n < 0)	/* POLLERR without a notification */
				usleep(10 * 1000);
		}
		if (!(ev & POLLIN))
			continue;
		len = sizeof(from);
		n = recvfrom(s->fd, m, MSG_CAP, MSG_DONTWAIT,
			     (struct sockaddr *)&from, &len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			fail(s->err, "recv after %d messages: %s", s->msgs,
			     strerror(errno));
			break;
		}
		if (!server_echo(s, m, n, &from, len, order, &norder))
			break;
	}
	free(m);
	return NULL;
}

/* ---- the topology ---------------------------------------------------- */

/*
 * The namespaces, made once for the whole binary: each ip or tc takes a
 * while to start in the emulated VM, and every test can share them (both
 * families are configured; ports are ephemeral).  A test whose fixture
 * finds them missing fails.
 */
static struct {
	char ns[2][32];
	bool made;
	int err;
	pid_t owner;
} topo = { .err = -1 };

/*
 * Two namespaces, a veth pair between them (mmx0 in the server's, mmx1
 * in the clients'), both addresses of each end, and netem on both ends,
 * each made with one batch.  Returns 0, or -1 on the first failure.
 */
static int topology_up(void)
{
	char cmds[512];
	int i;

	for (i = 0; i < 2; i++)
		snprintf(topo.ns[i], sizeof(topo.ns[i]), "mmx%d%c",
			 (int)getpid(), 'a' + i);
	snprintf(cmds, sizeof(cmds),
		 "netns add %s\n"
		 "netns add %s\n"
		 "link add mmx0 netns %s type veth peer name mmx1 netns %s\n",
		 topo.ns[0], topo.ns[1], topo.ns[0], topo.ns[1]);
	topo.made = true;
	if (run_batch("ip", NULL, cmds))
		return -1;
	for (i = 0; i < 2; i++) {
		snprintf(cmds, sizeof(cmds),
			 "link set lo up\n"
			 "addr add %s/24 dev mmx%d\n"
			 "addr add %s/64 dev mmx%d nodad\n"
			 "link set mmx%d up\n",
			 addr4[i], i, addr6[i], i, i);
		if (run_batch("ip", topo.ns[i], cmds))
			return -1;
		snprintf(cmds, sizeof(cmds),
			 "qdisc add dev mmx%d root netem %s\n", i, NETEM);
		if (run_batch("tc", topo.ns[i], cmds))
			return -1;
	}
	return 0;
}

/* What netem did (packets dropped, reordered...), for the log. */
static void netem_stats(void)
{
	char dev[8];
	int i;

	for (i = 0; i < 2; i++) {
		snprintf(dev, sizeof(dev), "mmx%d", i);
		fprintf(stderr, "# netem on %s, all tests: ", dev);
		run_tool("tc", "-n", topo.ns[i], "-s", "qdisc", "show", "dev",
			 dev, NULL);
	}
}

static void topology_down(void)
{
	char cmds[128];

	if (!topo.made || topo.owner != getpid())
		return;
	if (!topo.err)
		netem_stats();
	snprintf(cmds, sizeof(cmds), "netns del %s\nnetns del %s\n",
		 topo.ns[0], topo.ns[1]);
	run_batch("ip", NULL, cmds);
	topo.made = false;
}

/* Before the harness runs any test; undone when the binary exits. */
static void __attribute__((constructor)) topology_init(void)
{
	topo.owner = getpid();
	if (!host_tool("ip") || !host_tool("tc"))
		return;
	topo.err = topology_up();
	if (topo.err)
		topology_down();
	else
		atexit(topology_down);
}

FIXTURE(netns)
{
	int nsfd[2];
	int seen[NCLIENTS][NMSGS];
	struct client clients[NCLIENTS];
};

FIXTURE_VARIANT(netns)
{
	int family;
};

FIXTURE_VARIANT_ADD(netns, ipv4)
{
	.family = AF_INET,
};

FIXTURE_VARIANT_ADD(netns, ipv6)
{
	.family = AF_INET6,
};

FIXTURE_SETUP(netns)
{
	int i;

	memset(self, 0, sizeof(*self));
	self->nsfd[0] = self->nsfd[1] = -1;
	ASSERT_EQ(0, topo.err) TH_LOG("no namespaces: see the messages above");
	for (i = 0; i < 2; i++) {
		self->nsfd[i] = netns_open(topo.ns[i]);
		ASSERT_LE(0, self->nsfd[i]) TH_LOG("netns %s: %s", topo.ns[i],
						   strerror(errno));
	}
	/* This thread is the server: it lives in namespace 0. */
	ASSERT_EQ(0, netns_enter(self->nsfd[0]));
}

FIXTURE_TEARDOWN(netns)
{
	close(self->nsfd[0]);
	close(self->nsfd[1]);
}

/*
 * Start NCLIENTS clients of @srv, like @tmpl; with @dgram_too, the last
 * two are SOCK_DGRAM sockets, one with one connection and one with two.
 */
static void start_clients(struct __test_metadata *_metadata,
			  FIXTURE_DATA(netns) *self, int family,
			  const struct sockaddr_storage *srv, socklen_t len,
			  const struct client *tmpl, bool dgram_too)
{
	int i;

	for (i = 0; i < NCLIENTS; i++) {
		struct client *c = &self->clients[i];

		*c = *tmpl;
		c->id = i;
		c->nsfd = self->nsfd[1];
		c->family = family;
		c->type = SOCK_SEQPACKET;
		c->nconnect = 1;
		c->srv = *srv;
		c->srv_len = len;
		if (dgram_too && i >= NCLIENTS - 2) {
			c->type = SOCK_DGRAM;
			c->nconnect = i - (NCLIENTS - 2) + 1;
		}
		ASSERT_EQ(0, pthread_create(&c->thread, NULL, client_thread,
					    c));
	}
}

static void join_clients(struct __test_metadata *_metadata,
			 FIXTURE_DATA(netns) *self)
{
	int i;

	for (i = 0; i < NCLIENTS; i++) {
		ASSERT_EQ(0, pthread_join(self->clients[i].thread, NULL));
		EXPECT_STREQ("", self->clients[i].err)
			TH_LOG("client %d (%s)", i,
			       self->clients[i].type == SOCK_DGRAM ?
			       "SOCK_DGRAM" : "SOCK_SEQPACKET");
	}
}

/* The server received each message of each client exactly once. */
static void check_seen(struct __test_metadata *_metadata,
		       FIXTURE_DATA(netns) *self)
{
	int i, j, bad, first;

	for (i = 0; i < NCLIENTS; i++) {
		bad = 0;
		first = -1;
		for (j = 0; j < NMSGS; j++) {
			if (self->seen[i][j] != 1) {
				bad++;
				if (first < 0)
					first = j;
			}
		}
		EXPECT_EQ(0, bad)
			TH_LOG("client %d: %d not once, the first %d (%dx)",
			       i, bad, first, self->seen[i][first]);
	}
}

/* A msgmux listener of @type on the server's address; its port. */
static int server_listen(struct __test_metadata *_metadata, int family,
			 int type, int *lfd)
{
	struct sockaddr_storage ss;
	socklen_t len = ns_addr(family, 0, 0, &ss);

	*lfd = msgmux_socket(type);
	ASSERT_LE(0, *lfd);
	ASSERT_EQ(0, bind(*lfd, (struct sockaddr *)&ss, len))
		TH_LOG("bind: %s", strerror(errno));
	ASSERT_EQ(0, listen(*lfd, NCLIENTS * 2))
		TH_LOG("listen: %s", strerror(errno));
	len = sizeof(ss);
	ASSERT_EQ(0, getsockname(*lfd, (struct sockaddr *)&ss, &len));
	ASSERT_TRUE(is_ns_addr(family, 0, &ss));
	ASSERT_NE(0, sockaddr_port(&ss));
	return sockaddr_port(&ss);
}

/*
 * A SOCK_SEQPACKET listener accept()s each client (@tmpl) and receives
 * its messages, echoing them unless @no_echo, until its EOF.
 */
static void seqpacket_server(struct __test_metadata *_metadata,
			     FIXTURE_DATA(netns) *self, int family,
			     const struct client *tmpl, bool no_echo)
{
	struct server srv[NCLIENTS];
	bool started[NCLIENTS] = { false };
	struct sockaddr_storage ss, peer, local;
	socklen_t len, plen;
	int lfd, port, i, aborted = 0;

	port = server_listen(_metadata, family, SOCK_SEQPACKET, &lfd);
	len = ns_addr(family, 0, port, &ss);
	ASSERT_EQ(0, set_rcvtimeo(lfd, TIMEOUT_S));
	start_clients(_metadata, self, family, &ss, len, tmpl, false);

	for (i = 0; i < NCLIENTS; i++) {
		plen = sizeof(peer);
		srv[i] = (struct server){
			.family = family, .seen = self->seen,
			.worker = NO_WORKER, .no_echo = no_echo,
		};
		srv[i].fd = accept(lfd, (struct sockaddr *)&peer, &plen);
		/* Reset while it waited: the client's messages are lost. */
		if (srv[i].fd < 0 && errno == ECONNABORTED) {
			aborted++;
			continue;
		}
		ASSERT_LE(0, srv[i].fd) TH_LOG("accept %d: %s", i,
					       strerror(errno));
		EXPECT_TRUE(is_ns_addr(family, 1, &peer));
		plen = sizeof(local);
		EXPECT_EQ(0, getsockname(srv[i].fd, (struct sockaddr *)&local,
					 &plen));
		EXPECT_TRUE(is_ns_addr(family, 0, &local));
		EXPECT_EQ(port, sockaddr_port(&local));
		ASSERT_EQ(0, pthread_create(&srv[i].thread, NULL,
					    seqpacket_echo_thread, &srv[i]));
		started[i] = true;
	}
	join_clients(_metadata, self);
	EXPECT_EQ(0, aborted) TH_LOG("connections reset before accept()");
	for (i = 0; i < NCLIENTS; i++) {
		if (!started[i])
			continue;
		ASSERT_EQ(0, pthread_join(srv[i].thread, NULL));
		EXPECT_STREQ("", srv[i].err) TH_LOG("server %d", i);
		EXPECT_EQ(1, srv[i].nconns);
	}
	check_seen(_metadata, self);
	close(lfd);
}

/*
 * A SOCK_SEQPACKET listener accept()s each client: one socket, one
 * connection, its messages in order both ways; then the client's
 * shutdown(SHUT_WR) is the server's EOF, and the server's close the
 * client's.
 */
TEST_F_TIMEOUT(netns, seqpacket_accept_echo, 4 * TIMEOUT_S)
{
	const struct client tmpl = { .in_order = true, .shut_wr = true };

	seqpacket_server(_metadata, self, variant->family, &tmpl, false);
}

/*
 * Clients send all their messages and close() at once: close() writes
 * what is queued before it lets the connection go, and TCP delivers it
 * over the lossy link after the socket is gone.  The server gets every
 * message, in order, then EOF.
 */
TEST_F_TIMEOUT(netns, close_delivers_queued_messages, 4 * TIMEOUT_S)
{
	const struct client tmpl = { .no_echo = true };

	seqpacket_server(_metadata, self, variant->family, &tmpl, true);
}

/*
 * A SOCK_DGRAM listener's mux takes every client's connections in (five:
 * two SOCK_SEQPACKET clients, a SOCK_DGRAM client with one and one with
 * two), spreads the messages over its three sockets, and each socket
 * echoes with sendto() on the connection a message came from.
 */
TEST_F_TIMEOUT(netns, dgram_listener_workers_echo, 4 * TIMEOUT_S)
{
	const struct client tmpl = { .in_order = false };
	struct server w[NWORKERS];
	struct sockaddr_storage ss;
	uint32_t conns[MAX_CONNS];
	int stop = 0;
	int lfd, port, i, j, k, nconns = 0;
	socklen_t len;

	port = server_listen(_metadata, variant->family, SOCK_DGRAM, &lfd);
	for (i = 0; i < NWORKERS; i++) {
		w[i] = (struct server){
			.family = variant->family, .worker = i,
			.stop = &stop, .seen = self->seen,
		};
		w[i].fd = i ? mux_clone(MUX_MSGMUX, lfd) : lfd;
		ASSERT_LE(0, w[i].fd) TH_LOG("clone: %s", strerror(errno));
	}
	for (i = 0; i < NWORKERS; i++)
		ASSERT_EQ(0, pthread_create(&w[i].thread, NULL,
					    dgram_worker_thread, &w[i]));
	len = ns_addr(variant->family, 0, port, &ss);
	start_clients(_metadata, self, variant->family, &ss, len, &tmpl, true);
	join_clients(_metadata, self);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);

	for (i = 0; i < NWORKERS; i++) {
		ASSERT_EQ(0, pthread_join(w[i].thread, NULL));
		EXPECT_STREQ("", w[i].err) TH_LOG("socket %d", i);
		/* Round robin: every socket has its share. */
		EXPECT_LT(0, w[i].msgs) TH_LOG("socket %d got nothing", i);
		for (j = 0; j < w[i].nconns; j++) {
			for (k = 0; k < nconns && conns[k] != w[i].conns[j];
			     k++)
				;
			if (k == nconns && nconns < MAX_CONNS)
				conns[nconns++] = w[i].conns[j];
		}
	}
	EXPECT_EQ(NCLIENTS + 1, nconns);
	check_seen(_metadata, self);
	for (i = 0; i < NWORKERS; i++)
		close(w[i].fd);
}

/* An address of @family with no route from either namespace. */
static socklen_t unrouted_addr(int family, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(7);
		inet_pton(AF_INET6, "fd78::1", &sin6->sin6_addr);
		return sizeof(*sin6);
	}
	sin->sin_family = AF_INET;
	sin->sin_port = htons(7);
	inet_pton(AF_INET, "10.78.0.1", &sin->sin_addr);
	return sizeof(*sin);
}

/*
 * connect() across the delayed link, as TCP does it: non-blocking, it is
 * in progress (a second connect() says so), completes as POLLOUT and the
 * connection carries a message; TCP's errors come back as they are, from
 * SO_ERROR (read once) for a non-blocking connect.
 */
TEST_F_TIMEOUT(netns, connect_across_the_link, 2 * TIMEOUT_S)
{
	struct sockaddr_storage srv, closed, nowhere;
	socklen_t len, nlen;
	char buf[16] = { 0 };
	int lfd, port, fd, afd, ev;

	port = server_listen(_metadata, variant->family, SOCK_SEQPACKET,
			     &lfd);
	ASSERT_EQ(0, set_rcvtimeo(lfd, TIMEOUT_S));
	len = ns_addr(variant->family, 0, port, &srv);
	ns_addr(variant->family, 0, port == 65535 ? 1 : port + 1, &closed);
	nlen = unrouted_addr(variant->family, &nowhere);

	/* The clients' side. */
	ASSERT_EQ(0, netns_enter(self->nsfd[1]));
	fd = msgmux_socket(SOCK_SEQPACKET | SOCK_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, connect(fd, (struct sockaddr *)&srv, len));
	ASSERT_EQ(EINPROGRESS, errno);
	/* The handshake takes two delayed packets: still under way. */
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&srv, len));
	EXPECT_TRUE(errno == EALREADY || errno == EISCONN)
		TH_LOG("second connect(): %s", strerror(errno));
	ev = poll_events(fd, POLLOUT, TIMEOUT_S * 1000);
	EXPECT_EQ(POLLOUT, ev & (POLLOUT | POLLERR | POLLHUP));
	EXPECT_EQ(0, sockopt_int(fd, SO_ERROR));
	EXPECT_EQ(5, send(fd, "hello", 5, 0)) TH_LOG("send: %s",
						     strerror(errno));

	/* Refused, non-blocking: POLLERR, SO_ERROR once. */
	afd = msgmux_socket(SOCK_SEQPACKET | SOCK_NONBLOCK);
	ASSERT_LE(0, afd);
	ASSERT_EQ(-1, connect(afd, (struct sockaddr *)&closed, len));
	ASSERT_EQ(EINPROGRESS, errno);
	ev = poll_events(afd, POLLOUT, TIMEOUT_S * 1000);
	EXPECT_TRUE(ev & POLLERR) TH_LOG("revents %#x", ev);
	EXPECT_EQ(ECONNREFUSED, sockopt_int(afd, SO_ERROR));
	EXPECT_EQ(0, sockopt_int(afd, SO_ERROR));
	close(afd);

	/* Refused, blocking; and no route at all. */
	afd = msgmux_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, afd);
	EXPECT_EQ(-1, connect(afd, (struct sockaddr *)&closed, len));
	EXPECT_EQ(ECONNREFUSED, errno);
	close(afd);
	afd = msgmux_socket(SOCK_DGRAM);
	ASSERT_LE(0, afd);
	EXPECT_EQ(-1, connect(afd, (struct sockaddr *)&nowhere, nlen));
	EXPECT_EQ(ENETUNREACH, errno) TH_LOG("%s", strerror(errno));
	close(afd);

	/* The server's side gets the one good connection and its message. */
	ASSERT_EQ(0, netns_enter(self->nsfd[0]));
	afd = accept(lfd, NULL, NULL);
	ASSERT_LE(0, afd) TH_LOG("accept: %s", strerror(errno));
	EXPECT_EQ(5, recv_wait(afd, buf, sizeof(buf), 0, TIMEOUT_S * 1000));
	EXPECT_STREQ("hello", buf);
	close(afd);
	close(fd);
	close(lfd);
}

TEST_HARNESS_MAIN
