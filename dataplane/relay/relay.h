/* SPDX-License-Identifier: BSD-3-Clause
 * The two-leg relay (DESIGN.md §1 "Two-leg sessions"): a packet for a session's local
 * endpoint, on the session's owner lcore, leaves from the other leg's endpoint with its
 * headers rewritten in place. Always inline into the worker's loop (dataplane/core/worker.c),
 * which looks the flow up and dispatches here.
 */
#ifndef MR_RELAY_H
#define MR_RELAY_H

#include <stdint.h>
#include <rte_branch_prediction.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "dp_priv.h"
#include "cap_dp.h"
#include "hdr.h"
#include "ice.h"
#include "rec_dp.h"
#include "rtp_stats.h"
#include "session_dp.h"

/* Arrival time in RTP timestamp units for the jitter of RFC 3550 A.8. The factor is derived
 * once per (leg, payload type) so the per-packet cost is one 64x64 multiplication. */
static inline int
mr_leg_clock(struct mr_worker *w, const struct mr_dp_session *s, struct mr_dp_leg *l,
	     uint8_t pt, uint64_t now, uint32_t *arrival)
{
	if (unlikely(l->clock_pt != pt || l->ts_mult == 0)) {
		uint32_t rate = s->clock_rate ? s->clock_rate : mr_static_pt_clock_rate(pt);

		l->clock_pt = pt;
		l->clock_rate = rate;
		/* 32.32 fixed point: rate / tsc_hz. One division, only when the PT changes. */
		l->ts_mult = rate ? (((uint64_t)rate << 32) / w->dp->tsc_hz) : 0;
		if (l->ts_mult == 0 && rate)
			l->ts_mult = 1;
	}
	if (l->clock_rate == 0)
		return 0;
	*arrival = (uint32_t)(((unsigned __int128)now * l->ts_mult) >> 32);
	return 1;
}

/* The destination MAC towards path op's remote, out of port oport: the latched source's, or
 * the next hop's from the neighbor table (copied into nmac); NULL while it is unresolved. */
static __rte_always_inline const uint8_t *
mr_path_dmac(const struct mr_dp_port *oport, const struct mr_dp_path *op, uint8_t *nmac)
{
	uint64_t nw;
	unsigned int b;

	if (op->state == MR_PATH_LATCHED)
		return op->mac.addr_bytes;
	/* Relaxed: the control plane replaces the whole word; either value is a MAC that was
	 * valid for this next hop. */
	nw = __atomic_load_n(&oport->neigh[op->nh].w, __ATOMIC_RELAXED);
	if (unlikely(!(nw & MR_NEIGH_VALID)))
		return NULL;
	for (b = 0; b < RTE_ETHER_ADDR_LEN; b++)
		nmac[b] = nw >> (40 - 8 * b);
	return nmac;
}

/* The latching rules for a packet from src on path pidx of leg l that is not from its
 * latched remote (dataplane/core/latch.c). */
static __rte_noinline enum mr_latch
mr_relay_latch(struct mr_worker *w, const struct mr_dp_session *s, struct mr_dp_leg *l,
	       unsigned int pidx, const struct rte_mbuf *m, const struct mr_pkt_info *pi,
	       const struct mr_ep *src, uint64_t now)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	struct mr_latch_pkt k = {
		.src = src,
		.smac = (const struct rte_ether_addr *)(f + 6),
		.local = &l->local,
		.pl = f + pi->payload_off,
		.len = pi->payload_len,
		.class = pi->class,
		.authentic = pi->decrypted,
		.rtcp_port = pidx == 1 && !s->rtcp_mux,
	};
	struct mr_ep local;
	uint32_t ssrc;
	int have;

	ssrc = mr_pkt_ssrc(k.pl, k.class, &have);
	if (have && l->rtp.have_ssrc)
		k.own_ssrc = ssrc == l->rtp.ssrc ? 1 : -1;
	if (k.rtcp_port) {
		local = l->local;
		local.port++;
		k.local = &local;
		if (mr_path_has_remote(&l->path[0]))
			k.follow = &l->path[0].remote;
	}
	return mr_path_latch_slow(w, &l->seq, &l->path[pidx], &k, now);
}

