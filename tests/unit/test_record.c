/* SPDX-License-Identifier: BSD-3-Clause
 * The two readers of a session's record in the state store (controlplane/sessions/
 * persist.c): the text one, which a restore tries first, must read every record it takes
 * exactly as jansson's does, and leave to jansson's every record it is not sure of.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "sessions.h"

#define REC(leg0, leg1) "{\"v\":1,\"id\":\"0000002a00000007\",\"label\":\"call 7\"," \
	"\"created\":1796500000,\"idle_timeout\":30,\"rtcp_mux\":false,\"clock_rate\":8000," \
	"\"owner\":1,\"legs\":[" leg0 "," leg1 "]}"
#define LEG(ifn, local, remote, rtcp) "{\"interface\":\"" ifn "\",\"local\":\"" local \
	"\",\"remote\":" remote ",\"rtcp_remote\":" rtcp ",\"srtp\":null"

/* Records the text reader takes. */
static const char *const taken[] = {
	REC(LEG("edge0", "198.18.0.1:30000", "\"198.18.0.10:4000\"", "\"198.18.0.10:4001\"") "}",
	    LEG("edge0", "198.18.0.1:30002", "null", "null") "}"),
	REC(LEG("edge0", "[2001:db8::1]:30000", "\"[2001:db8::10]:4000\"", "null") "}",
	    LEG("edge1", "198.18.0.1:30002", "\"198.18.0.11:5000\"", "null")
	    ",\"muted\":true}"),
	/* silenced (ng silence media), alone and with muted: bits 1 and 0 of the mute byte */
	REC(LEG("edge0", "198.18.0.1:30000", "null", "null") ",\"silenced\":true}",
	    LEG("edge0", "198.18.0.1:30002", "null", "null") ",\"muted\":true,\"silenced\":true}"),
	/* DTMF blocked (ng block DTMF): bit 2 and the payload type in bits 8-14 */
	REC(LEG("edge0", "198.18.0.1:30000", "null", "null") ",\"dtmf_blocked\":101}",
	    LEG("edge0", "198.18.0.1:30002", "null", "null") ",\"muted\":true,\"dtmf_blocked\":0}"),
	"{\"v\":1,\"id\":\"ffffffffffffffff\",\"label\":\"\",\"created\":0,\"idle_timeout\":-1,"
	"\"rtcp_mux\":true,\"clock_rate\":0,\"owner\":0,\"legs\":[{\"interface\":\"p\","
	"\"local\":\"198.18.0.1:1\",\"remote\":null,\"rtcp_remote\":null,\"srtp\":null},"
	"{\"interface\":\"p\",\"local\":\"198.18.0.1:3\",\"remote\":null,\"rtcp_remote\":null,"
	"\"srtp\":null}]}",
};

/* Records it leaves to jansson (some of which jansson takes, some it refuses). */
static const char *const left[] = {
	/* an escape in the label */
	"{\"v\":1,\"id\":\"0000002a00000007\",\"label\":\"a \\\"b\\\"\",\"created\":1,"
	"\"idle_timeout\":30,\"rtcp_mux\":false,\"clock_rate\":8000,\"owner\":1,\"legs\":["
	LEG("edge0", "198.18.0.1:30000", "null", "null") "}," LEG("edge0", "198.18.0.1:30002",
	"null", "null") "}]}",
	/* SRTP */
	REC(LEG("edge0", "198.18.0.1:30000", "null", "null") "}",
	    "{\"interface\":\"edge0\",\"local\":\"198.18.0.1:30002\",\"remote\":null,"
	    "\"rtcp_remote\":null,\"srtp\":{\"remote_key\":null,\"local_key\":null,\"rx\":[],"
	    "\"tx\":[]}}"),
	/* white space, another order, a trailing byte, a cut, another version */
	"{ \"v\":1}",
	"{\"id\":\"0000002a00000007\",\"v\":1}",
	REC(LEG("edge0", "198.18.0.1:30000", "null", "null") "}",
	    LEG("edge0", "198.18.0.1:30002", "null", "null") "}") " ",
	"{\"v\":1,\"id\":\"0000002a00000007\",\"label\":\"call",
	"{\"v\":2,\"id\":\"0000002a00000007\"}",
	/* not 16 hex digits, not an endpoint, a number too long */
	"{\"v\":1,\"id\":\"0000002a0000000g\",\"label\":\"\"}",
	REC(LEG("edge0", "198.18.0.1", "null", "null") "}",
	    LEG("edge0", "198.18.0.1:30002", "null", "null") "}"),
	"{\"v\":1,\"id\":\"0000002a00000007\",\"label\":\"\",\"created\":123456789012345678901}",
};

