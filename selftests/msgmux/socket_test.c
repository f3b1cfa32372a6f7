// SPDX-License-Identifier: GPL-2.0
/*
 * socket_test - creating and closing msgmux sockets, the errors socket()
 * gives for what msgmux does not offer, and /proc/net/msgmux.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "libmsgmux.h"
#include "util.h"

FIXTURE(type)
{
	int fd;
};

FIXTURE_VARIANT(type)
{
	int type;
	const char *name;
};

FIXTURE_VARIANT_ADD(type, seqpacket)
{
	.type = SOCK_SEQPACKET,
	.name = "seqpacket",
};

FIXTURE_VARIANT_ADD(type, dgram)
{
	.type = SOCK_DGRAM,
	.name = "dgram",
};

FIXTURE_SETUP(type)
{
	self->fd = msgmux_socket(variant->type);
	ASSERT_LE(0, self->fd) TH_LOG("socket: %s", strerror(errno));
}

FIXTURE_TEARDOWN(type)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* SO_DOMAIN, SO_TYPE and SO_PROTOCOL report what socket() was given. */
TEST_F(type, reports_domain_type_protocol)
{
	EXPECT_EQ(msgmux_family(), sockopt_int(self->fd, SO_DOMAIN));
	EXPECT_EQ(variant->type, sockopt_int(self->fd, SO_TYPE));
	EXPECT_EQ(0, sockopt_int(self->fd, SO_PROTOCOL));
}

TEST_F(type, close_succeeds_and_frees_the_fd)
{
	EXPECT_EQ(0, close(self->fd));
	EXPECT_EQ(-1, fcntl(self->fd, F_GETFD));
	EXPECT_EQ(EBADF, errno);
	self->fd = -1;
}

TEST_F(type, nonblock_and_cloexec_flags)
{
	int fd = msgmux_socket(variant->type | SOCK_NONBLOCK | SOCK_CLOEXEC);

	ASSERT_LE(0, fd);
	EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_FALSE(fcntl(self->fd, F_GETFL) & O_NONBLOCK);
	EXPECT_FALSE(fcntl(self->fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

/* A socket of the right type appears in /proc/net/msgmux, then goes. */
TEST_F(type, listed_in_proc_until_closed)
{
	struct proc_row row;
	unsigned long ino = fd_inode(self->fd);

	ASSERT_EQ(0, proc_find_sock(ino, &row));
	EXPECT_STREQ(variant->name, row.type);
	EXPECT_NE(0, row.mux);
	ASSERT_EQ(0, proc_find_mux(row.mux, &row));

	close(self->fd);
	self->fd = -1;
	EXPECT_EQ(-ENOENT, proc_find_sock(ino, &row));
	EXPECT_EQ(-ENOENT, proc_find_mux(row.mux, &row));
}

/* Nothing is queued and nothing can be sent yet: no poll event at all. */
TEST_F(type, fresh_socket_polls_no_event)
{
	struct pollfd p = { .fd = self->fd, .events = POLLIN | POLLOUT };

	EXPECT_EQ(0, poll(&p, 1, 0));
	EXPECT_EQ(0, p.revents);
}

/* Calls that need a connection fail the way TCP's do without one. */
TEST_F(type, unconnected_socket_has_no_addresses)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	EXPECT_EQ(-1, getsockname(self->fd, (struct sockaddr *)&ss, &len));
	EXPECT_EQ(ENOTCONN, errno);
	len = sizeof(ss);
	EXPECT_EQ(-1, getpeername(self->fd, (struct sockaddr *)&ss, &len));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, shutdown(self->fd, SHUT_RD));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, shutdown(self->fd, SHUT_WR));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, shutdown(self->fd, SHUT_RDWR));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, shutdown(self->fd, 3));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, shutdown(self->fd, -1));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(type, unknown_option_and_ioctl)
{
	int v = 1;

	EXPECT_EQ(-1, setsockopt(self->fd, SOL_MSGMUX, 12345, &v, sizeof(v)));
	EXPECT_EQ(ENOPROTOOPT, errno);
	EXPECT_EQ(-1, setsockopt(self->fd, IPPROTO_TCP, 1, &v, sizeof(v)));
	EXPECT_EQ(ENOPROTOOPT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, 0x1234, 0));
	EXPECT_EQ(ENOTTY, errno);
}

/* The socket-level errors socket() itself must give. */
struct bad_socket {
	int type;
	int protocol;
	int err;
};

