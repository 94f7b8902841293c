/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer harness for the ICE-lite STUN code (dataplane/stun/stun.c): the input is one UDP
 * payload, in an exactly sized heap buffer so that ASan reports any read past its end. Besides
 * memory safety it checks:
 *  - what mr_stun_parse() accepts has its attributes inside the message: USERNAME,
 *    MESSAGE-INTEGRITY and FINGERPRINT offsets and lengths within the header's length;
 *  - the checks (FINGERPRINT, MESSAGE-INTEGRITY, USERNAME) and mr_stun_mapped() read nothing
 *    outside it;
 *  - the answer mr_stun_build_ok() writes for it (to the address the input's last bytes name)
 *    parses back, passes FINGERPRINT and MESSAGE-INTEGRITY under the same key, carries the
 *    request's transaction id and maps back to the same address; a buffer too small is
 *    refused, never overrun.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static const char pwd[] = "0123456789abcdefghijklmn";
static const char ufrag[] = "uFr4g";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mr_hmac_sha1_key key;
	static int keyed;
	struct mr_stun_msg m, r;
	struct mr_ep ep, back;
	uint8_t *p, out[128];
	size_t n, want, end;

	if (!keyed) {
		mr_hmac_sha1_key_init(&key, (const uint8_t *)pwd, strlen(pwd));
		keyed = 1;
	}
	p = malloc(size ? size : 1);
	if (p == NULL)
		return 0;
	memcpy(p, data, size);
	if (mr_stun_parse(p, size, &m) == 0) {
		end = (size_t)MR_STUN_HDR + m.len;
		CHECK(end <= size);
		CHECK(m.username_off == 0 || (size_t)m.username_off + m.username_len <= end);
		CHECK(m.mi_off == 0 || (size_t)m.mi_off + 24 <= end);
		CHECK(m.fp_off == 0 || (size_t)m.fp_off + 8 == end);
		(void)mr_stun_fingerprint_ok(p, &m);
		(void)mr_stun_integrity_ok(p, &m, &key);
		(void)mr_stun_username_ok(p, &m, ufrag, strlen(ufrag));
		(void)mr_stun_mapped(p, &m, &ep);

		/* The answer to it, to an address from the input's tail. */
		memset(&ep, 0, sizeof(ep));
		ep.family = size > 0 && (p[size - 1] & 1) ? MR_AF6 : MR_AF4;
		for (n = 0; n < 16 && n < size; n++)
			ep.a[n] = p[size - 1 - n];
		if (ep.family == MR_AF4)
			memset(ep.a + 4, 0, 12);
		ep.port = size > 2 ? (uint16_t)(p[size - 2] << 8 | p[size - 3]) : 0;
		want = mr_stun_ok_len(ep.family);
		CHECK(mr_stun_build_ok(out, want - 1, p + 8, &ep, &key) == 0);
		n = mr_stun_build_ok(out, sizeof(out), p + 8, &ep, &key);
		CHECK(n == want);
		CHECK(mr_stun_parse(out, n, &r) == 0);
		CHECK(r.type == MR_STUN_BINDING_OK && r.fp_off != 0 && r.mi_off != 0);
		CHECK(mr_stun_fingerprint_ok(out, &r));
		CHECK(mr_stun_integrity_ok(out, &r, &key));
		CHECK(memcmp(out + 8, p + 8, 12) == 0);
		CHECK(mr_stun_mapped(out, &r, &back) == 0);
		CHECK(back.family == ep.family && back.port == ep.port &&
		      memcmp(back.a, ep.a, 16) == 0);
	}
	free(p);
	return 0;
}
