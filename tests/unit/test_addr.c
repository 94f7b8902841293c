/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for controlplane/config/addr.c: endpoint, address and prefix text forms.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "addr.h"

static void
test_ep_parse_v4(void **state)
{
	static const uint8_t want[16] = { 198, 18, 1, 2 };
	struct mr_ep ep;

	(void)state;
	assert_int_equal(mr_ep_parse("198.18.1.2:5004", &ep), 0);
	assert_int_equal(ep.family, MR_AF4);
	assert_int_equal(ep.port, 5004);
	assert_memory_equal(ep.a, want, 16);

	assert_int_equal(mr_ep_parse("0.0.0.0:1", &ep), 0);
	assert_int_equal(ep.port, 1);
	assert_int_equal(mr_ep_parse("255.255.255.255:65535", &ep), 0);
	assert_int_equal(ep.port, 65535);
	assert_int_equal(ep.a[3], 255);
	assert_int_equal(ep.a[4], 0);
}

static void
test_ep_parse_v6(void **state)
{
	static const uint8_t want[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
					  0, 0, 0, 0, 0, 0, 0, 2 };
	struct mr_ep ep;

	(void)state;
	assert_int_equal(mr_ep_parse("[2001:db8::2]:5004", &ep), 0);
	assert_int_equal(ep.family, MR_AF6);
	assert_int_equal(ep.port, 5004);
	assert_memory_equal(ep.a, want, 16);

	assert_int_equal(mr_ep_parse("[::1]:80", &ep), 0);
	assert_int_equal(ep.family, MR_AF6);
	assert_int_equal(ep.a[15], 1);
	assert_int_equal(ep.port, 80);
}

static void
test_ep_parse_bad(void **state)
{
	static const char *const bad[] = {
		"", ":", ":5004", "198.18.1.2", "198.18.1.2:", "198.18.1.2:0",
		"198.18.1.2:65536", "198.18.1.2:99999", "198.18.1.2:123456",
		"198.18.1.2:-1", "198.18.1.2:+5", "198.18.1.2: 5004", "198.18.1.2:5004 ",
		" 198.18.1.2:5004", "198.18.1.2:5004x", "198.18.1.2:0x10", "198.18.1.2:05004",
		"198.18.1.256:5004", "198.18.1:5004", "198.18.1.2.3:5004", "01.2.3.4:5004",
		"host.example:5004", "198.18.1.2:5004:5", "2001:db8::2:5004", "2001:db8::2",
		"[2001:db8::2]", "[2001:db8::2]:", "[2001:db8::2]:0", "[2001:db8::2]:65536",
		"[2001:db8::2]5004", "[2001:db8::2:5004", "2001:db8::2]:5004",
		"[198.18.1.2]:5004", "[fe80::1%eth0]:5004", "[2001:db8:::2]:5004",
		"[[2001:db8::2]]:5004", "[]:5004",
		"[2001:0db8:0000:0000:0000:0000:0000:0000:0002]:5004",
		"[0000:0000:0000:0000:0000:ffff:255.255.255.255.1]:5004",
	};
	struct mr_ep ep;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&ep, 0xaa, sizeof(ep));
		if (mr_ep_parse(bad[i], &ep) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
	}
	assert_int_equal(mr_ep_parse(NULL, &ep), -EINVAL);
	assert_int_equal(mr_ep_parse("198.18.1.2:5004", NULL), -EINVAL);
}

static void
test_ep_parse_long_input(void **state)
{
	char big[4096];
	struct mr_prefix p;
	struct mr_ep ep;

	(void)state;
	/* Longer than any address: must be refused without overrunning a buffer. */
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(mr_ep_parse(big, &ep), -EINVAL);
	assert_int_equal(mr_addr_parse(big, &ep), -EINVAL);
	big[0] = '[';
	big[3000] = ']';
	big[3001] = ':';
	big[3002] = '5';
	big[3003] = '\0';
	assert_int_equal(mr_ep_parse(big, &ep), -EINVAL);
	big[0] = '1';
	big[3000] = '/';
	big[3001] = '8';
	big[3002] = '\0';
	assert_int_equal(mr_prefix_parse(big, &p), -EINVAL);
}

