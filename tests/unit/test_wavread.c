/* SPDX-License-Identifier: BSD-3-Clause
 * WAV files into Opus packets (controlplane/media/wavread.c), for ng's play media: a tone in
 * each sample format, rate and channel count read back through libopus's decoder (the tone's
 * power against its octave), the frame count and the padded last frame, the extensible
 * format; and every malformed header refused with its reason.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <opus/opus.h>

#include "g711.h"
#include "messages.h"
#include "wavread.h"

static void
wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void
wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* A WAV file of n samples of a freq Hz tone: fmt 1 (16-bit), 6 (A-law), 7 (mu-law); ext: as
 * WAVE_FORMAT_EXTENSIBLE. *len its size; free() it. */
static uint8_t *
make_wav(unsigned int fmt, unsigned int ch, uint32_t rate, size_t n, double freq, int ext,
	 size_t *len)
{
	unsigned int bits = fmt == 1 ? 16 : 8, fl = ext ? 40 : 16;
	size_t dl = n * ch * bits / 8, i, c;
	uint8_t *b = calloc(1, 12 + 8 + fl + 8 + dl + 1), *d;

	assert_non_null(b);
	memcpy(b, "RIFF", 4);
	wr32(b + 4, (uint32_t)(4 + 8 + fl + 8 + dl));
	memcpy(b + 8, "WAVE", 4);
	memcpy(b + 12, "fmt ", 4);
	wr32(b + 16, fl);
	wr16(b + 20, (uint16_t)(ext ? 0xFFFE : fmt));
	wr16(b + 22, (uint16_t)ch);
	wr32(b + 24, rate);
	wr32(b + 28, (uint32_t)(rate * ch * bits / 8));
	wr16(b + 32, (uint16_t)(ch * bits / 8));
	wr16(b + 34, (uint16_t)bits);
	if (ext) {
		wr16(b + 36, 22);
		wr16(b + 38, (uint16_t)bits);
		wr16(b + 44, (uint16_t)fmt);	/* the sub-format GUID begins with the format */
	}
	d = b + 20 + fl;
	memcpy(d, "data", 4);
	wr32(d + 4, (uint32_t)dl);
	d += 8;
	for (i = 0; i < n; i++) {
		int16_t v = (int16_t)(12000 * sin(2 * M_PI * freq * (double)i / rate));

		for (c = 0; c < ch; c++) {
			if (fmt == 1)
				wr16(d + 2 * (i * ch + c), (uint16_t)v);
			else
				d[i * ch + c] = fmt == 6 ? mr_g711_alaw(v) : mr_g711_ulaw(v);
		}
	}
	*len = 12 + 8 + fl + 8 + dl;
	return b;
}

/* Goertzel power of freq in pcm (8 kHz). */
static double
power(const int16_t *pcm, size_t n, double freq)
{
	double k = 2 * cos(2 * M_PI * freq / 8000), s1 = 0, s2 = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		double s = pcm[i] + k * s1 - s2;

		s2 = s1;
		s1 = s;
	}
	return s1 * s1 + s2 * s2 - k * s1 * s2;
}

/* au's packets decoded at 8 kHz: the 440 Hz tone is there, its octave is not. */
static void
check_tone(const struct mr_msg_audio *au)
{
	OpusDecoder *dec;
	int16_t *pcm = calloc(au->n, 160 * sizeof(int16_t));
	size_t got = 0;
	uint32_t k;
	int e;

	dec = opus_decoder_create(8000, 1, &e);
	assert_non_null(dec);
	assert_non_null(pcm);
	for (k = 0; k < au->n; k++) {
		int r = opus_decode(dec, au->data + au->pkt[k].off, au->pkt[k].len, pcm + got, 160,
				    0);

		assert_int_equal(r, 160);
		assert_int_equal(au->pkt[k].samples, 960);
		got += (size_t)r;
	}
	opus_decoder_destroy(dec);
	/* After the encoder's start-up (100 ms). */
	assert_true(power(pcm + 800, got - 800, 440) > 100 * power(pcm + 800, got - 800, 880));
	free(pcm);
}

