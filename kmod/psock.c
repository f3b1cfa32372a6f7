// SPDX-License-Identifier: GPL-2.0
/*
 * psock.c - lower connections: attaching TCP sockets to a mux.
 *
 * DOC: Lower connections
 *
 * Attaching takes over a connected TCP socket the way KCM does: msgmux
 * installs its own data_ready, write_space and state_change callbacks
 * under the socket's sk_callback_lock, refuses a socket whose
 * sk_user_data another layer already uses, and runs a strparser on it.
 * The parser is msgmux's built-in framing or a BPF program; either way it
 * sees the message it parses at offset 0.
 *
 * Messages to send wait in the connection's queue (&msgmux_psock.txq) and
 * are written to TCP in order, one whole message after another, by
 * whichever sender or worker holds the TCP socket's lock, so messages of
 * different senders never interleave on the wire.
 *
 * A connection leaves service in one place, msgmux_psock_detach(): on
 * SIOCMSGMUXUNATTACH, when the mux's last socket closes, after the peer's
 * FIN, or after an error (reset, bad framing, oversized message, assembly
 * timeout).  While still hooked, it writes what was queued for the
 * connection (waiting up to the socket's SO_LINGER time, and aborting the
 * TCP connection rather than leave a message cut); then it restores the
 * TCP socket's callbacks, hands a message parsed but not yet delivered to
 * an upper socket, and tells every upper socket which connection left
 * and why.
 */
#include <linux/bpf.h>
#include <linux/file.h>
#include <linux/filter.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <net/inet_connection_sock.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "compat.h"
#include "msgmux.h"
#include "trace.h"

static void msgmux_psock_fail(struct msgmux_psock *psock, int err,
			      u32 reason);

/*
 * Connections come from a cache of their own: kmalloc() would round each
 * up to its 1 KiB size class, a third of it unused.
 */
static struct kmem_cache *msgmux_psock_cache __ro_after_init;

/**
 * msgmux_psock_cache_init() - create the cache connections come from
 *
 * Return: 0, or -ENOMEM.
 */
int __init msgmux_psock_cache_init(void)
{
	msgmux_psock_cache = KMEM_CACHE(msgmux_psock, 0);
	return msgmux_psock_cache ? 0 : -ENOMEM;
}

/**
 * msgmux_psock_cache_exit() - destroy it, once every connection is gone
 */
void msgmux_psock_cache_exit(void)
{
	kmem_cache_destroy(msgmux_psock_cache);
}

/* Callers hold @sk's sk_callback_lock, which keeps the psock alive. */
static struct msgmux_psock *msgmux_psock_of(const struct sock *sk)
{
	return READ_ONCE(sk->sk_user_data);
}

static void msgmux_psock_data_ready(struct sock *sk)
{
	struct msgmux_psock *psock;

	read_lock_bh(&sk->sk_callback_lock);
	psock = msgmux_psock_of(sk);
	if (likely(psock))
		strp_data_ready(&psock->strp);
	read_unlock_bh(&sk->sk_callback_lock);
}

