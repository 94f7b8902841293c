/* SPDX-License-Identifier: BSD-3-Clause
 * G.711 RTP into WAV files (wavw.h).
 */
#include <errno.h>
#include <string.h>

#include "wavw.h"

static void
le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void
le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* The header for n samples (n bytes of G.711). */
static void
wav_header(uint8_t *h, uint8_t pt, uint32_t n)
{
	memcpy(h, "RIFF", 4);
	le32(h + 4, MR_WAV_HDR - 8 + n);
	memcpy(h + 8, "WAVEfmt ", 8);
	le32(h + 16, 18);
	le16(h + 20, pt == 0 ? 7 : 6);	/* WAVE_FORMAT_MULAW, WAVE_FORMAT_ALAW */
	le16(h + 22, 1);		/* mono */
	le32(h + 24, 8000);		/* samples a second */
	le32(h + 28, 8000);		/* bytes a second */
	le16(h + 32, 1);		/* block align */
	le16(h + 34, 8);		/* bits a sample */
	le16(h + 36, 0);		/* no extra format bytes */
	memcpy(h + 38, "fact", 4);
	le32(h + 42, 4);
	le32(h + 46, n);		/* samples */
	memcpy(h + 50, "data", 4);
	le32(h + 54, n);
}

static int
wav_err(void)
{
	return -(errno ? errno : EIO);
}

/* Bring the header's sizes up to date; the file position stays at the end. */
static int
wav_sync(struct mr_wavw *w)
{
	uint8_t h[MR_WAV_HDR];
	uint32_t n = w->samples > UINT32_MAX - MR_WAV_HDR ? UINT32_MAX - MR_WAV_HDR :
		(uint32_t)w->samples;

	wav_header(h, w->pt, n);
	if (fseek(w->f, 0, SEEK_SET) != 0 || fwrite(h, 1, sizeof(h), w->f) != sizeof(h) ||
	    fseek(w->f, 0, SEEK_END) != 0 || fflush(w->f) != 0)
		return wav_err();
	w->synced = w->samples;
	return 0;
}

int
mr_wavw_open(struct mr_wavw *w, const char *path, uint8_t pt)
{
	uint8_t h[MR_WAV_HDR];

	memset(w, 0, sizeof(*w));
	if (!mr_wav_pt(pt))
		return -EINVAL;
	w->pt = pt;
	w->f = fopen(path, "wb");
	if (w->f == NULL)
		return wav_err();
	wav_header(h, pt, 0);
	if (fwrite(h, 1, sizeof(h), w->f) != sizeof(h)) {
		int e = wav_err();

		fclose(w->f);
		w->f = NULL;
		return e;
	}
	w->bytes = sizeof(h);
	return 0;
}

/* n bytes of G.711 silence. */
static int
wav_silence(struct mr_wavw *w, uint32_t n)
{
	uint8_t z[800];
	uint32_t k;

	memset(z, w->pt == 0 ? 0xff : 0xd5, sizeof(z));
	while (n > 0) {
		k = n < sizeof(z) ? n : (uint32_t)sizeof(z);
		if (fwrite(z, 1, k, w->f) != k)
			return wav_err();
		n -= k;
		w->samples += k;
		w->bytes += k;
	}
	return 0;
}

int
mr_wavw_packet(struct mr_wavw *w, uint8_t pt, uint32_t rtp_ts, const uint8_t *pl,
	       size_t len)
{
	int32_t d;
	int rc;

	if (w->f == NULL)
		return -EBADF;
	if (pt != w->pt || len == 0) {
		w->skipped++;
		return 1;
	}
	if (w->started) {
		d = (int32_t)(rtp_ts - w->next_ts);
		if (d < 0) {
			/* Back in time: reordered or duplicated. */
			w->skipped++;
			return 1;
		}
		if (d > 0) {
			/* Lost packets or a pause: silence keeps the timeline, up to a bound
			 * (a jump beyond it is a sender that restarted its clock). */
			w->gaps++;
			rc = wav_silence(w, d > MR_WAV_MAX_GAP ? MR_WAV_MAX_GAP : (uint32_t)d);
			if (rc < 0)
				return rc;
		}
	}
	if (fwrite(pl, 1, len, w->f) != len)
		return wav_err();
	w->started = 1;
	w->next_ts = rtp_ts + (uint32_t)len;	/* one byte a sample at 8 kHz */
	w->samples += len;
	w->bytes += len;
	w->packets++;
	if (w->samples - w->synced >= MR_WAV_SYNC)
		return wav_sync(w);
	return 0;
}

int
mr_wavw_close(struct mr_wavw *w)
{
	int rc;

	if (w->f == NULL)
		return 0;
	rc = wav_sync(w);
	if (fclose(w->f) != 0 && rc == 0)
		rc = wav_err();
	w->f = NULL;
	return rc;
}
