/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for dataplane/core/pkt_parse.h: every verdict, every drop reason, boundaries of each
 * length rule, and truncated/random frames placed against an unmapped page so that any read
 * past len faults.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "pkt_parse.h"

#define FRAME_MAX 2048

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ethernet header with an optional 802.1Q tag (tci < 0: none); returns its length. */
static uint32_t
mk_eth(uint8_t *f, uint16_t ethertype, int tci)
{
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 1 }, src[6] = { 0x02, 0, 0, 0, 0, 2 };

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	if (tci >= 0) {
		put16(f + 12, 0x8100);
		put16(f + 14, (uint16_t)tci);
		put16(f + 16, ethertype);
		return 18;
	}
	put16(f + 12, ethertype);
	return 14;
}

/* IPv4 header of ihl words (options filled with NOPs), total length hlen + l4_len. */
static uint32_t
mk_ip4(uint8_t *p, uint8_t proto, uint32_t l4_len, unsigned int ihl)
{
	uint32_t hlen = ihl * 4;

	memset(p, 0, hlen);
	p[0] = (uint8_t)(0x40 | ihl);
	p[1] = 0xb8;			/* DSCP EF, ECN 0 */
	put16(p + 2, (uint16_t)(hlen + l4_len));
	put16(p + 4, 0x1234);
	put16(p + 6, 0x4000);		/* DF: not a fragment */
	p[8] = 64;
	p[9] = proto;
	p[12] = 198; p[13] = 18; p[14] = 0; p[15] = 1;
	p[16] = 198; p[17] = 18; p[18] = 0; p[19] = 2;
	memset(p + 20, 1, hlen - 20);	/* NOP options */
	return hlen;
}

static uint32_t
mk_ip6(uint8_t *p, uint8_t nh, uint32_t plen)
{
	memset(p, 0, 40);
	p[0] = 0x6b;			/* version 6, traffic class 0xb8 */
	p[1] = 0x81;			/* ... flow label 0x12345 */
	p[2] = 0x23;
	p[3] = 0x45;
	put16(p + 4, (uint16_t)plen);
	p[6] = nh;
	p[7] = 64;
	p[8] = 0x20; p[9] = 0x01; p[10] = 0x02; p[23] = 1;	/* 2001:2::1 (RFC 5180) */
	p[24] = 0x20; p[25] = 0x01; p[26] = 0x02; p[39] = 2;
	return 40;
}

static uint32_t
mk_udp(uint8_t *p, uint16_t sport, uint16_t dport, const uint8_t *pl, uint32_t plen)
{
	put16(p, sport);
	put16(p + 2, dport);
	put16(p + 4, (uint16_t)(plen + 8));
	put16(p + 6, 0);
	if (plen)
		memcpy(p + 8, pl, plen);
	return 8 + plen;
}

/* Frame: Ethernet (+tag) / IPv4 or IPv6 / UDP / payload. */
static uint32_t
mk_udp_frame(uint8_t *f, int family, int tci, const uint8_t *pl, uint32_t plen)
{
	uint32_t l2, l3;

	l2 = mk_eth(f, family == MR_AF4 ? 0x0800 : 0x86dd, tci);
	if (family == MR_AF4)
		l3 = mk_ip4(f + l2, 17, 8 + plen, 5);
	else
		l3 = mk_ip6(f + l2, 17, 8 + plen);
	return l2 + l3 + mk_udp(f + l2 + l3, 40000, 20000, pl, plen);
}

static const uint8_t rtp_pl[20] = { 0x80, 0x00, 0x12, 0x34, 0, 0, 0, 160, 0xde, 0xad, 0xbe, 0xef };
static const uint8_t rtcp_pl[8] = { 0x80, 200, 0x00, 0x06, 0xde, 0xad, 0xbe, 0xef };

static enum mr_verdict
parse(const uint8_t *f, uint32_t len, struct mr_pkt_info *pi)
{
	return mr_pkt_parse(f, len, pi);
}

static void
expect_drop(const uint8_t *f, uint32_t len, enum mr_drop why)
{
	struct mr_pkt_info pi;

	assert_int_equal(parse(f, len, &pi), MR_V_DROP);
	assert_int_equal(pi.drop, why);
}

