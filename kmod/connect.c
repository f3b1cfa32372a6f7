// SPDX-License-Identifier: GPL-2.0
/*
 * connect.c - connections msgmux makes itself: connect().
 *
 * DOC: Connecting
 *
 * connect() on a msgmux socket creates a TCP socket in the socket's
 * namespace, as the caller (its credentials, its LSM checks: the socket
 * is created as a user's, not a kernel one), joins it to the mux with
 * the mux's built-in framing, and then has TCP connect it.  The
 * connection is hooked before TCP sends its SYN, so its establishment (a
 * state change, in softirq context) links it into the mux at once, and a
 * failure reaches the socket that asked: as the return value of a
 * blocking connect(), else in SO_ERROR with EPOLLERR, as on TCP.
 *
 * TCP itself does the waiting: a blocking connect() waits in TCP's
 * connect with the msgmux socket's SO_SNDTIMEO, and returns what TCP
 * returns (EINPROGRESS on timeout, EINTR on a signal, ECONNREFUSED...).
 * While a connection is being made, another connect() on the socket
 * joins TCP's connect on it: EALREADY if non-blocking, else it waits too.
 * Each socket makes one connection at a time.
 *
 * A SOCK_SEQPACKET socket makes one connection in its life and is then
 * one-to-one with it (a second connect() is EISCONN); a SOCK_DGRAM
 * socket adds a connection to its mux's pool with each connect().
 */
#include <linux/in.h>
#include <linux/in6.h>
#include <net/ipv6.h>
#include <linux/net.h>
#include <net/sock.h>

#include "msgmux.h"

/**
 * msgmux_addr_check() - is this an address msgmux can make a TCP socket for?
 * @addr: a bind() or connect() address, copied from the user.
 * @addr_len: its length.
 *
 * TCP checks the rest of the address itself.
 *
 * Return: 0, -EINVAL if @addr_len is too short, -EAFNOSUPPORT for a family
 * other than AF_INET or AF_INET6.
 */
int msgmux_addr_check(const struct sockaddr *addr, int addr_len)
{
	if (addr_len < (int)offsetofend(struct sockaddr, sa_family))
		return -EINVAL;
	switch (addr->sa_family) {
	case AF_INET:
		return addr_len < (int)sizeof(struct sockaddr_in) ? -EINVAL : 0;
	case AF_INET6:
		return addr_len < SIN6_LEN_RFC2133 ? -EINVAL : 0;
	default:
		return -EAFNOSUPPORT;
	}
}

/**
 * msgmux_tcp_create() - a TCP socket for bind() or connect()
 * @msk: the msgmux socket; its namespace, and the SOL_SOCKET options that
 *	shape a bind (SO_REUSEADDR, SO_BINDTODEVICE) carry over.  (The
 *	socket core refuses SO_REUSEPORT on families other than inet.)
 * @family: AF_INET or AF_INET6.
 * @res: the new socket.
 *
 * The socket is created as the caller's, not as a kernel socket: LSMs
 * check it, it counts against the caller's limits, and it holds its
 * namespace.
 *
 * Context: process context.
 * Return: 0 or the error of socket(@family, SOCK_STREAM, IPPROTO_TCP).
 */
int msgmux_tcp_create(struct msgmux_sock *msk, int family,
		      struct socket **res)
{
	struct sock *sk = &msk->sk;
	struct sock *csk;
	int err;

	err = __sock_create(sock_net(sk), family, SOCK_STREAM, IPPROTO_TCP,
			    res, sk->sk_kern_sock);
	if (err)
		return err;
	csk = (*res)->sk;
	lock_sock(csk);
	csk->sk_reuse = sk->sk_reuse;
	csk->sk_bound_dev_if = READ_ONCE(sk->sk_bound_dev_if);
	release_sock(csk);
	return 0;
}

/**
 * msgmux_peer_to_sockaddr() - an address as getsockname() returns it
 * @p: the address.
 * @addr: room for a &struct sockaddr_in6.
 *
 * Return: the length of the address written.
 */
int msgmux_peer_to_sockaddr(const struct msgmux_peer *p,
			    struct sockaddr *addr)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)addr;
	struct sockaddr_in *sin = (struct sockaddr_in *)addr;

	if (p->family == AF_INET) {
		memset(sin, 0, sizeof(*sin));
		sin->sin_family = AF_INET;
		sin->sin_port = p->port;
		memcpy(&sin->sin_addr, p->addr, 4);
		return sizeof(*sin);
	}
	memset(sin6, 0, sizeof(*sin6));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = p->port;
	sin6->sin6_scope_id = p->scope_id;
	memcpy(&sin6->sin6_addr, p->addr, 16);
	return sizeof(*sin6);
}

/**
 * __msgmux_conn_linked() - a connection went into service
 * @psock: the connection, just linked into its mux.
 *
 * Its owner stops waiting for it; a SOCK_SEQPACKET owner becomes
 * one-to-one with it.
 *
 * Context: &msgmux_mux.lock held.
 */
