/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for controlplane/core/quality.c: R and MOS against values worked out by hand from the
 * formulas in quality.c, codec names, monotonicity in loss and delay, and hostile inputs
 * (NaN, infinities, negatives, out-of-range codec values).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <cmocka.h>

#include "quality.h"

#define EPS 1e-9

/* cmocka's assert_float_equal works in float: too coarse for these values. */
static void
dbl_equal(double a, double b, double eps, const char *file, int line)
{
	double d = a - b;

	if (d < 0)
		d = -d;
	if (!(d <= eps)) {	/* NaN fails too */
		print_error("%.12f != %.12f (eps %g)\n", a, b, eps);
		_fail(file, line);
	}
}

#define assert_dbl_equal(a, b, eps) dbl_equal((a), (b), (eps), __FILE__, __LINE__)

static double
r_of(double loss, double jitter, double rtt, enum mr_codec codec)
{
	struct mr_quality_in in = { .loss = loss, .jitter_ms = jitter, .rtt_ms = rtt,
				    .codec = codec };

	return mr_r_factor(&in);
}

static double
mos_of(double loss, double jitter, double rtt, enum mr_codec codec)
{
	struct mr_quality_in in = { .loss = loss, .jitter_ms = jitter, .rtt_ms = rtt,
				    .codec = codec };

	return mr_mos_estimate(&in);
}

static void
test_codec_names(void **state)
{
	double ie, bpl;

	(void)state;
	assert_int_equal(mr_codec_from_name("PCMU"), MR_CODEC_PCMU);
	assert_int_equal(mr_codec_from_name("pcmu"), MR_CODEC_PCMU);
	assert_int_equal(mr_codec_from_name("PCMA"), MR_CODEC_PCMA);
	assert_int_equal(mr_codec_from_name("G722"), MR_CODEC_G722);
	assert_int_equal(mr_codec_from_name("opus"), MR_CODEC_OPUS);
	assert_int_equal(mr_codec_from_name("OPUS"), MR_CODEC_OPUS);
	assert_int_equal(mr_codec_from_name("G729"), MR_CODEC_UNKNOWN);
	assert_int_equal(mr_codec_from_name("PCM"), MR_CODEC_UNKNOWN);
	assert_int_equal(mr_codec_from_name("PCMUX"), MR_CODEC_UNKNOWN);
	assert_int_equal(mr_codec_from_name(""), MR_CODEC_UNKNOWN);
	assert_int_equal(mr_codec_from_name(NULL), MR_CODEC_UNKNOWN);

	assert_int_equal(mr_codec_eparams(MR_CODEC_PCMU, &ie, &bpl), 0);
	assert_true(ie == 0.0 && bpl == 25.1);
	assert_int_equal(mr_codec_eparams(MR_CODEC_UNKNOWN, &ie, &bpl), 0);
	assert_true(ie == 0.0 && bpl == 4.3);
	assert_int_equal(mr_codec_eparams(MR_CODEC_OPUS, &ie, &bpl), 0);
	assert_true(ie == 0.0 && bpl == 20.0);
	assert_int_equal(mr_codec_eparams((enum mr_codec)77, &ie, &bpl), 0);
	assert_true(bpl == 4.3);
	assert_int_equal(mr_codec_eparams(MR_CODEC_PCMU, NULL, &bpl), -EINVAL);
}

/* Perfect network: d = 10 ms, Id = 0.24, Ie,eff = 0, R = 92.96,
 * MOS = 1 + 3.2536 + 92.96 * 32.96 * 7.04 * 7e-6 = 4.404592027648. */
static void
test_perfect(void **state)
{
	(void)state;
	assert_dbl_equal(r_of(0, 0, 0, MR_CODEC_PCMU), 92.96, EPS);
	assert_dbl_equal(mos_of(0, 0, 0, MR_CODEC_PCMU), 4.404592027648, EPS);
	assert_dbl_equal(mos_of(0, 0, 0, MR_CODEC_PCMA), 4.404592027648, EPS);
	assert_dbl_equal(mos_of(0, 0, 0, MR_CODEC_OPUS), 4.404592027648, EPS);
	assert_dbl_equal(mos_of(0, 0, 0, MR_CODEC_UNKNOWN), 4.404592027648, EPS);
}

/* 5 % loss: Ppl = 5, Ie,eff = 95 * 5 / (5 + Bpl). */
static void
test_loss(void **state)
{
	(void)state;
	/* G.711 with concealment: 95 * 5 / 30.1 = 15.780730897; R = 92.96 - that. */
	assert_dbl_equal(r_of(0.05, 0, 0, MR_CODEC_PCMU), 77.179269102990, 1e-9);
	assert_dbl_equal(mos_of(0.05, 0, 0, MR_CODEC_PCMU), 3.913077821796, 1e-9);
	/* Unknown codec, Bpl 4.3: 95 * 5 / 9.3 = 51.075268817; R = 41.884731183. */
	assert_dbl_equal(r_of(0.05, 0, 0, MR_CODEC_UNKNOWN), 41.884731182796, 1e-9);
	assert_dbl_equal(mos_of(0.05, 0, 0, MR_CODEC_UNKNOWN), 2.157299582466, 1e-9);
	/* Everything lost: 95 * 100 / 125.1 = 75.939248601; R = 17.020751399. */
	assert_dbl_equal(r_of(1.0, 0, 0, MR_CODEC_PCMU), 17.020751398881, 1e-9);
	assert_dbl_equal(mos_of(1.0, 0, 0, MR_CODEC_PCMU), 1.170808341738, 1e-9);
	assert_true(mos_of(0.05, 0, 0, MR_CODEC_PCMU) < mos_of(0, 0, 0, MR_CODEC_PCMU));
}

