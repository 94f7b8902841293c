/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for dataplane/rtp/rtcp.c: a compound SR + SDES + BYE, RR report blocks with negative
 * cumulative loss, generic NACK parse and build (wrap-around, duplicates, any order, a
 * randomized round trip against a sort-based reference), PLI, FIR, REMB (known vector,
 * smallest exponent, round trip, overflow), builders' exact bytes and -ENOSPC boundaries, and
 * malformed input: every prefix of every valid vector in a heap buffer of exactly that size
 * (so that a sanitizer sees any read past the end), bad version, length past the end, bad
 * padding, compounds not starting with a report, zero length, one-byte mutations.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rtcp.h"

/* A compound as a phone sends it: SR with one report block, SDES CNAME, BYE. */
static const uint8_t compound[] = {
	/* SR, RC 1, length 12 (52 bytes) */
	0x81, 0xc8, 0x00, 0x0c,
	0x12, 0x34, 0xab, 0xcd,				/* sender SSRC */
	0xe9, 0x4b, 0x5a, 0x6f, 0x80, 0x00, 0x00, 0x00,	/* NTP */
	0x00, 0x01, 0xf4, 0x00,				/* RTP ts 128000 */
	0x00, 0x00, 0x03, 0xe8,				/* 1000 packets */
	0x00, 0x02, 0x71, 0x00,				/* 160000 octets */
	0x56, 0x78, 0xef, 0x01,				/* RB: source */
	0x19, 0x00, 0x00, 0x2a,				/* 25/256 lost, 42 cumulative */
	0x00, 0x01, 0x10, 0x5c,				/* ext. highest seq */
	0x00, 0x00, 0x00, 0x7b,				/* jitter 123 */
	0x5a, 0x6e, 0x80, 0x00,				/* LSR */
	0x00, 0x01, 0x80, 0x00,				/* DLSR 1.5 s */
	/* SDES, SC 1, length 4 (20 bytes): CNAME "user@host" + 1 null */
	0x81, 0xca, 0x00, 0x04,
	0x12, 0x34, 0xab, 0xcd,
	0x01, 0x09, 'u', 's', 'e', 'r', '@', 'h', 'o', 's', 't', 0x00,
	/* BYE, SC 1, length 1 (8 bytes) */
	0x81, 0xcb, 0x00, 0x01,
	0x12, 0x34, 0xab, 0xcd,
};

/* RR with two report blocks, both cumulative losses negative. */
static const uint8_t rr2[] = {
	0x82, 0xc9, 0x00, 0x0d,
	0x56, 0x78, 0xef, 0x01,
	0x12, 0x34, 0xab, 0xcd, 0x00, 0xff, 0xff, 0xfe,	/* 0/256, -2 */
	0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x10,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x0a, 0x0b, 0x0c, 0x0d, 0xff, 0x80, 0x00, 0x00,	/* 255/256, -8388608 */
	0x00, 0x02, 0x00, 0x05, 0x00, 0x00, 0x01, 0x00,
	0x5a, 0x6f, 0x80, 0x00, 0x00, 0x00, 0x40, 0x00,
};

/* Generic NACK, three PID/BLP pairs, the second across the wrap. */
static const uint8_t nack3[] = {
	0x81, 0xcd, 0x00, 0x05,
	0x12, 0x34, 0xab, 0xcd, 0x56, 0x78, 0xef, 0x01,
	0x03, 0xe8, 0x00, 0x05,		/* 1000 + bits 0, 2: 1001, 1003 */
	0xff, 0xff, 0x80, 0x01,		/* 65535 + bits 0, 15: 0, 15 */
	0x00, 0x64, 0x00, 0x00,		/* 100 */
};
static const uint16_t nack3_seqs[] = { 1000, 1001, 1003, 65535, 0, 15, 100 };

static const uint8_t pli[] = {
	0x81, 0xce, 0x00, 0x02, 0x12, 0x34, 0xab, 0xcd, 0x56, 0x78, 0xef, 0x01,
};

/* FIR with two entries (RFC 5104 §4.3.1: media SSRC 0). */
static const uint8_t fir2[] = {
	0x84, 0xce, 0x00, 0x06, 0x12, 0x34, 0xab, 0xcd, 0x00, 0x00, 0x00, 0x00,
	0x56, 0x78, 0xef, 0x01, 0x07, 0x00, 0x00, 0x00,
	0x0a, 0x0b, 0x0c, 0x0d, 0xfe, 0x00, 0x00, 0x00,
};

/* REMB 1,000,000 bit/s = 250000 << 2 (exp 2, mantissa 0x3d090), one SSRC. */
static const uint8_t remb1m[] = {
	0x8f, 0xce, 0x00, 0x05, 0x12, 0x34, 0xab, 0xcd, 0x00, 0x00, 0x00, 0x00,
	'R', 'E', 'M', 'B', 0x01, 0x0b, 0xd0, 0x90, 0x56, 0x78, 0xef, 0x01,
};

/* First packet of buf, which must be valid. */
static struct mr_rtcp_hdr
first(const uint8_t *buf, size_t len)
{
	struct mr_rtcp_hdr h;
	size_t off = 0;

	assert_int_equal(mr_rtcp_next(buf, len, &off, &h), 1);
	return h;
}

static uint8_t *
heap_copy(const uint8_t *src, size_t len)
{
	uint8_t *b = malloc(len ? len : 1);

	assert_non_null(b);
	memcpy(b, src, len);
	return b;
}