/* A packet of flow val accepted by the leg it arrived on (authenticated and decrypted when
 * the leg's remote sends SRTP): latch, count, and send it on from the other leg's endpoint,
 * or stage it for encryption when the other leg's remote takes SRTP. */
static __rte_always_inline void
mr_relay_accept(struct mr_worker *w, struct rte_mbuf *m, const struct mr_pkt_info *pi,
		uintptr_t val, uint64_t now, const int rx_recompute)
{
	struct mr_dp *dp = w->dp;
	struct mr_dp_session *s = (struct mr_dp_session *)(val & ~(uintptr_t)RTE_CACHE_LINE_MASK);
	unsigned int li = (val >> 1) & 1, pidx = val & 1, opi;
	struct mr_dp_leg *l = &s->leg[li], *o = &s->leg[li ^ 1];
	struct mr_dp_path *p = &l->path[pidx], *op;
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct mr_dp_port *oport;
	struct mr_ep src, dst, from;
	uint8_t nmac[RTE_ETHER_ADDR_LEN];
	const uint8_t *dmac;

	/* The source endpoint, for latching (RFC 3550 §8.2 explains why sources are tracked;
	 * symmetric RTP, RFC 4961, is why the reply goes where the packets come from). */
	mr_pkt_src_ep(f, pi, &src);

	if (unlikely(!mr_path_is_latched(p, &src))) {
		enum mr_latch r = mr_relay_latch(w, s, l, pidx, m, pi, &src, now);

		if (r >= MR_LATCH_R_SOURCE) {
			mr_latch_refuse(w, m, r, &l->ctr.drop_src, &l->ctr.latch);
			return;
		}
		if (r == MR_LATCH_MOVED)
			l->ctr.relatches++;
	}
	p->last_rx_tsc = now;
	s->last_rx_tsc = now;

	l->ctr.pkts_in++;
	l->ctr.bytes_in += pi->payload_len;
	l->ctr.cls[pi->class]++;
	if (pi->class == MR_CLASS_RTP) {
		const uint8_t *rtp = f + pi->payload_off;
		uint32_t arrival = 0;
		int have = mr_leg_clock(w, s, l, rtp[1] & 0x7f, now, &arrival);
		/* Relaxed: a recording id the control plane sets and clears (rec.h). */
		uint16_t rec = __atomic_load_n(&l->rec_id, __ATOMIC_RELAXED);

		mr_rtp_stats_update(&l->rtp, rtp, arrival, have);
		if (unlikely(rec != 0))
			mr_rec_capture(w, rec, li, rtp, pi->payload_len, now);
		/* Relaxed: a flag the control plane sets and clears (MR_LEG_MUTE_*); the
		 * other leg's first line, which the send below reads anyway. Counted and
		 * recorded like any packet it received, not relayed; RTCP still is. Blocked or
		 * played into: all of it; DTMF blocked: its payload type only; silenced: all but
		 * G.711, which goes on with a silent payload (out of line). */
		uint8_t mu = __atomic_load_n(&o->mute, __ATOMIC_RELAXED);

		if (unlikely(mu != 0)) {
			int hold = (mu & (MR_LEG_MUTE_BLOCK | MR_LEG_MUTE_PLAY)) != 0 ||
				   ((mu & MR_LEG_MUTE_DTMF) && (rtp[1] & 0x7f) ==
				    __atomic_load_n(&o->dtmf_pt, __ATOMIC_RELAXED));

			if (!hold && (mu & MR_LEG_MUTE_SILENCE))
				hold = mr_rtp_silence(rte_pktmbuf_mtod(m, uint8_t *),
						      (struct mr_pkt_info *)(uintptr_t)pi) != 0;
			if (hold) {
				l->drop_muted++;
				mr_drop(w, m, MR_DROP_MUTED);
				return;
			}
			if (mu & MR_LEG_MUTE_SILENCE)
				w->stats.silenced++;
		}
	}

	/* Where it goes: RTP path (and everything with rtcp-mux) to the other leg's RTP remote,
	 * the RTCP port to the other leg's RTCP remote, by default RTP port + 1 (RFC 3550 §11). */
	opi = (s->rtcp_mux || pidx == 0) ? 0 : 1;
	op = &o->path[opi];
	if (!mr_path_has_remote(op) && opi == 1 && mr_path_has_remote(&o->path[0])) {
		op = &o->path[0];
		dst = op->remote;
		dst.port++;
	} else if (mr_path_has_remote(op)) {
		dst = op->remote;
	} else {
		l->ctr.drop_no_remote++;
		mr_drop(w, m, MR_DROP_NO_REMOTE);
		return;
	}
	oport = &dp->port[o->port_idx];
	dmac = mr_path_dmac(oport, op, nmac);
	if (unlikely(dmac == NULL)) {
		l->ctr.drop_no_neigh++;
		mr_drop(w, m, MR_DROP_NO_NEIGHBOR);
		return;
	}
	from = o->local;
	from.port += opi;
	if (unlikely(o->srtp != NULL) && o->srtp->tx != NULL &&
	    (pi->class == MR_CLASS_RTP || pi->class == MR_CLASS_RTCP)) {
		/* To an SRTP remote: encrypted with the rest of the burst (mr_srtp_tx_finish). */
		struct mr_srtp_burst *b = w->srtp_burst;
		struct mr_srtp_op *so = &b->tx_op[b->n_tx];
		struct mr_srtp_tx_pend *tp = &b->tx[b->n_tx];
		uint8_t *pl = rte_pktmbuf_mtod_offset(m, uint8_t *, pi->payload_off);

		so->ctx = o->srtp->tx;
		so->pkt = pl;
		so->len = pi->payload_len;
		so->room = mr_srtp_room(m, pl, pi->payload_len);
		so->rtcp = pi->class == MR_CLASS_RTCP;
		mr_srtp_prefetch(so->ctx, so->rtcp);
		tp->m = m;
		tp->pi = (struct mr_pkt_info *)(uintptr_t)pi;
		tp->o = o;
		tp->from = from;
		tp->dst = dst;
		memcpy(tp->dmac, dmac, RTE_ETHER_ADDR_LEN);
		b->n_tx++;
		return;
	}
	if (unlikely(o->srtp != NULL) && o->srtp->ice != NULL) {
		/* A WebRTC leg gets nothing in clear: no keys from DTLS yet, or not RTP. */
		l->ctr.drop_no_remote++;
		mr_drop(w, m, MR_DROP_NO_REMOTE);
		return;
	}
	if (unlikely(mr_rewrite(w, m, pi, oport, &from, &dst, dmac, rx_recompute) != 0)) {
		mr_drop(w, m, MR_DROP_HDR_ROOM);
		return;
	}
	o->ctr.pkts_out++;
	o->ctr.bytes_out += pi->payload_len;
	w->stats.relayed++;
	mr_cap(w, &o->cap_id, MR_CAP_OUT, m);
	mr_worker_tx(w, o->port_idx, m);
}

