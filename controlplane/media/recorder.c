/* SPDX-License-Identifier: BSD-3-Clause
 * Recording: the writer thread, the recordings, their REST routes (recorder.h).
 *
 * Threads. The workers copy recorded packets onto dp->rec_ring (rec.h). The control thread
 * creates and stops recordings: it puts a start message on the same ring before it gives
 * the streams the recording's id, and a stop message after it took the id off them, so the
 * writer sees a recording's captures between its start and its stop (a capture a worker
 * made just before the id was cleared may arrive after the stop: it is counted as late and
 * dropped). The writer thread alone opens, writes and closes the files of an active
 * recording; it publishes the end of a recording with a release store of its state, after
 * which the recording is the control thread's again (to show and to free).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <rte_mbuf.h>

#include "appliance.h"
#include "json_req.h"
#include "messages.h"
#include "mr_log.h"
#include "oggopus.h"
#include "wavw.h"
#include "rec.h"
#include "recorder.h"
#include "rooms.h"
#include "router.h"
#include "sessions.h"
#include "wring.h"

MR_LOG_REGISTER(mr_logtype_rec, recording);
#define REC_LOG(level, ...) MR_LOG(level, mr_logtype_rec, "recording", __VA_ARGS__)

#define REC_MSG_WAIT_US 5000		/* how long the control thread waits on a full ring */
#define REC_FILE_EXT ".opus"
#define REC_WAV_EXT ".wav"		/* G.711 streams (wavw.h) */
#define REC_ECHO 48			/* client text quoted in errors */
#define REC_HISTORY 256			/* ended recordings kept for GET */

enum rec_state { REC_ACTIVE = 0, REC_STOPPED, REC_FAILED };
static const char *const rec_state_name[] = { "active", "stopped", "failed" };

struct rec_file {
	struct rec_file *next;
	uint32_t key;
	uint8_t wav;			/* G.711: wv, else Ogg/Opus: w */
	struct mr_oggw w;
	struct mr_wavw wv;
};

struct mr_rec {
	TAILQ_ENTRY(mr_rec) link;	/* cp: the recorder's list */
	/* cp: written before the start message; writer: ro */
	uint16_t id;
	uint8_t is_room;
	uint8_t legs;			/* sessions: bit i = leg i recorded */
	uint8_t as_message;		/* stored as a voice message once stopped */
	uint32_t room;
	uint32_t part;			/* rooms: the one participant recorded, 0 = all */
	char session[17];
	char base[80];			/* file names: base + "-" + stream + ".opus" */
	time_t started;
	/* cp only */
	uint8_t stop_sent;		/* taken off its streams (and the stop message is on the
					 * ring unless the writer ended it first) */
	uint8_t stop_msg;		/* a stop message went on the ring: rec is freed only
					 * once the writer saw it (stop_seen) */
	uint8_t deleted;		/* forgotten: freed once the writer is done with it */
	uint8_t end_seen;		/* the end was logged and announced */
	time_t stopped;
	char message[MR_MSG_ID_LEN + 1];	/* as_message: the message made, "" until then */
	char msg_err[128];		/* as_message: why none was made */
	uint64_t msg_ms;		/* its duration */
	/* writer: rw (relaxed stores; state with release), cp: ro (relaxed loads; state
	 * with acquire) */
	uint32_t state;			/* enum rec_state */
	uint32_t stop_seen;		/* the writer is done with the stop message (release) */
	int err;			/* errno of the failure */
	uint64_t packets, bytes, gaps, skipped, files;
	/* writer only, while active */
	struct rec_file *fl;
	struct mr_rec *wnext;
};

TAILQ_HEAD(mr_rec_list, mr_rec);

enum rec_msg_type { MSG_START, MSG_STOP, MSG_QUIT };

struct mr_recorder {
	struct mr_appliance *a;
	char dir[256];
	struct mr_wring wr;		/* the ring and the writer thread */
	struct mr_rec_list recs;	/* cp */
	uint16_t next_id;
	/* writer: rw (relaxed stores), cp: ro */
	uint64_t late;			/* captures of no active recording */
	uint64_t write_errors;		/* files that could not be opened or written */
	uint64_t written;		/* packets written */
	/* writer only */
	struct mr_rec *active;
	struct mr_rec **by_id;		/* the active recordings by id: a capture finds its
					 * recording in one load, however many run */
};

#define st64 mr_wring_st64
#define ld64 mr_wring_ld64

/* ---- the writer thread ---- */

static void
wr_close_files(struct mr_rec *rec, int *err)
{
	struct rec_file *f, *n;

	for (f = rec->fl; f != NULL; f = n) {
		int rc = f->wav ? mr_wavw_close(&f->wv) : mr_oggw_close(&f->w);

		if (rc < 0 && *err == 0)
			*err = -rc;
		n = f->next;
		free(f);
	}
	rec->fl = NULL;
}

/* Take rec off the writer's list, close its files and hand it back with its final state.
 * rec belongs to the control thread after the release store. */
