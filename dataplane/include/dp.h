/* SPDX-License-Identifier: BSD-3-Clause
 * Dataplane context shared by the worker lcores and the control plane that sets it up: part
 * of the contract between the two planes (dataplane/include/, docs/ARCHITECTURE.md "The
 * contract"). What only the workers use is in dataplane/core/dp_priv.h.
 */
#ifndef MR_DP_H
#define MR_DP_H

#include <stdint.h>
#include <rte_common.h>
#include <rte_ether.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_rcu_qsbr.h>
#include <rte_seqcount.h>

#include "mr_types.h"
#include "counters.h"
#include "session_dp.h"
#include "room_dp.h"
#include "cmd.h"
#include "flow_table.h"
#include "media_dp.h"

#define MR_DP_MAX_PORTS 16
#define MR_DP_MAX_WORKERS 64
#define MR_WORKER_MAX_RXQ 64		/* (port, RX queue) pairs one worker polls at most */
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
	/* The port cannot vouch for the UDP checksums it receives (ports.rx_checksum): a kernel
	 * socket PMD on a veth hands over the partial checksum of a sender that offloaded it.
	 * The relay then takes the checksum from the datagram before updating it. */
	uint8_t rx_cksum_recompute;
	struct mr_neigh_slot *neigh;	/* MR_NEIGH_SLOTS entries */
	char name[32];
};

struct mr_dp;
struct mr_srtp_engine;
struct mr_srtp_burst;

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
	struct mr_flow_table *flows;	/* this worker's flows; cp is the only writer */
	struct rte_ring *cmd;		/* cp → worker commands (SP/SC, struct mr_cmd elements) */
	struct rte_ring *exc;		/* worker → cp exception packets (SP/SC) */
	struct rte_ring *handoff[MR_DP_MAX_WORKERS]; /* handoff[i]: from worker i to this one */
	/* cp → worker packets the control thread built (ARP requests, neighbor solicitations),
	 * m->port naming the port; the worker sends them on its own TX queues, so no port needs
	 * a queue for the control thread. SP/SC; worker 0 only, NULL on the others. */
	struct rte_ring *cp_tx;
	unsigned int n_rxq;		/* <= MR_WORKER_MAX_RXQ */
	struct mr_rxq rxq[MR_WORKER_MAX_RXQ];

	/* Packets this worker builds (room fan-out copies and indirect clones, RR, NACK,
	 * retransmissions): mp must be the pool the RX queues fill from when a port uses
	 * MBUF_FAST_FREE (one pool per TX queue); NULL = rooms forward in place only, to one
	 * subscriber, and count the rest as MR_DROP_NO_MBUF. hdr_mp: small mbufs for the
	 * headers of indirect fan-out, written from the buffer start (data room >= 66 bytes,
	 * 128 is plenty); NULL = mp (mr_dp_rooms_setup() sets it so). */
	struct rte_mempool *mp;
	struct rte_mempool *hdr_mp;
	/* This lcore's SRTP engine (dataplane/srtp/srtp.h), NULL when SRTP is not set up: an
	 * SRTP leg's packets are then dropped (srtp_no_key). srtp_burst: its per-burst scratch
	 * (struct mr_srtp_burst, dataplane/core/dp_priv.h), made with the engine. */
	struct mr_srtp_engine *srtp;
	struct mr_srtp_burst *srtp_burst;

	/* dp: rw (a release store after each command it applies), cp: ro (acquire load).
	 * Commands applied since start: the control plane counts those it sent
	 * (controlplane/core/cmdq.c), so cmd_done >= n tells it that the first n are done and
	 * that nothing they named is used by them any more. A line of its own: the control
	 * thread polls it, and it must not share a line with what the worker writes per
	 * packet. */
	uint64_t cmd_done __rte_cache_aligned;

	/* The last re-latch, for the control plane's log line (nothing is logged on a worker).
	 * dp: rw under seq (a re-latch is rare), cp: ro under seq; the count is
	 * stats.relatches. */
	struct {
		rte_seqcount_t seq;
		struct mr_ep local, from, to;
	} last_relatch;

	/* dp: rw */
	uint64_t now;			/* the TSC of the current loop iteration */
	struct mr_txbuf tx[MR_DP_MAX_PORTS] __rte_cache_aligned;
	struct mr_lcore_stats stats __rte_cache_aligned;
} __rte_cache_aligned;

/* How a packet reaches several subscribers of a room (same values as enum mr_fanout of
 * controlplane/config/config.h). One subscriber always gets the received mbuf, rewritten in place;
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
/* How long a cached packet is answered to a NACK (rooms.nack_cache_{audio,video}_ms): like
 * mediasoup, one second of audio and two of video; older, a retransmission comes too late to
 * be played, and the NACK goes to the publisher. */
