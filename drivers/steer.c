/* SPDX-License-Identifier: BSD-3-Clause
 * NIC steering of relay ports to their owner lcore's RX queue with rte_flow (DESIGN.md §2
 * "Ownership"): one rule per local UDP port, ETH / IPV4|IPV6 (dst) / UDP (dst) → QUEUE.
 * Where a port refuses the rules, packets reach the owner over the software hand-off ring.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <rte_flow.h>

#include "steer.h"

static struct rte_flow *
mr_steer_rule(uint16_t pid, const struct mr_ep *local, uint16_t queue, int validate_only,
	      struct rte_flow_error *fe)
{
	struct rte_flow_attr attr = { .ingress = 1 };
	struct rte_flow_item_ipv4 ip4 = { 0 }, ip4m = { 0 };
	struct rte_flow_item_ipv6 ip6 = { 0 }, ip6m = { 0 };
	struct rte_flow_item_udp udp = { 0 }, udpm = { 0 };
	struct rte_flow_action_queue qa = { .index = queue };
	struct rte_flow_item pattern[4];
	struct rte_flow_action actions[2];

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
mr_steer_probe(uint16_t port_id, const struct mr_ep *probe, const char **why)
{
	struct rte_flow_error fe = { 0 };
	struct rte_flow *f;

	if (mr_steer_rule(port_id, probe, 0, 1, &fe) != NULL) {
		f = mr_steer_rule(port_id, probe, 0, 0, &fe);
		if (f != NULL) {
			rte_flow_destroy(port_id, f, &fe);
			return 1;
		}
	}
	*why = fe.message ? fe.message : "unsupported";
	return 0;
}

struct rte_flow *
mr_steer_add(uint16_t port_id, const struct mr_ep *local, uint16_t queue)
{
	struct rte_flow_error fe = { 0 };

	return mr_steer_rule(port_id, local, queue, 0, &fe);
}

void
mr_steer_del(uint16_t port_id, struct rte_flow *f)
{
	struct rte_flow_error fe;

	if (f != NULL)
		rte_flow_destroy(port_id, f, &fe);
}
