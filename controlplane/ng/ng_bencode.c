/* SPDX-License-Identifier: BSD-3-Clause
 * Bencode (docs/NG.md "Wire format"). The parser never reads past len, never recurses
 * deeper than MR_BN_MAX_DEPTH and never allocates: the caller gives the nodes. A string's
 * length is checked against what is left of the message before anything points at it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ng_bencode.h"

struct bn_parser {
	const char *buf;
	size_t len, pos;
	struct mr_bn *nodes;
	unsigned int n_nodes, used;
	const char *why;
};

static int
bn_fail(struct bn_parser *p, int rc, const char *why)
{
	p->why = why;
	return rc;
}

/* Digits up to the terminator term: a length (no sign) or an integer (sign allowed). No
 * leading zeros ("0" itself excepted), no "-0", at most 18 digits. */
static int
bn_number(struct bn_parser *p, char term, int sign, int64_t *out)
{
	int neg = 0, nd = 0;
	int64_t v = 0;

	if (sign && p->pos < p->len && p->buf[p->pos] == '-') {
		neg = 1;
		p->pos++;
	}
	for (;;) {
		char c;

		if (p->pos >= p->len)
			return bn_fail(p, -EAGAIN, "truncated number");
		c = p->buf[p->pos];
		if (c == term)
			break;
		if (c < '0' || c > '9')
			return bn_fail(p, -EINVAL, "not a digit in a number");
		if (nd == 18)
			return bn_fail(p, -EINVAL, "number too long");
		if (nd == 1 && v == 0)
			return bn_fail(p, -EINVAL, "leading zero in a number");
		v = v * 10 + (c - '0');
		nd++;
		p->pos++;
	}
	if (nd == 0)
		return bn_fail(p, -EINVAL, "empty number");
	if (neg && v == 0)
		return bn_fail(p, -EINVAL, "negative zero");
	p->pos++;		/* the terminator */
	*out = neg ? -v : v;
	return 0;
}

static int
bn_value(struct bn_parser *p, unsigned int depth, struct mr_bn **out)
{
	struct mr_bn *n, **tail;
	int64_t v;
	char c;
	int rc;

	if (p->pos >= p->len)
		return bn_fail(p, -EAGAIN, "truncated value");
	if (p->used >= p->n_nodes)
		return bn_fail(p, -E2BIG, "too many values");
	n = &p->nodes[p->used++];
	memset(n, 0, sizeof(*n));
	*out = n;
	c = p->buf[p->pos];
	switch (c) {
	case 'i':
		p->pos++;
		rc = bn_number(p, 'e', 1, &v);
		if (rc < 0)
			return rc;
		n->type = MR_BN_INT;
		n->i = v;
		return 0;
	case 'l':
	case 'd':
		if (depth >= MR_BN_MAX_DEPTH)
			return bn_fail(p, -E2BIG, "nested too deep");
		p->pos++;
		n->type = c == 'l' ? MR_BN_LIST : MR_BN_DICT;
		tail = &n->child;
		for (;;) {
			struct mr_bn *m, *k = NULL;

			if (p->pos >= p->len)
				return bn_fail(p, -EAGAIN, "truncated list or dictionary");
			if (p->buf[p->pos] == 'e') {
				p->pos++;
				return 0;
			}
			if (n->type == MR_BN_DICT) {
				if (p->buf[p->pos] < '0' || p->buf[p->pos] > '9')
					return bn_fail(p, -EINVAL, "dictionary key not a string");
				rc = bn_value(p, depth + 1, &k);
				if (rc < 0)
					return rc;
				p->used--;	/* the key's node is not kept */
			}
			{
				const char *ks = k ? k->s : NULL;
				uint32_t kl = k ? k->len : 0;

				rc = bn_value(p, depth + 1, &m);
				if (rc < 0)
					return rc;
				m->key = ks;
				m->klen = kl;
			}
			*tail = m;
			tail = &m->next;
			n->len++;
		}
	default:
		if (c < '0' || c > '9')
			return bn_fail(p, -EINVAL, "unknown type");
		rc = bn_number(p, ':', 0, &v);
		if (rc < 0)
			return rc;
		if ((uint64_t)v > p->len - p->pos)
			return bn_fail(p, v > 0xffffffffLL ? -EINVAL : -EAGAIN,
				       "string longer than the message");
		n->type = MR_BN_STR;
		n->s = p->buf + p->pos;
		n->len = (uint32_t)v;
		p->pos += (size_t)v;
		return 0;
	}
}

