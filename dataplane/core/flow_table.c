/* SPDX-License-Identifier: BSD-3-Clause */
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_rcu_qsbr.h>

#include "dp_priv.h"
#include "flow_table.h"

struct rte_hash *
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
	struct rte_hash *h = rte_hash_create(&hp);
	int err;

	if (h == NULL)
		return NULL;
	err = rte_hash_rcu_qsbr_add(h, &rc);
	if (err != 0) {
		err = rte_errno;
		rte_hash_free(h);
		rte_errno = err;
		return NULL;
	}
	return h;
}

void
mr_flow_table_free(struct rte_hash *h)
{
	rte_hash_free(h);
}