static void
test_compound(void **state)
{
	struct mr_rtcp_hdr h;
	struct mr_rtcp_sr sr;
	struct mr_rtcp_rb rb;
	uint32_t media;
	size_t off = 0;

	(void)state;
	assert_int_equal(mr_rtcp_validate(compound, sizeof(compound)), 0);

	assert_int_equal(mr_rtcp_next(compound, sizeof(compound), &off, &h), 1);
	assert_int_equal(h.type, MR_RTCP_SR);
	assert_int_equal(h.count, 1);
	assert_int_equal(h.padding, 0);
	assert_int_equal(h.len, 52);
	assert_int_equal(h.ssrc, 0x1234abcd);
	assert_ptr_equal(h.p, compound);
	assert_int_equal(off, 52);
	assert_int_equal(mr_rtcp_sr_parse(&h, &sr), 0);
	assert_int_equal(sr.ssrc, 0x1234abcd);
	assert_true(sr.ntp == 0xe94b5a6f80000000ull);
	assert_int_equal(sr.rtp_ts, 128000);
	assert_int_equal(sr.pkt_count, 1000);
	assert_int_equal(sr.octet_count, 160000);
	assert_int_equal(mr_rtcp_rb_parse(&h, 0, &rb), 0);
	assert_int_equal(rb.ssrc, 0x5678ef01);
	assert_int_equal(rb.fraction_lost, 25);
	assert_int_equal(rb.cum_lost, 42);
	assert_int_equal(rb.ext_high_seq, 0x0001105c);
	assert_int_equal(rb.jitter, 123);
	assert_int_equal(rb.lsr, 0x5a6e8000);
	assert_int_equal(rb.dlsr, 0x00018000);
	assert_int_equal(mr_rtcp_rb_parse(&h, 1, &rb), -EINVAL);
	assert_int_equal(mr_rtcp_fb_media_ssrc(&h, &media), -EINVAL);
	assert_int_equal(mr_rtcp_nack_parse(&h, NULL, 0), -EINVAL);

	assert_int_equal(mr_rtcp_next(compound, sizeof(compound), &off, &h), 1);
	assert_int_equal(h.type, MR_RTCP_SDES);
	assert_int_equal(h.count, 1);
	assert_int_equal(h.len, 20);
	assert_int_equal(h.ssrc, 0x1234abcd);
	assert_ptr_equal(h.p, compound + 52);
	assert_int_equal(mr_rtcp_sr_parse(&h, &sr), -EINVAL);
	assert_int_equal(mr_rtcp_rb_parse(&h, 0, &rb), -EINVAL);

	assert_int_equal(mr_rtcp_next(compound, sizeof(compound), &off, &h), 1);
	assert_int_equal(h.type, MR_RTCP_BYE);
	assert_int_equal(h.count, 1);
	assert_int_equal(h.len, 8);
	assert_int_equal(h.ssrc, 0x1234abcd);
	assert_int_equal(off, 80);
	assert_int_equal(mr_rtcp_next(compound, sizeof(compound), &off, &h), 0);
	assert_int_equal(mr_rtcp_next(compound, sizeof(compound), &off, &h), 0);
	assert_int_equal(off, 80);
}

static void
test_build_compound(void **state)
{
	const struct mr_rtcp_sr sr = { 0x1234abcd, 0xe94b5a6f80000000ull, 128000, 1000, 160000 };
	const struct mr_rtcp_rb rb = { 0x5678ef01, 25, 42, 0x0001105c, 123, 0x5a6e8000,
				       0x00018000 };
	const uint32_t ssrc = 0x1234abcd;
	uint8_t buf[128];
	int n = 0, rc;

	(void)state;
	memset(buf, 0xee, sizeof(buf));
	rc = mr_rtcp_build_sr(buf, sizeof(buf), &sr, &rb, 1);
	assert_int_equal(rc, 52);
	n += rc;
	rc = mr_rtcp_build_sdes_cname(buf + n, sizeof(buf) - n, 0x1234abcd, "user@host");
	assert_int_equal(rc, 20);
	n += rc;
	rc = mr_rtcp_build_bye(buf + n, sizeof(buf) - n, &ssrc, 1);
	assert_int_equal(rc, 8);
	n += rc;
	assert_int_equal(n, sizeof(compound));
	assert_memory_equal(buf, compound, sizeof(compound));
	assert_int_equal(buf[80], 0xee);

	/* -ENOSPC one byte short, and nothing past cap touched. */
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(mr_rtcp_build_sr(buf, 51, &sr, &rb, 1), -ENOSPC);
	assert_int_equal(mr_rtcp_build_sdes_cname(buf, 19, 1, "user@host"), -ENOSPC);
	assert_int_equal(mr_rtcp_build_bye(buf, 7, &ssrc, 1), -ENOSPC);
	assert_int_equal(buf[0], 0xee);
	assert_int_equal(mr_rtcp_build_sr(buf, 52, &sr, &rb, 1), 52);
	assert_int_equal(mr_rtcp_build_sr(buf, 28, &sr, NULL, 0), 28);
	assert_int_equal(buf[0], 0x80);
	assert_int_equal(buf[3], 6);
	/* Invalid arguments. */
	assert_int_equal(mr_rtcp_build_sr(buf, sizeof(buf), NULL, NULL, 0), -EINVAL);
	assert_int_equal(mr_rtcp_build_sr(buf, sizeof(buf), &sr, NULL, 1), -EINVAL);
	assert_int_equal(mr_rtcp_build_sr(buf, 4096, &sr, &rb, 32), -EINVAL);
	assert_int_equal(mr_rtcp_build_bye(buf, sizeof(buf), NULL, 1), -EINVAL);
	assert_int_equal(mr_rtcp_build_bye(buf, sizeof(buf), &ssrc, 32), -EINVAL);
	assert_int_equal(mr_rtcp_build_sdes_cname(buf, sizeof(buf), 1, NULL), -EINVAL);
	assert_int_equal(mr_rtcp_build_sdes_cname(NULL, sizeof(buf), 1, "x"), -EINVAL);
	/* BYE with no SSRC is valid (RFC 3550 §6.6). */
	assert_int_equal(mr_rtcp_build_bye(buf, sizeof(buf), NULL, 0), 4);
	assert_memory_equal(buf, ((const uint8_t[]){ 0x80, 0xcb, 0x00, 0x00 }), 4);
}

static void
test_sdes_padding(void **state)
{
	static const uint8_t empty[] = {
		0x81, 0xca, 0x00, 0x02, 0, 0, 0, 7, 0x01, 0x00, 0x00, 0x00,
	};
	static const uint8_t two[] = {
		0x81, 0xca, 0x00, 0x03, 0, 0, 0, 7, 0x01, 0x02, 'a', 'b', 0, 0, 0, 0,
	};
	char name[300];
	uint8_t buf[300];
	struct mr_rtcp_hdr h;

	(void)state;
	/* The item list ends with 1..4 null octets up to a word boundary (RFC 3550 §6.5). */
	assert_int_equal(mr_rtcp_build_sdes_cname(buf, sizeof(buf), 7, ""), 12);
	assert_memory_equal(buf, empty, sizeof(empty));
	assert_int_equal(mr_rtcp_build_sdes_cname(buf, sizeof(buf), 7, "ab"), 16);
	assert_memory_equal(buf, two, sizeof(two));
	memset(name, 'x', 255);
	name[255] = 0;
	assert_int_equal(mr_rtcp_build_sdes_cname(buf, sizeof(buf), 7, name), 268);
	assert_int_equal(buf[3], 66);
	assert_int_equal(buf[9], 255);
	assert_int_equal(buf[264], 'x');
	assert_int_equal(buf[265] | buf[266] | buf[267], 0);
	h = first(buf, 268);
	assert_int_equal(h.len, 268);
	assert_int_equal(mr_rtcp_build_sdes_cname(buf, 267, 7, name), -ENOSPC);
	name[255] = 'x';
	name[256] = 0;
	assert_int_equal(mr_rtcp_build_sdes_cname(buf, sizeof(buf), 7, name), -EINVAL);
}