int
mr_bn_parse(const char *buf, size_t len, struct mr_bn *nodes, unsigned int n_nodes,
	    struct mr_bn **root, size_t *used, const char **why)
{
	struct bn_parser p = { .buf = buf, .len = len, .nodes = nodes, .n_nodes = n_nodes,
			       .why = "" };
	int rc;

	rc = bn_value(&p, 0, root);
	if (why != NULL)
		*why = p.why;
	if (rc < 0)
		return rc;
	if (used != NULL)
		*used = p.pos;
	return 0;
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int
sep(char c)
{
	return c == '-' || c == '_' || c == ' ';
}

int
mr_bn_streq(const char *s, size_t len, const char *text)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (text[i] == '\0')
			return 0;
		if (s[i] != text[i] && !(sep(s[i]) && sep(text[i])) &&
		    lower(s[i]) != lower(text[i]))
			return 0;
	}
	return text[i] == '\0';
}

const struct mr_bn *
mr_bn_get(const struct mr_bn *d, const char *key)
{
	const struct mr_bn *m;

	if (d == NULL || d->type != MR_BN_DICT)
		return NULL;
	for (m = d->child; m != NULL; m = m->next)
		if (mr_bn_streq(m->key, m->klen, key))
			return m;
	return NULL;
}

int
mr_bn_get_str(const struct mr_bn *d, const char *key, char *out, size_t n)
{
	const struct mr_bn *v = mr_bn_get(d, key);

	if (v == NULL)
		return -ENOENT;
	if (v->type != MR_BN_STR)
		return -EINVAL;
	if (v->len >= n)
		return -ENAMETOOLONG;
	memcpy(out, v->s, v->len);
	out[v->len] = '\0';
	return 0;
}

void
mr_bbuf_put(struct mr_bbuf *b, const void *p, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *q;

		while (cap < b->len + n)
			cap *= 2;
		q = realloc(b->p, cap);
		if (q == NULL) {
			b->oom = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
mr_bbuf_free(struct mr_bbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void
be_str(struct mr_bbuf *b, const char *s, size_t n)
{
	char hdr[24];
	int k = snprintf(hdr, sizeof(hdr), "%zu:", n);

	mr_bbuf_put(b, hdr, (size_t)k);
	mr_bbuf_put(b, s, n);
}

static int
key_cmp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

void
mr_bencode_json(struct mr_bbuf *b, const json_t *v)
{
	char tmp[48];
	int k;

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		size_t n = json_object_size(v), i = 0;
		const char **keys = n ? malloc(n * sizeof(*keys)) : NULL;
		const char *key;
		json_t *m;

		if (n && keys == NULL) {
			b->oom = 1;
			return;
		}
		json_object_foreach((json_t *)v, key, m)
			keys[i++] = key;
		qsort(keys, n, sizeof(*keys), key_cmp);
		mr_bbuf_put(b, "d", 1);
		for (i = 0; i < n; i++) {
			be_str(b, keys[i], strlen(keys[i]));
			mr_bencode_json(b, json_object_get(v, keys[i]));
		}
		mr_bbuf_put(b, "e", 1);
		free(keys);
		return;
	}
	case JSON_ARRAY: {
		size_t i;

		mr_bbuf_put(b, "l", 1);
		for (i = 0; i < json_array_size(v); i++)
			mr_bencode_json(b, json_array_get(v, i));
		mr_bbuf_put(b, "e", 1);
		return;
	}
	case JSON_STRING:
		be_str(b, json_string_value(v), json_string_length(v));
		return;
	case JSON_INTEGER:
		k = snprintf(tmp, sizeof(tmp), "i%" JSON_INTEGER_FORMAT "e", json_integer_value(v));
		mr_bbuf_put(b, tmp, (size_t)k);
		return;
	case JSON_REAL:
		k = snprintf(tmp, sizeof(tmp), "%.6f", json_real_value(v));
		be_str(b, tmp, (size_t)k);
		return;
	case JSON_TRUE:
		mr_bbuf_put(b, "i1e", 3);
		return;
	case JSON_FALSE:
		mr_bbuf_put(b, "i0e", 3);
		return;
	default:
		mr_bbuf_put(b, "0:", 2);
		return;
	}
}
