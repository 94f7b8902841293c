/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for dataplane/core/cksum.h: known vectors, a byte-by-byte network-order reference,
 * odd lengths and alignments, and incremental updates (RFC 1624) against full recomputation
 * for many random packets, IPv4<->IPv6 pseudo-header changes and the 0/0xffff corners.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cksum.h"

/* xorshift64*: fixed seed, so a failure reproduces. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

/* Reference: RFC 1071 in network order, one big-endian 16-bit word at a time. */
static uint32_t
ref_sum(const uint8_t *p, size_t len, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		sum += (uint32_t)p[i] << 8 | p[i + 1];
		sum = (sum & 0xffff) + (sum >> 16);
	}
	if (len & 1) {
		sum += (uint32_t)p[len - 1] << 8;
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return sum;
}

/* Reference UDP checksum (network-order value): the pseudo-header is written out as bytes
 * exactly as RFC 768 / RFC 8200 §8.1 draw it, followed by the datagram with a zero field. */
static uint16_t
ref_udp(uint8_t family, const uint8_t *src, const uint8_t *dst, const uint8_t *udp,
	uint16_t udp_len)
{
	uint8_t buf[40 + 65536];
	size_t n = 0, alen = family == MR_AF6 ? 16 : 4;
	uint16_t c;

	memcpy(buf + n, src, alen);
	n += alen;
	memcpy(buf + n, dst, alen);
	n += alen;
	if (family == MR_AF6) {
		buf[n++] = 0;
		buf[n++] = 0;
		buf[n++] = (uint8_t)(udp_len >> 8);
		buf[n++] = (uint8_t)udp_len;
		buf[n++] = 0;
		buf[n++] = 0;
		buf[n++] = 0;
		buf[n++] = 17;
	} else {
		buf[n++] = 0;
		buf[n++] = 17;
		buf[n++] = (uint8_t)(udp_len >> 8);
		buf[n++] = (uint8_t)udp_len;
	}
	memcpy(buf + n, udp, udp_len);
	buf[n + 6] = 0;
	buf[n + 7] = 0;
	n += udp_len;
	c = (uint16_t)~ref_sum(buf, n, 0);
	return c == 0 ? 0xffff : c;
}

