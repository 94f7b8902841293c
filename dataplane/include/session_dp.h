/* SPDX-License-Identifier: BSD-3-Clause
 * The layout of a relay session as the dataplane sees it: the boundary between the control
 * plane (which allocates, fills and publishes it) and the owner worker lcore (which holds all of
 * its mutable state). DESIGN.md §2 "Ownership" and "Publication".
 */
#ifndef MR_SESSION_DP_H
#define MR_SESSION_DP_H

#include <stdint.h>
#include <rte_common.h>
#include <rte_ether.h>
#include <rte_seqcount.h>

#include "mr_types.h"
#include "counters.h"
#include "rtp_stats.h"

enum mr_path_state {
	MR_PATH_NONE = 0,	/* no remote: a source that proves itself latches (learning) */
	MR_PATH_CONFIGURED,	/* remote given by the API; MAC from the neighbor table */
	MR_PATH_LATCHED,	/* remote confirmed by a packet from it; MAC learned from that packet */
	MR_PATH_LEARNING,	/* no remote yet: remote holds a candidate source that has sent
				 * learn.n consistent packets (docs/ARCHITECTURE.md "Latching") */
};

/* One local UDP port of a leg: path 0 is RTP (port p, also RTCP with rtcp-mux), path 1 is
 * RTCP on p+1 when rtcp-mux is off (RFC 3550 §11, RFC 5761). 40 bytes: the learning state
 * shares the bytes of mac and nh, which only LATCHED and CONFIGURED paths use. */
struct mr_dp_path {
	/* dp: rw (owner lcore only), cp: ro under the leg's seqcount */
	struct mr_ep remote;		/* CONFIGURED, LATCHED: the remote; LEARNING: the
					 * candidate */
	union {
		struct {
			struct rte_ether_addr mac;	/* valid when state == LATCHED */
			uint16_t nh;		/* neighbor slot when state == CONFIGURED */
		};
		struct {
			uint32_t ssrc;		/* the candidate's SSRC */
			uint16_t seq;		/* its last RTP sequence number */
			uint8_t n;		/* consistent packets received from it */
			uint8_t pad;
		} learn;			/* state == LEARNING */
	};
	uint8_t state;			/* enum mr_path_state */
	uint8_t signalled;		/* remote given by the signalling (API, ng): with
					 * relay.latch_signalled_only, packets are taken only
					 * from its address (any port) */
	uint16_t pad;
	uint64_t last_rx_tsc;		/* last accepted packet, or when the remote was set;
					 * NONE, LEARNING: when the learning window opened */
};

/* Does path p have a remote to send to (not NONE or LEARNING)? */
static inline int
mr_path_has_remote(const struct mr_dp_path *p)
{
	return p->state == MR_PATH_CONFIGURED || p->state == MR_PATH_LATCHED;
}

/* Counters of the latching rules added against RTP Bleed (docs/OPERATIONS.md "Security"),
 * per leg and per room participant. dp: rw (owner), cp: ro (relaxed loads). */
struct mr_latch_ctr {
	uint64_t drop_address;		/* MR_DROP_LATCH_ADDRESS */
	uint64_t drop_learning;		/* MR_DROP_LATCH_LEARNING */
	uint64_t drop_window;		/* MR_DROP_LATCH_WINDOW */
	uint64_t drop_relatch;		/* MR_DROP_RELATCH_SSRC */
};

/* struct mr_dp_leg mute: why the RTP relayed towards a leg is held back. */
#define MR_LEG_MUTE_BLOCK 1		/* blocked (ng "block media", PATCH "muted") */
#define MR_LEG_MUTE_PLAY 2		/* a voice message plays into the leg instead */
#define MR_LEG_MUTE_SILENCE 4		/* ng "silence media": alone, G.711 RTP goes on with its
					 * payload replaced by silence (mr_rtp_silence), any
					 * other RTP is held back */
#define MR_LEG_MUTE_DTMF 8		/* ng "block DTMF": RTP of payload type dtmf_pt (RFC 4733
					 * telephone-event) is held back, the rest goes on */

/* Per-leg counters: dp: rw (plain stores by the owner), cp: ro (relaxed atomic loads). */
struct mr_leg_ctr {
	uint64_t pkts_in;
	uint64_t bytes_in;		/* UDP payload bytes */
	uint64_t pkts_out;
	uint64_t bytes_out;
	uint64_t cls[MR_CLASS_MAX];	/* packets in, by RFC 7983 class */
	uint64_t relatches;
	uint64_t drop_src;		/* MR_DROP_SRC_MISMATCH */
	uint64_t drop_no_remote;	/* MR_DROP_NO_REMOTE (counted on the receiving leg) */
	uint64_t drop_no_neigh;		/* MR_DROP_NO_NEIGHBOR */
	uint64_t drop_rtp;		/* MR_DROP_RTP_MALFORMED */
	struct mr_latch_ctr latch;
};

/* A leg's SRTP counters (in struct mr_dp_srtp: plain legs pay nothing for them). dp: rw
 * (owner), cp: ro (mr_read_u64s). */
