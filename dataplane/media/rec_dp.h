/* SPDX-License-Identifier: BSD-3-Clause
 * Capturing a recorded stream's packets on the owner lcore (dataplane/include/rec.h): a copy
 * into the recording pool, a multi-producer enqueue to the writer thread. Called by the
 * relay (relay.h) and room forwarding (room_fwd.c) only for streams with a recording.
 */
#ifndef MR_REC_DP_H
#define MR_REC_DP_H

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_ring.h>

#include "dp.h"
#include "rec.h"

/* Copy an RTP packet, the hlen bytes at hdr then the plen bytes at pl (NULL: none), for
 * recording rec_id, file key, onto the recording ring. 0, or -1 when the copy could not be
 * made (the ring full, the pool empty, too long): the caller counts it. Also the media
 * lcore's, for a recorded mix (media.c). */
static inline int
mr_rec_copy(struct mr_dp *dp, uint16_t rec_id, uint32_t key, const uint8_t *hdr,
	    uint16_t hlen, const uint8_t *pl, uint16_t plen, uint64_t now)
{
	struct mr_rec_cap *c;
	struct rte_mbuf *m;

	if (unlikely(dp->rec_ring == NULL ||
		     (unsigned int)hlen + plen > MR_REC_BUF - sizeof(*c)))
		return -1;
	m = rte_pktmbuf_alloc(dp->rec_mp);
	if (unlikely(m == NULL))
		return -1;
	c = rte_pktmbuf_mtod(m, struct mr_rec_cap *);
	c->rec_id = rec_id;
	c->len = (uint16_t)(hlen + plen);
	c->key = key;
	c->tsc = now;
	rte_memcpy(c + 1, hdr, hlen);
	if (pl != NULL)
		rte_memcpy((uint8_t *)(c + 1) + hlen, pl, plen);
	m->data_len = (uint16_t)(sizeof(*c) + c->len);
	m->pkt_len = m->data_len;
	/* The ring's release publishes the copy to the writer thread's dequeue. */
	if (unlikely(rte_ring_mp_enqueue(dp->rec_ring, m) != 0)) {
		rte_pktmbuf_free(m);
		return -1;
	}
	return 0;
}

/* Copy the len RTP bytes at rtp for recording rec_id, file key. Never fails the packet:
 * a capture that cannot be made is counted (rec_dropped) and forgotten. */
static inline void
mr_rec_capture(struct mr_worker *w, uint16_t rec_id, uint32_t key, const uint8_t *rtp,
	       uint16_t len, uint64_t now)
{
	if (unlikely(mr_rec_copy(w->dp, rec_id, key, rtp, len, NULL, 0, now) != 0)) {
		w->stats.rec_dropped++;
		return;
	}
	w->stats.rec_captured++;
}

#endif
