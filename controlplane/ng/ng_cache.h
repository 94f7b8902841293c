/* SPDX-License-Identifier: BSD-3-Clause
 * The ng retransmission cache: answers by cookie, so that a request sent again (same
 * cookie) gets the first answer instead of a second action (docs/NG.md). Bounded in entries
 * and age; the oldest entry goes first. Pure C.
 */
#ifndef MR_NG_CACHE_H
#define MR_NG_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct mr_ng_cache;

struct mr_ng_cache *mr_ng_cache_create(unsigned int max_entries, uint64_t ttl_ms);
void mr_ng_cache_free(struct mr_ng_cache *c);
/* The answer cached for cookie (clen bytes), NULL if none or older than the TTL. */
const char *mr_ng_cache_get(struct mr_ng_cache *c, const char *cookie, size_t clen,
			    uint64_t now_ms, size_t *len);
/* Keep a copy of answer ans for cookie (replaces an entry of the same cookie). */
void mr_ng_cache_put(struct mr_ng_cache *c, const char *cookie, size_t clen, const char *ans,
		     size_t len, uint64_t now_ms);
unsigned int mr_ng_cache_size(const struct mr_ng_cache *c);

#endif