static void
test_rr_blocks(void **state)
{
	struct mr_rtcp_rb rb[2];
	struct mr_rtcp_sr sr;
	struct mr_rtcp_hdr h;
	uint8_t buf[64];

	(void)state;
	assert_int_equal(mr_rtcp_validate(rr2, sizeof(rr2)), 0);
	h = first(rr2, sizeof(rr2));
	assert_int_equal(h.type, MR_RTCP_RR);
	assert_int_equal(h.count, 2);
	assert_int_equal(h.len, 56);
	assert_int_equal(h.ssrc, 0x5678ef01);
	assert_int_equal(mr_rtcp_sr_parse(&h, &sr), -EINVAL);
	assert_int_equal(mr_rtcp_rb_parse(&h, 0, &rb[0]), 0);
	assert_int_equal(rb[0].ssrc, 0x1234abcd);
	assert_int_equal(rb[0].fraction_lost, 0);
	assert_int_equal(rb[0].cum_lost, -2);
	assert_int_equal(rb[0].ext_high_seq, 0xffff);
	assert_int_equal(rb[0].jitter, 16);
	assert_int_equal(rb[0].lsr, 0);
	assert_int_equal(rb[0].dlsr, 0);
	assert_int_equal(mr_rtcp_rb_parse(&h, 1, &rb[1]), 0);
	assert_int_equal(rb[1].ssrc, 0x0a0b0c0d);
	assert_int_equal(rb[1].fraction_lost, 255);
	assert_int_equal(rb[1].cum_lost, -8388608);
	assert_int_equal(rb[1].ext_high_seq, 0x00020005);
	assert_int_equal(rb[1].jitter, 256);
	assert_int_equal(rb[1].lsr, 0x5a6f8000);
	assert_int_equal(rb[1].dlsr, 0x4000);
	assert_int_equal(mr_rtcp_rb_parse(&h, 2, &rb[1]), -EINVAL);
	assert_int_equal(mr_rtcp_rb_parse(&h, 0, NULL), -EINVAL);
	assert_int_equal(mr_rtcp_rb_parse(NULL, 0, &rb[1]), -EINVAL);

	/* Build gives the same bytes back. */
	assert_int_equal(mr_rtcp_build_rr(buf, sizeof(buf), 0x5678ef01, rb, 2), 56);
	assert_memory_equal(buf, rr2, sizeof(rr2));
	assert_int_equal(mr_rtcp_build_rr(buf, 55, 0x5678ef01, rb, 2), -ENOSPC);
	assert_int_equal(mr_rtcp_build_rr(buf, sizeof(buf), 1, NULL, 1), -EINVAL);
	assert_int_equal(mr_rtcp_build_rr(buf, 8, 0x01020304, NULL, 0), 8);
	assert_memory_equal(buf, ((const uint8_t[]){ 0x80, 0xc9, 0, 1, 1, 2, 3, 4 }), 8);

	/* Cumulative loss out of 24-bit range is clamped (RFC 3550 A.3), not wrapped. */
	rb[0].cum_lost = 0x1000000;
	rb[1].cum_lost = -0x1000001;
	assert_int_equal(mr_rtcp_build_rr(buf, sizeof(buf), 1, rb, 2), 56);
	h = first(buf, 56);
	assert_int_equal(mr_rtcp_rb_parse(&h, 0, &rb[0]), 0);
	assert_int_equal(rb[0].cum_lost, 0x7fffff);
	assert_int_equal(mr_rtcp_rb_parse(&h, 1, &rb[1]), 0);
	assert_int_equal(rb[1].cum_lost, -0x800000);
}

/* The RC field claims more blocks than the length holds. */
static void
test_count_lies(void **state)
{
	uint8_t b[sizeof(compound)];
	struct mr_rtcp_sr sr;
	struct mr_rtcp_rb rb;
	struct mr_rtcp_hdr h;

	(void)state;
	memcpy(b, compound, sizeof(b));
	b[0] = 0x82;		/* RC 2 in a 52-byte SR */
	h = first(b, sizeof(b));
	assert_int_equal(mr_rtcp_sr_parse(&h, &sr), -EINVAL);
	assert_int_equal(mr_rtcp_rb_parse(&h, 0, &rb), 0);	/* the block that is there */
	assert_int_equal(rb.cum_lost, 42);
	assert_int_equal(mr_rtcp_rb_parse(&h, 1, &rb), -EINVAL);
	/* An SR too short for its sender info (length 1: 8 bytes). */
	b[0] = 0x80;
	b[3] = 1;
	h = first(b, 8);
	assert_int_equal(mr_rtcp_sr_parse(&h, &sr), -EINVAL);
	/* A header-only packet (length 0): valid framing, SSRC 0. */
	b[1] = MR_RTCP_RR;
	b[3] = 0;
	assert_int_equal(mr_rtcp_validate(b, 4), 0);
	h = first(b, 4);
	assert_int_equal(h.len, 4);
	assert_int_equal(h.ssrc, 0);
	assert_int_equal(mr_rtcp_rb_parse(&h, 0, &rb), -EINVAL);
}

