/* SPDX-License-Identifier: BSD-3-Clause
 * The ng control protocol's pure parts (controlplane/ng/): bencode (malformed, truncated,
 * nested too deep, huge strings), SDP rewriting (golden SDP in -> SDP out for each flag, in
 * tests/unit/ng/), the message layer (cookie, retransmission cache, errors) and the call model
 * (offer/answer, re-INVITE, fork, delete) against a fake session backend.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ng_bencode.h"
#include "ng_cache.h"
#include "ng_calls.h"
#include "ng_proto.h"
#include "ng_sdp.h"

/* ---- bencode ---- */

static int
parse(const char *s, struct mr_bn **root, const char **why)
{
	static struct mr_bn nodes[MR_BN_MAX_NODES];
	size_t used;

	return mr_bn_parse(s, strlen(s), nodes, MR_BN_MAX_NODES, root, &used, why);
}

static void
test_bencode_ok(void **st)
{
	struct mr_bn *r;
	const char *why;
	char buf[32];

	(void)st;
	assert_int_equal(parse("d7:command4:ping4:listli1ei-2e0:e4:num_i42ee", &r, &why), 0);
	assert_int_equal(r->type, MR_BN_DICT);
	assert_int_equal(r->len, 3);
	assert_int_equal(mr_bn_get_str(r, "command", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "ping");
	assert_int_equal(mr_bn_get(r, "list")->len, 3);
	/* separators and case are the same in keys: "num_" = "NUM-" */
	assert_int_equal(mr_bn_get(r, "NUM-")->i, 42);
	assert_null(mr_bn_get(r, "absent"));
	assert_int_equal(mr_bn_get_str(r, "num_", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(mr_bn_get_str(r, "command", buf, 4), -ENAMETOOLONG);
}

static void
test_bencode_malformed(void **st)
{
	static const char *const bad[] = {
		"x", "i12", "i1x2e", "i-0e", "i03e", "ie", "d3:abce", "di1e1:ae", "01:a",
		"l1:ai2e", "d1:a", "5:abc", "i1234567890123456789e",
		"99999999999999999999:x", NULL
	};
	struct mr_bn *r;
	const char *why;
	unsigned int i;

	(void)st;
	for (i = 0; bad[i] != NULL; i++) {
		int rc = parse(bad[i], &r, &why);

		assert_true(rc == -EINVAL || rc == -EAGAIN);
		assert_true(why[0] != '\0');
	}
	/* truncated: more bytes could complete it (a TCP stream waits for them) */
	assert_int_equal(parse("d7:command4:pi", &r, &why), -EAGAIN);
	assert_int_equal(parse("10:abc", &r, &why), -EAGAIN);
	/* a string that claims more than 4 GiB can never be */
	assert_int_equal(parse("9999999999:abc", &r, &why), -EINVAL);
}

static void
test_bencode_limits(void **st)
{
	char deep[2 * MR_BN_MAX_DEPTH + 8], *big;
	struct mr_bn *r;
	const char *why;
	unsigned int i, n = 0;

	(void)st;
	for (i = 0; i <= MR_BN_MAX_DEPTH; i++)
		deep[n++] = 'l';
	for (i = 0; i <= MR_BN_MAX_DEPTH; i++)
		deep[n++] = 'e';
	deep[n] = '\0';
	assert_int_equal(parse(deep, &r, &why), -E2BIG);
	assert_string_equal(why, "nested too deep");
	/* one level less is fine */
	deep[n - 1] = '\0';
	assert_int_equal(parse(deep + 1, &r, &why), 0);
	assert_int_equal(r->type, MR_BN_LIST);
	/* more values than nodes */
	big = malloc(4 * MR_BN_MAX_NODES + 8);
	assert_non_null(big);
	n = 0;
	big[n++] = 'l';
	for (i = 0; i < MR_BN_MAX_NODES; i++) {
		memcpy(big + n, "i1e", 3);
		n += 3;
	}
	big[n++] = 'e';
	big[n] = '\0';
	assert_int_equal(parse(big, &r, &why), -E2BIG);
	free(big);
	/* a huge string is fine when it is all there */
	big = malloc(70000);
	assert_non_null(big);
	n = (unsigned int)snprintf(big, 70000, "%u:", 65000);
	memset(big + n, 'x', 65000);
	big[n + 65000] = '\0';
	assert_int_equal(parse(big, &r, &why), 0);
	assert_int_equal(r->len, 65000);
	free(big);
}

static void
test_bencode_encode(void **st)
{
	struct mr_bbuf b = { 0 };
	json_t *j = json_pack("{s:s,s:[i,s],s:{s:b},s:n}", "result", "ok", "l", 1, "x", "d",
			      "t", 1, "z");

	(void)st;
	mr_bencode_json(&b, j);
	mr_bbuf_put(&b, "", 1);
	/* keys sorted (bencode's canonical form) */
	assert_string_equal(b.p, "d1:dd1:ti1ee1:lli1e1:xe6:result2:ok1:z0:e");
	json_decref(j);
	mr_bbuf_free(&b);
}

/* ---- SDP golden files ---- */

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return p;
}

/* in.sdp through the writer with out set as the case says, against NAME.out.sdp. */
static void
golden(const char *name, const struct mr_ngsdp_out *o)
{
	static struct mr_ngsdp sdp;
	struct mr_bbuf b = { 0 };
	char path[256], err[128];
	size_t len, wl;
	char *in, *want;

	snprintf(path, sizeof(path), "unit/ng/%s.in.sdp", name);
	in = slurp(path, &len);
	assert_int_equal(mr_ngsdp_parse(in, len, &sdp, err, sizeof(err)), 0);
	assert_int_equal(mr_ngsdp_rewrite(&sdp, o, &b), 0);
	snprintf(path, sizeof(path), "unit/ng/%s.out.sdp", name);
	want = slurp(path, &wl);
	if (b.len != wl || memcmp(b.p, want, wl) != 0) {
		mr_bbuf_put(&b, "", 1);
		print_error("%s: got\n%s\nwant\n%s\n", name, b.p, want);
		fail();
	}
	free(in);
	free(want);
	mr_bbuf_free(&b);
}

static void
local(struct mr_ngsdp_media_out *m, const char *addr, uint16_t port, uint16_t rtcp, int mux)
{
	assert_int_equal(mr_addr_parse(addr, &m->local), 0);
	m->local.port = port;
	m->rtcp_port = rtcp;
	m->rtcp_mux = (uint8_t)mux;
	m->replace_crypto = 1;
}

static void
test_sdp_golden(void **st)
{
	struct mr_ngsdp_out o;
	struct mr_ngsdp_codecs cx;

	(void)st;
	/* plain: c=, m= port, a=rtcp; o= untouched without replace-origin */
	memset(&o, 0, sizeof(o));
	local(&o.m[0], "198.18.0.1", 30000, 30001, 0);
	o.ice_remove = 1;
	golden("plain", &o);
	/* replace-origin, rtcp-mux kept, ICE removed, video rejected (port 0 stays) */
	memset(&o, 0, sizeof(o));
	o.replace_origin = 1;
	o.ice_remove = 1;
	local(&o.m[0], "198.18.0.1", 30002, 0, 1);
	o.m[1].rejected = 1;
	golden("origin_mux_ice", &o);
	/* address family: IPv4 in, IPv6 out; no-rtcp-attribute */
	memset(&o, 0, sizeof(o));
	o.no_rtcp_attr = 1;
	o.ice_remove = 1;
	local(&o.m[0], "2001:2::1", 30004, 30005, 0);
	golden("ipv6", &o);
	/* RTP/AVP -> RTP/SAVP with mrelay's key; and codec-strip PCMU, codec-offer 101 */
	memset(&o, 0, sizeof(o));
	memset(&cx, 0, sizeof(cx));
	o.ice_remove = 1;
	local(&o.m[0], "198.18.0.1", 30006, 30007, 0);
	o.m[0].proto = "RTP/SAVP";
	o.m[0].n_crypto = 1;
	snprintf(o.m[0].crypto[0], sizeof(o.m[0].crypto[0]),
		 "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz");
	snprintf(cx.strip[cx.n_strip++], 32, "PCMU");
	snprintf(cx.offer[cx.n_offer++], 32, "telephone-event");
	o.codecs = &cx;
	golden("sdes_codecs", &o);
	/* SAVP -> AVP: crypto lines gone; full rtcp attribute; strip all but PCMA */
	memset(&o, 0, sizeof(o));
	memset(&cx, 0, sizeof(cx));
	o.ice_remove = 1;
	o.full_rtcp_attr = 1;
	local(&o.m[0], "198.18.0.1", 30008, 30009, 0);
	o.m[0].proto = "RTP/AVP";
	cx.strip_all = 1;
	snprintf(cx.except[cx.n_except++], 32, "PCMA");
	o.codecs = &cx;
	golden("savp_to_avp", &o);
	/* Towards a browser (ng's WebRTC): the peer's ICE, fingerprint, setup and tls-id gone,
	 * mrelay's ICE-lite credentials, fingerprint, setup and host candidate written; its
	 * own mid and group stay. */
	memset(&o, 0, sizeof(o));
	o.ice_remove = 1;
	local(&o.m[0], "198.18.0.1", 30010, 0, 1);
	o.m[0].ice_ufrag = "UFRAG001";
	o.m[0].ice_pwd = "PWD0123456789abcdefghijk";
	o.m[0].fingerprint = "sha-256 AA:BB";
	o.m[0].setup = "passive";
	o.m[0].mid = "0";
	o.bundle = "0";
	golden("webrtc", &o);
}

static void
test_sdp_parse(void **st)
{
	static struct mr_ngsdp sdp;
	const char *s = "v=0\r\no=- 1 1 IN IP4 198.18.0.10\r\ns=-\r\nc=IN IP4 198.18.0.10\r\n"
			"t=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp:4005 IN IP4 198.18.0.11\r\n"
			"m=video 5000 RTP/AVP 96\r\nc=IN IP4 0.0.0.0\r\na=rtcp-mux\r\n";
	char err[128];
	static const char *const bad[] = {
		"", "x", "o=foo\r\n", "v=0\r\nbogus\r\n", "v=0\r\nm=audio\r\n",
		"v=0\r\nm=audio 99999 RTP/AVP 0\r\n", "v=0\r\nc=IN IP4 1.2.3\r\n",
		"v=0\r\nm=audio 1 RTP/AVP 0\r\na=rtcp:x\r\n", "v=0\r\n\r\nm=audio 1 RTP/AVP 0\r\n",
		NULL
	};
	unsigned int i;

	(void)st;
	assert_int_equal(mr_ngsdp_parse(s, strlen(s), &sdp, err, sizeof(err)), 0);
	assert_int_equal(sdp.n_media, 2);
	assert_int_equal(sdp.media[0].addr.port, 4000);
	assert_int_equal(sdp.media[0].rtcp_port, 4005);
	assert_int_equal(sdp.media[0].rtcp_addr.family, MR_AF4);
	assert_true(sdp.media[1].zero_addr);
	assert_true(sdp.media[1].rtcp_mux);
	for (i = 0; bad[i] != NULL; i++) {
		err[0] = '\0';
		assert_int_equal(mr_ngsdp_parse(bad[i], strlen(bad[i]), &sdp, err, sizeof(err)),
				 -EINVAL);
		assert_true(strncmp(err, "sdp: ", 5) == 0);
	}
}

/* ---- the call model against a fake backend ---- */

struct fake_sess {
	int used, active;
	int recorded;
	int blocked[2];
	int silenced[2];
	int dtmf[2];			/* the payload type held back + 1, 0 none */
	struct mr_session_req req;
	int patches;
	struct mr_ep remote[2];
	char fp[2][160];		/* the last webrtc fingerprint a patch gave each leg */
};

static struct fake_sess fs[64];
static uint64_t fake_now;

static int
fake_create(void *ctx, const struct mr_session_req *req, struct mr_ng_sess_info *out,
	    char *err, size_t errlen)
{
	unsigned int i, l;

	(void)ctx;
	for (i = 0; i < 64 && fs[i].used; i++)
		;
	if (i == 64) {
		snprintf(err, errlen, "sessions: limit of 64 reached");
		return -EIO;
	}
	for (l = 0; l < 2; l++)
		if (req->legs[l].srtp.present && req->legs[l].srtp.suite == 0) {
			/* what the session manager refuses: no suite to make a key of */
			snprintf(err, errlen, "legs[%u].srtp: needs a suite", l);
			return -EIO;
		}
	memset(&fs[i], 0, sizeof(fs[i]));
	fs[i].used = fs[i].active = 1;
	fs[i].req = *req;
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%u", i);
	for (l = 0; l < 2; l++) {
		fs[i].remote[l] = req->legs[l].remote;
		mr_addr_parse("198.18.0.1", &out->leg[l].local);
		out->leg[l].local.port = (uint16_t)(30000 + 4 * i + 2 * l);
		if (!req->rtcp_mux) {
			out->leg[l].local_rtcp = out->leg[l].local;
			out->leg[l].local_rtcp.port++;
		}
		if (req->legs[l].srtp.present)
			snprintf(out->leg[l].local_key, sizeof(out->leg[l].local_key),
				 "AES_CM_128_HMAC_SHA1_80 inline:KEY%u%u", i, l);
		if (req->legs[l].webrtc) {
			snprintf(out->leg[l].ice_ufrag, sizeof(out->leg[l].ice_ufrag),
				 "UFRAG%u%u", i, l);
			snprintf(out->leg[l].ice_pwd, sizeof(out->leg[l].ice_pwd),
				 "PWD%u%uxxxxxxxxxxxxxxxxxx", i, l);
			snprintf(out->fingerprint, sizeof(out->fingerprint), "sha-256 AA:BB");
			snprintf(fs[i].fp[l], sizeof(fs[i].fp[l]), "%s", req->legs[l].fingerprint);
		}
	}
	return 0;
}

static int
fake_patch(void *ctx, const char *id, const struct mr_session_patch *p,
	   struct mr_ng_sess_info *out, char *err, size_t errlen)
{
	struct fake_sess *f = &fs[atoi(id)];
	unsigned int l;

	(void)ctx;
	(void)err;
	(void)errlen;
	if (!f->used || !f->active)
		return -ENOENT;
	f->patches++;
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", id);
	for (l = 0; l < 2; l++) {
		if (p->has_leg[l] && p->legs[l].has_remote)
			f->remote[l] = p->legs[l].remote;
		if (p->has_leg[l] && p->legs[l].webrtc)
			snprintf(f->fp[l], sizeof(f->fp[l]), "%s", p->legs[l].fingerprint);
		mr_addr_parse("198.18.0.1", &out->leg[l].local);
		out->leg[l].local.port = (uint16_t)(30000 + 4 * atoi(id) + 2 * l);
		if (!f->req.rtcp_mux) {
			out->leg[l].local_rtcp = out->leg[l].local;
			out->leg[l].local_rtcp.port++;
		}
	}
	return 0;
}

static void
fake_destroy(void *ctx, const char *id)
{
	(void)ctx;
	fs[atoi(id)].used = 0;
}

static int
fake_active(void *ctx, const char *id)
{
	(void)ctx;
	return fs[atoi(id)].used && fs[atoi(id)].active;
}

static json_t *
fake_get(void *ctx, const char *id)
{
	(void)ctx;
	(void)id;
	return json_pack("{s:[{s:{s:i,s:i,s:i}},{s:{s:i,s:i,s:i}}]}", "legs", "counters",
			 "rtp_packets", 7, "rtcp_packets", 1, "bytes_in", 700, "counters",
			 "rtp_packets", 5, "rtcp_packets", 0, "bytes_in", 500);
}

static uint64_t
fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static int
fake_record(void *ctx, const char *id, int on, char *err, size_t errlen)
{
	(void)ctx;
	(void)err;
	(void)errlen;
	fs[atoi(id)].recorded = on;
	return 0;
}

static int
fake_block(void *ctx, const char *id, unsigned int leg, int on)
{
	(void)ctx;
	fs[atoi(id)].blocked[leg] = on;
	return 0;
}

/* The plays asked for, last first: session, leg, codec, payload type, repeats. */
static struct {
	int n, sess, leg, codec, pt, playing[64][2];
	uint32_t times, start;
	uint64_t ms;
	uint32_t rate, dur, pause, vol;		/* play DTMF */
	char digits[40];
} fake_play;

static int
fake_play_fn(void *ctx, const char *id, unsigned int leg, const struct mr_ng_play *pl,
	     uint64_t *duration_ms, char *err, size_t errlen)
{
	(void)ctx;
	if (pl->file != NULL && strcmp(pl->file, "missing.ogg") == 0) {
		snprintf(err, errlen, "file: no such file in messages.directory");
		return -1;
	}
	fake_play.n++;
	fake_play.sess = atoi(id);
	fake_play.leg = (int)leg;
	fake_play.codec = pl->codec;
	fake_play.pt = pl->pt;
	fake_play.times = pl->repeat_times;
	fake_play.ms = pl->repeat_ms;
	fake_play.start = pl->start_pos;
	fake_play.rate = pl->dtmf_rate;
	fake_play.dur = pl->duration_ms;
	fake_play.pause = pl->pause_ms;
	fake_play.vol = pl->volume;
	snprintf(fake_play.digits, sizeof(fake_play.digits), "%s", pl->digits ? pl->digits : "");
	fake_play.playing[atoi(id)][leg] = 1;
	*duration_ms = 1060;
	return 0;
}

static int
fake_play_stop(void *ctx, const char *id, unsigned int leg, uint32_t *last_frame)
{
	(void)ctx;
	if (!fake_play.playing[atoi(id)][leg])
		return -ENOENT;
	fake_play.playing[atoi(id)][leg] = 0;
	if (last_frame != NULL)		/* as mr_sessions_play_stop: music on hold passes none */
		*last_frame = 17;
	return 0;
}

static int
fake_silence(void *ctx, const char *id, unsigned int leg, int on)
{
	(void)ctx;
	fs[atoi(id)].silenced[leg] = on;
	return 0;
}

static int
fake_block_dtmf(void *ctx, const char *id, unsigned int leg, int on, uint8_t pt)
{
	(void)ctx;
	fs[atoi(id)].dtmf[leg] = on ? pt + 1 : 0;
	return 0;
}

static unsigned int fake_changes;
static char fake_changed_id[64];

static void
fake_changed(void *ctx, const char *callid)
{
	(void)ctx;
	fake_changes++;
	snprintf(fake_changed_id, sizeof(fake_changed_id), "%s", callid);
}

static const struct mr_ng_backend fake_be = {
	.create = fake_create, .patch = fake_patch, .destroy = fake_destroy,
	.active = fake_active, .get = fake_get, .now_ms = fake_clock,
	.record = fake_record, .block = fake_block, .changed = fake_changed,
	.play = fake_play_fn, .play_stop = fake_play_stop, .silence = fake_silence,
	.block_dtmf = fake_block_dtmf,
};

static unsigned int
n_sessions(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < 64; i++)
		n += fs[i].used;
	return n;
}

/* Send a request (a bencoded dict built from a JSON text) and return the answer. */
static json_t *
cmd(struct mr_ng_calls *c, const char *json)
{
	static struct mr_bn nodes[MR_BN_MAX_NODES];
	struct mr_bbuf b = { 0 };
	struct mr_bn *root;
	json_error_t e;
	json_t *j = json_loads(json, 0, &e), *ans;
	size_t used;

	assert_non_null(j);
	mr_bencode_json(&b, j);
	json_decref(j);
	assert_int_equal(mr_bn_parse(b.p, b.len, nodes, MR_BN_MAX_NODES, &root, &used, NULL), 0);
	ans = mr_ng_calls_command(c, root);
	mr_bbuf_free(&b);
	return ans;
}

static const char *
result(const json_t *a)
{
	return json_string_value(json_object_get(a, "result"));
}

#define SDP_A "v=0\\r\\no=- 1 1 IN IP4 198.18.0.10\\r\\ns=-\\r\\nc=IN IP4 198.18.0.10\\r\\n" \
	"t=0 0\\r\\nm=audio 4000 RTP/AVP 0 8\\r\\n"
#define SDP_A2 "v=0\\r\\no=- 1 2 IN IP4 198.18.0.12\\r\\ns=-\\r\\nc=IN IP4 198.18.0.12\\r\\n" \
	"t=0 0\\r\\nm=audio 4400 RTP/AVP 0 8\\r\\n"
#define SDP_B "v=0\\r\\no=- 1 1 IN IP4 198.18.0.11\\r\\ns=-\\r\\nc=IN IP4 198.18.0.11\\r\\n" \
	"t=0 0\\r\\nm=audio 5000 RTP/AVP 0\\r\\n"
#define SDP_C "v=0\\r\\no=- 1 1 IN IP4 198.18.0.13\\r\\ns=-\\r\\nc=IN IP4 198.18.0.13\\r\\n" \
	"t=0 0\\r\\nm=audio 6000 RTP/AVP 8\\r\\n"

static int
sdp_port(const json_t *a)
{
	const char *s = json_string_value(json_object_get(a, "sdp")), *m;

	assert_non_null(s);
	m = strstr(s, "m=audio ");
	assert_non_null(m);
	return atoi(m + 8);
}

static void
test_calls_offer_answer_reinvite_delete(void **st)
{
	struct mr_ng_calls *c = mr_ng_calls_create(&fake_be, 100, 0);
	struct mr_ng_counts n;
	json_t *a;

	(void)st;
	memset(fs, 0, sizeof(fs));
	a = cmd(c, "{\"command\":\"offer\",\"call-id\":\"c1\",\"from-tag\":\"A\",\"sdp\":\"" SDP_A
		"\"}");
	assert_string_equal(result(a), "ok");
	assert_int_equal(sdp_port(a), 30002);		/* B is told leg 1 */
	json_decref(a);
	assert_int_equal(n_sessions(), 1);
	assert_int_equal(fs[0].remote[0].port, 4000);
	/* the INVITE again (after a 407): the same branch, no new session */
	a = cmd(c, "{\"command\":\"offer\",\"call-id\":\"c1\",\"from-tag\":\"A\",\"sdp\":\"" SDP_A
		"\"}");
	json_decref(a);
	assert_int_equal(n_sessions(), 1);
	a = cmd(c, "{\"command\":\"answer\",\"call-id\":\"c1\",\"from-tag\":\"A\",\"to-tag\":\"B\","
		"\"sdp\":\"" SDP_B "\"}");
	assert_string_equal(result(a), "ok");
	assert_int_equal(sdp_port(a), 30000);		/* A is told leg 0 */
	json_decref(a);
	assert_int_equal(fs[0].remote[1].port, 5000);
	/* re-INVITE from B (from-tag B, to-tag A): leg 1 moves, A is told leg 0 */
	a = cmd(c, "{\"command\":\"offer\",\"call-id\":\"c1\",\"from-tag\":\"B\",\"to-tag\":\"A\","
		"\"sdp\":\"" SDP_C "\"}");
	assert_int_equal(sdp_port(a), 30000);
	json_decref(a);
	assert_int_equal(fs[0].remote[1].port, 6000);
	/* re-INVITE from A: leg 0 moves */
	a = cmd(c, "{\"command\":\"offer\",\"call-id\":\"c1\",\"from-tag\":\"A\",\"to-tag\":\"B\","
		"\"sdp\":\"" SDP_A2 "\"}");
	assert_int_equal(sdp_port(a), 30002);
	json_decref(a);
	assert_int_equal(fs[0].remote[0].port, 4400);
	assert_int_equal(n_sessions(), 1);
	a = cmd(c, "{\"command\":\"query\",\"call-id\":\"c1\"}");
	assert_string_equal(result(a), "ok");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
		json_object_get(a, "tags"), "A"), "in dialogue with")), "B");
	json_decref(a);
	a = cmd(c, "{\"command\":\"delete\",\"call-id\":\"c1\",\"from-tag\":\"B\",\"to-tag\":\"A\"}");
	assert_string_equal(result(a), "ok");
	json_decref(a);
	assert_int_equal(n_sessions(), 0);
	mr_ng_calls_counts(c, &n);
	assert_int_equal(n.calls, 0);
	/* deleting again: a warning, or an error with "fatal" */
	a = cmd(c, "{\"command\":\"delete\",\"call-id\":\"c1\",\"from-tag\":\"A\"}");
	assert_string_equal(result(a), "ok");
	assert_non_null(json_object_get(a, "warning"));
	json_decref(a);
	a = cmd(c, "{\"command\":\"delete\",\"call-id\":\"c1\",\"from-tag\":\"A\","
		"\"flags\":[\"fatal\"]}");
	assert_string_equal(result(a), "error");
	json_decref(a);
	mr_ng_calls_free(c);
}

