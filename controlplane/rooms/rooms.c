/* SPDX-License-Identifier: BSD-3-Clause
 * Rooms: the model of the SFU control plane (rooms.h, docs/API.md "Rooms",
 * docs/ARCHITECTURE.md "Rooms"; rooms_priv.h lists the module's files). Rooms and
 * participants (create, find, remove), tokens, events, commands to a room's owner, the
 * module's create/free and counters, and the deferred release of what the dataplane reads.
 *
 * The model is struct mr_cp_room / mr_cp_part / mr_cp_stream (rooms_priv.h); what the room's
 * owner worker reads (room_dp.h) is derived from it by mr_room_sync() (publish.c), which
 * builds new immutable SSRC maps and subscriber lists wherever they differ from the model and
 * publishes them with a release store. Anything the dataplane may still hold (an old map or
 * list, a removed stream or participant, a deleted room) goes on the control plane's deferral
 * queue (controlplane/core/defer.h) from here: it waits for the owner to apply every command
 * sent before (receiver reports and resets name streams and participants), for the room's
 * lists to be in step with the model, then for an RCU grace period (dp->qsv), and only then
 * is freed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <time.h>
#include <jansson.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_log.h>
#include <rte_seqcount.h>

#include "appliance.h"
#include "cmdq.h"
#include "defer.h"
#include "dp.h"
#include "dpmem.h"
#include "flows.h"
#include "json_req.h"
#include "media_dp.h"
#include "mr_log.h"
#include "rooms.h"
#include "rooms_priv.h"
#include "state.h"
#include "webrtc.h"

/* ------------------------------------------------------------------------------------------ */
/* Memory the dataplane reads, and its deferred release */

/* SSRC maps and subscriber lists are allocated with their defer node in front of them, so
 * that retiring one can never fail for want of memory. */
#define MR_DPMEM_HDR RTE_ALIGN_CEIL(sizeof(struct mr_defer), RTE_CACHE_LINE_SIZE)

void *
mr_room_dpmem_alloc(size_t size)
{
	uint8_t *base = rte_zmalloc("mr_room_list", MR_DPMEM_HDR + size, RTE_CACHE_LINE_SIZE);

	return base == NULL ? NULL : base + MR_DPMEM_HDR;
}

void
mr_room_dpmem_free_now(void *p)
{
	if (p == NULL)
		return;
	mr_dpmem_poison((uint8_t *)p - MR_DPMEM_HDR, 0);
	rte_free((uint8_t *)p - MR_DPMEM_HDR);
}

static void
mr_dpmem_defer_free(struct mr_defer *d, void *arg)
{
	struct mr_rooms *rs = arg;

	rs->n.retiring--;
	mr_dpmem_poison(d, 0);
	rte_free(d);	/* the node is the allocation's header */
}

static const struct mr_defer_ops mr_dpmem_defer_ops = { .free = mr_dpmem_defer_free };

/* Queue what d is embedded in on the deferral queue (defer.h). */
static void
mr_room_defer(struct mr_rooms *rs, struct mr_defer *d, unsigned int owner,
	      const struct mr_defer_ops *ops)
{
	rs->n.retiring++;
	mr_defer_add(&rs->a->defer, d, owner, ops, rs);
}

/* Free an old map or list after a grace period (no command refers to them). */
void
mr_room_dpmem_defer(struct mr_rooms *rs, void *p)
{
	if (p != NULL)
		mr_room_defer(rs, (struct mr_defer *)((uint8_t *)p - MR_DPMEM_HDR),
			      MR_DEFER_NO_OWNER, &mr_dpmem_defer_ops);
}

/* Send a command to a room's owner (cmdq.h): wait = 0 gives up at once on a full ring, for
 * commands that are only worth sending now, such as receiver reports. 0 or -EBUSY. */
int
mr_room_cmd(struct mr_rooms *rs, unsigned int w, uint32_t type, void *obj, int wait)
{
	struct mr_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = type;
	c.obj = obj;
	return mr_cmdq_send(&rs->a->cmdq, w, &c, 1, wait, NULL);
}

void
mr_room_rtx_cache_free(struct mr_rtx_cache *c)
{
	if (c == NULL)
		return;
	rte_free(c->slot);
	rte_free(c->data);
	mr_dpmem_poison(c, sizeof(*c));
	rte_free(c);
}

static void
mr_stream_free_now(struct mr_cp_stream *st);

void
mr_room_stream_free_now(struct mr_cp_stream *st)
{
	mr_stream_free_now(st);
}

static void
mr_stream_free_now(struct mr_cp_stream *st)
{
	if (st->dp != NULL) {
		mr_room_rtx_cache_free(st->dp->cache);
		mr_room_dpmem_free_now(st->dp->subs);
		mr_dpmem_poison(st->dp, sizeof(*st->dp));
		rte_free(st->dp);
	}
	free(st);
}


