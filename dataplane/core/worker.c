/* SPDX-License-Identifier: BSD-3-Clause
 * The worker lcore: poll RX queues and hand-off rings in bursts, parse, look flows up in bulk,
 * latch, count, rewrite the headers in place and send the same mbuf (DESIGN.md §2).
 * Nothing here locks, allocates, makes a system call or logs per packet.
 */
#include <string.h>
#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_udp.h>

#include "dp_priv.h"
#include "hdr.h"
#include "pkt_parse.h"
#include "relay.h"
#include "room_fwd.h"

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

void
mr_hdr_write(struct rte_mbuf *m, uint8_t *h, const struct mr_dp_port *op,
	     const struct mr_ep *src, const struct mr_ep *dst, const uint8_t *dmac,
	     uint8_t tclass, const uint8_t *payload, uint16_t plen, const struct mr_udp_ck *ck)
{
	mr_hdr_write_inl(m, h, op, src, dst, dmac, tclass, payload, plen, ck);
}

#define MR_PREFETCH_AHEAD 4

/* What the packet of flow val will touch: a session's lines (relay.h), or a room
 * participant's first three (room_dp.h: read-only, path, counters). */
static inline void
mr_flow_prefetch(uintptr_t val)
{
	if (val & MR_FLOW_ROOM) {
		const uint8_t *b = (const uint8_t *)(val & ~(uintptr_t)RTE_CACHE_LINE_MASK);

		rte_prefetch0(b);
		rte_prefetch0(b + RTE_CACHE_LINE_SIZE);
		rte_prefetch0(b + 2 * RTE_CACHE_LINE_SIZE);
		return;
	}
	mr_relay_prefetch(val);
}

/* Process received packets. from_handoff and ck are compile-time constants: packets that came
 * over a hand-off ring were already checked by another worker and must not travel again; ck
 * says whether their port vouches for their UDP checksums (MR_CK_PORT: look at each packet's
 * port, as hand-off bursts mix ports). */
static __rte_always_inline void
mr_input(struct mr_worker *w, struct rte_mbuf **pkts, uint16_t n, uint64_t now,
	 const int from_handoff, const int ck)
{
	struct mr_dp *dp = w->dp;
	struct mr_flow_key keys[MR_BURST];
	struct mr_pkt_info pis[MR_BURST];
	struct rte_mbuf *own[MR_BURST];
	uintptr_t data[MR_BURST];
	uint64_t hits = 0;
	unsigned int i, k = 0;

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
		owner = mr_owner_load(dp, (unsigned int)aidx, pi->dport);
		if (unlikely(owner == 0)) {
			mr_drop(w, m, MR_DROP_NO_FLOW);
			continue;
		}
		if (owner - 1 != w->idx) {
			/* DESIGN.md §2: the NIC did not steer this one to its owner; pass it on. */
			if (from_handoff) {
				/* Its port changed owner while it was in the ring: a second
				 * hand-off could chase a moving owner, so it ends here. */
				mr_drop(w, m, MR_DROP_HANDOFF_STALE);
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
		own[k] = m;
		k++;
	}
	if (k == 0)
		return;
	mr_flow_table_lookup_bulk(w->flows, keys, k, &hits, data);
	/* With many sessions their state is not in the caches: fetch MR_PREFETCH_AHEAD
	 * packets' session lines ahead of the one being relayed, so the misses overlap. */
	for (i = 0; i < k && i < MR_PREFETCH_AHEAD; i++)
		if (hits & (1ULL << i))
			mr_flow_prefetch(data[i]);
	for (i = 0; i < k; i++) {
		if (i + MR_PREFETCH_AHEAD < k && (hits & (1ULL << (i + MR_PREFETCH_AHEAD))))
			mr_flow_prefetch(data[i + MR_PREFETCH_AHEAD]);
		if (unlikely(!(hits & (1ULL << i)))) {
			mr_drop(w, own[i], MR_DROP_NO_FLOW);
			continue;
		}
		if (data[i] & MR_FLOW_ROOM)
			mr_room_fwd_input(w, own[i], &pis[i], (struct mr_dp_part *)
				      (data[i] & ~(uintptr_t)RTE_CACHE_LINE_MASK), now);
		else
			mr_relay(w, own[i], &pis[i], data[i], now,
				 mr_rx_recompute(dp, own[i], ck));
	}
}

void
mr_worker_input(struct mr_worker *w, struct rte_mbuf **pkts, uint16_t n, uint64_t now)
{
	mr_input(w, pkts, n, now, 0, MR_CK_PORT);
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
	case MR_CMD_SEND_RR:
	case MR_CMD_PART_RESET:
		mr_room_fwd_cmd(w, c, rte_get_tsc_cycles());
		break;
	default:
		break;
	}
	w->stats.cmds++;
	/* Release: a control thread whose acquire load sees the new count sees every write
	 * this command made, and knows that nothing the command named is used by it any more
	 * (controlplane/core/defer.h). This lcore is the only writer: the plain read is its
	 * own last store. */
	__atomic_store_n(&w->cmd_done, w->cmd_done + 1, __ATOMIC_RELEASE);
}

void
mr_worker_commands(struct mr_worker *w)
{
	struct mr_cmd c;

	while (rte_ring_sc_dequeue_elem(w->cmd, &c, sizeof(c)) == 0)
		mr_cmd_apply(w, &c);
}

/* Queue what the control thread built for TX (ARP requests, neighbor solicitations) on this
 * worker's TX buffers: the control thread needs no TX queue of its own. */
static unsigned int
mr_worker_cp_tx(struct mr_worker *w, struct rte_mbuf **pkts)
{
	unsigned int i, n = rte_ring_sc_dequeue_burst(w->cp_tx, (void **)pkts, MR_BURST, NULL);

	for (i = 0; i < n; i++)
		mr_worker_tx(w, w->dp->port_idx_of[pkts[i]->port], pkts[i]);
	return n;
}

unsigned int
mr_worker_iteration(struct mr_worker *w, uint64_t now)
{
	struct mr_dp *dp = w->dp;
	struct rte_mbuf *pkts[MR_BURST];
	unsigned int i, work = 0;

	mr_worker_commands(w);
	if (w->cp_tx != NULL)
		work += mr_worker_cp_tx(w, pkts);
	for (i = 0; i < w->n_rxq; i++) {
		const struct mr_rxq *q = &w->rxq[i];
		uint16_t n = rte_eth_rx_burst(dp->port[q->port_idx].port_id, q->queue, pkts,
					      MR_BURST);

		if (n == 0)
			continue;
		work += n;
		/* One test a burst, none a packet: a queue belongs to one port. */
		if (dp->port[q->port_idx].rx_cksum_recompute)
			mr_input(w, pkts, n, now, 0, 1);
		else
			mr_input(w, pkts, n, now, 0, 0);
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
		mr_input(w, pkts, n, now, 1, MR_CK_PORT);
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
