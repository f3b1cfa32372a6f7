// SPDX-License-Identifier: GPL-2.0
/*
 * sock.c - the socket layer: socket(), close() and the proto_ops tables.
 *
 * DOC: Socket life cycle
 *
 * socket(AF_MSGMUX, SOCK_SEQPACKET or SOCK_DGRAM, 0) allocates a
 * &struct msgmux_sock and a new mux with it as first member.  close()
 * takes the socket out of its mux, marks it dead and drops the file's
 * reference; the &struct sock itself is freed when the last reference goes,
 * and msgmux_sk_destruct() frees whatever it still queued.
 *
 * Operations that msgmux does not offer on a socket in its current state
 * return the errno that TCP or AF_UNIX would: for example shutdown() on a
 * socket with no connection is -ENOTCONN.
 *
 * bind(), listen() and accept() are in listen.c, connect() in connect.c.
 */
#include <linux/file.h>
#include <linux/net.h>
#include <linux/poll.h>
#include <linux/socket.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "compat.h"
#include "msgmux.h"

struct proto msgmux_proto = {
	.name = "MSGMUX",
	.owner = THIS_MODULE,
	.obj_size = sizeof(struct msgmux_sock),
};

static void msgmux_sk_destruct(struct sock *sk)
{
	skb_queue_purge(&sk->sk_receive_queue);
	skb_queue_purge(&sk->sk_error_queue);

	/*
	 * Receive memory must all be back; send memory cannot be checked
	 * here, since sk_free() runs this only once sk_wmem_alloc hit zero.
	 */
	WARN_ON_ONCE(atomic_read(&sk->sk_rmem_alloc));
	WARN_ON_ONCE(sk->sk_forward_alloc);
}

/*
 * close(): the socket leaves steering (its unread messages go to the
 * mux's other sockets, if any), then its mux; the mux's last socket takes
 * the connections with it.  Messages it queued for sending stay charged
 * to it until TCP takes them, which keeps the struct sock alive.
 */
static int msgmux_release(struct socket *sock)
{
	struct msgmux_stats gone = {};
	struct sock *sk = sock->sk;
	struct msgmux_sock *msk;
	long timeo;

	if (!sk)
		return 0;
	msk = msgmux_sk(sk);

	msgmux_listen_stop(msk);
	msgmux_conn_cancel(msk);

	lock_sock(sk);
	msgmux_rx_disable(msk, true);
	/* No other socket receives: its unread messages go with it, counted. */
	gone.dropped = skb_queue_len(&sk->sk_receive_queue);
	if (gone.dropped)
		msgmux_mux_retire_stats(msk->mux, &gone);
	skb_queue_purge(&sk->sk_receive_queue);
	skb_queue_purge(&sk->sk_error_queue);
	msgmux_tx_purge(msk);
	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
	timeo = sock_flag(sk, SOCK_LINGER) ? sk->sk_lingertime :
		MSGMUX_NO_LINGER;
	release_sock(sk);

	msgmux_mux_del_sock(msk, timeo);

	sock_orphan(sk);
	sock->sk = NULL;
	sock_put(sk);
	return 0;
}

static __poll_t msgmux_poll(struct file *file, struct socket *sock,
			    poll_table *wait)
{
	struct sock *sk = sock->sk;
	u8 shutdown;
	__poll_t mask = 0;

	sock_poll_wait(file, sock, wait);

	shutdown = READ_ONCE(sk->sk_shutdown);
	if (READ_ONCE(sk->sk_err) ||
	    !skb_queue_empty_lockless(&sk->sk_error_queue))
		mask |= EPOLLERR;
	if (shutdown & RCV_SHUTDOWN)
		mask |= EPOLLRDHUP | EPOLLIN | EPOLLRDNORM;
	if (shutdown == SHUTDOWN_MASK)
		mask |= EPOLLHUP;
	if (!skb_queue_empty_lockless(&sk->sk_receive_queue) ||
	    (sk->sk_type == SOCK_SEQPACKET &&
	     msgmux_listen_readable(msgmux_sk(sk))))
		mask |= EPOLLIN | EPOLLRDNORM;

	/* Writable only when a message could really be queued now. */
	if (!(shutdown & SEND_SHUTDOWN) && msgmux_tx_can_queue(msgmux_sk(sk)))
		mask |= EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;
	else
		sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sk);
	return mask;
}

