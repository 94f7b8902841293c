/* SPDX-License-Identifier: BSD-3-Clause
 * The strict Ogg/Opus reader (oggread.h): RFC 3533 §6 pages, RFC 7845 §3-§5 headers and
 * granule positions, RFC 6716 §3 packets.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <opus/opus.h>

#include "oggread.h"

#define PAGE_HDR 27			/* RFC 3533 §6: the fixed part of a page header */
#define FLAG_CONT 0x01
#define FLAG_BOS 0x02
#define FLAG_EOS 0x04

static uint32_t crc_table[256];

static void __attribute__((constructor))
crc_init(void)
{
	uint32_t i, r;
	int k;

	for (i = 0; i < 256; i++) {
		r = i << 24;
		for (k = 0; k < 8; k++)
			r = (r & 0x80000000u) ? (r << 1) ^ 0x04c11db7u : r << 1;
		crc_table[i] = r;
	}
}

uint32_t
mr_ogg_crc(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len--)
		crc = (crc << 8) ^ crc_table[((crc >> 24) ^ *p++) & 0xff];
	return crc;
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static int64_t
le64s(const uint8_t *p)
{
	return (int64_t)((uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32);
}

struct oggr {
	struct mr_oggr_info *info;
	mr_oggr_packet_fn cb;
	void *arg;
	char *err;
	size_t errlen;
	uint32_t page;			/* the page being read */
	uint64_t pkt;			/* packets completed so far (headers included) */
	uint64_t page_samples;		/* samples of the audio packets ending on this page */
	uint8_t *buf;			/* packet reassembly */
	size_t len;
	int audio_pages;		/* pages with an audio packet ending on them so far */
};

static int __attribute__((format(printf, 2, 3)))
fail(struct oggr *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(r->err, r->errlen, "page %" PRIu32 ": ", r->page);
	if (n < 0 || (size_t)n >= r->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* RFC 7845 §5.1. */
static int
opus_head(struct oggr *r, const uint8_t *p, size_t len)
{
	if (len < 8 || memcmp(p, "OpusHead", 8) != 0)
		return fail(r, "packet 0: not an OpusHead header (this is not Ogg/Opus)");
	if (len < 19)
		return fail(r, "packet 0: OpusHead: %zu bytes, at least 19 expected", len);
	/* The major version is the upper nibble: 0 is all there is; minor versions stay
	 * readable (§5.1). */
	if (p[8] & 0xf0)
		return fail(r, "packet 0: OpusHead: version %u not supported", p[8]);
	if (p[9] == 0)
		return fail(r, "packet 0: OpusHead: 0 channels");
	if (p[18] != 0)
		return fail(r, "packet 0: OpusHead: channel mapping family %u not supported "
			    "(mono or stereo only)", p[18]);
	if (p[9] > 2)
		return fail(r, "packet 0: OpusHead: %u channels with mapping family 0 (at most "
			    "2)", p[9]);
	r->info->channels = p[9];
	r->info->preskip = (uint16_t)(p[10] | p[11] << 8);
	r->info->input_rate = le32(p + 12);
	return 0;
}

/* RFC 7845 §5.2: vendor string and user comments, every length inside the packet. */
static int
opus_tags(struct oggr *r, const uint8_t *p, size_t len)
{
	size_t off;
	uint32_t n, i, l;

	if (len < 8 || memcmp(p, "OpusTags", 8) != 0)
		return fail(r, "packet 1: not an OpusTags header");
	if (len < 16)
		return fail(r, "packet 1: OpusTags: %zu bytes, at least 16 expected", len);
	l = le32(p + 8);
	if (l > len - 16)
		return fail(r, "packet 1: OpusTags: vendor string of %" PRIu32 " bytes overruns "
			    "the header", l);
	off = 12 + (size_t)l;
	n = le32(p + off);
	off += 4;
	for (i = 0; i < n; i++) {
		if (len - off < 4)
			return fail(r, "packet 1: OpusTags: comment %" PRIu32 " of %" PRIu32
				    " overruns the header", i, n);
		l = le32(p + off);
		off += 4;
		if (l > len - off)
			return fail(r, "packet 1: OpusTags: comment %" PRIu32 " of %" PRIu32
				    " bytes overruns the header", i, l);
		off += l;
	}
	return 0;
}

/* RFC 6716 §3: a TOC byte, a frame count code and frame lengths that add up. */
static int
opus_audio(struct oggr *r, const uint8_t *p, size_t len)
{
	const unsigned char *frames[48];
	opus_int16 sizes[48];
	unsigned char toc;
	int n, rc;

	if (len == 0)
		return fail(r, "packet %" PRIu64 ": empty audio packet", r->pkt);
	if (len > MR_OGGR_MAX_PACKET)
		return fail(r, "packet %" PRIu64 ": %zu bytes (at most %u)", r->pkt, len,
			    MR_OGGR_MAX_PACKET);
	n = opus_packet_get_nb_samples(p, (opus_int32)len, 48000);
	if (n <= 0 || n > 5760)
		return fail(r, "packet %" PRIu64 ": invalid Opus TOC or frame count", r->pkt);
	rc = opus_packet_parse(p, (opus_int32)len, &toc, frames, sizes, NULL);
	if (rc <= 0)
		return fail(r, "packet %" PRIu64 ": malformed Opus frame lengths", r->pkt);
	r->info->packets++;
	r->info->samples += (uint64_t)n;
	r->page_samples += (uint64_t)n;
	if (r->cb != NULL)
		return r->cb(r->arg, p, len, (uint32_t)n);
	return 0;
}

/* A packet completed on the current page. */
static int
packet(struct oggr *r, const uint8_t *p, size_t len)
{
	int rc;

	if (r->pkt == 0)
		rc = opus_head(r, p, len);
	else if (r->pkt == 1)
		rc = opus_tags(r, p, len);
	else
		rc = opus_audio(r, p, len);
	r->pkt++;
	return rc;
}

/* Append to the packet being reassembled (bounded by the file: nothing can be longer). */
static void
gather(struct oggr *r, const uint8_t *p, size_t n)
{
	memcpy(r->buf + r->len, p, n);
	r->len += n;
}

/* The rules of a page whose packets were read: RFC 7845 §3 (header pages), §4 (granule
 * positions). ended: packets that ended on it; first_pkt: the index of the first of them. */
static int
page_granule(struct oggr *r, int64_t gp, uint32_t ended, uint64_t first_pkt, int eos)
{
	if (ended == 0) {
		if (gp != -1)
			return fail(r, "granule position %" PRId64 " on a page where no packet "
				    "ends (must be -1)", gp);
		return 0;
	}
	if (first_pkt < 2) {
		/* §3: OpusHead alone on the first page; OpusTags ends its page. */
		if (r->pkt > 2)
			return fail(r, "an audio packet on a header page (the header must end "
				    "its page)");
		if (gp != 0)
			return fail(r, "header page with granule position %" PRId64 " (must be "
				    "0)", gp);
		return 0;
	}
	if (gp < 0)
		return fail(r, "invalid granule position %" PRId64, gp);
	if (r->audio_pages > 0 && gp < r->info->granule)
		return fail(r, "granule position %" PRId64 " goes back (previous %" PRId64 ")",
			    gp, r->info->granule);
	/* §4.5: the first audio page's granule position may not be less than the samples
	 * that end on it, unless it is also the last (end trimming). */
	if (r->audio_pages == 0 && !eos && (uint64_t)gp < r->page_samples)
		return fail(r, "granule position %" PRId64 " less than the %" PRIu64 " samples "
			    "of the first audio page", gp, r->page_samples);
	r->info->granule = gp;
	r->audio_pages++;
	return 0;
}

static int
page(struct oggr *r, const uint8_t *h, size_t avail, size_t *used, int *eos)
{
	const uint8_t *seg, *body;
	uint32_t nseg, i, ended = 0, crc;
	uint64_t first_pkt = r->pkt;
	size_t blen = 0, off = 0, plen;
	uint8_t flags;
	int64_t gp;
	int rc;

	if (avail < 4 || memcmp(h, "OggS", 4) != 0)
		return fail(r, "not an Ogg page (no 'OggS' capture pattern)");
	if (avail < PAGE_HDR)
		return fail(r, "truncated page header");
	if (h[4] != 0)
		return fail(r, "Ogg stream structure version %u (only 0 exists)", h[4]);
	flags = h[5];
	if (flags & ~(FLAG_CONT | FLAG_BOS | FLAG_EOS))
		return fail(r, "unknown header type flags 0x%02x", flags);
	nseg = h[26];
	if (avail < PAGE_HDR + nseg)
		return fail(r, "truncated segment table");
	seg = h + PAGE_HDR;
	for (i = 0; i < nseg; i++)
		blen += seg[i];
	if (avail - PAGE_HDR - nseg < blen)
		return fail(r, "truncated: %zu body bytes, %zu left in the file", blen,
			    avail - PAGE_HDR - nseg);
	body = seg + nseg;
	/* RFC 3533 §6: the CRC over the whole page with its own field as zeros. */
	crc = mr_ogg_crc(0, h, 22);
	crc = mr_ogg_crc(crc, (const uint8_t *)"\0\0\0\0", 4);
	crc = mr_ogg_crc(crc, h + 26, 1 + nseg + blen);
	if (crc != le32(h + 22))
		return fail(r, "bad CRC");
	if (r->page == 0) {
		if (!(flags & FLAG_BOS))
			return fail(r, "the first page lacks the beginning-of-stream flag");
		r->info->serial = le32(h + 14);
	} else {
		if (le32(h + 14) != r->info->serial)
			return fail(r, "serial number %08" PRIx32 " of a second logical stream "
				    "(chained or multiplexed streams are not supported)",
				    le32(h + 14));
		if (flags & FLAG_BOS)
			return fail(r, "beginning-of-stream flag after the first page");
	}
	if (le32(h + 18) != r->page)
		return fail(r, "sequence number %" PRIu32 ", expected %" PRIu32 " (pages lost "
			    "or out of order)", le32(h + 18), r->page);
	gp = le64s(h + 6);
	*eos = (flags & FLAG_EOS) != 0;
	*used = PAGE_HDR + nseg + blen;
	r->page_samples = 0;

	/* Packets: lacing values of 255 continue, anything less ends one (RFC 3533 §5). */
	for (i = 0; i < nseg; i++) {
		gather(r, body + off, seg[i]);
		off += seg[i];
		if (seg[i] == 255)
			continue;
		plen = r->len;
		r->len = 0;
		rc = packet(r, r->buf, plen);
		if (rc != 0)
			return rc;
		ended++;
		if (r->pkt == 1 && (i + 1 < nseg || r->len != 0))
			return fail(r, "OpusHead is not alone on the first page");
	}
	if (r->page == 0 && ended == 0)
		return fail(r, "OpusHead does not end on the first page");
	if (first_pkt < 2 && ended > 0 && r->pkt >= 2 && r->len != 0)
		return fail(r, "an audio packet starts on a header page (the header must end "
			    "its page)");
	rc = page_granule(r, gp, ended, first_pkt, *eos);
	if (rc != 0)
		return rc;
	if (*eos && r->len != 0)
		return fail(r, "end of stream inside an unfinished packet");
	return 0;
}

int
mr_oggr_parse(const uint8_t *buf, size_t len, struct mr_oggr_info *info,
	      mr_oggr_packet_fn cb, void *arg, char *err, size_t errlen)
{
	char dummy[1];
	struct oggr r = {
		.info = info, .cb = cb, .arg = arg,
		.err = err != NULL && errlen > 0 ? err : dummy,
		.errlen = err != NULL && errlen > 0 ? errlen : sizeof(dummy),
	};
	size_t off = 0, used = 0;
	int rc = 0, eos = 0, cont_expected = 0;

	memset(info, 0, sizeof(*info));
	r.err[0] = '\0';
	if (len == 0) {
		snprintf(r.err, r.errlen, "empty");
		return -EINVAL;
	}
	r.buf = malloc(len);
	if (r.buf == NULL) {
		snprintf(r.err, r.errlen, "out of memory");
		return -ENOMEM;
	}
	while (off < len) {
		if (eos) {
			rc = fail(&r, "%zu bytes after the end-of-stream page", len - off);
			goto out;
		}
		/* A page continues a packet exactly when the one before left one unfinished
		 * (RFC 3533 §6, header_type 0x01). */
		if (len - off >= 6 && memcmp(buf + off, "OggS", 4) == 0 &&
		    ((buf[off + 5] & FLAG_CONT) != 0) != cont_expected) {
			rc = fail(&r, cont_expected ? "continued-packet flag missing (a page "
				  "was lost)" : "continued-packet flag set, but no packet "
				  "is unfinished");
			goto out;
		}
		rc = page(&r, buf + off, len - off, &used, &eos);
		if (rc != 0)
			goto out;
		cont_expected = r.len != 0;
		off += used;
		r.page++;
	}
	info->pages = r.page;
	if (!eos) {
		r.page--;
		rc = fail(&r, "the last page has no end-of-stream flag (truncated?)");
		goto out;
	}
	if (r.pkt < 2) {
		r.page--;
		rc = fail(&r, "the stream ends before OpusTags");
		goto out;
	}
	if (info->packets == 0) {
		r.page--;
		rc = fail(&r, "no audio packets");
		goto out;
	}
	info->duration_ms = info->samples / 48;
out:
	free(r.buf);
	return rc;
}
