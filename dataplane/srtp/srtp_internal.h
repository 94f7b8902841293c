/* SPDX-License-Identifier: BSD-3-Clause
 * Inside dataplane/srtp/: the context layout both engines share (the per-SSRC slots with their
 * rollover counters and replay windows), the RFC 3711 index arithmetic, packet parsing, the
 * key derivation, and the engines' entry points. Private to this folder (and its tests).
 */
#ifndef MR_SRTP_INTERNAL_H
#define MR_SRTP_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "srtp.h"

/* RFC 3711 §4.3.1 labels. */
enum {
	MR_SRTP_LABEL_RTP_KEY = 0,
	MR_SRTP_LABEL_RTP_AUTH = 1,
	MR_SRTP_LABEL_RTP_SALT = 2,
	MR_SRTP_LABEL_RTCP_KEY = 3,
	MR_SRTP_LABEL_RTCP_AUTH = 4,
	MR_SRTP_LABEL_RTCP_SALT = 5,
};

#define MR_SRTP_AUTH_KEY_LEN 20		/* HMAC-SHA1 session authentication key */
#define MR_SRTP_SEQ_MEDIAN 0x8000u
#define MR_SRTCP_E_BIT 0x80000000u
#define MR_SRTCP_INDEX_MASK 0x7fffffffu

/* The state of one SSRC. The SRTP window follows libsrtp's rdbx (the highest index and the 127
 * below it; bit k of win is index - k), the SRTCP window its rdb (window_start and the 128
 * indexes from there; bit k is rtcp_start + k): both engines accept and refuse the same
 * packets. A zeroed slot is a stream not seen yet. */
struct mr_srtp_slot {
	uint32_t ssrc;
	uint32_t lru;		/* 0: free; else the context clock at the last use */
	uint64_t index;		/* SRTP: highest index, ROC << 16 | SEQ */
	uint64_t win[2];	/* SRTP replay window */
	uint64_t rtcp_win[2];	/* SRTCP replay window */
	uint32_t rtcp_start;	/* SRTCP: first index of the window */
	uint32_t rtcp_tx;	/* SRTCP: the last index sent (the first sent is 1) */
	uint8_t pending;	/* libsrtp engine: inherited, the ROC not handed to libsrtp yet */
};

/* One direction's keys and the per-SSRC state; the engine's part follows (eng). */
struct mr_srtp_ctx {
	uint8_t kind;		/* enum mr_srtp_engine_kind */
	uint8_t suite;		/* enum mr_srtp_suite */
	uint8_t tag_len;	/* SRTP tag */
	uint8_t rtcp_tag_len;
	uint8_t aead;
	uint8_t key_len;
	uint32_t clock;		/* LRU clock, never 0 once used */
	struct mr_srtp_slot slot[MR_SRTP_SSRCS];
	unsigned char eng[] __attribute__((aligned(64)));
};

struct mr_srtp_engine {
	uint8_t kind;
	unsigned char eng[] __attribute__((aligned(64)));
};

/* Engine entry points (engine_ipsecmb.c, engine_libsrtp.c). ctx_init fills c->eng (ctx_size
 * bytes, zeroed) from the master key; ctx_fini wipes and releases what init made. */
int mr_srtp_imb_global_init(void);
size_t mr_srtp_imb_ctx_size(void);
int mr_srtp_imb_ctx_init(struct mr_srtp_ctx *c, const struct mr_srtp_key *k);
void mr_srtp_imb_ctx_fini(struct mr_srtp_ctx *c);
void mr_srtp_imb_ctx_inherit(struct mr_srtp_ctx *nw, const struct mr_srtp_ctx *old);
size_t mr_srtp_imb_engine_size(void);
int mr_srtp_imb_engine_init(struct mr_srtp_engine *e);
void mr_srtp_imb_engine_fini(struct mr_srtp_engine *e);
void mr_srtp_imb_unprotect(struct mr_srtp_engine *e, struct mr_srtp_op *ops, unsigned int n);
void mr_srtp_imb_protect(struct mr_srtp_engine *e, struct mr_srtp_op *ops, unsigned int n);
/* Tests: set the session keys directly (RFC 7714 vectors give those, not master keys). */
int mr_srtp_imb_ctx_set_session(struct mr_srtp_ctx *c, int rtcp, const uint8_t *key,
				const uint8_t *salt, const uint8_t *auth);
/* Per-packet flush (for the benchmark's comparison): 1 flushes after every job. */
void mr_srtp_imb_engine_set_flush_each(struct mr_srtp_engine *e, int on);

