// SPDX-License-Identifier: GPL-2.0
/*
 * msgmux-echo-server: send every message back on the connection it came
 * from.  The kernel listens, accepts and frames; this program only moves
 * whole messages.
 *
 *   msgmux-echo-server [-t seqpacket|dgram] [-a ADDRESS] [-p PORT]
 *                      [-w WORKERS] [-n COUNT] [-l LIMIT]
 *
 * -t seqpacket (one-to-one, the default): accept() returns one AF_MSGMUX
 *    socket per TCP connection, and one thread per socket echoes with
 *    recv() and send() until the client closes its side.
 * -t dgram (one-to-many): the kernel accepts connections into the
 *    listening socket's mux by itself.  WORKERS sockets cloned from it
 *    (SIOCMSGMUXCLONE) share the messages of all connections; each worker
 *    thread answers with sendto() to the address recvfrom() gave, that is
 *    on the message's own connection.
 *
 * On the wire each message is a 4-byte big-endian length and the payload
 * (the default framing), so a plain TCP client can talk to it too.
 *
 * The server stops after echoing COUNT messages in all, or on SIGTERM or
 * SIGINT, and prints one line per worker.  It exits 1 if a message could
 * not be echoed, 2 on a usage error.
 */
#define _GNU_SOURCE		/* accept4() */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libmsgmux.h"

/* Large enough for any message of the default framing. */
#define BUF_SIZE	MSGMUX_DEFAULT_MAX_SIZE
/* Distinct connections a DGRAM worker remembers, for its summary. */
#define MAX_SEEN	64
/* How long close() may take to write the last echoes (SO_LINGER). */
#define LINGER_SECS	5

/** struct worker - one thread and the msgmux socket it echoes on */
struct worker {
	pthread_t thread;
	int fd;
	int id;
	char peer[INET6_ADDRSTRLEN + 8];	/* seqpacket: the client */
	unsigned long msgs, bytes;		/* echoed */
	unsigned long send_errors, truncated;
	unsigned long closed, failed;		/* connection notifications */
	unsigned int seen[MAX_SEEN];		/* dgram: connection ids */
	int nseen;
	const char *end;			/* why the worker stopped */
	struct worker *next;
};

static bool dgram;
static long stop_after;			/* -n; 0: never */
static atomic_long echoed;		/* messages echoed by all workers */

/*
 * Stopping: one byte written to this pipe is never read, so the pipe stays
 * readable and every thread polling it wakes up.  A signal handler may
 * write() to a pipe.
 */
static int stop_pipe[2];

static void request_stop(void)
{
	ssize_t n = write(stop_pipe[1], "x", 1);

	(void)n;
}

static void on_signal(int sig)
{
	(void)sig;
	request_stop();
}

static void usage(void)
{
	fprintf(stderr,
		"usage: msgmux-echo-server [-t seqpacket|dgram] [-a ADDRESS] [-p PORT]\n"
		"                          [-w WORKERS] [-n COUNT] [-l LIMIT]\n"
		"  -t TYPE     seqpacket: accept(), a thread per connection (default)\n"
		"              dgram: WORKERS cloned sockets share all connections\n"
		"  -a ADDRESS  IPv4 or IPv6 address to listen on (default 127.0.0.1)\n"
		"  -p PORT     TCP port (default 7000; 0: any, printed)\n"
		"  -w WORKERS  dgram: worker sockets and threads (default 2)\n"
		"  -n COUNT    stop after echoing COUNT messages (default: at SIGTERM)\n"
		"  -l LIMIT    dgram: MSGMUX_ACCEPT_LIMIT, connections kept at once\n");
	exit(2);
}

/* close() writes queued echoes first, for up to LINGER_SECS. */
static void set_linger(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = LINGER_SECS };

	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)))
		perror("setsockopt(SO_LINGER)");
}

