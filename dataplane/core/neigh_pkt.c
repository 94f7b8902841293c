/* SPDX-License-Identifier: BSD-3-Clause
 * Neighbor table packets (include/neigh_pkt.h): written with the relay's own Ethernet
 * header writer and checksum code, read with the worker's parser.
 */
#include <errno.h>
#include <string.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "cksum.h"
#include "dp_priv.h"
#include "neigh_pkt.h"
#include "pkt_parse.h"

/* An ARP request from port p's MAC, sender address sip, target tip, broadcast (RFC 826).
 * Its length. */
static uint16_t
mr_arp_request(uint8_t *f, const struct mr_dp_port *p, const uint8_t *sip, const uint8_t *tip)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t *l3 = mr_eth_write(f, bcast, p, RTE_ETHER_TYPE_ARP);

	l3[1] = 1;		/* Ethernet */
	l3[2] = 0x08;		/* IPv4 */
	l3[4] = 6;
	l3[5] = 4;
	l3[7] = 1;		/* request */
	memcpy(l3 + 8, p->mac.addr_bytes, 6);
	memcpy(l3 + 14, sip, 4);
	memcpy(l3 + 24, tip, 4);
	return (uint16_t)(l3 - f + 28);
}

/* An ND message (RFC 4861 §4.3, §4.4) from port p's MAC: type, flags (the advertisement's
 * R/S/O byte), src to dst (mac: dst's multicast MAC), about target, with one link-layer
 * address option of kind opt (1 source, 2 target) carrying p's MAC. Its length. */
static uint16_t
mr_nd_write(uint8_t *f, const struct mr_dp_port *p, uint8_t type, uint8_t flags,
	    const uint8_t *src, const uint8_t *dst, const uint8_t *mac, const uint8_t *target,
	    uint8_t opt)
{
	uint8_t *l3 = mr_eth_write(f, mac, p, RTE_ETHER_TYPE_IPV6);
	uint8_t *icmp;
	uint16_t c;

	l3[0] = 0x60;
	l3[5] = 32;		/* NS/NA 24 + link-layer option 8 */
	l3[6] = 58;
	l3[7] = 255;		/* §7.1.1, §7.1.2: hop limit 255 */
	memcpy(l3 + 8, src, 16);
	memcpy(l3 + 24, dst, 16);
	icmp = l3 + 40;
	icmp[0] = type;
	icmp[4] = flags;
	memcpy(icmp + 8, target, 16);
	icmp[24] = opt;
	icmp[25] = 1;
	memcpy(icmp + 26, p->mac.addr_bytes, 6);
	c = mr_icmp6_cksum(l3, icmp, 32);
	memcpy(icmp + 2, &c, 2);
	return (uint16_t)(l3 - f + 40 + 32);
}

/* Pad to the Ethernet minimum and set m's lengths. */
static void
mr_neigh_pkt_finish(struct rte_mbuf *m, uint8_t *f, uint16_t len)
{
	if (len < 60) {
		memset(f + len, 0, 60 - len);
		len = 60;
	}
	m->data_len = len;
	m->pkt_len = len;
}

/* m's frame, zeroed, for a packet about ip from port p; NULL when p has no address of ip's
 * family. */
static uint8_t *
mr_neigh_pkt_start(struct rte_mbuf *m, const struct mr_dp_port *p, const struct mr_ep *ip)
{
	uint8_t *f;

	if (!((ip->family == MR_AF4 && p->has4) || (ip->family == MR_AF6 && p->has6)))
		return NULL;
	f = rte_pktmbuf_mtod(m, uint8_t *);
	memset(f, 0, 128);
	return f;
}

int
mr_neigh_pkt_solicit(struct rte_mbuf *m, const struct mr_dp_port *p, const struct mr_ep *target)
{
	uint8_t *f;
	uint16_t len;

	f = mr_neigh_pkt_start(m, p, target);
	if (f == NULL)
		return -EAFNOSUPPORT;
	if (target->family == MR_AF4) {
		len = mr_arp_request(f, p, p->addr4, target->a);
	} else {
		uint8_t dst[16] = { 0xff, 0x02, [11] = 1, [12] = 0xff };
		uint8_t mc[6] = { 0x33, 0x33 };

		memcpy(dst + 13, target->a + 13, 3);
		memcpy(mc + 2, dst + 12, 4);
		len = mr_nd_write(f, p, 135, 0, p->addr6, dst, mc, target->a, 1);
	}
	mr_neigh_pkt_finish(m, f, len);
	return 0;
}

int
mr_neigh_pkt_announce(struct rte_mbuf *m, const struct mr_dp_port *p, const struct mr_ep *addr)
{
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
	static const uint8_t all_mc[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	uint8_t *f;
	uint16_t len;

	f = mr_neigh_pkt_start(m, p, addr);
	if (f == NULL)
		return -EAFNOSUPPORT;
	if (addr->family == MR_AF4)
		/* RFC 5227 §3: sender and target the announced address (Linux takes it as
		 * gratuitous and updates an entry it has, whatever its locktime). */
		len = mr_arp_request(f, p, addr->a, addr->a);
	else
		/* Override set, Solicited not (RFC 4861 §7.2.6). */
		len = mr_nd_write(f, p, 136, 0x20, addr->a, all_nodes, all_mc, addr->a, 2);
	mr_neigh_pkt_finish(m, f, len);
	return 0;
}

int
mr_neigh_pkt_learn(const struct rte_mbuf *m, struct mr_ep *ip, uint8_t mac[6], int *reply)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	struct mr_pkt_info pi;
	enum mr_verdict v = mr_pkt_parse(f, m->data_len, &pi);

	memset(ip, 0, sizeof(*ip));
	if (v == MR_V_ARP) {
		const uint8_t *arp = f + pi.l2_len;

		ip->family = MR_AF4;
		memcpy(ip->a, arp + 14, 4);
		memcpy(mac, arp + 8, 6);
		*reply = arp[6] == 0 && arp[7] == 2 && memcmp(arp + 14, arp + 24, 4) != 0;
		return 0;
	}
	if (v == MR_V_ICMP6) {
		const uint8_t *icmp = f + pi.l4_off;
		unsigned int off = 24;

		if (icmp[0] != 136 || pi.l4_len < 24)
			return -EINVAL;
		/* RFC 4861 §4.4: the target link-layer address option carries the MAC. */
		ip->family = MR_AF6;
		memcpy(ip->a, icmp + 8, 16);
		*reply = (icmp[4] & 0x40) != 0;
		while (off + 8 <= pi.l4_len && icmp[off + 1] != 0) {
			if (icmp[off] == 2 && icmp[off + 1] == 1) {
				memcpy(mac, icmp + off + 2, 6);
				return 0;
			}
			off += icmp[off + 1] * 8;
		}
	}
	return -EINVAL;
}