int mr_srtp_ls_global_init(void);
size_t mr_srtp_ls_ctx_size(void);
int mr_srtp_ls_ctx_init(struct mr_srtp_ctx *c, const struct mr_srtp_key *k);
void mr_srtp_ls_ctx_fini(struct mr_srtp_ctx *c);
void mr_srtp_ls_ctx_inherit(struct mr_srtp_ctx *nw, const struct mr_srtp_ctx *old);
size_t mr_srtp_ls_engine_size(void);
int mr_srtp_ls_engine_init(struct mr_srtp_engine *e);
void mr_srtp_ls_engine_fini(struct mr_srtp_engine *e);
void mr_srtp_ls_unprotect(struct mr_srtp_engine *e, struct mr_srtp_op *ops, unsigned int n);
void mr_srtp_ls_protect(struct mr_srtp_engine *e, struct mr_srtp_op *ops, unsigned int n);

/* Tests and the fuzz harness: forget every SSRC (the context as just created). */
void mr_srtp_ctx_reset(struct mr_srtp_ctx *c);
void mr_srtp_ls_ctx_reset(struct mr_srtp_ctx *c);

/* RFC 3711 §4.3 key derivation (AES-CM PRF, key derivation rate 0): out = the keystream of
 * AES(master key) at IV (salt XOR label << 48) << 16, a salt shorter than 14 bytes (GCM's 12)
 * padded with zeros. 0, or -1. */
int mr_srtp_kdf(const uint8_t *mkey, unsigned int mkey_len, const uint8_t *msalt,
		unsigned int msalt_len, uint8_t label, uint8_t *out, unsigned int out_len);

/* Log a line on stderr (control thread only: initialisation failures). */
void mr_srtp_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- per-SSRC slots ---- */

static inline struct mr_srtp_slot *
mr_srtp_slot_find(struct mr_srtp_ctx *c, uint32_t ssrc)
{
	for (unsigned int i = 0; i < MR_SRTP_SSRCS; i++)
		if (c->slot[i].lru != 0 && c->slot[i].ssrc == ssrc)
			return &c->slot[i];
	return NULL;
}

static inline void
mr_srtp_slot_touch(struct mr_srtp_ctx *c, struct mr_srtp_slot *s)
{
	if (++c->clock == 0)
		c->clock = 1;
	s->lru = c->clock;
}

/* A free slot, or the least recently used one, zeroed for ssrc and touched. *evicted (when not
 * NULL) is set to 1 and *old_ssrc to the SSRC that lost its slot. */
static inline struct mr_srtp_slot *
mr_srtp_slot_take(struct mr_srtp_ctx *c, uint32_t ssrc, int *evicted, uint32_t *old_ssrc)
{
	struct mr_srtp_slot *s = NULL;
	uint32_t age, oldest = 0;

	for (unsigned int i = 0; i < MR_SRTP_SSRCS; i++) {
		if (c->slot[i].lru == 0) {
			s = &c->slot[i];
			break;
		}
		age = c->clock - c->slot[i].lru;
		if (s == NULL || age > oldest) {
			s = &c->slot[i];
			oldest = age;
		}
	}
	if (evicted != NULL) {
		*evicted = s->lru != 0;
		*old_ssrc = s->ssrc;
	}
	memset(s, 0, sizeof(*s));
	s->ssrc = ssrc;
	mr_srtp_slot_touch(c, s);
	return s;
}

/* The slot of ssrc, touched; a new one (see mr_srtp_slot_take) when it has none. */
static inline struct mr_srtp_slot *
mr_srtp_slot_get(struct mr_srtp_ctx *c, uint32_t ssrc)
{
	struct mr_srtp_slot *s = mr_srtp_slot_find(c, ssrc);

	if (s == NULL)
		return mr_srtp_slot_take(c, ssrc, NULL, NULL);
	mr_srtp_slot_touch(c, s);
	return s;
}

/* ---- RFC 3711 §3.3.1 index estimation and §3.3.2 replay (libsrtp's rdbx arithmetic) ---- */

/* The index of seq relative to the slot's highest (a zeroed slot: ROC 0), and the difference
 * from the highest. */
static inline int32_t
mr_srtp_estimate(const struct mr_srtp_slot *s, uint16_t seq, uint64_t *idx)
{
	uint32_t roc = (uint32_t)(s->index >> 16), groc;
	uint16_t sl = (uint16_t)s->index;
	int32_t d;

	if (s->index <= MR_SRTP_SEQ_MEDIAN) {
		*idx = seq;
		return (int32_t)seq - (int32_t)sl;
	}
	if (sl < MR_SRTP_SEQ_MEDIAN) {
		if ((int32_t)seq - (int32_t)sl > (int32_t)MR_SRTP_SEQ_MEDIAN) {
			groc = roc - 1;
			d = (int32_t)seq - (int32_t)sl - 0x10000;
		} else {
			groc = roc;
			d = (int32_t)seq - (int32_t)sl;
		}
	} else {
		if ((uint32_t)sl - MR_SRTP_SEQ_MEDIAN > seq) {
			groc = roc + 1;
			d = (int32_t)seq - (int32_t)sl + 0x10000;
		} else {
			groc = roc;
			d = (int32_t)seq - (int32_t)sl;
		}
	}
	*idx = ((uint64_t)groc << 16) | seq;
	return d;
}

