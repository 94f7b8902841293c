/* SPDX-License-Identifier: BSD-3-Clause
 * The packets of the control plane's neighbor table (controlplane/core/neigh.c), built and
 * read by dataplane code (dataplane/core/neigh_pkt.c) so that the control plane needs no
 * packet parser or header writer of its own: ARP requests (RFC 826) and neighbor
 * solicitations (RFC 4861 §7.2.2) out; ARP replies, gratuitous ARP and neighbor
 * advertisements in (the workers pass those to the control plane on their exception rings).
 */
#ifndef MR_NEIGH_PKT_H
#define MR_NEIGH_PKT_H

#include <stdint.h>
#include <rte_mbuf.h>

#include "dp.h"
#include "mr_types.h"

/* Fill m (an empty mbuf with at least 128 bytes of data room) with an ARP request for
 * target (family MR_AF4) or a neighbor solicitation to its solicited-node multicast
 * address (MR_AF6), from port p's address and MAC, in p's VLAN. 0, or -EAFNOSUPPORT when
 * p has no address of target's family. */
int mr_neigh_pkt_solicit(struct rte_mbuf *m, const struct mr_dp_port *p,
			 const struct mr_ep *target);

/* Fill m (as above) with an announcement of port p's address addr (family MR_AF4: one of
 * its IPv4 media addresses; MR_AF6: its IPv6 address) at a takeover: a gratuitous ARP
 * request, broadcast, sender and target address addr (RFC 5227 §3), or an unsolicited
 * neighbor advertisement to all-nodes with the Override flag and the target link-layer
 * address option (RFC 4861 §7.2.6). 0, or -EAFNOSUPPORT when p has no address of that
 * family. */
int mr_neigh_pkt_announce(struct rte_mbuf *m, const struct mr_dp_port *p,
			  const struct mr_ep *addr);

/* What a neighbor said in m: its address (port 0) and MAC, and whether it answers a probe
 * (*reply: an ARP reply that is not gratuitous, RFC 826; a neighbor advertisement with the
 * Solicited flag, RFC 4861 §4.4) or announces itself unasked (gratuitous ARP, unsolicited
 * advertisement). 0, or -EINVAL when m is not an ARP packet or a neighbor advertisement with
 * a target link-layer address option. */
int mr_neigh_pkt_learn(const struct rte_mbuf *m, struct mr_ep *ip, uint8_t mac[6], int *reply);

#endif