static void
test_addr_parse(void **state)
{
	static const uint8_t want6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1,
					   0, 0, 0, 0, 0, 0, 0, 0xfe };
	static const char *const bad[] = {
		"", "198.18.0", "198.18.0.1:5004", "198.18.0.1/24", " 198.18.0.1",
		"198.18.0.1 ", "[2001:db8::1]", "2001:db8::1/64", "fe80::1%lo", "x", "::ffff::1",
		"1.2.3.4\n",
	};
	struct mr_ep ep;
	size_t i;

	(void)state;
	memset(&ep, 0xaa, sizeof(ep));
	assert_int_equal(mr_addr_parse("198.18.0.254", &ep), 0);
	assert_int_equal(ep.family, MR_AF4);
	assert_int_equal(ep.port, 0);
	assert_int_equal(ep.a[0], 198);
	assert_int_equal(ep.a[3], 254);
	assert_int_equal(ep.a[4], 0);
	assert_int_equal(ep.a[15], 0);
	assert_int_equal(ep.pad, 0);

	assert_int_equal(mr_addr_parse("2001:db8:0:1::fe", &ep), 0);
	assert_int_equal(ep.family, MR_AF6);
	assert_int_equal(ep.port, 0);
	assert_memory_equal(ep.a, want6, 16);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mr_addr_parse(bad[i], &ep) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
	assert_int_equal(mr_addr_parse(NULL, &ep), -EINVAL);
}

static void
test_prefix_parse(void **state)
{
	static const char *const bad[] = {
		"", "/", "/24", "198.18.0.1", "198.18.0.1/", "198.18.0.1/33", "198.18.0.1/100",
		"198.18.0.1/-1", "198.18.0.1/+24", "198.18.0.1/024", "198.18.0.1/24 ",
		"198.18.0.1/24/1", "198.18.0.1/2x", "198.18.0.1/ 24", "198.18.0.1 /24",
		"198.18.0.1/4294967320", "2001:db8::1/129", "2001:db8::1/1000", "[2001:db8::1]/64",
		"2001:db8::1", "198.18.0/24", "198.18.0.1:5/24", "garbage/8",
	};
	struct mr_prefix p;
	size_t i;

	(void)state;
	assert_int_equal(mr_prefix_parse("198.18.0.1/24", &p), 0);
	assert_int_equal(p.family, MR_AF4);
	assert_int_equal(p.len, 24);
	assert_int_equal(p.a[0], 198);
	assert_int_equal(p.a[3], 1);
	assert_int_equal(p.a[4], 0);

	assert_int_equal(mr_prefix_parse("0.0.0.0/0", &p), 0);
	assert_int_equal(p.len, 0);
	assert_int_equal(mr_prefix_parse("198.18.0.1/32", &p), 0);
	assert_int_equal(p.len, 32);

	assert_int_equal(mr_prefix_parse("2001:db8::1/64", &p), 0);
	assert_int_equal(p.family, MR_AF6);
	assert_int_equal(p.len, 64);
	assert_int_equal(p.a[1], 0x01);
	assert_int_equal(p.a[15], 1);
	assert_int_equal(mr_prefix_parse("2001:db8::1/128", &p), 0);
	assert_int_equal(p.len, 128);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mr_prefix_parse(bad[i], &p) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
	assert_int_equal(mr_prefix_parse(NULL, &p), -EINVAL);
}

static void
test_ep_fmt(void **state)
{
	struct mr_ep ep, back;
	char buf[64];

	(void)state;
	assert_int_equal(mr_ep_parse("198.18.1.2:5004", &ep), 0);
	assert_string_equal(mr_ep_fmt(&ep, buf, sizeof(buf), 1), "198.18.1.2:5004");
	assert_string_equal(mr_ep_fmt(&ep, buf, sizeof(buf), 0), "198.18.1.2");

	assert_int_equal(mr_ep_parse("[2001:db8:0:0::2]:65535", &ep), 0);
	assert_string_equal(mr_ep_fmt(&ep, buf, sizeof(buf), 1), "[2001:db8::2]:65535");
	assert_string_equal(mr_ep_fmt(&ep, buf, sizeof(buf), 0), "2001:db8::2");

	/* Round trip of the formatted text. */
	assert_int_equal(mr_ep_parse(mr_ep_fmt(&ep, buf, sizeof(buf), 1), &back), 0);
	assert_true(mr_ep_eq(&ep, &back));

	/* A short buffer is truncated, never overrun. */
	memset(buf, 'z', sizeof(buf));
	assert_string_equal(mr_ep_fmt(&ep, buf, 6, 1), "[2001");
	assert_int_equal(buf[6], 'z');

	memset(&ep, 0, sizeof(ep));
	assert_string_equal(mr_ep_fmt(&ep, buf, sizeof(buf), 1), "none");
	ep.family = 5;
	assert_string_equal(mr_ep_fmt(&ep, buf, sizeof(buf), 1), "none");
}

