/* SPDX-License-Identifier: BSD-3-Clause
 * WAV files for ng's play media (docs/NG.md "Playing media"): what carriers keep their prompts
 * in. A RIFF/WAVE file of 16-bit PCM, A-law or mu-law, mono or stereo (mixed down), at 8, 12,
 * 16, 24 or 48 kHz is read with every length checked against the file, and encoded once into
 * Opus packets of 20 ms (libopus at the file's own rate, 32 kbit/s, VoIP mode): then it plays
 * as a stored message does (controlplane/media/player.c: Opus as it is, G.711 decoded at
 * 8 kHz a packet at a time). Pure C on libopus; tests/unit/test_wavread.c, tests/fuzz.
 */
#ifndef MR_WAVREAD_H
#define MR_WAVREAD_H

#include <stddef.h>
#include <stdint.h>

struct mr_msg_audio;

/* Is buf a RIFF/WAVE file (by its first 12 bytes)? */
int mr_wav_is(const uint8_t *buf, size_t len);
/* The file's audio as Opus packets (messages.h; its id ""): NULL with the reason in err ("WAV:
 * ..."). Encoding costs the caller's thread about 1 ms per second of audio. */
struct mr_msg_audio *mr_wav_to_audio(const uint8_t *buf, size_t len, char *err, size_t errlen);

#endif
