/* SPDX-License-Identifier: BSD-3-Clause
 * Per-flow capture: the writer thread, the captures, their REST route (capture.h).
 *
 * Threads. The workers copy the frames of captured endpoints onto dp->cap_ring (cap.h),
 * tagged with the capture's slot (1..255). The control thread starts and stops captures:
 * it puts a start message on the same ring before it gives the endpoint the slot, and a
 * stop message after it took the slot off, so the writer sees a capture's frames between
 * its start and its stop (a copy a worker made just before the slot was cleared may arrive
 * after the stop: it is counted as late and dropped). The writer thread alone opens, writes
 * and closes the file of a running capture, and ends a capture itself when it has written
 * its packet count; it publishes the end with a release store of the state, after which
 * the capture is the control thread's again (to show, to download, to free). A slot is
 * handed out again only once its capture ended and was taken off its endpoint, and slots
 * are taken in turn, so late copies of an old capture hardly ever meet a new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "appliance.h"
#include "cap.h"
#include "capture.h"
#include "json_req.h"
#include "mr_log.h"
#include "pcapng.h"
#include "rooms.h"
#include "router.h"
#include "sessions.h"
#include "wring.h"

MR_LOG_REGISTER(mr_logtype_cap, capture);
#define CAP_LOG(level, ...) MR_LOG(level, mr_logtype_cap, "capture", __VA_ARGS__)

#define CAP_MSG_WAIT_US 5000		/* how long the control thread waits on a full ring */
#define CAP_ECHO 48			/* client text quoted in errors */
#define CAP_HISTORY 32			/* ended captures kept (with their files) */
#define CAP_PACKETS_MAX 1000000
#define CAP_PACKETS_DEFAULT 1000
#define CAP_DURATION_MAX 3600000	/* ms */
#define CAP_DURATION_DEFAULT 60000
#define CAP_CTYPE "application/x-pcapng"

enum cap_state { CAP_ACTIVE = 0, CAP_STOPPED, CAP_FAILED };
static const char *const cap_state_name[] = { "active", "stopped", "failed" };

enum cap_reason { WHY_NONE = 0, WHY_PACKETS, WHY_DURATION, WHY_REQUEST, WHY_GONE,
		  WHY_SHUTDOWN, WHY_ERROR };
static const char *const cap_reason_name[] = { NULL, "packets", "duration", "request",
					       "endpoint_gone", "shutdown", "error" };

struct mr_cap {
	TAILQ_ENTRY(mr_cap) link;	/* cp: the list */
	/* cp: written before the start message; writer: ro */
	uint32_t id;
	uint8_t slot;
	uint8_t is_room;
	uint8_t leg;
	uint32_t room, part;
	char session[17];
	char file[96];			/* the name in the directory */
	char desc[160];			/* what is captured, for the interface description */
	uint64_t max_packets;
	uint64_t duration_ms;
	uint64_t tsc0;			/* TSC at start ... */
	uint64_t ns0;			/* ... and the time of day then, in ns */
	time_t started;
	/* cp only */
	uint8_t stop_sent;		/* taken off the endpoint (and the stop is on the ring
					 * unless the writer ended it first) */
	uint8_t deleted;		/* forgotten: freed once the writer is done with it */
	uint8_t end_seen;		/* the end was logged */
	uint8_t why;			/* enum cap_reason of a stop the control thread made */
	uint8_t stop_msg;		/* a stop message went on the ring: cap is freed only
					 * once the writer saw it (stop_seen) */
	uint64_t deadline_tsc;
	time_t stopped;
	/* writer: rw (relaxed stores; state with release), cp: ro (relaxed loads; state
	 * with acquire) */
	uint32_t state;			/* enum cap_state */
	uint32_t wr_why;		/* enum cap_reason of an end the writer made */
	uint32_t stop_seen;		/* the writer is done with the stop message (release) */
	int err;
	uint64_t packets, pkts_in, pkts_out, bytes, truncated;
	/* writer only, while active */
	struct mr_pcapng pw;
};

TAILQ_HEAD(mr_cap_list, mr_cap);

