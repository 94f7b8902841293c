/* SPDX-License-Identifier: BSD-3-Clause
 * RSS prediction on the local endpoint (rss.h).
 */
#include <string.h>
#include <rte_thash.h>

#include "rss.h"

/* The first 40 bytes are the key of Microsoft's RSS verification suite (DPDK's
 * rss_intel_key); the rest repeats its beginning, for devices with longer keys. */
const uint8_t mr_rss_default_key[MR_RSS_KEY_MAX] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2,
	0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
	0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4,
	0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
	0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2,
	0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
	0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4,
};

uint32_t
mr_rss_hash(const uint8_t *key, const struct mr_ep *dst)
{
	/* rte_softrss takes the input as host-order words of the byte stream: the address's
	 * bytes, then the port's two bytes at the top of the last word. */
	uint32_t t[5], k[6];
	unsigned int i, n = dst->family == MR_AF6 ? 4 : 1;

	for (i = 0; i < n; i++)
		t[i] = (uint32_t)dst->a[4 * i] << 24 | (uint32_t)dst->a[4 * i + 1] << 16 |
		       (uint32_t)dst->a[4 * i + 2] << 8 | dst->a[4 * i + 3];
	t[n] = (uint32_t)dst->port << 16;
	/* rte_softrss reads the key as 32-bit words: give it an aligned copy of the bytes it
	 * uses (input words + 1: 24 at most), whatever the caller's alignment. */
	memcpy(k, key, sizeof(k));
	return rte_softrss(t, n + 1, (const uint8_t *)k);
}

uint16_t
mr_rss_queue(const struct mr_rss *r, const struct mr_ep *dst)
{
	return r->reta[mr_rss_hash(r->key, dst) & (r->reta_size - 1u)];
}

void
mr_rss_reta_fill(const uint8_t *key, uint16_t reta_size, uint16_t n_q, uint16_t *reta)
{
	struct mr_ep one = { .family = MR_AF4, .port = 1 };
	uint16_t span[4], q = 0;
	unsigned int i, s;

	/* The hash of the port's last bit alone: what p ^ 1 adds to the hash of p. */
	span[0] = 0;
	span[1] = (uint16_t)(mr_rss_hash(key, &one) & (reta_size - 1u));
	one.family = MR_AF6;
	span[2] = (uint16_t)(mr_rss_hash(key, &one) & (reta_size - 1u));
	span[3] = span[1] ^ span[2];
	for (i = 0; i < reta_size; i++)
		reta[i] = UINT16_MAX;
	for (i = 0; i < reta_size; i++) {
		if (reta[i] != UINT16_MAX)
			continue;
		for (s = 0; s < 4; s++)
			reta[i ^ span[s]] = q;
		q = (uint16_t)((q + 1) % n_q);
	}
}
