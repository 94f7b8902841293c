/* SPDX-License-Identifier: BSD-3-Clause
 * WebSocket signaling for rooms: the JSON protocol of signaling.h over the connections of
 * ws.c, and the room events of controlplane/rooms/ pushed to the connections of each room.
 *
 * State: one struct sig_conn per WebSocket connection (its ws.c user pointer) and, for the
 * connections that joined, one list per room, found through a hash on the room id. Events
 * name a room and at most one participant to address or to leave out: the room's list is
 * walked, so an event costs one pass over the connected participants of its room (bounded
 * by rooms.max_participants), never over all connections.
 *
 * Requests go to the signaling API of the rooms (controlplane/rooms/ops.c), which answers like the REST API (status and
 * a JSON body or {"error": "field: reason"}); this file only turns those answers into
 * messages. The rooms call the event hook from within those functions: the hook only queues
 * messages and starts closes (ws.c allows both from a callback) and never calls back into
 * the rooms, as rooms.h requires. Removing a participant whose connection ended happens in
 * on_close, which ws.c delivers from its poll, outside any call into the rooms.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "appliance.h"
#include "json_req.h"
#include "recorder.h"
#include "rooms.h"
#include "sdp.h"
#include "signaling.h"
#include "state.h"
#include "webrtc.h"
#include "ws.h"

/* A request_id is echoed in the answer: bounded so that an answer stays small. */
#define SIG_REQ_ID_MAX 64
#define SIG_ERR_MAX 256
#define SIG_ECHO_MAX 40
#define SIG_HASH_MIN 64

/* One WebSocket connection. */
struct sig_conn {
	struct mr_ws_conn *c;
	struct sig_room *room;		/* NULL: not joined (or no longer) */
	struct sig_conn *prev;		/* in room->head's list */
	struct sig_conn *next;
	uint32_t part;			/* participant id, when room != NULL */
	uint8_t closing;		/* we closed it: ignore what it still sends */
	/* WebRTC (joined with an SDP offer): the session mrelay renegotiates when the room's
	 * streams change (sdp.h "Renegotiation"). */
	struct mr_sdp_sess *sess;	/* NULL: no SDP */
	uint8_t offer_out;		/* an offer of ours waits for the answer */
	uint8_t dirty;			/* on sg->dirty: the room's streams changed */
	struct sig_conn *dprev, *dnext;	/* sg->dirty list */
	struct sig_wait *wait;		/* a join whose token is looked for elsewhere */
};

/* A join with a token of no participant here, while the cluster is asked which appliance
 * has it (state.h mr_state_token_where): answered when Redis answers, if the connection is
 * still there (sc NULL: it went). */
struct sig_wait {
	struct mr_signal *sg;
	struct sig_conn *sc;
	json_t *rid;			/* the join's request_id */
};

/* The joined connections of one room. */
struct sig_room {
	struct sig_room *hnext;		/* hash chain */
	struct sig_conn *head;
	uint32_t id;
	uint32_t n;
};

struct mr_signal {
	struct mr_appliance *a;
	struct mr_rooms *rs;
	int open_join;
	struct sig_room **tab;		/* hash on the room id, tab_size a power of two */
	struct sig_conn *dirty;		/* WebRTC connections to renegotiate (mr_signal_tick) */
	uint32_t tab_size;
	uint32_t n_rooms;
	uint64_t joined;		/* connections attached to a participant now */
	uint64_t joins;
	uint64_t replaced;
	uint64_t requests;
	uint64_t errors;
	uint64_t events;
	uint64_t removed;
	uint64_t offers;		/* renegotiation offers sent */
	uint64_t answers;		/* and answered */
	uint64_t elsewhere;		/* joins sent to the appliance that has their token */
};

/* The outcome of a failed request: the error text and whether it counts against the
 * connection (the client's fault). */
struct sig_err {
	char msg[SIG_ERR_MAX];
	int count;
	int deferred;		/* no answer now: sc->wait answers it (a token elsewhere) */
};

static void __attribute__((format(printf, 3, 4)))
sig_fail(struct sig_err *e, int count, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	e->count = count;
}

/* ---- renegotiation: connections whose room's streams changed ---- */

static void
sig_dirty_add(struct mr_signal *sg, struct sig_conn *sc)
{
	if (sc->dirty || sc->sess == NULL)
		return;
	sc->dirty = 1;
	sc->dprev = NULL;
	sc->dnext = sg->dirty;
	if (sg->dirty != NULL)
		sg->dirty->dprev = sc;
	sg->dirty = sc;
}

static void
sig_dirty_del(struct mr_signal *sg, struct sig_conn *sc)
{
	if (!sc->dirty)
		return;
	if (sc->dprev != NULL)
		sc->dprev->dnext = sc->dnext;
	else
		sg->dirty = sc->dnext;
	if (sc->dnext != NULL)
		sc->dnext->dprev = sc->dprev;
	sc->dprev = sc->dnext = NULL;
	sc->dirty = 0;
}

/* ---- rooms and their connections ---- */

static inline uint32_t
sig_hash(const struct mr_signal *sg, uint32_t id)
{
	/* Fibonacci hashing: ids are sequential, the top bits of the product spread them. */
	return (uint32_t)(id * 2654435761u) & (sg->tab_size - 1);
}

static struct sig_room *
sig_room_find(const struct mr_signal *sg, uint32_t id)
{
	struct sig_room *r;

	for (r = sg->tab[sig_hash(sg, id)]; r != NULL; r = r->hnext)
		if (r->id == id)
			return r;
	return NULL;
}

/* Double the table when it holds more rooms than buckets; on failure the chains only get
 * longer. */
static void
sig_grow(struct mr_signal *sg)
{
	uint32_t old = sg->tab_size, i;
	struct sig_room **ot = sg->tab, **nt, *r, *next;

	if (old > UINT32_MAX / 4)
		return;
	nt = calloc((size_t)old * 2, sizeof(*nt));
	if (nt == NULL)
		return;
	sg->tab = nt;
	sg->tab_size = old * 2;
	for (i = 0; i < old; i++) {
		for (r = ot[i]; r != NULL; r = next) {
			uint32_t h = sig_hash(sg, r->id);

			next = r->hnext;
			r->hnext = nt[h];
			nt[h] = r;
		}
	}
	free(ot);
}

