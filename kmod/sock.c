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
 */
#include <linux/net.h>
#include <linux/poll.h>
#include <linux/socket.h>
#include <net/sock.h>

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

static int msgmux_release(struct socket *sock)
{
	struct sock *sk = sock->sk;

	if (!sk)
		return 0;

	msgmux_mux_del_sock(msgmux_sk(sk));

	lock_sock(sk);
	sk->sk_shutdown = SHUTDOWN_MASK;
	sock_orphan(sk);
	release_sock(sk);

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
	if (!skb_queue_empty_lockless(&sk->sk_receive_queue))
		mask |= EPOLLIN | EPOLLRDNORM;
	/*
	 * Writable only when a message could be queued, and that needs a
	 * connection, which this socket cannot have yet.
	 */
	return mask;
}

static int msgmux_getname(struct socket *sock, struct sockaddr *addr,
			  int peer)
{
	/* No local or peer address is defined without a connection. */
	return -ENOTCONN;
}

static int msgmux_shutdown(struct socket *sock, int how)
{
	/* The core passes SHUT_* + 1, so 1..3 are valid. */
	if (how < SHUT_RD + 1 || how > SHUT_RDWR + 1)
		return -EINVAL;
	return -ENOTCONN;
}

static int msgmux_setsockopt(struct socket *sock, int level, int optname,
			     sockptr_t optval, unsigned int optlen)
{
	return -ENOPROTOOPT;
}

static int msgmux_getsockopt(struct socket *sock, int level, int optname,
			     char __user *optval, int __user *optlen)
{
	return -ENOPROTOOPT;
}

static int msgmux_ioctl(struct socket *sock, unsigned int cmd,
			unsigned long arg)
{
	return -ENOIOCTLCMD;
}

static int msgmux_sendmsg(struct socket *sock, struct msghdr *msg,
			  size_t len)
{
	return -EOPNOTSUPP;
}

static int msgmux_recvmsg(struct socket *sock, struct msghdr *msg,
			  size_t len, int flags)
{
	return -EOPNOTSUPP;
}

static int msgmux_bind(struct socket *sock, struct sockaddr *addr,
		       int addr_len)
{
	return -EOPNOTSUPP;
}

static int msgmux_connect(struct socket *sock, struct sockaddr *addr,
			  int addr_len, int flags)
{
	return -EOPNOTSUPP;
}

static int msgmux_listen(struct socket *sock, int backlog)
{
	return -EOPNOTSUPP;
}

static int __msgmux_accept(struct socket *sock, struct socket *newsock,
			   int flags, bool kern)
{
	return -EOPNOTSUPP;
}

MSGMUX_DEFINE_ACCEPT(msgmux_accept, __msgmux_accept)

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

static struct proto_ops msgmux_dgram_ops __ro_after_init = {
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

static int msgmux_create(struct net *net, struct socket *sock, int protocol,
			 int kern)
{
	const struct proto_ops *ops = msgmux_ops_for_type(sock->type);
	struct msgmux_sock *msk;
	struct sock *sk;
	int err;

	if (!ops)
		return -ESOCKTNOSUPPORT;
	if (protocol)
		return -EPROTONOSUPPORT;

	sk = sk_alloc(net, msgmux_family, GFP_KERNEL, &msgmux_proto, kern);
	if (!sk)
		return -ENOMEM;
	msk = msgmux_sk(sk);

	/*
	 * The mux is made before the socket is initialised: a failure here
	 * only has the bare sk to free (the core never calls release for a
	 * socket whose create failed).
	 */
	err = msgmux_mux_create(net, msk);
	if (err) {
		sk_free(sk);
		return err;
	}

	sock->ops = ops;
	sock_init_data(sock, sk);
	sk->sk_destruct = msgmux_sk_destruct;
	msk->ino = SOCK_INODE(sock)->i_ino;
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
	msgmux_dgram_ops.family = family;
}
