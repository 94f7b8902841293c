/* SPDX-License-Identifier: BSD-3-Clause
 * The route registry (controlplane/api/router.c): matching order, ids, subtrees, methods.
 * The HTTP layer around it is tested over real TCP in test_api.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "router.h"

static int
h_any(struct mr_appliance *a, const struct mr_http_req *r, json_t **out)
{
	(void)a;
	(void)r;
	*out = NULL;
	return 204;
}

static struct mr_http_route rt_list = {
	.path = "/v1/things", .match = MR_ROUTE_EXACT, .methods = MR_HTTP_GET, .handler = h_any,
};
static struct mr_http_route rt_batch = {
	.path = "/v1/things/batch", .match = MR_ROUTE_EXACT, .methods = MR_HTTP_POST,
	.handler = h_any,
};
static struct mr_http_route rt_one = {
	.path = "/v1/things", .match = MR_ROUTE_ID, .methods = MR_HTTP_GET, .handler = h_any,
	.not_found = "no such thing",
};
static struct mr_http_route rt_tree = {
	.path = "/v1/tree", .match = MR_ROUTE_SUBTREE, .methods = MR_HTTP_GET, .handler = h_any,
};
static struct mr_http_route rt_tree_deep = {
	.path = "/v1/tree/deep", .match = MR_ROUTE_SUBTREE, .methods = MR_HTTP_GET,
	.handler = h_any,
};
/* An id route and a subtree route on one path, registered in both orders. */
static struct mr_http_route rt_pair_id = {
	.path = "/v1/pair", .match = MR_ROUTE_ID, .methods = MR_HTTP_GET, .handler = h_any,
};
static struct mr_http_route rt_pair_sub = {
	.path = "/v1/pair", .match = MR_ROUTE_SUBTREE, .methods = MR_HTTP_GET, .handler = h_any,
};
static struct mr_http_route rt_riap_sub = {
	.path = "/v1/riap", .match = MR_ROUTE_SUBTREE, .methods = MR_HTTP_GET, .handler = h_any,
};
static struct mr_http_route rt_riap_id = {
	.path = "/v1/riap", .match = MR_ROUTE_ID, .methods = MR_HTTP_GET, .handler = h_any,
};
MR_HTTP_ROUTE(rt_pair_id)
MR_HTTP_ROUTE(rt_pair_sub)
MR_HTTP_ROUTE(rt_riap_sub)
MR_HTTP_ROUTE(rt_riap_id)
MR_HTTP_ROUTE(rt_list)
MR_HTTP_ROUTE(rt_batch)
MR_HTTP_ROUTE(rt_one)
MR_HTTP_ROUTE(rt_tree)
MR_HTTP_ROUTE(rt_tree_deep)

static const struct mr_http_route *
find(const char *url, const char **rest, const struct mr_http_route **bad)
{
	return mr_http_route_find(url, rest, bad);
}

static void
test_exact_before_id(void **state)
{
	const struct mr_http_route *bad;
	const char *rest;

	(void)state;
	assert_ptr_equal(find("/v1/things", &rest, &bad), &rt_list);
	assert_string_equal(rest, "");
	/* "batch" is also a well-formed id: the exact route wins. */
	assert_ptr_equal(find("/v1/things/batch", &rest, &bad), &rt_batch);
	assert_ptr_equal(find("/v1/things/batch2", &rest, &bad), &rt_one);
	assert_string_equal(rest, "batch2");
}

