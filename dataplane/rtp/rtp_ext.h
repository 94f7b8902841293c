/* SPDX-License-Identifier: BSD-3-Clause
 * RTP header extensions (RFC 8285) and the client-to-mixer audio level (RFC 6464).
 *
 * Pure C, static inline, per packet on the owner lcore: no allocation, no division, and the
 * only loop walks the extension elements. Every reader takes the bytes of one RTP packet
 * (rtp, len) and never reads at or past rtp + len, whatever they hold.
 */
#ifndef MR_RTP_EXT_H
#define MR_RTP_EXT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "mr_types.h"

#define MR_RTP_HDR_LEN		12	/* RFC 3550 §5.1 fixed header */
#define MR_RTP_EXT_ONE_BYTE	0xBEDE	/* RFC 8285 §4.2 "defined by profile" value */
#define MR_RTP_EXT_TWO_BYTE	0x1000	/* RFC 8285 §4.3: 0x100 + 4 "appbits" */
#define MR_RTP_EXT_TWO_MASK	0xFFF0
#define MR_RTP_EXT_ID_STOP	15	/* RFC 8285 §4.2: reserved, ends the one-byte parse */

/*
 * Offset of the header extension (its 16-bit profile word) in an RTP packet, from the fixed
 * header and the CSRC count (RFC 3550 §5.1, §5.3.1). Returns 0 when the packet has none, a
 * negative errno when it is malformed; *end receives the offset just past the extension data.
 */
static inline int
mr_rtp_ext_locate(const uint8_t *rtp, size_t len, size_t *start, size_t *end)
{
	size_t off;

	if (rtp == NULL || len < MR_RTP_HDR_LEN || rtp[0] >> 6 != 2)
		return -EINVAL;
	off = MR_RTP_HDR_LEN + (size_t)(rtp[0] & 0x0f) * 4;
	if (off > len)
		return -EINVAL;
	if (!(rtp[0] & 0x10)) {
		*start = off;
		*end = off;
		return 0;
	}
	/* §5.3.1: profile (16 bits), length in 32-bit words excluding this 4-byte header. */
	if (len - off < 4)
		return -EINVAL;
	*start = off;
	*end = off + 4 + ((size_t)rtp[off + 2] << 8 | rtp[off + 3]) * 4;
	if (*end > len)
		return -EINVAL;
	return 1;
}

/* A walk over the RFC 8285 elements of one packet (mr_rtp_ext_walk, mr_rtp_ext_next). */
struct mr_rtp_ext_iter {
	size_t i, end;		/* next byte, end of the extension data */
	int two;		/* two-byte form */
};

/* Start a walk: 1 when the packet has RFC 8285 elements to walk, 0 when it has no extension
 * or another profile's (§5.3.1: valid, no element), -EINVAL when malformed. */
static inline int
mr_rtp_ext_walk(const uint8_t *rtp, size_t len, struct mr_rtp_ext_iter *it)
{
	size_t start;
	uint16_t profile;
	int rc;

	rc = mr_rtp_ext_locate(rtp, len, &start, &it->end);
	if (rc <= 0)
		return rc;
	profile = (uint16_t)(rtp[start] << 8 | rtp[start + 1]);
	it->i = start + 4;
	it->two = (profile & MR_RTP_EXT_TWO_MASK) == MR_RTP_EXT_TWO_BYTE;
	return profile == MR_RTP_EXT_ONE_BYTE || it->two;
}

/* The next element, padding skipped: 1 with *at (the offset of its ID byte), *id, and its
 * data at rtp + *data_at, *dlen bytes; 0 at the end (or at a one-byte ID 15); -EINVAL when
 * it runs past the extension. */
static inline int
mr_rtp_ext_next(const uint8_t *rtp, struct mr_rtp_ext_iter *it, size_t *at, unsigned int *id,
		size_t *data_at, uint8_t *dlen)
{
	size_t elen, hl = it->two ? 2 : 1;

	while (it->i < it->end && rtp[it->i] == 0)
		it->i++;
	if (it->i >= it->end)
		return 0;
	if (it->two) {
		if (it->end - it->i < 2)
			return -EINVAL;
		*id = rtp[it->i];
		elen = rtp[it->i + 1];
	} else {
		*id = rtp[it->i] >> 4;
		if (*id == MR_RTP_EXT_ID_STOP)
			return 0;
		elen = (size_t)(rtp[it->i] & 0x0f) + 1;
	}
	if (elen > it->end - it->i - hl)
		return -EINVAL;
	*at = it->i;
	*data_at = it->i + hl;
	*dlen = (uint8_t)elen;
	it->i += hl + elen;
	return 1;
}

