// SPDX-License-Identifier: GPL-2.0
/*
 * msgmux_kunit.c - KUnit tests of msgmux's built-in framing (frame.c).
 *
 * Built only for kernels with CONFIG_KUNIT (the debug kernel of `make
 * check-debug`), as its own module: loading msgmux_kunit.ko runs the
 * suite "msgmux_frame".  frame.c is pure computation on bytes, so every
 * length size, byte order, varint edge, adjustment, overflow and maximum
 * is proved here without a socket.
 */
#include <kunit/test.h>
#include <linux/kernel.h>
#include <linux/module.h>

#include "msgmux.h"

static struct msgmux_frame frame(u8 size, u32 flags, s32 adjust, u32 max)
{
	return (struct msgmux_frame) {
		.flags = flags,
		.len_size = size,
		.len_adjust = adjust,
		.max_size = max ? : MSGMUX_DEFAULT_MAX_SIZE,
	};
}

static void msgmux_frame_from_user_test(struct kunit *test)
{
	static const u8 good[] = { 1, 2, 3, 4, 8, MSGMUX_LEN_VARINT };
	static const u8 bad[] = { 0, 5, 6, 7, 9, 16, 0xfe };
	struct msgmux_framing uf = { .len_size = 4 };
	struct msgmux_frame f;
	int i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		uf.len_size = good[i];
		KUNIT_EXPECT_EQ(test, 0, msgmux_frame_from_user(&f, &uf));
		KUNIT_EXPECT_EQ(test, good[i], f.len_size);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		uf.len_size = bad[i];
		KUNIT_EXPECT_EQ(test, -EINVAL, msgmux_frame_from_user(&f, &uf));
	}
	uf.len_size = 4;
	/* max_size 0 means the default. */
	KUNIT_EXPECT_EQ(test, 0, msgmux_frame_from_user(&f, &uf));
	KUNIT_EXPECT_EQ(test, MSGMUX_DEFAULT_MAX_SIZE, f.max_size);
	uf.max_size = MSGMUX_MAX_SIZE_LIMIT;
	KUNIT_EXPECT_EQ(test, 0, msgmux_frame_from_user(&f, &uf));
	uf.max_size = MSGMUX_MAX_SIZE_LIMIT + 1;
	KUNIT_EXPECT_EQ(test, -EINVAL, msgmux_frame_from_user(&f, &uf));
	uf.max_size = 0;
	uf.len_offset = MSGMUX_MAX_LEN_OFFSET;
	KUNIT_EXPECT_EQ(test, 0, msgmux_frame_from_user(&f, &uf));
	uf.len_offset = MSGMUX_MAX_LEN_OFFSET + 1;
	KUNIT_EXPECT_EQ(test, -EINVAL, msgmux_frame_from_user(&f, &uf));
	uf.len_offset = 0;
	uf.reserved = 1;
	KUNIT_EXPECT_EQ(test, -EINVAL, msgmux_frame_from_user(&f, &uf));
	uf.reserved = 0;
	uf.flags = MSGMUX_FRAMING_KEEP_HDR << 1;
	KUNIT_EXPECT_EQ(test, -EINVAL, msgmux_frame_from_user(&f, &uf));
	uf.flags = 0;
	/* A maximum below the header: no message could ever fit. */
	uf.max_size = 3;
	KUNIT_EXPECT_EQ(test, -EINVAL, msgmux_frame_from_user(&f, &uf));
	uf.max_size = 4;
	KUNIT_EXPECT_EQ(test, 0, msgmux_frame_from_user(&f, &uf));
	uf.len_size = MSGMUX_LEN_VARINT;
	uf.len_offset = 8;
	uf.max_size = 8;
	KUNIT_EXPECT_EQ(test, -EINVAL, msgmux_frame_from_user(&f, &uf));
}

