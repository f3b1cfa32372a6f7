/* SPDX-License-Identifier: GPL-2.0 */
/*
 * msgmux.h - internal interfaces of msgmux.ko, shared by its files.
 *
 * DOC: Objects and locking
 *
 * msgmux has four kinds of object:
 *
 * - &struct msgmux_net: per network namespace state, reached through
 *   net_generic().  Lists the namespace's muxes for /proc/net/msgmux.
 * - &struct msgmux_mux: a multiplexor.  socket() creates one together with
 *   its first upper socket; every upper socket holds a reference, and the
 *   mux is freed when the last one is released.
 * - &struct msgmux_sock: an upper socket, the &struct sock behind a user's
 *   AF_MSGMUX file descriptor.  It belongs to exactly one mux for its
 *   whole life.
 * - &struct msgmux_psock: a lower connection, a TCP socket attached to a
 *   mux.  The mux owns it from attach to detach; senders that picked it
 *   hold a reference while they push.  A TCP socket msgmux made itself
 *   (connect(), or a listener's accept) belongs to the psock and is
 *   released with the psock's last reference; while connect() is still
 *   making it, the psock hangs off the socket that asked
 *   (&msgmux_sock.connecting), not yet in the mux's list.
 *
 * Lock order, outermost first:
 *
 * 1. &msgmux_net.lock (mutex, process context): the namespace's mux list.
 * 2. lock_sock() of an upper socket (process context): that socket's own
 *    state.
 * 3. lock_sock() of a lower TCP socket: what is written to it, and whether
 *    msgmux may still write to it (&msgmux_psock.tx_stopped).  Also of a
 *    socket's own bound or listening TCP socket (&msgmux_sock.tcp), which
 *    bind(), listen() and accept() take under 2.
 * 4. &sock.sk_callback_lock of a lower TCP socket (rwlock, BH): its
 *    sk_user_data and the callbacks msgmux installed.
 * 5. &msgmux_mux.lock (spinlock, taken with BH disabled): the mux's member
 *    lists, receive steering and the choice of connection for a message.
 * 6. &msgmux_psock.txq's own lock: the messages queued on a connection.
 *
 * A listener's wait queue lock is taken by TCP, around msgmux's wake-up
 * function, which only queues work.
 *
 * The receive path runs in softirq context (or strparser's work) with the
 * lower socket locked, and takes 4 then 5.  No skb charged to an upper
 * socket is ever freed under 5, because freeing one may take 5
 * (msgmux_rfree()).
 *
 * A function whose name starts with "__msgmux_" expects its caller to hold
 * the lock its kernel-doc names; it checks with lockdep.
 */
#ifndef _MSGMUX_H
#define _MSGMUX_H

#include <linux/bits.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <net/sock.h>
#include <net/strparser.h>
#include <uapi/linux/msgmux.h>

struct bpf_prog;
struct seq_file;

/* The address family msgmux registered; fixed once the module is loaded. */
extern int msgmux_family;

/*
 * msgmux's own workqueue: connection writes and failures.  Destroyed (so
 * drained) at module exit, after the family is unregistered.
 */
extern struct workqueue_struct *msgmux_wq;

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
 * @dropped: messages dropped, each also counted in @errors.
 *
 * Written under the lock of the object that holds them (an upper socket's
 * @rx_msgs and @rx_bytes under its receive queue's lock, the rest of its
 * counters under its socket lock), read locklessly
 * by /proc (READ_ONCE/WRITE_ONCE: a reader may see a slightly old value,
 * never a torn one on 64-bit).
 */
struct msgmux_stats {
	u64 rx_msgs;
	u64 rx_bytes;
	u64 tx_msgs;
	u64 tx_bytes;
	u64 errors;
	u64 dropped;
};

/**
 * struct msgmux_frame - a mux's validated built-in framing
 * @flags: %MSGMUX_FRAMING_* bits.
 * @len_offset: bytes before the length field.
 * @len_size: 1, 2, 3, 4, 8 or %MSGMUX_LEN_VARINT.
 * @len_adjust: added to the decoded length.
 * @max_size: largest message on the wire, header included.
 */