static void
sig_room_unlink(struct mr_signal *sg, struct sig_room *r)
{
	struct sig_room **pp = &sg->tab[sig_hash(sg, r->id)];

	while (*pp != r)
		pp = &(*pp)->hnext;
	*pp = r->hnext;
	sg->n_rooms--;
	free(r);
}

static int
sig_attach(struct mr_signal *sg, struct sig_conn *sc, uint32_t room, uint32_t part)
{
	struct sig_room *r = sig_room_find(sg, room);

	if (r == NULL) {
		uint32_t h;

		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return -ENOMEM;
		r->id = room;
		if (sg->n_rooms >= sg->tab_size)
			sig_grow(sg);
		h = sig_hash(sg, room);
		r->hnext = sg->tab[h];
		sg->tab[h] = r;
		sg->n_rooms++;
	}
	sc->room = r;
	sc->part = part;
	sc->prev = NULL;
	sc->next = r->head;
	if (r->head != NULL)
		r->head->prev = sc;
	r->head = sc;
	r->n++;
	sg->joined++;
	return 0;
}

static void
sig_detach(struct mr_signal *sg, struct sig_conn *sc)
{
	struct sig_room *r = sc->room;

	sig_dirty_del(sg, sc);
	free(sc->sess);
	sc->sess = NULL;
	sc->offer_out = 0;
	if (r == NULL)
		return;
	if (sc->prev != NULL)
		sc->prev->next = sc->next;
	else
		r->head = sc->next;
	if (sc->next != NULL)
		sc->next->prev = sc->prev;
	sc->prev = sc->next = NULL;
	sc->room = NULL;
	sg->joined--;
	if (--r->n == 0)
		sig_room_unlink(sg, r);
}

static struct sig_conn *
sig_find(const struct mr_signal *sg, uint32_t room, uint32_t part)
{
	struct sig_room *r = sig_room_find(sg, room);
	struct sig_conn *sc;

	for (sc = r != NULL ? r->head : NULL; sc != NULL; sc = sc->next)
		if (sc->part == part)
			return sc;
	return NULL;
}

/* ---- messages ---- */

/* Send o (a reference we own). A send that fails closes the connection in ws.c (too slow)
 * or happens on one that is closing: nothing to do here either way. */
static void
sig_send(struct sig_conn *sc, json_t *o)
{
	char *text;

	if (o == NULL)
		return;
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL)
		return;
	(void)mr_ws_send_text(sc->c, text, strlen(text));
	free(text);
}

/* Stamp a reply with its type and the request's id (rid may be NULL). */
static json_t *
sig_stamp(json_t *o, const char *type, json_t *rid)
{
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "type", json_string(type));
	if (rid != NULL)
		json_object_set(o, "request_id", rid);
	return o;
}

/* The rooms' answer to a request: the body on success (an empty object for 204), NULL and
 * e filled in otherwise. Conflicts and capacity are the state of the room or the relay,
 * not the client's fault: they do not count against the connection. */
static json_t *
sig_result(int status, json_t *out, struct sig_err *e)
{
	const char *msg;

	if (status >= 200 && status < 300) {
		if (out == NULL && status == 204)
			return json_object();
		if (out == NULL)
			sig_fail(e, 0, "internal: out of memory");
		return out;
	}
	msg = json_string_value(json_object_get(out, "error"));
	sig_fail(e, status != 409 && status < 500, "%s", msg != NULL ? msg : "internal");
	json_decref(out);
	return NULL;
}

/* Only "type", "request_id" and the keys in allowed (NULL-terminated) may appear. */
static int
sig_keys(json_t *o, const char *const *allowed, struct sig_err *e)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		const char *const *k;
		char buf[SIG_ECHO_MAX];

		if (strcmp(key, "type") == 0 || strcmp(key, "request_id") == 0)
			continue;
		for (k = allowed; *k != NULL; k++)
			if (strcmp(key, *k) == 0)
				break;
		if (*k == NULL) {
			sig_fail(e, 1, "%s: unknown field", mr_json_echo(key, buf, sizeof(buf)));
			return -EINVAL;
		}
	}
	return 0;
}

/* An id field ("stream", "room"): a string of decimal digits, as in the REST API. */
static int
sig_id(json_t *o, const char *field, uint32_t *id, struct sig_err *e)
{
	json_t *v = json_object_get(o, field);

	if (v == NULL) {
		sig_fail(e, 1, "%s: required", field);
		return -EINVAL;
	}
	if (!json_is_string(v) ||
	    mr_rooms_id_parse(json_string_value(v), json_string_length(v), id) < 0) {
		sig_fail(e, 1, "%s: must be an id (a string of decimal digits)", field);
		return -EINVAL;
	}
	return 0;
}

/* ---- requests ---- */

/* join {"token"} or, on an API without a token, {"room", "name", ...}: the rest of the
 * message is the body of POST /v1/rooms/{room}/participants, checked there. */
/* ---- WebRTC: join with an SDP offer (docs/API.md "WebRTC") ---- */

/* The offer of a join, parsed (NULL when the join has none). */
static struct mr_sdp *
sig_sdp_parse(json_t *o, struct sig_err *e, int *bad)
{
	json_t *v = json_object_get(o, "sdp");
	struct mr_sdp *sdp;
	char err[200];

	*bad = 0;
	if (v == NULL)
		return NULL;
	*bad = 1;
	if (!json_is_string(v)) {
		sig_fail(e, 1, "sdp: must be a string (the SDP offer)");
		return NULL;
	}
	sdp = malloc(sizeof(*sdp));
	if (sdp == NULL) {
		sig_fail(e, 0, "internal: out of memory");
		return NULL;
	}
	if (mr_sdp_parse(json_string_value(v), json_string_length(v), sdp, err,
			 sizeof(err)) < 0) {
		sig_fail(e, 1, "sdp: %s", err);
		free(sdp);
		return NULL;
	}
	*bad = 0;
	return sdp;
}

/* The streams of the other participants in a room view (GET /v1/rooms/{room}, or a joined
 * reply's "room"): what part is to receive. Returns the count (at most max). */
