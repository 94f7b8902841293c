/* SPDX-License-Identifier: BSD-3-Clause
 * A session's record in the state store (controlplane/state/, docs/OPERATIONS.md "State in
 * Redis"): what a restart or a standby needs to relay it again on the same id, local
 * endpoints, remotes and keys. One JSON object per session:
 *
 *   {"v": 1, "id": "hex16", "label", "created", "idle_timeout", "rtcp_mux", "clock_rate",
 *    "owner": worker index,
 *    "legs": [{"interface", "local": "ip:port", "remote": "ip:port"|null,
 *              "rtcp_remote": "ip:port"|null, ["muted": true, when blocked,]
 *              ["silenced": true, when silenced (ng silence media),]
 *              ["dtmf_blocked": PT, when that payload type is held back (ng block DTMF),]
 *              "srtp": null | {"remote_key": SDES|null, "local_key": SDES|null,
 *                              "rx": [[ssrc, index, srtcp_index], ...], "tx": [...]}}, x2]}
 *
 * index is RFC 3711's packet index (ROC << 16 | SEQ) as last snapshotted; a restore starts
 * the context from it and estimates from there (§3.3.1). The keys make the record sensitive.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "addr.h"
#include "appliance.h"
#include "jtext.h"
#include "sessions.h"
#include "sessions_priv.h"

int
mr_session_record(struct mr_sessions *ss, uint64_t id, char *buf, size_t len)
{
	uint32_t slot = (uint32_t)id;
	const struct mr_cp_session *s;
	struct mr_jtext b;
	unsigned int i;

	if (slot >= ss->max || ss->slot[slot] == NULL || ss->slot[slot]->id != id)
		return 0;
	s = ss->slot[slot];
	/* A WebRTC leg (ng's DTLS-SRTP) is not carried over, as a room's WebRTC participants
	 * are not: its ICE and DTLS live in this process (docs/OPERATIONS.md). */
	if (mr_cp_leg_webrtc(s, 0) || mr_cp_leg_webrtc(s, 1))
		return 0;
	mr_jt_init(&b, buf, len);
	mr_jt_fmt(&b, "{\"v\":1,\"id\":\"%016" PRIx64 "\",\"label\":", s->id);
	mr_jt_str(&b, s->label);
	mr_jt_fmt(&b, ",\"created\":%" PRId64 ",\"idle_timeout\":%d,\"rtcp_mux\":%s,"
		  "\"clock_rate\":%" PRIu32 ",\"owner\":%u,\"legs\":[", (int64_t)s->created,
		  (int)s->idle_timeout, s->rtcp_mux ? "true" : "false", s->dp->clock_rate,
		  s->owner);
	for (i = 0; i < 2; i++) {
		const struct mr_dp_leg *l = &s->dp->leg[i];
		struct mr_dp_path path[2];
		struct mr_ep none = { 0 };

		mr_leg_snapshot(l, path);
		mr_jt_raw(&b, i ? ",{\"interface\":" : "{\"interface\":");
		mr_jt_str(&b, ss->a->cfg->ports[s->leg[i].pidx].name);
		mr_jt_raw(&b, ",\"local\":");
		mr_jt_ep(&b, &l->local);
		mr_jt_raw(&b, ",\"remote\":");
		mr_jt_ep(&b, path[0].state != MR_PATH_NONE ? &path[0].remote : &none);
		mr_jt_raw(&b, ",\"rtcp_remote\":");
		mr_jt_ep(&b, !s->rtcp_mux && path[1].state != MR_PATH_NONE ? &path[1].remote :
			 &none);
		mr_jt_raw(&b, ",\"srtp\":");
		mr_cp_srtp_record_text(&s->leg[i].srtp, &b);
		if (__atomic_load_n(&l->mute, __ATOMIC_RELAXED) & MR_LEG_MUTE_BLOCK)
			mr_jt_raw(&b, ",\"muted\":true");
		if (__atomic_load_n(&l->mute, __ATOMIC_RELAXED) & MR_LEG_MUTE_SILENCE)
			mr_jt_raw(&b, ",\"silenced\":true");
		if (__atomic_load_n(&l->mute, __ATOMIC_RELAXED) & MR_LEG_MUTE_DTMF)
			mr_jt_fmt(&b, ",\"dtmf_blocked\":%u",
				  (unsigned int)__atomic_load_n(&l->dtmf_pt, __ATOMIC_RELAXED));
		mr_jt_raw(&b, "}");
	}
	mr_jt_raw(&b, "]}");
	if (b.overflow) {
		explicit_bzero(buf, len);
		return -1;
	}
	return (int)b.len;
}

