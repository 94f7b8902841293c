/* SPDX-License-Identifier: BSD-3-Clause
 * Sending commands to the workers (cmdq.h).
 */
#include <errno.h>
#include <string.h>
#include <rte_cycles.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "cmdq.h"

void
mr_cmdq_init(struct mr_cmdq *q, struct mr_dp *dp)
{
	memset(q, 0, sizeof(*q));
	q->dp = dp;
	q->wait_tsc = rte_get_tsc_hz() / 1000000 * MR_CMDQ_WAIT_US;
}

int
mr_cmdq_send(struct mr_cmdq *q, unsigned int w, const struct mr_cmd *c, unsigned int n,
	     int wait, uint64_t *seq)
{
	struct rte_ring *r = q->dp->w[w]->cmd;

	if (n == 0 || n > rte_ring_get_capacity(r))
		return -EINVAL;
	if (rte_ring_free_count(r) < n) {
		q->full++;
		if (wait) {
			uint64_t deadline = rte_get_tsc_cycles() + q->wait_tsc;

			while (rte_ring_free_count(r) < n && rte_get_tsc_cycles() < deadline)
				rte_pause();
		}
	}
	/* The control thread is the ring's only producer: once n slots are free nobody else
	 * can take them, and the bulk enqueue (all or nothing) succeeds. */
	if (rte_ring_free_count(r) < n ||
	    rte_ring_sp_enqueue_bulk_elem(r, c, sizeof(*c), n, NULL) != n) {
		q->refused++;
		return -EBUSY;
	}
	q->sent[w] += n;
	if (seq != NULL)
		*seq = q->sent[w];
	return 0;
}

int
mr_cmdq_wait(const struct mr_cmdq *q, unsigned int w, uint64_t seq, unsigned int max_us)
{
	uint64_t deadline = rte_get_tsc_cycles() + rte_get_tsc_hz() / 1000000 * max_us;

	while (!mr_cmdq_applied(q, w, seq)) {
		if (rte_get_tsc_cycles() >= deadline)
			return -ETIMEDOUT;
		rte_pause();
	}
	return 0;
}
