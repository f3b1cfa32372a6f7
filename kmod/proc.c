// SPDX-License-Identifier: GPL-2.0
/*
 * proc.c - /proc/net/msgmux.
 *
 * DOC: /proc/net/msgmux
 *
 * One line per object, after a header line naming the columns::
 *
 *   kind mux   id inode    type      state rx_msgs rx_bytes tx_msgs ...
 *   mux  1      0 -        -         -     0       0        0       ...
 *   sock 1      1 18342    seqpacket open  0       0        0       ...
 *
 * ``kind`` is ``mux``, ``sock`` (an upper socket) or ``conn`` (a TCP
 * connection); ``mux`` is the mux's id and ``id`` the socket's or the
 * connection's id within it (0 on a mux line).  ``inode`` is the inode
 * number of the socket (the TCP socket's, for a connection), as
 * ``ls -l /proc/PID/fd`` shows it.  A connection's ``type`` is ``tcp`` or
 * ``tcp6`` and its ``state`` the parser, ``frame`` or ``bpf``.  A
 * socket's ``state`` is ``listen``, ``conn`` (one-to-one with a connection
 * that connect() or accept() made), ``closed`` (that connection has
 * gone), or ``open`` (any other: the connections are the mux's).  The
 * counters are messages and bytes received and sent, messages queued (to
 * read on a socket, to write on a connection), errors, and messages
 * dropped; a mux line sums its sockets, and adds the errors and drops
 * of its connections, past and present.  The file lists only the reader's
 * network namespace and never prints a kernel pointer.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>

#include "msgmux.h"

#define MSGMUX_PROC_HEADER \
	"kind mux        id inode      type      state  rx_msgs    rx_bytes   tx_msgs    tx_bytes   queued     errors     dropped\n"

static const char *msgmux_type_name(const struct sock *sk)
{
	switch (sk->sk_type) {
	case SOCK_SEQPACKET:
		return "seqpacket";
	case SOCK_DGRAM:
		return "dgram";
	default:
		return "?";
	}
}

/* Caller holds &msgmux_mux.lock, which guards conn_state and listening. */
static const char *msgmux_state_name(const struct msgmux_sock *msk)
{
	if (msk->listening)
		return "listen";
	switch (msk->conn_state) {
	case MSGMUX_SS_UP:
		return "conn";
	case MSGMUX_SS_GONE:
		return "closed";
	default:
		return "open";
	}
}

static void msgmux_stats_add(struct msgmux_stats *sum,
			     const struct msgmux_stats *s)
{
	sum->rx_msgs += READ_ONCE(s->rx_msgs);
	sum->rx_bytes += READ_ONCE(s->rx_bytes);
	sum->tx_msgs += READ_ONCE(s->tx_msgs);
	sum->tx_bytes += READ_ONCE(s->tx_bytes);
	sum->errors += READ_ONCE(s->errors);
	sum->dropped += READ_ONCE(s->dropped);
}

static void msgmux_proc_counters(struct seq_file *seq,
				 const struct msgmux_stats *s, u32 queued)
{
	seq_printf(seq, " %-10llu %-10llu %-10llu %-10llu %-10u %-10llu %llu\n",
		   s->rx_msgs, s->rx_bytes, s->tx_msgs, s->tx_bytes,
		   queued, s->errors, s->dropped);
}

/* Caller holds &mux->lock, which keeps the member list stable. */
static void __msgmux_proc_show_socks(struct seq_file *seq,
				     struct msgmux_mux *mux)
{
	struct msgmux_sock *msk;
	struct msgmux_stats s;

	lockdep_assert_held(&mux->lock);

	list_for_each_entry(msk, &mux->socks, mux_node) {
		struct sock *sk = &msk->sk;

		memset(&s, 0, sizeof(s));
		msgmux_stats_add(&s, &msk->stats);
		seq_printf(seq, "sock %-10u %-2u %-10lu %-9s %-6s", mux->id,
			   msk->id, msk->ino, msgmux_type_name(sk),
			   msgmux_state_name(msk));
		msgmux_proc_counters(seq, &s,
				     skb_queue_len_lockless(&sk->sk_receive_queue));
	}
}

