/* SPDX-License-Identifier: BSD-3-Clause
 * G.711 (ITU-T G.711, 1988): 16-bit linear samples to mu-law (PCMU, RTP payload type 0) and
 * A-law (PCMA, payload type 8), one byte a sample, and back (for the tests). Used to play a
 * voice message, stored as Opus, into a call that negotiated G.711 (controlplane/media/
 * player.c). Pure C, no tables, tests/unit/test_g711.c.
 */
#ifndef MR_G711_H
#define MR_G711_H

#include <stddef.h>
#include <stdint.h>

uint8_t mr_g711_ulaw(int16_t s);
uint8_t mr_g711_alaw(int16_t s);
int16_t mr_g711_ulaw_dec(uint8_t u);
int16_t mr_g711_alaw_dec(uint8_t a);
/* n samples of pcm into n bytes of out, mu-law (alaw 0) or A-law (alaw 1). */
void mr_g711_encode(const int16_t *pcm, uint8_t *out, size_t n, int alaw);

#endif
