/* SPDX-License-Identifier: BSD-3-Clause
 * The pure parts of a mixing room (dataplane/media/): the jitter buffer (reordering, loss with
 * FEC and concealment, late and duplicate packets, clock drift, the end of a talk spurt) and
 * the mixer and limiter (sums, N-1, loud inputs without wraparound, a smooth gain), the
 * loudest-speaker selection (levels, smoothing, the K loudest, hysteresis), with real Opus
 * packets from libopus where decoding matters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jbuf.h"
#include "mix.h"

static const uint8_t PKT[3] = { 0xf8, 1, 2 };

static void
put(struct mr_jb *jb, uint16_t seq, enum mr_jb_put_res want)
{
	uint8_t p[3] = { 0xf8, (uint8_t)seq, (uint8_t)(seq >> 8) };

	assert_int_equal(mr_jb_put(jb, seq, p, sizeof(p)), want);
}

/* The next tick gives res, and for a packet or FEC, the packet of sequence seq. */
static void
get(struct mr_jb *jb, enum mr_jb_out want, int seq)
{
	const uint8_t *d = NULL;
	uint16_t len = 0;

	assert_int_equal(mr_jb_get(jb, &d, &len), want);
	if (want == MR_JB_PACKET || want == MR_JB_FEC) {
		assert_int_equal(len, 3);
		assert_int_equal(d[1] | d[2] << 8, seq);
	}
}

static void
test_jb_reorder(void **state)
{
	struct mr_jb jb;

	(void)state;
	mr_jb_init(&jb, 3);
	put(&jb, 101, MR_JB_STORED);
	get(&jb, MR_JB_NONE, 0);		/* not deep enough yet */
	put(&jb, 100, MR_JB_STORED);
	put(&jb, 102, MR_JB_STORED);
	put(&jb, 102, MR_JB_DUP);
	assert_int_equal(mr_jb_depth(&jb), 3);
	get(&jb, MR_JB_PACKET, 100);
	put(&jb, 104, MR_JB_STORED);
	put(&jb, 103, MR_JB_STORED);		/* out of order, in time */
	get(&jb, MR_JB_PACKET, 101);
	get(&jb, MR_JB_PACKET, 102);
	get(&jb, MR_JB_PACKET, 103);
	put(&jb, 100, MR_JB_LATE);		/* played already */
	get(&jb, MR_JB_PACKET, 104);
	assert_int_equal(jb.st.played, 5);
	assert_int_equal(jb.st.late, 1);
	assert_int_equal(jb.st.dup, 1);
	assert_int_equal(mr_jb_put(&jb, 105, PKT, 0), MR_JB_TOO_BIG);
}

static void
test_jb_loss_fec_plc(void **state)
{
	struct mr_jb jb;
	int i;

	(void)state;
	mr_jb_init(&jb, 2);
	put(&jb, 10, MR_JB_STORED);
	put(&jb, 11, MR_JB_STORED);
	put(&jb, 13, MR_JB_STORED);		/* 12 lost, 13 here: FEC */
	put(&jb, 16, MR_JB_STORED);		/* 14 and 15 lost: concealed, then FEC */
	get(&jb, MR_JB_PACKET, 10);
	get(&jb, MR_JB_PACKET, 11);
	get(&jb, MR_JB_FEC, 13);		/* frame 12 from 13's FEC */
	put(&jb, 12, MR_JB_LATE);		/* too late now */
	get(&jb, MR_JB_PACKET, 13);
	get(&jb, MR_JB_PLC, 0);			/* 14 */
	get(&jb, MR_JB_FEC, 16);		/* 15 */
	get(&jb, MR_JB_PACKET, 16);
	assert_int_equal(jb.st.fec, 2);
	assert_int_equal(jb.st.concealed, 1);
	/* The sender stops: a few frames are concealed, then silence, and playout waits for
	 * depth packets again. */
	for (i = 0; i < MR_JB_MAX_PLC; i++)
		get(&jb, MR_JB_PLC, 0);
	get(&jb, MR_JB_NONE, 0);
	get(&jb, MR_JB_NONE, 0);
	put(&jb, 400, MR_JB_STORED);		/* a new talk spurt, far ahead */
	get(&jb, MR_JB_NONE, 0);
	put(&jb, 401, MR_JB_STORED);
	get(&jb, MR_JB_PACKET, 400);
	assert_int_equal(jb.st.concealed, 1 + MR_JB_MAX_PLC);
}

