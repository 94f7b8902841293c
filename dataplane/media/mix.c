/* SPDX-License-Identifier: BSD-3-Clause
 * Summing, N-1, the limiter and loudest-speaker selection of a mixing room (mix.h).
 */
#include <stdlib.h>

#include "mix.h"

#define UNITY_Q15 32768

void
mr_mix_add(int32_t *acc, const int16_t *pcm, uint32_t gain_q8, unsigned int n)
{
	unsigned int i;

	if (gain_q8 == MR_MIX_UNITY_Q8) {
		for (i = 0; i < n; i++)
			acc[i] += pcm[i];
		return;
	}
	for (i = 0; i < n; i++)
		acc[i] += (int32_t)(((int64_t)pcm[i] * gain_q8) >> 8);
}

void
mr_mix_minus(int32_t *out, const int32_t *sum, const int16_t *own, uint32_t gain_q8,
	     unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		out[i] = sum[i] - (gain_q8 == MR_MIX_UNITY_Q8 ? own[i] :
				   (int32_t)(((int64_t)own[i] * gain_q8) >> 8));
}

void
mr_limiter_init(struct mr_limiter *l)
{
	l->gain_q15 = UNITY_Q15;
}

void
mr_limit(struct mr_limiter *l, const int32_t *in, int16_t *out, unsigned int n)
{
	int32_t peak = 0, target, step, g = l->gain_q15;
	unsigned int i;

	for (i = 0; i < n; i++) {
		int32_t a = abs(in[i]);

		if (a > peak)
			peak = a;
	}
	target = peak > MR_LIMIT_CEIL ?
		(int32_t)(((int64_t)MR_LIMIT_CEIL << 15) / peak) : UNITY_Q15;
	/* Never 0, which would lose the sign: a sum beyond 2^30 (not reachable from 16-bit
	 * frames of fewer than 32768 speakers) ends at the clamp instead. */
	if (target < 1)
		target = 1;
	/* Attack: a straight ramp to target within MR_LIMIT_ATTACK samples (not a step); a
	 * peak inside the ramp is caught by the clamp below. */
	step = target < g ? (g - target + MR_LIMIT_ATTACK - 1) / MR_LIMIT_ATTACK : 0;
	for (i = 0; i < n; i++) {
		int64_t v;

		if (target < g) {
			g = g - step < target ? target : g - step;
		} else if (g < target) {
			/* Release: 1/2048 of the distance a sample (a 43 ms time constant). */
			g += (target - g + 2047) >> 11;
		}
		v = ((int64_t)in[i] * g) >> 15;
		out[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
	}
	l->gain_q15 = g;
}

uint32_t
mr_mix_level(const int16_t *pcm, uint32_t gain_q8, unsigned int n)
{
	uint32_t acc = 0;		/* 960 x 32768 fits: no 64-bit adds in the loop */
	unsigned int i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		acc += (uint32_t)abs(pcm[i]);
	return (uint32_t)((uint64_t)(acc / n) * gain_q8 >> 8);
}

uint32_t
mr_mix_level_smooth(uint32_t smoothed, uint32_t level)
{
	uint32_t x = level << MR_MIX_LEVEL_SHIFT;

	if (x > smoothed)
		return smoothed + ((x - smoothed + 1) >> 1);
	/* Rounded up, so that silence brings it to 0 rather than leaving a remainder. */
	return smoothed - ((smoothed - x + 15) >> 4);
}

static inline uint64_t
select_score(const struct mr_mix_cand *c)
{
	return c->was ? (uint64_t)c->level + (c->level >> 1) : c->level;
}

unsigned int
mr_mix_select(struct mr_mix_cand *c, unsigned int n, unsigned int k)
{
	/* The k best so far, loudest first: indices into c[], their scores alongside. */
	uint32_t top[MR_MIX_MAX_SPEAKERS];
	uint64_t score[MR_MIX_MAX_SPEAKERS];
	unsigned int i, j, m = 0;

	if (k > MR_MIX_MAX_SPEAKERS)
		k = MR_MIX_MAX_SPEAKERS;
	/* k 0 is the room's "mix everyone". */
	for (i = 0; i < n; i++)
		c[i].sel = k == 0 || n <= k;
	if (k == 0 || n <= k)
		return n;
	for (i = 0; i < n; i++) {
		uint64_t s = select_score(&c[i]);

		/* Most candidates stop here: not louder than the quietest of a full top k. */
		if (m == k && s <= score[k - 1])
			continue;
		j = m < k ? m++ : k - 1;
		/* Strictly louder moves up: ties keep the earlier candidate first. */
		for (; j > 0 && score[j - 1] < s; j--) {
			top[j] = top[j - 1];
			score[j] = score[j - 1];
		}
		top[j] = i;
		score[j] = s;
	}
	for (j = 0; j < m; j++)
		c[top[j]].sel = 1;
	return m;
}
