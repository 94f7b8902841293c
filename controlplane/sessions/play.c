/* SPDX-License-Identifier: BSD-3-Clause
 * Sessions: voice messages played into a leg of a two-leg session (docs/API.md "Playing a
 * message into a session"): an announcement, a prompt, a recorded greeting.
 *
 * The control thread paces the message (controlplane/media/player.h; each turn of its loop,
 * about once a millisecond, sends what is due) and hands each packet to the session's owner
 * worker on its command ring (MR_CMD_LEG_PLAY_PKT), which sends it from the leg's local
 * endpoint to the leg's remote, encrypted under the leg's key when the remote takes SRTP.
 * While the message plays, the RTP relayed towards that leg from the other one is held back
 * (MR_LEG_MUTE_PLAY: the remote hears the message, not both at once; counted as the other
 * leg's drops.muted); RTCP still flows. Decoding for G.711 happens a packet at a time.
 *
 * A session that ends stops its playbacks (checked on every turn before anything is sent:
 * nothing is sent for an ended session, and the commands already sent are applied before the
 * session's memory goes, controlplane/core/defer.h).
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

#include "appliance.h"
#include "cmd.h"
#include "json_req.h"
#include "messages.h"
#include "mr_log.h"
#include "player.h"
#include "router.h"
#include "session_dp.h"
#include "sessions.h"

MR_LOG_REGISTER(mr_logtype_splay, playback);
#define SPLAY_LOG(level, ...) MR_LOG(level, mr_logtype_splay, "playback", __VA_ARGS__)

#define SPLAY_KEPT 256			/* ended playbacks kept for GET, all sessions */
#define SPLAY_ID_LEN 17

enum { SPLAY_PLAYING = 0, SPLAY_ENDED, SPLAY_STOPPED, SPLAY_SESSION_ENDED };
static const char *const splay_state[] = { "playing", "ended", "stopped", "stopped" };
static const char *const splay_reason[] = { NULL, "done", "stopped", "session_ended" };

struct mr_splay {
	TAILQ_ENTRY(mr_splay) link;	/* oldest first */
	uint32_t id;
	char session[SPLAY_ID_LEN];
	uint8_t leg;
	uint8_t state;
	struct mr_player pr;
	char msg[MR_MSG_ID_LEN + 1];	/* "" when played from a file (ng) */
	char file[64];			/* that file's name, as given (shortened) */
	uint32_t loops_left;		/* plays still to come after this one; UINT32_MAX: until
					 * until_tsc */
	uint32_t loops;			/* plays begun */
	uint64_t until_tsc;		/* no new play begins after this (0: no such limit) */
	uint64_t duration_ms;
	time_t started, ended;
};

TAILQ_HEAD(mr_splay_list, mr_splay);

/* The control thread's only: no locks. */
static struct mr_splay_list splays = TAILQ_HEAD_INITIALIZER(splays);
static uint32_t splay_next_id, splay_playing, splay_ended;

static json_t *
splay_json(const struct mr_splay *p)
{
	char id[16];

	snprintf(id, sizeof(id), "%" PRIu32, p->id);
	return json_pack("{s:s,s:s,s:i,s:o,s:s*,s:i,s:s,s:s?,s:s,s:I,s:i,s:I,s:I,s:I,s:I,s:I,"
			 "s:I,s:I,s:o}",
			 "id", id, "session", p->session, "leg", p->leg,
			 "message", p->msg[0] ? json_string(p->msg) : json_null(),
			 "file", p->file[0] ? p->file : NULL, "plays", (int)p->loops,
			 "state", splay_state[p->state], "reason", splay_reason[p->state],
			 "codec", mr_player_codec_name(p->pr.codec),
			 "ssrc", (json_int_t)p->pr.ssrc, "pt", p->pr.pt,
			 "packets", (json_int_t)p->pr.packets, "sent", (json_int_t)p->pr.sent,
			 "dropped_no_mbuf", (json_int_t)p->pr.drop_no_mbuf,
			 "dropped_ring_full", (json_int_t)p->pr.drop_ring_full,
			 "decode_errors", (json_int_t)p->pr.decode_errors,
			 "duration_ms", (json_int_t)p->duration_ms,
			 "started", (json_int_t)p->started,
			 "ended", p->ended ? json_integer(p->ended) : json_null());
}