static void
test_classify(void **state)
{
	uint8_t p[2];
	unsigned int b, c;

	(void)state;
	assert_int_equal(mr_pkt_classify(p, 0), MR_CLASS_OTHER);
	for (b = 0; b < 256; b++) {
		enum mr_class want;

		p[0] = (uint8_t)b;
		p[1] = 0;
		if (b <= 3)
			want = MR_CLASS_STUN;
		else if (b >= 16 && b <= 19)
			want = MR_CLASS_ZRTP;
		else if (b >= 20 && b <= 63)
			want = MR_CLASS_DTLS;
		else if (b >= 64 && b <= 79)
			want = MR_CLASS_TURN;
		else if (b >= 128 && b <= 191)
			want = MR_CLASS_RTP;
		else
			want = MR_CLASS_OTHER;
		assert_int_equal(mr_pkt_classify(p, 2), want);
		assert_int_equal(mr_pkt_classify(p, 1), want);
	}
	/* RFC 5761 §4: second byte 200..207 is RTCP, its neighbours are RTP (PT 71, 80 + M). */
	for (b = 128; b <= 191; b++) {
		for (c = 0; c < 256; c++) {
			p[0] = (uint8_t)b;
			p[1] = (uint8_t)c;
			assert_int_equal(mr_pkt_classify(p, 2),
					 c >= 200 && c <= 207 ? MR_CLASS_RTCP : MR_CLASS_RTP);
		}
		/* With one byte, the second byte is not there: RTP, never a read. */
		assert_int_equal(mr_pkt_classify(p, 1), MR_CLASS_RTP);
	}
	assert_string_equal(mr_class_name[MR_CLASS_RTP], "rtp");
	assert_string_equal(mr_class_name[MR_CLASS_RTCP], "rtcp");
	assert_string_equal(mr_class_name[MR_CLASS_STUN], "stun");
	assert_string_equal(mr_class_name[MR_CLASS_ZRTP], "zrtp");
	assert_string_equal(mr_class_name[MR_CLASS_DTLS], "dtls");
	assert_string_equal(mr_class_name[MR_CLASS_TURN], "turn_channel");
	assert_string_equal(mr_class_name[MR_CLASS_OTHER], "other");
}

static void
test_udp4_rtp(void **state)
{
	uint8_t f[FRAME_MAX];
	struct mr_pkt_info pi;
	uint32_t len;

	(void)state;
	len = mk_udp_frame(f, MR_AF4, -1, rtp_pl, sizeof(rtp_pl));
	assert_int_equal(len, 14 + 20 + 8 + 20);
	assert_int_equal(parse(f, len, &pi), MR_V_UDP);
	assert_int_equal(pi.l2_len, 14);
	assert_int_equal(pi.vlan, 0);
	assert_int_equal(pi.has_vlan, 0);
	assert_int_equal(pi.family, MR_AF4);
	assert_int_equal(pi.l4_proto, 17);
	assert_int_equal(pi.tclass, 0xb8);
	assert_int_equal(pi.l3_len, 20);
	assert_int_equal(pi.l4_off, 34);
	assert_int_equal(pi.l4_len, 28);
	assert_int_equal(pi.sport, 40000);
	assert_int_equal(pi.dport, 20000);
	assert_int_equal(pi.payload_off, 42);
	assert_int_equal(pi.payload_len, 20);
	assert_int_equal(pi.class, MR_CLASS_RTP);
	assert_int_equal(pi.drop, 0);

	/* The same with 4 bytes of Ethernet trailer: still what the IP/UDP lengths say. */
	memset(f + len, 0xee, 4);
	assert_int_equal(parse(f, len + 4, &pi), MR_V_UDP);
	assert_int_equal(pi.payload_len, 20);
	assert_int_equal(pi.l4_len, 28);
}

