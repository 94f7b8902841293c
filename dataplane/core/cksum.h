/* SPDX-License-Identifier: BSD-3-Clause
 * Internet checksum (RFC 1071) and incremental update (RFC 1624) for header rewriting.
 *
 * Pure C, static inline. Sums are taken over raw memory with native-endian loads: RFC 1071
 * §2(B) shows the ones' complement sum is byte-order independent, so a sum computed on a
 * little-endian host is the byte-swapped network-order sum, and its complement stored back
 * with a native store lands in the packet in the right order. Hence every 16-bit "field value"
 * here is the field as it sits in the packet, loaded or stored with memcpy (no byte swap).
 */
#ifndef MR_CKSUM_H
#define MR_CKSUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mr_types.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Fold a 64-bit accumulator to a 32-bit partial sum. 2^32 == 1 (mod 0xffff), so adding the
 * high half to the low half keeps the ones' complement value. */
static inline uint32_t
mr_csum_fold64(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

#if defined(__SSE2__)
/* The sum of n bytes at p, n a multiple of 32, 32 bytes a step (an encrypted payload is summed
 * whole: docs/PERFORMANCE.md "SRTP in the relay"): each 32-bit lane adds its two 16-bit words
 * apart, the high one shifted down (2^16 == 1 (mod 0xffff)), into two accumulators. A lane
 * grows by at most 2 * 0xffff a step, so they are emptied every 1024 steps (32 KiB), far from
 * 2^32. Not inlined: the short sums of header rewriting stay small. */
static __attribute__((noinline, unused)) uint64_t
mr_csum_sse2(const uint8_t *p, size_t n)
{
	const __m128i lo = _mm_set1_epi32(0xffff);
	uint64_t s = 0;

	while (n != 0) {
		__m128i a = _mm_setzero_si128(), b = _mm_setzero_si128();
		uint32_t t[4];
		unsigned int k;

		for (k = 0; k < 1024 && n != 0; k++) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
			__m128i y = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));

			a = _mm_add_epi32(a, _mm_and_si128(x, lo));
			b = _mm_add_epi32(b, _mm_and_si128(y, lo));
			a = _mm_add_epi32(a, _mm_srli_epi32(x, 16));
			b = _mm_add_epi32(b, _mm_srli_epi32(y, 16));
			p += 32;
			n -= 32;
		}
		_mm_storeu_si128((__m128i *)(void *)t, _mm_add_epi32(a, b));
		s += (uint64_t)t[0] + t[1] + t[2] + t[3];
	}
	return s;
}
#endif

/* Add the ones' complement sum of len bytes at buf (any alignment, odd len ok) to sum.
 * The result is a partial sum: fold it with mr_csum_fold(). Sums of pieces at even offsets
 * add up to the sum of the whole (RFC 1071 §2(C)); a piece of odd length must be the last. */
static inline uint32_t
mr_csum_partial(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	uint64_t s = sum, s2 = 0;
	uint32_t w32;
	uint16_t w16;

#if defined(__SSE2__)
	if (len >= 64) {
		size_t n = len & ~(size_t)31;

		s += mr_csum_sse2(p, n);
		p += n;
		len -= n;
	}
#endif
	/* 32-bit native words: each is w_lo + w_hi * 2^16 and 2^16 == 1 (mod 0xffff), so
	 * adding them is adding both 16-bit words. The 64-bit accumulators cannot overflow
	 * below 2^31 words. Four words a step into two accumulators: two independent chains
	 * of adds (the rest after SSE2's steps; everything without SSE2). */
	while (len >= 16) {
		uint64_t a, b;

		memcpy(&a, p, 8);
		memcpy(&b, p + 8, 8);
		s += (a & 0xffffffffu) + (a >> 32);
		s2 += (b & 0xffffffffu) + (b >> 32);
		p += 16;
		len -= 16;
	}
	s = (s & 0xffffffffu) + (s >> 32) + (s2 & 0xffffffffu) + (s2 >> 32);
	while (len >= 4) {
		memcpy(&w32, p, 4);
		s += w32;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&w16, p, 2);
		s += w16;
		p += 2;
		len -= 2;
	}
	if (len) {
		/* RFC 1071 §4.1: a trailing byte is padded with a zero byte after it; copying
		 * it to the first byte of a zeroed word does that in either byte order. */
		w16 = 0;
		memcpy(&w16, p, 1);
		s += w16;
	}
	return mr_csum_fold64(s);
}

/* Fold a partial sum to 16 bits with end-around carry; not complemented. */
static inline uint16_t
mr_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). old_sum / new_sum are mr_csum_partial() of the
 * old and new bytes that changed (same length, or at least the same even starting offset).
 * Returns the new checksum field. Eqn. 3 works on the complemented checksum, so a checksum
 * that should be zero comes out as 0x0000, as a full computation gives, not as the -0 (0xffff)
 * of RFC 1141's form (RFC 1624 §3).
 * UDP's "0 means no checksum" rule is not applied here: see mr_udp_cksum_replace(). */