/* Relay one UDP packet that belongs to flow val on this (owner) lcore. rx_recompute: the
 * receiving port cannot vouch for the UDP checksum (mr_udp_ck_of()); a constant in the
 * worker's RX path. */
static __rte_always_inline void
mr_relay(struct mr_worker *w, struct rte_mbuf *m, struct mr_pkt_info *pi, uintptr_t val,
	 uint64_t now, const int rx_recompute)
{
	struct mr_dp_session *s = (struct mr_dp_session *)(val & ~(uintptr_t)RTE_CACHE_LINE_MASK);
	unsigned int li = (val >> 1) & 1;
	struct mr_dp_leg *l = &s->leg[li];

	/* A captured leg's frames as they arrived (cap.h). */
	mr_cap(w, &l->cap_id, MR_CAP_IN, m);
	if (unlikely(pi->drop == MR_DROP_RTP_MALFORMED)) {
		l->ctr.drop_rtp++;
		mr_drop(w, m, MR_DROP_RTP_MALFORMED);
		return;
	}
	if (unlikely(l->srtp != NULL)) {
		/* A WebRTC leg (ng's DTLS-SRTP): STUN to ICE-lite, DTLS to the control plane. */
		if (unlikely(l->srtp->ice != NULL) && pi->class != MR_CLASS_RTP &&
		    pi->class != MR_CLASS_RTCP) {
			mr_ice_leg_input(w, m, pi, s, li, now);
			return;
		}
		if (mr_srtp_rx_stage(w, m, pi, val, l->srtp))
			return;
	}
	/* A plain packet the other leg encrypts leaves with a fresh checksum under an
	 * authentication tag: a corrupted one must not be laundered into a valid one. Its
	 * checksum is checked here unless it was already, or the NIC vouched for it. */
	if (unlikely(s->leg[li ^ 1].srtp != NULL) && s->leg[li ^ 1].srtp->tx != NULL &&
	    !pi->ck_have && mr_udp_ck_bad(m, rte_pktmbuf_mtod(m, const uint8_t *), pi, 1)) {
		mr_drop(w, m, MR_DROP_UDP_CKSUM);
		return;
	}
	mr_relay_accept(w, m, pi, val, now, rx_recompute);
}

