/* SPDX-License-Identifier: BSD-3-Clause
 * Rooms (the SFU) as the dataplane sees them: the boundary between the control plane
 * (controlplane/rooms/ allocates, fills and publishes: rooms.c, publish.c) and the room's owner worker lcore
 * (dataplane/rooms/room_fwd.c forwards and holds all mutable state). DESIGN.md §2; the choices are
 * explained in docs/ARCHITECTURE.md "Rooms".
 *
 * Ownership: a whole room lives on one worker lcore (its owner), like a session: every
 * participant's local endpoint is owned by that lcore (dp->owner map), so a publisher's packet
 * and every subscriber's latched remote are on the same core and fan-out needs no sharing.
 *
 * Publication: participants are reached through the flow tables, whose value for a
 * participant is mr_room_flow_val(part) (bit 2 set). Stream lookup goes through the room's
 * SSRC map and subscriber lists, both immutable arrays that the control plane replaces with
 * one release store and frees after an RCU grace period (dp->qsv). Flags the control plane
 * changes after publication (muted) are single bytes written with relaxed atomic stores.
 */
#ifndef MR_ROOM_DP_H
#define MR_ROOM_DP_H

#include <stdint.h>
#include <rte_common.h>
#include <rte_seqcount.h>

#include "mr_types.h"
#include "rtp_stats.h"
#include "session_dp.h"
#include "cmd.h"

/* Flow table value tag: a participant endpoint (participants are cache-line aligned, so the
 * low 6 bits are free; sessions use bits 0-1 for leg and path). */
#define MR_FLOW_ROOM 4u

enum mr_media_kind {
	MR_KIND_AUDIO = 0,
	MR_KIND_VIDEO = 1,
};

struct mr_dp_part;
struct mr_dp_stream;
struct mr_dp_ice;
struct mr_mix_part;

/* Subscribers of one stream: immutable once published. Never contains the publisher. */
struct mr_dp_sublist {
	uint32_t n;
	struct mr_dp_part *sub[];
};

/* A room's streams by SSRC, sorted by ssrc for binary search: immutable once published. */
struct mr_dp_ssrc_ent {
	uint32_t ssrc;
	struct mr_dp_stream *st;
};

struct mr_dp_ssrc_map {
	uint32_t n;
	struct mr_dp_ssrc_ent e[];
};

/* Retransmission cache of one stream (RFC 4585 NACK answers): the last `size` RTP packets
 * (from the RTP header on), slot = seq & (size - 1). Allocated by the control plane at
 * publication; contents written by the owner only. */
struct mr_rtx_slot {
	uint16_t seq;
	uint16_t len;			/* 0 = empty */
	uint32_t pad;
	uint64_t tsc;			/* when it was cached */
};

struct mr_rtx_cache {
	uint32_t size;			/* packets, power of two */
	uint32_t slot_bytes;		/* largest RTP packet kept; bigger ones are not cached */
	struct mr_rtx_slot *slot;	/* size entries */
	uint8_t *data;			/* size * slot_bytes */
};

/* Per-stream counters: dp: rw (plain stores by the owner), cp: ro (relaxed loads). The four
 * every RTP packet moves come first. */
struct mr_stream_ctr {
	uint64_t pkts_in;		/* RTP from the publisher */
	uint64_t bytes_in;		/* UDP payload bytes */
	uint64_t pkts_out;		/* copies sent to subscribers */
	uint64_t bytes_out;
	uint64_t drop_muted;		/* MR_DROP_MUTED */
	uint64_t rtcp_sr;		/* SRs forwarded from the publisher */
	uint64_t nack_rx;		/* NACKed sequence numbers asked by subscribers */
	uint64_t rtx_sent;		/* of those, answered from the cache */
	uint64_t rtx_budget_drop;	/* of those, refused by a subscriber's budget */
	uint64_t nack_fwd;		/* sequence numbers forwarded to the publisher */
	uint64_t pli_fwd;		/* PLI/FIR forwarded to the publisher */
	uint64_t pli_limited;		/* PLI/FIR dropped by the rate limit */
	uint64_t rr_sent;		/* receiver reports the relay sent the publisher */
	uint64_t fb_fwd;		/* REMB / transport-cc forwarded to the publisher */
};

/* What subscribers report about a stream in their RRs (RFC 3550 §6.4.2), last report wins. */
struct mr_stream_rx_report {
	uint32_t fraction_lost;		/* 8-bit fixed point, as in the report block */
	uint32_t jitter;		/* timestamp units */
	uint32_t rtt_ms;		/* from LSR/DLSR of the block; 0 = unknown */
	uint32_t reports;		/* report blocks consumed */
};

