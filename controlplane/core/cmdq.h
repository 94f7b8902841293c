/* SPDX-License-Identifier: BSD-3-Clause
 * The control thread's side of the workers' command rings (struct mr_worker.cmd): the one
 * place that enqueues commands. It never spins without bound on a full ring, and it counts
 * what it sent per worker so that the worker's cmd_done tells which commands were applied
 * (controlplane/core/defer.h frees what commands named by that count).
 */
#ifndef MR_CMDQ_H
#define MR_CMDQ_H

#include <stdint.h>

#include "dp.h"

/* How long a send waits for room in a full ring before it gives up (-EBUSY): a worker
 * drains its ring every loop iteration, so a ring still full after this is a stalled or
 * badly overloaded worker, and the control thread has other work. */
#define MR_CMDQ_WAIT_US 5000

struct mr_cmdq {
	struct mr_dp *dp;
	uint64_t wait_tsc;		/* MR_CMDQ_WAIT_US in TSC cycles */
	uint64_t sent[MR_DP_MAX_WORKERS];	/* commands enqueued on each worker's ring */
	/* Counters (GET /v1/stats "control", /metrics) */
	uint64_t full;			/* sends that found the ring full */
	uint64_t refused;		/* of those, given up: the ring stayed full (-EBUSY) */
};

void mr_cmdq_init(struct mr_cmdq *q, struct mr_dp *dp);

/* Enqueue the n commands c[0..n-1] on worker w's ring, all or none, in order. With wait, a
 * full ring is given up to MR_CMDQ_WAIT_US to make room; without, not at all (commands
 * only worth sending now, such as receiver reports). 0 and *seq (when not NULL) = the
 * worker's sent count after the last of them, -EBUSY (counted in refused) when the ring
 * had no room for them, -EINVAL when n exceeds what the ring can ever hold. */
int mr_cmdq_send(struct mr_cmdq *q, unsigned int w, const struct mr_cmd *c, unsigned int n,
		 int wait, uint64_t *seq);

/* Commands sent to worker w so far. */
static inline uint64_t
mr_cmdq_sent(const struct mr_cmdq *q, unsigned int w)
{
	return q->sent[w];
}

/* Has worker w applied its first seq commands? */
static inline int
mr_cmdq_applied(const struct mr_cmdq *q, unsigned int w, uint64_t seq)
{
	/* Acquire: pairs with the worker's release store after each command, so whatever
	 * those commands wrote is visible here, and the worker is done with what they named. */
	return __atomic_load_n(&q->dp->w[w]->cmd_done, __ATOMIC_ACQUIRE) >= seq;
}

/* Wait up to max_us for worker w to apply its first seq commands: 0, or -ETIMEDOUT. */
int mr_cmdq_wait(const struct mr_cmdq *q, unsigned int w, uint64_t seq, unsigned int max_us);

#endif
