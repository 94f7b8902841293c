/* SPDX-License-Identifier: BSD-3-Clause
 * Rooms: voice messages played into forwarding rooms (docs/API.md "Playing a message into a
 * room", docs/ARCHITECTURE.md "Voice message playback").
 *
 * A playback is a stream without a publisher (struct mr_cp_stream, pub NULL), with its own
 * random SSRC, whose subscriber list is every participant (publish.c). The control thread
 * paces it: on every turn of its loop (mr_rooms_play_tick, about once a millisecond) each
 * packet whose time has come (the sum of the TOC durations before it, from the start) is
 * written into an mbuf (RTP header and Opus payload, the default headroom left for the
 * headers) and handed to the room's owner worker on its command ring (MR_CMD_PLAY_PKT),
 * which fans it out like a publisher's packet (room_fwd.c: payload type, SRTP, fan-out mode).
 * The worker does nothing per packet it does not do for a participant's. An empty pool or a
 * full ring drops the packet, counted on the playback; the next one goes at its own time.
 * The stream is freed like an unpublished one (after the owner applied every command sent
 * so far, which may name it, and a grace period).
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
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_malloc.h>

#include "appliance.h"
#include "messages.h"
#include "player.h"
#include "rooms.h"
#include "rooms_priv.h"
#include "rtp_stats.h"

#define PLAY_MAX_ACTIVE 8		/* playing at once in one room */
#define PLAY_MAX_KEPT 16		/* ended ones kept for GET, per room */

enum mr_play_state { PLAY_PLAYING = 0, PLAY_ENDED, PLAY_STOPPED };
static const char *const play_state_name[] = { "playing", "ended", "stopped" };

static json_t *
play_json(const struct mr_cp_play *pl)
{
	uint64_t copies = pl->copies;

	if (pl->st != NULL)
		copies = __atomic_load_n(&pl->st->dp->ctr.pkts_out, __ATOMIC_RELAXED);
	return json_pack("{s:o,s:o,s:s,s:s,s:I,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}",
			 "id", mr_room_idj(pl->id), "room", mr_room_idj(pl->room->id),
			 "message", pl->msg, "state", play_state_name[pl->state],
			 "ssrc", (json_int_t)pl->pr.ssrc, "pt", pl->pr.pt,
			 "packets", (json_int_t)pl->pr.packets, "sent", (json_int_t)pl->pr.sent,
			 "copies", (json_int_t)copies,
			 "dropped_no_mbuf", (json_int_t)pl->pr.drop_no_mbuf,
			 "dropped_ring_full", (json_int_t)pl->pr.drop_ring_full,
			 "duration_ms", (json_int_t)pl->duration_ms,
			 "started", (json_int_t)pl->started,
			 "ended", pl->ended ? json_integer(pl->ended) : json_null());
}

/* End a playback: its stream leaves the lists and is deferred, its packets are freed, the
 * room's participants get message_ended. */
static void
play_end(struct mr_rooms *rs, struct mr_cp_play *pl, enum mr_play_state why, int emit)
{
	struct mr_cp_room *r = pl->room;

	if (pl->state != PLAY_PLAYING)
		return;
	pl->state = (uint8_t)why;
	pl->ended = time(NULL);
	TAILQ_REMOVE(&rs->plays_active, pl, alink);
	pl->copies = __atomic_load_n(&pl->st->dp->ctr.pkts_out, __ATOMIC_RELAXED);
	/* Out of the lists first (no new copy reaches the subscribers), then freed once the
	 * owner applied every packet command sent so far. */
	mr_room_stream_defer(rs, r, pl->st);
	pl->st = NULL;
	mr_room_sync(rs, r);
	mr_player_fini(&pl->pr);
	if (emit)
		mr_room_emit(rs, r, 0, 0, json_pack("{s:s,s:o,s:s,s:s,s:I,s:I}", "type",
						    "message_ended", "playback",
						    mr_room_idj(pl->id), "message", pl->msg,
						    "reason", why == PLAY_ENDED ? "done" : "stopped",
						    "sent", (json_int_t)pl->pr.sent,
						    "ssrc", (json_int_t)pl->pr.ssrc));
}

static void
play_forget(struct mr_cp_room *r, struct mr_cp_play *pl)
{
	TAILQ_REMOVE(&r->plays, pl, link);
	r->n_plays--;
	free(pl);
}

/* Keep at most PLAY_MAX_KEPT ended playbacks: the oldest go. */
static void
play_trim(struct mr_cp_room *r)
{
	struct mr_cp_play *pl, *nx;
	uint32_t ended = 0;

	TAILQ_FOREACH(pl, &r->plays, link)
		ended += pl->state != PLAY_PLAYING;
	for (pl = TAILQ_FIRST(&r->plays); pl != NULL && ended > PLAY_MAX_KEPT; pl = nx) {
		nx = TAILQ_NEXT(pl, link);
		if (pl->state != PLAY_PLAYING) {
			play_forget(r, pl);
			ended--;
		}
	}
}

