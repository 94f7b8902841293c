/* SPDX-License-Identifier: BSD-3-Clause
 * Rooms: publication to the dataplane (docs/ARCHITECTURE.md "Rooms"). mr_room_sync() brings
 * what the room's owner worker reads (room_dp.h: the SSRC map, each stream's subscriber list)
 * in step with the model, building new immutable lists and publishing each with one release
 * store; the old ones go on the deferral queue (rooms.c). Publishing, unpublishing and muting
 * a stream are here too: each changes what the dataplane forwards.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <jansson.h>
#include <rte_log.h>
#include <rte_malloc.h>

#include "appliance.h"
#include "dp.h"
#include "rooms.h"
#include "rooms_priv.h"
#include "rtp_stats.h"
#include "mr_log.h"

MR_LOG_REGISTER(mr_logtype_rooms, rooms);
#define ROOMS_LOG(level, ...) MR_LOG(level, mr_logtype_rooms, "rooms", __VA_ARGS__)

/* ------------------------------------------------------------------------------------------ */
/* Bringing the dataplane's lists in step with the model */

/* Build and publish every subscriber list that differs from the model, then the SSRC map.
 * On failure (memory) the room stays dirty: the tick tries again, and nothing removed from
 * the model is freed before the lists no longer reference it. */
int
mr_room_sync(struct mr_rooms *rs, struct mr_cp_room *r)
{
	struct mr_dp_part **parts = NULL;
	struct mr_cp_part **cps = NULL;
	struct mr_dp_ssrc_ent *ents = NULL;
	struct mr_dp_sublist *tmp = NULL;
	struct mr_dp_ssrc_map *map;
	struct mr_cp_part *p;
	struct mr_cp_stream *st;
	uint8_t *want = NULL;
	uint32_t i, np = 0, ns = 0;
	int rc = -ENOMEM;

	parts = malloc((r->n_parts + 1) * sizeof(*parts));
	cps = malloc((r->n_parts + 1) * sizeof(*cps));
	want = malloc(r->n_parts + 1);
	ents = malloc((r->n_streams + 1) * sizeof(*ents));
	tmp = malloc(mr_sublist_size(r->n_parts));
	if (parts == NULL || cps == NULL || want == NULL || ents == NULL || tmp == NULL)
		goto free_arrays;
	TAILQ_FOREACH(p, &r->parts, link) {
		cps[np] = p;
		parts[np++] = p->dp;
	}
	TAILQ_FOREACH(p, &r->parts, link) {
		TAILQ_FOREACH(st, &p->streams, link) {
			struct mr_dp_sublist *nl;

			/* A cluster room's link takes every stream of this node's own
			 * participants and none of another link's: each node sends its
			 * own streams to every other (span.c). */
			for (i = 0; i < np; i++)
				want[i] = cps[i]->is_link ? !p->is_link : r->auto_subscribe ||
					mr_room_part_subscribed(cps[i], st->id);
			mr_sublist_fill(tmp, parts, want, np, p->dp);
			if (mr_sublist_same(tmp, st->dp->subs))
				goto map_entry;
			nl = mr_room_dpmem_alloc(mr_sublist_size(tmp->n));
			if (nl == NULL)
				goto free_arrays;
			memcpy(nl, tmp, mr_sublist_size(tmp->n));
			/* Release: the worker's acquire load of subs sees a filled list. */
			mr_room_dpmem_defer(rs, __atomic_exchange_n(&st->dp->subs, nl,
								    __ATOMIC_RELEASE));
map_entry:
			ents[ns].ssrc = st->dp->ssrc;
			ents[ns++].st = st->dp;
		}
	}
	/* Voice message playbacks (play.c): every participant hears them. Not in the SSRC
	 * map: nobody publishes them, so nothing from a participant can be theirs. */
	if (!TAILQ_EMPTY(&r->plays)) {
		struct mr_cp_play *pl;

		/* Not to links: a playback is heard on the node that plays it. */
		for (i = 0; i < np; i++)
			want[i] = !cps[i]->is_link;
		TAILQ_FOREACH(pl, &r->plays, link) {
			struct mr_dp_sublist *nl;

			if (pl->st == NULL)
				continue;
			mr_sublist_fill(tmp, parts, want, np, NULL);
			if (mr_sublist_same(tmp, pl->st->dp->subs))
				continue;
			nl = mr_room_dpmem_alloc(mr_sublist_size(tmp->n));
			if (nl == NULL)
				goto free_arrays;
			memcpy(nl, tmp, mr_sublist_size(tmp->n));
			/* Release: as a publisher's stream's list. */
			mr_room_dpmem_defer(rs, __atomic_exchange_n(&pl->st->dp->subs, nl,
								    __ATOMIC_RELEASE));
		}
	}
	map = r->dp->map;
	if (map != NULL && map->n == ns) {
		/* Same size and every SSRC of the model maps to its stream: the same map
		 * (the model's SSRCs are unique). */
		for (i = 0; i < ns; i++)
			if (mr_ssrc_map_find(map, ents[i].ssrc) != ents[i].st)
				break;
		if (i == ns) {
			rc = 0;
			goto free_arrays;
		}
	}
	map = mr_room_dpmem_alloc(mr_ssrc_map_size(ns));
	if (map == NULL)
		goto free_arrays;
	if (mr_ssrc_map_fill(map, ents, ns) < 0) {
		/* Publication refuses clashes, so this is a bug: never publish it. */
		ROOMS_LOG(ERR, "room %" PRIu32 ": SSRC clash in the model\n", r->id);
		mr_room_dpmem_free_now(map);
		rc = -EEXIST;
		goto free_arrays;
	}
	/* Release: the worker's acquire load of map sees filled entries and streams. */
	mr_room_dpmem_defer(rs, __atomic_exchange_n(&r->dp->map, map, __ATOMIC_RELEASE));
	rc = 0;
free_arrays:
	free(parts);
	free(cps);
	free(want);
	free(ents);
	free(tmp);
	r->dirty = rc != 0;
	/* Called after every change of participants, streams and subscriptions. */
	mr_room_persist(rs, r);
	if (r->cluster) {
		r->span_tsc = 0;	/* the other nodes learn of it at the next tick */
		r->span_changed = 1;
	}
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Streams */

int
mr_room_stream_publish(struct mr_rooms *rs, struct mr_cp_part *p, const struct mr_stream_req *req,
		       int autopub, uint32_t id, struct mr_cp_stream **out, json_t **body)
{
	struct mr_cp_room *r = p->room;
	struct mr_cp_stream *st;
	struct mr_dp_sublist *empty;
	uint64_t hz = rs->a->dp->tsc_hz;

	/* A cluster room's link publishes the streams of all its node's participants. */
	if (p->n_streams >= rs->cfg->max_streams * (p->is_link ? r->max_participants : 1))
		return mr_err(body, 409, "streams: participant %" PRIu32 " already publishes %u "
			      "streams (rooms.max_streams)", p->id, p->n_streams);
	if (r->mix != NULL) {
		/* A mixing room mixes one audio stream a participant (its jitter buffer). */
		if (req->kind != MR_KIND_AUDIO)
			return mr_err(body, 409, "kind: room %" PRIu32 " mixes audio only "
				      "(\"mode\": \"mix\")", r->id);
		if (p->n_streams != 0)
			return mr_err(body, 409, "streams: participant %" PRIu32 " already "
				      "publishes its audio stream in mixing room %" PRIu32, p->id,
				      r->id);
	}
	st = mr_room_stream_by_ssrc(r, req->ssrc);
	if (st != NULL) {
		rs->n.ssrc_clashes++;
		return mr_err(body, 409, "ssrc: %" PRIu32 " is already published in room %"
			      PRIu32 " (stream %" PRIu32 " of participant %" PRIu32 ")",
			      req->ssrc, r->id, st->id, st->pub->id);
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return mr_err(body, 500, "internal: out of memory");
	st->dp = rte_zmalloc("mr_stream", sizeof(*st->dp), RTE_CACHE_LINE_SIZE);
	empty = mr_room_dpmem_alloc(mr_sublist_size(0));
	if (st->dp == NULL || empty == NULL)
		goto free_stream_dp;
	st->dp->subs = empty;
	/* NACK answers need the budget too: without retransmissions, NACKs go to the
	 * publisher and no cache is kept. */
	if (rs->cfg->nack_cache && rs->cfg->nack_budget) {
		st->dp->cache = mr_room_rtx_cache_alloc(rs->cfg->nack_cache,
							req->kind == MR_KIND_VIDEO ?
							MR_RTX_SLOT_VIDEO : MR_RTX_SLOT_AUDIO);
		if (st->dp->cache == NULL)
			goto free_stream_dp;
	}
	if (id == 0)
		id = ++r->next_stream;
	else if (id > r->next_stream)
		r->next_stream = id;
	st->id = id;
	st->pub = p;
	st->room = r;
	st->autopub = autopub != 0;
	st->created = time(NULL);
	st->mos = -1;
	snprintf(st->codec, sizeof(st->codec), "%s", req->codec);
	st->origin_part = req->origin_part;
	snprintf(st->origin_name, sizeof(st->origin_name), "%s", req->origin_name);
	st->dp->ssrc = req->ssrc;
	st->dp->id = st->id;
	st->dp->kind = req->kind;
	st->dp->pt = req->pt;
	st->dp->clock_rate = req->clock_rate;
	st->dp->ts_mult = req->clock_rate ? ((uint64_t)req->clock_rate << 32) / hz : 0;
	if (req->clock_rate && st->dp->ts_mult == 0)
		st->dp->ts_mult = 1;
	st->dp->pub = p->dp;
	st->dp->muted = p->kind_muted[req->kind];
	/* A recorded room (or participant recording a message) records its new audio streams
	 * too (record.c). */
	st->dp->rec_id = req->kind != MR_KIND_AUDIO ? 0 : r->mix != NULL ? p->rec_id :
		(r->rec_id ? r->rec_id : p->rec_id);
	st->dp->level_q8 = MR_LEVEL_SILENCE_Q8;
	mr_rtp_stats_init(&st->dp->rtp);
	TAILQ_INSERT_TAIL(&p->streams, st, link);
	p->n_streams++;
	r->n_streams++;
	rs->n.streams++;
	if (mr_room_sync(rs, r) < 0) {
		/* Not (fully) published: take it out again; it is freed once the lists are in
		 * step (the tick retries). */
		TAILQ_REMOVE(&p->streams, st, link);
		p->n_streams--;
		r->n_streams--;
		rs->n.streams--;
		mr_room_sync(rs, r);
		mr_room_stream_defer(rs, r, st);
		rs->n.rejected++;
		return mr_err(body, 503, "memory: no room for the stream's lists");
	}
	mr_room_emit(rs, r, 0, p->id, json_pack("{s:s,s:o,s:o}", "type", "stream_published",
						"participant", mr_room_idj(p->id), "stream",
						mr_room_stream_json(rs, st, 0)));
	*out = st;
	return 201;

free_stream_dp:
	if (st->dp != NULL)
		mr_room_rtx_cache_free(st->dp->cache);
	mr_room_dpmem_free_now(empty);
	rte_free(st->dp);
	free(st);
	rs->n.rejected++;
	return mr_err(body, 503, "memory: no room for another stream (rooms.nack_cache = %u)",
		      rs->cfg->nack_cache);
}

void
mr_room_stream_remove(struct mr_rooms *rs, struct mr_cp_stream *st)
{
	struct mr_cp_part *p = st->pub, *q;
	struct mr_cp_room *r = p->room;
	uint32_t i;

	TAILQ_REMOVE(&p->streams, st, link);
	p->n_streams--;
	r->n_streams--;
	rs->n.streams--;
	/* Stream ids are never reused: drop them from explicit subscriptions for tidiness. */
	TAILQ_FOREACH(q, &r->parts, link) {
		for (i = 0; i < q->n_subs; i++) {
			if (q->subs[i] == st->id) {
				memmove(&q->subs[i], &q->subs[i + 1],
					(q->n_subs - i - 1) * sizeof(q->subs[0]));
				q->n_subs--;
				break;
			}
		}
	}
	if (r->spk.stream == st->id)
		r->spk.stream = 0;
	mr_room_sync(rs, r);
	/* Receiver report commands may name the stream: wait until the owner applied
	 * everything sent so far, then a grace period. */
	mr_room_stream_defer(rs, r, st);
	mr_room_emit(rs, r, 0, p->id, json_pack("{s:s,s:o,s:o}", "type", "stream_unpublished",
						"participant", mr_room_idj(p->id), "stream",
						mr_room_idj(st->id)));
}

/* Mute or unmute a stream: one relaxed byte store (room_dp.h: the owner reads it relaxed
 * per packet; a packet or two either way does not matter). */
void
mr_room_stream_mute(struct mr_rooms *rs, struct mr_cp_stream *st, int muted)
{
	struct mr_cp_room *r = st->pub->room;

	if (__atomic_load_n(&st->dp->muted, __ATOMIC_RELAXED) == (uint8_t)muted)
		return;
	__atomic_store_n(&st->dp->muted, (uint8_t)muted, __ATOMIC_RELAXED);
	mr_room_persist(rs, r);
	mr_room_emit(rs, r, 0, 0, json_pack("{s:s,s:o,s:o,s:s}", "type",
					    muted ? "muted" : "unmuted",
					    "participant", mr_room_idj(st->pub->id), "stream",
					    mr_room_idj(st->id),
					    "kind", mr_room_kind_name[st->dp->kind]));
}
