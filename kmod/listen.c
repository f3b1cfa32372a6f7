// SPDX-License-Identifier: GPL-2.0
/*
 * listen.c - connections msgmux accepts: bind(), listen(), accept().
 *
 * DOC: Listening
 *
 * bind() creates and binds a TCP socket as the caller, so TCP's rules
 * apply as they are: a port below 1024 needs CAP_NET_BIND_SERVICE,
 * SO_REUSEADDR set on the msgmux socket beforehand carries over (the
 * socket core refuses SO_REUSEPORT on a family that is not inet).
 * listen() makes it a TCP listener (binding a free port first if there
 * was no bind(), as TCP does).
 *
 * msgmux puts an entry of its own on the listener's wait queue, so that
 * a connection to accept (the listener's data_ready wake-up) queues
 * &msgmux_sock.accept_work, without replacing any of the listener's
 * callbacks (which its children would inherit).
 *
 * - SOCK_SEQPACKET, one-to-one: accept() takes a connection from TCP's
 *   accept queue, with TCP's own waiting (SO_RCVTIMEO, signals,
 *   O_NONBLOCK), and returns a new SOCK_SEQPACKET socket on a new mux
 *   whose one connection it is.  The work only wakes poll() and epoll
 *   waiters: the listener is readable when TCP's accept queue is not
 *   empty.
 * - SOCK_DGRAM, one-to-many: the work accepts connections into the mux,
 *   as long as fewer than MSGMUX_ACCEPT_LIMIT of them are in service;
 *   the others wait in TCP's backlog until one leaves.  accept() is
 *   -EOPNOTSUPP.
 */
#include <linux/net.h>
#include <linux/wait.h>
#include <net/inet_connection_sock.h>
#include <net/request_sock.h>
#include <net/sock.h>

#include "msgmux.h"

/**
 * msgmux_bind() - bind(): bind a TCP socket for listen() or connect()
 * @sock: an AF_MSGMUX socket.
 * @addr: a &struct sockaddr_in or &struct sockaddr_in6.
 * @addr_len: its length.
 *
 * Context: process context.
 * Return: 0; -EINVAL if the socket is bound or connected already; the
 * errors of msgmux_addr_check(); or TCP's own (-EADDRINUSE, -EACCES for
 * a port below 1024 without CAP_NET_BIND_SERVICE, -EADDRNOTAVAIL...).
 */
int msgmux_bind(struct socket *sock, struct sockaddr *addr, int addr_len)
{
	struct sock *sk = sock->sk;
	struct msgmux_sock *msk = msgmux_sk(sk);
	struct socket *csock;
	int err;

	err = msgmux_addr_check(addr, addr_len);
	if (err)
		return err;

	lock_sock(sk);
	if (msk->tcp || READ_ONCE(msk->connecting) ||
	    READ_ONCE(msk->conn_state) != MSGMUX_SS_NONE) {
		err = -EINVAL;
		goto out;
	}
	err = msgmux_tcp_create(msk, addr->sa_family, &csock);
	if (err)
		goto out;
	err = kernel_bind(csock, addr, addr_len);
	if (err)
		sock_release(csock);
	else
		msk->tcp = csock;
out:
	release_sock(sk);
	return err;
}

/* Room for one more accepted connection in the mux?  Then it is taken. */
static bool msgmux_accept_reserve(struct msgmux_mux *mux)
{
	bool room;

	spin_lock_bh(&mux->lock);
	room = mux->naccepted < mux->accept_limit;
	if (room)
		mux->naccepted++;
	spin_unlock_bh(&mux->lock);
	return room;
}

static void msgmux_accept_unreserve(struct msgmux_mux *mux)
{
	spin_lock_bh(&mux->lock);
	mux->naccepted--;
	spin_unlock_bh(&mux->lock);
}