static void
test_udp4_vlan_options_padding(void **state)
{
	uint8_t f[FRAME_MAX];
	struct mr_pkt_info pi;
	uint32_t l2, l3, len;

	(void)state;
	/* PCP 5, DEI 1, VID 0xabc: only the 12 VID bits are reported. */
	len = mk_udp_frame(f, MR_AF4, 0xbabc, rtcp_pl, sizeof(rtcp_pl));
	assert_int_equal(parse(f, len, &pi), MR_V_UDP);
	assert_int_equal(pi.has_vlan, 1);
	assert_int_equal(pi.vlan, 0xabc);
	assert_int_equal(pi.l2_len, 18);
	assert_int_equal(pi.l4_off, 38);
	assert_int_equal(pi.payload_off, 46);
	assert_int_equal(pi.payload_len, 8);
	assert_int_equal(pi.class, MR_CLASS_RTCP);

	/* IHL 15: 40 bytes of options are skipped. */
	l2 = mk_eth(f, 0x0800, -1);
	l3 = mk_ip4(f + l2, 17, 8 + 12, 15);
	len = l2 + l3 + mk_udp(f + l2 + l3, 5004, 5006, rtp_pl, 12);
	assert_int_equal(parse(f, len, &pi), MR_V_UDP);
	assert_int_equal(pi.l3_len, 60);
	assert_int_equal(pi.l4_off, 74);
	assert_int_equal(pi.payload_off, 82);
	assert_int_equal(pi.payload_len, 12);
	assert_int_equal(pi.sport, 5004);
	assert_int_equal(pi.dport, 5006);

	/* Minimum frame: 60 bytes of which IPv4 says 29 (1 byte of STUN-range payload). */
	memset(f, 0, sizeof(f));
	l2 = mk_eth(f, 0x0800, -1);
	l3 = mk_ip4(f + l2, 17, 9, 5);
	mk_udp(f + l2 + l3, 1, 2, (const uint8_t *)"\x01", 1);
	assert_int_equal(parse(f, 60, &pi), MR_V_UDP);
	assert_int_equal(pi.l4_len, 9);
	assert_int_equal(pi.payload_len, 1);
	assert_int_equal(pi.class, MR_CLASS_STUN);

	/* UDP length shorter than the IP payload: the UDP length wins (RFC 768). */
	len = mk_udp_frame(f, MR_AF4, -1, rtp_pl, sizeof(rtp_pl));
	put16(f + 38, 8 + 12);
	assert_int_equal(parse(f, len, &pi), MR_V_UDP);
	assert_int_equal(pi.l4_len, 20);
	assert_int_equal(pi.payload_len, 12);

	/* Empty payload: every local port is an RTP endpoint, so it is a malformed RTP packet
	 * (charged to the flow it was for). */
	len = mk_udp_frame(f, MR_AF4, -1, NULL, 0);
	assert_int_equal(parse(f, len, &pi), MR_V_DROP);
	assert_int_equal(pi.drop, MR_DROP_RTP_MALFORMED);
	assert_int_equal(pi.payload_len, 0);
	assert_int_equal(pi.payload_off, 42);
	assert_int_equal(pi.class, MR_CLASS_OTHER);
}

static void
test_udp6(void **state)
{
	uint8_t f[FRAME_MAX];
	struct mr_pkt_info pi;
	uint32_t len;

	(void)state;
	len = mk_udp_frame(f, MR_AF6, 7, rtp_pl, 12);
	assert_int_equal(parse(f, len, &pi), MR_V_UDP);
	assert_int_equal(pi.has_vlan, 1);
	assert_int_equal(pi.vlan, 7);
	assert_int_equal(pi.l2_len, 18);
	assert_int_equal(pi.family, MR_AF6);
	assert_int_equal(pi.l4_proto, 17);
	assert_int_equal(pi.tclass, 0xb8);
	assert_int_equal(pi.l3_len, 40);
	assert_int_equal(pi.l4_off, 58);
	assert_int_equal(pi.l4_len, 20);
	assert_int_equal(pi.payload_off, 66);
	assert_int_equal(pi.payload_len, 12);
	assert_int_equal(pi.class, MR_CLASS_RTP);

	/* Trailing bytes after the IPv6 payload are padding. */
	assert_int_equal(parse(f, len + 10, &pi), MR_V_UDP);
	assert_int_equal(pi.payload_len, 12);
}