static unsigned int
sig_want(json_t *room, uint32_t part, uint32_t relay_ssrc, struct mr_sdp_out *w,
	 unsigned int max)
{
	json_t *ps = json_object_get(room, "participants"), *p, *st;
	const char *mode = json_string_value(json_object_get(room, "mode"));
	unsigned int n = 0;
	size_t i, j;
	uint32_t pid, sid;

	if (mode != NULL && strcmp(mode, "mix") == 0 && max > 0) {
		/* A mixing room sends each participant one stream: the mix of the others, under
		 * its relay SSRC (media_dp.h mr_mix_part_create), on its own audio m-line. */
		memset(&w[0], 0, sizeof(w[0]));
		w[0].ssrc = relay_ssrc;
		w[0].part = part;
		w[0].kind = MR_SDP_AUDIO;
		snprintf(w[0].codec, sizeof(w[0].codec), "opus");
		return 1;
	}

	json_array_foreach(ps, i, p) {
		json_t *id = json_object_get(p, "id");

		if (!json_is_string(id) || mr_rooms_id_parse(json_string_value(id),
				json_string_length(id), &pid) < 0 || pid == part)
			continue;
		json_array_foreach(json_object_get(p, "streams"), j, st) {
			const char *kind = json_string_value(json_object_get(st, "kind"));
			const char *codec = json_string_value(json_object_get(st, "codec"));
			json_t *sj = json_object_get(st, "id");
			json_int_t ssrc = json_integer_value(json_object_get(st, "ssrc"));
			int k = kind == NULL ? -1 : strcmp(kind, "audio") == 0 ? MR_SDP_AUDIO :
				strcmp(kind, "video") == 0 ? MR_SDP_VIDEO : -1;

			if (k < 0 || ssrc <= 0 || ssrc > UINT32_MAX || n == max ||
			    !json_is_string(sj) || mr_rooms_id_parse(json_string_value(sj),
					json_string_length(sj), &sid) < 0)
				continue;
			memset(&w[n], 0, sizeof(w[n]));
			w[n].ssrc = (uint32_t)ssrc;
			w[n].part = pid;
			w[n].stream = sid;
			w[n].kind = (uint8_t)k;
			if (codec != NULL)
				snprintf(w[n].codec, sizeof(w[n].codec), "%s", codec);
			n++;
		}
	}
	return n;
}

/* What mrelay's descriptions of a participant say about mrelay. */
static void
sig_local(struct mr_signal *sg, const struct mr_dp_part *dp, struct mr_sdp_local *l)
{
	struct mr_webrtc *wr = sg->a->webrtc;

	memset(l, 0, sizeof(*l));
	l->ufrag = mr_webrtc_ufrag(wr, dp);
	l->pwd = mr_webrtc_pwd(wr, dp);
	l->fingerprint = mr_webrtc_fingerprint(wr);
	l->n_cand = 1;
	l->cand[0] = dp->local;
}

#define SIG_WANT_MAX (2 * MR_SDP_MAX_SEC)
#define SIG_SDP_MAX 65536

/* After the join: start DTLS with the offer's fingerprint, publish the offer's SSRCs, put the
 * answer in the reply. 0, or -1 (e filled). */
static int
sig_sdp_answer(struct mr_signal *sg, struct sig_conn *sc, const struct mr_sdp *sdp,
	       json_t *reply, struct sig_err *e)
{
	uint32_t room = sc->room->id, part = sc->part;
	struct mr_dp_part *dp = mr_rooms_part_dp(sg->rs, room, part);
	struct mr_webrtc *wr = sg->a->webrtc;
	struct mr_sdp_out want[SIG_WANT_MAX];
	struct mr_learn_req learn[MR_LEARN_MAX];
	struct mr_sdp_local l;
	json_t *pubs = json_array();
	unsigned int i, k, n, n_learn = 0;
	uint8_t mid_id = 0;
	char *ans;
	int len;

	if (dp == NULL || mr_webrtc_ufrag(wr, dp) == NULL) {
		json_decref(pubs);
		sig_fail(e, 1, "sdp: participant %" PRIu32 " was not created for WebRTC "
			 "(\"webrtc\": true)", part);
		return -1;
	}
	if (mr_webrtc_set_remote(wr, dp, sdp->fingerprint) < 0) {
		json_decref(pubs);
		sig_fail(e, 1, "sdp: a=fingerprint: unsupported hash or malformed");
		return -1;
	}
	sig_local(sg, dp, &l);
	free(sc->sess);
	sc->sess = malloc(sizeof(*sc->sess));
	ans = malloc(SIG_SDP_MAX);
	if (sc->sess == NULL || ans == NULL) {
		free(ans);
		json_decref(pubs);
		sig_fail(e, 0, "internal: out of memory");
		return -1;
	}
	/* The answer puts the others' streams on the participant's own sections; the rest
	 * comes in mrelay's first offer (mr_signal_tick), since an answer adds no section. */
	mr_sdp_sess_init(sc->sess, sdp, ((uint64_t)room << 32) | part);
	n = sig_want(json_object_get(reply, "room"), part, dp->relay_ssrc, want, SIG_WANT_MAX);
	mr_sdp_sess_sync(sc->sess, want, n, 0);
	len = mr_sdp_render(sc->sess, &l, 0, ans, SIG_SDP_MAX);
	if (len < 0) {
		free(ans);
		json_decref(pubs);
		sig_fail(e, 0, "internal: SDP answer too large");
		return -1;
	}
	/* Copies of every stream carry the payload type of the participant's SDP. */
	for (k = MR_SDP_AUDIO; k <= MR_SDP_VIDEO; k++)
		mr_rooms_set_rx_pt(sg->rs, room, part, (uint8_t)k, mr_sdp_sess_pt(sc->sess,
								(uint8_t)k));
	/* And the header extension ids of its SDP (room_dp.h ext_out). */
	mr_rooms_set_ext(sg->rs, room, part, mr_sdp_ext_map(sdp));
	/* Publishing comes from the offer's tracks (a=ssrc; RTX SSRCs are not answered). A
	 * sending section without a=ssrc is published when its first packet tells the SSRC
	 * (its mid, RFC 8843 §9.2, else its payload type): mr_rooms_learn. */
	for (i = 0; i < sdp->n_media; i++) {
		const struct mr_sdp_media *m = &sdp->m[i];
		const struct mr_sdp_codec *c = m->port0 ? NULL : mr_sdp_pick(m);
		uint32_t ssrc[MR_SDP_MAX_SSRC];
		struct mr_stream_req req;

		if (c == NULL || m->dir == MR_SDP_RECVONLY || m->dir == MR_SDP_INACTIVE)
			continue;
		memset(&req, 0, sizeof(req));
		req.kind = m->kind == MR_SDP_AUDIO ? MR_KIND_AUDIO : MR_KIND_VIDEO;
		req.pt = c->pt;
		req.clock_rate = c->clock;
		snprintf(req.codec, sizeof(req.codec), "%.31s", c->name);
		n = mr_sdp_ssrcs(m, ssrc, MR_SDP_MAX_SSRC);
		if (n == 0 && n_learn < MR_LEARN_MAX) {
			snprintf(learn[n_learn].mid, sizeof(learn[0].mid), "%s", m->mid);
			learn[n_learn++].req = req;
			if (mid_id == 0)
				mid_id = mr_sdp_ext_id(m, MR_SDP_EXT_MID);
		}
		for (k = 0; k < n; k++) {
			json_t *out = NULL;

			req.ssrc = ssrc[k];
			if (mr_rooms_publish(sg->rs, room, part, &req, &out) == 201)
				json_array_append(pubs, json_object_get(out, "id"));
			json_decref(out);
		}
	}
	mr_rooms_learn(sg->rs, room, part, learn, n_learn, mid_id);
	json_object_set_new(reply, "sdp", json_stringn(ans, (size_t)len));
	json_object_set_new(reply, "published", pubs);
	free(ans);
	sig_dirty_add(sg, sc);
	return 0;
}

