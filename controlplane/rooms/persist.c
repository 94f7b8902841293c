/* SPDX-License-Identifier: BSD-3-Clause
 * A room's record in the state store (controlplane/state/, docs/OPERATIONS.md "State in
 * Redis"): what a restart needs to go on with the room on the same ids, participants'
 * endpoints, tokens, latched remotes, keys and streams. One JSON object per room:
 *
 *   {"v": 1, "id", "name", "max_participants", "auto_subscribe", "auto_publish",
 *    "auto_publish_kind", "mix", "mix_payload_type", "mix_max_speakers", "owner", "created",
 *    "next_part", "next_stream", ["cluster": true, a room across appliances],
 *    "participants": [{"id", "name", "token", "interface", "local": "ip:port",
 *                      "remote": "ip:port"|null, "mac": "xx:xx:xx:xx:xx:xx"|null,
 *                      "level_ext_id", "relay_ssrc", "created", "muted": [audio, video],
 *                      ["gain_q8": N, mixing rooms, when not 256],
 *                      "subs": [stream ids], "srtp": null|{srtp_cp.h record},
 *                      "streams": [{"id", "ssrc", "kind", "pt", "clock_rate", "codec",
 *                                   "muted", "autopub", "created"}]}]}
 *
 * remote and mac are the latched remote (the room's participants latch from packets; the MAC
 * is the one the packets came from, a host or a gateway). WebRTC participants are not written:
 * their DTLS association does not survive a restart, the browser joins again. The keys make
 * the record sensitive. A cluster room's links (span.c) are not written either: they are
 * made again from Redis' entries of the room once the appliance runs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <jansson.h>
#include <rte_seqcount.h>

#include "addr.h"
#include "appliance.h"
#include "media_dp.h"
#include "rooms.h"
#include "rooms_priv.h"
#include "state.h"
#include "mr_log.h"

extern int mr_logtype_rooms;
#define ROOMS_LOG(level, ...) MR_LOG(level, mr_logtype_rooms, "rooms", __VA_ARGS__)

void
mr_room_persist(struct mr_rooms *rs, struct mr_cp_room *r)
{
	if (rs->a->state == NULL || r->persist_queued)
		return;
	r->persist_queued = 1;
	mr_state_room_put(rs->a->state, r->id);
}

static void
mr_part_path(const struct mr_cp_part *p, struct mr_dp_path *path)
{
	uint32_t sn;

	do {
		sn = rte_seqcount_read_begin(&p->dp->seq);
		*path = p->dp->path;
	} while (rte_seqcount_read_retry(&p->dp->seq, sn));
}

static uint64_t
mr_room_digest(const struct mr_cp_room *r)
{
	const struct mr_cp_part *p;
	uint64_t h = MR_FNV1A_INIT;

	TAILQ_FOREACH(p, &r->parts, link) {
		struct mr_dp_path path;
		int latched;

		mr_part_path(p, &path);
		latched = path.state == MR_PATH_LATCHED;
		h = mr_fnv1a(h, &latched, sizeof(latched));
		if (latched) {
			h = mr_fnv1a(h, &path.remote, sizeof(path.remote));
			h = mr_fnv1a(h, &path.mac, sizeof(path.mac));
		}
		h = mr_cp_srtp_digest(h, p->srtp.dp);
	}
	return h;
}

static json_t *
mr_stream_record(const struct mr_cp_stream *st)
{
	const struct mr_dp_stream *d = st->dp;

	return json_pack("{s:I,s:I,s:i,s:i,s:I,s:s,s:b,s:b,s:I}", "id", (json_int_t)st->id,
			 "ssrc", (json_int_t)d->ssrc, "kind", (int)d->kind, "pt", (int)d->pt,
			 "clock_rate", (json_int_t)d->clock_rate, "codec", st->codec,
			 "muted", (int)__atomic_load_n(&d->muted, __ATOMIC_RELAXED),
			 "autopub", (int)st->autopub, "created", (json_int_t)st->created);
}

static json_t *
mr_part_record(struct mr_rooms *rs, const struct mr_cp_part *p)
{
	const struct rte_ether_addr *m;
	const struct mr_cp_stream *st;
	struct mr_dp_path path;
	json_t *j, *subs = json_array(), *streams = json_array();
	char mac[24];
	uint32_t i;

	mr_part_path(p, &path);
	m = &path.mac;
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m->addr_bytes[0],
		 m->addr_bytes[1], m->addr_bytes[2], m->addr_bytes[3], m->addr_bytes[4],
		 m->addr_bytes[5]);
	for (i = 0; i < p->n_subs; i++)
		json_array_append_new(subs, json_integer(p->subs[i]));
	TAILQ_FOREACH(st, &p->streams, link)
		json_array_append_new(streams, mr_stream_record(st));
	j = json_pack("{s:I,s:s,s:s,s:s,s:o,s:o,s:o,s:i,s:I,s:I,s:[b,b],s:o,s:o,s:o}",
		      "id", (json_int_t)p->id, "name", p->name, "token", p->token,
		      "interface", rs->a->cfg->ports[p->pidx].name,
		      "local", mr_json_ep(&p->dp->local),
		      "remote", path.state == MR_PATH_LATCHED ? mr_json_ep(&path.remote) :
				json_null(),
		      "mac", path.state == MR_PATH_LATCHED ? json_string(mac) : json_null(),
		      "level_ext_id", (int)p->dp->level_ext_id,
		      "relay_ssrc", (json_int_t)p->dp->relay_ssrc,
		      "created", (json_int_t)p->created,
		      "muted", (int)p->kind_muted[MR_KIND_AUDIO], (int)p->kind_muted[MR_KIND_VIDEO],
		      "subs", subs, "srtp", mr_cp_srtp_record(&p->srtp), "streams", streams);
	if (p->mix != NULL && p->gain_q8 != 256)
		json_object_set_new(j, "gain_q8", json_integer(p->gain_q8));
	return j;
}

json_t *
mr_rooms_record(struct mr_rooms *rs, uint32_t id)
{
	struct mr_cp_room *r = mr_room_find(rs, id);
	const struct mr_cp_part *p;
	json_t *j, *parts;

	if (r == NULL)
		return NULL;
	r->persist_queued = 0;
	r->persist_digest = mr_room_digest(r);
	parts = json_array();
	TAILQ_FOREACH(p, &r->parts, link)
		if (p->dp->ice == NULL && !p->is_link)	/* links: made again (span.c) */
			json_array_append_new(parts, mr_part_record(rs, p));
	j = json_pack("{s:i,s:I,s:s,s:i,s:b,s:b,s:i,s:b,s:i,s:i,s:i,s:I,s:I,s:I,s:o}", "v", 1,
		      "id", (json_int_t)r->id, "name", r->name,
		      "max_participants", (int)r->max_participants,
		      "auto_subscribe", (int)r->auto_subscribe, "auto_publish", (int)r->auto_publish,
		      "auto_publish_kind", (int)r->auto_publish_kind, "mix", r->mix != NULL,
		      "mix_payload_type", (int)r->mix_pt,
		      "mix_max_speakers", (int)r->mix_max_speakers, "owner", (int)r->owner,
		      "created", (json_int_t)r->created, "next_part", (json_int_t)r->next_part,
		      "next_stream", (json_int_t)r->next_stream, "participants", parts);
	if (j != NULL && r->cluster)
		json_object_set_new(j, "cluster", json_true());
	return j;
}

