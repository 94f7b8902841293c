/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for controlplane/webrtc/sdp.c: a Chromium offer (audio + video, BUNDLE, RTX
 * groups) parsed and answered; malformed offers refused with the line named.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sdp.h"

static const char offer[] =
	"v=0\r\n"
	"o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"a=group:BUNDLE 0 1\r\n"
	"a=extmap-allow-mixed\r\n"
	"a=msid-semantic: WMS stream\r\n"
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8\r\n"
	"c=IN IP4 0.0.0.0\r\n"
	"a=rtcp:9 IN IP4 0.0.0.0\r\n"
	"a=ice-ufrag:Ab1c\r\n"
	"a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
	"a=ice-options:trickle\r\n"
	"a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55"
	":66:77:88:99:AA:BB:CC:DD:EE:FF\r\n"
	"a=setup:actpass\r\n"
	"a=mid:0\r\n"
	"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
	"a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
	"a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
	"a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
	"a=sendrecv\r\n"
	"a=msid:stream track-a\r\n"
	"a=rtcp-mux\r\n"
	"a=rtpmap:111 opus/48000/2\r\n"
	"a=rtcp-fb:111 transport-cc\r\n"
	"a=fmtp:111 minptime=10;useinbandfec=1\r\n"
	"a=rtpmap:63 red/48000/2\r\n"
	"a=fmtp:63 111/111\r\n"
	"a=rtpmap:9 G722/8000\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=ssrc:1111 cname:x\r\n"
	"a=ssrc:1111 msid:stream track-a\r\n"
	"m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103\r\n"
	"c=IN IP4 0.0.0.0\r\n"
	"a=ice-ufrag:Ab1c\r\n"
	"a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
	"a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55"
	":66:77:88:99:AA:BB:CC:DD:EE:FF\r\n"
	"a=setup:actpass\r\n"
	"a=mid:1\r\n"
	"a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
	"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
	"a=sendrecv\r\n"
	"a=rtcp-mux\r\n"
	"a=rtpmap:96 VP8/90000\r\n"
	"a=rtcp-fb:96 goog-remb\r\n"
	"a=rtcp-fb:96 transport-cc\r\n"
	"a=rtcp-fb:96 ccm fir\r\n"
	"a=rtcp-fb:96 nack\r\n"
	"a=rtcp-fb:96 nack pli\r\n"
	"a=rtpmap:97 rtx/90000\r\n"
	"a=fmtp:97 apt=96\r\n"
	"a=rtpmap:102 H264/90000\r\n"
	"a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n"
	"a=rtpmap:103 rtx/90000\r\n"
	"a=ssrc-group:FID 2222 3333\r\n"
	"a=ssrc:2222 cname:x\r\n"
	"a=ssrc:3333 cname:x\r\n";

/* The relay's one candidate in an answer: 198.18.0.1:30000. */
static void
relay_cand(struct mr_sdp_local *l)
{
	l->cand[0].family = MR_AF4;
	l->cand[0].port = 30000;
	l->cand[0].a[0] = 198; l->cand[0].a[1] = 18; l->cand[0].a[3] = 1;
}

