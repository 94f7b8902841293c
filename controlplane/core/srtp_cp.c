/* SPDX-License-Identifier: BSD-3-Clause */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <rte_common.h>
#include <rte_malloc.h>

#include "appliance.h"
#include "cmdq.h"
#include "defer.h"
#include "dpmem.h"
#include "jtext.h"
#include "srtp_cp.h"
#include "mr_log.h"

MR_LOG_REGISTER(mr_logtype_srtp, srtp);
#define SRTP_LOG(level, ...) MR_LOG(level, mr_logtype_srtp, "srtp", __VA_ARGS__)

static void
mr_dp_srtp_free(struct mr_dp_srtp *d)
{
	if (d == NULL)
		return;
	mr_srtp_ctx_free(d->rx);
	mr_srtp_ctx_free(d->rx_old);
	mr_srtp_ctx_free(d->tx);
	mr_dpmem_poison(d, sizeof(*d));
	rte_free(d);
}

int
mr_cp_srtp_build(struct mr_appliance *a, const char *field, const struct mr_srtp_req *r,
		 const struct mr_dp_srtp *cur, int socket, struct mr_dp_srtp **out,
		 struct mr_cp_srtp_new *nl, json_t **body)
{
	enum mr_srtp_engine_kind kind = (enum mr_srtp_engine_kind)a->srtp_kind;
	struct mr_dp_srtp *d;

	nl->set = 0;
	*out = NULL;
	if (!a->srtp_ok)
		return mr_json_err(body, 503, "%s: no SRTP engine is running (see the log at "
				   "start)", field);
	d = rte_zmalloc_socket("mr_srtp", sizeof(*d), RTE_CACHE_LINE_SIZE, socket);
	if (d == NULL)
		return mr_json_err(body, 503, "memory: no room for SRTP state");
	d->rx_srtp = 1;
	if (cur != NULL)
		d->ice = cur->ice;	/* a WebRTC leg stays one */
	if (r->has_remote_key) {
		d->rx = mr_srtp_ctx_create(kind, &r->remote_key);
		if (d->rx == NULL)
			goto nomem;
		if (cur != NULL)
			d->rx_old = cur->rx;	/* accepted for srtp.rekey_overlap_ms */
	} else if (cur != NULL) {
		d->rx = cur->rx;
	}
	if (r->has_local_key) {
		nl->key = r->local_key;
		nl->set = 1;
	} else if (cur == NULL || cur->tx == NULL ||
		   (r->suite != mr_srtp_ctx_suite(cur->tx) && !r->has_remote_key)) {
		/* A new endpoint, or a PATCH {"suite": X} asking for a new local key. */
		if (mr_srtp_key_random((enum mr_srtp_suite)r->suite, &nl->key) < 0) {
			if (r->has_remote_key)
				mr_srtp_ctx_free(d->rx);
			rte_free(d);
			return mr_json_err(body, 500, "internal: no random bytes for an SRTP key");
		}
		nl->set = 1;
	}
	if (nl->set) {
		d->tx = mr_srtp_ctx_create(kind, &nl->key);
		if (d->tx == NULL)
			goto nomem;
	} else {
		d->tx = cur->tx;
	}
	*out = d;
	return 0;
nomem:
	if (r->has_remote_key)
		mr_srtp_ctx_free(d->rx);
	rte_free(d);
	mr_srtp_key_wipe(&nl->key);
	nl->set = 0;
	return mr_json_err(body, 503, "memory: no room for an SRTP context");
}

void
mr_cp_srtp_unbuild(struct mr_dp_srtp *d, const struct mr_srtp_req *r, struct mr_cp_srtp_new *nl)
{
	if (d == NULL)
		return;
	if (r->has_remote_key)
		mr_srtp_ctx_free(d->rx);
	if (nl->set)
		mr_srtp_ctx_free(d->tx);
	rte_free(d);
	mr_srtp_key_wipe(&nl->key);
	nl->set = 0;
}

/* What an installation leaves behind: the struct the owner used and the contexts the new one
 * does not name, freed once the owner applied the command and a grace period passed. */
struct mr_srtp_garbage {
	struct mr_defer defer;
	struct mr_dp_srtp *d;
	struct mr_srtp_ctx *ctx[3];
};

