/* SPDX-License-Identifier: BSD-3-Clause
 * Rooms across appliances (issue 16 §3; docs/ARCHITECTURE.md "Rooms across appliances",
 * docs/API.md "Rooms across appliances").
 *
 * A room created with "cluster": true is known by its name on every appliance of the state
 * store: each node where participants join it has its own room of that name (its replica),
 * and the replicas find each other through one Redis hash, mrelay:cluster:room:<name>, one
 * field a node:
 *
 *   {"node": "edge-1", "room": "3", "updated_ms": ..., "links": {"edge-2": "198.18.0.2:30004"},
 *    "link_keys": {"edge-2": "AEAD_AES_128_GCM inline:..."},
 *    "participants": [{"id": "1", "name": "alice",
 *                      "streams": [{"ssrc", "kind", "pt", "clock_rate", "codec"}]}]}
 *
 * Every second, and at the next tick after any change of the room (mr_room_sync), a node
 * writes its entry and reads everyone's (one HSET, one HGETALL; never blocking: the state
 * store's asynchronous connection). For every other node alive in the room (an entry
 * written within MR_SPAN_ALIVE_MS) the replica has one link participant: an ordinary
 * participant of the room with its own relay endpoint, which
 *   - publishes the streams of that node's own participants (their SSRCs, as the entry
 *     says), so the room forwards them to this node's participants like any stream;
 *   - receives every stream of this node's own participants and none of another link's
 *     (publish.c mr_room_sync): each node sends its own streams once to every other node,
 *     a full mesh without loops;
 *   - is latched on the other node's link endpoint of the room (its entry's "links"), by
 *     command to the owner (MR_CMD_PART_LATCH) once the neighbor table resolved the next
 *     hop's MAC, so that media flows before either side sent anything.
 * RTCP rides the same links: receivers' NACKs and PLIs reach the publisher's node, which
 * answers or forwards them as for a local subscriber; its SRs come back the other way.
 *
 * SRTP on the links (state.link_srtp): a node so configured makes, with each link, the key
 * it will decrypt that node's packets with, and gives it in its entry ("link_keys"); the
 * other node encrypts towards it with that key. Each receiver picks its own key, so a node
 * that restarts (a new link, a new key, contexts from index 0) makes the other side start a
 * new sending context too, and a change on one side never calls for one on the other. A
 * link is latched only when both sides agree: both SRTP (each direction in its receiver's
 * suite) or both plain; otherwise it is counted (span_srtp_mismatch) and logged.
 *
 * A node whose entry stops being renewed (it died) or goes (its room deleted, or it
 * stopped) loses its link: the room's participants get participant_left for it, reason
 * "node_lost" or "left", and its streams' stream_unpublished. Entries older than
 * MR_SPAN_FORGET_MS are removed from the hash by whoever reads them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <jansson.h>
#include <rte_cycles.h>
#include <rte_log.h>
#include <rte_seqcount.h>

#include "addr.h"
#include "appliance.h"
#include "cmdq.h"
#include "dp.h"
#include "neigh.h"
#include "rooms.h"
#include "rooms_priv.h"
#include "srtp.h"
#include "srtp_cp.h"
#include "state.h"
#include "mr_log.h"

MR_LOG_REGISTER(mr_logtype_span, span);
#define SPAN_LOG(level, ...) MR_LOG(level, mr_logtype_span, "span", __VA_ARGS__)

#define MR_SPAN_PERIOD_MS 1000		/* entries written and read at least this often */
#define MR_SPAN_ALIVE_MS 3000		/* an entry older than this: its node is gone */
#define MR_SPAN_FORGET_MS 60000		/* ... and removed from the hash after this */
#define MR_SPAN_RETRY_MS 3000		/* a reading unanswered this long: ask again */
#define MR_SPAN_RELATCH_MS 1000		/* a link not latched as told: the command again */