static void
test_classes_in_udp(void **state)
{
	static const struct {
		uint8_t b0, b1;
		uint16_t len;
		enum mr_verdict v;
		enum mr_class c;
	} cases[] = {
		{ 0x00, 0x01, 20, MR_V_UDP, MR_CLASS_STUN },
		{ 19, 0, 1, MR_V_UDP, MR_CLASS_ZRTP },
		{ 22, 0xfe, 13, MR_V_UDP, MR_CLASS_DTLS },
		{ 0x40, 0x00, 4, MR_V_UDP, MR_CLASS_TURN },
		{ 0xff, 0, 3, MR_V_UDP, MR_CLASS_OTHER },
		{ 0x80, 0, 12, MR_V_UDP, MR_CLASS_RTP },
		{ 0x80, 0, 11, MR_V_DROP, MR_CLASS_RTP },
		{ 0x80, 0, 1, MR_V_DROP, MR_CLASS_RTP },
		{ 0x80, 200, 8, MR_V_UDP, MR_CLASS_RTCP },
		{ 0x81, 207, 7, MR_V_DROP, MR_CLASS_RTCP },
		{ 0x80, 208, 8, MR_V_DROP, MR_CLASS_RTP },	/* RTP, too short */
		{ 0xbf, 199, 12, MR_V_UDP, MR_CLASS_RTP },
	};
	uint8_t f[FRAME_MAX], pl[64];
	struct mr_pkt_info pi;
	unsigned int i, fam;

	(void)state;
	for (fam = 0; fam < 2; fam++) {
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			uint32_t len;

			memset(pl, 0, sizeof(pl));
			pl[0] = cases[i].b0;
			pl[1] = cases[i].b1;
			len = mk_udp_frame(f, fam ? MR_AF6 : MR_AF4, -1, pl, cases[i].len);
			assert_int_equal(parse(f, len, &pi), cases[i].v);
			assert_int_equal(pi.class, cases[i].c);
			assert_int_equal(pi.payload_len, cases[i].len);
			if (cases[i].v == MR_V_DROP)
				assert_int_equal(pi.drop, MR_DROP_RTP_MALFORMED);
		}
	}
}

static void
test_arp(void **state)
{
	uint8_t f[FRAME_MAX];
	struct mr_pkt_info pi;
	uint32_t l2;

	(void)state;
	memset(f, 0, sizeof(f));
	l2 = mk_eth(f, 0x0806, 42);
	put16(f + l2, 1);
	put16(f + l2 + 2, 0x0800);
	f[l2 + 4] = 6;
	f[l2 + 5] = 4;
	put16(f + l2 + 6, 1);
	assert_int_equal(parse(f, l2 + 28, &pi), MR_V_ARP);
	assert_int_equal(pi.l2_len, 18);
	assert_int_equal(pi.vlan, 42);
	assert_int_equal(pi.l3_len, 28);
	assert_int_equal(pi.family, 0);
	assert_int_equal(parse(f, 60, &pi), MR_V_ARP);

	expect_drop(f, l2 + 27, MR_DROP_ARP_MALFORMED);
	expect_drop(f, l2, MR_DROP_ARP_MALFORMED);
	put16(f + l2, 6);			/* IEEE 802 hardware type */
	expect_drop(f, 60, MR_DROP_ARP_MALFORMED);
	put16(f + l2, 1);
	put16(f + l2 + 2, 0x86dd);
	expect_drop(f, 60, MR_DROP_ARP_MALFORMED);
	put16(f + l2 + 2, 0x0800);
	f[l2 + 4] = 8;
	expect_drop(f, 60, MR_DROP_ARP_MALFORMED);
	f[l2 + 4] = 6;
	f[l2 + 5] = 16;
	expect_drop(f, 60, MR_DROP_ARP_MALFORMED);
	f[l2 + 5] = 4;
	assert_int_equal(parse(f, 60, &pi), MR_V_ARP);
}

