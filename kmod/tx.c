// SPDX-License-Identifier: GPL-2.0
/*
 * tx.c - send: sendmsg() builds a message and queues it on a connection.
 *
 * DOC: Sending
 *
 * One sendmsg() is one message (with MSGMUX_EXPLICIT_EOR, the sends up to
 * the one carrying MSG_EOR; on a socket without it, MSG_MORE continues
 * the message, as on KCM's datagram sockets).  The user's data is copied
 * into skbs charged to the sender's send buffer before any lock is taken;
 * only the first skb of a send waits for room (SO_SNDTIMEO, signals,
 * MSG_DONTWAIT), so a message larger than SO_SNDBUF is still accepted,
 * and an error while copying discards the send whole: nothing partial is
 * ever queued.  A complete message then goes, at once and whole, to one
 * connection's queue: the addressed one, or the next in round robin.  The
 * skbs stay charged to the sender until TCP has taken them, so a sender
 * that outpaces the network blocks, or gets -EAGAIN.
 */
#include <linux/sched/signal.h>
#include <linux/skbuff.h>
#include <net/sock.h>

#include "compat.h"
#include "msgmux.h"
#include "trace.h"

/*
 * sendfile() and splice() come with the kernel's own flags: the data is
 * copied all the same, and more pages to come continue the message.
 */
#define MSGMUX_SEND_FLAGS (MSG_DONTWAIT | MSG_EOR | MSG_MORE | MSG_BATCH | \
			   MSG_NOSIGNAL | MSG_CMSG_COMPAT | \
			   MSGMUX_MSG_INTERNAL | MSGMUX_MSG_NOTLAST)

/* Payloads up to this size go in the skb's head, not a page of their own. */
#define MSGMUX_TX_LINEAR	2048
/*
 * Larger payloads are cut into skbs of this size, their data in page
 * fragments: at most one per page, plus one for a start mid-page.
 */
#define MSGMUX_TX_CHUNK		(16 * PAGE_SIZE)

static int msgmux_tx_addr(struct msghdr *msg, u32 *conn_id)
{
	DECLARE_SOCKADDR(struct sockaddr_msgmux *, addr, msg->msg_name);

	*conn_id = 0;
	if (!addr)
		return 0;
	if (msg->msg_namelen < (int)sizeof(*addr))
		return -EINVAL;
	if (addr->smm_family != msgmux_family)
		return -EAFNOSUPPORT;
	if (addr->smm_reserved)
		return -EINVAL;
	*conn_id = addr->smm_conn_id;
	return 0;
}

/*
 * One skb of a message: the first of a send waits for send buffer room,
 * later ones (and any while a message is being built) are charged
 * regardless, so that a message larger than SO_SNDBUF cannot wait for its
 * own memory.
 */
static struct sk_buff *msgmux_tx_alloc(struct sock *sk, size_t len,
				       bool wait, bool noblock, int *err)
{
	unsigned int head = MSGMUX_MAX_HDR;
	struct sk_buff *skb;

	if (len <= MSGMUX_TX_LINEAR)
		head += len;
	if (wait)
		return sock_alloc_send_pskb(sk, head, 0, noblock, err, 0);

	skb = alloc_skb(head, sk->sk_allocation);
	if (!skb) {
		*err = -ENOBUFS;
		return NULL;
	}
	skb_set_owner_w(skb, sk);
	return skb;
}

/*
 * Copy @len bytes into the pages of the task's (or socket's) page_frag,
 * as TCP and KCM do: a page is used again once TCP and the receiver are
 * done with it, where fresh pages per message would each be zeroed.  The
 * skb grows by what it took, and so does its charge to @sk.
 */
static int msgmux_tx_copy_frags(struct sock *sk, struct sk_buff *skb,
				struct msghdr *msg, size_t len)
{
	struct page_frag *pfrag = sk_page_frag(sk);
	size_t n;
	int i;

	BUILD_BUG_ON(MSGMUX_TX_CHUNK > (MAX_SKB_FRAGS - 1) * PAGE_SIZE);

	while (len) {
		if (!sk_page_frag_refill(sk, pfrag))
			return -ENOBUFS;
		n = min_t(size_t, len, pfrag->size - pfrag->offset);
		if (!copy_from_iter_full(page_address(pfrag->page) +
					 pfrag->offset, n, &msg->msg_iter))
			return -EFAULT;
		i = skb_shinfo(skb)->nr_frags;
		if (skb_can_coalesce(skb, i, pfrag->page, pfrag->offset)) {
			skb_frag_size_add(&skb_shinfo(skb)->frags[i - 1], n);
		} else {
			get_page(pfrag->page);
			skb_fill_page_desc(skb, i, pfrag->page, pfrag->offset,
					   n);
		}
		pfrag->offset += n;
		skb->len += n;
		skb->data_len += n;
		skb->truesize += n;
		refcount_add(n, &sk->sk_wmem_alloc);
		len -= n;
	}
	return 0;
}

