/* SPDX-License-Identifier: BSD-3-Clause
 * G.711 recordings into WAV (controlplane/media/wavw.c): the header a reader needs (format,
 * rate, sizes that match the data), gaps in the RTP timestamps filled with G.711 silence,
 * packets back in time or of another payload type skipped, the header up to date before the
 * close. The smoke test has GStreamer read a recorded call.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "wavw.h"

static uint32_t
rd32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The file at path, read whole into buf; its length. */
static size_t
slurp(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void
test_wav_call(void **state)
{
	static uint8_t buf[1 << 16];
	char path[] = "/tmp/mr_test_wavw_XXXXXX";
	uint8_t pl[160];
	struct mr_wavw w;
	size_t n;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	memset(pl, 0x2a, sizeof(pl));
	assert_int_equal(mr_wavw_open(&w, path, 8), 0);
	assert_int_equal(mr_wavw_packet(&w, 8, 1000, pl, 160), 0);
	assert_int_equal(mr_wavw_packet(&w, 8, 1160, pl, 160), 0);
	/* One packet lost: its 160 samples become silence. */
	assert_int_equal(mr_wavw_packet(&w, 8, 1480, pl, 160), 0);
	/* A duplicate, a reordered one, a telephone event: skipped. */
	assert_int_equal(mr_wavw_packet(&w, 8, 1480, pl, 160), 1);
	assert_int_equal(mr_wavw_packet(&w, 8, 1160, pl, 160), 1);
	assert_int_equal(mr_wavw_packet(&w, 101, 1640, pl, 4), 1);
	assert_int_equal(w.packets, 3);
	assert_int_equal(w.gaps, 1);
	assert_int_equal(w.skipped, 3);
	assert_int_equal(w.samples, 4 * 160);
	assert_int_equal(mr_wavw_close(&w), 0);

	n = slurp(path, buf, sizeof(buf));
	assert_int_equal(n, MR_WAV_HDR + 640);
	assert_memory_equal(buf, "RIFF", 4);
	assert_int_equal(rd32(buf + 4), n - 8);
	assert_memory_equal(buf + 8, "WAVEfmt ", 8);
	assert_int_equal(buf[20] | buf[21] << 8, 6);		/* A-law */
	assert_int_equal(rd32(buf + 24), 8000);
	assert_int_equal(buf[34], 8);
	assert_memory_equal(buf + 38, "fact", 4);
	assert_int_equal(rd32(buf + 46), 640);
	assert_memory_equal(buf + 50, "data", 4);
	assert_int_equal(rd32(buf + 54), 640);
	assert_int_equal(buf[MR_WAV_HDR + 319], 0x2a);
	assert_int_equal(buf[MR_WAV_HDR + 320], 0xd5);		/* A-law silence */
	assert_int_equal(buf[MR_WAV_HDR + 479], 0xd5);
	assert_int_equal(buf[MR_WAV_HDR + 480], 0x2a);
	unlink(path);
}

static void
test_wav_sync_and_limits(void **state)
{
	static uint8_t buf[1 << 17];
	char path[] = "/tmp/mr_test_wavw_XXXXXX";
	uint8_t pl[160];
	struct mr_wavw w;
	unsigned int i;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	memset(pl, 0x11, sizeof(pl));
	assert_int_equal(mr_wavw_open(&w, path, 9), -EINVAL);
	assert_int_equal(mr_wavw_open(&w, path, 0), 0);
	/* 60 packets (1.2 s) of mu-law: the header was brought up to date on the way. */
	for (i = 0; i < 60; i++)
		assert_int_equal(mr_wavw_packet(&w, 0, 7 + 160 * i, pl, 160), 0);
	slurp(path, buf, sizeof(buf));
	assert_int_equal(buf[20], 7);				/* mu-law */
	assert_true(rd32(buf + 54) >= MR_WAV_SYNC);
	/* A jump of a minute: silence up to MR_WAV_MAX_GAP, then the packet. */
	assert_int_equal(mr_wavw_packet(&w, 0, 7 + 160 * 60 + 480000, pl, 160), 0);
	assert_int_equal(w.samples, 61 * 160 + MR_WAV_MAX_GAP);
	assert_int_equal(mr_wavw_close(&w), 0);
	assert_int_equal(mr_wavw_close(&w), 0);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wav_call),
		cmocka_unit_test(test_wav_sync_and_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