static json_t *
req_join_sdp(struct mr_signal *sg, struct sig_conn *sc, json_t *o, const struct mr_sdp *sdp,
	     const char *const *tok_keys, struct sig_err *e);

/* The cluster answered where the token of a join belongs: the join is answered with an
 * error that names that appliance's WebSocket URL ("location"), or as an unknown token. */
static void
sig_token_found(void *ctx, const char *ws_url, const char *node)
{
	struct sig_wait *w = ctx;
	struct sig_conn *sc = w->sc;
	char msg[SIG_ERR_MAX];
	json_t *ans;

	if (sc != NULL) {
		sc->wait = NULL;
		w->sg->errors++;
		if (ws_url != NULL) {
			snprintf(msg, sizeof(msg), "token: the participant is on appliance %s: "
				 "join there (location)", node);
			ans = json_pack("{s:s,s:O,s:s,s:s}", "type", "error", "request_id", w->rid,
					"error", msg, "location", ws_url);
			w->sg->elsewhere++;
		} else {
			ans = json_pack("{s:s,s:O,s:s}", "type", "error", "request_id", w->rid,
					"error", "token: no participant has this token");
		}
		sig_send(sc, ans);
		/* An unknown token counts against the connection, as when it is answered at
		 * once; past the limit ws.c closes it. */
		if (ws_url == NULL && mr_ws_error_count(sc->c) < 0)
			sc->closing = 1;
	}
	json_decref(w->rid);
	free(w);
}

/* 0: the cluster is asked where token belongs (sc->wait set); -1: it cannot be. */
static int
sig_token_elsewhere(struct mr_signal *sg, struct sig_conn *sc, const char *token)
{
	struct sig_wait *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -1;
	w->sg = sg;
	w->sc = sc;
	w->rid = json_null();
	if (mr_state_token_where(sg->a->state, token, sig_token_found, w) < 0) {
		free(w);
		return -1;
	}
	sc->wait = w;
	return 0;
}

static json_t *
req_join(struct mr_signal *sg, struct sig_conn *sc, json_t *o, struct sig_err *e)
{
	static const char *const tok_keys[] = { "token", "sdp", NULL };
	struct mr_sdp *sdp;
	json_t *r;
	int bad;

	sdp = sig_sdp_parse(o, e, &bad);
	if (bad)
		return NULL;
	r = req_join_sdp(sg, sc, o, sdp, tok_keys, e);
	free(sdp);
	return r;
}