enum cap_msg_type { MSG_START, MSG_STOP, MSG_QUIT };

struct mr_capture {
	struct mr_appliance *a;
	char dir[256];
	unsigned int max_active;
	struct mr_wring wr;		/* the ring and the writer thread */
	uint64_t hz;
	struct mr_cap_list caps;	/* cp */
	uint32_t next_id;
	uint8_t next_slot;
	/* writer: rw (relaxed stores), cp: ro */
	uint64_t late;			/* copies of no running capture */
	uint64_t write_errors;
	uint64_t written;		/* frames written */
	/* writer only */
	struct mr_cap *slot[MR_CAP_SLOTS];
};

#define st64 mr_wring_st64
#define ld64 mr_wring_ld64

/* ---- the writer thread ---- */

/* Close the file and hand cap back with its final state; cap belongs to the control thread
 * after the release store. */
static void
wr_end(struct mr_capture *r, struct mr_cap *cap, int err, enum cap_reason why)
{
	int rc = mr_pcapng_close(&cap->pw);

	if (err == 0 && rc < 0)
		err = -rc;
	r->slot[cap->slot] = NULL;
	if (err != 0) {
		st64(&r->write_errors, r->write_errors + 1);
		__atomic_store_n(&cap->err, err, __ATOMIC_RELAXED);
		why = WHY_ERROR;
	}
	__atomic_store_n(&cap->wr_why, why, __ATOMIC_RELAXED);
	/* Release: the counters, err and the closed file before the state. */
	__atomic_store_n(&cap->state, err ? CAP_FAILED : CAP_STOPPED, __ATOMIC_RELEASE);
}

static void
wr_frame(void *arg, struct rte_mbuf *m)
{
	struct mr_capture *r = arg;
	const struct mr_cap_hdr *h = rte_pktmbuf_mtod(m, const struct mr_cap_hdr *);
	struct mr_cap *cap = r->slot[h->slot];
	int64_t d;
	uint64_t ns;
	int rc;

	if (cap == NULL) {
		st64(&r->late, r->late + 1);
		return;
	}
	d = (int64_t)(h->tsc - cap->tsc0);
	ns = cap->ns0 + (d > 0 ? (uint64_t)((unsigned __int128)d * 1000000000u / r->hz) : 0);
	rc = mr_pcapng_packet(&cap->pw, ns, h + 1, h->len, h->orig_len,
			      h->dir == MR_CAP_OUT ? MR_PCAPNG_OUT : MR_PCAPNG_IN);
	if (rc < 0) {
		CAP_LOG(ERR, "capture %u: write error: %s: capture stopped\n", cap->id,
			strerror(-rc));
		wr_end(r, cap, -rc, WHY_ERROR);
		return;
	}
	st64(&cap->bytes, cap->pw.bytes);
	if (h->dir == MR_CAP_OUT)
		st64(&cap->pkts_out, cap->pkts_out + 1);
	else
		st64(&cap->pkts_in, cap->pkts_in + 1);
	if (h->len < h->orig_len)
		st64(&cap->truncated, cap->truncated + 1);
	st64(&cap->packets, cap->packets + 1);
	st64(&r->written, r->written + 1);
	if (cap->packets >= cap->max_packets)
		wr_end(r, cap, 0, WHY_PACKETS);
}

/* 1 when the thread must end. */
static int
wr_msg(void *arg, int type, void *p)
{
	struct mr_capture *r = arg;
	struct mr_cap *cap = p;
	char ifname[32], path[512];
	unsigned int i;
	int rc;

	switch ((enum cap_msg_type)type) {
	case MSG_START:
		snprintf(ifname, sizeof(ifname), "mrelay-capture-%u", cap->id);
		snprintf(path, sizeof(path), "%s/%s", r->dir, cap->file);
		rc = mr_pcapng_open(&cap->pw, path, ifname, cap->desc, MR_CAP_SNAP);
		if (rc < 0)
			CAP_LOG(ERR, "capture %u: cannot create %s: %s\n", cap->id, path,
				strerror(-rc));
		r->slot[cap->slot] = cap;
		if (rc < 0)
			wr_end(r, cap, -rc, WHY_ERROR);
		else
			st64(&cap->bytes, cap->pw.bytes);
		return 0;
	case MSG_STOP:
		/* Ended already (its count, an error): back with the control thread. */
		if (__atomic_load_n(&cap->state, __ATOMIC_RELAXED) == CAP_ACTIVE)
			wr_end(r, cap, 0, WHY_NONE);
		/* Release: the last the writer touches of cap; it may be freed after. */
		__atomic_store_n(&cap->stop_seen, 1, __ATOMIC_RELEASE);
		return 0;
	case MSG_QUIT:
	default:
		for (i = 1; i < MR_CAP_SLOTS; i++)
			if (r->slot[i] != NULL)
				wr_end(r, r->slot[i], 0, WHY_SHUTDOWN);
		return 1;
	}
}

