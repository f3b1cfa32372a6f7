/* SPDX-License-Identifier: GPL-2.0 */
/*
 * host.h - the host's programs (ip, tc, python3) from the selftests, and
 * network namespaces.
 *
 * The test VM is busybox only; its /init links the host's tools, run from
 * the host's root shared read-only at /host, into /hostbin.  A test that
 * needs one fails (never skips) when it is missing: the VM is the only
 * place the tests run.
 */
#ifndef _MSGMUX_SELFTEST_HOST_H
#define _MSGMUX_SELFTEST_HOST_H

#include <stdbool.h>
#include <sys/types.h>

const char *host_tool(const char *name);
int run_tool(const char *name, ...);
int run_toolv(const char *name, char *const args[]);
int run_batch(const char *name, const char *netns, const char *cmds);
pid_t spawn_tool(const char *name, char *const args[], int *out_fd);
int wait_child(pid_t pid, int timeout_ms);
const char *test_file(const char *name);

int netns_open(const char *name);
int netns_enter(int nsfd);

#endif