static json_t *
req_join_sdp(struct mr_signal *sg, struct sig_conn *sc, json_t *o, const struct mr_sdp *sdp,
	     const char *const *tok_keys, struct sig_err *e)
{
	struct sig_conn *old;
	uint32_t room, part;
	json_t *out = NULL;
	int created = 0, st;

	if (sc->room != NULL) {
		sig_fail(e, 1, "type: already joined as participant %" PRIu32 " of room %" PRIu32,
			 sc->part, sc->room->id);
		return NULL;
	}
	if (sc->wait != NULL) {
		sig_fail(e, 1, "type: a join is under way");
		return NULL;
	}
	if (json_object_get(o, "token") != NULL) {
		json_t *t = json_object_get(o, "token");

		if (sig_keys(o, tok_keys, e) < 0)
			return NULL;
		if (!json_is_string(t)) {
			sig_fail(e, 1, "token: must be a string");
			return NULL;
		}
		if (mr_rooms_find_token(sg->rs, json_string_value(t), &room, &part) < 0) {
			if (sig_token_elsewhere(sg, sc, json_string_value(t)) == 0) {
				e->deferred = 1;
				return NULL;
			}
			sig_fail(e, 1, "token: no participant has this token");
			return NULL;
		}
	} else if (json_object_get(o, "room") != NULL) {
		char path[32], *body;
		json_t *req, *id;

		if (!sg->open_join) {
			sig_fail(e, 1, "token: required (joining by room and name is only for an "
				 "API without a token)");
			return NULL;
		}
		if (sig_id(o, "room", &room, e) < 0)
			return NULL;
		req = json_copy(o);
		if (req == NULL) {
			sig_fail(e, 0, "internal: out of memory");
			return NULL;
		}
		json_object_del(req, "type");
		json_object_del(req, "request_id");
		json_object_del(req, "room");
		if (sdp != NULL) {
			uint8_t lid = sdp->m[0].kind == MR_SDP_AUDIO ?
				mr_sdp_ext_id(&sdp->m[0], MR_SDP_EXT_LEVEL) : 0;

			json_object_del(req, "sdp");
			json_object_set_new(req, "webrtc", json_true());
			if (lid >= 1 && lid <= 14 && !json_object_get(req, "audio_level_ext_id"))
				json_object_set_new(req, "audio_level_ext_id", json_integer(lid));
		}
		body = json_dumps(req, JSON_COMPACT);
		json_decref(req);
		if (body == NULL) {
			sig_fail(e, 0, "internal: out of memory");
			return NULL;
		}
		snprintf(path, sizeof(path), "/%" PRIu32 "/participants", room);
		st = mr_http_rooms(sg->a, "POST", path, body, strlen(body), &out);
		free(body);
		if (st != 201)
			return sig_result(st >= 200 && st < 300 ? 500 : st, out, e);
		id = json_object_get(out, "id");
		if (!json_is_string(id) ||
		    mr_rooms_id_parse(json_string_value(id), json_string_length(id), &part) < 0) {
			json_decref(out);
			sig_fail(e, 0, "internal: participant without an id");
			return NULL;
		}
		json_decref(out);
		out = NULL;
		created = 1;
	} else {
		sig_fail(e, 1, "token: required");
		return NULL;
	}

	st = mr_rooms_join(sg->rs, room, part, &out);
	if (st != 200) {
		if (created)
			mr_rooms_leave(sg->rs, room, part, MR_LEAVE_LEFT);
		return sig_result(st >= 200 && st < 300 ? 500 : st, out, e);
	}
	if (out == NULL) {
		sig_fail(e, 0, "internal: out of memory");
		return NULL;
	}
	/* One connection per participant: the newer one wins (a client that reconnects after
	 * a network change must not wait for its old connection's timeout). The old one goes
	 * without removing the participant. */
	old = sig_find(sg, room, part);
	if (old != NULL) {
		sig_detach(sg, old);
		old->closing = 1;
		mr_ws_close(old->c, MR_SIGNAL_CLOSE_REPLACED, "replaced");
		sg->replaced++;
	}
	if (sig_attach(sg, sc, room, part) < 0) {
		/* Joined in the model but no way to reach it: take it out again. */
		json_decref(out);
		mr_rooms_leave(sg->rs, room, part, MR_LEAVE_TIMEOUT);
		sig_fail(e, 0, "internal: out of memory");
		return NULL;
	}
	if (sdp != NULL && sig_sdp_answer(sg, sc, sdp, out, e) < 0) {
		json_decref(out);
		sig_detach(sg, sc);
		if (created)
			mr_rooms_leave(sg->rs, room, part, MR_LEAVE_LEFT);
		else
			mr_rooms_disconnect(sg->rs, room, part);
		return NULL;
	}
	sg->joins++;
	mr_ws_admit(sc->c);
	return out;
}

static json_t *
req_publish(struct mr_signal *sg, struct sig_conn *sc, json_t *o, struct sig_err *e)
{
	static const char *const extra[] = { "type", "request_id", NULL };
	struct mr_stream_req req;
	json_t *out = NULL;
	int st;

	if (mr_parse_stream_json(o, extra, &req, e->msg, sizeof(e->msg)) < 0) {
		e->count = 1;
		return NULL;
	}
	st = mr_rooms_publish(sg->rs, sc->room->id, sc->part, &req, &out);
	out = sig_result(st, out, e);
	return out != NULL ? json_pack("{s:o}", "stream", out) : NULL;
}

static json_t *
req_unpublish(struct mr_signal *sg, struct sig_conn *sc, json_t *o, struct sig_err *e)
{
	static const char *const keys[] = { "stream", NULL };
	json_t *out = NULL;
	uint32_t sid;
	int st;

	if (sig_keys(o, keys, e) < 0 || sig_id(o, "stream", &sid, e) < 0)
		return NULL;
	st = mr_rooms_unpublish(sg->rs, sc->room->id, sc->part, sid, &out);
	out = sig_result(st, out, e);
	if (out != NULL)
		json_object_set(out, "stream", json_object_get(o, "stream"));
	return out;
}

static json_t *
req_mute(struct mr_signal *sg, struct sig_conn *sc, json_t *o, int muted, struct sig_err *e)
{
	static const char *const keys[] = { "stream", "kind", NULL };
	json_t *k = json_object_get(o, "kind"), *out = NULL;
	uint32_t sid = 0;
	uint8_t kind = 0;
	int st;

	if (sig_keys(o, keys, e) < 0)
		return NULL;
	if ((k != NULL) == (json_object_get(o, "stream") != NULL)) {
		sig_fail(e, 1, "stream: give either 'stream' or 'kind'");
		return NULL;
	}
	if (k != NULL) {
		const char *s = json_string_value(k);

		if (s != NULL && strcmp(s, "audio") == 0) {
			kind = MR_KIND_AUDIO;
		} else if (s != NULL && strcmp(s, "video") == 0) {
			kind = MR_KIND_VIDEO;
		} else {
			sig_fail(e, 1, "kind: must be 'audio' or 'video'");
			return NULL;
		}
	} else if (sig_id(o, "stream", &sid, e) < 0) {
		return NULL;
	}
	st = mr_rooms_mute(sg->rs, sc->room->id, sc->part, sid, kind, muted, &out);
	out = sig_result(st, out, e);
	return out != NULL ? json_pack("{s:o}", "participant", out) : NULL;
}

static json_t *
req_subscribe(struct mr_signal *sg, struct sig_conn *sc, json_t *o, int on, struct sig_err *e)
{
	static const char *const keys[] = { "stream", NULL };
	json_t *out = NULL;
	uint32_t sid;
	int st;

	if (sig_keys(o, keys, e) < 0 || sig_id(o, "stream", &sid, e) < 0)
		return NULL;
	st = mr_rooms_subscribe(sg->rs, sc->room->id, sc->part, sid, on, &out);
	return sig_result(st, out, e);
}

