/* SPDX-License-Identifier: BSD-3-Clause
 * Types shared by the dataplane and the control plane (the boundary, DESIGN.md §3).
 * Pure C: no EAL needed.
 */
#ifndef MR_TYPES_H
#define MR_TYPES_H

#include <stdint.h>
#include <string.h>

#define MR_AF4 4
#define MR_AF6 6

/* A UDP endpoint. IPv4 addresses live in a[0..3], the rest is zero; every byte is in
 * network order except port, which is in host order. Compare with mr_ep_eq(). */
struct mr_ep {
	uint8_t family;		/* MR_AF4, MR_AF6, or 0 for "none" */
	uint8_t pad;
	uint16_t port;		/* host order */
	uint8_t a[16];
};

static inline int
mr_ep_eq(const struct mr_ep *x, const struct mr_ep *y)
{
	return x->family == y->family && x->port == y->port && memcmp(x->a, y->a, 16) == 0;
}

/* x * num / den for a den fixed at start (a TSC frequency), without a division per use: one
 * 64x64->128-bit multiplication and a shift (mr_scale()). mr_scale_init() rounds the factor
 * up and picks the largest shift that keeps it under 2^63. The result is floor(x * num / den)
 * exactly while x <= 2^shift / den (about 2^63 / num: for TSC cycles to 1/65536 s, 2^47
 * cycles, hours); beyond, it is never below and at most x / 2^shift + 1 above, a relative
 * error under 2^-62 (tests/unit/test_scale.c). */
struct mr_scale {
	uint64_t mult;
	uint32_t shift;
};

/* 0, or -1 (and a factor of 0) when den is 0 or num / den is 2^63 or more. */
static inline int
mr_scale_init(struct mr_scale *s, uint64_t num, uint64_t den)
{
	uint32_t sh;

	s->mult = 0;
	s->shift = 0;
	if (den == 0 || num / den >= (1ULL << 63))
		return -1;
	for (sh = 0; sh < 126; sh++) {
		/* One more bit while num << (sh + 1) stays below 2^127 (num < 2^(126 - sh);
		 * always true below sh = 63) and the factor below 2^63. */
		if (sh >= 63 && (num >> (126 - sh)) != 0)
			break;
		if ((((unsigned __int128)num << (sh + 1)) + den - 1) / den >=
		    (unsigned __int128)1 << 63)
			break;
	}
	s->shift = sh;
	s->mult = (uint64_t)((((unsigned __int128)num << sh) + den - 1) / den);
	return 0;
}

/* x * num / den (mr_scale_init), saturated at UINT64_MAX. */
static inline uint64_t
mr_scale(const struct mr_scale *s, uint64_t x)
{
	unsigned __int128 r = ((unsigned __int128)x * s->mult) >> s->shift;

	return r > UINT64_MAX ? UINT64_MAX : (uint64_t)r;
}

/* An interface address with its prefix. */
struct mr_prefix {
	uint8_t family;		/* 0 when not configured */
	uint8_t len;		/* prefix length */
	uint8_t a[16];
};

/*
 * Header extension numbering maps (room_dp.h ext_out, rtp_ext.h mr_rtp_ext_renumber): what a
 * participant's SDP numbered the extensions mrelay negotiates, a nibble each: nibble
 * MR_EXT_LEVEL (RFC 6464 audio level), MR_EXT_AST (abs-send-time), MR_EXT_TCC
 * (transport-wide-cc), 0 when not negotiated; nibble 0 holds an id (1..14) the participant
 * gave none of them, under which a receiver ignores an element. A map of 0: no numbering
 * known (plain RTP participants).
 */
#define MR_EXT_LEVEL	1
#define MR_EXT_AST	2
#define MR_EXT_TCC	3
#define MR_EXT_KINDS	3
/* Nibble 4: the participant's id of the BUNDLE mid (RFC 8843 §15), which mrelay reads (to
 * learn SSRCs) but never passes on: a mid names a section of its sender's session, so in a
 * copy its element always goes to the receiver's unused id, even between equal maps. */
#define MR_EXT_MID	4
#define MR_EXT_MID_MASK	(0xfu << (4 * MR_EXT_MID))

#endif
