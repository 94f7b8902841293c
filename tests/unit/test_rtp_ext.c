/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for dataplane/rtp/rtp_ext.h: RFC 8285 one-byte and two-byte header extensions
 * (padding, ID 15, elements of length 0, CSRCs before the extension, other profiles), RFC 6464
 * audio level, the payload offset, and malformed input: every prefix of a valid packet, copied
 * to a heap buffer of exactly that size so that a sanitizer sees any read past the end.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rtp_ext.h"

/* A G.711 packet as GStreamer's rtppcmupay sends it with the ssrc-audio-level extension
 * (id 1) attached: one-byte form, one element, padded to a word. V=1, level 42 -dBov. */
static const uint8_t gst_hdr[] = {
	0x90, 0x00, 0x1f, 0x40,		/* V=2 X=1 CC=0, M=0 PT=0, seq 8000 */
	0x00, 0x13, 0x88, 0x00,		/* timestamp 1280000 */
	0x3c, 0x1b, 0x5e, 0x22,		/* SSRC */
	0xbe, 0xde, 0x00, 0x01,		/* one-byte form, 1 word */
	0x10, 0xaa, 0x00, 0x00,		/* id 1 len 1: 0xaa; 2 padding bytes */
};

/* One-byte form, three elements and padding between and after them. */
static const uint8_t one_byte[] = {
	0x90, 0x60, 0x00, 0x01, 0x00, 0x00, 0x00, 0xa0, 0x11, 0x22, 0x33, 0x44,
	0xbe, 0xde, 0x00, 0x03,
	0x10, 0xaa,			/* id 1, 1 byte */
	0x00,				/* padding */
	0x22, 0x01, 0x02, 0x03,		/* id 2, 3 bytes */
	0x31, 0x05, 0x06,		/* id 3, 2 bytes */
	0x00, 0x00,			/* padding */
	0xde, 0xad,			/* payload */
};

/* Two-byte form (appbits 0), elements of 1, 3 and 0 bytes, padding. */
static const uint8_t two_byte[] = {
	0x90, 0x60, 0x00, 0x01, 0x00, 0x00, 0x00, 0xa0, 0x11, 0x22, 0x33, 0x44,
	0x10, 0x00, 0x00, 0x03,
	0x01, 0x01, 0xaa,		/* id 1, 1 byte */
	0x00,				/* padding */
	0x05, 0x03, 0x01, 0x02, 0x03,	/* id 5, 3 bytes */
	0xc8, 0x00,			/* id 200, 0 bytes */
	0x00,				/* padding */
	0x7f,				/* payload */
};

static void
expect_elem(const uint8_t *pkt, size_t len, uint8_t id, const uint8_t *want, uint8_t wlen)
{
	const uint8_t *d = NULL;
	uint8_t dl = 0xff;

	assert_int_equal(mr_rtp_ext_find(pkt, len, id, &d, &dl), 1);
	assert_int_equal(dl, wlen);
	assert_non_null(d);
	assert_true(d >= pkt && d + dl <= pkt + len);
	if (wlen)
		assert_memory_equal(d, want, wlen);
}

static int
find(const uint8_t *pkt, size_t len, uint8_t id)
{
	const uint8_t *d;
	uint8_t dl;

	return mr_rtp_ext_find(pkt, len, id, &d, &dl);
}

static void
test_gstreamer_audio_level(void **state)
{
	uint8_t pkt[sizeof(gst_hdr) + 160];
	const uint8_t *d;
	uint8_t dl, level = 0;
	int voice = -1;

	(void)state;
	memcpy(pkt, gst_hdr, sizeof(gst_hdr));
	memset(pkt + sizeof(gst_hdr), 0xff, 160);
	assert_int_equal(mr_rtp_ext_find(pkt, sizeof(pkt), 1, &d, &dl), 1);
	assert_ptr_equal(d, pkt + 17);
	assert_int_equal(dl, 1);
	assert_int_equal(mr_audio_level_parse(d, dl, &level, &voice), 0);
	assert_int_equal(level, 42);
	assert_int_equal(voice, 1);
	assert_int_equal(mr_rtp_payload_offset(pkt, sizeof(pkt)), 20);
	assert_int_equal(find(pkt, sizeof(pkt), 2), 0);
	assert_int_equal(find(pkt, sizeof(pkt), 0), 0);
	assert_int_equal(find(pkt, sizeof(pkt), 15), 0);
}

