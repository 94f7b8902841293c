/* SPDX-License-Identifier: BSD-3-Clause
 * The deferral queue (defer.h).
 */
#include <stdbool.h>
#include <string.h>
#include <rte_rcu_qsbr.h>

#include "cmdq.h"
#include "defer.h"

void
mr_defer_init(struct mr_defer_q *q, struct mr_cmdq *cq, struct rte_rcu_qsbr *qsv)
{
	memset(q, 0, sizeof(*q));
	q->cq = cq;
	q->qsv = qsv;
	TAILQ_INIT(&q->list);
}

void
mr_defer_add(struct mr_defer_q *q, struct mr_defer *d, unsigned int owner,
	     const struct mr_defer_ops *ops, void *arg)
{
	d->ops = ops;
	d->arg = arg;
	d->owner = owner;
	d->phase = 0;
	d->seq = owner == MR_DEFER_NO_OWNER ? 0 : mr_cmdq_sent(q->cq, owner);
	TAILQ_INSERT_TAIL(&q->list, d, link);
	q->n++;
}

/* Phase 0: may the grace period start? */
static int
mr_defer_eligible(struct mr_defer_q *q, struct mr_defer *d)
{
	if (d->owner != MR_DEFER_NO_OWNER && !mr_cmdq_applied(q->cq, d->owner, d->seq))
		return 0;
	return d->ops->ready == NULL || d->ops->ready(d, d->arg);
}

unsigned int
mr_defer_poll(struct mr_defer_q *q)
{
	struct mr_defer *d, *next;
	unsigned int freed = 0;

	for (d = TAILQ_FIRST(&q->list); d != NULL; d = next) {
		next = TAILQ_NEXT(d, link);
		if (d->phase == 0) {
			if (!mr_defer_eligible(q, d))
				continue;
			/* Started only now: a grace period covers the readers that found the
			 * object before it started, so it must start after the last way to find
			 * it is gone (ready() brings a room's lists in step first). Commands are
			 * no readers of that kind: cmd_done covered them. */
			d->token = rte_rcu_qsbr_start(q->qsv);
			d->phase = 1;
		}
		if (rte_rcu_qsbr_check(q->qsv, d->token, false) != 1)
			continue;
		/* The node lives in what free() frees: unlink first. A callback may queue more
		 * (at the tail): next is still valid, as free() frees only its own object. */
		TAILQ_REMOVE(&q->list, d, link);
		q->n--;
		d->ops->free(d, d->arg);
		freed++;
	}
	return freed;
}

void
mr_defer_drain(struct mr_defer_q *q)
{
	struct mr_defer *d;

	while ((d = TAILQ_FIRST(&q->list)) != NULL) {
		TAILQ_REMOVE(&q->list, d, link);
		q->n--;
		d->ops->free(d, d->arg);
	}
}
