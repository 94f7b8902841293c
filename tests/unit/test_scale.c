/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for mr_scale (dataplane/include/mr_types.h): the multiply-shift that replaces
 * the per-packet divisions by tsc_hz in room forwarding (DLSR/RTT in 1/65536 s, the NACK
 * token bucket) gives what the division gave: floor(x * num / den) exactly in the range the
 * dataplane uses it, never below it and at most x / 2^shift + 1 above it anywhere, and
 * saturates instead of wrapping.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mr_types.h"

/* TSC frequencies: a slow VM, the ones seen on the test machines, a fast desktop, and two
 * that are not round. */
static const uint64_t hzs[] = { 1000000000ULL, 2100000000ULL, 2399999000ULL, 3600000000ULL,
				5200000000ULL, 2893437123ULL };

static uint64_t
ref(uint64_t x, uint64_t num, uint64_t den)
{
	return (uint64_t)(((unsigned __int128)x * num) / den);
}

/* xorshift64: a fixed sequence of test values, the same on every run. */
static uint64_t
next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* x / 2^shift, for shifts up to 127. */
static uint64_t
shr(uint64_t x, uint32_t shift)
{
	return shift >= 64 ? 0 : x >> shift;
}

/* One value: exactly the division while x * den <= 2^shift (the guarantee), else never below
 * it and at most x / 2^shift + 1 above. Returns 1 when x is in the exact range. */
static int
check_one(const struct mr_scale *sc, uint64_t x, uint64_t num, uint64_t den)
{
	uint64_t e = ref(x, num, den), r = mr_scale(sc, x);
	int exact = (unsigned __int128)x * den <= (unsigned __int128)1 << sc->shift;

	if (exact) {
		assert_int_equal(r, e);
	} else {
		assert_true(r >= e);
		assert_true(r - e <= shr(x, sc->shift) + 1);
	}
	return exact;
}

/* Edges, round fractions of a second, and random values up to x_max; returns how many of
 * them fell in the exact range. */
static unsigned int
check_range(uint64_t num, uint64_t den, uint64_t x_max)
{
	struct mr_scale sc;
	uint64_t seed = 0x9e3779b97f4a7c15ULL ^ num ^ den, i;
	unsigned int exact = 0;

	assert_int_equal(mr_scale_init(&sc, num, den), 0);
	assert_true(sc.mult < (1ULL << 63));
	for (i = 0; i < 64; i++) {
		exact += check_one(&sc, i, num, den);
		exact += check_one(&sc, den * i / 64, num, den);
		exact += check_one(&sc, den * i / 64 + 1, num, den);
		exact += check_one(&sc, den * i / 64 - (i != 0), num, den);
	}
	for (i = 0; i < 20000; i++)
		exact += check_one(&sc, next(&seed) % (x_max + 1), num, den);
	return exact;
}

/* TSC cycles → 1/65536 s: exact over an hour of cycles (DLSR and RTT saturate at 2^32
 * units, 18 hours, anyway). */
static void
test_tsc_to_q16(void **state)
{
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(hzs) / sizeof(hzs[0]); i++) {
		struct mr_scale sc;

		assert_int_equal(check_range(1ULL << 16, hzs[i], hzs[i] * 3600), 4 * 64 + 20000);
		/* Whole seconds are whole (a factor rounded down would give 65535). */
		assert_int_equal(mr_scale_init(&sc, 1ULL << 16, hzs[i]), 0);
		assert_int_equal(mr_scale(&sc, hzs[i]), 65536);
		assert_int_equal(mr_scale(&sc, 3 * hzs[i]), 3 * 65536);
	}
}

/* The token bucket: elapsed cycles (under a second) times nack_budget * 2^16 per second.
 * Exact for the default budget; for the largest ones (rooms.nack_budget up to 100000) at
 * most a 2^-16 token off near the end of the second. */
static void
test_refill(void **state)
{
	static const uint64_t budgets[] = { 1, 3, 200, 4097, 100000 };
	unsigned int i, j;

	(void)state;
	for (i = 0; i < sizeof(hzs) / sizeof(hzs[0]); i++)
		for (j = 0; j < sizeof(budgets) / sizeof(budgets[0]); j++) {
			unsigned int n = check_range(budgets[j] << 16, hzs[i], hzs[i] - 1);

			if (budgets[j] <= 200)
				assert_int_equal(n, 4 * 64 + 20000);
		}
}

/* Anywhere else: never below the division, at most x / 2^shift + 1 above it. */
static void
test_bound(void **state)
{
	static const uint64_t nums[] = { 1, 7, 1ULL << 16, 1000, 13107200, 1ULL << 40,
					 (1ULL << 62) + 12345 };
	uint64_t seed = 42;
	unsigned int i, j, k;

	(void)state;
	for (i = 0; i < sizeof(hzs) / sizeof(hzs[0]); i++) {
		for (j = 0; j < sizeof(nums) / sizeof(nums[0]); j++) {
			struct mr_scale sc;

			if (nums[j] / hzs[i] >= (1ULL << 63))
				continue;
			assert_int_equal(mr_scale_init(&sc, nums[j], hzs[i]), 0);
			for (k = 0; k < 5000; k++) {
				uint64_t x = next(&seed) >> (next(&seed) % 64);
				unsigned __int128 e = ((unsigned __int128)x * nums[j]) / hzs[i];
				uint64_t r = mr_scale(&sc, x);

				if (e >= UINT64_MAX) {
					assert_true(r == UINT64_MAX);
					continue;
				}
				assert_true(r >= (uint64_t)e);
				assert_true(r - (uint64_t)e <= shr(x, sc.shift) + 1);
			}
		}
	}
}

static void
test_edges(void **state)
{
	struct mr_scale sc;

	(void)state;
	/* No frequency, or a ratio past 2^63: refused. */
	assert_int_equal(mr_scale_init(&sc, 1, 0), -1);
	assert_int_equal(mr_scale_init(&sc, UINT64_MAX, 1), -1);
	/* Identity and a ratio above 1. */
	assert_int_equal(mr_scale_init(&sc, 5, 5), 0);
	assert_int_equal(mr_scale(&sc, 123456789), 123456789);
	assert_int_equal(mr_scale_init(&sc, 3000, 1), 0);
	assert_int_equal(mr_scale(&sc, 1000), 3000000);
	/* Saturates rather than wrapping. */
	assert_int_equal(mr_scale(&sc, UINT64_MAX), UINT64_MAX);
	assert_int_equal(mr_scale_init(&sc, 0, 7), 0);
	assert_int_equal(mr_scale(&sc, UINT64_MAX), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tsc_to_q16),
		cmocka_unit_test(test_refill),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