static void
test_nack_parse(void **state)
{
	uint16_t seqs[10];
	uint8_t b[sizeof(nack3) + 4];
	struct mr_rtcp_hdr h;
	uint32_t media = 0;
	int i;

	(void)state;
	assert_int_equal(mr_rtcp_validate(nack3, sizeof(nack3)), 0);	/* RFC 5506 */
	h = first(nack3, sizeof(nack3));
	assert_int_equal(h.type, MR_RTCP_RTPFB);
	assert_int_equal(h.count, MR_RTCP_FMT_NACK);
	assert_int_equal(h.ssrc, 0x1234abcd);
	assert_int_equal(mr_rtcp_fb_media_ssrc(&h, &media), 0);
	assert_int_equal(media, 0x5678ef01);
	memset(seqs, 0xab, sizeof(seqs));
	assert_int_equal(mr_rtcp_nack_parse(&h, seqs, 10), 7);
	assert_memory_equal(seqs, nack3_seqs, sizeof(nack3_seqs));
	assert_int_equal(seqs[7], 0xabab);
	/* max smaller than the count: the first max written, the full count returned. */
	memset(seqs, 0xab, sizeof(seqs));
	assert_int_equal(mr_rtcp_nack_parse(&h, seqs, 3), 7);
	assert_memory_equal(seqs, nack3_seqs, 3 * sizeof(uint16_t));
	assert_int_equal(seqs[3], 0xabab);
	assert_int_equal(mr_rtcp_nack_parse(&h, NULL, 0), 7);
	assert_int_equal(mr_rtcp_nack_parse(&h, NULL, 1), -EINVAL);
	/* Every BLP bit set: 17 numbers from one pair. */
	memcpy(b, nack3, sizeof(nack3));
	b[14] = 0xff;
	b[15] = 0xff;
	h = first(b, sizeof(nack3));
	assert_int_equal(mr_rtcp_nack_parse(&h, seqs, 10), 17 + 3 + 1);
	for (i = 0; i < 10; i++)
		assert_int_equal(seqs[i], 1000 + i);

	/* With a padding word: padding is not read as an FCI entry. */
	memcpy(b, nack3, sizeof(nack3));
	b[0] |= 0x20;
	b[3] = 6;
	memcpy(b + sizeof(nack3), ((const uint8_t[]){ 0x12, 0x34, 0x00, 0x04 }), 4);
	assert_int_equal(mr_rtcp_validate(b, sizeof(b)), 0);
	h = first(b, sizeof(b));
	assert_int_equal(h.padding, 1);
	assert_int_equal(h.len, 28);
	assert_int_equal(mr_rtcp_nack_parse(&h, seqs, 10), 7);
	assert_memory_equal(seqs, nack3_seqs, sizeof(nack3_seqs));
	/* Padding of 2 bytes leaves a partial entry: malformed. */
	b[27] = 2;
	h = first(b, sizeof(b));
	assert_int_equal(mr_rtcp_nack_parse(&h, seqs, 10), -EINVAL);

	/* No FCI at all, and the wrong packet type/FMT. */
	h = first(pli, sizeof(pli));
	assert_int_equal(mr_rtcp_nack_parse(&h, seqs, 10), -EINVAL);	/* PSFB */
	memcpy(b, pli, sizeof(pli));
	b[1] = MR_RTCP_RTPFB;
	h = first(b, sizeof(pli));
	assert_int_equal(mr_rtcp_nack_parse(&h, seqs, 10), -EINVAL);	/* empty NACK */
	memcpy(b, nack3, sizeof(nack3));
	b[0] = 0x8f;							/* TCC */
	h = first(b, sizeof(nack3));
	assert_int_equal(mr_rtcp_nack_parse(&h, seqs, 10), -EINVAL);
	assert_int_equal(mr_rtcp_nack_parse(NULL, seqs, 10), -EINVAL);
}

static void
test_nack_build_wrap(void **state)
{
	static const uint8_t want[] = {
		0x81, 0xcd, 0x00, 0x05, 0x12, 0x34, 0xab, 0xcd, 0x56, 0x78, 0xef, 0x01,
		0xff, 0xfe, 0x00, 0x07,		/* 65534 + 65535, 0, 1 */
		0x00, 0x11, 0x00, 0x00,		/* 17 (19 after 65534: out of the BLP) */
		0x00, 0x28, 0x00, 0x00,		/* 40 */
	};
	const uint16_t in[] = { 65534, 65535, 0, 1, 17, 40 };
	const uint16_t shuffled[] = { 1, 40, 65535, 0, 17, 65534, 0, 1, 40 };
	uint16_t seqs[8];
	uint8_t buf[64];
	struct mr_rtcp_hdr h;

	(void)state;
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(mr_rtcp_build_nack(buf, sizeof(buf), 0x1234abcd, 0x5678ef01, in, 6), 24);
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(buf[24], 0xee);
	/* Any order, duplicates: the same packet. */
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(mr_rtcp_build_nack(buf, sizeof(buf), 0x1234abcd, 0x5678ef01,
					    shuffled, 9), 24);
	assert_memory_equal(buf, want, sizeof(want));
	/* And it parses back to the input, in sending order. */
	h = first(buf, 24);
	assert_int_equal(mr_rtcp_nack_parse(&h, seqs, 8), 6);
	assert_memory_equal(seqs, in, sizeof(in));
	/* -ENOSPC at one byte short; 12 bytes cannot even hold the header. */
	assert_int_equal(mr_rtcp_build_nack(buf, 23, 1, 2, in, 6), -ENOSPC);
	assert_int_equal(mr_rtcp_build_nack(buf, 11, 1, 2, in, 1), -ENOSPC);
	assert_int_equal(mr_rtcp_build_nack(buf, 16, 1, 2, in, 1), 16);
	assert_int_equal(mr_rtcp_build_nack(buf, sizeof(buf), 1, 2, in, 0), -EINVAL);
	assert_int_equal(mr_rtcp_build_nack(buf, sizeof(buf), 1, 2, NULL, 3), -EINVAL);
}

static void
test_nack_build_runs(void **state)
{
	static const uint8_t want[] = {
		0x81, 0xcd, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 2,
		0x00, 0x64, 0xff, 0xff,		/* 100..116 */
		0x00, 0x75, 0x00, 0x01,		/* 117, 118 */
	};
	uint16_t in[19];
	uint8_t buf[64];
	int i;

	(void)state;
	for (i = 0; i < 19; i++)
		in[i] = (uint16_t)(118 - i);	/* descending */
	assert_int_equal(mr_rtcp_build_nack(buf, sizeof(buf), 1, 2, in, 19), 20);
	assert_memory_equal(buf, want, sizeof(want));
}

