/* SPDX-License-Identifier: BSD-3-Clause
 * G.711 companding (g711.h): each sample's magnitude falls in one of 8 segments (the position
 * of its highest set bit); the code is the sign, the segment and the 4 bits below the highest
 * one, with the standard's bit inversions (mu-law: all bits; A-law: the even bits, 0x55).
 */
#include "g711.h"

/* The segment of v (0..7): the number of doublings of lim that v exceeds, 8 when v passes
 * the last one. */
static unsigned int
g711_seg(unsigned int v, unsigned int lim)
{
	unsigned int seg = 0;

	while (seg < 8 && v > lim) {
		lim = lim * 2 + 1;
		seg++;
	}
	return seg;
}

/* mu-law: 14-bit magnitude plus the bias 33, segments ending at 0x3f, 0x7f, ... 0x1fff. */
uint8_t
mr_g711_ulaw(int16_t s)
{
	int v = s >> 2;
	unsigned int mask = 0xff, seg, mag;

	if (v < 0) {
		v = -v;
		mask = 0x7f;
	}
	mag = (unsigned int)v + 33;
	if (mag > 0x1fff)
		mag = 0x1fff;
	seg = g711_seg(mag, 0x3f);
	return (uint8_t)(((seg << 4) | ((mag >> (seg + 1)) & 0xf)) ^ mask);
}

/* A-law: 13-bit magnitude, segments ending at 0x1f, 0x3f, ... 0xfff; segments 0 and 1 share
 * the step of 2. */
uint8_t
mr_g711_alaw(int16_t s)
{
	int v = s >> 3;
	unsigned int mask = 0xd5, seg, mag;

	if (v < 0) {
		v = -v - 1;
		mask = 0x55;
	}
	mag = (unsigned int)v;
	seg = g711_seg(mag, 0x1f);
	if (seg >= 8)
		return (uint8_t)(0x7f ^ mask);
	return (uint8_t)(((seg << 4) | ((mag >> (seg < 2 ? 1 : seg)) & 0xf)) ^ mask);
}

int16_t
mr_g711_ulaw_dec(uint8_t u)
{
	unsigned int x = (uint8_t)~u, seg = (x >> 4) & 7;
	int t = (int)((((x & 0xf) << 3) + 0x84) << seg);

	return (int16_t)((x & 0x80) ? 0x84 - t : t - 0x84);
}

int16_t
mr_g711_alaw_dec(uint8_t a)
{
	unsigned int x = a ^ 0x55u, seg = (x >> 4) & 7;
	int t = (int)((x & 0xf) << 4);

	if (seg == 0)
		t += 8;
	else if (seg == 1)
		t += 0x108;
	else
		t = (t + 0x108) << (seg - 1);
	return (int16_t)((x & 0x80) ? t : -t);
}

void
mr_g711_encode(const int16_t *pcm, uint8_t *out, size_t n, int alaw)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = alaw ? mr_g711_alaw(pcm[i]) : mr_g711_ulaw(pcm[i]);
}
