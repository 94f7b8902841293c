/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests of perf/rtpgen_rx.c: rtpgen's stamp, payload pattern, checksum split, sequence
 * tracker, latency histogram and RFC 3550 A.8 jitter, with exact expected values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../perf/rtpgen_rx.h"

#define PAYLOAD 200
#define PLEN (RTPGEN_RTP_HLEN + PAYLOAD)

/* Reference RFC 1071 sum of native 16-bit words, odd byte padded with zero. */
static uint64_t
ref_sum(const uint8_t *p, size_t len)
{
	uint64_t s = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		uint16_t w;

		memcpy(&w, p + i, 2);
		s += w;
	}
	if (len & 1) {
		uint8_t last[2] = { p[len - 1], 0 };
		uint16_t w;

		memcpy(&w, last, 2);
		s += w;
	}
	return s;
}

static void
test_stamp_roundtrip(void **state)
{
	struct rtpgen_pattern pat;
	uint8_t pkt[PLEN];
	uint32_t stream = 0;
	uint16_t seq = 0;
	uint64_t tsc = 0;

	(void)state;
	assert_int_equal(rtpgen_pattern_init(&pat, PAYLOAD - RTPGEN_STAMP_LEN), 0);
	rtpgen_rtp_write(pkt, &pat, 5, 0xfffe, 0x01020304, 0x0123456789abcdefull);
	/* Wire bytes: RTP header, then "RTPG", stream, TSC in network order. */
	assert_int_equal(pkt[0], 0x80);
	assert_int_equal(pkt[1], 0);
	assert_int_equal(pkt[2], 0xff);
	assert_int_equal(pkt[3], 0xfe);
	assert_int_equal(pkt[4], 1);
	assert_int_equal(pkt[7], 4);
	assert_int_equal(pkt[8], 0x52);
	assert_int_equal(pkt[9], 0x47);
	assert_int_equal(pkt[10], 0x00);
	assert_int_equal(pkt[11], 0x05);
	assert_memory_equal(pkt + 12, "RTPG", 4);
	assert_int_equal(pkt[19], 5);
	assert_int_equal(pkt[20], 0x01);
	assert_int_equal(pkt[27], 0xef);
	assert_int_equal(rtpgen_stamp_read(pkt, PLEN, PAYLOAD, 6, &stream, &seq, &tsc), 0);
	assert_int_equal(stream, 5);
	assert_int_equal(seq, 0xfffe);
	assert_true(tsc == 0x0123456789abcdefull);
	assert_int_equal(rtpgen_pattern_check(&pat, pkt, 5, 0xfffe), 0);
	rtpgen_pattern_free(&pat);
}

static void
test_stamp_hostile(void **state)
{
	struct rtpgen_pattern pat;
	uint8_t pkt[PLEN + 1], bad[PLEN + 1];
	uint32_t stream = 99;
	uint16_t seq = 99;
	uint64_t tsc = 99;

	(void)state;
	assert_int_equal(rtpgen_pattern_init(&pat, PAYLOAD - RTPGEN_STAMP_LEN), 0);
	memset(pkt, 0, sizeof(pkt));
	rtpgen_rtp_write(pkt, &pat, 3, 7, 0, 1000);
	/* Length: one byte short or long, or a payload size below the stamp. */
	assert_int_equal(rtpgen_stamp_read(pkt, PLEN - 1, PAYLOAD, 4, &stream, &seq, &tsc),
			 -EBADMSG);
	assert_int_equal(rtpgen_stamp_read(pkt, PLEN + 1, PAYLOAD, 4, &stream, &seq, &tsc),
			 -EBADMSG);
	assert_int_equal(rtpgen_stamp_read(pkt, 12 + 15, 15, 4, &stream, &seq, &tsc), -EBADMSG);
	/* Stream index beyond the streams. */
	assert_int_equal(rtpgen_stamp_read(pkt, PLEN, PAYLOAD, 3, &stream, &seq, &tsc), -EBADMSG);
	/* RTP version 1, a padding bit, a wrong magic, an SSRC of another stream. */
	memcpy(bad, pkt, sizeof(bad));
	bad[0] = 0x40;
	assert_int_equal(rtpgen_stamp_read(bad, PLEN, PAYLOAD, 4, &stream, &seq, &tsc), -EBADMSG);
	bad[0] = 0xa0;
	assert_int_equal(rtpgen_stamp_read(bad, PLEN, PAYLOAD, 4, &stream, &seq, &tsc), -EBADMSG);
	memcpy(bad, pkt, sizeof(bad));
	bad[13] ^= 0x01;
	assert_int_equal(rtpgen_stamp_read(bad, PLEN, PAYLOAD, 4, &stream, &seq, &tsc), -EBADMSG);
	memcpy(bad, pkt, sizeof(bad));
	bad[11] = 2;
	assert_int_equal(rtpgen_stamp_read(bad, PLEN, PAYLOAD, 4, &stream, &seq, &tsc), -EBADMSG);
	/* Stream index changed together with nothing else: SSRC no longer matches. */
	memcpy(bad, pkt, sizeof(bad));
	bad[19] = 2;
	assert_int_equal(rtpgen_stamp_read(bad, PLEN, PAYLOAD, 4, &stream, &seq, &tsc), -EBADMSG);
	/* All zeros and all ones. */
	memset(bad, 0, sizeof(bad));
	assert_int_equal(rtpgen_stamp_read(bad, PLEN, PAYLOAD, 4, &stream, &seq, &tsc), -EBADMSG);
	memset(bad, 0xff, sizeof(bad));
	assert_int_equal(rtpgen_stamp_read(bad, PLEN, PAYLOAD, 4, &stream, &seq, &tsc), -EBADMSG);
	/* Nothing was written on failure. */
	assert_int_equal(stream, 99);
	assert_int_equal(seq, 99);
	assert_true(tsc == 99);
	rtpgen_pattern_free(&pat);
}