/* ---- the control thread's side ---- */

static int
cap_send(struct mr_capture *r, enum cap_msg_type type, struct mr_cap *cap)
{
	/* The ring's release hands cap (filled before) to the writer. */
	return mr_wring_send(&r->wr, type, cap, CAP_MSG_WAIT_US);
}

static uint32_t
cap_state(const struct mr_cap *cap)
{
	/* Acquire: pairs with the writer's release in wr_end(). */
	return __atomic_load_n(&cap->state, __ATOMIC_ACQUIRE);
}

/* The slot byte of the captured endpoint, NULL when it is gone (the session ended, the
 * participant left). */
static uint8_t *
cap_endpoint(struct mr_capture *r, const struct mr_cap *cap)
{
	struct mr_appliance *a = r->a;

	if (cap->is_room) {
		struct mr_dp_part *p = a->rooms != NULL ?
			mr_rooms_part_dp(a->rooms, cap->room, cap->part) : NULL;

		return p != NULL ? &p->cap_id : NULL;
	} else {
		struct mr_dp_session *s = mr_sessions_live(a->sess, cap->session);

		return s != NULL ? &s->leg[cap->leg].cap_id : NULL;
	}
}

/* Take the capture's slot off its endpoint, then send the stop: from then on no new copy
 * names it. why: the reason when the writer has not ended it already. */
static int
cap_stop(struct mr_capture *r, struct mr_cap *cap, enum cap_reason why)
{
	uint8_t *ep;

	if (cap->stop_sent)
		return 0;
	ep = cap_endpoint(r, cap);
	/* Relaxed: the owner reads the slot per frame and needs nothing else with it. */
	if (ep != NULL && __atomic_load_n(ep, __ATOMIC_RELAXED) == cap->slot)
		__atomic_store_n(ep, 0, __ATOMIC_RELAXED);
	if (cap_state(cap) != CAP_ACTIVE) {
		cap->stop_sent = 1;	/* the writer ended it already */
		return 0;
	}
	if (cap_send(r, MSG_STOP, cap) < 0)
		return -ENOBUFS;	/* tried again by the tick */
	cap->stop_sent = 1;
	cap->stop_msg = 1;
	cap->why = (uint8_t)why;
	cap->stopped = time(NULL);
	return 0;
}

/* Captures holding a slot or running: not ended, or not yet taken off their endpoint. */
static unsigned int
cap_running(const struct mr_capture *r)
{
	const struct mr_cap *cap;
	unsigned int n = 0;

	TAILQ_FOREACH(cap, &r->caps, link)
		n += !cap->stop_sent || cap_state(cap) == CAP_ACTIVE;
	return n;
}

static int
cap_slot_used(const struct mr_capture *r, uint8_t slot)
{
	const struct mr_cap *cap;

	TAILQ_FOREACH(cap, &r->caps, link)
		if (cap->slot == slot && (!cap->stop_sent || cap_state(cap) == CAP_ACTIVE))
			return 1;
	return 0;
}