struct mr_srtp_ctr {
	uint64_t auth_fail;		/* MR_DROP_SRTP_AUTH */
	uint64_t replay;		/* MR_DROP_SRTP_REPLAY */
	uint64_t malformed;		/* MR_DROP_SRTP_MALFORMED */
	uint64_t no_key;		/* MR_DROP_SRTP_NO_KEY */
	uint64_t protect_fail;		/* MR_DROP_SRTP_PROTECT (counted on the sending leg) */
	uint64_t decrypted;		/* packets that authenticated and were decrypted */
	uint64_t old_key;		/* of those, under the previous key after a re-key */
	uint64_t encrypted;		/* packets encrypted towards the remote */
};

struct mr_srtp_ctx;
struct mr_dp_ice;

/* The SRTP state of one leg (dataplane/srtp/, RFC 3711). The leg's pointer is NULL for plain
 * RTP both ways. The control plane builds it, sets it before publication or hands it to the
 * owner with MR_CMD_SRTP_SET, and never changes one it handed over; the owner replaces the
 * leg's pointer and carries the per-SSRC state (rollover counters, replay windows) of the
 * contexts it replaces over to the new ones (mr_srtp_ctx_inherit). */
struct mr_dp_srtp {
	struct mr_srtp_ctx *rx;		/* decrypts what the remote sends; NULL: see rx_srtp */
	struct mr_srtp_ctx *rx_old;	/* the previous remote key, accepted until rx_old_until */
	struct mr_srtp_ctx *tx;		/* encrypts what goes to the remote; NULL: plain */
	uint64_t rx_old_until;		/* TSC; set by the owner when it installs the struct */
	uint8_t rx_srtp;		/* the remote sends SRTP: with rx NULL (its key not given
					 * yet) its RTP/RTCP is dropped as srtp_no_key */
	struct mr_dp_ice *ice;		/* a WebRTC leg (ice_dp.h, ng's DTLS-SRTP): STUN to
					 * ICE-lite, DTLS to the control plane, and nothing
					 * towards its remote in clear (tx NULL: dropped as
					 * no_remote until DTLS gave the keys). The same pointer
					 * in every struct that replaces this one (srtp_cp.c);
					 * freed with the session */
	/* dp: rw (owner; carried over from the struct it replaces), cp: ro */
	struct mr_srtp_ctr ctr;
};

struct mr_dp_leg {
	/* cp: written before publication; dp: ro */
	struct mr_ep local;		/* local address and RTP port */
	uint16_t port_idx;		/* index of the appliance port the local address is on */
	uint8_t mute;			/* cp: rw (relaxed store), dp: ro (relaxed load):
					 * MR_LEG_MUTE_* bits; the RTP relayed towards this leg's
					 * remote is dropped while any is set, but for SILENCE
					 * and DTMF (in a hole) */
	uint8_t dtmf_pt;		/* cp: rw (relaxed store, before MR_LEG_MUTE_DTMF is set),
					 * dp: ro: the payload type that bit holds back (in the
					 * hole before seq) */

	/* dp: rw (owner), cp: ro. Writers bracket changes of path[] with seq. */
	rte_seqcount_t seq;
	uint32_t drop_muted;		/* dp: rw (owner), cp: ro: RTP received on this leg and
					 * not relayed because the other leg was muted
					 * (MR_DROP_MUTED; in a hole, 32 bits) */
	struct mr_dp_path path[2];
	struct mr_leg_ctr ctr;
	struct mr_rtp_stats rtp;
	uint32_t clock_rate;		/* clock used for jitter (0 = unknown) */
	uint8_t clock_pt;		/* payload type clock_rate was derived for */
	uint8_t cap_id;			/* cp: rw (relaxed store), dp: ro (relaxed load): the
					 * capture slot of this leg's frames, 0 = none (cap.h);
					 * in the padding */
	uint16_t rec_id;		/* cp: rw (relaxed store), dp: ro (relaxed load): the
					 * recording of this leg's RTP, 0 = none (rec.h); in the
					 * padding, the leg does not grow */
	uint64_t ts_mult;		/* clock_rate / tsc_hz as a 32.32 fixed-point factor */
	struct mr_dp_srtp *srtp;	/* dp: rw (owner, MR_CMD_SRTP_SET); NULL: plain RTP */
};	/* not cache aligned: both legs are the owner's, and packing them saves 128 bytes a
	 * session (a million sessions in 1 GiB, docs/PERFORMANCE.md) */

struct mr_dp_session {
	/* cp: written before publication; dp: ro */
	uint8_t rtcp_mux;
	uint8_t owner;			/* worker index */
	uint32_t clock_rate;		/* from the API, 0 = static payload type table */

	/* dp: rw (owner), cp: ro */
	uint64_t last_rx_tsc;		/* for the idle timeout */

	struct mr_dp_leg leg[2];
} __rte_cache_aligned;

/* Flow table value: the session pointer with the leg and path in its low bits
 * (sessions are cache-line aligned). */
static inline uintptr_t
mr_flow_val(struct mr_dp_session *s, unsigned int leg, unsigned int path)
{
	return (uintptr_t)s | (leg << 1) | path;
}

#endif