static const struct bad_socket bad_sockets[] = {
	{ SOCK_STREAM, 0, ESOCKTNOSUPPORT },
	{ SOCK_RAW, 0, ESOCKTNOSUPPORT },
	{ SOCK_RDM, 0, ESOCKTNOSUPPORT },
	{ SOCK_DCCP, 0, ESOCKTNOSUPPORT },
	{ SOCK_PACKET, 0, ESOCKTNOSUPPORT },
	{ SOCK_STREAM, 6, ESOCKTNOSUPPORT },
	{ SOCK_SEQPACKET, 1, EPROTONOSUPPORT },
	{ SOCK_SEQPACKET, 6 /* IPPROTO_TCP */, EPROTONOSUPPORT },
	{ SOCK_DGRAM, 17 /* IPPROTO_UDP */, EPROTONOSUPPORT },
	{ SOCK_DGRAM, -1, EPROTONOSUPPORT },
	{ SOCK_SEQPACKET, 255, EPROTONOSUPPORT },
	{ 11 /* SOCK_MAX */, 0, EINVAL },
	{ SOCK_SEQPACKET | 0x100000, 0, EINVAL },	/* unknown flag */
};

TEST(rejected_types_and_protocols)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad_sockets); i++) {
		const struct bad_socket *b = &bad_sockets[i];
		int fd = socket(msgmux_family(), b->type, b->protocol);

		EXPECT_EQ(-1, fd) {
			TH_LOG("type %#x protocol %d: created", b->type,
			       b->protocol);
			close(fd);
		}
		EXPECT_EQ(b->err, errno) TH_LOG("type %#x protocol %d: %s",
						b->type, b->protocol,
						strerror(errno));
	}
}

/* libmsgmux reads the family number the module registered from sysfs. */
TEST(family_read_from_sysfs)
{
	FILE *f = fopen(MSGMUX_SYSFS_FAMILY, "r");
	int family = -1;

	ASSERT_NE(NULL, f) TH_LOG("%s: %s", MSGMUX_SYSFS_FAMILY,
				  strerror(errno));
	ASSERT_EQ(1, fscanf(f, "%d", &family));
	fclose(f);
	EXPECT_EQ(AF_MSGMUX_DEFAULT, family);
	EXPECT_EQ(family, msgmux_family());
}

TEST(many_sockets_get_distinct_muxes)
{
	enum { N = 200 };
	unsigned int seen[N];
	struct proc_row row;
	int fds[N], i, j;

	for (i = 0; i < N; i++) {
		fds[i] = msgmux_socket(i % 2 ? SOCK_DGRAM : SOCK_SEQPACKET);
		ASSERT_LE(0, fds[i]);
	}
	for (i = 0; i < N; i++) {
		ASSERT_EQ(0, proc_find_sock(fd_inode(fds[i]), &row));
		seen[i] = row.mux;
		for (j = 0; j < i; j++)
			ASSERT_NE(seen[j], seen[i]);
	}
	for (i = 0; i < N; i++)
		ASSERT_EQ(0, close(fds[i]));
	for (i = 0; i < N; i++)
		EXPECT_EQ(-ENOENT, proc_find_mux(seen[i], &row));
}

/* No token in /proc/net/msgmux may look like a kernel address. */
TEST(proc_has_no_kernel_pointers)
{
	char *text, *tok, *save = NULL, bad[64] = "";
	int fd = msgmux_socket(SOCK_SEQPACKET);
	struct stat st;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, stat("/proc/net/msgmux", &st));
	EXPECT_EQ(0444, st.st_mode & 0777);
	text = read_file("/proc/net/msgmux");
	ASSERT_NE(NULL, text);
	tok = strtok_r(text, " \n", &save);
	while (tok) {
		if (looks_like_pointer(tok) && !bad[0])
			snprintf(bad, sizeof(bad), "%s", tok);
		tok = strtok_r(NULL, " \n", &save);
	}
	EXPECT_EQ(0, bad[0]) TH_LOG("token %s looks like a pointer", bad);
	free(text);
	close(fd);
}

/* Each network namespace sees only its own muxes. */
TEST(proc_is_per_namespace)
{
	struct proc_row row;
	unsigned long outer_ino;
	int fd, status;
	pid_t pid;

	fd = msgmux_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, fd);
	outer_ino = fd_inode(fd);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int inner;

		if (unshare(CLONE_NEWNET))
			_exit(10);
		if (proc_find_sock(outer_ino, &row) != -ENOENT)
			_exit(11);
		inner = msgmux_socket(SOCK_DGRAM);
		if (inner < 0)
			_exit(12);
		if (proc_find_sock(fd_inode(inner), &row))
			_exit(13);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, proc_find_sock(outer_ino, &row));
	close(fd);
}

TEST_HARNESS_MAIN
