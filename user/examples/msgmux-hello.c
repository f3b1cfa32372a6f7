// SPDX-License-Identifier: GPL-2.0
/*
 * msgmux-hello: create one msgmux socket of each type and show them in
 * /proc/net/msgmux, then close them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libmsgmux.h"

static int open_one(int type, const char *name)
{
	struct stat st;
	int fd = msgmux_socket(type);

	if (fd < 0) {
		perror(name);
		exit(1);
	}
	fstat(fd, &st);
	printf("socket(%d, %s, 0) = fd %d, inode %lu\n", msgmux_family(), name,
	       fd, (unsigned long)st.st_ino);
	return fd;
}

int main(void)
{
	int a = open_one(SOCK_SEQPACKET, "SOCK_SEQPACKET");
	int b = open_one(SOCK_DGRAM, "SOCK_DGRAM");

	printf("\n/proc/net/msgmux with both open:\n");
	fflush(stdout);
	if (system("msgmuxctl show"))
		return 1;
	close(a);
	close(b);
	printf("\n/proc/net/msgmux after close:\n");
	fflush(stdout);
	return system("msgmuxctl show") ? 1 : 0;
}