/* Is a playback of session sid playing into leg? */
static struct mr_splay *
splay_playing_on(const char *sid, unsigned int leg)
{
	struct mr_splay *p;

	TAILQ_FOREACH(p, &splays, link)
		if (p->state == SPLAY_PLAYING && p->leg == leg && strcmp(p->session, sid) == 0)
			return p;
	return NULL;
}

static void
splay_mute(struct mr_dp_session *s, unsigned int leg, int on)
{
	uint8_t *mu = &s->leg[leg].mute;
	uint8_t v = __atomic_load_n(mu, __ATOMIC_RELAXED);

	v = (uint8_t)(on ? v | MR_LEG_MUTE_PLAY : v & ~MR_LEG_MUTE_PLAY);
	/* Relaxed: the worker reads a flag, no data behind it. */
	__atomic_store_n(mu, v, __ATOMIC_RELAXED);
}

static void
splay_trim(void)
{
	struct mr_splay *p, *nx;

	for (p = TAILQ_FIRST(&splays); p != NULL && splay_ended > SPLAY_KEPT; p = nx) {
		nx = TAILQ_NEXT(p, link);
		if (p->state != SPLAY_PLAYING) {
			TAILQ_REMOVE(&splays, p, link);
			free(p);
			splay_ended--;
		}
	}
}

/* End a playback; s is its live session, NULL when the session is gone. */
static void
splay_end(struct mr_splay *p, struct mr_dp_session *s, int why)
{
	if (p->state != SPLAY_PLAYING)
		return;
	p->state = (uint8_t)why;
	p->ended = time(NULL);
	if (s != NULL)
		splay_mute(s, p->leg, 0);
	mr_player_fini(&p->pr);
	splay_playing--;
	splay_ended++;
	SPLAY_LOG(INFO, "session %s: playback %" PRIu32 " on leg %u %s\n", p->session, p->id,
		  p->leg, splay_reason[why]);
	splay_trim();
}

int
mr_sessions_play(struct mr_appliance *a, const char *sid, unsigned int leg,
		 struct mr_msg_audio *au, const struct mr_session_play *o, const char *file,
		 uint64_t *duration_ms, char *err, size_t errlen)
{
	struct mr_dp_session *s = mr_sessions_live(a->sess, sid);
	struct mr_splay *p;
	uint64_t now = rte_get_tsc_cycles(), hz = a->dp->tsc_hz;
	uint32_t ssrc = o->ssrc;

	if (s == NULL) {
		snprintf(err, errlen, "no such active session: %s", sid);
		return 404;
	}
	if (splay_playing_on(sid, leg) != NULL) {
		snprintf(err, errlen, "leg: a message already plays into leg %u of session %s",
			 leg, sid);
		return 409;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		snprintf(err, errlen, "memory: no room for a playback");
		return 503;
	}
	while (ssrc == 0 || ssrc == s->leg[leg ^ 1].rtp.ssrc) {
		/* Random (RFC 3550 §8.1), and not what the other leg's remote sends. */
		if (getrandom(&ssrc, sizeof(ssrc), 0) != (ssize_t)sizeof(ssrc)) {
			free(p);
			snprintf(err, errlen, "playback: no random numbers");
			return 500;
		}
	}
	if (mr_player_init(&p->pr, au, o->codec, o->pt, ssrc, now) < 0) {
		free(p);
		snprintf(err, errlen, "memory: no room for a playback's decoder");
		return 503;
	}
	/* au is the player's now. */
	if (o->start_pkt != 0)
		mr_player_skip(&p->pr, o->start_pkt, hz);
	p->id = ++splay_next_id;
	snprintf(p->session, sizeof(p->session), "%s", sid);
	p->leg = (uint8_t)leg;
	p->duration_ms = p->pr.au->duration_ms;
	memcpy(p->msg, p->pr.au->id, sizeof(p->msg));
	if (file != NULL)
		snprintf(p->file, sizeof(p->file), "%s", file);
	p->loops = 1;
	/* loops 0 means "until min_ms"; without min_ms that would be forever: once. */
	p->loops_left = o->loops != 0 ? o->loops - 1 : o->min_ms != 0 ? UINT32_MAX : 0;
	p->until_tsc = o->min_ms ? now + o->min_ms * (hz / 1000) : 0;
	p->started = time(NULL);
	TAILQ_INSERT_TAIL(&splays, p, link);
	splay_playing++;
	splay_mute(s, p->leg, 1);
	SPLAY_LOG(INFO, "session %s: playback %" PRIu32 " of %s %s on leg %u (%s) started\n",
		  sid, p->id, p->msg[0] ? "message" : "file", p->msg[0] ? p->msg : p->file,
		  p->leg, mr_player_codec_name(p->pr.codec));
	if (duration_ms != NULL)
		*duration_ms = p->duration_ms;
	return 201;
}