/* 400 ms RTT: d = 210, Id = 5.04 + 0.11 * 32.7 = 8.637, R = 84.563. */
static void
test_delay(void **state)
{
	(void)state;
	assert_dbl_equal(r_of(0, 0, 400, MR_CODEC_PCMU), 84.563, 1e-9);
	assert_dbl_equal(mos_of(0, 0, 400, MR_CODEC_PCMU), 4.184156614789, 1e-9);
	/* Jitter counts twice: 50 ms jitter + 400 ms RTT -> d = 310, Id = 7.44 + 14.597. */
	assert_dbl_equal(r_of(0, 50, 400, MR_CODEC_PCMU), 71.163, 1e-9);
	assert_dbl_equal(mos_of(0, 50, 400, MR_CODEC_PCMU), 3.651060289586, 1e-9);
	/* Below the knee only the linear term: RTT 300 -> d = 160, Id = 3.84. */
	assert_dbl_equal(r_of(0, 0, 300, MR_CODEC_PCMU), 89.36, 1e-9);
	/* Everything together: d = 75 + 60 + 10 = 145, Id = 3.48; Ie,eff = 190 / 27.1. */
	assert_dbl_equal(r_of(0.02, 30, 150, MR_CODEC_PCMA), 82.708929889299, 1e-9);
	assert_dbl_equal(mos_of(0.02, 30, 150, MR_CODEC_PCMA), 4.122148948571, 1e-9);
	/* Opus, Bpl 20: d = 100, Id = 2.4; Ie,eff = 95 / 21. */
	assert_dbl_equal(r_of(0.01, 20, 100, MR_CODEC_OPUS), 86.276190476190, 1e-9);
	/* 2 s RTT: R below 0 clamps to 0, MOS 1. */
	assert_dbl_equal(r_of(0, 0, 2000, MR_CODEC_PCMU), 0.0, 0);
	assert_dbl_equal(mos_of(0, 0, 2000, MR_CODEC_PCMU), 1.0, 0);
}

static void
test_mos_from_r(void **state)
{
	(void)state;
	assert_dbl_equal(mr_mos_from_r(0), 1.0, 0);
	assert_dbl_equal(mr_mos_from_r(-5), 1.0, 0);
	assert_dbl_equal(mr_mos_from_r(5), 1.0, 0);	/* polynomial 0.98 -> clamped */
	assert_dbl_equal(mr_mos_from_r(50), 2.575, 1e-12);
	assert_dbl_equal(mr_mos_from_r(100), 4.5, 0);
	assert_dbl_equal(mr_mos_from_r(150), 4.5, 0);
	assert_dbl_equal(mr_mos_from_r(NAN), 1.0, 0);
	/* G.107 Annex B: R = 93.2 (all defaults) gives MOS 4.41. */
	assert_dbl_equal(mr_mos_from_r(93.2), 4.409, 1e-3);
}

static void
test_monotonic(void **state)
{
	int c, i;

	(void)state;
	for (c = 0; c < MR_CODEC_MAX; c++) {
		double prev = 5.0;

		for (i = 0; i <= 100; i++) {
			double m = mos_of(i / 100.0, 10, 50, (enum mr_codec)c);

			assert_true(m <= prev);
			if (i > 0 && prev > 1.0)
				assert_true(m < prev);
			prev = m;
		}
		prev = 101.0;
		for (i = 0; i <= 1500; i += 5) {
			double r = r_of(0.01, 0, i, (enum mr_codec)c);

			assert_true(r <= prev);
			if (i > 0 && prev > 0)
				assert_true(r < prev);
			prev = r;
		}
		prev = 5.0;
		for (i = 0; i <= 500; i += 2) {
			double m = mos_of(0.0, i, 40, (enum mr_codec)c);

			assert_true(m <= prev);
			prev = m;
		}
	}
}

static void
test_hostile(void **state)
{
	(void)state;
	assert_dbl_equal(mr_r_factor(NULL), 0.0, 0);
	assert_dbl_equal(mr_mos_estimate(NULL), 1.0, 0);
	/* NaN and negatives count as 0. */
	assert_dbl_equal(r_of(NAN, NAN, NAN, MR_CODEC_PCMU), 92.96, EPS);
	assert_dbl_equal(r_of(-0.5, -10, -100, MR_CODEC_PCMU), 92.96, EPS);
	/* Loss above 1 is 1. */
	assert_dbl_equal(r_of(7.0, 0, 0, MR_CODEC_PCMU), 17.020751398881, 1e-9);
	/* Infinities drive R to 0, never to NaN. */
	assert_dbl_equal(r_of(INFINITY, 0, 0, MR_CODEC_PCMU), 17.020751398881, 1e-9);
	assert_dbl_equal(r_of(0, INFINITY, 0, MR_CODEC_PCMU), 0.0, 0);
	assert_dbl_equal(mos_of(0, 0, INFINITY, MR_CODEC_PCMU), 1.0, 0);
	/* A codec value out of range is the unknown codec (Bpl 4.3). */
	assert_dbl_equal(r_of(0.05, 0, 0, (enum mr_codec)-3), 41.884731182796, 1e-9);
	assert_dbl_equal(r_of(0.05, 0, 0, (enum mr_codec)1000), 41.884731182796, 1e-9);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec_names),
		cmocka_unit_test(test_perfect),
		cmocka_unit_test(test_loss),
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_mos_from_r),
		cmocka_unit_test(test_monotonic),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
