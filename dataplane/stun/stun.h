/* SPDX-License-Identifier: BSD-3-Clause
 * STUN (RFC 5389) as ICE-lite needs it (RFC 8445 §7.3): parse a Binding request, check its
 * MESSAGE-INTEGRITY (HMAC-SHA1, short-term credentials) and FINGERPRINT (CRC-32), build the
 * success response with XOR-MAPPED-ADDRESS. Pure C (no EAL, no allocation), shared by the
 * owner lcore (ice.c), the unit tests (RFC 5769 vectors) and the fuzz harness. SHA-1 and
 * CRC-32 are small implementations of their own so that the worker needs no library that
 * allocates.
 */
#ifndef MR_STUN_H
#define MR_STUN_H

#include <stddef.h>
#include <stdint.h>

#include "ice_dp.h"
#include "mr_types.h"

#define MR_STUN_HDR		20
#define MR_STUN_MAGIC		0x2112A442u
#define MR_STUN_BINDING_REQ	0x0001
#define MR_STUN_BINDING_OK	0x0101

#define MR_STUN_A_MAPPED	0x0001
#define MR_STUN_A_USERNAME	0x0006
#define MR_STUN_A_MI		0x0008
#define MR_STUN_A_XOR_MAPPED	0x0020
#define MR_STUN_A_PRIORITY	0x0024
#define MR_STUN_A_USE_CAND	0x0025
#define MR_STUN_A_SOFTWARE	0x8022
#define MR_STUN_A_FINGERPRINT	0x8028
#define MR_STUN_A_CONTROLLED	0x8029
#define MR_STUN_A_CONTROLLING	0x802A
#define MR_STUN_FP_XOR		0x5354554eu

/* A parsed message; offsets are from its first byte. */
struct mr_stun_msg {
	uint16_t type;
	uint16_t len;			/* bytes after the header, as the header says */
	uint16_t username_off;		/* value of USERNAME, 0: none */
	uint16_t username_len;
	uint16_t mi_off;		/* MESSAGE-INTEGRITY attribute header, 0: none */
	uint16_t fp_off;		/* FINGERPRINT attribute header, 0: none */
	uint32_t priority;
	uint8_t use_candidate;
	uint8_t controlling;		/* ICE-CONTROLLING present */
	uint8_t controlled;
	uint8_t unknown_required;	/* comprehension-required attributes not understood */
};

/* Parse len bytes at p. 0, or -1 when it is not a well-formed STUN message (header, magic
 * cookie, length, attribute bounds, FINGERPRINT last, at most FINGERPRINT after
 * MESSAGE-INTEGRITY). Attributes after MESSAGE-INTEGRITY other than FINGERPRINT are
 * ignored (RFC 5389 §15.4). */
int mr_stun_parse(const uint8_t *p, size_t len, struct mr_stun_msg *m);
/* 1 when the message's FINGERPRINT verifies (a message without one: 1, nothing to check),
 * else 0. */
int mr_stun_fingerprint_ok(const uint8_t *p, const struct mr_stun_msg *m);
/* 1 when MESSAGE-INTEGRITY is present and verifies under key k, else 0 (constant time). */
int mr_stun_integrity_ok(const uint8_t *p, const struct mr_stun_msg *m,
			 const struct mr_hmac_sha1_key *k);
/* 1 when USERNAME is present and is "ufrag:..." (RFC 8445 §7.3: the local ufrag first). */
int mr_stun_username_ok(const uint8_t *p, const struct mr_stun_msg *m, const char *ufrag,
			size_t ufrag_len);

/* Bytes of the success response mr_stun_build_ok() writes for a mapped address family. */
static inline size_t
mr_stun_ok_len(uint8_t family)
{
	return MR_STUN_HDR + (family == MR_AF4 ? 12 : 24) + 24 + 8;
}

/* Write a Binding success response at out (room bytes; out may be the request itself) with
 * transaction id tid (12 bytes, read before anything is written), XOR-MAPPED-ADDRESS mapped,
 * MESSAGE-INTEGRITY under k and FINGERPRINT. Returns its length, or 0 when room is too small. */
size_t mr_stun_build_ok(uint8_t *out, size_t room, const uint8_t *tid, const struct mr_ep *mapped,
			const struct mr_hmac_sha1_key *k);
/* The XOR-MAPPED-ADDRESS (or MAPPED-ADDRESS) of a message into ep. 0, or -1 when it has
 * none. */
int mr_stun_mapped(const uint8_t *p, const struct mr_stun_msg *m, struct mr_ep *ep);

/* SHA-1 (FIPS 180-4). */
struct mr_sha1 {
	uint32_t h[5];
	uint64_t total;			/* bytes hashed */
	uint8_t buf[64];
	unsigned int n;			/* bytes in buf */
};

void mr_sha1_init(struct mr_sha1 *s);
void mr_sha1_update(struct mr_sha1 *s, const void *data, size_t len);
void mr_sha1_final(struct mr_sha1 *s, uint8_t out[20]);
/* HMAC-SHA1 of the concatenation of a and b (either may be empty) under k. */
void mr_hmac_sha1(const struct mr_hmac_sha1_key *k, const void *a, size_t alen, const void *b,
		  size_t blen, uint8_t out[20]);
/* CRC-32 (ISO-HDLC, as in Ethernet and RFC 5389 §15.5) of len bytes, continuing crc
 * (0 to start). */
uint32_t mr_crc32(uint32_t crc, const void *data, size_t len);

#endif