static void
test_calls_fork(void **st)
{
	struct mr_ng_calls *c = mr_ng_calls_create(&fake_be, 100, 0);
	struct mr_ng_counts n;
	json_t *a;

	(void)st;
	memset(fs, 0, sizeof(fs));
	json_decref(cmd(c, "{\"command\":\"offer\",\"call-id\":\"f\",\"from-tag\":\"A\",\"sdp\":\""
			SDP_A "\"}"));
	/* two branches answer (183 with SDP each): one leg pair per branch */
	a = cmd(c, "{\"command\":\"answer\",\"call-id\":\"f\",\"from-tag\":\"A\",\"to-tag\":\"B1\","
		"\"sdp\":\"" SDP_B "\"}");
	assert_int_equal(sdp_port(a), 30000);
	json_decref(a);
	a = cmd(c, "{\"command\":\"answer\",\"call-id\":\"f\",\"from-tag\":\"A\",\"to-tag\":\"B2\","
		"\"sdp\":\"" SDP_C "\"}");
	assert_string_equal(result(a), "ok");
	assert_int_equal(sdp_port(a), 30004);		/* the fork's own leg 0 */
	json_decref(a);
	assert_int_equal(n_sessions(), 2);
	assert_int_equal(fs[1].remote[0].port, 4000);	/* made from the kept offer */
	assert_int_equal(fs[1].remote[1].port, 6000);
	mr_ng_calls_counts(c, &n);
	assert_int_equal(n.branches_forked, 1);
	/* B1 loses (a final failure from it): only its branch goes */
	json_decref(cmd(c, "{\"command\":\"delete\",\"call-id\":\"f\",\"from-tag\":\"A\","
			"\"to-tag\":\"B1\"}"));
	assert_int_equal(n_sessions(), 1);
	assert_true(fs[1].used);
	/* delete-delay: the call stays until the tick after the delay */
	json_decref(cmd(c, "{\"command\":\"delete\",\"call-id\":\"f\",\"from-tag\":\"A\","
			"\"delete-delay\":2}"));
	assert_int_equal(n_sessions(), 1);
	fake_now += 1000;
	mr_ng_calls_tick(c);
	assert_int_equal(n_sessions(), 1);
	fake_now += 1500;
	mr_ng_calls_tick(c);
	assert_int_equal(n_sessions(), 0);
	mr_ng_calls_counts(c, &n);
	assert_int_equal(n.calls, 0);
	mr_ng_calls_free(c);
}

