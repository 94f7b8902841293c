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
#include "cksum.h"
#include "counters.h"
#include "pkt_parse.h"
#include "session_dp.h"
#include "room_dp.h"

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
	uint16_t n_addr4;		/* media addresses addr4 .. addr4 + n_addr4 - 1 (0 = 1) */
	uint8_t addr6[16];
	uint8_t ll6[16];		/* link-local address (EUI-64 of the MAC) for ND */
	uint8_t tx_ip_cksum;		/* TX offloads enabled on the port */
	uint8_t tx_udp_cksum;
	/* The port's TX queues take only single-segment mbufs with a reference count of 1
	 * (no RTE_ETH_TX_OFFLOAD_MULTI_SEGS, or RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE enabled):
	 * room fan-out to it always copies. 0 (ring, null, tap, memif): chains are fine. */
	uint8_t tx_no_chain;
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

	/* Packets this worker builds (room fan-out copies and indirect clones, RR, NACK,
	 * retransmissions): mp must be the pool the RX queues fill from when a port uses
	 * MBUF_FAST_FREE (one pool per TX queue); NULL = rooms forward in place only, to one
	 * subscriber, and count the rest as MR_DROP_NO_MBUF. hdr_mp: small mbufs for the
	 * headers of indirect fan-out, written from the buffer start (data room >= 66 bytes,
	 * 128 is plenty); NULL = mp. */
	struct rte_mempool *mp;
	struct rte_mempool *hdr_mp;

	/* dp: rw */
	struct mr_txbuf tx[MR_DP_MAX_PORTS] __rte_cache_aligned;
	struct mr_lcore_stats stats __rte_cache_aligned;
} __rte_cache_aligned;

/* How a packet reaches several subscribers of a room (same values as enum mr_fanout of
 * controlplane/config.h). One subscriber always gets the received mbuf, rewritten in place;
 * with several, the last one does. */
enum mr_dp_fanout {
	MR_DP_FANOUT_AUTO = 0,		/* copy up to fanout_copy_max payload bytes, else indirect */
	MR_DP_FANOUT_COPY = 1,		/* a full copy per subscriber (rte_pktmbuf_alloc + memcpy) */
	MR_DP_FANOUT_INDIRECT = 2,	/* a header mbuf per subscriber chained to an indirect
					 * mbuf attached to the received payload */
};

/* Default MR_DP_FANOUT_AUTO crossover in UDP payload bytes (perf/fanout_bench.c, docs/
 * PERFORMANCE.md "Fan-out"): an indirect copy costs the same ~115 cycles whatever the size
 * (two mbuf gets, an atomic reference on the payload, two frees), a full copy ~80 cycles plus
 * ~3.3 per 100 bytes; they meet near 1050 bytes. Audio always copies, large video goes
 * indirect. */
#define MR_DP_FANOUT_COPY_MAX 1024
#define MR_DP_NACK_BUDGET 200		/* retransmissions per subscriber per second */

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
	/* cp: rw, dp: ro. owner[mr_owner_idx()] = worker index + 1 of the session or room
	 * participant using that local endpoint, 0 when free. Written before the flow is added
	 * to the owner's table. Indexed by (address index, UDP port): address index k is the
	 * k-th IPv4 media address of a port (ports.address_count); every port's first IPv4
	 * address and its IPv6 address are index 0, so all ports share one table of
	 * dp->n_addr_idx x 65536 entries. */
	uint8_t *owner;
	unsigned int n_addr_idx;		/* the largest address_count of the ports */
	/* Rooms (dataplane/room_fwd.c), from struct mr_rooms_conf. cp: written before launch;
	 * dp: ro. Zero selects the default named. */
	uint8_t fanout;			/* enum mr_dp_fanout, default MR_DP_FANOUT_AUTO */
	uint16_t fanout_copy_max;	/* AUTO crossover (UDP payload bytes), 0 = default */
	uint32_t nack_budget;		/* retransmissions per subscriber per second (also the
					 * bucket depth), 0 = MR_DP_NACK_BUDGET */
	uint64_t pli_interval_tsc;	/* one PLI/FIR per stream per this many TSC cycles at
					 * most; 0 = one second (1 = no limit in practice) */
	uint64_t rtx_max_age_tsc;	/* cached packets older than this are not resent;
					 * 0 = one second */
	/* cp: rw, dp: ro (relaxed) */
	volatile uint32_t stop;
};

/* Address index of dst (network order, family af) among port p's media addresses, or -1
 * when it is not one of them. */
static inline int
mr_local_idx(const struct mr_dp_port *p, uint8_t af, const uint8_t *dst)
{
	if (af == MR_AF4) {
		uint32_t d, k;

		if (!p->has4)
			return -1;
		d = (uint32_t)dst[0] << 24 | (uint32_t)dst[1] << 16 | (uint32_t)dst[2] << 8 | dst[3];
		k = d - ((uint32_t)p->addr4[0] << 24 | (uint32_t)p->addr4[1] << 16 |
			 (uint32_t)p->addr4[2] << 8 | p->addr4[3]);
		return k < (p->n_addr4 ? p->n_addr4 : 1u) ? (int)k : -1;
	}
	return p->has6 && memcmp(dst, p->addr6, 16) == 0 ? 0 : -1;
}

static inline uint32_t
mr_owner_idx(unsigned int addr_idx, uint16_t udp_port)
{
	return (uint32_t)addr_idx << 16 | udp_port;
}

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

/* ---- Pieces of the relay path shared by sessions (worker.c) and rooms (room_fwd.c) ---- */

