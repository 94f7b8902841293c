/* SPDX-License-Identifier: BSD-3-Clause
 * RSS on the local endpoint (drivers/rss.c): the prediction of the RX queue a relay port
 * lands on, against a bit-by-bit Toeplitz hash checked with Microsoft's verification suite,
 * and the redirection table that keeps RTP and RTCP ports on one queue.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rss.h"

/* Toeplitz over a byte stream, one input bit at a time (the definition). */
static uint32_t
toeplitz(const uint8_t *key, const uint8_t *in, unsigned int len)
{
	uint32_t h = 0, win = (uint32_t)key[0] << 24 | key[1] << 16 | key[2] << 8 | key[3];
	unsigned int i, b;

	for (i = 0; i < len; i++) {
		for (b = 0; b < 8; b++) {
			if (in[i] & (0x80 >> b))
				h ^= win;
			win = win << 1 | ((key[i + 4] >> (7 - b)) & 1);
		}
	}
	return h;
}

/* The reference is Toeplitz: "Verifying the RSS Hash Calculation" (Microsoft), IPv4 with
 * and without ports, the first row of the table. */
static void
test_reference_vectors(void **state)
{
	const uint8_t ip[] = { 66, 9, 149, 187, 161, 142, 100, 80 };
	const uint8_t ip_ports[] = { 66, 9, 149, 187, 161, 142, 100, 80, 2794 >> 8, 2794 & 0xff,
				     1766 >> 8, 1766 & 0xff };

	(void)state;
	assert_int_equal(toeplitz(mr_rss_default_key, ip, sizeof(ip)), 0x323e8fc2);
	assert_int_equal(toeplitz(mr_rss_default_key, ip_ports, sizeof(ip_ports)), 0x51ccc178);
}

/* mr_rss_hash hashes the destination address then the destination port. */
static void
test_hash_is_dst_addr_then_port(void **state)
{
	uint8_t in[18];
	unsigned int i, j;

	(void)state;
	srand(7);
	for (i = 0; i < 2000; i++) {
		struct mr_ep ep = { .family = (i & 1) ? MR_AF6 : MR_AF4 };
		unsigned int alen = ep.family == MR_AF6 ? 16 : 4;

		for (j = 0; j < alen; j++)
			ep.a[j] = (uint8_t)rand();
		ep.port = (uint16_t)rand();
		memcpy(in, ep.a, alen);
		in[alen] = (uint8_t)(ep.port >> 8);
		in[alen + 1] = (uint8_t)ep.port;
		assert_int_equal(mr_rss_hash(mr_rss_default_key, &ep),
				 toeplitz(mr_rss_default_key, in, alen + 2));
	}
}

/* With a known table: the queue is reta[hash % reta_size]. */
static void
test_queue_from_known_reta(void **state)
{
	struct mr_rss r;
	struct mr_ep ep = { .family = MR_AF4, .a = { 198, 18, 0, 1 } };
	unsigned int i, p;

	(void)state;
	memset(&r, 0, sizeof(r));
	memcpy(r.key, mr_rss_default_key, 40);
	r.key_len = 40;
	r.reta_size = 128;
	for (i = 0; i < r.reta_size; i++)
		r.reta[i] = (uint16_t)(i * 7 % 5);
	for (p = 30000; p < 30200; p++) {
		ep.port = (uint16_t)p;
		assert_int_equal(mr_rss_queue(&r, &ep),
				 r.reta[mr_rss_hash(r.key, &ep) % 128]);
	}
}

/* How many even ports p in [lo, hi) land on another queue than p + 1. */
static unsigned int
split_pairs(const struct mr_rss *r, uint8_t family, const uint8_t *a, unsigned int lo,
	    unsigned int hi)
{
	struct mr_ep ep = { .family = family };
	unsigned int p, n = 0;

	memcpy(ep.a, a, family == MR_AF6 ? 16 : 4);
	for (p = lo; p < hi; p += 2) {
		uint16_t q;

		ep.port = (uint16_t)p;
		q = mr_rss_queue(r, &ep);
		ep.port = (uint16_t)(p + 1);
		n += q != mr_rss_queue(r, &ep);
	}
	return n;
}

/* mr_rss_reta_fill: p and p + 1 on one queue, for both families and any address, every
 * queue used about as often; a plain round-robin table splits pairs (what it fixes). */
static void
test_reta_keeps_rtp_rtcp_together(void **state)
{
	static const uint16_t sizes[] = { 64, 128, 512, 2048 };
	const uint8_t a4[] = { 198, 18, 0, 1 }, b4[] = { 198, 19, 7, 200 };
	const uint8_t a6[16] = { 0x20, 0x01, 0x00, 0x02, [15] = 1 };
	struct mr_rss r;
	unsigned int s, nq, i, cnt[16];

	(void)state;
	memset(&r, 0, sizeof(r));
	memcpy(r.key, mr_rss_default_key, sizeof(r.key));
	r.key_len = 40;
	r.reta_size = 128;
	for (i = 0; i < r.reta_size; i++)
		r.reta[i] = (uint16_t)(i % 4);
	assert_true(split_pairs(&r, MR_AF4, a4, 20000, 40000) > 0);
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (nq = 1; nq <= 16; nq++) {
			r.reta_size = sizes[s];
			mr_rss_reta_fill(r.key, r.reta_size, (uint16_t)nq, r.reta);
			memset(cnt, 0, sizeof(cnt));
			for (i = 0; i < r.reta_size; i++) {
				assert_true(r.reta[i] < nq);
				cnt[r.reta[i]]++;
			}
			/* Groups of at most 4 entries are dealt round robin. */
			for (i = 0; i < nq; i++)
				assert_true(cnt[i] + 4 >= r.reta_size / nq);
			assert_int_equal(split_pairs(&r, MR_AF4, a4, 20000, 40000), 0);
			assert_int_equal(split_pairs(&r, MR_AF4, b4, 1024, 65534), 0);
			assert_int_equal(split_pairs(&r, MR_AF6, a6, 20000, 40000), 0);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_vectors),
		cmocka_unit_test(test_hash_is_dst_addr_then_port),
		cmocka_unit_test(test_queue_from_known_reta),
		cmocka_unit_test(test_reta_keeps_rtp_rtcp_together),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
