/* SPDX-License-Identifier: BSD-3-Clause
 * The libsrtp2 engine (the reference): one srtp_t per context, created from a template policy
 * (any SSRC); packets one at a time. The same checks as the IPsec-MB engine come first
 * (srtp_internal.h: version, lengths, the SRTCP E-flag), so both refuse the same packets.
 *
 * Where it differs (README.md "Engines"): libsrtp allocates a stream the first time it sees an
 * SSRC (the slot table here evicts the least recently used stream with srtp_remove_stream, so
 * a context holds at most MR_SRTP_SSRCS); it checks the replay window before the tag (a forged
 * replay reads EREPLAY, not EAUTH; no state changes either way); after an inherit only the ROC
 * carries over (srtp_set_stream_roc), the replay windows and the SRTCP index start afresh.
 * Unprotect keeps a copy of the packet and puts it back when libsrtp refuses it.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <srtp2/srtp.h>

#include "srtp_internal.h"

struct ls_ctx {
	srtp_t s;
	srtp_policy_t pol;	/* the template; key points to master */
	uint8_t master[MR_SRTP_MAX_MASTER + 2];
};

struct ls_engine {
	uint8_t save[65536];
};

static int ls_ready;

int
mr_srtp_ls_global_init(void)
{
	srtp_err_status_t st;

	if (ls_ready)
		return 0;
	st = srtp_init();
	if (st != srtp_err_status_ok) {
		mr_srtp_log("libsrtp: srtp_init failed (%d)", (int)st);
		return -1;
	}
	ls_ready = 1;
	return 0;
}

size_t
mr_srtp_ls_ctx_size(void)
{
	return sizeof(struct ls_ctx);
}

static int
ls_policy(enum mr_srtp_suite suite, srtp_policy_t *p)
{
	switch (suite) {
	case MR_SRTP_AES_CM_128_HMAC_SHA1_80:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
		return 0;
	case MR_SRTP_AES_CM_128_HMAC_SHA1_32:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
		return 0;
	case MR_SRTP_AES_256_CM_HMAC_SHA1_80:
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&p->rtp);
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&p->rtcp);
		return 0;
	case MR_SRTP_AEAD_AES_128_GCM:
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtcp);
		return 0;
	case MR_SRTP_AEAD_AES_256_GCM:
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtcp);
		return 0;
	default:
		return -1;
	}
}

int
mr_srtp_ls_ctx_init(struct mr_srtp_ctx *c, const struct mr_srtp_key *k)
{
	struct ls_ctx *x = (struct ls_ctx *)c->eng;
	srtp_err_status_t st;

	memcpy(x->master, k->master, k->len);
	if (ls_policy((enum mr_srtp_suite)c->suite, &x->pol) < 0)
		return -1;
	x->pol.ssrc.type = ssrc_any_inbound;
	x->pol.key = x->master;
	x->pol.window_size = MR_SRTP_REPLAY;
	x->pol.allow_repeat_tx = 1;	/* a relayed duplicate is protected again */
	x->pol.next = NULL;
	st = srtp_create(&x->s, &x->pol);
	if (st != srtp_err_status_ok) {
		x->s = NULL;
		return -1;
	}
	return 0;
}

void
mr_srtp_ls_ctx_fini(struct mr_srtp_ctx *c)
{
	struct ls_ctx *x = (struct ls_ctx *)c->eng;

	if (x->s != NULL)
		srtp_dealloc(x->s);
	x->s = NULL;
}

void
mr_srtp_ls_ctx_inherit(struct mr_srtp_ctx *nw, const struct mr_srtp_ctx *old)
{
	struct ls_ctx *x = (struct ls_ctx *)nw->eng;
	srtp_policy_t p = x->pol;

	for (unsigned int i = 0; i < MR_SRTP_SSRCS; i++) {
		struct mr_srtp_slot *sl = &nw->slot[i];

		if (sl->lru == 0)
			continue;
		/* A stream of its own, so that the ROC can be handed over before its first
		 * packet (srtp_set_stream_roc needs the stream). */
		p.ssrc.type = ssrc_specific;
		p.ssrc.value = sl->ssrc;
		if (srtp_add_stream(x->s, &p) != srtp_err_status_ok) {
			sl->lru = 0;	/* starts afresh from the template */
			continue;
		}
		sl->pending = 1;
	}
}

void
mr_srtp_ls_ctx_reset(struct mr_srtp_ctx *c)
{
	struct ls_ctx *x = (struct ls_ctx *)c->eng;

	for (unsigned int i = 0; i < MR_SRTP_SSRCS; i++)
		if (c->slot[i].lru != 0)
			(void)srtp_remove_stream(x->s, htonl(c->slot[i].ssrc));
}

size_t
mr_srtp_ls_engine_size(void)
{
	return sizeof(struct ls_engine);
}

int
mr_srtp_ls_engine_init(struct mr_srtp_engine *e)
{
	return 0;
}

void
mr_srtp_ls_engine_fini(struct mr_srtp_engine *e)
{
	explicit_bzero(e->eng, sizeof(struct ls_engine));
}

static int
ls_err(srtp_err_status_t st)
{
	switch (st) {
	case srtp_err_status_ok:
		return MR_SRTP_OK;
	case srtp_err_status_auth_fail:
		return MR_SRTP_EAUTH;
	case srtp_err_status_replay_fail:
	case srtp_err_status_replay_old:
	case srtp_err_status_pkt_idx_old:
		return MR_SRTP_EREPLAY;
	case srtp_err_status_bad_param:
	case srtp_err_status_parse_err:
	case srtp_err_status_cant_check:
		return MR_SRTP_EMALFORMED;
	default:
		return MR_SRTP_EENGINE;
	}
}

