/* SPDX-License-Identifier: BSD-3-Clause
 * STUN for ICE-lite: parse, check and answer Binding requests (stun.h). Pure C.
 */
#include <string.h>

#include "stun.h"

/* ---- SHA-1 (FIPS 180-4 §6.1) ---- */

static inline uint32_t
rol32(uint32_t x, unsigned int n)
{
	return (x << n) | (x >> (32 - n));
}

static inline uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static inline void
put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void
sha1_block(uint32_t h[5], const uint8_t *b)
{
	uint32_t w[80], a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4], t;
	unsigned int i;

	for (i = 0; i < 16; i++)
		w[i] = be32(b + 4 * i);
	for (; i < 80; i++)
		w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	for (i = 0; i < 80; i++) {
		uint32_t f, k;

		if (i < 20) {
			f = (bb & c) | (~bb & d);
			k = 0x5A827999;
		} else if (i < 40) {
			f = bb ^ c ^ d;
			k = 0x6ED9EBA1;
		} else if (i < 60) {
			f = (bb & c) | (bb & d) | (c & d);
			k = 0x8F1BBCDC;
		} else {
			f = bb ^ c ^ d;
			k = 0xCA62C1D6;
		}
		t = rol32(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = rol32(bb, 30);
		bb = a;
		a = t;
	}
	h[0] += a;
	h[1] += bb;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

void
mr_sha1_init(struct mr_sha1 *s)
{
	static const uint32_t iv[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476,
					0xC3D2E1F0 };

	memcpy(s->h, iv, sizeof(iv));
	s->total = 0;
	s->n = 0;
}

void
mr_sha1_update(struct mr_sha1 *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (len == 0)
		return;		/* data may be NULL (mr_stun_build_ok's second part) */
	s->total += len;
	if (s->n != 0) {
		size_t take = 64 - s->n < len ? 64 - s->n : len;

		memcpy(s->buf + s->n, p, take);
		s->n += take;
		p += take;
		len -= take;
		if (s->n < 64)
			return;
		sha1_block(s->h, s->buf);
		s->n = 0;
	}
	for (; len >= 64; p += 64, len -= 64)
		sha1_block(s->h, p);
	memcpy(s->buf, p, len);
	s->n = len;
}

void
mr_sha1_final(struct mr_sha1 *s, uint8_t out[20])
{
	uint64_t bits = s->total * 8;
	unsigned int i;

	s->buf[s->n++] = 0x80;
	if (s->n > 56) {
		memset(s->buf + s->n, 0, 64 - s->n);
		sha1_block(s->h, s->buf);
		s->n = 0;
	}
	memset(s->buf + s->n, 0, 56 - s->n);
	for (i = 0; i < 8; i++)
		s->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	sha1_block(s->h, s->buf);
	for (i = 0; i < 5; i++)
		put32(out + 4 * i, s->h[i]);
}

/* ---- HMAC-SHA1 (RFC 2104) ---- */

void
mr_hmac_sha1_key_init(struct mr_hmac_sha1_key *k, const uint8_t *key, size_t len)
{
	uint8_t kb[64], pad[64];
	unsigned int i;

	memset(kb, 0, sizeof(kb));
	if (len > 64) {
		struct mr_sha1 s;

		mr_sha1_init(&s);
		mr_sha1_update(&s, key, len);
		mr_sha1_final(&s, kb);
	} else if (len != 0) {
		memcpy(kb, key, len);
	}
	for (i = 0; i < 64; i++)
		pad[i] = kb[i] ^ 0x36;
	memcpy(k->ih, (uint32_t[5]){ 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476,
				     0xC3D2E1F0 }, sizeof(k->ih));
	sha1_block(k->ih, pad);
	for (i = 0; i < 64; i++)
		pad[i] = kb[i] ^ 0x5c;
	memcpy(k->oh, (uint32_t[5]){ 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476,
				     0xC3D2E1F0 }, sizeof(k->oh));
	sha1_block(k->oh, pad);
	memset(kb, 0, sizeof(kb));
	memset(pad, 0, sizeof(pad));
}

void
mr_hmac_sha1(const struct mr_hmac_sha1_key *k, const void *a, size_t alen, const void *b,
	     size_t blen, uint8_t out[20])
{
	struct mr_sha1 s;
	uint8_t inner[20];

	memcpy(s.h, k->ih, sizeof(s.h));
	s.total = 64;
	s.n = 0;
	mr_sha1_update(&s, a, alen);
	mr_sha1_update(&s, b, blen);
	mr_sha1_final(&s, inner);
	memcpy(s.h, k->oh, sizeof(s.h));
	s.total = 64;
	s.n = 0;
	mr_sha1_update(&s, inner, sizeof(inner));
	mr_sha1_final(&s, out);
}

/* ---- CRC-32 ---- */

static uint32_t crc_table[256];

static void __attribute__((constructor))
crc_table_init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t
mr_crc32(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- ICE credentials on the dataplane ---- */

int
mr_ice_dp_init(struct mr_dp_ice *ice, const char *ufrag, const char *pwd)
{
	size_t ul = strlen(ufrag);

	if (ul > MR_ICE_UFRAG_MAX)
		return -1;
	ice->ufrag_len = (uint8_t)ul;
	memcpy(ice->ufrag, ufrag, ul);
	mr_hmac_sha1_key_init(&ice->key, (const uint8_t *)pwd, strlen(pwd));
	return 0;
}

/* ---- messages ---- */

int
mr_stun_parse(const uint8_t *p, size_t len, struct mr_stun_msg *m)
{
	size_t off;

	memset(m, 0, sizeof(*m));
	if (len < MR_STUN_HDR || (p[0] & 0xc0) != 0 || be32(p + 4) != MR_STUN_MAGIC)
		return -1;
	m->type = be16(p);
	m->len = be16(p + 2);
	if ((m->len & 3) != 0 || (size_t)m->len + MR_STUN_HDR > len)
		return -1;
	for (off = MR_STUN_HDR; off < (size_t)MR_STUN_HDR + m->len;) {
		uint16_t at, al;
		size_t next;

		if (off + 4 > (size_t)MR_STUN_HDR + m->len)
			return -1;
		at = be16(p + off);
		al = be16(p + off + 2);
		next = off + 4 + ((al + 3u) & ~3u);
		if (next > (size_t)MR_STUN_HDR + m->len)
			return -1;
		if (m->fp_off != 0)
			return -1;		/* FINGERPRINT must be the last attribute */
		if (at == MR_STUN_A_FINGERPRINT) {
			if (al != 4)
				return -1;
			m->fp_off = (uint16_t)off;
		} else if (m->mi_off != 0) {
			/* §15.4: after MESSAGE-INTEGRITY only FINGERPRINT counts. */
		} else {
			switch (at) {
			case MR_STUN_A_USERNAME:
				m->username_off = (uint16_t)(off + 4);
				m->username_len = al;
				break;
			case MR_STUN_A_MI:
				if (al != 20)
					return -1;
				m->mi_off = (uint16_t)off;
				break;
			case MR_STUN_A_PRIORITY:
				if (al != 4)
					return -1;
				m->priority = be32(p + off + 4);
				break;
			case MR_STUN_A_USE_CAND:
				m->use_candidate = 1;
				break;
			case MR_STUN_A_CONTROLLING:
				m->controlling = 1;
				break;
			case MR_STUN_A_CONTROLLED:
				m->controlled = 1;
				break;
			case MR_STUN_A_MAPPED:
			case MR_STUN_A_XOR_MAPPED:
			case MR_STUN_A_SOFTWARE:
				break;
			default:
				/* 0x0000-0x7FFF are comprehension-required (§15). */
				if (at < 0x8000)
					m->unknown_required = 1;
				break;
			}
		}
		off = next;
	}
	return 0;
}

int
mr_stun_fingerprint_ok(const uint8_t *p, const struct mr_stun_msg *m)
{
	uint8_t hdr[4];
	uint32_t crc;

	if (m->fp_off == 0)
		return 1;
	/* §15.5: the CRC of the message up to the attribute, its length field covering the
	 * FINGERPRINT itself (which is what it already says: FINGERPRINT is last). */
	put16(hdr, m->type);
	put16(hdr + 2, (uint16_t)(m->fp_off + 8 - MR_STUN_HDR));
	crc = mr_crc32(0, hdr, 4);
	crc = mr_crc32(crc, p + 4, m->fp_off - 4);
	return (crc ^ MR_STUN_FP_XOR) == be32(p + m->fp_off + 4);
}

int
mr_stun_integrity_ok(const uint8_t *p, const struct mr_stun_msg *m,
		     const struct mr_hmac_sha1_key *k)
{
	uint8_t hdr[MR_STUN_HDR], mac[20], diff = 0;
	unsigned int i;

	if (m->mi_off == 0)
		return 0;
	/* §15.4: the HMAC of the message up to the attribute, the header's length counting
	 * up to the end of MESSAGE-INTEGRITY (FINGERPRINT after it excluded). */
	memcpy(hdr, p, MR_STUN_HDR);
	put16(hdr + 2, (uint16_t)(m->mi_off + 24 - MR_STUN_HDR));
	mr_hmac_sha1(k, hdr, MR_STUN_HDR, p + MR_STUN_HDR, m->mi_off - MR_STUN_HDR, mac);
	for (i = 0; i < 20; i++)
		diff |= mac[i] ^ p[m->mi_off + 4 + i];
	return diff == 0;
}

int
mr_stun_username_ok(const uint8_t *p, const struct mr_stun_msg *m, const char *ufrag,
		    size_t ufrag_len)
{
	if (m->username_off == 0 || m->username_len <= ufrag_len ||
	    p[m->username_off + ufrag_len] != ':')
		return 0;
	return memcmp(p + m->username_off, ufrag, ufrag_len) == 0;
}

size_t
mr_stun_build_ok(uint8_t *out, size_t room, const uint8_t *tid, const struct mr_ep *mapped,
		 const struct mr_hmac_sha1_key *k)
{
	size_t len = mr_stun_ok_len(mapped->family), off;
	uint8_t t[12], mac[20];
	uint32_t crc;
	unsigned int i;

	if (room < len)
		return 0;
	memcpy(t, tid, 12);
	put16(out, MR_STUN_BINDING_OK);
	put16(out + 2, (uint16_t)(len - MR_STUN_HDR));
	put32(out + 4, MR_STUN_MAGIC);
	memcpy(out + 8, t, 12);
	off = MR_STUN_HDR;
	/* XOR-MAPPED-ADDRESS (§15.2): port ^ the cookie's top half, address ^ cookie (and the
	 * transaction id for IPv6). */
	put16(out + off, MR_STUN_A_XOR_MAPPED);
	put16(out + off + 2, mapped->family == MR_AF4 ? 8 : 20);
	out[off + 4] = 0;
	out[off + 5] = mapped->family == MR_AF4 ? 1 : 2;
	put16(out + off + 6, mapped->port ^ (MR_STUN_MAGIC >> 16));
	for (i = 0; i < (mapped->family == MR_AF4 ? 4u : 16u); i++)
		out[off + 8 + i] = mapped->a[i] ^ (i < 4 ? (uint8_t)(MR_STUN_MAGIC >> (24 - 8 * i))
							  : t[i - 4]);
	off += mapped->family == MR_AF4 ? 12 : 24;
	put16(out + off, MR_STUN_A_MI);
	put16(out + off + 2, 20);
	/* The length field already covers FINGERPRINT: HMAC over a header that counts only
	 * up to MESSAGE-INTEGRITY. */
	put16(out + 2, (uint16_t)(off + 24 - MR_STUN_HDR));
	mr_hmac_sha1(k, out, off, NULL, 0, mac);
	memcpy(out + off + 4, mac, 20);
	off += 24;
	put16(out + 2, (uint16_t)(len - MR_STUN_HDR));
	put16(out + off, MR_STUN_A_FINGERPRINT);
	put16(out + off + 2, 4);
	crc = mr_crc32(0, out, off);
	put32(out + off + 4, crc ^ MR_STUN_FP_XOR);
	return len;
}

int
mr_stun_mapped(const uint8_t *p, const struct mr_stun_msg *m, struct mr_ep *ep)
{
	size_t off, end = (size_t)MR_STUN_HDR + m->len;

	for (off = MR_STUN_HDR; off + 4 <= end;) {
		uint16_t at = be16(p + off), al = be16(p + off + 2);
		int x = at == MR_STUN_A_XOR_MAPPED;

		if ((x || at == MR_STUN_A_MAPPED) && (al == 8 || al == 20) &&
		    off + 4 + al <= end) {
			const uint8_t *v = p + off + 4;
			unsigned int i, n = v[1] == 1 ? 4 : 16;

			if ((v[1] == 1 && al != 8) || (v[1] == 2 && al != 20) || v[1] > 2 ||
			    v[1] == 0)
				return -1;
			memset(ep, 0, sizeof(*ep));
			ep->family = v[1] == 1 ? MR_AF4 : MR_AF6;
			ep->port = be16(v + 2) ^ (x ? (uint16_t)(MR_STUN_MAGIC >> 16) : 0);
			for (i = 0; i < n; i++)
				ep->a[i] = v[4 + i] ^ (x ? p[4 + i] : 0);
			return 0;
		}
		off += 4 + ((al + 3u) & ~3u);
	}
	return -1;
}
