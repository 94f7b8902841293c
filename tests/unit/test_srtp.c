/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for dataplane/srtp/ (both engines, no EAL):
 *  - suites and SDES keys: good and bad base64, wrong length, unknown suite, lifetime, MKI
 *    refused, errors that never carry key bytes, format round trip, random keys;
 *  - known answers: RFC 3711 B.2 (AES-CM keystream) and B.3 (key derivation), RFC 6188 §7.2
 *    (AES-256 key derivation), RFC 7714 §16 and §17 (AES-128/256-GCM, SRTP and SRTCP), and a
 *    full AES_CM_128_HMAC_SHA1_80 packet made by libsrtp (its own validation vector) that both
 *    engines produce;
 *  - a cross-check of thousands of random packets (RTP and RTCP, random sizes, CSRCs and
 *    header extensions, 6 SSRCs, all five suites) protected by both engines (identical bytes)
 *    and each unprotected by the other engine, through a ROC rollover (65535 -> 0) and a
 *    re-key (mr_srtp_ctx_inherit);
 *  - attacks: duplicates and too old packets, a duplicate in the same burst, tampered tag,
 *    payload and header, short packets, bad version, SRTCP without the E-flag, a forged packet
 *    with a far-future sequence that must move nothing, every failed op leaving the bytes;
 *  - SSRC slots: the least recently used one is taken by a ninth SSRC.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gcm_vaes.h"
#include "srtp.h"
#include "srtp_internal.h"

#define NSUITES (MR_SRTP_SUITE_MAX - 1)
#define KINDS 2
static const enum mr_srtp_engine_kind kinds[KINDS] = { MR_SRTP_ENGINE_IPSEC_MB,
						       MR_SRTP_ENGINE_LIBSRTP };
static struct mr_srtp_engine *eng[KINDS];

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static size_t
unhex(const char *h, uint8_t *out)
{
	size_t n = 0;
	int hi = -1;

	for (; *h; h++) {
		int v;

		if (*h >= '0' && *h <= '9')
			v = *h - '0';
		else if (*h >= 'a' && *h <= 'f')
			v = *h - 'a' + 10;
		else if (*h >= 'A' && *h <= 'F')
			v = *h - 'A' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n;
}

/* One op; the result. */
static int
op1(int k, struct mr_srtp_ctx *c, uint8_t *pkt, uint16_t *len, int rtcp, int protect)
{
	struct mr_srtp_op op = { .ctx = c, .pkt = pkt, .len = *len, .room = 64, .rtcp = (uint8_t)rtcp };

	if (protect)
		mr_srtp_protect_burst(eng[k], &op, 1);
	else
		mr_srtp_unprotect_burst(eng[k], &op, 1);
	if (op.res == MR_SRTP_OK)
		*len = op.len;
	return op.res;
}

static void
key_of(enum mr_srtp_suite s, struct mr_srtp_key *k, const char *hex)
{
	memset(k, 0, sizeof(*k));
	k->suite = (uint8_t)s;
	k->len = (uint8_t)unhex(hex, k->master);
}

static int
setup(void **state)
{
	for (int k = 0; k < KINDS; k++) {
		assert_int_equal(mr_srtp_global_init(kinds[k]), 0);
		eng[k] = mr_srtp_engine_create(kinds[k]);
		assert_non_null(eng[k]);
	}
	return 0;
}

static int
teardown(void **state)
{
	for (int k = 0; k < KINDS; k++)
		mr_srtp_engine_free(eng[k]);
	return 0;
}

/* ---- suites and SDES ---- */

static void
test_suites(void **state)
{
	const struct mr_srtp_suite_info *si;

	assert_null(mr_srtp_suite_info(MR_SRTP_SUITE_NONE));
	assert_null(mr_srtp_suite_info(MR_SRTP_SUITE_MAX));
	for (int s = 1; s < MR_SRTP_SUITE_MAX; s++) {
		si = mr_srtp_suite_info((enum mr_srtp_suite)s);
		assert_non_null(si);
		assert_int_equal(mr_srtp_suite_by_name(si->name), s);
		assert_true(si->rtp_tag_len <= MR_SRTP_MAX_TRAILER);
		assert_true(4 + si->rtcp_tag_len <= MR_SRTP_MAX_TRAILER);
		assert_true(si->key_len + si->salt_len <= MR_SRTP_MAX_MASTER);
	}
	si = mr_srtp_suite_info(MR_SRTP_AES_CM_128_HMAC_SHA1_32);
	assert_int_equal(si->rtp_tag_len, 4);
	assert_int_equal(si->rtcp_tag_len, 10);
	assert_int_equal(mr_srtp_suite_by_name("aes_cm_128_hmac_sha1_80"), MR_SRTP_SUITE_NONE);
	assert_int_equal(mr_srtp_suite_by_name("F8_128_HMAC_SHA1_80"), MR_SRTP_SUITE_NONE);
}

#define B64_30 "WVNfX19wbGF5ZXJfc3dpdGNoZXNfaGVyZV9fX19f"	/* 30 bytes */

static void
test_sdes(void **state)
{
	struct mr_srtp_key k, k2;
	char err[256], out[128];
	int n;

	assert_int_equal(mr_srtp_sdes_parse("AES_CM_128_HMAC_SHA1_80 inline:" B64_30, &k, err,
					    sizeof(err)), 0);
	assert_int_equal(k.suite, MR_SRTP_AES_CM_128_HMAC_SHA1_80);
	assert_int_equal(k.len, 30);
	assert_memory_equal(k.master, "YS___player_switches_here_____", 30);
	/* a=crypto tag, lifetime, trailing newline */
	assert_int_equal(mr_srtp_sdes_parse("1 AES_CM_128_HMAC_SHA1_32 inline:" B64_30 "|2^31\r\n",
					    &k2, err, sizeof(err)), 0);
	assert_int_equal(k2.suite, MR_SRTP_AES_CM_128_HMAC_SHA1_32);
	assert_memory_equal(k2.master, k.master, 30);
	assert_int_equal(mr_srtp_sdes_parse("AES_CM_128_HMAC_SHA1_80 inline:" B64_30 "|1048576",
					    &k2, err, sizeof(err)), 0);

	/* round trip, every suite */
	for (int s = 1; s < MR_SRTP_SUITE_MAX; s++) {
		assert_int_equal(mr_srtp_key_random((enum mr_srtp_suite)s, &k), 0);
		n = mr_srtp_sdes_format(&k, out, sizeof(out));
		assert_true(n > 0);
		assert_int_equal((size_t)n, strlen(out));
		assert_int_equal(mr_srtp_sdes_format(&k, out, (size_t)n), -1);	/* no room for NUL */
		n = mr_srtp_sdes_format(&k, out, sizeof(out));
		assert_int_equal(mr_srtp_sdes_parse(out, &k2, err, sizeof(err)), 0);
		assert_int_equal(k2.suite, s);
		assert_int_equal(k2.len, k.len);
		assert_memory_equal(k2.master, k.master, k.len);
	}
	/* two random keys differ */
	assert_int_equal(mr_srtp_key_random(MR_SRTP_AEAD_AES_256_GCM, &k), 0);
	assert_int_equal(mr_srtp_key_random(MR_SRTP_AEAD_AES_256_GCM, &k2), 0);
	assert_int_equal(k.len, 44);
	assert_memory_not_equal(k.master, k2.master, 44);
	mr_srtp_key_wipe(&k);
	for (unsigned int i = 0; i < sizeof(k.master); i++)
		assert_int_equal(k.master[i], 0);
	assert_int_equal(mr_srtp_key_random(MR_SRTP_SUITE_NONE, &k), -1);

	static const struct {
		const char *s, *why;
	} bad[] = {
		{ "AES_CM_128_HMAC_SHA1_99 inline:" B64_30, "unknown crypto suite" },
		{ "AES_CM_128_HMAC_SHA1_80 " B64_30, "inline:" },
		{ "AES_CM_128_HMAC_SHA1_80inline:" B64_30, "SUITE inline:KEY" },
		{ "AES_CM_128_HMAC_SHA1_80 inline:WVNfX19wbGF5ZXJfc3dpdGNoZXNfaGVyZV9fX18",
		  "base64" },	/* padding missing */
		{ "AES_CM_128_HMAC_SHA1_80 inline:WVNfX19wbGF5ZXJfc3dpdGNoZXNfaGVyZV9fX1!f",
		  "base64" },
		{ "AES_CM_128_HMAC_SHA1_80 inline:WVNfX19wbGF5ZXJfc3dpdGNoZXNfaGVyZV9fX19=",
		  "base64" },	/* non-canonical: bits set under the padding */
		{ "AES_CM_128_HMAC_SHA1_80 inline:WVNfX19wbGF5ZXJfc3dpdGNoZXNfaGVyZV9fX18=",
		  "wrong length" },
		{ "AES_CM_128_HMAC_SHA1_80 inline:WVNfX19wbGF5ZXJfc3dpdGNoZXNfaGVyZV9fX18=WVNf",
		  "base64" },	/* data after the padding */
		{ "AEAD_AES_128_GCM inline:" B64_30, "wrong length" },
		{ "AES_CM_128_HMAC_SHA1_80 inline:" B64_30 "|2^20|1:4", "MKI" },
		{ "AES_CM_128_HMAC_SHA1_80 inline:" B64_30 "|1:4", "MKI" },
		{ "AES_CM_128_HMAC_SHA1_80 inline:" B64_30 "|2^x", "lifetime" },
		{ "AES_CM_128_HMAC_SHA1_80 inline:" B64_30 "|", "lifetime" },
		{ "AES_CM_128_HMAC_SHA1_80 inline:" B64_30 " UNENCRYPTED_SRTCP", "session param" },
		{ "AES_CM_128_HMAC_SHA1_80 inline:" B64_30 ";inline:" B64_30, "more than one key" },
		{ "", "SUITE inline:KEY" },
		{ "1x AES_CM_128_HMAC_SHA1_80 inline:" B64_30, "SUITE inline:KEY" },
	};
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(err, 0, sizeof(err));
		memset(&k, 0xaa, sizeof(k));
		assert_int_equal(mr_srtp_sdes_parse(bad[i].s, &k, err, sizeof(err)), -1);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("\"%s\": error \"%s\" lacks \"%s\"", bad[i].s, err, bad[i].why);
		/* no key bytes: neither base64 nor decoded */
		assert_null(strstr(err, "WVNf"));
		assert_null(strstr(err, "player"));
		assert_int_equal(k.len, 0);
		for (unsigned int j = 0; j < sizeof(k.master); j++)
			assert_int_equal(k.master[j], 0);
	}
	assert_int_equal(mr_srtp_sdes_parse(NULL, &k, err, sizeof(err)), -1);
	assert_int_equal(mr_srtp_sdes_parse("AES_CM_128_HMAC_SHA1_80 inline:!", &k, NULL, 0), -1);
}