/* Each fixed size in both byte orders: the value 0x...0102 and short. */
static void msgmux_frame_fixed_test(struct kunit *test)
{
	static const u8 sizes[] = { 1, 2, 3, 4, 8 };
	unsigned int hdr, i, j;
	struct msgmux_frame f;
	u8 buf[16];
	u64 v;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		u8 n = sizes[i];

		for (j = 0; j < 2; j++) {
			f = frame(n, j ? MSGMUX_FRAMING_LITTLE_ENDIAN : 0, 0,
				  0);
			/* Length 1 (size 1) or 0x0102 in that order. */
			v = n == 1 ? 1 : 0x0102;
			memset(buf, 0, sizeof(buf));
			if (n == 1) {
				buf[0] = 1;
			} else if (j) {
				buf[0] = 0x02;
				buf[1] = 0x01;
			} else {
				buf[n - 2] = 0x01;
				buf[n - 1] = 0x02;
			}
			KUNIT_EXPECT_EQ(test, n + v,
					msgmux_frame_decode(&f, buf, n, &hdr));
			KUNIT_EXPECT_EQ(test, n, hdr);
			/* One byte short of the header: not complete. */
			KUNIT_EXPECT_EQ(test, 0,
					msgmux_frame_decode(&f, buf, n - 1,
							    &hdr));
		}
	}
}

static void msgmux_frame_varint_test(struct kunit *test)
{
	struct msgmux_frame f = frame(MSGMUX_LEN_VARINT, 0, 0,
				      MSGMUX_MAX_SIZE_LIMIT);
	static const u8 big[10] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
				    0x80, 0x80, 0x80, 0x01 };
	static const u8 bad10[10] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
				      0x80, 0x80, 0x80, 0x02 };
	u8 buf[12] = { 0 };
	unsigned int hdr;

	/* 0 and 127 take one byte, 128 two. */
	KUNIT_EXPECT_EQ(test, 1, msgmux_frame_decode(&f, buf, 1, &hdr));
	buf[0] = 0x7f;
	KUNIT_EXPECT_EQ(test, 1 + 127, msgmux_frame_decode(&f, buf, 1, &hdr));
	buf[0] = 0x80;
	buf[1] = 0x01;
	KUNIT_EXPECT_EQ(test, 2 + 128, msgmux_frame_decode(&f, buf, 2, &hdr));
	KUNIT_EXPECT_EQ(test, 2, hdr);
	/* The continuation bit with nothing after it: not complete. */
	KUNIT_EXPECT_EQ(test, 0, msgmux_frame_decode(&f, buf, 1, &hdr));
	/* Bit 63: a u64 decodes, and is over any maximum. */
	KUNIT_EXPECT_EQ(test, -EMSGSIZE, msgmux_frame_decode(&f, big, 10,
							     &hdr));
	/* A tenth byte over 1 overflows 64 bits. */
	KUNIT_EXPECT_EQ(test, -EBADMSG, msgmux_frame_decode(&f, bad10, 10,
							    &hdr));
	/* Eleven bytes of continuation. */
	memset(buf, 0x80, sizeof(buf));
	KUNIT_EXPECT_EQ(test, -EBADMSG, msgmux_frame_decode(&f, buf, 11,
							    &hdr));
}

static void msgmux_frame_adjust_test(struct kunit *test)
{
	struct msgmux_frame f;
	u8 buf[4] = { 0, 0, 0, 10 };
	unsigned int hdr;

	/* The length counts the header: 10 on the wire, header included. */
	f = frame(4, MSGMUX_FRAMING_LEN_INCLUDES_HDR, 0, 0);
	KUNIT_EXPECT_EQ(test, 10, msgmux_frame_decode(&f, buf, 4, &hdr));
	/* Shorter than its own header. */
	buf[3] = 3;
	KUNIT_EXPECT_EQ(test, -EBADMSG, msgmux_frame_decode(&f, buf, 4, &hdr));
	/* An adjustment: the field says 3, the payload is 3 + 5. */
	f = frame(4, 0, 5, 0);
	KUNIT_EXPECT_EQ(test, 4 + 8, msgmux_frame_decode(&f, buf, 4, &hdr));
	/* A negative one below zero is malformed. */
	f = frame(4, 0, -4, 0);
	KUNIT_EXPECT_EQ(test, -EBADMSG, msgmux_frame_decode(&f, buf, 4, &hdr));
	/* An offset: bytes before the field are skipped. */
	f = frame(1, 0, 0, 0);
	f.len_offset = 3;
	KUNIT_EXPECT_EQ(test, 0, msgmux_frame_decode(&f, buf, 3, &hdr));
	KUNIT_EXPECT_EQ(test, 4 + 3, msgmux_frame_decode(&f, buf, 4, &hdr));
	KUNIT_EXPECT_EQ(test, 4, hdr);
}