static json_t *
cap_json(const struct mr_cap *cap)
{
	uint32_t state = cap_state(cap);
	const char *why = NULL;
	char id[12];
	json_t *o;

	if (state != CAP_ACTIVE) {
		uint32_t w = __atomic_load_n(&cap->wr_why, __ATOMIC_RELAXED);

		why = cap_reason_name[w != WHY_NONE ? w : cap->why];
	}
	snprintf(id, sizeof(id), "%u", cap->id);
	o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s}", "id", id,
		      "state", state == CAP_ACTIVE && cap->stop_sent ? "stopping" :
		      cap_state_name[state],
		      "started", (json_int_t)cap->started,
		      "max_packets", (json_int_t)cap->max_packets,
		      "duration_ms", (json_int_t)cap->duration_ms,
		      "packets", (json_int_t)ld64(&cap->packets),
		      "packets_in", (json_int_t)ld64(&cap->pkts_in),
		      "packets_out", (json_int_t)ld64(&cap->pkts_out),
		      "truncated", (json_int_t)ld64(&cap->truncated),
		      "bytes", (json_int_t)ld64(&cap->bytes),
		      "file", cap->file);
	if (cap->is_room) {
		snprintf(id, sizeof(id), "%u", cap->room);
		json_object_set_new(o, "room", json_string(id));
		snprintf(id, sizeof(id), "%u", cap->part);
		json_object_set_new(o, "participant", json_string(id));
	} else {
		json_object_set_new(o, "session", json_string(cap->session));
		json_object_set_new(o, "leg", json_integer(cap->leg));
	}
	json_object_set_new(o, "stop_reason", why != NULL ? json_string(why) : json_null());
	json_object_set_new(o, "stopped", cap->stopped ? json_integer(cap->stopped) :
			    json_null());
	json_object_set_new(o, "error", state == CAP_FAILED ?
			    json_string(strerror(__atomic_load_n(&cap->err, __ATOMIC_RELAXED))) :
			    json_null());
	return o;
}

static struct mr_cap *
cap_find(struct mr_capture *r, const char *id, size_t len)
{
	struct mr_cap *cap;
	uint32_t v;

	if (mr_rooms_id_parse(id, len, &v) < 0)
		return NULL;
	TAILQ_FOREACH(cap, &r->caps, link)
		if (cap->id == v && !cap->deleted)
			return cap;
	return NULL;
}

/* An optional integer field in [min, max]: 0 (*v set or left at its default) or a 400. */
static int
cap_int_field(json_t *o, const char *key, json_int_t min, json_int_t max, uint64_t *v,
	      json_t **out)
{
	json_t *j = json_object_get(o, key);

	if (j == NULL)
		return 0;
	if (!json_is_integer(j) || json_integer_value(j) < min || json_integer_value(j) > max)
		return mr_json_err(out, 400, "%s: must be an integer between %lld and %lld", key,
				   (long long)min, (long long)max);
	*v = (uint64_t)json_integer_value(j);
	return 0;
}

/* The endpoint of a POST body into cap: 0 or the error status. */
static int
cap_parse_target(struct mr_capture *r, json_t *o, struct mr_cap *cap, json_t **out)
{
	static const char *const strs[] = { "session", "room", "participant" };
	const char *session, *room, *part;
	char buf[CAP_ECHO];
	json_t *leg;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		json_t *j = json_object_get(o, strs[i]);

		if (j != NULL && !json_is_string(j))
			return mr_json_err(out, 400, "%s: must be a string", strs[i]);
	}
	session = json_string_value(json_object_get(o, "session"));
	room = json_string_value(json_object_get(o, "room"));
	part = json_string_value(json_object_get(o, "participant"));
	leg = json_object_get(o, "leg");
	if ((session == NULL) == (room == NULL))
		return mr_json_err(out, 400, "session: give either session (with leg) or room "
				   "(with participant)");
	if (session != NULL) {
		if (part != NULL)
			return mr_json_err(out, 400, "participant: only with room");
		if (leg == NULL)
			return mr_json_err(out, 400, "leg: required with session (0 or 1)");
		if (json_is_integer(leg) && (json_integer_value(leg) == 0 ||
					     json_integer_value(leg) == 1))
			cap->leg = (uint8_t)json_integer_value(leg);
		else if (json_is_string(leg) && (strcmp(json_string_value(leg), "a") == 0 ||
						 strcmp(json_string_value(leg), "b") == 0))
			cap->leg = json_string_value(leg)[0] == 'b';
		else
			return mr_json_err(out, 400, "leg: must be 0 or 1 (or \"a\", \"b\")");
		if (mr_sessions_live(r->a->sess, session) == NULL)
			return mr_json_err(out, 404, "session: no such active session '%s'",
					   mr_json_echo(session, buf, sizeof(buf)));
		snprintf(cap->session, sizeof(cap->session), "%s", session);
		return 0;
	}
	if (leg != NULL)
		return mr_json_err(out, 400, "leg: only with session");
	if (part == NULL)
		return mr_json_err(out, 400, "participant: required with room");
	if (r->a->rooms == NULL || mr_rooms_id_parse(room, strlen(room), &cap->room) < 0 ||
	    !mr_rooms_exists(r->a->rooms, cap->room))
		return mr_json_err(out, 404, "room: no such room '%s'",
				   mr_json_echo(room, buf, sizeof(buf)));
	if (mr_rooms_id_parse(part, strlen(part), &cap->part) < 0 ||
	    mr_rooms_part_dp(r->a->rooms, cap->room, cap->part) == NULL)
		return mr_json_err(out, 404, "participant: no such participant '%s' in room %u",
				   mr_json_echo(part, buf, sizeof(buf)), cap->room);
	cap->is_room = 1;
	return 0;
}