/* Is ssrc free in the room (no stream, no playing playback)? */
static int
play_ssrc_free(const struct mr_cp_room *r, uint32_t ssrc)
{
	const struct mr_cp_play *pl;

	if (ssrc == 0 || mr_room_stream_by_ssrc(r, ssrc) != NULL)
		return 0;
	TAILQ_FOREACH(pl, &r->plays, link)
		if (pl->state == PLAY_PLAYING && pl->pr.ssrc == ssrc)
			return 0;
	return 1;
}

/* An SSRC no stream of the room has (RFC 3550 §8.1: chosen at random). */
static int
play_ssrc(const struct mr_cp_room *r, uint32_t *ssrc)
{
	int tries;

	for (tries = 0; tries < 16; tries++) {
		if (getrandom(ssrc, sizeof(*ssrc), 0) != (ssize_t)sizeof(*ssrc))
			return -errno;
		if (play_ssrc_free(r, *ssrc))
			return 0;
	}
	return -EEXIST;
}

static int
play_start(struct mr_rooms *rs, struct mr_cp_room *r, const char *body, size_t len,
	   json_t **out)
{
	struct mr_dp_sublist *empty = NULL;
	struct mr_cp_play *pl = NULL;
	struct mr_cp_stream *st = NULL;
	struct mr_msg_audio *au = NULL;
	const struct mr_cp_play *q;
	struct mr_play_req rq;
	char err[256];
	unsigned int active = 0;
	json_t *o = NULL;
	int rc;

	rc = mr_player_req_parse(body, len, 0, &rq, &o, out);
	if (rc != 0)
		goto out;
	if (r->mix != NULL) {
		rc = mr_err(out, 409, "room: %" PRIu32 " is a mixing room: messages play into "
			    "forwarding rooms only", r->id);
		goto out;
	}
	TAILQ_FOREACH(q, &r->plays, link)
		active += q->state == PLAY_PLAYING;
	if (rq.ssrc != 0 && !play_ssrc_free(r, rq.ssrc)) {
		rc = mr_err(out, 409, "ssrc: %" PRIu32 " is already sent in room %" PRIu32,
			    rq.ssrc, r->id);
		goto out;
	}
	if (active >= PLAY_MAX_ACTIVE) {
		rc = mr_err(out, 409, "playbacks: %u already playing in room %" PRIu32, active,
			    r->id);
		goto out;
	}
	au = mr_messages_load(rs->a->msgs, rq.message, &rc, err, sizeof(err));
	if (au == NULL) {
		rc = mr_err(out, rc, "%s", err);
		goto out;
	}
	pl = calloc(1, sizeof(*pl));
	st = calloc(1, sizeof(*st));
	if (pl == NULL || st == NULL)
		goto nomem;
	st->dp = rte_zmalloc("mr_stream", sizeof(*st->dp), RTE_CACHE_LINE_SIZE);
	empty = mr_room_dpmem_alloc(mr_sublist_size(0));
	if (st->dp == NULL || empty == NULL)
		goto nomem;
	if ((rq.ssrc == 0 && play_ssrc(r, &rq.ssrc) < 0) ||
	    mr_player_init(&pl->pr, au, rq.codec, rq.pt, rq.ssrc, rte_get_tsc_cycles()) < 0) {
		rc = mr_err(out, 500, "playback: no SSRC free, no random numbers or no memory");
		goto free_all;
	}
	au = NULL;			/* the player's now */
	st->room = r;
	st->created = time(NULL);
	st->mos = -1;
	snprintf(st->codec, sizeof(st->codec), "%s", mr_player_codec_name(rq.codec));
	st->dp->subs = empty;
	st->dp->ssrc = rq.ssrc;
	st->dp->kind = MR_KIND_AUDIO;
	st->dp->pt = rq.pt;
	st->dp->clock_rate = rq.codec == MR_PLAY_OPUS ? 48000 : 8000;
	st->dp->level_q8 = MR_LEVEL_SILENCE_Q8;
	mr_rtp_stats_init(&st->dp->rtp);
	pl->id = ++r->next_play;
	pl->room = r;
	pl->st = st;
	pl->duration_ms = pl->pr.au->duration_ms;
	memcpy(pl->msg, pl->pr.au->id, sizeof(pl->msg));
	pl->started = time(NULL);
	TAILQ_INSERT_TAIL(&r->plays, pl, link);
	r->n_plays++;
	TAILQ_INSERT_TAIL(&rs->plays_active, pl, alink);
	if (mr_room_sync(rs, r) < 0) {
		/* The tick retries the lists; the packets wait for nothing. */
		r->dirty = 1;
	}
	play_trim(r);
	mr_room_emit(rs, r, 0, 0, json_pack("{s:s,s:o,s:s,s:I,s:I}", "type", "message_started",
					    "playback", mr_room_idj(pl->id), "message", pl->msg,
					    "ssrc", (json_int_t)pl->pr.ssrc,
					    "duration_ms", (json_int_t)pl->duration_ms));
	*out = play_json(pl);
	rc = 201;
	goto out;

nomem:
	rc = mr_err(out, 503, "memory: no room for a playback");
free_all:
	if (pl != NULL)
		mr_player_fini(&pl->pr);
	mr_room_dpmem_free_now(empty);
	if (st != NULL)
		rte_free(st->dp);
	free(st);
	free(pl);
	mr_msg_audio_free(au);
out:
	json_decref(o);
	return rc;
}

