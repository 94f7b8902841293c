/* SPDX-License-Identifier: BSD-3-Clause
 * The pure parts of the rooms control plane (controlplane/rooms/: parse.c, lists.c, speaker.c, media.c): validation of every REST
 * body (hostile input included), ids in paths, SSRC map building and its binary search order,
 * subscriber lists, the kind/clock guesses of auto-publish, active-speaker hysteresis over a
 * scripted sequence of levels, and the MOS plumbing. No EAL: nothing here allocates with
 * rte_malloc or touches a worker.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "quality.h"
#include "rooms.h"

static char err[256];

#define S(lit) lit, sizeof(lit) - 1

/* ---- ids ---- */

static void
test_id_parse(void **state)
{
	static const char *const bad[] = { "", "0", "01", "-1", "+1", " 1", "1 ", "1a", "0x1",
					   "4294967296", "99999999999", "1.0" };
	uint32_t id = 7;
	size_t i;

	(void)state;
	assert_int_equal(mr_rooms_id_parse(S("1"), &id), 0);
	assert_int_equal(id, 1);
	assert_int_equal(mr_rooms_id_parse(S("4294967295"), &id), 0);
	assert_int_equal(id, 4294967295u);
	/* Only len bytes count: the path splitter passes segments that are not NUL-ended. */
	assert_int_equal(mr_rooms_id_parse("12/participants", 2, &id), 0);
	assert_int_equal(id, 12);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		id = 7;
		assert_int_equal(mr_rooms_id_parse(bad[i], strlen(bad[i]), &id), -EINVAL);
		assert_int_equal(id, 7);
	}
	assert_int_equal(mr_rooms_id_parse(NULL, 0, &id), -EINVAL);
}

/* ---- POST /v1/rooms ---- */

static void
room_bad(const char *body, const char *want)
{
	struct mr_room_req r;

	memset(err, 0, sizeof(err));
	assert_int_equal(mr_parse_room_req(body, body ? strlen(body) : 0, 100, &r, err,
					   sizeof(err)), -EINVAL);
	assert_string_equal(err, want);
}

