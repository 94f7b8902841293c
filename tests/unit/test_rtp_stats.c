/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for dataplane/rtp/rtp_stats.c: RFC 3550 A.1 sequence validation (probation, gaps,
 * wrap, reordering, duplicates, resync after a jump, window boundaries), A.3 counts across SSRC
 * changes, A.8 jitter against the formula, the RFC 3551 clock-rate table, and hostile streams.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "rtp_stats.h"

/* Feed one packet; arrival in RTP clock units. */
static void
feed(struct mr_rtp_stats *s, uint16_t seq, uint32_t ts, uint32_t ssrc, uint8_t pt,
     uint32_t arrival, int have_clock)
{
	uint8_t h[12];

	h[0] = 0x80;
	h[1] = pt;
	h[2] = (uint8_t)(seq >> 8);
	h[3] = (uint8_t)seq;
	h[4] = (uint8_t)(ts >> 24);
	h[5] = (uint8_t)(ts >> 16);
	h[6] = (uint8_t)(ts >> 8);
	h[7] = (uint8_t)ts;
	h[8] = (uint8_t)(ssrc >> 24);
	h[9] = (uint8_t)(ssrc >> 16);
	h[10] = (uint8_t)(ssrc >> 8);
	h[11] = (uint8_t)ssrc;
	mr_rtp_stats_update(s, h, arrival, have_clock);
}

/* A packet of a 20 ms, 8 kHz stream with constant delay. */
static void
feed_seq(struct mr_rtp_stats *s, uint16_t seq, uint32_t ssrc)
{
	uint32_t ts = (uint32_t)seq * 160;

	feed(s, seq, ts, ssrc, 0, ts + 500, 1);
}

static void
assert_counts(const struct mr_rtp_stats *s, uint64_t received, uint64_t expected)
{
	assert_int_equal(mr_rtp_stats_received(s), received);
	assert_int_equal(mr_rtp_stats_expected(s), expected);
	assert_true(mr_rtp_stats_lost(s) == (int64_t)expected - (int64_t)received);
}

static void
test_init(void **state)
{
	struct mr_rtp_stats s;

	(void)state;
	memset(&s, 0xa5, sizeof(s));
	mr_rtp_stats_init(&s);
	assert_int_equal(mr_rtp_stats_have_ssrc(&s), 0);
	assert_int_equal(mr_rtp_stats_ssrc(&s), 0);
	assert_int_equal(mr_rtp_stats_ssrc_changes(&s), 0);
	assert_counts(&s, 0, 0);
	assert_int_equal(mr_rtp_stats_jitter(&s), 0);
	assert_int_equal(mr_rtp_stats_pt(&s), 0);
}

static void
test_in_order(void **state)
{
	struct mr_rtp_stats s;
	unsigned int i;

	(void)state;
	mr_rtp_stats_init(&s);
	/* A.1 probation: the first packet validates nothing and is not counted... */
	feed(&s, 100, 0, 0x11223344, 0x80 | 8, 0, 1);	/* marker bit set, PCMA */
	assert_int_equal(mr_rtp_stats_have_ssrc(&s), 1);
	assert_int_equal(mr_rtp_stats_ssrc(&s), 0x11223344);
	assert_int_equal(mr_rtp_stats_pt(&s), 8);
	assert_counts(&s, 0, 0);
	/* ...the second (MIN_SEQUENTIAL = 2) makes the source valid and starts counting. */
	feed_seq(&s, 101, 0x11223344);
	assert_counts(&s, 1, 1);
	assert_int_equal(mr_rtp_stats_pt(&s), 0);
	for (i = 102; i < 1100; i++)
		feed_seq(&s, (uint16_t)i, 0x11223344);
	assert_counts(&s, 999, 999);
	assert_int_equal(mr_rtp_stats_lost(&s), 0);
	assert_int_equal(mr_rtp_stats_ssrc_changes(&s), 0);
	assert_int_equal(mr_rtp_stats_jitter(&s), 0);
}

