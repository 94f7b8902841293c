/* SPDX-License-Identifier: BSD-3-Clause
 * The Intel IPsec-MB engine (the fast path): one IMB_MGR per lcore, a whole burst's jobs
 * submitted before one flush. AES-CM + HMAC-SHA1 (RFC 3711) and AES-GCM (RFC 7714), SRTP and
 * SRTCP, in place.
 *
 * Unprotect submits one job per packet that authenticates and decrypts (hash, then cipher);
 * the tags are compared after the flush, in array order, and only then the replay window and
 * the rollover counter change. A packet that fails (tag or replay) is put back as it was: AES
 * counter mode is its own inverse, so a second round re-encrypts those few, and the bytes the
 * ROC borrowed for the HMAC are restored. The common case is one submit per packet and one
 * flush per burst.
 *
 * Traps (TOOLS.md "Crypto"): the job's dst points where the cipher's output starts (the source
 * offset applies to src only); HMAC-SHA1 gives 12 bytes, of which SRTP keeps 10 or 4; the ROC
 * is appended for the SRTP HMAC (RFC 3711 §4.2), written in the bytes the tag will take.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include <intel-ipsec-mb.h>

#include "gcm_vaes.h"
#include "srtp_internal.h"

/* One direction's session keys, for SRTP or SRTCP: AES-CM + HMAC-SHA1 or AES-GCM, never both
 * (1,024 bytes instead of 1,600 when they were side by side). */
struct imb_keys {
	union {
		struct gcm_key_data gcm;	/* AES-GCM */
		struct {
			uint8_t enc[16 * 15];	/* AES-CM round keys */
			uint8_t dec[16 * 15];
			uint8_t ipad[32];	/* HMAC-SHA1 inner state */
			uint8_t opad[32];
		};
	};
	uint8_t salt[16];		/* 14 (AES-CM) or 12 (GCM) */
} __attribute__((aligned(64)));

struct imb_ctx {
	struct imb_keys rtp;
	struct imb_keys rtcp;
};

enum { ST_NONE, ST_SUBMITTED, ST_JOBERR };

struct imb_scratch {
	uint8_t iv[16];
	uint8_t tag[16];	/* computed */
	uint8_t saved[16];	/* the received tag (the ROC borrows its bytes) */
	uint8_t aad[16];	/* SRTCP GCM: header and E-flag|index */
	uint64_t idx;		/* SRTP index or SRTCP index */
	uint16_t off;		/* cipher start */
	uint16_t clen;		/* cipher length */
	uint16_t alen;		/* end of the authenticated part */
	uint8_t state;
	uint8_t restore;	/* unprotect failed after the job: re-encrypt */
	/* AES-GCM, recorded by gcm_defer() and run at the flush by gcm_run(): */
	uint8_t g_enc;		/* encrypt (or decrypt) */
	uint8_t g_key_len;
	uint16_t g_aad_len;
	const struct imb_keys *g_k;
	uint8_t *g_io;
	const void *g_aad;
	uint8_t *g_tag;
};

struct imb_engine {
	IMB_MGR *mgr;
	int flush_each;
	unsigned int n_gcm;			/* AES-GCM calls waiting for the flush */
	struct imb_scratch *gcm[MR_SRTP_BURST];
	struct imb_scratch s[MR_SRTP_BURST];
};

/* The control thread's manager for key expansion (the same architecture as the workers'). */
static IMB_MGR *key_mgr;

/* srtp.vaes_gcm: wanted (the setting), passed (gcm_vaes.c's self-test, against key_mgr, whose
 * key layout it reads: -1 not run yet) and the two together, read by gcm_run(). */
static int vaes_wanted = 1, vaes_passed = -1, vaes_on;

void
mr_srtp_set_vaes_gcm(int on)
{
	vaes_wanted = on != 0;
	__atomic_store_n(&vaes_on, vaes_wanted && vaes_passed == 1, __ATOMIC_RELAXED);
}

int
mr_srtp_vaes_gcm(void)
{
	return __atomic_load_n(&vaes_on, __ATOMIC_RELAXED);
}

