/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer harness for the strict Ogg/Opus reader of voice message uploads
 * (controlplane/media/oggread.c): the input is an upload body in an exactly sized heap
 * buffer. Besides memory safety it checks:
 *  - a refused file leaves a NUL-terminated error naming a page, or "empty";
 *  - an accepted one has mono or stereo, at least one audio packet, its samples the sum of
 *    what the packet callback saw, every packet within the limit and inside the input's
 *    size, and its duration from its samples;
 *  - a second parse gives the same answer (no state kept between calls).
 * An input that begins as a RIFF/WAVE file goes to the WAV reader of ng's play media instead
 * (wavread.c; seeded with a 40 ms 8 kHz tone), with the checks of wav_one().
 * Random bytes rarely keep a page's CRC right: with the input's last byte odd, the CRC of
 * every whole page is fixed first, so that the mutations reach what lies behind it.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "messages.h"
#include "oggread.h"
#include "wavread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

struct seen {
	uint64_t packets;
	uint64_t samples;
	size_t bytes;
};

static int
on_packet(void *arg, const uint8_t *pkt, size_t len, uint32_t samples)
{
	struct seen *s = arg;

	CHECK(len > 0 && len <= MR_OGGR_MAX_PACKET);
	CHECK(samples > 0 && samples <= 5760);
	/* Touch every byte: the sanitizer sees a read past the buffer. */
	CHECK(pkt[0] == pkt[0] && pkt[len - 1] == pkt[len - 1]);
	s->packets++;
	s->samples += samples;
	s->bytes += len;
	return 0;
}

/* Set the CRC of every whole page (RFC 3533 §6), walking as the reader does. */
static void
fix_crcs(uint8_t *b, size_t len)
{
	size_t off = 0, n, i;
	uint32_t crc;

	while (len - off >= 27 && memcmp(b + off, "OggS", 4) == 0) {
		n = 27 + (size_t)b[off + 26];
		if (len - off < n)
			return;
		for (i = 0; i < b[off + 26]; i++)
			n += b[off + 27 + i];
		if (len - off < n)
			return;
		memset(b + off + 22, 0, 4);
		crc = mr_ogg_crc(0, b + off, n);
		b[off + 22] = crc & 0xff;
		b[off + 23] = (crc >> 8) & 0xff;
		b[off + 24] = (crc >> 16) & 0xff;
		b[off + 25] = (uint8_t)(crc >> 24);
		off += n;
	}
}

/* A WAV file for ng's play media (wavread.c): accepted, at least one packet, each inside the
 * packet buffer with 20 ms at 48 kHz, the duration 20 ms a packet; refused, a reason. */
static void
wav_one(const uint8_t *data, size_t size)
{
	char err[160] = "";
	struct mr_msg_audio *au = mr_wav_to_audio(data, size, err, sizeof(err));
	uint32_t k;

	if (au == NULL) {
		CHECK(strncmp(err, "WAV: ", 5) == 0 && memchr(err, '\0', sizeof(err)) != NULL);
		return;
	}
	CHECK(au->n >= 1 && au->duration_ms == (uint64_t)au->n * 20);
	for (k = 0; k < au->n; k++)
		CHECK(au->pkt[k].len > 0 && au->pkt[k].samples == 960 &&
		      (k == 0 ? au->pkt[k].off == 0 :
		       au->pkt[k].off == au->pkt[k - 1].off + au->pkt[k - 1].len));
	mr_msg_audio_free(au);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mr_oggr_info info, again;
	struct seen s = { 0 };
	char err[160], err2[160];
	uint8_t *buf;
	int rc, rc2;

	if (mr_wav_is(data, size)) {
		wav_one(data, size);
		return 0;
	}

	buf = malloc(size ? size : 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	if (size > 0 && (data[size - 1] & 1))
		fix_crcs(buf, size);
	memset(err, 'x', sizeof(err));
	rc = mr_oggr_parse(buf, size, &info, on_packet, &s, err, sizeof(err));
	CHECK(rc == 0 || rc == -EINVAL);
	CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	if (rc != 0) {
		CHECK(strncmp(err, "page ", 5) == 0 || strcmp(err, "empty") == 0);
	} else {
		CHECK(err[0] == '\0');
		CHECK(info.channels == 1 || info.channels == 2);
		CHECK(info.packets > 0 && info.packets == s.packets);
		CHECK(info.samples == s.samples);
		CHECK(s.bytes < size);
		CHECK(info.duration_ms == info.samples / 48);
		CHECK(info.pages >= 3);
	}
	rc2 = mr_oggr_parse(buf, size, &again, NULL, NULL, err2, sizeof(err2));
	CHECK(rc2 == rc);
	CHECK(strcmp(err, err2) == 0);
	if (rc == 0)
		CHECK(memcmp(&info, &again, sizeof(info)) == 0);
	free(buf);
	return 0;
}
