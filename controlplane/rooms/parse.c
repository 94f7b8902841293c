/* SPDX-License-Identifier: BSD-3-Clause
 * Rooms: validation of request bodies and ids (rooms.h "request bodies"). Pure: no EAL, no
 * model; each parser answers 0 or -EINVAL with one line naming the field
 * (tests/unit/test_rooms.c feeds them hostile input).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "json_req.h"
#include "mr_types.h"
#include "rooms.h"
#include "rooms_priv.h"

/* Explicit subscriptions in one PATCH: more than any room can hold streams. */
#define MR_SUBS_MAX 65536

#define err_set mr_json_err_set

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
					     "auto_publish", "auto_publish_kind", "mode",
					     "mix_payload_type", "mix_max_speakers", "cluster",
					     NULL };
	json_t *o = mr_json_body_load(body, len, err, errlen), *v;
	json_int_t i;
	int rc = -EINVAL;

	memset(r, 0, sizeof(*r));
	r->auto_subscribe = 1;
	r->auto_publish_kind = MR_KIND_VIDEO;
	r->mix_max_speakers = -1;
	if (o == NULL)
		return -EINVAL;
	if (keys_check(o, known, NULL, "", err, errlen))
		goto decref_obj;
	if ((v = json_object_get(o, "mode"))) {
		const char *m = json_is_string(v) ? json_string_value(v) : NULL;

		if (m != NULL && strcmp(m, "mix") == 0) {
			r->mix = 1;
			r->auto_publish_kind = MR_KIND_AUDIO;
		} else if (m == NULL || strcmp(m, "forward") != 0) {
			err_set(err, errlen, "mode: must be 'forward' or 'mix'");
			goto decref_obj;
		}
	}
	if ((v = json_object_get(o, "mix_payload_type"))) {
		if (!r->mix) {
			err_set(err, errlen, "mix_payload_type: only for \"mode\": \"mix\"");
			goto decref_obj;
		}
		if (get_range(v, "mix_payload_type", 96, 127, &i, err, errlen))
			goto decref_obj;
		r->mix_pt = (uint8_t)i;
	}
	if ((v = json_object_get(o, "mix_max_speakers"))) {
		if (!r->mix) {
			err_set(err, errlen, "mix_max_speakers: only for \"mode\": \"mix\"");
			goto decref_obj;
		}
		if (get_range(v, "mix_max_speakers", 0, MR_ROOM_MIX_MAX_SPEAKERS, &i, err, errlen))
			goto decref_obj;
		r->mix_max_speakers = (int)i;
	}
	if ((v = json_object_get(o, "name")) && get_name(v, "name", r->name, err, errlen))
		goto decref_obj;
	if ((v = json_object_get(o, "cluster")) &&
	    get_bool(v, "cluster", &r->cluster, err, errlen))
		goto decref_obj;
	if (r->cluster && r->name[0] == '\0') {
		err_set(err, errlen, "name: a cluster room is known by its name: give one");
		goto decref_obj;
	}
	if (r->cluster && r->mix) {
		err_set(err, errlen, "cluster: a mixing room does not span appliances");
		goto decref_obj;
	}
	if ((v = json_object_get(o, "max_participants"))) {
		if (get_range(v, "max_participants", 1, max_participants, &i, err, errlen))
			goto decref_obj;
		r->max_participants = (unsigned int)i;
	}
	if ((v = json_object_get(o, "auto_subscribe")) &&
	    get_bool(v, "auto_subscribe", &r->auto_subscribe, err, errlen))
		goto decref_obj;
	if ((v = json_object_get(o, "auto_publish")) &&
	    get_bool(v, "auto_publish", &r->auto_publish, err, errlen))
		goto decref_obj;
	if ((v = json_object_get(o, "auto_publish_kind")) &&
	    get_kind(v, "auto_publish_kind", &r->auto_publish_kind, err, errlen))
		goto decref_obj;
	rc = 0;
decref_obj:
	json_decref(o);
	return rc;
}