void __msgmux_conn_linked(struct msgmux_psock *psock)
{
	struct msgmux_sock *owner = psock->owner;

	lockdep_assert_held(&psock->mux->lock);

	if (!owner)
		return;
	psock->owner = NULL;
	if (owner->connecting == psock)
		owner->connecting = NULL;
	if (owner->sk.sk_type != SOCK_SEQPACKET ||
	    owner->conn_state != MSGMUX_SS_NONE)
		return;
	owner->conn_id = psock->id;
	owner->conn_peer = psock->peer;
	msgmux_psock_addr(psock->sk, &owner->conn_local, true);
	WRITE_ONCE(owner->conn_state, MSGMUX_SS_UP);
}

/**
 * __msgmux_conn_unlinked() - a connection failed before it was made
 * @psock: the connection, never linked.
 *
 * The socket that asked for it, if it still waits, gets the error in
 * SO_ERROR, as a non-blocking TCP connect() does.
 *
 * Context: &msgmux_mux.lock held.
 */
void __msgmux_conn_unlinked(struct msgmux_psock *psock)
{
	struct msgmux_sock *owner = psock->owner;
	int err = READ_ONCE(psock->err);

	lockdep_assert_held(&psock->mux->lock);

	if (!owner)
		return;
	psock->owner = NULL;
	owner->connecting = NULL;
	if (!err)
		return;
	WRITE_ONCE(owner->sk.sk_err, -err);
	sk_error_report(&owner->sk);
}

/* The connection @msk is making, with a reference, or NULL. */
static struct msgmux_psock *msgmux_conn_pending(struct msgmux_sock *msk)
{
	struct msgmux_mux *mux = msk->mux;
	struct msgmux_psock *psock;

	spin_lock_bh(&mux->lock);
	psock = msk->connecting;
	if (psock)
		refcount_inc(&psock->refcnt);
	spin_unlock_bh(&mux->lock);
	return psock;
}

/**
 * __msgmux_conn_admit() - may one more connection join a mux?
 * @mux: the mux.
 * @flags: how it joins, %MSGMUX_JOIN_* bits.
 *
 * A SOCK_SEQPACKET socket that connects, or was accepted, is one-to-one
 * with its connection, and so are its clones: no other connection joins
 * their mux, attached ones included, or its sends could take them.  Nor
 * does a SOCK_SEQPACKET mux with connections already connect().
 *
 * Context: &msgmux_mux.lock held.
 * Return: 0, or -EISCONN.
 */
int __msgmux_conn_admit(struct msgmux_mux *mux, unsigned int flags)
{
	struct msgmux_sock *msk;

	lockdep_assert_held(&mux->lock);

	if (mux->type != SOCK_SEQPACKET)
		return 0;
	if ((flags & MSGMUX_JOIN_CONNECT) && mux->npsocks)
		return -EISCONN;
	list_for_each_entry(msk, &mux->socks, mux_node)
		if (msk->connecting || msk->conn_state != MSGMUX_SS_NONE)
			return -EISCONN;
	return 0;
}

/* Checked again, under the same lock, when the connection joins. */
static bool msgmux_conn_taken(struct msgmux_mux *mux)
{
	bool taken;

	spin_lock_bh(&mux->lock);
	taken = __msgmux_conn_admit(mux, MSGMUX_JOIN_CONNECT);
	spin_unlock_bh(&mux->lock);
	return taken;
}

/* Start a connection for @msk: a TCP socket, hooked, not yet connected. */
static int msgmux_conn_start(struct msgmux_sock *msk, int family,
			     struct msgmux_psock **res)
{
	struct msgmux_join j = {
		.owner = msk,
		.flags = MSGMUX_JOIN_OWN | MSGMUX_JOIN_CONNECT,
	};
	struct sock *sk = &msk->sk;
	bool bound;
	int err;

	sock_owned_by_me(sk);

	if (sk->sk_type == SOCK_SEQPACKET &&
	    (READ_ONCE(msk->conn_state) != MSGMUX_SS_NONE || msk->listening ||
	     msgmux_conn_taken(msk->mux)))
		return -EISCONN;
	/* The error of a failed connect nobody read yet, as TCP. */
	err = sock_error(sk);
	if (err)
		return err;

	/* bind() then connect(): the bound socket makes the connection. */
	bound = msk->tcp && !msk->listening;
	if (bound)
		j.csock = msk->tcp;
	else
		err = msgmux_tcp_create(msk, family, &j.csock);
	if (err)
		return err;
	err = msgmux_psock_join(msk->mux, &j);
	if (err) {
		if (!bound)
			sock_release(j.csock);
		return err;
	}
	if (bound)
		msk->tcp = NULL;
	*res = j.psock;
	return 0;
}

