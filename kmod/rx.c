// SPDX-License-Identifier: GPL-2.0
/*
 * rx.c - receive: steering messages to upper sockets, and recvmsg().
 *
 * DOC: Receive steering and backpressure
 *
 * A connection's stream parser hands each complete message to
 * msgmux_rx_deliver().  The message goes to the first upper socket on the
 * mux's ready list, which then moves to the tail: messages spread round
 * robin over the sockets that can take them.  A socket is ready while it
 * receives (no MSGMUX_RECV_DISABLE, not closing) and holds less than
 * SO_RCVBUF; every queued skb is charged to it (sk_rmem_alloc).  A
 * connection wakes a socket's reader once per read of its stream (a TCP
 * segment holds many small messages), not once per message.
 *
 * When no socket is ready, the connection keeps the message aside and its
 * parser pauses: msgmux stops reading that TCP socket, whose receive
 * window then closes, so a fast sender meets TCP's own backpressure and
 * kernel memory stays bounded.  When a full socket's reader has drained
 * it to half its SO_RCVBUF (msgmux_rfree()), it becomes ready again,
 * takes the messages kept aside and restarts those parsers.  Not sooner:
 * restarting a paused parser queues strparser's work, and doing that for
 * every message read would cost a work item per message (KCM waits for
 * SO_RCVLOWAT).  No message that TCP delivered is dropped while an upper
 * socket lives to take it.
 */
#include <linux/errqueue.h>
#include <linux/skbuff.h>
#include <net/sock.h>

#include "msgmux.h"

/* Notifications a socket's error queue holds at most. */
#define MSGMUX_ERRQ_MAX	64
/* Messages up to this size may be copied out of the stream's skb. */
#define MSGMUX_RX_COPY	2048

static void __msgmux_rx_make_ready(struct msgmux_sock *msk);

/*
 * The destructor of every skb charged to an upper socket.  Runs wherever
 * the skb is freed, never under &msgmux_mux.lock (see the lock order).
 * A socket that stopped taking messages takes them again once drained to
 * half its SO_RCVBUF; it is never left unready with nothing queued.
 */
static void msgmux_rfree(struct sk_buff *skb)
{
	struct sock *sk = skb->sk;
	struct msgmux_sock *msk = msgmux_sk(sk);

	atomic_sub(skb->truesize, &sk->sk_rmem_alloc);
	/* Pairs with the barrier in __msgmux_rx_steer(). */
	smp_mb__after_atomic();

	if (READ_ONCE(msk->rx_ready) || READ_ONCE(msk->rx_disabled) ||
	    atomic_read(&sk->sk_rmem_alloc) > READ_ONCE(sk->sk_rcvbuf) / 2)
		return;

	spin_lock_bh(&msk->mux->lock);
	__msgmux_rx_make_ready(msk);
	spin_unlock_bh(&msk->mux->lock);
}

/* Charge @skb to @msk and queue it, waking a reader if @wake.  Takes @skb. */
static void msgmux_rx_queue(struct msgmux_sock *msk, struct sk_buff *skb,
			    bool wake)
{
	struct sock *sk = &msk->sk;

	skb_orphan(skb);
	skb->sk = sk;
	skb->destructor = msgmux_rfree;
	atomic_add(skb->truesize, &sk->sk_rmem_alloc);
	skb_queue_tail(&sk->sk_receive_queue, skb);
	if (wake)
		sk->sk_data_ready(sk);
}

static bool msgmux_rx_has_room(const struct msgmux_sock *msk)
{
	return atomic_read(&msk->sk.sk_rmem_alloc) <
	       READ_ONCE(msk->sk.sk_rcvbuf);
}

/*
 * Give @skb to the next ready socket, waking its reader if @wake.  Caller
 * holds &mux->lock; returns the socket, or NULL (keeping @skb) when no
 * socket is ready.
 */
static struct msgmux_sock *__msgmux_rx_steer(struct msgmux_mux *mux,
					     struct sk_buff *skb, bool wake)
{
	struct msgmux_sock *msk;

	lockdep_assert_held(&mux->lock);

	msk = list_first_entry_or_null(&mux->rx_ready, struct msgmux_sock,
				       rx_ready_node);
	if (!msk)
		return NULL;