/* SOCK_DGRAM: accept what waits, up to the mux's limit. */
static void msgmux_pool_fill(struct msgmux_sock *msk)
{
	struct msgmux_join j = {
		.flags = MSGMUX_JOIN_OWN | MSGMUX_JOIN_ACCEPTED,
	};
	struct msgmux_mux *mux = msk->mux;
	struct socket *csock;

	lock_sock(&msk->sk);
	while (msk->listening && msgmux_accept_reserve(mux)) {
		if (kernel_accept(msk->tcp, &csock, O_NONBLOCK)) {
			msgmux_accept_unreserve(mux);
			break;
		}
		j.csock = csock;
		if (msgmux_psock_join(mux, &j)) {
			/* Reset while it waited in the backlog: gone. */
			msgmux_accept_unreserve(mux);
			sock_release(csock);
		}
	}
	release_sock(&msk->sk);
}

static void msgmux_accept_work(struct work_struct *work)
{
	struct msgmux_sock *msk = container_of(work, struct msgmux_sock,
					       accept_work);

	if (msk->sk.sk_type == SOCK_SEQPACKET)
		msk->sk.sk_data_ready(&msk->sk);
	else
		msgmux_pool_fill(msk);
}

/*
 * A wake-up of the listener (a connection to accept, or its shutdown).
 * Runs under the listener's wait queue lock, maybe in softirq context:
 * the work does the rest.
 */
static int msgmux_listen_wake(struct wait_queue_entry *wait,
			      unsigned int mode, int sync, void *key)
{
	struct msgmux_sock *msk = container_of(wait, struct msgmux_sock,
					       accept_wait);

	queue_work(msgmux_wq, &msk->accept_work);
	return 0;
}

/**
 * msgmux_listen_init() - set up a new socket's listening state
 * @msk: the socket.
 */
void msgmux_listen_init(struct msgmux_sock *msk)
{
	INIT_WORK(&msk->accept_work, msgmux_accept_work);
	init_waitqueue_func_entry(&msk->accept_wait, msgmux_listen_wake);
}

/* listen() succeeded for the first time on @msk->tcp. */
static void msgmux_listen_start(struct msgmux_sock *msk)
{
	struct msgmux_mux *mux = msk->mux;

	sock_owned_by_me(&msk->sk);

	add_wait_queue(sk_sleep(msk->tcp->sk), &msk->accept_wait);
	spin_lock_bh(&mux->lock);
	/* Pairs with msgmux_listen_readable(): @tcp is set before. */
	smp_store_release(&msk->listening, true);
	spin_unlock_bh(&mux->lock);
	/* Connections may have queued before our entry was there. */
	queue_work(msgmux_wq, &msk->accept_work);
}

/*
 * listen() again after shutdown(SHUT_RD) stopped the listener: TCP
 * listens anew, and the socket is no longer shut, as TCP's disconnect
 * leaves its socket.
 */
static void msgmux_listen_restart(struct msgmux_sock *msk)
{
	struct sock *sk = &msk->sk;
	bool rd;

	spin_lock_bh(&msk->mux->lock);
	rd = sk->sk_shutdown & RCV_SHUTDOWN;
	WRITE_ONCE(sk->sk_shutdown, 0);
	spin_unlock_bh(&msk->mux->lock);
	if (rd)
		msgmux_rx_enable(msk);
	queue_work(msgmux_wq, &msk->accept_work);
}

/**
 * msgmux_listen() - listen(): a TCP listener for the mux
 * @sock: an AF_MSGMUX socket.
 * @backlog: TCP's backlog; listen() again changes it.
 *
 * Context: process context.
 * Return: 0; -EINVAL for a SOCK_SEQPACKET socket that is connected or
 * connecting; or TCP's errors.
 */
int msgmux_listen(struct socket *sock, int backlog)
{
	struct sock *sk = sock->sk;
	struct msgmux_sock *msk = msgmux_sk(sk);
	struct socket *created = NULL;
	int err;

	lock_sock(sk);
	if (sk->sk_type == SOCK_SEQPACKET &&
	    (READ_ONCE(msk->connecting) ||
	     READ_ONCE(msk->conn_state) != MSGMUX_SS_NONE)) {
		err = -EINVAL;
		goto out;
	}
	if (!msk->tcp) {
		/* No bind(): TCP picks a port, on IPv4's any address. */
		err = msgmux_tcp_create(msk, AF_INET, &created);
		if (err)
			goto out;
		msk->tcp = created;
	}
	err = kernel_listen(msk->tcp, backlog);
	if (err) {
		if (created) {
			msk->tcp = NULL;
			sock_release(created);
		}
		goto out;
	}
	if (!msk->listening)
		msgmux_listen_start(msk);
	else if (sk->sk_shutdown)
		msgmux_listen_restart(msk);
out:
	release_sock(sk);
	return err;
}