static void
test_gaps(void **state)
{
	struct mr_rtp_stats s;
	unsigned int i, sent = 0;

	(void)state;
	mr_rtp_stats_init(&s);
	for (i = 0; i < 500; i++) {
		/* 1 in 7 lost after the first two, plus a burst of 40. */
		if (i > 2 && (i % 7 == 0 || (i >= 200 && i < 240)))
			continue;
		feed_seq(&s, (uint16_t)i, 1);
		sent++;
	}
	/* Losses: multiples of 7 in 3..499 (71) plus the burst less its multiples of 7
	 * (203, 210, ..., 238: 6). */
	assert_counts(&s, sent - 1, 499);
	assert_int_equal(mr_rtp_stats_lost(&s), 71 + 40 - 6);
	assert_int_equal(sent, 500 - 105);

	/* A gap of MAX_DROPOUT - 1 is still a loss, not a jump. */
	feed_seq(&s, (uint16_t)(499 + 2999), 1);
	assert_int_equal(mr_rtp_stats_lost(&s), 105 + 2998);
	assert_int_equal(mr_rtp_stats_expected(&s), 499 + 2999);
}

static void
test_wrap(void **state)
{
	struct mr_rtp_stats s;
	unsigned int i;

	(void)state;
	mr_rtp_stats_init(&s);
	for (i = 65500; i < 65536 + 100; i++)
		feed_seq(&s, (uint16_t)i, 7);
	assert_counts(&s, 135, 135);

	/* Loss across the wrap: 65535 and 0 missing. */
	mr_rtp_stats_init(&s);
	for (i = 65520; i < 65536 + 20; i++) {
		if (i == 65535 || i == 65536)
			continue;
		feed_seq(&s, (uint16_t)i, 7);
	}
	assert_int_equal(mr_rtp_stats_expected(&s), 65536 + 19 - 65521 + 1);
	assert_int_equal(mr_rtp_stats_lost(&s), 2);

	/* Several full cycles (extended sequence number beyond 2^16). */
	mr_rtp_stats_init(&s);
	for (i = 0; i < 3 * 65536 + 10; i++)
		feed_seq(&s, (uint16_t)i, 7);
	assert_counts(&s, 3 * 65536 + 9, 3 * 65536 + 9);
}

static void
test_reorder(void **state)
{
	struct mr_rtp_stats s;
	unsigned int i;

	(void)state;
	mr_rtp_stats_init(&s);
	feed_seq(&s, 10, 5);
	feed_seq(&s, 11, 5);
	feed_seq(&s, 13, 5);		/* 12 late */
	assert_int_equal(mr_rtp_stats_lost(&s), 1);
	feed_seq(&s, 12, 5);
	assert_int_equal(mr_rtp_stats_lost(&s), 0);
	assert_counts(&s, 3, 3);

	/* Swapped pairs across a wrap. */
	mr_rtp_stats_init(&s);
	feed_seq(&s, 65000, 5);
	feed_seq(&s, 65001, 5);
	for (i = 65002; i < 65536 + 1000; i += 2) {
		feed_seq(&s, (uint16_t)(i + 1), 5);
		feed_seq(&s, (uint16_t)i, 5);
	}
	assert_counts(&s, 1535, 1535);

	/* A packet MAX_MISORDER - 1 behind is reordering (counted); one MAX_MISORDER behind
	 * is a jump (A.1: not counted, waits for a second one to resync). */
	mr_rtp_stats_init(&s);
	for (i = 1000; i < 1200; i++)
		if (i != 1100 && i != 1099)
			feed_seq(&s, (uint16_t)i, 5);
	assert_counts(&s, 197, 199);
	feed_seq(&s, 1199 - 99, 5);
	assert_counts(&s, 198, 199);
	feed_seq(&s, 1199 - 100, 5);
	assert_counts(&s, 198, 199);
}

