/* SPDX-License-Identifier: BSD-3-Clause
 * rtpgen_rx: stamp, pattern, sequence tracker, histogram and jitter of rtpgen (rtpgen_rx.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rtpgen_rx.h"

int
rtpgen_pattern_init(struct rtpgen_pattern *p, unsigned int len)
{
	unsigned int n = len + 2 * RTPGEN_PATTERN_ROT, i, words;
	uint64_t x = 0x9e3779b97f4a7c15ull;

	memset(p, 0, sizeof(*p));
	words = n / 2;
	p->bytes = malloc(n + 1);
	p->prefix = malloc((words + 1) * sizeof(*p->prefix));
	if (p->bytes == NULL || p->prefix == NULL) {
		rtpgen_pattern_free(p);
		return -ENOMEM;
	}
	/* xorshift64*: a fixed pseudo-random table, the same in every run. */
	for (i = 0; i <= n; i++) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		p->bytes[i] = (uint8_t)((x * 0x2545f4914f6cdd1dull) >> 56);
	}
	p->prefix[0] = 0;
	for (i = 0; i < words; i++)
		p->prefix[i + 1] = p->prefix[i] + rtpgen_word(p->bytes + 2 * i);
	p->len = len;
	return 0;
}

void
rtpgen_pattern_free(struct rtpgen_pattern *p)
{
	free(p->bytes);
	free(p->prefix);
	p->bytes = NULL;
	p->prefix = NULL;
}

int
rtpgen_stamp_read(const uint8_t *rtp, size_t len, uint16_t payload, uint32_t n_streams,
		  uint32_t *stream, uint16_t *seq, uint64_t *tx_tsc)
{
	uint32_t st;

	if (len != (size_t)RTPGEN_RTP_HLEN + payload || payload < RTPGEN_STAMP_LEN ||
	    rtp[0] != 0x80 || rtpgen_get32(rtp + 12) != RTPGEN_STAMP_MAGIC)
		return -EBADMSG;
	st = rtpgen_get32(rtp + 16);
	if (st >= n_streams || rtpgen_get32(rtp + 8) != RTPGEN_SSRC_BASE + st)
		return -EBADMSG;
	*stream = st;
	*seq = (uint16_t)(rtp[2] << 8 | rtp[3]);
	*tx_tsc = (uint64_t)rtpgen_get32(rtp + 20) << 32 | rtpgen_get32(rtp + 24);
	return 0;
}

int
rtpgen_pattern_check(const struct rtpgen_pattern *p, const uint8_t *rtp, uint32_t stream,
		     uint16_t seq)
{
	return memcmp(rtp + RTPGEN_RTP_HLEN + RTPGEN_STAMP_LEN,
		      rtpgen_pattern_get(p, stream, seq), p->len) ? -EBADMSG : 0;
}

enum rtpgen_seq_verdict
rtpgen_seq_update(struct rtpgen_seq *s, uint16_t seq)
{
	int16_t delta;
	uint32_t back;

	if (s->received == 0) {
		s->max_ext = seq;
		s->window = 1;
		s->received = 1;
		return RTPGEN_SEQ_FIRST;
	}
	/* The distance from the highest, modulo 2^16: sequence numbers wrap (RFC 3550 A.1),
	 * and a stream never runs 32768 packets ahead of itself between two arrivals. */
	delta = (int16_t)(uint16_t)(seq - (uint16_t)s->max_ext);
	if (delta > 0) {
		s->window = delta >= 64 ? 0 : s->window << delta;
		s->window |= 1;
		s->max_ext += (uint32_t)delta;
		s->received++;
		return RTPGEN_SEQ_NEXT;
	}
	back = (uint32_t)-(int32_t)delta;
	if (back < 64) {
		uint64_t bit = 1ull << back;

		if (s->window & bit) {
			s->dup++;
			return RTPGEN_SEQ_DUP;
		}
		s->window |= bit;
	}
	s->reordered++;
	s->received++;
	return RTPGEN_SEQ_REORDERED;
}

void
rtpgen_jitter_update(struct rtpgen_jitter *j, uint64_t transit)
{
	uint64_t d;

	if (j->last_transit == UINT64_MAX) {
		j->last_transit = transit;
		return;
	}
	d = transit > j->last_transit ? transit - j->last_transit : j->last_transit - transit;
	j->last_transit = transit;
	/* RFC 3550 A.8: J += (|D| - J) / 16, with J kept scaled by 16. */
	j->j16 += d - ((j->j16 + 8) >> 4);
}

