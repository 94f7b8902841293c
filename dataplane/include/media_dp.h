/* SPDX-License-Identifier: BSD-3-Clause
 * Media lcores and mixing rooms (issue 12 §1, docs/ARCHITECTURE.md "Mixing rooms"): the
 * boundary between the control plane (controlplane/rooms/ creates a mixing room's state and
 * a participant's decoder and encoder at join, and hands them over by command), the room's
 * owner worker (dataplane/rooms/room_fwd.c hands a participant's Opus payloads to the media
 * lcore, and sends what comes back from the participant's endpoint) and the media lcore
 * (dataplane/media/media.c: jitter buffers, decode, mix, limit, encode every 20 ms).
 *
 * Rings, all single-producer/single-consumer, elements struct mr_mix_item:
 *   worker w → media lcore m: media[m]->rx[w], an Opus payload (the mbuf's data) of slot;
 *   media lcore m → worker w: media[m]->tx[w], an RTP packet (the mbuf's data) for slot.
 * Items name a participant by slot and generation, never by pointer: an item can outlive
 * the participant in its ring. The worker checks the generation in dp->mix_slot[] (the
 * control plane clears it, then frees the participant after a grace period); the media lcore
 * checks its own copy (a participant's state, removed by command).
 */
#ifndef MR_MEDIA_DP_H
#define MR_MEDIA_DP_H

#include <stdint.h>
#include <rte_common.h>

struct rte_mbuf;
struct rte_ring;
struct rte_mempool;
struct mr_dp;
struct mr_dp_part;

#define MR_MEDIA_MAX 8			/* media lcores (lcores.media) */
#define MR_MIX_SLOTS 8192		/* mixing participants, appliance-wide; slot 0 = none */
#define MR_MIX_RING 4096		/* items a ring holds: 80 ms of 1024 speakers */
#define MR_MIX_FRAME_MS 20
#define MR_MIX_PT 111			/* payload type of the mix, unless the room names one */
#define MR_MIX_COMPLEXITY 5		/* Opus encoder complexity (docs/PERFORMANCE.md) */
#define MR_MIX_BITRATE 32000		/* Opus encoder bit rate (b/s), 48 kHz mono */
#define MR_MIX_MAX_PARTS 1024		/* participants of one mixing room */

struct mr_mix_item {
	struct rte_mbuf *m;
	uint32_t slot;
	uint32_t gen;
	uint16_t seq;			/* rx: the RTP sequence number */
	uint16_t pad[3];
};

/* A slot of dp->mix_slot[]: cp: rw (part before gen, with a release store of gen; gen 0
 * before the participant is unpublished), worker: ro (acquire load of gen). */
struct mr_mix_slot {
	struct mr_dp_part *part;
	uint32_t gen;
	uint8_t media;			/* media lcore index */
	uint8_t pad[3];
};

/* Per media lcore counters: media: rw (plain stores), cp: ro (relaxed loads). Every frame or
 * packet not used is counted here by reason. */
#define MR_MEDIA_COUNTERS(X) \
	X(ticks, "20 ms ticks run") \
	X(tick_late, "ticks that started more than one frame late (the lcore is overloaded)") \
	X(rx_packets, "Opus packets taken from the workers") \
	X(frames_decoded, "frames decoded (packet, FEC or concealment)") \
	X(frames_encoded, "Opus frames encoded") \
	X(packets_out, "mixed packets handed to the workers") \
	X(drop_stale, "packets of a participant that left (slot generation changed)") \
	X(drop_jb_late, "packets that arrived after their frame was played or concealed") \
	X(drop_jb_dup, "duplicate packets") \
	X(drop_jb_too_big, "Opus packets larger than the jitter buffer's slot (400 bytes)") \
	X(drop_jb_skipped, "frames dropped to bring a jitter buffer back to its depth") \
	X(drop_decode_error, "packets libopus refused to decode (concealed instead)") \
	X(drop_encode_error, "frames libopus refused to encode") \
	X(drop_no_mbuf, "mixed packets not sent: packet pool empty") \
	X(drop_tx_ring_full, "mixed packets not sent: the owner worker's ring was full") \
	X(drop_no_remote, "mixed frames not encoded: the participant has no latched remote") \
	X(frames_not_mixed, "decoded frames left out of the mix: not among the room's " \
	  "mix_max_speakers loudest (the speaker got the shared mix)") \
	X(rec_captured, "mixed frames copied to the recording writer (a recorded mix room)") \
	X(rec_dropped, "mixed frames of a recorded mix room not copied to the recording " \
	  "writer: its ring full or its pool empty (the media went on)")

struct mr_media_stats {
#define MR_X_FIELD(n, h) uint64_t n;
	MR_MEDIA_COUNTERS(MR_X_FIELD)
#undef MR_X_FIELD
	uint64_t busy_cycles;		/* TSC cycles spent in ticks */
	uint64_t rooms_active;		/* gauge: rooms on the active list */
};

/* Commands, cp → media lcore (ring elements struct mr_media_cmd). Counted in cmd_done like a
 * worker's: the control plane frees what a command named once cmd_done passed it. */
