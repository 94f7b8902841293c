/* SPDX-License-Identifier: BSD-3-Clause
 * Ogg/Opus recordings written from RTP packets (controlplane/media/oggopus.c), read back with
 * opusfile (another implementation of RFC 7845): headers, pre-skip, sample count and
 * granule positions from the RTP timestamps, gaps left as gaps, reordered packets skipped,
 * RTP payload extraction.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <math.h>
#include <opus/opus.h>
#include <opusfile.h>

#include "oggopus.h"

#define FRAME 960	/* 20 ms at 48 kHz */

/* n 20 ms packets of a 440 Hz tone, encoded with libopus (mono). */
static int
encode_tone(unsigned char pk[][400], int *len, int n)
{
	OpusEncoder *e;
	opus_int16 pcm[FRAME];
	int err, i, k;

	e = opus_encoder_create(48000, 1, OPUS_APPLICATION_AUDIO, &err);
	if (e == NULL)
		return -1;
	for (k = 0; k < n; k++) {
		for (i = 0; i < FRAME; i++)
			pcm[i] = (opus_int16)(8000 * sin(2 * M_PI * 440 * (k * FRAME + i) / 48000.));
		len[k] = opus_encode(e, pcm, FRAME, pk[k], 400);
		if (len[k] <= 0)
			return -1;
	}
	opus_encoder_destroy(e);
	return 0;
}

static char path[64];

static int
setup(void **state)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_oggopus_XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int
teardown(void **state)
{
	unlink(path);
	return 0;
}

/* Decode the whole file: the samples opusfile gives (after pre-skip). */
static long
decode_all(OggOpusFile *of)
{
	opus_int16 pcm[5760 * 2];
	long total = 0;
	int n;

	while ((n = op_read(of, pcm, 5760 * 2, NULL)) > 0)
		total += n;
	return n < 0 ? n : total;
}

static void
test_roundtrip(void **state)
{
	static unsigned char pk[50][400];
	int len[50], err, k;
	struct mr_oggw w;
	OggOpusFile *of;
	const OpusHead *h;
	uint32_t ts = 0xfffff000u;	/* wraps during the stream */

	assert_int_equal(encode_tone(pk, len, 50), 0);
	assert_int_equal(mr_oggw_open(&w, path, 1234), 0);
	for (k = 0; k < 50; k++)
		assert_int_equal(mr_oggw_packet(&w, ts + (uint32_t)k * FRAME, pk[k],
						(size_t)len[k]), 0);
	assert_int_equal(w.packets, 49);	/* the last one is held for the EOS flag */
	assert_int_equal(mr_oggw_close(&w), 0);
	assert_int_equal(w.packets, 50);
	assert_int_equal(w.gaps, 0);

	of = op_open_file(path, &err);
	assert_non_null(of);
	h = op_head(of, -1);
	assert_non_null(h);
	assert_int_equal(h->channel_count, 1);
	assert_int_equal(h->pre_skip, MR_OGG_PRESKIP);
	assert_int_equal(op_serialno(of, -1), 1234);
	/* 50 frames, less the pre-skip: from the granule positions and by decoding. */
	assert_int_equal(op_pcm_total(of, -1), 50 * FRAME - MR_OGG_PRESKIP);
	assert_int_equal(decode_all(of), 50 * FRAME - MR_OGG_PRESKIP);
	op_free(of);
}

static void
test_gap_and_reorder(void **state)
{
	static unsigned char pk[30][400];
	int len[30], err, k;
	struct mr_oggw w;
	OggOpusFile *of;

	assert_int_equal(encode_tone(pk, len, 30), 0);
	assert_int_equal(mr_oggw_open(&w, path, 7), 0);
	for (k = 0; k < 10; k++)
		assert_int_equal(mr_oggw_packet(&w, 1000 + k * FRAME, pk[k], len[k]), 0);
	/* A duplicate and an old packet: skipped. */
	assert_int_equal(mr_oggw_packet(&w, 1000 + 9 * FRAME, pk[9], len[9]), 1);
	assert_int_equal(mr_oggw_packet(&w, 1000 + 3 * FRAME, pk[3], len[3]), 1);
	/* Not Opus at all (an empty payload): skipped. */
	assert_int_equal(mr_oggw_packet(&w, 1000 + 10 * FRAME, pk[0], 0), 1);
	/* 10 frames (200 ms) lost, then 20 more. */
	for (k = 10; k < 30; k++)
		assert_int_equal(mr_oggw_packet(&w, 1000 + (k + 10) * FRAME, pk[k], len[k]), 0);
	assert_int_equal(mr_oggw_close(&w), 0);
	assert_int_equal(w.skipped, 3);
	assert_int_equal(w.gaps, 1);
	assert_int_equal(w.packets, 30);

	of = op_open_file(path, &err);
	assert_non_null(of);
	/* The timeline keeps the gap: 40 frames from first to last timestamp. */
	assert_int_equal(op_pcm_total(of, -1), 40 * FRAME - MR_OGG_PRESKIP);
	/* What there is to decode is what was received. */
	assert_int_equal(decode_all(of), 30 * FRAME - MR_OGG_PRESKIP);
	op_free(of);
}

static void
test_write_error(void **state)
{
	static unsigned char pk[1][400];
	int len[1];
	struct mr_oggw w;

	assert_int_equal(encode_tone(pk, len, 1), 0);
	/* /dev/full: every write fails with ENOSPC, as on a full disk. */
	assert_int_equal(mr_oggw_open(&w, "/dev/full", 1), 0);
	assert_true(mr_oggw_packet(&w, 0, pk[0], len[0]) < 0);
	mr_oggw_close(&w);
	assert_int_equal(mr_oggw_open(&w, "/nonexistent/dir/x.opus", 1), -ENOENT);
}

static void
test_rtp_payload(void **state)
{
	uint8_t p[64];
	const uint8_t *pay;
	size_t plen;

	memset(p, 0, sizeof(p));
	p[0] = 0x80;
	assert_int_equal(mr_rtp_payload(p, 20, &pay, &plen), 0);
	assert_ptr_equal(pay, p + 12);
	assert_int_equal(plen, 8);
	/* Two CSRCs, a one-word extension, 3 bytes of padding. */
	p[0] = 0x80 | 0x20 | 0x10 | 2;
	p[20 + 2] = 0;
	p[20 + 3] = 1;
	p[39] = 3;
	assert_int_equal(mr_rtp_payload(p, 40, &pay, &plen), 0);
	assert_ptr_equal(pay, p + 12 + 8 + 8);
	assert_int_equal(plen, 40 - 28 - 3);
	/* Malformed: short, version 1, extension past the end, padding too long, empty. */
	assert_int_equal(mr_rtp_payload(p, 11, &pay, &plen), -EINVAL);
	p[0] = 0x40;
	assert_int_equal(mr_rtp_payload(p, 40, &pay, &plen), -EINVAL);
	p[0] = 0x90;
	p[12 + 3] = 200;
	assert_int_equal(mr_rtp_payload(p, 40, &pay, &plen), -EINVAL);
	p[0] = 0xa0;
	p[39] = 41;
	assert_int_equal(mr_rtp_payload(p, 40, &pay, &plen), -EINVAL);
	p[0] = 0x80;
	assert_int_equal(mr_rtp_payload(p, 12, &pay, &plen), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gap_and_reorder, setup, teardown),
		cmocka_unit_test(test_write_error),
		cmocka_unit_test(test_rtp_payload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