/* POST /v1/captures */
static int
cap_create(struct mr_capture *r, const char *body, size_t len, json_t **out)
{
	static const char *const keys[] = { "session", "leg", "room", "participant", "packets",
					    "duration_ms", NULL };
	char err[256], ts[32], buf[CAP_ECHO];
	struct mr_cap *cap;
	struct timespec now;
	const char *key;
	uint8_t *ep;
	json_t *o, *v;
	struct tm tm;
	unsigned int i;
	int rc;

	o = mr_json_body_load(body, len, err, sizeof(err));
	if (o == NULL)
		return mr_json_err(out, 400, "%s", err);
	json_object_foreach(o, key, v) {
		for (i = 0; keys[i] != NULL && strcmp(key, keys[i]) != 0; i++)
			;
		if (keys[i] == NULL) {
			rc = mr_json_err(out, 400, "%s: unknown field (allowed: session, leg, room, "
					 "participant, packets, duration_ms)",
					 mr_json_echo(key, buf, sizeof(buf)));
			goto out;
		}
	}
	cap = calloc(1, sizeof(*cap));
	if (cap == NULL) {
		rc = mr_json_err(out, 503, "capture: out of memory");
		goto out;
	}
	cap->max_packets = CAP_PACKETS_DEFAULT;
	cap->duration_ms = CAP_DURATION_DEFAULT;
	rc = cap_int_field(o, "packets", 1, CAP_PACKETS_MAX, &cap->max_packets, out);
	if (rc == 0)
		rc = cap_int_field(o, "duration_ms", 1, CAP_DURATION_MAX, &cap->duration_ms, out);
	if (rc == 0)
		rc = cap_parse_target(r, o, cap, out);
	if (rc != 0)
		goto fail;
	if (cap_running(r) >= r->max_active) {
		rc = mr_json_err(out, 503, "capture: %u captures are running (capture.max_active)",
				 r->max_active);
		goto fail;
	}
	ep = cap_endpoint(r, cap);
	if (ep == NULL) {
		rc = mr_json_err(out, 404, "%s: gone", cap->is_room ? "participant" : "session");
		goto fail;
	}
	if (__atomic_load_n(ep, __ATOMIC_RELAXED) != 0) {
		rc = mr_json_err(out, 409, "%s: being captured already",
				 cap->is_room ? "participant" : "leg");
		goto fail;
	}
	do
		r->next_slot = r->next_slot >= MR_CAP_SLOTS - 1 ? 1 : r->next_slot + 1;
	while (cap_slot_used(r, r->next_slot));
	cap->slot = r->next_slot;
	cap->id = ++r->next_id;
	cap->started = time(NULL);
	gmtime_r(&cap->started, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
	if (cap->is_room) {
		snprintf(cap->file, sizeof(cap->file), "capture-%u-room-%u-%u-%s.pcapng", cap->id,
			 cap->room, cap->part, ts);
		snprintf(cap->desc, sizeof(cap->desc), "room %u participant %u", cap->room,
			 cap->part);
	} else {
		snprintf(cap->file, sizeof(cap->file), "capture-%u-session-%s-leg-%u-%s.pcapng",
			 cap->id, cap->session, cap->leg, ts);
		snprintf(cap->desc, sizeof(cap->desc), "session %s leg %u", cap->session,
			 cap->leg);
	}
	clock_gettime(CLOCK_REALTIME, &now);
	cap->tsc0 = rte_get_tsc_cycles();
	cap->ns0 = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	cap->deadline_tsc = cap->tsc0 + cap->duration_ms * (r->hz / 1000);
	/* The writer must know the capture before any frame carries its slot. */
	if (cap_send(r, MSG_START, cap) < 0) {
		rc = mr_json_err(out, 503, "capture: the writer's ring is full");
		goto fail;
	}
	TAILQ_INSERT_TAIL(&r->caps, cap, link);
	/* Relaxed: the owner reads the slot per frame and needs nothing else with it. */
	__atomic_store_n(ep, cap->slot, __ATOMIC_RELAXED);
	CAP_LOG(INFO, "capture %u started: %s, %" PRIu64 " packets, %" PRIu64 " ms: %s\n",
		cap->id, cap->desc, cap->max_packets, cap->duration_ms, cap->file);
	*out = cap_json(cap);
	rc = 201;
	goto out;
fail:
	free(cap);
out:
	json_decref(o);
	return rc;
}

static void
cap_unlink(const struct mr_capture *r, const struct mr_cap *cap)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", r->dir, cap->file);
	if (unlink(path) != 0 && errno != ENOENT)
		CAP_LOG(WARNING, "capture %u: cannot remove %s: %s\n", cap->id, path,
			strerror(errno));
}

