/* SPDX-License-Identifier: BSD-3-Clause
 * Rooms: the REST API, everything under /v1/rooms (docs/API.md "Rooms"): paths split into
 * room, participant and stream ids, bodies validated (parse.c), the model changed (rooms.c,
 * publish.c, ops.c) and shown (views.c). The route registers itself (router.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <jansson.h>
#include <rte_lcore.h>

#include "appliance.h"
#include "cmdq.h"
#include "json_req.h"
#include "media_dp.h"
#include "rooms.h"
#include "rooms_priv.h"
#include "router.h"
#include "state.h"

static int
mr_method_err(const char *method, const char *path, const char *allow, json_t **out)
{
	char buf[MR_ECHO], mbuf[16];

	return mr_err(out, 405, "method: %s not allowed on /v1/rooms%s (allowed: %s)",
		      mr_json_echo(method, mbuf, sizeof(mbuf)),
		      mr_json_echo(path, buf, sizeof(buf)), allow);
}

static int
mr_http_room_list(struct mr_rooms *rs, json_t **out)
{
	json_t *arr = json_array();
	uint32_t i;

	for (i = 0; i < rs->n_rooms; i++)
		json_array_append_new(arr, mr_room_json(rs, rs->room[i], 0));
	*out = json_pack("{s:o,s:I}", "rooms", arr, "total", (json_int_t)rs->n_rooms);
	return 200;
}

/* How long a participant PATCH waits for the owner to install new SRTP state. */
#define MR_PART_PATCH_WAIT_US 100000

static int
mr_http_part_patch(struct mr_rooms *rs, struct mr_cp_room *r, struct mr_cp_part *p,
		   const char *body, size_t len, json_t **out)
{
	struct mr_part_patch pt;
	struct mr_cp_stream *st;
	struct mr_cp_srtp_new nl = { 0 };
	char err[256];
	uint64_t seq = 0;
	unsigned int k;
	int rc;

	if (mr_parse_part_patch(body, len, &pt, err, sizeof(err)) < 0) {
		mr_part_patch_clear(&pt);
		return mr_err(out, 400, "%s", err);
	}
	/* Check everything before changing anything. */
	if (pt.has_gain && r->mix == NULL) {
		mr_part_patch_clear(&pt);
		return mr_err(out, 409, "gain: only in a mixing room (\"mode\": \"mix\")");
	}
	if (pt.has_subs) {
		rc = mr_room_subs_check(r, p, pt.subs, pt.n_subs, out);
		if (rc) {
			mr_part_patch_clear(&pt);
			return rc;
		}
	}
	if (pt.has_srtp) {
		/* SRTP first: the only change that can still fail (memory, a full command
		 * ring); the owner installs the new state itself (MR_CMD_PART_SRTP_SET). */
		struct mr_dp_srtp *nw = NULL;
		struct mr_cmd c;

		if (!pt.srtp.disable) {
			rc = mr_cp_srtp_build(rs->a, "srtp", &pt.srtp, p->srtp.dp,
				(int)rte_lcore_to_socket_id(rs->a->dp->w[r->owner]->lcore_id),
				&nw, &nl, out);
			if (rc) {
				mr_part_patch_clear(&pt);
				return rc;
			}
		}
		memset(&c, 0, sizeof(c));
		c.type = MR_CMD_PART_SRTP_SET;
		c.obj = p->dp;
		c.arg = nw;
		if (mr_cmdq_send(&rs->a->cmdq, r->owner, &c, 1, 1, &seq) < 0) {
			mr_cp_srtp_unbuild(nw, &pt.srtp, &nl);
			mr_part_patch_clear(&pt);
			return mr_err(out, 503, "commands: the command ring of lcore %u is full",
				      rs->a->dp->w[r->owner]->lcore_id);
		}
		mr_cp_srtp_installed(rs->a, r->owner, &p->srtp, nw, &pt.srtp, &nl);
		mr_cmdq_wait(&rs->a->cmdq, r->owner, seq, MR_PART_PATCH_WAIT_US);
	}
	for (k = 0; k < 2; k++) {
		if (!pt.has_mute[k])
			continue;
		p->kind_muted[k] = pt.mute[k] != 0;
		TAILQ_FOREACH(st, &p->streams, link)
			if (st->dp->kind == k)
				mr_room_stream_mute(rs, st, pt.mute[k]);
	}
	if (pt.has_gain) {
		p->gain_q8 = pt.gain_q8;
		mr_mix_part_gain(p->mix, p->gain_q8);
	}
	if (pt.has_subs) {
		free(p->subs);
		p->subs = pt.subs;
		p->n_subs = pt.n_subs;
		pt.subs = NULL;
		mr_room_sync(rs, r);
	}
	mr_part_patch_clear(&pt);
	mr_room_persist(rs, r);		/* keys, mutes */
	*out = mr_room_part_json(rs, p, PJ_FULL);
	mr_cp_srtp_show_key(json_object_get(*out, "srtp"), &nl);
	return 200;
}