static json_t *
req_stats(struct mr_signal *sg, struct sig_conn *sc, json_t *o, struct sig_err *e)
{
	static const char *const keys[] = { NULL };
	json_t *out = NULL;
	int st;

	if (sig_keys(o, keys, e) < 0)
		return NULL;
	st = mr_rooms_part_stats(sg->rs, sc->room->id, sc->part, &out);
	out = sig_result(st, out, e);
	return out != NULL ? json_pack("{s:o}", "participant", out) : NULL;
}

/* answer {"sdp"}: the participant's answer to mrelay's last offer (a renegotiation). */
static json_t *
req_answer(struct mr_signal *sg, struct sig_conn *sc, json_t *o, struct sig_err *e)
{
	static const char *const keys[] = { "sdp", NULL };
	struct mr_sdp_sess *ss = sc->sess;
	struct mr_sdp *a;
	unsigned int i;
	int bad;

	if (sig_keys(o, keys, e) < 0)
		return NULL;
	if (ss == NULL || !sc->offer_out) {
		sig_fail(e, 1, "type: no offer of mrelay's waits for an answer");
		return NULL;
	}
	if (json_object_get(o, "sdp") == NULL) {
		sig_fail(e, 1, "sdp: required");
		return NULL;
	}
	a = sig_sdp_parse(o, e, &bad);
	if (a == NULL)
		return NULL;
	if (a->n_media != ss->n) {
		sig_fail(e, 1, "sdp: %u m-lines, mrelay's offer has %u", a->n_media, ss->n);
		free(a);
		return NULL;
	}
	for (i = 0; i < ss->n; i++) {
		if (strcmp(a->m[i].mid, ss->sec[i].mid) != 0) {
			sig_fail(e, 1, "sdp: m-line %u: a=mid:%.20s, mrelay's offer has %s", i + 1,
				 a->m[i].mid, ss->sec[i].mid);
			free(a);
			return NULL;
		}
	}
	/* A section the participant refused (port 0, RFC 8829 §5.3.1) stays off; its stream
	 * stays assigned to it, so it is not offered again. */
	for (i = 0; i < ss->n; i++)
		if (a->m[i].port0 && ss->sec[i].added)
			ss->sec[i].off = 1;
	free(a);
	sc->offer_out = 0;
	sg->answers++;
	return json_object();
}

/* mrelay's offer to a WebRTC participant whose room's streams changed: the streams of the
 * others now, placed by mr_sdp_sess_sync. Nothing is sent when nothing changed. */
static void
sig_offer(struct mr_signal *sg, struct sig_conn *sc)
{
	struct mr_sdp_out want[SIG_WANT_MAX];
	struct mr_dp_part *dp;
	struct mr_sdp_local l;
	json_t *room = NULL;
	char path[32], *text;
	unsigned int n;
	int len;

	if (sc->room == NULL || sc->sess == NULL)
		return;
	dp = mr_rooms_part_dp(sg->rs, sc->room->id, sc->part);
	if (dp == NULL || mr_webrtc_ufrag(sg->a->webrtc, dp) == NULL)
		return;
	snprintf(path, sizeof(path), "/%" PRIu32, sc->room->id);
	if (mr_http_rooms(sg->a, "GET", path, NULL, 0, &room) != 200) {
		json_decref(room);
		return;
	}
	n = sig_want(room, sc->part, dp->relay_ssrc, want, SIG_WANT_MAX);
	json_decref(room);
	if (mr_sdp_sess_sync(sc->sess, want, n, 1) == 0)
		return;
	text = malloc(SIG_SDP_MAX);
	if (text == NULL)
		return;
	sig_local(sg, dp, &l);
	len = mr_sdp_render(sc->sess, &l, 1, text, SIG_SDP_MAX);
	if (len > 0) {
		sig_send(sc, json_pack("{s:s,s:s%}", "type", "offer", "sdp", text, (size_t)len));
		sc->offer_out = 1;
		sg->offers++;
	}
	free(text);
}

void
mr_signal_tick(struct mr_signal *sg)
{
	struct sig_conn *sc, *next;

	if (sg == NULL)
		return;
	for (sc = sg->dirty; sc != NULL; sc = next) {
		next = sc->dnext;
		/* One offer at a time (RFC 8829 §4.1.8.1: no new offer while one is out):
		 * the next after the answer. */
		if (sc->offer_out)
			continue;
		sig_dirty_del(sg, sc);
		sig_offer(sg, sc);
	}
}

/* leave: the participant goes ("left" to the others, not to itself), the answer is queued
 * and the close handshake started behind it. */
static json_t *
req_leave(struct mr_signal *sg, struct sig_conn *sc, json_t *o, struct sig_err *e)
{
	static const char *const keys[] = { NULL };

	if (sig_keys(o, keys, e) < 0)
		return NULL;
	if (sc->room != NULL) {
		uint32_t room = sc->room->id, part = sc->part;

		sig_detach(sg, sc);
		mr_rooms_leave(sg->rs, room, part, MR_LEAVE_LEFT);
	}
	return json_object();
}

/* {"action": "start" | "stop"}: a voice message of the participant's own audio. */
static json_t *
req_record_message(struct mr_signal *sg, struct sig_conn *sc, json_t *o, struct sig_err *e)
{
	static const char *const keys[] = { "action", NULL };
	const char *act = json_string_value(json_object_get(o, "action"));
	char err[256], id[8];
	uint16_t rid = 0;
	int st, start;

	if (sig_keys(o, keys, e) < 0)
		return NULL;
	if (act == NULL || (strcmp(act, "start") != 0 && strcmp(act, "stop") != 0)) {
		sig_fail(e, 1, "action: required, 'start' or 'stop'");
		return NULL;
	}
	start = act[2] == 'a';
	st = mr_recorder_part_message(sg->a->rec, sc->room->id, sc->part, start, &rid, err,
				      sizeof(err));
	if (st != 200 && st != 201) {
		sig_fail(e, st != 409 && st < 500, "%s", err);
		return NULL;
	}
	snprintf(id, sizeof(id), "%u", rid);
	return json_pack("{s:s,s:s}", "recording", id, "state", start ? "active" : "stopping");
}

enum sig_type {
	T_JOIN, T_PUBLISH, T_UNPUBLISH, T_MUTE, T_UNMUTE, T_SUBSCRIBE, T_UNSUBSCRIBE,
	T_STATS, T_PING, T_LEAVE, T_ANSWER, T_RECORD_MESSAGE,
};