static void
test_one_byte(void **state)
{
	static const uint8_t e1[] = { 0xaa }, e2[] = { 1, 2, 3 }, e3[] = { 5, 6 };

	(void)state;
	expect_elem(one_byte, sizeof(one_byte), 1, e1, 1);
	expect_elem(one_byte, sizeof(one_byte), 2, e2, 3);
	expect_elem(one_byte, sizeof(one_byte), 3, e3, 2);
	assert_int_equal(find(one_byte, sizeof(one_byte), 4), 0);
	assert_int_equal(find(one_byte, sizeof(one_byte), 14), 0);
	assert_int_equal(find(one_byte, sizeof(one_byte), 0), 0);
	assert_int_equal(find(one_byte, sizeof(one_byte), 200), 0);
	assert_int_equal(mr_rtp_payload_offset(one_byte, sizeof(one_byte)), 28);
}

static void
test_two_byte(void **state)
{
	static const uint8_t e1[] = { 0xaa }, e5[] = { 1, 2, 3 };
	uint8_t pkt[sizeof(two_byte)];

	(void)state;
	expect_elem(two_byte, sizeof(two_byte), 1, e1, 1);
	expect_elem(two_byte, sizeof(two_byte), 5, e5, 3);
	expect_elem(two_byte, sizeof(two_byte), 200, NULL, 0);
	assert_int_equal(find(two_byte, sizeof(two_byte), 2), 0);
	assert_int_equal(find(two_byte, sizeof(two_byte), 0), 0);
	assert_int_equal(mr_rtp_payload_offset(two_byte, sizeof(two_byte)), 28);
	/* Appbits (low 4 bits of 0x100x) do not change the parse. */
	memcpy(pkt, two_byte, sizeof(pkt));
	pkt[13] = 0x0f;
	expect_elem(pkt, sizeof(pkt), 5, e5, 3);
	/* 0x1010 is not the two-byte form: some other profile extension, nothing found. */
	pkt[13] = 0x10;
	assert_int_equal(find(pkt, sizeof(pkt), 5), 0);
	assert_int_equal(mr_rtp_payload_offset(pkt, sizeof(pkt)), 28);
	/* A one-byte lookup of an id > 14 can only match in the two-byte form. */
	memcpy(pkt, two_byte, sizeof(pkt));
	pkt[20] = 15;
	expect_elem(pkt, sizeof(pkt), 15, e5, 3);
}

static void
test_id15_stops(void **state)
{
	uint8_t pkt[] = {
		0x90, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xa0, 0x11, 0x22, 0x33, 0x44,
		0xbe, 0xde, 0x00, 0x02,
		0x10, 0xaa,		/* id 1 */
		0xf0,			/* id 15: stop here */
		0x20, 0xbb,		/* id 2: never reached */
		0x00, 0x00, 0x00,
	};

	(void)state;
	expect_elem(pkt, sizeof(pkt), 1, (const uint8_t[]){ 0xaa }, 1);
	assert_int_equal(find(pkt, sizeof(pkt), 2), 0);
	/* Its length nibble is ignored, even one that would run past the end. */
	pkt[18] = 0xff;
	assert_int_equal(find(pkt, sizeof(pkt), 2), 0);
	assert_int_equal(find(pkt, sizeof(pkt), 15), 0);
	/* Without the stop, id 2 is there. */
	pkt[18] = 0x00;
	expect_elem(pkt, sizeof(pkt), 2, (const uint8_t[]){ 0xbb }, 1);
}