struct msgmux_frame {
	u32 flags;
	u16 len_offset;
	u8 len_size;
	s32 len_adjust;
	u32 max_size;
};

/*
 * A connection's TCP receive buffer is at least this many times its
 * framing's max_size: TCP's skb overhead and the window it keeps back
 * must still leave room for one whole message.
 */
#define MSGMUX_RCVBUF_FACTOR	4

/* The longest header: the offset and a 10-byte varint. */
#define MSGMUX_MAX_HDR	(MSGMUX_MAX_LEN_OFFSET + 10)

/**
 * struct msgmux_mux - a multiplexor of upper sockets and TCP connections
 * @net: the namespace; constant.  Not refcounted: each member socket keeps
 *	its namespace alive, and the mux dies with its last member.
 * @net_node: entry in &msgmux_net.muxes; protected by &msgmux_net.lock.
 * @id: the mux's id in /proc/net/msgmux; constant.
 * @type: SOCK_SEQPACKET or SOCK_DGRAM, as all its sockets; constant.
 * @refcnt: one reference per upper socket and one per connection.
 * @lock: protects every field below it.  Taken with spin_lock_bh(): the
 *	receive path takes it from softirq context.
 * @socks: the upper sockets, by &msgmux_sock.mux_node.
 * @nsocks: number of entries in @socks.
 * @next_sock_id: the id the next upper socket gets.
 * @psocks: the connections in service, by &msgmux_psock.mux_node.
 * @npsocks: number of entries in @psocks.
 * @next_conn_id: the id the next connection gets.
 * @tx_next: the connection the next unaddressed message tries first
 *	(round robin); may be stale, checked against @psocks.
 * @rx_ready: upper sockets that can take a message now, by
 *	&msgmux_sock.rx_ready_node; the first one gets the next message.
 * @rx_waiting: connections holding a parsed message that no upper socket
 *	could take, by &msgmux_psock.rx_wait_node; their parsers are paused.
 * @frame: the built-in framing; changes only while @psocks is empty.
 * @gone: errors and drops of connections that have left.
 * @accept_limit: MSGMUX_ACCEPT_LIMIT: how many connections the mux's
 *	SOCK_DGRAM listeners keep accepted at once.
 * @naccepted: connections accepted by them (or being accepted) now.
 */
struct msgmux_mux {
	struct net *net;
	struct list_head net_node;
	u32 id;
	int type;
	refcount_t refcnt;

	spinlock_t lock;	/* protects all that follows */
	struct list_head socks;
	unsigned int nsocks;
	u32 next_sock_id;
	struct list_head psocks;
	unsigned int npsocks;
	u32 next_conn_id;
	u32 tx_next;
	struct list_head rx_ready;
	struct list_head rx_waiting;
	struct msgmux_frame frame;
	struct msgmux_stats gone;
	unsigned int accept_limit;
	unsigned int naccepted;
};

/**
 * struct msgmux_peer - a connection's peer address, kept for recvmsg()
 * @family: AF_INET or AF_INET6.
 * @port: in network order.
 * @scope_id: IPv6 scope.
 * @addr: IPv4 address in the first 4 bytes, or the IPv6 address.
 */
struct msgmux_peer {
	u16 family;
	__be16 port;
	u32 scope_id;
	u8 addr[16];
};