struct mr_cp_room *
mr_room_span_find(const struct mr_rooms *rs, const char *name)
{
	uint32_t i;

	for (i = 0; i < rs->n_rooms && rs->n_cluster != 0; i++)
		if (rs->room[i]->cluster && strcmp(rs->room[i]->name, name) == 0)
			return rs->room[i];
	return NULL;
}

/* ---- this node's entry ---- */

static json_t *
span_stream_json(const struct mr_cp_stream *st)
{
	return json_pack("{s:I,s:s,s:i,s:I,s:s}", "ssrc", (json_int_t)st->dp->ssrc,
			 "kind", mr_room_kind_name[st->dp->kind], "pt", (int)st->dp->pt,
			 "clock_rate", (json_int_t)st->dp->clock_rate, "codec", st->codec);
}

static char *
span_entry(struct mr_rooms *rs, const struct mr_cp_room *r, const char *self)
{
	const struct mr_cp_part *p;
	const struct mr_cp_stream *st;
	json_t *links = json_object(), *keys = json_object(), *parts = json_array(), *e, *v;
	char ep[64], sdes[128], *text;
	const char *node;

	TAILQ_FOREACH(p, &r->parts, link) {
		json_t *streams;

		if (p->is_link) {
			json_object_set_new(links, p->link_node,
					    json_string(mr_ep_fmt(&p->dp->local, ep, sizeof(ep),
								  1)));
			if (p->link_has_rx_key &&
			    mr_srtp_sdes_format(&p->link_rx_key, sdes, sizeof(sdes)) > 0)
				json_object_set_new(keys, p->link_node, json_string(sdes));
			explicit_bzero(sdes, sizeof(sdes));
			continue;
		}
		streams = json_array();
		TAILQ_FOREACH(st, &p->streams, link)
			json_array_append_new(streams, span_stream_json(st));
		json_array_append_new(parts, json_pack("{s:o,s:s,s:o}", "id",
						       mr_room_idj(p->id), "name", p->name,
						       "streams", streams));
	}
	(void)rs;
	e = json_pack("{s:s,s:o,s:I,s:o,s:O,s:o}", "node", self, "room", mr_room_idj(r->id),
		      "updated_ms", (json_int_t)mr_state_wall_ms(), "links", links,
		      "link_keys", keys, "participants", parts);
	text = e != NULL ? json_dumps(e, JSON_COMPACT) : NULL;
	json_decref(e);
	/* The keys' copies in jansson's strings go with them (the caller wipes the text). */
	json_object_foreach(keys, node, v)
		explicit_bzero((char *)json_string_value(v), json_string_length(v));
	json_decref(keys);
	return text;
}

void
mr_room_span_tick(struct mr_rooms *rs, uint64_t now)
{
	struct mr_state *st = rs->a->state;
	uint64_t hz = rs->a->dp->tsc_hz;
	char span_hello[96];
	uint32_t i;

	if (st == NULL)
		return;
	snprintf(span_hello, sizeof(span_hello), "{\"node\":\"%s\"}", mr_state_node(st));
	for (i = 0; i < rs->n_rooms; i++) {
		struct mr_cp_room *r = rs->room[i];
		char *text;

		if (!r->cluster || now < r->span_tsc)
			continue;
		/* One reading in flight a room; one lost with the connection is asked again. */
		if (r->span_inflight && now - r->span_sent_tsc < hz / 1000 * MR_SPAN_RETRY_MS)
			continue;
		text = span_entry(rs, r, mr_state_node(st));
		if (text == NULL)
			continue;
		if (mr_state_span_sync(st, r->name, text, r->id) == 0) {
			r->span_inflight = 1;
			r->span_sent_tsc = now;
			/* Changed here: the others read it now rather than within a second. */
			if (r->span_changed)
				mr_state_span_publish(st, r->name, span_hello);
			r->span_changed = 0;
		}
		explicit_bzero(text, strlen(text));	/* link keys */
		free(text);
		r->span_tsc = now + hz / 1000 * MR_SPAN_PERIOD_MS;
	}
}

