/* SPDX-License-Identifier: BSD-3-Clause
 * Mixing for audio rooms (issue 12 §1), for the media lcore: everyone's decoded 20 ms frame is
 * summed once in 32 bits; each speaker's N-1 mix is that sum less its own frame; a limiter
 * brings the sum into 16 bits with a smooth gain (no clipping, no wraparound). Pure C, no
 * allocation (tests/unit/test_media.c).
 */
#ifndef MR_MIX_H
#define MR_MIX_H

#include <stdint.h>

#define MR_MIX_FRAME 960		/* 20 ms at 48 kHz, mono */
#define MR_MIX_UNITY_Q8 256		/* gain 1.0 in Q8 */
/* The limiter's ceiling: -1 dBFS, so what the Opus encoder gets never sits at full scale. */
#define MR_LIMIT_CEIL 29204

/* acc[i] += pcm[i] * gain_q8 / 256 */
void mr_mix_add(int32_t *acc, const int16_t *pcm, uint32_t gain_q8, unsigned int n);
/* out[i] = sum[i] - own[i] * gain_q8 / 256: the mix of everyone else. */
void mr_mix_minus(int32_t *out, const int32_t *sum, const int16_t *own, uint32_t gain_q8,
		  unsigned int n);

/* A limiter's state: its gain (Q15, 1.0 = 32768), carried from frame to frame. */
struct mr_limiter {
	int32_t gain_q15;
};

void mr_limiter_init(struct mr_limiter *l);
/* in (32-bit sums) → out (16-bit). The frame's peak is known before any sample is written
 * (one frame of look-ahead): when it would pass MR_LIMIT_CEIL the gain falls to what fits,
 * ramping within the first MR_LIMIT_ATTACK samples (no step); when the signal gets quieter
 * again the gain returns towards 1.0 slowly (release, a 43 ms time constant). Samples are
 * clamped as a last resort (a peak inside the attack ramp), never wrapped. */
void mr_limit(struct mr_limiter *l, const int32_t *in, int16_t *out, unsigned int n);
#define MR_LIMIT_ATTACK 48		/* 1 ms */

/* Loudest-speaker selection (a room's mix_max_speakers, K): when more than K participants
 * have a frame in a tick, only the K loudest are summed and get an N-1 of their own; the
 * others hear the room's shared encoding of those K. Nobody can follow more than a few
 * simultaneous talkers, and every speaker left out saves its encoder (the costly part,
 * docs/PERFORMANCE.md "Mixing"). */
#define MR_MIX_MAX_SPEAKERS 64		/* K at most */
#define MR_MIX_LEVEL_SHIFT 4		/* smoothed levels carry 4 fractional bits */

/* A frame's level: its mean absolute sample times gain_q8 / 256, i.e. what it would bring to
 * the sum (a muted participant's is 0). One pass, no multiply per sample. */
uint32_t mr_mix_level(const int16_t *pcm, uint32_t gain_q8, unsigned int n);
/* The smoothed level (Q MR_MIX_LEVEL_SHIFT) after a frame of level: it rises fast (half the
 * distance a tick: a new talker is heard within 2-3 frames) and falls slowly (1/16 a tick, a
 * 320 ms time constant: the pauses between words do not cost a talker its place). */
uint32_t mr_mix_level_smooth(uint32_t smoothed, uint32_t level);

/* One participant with a frame this tick, for mr_mix_select. */
struct mr_mix_cand {
	uint32_t level;			/* smoothed (mr_mix_level_smooth) */
	uint32_t idx;			/* the caller's: which participant */
	uint8_t was;			/* in: was in the mix last tick */
	uint8_t sel;			/* out: in the mix this tick */
};

/* Marks sel on the k (1..MR_MIX_MAX_SPEAKERS) loudest of the n candidates (all of them when
 * n <= k or k is 0); returns how many. Hysteresis: one in the mix last tick counts 1.5 times
 * its level (3.5 dB), so a newcomer takes its place only when clearly louder, and two talkers
 * of about the same level do not swap every tick. Ties go to the earlier candidate. O(n k) at
 * worst, O(n) for most candidates (one comparison with the quietest of the k so far). */
unsigned int mr_mix_select(struct mr_mix_cand *c, unsigned int n, unsigned int k);

#endif
