/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ng_proto.h"

static void
answer_err(struct mr_bbuf *out, const char *ck, size_t clen, int json, const char *fmt,
	   const char *why)
{
	char reason[160];
	json_t *a;

	snprintf(reason, sizeof(reason), fmt, why);
	a = json_pack("{s:s,s:s}", "result", "error", "error-reason", reason);
	mr_bbuf_put(out, ck, clen);
	mr_bbuf_put(out, " ", 1);
	if (json) {
		char *s = json_dumps(a, JSON_COMPACT);

		if (s != NULL)
			mr_bbuf_put(out, s, strlen(s));
		free(s);
	} else {
		mr_bencode_json(out, a);
	}
	json_decref(a);
}

static size_t
cookie_len(const char *msg, size_t len)
{
	size_t i;

	for (i = 0; i < len && i <= MR_NG_MAX_COOKIE; i++)
		if (msg[i] == ' ')
			return i;
	return 0;
}

int
mr_ng_message(struct mr_ng_calls *c, struct mr_ng_cache *cache,
	      struct mr_ng_proto_counts *pc, const char *msg, size_t len, uint64_t now_ms,
	      struct mr_bbuf *out)
{
	size_t clen = cookie_len(msg, len), blen, used = 0, start = out->len;
	const char *body, *cached, *why = "";
	struct mr_bn *nodes, *root = NULL;
	struct mr_bbuf conv = { 0 };
	json_t *ans, *j = NULL;
	int json = 0, rc;

	pc->messages++;
	if (clen == 0) {
		pc->malformed++;
		return -1;	/* no cookie: nobody to answer */
	}
	cached = mr_ng_cache_get(cache, msg, clen, now_ms, &blen);
	if (cached != NULL) {
		pc->retransmissions++;
		mr_bbuf_put(out, msg, clen);
		mr_bbuf_put(out, " ", 1);
		mr_bbuf_put(out, cached, blen);
		return 0;
	}
	body = msg + clen + 1;
	blen = len - clen - 1;
	if (blen > 0 && body[0] == '{') {
		json_error_t e;

		json = 1;
		pc->json++;
		j = json_loadb(body, blen, JSON_REJECT_DUPLICATES, &e);
		if (j == NULL || !json_is_object(j)) {
			pc->malformed++;
			json_decref(j);
			answer_err(out, msg, clen, 1, "malformed JSON: %s",
				   j == NULL ? e.text : "not an object");
			return 0;
		}
		/* One parser for both: the JSON dictionary bencoded. */
		mr_bencode_json(&conv, j);
		json_decref(j);
		body = conv.p;
		blen = conv.len;
	}
	nodes = malloc(MR_BN_MAX_NODES * sizeof(*nodes));
	if (nodes == NULL) {
		mr_bbuf_free(&conv);
		answer_err(out, msg, clen, json, "%s", "out of memory");
		return 0;
	}
	rc = body != NULL ? mr_bn_parse(body, blen, nodes, MR_BN_MAX_NODES, &root, &used, &why)
			  : -EINVAL;
	if (rc == 0 && used != blen) {
		rc = -EINVAL;
		why = "bytes after the dictionary";
	}
	if (rc == 0 && root->type != MR_BN_DICT) {
		rc = -EINVAL;
		why = "not a dictionary";
	}
	if (rc < 0) {
		pc->malformed++;
		answer_err(out, msg, clen, json, "malformed bencode: %s",
			   rc == -EAGAIN ? "truncated" : why);
		free(nodes);
		mr_bbuf_free(&conv);
		return 0;
	}
	ans = mr_ng_calls_command(c, root);
	free(nodes);
	mr_bbuf_free(&conv);
	mr_bbuf_put(out, msg, clen);
	mr_bbuf_put(out, " ", 1);
	if (json) {
		char *s = json_dumps(ans, JSON_COMPACT);

		if (s != NULL)
			mr_bbuf_put(out, s, strlen(s));
		free(s);
	} else {
		mr_bencode_json(out, ans);
	}
	json_decref(ans);
	if (!out->oom)
		mr_ng_cache_put(cache, msg, clen, out->p + start + clen + 1,
				out->len - start - clen - 1, now_ms);
	return 0;
}

long
mr_ng_frame_len(const char *buf, size_t len)
{
	size_t clen = cookie_len(buf, len), used = 0;
	struct mr_bn *nodes, *root;
	const char *why;
	int rc;

	if (clen == 0)
		return len > MR_NG_MAX_COOKIE ? -1 : 0;
	if (clen + 1 >= len)
		return 0;
	if (buf[clen + 1] == '{') {
		/* JSON over a stream: the object ends at the brace that balances the first,
		 * outside strings. */
		size_t i;
		int depth = 0, str = 0, esc = 0;

		for (i = clen + 1; i < len; i++) {
			char ch = buf[i];

			if (str) {
				if (esc)
					esc = 0;
				else if (ch == '\\')
					esc = 1;
				else if (ch == '"')
					str = 0;
				continue;
			}
			if (ch == '"')
				str = 1;
			else if (ch == '{')
				depth++;
			else if (ch == '}' && --depth == 0)
				return (long)(i + 1);
		}
		return len - clen - 1 > MR_NG_MAX_MESSAGE ? -1 : 0;
	}
	nodes = malloc(MR_BN_MAX_NODES * sizeof(*nodes));
	if (nodes == NULL)
		return -1;
	rc = mr_bn_parse(buf + clen + 1, len - clen - 1, nodes, MR_BN_MAX_NODES, &root, &used,
			 &why);
	free(nodes);
	if (rc == -EAGAIN)
		return len - clen - 1 > MR_NG_MAX_MESSAGE ? -1 : 0;
	if (rc < 0)
		return -1;
	return (long)(clen + 1 + used);
}
