/* SPDX-License-Identifier: BSD-3-Clause
 * Writing the headers of a packet the relay sends: always inline, for the session relay
 * (dataplane/relay/relay.h) and, through mr_hdr_write() (dp_priv.h), the rooms.
 */
#ifndef MR_HDR_H
#define MR_HDR_H

#include <string.h>
#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "cksum.h"
#include "dp_priv.h"

#define MR_HDR_ETH 14
#define MR_HDR_VLAN 4
#define MR_HDR_IP4 20
#define MR_HDR_IP6 40
#define MR_HDR_UDP 8
#define MR_TTL 64

/* The ones' complement sum of a datagram's source and destination addresses, the part of the
 * UDP pseudo-header that the full, offloaded and incremental checksums share; for IPv4 from
 * the address words already loaded (sa, da), without mr_csum_partial()'s loops: 2^16 == 1
 * (mod 0xffff), so a 32-bit word counts as its two halves. The rest of the pseudo-header
 * (mr_udp_pseudo_sum()) is the same for both families: the zero and protocol bytes, one native
 * word 17 << 8, and the UDP length as stored. */
static __rte_always_inline uint64_t
mr_hdr_addr_sum(const struct mr_ep *dst, const struct mr_ep *src, uint32_t da, uint32_t sa)
{
	if (dst->family == MR_AF4)
		return (uint64_t)sa + da;
	return mr_csum_partial(dst->a, 16, mr_csum_partial(src->a, 16, 0));
}

#define MR_HDR_UDP_PROTO_WORD ((uint32_t)IPPROTO_UDP << 8)

/* mr_hdr_write() body (dp_priv.h), inlined into the session relay path. */
static __rte_always_inline void
mr_hdr_write_inl(struct rte_mbuf *m, uint8_t *h, const struct mr_dp_port *op,
		 const struct mr_ep *src, const struct mr_ep *dst, const uint8_t *dmac,
		 uint8_t tclass, const uint8_t *payload, uint16_t plen, const struct mr_udp_ck *ck)
{
	uint16_t l3len, udplen = plen + MR_HDR_UDP;
	uint16_t ncks, ports[2], ulen = rte_cpu_to_be_16(udplen);
	uint32_t nsum, sa = 0, da = 0;
	uint8_t *l3, *udp;

	l3len = dst->family == MR_AF4 ? MR_HDR_IP4 : MR_HDR_IP6;
	l3 = mr_eth_write(h, dmac, op, dst->family == MR_AF4 ? RTE_ETHER_TYPE_IPV4 :
			  RTE_ETHER_TYPE_IPV6);
	if (dst->family == MR_AF4) {
		/* The header is built in registers and its checksum summed from them: summing
		 * it back from memory just after byte-wide stores stalls on store forwarding
		 * (a quarter of mr_srtp_tx_finish's samples, docs/PERFORMANCE.md "Header writes
		 * and AES-GCM at the flush"). Native-endian words, as cksum.h sums them. */
		uint16_t tot = rte_cpu_to_be_16(udplen + MR_HDR_IP4);
		uint64_t w0, w1, sum;

		memcpy(&sa, src->a, 4);
		memcpy(&da, dst->a, 4);
		/* 0x45, tclass, total length; identification 0; DF, offset 0 */
		w0 = 0x45u | (uint64_t)tclass << 8 | (uint64_t)tot << 16 | (uint64_t)0x40 << 48;
		/* TTL, UDP, checksum (below), source */
		w1 = MR_TTL | (uint64_t)IPPROTO_UDP << 8 | (uint64_t)sa << 32;
		if (!op->tx_ip_cksum) {
			sum = (w0 & 0xffffffffu) + (w0 >> 32) + (w1 & 0xffffffffu) + (w1 >> 32) + da;
			w1 |= (uint64_t)(uint16_t)~mr_csum_fold(mr_csum_fold64(sum)) << 16;
		}
		memcpy(l3, &w0, 8);
		memcpy(l3 + 8, &w1, 8);
		memcpy(l3 + 16, &da, 4);
	} else {
		l3[0] = 0x60 | (tclass >> 4);
		l3[1] = (uint8_t)(tclass << 4);
		l3[2] = 0;
		l3[3] = 0;
		l3[4] = udplen >> 8;
		l3[5] = udplen;
		l3[6] = IPPROTO_UDP;
		l3[7] = MR_TTL;
		memcpy(l3 + 8, src->a, 16);
		memcpy(l3 + 24, dst->a, 16);
	}
	udp = l3 + l3len;
	ports[0] = rte_cpu_to_be_16(src->port);
	ports[1] = rte_cpu_to_be_16(dst->port);
	memcpy(udp, ports, 4);
	memcpy(udp + 4, &ulen, 2);

	if (op->tx_udp_cksum) {
		/* The NIC finishes the checksum from the pseudo-header sum (over every segment
		 * of a chained mbuf). */
		m->l2_len = l3 - h;
		m->l3_len = l3len;
		if (dst->family == MR_AF4)
			m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM |
				(op->tx_ip_cksum ? RTE_MBUF_F_TX_IP_CKSUM : 0);
		else
			m->ol_flags |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM;
		/* what rte_ipv4/6_phdr_cksum() would read back from the header just written */
		ncks = mr_csum_fold(mr_csum_fold64(mr_hdr_addr_sum(dst, src, da, sa) +
						   MR_HDR_UDP_PROTO_WORD + ulen));
		memcpy(udp + 6, &ncks, 2);
		return;
	}
	if (dst->family == MR_AF4 && op->tx_ip_cksum) {
		m->l2_len = l3 - h;
		m->l3_len = l3len;
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
	}
	if (ck == NULL || (ck->ocks == 0 && dst->family == MR_AF6)) {
		/* A datagram the relay built, or one whose IPv4 sender sent no checksum going
		 * out over IPv6, which requires it (RFC 8200 §8.1): compute it in full. The
		 * payload may sit in another segment: pseudo-header, the UDP header without
		 * its checksum field, then the payload (8 is even, RFC 1071 §2(C)). */
		/* pseudo-header, then the ports and length as values, not read back from memory
		 * (store forwarding) */
		uint32_t sum = mr_csum_fold64(mr_hdr_addr_sum(dst, src, da, sa) +
					      MR_HDR_UDP_PROTO_WORD + ulen + ports[0] + ports[1] +
					      ulen);

		sum = mr_csum_partial(payload, plen, sum);
		ncks = (uint16_t)~mr_csum_fold(sum);
		if (ncks == 0)
			ncks = 0xffff;
	} else if (ck->ocks == 0) {
		/* The sender sent no checksum (IPv4 only, RFC 768): IPv4 may go on without. */
		ncks = 0;
	} else {
		/* RFC 1624 incremental update: only addresses and ports changed; the UDP length and
		 * protocol words contribute the same to the IPv4 and IPv6 pseudo-headers. */
		nsum = mr_csum_fold64(mr_hdr_addr_sum(dst, src, da, sa) + ports[0] + ports[1]);
		ncks = mr_udp_cksum_replace(ck->ocks, ck->osum, nsum);
	}
	memcpy(udp + 6, &ncks, 2);
}