void
mr_room_span_gone(struct mr_rooms *rs, struct mr_cp_room *r)
{
	(void)mr_state_span_sync(rs->a->state, r->name, NULL, 0);
	r->cluster = 0;
	rs->n_cluster--;
	rs->n.cluster_rooms--;
}

void
mr_room_span_part_gone(struct mr_rooms *rs, struct mr_cp_part *p)
{
	if (p->link_nh >= 0)
		mr_neigh_put(rs->a->neigh, p->dp->port_idx, p->link_nh);
	p->link_nh = -1;
	mr_srtp_key_wipe(&p->link_rx_key);
	mr_srtp_key_wipe(&p->link_tx_key);
	p->link_has_rx_key = 0;
	rs->n.links--;
}

/* ---- the other nodes' entries ---- */

static struct mr_cp_part *
span_link_find(const struct mr_cp_room *r, const char *node)
{
	struct mr_cp_part *p;

	TAILQ_FOREACH(p, &r->parts, link)
		if (p->is_link && strcmp(p->link_node, node) == 0)
			return p;
	return NULL;
}

static struct mr_cp_part *
span_link_new(struct mr_rooms *rs, struct mr_cp_room *r, const char *node)
{
	struct mr_part_req req;
	struct mr_cp_part *p;
	json_t *body = NULL;
	int rc;

	memset(&req, 0, sizeof(req));
	snprintf(req.name, sizeof(req.name), "cluster:%.54s", node);
	rc = mr_room_part_create(rs, r, &req, NULL, &p, &body);
	if (rc != 201) {
		const char *e = json_string_value(json_object_get(body, "error"));

		if (rs->n.span_refused++ == 0)
			SPAN_LOG(WARNING, "room %" PRIu32 " (%s): no link to node %s: %s\n", r->id,
				 r->name, node, e != NULL ? e : "failed");
		json_decref(body);
		return NULL;
	}
	json_decref(body);
	p->is_link = 1;
	p->link_nh = -1;
	p->joined = 1;
	p->connected = 1;
	snprintf(p->link_node, sizeof(p->link_node), "%s", node);
	rs->n.links++;
	/* SRTP: the key this node decrypts what that node sends with (this node's entry). */
	if (rs->a->cfg->state.link_srtp != MR_SRTP_SUITE_NONE) {
		if (mr_srtp_key_random((enum mr_srtp_suite)rs->a->cfg->state.link_srtp,
				       &p->link_rx_key) == 0)
			p->link_has_rx_key = 1;
		else
			SPAN_LOG(ERR, "room %" PRIu32 " (%s): no random bytes for the key of the "
				 "link to node %s\n", r->id, r->name, node);
	}
	/* Its subscriptions: this node's own streams only. */
	mr_room_sync(rs, r);
	mr_room_emit(rs, r, 0, p->id, json_pack("{s:s,s:o}", "type", "participant_joined",
						"participant",
						mr_room_part_json(rs, p, PJ_SUMMARY)));
	SPAN_LOG(INFO, "room %" PRIu32 " (%s): link to node %s on participant %" PRIu32 "\n",
		 r->id, r->name, node, p->id);
	return p;
}

/* SRTP on link p as the two entries say (kv: the other node's key for this node, NULL: it
 * sends plain). 0 when the link may be latched: both sides plain, or both SRTP with the
 * contexts handed to the owner (before the latch command: the ring keeps the order). */