	msgmux_rx_queue(msk, skb, wake);
	if (!msgmux_rx_has_room(msk)) {
		WRITE_ONCE(msk->rx_ready, false);
		/*
		 * Pairs with the barrier in msgmux_rfree(): either it sees
		 * !rx_ready and makes the socket ready again, or we see its
		 * uncharge here.  Without it, a reader draining the socket
		 * right now could leave it unready for good, with a
		 * connection paused on a held message.
		 */
		smp_mb();
		if (!msgmux_rx_has_room(msk)) {
			list_del_init(&msk->rx_ready_node);
			return msk;
		}
		WRITE_ONCE(msk->rx_ready, true);
	}
	list_move_tail(&msk->rx_ready_node, &mux->rx_ready);
	return msk;
}

/* Hand the messages kept aside to ready sockets; restart their parsers. */
static void __msgmux_rx_drain_waiting(struct msgmux_mux *mux)
{
	struct msgmux_psock *psock;

	lockdep_assert_held(&mux->lock);

	while (!list_empty(&mux->rx_ready) &&
	       (psock = list_first_entry_or_null(&mux->rx_waiting,
						 struct msgmux_psock,
						 rx_wait_node))) {
		if (!__msgmux_rx_steer(mux, psock->rx_held, true))
			break;
		psock->rx_held = NULL;
		list_del_init(&psock->rx_wait_node);
		if (!READ_ONCE(psock->dead))
			strp_unpause(&psock->strp);
	}
}

static void __msgmux_rx_make_ready(struct msgmux_sock *msk)
{
	struct msgmux_mux *mux = msk->mux;

	lockdep_assert_held(&mux->lock);

	if (msk->rx_ready || msk->rx_disabled || !msgmux_rx_has_room(msk))
		return;
	list_add_tail(&msk->rx_ready_node, &mux->rx_ready);
	WRITE_ONCE(msk->rx_ready, true);
	__msgmux_rx_drain_waiting(mux);
}

/*
 * A message is a clone of the stream's skb, and a clone is charged that
 * skb's whole truesize: under load, a TCP skb coalesced from many
 * segments, which the clone pins until it is read.  A small message is
 * copied into an skb of its own, charged for what it uses, or a receive
 * buffer would hold a handful of them (TCP compacts its own queue so:
 * tcp_collapse()).  Without memory for the copy, the clone goes.
 */
static struct sk_buff *msgmux_rx_compact(struct sk_buff *skb)
{
	struct msgmux_rx_cb *cb = MSGMUX_RX_CB(skb);
	struct sk_buff *copy;

	if (cb->len > MSGMUX_RX_COPY ||
	    skb->truesize <= 2 * SKB_TRUESIZE(cb->len))
		return skb;
	copy = alloc_skb(cb->len, GFP_ATOMIC);
	if (!copy)
		return skb;
	if (skb_copy_bits(skb, cb->offset, skb_put(copy, cb->len), cb->len)) {
		kfree_skb(copy);
		return skb;
	}
	*MSGMUX_RX_CB(copy) = *cb;
	MSGMUX_RX_CB(copy)->offset = 0;
	consume_skb(skb);
	return copy;
}

/* Wake the reader of @msk, and drop the reference its waker held. */
static void msgmux_rx_wake(struct msgmux_sock *msk)
{
	msk->sk.sk_data_ready(&msk->sk);
	sock_put(&msk->sk);
}

/**
 * msgmux_rx_deliver() - a connection parsed a complete message
 * @psock: the connection.
 * @skb: the message, described by its &struct msgmux_rx_cb.  Taken.
 *
 * The reader is woken once the parser's read of the stream ends
 * (msgmux_rx_read_done()), or sooner if a message of the same read goes
 * to another socket: not once per message of a TCP segment.
 *
 * Context: strparser's receive path, with @psock->sk locked.
 */
void msgmux_rx_deliver(struct msgmux_psock *psock, struct sk_buff *skb)
{
	struct msgmux_mux *mux = psock->mux;
	struct msgmux_sock *msk, *woken = NULL;

	skb = msgmux_rx_compact(skb);
	spin_lock_bh(&mux->lock);
	msk = __msgmux_rx_steer(mux, skb, false);
	if (!msk) {
		WARN_ON_ONCE(psock->rx_held);
		psock->rx_held = skb;
		strp_pause(&psock->strp);
		list_add_tail(&psock->rx_wait_node, &mux->rx_waiting);
	} else if (msk != psock->rx_wake) {
		woken = psock->rx_wake;
		sock_hold(&msk->sk);
		psock->rx_wake = msk;
	}
	spin_unlock_bh(&mux->lock);
	if (woken)
		msgmux_rx_wake(woken);
}

