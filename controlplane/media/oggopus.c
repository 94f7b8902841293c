/* SPDX-License-Identifier: BSD-3-Clause
 * Ogg/Opus from RTP without transcoding (oggopus.h; RFC 7845, RFC 7587).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <opus/opus.h>

#include "oggopus.h"

#define OGGW_VENDOR "mrelay"

int
mr_rtp_payload(const uint8_t *rtp, size_t len, const uint8_t **pay, size_t *plen)
{
	size_t off = 12, end = len;

	if (len < 12 || (rtp[0] >> 6) != 2)
		return -EINVAL;
	off += (size_t)(rtp[0] & 0x0f) * 4;
	if (rtp[0] & 0x10) {
		if (off + 4 > len)
			return -EINVAL;
		off += 4 + ((size_t)rtp[off + 2] << 8 | rtp[off + 3]) * 4;
	}
	if (rtp[0] & 0x20) {
		/* RFC 3550 §5.1: the last octet counts the padding, itself included. */
		if (rtp[len - 1] == 0 || rtp[len - 1] > len)
			return -EINVAL;
		end = len - rtp[len - 1];
	}
	if (off >= end)
		return -EINVAL;
	*pay = rtp + off;
	*plen = end - off;
	return 0;
}

static int
oggw_write_pages(struct mr_oggw *w, int flush)
{
	ogg_page pg;

	while (flush ? ogg_stream_flush(&w->os, &pg) : ogg_stream_pageout(&w->os, &pg)) {
		if (fwrite(pg.header, 1, pg.header_len, w->f) != (size_t)pg.header_len ||
		    fwrite(pg.body, 1, pg.body_len, w->f) != (size_t)pg.body_len)
			return -(errno ? errno : EIO);
		w->bytes += pg.header_len + pg.body_len;
		w->page_start = ogg_page_granulepos(&pg);
	}
	/* A page on disk is what a sudden stop keeps: push it to the kernel now. */
	if (fflush(w->f) != 0)
		return -(errno ? errno : EIO);
	return 0;
}

static int
oggw_headers(struct mr_oggw *w)
{
	uint8_t head[19], tags[8 + 4 + sizeof(OGGW_VENDOR) - 1 + 4];
	ogg_packet op;
	size_t vl = sizeof(OGGW_VENDOR) - 1;
	int rc;

	/* RFC 7845 §5.1: magic, version 1, channels, pre-skip, input rate, gain, family 0. */
	memcpy(head, "OpusHead", 8);
	head[8] = 1;
	head[9] = w->channels;
	head[10] = MR_OGG_PRESKIP & 0xff;
	head[11] = MR_OGG_PRESKIP >> 8;
	head[12] = 48000 & 0xff;
	head[13] = (48000 >> 8) & 0xff;
	head[14] = (48000 >> 16) & 0xff;
	head[15] = 0;
	head[16] = head[17] = 0;
	head[18] = 0;
	memset(&op, 0, sizeof(op));
	op.packet = head;
	op.bytes = sizeof(head);
	op.b_o_s = 1;
	op.packetno = w->packetno++;
	ogg_stream_packetin(&w->os, &op);
	/* §5.1: the identification header is alone on the first page. */
	rc = oggw_write_pages(w, 1);
	if (rc < 0)
		return rc;
	/* §5.2: magic, vendor string, no user comments. */
	memcpy(tags, "OpusTags", 8);
	tags[8] = vl & 0xff;
	tags[9] = tags[10] = tags[11] = 0;
	memcpy(tags + 12, OGGW_VENDOR, vl);
	memset(tags + 12 + vl, 0, 4);
	memset(&op, 0, sizeof(op));
	op.packet = tags;
	op.bytes = sizeof(tags);
	op.packetno = w->packetno++;
	ogg_stream_packetin(&w->os, &op);
	/* §3: the comment header ends its page; audio starts on a fresh one. */
	rc = oggw_write_pages(w, 1);
	if (rc < 0)
		return rc;
	w->started = 1;
	return 0;
}

int
mr_oggw_open(struct mr_oggw *w, const char *path, uint32_t serial)
{
	memset(w, 0, sizeof(*w));
	w->f = fopen(path, "wb");
	if (w->f == NULL)
		return -errno;
	if (ogg_stream_init(&w->os, (int)serial) != 0) {
		fclose(w->f);
		w->f = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Put the held-back packet (its granule position is w->end) into the stream and write the
 * pages that are full, or all of them at the end of a second or of the stream. */
static int
oggw_pending_out(struct mr_oggw *w, int eos)
{
	ogg_packet op;

	if (w->pend_len == 0)
		return 0;
	memset(&op, 0, sizeof(op));
	op.packet = w->pend;
	op.bytes = w->pend_len;
	op.granulepos = w->end;
	op.packetno = w->packetno++;
	op.e_o_s = eos;
	ogg_stream_packetin(&w->os, &op);
	w->pend_len = 0;
	w->packets++;
	return oggw_write_pages(w, eos || w->end - w->page_start >= MR_OGG_PAGE_SAMPLES);
}

int
mr_oggw_packet(struct mr_oggw *w, uint32_t rtp_ts, const uint8_t *opus, size_t len)
{
	int64_t rel;
	int n, rc;

	if (len > MR_OGG_MAX_PACKET) {
		w->skipped++;
		return 1;
	}
	n = len > 0 ? opus_packet_get_nb_samples(opus, (opus_int32)len, 48000) : -1;
	if (n <= 0 || n > 5760) {
		w->skipped++;
		return 1;
	}
	if (!w->started) {
		/* The TOC's s bit (RFC 6716 §3.1): stereo or mono. */
		w->channels = (opus[0] & 0x04) ? 2 : 1;
		w->ts0 = rtp_ts;
		rc = oggw_headers(w);
		if (rc < 0)
			return rc;
		rel = 0;
	} else {
		/* Unwrap the 32-bit timestamp around the last one: a signed difference. */
		rel = w->last_rel + (int32_t)(rtp_ts - (uint32_t)(w->ts0 + (uint32_t)w->last_rel));
		if (rel < w->end) {
			/* Before the end of what is written: reordered or duplicate. Ogg
			 * granule positions only grow. */
			w->skipped++;
			return 1;
		}
		if (rel > w->end)
			w->gaps++;
	}
	rc = oggw_pending_out(w, 0);
	if (rc == 0 && w->started && rel > w->end)
		/* Granule positions belong to pages: the gap can only show between two, so
		 * what came before it is flushed and the next page starts after it. */
		rc = oggw_write_pages(w, 1);
	w->last_rel = rel;
	w->end = rel + n;
	memcpy(w->pend, opus, len);
	w->pend_len = (uint16_t)len;
	return rc;
}

int
mr_oggw_close(struct mr_oggw *w)
{
	int rc = 0;

	if (w->f == NULL)
		return 0;
	/* RFC 7845 §3: the last page has the end-of-stream flag, on the last packet. */
	if (w->started)
		rc = oggw_pending_out(w, 1);
	ogg_stream_clear(&w->os);
	if (fclose(w->f) != 0 && rc == 0)
		rc = -(errno ? errno : EIO);
	w->f = NULL;
	return rc;
}