uint64_t
mr_session_digest(struct mr_sessions *ss, uint32_t i, uint64_t *id)
{
	const struct mr_cp_session *s = ss->slot[i];
	uint64_t h = MR_FNV1A_INIT;
	unsigned int li, k;

	if (s == NULL)
		return 0;
	*id = s->id;
	for (li = 0; li < 2; li++) {
		const struct mr_dp_leg *l = &s->dp->leg[li];
		const struct mr_dp_srtp *sd = s->leg[li].srtp.dp;
		struct mr_dp_path path[2];

		mr_leg_snapshot(l, path);
		for (k = 0; k < 2; k++) {
			h = mr_fnv1a(h, &path[k].state, sizeof(path[k].state));
			if (path[k].state != MR_PATH_NONE)
				h = mr_fnv1a(h, &path[k].remote, sizeof(path[k].remote));
		}
		h = mr_cp_srtp_digest(h, sd);
		k = __atomic_load_n(&l->mute, __ATOMIC_RELAXED) &
		    (MR_LEG_MUTE_BLOCK | MR_LEG_MUTE_SILENCE | MR_LEG_MUTE_DTMF);
		if (k & MR_LEG_MUTE_DTMF)
			k |= (unsigned int)__atomic_load_n(&l->dtmf_pt, __ATOMIC_RELAXED) << 8;
		h = mr_fnv1a(h, &k, sizeof(k));
	}
	return h | 1;	/* never 0: that is "no session" */
}

/* ---- restore ---- */

static int
mr_rec_ep(json_t *v, struct mr_ep *ep)
{
	return json_is_string(v) && mr_ep_parse(json_string_value(v), ep) == 0 ? 0 : -1;
}

/* The record as jansson reads it: into req, rst and muted. 0, or -1 with err set. */
int
mr_session_record_read_json(json_t *rec, struct mr_session_req *req,
			    struct mr_session_restore *rst, uint16_t muted[2], char *err,
			    size_t errlen)
{
	const char *ids, *label = "";
	json_t *legs;
	json_int_t created = 0, clock = 0;
	int idle = 0, mux = 1, owner = 0, v = 0;
	unsigned int i;
	char *end;

	memset(req, 0, sizeof(*req));
	memset(rst, 0, sizeof(*rst));
	muted[0] = muted[1] = 0;
	if (json_unpack(rec, "{s:i,s:s,s?s,s?I,s?i,s?b,s?I,s?i,s:o}", "v", &v, "id", &ids,
			"label", &label, "created", &created, "idle_timeout", &idle,
			"rtcp_mux", &mux, "clock_rate", &clock, "owner", &owner,
			"legs", &legs) != 0 || v != 1 || !json_is_array(legs) ||
	    json_array_size(legs) != 2) {
		snprintf(err, errlen, "not a version 1 session record");
		return -1;
	}
	rst->id = strtoull(ids, &end, 16);
	if (strlen(ids) != 16 || *end != '\0') {
		snprintf(err, errlen, "id: not 16 hex digits");
		return -1;
	}
	rst->owner = owner < 0 ? 0 : (unsigned int)owner;
	rst->created = (time_t)created;
	snprintf(req->label, sizeof(req->label), "%s", label);
	req->idle_timeout = idle > 0 ? (unsigned int)idle : 0;
	req->rtcp_mux = mux;
	req->clock_rate = clock > 0 && clock <= UINT32_MAX ? (uint32_t)clock : 0;
	for (i = 0; i < 2; i++) {
		json_t *l = json_array_get(legs, i);
		struct mr_leg_req *lr = &req->legs[i];
		const char *ifname = NULL;

		if (json_unpack(l, "{s:s}", "interface", &ifname) != 0 ||
		    mr_rec_ep(json_object_get(l, "local"), &rst->local[i]) < 0) {
			snprintf(err, errlen, "legs[%u]: no interface or local endpoint", i);
			return -1;
		}
		snprintf(lr->interface, sizeof(lr->interface), "%s", ifname);
		lr->family = rst->local[i].family;
		if (!json_is_null(json_object_get(l, "remote"))) {
			if (mr_rec_ep(json_object_get(l, "remote"), &lr->remote) < 0) {
				snprintf(err, errlen, "legs[%u].remote: not IP:port", i);
				return -1;
			}
			lr->has_remote = 1;
		}
		if (json_object_get(l, "rtcp_remote") != NULL &&
		    !json_is_null(json_object_get(l, "rtcp_remote"))) {
			if (mr_rec_ep(json_object_get(l, "rtcp_remote"), &lr->rtcp_remote) < 0) {
				snprintf(err, errlen, "legs[%u].rtcp_remote: not IP:port", i);
				return -1;
			}
			lr->has_rtcp_remote = 1;
		}
		if (mr_cp_srtp_record_parse(json_object_get(l, "srtp"), &lr->srtp,
					    &rst->seed[i]) < 0) {
			snprintf(err, errlen, "legs[%u].srtp: bad keys or indexes", i);
			return -1;
		}
		muted[i] = (uint16_t)(json_is_true(json_object_get(l, "muted")) *
				      MR_REC_MUTE_BLOCK |
				      json_is_true(json_object_get(l, "silenced")) *
				      MR_REC_MUTE_SILENCE);
		{
			const json_t *d = json_object_get(l, "dtmf_blocked");

			if (d != NULL && !json_is_null(d)) {
				if (!json_is_integer(d) || json_integer_value(d) < 0 ||
				    json_integer_value(d) > 127) {
					snprintf(err, errlen, "legs[%u].dtmf_blocked: not a payload "
						 "type", i);
					return -1;
				}
				muted[i] |= (uint16_t)(MR_REC_MUTE_DTMF |
						       json_integer_value(d) << 8);
			}
		}
	}
	return 0;
}