/* Cache lines by writer (the room structs below follow the same plan): a control-plane store
 * after publication (mute, a new subscriber list or SSRC map) must not invalidate the line
 * holding the owner's per-packet counters, and the owner's per-packet stores must not
 * invalidate the fields everyone only reads. 448 bytes a stream (320 packed: the extra 128
 * are the control plane's line and the padding of the read-only one). */
struct mr_dp_stream {
	/* Line 0. cp: written before publication; dp: ro. */
	uint32_t ssrc;
	uint32_t id;			/* control-plane stream id */
	uint8_t kind;			/* enum mr_media_kind */
	uint8_t pt;
	uint8_t pad[2];
	uint32_t clock_rate;		/* Hz; 0 = unknown (no jitter) */
	uint64_t ts_mult;		/* clock_rate / tsc_hz as 32.32 fixed point */
	struct mr_dp_part *pub;
	struct mr_rtx_cache *cache;	/* NULL = no NACK answers (nack_cache = 0) */

	/* Line 1. cp: rw after publication, dp: ro. subs: release store of a new list,
	 * acquire load; muted: relaxed store and load. */
	struct mr_dp_sublist *subs __rte_cache_aligned;
	uint8_t muted;
	uint16_t rec_id;		/* recording of this stream, 0 = none (rec.h): relaxed
					 * store and load */

	/* Lines 2-6. dp: rw (the owner, per packet), cp: ro (relaxed loads). What every RTP
	 * packet writes (rtp, level, the first counters) is on lines 2-3. */
	struct mr_rtp_stats rtp __rte_cache_aligned;	/* publisher → relay: loss, jitter
							 * (RFC 3550 A.1/A.3/A.8) */
	uint32_t level_q8;		/* smoothed RFC 6464 level, -dBov * 256 (0 = loudest,
					 * 127 * 256 = silence); audio streams with the extension */
	uint32_t level_pkts;		/* packets that carried the audio-level extension */
	struct mr_stream_ctr ctr;
	uint64_t last_pli_tsc;		/* last PLI/FIR forwarded, for pli_interval */
	uint32_t sr_ntp_mid;		/* middle 32 bits of the last SR's NTP time (LSR) */
	uint64_t sr_tsc;		/* when it arrived (for DLSR) */
	uint64_t sr_count;
	struct mr_stream_rx_report rx;	/* from subscribers' RRs */
	/* RFC 3550 A.3 counts at the last RR the relay sent, for its "fraction lost since the
	 * previous report" */
	uint64_t rr_expected_prior;
	uint64_t rr_received_prior;
} __rte_cache_aligned;

/* Per-participant counters: dp: rw (owner), cp: ro. The two a fan-out copy moves first. */
struct mr_part_ctr {
	uint64_t pkts_out;
	uint64_t bytes_out;
	uint64_t pkts_in;
	uint64_t bytes_in;
	uint64_t rtcp_in;
	uint64_t drop_src;		/* MR_DROP_SRC_MISMATCH */
	uint64_t drop_unknown_ssrc;	/* MR_DROP_UNKNOWN_SSRC */
	uint64_t drop_not_publisher;	/* MR_DROP_SSRC_FOREIGN: SSRC published by another */
	uint64_t drop_rtcp;		/* MR_DROP_RTCP_MALFORMED */
	uint64_t drop_no_remote;	/* subscriber copies not sent: nothing latched yet */
	uint64_t autopub_req;		/* unknown SSRCs reported to the control plane */
	uint64_t relatches;		/* remote followed after relatch_tsc of silence */
	uint64_t drop_rtp;		/* MR_DROP_RTP_MALFORMED */
	uint64_t drop_class;		/* MR_DROP_ROOM_CLASS: neither RTP nor RTCP */
	uint64_t rtcp_ignored;		/* RTCP nothing acted on: report blocks and feedback
					 * about SSRCs the room lacks (or the sender's own),
					 * BYE/APP/XR outside a forwarded SR compound */
	uint64_t rtx_sent;		/* retransmissions sent to this subscriber */
	struct mr_latch_ctr latch;
};

struct mr_dp_room {
	/* Line 0. cp: written before publication; dp: ro. */
	uint32_t id;
	uint8_t owner;			/* worker index */
	uint8_t auto_publish;		/* unknown SSRCs are reported, not just dropped */
	uint8_t mix;			/* a mixing room: audio goes to its media lcore
					 * (media_dp.h), nothing is forwarded */
	uint8_t pad;
	uint64_t ntp_base;		/* NTP time (RFC 3550 §4, 32.32) at tsc_base */
	uint64_t tsc_base;
	/* Line 1. cp: rw (release store of a new map), dp: ro (acquire load). 128 bytes a room. */
	struct mr_dp_ssrc_map *map __rte_cache_aligned;
} __rte_cache_aligned;