static void
test_parse_answer(void **state)
{
	struct mr_sdp *s = malloc(sizeof(*s));
	struct mr_sdp_local l = { .ufrag = "uFr4g", .pwd = "0123456789abcdefghijklmn",
				  .fingerprint = "sha-256 AA:BB", .session_id = 7, .n_cand = 1 };
	const struct mr_sdp_codec *c;
	char err[128], ans[8192];
	uint32_t ss[8];

	(void)state;
	assert_int_equal(mr_sdp_parse(offer, strlen(offer), s, err, sizeof(err)), 0);
	assert_string_equal(s->ufrag, "Ab1c");
	assert_string_equal(s->pwd, "abcdefghijklmnopqrstuvwx");
	assert_int_equal(s->n_media, 2);
	assert_int_equal(s->m[0].kind, MR_SDP_AUDIO);
	assert_int_equal(s->m[0].rtcp_mux, 1);
	c = mr_sdp_pick(&s->m[0]);
	assert_non_null(c);
	assert_int_equal(c->pt, 111);
	assert_int_equal(c->fb, MR_SDP_FB_TCC);
	c = mr_sdp_pick(&s->m[1]);
	assert_int_equal(c->pt, 96);
	assert_int_equal(c->fb, 31);
	assert_int_equal(mr_sdp_ssrcs(&s->m[0], ss, 8), 1);
	assert_int_equal(ss[0], 1111);
	assert_int_equal(mr_sdp_ssrcs(&s->m[1], ss, 8), 1);
	assert_int_equal(ss[0], 2222);
	assert_int_equal(mr_sdp_ext_id(&s->m[0], MR_SDP_EXT_LEVEL), 1);
	/* The numbering copies to it are renumbered to: level 1, abs-send-time 2,
	 * transport-cc 3, its mid 4 (never passed on), and 5 is unused. */
	assert_int_equal(mr_sdp_ext_map(s), 0x43215);

	relay_cand(&l);
	assert_true(mr_sdp_answer(s, &l, ans, sizeof(ans)) > 0);
	assert_non_null(strstr(ans, "a=ice-lite\r\n"));
	assert_non_null(strstr(ans, "a=group:BUNDLE 0 1\r\n"));
	assert_non_null(strstr(ans, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"));
	assert_non_null(strstr(ans, "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"));
	assert_non_null(strstr(ans, "a=setup:passive\r\n"));
	assert_non_null(strstr(ans, "a=ice-ufrag:uFr4g\r\n"));
	assert_non_null(strstr(ans, "a=candidate:1 1 udp 2130706431 198.18.0.1 30000 typ host\r\n"));
	assert_non_null(strstr(ans, "a=fmtp:111 minptime=10;useinbandfec=1\r\n"));
	assert_non_null(strstr(ans, "a=rtcp-fb:96 nack pli\r\n"));
	/* The audio level extension only on audio; rtx not answered. */
	assert_null(strstr(ans, "rtx/90000"));
	assert_int_equal(strstr(strstr(ans, "m=video"), "ssrc-audio-level") == NULL, 1);
	/* No other participant yet: nothing declared to receive. */
	assert_null(strstr(ans, "a=ssrc:"));
	assert_null(strstr(ans, "a=msid:"));
	/* Another participant's streams declared on the m-line of their kind. */
	l.recv[MR_SDP_AUDIO].ssrc = 3333;
	l.recv[MR_SDP_AUDIO].part = 2;
	l.recv[MR_SDP_VIDEO].ssrc = 4444;
	l.recv[MR_SDP_VIDEO].part = 2;
	assert_true(mr_sdp_answer(s, &l, ans, sizeof(ans)) > 0);
	assert_non_null(strstr(ans, "a=ssrc:3333 cname:mrelay-2\r\n"));
	assert_non_null(strstr(ans, "a=msid:mrelay-2 mrelay-3333\r\n"));
	assert_true(strstr(ans, "a=ssrc:3333 ") < strstr(ans, "m=video"));
	assert_true(strstr(ans, "a=ssrc:4444 msid:mrelay-2 mrelay-4444\r\n") >
		    strstr(ans, "m=video"));
	/* Too small a buffer. */
	assert_int_equal(mr_sdp_answer(s, &l, ans, 100), -1);
	/* H.264 when VP8 is not offered. */
	s->m[1].codec[0].name[0] = 'X';
	assert_int_equal(mr_sdp_pick(&s->m[1])->pt, 102);
	free(s);
}

/* Firefox offers every m-section but the first with port 0 and a=bundle-only (RFC 8843 §6):
 * in the BUNDLE group, answered like the others, not rejected. */
static void
test_bundle_only(void **state)
{
	static const char ff[] =
		"v=0\r\n"
		"o=mozilla...THIS_IS_SDPARTA-99.0 353696453711345711 0 IN IP4 0.0.0.0\r\n"
		"s=-\r\n"
		"t=0 0\r\n"
		"a=fingerprint:sha-256 C9:CD:84:AF:36:6D:1F:41:A7:71:D8:AD:83:2B:E5:C3:C5:60:07:33:BF"
		":77:9D:0D:72:04:93:E3:AA:D0:E1:B6\r\n"
		"a=group:BUNDLE 0 1\r\n"
		"a=ice-options:trickle\r\n"
		"m=audio 9 UDP/TLS/RTP/SAVPF 109 0\r\n"
		"c=IN IP4 0.0.0.0\r\n"
		"a=sendrecv\r\n"
		"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
		"a=ice-pwd:fabd1a3c05d1a656ec2b3d1f9db97fd3\r\n"
		"a=ice-ufrag:a64f2b93\r\n"
		"a=mid:0\r\n"
		"a=rtcp-mux\r\n"
		"a=rtpmap:109 opus/48000/2\r\n"
		"a=rtpmap:0 PCMU/8000\r\n"
		"a=setup:actpass\r\n"
		"a=ssrc:1774668757 cname:{fab0a482}\r\n"
		"m=video 0 UDP/TLS/RTP/SAVPF 120 124\r\n"
		"c=IN IP4 0.0.0.0\r\n"
		"a=bundle-only\r\n"
		"a=sendrecv\r\n"
		"a=ice-pwd:fabd1a3c05d1a656ec2b3d1f9db97fd3\r\n"
		"a=ice-ufrag:a64f2b93\r\n"
		"a=mid:1\r\n"
		"a=rtcp-fb:120 nack pli\r\n"
		"a=rtcp-mux\r\n"
		"a=rtpmap:120 VP8/90000\r\n"
		"a=rtpmap:124 rtx/90000\r\n"
		"a=fmtp:124 apt=120\r\n"
		"a=setup:actpass\r\n"
		"a=ssrc:2213359798 cname:{fab0a482}\r\n";
	struct mr_sdp *s = malloc(sizeof(*s));
	struct mr_sdp_local l = { .ufrag = "uFr4g", .pwd = "0123456789abcdefghijklmn",
				  .fingerprint = "sha-256 AA:BB", .session_id = 7, .n_cand = 1 };
	char err[128], ans[8192];

	(void)state;
	assert_int_equal(mr_sdp_parse(ff, strlen(ff), s, err, sizeof(err)), 0);
	assert_int_equal(s->n_media, 2);
	assert_int_equal(s->m[1].port0, 0);
	/* Only the audio level (1) of the three: 2 is the unused id. */
	assert_int_equal(mr_sdp_ext_map(s), 0x12);
	relay_cand(&l);
	assert_true(mr_sdp_answer(s, &l, ans, sizeof(ans)) > 0);
	assert_non_null(strstr(ans, "a=group:BUNDLE 0 1\r\n"));
	assert_non_null(strstr(ans, "m=video 9 UDP/TLS/RTP/SAVPF 120\r\n"));
	/* Without bundle-only, port 0 is a rejected section: answered with port 0. */
	s->m[1].port0 = 1;
	assert_true(mr_sdp_answer(s, &l, ans, sizeof(ans)) > 0);
	assert_non_null(strstr(ans, "m=video 0 "));
	free(s);
}

static void
bad(const char *text, const char *want)
{
	struct mr_sdp *s = malloc(sizeof(*s));
	char err[128];

	assert_int_equal(mr_sdp_parse(text, strlen(text), s, err, sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' does not contain '%s'", err, want);
	free(s);
}

static void
test_malformed(void **state)
{
	(void)state;
	bad("", "empty");
	bad("v=1\r\n", "line 1: must be v=0");
	bad("v=0\r\nxyz\r\n", "line 2: not 'x=value'");
	bad("v=0\r\nm=audio\r\n", "line 2: m=");
	bad("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 300\r\n", "line 2: m=: payload type");
	bad("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:112 opus/48000\r\n",
	    "line 3: a=rtpmap");
	bad("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus\r\n", "line 3: a=rtpmap");
	bad("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n", "ice-ufrag");
	bad("v=0\r\na=ice-ufrag:a\r\na=ice-pwd:b\r\nm=audio 9 X 111\r\na=mid:0\r\n",
	    "fingerprint");
	bad("v=0\r\na=ice-ufrag:a\r\na=ice-pwd:b\r\na=fingerprint:sha-256 00\r\n"
	    "m=audio 9 X 111\r\n", "no a=mid");
	bad("v=0\r\na=ice-ufrag:a\r\na=ice-pwd:b\r\na=fingerprint:sha-256 00\r\n"
	    "a=setup:passive\r\nm=audio 9 X 111\r\na=mid:0\r\n", "setup:passive");
	bad("v=0\r\nm=audio 9 X 111\r\na=ssrc:99999999999 cname:x\r\n", "line 3: a=ssrc");
}

static unsigned int
count(const char *hay, const char *needle)
{
	unsigned int n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay++)
		n++;
	return n;
}

static struct mr_sdp_out
out_of(uint32_t ssrc, uint32_t part, uint32_t stream, uint8_t kind, const char *codec)
{
	struct mr_sdp_out w;

	memset(&w, 0, sizeof(w));
	w.ssrc = ssrc;
	w.part = part;
	w.stream = stream;
	w.kind = kind;
	snprintf(w.codec, sizeof(w.codec), "%s", codec);
	return w;
}

/* Renegotiation: streams on the participant's own sections first, then on sections mrelay
 * adds (sendonly, in the participant's payload types); a stream that goes leaves its own
 * section without a=ssrc and its added section at port 0, out of BUNDLE; full lists recycle
 * removed sections under a new mid. */
static void
test_session(void **state)
{
	struct mr_sdp *o = malloc(sizeof(*o));
	struct mr_sdp_sess *ss = malloc(sizeof(*ss));
	struct mr_sdp_local l = { .ufrag = "uFr4g", .pwd = "0123456789abcdefghijklmn",
				  .fingerprint = "sha-256 AA:BB", .session_id = 7, .n_cand = 1 };
	struct mr_sdp_out w[MR_SDP_MAX_SEC + 4];
	static char txt[65536];
	char err[128];
	unsigned int i;

	(void)state;
	relay_cand(&l);
	assert_int_equal(mr_sdp_parse(offer, strlen(offer), o, err, sizeof(err)), 0);
	mr_sdp_sess_init(ss, o, 7);
	assert_int_equal(ss->n, 2);
	assert_int_equal(mr_sdp_sess_pt(ss, MR_SDP_AUDIO), 111);
	assert_int_equal(mr_sdp_sess_pt(ss, MR_SDP_VIDEO), 96);
	/* Two others: B (audio 109 elsewhere, video) and C (audio). In an answer only the
	 * own sections take them. */
	w[0] = out_of(1001, 2, 11, MR_SDP_AUDIO, "OPUS");
	w[1] = out_of(1002, 2, 12, MR_SDP_VIDEO, "VP8");
	w[2] = out_of(1003, 3, 13, MR_SDP_AUDIO, "opus");
	w[3] = out_of(1004, 3, 14, MR_SDP_VIDEO, "H264");	/* not the codec taken */
	assert_int_equal(mr_sdp_sess_sync(ss, w, 4, 0), 2);
	assert_int_equal(ss->n, 2);
	assert_true(mr_sdp_render(ss, &l, 0, txt, sizeof(txt)) > 0);
	assert_non_null(strstr(txt, "o=mrelay 7 2 IN IP4"));
	assert_non_null(strstr(txt, "a=ssrc:1001 cname:mrelay-2\r\n"));
	assert_non_null(strstr(txt, "a=ssrc:1002 cname:mrelay-2\r\n"));
	assert_null(strstr(txt, "a=ssrc:1003"));
	/* The MID extension is accepted (to learn SSRCs of sections without a=ssrc); the
	 * streams mrelay sends are declared by SSRC. */
	assert_non_null(strstr(txt, "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"));
	assert_non_null(strstr(txt, "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level"));
	/* mrelay's offer adds a section for C's audio, in the participant's Opus type. */
	assert_int_equal(mr_sdp_sess_sync(ss, w, 4, 1), 1);
	assert_int_equal(mr_sdp_sess_sync(ss, w, 4, 1), 0);	/* nothing more */
	assert_int_equal(ss->n, 3);
	assert_true(mr_sdp_render(ss, &l, 1, txt, sizeof(txt)) > 0);
	assert_non_null(strstr(txt, "o=mrelay 7 3 IN IP4"));
	assert_non_null(strstr(txt, "a=group:BUNDLE 0 1 mr1\r\n"));
	assert_non_null(strstr(txt, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"));
	assert_non_null(strstr(strstr(txt, "a=mid:mr1"), "a=sendonly\r\n"));
	assert_non_null(strstr(strstr(txt, "a=mid:mr1"), "a=ssrc:1003 msid:mrelay-3 "));
	assert_int_equal(count(txt, "a=setup:passive"), 3);
	/* B leaves: its own sections stop declaring it; C's added section stays. */
	w[0] = w[2];
	assert_int_equal(mr_sdp_sess_sync(ss, w, 1, 1), 2);
	assert_true(mr_sdp_render(ss, &l, 1, txt, sizeof(txt)) > 0);
	assert_null(strstr(txt, "a=ssrc:1001"));
	assert_null(strstr(txt, "a=ssrc:1002"));
	assert_non_null(strstr(txt, "a=ssrc:1003"));
	/* C leaves: port 0, inactive, out of BUNDLE, mid kept. */
	assert_int_equal(mr_sdp_sess_sync(ss, w, 0, 1), 1);
	assert_true(mr_sdp_render(ss, &l, 1, txt, sizeof(txt)) > 0);
	assert_non_null(strstr(txt, "a=group:BUNDLE 0 1\r\n"));
	assert_non_null(strstr(txt, "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
				    "a=mid:mr1\r\na=inactive\r\n"));
	assert_null(strstr(txt, "a=ssrc:"));
	/* A new stream goes on a free own section first; more than fit recycle removed
	 * sections with new mids and never exceed the list. */
	for (i = 0; i < MR_SDP_MAX_SEC + 4; i++)
		w[i] = out_of(2000 + i, 4 + i, 100 + i, MR_SDP_AUDIO, "opus");
	assert_int_equal(mr_sdp_sess_sync(ss, w, MR_SDP_MAX_SEC + 4, 1), MR_SDP_MAX_SEC - 1);
	assert_int_equal(ss->n, MR_SDP_MAX_SEC);
	assert_int_equal(ss->sec[0].ssrc, 2000);
	assert_int_equal(ss->sec[1].ssrc, 0);		/* video: not for audio */
	assert_string_equal(ss->sec[3].mid, "mr2");	/* appended while there is room */
	assert_string_equal(ss->sec[2].mid, "mr31");	/* then mr1 recycled */
	assert_true(mr_sdp_render(ss, &l, 1, txt, sizeof(txt)) > 0);
	assert_null(strstr(txt, "a=mid:mr1\r\n"));
	assert_int_equal(mr_sdp_render(ss, &l, 1, txt, 200), -1);
	free(ss);
	free(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_answer),
		cmocka_unit_test(test_bundle_only),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_session),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
