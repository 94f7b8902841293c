/* SPDX-License-Identifier: BSD-3-Clause
 * ARP, ICMP echo and IPv6 neighbor discovery answered on the worker lcore, in place: the
 * request's mbuf becomes the reply. Replies from neighbors go to the control plane, which owns
 * the neighbor table.
 */
#include <string.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "cksum.h"
#include "dp_priv.h"
#include "pkt_parse.h"

#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2
#define ICMP4_ECHO_REPLY 0
#define ICMP4_ECHO_REQUEST 8
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129
#define ND_NS 135
#define ND_NA 136
#define ND_OPT_SLLA 1
#define ND_OPT_TLLA 2

static inline void
mr_swap_eth(uint8_t *f, const struct mr_dp_port *p)
{
	memcpy(f, f + 6, 6);
	memcpy(f + 6, p->mac.addr_bytes, 6);
}

/* RFC 826: answer requests for our IPv4 address; replies and gratuitous ARP feed the control
 * plane's neighbor table. */
void
mr_slow_arp(struct mr_worker *w, struct mr_dp_port *p, struct rte_mbuf *m,
	    const struct mr_pkt_info *pi)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	uint8_t *a = f + pi->l2_len;
	uint16_t op = (uint16_t)(a[6] << 8 | a[7]);
	uint8_t *sha = a + 8, *spa = a + 14, *tha = a + 18, *tpa = a + 24;

	if (!p->has4) {
		mr_drop(w, m, MR_DROP_ARP_IGNORED);
		return;
	}
	/* Requests for any of the port's media addresses (ports.address_count). */
	if (op == ARP_OP_REQUEST && mr_local_idx(p, MR_AF4, tpa) >= 0) {
		uint8_t ip[4], me[4];

		memcpy(ip, spa, 4);
		memcpy(me, tpa, 4);
		memcpy(tha, sha, 6);
		memcpy(tpa, ip, 4);
		memcpy(sha, p->mac.addr_bytes, 6);
		memcpy(spa, me, 4);
		a[7] = ARP_OP_REPLY;
		memcpy(f, tha, 6);
		memcpy(f + 6, p->mac.addr_bytes, 6);
		w->stats.arp_replies++;
		mr_worker_tx(w, p - w->dp->port, m);
		return;
	}
	if ((op == ARP_OP_REPLY && memcmp(tpa, p->addr4, 4) == 0) ||
	    (memcmp(spa, tpa, 4) == 0 && memcmp(spa, p->addr4, 4) != 0)) {
		mr_to_control(w, m);
		return;
	}
	mr_drop(w, m, MR_DROP_ARP_IGNORED);
}

/* RFC 792: echo request to our IPv4 address → echo reply. */
void
mr_slow_icmp4(struct mr_worker *w, struct mr_dp_port *p, struct rte_mbuf *m,
	      const struct mr_pkt_info *pi)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	uint8_t *ip = f + pi->l2_len, *icmp = f + pi->l4_off;
	uint16_t c;
	uint32_t osum, nsum;
	uint8_t tmp[4];

	if (icmp[0] != ICMP4_ECHO_REQUEST || icmp[1] != 0 ||
	    mr_local_idx(p, MR_AF4, ip + 16) < 0) {
		mr_drop(w, m, MR_DROP_ICMP_IGNORED);
		return;
	}
	/* Incremental checksum for the type change (RFC 1624). */
	osum = mr_csum_partial(icmp, 2, 0);
	icmp[0] = ICMP4_ECHO_REPLY;
	nsum = mr_csum_partial(icmp, 2, 0);
	memcpy(&c, icmp + 2, 2);
	c = mr_csum_replace(c, osum, nsum);
	memcpy(icmp + 2, &c, 2);

	/* Answer from the address that was pinged (any media address of the port). */
	memcpy(tmp, ip + 12, 4);
	memcpy(ip + 12, ip + 16, 4);
	memcpy(ip + 16, tmp, 4);
	ip[8] = 64;
	ip[10] = 0;
	ip[11] = 0;
	c = mr_ipv4_hdr_cksum(ip, pi->l3_len);
	memcpy(ip + 10, &c, 2);
	mr_swap_eth(f, p);
	m->ol_flags = 0;
	w->stats.echo_replies++;
	mr_worker_tx(w, p - w->dp->port, m);
}