int
mr_sessions_play_stop(struct mr_appliance *a, const char *sid, unsigned int leg,
		      uint32_t *last_pkt)
{
	struct mr_splay *p = splay_playing_on(sid, leg);

	if (p == NULL)
		return -ENOENT;
	if (last_pkt != NULL)
		*last_pkt = p->pr.next;
	splay_end(p, mr_sessions_live(a->sess, sid), SPLAY_STOPPED);
	return 0;
}

static int
splay_start(struct mr_appliance *a, const char *sid, const char *body, size_t len,
	    json_t **out)
{
	struct mr_session_play po = { 0 };
	struct mr_msg_audio *au = NULL;
	struct mr_play_req rq;
	json_t *o = NULL;
	char err[256];
	int rc;

	rc = mr_player_req_parse(body, len, 1, &rq, &o, out);
	if (rc != 0)
		goto out;
	/* The session and the leg first: no file read for a request refused anyway. */
	if (mr_sessions_live(a->sess, sid) == NULL) {
		rc = mr_json_err(out, 404, "no such active session: %s", sid);
		goto out;
	}
	if (splay_playing_on(sid, (unsigned int)rq.leg) != NULL) {
		rc = mr_json_err(out, 409, "leg: a message already plays into leg %d of session "
				 "%s", rq.leg, sid);
		goto out;
	}
	au = mr_messages_load(a->msgs, rq.message, &rc, err, sizeof(err));
	if (au == NULL) {
		rc = mr_json_err(out, rc, "%s", err);
		goto out;
	}
	po.codec = rq.codec;
	po.pt = rq.pt;
	po.ssrc = rq.ssrc;
	po.loops = 1;
	rc = mr_sessions_play(a, sid, (unsigned int)rq.leg, au, &po, NULL, NULL, err,
			      sizeof(err));
	if (rc != 201) {
		rc = mr_json_err(out, rc, "%s", err);
		goto out;
	}
	au = NULL;			/* the player's now */
	*out = splay_json(TAILQ_LAST(&splays, mr_splay_list));
out:
	mr_msg_audio_free(au);
	json_decref(o);
	return rc;
}

/* Send what is due of one playback. */
static void
splay_run(struct mr_appliance *a, struct mr_splay *p, uint64_t now, uint64_t hz)
{
	struct mr_dp_session *s = mr_sessions_live(a->sess, p->session);
	struct mr_cmd c;

	if (s == NULL) {
		splay_end(p, NULL, SPLAY_SESSION_ENDED);
		return;
	}
	memset(&c, 0, sizeof(c));
	c.type = MR_CMD_LEG_PLAY_PKT;
	c.s = s;
	c.leg = p->leg;
	mr_player_send_due(&p->pr, now, hz, a, s->owner, &c);
	if (!mr_player_done(&p->pr, now, hz))
		return;
	/* Again (ng's repeat-times and repeat-duration), else the end. */
	if (p->loops_left != 0 && (p->until_tsc == 0 || now < p->until_tsc) &&
	    p->pr.packets != 0) {
		if (p->loops_left != UINT32_MAX)
			p->loops_left--;
		p->loops++;
		mr_player_rewind(&p->pr, hz);
		return;
	}
	splay_end(p, s, SPLAY_ENDED);
}

void
mr_sessions_play_tick(struct mr_appliance *a, uint64_t now)
{
	struct mr_splay *p, *nx;
	uint64_t hz;

	if (splay_playing == 0)
		return;
	hz = a->dp->tsc_hz;
	for (p = TAILQ_FIRST(&splays); p != NULL; p = nx) {
		nx = TAILQ_NEXT(p, link);
		if (p->state == SPLAY_PLAYING)
			splay_run(a, p, now, hz);
	}
}

