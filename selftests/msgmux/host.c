// SPDX-License-Identifier: GPL-2.0
/*
 * host.c - the host's programs (ip, tc, python3) from the selftests, and
 * network namespaces.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "util.h"

/*
 * Where a host program is: the VM's /hostbin first (see guest-init.sh),
 * then /usr, where the host itself has it.  Never busybox's applet of
 * the same name (/bin, /sbin): busybox's ip and tc lack what the tests
 * need.  Returns NULL, with a message, if there is none.
 */
const char *host_tool(const char *name)
{
	static const char *const dirs[] = {
		"/hostbin", "/usr/sbin", "/usr/bin",
	};
	static char path[PATH_MAX];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], name);
		if (!access(path, X_OK))
			return path;
	}
	fprintf(stderr, "# %s: not in /hostbin or /usr (no host root?)\n",
		name);
	return NULL;
}

/*
 * Start host program @name with arguments @args (NULL-terminated, without
 * argv[0]).  Its stdout goes to a pipe returned in @out_fd, or to our
 * stderr when @out_fd is NULL, so that it never mixes with the TAP output.
 * Returns its pid, or -1.
 */
pid_t spawn_tool(const char *name, char *const args[], int *out_fd)
{
	const char *path = host_tool(name);
	char *argv[64];
	int p[2] = { -1, -1 }, n = 0;
	pid_t pid;

	if (!path)
		return -1;
	argv[n++] = (char *)name;
	while (args[n - 1] && n < (int)ARRAY_SIZE(argv) - 1) {
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	if (out_fd && pipe2(p, O_CLOEXEC))
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		dup2(out_fd ? p[1] : STDERR_FILENO, STDOUT_FILENO);
		execv(path, argv);
		fprintf(stderr, "# exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	if (out_fd) {
		close(p[1]);
		if (pid < 0)
			close(p[0]);
		else
			*out_fd = p[0];
	}
	return pid;
}

/*
 * Wait for child @pid at most @timeout_ms (< 0: forever); kill it when
 * the time is up.  Returns its exit status, 128 + signal if a signal
 * ended it, or -1 on timeout or error.
 */
int wait_child(pid_t pid, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	int status;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &status, timeout_ms < 0 ? 0 : WNOHANG);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == pid)
			break;
		if (now_ms() > deadline) {
			fprintf(stderr, "# pid %d: killed after %d ms\n", pid,
				timeout_ms);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(20 * 1000);
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/* Run host program @name with @args; its exit status, or -1. */
int run_toolv(const char *name, char *const args[])
{
	pid_t pid = spawn_tool(name, args, NULL);
	int ret, i;

	if (pid < 0)
		return -1;
	ret = wait_child(pid, 30 * 1000);
	if (ret) {
		fprintf(stderr, "# failed (%d):", ret);
		fprintf(stderr, " %s", name);
		for (i = 0; args[i]; i++)
			fprintf(stderr, " %s", args[i]);
		fprintf(stderr, "\n");
	}
	return ret;
}

/* run_toolv() with the arguments listed, NULL last. */
int run_tool(const char *name, ...)
{
	char *args[64];
	va_list ap;
	int n = 0;

	va_start(ap, name);
	do {
		args[n] = va_arg(ap, char *);
	} while (args[n] && ++n < (int)ARRAY_SIZE(args) - 1);
	args[n] = NULL;
	va_end(ap);
	return run_toolv(name, args);
}

/*
 * Run host program @name ("ip" or "tc") on the commands in @cmds, one a
 * line, in its batch mode (-batch), in network namespace @netns unless
 * it is NULL: one start of the program instead of one per command.
 * Returns its exit status, or -1.
 */
int run_batch(const char *name, const char *netns, const char *cmds)
{
	char file[] = "/tmp/msgmux-batch-XXXXXX";
	char *args[] = { "-n", (char *)netns, "-batch", file, NULL };
	int fd = mkstemp(file), ret;

	if (fd < 0)
		return -1;
	ret = write_full(fd, cmds, strlen(cmds));
	close(fd);
	if (!ret)
		ret = run_toolv(name, netns ? args : args + 2);
	if (ret)
		fprintf(stderr, "# the commands were:\n%s", cmds);
	unlink(file);
	return ret;
}

/*
 * A file that ships with the tests (a script): next to the test binary
 * (the VM's /tests), else in the source tree, itself or through the
 * host's root at /host.  Returns its path, or NULL with a message.
 */
const char *test_file(const char *name)
{
	static char path[PATH_MAX];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n > 0) {
		exe[n] = 0;
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			if (snprintf(path, sizeof(path), "%s/%s", exe,
				     name) < (int)sizeof(path) &&
			    !access(path, R_OK))
				return path;
		}
	}
#ifdef MSGMUX_SRCDIR
	snprintf(path, sizeof(path), "%s/%s", MSGMUX_SRCDIR, name);
	if (!access(path, R_OK))
		return path;
	snprintf(path, sizeof(path), "/host%s/%s", MSGMUX_SRCDIR, name);
	if (!access(path, R_OK))
		return path;
#endif
	fprintf(stderr, "# %s: not found next to the test or in the sources\n",
		name);
	return NULL;
}

/* An fd of the network namespace "ip netns add @name" made, or -1. */
int netns_open(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* Move the calling thread into network namespace @nsfd; 0 or -errno. */
int netns_enter(int nsfd)
{
	return setns(nsfd, CLONE_NEWNET) ? -errno : 0;
}
