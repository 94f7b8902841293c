/* SPDX-License-Identifier: BSD-3-Clause
 * Ethernet/802.1Q/IPv4/IPv6/ARP/UDP parser and RFC 7983 payload classifier for the hot path.
 *
 * Pure C, no EAL: everything the worker needs per packet is static inline here; pkt_parse.c
 * only holds the class name table. The parser reads the frame byte by byte (no aligned loads),
 * so frames may start at any address, and it never reads at or past frame + len.
 */
#ifndef MR_PKT_PARSE_H
#define MR_PKT_PARSE_H

#include <stdint.h>
#include <string.h>

#include "mr_types.h"
#include "counters.h"

enum mr_verdict { MR_V_UDP, MR_V_ARP, MR_V_ICMP4, MR_V_ICMP6, MR_V_DROP };

/* Result of mr_pkt_parse(). Offsets are from the first byte of the frame, integers are in host
 * order. Fields the parser did not reach before its verdict are zero, except class, which is
 * MR_CLASS_OTHER unless a UDP payload was classified. */
struct mr_pkt_info {
	uint16_t l2_len;	/* 14, or 18 with one 802.1Q tag */
	uint16_t vlan;		/* VLAN ID (12 bits) of the tag; 0 if untagged */
	uint8_t has_vlan;
	uint8_t family;		/* MR_AF4 / MR_AF6 (IP verdicts only) */
	uint8_t l4_proto;	/* 17, 1 or 58 */
	uint8_t tclass;		/* IPv4 TOS byte / IPv6 traffic class (DSCP+ECN) */
	uint16_t l3_len;	/* IPv4 IHL*4 including options; 40 for IPv6; 28 for ARP */
	uint16_t l4_off;	/* l2_len + l3_len */
	uint16_t l4_len;	/* UDP: the UDP length field; ICMP: bytes of the ICMP message */
	uint16_t sport, dport;	/* UDP ports, host order */
	uint16_t payload_off;	/* UDP payload offset from the frame start (l4_off + 8) */
	uint16_t payload_len;	/* UDP payload length (UDP length - 8) */
	uint8_t class;		/* enum mr_class of the payload (UDP only) */
	uint8_t drop;		/* enum mr_drop when the verdict is MR_V_DROP */
	uint8_t decrypted;	/* set by the relay: the payload was decrypted in place (SRTP),
				 * so its UDP checksum is computed afresh, never updated */
	uint8_t ck_have;	/* set by the relay: ck_fresh holds the datagram's checksum
				 * computed from its bytes (mr_udp_ck_verify) */
	uint16_t ck_fresh;
};

#define MR_ETH_HLEN		14
#define MR_VLAN_HLEN		4
#define MR_ETHERTYPE_IPV4	0x0800
#define MR_ETHERTYPE_ARP	0x0806
#define MR_ETHERTYPE_VLAN	0x8100	/* IEEE 802.1Q C-tag */
#define MR_ETHERTYPE_QINQ	0x88A8	/* IEEE 802.1ad S-tag */
#define MR_ETHERTYPE_QINQ_OLD	0x9100	/* pre-standard double tagging */
#define MR_ETHERTYPE_IPV6	0x86DD
#define MR_IPPROTO_ICMP		1
#define MR_IPPROTO_UDP		17
#define MR_IPPROTO_ICMPV6	58
#define MR_ARP_LEN		28	/* RFC 826 packet for Ethernet/IPv4 */
#define MR_IP4_MIN_HLEN		20
#define MR_IP6_HLEN		40
#define MR_UDP_HLEN		8
#define MR_ICMP_MIN_LEN		8	/* type, code, checksum, 4 bytes of rest of header */
#define MR_RTP_MIN_LEN		12	/* RFC 3550 §5.1 fixed header */
#define MR_RTCP_MIN_LEN		8	/* RFC 3550 §6.4.1: header + sender SSRC */