/* ---- known answers ---- */

static void
test_rfc3711_b3_kdf(void **state)
{
	uint8_t mk[16], ms[14], out[94], want[94];

	unhex("E1F97A0D3E018BE0D64FA32C06DE4139", mk);
	unhex("0EC675AD498AFEEBB6960B3AABE6", ms);
	assert_int_equal(mr_srtp_kdf(mk, 16, ms, 14, MR_SRTP_LABEL_RTP_KEY, out, 16), 0);
	unhex("C61E7A93744F39EE10734AFE3FF7A087", want);
	assert_memory_equal(out, want, 16);
	assert_int_equal(mr_srtp_kdf(mk, 16, ms, 14, MR_SRTP_LABEL_RTP_SALT, out, 14), 0);
	unhex("30CBBC08863D8C85D49DB34A9AE1", want);
	assert_memory_equal(out, want, 14);
	assert_int_equal(mr_srtp_kdf(mk, 16, ms, 14, MR_SRTP_LABEL_RTP_AUTH, out, 94), 0);
	unhex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE"
	      "E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25"
	      "6D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2", want);
	assert_memory_equal(out, want, 94);

	/* RFC 6188 §7.2: AES-256 PRF */
	uint8_t mk2[32];

	unhex("F0F04914B513F2763A1B1FA130F10E2998F6F6E43E4309D1E622A0E332B9F1B6", mk2);
	unhex("3B04803DE51EE7C96423AB5B78D2", ms);
	assert_int_equal(mr_srtp_kdf(mk2, 32, ms, 14, MR_SRTP_LABEL_RTP_KEY, out, 32), 0);
	unhex("5BA1064E30EC51613CAD926C5A28EF731EC7FB397F70A960653CAF06554CD8C4", want);
	assert_memory_equal(out, want, 32);
	assert_int_equal(mr_srtp_kdf(mk2, 32, ms, 14, MR_SRTP_LABEL_RTP_SALT, out, 14), 0);
	unhex("FA31791685CA444A9E07C6C64E93", want);
	assert_memory_equal(out, want, 14);
}

/* B.2: the keystream for session key 2B7E..., salt F0F1...FCFD, SSRC 0, index 0: an SRTP
 * packet with SSRC 0, SEQ 0 and a zero payload encrypts to it. */
