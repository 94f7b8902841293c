/* SPDX-License-Identifier: BSD-3-Clause
 * G.711 companding (controlplane/media/g711.c): the code points the standard fixes (silence,
 * full scale), every code decoding and encoding back to itself, and the quantization error
 * within half a step (a 32nd of the sample) over the whole 16-bit range. The smoke test decodes what mrelay sends
 * with other implementations (Python's audioop, GStreamer's alawdec).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <setjmp.h>
#include <cmocka.h>

#include "g711.h"

static void
test_fixed_points(void **state)
{
	(void)state;
	/* Silence, and full scale both ways (G.711 Tables 1a/2a). */
	assert_int_equal(mr_g711_ulaw(0), 0xff);
	assert_int_equal(mr_g711_ulaw(32767), 0x80);
	assert_int_equal(mr_g711_ulaw(-32768), 0x00);
	assert_int_equal(mr_g711_alaw(0), 0xd5);
	assert_int_equal(mr_g711_alaw(32767), 0xaa);
	assert_int_equal(mr_g711_alaw(-32768), 0x2a);
	assert_int_equal(mr_g711_alaw(-1), 0x55);
	assert_int_equal(mr_g711_ulaw_dec(0xff), 0);
	assert_int_equal(mr_g711_ulaw_dec(0x80), 32124);
	assert_int_equal(mr_g711_ulaw_dec(0x00), -32124);
	assert_int_equal(mr_g711_alaw_dec(0xd5), 8);
	assert_int_equal(mr_g711_alaw_dec(0xaa), 32256);
}

static void
test_codes_round_trip(void **state)
{
	unsigned int c;

	(void)state;
	for (c = 0; c < 256; c++) {
		int16_t u = mr_g711_ulaw_dec((uint8_t)c);

		/* mu-law's negative zero (0x7f) encodes as the positive one. */
		if (c != 0x7f)
			assert_int_equal(mr_g711_ulaw(u), c);
		assert_int_equal(mr_g711_alaw(mr_g711_alaw_dec((uint8_t)c)), c);
	}
}

static void
test_error_and_order(void **state)
{
	int s, prev_u = -32768, prev_a = -32768;

	(void)state;
	for (s = -32768; s <= 32767; s++) {
		int u = mr_g711_ulaw_dec(mr_g711_ulaw((int16_t)s));
		int a = mr_g711_alaw_dec(mr_g711_alaw((int16_t)s));

		/* Monotonic: a louder sample never decodes quieter. */
		assert_true(u >= prev_u);
		assert_true(a >= prev_a);
		prev_u = u;
		prev_a = a;
		/* Within half a step: a step is at most 1/16 of where its segment starts
		 * (both laws: 16 steps a segment, segments doubling), and 16 near zero. */
		if (abs(s) < 32000) {
			assert_true(abs(u - s) <= abs(s) / 32 + 8);
			assert_true(abs(a - s) <= abs(s) / 32 + 8);
		}
	}
}

static void
test_encode_buffer(void **state)
{
	int16_t pcm[4] = { 0, 32767, -32768, 1000 };
	uint8_t out[4];

	(void)state;
	mr_g711_encode(pcm, out, 4, 0);
	assert_int_equal(out[0], 0xff);
	assert_int_equal(out[3], mr_g711_ulaw(1000));
	mr_g711_encode(pcm, out, 4, 1);
	assert_int_equal(out[1], 0xaa);
	assert_int_equal(out[2], 0x2a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_points),
		cmocka_unit_test(test_codes_round_trip),
		cmocka_unit_test(test_error_and_order),
		cmocka_unit_test(test_encode_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
