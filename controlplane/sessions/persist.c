/* SPDX-License-Identifier: BSD-3-Clause
 * A session's record in the state store (controlplane/state/, docs/OPERATIONS.md "State in
 * Redis"): what a restart or a standby needs to relay it again on the same id, local
 * endpoints, remotes and keys. One JSON object per session:
 *
 *   {"v": 1, "id": "hex16", "label", "created", "idle_timeout", "rtcp_mux", "clock_rate",
 *    "owner": worker index,
 *    "legs": [{"interface", "local": "ip:port", "remote": "ip:port"|null,
 *              "rtcp_remote": "ip:port"|null, ["muted": true, when blocked,]
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
		k = __atomic_load_n(&l->mute, __ATOMIC_RELAXED) & MR_LEG_MUTE_BLOCK;
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

int
mr_session_restore_json(struct mr_appliance *a, json_t *rec, char *err, size_t errlen)
{
	struct mr_session_req req;
	struct mr_session_restore *rst;
	const char *ids, *label = "";
	json_t *legs;
	json_int_t created = 0, clock = 0;
	int idle = 0, mux = 1, owner = 0, v = 0, rc = -1;
	unsigned int i;
	char *end;

	memset(&req, 0, sizeof(req));
	rst = calloc(1, sizeof(*rst));
	if (rst == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (json_unpack(rec, "{s:i,s:s,s?s,s?I,s?i,s?b,s?I,s?i,s:o}", "v", &v, "id", &ids,
			"label", &label, "created", &created, "idle_timeout", &idle,
			"rtcp_mux", &mux, "clock_rate", &clock, "owner", &owner,
			"legs", &legs) != 0 || v != 1 || !json_is_array(legs) ||
	    json_array_size(legs) != 2) {
		snprintf(err, errlen, "not a version 1 session record");
		goto out;
	}
	rst->id = strtoull(ids, &end, 16);
	if (strlen(ids) != 16 || *end != '\0') {
		snprintf(err, errlen, "id: not 16 hex digits");
		goto out;
	}
	rst->owner = owner < 0 ? 0 : (unsigned int)owner;
	rst->created = (time_t)created;
	snprintf(req.label, sizeof(req.label), "%s", label);
	req.idle_timeout = idle > 0 ? (unsigned int)idle : 0;
	req.rtcp_mux = mux;
	req.clock_rate = clock > 0 && clock <= UINT32_MAX ? (uint32_t)clock : 0;
	for (i = 0; i < 2; i++) {
		json_t *l = json_array_get(legs, i);
		struct mr_leg_req *lr = &req.legs[i];
		const char *ifname = NULL;

		if (json_unpack(l, "{s:s}", "interface", &ifname) != 0 ||
		    mr_rec_ep(json_object_get(l, "local"), &rst->local[i]) < 0) {
			snprintf(err, errlen, "legs[%u]: no interface or local endpoint", i);
			goto out;
		}
		snprintf(lr->interface, sizeof(lr->interface), "%s", ifname);
		lr->family = rst->local[i].family;
		if (!json_is_null(json_object_get(l, "remote"))) {
			if (mr_rec_ep(json_object_get(l, "remote"), &lr->remote) < 0) {
				snprintf(err, errlen, "legs[%u].remote: not IP:port", i);
				goto out;
			}
			lr->has_remote = 1;
		}
		if (json_object_get(l, "rtcp_remote") != NULL &&
		    !json_is_null(json_object_get(l, "rtcp_remote"))) {
			if (mr_rec_ep(json_object_get(l, "rtcp_remote"), &lr->rtcp_remote) < 0) {
				snprintf(err, errlen, "legs[%u].rtcp_remote: not IP:port", i);
				goto out;
			}
			lr->has_rtcp_remote = 1;
		}
		if (mr_cp_srtp_record_parse(json_object_get(l, "srtp"), &lr->srtp,
					    &rst->seed[i]) < 0) {
			snprintf(err, errlen, "legs[%u].srtp: bad keys or indexes", i);
			goto out;
		}
	}
	rc = mr_session_restore(a, &req, rst, err, errlen);
	for (i = 0; rc == 0 && i < 2; i++)
		if (json_is_true(json_object_get(json_array_get(json_object_get(rec, "legs"), i),
						 "muted")))
			mr_session_block(a, json_string_value(json_object_get(rec, "id")), i, 1);
out:
	mr_srtp_req_wipe(&req.legs[0].srtp);
	mr_srtp_req_wipe(&req.legs[1].srtp);
	free(rst);
	return rc;
}