static void note_conn(struct worker *w, unsigned int conn_id)
{
	int i;

	for (i = 0; i < w->nseen; i++)
		if (w->seen[i] == conn_id)
			return;
	if (w->nseen < MAX_SEEN)
		w->seen[w->nseen++] = conn_id;
}

/*
 * POLLERR: connections that left the mux.  Each socket of the mux gets a
 * struct msgmux_conn_error for each; error 0 is a clean close by the peer.
 */
static void read_notifications(struct worker *w)
{
	struct msgmux_conn_error ce;
	struct sockaddr_msgmux from;
	struct iovec iov = { .iov_base = &ce, .iov_len = sizeof(ce) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	char peer[INET6_ADDRSTRLEN + 8];

	for (;;) {
		msg.msg_name = &from;
		msg.msg_namelen = sizeof(from);
		if (recvmsg(w->fd, &msg, MSG_ERRQUEUE) != sizeof(ce))
			return;
		if (!ce.error) {
			w->closed++;
			continue;
		}
		w->failed++;
		printf("worker %d: connection %u (%s) failed: %s (reason %u, %u bytes lost)\n",
		       w->id, ce.conn_id, msgmux_inet_str(&from.smm_peer_in, peer,
						   sizeof(peer)),
		       strerror(ce.error), ce.reason, ce.dropped_bytes);
	}
}

/*
 * Receive one message and send it back.  Returns false when the worker is
 * done: the end of a SEQPACKET connection, or an error.
 */
static bool echo_one(struct worker *w, char *buf)
{
	struct sockaddr_msgmux from;
	struct iovec iov = { .iov_base = buf, .iov_len = BUF_SIZE };
	struct msghdr msg = {
		.msg_name = &from, .msg_namelen = sizeof(from),
		.msg_iov = &iov, .msg_iovlen = 1,
	};
	ssize_t n;

	n = recvmsg(w->fd, &msg, MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return true;	/* nothing after all: poll again */
		perror("recvmsg");
		w->end = "receive error";
		return false;
	}
	/*
	 * A zero-length message is legal and comes with its address; the end
	 * of a SEQPACKET connection (the client closed or reset it) returns 0
	 * and none.
	 */
	if (n == 0 && msg.msg_namelen == 0) {
		w->end = "closed by the client";
		return false;
	}
	if (msg.msg_flags & MSG_TRUNC) {
		w->truncated++;		/* over BUF_SIZE: cannot echo it whole */
		return true;
	}
	if (dgram)
		note_conn(w, from.smm_conn_id);

	/*
	 * One sendto() is one message.  The address recvmsg() gave names the
	 * message's connection: the echo goes back on it.  On SEQPACKET the
	 * socket has one connection and the address could be left out.
	 */
	if (sendto(w->fd, buf, n, MSG_NOSIGNAL, (struct sockaddr *)&from,
		   sizeof(from)) < 0) {
		/* ENOTCONN: that connection has gone meanwhile. */
		w->send_errors++;
		if (!dgram) {
			perror("send");
			w->end = "send error";
			return false;
		}
		return true;
	}
	w->msgs++;
	w->bytes += n;
	if (atomic_fetch_add(&echoed, 1) + 1 == stop_after)
		request_stop();
	return true;
}

static void print_summary(const struct worker *w)
{
	printf("worker %d: ", w->id);
	if (!dgram)
		printf("%s: ", w->peer);
	printf("%lu messages, %lu bytes echoed", w->msgs, w->bytes);
	if (dgram)
		printf(" from %d connection%s, %lu closed", w->nseen,
		       w->nseen == 1 ? "" : "s", w->closed);
	if (w->failed)
		printf(", %lu failed", w->failed);
	if (w->send_errors || w->truncated)
		printf(", %lu not echoed (%lu send errors, %lu too long)",
		       w->send_errors + w->truncated, w->send_errors,
		       w->truncated);
	printf("; %s\n", w->end);
	fflush(stdout);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct pollfd pfd[2] = {
		{ .fd = w->fd, .events = POLLIN },
		{ .fd = stop_pipe[0], .events = POLLIN },
	};
	char *buf = malloc(BUF_SIZE);

	if (!buf) {
		w->end = "out of memory";
		return NULL;
	}
	w->end = "stopped";
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("poll");
			w->end = "poll error";
			break;
		}
		if (pfd[1].revents)
			break;
		if (pfd[0].revents & POLLERR)
			read_notifications(w);
		/* POLLHUP: the SEQPACKET client has gone; recv says when. */
		if ((pfd[0].revents & (POLLIN | POLLHUP)) && !echo_one(w, buf))
			break;
	}
	free(buf);
	if (!dgram) {
		/* The accepted socket and its one TCP connection go together. */
		print_summary(w);
		close(w->fd);
	}
	return NULL;
}