static void
wr_end(struct mr_recorder *r, struct mr_rec *rec, int err)
{
	struct mr_rec **pp;

	r->by_id[rec->id] = NULL;
	for (pp = &r->active; *pp != NULL; pp = &(*pp)->wnext)
		if (*pp == rec) {
			*pp = rec->wnext;
			break;
		}
	wr_close_files(rec, &err);
	if (err != 0) {
		st64(&r->write_errors, r->write_errors + 1);
		__atomic_store_n(&rec->err, err, __ATOMIC_RELAXED);
	}
	/* Release: the counters, err and the closed files before the state. */
	__atomic_store_n(&rec->state, err ? REC_FAILED : REC_STOPPED, __ATOMIC_RELEASE);
}

/* The file of key in rec, created on its first packet: WAV for G.711 (payload type pt 0 or
 * 8, wavw.h), else Ogg/Opus. */
static struct rec_file *
wr_file(struct mr_recorder *r, struct mr_rec *rec, uint32_t key, uint8_t pt, int *err)
{
	struct rec_file *f;
	char path[512];

	for (f = rec->fl; f != NULL; f = f->next)
		if (f->key == key)
			return f;
	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		*err = ENOMEM;
		return NULL;
	}
	f->wav = (uint8_t)mr_wav_pt(pt);
	if (rec->is_room)
		snprintf(path, sizeof(path), "%s/%s-%08" PRIx32 "%s", r->dir, rec->base, key,
			 f->wav ? REC_WAV_EXT : REC_FILE_EXT);
	else
		snprintf(path, sizeof(path), "%s/%s-leg-%c%s", r->dir, rec->base, key ? 'b' : 'a',
			 f->wav ? REC_WAV_EXT : REC_FILE_EXT);
	*err = f->wav ? -mr_wavw_open(&f->wv, path, pt) : -mr_oggw_open(&f->w, path, key ^ rec->id);
	if (*err != 0) {
		REC_LOG(ERR, "recording %u: cannot create %s: %s\n", rec->id, path,
			strerror(*err));
		free(f);
		return NULL;
	}
	f->key = key;
	f->next = rec->fl;
	rec->fl = f;
	st64(&rec->files, rec->files + 1);
	return f;
}

static void
wr_capture(void *arg, struct rte_mbuf *m)
{
	struct mr_recorder *r = arg;
	const struct mr_rec_cap *c = rte_pktmbuf_mtod(m, const struct mr_rec_cap *);
	const uint8_t *rtp = (const uint8_t *)(c + 1), *pay;
	struct mr_rec *rec;
	struct rec_file *f;
	uint64_t before, *bytes, *gaps;
	uint32_t ts;
	size_t plen;
	int rc, err = 0;

	rec = r->by_id[c->rec_id];
	if (rec == NULL) {
		st64(&r->late, r->late + 1);
		return;
	}
	if (mr_rtp_payload(rtp, c->len, &pay, &plen) != 0) {
		st64(&rec->skipped, rec->skipped + 1);
		return;
	}
	f = wr_file(r, rec, c->key, rtp[1] & 0x7f, &err);
	if (f == NULL) {
		wr_end(r, rec, err);
		return;
	}
	ts = (uint32_t)rtp[4] << 24 | (uint32_t)rtp[5] << 16 | (uint32_t)rtp[6] << 8 | rtp[7];
	bytes = f->wav ? &f->wv.bytes : &f->w.bytes;
	gaps = f->wav ? &f->wv.gaps : &f->w.gaps;
	before = *bytes;
	rc = f->wav ? mr_wavw_packet(&f->wv, rtp[1] & 0x7f, ts, pay, plen) :
		mr_oggw_packet(&f->w, ts, pay, plen);
	if (rc < 0) {
		REC_LOG(ERR, "recording %u: write error: %s: recording stopped\n", rec->id,
			strerror(-rc));
		wr_end(r, rec, -rc);
		return;
	}
	st64(&rec->bytes, rec->bytes + (*bytes - before));
	if (rc == 0) {
		st64(&rec->packets, rec->packets + 1);
		st64(&r->written, r->written + 1);
		if (*gaps != 0 && rec->gaps < *gaps)
			st64(&rec->gaps, rec->gaps + 1);
	} else {
		st64(&rec->skipped, rec->skipped + 1);
	}
}

/* 1 when the thread must end. */
static int
wr_msg(void *arg, int type, void *p)
{
	struct mr_recorder *r = arg;
	struct mr_rec *rec = p;

	switch ((enum rec_msg_type)type) {
	case MSG_START:
		rec->wnext = r->active;
		r->active = rec;
		r->by_id[rec->id] = rec;
		return 0;
	case MSG_STOP:
		/* Failed already: it is off the list and back with the control thread. */
		if (__atomic_load_n(&rec->state, __ATOMIC_RELAXED) == REC_ACTIVE)
			wr_end(r, rec, 0);
		/* Release: the last the writer touches of rec; it may be freed after. */
		__atomic_store_n(&rec->stop_seen, 1, __ATOMIC_RELEASE);
		return 0;
	case MSG_QUIT:
	default:
		while (r->active != NULL)
			wr_end(r, r->active, 0);
		return 1;
	}
}