/* Is the writer done with cap: ended, taken off its endpoint, its stop message (if one was
 * sent) handled? */
static int
cap_done(const struct mr_cap *cap)
{
	/* Acquire: pairs with the writer's release of stop_seen. */
	return cap->stop_sent && cap_state(cap) != CAP_ACTIVE &&
		(!cap->stop_msg || __atomic_load_n(&cap->stop_seen, __ATOMIC_ACQUIRE));
}

/* Free what was forgotten (DELETE of an ended capture) and the oldest ended ones past
 * CAP_HISTORY (their files too), once the writer is done with them. */
static void
cap_free_done(struct mr_capture *r)
{
	struct mr_cap *cap, *n;
	unsigned int ended = 0;

	TAILQ_FOREACH(cap, &r->caps, link)
		ended += !cap->deleted && cap_done(cap);
	for (cap = TAILQ_FIRST(&r->caps); cap != NULL; cap = n) {
		n = TAILQ_NEXT(cap, link);
		if (!cap_done(cap))
			continue;
		if (!cap->deleted) {
			if (ended <= CAP_HISTORY)
				continue;
			ended--;
		}
		cap_unlink(r, cap);
		TAILQ_REMOVE(&r->caps, cap, link);
		free(cap);
	}
}

void
mr_capture_tick(struct mr_capture *r)
{
	struct mr_cap *cap;
	uint64_t now;

	if (r == NULL)
		return;
	now = rte_get_tsc_cycles();
	TAILQ_FOREACH(cap, &r->caps, link) {
		uint32_t st = cap_state(cap);

		if (!cap->stop_sent) {
			if (st != CAP_ACTIVE)
				cap_stop(r, cap, WHY_NONE);
			else if (cap_endpoint(r, cap) == NULL)
				cap_stop(r, cap, WHY_GONE);
			else if ((int64_t)(now - cap->deadline_tsc) >= 0)
				cap_stop(r, cap, WHY_DURATION);
		}
		if (st != CAP_ACTIVE && !cap->end_seen) {
			cap->end_seen = 1;
			if (cap->stopped == 0)
				cap->stopped = time(NULL);
			if (st == CAP_FAILED)
				CAP_LOG(WARNING, "capture %u failed: %s\n", cap->id,
					strerror(cap->err));
			else
				CAP_LOG(INFO, "capture %u stopped: %" PRIu64 " packets\n", cap->id,
					ld64(&cap->packets));
		}
	}
	cap_free_done(r);
}

