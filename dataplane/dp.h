/* SPDX-License-Identifier: BSD-3-Clause
 * Dataplane context shared by the worker lcores and the control plane that sets it up.
 */
#ifndef MR_DP_H
#define MR_DP_H

#include <stdint.h>
#include <rte_common.h>
#include <rte_ether.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_hash.h>
#include <rte_rcu_qsbr.h>

#include "mr_types.h"
#include "counters.h"
#include "session_dp.h"

#define MR_DP_MAX_PORTS 16
#define MR_DP_MAX_WORKERS 64
#define MR_BURST 32
#define MR_NEIGH_SLOTS 4096
#define MR_NEIGH_VALID (1ULL << 48)

/* A neighbor table slot: the next hop's MAC in the low 48 bits, MR_NEIGH_VALID when resolved.
 * cp: rw (one 8-byte atomic store), dp: ro (relaxed atomic load; either value is usable). */
struct mr_neigh_slot {
	uint64_t w;
};

/* An appliance port as the dataplane sees it (cp: written before the workers start; dp: ro,
 * except neigh[] slots as above). */
struct mr_dp_port {
	uint16_t port_id;
	uint16_t n_rxq;			/* RX queues configured (>= ports[].rx_queues) */
	uint16_t vlan;			/* 0 = untagged */
	struct rte_ether_addr mac;
	uint8_t has4, has6;
	uint8_t plen4, plen6;
	uint8_t addr4[4];
	uint8_t addr6[16];
	uint8_t ll6[16];		/* link-local address (EUI-64 of the MAC) for ND */
	uint8_t tx_ip_cksum;		/* TX offloads enabled on the port */
	uint8_t tx_udp_cksum;
	struct mr_neigh_slot *neigh;	/* MR_NEIGH_SLOTS entries */
	char name[32];
};

/* Flow table key: the local endpoint a packet was sent to. */
struct mr_flow_key {
	uint8_t a[16];
	uint16_t port;			/* host order */
	uint8_t family;
	uint8_t pad;
} __rte_aligned(8);	/* rte_hash_crc reads the key 8 bytes at a time */

struct mr_dp;

struct mr_rxq {
	uint16_t port_idx;
	uint16_t queue;
};

struct mr_txbuf {
	uint16_t n;
	struct rte_mbuf *m[MR_BURST];
};

/* One worker lcore. */
struct mr_worker {
	/* cp: written before launch; dp: ro */
	struct mr_dp *dp;
	unsigned int idx;		/* worker index, also its TX queue on every port */
	unsigned int lcore_id;
	struct rte_hash *flows;		/* this worker's flows; cp is the only writer */
	struct rte_ring *cmd;		/* cp → worker commands (SP/SC, struct mr_cmd elements) */
	struct rte_ring *exc;		/* worker → cp exception packets (SP/SC) */
	struct rte_ring *handoff[MR_DP_MAX_WORKERS]; /* handoff[i]: from worker i to this one */
	unsigned int n_rxq;
	struct mr_rxq rxq[MR_DP_MAX_PORTS * 4];

	/* dp: rw */
	struct mr_txbuf tx[MR_DP_MAX_PORTS] __rte_cache_aligned;
	struct mr_lcore_stats stats __rte_cache_aligned;
} __rte_cache_aligned;

struct mr_dp {
	/* cp: written before launch; dp: ro */
	unsigned int n_ports;
	struct mr_dp_port port[MR_DP_MAX_PORTS];
	uint8_t port_idx_of[RTE_MAX_ETHPORTS];	/* DPDK port id → index in port[] */
	unsigned int n_workers;
	struct mr_worker *w[MR_DP_MAX_WORKERS];
	struct rte_rcu_qsbr *qsv;	/* one reader thread per worker, thread id = worker index */
	uint64_t tsc_hz;
	uint64_t relatch_tsc;		/* 0 = never re-latch */
	unsigned int idle_sleep_us;
	/* cp: rw, dp: ro. owner[udp port] = worker index + 1 of the session using that local
	 * port, 0 when free. Written before the flow is added to the owner's table. */
	uint8_t *owner;
	/* cp: rw, dp: ro (relaxed) */
	volatile uint32_t stop;
};

/* The worker main loop (rte_eal_remote_launch target); arg is the struct mr_worker. */
int mr_worker_main(void *arg);

/* One loop iteration: commands, RX queues, hand-off rings, TX flush. Returns the packets
 * handled. (mr_worker_main adds RCU reporting, cycle accounting and idle sleep.) */
unsigned int mr_worker_iteration(struct mr_worker *w, uint64_t now);
/* Process a burst of received packets as worker w would (exposed for tests). */
void mr_worker_input(struct mr_worker *w, struct rte_mbuf **pkts, uint16_t n, uint64_t now);
/* Send what is buffered for TX. */
void mr_worker_flush(struct mr_worker *w);
/* Apply pending control-plane commands. */
void mr_worker_commands(struct mr_worker *w);

/* Slow-path answers built in place (dataplane/slowpath.c). Each consumes m (sent, queued to
 * the control plane, or freed and counted). */
void mr_slow_arp(struct mr_worker *w, struct mr_dp_port *p, struct rte_mbuf *m,
		 const struct mr_pkt_info *pi);
void mr_slow_icmp4(struct mr_worker *w, struct mr_dp_port *p, struct rte_mbuf *m,
		   const struct mr_pkt_info *pi);
void mr_slow_icmp6(struct mr_worker *w, struct mr_dp_port *p, struct rte_mbuf *m,
		   const struct mr_pkt_info *pi);

/* Write an Ethernet header at h: destination dst, source the port's MAC, the port's 802.1Q
 * tag when it has a VLAN, then ethertype. Returns where the L3 header goes. */
static inline uint8_t *
mr_eth_write(uint8_t *h, const uint8_t *dst, const struct mr_dp_port *p, uint16_t ethertype)
{
	memcpy(h, dst, 6);
	memcpy(h + 6, p->mac.addr_bytes, 6);
	h += 12;
	if (p->vlan) {
		h[0] = 0x81;
		h[1] = 0x00;
		h[2] = p->vlan >> 8;
		h[3] = p->vlan;
		h += 4;
	}
	h[0] = ethertype >> 8;
	h[1] = ethertype;
	return h + 2;
}

void mr_txbuf_flush(struct mr_worker *w, unsigned int pidx);

/* Queue m for TX on port index pidx of worker w. */
static inline void
mr_worker_tx(struct mr_worker *w, unsigned int pidx, struct rte_mbuf *m)
{
	struct mr_txbuf *b = &w->tx[pidx];

	b->m[b->n++] = m;
	if (unlikely(b->n == MR_BURST))
		mr_txbuf_flush(w, pidx);
}

static inline void
mr_drop(struct mr_worker *w, struct rte_mbuf *m, enum mr_drop why)
{
	w->stats.drops[why]++;
	rte_pktmbuf_free(m);
}

/* Hand a packet to the control plane (ARP replies, neighbor advertisements). */
static inline void
mr_to_control(struct mr_worker *w, struct rte_mbuf *m)
{
	if (unlikely(rte_ring_sp_enqueue(w->exc, m) != 0)) {
		mr_drop(w, m, MR_DROP_EXCEPTION_FULL);
		return;
	}
	w->stats.exception++;
}

#endif
