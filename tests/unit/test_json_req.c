/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for controlplane/api/json_req.c: POST and PATCH /v1/sessions body validation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_req.h"

static char err[256];

static int
create(const char *body, struct mr_session_req *req)
{
	memset(err, 0, sizeof(err));
	return mr_parse_session_create(body, strlen(body), req, err, sizeof(err));
}

static int
patch(const char *body, struct mr_session_patch *p)
{
	memset(err, 0, sizeof(err));
	return mr_parse_session_patch(body, strlen(body), p, err, sizeof(err));
}

/* A create body that must be refused with exactly this message. */
static void
create_bad(const char *body, const char *msg)
{
	struct mr_session_req req;

	if (create(body, &req) != -EINVAL || strcmp(err, msg) != 0)
		fail_msg("body %s\n  got '%s'\n  want '%s'", body, err, msg);
}

static void
patch_bad(const char *body, const char *msg)
{
	struct mr_session_patch p;

	if (patch(body, &p) != -EINVAL || strcmp(err, msg) != 0)
		fail_msg("body %s\n  got '%s'\n  want '%s'", body, err, msg);
}

static void
assert_ep(const struct mr_ep *ep, const char *text)
{
	struct mr_ep want;

	assert_int_equal(mr_ep_parse(text, &want), 0);
	assert_true(mr_ep_eq(ep, &want));
}

/* ---- POST: valid bodies ---- */

static void
test_create_full(void **state)
{
	struct mr_session_req req;
	const char *body =
		"{\"legs\":[{\"remote\":\"198.18.1.2:5004\",\"rtcp_remote\":\"198.18.1.2:5009\","
		"\"interface\":\"edge0\",\"family\":\"ipv4\"},{}],"
		"\"rtcp_mux\":false,\"idle_timeout\":60,\"clock_rate\":8000,\"label\":\"call-id\"}";

	(void)state;
	assert_int_equal(create(body, &req), 0);
	assert_int_equal(req.legs[0].has_remote, 1);
	assert_int_equal(req.legs[0].clear_remote, 0);
	assert_ep(&req.legs[0].remote, "198.18.1.2:5004");
	assert_int_equal(req.legs[0].remote.port, 5004);
	assert_int_equal(req.legs[0].remote.a[0], 198);
	assert_int_equal(req.legs[0].remote.a[3], 2);
	assert_int_equal(req.legs[0].has_rtcp_remote, 1);
	assert_ep(&req.legs[0].rtcp_remote, "198.18.1.2:5009");
	assert_string_equal(req.legs[0].interface, "edge0");
	assert_int_equal(req.legs[0].family, MR_AF4);
	assert_int_equal(req.legs[1].has_remote, 0);
	assert_int_equal(req.legs[1].has_rtcp_remote, 0);
	assert_string_equal(req.legs[1].interface, "");
	assert_int_equal(req.legs[1].family, 0);
	assert_int_equal(req.rtcp_mux, 0);
	assert_int_equal(req.idle_timeout, 60);
	assert_int_equal(req.clock_rate, 8000);
	assert_string_equal(req.label, "call-id");
}

static void
test_create_defaults(void **state)
{
	struct mr_session_req req;

	(void)state;
	memset(&req, 0xa5, sizeof(req));
	assert_int_equal(create("{\"legs\":[{},{}]}", &req), 0);
	assert_int_equal(req.rtcp_mux, 1);
	assert_int_equal(req.idle_timeout, 0);
	assert_int_equal(req.clock_rate, 0);
	assert_string_equal(req.label, "");
	assert_int_equal(req.legs[0].has_remote, 0);
	assert_int_equal(req.legs[0].family, 0);
	assert_int_equal(req.legs[0].remote.family, 0);
	assert_int_equal(req.legs[1].has_rtcp_remote, 0);
	assert_string_equal(req.legs[1].interface, "");

	/* Whitespace around and inside is JSON's business, not ours. */
	assert_int_equal(create(" \n{ \"legs\" : [ { } , { } ] }\r\n\t", &req), 0);
}