/**
 * msgmux_rx_read_done() - a read of a connection's stream ended
 * @psock: the connection.
 *
 * Wakes the reader of the socket the last messages of the read went to.
 *
 * Context: strparser's receive path, with @psock->sk locked.
 */
void msgmux_rx_read_done(struct msgmux_psock *psock)
{
	struct msgmux_sock *msk = psock->rx_wake;

	if (!msk)
		return;
	psock->rx_wake = NULL;
	msgmux_rx_wake(msk);
}

/**
 * msgmux_rx_enable() - let an upper socket take part in steering
 * @msk: a new socket, or one whose MSGMUX_RECV_DISABLE was cleared.
 *
 * Context: process context.
 */
void msgmux_rx_enable(struct msgmux_sock *msk)
{
	struct msgmux_mux *mux = msk->mux;

	spin_lock_bh(&mux->lock);
	WRITE_ONCE(msk->rx_disabled, false);
	__msgmux_rx_make_ready(msk);
	spin_unlock_bh(&mux->lock);
}

/* Caller holds &mux->lock.  Any other socket that receives, full or not. */
static struct msgmux_sock *__msgmux_rx_any_other(struct msgmux_mux *mux,
						 struct msgmux_sock *self)
{
	struct msgmux_sock *msk;

	lockdep_assert_held(&mux->lock);

	list_for_each_entry(msk, &mux->socks, mux_node)
		if (msk != self && !msk->rx_disabled)
			return msk;
	return NULL;
}

/**
 * msgmux_rx_disable() - take an upper socket out of steering
 * @msk: the socket; its queued messages move to the mux's other sockets
 *	that have room.
 * @closing: @msk is being closed: messages no socket has room for go to
 *	another receiving socket all the same (over its SO_RCVBUF); only
 *	with no other receiving socket do they stay, to go with @msk.
 *
 * Context: process context, with lock_sock() held on @msk.
 */
void msgmux_rx_disable(struct msgmux_sock *msk, bool closing)
{
	struct msgmux_sock *other;
	struct msgmux_mux *mux = msk->mux;
	struct sk_buff_head moved;
	struct sk_buff *skb;

	sock_owned_by_me(&msk->sk);

	spin_lock_bh(&mux->lock);
	WRITE_ONCE(msk->rx_disabled, true);
	if (msk->rx_ready) {
		list_del_init(&msk->rx_ready_node);
		WRITE_ONCE(msk->rx_ready, false);
	}
	spin_unlock_bh(&mux->lock);

	/* Uncharging (msgmux_rfree()) needs the mux lock free. */
	__skb_queue_head_init(&moved);
	spin_lock_bh(&msk->sk.sk_receive_queue.lock);
	skb_queue_splice_init(&msk->sk.sk_receive_queue, &moved);
	spin_unlock_bh(&msk->sk.sk_receive_queue.lock);
	skb_queue_walk(&moved, skb)
		skb_orphan(skb);

	spin_lock_bh(&mux->lock);
	while ((skb = __skb_dequeue(&moved))) {
		if (__msgmux_rx_steer(mux, skb, true))
			continue;
		other = closing ? __msgmux_rx_any_other(mux, msk) : NULL;
		if (!other) {
			/* Nobody else can take them: they stay here. */
			__skb_queue_head(&moved, skb);
			break;
		}
		msgmux_rx_queue(other, skb, true);
	}
	spin_unlock_bh(&mux->lock);

	if (skb_queue_empty(&moved))
		return;
	while ((skb = __skb_dequeue_tail(&moved))) {
		skb->sk = &msk->sk;
		skb->destructor = msgmux_rfree;
		atomic_add(skb->truesize, &msk->sk.sk_rmem_alloc);
		skb_queue_head(&msk->sk.sk_receive_queue, skb);
	}
	/* A reader that found the queue empty while it was spliced out. */
	msk->sk.sk_data_ready(&msk->sk);
}

/**
 * __msgmux_rx_release_held() - a leaving connection's kept-aside message
 * @psock: the connection, out of service.
 *
 * The message was complete when TCP delivered it, so it goes to an upper
 * socket even over SO_RCVBUF (rather than be lost); with no socket at all
 * it is dropped and counted.
 *
 * Context: caller holds &msgmux_mux.lock.
 */