/**
 * msgmux_listen_readable() - would accept() find a connection?
 * @msk: a socket.
 *
 * Context: any; lockless, for poll().
 * Return: true if @msk listens and TCP's accept queue is not empty.
 */
bool msgmux_listen_readable(const struct msgmux_sock *msk)
{
	const struct socket *lsock;

	/* Pairs with msgmux_listen_start(): then @tcp is the listener. */
	if (!smp_load_acquire(&msk->listening))
		return false;
	lsock = READ_ONCE(msk->tcp);
	return !reqsk_queue_empty(&inet_csk(lsock->sk)->icsk_accept_queue);
}

/**
 * struct msgmux_accept_mem - what accept() allocates before it takes a
 * connection
 * @mux: the new socket's mux, not listed yet.
 * @sk: the new socket.
 * @psock: the connection, to join as &msgmux_join.spare.
 *
 * A connection taken from TCP's accept queue cannot be put back: were an
 * allocation to fail after, the connection would be lost, and the
 * client's first messages with it.  So accept() allocates first, as the
 * socket core does the new socket and its file, and fails with nothing
 * taken.
 */
struct msgmux_accept_mem {
	struct msgmux_mux *mux;
	struct sock *sk;
	struct msgmux_psock *psock;
};

static void msgmux_accept_free(struct msgmux_accept_mem *m)
{
	if (m->psock)
		msgmux_psock_discard(m->psock);
	if (m->sk)
		sk_free(m->sk);
	if (m->mux)
		msgmux_mux_discard(m->mux);
}

static int msgmux_accept_alloc(struct net *net, bool kern,
			       struct msgmux_accept_mem *m)
{
	m->mux = msgmux_mux_alloc(net, SOCK_SEQPACKET);
	if (m->mux)
		m->sk = sk_alloc(net, msgmux_family, GFP_KERNEL,
				 &msgmux_proto, kern);
	if (m->sk)
		m->psock = msgmux_psock_alloc(m->mux, NULL);
	if (m->psock)
		return 0;
	msgmux_accept_free(m);
	return -ENOMEM;
}

/*
 * The new socket accept() returns, on a new mux, as @lmsk's framing.
 * Takes @m; fails only if the connection was reset or closed meanwhile.
 */
static int msgmux_accept_new(struct msgmux_sock *lmsk,
			     struct socket *newsock, struct socket *csock,
			     struct msgmux_accept_mem *m)
{
	struct msgmux_join j = {
		.csock = csock,
		.flags = MSGMUX_JOIN_OWN,
		.spare = m->psock,
	};
	struct msgmux_mux *mux = m->mux;
	struct sock *sk = m->sk;

	msgmux_mux_link(mux);
	spin_lock_bh(&lmsk->mux->lock);
	mux->frame = lmsk->mux->frame;
	spin_unlock_bh(&lmsk->mux->lock);

	/*
	 * The child inherited the listener's SO_RCVTIMEO, which accept()
	 * set to the msgmux socket's: for strparser it would be a message
	 * assembly timeout.
	 */
	WRITE_ONCE(csock->sk->sk_rcvtimeo, MAX_SCHEDULE_TIMEOUT);
	/* From here newsock's release frees the socket and the mux. */
	msgmux_sock_init(newsock, sk, newsock->ops, mux);
	msgmux_sk(sk)->explicit_eor = READ_ONCE(lmsk->explicit_eor);
	j.owner = msgmux_sk(sk);
	/*
	 * With its memory at hand, joining fails only for the connection's
	 * state: reset or closed while it waited, as TCP's accept() may say.
	 */
	return msgmux_psock_join(mux, &j) ? -ECONNABORTED : 0;
}

