/* SPDX-License-Identifier: GPL-2.0 */
/*
 * trace.h - msgmux's tracepoints: messages received and sent, connections
 * attached and failed.  Enable with
 *	echo 1 > /sys/kernel/tracing/events/msgmux/enable
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM msgmux

#if !defined(_MSGMUX_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _MSGMUX_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(msgmux_rx_msg,
	TP_PROTO(u32 mux, u32 conn, u32 len),
	TP_ARGS(mux, conn, len),
	TP_STRUCT__entry(
		__field(u32, mux)
		__field(u32, conn)
		__field(u32, len)
	),
	TP_fast_assign(
		__entry->mux = mux;
		__entry->conn = conn;
		__entry->len = len;
	),
	TP_printk("mux=%u conn=%u len=%u", __entry->mux, __entry->conn,
		  __entry->len)
);

TRACE_EVENT(msgmux_tx_msg,
	TP_PROTO(u32 mux, u32 sock, u32 conn, u32 len),
	TP_ARGS(mux, sock, conn, len),
	TP_STRUCT__entry(
		__field(u32, mux)
		__field(u32, sock)
		__field(u32, conn)
		__field(u32, len)
	),
	TP_fast_assign(
		__entry->mux = mux;
		__entry->sock = sock;
		__entry->conn = conn;
		__entry->len = len;
	),
	TP_printk("mux=%u sock=%u conn=%u len=%u", __entry->mux,
		  __entry->sock, __entry->conn, __entry->len)
);

TRACE_EVENT(msgmux_conn_attach,
	TP_PROTO(u32 mux, u32 conn, u16 family, bool bpf),
	TP_ARGS(mux, conn, family, bpf),
	TP_STRUCT__entry(
		__field(u32, mux)
		__field(u32, conn)
		__field(u16, family)
		__field(bool, bpf)
	),
	TP_fast_assign(
		__entry->mux = mux;
		__entry->conn = conn;
		__entry->family = family;
		__entry->bpf = bpf;
	),
	TP_printk("mux=%u conn=%u family=%u parser=%s", __entry->mux,
		  __entry->conn, __entry->family,
		  __entry->bpf ? "bpf" : "builtin")
);

TRACE_EVENT(msgmux_conn_error,
	TP_PROTO(u32 mux, u32 conn, int err, u32 reason, u32 dropped),
	TP_ARGS(mux, conn, err, reason, dropped),
	TP_STRUCT__entry(
		__field(u32, mux)
		__field(u32, conn)
		__field(int, err)
		__field(u32, reason)
		__field(u32, dropped)
	),
	TP_fast_assign(
		__entry->mux = mux;
		__entry->conn = conn;
		__entry->err = err;
		__entry->reason = reason;
		__entry->dropped = dropped;
	),
	TP_printk("mux=%u conn=%u err=%d reason=%u dropped=%u", __entry->mux,
		  __entry->conn, __entry->err, __entry->reason,
		  __entry->dropped)
);

#endif /* _MSGMUX_TRACE_H */

/* This part must be outside the include guard. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