/* ---- the fast path: the text as mr_session_record() writes it ---- */

struct rscan {
	const char *p, *end;
};

static int
rs_lit(struct rscan *c, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
		return -1;
	c->p += n;
	return 0;
}

/* A string without escapes (one with any goes the slow way) into out. */
static int
rs_str(struct rscan *c, char *out, size_t len)
{
	const char *q;
	size_t n;

	if (c->p >= c->end || *c->p != '"')
		return -1;
	for (q = c->p + 1; q < c->end && *q != '"'; q++)
		if (*q == '\\' || (unsigned char)*q < 0x20)
			return -1;
	if (q >= c->end || (n = (size_t)(q - c->p - 1)) >= len)
		return -1;
	memcpy(out, c->p + 1, n);
	out[n] = '\0';
	c->p = q + 1;
	return 0;
}

/* An integer as the writer prints them (an optional minus, then digits). */
static int
rs_int(struct rscan *c, int64_t *v)
{
	int neg = 0, digits = 0;
	uint64_t x = 0;

	if (c->p < c->end && *c->p == '-') {
		neg = 1;
		c->p++;
	}
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && digits < 18) {
		x = x * 10 + (uint64_t)(*c->p++ - '0');
		digits++;
	}
	if (digits == 0 || (c->p < c->end && *c->p >= '0' && *c->p <= '9'))
		return -1;
	*v = neg ? -(int64_t)x : (int64_t)x;
	return 0;
}

/* "ip:port", or null when may_be_null (family 0). */
static int
rs_ep(struct rscan *c, struct mr_ep *ep, int may_be_null)
{
	char t[64];

	memset(ep, 0, sizeof(*ep));
	if (may_be_null && rs_lit(c, "null") == 0)
		return 0;
	return rs_str(c, t, sizeof(t)) == 0 && mr_ep_parse(t, ep) == 0 ? 0 : -1;
}

int
mr_session_record_read_text(const char *text, size_t len, struct mr_session_req *req,
			    struct mr_session_restore *rst, uint16_t muted[2])
{
	struct rscan c = { text, text + len };
	char ids[17];
	int64_t created, idle, clock, owner;
	unsigned int i;
	int mux;
	char *end;