static void
test_jb_drift(void **state)
{
	struct mr_jb jb;
	unsigned int i, ticks = 0, held_max = 0;
	uint16_t seq = 65530;			/* wraps */

	(void)state;
	mr_jb_init(&jb, 3);
	/* The sender's clock runs 10 % fast: 11 packets every 10 ticks. The buffer never
	 * holds more than depth + slack, and skips what is too much. */
	for (i = 0; i < 1100; i++) {
		put(&jb, seq++, MR_JB_STORED);
		if (i % 11 != 10) {
			const uint8_t *d;
			uint16_t len;

			mr_jb_get(&jb, &d, &len);
			ticks++;
		}
		if (mr_jb_depth(&jb) > held_max)
			held_max = mr_jb_depth(&jb);
	}
	assert_true(held_max <= 3 + MR_JB_SLACK + 1);
	assert_true(jb.st.skipped >= 90 && jb.st.skipped <= 100);
	assert_int_equal(jb.st.concealed, 0);
	assert_int_equal(jb.st.played + jb.st.skipped + mr_jb_depth(&jb), 1100);
	/* The sender's clock runs slow: the buffer runs dry now and then and conceals. */
	mr_jb_init(&jb, 2);
	for (i = 0; i < 200; i++) {
		const uint8_t *d;
		uint16_t len;

		if (i % 10 != 9)
			put(&jb, seq++, MR_JB_STORED);
		mr_jb_get(&jb, &d, &len);
	}
	assert_true(jb.st.concealed > 0);
	assert_int_equal(jb.st.skipped, 0);
	assert_int_equal(jb.st.late, 0);
}

static void
test_mix_sums(void **state)
{
	int16_t a[MR_MIX_FRAME], b[MR_MIX_FRAME], c[MR_MIX_FRAME];
	int32_t sum[MR_MIX_FRAME] = { 0 }, nm1[MR_MIX_FRAME];
	unsigned int i;

	(void)state;
	for (i = 0; i < MR_MIX_FRAME; i++) {
		a[i] = (int16_t)(i * 7);
		b[i] = (int16_t)(-(int)i * 3);
		c[i] = (int16_t)(1000 - (int)i);
	}
	mr_mix_add(sum, a, MR_MIX_UNITY_Q8, MR_MIX_FRAME);
	mr_mix_add(sum, b, MR_MIX_UNITY_Q8, MR_MIX_FRAME);
	mr_mix_add(sum, c, 128, MR_MIX_FRAME);		/* half gain */
	for (i = 0; i < MR_MIX_FRAME; i++)
		assert_int_equal(sum[i], a[i] + b[i] + (c[i] >> 1));
	/* N-1: everyone but b, and everyone but c (with its gain). */
	mr_mix_minus(nm1, sum, b, MR_MIX_UNITY_Q8, MR_MIX_FRAME);
	for (i = 0; i < MR_MIX_FRAME; i++)
		assert_int_equal(nm1[i], a[i] + (c[i] >> 1));
	mr_mix_minus(nm1, sum, c, 128, MR_MIX_FRAME);
	for (i = 0; i < MR_MIX_FRAME; i++)
		assert_int_equal(nm1[i], a[i] + b[i]);
}

