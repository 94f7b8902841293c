/* SPDX-License-Identifier: BSD-3-Clause
 * NIC steering of relay ports to their owner's RX queue: how each port does it (struct
 * mr_port_steer, chosen at start by the control plane) and the rte_flow port-range rules:
 * a few rules per worker, ETH / IPV4|IPV6 / UDP (dst port under a mask) → QUEUE, so the
 * number of rules does not grow with the sessions. Takes its own parameters (a DPDK port id,
 * the ranges, the queues); the policy is the control plane's (controlplane/core).
 */
#ifndef MR_STEER_H
#define MR_STEER_H

#include <stdint.h>
#include <rte_flow.h>

#include "rss.h"

#define MR_STEER_RANGE_BITS_MAX 6	/* 64 ranges of a family at most */

enum mr_steer_mode {
	MR_STEERED_SOFTWARE = 0,	/* packets reach their owner over the hand-off rings */
	MR_STEERED_RSS,			/* RSS on the local endpoint, predicted (rss.h) */
	MR_STEERED_RTE_FLOW,		/* rte_flow rules on ranges of the UDP port */
};

/* How a port steers (cp: written at start, ro after). */
struct mr_port_steer {
	enum mr_steer_mode mode;
	struct mr_rss rss;		/* MR_STEERED_RSS */
	/* MR_STEERED_RTE_FLOW: port p lands on the queue of range
	 * mr_steer_range_of(p, range_bits), polled by worker range_w[range]. */
	uint8_t range_bits;
	uint8_t range_w[1u << MR_STEER_RANGE_BITS_MAX];
	uint16_t range_q[1u << MR_STEER_RANGE_BITS_MAX];
	unsigned int n_rules;
	struct rte_flow *rules[2u << MR_STEER_RANGE_BITS_MAX];
};

/* The range of UDP port p: bits 1..bits of the port, so that p and p + 1 (RTP, RTCP) are in
 * one range and consecutive pairs spread over the ranges. */
static inline unsigned int
mr_steer_range_of(uint16_t p, unsigned int bits)
{
	return (p >> 1) & ((1u << bits) - 1);
}

static inline const char *
mr_steer_mode_name(enum mr_steer_mode m)
{
	return m == MR_STEERED_RSS ? "rss" : m == MR_STEERED_RTE_FLOW ? "rte_flow" : "software";
}

/* Install the range rules of s (range_bits, range_q) on port_id for IPv4 (v4) and IPv6 (v6)
 * UDP: 0, or -errno with *why set (driver's string or static) and nothing installed. */
int mr_steer_ranges_install(uint16_t port_id, struct mr_port_steer *s, int v4, int v6,
			    const char **why);
/* Remove the rules of mr_steer_ranges_install(); none is a no-op. */
void mr_steer_ranges_remove(uint16_t port_id, struct mr_port_steer *s);

#endif
