/* SPDX-License-Identifier: BSD-3-Clause
 * The REST API's routes. Each module registers its own (MR_HTTP_ROUTE next to its handlers,
 * run before main()); the HTTP layer (api.c) knows none of them by name. It authenticates,
 * bounds bodies, finds the route, answers 404 and 405 (with Allow), 400 for an empty body
 * where one is required and for bad paging arguments, then calls the handler and turns its
 * answer into a reply. Pure C: routes can be matched without libmicrohttpd or the EAL.
 */
#ifndef MR_ROUTER_H
#define MR_ROUTER_H

#include <stddef.h>
#include <jansson.h>

struct mr_appliance;

enum mr_http_method {
	MR_HTTP_GET = 1 << 0,
	MR_HTTP_POST = 1 << 1,
	MR_HTTP_PATCH = 1 << 2,
	MR_HTTP_DELETE = 1 << 3,
	MR_HTTP_OTHER = 1 << 4,		/* anything else: never allowed */
};

enum mr_route_match {
	MR_ROUTE_EXACT,			/* the path itself */
	MR_ROUTE_ID,			/* path + "/" + one id segment ([A-Za-z0-9_-], 1..64) */
	MR_ROUTE_SUBTREE,		/* the path and everything under it ("/..."); the
					 * handler answers 404/405 for its sub-resources */
};

#define MR_HTTP_ID_MAX 64		/* longest id segment of an MR_ROUTE_ID path */
#define MR_HTTP_SUBTREE_MAX 256		/* longest rest of an MR_ROUTE_SUBTREE path */
#define MR_HTTP_PAGE_LIMIT_MAX 1000
#define MR_HTTP_PAGE_LIMIT_DEFAULT 100

/* A request as a handler sees it; everything is valid during the call only. */
struct mr_http_req {
	enum mr_http_method method;
	const char *method_name;	/* "GET", "POST", "PATCH", "DELETE" */
	const char *rest;		/* MR_ROUTE_ID: the id; MR_ROUTE_SUBTREE: the path after
					 * the route's ("" or "/..."); MR_ROUTE_EXACT: "" */
	const char *body;		/* POST/PATCH body, not NUL-terminated; NULL when none */
	size_t len;
	int raw;			/* the body is of the route's body_type (an upload), not
					 * JSON */
	/* Routes with .paged, GET: ?cursor=N&limit=N, checked by the HTTP layer. */
	unsigned long cursor;		/* 0 when absent */
	unsigned int limit;		/* MR_HTTP_PAGE_LIMIT_DEFAULT when absent */
};

/* A handler returns the HTTP status and sets *out to a new JSON reference: the answer, or
 * {"error": "field: reason"} on 4xx/5xx (json_req.h mr_json_err), NULL with 204. */
typedef int (*mr_http_handler_fn)(struct mr_appliance *a, const struct mr_http_req *r,
				  json_t **out);

struct mr_http_route {
	const char *path;		/* "/v1/sessions" */
	enum mr_route_match match;
	unsigned int methods;		/* enum mr_http_method bits allowed (405 otherwise) */
	const char *name;		/* for log lines: "/v1/sessions/{id}" */
	mr_http_handler_fn handler;
	/* Instead of handler: a text answer (Prometheus exposition), malloc'd, NULL on
	 * failure (500). GET only. */
	char *(*text)(struct mr_appliance *a);
	const char *text_type;		/* its Content-Type */
	/* GET of a file (a download): the status and, with 200, an open descriptor that the
	 * HTTP layer sends whole and closes, with its Content-Type; otherwise *out as a
	 * handler's. Other methods go to handler. */
	int (*file)(struct mr_appliance *a, const struct mr_http_req *r, int *fd,
		    const char **ctype, json_t **out);
	unsigned int body_required;	/* POST/PATCH without a body: 400 "body: empty" */
	/* A media type POST takes besides application/json ("audio/ogg": an upload, given to
	 * the handler as it came, with req->raw set); NULL: JSON only (415 otherwise). */
	const char *body_type;
	/* The largest body of this route, instead of api.max_body (an upload's own
	 * configured limit); NULL or 0: api.max_body. */
	size_t (*body_max)(struct mr_appliance *a);
	unsigned int paged;		/* GET takes ?cursor=&limit= (anything else is a 400) */
	/* 201 answers get "Location: <location>/<the answer's "id">" when set. */
	const char *location;
	/* MR_ROUTE_ID: the 404 message for an id that is not even well formed
	 * ("no such session"). */
	const char *not_found;
	struct mr_http_route *next;	/* the registry's link (mr_http_route_register) */
};

/* Add a route to the registry (before the API starts; not thread-safe). A path registered
 * twice with the same match kind is a programming error: the second is refused and logged. */
void mr_http_route_register(struct mr_http_route *rt);

/* Register a route from the module that defines it, before main() runs. */
#define MR_HTTP_ROUTE(rt)							\
	static void __attribute__((constructor, used)) mr_http_route_init_##rt(void)	\
	{								\
		mr_http_route_register(&(rt));				\
	}

/* The route for url: an exact path first, then the longest MR_ROUTE_ID / MR_ROUTE_SUBTREE
 * prefix. *rest points into url (the id, or the subtree's rest; "" for an exact path). NULL
 * when nothing matches; also when an MR_ROUTE_ID route matches but the id is malformed or
 * a subtree's rest is too long: then *bad_route is that route (else NULL), for its 404. */
const struct mr_http_route *mr_http_route_find(const char *url, const char **rest,
					       const struct mr_http_route **bad_route);

/* "GET, POST" for an allowed-methods mask. */
const char *mr_http_methods_text(unsigned int methods, char *buf, size_t len);
/* The method bit of a method name (MR_HTTP_OTHER for anything else). */
enum mr_http_method mr_http_method_parse(const char *m);

#endif