/* Big-endian loads from bytes: safe at any alignment (the compiler merges them). */
static inline uint16_t
mr_pkt_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t
mr_pkt_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* RFC 7983 §7 first-byte demultiplexing, extended by RFC 5761 §4 for RTP/RTCP on one port:
 *   0..3 STUN (RFC 5389), 16..19 ZRTP (RFC 6189), 20..63 DTLS (RFC 6347),
 *   64..79 TURN ChannelData (RFC 5766), 128..191 RTP/RTCP (version 2, RFC 3550 §5.1).
 * Among 128..191, a second byte of 200..207 is an RTCP packet type SR..XR (RFC 5761 §4: those
 * values would be RTP payload types 72..79 with the marker bit, which must not be used), so it
 * is RTCP; anything else is RTP. A 1-byte payload in 128..191 is RTP (and too short for it). */
static inline enum mr_class
mr_pkt_classify(const uint8_t *payload, uint16_t len)
{
	uint8_t b;

	if (len == 0)
		return MR_CLASS_OTHER;
	b = payload[0];
	if (b <= 3)
		return MR_CLASS_STUN;
	if (b >= 16 && b <= 19)
		return MR_CLASS_ZRTP;
	if (b >= 20 && b <= 63)
		return MR_CLASS_DTLS;
	if (b >= 64 && b <= 79)
		return MR_CLASS_TURN;
	if (b >= 128 && b <= 191) {
		if (len >= 2 && payload[1] >= 200 && payload[1] <= 207)
			return MR_CLASS_RTCP;
		return MR_CLASS_RTP;
	}
	return MR_CLASS_OTHER;
}

static inline enum mr_verdict
mr_pkt_drop(struct mr_pkt_info *pi, enum mr_drop why)
{
	pi->drop = (uint8_t)why;
	return MR_V_DROP;
}

/* UDP header at frame + off with ip_avail bytes of IP payload (RFC 768). */
static inline enum mr_verdict
mr_pkt_parse_udp(const uint8_t *frame, uint32_t off, uint32_t ip_avail, struct mr_pkt_info *pi)
{
	const uint8_t *udp = frame + off;
	uint16_t ulen;
	enum mr_class c;

	/* RFC 768: the length counts header and data, so it is at least 8; it cannot claim more
	 * than the IP layer carries (a longer field is a truncated or forged datagram). Bytes
	 * after the UDP length inside the IP payload are ignored. */
	if (ip_avail < MR_UDP_HLEN)
		return mr_pkt_drop(pi, MR_DROP_UDP_MALFORMED);
	ulen = mr_pkt_be16(udp + 4);
	if (ulen < MR_UDP_HLEN || ulen > ip_avail)
		return mr_pkt_drop(pi, MR_DROP_UDP_MALFORMED);
	pi->sport = mr_pkt_be16(udp);
	pi->dport = mr_pkt_be16(udp + 2);
	pi->l4_len = ulen;
	pi->payload_off = (uint16_t)(off + MR_UDP_HLEN);
	pi->payload_len = (uint16_t)(ulen - MR_UDP_HLEN);

	c = mr_pkt_classify(udp + MR_UDP_HLEN, pi->payload_len);
	pi->class = (uint8_t)c;
	/* Every local UDP port is an RTP/RTCP endpoint: an empty datagram is nothing it
	 * carries (issue 14; RFC 6263's 0-byte keepalives are not relayed). */
	if (pi->payload_len == 0)
		return mr_pkt_drop(pi, MR_DROP_RTP_MALFORMED);
	/* RFC 3550 §5.1 / §6.4.1: nothing shorter than the fixed header can be relayed or
	 * accounted (the flow code reads the SSRC without further checks). */
	if (c == MR_CLASS_RTP && pi->payload_len < MR_RTP_MIN_LEN)
		return mr_pkt_drop(pi, MR_DROP_RTP_MALFORMED);
	if (c == MR_CLASS_RTCP && pi->payload_len < MR_RTCP_MIN_LEN)
		return mr_pkt_drop(pi, MR_DROP_RTP_MALFORMED);
	return MR_V_UDP;
}

