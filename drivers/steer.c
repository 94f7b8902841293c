/* SPDX-License-Identifier: BSD-3-Clause
 * rte_flow port-range steering (steer.h): per family, one rule per range of UDP destination
 * ports, ETH / IPV4|IPV6 / UDP (dst under a mask) → QUEUE. 2^bits rules a family whatever the
 * number of sessions: real NICs take thousands of rules, not one per session port.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <rte_flow.h>

#include "steer.h"

static struct rte_flow *
mr_steer_range_rule(uint16_t pid, int v6, uint16_t value, uint16_t mask, uint16_t queue,
		    struct rte_flow_error *fe)
{
	struct rte_flow_attr attr = { .ingress = 1 };
	struct rte_flow_item_udp udp = { 0 }, udpm = { 0 };
	struct rte_flow_action_queue qa = { .index = queue };
	struct rte_flow_item pattern[4];
	struct rte_flow_action actions[2];

	memset(pattern, 0, sizeof(pattern));
	memset(actions, 0, sizeof(actions));
	pattern[0].type = RTE_FLOW_ITEM_TYPE_ETH;
	pattern[1].type = v6 ? RTE_FLOW_ITEM_TYPE_IPV6 : RTE_FLOW_ITEM_TYPE_IPV4;
	udp.hdr.dst_port = rte_cpu_to_be_16(value);
	udpm.hdr.dst_port = rte_cpu_to_be_16(mask);
	pattern[2].type = RTE_FLOW_ITEM_TYPE_UDP;
	pattern[2].spec = &udp;
	pattern[2].mask = &udpm;
	pattern[3].type = RTE_FLOW_ITEM_TYPE_END;
	actions[0].type = RTE_FLOW_ACTION_TYPE_QUEUE;
	actions[0].conf = &qa;
	actions[1].type = RTE_FLOW_ACTION_TYPE_END;
	/* Validate first: some PMDs (net_tap without its qdiscs) validate rules they cannot
	 * install, others install what they would not validate; both must say yes. */
	if (rte_flow_validate(pid, &attr, pattern, actions, fe) != 0)
		return NULL;
	return rte_flow_create(pid, &attr, pattern, actions, fe);
}

int
mr_steer_ranges_install(uint16_t port_id, struct mr_port_steer *s, int v4, int v6,
			const char **why)
{
	struct rte_flow_error fe;
	uint16_t mask = (uint16_t)(((1u << s->range_bits) - 1) << 1);
	unsigned int r, f;

	s->n_rules = 0;
	for (f = 0; f < 2; f++) {
		if (!(f ? v6 : v4))
			continue;
		for (r = 0; r < (1u << s->range_bits); r++) {
			struct rte_flow *rule;

			memset(&fe, 0, sizeof(fe));
			rule = mr_steer_range_rule(port_id, (int)f, (uint16_t)(r << 1), mask,
						   s->range_q[r], &fe);
			if (rule == NULL) {
				*why = fe.message ? fe.message : "unsupported";
				mr_steer_ranges_remove(port_id, s);
				return -ENOTSUP;
			}
			s->rules[s->n_rules++] = rule;
		}
	}
	return 0;
}

void
mr_steer_ranges_remove(uint16_t port_id, struct mr_port_steer *s)
{
	struct rte_flow_error fe;

	while (s->n_rules > 0)
		rte_flow_destroy(port_id, s->rules[--s->n_rules], &fe);
}
