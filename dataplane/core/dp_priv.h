/* SPDX-License-Identifier: BSD-3-Clause
 * What the worker lcores share among the dataplane's own modules (core, relay, rooms): the
 * loop's entry points for tests, TX buffering, drops, latching, header writing. Private to
 * dataplane/: the control plane includes only dataplane/include/.
 */
#ifndef MR_DP_PRIV_H
#define MR_DP_PRIV_H

#include <stdint.h>
#include <string.h>
#include <rte_branch_prediction.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_seqcount.h>

#include "cksum.h"
#include "dp.h"
#include "pkt_parse.h"
#include "srtp.h"

/* One loop iteration: commands, RX queues, hand-off rings, TX flush. Returns the packets
 * handled. (mr_worker_main adds RCU reporting, cycle accounting and idle sleep.) */
unsigned int mr_worker_iteration(struct mr_worker *w, uint64_t now);
/* Process a burst of received packets as worker w would (exposed for tests). */
void mr_worker_input(struct mr_worker *w, struct rte_mbuf **pkts, uint16_t n, uint64_t now);
/* Send what is buffered for TX. */
void mr_worker_flush(struct mr_worker *w);
/* Apply pending control-plane commands. */
void mr_worker_commands(struct mr_worker *w);

/* Slow-path answers built in place (dataplane/core/slowpath.c). Each consumes m (sent, queued to
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

static inline void
mr_drop(struct mr_worker *w, struct rte_mbuf *m, enum mr_drop why)
{
	w->stats.drops[why]++;
	rte_pktmbuf_free(m);
}

/* ---- Pieces of the relay path shared by sessions (worker.c) and rooms (room_fwd.c) ---- */

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "headers and endpoints are composed in little-endian words");

