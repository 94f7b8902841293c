/* SPDX-License-Identifier: BSD-3-Clause
 * The control plane's one deferral queue: memory the workers may still use, freed once they
 * cannot (DESIGN.md §2 "Publication", docs/ARCHITECTURE.md "Publication and reclamation").
 *
 * A worker can reach an object two ways: through what it looked up (a flow table value, a
 * room's SSRC map or subscriber list), which an RCU grace period (dp->qsv) ends once the
 * object is unpublished; and through a command on its ring that names the object, which a
 * grace period does not end (the command may still be queued). So an object is queued
 * with the count of commands sent to its owner so far (controlplane/core/cmdq.h), and
 *   1. waits until the owner's cmd_done reached that count (every command that could name
 *      it was applied) and its ready() callback, if any, agrees;
 *   2. then starts a grace period and waits for it to end;
 *   3. then its free() callback runs.
 * The node is embedded in the object: queuing never allocates, so it cannot fail.
 */
#ifndef MR_DEFER_H
#define MR_DEFER_H

#include <stdint.h>
#include <sys/queue.h>

struct mr_cmdq;
struct rte_rcu_qsbr;
struct mr_defer;

/* No owner: no command names the object (old lists), only the grace period is waited for. */
#define MR_DEFER_NO_OWNER (~0u)

struct mr_defer_ops {
	/* May the grace period start, now that the owner applied the commands sent before?
	 * NULL: yes. Called on every poll until it says yes. */
	int (*ready)(struct mr_defer *d, void *arg);
	/* Free the object d is embedded in (d itself may go with it). */
	void (*free)(struct mr_defer *d, void *arg);
};

struct mr_defer {
	TAILQ_ENTRY(mr_defer) link;
	const struct mr_defer_ops *ops;
	void *arg;
	union {
		uint64_t seq;		/* phase 0: the owner's sent count when queued */
		uint64_t token;		/* phase 1: the grace period's token */
	};
	unsigned int owner;		/* worker index, or MR_DEFER_NO_OWNER */
	uint8_t phase;
};

TAILQ_HEAD(mr_defer_list, mr_defer);

struct mr_defer_q {
	struct mr_cmdq *cq;		/* the sent counts, and the workers' cmd_done */
	struct rte_rcu_qsbr *qsv;
	struct mr_defer_list list;	/* in the order queued */
	uint64_t n;			/* objects waiting */
};

void mr_defer_init(struct mr_defer_q *q, struct mr_cmdq *cq, struct rte_rcu_qsbr *qsv);

/* Queue the object d is embedded in, owned by worker owner (or MR_DEFER_NO_OWNER). Call it
 * after the object was unpublished (its flows deleted, it is out of every list a worker
 * reads) and after the last command naming it was sent. */
void mr_defer_add(struct mr_defer_q *q, struct mr_defer *d, unsigned int owner,
		  const struct mr_defer_ops *ops, void *arg);

/* Advance every waiting object; free those whose grace period ended. Returns how many were
 * freed. Call it from the control loop, a few times a second at least. */
unsigned int mr_defer_poll(struct mr_defer_q *q);

/* The workers are stopped: free everything now, in the order queued. */
void mr_defer_drain(struct mr_defer_q *q);

#endif
