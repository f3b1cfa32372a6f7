// SPDX-License-Identifier: GPL-2.0
/*
 * mux.c - the multiplexor: creation, membership and teardown.
 *
 * DOC: Multiplexor life cycle
 *
 * socket() creates a mux and its first upper socket together.  Each upper
 * socket holds one reference on its mux for its whole life; the last one to
 * be released unlinks the mux from its namespace and frees it.  A mux is
 * listed in its namespace from creation to that point, so /proc/net/msgmux
 * shows every live mux.
 */
#include <linux/lockdep.h>
#include <linux/slab.h>

#include "msgmux.h"

/**
 * __msgmux_mux_link_sock() - add an upper socket to a mux's member list
 * @mux: the mux; the caller holds &mux->lock.
 * @msk: a socket not yet in any mux.
 */
static void __msgmux_mux_link_sock(struct msgmux_mux *mux,
				   struct msgmux_sock *msk)
{
	lockdep_assert_held(&mux->lock);

	msk->mux = mux;
	msk->id = mux->next_sock_id++;
	list_add_tail(&msk->mux_node, &mux->socks);
	mux->nsocks++;
}

/**
 * msgmux_mux_alloc() - allocate an empty mux, not listed yet
 * @net: the namespace of the new mux.
 * @type: SOCK_SEQPACKET or SOCK_DGRAM, the type of all its sockets.
 *
 * For a caller that must have its memory before it does what it cannot
 * undo (accept() taking a connection from TCP): the mux is listed with
 * msgmux_mux_link(), or freed unlisted with msgmux_mux_discard().
 *
 * Context: process context.
 * Return: the mux with one reference, or NULL.
 */
struct msgmux_mux *msgmux_mux_alloc(struct net *net, int type)
{
	struct msgmux_mux *mux;

	mux = kzalloc(sizeof(*mux), GFP_KERNEL);
	if (!mux)
		return NULL;

	mux->net = net;
	mux->type = type;
	refcount_set(&mux->refcnt, 1);
	spin_lock_init(&mux->lock);
	INIT_LIST_HEAD(&mux->socks);
	mux->next_sock_id = 1;
	INIT_LIST_HEAD(&mux->psocks);
	mux->next_conn_id = 1;
	INIT_LIST_HEAD(&mux->rx_ready);
	INIT_LIST_HEAD(&mux->rx_waiting);
	msgmux_frame_default(&mux->frame);
	mux->accept_limit = MSGMUX_DEFAULT_ACCEPT_LIMIT;
	return mux;
}

/**
 * msgmux_mux_link() - list a mux from msgmux_mux_alloc() in its namespace
 * @mux: the mux; from now on it has an id, shows in /proc/net/msgmux,
 *	and its last msgmux_mux_put() frees it.
 *
 * Context: process context; takes &msgmux_net.lock.
 */
void msgmux_mux_link(struct msgmux_mux *mux)
{
	struct msgmux_net *mn = msgmux_pernet(mux->net);

	mutex_lock(&mn->lock);
	mux->id = mn->next_mux_id++;
	list_add_tail(&mux->net_node, &mn->muxes);
	mutex_unlock(&mn->lock);
}

/**
 * msgmux_mux_discard() - free a mux that was never listed
 * @mux: a mux from msgmux_mux_alloc() that nothing else has seen.
 */
void msgmux_mux_discard(struct msgmux_mux *mux)
{
	kfree(mux);
}

/**
 * msgmux_mux_create() - create an empty mux
 * @net: the namespace of the new mux.
 * @type: SOCK_SEQPACKET or SOCK_DGRAM, the type of all its sockets.
 *
 * The mux is listed in its namespace at once; its first socket joins with
 * msgmux_mux_add_sock(), inheriting the reference returned here.
 *
 * Context: process context; takes &msgmux_net.lock.
 * Return: the mux with one reference, or NULL.
 */
struct msgmux_mux *msgmux_mux_create(struct net *net, int type)
{
	struct msgmux_mux *mux = msgmux_mux_alloc(net, type);

	if (mux)
		msgmux_mux_link(mux);
	return mux;
}

/**
 * msgmux_mux_add_sock() - make an upper socket a member of a mux
 * @mux: the mux.
 * @msk: a socket whose struct sock is fully initialised (the mux's other
 *	paths may reach it as soon as it is listed), not yet in any mux.
 *
 * @msk takes over a reference on @mux that the caller holds.
 *
 * Context: any context that may take &mux->lock with BH disabled.
 */
void msgmux_mux_add_sock(struct msgmux_mux *mux, struct msgmux_sock *msk)
{
	spin_lock_bh(&mux->lock);
	__msgmux_mux_link_sock(mux, msk);
	spin_unlock_bh(&mux->lock);
}

/**
 * msgmux_mux_retire_stats() - keep a departing connection's counters
 * @mux: the mux.
 * @s: the counters of a connection leaving /proc.
 *
 * /proc's mux line adds them, so drops and errors stay visible.
 */
void msgmux_mux_retire_stats(struct msgmux_mux *mux,
			     const struct msgmux_stats *s)
{
	spin_lock_bh(&mux->lock);
	mux->gone.dropped += READ_ONCE(s->dropped);
	mux->gone.errors += READ_ONCE(s->errors);
	spin_unlock_bh(&mux->lock);
}

/**
 * msgmux_mux_get() - take a reference on a mux
 * @mux: a mux the caller already holds a reference on.
 */
void msgmux_mux_get(struct msgmux_mux *mux)
{
	refcount_inc(&mux->refcnt);
}

/**
 * msgmux_mux_put() - drop a reference on a mux
 * @mux: the mux; freed with its last reference.
 *
 * Context: process context; may take &msgmux_net.lock.
 */
void msgmux_mux_put(struct msgmux_mux *mux)
{
	struct msgmux_net *mn = msgmux_pernet(mux->net);

	/*
	 * The namespace lock is taken before the last reference can drop, so
	 * that /proc (which walks the list under it) never sees a mux whose
	 * count reached zero.
	 */
	if (!refcount_dec_and_mutex_lock(&mux->refcnt, &mn->lock))
		return;
	list_del(&mux->net_node);
	mutex_unlock(&mn->lock);

	WARN_ON_ONCE(!list_empty(&mux->socks) || !list_empty(&mux->psocks) ||
		     !list_empty(&mux->rx_waiting));
	kfree(mux);
}

/**
 * msgmux_mux_del_sock() - take an upper socket out of its mux
 * @msk: a socket being released, already out of receive steering.
 * @timeo: how long the connections' queued messages may wait for TCP if
 *	this is the mux's last socket (its SO_LINGER time).
 *
 * The last socket to leave detaches every connection.  Drops @msk's
 * reference on its mux; the mux is freed with its last reference.
 *
 * Context: process context; may take &msgmux_net.lock.
 */
void msgmux_mux_del_sock(struct msgmux_sock *msk, long timeo)
{
	struct msgmux_mux *mux = msk->mux;
	bool last;

	spin_lock_bh(&mux->lock);
	list_del(&msk->mux_node);
	last = !--mux->nsocks;
	spin_unlock_bh(&mux->lock);

	if (last)
		msgmux_psock_detach_all(mux, timeo);
	msgmux_mux_put(mux);
}