static int start_worker(struct worker *w)
{
	int err = pthread_create(&w->thread, NULL, worker_main, w);

	if (err) {
		fprintf(stderr, "pthread_create: %s\n", strerror(err));
		return -1;
	}
	return 0;
}

static int listen_on(int type, const struct sockaddr_storage *addr,
		     socklen_t addrlen)
{
	int one = 1;
	int fd;

	/* Non-blocking: accept() after poll() never waits (a connection can go). */
	fd = msgmux_socket(type | SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		perror("socket(AF_MSGMUX)");
		return -1;
	}
	/* As on TCP: rebind at once to a port whose last run is in TIME_WAIT. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		perror("setsockopt(SO_REUSEADDR)");
	if (bind(fd, (const struct sockaddr *)addr, addrlen)) {
		perror("bind");
		close(fd);
		return -1;
	}
	return fd;
}

static void print_listening(int fd, const char *what)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	char buf[INET6_ADDRSTRLEN + 8];

	/* With -p 0 the kernel chose the port: getsockname() tells it. */
	if (getsockname(fd, (struct sockaddr *)&local, &len)) {
		perror("getsockname");
		return;
	}
	printf("msgmux-echo-server: %s, listening on %s\n", what,
	       msgmux_inet_str(&local, buf, sizeof(buf)));
	fflush(stdout);
}

/* One-to-one: accept() until told to stop, a thread per connection. */
static int serve_seqpacket(int lfd)
{
	struct pollfd pfd[2] = {
		{ .fd = lfd, .events = POLLIN },
		{ .fd = stop_pipe[0], .events = POLLIN },
	};
	struct worker *workers = NULL, *w;
	unsigned long msgs = 0, bytes = 0, errors = 0;
	int nworkers = 0;

	if (listen(lfd, 128)) {
		perror("listen");
		return 1;
	}
	print_listening(lfd, "seqpacket (a thread per connection)");

	for (;;) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int fd;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
			perror("poll");
			break;
		}
		if (pfd[1].revents)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		/* A new msgmux socket with its own mux and one connection. */
		fd = accept4(lfd, (struct sockaddr *)&peer, &len,
			     SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR ||
			    errno == ECONNABORTED)
				continue;
			perror("accept4");
			break;
		}
		w = calloc(1, sizeof(*w));
		if (!w) {
			close(fd);
			continue;
		}
		w->fd = fd;
		w->id = nworkers;
		msgmux_inet_str(&peer, w->peer, sizeof(w->peer));
		set_linger(fd);
		if (start_worker(w)) {
			close(fd);
			free(w);
			continue;
		}
		nworkers++;
		w->next = workers;
		workers = w;
	}

	/* The workers saw the stop too; each prints its line as it ends. */
	while (workers) {
		w = workers;
		pthread_join(w->thread, NULL);
		msgs += w->msgs;
		bytes += w->bytes;
		errors += w->send_errors + w->truncated;
		workers = w->next;
		free(w);
	}
	printf("msgmux-echo-server: %d connection%s, %lu messages, %lu bytes echoed\n",
	       nworkers, nworkers == 1 ? "" : "s", msgs, bytes);
	return errors ? 1 : 0;
}

