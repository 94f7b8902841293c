/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_log.h>
#include <rte_mbuf.h>

#include "addr.h"
#include "appliance.h"
#include "dp.h"
#include "neigh.h"
#include "neigh_pkt.h"
#include "state.h"
#include "mr_log.h"

MR_LOG_REGISTER(mr_logtype_neigh, neigh);
#define NEIGH_LOG(level, ...) MR_LOG(level, mr_logtype_neigh, "neigh", __VA_ARGS__)

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
	uint64_t log_ms;		/* last refusal line (at most one a second) */
	uint64_t log_quiet;		/* refusals not logged since */
	/* Solicitations paced (MR_NEIGH_BURST a tick): those sent in the tick of sent_ms,
	 * and those held back to a later tick in all. */
	uint64_t sent_ms;
	unsigned int sent_n;
	uint64_t deferred;
	/* No solicitation before the control loop's first tick + MR_NEIGH_START_MS (ticked:
	 * the first tick came). */
	int ticked;
	uint64_t start_ms;
	/* Demand: the workers' no_neighbor drops as last read, and when they last grew. While
	 * they grow, unresolved entries are probed every MR_NEIGH_RETRY_MS, not 5 times that
	 * (mr_neigh_tick). */
	uint64_t nn_drops;
	uint64_t demand_ms;
	int demand;
	struct mr_nentry e[MR_DP_MAX_PORTS][MR_NEIGH_SLOTS];
};

