/* SPDX-License-Identifier: BSD-3-Clause
 * Per-worker flow tables behind an opaque handle: keyed by struct mr_flow_key (the local
 * endpoint a packet was sent to), lock-free readers (the owner worker), one writer (the
 * control thread), key slots recycled through RCU QSBR (DESIGN.md §2 "Publication").
 */
#ifndef MR_FLOW_TABLE_H
#define MR_FLOW_TABLE_H

#include <stdint.h>
#include <rte_common.h>

struct rte_rcu_qsbr;
struct mr_flow_table;

/* Flow table key: the local endpoint a packet was sent to. */
struct mr_flow_key {
	uint8_t a[16];
	uint16_t port;			/* host order */
	uint8_t family;
	uint8_t pad;
} __rte_aligned(8);	/* the hash reads the key 8 bytes at a time */

/* The most keys one mr_flow_table_lookup_bulk() takes (RTE_HASH_LOOKUP_BULK_MAX). */
#define MR_FLOW_LOOKUP_MAX 64

/* A table for at least entries flows on NUMA socket socket, whose readers report quiescent
 * states to qsv. NULL with rte_errno set on failure. */
struct mr_flow_table *mr_flow_table_create(const char *name, uint32_t entries, int socket,
					   struct rte_rcu_qsbr *qsv);
/* NULL is a no-op. No reader may use the table any more. */
void mr_flow_table_free(struct mr_flow_table *ft);

/* Writer side (the control thread only). add publishes val for key with release semantics:
 * a reader that finds the key sees everything written before the call. 0, -ENOSPC (table
 * full) or -EINVAL. del: 0 or -ENOENT; the key's slot is reused only after a grace period
 * of qsv, so a reader still holding its value is safe. */
int mr_flow_table_add(struct mr_flow_table *ft, const struct mr_flow_key *key, uintptr_t val);
int mr_flow_table_del(struct mr_flow_table *ft, const struct mr_flow_key *key);

/* Reader side (the owner worker, per burst): look n <= MR_FLOW_LOOKUP_MAX keys up; bit i of
 * *hits is set when keys[i] was found, and vals[i] is then its value (else untouched).
 * Returns the number of hits. */
unsigned int mr_flow_table_lookup_bulk(struct mr_flow_table *ft, const struct mr_flow_key *keys,
				       unsigned int n, uint64_t *hits, uintptr_t *vals);

#endif
