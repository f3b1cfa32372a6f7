/* SPDX-License-Identifier: GPL-2.0 */
/*
 * util.h - helpers shared by msgmux's selftests.
 */
#ifndef _MSGMUX_SELFTEST_UTIL_H
#define _MSGMUX_SELFTEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/msgmux.h>

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
	unsigned long long dropped;
};

int sockopt_int(int fd, int opt);
int sockopt_level_int(int fd, int level, int opt);
unsigned long fd_inode(int fd);
char *read_file(const char *path);
bool looks_like_pointer(const char *tok);
int proc_find_sock(unsigned long ino, struct proc_row *row);
int proc_find_mux(unsigned int mux, struct proc_row *row);
/* The connection line of an attached TCP socket, by its inode. */
int proc_find_conn(unsigned long ino, struct proc_row *row);
/* What a test may leave behind: descriptors, /proc/net/msgmux lines. */
int count_fds(void);
int count_objects(void);
bool objects_back_to(int want);

/* ---- sockets and waiting ------------------------------------------------ */

/* How long a helper waits for something that should happen at once. */
#define WAIT_MS		10000

int tcp_pair(int family, int *a, int *b);
int mm_socket_bounded(int type);
int tcp_listener(int family);
int write_full(int fd, const void *buf, size_t len);
ssize_t read_full(int fd, void *buf, size_t len, int timeout_ms);
int poll_events(int fd, short events, int timeout_ms);
ssize_t recv_wait(int fd, void *buf, size_t len, int flags, int timeout_ms);
bool tcp_quiet(int fd, int wait_ms);
int set_nonblock(int fd, bool on);
long long now_ms(void);
void fill_pattern(void *buf, size_t len, unsigned int seed);
void put_be32(void *p, uint32_t v);
uint32_t get_be32(const void *p);

/* ---- the multiplexor under test: msgmux or the in-tree AF_KCM ----------- */

enum mux_kind { MUX_MSGMUX, MUX_KCM };

/*
 * How a mux frames messages.  KCM has one way: a BPF parser, with the
 * 4-byte big-endian header inside the message.  msgmux can do the same
 * (FRAME_BPF), do it with its built-in framing and MSGMUX_FRAMING_KEEP_HDR
 * (FRAME_KEEP_HDR), or strip the header (FRAME_STRIP, its default): then
 * the application sends and receives bare payloads.
 */
enum frame_mode { FRAME_STRIP, FRAME_KEEP_HDR, FRAME_BPF };

/** struct mux_cfg - what a fixture variant runs against */
struct mux_cfg {
	enum mux_kind kind;
	int type;		/* SOCK_DGRAM or SOCK_SEQPACKET */
	enum frame_mode mode;	/* KCM: always FRAME_BPF */
};

#define HDR_LEN		4	/* the 4-byte big-endian length prefix */

int bpf_len_parser(void);
int mux_open(const struct mux_cfg *c);
int mux_attach(enum mux_kind kind, int mux, int tcp, int bpf_fd);
int mux_attachx(int mux, int tcp, int bpf_fd, uint32_t *conn_id);
int mux_attach_cfg(const struct mux_cfg *c, int mux, int tcp);
int mux_unattach(enum mux_kind kind, int mux, int tcp);
int mux_clone(enum mux_kind kind, int mux);
int framing_get(int mux, struct msgmux_framing *f);
int framing_set(int mux, const struct msgmux_framing *f);

size_t msg_make(const struct mux_cfg *c, void *buf, size_t payload,
		unsigned int seed);
bool msg_check(const struct mux_cfg *c, const void *buf, size_t len,
	       size_t payload, unsigned int seed);
size_t wire_of(const struct mux_cfg *c, void *wire, const void *msg,
	       size_t len);
int peer_send(const struct mux_cfg *c, int tcp, const void *msg, size_t len);
ssize_t peer_recv(const struct mux_cfg *c, int tcp, void *buf, size_t cap,
		  int timeout_ms);
ssize_t mux_send(const struct mux_cfg *c, int fd, const void *buf,
		 size_t len, int flags);

/* ---- kernel-made connections -------------------------------------------- */

struct sockaddr_storage;

socklen_t loopback_addr(int family, uint16_t port,
			struct sockaddr_storage *ss);
uint16_t sockaddr_port(const void *sa);
bool sockaddr_same(const void *a, const void *b);
int proc_count_conns(unsigned int mux, struct proc_row *first);

#endif