static void
test_rfc3711_b2_keystream(void **state)
{
	struct mr_srtp_key k;
	struct mr_srtp_ctx *c;
	uint8_t key[16], salt[14], auth[20] = { 0 }, pkt[128] = { 0x80 }, want[48];
	uint16_t len = 12 + 48;

	key_of(MR_SRTP_AES_CM_128_HMAC_SHA1_80, &k, "00000000000000000000000000000000"
	       "0000000000000000000000000000");
	c = mr_srtp_ctx_create(MR_SRTP_ENGINE_IPSEC_MB, &k);
	assert_non_null(c);
	unhex("2B7E151628AED2A6ABF7158809CF4F3C", key);
	unhex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD", salt);
	assert_int_equal(mr_srtp_imb_ctx_set_session(c, 0, key, salt, auth), 0);
	assert_int_equal(op1(0, c, pkt, &len, 0, 1), MR_SRTP_OK);
	assert_int_equal(len, 12 + 48 + 10);
	unhex("E03EAD0935C95E80E166B16DD92B4EB4D23513162B02D0F72A43A2FE4A5F97AB"
	      "41E95B3BB0A2E8DD477901E4FCA894C0", want);
	assert_memory_equal(pkt + 12, want, 48);
	mr_srtp_ctx_free(c);
}

static const char rfc7714_rtp[] = "8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f"
	"6d6e6973 20646976 69736120 696e2070 61727465 73207472 6573";
static const char rfc7714_rtcp[] = "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a"
	"0000e930 4c756e61 deadbeef deadbeef deadbeef deadbeef deadbeef";

static struct mr_srtp_ctx *
gcm_session(enum mr_srtp_suite s)
{
	struct mr_srtp_key k;
	struct mr_srtp_ctx *c;
	uint8_t key[32], salt[12];

	memset(&k, 0, sizeof(k));
	k.suite = (uint8_t)s;
	k.len = (uint8_t)(mr_srtp_suite_info(s)->key_len + 12);
	c = mr_srtp_ctx_create(MR_SRTP_ENGINE_IPSEC_MB, &k);
	assert_non_null(c);
	unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", key);
	unhex("517569642070726f2071756f", salt);
	assert_int_equal(mr_srtp_imb_ctx_set_session(c, 0, key, salt, NULL), 0);
	assert_int_equal(mr_srtp_imb_ctx_set_session(c, 1, key, salt, NULL), 0);
	return c;
}

static void
rfc7714_one(enum mr_srtp_suite s, int rtcp, const char *plain_hex, const char *want_hex)
{
	struct mr_srtp_ctx *tx = gcm_session(s), *rx = gcm_session(s);
	uint8_t plain[128], want[128], pkt[256];
	uint16_t plen = (uint16_t)unhex(plain_hex, plain), wlen = (uint16_t)unhex(want_hex, want);
	uint16_t len = plen;

	if (rtcp)	/* the vectors' SRTCP index is 0x5d4: the next one sent */
		mr_srtp_slot_take(tx, 0x4d617273, NULL, NULL)->rtcp_tx = 0x5d3;
	memcpy(pkt, plain, plen);
	assert_int_equal(op1(0, tx, pkt, &len, rtcp, 1), MR_SRTP_OK);
	assert_int_equal(len, wlen);
	assert_memory_equal(pkt, want, wlen);
	assert_int_equal(op1(0, rx, pkt, &len, rtcp, 0), MR_SRTP_OK);
	assert_int_equal(len, plen);
	assert_memory_equal(pkt, plain, plen);
	/* again: a replay, the bytes left as they were */
	memcpy(pkt, want, wlen);
	len = wlen;
	assert_int_equal(op1(0, rx, pkt, &len, rtcp, 0), MR_SRTP_EREPLAY);
	assert_memory_equal(pkt, want, wlen);
	mr_srtp_ctx_free(tx);
	mr_srtp_ctx_free(rx);
}

static void
test_rfc7714(void **state)
{
	/* §16.1.1 / §16.1.2 */
	rfc7714_one(MR_SRTP_AEAD_AES_128_GCM, 0, rfc7714_rtp,
		    "8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5"
		    "0d294e6f 42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439"
		    "0cce");
	/* §16.2.1 / §16.2.2 */
	rfc7714_one(MR_SRTP_AEAD_AES_256_GCM, 0, rfc7714_rtp,
		    "8040f17b 8041f8d3 5501a0b2 32b1de78 a822fe12 ef9f78fa 332e33aa b1801238"
		    "9a58e2f3 b50b2a02 76ffae0f 1ba63799 b87b7aa3 db36dfff d6b0f9bb 7878d7a7"
		    "6c13");
	/* §17.1 */
	rfc7714_one(MR_SRTP_AEAD_AES_128_GCM, 1, rfc7714_rtcp,
		    "81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d"
		    "c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872"
		    "45d9eade 800005d4");
	/* §17.2 */
	rfc7714_one(MR_SRTP_AEAD_AES_256_GCM, 1, rfc7714_rtcp,
		    "81c8000d 4d617273 d50ae4d1 f5ce5d30 4ba297e4 7d470c28 2c3ece5d bffe0a50"
		    "a2eaa5c1 110555be 8415f658 c61de047 6f1b6fad 1d1eb30c 4446839f 57ff6f6c"
		    "b26ac3be 800005d4");
}

/* §17.3 / §17.4 protect SRTCP with E = 0 (authentication only): mrelay always encrypts SRTCP
 * (no UNENCRYPTED_SRTCP session parameter) and refuses those as malformed, like libsrtp does
 * for a policy with confidentiality. */
static void
test_rfc7714_unencrypted_srtcp_refused(void **state)
{
	struct mr_srtp_ctx *rx = gcm_session(MR_SRTP_AEAD_AES_128_GCM);
	uint8_t pkt[128], want[128];
	uint16_t len = (uint16_t)unhex("81c8000d 4d617273 4e545031 4e545032 52545020 0000042a"
				       "0000e930 4c756e61 deadbeef deadbeef deadbeef deadbeef"
				       "deadbeef 841dd968 3dd78ec9 2ae58790 125f62b3 000005d4", pkt);

	memcpy(want, pkt, len);
	assert_int_equal(op1(0, rx, pkt, &len, 1, 0), MR_SRTP_EMALFORMED);
	assert_memory_equal(pkt, want, len);
	mr_srtp_ctx_free(rx);
}

/* libsrtp's own validation vector (srtp_validate in its test driver): master key and salt of
 * RFC 3711 B.3, produced by libsrtp here and by the IPsec-MB engine. */