static const struct {
	const char *name;
	const char *reply;
	int needs_join;
} sig_types[] = {
	[T_JOIN] = { "join", "joined", 0 },
	[T_PUBLISH] = { "publish", "published", 1 },
	[T_UNPUBLISH] = { "unpublish", "unpublished", 1 },
	[T_MUTE] = { "mute", "mute_done", 1 },
	[T_UNMUTE] = { "unmute", "unmute_done", 1 },
	[T_SUBSCRIBE] = { "subscribe", "subscribed", 1 },
	[T_UNSUBSCRIBE] = { "unsubscribe", "unsubscribed", 1 },
	[T_STATS] = { "stats", "stats", 1 },
	[T_PING] = { "ping", "pong", 0 },
	[T_LEAVE] = { "leave", "left", 0 },
	[T_ANSWER] = { "answer", "answered", 1 },
	[T_RECORD_MESSAGE] = { "record_message", "record_message_done", 1 },
};

/* Parse and run one request: the answer, or NULL with e filled in. *rid is set to the
 * request's id when it is valid (borrowed from o). */
static json_t *
sig_request(struct mr_signal *sg, struct sig_conn *sc, json_t *o, json_t **rid,
	    enum sig_type *tp, struct sig_err *e)
{
	static const char *const none[] = { NULL };
	json_t *v, *t;
	const char *name;
	char buf[SIG_ECHO_MAX];
	unsigned int i;

	if (!json_is_object(o)) {
		sig_fail(e, 1, "message: must be a JSON object");
		return NULL;
	}
	v = json_object_get(o, "request_id");
	if (v != NULL) {
		if (!(json_is_integer(v) ||
		      (json_is_string(v) && json_string_length(v) <= SIG_REQ_ID_MAX))) {
			sig_fail(e, 1, "request_id: must be an integer or a string of at most %d "
				 "bytes", SIG_REQ_ID_MAX);
			return NULL;
		}
		*rid = v;
	}
	t = json_object_get(o, "type");
	if (t == NULL) {
		sig_fail(e, 1, "type: required");
		return NULL;
	}
	name = json_string_value(t);
	if (name == NULL) {
		sig_fail(e, 1, "type: must be a string");
		return NULL;
	}
	for (i = 0; i < sizeof(sig_types) / sizeof(sig_types[0]); i++)
		if (strcmp(name, sig_types[i].name) == 0)
			break;
	if (i == sizeof(sig_types) / sizeof(sig_types[0])) {
		sig_fail(e, 1, "type: unknown request '%s'", mr_json_echo(name, buf, sizeof(buf)));
		return NULL;
	}
	*tp = (enum sig_type)i;
	if (sig_types[i].needs_join && sc->room == NULL) {
		sig_fail(e, 1, "type: '%s' needs a join first", name);
		return NULL;
	}
	switch (*tp) {
	case T_JOIN:
		return req_join(sg, sc, o, e);
	case T_PUBLISH:
		return req_publish(sg, sc, o, e);
	case T_UNPUBLISH:
		return req_unpublish(sg, sc, o, e);
	case T_MUTE:
	case T_UNMUTE:
		return req_mute(sg, sc, o, *tp == T_MUTE, e);
	case T_SUBSCRIBE:
	case T_UNSUBSCRIBE:
		return req_subscribe(sg, sc, o, *tp == T_SUBSCRIBE, e);
	case T_STATS:
		return req_stats(sg, sc, o, e);
	case T_PING:
		return sig_keys(o, none, e) < 0 ? NULL : json_object();
	case T_LEAVE:
		return req_leave(sg, sc, o, e);
	case T_ANSWER:
		return req_answer(sg, sc, o, e);
	case T_RECORD_MESSAGE:
		return req_record_message(sg, sc, o, e);
	}
	sig_fail(e, 0, "internal");
	return NULL;
}

/* ---- ws.c callbacks ---- */

static void
sig_on_open(struct mr_ws_conn *c, void *arg)
{
	struct sig_conn *sc = calloc(1, sizeof(*sc));

	(void)arg;
	if (sc == NULL) {
		mr_ws_close(c, MR_WS_CLOSE_INTERNAL, "out of memory");
		return;
	}
	sc->c = c;
	mr_ws_set_user(c, sc);
}

static void
sig_on_message(struct mr_ws_conn *c, const char *text, size_t len, void *arg)
{
	struct mr_signal *sg = arg;
	struct sig_conn *sc = mr_ws_get_user(c);
	enum sig_type type = T_PING;
	struct sig_err e = { .msg = "", .count = 0 };
	json_t *o, *rid = NULL, *reply;
	json_error_t jerr;

	if (sc == NULL || sc->closing)
		return;
	sg->requests++;
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL) {
		sig_fail(&e, 1, "message: not JSON (%s at byte %d)", jerr.text, jerr.position);
		reply = NULL;
	} else {
		reply = sig_request(sg, sc, o, &rid, &type, &e);
	}
	if (reply == NULL && e.deferred) {
		/* Answered later (sig_token_found), with this request_id. */
		if (sc->wait != NULL && rid != NULL) {
			json_decref(sc->wait->rid);
			sc->wait->rid = json_incref(rid);
		}
	} else if (reply != NULL) {
		sig_send(sc, sig_stamp(reply, sig_types[type].reply, rid));
		if (type == T_LEAVE) {
			sc->closing = 1;
			mr_ws_close(c, MR_WS_CLOSE_NORMAL, "left");
		}
	} else {
		sg->errors++;
		sig_send(sc, json_pack("{s:s,s:O,s:s}", "type", "error", "request_id",
				       rid != NULL ? rid : json_null(), "error", e.msg));
		/* Past the limit ws.c closes the connection (1008); on_close removes the
		 * participant. */
		if (e.count && mr_ws_error_count(c) < 0)
			sc->closing = 1;
	}
	json_decref(o);
}