/* After TCP's connect returned @err on @psock. */
static int msgmux_conn_result(struct msgmux_sock *msk,
			      struct msgmux_psock *psock, int err)
{
	struct msgmux_mux *mux = msk->mux;
	bool claimed;

	switch (err) {
	case 0:
	case -EISCONN:		/* made while this call began */
		msgmux_psock_established(psock);
		return 0;
	case -EINPROGRESS:	/* non-blocking, or SO_SNDTIMEO ran out */
	case -EALREADY:
	case -EINTR:
	case -ERESTARTSYS:
		return err;
	}

	/* It failed: the error is returned here, not left in SO_ERROR. */
	spin_lock_bh(&mux->lock);
	claimed = msk->connecting == psock;
	if (claimed) {
		msk->connecting = NULL;
		psock->owner = NULL;
	}
	spin_unlock_bh(&mux->lock);
	if (!claimed)
		sock_error(&msk->sk);
	if (msgmux_psock_unlink(psock))
		msgmux_psock_leave(psock, MSGMUX_NO_LINGER);
	return err;
}

/**
 * msgmux_connect() - connect(): make a TCP connection for the mux
 * @sock: an AF_MSGMUX socket.
 * @addr: a &struct sockaddr_in or &struct sockaddr_in6.
 * @addr_len: its length.
 * @flags: the file's flags: O_NONBLOCK.
 *
 * Context: process context.
 * Return: 0 once connected; -EINPROGRESS (non-blocking, or SO_SNDTIMEO
 * ran out) while it goes on; -EALREADY if a non-blocking connect() is in
 * progress already; -EISCONN for a SOCK_SEQPACKET socket that has
 * connected, been accepted or listens; the errors of msgmux_addr_check();
 * or TCP's own (-ECONNREFUSED, -ETIMEDOUT, -ENETUNREACH, -EINTR...).
 */
int msgmux_connect(struct socket *sock, struct sockaddr *addr, int addr_len,
		   int flags)
{
	struct sock *sk = sock->sk;
	struct msgmux_sock *msk = msgmux_sk(sk);
	struct msgmux_psock *psock;
	int err;

	err = msgmux_addr_check(addr, addr_len);
	if (err)
		return err;

	lock_sock(sk);
	psock = msgmux_conn_pending(msk);
	if (!psock)
		err = msgmux_conn_start(msk, addr->sa_family, &psock);
	if (!err)
		WRITE_ONCE(psock->sk->sk_sndtimeo, READ_ONCE(sk->sk_sndtimeo));
	release_sock(sk);
	if (err)
		return err;

	/* The socket stays until the psock's last reference: ours. */
	err = kernel_connect(psock->csock, addr, addr_len, flags);
	err = msgmux_conn_result(msk, psock, err);
	msgmux_psock_put(psock);
	return err;
}

/**
 * msgmux_conn_cancel() - a closing socket gives up its connect()
 * @msk: the socket, being released.
 *
 * Context: process context.
 */
void msgmux_conn_cancel(struct msgmux_sock *msk)
{
	struct msgmux_mux *mux = msk->mux;
	struct msgmux_psock *psock;

	spin_lock_bh(&mux->lock);
	psock = msk->connecting;
	if (psock) {
		msk->connecting = NULL;
		psock->owner = NULL;
		refcount_inc(&psock->refcnt);
	}
	spin_unlock_bh(&mux->lock);
	if (!psock)
		return;
	if (msgmux_psock_unlink(psock))
		msgmux_psock_leave(psock, MSGMUX_NO_LINGER);
	msgmux_psock_put(psock);
}

/**
 * msgmux_conn_abort() - shutdown() during connect(): abort it
 * @msk: the socket.
 *
 * As on TCP, the connection attempt is reset: a connect() waiting for it
 * returns, and SO_ERROR says ECONNRESET.
 *
 * Context: process context.
 */
void msgmux_conn_abort(struct msgmux_sock *msk)
{
	struct msgmux_psock *psock = msgmux_conn_pending(msk);

	if (!psock)
		return;
	kernel_sock_shutdown(psock->csock, SHUT_RDWR);
	msgmux_psock_put(psock);
}

/**
 * msgmux_conn_get() - the one connection of a SOCK_SEQPACKET socket
 * @msk: the socket.
 *
 * Return: the connection with a reference, or NULL if @msk has none in
 * service.
 */
struct msgmux_psock *msgmux_conn_get(struct msgmux_sock *msk)
{
	struct msgmux_mux *mux = msk->mux;
	struct msgmux_psock *psock, *found = NULL;

	spin_lock_bh(&mux->lock);
	if (msk->conn_state == MSGMUX_SS_UP) {
		list_for_each_entry(psock, &mux->psocks, mux_node) {
			if (psock->id == msk->conn_id) {
				found = psock;
				refcount_inc(&psock->refcnt);
				break;
			}
		}
	}
	spin_unlock_bh(&mux->lock);
	return found;
}
