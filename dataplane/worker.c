/* SPDX-License-Identifier: BSD-3-Clause
 * The worker lcore: poll RX queues and hand-off rings in bursts, parse, look flows up in bulk,
 * latch, count, rewrite the headers in place and send the same mbuf (DESIGN.md §2).
 * Nothing here locks, allocates, makes a system call or logs per packet.
 */
#include <string.h>
#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_udp.h>

#include "cksum.h"
#include "dp.h"
#include "pkt_parse.h"
#include "rtp_stats.h"
#include "session_dp.h"

#define MR_HDR_ETH 14
#define MR_HDR_VLAN 4
#define MR_HDR_IP4 20
#define MR_HDR_IP6 40
#define MR_HDR_UDP 8
#define MR_TTL 64

void
mr_txbuf_flush(struct mr_worker *w, unsigned int pidx)
{
	struct mr_txbuf *b = &w->tx[pidx];
	uint64_t bytes = 0;
	uint16_t sent, i;

	if (b->n == 0)
		return;
	/* Sum before the burst: what the driver accepted is no longer ours to read. */
	for (i = 0; i < b->n; i++)
		bytes += b->m[i]->pkt_len;
	sent = rte_eth_tx_burst(w->dp->port[pidx].port_id, w->idx, b->m, b->n);
	w->stats.tx_pkts += sent;
	if (unlikely(sent < b->n)) {
		for (i = sent; i < b->n; i++)
			bytes -= b->m[i]->pkt_len;
		w->stats.drops[MR_DROP_TX_FULL] += b->n - sent;
		rte_pktmbuf_free_bulk(&b->m[sent], b->n - sent);
	}
	w->stats.tx_bytes += bytes;
	b->n = 0;
}

void
mr_worker_flush(struct mr_worker *w)
{
	unsigned int i;

	for (i = 0; i < w->dp->n_ports; i++)
		mr_txbuf_flush(w, i);
}

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