static void
test_room_req(void **state)
{
	struct mr_room_req r;
	char name64[80];

	(void)state;
	assert_int_equal(mr_parse_room_req(S("{}"), 100, &r, err, sizeof(err)), 0);
	assert_string_equal(r.name, "");
	assert_int_equal(r.max_participants, 0);
	assert_int_equal(r.auto_subscribe, 1);
	assert_int_equal(r.auto_publish, 0);
	assert_int_equal(r.auto_publish_kind, MR_KIND_VIDEO);

	assert_int_equal(mr_parse_room_req(S("{\"name\":\"standup \\u00e9\",\"max_participants\":"
					     "100,\"auto_subscribe\":false,\"auto_publish\":true,"
					     "\"auto_publish_kind\":\"audio\"}"), 100, &r, err,
					   sizeof(err)), 0);
	assert_string_equal(r.name, "standup \xc3\xa9");
	assert_int_equal(r.max_participants, 100);
	assert_int_equal(r.auto_subscribe, 0);
	assert_int_equal(r.auto_publish, 1);
	assert_int_equal(r.auto_publish_kind, MR_KIND_AUDIO);

	room_bad(NULL, "body: empty");
	room_bad("", "body: empty");
	room_bad("[]", "body: must be a JSON object");
	room_bad("\"x\"", "body: must be a JSON object");
	room_bad("{\"name\":\"a\",\"name\":\"b\"}",
		 "body: invalid JSON: duplicate object key near '\"name\"' (line 1, column 18)");
	room_bad("{\"nam\":\"a\"}", "nam: unknown field");
	room_bad("{\"\\u0001\\n\":1}", "??: unknown field");
	room_bad("{\"name\":1}", "name: must be a string");
	room_bad("{\"name\":\"a\\tb\"}", "name: must not contain control characters");
	room_bad("{\"name\":\"a\\u0000b\"}",
		 "body: invalid JSON: \\u0000 is not allowed without JSON_ALLOW_NUL near "
		 "'\"a\\u0000b\"' (line 1, column 18)");
	memset(name64, 'x', 64);
	snprintf(name64 + 64, sizeof(name64) - 64, "%s", "");
	{
		char body[128];

		snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name64);
		room_bad(body, "name: longer than 63 bytes");
		body[9 + 63] = '"';
		body[9 + 64] = '}';
		body[9 + 65] = '\0';
		assert_int_equal(mr_parse_room_req(body, strlen(body), 100, &r, err,
						   sizeof(err)), 0);
		assert_int_equal(strlen(r.name), 63);
	}
	/* Mixing rooms (issue 12 §1) */
	assert_int_equal(r.mix, 0);
	assert_int_equal(mr_parse_room_req(S("{\"mode\":\"mix\",\"mix_payload_type\":100}"), 100,
					   &r, err, sizeof(err)), 0);
	assert_int_equal(r.mix, 1);
	assert_int_equal(r.mix_pt, 100);
	assert_int_equal(r.auto_publish_kind, MR_KIND_AUDIO);
	assert_int_equal(mr_parse_room_req(S("{\"mode\":\"forward\"}"), 100, &r, err,
					   sizeof(err)), 0);
	assert_int_equal(r.mix, 0);
	room_bad("{\"mode\":\"mixed\"}", "mode: must be 'forward' or 'mix'");
	room_bad("{\"mode\":null}", "mode: must be 'forward' or 'mix'");
	room_bad("{\"mix_payload_type\":111}", "mix_payload_type: only for \"mode\": \"mix\"");
	room_bad("{\"mode\":\"mix\",\"mix_payload_type\":95}",
		 "mix_payload_type: must be an integer between 96 and 127");
	/* mix_max_speakers: absent is -1 (the configuration's), 0 is everyone. */
	assert_int_equal(r.mix_max_speakers, -1);
	assert_int_equal(mr_parse_room_req(S("{\"mode\":\"mix\",\"mix_max_speakers\":3}"), 100,
					   &r, err, sizeof(err)), 0);
	assert_int_equal(r.mix_max_speakers, 3);
	assert_int_equal(mr_parse_room_req(S("{\"mode\":\"mix\",\"mix_max_speakers\":0}"), 100,
					   &r, err, sizeof(err)), 0);
	assert_int_equal(r.mix_max_speakers, 0);
	room_bad("{\"mix_max_speakers\":3}", "mix_max_speakers: only for \"mode\": \"mix\"");
	room_bad("{\"mode\":\"forward\",\"mix_max_speakers\":0}",
		 "mix_max_speakers: only for \"mode\": \"mix\"");
	room_bad("{\"mode\":\"mix\",\"mix_max_speakers\":65}",
		 "mix_max_speakers: must be an integer between 0 and 64");
	room_bad("{\"mode\":\"mix\",\"mix_max_speakers\":-1}",
		 "mix_max_speakers: must be an integer between 0 and 64");
	room_bad("{\"mode\":\"mix\",\"mix_max_speakers\":true}",
		 "mix_max_speakers: must be an integer between 0 and 64");
	/* cluster: a named forwarding room only. */
	assert_int_equal(mr_parse_room_req(S("{\"name\":\"standup\",\"cluster\":true}"), 100,
					   &r, err, sizeof(err)), 0);
	assert_int_equal(r.cluster, 1);
	assert_string_equal(r.name, "standup");
	assert_int_equal(mr_parse_room_req(S("{\"name\":\"x\"}"), 100, &r, err, sizeof(err)),
			 0);
	assert_int_equal(r.cluster, 0);
	room_bad("{\"cluster\":true}", "name: a cluster room is known by its name: give one");
	room_bad("{\"name\":\"\",\"cluster\":true}",
		 "name: a cluster room is known by its name: give one");
	room_bad("{\"name\":\"m\",\"cluster\":true,\"mode\":\"mix\"}",
		 "cluster: a mixing room does not span appliances");
	room_bad("{\"name\":\"m\",\"cluster\":1}", "cluster: must be a boolean");
	room_bad("{\"max_participants\":0}",
		 "max_participants: must be an integer between 1 and 100");
	room_bad("{\"max_participants\":101}",
		 "max_participants: must be an integer between 1 and 100");
	room_bad("{\"max_participants\":-1}",
		 "max_participants: must be an integer between 1 and 100");
	room_bad("{\"max_participants\":2.0}",
		 "max_participants: must be an integer between 1 and 100");
	room_bad("{\"max_participants\":\"2\"}",
		 "max_participants: must be an integer between 1 and 100");
	room_bad("{\"max_participants\":99999999999999999999}",
		 "body: invalid JSON: too big integer near '99999999999999999999' "
		 "(line 1, column 40)");
	room_bad("{\"auto_subscribe\":1}", "auto_subscribe: must be a boolean");
	room_bad("{\"auto_publish\":null}", "auto_publish: must be a boolean");
	room_bad("{\"auto_publish_kind\":\"data\"}",
		 "auto_publish_kind: must be 'audio' or 'video'");
	room_bad("{\"name\":\"a\"", "body: invalid JSON: '}' expected near end of file "
		 "(line 1, column 11)");
}

/* ---- POST .../participants ---- */

