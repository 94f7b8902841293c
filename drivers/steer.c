/* SPDX-License-Identifier: BSD-3-Clause
 * NIC steering of relay ports to their owner lcore's RX queue with rte_flow (DESIGN.md §2
 * "Ownership"): one rule per local UDP port, ETH / IPV4|IPV6 (dst) / UDP (dst) → QUEUE.
 * Where a port refuses the rules, packets reach the owner over the software hand-off ring.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <rte_flow.h>
#include <rte_log.h>

#include "appliance.h"

#define RTE_LOGTYPE_MRELAY RTE_LOGTYPE_USER1

static int
mr_steer_queue_of(const struct mr_appliance *a, unsigned int pidx, unsigned int owner)
{
	const struct mr_worker *w = a->dp->w[owner];
	unsigned int i;

	for (i = 0; i < w->n_rxq; i++)
		if (w->rxq[i].port_idx == pidx)
			return w->rxq[i].queue;
	return -1;
}

static struct rte_flow *
mr_steer_rule(struct mr_appliance *a, unsigned int pidx, const struct mr_ep *local,
	      uint16_t queue, int validate_only, struct rte_flow_error *fe)
{
	struct rte_flow_attr attr = { .ingress = 1 };
	struct rte_flow_item_ipv4 ip4 = { 0 }, ip4m = { 0 };
	struct rte_flow_item_ipv6 ip6 = { 0 }, ip6m = { 0 };
	struct rte_flow_item_udp udp = { 0 }, udpm = { 0 };
	struct rte_flow_action_queue qa = { .index = queue };
	struct rte_flow_item pattern[4];
	struct rte_flow_action actions[2];
	uint16_t pid = a->dp->port[pidx].port_id;

	memset(pattern, 0, sizeof(pattern));
	memset(actions, 0, sizeof(actions));
	pattern[0].type = RTE_FLOW_ITEM_TYPE_ETH;
	if (local->family == MR_AF4) {
		memcpy(&ip4.hdr.dst_addr, local->a, 4);
		ip4m.hdr.dst_addr = UINT32_MAX;
		pattern[1].type = RTE_FLOW_ITEM_TYPE_IPV4;
		pattern[1].spec = &ip4;
		pattern[1].mask = &ip4m;
	} else {
		memcpy(ip6.hdr.dst_addr, local->a, 16);
		memset(ip6m.hdr.dst_addr, 0xff, 16);
		pattern[1].type = RTE_FLOW_ITEM_TYPE_IPV6;
		pattern[1].spec = &ip6;
		pattern[1].mask = &ip6m;
	}
	udp.hdr.dst_port = rte_cpu_to_be_16(local->port);
	udpm.hdr.dst_port = UINT16_MAX;
	pattern[2].type = RTE_FLOW_ITEM_TYPE_UDP;
	pattern[2].spec = &udp;
	pattern[2].mask = &udpm;
	pattern[3].type = RTE_FLOW_ITEM_TYPE_END;
	actions[0].type = RTE_FLOW_ACTION_TYPE_QUEUE;
	actions[0].conf = &qa;
	actions[1].type = RTE_FLOW_ACTION_TYPE_END;
	if (validate_only)
		return rte_flow_validate(pid, &attr, pattern, actions, fe) == 0 ?
			(struct rte_flow *)1 : NULL;
	return rte_flow_create(pid, &attr, pattern, actions, fe);
}

int
mr_steer_init(struct mr_appliance *a, char *err, size_t errlen)
{
	const struct mr_config *cfg = a->cfg;
	unsigned int i;

	for (i = 0; i < a->dp->n_ports; i++) {
		const struct mr_port_conf *pc = &cfg->ports[i];
		struct rte_flow_error fe = { 0 };
		struct mr_ep probe = { 0 };

		a->steer_flow[i] = 0;
		if (pc->steering == MR_STEER_SOFTWARE)
			continue;
		/* With one worker there is nobody to steer to. */
		if (a->dp->n_workers == 1 && pc->steering == MR_STEER_AUTO)
			continue;
		probe.family = pc->addr4.family ? MR_AF4 : MR_AF6;
		memcpy(probe.a, probe.family == MR_AF4 ? pc->addr4.a : pc->addr6.a, 16);
		probe.port = cfg->port_min;
		/* Validate, then really create and remove a probe rule: some PMDs (net_tap without
		 * its qdiscs) validate rules they cannot install. */
		if (mr_steer_rule(a, i, &probe, 0, 1, &fe) != NULL) {
			struct rte_flow *f = mr_steer_rule(a, i, &probe, 0, 0, &fe);

			if (f == NULL)
				goto refused;
			rte_flow_destroy(a->dp->port[i].port_id, f, &fe);
			a->steer_flow[i] = 1;
			RTE_LOG(INFO, MRELAY, "port %s: steering relay ports with rte_flow\n",
				pc->name);
			continue;
		}
refused:
		if (pc->steering == MR_STEER_RTE_FLOW) {
			snprintf(err, errlen, "port %s: steering = \"rte_flow\" but the device "
				 "refuses UDP port rules: %s", pc->name,
				 fe.message ? fe.message : "unsupported");
			return -ENOTSUP;
		}
		RTE_LOG(INFO, MRELAY, "port %s: no rte_flow steering (%s): software hand-off\n",
			pc->name, fe.message ? fe.message : "unsupported");
	}
	return 0;
}

struct rte_flow *
mr_steer_add(struct mr_appliance *a, unsigned int pidx, const struct mr_ep *local,
	     unsigned int owner)
{
	struct rte_flow_error fe = { 0 };
	struct rte_flow *f;
	int q = mr_steer_queue_of(a, pidx, owner);

	if (q < 0)
		return NULL;	/* the owner polls no queue of this port: hand-off it is */
	f = mr_steer_rule(a, pidx, local, q, 0, &fe);
	if (f == NULL)
		a->cps.steer_failures++;
	else
		a->cps.steer_rules++;
	return f;
}

void
mr_steer_del(struct mr_appliance *a, unsigned int pidx, struct rte_flow *f)
{
	struct rte_flow_error fe;

	if (f == NULL)
		return;
	rte_flow_destroy(a->dp->port[pidx].port_id, f, &fe);
	a->cps.steer_rules--;
}