/* One-to-many: the kernel accepts; cloned sockets share the messages. */
static int serve_dgram(int lfd, int nworkers, int accept_limit)
{
	struct worker *workers = calloc(nworkers, sizeof(*workers));
	unsigned long msgs = 0, bytes = 0, errors = 0;
	int one = 1;
	int i, ret = 0;

	if (!workers)
		return 1;
	if (accept_limit >= 0 &&
	    setsockopt(lfd, SOL_MSGMUX, MSGMUX_ACCEPT_LIMIT, &accept_limit,
		       sizeof(accept_limit))) {
		perror("setsockopt(MSGMUX_ACCEPT_LIMIT)");
		return 1;
	}
	/*
	 * The listening socket is a member of the mux too, and would get its
	 * share of the messages: only the workers receive.
	 */
	if (setsockopt(lfd, SOL_MSGMUX, MSGMUX_RECV_DISABLE, &one,
		       sizeof(one))) {
		perror("setsockopt(MSGMUX_RECV_DISABLE)");
		return 1;
	}
	set_linger(lfd);
	for (i = 0; i < nworkers; i++) {
		struct msgmux_clone clone;

		/* A new socket on the listener's mux (close-on-exec). */
		if (ioctl(lfd, SIOCMSGMUXCLONE, &clone)) {
			perror("ioctl(SIOCMSGMUXCLONE)");
			return 1;
		}
		workers[i].fd = clone.fd;
		workers[i].id = i;
		set_linger(clone.fd);
	}
	for (i = 0; i < nworkers; i++)
		if (start_worker(&workers[i])) {
			request_stop();
			nworkers = i;
			ret = 1;
			break;
		}
	/* From now on connections join the mux as clients make them. */
	if (!ret && listen(lfd, 128)) {
		perror("listen");
		request_stop();
		ret = 1;
	}
	if (!ret)
		print_listening(lfd, "dgram (workers share all connections)");

	for (i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];

		pthread_join(w->thread, NULL);
		print_summary(w);
		msgs += w->msgs;
		bytes += w->bytes;
		errors += w->send_errors + w->truncated;
	}
	if (!ret)
		printf("msgmux-echo-server: %d workers, %lu messages, %lu bytes echoed\n",
		       nworkers, msgs, bytes);
	/*
	 * The mux, and with it every connection, goes with its last socket;
	 * that close() writes what is still queued, up to SO_LINGER.
	 */
	for (i = 0; i < nworkers; i++)
		close(workers[i].fd);
	free(workers);
	return ret || errors ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1";
	struct sockaddr_storage addr;
	struct sigaction sa = { .sa_handler = on_signal };
	int port = 7000, nworkers = 2, accept_limit = -1;
	socklen_t addrlen;
	int opt, lfd, ret;

	while ((opt = getopt(argc, argv, "t:a:p:w:n:l:")) != -1) {
		switch (opt) {
		case 't':
			if (!strcmp(optarg, "dgram"))
				dgram = true;
			else if (strcmp(optarg, "seqpacket"))
				usage();
			break;
		case 'a':
			host = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'w':
			nworkers = atoi(optarg);
			break;
		case 'n':
			stop_after = atol(optarg);
			break;
		case 'l':
			accept_limit = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	addrlen = msgmux_inet_addr(host, port, &addr);
	if (optind != argc || !addrlen || port < 0 || port > 65535 ||
	    nworkers < 1 || stop_after < 0)
		usage();

	if (pipe(stop_pipe)) {
		perror("pipe");
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	lfd = listen_on(dgram ? SOCK_DGRAM : SOCK_SEQPACKET, &addr, addrlen);
	if (lfd < 0)
		return 1;
	if (dgram)
		ret = serve_dgram(lfd, nworkers, accept_limit);
	else
		ret = serve_seqpacket(lfd);
	close(lfd);
	return ret;
}