static void
test_icmp(void **state)
{
	uint8_t f[FRAME_MAX];
	struct mr_pkt_info pi;
	uint32_t l2, l3;

	(void)state;
	memset(f, 0, sizeof(f));
	l2 = mk_eth(f, 0x0800, -1);
	l3 = mk_ip4(f + l2, 1, 64, 5);
	f[l2 + l3] = 8;				/* echo request */
	assert_int_equal(parse(f, l2 + l3 + 64, &pi), MR_V_ICMP4);
	assert_int_equal(pi.family, MR_AF4);
	assert_int_equal(pi.l4_proto, 1);
	assert_int_equal(pi.l4_off, 34);
	assert_int_equal(pi.l4_len, 64);
	assert_int_equal(pi.class, MR_CLASS_OTHER);
	/* Exactly 8 bytes is fine, 7 is not. */
	mk_ip4(f + l2, 1, 8, 5);
	assert_int_equal(parse(f, 60, &pi), MR_V_ICMP4);
	assert_int_equal(pi.l4_len, 8);
	mk_ip4(f + l2, 1, 7, 5);
	expect_drop(f, 60, MR_DROP_IP4_MALFORMED);

	l2 = mk_eth(f, 0x86dd, -1);
	l3 = mk_ip6(f + l2, 58, 24);
	f[l2 + l3] = 135;			/* neighbour solicitation */
	assert_int_equal(parse(f, l2 + l3 + 24, &pi), MR_V_ICMP6);
	assert_int_equal(pi.family, MR_AF6);
	assert_int_equal(pi.l4_proto, 58);
	assert_int_equal(pi.l4_off, 54);
	assert_int_equal(pi.l4_len, 24);
	mk_ip6(f + l2, 58, 8);
	assert_int_equal(parse(f, l2 + l3 + 8, &pi), MR_V_ICMP6);
	assert_int_equal(pi.l4_len, 8);
	mk_ip6(f + l2, 58, 7);
	expect_drop(f, l2 + l3 + 7, MR_DROP_IP6_MALFORMED);
}

static void
test_l2_drops(void **state)
{
	uint8_t f[FRAME_MAX];
	struct mr_pkt_info pi;
	uint32_t len;

	(void)state;
	memset(f, 0, sizeof(f));
	expect_drop(f, 0, MR_DROP_RUNT);
	expect_drop(f, 13, MR_DROP_RUNT);
	put16(f + 12, 0x8100);
	expect_drop(f, 14, MR_DROP_RUNT);
	expect_drop(f, 17, MR_DROP_RUNT);
	/* A tag with an unknown inner type. */
	put16(f + 16, 0x1234);
	expect_drop(f, 18, MR_DROP_ETHERTYPE);

	/* Stacked tags. */
	len = mk_udp_frame(f, MR_AF4, 5, rtp_pl, 12);
	put16(f + 16, 0x8100);
	expect_drop(f, len, MR_DROP_VLAN);
	put16(f + 16, 0x88a8);
	expect_drop(f, len, MR_DROP_VLAN);
	put16(f + 12, 0x88a8);
	expect_drop(f, len, MR_DROP_VLAN);
	put16(f + 12, 0x9100);
	expect_drop(f, len, MR_DROP_VLAN);
	expect_drop(f, 14, MR_DROP_VLAN);

	/* Unknown ethertypes: LLDP, MPLS, 802.3 length field, zero. */
	put16(f + 12, 0x88cc);
	expect_drop(f, len, MR_DROP_ETHERTYPE);
	put16(f + 12, 0x8847);
	expect_drop(f, len, MR_DROP_ETHERTYPE);
	put16(f + 12, 0x0040);
	expect_drop(f, len, MR_DROP_ETHERTYPE);
	put16(f + 12, 0);
	expect_drop(f, 14, MR_DROP_ETHERTYPE);
	assert_int_equal(parse(f, 14, &pi), MR_V_DROP);
	assert_int_equal(pi.l2_len, 14);
}

