// SPDX-License-Identifier: GPL-2.0
/*
 * libmsgmux: family lookup.
 */
#include <stdio.h>
#include <sys/socket.h>

#include "libmsgmux.h"

int msgmux_family(void)
{
	FILE *f = fopen(MSGMUX_SYSFS_FAMILY, "re");
	int family = AF_MSGMUX_DEFAULT;

	if (!f)
		return family;
	if (fscanf(f, "%d", &family) != 1)
		family = AF_MSGMUX_DEFAULT;
	fclose(f);
	return family;
}

int msgmux_socket(int type)
{
	return socket(msgmux_family(), type, 0);
}