static void
test_limiter(void **state)
{
	int32_t in[MR_MIX_FRAME];
	int16_t out[MR_MIX_FRAME], prev = 0;
	struct mr_limiter l;
	unsigned int i, f;
	int32_t last_gain;

	(void)state;
	mr_limiter_init(&l);
	/* Quiet: untouched. */
	for (i = 0; i < MR_MIX_FRAME; i++)
		in[i] = (i & 1) ? 12000 : -12000;
	mr_limit(&l, in, out, MR_MIX_FRAME);
	for (i = 0; i < MR_MIX_FRAME; i++)
		assert_int_equal(out[i], in[i]);
	/* Three loud speakers summed (3 x 30000): never wraps, signs kept, below full scale
	 * after the attack, and the gain moves in small steps. */
	for (f = 0; f < 5; f++) {
		for (i = 0; i < MR_MIX_FRAME; i++)
			in[i] = ((i / 12) & 1) ? 90000 : -90000;
		last_gain = l.gain_q15;
		mr_limit(&l, in, out, MR_MIX_FRAME);
		for (i = 0; i < MR_MIX_FRAME; i++) {
			assert_true((out[i] > 0) == (in[i] > 0));
			if (f > 0 || i >= MR_LIMIT_ATTACK)
				assert_true(abs(out[i]) <= MR_LIMIT_CEIL);
			/* The same input twice: the output moves by the gain's ramp step at
			 * most (a gain step of 1.0 / MR_LIMIT_ATTACK a sample). */
			if (i > 0 && in[i] == in[i - 1])
				assert_true(abs(out[i] - prev) <= abs(in[i]) / MR_LIMIT_ATTACK + 2);
			prev = out[i];
		}
		assert_true(l.gain_q15 <= last_gain);
	}
	/* Quiet again: the gain comes back slowly, not at once. */
	for (i = 0; i < MR_MIX_FRAME; i++)
		in[i] = 1000;
	last_gain = l.gain_q15;
	mr_limit(&l, in, out, MR_MIX_FRAME);
	assert_true(l.gain_q15 > last_gain && l.gain_q15 < 32768);
	for (f = 0; f < 50; f++)
		mr_limit(&l, in, out, MR_MIX_FRAME);
	assert_true(l.gain_q15 > 32768 - 64);
	/* Extremes: INT32 sums far out of range are clamped, never wrapped. */
	mr_limiter_init(&l);
	for (i = 0; i < MR_MIX_FRAME; i++)
		in[i] = (i & 1) ? 2000000000 : -2000000000;
	mr_limit(&l, in, out, MR_MIX_FRAME);
	for (i = 0; i < MR_MIX_FRAME; i++)
		assert_true((out[i] > 0) == (in[i] > 0));
}

static void
test_mix_level(void **state)
{
	int16_t pcm[MR_MIX_FRAME];
	unsigned int i;

	(void)state;
	for (i = 0; i < MR_MIX_FRAME; i++)
		pcm[i] = (int16_t)((i & 1) ? 1000 : -1000);
	assert_int_equal(mr_mix_level(pcm, MR_MIX_UNITY_Q8, MR_MIX_FRAME), 1000);
	assert_int_equal(mr_mix_level(pcm, 128, MR_MIX_FRAME), 500);
	assert_int_equal(mr_mix_level(pcm, 0, MR_MIX_FRAME), 0);	/* muted */
	/* Full scale both ways: no overflow of the 32-bit sum, -32768 counted as 32768. */
	for (i = 0; i < MR_MIX_FRAME; i++)
		pcm[i] = (int16_t)((i & 1) ? 32767 : -32768);
	assert_int_equal(mr_mix_level(pcm, MR_MIX_UNITY_Q8, MR_MIX_FRAME), 32767);
	assert_int_equal(mr_mix_level(pcm, MR_MIX_UNITY_Q8, 0), 0);
}