static void
test_pattern(void **state)
{
	struct rtpgen_pattern pat;
	uint8_t pkt[PLEN], other[PLEN];

	(void)state;
	assert_int_equal(rtpgen_pattern_init(&pat, PAYLOAD - RTPGEN_STAMP_LEN), 0);
	assert_int_equal(pat.len, PAYLOAD - RTPGEN_STAMP_LEN);
	assert_int_equal(rtpgen_pattern_offset(0, 0), 0);
	assert_int_equal(rtpgen_pattern_offset(1, 2), 2 * 39);
	assert_int_equal(rtpgen_pattern_offset(0, 256), 0);
	assert_int_equal(rtpgen_pattern_offset(0, 255), 510);
	rtpgen_rtp_write(pkt, &pat, 1, 100, 0, 0);
	assert_int_equal(rtpgen_pattern_check(&pat, pkt, 1, 100), 0);
	/* Another stream's or another packet's pattern. */
	assert_int_equal(rtpgen_pattern_check(&pat, pkt, 2, 100), -EBADMSG);
	assert_int_equal(rtpgen_pattern_check(&pat, pkt, 1, 101), -EBADMSG);
	/* One flipped bit in the first and in the last pattern byte. */
	memcpy(other, pkt, PLEN);
	other[RTPGEN_RTP_HLEN + RTPGEN_STAMP_LEN] ^= 0x80;
	assert_int_equal(rtpgen_pattern_check(&pat, other, 1, 100), -EBADMSG);
	memcpy(other, pkt, PLEN);
	other[PLEN - 1] ^= 0x01;
	assert_int_equal(rtpgen_pattern_check(&pat, other, 1, 100), -EBADMSG);
	/* The same table in every run (xorshift64* from a fixed seed). */
	{
		static const uint8_t first[8] = { 0x0d, 0x54, 0xa8, 0x7d, 0x90, 0x9d, 0xd5, 0x67 };

		assert_memory_equal(rtpgen_pattern_get(&pat, 0, 0), first, 8);
		assert_memory_equal(rtpgen_pattern_get(&pat, 0, 1), first + 2, 6);
	}
	rtpgen_pattern_free(&pat);
}