struct mr_rtx_cache *
mr_room_rtx_cache_alloc(uint32_t size, uint32_t slot_bytes)
{
	struct mr_rtx_cache *c = rte_zmalloc("mr_rtx", sizeof(*c), RTE_CACHE_LINE_SIZE);

	if (c == NULL)
		return NULL;
	c->size = size;
	c->slot_bytes = slot_bytes;
	c->slot = rte_zmalloc("mr_rtx_slot", (size_t)size * sizeof(*c->slot), RTE_CACHE_LINE_SIZE);
	c->data = rte_malloc("mr_rtx_data", (size_t)size * slot_bytes, RTE_CACHE_LINE_SIZE);
	if (c->slot == NULL || c->data == NULL) {
		mr_room_rtx_cache_free(c);
		return NULL;
	}
	return c;
}

static void mr_tokens_del(struct mr_rooms *rs, struct mr_cp_part *p);

extern int mr_logtype_rooms;

/* ---- mixing slots (media_dp.h): dp->mix_slot[] entries, given at join, taken back once
 * the participant is freed ---- */

static uint32_t
mr_mix_slot_get(struct mr_rooms *rs)
{
	uint32_t i;

	if (rs->mix_free == NULL) {
		rs->mix_free = malloc(MR_MIX_SLOTS * sizeof(*rs->mix_free));
		if (rs->mix_free == NULL)
			return 0;
		for (i = 1; i < MR_MIX_SLOTS; i++)
			rs->mix_free[rs->n_mix_free++] = MR_MIX_SLOTS - i;
	}
	return rs->n_mix_free ? rs->mix_free[--rs->n_mix_free] : 0;
}

static void
mr_mix_slot_put(struct mr_rooms *rs, uint32_t slot)
{
	struct mr_mix_slot *s = &rs->a->dp->mix_slot[slot];

	s->part = NULL;
	rs->mix_free[rs->n_mix_free++] = slot;
}

/* Out of the workers' view: a mixed packet still in a ring for it is dropped (mix_stale). */
static void
mr_mix_slot_close(struct mr_rooms *rs, uint32_t slot)
{
	/* Release: with the grace period that follows, no worker uses the participant
	 * through the slot once it is freed. */
	__atomic_store_n(&rs->a->dp->mix_slot[slot].gen, 0, __ATOMIC_RELEASE);
}

/* Send a command to a media lcore and wait (at most 100 ms) until it was applied; for the
 * error paths of a join only. 0 or -EBUSY. */
static int
mr_media_cmd_sync(struct mr_media *md, uint32_t type, void *obj)
{
	uint64_t end = rte_get_tsc_cycles() + rte_get_tsc_hz() / 10;

	while (mr_media_cmd(md, type, obj) < 0) {
		if ((int64_t)(rte_get_tsc_cycles() - end) > 0)
			return -EBUSY;
		rte_delay_us_block(100);
	}
	while (!mr_media_caught_up(md, md->cmd_sent)) {
		if ((int64_t)(rte_get_tsc_cycles() - end) > 0)
			return -EBUSY;
		rte_delay_us_block(100);
	}
	return 0;
}

/* A mixing room's new participant: a slot, its decoder, encoder and jitter buffer, handed
 * to the room's media lcore before the participant is published. */
static int
mr_mix_join(struct mr_rooms *rs, struct mr_cp_room *r, struct mr_cp_part *p, json_t **body)
{
	struct mr_dp *dp = rs->a->dp;
	unsigned int media = mr_mix_room_media(r->mix);
	struct mr_mix_slot *s;
	uint32_t slot, gen;

	slot = mr_mix_slot_get(rs);
	if (slot == 0) {
		rs->n.rejected++;
		return mr_err(body, 503, "mix: all %d mixing slots are in use", MR_MIX_SLOTS - 1);
	}
	gen = ++rs->mix_gen ? rs->mix_gen : ++rs->mix_gen;
	p->mix = mr_mix_part_create(r->mix, p->dp, slot, gen, p->dp->relay_ssrc);
	if (p->mix == NULL) {
		mr_mix_slot_put(rs, slot);
		rs->n.rejected++;
		return mr_err(body, 503, "memory: no room for another Opus decoder and encoder");
	}
	if (mr_media_cmd(dp->media[media], MR_MEDIA_ADD_PART, p->mix) < 0) {
		mr_mix_part_free(p->mix);
		p->mix = NULL;
		mr_mix_slot_put(rs, slot);
		rs->n.rejected++;
		return mr_err(body, 503, "mix: the command ring of media lcore %u is full",
			      dp->media[media]->lcore_id);
	}
	s = &dp->mix_slot[slot];
	s->part = p->dp;
	s->media = (uint8_t)media;
	/* Release: the workers' acquire load of gen sees part. */
	__atomic_store_n(&s->gen, gen, __ATOMIC_RELEASE);
	p->dp->mix = p->mix;
	p->mix_slot = slot;
	p->gain_q8 = 256;		/* 1.0: mr_mix_part_create's */
	return 0;
}