enum mr_media_cmd_type {
	MR_MEDIA_ADD_PART = 1,		/* obj: struct mr_mix_part, into its room */
	MR_MEDIA_DEL_PART,		/* obj: struct mr_mix_part, out of its room */
	MR_MEDIA_DEL_ROOM,		/* obj: struct mr_mix_room (no participants left) */
};

struct mr_media_cmd {
	uint32_t type;
	uint32_t pad;
	void *obj;
};

struct mr_media_priv;

/* One media lcore. */
struct mr_media {
	/* cp: written before launch; media and workers: ro */
	struct mr_dp *dp;
	unsigned int idx;
	unsigned int lcore_id;
	struct rte_ring *cmd;		/* cp → media (SP/SC, struct mr_media_cmd) */
	struct rte_ring *rx[64];	/* rx[w]: worker w → media (SP/SC, struct mr_mix_item) */
	struct rte_ring *tx[64];	/* tx[w]: media → worker w */
	struct rte_mempool *mp;		/* mixed packets' mbufs */
	struct mr_media_priv *priv;	/* the lcore's own state (dataplane/media/media.c) */
	/* media: rw (release store after each command), cp: ro (acquire load) */
	uint64_t cmd_done __rte_cache_aligned;
	/* cp: rw (the sender's count), media: - */
	uint64_t cmd_sent __rte_cache_aligned;
	struct mr_media_stats stats __rte_cache_aligned;
};

/* A participant's jitter-buffer and codec figures, as the room's GET shows them. */
struct mr_mix_part_stats {
	uint64_t packets;		/* stored in the jitter buffer */
	uint64_t late;
	uint64_t played;		/* frames decoded from their own packet */
	uint64_t fec;			/* frames recovered from the next packet's FEC */
	uint64_t concealed;		/* frames concealed (PLC) */
	uint64_t skipped;		/* frames dropped for drift */
	uint64_t encoded;		/* frames encoded for this participant (its own N-1) */
	uint64_t shared;		/* frames it got from the room's shared mix */
	uint64_t mixed;			/* its frames that went into the mix */
	uint64_t not_mixed;		/* its frames left out: not among the room's K loudest */
	uint32_t depth;			/* packets held now */
};

struct mr_mix_room;
struct mr_mix_part;

/* What the owner worker reads of a participant's mixing state (the first member of struct
 * mr_mix_part): cp: written before publication, then ro. */
struct mr_mix_ref {
	uint32_t slot;
	uint32_t gen;
	uint8_t media;			/* media lcore of the room */
};

static inline const struct mr_mix_ref *
mr_mix_ref(const struct mr_mix_part *p)
{
	return (const struct mr_mix_ref *)(const void *)p;
}

/* dataplane/media/media.c. Created by the control plane, before launch (media lcores) or at
 * room creation and join (rooms, participants): the only allocations mixing makes. */
struct mr_media *mr_media_create(struct mr_dp *dp, unsigned int idx, unsigned int lcore_id,
				 struct rte_mempool *mp);
void mr_media_free(struct mr_media *md);
int mr_media_main(void *arg);
/* Send a command (cp only): 0, or -EBUSY on a full ring. */
int mr_media_cmd(struct mr_media *md, uint32_t type, void *obj);
/* Have all commands sent so far been applied? */
int mr_media_caught_up(const struct mr_media *md, uint64_t sent);

/* pt: payload type of the mix packets; 0 = MR_MIX_PT. max_speakers: only that many of the
 * loudest speakers are mixed, 0 = everyone (at most 64, mix.h). NULL and rte_errno on
 * failure. */
struct mr_mix_room *mr_mix_room_create(uint32_t id, unsigned int media, uint8_t pt,
				       unsigned int max_speakers);
void mr_mix_room_free(struct mr_mix_room *r);
unsigned int mr_mix_room_media(const struct mr_mix_room *r);
/* Record the room's mix (the shared encoding, what a listener hears) under recording rec_id
 * (rec.h), one file; 0 stops. cp: any time. */
void mr_mix_room_set_rec(struct mr_mix_room *r, uint16_t rec_id);
/* A participant of room r in slot (gen): decoder, encoder, jitter buffer. ssrc: the SSRC of
 * the mix it receives. */
struct mr_mix_part *mr_mix_part_create(struct mr_mix_room *r, struct mr_dp_part *part,
				       uint32_t slot, uint32_t gen, uint32_t ssrc);
void mr_mix_part_free(struct mr_mix_part *p);
/* Gain of what the participant says, in the mix (Q8, 256 = 1.0; 0 = muted). cp: any time. */
void mr_mix_part_gain(struct mr_mix_part *p, uint32_t gain_q8);
void mr_mix_part_stats(const struct mr_mix_part *p, struct mr_mix_part_stats *s);

/* Counter names and help (media.c), in the order of MR_MEDIA_COUNTERS. */
extern const char *const mr_media_counter_name[];
extern const char *const mr_media_counter_help[];
#define MR_MEDIA_N_COUNTERS 19

#endif
