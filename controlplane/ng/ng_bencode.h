/* SPDX-License-Identifier: BSD-3-Clause
 * Bencode for the ng control protocol (docs/NG.md): a bounded parser into a node tree whose
 * strings point into the message, and an encoder of jansson values. Pure C + jansson.
 */
#ifndef MR_NG_BENCODE_H
#define MR_NG_BENCODE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

enum mr_bn_type { MR_BN_INT = 1, MR_BN_STR, MR_BN_LIST, MR_BN_DICT };

struct mr_bn {
	uint8_t type;
	uint32_t len;			/* STR: bytes; LIST/DICT: members */
	const char *s;			/* STR: the bytes, in the message (not NUL-terminated) */
	int64_t i;			/* INT */
	const char *key;		/* a dictionary member: its key, in the message */
	uint32_t klen;
	struct mr_bn *child;		/* LIST/DICT: first member */
	struct mr_bn *next;		/* the next member of the parent */
};

/* Limits of one message: nesting and nodes (a Kamailio offer has about 30). */
#define MR_BN_MAX_DEPTH 16
#define MR_BN_MAX_NODES 1024

/* Parse one bencoded value at buf[0..len) into nodes (n_nodes of them). 0 with *root and
 * *used (bytes of the value) set; -EAGAIN when buf ends inside the value (a stream needs more
 * bytes); -EINVAL when it is malformed, -E2BIG when it nests deeper than MR_BN_MAX_DEPTH or
 * needs more than n_nodes nodes; *why then says what (static text). */
int mr_bn_parse(const char *buf, size_t len, struct mr_bn *nodes, unsigned int n_nodes,
		struct mr_bn **root, size_t *used, const char **why);

/* The member of dictionary d called key, compared as mr_bn_streq does ("address family" =
 * "address-family", as rtpengine reads them). NULL if absent
 * or d is not a dictionary. */
const struct mr_bn *mr_bn_get(const struct mr_bn *d, const char *key);
/* String member, copied NUL-terminated into out (n bytes): 0, -ENOENT when absent, -EINVAL
 * when not a string, -ENAMETOOLONG when longer than n - 1. */
int mr_bn_get_str(const struct mr_bn *d, const char *key, char *out, size_t n);
/* Compare a string node with text, separators as in mr_bn_get, ASCII letters in any case
 * (rtpengine's flags are written "SIP-source-address" and "sip source address" by its own
 * clients). */
int mr_bn_streq(const char *s, size_t len, const char *text);

/* A growable output buffer. oom is set (and sticks) when an allocation failed. */
struct mr_bbuf {
	char *p;
	size_t len, cap;
	int oom;
};

void mr_bbuf_put(struct mr_bbuf *b, const void *p, size_t n);
void mr_bbuf_free(struct mr_bbuf *b);
/* Append jansson value v bencoded: objects are dictionaries (keys sorted, as the bencode
 * standard wants), arrays lists, strings strings, integers and booleans integers, reals
 * strings ("%.6f"), null an empty string. */
void mr_bencode_json(struct mr_bbuf *b, const json_t *v);

#endif