/* A set wider than the bitmap (8192 numbers) is packed too, across the wrap. */
static void
test_nack_build_wide(void **state)
{
	static const uint8_t want[] = {
		0x81, 0xcd, 0x00, 0x06, 0, 0, 0, 1, 0, 0, 0, 2,
		0xff, 0xf0, 0x00, 0x00,		/* 65520 */
		0x00, 0x05, 0x80, 0x00,		/* 5, 21 */
		0x27, 0x15, 0x00, 0x00,		/* 10005 */
		0x4e, 0x25, 0x00, 0x01,		/* 20005, 20006 */
	};
	const uint16_t in[] = { 20005, 5, 65520, 10005, 21, 20006, 5 };
	uint8_t buf[64];

	(void)state;
	assert_int_equal(mr_rtcp_build_nack(buf, sizeof(buf), 1, 2, in, 7), 28);
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(mr_rtcp_build_nack(buf, 27, 1, 2, in, 7), -ENOSPC);
	/* Exactly 8192 apart (bitmap span 8193: selection) and 8191 (bitmap). */
	{
		const uint16_t a[] = { 100, 100 + 8192 }, b[] = { 100, 100 + 8191 };

		assert_int_equal(mr_rtcp_build_nack(buf, sizeof(buf), 1, 2, a, 2), 20);
		assert_memory_equal(buf + 12, ((const uint8_t[]){ 0, 100, 0, 0, 0x20, 100, 0, 0 }),
				    8);
		assert_int_equal(mr_rtcp_build_nack(buf, sizeof(buf), 1, 2, b, 2), 20);
		assert_memory_equal(buf + 12, ((const uint8_t[]){ 0, 100, 0, 0, 0x20, 99, 0, 0 }),
				    8);
	}
}

/* Reference packing for the randomized test: sort by distance from ref, dedup, greedy. */
static int
ref_pairs(const uint16_t *in, unsigned int n, uint16_t *pid, uint16_t *blp)
{
	uint32_t keys[600];
	unsigned int i, j, m = 0;
	int pairs = 0;

	for (i = 0; i < n; i++)
		keys[i] = (uint16_t)(in[i] - in[0] + 0x8000);
	for (i = 1; i < n; i++)		/* insertion sort */
		for (j = i; j > 0 && keys[j - 1] > keys[j]; j--) {
			uint32_t t = keys[j];

			keys[j] = keys[j - 1];
			keys[j - 1] = t;
		}
	while (m < n) {
		uint32_t base = keys[m];

		pid[pairs] = (uint16_t)(base - 0x8000 + in[0]);
		blp[pairs] = 0;
		for (m++; m < n && keys[m] <= base + 16; m++)
			if (keys[m] != base)
				blp[pairs] |= (uint16_t)(1u << (keys[m] - base - 1));
		pairs++;
	}
	return pairs;
}

static void
test_nack_random(void **state)
{
	uint32_t rng = 12345;
	uint16_t in[600], pid[600], blp[600];
	uint8_t buf[12 + 600 * 4];
	int round;

	(void)state;
	for (round = 0; round < 400; round++) {
		unsigned int n, i, span, base;
		int pairs, len;

		rng = rng * 1103515245u + 12345u;
		n = 1 + (rng >> 8) % 600;
		rng = rng * 1103515245u + 12345u;
		/* Mostly loss windows (bitmap path), every third one wider than 8192 numbers
		 * (selection path). */
		span = 1 + (rng >> 8) % (round % 3 == 2 ? 40000 : 3000);
		rng = rng * 1103515245u + 12345u;
		base = (rng >> 8) & 0xffff;	/* often near the wrap */
		for (i = 0; i < n; i++) {
			rng = rng * 1103515245u + 12345u;
			in[i] = (uint16_t)(base + (rng >> 8) % span);
		}
		pairs = ref_pairs(in, n, pid, blp);
		len = mr_rtcp_build_nack(buf, sizeof(buf), 7, 9, in, n);
		assert_int_equal(len, 12 + 4 * pairs);
		assert_int_equal(buf[2] << 8 | buf[3], len / 4 - 1);
		for (i = 0; i < (unsigned int)pairs; i++) {
			assert_int_equal(buf[12 + 4 * i] << 8 | buf[13 + 4 * i], pid[i]);
			assert_int_equal(buf[14 + 4 * i] << 8 | buf[15 + 4 * i], blp[i]);
		}
	}
}

static void
test_pli_fir(void **state)
{
	static const uint8_t fir_want[] = {
		0x84, 0xce, 0x00, 0x04, 0x12, 0x34, 0xab, 0xcd, 0x00, 0x00, 0x00, 0x00,
		0x56, 0x78, 0xef, 0x01, 0x07, 0x00, 0x00, 0x00,
	};
	struct mr_rtcp_hdr h;
	uint8_t buf[32];
	uint32_t ssrc = 0, media = 0;
	uint8_t seq = 0;

	(void)state;
	assert_int_equal(mr_rtcp_build_pli(buf, sizeof(buf), 0x1234abcd, 0x5678ef01), 12);
	assert_memory_equal(buf, pli, sizeof(pli));
	assert_int_equal(mr_rtcp_build_pli(buf, 11, 1, 2), -ENOSPC);
	assert_int_equal(mr_rtcp_validate(pli, sizeof(pli)), 0);
	h = first(pli, sizeof(pli));
	assert_int_equal(h.type, MR_RTCP_PSFB);
	assert_int_equal(h.count, MR_RTCP_FMT_PLI);
	assert_int_equal(mr_rtcp_fb_media_ssrc(&h, &media), 0);
	assert_int_equal(media, 0x5678ef01);
	assert_int_equal(mr_rtcp_fir_parse(&h, 0, &ssrc, &seq), -EINVAL);

	assert_int_equal(mr_rtcp_build_fir(buf, sizeof(buf), 0x1234abcd, 0x5678ef01, 7), 20);
	assert_memory_equal(buf, fir_want, sizeof(fir_want));
	assert_int_equal(mr_rtcp_build_fir(buf, 19, 1, 2, 3), -ENOSPC);

	assert_int_equal(mr_rtcp_validate(fir2, sizeof(fir2)), 0);
	h = first(fir2, sizeof(fir2));
	assert_int_equal(mr_rtcp_fir_parse(&h, 0, &ssrc, &seq), 0);
	assert_int_equal(ssrc, 0x5678ef01);
	assert_int_equal(seq, 7);
	assert_int_equal(mr_rtcp_fir_parse(&h, 1, &ssrc, &seq), 0);
	assert_int_equal(ssrc, 0x0a0b0c0d);
	assert_int_equal(seq, 0xfe);
	assert_int_equal(mr_rtcp_fir_parse(&h, 2, &ssrc, &seq), -EINVAL);
	assert_int_equal(mr_rtcp_fir_parse(&h, 0, NULL, &seq), -EINVAL);
	assert_int_equal(mr_rtcp_fb_media_ssrc(&h, &media), 0);
	assert_int_equal(media, 0);
}

