/* SPDX-License-Identifier: BSD-3-Clause
 * The copy of a captured endpoint's frame onto the capture ring (cap_dp.h, cap.h).
 */
#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_ring.h>

#include "cap_dp.h"

void
mr_cap_frame(struct mr_worker *w, uint8_t slot, uint8_t dir, const struct rte_mbuf *m)
{
	struct mr_dp *dp = w->dp;
	struct mr_cap_hdr *c;
	struct rte_mbuf *cm;
	const void *p;
	uint32_t n;

	if (unlikely(dp->cap_ring == NULL)) {
		w->stats.cap_dropped++;
		return;
	}
	cm = rte_pktmbuf_alloc(dp->cap_mp);
	if (unlikely(cm == NULL)) {
		w->stats.cap_dropped++;
		return;
	}
	c = rte_pktmbuf_mtod(cm, struct mr_cap_hdr *);
	n = RTE_MIN(m->pkt_len, (uint32_t)MR_CAP_SNAP);
	c->slot = slot;
	c->dir = dir;
	c->len = (uint16_t)n;
	c->orig_len = m->pkt_len;
	c->tsc = rte_get_tsc_cycles();
	/* A chained frame (a room's indirect fan-out copy) is joined into the copy. */
	p = rte_pktmbuf_read(m, 0, n, c + 1);
	if (p == NULL) {
		rte_pktmbuf_free(cm);
		w->stats.cap_dropped++;
		return;
	}
	if (p != (const void *)(c + 1))
		rte_memcpy(c + 1, p, n);
	cm->data_len = (uint16_t)(sizeof(*c) + n);
	cm->pkt_len = cm->data_len;
	/* The ring's release publishes the copy to the writer thread's dequeue. */
	if (unlikely(rte_ring_mp_enqueue(dp->cap_ring, cm) != 0)) {
		rte_pktmbuf_free(cm);
		w->stats.cap_dropped++;
		return;
	}
	w->stats.cap_captured++;
}
