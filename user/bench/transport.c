// SPDX-License-Identifier: GPL-2.0
/*
 * transport.c - the sockets of one run, for each transport.
 *
 * A run has N connections, each written by its own sender thread, and R
 * receiving sockets, each read by its own thread:
 *
 *   mmx-attach   a TCP pair over loopback per connection; the sending end
 *                attached to a msgmux SOCK_DGRAM socket of its own, the
 *                receiving ends all attached to one receiving mux, whose
 *                first socket and R - 1 clones receive.  Built-in framing
 *                (a 4-byte big-endian length the kernel adds and strips).
 *   mmx-connect  a msgmux SOCK_DGRAM socket listening on loopback (the
 *                kernel accepts into its mux); each sender connect()s a
 *                msgmux SOCK_SEQPACKET socket to it.  The listener and
 *                R - 1 clones receive.
 *   kcm          as mmx-attach with AF_KCM SOCK_DGRAM sockets and a BPF
 *                parser; the length prefix is part of each message.
 *   unix         an AF_UNIX SOCK_SEQPACKET socketpair() per connection.
 *   tcp          a TCP pair per connection; the sender writes the length
 *                prefix, the receiver reads large blocks and cuts them.
 *
 * Receive-only runs (tcp_tx) feed every transport's receiver from the same
 * sender: a plain TCP socket, attached to nothing, that writes framed
 * messages.  For mmx-connect it connects to the msgmux listener.  AF_UNIX
 * has no such run.
 *
 * AF_UNIX and TCP have no multiplexor: with several connections and one
 * receiver, it polls them (epoll); with as many receivers as connections,
 * each reads its own; one AF_UNIX socket can be read by several threads,
 * one TCP stream cannot (that case is not applicable).
 *
 * KCM's parser: KCM runs the BPF program on the skb where the message
 * starts at some offset, not at 0 (strparser's offset), so the parser of
 * Documentation/networking/kcm.rst, load_word(skb, 0) + 4, reads the
 * wrong length as soon as TCP puts two messages in one skb -- which it
 * does under load (framing_test's "coalesced" test shows it).  Every run
 * here uses one message size, so by default KCM gets a parser that
 * returns that size without reading the packet: it frames correctly, and
 * costs KCM less than a real parser would, so ratios to KCM are on KCM's
 * side.  --kcm-parser=load-word runs the documented one, and the checks
 * catch its mis-framing.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/kcm.h>

#include "libmsgmux.h"
#include "bench.h"

#ifndef AF_KCM
#define AF_KCM		41
#endif

const struct transport_info transports[TR_NR] = {
	[TR_ATTACH] = {
		"mmx-attach",
		"msgmux SOCK_DGRAM, TCP pairs attached (SIOCMSGMUXATTACH), built-in framing",
		false, false,
	},
	[TR_CONNECT] = {
		"mmx-connect",
		"msgmux SOCK_SEQPACKET connect() to a SOCK_DGRAM listener, built-in framing",
		false, false,
	},
	[TR_KCM] = {
		"kcm",
		"AF_KCM SOCK_DGRAM, TCP pairs attached with a BPF parser",
		true, false,
	},
	[TR_UNIX] = {
		"unix",
		"AF_UNIX SOCK_SEQPACKET socketpair()",
		false, false,
	},
	[TR_TCP] = {
		"tcp",
		"TCP, 4-byte length prefix written and parsed in userspace",
		true, true,
	},
};

/* Keep @fd to be closed with the link; returns @fd. */
static int link_keep(struct link *l, int fd)
{
	if (fd >= 0)
		l->fds[l->nfds++] = fd;
	return fd;
}

bool link_supported(enum transport tr, int nconns, int nrecvs, bool tcp_tx)
{
	if (tcp_tx && tr == TR_UNIX)
		return false;
	if (tr == TR_ATTACH || tr == TR_CONNECT || tr == TR_KCM)
		return true;
	/* Without a multiplexor: one reader per stream, or one for all. */
	if (nconns == nrecvs || nrecvs == 1)
		return true;
	/* Threads may share one AF_UNIX socket; a TCP stream, no. */
	return tr == TR_UNIX && nconns == 1;
}

static void loopback(struct sockaddr_in *sin, int port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = htons(port);
}