/*
 * The local address: a bound or listening socket's; a one-to-one socket's
 * connection's.  The peer: a one-to-one socket's, while its connection is
 * up.  No other address is defined: a mux has many connections.
 */
static int msgmux_getname(struct socket *sock, struct sockaddr *addr,
			  int peer)
{
	struct sock *sk = sock->sk;
	struct msgmux_sock *msk = msgmux_sk(sk);
	struct msgmux_mux *mux = msk->mux;
	struct msgmux_peer p;
	int state, err;

	if (!peer) {
		lock_sock(sk);
		err = msk->tcp ? kernel_getsockname(msk->tcp, addr) : -ENOTCONN;
		release_sock(sk);
		if (err != -ENOTCONN)
			return err;
	}

	spin_lock_bh(&mux->lock);
	state = msk->conn_state;
	p = peer ? msk->conn_peer : msk->conn_local;
	spin_unlock_bh(&mux->lock);
	if (state == MSGMUX_SS_NONE || (peer && state != MSGMUX_SS_UP))
		return -ENOTCONN;
	return msgmux_peer_to_sockaddr(&p, addr);
}

/* Has @msk anything for shutdown() to act on? */
static bool msgmux_sock_connected(const struct msgmux_sock *msk)
{
	return msk->listening || READ_ONCE(msk->connecting) ||
	       READ_ONCE(msk->conn_state) != MSGMUX_SS_NONE ||
	       READ_ONCE(msk->mux->npsocks);
}

/*
 * SHUT_WR: no more sends; a one-to-one socket's connection gets FIN after
 * the messages queued on it.  SHUT_RD: the socket leaves receive steering
 * and reads 0 once its queue is empty; a listener stops listening.
 */
static int msgmux_shutdown(struct socket *sock, int how)
{
	struct sock *sk = sock->sk;
	struct msgmux_sock *msk = msgmux_sk(sk);
	struct msgmux_psock *psock = NULL;
	int mode = how + 1;	/* RCV_SHUTDOWN, SEND_SHUTDOWN, or both */
	int err = 0;

	if (how < SHUT_RD || how > SHUT_RDWR)
		return -EINVAL;

	lock_sock(sk);
	if (!msgmux_sock_connected(msk)) {
		err = -ENOTCONN;
		goto out;
	}
	if (msk->listening && (mode & RCV_SHUTDOWN))
		err = msgmux_listen_shutdown(msk);
	/* As msgmux_rx_conn_gone(), which may set it meanwhile. */
	spin_lock_bh(&msk->mux->lock);
	WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | mode);
	spin_unlock_bh(&msk->mux->lock);
	if (mode & SEND_SHUTDOWN) {
		/* A message left unfinished (no MSG_EOR yet) is dropped. */
		msgmux_tx_purge(msk);
		psock = msgmux_conn_get(msk);
	}
	if (mode & RCV_SHUTDOWN)
		msgmux_rx_disable(msk, false);
out:
	release_sock(sk);
	if (err == -ENOTCONN)
		return err;
	/* Blocked readers see the end, blocked writers EPIPE. */
	sk->sk_state_change(sk);
	if (psock) {
		msgmux_psock_fin(psock);
		msgmux_psock_put(psock);
	}
	if (mode & SEND_SHUTDOWN)
		msgmux_conn_abort(msk);
	return err;
}