static void
test_remb(void **state)
{
	static const uint8_t two[] = {
		0x8f, 0xce, 0x00, 0x06, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
		'R', 'E', 'M', 'B', 0x02, 0x12, 0x62, 0x5a,	/* 2.5 Mbit/s: 156250 << 4 */
		0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22,
	};
	const uint32_t ssrc1 = 0x5678ef01, ssrc2[] = { 0x11111111, 0x22222222 };
	uint32_t out[3] = { 0, 0, 0xdead };
	uint64_t br = 0;
	struct mr_rtcp_hdr h;
	uint8_t buf[64];

	(void)state;
	assert_int_equal(mr_rtcp_build_remb(buf, sizeof(buf), 0x1234abcd, 1000000, &ssrc1, 1),
			 24);
	assert_memory_equal(buf, remb1m, sizeof(remb1m));
	assert_int_equal(mr_rtcp_validate(remb1m, sizeof(remb1m)), 0);
	h = first(remb1m, sizeof(remb1m));
	assert_int_equal(mr_rtcp_remb_parse(&h, &br, out, 3), 1);
	assert_true(br == 1000000);
	assert_int_equal(out[0], 0x5678ef01);
	assert_int_equal(out[2], 0xdead);

	assert_int_equal(mr_rtcp_build_remb(buf, sizeof(buf), 1, 2500000, ssrc2, 2), 28);
	assert_memory_equal(buf, two, sizeof(two));
	h = first(two, sizeof(two));
	out[0] = out[1] = 0;
	/* max 1: one SSRC written, the count of all returned. */
	assert_int_equal(mr_rtcp_remb_parse(&h, &br, out, 1), 2);
	assert_true(br == 2500000);
	assert_int_equal(out[0], 0x11111111);
	assert_int_equal(out[1], 0);
	assert_int_equal(mr_rtcp_remb_parse(&h, &br, NULL, 0), 2);
	assert_int_equal(mr_rtcp_remb_parse(&h, &br, NULL, 1), -EINVAL);
	assert_int_equal(mr_rtcp_remb_parse(&h, NULL, out, 3), -EINVAL);

	assert_int_equal(mr_rtcp_build_remb(buf, 27, 1, 2500000, ssrc2, 2), -ENOSPC);
	assert_int_equal(mr_rtcp_build_remb(buf, sizeof(buf), 1, 5, NULL, 1), -EINVAL);
	assert_int_equal(mr_rtcp_build_remb(buf, 4096, 1, 5, ssrc2, 256), -EINVAL);
	/* Zero SSRCs is allowed. */
	assert_int_equal(mr_rtcp_build_remb(buf, sizeof(buf), 1, 0, NULL, 0), 20);
	assert_memory_equal(buf + 12, ((const uint8_t[]){ 'R', 'E', 'M', 'B', 0, 0, 0, 0 }), 8);
}

/* The smallest exponent that fits 18 bits, at the boundaries; the round trip never exceeds the
 * input and loses less than one unit of the exponent. */
static void
test_remb_exponent(void **state)
{
	static const struct {
		uint64_t in;
		uint8_t b17, b18, b19;
		uint64_t out;
	} v[] = {
		{ 0, 0x00, 0x00, 0x00, 0 },
		{ 1, 0x00, 0x00, 0x01, 1 },
		{ 262143, 0x03, 0xff, 0xff, 262143 },
		{ 262144, 0x06, 0x00, 0x00, 262144 },		/* exp 1, mantissa 0x20000 */
		{ 262145, 0x06, 0x00, 0x00, 262144 },		/* truncated */
		{ 524287, 0x07, 0xff, 0xff, 524286 },
		{ 524288, 0x0a, 0x00, 0x00, 524288 },		/* exp 2 */
		{ UINT64_MAX, 0xbb, 0xff, 0xff, 0x3ffffull << 46 },	/* exp 46 */
	};
	uint64_t br, x;
	struct mr_rtcp_hdr h;
	uint8_t buf[32];
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(mr_rtcp_build_remb(buf, sizeof(buf), 1, v[i].in, NULL, 0), 20);
		assert_int_equal(buf[17], v[i].b17);
		assert_int_equal(buf[18], v[i].b18);
		assert_int_equal(buf[19], v[i].b19);
		h = first(buf, 20);
		assert_int_equal(mr_rtcp_remb_parse(&h, &br, NULL, 0), 0);
		assert_true(br == v[i].out);
	}
	for (x = 1; x != 0 && x < UINT64_MAX / 3; x = x * 3 + 1) {
		unsigned int exp;
		uint64_t mant;

		assert_int_equal(mr_rtcp_build_remb(buf, sizeof(buf), 1, x, NULL, 0), 20);
		exp = buf[17] >> 2;
		mant = (uint64_t)(buf[17] & 3) << 16 | buf[18] << 8 | buf[19];
		assert_true(exp == 0 || mant >= 0x20000);	/* smallest exponent */
		h = first(buf, 20);
		assert_int_equal(mr_rtcp_remb_parse(&h, &br, NULL, 0), 0);
		assert_true(br <= x);
		assert_true(x - br < (1ull << exp));
	}
}

