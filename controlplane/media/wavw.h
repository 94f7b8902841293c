/* SPDX-License-Identifier: BSD-3-Clause
 * G.711 recordings without transcoding: the PCMU (payload type 0) or PCMA (8) payloads of one
 * RTP stream written as they are into a WAV file (RIFF WAVE, format 7 mu-law or 6 A-law,
 * 8 kHz mono, a fact chunk with the sample count), what a carrier's SIP call carries and every
 * player reads. WAV has no timestamps: a gap in the RTP timestamps (loss, a held call) is
 * filled with G.711 silence so that the file keeps the call's timeline (up to
 * MR_WAV_MAX_GAP at once: a larger jump is a new start, counted); packets that go back in
 * time, or of another payload type (RFC 4733 telephone events, comfort noise), are skipped and
 * counted. The header's sizes are brought up to date at least every second of audio, so a
 * file cut short by a crash still plays what it holds.
 *
 * Pure C (stdio), for the recording writer thread (recorder.c); tests/unit/test_wavw.c.
 */
#ifndef MR_WAVW_H
#define MR_WAVW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MR_WAV_HDR 58			/* RIFF + fmt (18) + fact + data headers */
#define MR_WAV_MAX_GAP 80000		/* samples of silence written for one gap: 10 s */
#define MR_WAV_SYNC 8000		/* samples between header updates: 1 s */

struct mr_wavw {
	FILE *f;
	uint8_t pt;			/* 0 (PCMU) or 8 (PCMA) */
	uint8_t started;
	uint32_t next_ts;		/* RTP timestamp the next packet should have */
	uint64_t samples;		/* in the file */
	uint64_t synced;		/* samples when the header was last updated */
	/* counters (the writer's; read by others with relaxed loads) */
	uint64_t packets;		/* packets written */
	uint64_t bytes;			/* bytes written to the file */
	uint64_t gaps;			/* timestamp jumps filled with silence */
	uint64_t skipped;		/* reordered, duplicate, other payload types */
};

/* Is pt a payload type written as WAV (0: PCMU, 8: PCMA)? */
static inline int
mr_wav_pt(unsigned int pt)
{
	return pt == 0 || pt == 8;
}

/* Open path for writing (truncating it) for payload type pt (0 or 8). 0 or -errno. */
int mr_wavw_open(struct mr_wavw *w, const char *path, uint8_t pt);
/* One RTP packet's payload with its payload type and timestamp: 0 written, 1 skipped
 * (counted), -errno on a write error (close the file). */
int mr_wavw_packet(struct mr_wavw *w, uint8_t pt, uint32_t rtp_ts, const uint8_t *pl,
		   size_t len);
/* Final sizes into the header, and close. 0 or -errno. Always closes. */
int mr_wavw_close(struct mr_wavw *w);

#endif