struct mr_neigh *
mr_neigh_create(struct mr_appliance *a)
{
	struct mr_neigh *n = calloc(1, sizeof(*n));

	if (n == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
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

unsigned int
mr_neigh_count_resolved(const struct mr_neigh *n)
{
	unsigned int p, i, c = 0;

	for (p = 0; p < n->a->dp->n_ports; p++)
		for (i = 0; i < MR_NEIGH_SLOTS; i++)
			c += n->e[p][i].state == NS_REACHABLE || n->e[p][i].state == NS_PROBE;
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

/* 1 when one more solicitation fits this tick's budget (and it is counted), 0: later. A
 * restore or a takeover asks for every remote's next hop at once; a burst of thousands of
 * requests loses answers (a host or a switch drops what it cannot queue), and each lost
 * one costs a second (MR_NEIGH_RETRY_MS). */
static int
mr_neigh_budget(struct mr_neigh *n)
{
	/* At start the workers are not draining their ports yet (a restore runs before they
	 * are launched): a port's receive ring is full of the media that came meanwhile, and
	 * answers that arrive before the worker emptied it are lost (by the kernel for
	 * af_packet, as rx_missed for a NIC). Ask once they run. */
	if (!n->ticked || n->now_ms < n->start_ms + MR_NEIGH_START_MS) {
		n->deferred++;
		return 0;
	}
	if (n->sent_ms != n->now_ms) {
		n->sent_ms = n->now_ms;
		n->sent_n = 0;
	}
	if (n->sent_n >= MR_NEIGH_BURST) {
		n->deferred++;
		return 0;
	}
	n->sent_n++;
	return 1;
}

/* Send an ARP request (broadcast) or a neighbor solicitation (to the target's
 * solicited-node multicast address, RFC 4861 §7.2.2) for e->ip. */
static void
mr_neigh_solicit(struct mr_neigh *n, unsigned int pidx, const struct mr_nentry *e)
{
	struct mr_appliance *a = n->a;
	struct rte_mbuf *m;

	/* A standby is silent: its ARP requests, from the shared address, would move the
	 * hosts' entries to it. The entry is probed again after the takeover
	 * (mr_neigh_kick). */
	if (mr_state_silent(a->state))
		return;
	m = rte_pktmbuf_alloc(a->mp);
	if (m == NULL)
		return;
	if (mr_neigh_pkt_solicit(m, &a->dp->port[pidx], &e->ip) < 0) {
		rte_pktmbuf_free(m);
		return;
	}
	if (e->ip.family == MR_AF4)
		a->cps.arp_requests_sent++;
	else
		a->cps.nd_solicits_sent++;
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
	mr_neigh_publish(n, pidx, i, NULL);
	if (mr_neigh_budget(n)) {
		e->probes = 1;
		e->next_ms = n->now_ms + MR_NEIGH_RETRY_MS;
		mr_neigh_solicit(n, pidx, e);
	} else {
		e->next_ms = n->now_ms;		/* the tick asks, in its budget */
	}
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

static uint64_t
mr_mac48(const uint8_t *mac)
{
	return MR_NEIGH_VALID | ((uint64_t)mac[0] << 40) | ((uint64_t)mac[1] << 32) |
		((uint64_t)mac[2] << 24) | ((uint64_t)mac[3] << 16) | ((uint64_t)mac[4] << 8) |
		mac[5];
}

static void
mr_neigh_log_mac(struct mr_neigh *n, unsigned int pidx, const struct mr_ep *ip, uint64_t old,
		 const uint8_t *mac, const char *what)
{
	char a[64];

	if (n->log_ms != 0 && n->now_ms - n->log_ms < 1000) {
		n->log_quiet++;
		return;
	}
	NEIGH_LOG(WARNING, "%s: %s on port %s from %02x:%02x:%02x:%02x:%02x:%02x to "
		  "%02x:%02x:%02x:%02x:%02x:%02x; %" PRIu64 " more since the last such line\n",
		  what, mr_ep_fmt(ip, a, sizeof(a), 0), n->a->dp->port[pidx].name,
		  (unsigned int)(old >> 40) & 0xff, (unsigned int)(old >> 32) & 0xff,
		  (unsigned int)(old >> 24) & 0xff, (unsigned int)(old >> 16) & 0xff,
		  (unsigned int)(old >> 8) & 0xff, (unsigned int)old & 0xff,
		  mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], n->log_quiet);
	n->log_ms = n->now_ms ? n->now_ms : 1;
	n->log_quiet = 0;
}

/* What a neighbor said (docs/OPERATIONS.md "Security"): an entry takes a MAC only from a
 * reply to the relay's own probes, which it sends while the entry is unresolved (INCOMPLETE,
 * FAILED) or expired (PROBE, after MR_NEIGH_REACHABLE_S). A resolved entry keeps its MAC:
 * a gratuitous ARP, an unsolicited advertisement or an unasked reply that would change it is
 * refused, counted and logged, so one spoofed packet cannot blackhole a neighbor's calls. */
static void
mr_neigh_learn(struct mr_neigh *n, unsigned int pidx, const struct mr_ep *ip, const uint8_t *mac,
	       int reply)
{
	int slot = mr_neigh_find(n, pidx, ip);
	struct mr_nentry *e;
	uint64_t old;

	/* Only entries we asked for: no table growth from unsolicited traffic. */
	if (slot < 0)
		return;
	e = &n->e[pidx][slot];
	old = __atomic_load_n(&n->a->dp->port[pidx].neigh[slot].w, __ATOMIC_RELAXED);
	if (old == mr_mac48(mac) && e->state != NS_FAILED && reply) {
		/* The MAC it has, confirmed by a reply: refresh below. */
	} else if (old == mr_mac48(mac)) {
		return;			/* an announcement of what we know: nothing to do */
	} else if (!reply || e->state == NS_REACHABLE) {
		n->a->cps.neigh_refused++;
		mr_neigh_log_mac(n, pidx, ip, old, mac, reply ?
				 "refused an unasked reply changing a resolved neighbor" :
				 "refused an unsolicited announcement (gratuitous ARP or "
				 "unsolicited NA) for a neighbor");
		return;
	} else if (old & MR_NEIGH_VALID) {
		n->a->cps.neigh_changes++;
		mr_neigh_log_mac(n, pidx, ip, old, mac, "neighbor moved (reply to a re-probe)");
	}
	if (e->state != NS_REACHABLE)
		NEIGH_LOG(DEBUG, "neighbor resolved on port %u\n", pidx);
	e->state = NS_REACHABLE;
	e->probes = 0;
	e->confirmed_ms = n->now_ms;
	e->next_ms = n->now_ms + MR_NEIGH_REACHABLE_S * 1000ULL;
	mr_neigh_publish(n, pidx, slot, mac);
}

void
mr_neigh_input(struct mr_neigh *n, struct rte_mbuf *m)
{
	unsigned int pidx = n->a->dp->port_idx_of[m->port];
	struct mr_ep ip;
	uint8_t mac[6];
	int reply = 0;

	n->a->cps.exceptions++;
	if (mr_neigh_pkt_learn(m, &ip, mac, &reply) == 0)
		mr_neigh_learn(n, pidx, &ip, mac, reply);
	rte_pktmbuf_free(m);
}

uint64_t
mr_neigh_deferred(const struct mr_neigh *n)
{
	return n->deferred;
}

/* Packets are waiting on an unresolved next hop: the workers' no_neighbor drops grew within
 * the last MR_NEIGH_RETRY_MS (relaxed loads of statistics, once a tick). */
static int
mr_neigh_demand(struct mr_neigh *n)
{
	const struct mr_dp *dp = n->a->dp;
	uint64_t sum = 0;
	unsigned int i;

	for (i = 0; i < dp->n_workers; i++)
		sum += __atomic_load_n(&dp->w[i]->stats.drops[MR_DROP_NO_NEIGHBOR],
				       __ATOMIC_RELAXED);
	if (sum != n->nn_drops) {
		n->nn_drops = sum;
		n->demand_ms = n->now_ms ? n->now_ms : 1;
	}
	return n->demand_ms != 0 && n->now_ms - n->demand_ms < MR_NEIGH_RETRY_MS;
}

void
mr_neigh_tick(struct mr_neigh *n, uint64_t now_ms)
{
	unsigned int p, i;
	int demand, rising;

	n->now_ms = now_ms;
	if (!n->ticked) {
		n->ticked = 1;
		n->start_ms = now_ms;
	}
	/* Media waits on an unresolved neighbor (a restart or a takeover whose first probes
	 * were lost while the link came up, a remote back from an outage): entries that
	 * slowed to one probe in 5 s go back to one a second (below, from the tick the
	 * demand begins), so the media resumes within a second of the neighbor answering
	 * again, as Linux re-resolves on demand. Idle (no drop), a dead remote costs one
	 * probe in 5 s. */
	demand = mr_neigh_demand(n);
	rising = demand && !n->demand;
	n->demand = demand;
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
			if (rising && (e->state == NS_INCOMPLETE || e->state == NS_FAILED) &&
			    e->next_ms > now_ms + MR_NEIGH_RETRY_MS)
				e->next_ms = now_ms + MR_NEIGH_RETRY_MS;
			if (now_ms < e->next_ms)
				continue;
			/* Every due state below sends one: over the budget, the next tick. */
			if (e->state != NS_FREE && !mr_neigh_budget(n))
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
				/* Failed entries are retried every 5 s, every second while
				 * packets wait on an unresolved one (above). */
				e->next_ms = now_ms + MR_NEIGH_RETRY_MS *
					(!demand && (e->state == NS_FAILED ||
						     e->probes > MR_NEIGH_PROBES) ? 5 : 1);
				break;
			default:
				break;
			}
		}
	}
}

