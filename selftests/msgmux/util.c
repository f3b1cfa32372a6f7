// SPDX-License-Identifier: GPL-2.0
/*
 * util.c - helpers shared by msgmux's selftests.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/kcm.h>

#include "libmsgmux.h"
#include "util.h"

/* An int socket option's value, or -errno. */
int sockopt_level_int(int fd, int level, int opt)
{
	socklen_t len = sizeof(int);
	int v = -1;

	if (getsockopt(fd, level, opt, &v, &len))
		return -errno;
	return v;
}

int sockopt_int(int fd, int opt)
{
	return sockopt_level_int(fd, SOL_SOCKET, opt);
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
	if (sscanf(line,
		   "%7s %u %u %31s %15s %15s %llu %llu %llu %llu %llu %llu %llu",
		   r->kind, &r->mux, &r->id, ino, r->type, r->state,
		   &r->rx_msgs, &r->rx_bytes, &r->tx_msgs, &r->tx_bytes,
		   &r->queued, &r->errors, &r->dropped) != 13)
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
		if ((strcmp(kind, "mux") && r.ino == key) ||
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

int proc_find_conn(unsigned long ino, struct proc_row *row)
{
	return proc_find("conn", ino, row);
}

int proc_find_mux(unsigned int mux, struct proc_row *row)
{
	return proc_find("mux", mux, row);
}

/* Open file descriptors of this process, or -1. */
int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Lines of /proc/net/msgmux: its muxes, sockets and connections. */
int count_objects(void)
{
	char *s = read_file("/proc/net/msgmux"), *p;
	int n = 0;

	if (!s)
		return -1;
	for (p = s; (p = strchr(p, '\n')); p++)
		n++;
	free(s);
	return n;
}

/* A mux goes with its last reference, which a worker may hold a moment. */
bool objects_back_to(int want)
{
	long long end = now_ms() + WAIT_MS;
	int n;

	while ((n = count_objects()) != want && now_ms() < end)
		usleep(10 * 1000);
	return n == want;
}

/* ---- sockets and waiting ------------------------------------------------ */

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static socklen_t loopback(int family, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		return sizeof(*sin6);
	}
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof(*sin);
}

/* A TCP socket listening on the loopback address, on a free port. */
int tcp_listener(int family)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, &ss);
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 8)) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/*
 * A connected pair of TCP sockets over loopback (127.0.0.1 or ::1):
 * @a connected, @b accepted.  Returns 0, or -errno.
 */
int tcp_pair(int family, int *a, int *b)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int lfd, err = 0;

	*a = *b = -1;
	lfd = tcp_listener(family);
	if (lfd < 0)
		return -errno;
	*a = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*a < 0 || getsockname(lfd, (struct sockaddr *)&ss, &len) ||
	    connect(*a, (struct sockaddr *)&ss, len))
		err = -errno;
	else
		*b = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (!err && *b < 0)
		err = -errno;
	close(lfd);
	if (err && *a >= 0) {
		close(*a);
		*a = -1;
	}
	return err;
}

int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* poll() one fd for @events; returns revents (0 on timeout). */
int poll_events(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	if (poll(&p, 1, timeout_ms) < 0)
		return -1;
	return p.revents;
}

/*
 * Read exactly @len bytes from a stream socket within @timeout_ms.
 * Returns how many were read: fewer than @len on timeout or EOF.
 */
ssize_t read_full(int fd, void *buf, size_t len, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	size_t got = 0;

	while (got < len) {
		int left = deadline - now_ms();
		ssize_t n;

		if (left < 0 || poll_events(fd, POLLIN, left) <= 0)
			break;
		n = recv(fd, (char *)buf + got, len - got, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	return got;
}

/* recv() that waits at most @timeout_ms for something to read. */
ssize_t recv_wait(int fd, void *buf, size_t len, int flags, int timeout_ms)
{
	int ev = poll_events(fd, POLLIN, timeout_ms);

	if (ev < 0)
		return -1;
	if (!(ev & POLLIN)) {
		errno = ETIMEDOUT;
		return -1;
	}
	return recv(fd, buf, len, flags | MSG_DONTWAIT);
}

/*
 * A close-on-exec msgmux socket of @type whose blocking calls give up
 * after WAIT_MS (SO_RCVTIMEO, SO_SNDTIMEO), or -1.
 */
int mm_socket_bounded(int type)
{
	struct timeval tv = { WAIT_MS / 1000, 0 };
	int fd = msgmux_socket(type | SOCK_CLOEXEC);

	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	return fd;
}

/* True if nothing arrives on @fd within @wait_ms. */
bool tcp_quiet(int fd, int wait_ms)
{
	return !(poll_events(fd, POLLIN, wait_ms) & POLLIN);
}

int set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* Bytes that depend on @seed and the position, to catch reordering. */
void fill_pattern(void *buf, size_t len, unsigned int seed)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 8));
}