static int msgmux_set_framing(struct msgmux_sock *msk, sockptr_t optval,
			      unsigned int optlen)
{
	struct msgmux_mux *mux = msk->mux;
	struct msgmux_framing uf;
	struct msgmux_frame f;
	int err;

	if (optlen < sizeof(uf))
		return -EINVAL;
	if (copy_from_sockptr(&uf, optval, sizeof(uf)))
		return -EFAULT;
	err = msgmux_frame_from_user(&f, &uf);
	if (err)
		return err;

	spin_lock_bh(&mux->lock);
	if (mux->npsocks)
		err = -EBUSY;
	else
		mux->frame = f;
	spin_unlock_bh(&mux->lock);
	return err;
}

static int msgmux_set_accept_limit(struct msgmux_mux *mux, int val)
{
	if (val < 0)
		return -EINVAL;
	spin_lock_bh(&mux->lock);
	mux->accept_limit = val;
	__msgmux_listen_kick(mux);
	spin_unlock_bh(&mux->lock);
	return 0;
}

static int msgmux_setsockopt(struct socket *sock, int level, int optname,
			     sockptr_t optval, unsigned int optlen)
{
	struct msgmux_sock *msk = msgmux_sk(sock->sk);
	int val, err = 0;

	if (level != SOL_MSGMUX)
		return -ENOPROTOOPT;
	if (optname == MSGMUX_FRAMING)
		return msgmux_set_framing(msk, optval, optlen);
	if (optname != MSGMUX_RECV_DISABLE && optname != MSGMUX_EXPLICIT_EOR &&
	    optname != MSGMUX_ACCEPT_LIMIT)
		return -ENOPROTOOPT;
	if (optlen < sizeof(int))
		return -EINVAL;
	if (copy_from_sockptr(&val, optval, sizeof(val)))
		return -EFAULT;
	if (optname == MSGMUX_ACCEPT_LIMIT)
		return msgmux_set_accept_limit(msk->mux, val);

	lock_sock(&msk->sk);
	if (optname == MSGMUX_EXPLICIT_EOR)
		msk->explicit_eor = !!val;
	else if (val)
		msgmux_rx_disable(msk, false);
	else if (msk->sk.sk_shutdown & RCV_SHUTDOWN)
		/* shutdown(SHUT_RD) is for good. */
		err = -EINVAL;
	else
		msgmux_rx_enable(msk);
	release_sock(&msk->sk);
	return err;
}

static int msgmux_getsockopt(struct socket *sock, int level, int optname,
			     char __user *optval, int __user *optlen)
{
	struct msgmux_sock *msk = msgmux_sk(sock->sk);
	struct msgmux_mux *mux = msk->mux;
	struct msgmux_framing uf;
	struct msgmux_frame f;
	void *src = &uf;
	int len, val, size;

	if (level != SOL_MSGMUX)
		return -ENOPROTOOPT;
	if (get_user(len, optlen))
		return -EFAULT;

	switch (optname) {
	case MSGMUX_FRAMING:
		spin_lock_bh(&mux->lock);
		f = mux->frame;
		spin_unlock_bh(&mux->lock);
		msgmux_frame_to_user(&f, &uf);
		size = sizeof(uf);
		break;
	case MSGMUX_RECV_DISABLE:
		val = READ_ONCE(msk->rx_disabled);
		src = &val;
		size = sizeof(val);
		break;
	case MSGMUX_EXPLICIT_EOR:
		val = READ_ONCE(msk->explicit_eor);
		src = &val;
		size = sizeof(val);
		break;
	case MSGMUX_ACCEPT_LIMIT:
		val = READ_ONCE(mux->accept_limit);
		src = &val;
		size = sizeof(val);
		break;
	default:
		return -ENOPROTOOPT;
	}
	if (len < size)
		return -EINVAL;
	if (put_user(size, optlen) || copy_to_user(optval, src, size))
		return -EFAULT;
	return 0;
}