static void
mr_srtp_garbage_free(struct mr_defer *df, void *arg)
{
	struct mr_srtp_garbage *g = container_of(df, struct mr_srtp_garbage, defer);
	unsigned int i;

	(void)arg;
	for (i = 0; i < 3; i++)
		mr_srtp_ctx_free(g->ctx[i]);
	if (g->d != NULL) {
		mr_dpmem_poison(g->d, sizeof(*g->d));
		rte_free(g->d);
	}
	free(g);
}

static const struct mr_defer_ops mr_srtp_garbage_ops = { .free = mr_srtp_garbage_free };

void
mr_cp_srtp_set(struct mr_cp_srtp *cs, struct mr_dp_srtp *d, const struct mr_srtp_req *r,
	       const struct mr_cp_srtp_new *nl)
{
	cs->dp = d;
	if (d == NULL) {
		cs->rx_suite = cs->tx_suite = 0;
		cs->has_rx_key = cs->has_tx_key = 0;
		mr_srtp_key_wipe(&cs->rx_key);
		mr_srtp_key_wipe(&cs->tx_key);
		return;
	}
	if (r->has_remote_key) {
		cs->rx_suite = r->remote_key.suite;
		cs->rx_key = r->remote_key;
		cs->has_rx_key = 1;
	}
	if (nl->set) {
		cs->tx_suite = nl->key.suite;
		cs->tx_key = nl->key;
		cs->has_tx_key = 1;
	}
}

void
mr_cp_srtp_installed(struct mr_appliance *a, unsigned int owner, struct mr_cp_srtp *cs,
		     struct mr_dp_srtp *nw, const struct mr_srtp_req *r,
		     const struct mr_cp_srtp_new *nl)
{
	struct mr_dp_srtp *old = cs->dp;

	mr_cp_srtp_set(cs, nw, r, nl);
	cs->rekeys++;
	if (old != NULL) {
		struct mr_srtp_ctx *c[3] = { old->rx, old->rx_old, old->tx };
		struct mr_srtp_garbage *g = calloc(1, sizeof(*g));
		unsigned int i, k;

		if (g == NULL) {
			/* Leaks rather than frees early: the owner may still use them. */
			SRTP_LOG(ERR, "out of memory retiring SRTP state: leaked\n");
			return;
		}
		g->d = old;
		for (i = 0, k = 0; i < 3; i++)
			if (c[i] != NULL && (nw == NULL || (c[i] != nw->rx &&
							    c[i] != nw->rx_old &&
							    c[i] != nw->tx)))
				g->ctx[k++] = c[i];
		mr_defer_add(&a->defer, &g->defer, owner, &mr_srtp_garbage_ops, NULL);
	}
}

static int
srtp_install_cmd(struct mr_appliance *a, unsigned int owner, struct mr_cmd *c,
		 struct mr_cp_srtp *cs, const struct mr_srtp_req *r, int wait)
{
	struct mr_cp_srtp_new nl;
	struct mr_dp_srtp *nw = NULL;
	json_t *err = NULL;

	memset(&nl, 0, sizeof(nl));
	if (mr_cp_srtp_build(a, "srtp", r, cs->dp,
			     (int)rte_lcore_to_socket_id(a->dp->w[owner]->lcore_id), &nw, &nl,
			     &err) != 0) {
		json_decref(err);
		return -1;
	}
	c->arg = nw;
	if (mr_cmdq_send(&a->cmdq, owner, c, 1, wait, NULL) < 0) {
		mr_cp_srtp_unbuild(nw, r, &nl);
		return -1;
	}
	mr_cp_srtp_installed(a, owner, cs, nw, r, &nl);
	mr_srtp_key_wipe(&nl.key);
	return 0;
}

int
mr_cp_srtp_part_install(struct mr_appliance *a, unsigned int owner, void *part,
			struct mr_cp_srtp *cs, const struct mr_srtp_req *r, int wait)
{
	struct mr_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = MR_CMD_PART_SRTP_SET;
	c.obj = part;
	return srtp_install_cmd(a, owner, &c, cs, r, wait);
}

int
mr_cp_srtp_leg_install(struct mr_appliance *a, unsigned int owner, struct mr_dp_session *s,
		       unsigned int leg, struct mr_cp_srtp *cs, const struct mr_srtp_req *r)
{
	struct mr_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = MR_CMD_SRTP_SET;
	c.s = s;
	c.leg = (uint8_t)leg;
	return srtp_install_cmd(a, owner, &c, cs, r, 1);
}

