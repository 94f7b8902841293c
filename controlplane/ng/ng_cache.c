/* SPDX-License-Identifier: BSD-3-Clause
 * A hash of cookies (chained) over a ring in arrival order: put evicts the oldest entry
 * when the ring is full, get and put drop entries past their TTL from the old end.
 */
#include <stdlib.h>
#include <string.h>

#include "ng_cache.h"

struct ng_centry {
	struct ng_centry *hnext;
	uint64_t t_ms;
	uint32_t h;
	size_t clen, len;
	char *data;			/* cookie then answer */
};

struct mr_ng_cache {
	unsigned int max, nb, head, n;	/* ring: n entries from head */
	uint64_t ttl;
	struct ng_centry **ring;
	struct ng_centry **bucket;
};

static uint32_t
ck_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

struct mr_ng_cache *
mr_ng_cache_create(unsigned int max_entries, uint64_t ttl_ms)
{
	struct mr_ng_cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->max = max_entries ? max_entries : 1;
	for (c->nb = 64; c->nb < c->max; c->nb *= 2)
		;
	c->ttl = ttl_ms;
	c->ring = calloc(c->max, sizeof(*c->ring));
	c->bucket = calloc(c->nb, sizeof(*c->bucket));
	if (c->ring == NULL || c->bucket == NULL) {
		mr_ng_cache_free(c);
		return NULL;
	}
	return c;
}

static void
unlink_entry(struct mr_ng_cache *c, struct ng_centry *e)
{
	struct ng_centry **pp = &c->bucket[e->h & (c->nb - 1)];

	while (*pp != NULL && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp == e)
		*pp = e->hnext;
}

/* Drop the oldest entry (it may have been superseded: data NULL). */
static void
pop_oldest(struct mr_ng_cache *c)
{
	struct ng_centry *e = c->ring[c->head];

	c->ring[c->head] = NULL;
	c->head = (c->head + 1) % c->max;
	c->n--;
	if (e == NULL)
		return;
	unlink_entry(c, e);
	free(e->data);
	free(e);
}

static void
expire(struct mr_ng_cache *c, uint64_t now)
{
	while (c->n > 0) {
		struct ng_centry *e = c->ring[c->head];

		if (e != NULL && now - e->t_ms < c->ttl)
			break;
		pop_oldest(c);
	}
}

static struct ng_centry *
lookup(struct mr_ng_cache *c, const char *cookie, size_t clen, uint32_t h)
{
	struct ng_centry *e;

	for (e = c->bucket[h & (c->nb - 1)]; e != NULL; e = e->hnext)
		if (e->h == h && e->clen == clen && memcmp(e->data, cookie, clen) == 0)
			return e;
	return NULL;
}

const char *
mr_ng_cache_get(struct mr_ng_cache *c, const char *cookie, size_t clen, uint64_t now_ms,
		size_t *len)
{
	struct ng_centry *e;

	expire(c, now_ms);
	e = lookup(c, cookie, clen, ck_hash(cookie, clen));
	if (e == NULL)
		return NULL;
	*len = e->len;
	return e->data + clen;
}

void
mr_ng_cache_put(struct mr_ng_cache *c, const char *cookie, size_t clen, const char *ans,
		size_t len, uint64_t now_ms)
{
	uint32_t h = ck_hash(cookie, clen);
	struct ng_centry *e, *old;
	unsigned int i;

	expire(c, now_ms);
	old = lookup(c, cookie, clen, h);
	if (old != NULL) {
		/* the ring keeps a NULL where it was */
		for (i = 0; i < c->n; i++)
			if (c->ring[(c->head + i) % c->max] == old)
				c->ring[(c->head + i) % c->max] = NULL;
		unlink_entry(c, old);
		free(old->data);
		free(old);
	}
	if (c->n == c->max)
		pop_oldest(c);
	e = malloc(sizeof(*e));
	if (e == NULL)
		return;
	e->data = malloc(clen + len);
	if (e->data == NULL) {
		free(e);
		return;
	}
	memcpy(e->data, cookie, clen);
	memcpy(e->data + clen, ans, len);
	e->clen = clen;
	e->len = len;
	e->h = h;
	e->t_ms = now_ms;
	e->hnext = c->bucket[h & (c->nb - 1)];
	c->bucket[h & (c->nb - 1)] = e;
	c->ring[(c->head + c->n) % c->max] = e;
	c->n++;
}

unsigned int
mr_ng_cache_size(const struct mr_ng_cache *c)
{
	return c->n;
}

void
mr_ng_cache_free(struct mr_ng_cache *c)
{
	if (c == NULL)
		return;
	while (c->ring != NULL && c->n > 0)
		pop_oldest(c);
	free(c->ring);
	free(c->bucket);
	free(c);
}