/* ---- the control thread's side ---- */

static int
rec_send(struct mr_recorder *r, enum rec_msg_type type, struct mr_rec *rec)
{
	/* The ring's release hands rec (filled before) to the writer. */
	return mr_wring_send(&r->wr, type, rec, REC_MSG_WAIT_US);
}

static uint32_t
rec_state(const struct mr_rec *rec)
{
	/* Acquire: pairs with the writer's release in wr_end(). */
	return __atomic_load_n(&rec->state, __ATOMIC_ACQUIRE);
}

/* Take the recording's id off its streams, then send the stop: from then on no new
 * capture names it. */
static int
rec_stop(struct mr_recorder *r, struct mr_rec *rec)
{
	struct mr_appliance *a = r->a;
	unsigned int i;

	if (rec->stop_sent)
		return 0;
	if (rec->is_room && rec->part != 0) {
		if (a->rooms != NULL)
			mr_rooms_set_part_rec(a->rooms, rec->room, rec->part, 0);
	} else if (rec->is_room) {
		if (a->rooms != NULL)
			mr_rooms_set_rec(a->rooms, rec->room, 0);
	} else {
		struct mr_dp_session *s = mr_sessions_live(a->sess, rec->session);

		for (i = 0; s != NULL && i < 2; i++)
			if (s->leg[i].rec_id == rec->id)
				__atomic_store_n(&s->leg[i].rec_id, 0, __ATOMIC_RELAXED);
	}
	if (rec_state(rec) != REC_ACTIVE) {
		rec->stop_sent = 1;	/* the writer ended it already (failure) */
		return 0;
	}
	if (rec_send(r, MSG_STOP, rec) < 0)
		return -ENOBUFS;	/* tried again by the tick */
	rec->stop_sent = 1;
	rec->stop_msg = 1;
	rec->stopped = time(NULL);
	return 0;
}

static int
rec_id_used(const struct mr_recorder *r, uint16_t id)
{
	const struct mr_rec *rec;

	TAILQ_FOREACH(rec, &r->recs, link)
		if (rec->id == id)
			return 1;
	return 0;
}

/* The path of recording file name (without its extension): the Ogg/Opus file, or the WAV
 * one when that is what exists; 1 for WAV. The id segment is [A-Za-z0-9_-] (router.h): no
 * path can leave the directory. */
static int
rf_path(const struct mr_recorder *r, const char *name, char *path, size_t n)
{
	snprintf(path, n, "%s/%s" REC_WAV_EXT, r->dir, name);
	if (access(path, F_OK) == 0)
		return 1;
	snprintf(path, n, "%s/%s" REC_FILE_EXT, r->dir, name);
	return 0;
}

static json_t *
rec_files_json(const struct mr_recorder *r, const char *base)
{
	json_t *arr = json_array();
	size_t bl = base != NULL ? strlen(base) : 0, el;
	struct dirent *de;
	DIR *d = opendir(r->dir);

	if (d == NULL)
		return arr;
	while ((de = readdir(d)) != NULL) {
		size_t nl = strlen(de->d_name);

		el = nl > 5 && strcmp(de->d_name + nl - 5, REC_FILE_EXT) == 0 ? 5 :
			nl > 4 && strcmp(de->d_name + nl - 4, REC_WAV_EXT) == 0 ? 4 : 0;
		if (el != 0 &&
		    (base == NULL || (nl > bl && strncmp(de->d_name, base, bl) == 0 &&
				      de->d_name[bl] == '-')))
			json_array_append_new(arr, json_stringn(de->d_name, nl - el));
	}
	closedir(d);
	return arr;
}

static json_t *
rec_json(const struct mr_recorder *r, const struct mr_rec *rec)
{
	uint32_t state = rec_state(rec);
	char id[8];
	json_t *o;

	snprintf(id, sizeof(id), "%u", rec->id);
	o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I}", "id", id,
		      "state", state == REC_ACTIVE && rec->stop_sent ? "stopping" :
		      rec_state_name[state],
		      "started", (json_int_t)rec->started,
		      "packets", (json_int_t)ld64(&rec->packets),
		      "bytes", (json_int_t)ld64(&rec->bytes),
		      "gaps", (json_int_t)ld64(&rec->gaps),
		      "skipped", (json_int_t)ld64(&rec->skipped),
		      "file_count", (json_int_t)ld64(&rec->files));
	if (rec->is_room) {
		snprintf(id, sizeof(id), "%u", rec->room);
		json_object_set_new(o, "room", json_string(id));
		snprintf(id, sizeof(id), "%u", rec->part);
		json_object_set_new(o, "participant", rec->part ? json_string(id) : json_null());
	} else {
		json_object_set_new(o, "session", json_string(rec->session));
		json_object_set_new(o, "leg", json_string(rec->legs == 3 ? "both" :
							  rec->legs == 1 ? "a" : "b"));
	}
	json_object_set_new(o, "stopped", rec->stopped ? json_integer(rec->stopped) :
			    json_null());
	json_object_set_new(o, "error", state == REC_FAILED ?
			    json_string(strerror(__atomic_load_n(&rec->err, __ATOMIC_RELAXED))) :
			    json_null());
	json_object_set_new(o, "files", rec_files_json(r, rec->base));
	json_object_set_new(o, "as_message", json_boolean(rec->as_message));
	json_object_set_new(o, "message", rec->message[0] ? json_string(rec->message) :
			    json_null());
	json_object_set_new(o, "message_error", rec->msg_err[0] ? json_string(rec->msg_err) :
			    json_null());
	return o;
}

