/* SPDX-License-Identifier: BSD-3-Clause
 * GET /demo/: the WebRTC demo page (demo/index.html, embedded at build time by
 * scripts/embed.py). Served without the API's bearer token (api.c): it is static and holds
 * no secret; joining still needs a participant token, or an API without one.
 */
#include <stdlib.h>
#include <string.h>

#include "router.h"

extern const char mr_demo_html[];

static char *
mr_demo_page(struct mr_appliance *a)
{
	(void)a;
	return strdup(mr_demo_html);
}

static struct mr_http_route mr_demo_route = {
	.path = "/demo/", .match = MR_ROUTE_EXACT, .name = "/demo/",
	.methods = MR_HTTP_GET, .text = mr_demo_page, .text_type = "text/html; charset=utf-8",
};
MR_HTTP_ROUTE(mr_demo_route)

static struct mr_http_route mr_demo_route2 = {
	.path = "/demo", .match = MR_ROUTE_EXACT, .name = "/demo",
	.methods = MR_HTTP_GET, .text = mr_demo_page, .text_type = "text/html; charset=utf-8",
};
MR_HTTP_ROUTE(mr_demo_route2)
