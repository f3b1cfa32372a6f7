// SPDX-License-Identifier: GPL-2.0
/*
 * visibility_test - what /proc/net/msgmux and msgmux's tracepoints show
 * about connections and messages.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "libmsgmux.h"
#include "util.h"

static const struct mux_cfg cfg = { MUX_MSGMUX, SOCK_DGRAM, FRAME_STRIP };

/* Each attached connection has a line: its TCP socket's inode, counters. */
TEST(proc_lists_connections_with_counters)
{
	int mux, tcp[2], peer[2], i;
	struct proc_row row, sock;
	char buf[64];

	mux = mux_open(&cfg);
	ASSERT_LE(0, mux);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, tcp_pair(i ? AF_INET6 : AF_INET, &tcp[i], &peer[i]));
		ASSERT_EQ(0, mux_attach_cfg(&cfg, mux, tcp[i]));
	}
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, peer_send(&cfg, peer[0], "abcd", 4));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(4, recv_wait(mux, buf, sizeof(buf), 0, WAIT_MS));
	ASSERT_EQ(6, send(mux, "123456", 6, 0));
	ASSERT_EQ(6, peer_recv(&cfg, peer[0], buf, sizeof(buf), WAIT_MS) +
		  peer_recv(&cfg, peer[1], buf, sizeof(buf), 200) + 1);

	ASSERT_EQ(0, proc_find_conn(fd_inode(tcp[0]), &row));
	EXPECT_STREQ("tcp", row.type);
	EXPECT_STREQ("frame", row.state);
	EXPECT_EQ(3, row.rx_msgs);
	EXPECT_EQ(12, row.rx_bytes);
	ASSERT_EQ(0, proc_find_conn(fd_inode(tcp[1]), &row));
	EXPECT_STREQ("tcp6", row.type);
	EXPECT_EQ(0, row.rx_msgs);

	ASSERT_EQ(0, proc_find_sock(fd_inode(mux), &sock));
	EXPECT_EQ(sock.mux, row.mux);
	EXPECT_EQ(3, sock.rx_msgs);
	EXPECT_EQ(1, sock.tx_msgs);
	EXPECT_EQ(6, sock.tx_bytes);

	/* Unattached, the line goes. */
	ASSERT_EQ(0, mux_unattach(MUX_MSGMUX, mux, tcp[0]));
	EXPECT_EQ(-ENOENT, proc_find_conn(fd_inode(tcp[0]), &row));
	close(mux);
	EXPECT_EQ(-ENOENT, proc_find_conn(fd_inode(tcp[1]), &row));
	for (i = 0; i < 2; i++) {
		close(tcp[i]);
		close(peer[i]);
	}
}

#define TRACING "/sys/kernel/tracing"

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -errno;
	close(fd);
	return ret;
}

#define RECORD_CMD TRACING "/options/record-cmd"

FIXTURE(trace)
{
	char *text;
	char *record_cmd;	/* the option's value before, to restore */
};

/*
 * Enabling the first event also hooks sched_switch and sched_wakeup to
 * record task names (options/record-cmd): that live-patches the
 * scheduler, which every CPU is running.  Under QEMU's multi-threaded
 * TCG, patching code another vCPU is executing can leave it a stale
 * int3 to trap on after the patch is done ("Oops: int3" in
 * __schedule()).  With record-cmd off, enabling msgmux's events patches
 * only msgmux's own call sites, and no msgmux code runs while they
 * are enabled or disabled here.
 */
FIXTURE_SETUP(trace)
{
	struct stat st;

	self->text = NULL;
	self->record_cmd = NULL;
	if (stat(TRACING "/events", &st))
		mount("tracefs", TRACING, "tracefs", 0, NULL);
	if (stat(TRACING "/events/msgmux", &st))
		SKIP(return, "no tracefs with msgmux events (needs root)");
	self->record_cmd = read_file(RECORD_CMD);
	ASSERT_NE(NULL, self->record_cmd);
	ASSERT_EQ(0, write_str(RECORD_CMD, "0"));
	ASSERT_EQ(0, write_str(TRACING "/trace", ""));
	ASSERT_EQ(0, write_str(TRACING "/events/msgmux/enable", "1"));
}

FIXTURE_TEARDOWN(trace)
{
	write_str(TRACING "/events/msgmux/enable", "0");
	if (self->record_cmd)
		write_str(RECORD_CMD, self->record_cmd);
	free(self->record_cmd);
	free(self->text);
}

/* Attach, a message each way and a failure each leave a trace event. */
TEST_F(trace, events_for_attach_messages_and_errors)
{
	int mux, tcp, peer;
	char buf[64];

	mux = mux_open(&cfg);
	ASSERT_LE(0, mux);
	ASSERT_EQ(0, tcp_pair(AF_INET, &tcp, &peer));
	ASSERT_EQ(0, mux_attach_cfg(&cfg, mux, tcp));
	ASSERT_EQ(0, peer_send(&cfg, peer, "in", 2));
	ASSERT_EQ(2, recv_wait(mux, buf, sizeof(buf), 0, WAIT_MS));
	ASSERT_EQ(3, send(mux, "out", 3, 0));
	put_be32(buf, 0x7fffffff);
	ASSERT_EQ(0, write_full(peer, buf, HDR_LEN));
	ASSERT_TRUE(poll_events(mux, 0, WAIT_MS) & POLLERR);

	self->text = read_file(TRACING "/trace");
	ASSERT_NE(NULL, self->text);
	EXPECT_NE(NULL, strstr(self->text, "msgmux_conn_attach:"));
	EXPECT_NE(NULL, strstr(self->text, "parser=builtin"));
	EXPECT_NE(NULL, strstr(self->text, "msgmux_rx_msg:"));
	EXPECT_NE(NULL, strstr(self->text, "len=2"));
	EXPECT_NE(NULL, strstr(self->text, "msgmux_tx_msg:"));
	EXPECT_NE(NULL, strstr(self->text, "len=3"));
	EXPECT_NE(NULL, strstr(self->text, "msgmux_conn_error:"));
	EXPECT_NE(NULL, strstr(self->text, "err=-90")) TH_LOG("EMSGSIZE");
	close(mux);
	close(tcp);
	close(peer);
}

TEST_HARNESS_MAIN
