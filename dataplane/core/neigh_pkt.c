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

int
mr_neigh_pkt_solicit(struct rte_mbuf *m, const struct mr_dp_port *p, const struct mr_ep *target)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t *f, *l3;
	uint16_t len;

	if ((target->family == MR_AF4 && !p->has4) || (target->family == MR_AF6 && !p->has6) ||
	    (target->family != MR_AF4 && target->family != MR_AF6))
		return -EAFNOSUPPORT;
	f = rte_pktmbuf_mtod(m, uint8_t *);
	memset(f, 0, 128);
	if (target->family == MR_AF4) {
		l3 = mr_eth_write(f, bcast, p, RTE_ETHER_TYPE_ARP);
		l3[1] = 1;		/* Ethernet */
		l3[2] = 0x08;		/* IPv4 */
		l3[4] = 6;
		l3[5] = 4;
		l3[7] = 1;		/* request */
		memcpy(l3 + 8, p->mac.addr_bytes, 6);
		memcpy(l3 + 14, p->addr4, 4);
		memcpy(l3 + 24, target->a, 4);
		len = l3 - f + 28;
	} else {
		uint8_t dst[16] = { 0xff, 0x02, [11] = 1, [12] = 0xff };
		uint8_t mc[6] = { 0x33, 0x33 };
		uint8_t *icmp;
		uint16_t c;

		memcpy(dst + 13, target->a + 13, 3);
		memcpy(mc + 2, dst + 12, 4);
		l3 = mr_eth_write(f, mc, p, RTE_ETHER_TYPE_IPV6);
		l3[0] = 0x60;
		l3[5] = 32;		/* NS 24 + source link-layer option 8 */
		l3[6] = 58;
		l3[7] = 255;
		memcpy(l3 + 8, p->addr6, 16);
		memcpy(l3 + 24, dst, 16);
		icmp = l3 + 40;
		icmp[0] = 135;
		memcpy(icmp + 8, target->a, 16);
		icmp[24] = 1;
		icmp[25] = 1;
		memcpy(icmp + 26, p->mac.addr_bytes, 6);
		c = mr_icmp6_cksum(l3, icmp, 32);
		memcpy(icmp + 2, &c, 2);
		len = l3 - f + 40 + 32;
	}
	if (len < 60) {
		memset(f + len, 0, 60 - len);
		len = 60;
	}
	m->data_len = len;
	m->pkt_len = len;
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