static void
test_libsrtp_vector(void **state)
{
	struct mr_srtp_key k;
	uint8_t plain[64], want[64], pkt[128];
	uint16_t plen, wlen, len;

	key_of(MR_SRTP_AES_CM_128_HMAC_SHA1_80, &k,
	       "E1F97A0D3E018BE0D64FA32C06DE4139 0EC675AD498AFEEBB6960B3AABE6");
	plen = (uint16_t)unhex("800f1234 decafbad cafebabe abababab abababab abababab abababab",
			       plain);
	wlen = (uint16_t)unhex("800f1234 decafbad cafebabe 4e55dc4c e79978d8 8ca4d215 949d2402"
			       "b78d6acc 99ea179b 8dbb", want);
	for (int e = 0; e < KINDS; e++) {
		struct mr_srtp_ctx *tx = mr_srtp_ctx_create(kinds[e], &k);

		for (int d = 0; d < KINDS; d++) {
			struct mr_srtp_ctx *rx = mr_srtp_ctx_create(kinds[d], &k);

			memcpy(pkt, plain, plen);
			len = plen;
			if (d == 0) {
				mr_srtp_ctx_free(tx);
				tx = mr_srtp_ctx_create(kinds[e], &k);
			}
			assert_int_equal(op1(e, tx, pkt, &len, 0, 1), MR_SRTP_OK);
			if (len != wlen || memcmp(pkt, want, wlen) != 0)
				fail_msg("engine %d differs from libsrtp's vector", e);
			assert_int_equal(op1(d, rx, pkt, &len, 0, 0), MR_SRTP_OK);
			assert_int_equal(len, plen);
			assert_memory_equal(pkt, plain, plen);
			mr_srtp_ctx_free(rx);
		}
		mr_srtp_ctx_free(tx);
	}
}

/* ---- random packets across both engines ---- */

#define XSSRCS 6

struct stream {
	uint32_t ssrc;
	uint16_t seq;
};

/* A random RTP (or RTCP) packet of stream s into p; its length. */
static uint16_t
make_packet(uint8_t *p, struct stream *s, int rtcp)
{
	unsigned int h = 12, pl = rnd() % 1200;

	if (rtcp) {
		unsigned int words = 1 + rnd() % 60;

		p[0] = 0x80 | (rnd() % 32);
		p[1] = (uint8_t)(200 + rnd() % 7);
		p[2] = (uint8_t)(words >> 8);
		p[3] = (uint8_t)words;
		mr_srtp_wr32(p + 4, s->ssrc);
		for (unsigned int i = 8; i < 4 + 4 * words; i++)
			p[i] = (uint8_t)rnd();
		return (uint16_t)(4 + 4 * words);
	}
	unsigned int cc = rnd() % 8 == 0 ? rnd() % 3 : 0, x = rnd() % 8 == 0;

	p[0] = (uint8_t)(0x80 | (x << 4) | cc);
	p[1] = (uint8_t)(rnd() % 128);
	p[2] = (uint8_t)(s->seq >> 8);
	p[3] = (uint8_t)s->seq;
	s->seq++;
	mr_srtp_wr32(p + 4, rnd());
	mr_srtp_wr32(p + 8, s->ssrc);
	for (unsigned int i = 0; i < cc; i++, h += 4)
		mr_srtp_wr32(p + h, rnd());
	if (x) {
		unsigned int w = rnd() % 3;

		p[h] = 0xbe;
		p[h + 1] = 0xde;
		p[h + 2] = 0;
		p[h + 3] = (uint8_t)w;
		for (unsigned int i = 0; i < 4 * w; i++)
			p[h + 4 + i] = (uint8_t)rnd();
		h += 4 + 4 * w;
	}
	for (unsigned int i = 0; i < pl; i++)
		p[h + i] = (uint8_t)rnd();
	return (uint16_t)(h + pl);
}

#define PKTMAX 1400

/* The cross-check of one suite: tx[e] protect the same packets with engine e (identical
 * bytes), rx[d] unprotect engine 1-d's output. */
