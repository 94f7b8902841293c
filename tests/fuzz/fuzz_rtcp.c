/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer harness for the RTCP parsers and builders (dataplane/rtp/rtcp.c) and the RTP header
 * extension readers (dataplane/rtp/rtp_ext.h): the input is one UDP payload, in an exactly sized
 * heap buffer so that ASan reports any read past its end. Besides memory safety it checks:
 *  - mr_rtcp_next() walks forward, each packet lies inside the buffer, and a compound that
 *    mr_rtcp_validate() accepts is walked to its end without an error;
 *  - a NACK parsed from the input and rebuilt with mr_rtcp_build_nack() parses back to the
 *    same set of sequence numbers;
 *  - an RTP header extension found lies inside the packet, and the payload offset does too.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtcp.h"
#include "rtp_ext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static int
u16_cmp(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static unsigned int
sorted_unique(uint16_t *s, unsigned int n)
{
	unsigned int i, k = 0;

	qsort(s, n, sizeof(*s), u16_cmp);
	for (i = 0; i < n; i++)
		if (k == 0 || s[k - 1] != s[i])
			s[k++] = s[i];
	return k;
}

static void
check_packet(const struct mr_rtcp_hdr *h)
{
	struct mr_rtcp_sr sr;
	struct mr_rtcp_rb rb;
	uint16_t seqs[256], back[256];
	uint32_t ssrcs[8], media;
	uint64_t bitrate;
	uint8_t buf[2048], seq_nr;
	unsigned int i;
	int n, m, len;

	(void)mr_rtcp_sr_parse(h, &sr);
	for (i = 0; i < 32; i++)
		if (mr_rtcp_rb_parse(h, i, &rb) < 0)
			break;
	(void)mr_rtcp_fb_media_ssrc(h, &media);
	for (i = 0; i < 8; i++)
		if (mr_rtcp_fir_parse(h, i, &ssrcs[0], &seq_nr) < 0)
			break;
	(void)mr_rtcp_remb_parse(h, &bitrate, ssrcs, 8);
	n = mr_rtcp_nack_parse(h, seqs, 256);
	if (n > 0 && n <= 256) {
		len = mr_rtcp_build_nack(buf, sizeof(buf), 1, 2, seqs, (unsigned int)n);
		CHECK(len > 0);
		{
			struct mr_rtcp_hdr h2;
			size_t off = 0;

			CHECK(mr_rtcp_next(buf, (size_t)len, &off, &h2) == 1);
			m = mr_rtcp_nack_parse(&h2, back, 256);
			CHECK(m > 0 && m <= 256);
			CHECK(sorted_unique(seqs, (unsigned int)n) ==
			      sorted_unique(back, (unsigned int)m));
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);
	struct mr_rtcp_hdr h;
	size_t off = 0, prev;
	const uint8_t *d;
	uint8_t dlen, level;
	int r, valid, voice;

	if (p == NULL)
		return 0;
	memcpy(p, data, size);
	valid = mr_rtcp_validate(p, size) == 0;
	for (;;) {
		prev = off;
		r = mr_rtcp_next(p, size, &off, &h);
		if (r != 1)
			break;
		CHECK(off > prev && off <= size);
		CHECK(h.p >= p && h.p + h.len <= p + size);
		check_packet(&h);
	}
	CHECK(r == 0 || r == -EINVAL);
	if (valid)
		CHECK(r == 0 && off == size);

	/* The same bytes as an RTP packet. */
	for (uint8_t id = 1; id < 15; id++) {
		if (mr_rtp_ext_find(p, size, id, &d, &dlen) == 1) {
			CHECK(d >= p && d + dlen <= p + size);
			(void)mr_audio_level_parse(d, dlen, &level, &voice);
		}
	}
	off = mr_rtp_payload_offset(p, size);
	CHECK(off <= size);
	free(p);
	return 0;
}