static struct mr_rec *
rec_find(struct mr_recorder *r, const char *id)
{
	struct mr_rec *rec;
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(id, &end, 10);
	if (errno || *end || id[0] == '0' || v == 0 || v > UINT16_MAX)
		return NULL;
	TAILQ_FOREACH(rec, &r->recs, link)
		if (rec->id == v && !rec->deleted)
			return rec;
	return NULL;
}

/* What to record: a room (all its audio streams, or one participant's), or a session's
 * legs; optionally to be stored as a voice message. */
struct rec_target {
	uint32_t room, part;		/* part 0: the whole room */
	const char *session;		/* NULL: a room */
	uint8_t legs;			/* sessions: bit i = leg i */
	uint8_t as_message;
};

/* Start a recording of t: 201 with *recp, or the status with the reason in err. */
static int
rec_begin(struct mr_recorder *r, const struct rec_target *t, struct mr_rec **recp, char *err,
	  size_t errlen)
{
	struct mr_appliance *a = r->a;
	struct mr_dp_session *s = NULL;
	struct mr_rec *rec;
	char ts[32];
	struct tm tm;
	unsigned int i;
	int rc;

	if (t->as_message && a->msgs == NULL) {
		snprintf(err, errlen, "as_message: messages are not configured "
			 "(messages.directory)");
		return 503;
	}
	if (t->session != NULL) {
		s = mr_sessions_live(a->sess, t->session);
		if (s == NULL) {
			char buf[REC_ECHO];

			snprintf(err, errlen, "session: no such active session '%s'",
				 mr_json_echo(t->session, buf, sizeof(buf)));
			return 404;
		}
		for (i = 0; i < 2; i++)
			if ((t->legs & (1u << i)) && s->leg[i].rec_id != 0) {
				snprintf(err, errlen, "session: leg %c is being recorded "
					 "(recording %u)", 'a' + i, s->leg[i].rec_id);
				return 409;
			}
	}
	rec = calloc(1, sizeof(*rec));
	if (rec == NULL) {
		snprintf(err, errlen, "recording: out of memory");
		return 503;
	}
	do
		r->next_id = r->next_id == UINT16_MAX ? 1 : r->next_id + 1;
	while (rec_id_used(r, r->next_id));
	rec->id = r->next_id;
	rec->started = time(NULL);
	rec->as_message = t->as_message;
	gmtime_r(&rec->started, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
	if (t->session == NULL) {
		rec->is_room = 1;
		rec->room = t->room;
		rec->part = t->part;
		if (t->part != 0)
			snprintf(rec->base, sizeof(rec->base), "room-%" PRIu32 "-%s-%u-p%" PRIu32,
				 t->room, ts, rec->id, t->part);
		else
			snprintf(rec->base, sizeof(rec->base), "room-%" PRIu32 "-%s-%u", t->room,
				 ts, rec->id);
	} else {
		snprintf(rec->session, sizeof(rec->session), "%s", t->session);
		rec->legs = t->legs;
		snprintf(rec->base, sizeof(rec->base), "session-%s-%s-%u", t->session, ts,
			 rec->id);
	}
	/* The writer must know the recording before any stream carries its id. */
	if (rec_send(r, MSG_START, rec) < 0) {
		free(rec);
		snprintf(err, errlen, "recording: the writer's ring is full");
		return 503;
	}
	TAILQ_INSERT_TAIL(&r->recs, rec, link);
	if (rec->is_room) {
		rc = rec->part != 0 ?
			mr_rooms_set_part_rec(a->rooms, rec->room, rec->part, rec->id) :
			mr_rooms_set_rec(a->rooms, rec->room, rec->id);
		if (rc < 0) {
			rec_stop(r, rec);
			rec->deleted = 1;
			if (rc == -EBUSY && rec->part != 0)
				snprintf(err, errlen, "participant: %" PRIu32 " of room %" PRIu32
					 " is being recorded (or its room is)", rec->part,
					 rec->room);
			else if (rc == -EBUSY)
				snprintf(err, errlen, "room: %" PRIu32 " is being recorded (or a "
					 "participant of it records a message)", rec->room);
			else if (rec->part != 0)
				snprintf(err, errlen, "participant: no such participant %" PRIu32
					 " in room %" PRIu32, rec->part, rec->room);
			else
				snprintf(err, errlen, "room: no such room '%" PRIu32 "'",
					 rec->room);
			return rc == -EBUSY ? 409 : 404;
		}
	} else {
		for (i = 0; i < 2; i++)
			if (rec->legs & (1u << i))
				__atomic_store_n(&s->leg[i].rec_id, rec->id, __ATOMIC_RELAXED);
	}
	REC_LOG(INFO, "recording %u started: %s%s\n", rec->id, rec->base,
		rec->as_message ? " (a voice message)" : "");
	if (rec->is_room && rec->part == 0)
		mr_rooms_rec_event(a->rooms, rec->room, rec->id, "active", NULL);
	*recp = rec;
	return 201;
}

/* POST /v1/recordings */
static int
rec_create(struct mr_recorder *r, const char *body, size_t len, json_t **out)
{
	const char *room = NULL, *part = NULL, *leg = NULL, *key;
	char err[256], buf[REC_ECHO];
	struct rec_target t = { 0 };
	struct mr_rec *rec = NULL;
	json_t *o, *v;
	int rc;

	o = mr_json_body_load(body, len, err, sizeof(err));
	if (o == NULL)
		return mr_json_err(out, 400, "%s", err);
	json_object_foreach(o, key, v) {
		if (strcmp(key, "as_message") == 0) {
			if (!json_is_boolean(v)) {
				rc = mr_json_err(out, 400, "as_message: must be true or false");
				goto out;
			}
			continue;
		}
		if (strcmp(key, "room") != 0 && strcmp(key, "session") != 0 &&
		    strcmp(key, "leg") != 0 && strcmp(key, "participant") != 0) {
			rc = mr_json_err(out, 400, "%s: unknown field (allowed: room, participant, "
					 "session, leg, as_message)",
					 mr_json_echo(key, buf, sizeof(buf)));
			goto out;
		}
		if (!json_is_string(v)) {
			rc = mr_json_err(out, 400, "%s: must be a string", key);
			goto out;
		}
	}
	room = json_string_value(json_object_get(o, "room"));
	part = json_string_value(json_object_get(o, "participant"));
	t.session = json_string_value(json_object_get(o, "session"));
	leg = json_string_value(json_object_get(o, "leg"));
	t.as_message = json_is_true(json_object_get(o, "as_message"));
	if ((room == NULL) == (t.session == NULL)) {
		rc = mr_json_err(out, 400, "room: give either room or session");
		goto out;
	}
	if (room != NULL && leg != NULL) {
		rc = mr_json_err(out, 400, "leg: only with session");
		goto out;
	}
	if (part != NULL && room == NULL) {
		rc = mr_json_err(out, 400, "participant: only with room");
		goto out;
	}
	if (leg != NULL && strcmp(leg, "a") != 0 && strcmp(leg, "b") != 0 &&
	    strcmp(leg, "both") != 0) {
		rc = mr_json_err(out, 400, "leg: must be \"a\", \"b\" or \"both\"");
		goto out;
	}
	t.legs = leg == NULL || strcmp(leg, "both") == 0 ? 3 : leg[0] == 'a' ? 1 : 2;
	if (t.as_message && ((room != NULL && part == NULL) || (room == NULL && t.legs == 3))) {
		rc = mr_json_err(out, 400, "as_message: a message is one voice: give a "
				 "participant, or a session's leg \"a\" or \"b\"");
		goto out;
	}
	if (room != NULL && mr_rooms_id_parse(room, strlen(room), &t.room) < 0) {
		rc = mr_json_err(out, 404, "room: no such room '%s'",
				 mr_json_echo(room, buf, sizeof(buf)));
		goto out;
	}
	if (part != NULL && mr_rooms_id_parse(part, strlen(part), &t.part) < 0) {
		rc = mr_json_err(out, 404, "participant: no such participant '%s'",
				 mr_json_echo(part, buf, sizeof(buf)));
		goto out;
	}
	rc = rec_begin(r, &t, &rec, err, sizeof(err));
	if (rc != 201)
		rc = mr_json_err(out, rc, "%s", err);
	else
		*out = rec_json(r, rec);
out:
	json_decref(o);
	return rc;
}

/* recorder.h */
int
mr_recorder_part_message(struct mr_recorder *r, uint32_t room, uint32_t part, int start,
			 uint16_t *id, char *err, size_t errlen)
{
	struct rec_target t = { .room = room, .part = part, .as_message = 1 };
	struct mr_rec *rec;
	int rc;

	if (r == NULL) {
		snprintf(err, errlen, "recording: not configured (recording.directory)");
		return 503;
	}
	TAILQ_FOREACH(rec, &r->recs, link)
		if (rec->is_room && rec->room == room && rec->part == part && rec->as_message &&
		    !rec->stop_sent && !rec->deleted)
			break;
	if (!start) {
		if (rec == NULL) {
			snprintf(err, errlen, "action: no message is being recorded");
			return 409;
		}
		*id = rec->id;
		return rec_stop(r, rec) < 0 ? 503 : 200;
	}
	if (rec != NULL) {
		snprintf(err, errlen, "action: a message is being recorded already (recording "
			 "%u)", rec->id);
		return 409;
	}
	rc = rec_begin(r, &t, &rec, err, errlen);
	if (rc == 201)
		*id = rec->id;
	return rc;
}

/* recorder.h */
int
mr_recorder_session(struct mr_recorder *r, const char *session, int start, char *err,
		    size_t errlen)
{
	struct rec_target t = { .session = session, .legs = 3 };
	struct mr_rec *rec;

	if (r == NULL) {
		snprintf(err, errlen, "recording is not configured (recording.directory)");
		return 503;
	}
	TAILQ_FOREACH(rec, &r->recs, link)
		if (!rec->is_room && strcmp(rec->session, session) == 0 && !rec->stop_sent &&
		    !rec->deleted)
			break;
	if (!start)
		return rec == NULL ? 200 : rec_stop(r, rec) < 0 ? 503 : 200;
	if (rec != NULL)
		return 200;		/* recorded already */
	return rec_begin(r, &t, &rec, err, errlen);
}

/* Is the writer done with rec: ended, taken off its streams, its stop message (if one
 * was sent) handled? */
static int
rec_done(const struct mr_rec *rec)
{
	/* Acquire: pairs with the writer's release of stop_seen. */
	return rec->stop_sent && rec_state(rec) != REC_ACTIVE &&
		(!rec->stop_msg || __atomic_load_n(&rec->stop_seen, __ATOMIC_ACQUIRE));
}

/* Free what was forgotten (DELETE of an ended recording, a failed start) and the oldest
 * ended ones past REC_HISTORY, once the writer is done with them. */
static void
rec_free_done(struct mr_recorder *r)
{
	struct mr_rec *rec, *n;
	unsigned int ended = 0;

	TAILQ_FOREACH(rec, &r->recs, link)
		ended += !rec->deleted && rec_done(rec);
	for (rec = TAILQ_FIRST(&r->recs); rec != NULL; rec = n) {
		n = TAILQ_NEXT(rec, link);
		if (!rec_done(rec))
			continue;
		if (!rec->deleted) {
			if (ended <= REC_HISTORY)
				continue;
			ended--;
		}
		TAILQ_REMOVE(&r->recs, rec, link);
		free(rec);
	}
}

/* A recording made to be a voice message has ended (state st): its file becomes the message
 * and goes; the participant who recorded it gets message_recorded. With several files (the
 * participant published two audio streams) the largest is kept. */
static void
rec_to_message(struct mr_recorder *r, struct mr_rec *rec, uint32_t st)
{
	struct mr_appliance *a = r->a;
	json_t *names = rec_files_json(r, rec->base), *v;
	char path[512], best[512] = "", id[8];
	off_t best_size = -1;
	struct stat sb;
	size_t i;
	int rc;

	json_array_foreach(names, i, v) {
		rf_path(r, json_string_value(v), path, sizeof(path));
		if (stat(path, &sb) == 0 && sb.st_size > best_size) {
			best_size = sb.st_size;
			snprintf(best, sizeof(best), "%s", path);
		}
	}
	json_decref(names);
	if (st == REC_FAILED)
		snprintf(rec->msg_err, sizeof(rec->msg_err), "the recording failed: %s",
			 strerror(rec->err));
	else if (best[0] == '\0')
		snprintf(rec->msg_err, sizeof(rec->msg_err), "no audio was recorded");
	else if ((rc = mr_messages_import(a->msgs, best, rec->message, &rec->msg_ms,
					  rec->msg_err, sizeof(rec->msg_err))) != 201)
		rec->message[0] = '\0';
	if (rec->message[0] != '\0') {
		/* The message has its own copy; the recording's files go. */
		names = rec_files_json(r, rec->base);
		json_array_foreach(names, i, v) {
			rf_path(r, json_string_value(v), path, sizeof(path));
			unlink(path);
		}
		json_decref(names);
		REC_LOG(INFO, "recording %u: stored as message %s (%" PRIu64 " ms)\n", rec->id,
			rec->message, rec->msg_ms);
	} else {
		REC_LOG(WARNING, "recording %u: no message: %s\n", rec->id, rec->msg_err);
	}
	snprintf(id, sizeof(id), "%u", rec->id);
	if (rec->is_room && a->rooms != NULL)
		mr_rooms_part_event(a->rooms, rec->room, rec->part, json_pack(
			"{s:s,s:s,s:o,s:I,s:o}", "type", "message_recorded", "recording", id,
			"message", rec->message[0] ? json_string(rec->message) : json_null(),
			"duration_ms", (json_int_t)rec->msg_ms,
			"error", rec->msg_err[0] ? json_string(rec->msg_err) : json_null()));
}

void
mr_recorder_tick(struct mr_recorder *r)
{
	struct mr_appliance *a;
	struct mr_rec *rec;

	if (r == NULL)
		return;
	a = r->a;
	TAILQ_FOREACH(rec, &r->recs, link) {
		uint32_t st = rec_state(rec);

		if (!rec->stop_sent) {
			/* A stop that found the ring full, a failure, a room deleted or a
			 * session ended: the recording ends. */
			int gone = !rec->is_room ?
				mr_sessions_live(a->sess, rec->session) == NULL :
				a->rooms == NULL || (rec->part != 0 ?
				mr_rooms_set_part_rec(a->rooms, rec->room, rec->part, rec->id) :
				mr_rooms_set_rec(a->rooms, rec->room, rec->id)) == -ENOENT;

			if (rec->deleted || st == REC_FAILED || gone)
				rec_stop(r, rec);
		}
		if (st != REC_ACTIVE && !rec->end_seen) {
			rec->end_seen = 1;
			if (rec->stopped == 0)
				rec->stopped = time(NULL);
			if (st == REC_FAILED)
				REC_LOG(WARNING, "recording %u failed: %s\n", rec->id,
					strerror(rec->err));
			else
				REC_LOG(INFO, "recording %u stopped: %" PRIu64 " packets\n",
					rec->id, ld64(&rec->packets));
			if (rec->as_message)
				rec_to_message(r, rec, st);
			else if (rec->is_room && a->rooms != NULL)
				mr_rooms_rec_event(a->rooms, rec->room, rec->id,
						   rec_state_name[st],
						   st == REC_FAILED ? strerror(rec->err) : NULL);
		}
	}
	rec_free_done(r);
}

/* ---- REST ---- */

static int
rec_off(json_t **out)
{
	return mr_json_err(out, 503, "recording: not configured (recording.directory)");
}

static int
mr_route_recordings(struct mr_appliance *a, const struct mr_http_req *req, json_t **out)
{
	struct mr_recorder *r = a->rec;
	struct mr_rec *rec;
	json_t *arr;

	if (r == NULL)
		return rec_off(out);
	if (req->method == MR_HTTP_POST)
		return rec_create(r, req->body, req->len, out);
	arr = json_array();
	TAILQ_FOREACH(rec, &r->recs, link)
		if (!rec->deleted)
			json_array_append_new(arr, rec_json(r, rec));
	*out = json_pack("{s:o}", "recordings", arr);
	return 200;
}

static int
mr_route_recording(struct mr_appliance *a, const struct mr_http_req *req, json_t **out)
{
	struct mr_recorder *r = a->rec;
	struct mr_rec *rec;
	char buf[REC_ECHO];

	if (r == NULL)
		return rec_off(out);
	rec = rec_find(r, req->rest);
	if (rec == NULL)
		return mr_json_err(out, 404, "recording: no such recording '%s'",
				   mr_json_echo(req->rest, buf, sizeof(buf)));
	if (req->method == MR_HTTP_GET) {
		*out = rec_json(r, rec);
		return 200;
	}
	/* DELETE: stop it; an ended one is forgotten. Its files stay either way. */
	if (rec->stop_sent && rec_state(rec) != REC_ACTIVE)
		rec->deleted = 1;
	else if (rec_stop(r, rec) < 0)
		return mr_json_err(out, 503, "recording: the writer's ring is full");
	rec_free_done(r);
	return 204;
}

static struct mr_http_route mr_recordings_route = {
	.path = "/v1/recordings", .match = MR_ROUTE_EXACT, .name = "/v1/recordings",
	.methods = MR_HTTP_GET | MR_HTTP_POST, .handler = mr_route_recordings,
	.body_required = 1, .location = "/v1/recordings",
};
MR_HTTP_ROUTE(mr_recordings_route)

static struct mr_http_route mr_recording_route = {
	.path = "/v1/recordings", .match = MR_ROUTE_ID, .name = "/v1/recordings/{id}",
	.methods = MR_HTTP_GET | MR_HTTP_DELETE, .handler = mr_route_recording,
	.not_found = "recording: no such recording",
};
MR_HTTP_ROUTE(mr_recording_route)

static int
rf_list(struct mr_appliance *a, const struct mr_http_req *req, json_t **out)
{
	struct mr_recorder *r = a->rec;
	json_t *names, *arr, *v;
	size_t i;

	if (r == NULL)
		return rec_off(out);
	names = rec_files_json(r, NULL);
	arr = json_array();
	json_array_foreach(names, i, v) {
		char path[512];
		struct stat sb;

		int wav = rf_path(r, json_string_value(v), path, sizeof(path));

		if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		json_array_append_new(arr, json_pack("{s:O,s:I,s:I,s:s}", "name", v,
						     "size", (json_int_t)sb.st_size,
						     "modified", (json_int_t)sb.st_mtime,
						     "format", wav ? "wav" : "ogg"));
	}
	json_decref(names);
	*out = json_pack("{s:o}", "files", arr);
	return 200;
}

static struct mr_http_route mr_rfiles_route = {
	.path = "/v1/recording-files", .match = MR_ROUTE_EXACT, .name = "/v1/recording-files",
	.methods = MR_HTTP_GET, .handler = rf_list,
};
MR_HTTP_ROUTE(mr_rfiles_route)


static int
rf_get(struct mr_appliance *a, const struct mr_http_req *req, int *fd, const char **ctype,
       json_t **out)
{
	struct mr_recorder *r = a->rec;
	char path[512], buf[REC_ECHO];
	int wav;

	if (r == NULL)
		return rec_off(out);
	wav = rf_path(r, req->rest, path, sizeof(path));
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return mr_json_err(out, errno == ENOENT ? 404 : 500, "file: %s: %s",
				   mr_json_echo(req->rest, buf, sizeof(buf)), strerror(errno));
	*ctype = wav ? "audio/wav" : "audio/ogg";	/* RFC 2361; RFC 7845 §9 */
	return 200;
}

static int
rf_delete(struct mr_appliance *a, const struct mr_http_req *req, json_t **out)
{
	struct mr_recorder *r = a->rec;
	struct mr_rec *rec;
	char path[512], buf[REC_ECHO];

	if (r == NULL)
		return rec_off(out);
	TAILQ_FOREACH(rec, &r->recs, link) {
		size_t bl = strlen(rec->base);

		if (rec_state(rec) == REC_ACTIVE && strncmp(req->rest, rec->base, bl) == 0 &&
		    req->rest[bl] == '-')
			return mr_json_err(out, 409, "file: being written by recording %u (stop "
					   "it first)", rec->id);
	}
	rf_path(r, req->rest, path, sizeof(path));
	if (unlink(path) != 0)
		return mr_json_err(out, errno == ENOENT ? 404 : 500, "file: %s: %s",
				   mr_json_echo(req->rest, buf, sizeof(buf)), strerror(errno));
	return 204;
}

static struct mr_http_route mr_rfile_route = {
	.path = "/v1/recording-files", .match = MR_ROUTE_ID, .name = "/v1/recording-files/{name}",
	.methods = MR_HTTP_GET | MR_HTTP_DELETE, .handler = rf_delete, .file = rf_get,
	.not_found = "file: no such file",
};
MR_HTTP_ROUTE(mr_rfile_route)

/* ---- life cycle ---- */

struct mr_recorder *
mr_recorder_create(struct mr_appliance *a, char *err, size_t errlen)
{
	const struct mr_config *cfg = a->cfg;
	struct mr_recorder *r;

	err[0] = '\0';
	if (cfg->rec_dir[0] == '\0')
		return NULL;
	if (mr_wring_dir("recording.directory", cfg->rec_dir, err, errlen) < 0)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		snprintf(err, errlen, "recording: out of memory");
		return NULL;
	}
	r->a = a;
	TAILQ_INIT(&r->recs);
	/* Ids are 16 bits: 512 KiB of pointers, the writer's alone. */
	r->by_id = calloc((size_t)UINT16_MAX + 1, sizeof(*r->by_id));
	if (r->by_id == NULL) {
		free(r);
		snprintf(err, errlen, "recording: out of memory");
		return NULL;
	}
	snprintf(r->dir, sizeof(r->dir), "%s", cfg->rec_dir);
	r->wr.on_copy = wr_capture;
	r->wr.on_msg = wr_msg;
	r->wr.arg = r;
	if (mr_wring_start(&r->wr, "recording", "mr_rec", cfg->rec_ring, MR_REC_BUF,
			   "mr-rec-writer", err, errlen) < 0) {
		free(r->by_id);
		free(r);
		return NULL;
	}
	a->dp->rec_ring = r->wr.ring;
	a->dp->rec_mp = r->wr.mp;
	REC_LOG(INFO, "recording into %s\n", r->dir);
	return r;
}