static void
cross_suite(enum mr_srtp_suite suite, unsigned int rounds)
{
	struct mr_srtp_key key;
	struct mr_srtp_ctx *tx[KINDS], *rx[KINDS];
	struct stream st[XSSRCS];
	static uint8_t plain[MR_SRTP_BURST][PKTMAX], wire[KINDS][MR_SRTP_BURST][PKTMAX];
	struct mr_srtp_op ops[KINDS][MR_SRTP_BURST], rops[KINDS][MR_SRTP_BURST];
	unsigned int ord[MR_SRTP_BURST];
	uint16_t plen[MR_SRTP_BURST];
	uint8_t isrtcp[MR_SRTP_BURST];
	unsigned int r, i, n, rekeyed = 0, wrapped = 0;

	assert_int_equal(mr_srtp_key_random(suite, &key), 0);
	for (int e = 0; e < KINDS; e++) {
		tx[e] = mr_srtp_ctx_create(kinds[e], &key);
		rx[e] = mr_srtp_ctx_create(kinds[e], &key);
		assert_non_null(tx[e]);
		assert_non_null(rx[e]);
	}
	for (i = 0; i < XSSRCS; i++) {
		st[i].ssrc = rnd();
		st[i].seq = (uint16_t)(65535 - 40 - rnd() % 200);
	}
	for (r = 0; r < rounds; r++) {
		if (r == rounds / 2) {	/* a re-key: the new contexts continue the streams */
			assert_int_equal(mr_srtp_key_random(suite, &key), 0);
			for (int e = 0; e < KINDS; e++) {
				struct mr_srtp_ctx *t = mr_srtp_ctx_create(kinds[e], &key);
				struct mr_srtp_ctx *x = mr_srtp_ctx_create(kinds[e], &key);

				mr_srtp_ctx_inherit(t, tx[e]);
				mr_srtp_ctx_inherit(x, rx[e]);
				mr_srtp_ctx_free(tx[e]);
				mr_srtp_ctx_free(rx[e]);
				tx[e] = t;
				rx[e] = x;
			}
			rekeyed = 1;
		}
		n = 1 + rnd() % MR_SRTP_BURST;
		for (i = 0; i < n; i++) {
			struct stream *s = &st[rnd() % XSSRCS];

			/* SRTCP after the re-key only within one engine (libsrtp restarts
			 * its SRTCP index: README.md) */
			isrtcp[i] = !rekeyed && rnd() % 5 == 0;
			if (s->seq == 0xffff)
				wrapped = 1;
			plen[i] = make_packet(plain[i], s, isrtcp[i]);
			for (int e = 0; e < KINDS; e++) {
				memcpy(wire[e][i], plain[i], plen[i]);
				ops[e][i] = (struct mr_srtp_op){ .ctx = tx[e], .pkt = wire[e][i],
					.len = plen[i], .room = MR_SRTP_MAX_TRAILER,
					.rtcp = isrtcp[i] };
			}
		}
		for (int e = 0; e < KINDS; e++)
			mr_srtp_protect_burst(eng[e], ops[e], n);
		for (i = 0; i < n; i++) {
			for (int e = 0; e < KINDS; e++)
				if (ops[e][i].res != MR_SRTP_OK)
					fail_msg("%s round %u op %u: protect engine %d: %d",
						 mr_srtp_suite_info(suite)->name, r, i, e,
						 ops[e][i].res);
			assert_int_equal(ops[0][i].len, ops[1][i].len);
			if (memcmp(wire[0][i], wire[1][i], ops[0][i].len) != 0)
				fail_msg("%s round %u op %u (%s, %u bytes): engines differ",
					 mr_srtp_suite_info(suite)->name, r, i,
					 isrtcp[i] ? "rtcp" : "rtp", plen[i]);
		}
		/* each receiver takes the other engine's packets, some of them reordered */
		for (i = 0; i < n; i++)
			ord[i] = i;
		for (i = 0; i + 1 < n; i++)
			if (rnd() % 4 == 0) {
				unsigned int j = i + 1 + rnd() % (n - i - 1), t = ord[i];

				ord[i] = ord[j];
				ord[j] = t;
			}
		for (int d = 0; d < KINDS; d++)
			for (i = 0; i < n; i++)
				rops[1 - d][i] = (struct mr_srtp_op){ .ctx = rx[d],
					.pkt = wire[1 - d][ord[i]], .len = ops[1 - d][ord[i]].len,
					.rtcp = isrtcp[ord[i]] };
		for (int d = 0; d < KINDS; d++)
			mr_srtp_unprotect_burst(eng[d], rops[1 - d], n);
		for (int e = 0; e < KINDS; e++)
			for (i = 0; i < n; i++) {
				unsigned int o = ord[i];

				if (rops[e][i].res != MR_SRTP_OK)
					fail_msg("%s round %u op %u: unprotect by engine %d: %d",
						 mr_srtp_suite_info(suite)->name, r, i, 1 - e,
						 rops[e][i].res);
				assert_int_equal(rops[e][i].len, plen[o]);
				assert_memory_equal(wire[e][o], plain[o], plen[o]);
			}
	}
	assert_true(wrapped);
	for (int e = 0; e < KINDS; e++) {
		/* the ROC moved on in every context */
		for (i = 0; i < XSSRCS; i++) {
			struct mr_srtp_slot *sl = mr_srtp_slot_find(rx[e], st[i].ssrc);

			assert_non_null(sl);
			assert_int_equal(sl->index >> 16, 1);
			assert_int_equal((uint16_t)sl->index, (uint16_t)(st[i].seq - 1));
		}
		mr_srtp_ctx_free(tx[e]);
		mr_srtp_ctx_free(rx[e]);
	}
}

static void
test_cross_engines(void **state)
{
	for (int s = 1; s < MR_SRTP_SUITE_MAX; s++)
		cross_suite((enum mr_srtp_suite)s, 200);
}

/* ---- the IPsec-MB engine's own AES-GCM for small packets (gcm_vaes.c) ---- */

/* On a CPU with the instructions the engine must use it (a failed self-test would silently
 * leave IPsec-MB's: caught here); random keys, lengths (past the 256 it takes), AAD lengths
 * (past what its 48 hash key powers cover) and directions against IPsec-MB's own functions:
 * the same bytes, the same tag, nothing written past the data, and nothing at all when it
 * declines. */
static void
test_gcm_vaes(void **state)
{
	IMB_MGR *m;
	IMB_ARCH arch;
	unsigned int it, i, mine = 0;

	if (!mr_gcm_vaes_cpu()) {
		assert_int_equal(mr_srtp_vaes_gcm(), 0);
		print_message("no AVX-512 VAES here: IPsec-MB's AES-GCM only (nothing to test)\n");
		return;
	}
	assert_int_equal(mr_srtp_vaes_gcm(), 1);
	m = alloc_mb_mgr(0);
	assert_non_null(m);
	init_mb_mgr_auto(m, &arch);
	for (it = 0; it < 20000; it++) {
		struct gcm_key_data kd;
		struct gcm_context_data g;
		uint8_t key[32], iv[12], aad[560], a[320], b[320], ta[16], tb[16];
		unsigned int kl = rnd() % 2 ? 32 : 16, len = rnd() % 300, enc = rnd() % 2;
		unsigned int al = it % 8 == 0 ? rnd() % 560 : rnd() % 40;
		int r;

		for (i = 0; i < sizeof(key); i++)
			key[i] = (uint8_t)rnd();
		for (i = 0; i < sizeof(iv); i++)
			iv[i] = (uint8_t)rnd();
		for (i = 0; i < al; i++)
			aad[i] = (uint8_t)rnd();
		for (i = 0; i < sizeof(a); i++)
			a[i] = b[i] = (uint8_t)rnd();
		if (kl == 16)
			IMB_AES128_GCM_PRE(m, key, &kd);
		else
			IMB_AES256_GCM_PRE(m, key, &kd);
		r = mr_gcm_vaes(&kd, kl, (int)enc, b, len, iv, aad, al, tb);
		if (len > MR_GCM_VAES_MAX_LEN || al > 16 * (48 - 1 - 16)) {
			assert_int_equal(r, -1);
			assert_memory_equal(a, b, sizeof(a));
			continue;
		}
		assert_int_equal(r, 0);
		mine++;
		if (kl == 16)
			(enc ? m->gcm128_enc : m->gcm128_dec)(&kd, &g, a, a, len, iv, aad, al, ta,
							      16);
		else
			(enc ? m->gcm256_enc : m->gcm256_dec)(&kd, &g, a, a, len, iv, aad, al, ta,
							      16);
		if (memcmp(a, b, sizeof(a)) != 0 || memcmp(ta, tb, 16) != 0)
			fail_msg("AES-%u-GCM %s, %u bytes, %u of AAD: %s differ", kl * 8,
				 enc ? "encrypt" : "decrypt", len, al,
				 memcmp(a, b, sizeof(a)) != 0 ? "bytes" : "tags");
	}
	assert_true(mine > 10000);
	free_mb_mgr(m);
}

/* The RFC 7714 vectors and the cross-check of the AES-GCM suites again with srtp.vaes_gcm
 * false: IPsec-MB's AES-GCM for every packet, as on a CPU without VAES. */
