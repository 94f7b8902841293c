/* SPDX-License-Identifier: BSD-3-Clause
 * RTCP parsing and building (rtcp.h): RFC 3550 §6 and A.2, RFC 4585 §6.2.1 and §6.3.1,
 * RFC 5104 §4.3.1, draft-alvestrand-rmcat-remb-03 §2.2.
 *
 * Every reader works on the bytes a struct mr_rtcp_hdr describes (h->p, h->len), which
 * mr_rtcp_next() has already checked to lie inside the buffer; each one checks its own fields
 * against the packet's content length (h->len minus any padding) before touching them, so no
 * input makes it read outside the packet. Bytes are read one at a time: no alignment is
 * assumed. Nothing allocates; the NACK builder is linear for loss lists spanning up to 8192
 * sequence numbers (a 1 KiB bitmap on the stack), O(n * pairs) beyond.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "rtcp.h"

#define RTCP_VERSION		2
#define RTCP_HDR_LEN		4	/* V/P/count, PT, length */
#define RTCP_SR_INFO_LEN	20	/* §6.4.1 sender info: NTP, RTP ts, packets, octets */
#define RTCP_RB_LEN		24	/* §6.4.1 report block */
#define RTCP_FB_HDR_LEN		12	/* RFC 4585 §6.1: header, sender SSRC, media SSRC */
#define RTCP_MAX_COUNT		31	/* 5-bit RC / SC field */
#define RTCP_MAX_LEN		65532	/* largest multiple of 4 a UDP datagram can carry */
#define RTCP_SDES_CNAME		1	/* §6.5.1 */
#define RTCP_FIR_ENTRY_LEN	8	/* RFC 5104 §4.3.1.1: SSRC, seq nr, 3 reserved */
#define RTCP_REMB_MANT_BITS	18

static inline uint16_t
rtcp_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t
rtcp_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void
rtcp_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
rtcp_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The common header of every packet (§6.4.1): V=2, P=0, a 5-bit count, PT, and the length in
 * 32-bit words minus one. len is a multiple of 4, at least 4. */
static inline void
rtcp_put_hdr(uint8_t *p, unsigned int count, uint8_t pt, size_t len)
{
	p[0] = (uint8_t)(RTCP_VERSION << 6 | (count & 0x1f));
	p[1] = pt;
	rtcp_put16(p + 2, (uint16_t)(len / 4 - 1));
}

/*
 * Bytes of a packet before its padding: §6.4.1 says the last octet of a padded packet counts
 * the padding octets, itself included. mr_rtcp_next() already refused a count of 0 or one that
 * reaches into the header, so this only subtracts. Returns 0 for a descriptor that cannot
 * come from mr_rtcp_next() (so that every reader refuses it).
 */
static size_t
rtcp_content_len(const struct mr_rtcp_hdr *h)
{
	size_t len;

	if (h == NULL || h->p == NULL || h->len < RTCP_HDR_LEN)
		return 0;
	len = h->len;
	if (h->padding) {
		uint8_t pad = h->p[len - 1];

		if (pad == 0 || pad > len - RTCP_HDR_LEN)
			return 0;
		len -= pad;
	}
	return len;
}

int
mr_rtcp_next(const uint8_t *buf, size_t len, size_t *off, struct mr_rtcp_hdr *h)
{
	const uint8_t *p;
	size_t o, plen;

	if (buf == NULL || off == NULL || h == NULL)
		return -EINVAL;
	o = *off;
	if (o >= len)
		return 0;
	if (len - o < RTCP_HDR_LEN)
		return -EINVAL;
	p = buf + o;
	if (p[0] >> 6 != RTCP_VERSION)
		return -EINVAL;
	/* §6.4.1: "length in 32-bit words minus one, including the header and any padding". */
	plen = ((size_t)rtcp_be16(p + 2) + 1) * 4;
	if (plen > len - o || plen > RTCP_MAX_LEN)
		return -EINVAL;
	if (p[0] & 0x20) {
		/* A padding count of 0, or one eating into the header, cannot be right (A.2). */
		uint8_t pad = p[plen - 1];

		if (pad == 0 || pad > plen - RTCP_HDR_LEN)
			return -EINVAL;
	}
	h->type = p[1];
	h->count = p[0] & 0x1f;
	h->padding = (p[0] >> 5) & 1;
	h->len = (uint16_t)plen;
	h->ssrc = plen >= 8 ? rtcp_be32(p + 4) : 0;
	h->p = p;
	*off = o + plen;
	return 1;
}