/* Split "/a/b/c" into at most 5 segments; -1 for empty segments or too many. */
static int
mr_path_split(const char *path, const char *seg[5], size_t len[5])
{
	int n = 0;
	const char *s = path, *e;

	if (*s == '\0')
		return 0;
	while (*s != '\0') {
		if (*s != '/' || n == 5)
			return -1;
		s++;
		e = strchr(s, '/');
		if (e == NULL)
			e = s + strlen(s);
		if (e == s)
			return -1;
		seg[n] = s;
		len[n++] = (size_t)(e - s);
		s = e;
	}
	return n;
}

/* The room a path's first segment names, or NULL with a 404 in *out. */
static struct mr_cp_room *
mr_room_of_seg(struct mr_rooms *rs, const char *seg, size_t sl, json_t **out)
{
	struct mr_cp_room *r = NULL;
	char id[24], buf[MR_ECHO];
	uint32_t rid;

	if (mr_rooms_id_parse(seg, sl, &rid) == 0)
		r = mr_room_find(rs, rid);
	if (r != NULL)
		return r;
	snprintf(id, sizeof(id), "%.*s", (int)(sl < 20 ? sl : 20), seg);
	mr_err(out, 404, "room: no such room '%s'", mr_json_echo(id, buf, sizeof(buf)));
	return NULL;
}

int
mr_http_rooms(struct mr_appliance *a, const char *method, const char *path, const char *body,
	      size_t len, json_t **out)
{
	struct mr_rooms *rs = a->rooms;
	const char *seg[5];
	size_t sl[5];
	char err[256], buf[MR_ECHO];
	uint32_t rid = 0, pid = 0, sid = 0;
	struct mr_cp_room *r = NULL;
	struct mr_cp_part *p = NULL;
	struct mr_cp_stream *st = NULL;
	int n, rc;

	*out = NULL;
	if (rs == NULL)
		return mr_err(out, 503, "rooms: not available");
	n = mr_path_split(path, seg, sl);
	if (n >= 2 && n <= 3 && sl[1] == 9 && memcmp(seg[1], "playbacks", 9) == 0) {
		/* Voice message playbacks (play.c). */
		r = mr_room_of_seg(rs, seg[0], sl[0], out);
		if (r == NULL)
			return 404;
		return mr_http_room_plays(rs, r, method, path, n == 3 ? seg[2] : NULL,
					  n == 3 ? sl[2] : 0, body, len, out);
	}
	if (n < 0 || (n >= 2 && (sl[1] != 12 || memcmp(seg[1], "participants", 12) != 0)) ||
	    (n >= 4 && (sl[3] != 7 || memcmp(seg[3], "streams", 7) != 0)))
		return mr_err(out, 404, "path: no such resource '/v1/rooms%s'",
			      mr_json_echo(path, buf, sizeof(buf)));
	if (n >= 1) {
		r = mr_room_of_seg(rs, seg[0], sl[0], out);
		if (r == NULL)
			return 404;
		rid = r->id;
	}
	if (n >= 3) {
		if (mr_rooms_id_parse(seg[2], sl[2], &pid) < 0 ||
		    (p = mr_room_part_find(r, pid)) == NULL) {
			char id[24];

			snprintf(id, sizeof(id), "%.*s", (int)(sl[2] < 20 ? sl[2] : 20), seg[2]);
			return mr_err(out, 404, "participant: no such participant '%s' in room %"
				      PRIu32, mr_json_echo(id, buf, sizeof(buf)), rid);
		}
	}
	if (n >= 5) {
		if (mr_rooms_id_parse(seg[4], sl[4], &sid) < 0 ||
		    (st = mr_room_stream_find_in(p, sid)) == NULL) {
			char id[24];

			snprintf(id, sizeof(id), "%.*s", (int)(sl[4] < 20 ? sl[4] : 20), seg[4]);
			return mr_err(out, 404, "stream: no such stream '%s' of participant %"
				      PRIu32, mr_json_echo(id, buf, sizeof(buf)), pid);
		}
	}

	switch (n) {
	case 0:		/* /v1/rooms */
		if (strcmp(method, "GET") == 0)
			return mr_http_room_list(rs, out);
		if (strcmp(method, "POST") == 0) {
			struct mr_room_req req;

			if (mr_parse_room_req(body, len, rs->cfg->max_participants, &req, err,
					      sizeof(err)) < 0)
				return mr_err(out, 400, "%s", err);
			if (req.cluster) {
				/* One room of a name per node: a second creation is the
				 * room this node has (span.c). */
				if (rs->a->state == NULL)
					return mr_err(out, 409, "cluster: needs the state store "
						      "(state.redis; docs/API.md \"Rooms across "
						      "appliances\")");
				r = mr_room_span_find(rs, req.name);
				if (r != NULL) {
					*out = mr_room_json(rs, r, 0);
					return 200;
				}
			}
			rc = mr_room_create(rs, &req, NULL, &r, out);
			if (rc != 201)
				return rc;
			*out = mr_room_json(rs, r, 0);
			return 201;
		}
		return mr_method_err(method, path, "GET, POST", out);
	case 1:		/* /v1/rooms/{room} */
		if (strcmp(method, "GET") == 0) {
			*out = mr_room_json(rs, r, 1);
			return 200;
		}
		if (strcmp(method, "DELETE") == 0) {
			mr_room_delete(rs, r);
			return 204;
		}
		return mr_method_err(method, path, "GET, DELETE", out);
	case 2:		/* /v1/rooms/{room}/participants */
		if (strcmp(method, "GET") == 0) {
			json_t *arr = json_array();

			TAILQ_FOREACH(p, &r->parts, link)
				json_array_append_new(arr, mr_room_part_json(rs, p, PJ_SUMMARY));
			*out = json_pack("{s:o}", "participants", arr);
			return 200;
		}
		if (strcmp(method, "POST") == 0) {
			struct mr_part_req req;

			if (mr_parse_part_req(body, len, &req, err, sizeof(err)) < 0) {
				mr_srtp_req_wipe(&req.srtp);
				return mr_err(out, 400, "%s", err);
			}
			rc = mr_room_part_create(rs, r, &req, NULL, &p, out);
			mr_srtp_req_wipe(&req.srtp);
			if (rc != 201)
				return rc;
			*out = mr_room_part_json(rs, p, PJ_FULL | PJ_TOKEN);
			/* The local key, shown this once. */
			mr_cp_srtp_show_key(json_object_get(*out, "srtp"), &p->srtp_new);
			return 201;
		}
		return mr_method_err(method, path, "GET, POST", out);
	case 3:		/* /v1/rooms/{room}/participants/{p} */
		if (strcmp(method, "GET") == 0) {
			*out = mr_room_part_json(rs, p, PJ_FULL | PJ_TOKEN);
			return 200;
		}
		if (strcmp(method, "PATCH") == 0)
			return mr_http_part_patch(rs, r, p, body, len, out);
		if (strcmp(method, "DELETE") == 0) {
			mr_room_part_remove(rs, p, MR_LEAVE_KICKED);
			return 204;
		}
		return mr_method_err(method, path, "GET, PATCH, DELETE", out);
	case 4:		/* .../streams */
		if (strcmp(method, "GET") == 0) {
			json_t *arr = json_array();

			TAILQ_FOREACH(st, &p->streams, link)
				json_array_append_new(arr, mr_room_stream_json(rs, st, 1));
			*out = json_pack("{s:o}", "streams", arr);
			return 200;
		}
		if (strcmp(method, "POST") == 0) {
			struct mr_stream_req req;

			if (mr_parse_stream_req(body, len, &req, err, sizeof(err)) < 0)
				return mr_err(out, 400, "%s", err);
			return mr_rooms_publish(rs, rid, pid, &req, out);
		}
		return mr_method_err(method, path, "GET, POST", out);
	default:	/* .../streams/{s} */
		if (strcmp(method, "GET") == 0) {
			*out = mr_room_stream_json(rs, st, 1);
			return 200;
		}
		if (strcmp(method, "PATCH") == 0) {
			int muted;

			if (mr_parse_stream_patch(body, len, &muted, err, sizeof(err)) < 0)
				return mr_err(out, 400, "%s", err);
			mr_room_stream_mute(rs, st, muted);
			*out = mr_room_stream_json(rs, st, 1);
			return 200;
		}
		if (strcmp(method, "DELETE") == 0)
			return mr_rooms_unpublish(rs, rid, pid, sid, out);
		return mr_method_err(method, path, "GET, PATCH, DELETE", out);
	}
}

