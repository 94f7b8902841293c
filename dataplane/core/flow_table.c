/* SPDX-License-Identifier: BSD-3-Clause
 * The flow table (flow_table.h) over rte_hash: lock-free read/write concurrency, one writer,
 * deleted key slots reused through the hash's RCU QSBR defer queue.
 */
#include <assert.h>
#include <errno.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "flow_table.h"

static_assert(MR_FLOW_LOOKUP_MAX == RTE_HASH_LOOKUP_BULK_MAX, "bulk lookup limit");

struct mr_flow_table {
	struct rte_hash *h;
};

struct mr_flow_table *
mr_flow_table_create(const char *name, uint32_t entries, int socket, struct rte_rcu_qsbr *qsv)
{
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = entries < 64 ? 64 : entries,
		.key_len = sizeof(struct mr_flow_key),
		.hash_func = rte_hash_crc,
		.socket_id = socket,
		/* Lock-free readers; the single writer is the control thread, so no writer lock
		 * (RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD is not needed). */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct rte_hash_rcu_config rc = {
		.v = qsv,
		/* Deleted key slots go to a defer queue and are reused only after the workers
		 * (the readers) have passed a quiescent state. */
		.mode = RTE_HASH_QSBR_MODE_DQ,
	};
	struct mr_flow_table *ft;
	int err;

	ft = rte_zmalloc_socket("mr_flow_table", sizeof(*ft), RTE_CACHE_LINE_SIZE, socket);
	if (ft == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	ft->h = rte_hash_create(&hp);
	if (ft->h == NULL) {
		err = rte_errno;
		goto free_ft;
	}
	if (rte_hash_rcu_qsbr_add(ft->h, &rc) != 0) {
		err = rte_errno;
		goto free_hash;
	}
	return ft;

free_hash:
	rte_hash_free(ft->h);
free_ft:
	rte_free(ft);
	rte_errno = err;
	return NULL;
}

void
mr_flow_table_free(struct mr_flow_table *ft)
{
	if (ft == NULL)
		return;
	rte_hash_free(ft->h);
	rte_free(ft);
}

int
mr_flow_table_add(struct mr_flow_table *ft, const struct mr_flow_key *key, uintptr_t val)
{
	/* In lock-free mode the add is a release: the value's target is seen whole. */
	return rte_hash_add_key_data(ft->h, key, (void *)val);
}

int
mr_flow_table_del(struct mr_flow_table *ft, const struct mr_flow_key *key)
{
	int32_t pos = rte_hash_del_key(ft->h, key);

	return pos >= 0 ? 0 : pos;
}

unsigned int
mr_flow_table_lookup_bulk(struct mr_flow_table *ft, const struct mr_flow_key *keys,
			  unsigned int n, uint64_t *hits, uintptr_t *vals)
{
	const void *kp[MR_FLOW_LOOKUP_MAX];
	void *data[MR_FLOW_LOOKUP_MAX];
	uint64_t h = 0;
	unsigned int i;
	int r;

	for (i = 0; i < n; i++)
		kp[i] = &keys[i];
	r = rte_hash_lookup_bulk_data(ft->h, kp, n, &h, data);
	*hits = r > 0 ? h : 0;
	for (i = 0; i < n; i++)
		if (h & (1ULL << i))
			vals[i] = (uintptr_t)data[i];
	return r > 0 ? (unsigned int)r : 0;
}