static int msgmux_tx_copy(struct sock *sk, struct sk_buff *skb,
			  struct msghdr *msg, size_t len)
{
	skb_reserve(skb, MSGMUX_MAX_HDR);
	if (len > MSGMUX_TX_LINEAR)
		return msgmux_tx_copy_frags(sk, skb, msg, len);
	skb_put(skb, len);
	return skb_copy_datagram_from_iter(skb, 0, &msg->msg_iter, len);
}

/* Copy @len bytes of @msg into @parts.  On error @parts is purged. */
static int msgmux_tx_build(struct sock *sk, struct msghdr *msg, size_t len,
			   bool wait, struct sk_buff_head *parts)
{
	bool noblock = msg->msg_flags & MSG_DONTWAIT;
	struct sk_buff *skb;
	size_t n;
	int err;

	do {
		n = min_t(size_t, len, MSGMUX_TX_CHUNK);
		skb = msgmux_tx_alloc(sk, n, wait, noblock, &err);
		if (!skb)
			goto err_purge;
		wait = false;
		__skb_queue_tail(parts, skb);
		err = msgmux_tx_copy(sk, skb, msg, n);
		if (err)
			goto err_purge;
		len -= n;
	} while (len);
	return 0;

err_purge:
	__skb_queue_purge(parts);
	return err;
}

/* Caller holds &mux->lock.  The connection for a message, or NULL. */
static struct msgmux_psock *__msgmux_tx_pick(struct msgmux_mux *mux,
					     u32 conn_id)
{
	struct msgmux_psock *psock, *first = NULL;

	lockdep_assert_held(&mux->lock);

	list_for_each_entry(psock, &mux->psocks, mux_node) {
		/*
		 * Failed, and about to leave: what it took would be lost.
		 * Shut for writing: FIN follows what it has.
		 */
		if (READ_ONCE(psock->err) || psock->tx_fin)
			continue;
		if (conn_id) {
			if (psock->id == conn_id)
				return psock;
			continue;
		}
		if (!first)
			first = psock;
		if (psock->id >= mux->tx_next) {
			mux->tx_next = psock->id + 1;
			return psock;
		}
	}
	if (first)
		mux->tx_next = first->id + 1;
	return first;
}

/* Copy the first bytes of the message in @parts (built by several sends). */
static unsigned int msgmux_tx_peek(struct sk_buff_head *parts, u8 *buf,
				   unsigned int max)
{
	unsigned int n = 0, k;
	struct sk_buff *skb;

	skb_queue_walk(parts, skb) {
		k = min(max - n, skb->len);
		if (skb_copy_bits(skb, 0, buf + n, k))
			break;
		n += k;
		if (n == max)
			break;
	}
	return n;
}

/*
 * Fit the message in @parts for @psock: with built-in framing, push the
 * header the kernel adds, or check the one the application wrote.
 */
static int msgmux_tx_frame(struct msgmux_psock *psock,
			   struct sk_buff_head *parts, size_t len)
{
	const struct msgmux_frame *f = &psock->frame;
	struct sk_buff *head = skb_peek(parts);
	unsigned int hdr_len;
	u8 hdr[MSGMUX_MAX_HDR];
	int n;

	if (psock->bpf_prog)
		return len > f->max_size ? -EMSGSIZE : 0;
	if (!msgmux_frame_strips(f)) {
		/* The application wrote the header: it must describe @len. */
		n = msgmux_tx_peek(parts, hdr, sizeof(hdr));
		n = msgmux_frame_decode(f, hdr, n, &hdr_len);
		if (n == -EMSGSIZE)
			return n;
		return n > 0 && n == len ? 0 : -EINVAL;
	}
	n = msgmux_frame_encode(f, len, hdr);
	if (n < 0)
		return n;
	memcpy(skb_push(head, n), hdr, n);
	return 0;
}

/*
 * Queue the complete message in @parts on a connection.  Returns the
 * connection with a reference for the caller to push, or an ERR_PTR; on
 * error @parts is left to the caller.
 */