static void
test_duplicates(void **state)
{
	struct mr_rtp_stats s;
	unsigned int i;

	(void)state;
	mr_rtp_stats_init(&s);
	for (i = 0; i < 100; i++) {
		feed_seq(&s, (uint16_t)i, 9);
		if (i % 10 == 5)
			feed_seq(&s, (uint16_t)i, 9);
	}
	/* A.1 counts duplicates, so lost goes negative (A.3). */
	assert_counts(&s, 99 + 10, 99);
	assert_int_equal(mr_rtp_stats_lost(&s), -10);

	/* A replayed packet never validates a source. */
	mr_rtp_stats_init(&s);
	for (i = 0; i < 50; i++)
		feed_seq(&s, 4242, 9);
	assert_counts(&s, 0, 0);
	feed_seq(&s, 4243, 9);
	assert_counts(&s, 1, 1);
}

static void
test_jump_resync(void **state)
{
	struct mr_rtp_stats s;
	unsigned int i;

	(void)state;
	mr_rtp_stats_init(&s);
	for (i = 1000; i < 1100; i++)
		feed_seq(&s, (uint16_t)i, 3);
	assert_counts(&s, 99, 99);

	/* One stray far packet is ignored; the stream goes on. */
	feed_seq(&s, 30000, 3);
	assert_counts(&s, 99, 99);
	feed_seq(&s, 1100, 3);
	assert_counts(&s, 100, 100);

	/* MAX_DROPOUT ahead is a jump, not a loss of 2999. */
	feed_seq(&s, 1100 + 3000, 3);
	assert_counts(&s, 100, 100);

	/* The sender restarts at 20000: the first packet is held back, the second resyncs.
	 * The first epoch's counts are kept, so lost does not move. */
	feed_seq(&s, 20000, 3);
	assert_counts(&s, 100, 100);
	feed_seq(&s, 20001, 3);
	assert_counts(&s, 101, 101);
	for (i = 20002; i < 20100; i++)
		if (i != 20050)
			feed_seq(&s, (uint16_t)i, 3);
	assert_counts(&s, 100 + 98, 100 + 99);
	assert_int_equal(mr_rtp_stats_lost(&s), 1);
	assert_int_equal(mr_rtp_stats_ssrc_changes(&s), 0);

	/* Backwards jump (restart at a lower number) also resyncs. */
	feed_seq(&s, 5, 3);
	feed_seq(&s, 6, 3);
	feed_seq(&s, 7, 3);
	assert_counts(&s, 200, 201);
}

static void
test_ssrc_change(void **state)
{
	struct mr_rtp_stats s;
	unsigned int i;
	uint32_t ts;

	(void)state;
	mr_rtp_stats_init(&s);
	/* Source A: 0..49 with 5 lost, varying delay so that jitter is nonzero. */
	for (i = 0; i < 50; i++) {
		if (i == 10 || i == 11 || i == 20 || i == 30 || i == 40)
			continue;
		ts = i * 160;
		feed(&s, (uint16_t)i, ts, 0xaaaa, 0, ts + (i & 1) * 80, 1);
	}
	assert_counts(&s, 44, 49);
	assert_true(mr_rtp_stats_jitter(&s) > 0);

	/* Source B with an unrelated sequence and timestamp base. */
	feed(&s, 7000, 123456789, 0xbbbb, 111, 5, 1);
	assert_int_equal(mr_rtp_stats_ssrc(&s), 0xbbbb);
	assert_int_equal(mr_rtp_stats_ssrc_changes(&s), 1);
	assert_int_equal(mr_rtp_stats_pt(&s), 111);
	assert_int_equal(mr_rtp_stats_jitter(&s), 0);
	assert_counts(&s, 44, 49);		/* lost does not jump */
	for (i = 7001; i < 7030; i++) {
		if (i == 7010 || i == 7011 || i == 7020)
			continue;
		ts = 123456789 + (i - 7000) * 160;
		feed(&s, (uint16_t)i, ts, 0xbbbb, 111, ts + 1000, 1);
	}
	assert_counts(&s, 44 + 26, 49 + 29);
	assert_int_equal(mr_rtp_stats_lost(&s), 8);
	assert_int_equal(mr_rtp_stats_jitter(&s), 0);	/* B's delay is constant */

	/* Back to A (its old sequence): another change, another probation. */
	feed_seq(&s, 50, 0xaaaa);
	assert_int_equal(mr_rtp_stats_ssrc_changes(&s), 2);
	assert_counts(&s, 70, 78);
	feed_seq(&s, 51, 0xaaaa);
	assert_counts(&s, 71, 79);

	/* A change during probation leaves the counts alone. */
	feed_seq(&s, 100, 0xcccc);
	feed_seq(&s, 900, 0xdddd);
	assert_int_equal(mr_rtp_stats_ssrc_changes(&s), 4);
	assert_counts(&s, 71, 79);
}