/* 0 (new), MR_SRTP_EREPLAY (seen or older than the window). */
static inline int
mr_srtp_replay_check(const struct mr_srtp_slot *s, int64_t delta)
{
	uint64_t k;

	if (delta > 0)
		return 0;
	k = (uint64_t)-delta;
	if (k >= MR_SRTP_REPLAY)
		return MR_SRTP_EREPLAY;
	return (s->win[k >> 6] >> (k & 63)) & 1 ? MR_SRTP_EREPLAY : 0;
}

static inline void
mr_srtp_replay_add(struct mr_srtp_slot *s, int64_t delta)
{
	uint64_t k;

	if (delta > 0) {
		k = (uint64_t)delta;
		if (k >= 128) {
			s->win[0] = s->win[1] = 0;
		} else if (k >= 64) {
			s->win[1] = s->win[0] << (k - 64);
			s->win[0] = 0;
		} else {
			s->win[1] = (s->win[1] << k) | (s->win[0] >> (64 - k));
			s->win[0] <<= k;
		}
		s->win[0] |= 1;
		s->index += k;
		return;
	}
	k = (uint64_t)-delta;
	s->win[k >> 6] |= 1ull << (k & 63);
}

static inline int
mr_srtcp_replay_check(const struct mr_srtp_slot *s, uint32_t idx)
{
	uint32_t k;

	if (idx >= s->rtcp_start + 128)
		return 0;
	if (idx < s->rtcp_start)
		return MR_SRTP_EREPLAY;
	k = idx - s->rtcp_start;
	return (s->rtcp_win[k >> 6] >> (k & 63)) & 1 ? MR_SRTP_EREPLAY : 0;
}

static inline void
mr_srtcp_replay_add(struct mr_srtp_slot *s, uint32_t idx)
{
	uint32_t k = idx - s->rtcp_start;

	if (k >= 128) {
		k -= 127;	/* shift the window up by k */
		if (k >= 128) {
			s->rtcp_win[0] = s->rtcp_win[1] = 0;
		} else if (k >= 64) {
			s->rtcp_win[0] = s->rtcp_win[1] >> (k - 64);
			s->rtcp_win[1] = 0;
		} else if (k > 0) {
			s->rtcp_win[0] = (s->rtcp_win[0] >> k) | (s->rtcp_win[1] << (64 - k));
			s->rtcp_win[1] >>= k;
		}
		s->rtcp_start += k;
		k = 127;
	}
	s->rtcp_win[k >> 6] |= 1ull << (k & 63);
}

/* ---- packets ---- */

static inline uint16_t
mr_srtp_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
mr_srtp_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void
mr_srtp_wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The RTP header's length (12 + CSRCs + extension) when the packet is version 2 and holds it
 * plus trail bytes; else MR_SRTP_EMALFORMED. */
static inline int
mr_srtp_rtp_hdr_len(const uint8_t *p, unsigned int len, unsigned int trail)
{
	unsigned int h;

	if (len < 12 + trail || (p[0] >> 6) != 2)
		return MR_SRTP_EMALFORMED;
	h = 12 + 4u * (p[0] & 0x0f);
	if (p[0] & 0x10) {
		if (len < h + 4 + trail)
			return MR_SRTP_EMALFORMED;
		h += 4 + 4u * mr_srtp_rd16(p + h + 2);
	}
	if (len < h + trail)
		return MR_SRTP_EMALFORMED;
	return (int)h;
}

/* An SRTCP packet: version 2, header, E-flag set (mrelay always encrypts SRTCP: no
 * UNENCRYPTED_SRTCP), index and tag. The index, or MR_SRTP_EMALFORMED. */
static inline int64_t
mr_srtcp_parse(const uint8_t *p, unsigned int len, unsigned int tag_len, int aead)
{
	uint32_t t;

	if (len < 8 + 4 + tag_len || (p[0] >> 6) != 2)
		return MR_SRTP_EMALFORMED;
	t = mr_srtp_rd32(p + len - 4 - (aead ? 0 : tag_len));
	if (!(t & MR_SRTCP_E_BIT))
		return MR_SRTP_EMALFORMED;
	return t & MR_SRTCP_INDEX_MASK;
}

/* Constant-time comparison: 0 when equal. */
static inline int
mr_srtp_tag_cmp(const uint8_t *a, const uint8_t *b, unsigned int n)
{
	uint8_t d = 0;

	for (unsigned int i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d;
}

#endif
