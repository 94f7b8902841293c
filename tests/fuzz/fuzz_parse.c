/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer harness for the packet parser, the payload classifier, the checksum helpers and
 * the RTP statistics. Built with -fsanitize=fuzzer,address,undefined (tests/fuzz/meson.build).
 *
 * The input is one Ethernet frame, in an exactly sized heap buffer so that ASan reports any
 * read past len. Besides memory safety it checks the promises of each module and traps when
 * one is broken:
 *  - mr_pkt_parse(): offsets and lengths of an accepted frame lie inside it and agree with
 *    each other; a drop reason is a valid enum mr_drop; the result does not depend on bytes
 *    after len (the same frame with a different trailer parses the same when the IP lengths
 *    fit, and any cut shorter than the IP datagram is dropped);
 *  - mr_udp_cksum()/mr_csum_replace(): rewriting ports and addresses incrementally gives the
 *    full recomputation, and a checksummed datagram verifies;
 *  - mr_rtp_stats: fed the input as a stream of 12-byte headers plus the parsed RTP payload,
 *    received never decreases by packet and lost == expected - received.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkt_parse.h"
#include "cksum.h"
#include "rtp_stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static void
check_info(enum mr_verdict v, const struct mr_pkt_info *pi, uint32_t len)
{
	CHECK(v <= MR_V_DROP);
	CHECK(pi->class < MR_CLASS_MAX);
	if (v == MR_V_DROP) {
		CHECK(pi->drop < MR_DROP_MAX);
		return;
	}
	CHECK(pi->drop == 0);
	CHECK(pi->l2_len == 14 || pi->l2_len == 18);
	CHECK(pi->has_vlan == (pi->l2_len == 18));
	CHECK(pi->vlan < 4096);
	CHECK(pi->l4_off == pi->l2_len + pi->l3_len);
	CHECK(pi->l4_off <= len);
	if (v == MR_V_ARP) {
		CHECK(pi->l3_len == 28 && pi->family == 0);
		return;
	}
	CHECK((uint32_t)pi->l4_off + pi->l4_len <= len);
	CHECK(pi->l4_len >= 8);
	if (pi->family == MR_AF4)
		CHECK(pi->l3_len >= 20 && pi->l3_len <= 60 && pi->l3_len % 4 == 0);
	else
		CHECK(pi->family == MR_AF6 && pi->l3_len == 40);
	if (v == MR_V_UDP) {
		CHECK(pi->l4_proto == 17);
		CHECK(pi->payload_off == pi->l4_off + 8);
		CHECK(pi->payload_len == pi->l4_len - 8);
		CHECK(pi->class != MR_CLASS_RTP || pi->payload_len >= 12);
		CHECK(pi->class != MR_CLASS_RTCP || pi->payload_len >= 8);
	} else {
		CHECK(pi->l4_proto == (v == MR_V_ICMP4 ? 1 : 58));
		CHECK(pi->family == (v == MR_V_ICMP4 ? MR_AF4 : MR_AF6));
	}
}

/* Incremental rewrite of a UDP datagram's ports and addresses against a full recomputation.
 * The datagram is copied, so the input stays read-only. */
static void
check_cksum(const uint8_t *frame, const struct mr_pkt_info *pi)
{
	const uint8_t *ip = frame + pi->l2_len;
	size_t alen = pi->family == MR_AF6 ? 16 : 4;
	uint8_t src[16], dst[16], nsrc[16], ndst[16];
	uint8_t *udp;
	uint32_t old_sum, new_sum;
	uint16_t field, inc, full;
	size_t i;

	memcpy(src, ip + (pi->family == MR_AF6 ? 8 : 12), alen);
	memcpy(dst, ip + (pi->family == MR_AF6 ? 24 : 16), alen);
	udp = malloc(pi->l4_len);
	CHECK(udp != NULL);
	memcpy(udp, frame + pi->l4_off, pi->l4_len);

	field = mr_udp_cksum(pi->family, src, dst, udp, pi->l4_len);
	CHECK(field != 0);
	memcpy(udp + 6, &field, 2);
	CHECK(mr_csum_fold(mr_csum_partial(udp, pi->l4_len,
		mr_udp_pseudo_sum(pi->family, src, dst, pi->l4_len))) == 0xffff);

	/* New endpoints derived from the old ones (swapped and perturbed). */
	for (i = 0; i < alen; i++) {
		nsrc[i] = (uint8_t)(dst[i] ^ 0x5a);
		ndst[i] = (uint8_t)(src[i] + i);
	}
	old_sum = mr_csum_partial(src, alen, 0);
	old_sum = mr_csum_partial(dst, alen, old_sum);
	old_sum = mr_csum_partial(udp, 4, old_sum);
	udp[0] = (uint8_t)~udp[2];
	udp[1] = (uint8_t)(udp[3] + 1);
	udp[2] = 0;
	udp[3] = 0;
	new_sum = mr_csum_partial(nsrc, alen, 0);
	new_sum = mr_csum_partial(ndst, alen, new_sum);
	new_sum = mr_csum_partial(udp, 4, new_sum);
	inc = mr_udp_cksum_replace(field, old_sum, new_sum);
	full = mr_udp_cksum(pi->family, nsrc, ndst, udp, pi->l4_len);
	CHECK(inc == full);
	free(udp);

	if (pi->family == MR_AF4) {
		uint16_t c = mr_ipv4_hdr_cksum(ip, pi->l3_len);
		uint8_t h[60];

		memcpy(h, ip, pi->l3_len);
		memcpy(h + 10, &c, 2);
		CHECK(mr_csum_fold(mr_csum_partial(h, pi->l3_len, 0)) == 0xffff);
	}
}

