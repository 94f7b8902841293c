/* SPDX-License-Identifier: BSD-3-Clause
 * WAV files into Opus packets (wavread.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <opus/opus.h>

#include "g711.h"
#include "messages.h"
#include "wavread.h"

#define WAV_FMT_PCM 1
#define WAV_FMT_ALAW 6
#define WAV_FMT_ULAW 7
#define WAV_FMT_EXT 0xFFFE
#define WAV_PKT_MAX 400			/* bytes of one Opus packet at most (32 kbit/s: ~80) */
#define WAV_FRAMES_MAX (50u * 3600)	/* an hour of 20 ms frames */

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

int
mr_wav_is(const uint8_t *buf, size_t len)
{
	return len >= 12 && memcmp(buf, "RIFF", 4) == 0 && memcmp(buf + 8, "WAVE", 4) == 0;
}

/* Sample i (of channel c) of the data as 16-bit linear. */
static int16_t
sample(const uint8_t *d, unsigned int fmt, unsigned int ch, size_t i, unsigned int c)
{
	if (fmt == WAV_FMT_PCM)
		return (int16_t)rd16(d + 2 * (i * ch + c));
	if (fmt == WAV_FMT_ALAW)
		return mr_g711_alaw_dec(d[i * ch + c]);
	return mr_g711_ulaw_dec(d[i * ch + c]);
}

struct mr_msg_audio *
mr_wav_to_audio(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	const uint8_t *data = NULL, *p, *end = buf + len;
	unsigned int fmt = 0, ch = 0, bits = 0, frame, i, k;
	uint32_t rate = 0;
	size_t dlen = 0, bps, n, frames, off = 0;
	struct mr_msg_audio *au = NULL;
	OpusEncoder *enc = NULL;
	opus_int16 pcm[960];
	int e;

	if (!mr_wav_is(buf, len)) {
		snprintf(err, errlen, "WAV: not a RIFF/WAVE file");
		return NULL;
	}
	/* The chunks: each an id, a length that must fit in the file, a pad byte if odd. */
	for (p = buf + 12; end - p >= 8;) {
		uint32_t cl = rd32(p + 4);

		/* A data chunk whose length runs past the file (0xffffffff from writers into a
		 * pipe, or a file cut short) has the samples the file has. */
		if (memcmp(p, "data", 4) == 0 && cl > (size_t)(end - p) - 8)
			cl = (uint32_t)((size_t)(end - p) - 8);
		if (cl > (size_t)(end - p) - 8) {
			snprintf(err, errlen, "WAV: chunk '%.4s' of %u bytes runs past the end of "
				 "the file", (const char *)p, cl);
			return NULL;
		}
		if (memcmp(p, "fmt ", 4) == 0) {
			if (cl < 16) {
				snprintf(err, errlen, "WAV: fmt chunk of %u bytes (16 at least)", cl);
				return NULL;
			}
			fmt = rd16(p + 8);
			ch = rd16(p + 10);
			rate = rd32(p + 12);
			bits = rd16(p + 22);
			if (fmt == WAV_FMT_EXT && cl >= 40)
				fmt = rd16(p + 32);	/* the sub-format GUID's first two bytes */
		} else if (memcmp(p, "data", 4) == 0 && data == NULL) {
			data = p + 8;
			dlen = cl;
		}
		if (fmt != 0 && data != NULL)
			break;		/* what follows (LIST, junk) is not needed */
		p += 8 + cl + (cl & 1);
		if (p > end)
			break;
	}
	if (fmt == 0 || data == NULL) {
		snprintf(err, errlen, "WAV: %s chunk missing", fmt == 0 ? "fmt" : "data");
		return NULL;
	}
	if (!((fmt == WAV_FMT_PCM && bits == 16) ||
	      ((fmt == WAV_FMT_ALAW || fmt == WAV_FMT_ULAW) && bits == 8))) {
		snprintf(err, errlen, "WAV: format %u with %u bits a sample (16-bit PCM, A-law or "
			 "mu-law only)", fmt, bits);
		return NULL;
	}
	if (ch != 1 && ch != 2) {
		snprintf(err, errlen, "WAV: %u channels (1 or 2 only)", ch);
		return NULL;
	}
	if (rate != 8000 && rate != 12000 && rate != 16000 && rate != 24000 && rate != 48000) {
		snprintf(err, errlen, "WAV: %u Hz (8000, 12000, 16000, 24000 or 48000 only)", rate);
		return NULL;
	}
	bps = (bits / 8) * ch;
	n = dlen / bps;
	frame = rate / 50;
	frames = (n + frame - 1) / frame;
	if (frames == 0 || frames > WAV_FRAMES_MAX) {
		snprintf(err, errlen, "WAV: %zu samples (1 to an hour's)", n);
		return NULL;
	}
	au = calloc(1, sizeof(*au));
	if (au != NULL) {
		au->pkt = calloc(frames, sizeof(*au->pkt));
		au->data = malloc(frames * WAV_PKT_MAX);
	}
	enc = opus_encoder_create((opus_int32)rate, 1, OPUS_APPLICATION_VOIP, &e);
	if (au == NULL || au->pkt == NULL || au->data == NULL || enc == NULL) {
		snprintf(err, errlen, "WAV: out of memory");
		goto fail;
	}
	opus_encoder_ctl(enc, OPUS_SET_BITRATE(32000));
	/* Complexity 0: about 1 ms per second of 8 kHz audio here, against 5 at the default 10;
	 * a prompt heard as G.711 loses nothing to it. */
	opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(0));
	for (k = 0; k < frames; k++) {
		size_t first = (size_t)k * frame;
		opus_int32 r;

		for (i = 0; i < frame; i++) {
			size_t s = first + i;
			int32_t v = 0;

			if (s < n) {
				v = sample(data, fmt, ch, s, 0);
				if (ch == 2)
					v = (v + sample(data, fmt, ch, s, 1)) / 2;
			}
			pcm[i] = (opus_int16)v;
		}
		r = opus_encode(enc, pcm, (int)frame, au->data + off, WAV_PKT_MAX);
		if (r < 0) {
			snprintf(err, errlen, "WAV: the Opus encoder failed: %s", opus_strerror(r));
			goto fail;
		}
		au->pkt[k].off = (uint32_t)off;
		au->pkt[k].len = (uint16_t)r;
		au->pkt[k].samples = 960;	/* 20 ms at 48 kHz (RFC 7587 timestamps) */
		off += (size_t)r;
	}
	opus_encoder_destroy(enc);
	au->n = (uint32_t)frames;
	au->duration_ms = (uint64_t)frames * 20;
	return au;
fail:
	if (enc != NULL)
		opus_encoder_destroy(enc);
	mr_msg_audio_free(au);
	return NULL;
}
