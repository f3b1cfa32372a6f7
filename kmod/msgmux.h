/* SPDX-License-Identifier: GPL-2.0 */
/*
 * msgmux.h - internal interfaces of msgmux.ko, shared by its files.
 *
 * DOC: Objects and locking
 *
 * msgmux has three kinds of object:
 *
 * - &struct msgmux_net: per network namespace state, reached through
 *   net_generic().  Lists the namespace's muxes for /proc/net/msgmux.
 * - &struct msgmux_mux: a multiplexor.  socket() creates one together with
 *   its first upper socket; every upper socket holds a reference, and the
 *   mux is freed when the last one is released.
 * - &struct msgmux_sock: an upper socket, the &struct sock behind a user's
 *   AF_MSGMUX file descriptor.  It belongs to exactly one mux for its
 *   whole life.
 *
 * Lock order, outermost first:
 *
 * 1. &msgmux_net.lock (mutex, process context): the namespace's mux list.
 * 2. lock_sock() of an upper socket (process context): that socket's own
 *    state.
 * 3. &msgmux_mux.lock (spinlock, taken with BH disabled): the mux's member
 *    lists.
 *
 * A function whose name starts with "__msgmux_" expects its caller to hold
 * the lock its kernel-doc names; it checks with lockdep.
 */
#ifndef _MSGMUX_H
#define _MSGMUX_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <net/sock.h>
#include <uapi/linux/msgmux.h>

struct seq_file;

/* The address family msgmux registered; fixed once the module is loaded. */
extern int msgmux_family;

/**
 * struct msgmux_net - per network namespace state
 * @lock: protects @muxes and @next_mux_id.  A mutex: taken only in process
 *	context, and held while /proc/net/msgmux is generated.
 * @muxes: every &struct msgmux_mux of this namespace, by @msgmux_mux.net_node.
 * @next_mux_id: the id the next mux gets.  Ids start at 1 and are not reused
 *	while the namespace lives (a u32 lasts for 4 billion sockets).
 */
struct msgmux_net {
	struct mutex lock;	/* protects muxes, next_mux_id */
	struct list_head muxes;
	u32 next_mux_id;
};

/**
 * struct msgmux_stats - counters shown in /proc/net/msgmux
 * @rx_msgs: messages delivered to the application.
 * @rx_bytes: bytes of those messages.
 * @tx_msgs: messages queued for sending.
 * @tx_bytes: bytes of those messages.
 * @errors: errors reported.
 *
 * Written under the lock of the object that holds them, read locklessly
 * by /proc (READ_ONCE/WRITE_ONCE: a reader may see a slightly old value,
 * never a torn one on 64-bit).
 */
struct msgmux_stats {
	u64 rx_msgs;
	u64 rx_bytes;
	u64 tx_msgs;
	u64 tx_bytes;
	u64 errors;
};

/**
 * struct msgmux_mux - a multiplexor of upper sockets and TCP connections
 * @net: the namespace; constant.  Not refcounted: each member socket keeps
 *	its namespace alive, and the mux dies with its last member.
 * @net_node: entry in &msgmux_net.muxes; protected by &msgmux_net.lock.
 * @id: the mux's id in /proc/net/msgmux; constant.
 * @refcnt: one reference per upper socket.
 * @lock: protects @socks, @nsocks and @next_sock_id.  Taken with
 *	spin_lock_bh(): the receive path will take it from softirq context.
 * @socks: the upper sockets, by &msgmux_sock.mux_node.
 * @nsocks: number of entries in @socks.
 * @next_sock_id: the id the next upper socket gets.
 */
struct msgmux_mux {
	struct net *net;
	struct list_head net_node;
	u32 id;
	refcount_t refcnt;

	spinlock_t lock;	/* protects socks, nsocks, next_sock_id */
	struct list_head socks;
	unsigned int nsocks;
	u32 next_sock_id;
};

/**
 * struct msgmux_sock - an upper socket of a mux
 * @sk: the generic socket; must be first (see msgmux_sk()).
 * @mux: the mux this socket belongs to; set before the socket is visible
 *	and constant until msgmux_release().  Holds a reference on the mux.
 * @mux_node: entry in &msgmux_mux.socks; protected by &msgmux_mux.lock.
 * @id: the socket's id within its mux; constant.
 * @ino: the inode number of the socket's file, as in /proc/PID/fd and
 *	/proc/net/unix; constant once the socket is created.
 * @stats: counters; written under lock_sock(), read by /proc.
 */
struct msgmux_sock {
	struct sock sk;
	struct msgmux_mux *mux;
	struct list_head mux_node;
	u32 id;
	unsigned long ino;
	struct msgmux_stats stats;
};

/**
 * msgmux_sk() - the msgmux socket behind a generic socket
 * @__sk: a socket of family msgmux_family (const or not).
 *
 * Return: the &struct msgmux_sock that embeds @__sk, const if @__sk is.
 */
#define msgmux_sk(__sk) container_of_const(__sk, struct msgmux_sock, sk)

/* main.c */
struct msgmux_net *msgmux_pernet(const struct net *net);

/* mux.c */
int msgmux_mux_create(struct net *net, struct msgmux_sock *msk);
void msgmux_mux_add_sock(struct msgmux_mux *mux, struct msgmux_sock *msk);
void msgmux_mux_del_sock(struct msgmux_sock *msk);

/* sock.c */
extern struct proto msgmux_proto;
extern struct net_proto_family msgmux_family_ops;
void msgmux_sock_init_family(int family);

/* proc.c */
int msgmux_proc_init_net(struct net *net);
void msgmux_proc_exit_net(struct net *net);

#endif /* _MSGMUX_H */