static void
test_formats(void **st)
{
	static const struct { unsigned int fmt, ch; uint32_t rate; int ext; } c[] = {
		{ 1, 1, 8000, 0 }, { 6, 1, 8000, 0 }, { 7, 1, 8000, 0 }, { 1, 2, 16000, 0 },
		{ 1, 1, 48000, 0 }, { 7, 2, 12000, 0 }, { 1, 1, 24000, 1 }, { 6, 1, 8000, 1 },
	};
	char err[160];
	unsigned int i;

	(void)st;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		size_t len;
		uint8_t *w = make_wav(c[i].fmt, c[i].ch, c[i].rate, c[i].rate, 440, c[i].ext,
				      &len);
		struct mr_msg_audio *au;

		assert_true(mr_wav_is(w, len));
		au = mr_wav_to_audio(w, len, err, sizeof(err));
		if (au == NULL)
			fail_msg("case %u: %s", i, err);
		assert_int_equal(au->n, 50);			/* one second: 50 frames */
		assert_int_equal(au->duration_ms, 1000);
		assert_string_equal(au->id, "");
		check_tone(au);
		mr_msg_audio_free(au);
		free(w);
	}
}

static void
test_last_frame_padded(void **st)
{
	char err[160];
	size_t len;
	uint8_t *w = make_wav(1, 1, 8000, 8000 + 80, 440, 0, &len);
	struct mr_msg_audio *au;

	(void)st;
	au = mr_wav_to_audio(w, len, err, sizeof(err));
	assert_non_null(au);
	assert_int_equal(au->n, 51);		/* 80 samples more: a last frame, padded */
	assert_int_equal(au->duration_ms, 1020);
	mr_msg_audio_free(au);
	/* A chunk before fmt (LIST), an odd-sized one padded, the data chunk after both. */
	{
		size_t l2 = len + 8 + 3 + 1;
		uint8_t *x = calloc(1, l2);

		memcpy(x, w, 12);
		memcpy(x + 12, "LIST", 4);
		wr32(x + 16, 3);
		memcpy(x + 24, w + 12, len - 12);
		au = mr_wav_to_audio(x, l2 - 1, err, sizeof(err));
		assert_non_null(au);
		assert_int_equal(au->n, 51);
		mr_msg_audio_free(au);
		free(x);
	}
	free(w);
}

static void
test_malformed(void **st)
{
	char err[160];
	size_t len;
	uint8_t *w = make_wav(1, 1, 8000, 800, 440, 0, &len), *x = malloc(len);
	static const struct { size_t off; unsigned int bytes; uint32_t val; const char *why; } bad[] = {
		{ 0, 4, 0x46464952 + 1, "not a RIFF/WAVE" },	/* "RIFG" */
		{ 16, 4, 15, "fmt chunk of 15 bytes" },
		{ 16, 4, 0x7fffffff, "runs past the end" },
		{ 20, 2, 3, "format 3" },			/* IEEE float */
		{ 34, 2, 24, "format 1 with 24 bits" },
		{ 22, 2, 3, "3 channels" },
		{ 22, 2, 0, "0 channels" },
		{ 24, 4, 11025, "11025 Hz" },
		{ 40, 4, 1, "0 samples" },			/* less than one sample */
		{ 36, 4, 0x61746164 + 1, "data chunk missing" },	/* "datb" */
		{ 12, 4, 0x20746d67, "fmt chunk missing" },		/* "gmt " */
	};
	unsigned int i;

	(void)st;
	assert_non_null(x);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(x, w, len);
		if (bad[i].bytes == 4)
			wr32(x + bad[i].off, bad[i].val);
		else
			wr16(x + bad[i].off, (uint16_t)bad[i].val);
		assert_null(mr_wav_to_audio(x, len, err, sizeof(err)));
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("case %u: '%s', want '%s'", i, err, bad[i].why);
	}
	/* A data length past the end (a WAV written into a pipe): the samples there are. */
	memcpy(x, w, len);
	wr32(x + 40, 0xffffffff);
	{
		struct mr_msg_audio *au = mr_wav_to_audio(x, len, err, sizeof(err));

		assert_non_null(au);
		assert_int_equal(au->n, 5);		/* 800 samples: 5 frames */
		mr_msg_audio_free(au);
	}
	/* Cut anywhere: never a read past the end (ASan); before the first whole sample an
	 * error, after it the samples there are. */
	for (i = 0; i <= len; i++) {
		struct mr_msg_audio *au = mr_wav_to_audio(w, i, err, sizeof(err));

		if (i < 46) {
			assert_null(au);
			continue;
		}
		assert_non_null(au);
		assert_int_equal(au->n, ((i - 44) / 2 + 159) / 160);
		mr_msg_audio_free(au);
	}
	free(x);
	free(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_last_frame_padded),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
