/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - every difference between the kernels msgmux builds on.
 *
 * msgmux supports Debian's 6.1 and 6.12 LTS kernels.  Version checks live
 * here and nowhere else, so the rest of the module reads as plain
 * current-kernel code.
 */
#ifndef _MSGMUX_COMPAT_H
#define _MSGMUX_COMPAT_H

#include <linux/bvec.h>
#include <linux/net.h>
#include <linux/uio.h>
#include <linux/version.h>
#include <net/sock.h>

/*
 * proto_ops.accept takes a struct proto_accept_arg since 6.10 (commit
 * 92ef0fd55ac8 "net: change proto and proto_ops accept type").
 * MSGMUX_DEFINE_ACCEPT(name, impl) defines the proto_ops handler "name"
 * for this kernel, calling
 *	int impl(struct socket *sock, struct socket *newsock, int flags,
 *		 bool kern);
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define MSGMUX_DEFINE_ACCEPT(name, impl)				\
static int name(struct socket *sock, struct socket *newsock,		\
		struct proto_accept_arg *arg)				\
{									\
	return impl(sock, newsock, arg->flags, arg->kern);		\
}
#else
#define MSGMUX_DEFINE_ACCEPT(name, impl)				\
static int name(struct socket *sock, struct socket *newsock,		\
		int flags, bool kern)					\
{									\
	return impl(sock, newsock, flags, kern);			\
}
#endif

/* asm/unaligned.h moved to linux/unaligned.h in 6.12. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

/*
 * Flags the kernel itself passes to sendmsg() for sendfile() and
 * splice(): MSG_INTERNAL_SENDMSG_FLAGS (MSG_SPLICE_PAGES and friends, in
 * Debian's 6.1 and in 6.12), and on 6.1 MSG_SENDPAGE_NOTLAST: more pages
 * of the same sendfile() follow (gone by 6.12, where MSG_MORE says it).
 */
#ifdef MSG_INTERNAL_SENDMSG_FLAGS
#define MSGMUX_MSG_INTERNAL	MSG_INTERNAL_SENDMSG_FLAGS
#else
#define MSGMUX_MSG_INTERNAL	0
#endif
#ifdef MSG_SENDPAGE_NOTLAST
#define MSGMUX_MSG_NOTLAST	MSG_SENDPAGE_NOTLAST
#else
#define MSGMUX_MSG_NOTLAST	0
#endif

/*
 * Hand a connection's TCP socket (locked) a page fragment without copying
 * it: kernel_sendpage_locked() until sendpage went in 6.5, then sendmsg()
 * with MSG_SPLICE_PAGES.
 */
static inline int msgmux_sendpage_locked(struct sock *sk, struct page *page,
					 int offset, size_t size, int flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
	struct msghdr msg = { .msg_flags = MSG_SPLICE_PAGES | flags };
	struct bio_vec bvec;

	bvec_set_page(&bvec, page, size, offset);
	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, &bvec, 1, size);
	return sk->sk_socket->ops->sendmsg_locked(sk, &msg, size);
#else
	return kernel_sendpage_locked(sk, page, offset, size, flags);
#endif
}

#endif /* _MSGMUX_COMPAT_H */