static void
test_ids(void **state)
{
	const struct mr_http_route *bad;
	const char *rest;
	char id[MR_HTTP_ID_MAX + 20];

	(void)state;
	assert_ptr_equal(find("/v1/things/A-z_09", &rest, &bad), &rt_one);
	/* Malformed ids: the route is named for its 404, nothing is routed. */
	assert_null(find("/v1/things/a.b", &rest, &bad));
	assert_ptr_equal(bad, &rt_one);
	assert_null(find("/v1/things/a/b", &rest, &bad));
	assert_ptr_equal(bad, &rt_one);
	memset(id, 'x', MR_HTTP_ID_MAX);
	strcpy(id + MR_HTTP_ID_MAX, "");
	{
		char url[sizeof(id) + 16];

		snprintf(url, sizeof(url), "/v1/things/%s", id);
		assert_ptr_equal(find(url, &rest, &bad), &rt_one);
		snprintf(url, sizeof(url), "/v1/things/%sx", id);
		assert_null(find(url, &rest, &bad));
		assert_ptr_equal(bad, &rt_one);
	}
	/* No id at all, or another path that only starts the same. */
	assert_null(find("/v1/things/", &rest, &bad));
	assert_null(bad);
	assert_null(find("/v1/thingsx", &rest, &bad));
	assert_null(bad);
	assert_null(find("/", &rest, &bad));
}

static void
test_subtree(void **state)
{
	const struct mr_http_route *bad;
	const char *rest;
	char url[MR_HTTP_SUBTREE_MAX + 32];

	(void)state;
	assert_ptr_equal(find("/v1/tree", &rest, &bad), &rt_tree);
	assert_string_equal(rest, "");
	assert_ptr_equal(find("/v1/tree/a/b", &rest, &bad), &rt_tree);
	assert_string_equal(rest, "/a/b");
	/* The longest prefix wins. */
	assert_ptr_equal(find("/v1/tree/deep/x", &rest, &bad), &rt_tree_deep);
	assert_string_equal(rest, "/x");
	assert_ptr_equal(find("/v1/tree/deeper", &rest, &bad), &rt_tree);
	assert_null(find("/v1/treehouse", &rest, &bad));
	memset(url, 0, sizeof(url));
	strcpy(url, "/v1/tree/");
	memset(url + 9, 'a', MR_HTTP_SUBTREE_MAX);
	assert_null(find(url, &rest, &bad));
	assert_ptr_equal(bad, &rt_tree);
}

static void
test_id_and_subtree(void **state)
{
	const struct mr_http_route *bad;
	const char *rest;

	(void)state;
	assert_ptr_equal(find("/v1/pair/abc", &rest, &bad), &rt_pair_id);
	assert_string_equal(rest, "abc");
	assert_ptr_equal(find("/v1/pair/abc/plays/1", &rest, &bad), &rt_pair_sub);
	assert_string_equal(rest, "/abc/plays/1");
	assert_ptr_equal(find("/v1/riap/abc", &rest, &bad), &rt_riap_id);
	assert_ptr_equal(find("/v1/riap/abc/plays", &rest, &bad), &rt_riap_sub);
	assert_string_equal(rest, "/abc/plays");
	/* Nothing after the slash: not an id, the subtree's to answer. */
	assert_ptr_equal(find("/v1/pair/", &rest, &bad), &rt_pair_sub);
}

static void
test_twice(void **state)
{
	static struct mr_http_route dup = {
		.path = "/v1/things", .match = MR_ROUTE_EXACT, .methods = MR_HTTP_POST,
		.handler = h_any,
	};
	const struct mr_http_route *bad;
	const char *rest;

	(void)state;
	mr_http_route_register(&dup);
	mr_http_route_register(&rt_list);	/* the same object again: no-op */
	assert_ptr_equal(find("/v1/things", &rest, &bad), &rt_list);
}

static void
test_methods(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(mr_http_methods_text(MR_HTTP_GET | MR_HTTP_DELETE, buf, sizeof(buf)),
			    "GET, DELETE");
	assert_string_equal(mr_http_methods_text(0, buf, sizeof(buf)), "");
	assert_string_equal(mr_http_methods_text(MR_HTTP_GET | MR_HTTP_POST | MR_HTTP_PATCH |
						 MR_HTTP_DELETE, buf, 8), "GET, PO");
	assert_int_equal(mr_http_method_parse("PATCH"), MR_HTTP_PATCH);
	assert_int_equal(mr_http_method_parse("get"), MR_HTTP_OTHER);
	assert_int_equal(mr_http_method_parse("PUT"), MR_HTTP_OTHER);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_before_id),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_subtree),
		cmocka_unit_test(test_id_and_subtree),
		cmocka_unit_test(test_twice),
		cmocka_unit_test(test_methods),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