void
mr_cp_srtp_release(struct mr_cp_srtp *cs)
{
	cs->has_rx_key = cs->has_tx_key = 0;
	mr_srtp_key_wipe(&cs->rx_key);
	mr_srtp_key_wipe(&cs->tx_key);
	if (cs->dp == NULL)
		return;
	mr_read_u64s(&cs->final, &cs->dp->ctr, sizeof(cs->final));
	/* A WebRTC leg's ICE state, shared by every struct that replaced the first one. */
	rte_free(cs->dp->ice);
	mr_dp_srtp_free(cs->dp);
	cs->dp = NULL;
}

json_t *
mr_cp_srtp_json(const struct mr_cp_srtp *cs, int full)
{
	const struct mr_srtp_suite_info *rx, *tx;
	struct mr_srtp_ctr c;
	json_t *j;

	if (cs->tx_suite == 0 && cs->rx_suite == 0 && cs->dp == NULL)
		return json_null();
	rx = mr_srtp_suite_info((enum mr_srtp_suite)cs->rx_suite);
	tx = mr_srtp_suite_info((enum mr_srtp_suite)cs->tx_suite);
	j = json_object();
	/* Never a key: only which suites are in use. */
	json_object_set_new(j, "suite", tx ? json_string(tx->name) : json_null());
	json_object_set_new(j, "remote_suite", rx ? json_string(rx->name) : json_null());
	json_object_set_new(j, "remote_key_set", json_boolean(rx != NULL));
	if (!full)
		return j;
	if (cs->dp != NULL)
		mr_read_u64s(&c, &cs->dp->ctr, sizeof(c));
	else
		c = cs->final;
	json_object_set_new(j, "rekeys", json_integer(cs->rekeys));
	json_object_set_new(j, "counters", json_pack(
		"{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
		"decrypted", (json_int_t)c.decrypted,
		"encrypted", (json_int_t)c.encrypted,
		"old_key", (json_int_t)c.old_key,
		"srtp_auth_fail", (json_int_t)c.auth_fail,
		"srtp_replay", (json_int_t)c.replay,
		"srtp_malformed", (json_int_t)c.malformed,
		"srtp_no_key", (json_int_t)c.no_key,
		"srtp_protect_failed", (json_int_t)c.protect_fail));
	return j;
}

void
mr_cp_srtp_show_key(json_t *sj, struct mr_cp_srtp_new *nl)
{
	char sdes[128];

	if (!nl->set)
		return;
	if (json_is_object(sj) && mr_srtp_sdes_format(&nl->key, sdes, sizeof(sdes)) > 0)
		json_object_set_new(sj, "local_key", json_string(sdes));
	explicit_bzero(sdes, sizeof(sdes));
	mr_srtp_key_wipe(&nl->key);
	nl->set = 0;
}

/* ---- the state store's records ---- */

static void
mr_seeds_text(const struct mr_srtp_ctx *c, struct mr_jtext *b)
{
	struct mr_srtp_seed sd[MR_SRTP_SSRCS];
	unsigned int i, n = c != NULL ? mr_srtp_ctx_snapshot(c, sd) : 0;

	mr_jt_raw(b, "[");
	for (i = 0; i < n; i++)
		mr_jt_fmt(b, "%s[%" PRIu32 ",%" PRIu64 ",%" PRIu32 "]", i ? "," : "", sd[i].ssrc,
			  sd[i].index, sd[i].rtcp_tx);
	mr_jt_raw(b, "]");
}

static void
mr_key_text(int has, const struct mr_srtp_key *k, struct mr_jtext *b)
{
	char sdes[128];

	if (!has || mr_srtp_sdes_format(k, sdes, sizeof(sdes)) < 0) {
		mr_jt_raw(b, "null");
		return;
	}
	mr_jt_str(b, sdes);
	explicit_bzero(sdes, sizeof(sdes));
}