static void msgmux_frame_max_test(struct kunit *test)
{
	struct msgmux_frame f = frame(4, 0, 0, 1000);
	u8 buf[4] = { 0, 0, 0x03, 0xe4 };	/* 996 */
	unsigned int hdr;
	u8 out[MSGMUX_MAX_HDR];

	KUNIT_EXPECT_EQ(test, 1000, msgmux_frame_decode(&f, buf, 4, &hdr));
	buf[3] = 0xe5;
	KUNIT_EXPECT_EQ(test, -EMSGSIZE, msgmux_frame_decode(&f, buf, 4,
							     &hdr));
	KUNIT_EXPECT_EQ(test, 4, msgmux_frame_encode(&f, 996, out));
	KUNIT_EXPECT_EQ(test, -EMSGSIZE, msgmux_frame_encode(&f, 997, out));
	/* A value the field cannot hold. */
	f = frame(1, 0, 0, 0);
	KUNIT_EXPECT_EQ(test, 1, msgmux_frame_encode(&f, 255, out));
	KUNIT_EXPECT_EQ(test, -EMSGSIZE, msgmux_frame_encode(&f, 256, out));
	/* An adjustment the payload cannot meet. */
	f = frame(4, 0, 10, 0);
	KUNIT_EXPECT_EQ(test, -EMSGSIZE, msgmux_frame_encode(&f, 9, out));
}

static const u32 msgmux_test_payloads[] = {
	0, 1, 100, 127, 128, 200, 255, 256, 16383, 16384, 65535, 65536,
	1 << 20,
};

/* encode() then decode() gives the header and length back. */
static void msgmux_frame_roundtrip(struct kunit *test, u8 size, u32 flags)
{
	struct msgmux_frame f = frame(size, flags, 0, 2 << 20);
	unsigned int k, hdr;
	u8 out[MSGMUX_MAX_HDR];
	u32 payload;
	int n, len;

	for (k = 0; k < ARRAY_SIZE(msgmux_test_payloads); k++) {
		payload = msgmux_test_payloads[k];
		f.len_offset = k % 3;
		n = msgmux_frame_encode(&f, payload, out);
		if (n < 0) {
			/* Only a fixed field too small may refuse. */
			KUNIT_EXPECT_NE(test, MSGMUX_LEN_VARINT, size);
			KUNIT_EXPECT_LT(test, size, 3);
			continue;
		}
		len = msgmux_frame_decode(&f, out, n, &hdr);
		KUNIT_EXPECT_EQ_MSG(test, n + payload, len,
				    "size %u flags %u payload %u", size, flags,
				    payload);
		KUNIT_EXPECT_EQ(test, n, hdr);
	}
}

static void msgmux_frame_roundtrip_test(struct kunit *test)
{
	static const u8 sizes[] = { 1, 2, 3, 4, 8, MSGMUX_LEN_VARINT };
	static const u32 flags[] = {
		0, MSGMUX_FRAMING_LITTLE_ENDIAN,
		MSGMUX_FRAMING_LEN_INCLUDES_HDR,
		MSGMUX_FRAMING_LEN_INCLUDES_HDR | MSGMUX_FRAMING_LITTLE_ENDIAN,
	};
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		for (j = 0; j < ARRAY_SIZE(flags); j++)
			msgmux_frame_roundtrip(test, sizes[i], flags[j]);
}

static struct kunit_case msgmux_frame_cases[] = {
	KUNIT_CASE(msgmux_frame_from_user_test),
	KUNIT_CASE(msgmux_frame_fixed_test),
	KUNIT_CASE(msgmux_frame_varint_test),
	KUNIT_CASE(msgmux_frame_adjust_test),
	KUNIT_CASE(msgmux_frame_max_test),
	KUNIT_CASE(msgmux_frame_roundtrip_test),
	{}
};

static struct kunit_suite msgmux_frame_suite = {
	.name = "msgmux_frame",
	.test_cases = msgmux_frame_cases,
};

kunit_test_suite(msgmux_frame_suite);

MODULE_DESCRIPTION("KUnit tests of msgmux's built-in framing");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
