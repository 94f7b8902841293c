/* SPDX-License-Identifier: BSD-3-Clause
 * Inside controlplane/sessions/: the control plane's record of a session, shared by
 * sessions.c (the life of a session) and persist.c (its record in the state store).
 */
#ifndef MR_SESSIONS_PRIV_H
#define MR_SESSIONS_PRIV_H

#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include "defer.h"
#include "dp.h"
#include "json_req.h"
#include "session_dp.h"
#include "sessions.h"
#include "srtp_cp.h"

struct rte_flow;

enum mr_cp_state { CS_ACTIVE = 1, CS_RETIRING, CS_ENDED };

struct mr_cp_leg {
	unsigned int pidx;
	uint16_t rtp_port;
	int nh[2];			/* neighbor slots held for path 0/1, -1 none */
	struct mr_cp_srtp srtp;		/* SRTP towards this leg's remote (srtp.dp NULL: plain) */
};

struct mr_cp_session {
	TAILQ_ENTRY(mr_cp_session) retire_link;	/* in retiring, to be found by id */
	struct mr_defer defer;		/* on the deferral queue while retiring */
	uint64_t id;
	uint32_t slot;
	enum mr_cp_state state;
	char label[MR_LABEL_LEN];
	time_t created;
	time_t ended;
	const char *end_reason;
	unsigned int idle_timeout;
	uint8_t rtcp_mux;
	uint8_t owner;
	uint8_t failed;			/* creation failed after publication: no history */
	struct mr_cp_leg leg[2];
	struct mr_dp_session *dp;	/* live (rte_zmalloc) while active/retiring, a plain copy
					 * once ended */
};

TAILQ_HEAD(mr_cp_list, mr_cp_session);

struct mr_sessions {
	struct mr_appliance *a;
	uint32_t max;
	struct mr_cp_session **slot;
	uint32_t *gen;
	uint32_t *free_slots;
	uint32_t n_free;
	struct mr_cp_list retiring;	/* ended, waiting on the deferral queue */
	struct mr_cp_session **hist;	/* ring of ended sessions */
	uint32_t hist_cap, hist_head, hist_n;
	unsigned int owned[MR_DP_MAX_WORKERS];	/* sessions per worker */
	uint64_t last_idle_scan;
	/* Dataplane session structs come from blocks of MR_SLAB_BLOCK (no per-struct heap
	 * header, kept for reuse): about 100 bytes less per session than rte_zmalloc each. */
	struct mr_dp_session **slab_free;
	uint32_t slab_n_free;
	void **slab_blocks;
	uint32_t slab_n_blocks;
	uint64_t idle_cursor, idle_end;	/* next slot of the idle scan (mod max), end of slice */
	struct mr_sessions_counts n;
};

/* sessions.c: the paths of leg l, read consistently (the leg's seqcount). */
void mr_leg_snapshot(const struct mr_dp_leg *l, struct mr_dp_path path[2]);
/* sessions.c: create a session on the id, owner and endpoints of rst (persist.c parsed
 * them from a record). 0, or -1 with the reason in err. */
int mr_session_restore(struct mr_appliance *a, const struct mr_session_req *req,
		       const struct mr_session_restore *rst, char *err, size_t errlen);

/* A WebRTC leg (ng's DTLS-SRTP; docs/NG.md "WebRTC"): ICE-lite and DTLS on it. Read from the
 * control plane's own SRTP struct, which it never changes once handed over. */
static inline int
mr_cp_leg_webrtc(const struct mr_cp_session *s, unsigned int li)
{
	return s->leg[li].srtp.dp != NULL && s->leg[li].srtp.dp->ice != NULL;
}

#endif