static void
test_csrcs(void **state)
{
	const uint8_t pkt[] = {
		0x92, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0xa0, 0x11, 0x22, 0x33, 0x44,
		0xaa, 0xaa, 0xaa, 0xaa, 0xbb, 0xbb, 0xbb, 0xbb,	/* 2 CSRCs */
		0xbe, 0xde, 0x00, 0x01, 0x10, 0x85, 0x00, 0x00,
		0xd5, 0xd5,
	};
	const uint8_t no_ext[] = {
		0x83, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0xa0, 0x11, 0x22, 0x33, 0x44,
		1, 1, 1, 1, 2, 2, 2, 2, 0xbe, 0xde, 0x00, 0x01,	/* 3 CSRCs, looks like ext */
		0x10, 0x85,
	};
	const uint8_t *d;
	uint8_t dl, level;
	int voice;

	(void)state;
	assert_int_equal(mr_rtp_ext_find(pkt, sizeof(pkt), 1, &d, &dl), 1);
	assert_ptr_equal(d, pkt + 25);
	assert_int_equal(mr_audio_level_parse(d, dl, &level, &voice), 0);
	assert_int_equal(level, 5);
	assert_int_equal(voice, 1);
	assert_int_equal(mr_rtp_payload_offset(pkt, sizeof(pkt)), 28);
	/* X clear: nothing found even if the bytes after the CSRCs look like an extension. */
	assert_int_equal(find(no_ext, sizeof(no_ext), 1), 0);
	assert_int_equal(mr_rtp_payload_offset(no_ext, sizeof(no_ext)), 24);
	/* Nine CSRCs (the count's high bit set) before a two-byte extension. */
	{
		uint8_t big[12 + 36 + 8];

		memset(big, 0x77, sizeof(big));
		big[0] = 0x99;
		memcpy(big + 48, ((const uint8_t[]){ 0x10, 0x00, 0x00, 0x01, 0x03, 0x01, 0x85,
						      0x00 }), 8);
		assert_int_equal(mr_rtp_ext_find(big, sizeof(big), 3, &d, &dl), 1);
		assert_ptr_equal(d, big + 54);
		assert_int_equal(dl, 1);
		assert_int_equal(mr_rtp_payload_offset(big, sizeof(big)), 56);
		assert_int_equal(find(big, sizeof(big) - 1, 3), -EINVAL);
	}
	/* CSRC list past the end. */
	assert_int_equal(find(no_ext, 23, 1), -EINVAL);
	assert_int_equal(mr_rtp_payload_offset(no_ext, 23), 0);
	assert_int_equal(mr_rtp_payload_offset(no_ext, 24), 24);
}

static void
test_audio_level(void **state)
{
	const uint8_t b[] = { 0xaa, 0x7f, 0x80, 0x00 };
	uint8_t level = 0xee;
	int voice = -1;

	(void)state;
	assert_int_equal(mr_audio_level_parse(&b[0], 1, &level, &voice), 0);
	assert_int_equal(level, 42);
	assert_int_equal(voice, 1);
	assert_int_equal(mr_audio_level_parse(&b[1], 1, &level, &voice), 0);
	assert_int_equal(level, 127);
	assert_int_equal(voice, 0);
	assert_int_equal(mr_audio_level_parse(&b[2], 1, &level, &voice), 0);
	assert_int_equal(level, 0);
	assert_int_equal(voice, 1);
	assert_int_equal(mr_audio_level_parse(&b[3], 1, &level, &voice), 0);
	assert_int_equal(level, 0);
	assert_int_equal(voice, 0);
	level = 0xee;
	voice = -1;
	assert_int_equal(mr_audio_level_parse(b, 0, &level, &voice), -EINVAL);
	assert_int_equal(mr_audio_level_parse(b, 2, &level, &voice), -EINVAL);
	assert_int_equal(mr_audio_level_parse(NULL, 1, &level, &voice), -EINVAL);
	assert_int_equal(mr_audio_level_parse(b, 1, NULL, &voice), -EINVAL);
	assert_int_equal(mr_audio_level_parse(b, 1, &level, NULL), -EINVAL);
	assert_int_equal(level, 0xee);
	assert_int_equal(voice, -1);
}

/* Every prefix of a valid packet in a heap buffer of exactly that size: -EINVAL up to the
 * end of the extension, the full answer from there on. */