static struct msgmux_psock *msgmux_tx_enqueue(struct msgmux_mux *mux,
					      u32 msk_id,
					      struct sk_buff_head *parts,
					      size_t len, u32 conn_id,
					      bool batch)
{
	struct msgmux_psock *psock;
	unsigned long flags;
	int err;

	spin_lock_bh(&mux->lock);
	psock = __msgmux_tx_pick(mux, conn_id);
	if (!psock) {
		err = conn_id ? -ENOTCONN : -EPIPE;
		goto err_unlock;
	}
	err = msgmux_tx_frame(psock, parts, len);
	if (err)
		goto err_unlock;

	MSGMUX_TX_CB(skb_peek_tail(parts))->eom = true;
	trace_msgmux_tx_msg(mux->id, msk_id, psock->id, len);
	refcount_inc(&psock->refcnt);
	spin_lock_irqsave(&psock->txq.lock, flags);
	skb_queue_splice_tail_init(parts, &psock->txq);
	spin_unlock_irqrestore(&psock->txq.lock, flags);
	if (batch)
		__msgmux_psock_kick_later(psock);
	spin_unlock_bh(&mux->lock);
	return psock;

err_unlock:
	spin_unlock_bh(&mux->lock);
	return ERR_PTR(err);
}

/*
 * The largest message.  Read without &mux->lock: the framing changes only
 * while the mux has no connection, when no message can be queued anyway,
 * and msgmux_tx_frame() checks again under the lock.
 */
static size_t msgmux_tx_max(const struct msgmux_mux *mux)
{
	return READ_ONCE(mux->frame.max_size);
}

/* Append this send's skbs to the message under construction. */
static int __msgmux_tx_append(struct msgmux_sock *msk,
			      struct sk_buff_head *parts, size_t len,
			      u32 conn_id)
{
	sock_owned_by_me(&msk->sk);

	if (!skb_queue_empty(&msk->tx_parts) && conn_id != msk->tx_conn)
		return -EINVAL;
	if (msk->tx_parts_len + len > msgmux_tx_max(msk->mux))
		return -EMSGSIZE;
	msk->tx_conn = conn_id;
	msk->tx_parts_len += len;
	skb_queue_splice_tail_init(parts, &msk->tx_parts);
	return 0;
}

/*
 * MSG_BATCH: more messages follow at once (sendmmsg() sets it on every
 * message but the last), so a connection is written when the batch ends
 * rather than after each message: by the batch's last send, or by a
 * send to another connection; and as soon as the batch holds half the
 * send buffer.  Should the batch end some other way (a sendmmsg() that
 * fails half way, a lone MSG_BATCH), the connection's tx_work, armed
 * when each such message was queued, writes it a jiffy later.  (KCM
 * holds such messages until the next send.)
 */

/* What a send does once it released the socket lock. */
struct msgmux_tx_after {
	struct msgmux_psock *push[2];	/* write, then put */
	bool ended[2];			/* push[i] ends a batch */
	struct msgmux_psock *put;
};

/* The connection @id of @mux, with a reference, or NULL. */
static struct msgmux_psock *msgmux_tx_find(struct msgmux_mux *mux, u32 id)
{
	struct msgmux_psock *psock;

	spin_lock_bh(&mux->lock);
	list_for_each_entry(psock, &mux->psocks, mux_node) {
		if (psock->id == id) {
			refcount_inc(&psock->refcnt);
			spin_unlock_bh(&mux->lock);
			return psock;
		}
	}
	spin_unlock_bh(&mux->lock);
	return NULL;
}

/* Takes the reference on @psock, the connection the send queued on. */
static void __msgmux_tx_batch(struct msgmux_sock *msk,
			      struct msgmux_psock *psock, bool batch,
			      struct msgmux_tx_after *after)
{
	u32 open = msk->tx_batch;

	sock_owned_by_me(&msk->sk);

	if (batch) {
		after->put = psock;
		msk->tx_batch = psock->id;
	} else {
		after->push[0] = psock;
		after->ended[0] = open == psock->id;
		msk->tx_batch = 0;
	}
	if (open && open != psock->id) {
		after->push[1] = msgmux_tx_find(msk->mux, open);
		after->ended[1] = true;
	}
}

static void msgmux_tx_after(struct msgmux_tx_after *after)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(after->push); i++) {
		if (!after->push[i])
			continue;
		/* Written now: the batch's deferred write has nothing to do. */
		if (after->ended[i])
			msgmux_psock_unkick(after->push[i]);
		msgmux_psock_push(after->push[i]);
		msgmux_psock_put(after->push[i]);
	}
	if (after->put)
		msgmux_psock_put(after->put);
}

static void msgmux_tx_pipe(int flags)
{
	if (!(flags & MSG_NOSIGNAL))
		send_sig(SIGPIPE, current, 0);
}

/*
 * Queue the finished message and set @psock to its connection (with a
 * reference); with @batch, have it written in a jiffy should the batch
 * not end before.
 */
static int __msgmux_tx_finish(struct msgmux_sock *msk, bool batch,
			      struct msgmux_psock **psock)
{
	size_t len = msk->tx_parts_len;
	struct msgmux_psock *p;
	struct sk_buff *skb;
	int err;

