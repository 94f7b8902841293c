/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for dataplane/stun/stun.c: SHA-1 and HMAC-SHA1 against FIPS 180 / RFC 2202
 * vectors, CRC-32, and STUN parse/check/build against the RFC 5769 test vectors (sample
 * request, IPv4 and IPv6 responses): MESSAGE-INTEGRITY, FINGERPRINT, XOR-MAPPED-ADDRESS;
 * every truncation and single-bit change of the request is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stun.h"

/* RFC 5769 §2.1: username "evtj:h6vY", password "VOkJxbRl1RmTxUk/WvJxBt". */
static const uint8_t req[108] = {
	0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10,
	0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
	0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
	0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,
	0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
	0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c,
	0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
	0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};

/* §2.2: 192.0.2.1 port 32853. */
static const uint8_t resp4[80] = {
	0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
	0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3,
	0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
	0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* §2.3: 2001:db8:1234:5678:11:2233:4455:6677 port 32853. */
static const uint8_t resp6[92] = {
	0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
	0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
	0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1,
	0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
	0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

static const char pwd[] = "VOkJxbRl1RmTxUk/WvJxBt";

static void
key(struct mr_hmac_sha1_key *k, const char *p)
{
	mr_hmac_sha1_key_init(k, (const uint8_t *)p, strlen(p));
}

static void
hex(const uint8_t *b, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static void
test_sha1(void **state)
{
	static uint8_t thousand[1000];
	struct mr_sha1 s;
	uint8_t d[20];
	char h[41];
	unsigned int i;

	(void)state;
	memset(thousand, 'a', sizeof(thousand));
	mr_sha1_init(&s);
	mr_sha1_update(&s, "abc", 3);
	mr_sha1_final(&s, d);
	hex(d, 20, h);
	assert_string_equal(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
	/* Two blocks, fed in odd pieces. */
	mr_sha1_init(&s);
	for (i = 0; i < 56; i += 7)
		mr_sha1_update(&s, &"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"[i], 7);
	mr_sha1_final(&s, d);
	hex(d, 20, h);
	assert_string_equal(h, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	/* A million 'a' (FIPS 180-2 appendix A.3). */
	mr_sha1_init(&s);
	for (i = 0; i < 1000; i++)
		mr_sha1_update(&s, thousand, sizeof(thousand));
	mr_sha1_final(&s, d);
	hex(d, 20, h);
	assert_string_equal(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

static void
test_hmac(void **state)
{
	struct mr_hmac_sha1_key k;
	uint8_t d[20], big[80];
	char h[41];

	(void)state;
	/* RFC 2202 test cases 2 and 6 (a key longer than a block). */
	key(&k, "Jefe");
	mr_hmac_sha1(&k, "what do ya want ", 16, "for nothing?", 12, d);
	hex(d, 20, h);
	assert_string_equal(h, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
	memset(big, 0xaa, sizeof(big));
	mr_hmac_sha1_key_init(&k, big, sizeof(big));
	mr_hmac_sha1(&k, "Test Using Larger Than Block-Size Key - Hash Key First", 54, NULL, 0,
		     d);
	hex(d, 20, h);
	assert_string_equal(h, "aa4ae5e15272d00e95705637ce8a3b55ed402112");
}

static void
test_crc32(void **state)
{
	(void)state;
	assert_int_equal(mr_crc32(0, "123456789", 9), 0xCBF43926u);
	assert_int_equal(mr_crc32(mr_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
}

static void
test_rfc5769_request(void **state)
{
	struct mr_hmac_sha1_key k, bad;
	struct mr_stun_msg m;

	(void)state;
	key(&k, pwd);
	key(&bad, "VOkJxbRl1RmTxUk/WvJxBu");
	assert_int_equal(mr_stun_parse(req, sizeof(req), &m), 0);
	assert_int_equal(m.type, MR_STUN_BINDING_REQ);
	assert_int_equal(m.priority, 0x6e0001ff);
	assert_int_equal(m.controlled, 1);
	assert_int_equal(m.controlling, 0);
	assert_int_equal(m.use_candidate, 0);
	assert_int_equal(m.unknown_required, 0);
	assert_int_equal(m.username_len, 9);
	assert_true(mr_stun_fingerprint_ok(req, &m));
	assert_true(mr_stun_integrity_ok(req, &m, &k));
	assert_false(mr_stun_integrity_ok(req, &m, &bad));
	assert_true(mr_stun_username_ok(req, &m, "evtj", 4));
	assert_false(mr_stun_username_ok(req, &m, "evt", 3));
	assert_false(mr_stun_username_ok(req, &m, "evtx", 4));
	assert_false(mr_stun_username_ok(req, &m, "evtj:h6vY", 9));
}

static void
check_response(const uint8_t *r, size_t len, const struct mr_ep *want)
{
	struct mr_hmac_sha1_key k;
	struct mr_stun_msg m;
	struct mr_ep ep;

	key(&k, pwd);
	assert_int_equal(mr_stun_parse(r, len, &m), 0);
	assert_int_equal(m.type, MR_STUN_BINDING_OK);
	assert_true(mr_stun_fingerprint_ok(r, &m));
	assert_true(mr_stun_integrity_ok(r, &m, &k));
	assert_int_equal(mr_stun_mapped(r, &m, &ep), 0);
	assert_true(mr_ep_eq(&ep, want));
}

static void
test_rfc5769_responses(void **state)
{
	struct mr_ep e4 = { .family = MR_AF4, .port = 32853, .a = { 192, 0, 2, 1 } };
	struct mr_ep e6 = { .family = MR_AF6, .port = 32853, .a = {
		0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
		0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77 } };

	(void)state;
	check_response(resp4, sizeof(resp4), &e4);
	check_response(resp6, sizeof(resp6), &e6);
}

/* Our answer to the RFC 5769 request: verifies as a response, and its XOR-MAPPED-ADDRESS has
 * the same bytes as the RFC's responses (same transaction id and address). */
static void
test_build(void **state)
{
	struct mr_ep e4 = { .family = MR_AF4, .port = 32853, .a = { 192, 0, 2, 1 } };
	struct mr_ep e6 = { .family = MR_AF6, .port = 32853, .a = {
		0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
		0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77 } };
	struct mr_hmac_sha1_key k;
	uint8_t buf[128];
	size_t n;

	(void)state;
	key(&k, pwd);
	memcpy(buf, req, sizeof(req));
	/* In place, over the request. */
	n = mr_stun_build_ok(buf, sizeof(buf), buf + 8, &e4, &k);
	assert_int_equal(n, mr_stun_ok_len(MR_AF4));
	assert_memory_equal(buf + 8, req + 8, 12);
	assert_memory_equal(buf + 20, resp4 + 36, 12);
	check_response(buf, n, &e4);
	n = mr_stun_build_ok(buf, sizeof(buf), req + 8, &e6, &k);
	assert_int_equal(n, mr_stun_ok_len(MR_AF6));
	assert_memory_equal(buf + 20, resp6 + 36, 24);
	check_response(buf, n, &e6);
	assert_int_equal(mr_stun_build_ok(buf, n - 1, req + 8, &e6, &k), 0);
}

/* Every truncation fails to parse or to verify; every single-bit change of the bytes the
 * integrity covers is caught by MESSAGE-INTEGRITY or FINGERPRINT or the parser. */
static void
test_mutations(void **state)
{
	struct mr_hmac_sha1_key k;
	struct mr_stun_msg m;
	uint8_t *b;
	size_t len, i, bit;

	(void)state;
	key(&k, pwd);
	for (len = 0; len < sizeof(req); len++) {
		b = malloc(len ? len : 1);
		memcpy(b, req, len);
		if (mr_stun_parse(b, len, &m) == 0)
			assert_false(mr_stun_integrity_ok(b, &m, &k) &&
				     mr_stun_fingerprint_ok(b, &m) && m.fp_off != 0);
		free(b);
	}
	b = malloc(sizeof(req));
	for (i = 0; i < sizeof(req); i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(b, req, sizeof(req));
			b[i] ^= (uint8_t)(1u << bit);
			if (mr_stun_parse(b, sizeof(req), &m) < 0)
				continue;
			if (mr_stun_integrity_ok(b, &m, &k) && m.fp_off != 0 &&
			    mr_stun_fingerprint_ok(b, &m) && mr_stun_username_ok(b, &m, "evtj", 4))
				fail_msg("byte %zu bit %zu changed unnoticed", i, bit);
		}
	}
	free(b);
}

static void
test_malformed(void **state)
{
	uint8_t b[64];
	struct mr_stun_msg m;

	(void)state;
	memset(b, 0, sizeof(b));
	b[1] = 1;
	b[4] = 0x21; b[5] = 0x12; b[6] = 0xa4; b[7] = 0x42;
	assert_int_equal(mr_stun_parse(b, 20, &m), 0);
	b[3] = 2;				/* length not a multiple of 4 */
	assert_int_equal(mr_stun_parse(b, 24, &m), -1);
	b[3] = 8;				/* attribute longer than the message */
	b[20] = 0x00; b[21] = 0x06; b[22] = 0x00; b[23] = 0x10;
	assert_int_equal(mr_stun_parse(b, 28, &m), -1);
	b[3] = 4;				/* length past the datagram */
	assert_int_equal(mr_stun_parse(b, 23, &m), -1);
	b[3] = 8;				/* unknown comprehension-required attribute */
	b[20] = 0x00; b[21] = 0x77; b[22] = 0x00; b[23] = 0x04;
	assert_int_equal(mr_stun_parse(b, 28, &m), 0);
	assert_int_equal(m.unknown_required, 1);
	b[4] = 0;				/* no magic cookie */
	assert_int_equal(mr_stun_parse(b, 28, &m), -1);
	b[4] = 0x21;
	b[0] = 0x80;				/* first two bits must be zero */
	assert_int_equal(mr_stun_parse(b, 28, &m), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha1),
		cmocka_unit_test(test_hmac),
		cmocka_unit_test(test_crc32),
		cmocka_unit_test(test_rfc5769_request),
		cmocka_unit_test(test_rfc5769_responses),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