static void
check_prefixes(const uint8_t *pkt, size_t len, size_t ext_end, uint8_t id, size_t woff,
	       uint8_t wlen)
{
	size_t l;

	for (l = 0; l <= len; l++) {
		uint8_t *b = malloc(l ? l : 1);
		const uint8_t *d = NULL;
		uint8_t dl = 0;
		int rc;

		assert_non_null(b);
		memcpy(b, pkt, l);
		rc = mr_rtp_ext_find(b, l, id, &d, &dl);
		if (l < ext_end) {
			assert_int_equal(rc, -EINVAL);
			assert_int_equal(mr_rtp_payload_offset(b, l), 0);
		} else {
			assert_int_equal(rc, 1);
			assert_int_equal(dl, wlen);
			assert_ptr_equal(d, b + woff);
			assert_int_equal(mr_rtp_payload_offset(b, l), ext_end);
		}
		free(b);
	}
}

static void
test_truncated(void **state)
{
	(void)state;
	check_prefixes(one_byte, sizeof(one_byte), 28, 3, 24, 2);
	check_prefixes(two_byte, sizeof(two_byte), 28, 200, 27, 0);
	check_prefixes(gst_hdr, sizeof(gst_hdr), 20, 1, 17, 1);
}

static void
test_malformed(void **state)
{
	uint8_t pkt[sizeof(one_byte)];
	const uint8_t *d;
	uint8_t dl;

	(void)state;
	/* Version 1 and version 0. */
	memcpy(pkt, one_byte, sizeof(pkt));
	pkt[0] = 0x50;
	assert_int_equal(find(pkt, sizeof(pkt), 1), -EINVAL);
	assert_int_equal(mr_rtp_payload_offset(pkt, sizeof(pkt)), 0);
	pkt[0] = 0x10;
	assert_int_equal(find(pkt, sizeof(pkt), 1), -EINVAL);
	/* Extension length past the packet: 0x0004 words = 16 bytes, 14 remain. */
	memcpy(pkt, one_byte, sizeof(pkt));
	pkt[15] = 0x04;
	assert_int_equal(find(pkt, sizeof(pkt), 1), -EINVAL);
	assert_int_equal(mr_rtp_payload_offset(pkt, sizeof(pkt)), 0);
	/* Extension length 0xffff. */
	pkt[14] = 0xff;
	pkt[15] = 0xff;
	assert_int_equal(find(pkt, sizeof(pkt), 1), -EINVAL);
	/* CSRC count 15 on a short packet. */
	memcpy(pkt, one_byte, sizeof(pkt));
	pkt[0] = 0x9f;
	assert_int_equal(find(pkt, sizeof(pkt), 1), -EINVAL);
	assert_int_equal(mr_rtp_payload_offset(pkt, sizeof(pkt)), 0);
	/* One-byte element whose length runs past the extension (id 3 claims 16 bytes): the
	 * elements before it are still found, itself and anything after it are refused. */
	memcpy(pkt, one_byte, sizeof(pkt));
	pkt[23] = 0x3f;
	expect_elem(pkt, sizeof(pkt), 2, (const uint8_t[]){ 1, 2, 3 }, 3);
	assert_int_equal(find(pkt, sizeof(pkt), 3), -EINVAL);
	assert_int_equal(find(pkt, sizeof(pkt), 9), -EINVAL);
	/* An extension of 0 words holds nothing. */
	memcpy(pkt, one_byte, sizeof(pkt));
	pkt[15] = 0;
	assert_int_equal(find(pkt, sizeof(pkt), 1), 0);
	assert_int_equal(mr_rtp_payload_offset(pkt, sizeof(pkt)), 16);
	/* Null pointers. */
	assert_int_equal(mr_rtp_ext_find(NULL, 40, 1, &d, &dl), -EINVAL);
	assert_int_equal(mr_rtp_ext_find(one_byte, sizeof(one_byte), 1, NULL, &dl), -EINVAL);
	assert_int_equal(mr_rtp_ext_find(one_byte, sizeof(one_byte), 1, &d, NULL), -EINVAL);
	assert_int_equal(mr_rtp_payload_offset(NULL, 40), 0);
}