static void
test_calls_cancel_and_expiry(void **st)
{
	struct mr_ng_calls *c = mr_ng_calls_create(&fake_be, 100, 0);
	struct mr_ng_counts n;

	(void)st;
	memset(fs, 0, sizeof(fs));
	json_decref(cmd(c, "{\"command\":\"offer\",\"call-id\":\"x\",\"from-tag\":\"A\",\"sdp\":\""
			SDP_A "\"}"));
	/* the 487 after a CANCEL names a to-tag mrelay never saw */
	json_decref(cmd(c, "{\"command\":\"delete\",\"call-id\":\"x\",\"from-tag\":\"A\","
			"\"to-tag\":\"unseen\"}"));
	assert_int_equal(n_sessions(), 0);
	/* a call whose session ended by itself is forgotten by the tick */
	json_decref(cmd(c, "{\"command\":\"offer\",\"call-id\":\"y\",\"from-tag\":\"A\",\"sdp\":\""
			SDP_A "\"}"));
	fs[0].active = 0;
	fake_now += 1000;
	mr_ng_calls_tick(c);
	mr_ng_calls_counts(c, &n);
	assert_int_equal(n.calls, 0);
	assert_int_equal(n.calls_expired, 1);
	mr_ng_calls_free(c);
}

/* block media / unblock media by from-tag and for the whole call; start / stop recording and
 * record-call, sessions made after the start included. */