/* The per-packet part of the sum plus the sum with those fields zero is the whole sum. */
static void
check_cksum_split(unsigned int payload)
{
	struct rtpgen_pattern pat;
	uint8_t *pkt = calloc(1, RTPGEN_RTP_HLEN + payload + 1);
	uint8_t *zero = calloc(1, RTPGEN_RTP_HLEN + payload + 1);
	size_t len = RTPGEN_RTP_HLEN + payload;
	uint32_t stream;
	unsigned int seq;

	assert_non_null(pkt);
	assert_non_null(zero);
	assert_int_equal(rtpgen_pattern_init(&pat, payload - RTPGEN_STAMP_LEN), 0);
	for (stream = 0; stream < 3; stream++) {
		/* Template: seq, ts, TSC zero, no pattern. */
		rtpgen_rtp_write(zero, &pat, stream, 0, 0, 0);
		memset(zero + RTPGEN_RTP_HLEN + RTPGEN_STAMP_LEN, 0, payload - RTPGEN_STAMP_LEN);
		zero[2] = zero[3] = 0;
		for (seq = 0; seq < 70000; seq += 997) {
			uint64_t tsc = 0xfedcba9876543210ull + seq * 12345ull;
			uint64_t whole, split;

			rtpgen_rtp_write(pkt, &pat, stream, (uint16_t)seq, seq * 160u, tsc);
			whole = ref_sum(pkt, len);
			split = ref_sum(zero, len) + rtpgen_rtp_var_sum(pkt, &pat);
			assert_int_equal(rtpgen_cksum_fold(whole), rtpgen_cksum_fold(split));
		}
	}
	rtpgen_pattern_free(&pat);
	free(pkt);
	free(zero);
}

static void
test_cksum_split(void **state)
{
	(void)state;
	check_cksum_split(200);
	check_cksum_split(201);	/* odd: the last byte is padded */
	check_cksum_split(16);	/* stamp only, no pattern */
	check_cksum_split(1400);
	assert_int_equal(rtpgen_cksum_fold(0x1ffffull), 0x0001);
	assert_int_equal(rtpgen_cksum_fold(0xffffull), 0xffff);
	assert_int_equal(rtpgen_cksum_fold(0x2fffdull), 0xffff);
	assert_int_equal(rtpgen_cksum_fold(0xffffffffffffffffull), 0xffff);
}

static void
feed(struct rtpgen_seq *s, const uint16_t *seqs, size_t n, const int *want)
{
	size_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(rtpgen_seq_update(s, seqs[i]), want[i]);
}

static void
test_seq_in_order_and_loss(void **state)
{
	struct rtpgen_seq s;
	uint16_t i;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(rtpgen_seq_update(&s, 1000), RTPGEN_SEQ_FIRST);
	for (i = 1001; i < 1010; i++)
		assert_int_equal(rtpgen_seq_update(&s, i), RTPGEN_SEQ_NEXT);
	assert_int_equal(s.received, 10);
	assert_int_equal(s.reordered, 0);
	assert_int_equal(s.dup, 0);
	assert_int_equal(s.max_ext, 1009);
	assert_int_equal(rtpgen_seq_lost(&s, 10), 0);
	assert_int_equal(rtpgen_seq_lost(&s, 12), 2);
	assert_int_equal(rtpgen_seq_lost(&s, 5), 0);	/* never negative */

	/* 0, 1, 2, 5, 6 of 7 sent: 3 and 4 lost. */
	memset(&s, 0, sizeof(s));
	{
		const uint16_t q[] = { 0, 1, 2, 5, 6 };
		const int w[] = { RTPGEN_SEQ_FIRST, RTPGEN_SEQ_NEXT, RTPGEN_SEQ_NEXT,
				  RTPGEN_SEQ_NEXT, RTPGEN_SEQ_NEXT };

		feed(&s, q, 5, w);
	}
	assert_int_equal(s.received, 5);
	assert_int_equal(rtpgen_seq_lost(&s, 7), 2);
	assert_int_equal(s.reordered, 0);
	assert_true(s.window == 0x73);	/* 6, 5, 2, 1, 0 -> bits 0, 1, 4, 5, 6 */
}