static int msgmux_ioctl_attach(struct msgmux_sock *msk, void __user *uarg,
			       bool ext)
{
	struct msgmux_attach_ext a = {};
	u32 id;
	int err;

	if (copy_from_user(&a, uarg, ext ? sizeof(a) :
			   sizeof(struct msgmux_attach)))
		return -EFAULT;
	if (a.flags || a.reserved)
		return -EINVAL;
	/*
	 * Where the id goes must be writable before the connection is
	 * taken: undoing an attach cannot give back what strparser read.
	 */
	if (ext && put_user(0U, &((struct msgmux_attach_ext __user *)
				  uarg)->conn_id))
		return -EFAULT;
	err = msgmux_attach(msk, a.fd, a.bpf_fd, &id);
	if (err || !ext)
		return err;

	a.conn_id = id;
	if (copy_to_user(uarg, &a, sizeof(a))) {
		/* Nothing changes on error: give the connection back. */
		msgmux_unattach_id(msk, id);
		return -EFAULT;
	}
	return 0;
}

static int msgmux_ioctl_unattach(struct msgmux_sock *msk, void __user *uarg)
{
	struct msgmux_unattach u;

	if (copy_from_user(&u, uarg, sizeof(u)))
		return -EFAULT;
	return msgmux_unattach(msk, u.fd);
}

static int msgmux_ioctl(struct socket *sock, unsigned int cmd,
			unsigned long arg)
{
	struct msgmux_sock *msk = msgmux_sk(sock->sk);
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case SIOCMSGMUXATTACH:
		return msgmux_ioctl_attach(msk, uarg, false);
	case SIOCMSGMUXATTACHX:
		return msgmux_ioctl_attach(msk, uarg, true);
	case SIOCMSGMUXUNATTACH:
		return msgmux_ioctl_unattach(msk, uarg);
	case SIOCMSGMUXCLONE:
		return msgmux_clone(sock, uarg);
	default:
		return -ENOIOCTLCMD;
	}
}

MSGMUX_DEFINE_ACCEPT(msgmux_accept, msgmux_accept_sock)

/*
 * The tables are written once, at module init, to fill in the family
 * number chosen by the module parameter.
 */
static struct proto_ops msgmux_seqpacket_ops __ro_after_init = {
	.owner = THIS_MODULE,
	.release = msgmux_release,
	.bind = msgmux_bind,
	.connect = msgmux_connect,
	.socketpair = sock_no_socketpair,
	.accept = msgmux_accept,
	.getname = msgmux_getname,
	.poll = msgmux_poll,
	.ioctl = msgmux_ioctl,
	.listen = msgmux_listen,
	.shutdown = msgmux_shutdown,
	.setsockopt = msgmux_setsockopt,
	.getsockopt = msgmux_getsockopt,
	.sendmsg = msgmux_sendmsg,
	.recvmsg = msgmux_recvmsg,
	.mmap = sock_no_mmap,
};

/*
 * The same handlers: where the types differ (accept(), one-to-one
 * connections), the handlers look at the socket's type.  A copy made at
 * init (see below).
 */
static struct proto_ops msgmux_dgram_ops __ro_after_init;

static const struct proto_ops *msgmux_ops_for_type(int type)
{
	switch (type) {
	case SOCK_SEQPACKET:
		return &msgmux_seqpacket_ops;
	case SOCK_DGRAM:
		return &msgmux_dgram_ops;
	default:
		return NULL;
	}
}

/**
 * msgmux_sock_init() - set up a new upper socket and add it to a mux
 * @sock: its &struct socket.
 * @sk: the new &struct sock of a &struct msgmux_sock.
 * @ops: @sock's proto_ops.
 * @mux: the mux, whose reference the socket takes over: the mux's paths
 *	may reach it from then on.
 */
void msgmux_sock_init(struct socket *sock, struct sock *sk,
		      const struct proto_ops *ops, struct msgmux_mux *mux)
{
	struct msgmux_sock *msk = msgmux_sk(sk);

	sock->ops = ops;
	sock_init_data(sock, sk);
	sk->sk_destruct = msgmux_sk_destruct;
	/*
	 * A mux socket is a message endpoint from the start: the datagram
	 * helpers (skb_recv_datagram()) refuse to wait on a SEQPACKET socket
	 * in any other state.
	 */
	sk->sk_state = TCP_ESTABLISHED;
	msk->ino = SOCK_INODE(sock)->i_ino;
	INIT_LIST_HEAD(&msk->rx_ready_node);
	skb_queue_head_init(&msk->tx_parts);
	msgmux_listen_init(msk);
	msgmux_mux_add_sock(mux, msk);
	msgmux_rx_enable(msk);
}