/* A command that must succeed. */
static void
cmd_ok(struct mr_ng_calls *c, const char *json)
{
	json_t *a = cmd(c, json);

	assert_string_equal(result(a), "ok");
	json_decref(a);
}

/* An error answer whose error-reason contains want. */
static void
cmd_err(struct mr_ng_calls *c, const char *json, const char *want)
{
	json_t *a = cmd(c, json);
	const char *why = json_string_value(json_object_get(a, "error-reason"));

	assert_string_equal(result(a), "error");
	if (why == NULL || strstr(why, want) == NULL) {
		print_error("error-reason '%s', want '%s'\n", why ? why : "(none)", want);
		fail();
	}
	json_decref(a);
}

static void
test_calls_block_record(void **st)
{
	struct mr_ng_calls *c = mr_ng_calls_create(&fake_be, 100, 0);
	json_t *a;

	(void)st;
	memset(fs, 0, sizeof(fs));
	cmd_ok(c, "{\"command\":\"offer\",\"call-id\":\"b\",\"from-tag\":\"A\",\"sdp\":\""
		SDP_A "\"}");
	cmd_ok(c, "{\"command\":\"answer\",\"call-id\":\"b\",\"from-tag\":\"A\","
		"\"to-tag\":\"B\",\"sdp\":\"" SDP_B "\"}");
	/* Media from B (side 1, arriving on leg 1) is held back at leg 0. */
	cmd_ok(c, "{\"command\":\"block media\",\"call-id\":\"b\",\"from-tag\":\"B\"}");
	assert_int_equal(fs[0].blocked[0], 1);
	assert_int_equal(fs[0].blocked[1], 0);
	cmd_ok(c, "{\"command\":\"block media\",\"call-id\":\"b\"}");
	assert_int_equal(fs[0].blocked[1], 1);
	cmd_ok(c, "{\"command\":\"unblock media\",\"call-id\":\"b\",\"from-tag\":\"A\"}");
	assert_int_equal(fs[0].blocked[1], 0);
	assert_int_equal(fs[0].blocked[0], 1);
	a = cmd(c, "{\"command\":\"block media\",\"call-id\":\"b\",\"from-tag\":\"Z\"}");
	assert_string_equal(result(a), "error");
	assert_string_equal(json_string_value(json_object_get(a, "error-reason")),
			    "Unknown from-tag");
	json_decref(a);
	a = cmd(c, "{\"command\":\"block media\",\"call-id\":\"nope\"}");
	assert_string_equal(result(a), "error");
	json_decref(a);
	/* silence media: the same legs, their own flag. */
	cmd_ok(c, "{\"command\":\"silence media\",\"call-id\":\"b\",\"from-tag\":\"A\"}");
	assert_int_equal(fs[0].silenced[1], 1);
	assert_int_equal(fs[0].silenced[0], 0);
	assert_int_equal(fs[0].blocked[1], 0);
	cmd_ok(c, "{\"command\":\"unsilence media\",\"call-id\":\"b\"}");
	assert_int_equal(fs[0].silenced[1], 0);
	a = cmd(c, "{\"command\":\"silence media\",\"call-id\":\"b\",\"from-tag\":\"Z\"}");
	assert_string_equal(result(a), "error");
	json_decref(a);
	/* block DTMF: neither SDP of call b has telephone-event: nothing to hold back. */
	cmd_ok(c, "{\"command\":\"block DTMF\",\"call-id\":\"b\",\"from-tag\":\"A\"}");
	assert_int_equal(fs[0].dtmf[1], 0);
	/* A offers telephone-event 101, B answers without: B's digits are held back under
	 * A's number, A's under its own. */
	cmd_ok(c, "{\"command\":\"offer\",\"call-id\":\"d\",\"from-tag\":\"A\",\"sdp\":\""
		"v=0\\r\\no=- 1 1 IN IP4 198.18.0.10\\r\\ns=-\\r\\nc=IN IP4 198.18.0.10\\r\\n"
		"t=0 0\\r\\nm=audio 4000 RTP/AVP 0 101\\r\\na=rtpmap:101 telephone-event/8000\\r\\n"
		"a=rtpmap:102 telephone-event/16000\\r\\n\"}");
	cmd_ok(c, "{\"command\":\"answer\",\"call-id\":\"d\",\"from-tag\":\"A\","
		"\"to-tag\":\"B\",\"sdp\":\"" SDP_B "\"}");
	cmd_ok(c, "{\"command\":\"block DTMF\",\"call-id\":\"d\",\"from-tag\":\"B\"}");
	assert_int_equal(fs[1].dtmf[0], 101 + 1);
	assert_int_equal(fs[1].dtmf[1], 0);
	cmd_ok(c, "{\"command\":\"block DTMF\",\"call-id\":\"d\",\"from-tag\":\"A\"}");
	assert_int_equal(fs[1].dtmf[1], 101 + 1);	/* 102 is not in the format list */
	cmd_ok(c, "{\"command\":\"unblock DTMF\",\"call-id\":\"d\"}");
	assert_int_equal(fs[1].dtmf[0] + fs[1].dtmf[1], 0);

	cmd_ok(c, "{\"command\":\"start recording\",\"call-id\":\"b\"}");
	assert_int_equal(fs[0].recorded, 1);
	cmd_ok(c, "{\"command\":\"stop recording\",\"call-id\":\"b\"}");
	assert_int_equal(fs[0].recorded, 0);
	a = cmd(c, "{\"command\":\"start recording\",\"call-id\":\"nope\"}");
	assert_string_equal(result(a), "error");
	json_decref(a);
	/* record-call on an offer: its sessions are recorded as they are made. */
	a = cmd(c, "{\"command\":\"offer\",\"call-id\":\"r\",\"from-tag\":\"A\",\"sdp\":\""
		SDP_A "\",\"record call\":\"yes\"}");
	assert_string_equal(result(a), "ok");
	assert_null(json_object_get(a, "warning"));
	json_decref(a);
	assert_int_equal(fs[2].recorded, 1);	/* (fs[1] is call d's) */
	mr_ng_calls_free(c);
}

static const char *
reason(const json_t *a)
{
	return json_string_value(json_object_get(a, "error-reason"));
}

/* play media / stop media: the party's leg, the first codec of its SDP that mrelay plays,
 * rtpengine's defaults for repeat-times and repeat-duration, the refusals. */
