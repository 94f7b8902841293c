/* SPDX-License-Identifier: BSD-3-Clause
 * RTP receive statistics: RFC 3550 Appendix A.1, A.3 and A.8 (see rtp_stats.h).
 */
#include <string.h>

#include "rtp_stats.h"

static inline uint16_t
rtp_stats_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t
rtp_stats_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A.3 expected count of the current epoch: extended highest sequence number - base + 1.
 * A source still on probation (A.1) has no epoch yet. */
static uint64_t
rtp_stats_epoch_expected(const struct mr_rtp_stats *s)
{
	if (!s->have_ssrc || s->probation)
		return 0;
	return s->cycles + s->max_seq - s->base_seq + 1;
}

/* Move the current epoch's counts into the totals before A.1 resets them (rtp_stats.h). */
static void
rtp_stats_close_epoch(struct mr_rtp_stats *s)
{
	s->expected_acc += rtp_stats_epoch_expected(s);
	s->received_acc += s->received;
	s->received = 0;
}

/* A.1 init_seq(). */
static void
rtp_stats_init_seq(struct mr_rtp_stats *s, uint16_t seq)
{
	s->base_seq = seq;
	s->max_seq = seq;
	s->bad_seq = MR_RTP_SEQ_MOD + 1;	/* so seq == bad_seq is false */
	s->cycles = 0;
	s->received = 0;
}

/* A.1 update_seq(): returns 1 when the packet is counted, 0 when it is discarded (source
 * on probation, or a large jump waiting for a second sequential packet to resync). */
static int
rtp_stats_update_seq(struct mr_rtp_stats *s, uint16_t seq)
{
	uint16_t udelta = (uint16_t)(seq - s->max_seq);

	if (s->probation) {
		/* Cast: A.1's "s->max_seq + 1" is computed in int and misses the wrap. */
		if (seq == (uint16_t)(s->max_seq + 1)) {
			s->probation--;
			s->max_seq = seq;
			if (s->probation == 0) {
				rtp_stats_init_seq(s, seq);
				s->received++;
				return 1;
			}
		} else {
			s->probation = MR_RTP_MIN_SEQUENTIAL - 1;
			s->max_seq = seq;
		}
		return 0;
	} else if (udelta < MR_RTP_MAX_DROPOUT) {
		/* In order, with a permissible gap. */
		if (seq < s->max_seq)
			s->cycles += MR_RTP_SEQ_MOD;	/* sequence number wrapped */
		s->max_seq = seq;
	} else if (udelta <= MR_RTP_SEQ_MOD - MR_RTP_MAX_MISORDER) {
		/* The sequence number made a very large jump. */
		if (seq == s->bad_seq) {
			/* Two sequential packets: the sender restarted without telling us,
			 * so resync, keeping what was counted so far. Its timestamps
			 * restarted too: do not difference them with the old ones. */
			rtp_stats_close_epoch(s);
			rtp_stats_init_seq(s, seq);
			s->have_transit = 0;
		} else {
			s->bad_seq = (seq + 1) & (MR_RTP_SEQ_MOD - 1);
			return 0;
		}
	} else {
		/* Duplicate or reordered packet: counted, as in A.1. */
	}
	s->received++;
	return 1;
}

/* A new source (first packet, or a new SSRC): A.1's initialisation of a source, with
 * MIN_SEQUENTIAL probation, and fresh A.8 state. */
static void
rtp_stats_new_source(struct mr_rtp_stats *s, uint32_t ssrc, uint16_t seq)
{
	rtp_stats_close_epoch(s);
	s->ssrc = ssrc;
	s->have_ssrc = 1;
	rtp_stats_init_seq(s, seq);
	s->max_seq = (uint16_t)(seq - 1);
	s->probation = MR_RTP_MIN_SEQUENTIAL;
	s->have_transit = 0;
	s->transit = 0;
	s->jitter_q4 = 0;
}

/* A.8 with the fixed-point form given there: jitter_q4 holds J * 16, and
 * J += (|D| - J) / 16 becomes jitter_q4 += |D| - round(jitter_q4 / 16). */
