/* SPDX-License-Identifier: BSD-3-Clause
 * The strict Ogg/Opus reader (controlplane/media/oggread.c): a file from the recorder's
 * writer (oggopus.c) reads back with its packets, samples and pre-skip; truncated files,
 * bad CRCs, bad OpusHead/OpusTags, lost pages, chained streams, bad granule positions and
 * invalid Opus packets are refused with a message naming the page and the problem.
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

#include "oggopus.h"
#include "oggread.h"

#define FRAME 960	/* 20 ms at 48 kHz */
#define NPK 120		/* 2.4 s: three audio pages (one a second) */

static uint8_t *file;
static size_t file_len;
static int lens[NPK];
static unsigned char pks[NPK][400];

/* A recording of NPK 20 ms packets of a 440 Hz tone, made by the recorder's writer. */
static int
setup(void **state)
{
	char path[64];
	struct mr_oggw w;
	OpusEncoder *e;
	opus_int16 pcm[FRAME];
	FILE *f;
	long n;
	int err, i, k;

	(void)state;
	e = opus_encoder_create(48000, 1, OPUS_APPLICATION_AUDIO, &err);
	if (e == NULL)
		return -1;
	for (k = 0; k < NPK; k++) {
		for (i = 0; i < FRAME; i++)
			pcm[i] = (opus_int16)(8000 * sin(2 * M_PI * 440 * (k * FRAME + i) / 48000.));
		lens[k] = opus_encode(e, pcm, FRAME, pks[k], 400);
		if (lens[k] <= 0)
			return -1;
	}
	opus_encoder_destroy(e);
	snprintf(path, sizeof(path), "/tmp/test_oggread_XXXXXX");
	i = mkstemp(path);
	if (i < 0)
		return -1;
	close(i);
	if (mr_oggw_open(&w, path, 0x1234) != 0)
		return -1;
	for (k = 0; k < NPK; k++)
		if (mr_oggw_packet(&w, 5000 + (uint32_t)k * FRAME, pks[k], (size_t)lens[k]) != 0)
			return -1;
	if (mr_oggw_close(&w) != 0)
		return -1;
	f = fopen(path, "rb");
	unlink(path);
	if (f == NULL)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	file = malloc((size_t)n);
	if (file == NULL || fread(file, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		return -1;
	}
	fclose(f);
	file_len = (size_t)n;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(file);
	return 0;
}

/* Offset of page idx (0-based) in b. */
static size_t
page_off(const uint8_t *b, size_t len, unsigned int idx)
{
	size_t off = 0, body;
	unsigned int i, k;

	for (k = 0; k < idx && off + 27 <= len; k++) {
		body = 0;
		for (i = 0; i < b[off + 26]; i++)
			body += b[off + 27 + i];
		off += 27 + b[off + 26] + body;
	}
	return off;
}

/* Recompute the CRC of the page at off after an edit. */
static void
page_fix_crc(uint8_t *b, size_t off)
{
	size_t n = 27 + b[off + 26], i;
	uint32_t crc;

	for (i = 0; i < b[off + 26]; i++)
		n += b[off + 27 + i];
	memset(b + off + 22, 0, 4);
	crc = mr_ogg_crc(0, b + off, n);
	b[off + 22] = crc & 0xff;
	b[off + 23] = (crc >> 8) & 0xff;
	b[off + 24] = (crc >> 16) & 0xff;
	b[off + 25] = crc >> 24;
}

struct seen {
	unsigned int n;
	int ok;
};

static int
on_packet(void *arg, const uint8_t *pkt, size_t len, uint32_t samples)
{
	struct seen *s = arg;

	if (s->n >= NPK || len != (size_t)lens[s->n] || memcmp(pkt, pks[s->n], len) != 0 ||
	    samples != FRAME)
		s->ok = 0;
	s->n++;
	return 0;
}

/* The writer's file reads back: every packet in order, samples, pre-skip, granule. */
static void
test_roundtrip(void **state)
{
	struct mr_oggr_info info;
	struct seen s = { 0, 1 };
	char err[128];

	(void)state;
	assert_int_equal(mr_oggr_parse(file, file_len, &info, on_packet, &s, err, sizeof(err)),
			 0);
	assert_string_equal(err, "");
	assert_int_equal(s.n, NPK);
	assert_true(s.ok);
	assert_int_equal(info.packets, NPK);
	assert_int_equal(info.samples, NPK * FRAME);
	assert_int_equal(info.duration_ms, NPK * 20);
	assert_int_equal(info.channels, 1);
	assert_int_equal(info.preskip, MR_OGG_PRESKIP);
	assert_int_equal(info.serial, 0x1234);
	assert_int_equal(info.granule, NPK * FRAME);
	assert_true(info.pages >= 4);
}

/* A callback's value stops the parse and is returned. */
static int
stop_cb(void *arg, const uint8_t *pkt, size_t len, uint32_t samples)
{
	(void)arg, (void)pkt, (void)len, (void)samples;
	return 7;
}

static void
test_callback_stops(void **state)
{
	struct mr_oggr_info info;
	char err[128];

	(void)state;
	assert_int_equal(mr_oggr_parse(file, file_len, &info, stop_cb, NULL, err, sizeof(err)),
			 7);
}

static void
expect(const uint8_t *b, size_t len, const char *msg)
{
	struct mr_oggr_info info;
	char err[160];

	assert_int_equal(mr_oggr_parse(b, len, &info, NULL, NULL, err, sizeof(err)), -EINVAL);
	if (strstr(err, msg) == NULL)
		fail_msg("expected '%s', got '%s'", msg, err);
}

static uint8_t *
copy(void)
{
	uint8_t *b = malloc(file_len);

	assert_non_null(b);
	memcpy(b, file, file_len);
	return b;
}

/* Truncated anywhere: inside a page, or at a page boundary (no end of stream). */
static void
test_truncated(void **state)
{
	size_t p2 = page_off(file, file_len, 3);

	(void)state;
	expect(file, 0, "empty");
	expect(file, 10, "page 0: truncated page header");
	expect(file, file_len - 5, "truncated");
	expect(file, p2, "page 2: the last page has no end-of-stream flag");
	expect(file, page_off(file, file_len, 2), "page 1: the last page has no end-of-stream");
}

static void
test_bad_crc(void **state)
{
	uint8_t *b = copy();
	size_t p2 = page_off(b, file_len, 2);

	(void)state;
	b[p2 + 40] ^= 0x55;
	expect(b, file_len, "page 2: bad CRC");
	free(b);
}

static void
test_bad_head(void **state)
{
	uint8_t *b = copy();

	(void)state;
	memcpy(b + 28, "OpusHeaX", 8);
	page_fix_crc(b, 0);
	expect(b, file_len, "page 0: packet 0: not an OpusHead header");
	memcpy(b + 28, "OpusHead", 8);
	b[28 + 18] = 1;		/* mapping family 1 */
	page_fix_crc(b, 0);
	expect(b, file_len, "channel mapping family 1 not supported");
	b[28 + 18] = 0;
	b[28 + 9] = 3;		/* 3 channels in family 0 */
	page_fix_crc(b, 0);
	expect(b, file_len, "3 channels");
	b[28 + 9] = 1;
	b[28 + 8] = 0x10;	/* major version 1 */
	page_fix_crc(b, 0);
	expect(b, file_len, "version 16 not supported");
	b[28 + 8] = 1;
	page_fix_crc(b, 0);
	assert_memory_equal(b, file, file_len);
	b[0] = 'X';
	expect(b, file_len, "page 0: not an Ogg page");
	free(b);
}

static void
test_bad_tags(void **state)
{
	uint8_t *b = copy();
	size_t p1 = page_off(b, file_len, 1);

	(void)state;
	/* The vendor length (at 8 in the packet) made to overrun. */
	b[p1 + 28 + 8] = 0xff;
	page_fix_crc(b, p1);
	expect(b, file_len, "page 1: packet 1: OpusTags: vendor string");
	free(b);
}

/* A lost page, a second logical stream, data after the end, a granule going back, a
 * broken Opus TOC. */
static void
test_structure(void **state)
{
	uint8_t *b = copy(), *c;
	size_t p2 = page_off(b, file_len, 2), p3 = page_off(b, file_len, 3);

	(void)state;
	/* Page 2 removed: page 3 arrives where 2 was expected. */
	c = malloc(file_len);
	assert_non_null(c);
	memcpy(c, b, p2);
	memcpy(c + p2, b + p3, file_len - p3);
	expect(c, file_len - (p3 - p2), "page 2: sequence number 3, expected 2");
	free(c);

	b[p2 + 14] ^= 1;	/* serial */
	page_fix_crc(b, p2);
	expect(b, file_len, "page 2: serial number");
	b[p2 + 14] ^= 1;
	page_fix_crc(b, p2);

	c = malloc(file_len + 3);
	assert_non_null(c);
	memcpy(c, b, file_len);
	memcpy(c + file_len, "abc", 3);
	expect(c, file_len + 3, "3 bytes after the end-of-stream page");
	free(c);

	/* Granule of page 3 set back to 1. */
	memset(b + p3 + 6, 0, 8);
	b[p3 + 6] = 1;
	page_fix_crc(b, p3);
	expect(b, file_len, "page 3: granule position 1 goes back");
	memcpy(b, file, file_len);

	/* First audio packet: a code 3 TOC with 0 frames (RFC 6716 §3.2.5: invalid). */
	b[p2 + 27 + b[p2 + 26]] = 0x03 | (b[p2 + 27 + b[p2 + 26]] & 0xfc);
	b[p2 + 27 + b[p2 + 26] + 1] = 0;
	page_fix_crc(b, p2);
	expect(b, file_len, "page 2: packet 2: invalid Opus TOC");
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_crc),
		cmocka_unit_test(test_bad_head),
		cmocka_unit_test(test_bad_tags),
		cmocka_unit_test(test_structure),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