static void
test_gcm_ipsecmb_only(void **state)
{
	mr_srtp_set_vaes_gcm(0);
	assert_int_equal(mr_srtp_vaes_gcm(), 0);
	test_rfc7714(state);
	cross_suite(MR_SRTP_AEAD_AES_128_GCM, 100);
	cross_suite(MR_SRTP_AEAD_AES_256_GCM, 100);
	mr_srtp_set_vaes_gcm(1);
	assert_int_equal(mr_srtp_vaes_gcm(), mr_gcm_vaes_cpu());
}

/* SRTCP across a re-key, each engine with itself: the index and window carry over. */
static void
test_rtcp_rekey_same_engine(void **state)
{
	for (int e = 0; e < KINDS; e++) {
		struct mr_srtp_key k;
		struct mr_srtp_ctx *tx, *rx, *t2, *r2;
		struct stream s = { 0x1234, 0 };
		uint8_t p[PKTMAX], pl[PKTMAX];
		uint16_t len, l0;

		assert_int_equal(mr_srtp_key_random(MR_SRTP_AES_CM_128_HMAC_SHA1_80, &k), 0);
		tx = mr_srtp_ctx_create(kinds[e], &k);
		rx = mr_srtp_ctx_create(kinds[e], &k);
		for (int i = 0; i < 300; i++) {
			len = l0 = make_packet(pl, &s, 1);
			memcpy(p, pl, len);
			assert_int_equal(op1(e, tx, p, &len, 1, 1), MR_SRTP_OK);
			assert_int_equal(op1(e, rx, p, &len, 1, 0), MR_SRTP_OK);
			assert_memory_equal(p, pl, l0);
		}
		assert_int_equal(mr_srtp_key_random(MR_SRTP_AES_CM_128_HMAC_SHA1_80, &k), 0);
		t2 = mr_srtp_ctx_create(kinds[e], &k);
		r2 = mr_srtp_ctx_create(kinds[e], &k);
		mr_srtp_ctx_inherit(t2, tx);
		mr_srtp_ctx_inherit(r2, rx);
		for (int i = 0; i < 10; i++) {
			len = l0 = make_packet(pl, &s, 1);
			memcpy(p, pl, len);
			assert_int_equal(op1(e, t2, p, &len, 1, 1), MR_SRTP_OK);
			if (e == 0)	/* the index went on */
				assert_int_equal(mr_srtp_rd32(p + len - 14), 0x80000000u | (301 + i));
			assert_int_equal(op1(e, r2, p, &len, 1, 0), MR_SRTP_OK);
			assert_memory_equal(p, pl, l0);
		}
		mr_srtp_ctx_free(tx);
		mr_srtp_ctx_free(rx);
		mr_srtp_ctx_free(t2);
		mr_srtp_ctx_free(r2);
	}
}

/* ---- attacks and failures ---- */

struct pair {
	struct mr_srtp_ctx *tx, *rx;
};

static struct pair
pair_new(int e, enum mr_srtp_suite s)
{
	struct mr_srtp_key k;
	struct pair p;

	assert_int_equal(mr_srtp_key_random(s, &k), 0);
	p.tx = mr_srtp_ctx_create(kinds[e], &k);
	p.rx = mr_srtp_ctx_create(kinds[e], &k);
	assert_non_null(p.tx);
	assert_non_null(p.rx);
	return p;
}

static void
pair_free(struct pair *p)
{
	mr_srtp_ctx_free(p->tx);
	mr_srtp_ctx_free(p->rx);
}

/* A protected RTP packet of 100 payload bytes with the given seq (the sender sees them in the
 * order they are made). */
static uint16_t
mk(int e, struct pair *p, uint8_t *pkt, uint16_t seq, int rtcp)
{
	struct stream s = { 0xcafe0001, seq };
	uint16_t len;

	do {
		s.seq = seq;
		len = make_packet(pkt, &s, rtcp);
	} while (len < 12 + 16 + 4);
	assert_int_equal(op1(e, p->tx, pkt, &len, rtcp, 1), MR_SRTP_OK);
	return len;
}

/* unprotect must fail with want and leave the bytes */
static void
must_fail(int e, struct mr_srtp_ctx *rx, uint8_t *pkt, uint16_t len, int rtcp, int want)
{
	uint8_t copy[PKTMAX];
	uint16_t l = len;
	int r;

	memcpy(copy, pkt, len);
	r = op1(e, rx, pkt, &l, rtcp, 0);
	if (want == 0 ? r == MR_SRTP_OK : r != want)	/* 0: any failure */
		fail_msg("engine %d: %d, expected %d", e, r, want);
	assert_int_equal(l, len);
	assert_memory_equal(pkt, copy, len);
}

#define ok_rx(e, rx, pkt, len, rtcp) ok_rx_(e, rx, pkt, len, rtcp, __LINE__)
static void
ok_rx_(int e, struct mr_srtp_ctx *rx, const uint8_t *pkt, uint16_t len, int rtcp, int line)
{
	uint8_t b[PKTMAX];
	uint16_t l = len;
	int r;

	memcpy(b, pkt, len);
	r = op1(e, rx, b, &l, rtcp, 0);
	if (r != MR_SRTP_OK)
		fail_msg("line %d, engine %d, suite %d: %d", line, e, mr_srtp_ctx_suite(rx), r);
}

static void
test_replay(void **state)
{
	for (int e = 0; e < KINDS; e++) {
		for (int s = 1; s < MR_SRTP_SUITE_MAX; s++) {
			struct pair p = pair_new(e, (enum mr_srtp_suite)s);
			static uint8_t pk[300][PKTMAX];
			uint16_t len[300];

			for (int i = 0; i < 300; i++)
				len[i] = mk(e, &p, pk[i], (uint16_t)(65400 + i), 0);
			ok_rx(e, p.rx, pk[0], len[0], 0);
			must_fail(e, p.rx, pk[0], len[0], 0, MR_SRTP_EREPLAY);
			for (int i = 2; i < 200; i++)
				ok_rx(e, p.rx, pk[i], len[i], 0);
			/* 1: 198 behind, outside the window of 128: too old */
			must_fail(e, p.rx, pk[1], len[1], 0, MR_SRTP_EREPLAY);
			/* out of order inside the window, across the rollover */
			ok_rx(e, p.rx, pk[250], len[250], 0);
			for (int i = 249; i >= 200; i--)
				ok_rx(e, p.rx, pk[i], len[i], 0);
			must_fail(e, p.rx, pk[130], len[130], 0, MR_SRTP_EREPLAY);	/* 120 */
			must_fail(e, p.rx, pk[249], len[249], 0, MR_SRTP_EREPLAY);
			for (int i = 251; i < 300; i++)
				ok_rx(e, p.rx, pk[i], len[i], 0);
			/* SRTCP */
			uint16_t rl[200];

			for (int i = 0; i < 200; i++)
				rl[i] = mk(e, &p, pk[i], 0, 1);
			ok_rx(e, p.rx, pk[5], rl[5], 1);
			must_fail(e, p.rx, pk[5], rl[5], 1, MR_SRTP_EREPLAY);
			ok_rx(e, p.rx, pk[0], rl[0], 1);
			ok_rx(e, p.rx, pk[199], rl[199], 1);
			must_fail(e, p.rx, pk[6], rl[6], 1, MR_SRTP_EREPLAY);	/* too old */
			ok_rx(e, p.rx, pk[150], rl[150], 1);
			pair_free(&p);
		}
	}
}