void
mr_recorder_free(struct mr_recorder *r)
{
	struct mr_rec *rec;

	if (r == NULL)
		return;
	r->a->dp->rec_ring = NULL;
	r->a->dp->rec_mp = NULL;
	mr_wring_stop(&r->wr, MSG_QUIT);
	while ((rec = TAILQ_FIRST(&r->recs)) != NULL) {
		TAILQ_REMOVE(&r->recs, rec, link);
		free(rec);
	}
	free(r->by_id);
	free(r);
}

void
mr_recorder_metrics(struct mr_recorder *r, FILE *f)
{
	const struct mr_rec *rec;
	unsigned int active = 0;

	if (r == NULL)
		return;
	TAILQ_FOREACH(rec, &r->recs, link)
		active += rec_state(rec) == REC_ACTIVE;
	fprintf(f, "# HELP mrelay_recordings_active Recordings being written\n"
		"# TYPE mrelay_recordings_active gauge\nmrelay_recordings_active %u\n"
		"# HELP mrelay_recording_packets_total Packets written into recordings\n"
		"# TYPE mrelay_recording_packets_total counter\n"
		"mrelay_recording_packets_total %" PRIu64 "\n"
		"# HELP mrelay_recording_write_errors_total Recordings stopped by a write error\n"
		"# TYPE mrelay_recording_write_errors_total counter\n"
		"mrelay_recording_write_errors_total %" PRIu64 "\n"
		"# HELP mrelay_recording_late_total Captures that arrived after their "
		"recording ended\n# TYPE mrelay_recording_late_total counter\n"
		"mrelay_recording_late_total %" PRIu64 "\n", active, ld64(&r->written),
		ld64(&r->write_errors), ld64(&r->late));
}