/* ---- REST ---- */

static int
cap_off(json_t **out)
{
	return mr_json_err(out, 503, "capture: not configured (capture.directory)");
}

/* What rest (after /v1/captures) names: 0 the list, 1 a capture ("/{id}"), 2 its file
 * ("/{id}/pcapng"), -1 nothing. */
static int
cap_res(const char *rest)
{
	const char *slash;

	if (rest[0] == '\0')
		return 0;
	slash = strchr(rest + 1, '/');
	if (slash == NULL)
		return 1;
	return strcmp(slash, "/pcapng") == 0 ? 2 : -1;
}

/* The capture of "/{id}[/pcapng]" (NULL: a 404 in *status and *out). */
static struct mr_cap *
cap_path(struct mr_capture *r, const char *rest, int *status, json_t **out)
{
	const char *id = rest + 1, *slash = strchr(id, '/');
	size_t len = slash != NULL ? (size_t)(slash - id) : strlen(id);
	struct mr_cap *cap;
	char idb[CAP_ECHO], buf[CAP_ECHO];

	cap = cap_find(r, id, len);
	if (cap == NULL) {
		snprintf(idb, sizeof(idb), "%.*s", (int)RTE_MIN(len, sizeof(idb) - 1), id);
		*status = mr_json_err(out, 404, "capture: no such capture '%s'",
				      mr_json_echo(idb, buf, sizeof(buf)));
	}
	return cap;
}

static int
cap_list(struct mr_capture *r, json_t **out)
{
	struct mr_cap *cap;
	json_t *arr = json_array();

	TAILQ_FOREACH(cap, &r->caps, link)
		if (!cap->deleted)
			json_array_append_new(arr, cap_json(cap));
	*out = json_pack("{s:o}", "captures", arr);
	return 200;
}

static int
cap_no_res(json_t **out)
{
	return mr_json_err(out, 404, "path: no such resource (/v1/captures, /v1/captures/{id}, "
			   "/v1/captures/{id}/pcapng)");
}

/* GET: the list, one capture, or its file. */
static int
cap_get(struct mr_appliance *a, const struct mr_http_req *req, int *fd, const char **ctype,
	json_t **out)
{
	struct mr_capture *r = a->cap;
	int res = cap_res(req->rest), status;
	struct mr_cap *cap;
	char path[512];

	if (r == NULL)
		return cap_off(out);
	if (res < 0)
		return cap_no_res(out);
	if (res == 0)
		return cap_list(r, out);
	cap = cap_path(r, req->rest, &status, out);
	if (cap == NULL)
		return status;
	if (res == 1) {
		*out = cap_json(cap);
		return 200;
	}
	if (cap_state(cap) == CAP_ACTIVE)
		return mr_json_err(out, 409, "capture: %u is running: the file is complete once "
				   "it stopped (DELETE /v1/captures/%u stops it)", cap->id,
				   cap->id);
	snprintf(path, sizeof(path), "%s/%s", r->dir, cap->file);
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return mr_json_err(out, errno == ENOENT ? 404 : 500, "file: %s: %s", cap->file,
				   strerror(errno));
	*ctype = CAP_CTYPE;
	return 200;
}