static void
check_stats(const uint8_t *data, size_t size, const uint8_t *frame, const struct mr_pkt_info *pi,
	    enum mr_verdict v)
{
	struct mr_rtp_stats s;
	uint64_t rx = 0;
	size_t off;

	mr_rtp_stats_init(&s);
	for (off = 0; off + 16 <= size; off += 16) {
		uint32_t arrival;

		memcpy(&arrival, data + off + 12, 4);
		mr_rtp_stats_update(&s, data + off, arrival, data[off + 12] & 1);
		CHECK(mr_rtp_stats_have_ssrc(&s));
		CHECK(mr_rtp_stats_received(&s) - rx <= 1);
		rx = mr_rtp_stats_received(&s);
		CHECK(mr_rtp_stats_lost(&s) ==
		      (int64_t)mr_rtp_stats_expected(&s) - (int64_t)rx);
		CHECK(mr_rtp_stats_pt(&s) == (data[off + 1] & 0x7f));
		(void)mr_rtp_stats_jitter(&s);
		(void)mr_static_pt_clock_rate(data[off + 1]);
	}
	if (v == MR_V_UDP && pi->class == MR_CLASS_RTP) {
		mr_rtp_stats_update(&s, frame + pi->payload_off, 0, 1);
		CHECK(mr_rtp_stats_lost(&s) == (int64_t)mr_rtp_stats_expected(&s) -
		      (int64_t)mr_rtp_stats_received(&s));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mr_pkt_info pi, pi2;
	enum mr_verdict v, v2;
	uint32_t len = size > UINT16_MAX ? UINT16_MAX : (uint32_t)size;
	uint8_t *frame;

	/* Exactly len bytes on the heap: ASan catches any read at frame[len]. */
	frame = malloc(len ? len : 1);
	CHECK(frame != NULL);
	if (len)
		memcpy(frame, data, len);

	v = mr_pkt_parse(frame, len, &pi);
	check_info(v, &pi, len);

	if (v == MR_V_UDP) {
		enum mr_class c = mr_pkt_classify(frame + pi.payload_off, pi.payload_len);

		/* RTP/RTCP that were too short are drops, so an accepted class is this one. */
		CHECK(c == pi.class);
		check_cksum(frame, &pi);
	}
	/* Everything but the drop reason depends only on bytes the parser may read: cutting
	 * the frame right after the L4 data gives the same answer. */
	if (v != MR_V_DROP && v != MR_V_ARP) {
		uint32_t cut = (uint32_t)pi.l4_off + pi.l4_len;
		uint8_t *f2 = malloc(cut);

		CHECK(f2 != NULL);
		memcpy(f2, frame, cut);
		v2 = mr_pkt_parse(f2, cut, &pi2);
		/* IPv4/IPv6 may declare more than UDP uses: then the cut is short of the IP
		 * datagram and must be dropped as truncated. */
		if (v2 != MR_V_DROP)
			CHECK(v2 == v && memcmp(&pi, &pi2, sizeof(pi)) == 0);
		else
			CHECK(pi2.drop == MR_DROP_IP4_MALFORMED ||
			      pi2.drop == MR_DROP_IP6_MALFORMED);
		free(f2);
	}
	(void)mr_pkt_classify(frame, (uint16_t)len);
	check_stats(data, size, frame, &pi, v);
	free(frame);
	return 0;
}
