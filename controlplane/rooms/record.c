/* SPDX-License-Identifier: BSD-3-Clause
 * Rooms: what recording needs of them (rooms.h "recording"). The recording itself (files,
 * writer thread, REST) is controlplane/media/recorder.c; here the room's audio streams get
 * the recording id their owner lcore captures under (room_dp.h, rec.h).
 */
#include <errno.h>
#include <sys/queue.h>
#include <jansson.h>

#include "media_dp.h"
#include "rooms.h"
#include "rooms_priv.h"

int
mr_rooms_set_rec(struct mr_rooms *rs, uint32_t room, uint16_t rec_id)
{
	struct mr_cp_room *r = rs != NULL ? mr_room_find(rs, room) : NULL;
	struct mr_cp_part *p;
	struct mr_cp_stream *st;

	if (r == NULL)
		return -ENOENT;
	if (rec_id != 0 && r->rec_id != 0 && r->rec_id != rec_id)
		return -EBUSY;
	if (rec_id != 0 && r->rec_id == 0)
		TAILQ_FOREACH(p, &r->parts, link)
			if (p->rec_id != 0)
				return -EBUSY;	/* a participant records a message */
	r->rec_id = rec_id;
	if (r->mix != NULL) {
		/* A mixing room records its mix, encoded once on the media lcore. */
		mr_mix_room_set_rec(r->mix, rec_id);
		return 0;
	}
	TAILQ_FOREACH(p, &r->parts, link)
		TAILQ_FOREACH(st, &p->streams, link)
			if (st->dp->kind == MR_KIND_AUDIO)
				/* Relaxed: the owner reads the id per packet and needs nothing
				 * else published with it (rec.h). */
				__atomic_store_n(&st->dp->rec_id, rec_id, __ATOMIC_RELAXED);
	return 0;
}

static void
part_set_rec(struct mr_cp_part *p, uint16_t rec_id)
{
	struct mr_cp_stream *st;

	TAILQ_FOREACH(st, &p->streams, link)
		if (st->dp->kind == MR_KIND_AUDIO)
			/* Relaxed: as above. */
			__atomic_store_n(&st->dp->rec_id, rec_id, __ATOMIC_RELAXED);
}

int
mr_rooms_set_part_rec(struct mr_rooms *rs, uint32_t room, uint32_t part, uint16_t rec_id)
{
	struct mr_cp_room *r = rs != NULL ? mr_room_find(rs, room) : NULL;
	struct mr_cp_part *p = r != NULL ? mr_room_part_find(r, part) : NULL;

	if (p == NULL)
		return -ENOENT;
	if (rec_id != 0 && (r->rec_id != 0 || (p->rec_id != 0 && p->rec_id != rec_id)))
		return -EBUSY;
	if (rec_id == 0 && r->rec_id != 0)
		return 0;		/* its streams are the room's recording's now */
	p->rec_id = rec_id;
	part_set_rec(p, rec_id);
	return 0;
}

void
mr_rooms_part_event(struct mr_rooms *rs, uint32_t room, uint32_t part, json_t *ev)
{
	struct mr_cp_room *r = rs != NULL ? mr_room_find(rs, room) : NULL;

	if (r == NULL || part == 0) {
		json_decref(ev);
		return;
	}
	mr_room_emit(rs, r, part, 0, ev);
}

void
mr_rooms_rec_event(struct mr_rooms *rs, uint32_t room, uint16_t rec_id, const char *state,
		   const char *error)
{
	struct mr_cp_room *r = rs != NULL ? mr_room_find(rs, room) : NULL;

	if (r == NULL)
		return;
	mr_room_emit(rs, r, 0, 0, json_pack("{s:s,s:o,s:s,s:o}", "type", "recording",
					    "recording", mr_room_idj(rec_id), "state", state,
					    "error", error ? json_string(error) : json_null()));
}