/* The A.8 fixed-point recurrence, written out independently of the implementation. */
static uint32_t
a8_expected(const uint32_t *transit, unsigned int n)
{
	int64_t jq = 0;			/* "s->jitter" of A.8, J * 16 */
	unsigned int i;

	for (i = 1; i < n; i++) {
		int64_t d = (int64_t)(int32_t)(transit[i] - transit[i - 1]);

		if (d < 0)
			d = -d;
		jq += d - ((jq + 8) >> 4);
	}
	return (uint32_t)(jq >> 4);
}

static void
test_jitter(void **state)
{
	struct mr_rtp_stats s;
	uint32_t transit[400];
	double jf = 0;
	unsigned int i;

	(void)state;
	/* Constant delay, with both clocks wrapping through 2^32. */
	mr_rtp_stats_init(&s);
	for (i = 0; i < 300; i++) {
		uint32_t ts = 0xffff0000u + i * 960;

		feed(&s, (uint16_t)(65400 + i), ts, 1, 111, ts + 0x7fffff00u, 1);
	}
	assert_int_equal(mr_rtp_stats_jitter(&s), 0);

	/* Alternating delay 0 / 40 units: |D| = 40 for every pair. The first packet is on
	 * probation (A.1) and the second only sets transit, so D starts at the third. */
	mr_rtp_stats_init(&s);
	for (i = 0; i < 400; i++) {
		uint32_t ts = 1000 + i * 160;
		uint32_t arrival = ts + 20000 + (i & 1) * 40;

		feed(&s, (uint16_t)i, ts, 2, 0, arrival, 1);
		transit[i] = arrival - ts;
		if (i == 20)
			assert_int_equal(mr_rtp_stats_jitter(&s),
					 a8_expected(transit + 1, 20));
	}
	assert_int_equal(mr_rtp_stats_jitter(&s), a8_expected(transit + 1, 399));
	/* The fixed-point form settles one unit under the real-valued J = 40. */
	assert_int_equal(mr_rtp_stats_jitter(&s), 39);
	for (i = 2; i < 400; i++)
		jf += (40.0 - jf) / 16.0;
	assert_true(jf > 39.0 && jf <= 40.0);

	/* Packets without a known clock leave jitter alone. */
	for (i = 400; i < 420; i++)
		feed(&s, (uint16_t)i, i * 160, 2, 0, 777777 * i, 0);
	assert_int_equal(mr_rtp_stats_jitter(&s), 39);
	assert_counts(&s, 419, 419);

	/* A known irregular pattern, including delays that shrink (D < 0). */
	mr_rtp_stats_init(&s);
	for (i = 0; i < 200; i++) {
		static const uint32_t delay[] = { 500, 530, 480, 700, 500, 505, 400, 900, 520 };
		uint32_t ts = i * 160;
		uint32_t arrival = ts + delay[i % 9];

		feed(&s, (uint16_t)(i + 30000), ts, 3, 0, arrival, 1);
		transit[i] = arrival - ts;
	}
	assert_int_equal(mr_rtp_stats_jitter(&s), a8_expected(transit + 1, 199));
	assert_true(mr_rtp_stats_jitter(&s) > 100);

	/* A sender restart (A.1 resync) restarts its timestamps too: the new transit is not
	 * differenced with the old one, so a constant-delay stream keeps J = 0. */
	mr_rtp_stats_init(&s);
	for (i = 0; i < 50; i++)
		feed(&s, (uint16_t)i, i * 160, 5, 0, i * 160 + 300, 1);
	for (i = 0; i < 50; i++)
		feed(&s, (uint16_t)(40000 + i), 0x70000000u + i * 160, 5, 0, i * 160 + 9000, 1);
	assert_counts(&s, 49 + 49, 49 + 49);
	assert_int_equal(mr_rtp_stats_jitter(&s), 0);

	/* Huge transit differences do not overflow. */
	mr_rtp_stats_init(&s);
	for (i = 0; i < 1000; i++)
		feed(&s, (uint16_t)i, 0, 4, 0, (i & 1) ? 0x80000000u : 0, 1);
	assert_int_equal(mr_rtp_stats_jitter(&s), 0x80000000u - 1);
}