static void
test_ip4_drops(void **state)
{
	uint8_t f[FRAME_MAX];
	uint8_t *ip = f + 14;
	struct mr_pkt_info pi;
	uint32_t len;

	(void)state;
	len = mk_udp_frame(f, MR_AF4, -1, rtp_pl, 20);	/* 62 bytes, IPv4 total length 48 */
	assert_int_equal(parse(f, len, &pi), MR_V_UDP);

	expect_drop(f, 14, MR_DROP_IP4_MALFORMED);
	expect_drop(f, 33, MR_DROP_IP4_MALFORMED);	/* 19 bytes of header */
	expect_drop(f, len - 1, MR_DROP_IP4_MALFORMED);	/* truncated below total length */
	ip[0] = 0x65;					/* version 6 in an IPv4 ethertype */
	expect_drop(f, len, MR_DROP_IP4_MALFORMED);
	ip[0] = 0x44;					/* IHL 4 */
	expect_drop(f, len, MR_DROP_IP4_MALFORMED);
	ip[0] = 0x4f;					/* IHL 15 = 60 > total length 48 */
	expect_drop(f, len, MR_DROP_IP4_MALFORMED);
	ip[0] = 0x45;
	put16(ip + 2, 19);				/* total length < IHL*4 */
	expect_drop(f, len, MR_DROP_IP4_MALFORMED);
	put16(ip + 2, 49);				/* total length > frame */
	expect_drop(f, len, MR_DROP_IP4_MALFORMED);
	put16(ip + 2, 0xffff);
	expect_drop(f, len, MR_DROP_IP4_MALFORMED);
	put16(ip + 2, 48);
	assert_int_equal(parse(f, len, &pi), MR_V_UDP);

	/* Fragments: MF, an offset, both; DF and the reserved bit alone are not. */
	put16(ip + 6, 0x2000);
	expect_drop(f, len, MR_DROP_IP4_FRAG);
	put16(ip + 6, 0x0001);
	expect_drop(f, len, MR_DROP_IP4_FRAG);
	put16(ip + 6, 0x1fff);
	expect_drop(f, len, MR_DROP_IP4_FRAG);
	put16(ip + 6, 0x2000 | 185);
	expect_drop(f, len, MR_DROP_IP4_FRAG);
	put16(ip + 6, 0xc000);
	assert_int_equal(parse(f, len, &pi), MR_V_UDP);
	/* A fragment with a bad length is reported as malformed first. */
	put16(ip + 6, 0x2000);
	put16(ip + 2, 10);
	expect_drop(f, len, MR_DROP_IP4_MALFORMED);
	put16(ip + 2, 48);
	put16(ip + 6, 0);

	/* Other transports. */
	ip[9] = 6;
	expect_drop(f, len, MR_DROP_L4_PROTO);
	ip[9] = 132;
	expect_drop(f, len, MR_DROP_L4_PROTO);
	ip[9] = 0;
	expect_drop(f, len, MR_DROP_L4_PROTO);
	ip[9] = 17;

	/* UDP length: 7, more than the IP payload, and an IP payload under 8 bytes. */
	put16(ip + 24, 7);
	expect_drop(f, len, MR_DROP_UDP_MALFORMED);
	put16(ip + 24, 0);
	expect_drop(f, len, MR_DROP_UDP_MALFORMED);
	put16(ip + 24, 29);
	expect_drop(f, len, MR_DROP_UDP_MALFORMED);
	put16(ip + 24, 28);
	assert_int_equal(parse(f, len, &pi), MR_V_UDP);
	put16(ip + 2, 27);			/* IP payload 7 bytes: no room for a UDP header */
	expect_drop(f, len, MR_DROP_UDP_MALFORMED);
	put16(ip + 2, 20);
	expect_drop(f, len, MR_DROP_UDP_MALFORMED);
}

static void
test_ip6_drops(void **state)
{
	static const uint8_t ext[] = { 0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254 };
	uint8_t f[FRAME_MAX];
	uint8_t *ip = f + 14;
	struct mr_pkt_info pi;
	uint32_t len;
	unsigned int i;

	(void)state;
	len = mk_udp_frame(f, MR_AF6, -1, rtp_pl, 20);	/* payload length 28 */
	assert_int_equal(parse(f, len, &pi), MR_V_UDP);

	expect_drop(f, 14 + 39, MR_DROP_IP6_MALFORMED);
	expect_drop(f, len - 1, MR_DROP_IP6_MALFORMED);
	ip[0] = 0x4b;
	expect_drop(f, len, MR_DROP_IP6_MALFORMED);
	ip[0] = 0x6b;
	put16(ip + 4, 29);
	expect_drop(f, len, MR_DROP_IP6_MALFORMED);
	put16(ip + 4, 0xffff);
	expect_drop(f, len, MR_DROP_IP6_MALFORMED);
	put16(ip + 4, 28);

	for (i = 0; i < sizeof(ext); i++) {
		ip[6] = ext[i];
		expect_drop(f, len, MR_DROP_IP6_EXT);
		assert_int_equal(parse(f, len, &pi), MR_V_DROP);
		assert_int_equal(pi.l4_proto, ext[i]);
	}
	ip[6] = 59;
	expect_drop(f, len, MR_DROP_L4_PROTO);
	ip[6] = 6;
	expect_drop(f, len, MR_DROP_L4_PROTO);
	ip[6] = 1;				/* ICMPv4 number inside IPv6 */
	expect_drop(f, len, MR_DROP_L4_PROTO);
	ip[6] = 17;

	put16(ip + 44, 7);
	expect_drop(f, len, MR_DROP_UDP_MALFORMED);
	put16(ip + 44, 29);
	expect_drop(f, len, MR_DROP_UDP_MALFORMED);
	put16(ip + 44, 28);
	put16(ip + 4, 0);			/* jumbogram-style zero payload length */
	expect_drop(f, len, MR_DROP_UDP_MALFORMED);
	put16(ip + 4, 28);
	assert_int_equal(parse(f, len, &pi), MR_V_UDP);
}