/* A TCP listener on 127.0.0.1 and a free port, which goes in @port. */
int tcp_listener(int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, err;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	loopback(&sin, 0);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(fd, 1024) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* A connected TCP pair over loopback: @a connected, @b accepted. */
int tcp_pair(int *a, int *b)
{
	struct sockaddr_in sin;
	int lfd, port, err;

	*a = *b = -1;
	lfd = tcp_listener(&port);
	if (lfd < 0)
		return -1;
	loopback(&sin, port);
	*a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*a >= 0 && !connect(*a, (struct sockaddr *)&sin, sizeof(sin)))
		*b = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	err = errno;
	close(lfd);
	if (*b < 0) {
		if (*a >= 0)
			close(*a);
		*a = -1;
		errno = err;
		return -1;
	}
	return 0;
}

/*
 * KCM's parser for messages of @size payload bytes after the 4-byte
 * length: see the top of this file.  Returns a program fd, or -1.
 */
int kcm_parser_prog(size_t size)
{
	const struct bpf_insn fixed[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0,
		  .imm = (int)(HDR_LEN + size) },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	/* Documentation/networking/kcm.rst: load_word(skb, 0) + 4. */
	const struct bpf_insn load_word[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X,
		  .dst_reg = BPF_REG_6, .src_reg = BPF_REG_1 },
		{ .code = BPF_LD | BPF_W | BPF_ABS, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_ADD | BPF_K,
		  .dst_reg = BPF_REG_0, .imm = HDR_LEN },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	bool lw = opt.kcm_parser == KCM_LOAD_WORD;
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uintptr_t)(lw ? load_word : fixed);
	attr.insn_cnt = lw ? ARRAY_SIZE(load_word) : ARRAY_SIZE(fixed);
	attr.license = (uintptr_t)"GPL";
	return syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
}

int kcm_socket(void)
{
	return socket(AF_KCM, SOCK_DGRAM | SOCK_CLOEXEC, KCMPROTO_CONNECTED);
}

/* A new mux of @tr's kind (msgmux or KCM), SOCK_DGRAM. */
static int mux_socket(enum transport tr)
{
	if (tr == TR_KCM)
		return kcm_socket();
	return msgmux_socket(SOCK_DGRAM | SOCK_CLOEXEC);
}

/* SIOCKCMATTACH and SIOCMSGMUXATTACH: the same number and layout. */
int mux_attach(enum transport tr, int mux, int tcp, int bpf)
{
	struct msgmux_attach ma = { .fd = tcp, .bpf_fd = bpf };
	struct kcm_attach ka = { .fd = tcp, .bpf_fd = bpf };

	if (tr == TR_KCM)
		return ioctl(mux, SIOCKCMATTACH, &ka);
	return ioctl(mux, SIOCMSGMUXATTACH, &ma);
}

/* A new socket on @mux's multiplexor, or -1. */
int mux_clone(enum transport tr, int mux)
{
	struct msgmux_clone mc = { .fd = -1 };
	struct kcm_clone kc = { .fd = -1 };

	if (tr == TR_KCM)
		return ioctl(mux, SIOCKCMCLONE, &kc) ? -1 : kc.fd;
	return ioctl(mux, SIOCMSGMUXCLONE, &mc) ? -1 : mc.fd;
}

/* The receiving mux @rmux and R - 1 clones of it are the receivers. */
static int link_receivers(struct link *l, int rmux)
{
	int j, fd;

	for (j = 0; j < l->nrecvs; j++) {
		fd = j ? link_keep(l, mux_clone(l->tr, rmux)) : rmux;
		if (fd < 0)
			return -1;
		l->rx[j][0] = fd;
		l->nrx[j] = 1;
	}
	return 0;
}

/*
 * mmx-attach and kcm: TCP pairs, each end attached to a mux, or with
 * @tcp_tx the receiving end only.
 */
static int link_open_attached(struct link *l, size_t size, bool tcp_tx)
{
	int i, a, b, smux, rmux, bpf = -1;

	if (l->tr == TR_KCM) {
		bpf = link_keep(l, kcm_parser_prog(size));
		if (bpf < 0)
			return -1;
	}
	rmux = link_keep(l, mux_socket(l->tr));
	if (rmux < 0 || link_receivers(l, rmux))
		return -1;
	for (i = 0; i < l->nconns; i++) {
		if (tcp_pair(&a, &b))
			return -1;
		link_keep(l, a);
		link_keep(l, b);
		if (tcp_tx) {
			if (mux_attach(l->tr, rmux, b, bpf))
				return -1;
			l->tx[i] = a;
			continue;
		}
		smux = link_keep(l, mux_socket(l->tr));
		if (smux < 0 || mux_attach(l->tr, smux, a, bpf) ||
		    mux_attach(l->tr, rmux, b, bpf))
			return -1;
		l->tx[i] = smux;
	}
	return 0;
}