int
mr_http_room_plays(struct mr_rooms *rs, struct mr_cp_room *r, const char *method,
		   const char *path, const char *id, size_t idlen, const char *body,
		   size_t len, json_t **out)
{
	struct mr_cp_play *pl;
	char buf[MR_ECHO], mbuf[16], ids[24];
	uint32_t pid;

	if (id == NULL) {
		if (strcmp(method, "GET") == 0) {
			json_t *arr = json_array();

			TAILQ_FOREACH(pl, &r->plays, link)
				json_array_append_new(arr, play_json(pl));
			*out = json_pack("{s:o}", "playbacks", arr);
			return 200;
		}
		if (strcmp(method, "POST") == 0)
			return play_start(rs, r, body, len, out);
		return mr_err(out, 405, "method: %s not allowed on /v1/rooms%s (allowed: GET, "
			      "POST)", mr_json_echo(method, mbuf, sizeof(mbuf)),
			      mr_json_echo(path, buf, sizeof(buf)));
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "DELETE") != 0)
		return mr_err(out, 405, "method: %s not allowed on /v1/rooms%s (allowed: GET, "
			      "DELETE)", mr_json_echo(method, mbuf, sizeof(mbuf)),
			      mr_json_echo(path, buf, sizeof(buf)));
	pl = NULL;
	if (mr_rooms_id_parse(id, idlen, &pid) == 0)
		TAILQ_FOREACH(pl, &r->plays, link)
			if (pl->id == pid)
				break;
	if (pl == NULL) {
		snprintf(ids, sizeof(ids), "%.*s", (int)(idlen < 20 ? idlen : 20), id);
		return mr_err(out, 404, "playback: no such playback '%s' in room %" PRIu32,
			      mr_json_echo(ids, buf, sizeof(buf)), r->id);
	}
	if (strcmp(method, "GET") == 0) {
		*out = play_json(pl);
		return 200;
	}
	/* DELETE stops one that plays (message_ended, reason stopped), forgets an ended
	 * one. */
	if (pl->state == PLAY_PLAYING)
		play_end(rs, pl, PLAY_STOPPED, 1);
	else
		play_forget(r, pl);
	return 204;
}

/* Send what is due of one playback; 1 when it ended. */
static int
play_run(struct mr_rooms *rs, struct mr_cp_play *pl, uint64_t now, uint64_t hz)
{
	struct mr_cp_room *r = pl->room;
	struct mr_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = MR_CMD_PLAY_PKT;
	c.obj = pl->st->dp;
	mr_player_send_due(&pl->pr, now, hz, rs->a, r->owner, &c);
	if (!mr_player_done(&pl->pr, now, hz))
		return 0;
	play_end(rs, pl, PLAY_ENDED, 1);
	play_trim(r);
	return 1;
}

void
mr_rooms_play_tick(struct mr_rooms *rs, uint64_t now)
{
	struct mr_cp_play *pl, *nx;
	uint64_t hz;

	if (rs == NULL || TAILQ_EMPTY(&rs->plays_active))
		return;
	hz = rs->a->dp->tsc_hz;
	for (pl = TAILQ_FIRST(&rs->plays_active); pl != NULL; pl = nx) {
		nx = TAILQ_NEXT(pl, alink);
		play_run(rs, pl, now, hz);
	}
}

void
mr_room_plays_stop(struct mr_rooms *rs, struct mr_cp_room *r)
{
	struct mr_cp_play *pl;

	while ((pl = TAILQ_FIRST(&r->plays)) != NULL) {
		play_end(rs, pl, PLAY_STOPPED, 1);
		play_forget(r, pl);
	}
}

void
mr_room_plays_free_now(struct mr_rooms *rs, struct mr_cp_room *r)
{
	struct mr_cp_play *pl;

	while ((pl = TAILQ_FIRST(&r->plays)) != NULL) {
		if (pl->state == PLAY_PLAYING) {
			TAILQ_REMOVE(&rs->plays_active, pl, alink);
			mr_room_stream_free_now(pl->st);
			mr_player_fini(&pl->pr);
		}
		play_forget(r, pl);
	}
}