static void
test_mix_level_smooth(void **state)
{
	uint32_t s = 0;
	unsigned int t;

	(void)state;
	/* Attack: half the way a tick. */
	s = mr_mix_level_smooth(s, 1000);
	assert_int_equal(s, 500 << MR_MIX_LEVEL_SHIFT);
	s = mr_mix_level_smooth(s, 1000);
	assert_int_equal(s, 750 << MR_MIX_LEVEL_SHIFT);
	for (t = 0; t < 30; t++)
		s = mr_mix_level_smooth(s, 1000);
	assert_int_equal(s, 1000 << MR_MIX_LEVEL_SHIFT);
	/* Release: 1/16 a tick, so ten ticks of silence keep more than a third... */
	for (t = 0; t < 10; t++)
		s = mr_mix_level_smooth(s, 0);
	assert_true(s > (1000 << MR_MIX_LEVEL_SHIFT) / 3 &&
		    s < (1000 << MR_MIX_LEVEL_SHIFT) * 6 / 10);
	/* ...and it comes all the way down to 0, no remainder. */
	for (t = 0; t < 300; t++)
		s = mr_mix_level_smooth(s, 0);
	assert_int_equal(s, 0);
	assert_int_equal(mr_mix_level_smooth(0, 0), 0);
	assert_int_equal(mr_mix_level_smooth(0, 32767), (32767 << MR_MIX_LEVEL_SHIFT) / 2);
}

static void
cands(struct mr_mix_cand *c, const uint32_t *level, const uint8_t *was, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		c[i].level = level[i];
		c[i].idx = 100 + i;
		c[i].was = was != NULL ? was[i] : 0;
		c[i].sel = 7;			/* must be overwritten, 0 or 1 */
	}
}

/* sel[] as a bit mask, checking each is 0 or 1. */
static unsigned int
selected(const struct mr_mix_cand *c, unsigned int n)
{
	unsigned int i, mask = 0;

	for (i = 0; i < n; i++) {
		assert_true(c[i].sel <= 1);
		assert_int_equal(c[i].idx, 100 + i);
		mask |= (unsigned int)c[i].sel << i;
	}
	return mask;
}

/* The mask of those mr_mix_select picks of n candidates (levels lv, last tick's choice was)
 * for k places, checking the count it returns. */
static unsigned int
pick(const uint32_t *lv, const uint8_t *was, unsigned int n, unsigned int k)
{
	struct mr_mix_cand c[8];

	cands(c, lv, was, n);
	assert_int_equal(mr_mix_select(c, n, k), k == 0 || n <= k ? n : k);
	return selected(c, n);
}

static void
test_mix_select(void **state)
{
	static const uint32_t lv[6] = { 300, 900, 250, 700, 900, 50 };
	static const uint8_t was[6] = { 0, 0, 1, 0, 0, 1 };
	static const struct {
		const uint8_t *was;
		unsigned int k, want;
	} t[] = {
		/* The loudest k, whatever their order; the tie (1 and 4) goes to the earlier. */
		{ NULL, 1, 1u << 1 },
		{ NULL, 2, 1u << 1 | 1u << 4 },
		{ NULL, 3, 1u << 1 | 1u << 3 | 1u << 4 },
		{ NULL, 4, 1u << 0 | 1u << 1 | 1u << 3 | 1u << 4 },
		/* n <= k, and k 0 (everyone): all of them, whatever their level. */
		{ NULL, 6, 0x3f },
		{ NULL, 0, 0x3f },
		/* Hysteresis: those in the mix last tick count 1.5 times: 2 (250 -> 375) now
		 * beats 0 (300) for the fourth place; 5 (50 -> 75) still loses the fifth. */
		{ was, 4, 1u << 1 | 1u << 2 | 1u << 3 | 1u << 4 },
		{ was, 5, 0x3fu & ~(1u << 5) },
		{ was, 3, 1u << 1 | 1u << 3 | 1u << 4 },
	};
	struct mr_mix_cand c[MR_MIX_MAX_SPEAKERS + 2];
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(pick(lv, t[i].was, 6, t[i].k), t[i].want);
	assert_int_equal(mr_mix_select(c, 0, 3), 0);
	/* One in the mix at 1000 keeps its place against 1499, loses it to 1501. */
	assert_int_equal(pick((const uint32_t[]){ 1000, 1499 }, (const uint8_t[]){ 1, 0 }, 2, 1),
			 1);
	assert_int_equal(pick((const uint32_t[]){ 1000, 1501 }, (const uint8_t[]){ 1, 0 }, 2, 1),
			 2);
	/* k above MR_MIX_MAX_SPEAKERS is capped: 66 candidates, the two quietest left out. */
	for (i = 0; i < MR_MIX_MAX_SPEAKERS + 2; i++) {
		c[i].level = i == 10 || i == 20 ? 1 : 1000 + i;
		c[i].was = 0;
	}
	assert_int_equal(mr_mix_select(c, MR_MIX_MAX_SPEAKERS + 2, 1000), MR_MIX_MAX_SPEAKERS);
	for (i = 0; i < MR_MIX_MAX_SPEAKERS + 2; i++)
		assert_int_equal(c[i].sel, i != 10 && i != 20);
}