void put_be32(void *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

uint32_t get_be32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

/* ---- the multiplexor under test ------------------------------------------ */

/*
 * KCM's documented parser (Documentation/networking/kcm.rst):
 *	return load_word(skb, 0) + 4;
 * a 4-byte big-endian length at offset 0 that does not count itself.
 * LD_ABS needs the context in r6.  Returns a program fd, or -1.
 */
int bpf_len_parser(void)
{
	static const struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X,
		  .dst_reg = BPF_REG_6, .src_reg = BPF_REG_1 },
		{ .code = BPF_LD | BPF_W | BPF_ABS, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_ADD | BPF_K,
		  .dst_reg = BPF_REG_0, .imm = HDR_LEN },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	static char log[4096];
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uintptr_t)prog;
	attr.insn_cnt = ARRAY_SIZE(prog);
	attr.license = (uintptr_t)"GPL";
	attr.log_buf = (uintptr_t)log;
	attr.log_size = sizeof(log);
	attr.log_level = 1;
	fd = syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0)
		fprintf(stderr, "# BPF_PROG_LOAD: %s\n# %s\n", strerror(errno),
			log);
	return fd;
}

int framing_get(int mux, struct msgmux_framing *f)
{
	socklen_t len = sizeof(*f);

	return getsockopt(mux, SOL_MSGMUX, MSGMUX_FRAMING, f, &len);
}

int framing_set(int mux, const struct msgmux_framing *f)
{
	return setsockopt(mux, SOL_MSGMUX, MSGMUX_FRAMING, f, sizeof(*f));
}

