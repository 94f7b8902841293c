/* SPDX-License-Identifier: BSD-3-Clause
 * The worker lcore: poll RX queues and hand-off rings in bursts, parse, look flows up in bulk,
 * latch, count, rewrite the headers in place and send the same mbuf (DESIGN.md §2).
 * Nothing here locks, allocates, makes a system call or logs per packet.
 */
#include <errno.h>
#include <string.h>
#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
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
#include "rtp_ext.h"
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

__rte_noinline int
mr_rtp_silence(uint8_t *f, struct mr_pkt_info *pi)
{
	uint8_t *rtp = f + pi->payload_off, *u = f + pi->l4_off;
	unsigned int len = pi->payload_len, pad = 0;
	size_t ext, hl;
	uint8_t pt, fill;
	uint16_t field;

	if (len < 12)
		return -1;
	pt = rtp[1] & 0x7f;
	if (pt == 0)
		fill = 0xff;		/* mu-law of 0 (G.711 Table 2a) */
	else if (pt == 8)
		fill = 0xd5;		/* A-law of 0 (Table 1a) */
	else
		return -1;
	/* The payload: after the CSRCs and the extension (RFC 3550 §5.1, §5.3.1), before the
	 * padding. */
	if (mr_rtp_ext_locate(rtp, len, &ext, &hl) < 0)
		return -1;
	if ((rtp[0] & 0x20) != 0)
		pad = rtp[len - 1];
	if (hl + pad > len)
		return -1;
	memset(rtp + hl, fill, len - hl - pad);
	/* The datagram's checksum made right for its new payload, as if it had come so: what
	 * mr_rewrite() updates for the new headers (field, or ck_fresh where it recomputes).
	 * An IPv4 datagram sent without one keeps none; a decrypted one gets a new one anyway. */
	memcpy(&field, u + 6, 2);
	if (!pi->decrypted && (field != 0 || pi->family == MR_AF6)) {
		const uint8_t *src = f + pi->l2_len + (pi->family == MR_AF4 ? 12 : 8);
		const uint8_t *dst = src + (pi->family == MR_AF4 ? 4 : 16);
		uint16_t c = mr_udp_cksum(pi->family, src, dst, u, pi->l4_len);

		memcpy(u + 6, &c, 2);
		pi->ck_fresh = c;
		pi->ck_have = 1;
	}
	return 0;
}

#define MR_PREFETCH_AHEAD 4
#define MR_PREFETCH_SRTP 2	/* the second stage: lines found through the first's */

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

/* Relay the packets mr_relay() staged for decryption (struct mr_srtp_burst): one engine
 * burst, then those that failed to authenticate again under the previous key while a
 * re-key's overlap lasts, then each in its order of arrival. */
static __rte_noinline void
mr_srtp_rx_finish(struct mr_worker *w, uint64_t now)
{
	struct mr_srtp_burst *b = w->srtp_burst;
	unsigned int i, n = b->n_rx, nr = 0;

	b->n_rx = 0;
	mr_srtp_unprotect_burst(w->srtp, b->rx_op, n);
	for (i = 0; i < n; i++) {
		struct mr_dp_srtp *sr = mr_flow_srtp(b->rx[i].val);

		if (b->rx_op[i].res == MR_SRTP_EAUTH && sr->rx_old != NULL &&
		    (int64_t)(now - sr->rx_old_until) < 0) {
			b->retry_op[nr] = b->rx_op[i];
			b->retry_op[nr].ctx = sr->rx_old;
			b->retry_of[nr++] = (uint8_t)i;
		}
	}
	if (unlikely(nr != 0)) {
		mr_srtp_unprotect_burst(w->srtp, b->retry_op, nr);
		for (i = 0; i < nr; i++) {
			if (b->retry_op[i].res != MR_SRTP_OK)
				continue;
			b->rx_op[b->retry_of[i]].res = MR_SRTP_OK;
			b->rx_op[b->retry_of[i]].len = b->retry_op[i].len;
			b->rx_op[b->retry_of[i]].ctx = NULL;	/* marks "under the old key" */
		}
	}
	for (i = 0; i < n; i++) {
		struct mr_srtp_rx_pend *rp = &b->rx[i];
		struct mr_dp_srtp *sr = mr_flow_srtp(rp->val);

		switch (b->rx_op[i].res) {
		case MR_SRTP_OK:
			sr->ctr.decrypted++;
			if (b->rx_op[i].ctx == NULL)
				sr->ctr.old_key++;
			rp->pi->payload_len = b->rx_op[i].len;
			rp->pi->decrypted = 1;
			if (rp->val & MR_FLOW_ROOM)
				mr_room_fwd_accept(w, rp->m, rp->pi, (struct mr_dp_part *)
						   (rp->val & ~(uintptr_t)RTE_CACHE_LINE_MASK),
						   now);
			else
				mr_relay_accept(w, rp->m, rp->pi, rp->val, now, MR_CK_NEW);
			break;
		case MR_SRTP_EREPLAY:
			sr->ctr.replay++;
			mr_drop(w, rp->m, MR_DROP_SRTP_REPLAY);
			break;
		case MR_SRTP_EMALFORMED:
			sr->ctr.malformed++;
			mr_drop(w, rp->m, MR_DROP_SRTP_MALFORMED);
			break;
		default:
			sr->ctr.auth_fail++;
			mr_drop(w, rp->m, MR_DROP_SRTP_AUTH);
			break;
		}
	}
}

