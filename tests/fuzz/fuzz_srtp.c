/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer harness for SRTP and SRTCP (dataplane/srtp/), both engines, fixed keys. The first
 * byte chooses: the suite (bits 0-2, modulo 5), SRTCP (bit 3), and the mode (bit 4):
 *  - unprotect: the rest is a packet off the wire, in an exactly sized heap buffer (ASan sees
 *    any read past it), unprotected by fresh contexts of each engine. A failure must leave the
 *    bytes as they were; a success must shorten the packet (fuzzed input does not authenticate
 *    under the fixed keys, so a success is a bug too, unless it is the protected form the
 *    round-trip mode made);
 *  - round trip: the rest is a plaintext packet, protected by both engines (the same result,
 *    the same bytes) and unprotected by the other engine (the plaintext again).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "srtp.h"
#include "srtp_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static const enum mr_srtp_engine_kind kinds[2] = { MR_SRTP_ENGINE_IPSEC_MB,
						   MR_SRTP_ENGINE_LIBSRTP };
static struct mr_srtp_engine *eng[2];
static struct mr_srtp_ctx *ctxs[MR_SRTP_SUITE_MAX][2][2];

static void
fixed_key(enum mr_srtp_suite s, struct mr_srtp_key *k)
{
	const struct mr_srtp_suite_info *si = mr_srtp_suite_info(s);

	memset(k, 0, sizeof(*k));
	k->suite = (uint8_t)s;
	k->len = (uint8_t)(si->key_len + si->salt_len);
	for (unsigned int i = 0; i < k->len; i++)
		k->master[i] = (uint8_t)(0x5a ^ (i * 7));
}

static int
one(int e, struct mr_srtp_ctx *c, uint8_t *p, uint16_t *len, uint16_t room, int rtcp,
    int protect)
{
	struct mr_srtp_op op = { .ctx = c, .pkt = p, .len = *len, .room = room,
				 .rtcp = (uint8_t)rtcp };

	if (protect)
		mr_srtp_protect_burst(eng[e], &op, 1);
	else
		mr_srtp_unprotect_burst(eng[e], &op, 1);
	if (op.res == MR_SRTP_OK)
		*len = op.len;
	return op.res;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum mr_srtp_suite suite;
	struct mr_srtp_ctx *tx[2], *rx[2];
	struct mr_srtp_key k;
	uint8_t *p[2];
	uint16_t len[2], n;
	int rtcp, trip, r[2];

	if (size < 1 || size > 2048)
		return 0;
	if (eng[0] == NULL) {
		for (int e = 0; e < 2; e++) {
			eng[e] = mr_srtp_engine_create(kinds[e]);
			CHECK(eng[e] != NULL);
		}
	}
	suite = (enum mr_srtp_suite)((data[0] & 7) % 5 + 1);
	rtcp = data[0] >> 3 & 1;
	trip = data[0] >> 4 & 1;
	data++;
	n = (uint16_t)(size - 1);
	fixed_key(suite, &k);
	for (int e = 0; e < 2; e++) {
		/* Contexts made once (libsrtp's srtp_create takes milliseconds), reset after a
		 * round trip changed them. */
		if (ctxs[suite][e][0] == NULL) {
			ctxs[suite][e][0] = mr_srtp_ctx_create(kinds[e], &k);
			ctxs[suite][e][1] = mr_srtp_ctx_create(kinds[e], &k);
			CHECK(ctxs[suite][e][0] != NULL && ctxs[suite][e][1] != NULL);
		}
		tx[e] = ctxs[suite][e][0];
		rx[e] = ctxs[suite][e][1];
		p[e] = malloc((size_t)n + (trip ? MR_SRTP_MAX_TRAILER : 0) + 1);
		CHECK(p[e] != NULL);
		memcpy(p[e], data, n);
		len[e] = n;
	}
	if (!trip) {
		for (int e = 0; e < 2; e++) {
			r[e] = one(e, rx[e], p[e], &len[e], 0, rtcp, 0);
			CHECK(r[e] < 0);
			CHECK(len[e] == n && memcmp(p[e], data, n) == 0);
		}
		/* what one engine calls malformed, the other does too */
		CHECK((r[0] == MR_SRTP_EMALFORMED) == (r[1] == MR_SRTP_EMALFORMED));
	} else {
		for (int e = 0; e < 2; e++)
			r[e] = one(e, tx[e], p[e], &len[e], MR_SRTP_MAX_TRAILER, rtcp, 1);
		CHECK(r[0] == r[1]);
		if (r[0] == MR_SRTP_OK) {
			CHECK(len[0] == len[1] && memcmp(p[0], p[1], len[0]) == 0);
			CHECK(len[0] > n);
			for (int e = 0; e < 2; e++) {
				CHECK(one(1 - e, rx[1 - e], p[e], &len[e], 0, rtcp, 0) == MR_SRTP_OK);
				CHECK(len[e] == n && memcmp(p[e], data, n) == 0);
			}
		} else {
			CHECK(r[0] == MR_SRTP_EMALFORMED);
		}
	}
	for (int e = 0; e < 2; e++) {
		mr_srtp_ctx_reset(tx[e]);
		mr_srtp_ctx_reset(rx[e]);
		free(p[e]);
	}
	return 0;
}
