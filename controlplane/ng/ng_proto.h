/* SPDX-License-Identifier: BSD-3-Clause
 * One ng message in, one answer out (docs/NG.md "Wire format"): "COOKIE SP DICTIONARY", the
 * dictionary bencoded (or JSON, answered in JSON), the retransmission cache consulted first.
 * Transport-free and pure: ng.c feeds it UDP datagrams and TCP stream frames.
 */
#ifndef MR_NG_PROTO_H
#define MR_NG_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "ng_bencode.h"
#include "ng_cache.h"
#include "ng_calls.h"

#define MR_NG_MAX_COOKIE 128
#define MR_NG_MAX_MESSAGE 65535

struct mr_ng_proto_counts {
	uint64_t messages;		/* requests received */
	uint64_t malformed;		/* not "cookie dictionary", bad bencode or JSON */
	uint64_t retransmissions;	/* answered from the cache */
	uint64_t json;			/* requests in JSON */
};

/* Handle msg (len bytes). The answer is appended to out; 0, or -1 when there is nothing to
 * send back (no cookie to answer to). */
int mr_ng_message(struct mr_ng_calls *c, struct mr_ng_cache *cache,
		  struct mr_ng_proto_counts *pc, const char *msg, size_t len, uint64_t now_ms,
		  struct mr_bbuf *out);
/* For a stream: the length of the first complete message at buf (cookie, space, one whole
 * bencoded or JSON dictionary), 0 when more bytes are needed, -1 when it can never be one. */
long mr_ng_frame_len(const char *buf, size_t len);

#endif
