/* SPDX-License-Identifier: BSD-3-Clause
 * Rooms: the SFU control plane (rooms.h, docs/API.md "Rooms", docs/ARCHITECTURE.md "Rooms").
 *
 * The model lives here (struct mr_cp_room / mr_cp_part / mr_cp_stream); what the room's owner
 * worker reads (room_dp.h) is derived from it by mr_room_sync(), which builds new immutable
 * SSRC maps and subscriber lists wherever they differ from the model and publishes them with a
 * release store. Anything the dataplane may still hold (an old map or list, a removed stream
 * or participant, a deleted room) goes on the control plane's deferral queue
 * (controlplane/core/defer.h): it waits for the owner to apply every command sent before
 * (receiver reports and resets name streams and participants), for the room's lists to be
 * in step with the model, then for an RCU grace period (dp->qsv), and only then is freed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <time.h>
#include <jansson.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_seqcount.h>

#include "api.h"
#include "appliance.h"
#include "cmdq.h"
#include "defer.h"
#include "dp.h"
#include "flows.h"
#include "json_req.h"
#include "quality.h"
#include "rooms.h"
#include "router.h"
#include "rtp_stats.h"

#define RTE_LOGTYPE_MRELAY RTE_LOGTYPE_USER1

/* Explicit subscriptions in one PATCH: more than any room can hold streams. */
#define MR_SUBS_MAX 65536
#define MR_ECHO 48
/* RFC 3550 §6.4.1: the fraction lost in a report block is 8-bit fixed point. */
#define MR_FRACTION_ONE 256.0
#define MR_LEVEL_SILENCE_Q8 (127 * 256)

/* ------------------------------------------------------------------------------------------ */
/* The model */

struct mr_cp_room;
struct mr_cp_part;

struct mr_cp_stream {
	TAILQ_ENTRY(mr_cp_stream) link;	/* in its publisher's list */
	struct mr_defer defer;		/* unpublished: on the deferral queue */
	uint32_t id;
	struct mr_cp_part *pub;
	struct mr_cp_room *room;	/* for the deferral, which may outlast pub */
	struct mr_dp_stream *dp;
	char codec[MR_CODEC_LEN];
	uint8_t autopub;		/* published from the dataplane's report */
	time_t created;
	/* tick state */
	uint32_t spk_pkts;		/* level_pkts at the last speaker look */
	uint64_t q_expected, q_received;	/* RFC 3550 A.3 counts at the last second */
	double loss_up;			/* publisher → relay loss fraction, last second */
	double mos;			/* last estimate, < 0: none yet */
};

TAILQ_HEAD(mr_cp_stream_list, mr_cp_stream);

struct mr_cp_part {
	TAILQ_ENTRY(mr_cp_part) link;	/* in its room */
	struct mr_defer defer;
	uint32_t id;
	struct mr_cp_room *room;
	struct mr_dp_part *dp;
	unsigned int pidx;
	struct rte_flow *steer;
	char name[MR_ROOM_NAME_LEN];
	char token[MR_TOKEN_LEN];
	uint8_t connected;
	uint8_t joined;			/* joined at least once (a second join resets media) */
	uint8_t kind_muted[2];
	uint32_t n_streams;
	struct mr_cp_stream_list streams;
	uint32_t n_subs;		/* explicit subscriptions: stream ids, sorted */
	uint32_t *subs;
	uint32_t autopub_seq;		/* last autopub_seq seen */
	time_t created;
};

TAILQ_HEAD(mr_cp_part_list, mr_cp_part);

struct mr_cp_room {
	struct mr_defer defer;
	uint32_t id;
	char name[MR_ROOM_NAME_LEN];
	unsigned int max_participants;
	uint8_t auto_subscribe;
	uint8_t auto_publish;
	uint8_t auto_publish_kind;
	uint8_t dirty;			/* the dataplane's lists lag the model (out of memory) */
	uint8_t deleted;
	unsigned int owner;
	struct mr_dp_room *dp;
	struct mr_cp_part_list parts;
	uint32_t n_parts;
	uint32_t n_streams;
	uint32_t n_dying;		/* removed participants and streams not freed yet */
	uint32_t next_part, next_stream;
	struct mr_speaker spk;
	time_t created;
};

struct mr_rooms {
	struct mr_appliance *a;
	const struct mr_rooms_conf *cfg;
	struct mr_cp_room **room;	/* live rooms sorted by id (ids only grow) */
	uint32_t n_rooms, cap_rooms;
	uint32_t next_room;
	json_t *tokens;			/* token → room id << 32 | participant id */
	unsigned int owned[MR_DP_MAX_WORKERS];
	void (*cb)(void *arg, uint32_t room_id, uint32_t only_part, uint32_t except_part,
		   json_t *event);
	void *cb_arg;
	uint64_t last_look, last_rr;
	struct mr_rooms_counts n;
};

#define mr_err mr_json_err
#define err_set mr_json_err_set

static const char *const mr_kind_name[] = { [MR_KIND_AUDIO] = "audio", [MR_KIND_VIDEO] = "video" };

/* ------------------------------------------------------------------------------------------ */
/* Request validation (pure) */

int
mr_rooms_id_parse(const char *s, size_t len, uint32_t *id)
{
	uint64_t v = 0;
	size_t i;

	if (s == NULL || len == 0 || len > 10 || s[0] == '0')
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return -EINVAL;
	*id = (uint32_t)v;
	return 0;
}

/* Every key of o must be in known or extra. */
static int
keys_check(json_t *o, const char *const *known, const char *const *extra, const char *prefix,
	   char *err, size_t errlen)
{
	const char *k;
	json_t *v;
	size_t i;
	char buf[MR_ECHO];

	json_object_foreach(o, k, v) {
		int ok = 0;

		for (i = 0; known[i] != NULL && !ok; i++)
			ok = strcmp(k, known[i]) == 0;
		for (i = 0; extra != NULL && extra[i] != NULL && !ok; i++)
			ok = strcmp(k, extra[i]) == 0;
		if (!ok) {
			err_set(err, errlen, "%s%s: unknown field", prefix,
				mr_json_echo(k, buf, sizeof(buf)));
			return -EINVAL;
		}
	}
	return 0;
}

static int
get_bool(json_t *v, const char *name, int *out, char *err, size_t errlen)
{
	if (!json_is_boolean(v)) {
		err_set(err, errlen, "%s: must be a boolean", name);
		return -EINVAL;
	}
	*out = json_is_true(v);
	return 0;
}

static int
get_range(json_t *v, const char *name, json_int_t min, json_int_t max, json_int_t *out,
	  char *err, size_t errlen)
{
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		err_set(err, errlen, "%s: must be an integer between %lld and %lld", name,
			(long long)min, (long long)max);
		return -EINVAL;
	}
	*out = json_integer_value(v);
	return 0;
}

/* A name: up to MR_ROOM_NAME_LEN - 1 bytes of UTF-8 (jansson checked it) without control
 * characters: it goes into listings and logs. */
