/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <rte_ether.h>
#include <rte_log.h>
#include <rte_mbuf.h>

#include "appliance.h"
#include "cksum.h"
#include "dp.h"
#include "neigh.h"
#include "pkt_parse.h"

#define RTE_LOGTYPE_MRELAY RTE_LOGTYPE_USER1

enum mr_nstate { NS_FREE = 0, NS_INCOMPLETE, NS_REACHABLE, NS_PROBE, NS_FAILED };

struct mr_nentry {
	struct mr_ep ip;
	uint8_t state;
	uint8_t probes;		/* probes sent in the current round */
	uint32_t refs;
	uint64_t confirmed_ms;	/* last reply */
	uint64_t next_ms;	/* next probe */
	uint64_t unused_since_ms;
};

struct mr_neigh {
	struct mr_appliance *a;
	uint64_t now_ms;
	struct mr_nentry e[MR_DP_MAX_PORTS][MR_NEIGH_SLOTS];
};

struct mr_neigh *
mr_neigh_create(struct mr_appliance *a)
{
	struct mr_neigh *n = calloc(1, sizeof(*n));

	if (n != NULL)
		n->a = a;
	return n;
}

void
mr_neigh_free(struct mr_neigh *n)
{
	free(n);
}

unsigned int
mr_neigh_count(const struct mr_neigh *n)
{
	unsigned int p, i, c = 0;

	for (p = 0; p < n->a->dp->n_ports; p++)
		for (i = 0; i < MR_NEIGH_SLOTS; i++)
			c += n->e[p][i].state != NS_FREE;
	return c;
}

int
mr_neigh_nexthop(struct mr_neigh *n, unsigned int pidx, const struct mr_ep *dst,
		 struct mr_ep *nh)
{
	const struct mr_port_conf *pc = &n->a->cfg->ports[pidx];
	const struct mr_prefix *pfx = dst->family == MR_AF4 ? &pc->addr4 : &pc->addr6;
	const struct mr_ep *gw = dst->family == MR_AF4 ? &pc->gw4 : &pc->gw6;

	if (pfx->family && mr_prefix_contains(pfx, dst)) {
		*nh = *dst;
	} else if (gw->family) {
		*nh = *gw;
	} else {
		return -EHOSTUNREACH;
	}
	nh->port = 0;
	return 0;
}

static void
mr_neigh_publish(struct mr_neigh *n, unsigned int pidx, int slot, const uint8_t *mac)
{
	uint64_t w = 0;

	if (mac != NULL)
		w = MR_NEIGH_VALID | ((uint64_t)mac[0] << 40) | ((uint64_t)mac[1] << 32) |
			((uint64_t)mac[2] << 24) | ((uint64_t)mac[3] << 16) |
			((uint64_t)mac[4] << 8) | mac[5];
	/* One 8-byte store: a reader sees the old or the new MAC, never a mix. */
	__atomic_store_n(&n->a->dp->port[pidx].neigh[slot].w, w, __ATOMIC_RELAXED);
}

/* Build and send an ARP request (broadcast) or a neighbor solicitation (to the target's
 * solicited-node multicast address, RFC 4861 §7.2.2) for e->ip. */
static void
mr_neigh_solicit(struct mr_neigh *n, unsigned int pidx, const struct mr_nentry *e)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct mr_appliance *a = n->a;
	const struct mr_dp_port *p = &a->dp->port[pidx];
	struct rte_mbuf *m;
	uint8_t *f, *l3;
	uint16_t len;

	if ((e->ip.family == MR_AF4 && !p->has4) || (e->ip.family == MR_AF6 && !p->has6))
		return;
	m = rte_pktmbuf_alloc(a->mp);
	if (m == NULL)
		return;
	f = rte_pktmbuf_mtod(m, uint8_t *);
	memset(f, 0, 128);
	if (e->ip.family == MR_AF4) {
		l3 = mr_eth_write(f, bcast, p, RTE_ETHER_TYPE_ARP);
		l3[1] = 1;		/* Ethernet */
		l3[2] = 0x08;		/* IPv4 */
		l3[4] = 6;
		l3[5] = 4;
		l3[7] = 1;		/* request */
		memcpy(l3 + 8, p->mac.addr_bytes, 6);
		memcpy(l3 + 14, p->addr4, 4);
		memcpy(l3 + 24, e->ip.a, 4);
		len = l3 - f + 28;
		a->cps.arp_requests_sent++;
	} else {
		uint8_t dst[16] = { 0xff, 0x02, [11] = 1, [12] = 0xff };
		uint8_t mc[6] = { 0x33, 0x33 };
		uint8_t *icmp;
		uint16_t c;

		memcpy(dst + 13, e->ip.a + 13, 3);
		memcpy(mc + 2, dst + 12, 4);
		l3 = mr_eth_write(f, mc, p, RTE_ETHER_TYPE_IPV6);
		l3[0] = 0x60;
		l3[5] = 32;		/* NS 24 + source link-layer option 8 */
		l3[6] = 58;
		l3[7] = 255;
		memcpy(l3 + 8, p->addr6, 16);
		memcpy(l3 + 24, dst, 16);
		icmp = l3 + 40;
		icmp[0] = 135;
		memcpy(icmp + 8, e->ip.a, 16);
		icmp[24] = 1;
		icmp[25] = 1;
		memcpy(icmp + 26, p->mac.addr_bytes, 6);
		c = mr_icmp6_cksum(l3, icmp, 32);
		memcpy(icmp + 2, &c, 2);
		len = l3 - f + 40 + 32;
		a->cps.nd_solicits_sent++;
	}
	if (len < 60) {
		memset(f + len, 0, 60 - len);
		len = 60;
	}
	m->data_len = len;
	m->pkt_len = len;
	mr_cp_tx(a, pidx, m);
}

