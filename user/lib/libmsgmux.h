/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libmsgmux - small optional helpers for msgmux applications.
 */
#ifndef _LIBMSGMUX_H
#define _LIBMSGMUX_H

#include <stddef.h>
#include <sys/socket.h>
#include <linux/msgmux.h>

/**
 * msgmux_family() - the address family number of the loaded msgmux module
 *
 * Reads MSGMUX_SYSFS_FAMILY.  When the module is not loaded yet, returns
 * AF_MSGMUX_DEFAULT, for which socket() autoloads it.
 *
 * Return: the family number to pass to socket().
 */
int msgmux_family(void);

/**
 * msgmux_socket() - socket(msgmux_family(), type, 0)
 * @type: SOCK_SEQPACKET or SOCK_DGRAM, optionally with SOCK_NONBLOCK and
 *	SOCK_CLOEXEC.
 *
 * Return: a file descriptor, or -1 with errno set.
 */
int msgmux_socket(int type);

/**
 * msgmux_inet_addr() - an address for bind() or connect()
 * @host: a numeric IPv4 or IPv6 address ("127.0.0.1", "::1").
 * @port: the TCP port.
 * @ss: filled in with a struct sockaddr_in or sockaddr_in6.
 *
 * Return: the address's length, or 0 if @host is not a numeric address.
 */
socklen_t msgmux_inet_addr(const char *host, int port,
			   struct sockaddr_storage *ss);

/**
 * msgmux_inet_str() - an inet address as text
 * @sa: a struct sockaddr_in or sockaddr_in6 (a struct sockaddr_msgmux's
 *	smm_peer_in, for example).
 * @buf: where to write "192.0.2.1:7000" or "[2001:db8::1]:7000" ("?" for
 *	another family).
 * @size: room in @buf.
 *
 * Return: @buf.
 */
const char *msgmux_inet_str(const void *sa, char *buf, size_t size);

#endif /* _LIBMSGMUX_H */