void __msgmux_rx_release_held(struct msgmux_psock *psock)
{
	struct msgmux_mux *mux = psock->mux;
	struct sk_buff *skb = psock->rx_held;
	struct msgmux_sock *msk;

	lockdep_assert_held(&mux->lock);

	if (!skb)
		return;
	psock->rx_held = NULL;
	list_del_init(&psock->rx_wait_node);
	if (__msgmux_rx_steer(mux, skb, true))
		return;
	msk = __msgmux_rx_any_other(mux, NULL);
	if (msk) {
		msgmux_rx_queue(msk, skb, true);
		return;
	}
	WRITE_ONCE(psock->stats.dropped, psock->stats.dropped + 1);
	WRITE_ONCE(psock->stats.errors, psock->stats.errors + 1);
	/* Not charged to any socket, so no destructor takes the lock. */
	kfree_skb(skb);
}

static void msgmux_rx_fill_addr(struct msghdr *msg, const struct sk_buff *skb)
{
	DECLARE_SOCKADDR(struct sockaddr_msgmux *, addr, msg->msg_name);
	const struct msgmux_rx_cb *cb = MSGMUX_RX_CB(skb);

	if (!addr)
		return;
	memset(addr, 0, sizeof(*addr));
	addr->smm_family = msgmux_family;
	addr->smm_conn_id = cb->conn_id;
	if (cb->peer.family == AF_INET) {
		addr->smm_peer_in.sin_family = AF_INET;
		addr->smm_peer_in.sin_port = cb->peer.port;
		memcpy(&addr->smm_peer_in.sin_addr, cb->peer.addr, 4);
	} else if (cb->peer.family == AF_INET6) {
		addr->smm_peer_in6.sin6_family = AF_INET6;
		addr->smm_peer_in6.sin6_port = cb->peer.port;
		addr->smm_peer_in6.sin6_scope_id = cb->peer.scope_id;
		memcpy(&addr->smm_peer_in6.sin6_addr, cb->peer.addr, 16);
	}
	msg->msg_namelen = sizeof(*addr);
}

/*
 * Not sock_dequeue_err_skb(): that one reads skb->cb as an ICMP error,
 * and ours holds a &struct msgmux_rx_cb.
 */
static int msgmux_recv_errqueue(struct sock *sk, struct msghdr *msg,
				size_t len, int flags)
{
	struct sk_buff_head *q = &sk->sk_error_queue;
	struct sk_buff *skb;
	int copied;

	if (flags & MSG_PEEK) {
		spin_lock_bh(&q->lock);
		skb = skb_peek(q);
		if (skb)
			skb_get(skb);
		spin_unlock_bh(&q->lock);
	} else {
		skb = skb_dequeue(q);
	}
	if (!skb)
		return -EAGAIN;
	copied = min_t(size_t, len, skb->len);
	if (copied < skb->len)
		msg->msg_flags |= MSG_TRUNC;
	if (skb_copy_datagram_msg(skb, 0, msg, copied)) {
		kfree_skb(skb);
		return -EFAULT;
	}
	msgmux_rx_fill_addr(msg, skb);
	msg->msg_flags |= MSG_ERRQUEUE;
	consume_skb(skb);
	return copied;
}

/**
 * msgmux_recvmsg() - receive one message
 * @sock: an AF_MSGMUX socket.
 * @msg: where to copy it; msg_name receives its &struct sockaddr_msgmux.
 * @len: room in @msg.
 * @flags: MSG_DONTWAIT, MSG_PEEK, MSG_TRUNC, MSG_ERRQUEUE, MSG_WAITALL
 *	(ignored, as on any message socket).
 *
 * A message longer than @len is cut, the rest discarded, and MSG_TRUNC set
 * in msg_flags; with MSG_TRUNC in @flags the full length is returned.
 *
 * Return: the bytes copied (or the message length), 0 after shutdown or
 * the end of a one-to-one connection, or a negative errno.
 */