static void
test_prefix_contains(void **state)
{
	struct mr_prefix p;
	struct mr_ep a;

	(void)state;
	assert_int_equal(mr_prefix_parse("198.18.0.1/24", &p), 0);
	assert_int_equal(mr_addr_parse("198.18.0.254", &a), 0);
	assert_int_equal(mr_prefix_contains(&p, &a), 1);
	assert_int_equal(mr_addr_parse("198.18.1.254", &a), 0);
	assert_int_equal(mr_prefix_contains(&p, &a), 0);

	/* A length that is not a multiple of 8 compares the partial byte. */
	assert_int_equal(mr_prefix_parse("198.18.0.1/15", &p), 0);
	assert_int_equal(mr_addr_parse("198.19.255.255", &a), 0);
	assert_int_equal(mr_prefix_contains(&p, &a), 1);
	assert_int_equal(mr_addr_parse("198.20.0.0", &a), 0);
	assert_int_equal(mr_prefix_contains(&p, &a), 0);
	assert_int_equal(mr_addr_parse("198.17.255.255", &a), 0);
	assert_int_equal(mr_prefix_contains(&p, &a), 0);

	assert_int_equal(mr_prefix_parse("0.0.0.0/0", &p), 0);
	assert_int_equal(mr_prefix_contains(&p, &a), 1);
	assert_int_equal(mr_prefix_parse("198.17.255.255/32", &p), 0);
	assert_int_equal(mr_prefix_contains(&p, &a), 1);
	assert_int_equal(mr_prefix_parse("198.17.255.254/32", &p), 0);
	assert_int_equal(mr_prefix_contains(&p, &a), 0);

	/* The port is ignored. */
	assert_int_equal(mr_ep_parse("198.17.255.255:9", &a), 0);
	assert_int_equal(mr_prefix_parse("198.17.0.0/16", &p), 0);
	assert_int_equal(mr_prefix_contains(&p, &a), 1);

	assert_int_equal(mr_prefix_parse("2001:db8:0:1::1/64", &p), 0);
	assert_int_equal(mr_addr_parse("2001:db8:0:1::fe", &a), 0);
	assert_int_equal(mr_prefix_contains(&p, &a), 1);
	assert_int_equal(mr_addr_parse("2001:db8:0:2::fe", &a), 0);
	assert_int_equal(mr_prefix_contains(&p, &a), 0);
	assert_int_equal(mr_prefix_parse("2001:db8::/33", &p), 0);
	assert_int_equal(mr_addr_parse("2001:db8:7fff::1", &a), 0);
	assert_int_equal(mr_prefix_contains(&p, &a), 1);
	assert_int_equal(mr_addr_parse("2001:db8:8000::1", &a), 0);
	assert_int_equal(mr_prefix_contains(&p, &a), 0);

	/* Families never mix, even where the bytes would match. */
	assert_int_equal(mr_prefix_parse("0.0.0.0/0", &p), 0);
	assert_int_equal(mr_addr_parse("::", &a), 0);
	assert_int_equal(mr_prefix_contains(&p, &a), 0);
	assert_int_equal(mr_prefix_parse("::/0", &p), 0);
	assert_int_equal(mr_addr_parse("198.18.0.1", &a), 0);
	assert_int_equal(mr_prefix_contains(&p, &a), 0);

	/* An unconfigured or corrupt prefix contains nothing. */
	memset(&p, 0, sizeof(p));
	assert_int_equal(mr_prefix_contains(&p, &a), 0);
	p.family = MR_AF4;
	p.len = 33;
	assert_int_equal(mr_prefix_contains(&p, &a), 0);
	assert_int_equal(mr_prefix_contains(NULL, &a), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ep_parse_v4),
		cmocka_unit_test(test_ep_parse_v6),
		cmocka_unit_test(test_ep_parse_bad),
		cmocka_unit_test(test_ep_parse_long_input),
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_ep_fmt),
		cmocka_unit_test(test_prefix_contains),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