static void
test_remb_malformed(void **state)
{
	uint8_t b[sizeof(remb1m)];
	struct mr_rtcp_hdr h;
	uint64_t br = 0;
	uint32_t out[4];

	(void)state;
	/* Wrong identifier. */
	memcpy(b, remb1m, sizeof(b));
	b[15] = 'X';
	h = first(b, sizeof(b));
	assert_int_equal(mr_rtcp_remb_parse(&h, &br, out, 4), -EINVAL);
	/* Num SSRC larger than the packet holds. */
	memcpy(b, remb1m, sizeof(b));
	b[16] = 2;
	h = first(b, sizeof(b));
	assert_int_equal(mr_rtcp_remb_parse(&h, &br, out, 4), -EINVAL);
	/* Wrong FMT or PT. */
	memcpy(b, remb1m, sizeof(b));
	b[0] = 0x81;
	h = first(b, sizeof(b));
	assert_int_equal(mr_rtcp_remb_parse(&h, &br, out, 4), -EINVAL);
	memcpy(b, remb1m, sizeof(b));
	b[1] = MR_RTCP_RTPFB;
	h = first(b, sizeof(b));
	assert_int_equal(mr_rtcp_remb_parse(&h, &br, out, 4), -EINVAL);
	/* Too short for the REMB fields (length 3: 16 bytes). */
	memcpy(b, remb1m, sizeof(b));
	b[3] = 3;
	h = first(b, 16);
	assert_int_equal(mr_rtcp_remb_parse(&h, &br, out, 4), -EINVAL);
	/* Exponent 63: mantissa 1 is 2^63, mantissa 2 overflows 64 bits. */
	memcpy(b, remb1m, sizeof(b));
	b[16] = 0;
	b[17] = 63 << 2;
	b[18] = 0;
	b[19] = 1;
	h = first(b, sizeof(b));
	assert_int_equal(mr_rtcp_remb_parse(&h, &br, out, 4), 0);
	assert_true(br == 1ull << 63);
	b[19] = 2;
	assert_int_equal(mr_rtcp_remb_parse(&h, &br, out, 4), -EINVAL);
	/* Exponent 47, full mantissa: overflows too; exponent 46 does not. */
	b[17] = 47 << 2 | 3;
	b[18] = 0xff;
	b[19] = 0xff;
	assert_int_equal(mr_rtcp_remb_parse(&h, &br, out, 4), -EINVAL);
	b[17] = 46 << 2 | 3;
	assert_int_equal(mr_rtcp_remb_parse(&h, &br, out, 4), 0);
	assert_true(br == 0x3ffffull << 46);
}

static void
test_validate(void **state)
{
	uint8_t b[128];
	struct mr_rtcp_hdr h;
	size_t off;

	(void)state;
	/* Zero length, NULL. */
	assert_int_equal(mr_rtcp_validate(compound, 0), -EINVAL);
	assert_int_equal(mr_rtcp_validate(NULL, 80), -EINVAL);
	off = 0;
	assert_int_equal(mr_rtcp_next(compound, 0, &off, &h), 0);
	assert_int_equal(mr_rtcp_next(NULL, 80, &off, &h), -EINVAL);

	/* Bad version in the first packet, then in the last one. */
	memcpy(b, compound, sizeof(compound));
	b[0] = 0x41;
	assert_int_equal(mr_rtcp_validate(b, sizeof(compound)), -EINVAL);
	off = 0;
	assert_int_equal(mr_rtcp_next(b, sizeof(compound), &off, &h), -EINVAL);
	assert_int_equal(off, 0);
	b[0] = 0xc1;
	assert_int_equal(mr_rtcp_validate(b, sizeof(compound)), -EINVAL);
	memcpy(b, compound, sizeof(compound));
	b[72] = 0x01;
	assert_int_equal(mr_rtcp_validate(b, sizeof(compound)), -EINVAL);

	/* Length field past the end, and short of it (2 trailing bytes). */
	memcpy(b, compound, sizeof(compound));
	b[75] = 2;		/* BYE claims 12 bytes, 8 remain */
	assert_int_equal(mr_rtcp_validate(b, sizeof(compound)), -EINVAL);
	b[75] = 1;
	b[80] = 0x81;
	b[81] = 0xcb;
	assert_int_equal(mr_rtcp_validate(b, sizeof(compound) + 2), -EINVAL);
	assert_int_equal(mr_rtcp_validate(b, sizeof(compound) + 3), -EINVAL);
	memcpy(b, compound, sizeof(compound));
	b[3] = 0xff;		/* SR claims 1024 bytes */
	assert_int_equal(mr_rtcp_validate(b, sizeof(compound)), -EINVAL);
	b[2] = 0xff;		/* 262144 bytes: more than a datagram */
	assert_int_equal(mr_rtcp_validate(b, sizeof(compound)), -EINVAL);

	/* The largest packet whose length a datagram (and h->len) can hold is 65532 bytes. */
	{
		uint8_t *big = calloc(1, 65536);

		assert_non_null(big);
		big[0] = 0x80;
		big[1] = MR_RTCP_RR;
		big[2] = 0x3f;
		big[3] = 0xfe;
		assert_int_equal(mr_rtcp_validate(big, 65532), 0);
		off = 0;
		assert_int_equal(mr_rtcp_next(big, 65536, &off, &h), 1);
		assert_int_equal(h.len, 65532);
		big[3] = 0xff;
		off = 0;
		assert_int_equal(mr_rtcp_next(big, 65536, &off, &h), -EINVAL);
		assert_int_equal(mr_rtcp_validate(big, 65536), -EINVAL);
		free(big);
	}

	/* Padding on a packet that is not the last: refused even with a sane count. */
	memcpy(b, compound, sizeof(compound));
	b[0] |= 0x20;
	b[51] = 4;
	off = 0;
	assert_int_equal(mr_rtcp_next(b, sizeof(compound), &off, &h), 1);
	assert_int_equal(h.padding, 1);
	assert_int_equal(mr_rtcp_validate(b, sizeof(compound)), -EINVAL);
	/* On the last packet it is fine; count 0 or past the header is not. */
	memcpy(b, rr2, sizeof(rr2));
	memcpy(b + 56, ((const uint8_t[]){ 0xa1, 0xcb, 0x00, 0x02, 0x56, 0x78, 0xef, 0x01,
					    0x00, 0x00, 0x00, 0x04 }), 12);
	assert_int_equal(mr_rtcp_validate(b, 68), 0);
	off = 56;
	assert_int_equal(mr_rtcp_next(b, 68, &off, &h), 1);
	assert_int_equal(h.type, MR_RTCP_BYE);
	assert_int_equal(h.padding, 1);
	assert_int_equal(h.len, 12);
	b[67] = 8;		/* all of the body is padding: still valid */
	assert_int_equal(mr_rtcp_validate(b, 68), 0);
	b[67] = 9;
	assert_int_equal(mr_rtcp_validate(b, 68), -EINVAL);
	b[67] = 0;
	assert_int_equal(mr_rtcp_validate(b, 68), -EINVAL);
	off = 56;
	assert_int_equal(mr_rtcp_next(b, 68, &off, &h), -EINVAL);
	/* A single padded packet is its own last packet. */
	b[67] = 4;
	assert_int_equal(mr_rtcp_validate(b + 56, 12), -EINVAL);	/* BYE first */

	/* Compound not starting with SR/RR: SDES + BYE, APP, BYE. */
	assert_int_equal(mr_rtcp_validate(compound + 52, 28), -EINVAL);
	assert_int_equal(mr_rtcp_validate(compound + 72, 8), -EINVAL);
	memcpy(b, compound, sizeof(compound));
	b[1] = MR_RTCP_APP;
	assert_int_equal(mr_rtcp_validate(b, sizeof(compound)), -EINVAL);
	b[1] = 199;
	assert_int_equal(mr_rtcp_validate(b, sizeof(compound)), -EINVAL);
	/* SR alone and SR + SDES are valid compounds; RR + RR too. */
	assert_int_equal(mr_rtcp_validate(compound, 52), 0);
	assert_int_equal(mr_rtcp_validate(compound, 72), 0);
	memcpy(b, rr2, sizeof(rr2));
	memcpy(b + 56, rr2, sizeof(rr2));
	assert_int_equal(mr_rtcp_validate(b, 112), 0);
	/* RFC 5506 reduced size: feedback first, alone or with more feedback. */
	memcpy(b, pli, sizeof(pli));
	memcpy(b + 12, nack3, sizeof(nack3));
	assert_int_equal(mr_rtcp_validate(b, 12 + sizeof(nack3)), 0);
}

