/* SPDX-License-Identifier: BSD-3-Clause
 * Receive statistics of one RTP stream on one leg: RFC 3550 Appendix A.1 (sequence number
 * validation), A.3 (expected and lost packets) and A.8 (interarrival jitter).
 *
 * Pure C. A struct mr_rtp_stats lives in the flow entry of its owner lcore, which alone writes
 * it with plain stores (dp: rw). Readers on other threads (cp: ro) load the 64-bit counters with
 * relaxed atomic loads and accept that fields read together may come from different packets.
 */
#ifndef MR_RTP_STATS_H
#define MR_RTP_STATS_H

#include <stdint.h>

/* RFC 3550 A.1 parameters. */
#define MR_RTP_MAX_DROPOUT	3000	/* largest forward jump taken as loss */
#define MR_RTP_MAX_MISORDER	100	/* largest backward step taken as reordering */
#define MR_RTP_MIN_SEQUENTIAL	2	/* packets in sequence before a source is valid */
#define MR_RTP_SEQ_MOD		(1u << 16)

/*
 * An "epoch" is the span over which A.1's base_seq/cycles/received hold: it starts when a
 * source becomes valid (end of probation) or resynchronises after a large jump (A.1
 * bad_seq), and ends at the next SSRC change or resync. A.1 would throw away the counts of
 * the finished epoch; here they are added to received_acc/expected_acc first, so received,
 * expected and lost stay cumulative over the leg's life and lost never jumps at a change.
 */
struct mr_rtp_stats {
	/* Source identity. */
	uint32_t ssrc;			/* SSRC of the current source */
	uint8_t have_ssrc;		/* 0 until the first packet */
	uint8_t pt;			/* payload type of the last packet of any kind */
	uint8_t have_transit;		/* transit holds a previous packet's value (A.8) */
	uint8_t pad;
	uint32_t ssrc_changes;		/* times the SSRC changed after the first packet */

	/* RFC 3550 A.1 state of the current source. */
	uint16_t max_seq;		/* highest sequence number seen */
	uint16_t probation;		/* sequential packets still needed to be valid */
	uint32_t bad_seq;		/* last "bad" sequence + 1; 65537 = none */
	uint64_t cycles;		/* sequence wraps, shifted left 16 */
	uint64_t base_seq;		/* first sequence number of the epoch */
	uint64_t received;		/* packets counted in the current epoch */

	/* Totals of finished epochs (A.3 values at their end). */
	uint64_t received_acc;
	uint64_t expected_acc;

	/* RFC 3550 A.8 state of the current source. */
	uint32_t transit;		/* arrival - timestamp of the previous packet */
	uint32_t pad2;
	uint64_t jitter_q4;		/* J * 16 (the A.8 fixed-point form) */
};

void mr_rtp_stats_init(struct mr_rtp_stats *s);
/* One RTP packet: rtp points at >= 12 bytes of RTP header. arrival is the arrival time in the
 * stream's RTP clock units (wrapping uint32), used for jitter only when have_clock != 0. */
void mr_rtp_stats_update(struct mr_rtp_stats *s, const uint8_t *rtp, uint32_t arrival,
			 int have_clock);
uint32_t mr_rtp_stats_ssrc(const struct mr_rtp_stats *s);
int mr_rtp_stats_have_ssrc(const struct mr_rtp_stats *s);
uint32_t mr_rtp_stats_ssrc_changes(const struct mr_rtp_stats *s);
/* Packets counted by A.1 (duplicates and reordered packets included, probation and
 * out-of-window packets awaiting resync excluded), over all SSRCs. */
uint64_t mr_rtp_stats_received(const struct mr_rtp_stats *s);
/* A.3: extended highest sequence number - base + 1, summed over epochs. */
uint64_t mr_rtp_stats_expected(const struct mr_rtp_stats *s);
/* A.3 expected - received; negative when duplicates outnumber losses. */
int64_t mr_rtp_stats_lost(const struct mr_rtp_stats *s);
/* A.8 interarrival jitter J of the current source, in timestamp units. */
uint32_t mr_rtp_stats_jitter(const struct mr_rtp_stats *s);
/* Payload type of the last packet. */
uint8_t mr_rtp_stats_pt(const struct mr_rtp_stats *s);
/* RFC 3551 §6 clock rate of a static payload type; 0 for dynamic or unassigned types. */
uint32_t mr_static_pt_clock_rate(uint8_t pt);

#endif