static void
part_bad(const char *body, const char *want)
{
	struct mr_part_req r;

	memset(err, 0, sizeof(err));
	assert_int_equal(mr_parse_part_req(body, strlen(body), &r, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, want);
}

static void
test_part_req(void **state)
{
	struct mr_part_req r;

	(void)state;
	assert_int_equal(mr_parse_part_req(S("{}"), &r, err, sizeof(err)), 0);
	assert_string_equal(r.name, "");
	assert_int_equal(r.level_ext_id, 0);
	assert_string_equal(r.interface, "");
	assert_int_equal(r.family, 0);
	assert_int_equal(mr_parse_part_req(S("{\"name\":\"alice\",\"audio_level_ext_id\":14,"
					     "\"interface\":\"edge0\",\"family\":\"ipv6\"}"),
					   &r, err, sizeof(err)), 0);
	assert_string_equal(r.name, "alice");
	assert_int_equal(r.level_ext_id, 14);
	assert_string_equal(r.interface, "edge0");
	assert_int_equal(r.family, MR_AF6);

	part_bad("{\"audio_level_ext_id\":15}",
		 "audio_level_ext_id: must be an integer between 0 and 14");
	part_bad("{\"audio_level_ext_id\":-1}",
		 "audio_level_ext_id: must be an integer between 0 and 14");
	part_bad("{\"audio_level_ext_id\":true}",
		 "audio_level_ext_id: must be an integer between 0 and 14");
	part_bad("{\"interface\":\"\"}", "interface: must be a string of 1 to 31 bytes");
	part_bad("{\"interface\":\"a b\"}", "interface: must be printable ASCII without spaces");
	part_bad("{\"interface\":\"0123456789012345678901234567890123\"}",
		 "interface: must be a string of 1 to 31 bytes");
	part_bad("{\"interface\":[]}", "interface: must be a string of 1 to 31 bytes");
	part_bad("{\"family\":\"ipv5\"}", "family: must be 'ipv4' or 'ipv6'");
	part_bad("{\"family\":4}", "family: must be 'ipv4' or 'ipv6'");
	part_bad("{\"token\":\"x\"}", "token: unknown field");
	part_bad("nul", "body: invalid JSON: invalid token near 'nul' (line 1, column 3)");
}

/* ---- POST .../streams ---- */

static void
stream_bad(const char *body, const char *want)
{
	struct mr_stream_req r;

	memset(err, 0, sizeof(err));
	assert_int_equal(mr_parse_stream_req(body, strlen(body), &r, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, want);
}

static void
test_stream_req(void **state)
{
	struct mr_stream_req r;
	const char *extra[] = { "type", "req", NULL };
	json_t *o;

	(void)state;
	assert_int_equal(mr_parse_stream_req(S("{\"ssrc\":4294967295,\"kind\":\"video\","
					       "\"pt\":96,\"codec\":\"VP8\"}"), &r, err,
					     sizeof(err)), 0);
	assert_int_equal(r.ssrc, 4294967295u);
	assert_int_equal(r.kind, MR_KIND_VIDEO);
	assert_int_equal(r.pt, 96);
	assert_int_equal(r.clock_rate, 90000);
	assert_string_equal(r.codec, "VP8");
	assert_int_equal(mr_parse_stream_req(S("{\"ssrc\":0,\"kind\":\"audio\",\"pt\":0}"), &r,
					     err, sizeof(err)), 0);
	assert_int_equal(r.ssrc, 0);
	assert_int_equal(r.clock_rate, 8000);	/* PCMU, RFC 3551 */
	assert_string_equal(r.codec, "");
	assert_int_equal(mr_parse_stream_req(S("{\"ssrc\":5,\"kind\":\"audio\",\"pt\":111,"
					       "\"clock_rate\":16000,\"codec\":\"telephone-event"
					       "\"}"), &r, err, sizeof(err)), 0);
	assert_int_equal(r.clock_rate, 16000);
	assert_string_equal(r.codec, "telephone-event");
	assert_int_equal(mr_parse_stream_req(S("{\"ssrc\":5,\"kind\":\"audio\",\"pt\":111}"),
					     &r, err, sizeof(err)), 0);
	assert_int_equal(r.clock_rate, 48000);
	assert_int_equal(mr_parse_stream_req(S("{\"ssrc\":5,\"kind\":\"audio\",\"pt\":63}"),
					     &r, err, sizeof(err)), 0);
	assert_int_equal(mr_parse_stream_req(S("{\"ssrc\":5,\"kind\":\"audio\",\"pt\":96}"),
					     &r, err, sizeof(err)), 0);

	stream_bad("{}", "ssrc: required");
	stream_bad("{\"ssrc\":-1,\"kind\":\"audio\",\"pt\":0}",
		   "ssrc: must be an integer between 0 and 4294967295");
	stream_bad("{\"ssrc\":4294967296,\"kind\":\"audio\",\"pt\":0}",
		   "ssrc: must be an integer between 0 and 4294967295");
	stream_bad("{\"ssrc\":\"1\",\"kind\":\"audio\",\"pt\":0}",
		   "ssrc: must be an integer between 0 and 4294967295");
	stream_bad("{\"ssrc\":1e3,\"kind\":\"audio\",\"pt\":0}",
		   "ssrc: must be an integer between 0 and 4294967295");
	stream_bad("{\"ssrc\":1,\"pt\":0}", "kind: required");
	stream_bad("{\"ssrc\":1,\"kind\":\"Audio\",\"pt\":0}", "kind: must be 'audio' or 'video'");
	stream_bad("{\"ssrc\":1,\"kind\":\"audio\"}", "pt: required");
	stream_bad("{\"ssrc\":1,\"kind\":\"audio\",\"pt\":128}",
		   "pt: must be an integer between 0 and 127");
	stream_bad("{\"ssrc\":1,\"kind\":\"audio\",\"pt\":64}",
		   "pt: 64..95 cannot be used with rtcp-mux (RFC 5761 section 4)");
	stream_bad("{\"ssrc\":1,\"kind\":\"audio\",\"pt\":72}",
		   "pt: 64..95 cannot be used with rtcp-mux (RFC 5761 section 4)");
	stream_bad("{\"ssrc\":1,\"kind\":\"audio\",\"pt\":95}",
		   "pt: 64..95 cannot be used with rtcp-mux (RFC 5761 section 4)");
	stream_bad("{\"ssrc\":1,\"kind\":\"audio\",\"pt\":0,\"clock_rate\":0}",
		   "clock_rate: must be an integer between 1 and 1000000");
	stream_bad("{\"ssrc\":1,\"kind\":\"audio\",\"pt\":0,\"clock_rate\":1000001}",
		   "clock_rate: must be an integer between 1 and 1000000");
	stream_bad("{\"ssrc\":1,\"kind\":\"audio\",\"pt\":0,\"codec\":\"\"}",
		   "codec: must be a string of 1 to 31 bytes");
	stream_bad("{\"ssrc\":1,\"kind\":\"audio\",\"pt\":0,\"codec\":\"a/b\"}",
		   "codec: only letters, digits and -._+ allowed");
	stream_bad("{\"ssrc\":1,\"kind\":\"audio\",\"pt\":0,\"codec\":\"\\u00e9\"}",
		   "codec: only letters, digits and -._+ allowed");
	stream_bad("{\"ssrc\":1,\"kind\":\"audio\",\"pt\":0,\"codec\":"
		   "\"0123456789012345678901234567890123\"}",
		   "codec: must be a string of 1 to 31 bytes");
	stream_bad("{\"ssrc\":1,\"kind\":\"audio\",\"pt\":0,\"type\":\"publish\"}",
		   "type: unknown field");

	/* A signaling message: "type" (and the listed extras) ignored. */
	o = json_loads("{\"type\":\"publish\",\"req\":3,\"ssrc\":9,\"kind\":\"audio\",\"pt\":8}",
		       0, NULL);
	assert_non_null(o);
	assert_int_equal(mr_parse_stream_json(o, extra, &r, err, sizeof(err)), 0);
	assert_int_equal(r.ssrc, 9);
	assert_int_equal(r.clock_rate, 8000);
	assert_int_equal(mr_parse_stream_json(o, NULL, &r, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "type: unknown field");
	json_decref(o);
	o = json_array();
	assert_int_equal(mr_parse_stream_json(o, extra, &r, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "body: must be a JSON object");
	json_decref(o);
}

/* ---- PATCH bodies ---- */

static void
patch_bad(const char *body, const char *want)
{
	struct mr_part_patch p;

	memset(err, 0, sizeof(err));
	assert_int_equal(mr_parse_part_patch(body, strlen(body), &p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, want);
	assert_null(p.subs);
}

static void
test_part_patch(void **state)
{
	struct mr_part_patch p;
	int muted = 5;

	(void)state;
	assert_int_equal(mr_parse_part_patch(S("{\"muted\":{\"video\":true}}"), &p, err,
					     sizeof(err)), 0);
	assert_int_equal(p.has_mute[MR_KIND_AUDIO], 0);
	assert_int_equal(p.has_mute[MR_KIND_VIDEO], 1);
	assert_int_equal(p.mute[MR_KIND_VIDEO], 1);
	assert_int_equal(p.has_subs, 0);
	mr_part_patch_clear(&p);

	assert_int_equal(mr_parse_part_patch(S("{\"muted\":{\"audio\":false,\"video\":true},"
					       "\"subscriptions\":[\"9\",\"3\",\"4294967295\","
					       "\"12\"]}"), &p, err, sizeof(err)), 0);
	assert_int_equal(p.has_mute[MR_KIND_AUDIO], 1);
	assert_int_equal(p.mute[MR_KIND_AUDIO], 0);
	assert_int_equal(p.has_subs, 1);
	assert_int_equal(p.n_subs, 4);
	assert_int_equal(p.subs[0], 3);
	assert_int_equal(p.subs[1], 9);
	assert_int_equal(p.subs[2], 12);
	assert_int_equal(p.subs[3], 4294967295u);
	mr_part_patch_clear(&p);
	assert_null(p.subs);

	/* An empty set is a valid set: unsubscribe from everything. */
	assert_int_equal(mr_parse_part_patch(S("{\"subscriptions\":[]}"), &p, err, sizeof(err)),
			 0);
	assert_int_equal(p.has_subs, 1);
	assert_int_equal(p.n_subs, 0);
	mr_part_patch_clear(&p);

	/* A mixing room participant's gain, in Q8. */
	assert_int_equal(mr_parse_part_patch(S("{\"gain\":0.5}"), &p, err, sizeof(err)), 0);
	assert_int_equal(p.has_gain, 1);
	assert_int_equal(p.gain_q8, 128);
	mr_part_patch_clear(&p);
	assert_int_equal(mr_parse_part_patch(S("{\"gain\":4}"), &p, err, sizeof(err)), 0);
	assert_int_equal(p.gain_q8, 1024);
	mr_part_patch_clear(&p);
	patch_bad("{\"gain\":4.01}", "gain: must be a number from 0 to 4 (1: as it comes; "
		  "mixing rooms)");
	patch_bad("{\"gain\":-0.1}", "gain: must be a number from 0 to 4 (1: as it comes; "
		  "mixing rooms)");
	patch_bad("{\"gain\":\"1\"}", "gain: must be a number from 0 to 4 (1: as it comes; "
		  "mixing rooms)");
	patch_bad("{}", "body: nothing to change");
	patch_bad("{\"muted\":true}", "muted: must be an object {\"audio\": bool, \"video\": bool}");
	patch_bad("{\"muted\":{}}", "muted: give 'audio' and/or 'video'");
	patch_bad("{\"muted\":{\"screen\":true}}", "muted.screen: unknown field");
	patch_bad("{\"muted\":{\"audio\":1}}", "muted.audio: must be a boolean");
	patch_bad("{\"subscriptions\":\"3\"}", "subscriptions: must be an array of stream ids");
	patch_bad("{\"subscriptions\":[3]}",
		  "subscriptions[0]: must be a stream id (a string of decimal digits)");
	patch_bad("{\"subscriptions\":[\"1\",\"0\"]}",
		  "subscriptions[1]: must be a stream id (a string of decimal digits)");
	patch_bad("{\"subscriptions\":[\"1\",\"4294967296\"]}",
		  "subscriptions[1]: must be a stream id (a string of decimal digits)");
	patch_bad("{\"subscriptions\":[\"7\",\"2\",\"7\"]}",
		  "subscriptions: stream '7' given twice");
	patch_bad("{\"subscriptions\":[\"1\"],\"name\":\"x\"}", "name: unknown field");

	/* More entries than allowed: refused before anything is allocated. */
	{
		size_t n = 65537, i, len = 0;
		char *b = malloc(n * 4 + 64);

		assert_non_null(b);
		len += (size_t)sprintf(b, "{\"subscriptions\":[");
		for (i = 0; i < n; i++)
			len += (size_t)sprintf(b + len, "%s\"1\"", i ? "," : "");
		len += (size_t)sprintf(b + len, "]}");
		assert_int_equal(mr_parse_part_patch(b, len, &p, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, "subscriptions: more than 65536 entries");
		free(b);
	}

	assert_int_equal(mr_parse_stream_patch(S("{\"muted\":false}"), &muted, err, sizeof(err)),
			 0);
	assert_int_equal(muted, 0);
	assert_int_equal(mr_parse_stream_patch(S("{\"muted\":true}"), &muted, err, sizeof(err)),
			 0);
	assert_int_equal(muted, 1);
	assert_int_equal(mr_parse_stream_patch(S("{}"), &muted, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "body: nothing to change");
	assert_int_equal(mr_parse_stream_patch(S("{\"muted\":0}"), &muted, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "muted: must be a boolean");
	assert_int_equal(mr_parse_stream_patch(S("{\"muted\":true,\"kind\":\"audio\"}"), &muted,
					       err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "kind: unknown field");
}

/* ---- SSRC map ---- */

static void
test_ssrc_map(void **state)
{
	struct mr_dp_stream st[6];
	struct mr_dp_ssrc_ent e[6] = {
		{ 500, &st[0] }, { 0xffffffffu, &st[1] }, { 7, &st[2] }, { 0, &st[3] },
		{ 499, &st[4] }, { 501, &st[5] },
	};
	static const uint32_t sorted[6] = { 0, 7, 499, 500, 501, 0xffffffffu };
	struct mr_dp_ssrc_map *m = calloc(1, mr_ssrc_map_size(6));
	struct mr_dp_ssrc_map *m0 = calloc(1, mr_ssrc_map_size(0));
	unsigned int i;

	(void)state;
	assert_int_equal(mr_ssrc_map_size(0), sizeof(struct mr_dp_ssrc_map));
	assert_int_equal(mr_ssrc_map_size(6), sizeof(struct mr_dp_ssrc_map) +
			 6 * sizeof(struct mr_dp_ssrc_ent));
	assert_int_equal(mr_ssrc_map_fill(m, e, 6), 0);
	assert_int_equal(m->n, 6);
	for (i = 0; i < 6; i++)
		assert_int_equal(m->e[i].ssrc, sorted[i]);
	assert_ptr_equal(m->e[0].st, &st[3]);
	assert_ptr_equal(m->e[5].st, &st[1]);
	for (i = 0; i < 6; i++)
		assert_ptr_equal(mr_ssrc_map_find(m, e[i].ssrc), e[i].st);
	assert_null(mr_ssrc_map_find(m, 1));
	assert_null(mr_ssrc_map_find(m, 498));
	assert_null(mr_ssrc_map_find(m, 502));
	assert_null(mr_ssrc_map_find(m, 0xfffffffeu));
	/* The input is left as it was. */
	assert_int_equal(e[0].ssrc, 500);

	assert_int_equal(mr_ssrc_map_fill(m0, e, 0), 0);
	assert_int_equal(m0->n, 0);
	assert_null(mr_ssrc_map_find(m0, 0));

	/* A clash is never published: -EEXIST. */
	e[4].ssrc = 7;
	assert_int_equal(mr_ssrc_map_fill(m, e, 6), -EEXIST);
	e[4].ssrc = 499;
	e[1].ssrc = 0;
	assert_int_equal(mr_ssrc_map_fill(m, e, 6), -EEXIST);
	free(m);
	free(m0);
}

/* ---- subscriber lists ---- */

static void
test_sublist(void **state)
{
	struct mr_dp_part p[5];
	struct mr_dp_part *parts[5] = { &p[0], &p[1], &p[2], &p[3], &p[4] };
	uint8_t all[5] = { 1, 1, 1, 1, 1 }, some[5] = { 0, 1, 0, 1, 1 }, none[5] = { 0 };
	struct mr_dp_sublist *a = calloc(1, mr_sublist_size(5));
	struct mr_dp_sublist *b = calloc(1, mr_sublist_size(5));

	(void)state;
	assert_int_equal(mr_sublist_size(5), sizeof(struct mr_dp_sublist) +
			 5 * sizeof(struct mr_dp_part *));
	/* auto_subscribe: everyone but the publisher, in participant order. */
	assert_int_equal(mr_sublist_fill(a, parts, all, 5, &p[2]), 4);
	assert_int_equal(a->n, 4);
	assert_ptr_equal(a->sub[0], &p[0]);
	assert_ptr_equal(a->sub[1], &p[1]);
	assert_ptr_equal(a->sub[2], &p[3]);
	assert_ptr_equal(a->sub[3], &p[4]);
	/* Explicit: those who want it; the publisher never, even when it asks. */
	assert_int_equal(mr_sublist_fill(b, parts, some, 5, &p[3]), 2);
	assert_ptr_equal(b->sub[0], &p[1]);
	assert_ptr_equal(b->sub[1], &p[4]);
	assert_int_equal(mr_sublist_same(a, b), 0);
	assert_int_equal(mr_sublist_fill(b, parts, all, 5, &p[2]), 4);
	assert_int_equal(mr_sublist_same(a, b), 1);
	/* Same members, other order: a different list (the dataplane's order changes). */
	parts[0] = &p[1];
	parts[1] = &p[0];
	assert_int_equal(mr_sublist_fill(b, parts, all, 5, &p[2]), 4);
	assert_int_equal(mr_sublist_same(a, b), 0);
	assert_int_equal(mr_sublist_fill(b, parts, none, 5, NULL), 0);
	assert_int_equal(b->n, 0);
	assert_int_equal(mr_sublist_fill(a, parts, all, 0, NULL), 0);
	assert_int_equal(mr_sublist_same(a, b), 1);
	assert_int_equal(mr_sublist_same(NULL, b), 0);
	assert_int_equal(mr_sublist_same(NULL, NULL), 1);
	free(a);
	free(b);
}

/* ---- auto-publish guesses ---- */

static void
test_guess(void **state)
{
	(void)state;
	assert_int_equal(mr_rooms_guess_kind(0, MR_KIND_VIDEO), MR_KIND_AUDIO);
	assert_int_equal(mr_rooms_guess_kind(23, MR_KIND_VIDEO), MR_KIND_AUDIO);
	assert_int_equal(mr_rooms_guess_kind(24, MR_KIND_AUDIO), MR_KIND_VIDEO);
	assert_int_equal(mr_rooms_guess_kind(34, MR_KIND_AUDIO), MR_KIND_VIDEO);
	assert_int_equal(mr_rooms_guess_kind(35, MR_KIND_AUDIO), MR_KIND_AUDIO);
	assert_int_equal(mr_rooms_guess_kind(111, MR_KIND_AUDIO), MR_KIND_AUDIO);
	assert_int_equal(mr_rooms_guess_kind(96, MR_KIND_VIDEO), MR_KIND_VIDEO);
	assert_int_equal(mr_rooms_guess_clock(MR_KIND_AUDIO, 0), 8000);
	assert_int_equal(mr_rooms_guess_clock(MR_KIND_AUDIO, 9), 8000);	/* G.722 quirk */
	assert_int_equal(mr_rooms_guess_clock(MR_KIND_AUDIO, 10), 44100);
	assert_int_equal(mr_rooms_guess_clock(MR_KIND_VIDEO, 26), 90000);
	assert_int_equal(mr_rooms_guess_clock(MR_KIND_AUDIO, 111), 48000);
	assert_int_equal(mr_rooms_guess_clock(MR_KIND_VIDEO, 96), 90000);
}

/* ---- active speaker ---- */

#define DB(x) ((uint32_t)(x) * 256)

static int
look2(struct mr_speaker *s, uint32_t la, int aa, uint32_t lb, int ab)
{
	struct mr_speaker_in in[2] = {
		{ .part = 1, .stream = 11, .level_q8 = la, .active = aa },
		{ .part = 2, .stream = 21, .level_q8 = lb, .active = ab },
	};

	return mr_speaker_look(s, in, 2);
}

static void
test_speaker(void **state)
{
	struct mr_speaker s;
	struct mr_speaker_in three[3] = {
		{ 1, 11, DB(30), 1 }, { 2, 21, DB(20), 1 }, { 3, 31, DB(20), 1 },
	};

	(void)state;
	mr_speaker_init(&s);
	assert_int_equal(s.part, 0);
	assert_int_equal(s.level_q8, DB(127));
	/* Nobody speaks: quieter than -60 dBov, or no packets. */
	assert_int_equal(look2(&s, DB(60), 1, DB(10), 0), 0);
	assert_int_equal(s.part, 0);
	assert_int_equal(mr_speaker_emit_due(&s, 0), 0);
	/* First speaker: at once. */
	assert_int_equal(look2(&s, DB(30), 1, DB(40), 1), 1);
	assert_int_equal(s.part, 1);
	assert_int_equal(s.stream, 11);
	assert_int_equal(s.level_q8, DB(30));
	assert_int_equal(mr_speaker_emit_due(&s, 1000), 1);
	assert_int_equal(s.emitted, 1);
	assert_int_equal(mr_speaker_emit_due(&s, 1100), 0);	/* nothing new */
	/* B louder by 10 dB: one look is not enough. */
	assert_int_equal(look2(&s, DB(30), 1, DB(20), 1), 0);
	assert_int_equal(s.part, 1);
	assert_int_equal(s.challenger, 2);
	assert_int_equal(s.wins, 1);
	/* B only 2 dB louder: below the margin, the challenge is over. */
	assert_int_equal(look2(&s, DB(30), 1, DB(28), 1), 0);
	assert_int_equal(s.challenger, 0);
	assert_int_equal(s.wins, 0);
	/* Exactly the margin (3 dB) counts. */
	assert_int_equal(look2(&s, DB(30), 1, DB(27), 1), 0);
	assert_int_equal(s.wins, 1);
	assert_int_equal(look2(&s, DB(30), 1, DB(20), 1), 1);
	assert_int_equal(s.part, 2);
	assert_int_equal(s.stream, 21);
	assert_int_equal(s.level_q8, DB(20));
	/* The change came 200 ms after the last event: held back until 300 ms passed. */
	assert_int_equal(mr_speaker_emit_due(&s, 1200), 0);
	assert_int_equal(mr_speaker_emit_due(&s, 1299), 0);
	assert_int_equal(mr_speaker_emit_due(&s, 1300), 1);
	assert_int_equal(s.emitted, 2);
	/* B falls silent: it stays the speaker until someone else speaks for two looks. */
	assert_int_equal(look2(&s, DB(127), 0, DB(20), 0), 0);
	assert_int_equal(s.part, 2);
	assert_int_equal(s.level_q8, DB(127));
	assert_int_equal(look2(&s, DB(50), 1, DB(20), 0), 0);
	assert_int_equal(s.wins, 1);
	/* A silence in between resets the challenge. */
	assert_int_equal(look2(&s, DB(50), 0, DB(20), 0), 0);
	assert_int_equal(s.wins, 0);
	assert_int_equal(look2(&s, DB(50), 1, DB(20), 0), 0);
	assert_int_equal(look2(&s, DB(50), 1, DB(20), 0), 1);
	assert_int_equal(s.part, 1);
	/* The speaker's own level is what challengers must beat, and it speaking resets a
	 * challenge. */
	assert_int_equal(look2(&s, DB(40), 1, DB(36), 1), 0);
	assert_int_equal(s.wins, 1);
	assert_int_equal(look2(&s, DB(10), 1, DB(36), 1), 0);
	assert_int_equal(s.wins, 0);
	assert_int_equal(s.level_q8, DB(10));
	/* Two challengers in turn: each starts from one win. */
	mr_speaker_init(&s);
	assert_int_equal(look2(&s, DB(30), 1, DB(50), 1), 1);
	three[1].level_q8 = DB(20);
	three[2].level_q8 = DB(21);
	assert_int_equal(mr_speaker_look(&s, three, 3), 0);
	assert_int_equal(s.challenger, 2);
	three[1].level_q8 = DB(21);
	three[2].level_q8 = DB(20);
	assert_int_equal(mr_speaker_look(&s, three, 3), 0);
	assert_int_equal(s.challenger, 3);
	assert_int_equal(s.wins, 1);
	assert_int_equal(mr_speaker_look(&s, three, 3), 1);
	assert_int_equal(s.part, 3);
	assert_int_equal(s.stream, 31);
	/* The speaker leaves: no speaker, and that is announced (participant 0 = null). */
	assert_int_equal(mr_speaker_emit_due(&s, 5000), 1);
	mr_speaker_forget(&s, 3);
	assert_int_equal(s.part, 0);
	assert_int_equal(s.stream, 0);
	assert_int_equal(mr_speaker_emit_due(&s, 5100), 0);
	assert_int_equal(mr_speaker_emit_due(&s, 5300), 1);
	assert_int_equal(s.emitted, 0);
	/* Forgetting a challenger drops its wins. */
	assert_int_equal(mr_speaker_look(&s, three, 3), 1);
	assert_int_equal(s.part, 3);
	three[2].active = 0;
	assert_int_equal(mr_speaker_look(&s, three, 3), 0);
	assert_int_equal(s.challenger, 2);
	mr_speaker_forget(&s, 2);
	assert_int_equal(s.challenger, 0);
	assert_int_equal(s.wins, 0);
	assert_int_equal(s.part, 3);
	/* No streams at all. */
	assert_int_equal(mr_speaker_look(&s, NULL, 0), 0);
	assert_int_equal(s.part, 3);
}

/* ---- MOS plumbing ---- */

static void
test_mos(void **state)
{
	struct mr_quality_in q = { .loss = 0, .jitter_ms = 0, .rtt_ms = 0,
				   .codec = MR_CODEC_OPUS };

	(void)state;
	assert_true(mr_rooms_mos(0, 0, 0, 0, 0, "opus") == mr_mos_estimate(&q));
	assert_true(mr_mos_estimate(&q) > 4.0);
	/* Independent losses on the two hops: 10 % and 10 % make 19 %. */
	q.loss = 1.0 - 0.9 * 0.9;
	q.jitter_ms = 30;
	q.rtt_ms = 120;
	assert_true(mr_rooms_mos(0.1, 0.1, 30, 12, 120, "OPUS") == mr_mos_estimate(&q));
	assert_true(mr_rooms_mos(0.1, 0.1, 12, 30, 120, "opus") == mr_mos_estimate(&q));
	/* Out of range inputs are clamped, not passed on. */
	q.loss = 1.0;
	q.jitter_ms = 0;
	q.rtt_ms = 0;
	assert_true(mr_rooms_mos(1.5, -0.2, 0, 0, 0, "opus") == mr_mos_estimate(&q));
	q.loss = 0;
	assert_true(mr_rooms_mos(-1, -1, 0, 0, 0, "opus") == mr_mos_estimate(&q));
	/* The codec name goes through mr_codec_from_name. */
	q.codec = MR_CODEC_PCMU;
	assert_true(mr_rooms_mos(0, 0, 0, 0, 0, "PCMU") == mr_mos_estimate(&q));
	q.codec = MR_CODEC_UNKNOWN;
	assert_true(mr_rooms_mos(0, 0, 0, 0, 0, NULL) == mr_mos_estimate(&q));
	assert_true(mr_rooms_mos(0.5, 0, 0, 0, 0, "opus") < mr_rooms_mos(0.01, 0, 0, 0, 0,
									   "opus"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_parse),
		cmocka_unit_test(test_room_req),
		cmocka_unit_test(test_part_req),
		cmocka_unit_test(test_stream_req),
		cmocka_unit_test(test_part_patch),
		cmocka_unit_test(test_ssrc_map),
		cmocka_unit_test(test_sublist),
		cmocka_unit_test(test_guess),
		cmocka_unit_test(test_speaker),
		cmocka_unit_test(test_mos),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