/* mr_hdr_write() body (dp.h), inlined into the session relay path. */
static __rte_always_inline void
mr_hdr_write_inl(struct rte_mbuf *m, uint8_t *h, const struct mr_dp_port *op,
		 const struct mr_ep *src, const struct mr_ep *dst, const uint8_t *dmac,
		 uint8_t tclass, const uint8_t *payload, uint16_t plen, const struct mr_udp_ck *ck)
{
	uint16_t ncks, ports[2];
	uint16_t l3len, udplen = plen + MR_HDR_UDP;
	uint32_t nsum;
	uint8_t *l3, *udp;

	l3len = dst->family == MR_AF4 ? MR_HDR_IP4 : MR_HDR_IP6;
	l3 = mr_eth_write(h, dmac, op, dst->family == MR_AF4 ? RTE_ETHER_TYPE_IPV4 :
			  RTE_ETHER_TYPE_IPV6);
	if (dst->family == MR_AF4) {
		l3[0] = 0x45;
		l3[1] = tclass;			/* keep DSCP/ECN (EF-marked voice stays EF) */
		l3[2] = (udplen + MR_HDR_IP4) >> 8;
		l3[3] = (udplen + MR_HDR_IP4);
		l3[4] = 0;			/* identification: DF set, never fragmented */
		l3[5] = 0;
		l3[6] = 0x40;
		l3[7] = 0;
		l3[8] = MR_TTL;
		l3[9] = IPPROTO_UDP;
		l3[10] = 0;
		l3[11] = 0;
		memcpy(l3 + 12, src->a, 4);
		memcpy(l3 + 16, dst->a, 4);
		if (!op->tx_ip_cksum) {
			uint16_t c = mr_ipv4_hdr_cksum(l3, MR_HDR_IP4);

			memcpy(l3 + 10, &c, 2);
		}
	} else {
		l3[0] = 0x60 | (tclass >> 4);
		l3[1] = (uint8_t)(tclass << 4);
		l3[2] = 0;
		l3[3] = 0;
		l3[4] = udplen >> 8;
		l3[5] = udplen;
		l3[6] = IPPROTO_UDP;
		l3[7] = MR_TTL;
		memcpy(l3 + 8, src->a, 16);
		memcpy(l3 + 24, dst->a, 16);
	}
	udp = l3 + l3len;
	ports[0] = rte_cpu_to_be_16(src->port);
	ports[1] = rte_cpu_to_be_16(dst->port);
	memcpy(udp, ports, 4);
	udp[4] = udplen >> 8;
	udp[5] = udplen;

	if (op->tx_udp_cksum) {
		/* The NIC finishes the checksum from the pseudo-header sum (over every segment
		 * of a chained mbuf). */
		m->l2_len = l3 - h;
		m->l3_len = l3len;
		if (dst->family == MR_AF4) {
			m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM |
				(op->tx_ip_cksum ? RTE_MBUF_F_TX_IP_CKSUM : 0);
			ncks = rte_ipv4_phdr_cksum((struct rte_ipv4_hdr *)l3, m->ol_flags);
		} else {
			m->ol_flags |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM;
			ncks = rte_ipv6_phdr_cksum((struct rte_ipv6_hdr *)l3, m->ol_flags);
		}
		memcpy(udp + 6, &ncks, 2);
		return;
	}
	if (dst->family == MR_AF4 && op->tx_ip_cksum) {
		m->l2_len = l3 - h;
		m->l3_len = l3len;
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
	}
	if (ck == NULL || (ck->ocks == 0 && dst->family == MR_AF6)) {
		/* A datagram the relay built, or one whose IPv4 sender sent no checksum going
		 * out over IPv6, which requires it (RFC 8200 §8.1): compute it in full. The
		 * payload may sit in another segment: pseudo-header, the UDP header without
		 * its checksum field, then the payload (8 is even, RFC 1071 §2(C)). */
		uint32_t sum = mr_udp_pseudo_sum(dst->family, src->a, dst->a, udplen);

		sum = mr_csum_partial(udp, 6, sum);
		sum = mr_csum_partial(payload, plen, sum);
		ncks = (uint16_t)~mr_csum_fold(sum);
		if (ncks == 0)
			ncks = 0xffff;
	} else if (ck->ocks == 0) {
		/* The sender sent no checksum (IPv4 only, RFC 768): IPv4 may go on without. */
		ncks = 0;
	} else {
		/* RFC 1624 incremental update: only addresses and ports changed; the UDP length and
		 * protocol words contribute the same to the IPv4 and IPv6 pseudo-headers. */
		nsum = mr_csum_partial(src->a, src->family == MR_AF4 ? 4 : 16, 0);
		nsum = mr_csum_partial(dst->a, dst->family == MR_AF4 ? 4 : 16, nsum);
		nsum = mr_csum_partial(ports, 4, nsum);
		ncks = mr_udp_cksum_replace(ck->ocks, ck->osum, nsum);
	}
	memcpy(udp + 6, &ncks, 2);
}

void
mr_hdr_write(struct rte_mbuf *m, uint8_t *h, const struct mr_dp_port *op,
	     const struct mr_ep *src, const struct mr_ep *dst, const uint8_t *dmac,
	     uint8_t tclass, const uint8_t *payload, uint16_t plen, const struct mr_udp_ck *ck)
{
	mr_hdr_write_inl(m, h, op, src, dst, dmac, tclass, payload, plen, ck);
}

/* Write fresh Ethernet/[VLAN]/IP/UDP headers in front of the payload of m, reusing the mbuf
 * (the payload is neither moved nor copied). Returns 0, or -1 when there is no headroom. */