static void
test_seq_reorder_dup(void **state)
{
	struct rtpgen_seq s;

	(void)state;
	memset(&s, 0, sizeof(s));
	{
		/* 0 2 1 3 | 3 again, 1 again, 0 again | 5 4 */
		const uint16_t q[] = { 0, 2, 1, 3, 3, 1, 0, 5, 4 };
		const int w[] = { RTPGEN_SEQ_FIRST, RTPGEN_SEQ_NEXT, RTPGEN_SEQ_REORDERED,
				  RTPGEN_SEQ_NEXT, RTPGEN_SEQ_DUP, RTPGEN_SEQ_DUP, RTPGEN_SEQ_DUP,
				  RTPGEN_SEQ_NEXT, RTPGEN_SEQ_REORDERED };

		feed(&s, q, 9, w);
	}
	assert_int_equal(s.received, 6);
	assert_int_equal(s.reordered, 2);
	assert_int_equal(s.dup, 3);
	assert_int_equal(s.max_ext, 5);
	assert_int_equal(rtpgen_seq_lost(&s, 6), 0);

	/* 63 behind is still in the window; 64 behind is not (reordered, dup unknown). */
	memset(&s, 0, sizeof(s));
	{
		const uint16_t q[] = { 0, 63, 0, 64, 0 };
		const int w[] = { RTPGEN_SEQ_FIRST, RTPGEN_SEQ_NEXT, RTPGEN_SEQ_DUP,
				  RTPGEN_SEQ_NEXT, RTPGEN_SEQ_REORDERED };

		feed(&s, q, 5, w);
	}
	assert_int_equal(s.received, 4);
	assert_int_equal(s.dup, 1);
	assert_int_equal(s.reordered, 1);

	/* A jump of 64 or more empties the window. */
	memset(&s, 0, sizeof(s));
	{
		const uint16_t q[] = { 10, 200, 199, 199, 150 };
		const int w[] = { RTPGEN_SEQ_FIRST, RTPGEN_SEQ_NEXT, RTPGEN_SEQ_REORDERED,
				  RTPGEN_SEQ_DUP, RTPGEN_SEQ_REORDERED };

		feed(&s, q, 5, w);
	}
	assert_true(s.window == (0x3 | 1ull << 50));
	assert_int_equal(s.max_ext, 200);

	/* Half the sequence space or more behind looks like going back, not forward. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(rtpgen_seq_update(&s, 0), RTPGEN_SEQ_FIRST);
	assert_int_equal(rtpgen_seq_update(&s, 32767), RTPGEN_SEQ_NEXT);
	assert_int_equal(rtpgen_seq_update(&s, 32767 + 32768), RTPGEN_SEQ_REORDERED);
	assert_int_equal(s.max_ext, 32767);
}

static void
test_seq_wrap(void **state)
{
	struct rtpgen_seq s;
	unsigned int i;

	(void)state;
	memset(&s, 0, sizeof(s));
	{
		const uint16_t q[] = { 65534, 65535, 0, 1 };
		const int w[] = { RTPGEN_SEQ_FIRST, RTPGEN_SEQ_NEXT, RTPGEN_SEQ_NEXT,
				  RTPGEN_SEQ_NEXT };

		feed(&s, q, 4, w);
	}
	assert_int_equal(s.max_ext, 65537);	/* one cycle: 65536 + 1 */
	assert_int_equal(s.received, 4);
	assert_int_equal(s.reordered, 0);

	/* Reordered and duplicated across the wrap. */
	memset(&s, 0, sizeof(s));
	{
		const uint16_t q[] = { 65535, 1, 0, 65535, 0 };
		const int w[] = { RTPGEN_SEQ_FIRST, RTPGEN_SEQ_NEXT, RTPGEN_SEQ_REORDERED,
				  RTPGEN_SEQ_DUP, RTPGEN_SEQ_DUP };

		feed(&s, q, 5, w);
	}
	assert_int_equal(s.received, 3);
	assert_int_equal(s.reordered, 1);
	assert_int_equal(s.dup, 2);
	assert_int_equal(s.max_ext, 65537);

	/* Three full cycles in order from 100. */
	memset(&s, 0, sizeof(s));
	for (i = 0; i < 3 * 65536; i++)
		assert_int_not_equal(rtpgen_seq_update(&s, (uint16_t)(100 + i)), RTPGEN_SEQ_DUP);
	assert_int_equal(s.received, 3 * 65536);
	assert_int_equal(s.max_ext, 100 + 3 * 65536 - 1);
	assert_int_equal(s.reordered, 0);
	assert_int_equal(s.dup, 0);
}

