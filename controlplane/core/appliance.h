/* SPDX-License-Identifier: BSD-3-Clause
 * The appliance: everything the control thread owns. One instance per process.
 */
#ifndef MR_APPLIANCE_H
#define MR_APPLIANCE_H

#include <stdint.h>
#include <time.h>
#include <rte_flow.h>
#include <rte_mempool.h>

#include "cmdq.h"
#include "config.h"
#include "defer.h"
#include "dp.h"
#include "steer.h"

struct mr_api;
struct mr_flows;
struct mr_neigh;
struct mr_sessions;
struct mr_rooms;
struct mr_webrtc;
struct mr_ng;
struct mr_state;
struct mr_messages;

struct mr_cp_stats {
	uint64_t exceptions;		/* packets received from the exception rings */
	uint64_t arp_requests_sent;
	uint64_t nd_solicits_sent;
	uint64_t steer_rules;		/* rte_flow port-range rules installed */
	uint64_t steer_misses;		/* endpoints on a steering port that got no relay port
					 * landing on their owner (their packets are handed off) */
	uint64_t tx_ring_full;		/* ARP/ND requests dropped: worker 0's cp_tx ring full */
	uint64_t neigh_changes;		/* resolved neighbors whose MAC changed (probe replies) */
	uint64_t neigh_refused;		/* MAC changes refused: unasked, or to a resolved entry */
	uint64_t announcements;		/* gratuitous ARPs and NAs at takeovers */
};

struct mr_appliance {
	struct mr_config *cfg;
	struct mr_dp *dp;		/* shared with the workers */
	struct rte_mempool *mp;
	struct mr_neigh *neigh;
	struct mr_flows *flows;		/* local endpoints, flow tables, owner map, steering */
	struct mr_cmdq cmdq;		/* the only sender on the workers' command rings */
	struct mr_defer_q defer;	/* what waits for the workers before it is freed */
	struct mr_sessions *sess;
	struct mr_rooms *rooms;		/* the SFU (controlplane/rooms/) */
	struct mr_recorder *rec;	/* recording (controlplane/media/), NULL when off */
	struct mr_messages *msgs;	/* voice messages (controlplane/media/), NULL when off */
	struct mr_capture *cap;		/* per-flow capture (controlplane/media/), NULL when
					 * off */
	struct mr_webrtc *webrtc;	/* ICE-lite/DTLS participants (controlplane/webrtc/) */
	struct mr_api *api;
	struct mr_ng *ng;		/* the ng control protocol (controlplane/ng/), NULL: off */
	struct mr_state *state;		/* sessions in Redis (controlplane/state/), NULL: off */
	time_t start_time;
	uint64_t start_tsc;
	struct mr_port_steer steer[MR_DP_MAX_PORTS];	/* how each port steers (start) */
	int srtp_ok;			/* every worker has an SRTP engine */
	int srtp_kind;			/* enum mr_srtp_engine_kind of the engines */
	struct mr_cp_stats cps;
	/* Re-latches and refused re-latches already logged, per worker (mr_latch_log). */
	uint64_t relatch_logged[MR_DP_MAX_WORKERS][2];
	uint64_t relatch_log_tsc;
};

/* Bring the appliance up after rte_eal_init: ports, workers, tables, API. 0 or -errno with a
 * one-line message in err. */
int mr_appliance_start(struct mr_appliance *a, struct mr_config *cfg, char *err, size_t errlen);
/* Run the control loop until *stop becomes non-zero. */
void mr_appliance_run(struct mr_appliance *a, volatile int *stop);
void mr_appliance_stop(struct mr_appliance *a);

/* Seconds since start, from the TSC. */
uint64_t mr_appliance_uptime(const struct mr_appliance *a);

/* Transmit a packet built by the control plane on port index pidx: worker 0 sends it (its
 * cp_tx ring). Consumes m; -ENOBUFS when the ring is full (counted, m freed). */
int mr_cp_tx(struct mr_appliance *a, unsigned int pidx, struct rte_mbuf *m);

#endif
