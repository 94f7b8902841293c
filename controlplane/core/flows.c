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
#include "steer.h"
#include "mr_log.h"

MR_LOG_REGISTER(mr_logtype_flows, flows);
#define FLOWS_LOG(level, ...) MR_LOG(level, mr_logtype_flows, "flows", __VA_ARGS__)

struct mr_flows {
	struct mr_appliance *a;
	struct mr_dp *dp;
	/* Relay ports per address index (dp.h mr_owner_idx): index k serves the k-th IPv4 media
	 * address of every port; index 0 also the IPv6 addresses. */
	unsigned int n_idx;
	struct mr_portalloc *ports[MR_MAX_ADDRS];
	long load[MR_DP_MAX_WORKERS];	/* sessions + room participants per worker */
};

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
	unsigned int k;

	if (f == NULL)
		return;
	for (k = 0; k < f->n_idx; k++)
		mr_portalloc_free(f->ports[k]);
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
	for (k = 0; k < n; k++) {
		port = mr_portalloc_get(f->ports[k]);
		if (port >= 0)
			break;
	}
	if (port < 0)
		return -ENOSPC;
	memset(ep, 0, sizeof(*ep));
	ep->family = family;
	ep->port = (uint16_t)port;
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

int
mr_flows_ep_take(struct mr_flows *f, unsigned int pidx, const struct mr_ep *ep, unsigned int w)
{
	int k = mr_local_idx(&f->dp->port[pidx], ep->family, ep->a), rc;

	if (k < 0 || (unsigned int)k >= f->n_idx)
		return -EADDRNOTAVAIL;
	rc = mr_portalloc_take(f->ports[k], ep->port);
	if (rc < 0)
		return rc;
	mr_owner_set(f, (unsigned int)k, ep->port, (uint8_t)(w + 1));
	return 0;
}

void
mr_flows_ep_restored(struct mr_flows *f)
{
	unsigned int k;

	for (k = 0; k < f->n_idx; k++)
		mr_portalloc_compact(f->ports[k]);
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

/* A steering rule for local:port to a queue of port pidx that worker owner polls, where the
 * port steers with rte_flow (DESIGN.md §2 "Ownership"); NULL when it does not, when the
 * owner polls no queue of the port (the hand-off it is), or when the NIC refused (counted). */
static struct rte_flow *
mr_flows_steer_add(struct mr_flows *f, unsigned int pidx, const struct mr_ep *local,
		   uint16_t port, unsigned int owner)
{
	const struct mr_worker *w = f->dp->w[owner];
	struct mr_ep ep = *local;
	struct rte_flow *rule;
	unsigned int i;

	if (!f->a->steer_flow[pidx])
		return NULL;
	for (i = 0; i < w->n_rxq; i++)
		if (w->rxq[i].port_idx == pidx)
			break;
	if (i == w->n_rxq)
		return NULL;
	ep.port = port;
	rule = mr_steer_add(f->dp->port[pidx].port_id, &ep, w->rxq[i].queue);
	if (rule == NULL)
		f->a->cps.steer_failures++;
	else
		f->a->cps.steer_rules++;
	return rule;
}

int
mr_flows_add(struct mr_flows *f, unsigned int pidx, const struct mr_ep *local, uint16_t port,
	     unsigned int owner, uintptr_t val, struct rte_flow **steer)
{
	struct mr_flow_key k;
	int rc;

	*steer = NULL;
	mr_flow_key_of(local, port, &k);
	rc = mr_flow_table_add(f->dp->w[owner]->flows, &k, val);
	if (rc < 0)
		return -ENOSPC;
	*steer = mr_flows_steer_add(f, pidx, local, port, owner);
	return 0;
}

void
mr_flows_del(struct mr_flows *f, unsigned int pidx, const struct mr_ep *local, uint16_t port,
	     unsigned int owner, struct rte_flow **steer)
{
	struct mr_flow_key k;

	mr_flow_key_of(local, port, &k);
	/* -ENOENT for a flow never added (creation undone half-way) is fine. */
	mr_flow_table_del(f->dp->w[owner]->flows, &k);
	if (*steer != NULL) {
		mr_steer_del(f->dp->port[pidx].port_id, *steer);
		f->a->cps.steer_rules--;
		*steer = NULL;
	}
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