int
mr_parse_part_req(const char *body, size_t len, struct mr_part_req *r, char *err,
		  size_t errlen)
{
	static const char *const known[] = { "name", "audio_level_ext_id", "interface", "family",
					     "srtp", "webrtc", NULL };
	json_t *o = mr_json_body_load(body, len, err, errlen), *v;
	json_int_t i;
	int rc = -EINVAL;

	memset(r, 0, sizeof(*r));
	if (o == NULL)
		return -EINVAL;
	if (keys_check(o, known, NULL, "", err, errlen))
		goto decref_obj;
	if ((v = json_object_get(o, "name")) && get_name(v, "name", r->name, err, errlen))
		goto decref_obj;
	if ((v = json_object_get(o, "audio_level_ext_id"))) {
		/* RFC 8285 §4.2: one-byte ids 1..14 (15 is reserved); 0 = none. */
		if (get_range(v, "audio_level_ext_id", 0, 14, &i, err, errlen))
			goto decref_obj;
		r->level_ext_id = (uint8_t)i;
	}
	if ((v = json_object_get(o, "interface"))) {
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;
		size_t n = s ? json_string_length(v) : 0, k;

		if (s == NULL || n == 0 || n > MR_ROOM_IFNAME_LEN - 1) {
			err_set(err, errlen, "interface: must be a string of 1 to %d bytes",
				MR_ROOM_IFNAME_LEN - 1);
			goto decref_obj;
		}
		for (k = 0; k < n; k++) {
			if (s[k] <= 0x20 || s[k] >= 0x7f) {
				err_set(err, errlen,
					"interface: must be printable ASCII without spaces");
				goto decref_obj;
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
			goto decref_obj;
		}
	}
	if ((v = json_object_get(o, "srtp")) && mr_parse_srtp(v, "srtp", 0, &r->srtp, err, errlen))
		goto decref_obj;
	if ((v = json_object_get(o, "webrtc"))) {
		if (!json_is_boolean(v)) {
			err_set(err, errlen, "webrtc: must be a boolean");
			goto decref_obj;
		}
		r->webrtc = json_is_true(v);
		if (r->webrtc && r->srtp.present) {
			err_set(err, errlen, "webrtc: SRTP keys come from DTLS: no 'srtp' with it");
			goto decref_obj;
		}
	}
	rc = 0;
decref_obj:
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
	mr_srtp_req_wipe(&p->srtp);
	memset(p, 0, sizeof(*p));
}

int
mr_rooms_u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
mr_parse_part_patch(const char *body, size_t len, struct mr_part_patch *p, char *err,
		    size_t errlen)
{
	static const char *const known[] = { "muted", "subscriptions", "srtp", "gain", NULL };
	static const char *const kinds[] = { "audio", "video", NULL };
	json_t *o = mr_json_body_load(body, len, err, errlen), *v, *e;
	size_t i;
	int rc = -EINVAL;

	memset(p, 0, sizeof(*p));
	if (o == NULL)
		return -EINVAL;
	if (keys_check(o, known, NULL, "", err, errlen))
		goto decref_obj;
	if ((v = json_object_get(o, "muted"))) {
		unsigned int k;

		if (!json_is_object(v)) {
			err_set(err, errlen, "muted: must be an object {\"audio\": bool, "
				"\"video\": bool}");
			goto decref_obj;
		}
		if (keys_check(v, kinds, NULL, "muted.", err, errlen))
			goto decref_obj;
		for (k = 0; k < 2; k++) {
			char field[16];

			e = json_object_get(v, kinds[k]);
			if (e == NULL)
				continue;
			snprintf(field, sizeof(field), "muted.%s", kinds[k]);
			if (get_bool(e, field, &p->mute[k], err, errlen))
				goto decref_obj;
			p->has_mute[k] = 1;
		}
		if (!p->has_mute[0] && !p->has_mute[1]) {
			err_set(err, errlen, "muted: give 'audio' and/or 'video'");
			goto decref_obj;
		}
	}
	if ((v = json_object_get(o, "subscriptions"))) {
		if (!json_is_array(v)) {
			err_set(err, errlen, "subscriptions: must be an array of stream ids");
			goto decref_obj;
		}
		if (json_array_size(v) > MR_SUBS_MAX) {
			err_set(err, errlen, "subscriptions: more than %d entries", MR_SUBS_MAX);
			goto decref_obj;
		}
		p->has_subs = 1;
		p->subs = malloc((json_array_size(v) + 1) * sizeof(*p->subs));
		if (p->subs == NULL) {
			err_set(err, errlen, "subscriptions: out of memory");
			goto decref_obj;
		}
		json_array_foreach(v, i, e) {
			if (!json_is_string(e) ||
			    mr_rooms_id_parse(json_string_value(e), json_string_length(e),
					      &p->subs[i]) < 0) {
				err_set(err, errlen, "subscriptions[%zu]: must be a stream id "
					"(a string of decimal digits)", i);
				goto decref_obj;
			}
		}
		p->n_subs = (uint32_t)json_array_size(v);
		qsort(p->subs, p->n_subs, sizeof(*p->subs), mr_rooms_u32_cmp);
		for (i = 1; i < p->n_subs; i++) {
			if (p->subs[i] == p->subs[i - 1]) {
				err_set(err, errlen, "subscriptions: stream '%" PRIu32
					"' given twice", p->subs[i]);
				goto decref_obj;
			}
		}
	}
	if ((v = json_object_get(o, "srtp"))) {
		if (mr_parse_srtp(v, "srtp", 1, &p->srtp, err, errlen))
			goto decref_obj;
		p->has_srtp = 1;
	}
	if ((v = json_object_get(o, "gain"))) {
		double g = json_number_value(v);

		if (!json_is_number(v) || !(g >= 0.0 && g <= 4.0)) {
			err_set(err, errlen, "gain: must be a number from 0 to 4 (1: as it comes; "
				"mixing rooms)");
			goto decref_obj;
		}
		p->has_gain = 1;
		p->gain_q8 = (uint32_t)(g * 256.0 + 0.5);
	}
	if (!p->has_subs && !p->has_mute[0] && !p->has_mute[1] && !p->has_srtp &&
	    !p->has_gain) {
		err_set(err, errlen, "body: nothing to change");
		goto decref_obj;
	}
	rc = 0;
decref_obj:
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
		goto decref_obj;
	v = json_object_get(o, "muted");
	if (v == NULL) {
		err_set(err, errlen, "body: nothing to change");
		goto decref_obj;
	}
	if (get_bool(v, "muted", muted, err, errlen))
		goto decref_obj;
	rc = 0;
decref_obj:
	json_decref(o);
	return rc;
}