static int
mr_neigh_find(struct mr_neigh *n, unsigned int pidx, const struct mr_ep *ip)
{
	unsigned int i;

	for (i = 0; i < MR_NEIGH_SLOTS; i++) {
		const struct mr_nentry *e = &n->e[pidx][i];

		if (e->state != NS_FREE && e->ip.family == ip->family &&
		    memcmp(e->ip.a, ip->a, 16) == 0)
			return i;
	}
	return -ENOENT;
}

int
mr_neigh_get(struct mr_neigh *n, unsigned int pidx, const struct mr_ep *ip)
{
	struct mr_nentry *e;
	int slot = mr_neigh_find(n, pidx, ip);
	unsigned int i;

	if (slot >= 0) {
		n->e[pidx][slot].refs++;
		return slot;
	}
	for (i = 0; i < MR_NEIGH_SLOTS; i++)
		if (n->e[pidx][i].state == NS_FREE)
			break;
	if (i == MR_NEIGH_SLOTS)
		return -ENOSPC;
	e = &n->e[pidx][i];
	memset(e, 0, sizeof(*e));
	e->ip = *ip;
	e->ip.port = 0;
	e->state = NS_INCOMPLETE;
	e->refs = 1;
	e->probes = 1;
	e->next_ms = n->now_ms + MR_NEIGH_RETRY_MS;
	mr_neigh_publish(n, pidx, i, NULL);
	mr_neigh_solicit(n, pidx, e);
	return i;
}

void
mr_neigh_put(struct mr_neigh *n, unsigned int pidx, int slot)
{
	struct mr_nentry *e;

	if (slot < 0 || slot >= MR_NEIGH_SLOTS)
		return;
	e = &n->e[pidx][slot];
	if (e->refs > 0 && --e->refs == 0)
		e->unused_since_ms = n->now_ms;
}

static void
mr_neigh_learn(struct mr_neigh *n, unsigned int pidx, const struct mr_ep *ip, const uint8_t *mac)
{
	int slot = mr_neigh_find(n, pidx, ip);
	struct mr_nentry *e;

	/* Only entries we asked for: no table growth from unsolicited traffic. */
	if (slot < 0)
		return;
	e = &n->e[pidx][slot];
	if (e->state != NS_REACHABLE)
		RTE_LOG(DEBUG, MRELAY, "neighbor resolved on port %u\n", pidx);
	e->state = NS_REACHABLE;
	e->probes = 0;
	e->confirmed_ms = n->now_ms;
	e->next_ms = n->now_ms + MR_NEIGH_REACHABLE_S * 1000ULL;
	mr_neigh_publish(n, pidx, slot, mac);
}

void
mr_neigh_input(struct mr_neigh *n, struct rte_mbuf *m)
{
	struct mr_dp *dp = n->a->dp;
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	unsigned int pidx = dp->port_idx_of[m->port];
	struct mr_pkt_info pi;
	struct mr_ep ip;
	enum mr_verdict v = mr_pkt_parse(f, m->data_len, &pi);

	n->a->cps.exceptions++;
	memset(&ip, 0, sizeof(ip));
	if (v == MR_V_ARP) {
		const uint8_t *arp = f + pi.l2_len;

		ip.family = MR_AF4;
		memcpy(ip.a, arp + 14, 4);
		mr_neigh_learn(n, pidx, &ip, arp + 8);
	} else if (v == MR_V_ICMP6) {
		const uint8_t *icmp = f + pi.l4_off;
		unsigned int off = 24;

		/* RFC 4861 §4.4: the target link-layer address option carries the MAC. */
		ip.family = MR_AF6;
		memcpy(ip.a, icmp + 8, 16);
		while (off + 8 <= pi.l4_len && icmp[off + 1] != 0) {
			if (icmp[off] == 2 && icmp[off + 1] == 1) {
				mr_neigh_learn(n, pidx, &ip, icmp + off + 2);
				break;
			}
			off += icmp[off + 1] * 8;
		}
	}
	rte_pktmbuf_free(m);
}

void
mr_neigh_tick(struct mr_neigh *n, uint64_t now_ms)
{
	unsigned int p, i;

	n->now_ms = now_ms;
	for (p = 0; p < n->a->dp->n_ports; p++) {
		for (i = 0; i < MR_NEIGH_SLOTS; i++) {
			struct mr_nentry *e = &n->e[p][i];

			if (e->state == NS_FREE)
				continue;
			if (e->refs == 0 &&
			    now_ms - e->unused_since_ms > MR_NEIGH_UNUSED_S * 1000ULL) {
				mr_neigh_publish(n, p, i, NULL);
				e->state = NS_FREE;
				continue;
			}
			if (now_ms < e->next_ms)
				continue;
			switch (e->state) {
			case NS_REACHABLE:
				/* Expired: keep forwarding with the old MAC while probing. */
				e->state = NS_PROBE;
				e->probes = 0;
				/* fall through */
			case NS_PROBE:
				if (e->probes >= MR_NEIGH_PROBES) {
					/* RFC 4861 §7.3.3: unanswered, unusable. Retry slowly. */
					mr_neigh_publish(n, p, i, NULL);
					e->state = NS_FAILED;
				}
				/* fall through */
			case NS_INCOMPLETE:
			case NS_FAILED:
				e->probes++;
				mr_neigh_solicit(n, p, e);
				/* Failed entries are retried every 5 s. */
				e->next_ms = now_ms + MR_NEIGH_RETRY_MS *
					(e->state == NS_FAILED || e->probes > MR_NEIGH_PROBES ? 5 : 1);
				break;
			default:
				break;
			}
		}
	}
}