uint32_t
mr_rooms_next(const struct mr_rooms *rs, uint32_t id)
{
	uint32_t lo = 0, hi = rs->n_rooms;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (rs->room[mid]->id <= id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < rs->n_rooms ? rs->room[lo]->id : 0;
}

uint32_t
mr_rooms_last_id(const struct mr_rooms *rs)
{
	return rs->next_room;
}

void
mr_rooms_scan(struct mr_rooms *rs)
{
	uint32_t i;

	for (i = 0; i < rs->n_rooms; i++) {
		struct mr_cp_room *r = rs->room[i];

		if (!r->persist_queued && mr_room_digest(r) != r->persist_digest)
			mr_room_persist(rs, r);
	}
}

void
mr_rooms_restored(struct mr_rooms *rs, uint32_t last)
{
	if (last > rs->next_room)
		rs->next_room = last;
}

/* ---- room ids across the cluster ---- */

void
mr_rooms_ids_cluster(struct mr_rooms *rs)
{
	rs->ids.on = 1;
}

void
mr_rooms_ids_block(struct mr_rooms *rs, uint32_t first, uint32_t last)
{
	if (last <= rs->next_room || first > last)
		return;
	rs->ids.nfirst = first > rs->next_room ? first : rs->next_room + 1;
	rs->ids.nlast = last;
}

int
mr_rooms_ids_wanted(const struct mr_rooms *rs)
{
	return rs->ids.on && rs->ids.nlast <= rs->next_room;
}

uint32_t
mr_rooms_new_id(struct mr_rooms *rs)
{
	if (rs->ids.on) {
		if (rs->next_room >= rs->ids.last && rs->ids.nlast > rs->next_room) {
			/* The spare block; ids between the two stay unused (another node's). */
			if (rs->ids.nfirst > rs->next_room + 1)
				rs->next_room = rs->ids.nfirst - 1;
			rs->ids.last = rs->ids.nlast;
			rs->ids.nfirst = rs->ids.nlast = 0;
		}
		if (rs->next_room >= rs->ids.last)
			rs->n.ids_unreserved++;
	}
	return ++rs->next_room;
}

/* ---- restore ---- */

static int
mr_rec_u32(json_t *o, const char *k, uint32_t *v, int required)
{
	json_t *x = json_object_get(o, k);

	if (x == NULL && !required)
		return 0;
	if (!json_is_integer(x) || json_integer_value(x) < 0 ||
	    json_integer_value(x) > UINT32_MAX)
		return -1;
	*v = (uint32_t)json_integer_value(x);
	return 0;
}

static int
mr_rec_mac(json_t *v, uint8_t mac[6])
{
	unsigned int b[6], i;

	if (!json_is_string(v) || sscanf(json_string_value(v), "%2x:%2x:%2x:%2x:%2x:%2x",
					 &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -1;
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static int
mr_part_restore_json(struct mr_rooms *rs, struct mr_cp_room *r, json_t *pj, char *err,
		     size_t errlen)
{
	struct mr_part_req req;
	struct mr_part_restore *rst;
	struct mr_cp_part *p = NULL;
	const char *name = "", *token = NULL, *ifname = NULL;
	json_t *body = NULL, *streams, *subs, *muted, *sj, *x;
	uint32_t lvl = 0, created = 0;
	size_t k;
	int rc = -1;

	memset(&req, 0, sizeof(req));
	rst = calloc(1, sizeof(*rst));
	if (rst == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (json_unpack(pj, "{s?s,s:s,s:s}", "name", &name, "token", &token,
			"interface", &ifname) != 0 || strlen(token) != MR_TOKEN_LEN - 1 ||
	    mr_rec_u32(pj, "id", &rst->id, 1) < 0 || rst->id == 0 ||
	    mr_rec_u32(pj, "relay_ssrc", &rst->relay_ssrc, 1) < 0 ||
	    mr_rec_u32(pj, "level_ext_id", &lvl, 0) < 0 || lvl > 14 ||
	    mr_rec_u32(pj, "created", &created, 0) < 0 ||
	    !json_is_string(json_object_get(pj, "local")) ||
	    mr_ep_parse(json_string_value(json_object_get(pj, "local")), &rst->local) < 0) {
		snprintf(err, errlen, "participant: bad id, token, interface or local endpoint");
		goto out;
	}
	x = json_object_get(pj, "remote");
	if (x != NULL && !json_is_null(x)) {
		if (!json_is_string(x) || mr_ep_parse(json_string_value(x), &rst->remote) < 0 ||
		    mr_rec_mac(json_object_get(pj, "mac"), rst->mac) < 0) {
			snprintf(err, errlen, "participant %" PRIu32 ": bad remote or mac",
				 rst->id);
			goto out;
		}
		rst->latched = 1;
	}
	snprintf(rst->token, sizeof(rst->token), "%s", token);
	rst->created = (time_t)created;
	snprintf(req.name, sizeof(req.name), "%s", name);
	snprintf(req.interface, sizeof(req.interface), "%s", ifname);
	req.family = rst->local.family;
	req.level_ext_id = (uint8_t)lvl;
	sj = json_object_get(pj, "srtp");
	if (mr_cp_srtp_record_parse(sj, &req.srtp, &rst->seeds) < 0) {
		snprintf(err, errlen, "participant %" PRIu32 ": srtp: bad keys or indexes",
			 rst->id);
		goto out;
	}
	if (mr_room_part_create(rs, r, &req, rst, &p, &body) != 201) {
		const char *e = json_string_value(json_object_get(body, "error"));

		snprintf(err, errlen, "participant %" PRIu32 ": %s", rst->id,
			 e != NULL ? e : "failed");
		goto out;
	}
	mr_srtp_key_wipe(&p->srtp_new.key);
	muted = json_object_get(pj, "muted");
	for (k = 0; k < 2; k++)
		p->kind_muted[k] = json_is_true(json_array_get(muted, k));
	x = json_object_get(pj, "gain_q8");
	if (p->mix != NULL && json_is_integer(x) && json_integer_value(x) >= 0 &&
	    json_integer_value(x) <= 1024) {
		p->gain_q8 = (uint32_t)json_integer_value(x);
		mr_mix_part_gain(p->mix, p->gain_q8);
	}
	subs = json_object_get(pj, "subs");
	if (json_array_size(subs) > 0) {
		p->subs = calloc(json_array_size(subs), sizeof(*p->subs));
		json_array_foreach(subs, k, x)
			if (p->subs != NULL && json_is_integer(x))
				p->subs[p->n_subs++] = (uint32_t)json_integer_value(x);
	}
	streams = json_object_get(pj, "streams");
	json_array_foreach(streams, k, x) {
		struct mr_stream_req sr;
		struct mr_cp_stream *st;
		const char *codec = "";
		uint32_t id = 0, ssrc = 0, kind = 0, pt = 0, clock = 0, sc = 0;
		int autopub = 0, smuted = 0;
		json_t *b = NULL;

		memset(&sr, 0, sizeof(sr));
		if (json_unpack(x, "{s?s,s?b,s?b}", "codec", &codec, "autopub", &autopub,
				"muted", &smuted) != 0 ||
		    mr_rec_u32(x, "id", &id, 1) < 0 || id == 0 ||
		    mr_rec_u32(x, "ssrc", &ssrc, 1) < 0 ||
		    mr_rec_u32(x, "kind", &kind, 1) < 0 || kind > MR_KIND_VIDEO ||
		    mr_rec_u32(x, "pt", &pt, 1) < 0 || pt > 127 ||
		    mr_rec_u32(x, "clock_rate", &clock, 0) < 0 ||
		    mr_rec_u32(x, "created", &sc, 0) < 0) {
			ROOMS_LOG(WARNING, "room %" PRIu32 " participant %" PRIu32 ": a stream "
				  "record is not valid: not restored\n", r->id, p->id);
			continue;
		}
		sr.ssrc = ssrc;
		sr.kind = (uint8_t)kind;
		sr.pt = (uint8_t)pt;
		sr.clock_rate = clock;
		snprintf(sr.codec, sizeof(sr.codec), "%s", codec);
		if (mr_room_stream_publish(rs, p, &sr, autopub, id, &st, &b) != 201) {
			const char *e = json_string_value(json_object_get(b, "error"));

			ROOMS_LOG(WARNING, "room %" PRIu32 " stream %" PRIu32 ": not restored: "
				  "%s\n", r->id, id, e != NULL ? e : "failed");
		} else {
			st->created = (time_t)sc;
			__atomic_store_n(&st->dp->muted, (uint8_t)(smuted != 0), __ATOMIC_RELAXED);
		}
		json_decref(b);
	}
	rc = 0;
out:
	json_decref(body);
	mr_srtp_req_wipe(&req.srtp);
	explicit_bzero(rst, sizeof(*rst));
	free(rst);
	return rc;
}

int
mr_rooms_restore_json(struct mr_rooms *rs, json_t *rec, char *err, size_t errlen)
{
	struct mr_room_req req;
	struct mr_room_restore rst;
	struct mr_cp_room *r;
	const char *name = "";
	json_t *parts, *pj, *body = NULL;
	uint32_t maxp = 0, owner = 0, created = 0, np = 0, ns = 0, kind = 0;
	uint32_t mix_pt = 0, mix_k = 0;
	int v = 0, asub = 1, apub = 0, mix = 0;
	size_t k;

	memset(&req, 0, sizeof(req));
	memset(&rst, 0, sizeof(rst));
	if (json_unpack(rec, "{s:i,s?s,s?b,s?b,s?b,s:o}", "v", &v, "name", &name,
			"auto_subscribe", &asub, "auto_publish", &apub, "mix", &mix,
			"participants", &parts) != 0 || v != 1 || !json_is_array(parts) ||
	    mr_rec_u32(rec, "id", &rst.id, 1) < 0 || rst.id == 0 ||
	    mr_rec_u32(rec, "max_participants", &maxp, 0) < 0 ||
	    mr_rec_u32(rec, "owner", &owner, 0) < 0 ||
	    mr_rec_u32(rec, "created", &created, 0) < 0 ||
	    mr_rec_u32(rec, "next_part", &np, 0) < 0 ||
	    mr_rec_u32(rec, "next_stream", &ns, 0) < 0 ||
	    mr_rec_u32(rec, "mix_payload_type", &mix_pt, 0) < 0 || mix_pt > 127 ||
	    mr_rec_u32(rec, "mix_max_speakers", &mix_k, 0) < 0 ||
	    mix_k > MR_ROOM_MIX_MAX_SPEAKERS ||
	    mr_rec_u32(rec, "auto_publish_kind", &kind, 0) < 0 || kind > MR_KIND_VIDEO) {
		snprintf(err, errlen, "not a version 1 room record");
		return -1;
	}
	if (mr_room_find(rs, rst.id) != NULL) {
		snprintf(err, errlen, "id: room %" PRIu32 " exists already", rst.id);
		return -1;
	}
	snprintf(req.name, sizeof(req.name), "%s", name);
	req.max_participants = maxp;
	req.auto_subscribe = asub;
	req.auto_publish = apub;
	req.auto_publish_kind = (uint8_t)kind;
	req.mix = (uint8_t)mix;
	req.mix_pt = (uint8_t)mix_pt;
	req.cluster = json_is_true(json_object_get(rec, "cluster"));
	/* A record from before mix_max_speakers: the configuration's, as for a new room. */
	req.mix_max_speakers = json_object_get(rec, "mix_max_speakers") != NULL ?
		(int)mix_k : -1;
	rst.owner = owner;
	rst.created = (time_t)created;
	if (mr_room_create(rs, &req, &rst, &r, &body) != 201) {
		const char *e = json_string_value(json_object_get(body, "error"));

		snprintf(err, errlen, "%s", e != NULL ? e : "failed");
		json_decref(body);
		return -1;
	}
	/* Ids are never reused: those handed out before the last write count too. */
	r->next_part = np;
	r->next_stream = ns;
	json_array_foreach(parts, k, pj) {
		char perr[256];

		if (mr_part_restore_json(rs, r, pj, perr, sizeof(perr)) < 0)
			ROOMS_LOG(WARNING, "room %" PRIu32 ": %s: not restored\n", r->id, perr);
	}
	/* Subscriptions may name streams of participants restored after them. */
	mr_room_sync(rs, r);
	/* What was read is what Redis has: no rewrite unless something else changes. */
	json_decref(mr_rooms_record(rs, r->id));
	return 0;
}