void
mr_sessions_play_free(void)
{
	struct mr_splay *p;

	while ((p = TAILQ_FIRST(&splays)) != NULL) {
		TAILQ_REMOVE(&splays, p, link);
		mr_player_fini(&p->pr);
		free(p);
	}
	splay_playing = splay_ended = 0;
}

/* /v1/sessions/{id}/playbacks[/{playback}]: rest is "/{id}/playbacks[/{playback}]". */
static int
mr_route_splay(struct mr_appliance *a, const struct mr_http_req *r, json_t **out)
{
	char sid[SPLAY_ID_LEN], buf[48];
	const char *q = r->rest, *sl, *pid = NULL;
	struct mr_dp_session *s;
	struct mr_splay *p;
	json_t *arr;
	size_t n;

	if (*q == '/')
		q++;
	sl = strchr(q, '/');
	n = sl != NULL ? (size_t)(sl - q) : strlen(q);
	if (sl == NULL || n != SPLAY_ID_LEN - 1 || strncmp(sl, "/playbacks", 10) != 0 ||
	    (sl[10] != '\0' && sl[10] != '/'))
		return mr_json_err(out, 404, "path: no such resource: /v1/sessions%s",
				   mr_json_echo(r->rest, buf, sizeof(buf)));
	memcpy(sid, q, n);
	sid[n] = '\0';
	if (strspn(sid, "0123456789abcdefABCDEF") != n)
		return mr_json_err(out, 404, "no such session: %s",
				   mr_json_echo(sid, buf, sizeof(buf)));
	if (sl[10] == '/')
		pid = sl + 11;
	if (a->msgs == NULL)
		return mr_json_err(out, 503, "messages: not configured (messages.directory)");
	s = mr_sessions_live(a->sess, sid);
	if (pid == NULL) {
		if (r->method == MR_HTTP_POST)
			return splay_start(a, sid, r->body, r->len, out);
		if (r->method != MR_HTTP_GET)
			return mr_json_err(out, 405, "method: %s not allowed on "
					   "/v1/sessions/{id}/playbacks (allowed: GET, POST)",
					   r->method_name);
		arr = json_array();
		TAILQ_FOREACH(p, &splays, link)
			if (strcmp(p->session, sid) == 0)
				json_array_append_new(arr, splay_json(p));
		if (s == NULL && json_array_size(arr) == 0) {
			json_decref(arr);
			return mr_json_err(out, 404, "no such active session: %s",
					   mr_json_echo(sid, buf, sizeof(buf)));
		}
		*out = json_pack("{s:o}", "playbacks", arr);
		return 200;
	}
	if (r->method != MR_HTTP_GET && r->method != MR_HTTP_DELETE)
		return mr_json_err(out, 405, "method: %s not allowed on "
				   "/v1/sessions/{id}/playbacks/{playback} (allowed: GET, DELETE)",
				   r->method_name);
	TAILQ_FOREACH(p, &splays, link) {
		char id[16];

		snprintf(id, sizeof(id), "%" PRIu32, p->id);
		if (strcmp(p->session, sid) == 0 && strcmp(id, pid) == 0)
			break;
	}
	if (p == NULL)
		return mr_json_err(out, 404, "playback: no such playback '%s' of session %s",
				   mr_json_echo(pid, buf, sizeof(buf)), sid);
	if (r->method == MR_HTTP_GET) {
		*out = splay_json(p);
		return 200;
	}
	/* DELETE stops one that plays, forgets an ended one. */
	if (p->state == SPLAY_PLAYING) {
		splay_end(p, s, SPLAY_STOPPED);
	} else {
		TAILQ_REMOVE(&splays, p, link);
		free(p);
		splay_ended--;
	}
	return 204;
}

static struct mr_http_route mr_splay_route = {
	.path = "/v1/sessions", .match = MR_ROUTE_SUBTREE,
	.name = "/v1/sessions/{id}/playbacks",
	.methods = MR_HTTP_GET | MR_HTTP_POST | MR_HTTP_DELETE, .handler = mr_route_splay,
};
MR_HTTP_ROUTE(mr_splay_route)