/* IPv4 header at frame + l2 with avail bytes after L2 (RFC 791 §3.1). */
static inline enum mr_verdict
mr_pkt_parse_ip4(const uint8_t *frame, uint32_t l2, uint32_t avail, struct mr_pkt_info *pi)
{
	const uint8_t *ip = frame + l2;
	uint32_t hlen, tot;
	uint16_t frag;

	pi->family = MR_AF4;
	/* RFC 791 §3.1: version 4, IHL in 32-bit words and at least 5, total length counts
	 * header and data. Ethernet pads frames to 60 bytes, so the total length, not the frame
	 * length, tells where the datagram ends; a frame shorter than it was truncated. */
	if (avail < MR_IP4_MIN_HLEN || (ip[0] >> 4) != 4)
		return mr_pkt_drop(pi, MR_DROP_IP4_MALFORMED);
	hlen = (uint32_t)(ip[0] & 0x0f) * 4;
	tot = mr_pkt_be16(ip + 2);
	if (hlen < MR_IP4_MIN_HLEN || tot < hlen || tot > avail)
		return mr_pkt_drop(pi, MR_DROP_IP4_MALFORMED);
	pi->tclass = ip[1];
	pi->l3_len = (uint16_t)hlen;	/* options (RFC 791 §3.1) skipped, not interpreted */
	pi->l4_off = (uint16_t)(l2 + hlen);
	pi->l4_proto = ip[9];

	/* RFC 791 §3.2: a datagram with MF set or a nonzero fragment offset is a fragment; the
	 * relay does not reassemble (RTP packets fit in one MTU). */
	frag = mr_pkt_be16(ip + 6);
	if (frag & 0x3fff)
		return mr_pkt_drop(pi, MR_DROP_IP4_FRAG);

	switch (ip[9]) {
	case MR_IPPROTO_UDP:
		return mr_pkt_parse_udp(frame, l2 + hlen, tot - hlen, pi);
	case MR_IPPROTO_ICMP:
		/* RFC 792: every ICMP message has at least an 8-byte header. */
		if (tot - hlen < MR_ICMP_MIN_LEN)
			return mr_pkt_drop(pi, MR_DROP_IP4_MALFORMED);
		pi->l4_len = (uint16_t)(tot - hlen);
		return MR_V_ICMP4;
	default:
		return mr_pkt_drop(pi, MR_DROP_L4_PROTO);
	}
}

/* IPv6 header at frame + l2 with avail bytes after L2 (RFC 8200 §3). */
static inline enum mr_verdict
mr_pkt_parse_ip6(const uint8_t *frame, uint32_t l2, uint32_t avail, struct mr_pkt_info *pi)
{
	const uint8_t *ip = frame + l2;
	uint32_t plen;

	pi->family = MR_AF6;
	/* RFC 8200 §3: version 6, payload length counts what follows the 40-byte header
	 * (extension headers included); frames may carry Ethernet padding after it. */
	if (avail < MR_IP6_HLEN || (ip[0] >> 4) != 6)
		return mr_pkt_drop(pi, MR_DROP_IP6_MALFORMED);
	plen = mr_pkt_be16(ip + 4);
	if (MR_IP6_HLEN + plen > avail)
		return mr_pkt_drop(pi, MR_DROP_IP6_MALFORMED);
	pi->tclass = (uint8_t)((ip[0] & 0x0f) << 4 | ip[1] >> 4);
	pi->l3_len = MR_IP6_HLEN;
	pi->l4_off = (uint16_t)(l2 + MR_IP6_HLEN);
	pi->l4_proto = ip[6];

	switch (ip[6]) {
	case MR_IPPROTO_UDP:
		return mr_pkt_parse_udp(frame, l2 + MR_IP6_HLEN, plen, pi);
	case MR_IPPROTO_ICMPV6:
		/* RFC 4443 §2.1: type, code, checksum, then at least 4 bytes of body. */
		if (plen < MR_ICMP_MIN_LEN)
			return mr_pkt_drop(pi, MR_DROP_IP6_MALFORMED);
		pi->l4_len = (uint16_t)plen;
		return MR_V_ICMP6;
	/* RFC 8200 §4 extension headers (hop-by-hop, routing, fragment, destination options)
	 * plus ESP/AH (RFC 4303/4302), mobility (RFC 6275), HIP (RFC 7401), shim6 (RFC 5533)
	 * and the experimental values (RFC 3692); the fast path does not walk the chain. */
	case 0: case 43: case 44: case 50: case 51: case 60:
	case 135: case 139: case 140: case 253: case 254:
		return mr_pkt_drop(pi, MR_DROP_IP6_EXT);
	default:
		/* Includes 59, "no next header" (RFC 8200 §4.7). */
		return mr_pkt_drop(pi, MR_DROP_L4_PROTO);
	}
}

