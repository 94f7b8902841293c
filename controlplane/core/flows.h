/* SPDX-License-Identifier: BSD-3-Clause
 * The life of a local endpoint, for sessions and rooms alike: its relay port and owner map
 * entry (dp->owner), the worker that owns it (least loaded), a relay port whose packets the
 * NIC delivers to that worker where the port steers, and the keys in that worker's flow
 * table. The only writer of the flow tables and
 * the owner map (DESIGN.md §2 "Ownership", "Publication").
 *
 * Order of a life: mr_flows_ep_alloc() (owner map set), mr_flows_add() for each UDP port
 * used (published); then mr_flows_del() (unpublished), the RCU deferral
 * (controlplane/core/defer.h), and only then mr_flows_ep_free() (owner map cleared, port
 * reusable).
 */
#ifndef MR_FLOWS_H
#define MR_FLOWS_H

#include <stdint.h>

struct mr_appliance;
struct mr_ep;
struct mr_flows;

/* For the appliance's ports, relay port range and workers; NULL with rte_errno set. */
struct mr_flows *mr_flows_create(struct mr_appliance *a);
/* NULL is a no-op. */
void mr_flows_free(struct mr_flows *f);

/* A local endpoint on appliance port pidx: one of the port's addresses of the given family
 * (IPv4: the first of ports.address_count with a free port, so addresses fill one after
 * another) and an even UDP port p (p+1 reserved with it, for RTCP), marked in the owner map
 * as owned by worker w before any flow of it is published. Where the port steers (RSS on
 * the local endpoint, rte_flow port ranges), p is the first free one (FIFO) whose packets
 * and p + 1's land on a queue w polls; when no such port is left, any (counted as a
 * steering miss: the hand-off carries its packets). 0, -ENOSPC when no port is free,
 * -EAFNOSUPPORT when the port has no address of that family. */
int mr_flows_ep_alloc(struct mr_flows *f, unsigned int pidx, uint8_t family, unsigned int w,
		      struct mr_ep *ep);
/* Give an endpoint back: its flows deleted and their grace period passed. */
void mr_flows_ep_free(struct mr_flows *f, unsigned int pidx, const struct mr_ep *ep);
/* Relay ports still free, over all address indexes. */
unsigned int mr_flows_ep_available(const struct mr_flows *f);

/* Publish the flow of UDP port `port` at local's address (an endpoint of ep_alloc, port
 * its p or p+1) with value val in worker owner's table, after everything val points to was
 * written. 0, or -ENOSPC when the owner's table is full (nothing was published). */
int mr_flows_add(struct mr_flows *f, const struct mr_ep *local, uint16_t port,
		 unsigned int owner, uintptr_t val);
/* Unpublish it: the key out of the owner's table (its slot reused after a grace period).
 * A flow that was never added is no error. */
void mr_flows_del(struct mr_flows *f, const struct mr_ep *local, uint16_t port,
		  unsigned int owner);

/* Load of each worker (sessions and room participants it owns). */
void mr_flows_load_add(struct mr_flows *f, unsigned int w, int delta);
/* The worker with the least load: the owner of the next session or room. */
unsigned int mr_flows_least_loaded(const struct mr_flows *f);

#endif