/* A buffer whose end touches a PROT_NONE page: a read past len faults the test. */
struct guarded {
	uint8_t *base;
	size_t pg;
};

static void
guard_map(struct guarded *g)
{
	g->pg = (size_t)sysconf(_SC_PAGESIZE);
	g->base = mmap(NULL, 2 * g->pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	assert_true(g->base != MAP_FAILED);
	assert_int_equal(mprotect(g->base + g->pg, g->pg, PROT_NONE), 0);
}

static const uint8_t *
guard_put(struct guarded *g, const uint8_t *f, uint32_t len)
{
	uint8_t *p = g->base + g->pg - len;

	memcpy(p, f, len);
	return p;
}

/* Structural promises of a non-drop verdict. */
static void
check_invariants(enum mr_verdict v, const struct mr_pkt_info *pi, uint32_t len)
{
	assert_true(v <= MR_V_DROP);
	if (v == MR_V_DROP) {
		assert_true(pi->drop < MR_DROP_MAX);
		return;
	}
	assert_true(pi->l2_len == 14 || pi->l2_len == 18);
	assert_int_equal(pi->has_vlan, pi->l2_len == 18);
	assert_int_equal(pi->l4_off, pi->l2_len + pi->l3_len);
	assert_true(pi->l4_off <= len);
	assert_true(pi->vlan < 4096);
	if (v == MR_V_ARP) {
		assert_int_equal(pi->l3_len, 28);
		return;
	}
	assert_true((uint32_t)pi->l4_off + pi->l4_len <= len);
	if (v == MR_V_UDP) {
		assert_int_equal(pi->l4_proto, 17);
		assert_true(pi->l4_len >= 8);
		assert_int_equal(pi->payload_off, pi->l4_off + 8);
		assert_int_equal(pi->payload_len, pi->l4_len - 8);
		assert_true(pi->class < MR_CLASS_MAX);
		if (pi->class == MR_CLASS_RTP)
			assert_true(pi->payload_len >= 12);
		if (pi->class == MR_CLASS_RTCP)
			assert_true(pi->payload_len >= 8);
	} else {
		assert_true(pi->l4_len >= 8);
		assert_int_equal(pi->l4_proto, v == MR_V_ICMP4 ? 1 : 58);
		assert_int_equal(pi->family, v == MR_V_ICMP4 ? MR_AF4 : MR_AF6);
	}
}

static void
test_truncated_never_overreads(void **state)
{
	uint8_t f[6][FRAME_MAX];
	uint32_t flen[6], l2, l3;
	struct guarded g;
	struct mr_pkt_info pi;
	unsigned int i;
	uint32_t n;

	(void)state;
	guard_map(&g);
	flen[0] = mk_udp_frame(f[0], MR_AF4, -1, rtp_pl, 20);
	flen[1] = mk_udp_frame(f[1], MR_AF6, 9, rtcp_pl, 8);
	l2 = mk_eth(f[2], 0x0800, 3);
	l3 = mk_ip4(f[2] + l2, 17, 8 + 12, 15);
	flen[2] = l2 + l3 + mk_udp(f[2] + l2 + l3, 1, 2, rtp_pl, 12);
	memset(f[3], 0, FRAME_MAX);
	l2 = mk_eth(f[3], 0x0806, -1);
	put16(f[3] + l2, 1);
	put16(f[3] + l2 + 2, 0x0800);
	f[3][l2 + 4] = 6;
	f[3][l2 + 5] = 4;
	flen[3] = l2 + 28;
	l2 = mk_eth(f[4], 0x0800, -1);
	l3 = mk_ip4(f[4] + l2, 1, 8, 5);
	memset(f[4] + l2 + l3, 0, 8);
	flen[4] = l2 + l3 + 8;
	l2 = mk_eth(f[5], 0x86dd, -1);
	l3 = mk_ip6(f[5] + l2, 58, 8);
	memset(f[5] + l2 + l3, 0, 8);
	flen[5] = l2 + l3 + 8;

	for (i = 0; i < 6; i++) {
		/* The full frame parses; every strict prefix is dropped, never over-read. */
		const uint8_t *p = guard_put(&g, f[i], flen[i]);
		enum mr_verdict v = parse(p, flen[i], &pi);

		assert_int_not_equal(v, MR_V_DROP);
		check_invariants(v, &pi, flen[i]);
		for (n = 0; n < flen[i]; n++) {
			p = guard_put(&g, f[i], n);
			v = parse(p, n, &pi);
			assert_int_equal(v, MR_V_DROP);
			check_invariants(v, &pi, n);
		}
	}
	munmap(g.base, 2 * g.pg);
}

/* xorshift64*: fixed seed, so a failure reproduces. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static void
test_random_mutations(void **state)
{
	uint8_t base[4][FRAME_MAX], f[FRAME_MAX];
	uint32_t blen[4];
	uint64_t seed = 0x6d72656c6179ULL;
	unsigned int counts[MR_V_DROP + 1] = { 0 };
	struct guarded g;
	struct mr_pkt_info pi;
	unsigned int i, k;

	(void)state;
	guard_map(&g);
	blen[0] = mk_udp_frame(base[0], MR_AF4, -1, rtp_pl, 20);
	blen[1] = mk_udp_frame(base[1], MR_AF6, 100, rtp_pl, 20);
	blen[2] = mk_udp_frame(base[2], MR_AF4, 5, rtcp_pl, 8);
	blen[3] = mk_udp_frame(base[3], MR_AF6, -1, rtcp_pl, 8);

	for (i = 0; i < 200000; i++) {
		uint64_t r = rnd(&seed);
		uint32_t len, nmut;
		const uint8_t *p;
		enum mr_verdict v;

		if ((r & 7) == 0) {
			/* Pure noise. */
			len = (uint32_t)(rnd(&seed) % 128);
			for (k = 0; k < len; k++)
				f[k] = (uint8_t)rnd(&seed);
		} else {
			unsigned int b = (unsigned int)(r >> 3) & 3;

			len = blen[b];
			memcpy(f, base[b], len);
			nmut = 1 + (uint32_t)(rnd(&seed) % 4);
			for (k = 0; k < nmut; k++)
				f[rnd(&seed) % len] = (uint8_t)rnd(&seed);
			/* Sometimes cut or pad the frame. */
			if ((r >> 8) % 4 == 0)
				len = (uint32_t)(rnd(&seed) % (len + 1));
			else if ((r >> 8) % 4 == 1)
				len += (uint32_t)(rnd(&seed) % 8);
		}
		p = guard_put(&g, f, len);
		v = parse(p, len, &pi);
		check_invariants(v, &pi, len);
		counts[v]++;
	}
	/* The mutations reach both accepting and dropping verdicts. */
	assert_true(counts[MR_V_UDP] > 1000);
	assert_true(counts[MR_V_DROP] > 1000);
	munmap(g.base, 2 * g.pg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_udp4_rtp),
		cmocka_unit_test(test_udp4_vlan_options_padding),
		cmocka_unit_test(test_udp6),
		cmocka_unit_test(test_classes_in_udp),
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_l2_drops),
		cmocka_unit_test(test_ip4_drops),
		cmocka_unit_test(test_ip6_drops),
		cmocka_unit_test(test_truncated_never_overreads),
		cmocka_unit_test(test_random_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
