/* SPDX-License-Identifier: BSD-3-Clause
 * Local endpoints and their flows (flows.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_log.h>

#include "appliance.h"
#include "dp.h"
#include "flow_table.h"
#include "flows.h"
#include "portalloc.h"
#include "rss.h"
#include "steer.h"
#include "mr_log.h"

MR_LOG_REGISTER(mr_logtype_flows, flows);
#define FLOWS_LOG(level, ...) MR_LOG(level, mr_logtype_flows, "flows", __VA_ARGS__)

/* Where the relay ports of one local address of a steering port land (docs/ARCHITECTURE.md
 * "Steering"): per pair p / p + 1 of the range, the worker (+ 1) that polls the queue both
 * land on, 0 when they land on queues of different workers or on none a worker polls. */
struct mr_land {
	uint8_t *w;
};

struct mr_flows {
	struct mr_appliance *a;
	struct mr_dp *dp;
	/* Relay ports per address index (dp.h mr_owner_idx): index k serves the k-th IPv4 media
	 * address of every port; index 0 also the IPv6 addresses. */
	unsigned int n_idx;
	struct mr_portalloc *ports[MR_MAX_ADDRS];
	long load[MR_DP_MAX_WORKERS];	/* sessions + room participants per worker */
	/* Per steering port: slot k < n_idx for its k-th IPv4 address, slot n_idx for its IPv6
	 * address; made when first used. NULL for ports that do not steer. */
	struct mr_land *land[MR_DP_MAX_PORTS];
	uint16_t port_min;
	uint16_t q_worker[MR_DP_MAX_PORTS][MR_WORKER_MAX_RXQ * MR_DP_MAX_WORKERS];
};

/* Which worker polls each RX queue of each port (set before the workers start). */
static void
mr_flows_queue_map(struct mr_flows *f)
{
	unsigned int w, i;

	memset(f->q_worker, 0xff, sizeof(f->q_worker));
	for (w = 0; w < f->dp->n_workers; w++)
		for (i = 0; i < f->dp->w[w]->n_rxq; i++)
			f->q_worker[f->dp->w[w]->rxq[i].port_idx][f->dp->w[w]->rxq[i].queue] =
				(uint16_t)w;
}