/* Undo mr_mix_join() for a participant no worker saw. */
static void
mr_mix_unjoin(struct mr_rooms *rs, struct mr_cp_room *r, struct mr_cp_part *p)
{
	struct mr_media *md = rs->a->dp->media[mr_mix_room_media(r->mix)];

	if (p->mix == NULL)
		return;
	mr_mix_slot_close(rs, p->mix_slot);
	if (mr_media_cmd_sync(md, MR_MEDIA_DEL_PART, p->mix) < 0) {
		/* Still the lcore's: leaked rather than freed under it. */
		MR_LOG(ERR, mr_logtype_rooms, "rooms", "media lcore %u does not answer: the "
		       "mixing state of a refused participant is leaked\n", md->lcore_id);
		p->mix_slot = 0;
		return;
	}
	mr_mix_part_free(p->mix);
	mr_mix_slot_put(rs, p->mix_slot);
	p->mix = NULL;
	p->mix_slot = 0;
}


static void
mr_part_free_now(struct mr_rooms *rs, struct mr_cp_part *p, int endpoint)
{
	struct mr_cp_stream *st;

	while ((st = TAILQ_FIRST(&p->streams)) != NULL) {
		TAILQ_REMOVE(&p->streams, st, link);
		mr_stream_free_now(st);
	}
	if (endpoint && p->dp != NULL)
		mr_flows_ep_free(rs->a->flows, p->pidx, &p->dp->local);
	mr_cp_srtp_release(&p->srtp);
	mr_srtp_key_wipe(&p->srtp_new.key);
	mr_webrtc_ice_free(p->dp);
	mr_mix_part_free(p->mix);
	if (p->mix_slot != 0)
		mr_mix_slot_put(rs, p->mix_slot);
	mr_dpmem_poison(p->dp, sizeof(*p->dp));
	rte_free(p->dp);
	free(p->subs);
	free(p);
}

static void
mr_room_free_now(struct mr_rooms *rs, struct mr_cp_room *r)
{
	if (r->mix != NULL) {
		rs->media_rooms[mr_mix_room_media(r->mix)]--;
		mr_mix_room_free(r->mix);
	}
	if (r->dp != NULL) {
		mr_room_dpmem_free_now(r->dp->map);
		mr_dpmem_poison(r->dp, sizeof(*r->dp));
		rte_free(r->dp);
	}
	free(r);
}

/* May the grace period of a removed stream or participant start? Lists that lag the model
 * may still name it: catch up first. */
static int
mr_room_in_step(struct mr_rooms *rs, struct mr_cp_room *r)
{
	if (r->dirty)
		mr_room_sync(rs, r);
	return !r->dirty;
}

static int
mr_stream_defer_ready(struct mr_defer *d, void *arg)
{
	return mr_room_in_step(arg, container_of(d, struct mr_cp_stream, defer)->room);
}

static void
mr_stream_defer_free(struct mr_defer *d, void *arg)
{
	struct mr_rooms *rs = arg;
	struct mr_cp_stream *st = container_of(d, struct mr_cp_stream, defer);

	rs->n.retiring--;
	st->room->n_dying--;
	mr_stream_free_now(st);
}

static const struct mr_defer_ops mr_stream_defer_ops = {
	.ready = mr_stream_defer_ready,
	.free = mr_stream_defer_free,
};

/* Has the media lcore let go of what it was given (a participant's or a room's mixing
 * state)? The command goes out on the first call (again on later ones while its ring is
 * full); *seq keeps the count it must reach. */
static int
mr_mix_released(struct mr_rooms *rs, unsigned int media, uint32_t type, void *obj,
		uint64_t *seq)
{
	struct mr_media *md = rs->a->dp->media[media];

	if (*seq == 0) {
		if (mr_media_cmd(md, type, obj) < 0)
			return 0;
		*seq = md->cmd_sent;
	}
	return mr_media_caught_up(md, *seq);
}

static int
mr_part_defer_ready(struct mr_defer *d, void *arg)
{
	struct mr_cp_part *p = container_of(d, struct mr_cp_part, defer);

	/* The media lcore first: it reads the participant (its latched path, its room). */
	if (p->mix != NULL &&
	    !mr_mix_released(arg, mr_mix_room_media(p->room->mix), MR_MEDIA_DEL_PART, p->mix,
			     &p->mix_del_seq))
		return 0;
	return mr_room_in_step(arg, p->room);
}

static void
mr_part_defer_free(struct mr_defer *d, void *arg)
{
	struct mr_rooms *rs = arg;
	struct mr_cp_part *p = container_of(d, struct mr_cp_part, defer);

	rs->n.retiring--;
	p->room->n_dying--;
	mr_part_free_now(rs, p, 1);
}