static inline uint16_t
mr_csum_replace(uint16_t old_field, uint32_t old_sum, uint32_t new_sum)
{
	uint32_t s;

	s = (uint16_t)~old_field;
	s += (uint16_t)~mr_csum_fold(old_sum);
	s += mr_csum_fold(new_sum);
	return (uint16_t)~mr_csum_fold(s);
}

/* mr_csum_replace() for a UDP checksum field (RFC 768): a zero field over IPv4 means the
 * sender sent no checksum, so it stays zero (a caller moving such a datagram to IPv6 must
 * compute it in full, RFC 8200 §8.1); a computed zero is transmitted as 0xffff. */
static inline uint16_t
mr_udp_cksum_replace(uint16_t old_field, uint32_t old_sum, uint32_t new_sum)
{
	uint16_t c;

	if (old_field == 0)
		return 0;
	c = mr_csum_replace(old_field, old_sum, new_sum);
	return c == 0 ? 0xffff : c;
}

/* Ones' complement sum of the UDP pseudo-header: source and destination address, protocol 17
 * and the UDP length (RFC 768 for IPv4; RFC 8200 §8.1 for IPv6, whose 32-bit length and
 * 24 zero bits before the next header add up to the same value). src/dst hold 4 bytes for
 * MR_AF4 and 16 for MR_AF6, in network order. */
static inline uint32_t
mr_udp_pseudo_sum(uint8_t family, const uint8_t *src, const uint8_t *dst, uint16_t udp_len)
{
	const uint8_t tail[4] = { 0, 17, (uint8_t)(udp_len >> 8), (uint8_t)udp_len };
	size_t alen = family == MR_AF6 ? 16 : 4;
	uint32_t sum;

	sum = mr_csum_partial(src, alen, 0);
	sum = mr_csum_partial(dst, alen, sum);
	return mr_csum_partial(tail, sizeof(tail), sum);
}

/* Complete UDP checksum field over pseudo-header + UDP header + payload (udp_len bytes at
 * udp, the UDP length field's value). The checksum field inside udp is taken as zero whatever
 * it holds; a zero result is returned as 0xffff (RFC 768: zero means "no checksum"). */
static inline uint16_t
mr_udp_cksum(uint8_t family, const uint8_t *src, const uint8_t *dst,
	     const void *udp, uint16_t udp_len)
{
	const uint8_t *u = udp;
	uint32_t sum;
	uint16_t c;

	sum = mr_udp_pseudo_sum(family, src, dst, udp_len);
	/* Ports and length (bytes 0..5), skip the checksum (6..7), then the payload. */
	sum = mr_csum_partial(u, udp_len < 6 ? udp_len : 6, sum);
	if (udp_len > 8)
		sum = mr_csum_partial(u + 8, (size_t)udp_len - 8, sum);
	c = (uint16_t)~mr_csum_fold(sum);
	return c == 0 ? 0xffff : c;
}

/* ICMPv6 checksum field (RFC 4443 §2.3): pseudo-header of the IPv6 header at ip6 (its source
 * and destination) with next header 58, then len bytes of the message at icmp, whose checksum
 * field (bytes 2..3) is taken as zero. */
static inline uint16_t
mr_icmp6_cksum(const uint8_t *ip6, const uint8_t *icmp, uint16_t len)
{
	const uint8_t tail[4] = { (uint8_t)(len >> 8), (uint8_t)len, 0, 58 };
	uint32_t sum;

	sum = mr_csum_partial(ip6 + 8, 32, 0);	/* source and destination */
	sum = mr_csum_partial(tail, sizeof(tail), sum);
	sum = mr_csum_partial(icmp, len < 2 ? len : 2, sum);
	if (len > 4)
		sum = mr_csum_partial(icmp + 4, (size_t)len - 4, sum);
	return (uint16_t)~mr_csum_fold(sum);
}

/* IPv4 header checksum field (RFC 791 §3.1) over hdr_len bytes at ip (options included),
 * the checksum field (bytes 10..11) taken as zero. */
static inline uint16_t
mr_ipv4_hdr_cksum(const void *ip, size_t hdr_len)
{
	const uint8_t *h = ip;
	uint32_t sum;

	sum = mr_csum_partial(h, hdr_len < 10 ? hdr_len : 10, 0);
	if (hdr_len > 12)
		sum = mr_csum_partial(h + 12, hdr_len - 12, sum);
	return (uint16_t)~mr_csum_fold(sum);
}

#endif