static int
span_link_srtp(struct mr_rooms *rs, struct mr_cp_room *r, struct mr_cp_part *p, const json_t *kv)
{
	struct mr_srtp_key k;
	struct mr_srtp_req req;
	char err[96];
	int rc;
	int theirs = json_is_string(kv);

	if (theirs != p->link_has_rx_key) {
		if (!p->link_mismatch) {
			p->link_mismatch = 1;
			rs->n.span_srtp_mismatch++;
			SPAN_LOG(WARNING, "room %" PRIu32 " (%s): the link to node %s is not used: "
				 "SRTP on %s side only (state.link_srtp must agree)\n", r->id,
				 r->name, p->link_node, theirs ? "its" : "this");
		}
		return -1;
	}
	p->link_mismatch = 0;
	if (!theirs)
		return 0;
	if (mr_srtp_sdes_parse(json_string_value(kv), &k, err, sizeof(err)) < 0) {
		mr_srtp_key_wipe(&k);
		rs->n.span_refused++;
		return -1;
	}
	if (p->srtp.dp != NULL && memcmp(&k, &p->link_tx_key, sizeof(k)) == 0) {
		mr_srtp_key_wipe(&k);
		return 0;
	}
	/* New, or that node's link is new (it restarted): a new sending context, from index
	 * 0 as its receiving one. This node's own key stays. */
	memset(&req, 0, sizeof(req));
	req.present = 1;
	req.suite = (uint8_t)k.suite;
	req.has_remote_key = p->srtp.dp == NULL;
	req.remote_key = p->link_rx_key;
	req.has_local_key = 1;
	req.local_key = k;
	/* A full ring or no memory: the next reading tries again. */
	rc = mr_cp_srtp_part_install(rs->a, r->owner, p->dp, &p->srtp, &req, 0);
	if (rc == 0)
		p->link_tx_key = k;
	else
		rs->n.span_refused++;
	mr_srtp_key_wipe(&k);
	mr_srtp_req_wipe(&req);
	return rc;
}

/* Latch link p on the other node's endpoint text v, once its next hop's MAC is known and
 * SRTP agrees (kv: that node's key for this node). */
static void
span_link_remote(struct mr_rooms *rs, struct mr_cp_room *r, struct mr_cp_part *p,
		 const json_t *v, const json_t *kv, uint64_t now_ms)
{
	struct mr_neigh *nb = rs->a->neigh;
	unsigned int pidx = p->dp->port_idx;
	struct mr_dp_path path;
	struct mr_ep ep, hop;
	struct mr_cmd c;
	uint32_t sn;

	if (!json_is_string(v) || mr_ep_parse(json_string_value(v), &ep) < 0 ||
	    ep.family != p->dp->local.family || ep.port == 0)
		return;		/* not yet: that node has not made its link */
	if (!mr_ep_eq(&ep, &p->link_remote)) {
		if (p->link_nh >= 0)
			mr_neigh_put(nb, pidx, p->link_nh);
		p->link_nh = -1;
		p->link_cmd_ms = 0;
		p->link_remote = ep;
		if (mr_neigh_nexthop(nb, pidx, &ep, &hop) != 0 ||
		    (p->link_nh = mr_neigh_get(nb, pidx, &hop)) < 0) {
			p->link_nh = -1;
			rs->n.span_refused++;
			return;
		}
	}
	if (p->link_nh < 0 || span_link_srtp(rs, r, p, kv) < 0)
		return;
	do {
		sn = rte_seqcount_read_begin(&p->dp->seq);
		memcpy(&path, &p->dp->path, sizeof(path));
	} while (rte_seqcount_read_retry(&p->dp->seq, sn));
	if (path.state == MR_PATH_LATCHED && mr_ep_eq(&path.remote, &ep))
		return;
	if (p->link_cmd_ms != 0 && now_ms - p->link_cmd_ms < MR_SPAN_RELATCH_MS)
		return;
	if (!(__atomic_load_n(&rs->a->dp->port[pidx].neigh[p->link_nh].w, __ATOMIC_RELAXED) &
	      MR_NEIGH_VALID))
		return;		/* resolving (the neighbor table probes it) */
	memset(&c, 0, sizeof(c));
	c.type = MR_CMD_PART_LATCH;
	c.obj = p->dp;
	c.remote = ep;
	c.nh = (uint16_t)p->link_nh;
	if (mr_cmdq_send(&rs->a->cmdq, r->owner, &c, 1, 0, NULL) == 0)
		p->link_cmd_ms = now_ms;
}

