/* SPDX-License-Identifier: BSD-3-Clause
 * Per-participant jitter buffer of a mixing room (issue 12 §1), for the media lcore: Opus
 * packets in by RTP sequence number, one 20 ms frame out per tick, telling the caller what
 * to decode: the packet, the in-band FEC of the next packet (RFC 6716 §2.1.7: LBRR, decoded
 * with opus_decode(..., decode_fec = 1)), packet-loss concealment, or nothing (silence: not
 * talking). Fixed size, no allocation after init, pure C (tests/unit/test_media.c).
 *
 * Playout starts once `depth` frames are buffered; a packet older than the playout point is
 * late (counted, dropped); a buffer that grows past depth + MR_JB_SLACK (the sender's clock
 * runs fast, or a burst after a stall) skips its oldest frame; after MR_JB_MAX_PLC frames with
 * nothing, concealment stops and playout waits for `depth` frames again (a talk spurt ended,
 * DTX, a sender that went away).
 */
#ifndef MR_JBUF_H
#define MR_JBUF_H

#include <stdint.h>

#define MR_JB_SLOTS 32			/* power of two: 640 ms of 20 ms frames */
#define MR_JB_MAX_PKT 400		/* Opus packets bigger than this are refused */
#define MR_JB_SLACK 4			/* frames above depth before skipping */
#define MR_JB_MAX_PLC 5			/* frames concealed before falling silent */

enum mr_jb_put_res { MR_JB_STORED = 0, MR_JB_LATE, MR_JB_DUP, MR_JB_TOO_BIG };
enum mr_jb_out { MR_JB_NONE = 0, MR_JB_PACKET, MR_JB_FEC, MR_JB_PLC };

struct mr_jb_slot {
	uint16_t seq;
	uint16_t len;			/* 0 = empty */
	uint8_t data[MR_JB_MAX_PKT];
};

struct mr_jb_stats {
	uint64_t put;			/* packets stored */
	uint64_t late;			/* arrived after their frame was played or concealed */
	uint64_t dup;
	uint64_t too_big;
	uint64_t played;		/* frames from a packet */
	uint64_t fec;			/* frames recovered from the next packet's FEC */
	uint64_t concealed;		/* frames concealed (PLC) */
	uint64_t skipped;		/* frames dropped to bring the depth back (drift) */
};

struct mr_jb {
	uint16_t depth;			/* frames buffered before playout starts */
	uint16_t next;			/* sequence number of the next frame to play */
	uint8_t playing;
	uint8_t misses;			/* consecutive frames without a packet */
	uint16_t count;			/* packets held */
	struct mr_jb_stats st;
	struct mr_jb_slot slot[MR_JB_SLOTS];
};

void mr_jb_init(struct mr_jb *jb, unsigned int depth);
enum mr_jb_put_res mr_jb_put(struct mr_jb *jb, uint16_t seq, const uint8_t *data,
			     uint16_t len);
/* One tick. MR_JB_PACKET / MR_JB_FEC: *data, *len is the packet to decode (normally, or for
 * its FEC), valid until the next put or get. MR_JB_PLC: decode NULL (concealment). NONE:
 * silence. */
enum mr_jb_out mr_jb_get(struct mr_jb *jb, const uint8_t **data, uint16_t *len);
/* Packets held (the buffer's depth now). */
static inline unsigned int
mr_jb_depth(const struct mr_jb *jb)
{
	return jb->count;
}

#endif