static inline int
rtcp_is_fb(uint8_t type)
{
	return type == MR_RTCP_RTPFB || type == MR_RTCP_PSFB;
}

int
mr_rtcp_validate(const uint8_t *buf, size_t len)
{
	struct mr_rtcp_hdr h;
	size_t off = 0;
	int first = 1;
	int rc;

	if (buf == NULL || len == 0)
		return -EINVAL;
	while ((rc = mr_rtcp_next(buf, len, &off, &h)) == 1) {
		/* A.2: the first packet is a report so that the first word has few valid values
		 * (the mask against misaddressed RTP); RFC 5506 §3.1 reduced-size RTCP lets a
		 * feedback packet come first instead. */
		if (first && h.type != MR_RTCP_SR && h.type != MR_RTCP_RR && !rtcp_is_fb(h.type))
			return -EINVAL;
		/* A.2 / §6.4.1: only the last packet of a compound may be padded. */
		if (h.padding && off != len)
			return -EINVAL;
		first = 0;
	}
	/* rc 0 means the packets ended exactly at len: the lengths add up. */
	return rc == 0 ? 0 : -EINVAL;
}

int
mr_rtcp_sr_parse(const struct mr_rtcp_hdr *h, struct mr_rtcp_sr *sr)
{
	size_t clen = rtcp_content_len(h);
	const uint8_t *p;

	if (sr == NULL || clen == 0 || h->type != MR_RTCP_SR)
		return -EINVAL;
	if (clen < 8 + RTCP_SR_INFO_LEN + (size_t)h->count * RTCP_RB_LEN)
		return -EINVAL;
	p = h->p;
	sr->ssrc = rtcp_be32(p + 4);
	sr->ntp = (uint64_t)rtcp_be32(p + 8) << 32 | rtcp_be32(p + 12);
	sr->rtp_ts = rtcp_be32(p + 16);
	sr->pkt_count = rtcp_be32(p + 20);
	sr->octet_count = rtcp_be32(p + 24);
	return 0;
}