static void
test_two_byte_malformed(void **state)
{
	uint8_t pkt[sizeof(two_byte)];

	(void)state;
	/* Element length past the extension: id 5 claims 9 bytes, 6 remain. */
	memcpy(pkt, two_byte, sizeof(pkt));
	pkt[21] = 9;
	expect_elem(pkt, sizeof(pkt), 1, (const uint8_t[]){ 0xaa }, 1);
	assert_int_equal(find(pkt, sizeof(pkt), 5), -EINVAL);
	assert_int_equal(find(pkt, sizeof(pkt), 200), -EINVAL);
	/* An id in the extension's last byte has no length byte. */
	memcpy(pkt, two_byte, sizeof(pkt));
	pkt[27] = 0x09;
	assert_int_equal(find(pkt, sizeof(pkt), 9), -EINVAL);
	expect_elem(pkt, sizeof(pkt), 200, NULL, 0);
	/* Length 255 on the first element. */
	memcpy(pkt, two_byte, sizeof(pkt));
	pkt[17] = 0xff;
	assert_int_equal(find(pkt, sizeof(pkt), 1), -EINVAL);
}

/* Exhaustive over one byte of hostile content: every value of every extension byte of both
 * forms, in an exact-size heap buffer; the answer is -EINVAL, 0, or an element inside. */
static void
test_hostile_bytes(void **state)
{
	const uint8_t *src[] = { one_byte, two_byte };
	size_t n[] = { sizeof(one_byte), sizeof(two_byte) };
	unsigned int s, pos, v, id;
	size_t po0;
	int rc2;

	(void)state;
	for (s = 0; s < 2; s++) {
		uint8_t *b = malloc(n[s]);

		assert_non_null(b);
		for (pos = 0; pos < 28; pos++) {
			for (v = 0; v < 256; v++) {
				memcpy(b, src[s], n[s]);
				b[pos] = (uint8_t)v;
				po0 = mr_rtp_payload_offset(b, n[s]);
				for (id = 0; id < 256; id += 5) {
					const uint8_t *d = NULL;
					uint8_t dl = 0;
					int rc = mr_rtp_ext_find(b, n[s], (uint8_t)id, &d, &dl);
					size_t po = mr_rtp_payload_offset(b, n[s]);

					assert_true(rc == -EINVAL || rc == 0 || rc == 1);
					assert_true(po <= n[s]);
					if (rc == 1)
						assert_true(d > b && d + dl <= b + n[s]);
				}
				/* Renumbering writes only ID bytes inside the packet (a
				 * sanitizer sees any write past it) and keeps its length. */
				rc2 = mr_rtp_ext_renumber(b, n[s], 0x7418, 0x3219);
				assert_true(rc2 == -EINVAL || (rc2 >= 0 && rc2 <= 28));
				assert_int_equal(mr_rtp_payload_offset(b, n[s]), po0);
			}
		}
		free(b);
	}
}

/* Renumbering between two participants' maps: Firefox numbers audio level 1, transport-cc 7
 * and mid 3 (not negotiated by mrelay); Chromium level 1, abs-send-time 2, transport-cc 3. */
#define MAP(unused, level, ast, tcc) \
	((uint32_t)(unused) | (uint32_t)(level) << 4 | (uint32_t)(ast) << 8 | (uint32_t)(tcc) << 12)