/* The control plane writes nothing here after publication (commands ask the owner to), so a
 * participant has two groups. 320 bytes (256 packed). */
#define MR_LEARN_BY_PT 0xff		/* struct mr_dp_part learn_mid_id: no mid extension */

struct mr_dp_part {
	/* Line 0. cp: written before publication; dp: ro. */
	struct mr_dp_room *room;
	struct mr_ep local;		/* the participant's relay endpoint (RTP and RTCP) */
	uint16_t port_idx;		/* appliance port the local address is on */
	uint8_t level_ext_id;		/* RFC 8285 one-byte id of RFC 6464 audio level, 0 = none */
	uint8_t cap_id;			/* the exception to line 0: cp: rw (relaxed store, when
					 * a capture starts or stops), dp: ro (relaxed load): the
					 * capture slot of this participant's frames, 0 = none
					 * (cap.h) */
	uint32_t id;			/* control-plane participant id */
	uint32_t relay_ssrc;		/* SSRC the relay's own RTCP to this participant uses */
	struct mr_dp_srtp *srtp;	/* SRTP with this participant (session_dp.h), NULL:
					 * plain; set before publication, then replaced by the
					 * owner only (MR_CMD_PART_SRTP_SET) */
	struct mr_dp_ice *ice;		/* WebRTC (ice_dp.h): ICE-lite and DTLS on this
					 * endpoint; NULL: plain RTP. Set before publication */
	/* The RTP payload type this participant takes, by enum mr_media_kind: the copies of
	 * every stream of that kind sent to it carry it (a WebRTC subscriber numbers its
	 * codecs in its own SDP), as MR_PT_SET | pt; 0: sent as published. One codec a kind is
	 * forwarded to WebRTC participants, so the kind is the whole map. cp: relaxed byte
	 * stores when the participant's SDP is known (before DTLS gives it keys, so before
	 * anything is sent to it); dp: relaxed loads, one a copy. */
	uint8_t rx_pt[2];
	/* The ids this participant's SDP gave the header extensions mrelay negotiates
	 * (rtp_ext.h MR_EXT_*, and an id it left unused), 0: none known (plain RTP). A copy
	 * from a publisher with another nonzero map has its elements renumbered to this one.
	 * cp: relaxed store with rx_pt (before the participant has keys); dp: relaxed loads. */
	uint32_t ext_out;

	/* Lines 1-4. dp: rw (owner), cp: ro; the control plane initializes them before
	 * publication. Line 1 is all a fan-out copy to this participant writes or reads
	 * besides line 0: path and ctr.pkts_out/bytes_out. Writers bracket changes of
	 * path with seq. */
	rte_seqcount_t seq __rte_cache_aligned;
	struct mr_dp_path path;		/* latched remote (state NONE until the first packet) */
	struct mr_part_ctr ctr;
	uint64_t last_rx_tsc;
	/* NACK retransmission budget (token bucket, tokens * 2^16) */
	uint64_t rtx_tokens;
	uint64_t rtx_refill_tsc;
	/* Auto-publish (room->auto_publish): the owner drops packets of an unknown SSRC
	 * (counted) and leaves the last one here for the control plane, which polls it and
	 * publishes the stream. dp: rw (relaxed stores: ssrc and pt first, then autopub_seq
	 * with release), cp: ro (acquire load of autopub_seq first). */
	uint32_t autopub_ssrc;
	uint8_t autopub_pt;
	uint32_t autopub_seq;		/* bumped on every such packet */
	/* SSRC learning (a WebRTC offer without a=ssrc, RFC 8843 §9.2): cp: relaxed store,
	 * dp: relaxed load. Nonzero: an unknown SSRC is reported as above (the room need not
	 * auto-publish), with the value of the RFC 8285 element of this id, the BUNDLE mid
	 * (MR_LEARN_BY_PT: no mid extension, the payload type tells). */
	uint8_t learn_mid_id;
	uint8_t autopub_mid_len;	/* dp: rw before autopub_seq; 0: no mid in the packet */
	char autopub_mid[16];
	/* cp: written before publication; dp: ro. Here, not in line 0 (full): only a mixing
	 * room's own paths read it (the hand-over to the media lcore and back), never a
	 * forwarding room's fan-out. */
	struct mr_mix_part *mix;	/* a mixing room's participant (media_dp.h); NULL in
					 * forwarding rooms */
} __rte_cache_aligned;

#define MR_PT_SET 0x80		/* rx_pt: a payload type is set */

static inline uintptr_t
mr_room_flow_val(struct mr_dp_part *p)
{
	return (uintptr_t)p | MR_FLOW_ROOM;
}

#endif