static void
test_calls_play_media(void **st)
{
	struct mr_ng_calls *c = mr_ng_calls_create(&fake_be, 100, 0);
	json_t *a;

	(void)st;
	memset(fs, 0, sizeof(fs));
	memset(&fake_play, 0, sizeof(fake_play));
	/* A offers opus (dynamic 111) first, then PCMA; B answers G.729 then PCMU. */
	cmd_ok(c, "{\"command\":\"offer\",\"call-id\":\"p\",\"from-tag\":\"A\",\"sdp\":\""
		"v=0\\r\\no=- 1 1 IN IP4 198.18.0.10\\r\\ns=-\\r\\nc=IN IP4 198.18.0.10\\r\\n"
		"t=0 0\\r\\nm=audio 4000 RTP/AVP 111 8\\r\\na=rtpmap:111 opus/48000/2\\r\\n\"}");
	/* Early media: B's 183 answers before the 200 (play to the caller still works). */
	a = cmd(c, "{\"command\":\"play media\",\"call-id\":\"p\",\"from-tag\":\"A\","
		"\"file\":\"x.ogg\"}");
	assert_string_equal(result(a), "ok");
	assert_int_equal(json_integer_value(json_object_get(a, "duration")), 1060);
	json_decref(a);
	assert_int_equal(fake_play.leg, 0);
	assert_int_equal(fake_play.codec, MR_NGSDP_PLAY_OPUS);
	assert_int_equal(fake_play.pt, 111);
	assert_int_equal(fake_play.times, 1);
	cmd_ok(c, "{\"command\":\"answer\",\"call-id\":\"p\",\"from-tag\":\"A\","
		"\"to-tag\":\"B\",\"sdp\":\""
		"v=0\\r\\no=- 1 1 IN IP4 198.18.0.11\\r\\ns=-\\r\\nc=IN IP4 198.18.0.11\\r\\n"
		"t=0 0\\r\\nm=audio 5000 RTP/AVP 18 0\\r\\n\"}");
	cmd_ok(c, "{\"command\":\"play media\",\"call-id\":\"p\",\"from-tag\":\"B\","
		"\"file\":\"x.ogg\",\"repeat-duration\":\"5000\",\"start-pos\":3}");
	assert_int_equal(fake_play.leg, 1);
	assert_int_equal(fake_play.codec, MR_NGSDP_PLAY_PCMU);
	assert_int_equal(fake_play.pt, 0);
	assert_int_equal(fake_play.times, 0);		/* repeat-duration alone: until it ends */
	assert_int_equal(fake_play.ms, 5000);
	assert_int_equal(fake_play.start, 3);
	cmd_ok(c, "{\"command\":\"play media\",\"call-id\":\"p\",\"flags\":[\"all\"],"
		"\"file\":\"x.ogg\",\"repeat-times\":4,\"repeat-duration\":9000}");
	assert_int_equal(fake_play.n, 4);		/* both parties */
	assert_int_equal(fake_play.times, 4);
	a = cmd(c, "{\"command\":\"stop media\",\"call-id\":\"p\",\"from-tag\":\"B\"}");
	assert_string_equal(result(a), "ok");
	assert_int_equal(json_integer_value(json_object_get(a, "last-frame-pos")), 17);
	json_decref(a);
	assert_int_equal(fake_play.playing[0][1], 0);
	assert_int_equal(fake_play.playing[0][0], 1);
	a = cmd(c, "{\"command\":\"stop media\",\"call-id\":\"p\",\"from-tag\":\"B\"}");
	assert_string_equal(result(a), "error");
	json_decref(a);
	/* Refusals, each with its reason. */
	{
		static const struct { const char *req, *why; } bad[] = {
			{ "\"from-tag\":\"A\"", "needs one of file and blob" },
			{ "\"from-tag\":\"A\",\"file\":\"x\",\"blob\":\"y\"",
			  "needs one of file and blob" },
			{ "\"from-tag\":\"A\",\"db-id\":7", "db-id: no media database" },
			{ "\"file\":\"x.ogg\"", "needs from-tag or the flag all" },
			{ "\"from-tag\":\"Z\",\"file\":\"x.ogg\"", "Unknown from-tag" },
			{ "\"from-tag\":\"A\",\"file\":\"missing.ogg\"",
			  "play media: file: no such file" },
			{ "\"from-tag\":\"A\",\"file\":\"x\",\"repeat-times\":-1",
			  "repeat-times: must be an integer" },
			{ "\"from-tag\":\"A\",\"file\":\"x\",\"repeat-duration\":\"9x\"",
			  "repeat-duration: must be an integer" },
			{ "\"from-tag\":\"A\",\"file\":7", "file: wrong type" },
		};
		unsigned int i;
		char req[256];

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(req, sizeof(req), "{\"command\":\"play media\",\"call-id\":"
				 "\"p\",%s}", bad[i].req);
			a = cmd(c, req);
			assert_string_equal(result(a), "error");
			if (strstr(reason(a), bad[i].why) == NULL)
				fail_msg("%s: '%s', want '%s'", bad[i].req, reason(a), bad[i].why);
			json_decref(a);
		}
	}
	/* A party whose SDP has no codec mrelay plays (G.729 only). */
	cmd_ok(c, "{\"command\":\"offer\",\"call-id\":\"q\",\"from-tag\":\"A\",\"sdp\":\""
		"v=0\\r\\no=- 1 1 IN IP4 198.18.0.10\\r\\ns=-\\r\\nc=IN IP4 198.18.0.10\\r\\n"
		"t=0 0\\r\\nm=audio 4000 RTP/AVP 18\\r\\n\"}");
	a = cmd(c, "{\"command\":\"play media\",\"call-id\":\"q\",\"from-tag\":\"A\","
		"\"file\":\"x.ogg\"}");
	assert_string_equal(result(a), "error");
	assert_non_null(strstr(reason(a), "none of PCMU, PCMA and opus"));
	json_decref(a);
	mr_ng_calls_free(c);
}