/* mmx-connect: msgmux's own connect() (or TCP's) and listen(). */
static int link_open_connect(struct link *l, bool tcp_tx)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int i, lfd, fd;

	lfd = link_keep(l, msgmux_socket(SOCK_DGRAM | SOCK_CLOEXEC));
	if (lfd < 0)
		return -1;
	loopback(&sin, 0);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(lfd, 64) ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) ||
	    link_receivers(l, lfd))
		return -1;
	for (i = 0; i < l->nconns; i++) {
		fd = link_keep(l, tcp_tx ? socket(AF_INET, SOCK_STREAM |
						  SOCK_CLOEXEC, 0) :
			       msgmux_socket(SOCK_SEQPACKET | SOCK_CLOEXEC));
		if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
			return -1;
		l->tx[i] = fd;
	}
	return 0;
}

/* unix and tcp: a pair per connection, no multiplexor. */
static int link_open_pairs(struct link *l)
{
	int peer[MAX_CONNS];
	int i, j, sv[2];

	for (i = 0; i < l->nconns; i++) {
		if (l->tr == TR_UNIX) {
			if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC,
				       0, sv))
				return -1;
		} else if (tcp_pair(&sv[0], &sv[1])) {
			return -1;
		}
		l->tx[i] = link_keep(l, sv[0]);
		peer[i] = link_keep(l, sv[1]);
	}
	for (j = 0; j < l->nrecvs; j++) {
		if (l->nrecvs == l->nconns) {
			l->rx[j][0] = peer[j];
			l->nrx[j] = 1;
		} else if (l->nrecvs == 1) {
			for (i = 0; i < l->nconns; i++)
				l->rx[0][i] = peer[i];
			l->nrx[0] = l->nconns;
		} else {
			l->rx[j][0] = peer[0];
			l->nrx[j] = 1;
		}
	}
	return 0;
}

/**
 * link_open() - the sockets of a run
 * @l: filled in.
 * @tr: the transport.
 * @nconns: connections, 1 to %MAX_CONNS.
 * @nrecvs: receiving sockets, 1 to %MAX_RECVS.
 * @size: the payload size of every message (KCM's parser needs it).
 * @tcp_tx: the senders write to plain TCP sockets (a receive-only run).
 *
 * Return: 0, or -1 with errno set and nothing left open.
 */
int link_open(struct link *l, enum transport tr, int nconns, int nrecvs,
	      size_t size, bool tcp_tx)
{
	int ret, err;

	memset(l, 0, sizeof(*l));
	l->tr = tr;
	l->nconns = nconns;
	l->nrecvs = nrecvs;
	if (!link_supported(tr, nconns, nrecvs, tcp_tx)) {
		errno = EOPNOTSUPP;
		return -1;
	}
	switch (tr) {
	case TR_ATTACH:
	case TR_KCM:
		ret = link_open_attached(l, size, tcp_tx);
		break;
	case TR_CONNECT:
		ret = link_open_connect(l, tcp_tx);
		break;
	default:
		ret = link_open_pairs(l);
		break;
	}
	if (ret) {
		err = errno;
		link_close(l);
		errno = err;
	}
	return ret;
}

void link_close(struct link *l)
{
	while (l->nfds)
		close(l->fds[--l->nfds]);
}

/* Why @tr cannot run here, or NULL if it can. */
const char *transport_unavailable(enum transport tr)
{
	static char why[80];
	int fd, bpf;

	switch (tr) {
	case TR_ATTACH:
	case TR_CONNECT:
		fd = msgmux_socket(SOCK_DGRAM);
		break;
	case TR_KCM:
		fd = kcm_socket();
		if (fd < 0)
			break;
		bpf = kcm_parser_prog(64);
		if (bpf < 0) {
			snprintf(why, sizeof(why), "BPF_PROG_LOAD: %s",
				 strerror(errno));
			close(fd);
			return why;
		}
		close(bpf);
		break;
	default:
		return NULL;
	}
	if (fd < 0) {
		snprintf(why, sizeof(why), "socket(): %s", strerror(errno));
		return why;
	}
	close(fd);
	return NULL;
}
