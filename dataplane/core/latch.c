/* SPDX-License-Identifier: BSD-3-Clause
 * Latching against RTP Bleed: which source an endpoint takes as its remote, for packets that
 * are not from its latched remote (docs/ARCHITECTURE.md "Latching and next hops",
 * docs/OPERATIONS.md "Security"). Out of line and off the per-packet path: a latched flow's
 * packets are accepted by mr_path_is_latched() alone. Runs on the owner lcore; no logging
 * (the control plane logs re-latches from w->last_relatch).
 */
#include <string.h>
#include <rte_branch_prediction.h>

#include "dp_priv.h"

/* Largest forward step of the sequence number between two packets of a source that is
 * learned: a few losses do not restart the learning. */
#define MR_LEARN_MAX_GAP 8

static inline int
mr_ep_addr_eq(const struct mr_ep *x, const struct mr_ep *y)
{
	return x->family == y->family && memcmp(x->a, y->a, 16) == 0;
}

static void
mr_path_moved(struct mr_worker *w, rte_seqcount_t *seq, struct mr_dp_path *p,
	      const struct mr_latch_pkt *k)
{
	rte_seqcount_write_begin(&w->last_relatch.seq);
	w->last_relatch.local = *k->local;
	w->last_relatch.from = p->remote;
	w->last_relatch.to = *k->src;
	rte_seqcount_write_end(&w->last_relatch.seq);
	w->stats.relatches++;
	mr_path_latch(seq, p, k->src, k->smac);
}

/* A packet towards a path without a remote (NONE or LEARNING): the source that first sends
 * latch_packets consistent packets (RTP: version 2 -- the classifier's 128..191 --, one SSRC,
 * sequence numbers going forward by 1..MR_LEARN_MAX_GAP; RTCP: one sender SSRC) within the
 * learning window latches. Every other packet is dropped. */
static enum mr_latch
mr_path_learn(const struct mr_dp *dp, rte_seqcount_t *seq, struct mr_dp_path *p,
	      const struct mr_latch_pkt *k, uint64_t now)
{
	uint32_t ssrc;
	uint16_t sq = 0;
	int have;

	if (dp->latch_window_tsc != 0 &&
	    (int64_t)(now - p->last_rx_tsc) > (int64_t)dp->latch_window_tsc)
		return MR_LATCH_R_WINDOW;
	ssrc = mr_pkt_ssrc(k->pl, k->class, &have);
	if (!have)
		return MR_LATCH_R_LEARNING;	/* proves nothing, and forgets nothing */
	if (k->class == MR_CLASS_RTP)
		sq = mr_pkt_be16(k->pl + 2);
	if (p->state == MR_PATH_LEARNING && mr_ep_eq(k->src, &p->remote) &&
	    p->learn.ssrc == ssrc &&
	    (k->class == MR_CLASS_RTCP ||
	     (uint16_t)(sq - p->learn.seq - 1) < MR_LEARN_MAX_GAP)) {
		if (k->class == MR_CLASS_RTP)
			p->learn.seq = sq;
		if (++p->learn.n >= dp->latch_packets) {
			mr_path_latch(seq, p, k->src, k->smac);
			return MR_LATCH_NEW;
		}
		return MR_LATCH_R_LEARNING;
	}
	/* Another candidate: the last source to interrupt a candidate starts again, so a
	 * sprayer has to outpace the real sender latch_packets times in a row. */
	rte_seqcount_write_begin(seq);
	p->remote = *k->src;
	p->learn.ssrc = ssrc;
	p->learn.seq = sq;
	p->learn.n = 1;
	p->state = MR_PATH_LEARNING;
	rte_seqcount_write_end(seq);
	return MR_LATCH_R_LEARNING;
}

enum mr_latch
mr_path_latch_slow(struct mr_worker *w, rte_seqcount_t *seq, struct mr_dp_path *p,
		   const struct mr_latch_pkt *k, uint64_t now)
{
	const struct mr_dp *dp = w->dp;
	int legacy = dp->latch_packets <= 1;
	int fixed = p->signalled && dp->latch_signalled_only;
	int has = mr_path_has_remote(p), silent;

	/* The RTCP port of a leg without rtcp-mux and without an RTCP remote of its own from
	 * the signalling: its remote is the RTP port's remote's address, any port. */
	if (k->rtcp_port && !fixed && !legacy) {
		if (k->follow == NULL)
			return MR_LATCH_R_LEARNING;
		if (!mr_ep_addr_eq(k->src, k->follow))
			return MR_LATCH_R_ADDRESS;
		if (p->state != MR_PATH_LATCHED) {
			mr_path_latch(seq, p, k->src, k->smac);
			return MR_LATCH_NEW;
		}
		if (dp->relatch_tsc == 0 ||
		    (int64_t)(now - p->last_rx_tsc) <= (int64_t)dp->relatch_tsc)
			return MR_LATCH_R_SOURCE;
		mr_path_moved(w, seq, p, k);
		return MR_LATCH_MOVED;
	}
	if (fixed && !mr_ep_addr_eq(k->src, &p->remote))
		return MR_LATCH_R_ADDRESS;
	if (p->state == MR_PATH_CONFIGURED && (fixed || mr_ep_eq(k->src, &p->remote))) {
		/* First packet from the configured remote (any port of its address when that
		 * is all that counts): from now on answer the MAC it came from, the next hop
		 * whether the remote is on-link or routed. */
		mr_path_latch(seq, p, k->src, k->smac);
		return MR_LATCH_NEW;
	}
	if (p->state == MR_PATH_LATCHED && mr_ep_eq(k->src, &p->remote))
		return MR_LATCH_SAME;
	if (!has) {
		if (legacy || k->authentic) {
			mr_path_latch(seq, p, k->src, k->smac);
			return MR_LATCH_NEW;
		}
		return mr_path_learn(dp, seq, p, k, now);
	}
	/* Another source than the remote. Signed: the control plane or a command may have
	 * stamped last_rx_tsc after this iteration read its clock. */
	silent = dp->relatch_tsc != 0 &&
		(int64_t)(now - p->last_rx_tsc) > (int64_t)dp->relatch_tsc;
	if (!silent)
		return MR_LATCH_R_SOURCE;
	/* The remote fell silent: a NAT rebinding moved it. Follow it if it proves to be the
	 * same sender: an authenticated SRTP packet, or the endpoint's SSRC. */
	if (legacy || k->authentic || k->own_ssrc > 0 || (fixed && k->own_ssrc == 0)) {
		mr_path_moved(w, seq, p, k);
		return MR_LATCH_MOVED;
	}
	if (k->own_ssrc < 0)
		return MR_LATCH_R_SSRC;
	/* No SSRC to compare with (nothing but non-RTP received): learn afresh, the window
	 * opening now. */
	rte_seqcount_write_begin(seq);
	p->state = MR_PATH_NONE;
	p->last_rx_tsc = now;
	rte_seqcount_write_end(seq);
	return mr_path_learn(dp, seq, p, k, now);
}