static int
mr_route_captures(struct mr_appliance *a, const struct mr_http_req *req, json_t **out)
{
	struct mr_capture *r = a->cap;
	int res = cap_res(req->rest), status;
	struct mr_cap *cap;

	if (res < 0)
		return cap_no_res(out);
	/* The methods of each resource first: POST /v1/captures, DELETE /v1/captures/{id}
	 * (GET goes to cap_get). */
	if (res == 0 && req->method != MR_HTTP_POST)
		return mr_json_err(out, 405, "method: %s not allowed on /v1/captures (GET, POST)",
				   req->method_name);
	if (res != 0 && (req->method != MR_HTTP_DELETE || res == 2))
		return mr_json_err(out, 405, "method: %s not allowed on %s", req->method_name,
				   res == 2 ? "/v1/captures/{id}/pcapng (GET)" :
				   "/v1/captures/{id} (GET, DELETE)");
	if (r == NULL)
		return cap_off(out);
	if (res == 0)
		return cap_create(r, req->body, req->len, out);
	cap = cap_path(r, req->rest, &status, out);
	if (cap == NULL)
		return status;
	/* DELETE: stop it; an ended one is forgotten with its file. */
	if (cap->stop_sent && cap_state(cap) != CAP_ACTIVE)
		cap->deleted = 1;
	else if (cap_stop(r, cap, WHY_REQUEST) < 0)
		return mr_json_err(out, 503, "capture: the writer's ring is full");
	cap_free_done(r);
	return 204;
}

static struct mr_http_route mr_captures_route = {
	.path = "/v1/captures", .match = MR_ROUTE_SUBTREE, .name = "/v1/captures",
	.methods = MR_HTTP_GET | MR_HTTP_POST | MR_HTTP_DELETE, .handler = mr_route_captures,
	.file = cap_get, .location = "/v1/captures",
};
MR_HTTP_ROUTE(mr_captures_route)

/* ---- life cycle ---- */

struct mr_capture *
mr_capture_create(struct mr_appliance *a, char *err, size_t errlen)
{
	const struct mr_config *cfg = a->cfg;
	struct mr_capture *r;

	err[0] = '\0';
	if (cfg->cap_dir[0] == '\0')
		return NULL;
	if (mr_wring_dir("capture.directory", cfg->cap_dir, err, errlen) < 0)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		snprintf(err, errlen, "capture: out of memory");
		return NULL;
	}
	r->a = a;
	r->hz = rte_get_tsc_hz();
	r->max_active = cfg->cap_max_active;
	TAILQ_INIT(&r->caps);
	snprintf(r->dir, sizeof(r->dir), "%s", cfg->cap_dir);
	r->wr.on_copy = wr_frame;
	r->wr.on_msg = wr_msg;
	r->wr.arg = r;
	if (mr_wring_start(&r->wr, "capture", "mr_cap", cfg->cap_ring, MR_CAP_BUF,
			   "mr-cap-writer", err, errlen) < 0) {
		free(r);
		return NULL;
	}
	a->dp->cap_ring = r->wr.ring;
	a->dp->cap_mp = r->wr.mp;
	CAP_LOG(INFO, "per-flow captures into %s\n", r->dir);
	return r;
}

void
mr_capture_free(struct mr_capture *r)
{
	struct mr_cap *cap;

	if (r == NULL)
		return;
	r->a->dp->cap_ring = NULL;
	r->a->dp->cap_mp = NULL;
	mr_wring_stop(&r->wr, MSG_QUIT);
	while ((cap = TAILQ_FIRST(&r->caps)) != NULL) {
		TAILQ_REMOVE(&r->caps, cap, link);
		free(cap);
	}
	free(r);
}

void
mr_capture_metrics(struct mr_capture *r, FILE *f)
{
	if (r == NULL)
		return;
	fprintf(f, "# HELP mrelay_captures_active Per-flow captures running\n"
		"# TYPE mrelay_captures_active gauge\nmrelay_captures_active %u\n"
		"# HELP mrelay_capture_packets_total Frames written into per-flow captures\n"
		"# TYPE mrelay_capture_packets_total counter\n"
		"mrelay_capture_packets_total %" PRIu64 "\n"
		"# HELP mrelay_capture_write_errors_total Captures stopped by a write error\n"
		"# TYPE mrelay_capture_write_errors_total counter\n"
		"mrelay_capture_write_errors_total %" PRIu64 "\n"
		"# HELP mrelay_capture_late_total Frame copies that arrived after their "
		"capture ended\n# TYPE mrelay_capture_late_total counter\n"
		"mrelay_capture_late_total %" PRIu64 "\n", cap_running(r), ld64(&r->written),
		ld64(&r->write_errors), ld64(&r->late));
}