#define MR_DP_RTX_AGE_AUDIO_MS 1000
#define MR_DP_RTX_AGE_VIDEO_MS 2000

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
	/* Latching against RTP Bleed (docs/ARCHITECTURE.md "Latching and next hops"). A
	 * zeroed struct mr_dp keeps the first-packet latching of old (tests rely on it). */
	uint64_t latch_window_tsc;	/* learning window; 0 = no limit */
	uint8_t latch_packets;		/* consistent packets a source sends to latch; <= 1:
					 * the first packet latches */
	uint8_t latch_signalled_only;	/* a signalled remote's address only, any port */
	uint64_t srtp_overlap_tsc;	/* after a re-key, the previous remote key is accepted
					 * this long (srtp.rekey_overlap) */
	unsigned int idle_sleep_us;
	/* cp: rw (controlplane/core/flows.c, relaxed atomic stores), dp: ro (relaxed atomic
	 * load per packet, mr_owner_load()). owner[mr_owner_idx()] = worker index + 1 of the
	 * session or room participant using that local endpoint, 0 when free. Set before the
	 * endpoint's flows are added to the owner's table, cleared after they were deleted and
	 * a grace period passed. Indexed by (address index, UDP port): address index k is the
	 * k-th IPv4 media address of a port (ports.address_count); every port's first IPv4
	 * address and its IPv6 address are index 0, so all ports share one table of
	 * dp->n_addr_idx x 65536 entries. */
	uint8_t *owner;
	unsigned int n_addr_idx;		/* the largest address_count of the ports */
	/* Rooms (dataplane/rooms/room_fwd.c), from struct mr_rooms_conf. cp: written before
	 * launch, then mr_dp_rooms_setup() replaces each 0 with the default named, once;
	 * dp: ro. */
	uint8_t fanout;			/* enum mr_dp_fanout, default MR_DP_FANOUT_AUTO */
	uint16_t fanout_copy_max;	/* AUTO crossover in UDP payload bytes:
					 * MR_DP_FANOUT_COPY_MAX */
	uint32_t nack_budget;		/* retransmissions per subscriber per second (also the
					 * bucket depth): MR_DP_NACK_BUDGET */
	uint64_t pli_interval_tsc;	/* one PLI/FIR per stream per this many TSC cycles at
					 * most: one second (1 = no limit in practice) */
	uint64_t rtx_max_age_tsc[2];	/* by enum mr_media_kind: cached packets older than this
					 * are not resent: MR_DP_RTX_AGE_{AUDIO,VIDEO}_MS */
	/* Derived by mr_dp_rooms_setup() from the above and tsc_hz, so that no packet divides
	 * by tsc_hz. dp: ro. */
	struct mr_scale tsc_to_q16;	/* TSC cycles → 1/65536 s (DLSR, RTT: RFC 3550 §6.4.1) */
	struct mr_scale rtx_refill;	/* TSC cycles → retransmission tokens * 2^16 */
	uint64_t rtx_bucket;		/* nack_budget tokens * 2^16: the bucket's depth */
	/* Recording (rec.h): captures of recorded streams to the writer thread. cp: written
	 * before launch, dp: ro. NULL when recording is not configured. */
	struct rte_ring *rec_ring;	/* MP/SC: the workers (and the control thread's
					 * messages) → the writer thread */
	struct rte_mempool *rec_mp;	/* MR_REC_BUF data rooms, apart from the packet pool
					 * so a slow disk never starves the media */
	/* Per-flow capture (cap.h): copies of captured endpoints' frames to the capture
	 * writer thread. cp: written before launch, dp: ro. NULL when capture is not
	 * configured. */
	struct rte_ring *cap_ring;	/* MP/SC: the workers (and the control thread's
					 * messages) → the writer thread */
	struct rte_mempool *cap_mp;	/* MR_CAP_BUF data rooms, apart from the packet pool */
	/* Media lcores (media_dp.h, lcores.media): cp: written before launch; workers: ro.
	 * mix_slot: MR_MIX_SLOTS entries, NULL when there are no media lcores. */
	unsigned int n_media;
	struct mr_media *media[MR_MEDIA_MAX];
	struct mr_mix_slot *mix_slot;
	/* cp: rw, dp: ro (relaxed) */
	volatile uint32_t stop;
	/* Active/standby (controlplane/state/): 1 while another node holds the service's
	 * shared addresses, or this one is still loading it. Every received packet is then
	 * dropped (standby): no media accepted, no ARP/ND/ICMP answered. cp: rw (relaxed
	 * store), dp: ro (one relaxed load per RX burst). Relaxed is enough: the flag guards
	 * no data; a burst read on either side of a change is dropped or relayed whole, and
	 * what relaying reads (flow entries) is published by the flow tables themselves. */
	uint32_t standby;
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

/* The owner map entry of a local endpoint (dp->owner), as the workers read it per packet.
 * Relaxed on both sides: the byte publishes no data. It only picks the worker that looks
 * the packet up, and what that worker then reads is published by the flow table (the
 * control thread's add is a release, the lookup an acquire) and, across a hand-off, by the
 * ring (the mbuf and this load happen before the enqueue, so the owner's own load reads
 * this value or a later one). A stale value costs no more than the packet: an endpoint
 * just allocated reads 0 (no_flow) for a moment, one just freed sends its stray packet
 * to a worker whose table no longer has the key (no_flow). */
static inline unsigned int
mr_owner_load(const struct mr_dp *dp, unsigned int addr_idx, uint16_t udp_port)
{
	return __atomic_load_n(&dp->owner[mr_owner_idx(addr_idx, udp_port)], __ATOMIC_RELAXED);
}

/* Complete dp's room settings before the workers start (or after a test changes them):
 * defaults for those left 0, the TSC conversion factors, and each worker's hdr_mp (mp when
 * NULL). 0, or -EINVAL when tsc_hz is 0. */
int mr_dp_rooms_setup(struct mr_dp *dp);

/* Give worker w the SRTP engine e (made for it by the control plane, before launch) and the
 * per-burst scratch it needs (allocated here, on the worker's socket). 0 or -ENOMEM.
 * mr_worker_srtp_free() frees the scratch and the engine (after the worker stopped). */
int mr_worker_srtp_setup(struct mr_worker *w, struct mr_srtp_engine *e);
void mr_worker_srtp_free(struct mr_worker *w);

/* The worker main loop (rte_eal_remote_launch target); arg is the struct mr_worker. */
int mr_worker_main(void *arg);

#endif