/**
 * struct msgmux_psock - a TCP connection attached to a mux
 * @sk: the TCP socket; a reference is held.
 * @file: the user's file of @sk, pinned while attached (as KCM does), or
 *	NULL for a connection msgmux made itself.
 * @csock: the socket of a connection msgmux made itself (connect() or a
 *	listener), released with the psock's last reference; else NULL.
 * @linger: the SO_LINGER time @csock closes with, or -1 for none; set
 *	when it leaves service.
 * @owner: while @connecting, the socket whose connect() made it; when it
 *	is linked, the SOCK_SEQPACKET socket it is the one connection of
 *	(set by accept()), if any.  Protected by &msgmux_mux.lock.
 * @connecting: made by connect() and not established yet: not in the
 *	mux's list, and no id.  Protected by &msgmux_mux.lock.
 * @accepted: accepted by a SOCK_DGRAM listener, and counted in
 *	&msgmux_mux.naccepted; constant.
 * @mux: the mux; constant.  The psock holds a reference on it.
 * @refcnt: the mux's reference (from attach to the end of detach), one
 *	per sender pushing on it, and one per queued @tx_work or @fail_work.
 * @id: the connection id; constant.
 * @ino: the inode number of @sk's socket, for /proc; constant.
 * @peer: the peer's address; constant.
 * @mux_node: entry in &msgmux_mux.psocks; protected by &msgmux_mux.lock.
 * @strp: the stream parser that cuts @sk's byte stream into messages.
 * @bpf_prog: the BPF parser, or NULL for the mux's built-in framing.
 * @bpf_skb: a private skb that gives @bpf_prog the message at offset 0.
 * @frame: the framing in force for this connection (a copy of the mux's).
 * @rx_hdr_len: header length of the message being parsed; strparser
 *	context only (it runs one message at a time).
 * @rx_partial: bytes of the message being parsed that have arrived, as of
 *	the last parse; strparser context.
 * @rx_held: a parsed message that no upper socket could take; protected
 *	by &msgmux_mux.lock.
 * @rx_wait_node: entry in &msgmux_mux.rx_waiting while @rx_held is set.
 * @rx_wake: the upper socket the current read of @sk's stream last gave
 *	messages to, whose reader is woken when the read ends; holds a
 *	reference on it.  strparser context; NULL between reads.
 * @rx_eof: the peer closed its side; once what it sent before is parsed
 *	and delivered, the connection leaves service.  Written in @sk's
 *	callbacks, read locklessly.
 * @txq: messages to write to @sk, in order; each message is one or more
 *	skbs, the last marked by &msgmux_tx_cb.eom.  Its own lock.
 * @tx_off: bytes of the head of @txq already written; protected by
 *	lock_sock(@sk).
 * @tx_stopped: msgmux may no longer write to @sk; protected by
 *	lock_sock(@sk).
 * @tx_mid: part of a message has been written and not all of it;
 *	protected by lock_sock(@sk).
 * @tx_fin: shutdown(SHUT_WR): send FIN after the queued messages, and
 *	queue no more.  Written under &msgmux_mux.lock, read locklessly.
 * @tx_work: writes @txq when TCP has room again, or a jiffy after a
 *	message sent with MSG_BATCH was queued.
 * @fail_work: takes the connection out of service after an error, in
 *	process context.
 * @dead: out of service: no new message is queued on it.  Written under
 *	&msgmux_mux.lock, read locklessly.
 * @err: the error that took it out of service (negative), or 0.
 * @reason: %MSGMUX_CONN_* for @err.
 * @save_data_ready: @sk's callbacks before attach, restored at detach.
 * @save_write_space: see @save_data_ready.
 * @save_state_change: see @save_data_ready.
 * @save_rcvbuf: @sk's SO_RCVBUF before attach: attaching raises it to
 *	%MSGMUX_RCVBUF_FACTOR times the framing's max_size, since strparser
 *	needs a whole message in TCP's receive queue.
 * @set_rcvbuf: the SO_RCVBUF attaching set, or 0 if it left it alone.
 * @stats: counters; rx ones written by the receive path, tx ones under
 *	lock_sock(@sk).
 */
struct msgmux_psock {
	struct sock *sk;
	struct file *file;
	struct socket *csock;
	long linger;
	struct msgmux_mux *mux;
	refcount_t refcnt;
	struct msgmux_sock *owner;
	bool connecting;
	bool accepted;
	u32 id;
	unsigned long ino;
	struct msgmux_peer peer;
	struct list_head mux_node;

	struct strparser strp;
	struct bpf_prog *bpf_prog;
	struct sk_buff *bpf_skb;
	struct msgmux_frame frame;
	unsigned int rx_hdr_len;
	unsigned int rx_partial;
	struct sk_buff *rx_held;
	struct list_head rx_wait_node;
	struct msgmux_sock *rx_wake;
	bool rx_eof;