/* Solicited-node multicast address of a (RFC 4291 §2.7.1): ff02::1:ffXX:XXXX. */
static inline int
mr_is_solicited_node(const uint8_t *dst, const uint8_t *a)
{
	static const uint8_t pfx[13] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff };

	return memcmp(dst, pfx, 13) == 0 && memcmp(dst + 13, a + 13, 3) == 0;
}

static inline int
mr_is_ours6(const struct mr_dp_port *p, const uint8_t *a)
{
	return (p->has6 && memcmp(a, p->addr6, 16) == 0) || memcmp(a, p->ll6, 16) == 0;
}

/* ICMPv6 echo (RFC 4443 §4) and neighbor solicitation (RFC 4861 §7.2.4) answered in place;
 * neighbor advertisements to the control plane. */
void
mr_slow_icmp6(struct mr_worker *w, struct mr_dp_port *p, struct rte_mbuf *m,
	      const struct mr_pkt_info *pi)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	uint8_t *ip = f + pi->l2_len, *icmp = f + pi->l4_off;
	uint8_t *src = ip + 8, *dst = ip + 24;
	uint16_t len = pi->l4_len, c;
	uint8_t tmp[16];

	switch (icmp[0]) {
	case ICMP6_ECHO_REQUEST:
		if (!mr_is_ours6(p, dst))
			break;
		memcpy(tmp, src, 16);
		memcpy(src, dst, 16);
		memcpy(dst, tmp, 16);
		ip[7] = 64;
		icmp[0] = ICMP6_ECHO_REPLY;
		c = mr_icmp6_cksum(ip, icmp, len);
		memcpy(icmp + 2, &c, 2);
		mr_swap_eth(f, p);
		m->ol_flags = 0;
		w->stats.echo_replies++;
		mr_worker_tx(w, p - w->dp->port, m);
		return;
	case ND_NS: {
		const uint8_t *target = icmp + 8;
		static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
		static const uint8_t unspec[16];
		int dad;

		/* RFC 4861 §7.1.1: hop limit 255, code 0, at least 24 bytes. */
		if (ip[7] != 255 || icmp[1] != 0 || len < 24 || !mr_is_ours6(p, target) ||
		    !(memcmp(dst, target, 16) == 0 || mr_is_solicited_node(dst, target)))
			break;
		/* The NA with its option is 32 bytes; a bare 24-byte NS needs 8 more. */
		if (len < 32 && rte_pktmbuf_tailroom(m) < 32 - len) {
			mr_drop(w, m, MR_DROP_NO_TAILROOM);
			return;
		}
		dad = memcmp(src, unspec, 16) == 0;
		/* Reply: NA with Solicited (unless DAD) and Override, target link-layer option. */
		memcpy(dst, dad ? all_nodes : src, 16);
		memcpy(src, target, 16);
		ip[7] = 255;
		len = 32;
		ip[4] = 0;
		ip[5] = len;
		icmp[0] = ND_NA;
		icmp[1] = 0;
		icmp[4] = dad ? 0x20 : 0x60;
		icmp[5] = 0;
		icmp[6] = 0;
		icmp[7] = 0;
		/* target stays at icmp + 8 */
		icmp[24] = ND_OPT_TLLA;
		icmp[25] = 1;
		memcpy(icmp + 26, p->mac.addr_bytes, 6);
		c = mr_icmp6_cksum(ip, icmp, len);
		memcpy(icmp + 2, &c, 2);
		if (dad) {
			static const uint8_t mc[6] = { 0x33, 0x33, 0, 0, 0, 1 };

			memcpy(f, mc, 6);
			memcpy(f + 6, p->mac.addr_bytes, 6);
		} else {
			mr_swap_eth(f, p);
		}
		m->data_len = pi->l4_off + len;
		m->pkt_len = m->data_len;
		m->ol_flags = 0;
		w->stats.nd_replies++;
		mr_worker_tx(w, p - w->dp->port, m);
		return;
	}
	case ND_NA:
		if (ip[7] == 255 && len >= 24) {
			mr_to_control(w, m);
			return;
		}
		break;
	default:
		break;
	}
	mr_drop(w, m, MR_DROP_ICMP_IGNORED);
}