static void
test_renumber(void **state)
{
	const uint32_t firefox = MAP(2, 1, 0, 7), chromium = MAP(4, 1, 2, 3);
	/* Firefox's audio: level (1), mid "0" (3), transport-cc seq 0x0102 (7), padding. */
	uint8_t pkt[] = {
		0x90, 0x6d, 0x00, 0x01, 0x00, 0x00, 0x00, 0xa0, 0x11, 0x22, 0x33, 0x44,
		0xbe, 0xde, 0x00, 0x02,
		0x10, 0x9a,		/* id 1, 1 byte */
		0x30, 0x30,		/* id 3, 1 byte: mid "0" */
		0x71, 0x01, 0x02,	/* id 7, 2 bytes */
		0x00,			/* padding */
		0xde, 0xad,
	};
	uint8_t two[sizeof(two_byte)], cut[sizeof(pkt)];

	(void)state;
	assert_int_equal(mr_rtp_ext_map_id(firefox, chromium, 1), 1);
	assert_int_equal(mr_rtp_ext_map_id(firefox, chromium, 7), 3);
	assert_int_equal(mr_rtp_ext_map_id(firefox, chromium, 3), 4);	/* unknown: hidden */
	assert_int_equal(mr_rtp_ext_map_id(chromium, firefox, 2), 2);	/* not negotiated */
	assert_int_equal(mr_rtp_ext_map_id(chromium, firefox, 3), 7);
	assert_int_equal(mr_rtp_ext_renumber(pkt, sizeof(pkt), firefox, chromium), 3);
	/* Chromium reads transport-cc under 3, the level under 1, and mid under 4, which it did
	 * not negotiate: not as its transport-cc. Bytes and lengths unchanged. */
	expect_elem(pkt, sizeof(pkt), 1, (const uint8_t[]){ 0x9a }, 1);
	expect_elem(pkt, sizeof(pkt), 3, (const uint8_t[]){ 0x01, 0x02 }, 2);
	expect_elem(pkt, sizeof(pkt), 4, (const uint8_t[]){ 0x30 }, 1);
	assert_int_equal(find(pkt, sizeof(pkt), 7), 0);
	assert_int_equal(pkt[sizeof(pkt) - 2], 0xde);
	/* And back. */
	assert_int_equal(mr_rtp_ext_renumber(pkt, sizeof(pkt), chromium, firefox), 3);
	expect_elem(pkt, sizeof(pkt), 7, (const uint8_t[]){ 0x01, 0x02 }, 2);
	expect_elem(pkt, sizeof(pkt), 2, (const uint8_t[]){ 0x30 }, 1);
	/* Two-byte form: id 1 stays 1, ids 5 and 200 (unknown) become the unused id. */
	memcpy(two, two_byte, sizeof(two));
	assert_int_equal(mr_rtp_ext_renumber(two, sizeof(two), firefox, chromium), 3);
	expect_elem(two, sizeof(two), 1, (const uint8_t[]){ 0xaa }, 1);
	expect_elem(two, sizeof(two), 4, (const uint8_t[]){ 0x01, 0x02, 0x03 }, 3);
	assert_int_equal(find(two, sizeof(two), 200), 0);
	/* Malformed: an element past the end; no extension: nothing to do. */
	memcpy(cut, pkt, sizeof(cut));
	cut[15] = 0x05;
	assert_int_equal(mr_rtp_ext_renumber(cut, sizeof(cut), firefox, chromium), -EINVAL);
	cut[0] = 0x80;
	assert_int_equal(mr_rtp_ext_renumber(cut, sizeof(cut), firefox, chromium), 0);
}

/* A negotiated mid (nibble MR_EXT_MID) is never passed on: between equal maps too, its
 * element goes to the receiver's unused id; the other elements keep theirs. */
static void
test_renumber_mid(void **state)
{
	const uint32_t ff = MAP(2, 1, 0, 7) | 3u << (4 * MR_EXT_MID);
	uint8_t pkt[] = {
		0x90, 0x6d, 0x00, 0x01, 0x00, 0x00, 0x00, 0xa0, 0x11, 0x22, 0x33, 0x44,
		0xbe, 0xde, 0x00, 0x02,
		0x10, 0x9a,		/* id 1: level */
		0x30, 0x30,		/* id 3: mid "0" */
		0x71, 0x01, 0x02,	/* id 7: transport-cc */
		0x00,
	};

	(void)state;
	assert_int_equal(mr_rtp_ext_map_id(ff, ff, 3), 2);
	assert_int_equal(mr_rtp_ext_map_id(ff, ff, 1), 1);
	assert_int_equal(mr_rtp_ext_map_id(ff, ff, 7), 7);
	assert_int_equal(mr_rtp_ext_renumber(pkt, sizeof(pkt), ff, ff), 3);
	expect_elem(pkt, sizeof(pkt), 2, (const uint8_t[]){ 0x30 }, 1);
	expect_elem(pkt, sizeof(pkt), 1, (const uint8_t[]){ 0x9a }, 1);
	expect_elem(pkt, sizeof(pkt), 7, (const uint8_t[]){ 0x01, 0x02 }, 2);
	assert_int_equal(find(pkt, sizeof(pkt), 3), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gstreamer_audio_level),
		cmocka_unit_test(test_renumber),
		cmocka_unit_test(test_renumber_mid),
		cmocka_unit_test(test_one_byte),
		cmocka_unit_test(test_two_byte),
		cmocka_unit_test(test_id15_stops),
		cmocka_unit_test(test_csrcs),
		cmocka_unit_test(test_audio_level),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_two_byte_malformed),
		cmocka_unit_test(test_hostile_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