static int
get_name(json_t *v, const char *field, char *out, char *err, size_t errlen)
{
	const char *s;
	size_t len, i;

	if (!json_is_string(v)) {
		err_set(err, errlen, "%s: must be a string", field);
		return -EINVAL;
	}
	s = json_string_value(v);
	len = json_string_length(v);
	if (len > MR_ROOM_NAME_LEN - 1) {
		err_set(err, errlen, "%s: longer than %d bytes", field, MR_ROOM_NAME_LEN - 1);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			err_set(err, errlen, "%s: must not contain control characters", field);
			return -EINVAL;
		}
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

static int
get_kind(json_t *v, const char *field, uint8_t *kind, char *err, size_t errlen)
{
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;

	if (s != NULL && strcmp(s, "audio") == 0) {
		*kind = MR_KIND_AUDIO;
		return 0;
	}
	if (s != NULL && strcmp(s, "video") == 0) {
		*kind = MR_KIND_VIDEO;
		return 0;
	}
	err_set(err, errlen, "%s: must be 'audio' or 'video'", field);
	return -EINVAL;
}

int
mr_parse_room_req(const char *body, size_t len, unsigned int max_participants,
		  struct mr_room_req *r, char *err, size_t errlen)
{
	static const char *const known[] = { "name", "max_participants", "auto_subscribe",
					     "auto_publish", "auto_publish_kind", NULL };
	json_t *o = mr_json_body_load(body, len, err, errlen), *v;
	json_int_t i;
	int rc = -EINVAL;

	memset(r, 0, sizeof(*r));
	r->auto_subscribe = 1;
	r->auto_publish_kind = MR_KIND_VIDEO;
	if (o == NULL)
		return -EINVAL;
	if (keys_check(o, known, NULL, "", err, errlen))
		goto out;
	if ((v = json_object_get(o, "name")) && get_name(v, "name", r->name, err, errlen))
		goto out;
	if ((v = json_object_get(o, "max_participants"))) {
		if (get_range(v, "max_participants", 1, max_participants, &i, err, errlen))
			goto out;
		r->max_participants = (unsigned int)i;
	}
	if ((v = json_object_get(o, "auto_subscribe")) &&
	    get_bool(v, "auto_subscribe", &r->auto_subscribe, err, errlen))
		goto out;
	if ((v = json_object_get(o, "auto_publish")) &&
	    get_bool(v, "auto_publish", &r->auto_publish, err, errlen))
		goto out;
	if ((v = json_object_get(o, "auto_publish_kind")) &&
	    get_kind(v, "auto_publish_kind", &r->auto_publish_kind, err, errlen))
		goto out;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int
mr_parse_part_req(const char *body, size_t len, struct mr_part_req *r, char *err,
		  size_t errlen)
{
	static const char *const known[] = { "name", "audio_level_ext_id", "interface", "family",
					     NULL };
	json_t *o = mr_json_body_load(body, len, err, errlen), *v;
	json_int_t i;
	int rc = -EINVAL;

	memset(r, 0, sizeof(*r));
	if (o == NULL)
		return -EINVAL;
	if (keys_check(o, known, NULL, "", err, errlen))
		goto out;
	if ((v = json_object_get(o, "name")) && get_name(v, "name", r->name, err, errlen))
		goto out;
	if ((v = json_object_get(o, "audio_level_ext_id"))) {
		/* RFC 8285 §4.2: one-byte ids 1..14 (15 is reserved); 0 = none. */
		if (get_range(v, "audio_level_ext_id", 0, 14, &i, err, errlen))
			goto out;
		r->level_ext_id = (uint8_t)i;
	}
	if ((v = json_object_get(o, "interface"))) {
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;
		size_t n = s ? json_string_length(v) : 0, k;

		if (s == NULL || n == 0 || n > MR_ROOM_IFNAME_LEN - 1) {
			err_set(err, errlen, "interface: must be a string of 1 to %d bytes",
				MR_ROOM_IFNAME_LEN - 1);
			goto out;
		}
		for (k = 0; k < n; k++) {
			if (s[k] <= 0x20 || s[k] >= 0x7f) {
				err_set(err, errlen,
					"interface: must be printable ASCII without spaces");
				goto out;
			}
		}
		memcpy(r->interface, s, n + 1);
	}
	if ((v = json_object_get(o, "family"))) {
		const char *s = json_is_string(v) ? json_string_value(v) : "";

		if (strcmp(s, "ipv4") == 0) {
			r->family = MR_AF4;
		} else if (strcmp(s, "ipv6") == 0) {
			r->family = MR_AF6;
		} else {
			err_set(err, errlen, "family: must be 'ipv4' or 'ipv6'");
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int
mr_parse_stream_json(json_t *o, const char *const *extra, struct mr_stream_req *r, char *err,
		     size_t errlen)
{
	static const char *const known[] = { "ssrc", "kind", "pt", "clock_rate", "codec", NULL };
	json_t *v;
	json_int_t i;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(o)) {
		err_set(err, errlen, "body: must be a JSON object");
		return -EINVAL;
	}
	if (keys_check(o, known, extra, "", err, errlen))
		return -EINVAL;
	v = json_object_get(o, "ssrc");
	if (v == NULL) {
		err_set(err, errlen, "ssrc: required");
		return -EINVAL;
	}
	if (get_range(v, "ssrc", 0, UINT32_MAX, &i, err, errlen))
		return -EINVAL;
	r->ssrc = (uint32_t)i;
	v = json_object_get(o, "kind");
	if (v == NULL) {
		err_set(err, errlen, "kind: required");
		return -EINVAL;
	}
	if (get_kind(v, "kind", &r->kind, err, errlen))
		return -EINVAL;
	v = json_object_get(o, "pt");
	if (v == NULL) {
		err_set(err, errlen, "pt: required");
		return -EINVAL;
	}
	if (get_range(v, "pt", 0, 127, &i, err, errlen))
		return -EINVAL;
	/* Participants multiplex RTP and RTCP on one port: RFC 5761 §4 keeps payload types
	 * 64..95 out so that RTCP packet types 192..223 are never mistaken for RTP. */
	if (i >= 64 && i <= 95) {
		err_set(err, errlen, "pt: 64..95 cannot be used with rtcp-mux (RFC 5761 section 4)");
		return -EINVAL;
	}
	r->pt = (uint8_t)i;
	if ((v = json_object_get(o, "clock_rate"))) {
		if (get_range(v, "clock_rate", 1, 1000000, &i, err, errlen))
			return -EINVAL;
		r->clock_rate = (uint32_t)i;
	} else {
		r->clock_rate = mr_rooms_guess_clock(r->kind, r->pt);
	}
	if ((v = json_object_get(o, "codec"))) {
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;
		size_t n = s ? json_string_length(v) : 0, k;

		if (s == NULL || n == 0 || n > MR_CODEC_LEN - 1) {
			err_set(err, errlen, "codec: must be a string of 1 to %d bytes",
				MR_CODEC_LEN - 1);
			return -EINVAL;
		}
		/* Media type subtype names (RFC 6838 §4.2): letters, digits and a few marks. */
		for (k = 0; k < n; k++) {
			char c = s[k];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
			      c == '+')) {
				err_set(err, errlen, "codec: only letters, digits and -._+ allowed");
				return -EINVAL;
			}
		}
		memcpy(r->codec, s, n + 1);
	}
	return 0;
}

int
mr_parse_stream_req(const char *body, size_t len, struct mr_stream_req *r, char *err,
		    size_t errlen)
{
	json_t *o = mr_json_body_load(body, len, err, errlen);
	int rc;

	memset(r, 0, sizeof(*r));
	if (o == NULL)
		return -EINVAL;
	rc = mr_parse_stream_json(o, NULL, r, err, errlen);
	json_decref(o);
	return rc;
}

void
mr_part_patch_clear(struct mr_part_patch *p)
{
	free(p->subs);
	memset(p, 0, sizeof(*p));
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
mr_parse_part_patch(const char *body, size_t len, struct mr_part_patch *p, char *err,
		    size_t errlen)
{
	static const char *const known[] = { "muted", "subscriptions", NULL };
	static const char *const kinds[] = { "audio", "video", NULL };
	json_t *o = mr_json_body_load(body, len, err, errlen), *v, *e;
	size_t i;
	int rc = -EINVAL;

	memset(p, 0, sizeof(*p));
	if (o == NULL)
		return -EINVAL;
	if (keys_check(o, known, NULL, "", err, errlen))
		goto out;
	if ((v = json_object_get(o, "muted"))) {
		unsigned int k;

		if (!json_is_object(v)) {
			err_set(err, errlen, "muted: must be an object {\"audio\": bool, "
				"\"video\": bool}");
			goto out;
		}
		if (keys_check(v, kinds, NULL, "muted.", err, errlen))
			goto out;
		for (k = 0; k < 2; k++) {
			char field[16];

			e = json_object_get(v, kinds[k]);
			if (e == NULL)
				continue;
			snprintf(field, sizeof(field), "muted.%s", kinds[k]);
			if (get_bool(e, field, &p->mute[k], err, errlen))
				goto out;
			p->has_mute[k] = 1;
		}
		if (!p->has_mute[0] && !p->has_mute[1]) {
			err_set(err, errlen, "muted: give 'audio' and/or 'video'");
			goto out;
		}
	}
	if ((v = json_object_get(o, "subscriptions"))) {
		if (!json_is_array(v)) {
			err_set(err, errlen, "subscriptions: must be an array of stream ids");
			goto out;
		}
		if (json_array_size(v) > MR_SUBS_MAX) {
			err_set(err, errlen, "subscriptions: more than %d entries", MR_SUBS_MAX);
			goto out;
		}
		p->has_subs = 1;
		p->subs = malloc((json_array_size(v) + 1) * sizeof(*p->subs));
		if (p->subs == NULL) {
			err_set(err, errlen, "subscriptions: out of memory");
			goto out;
		}
		json_array_foreach(v, i, e) {
			if (!json_is_string(e) ||
			    mr_rooms_id_parse(json_string_value(e), json_string_length(e),
					      &p->subs[i]) < 0) {
				err_set(err, errlen, "subscriptions[%zu]: must be a stream id "
					"(a string of decimal digits)", i);
				goto out;
			}
		}
		p->n_subs = (uint32_t)json_array_size(v);
		qsort(p->subs, p->n_subs, sizeof(*p->subs), u32_cmp);
		for (i = 1; i < p->n_subs; i++) {
			if (p->subs[i] == p->subs[i - 1]) {
				err_set(err, errlen, "subscriptions: stream '%" PRIu32
					"' given twice", p->subs[i]);
				goto out;
			}
		}
	}
	if (!p->has_subs && !p->has_mute[0] && !p->has_mute[1]) {
		err_set(err, errlen, "body: nothing to change");
		goto out;
	}
	rc = 0;
out:
	if (rc)
		mr_part_patch_clear(p);
	json_decref(o);
	return rc;
}

int
mr_parse_stream_patch(const char *body, size_t len, int *muted, char *err, size_t errlen)
{
	static const char *const known[] = { "muted", NULL };
	json_t *o = mr_json_body_load(body, len, err, errlen), *v;
	int rc = -EINVAL;

	if (o == NULL)
		return -EINVAL;
	if (keys_check(o, known, NULL, "", err, errlen))
		goto out;
	v = json_object_get(o, "muted");
	if (v == NULL) {
		err_set(err, errlen, "body: nothing to change");
		goto out;
	}
	if (get_bool(v, "muted", muted, err, errlen))
		goto out;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Pure helpers of the model */

uint32_t
mr_rooms_guess_clock(uint8_t kind, uint8_t pt)
{
	uint32_t r = mr_static_pt_clock_rate(pt);

	if (r != 0)
		return r;
	return kind == MR_KIND_AUDIO ? 48000 : 90000;
}

uint8_t
mr_rooms_guess_kind(uint8_t pt, uint8_t room_default)
{
	/* RFC 3551 §6, tables 4 and 5: 0..23 audio (assigned or reserved for audio), 24..34
	 * video; 35..95 unassigned or RTCP-conflicting, 96..127 dynamic. */
	if (pt <= 23)
		return MR_KIND_AUDIO;
	if (pt <= 34)
		return MR_KIND_VIDEO;
	return room_default;
}

size_t
mr_ssrc_map_size(uint32_t n)
{
	return sizeof(struct mr_dp_ssrc_map) + (size_t)n * sizeof(struct mr_dp_ssrc_ent);
}

static int
ssrc_ent_cmp(const void *a, const void *b)
{
	const struct mr_dp_ssrc_ent *x = a, *y = b;

	return x->ssrc < y->ssrc ? -1 : x->ssrc > y->ssrc;
}

int
mr_ssrc_map_fill(struct mr_dp_ssrc_map *m, const struct mr_dp_ssrc_ent *e, uint32_t n)
{
	uint32_t i;

	if (n != 0)
		memcpy(m->e, e, (size_t)n * sizeof(*e));
	qsort(m->e, n, sizeof(*e), ssrc_ent_cmp);
	for (i = 1; i < n; i++)
		if (m->e[i].ssrc == m->e[i - 1].ssrc)
			return -EEXIST;
	m->n = n;
	return 0;
}

struct mr_dp_stream *
mr_ssrc_map_find(const struct mr_dp_ssrc_map *m, uint32_t ssrc)
{
	uint32_t lo = 0, hi = m->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (m->e[mid].ssrc == ssrc)
			return m->e[mid].st;
		if (m->e[mid].ssrc < ssrc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

size_t
mr_sublist_size(uint32_t n)
{
	return sizeof(struct mr_dp_sublist) + (size_t)n * sizeof(struct mr_dp_part *);
}

uint32_t
mr_sublist_fill(struct mr_dp_sublist *l, struct mr_dp_part *const *parts, const uint8_t *want,
		uint32_t n, const struct mr_dp_part *pub)
{
	uint32_t i, k = 0;

	for (i = 0; i < n; i++)
		if (want[i] && parts[i] != pub)
			l->sub[k++] = parts[i];
	l->n = k;
	return k;
}

int
mr_sublist_same(const struct mr_dp_sublist *a, const struct mr_dp_sublist *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return a->n == b->n && memcmp(a->sub, b->sub, (size_t)a->n * sizeof(a->sub[0])) == 0;
}

void
mr_speaker_init(struct mr_speaker *s)
{
	memset(s, 0, sizeof(*s));
	s->level_q8 = MR_LEVEL_SILENCE_Q8;
}

int
mr_speaker_look(struct mr_speaker *s, const struct mr_speaker_in *in, unsigned int n)
{
	const struct mr_speaker_in *best = NULL;
	uint32_t cur_level = MR_LEVEL_SILENCE_Q8;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (!in[i].active || in[i].level_q8 >= MR_SPK_SILENCE_Q8)
			continue;
		if (best == NULL || in[i].level_q8 < best->level_q8)
			best = &in[i];
		/* The speaker's own loudest active stream is its level now. */
		if (in[i].part == s->part && in[i].level_q8 < cur_level)
			cur_level = in[i].level_q8;
	}
	if (s->part != 0)
		s->level_q8 = cur_level;
	if (best == NULL || best->part == s->part) {
		s->challenger = 0;
		s->wins = 0;
		if (best != NULL)
			s->stream = best->stream;
		return 0;
	}
	if (s->part == 0) {
		s->part = best->part;
		s->stream = best->stream;
		s->level_q8 = best->level_q8;
		s->challenger = 0;
		s->wins = 0;
		return 1;
	}
	if (best->level_q8 + MR_SPK_MARGIN_Q8 > cur_level) {
		/* Not louder by the margin: no challenge (a slight edge is not a turn). */
		s->challenger = 0;
		s->wins = 0;
		return 0;
	}
	if (s->challenger != best->part) {
		s->challenger = best->part;
		s->wins = 0;
	}
	if (++s->wins < MR_SPK_LOOKS)
		return 0;
	s->part = best->part;
	s->stream = best->stream;
	s->level_q8 = best->level_q8;
	s->challenger = 0;
	s->wins = 0;
	return 1;
}

int
mr_speaker_emit_due(struct mr_speaker *s, uint64_t now_ms)
{
	if (s->part == s->emitted)
		return 0;
	if (s->announced && now_ms - s->emit_ms < MR_SPK_EMIT_MS)
		return 0;
	s->announced = 1;
	s->emitted = s->part;
	s->emit_ms = now_ms;
	return 1;
}

void
mr_speaker_forget(struct mr_speaker *s, uint32_t part)
{
	if (s->challenger == part) {
		s->challenger = 0;
		s->wins = 0;
	}
	if (s->part == part) {
		s->part = 0;
		s->stream = 0;
		s->level_q8 = MR_LEVEL_SILENCE_Q8;
	}
}

double
mr_rooms_mos(double loss_up, double loss_down, double jitter_up_ms, double jitter_down_ms,
	     double rtt_ms, const char *codec)
{
	struct mr_quality_in q;

	if (loss_up < 0)
		loss_up = 0;
	if (loss_down < 0)
		loss_down = 0;
	/* Losses on the two hops are independent: what survives both is the product. */
	q.loss = 1.0 - (1.0 - (loss_up > 1 ? 1 : loss_up)) * (1.0 - (loss_down > 1 ? 1 : loss_down));
	q.jitter_ms = jitter_up_ms > jitter_down_ms ? jitter_up_ms : jitter_down_ms;
	q.rtt_ms = rtt_ms;
	q.codec = mr_codec_from_name(codec);
	return mr_mos_estimate(&q);
}

/* ------------------------------------------------------------------------------------------ */
/* Memory the dataplane reads, and its deferred release */

/* SSRC maps and subscriber lists are allocated with their defer node in front of them, so
 * that retiring one can never fail for want of memory. */
#define MR_DPMEM_HDR RTE_ALIGN_CEIL(sizeof(struct mr_defer), RTE_CACHE_LINE_SIZE)

static void *
mr_dpmem_alloc(size_t size)
{
	uint8_t *base = rte_zmalloc("mr_room_list", MR_DPMEM_HDR + size, RTE_CACHE_LINE_SIZE);

	return base == NULL ? NULL : base + MR_DPMEM_HDR;
}

static void
mr_dpmem_free_now(void *p)
{
	if (p != NULL)
		rte_free((uint8_t *)p - MR_DPMEM_HDR);
}

static void
mr_dpmem_defer_free(struct mr_defer *d, void *arg)
{
	struct mr_rooms *rs = arg;

	rs->n.retiring--;
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
static void
mr_dpmem_defer(struct mr_rooms *rs, void *p)
{
	if (p != NULL)
		mr_room_defer(rs, (struct mr_defer *)((uint8_t *)p - MR_DPMEM_HDR),
			      MR_DEFER_NO_OWNER, &mr_dpmem_defer_ops);
}

/* Send a command to a room's owner (cmdq.h): wait = 0 gives up at once on a full ring, for
 * commands that are only worth sending now, such as receiver reports. 0 or -EBUSY. */
static int
mr_room_cmd(struct mr_rooms *rs, unsigned int w, uint32_t type, void *obj, int wait)
{
	struct mr_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = type;
	c.obj = obj;
	return mr_cmdq_send(&rs->a->cmdq, w, &c, 1, wait, NULL);
}

static void
mr_rtx_cache_free(struct mr_rtx_cache *c)
{
	if (c == NULL)
		return;
	rte_free(c->slot);
	rte_free(c->data);
	rte_free(c);
}

static void
mr_stream_free_now(struct mr_cp_stream *st)
{
	if (st->dp != NULL) {
		mr_rtx_cache_free(st->dp->cache);
		mr_dpmem_free_now(st->dp->subs);
		rte_free(st->dp);
	}
	free(st);
}

static void mr_tokens_del(struct mr_rooms *rs, struct mr_cp_part *p);

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
	rte_free(p->dp);
	free(p->subs);
	free(p);
}

static void
mr_room_free_now(struct mr_cp_room *r)
{
	if (r->dp != NULL) {
		mr_dpmem_free_now(r->dp->map);
		rte_free(r->dp);
	}
	free(r);
}

static int mr_room_sync(struct mr_rooms *rs, struct mr_cp_room *r);

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

static int
mr_part_defer_ready(struct mr_defer *d, void *arg)
{
	return mr_room_in_step(arg, container_of(d, struct mr_cp_part, defer)->room);
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
	return container_of(d, struct mr_cp_room, defer)->n_dying == 0;
}

static void
mr_room_defer_free(struct mr_defer *d, void *arg)
{
	struct mr_rooms *rs = arg;

	rs->n.retiring--;
	mr_room_free_now(container_of(d, struct mr_cp_room, defer));
}

static const struct mr_defer_ops mr_room_defer_ops = {
	.ready = mr_room_defer_ready,
	.free = mr_room_defer_free,
};

/* A stream out of the model and its lists: freed once the owner applied the commands sent
 * so far (receiver reports name it) and a grace period passed. */
static void
mr_stream_defer(struct mr_rooms *rs, struct mr_cp_room *r, struct mr_cp_stream *st)
{
	r->n_dying++;
	mr_room_defer(rs, &st->defer, r->owner, &mr_stream_defer_ops);
}

/* ------------------------------------------------------------------------------------------ */
/* Events */

static json_t *
mr_idj(uint32_t id)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%" PRIu32, id);
	return json_string(buf);
}

static void
mr_emit(struct mr_rooms *rs, const struct mr_cp_room *r, uint32_t only, uint32_t except,
	json_t *ev)
{
	if (ev == NULL)
		return;
	json_object_set_new(ev, "room", mr_idj(r->id));
	if (rs->cb != NULL)
		rs->cb(rs->cb_arg, r->id, only, except, ev);
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

static struct mr_cp_room *
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

static struct mr_cp_part *
mr_part_find(const struct mr_cp_room *r, uint32_t id)
{
	struct mr_cp_part *p;

	TAILQ_FOREACH(p, &r->parts, link)
		if (p->id == id)
			return p;
	return NULL;
}

static struct mr_cp_stream *
mr_stream_find_in(const struct mr_cp_part *p, uint32_t id)
{
	struct mr_cp_stream *st;

	TAILQ_FOREACH(st, &p->streams, link)
		if (st->id == id)
			return st;
	return NULL;
}

static struct mr_cp_stream *
mr_stream_find(const struct mr_cp_room *r, uint32_t id)
{
	struct mr_cp_part *p;
	struct mr_cp_stream *st;

	TAILQ_FOREACH(p, &r->parts, link)
		if ((st = mr_stream_find_in(p, id)) != NULL)
			return st;
	return NULL;
}

static struct mr_cp_stream *
mr_stream_by_ssrc(const struct mr_cp_room *r, uint32_t ssrc)
{
	struct mr_cp_part *p;
	struct mr_cp_stream *st;

	TAILQ_FOREACH(p, &r->parts, link)
		TAILQ_FOREACH(st, &p->streams, link)
			if (st->dp->ssrc == ssrc)
				return st;
	return NULL;
}

static int
mr_part_subscribed(const struct mr_cp_part *p, uint32_t stream)
{
	return bsearch(&stream, p->subs, p->n_subs, sizeof(*p->subs), u32_cmp) != NULL;
}

/* Room, participant (and stream) from ids, or a 404 in *out. */
static int
mr_lookup(struct mr_rooms *rs, uint32_t room, uint32_t part, struct mr_cp_room **r,
	  struct mr_cp_part **p, json_t **out)
{
	*r = mr_room_find(rs, room);
	if (*r == NULL)
		return mr_err(out, 404, "room: no such room '%" PRIu32 "'", room);
	if (p == NULL)
		return 0;
	*p = mr_part_find(*r, part);
	if (*p == NULL)
		return mr_err(out, 404, "participant: no such participant '%" PRIu32
			      "' in room %" PRIu32, part, room);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Bringing the dataplane's lists in step with the model */

/* Build and publish every subscriber list that differs from the model, then the SSRC map.
 * On failure (memory) the room stays dirty: the tick tries again, and nothing removed from
 * the model is freed before the lists no longer reference it. */
static int
mr_room_sync(struct mr_rooms *rs, struct mr_cp_room *r)
{
	struct mr_dp_part **parts = NULL;
	struct mr_cp_part **cps = NULL;
	struct mr_dp_ssrc_ent *ents = NULL;
	struct mr_dp_sublist *tmp = NULL;
	struct mr_dp_ssrc_map *map;
	struct mr_cp_part *p;
	struct mr_cp_stream *st;
	uint8_t *want = NULL;
	uint32_t i, np = 0, ns = 0;
	int rc = -ENOMEM;

	parts = malloc((r->n_parts + 1) * sizeof(*parts));
	cps = malloc((r->n_parts + 1) * sizeof(*cps));
	want = malloc(r->n_parts + 1);
	ents = malloc((r->n_streams + 1) * sizeof(*ents));
	tmp = malloc(mr_sublist_size(r->n_parts));
	if (parts == NULL || cps == NULL || want == NULL || ents == NULL || tmp == NULL)
		goto out;
	TAILQ_FOREACH(p, &r->parts, link) {
		cps[np] = p;
		parts[np++] = p->dp;
	}
	TAILQ_FOREACH(p, &r->parts, link) {
		TAILQ_FOREACH(st, &p->streams, link) {
			struct mr_dp_sublist *nl;

			for (i = 0; i < np; i++)
				want[i] = r->auto_subscribe || mr_part_subscribed(cps[i], st->id);
			mr_sublist_fill(tmp, parts, want, np, p->dp);
			if (mr_sublist_same(tmp, st->dp->subs))
				goto map_entry;
			nl = mr_dpmem_alloc(mr_sublist_size(tmp->n));
			if (nl == NULL)
				goto out;
			memcpy(nl, tmp, mr_sublist_size(tmp->n));
			/* Release: the worker's acquire load of subs sees a filled list. */
			mr_dpmem_defer(rs, __atomic_exchange_n(&st->dp->subs, nl, __ATOMIC_RELEASE));
map_entry:
			ents[ns].ssrc = st->dp->ssrc;
			ents[ns++].st = st->dp;
		}
	}
	map = r->dp->map;
	if (map != NULL && map->n == ns) {
		/* Same size and every SSRC of the model maps to its stream: the same map
		 * (the model's SSRCs are unique). */
		for (i = 0; i < ns; i++)
			if (mr_ssrc_map_find(map, ents[i].ssrc) != ents[i].st)
				break;
		if (i == ns) {
			rc = 0;
			goto out;
		}
	}
	map = mr_dpmem_alloc(mr_ssrc_map_size(ns));
	if (map == NULL)
		goto out;
	if (mr_ssrc_map_fill(map, ents, ns) < 0) {
		/* Publication refuses clashes, so this is a bug: never publish it. */
		RTE_LOG(ERR, MRELAY, "room %" PRIu32 ": SSRC clash in the model\n", r->id);
		mr_dpmem_free_now(map);
		rc = -EEXIST;
		goto out;
	}
	/* Release: the worker's acquire load of map sees filled entries and streams. */
	mr_dpmem_defer(rs, __atomic_exchange_n(&r->dp->map, map, __ATOMIC_RELEASE));
	rc = 0;
out:
	free(parts);
	free(cps);
	free(want);
	free(ents);
	free(tmp);
	r->dirty = rc != 0;
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Rooms, participants, streams */

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

static int
mr_room_create(struct mr_rooms *rs, const struct mr_room_req *req, struct mr_cp_room **out,
	       json_t **body)
{
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
	map = mr_dpmem_alloc(mr_ssrc_map_size(0));
	if (r->dp == NULL || map == NULL) {
		mr_dpmem_free_now(map);
		rte_free(r->dp);
		free(r);
		rs->n.rejected++;
		return mr_err(body, 503, "memory: no room for another room");
	}
	r->id = ++rs->next_room;
	snprintf(r->name, sizeof(r->name), "%s", req->name);
	r->max_participants = req->max_participants ? req->max_participants :
		rs->cfg->max_participants;
	r->auto_subscribe = req->auto_subscribe != 0;
	r->auto_publish = req->auto_publish != 0;
	r->auto_publish_kind = req->auto_publish_kind;
	/* The least loaded worker owns the whole room: every participant's endpoint, so that
	 * fan-out reads no state another lcore writes (room_dp.h). */
	r->owner = mr_flows_least_loaded(rs->a->flows);
	r->created = time(NULL);
	TAILQ_INIT(&r->parts);
	mr_speaker_init(&r->spk);
	r->dp->id = r->id;
	r->dp->owner = (uint8_t)r->owner;
	r->dp->auto_publish = r->auto_publish;
	mr_ntp_now(&r->dp->ntp_base, &r->dp->tsc_base);
	r->dp->map = map;
	/* Ids only grow: appending keeps the array sorted. */
	rs->room[rs->n_rooms++] = r;
	rs->n.active++;
	rs->n.created++;
	*out = r;
	return 201;
}

static uint32_t
mr_room_slot(const struct mr_rooms *rs, const struct mr_cp_room *r)
{
	uint32_t lo = 0, hi = rs->n_rooms;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (rs->room[mid]->id < r->id)
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
}

static const char *const mr_leave_name[] = {
	[MR_LEAVE_LEFT] = "left", [MR_LEAVE_KICKED] = "kicked", [MR_LEAVE_TIMEOUT] = "timeout",
	[MR_LEAVE_ROOM_DELETED] = "room_deleted",
};

/* Take a participant out of the model and the dataplane; its memory follows once the owner
 * applied the commands sent before and a grace period passed. */
static void
mr_part_remove(struct mr_rooms *rs, struct mr_cp_part *p, enum mr_leave_reason why)
{
	struct mr_cp_room *r = p->room;

	mr_emit(rs, r, 0, why == MR_LEAVE_LEFT ? p->id : 0,
		json_pack("{s:s,s:o,s:s}", "type", "participant_left", "participant",
			  mr_idj(p->id), "reason", mr_leave_name[why]));
	TAILQ_REMOVE(&r->parts, p, link);
	r->n_parts--;
	r->n_streams -= p->n_streams;
	rs->n.streams -= p->n_streams;
	rs->n.participants--;
	r->n_dying++;
	mr_tokens_del(rs, p);
	mr_speaker_forget(&r->spk, p->id);
	/* Out of every list first, then out of the flow table, then the deferral queue. */
	mr_room_sync(rs, r);
	mr_flows_del(rs->a->flows, p->pidx, &p->dp->local, p->dp->local.port, r->owner,
		     &p->steer);
	mr_flows_load_add(rs->a->flows, r->owner, -1);
	rs->owned[r->owner]--;
	mr_room_defer(rs, &p->defer, r->owner, &mr_part_defer_ops);
}

static void
mr_room_delete(struct mr_rooms *rs, struct mr_cp_room *r)
{
	struct mr_cp_part *p;
	uint32_t slot = mr_room_slot(rs, r);

	while ((p = TAILQ_FIRST(&r->parts)) != NULL)
		mr_part_remove(rs, p, MR_LEAVE_ROOM_DELETED);
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

static int
mr_part_create(struct mr_rooms *rs, struct mr_cp_room *r, const struct mr_part_req *req,
	       struct mr_cp_part **out, json_t **body)
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
	if (mr_random(rnd, sizeof(rnd)) < 0 || mr_random(&relay_ssrc, sizeof(relay_ssrc)) < 0)
		return mr_err(body, 500, "internal: no random numbers (getrandom)");
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
	p->created = time(NULL);
	snprintf(p->name, sizeof(p->name), "%s", req->name);
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(p->token + 2 * i, 3, "%02x", rnd[i]);
	if (mr_flows_ep_alloc(rs->a->flows, pidx, fam, r->owner, &p->dp->local) < 0) {
		rte_free(p->dp);
		free(p);
		rs->n.rejected++;
		return mr_err(body, 503, "ports: no free relay ports");
	}
	p->id = ++r->next_part;
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

	/* Publish: the owner map was set by mr_flows_ep_alloc; the participant is whole before
	 * its key is added (a release). */
	if (mr_flows_add(rs->a->flows, pidx, &p->dp->local, p->dp->local.port, r->owner,
			 mr_room_flow_val(p->dp), &p->steer) < 0) {
		/* Never visible to a worker: no grace period needed. */
		mr_flows_ep_free(rs->a->flows, pidx, &p->dp->local);
		rte_free(p->dp);
		free(p);
		rs->n.rejected++;
		return mr_err(body, 503, "flows: table of lcore %u is full",
			      dp->w[r->owner]->lcore_id);
	}
	json_object_set_new(rs->tokens, p->token,
			    json_integer((json_int_t)((uint64_t)r->id << 32 | p->id)));
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

static struct mr_rtx_cache *
mr_rtx_cache_alloc(uint32_t size, uint32_t slot_bytes)
{
	struct mr_rtx_cache *c = rte_zmalloc("mr_rtx", sizeof(*c), RTE_CACHE_LINE_SIZE);

	if (c == NULL)
		return NULL;
	c->size = size;
	c->slot_bytes = slot_bytes;
	c->slot = rte_zmalloc("mr_rtx_slot", (size_t)size * sizeof(*c->slot), RTE_CACHE_LINE_SIZE);
	c->data = rte_malloc("mr_rtx_data", (size_t)size * slot_bytes, RTE_CACHE_LINE_SIZE);
	if (c->slot == NULL || c->data == NULL) {
		mr_rtx_cache_free(c);
		return NULL;
	}
	return c;
}

static json_t *mr_stream_json(struct mr_rooms *rs, const struct mr_cp_stream *st, int full);

static int
mr_stream_publish(struct mr_rooms *rs, struct mr_cp_part *p, const struct mr_stream_req *req,
		  int autopub, struct mr_cp_stream **out, json_t **body)
{
	struct mr_cp_room *r = p->room;
	struct mr_cp_stream *st;
	struct mr_dp_sublist *empty;
	uint64_t hz = rs->a->dp->tsc_hz;

	if (p->n_streams >= rs->cfg->max_streams)
		return mr_err(body, 409, "streams: participant %" PRIu32 " already publishes %u "
			      "streams (rooms.max_streams)", p->id, p->n_streams);
	st = mr_stream_by_ssrc(r, req->ssrc);
	if (st != NULL) {
		rs->n.ssrc_clashes++;
		return mr_err(body, 409, "ssrc: %" PRIu32 " is already published in room %"
			      PRIu32 " (stream %" PRIu32 " of participant %" PRIu32 ")",
			      req->ssrc, r->id, st->id, st->pub->id);
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return mr_err(body, 500, "internal: out of memory");
	st->dp = rte_zmalloc("mr_stream", sizeof(*st->dp), RTE_CACHE_LINE_SIZE);
	empty = mr_dpmem_alloc(mr_sublist_size(0));
	if (st->dp == NULL || empty == NULL)
		goto nomem;
	st->dp->subs = empty;
	/* NACK answers need the budget too: without retransmissions, NACKs go to the
	 * publisher and no cache is kept. */
	if (rs->cfg->nack_cache && rs->cfg->nack_budget) {
		st->dp->cache = mr_rtx_cache_alloc(rs->cfg->nack_cache,
						   req->kind == MR_KIND_VIDEO ?
						   MR_RTX_SLOT_VIDEO : MR_RTX_SLOT_AUDIO);
		if (st->dp->cache == NULL)
			goto nomem;
	}
	st->id = ++r->next_stream;
	st->pub = p;
	st->room = r;
	st->autopub = autopub != 0;
	st->created = time(NULL);
	st->mos = -1;
	snprintf(st->codec, sizeof(st->codec), "%s", req->codec);
	st->dp->ssrc = req->ssrc;
	st->dp->id = st->id;
	st->dp->kind = req->kind;
	st->dp->pt = req->pt;
	st->dp->clock_rate = req->clock_rate;
	st->dp->ts_mult = req->clock_rate ? ((uint64_t)req->clock_rate << 32) / hz : 0;
	if (req->clock_rate && st->dp->ts_mult == 0)
		st->dp->ts_mult = 1;
	st->dp->pub = p->dp;
	st->dp->muted = p->kind_muted[req->kind];
	st->dp->level_q8 = MR_LEVEL_SILENCE_Q8;
	mr_rtp_stats_init(&st->dp->rtp);
	TAILQ_INSERT_TAIL(&p->streams, st, link);
	p->n_streams++;
	r->n_streams++;
	rs->n.streams++;
	if (mr_room_sync(rs, r) < 0) {
		/* Not (fully) published: take it out again; it is freed once the lists are in
		 * step (the tick retries). */
		TAILQ_REMOVE(&p->streams, st, link);
		p->n_streams--;
		r->n_streams--;
		rs->n.streams--;
		mr_room_sync(rs, r);
		mr_stream_defer(rs, r, st);
		rs->n.rejected++;
		return mr_err(body, 503, "memory: no room for the stream's lists");
	}
	mr_emit(rs, r, 0, p->id, json_pack("{s:s,s:o,s:o}", "type", "stream_published",
					   "participant", mr_idj(p->id), "stream",
					   mr_stream_json(rs, st, 0)));
	*out = st;
	return 201;

nomem:
	if (st->dp != NULL)
		mr_rtx_cache_free(st->dp->cache);
	mr_dpmem_free_now(empty);
	rte_free(st->dp);
	free(st);
	rs->n.rejected++;
	return mr_err(body, 503, "memory: no room for another stream (rooms.nack_cache = %u)",
		      rs->cfg->nack_cache);
}

static void
mr_stream_remove(struct mr_rooms *rs, struct mr_cp_stream *st)
{
	struct mr_cp_part *p = st->pub, *q;
	struct mr_cp_room *r = p->room;
	uint32_t i;

	TAILQ_REMOVE(&p->streams, st, link);
	p->n_streams--;
	r->n_streams--;
	rs->n.streams--;
	/* Stream ids are never reused: drop them from explicit subscriptions for tidiness. */
	TAILQ_FOREACH(q, &r->parts, link) {
		for (i = 0; i < q->n_subs; i++) {
			if (q->subs[i] == st->id) {
				memmove(&q->subs[i], &q->subs[i + 1],
					(q->n_subs - i - 1) * sizeof(q->subs[0]));
				q->n_subs--;
				break;
			}
		}
	}
	if (r->spk.stream == st->id)
		r->spk.stream = 0;
	mr_room_sync(rs, r);
	/* Receiver report commands may name the stream: wait until the owner applied
	 * everything sent so far, then a grace period. */
	mr_stream_defer(rs, r, st);
	mr_emit(rs, r, 0, p->id, json_pack("{s:s,s:o,s:o}", "type", "stream_unpublished",
					   "participant", mr_idj(p->id), "stream",
					   mr_idj(st->id)));
}

/* Mute or unmute a stream: one relaxed byte store (room_dp.h: the owner reads it relaxed
 * per packet; a packet or two either way does not matter). */
static void
mr_stream_mute(struct mr_rooms *rs, struct mr_cp_stream *st, int muted)
{
	struct mr_cp_room *r = st->pub->room;

	if (__atomic_load_n(&st->dp->muted, __ATOMIC_RELAXED) == (uint8_t)muted)
		return;
	__atomic_store_n(&st->dp->muted, (uint8_t)muted, __ATOMIC_RELAXED);
	mr_emit(rs, r, 0, 0, json_pack("{s:s,s:o,s:o,s:s}", "type", muted ? "muted" : "unmuted",
				       "participant", mr_idj(st->pub->id), "stream",
				       mr_idj(st->id), "kind", mr_kind_name[st->dp->kind]));
}

/* ------------------------------------------------------------------------------------------ */
/* JSON views */

/* Counters the owner writes with plain stores: relaxed atomic loads, each word whole
 * (DESIGN.md §2 "Counters"). */
static void
mr_load_words(void *dst, const void *src, size_t len)
{
	const uint32_t *s = src;
	uint32_t *d = dst;
	size_t i;

	memset(dst, 0, len);
	for (i = 0; i < len / 4; i++)
		d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

static void
mr_load_u64(void *dst, const void *src, size_t len)
{
	const uint64_t *s = src;
	uint64_t *d = dst;
	size_t i;

	for (i = 0; i < len / 8; i++)
		d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

static json_t *
mr_real_or_null(double v, int have)
{
	return have ? json_real(v) : json_null();
}

/* What the tick and the views need of a stream's quality, read once. */
struct mr_stream_q {
	struct mr_stream_ctr c;
	struct mr_rtp_stats rtp;
	struct mr_stream_rx_report rx;
	uint32_t level_q8, level_pkts;
	double loss_pct;		/* publisher → relay, since publication */
	double jitter_ms;		/* publisher → relay (A.8), -1 unknown */
	double sub_loss;		/* what subscribers report (last report), fraction */
	double sub_jitter_ms;		/* -1 unknown */
	double rtt_ms;			/* -1 unknown */
};

static void
mr_stream_read(const struct mr_cp_stream *st, struct mr_stream_q *q)
{
	const struct mr_dp_stream *d = st->dp;
	uint32_t rate = d->clock_rate;
	uint64_t exp;
	int64_t lost;

	mr_load_u64(&q->c, &d->ctr, sizeof(q->c));
	mr_load_words(&q->rtp, &d->rtp, sizeof(q->rtp));
	mr_load_words(&q->rx, &d->rx, sizeof(q->rx));
	q->level_q8 = __atomic_load_n(&d->level_q8, __ATOMIC_RELAXED);
	q->level_pkts = __atomic_load_n(&d->level_pkts, __ATOMIC_RELAXED);
	exp = mr_rtp_stats_expected(&q->rtp);
	lost = mr_rtp_stats_lost(&q->rtp);
	q->loss_pct = exp && lost > 0 ? (double)lost * 100.0 / (double)exp : 0.0;
	q->jitter_ms = rate && mr_rtp_stats_have_ssrc(&q->rtp) ?
		mr_rtp_stats_jitter(&q->rtp) * 1000.0 / rate : -1;
	q->sub_loss = q->rx.reports ? q->rx.fraction_lost / MR_FRACTION_ONE : 0;
	q->sub_jitter_ms = q->rx.reports && rate ? q->rx.jitter * 1000.0 / rate : -1;
	q->rtt_ms = q->rx.rtt_ms ? (double)q->rx.rtt_ms : -1;
}

/* MOS of an audio stream as subscribers get it (the E-model is defined for speech only:
 * video streams have none). */
static double
mr_stream_mos_now(const struct mr_cp_stream *st, const struct mr_stream_q *q)
{
	if (st->dp->kind != MR_KIND_AUDIO || q->c.pkts_in == 0)
		return -1;
	return mr_rooms_mos(st->loss_up, q->sub_loss, q->jitter_ms > 0 ? q->jitter_ms : 0,
			    q->sub_jitter_ms > 0 ? q->sub_jitter_ms : 0,
			    q->rtt_ms > 0 ? q->rtt_ms : 0,
			    st->codec[0] ? st->codec : NULL);
}

static json_t *
mr_stream_json(struct mr_rooms *rs, const struct mr_cp_stream *st, int full)
{
	const struct mr_dp_stream *d = st->dp;
	const struct mr_dp_sublist *subs = d->subs;
	json_t *j;

	(void)rs;
	j = json_pack("{s:o,s:o,s:I,s:s,s:i,s:I,s:o,s:b,s:i,s:b}",
		      "id", mr_idj(st->id), "participant", mr_idj(st->pub->id),
		      "ssrc", (json_int_t)d->ssrc, "kind", mr_kind_name[d->kind],
		      "pt", (int)d->pt, "clock_rate", (json_int_t)d->clock_rate,
		      "codec", st->codec[0] ? json_string(st->codec) : json_null(),
		      "muted", (int)__atomic_load_n(&d->muted, __ATOMIC_RELAXED),
		      "subscribers", (int)(subs ? subs->n : 0),
		      "auto_published", (int)st->autopub);
	if (j != NULL && full) {
		struct mr_stream_q q;
		double mos;
		json_t *sj;

		mr_stream_read(st, &q);
		mos = mr_stream_mos_now(st, &q);
		sj = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:o,s:f,s:o,s:o,s:I,s:o}",
			       "packets_in", (json_int_t)q.c.pkts_in,
			       "bytes_in", (json_int_t)q.c.bytes_in,
			       "packets_out", (json_int_t)q.c.pkts_out,
			       "bytes_out", (json_int_t)q.c.bytes_out,
			       "rtp_packets", (json_int_t)mr_rtp_stats_received(&q.rtp),
			       "rtp_expected", (json_int_t)mr_rtp_stats_expected(&q.rtp),
			       "rtp_lost", (json_int_t)mr_rtp_stats_lost(&q.rtp),
			       "loss_pct", q.loss_pct,
			       "jitter_ms", mr_real_or_null(q.jitter_ms, q.jitter_ms >= 0),
			       "subscriber_loss_pct", q.sub_loss * 100.0,
			       "subscriber_jitter_ms", mr_real_or_null(q.sub_jitter_ms,
								       q.sub_jitter_ms >= 0),
			       "rtt_ms", mr_real_or_null(q.rtt_ms, q.rtt_ms >= 0),
			       "subscriber_reports", (json_int_t)q.rx.reports,
			       "mos", mr_real_or_null(mos, mos > 0));
		if (sj != NULL) {
			json_object_set_new(sj, "nack", json_pack("{s:I,s:I,s:I,s:I}",
				"received", (json_int_t)q.c.nack_rx,
				"retransmitted", (json_int_t)q.c.rtx_sent,
				"budget_dropped", (json_int_t)q.c.rtx_budget_drop,
				"forwarded", (json_int_t)q.c.nack_fwd));
			json_object_set_new(sj, "pli", json_pack("{s:I,s:I}",
				"forwarded", (json_int_t)q.c.pli_fwd,
				"rate_limited", (json_int_t)q.c.pli_limited));
			json_object_set_new(sj, "sr_forwarded", json_integer(q.c.rtcp_sr));
			json_object_set_new(sj, "rr_sent", json_integer(q.c.rr_sent));
			json_object_set_new(sj, "drop_muted", json_integer(q.c.drop_muted));
		}
		json_object_set_new(j, "stats", sj);
		json_object_set_new(j, "audio_level_dbov",
				    d->kind == MR_KIND_AUDIO && q.level_pkts ?
				    json_real(-(double)q.level_q8 / 256.0) : json_null());
	}
	return j;
}

enum { PJ_SUMMARY = 0, PJ_FULL = 1, PJ_TOKEN = 2 };

static json_t *
mr_part_json(struct mr_rooms *rs, const struct mr_cp_part *p, int flags)
{
	const struct mr_cp_room *r = p->room;
	struct mr_cp_stream *st;
	json_t *j, *streams = json_array();

	TAILQ_FOREACH(st, &p->streams, link)
		json_array_append_new(streams, mr_stream_json(rs, st, flags & PJ_FULL));
	j = json_pack("{s:o,s:s,s:o,s:b,s:{s:b,s:b},s:o}",
		      "id", mr_idj(p->id), "name", p->name, "local", mr_json_ep(&p->dp->local),
		      "connected", (int)p->connected,
		      "muted", "audio", (int)p->kind_muted[MR_KIND_AUDIO],
		      "video", (int)p->kind_muted[MR_KIND_VIDEO], "streams", streams);
	if (j == NULL)
		return NULL;
	if (flags & PJ_TOKEN)
		json_object_set_new(j, "token", json_string(p->token));
	if (flags & PJ_FULL) {
		struct mr_dp_path path;
		struct mr_part_ctr c;
		json_t *subs;
		uint32_t sn, i;

		/* Seqcount reader side: the owner brackets changes of path. */
		do {
			sn = rte_seqcount_read_begin(&p->dp->seq);
			memcpy(&path, &p->dp->path, sizeof(path));
		} while (rte_seqcount_read_retry(&p->dp->seq, sn));
		mr_load_u64(&c, &p->dp->ctr, sizeof(c));
		json_object_set_new(j, "remote", path.state == MR_PATH_NONE ? json_null() :
				    mr_json_ep(&path.remote));
		json_object_set_new(j, "interface",
				    json_string(rs->a->cfg->ports[p->pidx].name));
		json_object_set_new(j, "relay_ssrc", json_integer(p->dp->relay_ssrc));
		json_object_set_new(j, "audio_level_ext_id", json_integer(p->dp->level_ext_id));
		json_object_set_new(j, "created", json_integer(p->created));
		if (r->auto_subscribe) {
			subs = json_null();
		} else {
			subs = json_array();
			for (i = 0; i < p->n_subs; i++)
				json_array_append_new(subs, mr_idj(p->subs[i]));
		}
		json_object_set_new(j, "subscriptions", subs);
		json_object_set_new(j, "counters", json_pack(
			"{s:I,s:I,s:I,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I}}",
			"packets_in", (json_int_t)c.pkts_in, "bytes_in", (json_int_t)c.bytes_in,
			"packets_out", (json_int_t)c.pkts_out,
			"bytes_out", (json_int_t)c.bytes_out, "rtcp_in", (json_int_t)c.rtcp_in,
			"auto_publish_requests", (json_int_t)c.autopub_req,
			"drops", "source_mismatch", (json_int_t)c.drop_src,
			"unknown_ssrc", (json_int_t)c.drop_unknown_ssrc,
			"ssrc_of_another", (json_int_t)c.drop_not_publisher,
			"rtcp_malformed", (json_int_t)c.drop_rtcp,
			"no_remote", (json_int_t)c.drop_no_remote));
	}
	return j;
}

static json_t *
mr_speaker_json(const struct mr_cp_room *r)
{
	if (r->spk.part == 0)
		return json_null();
	return json_pack("{s:o,s:o,s:f}", "participant", mr_idj(r->spk.part),
			 "stream", r->spk.stream ? mr_idj(r->spk.stream) : json_null(),
			 "level_dbov", -(double)r->spk.level_q8 / 256.0);
}

static json_t *
mr_room_json(struct mr_rooms *rs, const struct mr_cp_room *r, int full)
{
	json_t *j;

	j = json_pack("{s:o,s:s,s:i,s:b,s:b,s:s,s:i,s:i,s:I,s:i}",
		      "id", mr_idj(r->id), "name", r->name,
		      "max_participants", (int)r->max_participants,
		      "auto_subscribe", (int)r->auto_subscribe,
		      "auto_publish", (int)r->auto_publish,
		      "auto_publish_kind", mr_kind_name[r->auto_publish_kind],
		      "participant_count", (int)r->n_parts, "stream_count", (int)r->n_streams,
		      "created", (json_int_t)r->created,
		      "owner_lcore", (int)rs->a->dp->w[r->owner]->lcore_id);
	if (j != NULL && full) {
		json_t *parts = json_array(), *levels = json_array();
		struct mr_cp_part *p;
		struct mr_cp_stream *st;

		TAILQ_FOREACH(p, &r->parts, link) {
			json_array_append_new(parts, mr_part_json(rs, p, PJ_FULL));
			TAILQ_FOREACH(st, &p->streams, link) {
				uint32_t lv, n;

				if (st->dp->kind != MR_KIND_AUDIO)
					continue;
				lv = __atomic_load_n(&st->dp->level_q8, __ATOMIC_RELAXED);
				n = __atomic_load_n(&st->dp->level_pkts, __ATOMIC_RELAXED);
				json_array_append_new(levels, json_pack("{s:o,s:o,s:o,s:b}",
					"participant", mr_idj(p->id), "stream", mr_idj(st->id),
					"level_dbov", n ? json_real(-(double)lv / 256.0) :
					json_null(),
					"muted", (int)__atomic_load_n(&st->dp->muted,
								     __ATOMIC_RELAXED)));
			}
		}
		json_object_set_new(j, "participants", parts);
		json_object_set_new(j, "audio_levels", levels);
		json_object_set_new(j, "active_speaker", mr_speaker_json(r));
	}
	return j;
}

/* ------------------------------------------------------------------------------------------ */
/* Signaling API (rooms.h); the REST handlers below call the same functions */

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
	int rc = mr_lookup(rs, room, part, &r, &p, out);

	if (rc)
		return rc;
	/* A second join comes from a new connection, maybe from elsewhere: let the media
	 * latch again at once rather than after relay.relatch_timeout_ms. */
	if (p->joined && mr_room_cmd(rs, r->owner, MR_CMD_PART_RESET, p->dp, 1) < 0)
		return mr_err(out, 503, "commands: the command ring of lcore %u is full",
			      rs->a->dp->w[r->owner]->lcore_id);
	p->joined = 1;
	p->connected = 1;
	mr_emit(rs, r, 0, p->id, json_pack("{s:s,s:o}", "type", "participant_joined",
					   "participant", mr_part_json(rs, p, PJ_SUMMARY)));
	*out = json_pack("{s:o,s:o}", "room", mr_room_json(rs, r, 1),
			 "participant", mr_part_json(rs, p, PJ_FULL | PJ_TOKEN));
	return 200;
}

int
mr_rooms_disconnect(struct mr_rooms *rs, uint32_t room, uint32_t part)
{
	struct mr_cp_room *r = mr_room_find(rs, room);
	struct mr_cp_part *p = r ? mr_part_find(r, part) : NULL;

	if (p == NULL)
		return 404;
	p->connected = 0;
	return 204;
}

int
mr_rooms_leave(struct mr_rooms *rs, uint32_t room, uint32_t part, enum mr_leave_reason why)
{
	struct mr_cp_room *r = mr_room_find(rs, room);
	struct mr_cp_part *p = r ? mr_part_find(r, part) : NULL;

	if (p == NULL || (unsigned int)why > MR_LEAVE_ROOM_DELETED)
		return 404;
	mr_part_remove(rs, p, why);
	return 204;
}

int
mr_rooms_publish(struct mr_rooms *rs, uint32_t room, uint32_t part,
		 const struct mr_stream_req *req, json_t **out)
{
	struct mr_cp_room *r;
	struct mr_cp_part *p;
	struct mr_cp_stream *st;
	int rc = mr_lookup(rs, room, part, &r, &p, out);

	if (rc)
		return rc;
	if (req->kind > MR_KIND_VIDEO || req->pt > 127)
		return mr_err(out, 400, "kind: must be 'audio' or 'video'");
	rc = mr_stream_publish(rs, p, req, 0, &st, out);
	if (rc != 201)
		return rc;
	*out = mr_stream_json(rs, st, 0);
	return 201;
}

int
mr_rooms_unpublish(struct mr_rooms *rs, uint32_t room, uint32_t part, uint32_t stream,
		   json_t **out)
{
	struct mr_cp_room *r;
	struct mr_cp_part *p;
	struct mr_cp_stream *st;
	int rc = mr_lookup(rs, room, part, &r, &p, out);

	if (rc)
		return rc;
	st = mr_stream_find_in(p, stream);
	if (st == NULL)
		return mr_err(out, 404, "stream: no such stream '%" PRIu32 "' of participant %"
			      PRIu32, stream, part);
	mr_stream_remove(rs, st);
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
	int rc = mr_lookup(rs, room, part, &r, &p, out);

	if (rc)
		return rc;
	if (stream != 0) {
		st = mr_stream_find_in(p, stream);
		if (st == NULL)
			return mr_err(out, 404, "stream: no such stream '%" PRIu32
				      "' of participant %" PRIu32, stream, part);
		mr_stream_mute(rs, st, muted != 0);
	} else {
		if (kind > MR_KIND_VIDEO)
			return mr_err(out, 400, "kind: must be 'audio' or 'video'");
		p->kind_muted[kind] = muted != 0;
		TAILQ_FOREACH(st, &p->streams, link)
			if (st->dp->kind == kind)
				mr_stream_mute(rs, st, muted != 0);
	}
	*out = mr_part_json(rs, p, PJ_FULL);
	return 200;
}

/* Check an explicit subscription set against the room: streams that exist and are not the
 * participant's own. 0 or a 400/409 in *out. */
static int
mr_subs_check(struct mr_cp_room *r, struct mr_cp_part *p, const uint32_t *ids, uint32_t n,
	      json_t **out)
{
	struct mr_cp_stream *st;
	uint32_t i;

	if (r->auto_subscribe)
		return mr_err(out, 409, "subscriptions: room %" PRIu32 " subscribes everyone to "
			      "every stream (auto_subscribe)", r->id);
	for (i = 0; i < n; i++) {
		st = mr_stream_find(r, ids[i]);
		if (st == NULL)
			return mr_err(out, 400, "subscriptions: no such stream '%" PRIu32
				      "' in room %" PRIu32, ids[i], r->id);
		if (st->pub == p)
			return mr_err(out, 400, "subscriptions: stream '%" PRIu32 "' is the "
				      "participant's own", ids[i]);
	}
	return 0;
}

static json_t *
mr_subs_json(const struct mr_cp_part *p)
{
	json_t *a = json_array();
	uint32_t i;

	for (i = 0; i < p->n_subs; i++)
		json_array_append_new(a, mr_idj(p->subs[i]));
	return json_pack("{s:o}", "subscriptions", a);
}

int
mr_rooms_subscribe(struct mr_rooms *rs, uint32_t room, uint32_t part, uint32_t stream, int on,
		   json_t **out)
{
	struct mr_cp_room *r;
	struct mr_cp_part *p;
	uint32_t *ns, i;
	int rc = mr_lookup(rs, room, part, &r, &p, out);

	if (rc)
		return rc;
	if (on) {
		rc = mr_subs_check(r, p, &stream, 1, out);
		if (rc)
			return rc;
		if (!mr_part_subscribed(p, stream)) {
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
			return mr_subs_check(r, p, NULL, 0, out);
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
	*out = mr_subs_json(p);
	return 200;
}

int
mr_rooms_part_stats(struct mr_rooms *rs, uint32_t room, uint32_t part, json_t **out)
{
	struct mr_cp_room *r;
	struct mr_cp_part *p;
	int rc = mr_lookup(rs, room, part, &r, &p, out);

	if (rc)
		return rc;
	*out = mr_part_json(rs, p, PJ_FULL);
	return 200;
}

/* ------------------------------------------------------------------------------------------ */
/* REST: everything under /v1/rooms */

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

static int
mr_http_part_patch(struct mr_rooms *rs, struct mr_cp_room *r, struct mr_cp_part *p,
		   const char *body, size_t len, json_t **out)
{
	struct mr_part_patch pt;
	struct mr_cp_stream *st;
	char err[256];
	unsigned int k;
	int rc;

	if (mr_parse_part_patch(body, len, &pt, err, sizeof(err)) < 0)
		return mr_err(out, 400, "%s", err);
	/* Check everything before changing anything. */
	if (pt.has_subs) {
		rc = mr_subs_check(r, p, pt.subs, pt.n_subs, out);
		if (rc) {
			mr_part_patch_clear(&pt);
			return rc;
		}
	}
	for (k = 0; k < 2; k++) {
		if (!pt.has_mute[k])
			continue;
		p->kind_muted[k] = pt.mute[k] != 0;
		TAILQ_FOREACH(st, &p->streams, link)
			if (st->dp->kind == k)
				mr_stream_mute(rs, st, pt.mute[k]);
	}
	if (pt.has_subs) {
		free(p->subs);
		p->subs = pt.subs;
		p->n_subs = pt.n_subs;
		pt.subs = NULL;
		mr_room_sync(rs, r);
	}
	mr_part_patch_clear(&pt);
	*out = mr_part_json(rs, p, PJ_FULL);
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
	if (n < 0 || (n >= 2 && (sl[1] != 12 || memcmp(seg[1], "participants", 12) != 0)) ||
	    (n >= 4 && (sl[3] != 7 || memcmp(seg[3], "streams", 7) != 0)))
		return mr_err(out, 404, "path: no such resource '/v1/rooms%s'",
			      mr_json_echo(path, buf, sizeof(buf)));
	if (n >= 1) {
		if (mr_rooms_id_parse(seg[0], sl[0], &rid) < 0 ||
		    (r = mr_room_find(rs, rid)) == NULL) {
			char id[24];

			snprintf(id, sizeof(id), "%.*s", (int)(sl[0] < 20 ? sl[0] : 20), seg[0]);
			return mr_err(out, 404, "room: no such room '%s'",
				      mr_json_echo(id, buf, sizeof(buf)));
		}
	}
	if (n >= 3) {
		if (mr_rooms_id_parse(seg[2], sl[2], &pid) < 0 ||
		    (p = mr_part_find(r, pid)) == NULL) {
			char id[24];

			snprintf(id, sizeof(id), "%.*s", (int)(sl[2] < 20 ? sl[2] : 20), seg[2]);
			return mr_err(out, 404, "participant: no such participant '%s' in room %"
				      PRIu32, mr_json_echo(id, buf, sizeof(buf)), rid);
		}
	}
	if (n >= 5) {
		if (mr_rooms_id_parse(seg[4], sl[4], &sid) < 0 ||
		    (st = mr_stream_find_in(p, sid)) == NULL) {
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
			rc = mr_room_create(rs, &req, &r, out);
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
				json_array_append_new(arr, mr_part_json(rs, p, PJ_SUMMARY));
			*out = json_pack("{s:o}", "participants", arr);
			return 200;
		}
		if (strcmp(method, "POST") == 0) {
			struct mr_part_req req;

			if (mr_parse_part_req(body, len, &req, err, sizeof(err)) < 0)
				return mr_err(out, 400, "%s", err);
			rc = mr_part_create(rs, r, &req, &p, out);
			if (rc != 201)
				return rc;
			*out = mr_part_json(rs, p, PJ_FULL | PJ_TOKEN);
			return 201;
		}
		return mr_method_err(method, path, "GET, POST", out);
	case 3:		/* /v1/rooms/{room}/participants/{p} */
		if (strcmp(method, "GET") == 0) {
			*out = mr_part_json(rs, p, PJ_FULL | PJ_TOKEN);
			return 200;
		}
		if (strcmp(method, "PATCH") == 0)
			return mr_http_part_patch(rs, r, p, body, len, out);
		if (strcmp(method, "DELETE") == 0) {
			mr_part_remove(rs, p, MR_LEAVE_KICKED);
			return 204;
		}
		return mr_method_err(method, path, "GET, PATCH, DELETE", out);
	case 4:		/* .../streams */
		if (strcmp(method, "GET") == 0) {
			json_t *arr = json_array();

			TAILQ_FOREACH(st, &p->streams, link)
				json_array_append_new(arr, mr_stream_json(rs, st, 1));
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
			*out = mr_stream_json(rs, st, 1);
			return 200;
		}
		if (strcmp(method, "PATCH") == 0) {
			int muted;

			if (mr_parse_stream_patch(body, len, &muted, err, sizeof(err)) < 0)
				return mr_err(out, 400, "%s", err);
			mr_stream_mute(rs, st, muted);
			*out = mr_stream_json(rs, st, 1);
			return 200;
		}
		if (strcmp(method, "DELETE") == 0)
			return mr_rooms_unpublish(rs, rid, pid, sid, out);
		return mr_method_err(method, path, "GET, PATCH, DELETE", out);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* The tick */

/* Streams the dataplane reported for participants of auto_publish rooms. */
static void
mr_autopub_poll(struct mr_rooms *rs, struct mr_cp_room *r)
{
	struct mr_cp_part *p, *next;

	for (p = TAILQ_FIRST(&r->parts); p != NULL; p = next) {
		struct mr_stream_req req;
		struct mr_cp_stream *st;
		json_t *body = NULL;
		uint32_t seq;

		next = TAILQ_NEXT(p, link);
		/* Acquire: pairs with the owner's release store of autopub_seq after it wrote
		 * autopub_ssrc and autopub_pt. */
		seq = __atomic_load_n(&p->dp->autopub_seq, __ATOMIC_ACQUIRE);
		if (seq == p->autopub_seq)
			continue;
		p->autopub_seq = seq;
		memset(&req, 0, sizeof(req));
		req.ssrc = __atomic_load_n(&p->dp->autopub_ssrc, __ATOMIC_RELAXED);
		req.pt = __atomic_load_n(&p->dp->autopub_pt, __ATOMIC_RELAXED) & 0x7f;
		if (mr_stream_by_ssrc(r, req.ssrc) != NULL)
			continue;	/* published meanwhile, or another's: not forwarded */
		req.kind = mr_rooms_guess_kind(req.pt, r->auto_publish_kind);
		req.clock_rate = mr_rooms_guess_clock(req.kind, req.pt);
		if (mr_stream_publish(rs, p, &req, 1, &st, &body) == 201)
			rs->n.autopublished++;
		json_decref(body);
	}
}

/* Every 100 ms: who is speaking. */
static void
mr_speaker_poll(struct mr_rooms *rs, struct mr_cp_room *r, uint64_t now_ms)
{
	struct mr_speaker_in in[64];
	struct mr_cp_part *p;
	struct mr_cp_stream *st;
	unsigned int n = 0;

	TAILQ_FOREACH(p, &r->parts, link) {
		TAILQ_FOREACH(st, &p->streams, link) {
			uint32_t pk;

			if (st->dp->kind != MR_KIND_AUDIO)
				continue;
			pk = __atomic_load_n(&st->dp->level_pkts, __ATOMIC_RELAXED);
			/* A room with more than 64 audio streams: the first 64 compete. */
			if (n < RTE_DIM(in)) {
				in[n].part = p->id;
				in[n].stream = st->id;
				in[n].level_q8 = __atomic_load_n(&st->dp->level_q8,
								 __ATOMIC_RELAXED);
				in[n].active = pk != st->spk_pkts &&
					!__atomic_load_n(&st->dp->muted, __ATOMIC_RELAXED);
				n++;
			}
			st->spk_pkts = pk;
		}
	}
	mr_speaker_look(&r->spk, in, n);
	if (mr_speaker_emit_due(&r->spk, now_ms)) {
		json_t *ev = json_pack("{s:s,s:o,s:o,s:o}", "type", "active_speaker",
				       "participant", r->spk.part ? mr_idj(r->spk.part) :
				       json_null(),
				       "stream", r->spk.stream ? mr_idj(r->spk.stream) :
				       json_null(),
				       "level_dbov", r->spk.part ?
				       json_real(-(double)r->spk.level_q8 / 256.0) : json_null());

		mr_emit(rs, r, 0, 0, ev);
	}
}

/* Every second: receiver reports to the publishers, loss over the last second and MOS. */
static void
mr_second_poll(struct mr_rooms *rs, struct mr_cp_room *r)
{
	struct mr_cp_part *p;
	struct mr_cp_stream *st;

	TAILQ_FOREACH(p, &r->parts, link) {
		TAILQ_FOREACH(st, &p->streams, link) {
			struct mr_stream_q q;
			uint64_t exp, rcv;

			mr_stream_read(st, &q);
			if (q.c.pkts_in == 0)
				continue;
			/* RFC 3550 §6.4.1: the relay is the publisher's receiver. A full ring
			 * skips one report; the next second sends another. */
			mr_room_cmd(rs, r->owner, MR_CMD_SEND_RR, st->dp, 0);
			exp = mr_rtp_stats_expected(&q.rtp);
			rcv = mr_rtp_stats_received(&q.rtp);
			/* RFC 3550 A.3: the fraction lost over the interval. */
			if (exp > st->q_expected && exp - st->q_expected > rcv - st->q_received)
				st->loss_up = (double)((exp - st->q_expected) -
						       (rcv - st->q_received)) /
					(double)(exp - st->q_expected);
			else
				st->loss_up = 0;
			st->q_expected = exp;
			st->q_received = rcv;
			st->mos = mr_stream_mos_now(st, &q);
		}
	}
}

void
mr_rooms_tick(struct mr_rooms *rs, uint64_t now)
{
	uint64_t hz = rs->a->dp->tsc_hz, ms;
	int look, second;
	uint32_t i;

	look = now - rs->last_look >= hz / (1000 / MR_SPK_LOOK_MS);
	second = now - rs->last_rr >= hz;
	if (look)
		rs->last_look = now;
	if (second)
		rs->last_rr = now;
	ms = (now - rs->a->start_tsc) / (hz / 1000 ? hz / 1000 : 1);
	for (i = 0; i < rs->n_rooms; i++) {
		struct mr_cp_room *r = rs->room[i];

		if (r->dirty)
			mr_room_sync(rs, r);
		if (r->auto_publish)
			mr_autopub_poll(rs, r);
		if (look)
			mr_speaker_poll(rs, r, ms);
		if (second)
			mr_second_poll(rs, r);
	}
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

		while ((p = TAILQ_FIRST(&r->parts)) != NULL) {
			TAILQ_REMOVE(&r->parts, p, link);
			mr_part_free_now(rs, p, 1);
		}
		mr_room_free_now(r);
	}
	json_decref(rs->tokens);
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

/* Prometheus series. Cardinality is bounded: per-room series for the first
 * MR_ROOMS_METRICS_ROOMS rooms and per-stream series for the first MR_ROOMS_METRICS_STREAMS
 * streams (lowest ids first); the mrelay_rooms_* totals cover everything. */
void
mr_rooms_metrics(struct mr_rooms *rs, FILE *f)
{
	static const struct { const char *name, *type, *help; } sm[] = {
		{ "packets_in_total", "counter", "RTP packets received from the publisher" },
		{ "bytes_in_total", "counter", "RTP payload bytes received from the publisher" },
		{ "packets_out_total", "counter", "Copies sent to subscribers" },
		{ "drops_muted_total", "counter", "Packets not forwarded because muted" },
		{ "loss_ratio", "gauge", "Publisher to relay loss since publication (RFC 3550 A.3)" },
		{ "subscriber_loss_ratio", "gauge", "Loss fraction subscribers last reported" },
		{ "jitter_seconds", "gauge", "Publisher to relay interarrival jitter (RFC 3550 A.8)" },
		{ "rtt_seconds", "gauge", "Relay to subscriber round trip from receiver reports" },
		{ "mos", "gauge", "Estimated MOS of an audio stream (E-model)" },
		{ "audio_level_dbov", "gauge", "Smoothed RFC 6464 audio level" },
		{ "nack_received_total", "counter", "Sequence numbers subscribers NACKed" },
		{ "retransmitted_total", "counter", "NACKs answered from the cache" },
		{ "pli_forwarded_total", "counter", "PLI/FIR forwarded to the publisher" },
	};
	const struct mr_cp_stream *ss[MR_ROOMS_METRICS_STREAMS];
	struct mr_stream_q *q;
	unsigned int n = 0, i, m;
	uint32_t k;

	fprintf(f, "# HELP mrelay_rooms_active Rooms now\n# TYPE mrelay_rooms_active gauge\n"
		"mrelay_rooms_active %" PRIu64 "\n"
		"# HELP mrelay_rooms_created_total Rooms created\n"
		"# TYPE mrelay_rooms_created_total counter\nmrelay_rooms_created_total %" PRIu64
		"\n# HELP mrelay_rooms_participants Participants in all rooms\n"
		"# TYPE mrelay_rooms_participants gauge\nmrelay_rooms_participants %" PRIu64 "\n"
		"# HELP mrelay_rooms_streams Streams published in all rooms\n"
		"# TYPE mrelay_rooms_streams gauge\nmrelay_rooms_streams %" PRIu64 "\n"
		"# HELP mrelay_rooms_rejected_total Room requests refused for capacity\n"
		"# TYPE mrelay_rooms_rejected_total counter\nmrelay_rooms_rejected_total %" PRIu64
		"\n# HELP mrelay_rooms_ssrc_clashes_total Publications refused: SSRC in use\n"
		"# TYPE mrelay_rooms_ssrc_clashes_total counter\n"
		"mrelay_rooms_ssrc_clashes_total %" PRIu64 "\n",
		rs->n.active, rs->n.created, rs->n.participants, rs->n.streams, rs->n.rejected,
		rs->n.ssrc_clashes);
	fprintf(f, "# HELP mrelay_room_participants Participants of a room\n"
		"# TYPE mrelay_room_participants gauge\n");
	for (k = 0; k < rs->n_rooms && k < MR_ROOMS_METRICS_ROOMS; k++)
		fprintf(f, "mrelay_room_participants{room=\"%" PRIu32 "\"} %" PRIu32 "\n",
			rs->room[k]->id, rs->room[k]->n_parts);
	for (k = 0; k < rs->n_rooms && n < RTE_DIM(ss); k++) {
		const struct mr_cp_part *p;
		const struct mr_cp_stream *st;

		TAILQ_FOREACH(p, &rs->room[k]->parts, link)
			TAILQ_FOREACH(st, &p->streams, link)
				if (n < RTE_DIM(ss))
					ss[n++] = st;
	}
	q = malloc((n + 1) * sizeof(*q));
	if (q == NULL)
		return;
	for (i = 0; i < n; i++)
		mr_stream_read(ss[i], &q[i]);
	for (m = 0; m < RTE_DIM(sm); m++) {
		fprintf(f, "# HELP mrelay_room_stream_%s %s\n# TYPE mrelay_room_stream_%s %s\n",
			sm[m].name, sm[m].help, sm[m].name, sm[m].type);
		for (i = 0; i < n; i++) {
			const struct mr_cp_stream *st = ss[i];
			double v;

			switch (m) {
			case 0: v = (double)q[i].c.pkts_in; break;
			case 1: v = (double)q[i].c.bytes_in; break;
			case 2: v = (double)q[i].c.pkts_out; break;
			case 3: v = (double)q[i].c.drop_muted; break;
			case 4: v = q[i].loss_pct / 100.0; break;
			case 5: v = q[i].sub_loss; break;
			case 6:
				if (q[i].jitter_ms < 0)
					continue;
				v = q[i].jitter_ms / 1000.0;
				break;
			case 7:
				if (q[i].rtt_ms < 0)
					continue;
				v = q[i].rtt_ms / 1000.0;
				break;
			case 8:
				if (st->mos <= 0)
					continue;
				v = st->mos;
				break;
			case 9:
				if (st->dp->kind != MR_KIND_AUDIO || q[i].level_pkts == 0)
					continue;
				v = -(double)q[i].level_q8 / 256.0;
				break;
			case 10: v = (double)q[i].c.nack_rx; break;
			case 11: v = (double)q[i].c.rtx_sent; break;
			default: v = (double)q[i].c.pli_fwd; break;
			}
			fprintf(f, "mrelay_room_stream_%s{room=\"%" PRIu32 "\",stream=\"%" PRIu32
				"\",kind=\"%s\"} %.17g\n", sm[m].name, st->pub->room->id, st->id,
				mr_kind_name[st->dp->kind], v);
		}
	}
	free(q);
}

/* ---- REST route (controlplane/api/router.h) ---- */

static int
mr_route_rooms(struct mr_appliance *a, const struct mr_http_req *r, json_t **out)
{
	return mr_http_rooms(a, r->method_name, r->rest, r->body, r->len, out);
}

/* No Location on 201: rooms' resources are nested, their ids are not enough. */
static struct mr_http_route mr_rooms_route = {
	.path = "/v1/rooms", .match = MR_ROUTE_SUBTREE, .name = "/v1/rooms",
	.methods = MR_HTTP_GET | MR_HTTP_POST | MR_HTTP_PATCH | MR_HTTP_DELETE,
	.handler = mr_route_rooms,
};
MR_HTTP_ROUTE(mr_rooms_route)