/* The UDP source of a parsed packet as an endpoint (the remote to latch). */
static inline void
mr_pkt_src_ep(const uint8_t *f, const struct mr_pkt_info *pi, struct mr_ep *src)
{
	src->family = pi->family;
	src->pad = 0;
	src->port = pi->sport;
	if (pi->family == MR_AF4) {
		memcpy(src->a, f + pi->l2_len + 12, 4);
		memset(src->a + 4, 0, 12);
	} else {
		memcpy(src->a, f + pi->l2_len + 8, 16);
	}
}

static inline void
mr_path_latch(rte_seqcount_t *seq, struct mr_dp_path *p, const struct mr_ep *src,
	      const struct rte_ether_addr *mac)
{
	/* Single writer (the owner lcore): the seqcount only lets the control plane take a
	 * consistent snapshot of remote/mac/state for GET. Latching is rare, not per packet. */
	rte_seqcount_write_begin(seq);
	p->remote = *src;
	rte_ether_addr_copy(mac, &p->mac);
	p->state = MR_PATH_LATCHED;
	rte_seqcount_write_end(seq);
}

enum mr_latch {
	MR_LATCH_REFUSED = -1,	/* another source while the remote is alive: drop */
	MR_LATCH_SAME = 0,	/* from the latched remote */
	MR_LATCH_NEW,		/* first packet (or first from the configured remote): latched */
	MR_LATCH_MOVED,		/* the remote was silent for relatch_tsc: followed the new one */
};

/* The latching rule (docs/ARCHITECTURE.md "Latching and next hops") for a packet from src
 * (source MAC smac) on path p, guarded by seq. The caller stamps p->last_rx_tsc when it
 * accepts the packet. */
static inline enum mr_latch
mr_path_accept(const struct mr_dp *dp, rte_seqcount_t *seq, struct mr_dp_path *p,
	       const struct mr_ep *src, const struct rte_ether_addr *smac, uint64_t now)
{
	if (unlikely(p->state == MR_PATH_NONE)) {
		mr_path_latch(seq, p, src, smac);
		return MR_LATCH_NEW;
	}
	if (unlikely(!mr_ep_eq(src, &p->remote))) {
		/* Signed: the control plane or a command may have stamped last_rx_tsc after
		 * this iteration read its clock. */
		if (dp->relatch_tsc != 0 &&
		    (int64_t)(now - p->last_rx_tsc) > (int64_t)dp->relatch_tsc) {
			/* The remote fell silent: a NAT rebinding moved it. Follow it. */
			mr_path_latch(seq, p, src, smac);
			return MR_LATCH_MOVED;
		}
		return MR_LATCH_REFUSED;
	}
	if (unlikely(p->state == MR_PATH_CONFIGURED)) {
		/* First packet from the configured remote: from now on answer the MAC it came
		 * from, which is the next hop whether the remote is on-link or routed. */
		mr_path_latch(seq, p, src, smac);
		return MR_LATCH_NEW;
	}
	return MR_LATCH_SAME;
}

/* What the received UDP checksum says, taken before its headers are overwritten: enough to
 * update it for new addresses and ports (RFC 1624) without reading the payload. */
struct mr_udp_ck {
	uint16_t ocks;		/* the checksum field as received; 0 = none sent (RFC 768) */
	uint32_t osum;		/* partial sum of its source, destination and ports */
};

static inline void
mr_udp_ck_of(const uint8_t *f, const struct mr_pkt_info *pi, struct mr_udp_ck *ck)
{
	const uint8_t *osrc, *odst;
	size_t alen = pi->family == MR_AF4 ? 4 : 16;

	if (pi->family == MR_AF4) {
		osrc = f + pi->l2_len + 12;
		odst = f + pi->l2_len + 16;
	} else {
		osrc = f + pi->l2_len + 8;
		odst = f + pi->l2_len + 24;
	}
	memcpy(&ck->ocks, f + pi->l4_off + 6, 2);
	ck->osum = mr_csum_partial(osrc, alen, 0);
	ck->osum = mr_csum_partial(odst, alen, ck->osum);
	ck->osum = mr_csum_partial(f + pi->l4_off, 4, ck->osum);	/* both ports */
}

/* Bytes of Ethernet/[802.1Q]/IP/UDP header mr_hdr_write() puts in front of a payload. */
static inline uint16_t
mr_hdr_len(const struct mr_dp_port *op, uint8_t family)
{
	return RTE_ETHER_HDR_LEN + (op->vlan ? 4 : 0) + (family == MR_AF4 ? 20 : 40) + 8;
}

/* Write Ethernet/[802.1Q]/IP/UDP headers (mr_hdr_len() bytes) at h, the first data byte of
 * m, the head mbuf of a frame whose UDP payload is plen bytes (payload points at them,
 * contiguous, wherever they are: the same mbuf or a chained one). From src (a local
 * endpoint of port op) to dst, next hop dmac, DSCP/ECN tclass. The UDP checksum is updated
 * from ck (a relayed datagram) or, with ck NULL (a datagram the relay built), computed in
 * full; or left to the NIC where op offloads it (m's l2_len/l3_len/ol_flags are set). */
void mr_hdr_write(struct rte_mbuf *m, uint8_t *h, const struct mr_dp_port *op,
		  const struct mr_ep *src, const struct mr_ep *dst, const uint8_t *dmac,
		  uint8_t tclass, const uint8_t *payload, uint16_t plen,
		  const struct mr_udp_ck *ck);

/* ---- Rooms (dataplane/room_fwd.c) ---- */

/* A packet for participant part's local endpoint, on the room's owner lcore. Consumes m. */
void mr_room_fwd_input(struct mr_worker *w, struct rte_mbuf *m, const struct mr_pkt_info *pi,
		   struct mr_dp_part *part, uint64_t now);
/* A room command (enum mr_room_cmd_type) from the command ring; now is the TSC. */
void mr_room_fwd_cmd(struct mr_worker *w, const struct mr_cmd *c, uint64_t now);

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