static inline int
mr_rewrite(struct mr_worker *w, struct rte_mbuf *m, const struct mr_pkt_info *pi,
	   const struct mr_dp_port *op, const struct mr_ep *src, const struct mr_ep *dst,
	   const uint8_t *dmac)
{
	struct mr_udp_ck ck;
	uint16_t hlen;
	int delta;
	uint8_t *h;

	/* Everything needed from the old headers is read before they are overwritten. */
	mr_udp_ck_of(rte_pktmbuf_mtod(m, const uint8_t *), pi, &ck);
	hlen = mr_hdr_len(op, dst->family);
	delta = (int)hlen - (int)pi->payload_off;
	if (delta > 0) {
		if (unlikely(rte_pktmbuf_headroom(m) < delta))
			return -1;
		m->data_off -= delta;
	} else {
		m->data_off += -delta;
	}
	/* Single-segment mbuf (the parser only reads the first segment): drop trailing padding. */
	m->data_len = hlen + pi->payload_len;
	m->pkt_len = m->data_len;
	h = rte_pktmbuf_mtod(m, uint8_t *);
	mr_hdr_write_inl(m, h, op, src, dst, dmac, pi->tclass, h + hlen, pi->payload_len, &ck);
	(void)w;
	return 0;
}

/* Relay one UDP packet that belongs to flow val on this (owner) lcore. */
static inline void
mr_relay(struct mr_worker *w, struct rte_mbuf *m, const struct mr_pkt_info *pi, uintptr_t val,
	 uint64_t now)
{
	struct mr_dp *dp = w->dp;
	struct mr_dp_session *s = (struct mr_dp_session *)(val & ~(uintptr_t)RTE_CACHE_LINE_MASK);
	unsigned int li = (val >> 1) & 1, pidx = val & 1, opi;
	struct mr_dp_leg *l = &s->leg[li], *o = &s->leg[li ^ 1];
	struct mr_dp_path *p = &l->path[pidx], *op;
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct rte_ether_addr *smac = (const struct rte_ether_addr *)(f + 6);
	const struct mr_dp_port *oport;
	struct mr_ep src, dst, from;
	uint8_t nmac[RTE_ETHER_ADDR_LEN];
	const uint8_t *dmac;

	/* The source endpoint, for latching (RFC 3550 §8.2 explains why sources are tracked;
	 * symmetric RTP, RFC 4961, is why the reply goes where the packets come from). */
	mr_pkt_src_ep(f, pi, &src);

	if (unlikely(pi->drop == MR_DROP_RTP_MALFORMED)) {
		l->ctr.drop_rtp++;
		mr_drop(w, m, MR_DROP_RTP_MALFORMED);
		return;
	}

	switch (mr_path_accept(dp, &l->seq, p, &src, smac, now)) {
	case MR_LATCH_REFUSED:
		l->ctr.drop_src++;
		mr_drop(w, m, MR_DROP_SRC_MISMATCH);
		return;
	case MR_LATCH_MOVED:
		l->ctr.relatches++;
		break;
	default:
		break;
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

		mr_rtp_stats_update(&l->rtp, rtp, arrival, have);
	}

	/* Where it goes: RTP path (and everything with rtcp-mux) to the other leg's RTP remote,
	 * the RTCP port to the other leg's RTCP remote, by default RTP port + 1 (RFC 3550 §11). */
	opi = (s->rtcp_mux || pidx == 0) ? 0 : 1;
	op = &o->path[opi];
	if (op->state == MR_PATH_NONE && opi == 1 && o->path[0].state != MR_PATH_NONE) {
		op = &o->path[0];
		dst = op->remote;
		dst.port++;
	} else if (op->state != MR_PATH_NONE) {
		dst = op->remote;
	} else {
		l->ctr.drop_no_remote++;
		mr_drop(w, m, MR_DROP_NO_REMOTE);
		return;
	}
	oport = &dp->port[o->port_idx];
	if (op->state == MR_PATH_LATCHED) {
		dmac = op->mac.addr_bytes;
	} else {
		/* Relaxed: the control plane replaces the whole word; either value is a MAC
		 * that was valid for this next hop. */
		uint64_t nw = __atomic_load_n(&oport->neigh[op->nh].w, __ATOMIC_RELAXED);
		unsigned int b;

		if (unlikely(!(nw & MR_NEIGH_VALID))) {
			l->ctr.drop_no_neigh++;
			mr_drop(w, m, MR_DROP_NO_NEIGHBOR);
			return;
		}
		for (b = 0; b < RTE_ETHER_ADDR_LEN; b++)
			nmac[b] = nw >> (40 - 8 * b);
		dmac = nmac;
	}
	from = o->local;
	from.port += opi;
	if (unlikely(mr_rewrite(w, m, pi, oport, &from, &dst, dmac) != 0)) {
		mr_drop(w, m, MR_DROP_HDR_ROOM);
		return;
	}
	o->ctr.pkts_out++;
	o->ctr.bytes_out += pi->payload_len;
	w->stats.relayed++;
	mr_worker_tx(w, o->port_idx, m);
}