/* A duplicate later in the same burst is a replay; the first one is committed. */
static void
test_replay_same_burst(void **state)
{
	for (int e = 0; e < KINDS; e++) {
		struct pair p = pair_new(e, MR_SRTP_AES_CM_128_HMAC_SHA1_80);
		uint8_t a[PKTMAX], b[PKTMAX], c2[PKTMAX];
		uint16_t la = mk(e, &p, a, 7, 0), lb;
		struct mr_srtp_op ops[3];

		mk(e, &p, c2, 8, 0);
		memcpy(b, a, la);
		lb = la;
		ops[0] = (struct mr_srtp_op){ .ctx = p.rx, .pkt = a, .len = la };
		ops[1] = (struct mr_srtp_op){ .ctx = p.rx, .pkt = b, .len = lb };
		ops[2] = (struct mr_srtp_op){ .ctx = NULL, .pkt = c2, .len = 10 };
		mr_srtp_unprotect_burst(eng[e], ops, 3);
		assert_int_equal(ops[0].res, MR_SRTP_OK);
		assert_int_equal(ops[1].res, MR_SRTP_EREPLAY);
		assert_int_equal(ops[2].res, MR_SRTP_EENGINE);
		assert_memory_not_equal(a, b, la - 10);	/* b left encrypted */
		pair_free(&p);
	}
}

static void
test_tamper(void **state)
{
	for (int e = 0; e < KINDS; e++) {
		for (int s = 1; s < MR_SRTP_SUITE_MAX; s++) {
			const struct mr_srtp_suite_info *si = mr_srtp_suite_info((enum mr_srtp_suite)s);
			struct pair p = pair_new(e, (enum mr_srtp_suite)s);
			uint8_t pk[PKTMAX];
			uint16_t len;

			for (int rtcp = 0; rtcp <= 1; rtcp++) {
				unsigned int tag = rtcp ? si->rtcp_tag_len : si->rtp_tag_len;

				len = mk(e, &p, pk, 100, rtcp);
				/* the tag or the SRTCP index, the payload or the tag, the
				 * header's payload type, the SSRC, the middle */
				unsigned int at[] = { len - 1u, len - tag - 1u, len - tag - 5u, 1,
						      rtcp ? 5u : 8u, len / 2u };

				for (unsigned int i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
					pk[at[i]] ^= 0x01;
					must_fail(e, p.rx, pk, len, rtcp, MR_SRTP_EAUTH);
					pk[at[i]] ^= 0x01;
				}
				/* the genuine packet still passes: nothing moved */
				ok_rx(e, p.rx, pk, len, rtcp);
				/* truncated by one byte: fails */
				must_fail(e, p.rx, pk, (uint16_t)(len - 1), rtcp, 0);
			}
			pair_free(&p);
		}
	}
}

static void
test_malformed(void **state)
{
	for (int e = 0; e < KINDS; e++) {
		for (int s = 1; s < MR_SRTP_SUITE_MAX; s++) {
			const struct mr_srtp_suite_info *si = mr_srtp_suite_info((enum mr_srtp_suite)s);
			struct pair p = pair_new(e, (enum mr_srtp_suite)s);
			uint8_t pk[PKTMAX], q[64] = { 0x80 };
			uint16_t len;

			/* short: below header + tag (RTP), header + index + tag (RTCP) */
			for (uint16_t l = 0; l < 12 + si->rtp_tag_len; l++)
				must_fail(e, p.rx, q, l, 0, MR_SRTP_EMALFORMED);
			for (uint16_t l = 0; l < 12 + si->rtcp_tag_len; l++)
				must_fail(e, p.rx, q, l, 1, MR_SRTP_EMALFORMED);
			/* CSRC count / extension beyond the packet */
			q[0] = 0x8f;
			must_fail(e, p.rx, q, (uint16_t)(12 + si->rtp_tag_len + 8), 0,
				  MR_SRTP_EMALFORMED);
			q[0] = 0x90;
			q[14] = 0x00;
			q[15] = 0x20;
			must_fail(e, p.rx, q, (uint16_t)(16 + si->rtp_tag_len + 20), 0,
				  MR_SRTP_EMALFORMED);
			/* bad version */
			len = mk(e, &p, pk, 1, 0);
			pk[0] ^= 0xc0;
			must_fail(e, p.rx, pk, len, 0, MR_SRTP_EMALFORMED);
			pk[0] ^= 0xc0;
			ok_rx(e, p.rx, pk, len, 0);
			/* SRTCP without the E-flag, or without its index */
			len = mk(e, &p, pk, 1, 1);
			unsigned int ei = si->aead ? len - 4u : len - 4u - si->rtcp_tag_len;

			pk[ei] ^= 0x80;
			must_fail(e, p.rx, pk, len, 1, MR_SRTP_EMALFORMED);
			pk[ei] ^= 0x80;
			must_fail(e, p.rx, pk, (uint16_t)(len - 4 - si->rtcp_tag_len), 1, 0);
			ok_rx(e, p.rx, pk, len, 1);
			/* protect: no room, malformed */
			struct mr_srtp_op op = { .ctx = p.tx, .pkt = pk, .len = 40,
						 .room = (uint16_t)(si->rtp_tag_len - 1) };

			pk[0] = 0x80;
			mr_srtp_protect_burst(eng[e], &op, 1);
			assert_int_equal(op.res, MR_SRTP_ENOROOM);
			op = (struct mr_srtp_op){ .ctx = p.tx, .pkt = pk, .len = 40, .rtcp = 1,
						  .room = (uint16_t)(si->rtcp_tag_len + 3) };
			mr_srtp_protect_burst(eng[e], &op, 1);
			assert_int_equal(op.res, MR_SRTP_ENOROOM);
			op = (struct mr_srtp_op){ .ctx = p.tx, .pkt = pk, .len = 11, .room = 64 };
			mr_srtp_protect_burst(eng[e], &op, 1);
			assert_int_equal(op.res, MR_SRTP_EMALFORMED);
			/* an RTP packet with no payload */
			op = (struct mr_srtp_op){ .ctx = p.tx, .pkt = pk, .len = 12, .room = 64 };
			mr_srtp_protect_burst(eng[e], &op, 1);
			assert_int_equal(op.res, MR_SRTP_OK);
			ok_rx(e, p.rx, pk, op.len, 0);
			pair_free(&p);
		}
	}
}

