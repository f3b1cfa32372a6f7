/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * msgmux: whole messages over TCP connections, as a socket family.
 *
 * This header is the whole user API of msgmux.ko.  The module and the
 * userspace tools include this one file; it is an ABI: fields are fixed
 * width, reserved fields must be zero, and sizes never change.
 */
#ifndef _UAPI_LINUX_MSGMUX_H
#define _UAPI_LINUX_MSGMUX_H

#ifndef __KERNEL__
#include <netinet/in.h>		/* sockaddr_in, sockaddr_in6 */
#include <sys/socket.h>
#endif
#include <linux/types.h>
#include <linux/sockios.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/socket.h>

/*
 * Linux has no free address family below AF_MAX, so msgmux takes a retired
 * slot: 19 was AF_ECONET, removed in Linux 3.5.  The module parameter
 * "family" moves it; the live value is in MSGMUX_SYSFS_FAMILY.
 */
#define AF_MSGMUX_DEFAULT	19
#ifndef AF_MSGMUX
#define AF_MSGMUX		AF_MSGMUX_DEFAULT
#endif
#ifndef PF_MSGMUX
#define PF_MSGMUX		AF_MSGMUX
#endif

/* Where the family number of the loaded module can be read. */
#define MSGMUX_SYSFS_FAMILY	"/sys/module/msgmux/parameters/family"

/*
 * Socket option level for msgmux's own options.  Only msgmux sockets
 * interpret it, so it cannot clash with another protocol's level.
 */
#define SOL_MSGMUX		299

/**
 * struct sockaddr_msgmux - the address of a message's connection
 * @smm_family: %AF_MSGMUX (the live family number).
 * @smm_reserved: must be zero.
 * @smm_conn_id: id of the TCP connection within the mux; 0 means none.
 * @smm_peer_in: the peer's address, if @smm_peer_in.sin_family is AF_INET.
 * @smm_peer_in6: the peer's address, if @smm_peer_in6.sin6_family is
 *	AF_INET6.
 *
 * recvfrom()/recvmsg() fill it in to say which connection a message came
 * from; sendto()/sendmsg() with it send on that connection.
 */
struct sockaddr_msgmux {
	__kernel_sa_family_t	smm_family;
	__u16			smm_reserved;
	__u32			smm_conn_id;
	union {
		struct sockaddr_in	smm_peer_in;
		struct sockaddr_in6	smm_peer_in6;
	};
};

/*
 * ioctls.  The first three have KCM's numbers and structure layouts
 * (SIOCKCMATTACH, SIOCKCMUNATTACH, SIOCKCMCLONE), so porting a KCM program
 * is a change of family constant and header.
 */
#define SIOCMSGMUXATTACH	(SIOCPROTOPRIVATE + 0)
#define SIOCMSGMUXUNATTACH	(SIOCPROTOPRIVATE + 1)
#define SIOCMSGMUXCLONE		(SIOCPROTOPRIVATE + 2)
#define SIOCMSGMUXATTACHX	(SIOCPROTOPRIVATE + 3)

/**
 * struct msgmux_attach - SIOCMSGMUXATTACH argument (KCM's kcm_attach)
 * @fd: a connected TCP socket (IPv4 or IPv6) to attach to the mux.
 * @bpf_fd: a BPF_PROG_TYPE_SOCKET_FILTER program that returns the length
 *	of the message starting at offset 0 of the skb it is given, or -1 to
 *	use the mux's built-in framing (%MSGMUX_FRAMING).
 */
struct msgmux_attach {
	__s32	fd;
	__s32	bpf_fd;
};

/**
 * struct msgmux_unattach - SIOCMSGMUXUNATTACH argument (KCM's kcm_unattach)
 * @fd: an attached TCP socket; it becomes an ordinary socket again.
 */
struct msgmux_unattach {
	__s32	fd;
};

/**
 * struct msgmux_clone - SIOCMSGMUXCLONE result (KCM's kcm_clone)
 * @fd: out: a new upper socket on the same mux (close-on-exec).
 */
struct msgmux_clone {
	__s32	fd;
};

/**
 * struct msgmux_attach_ext - SIOCMSGMUXATTACHX argument
 * @fd: as &struct msgmux_attach.
 * @bpf_fd: as &struct msgmux_attach.
 * @conn_id: out: the id of the new connection, as in
 *	&sockaddr_msgmux.smm_conn_id and /proc/net/msgmux.
 * @flags: must be zero.
 * @reserved: must be zero.
 */
struct msgmux_attach_ext {
	__s32	fd;
	__s32	bpf_fd;
	__u32	conn_id;
	__u32	flags;
	__u64	reserved;
};