/* The cache lines mr_relay touches for flow value val: the session's first line, the
 * receiving leg (path, counters, RTP statistics, clock) and the sending leg's path and
 * counters. */
static inline void
mr_relay_prefetch(uintptr_t val)
{
	const struct mr_dp_session *s =
		(const struct mr_dp_session *)(val & ~(uintptr_t)RTE_CACHE_LINE_MASK);
	const uint8_t *l = (const uint8_t *)&s->leg[(val >> 1) & 1];
	const uint8_t *o = (const uint8_t *)&s->leg[((val >> 1) & 1) ^ 1];
	unsigned int c;

	rte_prefetch0(s);
	for (c = 0; c < sizeof(struct mr_dp_leg); c += RTE_CACHE_LINE_SIZE)
		rte_prefetch0(l + c);
	rte_prefetch0(l + sizeof(struct mr_dp_leg) - 1);
	rte_prefetch0(o);
	rte_prefetch0(o + RTE_CACHE_LINE_SIZE);
	rte_prefetch0(o + 2 * RTE_CACHE_LINE_SIZE);
	/* Its srtp pointer, read for every packet (mr_relay), at the leg's end. */
	rte_prefetch0(o + offsetof(struct mr_dp_leg, srtp));
}

/* The second stage, a few packets later (the legs' lines have arrived by then): the legs'
 * SRTP state that mr_relay() reads through their srtp pointers (a separate allocation, missed
 * in the caches with many sessions; docs/PERFORMANCE.md "Header writes and AES-GCM at the
 * flush"). */
static __rte_always_inline void
mr_relay_prefetch_srtp(uintptr_t val)
{
	const struct mr_dp_session *s =
		(const struct mr_dp_session *)(val & ~(uintptr_t)RTE_CACHE_LINE_MASK);
	const struct mr_dp_srtp *a = s->leg[0].srtp, *b = s->leg[1].srtp;

	if (a != NULL) {
		rte_prefetch0(a);
		rte_prefetch0((const uint8_t *)a + sizeof(*a) - 1);
	}
	if (b != NULL) {
		rte_prefetch0(b);
		rte_prefetch0((const uint8_t *)b + sizeof(*b) - 1);
	}
}

#endif