/* ARP at frame + l2 with avail bytes after L2 (RFC 826). */
static inline enum mr_verdict
mr_pkt_parse_arp(const uint8_t *frame, uint32_t l2, uint32_t avail, struct mr_pkt_info *pi)
{
	const uint8_t *arp = frame + l2;

	/* RFC 826: only Ethernet (hardware type 1, 6-byte addresses) resolving IPv4 (protocol
	 * type 0x0800, 4-byte addresses) is answered; that packet is exactly 28 bytes. */
	if (avail < MR_ARP_LEN || mr_pkt_be16(arp) != 1 ||
	    mr_pkt_be16(arp + 2) != MR_ETHERTYPE_IPV4 || arp[4] != 6 || arp[5] != 4)
		return mr_pkt_drop(pi, MR_DROP_ARP_MALFORMED);
	pi->l3_len = MR_ARP_LEN;
	pi->l4_off = (uint16_t)(l2 + MR_ARP_LEN);
	return MR_V_ARP;
}

/* Parse an Ethernet frame of len bytes (trailing padding allowed). Returns the verdict; on
 * MR_V_DROP pi->drop holds the enum mr_drop reason. Never reads frame[len] or beyond. */
static inline enum mr_verdict
mr_pkt_parse(const uint8_t *frame, uint32_t len, struct mr_pkt_info *pi)
{
	uint32_t l2 = MR_ETH_HLEN;
	uint16_t et;

	memset(pi, 0, sizeof(*pi));
	pi->class = MR_CLASS_OTHER;
	if (len < MR_ETH_HLEN)
		return mr_pkt_drop(pi, MR_DROP_RUNT);
	et = mr_pkt_be16(frame + 12);
	/* IEEE 802.1Q: one C-tag is accepted (the port's VLAN is checked by the caller).
	 * Stacked tags (802.1ad S-tag 0x88A8, the old 0x9100, or a second C-tag) are not
	 * terminated here. */
	if (et == MR_ETHERTYPE_VLAN) {
		if (len < MR_ETH_HLEN + MR_VLAN_HLEN)
			return mr_pkt_drop(pi, MR_DROP_RUNT);
		pi->has_vlan = 1;
		pi->vlan = mr_pkt_be16(frame + 14) & 0x0fff;
		et = mr_pkt_be16(frame + 16);
		l2 += MR_VLAN_HLEN;
		pi->l2_len = (uint16_t)l2;
		if (et == MR_ETHERTYPE_VLAN || et == MR_ETHERTYPE_QINQ)
			return mr_pkt_drop(pi, MR_DROP_VLAN);
	} else if (et == MR_ETHERTYPE_QINQ || et == MR_ETHERTYPE_QINQ_OLD) {
		return mr_pkt_drop(pi, MR_DROP_VLAN);
	}
	pi->l2_len = (uint16_t)l2;

	switch (et) {
	case MR_ETHERTYPE_IPV4:
		return mr_pkt_parse_ip4(frame, l2, len - l2, pi);
	case MR_ETHERTYPE_IPV6:
		return mr_pkt_parse_ip6(frame, l2, len - l2, pi);
	case MR_ETHERTYPE_ARP:
		return mr_pkt_parse_arp(frame, l2, len - l2, pi);
	default:
		return mr_pkt_drop(pi, MR_DROP_ETHERTYPE);
	}
}

#endif