static void
test_jitter(void **state)
{
	struct rtpgen_jitter j;
	int i;

	(void)state;
	rtpgen_jitter_reset(&j);
	rtpgen_jitter_update(&j, 1000);		/* first: no difference yet */
	assert_true(j.j16 == 0);
	rtpgen_jitter_update(&j, 1000);
	assert_true(j.j16 == 0);
	rtpgen_jitter_update(&j, 1160);		/* |D| = 160: J = 160 / 16 = 10 */
	assert_true(j.j16 == 160);
	assert_true(rtpgen_jitter_value(&j) == 10);
	rtpgen_jitter_update(&j, 1160);		/* D = 0: J16 = 160 - (168 >> 4) = 150 */
	assert_true(j.j16 == 150);
	assert_true(rtpgen_jitter_value(&j) == 9);
	rtpgen_jitter_update(&j, 1000);		/* |D| = 160 going down too */
	assert_true(j.j16 == 150 + 160 - 9);
	/* A constant alternation converges to |D|: J16 -> 16 * 160 within rounding. */
	for (i = 0; i < 1000; i++)
		rtpgen_jitter_update(&j, i & 1 ? 1000 : 1160);
	assert_true(rtpgen_jitter_value(&j) >= 159 && rtpgen_jitter_value(&j) <= 160);
	/* Constant transit decays to 0. */
	for (i = 0; i < 1000; i++)
		rtpgen_jitter_update(&j, 5000);
	assert_true(rtpgen_jitter_value(&j) == 0);
}

static void
test_hist_buckets(void **state)
{
	unsigned int i;

	(void)state;
	assert_int_equal(rtpgen_hist_index(0), 0);
	assert_int_equal(rtpgen_hist_index(31), 31);
	assert_int_equal(rtpgen_hist_index(32), 32);
	assert_int_equal(rtpgen_hist_index(63), 63);
	assert_int_equal(rtpgen_hist_index(64), 64);
	assert_int_equal(rtpgen_hist_index(65), 64);
	assert_int_equal(rtpgen_hist_index(66), 65);
	assert_int_equal(rtpgen_hist_index(1000), 190);
	assert_int_equal(rtpgen_hist_index(UINT64_MAX), RTPGEN_HIST_BUCKETS - 1);
	assert_true(rtpgen_hist_bucket_low(190) == 992);
	assert_true(rtpgen_hist_bucket_high(190) == 1007);
	assert_true(rtpgen_hist_bucket_high(RTPGEN_HIST_BUCKETS - 1) == UINT64_MAX);
	/* Every bucket's bounds map back to it, and the buckets tile the values. */
	for (i = 0; i < RTPGEN_HIST_BUCKETS; i++) {
		assert_int_equal(rtpgen_hist_index(rtpgen_hist_bucket_low(i)), i);
		assert_int_equal(rtpgen_hist_index(rtpgen_hist_bucket_high(i)), i);
		if (i > 0)
			assert_true(rtpgen_hist_bucket_low(i) ==
				    rtpgen_hist_bucket_high(i - 1) + 1);
		/* Width at most 1/32 of the low bound above the exact range. */
		if (i >= 2 * RTPGEN_HIST_SUB)
			assert_true(rtpgen_hist_bucket_high(i) - rtpgen_hist_bucket_low(i) + 1 <=
				    rtpgen_hist_bucket_low(i) / RTPGEN_HIST_SUB);
	}
}

