// SPDX-License-Identifier: GPL-2.0
/*
 * frame.c - the built-in length-prefix framing.
 *
 * DOC: Built-in framing
 *
 * A message on the wire is a header followed by a payload.  The header is
 * @len_offset bytes the framing does not interpret, then a length field:
 * 1, 2, 3, 4 or 8 bytes in either byte order, or a protobuf-style varint
 * (LEB128: seven bits a byte, low group first, the top bit set on every
 * byte but the last; at most 10 bytes for 64 bits).  The decoded value
 * plus @len_adjust is the payload's length, or the whole message's with
 * %MSGMUX_FRAMING_LEN_INCLUDES_HDR.  A message longer than @max_size, or a
 * length that cannot describe a message (negative, shorter than its own
 * header, a varint over 10 bytes or 64 bits), is an error that takes the
 * connection out of service.
 *
 * Everything here is pure computation on bytes, so that it can be tested
 * in isolation.
 */
#include <linux/kernel.h>
#include <linux/skbuff.h>
#include <kunit/visibility.h>

#include "compat.h"
#include "msgmux.h"

#define MSGMUX_FRAMING_ALL (MSGMUX_FRAMING_LITTLE_ENDIAN | \
			    MSGMUX_FRAMING_LEN_INCLUDES_HDR | \
			    MSGMUX_FRAMING_KEEP_HDR)

/*
 * A decoded length above this can never describe an acceptable message,
 * whatever the adjustment: it keeps the arithmetic below within s64.
 */
#define MSGMUX_LEN_SANE	((u64)MSGMUX_MAX_SIZE_LIMIT + S32_MAX + 1)

/**
 * msgmux_frame_default() - the framing of a new mux
 * @f: filled in with a 4-byte big-endian payload length, header stripped.
 */
void msgmux_frame_default(struct msgmux_frame *f)
{
	*f = (struct msgmux_frame) {
		.len_size = 4,
		.max_size = MSGMUX_DEFAULT_MAX_SIZE,
	};
}

static bool msgmux_len_size_ok(u8 size)
{
	switch (size) {
	case 1: case 2: case 3: case 4: case 8: case MSGMUX_LEN_VARINT:
		return true;
	default:
		return false;
	}
}

/**
 * msgmux_frame_from_user() - validate a framing given by the application
 * @f: filled in on success.
 * @uf: what the application gave to MSGMUX_FRAMING.
 *
 * Return: 0, or -EINVAL for unknown flags, a non-zero reserved field, an
 * unsupported length size, an offset over %MSGMUX_MAX_LEN_OFFSET, a
 * maximum over %MSGMUX_MAX_SIZE_LIMIT or one smaller than the header.
 */