/* A mux socket set up as @c says; -1 with errno on failure. */
int mux_open(const struct mux_cfg *c)
{
	const struct msgmux_framing keep = {
		.flags = MSGMUX_FRAMING_KEEP_HDR, .len_size = HDR_LEN,
	};
	int fd, err;

	if (c->kind == MUX_KCM)
		return socket(AF_KCM, c->type, KCMPROTO_CONNECTED);
	fd = msgmux_socket(c->type);
	/*
	 * With a BPF parser the header is part of the message too, as in
	 * KCM; KEEP_HDR says so whatever the built-in framing would do.
	 */
	if (fd >= 0 && c->mode != FRAME_STRIP && framing_set(fd, &keep)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* SIOCKCMATTACH or SIOCMSGMUXATTACH: the same number and layout. */
int mux_attach(enum mux_kind kind, int mux, int tcp, int bpf_fd)
{
	struct msgmux_attach ma = { .fd = tcp, .bpf_fd = bpf_fd };
	struct kcm_attach ka = { .fd = tcp, .bpf_fd = bpf_fd };

	if (kind == MUX_KCM)
		return ioctl(mux, SIOCKCMATTACH, &ka);
	return ioctl(mux, SIOCMSGMUXATTACH, &ma);
}

int mux_attachx(int mux, int tcp, int bpf_fd, uint32_t *conn_id)
{
	struct msgmux_attach_ext a = { .fd = tcp, .bpf_fd = bpf_fd };
	int ret = ioctl(mux, SIOCMSGMUXATTACHX, &a);

	if (!ret && conn_id)
		*conn_id = a.conn_id;
	return ret;
}

/* Attach @tcp with the parser @c calls for (a fresh BPF program or -1). */
int mux_attach_cfg(const struct mux_cfg *c, int mux, int tcp)
{
	int bpf = -1, ret, err;

	if (c->kind == MUX_KCM || c->mode == FRAME_BPF) {
		bpf = bpf_len_parser();
		if (bpf < 0)
			return -1;
	}
	ret = mux_attach(c->kind, mux, tcp, bpf);
	err = errno;
	if (bpf >= 0)
		close(bpf);
	errno = err;
	return ret;
}

int mux_unattach(enum mux_kind kind, int mux, int tcp)
{
	struct msgmux_unattach mu = { .fd = tcp };
	struct kcm_unattach ku = { .fd = tcp };

	if (kind == MUX_KCM)
		return ioctl(mux, SIOCKCMUNATTACH, &ku);
	return ioctl(mux, SIOCMSGMUXUNATTACH, &mu);
}

/* A new socket on @mux's multiplexor, or -1. */
int mux_clone(enum mux_kind kind, int mux)
{
	struct msgmux_clone mc = { .fd = -1 };
	struct kcm_clone kc = { .fd = -1 };

	if (kind == MUX_KCM)
		return ioctl(mux, SIOCKCMCLONE, &kc) ? -1 : kc.fd;
	return ioctl(mux, SIOCMSGMUXCLONE, &mc) ? -1 : mc.fd;
}

/*
 * Messages as the application sees them.  With the header in the message
 * (KCM, KEEP_HDR, BPF) a message is a 4-byte big-endian payload length
 * then the payload; stripped, it is the payload alone.  The payload is
 * fill_pattern(@seed).
 */
static bool hdr_in_msg(const struct mux_cfg *c)
{
	return c->kind == MUX_KCM || c->mode != FRAME_STRIP;
}

size_t msg_make(const struct mux_cfg *c, void *buf, size_t payload,
		unsigned int seed)
{
	size_t hdr = hdr_in_msg(c) ? HDR_LEN : 0;

	if (hdr)
		put_be32(buf, payload);
	fill_pattern((char *)buf + hdr, payload, seed);
	return hdr + payload;
}

/* True if @buf (@len bytes) is what msg_make(@payload, @seed) made. */
bool msg_check(const struct mux_cfg *c, const void *buf, size_t len,
	       size_t payload, unsigned int seed)
{
	size_t hdr = hdr_in_msg(c) ? HDR_LEN : 0;
	char *want = malloc(hdr + payload + 1);
	bool ok;

	if (!want)
		return false;
	msg_make(c, want, payload, seed);
	ok = len == hdr + payload && !memcmp(buf, want, len);
	free(want);
	return ok;
}

/* The bytes on the TCP connection for one message; returns their count. */
size_t wire_of(const struct mux_cfg *c, void *wire, const void *msg,
	       size_t len)
{
	if (hdr_in_msg(c)) {
		memcpy(wire, msg, len);
		return len;
	}
	put_be32(wire, len);
	memcpy((char *)wire + HDR_LEN, msg, len);
	return HDR_LEN + len;
}

/* The peer writes one message into its TCP socket. */
int peer_send(const struct mux_cfg *c, int tcp, const void *msg, size_t len)
{
	char *wire = malloc(len + HDR_LEN);
	int ret;

	if (!wire)
		return -1;
	ret = write_full(tcp, wire, wire_of(c, wire, msg, len));
	free(wire);
	return ret;
}

/*
 * The peer reads one message from its TCP socket and returns it as the
 * application would have sent it; -1 on timeout, EOF or if it is larger
 * than @cap.
 */
ssize_t peer_recv(const struct mux_cfg *c, int tcp, void *buf, size_t cap,
		  int timeout_ms)
{
	size_t hdr = hdr_in_msg(c) ? HDR_LEN : 0;
	unsigned char h[HDR_LEN];
	uint32_t n;

	if (read_full(tcp, h, HDR_LEN, timeout_ms) != HDR_LEN)
		return -1;
	n = get_be32(h);
	if (n + hdr > cap) {
		errno = EMSGSIZE;
		return -1;
	}
	memcpy(buf, h, hdr);
	if (read_full(tcp, (char *)buf + hdr, n, timeout_ms) != n)
		return -1;
	return hdr + n;
}

/*
 * send() one message.  KCM's SOCK_SEQPACKET ends a message only at
 * MSG_EOR (as if MSGMUX_EXPLICIT_EOR were always on), so KCM gets it on
 * every send; msgmux needs none.
 */
ssize_t mux_send(const struct mux_cfg *c, int fd, const void *buf,
		 size_t len, int flags)
{
	if (c->kind == MUX_KCM)
		flags |= MSG_EOR;
	return send(fd, buf, len, flags);
}

/* ---- kernel-made connections --------------------------------------------- */

/* The loopback address of @family with @port (host order). */
socklen_t loopback_addr(int family, uint16_t port,
			struct sockaddr_storage *ss)
{
	socklen_t len = loopback(family, ss);

	if (family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	return len;
}

/* The port (host order) of an AF_INET or AF_INET6 address; 0 otherwise. */
uint16_t sockaddr_port(const void *sa)
{
	const struct sockaddr_in *sin = sa;
	const struct sockaddr_in6 *sin6 = sa;

	if (sin->sin_family == AF_INET)
		return ntohs(sin->sin_port);
	if (sin6->sin6_family == AF_INET6)
		return ntohs(sin6->sin6_port);
	return 0;
}

/* Same family, address, port (and IPv6 scope): flow labels are ignored. */
bool sockaddr_same(const void *a, const void *b)
{
	const struct sockaddr_in *a4 = a, *b4 = b;
	const struct sockaddr_in6 *a6 = a, *b6 = b;

	if (a4->sin_family != b4->sin_family)
		return false;
	if (a4->sin_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		       a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a6->sin6_family == AF_INET6)
		return a6->sin6_port == b6->sin6_port &&
		       a6->sin6_scope_id == b6->sin6_scope_id &&
		       !memcmp(&a6->sin6_addr, &b6->sin6_addr, 16);
	return false;
}

/*
 * How many connection lines mux @mux has in /proc/net/msgmux, or -errno;
 * the first one in @first if it is not NULL.
 */
int proc_count_conns(unsigned int mux, struct proc_row *first)
{
	char line[512];
	struct proc_row r;
	FILE *f = fopen("/proc/net/msgmux", "r");
	int n = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (proc_parse(line, &r) || strcmp(r.kind, "conn") ||
		    r.mux != mux)
			continue;
		if (!n++ && first)
			*first = r;
	}
	fclose(f);
	return n;
}