/* Write fresh Ethernet/[VLAN]/IP/UDP headers in front of the payload of m, reusing the mbuf
 * (the payload is neither moved nor copied). rx_recompute: mr_udp_ck_of(), or MR_CK_NEW for a
 * payload the relay changed (checksum computed in full). Returns 0, or -1
 * when there is no headroom. */
static __rte_always_inline int
mr_rewrite(struct mr_worker *w, struct rte_mbuf *m, const struct mr_pkt_info *pi,
	   const struct mr_dp_port *op, const struct mr_ep *src, const struct mr_ep *dst,
	   const uint8_t *dmac, const int rx_recompute)
{
	struct mr_udp_ck ck;
	uint16_t hlen;
	int delta;
	uint8_t *h;

	/* Everything needed from the old headers is read before they are overwritten. */
	if (rx_recompute != MR_CK_NEW)
		mr_udp_ck_of(rte_pktmbuf_mtod(m, const uint8_t *), pi, &ck, rx_recompute);
	hlen = mr_hdr_len(op, dst->family);
	delta = (int)hlen - (int)pi->payload_off;
	if (delta > 0) {
		if (unlikely(rte_pktmbuf_headroom(m) < delta))
			return -1;
		m->data_off -= delta;
	} else {
		m->data_off += -delta;
	}
	/* Single-segment mbuf (the parser only reads the first segment): drop trailing padding. */
	m->data_len = hlen + pi->payload_len;
	m->pkt_len = m->data_len;
	h = rte_pktmbuf_mtod(m, uint8_t *);
	mr_hdr_write_inl(m, h, op, src, dst, dmac, pi->tclass, h + hlen, pi->payload_len,
			 rx_recompute == MR_CK_NEW ? NULL : &ck);
	(void)w;
	return 0;
}

#endif