	struct sk_buff_head txq;
	unsigned int tx_off;
	bool tx_stopped;
	bool tx_mid;
	bool tx_fin;
	struct delayed_work tx_work;

	struct work_struct fail_work;
	bool dead;
	int err;
	u32 reason;

	void (*save_data_ready)(struct sock *sk);
	void (*save_write_space)(struct sock *sk);
	void (*save_state_change)(struct sock *sk);
	int save_rcvbuf;
	int set_rcvbuf;

	struct msgmux_stats stats;
};

/* &msgmux_join.flags */
#define MSGMUX_JOIN_OWN		BIT(0) /* msgmux made the socket */
#define MSGMUX_JOIN_CONNECT	BIT(1) /* connect() has not finished */
#define MSGMUX_JOIN_ACCEPTED	BIT(2) /* from a SOCK_DGRAM listener */

/**
 * struct msgmux_join - how a TCP socket joins a mux
 * @csock: the TCP socket.
 * @prog: its BPF parser, or NULL for the mux's built-in framing.
 * @owner: see &msgmux_psock.owner, or NULL.
 * @flags: %MSGMUX_JOIN_* bits.
 * @spare: a connection from msgmux_psock_alloc() for the mux and @prog,
 *	to join rather than allocate one, or NULL.  msgmux_psock_join()
 *	takes it, whether it succeeds or not.
 * @conn_id: out: the connection's id (0 while connecting).
 * @psock: out, with %MSGMUX_JOIN_CONNECT: the connection, with a
 *	reference for the caller.
 */
struct msgmux_join {
	struct socket *csock;
	struct bpf_prog *prog;
	struct msgmux_sock *owner;
	unsigned int flags;
	struct msgmux_psock *spare;
	u32 conn_id;
	struct msgmux_psock *psock;
};

/**
 * struct msgmux_rx_cb - what msgmux keeps in skb->cb of a received message
 * @offset: where the message (or its payload) starts in the skb.
 * @len: its length.
 * @conn_id: the connection it came from.
 * @peer: that connection's peer.
 */
struct msgmux_rx_cb {
	u32 offset;
	u32 len;
	u32 conn_id;
	struct msgmux_peer peer;
};

/**
 * struct msgmux_tx_cb - skb->cb of an skb queued for sending
 * @eom: this skb ends its message.
 */
struct msgmux_tx_cb {
	bool eom;
};

#define MSGMUX_RX_CB(skb) ((struct msgmux_rx_cb *)(skb)->cb)
#define MSGMUX_TX_CB(skb) ((struct msgmux_tx_cb *)(skb)->cb)

/**
 * struct msgmux_sock - an upper socket of a mux
 * @sk: the generic socket; must be first (see msgmux_sk()).
 * @mux: the mux this socket belongs to; set before the socket is visible
 *	and constant until msgmux_release().  Holds a reference on the mux.
 * @mux_node: entry in &msgmux_mux.socks; protected by &msgmux_mux.lock.
 * @id: the socket's id within its mux; constant.
 * @ino: the inode number of the socket's file, as in /proc/PID/fd and
 *	/proc/net/unix; constant once the socket is created.
 * @rx_ready_node: entry in &msgmux_mux.rx_ready; protected by
 *	&msgmux_mux.lock.
 * @rx_ready: in &msgmux_mux.rx_ready.  Written under &msgmux_mux.lock,
 *	read locklessly by msgmux_rfree().
 * @rx_disabled: MSGMUX_RECV_DISABLE is set, or the socket is closing.
 *	Written under &msgmux_mux.lock, read locklessly.
 * @explicit_eor: MSGMUX_EXPLICIT_EOR; protected by lock_sock().
 * @tx_parts: the message being built by sends without end of record;
 *	protected by lock_sock().
 * @tx_parts_len: bytes in @tx_parts.
 * @tx_conn: the connection @tx_parts goes to (0: any).
 * @tx_batch: the id of the connection messages sent with MSG_BATCH were
 *	queued on and left for the batch's end to write, or 0; protected by
 *	lock_sock().
 * @tcp: the kernel TCP socket bind() made, listening after listen(), or
 *	NULL; protected by lock_sock().  Read locklessly by poll() while
 *	@listening (it does not change then).
 * @listening: listen() succeeded; written under &msgmux_mux.lock too.
 * @accept_wait: msgmux's entry on @tcp's wait queue while @listening: a
 *	connection to accept queues @accept_work.
 * @accept_work: SOCK_DGRAM: accepts connections into the mux;
 *	SOCK_SEQPACKET: wakes readers of the listener.
 * @connecting: the connection connect() is making, or NULL; protected by
 *	&msgmux_mux.lock.
 * @conn_state: %MSGMUX_SS_NONE, or whether the one connection of a
 *	connected or accepted SOCK_SEQPACKET socket is up; protected by
 *	&msgmux_mux.lock.
 * @conn_id: that connection's id.
 * @conn_local: its local address.
 * @conn_peer: its peer's address.
 * @stats: counters; written under lock_sock(), read by /proc.
 */