/* Socket options at level SOL_MSGMUX. */
#define MSGMUX_RECV_DISABLE	1	/* int; KCM_RECV_DISABLE */
#define MSGMUX_FRAMING		2	/* struct msgmux_framing */
#define MSGMUX_EXPLICIT_EOR	3	/* int; messages end at MSG_EOR */
#define MSGMUX_ACCEPT_LIMIT	4	/* int; SOCK_DGRAM listener's pool */

/*
 * Default MSGMUX_ACCEPT_LIMIT: how many connections a SOCK_DGRAM mux's
 * listeners keep accepted at once; more wait in the TCP backlog.
 */
#define MSGMUX_DEFAULT_ACCEPT_LIMIT	1024

/* Largest &msgmux_framing.len_offset. */
#define MSGMUX_MAX_LEN_OFFSET	64

/* &msgmux_framing.len_size for a protobuf-style (LEB128) varint. */
#define MSGMUX_LEN_VARINT	0xff

/* &msgmux_framing.flags */
#define MSGMUX_FRAMING_LITTLE_ENDIAN	(1U << 0) /* else network order */
#define MSGMUX_FRAMING_LEN_INCLUDES_HDR	(1U << 1) /* length counts header */
#define MSGMUX_FRAMING_KEEP_HDR		(1U << 2) /* header is in the message */

/* Default and largest &msgmux_framing.max_size. */
#define MSGMUX_DEFAULT_MAX_SIZE		(2U << 20)
#define MSGMUX_MAX_SIZE_LIMIT		(64U << 20)

/**
 * struct msgmux_framing - built-in length-prefix framing of a mux
 * @flags: %MSGMUX_FRAMING_* bits.
 * @len_offset: bytes on the wire before the length field.
 * @len_size: size of the length field: 1, 2, 3, 4 or 8 bytes, or
 *	%MSGMUX_LEN_VARINT.
 * @reserved: must be zero.
 * @len_adjust: added to the decoded length before it is used.
 * @max_size: largest message on the wire, header included; 0 means
 *	%MSGMUX_DEFAULT_MAX_SIZE; at most %MSGMUX_MAX_SIZE_LIMIT.
 *
 * The header is the @len_offset bytes before the length field and the
 * field itself.  A message on the wire is header + payload, where the
 * decoded length plus @len_adjust is the payload's size, or the whole
 * message's with %MSGMUX_FRAMING_LEN_INCLUDES_HDR.
 *
 * By default the kernel adds the header on send (the @len_offset bytes
 * as zeros) and strips it on receive: applications send and receive bare
 * payloads.  With %MSGMUX_FRAMING_KEEP_HDR the header is part of every
 * message, as in KCM: what is sent goes on the wire as it is, and must
 * carry a header that matches its size.
 *
 * The default framing is a 4-byte big-endian payload length.  The framing
 * can change only while the mux has no connection.
 */
struct msgmux_framing {
	__u32	flags;
	__u16	len_offset;
	__u8	len_size;
	__u8	reserved;
	__s32	len_adjust;
	__u32	max_size;
};

/* &msgmux_conn_error.reason: why a connection left service. */
#define MSGMUX_CONN_CLOSED	1	/* the peer closed it (FIN) */
#define MSGMUX_CONN_TCP_ERROR	2	/* TCP failed: reset, timeout... */
#define MSGMUX_CONN_BAD_FRAME	3	/* malformed length on the wire */
#define MSGMUX_CONN_TOO_BIG	4	/* message over max_size */
#define MSGMUX_CONN_TIMEOUT	5	/* message assembly timed out */
#define MSGMUX_CONN_BPF_ERROR	6	/* the BPF parser returned an error */

/**
 * struct msgmux_conn_error - a connection left service
 * @conn_id: the connection, as in &sockaddr_msgmux.smm_conn_id.
 * @error: a positive errno: what TCP reported, %EBADMSG for a malformed
 *	length, %EMSGSIZE for a message over max_size, %ETIMEDOUT for an
 *	assembly timeout, 0 for a clean close with nothing lost.
 * @reason: one of %MSGMUX_CONN_CLOSED... %MSGMUX_CONN_BPF_ERROR.
 * @dropped_bytes: bytes of a partial message that were received from TCP
 *	and dropped with the connection.
 *
 * Every upper socket of the mux receives one, as the data of a message
 * read with recvmsg(MSG_ERRQUEUE), whose address (msg_name) is the
 * connection's &struct sockaddr_msgmux.  A queued notification makes
 * poll() report %POLLERR.  The TCP socket also gets the error in its
 * SO_ERROR, as KCM does.
 */
struct msgmux_conn_error {
	__u32	conn_id;
	__s32	error;
	__u32	reason;
	__u32	dropped_bytes;
};

#endif /* _UAPI_LINUX_MSGMUX_H */