/* Encrypt the packets staged for SRTP remotes, then write their headers and send them. */
static __rte_noinline void
mr_srtp_tx_finish(struct mr_worker *w)
{
	struct mr_srtp_burst *b = w->srtp_burst;
	struct mr_dp *dp = w->dp;
	unsigned int i, n = b->n_tx;

	b->n_tx = 0;
	mr_srtp_protect_burst(w->srtp, b->tx_op, n);
	for (i = 0; i < n; i++) {
		struct mr_srtp_tx_pend *tp = &b->tx[i];
		struct mr_dp_leg *o = tp->o;

		if (unlikely(b->tx_op[i].res != MR_SRTP_OK)) {
			o->srtp->ctr.protect_fail++;
			mr_drop(w, tp->m, MR_DROP_SRTP_PROTECT);
			continue;
		}
		tp->pi->payload_len = b->tx_op[i].len;
		if (unlikely(mr_rewrite(w, tp->m, tp->pi, &dp->port[o->port_idx], &tp->from,
					&tp->dst, tp->dmac, MR_CK_NEW) != 0)) {
			mr_drop(w, tp->m, MR_DROP_HDR_ROOM);
			continue;
		}
		o->srtp->ctr.encrypted++;
		o->ctr.pkts_out++;
		o->ctr.bytes_out += tp->pi->payload_len;
		w->stats.relayed++;
		mr_cap(w, &o->cap_id, MR_CAP_OUT, tp->m);
		mr_worker_tx(w, o->port_idx, tp->m);
	}
}

/* ---- software hand-off (DESIGN.md §2 "Ownership"): packets the NIC did not steer to their
 * owner, gathered during an RX burst and passed on at its end, one enqueue burst per
 * destination worker rather than one per packet. ---- */

struct mr_handoff {
	unsigned int n;
	uint8_t to[MR_BURST];		/* destination worker index */
	struct rte_mbuf *m[MR_BURST];
};

/* Enqueue what h gathered, in arrival order per destination; what a full ring refuses is
 * dropped and counted per packet (handoff_ring_full). */