/* ---- the route (controlplane/api/router.h) ---- */

static int
mr_route_rooms(struct mr_appliance *a, const struct mr_http_req *r, json_t **out)
{
	/* A new room (state.placement least_loaded) may go to a less loaded appliance; its
	 * participants then join it there. */
	if (r->method == MR_HTTP_POST && r->rest[0] == '\0') {
		const char *there = mr_state_place(a->state);
		json_t *b = there != NULL && r->body != NULL ?
			json_loadb(r->body, r->len, 0, NULL) : NULL;

		/* Not a cluster room: it is made where its participants talk (span.c). */
		if (json_is_true(json_object_get(b, "cluster")))
			there = NULL;
		json_decref(b);
		if (there != NULL)
			return mr_state_redirect(out, there, "/v1/rooms");
	}
	return mr_http_rooms(a, r->method_name, r->rest, r->body, r->len, out);
}

/* No Location on 201: rooms' resources are nested, their ids are not enough. */
static struct mr_http_route mr_rooms_route = {
	.path = "/v1/rooms", .match = MR_ROUTE_SUBTREE, .name = "/v1/rooms",
	.methods = MR_HTTP_GET | MR_HTTP_POST | MR_HTTP_PATCH | MR_HTTP_DELETE,
	.handler = mr_route_rooms,
};
MR_HTTP_ROUTE(mr_rooms_route)