#define MR_PREFETCH_AHEAD 4

/* The cache lines mr_relay touches: the session's first line, the receiving leg (path,
 * counters, RTP statistics, clock) and the sending leg's path and counters. A room
 * participant's first two lines. */
static inline void
mr_flow_prefetch(uintptr_t val)
{
	const uint8_t *b = (const uint8_t *)(val & ~(uintptr_t)RTE_CACHE_LINE_MASK);

	if (val & MR_FLOW_ROOM) {
		rte_prefetch0(b);
		rte_prefetch0(b + RTE_CACHE_LINE_SIZE);
		return;
	}
	{
		const struct mr_dp_session *s = (const struct mr_dp_session *)b;
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
	}
}

/* Process received packets. from_handoff is a compile-time constant: packets that came over a
 * hand-off ring were already checked by another worker and must not travel again. */
static __rte_always_inline void
mr_input(struct mr_worker *w, struct rte_mbuf **pkts, uint16_t n, uint64_t now,
	 const int from_handoff)
{
	struct mr_dp *dp = w->dp;
	struct mr_flow_key keys[MR_BURST];
	const void *kp[MR_BURST];
	struct mr_pkt_info pis[MR_BURST];
	struct rte_mbuf *own[MR_BURST];
	void *data[MR_BURST];
	uint64_t hits = 0;
	unsigned int i, k = 0;
	int r;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct mr_pkt_info *pi = &pis[k];
		struct mr_dp_port *p;
		const uint8_t *f;
		unsigned int owner;
		int aidx;

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		f = rte_pktmbuf_mtod(m, const uint8_t *);
		p = &dp->port[dp->port_idx_of[m->port]];
		if (!from_handoff) {
			w->stats.rx_pkts++;
			w->stats.rx_bytes += m->pkt_len;
		}
		switch (mr_pkt_parse(f, m->data_len, pi)) {
		case MR_V_UDP:
			pi->drop = MR_DROP_MAX;
			break;
		case MR_V_ARP:
			if (unlikely(pi->vlan != p->vlan || pi->has_vlan != (p->vlan != 0))) {
				mr_drop(w, m, MR_DROP_VLAN);
				continue;
			}
			mr_slow_arp(w, p, m, pi);
			continue;
		case MR_V_ICMP4:
		case MR_V_ICMP6:
			if (unlikely(pi->vlan != p->vlan || pi->has_vlan != (p->vlan != 0))) {
				mr_drop(w, m, MR_DROP_VLAN);
				continue;
			}
			if (pi->family == MR_AF4)
				mr_slow_icmp4(w, p, m, pi);
			else
				mr_slow_icmp6(w, p, m, pi);
			continue;
		default:
			/* A short RTP/RTCP packet is charged to its leg: look its flow up. */
			if (pi->drop == MR_DROP_RTP_MALFORMED)
				break;
			mr_drop(w, m, pi->drop);
			continue;
		}
		if (unlikely(pi->vlan != p->vlan || pi->has_vlan != (p->vlan != 0))) {
			mr_drop(w, m, MR_DROP_VLAN);
			continue;
		}
		/* Unicast UDP for our MAC only: the port runs promiscuous for ND multicast. */
		if (unlikely(!rte_is_same_ether_addr((const struct rte_ether_addr *)f, &p->mac))) {
			mr_drop(w, m, MR_DROP_NOT_FOR_US_MAC);
			continue;
		}
		aidx = mr_local_idx(p, pi->family,
				    f + pi->l2_len + (pi->family == MR_AF4 ? 16 : 24));
		if (unlikely(aidx < 0)) {
			mr_drop(w, m, MR_DROP_NOT_OUR_IP);
			continue;
		}
		owner = dp->owner[mr_owner_idx((unsigned int)aidx, pi->dport)];
		if (unlikely(owner == 0)) {
			mr_drop(w, m, MR_DROP_NO_FLOW);
			continue;
		}
		if (owner - 1 != w->idx) {
			/* DESIGN.md §2: the NIC did not steer this one to its owner; pass it on. */
			if (from_handoff) {
				mr_drop(w, m, MR_DROP_NO_FLOW);
				continue;
			}
			if (unlikely(rte_ring_sp_enqueue(dp->w[owner - 1]->handoff[w->idx], m) != 0)) {
				mr_drop(w, m, MR_DROP_HANDOFF_FULL);
				continue;
			}
			w->stats.handoff_out++;
			continue;
		}
		memset(&keys[k], 0, sizeof(keys[k]));
		memcpy(keys[k].a, f + pi->l2_len + (pi->family == MR_AF4 ? 16 : 24),
		       pi->family == MR_AF4 ? 4 : 16);
		keys[k].port = pi->dport;
		keys[k].family = pi->family;
		kp[k] = &keys[k];
		own[k] = m;
		k++;
	}
	if (k == 0)
		return;
	r = rte_hash_lookup_bulk_data(w->flows, kp, k, &hits, data);
	(void)r;
	/* With many sessions their state is not in the caches: fetch MR_PREFETCH_AHEAD
	 * packets' session lines ahead of the one being relayed, so the misses overlap. */
	for (i = 0; i < k && i < MR_PREFETCH_AHEAD; i++)
		if (hits & (1ULL << i))
			mr_flow_prefetch((uintptr_t)data[i]);
	for (i = 0; i < k; i++) {
		if (i + MR_PREFETCH_AHEAD < k && (hits & (1ULL << (i + MR_PREFETCH_AHEAD))))
			mr_flow_prefetch((uintptr_t)data[i + MR_PREFETCH_AHEAD]);
		if (unlikely(!(hits & (1ULL << i)))) {
			mr_drop(w, own[i], MR_DROP_NO_FLOW);
			continue;
		}
		if ((uintptr_t)data[i] & MR_FLOW_ROOM)
			mr_room_fwd_input(w, own[i], &pis[i], (struct mr_dp_part *)
				      ((uintptr_t)data[i] & ~(uintptr_t)RTE_CACHE_LINE_MASK), now);
		else
			mr_relay(w, own[i], &pis[i], (uintptr_t)data[i], now);
	}
}