/* One remote stream's description; 0, or -1 when it is not one. */
static int
span_stream_req(const json_t *sj, struct mr_stream_req *q)
{
	json_int_t ssrc, pt, clock;
	const char *kind, *codec = "";

	memset(q, 0, sizeof(*q));
	if (json_unpack((json_t *)sj, "{s:I,s:s,s:I,s:I,s?s}", "ssrc", &ssrc, "kind", &kind,
			"pt", &pt, "clock_rate", &clock, "codec", &codec) != 0 ||
	    ssrc < 0 || ssrc > UINT32_MAX || pt < 0 || pt > 127 || (pt >= 64 && pt <= 95) ||
	    clock < 0 || clock > 1000000 || strlen(codec) >= sizeof(q->codec))
		return -1;
	if (strcmp(kind, "audio") == 0)
		q->kind = MR_KIND_AUDIO;
	else if (strcmp(kind, "video") == 0)
		q->kind = MR_KIND_VIDEO;
	else
		return -1;
	q->ssrc = (uint32_t)ssrc;
	q->pt = (uint8_t)pt;
	q->clock_rate = (uint32_t)clock;
	snprintf(q->codec, sizeof(q->codec), "%s", codec);
	return 0;
}

/* Link p publishes exactly the streams of its node's participants (parts of its entry). */
static void
span_link_streams(struct mr_rooms *rs, struct mr_cp_room *r, struct mr_cp_part *p,
		  const json_t *parts)
{
	struct mr_cp_stream *st, *next;
	const json_t *pj, *sj;
	size_t i, k;

	TAILQ_FOREACH(st, &p->streams, link)
		st->span_seen = 0;
	json_array_foreach(parts, i, pj) {
		const char *pid = json_string_value(json_object_get(pj, "id"));
		const char *pname = json_string_value(json_object_get(pj, "name"));
		uint32_t opart = 0;

		if (pid == NULL || mr_rooms_id_parse(pid, strlen(pid), &opart) < 0) {
			rs->n.span_refused++;
			continue;
		}
		json_array_foreach(json_object_get(pj, "streams"), k, sj) {
			struct mr_stream_req q;
			json_t *body = NULL;

			if (span_stream_req(sj, &q) < 0) {
				rs->n.span_refused++;
				continue;
			}
			st = mr_room_stream_by_ssrc(r, q.ssrc);
			if (st != NULL && st->pub == p) {
				st->span_seen = 1;
				continue;
			}
			if (st != NULL) {
				/* Published here by someone else: one SSRC, one stream. */
				rs->n.span_clashes++;
				continue;
			}
			q.origin_part = opart;
			snprintf(q.origin_name, sizeof(q.origin_name), "%s",
				 pname != NULL ? pname : "");
			if (mr_room_stream_publish(rs, p, &q, 0, 0, &st, &body) == 201)
				st->span_seen = 1;
			else
				rs->n.span_refused++;
			json_decref(body);
		}
	}
	for (st = TAILQ_FIRST(&p->streams); st != NULL; st = next) {
		next = TAILQ_NEXT(st, link);
		if (!st->span_seen)
			mr_room_stream_remove(rs, st);
	}
}