/* Caller holds &mux->lock, which keeps the connection list stable. */
static void __msgmux_proc_show_conns(struct seq_file *seq,
				     struct msgmux_mux *mux)
{
	struct msgmux_psock *psock;
	struct msgmux_stats s;

	lockdep_assert_held(&mux->lock);

	list_for_each_entry(psock, &mux->psocks, mux_node) {
		memset(&s, 0, sizeof(s));
		msgmux_stats_add(&s, &psock->stats);
		seq_printf(seq, "conn %-10u %-2u %-10lu %-9s %-6s", mux->id,
			   psock->id, psock->ino,
			   psock->sk->sk_family == AF_INET6 ? "tcp6" : "tcp",
			   psock->bpf_prog ? "bpf" : "frame");
		msgmux_proc_counters(seq, &s, skb_queue_len_lockless(&psock->txq));
	}
}

static void msgmux_proc_show_mux(struct seq_file *seq, struct msgmux_mux *mux)
{
	struct msgmux_psock *psock;
	struct msgmux_stats sum = {};
	struct msgmux_sock *msk;
	u32 queued = 0;

	spin_lock_bh(&mux->lock);
	list_for_each_entry(msk, &mux->socks, mux_node) {
		msgmux_stats_add(&sum, &msk->stats);
		queued += skb_queue_len_lockless(&msk->sk.sk_receive_queue);
	}
	/* Drops and errors: the sockets', and every connection's. */
	sum.dropped += mux->gone.dropped;
	sum.errors += mux->gone.errors;
	list_for_each_entry(psock, &mux->psocks, mux_node) {
		sum.dropped += READ_ONCE(psock->stats.dropped);
		sum.errors += READ_ONCE(psock->stats.errors);
	}
	seq_printf(seq, "mux  %-10u %-2u %-10s %-9s %-6s", mux->id, 0, "-", "-",
		   "-");
	msgmux_proc_counters(seq, &sum, queued);
	__msgmux_proc_show_socks(seq, mux);
	__msgmux_proc_show_conns(seq, mux);
	spin_unlock_bh(&mux->lock);
}

static void *msgmux_proc_start(struct seq_file *seq, loff_t *pos)
{
	struct msgmux_net *mn = msgmux_pernet(seq_file_net(seq));

	mutex_lock(&mn->lock);
	return seq_list_start_head(&mn->muxes, *pos);
}

static void *msgmux_proc_next(struct seq_file *seq, void *v, loff_t *pos)
{
	struct msgmux_net *mn = msgmux_pernet(seq_file_net(seq));

	return seq_list_next(v, &mn->muxes, pos);
}

static void msgmux_proc_stop(struct seq_file *seq, void *v)
{
	struct msgmux_net *mn = msgmux_pernet(seq_file_net(seq));

	mutex_unlock(&mn->lock);
}

static int msgmux_proc_show(struct seq_file *seq, void *v)
{
	struct msgmux_net *mn = msgmux_pernet(seq_file_net(seq));

	/* seq_list_start_head() yields the list head itself first. */
	if (v == &mn->muxes)
		seq_puts(seq, MSGMUX_PROC_HEADER);
	else
		msgmux_proc_show_mux(seq, list_entry(v, struct msgmux_mux,
						     net_node));
	return 0;
}

static const struct seq_operations msgmux_proc_seq_ops = {
	.start = msgmux_proc_start,
	.next = msgmux_proc_next,
	.stop = msgmux_proc_stop,
	.show = msgmux_proc_show,
};

/**
 * msgmux_proc_init_net() - create /proc/net/msgmux in a namespace
 * @net: the new namespace.
 *
 * Context: process context, from the pernet init hook.
 * Return: 0, or -ENOMEM.
 */
int msgmux_proc_init_net(struct net *net)
{
	if (!proc_create_net("msgmux", 0444, net->proc_net,
			     &msgmux_proc_seq_ops, sizeof(struct seq_net_private)))
		return -ENOMEM;
	return 0;
}

/**
 * msgmux_proc_exit_net() - remove /proc/net/msgmux from a namespace
 * @net: the namespace going away.
 *
 * Context: process context, from the pernet exit hook.
 */
void msgmux_proc_exit_net(struct net *net)
{
	remove_proc_entry("msgmux", net->proc_net);
}