static void
test_hist_quantiles(void **state)
{
	struct rtpgen_hist *h = malloc(sizeof(*h)), *h2 = malloc(sizeof(*h2));
	uint64_t v;

	(void)state;
	assert_non_null(h);
	assert_non_null(h2);
	rtpgen_hist_reset(h);
	assert_true(rtpgen_hist_quantile(h, 0.5) == 0);	/* empty */
	assert_true(rtpgen_hist_quantile(h, 1.0) == 0);

	/* 1..100 once each: exact below 64, 2-wide above. */
	for (v = 1; v <= 100; v++)
		rtpgen_hist_add(h, v);
	assert_true(h->count == 100);
	assert_true(h->sum == 5050);
	assert_true(h->min == 1);
	assert_true(h->max == 100);
	assert_true(rtpgen_hist_quantile(h, 0.5) == 50);
	assert_true(rtpgen_hist_quantile(h, 0.01) == 1);
	assert_true(rtpgen_hist_quantile(h, 0.0) == 1);	/* rank at least 1 */
	assert_true(rtpgen_hist_quantile(h, 0.99) == 99);	/* bucket 98..99 */
	assert_true(rtpgen_hist_quantile(h, 0.999) == 100);	/* bucket 100..101, capped */
	assert_true(rtpgen_hist_quantile(h, 1.0) == 100);
	assert_true(rtpgen_hist_quantile(h, 0.98) == 99);	/* 98th: bucket 98..99 */
	assert_true(rtpgen_hist_quantile(h, 0.97) == 97);	/* 97th: bucket 96..97 */

	/* 1000 x 1000 cycles and one outlier of 1,000,000. */
	rtpgen_hist_reset(h);
	for (v = 0; v < 1000; v++)
		rtpgen_hist_add(h, 1000);
	rtpgen_hist_add(h, 1000000);
	assert_true(rtpgen_hist_quantile(h, 0.5) == 1007);
	assert_true(rtpgen_hist_quantile(h, 0.99) == 1007);
	assert_true(rtpgen_hist_quantile(h, 0.999) == 1007);	/* rank 1000 */
	assert_true(rtpgen_hist_quantile(h, 0.9995) == 1000000);	/* rank 1001, capped */
	assert_true(rtpgen_hist_quantile(h, 1.0) == 1000000);
	assert_true(h->min == 1000);

	/* A single value is every quantile, to the value itself (min/max caps). */
	rtpgen_hist_reset(h2);
	rtpgen_hist_add(h2, 123456);
	assert_true(rtpgen_hist_quantile(h2, 0.5) == 123456);
	assert_true(rtpgen_hist_quantile(h2, 0.999) == 123456);

	/* Merge. */
	rtpgen_hist_merge(h, h2);
	assert_true(h->count == 1002);
	assert_true(h->max == 1000000);
	assert_true(h->min == 1000);
	assert_true(h->sum == 1000 * 1000 + 1000000 + 123456);
	/* Rank 1001 is 123456: bucket 122880..124927. */
	assert_int_equal(rtpgen_hist_index(123456), 412);
	assert_true(rtpgen_hist_quantile(h, 1001.0 / 1002) == 124927);
	free(h);
	free(h2);
}