static void
test_calls_flags(void **st)
{
	struct mr_ng_calls *c = mr_ng_calls_create(&fake_be, 1, 0);
	struct mr_ng_counts n;
	const char *sdp;
	json_t *a;

	(void)st;
	memset(fs, 0, sizeof(fs));
	a = cmd(c, "{\"command\":\"offer\",\"call-id\":\"s\",\"from-tag\":\"A\",\"sdp\":\"" SDP_A
		"\",\"transport-protocol\":\"RTP/SAVP\",\"flags\":[\"bogus-flag\","
		"\"codec-strip-PCMU\"],\"replace\":[\"origin\"],\"rtcp-mux\":[\"demux\"],"
		"\"weird key\":1}");
	assert_string_equal(result(a), "ok");
	sdp = json_string_value(json_object_get(a, "sdp"));
	assert_non_null(strstr(sdp, "m=audio 30002 RTP/SAVP 8\r\n"));
	assert_non_null(strstr(sdp, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:KEY01"));
	assert_non_null(strstr(sdp, "o=- 1 1 IN IP4 198.18.0.1"));
	assert_true(fs[0].req.legs[1].srtp.present);
	assert_false(fs[0].req.legs[0].srtp.present);
	json_decref(a);
	mr_ng_calls_counts(c, &n);
	assert_int_equal(n.unknown_flags, 1);
	assert_int_equal(n.unknown_keys, 1);
	/* the call limit is an ng error */
	a = cmd(c, "{\"command\":\"offer\",\"call-id\":\"s2\",\"from-tag\":\"A\",\"sdp\":\""
		SDP_A "\"}");
	assert_string_equal(result(a), "error");
	json_decref(a);
	/* the SRTP answer: B's key becomes leg 1's remote key */
	a = cmd(c, "{\"command\":\"answer\",\"call-id\":\"s\",\"from-tag\":\"A\",\"to-tag\":\"B\","
		"\"sdp\":\"v=0\\r\\no=- 1 1 IN IP4 198.18.0.11\\r\\ns=-\\r\\n"
		"c=IN IP4 198.18.0.11\\r\\nt=0 0\\r\\nm=audio 5000 RTP/SAVP 8\\r\\n"
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
		"inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\\r\\n\"}");
	assert_string_equal(result(a), "ok");
	sdp = json_string_value(json_object_get(a, "sdp"));
	assert_non_null(strstr(sdp, "m=audio 30000 RTP/AVP 8\r\n"));
	assert_null(strstr(sdp, "a=crypto"));
	json_decref(a);
	assert_int_equal(fs[0].patches, 1);
	mr_ng_calls_free(c);
}


/* A browser's offer as Chromium writes one (trimmed): DTLS-SRTP, ICE, BUNDLE, a mid. */
#define SDP_WEBRTC(setup, fp) "v=0\\r\\no=- 9 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\nt=0 0\\r\\n" \
	"a=group:BUNDLE 0\\r\\n" fp "m=audio 9 UDP/TLS/RTP/SAVPF 111\\r\\n" \
	"c=IN IP4 0.0.0.0\\r\\na=rtcp:9 IN IP4 0.0.0.0\\r\\n" \
	"a=candidate:1 1 udp 2122260223 198.18.0.10 40000 typ host\\r\\n" \
	"a=ice-ufrag:abcd\\r\\na=ice-pwd:0123456789012345678901\\r\\n" \
	"a=ice-options:trickle\\r\\na=setup:" setup "\\r\\na=mid:0\\r\\na=sendrecv\\r\\n" \
	"a=rtcp-mux\\r\\na=rtpmap:111 opus/48000/2\\r\\n"
#define FP_B "a=fingerprint:sha-256 12:34:56\\r\\n"
#define SDP_OPUS "v=0\\r\\no=- 1 1 IN IP4 198.18.0.11\\r\\ns=-\\r\\nc=IN IP4 198.18.0.11\\r\\n" \
	"t=0 0\\r\\nm=audio 5000 RTP/AVP 111\\r\\na=rtpmap:111 opus/48000/2\\r\\n"


/* play DTMF: the digits go towards the other party of from-tag's, in the telephone-event type
 * and clock of the receiver's SDP (else the sender's); rtpengine's defaults; refusals. */
static void
test_calls_play_dtmf(void **st)
{
	struct mr_ng_calls *c = mr_ng_calls_create(&fake_be, 100, 0);
	json_t *a;

	(void)st;
	memset(fs, 0, sizeof(fs));
	memset(&fake_play, 0, sizeof(fake_play));
	cmd_ok(c, "{\"command\":\"offer\",\"call-id\":\"t\",\"from-tag\":\"A\",\"sdp\":\""
		"v=0\\r\\no=- 1 1 IN IP4 198.18.0.10\\r\\ns=-\\r\\nc=IN IP4 198.18.0.10\\r\\n"
		"t=0 0\\r\\nm=audio 4000 RTP/AVP 111 110\\r\\na=rtpmap:111 opus/48000/2\\r\\n"
		"a=rtpmap:110 telephone-event/48000\\r\\n\"}");
	cmd_ok(c, "{\"command\":\"answer\",\"call-id\":\"t\",\"from-tag\":\"A\","
		"\"to-tag\":\"B\",\"sdp\":\""
		"v=0\\r\\no=- 1 1 IN IP4 198.18.0.11\\r\\ns=-\\r\\nc=IN IP4 198.18.0.11\\r\\n"
		"t=0 0\\r\\nm=audio 5000 RTP/AVP 0 101\\r\\na=rtpmap:101 telephone-event/8000"
		"\\r\\n\"}");
	a = cmd(c, "{\"command\":\"play DTMF\",\"call-id\":\"t\",\"from-tag\":\"A\","
		"\"code\":\"12#\"}");
	assert_string_equal(result(a), "ok");
	json_decref(a);
	assert_int_equal(fake_play.leg, 1);
	assert_int_equal(fake_play.codec, MR_NGSDP_PLAY_DTMF);
	assert_int_equal(fake_play.pt, 101);
	assert_int_equal(fake_play.rate, 8000);
	assert_string_equal(fake_play.digits, "12#");
	assert_int_equal(fake_play.vol, 8);
	assert_int_equal(fake_play.dur, 100);
	assert_int_equal(fake_play.pause, 50);
	a = cmd(c, "{\"command\":\"play DTMF\",\"call-id\":\"t\",\"from-tag\":\"B\","
		"\"code\":11,\"volume\":20,\"duration\":\"250\",\"pause\":0}");
	assert_string_equal(result(a), "ok");
	json_decref(a);
	assert_int_equal(fake_play.leg, 0);
	assert_int_equal(fake_play.pt, 110);
	assert_int_equal(fake_play.rate, 48000);
	assert_string_equal(fake_play.digits, "#");
	assert_int_equal(fake_play.vol, 20);
	assert_int_equal(fake_play.dur, 250);
	assert_int_equal(fake_play.pause, 0);
	assert_int_equal(fake_play.n, 2);
	/* Refusals: nothing played. */
	cmd_err(c, "{\"command\":\"play DTMF\",\"call-id\":\"t\",\"code\":\"1\"}",
		"needs from-tag");
	cmd_err(c, "{\"command\":\"play DTMF\",\"call-id\":\"t\",\"from-tag\":\"A\"}",
		"needs code");
	cmd_err(c, "{\"command\":\"play DTMF\",\"call-id\":\"t\",\"from-tag\":\"A\","
		"\"code\":16}", "code: must be");
	cmd_err(c, "{\"command\":\"play DTMF\",\"call-id\":\"t\",\"from-tag\":\"A\","
		"\"code\":\"1\",\"volume\":64}", "volume: must be an integer from 0 to 63");
	cmd_err(c, "{\"command\":\"play DTMF\",\"call-id\":\"t\",\"from-tag\":\"A\","
		"\"code\":\"1\",\"pause\":1001}", "pause: must be an integer from 0 to 1000");
	cmd_err(c, "{\"command\":\"play DTMF\",\"call-id\":\"t\",\"from-tag\":\"Z\","
		"\"code\":\"1\"}", "Unknown from-tag");
	assert_int_equal(fake_play.n, 2);
	/* Neither side has telephone-event: an error saying so. */
	cmd_ok(c, "{\"command\":\"offer\",\"call-id\":\"u\",\"from-tag\":\"A\",\"sdp\":\""
		SDP_A "\"}");
	cmd_ok(c, "{\"command\":\"answer\",\"call-id\":\"u\",\"from-tag\":\"A\","
		"\"to-tag\":\"B\",\"sdp\":\"" SDP_B "\"}");
	cmd_err(c, "{\"command\":\"play DTMF\",\"call-id\":\"u\",\"from-tag\":\"A\","
		"\"code\":\"1\"}", "no telephone-event in either party's SDP");
	mr_ng_calls_free(c);
}


/* Music on hold: the holder's file plays to the other side while its offers hold (sendonly,
 * inactive, a zero address), until one takes the call off hold. */
static void
test_calls_moh(void **st)
{
	struct mr_ng_calls *c = mr_ng_calls_create(&fake_be, 100, 0);
	json_t *a;

	(void)st;
	memset(fs, 0, sizeof(fs));
	memset(&fake_play, 0, sizeof(fake_play));
	cmd_ok(c, "{\"command\":\"offer\",\"call-id\":\"m\",\"from-tag\":\"A\",\"sdp\":\""
		SDP_A "\",\"moh\":{\"file\":\"hold.ogg\",\"connection\":\"zero\"}}");
	cmd_ok(c, "{\"command\":\"answer\",\"call-id\":\"m\",\"from-tag\":\"A\","
		"\"to-tag\":\"B\",\"sdp\":\"" SDP_B "\"}");
	assert_int_equal(fake_play.n, 0);
	/* Session-level a=sendonly holds every section. */
	a = cmd(c, "{\"command\":\"offer\",\"call-id\":\"m\",\"from-tag\":\"A\",\"sdp\":\""
		"v=0\\r\\no=- 1 2 IN IP4 198.18.0.10\\r\\ns=-\\r\\nc=IN IP4 198.18.0.10\\r\\n"
		"t=0 0\\r\\na=sendonly\\r\\nm=audio 4000 RTP/AVP 0 8\\r\\n\"}");
	assert_string_equal(result(a), "ok");
	assert_null(json_object_get(a, "warning"));
	json_decref(a);
	assert_int_equal(fake_play.n, 1);
	assert_int_equal(fake_play.leg, 1);
	assert_int_equal(fake_play.codec, MR_NGSDP_PLAY_PCMU);
	assert_int_equal(fake_play.times, 1000000);
	assert_true(fake_play.playing[fake_play.sess][1]);
	/* Still on hold (inactive): nothing new. */
	cmd_ok(c, "{\"command\":\"offer\",\"call-id\":\"m\",\"from-tag\":\"A\",\"sdp\":\""
		"v=0\\r\\no=- 1 3 IN IP4 198.18.0.10\\r\\ns=-\\r\\nc=IN IP4 198.18.0.10\\r\\n"
		"t=0 0\\r\\nm=audio 4000 RTP/AVP 0 8\\r\\na=inactive\\r\\n\"}");
	assert_int_equal(fake_play.n, 1);
	/* The callee's own re-INVITE does not touch it; the caller's sendrecv ends it. */
	cmd_ok(c, "{\"command\":\"offer\",\"call-id\":\"m\",\"from-tag\":\"B\","
		"\"to-tag\":\"A\",\"sdp\":\"" SDP_B "\"}");
	assert_true(fake_play.playing[fake_play.sess][1]);
	cmd_ok(c, "{\"command\":\"offer\",\"call-id\":\"m\",\"from-tag\":\"A\",\"sdp\":\""
		SDP_A "\"}");
	assert_false(fake_play.playing[fake_play.sess][1]);
	assert_int_equal(fake_play.n, 1);
	/* Held again: again. */
	cmd_ok(c, "{\"command\":\"offer\",\"call-id\":\"m\",\"from-tag\":\"A\",\"sdp\":\""
		"v=0\\r\\no=- 1 4 IN IP4 0.0.0.0\\r\\ns=-\\r\\nc=IN IP4 0.0.0.0\\r\\n"
		"t=0 0\\r\\nm=audio 4000 RTP/AVP 0 8\\r\\n\"}");
	assert_int_equal(fake_play.n, 2);
	cmd_err(c, "{\"command\":\"offer\",\"call-id\":\"m2\",\"from-tag\":\"A\",\"sdp\":\""
		SDP_A "\",\"moh\":{\"db-id\":3}}", "moh: give file");
	mr_ng_calls_free(c);
}

static void
test_calls_webrtc(void **st)
{
	struct mr_ng_calls *c = mr_ng_calls_create(&fake_be, 8, 0);
	static struct mr_ngsdp sdp;
	const char *t;
	char err[128];
	json_t *a;

	(void)st;
	memset(fs, 0, sizeof(fs));
	/* The parser: session-level fingerprint for every section, setup, mid, BUNDLE. */
	t = "v=0\r\ns=-\r\na=group:BUNDLE 0\r\na=fingerprint:sha-256 AB\r\n"
	    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=setup:actpass\r\na=mid:0\r\n"
	    "m=audio 9 RTP/AVP 0\r\na=fingerprint:sha-1 CD\r\n";
	assert_int_equal(mr_ngsdp_parse(t, strlen(t), &sdp, err, sizeof(err)), 0);
	assert_true(sdp.bundle);
	assert_true(sdp.media[0].dtls);
	assert_false(sdp.media[1].dtls);
	assert_string_equal(sdp.media[0].fingerprint, "sha-256 AB");
	assert_string_equal(sdp.media[1].fingerprint, "sha-1 CD");
	assert_string_equal(sdp.media[0].setup, "actpass");
	assert_string_equal(sdp.media[0].mid, "0");
	assert_string_equal(sdp.media[1].mid, "");

	/* The browser offers; RTP/AVP towards the SIP side: leg 0 is WebRTC with the
	 * browser's fingerprint and no remote (ICE chooses it), the session muxes. */
	a = cmd(c, "{\"command\":\"offer\",\"call-id\":\"w\",\"from-tag\":\"A\",\"sdp\":\""
		SDP_WEBRTC("actpass", FP_B) "\",\"transport-protocol\":\"RTP/AVP\","
		"\"ICE\":\"remove\"}");
	assert_string_equal(result(a), "ok");
	t = json_string_value(json_object_get(a, "sdp"));
	assert_non_null(strstr(t, "m=audio 30002 RTP/AVP 111\r\n"));
	assert_non_null(strstr(t, "a=rtcp-mux\r\n"));
	assert_null(strstr(t, "a=fingerprint"));
	assert_null(strstr(t, "a=setup"));
	assert_null(strstr(t, "a=ice"));
	assert_null(strstr(t, "a=candidate"));
	assert_true(fs[0].req.legs[0].webrtc);
	assert_false(fs[0].req.legs[0].has_remote);
	assert_string_equal(fs[0].fp[0], "sha-256 12:34:56");
	assert_false(fs[0].req.legs[1].webrtc);
	assert_true(fs[0].req.rtcp_mux);
	json_decref(a);
	/* The SIP side answers plain without a mid: the browser gets ICE-lite, mrelay's
	 * credentials and fingerprint, setup passive, its mid and BUNDLE group. */
	a = cmd(c, "{\"command\":\"answer\",\"call-id\":\"w\",\"from-tag\":\"A\","
		"\"to-tag\":\"B\",\"sdp\":\"" SDP_OPUS "\"}");
	assert_string_equal(result(a), "ok");
	t = json_string_value(json_object_get(a, "sdp"));
	assert_non_null(strstr(t, "a=group:BUNDLE 0\r\na=ice-lite\r\nm=audio 30000 "
			       "UDP/TLS/RTP/SAVPF 111\r\n"));
	assert_non_null(strstr(t, "a=rtcp-mux\r\na=mid:0\r\na=ice-ufrag:UFRAG00\r\n"
			       "a=ice-pwd:PWD00xxxxxxxxxxxxxxxxxx\r\n"
			       "a=fingerprint:sha-256 AA:BB\r\na=setup:passive\r\n"
			       "a=candidate:1 1 udp 2130706431 198.18.0.1 30000 typ host\r\n"
			       "a=end-of-candidates\r\n"));
	assert_null(strstr(t, "a=crypto"));
	json_decref(a);
	/* A re-offer from the browser with the same certificate patches nothing of the
	 * DTLS; with another one the leg gets it (a new handshake). A side cannot turn from
	 * DTLS-SRTP to RTP/AVP. */
	a = cmd(c, "{\"command\":\"offer\",\"call-id\":\"w\",\"from-tag\":\"A\",\"sdp\":\""
		SDP_WEBRTC("actpass", "a=fingerprint:sha-256 77:88\\r\\n") "\","
		"\"transport-protocol\":\"RTP/AVP\"}");
	assert_string_equal(result(a), "ok");
	assert_string_equal(fs[0].fp[0], "sha-256 77:88");
	json_decref(a);
	a = cmd(c, "{\"command\":\"offer\",\"call-id\":\"w\",\"from-tag\":\"A\",\"sdp\":\""
		SDP_A "\"}");
	assert_string_equal(result(a), "error");
	assert_non_null(strstr(json_string_value(json_object_get(a, "error-reason")),
			       "cannot change between DTLS-SRTP"));
	json_decref(a);

	/* What mrelay cannot do is an error naming it. */
	a = cmd(c, "{\"command\":\"offer\",\"call-id\":\"x1\",\"from-tag\":\"A\",\"sdp\":\""
		SDP_WEBRTC("actpass", "") "\"}");
	assert_string_equal(result(a), "error");
	assert_non_null(strstr(json_string_value(json_object_get(a, "error-reason")),
			       "without a=fingerprint"));
	json_decref(a);
	a = cmd(c, "{\"command\":\"offer\",\"call-id\":\"x2\",\"from-tag\":\"A\",\"sdp\":\""
		SDP_WEBRTC("passive", FP_B) "\"}");
	assert_string_equal(result(a), "error");
	assert_non_null(strstr(json_string_value(json_object_get(a, "error-reason")),
			       "a=setup:passive"));
	json_decref(a);
	a = cmd(c, "{\"command\":\"offer\",\"call-id\":\"x3\",\"from-tag\":\"A\",\"sdp\":\""
		SDP_WEBRTC("actpass", FP_B) "\",\"DTLS\":\"off\"}");
	assert_string_equal(result(a), "error");
	assert_non_null(strstr(json_string_value(json_object_get(a, "error-reason")),
			       "DTLS=off"));
	json_decref(a);

	/* The other way: a SIP caller to a browser. mrelay offers actpass, a mid of its own
	 * and a BUNDLE group; the browser's answer brings its fingerprint to leg 1. */
	a = cmd(c, "{\"command\":\"offer\",\"call-id\":\"y\",\"from-tag\":\"S\",\"sdp\":\""
		SDP_OPUS "\",\"transport-protocol\":\"UDP/TLS/RTP/SAVPF\",\"ICE\":\"force\"}");
	assert_string_equal(result(a), "ok");
	t = json_string_value(json_object_get(a, "sdp"));
	assert_non_null(strstr(t, "a=group:BUNDLE 0\r\na=ice-lite\r\n"));
	assert_non_null(strstr(t, "UDP/TLS/RTP/SAVPF 111\r\n"));
	assert_non_null(strstr(t, "a=mid:0\r\n"));
	assert_non_null(strstr(t, "a=setup:actpass\r\n"));
	json_decref(a);
	a = cmd(c, "{\"command\":\"answer\",\"call-id\":\"y\",\"from-tag\":\"S\","
		"\"to-tag\":\"W\",\"sdp\":\"" SDP_WEBRTC("active", FP_B) "\"}");
	assert_string_equal(result(a), "ok");
	t = json_string_value(json_object_get(a, "sdp"));
	assert_non_null(strstr(t, "RTP/AVP 111\r\n"));
	assert_null(strstr(t, "a=fingerprint"));
	json_decref(a);
	{
		unsigned int i;
		int seen = 0;

		for (i = 0; i < 64; i++)
			if (fs[i].used && fs[i].req.legs[1].webrtc &&
			    strcmp(fs[i].fp[1], "sha-256 12:34:56") == 0)
				seen = 1;
		assert_true(seen);
	}
	mr_ng_calls_free(c);
}

static void
test_proto_messages(void **st)
{
	struct mr_ng_calls *c = mr_ng_calls_create(&fake_be, 10, 0);
	struct mr_ng_cache *k = mr_ng_cache_create(4, 1000);
	struct mr_ng_proto_counts pc = { 0 };
	struct mr_bbuf b = { 0 };
	const char *ping = "ck1 d7:command4:pinge";

	(void)st;
	assert_int_equal(mr_ng_message(c, k, &pc, ping, strlen(ping), 0, &b), 0);
	mr_bbuf_put(&b, "", 1);
	assert_string_equal(b.p, "ck1 d6:result4:ponge");
	b.len = 0;
	assert_int_equal(mr_ng_message(c, k, &pc, ping, strlen(ping), 10, &b), 0);
	assert_int_equal(pc.retransmissions, 1);
	b.len = 0;
	/* past the TTL it runs again */
	assert_int_equal(mr_ng_message(c, k, &pc, ping, strlen(ping), 2000, &b), 0);
	assert_int_equal(pc.retransmissions, 1);
	b.len = 0;
	assert_int_equal(mr_ng_message(c, k, &pc, "nocookie", 8, 0, &b), -1);
	assert_int_equal(mr_ng_message(c, k, &pc, "ck2 d7:comm", 11, 0, &b), 0);
	mr_bbuf_put(&b, "", 1);
	assert_non_null(strstr(b.p, "ck2 d12:error-reason"));
	assert_non_null(strstr(b.p, "truncated"));
	b.len = 0;
	assert_int_equal(mr_ng_message(c, k, &pc, "ck3 {\"command\":\"ping\"}", 22, 0, &b), 0);
	mr_bbuf_put(&b, "", 1);
	assert_string_equal(b.p, "ck3 {\"result\":\"pong\"}");
	assert_int_equal(pc.malformed, 2);
	assert_int_equal(pc.json, 1);
	/* stream framing */
	assert_int_equal(mr_ng_frame_len(ping, 10), 0);
	assert_int_equal(mr_ng_frame_len(ping, strlen(ping)), (long)strlen(ping));
	assert_int_equal(mr_ng_frame_len("ck x", 4), -1);
	mr_bbuf_free(&b);
	mr_ng_cache_free(k);
	mr_ng_calls_free(c);
}

static void
test_cache_bounds(void **st)
{
	struct mr_ng_cache *k = mr_ng_cache_create(3, 1000);
	char ck[8];
	size_t len;
	unsigned int i;

	(void)st;
	for (i = 0; i < 5; i++) {
		snprintf(ck, sizeof(ck), "c%u", i);
		mr_ng_cache_put(k, ck, 2, "ans", 3, i);
	}
	assert_int_equal(mr_ng_cache_size(k), 3);
	assert_null(mr_ng_cache_get(k, "c0", 2, 5, &len));
	assert_non_null(mr_ng_cache_get(k, "c4", 2, 5, &len));
	mr_ng_cache_put(k, "c4", 2, "new", 3, 6);
	assert_memory_equal(mr_ng_cache_get(k, "c4", 2, 6, &len), "new", 3);
	assert_null(mr_ng_cache_get(k, "c4", 2, 2000, &len));
	mr_ng_cache_free(k);
}

/* A call's record (what the state store writes to Redis) makes the same call again in a new
 * model (a restart): the next re-INVITE patches the same sessions, the delete ends them. */
static void
test_calls_record_restore(void **st)
{
	struct mr_ng_calls *c = mr_ng_calls_create(&fake_be, 100, 0), *c2;
	struct mr_ng_counts n;
	json_t *rec, *rec2, *a, *bad;
	char err[256];
	unsigned int ch;

	(void)st;
	memset(fs, 0, sizeof(fs));
	fake_changes = 0;
	json_decref(cmd(c, "{\"command\":\"offer\",\"call-id\":\"r\",\"from-tag\":\"A\",\"sdp\":\""
			SDP_A "\",\"label\":\"caller\"}"));
	assert_int_equal(fake_changes, 1);
	assert_string_equal(fake_changed_id, "r");
	json_decref(cmd(c, "{\"command\":\"answer\",\"call-id\":\"r\",\"from-tag\":\"A\","
			"\"to-tag\":\"B1\",\"sdp\":\"" SDP_B "\"}"));
	json_decref(cmd(c, "{\"command\":\"answer\",\"call-id\":\"r\",\"from-tag\":\"A\","
			"\"to-tag\":\"B2\",\"sdp\":\"" SDP_C "\"}"));
	json_decref(cmd(c, "{\"command\":\"start recording\",\"call-id\":\"r\"}"));
	/* the loser of the fork: deleted in 5 s */
	json_decref(cmd(c, "{\"command\":\"delete\",\"call-id\":\"r\",\"from-tag\":\"A\","
			"\"to-tag\":\"B1\",\"delete-delay\":5}"));
	assert_int_equal(fake_changes, 5);
	/* a query or a ping changes nothing */
	json_decref(cmd(c, "{\"command\":\"query\",\"call-id\":\"r\"}"));
	json_decref(cmd(c, "{\"command\":\"ping\"}"));
	assert_int_equal(fake_changes, 5);
	assert_null(mr_ng_calls_record(c, "nosuch"));
	rec = mr_ng_calls_record(c, "r");
	assert_non_null(rec);
	assert_int_equal(json_array_size(json_object_get(rec, "branches")), 2);
	assert_int_equal(n_sessions(), 2);

	/* the restart: the sessions are there (restored on their own), the model is new */
	ch = fake_changes;
	mr_ng_calls_free(c);		/* a stop: its sessions end, but no change is told */
	assert_int_equal(fake_changes, ch);
	fs[0].used = fs[1].used = 1;
	fake_now += 1000;
	c2 = mr_ng_calls_create(&fake_be, 100, 0);
	assert_int_equal(mr_ng_calls_restore(c2, "r", rec, err, sizeof(err)), 0);
	assert_int_equal(fake_changes, ch);		/* restoring is not a change */
	assert_int_equal(mr_ng_calls_restore(c2, "r", rec, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exists"));
	mr_ng_calls_counts(c2, &n);
	assert_int_equal(n.calls, 1);
	assert_int_equal(n.calls_created, 0);
	rec2 = mr_ng_calls_record(c2, "r");
	/* the same record: the delete-delay counts from the restore (the time between the
	 * write and the restart is not known) */
	assert_true(json_equal(rec, rec2));
	json_decref(rec2);
	/* a re-INVITE from B2 patches session 1, the one of its branch */
	a = cmd(c2, "{\"command\":\"offer\",\"call-id\":\"r\",\"from-tag\":\"B2\","
		"\"to-tag\":\"A\",\"sdp\":\"" SDP_B "\"}");
	assert_string_equal(result(a), "ok");
	assert_int_equal(sdp_port(a), 30004);
	json_decref(a);
	assert_int_equal(fs[1].patches, 1);
	assert_int_equal(fs[1].remote[1].port, 5000);
	assert_int_equal(n_sessions(), 2);
	/* the delay of the loser runs out: session 0 ends */
	fake_now += 4900;
	mr_ng_calls_tick(c2);
	assert_true(fs[0].used);
	fake_now += 200;
	mr_ng_calls_tick(c2);
	assert_false(fs[0].used);
	assert_true(fs[1].used);
	a = cmd(c2, "{\"command\":\"delete\",\"call-id\":\"r\",\"from-tag\":\"A\"}");
	assert_null(json_object_get(a, "warning"));
	json_decref(a);
	assert_int_equal(n_sessions(), 0);
	assert_null(mr_ng_calls_record(c2, "r"));

	/* records that make nothing, and end no session */
	fs[0].used = fs[1].used = 1;
	bad = json_deep_copy(rec);
	json_object_set_new(bad, "v", json_integer(9));
	assert_int_equal(mr_ng_calls_restore(c2, "r", bad, err, sizeof(err)), -1);
	json_decref(bad);
	bad = json_deep_copy(rec);
	json_array_set_new(json_object_get(json_array_get(json_object_get(bad, "branches"), 1),
					   "media"), 0,
			   json_pack("{s:s,s:s,s:[s,s]}", "id", "1", "type", "audio", "local",
				     "198.18.0.1:1", "not an address"));
	assert_int_equal(mr_ng_calls_restore(c2, "r", bad, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "local"));
	json_decref(bad);
	bad = json_pack("{s:i,s:[]}", "v", 1, "branches");
	assert_int_equal(mr_ng_calls_restore(c2, "r", bad, err, sizeof(err)), -1);
	json_decref(bad);
	assert_int_equal(mr_ng_calls_restore(c2, "", rec, err, sizeof(err)), -1);
	assert_true(fs[0].used && fs[1].used);
	mr_ng_calls_counts(c2, &n);
	assert_int_equal(n.calls, 0);
	/* forgetting (a fenced node) ends no session either */
	assert_int_equal(mr_ng_calls_restore(c2, "r", rec, err, sizeof(err)), 0);
	ch = fake_changes;
	mr_ng_calls_forget(c2);
	assert_int_equal(fake_changes, ch);
	assert_true(fs[0].used && fs[1].used);
	assert_null(mr_ng_calls_record(c2, "r"));
	json_decref(rec);
	mr_ng_calls_free(c2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bencode_ok),
		cmocka_unit_test(test_bencode_malformed),
		cmocka_unit_test(test_bencode_limits),
		cmocka_unit_test(test_bencode_encode),
		cmocka_unit_test(test_sdp_parse),
		cmocka_unit_test(test_sdp_golden),
		cmocka_unit_test(test_calls_offer_answer_reinvite_delete),
		cmocka_unit_test(test_calls_fork),
		cmocka_unit_test(test_calls_cancel_and_expiry),
		cmocka_unit_test(test_calls_flags),
		cmocka_unit_test(test_calls_block_record),
		cmocka_unit_test(test_calls_play_media),
		cmocka_unit_test(test_calls_record_restore),
		cmocka_unit_test(test_calls_play_dtmf),
		cmocka_unit_test(test_calls_moh),
		cmocka_unit_test(test_calls_webrtc),
		cmocka_unit_test(test_proto_messages),
		cmocka_unit_test(test_cache_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