static void
test_text_reads_as_jansson(void **state)
{
	unsigned int k;

	(void)state;
	for (k = 0; k < sizeof(taken) / sizeof(taken[0]); k++) {
		struct mr_session_req r1, r2;
		struct mr_session_restore s1, s2;
		uint16_t m1[2], m2[2];
		char err[128];
		json_t *rec = json_loads(taken[k], 0, NULL);

		assert_non_null(rec);
		assert_int_equal(mr_session_record_read_text(taken[k], strlen(taken[k]), &r1, &s1,
							     m1), 1);
		assert_int_equal(mr_session_record_read_json(rec, &r2, &s2, m2, err, sizeof(err)),
				 0);
		assert_memory_equal(&r1, &r2, sizeof(r1));
		assert_memory_equal(&s1, &s2, sizeof(s1));
		assert_memory_equal(m1, m2, sizeof(m1));
		if (strstr(taken[k], "silenced") != NULL) {
			/* leg 0 silenced, leg 1 blocked and silenced */
			assert_int_equal(m1[0], 2);
			assert_int_equal(m1[1], 3);
		}
		if (strstr(taken[k], "dtmf_blocked") != NULL) {
			assert_int_equal(m1[0], 4 | 101 << 8);
			assert_int_equal(m1[1], 1 | 4);
		}
		json_decref(rec);
	}
}

static void
test_text_leaves_the_rest(void **state)
{
	struct mr_session_req r;
	struct mr_session_restore s;
	uint16_t m[2];
	unsigned int k;

	(void)state;
	for (k = 0; k < sizeof(left) / sizeof(left[0]); k++)
		assert_int_equal(mr_session_record_read_text(left[k], strlen(left[k]), &r, &s, m),
				 0);
	/* every proper prefix of a taken record is left too */
	for (k = 0; k < strlen(taken[0]); k++)
		assert_int_equal(mr_session_record_read_text(taken[0], k, &r, &s, m), 0);
}

static void
test_fields(void **state)
{
	struct mr_session_req r;
	struct mr_session_restore s;
	uint16_t m[2];

	(void)state;
	assert_int_equal(mr_session_record_read_text(taken[1], strlen(taken[1]), &r, &s, m), 1);
	assert_true(s.id == 0x0000002a00000007ULL);
	assert_int_equal(s.owner, 1);
	assert_int_equal((long long)s.created, 1796500000LL);
	assert_string_equal(r.label, "call 7");
	assert_int_equal(r.idle_timeout, 30);
	assert_int_equal(r.rtcp_mux, 0);
	assert_int_equal(r.clock_rate, 8000);
	assert_int_equal(s.local[0].family, MR_AF6);
	assert_int_equal(s.local[0].port, 30000);
	assert_true(r.legs[0].has_remote && !r.legs[0].has_rtcp_remote);
	assert_int_equal(r.legs[0].remote.port, 4000);
	assert_string_equal(r.legs[1].interface, "edge1");
	assert_int_equal(m[0], 0);
	assert_int_equal(m[1], 1);
	assert_false(r.legs[1].srtp.present);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_reads_as_jansson),
		cmocka_unit_test(test_text_leaves_the_rest),
		cmocka_unit_test(test_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