/* A forged packet far in the future (or with a wrong key) moves neither the ROC nor the
 * window: the next genuine packet decrypts. */
static void
test_failed_op_changes_nothing(void **state)
{
	for (int e = 0; e < KINDS; e++) {
		for (int s = 1; s < MR_SRTP_SUITE_MAX; s++) {
			struct pair p = pair_new(e, (enum mr_srtp_suite)s);
			struct pair other = pair_new(e, (enum mr_srtp_suite)s);
			uint8_t a[PKTMAX], f[PKTMAX], b[PKTMAX];
			uint16_t la = mk(e, &p, a, 65000, 0), lf, lb;
			struct mr_srtp_slot before;

			ok_rx(e, p.rx, a, la, 0);
			before = *mr_srtp_slot_find(p.rx, 0xcafe0001);
			/* forged: seq 65000 + 30000 under a ROC guess of 0, tag of garbage */
			memcpy(f, a, la);
			f[2] = (uint8_t)((65000 + 30000) >> 8 & 0xff);
			f[3] = (uint8_t)((65000 + 30000) & 0xff);
			must_fail(e, p.rx, f, la, 0, MR_SRTP_EAUTH);
			/* under another key, far future, new SSRC too */
			lf = mk(e, &other, f, 30000, 0);
			must_fail(e, p.rx, f, lf, 0, MR_SRTP_EAUTH);
			f[8] ^= 0x55;
			must_fail(e, p.rx, f, lf, 0, MR_SRTP_EAUTH);
			assert_null(mr_srtp_slot_find(p.rx, 0xcafe0001 ^ 0x55000000));
			assert_memory_equal(mr_srtp_slot_find(p.rx, 0xcafe0001), &before,
					    sizeof(before));
			lb = mk(e, &p, b, 65001, 0);
			ok_rx(e, p.rx, b, lb, 0);
			pair_free(&p);
			pair_free(&other);
		}
	}
}

/* MR_SRTP_SSRCS slots: a ninth SSRC takes the least recently used one. */
static void
test_ssrc_lru(void **state)
{
	for (int e = 0; e < KINDS; e++) {
		struct pair p = pair_new(e, MR_SRTP_AES_CM_128_HMAC_SHA1_80);
		uint8_t pk[PKTMAX];
		struct stream s[MR_SRTP_SSRCS + 1];
		uint16_t len;

		for (unsigned int i = 0; i <= MR_SRTP_SSRCS; i++) {
			s[i].ssrc = 0x100 + i;
			s[i].seq = (uint16_t)(1000 * i);
		}
		for (unsigned int i = 0; i < MR_SRTP_SSRCS; i++) {
			len = make_packet(pk, &s[i], 0);
			assert_int_equal(op1(e, p.tx, pk, &len, 0, 1), MR_SRTP_OK);
			assert_int_equal(op1(e, p.rx, pk, &len, 0, 0), MR_SRTP_OK);
		}
		/* SSRC 0x100 used again: 0x101 is now the oldest */
		len = make_packet(pk, &s[0], 0);
		assert_int_equal(op1(e, p.tx, pk, &len, 0, 1), MR_SRTP_OK);
		assert_int_equal(op1(e, p.rx, pk, &len, 0, 0), MR_SRTP_OK);
		len = make_packet(pk, &s[MR_SRTP_SSRCS], 0);
		assert_int_equal(op1(e, p.tx, pk, &len, 0, 1), MR_SRTP_OK);
		assert_int_equal(op1(e, p.rx, pk, &len, 0, 0), MR_SRTP_OK);
		assert_null(mr_srtp_slot_find(p.rx, 0x101));
		assert_null(mr_srtp_slot_find(p.tx, 0x101));
		assert_non_null(mr_srtp_slot_find(p.rx, 0x100));
		assert_non_null(mr_srtp_slot_find(p.rx, 0x100 + MR_SRTP_SSRCS));
		/* 0x101 comes back as a new stream */
		len = make_packet(pk, &s[1], 0);
		assert_int_equal(op1(e, p.tx, pk, &len, 0, 1), MR_SRTP_OK);
		assert_int_equal(op1(e, p.rx, pk, &len, 0, 0), MR_SRTP_OK);
		assert_null(mr_srtp_slot_find(p.rx, 0x102));
		pair_free(&p);
	}
}

static void
test_bad_keys(void **state)
{
	struct mr_srtp_key k;

	memset(&k, 0, sizeof(k));
	for (int e = 0; e < KINDS; e++) {
		k.suite = MR_SRTP_AES_CM_128_HMAC_SHA1_80;
		k.len = 29;
		assert_null(mr_srtp_ctx_create(kinds[e], &k));
		k.suite = MR_SRTP_SUITE_NONE;
		k.len = 30;
		assert_null(mr_srtp_ctx_create(kinds[e], &k));
		k.suite = MR_SRTP_SUITE_MAX;
		assert_null(mr_srtp_ctx_create(kinds[e], &k));
		assert_null(mr_srtp_ctx_create(kinds[e], NULL));
	}
	assert_null(mr_srtp_ctx_create((enum mr_srtp_engine_kind)7, &k));
	assert_null(mr_srtp_engine_create((enum mr_srtp_engine_kind)7));
	assert_int_equal(mr_srtp_ctx_suite(NULL), MR_SRTP_SUITE_NONE);
	mr_srtp_ctx_free(NULL);
	mr_srtp_engine_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suites),
		cmocka_unit_test(test_sdes),
		cmocka_unit_test(test_rfc3711_b3_kdf),
		cmocka_unit_test(test_rfc3711_b2_keystream),
		cmocka_unit_test(test_rfc7714),
		cmocka_unit_test(test_rfc7714_unencrypted_srtcp_refused),
		cmocka_unit_test(test_libsrtp_vector),
		cmocka_unit_test(test_cross_engines),
		cmocka_unit_test(test_gcm_vaes),
		cmocka_unit_test(test_gcm_ipsecmb_only),
		cmocka_unit_test(test_rtcp_rekey_same_engine),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_replay_same_burst),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_failed_op_changes_nothing),
		cmocka_unit_test(test_ssrc_lru),
		cmocka_unit_test(test_bad_keys),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