void
mr_rooms_span_input(struct mr_rooms *rs, uint32_t room, const char *name, json_t *all)
{
	struct mr_cp_room *r = mr_room_find(rs, room);
	struct mr_state *sst = rs->a->state;
	struct mr_cp_part *p, *next;
	const char *self, *node;
	uint64_t now = mr_state_wall_ms();
	json_t *e;

	if (r == NULL || !r->cluster || strcmp(r->name, name) != 0 || sst == NULL)
		return;
	r->span_inflight = 0;
	if (all == NULL)
		return;
	rs->n.span_reads++;
	self = mr_state_node(sst);
	TAILQ_FOREACH(p, &r->parts, link)
		p->link_seen = 0;
	json_object_foreach(all, node, e) {
		json_int_t up = json_integer_value(json_object_get(e, "updated_ms"));
		uint64_t age = up > 0 && (uint64_t)up < now ? now - (uint64_t)up : 0;

		if (strcmp(node, self) == 0)
			continue;
		if (up <= 0 || age > MR_SPAN_ALIVE_MS) {
			/* Dead or stopped without a word: its link goes (below); a long dead
			 * entry goes from the hash. */
			if (up <= 0 || age > MR_SPAN_FORGET_MS)
				mr_state_span_forget(sst, name, node);
			continue;
		}
		p = span_link_find(r, node);
		if (p == NULL && (p = span_link_new(rs, r, node)) == NULL)
			continue;
		p->link_seen = 2;	/* alive */
		span_link_remote(rs, r, p, json_object_get(json_object_get(e, "links"), self),
				 json_object_get(json_object_get(e, "link_keys"), self), now);
		span_link_streams(rs, r, p, json_object_get(e, "participants"));
	}
	for (p = TAILQ_FIRST(&r->parts); p != NULL; p = next) {
		next = TAILQ_NEXT(p, link);
		if (!p->is_link || p->link_seen)
			continue;
		/* Its entry is stale (the node died) or gone (it left the room, or stopped). */
		e = json_object_get(all, p->link_node);
		SPAN_LOG(NOTICE, "room %" PRIu32 " (%s): node %s %s\n", r->id, r->name,
			 p->link_node, e != NULL ? "lost" : "left");
		mr_room_part_remove(rs, p, e != NULL ? MR_LEAVE_NODE_LOST : MR_LEAVE_LEFT);
	}
}

/* ---- events between the nodes (Redis pub/sub) ---- */

/* The events of a participant that the other nodes' participants get too. */
static int
span_event_forwarded(const char *type)
{
	static const char *const fwd[] = { "participant_joined", "participant_left",
					   "active_speaker", "muted", "unmuted", NULL };
	unsigned int i;

	for (i = 0; type != NULL && fwd[i] != NULL; i++)
		if (strcmp(type, fwd[i]) == 0)
			return 1;
	return 0;
}

void
mr_room_span_event(struct mr_rooms *rs, const struct mr_cp_room *r, json_t *ev)
{
	struct mr_state *st = rs->a->state;
	const json_t *pj = json_object_get(ev, "participant");
	const char *id = json_is_object(pj) ? json_string_value(json_object_get(pj, "id")) :
		json_string_value(pj);
	const struct mr_cp_part *p;
	uint32_t pid;
	json_t *m;
	char *text;

	if (st == NULL || !span_event_forwarded(json_string_value(json_object_get(ev, "type"))) ||
	    id == NULL || mr_rooms_id_parse(id, strlen(id), &pid) < 0)
		return;
	/* Not the links': each node tells of its own participants. */
	p = mr_room_part_find(r, pid);
	if (p == NULL || p->is_link)
		return;
	m = json_pack("{s:s,s:O}", "node", mr_state_node(st), "event", ev);
	text = m != NULL ? json_dumps(m, JSON_COMPACT) : NULL;
	json_decref(m);
	if (text != NULL)
		mr_state_span_publish(st, r->name, text);
	free(text);
}

void
mr_rooms_span_message(struct mr_rooms *rs, const char *name, json_t *msg)
{
	struct mr_state *st = rs->a->state;
	const char *node = json_string_value(json_object_get(msg, "node"));
	json_t *ev = json_object_get(msg, "event"), *c;
	struct mr_cp_room *r;

	if (st == NULL || node == NULL || strcmp(node, mr_state_node(st)) == 0)
		return;
	r = mr_room_span_find(rs, name);
	if (r == NULL)
		return;
	if (ev == NULL) {
		/* Its entry changed: read the room's entries at the next tick. */
		r->span_tsc = 0;
		return;
	}
	if (!json_is_object(ev) ||
	    !span_event_forwarded(json_string_value(json_object_get(ev, "type"))))
		return;
	/* To this node's participants, naming the node whose participant it is about. */
	c = json_deep_copy(ev);
	if (c == NULL)
		return;
	json_object_set_new(c, "node", json_string(node));
	mr_room_emit(rs, r, 0, 0, c);
}