/* The UDP source of a parsed packet as an endpoint (the remote to latch). */
static inline void
mr_pkt_src_ep(const uint8_t *f, const struct mr_pkt_info *pi, struct mr_ep *src)
{
	src->family = pi->family;
	src->pad = 0;
	src->port = pi->sport;
	if (pi->family == MR_AF4) {
		/* Two 8-byte stores, as mr_ep_eq()'s memcmp() reads the address back: a 4-byte
		 * store and a memset under an 8-byte load stall on store forwarding (a tenth of
		 * the relay loop's samples, docs/PERFORMANCE.md "Header writes and AES-GCM at
		 * the flush"). */
		uint32_t a4;
		uint64_t w0, w1 = 0;

		memcpy(&a4, f + pi->l2_len + 12, 4);
		w0 = a4;	/* the address's bytes first on this little-endian host */
		memcpy(src->a, &w0, 8);
		memcpy(src->a + 8, &w1, 8);
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
	MR_LATCH_SAME = 0,	/* from the latched remote */
	MR_LATCH_NEW,		/* a source proved itself, or the first packet from the configured
				 * remote: latched */
	MR_LATCH_MOVED,		/* the remote was silent for relatch_tsc: followed the new one */
	/* Refused (the packet is dropped): */
	MR_LATCH_R_SOURCE,	/* another source while the remote is alive: source_mismatch */
	MR_LATCH_R_ADDRESS,	/* not the address the remote must have: source_address */
	MR_LATCH_R_LEARNING,	/* a source still proving itself: latch_learning */
	MR_LATCH_R_WINDOW,	/* the learning window closed: latch_window_closed */
	MR_LATCH_R_SSRC,	/* after silence, not the endpoint's SSRC: relatch_refused */
};

/* What the latching rules need to know about a packet that is not from the latched remote
 * (dataplane/core/latch.c). */
struct mr_latch_pkt {
	const struct mr_ep *src;
	const struct rte_ether_addr *smac;
	const struct mr_ep *local;	/* the endpoint, for the re-latch log line */
	const uint8_t *pl;		/* UDP payload */
	uint16_t len;
	uint8_t class;			/* enum mr_class */
	uint8_t authentic;		/* an SRTP packet that authenticated: proof enough */
	int8_t own_ssrc;		/* the packet's SSRC is the endpoint's (1), another (-1),
					 * or the endpoint has none yet (0) */
	uint8_t rtcp_port;		/* the RTCP port of a leg without rtcp-mux: it follows
					 * the RTP port's remote (follow) */
	const struct mr_ep *follow;	/* rtcp_port: the RTP port's remote, NULL if none */
};

/* The latching rules for a packet that is not from p's latched remote (docs/ARCHITECTURE.md
 * "Latching and next hops"). Out of line: a latched flow's packets never get here. */
enum mr_latch mr_path_latch_slow(struct mr_worker *w, rte_seqcount_t *seq,
				 struct mr_dp_path *p, const struct mr_latch_pkt *k, uint64_t now);

/* Is p latched to src? The one test a latched flow's packet pays. */
static __rte_always_inline int
mr_path_is_latched(const struct mr_dp_path *p, const struct mr_ep *src)
{
	return likely(p->state == MR_PATH_LATCHED) && likely(mr_ep_eq(src, &p->remote));
}

/* The SSRC of an RTP packet or the sender SSRC of an RTCP one (the parser checked their
 * fixed headers' lengths); 0 with *have 0 for other classes. */
static inline uint32_t
mr_pkt_ssrc(const uint8_t *pl, uint8_t cls, int *have)
{
	*have = 1;
	if (cls == MR_CLASS_RTP)
		return mr_pkt_be32(pl + 8);
	if (cls == MR_CLASS_RTCP)
		return mr_pkt_be32(pl + 4);
	*have = 0;
	return 0;
}

/* Count and drop a packet the latching rules refused (r >= MR_LATCH_R_SOURCE), on the
 * endpoint's counters. */
static inline void
mr_latch_refuse(struct mr_worker *w, struct rte_mbuf *m, enum mr_latch r, uint64_t *drop_src,
		struct mr_latch_ctr *c)
{
	switch (r) {
	case MR_LATCH_R_ADDRESS:
		c->drop_address++;
		mr_drop(w, m, MR_DROP_LATCH_ADDRESS);
		break;
	case MR_LATCH_R_LEARNING:
		c->drop_learning++;
		mr_drop(w, m, MR_DROP_LATCH_LEARNING);
		break;
	case MR_LATCH_R_WINDOW:
		c->drop_window++;
		mr_drop(w, m, MR_DROP_LATCH_WINDOW);
		break;
	case MR_LATCH_R_SSRC:
		c->drop_relatch++;
		mr_drop(w, m, MR_DROP_RELATCH_SSRC);
		break;
	default:
		(*drop_src)++;
		mr_drop(w, m, MR_DROP_SRC_MISMATCH);
		break;
	}
}

/* What the received UDP checksum says, taken before its headers are overwritten: enough to
 * update it for new addresses and ports (RFC 1624) without reading the payload. */
struct mr_udp_ck {
	uint16_t ocks;		/* the datagram's checksum; 0 = none sent (RFC 768) */
	uint32_t osum;		/* partial sum of its source, destination and ports */
};

/* The recompute argument of mr_udp_ck_of() when it is not a constant: the packet's port
 * decides (struct mr_dp_port rx_cksum_recompute). */
#define MR_CK_PORT (-1)

static __rte_always_inline int
mr_rx_recompute(const struct mr_dp *dp, const struct rte_mbuf *m, const int ck)
{
	return ck == MR_CK_PORT ? dp->port[dp->port_idx_of[m->port]].rx_cksum_recompute : ck;
}

/* Is the IPv4 header checksum of frame f (parsed into pi, family MR_AF4) wrong? The NIC's
 * verdict when it gave one (m->ol_flags), else the header's 20..60 bytes summed. */
static __rte_always_inline int
mr_ip4_ck_bad(const struct rte_mbuf *m, const uint8_t *f, const struct mr_pkt_info *pi)
{
	uint64_t fl = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;

	if (likely(fl == RTE_MBUF_F_RX_IP_CKSUM_GOOD))
		return 0;
	if (fl == RTE_MBUF_F_RX_IP_CKSUM_BAD)
		return 1;
	if (likely(pi->l3_len == 20)) {
		/* No options: five words, no loop (docs/PERFORMANCE.md "Checksum checks"). */
		uint32_t x[5];

		memcpy(x, f + pi->l2_len, 20);
		return mr_csum_fold(mr_csum_fold64((uint64_t)x[0] + x[1] + x[2] + x[3] +
						   x[4])) != 0xffff;
	}
	return mr_csum_fold(mr_csum_partial(f + pi->l2_len, pi->l3_len, 0)) != 0xffff;
}

/* Is the UDP checksum of the datagram in frame f (parsed into pi) wrong? One pass over it,
 * which also leaves the checksum computed from its bytes in pi (ck_fresh, for
 * mr_udp_ck_of()). Not wrong: a valid field; none (0) over IPv4; or, where a local Linux
 * sender offloaded its checksum through a veth, the bare pseudo-header sum, which cannot be
 * verified (docs/CONFIG.md ports.rx_checksum). IPv6 requires a checksum (RFC 8200 §8.1). */
static inline int
mr_udp_ck_verify(const uint8_t *f, struct mr_pkt_info *pi)
{
	const uint8_t *src = f + pi->l2_len + (pi->family == MR_AF4 ? 12 : 8);
	const uint8_t *dst = src + (pi->family == MR_AF4 ? 4 : 16);
	const uint8_t *u = f + pi->l4_off;
	uint32_t ph, sum;
	uint16_t field, c;

	memcpy(&field, u + 6, 2);
	if (field == 0 && pi->family == MR_AF4)
		return 0;
	ph = mr_udp_pseudo_sum(pi->family, src, dst, pi->l4_len);
	sum = mr_csum_partial(u, 6, ph);
	if (pi->l4_len > 8)
		sum = mr_csum_partial(u + 8, (size_t)pi->l4_len - 8, sum);
	c = (uint16_t)~mr_csum_fold(sum);
	pi->ck_fresh = c == 0 ? 0xffff : c;
	pi->ck_have = 1;
	if (field == 0)
		return 1;
	return mr_csum_fold(mr_csum_partial(&field, 2, sum)) != 0xffff &&
		field != mr_csum_fold(ph);
}

/* Is the UDP checksum wrong where it must be checked: the NIC said so, or the port cannot
 * vouch for it (recompute: the relay would send the datagram with a fresh checksum)? */
static __rte_always_inline int
mr_udp_ck_bad(const struct rte_mbuf *m, const uint8_t *f, struct mr_pkt_info *pi,
	      const int recompute)
{
	uint64_t fl = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;

	if (unlikely(fl == RTE_MBUF_F_RX_L4_CKSUM_BAD))
		return 1;
	if (!recompute || fl == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		return 0;
	return mr_udp_ck_verify(f, pi);
}

/* The checksum of the datagram in frame f (parsed into pi). recompute (a constant where the
 * caller can make it one) takes it from the datagram itself instead of its checksum field:
 * for ports that cannot vouch for that field, where a sender's offloaded checksum arrives as
 * the bare pseudo-header sum (Linux CHECKSUM_PARTIAL through a veth) and an update of it
 * would be sent as garbage. An IPv4 datagram sent without a checksum keeps none. */
static __rte_always_inline void
mr_udp_ck_of(const uint8_t *f, const struct mr_pkt_info *pi, struct mr_udp_ck *ck,
	     const int recompute)
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
	if (recompute && (ck->ocks != 0 || pi->family == MR_AF6))
		ck->ocks = pi->ck_have ? pi->ck_fresh :
			mr_udp_cksum(pi->family, osrc, odst, f + pi->l4_off, pi->l4_len);
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

/* ng "silence media" (MR_LEG_MUTE_SILENCE; worker.c, out of line): the payload of the G.711
 * RTP packet (payload type 0 or 8) in frame f (parsed into pi) replaced by that codec's
 * silence, and its UDP checksum made right for the new payload. 0, or -1 for any other packet
 * (held back, as block media would). */
int mr_rtp_silence(uint8_t *f, struct mr_pkt_info *pi);

/* Queue m for TX on port index pidx of worker w. */
static inline void
mr_worker_tx(struct mr_worker *w, unsigned int pidx, struct rte_mbuf *m)
{
	struct mr_txbuf *b = &w->tx[pidx];

	b->m[b->n++] = m;
	if (unlikely(b->n == MR_BURST))
		mr_txbuf_flush(w, pidx);
}

/* SRTP within one burst (dataplane/relay/relay.h, worker.c): packets of legs whose remote
 * sends SRTP wait in rx[] until the whole burst was seen, are authenticated and decrypted
 * together (one engine flush), then relayed in the order they came; packets to SRTP remotes
 * wait in tx[] and are encrypted together before their headers are written. A flow's
 * packets all take the same way, so each flow keeps its order. */
struct mr_srtp_rx_pend {
	struct rte_mbuf *m;
	struct mr_pkt_info *pi;
	uintptr_t val;
};

struct mr_srtp_tx_pend {
	struct rte_mbuf *m;
	struct mr_pkt_info *pi;
	struct mr_dp_leg *o;		/* the sending leg */
	struct mr_ep from, dst;
	uint8_t dmac[RTE_ETHER_ADDR_LEN];
};

struct mr_srtp_burst {
	unsigned int n_rx, n_tx;
	struct mr_srtp_op rx_op[MR_BURST];
	struct mr_srtp_rx_pend rx[MR_BURST];
	struct mr_srtp_op tx_op[MR_BURST];
	struct mr_srtp_tx_pend tx[MR_BURST];
	struct mr_srtp_op retry_op[MR_BURST];	/* authentication failures, tried under the
						 * previous key during a re-key overlap */
	uint8_t retry_of[MR_BURST];
	/* Room copies to SRTP participants (room_fwd.c): each subscriber's copy encrypted
	 * under its own key, a batch at a time, sent at the end of the loop iteration or when
	 * the batch is full. */
	unsigned int n_room;
	struct mr_srtp_op room_op[MR_BURST];
	struct rte_mbuf *room_m[MR_BURST];
	struct mr_dp_part *room_to[MR_BURST];
	uint8_t room_tclass[MR_BURST];
};

/* Bytes protect may write after the plen-byte packet at p in m: the rest of the buffer of a
 * single-segment mbuf, none for a chain. */
static inline uint16_t
mr_srtp_room(const struct rte_mbuf *m, const uint8_t *p, uint16_t plen)
{
	if (m->nb_segs != 1)
		return 0;
	return (uint16_t)RTE_MIN((uintptr_t)65535,
				 (uintptr_t)((const uint8_t *)m->buf_addr + m->buf_len - (p + plen)));
}

/* The SRTP state of flow val: a session leg's or a room participant's. */
static inline struct mr_dp_srtp *
mr_flow_srtp(uintptr_t val)
{
	uintptr_t base = val & ~(uintptr_t)RTE_CACHE_LINE_MASK;

	if (val & MR_FLOW_ROOM)
		return ((struct mr_dp_part *)base)->srtp;
	return ((struct mr_dp_session *)base)->leg[(val >> 1) & 1].srtp;
}

/* A packet of flow val (RTP or RTCP class checked by the caller or here) whose endpoint has
 * SRTP state sr: staged to be authenticated and decrypted with the rest of the burst
 * before anything else looks at it (no latching, no statistics for a packet that does not
 * authenticate), or dropped when the remote's key is not known yet. Returns 1 when it took
 * the packet, 0 when the remote sends plain RTP (the caller goes on). */
static __rte_always_inline int
mr_srtp_rx_stage(struct mr_worker *w, struct rte_mbuf *m, struct mr_pkt_info *pi, uintptr_t val,
		 struct mr_dp_srtp *sr)
{
	struct mr_srtp_burst *b = w->srtp_burst;
	struct mr_srtp_op *so;

	if (sr->rx == NULL) {
		if (!sr->rx_srtp)
			return 0;
		sr->ctr.no_key++;
		mr_drop(w, m, MR_DROP_SRTP_NO_KEY);
		return 1;
	}
	if (unlikely(pi->class != MR_CLASS_RTP && pi->class != MR_CLASS_RTCP)) {
		sr->ctr.auth_fail++;
		mr_drop(w, m, MR_DROP_SRTP_AUTH);
		return 1;
	}
	so = &b->rx_op[b->n_rx];
	so->ctx = sr->rx;
	so->pkt = rte_pktmbuf_mtod_offset(m, uint8_t *, pi->payload_off);
	so->len = pi->payload_len;
	so->room = 0;
	so->rtcp = pi->class == MR_CLASS_RTCP;
	mr_srtp_prefetch(so->ctx, so->rtcp);
	b->rx[b->n_rx].m = m;
	b->rx[b->n_rx].pi = pi;
	b->rx[b->n_rx].val = val;
	b->n_rx++;
	return 1;
}

/* The rx_recompute argument of mr_rewrite() for a payload the relay changed (decrypted or
 * encrypted): the UDP checksum is computed in full. */
#define MR_CK_NEW 2

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