static const struct mr_defer_ops mr_part_defer_ops = {
	.ready = mr_part_defer_ready,
	.free = mr_part_defer_free,
};

/* A deleted room goes once its removed participants and streams are gone: they point at
 * it. */
static int
mr_room_defer_ready(struct mr_defer *d, void *arg)
{
	struct mr_cp_room *r = container_of(d, struct mr_cp_room, defer);

	if (r->n_dying != 0)
		return 0;
	return r->mix == NULL || mr_mix_released(arg, mr_mix_room_media(r->mix),
						 MR_MEDIA_DEL_ROOM, r->mix, &r->mix_del_seq);
}

static void
mr_room_defer_free(struct mr_defer *d, void *arg)
{
	struct mr_rooms *rs = arg;

	rs->n.retiring--;
	mr_room_free_now(rs, container_of(d, struct mr_cp_room, defer));
}

static const struct mr_defer_ops mr_room_defer_ops = {
	.ready = mr_room_defer_ready,
	.free = mr_room_defer_free,
};

/* A stream out of the model and its lists: freed once the owner applied the commands sent
 * so far (receiver reports name it) and a grace period passed. */
void
mr_room_stream_defer(struct mr_rooms *rs, struct mr_cp_room *r, struct mr_cp_stream *st)
{
	r->n_dying++;
	mr_room_defer(rs, &st->defer, r->owner, &mr_stream_defer_ops);
}

/* ------------------------------------------------------------------------------------------ */
/* Events */

json_t *
mr_room_idj(uint32_t id)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%" PRIu32, id);
	return json_string(buf);
}

void
mr_room_emit(struct mr_rooms *rs, const struct mr_cp_room *r, uint32_t only, uint32_t except,
	     json_t *ev)
{
	if (ev == NULL)
		return;
	json_object_set_new(ev, "room", mr_room_idj(r->id));
	if (rs->cb != NULL)
		rs->cb(rs->cb_arg, r->id, only, except, ev);
	/* A cluster room's events of its own participants reach the other nodes' (span.c);
	 * those that came from there (they name their "node") do not go back. */
	if (r->cluster && only == 0 && json_object_get(ev, "node") == NULL)
		mr_room_span_event(rs, r, ev);
	json_decref(ev);
}

void
mr_rooms_set_event_cb(struct mr_rooms *rs,
		      void (*cb)(void *arg, uint32_t room_id, uint32_t only_part,
				 uint32_t except_part, json_t *event),
		      void *arg)
{
	rs->cb = cb;
	rs->cb_arg = arg;
}

/* ------------------------------------------------------------------------------------------ */
/* Lookups */

