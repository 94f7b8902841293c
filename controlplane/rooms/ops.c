/* SPDX-License-Identifier: BSD-3-Clause
 * Rooms: the signaling API of rooms.h (find_token, join, disconnect, leave, publish,
 * unpublish, mute, subscribe, part_stats), used by controlplane/api/signaling.c. The REST
 * handlers (rest.c) call the same functions, so both answer alike.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <jansson.h>

#include "appliance.h"
#include "dp.h"
#include "json_req.h"
#include "rooms.h"
#include "rooms_priv.h"

int
mr_rooms_find_token(struct mr_rooms *rs, const char *token, uint32_t *room, uint32_t *part)
{
	json_t *v;
	uint64_t x;

	if (token == NULL || strlen(token) != MR_TOKEN_LEN - 1)
		return -ENOENT;
	v = json_object_get(rs->tokens, token);
	if (v == NULL)
		return -ENOENT;
	x = (uint64_t)json_integer_value(v);
	*room = (uint32_t)(x >> 32);
	*part = (uint32_t)x;
	return 0;
}

int
mr_rooms_join(struct mr_rooms *rs, uint32_t room, uint32_t part, json_t **out)
{
	struct mr_cp_room *r;
	struct mr_cp_part *p;
	int rc = mr_room_lookup(rs, room, part, &r, &p, out);

	if (rc)
		return rc;
	/* A second join comes from a new connection, maybe from elsewhere: let the media
	 * latch again at once rather than after relay.relatch_timeout_ms. */
	if (p->joined && mr_room_cmd(rs, r->owner, MR_CMD_PART_RESET, p->dp, 1) < 0)
		return mr_err(out, 503, "commands: the command ring of lcore %u is full",
			      rs->a->dp->w[r->owner]->lcore_id);
	p->joined = 1;
	p->connected = 1;
	mr_room_emit(rs, r, 0, p->id, json_pack("{s:s,s:o}", "type", "participant_joined",
						"participant",
						mr_room_part_json(rs, p, PJ_SUMMARY)));
	*out = json_pack("{s:o,s:o}", "room", mr_room_json(rs, r, 1),
			 "participant", mr_room_part_json(rs, p, PJ_FULL | PJ_TOKEN));
	return 200;
}

struct mr_dp_part *
mr_rooms_part_dp(struct mr_rooms *rs, uint32_t room, uint32_t part)
{
	struct mr_cp_room *r = mr_room_find(rs, room);
	struct mr_cp_part *p = r ? mr_room_part_find(r, part) : NULL;

	return p != NULL ? p->dp : NULL;
}

int
mr_rooms_set_rx_pt(struct mr_rooms *rs, uint32_t room, uint32_t part, uint8_t kind, int pt)
{
	struct mr_dp_part *dp = mr_rooms_part_dp(rs, room, part);

	if (dp == NULL || kind > MR_KIND_VIDEO || pt > 127)
		return -ENOENT;
	/* Relaxed: a byte the owner reads per copy (room_dp.h rx_pt); set before the
	 * participant has keys, so no packet is ever sent to it with the old value. */
	__atomic_store_n(&dp->rx_pt[kind], pt < 0 ? 0 : (uint8_t)(MR_PT_SET | pt), __ATOMIC_RELAXED);
	return 0;
}

int
mr_rooms_set_ext(struct mr_rooms *rs, uint32_t room, uint32_t part, uint32_t map)
{
	struct mr_dp_part *dp = mr_rooms_part_dp(rs, room, part);

	if (dp == NULL)
		return -ENOENT;
	/* Relaxed: as rx_pt, before the participant has keys. */
	__atomic_store_n(&dp->ext_out, map, __ATOMIC_RELAXED);
	return 0;
}

int
mr_rooms_learn(struct mr_rooms *rs, uint32_t room, uint32_t part,
	       const struct mr_learn_req *l, unsigned int n, uint8_t mid_id)
{
	struct mr_cp_room *r = mr_room_find(rs, room);
	struct mr_cp_part *p = r != NULL ? mr_room_part_find(r, part) : NULL;

	if (p == NULL)
		return -ENOENT;
	if (n > MR_LEARN_MAX)
		n = MR_LEARN_MAX;
	if (p->n_learn != 0)
		r->n_learning--;
	memcpy(p->learn, l, n * sizeof(*l));
	p->n_learn = (uint8_t)n;
	if (n != 0)
		r->n_learning++;
	/* Reports from the first packet of an unknown SSRC on; before that, none read. */
	p->autopub_seq = __atomic_load_n(&p->dp->autopub_seq, __ATOMIC_ACQUIRE);
	/* Relaxed: a flag the owner reads on an unknown SSRC only. */
	__atomic_store_n(&p->dp->learn_mid_id, n == 0 ? 0 : mid_id ? mid_id : MR_LEARN_BY_PT,
			 __ATOMIC_RELAXED);
	return 0;
}

int
mr_rooms_exists(const struct mr_rooms *rs, uint32_t room)
{
	return mr_room_find(rs, room) != NULL;
}

int
mr_rooms_disconnect(struct mr_rooms *rs, uint32_t room, uint32_t part)
{
	struct mr_cp_room *r = mr_room_find(rs, room);
	struct mr_cp_part *p = r ? mr_room_part_find(r, part) : NULL;

	if (p == NULL)
		return 404;
	p->connected = 0;
	return 204;
}

int
mr_rooms_leave(struct mr_rooms *rs, uint32_t room, uint32_t part, enum mr_leave_reason why)
{
	struct mr_cp_room *r = mr_room_find(rs, room);
	struct mr_cp_part *p = r ? mr_room_part_find(r, part) : NULL;

	if (p == NULL || (unsigned int)why > MR_LEAVE_ROOM_DELETED)
		return 404;
	mr_room_part_remove(rs, p, why);
	return 204;
}

