/* SPDX-License-Identifier: BSD-3-Clause
 * Copying a captured endpoint's frames on the owner lcore (dataplane/include/cap.h): a copy
 * into the capture pool, a multi-producer enqueue to the writer thread. Called by the relay
 * (relay.h, worker.c), room forwarding (room_fwd.c) and ICE (ice.c) where a frame of a
 * session leg or a room participant arrives or leaves; mr_cap() costs an endpoint nobody
 * captures one load and a predicted branch.
 */
#ifndef MR_CAP_DP_H
#define MR_CAP_DP_H

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>

#include "cap.h"
#include "dp.h"

/* Copy frame m (whole, segments joined, cut at MR_CAP_SNAP) for capture slot, direction
 * dir (cap_dp.c). Never fails the frame: a copy that cannot be made is counted
 * (cap_dropped) and forgotten. Out of line: only captured endpoints get there. */
void mr_cap_frame(struct mr_worker *w, uint8_t slot, uint8_t dir, const struct rte_mbuf *m);

/* Frame m is received on (MR_CAP_IN) or sent from (MR_CAP_OUT) an endpoint whose capture
 * slot is *id: copied when the endpoint is captured. */
static __rte_always_inline void
mr_cap(struct mr_worker *w, const uint8_t *id, uint8_t dir, const struct rte_mbuf *m)
{
	/* Relaxed: a slot the control plane sets and clears (cap.h). */
	uint8_t slot = __atomic_load_n(id, __ATOMIC_RELAXED);

	if (unlikely(slot != 0))
		mr_cap_frame(w, slot, dir, m);
}

#endif
