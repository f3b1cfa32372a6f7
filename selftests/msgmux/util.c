// SPDX-License-Identifier: GPL-2.0
/*
 * util.c - helpers shared by msgmux's selftests.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "util.h"

int sockopt_int(int fd, int opt)
{
	socklen_t len = sizeof(int);
	int v = -1;

	if (getsockopt(fd, SOL_SOCKET, opt, &v, &len))
		return -errno;
	return v;
}

unsigned long fd_inode(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return 0;
	return st.st_ino;
}

char *read_file(const char *path)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f || !buf) {
		if (f)
			fclose(f);
		free(buf);
		return NULL;
	}
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	buf[len] = 0;
	fclose(f);
	return buf;
}

/*
 * A kernel address printed as hex (with or without 0x, %p or %px style)
 * or as a huge decimal number.
 */
bool looks_like_pointer(const char *tok)
{
	size_t hex = 0, len;

	if (!strncmp(tok, "0x", 2))
		tok += 2;
	len = strlen(tok);
	while (tok[hex] && isxdigit((unsigned char)tok[hex]))
		hex++;
	if (hex == len && len >= 12)
		return true;
	/* Decimal values of kernel addresses are above 2^63. */
	return len >= 19 && strspn(tok, "0123456789") == len;
}

static int proc_parse(const char *line, struct proc_row *r)
{
	char ino[32];

	memset(r, 0, sizeof(*r));
	if (sscanf(line, "%7s %u %u %31s %15s %15s %llu %llu %llu %llu %llu %llu",
		   r->kind, &r->mux, &r->id, ino, r->type, r->state,
		   &r->rx_msgs, &r->rx_bytes, &r->tx_msgs, &r->tx_bytes,
		   &r->queued, &r->errors) != 12)
		return -EINVAL;
	r->ino = strtoul(ino, NULL, 10);
	return 0;
}

static int proc_find(const char *kind, unsigned long key, struct proc_row *row)
{
	char line[512];
	struct proc_row r;
	FILE *f = fopen("/proc/net/msgmux", "r");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (proc_parse(line, &r) || strcmp(r.kind, kind))
			continue;
		if ((!strcmp(kind, "sock") && r.ino == key) ||
		    (!strcmp(kind, "mux") && r.mux == key)) {
			*row = r;
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

int proc_find_sock(unsigned long ino, struct proc_row *row)
{
	return proc_find("sock", ino, row);
}

int proc_find_mux(unsigned int mux, struct proc_row *row)
{
	return proc_find("mux", mux, row);
}