void
mr_cp_srtp_record_text(const struct mr_cp_srtp *cs, struct mr_jtext *b)
{
	if (cs->dp == NULL) {
		mr_jt_raw(b, "null");
		return;
	}
	mr_jt_raw(b, "{\"remote_key\":");
	mr_key_text(cs->has_rx_key, &cs->rx_key, b);
	mr_jt_raw(b, ",\"local_key\":");
	mr_key_text(cs->has_tx_key, &cs->tx_key, b);
	mr_jt_raw(b, ",\"rx\":");
	mr_seeds_text(cs->dp->rx, b);
	mr_jt_raw(b, ",\"tx\":");
	mr_seeds_text(cs->dp->tx, b);
	mr_jt_raw(b, "}");
}

json_t *
mr_cp_srtp_record(const struct mr_cp_srtp *cs)
{
	char text[1024];
	struct mr_jtext b;
	json_t *j;

	mr_jt_init(&b, text, sizeof(text));
	mr_cp_srtp_record_text(cs, &b);
	j = b.overflow ? NULL : json_loads(text, 0, NULL);
	explicit_bzero(text, b.len);
	return j != NULL ? j : json_null();
}

static int
mr_rec_seeds(json_t *a, struct mr_srtp_seed *sd, unsigned int *n, int tx)
{
	size_t k;
	json_t *e;

	*n = 0;
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) > MR_SRTP_SSRCS)
		return -1;
	json_array_foreach(a, k, e) {
		json_int_t ssrc, idx, rtcp;

		if (json_unpack(e, "[III]", &ssrc, &idx, &rtcp) != 0 || ssrc < 0 ||
		    ssrc > UINT32_MAX || idx < 0 || idx >= (1ll << 48) || rtcp < 0 ||
		    rtcp > 0x7fffffff)
			return -1;
		sd[*n].ssrc = (uint32_t)ssrc;
		sd[*n].index = (uint64_t)idx;
		sd[*n].rtcp_tx = tx ? (uint32_t)rtcp + MR_SRTCP_RESTORE_SKIP : (uint32_t)rtcp;
		(*n)++;
	}
	return 0;
}

static int
mr_rec_key(json_t *v, int *has, struct mr_srtp_key *k, uint8_t *suite)
{
	char e[128];

	*has = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || mr_srtp_sdes_parse(json_string_value(v), k, e, sizeof(e)) < 0)
		return -1;
	*has = 1;
	*suite = k->suite;
	return 0;
}

int
mr_cp_srtp_record_parse(json_t *sj, struct mr_srtp_req *r, struct mr_cp_srtp_seeds *sd)
{
	memset(sd->n, 0, sizeof(sd->n));
	if (sj == NULL || json_is_null(sj))
		return 0;
	r->present = 1;
	if (!json_is_object(sj) ||
	    mr_rec_key(json_object_get(sj, "remote_key"), &r->has_remote_key, &r->remote_key,
		       &r->suite) < 0 ||
	    mr_rec_key(json_object_get(sj, "local_key"), &r->has_local_key, &r->local_key,
		       &r->suite) < 0 ||
	    mr_rec_seeds(json_object_get(sj, "rx"), sd->s[0], &sd->n[0], 0) < 0 ||
	    mr_rec_seeds(json_object_get(sj, "tx"), sd->s[1], &sd->n[1], 1) < 0)
		return -1;
	return 0;
}

void
mr_cp_srtp_seed(struct mr_dp_srtp *d, const struct mr_cp_srtp_seeds *sd)
{
	if (d == NULL)
		return;
	if (d->rx != NULL)
		mr_srtp_ctx_seed(d->rx, sd->s[0], sd->n[0]);
	if (d->tx != NULL)
		mr_srtp_ctx_seed(d->tx, sd->s[1], sd->n[1]);
}

uint64_t
mr_cp_srtp_digest(uint64_t h, const struct mr_dp_srtp *d)
{
	unsigned int k, n, dir;

	if (d == NULL)
		return h;
	for (dir = 0; dir < 2; dir++) {
		struct mr_srtp_seed sd[MR_SRTP_SSRCS];
		const struct mr_srtp_ctx *c = dir ? d->tx : d->rx;

		n = c != NULL ? mr_srtp_ctx_snapshot(c, sd) : 0;
		for (k = 0; k < n; k++) {
			uint64_t v[3] = { sd[k].ssrc, sd[k].index >> 12, sd[k].rtcp_tx >> 8 };

			h = mr_fnv1a(h, v, sizeof(v));
		}
	}
	return h;
}
