/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer harness: REST request bodies (POST and PATCH /v1/sessions) and endpoint strings.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_req.h"
#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mr_session_req req;
	struct mr_session_patch patch;
	struct mr_ep ep;
	struct mr_prefix pfx;
	char err[256], buf[64];
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	err[0] = 0;
	/* Every refusal must explain itself; an accepted body must be self-consistent. */
	if (mr_parse_session_create(s, size, &req, err, sizeof(err)) != 0) {
		if (err[0] == 0)
			abort();
	} else if (req.legs[0].has_rtcp_remote && req.rtcp_mux) {
		abort();
	}
	err[0] = 0;
	if (mr_parse_session_patch(s, size, &patch, err, sizeof(err)) != 0 && err[0] == 0)
		abort();
	if (mr_ep_parse(s, &ep) == 0) {
		struct mr_ep again;

		/* format → parse round trip gives the same endpoint */
		if (mr_ep_parse(mr_ep_fmt(&ep, buf, sizeof(buf), 1), &again) != 0 ||
		    !mr_ep_eq(&ep, &again))
			abort();
	}
	if (mr_prefix_parse(s, &pfx) == 0 && mr_addr_parse(s, &ep) == 0)
		abort();	/* "a/len" is never a bare address too */
	free(s);
	return 0;
}