int
mr_srtp_imb_global_init(void)
{
	IMB_ARCH arch;

	if (key_mgr != NULL)
		return 0;
	key_mgr = alloc_mb_mgr(0);
	if (key_mgr == NULL) {
		mr_srtp_log("ipsec-mb: cannot allocate a manager");
		return -1;
	}
	init_mb_mgr_auto(key_mgr, &arch);
	if (imb_get_errno(key_mgr) != 0 || arch < IMB_ARCH_SSE) {
		mr_srtp_log("ipsec-mb %s: no usable architecture (AES-NI needed): %s",
			    imb_get_version_str(), imb_get_strerror(imb_get_errno(key_mgr)));
		free_mb_mgr(key_mgr);
		key_mgr = NULL;
		return -1;
	}
	vaes_passed = mr_gcm_vaes_selftest(key_mgr);
	mr_srtp_set_vaes_gcm(vaes_wanted);
	return 0;
}

size_t
mr_srtp_imb_ctx_size(void)
{
	return sizeof(struct imb_ctx);
}

static int
hmac_precompute(const uint8_t *key, struct imb_keys *k)
{
	uint8_t buf[64] __attribute__((aligned(16)));
	unsigned int i;

	memset(buf, 0x36, sizeof(buf));
	for (i = 0; i < MR_SRTP_AUTH_KEY_LEN; i++)
		buf[i] ^= key[i];
	IMB_SHA1_ONE_BLOCK(key_mgr, buf, k->ipad);
	memset(buf, 0x5c, sizeof(buf));
	for (i = 0; i < MR_SRTP_AUTH_KEY_LEN; i++)
		buf[i] ^= key[i];
	IMB_SHA1_ONE_BLOCK(key_mgr, buf, k->opad);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

/* Session keys given directly (also the test hook for the RFC 7714 vectors). */
int
mr_srtp_imb_ctx_set_session(struct mr_srtp_ctx *c, int rtcp, const uint8_t *key,
			    const uint8_t *salt, const uint8_t *auth)
{
	struct imb_ctx *x = (struct imb_ctx *)c->eng;
	struct imb_keys *k = rtcp ? &x->rtcp : &x->rtp;

	if (key_mgr == NULL && mr_srtp_imb_global_init() < 0)
		return -1;
	if (c->aead) {
		if (c->key_len == 16)
			IMB_AES128_GCM_PRE(key_mgr, key, &k->gcm);
		else
			IMB_AES256_GCM_PRE(key_mgr, key, &k->gcm);
		memcpy(k->salt, salt, 12);
		return 0;
	}
	if (c->key_len == 16)
		IMB_AES_KEYEXP_128(key_mgr, key, k->enc, k->dec);
	else
		IMB_AES_KEYEXP_256(key_mgr, key, k->enc, k->dec);
	memcpy(k->salt, salt, 14);
	return hmac_precompute(auth, k);
}

int
mr_srtp_imb_ctx_init(struct mr_srtp_ctx *c, const struct mr_srtp_key *mk)
{
	const struct mr_srtp_suite_info *si = mr_srtp_suite_info((enum mr_srtp_suite)c->suite);
	uint8_t key[32], salt[14], auth[MR_SRTP_AUTH_KEY_LEN];
	const uint8_t *m = mk->master, *ms = mk->master + si->key_len;
	int r = 0;

	for (int rtcp = 0; rtcp <= 1 && r == 0; rtcp++) {
		uint8_t base = rtcp ? MR_SRTP_LABEL_RTCP_KEY : MR_SRTP_LABEL_RTP_KEY;

		r = mr_srtp_kdf(m, si->key_len, ms, si->salt_len, base, key, si->key_len);
		if (r == 0)
			r = mr_srtp_kdf(m, si->key_len, ms, si->salt_len, base + 2, salt,
					si->salt_len);
		if (r == 0 && !si->aead)
			r = mr_srtp_kdf(m, si->key_len, ms, si->salt_len, base + 1, auth,
					sizeof(auth));
		if (r == 0)
			r = mr_srtp_imb_ctx_set_session(c, rtcp, key, salt, auth);
	}
	explicit_bzero(key, sizeof(key));
	explicit_bzero(salt, sizeof(salt));
	explicit_bzero(auth, sizeof(auth));
	return r;
}

void
mr_srtp_imb_ctx_fini(struct mr_srtp_ctx *c)
{
	explicit_bzero(c->eng, sizeof(struct imb_ctx));
}

void
mr_srtp_imb_ctx_inherit(struct mr_srtp_ctx *nw, const struct mr_srtp_ctx *old)
{
	/* Everything is in the slots, copied by the caller. */
}

size_t
mr_srtp_imb_engine_size(void)
{
	return sizeof(struct imb_engine);
}

int
mr_srtp_imb_engine_init(struct mr_srtp_engine *e)
{
	struct imb_engine *ie = (struct imb_engine *)e->eng;
	IMB_ARCH arch;

	ie->mgr = alloc_mb_mgr(0);
	if (ie->mgr == NULL)
		return -1;
	init_mb_mgr_auto(ie->mgr, &arch);
	if (imb_get_errno(ie->mgr) != 0) {
		free_mb_mgr(ie->mgr);
		return -1;
	}
	return 0;
}

void
mr_srtp_imb_engine_fini(struct mr_srtp_engine *e)
{
	struct imb_engine *ie = (struct imb_engine *)e->eng;

	if (ie->mgr != NULL)
		free_mb_mgr(ie->mgr);
	explicit_bzero(ie->s, sizeof(ie->s));
}

void
mr_srtp_imb_engine_set_flush_each(struct mr_srtp_engine *e, int on)
{
	((struct imb_engine *)e->eng)->flush_each = on;
}

/* ---- jobs ---- */

static inline void
job_done(IMB_JOB *job)
{
	struct imb_scratch *s = job->user_data;

	if (job->status != IMB_STATUS_COMPLETED)
		s->state = ST_JOBERR;
}

static inline void
submit(struct imb_engine *ie)
{
	IMB_JOB *job = IMB_SUBMIT_JOB(ie->mgr);

	while (job != NULL) {
		job_done(job);
		job = IMB_GET_COMPLETED_JOB(ie->mgr);
	}
	if (ie->flush_each)
		while ((job = IMB_FLUSH_JOB(ie->mgr)) != NULL)
			job_done(job);
}

/* The AES-GCM calls job_submit() put off, one after the other: a packet's AES-GCM is a chain
 * of dependent instructions (for 200 bytes about 117 cycles a call with each packet's set-up
 * in between, 80-85 back to back here, 70 at best); called with nothing in between, the CPU
 * overlaps several packets' (docs/PERFORMANCE.md "Header writes and AES-GCM at the flush").
 * Packets up to 256 bytes go through gcm_vaes.c where srtp.vaes_gcm allows it (about 16
 * cycles a call fewer: "Our own AES-GCM for small packets"). */
static void
gcm_run(struct imb_engine *ie)
{
	unsigned int i, n = ie->n_gcm;
	int vaes = __atomic_load_n(&vaes_on, __ATOMIC_RELAXED);

	ie->n_gcm = 0;
	for (i = 0; i < n; i++) {
		struct imb_scratch *s = ie->gcm[i];
		const struct imb_keys *k = s->g_k;
		struct gcm_context_data g;
		aes_gcm_enc_dec_t fn;

		if (vaes && mr_gcm_vaes(&k->gcm, s->g_key_len, s->g_enc, s->g_io, s->clen, s->iv,
					s->g_aad, s->g_aad_len, s->g_tag) == 0)
			continue;
		fn = s->g_key_len == 16 ?
			(s->g_enc ? ie->mgr->gcm128_enc : ie->mgr->gcm128_dec) :
			(s->g_enc ? ie->mgr->gcm256_enc : ie->mgr->gcm256_dec);
		fn(&k->gcm, &g, s->g_io, s->g_io, s->clen, s->iv, s->g_aad, s->g_aad_len, s->g_tag,
		   16);
	}
}

static inline void
flush(struct imb_engine *ie)
{
	IMB_JOB *job;

	if (ie->n_gcm != 0)
		gcm_run(ie);
	while ((job = IMB_FLUSH_JOB(ie->mgr)) != NULL)
		job_done(job);
}

/* Word-wide XORs (a byte loop here was about 3 % of an SRTP->SRTP relay's cycles):
 * the big-endian value v XORed into 8 bytes at p, and 4. */
static inline void
xor_be64(uint8_t *p, uint64_t v)
{
	uint64_t w;

	memcpy(&w, p, 8);
	w ^= htobe64(v);
	memcpy(p, &w, 8);
}

static inline void
xor_be32(uint8_t *p, uint32_t v)
{
	uint32_t w;

	memcpy(&w, p, 4);
	w ^= htobe32(v);
	memcpy(p, &w, 4);
}

/* The AES-CM IV (RFC 3711 §4.1.1): (salt << 16) ^ (SSRC << 64) ^ (index << 16). */
static inline void
cm_iv(uint8_t *iv, const uint8_t *salt, uint32_t ssrc, uint64_t idx)
{
	memcpy(iv, salt, 14);
	iv[14] = iv[15] = 0;
	xor_be64(iv, ssrc);				/* bytes 4-7 */
	xor_be64(iv + 8, (idx & 0xffffffffffffULL) << 16);	/* bytes 8-13 */
}

/* The GCM IV (RFC 7714 §8.1, §9.1): salt ^ (00 00 | SSRC | ROC or 00 00 | SEQ or index). */
static inline void
gcm_iv(uint8_t *iv, const uint8_t *salt, uint32_t ssrc, uint32_t hi, uint32_t lo)
{
	memcpy(iv, salt, 12);
	xor_be64(iv, ((uint64_t)ssrc << 16) | (hi & 0xffff));	/* bytes 2-7 */
	xor_be32(iv + 8, lo);
}

/* AES-GCM on op's packet from the scratch: recorded for gcm_run() at the flush. AES-GCM has
 * no lanes to fill: the job manager would run it at submit anyway. Its direct functions (what
 * IMB_AES128_GCM_ENC and kin call) skip the job's setup and the manager's dispatch (about 7 %
 * of an SRTP->SRTP relay's cycles; docs/PERFORMANCE.md "SRTP in the relay"), and all of a
 * burst's run back to back. In place; the tag goes to tag_out, compared after the burst's
 * flush as the jobs' are. Inlined where the relay's packets call it: calling job_submit() out
 * of line, its call and register saves were about half of these instructions. */
static __attribute__((always_inline)) inline void
gcm_defer(struct imb_engine *ie, const struct mr_srtp_ctx *c, const struct imb_keys *k,
	  struct mr_srtp_op *op, struct imb_scratch *s, int encrypt, const void *aad,
	  unsigned int aad_len, uint8_t *tag_out)
{
	s->state = ST_SUBMITTED;
	s->g_enc = (uint8_t)encrypt;
	s->g_key_len = (uint8_t)c->key_len;
	s->g_aad_len = (uint16_t)aad_len;
	s->g_k = k;
	s->g_io = op->pkt + s->off;
	s->g_aad = aad;
	s->g_tag = tag_out;
	if (__builtin_expect(ie->n_gcm == MR_SRTP_BURST, 0))	/* one a scratch: never */
		gcm_run(ie);
	ie->gcm[ie->n_gcm++] = s;
	if (ie->flush_each)
		gcm_run(ie);
}

/* An AES-CM (+ HMAC-SHA1 over [0, alen)) job on op's packet, from the scratch; AES-GCM
 * recorded for the flush (gcm_defer). */
static inline void
job_submit(struct imb_engine *ie, const struct mr_srtp_ctx *c, const struct imb_keys *k,
	   struct mr_srtp_op *op, struct imb_scratch *s, int encrypt, int hash, const void *aad,
	   unsigned int aad_len, uint8_t *tag_out)
{
	IMB_JOB *job;

	if (c->aead) {
		gcm_defer(ie, c, k, op, s, encrypt, aad, aad_len, tag_out);
		return;
	}
	job = IMB_GET_NEXT_JOB(ie->mgr);
	job->cipher_direction = encrypt ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
	job->chain_order = encrypt ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
	job->src = op->pkt;
	job->dst = op->pkt + s->off;	/* where the output starts: not src + offset */
	job->cipher_start_src_offset_in_bytes = s->off;
	job->msg_len_to_cipher_in_bytes = s->clen;
	job->key_len_in_bytes = c->key_len;
	job->user_data = s;
	s->state = ST_SUBMITTED;
	job->cipher_mode = s->clen ? IMB_CIPHER_CNTR : IMB_CIPHER_NULL;
	job->enc_keys = k->enc;
	job->dec_keys = k->enc;
	job->iv = s->iv;
	job->iv_len_in_bytes = 16;
	if (hash) {
		job->hash_alg = IMB_AUTH_HMAC_SHA_1;
		job->u.HMAC._hashed_auth_key_xor_ipad = k->ipad;
		job->u.HMAC._hashed_auth_key_xor_opad = k->opad;
		job->hash_start_src_offset_in_bytes = 0;
		job->msg_len_to_hash_in_bytes = s->alen;
		job->auth_tag_output = tag_out;
		job->auth_tag_output_len_in_bytes = 12;
	} else {
		job->hash_alg = IMB_AUTH_NULL;
		job->hash_start_src_offset_in_bytes = 0;
		job->msg_len_to_hash_in_bytes = 0;
		job->auth_tag_output = NULL;
		job->auth_tag_output_len_in_bytes = 0;
	}
	submit(ie);
}

/* ---- protect ---- */

static void
protect_one(struct imb_engine *ie, struct mr_srtp_op *op, struct imb_scratch *s)
{
	struct mr_srtp_ctx *c = op->ctx;
	const struct imb_ctx *x = (const struct imb_ctx *)c->eng;
	struct mr_srtp_slot *sl;
	uint8_t *p = op->pkt;
	unsigned int len = op->len;
	uint32_t ssrc;

	s->state = ST_NONE;
	if (!op->rtcp) {
		int h = mr_srtp_rtp_hdr_len(p, len, 0);
		uint64_t idx;
		int32_t d;

		if (h < 0) {
			op->res = MR_SRTP_EMALFORMED;
			return;
		}
		if (op->room < c->tag_len) {
			op->res = MR_SRTP_ENOROOM;
			return;
		}
		ssrc = mr_srtp_rd32(p + 8);
		sl = mr_srtp_slot_get(c, ssrc);
		d = mr_srtp_estimate(sl, mr_srtp_rd16(p + 2), &idx);
		if (d > 0 || -(int64_t)d < MR_SRTP_REPLAY)
			mr_srtp_replay_add(sl, d);
		s->idx = idx;
		s->off = (uint16_t)h;
		s->clen = (uint16_t)(len - (unsigned int)h);
		if (c->aead) {
			/* the ROC's high half in bytes 6-7, its low half and SEQ in 8-11 */
			gcm_iv(s->iv, x->rtp.salt, ssrc, (uint32_t)(idx >> 32), (uint32_t)idx);
			gcm_defer(ie, c, &x->rtp, op, s, 1, p, (unsigned int)h, p + len);
		} else {
			cm_iv(s->iv, x->rtp.salt, ssrc, idx);
			mr_srtp_wr32(p + len, (uint32_t)(idx >> 16));
			s->alen = (uint16_t)(len + 4);
			job_submit(ie, c, &x->rtp, op, s, 1, 1, NULL, 0, s->tag);
		}
		return;
	}
	/* SRTCP */
	if (len < 8 || (p[0] >> 6) != 2) {
		op->res = MR_SRTP_EMALFORMED;
		return;
	}
	if (op->room < 4 + c->rtcp_tag_len) {
		op->res = MR_SRTP_ENOROOM;
		return;
	}
	ssrc = mr_srtp_rd32(p + 4);
	sl = mr_srtp_slot_get(c, ssrc);
	sl->rtcp_tx = (sl->rtcp_tx + 1) & MR_SRTCP_INDEX_MASK;
	s->idx = sl->rtcp_tx;
	s->off = 8;
	s->clen = (uint16_t)(len - 8);
	if (c->aead) {
		memcpy(s->aad, p, 8);
		mr_srtp_wr32(s->aad + 8, MR_SRTCP_E_BIT | sl->rtcp_tx);
		mr_srtp_wr32(p + len + 16, MR_SRTCP_E_BIT | sl->rtcp_tx);
		gcm_iv(s->iv, x->rtcp.salt, ssrc, 0, sl->rtcp_tx);
		job_submit(ie, c, &x->rtcp, op, s, 1, 1, s->aad, 12, p + len);
	} else {
		mr_srtp_wr32(p + len, MR_SRTCP_E_BIT | sl->rtcp_tx);
		cm_iv(s->iv, x->rtcp.salt, ssrc, sl->rtcp_tx);
		s->alen = (uint16_t)(len + 4);
		job_submit(ie, c, &x->rtcp, op, s, 1, 1, NULL, 0, s->tag);
	}
}

void
mr_srtp_imb_protect(struct mr_srtp_engine *e, struct mr_srtp_op *ops, unsigned int n)
{
	struct imb_engine *ie = (struct imb_engine *)e->eng;
	unsigned int i;

	for (i = 0; i < n; i++) {
		ie->s[i].state = ST_NONE;
		if (ops[i].res == 1)
			protect_one(ie, &ops[i], &ie->s[i]);
	}
	flush(ie);
	for (i = 0; i < n; i++) {
		struct mr_srtp_op *op = &ops[i];
		struct imb_scratch *s = &ie->s[i];
		struct mr_srtp_ctx *c = op->ctx;

		if (op->res != 1)
			continue;
		if (s->state != ST_SUBMITTED) {
			op->res = MR_SRTP_EENGINE;
			continue;
		}
		if (!op->rtcp) {
			if (!c->aead)
				memcpy(op->pkt + op->len, s->tag, c->tag_len);
			op->len = (uint16_t)(op->len + c->tag_len);
		} else {
			if (!c->aead)
				memcpy(op->pkt + op->len + 4, s->tag, c->rtcp_tag_len);
			op->len = (uint16_t)(op->len + 4 + c->rtcp_tag_len);
		}
		op->res = MR_SRTP_OK;
	}
}

/* ---- unprotect ---- */

static const struct mr_srtp_slot fresh;	/* an SSRC not seen yet */

static void
unprotect_one(struct imb_engine *ie, struct mr_srtp_op *op, struct imb_scratch *s)
{
	struct mr_srtp_ctx *c = op->ctx;
	const struct imb_ctx *x = (const struct imb_ctx *)c->eng;
	const struct mr_srtp_slot *sl;
	uint8_t *p = op->pkt;
	unsigned int len = op->len, L;
	uint32_t ssrc;

	s->state = ST_NONE;
	s->restore = 0;
	if (!op->rtcp) {
		int h = mr_srtp_rtp_hdr_len(p, len, c->tag_len);
		uint64_t idx;

		if (h < 0) {
			op->res = MR_SRTP_EMALFORMED;
			return;
		}
		ssrc = mr_srtp_rd32(p + 8);
		sl = mr_srtp_slot_find(c, ssrc);
		(void)mr_srtp_estimate(sl != NULL ? sl : &fresh, mr_srtp_rd16(p + 2), &idx);
		s->idx = idx;
		L = len - c->tag_len;
		s->off = (uint16_t)h;
		s->clen = (uint16_t)(L - (unsigned int)h);
		if (c->aead) {
			gcm_iv(s->iv, x->rtp.salt, ssrc, (uint32_t)(idx >> 32), (uint32_t)idx);
			gcm_defer(ie, c, &x->rtp, op, s, 0, p, (unsigned int)h, s->tag);
		} else {
			memcpy(s->saved, p + L, c->tag_len);
			mr_srtp_wr32(p + L, (uint32_t)(idx >> 16));
			cm_iv(s->iv, x->rtp.salt, ssrc, idx);
			s->alen = (uint16_t)(L + 4);
			job_submit(ie, c, &x->rtp, op, s, 0, 1, NULL, 0, s->tag);
		}
		return;
	}
	int64_t idx = mr_srtcp_parse(p, len, c->rtcp_tag_len, c->aead);

	if (idx < 0) {
		op->res = MR_SRTP_EMALFORMED;
		return;
	}
	ssrc = mr_srtp_rd32(p + 4);
	s->idx = (uint64_t)idx;
	s->off = 8;
	if (c->aead) {
		L = len - 20;
		s->clen = (uint16_t)(L - 8);
		memcpy(s->aad, p, 8);
		memcpy(s->aad + 8, p + len - 4, 4);
		gcm_iv(s->iv, x->rtcp.salt, ssrc, 0, (uint32_t)idx);
		job_submit(ie, c, &x->rtcp, op, s, 0, 1, s->aad, 12, s->tag);
	} else {
		L = len - c->rtcp_tag_len;	/* header, payload, E|index */
		s->clen = (uint16_t)(L - 4 - 8);
		s->alen = (uint16_t)L;
		cm_iv(s->iv, x->rtcp.salt, ssrc, (uint64_t)idx);
		job_submit(ie, c, &x->rtcp, op, s, 0, 1, NULL, 0, s->tag);
	}
}

/* After the flush, in array order: the tag, then the replay window; commit or mark for
 * restoring. */
static void
unprotect_commit(struct mr_srtp_op *op, struct imb_scratch *s)
{
	struct mr_srtp_ctx *c = op->ctx;
	struct mr_srtp_slot *sl;
	uint8_t *p = op->pkt;
	unsigned int len = op->len, L;
	uint32_t ssrc;
	int bad;

	if (s->state != ST_SUBMITTED) {
		if (!op->rtcp && !c->aead && s->state == ST_JOBERR)
			memcpy(p + len - c->tag_len, s->saved, 4);
		op->res = MR_SRTP_EENGINE;
		return;
	}
	if (!op->rtcp) {
		L = len - c->tag_len;
		if (c->aead) {
			bad = mr_srtp_tag_cmp(s->tag, p + L, 16);
		} else {
			bad = mr_srtp_tag_cmp(s->tag, s->saved, c->tag_len);
			memcpy(p + L, s->saved, 4);	/* the bytes the ROC borrowed */
		}
		if (bad) {
			op->res = MR_SRTP_EAUTH;
			s->restore = 1;
			return;
		}
		ssrc = mr_srtp_rd32(p + 8);
		sl = mr_srtp_slot_find(c, ssrc);
		int64_t d = (int64_t)(s->idx - (sl != NULL ? sl->index : 0));

		if (mr_srtp_replay_check(sl != NULL ? sl : &fresh, d) != 0) {
			op->res = MR_SRTP_EREPLAY;
			s->restore = 1;
			return;
		}
		mr_srtp_replay_add(mr_srtp_slot_get(c, ssrc), d);
		op->len = (uint16_t)L;
		op->res = MR_SRTP_OK;
		return;
	}
	L = len - c->rtcp_tag_len - (c->aead ? 4 : 0);
	if (mr_srtp_tag_cmp(s->tag, p + L, c->rtcp_tag_len) != 0) {
		op->res = MR_SRTP_EAUTH;
		s->restore = 1;
		return;
	}
	ssrc = mr_srtp_rd32(p + 4);
	sl = mr_srtp_slot_find(c, ssrc);
	if (mr_srtcp_replay_check(sl != NULL ? sl : &fresh, (uint32_t)s->idx) != 0) {
		op->res = MR_SRTP_EREPLAY;
		s->restore = 1;
		return;
	}
	mr_srtcp_replay_add(mr_srtp_slot_get(c, ssrc), (uint32_t)s->idx);
	op->len = (uint16_t)(c->aead ? L : L - 4);
	op->res = MR_SRTP_OK;
}

void
mr_srtp_imb_unprotect(struct mr_srtp_engine *e, struct mr_srtp_op *ops, unsigned int n)
{
	struct imb_engine *ie = (struct imb_engine *)e->eng;
	unsigned int i, again = 0;

	for (i = 0; i < n; i++) {
		ie->s[i].state = ST_NONE;
		ie->s[i].restore = 0;
		if (ops[i].res == 1)
			unprotect_one(ie, &ops[i], &ie->s[i]);
	}
	flush(ie);
	for (i = 0; i < n; i++) {
		if (ops[i].res != 1)
			continue;
		unprotect_commit(&ops[i], &ie->s[i]);
		again |= ie->s[i].restore;
	}
	if (!again)
		return;
	/* Failed after decrypting: encrypt those again (counter mode is its own inverse). */
	for (i = 0; i < n; i++) {
		struct imb_scratch *s = &ie->s[i];
		struct mr_srtp_op *op = &ops[i];
		const struct imb_ctx *x;

		if (!s->restore || s->clen == 0)
			continue;
		x = (const struct imb_ctx *)op->ctx->eng;
		job_submit(ie, op->ctx, op->rtcp ? &x->rtcp : &x->rtp, op, s, 1, 0,
			   op->rtcp ? (const void *)s->aad : (const void *)op->pkt,
			   op->rtcp ? 12 : s->off, s->tag);
	}
	flush(ie);
}
