/* SPDX-License-Identifier: BSD-3-Clause
 * Per-worker flow tables: rte_hash keyed by struct mr_flow_key, lock-free readers (the owner
 * worker), one writer (the control thread), key slots recycled through RCU QSBR.
 */
#ifndef MR_FLOW_TABLE_H
#define MR_FLOW_TABLE_H

#include <rte_hash.h>
#include <rte_rcu_qsbr.h>

/* NULL with rte_errno set on failure. */
struct rte_hash *mr_flow_table_create(const char *name, uint32_t entries, int socket,
				      struct rte_rcu_qsbr *qsv);
void mr_flow_table_free(struct rte_hash *h);

#endif