	memset(req, 0, sizeof(*req));
	memset(rst, 0, sizeof(*rst));
	muted[0] = muted[1] = 0;
	if (rs_lit(&c, "{\"v\":1,\"id\":") < 0 || rs_str(&c, ids, sizeof(ids)) < 0 ||
	    strlen(ids) != 16)
		return 0;
	rst->id = strtoull(ids, &end, 16);
	if (*end != '\0' || rs_lit(&c, ",\"label\":") < 0 ||
	    rs_str(&c, req->label, sizeof(req->label)) < 0 ||
	    rs_lit(&c, ",\"created\":") < 0 || rs_int(&c, &created) < 0 ||
	    rs_lit(&c, ",\"idle_timeout\":") < 0 || rs_int(&c, &idle) < 0 ||
	    rs_lit(&c, ",\"rtcp_mux\":") < 0)
		return 0;
	if (rs_lit(&c, "true") == 0)
		mux = 1;
	else if (rs_lit(&c, "false") == 0)
		mux = 0;
	else
		return 0;
	if (rs_lit(&c, ",\"clock_rate\":") < 0 || rs_int(&c, &clock) < 0 ||
	    rs_lit(&c, ",\"owner\":") < 0 || rs_int(&c, &owner) < 0 ||
	    rs_lit(&c, ",\"legs\":[") < 0 || idle < INT32_MIN || idle > INT32_MAX ||
	    owner < INT32_MIN || owner > INT32_MAX)
		return 0;
	for (i = 0; i < 2; i++) {
		struct mr_leg_req *lr = &req->legs[i];

		if (rs_lit(&c, i ? ",{\"interface\":" : "{\"interface\":") < 0 ||
		    rs_str(&c, lr->interface, sizeof(lr->interface)) < 0 ||
		    rs_lit(&c, ",\"local\":") < 0 || rs_ep(&c, &rst->local[i], 0) < 0 ||
		    rs_lit(&c, ",\"remote\":") < 0 || rs_ep(&c, &lr->remote, 1) < 0 ||
		    rs_lit(&c, ",\"rtcp_remote\":") < 0 || rs_ep(&c, &lr->rtcp_remote, 1) < 0 ||
		    rs_lit(&c, ",\"srtp\":null") < 0)	/* SRTP: the slow way */
			return 0;
		if (rs_lit(&c, ",\"muted\":true") == 0)
			muted[i] = MR_REC_MUTE_BLOCK;
		if (rs_lit(&c, ",\"silenced\":true") == 0)
			muted[i] |= MR_REC_MUTE_SILENCE;
		if (rs_lit(&c, ",\"dtmf_blocked\":") == 0) {
			int64_t pt;

			if (rs_int(&c, &pt) < 0 || pt < 0 || pt > 127)
				return 0;	/* jansson's reader says what is wrong */
			muted[i] |= (uint16_t)(MR_REC_MUTE_DTMF | pt << 8);
		}
		if (rs_lit(&c, "}") < 0)
			return 0;
		lr->family = rst->local[i].family;
		lr->has_remote = lr->remote.family != 0;
		lr->has_rtcp_remote = lr->rtcp_remote.family != 0;
	}
	if (rs_lit(&c, "]}") < 0 || c.p != c.end)
		return 0;
	rst->owner = owner < 0 ? 0 : (unsigned int)owner;
	rst->created = (time_t)created;
	req->idle_timeout = idle > 0 ? (unsigned int)idle : 0;
	req->rtcp_mux = mux;
	req->clock_rate = clock > 0 && clock <= UINT32_MAX ? (uint32_t)clock : 0;
	return 1;
}

/* A session from what a reader made of its record. */
static int
restore_read(struct mr_appliance *a, struct mr_session_req *req, struct mr_session_restore *rst,
	     const uint16_t muted[2], char *err, size_t errlen)
{
	char ids[24];
	unsigned int i;
	int rc = mr_session_restore(a, req, rst, err, errlen);

	snprintf(ids, sizeof(ids), "%016" PRIx64, rst->id);
	for (i = 0; rc == 0 && i < 2; i++) {
		if (muted[i] & MR_REC_MUTE_BLOCK)
			mr_session_block(a, ids, i, 1);
		if (muted[i] & MR_REC_MUTE_SILENCE)
			mr_session_silence(a, ids, i, 1);
		if (muted[i] & MR_REC_MUTE_DTMF)
			mr_session_block_dtmf(a, ids, i, 1, (uint8_t)(muted[i] >> 8));
	}
	mr_srtp_req_wipe(&req->legs[0].srtp);
	mr_srtp_req_wipe(&req->legs[1].srtp);
	return rc;
}

int
mr_session_restore_json(struct mr_appliance *a, json_t *rec, char *err, size_t errlen)
{
	struct mr_session_req req;
	struct mr_session_restore *rst = calloc(1, sizeof(*rst));
	uint16_t muted[2];
	int rc = -1;

	if (rst == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (mr_session_record_read_json(rec, &req, rst, muted, err, errlen) == 0)
		rc = restore_read(a, &req, rst, muted, err, errlen);
	else {
		mr_srtp_req_wipe(&req.legs[0].srtp);
		mr_srtp_req_wipe(&req.legs[1].srtp);
	}
	free(rst);
	return rc;
}

int
mr_session_restore_text(struct mr_appliance *a, const char *text, size_t len, char *err,
			size_t errlen)
{
	struct mr_session_req req;
	struct mr_session_restore rst;
	uint16_t muted[2];

	if (mr_session_record_read_text(text, len, &req, &rst, muted) != 1)
		return 0;
	return restore_read(a, &req, &rst, muted, err, errlen) < 0 ? -1 : 1;
}