struct mr_cp_room *
mr_room_find(const struct mr_rooms *rs, uint32_t id)
{
	uint32_t lo = 0, hi = rs->n_rooms;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (rs->room[mid]->id == id)
			return rs->room[mid];
		if (rs->room[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct mr_cp_part *
mr_room_part_find(const struct mr_cp_room *r, uint32_t id)
{
	struct mr_cp_part *p;

	TAILQ_FOREACH(p, &r->parts, link)
		if (p->id == id)
			return p;
	return NULL;
}

struct mr_cp_stream *
mr_room_stream_find_in(const struct mr_cp_part *p, uint32_t id)
{
	struct mr_cp_stream *st;

	TAILQ_FOREACH(st, &p->streams, link)
		if (st->id == id)
			return st;
	return NULL;
}

struct mr_cp_stream *
mr_room_stream_find(const struct mr_cp_room *r, uint32_t id)
{
	struct mr_cp_part *p;
	struct mr_cp_stream *st;

	TAILQ_FOREACH(p, &r->parts, link)
		if ((st = mr_room_stream_find_in(p, id)) != NULL)
			return st;
	return NULL;
}

struct mr_cp_stream *
mr_room_stream_by_ssrc(const struct mr_cp_room *r, uint32_t ssrc)
{
	struct mr_cp_part *p;
	struct mr_cp_stream *st;

	TAILQ_FOREACH(p, &r->parts, link)
		TAILQ_FOREACH(st, &p->streams, link)
			if (st->dp->ssrc == ssrc)
				return st;
	return NULL;
}

int
mr_room_part_subscribed(const struct mr_cp_part *p, uint32_t stream)
{
	return bsearch(&stream, p->subs, p->n_subs, sizeof(*p->subs), mr_rooms_u32_cmp) != NULL;
}

/* Room, participant (and stream) from ids, or a 404 in *out. */
int
mr_room_lookup(struct mr_rooms *rs, uint32_t room, uint32_t part, struct mr_cp_room **r,
	       struct mr_cp_part **p, json_t **out)
{
	*r = mr_room_find(rs, room);
	if (*r == NULL)
		return mr_err(out, 404, "room: no such room '%" PRIu32 "'", room);
	if (p == NULL)
		return 0;
	*p = mr_room_part_find(*r, part);
	if (*p == NULL)
		return mr_err(out, 404, "participant: no such participant '%" PRIu32
			      "' in room %" PRIu32, part, room);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Rooms, participants */

static void
mr_ntp_now(uint64_t *ntp, uint64_t *tsc)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	*tsc = rte_get_tsc_cycles();
	/* RFC 3550 §4: seconds since 1 January 1900 (70 years and 17 leap days before the
	 * Unix epoch) in the high 32 bits, the fraction in the low 32. */
	*ntp = ((uint64_t)ts.tv_sec + 2208988800ULL) << 32 |
		(((uint64_t)ts.tv_nsec << 32) / 1000000000ULL);
}

static int
mr_random(void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom((uint8_t *)buf + got, n - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)r;
	}
	return 0;
}

static uint32_t mr_room_slot_of(const struct mr_rooms *rs, uint32_t id);

int
mr_room_create(struct mr_rooms *rs, const struct mr_room_req *req,
	       const struct mr_room_restore *rst, struct mr_cp_room **out, json_t **body)
{
	uint32_t slot;

	struct mr_cp_room *r;
	struct mr_dp_ssrc_map *map;

	if (rs->n_rooms >= rs->cfg->max_rooms) {
		rs->n.rejected++;
		return mr_err(body, 503, "rooms: limit of %u reached (rooms.max_rooms)",
			      rs->cfg->max_rooms);
	}
	if (rs->n_rooms == rs->cap_rooms) {
		uint32_t cap = rs->cap_rooms ? rs->cap_rooms * 2 : 64;
		struct mr_cp_room **nr = realloc(rs->room, cap * sizeof(*nr));

		if (nr == NULL)
			return mr_err(body, 500, "internal: out of memory");
		rs->room = nr;
		rs->cap_rooms = cap;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return mr_err(body, 500, "internal: out of memory");
	r->dp = rte_zmalloc("mr_room", sizeof(*r->dp), RTE_CACHE_LINE_SIZE);
	map = mr_room_dpmem_alloc(mr_ssrc_map_size(0));
	if (r->dp == NULL || map == NULL) {
		mr_room_dpmem_free_now(map);
		rte_free(r->dp);
		free(r);
		rs->n.rejected++;
		return mr_err(body, 503, "memory: no room for another room");
	}
	if (rst != NULL) {
		r->id = rst->id;
		if (rst->id > rs->next_room)
			rs->next_room = rst->id;
	} else {
		r->id = mr_rooms_new_id(rs);
	}
	snprintf(r->name, sizeof(r->name), "%s", req->name);
	r->max_participants = req->max_participants ? req->max_participants :
		rs->cfg->max_participants;
	if (req->mix) {
		struct mr_dp *dp = rs->a->dp;
		unsigned int m, best = 0;

		if (dp->n_media == 0) {
			--rs->next_room;
			mr_room_dpmem_free_now(map);
			rte_free(r->dp);
			free(r);
			return mr_err(body, 409, "mode: 'mix' needs media lcores (lcores.media "
				      "in the configuration)");
		}
		for (m = 1; m < dp->n_media; m++)
			if (rs->media_rooms[m] < rs->media_rooms[best])
				best = m;
		r->mix_max_speakers = (uint8_t)(req->mix_max_speakers >= 0 ?
			req->mix_max_speakers : (int)rs->cfg->mix_max_speakers);
		r->mix = mr_mix_room_create(r->id, best, req->mix_pt, r->mix_max_speakers);
		if (r->mix == NULL) {
			--rs->next_room;
			mr_room_dpmem_free_now(map);
			rte_free(r->dp);
			free(r);
			rs->n.rejected++;
			return mr_err(body, 503, "memory: no room for another mixing room");
		}
		rs->media_rooms[best]++;
		r->mix_pt = req->mix_pt ? req->mix_pt : MR_MIX_PT;
		if (r->max_participants > MR_MIX_MAX_PARTS)
			r->max_participants = MR_MIX_MAX_PARTS;
		r->dp->mix = 1;
	}
	r->auto_subscribe = req->auto_subscribe != 0;
	r->auto_publish = req->auto_publish != 0;
	if (req->cluster && r->mix == NULL) {
		r->cluster = 1;		/* its entry goes to Redis at the next tick (span.c) */
		rs->n_cluster++;
		rs->n.cluster_rooms++;
	}
	r->auto_publish_kind = req->auto_publish_kind;
	/* The least loaded worker owns the whole room: every participant's endpoint, so that
	 * fan-out reads no state another lcore writes (room_dp.h). */
	r->owner = rst != NULL ? rst->owner % rs->a->dp->n_workers :
		mr_flows_least_loaded(rs->a->flows);
	r->created = rst != NULL ? rst->created : time(NULL);
	TAILQ_INIT(&r->parts);
	TAILQ_INIT(&r->plays);
	mr_speaker_init(&r->spk);
	r->dp->id = r->id;
	r->dp->owner = (uint8_t)r->owner;
	r->dp->auto_publish = r->auto_publish;
	mr_ntp_now(&r->dp->ntp_base, &r->dp->tsc_base);
	r->dp->map = map;
	/* Ids only grow: appending keeps the array sorted (a restore comes in any order). */
	slot = mr_room_slot_of(rs, r->id);
	memmove(&rs->room[slot + 1], &rs->room[slot], (rs->n_rooms - slot) * sizeof(rs->room[0]));
	rs->room[slot] = r;
	rs->n_rooms++;
	rs->n.active++;
	if (rst == NULL)
		rs->n.created++;
	mr_room_persist(rs, r);
	*out = r;
	return 201;
}

/* Where room id is or would go in the sorted array. */
static uint32_t
mr_room_slot_of(const struct mr_rooms *rs, uint32_t id)
{
	uint32_t lo = 0, hi = rs->n_rooms;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (rs->room[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
mr_tokens_del(struct mr_rooms *rs, struct mr_cp_part *p)
{
	json_object_del(rs->tokens, p->token);
	mr_state_token(rs->a->state, p->token, 0);
}

static const char *const mr_leave_name[] = {
	[MR_LEAVE_LEFT] = "left", [MR_LEAVE_KICKED] = "kicked", [MR_LEAVE_TIMEOUT] = "timeout",
	[MR_LEAVE_ROOM_DELETED] = "room_deleted", [MR_LEAVE_NODE_LOST] = "node_lost",
};

/* Take a participant out of the model and the dataplane; its memory follows once the owner
 * applied the commands sent before and a grace period passed. */
void
mr_room_part_remove(struct mr_rooms *rs, struct mr_cp_part *p, enum mr_leave_reason why)
{
	struct mr_cp_room *r = p->room;

	mr_room_emit(rs, r, 0, why == MR_LEAVE_LEFT ? p->id : 0,
		     json_pack("{s:s,s:o,s:s}", "type", "participant_left", "participant",
			  mr_room_idj(p->id), "reason", mr_leave_name[why]));
	TAILQ_REMOVE(&r->parts, p, link);
	r->n_parts--;
	if (p->n_learn != 0)
		r->n_learning--;
	p->n_learn = 0;
	r->n_streams -= p->n_streams;
	rs->n.streams -= p->n_streams;
	rs->n.participants--;
	r->n_dying++;
	mr_tokens_del(rs, p);
	if (p->is_link)
		mr_room_span_part_gone(rs, p);
	mr_speaker_forget(&r->spk, p->id);
	mr_webrtc_part_gone(rs->a->webrtc, p->dp);
	if (p->mix_slot != 0)
		mr_mix_slot_close(rs, p->mix_slot);
	/* Out of every list first, then out of the flow table, then the deferral queue. */
	mr_room_sync(rs, r);
	mr_flows_del(rs->a->flows, &p->dp->local, p->dp->local.port, r->owner);
	mr_flows_load_add(rs->a->flows, r->owner, -1);
	rs->owned[r->owner]--;
	mr_room_defer(rs, &p->defer, r->owner, &mr_part_defer_ops);
}

void
mr_room_delete(struct mr_rooms *rs, struct mr_cp_room *r)
{
	struct mr_cp_part *p;
	uint32_t slot;

	mr_room_plays_stop(rs, r);
	if (r->cluster)
		mr_room_span_gone(rs, r);
	while ((p = TAILQ_FIRST(&r->parts)) != NULL)
		mr_room_part_remove(rs, p, MR_LEAVE_ROOM_DELETED);
	/* Its record leaves the state store: the write finds no room of that id. */
	mr_room_persist(rs, r);
	slot = mr_room_slot_of(rs, r->id);
	memmove(&rs->room[slot], &rs->room[slot + 1],
		(rs->n_rooms - slot - 1) * sizeof(rs->room[0]));
	rs->n_rooms--;
	rs->n.active--;
	rs->n.deleted++;
	r->deleted = 1;
	mr_room_defer(rs, &r->defer, r->owner, &mr_room_defer_ops);
}

/* The appliance port and family of a new participant. */
static int
mr_part_port(struct mr_rooms *rs, const struct mr_part_req *req, unsigned int *pidx,
	     uint8_t *family, json_t **body)
{
	const struct mr_config *cfg = rs->a->cfg;
	char buf[MR_ECHO];
	uint8_t fam = req->family;
	unsigned int i;

	for (i = 0; i < cfg->n_ports; i++) {
		const struct mr_port_conf *pc = &cfg->ports[i];

		if (req->interface[0] && strcmp(pc->name, req->interface) != 0)
			continue;
		if (req->interface[0] && fam == 0)
			fam = pc->addr4.family ? MR_AF4 : MR_AF6;
		if ((fam == 0 || fam == MR_AF4) && pc->addr4.family) {
			*pidx = i;
			*family = MR_AF4;
			return 0;
		}
		if (fam == MR_AF6 && pc->addr6.family) {
			*pidx = i;
			*family = MR_AF6;
			return 0;
		}
		if (req->interface[0])
			return mr_err(body, 400, "interface: '%s' has no %s address",
				      pc->name, fam == MR_AF4 ? "IPv4" : "IPv6");
	}
	if (req->interface[0])
		return mr_err(body, 400, "interface: no such interface '%s'",
			      mr_json_echo(req->interface, buf, sizeof(buf)));
	if (fam == 0) {
		/* No IPv4 anywhere: the first port with IPv6. */
		for (i = 0; i < cfg->n_ports; i++) {
			if (cfg->ports[i].addr6.family) {
				*pidx = i;
				*family = MR_AF6;
				return 0;
			}
		}
	}
	return mr_err(body, 400, "%s: no interface has an %s address",
		      req->family ? "family" : "interface",
		      fam == MR_AF6 ? "IPv6" : "IPv4");
}

int
mr_room_part_create(struct mr_rooms *rs, struct mr_cp_room *r, const struct mr_part_req *req,
		    const struct mr_part_restore *rst, struct mr_cp_part **out, json_t **body)
{
	struct mr_dp *dp = rs->a->dp;
	struct mr_cp_part *p;
	uint8_t rnd[16], fam = 0;
	unsigned int pidx = 0, i;
	uint32_t relay_ssrc;
	int rc;

	if (r->n_parts >= r->max_participants)
		return mr_err(body, 409, "participants: room %" PRIu32 " is full (%u)", r->id,
			      r->max_participants);
	rc = mr_part_port(rs, req, &pidx, &fam, body);
	if (rc)
		return rc;
	if (mr_flows_ep_available(rs->a->flows) < 1) {
		rs->n.rejected++;
		return mr_err(body, 503, "ports: no free relay ports");
	}
	if (rst != NULL && json_object_get(rs->tokens, rst->token) != NULL)
		return mr_err(body, 409, "token: held by another participant");
	if (mr_random(rnd, sizeof(rnd)) < 0 || mr_random(&relay_ssrc, sizeof(relay_ssrc)) < 0)
		return mr_err(body, 500, "internal: no random numbers (getrandom)");
	if (rst != NULL)
		relay_ssrc = rst->relay_ssrc;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return mr_err(body, 500, "internal: out of memory");
	p->dp = rte_zmalloc("mr_part", sizeof(*p->dp), RTE_CACHE_LINE_SIZE);
	if (p->dp == NULL) {
		free(p);
		rs->n.rejected++;
		return mr_err(body, 503, "memory: no room for another participant");
	}
	TAILQ_INIT(&p->streams);
	p->room = r;
	p->pidx = pidx;
	p->created = rst != NULL ? rst->created : time(NULL);
	snprintf(p->name, sizeof(p->name), "%s", req->name);
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(p->token + 2 * i, 3, "%02x", rnd[i]);
	if (rst != NULL) {
		snprintf(p->token, sizeof(p->token), "%s", rst->token);
		if (mr_flows_ep_take(rs->a->flows, pidx, &rst->local, r->owner) < 0) {
			rte_free(p->dp);
			free(p);
			return mr_err(body, 409, "local: not free on this appliance");
		}
		p->dp->local = rst->local;
		p->id = rst->id;
		if (rst->id > r->next_part)
			r->next_part = rst->id;
	} else {
		if (mr_flows_ep_alloc(rs->a->flows, pidx, fam, r->owner, &p->dp->local) < 0) {
			rte_free(p->dp);
			free(p);
			rs->n.rejected++;
			return mr_err(body, 503, "ports: no free relay ports");
		}
		p->id = ++r->next_part;
	}
	p->dp->room = r->dp;
	p->dp->port_idx = (uint16_t)pidx;
	p->dp->level_ext_id = req->level_ext_id;
	p->dp->id = p->id;
	/* 0 would read as "none" to tools; any other value may be ours (RFC 3550 §8.1 leaves
	 * collisions with the subscribers' SSRCs to the loop detection of the endpoints). */
	p->dp->relay_ssrc = relay_ssrc ? relay_ssrc : 1;
	rte_seqcount_init(&p->dp->seq);
	p->dp->rtx_tokens = (uint64_t)(dp->nack_budget ? dp->nack_budget : MR_DP_NACK_BUDGET)
		<< 16;
	p->dp->rtx_refill_tsc = rte_get_tsc_cycles();
	p->dp->last_rx_tsc = p->dp->rtx_refill_tsc;
	p->dp->path.last_rx_tsc = p->dp->rtx_refill_tsc;	/* the learning window opens */
	if (rst != NULL && rst->latched) {
		/* As latched before the restart: media goes out at once. */
		p->dp->path.remote = rst->remote;
		memcpy(p->dp->path.mac.addr_bytes, rst->mac, sizeof(rst->mac));
		p->dp->path.state = MR_PATH_LATCHED;
	}
	if (r->mix != NULL) {
		rc = mr_mix_join(rs, r, p, body);
		if (rc) {
			mr_flows_ep_free(rs->a->flows, pidx, &p->dp->local);
			rte_free(p->dp);
			free(p);
			return rc;
		}
	}
	if (req->srtp.present) {
		rc = mr_cp_srtp_build(rs->a, "srtp", &req->srtp, NULL,
				      (int)rte_lcore_to_socket_id(dp->w[r->owner]->lcore_id),
				      &p->dp->srtp, &p->srtp_new, body);
		if (rc) {
			mr_mix_unjoin(rs, r, p);
			mr_flows_ep_free(rs->a->flows, pidx, &p->dp->local);
			rte_free(p->dp);
			free(p);
			return rc;
		}
		mr_cp_srtp_set(&p->srtp, p->dp->srtp, &req->srtp, &p->srtp_new);
		if (rst != NULL)
			mr_cp_srtp_seed(p->dp->srtp, &rst->seeds);
	}
	if (req->webrtc) {
		rc = mr_webrtc_part_new(rs->a->webrtc, r->id, p->id, r->owner, p->dp, &p->srtp,
					body);
		if (rc) {
			mr_mix_unjoin(rs, r, p);
			mr_flows_ep_free(rs->a->flows, pidx, &p->dp->local);
			rte_free(p->dp);
			free(p);
			return rc;
		}
	}

	/* Publish: the owner map was set by mr_flows_ep_alloc; the participant is whole before
	 * its key is added (a release). */
	if (mr_flows_add(rs->a->flows, &p->dp->local, p->dp->local.port, r->owner,
			 mr_room_flow_val(p->dp)) < 0) {
		/* Never visible to a worker: no grace period needed. */
		mr_mix_unjoin(rs, r, p);
		mr_flows_ep_free(rs->a->flows, pidx, &p->dp->local);
		mr_webrtc_part_gone(rs->a->webrtc, p->dp);
		mr_webrtc_ice_free(p->dp);
		mr_cp_srtp_release(&p->srtp);
		mr_srtp_key_wipe(&p->srtp_new.key);
		rte_free(p->dp);
		free(p);
		rs->n.rejected++;
		return mr_err(body, 503, "flows: table of lcore %u is full",
			      dp->w[r->owner]->lcore_id);
	}
	json_object_set_new(rs->tokens, p->token,
			    json_integer((json_int_t)((uint64_t)r->id << 32 | p->id)));
	/* The cluster learns where the token joins (a WebSocket elsewhere is sent here). */
	mr_state_token(rs->a->state, p->token, 1);
	TAILQ_INSERT_TAIL(&r->parts, p, link);
	r->n_parts++;
	mr_flows_load_add(rs->a->flows, r->owner, 1);
	rs->owned[r->owner]++;
	rs->n.participants++;
	rs->n.participants_created++;
	/* Nothing to subscribe to or from yet, except in auto_subscribe rooms: the new
	 * participant joins every stream's list. */
	mr_room_sync(rs, r);
	*out = p;
	return 201;
}

/* ------------------------------------------------------------------------------------------ */
/* Create, free, counters */

struct mr_rooms *
mr_rooms_create(struct mr_appliance *a)
{
	struct mr_rooms *rs = calloc(1, sizeof(*rs));

	if (rs == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	rs->a = a;
	rs->cfg = &a->cfg->rooms;
	TAILQ_INIT(&rs->plays_active);
	rs->tokens = json_object();
	if (rs->tokens == NULL) {
		free(rs);
		rte_errno = ENOMEM;
		return NULL;
	}
	return rs;
}

void
mr_rooms_free(struct mr_rooms *rs)
{
	struct mr_cp_part *p;
	uint32_t i;

	if (rs == NULL)
		return;
	/* The workers are stopped: nothing reads the dataplane's copies any more. */
	for (i = 0; i < rs->n_rooms; i++) {
		struct mr_cp_room *r = rs->room[i];

		mr_room_plays_free_now(rs, r);
		while ((p = TAILQ_FIRST(&r->parts)) != NULL) {
			TAILQ_REMOVE(&r->parts, p, link);
			mr_part_free_now(rs, p, 1);
		}
		mr_room_free_now(rs, r);
	}
	json_decref(rs->tokens);
	free(rs->mix_free);
	free(rs->room);
	free(rs);
}

void
mr_rooms_counts(const struct mr_rooms *rs, struct mr_rooms_counts *c)
{
	*c = rs->n;
}

unsigned int
mr_rooms_owned(const struct mr_rooms *rs, unsigned int w)
{
	return w < MR_DP_MAX_WORKERS ? rs->owned[w] : 0;
}
