/* SPDX-License-Identifier: BSD-3-Clause
 * Neighbor table: next-hop MACs for configured remotes and gateways, resolved with ARP
 * (RFC 826) and neighbor solicitations (RFC 4861) sent from the control thread, cached with
 * expiry. The dataplane reads the slots (struct mr_neigh_slot); only this module writes them.
 */
#ifndef MR_NEIGH_H
#define MR_NEIGH_H

#include <stdint.h>
#include <rte_mbuf.h>
#include "mr_types.h"

struct mr_appliance;
struct mr_neigh;

#define MR_NEIGH_REACHABLE_S 60		/* a resolved entry is re-probed after this */
#define MR_NEIGH_PROBES 3		/* unanswered probes before the MAC is dropped */
#define MR_NEIGH_RETRY_MS 1000		/* between probes */
#define MR_NEIGH_BURST 64		/* ARP requests / solicitations a tick (10 ms), at most */
#define MR_NEIGH_START_MS 20		/* none before this long after the first tick */
#define MR_NEIGH_UNUSED_S 60		/* unreferenced entries are forgotten after this */

struct mr_neigh *mr_neigh_create(struct mr_appliance *a);
void mr_neigh_free(struct mr_neigh *n);
/* The next hop for dst on port pidx: dst itself when on-link, else the gateway.
 * 0, or -EHOSTUNREACH when off-link and the port has no gateway of that family. */
int mr_neigh_nexthop(struct mr_neigh *n, unsigned int pidx, const struct mr_ep *dst,
		     struct mr_ep *nh);
/* Take a reference on the slot for next hop ip (starting resolution when new).
 * Returns the slot index, or -ENOSPC. */
int mr_neigh_get(struct mr_neigh *n, unsigned int pidx, const struct mr_ep *ip);
void mr_neigh_put(struct mr_neigh *n, unsigned int pidx, int slot);
/* An ARP packet or neighbor advertisement from a worker's exception ring; consumes m. */
void mr_neigh_input(struct mr_neigh *n, struct rte_mbuf *m);
/* Timers: probes, retries, expiry. Call often (every few ms is fine). */
void mr_neigh_tick(struct mr_neigh *n, uint64_t now_ms);
/* After a takeover (controlplane/state/): probe now every entry not resolved, those the
 * standby did not probe included. */
void mr_neigh_kick(struct mr_neigh *n);
/* A takeover: announce every media address of every port from the port's MAC (a gratuitous
 * ARP per IPv4 address, an unsolicited neighbor advertisement for the IPv6 one). The count
 * sent. */
unsigned int mr_neigh_announce(struct mr_neigh *n);
unsigned int mr_neigh_count(const struct mr_neigh *n);
/* Solicitations held back to a later tick by the pacing (MR_NEIGH_BURST a tick). */
uint64_t mr_neigh_deferred(const struct mr_neigh *n);
/* Of those, the entries with a usable MAC (resolved, or expired and being re-probed). */
unsigned int mr_neigh_count_resolved(const struct mr_neigh *n);

#endif