static void
test_create_ipv6_and_family(void **state)
{
	struct mr_session_req req;

	(void)state;
	assert_int_equal(create("{\"legs\":[{\"remote\":\"[2001:db8::2]:5004\",\"family\":\"ipv6\"},"
				"{\"family\":\"ipv6\"}]}", &req), 0);
	assert_int_equal(req.legs[0].has_remote, 1);
	assert_int_equal(req.legs[0].remote.family, MR_AF6);
	assert_int_equal(req.legs[0].remote.port, 5004);
	assert_int_equal(req.legs[0].remote.a[0], 0x20);
	assert_int_equal(req.legs[0].remote.a[1], 0x01);
	assert_int_equal(req.legs[0].remote.a[15], 0x02);
	assert_int_equal(req.legs[0].family, MR_AF6);
	/* family without remote: the leg's local address family */
	assert_int_equal(req.legs[1].has_remote, 0);
	assert_int_equal(req.legs[1].family, MR_AF6);

	/* family absent: taken from the remote */
	assert_int_equal(create("{\"legs\":[{\"remote\":\"[2001:db8::2]:5004\"},"
				"{\"remote\":\"198.18.1.9:7000\"}]}", &req), 0);
	assert_int_equal(req.legs[0].family, MR_AF6);
	assert_int_equal(req.legs[1].family, MR_AF4);

	/* IPv6 RTP and RTCP remotes without rtcp-mux */
	assert_int_equal(create("{\"rtcp_mux\":false,\"legs\":[{\"remote\":\"[2001:db8::2]:5004\","
				"\"rtcp_remote\":\"[2001:db8::3]:6001\"},{}]}", &req), 0);
	assert_int_equal(req.legs[0].has_rtcp_remote, 1);
	assert_ep(&req.legs[0].rtcp_remote, "[2001:db8::3]:6001");
}

static void
test_create_nulls_and_order(void **state)
{
	struct mr_session_req req;

	(void)state;
	/* "remote": null = no remote (latch); "rtcp_remote": null = default. */
	assert_int_equal(create("{\"legs\":[{\"remote\":null,\"rtcp_remote\":null},"
				"{\"remote\":null}]}", &req), 0);
	assert_int_equal(req.legs[0].has_remote, 0);
	assert_int_equal(req.legs[0].has_rtcp_remote, 0);
	assert_int_equal(req.legs[1].has_remote, 0);

	/* rtcp_mux after legs still applies to the legs' checks */
	assert_int_equal(create("{\"legs\":[{\"remote\":\"198.18.1.2:5004\","
				"\"rtcp_remote\":\"198.18.1.2:5009\"},{}],\"rtcp_mux\":false}",
				&req), 0);
	assert_int_equal(req.legs[0].has_rtcp_remote, 1);
	assert_int_equal(req.rtcp_mux, 0);

	assert_int_equal(create("{\"rtcp_mux\":true,\"legs\":[{},{}]}", &req), 0);
	assert_int_equal(req.rtcp_mux, 1);
}

static void
test_create_limits(void **state)
{
	struct mr_session_req req;
	char body[512], label[200];

	(void)state;
	assert_int_equal(create("{\"legs\":[{},{}],\"idle_timeout\":1}", &req), 0);
	assert_int_equal(req.idle_timeout, 1);
	assert_int_equal(create("{\"legs\":[{},{}],\"idle_timeout\":86400}", &req), 0);
	assert_int_equal(req.idle_timeout, 86400);
	assert_int_equal(create("{\"legs\":[{},{}],\"clock_rate\":1}", &req), 0);
	assert_int_equal(req.clock_rate, 1);
	assert_int_equal(create("{\"legs\":[{},{}],\"clock_rate\":1000000}", &req), 0);
	assert_int_equal(req.clock_rate, 1000000);

	/* label: 127 bytes fit, 128 do not */
	memset(label, 'x', 127);
	label[127] = '\0';
	snprintf(body, sizeof(body), "{\"legs\":[{},{}],\"label\":\"%s\"}", label);
	assert_int_equal(create(body, &req), 0);
	assert_int_equal(strlen(req.label), 127);
	assert_string_equal(req.label, label);
	snprintf(body, sizeof(body), "{\"legs\":[{},{}],\"label\":\"%sy\"}", label);
	create_bad(body, "label: longer than 127 bytes");
	/* the limit is in bytes, not characters: 64 two-byte characters = 128 bytes */
	strcpy(body, "{\"legs\":[{},{}],\"label\":\"");
	for (int i = 0; i < 64; i++)
		strcat(body, "\xc3\xa9");
	strcat(body, "\"}");
	create_bad(body, "label: longer than 127 bytes");
	/* UTF-8 and escapes are fine, empty too */
	assert_int_equal(create("{\"legs\":[{},{}],\"label\":\"caf\\u00e9 \\\"q\\\" \xe2\x82\xac\"}",
				&req), 0);
	assert_string_equal(req.label, "caf\xc3\xa9 \"q\" \xe2\x82\xac");
	assert_int_equal(create("{\"legs\":[{},{}],\"label\":\"\"}", &req), 0);
	assert_string_equal(req.label, "");

	/* interface: 31 bytes fit, 32 do not */
	assert_int_equal(create("{\"legs\":[{\"interface\":\"abcdefghijklmnopqrstuvwxyz01234\"},{}]}",
				&req), 0);
	assert_string_equal(req.legs[0].interface, "abcdefghijklmnopqrstuvwxyz01234");
	create_bad("{\"legs\":[{\"interface\":\"abcdefghijklmnopqrstuvwxyz012345\"},{}]}",
		   "legs[0].interface: must be 1 to 31 bytes long");
}

