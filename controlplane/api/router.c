/* SPDX-License-Identifier: BSD-3-Clause
 * The route registry (router.h). A handful of routes: a list searched per request is plenty.
 */
#include <stdio.h>
#include <string.h>

#include "router.h"

static struct mr_http_route *mr_routes;

void
mr_http_route_register(struct mr_http_route *rt)
{
	struct mr_http_route *o;

	for (o = mr_routes; o != NULL; o = o->next) {
		if (o == rt)
			return;
		if (o->match == rt->match && strcmp(o->path, rt->path) == 0) {
			fprintf(stderr, "MRELAY: api: route %s registered twice; the second is "
				"ignored\n", rt->path);
			return;
		}
	}
	rt->next = mr_routes;
	mr_routes = rt;
}

static int
mr_id_ok(const char *id)
{
	size_t i;

	for (i = 0; id[i] != '\0'; i++) {
		char c = id[i];

		if (i >= MR_HTTP_ID_MAX)
			return 0;
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z') || c == '-' || c == '_'))
			return 0;
	}
	return i > 0;
}

const struct mr_http_route *
mr_http_route_find(const char *url, const char **rest, const struct mr_http_route **bad_route)
{
	const struct mr_http_route *rt, *best = NULL;
	size_t best_len = 0;
	int sub;

	*bad_route = NULL;
	for (rt = mr_routes; rt != NULL; rt = rt->next) {
		if (rt->match == MR_ROUTE_EXACT && strcmp(url, rt->path) == 0) {
			*rest = url + strlen(url);
			return rt;
		}
	}
	for (rt = mr_routes; rt != NULL; rt = rt->next) {
		size_t n = strlen(rt->path);

		if (rt->match == MR_ROUTE_EXACT || strncmp(url, rt->path, n) != 0 || n < best_len)
			continue;
		/* On one path an id route takes /path/{id}, a subtree route what lies below
		 * an id (/path/{id}/more), whichever comes first in the registry. */
		sub = url[n] == '/' && strchr(url + n + 1, '/') != NULL;
		if (rt->match == MR_ROUTE_ID && url[n] == '/' && url[n + 1] != '\0') {
			if (best != NULL && best_len == n && sub)
				continue;
			best = rt;
			best_len = n;
		} else if (rt->match == MR_ROUTE_SUBTREE && (url[n] == '\0' || url[n] == '/')) {
			if (best != NULL && best_len == n && best->match == MR_ROUTE_ID && !sub)
				continue;
			best = rt;
			best_len = n;
		}
	}
	if (best == NULL)
		return NULL;
	if (best->match == MR_ROUTE_ID) {
		*rest = url + best_len + 1;
		if (!mr_id_ok(*rest)) {
			*bad_route = best;
			return NULL;
		}
		return best;
	}
	*rest = url + best_len;
	if (strlen(*rest) > MR_HTTP_SUBTREE_MAX) {
		*bad_route = best;
		return NULL;
	}
	return best;
}

const char *
mr_http_methods_text(unsigned int methods, char *buf, size_t len)
{
	static const char *const names[] = { "GET", "POST", "PATCH", "DELETE" };
	size_t off = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < 4; i++) {
		if (!(methods & (1u << i)))
			continue;
		off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s%s",
					off ? ", " : "", names[i]);
	}
	return buf;
}

enum mr_http_method
mr_http_method_parse(const char *m)
{
	if (strcmp(m, "GET") == 0)
		return MR_HTTP_GET;
	if (strcmp(m, "POST") == 0)
		return MR_HTTP_POST;
	if (strcmp(m, "PATCH") == 0)
		return MR_HTTP_PATCH;
	if (strcmp(m, "DELETE") == 0)
		return MR_HTTP_DELETE;
	return MR_HTTP_OTHER;
}