/* Why a participant goes when its connection ends without a leave (signaling.h). */
static enum mr_leave_reason
sig_leave_reason(const char *why)
{
	if (strcmp(why, "closed") == 0 || strcmp(why, "eof") == 0)
		return MR_LEAVE_LEFT;
	if (strcmp(why, "protocol") == 0 || strcmp(why, "errors") == 0)
		return MR_LEAVE_KICKED;
	/* "timeout", "slow", "io": the client stopped being reachable. */
	return MR_LEAVE_TIMEOUT;
}

static void
sig_on_close(struct mr_ws_conn *c, const char *why, void *arg)
{
	struct mr_signal *sg = arg;
	struct sig_conn *sc = mr_ws_get_user(c);

	if (sc == NULL)
		return;
	if (sc->wait != NULL)
		sc->wait->sc = NULL;	/* the lookup's answer finds nobody */
	if (sc->room != NULL) {
		uint32_t room = sc->room->id, part = sc->part;

		sig_detach(sg, sc);
		if (strcmp(why, "shutdown") == 0) {
			/* The daemon stops: the rooms go with it, nobody is told. */
			mr_rooms_disconnect(sg->rs, room, part);
		} else {
			mr_rooms_leave(sg->rs, room, part, sig_leave_reason(why));
			sg->removed++;
		}
	}
	mr_ws_set_user(c, NULL);
	free(sc);
}

static const struct mr_ws_handler sig_handler = {
	.on_open = sig_on_open,
	.on_message = sig_on_message,
	.on_close = sig_on_close,
};

const struct mr_ws_handler *
mr_signal_handler(void)
{
	return &sig_handler;
}

/* ---- room events ---- */

/* The rooms' event hook: the event, serialised once, to the room's connections it is for.
 * A participant the server removed (kicked, room deleted, timed out) gets its own
 * participant_left and then its connection is closed. */
static void
sig_event(void *arg, uint32_t room_id, uint32_t only, uint32_t except, json_t *ev)
{
	struct mr_signal *sg = arg;
	struct sig_room *r = sig_room_find(sg, room_id);
	struct sig_conn *sc, *next;
	const char *type, *reason = NULL;
	uint32_t gone = 0;
	size_t len;
	char *text;

	if (r == NULL)
		return;
	type = json_string_value(json_object_get(ev, "type"));
	/* An event with "node" is about a participant of another appliance (a cluster room,
	 * controlplane/rooms/span.c): its ids are that node's, never one of these. */
	if (type != NULL && strcmp(type, "participant_left") == 0 &&
	    json_object_get(ev, "node") == NULL) {
		json_t *p = json_object_get(ev, "participant");

		if (!json_is_string(p) ||
		    mr_rooms_id_parse(json_string_value(p), json_string_length(p), &gone) < 0)
			gone = 0;
		reason = json_string_value(json_object_get(ev, "reason"));
	}
	/* What the WebRTC participants receive changes with the streams: renegotiate them
	 * from mr_signal_tick (this hook may not call back into the rooms). */
	if (type != NULL && (strcmp(type, "stream_published") == 0 ||
			     strcmp(type, "stream_unpublished") == 0 ||
			     strcmp(type, "participant_left") == 0))
		for (sc = r->head; sc != NULL; sc = sc->next)
			if (sc->part != gone)
				sig_dirty_add(sg, sc);
	text = json_dumps(ev, JSON_COMPACT);
	if (text == NULL)
		return;
	len = strlen(text);
	for (sc = r->head; sc != NULL; sc = next) {
		next = sc->next;
		if ((only != 0 && sc->part != only) || (except != 0 && sc->part == except))
			continue;
		(void)mr_ws_send_text(sc->c, text, len);
		sg->events++;
		if (gone != 0 && sc->part == gone) {
			/* May free r when sc was its last connection: next is NULL then. */
			sig_detach(sg, sc);
			sc->closing = 1;
			mr_ws_close(sc->c, MR_WS_CLOSE_NORMAL, reason != NULL ? reason : "removed");
		}
	}
	free(text);
}

/* ---- the module ---- */

struct mr_signal *
mr_signal_create(struct mr_appliance *a, int open_join)
{
	struct mr_signal *sg;

	if (a == NULL || a->rooms == NULL) {
		errno = EINVAL;
		return NULL;
	}
	sg = calloc(1, sizeof(*sg));
	if (sg == NULL)
		return NULL;
	sg->tab_size = SIG_HASH_MIN;
	sg->tab = calloc(sg->tab_size, sizeof(*sg->tab));
	if (sg->tab == NULL) {
		free(sg);
		errno = ENOMEM;
		return NULL;
	}
	sg->a = a;
	sg->rs = a->rooms;
	sg->open_join = open_join;
	mr_rooms_set_event_cb(sg->rs, sig_event, sg);
	return sg;
}

void
mr_signal_free(struct mr_signal *sg)
{
	uint32_t i;

	if (sg == NULL)
		return;
	mr_rooms_set_event_cb(sg->rs, NULL, NULL);
	/* Empty once the WebSocket server is gone (every on_close detached its connection);
	 * whatever is left is freed without touching its connections. */
	for (i = 0; i < sg->tab_size; i++) {
		struct sig_room *r, *next;

		for (r = sg->tab[i]; r != NULL; r = next) {
			next = r->hnext;
			free(r);
		}
	}
	free(sg->tab);
	free(sg);
}

void
mr_signal_stats(const struct mr_signal *sg, json_t *o)
{
	if (sg == NULL || o == NULL)
		return;
	json_object_set_new(o, "joined", json_integer((json_int_t)sg->joined));
	json_object_set_new(o, "joins", json_integer((json_int_t)sg->joins));
	json_object_set_new(o, "joins_replaced", json_integer((json_int_t)sg->replaced));
	json_object_set_new(o, "joins_elsewhere", json_integer((json_int_t)sg->elsewhere));
	json_object_set_new(o, "requests", json_integer((json_int_t)sg->requests));
	json_object_set_new(o, "errors", json_integer((json_int_t)sg->errors));
	json_object_set_new(o, "events", json_integer((json_int_t)sg->events));
	json_object_set_new(o, "removed", json_integer((json_int_t)sg->removed));
	json_object_set_new(o, "offers", json_integer((json_int_t)sg->offers));
	json_object_set_new(o, "answers", json_integer((json_int_t)sg->answers));
}