void
mr_worker_input(struct mr_worker *w, struct rte_mbuf **pkts, uint16_t n, uint64_t now)
{
	mr_input(w, pkts, n, now, 0);
}

static void
mr_cmd_apply(struct mr_worker *w, const struct mr_cmd *c)
{
	struct mr_dp_session *s = c->s;

	switch (c->type) {
	case MR_CMD_SET_REMOTE: {
		struct mr_dp_leg *l = &s->leg[c->leg];
		struct mr_dp_path *p = &l->path[c->path];

		rte_seqcount_write_begin(&l->seq);
		p->remote = c->remote;
		p->nh = c->nh;
		p->state = c->remote.family ? MR_PATH_CONFIGURED : MR_PATH_NONE;
		p->last_rx_tsc = rte_get_tsc_cycles();
		rte_seqcount_write_end(&l->seq);
		break;
	}
	case MR_CMD_RETIRE:
		/* Release: the control plane's acquire load of retired sees every write this
		 * lcore made to the session before it. */
		__atomic_store_n(&s->retired, 1, __ATOMIC_RELEASE);
		break;
	case MR_CMD_PART_RETIRE:
	case MR_CMD_SEND_RR:
	case MR_CMD_PART_RESET:
		mr_room_fwd_cmd(w, c, rte_get_tsc_cycles());
		break;
	default:
		break;
	}
	w->stats.cmds++;
}