/*
 * Find the RFC 8285 element with local identifier id. Returns 1 with *data and *dlen set to
 * the element's bytes (inside rtp), 0 when the packet has no such element (no X bit, or an
 * extension that is neither the one-byte nor the two-byte form), -EINVAL when the header or
 * the extension is malformed (version not 2, CSRCs or extension past len, an element running
 * past the extension's end).
 *
 * One-byte form (profile 0xBEDE, §4.2): ID (4 bits) and length - 1 (4 bits), IDs 1..14; ID 0
 * bytes are padding; ID 15 stops the parse (its length is not to be trusted). Two-byte form
 * (profile 0x100x, §4.3): ID (8 bits), length (8 bits, may be 0), IDs 1..255; 0 bytes are
 * padding. An element found before a malformed one later in the list is still returned.
 */
static inline int
mr_rtp_ext_find(const uint8_t *rtp, size_t len, uint8_t id, const uint8_t **data,
		uint8_t *dlen)
{
	struct mr_rtp_ext_iter it;
	size_t at, dat;
	unsigned int eid;
	int rc;

	if (data == NULL || dlen == NULL)
		return -EINVAL;
	rc = mr_rtp_ext_walk(rtp, len, &it);
	while (rc > 0) {
		rc = mr_rtp_ext_next(rtp, &it, &at, &eid, &dat, dlen);
		if (rc > 0 && eid == id) {
			*data = rtp + dat;
			return 1;
		}
	}
	return rc;
}

/* The id in map `to` of the element numbered id in map `from` (nonzero maps): the same
 * extension's id, or to's unused id when to did not negotiate it or from does not know id
 * (or it is from's mid, MR_EXT_MID). */
static inline uint8_t
mr_rtp_ext_map_id(uint32_t from, uint32_t to, unsigned int id)
{
	unsigned int k;

	if (((from & MR_EXT_MID_MASK) >> (4 * MR_EXT_MID)) == id)
		return (uint8_t)(to & 0xf);

	for (k = 1; k <= MR_EXT_KINDS; k++)
		if (((from >> (4 * k)) & 0xf) == id) {
			uint8_t t = (uint8_t)((to >> (4 * k)) & 0xf);

			return t != 0 ? t : (uint8_t)(to & 0xf);
		}
	return (uint8_t)(to & 0xf);
}

/*
 * Renumber in place the RFC 8285 elements of an RTP packet from numbering `from` to numbering
 * `to` (both nonzero maps): each element keeps its bytes, its id becomes mr_rtp_ext_map_id().
 * Padding stays, the one-byte form's ID 15 ends the walk as it ends a parse. Returns the
 * elements renumbered, or -EINVAL when the header or an element is malformed (the elements
 * before it are renumbered, the rest left as they are).
 */
static inline int
mr_rtp_ext_renumber(uint8_t *rtp, size_t len, uint32_t from, uint32_t to)
{
	struct mr_rtp_ext_iter it;
	size_t at, dat;
	unsigned int id;
	uint8_t dlen, nid;
	int rc, n = 0;

	rc = mr_rtp_ext_walk(rtp, len, &it);
	while (rc > 0) {
		rc = mr_rtp_ext_next(rtp, &it, &at, &id, &dat, &dlen);
		if (rc <= 0)
			break;
		nid = mr_rtp_ext_map_id(from, to, id);
		rtp[at] = it.two ? nid : (uint8_t)(nid << 4 | (rtp[at] & 0x0f));
		n++;
	}
	return rc < 0 ? rc : n;
}

/*
 * RFC 6464 §3 audio level element: one byte, V (bit 7: the sender's voice activity
 * decision) and the level in -dBov (0 = loudest, 127 = silence or quieter). The RFC fixes the
 * data at one byte in both forms (one-byte length field 0, two-byte length 1): any other
 * length is refused. Returns 0, or -EINVAL.
 */
static inline int
mr_audio_level_parse(const uint8_t *d, uint8_t dlen, uint8_t *level, int *voice)
{
	if (d == NULL || dlen != 1 || level == NULL || voice == NULL)
		return -EINVAL;
	*voice = d[0] >> 7;
	*level = d[0] & 0x7f;
	return 0;
}

/*
 * Offset of the payload: 12 + 4 * CC, plus 4 + 4 * extension length when X is set (RFC 3550
 * §5.1, §5.3.1). 0 when the packet is malformed (shorter than its headers, or not version 2).
 * The result may equal len (empty payload); RTP padding (P bit) is not subtracted here.
 */
static inline size_t
mr_rtp_payload_offset(const uint8_t *rtp, size_t len)
{
	size_t start, end;

	if (mr_rtp_ext_locate(rtp, len, &start, &end) < 0)
		return 0;
	return end;
}

#endif
