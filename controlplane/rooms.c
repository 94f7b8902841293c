/* SPDX-License-Identifier: BSD-3-Clause
 * Rooms: the SFU control plane. Being written.
 */
#include "rooms.h"
#include "api.h"

int
mr_http_rooms(struct mr_appliance *a, const char *method, const char *path, const char *body,
	      size_t len, json_t **out)
{
	(void)a; (void)method; (void)path; (void)body; (void)len;
	*out = json_pack("{s:s}", "error", "path: rooms are not built yet");
	return 404;
}