/* Walk a buffer with mr_rtcp_next and every reader on every packet; returns the number of
 * packets or -EINVAL. Whatever the readers answer must be in range. */
static int
walk(const uint8_t *buf, size_t len)
{
	struct mr_rtcp_hdr h;
	struct mr_rtcp_sr sr;
	struct mr_rtcp_rb rb;
	uint16_t seqs[64];
	uint32_t ssrcs[4], x;
	uint64_t br;
	uint8_t seq;
	size_t off = 0;
	int rc, n = 0;
	unsigned int i;

	while ((rc = mr_rtcp_next(buf, len, &off, &h)) == 1) {
		assert_true(h.p >= buf && h.p + h.len <= buf + len);
		assert_true(off <= len);
		n++;
		mr_rtcp_sr_parse(&h, &sr);
		for (i = 0; i < 33; i++)
			mr_rtcp_rb_parse(&h, i, &rb);
		mr_rtcp_fb_media_ssrc(&h, &x);
		rc = mr_rtcp_nack_parse(&h, seqs, 64);
		assert_true(rc == -EINVAL || (rc >= 1 && rc <= 17 * (h.len - 12) / 4));
		for (i = 0; i < 4; i++)
			mr_rtcp_fir_parse(&h, i, &x, &seq);
		rc = mr_rtcp_remb_parse(&h, &br, ssrcs, 4);
		assert_true(rc == -EINVAL || (rc >= 0 && rc <= 255));
	}
	return rc < 0 ? rc : n;
}

/* Every prefix of a valid vector, in an exact-size heap buffer: validate accepts exactly the
 * packet boundaries listed; the walk finds exactly the whole packets before the cut. */
static void
check_prefixes(const uint8_t *pkt, size_t len, const size_t *bounds, int nb)
{
	size_t l;

	for (l = 0; l <= len; l++) {
		uint8_t *b = heap_copy(pkt, l);
		int whole = 0, at_bound = 0, i;

		for (i = 0; i < nb; i++) {
			if (bounds[i] <= l)
				whole = i + 1;
			if (bounds[i] == l)
				at_bound = 1;
		}
		assert_int_equal(mr_rtcp_validate(b, l), at_bound ? 0 : -EINVAL);
		assert_int_equal(walk(b, l), at_bound || l == 0 ? whole : -EINVAL);
		free(b);
	}
}

static void
test_truncated(void **state)
{
	static const size_t cb[] = { 52, 72, 80 };
	static const size_t rrb[] = { 56 };
	static const size_t nb[] = { 24 };
	static const size_t pb[] = { 12 };
	static const size_t fb[] = { 28 };

	(void)state;
	check_prefixes(compound, sizeof(compound), cb, 3);
	check_prefixes(rr2, sizeof(rr2), rrb, 1);
	check_prefixes(nack3, sizeof(nack3), nb, 1);
	check_prefixes(remb1m, sizeof(remb1m), nb, 1);
	check_prefixes(pli, sizeof(pli), pb, 1);
	check_prefixes(fir2, sizeof(fir2), fb, 1);
}

/* Every value of every byte of each vector, in an exact-size heap buffer: no reader may read
 * outside it (run under ASan) and validate must agree with a walk that found no error. */
static void
test_mutations(void **state)
{
	const uint8_t *v[] = { compound, rr2, nack3, remb1m, pli, fir2 };
	const size_t n[] = { sizeof(compound), sizeof(rr2), sizeof(nack3), sizeof(remb1m),
			     sizeof(pli), sizeof(fir2) };
	unsigned int k, pos, val;

	(void)state;
	for (k = 0; k < 6; k++) {
		uint8_t *b = heap_copy(v[k], n[k]);

		for (pos = 0; pos < n[k]; pos++) {
			for (val = 0; val < 256; val++) {
				memcpy(b, v[k], n[k]);
				b[pos] = (uint8_t)val;
				if (mr_rtcp_validate(b, n[k]) == 0)
					assert_true(walk(b, n[k]) >= 1);
				else
					walk(b, n[k]);
			}
		}
		free(b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compound),
		cmocka_unit_test(test_build_compound),
		cmocka_unit_test(test_sdes_padding),
		cmocka_unit_test(test_rr_blocks),
		cmocka_unit_test(test_count_lies),
		cmocka_unit_test(test_nack_parse),
		cmocka_unit_test(test_nack_build_wrap),
		cmocka_unit_test(test_nack_build_runs),
		cmocka_unit_test(test_nack_build_wide),
		cmocka_unit_test(test_nack_random),
		cmocka_unit_test(test_pli_fir),
		cmocka_unit_test(test_remb),
		cmocka_unit_test(test_remb_exponent),
		cmocka_unit_test(test_remb_malformed),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