struct mr_flows *
mr_flows_create(struct mr_appliance *a)
{
	struct mr_flows *f = calloc(1, sizeof(*f));
	unsigned int k;

	if (f == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	f->a = a;
	f->dp = a->dp;
	f->n_idx = RTE_MIN(RTE_MAX(a->dp->n_addr_idx, 1u), (unsigned int)MR_MAX_ADDRS);
	f->port_min = a->cfg->port_min;
	mr_flows_queue_map(f);
	for (k = 0; k < a->dp->n_ports; k++) {
		if (a->steer[k].mode == MR_STEERED_SOFTWARE)
			continue;
		f->land[k] = calloc(f->n_idx + 1, sizeof(*f->land[k]));
		if (f->land[k] == NULL) {
			mr_flows_free(f);
			rte_errno = ENOMEM;
			return NULL;
		}
	}
	for (k = 0; k < f->n_idx; k++) {
		unsigned int start;

		f->ports[k] = mr_portalloc_create(a->cfg->port_min, a->cfg->port_max);
		if (f->ports[k] == NULL) {
			mr_flows_free(f);
			rte_errno = ENOMEM;
			return NULL;
		}
		/* Not from the bottom of the range after a restart (docs/OPERATIONS.md
		 * "Security"); a freed port waits behind every other free one (FIFO). */
		if (getrandom(&start, sizeof(start), 0) != (ssize_t)sizeof(start))
			start = (unsigned int)rte_rdtsc();
		mr_portalloc_rotate(f->ports[k], start);
	}
	return f;
}

void
mr_flows_free(struct mr_flows *f)
{
	unsigned int k, p;

	if (f == NULL)
		return;
	for (k = 0; k < f->n_idx; k++)
		mr_portalloc_free(f->ports[k]);
	for (p = 0; p < MR_DP_MAX_PORTS; p++) {
		if (f->land[p] == NULL)
			continue;
		for (k = 0; k <= f->n_idx; k++)
			free(f->land[p][k].w);
		free(f->land[p]);
	}
	free(f);
}

/* Owner map stores. Relaxed: the map publishes no data (dp.h mr_owner_load()); the flows
 * that make the endpoint usable are added after this store and deleted before the clearing
 * one, through the flow table, which orders what matters. */
static void
mr_owner_set(struct mr_flows *f, unsigned int k, uint16_t port, uint8_t v)
{
	__atomic_store_n(&f->dp->owner[mr_owner_idx(k, port)], v, __ATOMIC_RELAXED);
	__atomic_store_n(&f->dp->owner[mr_owner_idx(k, (uint16_t)(port + 1))], v,
			 __ATOMIC_RELAXED);
}

/* Local address k of port dpp in family (k < n_addr4 for IPv4, 0 for IPv6) at UDP port. */
static void
mr_flows_ep_of(const struct mr_dp_port *dpp, uint8_t family, unsigned int k, uint16_t port,
	       struct mr_ep *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = family;
	ep->port = port;
	if (family == MR_AF4) {
		uint32_t a = ((uint32_t)dpp->addr4[0] << 24 | (uint32_t)dpp->addr4[1] << 16 |
			      (uint32_t)dpp->addr4[2] << 8 | dpp->addr4[3]) + k;

		ep->a[0] = a >> 24;
		ep->a[1] = a >> 16;
		ep->a[2] = a >> 8;
		ep->a[3] = a;
	} else {
		memcpy(ep->a, dpp->addr6, 16);
	}
}

/* The worker (+ 1) whose queue a packet to ep lands on at port pidx, 0 for none. */
static unsigned int
mr_flows_lands_on(const struct mr_flows *f, unsigned int pidx, const struct mr_ep *ep)
{
	const struct mr_port_steer *st = &f->a->steer[pidx];
	uint16_t q;

	if (st->mode == MR_STEERED_RTE_FLOW)
		return st->range_w[mr_steer_range_of(ep->port, st->range_bits)] + 1u;
	q = mr_rss_queue(&st->rss, ep);
	if (q >= MR_WORKER_MAX_RXQ * MR_DP_MAX_WORKERS || f->q_worker[pidx][q] == UINT16_MAX)
		return 0;
	return f->q_worker[pidx][q] + 1u;
}

/* The landing table of address k of family at steering port pidx, computed when first
 * needed (two hashes a pair: 32768 pairs take a few milliseconds); NULL without memory. */
static const uint8_t *
mr_flows_land(struct mr_flows *f, unsigned int pidx, uint8_t family, unsigned int k)
{
	struct mr_land *l = &f->land[pidx][family == MR_AF6 ? f->n_idx : k];
	unsigned int i, cap = mr_portalloc_capacity(f->ports[k]);
	struct mr_ep ep;

	if (l->w != NULL)
		return l->w;
	l->w = malloc(cap);
	if (l->w == NULL)
		return NULL;
	for (i = 0; i < cap; i++) {
		unsigned int w0, w1;

		mr_flows_ep_of(&f->dp->port[pidx], family, k, (uint16_t)(f->port_min + 2 * i),
			       &ep);
		w0 = mr_flows_lands_on(f, pidx, &ep);
		ep.port++;
		w1 = mr_flows_lands_on(f, pidx, &ep);
		l->w[i] = (uint8_t)(w0 == w1 ? w0 : 0);
	}
	return l->w;
}

struct mr_land_want {
	const uint8_t *land;
	uint16_t port_min;
	uint8_t w;		/* worker + 1 */
};

static int
mr_flows_lands_ok(void *arg, uint16_t port)
{
	const struct mr_land_want *x = arg;

	return x->land[(port - x->port_min) / 2] == x->w;
}

int
mr_flows_ep_alloc(struct mr_flows *f, unsigned int pidx, uint8_t family, unsigned int w,
		  struct mr_ep *ep)
{
	const struct mr_dp_port *dpp = &f->dp->port[pidx];
	unsigned int k, n = 1;
	int port = -ENOSPC;

	if ((family == MR_AF4 && !dpp->has4) || (family == MR_AF6 && !dpp->has6) ||
	    (family != MR_AF4 && family != MR_AF6))
		return -EAFNOSUPPORT;
	if (family == MR_AF4 && dpp->n_addr4 > 1)
		n = RTE_MIN((unsigned int)dpp->n_addr4, f->n_idx);
	/* A steering port: the first free relay port (FIFO) whose packets the NIC delivers to
	 * a queue worker w polls, RTP and RTCP alike, on the first address that has one. */
	if (f->land[pidx] != NULL) {
		for (k = 0; k < n; k++) {
			struct mr_land_want x = { .port_min = f->port_min, .w = (uint8_t)(w + 1) };

			x.land = mr_flows_land(f, pidx, family, k);
			if (x.land == NULL)
				break;
			port = mr_portalloc_get_if(f->ports[k], mr_flows_lands_ok, &x);
			if (port >= 0)
				goto found;
		}
		/* None left: any port, its packets handed off (counted). */
		f->a->cps.steer_misses++;
	}
	for (k = 0; k < n; k++) {
		port = mr_portalloc_get(f->ports[k]);
		if (port >= 0)
			break;
	}
	if (port < 0)
		return -ENOSPC;
found:
	mr_flows_ep_of(dpp, family, k, (uint16_t)port, ep);
	mr_owner_set(f, k, ep->port, (uint8_t)(w + 1));
	return 0;
}

void
mr_flows_ep_free(struct mr_flows *f, unsigned int pidx, const struct mr_ep *ep)
{
	int k = mr_local_idx(&f->dp->port[pidx], ep->family, ep->a);

	if (k < 0 || (unsigned int)k >= f->n_idx) {
		FLOWS_LOG(ERR, "endpoint free: %u.%u.%u.%u:%u is not a local address of "
			"port %u\n", ep->a[0], ep->a[1], ep->a[2], ep->a[3], ep->port, pidx);
		return;
	}
	mr_owner_set(f, (unsigned int)k, ep->port, 0);
	mr_portalloc_put(f->ports[k], ep->port);
}

unsigned int
mr_flows_ep_available(const struct mr_flows *f)
{
	unsigned int k, n = 0;

	for (k = 0; k < f->n_idx; k++)
		n += mr_portalloc_available(f->ports[k]);
	return n;
}

static void
mr_flow_key_of(const struct mr_ep *local, uint16_t port, struct mr_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->a, local->a, 16);
	k->port = port;
	k->family = local->family;
}

int
mr_flows_add(struct mr_flows *f, const struct mr_ep *local, uint16_t port, unsigned int owner,
	     uintptr_t val)
{
	struct mr_flow_key k;

	mr_flow_key_of(local, port, &k);
	return mr_flow_table_add(f->dp->w[owner]->flows, &k, val) < 0 ? -ENOSPC : 0;
}

void
mr_flows_del(struct mr_flows *f, const struct mr_ep *local, uint16_t port, unsigned int owner)
{
	struct mr_flow_key k;

	mr_flow_key_of(local, port, &k);
	/* -ENOENT for a flow never added (creation undone half-way) is fine. */
	mr_flow_table_del(f->dp->w[owner]->flows, &k);
}

void
mr_flows_load_add(struct mr_flows *f, unsigned int w, int delta)
{
	f->load[w] += delta;
}

unsigned int
mr_flows_least_loaded(const struct mr_flows *f)
{
	unsigned int w, best = 0;

	for (w = 1; w < f->dp->n_workers; w++)
		if (f->load[w] < f->load[best])
			best = w;
	return best;
}
