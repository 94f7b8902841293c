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

#endif