/* ---- POST: invalid bodies ---- */

static void
test_create_body(void **state)
{
	struct mr_session_req req;
	static const char nul_body[] = "{\"legs\":[{},{}]}\0";

	(void)state;
	assert_int_equal(mr_parse_session_create("", 0, &req, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "body: empty");
	assert_int_equal(mr_parse_session_create(NULL, 0, &req, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "body: empty");

	create_bad("{", "body: invalid JSON: string or '}' expected near end of file "
		   "(line 1, column 1)");
	create_bad("{\"legs\":[{},{}]", "body: invalid JSON: '}' expected near end of file "
		   "(line 1, column 15)");
	create_bad("{\"legs\":[{},{}]} x", "body: invalid JSON: end of file expected near 'x' "
		   "(line 1, column 18)");
	create_bad("{\n\"legs\": [{},{}],\n\"label\": 'x'\n}",
		   "body: invalid JSON: invalid token near ''' (line 3, column 10)");
	create_bad("{\"legs\":[{},{}],\"legs\":[{},{}]}",
		   "body: invalid JSON: duplicate object key near '\"legs\"' (line 1, column 22)");
	create_bad("{\"legs\":[{},{}],\"label\":\"a\\u0000b\"}",
		   "body: invalid JSON: \\u0000 is not allowed without JSON_ALLOW_NUL near "
		   "'\"a\\u0000b\"' (line 1, column 34)");
	create_bad("{\"legs\":[{},{}],\"label\":\"\xff\"}",
		   "body: invalid JSON: unable to decode byte 0xff near '\"' (line 1, column 25)");
	/* jansson quotes the text near the error: it comes back printable and one line */
	create_bad("{\"legs\":[{},{}],\"label\":\"ab\ncd\"}",
		   "body: invalid JSON: unexpected newline near '\"ab' (line 1, column 27)");
	create_bad("{\"legs\":[{},{}],\"label\":\"\xc3\xa9\x01\"}",
		   "body: invalid JSON: control character 0x1 near '\"?\?' (line 1, column 26)");
	create_bad("{\"legs\":[{},{}],\"idle_timeout\":99999999999999999999999}",
		   "body: invalid JSON: too big integer (line 1, column 54)");

	/* A NUL byte inside the declared length is not the end of the body. */
	assert_int_equal(mr_parse_session_create(nul_body, sizeof(nul_body) - 1, &req, err,
						 sizeof(err)), -EINVAL);
	assert_true(strncmp(err, "body: invalid JSON: ", 20) == 0);
	/* ... and a length shorter than the string is honoured. */
	assert_int_equal(mr_parse_session_create("{\"legs\":[{},{}]}garbage", 16, &req, err,
						 sizeof(err)), 0);

	create_bad("[]", "body: must be a JSON object");
	create_bad("[{},{}]", "body: must be a JSON object");
	create_bad("5", "body: must be a JSON object");
	create_bad("\"legs\"", "body: must be a JSON object");
	create_bad("null", "body: must be a JSON object");
	create_bad("true", "body: must be a JSON object");
}

static void
test_create_deep_nesting(void **state)
{
	enum { n = 100000 };
	static char body[2 * n + 32];
	struct mr_session_req req;

	(void)state;
	memcpy(body, "{\"legs\":", 8);
	memset(body + 8, '[', n);
	memset(body + 8 + n, ']', n);
	body[8 + 2 * n] = '}';
	body[8 + 2 * n + 1] = '\0';
	assert_int_equal(mr_parse_session_create(body, strlen(body), &req, err, sizeof(err)),
			 -EINVAL);
	assert_true(strncmp(err, "body: invalid JSON: maximum parsing depth reached", 49) == 0);
}

static void
test_create_structure(void **state)
{
	(void)state;
	create_bad("{}", "legs: required");
	create_bad("{\"label\":\"x\"}", "legs: required");
	create_bad("{\"legs\":null}", "legs: must be an array of 2 objects");
	create_bad("{\"legs\":{}}", "legs: must be an array of 2 objects");
	create_bad("{\"legs\":\"ab\"}", "legs: must be an array of 2 objects");
	create_bad("{\"legs\":[]}", "legs: must have exactly 2 entries (got 0)");
	create_bad("{\"legs\":[{}]}", "legs: must have exactly 2 entries (got 1)");
	create_bad("{\"legs\":[{},{},{}]}", "legs: must have exactly 2 entries (got 3)");
	create_bad("{\"legs\":[1,{}]}", "legs[0]: must be an object");
	create_bad("{\"legs\":[{},null]}", "legs[1]: must be an object");
	create_bad("{\"legs\":[{},[]]}", "legs[1]: must be an object");

	create_bad("{\"legs\":[{},{}],\"foo\":1}", "foo: unknown field");
	create_bad("{\"foo\":1,\"legs\":[{},{}]}", "foo: unknown field");
	create_bad("{\"legs\":[{},{\"foo\":true}]}", "legs[1].foo: unknown field");
	create_bad("{\"legs\":[{\"Remote\":\"198.18.1.2:5004\"},{}]}",
		   "legs[0].Remote: unknown field");
	create_bad("{\"legs\":[{},{}],\"rtcpmux\":false}", "rtcpmux: unknown field");
	/* a hostile key is quoted back bounded and printable */
	create_bad("{\"legs\":[{},{}],\"a\\nb\\u0001'c\":1}", "a?b??c: unknown field");
	create_bad("{\"legs\":[{},{}],\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":1}",
		   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...: unknown field");
	/* top-level errors are reported before leg errors */
	create_bad("{\"legs\":[{\"foo\":1},{}],\"rtcp_mux\":1}", "rtcp_mux: must be a boolean");
}

static void
test_create_types(void **state)
{
	(void)state;
	create_bad("{\"legs\":[{},{}],\"rtcp_mux\":1}", "rtcp_mux: must be a boolean");
	create_bad("{\"legs\":[{},{}],\"rtcp_mux\":\"true\"}", "rtcp_mux: must be a boolean");
	create_bad("{\"legs\":[{},{}],\"rtcp_mux\":null}", "rtcp_mux: must be a boolean");
	create_bad("{\"legs\":[{},{}],\"idle_timeout\":\"60\"}", "idle_timeout: must be an integer");
	create_bad("{\"legs\":[{},{}],\"idle_timeout\":60.0}", "idle_timeout: must be an integer");
	create_bad("{\"legs\":[{},{}],\"idle_timeout\":true}", "idle_timeout: must be an integer");
	create_bad("{\"legs\":[{},{}],\"idle_timeout\":null}", "idle_timeout: must be an integer");
	create_bad("{\"legs\":[{},{}],\"idle_timeout\":0}", "idle_timeout: must be between 1 and 86400");
	create_bad("{\"legs\":[{},{}],\"idle_timeout\":-1}",
		   "idle_timeout: must be between 1 and 86400");
	create_bad("{\"legs\":[{},{}],\"idle_timeout\":86401}",
		   "idle_timeout: must be between 1 and 86400");
	create_bad("{\"legs\":[{},{}],\"idle_timeout\":9223372036854775807}",
		   "idle_timeout: must be between 1 and 86400");
	create_bad("{\"legs\":[{},{}],\"idle_timeout\":-9223372036854775808}",
		   "idle_timeout: must be between 1 and 86400");
	create_bad("{\"legs\":[{},{}],\"clock_rate\":0}", "clock_rate: must be between 1 and 1000000");
	create_bad("{\"legs\":[{},{}],\"clock_rate\":1000001}",
		   "clock_rate: must be between 1 and 1000000");
	create_bad("{\"legs\":[{},{}],\"clock_rate\":4294975296}",
		   "clock_rate: must be between 1 and 1000000");
	create_bad("{\"legs\":[{},{}],\"clock_rate\":8e3}", "clock_rate: must be an integer");
	create_bad("{\"legs\":[{},{}],\"label\":5}", "label: must be a string");
	create_bad("{\"legs\":[{},{}],\"label\":null}", "label: must be a string");
	create_bad("{\"legs\":[{},{}],\"label\":[\"x\"]}", "label: must be a string");
	create_bad("{\"legs\":[{},{}],\"label\":\"a\\nb\"}",
		   "label: must not contain control characters");
	create_bad("{\"legs\":[{},{}],\"label\":\"\\u007f\"}",
		   "label: must not contain control characters");
}

static void
test_create_leg_fields(void **state)
{
	(void)state;
	create_bad("{\"legs\":[{\"remote\":5},{}]}", "legs[0].remote: must be a string 'IP:port'");
	create_bad("{\"legs\":[{},{\"remote\":{}}]}", "legs[1].remote: must be a string 'IP:port'");
	create_bad("{\"legs\":[{\"remote\":\"1.2.3:5\"},{}]}",
		   "legs[0].remote: '1.2.3:5' is not an IP:port");
	create_bad("{\"legs\":[{\"remote\":\"198.18.1.2\"},{}]}",
		   "legs[0].remote: '198.18.1.2' is not an IP:port");
	create_bad("{\"legs\":[{\"remote\":\"198.18.1.2:0\"},{}]}",
		   "legs[0].remote: '198.18.1.2:0' is not an IP:port");
	create_bad("{\"legs\":[{\"remote\":\"198.18.1.2:65536\"},{}]}",
		   "legs[0].remote: '198.18.1.2:65536' is not an IP:port");
	create_bad("{\"legs\":[{\"remote\":\"198.18.1.2:-5\"},{}]}",
		   "legs[0].remote: '198.18.1.2:-5' is not an IP:port");
	create_bad("{\"legs\":[{\"remote\":\"198.18.1.2:5004 \"},{}]}",
		   "legs[0].remote: '198.18.1.2:5004 ' is not an IP:port");
	create_bad("{\"legs\":[{\"remote\":\"2001:db8::2:5004\"},{}]}",
		   "legs[0].remote: '2001:db8::2:5004' is not an IP:port");
	create_bad("{\"legs\":[{\"remote\":\"[198.18.1.2]:5004\"},{}]}",
		   "legs[0].remote: '[198.18.1.2]:5004' is not an IP:port");
	create_bad("{\"legs\":[{\"remote\":\"\"},{}]}", "legs[0].remote: '' is not an IP:port");
	create_bad("{\"legs\":[{\"remote\":\"host.example:5004\"},{}]}",
		   "legs[0].remote: 'host.example:5004' is not an IP:port");
	/* a long or hostile value is quoted back bounded and printable */
	create_bad("{\"legs\":[{\"remote\":\"198.18.1.2:5004\\n\\u0007'"
		   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"},{}]}",
		   "legs[0].remote: '198.18.1.2:5004???xxxxxxxxxxxxxxxxxxxxxxxxxx...' is not an IP:port");

	create_bad("{\"legs\":[{\"family\":\"IPv4\"},{}]}", "legs[0].family: must be 'ipv4' or 'ipv6'");
	create_bad("{\"legs\":[{\"family\":\"ipv5\"},{}]}", "legs[0].family: must be 'ipv4' or 'ipv6'");
	create_bad("{\"legs\":[{\"family\":4},{}]}", "legs[0].family: must be 'ipv4' or 'ipv6'");
	create_bad("{\"legs\":[{},{\"family\":null}]}", "legs[1].family: must be 'ipv4' or 'ipv6'");
	create_bad("{\"legs\":[{},{\"family\":\"ipv4\\u0000\"}]}",
		   "body: invalid JSON: \\u0000 is not allowed without JSON_ALLOW_NUL near "
		   "'\"ipv4\\u0000\"' (line 1, column 34)");
	create_bad("{\"legs\":[{\"remote\":\"198.18.1.2:5004\",\"family\":\"ipv6\"},{}]}",
		   "legs[0].family: 'ipv6' does not match the IPv4 remote");
	create_bad("{\"legs\":[{},{\"family\":\"ipv4\",\"remote\":\"[2001:db8::1]:9\"}]}",
		   "legs[1].family: 'ipv4' does not match the IPv6 remote");

	create_bad("{\"legs\":[{\"interface\":5},{}]}", "legs[0].interface: must be a string");
	create_bad("{\"legs\":[{\"interface\":null},{}]}", "legs[0].interface: must be a string");
	create_bad("{\"legs\":[{\"interface\":\"\"},{}]}",
		   "legs[0].interface: must be 1 to 31 bytes long");
	create_bad("{\"legs\":[{},{\"interface\":\"edge 0\"}]}",
		   "legs[1].interface: must be printable ASCII without spaces");
	create_bad("{\"legs\":[{},{\"interface\":\"\xc3\xa9\"}]}",
		   "legs[1].interface: must be printable ASCII without spaces");
}

static void
test_create_rtcp_remote(void **state)
{
	(void)state;
	/* The brief's example body: rtcp_remote with the default rtcp_mux true. */
	create_bad("{\"legs\":[{\"remote\":\"198.18.1.2:5004\",\"rtcp_remote\":\"198.18.1.2:5009\","
		   "\"interface\":\"edge0\",\"family\":\"ipv4\"},{}],"
		   "\"rtcp_mux\":true,\"idle_timeout\":60,\"clock_rate\":8000,\"label\":\"call-id\"}",
		   "legs[0].rtcp_remote: needs rtcp_mux false");
	create_bad("{\"legs\":[{},{\"remote\":\"198.18.1.2:5004\",\"rtcp_remote\":\"198.18.1.2:5009\"}]}",
		   "legs[1].rtcp_remote: needs rtcp_mux false");
	create_bad("{\"rtcp_mux\":false,\"legs\":[{\"rtcp_remote\":\"198.18.1.2:5009\"},{}]}",
		   "legs[0].rtcp_remote: needs remote");
	create_bad("{\"rtcp_mux\":false,\"legs\":[{\"remote\":\"198.18.1.2:5004\","
		   "\"rtcp_remote\":\"[2001:db8::2]:5005\"},{}]}",
		   "legs[0].rtcp_remote: must be the same address family as remote (IPv4)");
	create_bad("{\"rtcp_mux\":false,\"legs\":[{},{\"remote\":\"[2001:db8::2]:5004\","
		   "\"rtcp_remote\":\"198.18.1.2:5005\"}]}",
		   "legs[1].rtcp_remote: must be the same address family as remote (IPv6)");
	create_bad("{\"rtcp_mux\":false,\"legs\":[{\"remote\":\"198.18.1.2:5004\","
		   "\"rtcp_remote\":\"198.18.1.2\"},{}]}",
		   "legs[0].rtcp_remote: '198.18.1.2' is not an IP:port");
	create_bad("{\"rtcp_mux\":false,\"legs\":[{\"remote\":\"198.18.1.2:5004\","
		   "\"rtcp_remote\":true},{}]}",
		   "legs[0].rtcp_remote: must be a string 'IP:port'");
}

static void
test_create_err_buffer(void **state)
{
	struct mr_session_req req;
	char small[8];

	(void)state;
	/* A short or missing error buffer truncates; it never overflows. */
	memset(small, 'z', sizeof(small));
	assert_int_equal(mr_parse_session_create("{}", 2, &req, small, sizeof(small)), -EINVAL);
	assert_string_equal(small, "legs: r");
	assert_int_equal(mr_parse_session_create("{}", 2, &req, NULL, 0), -EINVAL);
	assert_int_equal(mr_parse_session_create("{", 1, &req, small, 0), -EINVAL);
	assert_int_equal(small[0], 'l');
	assert_int_equal(mr_parse_session_create("{\"legs\":[{},{}]}", 16, NULL, err,
						 sizeof(err)), -EINVAL);
}

/* Every truncation of a valid body is refused as invalid JSON, and never read past. */
static void
test_create_truncated(void **state)
{
	const char *body =
		"{\"legs\":[{\"remote\":\"[2001:db8::2]:5004\",\"interface\":\"edge0\"},"
		"{\"remote\":null,\"family\":\"ipv6\"}],\"rtcp_mux\":true,\"idle_timeout\":60,"
		"\"clock_rate\":48000,\"label\":\"room-\\u00e9\"}";
	size_t len = strlen(body), i;
	struct mr_session_req req;

	(void)state;
	for (i = 1; i < len; i++) {
		char *copy = malloc(i);

		assert_non_null(copy);
		memcpy(copy, body, i);	/* no terminator: the parser must honour len */
		assert_int_equal(mr_parse_session_create(copy, i, &req, err, sizeof(err)),
				 -EINVAL);
		if (strncmp(err, "body: invalid JSON: ", 20) != 0)
			fail_msg("len %zu: %s", i, err);
		free(copy);
	}
	assert_int_equal(mr_parse_session_create(body, len, &req, err, sizeof(err)), 0);
	assert_int_equal(req.clock_rate, 48000);
	assert_string_equal(req.label, "room-\xc3\xa9");
}

/* Random mutations of a valid body: no crash, and every refusal is one line that starts with
 * a field path. */
static void
test_create_mutations(void **state)
{
	const char *body =
		"{\"legs\":[{\"remote\":\"198.18.1.2:5004\",\"rtcp_remote\":\"198.18.1.2:5009\","
		"\"interface\":\"edge0\",\"family\":\"ipv4\"},{}],\"rtcp_mux\":false,"
		"\"idle_timeout\":60,\"clock_rate\":8000,\"label\":\"call-id\"}";
	static const char alphabet[] = "{}[]\":,0123456789.-e\\ nulltruefalse\xff\x01";
	size_t len = strlen(body);
	struct mr_session_req req;
	struct mr_session_patch p;
	char buf[512];
	unsigned int seed = 12345, n, k;
	int ok = 0, bad = 0;

	(void)state;
	for (n = 0; n < 20000; n++) {
		memcpy(buf, body, len);
		for (k = 0; k < 1 + (unsigned int)rand_r(&seed) % 4; k++)
			buf[rand_r(&seed) % len] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		if (mr_parse_session_create(buf, len, &req, err, sizeof(err)) == 0) {
			ok++;
		} else {
			bad++;
			assert_true(strchr(err, '\n') == NULL);
			assert_true(strchr(err, ':') != NULL);
			assert_true(err[0] == 'b' || err[0] == 'l' || err[0] == 'r' ||
				    err[0] == 'i' || err[0] == 'c' || err[0] == 'f' ||
				    strstr(err, ": unknown field") != NULL);
		}
		if (mr_parse_session_patch(buf, len, &p, err, sizeof(err)) != 0)
			assert_true(strchr(err, '\n') == NULL);
	}
	assert_true(ok > 0);
	assert_true(bad > 0);
}

/* ---- PATCH ---- */

static void
test_patch_valid(void **state)
{
	struct mr_session_patch p;

	(void)state;
	memset(&p, 0xa5, sizeof(p));
	assert_int_equal(patch("{\"idle_timeout\":30}", &p), 0);
	assert_int_equal(p.has_idle_timeout, 1);
	assert_int_equal(p.idle_timeout, 30);
	assert_int_equal(p.has_label, 0);
	assert_int_equal(p.has_leg[0], 0);
	assert_int_equal(p.has_leg[1], 0);

	assert_int_equal(patch("{\"label\":\"x\"}", &p), 0);
	assert_int_equal(p.has_label, 1);
	assert_string_equal(p.label, "x");
	assert_int_equal(p.has_idle_timeout, 0);

	assert_int_equal(patch("{\"label\":\"\"}", &p), 0);
	assert_int_equal(p.has_label, 1);
	assert_string_equal(p.label, "");

	assert_int_equal(patch("{\"legs\":[{\"remote\":\"198.18.1.3:6000\"},{}],"
			       "\"idle_timeout\":30,\"label\":\"x\"}", &p), 0);
	assert_int_equal(p.has_leg[0], 1);
	assert_int_equal(p.has_leg[1], 0);
	assert_int_equal(p.legs[0].has_remote, 1);
	assert_int_equal(p.legs[0].clear_remote, 0);
	assert_ep(&p.legs[0].remote, "198.18.1.3:6000");
	assert_int_equal(p.legs[1].has_remote, 0);
	assert_int_equal(p.legs[1].clear_remote, 0);
	assert_int_equal(p.idle_timeout, 30);
	assert_string_equal(p.label, "x");

	/* null = forget the remote and latch again */
	assert_int_equal(patch("{\"legs\":[{},{\"remote\":null}]}", &p), 0);
	assert_int_equal(p.has_leg[0], 0);
	assert_int_equal(p.has_leg[1], 1);
	assert_int_equal(p.legs[1].clear_remote, 1);
	assert_int_equal(p.legs[1].has_remote, 0);

	/* muted: block the media towards a leg */
	assert_int_equal(patch("{\"legs\":[{\"muted\":true},{\"muted\":false}]}", &p), 0);
	assert_int_equal(p.has_leg[0], 1);
	assert_int_equal(p.legs[0].has_muted, 1);
	assert_int_equal(p.legs[0].muted, 1);
	assert_int_equal(p.legs[1].has_muted, 1);
	assert_int_equal(p.legs[1].muted, 0);
	assert_int_equal(patch("{\"legs\":[{\"muted\":\"yes\"},{}]}", &p), -EINVAL);
	assert_string_equal(err, "legs[0].muted: must be true or false");

	/* rtcp_remote alone (checked against the session by the session manager) */
	assert_int_equal(patch("{\"legs\":[{\"rtcp_remote\":\"[2001:db8::5]:7001\"},{}]}", &p), 0);
	assert_int_equal(p.has_leg[0], 1);
	assert_int_equal(p.legs[0].has_rtcp_remote, 1);
	assert_int_equal(p.legs[0].has_remote, 0);
	assert_ep(&p.legs[0].rtcp_remote, "[2001:db8::5]:7001");

	assert_int_equal(patch("{\"legs\":[{\"remote\":\"198.18.1.3:6000\",\"rtcp_remote\":"
			       "\"198.18.1.3:6001\"},{\"remote\":\"198.18.1.4:6000\"}]}", &p), 0);
	assert_int_equal(p.has_leg[0], 1);
	assert_int_equal(p.has_leg[1], 1);
	assert_ep(&p.legs[0].rtcp_remote, "198.18.1.3:6001");
	assert_ep(&p.legs[1].remote, "198.18.1.4:6000");
}

static void
test_patch_invalid(void **state)
{
	struct mr_session_patch p;

	(void)state;
	assert_int_equal(mr_parse_session_patch("", 0, &p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "body: empty");
	patch_bad("{}", "body: nothing to change");
	patch_bad("{\"legs\":[{},{}]}", "body: nothing to change");
	patch_bad("{\"legs\":[{},{}]", "body: invalid JSON: '}' expected near end of file "
		  "(line 1, column 15)");
	patch_bad("[]", "body: must be a JSON object");
	patch_bad("\"x\"", "body: must be a JSON object");
	patch_bad("{\"label\":\"a\",\"label\":\"b\"}",
		  "body: invalid JSON: duplicate object key near '\"label\"' (line 1, column 20)");

	patch_bad("{\"legs\":[{\"remote\":\"198.18.1.3:6000\"}]}",
		  "legs: must have exactly 2 entries (got 1)");
	patch_bad("{\"legs\":[{},{},{}]}", "legs: must have exactly 2 entries (got 3)");
	patch_bad("{\"legs\":{\"0\":{}}}", "legs: must be an array of 2 objects");
	patch_bad("{\"legs\":null}", "legs: must be an array of 2 objects");
	patch_bad("{\"legs\":[null,{}]}", "legs[0]: must be an object");
	patch_bad("{\"legs\":[{},\"198.18.1.3:6000\"]}", "legs[1]: must be an object");

	patch_bad("{\"legs\":[{\"interface\":\"edge0\"},{}]}", "legs[0].interface: cannot be changed");
	patch_bad("{\"legs\":[{},{\"family\":\"ipv4\"}]}", "legs[1].family: cannot be changed");
	patch_bad("{\"legs\":[{},{\"foo\":1}]}", "legs[1].foo: unknown field");
	patch_bad("{\"rtcp_mux\":false}", "rtcp_mux: cannot be changed");
	patch_bad("{\"clock_rate\":8000}", "clock_rate: cannot be changed");
	patch_bad("{\"id\":\"x\"}", "id: unknown field");
	patch_bad("{\"label\":\"x\",\"bar\":1}", "bar: unknown field");

	patch_bad("{\"legs\":[{\"remote\":\"198.18.1.3\"},{}]}",
		  "legs[0].remote: '198.18.1.3' is not an IP:port");
	patch_bad("{\"legs\":[{\"remote\":7},{}]}", "legs[0].remote: must be a string 'IP:port'");
	patch_bad("{\"legs\":[{},{\"rtcp_remote\":null}]}",
		  "legs[1].rtcp_remote: must be a string 'IP:port'");
	patch_bad("{\"legs\":[{\"remote\":null,\"rtcp_remote\":\"198.18.1.3:6001\"},{}]}",
		  "legs[0].rtcp_remote: cannot be set when remote is null");
	patch_bad("{\"legs\":[{\"remote\":\"198.18.1.3:6000\",\"rtcp_remote\":\"[::1]:6001\"},{}]}",
		  "legs[0].rtcp_remote: must be the same address family as remote (IPv4)");

	patch_bad("{\"idle_timeout\":0}", "idle_timeout: must be between 1 and 86400");
	patch_bad("{\"idle_timeout\":\"30\"}", "idle_timeout: must be an integer");
	patch_bad("{\"idle_timeout\":null}", "idle_timeout: must be an integer");
	patch_bad("{\"label\":1}", "label: must be a string");
	patch_bad("{\"label\":\"\\t\"}", "label: must not contain control characters");
	patch_bad("{\"label\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
		  "label: longer than 127 bytes");
	assert_int_equal(mr_parse_session_patch("{\"label\":\"x\"}", 13, NULL, err, sizeof(err)),
			 -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_full),
		cmocka_unit_test(test_create_defaults),
		cmocka_unit_test(test_create_ipv6_and_family),
		cmocka_unit_test(test_create_nulls_and_order),
		cmocka_unit_test(test_create_limits),
		cmocka_unit_test(test_create_body),
		cmocka_unit_test(test_create_deep_nesting),
		cmocka_unit_test(test_create_structure),
		cmocka_unit_test(test_create_types),
		cmocka_unit_test(test_create_leg_fields),
		cmocka_unit_test(test_create_rtcp_remote),
		cmocka_unit_test(test_create_err_buffer),
		cmocka_unit_test(test_create_truncated),
		cmocka_unit_test(test_create_mutations),
		cmocka_unit_test(test_patch_valid),
		cmocka_unit_test(test_patch_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