static void
rtp_stats_jitter(struct mr_rtp_stats *s, uint32_t ts, uint32_t arrival)
{
	uint32_t transit = arrival - ts;
	uint32_t d;

	if (!s->have_transit) {
		s->transit = transit;
		s->have_transit = 1;
		return;
	}
	/* D(i-1,i) = transit(i) - transit(i-1) modulo 2^32 (both clocks wrap), then |D|
	 * without the implementation-defined conversion to a signed type. */
	d = transit - s->transit;
	s->transit = transit;
	if (d & 0x80000000u)
		d = 0u - d;
	/* jitter_q4 - ((jitter_q4 + 8) >> 4) >= 0, so unsigned arithmetic is exact. */
	s->jitter_q4 += d - ((s->jitter_q4 + 8) >> 4);
}

void
mr_rtp_stats_init(struct mr_rtp_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->bad_seq = MR_RTP_SEQ_MOD + 1;
}

void
mr_rtp_stats_update(struct mr_rtp_stats *s, const uint8_t *rtp, uint32_t arrival, int have_clock)
{
	/* RFC 3550 §5.1 fixed header: V P X CC | M PT | sequence | timestamp | SSRC. */
	uint16_t seq = rtp_stats_be16(rtp + 2);
	uint32_t ts = rtp_stats_be32(rtp + 4);
	uint32_t ssrc = rtp_stats_be32(rtp + 8);

	s->pt = rtp[1] & 0x7f;
	/* RFC 3550 §8.2: a new SSRC is a new source; its packet is that source's first
	 * packet and starts its probation, as the very first packet of the leg does. */
	if (!s->have_ssrc || ssrc != s->ssrc) {
		if (s->have_ssrc)
			s->ssrc_changes++;
		rtp_stats_new_source(s, ssrc, seq);
	}
	if (!rtp_stats_update_seq(s, seq))
		return;
	/* A.8: jitter from the packets A.1 accepts, in arrival order. */
	if (have_clock)
		rtp_stats_jitter(s, ts, arrival);
}

uint32_t
mr_rtp_stats_ssrc(const struct mr_rtp_stats *s)
{
	return s->ssrc;
}

int
mr_rtp_stats_have_ssrc(const struct mr_rtp_stats *s)
{
	return s->have_ssrc;
}

uint32_t
mr_rtp_stats_ssrc_changes(const struct mr_rtp_stats *s)
{
	return s->ssrc_changes;
}

uint64_t
mr_rtp_stats_received(const struct mr_rtp_stats *s)
{
	return s->received_acc + s->received;
}

uint64_t
mr_rtp_stats_expected(const struct mr_rtp_stats *s)
{
	return s->expected_acc + rtp_stats_epoch_expected(s);
}

int64_t
mr_rtp_stats_lost(const struct mr_rtp_stats *s)
{
	/* A.3: may be negative with duplicates; both counts are far below 2^63. */
	return (int64_t)mr_rtp_stats_expected(s) - (int64_t)mr_rtp_stats_received(s);
}

uint32_t
mr_rtp_stats_jitter(const struct mr_rtp_stats *s)
{
	uint64_t j = s->jitter_q4 >> 4;

	return j > UINT32_MAX ? UINT32_MAX : (uint32_t)j;
}

uint8_t
mr_rtp_stats_pt(const struct mr_rtp_stats *s)
{
	return s->pt;
}

uint32_t
mr_static_pt_clock_rate(uint8_t pt)
{
	/* RFC 3551 §6, tables 4 and 5. */
	switch (pt) {
	case 0: case 3: case 4: case 5: case 7: case 8: case 9:
	case 12: case 13: case 15: case 18:
		return 8000;
	case 6:
		return 16000;
	case 10: case 11:
		return 44100;
	case 14: case 25: case 26: case 28: case 31: case 32: case 33: case 34:
		return 90000;
	case 16:
		return 11025;
	case 17:
		return 22050;
	default:
		return 0;
	}
}