void
mr_neigh_kick(struct mr_neigh *n)
{
	unsigned int p, i;

	for (p = 0; p < n->a->dp->n_ports; p++)
		for (i = 0; i < MR_NEIGH_SLOTS; i++)
			if (n->e[p][i].state != NS_FREE && n->e[p][i].state != NS_REACHABLE)
				n->e[p][i].next_ms = 0;
}

/* One announcement of address a on port pidx. */
static unsigned int
mr_neigh_announce_one(struct mr_neigh *n, unsigned int pidx, const struct mr_ep *addr)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(n->a->mp);

	if (m == NULL)
		return 0;
	if (mr_neigh_pkt_announce(m, &n->a->dp->port[pidx], addr) < 0) {
		rte_pktmbuf_free(m);
		return 0;
	}
	return mr_cp_tx(n->a, pidx, m) == 0;
}

unsigned int
mr_neigh_announce(struct mr_neigh *n)
{
	const struct mr_dp *dp = n->a->dp;
	unsigned int p, k, sent = 0;

	for (p = 0; p < dp->n_ports; p++) {
		const struct mr_dp_port *dpp = &dp->port[p];
		struct mr_ep ip;

		memset(&ip, 0, sizeof(ip));
		if (dpp->has4) {
			uint32_t base = (uint32_t)dpp->addr4[0] << 24 |
				(uint32_t)dpp->addr4[1] << 16 | (uint32_t)dpp->addr4[2] << 8 |
				dpp->addr4[3];

			ip.family = MR_AF4;
			for (k = 0; k < (dpp->n_addr4 ? dpp->n_addr4 : 1u); k++) {
				uint32_t v = base + k;

				ip.a[0] = (uint8_t)(v >> 24);
				ip.a[1] = (uint8_t)(v >> 16);
				ip.a[2] = (uint8_t)(v >> 8);
				ip.a[3] = (uint8_t)v;
				sent += mr_neigh_announce_one(n, p, &ip);
			}
		}
		if (dpp->has6) {
			ip.family = MR_AF6;
			memcpy(ip.a, dpp->addr6, 16);
			sent += mr_neigh_announce_one(n, p, &ip);
		}
	}
	n->a->cps.announcements += sent;
	return sent;
}