/* Before an op on a stream inherited by a re-key: its ROC, from the estimate on the old
 * context's state (libsrtp takes it exactly, without estimating). */
static void
ls_pending(struct mr_srtp_ctx *c, struct mr_srtp_slot *sl, const uint8_t *p)
{
	struct ls_ctx *x = (struct ls_ctx *)c->eng;
	uint64_t idx;

	if (sl == NULL || !sl->pending)
		return;
	(void)mr_srtp_estimate(sl, mr_srtp_rd16(p + 2), &idx);
	(void)srtp_set_stream_roc(x->s, sl->ssrc, (uint32_t)(idx >> 16));
}

/* After libsrtp accepted an op: the slot (LRU, evicting the oldest stream) and, for SRTP, the
 * highest index this side tracks for a later inherit. */
static void
ls_commit(struct mr_srtp_ctx *c, const uint8_t *p, int rtcp)
{
	struct ls_ctx *x = (struct ls_ctx *)c->eng;
	uint32_t ssrc = mr_srtp_rd32(p + (rtcp ? 4 : 8)), old;
	struct mr_srtp_slot *sl = mr_srtp_slot_find(c, ssrc);
	int evicted;

	if (sl == NULL) {
		sl = mr_srtp_slot_take(c, ssrc, &evicted, &old);
		if (evicted && old != ssrc)
			(void)srtp_remove_stream(x->s, htonl(old));
	} else {
		mr_srtp_slot_touch(c, sl);
	}
	if (!rtcp) {
		uint64_t idx;
		int32_t d = mr_srtp_estimate(sl, mr_srtp_rd16(p + 2), &idx);

		if (sl->pending) {
			sl->pending = 0;
			sl->index = idx;
			sl->win[0] = 1;
			sl->win[1] = 0;
		} else if (d > 0 || -(int64_t)d < MR_SRTP_REPLAY) {
			mr_srtp_replay_add(sl, d);
		}
	}
}

void
mr_srtp_ls_unprotect(struct mr_srtp_engine *e, struct mr_srtp_op *ops, unsigned int n)
{
	struct ls_engine *le = (struct ls_engine *)e->eng;

	for (unsigned int i = 0; i < n; i++) {
		struct mr_srtp_op *op = &ops[i];
		struct mr_srtp_ctx *c = op->ctx;
		struct ls_ctx *x;
		srtp_err_status_t st;
		int len = op->len;

		if (op->res != 1)
			continue;
		x = (struct ls_ctx *)c->eng;
		if (!op->rtcp) {
			if (mr_srtp_rtp_hdr_len(op->pkt, op->len, c->tag_len) < 0) {
				op->res = MR_SRTP_EMALFORMED;
				continue;
			}
			ls_pending(c, mr_srtp_slot_find(c, mr_srtp_rd32(op->pkt + 8)), op->pkt);
		} else if (mr_srtcp_parse(op->pkt, op->len, c->rtcp_tag_len, c->aead) < 0) {
			op->res = MR_SRTP_EMALFORMED;
			continue;
		}
		memcpy(le->save, op->pkt, op->len);
		st = op->rtcp ? srtp_unprotect_rtcp(x->s, op->pkt, &len) :
				srtp_unprotect(x->s, op->pkt, &len);
		if (st != srtp_err_status_ok) {
			memcpy(op->pkt, le->save, op->len);
			op->res = (int8_t)ls_err(st);
			if (op->res == MR_SRTP_OK)
				op->res = MR_SRTP_EENGINE;
			continue;
		}
		ls_commit(c, op->pkt, op->rtcp);
		op->len = (uint16_t)len;
		op->res = MR_SRTP_OK;
	}
}

void
mr_srtp_ls_protect(struct mr_srtp_engine *e, struct mr_srtp_op *ops, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct mr_srtp_op *op = &ops[i];
		struct mr_srtp_ctx *c = op->ctx;
		struct ls_ctx *x;
		srtp_err_status_t st;
		int len = op->len;

		if (op->res != 1)
			continue;
		x = (struct ls_ctx *)c->eng;
		if (!op->rtcp) {
			if (mr_srtp_rtp_hdr_len(op->pkt, op->len, 0) < 0) {
				op->res = MR_SRTP_EMALFORMED;
				continue;
			}
			if (op->room < c->tag_len) {
				op->res = MR_SRTP_ENOROOM;
				continue;
			}
			ls_pending(c, mr_srtp_slot_find(c, mr_srtp_rd32(op->pkt + 8)), op->pkt);
		} else {
			if (op->len < 8 || (op->pkt[0] >> 6) != 2) {
				op->res = MR_SRTP_EMALFORMED;
				continue;
			}
			if (op->room < 4 + c->rtcp_tag_len) {
				op->res = MR_SRTP_ENOROOM;
				continue;
			}
		}
		st = op->rtcp ? srtp_protect_rtcp(x->s, op->pkt, &len) :
				srtp_protect(x->s, op->pkt, &len);
		if (st != srtp_err_status_ok) {
			op->res = (int8_t)ls_err(st);
			if (op->res == MR_SRTP_OK)
				op->res = MR_SRTP_EENGINE;
			continue;
		}
		ls_commit(c, op->pkt, op->rtcp);
		op->len = (uint16_t)len;
		op->res = MR_SRTP_OK;
	}
}