static void
test_rx_packets(void **state)
{
	struct rtpgen_rx rx;
	uint8_t pkt[PLEN], bad[PLEN];
	double mean;
	uint64_t max;
	uint32_t n;
	uint16_t seq;

	(void)state;
	assert_int_equal(rtpgen_rx_init(&rx, 0, PAYLOAD, 1), -EINVAL);
	assert_int_equal(rtpgen_rx_init(&rx, 4, RTPGEN_MIN_PAYLOAD - 1, 1), -EINVAL);
	assert_int_equal(rtpgen_rx_init(&rx, 4, PAYLOAD, 1), 0);

	/* Stream 2: seq 10..19 sent at TSC 1000 * seq, each back 40 cycles later, except 13
	 * lost and 15 duplicated. */
	for (seq = 10; seq < 20; seq++) {
		if (seq == 13)
			continue;
		rtpgen_rtp_write(pkt, &rx.pat, 2, seq, seq * 160u, 1000ull * seq);
		assert_true(rtpgen_rx_packet(&rx, pkt, PLEN, 1, 1000ull * seq + 40) >= 0);
		if (seq == 15)
			assert_int_equal(rtpgen_rx_packet(&rx, pkt, PLEN, 1, 1000ull * seq + 900),
					 RTPGEN_SEQ_DUP);
	}
	/* Wrong addresses, corrupted pattern, corrupted stamp, short. */
	rtpgen_rtp_write(pkt, &rx.pat, 1, 7, 0, 100);
	assert_int_equal(rtpgen_rx_packet(&rx, pkt, PLEN, 0, 700), -EADDRNOTAVAIL);
	memcpy(bad, pkt, PLEN);
	bad[PLEN - 10] ^= 0xff;
	assert_int_equal(rtpgen_rx_packet(&rx, bad, PLEN, 1, 700), -EBADMSG);
	memcpy(bad, pkt, PLEN);
	bad[12] = 'X';
	assert_int_equal(rtpgen_rx_packet(&rx, bad, PLEN, 1, 700), -EBADMSG);
	assert_int_equal(rtpgen_rx_packet(&rx, pkt, PLEN - 1, 1, 700), -EBADMSG);
	/* A stamp from the future counts as 0 transit. Stream 3: one packet. */
	rtpgen_rtp_write(pkt, &rx.pat, 3, 0, 0, 5000);
	assert_int_equal(rtpgen_rx_packet(&rx, pkt, PLEN, 1, 4000), RTPGEN_SEQ_FIRST);
	/* Stream 2 again: 13 late, reordered. */
	rtpgen_rtp_write(pkt, &rx.pat, 2, 13, 0, 13000);
	assert_int_equal(rtpgen_rx_packet(&rx, pkt, PLEN, 1, 20000), RTPGEN_SEQ_REORDERED);

	assert_true(rx.c.ok == 11);
	assert_true(rx.c.dup == 1);
	assert_true(rx.c.reordered == 1);
	assert_true(rx.c.bad_addr == 1);
	assert_true(rx.c.bad_payload == 1);
	assert_true(rx.c.bad_stamp == 2);
	assert_int_equal(rx.st[2].seq.received, 10);
	assert_int_equal(rtpgen_seq_lost(&rx.st[2].seq, 10), 0);
	assert_int_equal(rx.st[1].seq.received, 0);
	assert_true(rx.hist.count == 11);
	assert_true(rx.hist.min == 0);
	assert_true(rx.hist.max == 7000);
	assert_true(rtpgen_hist_quantile(&rx.hist, 0.5) == 40);	/* 9 of 11 at 40 */
	assert_true(rtpgen_hist_quantile(&rx.hist, 0.9) == 40);
	assert_true(rtpgen_hist_quantile(&rx.hist, 0.95) == 7000);	/* capped at max */
	/* Stream 2's transits: 40 x 9 then 7000: J16 = 6960, J = 435. Stream 3: one packet,
	 * no difference yet: 0. */
	assert_true(rtpgen_jitter_value(&rx.st[2].jit) == 435);
	rtpgen_rx_jitter(&rx, &mean, &max, &n);
	assert_int_equal(n, 2);
	assert_true(max == 435);
	assert_true(mean == 217.5);

	/* Without --check-payload a corrupted pattern passes; the stamp is always checked. */
	rx.check_payload = 0;
	rtpgen_rtp_write(pkt, &rx.pat, 0, 1, 0, 0);
	pkt[PLEN - 1] ^= 1;
	assert_int_equal(rtpgen_rx_packet(&rx, pkt, PLEN, 1, 10), RTPGEN_SEQ_FIRST);

	/* SRTP copies (encrypted payload): accounted by stream and seq alone, no latency. */
	{
		uint64_t ok = rx.c.ok, samples = rx.hist.count;

		assert_int_equal(rtpgen_rx_account_seq(&rx, 1, 65535), RTPGEN_SEQ_FIRST);
		assert_int_equal(rtpgen_rx_account_seq(&rx, 1, 1), RTPGEN_SEQ_NEXT);
		assert_int_equal(rtpgen_rx_account_seq(&rx, 1, 0), RTPGEN_SEQ_REORDERED);
		assert_int_equal(rtpgen_rx_account_seq(&rx, 1, 1), RTPGEN_SEQ_DUP);
		assert_true(rx.c.ok == ok + 3);
		assert_true(rx.c.dup == 2);
		assert_true(rx.c.reordered == 2);
		assert_true(rx.hist.count == samples);
		assert_int_equal(rx.st[1].seq.received, 3);
		assert_int_equal(rtpgen_seq_lost(&rx.st[1].seq, 4), 1);
	}

	/* A new trial keeps the trackers, forgets jitter and latency. */
	rtpgen_rx_reset_trial(&rx);
	assert_true(rx.hist.count == 0);
	assert_int_equal(rx.st[2].seq.received, 10);
	assert_int_equal(rx.st[2].rx_base, 10);
	assert_int_equal(rx.st[1].rx_base, 3);
	rtpgen_rx_jitter(&rx, &mean, &max, &n);
	assert_int_equal(n, 0);
	assert_true(mean == 0);
	rtpgen_rx_free(&rx);
	rtpgen_rx_free(&rx);	/* twice is harmless */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stamp_roundtrip),
		cmocka_unit_test(test_stamp_hostile),
		cmocka_unit_test(test_pattern),
		cmocka_unit_test(test_cksum_split),
		cmocka_unit_test(test_seq_in_order_and_loss),
		cmocka_unit_test(test_seq_reorder_dup),
		cmocka_unit_test(test_seq_wrap),
		cmocka_unit_test(test_jitter),
		cmocka_unit_test(test_hist_buckets),
		cmocka_unit_test(test_hist_quantiles),
		cmocka_unit_test(test_rx_packets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