/* A room as media_room_tick runs it: n speakers' frame levels a tick, smoothed, selected
 * with last tick's choice, ticks from..to-1. Returns how often the selection changed. */
static unsigned int
room_run(uint32_t *smooth, uint8_t *in_mix, unsigned int n, unsigned int k,
	 unsigned int from, unsigned int to, uint32_t (*level)(unsigned int who, unsigned int t))
{
	struct mr_mix_cand c[8];
	unsigned int t, i, changes = 0;

	for (t = from; t < to; t++) {
		for (i = 0; i < n; i++) {
			smooth[i] = mr_mix_level_smooth(smooth[i], level(i, t));
			c[i].level = smooth[i];
			c[i].idx = i;
			c[i].was = in_mix[i];
		}
		mr_mix_select(c, n, k);
		for (i = 0; i < n; i++) {
			changes += c[i].sel != in_mix[i];
			in_mix[i] = c[i].sel;
		}
	}
	return changes;
}

/* 0 and 1 talk about as loud as each other, each a little louder every other tick (speech
 * is not steady); 2 is quiet. */
static uint32_t
lv_close(unsigned int who, unsigned int t)
{
	return who == 2 ? 200 : (who ^ (t & 1)) ? 1000 : 1250;
}

/* 0 stops talking at tick 50 (its frames go quiet); 1 goes on. */
static uint32_t
lv_stop(unsigned int who, unsigned int t)
{
	return who == 0 ? (t < 50 ? 1000 : 20) : 900;
}

static void
test_mix_select_hysteresis(void **state)
{
	uint32_t sm[3] = { 0 };
	uint8_t in[3] = { 0 };
	unsigned int changes;

	(void)state;
	/* Two of about the same level, one place: whoever has it keeps it (without the
	 * hysteresis the choice would follow every tick's louder one). */
	changes = room_run(sm, in, 3, 1, 0, 100, lv_close);
	assert_int_equal(in[2], 0);
	assert_true(changes <= 2);		/* the first pick, at most one correction */
	/* Two places: the quiet one never gets in. */
	memset(sm, 0, sizeof(sm));
	memset(in, 0, sizeof(in));
	room_run(sm, in, 3, 2, 0, 100, lv_close);
	assert_true(in[0] && in[1] && !in[2]);
	/* The one in the mix stops: the other takes its place within a few frames (the slow
	 * release keeps it over the pauses between words, not longer). */
	memset(sm, 0, sizeof(sm));
	memset(in, 0, sizeof(in));
	room_run(sm, in, 2, 1, 0, 50, lv_stop);
	assert_true(in[0] && !in[1]);
	room_run(sm, in, 2, 1, 50, 53, lv_stop);
	assert_true(in[0] && !in[1]);		/* a pause of 60 ms: it keeps its place */
	room_run(sm, in, 2, 1, 53, 63, lv_stop);
	assert_true(!in[0] && in[1]);		/* 260 ms: it has lost it */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jb_reorder),
		cmocka_unit_test(test_jb_loss_fec_plc),
		cmocka_unit_test(test_jb_drift),
		cmocka_unit_test(test_mix_sums),
		cmocka_unit_test(test_limiter),
		cmocka_unit_test(test_mix_level),
		cmocka_unit_test(test_mix_level_smooth),
		cmocka_unit_test(test_mix_select),
		cmocka_unit_test(test_mix_select_hysteresis),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
