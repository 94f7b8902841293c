/* SPDX-License-Identifier: BSD-3-Clause
 * What the dataplane tests (test_dp.c, test_room_dp.c) share: endpoints, reference checksums
 * computed the plain RFC 1071 way (so that a checksum bug in the relay cannot hide behind the
 * same bug in the test), and frame builders. Include after cmocka.h and the DPDK headers.
 */
#ifndef MR_TEST_DP_FRAMES_H
#define MR_TEST_DP_FRAMES_H

#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>

#include "mr_types.h"

static inline struct mr_ep
ep4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	struct mr_ep e;

	memset(&e, 0, sizeof(e));
	e.family = MR_AF4;
	e.port = port;
	e.a[0] = a;
	e.a[1] = b;
	e.a[2] = c;
	e.a[3] = d;
	return e;
}

static inline struct mr_ep
ep6(const char *s, uint16_t port)
{
	struct mr_ep e;

	memset(&e, 0, sizeof(e));
	e.family = MR_AF6;
	e.port = port;
	assert_int_equal(inet_pton(AF_INET6, s, e.a), 1);
	return e;
}

static inline uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
ref_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static inline uint16_t
ref_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* IPv4 header checksum value with the field taken as zero. */
static inline uint16_t
ref_ip4(const uint8_t *ip, size_t hlen)
{
	uint8_t h[60];

	memcpy(h, ip, hlen);
	h[10] = 0;
	h[11] = 0;
	return (uint16_t)~ref_fold(ref_add(0, h, hlen));
}

/* UDP checksum value (RFC 768 / RFC 8200 §8.1) with the field taken as zero, 0 sent as
 * 0xffff. src/dst: 4 or 16 bytes. */
static inline uint16_t
ref_udp(uint8_t family, const uint8_t *src, const uint8_t *dst, const uint8_t *udp,
	uint16_t ulen)
{
	uint8_t ph[40];
	uint8_t u[2048];
	size_t alen = family == MR_AF6 ? 16 : 4, n = 0;
	uint16_t c;

	memcpy(ph, src, alen);
	n += alen;
	memcpy(ph + n, dst, alen);
	n += alen;
	if (family == MR_AF6) {
		ph[n++] = 0;
		ph[n++] = 0;
		ph[n++] = ulen >> 8;
		ph[n++] = (uint8_t)ulen;
		ph[n++] = 0;
		ph[n++] = 0;
		ph[n++] = 0;
		ph[n++] = 17;
	} else {
		ph[n++] = 0;
		ph[n++] = 17;
		ph[n++] = ulen >> 8;
		ph[n++] = (uint8_t)ulen;
	}
	memcpy(u, udp, ulen);
	u[6] = 0;
	u[7] = 0;
	c = (uint16_t)~ref_fold(ref_add(ref_add(0, ph, n), u, ulen));
	return c == 0 ? 0xffff : c;
}

/* ---- frames ---- */

struct frame {
	uint8_t b[1600];
	uint16_t len;
	uint16_t l3;		/* IP header offset */
	uint16_t l4;		/* UDP header offset */
};

struct udp_opts {
	int vlan;		/* -1: untagged; else the whole 16-bit TCI */
	uint8_t tos;
	uint8_t ip4_opt;	/* bytes of IPv4 options (multiple of 4) */
	uint8_t zero_ck;	/* send UDP checksum 0 */
	uint8_t pad;		/* trailing bytes after the datagram (Ethernet padding) */
};

static const struct udp_opts PLAIN = { .vlan = -1 };

static inline uint16_t
eth_hdr(uint8_t *b, const uint8_t *dmac, const uint8_t *smac, int vlan, uint16_t et)
{
	uint16_t n = 12;

	memcpy(b, dmac, 6);
	memcpy(b + 6, smac, 6);
	if (vlan >= 0) {
		b[n++] = 0x81;
		b[n++] = 0x00;
		b[n++] = (uint8_t)(vlan >> 8);
		b[n++] = (uint8_t)vlan;
	}
	b[n++] = et >> 8;
	b[n++] = (uint8_t)et;
	return n;
}

static inline void
build_udp(struct frame *f, const uint8_t *dmac, const uint8_t *smac, const struct mr_ep *src,
	  const struct mr_ep *dst, const uint8_t *pl, uint16_t plen, const struct udp_opts *o)
{
	uint8_t *b = f->b, *ip, *udp;
	uint16_t ulen = 8 + plen, n, c;

	memset(f, 0, sizeof(*f));
	n = eth_hdr(b, dmac, smac, o->vlan, src->family == MR_AF4 ? 0x0800 : 0x86dd);
	f->l3 = n;
	ip = b + n;
	if (src->family == MR_AF4) {
		uint16_t hl = 20 + o->ip4_opt, tot = hl + ulen;
		unsigned int i;

		ip[0] = 0x40 | (hl / 4);
		ip[1] = o->tos;
		ip[2] = tot >> 8;
		ip[3] = (uint8_t)tot;
		ip[4] = 0x12;		/* identification */
		ip[5] = 0x34;
		ip[6] = 0;		/* no DF: not a fragment either */
		ip[7] = 0;
		ip[8] = 61;
		ip[9] = 17;
		memcpy(ip + 12, src->a, 4);
		memcpy(ip + 16, dst->a, 4);
		for (i = 0; i < o->ip4_opt; i += 4) {
			/* RFC 2113 router alert */
			ip[20 + i] = 0x94;
			ip[21 + i] = 0x04;
			ip[22 + i] = 0;
			ip[23 + i] = 0;
		}
		c = ref_ip4(ip, hl);
		ip[10] = c >> 8;
		ip[11] = (uint8_t)c;
		n += hl;
	} else {
		ip[0] = 0x60 | (o->tos >> 4);
		ip[1] = (uint8_t)(o->tos << 4) | 0x01;	/* flow label 0x12345 */
		ip[2] = 0x23;
		ip[3] = 0x45;
		ip[4] = ulen >> 8;
		ip[5] = (uint8_t)ulen;
		ip[6] = 17;
		ip[7] = 61;
		memcpy(ip + 8, src->a, 16);
		memcpy(ip + 24, dst->a, 16);
		n += 40;
	}
	f->l4 = n;
	udp = b + n;
	udp[0] = src->port >> 8;
	udp[1] = (uint8_t)src->port;
	udp[2] = dst->port >> 8;
	udp[3] = (uint8_t)dst->port;
	udp[4] = ulen >> 8;
	udp[5] = (uint8_t)ulen;
	memcpy(udp + 8, pl, plen);
	if (!o->zero_ck) {
		c = ref_udp(src->family, src->a, dst->a, udp, ulen);
		udp[6] = c >> 8;
		udp[7] = (uint8_t)c;
	}
	n += ulen;
	memset(b + n, 0xee, o->pad);
	f->len = n + o->pad;
}

/* An RTP packet (RFC 3550 §5.1) with extra payload bytes of a recognizable pattern. */
static inline uint16_t
rtp(uint8_t *p, uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc, uint16_t extra)
{
	uint16_t i;

	p[0] = 0x80;
	p[1] = pt;
	p[2] = seq >> 8;
	p[3] = (uint8_t)seq;
	p[4] = ts >> 24;
	p[5] = ts >> 16;
	p[6] = ts >> 8;
	p[7] = (uint8_t)ts;
	p[8] = ssrc >> 24;
	p[9] = ssrc >> 16;
	p[10] = ssrc >> 8;
	p[11] = (uint8_t)ssrc;
	for (i = 0; i < extra; i++)
		p[12 + i] = (uint8_t)(i * 7 + seq);
	return 12 + extra;
}

#endif