	sock_owned_by_me(&msk->sk);

	if (skb_queue_empty(&msk->tx_parts)) {
		/* A zero-length message still needs an skb for its header. */
		skb = msgmux_tx_alloc(&msk->sk, 0, false, true, &err);
		if (!skb)
			return err;
		skb_reserve(skb, MSGMUX_MAX_HDR);
		__skb_queue_tail(&msk->tx_parts, skb);
	}

	p = msgmux_tx_enqueue(msk->mux, msk->id, &msk->tx_parts, len,
			      msk->tx_conn, batch);
	msgmux_tx_purge(msk);
	if (IS_ERR(p))
		return PTR_ERR(p);
	WRITE_ONCE(msk->stats.tx_msgs, msk->stats.tx_msgs + 1);
	WRITE_ONCE(msk->stats.tx_bytes, msk->stats.tx_bytes + len);
	*psock = p;
	return 0;
}

/**
 * msgmux_sendmsg() - send a message, or part of one
 * @sock: an AF_MSGMUX socket.
 * @msg: the data; msg_name may hold a &struct sockaddr_msgmux naming the
 *	connection to use.
 * @len: bytes in @msg.
 *
 * Return: @len once the message (or part) is queued; -EMSGSIZE for a
 * message over the framing's max_size; -EPIPE (with SIGPIPE unless
 * MSG_NOSIGNAL) when no connection can carry it; -ENOTCONN when the
 * addressed connection is gone; -EAGAIN, -EINTR or the copy's -EFAULT,
 * with nothing of this send queued.
 */
int msgmux_sendmsg(struct socket *sock, struct msghdr *msg, size_t len)
{
	struct msgmux_tx_after after = {};
	struct msgmux_psock *psock = NULL;
	struct sock *sk = sock->sk;
	struct msgmux_sock *msk = msgmux_sk(sk);
	int flags = msg->msg_flags;
	struct sk_buff_head parts;
	bool eor, building, batch;
	u32 conn_id;
	int err;

	if (flags & ~MSGMUX_SEND_FLAGS)
		return -EOPNOTSUPP;
	err = msgmux_tx_addr(msg, &conn_id);
	if (err)
		return err;
	if (len > msgmux_tx_max(msk->mux))
		return -EMSGSIZE;

	/* Copy before locking; a send that continues a message never waits. */
	__skb_queue_head_init(&parts);
	building = READ_ONCE(msk->tx_parts_len) ||
		   !skb_queue_empty_lockless(&msk->tx_parts);
	if (len) {
		err = msgmux_tx_build(sk, msg, len, !building, &parts);
		if (err == -EPIPE)
			msgmux_tx_pipe(flags);
		if (err)
			return err;
	}

	lock_sock(sk);
	eor = msk->explicit_eor ? flags & MSG_EOR :
	      !(flags & (MSG_MORE | MSGMUX_MSG_NOTLAST));
	if (sk->sk_shutdown & SEND_SHUTDOWN) {
		err = -EPIPE;
		goto out_purge;
	}
	err = __msgmux_tx_append(msk, &parts, len, conn_id);
	if (err)
		goto out_purge;
	/*
	 * Half the send buffer waiting in a batch: write it now, or the
	 * next send would wait for memory that only the batch's end frees.
	 */
	batch = (flags & MSG_BATCH) && sock_writeable(sk);
	if (eor)
		err = __msgmux_tx_finish(msk, batch, &psock);
	if (psock)
		__msgmux_tx_batch(msk, psock, batch, &after);
	release_sock(sk);

	msgmux_tx_after(&after);
	if (err == -EPIPE)
		msgmux_tx_pipe(flags);
	return err ? : len;

out_purge:
	release_sock(sk);
	__skb_queue_purge(&parts);
	if (err == -EPIPE)
		msgmux_tx_pipe(flags);
	return err;
}

/**
 * msgmux_tx_purge() - drop the message under construction
 * @msk: the socket.
 *
 * Context: lock_sock() held on @msk.
 */
void msgmux_tx_purge(struct msgmux_sock *msk)
{
	__skb_queue_purge(&msk->tx_parts);
	msk->tx_parts_len = 0;
	msk->tx_conn = 0;
}

/**
 * msgmux_tx_can_queue() - could a message be queued now?
 * @msk: the socket.
 *
 * Return: true when the socket has send buffer room and the mux a
 * connection to carry it: what POLLOUT means on msgmux.
 */
bool msgmux_tx_can_queue(const struct msgmux_sock *msk)
{
	return sock_writeable(&msk->sk) && READ_ONCE(msk->mux->npsocks);
}
