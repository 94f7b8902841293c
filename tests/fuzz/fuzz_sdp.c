/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer harness for the SDP offer parser and the answer builder (controlplane/webrtc/sdp.c):
 * the input is an offer as a browser would send it over the WebSocket, in an exactly sized heap
 * buffer (not NUL-terminated: the parser takes a length). Besides memory safety it checks:
 *  - a refused offer leaves a NUL-terminated error that names a line or the reason;
 *  - what is accepted has its counts within the arrays, ICE credentials, a fingerprint and a
 *    mid on every m-line, and no a=setup:passive;
 *  - the answer fits or is refused (-1), is NUL-terminated, as long as it says, and an answer
 *    cut short by a smaller buffer is refused rather than truncated;
 *  - a session built from it renegotiates: streams placed, an offer rendered, a second sync
 *    with the same streams changes nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mr_sdp s;
	static char ans[65536], small[65536];
	struct mr_sdp_local l = { .ufrag = "uFr4g", .pwd = "0123456789abcdefghijklmn",
				  .fingerprint = "sha-256 AA:BB", .session_id = 7, .n_cand = 1 };
	uint32_t ss[MR_SDP_MAX_SSRC];
	char err[160], *text;
	unsigned int i;
	int n, k;

	text = malloc(size ? size : 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	memset(err, 'x', sizeof(err));
	if (mr_sdp_parse(text, size, &s, err, sizeof(err)) < 0) {
		CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
		free(text);
		return 0;
	}
	CHECK(s.n_media >= 1 && s.n_media <= MR_SDP_MAX_MEDIA);
	CHECK(s.ufrag[0] != '\0' && s.pwd[0] != '\0' && s.fingerprint[0] != '\0');
	CHECK(strcmp(s.setup, "passive") != 0);
	for (i = 0; i < s.n_media; i++) {
		const struct mr_sdp_media *m = &s.m[i];

		CHECK(m->n_codecs <= MR_SDP_MAX_CODECS && m->n_ext <= MR_SDP_MAX_EXT);
		CHECK(m->n_ssrc <= MR_SDP_MAX_SSRC && m->n_fid <= MR_SDP_MAX_SSRC);
		CHECK(m->mid[0] != '\0');
		CHECK(mr_sdp_ssrcs(m, ss, MR_SDP_MAX_SSRC) <= m->n_ssrc);
		(void)mr_sdp_pick(m);
		(void)mr_sdp_ext_id(m, MR_SDP_EXT_LEVEL);
	}
	l.cand[0].family = MR_AF4;
	l.cand[0].port = 30000;
	l.cand[0].a[0] = 198;
	l.cand[0].a[1] = 18;
	l.cand[0].a[3] = 1;
	l.recv[MR_SDP_AUDIO].ssrc = 1111;
	l.recv[MR_SDP_AUDIO].part = 2;
	l.recv[MR_SDP_VIDEO].ssrc = 2222;
	l.recv[MR_SDP_VIDEO].part = 2;
	n = mr_sdp_answer(&s, &l, ans, sizeof(ans));
	CHECK(n > 0 && (size_t)n < sizeof(ans) && strlen(ans) == (size_t)n);
	CHECK(strncmp(ans, "v=0\r\n", 5) == 0);
	/* Too small by one: refused; exactly enough: the same answer. */
	k = mr_sdp_answer(&s, &l, small, (size_t)n);
	CHECK(k == -1);
	k = mr_sdp_answer(&s, &l, small, (size_t)n + 1);
	CHECK(k == n && memcmp(small, ans, (size_t)n + 1) == 0);
	/* Renegotiation of what was accepted: mrelay's offer fits or is refused, like the
	 * answer. */
	{
		static struct mr_sdp_sess ss;
		struct mr_sdp_out w[3];

		memset(w, 0, sizeof(w));
		w[0].ssrc = 1111;
		w[0].kind = MR_SDP_AUDIO;
		w[1].ssrc = 3333;
		w[1].kind = MR_SDP_AUDIO;
		w[2].ssrc = 4444;
		w[2].kind = MR_SDP_VIDEO;
		mr_sdp_sess_init(&ss, &s, 7);
		CHECK(ss.n == s.n_media);
		mr_sdp_sess_sync(&ss, w, 3, 1);
		CHECK(ss.n <= MR_SDP_MAX_SEC);
		n = mr_sdp_render(&ss, &l, 1, ans, sizeof(ans));
		CHECK(n > 0 && strlen(ans) == (size_t)n);
		CHECK(mr_sdp_sess_sync(&ss, w, 3, 1) == 0);
	}
	free(text);
	return 0;
}
