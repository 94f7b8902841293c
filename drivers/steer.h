/* SPDX-License-Identifier: BSD-3-Clause
 * NIC steering with rte_flow: one rule per local UDP endpoint, ETH / IPV4|IPV6 (dst) / UDP
 * (dst) → QUEUE. Takes its own parameters (a DPDK port id, an endpoint, a queue); the policy
 * (which ports steer, to which owner's queue) is the control plane's (controlplane/core).
 */
#ifndef MR_STEER_H
#define MR_STEER_H

#include <stdint.h>
#include <rte_flow.h>

#include "mr_types.h"

/* Does port_id take such rules? Validates, then creates and removes a rule for probe (some
 * PMDs, net_tap without its qdiscs, validate rules they cannot install). 1 yes, 0 no with
 * *why set to the driver's reason (static or the driver's string). */
int mr_steer_probe(uint16_t port_id, const struct mr_ep *probe, const char **why);
/* Steer packets for local to RX queue queue of port_id. The rule, or NULL when refused. */
struct rte_flow *mr_steer_add(uint16_t port_id, const struct mr_ep *local, uint16_t queue);
/* Remove a rule of mr_steer_add(); NULL is a no-op. */
void mr_steer_del(uint16_t port_id, struct rte_flow *f);

#endif
