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

#endif /* _UAPI_LINUX_MSGMUX_H */