static void msgmux_psock_write_space(struct sock *sk)
{
	struct msgmux_psock *psock;

	read_lock_bh(&sk->sk_callback_lock);
	psock = msgmux_psock_of(sk);
	if (likely(psock)) {
		if (!skb_queue_empty_lockless(&psock->txq))
			msgmux_psock_kick(psock);
		/* TCP's own: clears SOCK_NOSPACE, wakes a flushing detach. */
		psock->save_write_space(sk);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

/*
 * The peer closed its side.  Once everything it sent before is parsed and
 * handed to an upper socket, the connection leaves service; a partial
 * message left then is dropped and counted.  Called with @sk locked (its
 * callbacks, or strparser's read).
 */
static void msgmux_psock_eof_check(struct msgmux_psock *psock)
{
	if (!READ_ONCE(psock->rx_eof) || READ_ONCE(psock->rx_held))
		return;
	if (!tcp_inq(psock->sk))
		msgmux_psock_fail(psock, -EPIPE, MSGMUX_CONN_CLOSED);
	else if (psock->strp.need_bytes)
		/*
		 * strparser waits for the rest of a message before it reads
		 * again, and the rest will never come: have it read what is
		 * there (its read ends here again, with nothing left).
		 */
		strp_check_rcv(&psock->strp);
}

static void msgmux_psock_state_change(struct sock *sk)
{
	struct msgmux_psock *psock;
	int err;

	read_lock_bh(&sk->sk_callback_lock);
	psock = msgmux_psock_of(sk);
	if (likely(psock)) {
		err = READ_ONCE(sk->sk_err);
		if (err) {
			msgmux_psock_fail(psock, -err, MSGMUX_CONN_TCP_ERROR);
		} else if (sk->sk_state == TCP_ESTABLISHED) {
			msgmux_psock_established(psock);
		} else if (READ_ONCE(psock->connecting) &&
			   sk->sk_state == TCP_CLOSE) {
			msgmux_psock_fail(psock, -ECONNABORTED,
					  MSGMUX_CONN_TCP_ERROR);
		} else if (sk->sk_state == TCP_CLOSE_WAIT ||
			   sk->sk_state == TCP_CLOSE) {
			/* FIN (or FIN after ours): nothing more will come. */
			WRITE_ONCE(psock->rx_eof, true);
			msgmux_psock_eof_check(psock);
		}
		/* Whoever waits on the TCP socket itself still wakes. */
		psock->save_state_change(sk);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

static struct msgmux_psock *msgmux_strp_psock(struct strparser *strp)
{
	return container_of(strp, struct msgmux_psock, strp);
}

/*
 * Run the BPF parser with the message at offset 0.  strparser hands over
 * an skb whose message may start anywhere (KCM's parser sees the skb's own
 * start, and mis-frames once TCP coalesces segments); a copy of the first
 * bytes into a private skb gives the program the message's start.
 */
static int msgmux_bpf_run(struct msgmux_psock *psock, struct sk_buff *skb)
{
	int ret;

	/* strparser may call us from process context: BPF needs RCU. */
	rcu_read_lock();
	ret = bpf_prog_run_save_cb(psock->bpf_prog, skb);
	rcu_read_unlock();
	return ret;
}

static int msgmux_bpf_parse(struct msgmux_psock *psock, struct sk_buff *skb)
{
	unsigned int off = strp_msg(skb)->offset;
	struct sk_buff *view = psock->bpf_skb;
	unsigned int n;

	if (!off)
		return msgmux_bpf_run(psock, skb);

	n = min_t(unsigned int, skb->len - off, skb_tailroom(view) +
		  skb_headlen(view));
	view->data = view->head;
	skb_reset_tail_pointer(view);
	view->len = 0;
	if (skb_copy_bits(skb, off, skb_put(view, n), n))
		return -EBADMSG;
	return msgmux_bpf_run(psock, view);
}

static int msgmux_strp_parse(struct strparser *strp, struct sk_buff *skb)
{
	struct msgmux_psock *psock = msgmux_strp_psock(strp);
	unsigned int off = strp_msg(skb)->offset;
	int len;

	/* strparser frees the partial message before it calls abort. */
	psock->rx_partial = skb->len - off;
	if (!psock->bpf_prog)
		return msgmux_frame_parse(&psock->frame, skb, off,
					  &psock->rx_hdr_len);

	len = msgmux_bpf_parse(psock, skb);
	if (len > (int)psock->frame.max_size)
		return -EMSGSIZE;
	psock->rx_hdr_len = 0;
	return len;
}

static void msgmux_strp_rcv(struct strparser *strp, struct sk_buff *skb)
{
	struct msgmux_psock *psock = msgmux_strp_psock(strp);
	struct strp_msg *stm = strp_msg(skb);
	struct msgmux_rx_cb cb = {
		.offset = stm->offset,
		.len = stm->full_len,
		.conn_id = psock->id,
		.peer = psock->peer,
	};

	/* Complete: nothing of it is partial any more. */
	psock->rx_partial = 0;
	if (!psock->bpf_prog && msgmux_frame_strips(&psock->frame)) {
		cb.offset += psock->rx_hdr_len;
		cb.len -= psock->rx_hdr_len;
	}
	*MSGMUX_RX_CB(skb) = cb;

	WRITE_ONCE(psock->stats.rx_msgs, psock->stats.rx_msgs + 1);
	WRITE_ONCE(psock->stats.rx_bytes, psock->stats.rx_bytes + cb.len);
	trace_msgmux_rx_msg(psock->mux->id, psock->id, cb.len);
	msgmux_rx_deliver(psock, skb);
}

static u32 msgmux_strp_reason(int err)
{
	switch (err) {
	case -EMSGSIZE:
		return MSGMUX_CONN_TOO_BIG;
	case -ETIMEDOUT:
		return MSGMUX_CONN_TIMEOUT;
	case -EBADMSG:
	case -EPROTO:
		return MSGMUX_CONN_BAD_FRAME;
	default:
		return MSGMUX_CONN_BPF_ERROR;
	}
}

/*
 * strparser gave up on the stream: bad framing, a message over the
 * maximum, an assembly timeout or a BPF error.  Report it on the TCP
 * socket, as KCM does, and take the connection out of service.
 */
static void msgmux_strp_abort(struct strparser *strp, int err)
{
	struct msgmux_psock *psock = msgmux_strp_psock(strp);
	u32 reason = msgmux_strp_reason(err);

	/* An error the BPF program made up is still an error. */
	if (err == -EPROTO || reason == MSGMUX_CONN_BAD_FRAME)
		err = -EBADMSG;
	strp_stop(strp);
	if (psock->err)
		return;
	WRITE_ONCE(psock->sk->sk_err, -err);
	sk_error_report(psock->sk);
	msgmux_psock_fail(psock, err, reason);
}

/*
 * After each read of the stream: wake the reader of what it delivered;
 * has the peer's last message gone up?
 */
static int msgmux_strp_read_done(struct strparser *strp, int err)
{
	struct msgmux_psock *psock = msgmux_strp_psock(strp);

	msgmux_rx_read_done(psock);
	msgmux_psock_eof_check(psock);
	return err;
}

static const struct strp_callbacks msgmux_strp_cb = {
	.parse_msg = msgmux_strp_parse,
	.rcv_msg = msgmux_strp_rcv,
	.abort_parser = msgmux_strp_abort,
	.read_sock_done = msgmux_strp_read_done,
};

/*
 * Close a socket msgmux made, as close() would with @linger as SO_LINGER:
 * -1 closes in the background, 0 resets the connection.
 */
static void msgmux_psock_close(struct socket *csock, long linger)
{
	struct sock *sk = csock->sk;

	if (linger >= 0) {
		lock_sock(sk);
		sock_set_flag(sk, SOCK_LINGER);
		WRITE_ONCE(sk->sk_lingertime, linger);
		release_sock(sk);
	}
	sock_release(csock);
}

/*
 * A connection's socket is released only with its last reference, so a
 * connect() still waiting on it, or a sender still pushing, never sees it
 * go.
 */
static void msgmux_psock_free(struct msgmux_psock *psock)
{
	WARN_ON_ONCE(psock->rx_wake);
	if (psock->bpf_prog)
		bpf_prog_put(psock->bpf_prog);
	kfree_skb(psock->bpf_skb);
	if (psock->csock)
		msgmux_psock_close(psock->csock, psock->linger);
	sock_put(psock->sk);
	msgmux_mux_put(psock->mux);
	kmem_cache_free(msgmux_psock_cache, psock);
}

/**
 * msgmux_psock_put() - drop a reference on a connection
 * @psock: the connection; freed with its last reference.
 *
 * Context: process context: the last reference may free the mux.
 */
void msgmux_psock_put(struct msgmux_psock *psock)
{
	might_sleep();
	if (refcount_dec_and_test(&psock->refcnt))
		msgmux_psock_free(psock);
}

/*
 * Queue @work on msgmux's workqueue with a reference for it to drop.  The
 * caller holds a reference (or the hook does), so dropping the work's own
 * when it was queued already never frees the psock here.
 */
static void msgmux_psock_queue(struct msgmux_psock *psock,
			       struct work_struct *work)
{
	refcount_inc(&psock->refcnt);
	if (!queue_work(msgmux_wq, work))
		refcount_dec(&psock->refcnt);
}

/* Cancel @work; if it was pending, drop the reference it held. */
static void msgmux_psock_cancel(struct msgmux_psock *psock,
				struct work_struct *work)
{
	if (cancel_work_sync(work))
		msgmux_psock_put(psock);
}

/**
 * msgmux_psock_kick() - have a worker write a connection's queue
 * @psock: the connection; the caller holds a reference, or its hook.
 *
 * Context: any.
 */
void msgmux_psock_kick(struct msgmux_psock *psock)
{
	refcount_inc(&psock->refcnt);
	/* Due later (MSG_BATCH): now instead, with the reference it holds. */
	if (mod_delayed_work(msgmux_wq, &psock->tx_work, 0))
		refcount_dec(&psock->refcnt);
}

/**
 * __msgmux_psock_kick_later() - have a worker write a connection's queue
 * a jiffy from now, unless it is due sooner
 * @psock: the connection, in service.
 *
 * What a send with MSG_BATCH left queued is written by the end of its
 * batch; this is in case the batch never ends.
 *
 * Context: caller holds &msgmux_mux.lock (which keeps @psock in
 * service, so that msgmux_psock_detach() cancels what this queues).
 */
void __msgmux_psock_kick_later(struct msgmux_psock *psock)
{
	lockdep_assert_held(&psock->mux->lock);

	refcount_inc(&psock->refcnt);
	if (!queue_delayed_work(msgmux_wq, &psock->tx_work, 1))
		refcount_dec(&psock->refcnt);
}

/**
 * msgmux_psock_unkick() - cancel a pending write of a connection's queue
 * @psock: the connection; the caller holds a reference, and writes the
 *	queue itself next.
 */
void msgmux_psock_unkick(struct msgmux_psock *psock)
{
	if (cancel_delayed_work(&psock->tx_work))
		refcount_dec(&psock->refcnt);
}

/*
 * skb_send_sock_locked() for the skbs msgmux builds (a head, then page
 * fragments), with MSG_MORE while more of the queue follows: TCP then
 * fills whole segments rather than push every message, and every
 * header written ahead of its payload, as a segment of its own.
 * Returns the bytes written from @off, or an error if none were.
 */
static int msgmux_psock_send_skb(struct sock *sk, struct sk_buff *skb,
				 unsigned int off, bool more)
{
	const struct skb_shared_info *shi = skb_shinfo(skb);
	unsigned int head = skb_headlen(skb), n;
	int sent = 0, ret, i;

	if (off < head) {
		struct kvec kv = { skb->data + off, head - off };
		struct msghdr msg = {
			.msg_flags = MSG_DONTWAIT |
				     (more || shi->nr_frags ? MSG_MORE : 0),
		};

		ret = kernel_sendmsg_locked(sk, &msg, &kv, 1, kv.iov_len);
		if (ret <= 0)
			return ret;
		sent = ret;
		if ((size_t)ret < kv.iov_len)
			return sent;
		off = head;
	}
	off -= head;
	for (i = 0; i < shi->nr_frags; i++) {
		const skb_frag_t *frag = &shi->frags[i];

		n = skb_frag_size(frag);
		if (off >= n) {
			off -= n;
			continue;
		}
		n -= off;
		ret = msgmux_sendpage_locked(sk, skb_frag_page(frag),
					     skb_frag_off(frag) + off, n,
					     MSG_DONTWAIT |
					     (more || i + 1 < shi->nr_frags ?
					      MSG_MORE : 0));
		if (ret <= 0)
			return sent ? : ret;
		sent += ret;
		if (ret < n)
			break;
		off = 0;
	}
	return sent;
}

/*
 * Write the queued messages to TCP.  With @timeo, wait for room up to
 * that long; without, stop when TCP is full (write_space resumes).
 */
static int __msgmux_psock_write(struct msgmux_psock *psock, long *timeo)
{
	struct sock *sk = psock->sk;
	struct sk_buff *skb;
	int ret;

	sock_owned_by_me(sk);

again:
	while (!psock->tx_stopped && (skb = skb_peek(&psock->txq))) {
		/*
		 * Writing to a failed TCP socket would consume its SO_ERROR
		 * and raise SIGPIPE in whichever sender pushes.
		 */
		if (READ_ONCE(sk->sk_err) || sk->sk_shutdown & SEND_SHUTDOWN) {
			msgmux_psock_fail(psock, -(READ_ONCE(sk->sk_err) ? :
						   EPIPE),
					  MSGMUX_CONN_TCP_ERROR);
			return -EPIPE;
		}
		ret = msgmux_psock_send_skb(sk, skb, psock->tx_off,
					    skb_queue_len_lockless(&psock->txq) > 1);
		if (ret == -EAGAIN && timeo && *timeo) {
			ret = sk_stream_wait_memory(sk, timeo);
			if (ret)
				return ret;
			continue;
		}
		if (ret < 0) {
			if (ret != -EAGAIN)
				msgmux_psock_fail(psock, ret,
						  MSGMUX_CONN_TCP_ERROR);
			return ret;
		}
		psock->tx_off += ret;
		psock->tx_mid = true;
		if (psock->tx_off < skb->len)
			continue;

		skb_unlink(skb, &psock->txq);
		psock->tx_off = 0;
		psock->tx_mid = !MSGMUX_TX_CB(skb)->eom;
		if (MSGMUX_TX_CB(skb)->eom)
			WRITE_ONCE(psock->stats.tx_msgs,
				   psock->stats.tx_msgs + 1);
		WRITE_ONCE(psock->stats.tx_bytes,
			   psock->stats.tx_bytes + skb->len);
		/* Uncharges the sender, which may now send more. */
		consume_skb(skb);
	}
	/*
	 * shutdown(SHUT_WR): nothing is queued after it, so FIN follows the
	 * rest.  Pairs with msgmux_psock_fin(): a message queued before it
	 * is in the queue now, though not when the loop above looked.
	 */
	if (smp_load_acquire(&psock->tx_fin) && !psock->tx_stopped &&
	    !(sk->sk_shutdown & SEND_SHUTDOWN)) {
		if (!skb_queue_empty(&psock->txq))
			goto again;
		WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | SEND_SHUTDOWN);
		sk->sk_prot->shutdown(sk, SEND_SHUTDOWN);
	}
	return 0;
}

/**
 * msgmux_psock_push() - write what is queued on a connection, without
 * waiting for TCP
 * @psock: the connection; the caller holds a reference.
 *
 * Context: process context; takes lock_sock() of the TCP socket.
 */
void msgmux_psock_push(struct msgmux_psock *psock)
{
	lock_sock(psock->sk);
	__msgmux_psock_write(psock, NULL);
	release_sock(psock->sk);
}

static void msgmux_psock_tx_work(struct work_struct *work)
{
	struct msgmux_psock *psock = container_of(to_delayed_work(work),
						  struct msgmux_psock,
						  tx_work);

	msgmux_psock_push(psock);
	msgmux_psock_put(psock);
}

static void msgmux_psock_fail_work(struct work_struct *work);

/**
 * msgmux_psock_fin() - shutdown(SHUT_WR) of a connection
 * @psock: a connection msgmux made; the caller holds a reference.
 *
 * No message is queued on it any more; FIN follows the ones queued.
 *
 * Context: process context.
 */
void msgmux_psock_fin(struct msgmux_psock *psock)
{
	spin_lock_bh(&psock->mux->lock);
	/*
	 * Pairs with __msgmux_psock_write(): whoever sees the flag sees
	 * every message queued before it.
	 */
	smp_store_release(&psock->tx_fin, true);
	spin_unlock_bh(&psock->mux->lock);
	msgmux_psock_push(psock);
}

/*
 * Record the first error and have a worker take the connection away,
 * unless it is already leaving (its detach then reports the error).
 */
static void msgmux_psock_fail(struct msgmux_psock *psock, int err,
			      u32 reason)
{
	if (cmpxchg(&psock->err, 0, err))
		return;
	WRITE_ONCE(psock->reason, reason);
	if (!READ_ONCE(psock->dead))
		msgmux_psock_queue(psock, &psock->fail_work);
}

/* Only connected TCP sockets; anything else, a clear errno. */
static int msgmux_attach_check(struct sock *csk)
{
	if ((csk->sk_family != AF_INET && csk->sk_family != AF_INET6) ||
	    csk->sk_type != SOCK_STREAM || csk->sk_protocol != IPPROTO_TCP)
		return -EOPNOTSUPP;
	if (csk->sk_state != TCP_ESTABLISHED &&
	    csk->sk_state != TCP_CLOSE_WAIT)
		return -ENOTCONN;
	/* kTLS and other upper layers own the socket's data path. */
	if (inet_csk(csk)->icsk_ulp_ops)
		return -EBUSY;
	return 0;
}

/**
 * msgmux_psock_addr() - a TCP socket's local or peer address
 * @sk: a connected TCP socket.
 * @p: filled in.
 * @local: the local address, else the peer's.
 */
void msgmux_psock_addr(const struct sock *sk, struct msgmux_peer *p,
		       bool local)
{
	const struct inet_sock *inet = inet_sk(sk);

	memset(p, 0, sizeof(*p));
	p->family = sk->sk_family;
	p->port = local ? inet->inet_sport : inet->inet_dport;
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6) {
		memcpy(p->addr, local ? &sk->sk_v6_rcv_saddr :
		       &sk->sk_v6_daddr, 16);
		p->scope_id = sk->sk_bound_dev_if;
		return;
	}
#endif
	memcpy(p->addr, local ? &inet->inet_rcv_saddr : &inet->inet_daddr, 4);
}

/**
 * msgmux_psock_alloc() - allocate a connection, before its TCP socket
 * @mux: the mux it will join.
 * @prog: its BPF parser, or NULL.
 *
 * msgmux_psock_join() allocates one itself; a caller that must have the
 * memory before it takes the TCP socket (accept()) passes this one in
 * &msgmux_join.spare, or frees it with msgmux_psock_discard().
 *
 * Context: process context.
 * Return: the connection, or NULL.
 */
struct msgmux_psock *msgmux_psock_alloc(struct msgmux_mux *mux,
					struct bpf_prog *prog)
{
	struct msgmux_psock *psock;

	psock = kmem_cache_zalloc(msgmux_psock_cache, GFP_KERNEL);
	if (!psock)
		return NULL;
	if (prog) {
		psock->bpf_skb = alloc_skb(256, GFP_KERNEL);
		if (!psock->bpf_skb) {
			kmem_cache_free(msgmux_psock_cache, psock);
			return NULL;
		}
	}
	psock->mux = mux;
	psock->bpf_prog = prog;
	psock->linger = MSGMUX_NO_LINGER;
	refcount_set(&psock->refcnt, 1);
	INIT_LIST_HEAD(&psock->mux_node);
	INIT_LIST_HEAD(&psock->rx_wait_node);
	skb_queue_head_init(&psock->txq);
	INIT_DELAYED_WORK(&psock->tx_work, msgmux_psock_tx_work);
	INIT_WORK(&psock->fail_work, msgmux_psock_fail_work);
	return psock;
}

/**
 * msgmux_psock_discard() - free a connection that never joined
 * @psock: from msgmux_psock_alloc(); it holds no reference yet.
 */
void msgmux_psock_discard(struct msgmux_psock *psock)
{
	kfree_skb(psock->bpf_skb);
	kmem_cache_free(msgmux_psock_cache, psock);
}

/*
 * strparser refuses a message longer than the TCP receive buffer, and
 * reads the rest of one only once TCP holds all of it: the buffer must
 * take a whole message of max_size with TCP's overhead (skb truesize,
 * the window it keeps back), or the stream stalls.
 */
static void msgmux_psock_size_rcvbuf(struct msgmux_psock *psock)
{
	struct sock *sk = psock->sk;
	int want = min_t(u64, (u64)MSGMUX_RCVBUF_FACTOR *
			 psock->frame.max_size, INT_MAX / 2);

	psock->save_rcvbuf = sk->sk_rcvbuf;
	psock->set_rcvbuf = 0;
	if (sk->sk_rcvbuf >= want)
		return;
	WRITE_ONCE(sk->sk_rcvbuf, want);
	psock->set_rcvbuf = want;
}

/*
 * Put the connection into the mux's list, with an id, its peer and the
 * framing: from then on messages go up from it and down to it.
 */
static void __msgmux_psock_link(struct msgmux_psock *psock)
{
	struct msgmux_mux *mux = psock->mux;
	struct msgmux_sock *msk;

	lockdep_assert_held(&mux->lock);

	WRITE_ONCE(psock->connecting, false);
	psock->id = mux->next_conn_id++;
	psock->frame = mux->frame;
	msgmux_psock_addr(psock->sk, &psock->peer, false);
	msgmux_psock_size_rcvbuf(psock);
	list_add_tail(&psock->mux_node, &mux->psocks);
	mux->npsocks++;
	__msgmux_conn_linked(psock);
	trace_msgmux_conn_attach(mux->id, psock->id, psock->sk->sk_family,
				 psock->bpf_prog);
	/* A writer polling for POLLOUT can now queue a message. */
	list_for_each_entry(msk, &mux->socks, mux_node)
		msk->sk.sk_write_space(&msk->sk);
}

/**
 * msgmux_psock_established() - the connection connect() made is up
 * @psock: the connection; linked into its mux unless it was already, or
 *	is out of service.
 *
 * Context: the TCP socket's state change (softirq context), or connect()
 * once TCP returned.
 */
void msgmux_psock_established(struct msgmux_psock *psock)
{
	struct msgmux_mux *mux = psock->mux;

	spin_lock_bh(&mux->lock);
	if (psock->connecting && !psock->dead)
		__msgmux_psock_link(psock);
	spin_unlock_bh(&mux->lock);
}

/* Take @psock out of service; caller holds &mux->lock and checked !dead. */
static void __msgmux_psock_unlink(struct msgmux_psock *psock)
{
	struct msgmux_mux *mux = psock->mux;

	lockdep_assert_held(&mux->lock);

	WRITE_ONCE(psock->dead, true);
	if (psock->connecting) {
		__msgmux_conn_unlinked(psock);
		return;
	}
	list_del_init(&psock->mux_node);
	mux->npsocks--;
	if (psock->accepted) {
		mux->naccepted--;
		__msgmux_listen_kick(mux);
	}
}

/**
 * msgmux_psock_unlink() - take a connection out of service
 * @psock: the connection.
 *
 * Return: false if someone else did already: exactly one caller goes on
 * to detach it, with msgmux_psock_leave().
 */
bool msgmux_psock_unlink(struct msgmux_psock *psock)
{
	struct msgmux_mux *mux = psock->mux;
	bool mine;

	spin_lock_bh(&mux->lock);
	mine = !psock->dead;
	if (mine)
		__msgmux_psock_unlink(psock);
	spin_unlock_bh(&mux->lock);
	return mine;
}

/* Swap in msgmux's callbacks; -EALREADY if the socket is taken. */
static int msgmux_psock_hook(struct msgmux_psock *psock)
{
	struct sock *csk = psock->sk;
	int err = 0;

	write_lock_bh(&csk->sk_callback_lock);
	/* Attached here, to another mux, to KCM, or to sockmap: taken. */
	if (csk->sk_user_data) {
		err = -EALREADY;
		goto out;
	}
	psock->save_data_ready = csk->sk_data_ready;
	psock->save_write_space = csk->sk_write_space;
	psock->save_state_change = csk->sk_state_change;
	WRITE_ONCE(csk->sk_user_data, psock);
	csk->sk_data_ready = msgmux_psock_data_ready;
	csk->sk_write_space = msgmux_psock_write_space;
	csk->sk_state_change = msgmux_psock_state_change;
out:
	write_unlock_bh(&csk->sk_callback_lock);
	return err;
}

/* Give the TCP socket its own callbacks back. */
static void __msgmux_psock_unhook(struct msgmux_psock *psock)
{
	struct sock *csk = psock->sk;

	write_lock_bh(&csk->sk_callback_lock);
	WRITE_ONCE(csk->sk_user_data, NULL);
	csk->sk_data_ready = psock->save_data_ready;
	csk->sk_write_space = psock->save_write_space;
	csk->sk_state_change = psock->save_state_change;
	strp_stop(&psock->strp);
	write_unlock_bh(&csk->sk_callback_lock);
}

static void msgmux_psock_unhook(struct msgmux_psock *psock)
{
	struct sock *csk = psock->sk;

	lock_sock(csk);
	if (psock->set_rcvbuf && csk->sk_rcvbuf == psock->set_rcvbuf)
		WRITE_ONCE(csk->sk_rcvbuf, psock->save_rcvbuf);
	release_sock(csk);
	__msgmux_psock_unhook(psock);
}

static struct bpf_prog *msgmux_get_parser(int bpf_fd)
{
	if (bpf_fd == -1)
		return NULL;
	if (bpf_fd < 0)
		return ERR_PTR(-EBADF);
	return bpf_prog_get_type(bpf_fd, BPF_PROG_TYPE_SOCKET_FILTER);
}

/*
 * Link the new, hooked connection into the mux; with MSGMUX_JOIN_CONNECT,
 * only make it its owner's pending connection: it is linked once
 * established.  -EISCONN if the mux has no room for it (a one-to-one
 * SOCK_SEQPACKET mux): checked under the lock that links it, so two
 * sockets of a mux cannot both get in.
 */
static int msgmux_psock_start(struct msgmux_psock *psock,
			      struct msgmux_join *j)
{
	struct msgmux_mux *mux = psock->mux;
	int err;

	spin_lock_bh(&mux->lock);
	err = __msgmux_conn_admit(mux, j->flags);
	if (err) {
		spin_unlock_bh(&mux->lock);
		return err;
	}
	psock->owner = j->owner;
	psock->accepted = j->flags & MSGMUX_JOIN_ACCEPTED;
	if (j->flags & MSGMUX_JOIN_CONNECT) {
		psock->connecting = true;
		j->owner->connecting = psock;
		refcount_inc(&psock->refcnt);
		j->psock = psock;
	} else {
		__msgmux_psock_link(psock);
	}
	j->conn_id = psock->id;
	spin_unlock_bh(&mux->lock);
	return 0;
}

/**
 * msgmux_psock_join() - make a TCP socket a connection of a mux
 * @mux: the mux.
 * @j: the socket and how it joins; on success its socket belongs to the
 *	connection (the file reference of an attached socket, the socket
 *	itself with %MSGMUX_JOIN_OWN).
 *
 * Context: process context.
 * Return: 0, or the errors of msgmux_attach() for the socket's state;
 * -ENOMEM only without &msgmux_join.spare.
 */
int msgmux_psock_join(struct msgmux_mux *mux, struct msgmux_join *j)
{
	struct sock *csk = j->csock->sk;
	struct msgmux_psock *psock;
	int err;

	psock = j->spare ? j->spare : msgmux_psock_alloc(mux, j->prog);
	j->spare = NULL;
	if (!psock)
		return -ENOMEM;
	psock->sk = csk;
	err = strp_init(&psock->strp, csk, &msgmux_strp_cb);
	if (err)
		goto err_free;

	/*
	 * While we own the TCP socket, its callbacks cannot run (softirq
	 * work goes to the backlog) and no sender can write to it: hooking
	 * and then linking it into the mux is one step for everyone else.
	 */
	lock_sock(csk);
	err = j->flags & MSGMUX_JOIN_CONNECT ? 0 : msgmux_attach_check(csk);
	if (!err)
		err = msgmux_psock_hook(psock);
	if (err)
		goto err_unlock;
	if (j->flags & MSGMUX_JOIN_OWN)
		psock->csock = j->csock;
	else
		psock->file = j->csock->file;
	psock->ino = SOCK_INODE(j->csock)->i_ino;
	sock_hold(csk);
	msgmux_mux_get(mux);
	err = msgmux_psock_start(psock, j);
	if (err) {
		/* The caller's references keep both alive. */
		msgmux_mux_put(mux);
		sock_put(csk);
		__msgmux_psock_unhook(psock);
		goto err_unlock;
	}
	/* Its peer closed already: no state change will come to tell us. */
	if (csk->sk_state == TCP_CLOSE_WAIT)
		WRITE_ONCE(psock->rx_eof, true);
	/*
	 * Parse what arrived before the hook.  Queued while we own the
	 * socket: once released, a reset in the backlog or an unattach may
	 * free the psock, and detach's strp_done() cancels this work.
	 */
	strp_check_rcv(&psock->strp);
	release_sock(csk);
	return 0;

err_unlock:
	release_sock(csk);
	strp_stop(&psock->strp);
	strp_done(&psock->strp);
err_free:
	msgmux_psock_discard(psock);
	return err;
}

/**
 * msgmux_attach() - SIOCMSGMUXATTACH: attach a TCP socket to a mux
 * @msk: a socket of the mux.
 * @fd: the TCP socket's file descriptor.
 * @bpf_fd: a BPF_PROG_TYPE_SOCKET_FILTER program, or -1 for the built-in
 *	framing.
 * @conn_id: set to the new connection's id.
 *
 * Context: process context.
 * Return: 0; -EBADF or -ENOTSOCK for a bad @fd; -EOPNOTSUPP for a socket
 * that is not TCP over IPv4 or IPv6; -ENOTCONN for one that is not
 * connected (listening included); -EALREADY if it is attached already (to
 * a mux, KCM or sockmap); -EBUSY if an upper layer protocol (kTLS) owns
 * it; -EISCONN if the mux is one-to-one with a connection (a
 * SOCK_SEQPACKET socket of it connected or was accepted); -EBADF or
 * -EINVAL for a bad @bpf_fd; -ENOMEM.
 */
int msgmux_attach(struct msgmux_sock *msk, int fd, int bpf_fd, u32 *conn_id)
{
	struct msgmux_join j = {};
	struct bpf_prog *prog;
	struct socket *csock;
	int err;

	csock = sockfd_lookup(fd, &err);
	if (!csock)
		return err;
	prog = msgmux_get_parser(bpf_fd);
	if (IS_ERR(prog)) {
		err = PTR_ERR(prog);
		goto err_put_sock;
	}
	j.csock = csock;
	j.prog = prog;
	err = msgmux_psock_join(msk->mux, &j);
	if (err)
		goto err_put_prog;
	*conn_id = j.conn_id;
	return 0;

err_put_prog:
	if (prog)
		bpf_prog_put(prog);
err_put_sock:
	sockfd_put(csock);
	return err;
}

/*
 * Bytes of a partial message the parser holds (and will drop), or, after
 * a parse error, held (and dropped already).
 */
static unsigned int msgmux_psock_partial(struct msgmux_psock *psock)
{
	struct sk_buff *head;
	unsigned int n = 0;

	lock_sock(psock->sk);
	head = psock->strp.skb_head;
	if (head)
		n = head->len - strp_msg(head)->offset;
	else if (psock->err)
		n = psock->rx_partial;
	release_sock(psock->sk);
	return n;
}

/* Make room in TCP's send buffer for everything queued on @psock. */
static void msgmux_psock_grow_sndbuf(struct msgmux_psock *psock)
{
	struct sock *sk = psock->sk;
	u64 want = sk->sk_wmem_queued;
	struct sk_buff *skb;

	sock_owned_by_me(sk);

	spin_lock_bh(&psock->txq.lock);
	skb_queue_walk(&psock->txq, skb)
		want += skb->truesize + skb->len;
	spin_unlock_bh(&psock->txq.lock);
	if (want <= (u64)sk->sk_sndbuf)
		return;
	sk->sk_userlocks |= SOCK_SNDBUF_LOCK;
	WRITE_ONCE(sk->sk_sndbuf, min_t(u64, want, INT_MAX / 2));
}

/*
 * Write what is queued, waiting up to @timeo, then stop writing for good
 * and drop (and count) whatever is left.  A message cut in the middle
 * would make the peer misframe everything after it, so then the TCP
 * connection is aborted instead of handed back.
 */
static void msgmux_psock_flush(struct msgmux_psock *psock, long *timeo,
			       bool abortive)
{
	struct sock *sk = psock->sk;
	unsigned int left = 0;
	struct sk_buff *skb;
	bool cut;

	lock_sock(sk);
	if (!psock->err || psock->reason == MSGMUX_CONN_CLOSED) {
		__msgmux_psock_write(psock, timeo);
		/*
		 * A socket msgmux made goes to no one after this: unless
		 * SO_LINGER {1, 0} resets it, TCP takes the rest now and
		 * sends it after close(), as TCP's own close() does with its
		 * send queue once SO_LINGER's time is up.
		 */
		if (psock->csock && !abortive &&
		    !skb_queue_empty(&psock->txq)) {
			msgmux_psock_grow_sndbuf(psock);
			__msgmux_psock_write(psock, NULL);
		}
	}
	cut = psock->tx_mid;
	psock->tx_stopped = true;
	release_sock(sk);

	while ((skb = skb_dequeue(&psock->txq))) {
		left += MSGMUX_TX_CB(skb)->eom;
		kfree_skb(skb);
	}
	if (left) {
		WRITE_ONCE(psock->stats.dropped, psock->stats.dropped + left);
		WRITE_ONCE(psock->stats.errors, psock->stats.errors + 1);
	}
	/* A socket TCP already closed (reset) needs no abort. */
	if (cut && inet_sk_state_load(sk) != TCP_CLOSE)
		tcp_abort(sk, ECONNABORTED);
}

/*
 * Take a connection out of service; the caller won msgmux_psock_unlink().
 * @timeo bounds the wait for queued messages to reach TCP.  Returns the
 * time left of it (@timeo itself if negative).
 */
static long msgmux_psock_detach(struct msgmux_psock *psock, long timeo)
{
	struct msgmux_mux *mux = psock->mux;
	long wait = max(timeo, 0L);
	unsigned int dropped;

	/* Still hooked: nobody can attach the socket while this waits. */
	msgmux_psock_flush(psock, &wait, !timeo);
	msgmux_psock_unhook(psock);
	/*
	 * A socket msgmux made closes as its SO_LINGER says, with the time
	 * left; if none is left, in the background rather than with the
	 * reset of SO_LINGER {1, 0}.
	 */
	if (timeo <= 0)
		psock->linger = timeo;
	else
		psock->linger = wait ? wait : MSGMUX_NO_LINGER;
	dropped = msgmux_psock_partial(psock);
	strp_done(&psock->strp);

	spin_lock_bh(&mux->lock);
	__msgmux_rx_release_held(psock);
	spin_unlock_bh(&mux->lock);

	if (cancel_delayed_work_sync(&psock->tx_work))
		msgmux_psock_put(psock);
	/* A connect() that failed was never in service: nothing to tell. */
	if (READ_ONCE(psock->connecting))
		goto out;
	if (dropped)
		WRITE_ONCE(psock->stats.dropped, psock->stats.dropped + 1);
	if (msgmux_psock_failed(psock, dropped))
		WRITE_ONCE(psock->stats.errors, psock->stats.errors + 1);
	msgmux_mux_retire_stats(mux, &psock->stats);
	if (psock->err) {
		trace_msgmux_conn_error(mux->id, psock->id, psock->err,
					psock->reason, dropped);
		msgmux_rx_notify(mux, psock, dropped);
	}
	msgmux_rx_conn_gone(mux, psock);
out:
	if (psock->file)
		fput(psock->file);
	msgmux_psock_put(psock);
	return timeo < 0 ? timeo : wait;
}

static void msgmux_psock_fail_work(struct work_struct *work)
{
	struct msgmux_psock *psock = container_of(work, struct msgmux_psock,
						  fail_work);

	if (msgmux_psock_unlink(psock))
		msgmux_psock_detach(psock, MSGMUX_NO_LINGER);
	msgmux_psock_put(psock);
}

/*
 * Find an attached connection by its TCP socket and take it out of the
 * list; NULL if the socket is not attached to @mux.
 */
static struct msgmux_psock *msgmux_psock_take(struct msgmux_mux *mux,
					      struct sock *csk, u32 id)
{
	struct msgmux_psock *psock, *found = NULL;

	spin_lock_bh(&mux->lock);
	list_for_each_entry(psock, &mux->psocks, mux_node) {
		if (psock->sk == csk || (id && psock->id == id)) {
			found = psock;
			__msgmux_psock_unlink(psock);
			break;
		}
	}
	spin_unlock_bh(&mux->lock);
	return found;
}

/**
 * msgmux_psock_failed() - did a connection leave because of an error?
 * @psock: a connection out of service.
 * @dropped: bytes of a partial message lost with it.
 *
 * Return: true unless it left cleanly: unattached or closed, or its peer
 * closed it (FIN) with nothing lost.
 */
bool msgmux_psock_failed(const struct msgmux_psock *psock,
			 unsigned int dropped)
{
	if (!psock->err)
		return false;
	return psock->reason != MSGMUX_CONN_CLOSED || dropped;
}

/**
 * msgmux_psock_leave() - detach a connection taken out of service
 * @psock: a connection whose msgmux_psock_unlink() returned true.
 * @timeo: how long queued messages may wait for TCP (a SO_LINGER time),
 *	or %MSGMUX_NO_LINGER.
 *
 * Context: process context.
 * Return: the time left of @timeo (@timeo itself if negative).
 */
long msgmux_psock_leave(struct msgmux_psock *psock, long timeo)
{
	msgmux_psock_cancel(psock, &psock->fail_work);
	return msgmux_psock_detach(psock, timeo);
}

static long msgmux_sock_linger(const struct msgmux_sock *msk)
{
	return sock_flag(&msk->sk, SOCK_LINGER) ? msk->sk.sk_lingertime :
	       MSGMUX_NO_LINGER;
}

/**
 * msgmux_unattach() - SIOCMSGMUXUNATTACH: give a TCP socket back
 * @msk: a socket of the mux.
 * @fd: the attached TCP socket's file descriptor.
 *
 * Messages already queued for the connection are written first, waiting
 * up to @msk's SO_LINGER time (not at all without SO_LINGER); what TCP
 * cannot take by then is dropped and counted, and if that cuts a message
 * in two the TCP connection is aborted (ECONNABORTED).
 *
 * Context: process context.
 * Return: 0, -EBADF or -ENOTSOCK for a bad @fd, -EINVAL if it is not
 * attached to this mux.
 */
int msgmux_unattach(struct msgmux_sock *msk, int fd)
{
	struct msgmux_psock *psock;
	struct socket *csock;
	int err;

	csock = sockfd_lookup(fd, &err);
	if (!csock)
		return err;
	psock = msgmux_psock_take(msk->mux, csock->sk, 0);
	sockfd_put(csock);
	if (!psock)
		return -EINVAL;
	msgmux_psock_leave(psock, msgmux_sock_linger(msk));
	return 0;
}

/**
 * msgmux_unattach_id() - give back the connection with a given id
 * @msk: a socket of the mux.
 * @id: the connection's id.
 *
 * Context: process context.
 * Return: 0, or -EINVAL if the mux has no such connection.
 */
int msgmux_unattach_id(struct msgmux_sock *msk, u32 id)
{
	struct msgmux_psock *psock = msgmux_psock_take(msk->mux, NULL, id);

	if (!psock)
		return -EINVAL;
	msgmux_psock_leave(psock, msgmux_sock_linger(msk));
	return 0;
}

/**
 * msgmux_psock_detach_all() - the mux's last socket is closing
 * @mux: the mux; no upper socket remains to send on it.
 * @timeo: how long queued messages may wait for TCP (SO_LINGER).
 *
 * Context: process context.
 */
void msgmux_psock_detach_all(struct msgmux_mux *mux, long timeo)
{
	struct msgmux_psock *psock;

	for (;;) {
		spin_lock_bh(&mux->lock);
		psock = list_first_entry_or_null(&mux->psocks,
						 struct msgmux_psock, mux_node);
		if (psock)
			__msgmux_psock_unlink(psock);
		spin_unlock_bh(&mux->lock);
		if (!psock)
			break;
		/* SO_LINGER bounds the close, not each connection. */
		timeo = msgmux_psock_leave(psock, timeo);
	}
}
