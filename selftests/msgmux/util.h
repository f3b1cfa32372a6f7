/* SPDX-License-Identifier: GPL-2.0 */
/*
 * util.h - helpers shared by msgmux's selftests.
 */
#ifndef _MSGMUX_SELFTEST_UTIL_H
#define _MSGMUX_SELFTEST_UTIL_H

#include <stdbool.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

/** struct proc_row - one line of /proc/net/msgmux */
struct proc_row {
	char kind[8];
	unsigned int mux;
	unsigned int id;
	unsigned long ino;
	char type[16];
	char state[16];
	unsigned long long rx_msgs, rx_bytes, tx_msgs, tx_bytes, queued, errors;
};

int sockopt_int(int fd, int opt);
unsigned long fd_inode(int fd);
char *read_file(const char *path);
bool looks_like_pointer(const char *tok);
int proc_find_sock(unsigned long ino, struct proc_row *row);
int proc_find_mux(unsigned int mux, struct proc_row *row);

#endif