struct msgmux_sock {
	struct sock sk;
	struct msgmux_mux *mux;
	struct list_head mux_node;
	u32 id;
	unsigned long ino;

	struct list_head rx_ready_node;
	bool rx_ready;
	bool rx_disabled;

	bool explicit_eor;
	struct sk_buff_head tx_parts;
	size_t tx_parts_len;
	u32 tx_conn;
	u32 tx_batch;

	struct socket *tcp;
	bool listening;
	struct wait_queue_entry accept_wait;
	struct work_struct accept_work;
	struct msgmux_psock *connecting;
	u8 conn_state;
	u32 conn_id;
	struct msgmux_peer conn_local;
	struct msgmux_peer conn_peer;

	struct msgmux_stats stats;
};

/* &msgmux_sock.conn_state */
enum {
	MSGMUX_SS_NONE,	/* not a one-to-one socket */
	MSGMUX_SS_UP,		/* its connection is in service */
	MSGMUX_SS_GONE,	/* its connection has left */
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
struct msgmux_mux *msgmux_mux_alloc(struct net *net, int type);
void msgmux_mux_link(struct msgmux_mux *mux);
void msgmux_mux_discard(struct msgmux_mux *mux);
struct msgmux_mux *msgmux_mux_create(struct net *net, int type);
void msgmux_mux_add_sock(struct msgmux_mux *mux, struct msgmux_sock *msk);
void msgmux_mux_del_sock(struct msgmux_sock *msk, long timeo);
void msgmux_mux_get(struct msgmux_mux *mux);
void msgmux_mux_put(struct msgmux_mux *mux);
void msgmux_mux_retire_stats(struct msgmux_mux *mux,
			     const struct msgmux_stats *s);

/* frame.c */
void msgmux_frame_default(struct msgmux_frame *f);
int msgmux_frame_from_user(struct msgmux_frame *f,
			   const struct msgmux_framing *uf);
void msgmux_frame_to_user(const struct msgmux_frame *f,
			  struct msgmux_framing *uf);
int msgmux_frame_decode(const struct msgmux_frame *f, const u8 *buf,
			unsigned int avail, unsigned int *hdr_len);
int msgmux_frame_parse(const struct msgmux_frame *f,
		       const struct sk_buff *skb, unsigned int offset,
		       unsigned int *hdr_len);
int msgmux_frame_encode(const struct msgmux_frame *f, size_t payload,
			u8 *buf);
bool msgmux_frame_strips(const struct msgmux_frame *f);

/* psock.c */
struct msgmux_psock *msgmux_psock_alloc(struct msgmux_mux *mux,
					struct bpf_prog *prog);
void msgmux_psock_discard(struct msgmux_psock *psock);
int msgmux_psock_join(struct msgmux_mux *mux, struct msgmux_join *j);
bool msgmux_psock_unlink(struct msgmux_psock *psock);
long msgmux_psock_leave(struct msgmux_psock *psock, long timeo);
void msgmux_psock_addr(const struct sock *sk, struct msgmux_peer *p,
		       bool local);
void msgmux_psock_fin(struct msgmux_psock *psock);
void msgmux_psock_established(struct msgmux_psock *psock);
int msgmux_attach(struct msgmux_sock *msk, int fd, int bpf_fd, u32 *conn_id);
int msgmux_unattach(struct msgmux_sock *msk, int fd);
int msgmux_unattach_id(struct msgmux_sock *msk, u32 id);
void msgmux_psock_put(struct msgmux_psock *psock);
bool msgmux_psock_failed(const struct msgmux_psock *psock,
			 unsigned int dropped);
void msgmux_psock_push(struct msgmux_psock *psock);
int msgmux_psock_cache_init(void);
void msgmux_psock_cache_exit(void);
void msgmux_psock_kick(struct msgmux_psock *psock);
void __msgmux_psock_kick_later(struct msgmux_psock *psock);
void msgmux_psock_unkick(struct msgmux_psock *psock);
void msgmux_psock_detach_all(struct msgmux_mux *mux, long timeo);

/* No SO_LINGER: the timeo of msgmux_psock_leave() and friends. */
#define MSGMUX_NO_LINGER	(-1L)

/* rx.c */
void msgmux_rx_deliver(struct msgmux_psock *psock, struct sk_buff *skb);
void msgmux_rx_read_done(struct msgmux_psock *psock);
void msgmux_rx_enable(struct msgmux_sock *msk);
void msgmux_rx_disable(struct msgmux_sock *msk, bool closing);
void __msgmux_rx_release_held(struct msgmux_psock *psock);
void msgmux_rx_notify(struct msgmux_mux *mux, struct msgmux_psock *psock,
		      unsigned int dropped);
void msgmux_rx_conn_gone(struct msgmux_mux *mux, struct msgmux_psock *psock);
int msgmux_recvmsg(struct socket *sock, struct msghdr *msg, size_t len,
		   int flags);

/* tx.c */
int msgmux_sendmsg(struct socket *sock, struct msghdr *msg, size_t len);
void msgmux_tx_purge(struct msgmux_sock *msk);
bool msgmux_tx_can_queue(const struct msgmux_sock *msk);

/* connect.c */
int msgmux_tcp_create(struct msgmux_sock *msk, int family,
		      struct socket **res);
int msgmux_addr_check(const struct sockaddr *addr, int addr_len);
int msgmux_connect(struct socket *sock, struct sockaddr *addr, int addr_len,
		   int flags);
int __msgmux_conn_admit(struct msgmux_mux *mux, unsigned int flags);
void __msgmux_conn_linked(struct msgmux_psock *psock);
void __msgmux_conn_unlinked(struct msgmux_psock *psock);
void msgmux_conn_cancel(struct msgmux_sock *msk);
void msgmux_conn_abort(struct msgmux_sock *msk);
struct msgmux_psock *msgmux_conn_get(struct msgmux_sock *msk);
int msgmux_peer_to_sockaddr(const struct msgmux_peer *p,
			    struct sockaddr *addr);

/* listen.c */
int msgmux_bind(struct socket *sock, struct sockaddr *addr, int addr_len);
int msgmux_listen(struct socket *sock, int backlog);
int msgmux_accept_sock(struct socket *sock, struct socket *newsock,
		       int flags, bool kern);
void msgmux_listen_init(struct msgmux_sock *msk);
void msgmux_listen_stop(struct msgmux_sock *msk);
int msgmux_listen_shutdown(struct msgmux_sock *msk);
void __msgmux_listen_kick(struct msgmux_mux *mux);
bool msgmux_listen_readable(const struct msgmux_sock *msk);

/* sock.c */
extern struct proto msgmux_proto;
void msgmux_sock_init(struct socket *sock, struct sock *sk,
		      const struct proto_ops *ops, struct msgmux_mux *mux);
int msgmux_clone(struct socket *osock, struct msgmux_clone __user *uarg);
extern struct net_proto_family msgmux_family_ops;
void msgmux_sock_init_family(int family);

/* proc.c */
int msgmux_proc_init_net(struct net *net);
void msgmux_proc_exit_net(struct net *net);

#endif /* _MSGMUX_H */
