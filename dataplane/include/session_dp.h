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
	MR_PATH_NONE = 0,	/* no remote: the first packet latches */
	MR_PATH_CONFIGURED,	/* remote given by the API; MAC from the neighbor table */
	MR_PATH_LATCHED,	/* remote confirmed by a packet from it; MAC learned from that packet */
};

/* One local UDP port of a leg: path 0 is RTP (port p, also RTCP with rtcp-mux), path 1 is
 * RTCP on p+1 when rtcp-mux is off (RFC 3550 §11, RFC 5761). */
struct mr_dp_path {
	/* dp: rw (owner lcore only), cp: ro under the leg's seqcount */
	struct mr_ep remote;
	struct rte_ether_addr mac;	/* valid when state == MR_PATH_LATCHED */
	uint8_t state;			/* enum mr_path_state */
	uint16_t nh;			/* neighbor slot when state == MR_PATH_CONFIGURED */
	uint64_t last_rx_tsc;		/* last accepted packet, or when the remote was set */
};

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
};

struct mr_dp_leg {
	/* cp: written before publication; dp: ro */
	struct mr_ep local;		/* local address and RTP port */
	uint16_t port_idx;		/* index of the appliance port the local address is on */

	/* dp: rw (owner), cp: ro. Writers bracket changes of path[] with seq. */
	rte_seqcount_t seq;
	struct mr_dp_path path[2];
	struct mr_leg_ctr ctr;
	struct mr_rtp_stats rtp;
	uint32_t clock_rate;		/* clock used for jitter (0 = unknown) */
	uint8_t clock_pt;		/* payload type clock_rate was derived for */
	uint64_t ts_mult;		/* clock_rate / tsc_hz as a 32.32 fixed-point factor */
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