void
rtpgen_hist_reset(struct rtpgen_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

uint64_t
rtpgen_hist_bucket_low(unsigned int idx)
{
	unsigned int shift;

	if (idx < 2 * RTPGEN_HIST_SUB)
		return idx;
	shift = idx / RTPGEN_HIST_SUB - 1;
	return (uint64_t)(idx - shift * RTPGEN_HIST_SUB) << shift;
}

uint64_t
rtpgen_hist_bucket_high(unsigned int idx)
{
	unsigned int shift;

	if (idx < 2 * RTPGEN_HIST_SUB)
		return idx;
	shift = idx / RTPGEN_HIST_SUB - 1;
	return rtpgen_hist_bucket_low(idx) + ((1ull << shift) - 1);
}

uint64_t
rtpgen_hist_quantile(const struct rtpgen_hist *h, double q)
{
	uint64_t rank, cum = 0;
	unsigned int i;
	double x;

	if (h->count == 0)
		return 0;
	if (q >= 1)
		return h->max;
	/* ceil(q * count) without libm, and without 0.99 * 100 rounding up to 100. */
	x = q * (double)h->count;
	rank = (uint64_t)x;
	if (x - (double)rank > 1e-9)
		rank++;
	if (rank < 1)
		rank = 1;
	for (i = 0; i < RTPGEN_HIST_BUCKETS; i++) {
		cum += h->b[i];
		if (cum >= rank) {
			uint64_t v = rtpgen_hist_bucket_high(i);

			if (v > h->max)
				v = h->max;
			if (v < h->min)
				v = h->min;
			return v;
		}
	}
	return h->max;
}

void
rtpgen_hist_merge(struct rtpgen_hist *dst, const struct rtpgen_hist *src)
{
	unsigned int i;

	for (i = 0; i < RTPGEN_HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

int
rtpgen_rx_init(struct rtpgen_rx *rx, uint32_t n_streams, uint16_t payload, int check_payload)
{
	uint32_t i;
	int rc;

	memset(rx, 0, sizeof(*rx));
	if (n_streams == 0 || payload < RTPGEN_MIN_PAYLOAD)
		return -EINVAL;
	rc = rtpgen_pattern_init(&rx->pat, payload - RTPGEN_STAMP_LEN);
	if (rc < 0)
		return rc;
	rx->st = calloc(n_streams, sizeof(*rx->st));
	if (rx->st == NULL) {
		rtpgen_pattern_free(&rx->pat);
		return -ENOMEM;
	}
	for (i = 0; i < n_streams; i++)
		rtpgen_jitter_reset(&rx->st[i].jit);
	rx->n_streams = n_streams;
	rx->payload = payload;
	rx->check_payload = check_payload;
	rtpgen_hist_reset(&rx->hist);
	return 0;
}

void
rtpgen_rx_free(struct rtpgen_rx *rx)
{
	free(rx->st);
	rx->st = NULL;
	rtpgen_pattern_free(&rx->pat);
}

void
rtpgen_rx_reset_trial(struct rtpgen_rx *rx)
{
	uint32_t i;

	for (i = 0; i < rx->n_streams; i++) {
		rtpgen_jitter_reset(&rx->st[i].jit);
		rx->st[i].rx_base = rx->st[i].seq.received;
	}
	rtpgen_hist_reset(&rx->hist);
}

int
rtpgen_rx_account_seq(struct rtpgen_rx *rx, uint32_t stream, uint16_t seq)
{
	enum rtpgen_seq_verdict v = rtpgen_seq_update(&rx->st[stream].seq, seq);

	if (v == RTPGEN_SEQ_DUP) {
		rx->c.dup++;
		return v;
	}
	rx->c.ok++;
	if (v == RTPGEN_SEQ_REORDERED)
		rx->c.reordered++;
	return v;
}

int
rtpgen_rx_account(struct rtpgen_rx *rx, const uint8_t *rtp, uint32_t stream, uint16_t seq,
		  uint64_t tx_tsc, uint64_t rx_tsc)
{
	struct rtpgen_stream_rx *s = &rx->st[stream];
	enum rtpgen_seq_verdict v;
	uint64_t transit;

	if (rx->check_payload && rtpgen_pattern_check(&rx->pat, rtp, stream, seq) < 0) {
		rx->c.bad_payload++;
		return -EBADMSG;
	}
	v = (enum rtpgen_seq_verdict)rtpgen_rx_account_seq(rx, stream, seq);
	if (v == RTPGEN_SEQ_DUP)
		return v;
	/* A stamp from the future (TSC not synchronised, or a corrupted stamp that still looks
	 * valid) counts as zero transit rather than wrapping to centuries. */
	transit = rx_tsc > tx_tsc ? rx_tsc - tx_tsc : 0;
	rtpgen_hist_add(&rx->hist, transit);
	rtpgen_jitter_update(&s->jit, transit);
	return v;
}

int
rtpgen_rx_packet(struct rtpgen_rx *rx, const uint8_t *rtp, size_t len, int addr_ok,
		 uint64_t rx_tsc)
{
	uint32_t stream;
	uint16_t seq;
	uint64_t tx_tsc;

	if (rtpgen_stamp_read(rtp, len, rx->payload, rx->n_streams, &stream, &seq,
			      &tx_tsc) < 0) {
		rx->c.bad_stamp++;
		return -EBADMSG;
	}
	if (!addr_ok) {
		rx->c.bad_addr++;
		return -EADDRNOTAVAIL;
	}
	return rtpgen_rx_account(rx, rtp, stream, seq, tx_tsc, rx_tsc);
}

void
rtpgen_rx_jitter(const struct rtpgen_rx *rx, double *mean, uint64_t *max, uint32_t *n_streams)
{
	double sum = 0;
	uint64_t mx = 0;
	uint32_t i, n = 0;

	for (i = 0; i < rx->n_streams; i++) {
		const struct rtpgen_jitter *j = &rx->st[i].jit;
		uint64_t v;

		/* Streams that received nothing this trial have no estimate. */
		if (j->last_transit == UINT64_MAX)
			continue;
		v = rtpgen_jitter_value(j);
		sum += (double)v;
		if (v > mx)
			mx = v;
		n++;
	}
	*mean = n ? sum / n : 0;
	*max = mx;
	*n_streams = n;
}