int
mr_rtcp_rb_parse(const struct mr_rtcp_hdr *h, unsigned int i, struct mr_rtcp_rb *rb)
{
	size_t clen = rtcp_content_len(h);
	size_t start;
	const uint8_t *p;
	uint32_t lost;

	if (rb == NULL || clen == 0)
		return -EINVAL;
	if (h->type == MR_RTCP_SR)
		start = 8 + RTCP_SR_INFO_LEN;
	else if (h->type == MR_RTCP_RR)
		start = 8;
	else
		return -EINVAL;
	if (i >= h->count || start + ((size_t)i + 1) * RTCP_RB_LEN > clen)
		return -EINVAL;
	p = h->p + start + (size_t)i * RTCP_RB_LEN;
	rb->ssrc = rtcp_be32(p);
	rb->fraction_lost = p[4];
	/* §6.4.1: cumulative number of packets lost is a signed 24-bit integer (duplicates can
	 * make it negative). Sign-extend by hand: no implementation-defined shifts. */
	lost = (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	rb->cum_lost = (lost & 0x800000) ? (int32_t)lost - 0x1000000 : (int32_t)lost;
	rb->ext_high_seq = rtcp_be32(p + 8);
	rb->jitter = rtcp_be32(p + 12);
	rb->lsr = rtcp_be32(p + 16);
	rb->dlsr = rtcp_be32(p + 20);
	return 0;
}

int
mr_rtcp_fb_media_ssrc(const struct mr_rtcp_hdr *h, uint32_t *media_ssrc)
{
	size_t clen = rtcp_content_len(h);

	if (media_ssrc == NULL || clen < RTCP_FB_HDR_LEN || !rtcp_is_fb(h->type))
		return -EINVAL;
	*media_ssrc = rtcp_be32(h->p + 8);
	return 0;
}

int
mr_rtcp_nack_parse(const struct mr_rtcp_hdr *h, uint16_t *seqs, unsigned int max)
{
	size_t clen = rtcp_content_len(h);
	size_t o;
	unsigned int total = 0;

	if (clen < RTCP_FB_HDR_LEN || h->type != MR_RTCP_RTPFB || h->count != MR_RTCP_FMT_NACK)
		return -EINVAL;
	if (seqs == NULL && max != 0)
		return -EINVAL;
	/* RFC 4585 §6.2.1: the FCI holds one or more 4-byte PID/BLP entries. */
	if (clen == RTCP_FB_HDR_LEN || (clen - RTCP_FB_HDR_LEN) % 4 != 0)
		return -EINVAL;
	for (o = RTCP_FB_HDR_LEN; o < clen; o += 4) {
		uint16_t pid = rtcp_be16(h->p + o);
		uint16_t blp = rtcp_be16(h->p + o + 2);
		unsigned int b;

		if (total < max)
			seqs[total] = pid;
		total++;
		/* Bit i of the BLP asks for PID + i + 1, modulo 2^16 (§6.2.1). */
		for (b = 0; b < 16; b++) {
			if (!(blp & (1u << b)))
				continue;
			if (total < max)
				seqs[total] = (uint16_t)(pid + b + 1);
			total++;
		}
	}
	/* At most 17 per entry, entries fit in 65532 bytes: total cannot overflow an int. */
	return (int)total;
}

int
mr_rtcp_fir_parse(const struct mr_rtcp_hdr *h, unsigned int i, uint32_t *ssrc, uint8_t *seq_nr)
{
	size_t clen = rtcp_content_len(h);
	const uint8_t *p;

	if (ssrc == NULL || seq_nr == NULL || clen < RTCP_FB_HDR_LEN ||
	    h->type != MR_RTCP_PSFB || h->count != MR_RTCP_FMT_FIR)
		return -EINVAL;
	if (i >= (clen - RTCP_FB_HDR_LEN) / RTCP_FIR_ENTRY_LEN)
		return -EINVAL;
	p = h->p + RTCP_FB_HDR_LEN + (size_t)i * RTCP_FIR_ENTRY_LEN;
	*ssrc = rtcp_be32(p);
	*seq_nr = p[4];
	return 0;
}

int
mr_rtcp_remb_parse(const struct mr_rtcp_hdr *h, uint64_t *bitrate, uint32_t *ssrcs,
		   unsigned int max)
{
	size_t clen = rtcp_content_len(h);
	const uint8_t *p;
	unsigned int num, exp, i;
	uint64_t mant;

	if (bitrate == NULL || (ssrcs == NULL && max != 0))
		return -EINVAL;
	/* draft-alvestrand-rmcat-remb §2.2: PSFB FMT 15, media SSRC 0, then "REMB", Num SSRC
	 * (8 bits), BR Exp (6 bits), BR Mantissa (18 bits), Num SSRC feedback SSRCs. */
	if (clen < RTCP_FB_HDR_LEN + 8 || h->type != MR_RTCP_PSFB || h->count != MR_RTCP_FMT_AFB)
		return -EINVAL;
	p = h->p + RTCP_FB_HDR_LEN;
	if (p[0] != 'R' || p[1] != 'E' || p[2] != 'M' || p[3] != 'B')
		return -EINVAL;
	num = p[4];
	exp = p[5] >> 2;
	mant = (uint64_t)(p[5] & 3) << 16 | rtcp_be16(p + 6);
	if (clen < RTCP_FB_HDR_LEN + 8 + (size_t)num * 4)
		return -EINVAL;
	/* An 18-bit mantissa shifted by up to 63 overflows 64 bits past exponent 46: such a
	 * value cannot be a real bitrate, refuse it rather than wrap. */
	if (mant != 0 && exp > 64 - RTCP_REMB_MANT_BITS && mant >> (64 - exp) != 0)
		return -EINVAL;
	*bitrate = mant << exp;
	for (i = 0; i < num && i < max; i++)
		ssrcs[i] = rtcp_be32(p + 8 + (size_t)i * 4);
	return (int)num;
}

/* One §6.4.1 report block at p. */
static void
rtcp_put_rb(uint8_t *p, const struct mr_rtcp_rb *rb)
{
	int32_t lost = rb->cum_lost;

	/* A.3: the 24-bit field clamps rather than wraps. */
	if (lost > 0x7fffff)
		lost = 0x7fffff;
	else if (lost < -0x800000)
		lost = -0x800000;
	rtcp_put32(p, rb->ssrc);
	p[4] = rb->fraction_lost;
	p[5] = (uint8_t)((uint32_t)lost >> 16);
	p[6] = (uint8_t)((uint32_t)lost >> 8);
	p[7] = (uint8_t)lost;
	rtcp_put32(p + 8, rb->ext_high_seq);
	rtcp_put32(p + 12, rb->jitter);
	rtcp_put32(p + 16, rb->lsr);
	rtcp_put32(p + 20, rb->dlsr);
}

int
mr_rtcp_build_rr(uint8_t *buf, size_t cap, uint32_t ssrc, const struct mr_rtcp_rb *rb,
		 unsigned int n_rb)
{
	size_t len;
	unsigned int i;

	if (buf == NULL || n_rb > RTCP_MAX_COUNT || (rb == NULL && n_rb != 0))
		return -EINVAL;
	len = 8 + (size_t)n_rb * RTCP_RB_LEN;
	if (len > cap)
		return -ENOSPC;
	rtcp_put_hdr(buf, n_rb, MR_RTCP_RR, len);
	rtcp_put32(buf + 4, ssrc);
	for (i = 0; i < n_rb; i++)
		rtcp_put_rb(buf + 8 + (size_t)i * RTCP_RB_LEN, &rb[i]);
	return (int)len;
}

int
mr_rtcp_build_sr(uint8_t *buf, size_t cap, const struct mr_rtcp_sr *sr,
		 const struct mr_rtcp_rb *rb, unsigned int n_rb)
{
	size_t len;
	unsigned int i;

	if (buf == NULL || sr == NULL || n_rb > RTCP_MAX_COUNT || (rb == NULL && n_rb != 0))
		return -EINVAL;
	len = 8 + RTCP_SR_INFO_LEN + (size_t)n_rb * RTCP_RB_LEN;
	if (len > cap)
		return -ENOSPC;
	rtcp_put_hdr(buf, n_rb, MR_RTCP_SR, len);
	rtcp_put32(buf + 4, sr->ssrc);
	rtcp_put32(buf + 8, (uint32_t)(sr->ntp >> 32));
	rtcp_put32(buf + 12, (uint32_t)sr->ntp);
	rtcp_put32(buf + 16, sr->rtp_ts);
	rtcp_put32(buf + 20, sr->pkt_count);
	rtcp_put32(buf + 24, sr->octet_count);
	for (i = 0; i < n_rb; i++)
		rtcp_put_rb(buf + 8 + RTCP_SR_INFO_LEN + (size_t)i * RTCP_RB_LEN, &rb[i]);
	return (int)len;
}

int
mr_rtcp_build_sdes_cname(uint8_t *buf, size_t cap, uint32_t ssrc, const char *cname)
{
	size_t n, items, len;

	if (buf == NULL || cname == NULL)
		return -EINVAL;
	n = strnlen(cname, 256);
	if (n > 255)
		return -EINVAL;
	/* §6.5: a chunk is the SSRC, the items, then one to four null octets ending the item
	 * list and padding the chunk to a 32-bit boundary. */
	items = 2 + n;
	len = RTCP_HDR_LEN + 4 + items + (4 - items % 4);
	if (len > cap)
		return -ENOSPC;
	rtcp_put_hdr(buf, 1, MR_RTCP_SDES, len);
	rtcp_put32(buf + 4, ssrc);
	buf[8] = RTCP_SDES_CNAME;
	buf[9] = (uint8_t)n;
	memcpy(buf + 10, cname, n);
	memset(buf + 10 + n, 0, len - 10 - n);
	return (int)len;
}

int
mr_rtcp_build_bye(uint8_t *buf, size_t cap, const uint32_t *ssrcs, unsigned int n)
{
	size_t len;
	unsigned int i;

	/* §6.6: SC = 0 is valid (if useless); no reason text is written. */
	if (buf == NULL || n > RTCP_MAX_COUNT || (ssrcs == NULL && n != 0))
		return -EINVAL;
	len = RTCP_HDR_LEN + (size_t)n * 4;
	if (len > cap)
		return -ENOSPC;
	rtcp_put_hdr(buf, n, MR_RTCP_BYE, len);
	for (i = 0; i < n; i++)
		rtcp_put32(buf + 4 + (size_t)i * 4, ssrcs[i]);
	return (int)len;
}

/* RFC 4585 §6.1 feedback header: FMT, PT, length, sender SSRC, media SSRC. */
static void
rtcp_put_fb(uint8_t *buf, uint8_t fmt, uint8_t pt, size_t len, uint32_t sender,
	    uint32_t media)
{
	rtcp_put_hdr(buf, fmt, pt, len);
	rtcp_put32(buf + 4, sender);
	rtcp_put32(buf + 8, media);
}

/*
 * NACK ordering key: the distance from seqs[0] shifted by half the sequence space, so that
 * numbers within ±32767 of seqs[0] sort in sending order across the 65535 -> 0 wrap. A set
 * spanning less than half the space (any real loss list) is ordered correctly; a larger one
 * is still packed completely, only in a different order.
 */
static inline uint16_t
rtcp_nack_key(uint16_t seq, uint16_t ref)
{
	return (uint16_t)(seq - ref + 0x8000);
}

/* Bitmap of NACK keys for sets spanning up to 8192 numbers (1 KiB of stack), plus one zero
 * word so that reading 16 bits past the last one stays inside. */
#define RTCP_NACK_BM_BITS	8192
#define RTCP_NACK_BM_WORDS	(RTCP_NACK_BM_BITS / 64 + 1)

/* 16 bits of bm starting at bit s. */
static inline uint16_t
rtcp_bm_get16(const uint64_t *bm, uint32_t s)
{
	uint32_t w = s >> 6, o = s & 63;
	uint64_t v = bm[w] >> o;

	if (o > 48)
		v |= bm[w + 1] << (64 - o);
	return (uint16_t)v;
}

/* Pack by bitmap: O(n + span / 64). */
static size_t
rtcp_nack_pack_bitmap(uint8_t *fci, size_t room, const uint16_t *seqs, unsigned int n,
		      uint16_t ref, uint32_t kmin, uint32_t span)
{
	uint64_t bm[RTCP_NACK_BM_WORDS];
	uint32_t nwords = (span + 63) >> 6, pos = 0, w, b;
	size_t len = 0;
	unsigned int i;

	memset(bm, 0, (nwords + 1) * sizeof(bm[0]));
	for (i = 0; i < n; i++) {
		b = rtcp_nack_key(seqs[i], ref) - kmin;
		bm[b >> 6] |= 1ull << (b & 63);
	}
	while (pos < span) {
		uint64_t m;

		w = pos >> 6;
		m = bm[w] & (~0ull << (pos & 63));
		while (m == 0) {
			if (++w >= nwords)
				return len;
			m = bm[w];
		}
		b = (w << 6) + (uint32_t)__builtin_ctzll(m);
		if (len + 4 > room)
			return SIZE_MAX;
		rtcp_put16(fci + len, (uint16_t)(kmin + b - 0x8000 + ref));
		rtcp_put16(fci + len + 2, rtcp_bm_get16(bm, b + 1));
		len += 4;
		pos = b + 17;
	}
	return len;
}

/* Pack by repeated selection for sets too wide for the bitmap: O(n * pairs), no memory. */
static size_t
rtcp_nack_pack_select(uint8_t *fci, size_t room, const uint16_t *seqs, unsigned int n,
		      uint16_t ref)
{
	int32_t done = -1;	/* highest key covered by the pairs written so far */
	size_t len = 0;
	unsigned int i;

	for (;;) {
		int32_t pid = 0x10000;
		uint16_t blp = 0;

		for (i = 0; i < n; i++) {
			int32_t k = rtcp_nack_key(seqs[i], ref);

			if (k > done && k < pid)
				pid = k;
		}
		if (pid == 0x10000)
			return len;
		for (i = 0; i < n; i++) {
			int32_t d = (int32_t)rtcp_nack_key(seqs[i], ref) - pid;

			if (d >= 1 && d <= 16)
				blp |= (uint16_t)(1u << (d - 1));
		}
		if (len + 4 > room)
			return SIZE_MAX;
		rtcp_put16(fci + len, (uint16_t)(pid - 0x8000 + ref));
		rtcp_put16(fci + len + 2, blp);
		len += 4;
		done = pid + 16;
	}
}

int
mr_rtcp_build_nack(uint8_t *buf, size_t cap, uint32_t sender, uint32_t media,
		   const uint16_t *seqs, unsigned int n)
{
	uint32_t kmin = 0xffff, kmax = 0;
	size_t room, fci;
	unsigned int i;
	uint16_t ref;

	if (buf == NULL || seqs == NULL || n == 0)
		return -EINVAL;
	if (cap < RTCP_FB_HDR_LEN)
		return -ENOSPC;
	room = (cap < RTCP_MAX_LEN ? cap : RTCP_MAX_LEN) - RTCP_FB_HDR_LEN;
	/*
	 * §6.2.1: each pair names a PID and, in the BLP, which of the 16 following numbers are
	 * lost too. Greedy packing from the lowest number is optimal: the lowest uncovered
	 * number must be some pair's PID, and starting the pair there covers the most of the
	 * rest. Duplicates fall into a range already covered and vanish.
	 */
	ref = seqs[0];
	for (i = 0; i < n; i++) {
		uint32_t k = rtcp_nack_key(seqs[i], ref);

		kmin = k < kmin ? k : kmin;
		kmax = k > kmax ? k : kmax;
	}
	if (kmax - kmin < RTCP_NACK_BM_BITS)
		fci = rtcp_nack_pack_bitmap(buf + RTCP_FB_HDR_LEN, room, seqs, n, ref, kmin,
					    kmax - kmin + 1);
	else
		fci = rtcp_nack_pack_select(buf + RTCP_FB_HDR_LEN, room, seqs, n, ref);
	if (fci == SIZE_MAX)
		return -ENOSPC;
	rtcp_put_fb(buf, MR_RTCP_FMT_NACK, MR_RTCP_RTPFB, RTCP_FB_HDR_LEN + fci, sender, media);
	return (int)(RTCP_FB_HDR_LEN + fci);
}

int
mr_rtcp_build_pli(uint8_t *buf, size_t cap, uint32_t sender, uint32_t media)
{
	/* RFC 4585 §6.3.1: PLI has no FCI. */
	if (buf == NULL)
		return -EINVAL;
	if (cap < RTCP_FB_HDR_LEN)
		return -ENOSPC;
	rtcp_put_fb(buf, MR_RTCP_FMT_PLI, MR_RTCP_PSFB, RTCP_FB_HDR_LEN, sender, media);
	return RTCP_FB_HDR_LEN;
}

int
mr_rtcp_build_fir(uint8_t *buf, size_t cap, uint32_t sender, uint32_t target, uint8_t seq_nr)
{
	const size_t len = RTCP_FB_HDR_LEN + RTCP_FIR_ENTRY_LEN;

	if (buf == NULL)
		return -EINVAL;
	if (cap < len)
		return -ENOSPC;
	/* RFC 5104 §4.3.1.2: the media source SSRC "SHALL be set to 0"; the target is in the
	 * FCI entry, followed by the command sequence number and 24 reserved zero bits. */
	rtcp_put_fb(buf, MR_RTCP_FMT_FIR, MR_RTCP_PSFB, len, sender, 0);
	rtcp_put32(buf + 12, target);
	buf[16] = seq_nr;
	buf[17] = 0;
	buf[18] = 0;
	buf[19] = 0;
	return (int)len;
}

int
mr_rtcp_build_remb(uint8_t *buf, size_t cap, uint32_t sender, uint64_t bitrate,
		   const uint32_t *ssrcs, unsigned int n)
{
	size_t len;
	unsigned int exp = 0, i;
	uint64_t mant = bitrate;

	if (buf == NULL || n > 255 || (ssrcs == NULL && n != 0))
		return -EINVAL;
	len = RTCP_FB_HDR_LEN + 8 + (size_t)n * 4;
	if (len > cap)
		return -ENOSPC;
	/* The smallest exponent whose mantissa fits 18 bits loses the least precision; the
	 * mantissa is truncated, so the advertised maximum never exceeds the requested one.
	 * Any 64-bit value fits by exponent 46. */
	while (mant >> RTCP_REMB_MANT_BITS) {
		mant >>= 1;
		exp++;
	}
	rtcp_put_fb(buf, MR_RTCP_FMT_AFB, MR_RTCP_PSFB, len, sender, 0);
	buf[12] = 'R';
	buf[13] = 'E';
	buf[14] = 'M';
	buf[15] = 'B';
	buf[16] = (uint8_t)n;
	buf[17] = (uint8_t)(exp << 2 | (unsigned int)(mant >> 16));
	rtcp_put16(buf + 18, (uint16_t)mant);
	for (i = 0; i < n; i++)
		rtcp_put32(buf + 20 + (size_t)i * 4, ssrcs[i]);
	return (int)len;
}
