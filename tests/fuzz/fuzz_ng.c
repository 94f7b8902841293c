/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer harness for the ng protocol's parsers (controlplane/ng/): the input, in an exactly
 * sized heap buffer, goes through
 *  - the bencode parser: a value it accepts lies inside the input, its strings too, and its
 *    member counts match the nodes; re-encoding a string member works;
 *  - the SDP parser and writer: what it accepts is written again with mrelay's endpoints, and
 *    the output parses again with the same number of media sections;
 *  - the stream framer: a frame length is never past the input;
 *  - a call record (what the state store reads back from Redis) as JSON: one that
 *    mr_ng_calls_restore() takes is written back to a record that restores again the same.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include "ng_bencode.h"
#include "ng_calls.h"
#include "ng_proto.h"
#include "ng_sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static struct mr_bn nodes[MR_BN_MAX_NODES];
static struct mr_ngsdp sdp, sdp2;

/* A backend with nothing behind it: a restored call's sessions are only ids. */
static uint64_t
no_clock(void *ctx)
{
	(void)ctx;
	return 1000;
}

static void
no_destroy(void *ctx, const char *id)
{
	(void)ctx;
	(void)id;
}

static const struct mr_ng_backend no_be = { .now_ms = no_clock, .destroy = no_destroy };

static void
record_round_trip(const char *b, size_t size)
{
	struct mr_ng_calls *c = mr_ng_calls_create(&no_be, 4, 0);
	json_t *rec = json_loadb(b, size, JSON_REJECT_DUPLICATES, NULL), *r1, *r2;
	char err[256];

	if (c != NULL && rec != NULL && mr_ng_calls_restore(c, "x", rec, err, sizeof(err)) == 0) {
		r1 = mr_ng_calls_record(c, "x");
		CHECK(r1 != NULL);
		mr_ng_calls_forget(c);
		CHECK(mr_ng_calls_restore(c, "x", r1, err, sizeof(err)) == 0);
		r2 = mr_ng_calls_record(c, "x");
		CHECK(r2 != NULL && json_equal(r1, r2));
		json_decref(r1);
		json_decref(r2);
	}
	json_decref(rec);
	mr_ng_calls_free(c);
}

static void
walk(const struct mr_bn *n, const char *b, size_t len, unsigned int depth)
{
	const struct mr_bn *m;
	unsigned int k = 0;

	CHECK(depth <= MR_BN_MAX_DEPTH);
	if (n->type == MR_BN_STR)
		CHECK(n->s >= b && n->s + n->len <= b + len);
	if (n->key != NULL)
		CHECK(n->key >= b && n->key + n->klen <= b + len);
	for (m = n->child; m != NULL; m = m->next, k++)
		walk(m, b, len, depth + 1);
	if (n->type == MR_BN_LIST || n->type == MR_BN_DICT)
		CHECK(k == n->len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *b = malloc(size ? size : 1), err[128];
	struct mr_bn *root;
	size_t used;
	const char *why;
	unsigned int k;

	memcpy(b, data, size);
	if (mr_bn_parse(b, size, nodes, MR_BN_MAX_NODES, &root, &used, &why) == 0) {
		CHECK(used <= size);
		walk(root, b, size, 0);
	}
	{
		long fl = mr_ng_frame_len(b, size);

		CHECK(fl <= (long)size);
	}
	if (mr_ngsdp_parse(b, size, &sdp, err, sizeof(err)) == 0) {
		struct mr_ngsdp_out o;
		struct mr_bbuf out = { 0 };

		memset(&o, 0, sizeof(o));
		o.replace_origin = 1;
		o.ice_remove = size & 1;
		for (k = 0; k < sdp.n_media; k++) {
			uint8_t codec = 0xff, pt = 0xff;

			/* play media's codec: one of the three, or none and -ENOENT */
			if (mr_ngsdp_play_codec(&sdp, k, &codec, &pt) == 0)
				CHECK(codec >= MR_NGSDP_PLAY_PCMU && codec <= MR_NGSDP_PLAY_OPUS &&
				      pt <= 127);
			else
				CHECK(codec == MR_NGSDP_PLAY_NONE);
			o.m[k].local.family = MR_AF4;
			o.m[k].local.a[0] = 198;
			o.m[k].local.a[1] = 18;
			o.m[k].local.port = (uint16_t)(30000 + 2 * k);
			o.m[k].rtcp_port = (size & 2) ? 0 : (uint16_t)(30001 + 2 * k);
			o.m[k].rtcp_mux = (size & 2) != 0;
			o.m[k].replace_crypto = 1;
			if ((size & 4) && sdp.media[k].dtls) {
				/* towards a browser: mrelay's ICE and DTLS lines, its mid back */
				o.m[k].ice_ufrag = "UFRAG001";
				o.m[k].ice_pwd = "PWD0123456789abcdefghijk";
				o.m[k].fingerprint = "sha-256 AA:BB";
				o.m[k].setup = "passive";
				o.m[k].mid = sdp.media[k].mid[0] ? sdp.media[k].mid : "0";
				o.bundle = o.m[k].mid;
			}
		}
		CHECK(mr_ngsdp_rewrite(&sdp, &o, &out) == 0);
		/* What is written parses again (unless the input was near the line limit: mrelay
		 * adds up to 10 lines a section and 2 at the session level); the peer's DTLS
		 * lines never pass, mrelay's replace them. */
		if (mr_ngsdp_parse(out.p, out.len, &sdp2, err, sizeof(err)) == 0) {
			CHECK(sdp2.n_media == sdp.n_media);
			for (k = 0; k < sdp2.n_media; k++)
				CHECK(o.m[k].fingerprint != NULL ?
				      strcmp(sdp2.media[k].fingerprint, "sha-256 AA:BB") == 0 :
				      sdp2.media[k].fingerprint[0] == '\0');
		} else {
			CHECK(sdp.n_lines > MR_NGSDP_MAX_LINES - 10 * sdp.n_media - 2);
		}
		mr_bbuf_free(&out);
	}
	record_round_trip(b, size);
	free(b);
	return 0;
}
