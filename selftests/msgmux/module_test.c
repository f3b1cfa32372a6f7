// SPDX-License-Identifier: GPL-2.0
/*
 * module_test - msgmux.ko's life cycle: autoload through socket(), rmmod
 * refused while a socket is open, load/unload cycles, and the "family"
 * module parameter with its errors.
 *
 * Needs root and the module at /lib/modules/$(uname -r)/extra/msgmux.ko,
 * as in the test VM.  Every test leaves the module loaded with its default
 * parameters, as it found it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "harness.h"
#include "libmsgmux.h"
#include "util.h"

static bool module_loaded(void)
{
	return access("/sys/module/msgmux", F_OK) == 0;
}

/* finit_module() of msgmux.ko with @params; returns 0 or -errno. */
static int load(const char *params)
{
	char path[256];
	struct utsname u;
	int fd, ret;

	uname(&u);
	snprintf(path, sizeof(path), "/lib/modules/%s/extra/msgmux.ko",
		 u.release);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

static int unload(void)
{
	return syscall(SYS_delete_module, "msgmux", O_NONBLOCK) ? -errno : 0;
}

static int restore_default(void)
{
	if (module_loaded() && msgmux_family() == AF_MSGMUX_DEFAULT)
		return 0;
	if (module_loaded() && unload())
		return -1;
	return load("");
}

/* True if the kernel log has a line containing @needle. */
static bool klog_has(const char *needle)
{
	int len = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *buf;
	bool found;

	if (len <= 0)
		return false;
	buf = calloc(1, len + 1);
	if (!buf)
		return false;
	len = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, len);
	found = len > 0 && strstr(buf, needle);
	free(buf);
	return found;
}

FIXTURE(module)
{
};

FIXTURE_SETUP(module)
{
	if (geteuid())
		SKIP(return, "loading modules needs root");
	if (load("") != -EEXIST && !module_loaded())
		SKIP(return, "msgmux.ko is not installed for this kernel");
	ASSERT_EQ(0, restore_default());
}

FIXTURE_TEARDOWN(module)
{
	EXPECT_EQ(0, restore_default());
}

/* While a socket is open the module cannot go, and the socket keeps working. */
TEST_F(module, rmmod_refused_while_socket_open)
{
	int fd = msgmux_socket(SOCK_SEQPACKET);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EWOULDBLOCK, unload());
	EXPECT_TRUE(module_loaded());
	EXPECT_EQ(SOCK_SEQPACKET, sockopt_int(fd, SO_TYPE));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, unload());
	EXPECT_FALSE(module_loaded());
}

/* socket(AF_MSGMUX, ...) loads the module through its net-pf alias. */
TEST_F(module, socket_autoloads_module)
{
	int fd;

	ASSERT_EQ(0, unload());
	ASSERT_FALSE(module_loaded());
	fd = socket(AF_MSGMUX_DEFAULT, SOCK_DGRAM, 0);
	ASSERT_LE(0, fd) TH_LOG("socket: %s", strerror(errno));
	EXPECT_TRUE(module_loaded());
	EXPECT_EQ(AF_MSGMUX_DEFAULT, msgmux_family());
	close(fd);
}

TEST_F(module, load_unload_twice_with_sockets_between)
{
	struct proc_row row;
	int i, fd;

	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, unload());
		ASSERT_FALSE(module_loaded());
		ASSERT_EQ(-ENOENT, access("/proc/net/msgmux", F_OK) ? -errno : 0);
		ASSERT_EQ(0, load(""));
		fd = msgmux_socket(SOCK_SEQPACKET);
		ASSERT_LE(0, fd);
		EXPECT_EQ(0, proc_find_sock(fd_inode(fd), &row));
		close(fd);
	}
}

/* family=N moves the socket family, and sysfs reports the live value. */
TEST_F(module, family_parameter_moves_the_family)
{
	const int other = 25;	/* unused by Linux, like the default */
	int fd;

	ASSERT_EQ(0, unload());
	ASSERT_EQ(0, load("family=25"));
	EXPECT_EQ(other, msgmux_family());
	fd = socket(other, SOCK_SEQPACKET, 0);
	EXPECT_LE(0, fd);
	close(fd);
	EXPECT_EQ(-1, socket(AF_MSGMUX_DEFAULT, SOCK_SEQPACKET, 0));
	EXPECT_EQ(EAFNOSUPPORT, errno);
}

TEST_F(module, taken_family_fails_to_load_with_message)
{
	ASSERT_EQ(0, unload());
	EXPECT_EQ(-EEXIST, load("family=2"));	/* AF_INET */
	EXPECT_FALSE(module_loaded());
	EXPECT_TRUE(klog_has("address family 2 is taken by another protocol"));
}

TEST_F(module, out_of_range_family_fails_to_load)
{
	static const char * const bad[] = {
		"family=0", "family=-1", "family=46", "family=1000",
	};
	unsigned int i;

	ASSERT_EQ(0, unload());
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, load(bad[i])) TH_LOG("%s", bad[i]);
		EXPECT_FALSE(module_loaded());
	}
	EXPECT_TRUE(klog_has("is out of range"));
}

TEST_HARNESS_MAIN