int msgmux_frame_from_user(struct msgmux_frame *f,
			   const struct msgmux_framing *uf)
{
	if (uf->flags & ~MSGMUX_FRAMING_ALL || uf->reserved ||
	    !msgmux_len_size_ok(uf->len_size) ||
	    uf->len_offset > MSGMUX_MAX_LEN_OFFSET ||
	    uf->max_size > MSGMUX_MAX_SIZE_LIMIT)
		return -EINVAL;
	/* A maximum that not even an empty message's header fits in. */
	if (uf->max_size && uf->max_size < uf->len_offset +
	    (uf->len_size == MSGMUX_LEN_VARINT ? 1 : uf->len_size))
		return -EINVAL;

	*f = (struct msgmux_frame) {
		.flags = uf->flags,
		.len_offset = uf->len_offset,
		.len_size = uf->len_size,
		.len_adjust = uf->len_adjust,
		.max_size = uf->max_size ? : MSGMUX_DEFAULT_MAX_SIZE,
	};
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(msgmux_frame_from_user);

/**
 * msgmux_frame_to_user() - the framing as MSGMUX_FRAMING reports it
 * @f: a mux's framing.
 * @uf: filled in.
 */
void msgmux_frame_to_user(const struct msgmux_frame *f,
			  struct msgmux_framing *uf)
{
	*uf = (struct msgmux_framing) {
		.flags = f->flags,
		.len_offset = f->len_offset,
		.len_size = f->len_size,
		.len_adjust = f->len_adjust,
		.max_size = f->max_size,
	};
}

/**
 * msgmux_frame_strips() - does the kernel add and strip the header?
 * @f: a framing.
 *
 * Return: true unless %MSGMUX_FRAMING_KEEP_HDR is set.
 */
bool msgmux_frame_strips(const struct msgmux_frame *f)
{
	return !(f->flags & MSGMUX_FRAMING_KEEP_HDR);
}

/* Decode a varint at @buf; return bytes used, 0 if more are needed. */
static int msgmux_varint_decode(const u8 *buf, unsigned int avail, u64 *val)
{
	unsigned int i;
	u64 v = 0;

	for (i = 0; i < 10; i++) {
		if (i == avail)
			return 0;
		/* The tenth byte holds bit 63 only. */
		if (i == 9 && buf[i] > 1)
			return -EBADMSG;
		v |= (u64)(buf[i] & 0x7f) << (7 * i);
		if (!(buf[i] & 0x80)) {
			*val = v;
			return i + 1;
		}
	}
	return -EBADMSG;
}

static u64 msgmux_fixed_decode(const u8 *p, u8 size, bool le)
{
	switch (size) {
	case 1:
		return *p;
	case 2:
		return le ? get_unaligned_le16(p) : get_unaligned_be16(p);
	case 3:
		return le ? p[0] | p[1] << 8 | p[2] << 16 :
			    p[0] << 16 | p[1] << 8 | p[2];
	case 4:
		return le ? get_unaligned_le32(p) : get_unaligned_be32(p);
	default:
		return le ? get_unaligned_le64(p) : get_unaligned_be64(p);
	}
}

/**
 * msgmux_frame_decode() - the length of the message starting at @buf
 * @f: the framing.
 * @buf: the first bytes of the message.
 * @avail: how many bytes @buf holds.
 * @hdr_len: set to the header's length when a length is returned.
 *
 * Return: the message's length on the wire, header included (> 0); 0 if
 * the header is not complete in @avail bytes; -EBADMSG for a malformed
 * length or -EMSGSIZE for one over @f->max_size.
 */
int msgmux_frame_decode(const struct msgmux_frame *f, const u8 *buf,
			unsigned int avail, unsigned int *hdr_len)
{
	unsigned int hdr = f->len_offset;
	s64 n, total;
	u64 v;

	if (avail < hdr)
		return 0;
	if (f->len_size == MSGMUX_LEN_VARINT) {
		int used = msgmux_varint_decode(buf + hdr, avail - hdr, &v);

		if (used <= 0)
			return used;
		hdr += used;
	} else {
		if (avail < hdr + f->len_size)
			return 0;
		v = msgmux_fixed_decode(buf + hdr, f->len_size,
					f->flags & MSGMUX_FRAMING_LITTLE_ENDIAN);
		hdr += f->len_size;
	}

	if (v >= MSGMUX_LEN_SANE)
		return -EMSGSIZE;
	n = (s64)v + f->len_adjust;
	if (f->flags & MSGMUX_FRAMING_LEN_INCLUDES_HDR) {
		if (n < hdr)
			return -EBADMSG;
		total = n;
	} else {
		if (n < 0)
			return -EBADMSG;
		total = hdr + n;
	}
	if (total > f->max_size)
		return -EMSGSIZE;
	*hdr_len = hdr;
	return total;
}
EXPORT_SYMBOL_IF_KUNIT(msgmux_frame_decode);

/**
 * msgmux_frame_parse() - msgmux_frame_decode() on a message in an skb
 * @f: the framing.
 * @skb: holds the message from @offset on (possibly not all of it yet).
 * @offset: where the message starts in @skb.
 * @hdr_len: as for msgmux_frame_decode().
 *
 * Return: as msgmux_frame_decode().
 */
int msgmux_frame_parse(const struct msgmux_frame *f,
		       const struct sk_buff *skb, unsigned int offset,
		       unsigned int *hdr_len)
{
	unsigned int avail = skb->len - offset;
	u8 buf[MSGMUX_MAX_HDR];

	avail = min_t(unsigned int, avail, sizeof(buf));
	if (skb_copy_bits(skb, offset, buf, avail))
		return -EBADMSG;
	return msgmux_frame_decode(f, buf, avail, hdr_len);
}

static unsigned int msgmux_varint_len(u64 v)
{
	unsigned int n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* The value that describes @payload bytes with a length field of @lsize. */
static s64 msgmux_frame_value(const struct msgmux_frame *f, size_t payload,
			      unsigned int lsize)
{
	s64 n = payload;

	if (f->flags & MSGMUX_FRAMING_LEN_INCLUDES_HDR)
		n += f->len_offset + lsize;
	return n - f->len_adjust;
}

static void msgmux_fixed_encode(u8 *p, u8 size, bool le, u64 v)
{
	switch (size) {
	case 1:
		*p = v;
		break;
	case 2:
		if (le)
			put_unaligned_le16(v, p);
		else
			put_unaligned_be16(v, p);
		break;
	case 3:
		p[le ? 0 : 2] = v;
		p[1] = v >> 8;
		p[le ? 2 : 0] = v >> 16;
		break;
	case 4:
		if (le)
			put_unaligned_le32(v, p);
		else
			put_unaligned_be32(v, p);
		break;
	default:
		if (le)
			put_unaligned_le64(v, p);
		else
			put_unaligned_be64(v, p);
	}
}

/**
 * msgmux_frame_encode() - the header for a payload, as the kernel sends it
 * @f: the framing.
 * @payload: the payload's length.
 * @buf: receives the header; at least %MSGMUX_MAX_HDR bytes.
 *
 * The @f->len_offset bytes before the length field are zeros.
 *
 * Return: the header's length, or -EMSGSIZE if the message would exceed
 * @f->max_size or its length cannot be expressed in the length field.
 */
int msgmux_frame_encode(const struct msgmux_frame *f, size_t payload,
			u8 *buf)
{
	unsigned int lsize = f->len_size;
	s64 v;

	if (lsize == MSGMUX_LEN_VARINT) {
		/* With the header counted, the value depends on its size. */
		for (lsize = 1; lsize <= 10; lsize++) {
			v = msgmux_frame_value(f, payload, lsize);
			if (v >= 0 && msgmux_varint_len(v) == lsize)
				break;
		}
		if (lsize > 10)
			return -EMSGSIZE;
	} else {
		v = msgmux_frame_value(f, payload, lsize);
		if (v < 0 || (lsize < 8 && v >> (8 * lsize)))
			return -EMSGSIZE;
	}
	if (payload + f->len_offset + lsize > f->max_size)
		return -EMSGSIZE;

	memset(buf, 0, f->len_offset);
	buf += f->len_offset;
	if (f->len_size == MSGMUX_LEN_VARINT) {
		u64 u = v;

		while (u >= 0x80) {
			*buf++ = (u & 0x7f) | 0x80;
			u >>= 7;
		}
		*buf = u;
	} else {
		msgmux_fixed_encode(buf, lsize,
				    f->flags & MSGMUX_FRAMING_LITTLE_ENDIAN, v);
	}
	return f->len_offset + lsize;
}
EXPORT_SYMBOL_IF_KUNIT(msgmux_frame_encode);