int msgmux_recvmsg(struct socket *sock, struct msghdr *msg, size_t len,
		   int flags)
{
	struct sock *sk = sock->sk;
	struct msgmux_sock *msk = msgmux_sk(sk);
	struct msgmux_rx_cb *cb;
	struct sk_buff *skb;
	size_t copied;
	int err;

	if (flags & ~(MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC | MSG_ERRQUEUE |
		      MSG_WAITALL | MSG_CMSG_COMPAT | MSG_CMSG_CLOEXEC |
		      MSG_NOSIGNAL))
		return -EOPNOTSUPP;
	if (flags & MSG_ERRQUEUE)
		return msgmux_recv_errqueue(sk, msg, len, flags);

	skb = skb_recv_datagram(sk, flags, &err);
	if (!skb) {
		/* The end of a one-to-one connection, or SHUT_RD: as AF_UNIX. */
		if (err == -EAGAIN && READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN)
			return 0;
		return err;
	}

	cb = MSGMUX_RX_CB(skb);
	copied = min_t(size_t, len, cb->len);
	if (copied < cb->len)
		msg->msg_flags |= MSG_TRUNC;
	err = skb_copy_datagram_msg(skb, cb->offset, msg, copied);
	if (err) {
		skb_free_datagram(sk, skb);
		return err;
	}
	msgmux_rx_fill_addr(msg, skb);
	if (!(flags & MSG_PEEK)) {
		/* Readers of one socket may run at once; no socket lock. */
		spin_lock_bh(&sk->sk_receive_queue.lock);
		WRITE_ONCE(msk->stats.rx_msgs, msk->stats.rx_msgs + 1);
		WRITE_ONCE(msk->stats.rx_bytes, msk->stats.rx_bytes + cb->len);
		spin_unlock_bh(&sk->sk_receive_queue.lock);
	}
	if (flags & MSG_TRUNC)
		copied = cb->len;
	skb_free_datagram(sk, skb);
	return copied;
}

/**
 * msgmux_rx_notify() - tell every upper socket that a connection left
 * @mux: the mux.
 * @psock: the connection; its @err, @reason and id are reported.
 * @dropped: bytes of a partial message lost with it.
 *
 * Each socket gets a &struct msgmux_conn_error on its error queue.  The
 * queue holds at most %MSGMUX_ERRQ_MAX notifications (more are only
 * counted in /proc) and is not charged to SO_RCVBUF: a socket whose
 * receive queue is full, the very case of backpressure, must still learn
 * of failures, and unread notifications must not stop its messages.
 *
 * Context: process context.
 */
void msgmux_rx_notify(struct msgmux_mux *mux, struct msgmux_psock *psock,
		      unsigned int dropped)
{
	struct msgmux_conn_error ce = {
		.conn_id = psock->id,
		.error = msgmux_psock_failed(psock, dropped) ? -psock->err : 0,
		.reason = psock->reason,
		.dropped_bytes = dropped,
	};
	struct msgmux_sock *msk;
	struct sk_buff *skb;

	spin_lock_bh(&mux->lock);
	list_for_each_entry(msk, &mux->socks, mux_node) {
		if (ce.error)
			WRITE_ONCE(msk->stats.errors, msk->stats.errors + 1);
		if (skb_queue_len(&msk->sk.sk_error_queue) >= MSGMUX_ERRQ_MAX)
			continue;
		skb = alloc_skb(sizeof(ce), GFP_ATOMIC);
		if (!skb)
			continue;
		skb_put_data(skb, &ce, sizeof(ce));
		MSGMUX_RX_CB(skb)->conn_id = psock->id;
		MSGMUX_RX_CB(skb)->peer = psock->peer;
		skb_queue_tail(&msk->sk.sk_error_queue, skb);
		sk_error_report(&msk->sk);
	}
	spin_unlock_bh(&mux->lock);
}

/**
 * msgmux_rx_conn_gone() - a connection left: end its one-to-one sockets
 * @mux: the mux.
 * @psock: the connection, out of service, its last messages delivered.
 *
 * A connected or accepted SOCK_SEQPACKET socket whose connection this was
 * sees the end as AF_UNIX's do: its queued messages, then recv() returns
 * 0; poll() reports EPOLLRDHUP and EPOLLHUP, and send() fails with EPIPE.
 *
 * Context: process context.
 */
void msgmux_rx_conn_gone(struct msgmux_mux *mux, struct msgmux_psock *psock)
{
	struct msgmux_sock *msk;

	spin_lock_bh(&mux->lock);
	list_for_each_entry(msk, &mux->socks, mux_node) {
		if (msk->conn_state != MSGMUX_SS_UP || msk->conn_id != psock->id)
			continue;
		WRITE_ONCE(msk->conn_state, MSGMUX_SS_GONE);
		WRITE_ONCE(msk->sk.sk_shutdown, SHUTDOWN_MASK);
		msk->sk.sk_state_change(&msk->sk);
	}
	spin_unlock_bh(&mux->lock);
}