static __rte_noinline void
mr_handoff_flush(struct mr_worker *w, struct mr_handoff *h)
{
	struct rte_mbuf *batch[MR_BURST];
	unsigned int n = h->n, i, nb, keep, sent;

	while (n != 0) {
		uint8_t to = h->to[0];

		for (i = 0, nb = 0, keep = 0; i < n; i++) {
			if (h->to[i] == to) {
				batch[nb++] = h->m[i];
			} else {
				h->to[keep] = h->to[i];
				h->m[keep++] = h->m[i];
			}
		}
		n = keep;
		sent = rte_ring_sp_enqueue_burst(w->dp->w[to]->handoff[w->idx], (void **)batch,
						 nb, NULL);
		w->stats.handoff_out += sent;
		w->stats.handoff_bursts++;
		for (i = sent; i < nb; i++)
			mr_drop(w, batch[i], MR_DROP_HANDOFF_FULL);
	}
	h->n = 0;
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
	struct mr_handoff ho;
	uint64_t hits = 0;
	unsigned int i, k = 0;

	ho.n = 0;
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
			/* A header the relay rewrites with a fresh checksum is checked first
			 * (handed-off packets were, by the worker that received them). */
			if (!from_handoff && pi->family == MR_AF4 &&
			    unlikely(mr_ip4_ck_bad(m, f, pi))) {
				mr_drop(w, m, MR_DROP_IP4_CKSUM);
				continue;
			}
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
			if (pi->family == MR_AF4 && unlikely(mr_ip4_ck_bad(m, f, pi))) {
				mr_drop(w, m, MR_DROP_IP4_CKSUM);
				continue;
			}
			if (pi->family == MR_AF4)
				mr_slow_icmp4(w, p, m, pi);
			else
				mr_slow_icmp6(w, p, m, pi);
			continue;
		default:
			/* A short RTP/RTCP packet is charged to its leg: look its flow up. */
			if (pi->drop == MR_DROP_RTP_MALFORMED) {
				if (!from_handoff && pi->family == MR_AF4 &&
				    unlikely(mr_ip4_ck_bad(m, f, pi))) {
					mr_drop(w, m, MR_DROP_IP4_CKSUM);
					continue;
				}
				break;
			}
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
		if (!from_handoff && unlikely(mr_udp_ck_bad(m, f, pi, mr_rx_recompute(dp, m, ck)))) {
			mr_drop(w, m, MR_DROP_UDP_CKSUM);
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
			ho.to[ho.n] = (uint8_t)(owner - 1);
			ho.m[ho.n++] = m;
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
	if (!from_handoff) {
		/* Received on a queue of their owner: what steering is for. */
		w->stats.rx_owned += k;
		if (ho.n != 0)
			mr_handoff_flush(w, &ho);
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
		if (i + MR_PREFETCH_SRTP < k && (hits & (1ULL << (i + MR_PREFETCH_SRTP))) &&
		    !(data[i + MR_PREFETCH_SRTP] & MR_FLOW_ROOM))
			mr_relay_prefetch_srtp(data[i + MR_PREFETCH_SRTP]);
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
	if (unlikely(w->srtp_burst != NULL)) {
		if (w->srtp_burst->n_rx)
			mr_srtp_rx_finish(w, now);
		if (w->srtp_burst->n_tx)
			mr_srtp_tx_finish(w);
	}
}

void
mr_worker_input(struct mr_worker *w, struct rte_mbuf **pkts, uint16_t n, uint64_t now)
{
	mr_input(w, pkts, n, now, 0, MR_CK_PORT);
}

/* MR_CMD_SRTP_SET, MR_CMD_PART_SRTP_SET: the new state nw replaces *slot between two bursts;
 * what the contexts it replaces learned (rollover counters, replay windows) carries over, and
 * so do the counters. The control plane frees the old struct and the contexts no longer named
 * once this command was applied and a grace period passed. */
static void
mr_srtp_install(struct mr_worker *w, struct mr_dp_srtp **slot, struct mr_dp_srtp *nw)
{
	struct mr_dp_srtp *old = *slot;

	if (nw != NULL && old != NULL) {
		if (nw->rx != NULL && old->rx != NULL && nw->rx != old->rx)
			mr_srtp_ctx_inherit(nw->rx, old->rx);
		if (nw->tx != NULL && old->tx != NULL && nw->tx != old->tx)
			mr_srtp_ctx_inherit(nw->tx, old->tx);
		nw->ctr = old->ctr;
	}
	if (nw != NULL && nw->rx_old != NULL)
		nw->rx_old_until = w->now + w->dp->srtp_overlap_tsc;
	*slot = nw;
}

/* MR_CMD_LEG_PLAY_PKT: a voice message's packet m (RTP at its data start) to leg l's remote,
 * from the leg's local endpoint, encrypted first when the remote takes SRTP (one op: the
 * control thread paces these at the message's 50 packets a second). Consumes m. */
static void
mr_leg_play(struct mr_worker *w, struct mr_dp_leg *l, struct rte_mbuf *m)
{
	const struct mr_dp_port *op = &w->dp->port[l->port_idx];
	uint16_t hlen = mr_hdr_len(op, l->local.family), plen = m->data_len;
	uint8_t *pl = rte_pktmbuf_mtod(m, uint8_t *), nmac[RTE_ETHER_ADDR_LEN];
	struct mr_dp_path *p = &l->path[0];
	const uint8_t *dmac;

	if (!mr_path_has_remote(p) ||
	    (l->srtp != NULL && l->srtp->ice != NULL && l->srtp->tx == NULL)) {
		/* No remote, or a WebRTC leg without its DTLS keys yet: nothing in clear. */
		l->ctr.drop_no_remote++;
		mr_drop(w, m, MR_DROP_NO_REMOTE);
		return;
	}
	dmac = mr_path_dmac(op, p, nmac);
	if (dmac == NULL) {
		l->ctr.drop_no_neigh++;
		mr_drop(w, m, MR_DROP_NO_NEIGHBOR);
		return;
	}
	if (l->srtp != NULL && l->srtp->tx != NULL) {
		struct mr_srtp_op so = {
			.ctx = l->srtp->tx, .pkt = pl, .len = plen,
			.room = mr_srtp_room(m, pl, plen),
		};

		mr_srtp_protect_burst(w->srtp, &so, 1);
		if (so.res != MR_SRTP_OK || rte_pktmbuf_append(m, so.len - plen) == NULL) {
			l->srtp->ctr.protect_fail++;
			mr_drop(w, m, MR_DROP_SRTP_PROTECT);
			return;
		}
		l->srtp->ctr.encrypted++;
		plen = so.len;
	}
	if (m->data_off < hlen) {
		mr_drop(w, m, MR_DROP_HDR_ROOM);
		return;
	}
	m->data_off -= hlen;
	m->data_len = hlen + plen;
	m->pkt_len = m->data_len;
	mr_hdr_write(m, pl - hlen, op, &l->local, &p->remote, dmac, 0, pl, plen, NULL);
	l->ctr.pkts_out++;
	l->ctr.bytes_out += plen;
	mr_cap(w, &l->cap_id, MR_CAP_OUT, m);
	mr_worker_tx(w, l->port_idx, m);
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
		p->signalled = c->remote.family != 0;
		p->last_rx_tsc = rte_get_tsc_cycles();
		rte_seqcount_write_end(&l->seq);
		break;
	}
	case MR_CMD_SRTP_SET:
		mr_srtp_install(w, &s->leg[c->leg].srtp, c->arg);
		break;
	case MR_CMD_LEG_PLAY_PKT:
		mr_leg_play(w, &s->leg[c->leg], c->arg);
		break;
	case MR_CMD_PART_SRTP_SET:
		mr_srtp_install(w, &((struct mr_dp_part *)c->obj)->srtp, c->arg);
		break;
	case MR_CMD_SEND_RR:
	case MR_CMD_PART_RESET:
	case MR_CMD_PLAY_PKT:
	case MR_CMD_PART_LATCH:
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

/* A standby (struct mr_dp standby): the burst is dropped whole, counted once. */
static __rte_noinline void
mr_worker_standby_drop(struct mr_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t i;

	for (i = 0; i < n; i++)
		w->stats.rx_bytes += pkts[i]->pkt_len;
	w->stats.rx_pkts += n;
	w->stats.drops[MR_DROP_STANDBY] += n;
	rte_pktmbuf_free_bulk(pkts, n);
}

unsigned int
mr_worker_iteration(struct mr_worker *w, uint64_t now)
{
	struct mr_dp *dp = w->dp;
	struct rte_mbuf *pkts[MR_BURST];
	unsigned int i, work = 0;

	w->now = now;
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
		if (unlikely(__atomic_load_n(&dp->standby, __ATOMIC_RELAXED))) {
			mr_worker_standby_drop(w, pkts, n);
			continue;
		}
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
	if (dp->n_media != 0)
		work += mr_room_mix_tx(w);
	if (unlikely(w->srtp_burst != NULL) && w->srtp_burst->n_room)
		mr_room_srtp_flush(w);
	mr_worker_flush(w);
	return work;
}

int
mr_worker_srtp_setup(struct mr_worker *w, struct mr_srtp_engine *e)
{
	struct mr_srtp_burst *b = rte_zmalloc_socket("mr_srtp_burst", sizeof(*b),
						     RTE_CACHE_LINE_SIZE,
						     rte_lcore_to_socket_id(w->lcore_id));

	if (b == NULL)
		return -ENOMEM;
	w->srtp = e;
	w->srtp_burst = b;
	return 0;
}

void
mr_worker_srtp_free(struct mr_worker *w)
{
	rte_free(w->srtp_burst);
	w->srtp_burst = NULL;
	mr_srtp_engine_free(w->srtp);
	w->srtp = NULL;
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