void
mr_worker_commands(struct mr_worker *w)
{
	struct mr_cmd c;

	while (rte_ring_sc_dequeue_elem(w->cmd, &c, sizeof(c)) == 0)
		mr_cmd_apply(w, &c);
}

unsigned int
mr_worker_iteration(struct mr_worker *w, uint64_t now)
{
	struct mr_dp *dp = w->dp;
	struct rte_mbuf *pkts[MR_BURST];
	unsigned int i, work = 0;

	mr_worker_commands(w);
	for (i = 0; i < w->n_rxq; i++) {
		const struct mr_rxq *q = &w->rxq[i];
		uint16_t n = rte_eth_rx_burst(dp->port[q->port_idx].port_id, q->queue, pkts,
					      MR_BURST);

		if (n == 0)
			continue;
		work += n;
		mr_input(w, pkts, n, now, 0);
	}
	for (i = 0; i < dp->n_workers; i++) {
		struct rte_ring *r = w->handoff[i];
		unsigned int n;

		if (r == NULL)
			continue;
		n = rte_ring_sc_dequeue_burst(r, (void **)pkts, MR_BURST, NULL);
		if (n == 0)
			continue;
		work += n;
		w->stats.handoff_in += n;
		mr_input(w, pkts, n, now, 1);
	}
	mr_worker_flush(w);
	return work;
}

int
mr_worker_main(void *arg)
{
	struct mr_worker *w = arg;
	struct mr_dp *dp = w->dp;
	uint64_t t0, t1;
	unsigned int idle_iters = 0;

	rte_rcu_qsbr_thread_register(dp->qsv, w->idx);
	rte_rcu_qsbr_thread_online(dp->qsv, w->idx);
	t0 = rte_get_tsc_cycles();
	/* Relaxed: stop is a plain flag; the control plane waits for the lcore to return. */
	while (!__atomic_load_n(&dp->stop, __ATOMIC_RELAXED)) {
		unsigned int work;

		/* Quiescent at the top: no flow table entry or session pointer is held across
		 * iterations (DESIGN.md §2 "Publication"). */
		rte_rcu_qsbr_quiescent(dp->qsv, w->idx);
		work = mr_worker_iteration(w, t0);
		t1 = rte_get_tsc_cycles();
		if (work) {
			w->stats.busy_cycles += t1 - t0;
			idle_iters = 0;
		} else {
			w->stats.idle_cycles += t1 - t0;
			if (dp->idle_sleep_us && ++idle_iters > 64) {
				/* Offline while asleep so grace periods do not wait for us. */
				rte_rcu_qsbr_thread_offline(dp->qsv, w->idx);
				rte_delay_us_sleep(dp->idle_sleep_us);
				rte_rcu_qsbr_thread_online(dp->qsv, w->idx);
				t1 = rte_get_tsc_cycles();
			}
		}
		w->stats.iterations++;
		t0 = t1;
	}
	rte_rcu_qsbr_thread_offline(dp->qsv, w->idx);
	rte_rcu_qsbr_thread_unregister(dp->qsv, w->idx);
	return 0;
}