static int msgmux_create(struct net *net, struct socket *sock, int protocol,
			 int kern)
{
	const struct proto_ops *ops = msgmux_ops_for_type(sock->type);
	struct msgmux_mux *mux;
	struct sock *sk;

	if (!ops)
		return -ESOCKTNOSUPPORT;
	if (protocol)
		return -EPROTONOSUPPORT;

	/* The core never calls release for a socket whose create failed. */
	mux = msgmux_mux_create(net, sock->type);
	if (!mux)
		return -ENOMEM;
	sk = sk_alloc(net, msgmux_family, GFP_KERNEL, &msgmux_proto, kern);
	if (!sk) {
		msgmux_mux_put(mux);
		return -ENOMEM;
	}
	msgmux_sock_init(sock, sk, ops, mux);
	return 0;
}

/* A clone of a one-to-one socket is one-to-one with the same connection. */
static void msgmux_clone_conn(struct msgmux_sock *msk,
			      const struct msgmux_sock *from)
{
	struct msgmux_mux *mux = msk->mux;

	spin_lock_bh(&mux->lock);
	msk->conn_id = from->conn_id;
	msk->conn_local = from->conn_local;
	msk->conn_peer = from->conn_peer;
	msk->conn_state = from->conn_state;
	if (msk->conn_state == MSGMUX_SS_GONE)
		msk->sk.sk_shutdown = SHUTDOWN_MASK;
	spin_unlock_bh(&mux->lock);
}

/**
 * msgmux_clone() - SIOCMSGMUXCLONE: a new upper socket on the same mux
 * @osock: a socket of the mux.
 * @uarg: a &struct msgmux_clone that receives the new file descriptor
 *	(close-on-exec).
 *
 * Context: process context.
 * Return: 0, -ENFILE, -EMFILE, -ENOMEM or -EFAULT; on error nothing is
 * left behind.
 */
int msgmux_clone(struct socket *osock, struct msgmux_clone __user *uarg)
{
	struct msgmux_mux *mux = msgmux_sk(osock->sk)->mux;
	struct socket *newsock;
	struct file *file;
	struct sock *newsk;
	int fd;

	newsock = sock_alloc();
	if (!newsock)
		return -ENFILE;
	newsock->type = osock->type;
	newsock->ops = osock->ops;
	__module_get(newsock->ops->owner);

	newsk = sk_alloc(sock_net(osock->sk), msgmux_family, GFP_KERNEL,
			 &msgmux_proto, false);
	if (!newsk) {
		sock_release(newsock);
		return -ENOMEM;
	}
	msgmux_mux_get(mux);
	msgmux_sock_init(newsock, newsk, osock->ops, mux);
	msgmux_clone_conn(msgmux_sk(newsk), msgmux_sk(osock->sk));

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		sock_release(newsock);
		return fd;
	}
	file = sock_alloc_file(newsock, 0, NULL);
	if (IS_ERR(file)) {
		/* sock_alloc_file() released the socket. */
		put_unused_fd(fd);
		return PTR_ERR(file);
	}
	if (put_user(fd, &uarg->fd)) {
		fput(file);
		put_unused_fd(fd);
		return -EFAULT;
	}
	fd_install(fd, file);
	return 0;
}

struct net_proto_family msgmux_family_ops __ro_after_init = {
	.family = AF_MSGMUX_DEFAULT,
	.create = msgmux_create,
	.owner = THIS_MODULE,
};

/**
 * msgmux_sock_init_family() - set the family number in the ops tables
 * @family: the family the module registers.
 *
 * Context: module init, before sock_register().
 */
void msgmux_sock_init_family(int family)
{
	msgmux_family_ops.family = family;
	msgmux_seqpacket_ops.family = family;
	msgmux_dgram_ops = msgmux_seqpacket_ops;
}
