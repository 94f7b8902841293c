/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for controlplane/core/jtext.h: JSON written straight into a buffer (the state
 * store's session records) reads back to the same values, and a buffer too small says so.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <jansson.h>

#include "jtext.h"

static void
test_str_round_trip(void **state)
{
	static const char *const cases[] = {
		"", "plain", "a \"quoted\" word", "back\\slash", "tab\there", "new\nline",
		"\x01\x1f ctl", "UTF-8: \xc3\xa9\xe2\x86\x92", "/slash/", "}{][,:",
	};
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[256];
		struct mr_jtext b;
		json_t *j;

		mr_jt_init(&b, buf, sizeof(buf));
		mr_jt_raw(&b, "{\"s\":");
		mr_jt_str(&b, cases[i]);
		mr_jt_fmt(&b, ",\"n\":%d}", 42);
		assert_false(b.overflow);
		assert_int_equal(b.len, strlen(buf));
		j = json_loads(buf, 0, NULL);
		assert_non_null(j);
		assert_string_equal(json_string_value(json_object_get(j, "s")), cases[i]);
		assert_int_equal(json_integer_value(json_object_get(j, "n")), 42);
		json_decref(j);
	}
}

static void
test_ep(void **state)
{
	struct mr_ep v4, v6, none;
	char buf[128];
	struct mr_jtext b;

	(void)state;
	memset(&none, 0, sizeof(none));
	assert_int_equal(mr_ep_parse("198.18.1.2:5004", &v4), 0);
	assert_int_equal(mr_ep_parse("[2001:2::5]:40000", &v6), 0);
	mr_jt_init(&b, buf, sizeof(buf));
	mr_jt_raw(&b, "[");
	mr_jt_ep(&b, &v4);
	mr_jt_raw(&b, ",");
	mr_jt_ep(&b, &v6);
	mr_jt_raw(&b, ",");
	mr_jt_ep(&b, &none);
	mr_jt_raw(&b, "]");
	assert_false(b.overflow);
	assert_string_equal(buf, "[\"198.18.1.2:5004\",\"[2001:2::5]:40000\",null]");
}

static void
test_overflow(void **state)
{
	char buf[8];
	struct mr_jtext b;

	(void)state;
	mr_jt_init(&b, buf, sizeof(buf));
	mr_jt_raw(&b, "1234567");	/* 7 bytes and the NUL: fits exactly */
	assert_false(b.overflow);
	assert_int_equal(b.len, 7);
	mr_jt_raw(&b, "8");
	assert_true(b.overflow);
	assert_int_equal(b.len, 7);	/* nothing written past the end */

	mr_jt_init(&b, buf, sizeof(buf));
	mr_jt_str(&b, "\"\"\"");	/* escaped: 8 bytes with the quotes */
	assert_true(b.overflow);
	assert_true(b.len < sizeof(buf));

	mr_jt_init(&b, buf, sizeof(buf));
	mr_jt_fmt(&b, "%d", 123456789);
	assert_true(b.overflow);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_str_round_trip),
		cmocka_unit_test(test_ep),
		cmocka_unit_test(test_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