static void
test_clock_rates(void **state)
{
	uint32_t want[128] = { 0 };
	unsigned int pt;

	(void)state;
	want[0] = want[3] = want[4] = want[5] = want[7] = want[8] = want[9] = 8000;
	want[12] = want[13] = want[15] = want[18] = 8000;
	want[6] = 16000;
	want[10] = want[11] = 44100;
	want[14] = want[25] = want[26] = want[28] = 90000;
	want[31] = want[32] = want[33] = want[34] = 90000;
	want[16] = 11025;
	want[17] = 22050;
	for (pt = 0; pt < 256; pt++)
		assert_int_equal(mr_static_pt_clock_rate((uint8_t)pt), pt < 128 ? want[pt] : 0);
}

/* xorshift64*: fixed seed, so a failure reproduces. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static void
test_hostile(void **state)
{
	struct mr_rtp_stats s;
	uint64_t seed = 77, prev_rx = 0;
	uint32_t changes = 0, prev_ssrc = 0;
	unsigned int i;
	uint8_t h[12];

	(void)state;
	mr_rtp_stats_init(&s);
	for (i = 0; i < 200000; i++) {
		uint64_t r = rnd(&seed);
		unsigned int k;

		for (k = 0; k < 12; k++)
			h[k] = (uint8_t)rnd(&seed);
		/* Mostly a few SSRCs, so that sequence logic runs too. */
		if (r & 1) {
			h[8] = h[9] = h[10] = 0;
			h[11] &= 3;
		}
		if (mr_rtp_stats_have_ssrc(&s) &&
		    ((uint32_t)h[8] << 24 | (uint32_t)h[9] << 16 | (uint32_t)h[10] << 8 | h[11]) !=
		    prev_ssrc)
			changes++;
		mr_rtp_stats_update(&s, h, (uint32_t)rnd(&seed), (int)(r >> 1) & 1);
		prev_ssrc = mr_rtp_stats_ssrc(&s);
		assert_int_equal(mr_rtp_stats_pt(&s), h[1] & 0x7f);
		assert_true(mr_rtp_stats_received(&s) >= prev_rx);
		assert_true(mr_rtp_stats_received(&s) <= prev_rx + 1);
		prev_rx = mr_rtp_stats_received(&s);
		assert_true(mr_rtp_stats_lost(&s) ==
			    (int64_t)mr_rtp_stats_expected(&s) - (int64_t)prev_rx);
	}
	assert_int_equal(mr_rtp_stats_ssrc_changes(&s), changes);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_gaps),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_reorder),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_jump_resync),
		cmocka_unit_test(test_ssrc_change),
		cmocka_unit_test(test_jitter),
		cmocka_unit_test(test_clock_rates),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