int
mr_rooms_publish(struct mr_rooms *rs, uint32_t room, uint32_t part,
		 const struct mr_stream_req *req, json_t **out)
{
	struct mr_cp_room *r;
	struct mr_cp_part *p;
	struct mr_cp_stream *st;
	int rc = mr_room_lookup(rs, room, part, &r, &p, out);

	if (rc)
		return rc;
	if (req->kind > MR_KIND_VIDEO || req->pt > 127)
		return mr_err(out, 400, "kind: must be 'audio' or 'video'");
	rc = mr_room_stream_publish(rs, p, req, 0, 0, &st, out);
	if (rc != 201)
		return rc;
	*out = mr_room_stream_json(rs, st, 0);
	return 201;
}

int
mr_rooms_unpublish(struct mr_rooms *rs, uint32_t room, uint32_t part, uint32_t stream,
		   json_t **out)
{
	struct mr_cp_room *r;
	struct mr_cp_part *p;
	struct mr_cp_stream *st;
	int rc = mr_room_lookup(rs, room, part, &r, &p, out);

	if (rc)
		return rc;
	st = mr_room_stream_find_in(p, stream);
	if (st == NULL)
		return mr_err(out, 404, "stream: no such stream '%" PRIu32 "' of participant %"
			      PRIu32, stream, part);
	mr_room_stream_remove(rs, st);
	*out = NULL;
	return 204;
}

int
mr_rooms_mute(struct mr_rooms *rs, uint32_t room, uint32_t part, uint32_t stream, uint8_t kind,
	      int muted, json_t **out)
{
	struct mr_cp_room *r;
	struct mr_cp_part *p;
	struct mr_cp_stream *st;
	int rc = mr_room_lookup(rs, room, part, &r, &p, out);

	if (rc)
		return rc;
	if (stream != 0) {
		st = mr_room_stream_find_in(p, stream);
		if (st == NULL)
			return mr_err(out, 404, "stream: no such stream '%" PRIu32
				      "' of participant %" PRIu32, stream, part);
		mr_room_stream_mute(rs, st, muted != 0);
	} else {
		if (kind > MR_KIND_VIDEO)
			return mr_err(out, 400, "kind: must be 'audio' or 'video'");
		p->kind_muted[kind] = muted != 0;
		mr_room_persist(rs, r);
		TAILQ_FOREACH(st, &p->streams, link)
			if (st->dp->kind == kind)
				mr_room_stream_mute(rs, st, muted != 0);
	}
	*out = mr_room_part_json(rs, p, PJ_FULL);
	return 200;
}

/* Check an explicit subscription set against the room: streams that exist and are not the
 * participant's own. 0 or a 400/409 in *out. */
int
mr_room_subs_check(struct mr_cp_room *r, struct mr_cp_part *p, const uint32_t *ids, uint32_t n,
		   json_t **out)
{
	struct mr_cp_stream *st;
	uint32_t i;

	if (r->auto_subscribe)
		return mr_err(out, 409, "subscriptions: room %" PRIu32 " subscribes everyone to "
			      "every stream (auto_subscribe)", r->id);
	for (i = 0; i < n; i++) {
		st = mr_room_stream_find(r, ids[i]);
		if (st == NULL)
			return mr_err(out, 400, "subscriptions: no such stream '%" PRIu32
				      "' in room %" PRIu32, ids[i], r->id);
		if (st->pub == p)
			return mr_err(out, 400, "subscriptions: stream '%" PRIu32 "' is the "
				      "participant's own", ids[i]);
	}
	return 0;
}

int
mr_rooms_subscribe(struct mr_rooms *rs, uint32_t room, uint32_t part, uint32_t stream, int on,
		   json_t **out)
{
	struct mr_cp_room *r;
	struct mr_cp_part *p;
	uint32_t *ns, i;
	int rc = mr_room_lookup(rs, room, part, &r, &p, out);

	if (rc)
		return rc;
	if (on) {
		rc = mr_room_subs_check(r, p, &stream, 1, out);
		if (rc)
			return rc;
		if (!mr_room_part_subscribed(p, stream)) {
			ns = realloc(p->subs, (p->n_subs + 1) * sizeof(*ns));
			if (ns == NULL)
				return mr_err(out, 500, "internal: out of memory");
			for (i = p->n_subs; i > 0 && ns[i - 1] > stream; i--)
				ns[i] = ns[i - 1];
			ns[i] = stream;
			p->subs = ns;
			p->n_subs++;
		}
	} else {
		if (r->auto_subscribe)
			return mr_room_subs_check(r, p, NULL, 0, out);
		for (i = 0; i < p->n_subs; i++) {
			if (p->subs[i] == stream) {
				memmove(&p->subs[i], &p->subs[i + 1],
					(p->n_subs - i - 1) * sizeof(p->subs[0]));
				p->n_subs--;
				break;
			}
		}
	}
	/* A failed sync leaves the room dirty: the tick brings the lists in step. */
	mr_room_sync(rs, r);
	*out = mr_room_subs_json(p);
	return 200;
}

int
mr_rooms_part_stats(struct mr_rooms *rs, uint32_t room, uint32_t part, json_t **out)
{
	struct mr_cp_room *r;
	struct mr_cp_part *p;
	int rc = mr_room_lookup(rs, room, part, &r, &p, out);

	if (rc)
		return rc;
	*out = mr_room_part_json(rs, p, PJ_FULL);
	return 200;
}