/* A field value (packet representation) as the network-order number it stands for. */
static uint16_t
field_be(uint16_t field)
{
	uint8_t b[2];

	memcpy(b, &field, 2);
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint16_t
load16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static void
store16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void
test_known_vectors(void **state)
{
	/* RFC 1071 §3 example: the sum is ddf2 (network order). */
	static const uint8_t rfc1071[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	/* A textbook IPv4 header (192.168.0.1 -> 192.168.0.199, UDP): checksum b861. */
	uint8_t ip[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			   0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	uint8_t out[2];
	uint16_t f;

	(void)state;
	f = mr_csum_fold(mr_csum_partial(rfc1071, 8, 0));
	memcpy(out, &f, 2);
	assert_int_equal(out[0], 0xdd);
	assert_int_equal(out[1], 0xf2);

	f = mr_ipv4_hdr_cksum(ip, 20);
	memcpy(out, &f, 2);
	assert_int_equal(out[0], 0xb8);
	assert_int_equal(out[1], 0x61);
	/* Whatever the field holds, it is taken as zero. */
	ip[10] = 0x12;
	ip[11] = 0x34;
	assert_int_equal(mr_ipv4_hdr_cksum(ip, 20), f);
	/* Verification: the sum over a header with its checksum is 0xffff. */
	store16(ip + 10, f);
	assert_int_equal(mr_csum_fold(mr_csum_partial(ip, 20, 0)), 0xffff);

	/* fold: end-around carries, including a carry out of the first fold. */
	assert_int_equal(mr_csum_fold(0), 0);
	assert_int_equal(mr_csum_fold(0xffff), 0xffff);
	assert_int_equal(mr_csum_fold(0x10000), 1);
	assert_int_equal(mr_csum_fold(0xffffffffu), 0xffff);
	assert_int_equal(mr_csum_fold(0x1fffe), 0xffff);
	assert_int_equal(mr_csum_fold(0x2fffd), 0xffff);
	assert_int_equal(mr_csum_fold(0x12345678), 0x68ac);

	/* Empty and one-byte buffers. */
	assert_int_equal(mr_csum_partial(rfc1071, 0, 77), 77);
	assert_int_equal(field_be(mr_csum_fold(mr_csum_partial(rfc1071 + 2, 1, 0))), 0xf200);
}

/* Buffers past the vector path's 32 KiB chunks (cksum.h empties its lane accumulators every
 * 1024 steps), all 0xff bytes (the most a lane can grow by) and random bytes, against the
 * RFC 1071 reference. */
static void
test_partial_long(void **state)
{
	static uint8_t big[100003];
	uint64_t seed = 7;
	size_t n, i;

	(void)state;
	for (int fill = 0; fill < 2; fill++) {
		for (i = 0; i < sizeof(big); i++)
			big[i] = fill == 0 ? 0xff : (uint8_t)rnd(&seed);
		for (n = 32768 - 1; n <= sizeof(big); n += 16411)
			assert_int_equal(field_be(mr_csum_fold(mr_csum_partial(big, n, 0))),
					 ref_sum(big, n, 0));
		assert_int_equal(field_be(mr_csum_fold(mr_csum_partial(big + 1, sizeof(big) - 1,
									0))),
				 ref_sum(big + 1, sizeof(big) - 1, 0));
	}
}

static void
test_partial_lengths_alignments(void **state)
{
	uint8_t buf[4096 + 8], copy[4096];
	uint64_t seed = 1;
	size_t len, off;

	(void)state;
	for (len = 0; len < sizeof(buf); len++)
		buf[len] = (uint8_t)rnd(&seed);
	/* Every length to 300, then random lengths, at every alignment 0..7. */
	for (len = 0; len < 1500; len++) {
		size_t n = len < 300 ? len : (size_t)(rnd(&seed) % 4097);

		for (off = 0; off < 8; off++) {
			/* Both end-around sums are 0 only for all-zero data, so they agree
			 * exactly, not just modulo 0xffff. */
			uint32_t want = ref_sum(buf + off, n, 0);
			uint16_t got = mr_csum_fold(mr_csum_partial(buf + off, n, 0));

			assert_int_equal(field_be(got), want);
		}
		/* Splitting at an even offset gives the same sum (RFC 1071 §2(C)). */
		if (n >= 2) {
			size_t cut = (size_t)(rnd(&seed) % (n / 2 + 1)) * 2;
			uint32_t s;

			memcpy(copy, buf, n);
			s = mr_csum_partial(copy, cut, 0);
			s = mr_csum_partial(copy + cut, n - cut, s);
			assert_int_equal(mr_csum_fold(s),
					 mr_csum_fold(mr_csum_partial(buf, n, 0)));
		}
	}
	/* A long run of 0xff bytes exercises the carries of the 64-bit accumulator. */
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(mr_csum_fold(mr_csum_partial(buf, 4096, 0xffffffffu)), 0xffff);
	assert_int_equal(field_be(mr_csum_fold(mr_csum_partial(buf, 4095, 0))), 0xff00);
	assert_int_equal(field_be(mr_csum_fold(mr_csum_partial(buf, 1, 0))), 0xff00);
}

struct pkt {
	uint8_t family;
	uint8_t src[16], dst[16];
	uint16_t udp_len;
	uint8_t udp[1600];
};

static void
rnd_addr(uint64_t *seed, uint8_t *a, uint8_t family)
{
	unsigned int i;

	memset(a, 0, 16);
	for (i = 0; i < (family == MR_AF6 ? 16u : 4u); i++)
		a[i] = (uint8_t)rnd(seed);
}

static void
rnd_pkt(uint64_t *seed, struct pkt *p)
{
	unsigned int i, plen;

	p->family = rnd(seed) & 1 ? MR_AF6 : MR_AF4;
	rnd_addr(seed, p->src, p->family);
	rnd_addr(seed, p->dst, p->family);
	plen = (unsigned int)(rnd(seed) % 1473);	/* odd and even lengths */
	p->udp_len = (uint16_t)(8 + plen);
	for (i = 0; i < p->udp_len; i++)
		p->udp[i] = (uint8_t)rnd(seed);
	p->udp[4] = (uint8_t)(p->udp_len >> 8);
	p->udp[5] = (uint8_t)p->udp_len;
	store16(p->udp + 6, mr_udp_cksum(p->family, p->src, p->dst, p->udp, p->udp_len));
}

static uint16_t
pkt_full(const struct pkt *p)
{
	return mr_udp_cksum(p->family, p->src, p->dst, p->udp, p->udp_len);
}

/* The sum of what a relay rewrites: addresses (pseudo-header) and ports. */
static uint32_t
pkt_changing_sum(const struct pkt *p)
{
	size_t alen = p->family == MR_AF6 ? 16 : 4;
	uint32_t s;

	s = mr_csum_partial(p->src, alen, 0);
	s = mr_csum_partial(p->dst, alen, s);
	return mr_csum_partial(p->udp, 4, s);
}

/* A received packet is valid: the sum over pseudo-header and datagram, field included,
 * is 0xffff. */
static void
assert_valid(const struct pkt *p)
{
	uint32_t s = mr_udp_pseudo_sum(p->family, p->src, p->dst, p->udp_len);

	s = mr_csum_partial(p->udp, p->udp_len, s);
	assert_int_equal(mr_csum_fold(s), 0xffff);
}

static void
test_udp_vs_reference(void **state)
{
	uint64_t seed = 0x1234;
	struct pkt p;
	unsigned int i;

	(void)state;
	for (i = 0; i < 3000; i++) {
		uint16_t c;

		rnd_pkt(&seed, &p);
		/* Garbage in the field must not matter. */
		store16(p.udp + 6, (uint16_t)rnd(&seed));
		c = pkt_full(&p);
		assert_int_equal(field_be(c),
				 ref_udp(p.family, p.src, p.dst, p.udp, p.udp_len));
		assert_int_not_equal(c, 0);
		store16(p.udp + 6, c);
		assert_valid(&p);
	}
}

/* Rewrite addresses and ports of p into q (possibly another family) and check that the
 * incremental field equals the full recomputation. */
static void
check_rewrite(const struct pkt *p, const struct pkt *q_in)
{
	struct pkt q = *p;
	uint32_t old_sum, new_sum;
	uint16_t inc, full;

	old_sum = pkt_changing_sum(p);
	q.family = q_in->family;
	memcpy(q.src, q_in->src, 16);
	memcpy(q.dst, q_in->dst, 16);
	memcpy(q.udp, q_in->udp, 4);
	new_sum = pkt_changing_sum(&q);
	inc = mr_udp_cksum_replace(load16(p->udp + 6), old_sum, new_sum);
	full = pkt_full(&q);
	assert_int_equal(inc, full);
	store16(q.udp + 6, inc);
	assert_valid(&q);
}

static void
test_incremental_random(void **state)
{
	uint64_t seed = 0xfeedULL;
	struct pkt p, q;
	unsigned int i, cross = 0;

	(void)state;
	for (i = 0; i < 20000; i++) {
		rnd_pkt(&seed, &p);
		/* Same family most of the time, IPv4<->IPv6 otherwise. */
		q.family = rnd(&seed) % 3 ? p.family : (p.family == MR_AF4 ? MR_AF6 : MR_AF4);
		cross += q.family != p.family;
		rnd_addr(&seed, q.src, q.family);
		rnd_addr(&seed, q.dst, q.family);
		store16(q.udp, (uint16_t)rnd(&seed));
		store16(q.udp + 2, (uint16_t)rnd(&seed));
		check_rewrite(&p, &q);
	}
	assert_true(cross > 5000);
}

/* Choose the last two payload bytes so that the datagram's checksum comes out as a
 * computed zero (field 0xffff). p->udp_len must be >= 10 and even. */
static void
force_zero_cksum(struct pkt *p)
{
	uint16_t c;

	store16(p->udp + p->udp_len - 2, 0);
	/* Adding ~fold(sum) == c to the data makes the sum 0xffff, the complement 0. */
	c = mr_udp_cksum(p->family, p->src, p->dst, p->udp, p->udp_len);
	store16(p->udp + p->udp_len - 2, c);
	store16(p->udp + 6, mr_udp_cksum(p->family, p->src, p->dst, p->udp, p->udp_len));
}

static void
test_corner_cases(void **state)
{
	uint64_t seed = 99;
	struct pkt p, q;
	uint16_t c;
	uint32_t i, port, zeros = 0;

	(void)state;
	for (i = 0; i < 200; i++) {
		rnd_pkt(&seed, &p);
		if (p.udp_len < 10 || (p.udp_len & 1))
			continue;
		force_zero_cksum(&p);
		/* A computed zero is sent as 0xffff (RFC 768), by both implementations. */
		assert_int_equal(load16(p.udp + 6), 0xffff);
		assert_int_equal(ref_udp(p.family, p.src, p.dst, p.udp, p.udp_len), 0xffff);
		assert_valid(&p);

		/* From a 0xffff field to any rewrite, including to the other family. */
		q = p;
		q.family = i & 1 ? MR_AF6 : MR_AF4;
		rnd_addr(&seed, q.src, q.family);
		rnd_addr(&seed, q.dst, q.family);
		store16(q.udp, (uint16_t)rnd(&seed));
		check_rewrite(&p, &q);

		/* Old port bytes summing to 0xffff, new ones to 0: the all-zero corner of eqn. 3
		 * (~HC = 0, ~m = 0, m' = 0). */
		p.udp[0] = 0xff;
		p.udp[1] = 0xff;
		force_zero_cksum(&p);
		q = p;
		q.udp[0] = 0;
		q.udp[1] = 0;
		check_rewrite(&p, &q);
		assert_int_equal(pkt_full(&q), 0xffff);

		/* Search a new source port whose full checksum is a computed zero, and check the
		 * incremental update gets 0xffff there too. */
		rnd_pkt(&seed, &p);
		q = p;
		for (port = 0; port < 65536; port++) {
			store16(q.udp, (uint16_t)port);
			if (pkt_full(&q) == 0xffff) {
				check_rewrite(&p, &q);
				zeros++;
				break;
			}
		}
	}
	assert_true(zeros > 100);

	/* UDP over IPv4 without a checksum keeps none. */
	assert_int_equal(mr_udp_cksum_replace(0, 0x1234, 0x4321), 0);
	/* Nothing changed: the field stays. */
	assert_int_equal(mr_csum_replace(0xabcd, 0x5555, 0x5555), 0xabcd);
	/* Replacing m by an equivalent -0/+0 word does not change the field either. */
	assert_int_equal(mr_csum_replace(0xabcd, 0xffff, 0), 0xabcd);

	/* IPv4 header whose checksum is 0x0000: eqn. 3 must give 0x0000 (not 0xffff). */
	{
		uint8_t ip[20] = { 0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0,
				   198, 18, 0, 1, 198, 18, 0, 2 };
		uint8_t ip2[20];
		uint32_t old_sum, new_sum;
		unsigned int hits = 0, old_zero = 0;

		for (i = 0; i < 65536; i++) {
			store16(ip + 4, (uint16_t)i);		/* identification */
			c = mr_ipv4_hdr_cksum(ip, 20);
			store16(ip + 10, c);
			old_zero += c == 0;
			/* Rewrite the destination; compare with a full recomputation. As the
			 * identification runs through all values, both the old and the new
			 * checksum take every value once, 0x0000 included. */
			memcpy(ip2, ip, 20);
			ip2[18] = 7;
			ip2[19] = 9;
			old_sum = mr_csum_partial(ip + 16, 4, 0);
			new_sum = mr_csum_partial(ip2 + 16, 4, 0);
			c = mr_csum_replace(load16(ip + 10), old_sum, new_sum);
			assert_int_equal(c, mr_ipv4_hdr_cksum(ip2, 20));
			hits += c == 0;
			/* TTL decrement: the TTL/protocol word at offset 8. */
			memcpy(ip2, ip, 20);
			ip2[8]--;
			old_sum = mr_csum_partial(ip + 8, 2, 0);
			new_sum = mr_csum_partial(ip2 + 8, 2, 0);
			assert_int_equal(mr_csum_replace(load16(ip + 10), old_sum, new_sum),
					 mr_ipv4_hdr_cksum(ip2, 20));
		}
		assert_int_equal(hits, 1);
		assert_int_equal(old_zero, 1);
	}
}

static void
test_ipv4_hdr_random(void **state)
{
	uint64_t seed = 5;
	uint8_t ip[60 + 1];
	unsigned int i, k;

	(void)state;
	for (i = 0; i < 5000; i++) {
		size_t hlen = 20 + 4 * (size_t)(rnd(&seed) % 11);
		uint8_t *h = ip + (i & 1);	/* unaligned half the time */
		uint8_t tmp[60];
		uint16_t c;

		for (k = 0; k < hlen; k++)
			h[k] = (uint8_t)rnd(&seed);
		c = mr_ipv4_hdr_cksum(h, hlen);
		memcpy(tmp, h, hlen);
		tmp[10] = 0;
		tmp[11] = 0;
		assert_int_equal(field_be(c), (uint16_t)~ref_sum(tmp, hlen, 0) & 0xffff);
		store16(h + 10, c);
		assert_int_equal(mr_csum_fold(mr_csum_partial(h, hlen, 0)), 0xffff);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_vectors),
		cmocka_unit_test(test_partial_lengths_alignments),
		cmocka_unit_test(test_partial_long),
		cmocka_unit_test(test_udp_vs_reference),
		cmocka_unit_test(test_incremental_random),
		cmocka_unit_test(test_corner_cases),
		cmocka_unit_test(test_ipv4_hdr_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