/**
 * msgmux_accept_sock() - accept(): a socket for one client connection
 * @sock: a listening SOCK_SEQPACKET AF_MSGMUX socket.
 * @newsock: the socket to return, allocated by the core.
 * @flags: the listening file's flags: O_NONBLOCK.
 * @kern: for an in-kernel caller.
 *
 * Context: process context.
 * Return: 0; -EOPNOTSUPP on a SOCK_DGRAM socket; -EINVAL if @sock does
 * not listen; -ECONNABORTED if the connection was reset before it could
 * be accepted; -ENOMEM, with the connection left for the next accept();
 * or TCP's accept errors (-EAGAIN, -EINTR...).
 */
int msgmux_accept_sock(struct socket *sock, struct socket *newsock,
		       int flags, bool kern)
{
	struct sock *sk = sock->sk;
	struct msgmux_sock *msk = msgmux_sk(sk);
	struct msgmux_accept_mem m = {};
	struct socket *lsock, *csock;
	int err;

	if (sk->sk_type != SOCK_SEQPACKET)
		return -EOPNOTSUPP;

	lock_sock(sk);
	lsock = msk->listening ? msk->tcp : NULL;
	if (lsock)
		WRITE_ONCE(lsock->sk->sk_rcvtimeo, READ_ONCE(sk->sk_rcvtimeo));
	release_sock(sk);
	if (!lsock)
		return -EINVAL;

	err = msgmux_accept_alloc(sock_net(sk), kern, &m);
	if (err)
		return err;
	/* The listener lives as long as @sock, which our caller holds. */
	err = kernel_accept(lsock, &csock, flags & O_NONBLOCK);
	if (err) {
		msgmux_accept_free(&m);
		return err;
	}
	err = msgmux_accept_new(msk, newsock, csock, &m);
	if (err)
		sock_release(csock);
	return err;
}

/**
 * __msgmux_listen_kick() - a mux's accepted connection left
 * @mux: the mux; its SOCK_DGRAM listeners accept more, if any wait.
 *
 * Context: &msgmux_mux.lock held.
 */
void __msgmux_listen_kick(struct msgmux_mux *mux)
{
	struct msgmux_sock *msk;

	lockdep_assert_held(&mux->lock);

	list_for_each_entry(msk, &mux->socks, mux_node)
		if (msk->listening && msk->sk.sk_type == SOCK_DGRAM)
			queue_work(msgmux_wq, &msk->accept_work);
}

/**
 * msgmux_listen_shutdown() - shutdown(SHUT_RD) of a listener
 * @msk: a listening socket.
 *
 * TCP closes the listener: connections in its backlog are reset and a
 * blocked accept() returns -EINVAL.
 *
 * Context: process context, lock_sock() held on @msk.
 * Return: TCP's shutdown result.
 */
int msgmux_listen_shutdown(struct msgmux_sock *msk)
{
	sock_owned_by_me(&msk->sk);

	return kernel_sock_shutdown(msk->tcp, SHUT_RD);
}

/**
 * msgmux_listen_stop() - a closing socket's bound or listening TCP socket
 * @msk: the socket, being released.
 *
 * Context: process context.
 */
void msgmux_listen_stop(struct msgmux_sock *msk)
{
	struct msgmux_mux *mux = msk->mux;
	struct socket *lsock;
	bool listening;

	lock_sock(&msk->sk);
	lsock = msk->tcp;
	msk->tcp = NULL;
	listening = msk->listening;
	spin_lock_bh(&mux->lock);
	WRITE_ONCE(msk->listening, false);
	spin_unlock_bh(&mux->lock);
	release_sock(&msk->sk);

	if (listening)
		remove_wait_queue(sk_sleep(lsock->sk), &msk->accept_wait);
	/* No wake-up or kick can queue it any more. */
	cancel_work_sync(&msk->accept_work);
	if (lsock)
		sock_release(lsock);
}
