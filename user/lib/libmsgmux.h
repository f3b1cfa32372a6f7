/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libmsgmux - small optional helpers for msgmux applications.
 */
#ifndef _LIBMSGMUX_H
#define _LIBMSGMUX_H

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

#endif /* _LIBMSGMUX_H */
