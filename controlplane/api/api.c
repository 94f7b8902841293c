/* SPDX-License-Identifier: BSD-3-Clause
 * REST control API: HTTP routing, authentication, body limits and JSON replies
 * (docs/API.md). The session manager and the stats module answer the requests
 * (mr_http_* in api.h); this file only decides who gets to ask and in what form.
 *
 * The server has no thread of its own: libmicrohttpd runs with external polling (its epoll
 * set) and mr_api_poll() is called from the control loop, so every handler runs on the
 * control thread, the only writer of the flow tables (DESIGN.md §2). That thread also
 * drives the slow path, so nothing here may block it: waits are bounded by the caller's
 * timeout, bodies are bounded by api.max_body, connections by a limit and an idle timeout.
 *
 * GET /v1/ws is upgraded to a WebSocket (ws.c; the protocol is signaling.c's) without the
 * bearer token: see access_cb. The upgraded sockets leave libmicrohttpd for ws.c's own
 * epoll set, which mr_api_poll() waits on together with libmicrohttpd's.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <jansson.h>
#include <rte_log.h>

#include "api.h"
#include "signaling.h"
#include "ws.h"

/* A slow or stalled client holds one of API_MAX_CONNS slots for at most API_CONN_TIMEOUT_S
 * of inactivity; the others keep being served. */
#define API_MAX_CONNS 64
#define API_CONN_TIMEOUT_S 10
/* Session ids: what the session manager hands out, and nothing else reaches a handler. */
#define API_ID_MAX 64
#define API_ROOMS_PATH_MAX 256
#define API_LIST_LIMIT_MAX 1000
#define API_LIST_LIMIT_DEFAULT 100
/* libmicrohttpd runs at least this often, whatever its epoll set says (mr_api_poll). */
#define API_MHD_RUN_MS 100
/* Application errors (signaling.c) a WebSocket client may make before it is disconnected. */
#define API_WS_MAX_ERRORS 5
/* Bound on the number of log lines per second, so that a flood of bad requests cannot
 * turn into a flood of log lines. */
#define API_LOG_PER_SEC 10
/* A body that libmicrohttpd does not let us refuse up front (chunked, or on GET/DELETE) is
 * read and dropped; past this much more than api.max_body the connection is closed. */
#define API_DISCARD_MAX (1024 * 1024)
/* How much of a client's path, method or id is quoted back in an error. */
#define API_ECHO_MAX 80

#define CT_JSON "application/json"
#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define BODY_INTERNAL "{\"error\":\"internal\"}"

struct mr_api {
	struct MHD_Daemon *mhd;
	struct mr_appliance *a;
	int epoll_fd;			/* libmicrohttpd's epoll set: readable = work to do */
	struct mr_ws_server *ws;	/* /v1/ws: the upgraded connections (ws.c) */
	struct mr_signal *sig;		/* their protocol (signaling.c) */
	int ws_fd;			/* ws.c's epoll set */
	int mhd_had_conns;		/* libmicrohttpd had connections at the last turn */
	uint64_t mhd_run_ms;		/* when MHD_run() last ran */
	size_t max_body;
	size_t token_len;		/* 0 = no authentication */
	char token[sizeof(((struct mr_config *)0)->api_token)];
	char listen[64];		/* cfg->api_listen as text, for messages */
	int mhd_verbose;		/* log libmicrohttpd's own messages (log.level debug) */
	/* While starting: where libmicrohttpd's last complaint goes (the cause for err). */
	char *start_err;
	size_t start_errlen;
	/* Log rate limiting. */
	time_t log_sec;
	unsigned int log_count;
	unsigned long log_dropped;
};

enum api_route {
	ROUTE_SESSIONS,		/* /v1/sessions */
	ROUTE_SESSION,		/* /v1/sessions/{id} */
	ROUTE_HEALTH,		/* /v1/health */
	ROUTE_STATS,		/* /v1/stats */
	ROUTE_METRICS,		/* /metrics */
	ROUTE_BATCH,		/* /v1/sessions/batch */
	ROUTE_ROOMS,		/* /v1/rooms and everything under it (controlplane/rooms/rooms.c) */
	ROUTE_WS,		/* /v1/ws: WebSocket signaling (controlplane/api/signaling.c) */
};

enum api_method {
	METHOD_GET = 1 << 0,
	METHOD_POST = 1 << 1,
	METHOD_PATCH = 1 << 2,
	METHOD_DELETE = 1 << 3,
	METHOD_OTHER = 1 << 4,
};

/* Per-request state (libmicrohttpd's con_cls), freed when the request completes. */
struct api_req {
	enum api_route route;
	enum api_method method;
	int want_body;		/* POST/PATCH: buffer the body; otherwise it is discarded */
	int too_big;		/* the body crossed max_body: answer 413 */
	size_t seen;		/* body bytes received, kept or not */
	char id[API_ID_MAX + 1];
	char path[API_ROOMS_PATH_MAX + 1];	/* ROUTE_ROOMS: the URL after "/v1/rooms" */
	char *body;
	size_t len;
	size_t cap;
};

/* Logged like the rest of mrelayd ("MRELAY: ..." on stderr) but without rte_log, so that
 * this file links without the EAL (tests/unit/test_api.c). */
static void
api_vlog(struct mr_api *api, const char *fmt, va_list ap)
{
	time_t now = time(NULL);
	size_t n;
	char line[512];

	if (now != api->log_sec) {
		if (api->log_dropped != 0)
			fprintf(stderr, "MRELAY: api: %lu messages suppressed\n",
				api->log_dropped);
		api->log_sec = now;
		api->log_count = 0;
		api->log_dropped = 0;
	}
	if (api->log_count >= API_LOG_PER_SEC) {
		api->log_dropped++;
		return;
	}
	api->log_count++;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	fprintf(stderr, "MRELAY: api: %s\n", line);
}

static void __attribute__((format(printf, 2, 3)))
api_log(struct mr_api *api, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	api_vlog(api, fmt, ap);
	va_end(ap);
}

/* libmicrohttpd's error log. While starting, the last message is the cause we report in
 * err (e.g. "Failed to bind to port 8080: Address already in use"). Afterwards its messages
 * are mostly about clients (hang-ups, malformed requests, already answered with 400 or
 * closed): logged only at log.level debug, and rate limited. */
static void
mhd_logger(void *cls, const char *fmt, va_list ap)
{
	struct mr_api *api = cls;

	if (api->start_err != NULL) {
		size_t n;

		vsnprintf(api->start_err, api->start_errlen, fmt, ap);
		n = strlen(api->start_err);
		while (n > 0 && (api->start_err[n - 1] == '\n' || api->start_err[n - 1] == '\r'))
			api->start_err[--n] = '\0';
		return;
	}
	if (api->mhd_verbose)
		api_vlog(api, fmt, ap);
}

static int
id_valid(const char *id)
{
	size_t i;

	for (i = 0; id[i] != '\0'; i++) {
		char c = id[i];

		if (i >= API_ID_MAX)
			return 0;
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z') || c == '-' || c == '_'))
			return 0;
	}
	return i > 0;
}

/* ---- replies ---- */

/* Queue text (malloc'd, or a string literal when persistent) with a status. Takes
 * ownership of a malloc'd text in every case. */
static enum MHD_Result
queue_text(struct MHD_Connection *conn, unsigned int status, const char *text, int persistent,
	   const char *ctype, const char *location, const char *allow, int www_auth)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(text != NULL ? strlen(text) : 0, (char *)text,
					       persistent ? MHD_RESPMEM_PERSISTENT :
					       MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		if (!persistent)
			free((char *)text);
		/* Out of memory: closing the connection is all that is left. */
		return MHD_NO;
	}
	if (ctype != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (location != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
	if (allow != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	/* RFC 6750 §3: a 401 names the scheme the client should use. */
	if (www_auth)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
reply_internal(struct MHD_Connection *conn, unsigned int status)
{
	return queue_text(conn, status, BODY_INTERNAL, 1, CT_JSON, NULL,
			  NULL, 0);
}

/* Send body (a reference we own) as compact JSON. */
static enum MHD_Result
reply_json(struct MHD_Connection *conn, unsigned int status, json_t *body,
	   const char *location, const char *allow, int www_auth)
{
	char *text;

	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL)
		return reply_internal(conn, 500);
	return queue_text(conn, status, text, 0, CT_JSON, location, allow, www_auth);
}

static enum MHD_Result __attribute__((format(printf, 5, 6)))
reply_error(struct MHD_Connection *conn, unsigned int status, const char *allow,
	    int www_auth, const char *fmt, ...)
{
	char msg[512];
	json_t *body;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	body = json_pack("{s:s}", "error", msg);
	if (body == NULL)
		return reply_internal(conn, status);
	return reply_json(conn, status, body, NULL, allow, www_auth);
}

#define reply_err(conn, status, ...) reply_error(conn, status, NULL, 0, __VA_ARGS__)

/* Turn a handler's answer into a reply. Handlers are other modules' code: whatever they
 * return, the client gets well-formed HTTP and the control thread goes on. */
static enum MHD_Result
reply_handler(struct mr_api *api, struct MHD_Connection *conn, const char *what, int status,
	      json_t *body)
{
	char location[sizeof("/v1/sessions/") + API_ID_MAX];
	const char *loc = NULL;
	json_t *id;

	if (status < 200 || status > 599) {
		api_log(api, "%s: handler returned status %d", what, status);
		json_decref(body);
		return reply_internal(conn, 500);
	}
	if (status == 204) {
		json_decref(body);
		return queue_text(conn, 204, NULL, 1, NULL, NULL, NULL, 0);
	}
	if (body == NULL) {
		/* 2xx without a body is a failure (most likely allocation) dressed as
		 * success: say so. An error status keeps its code. */
		if (status < 400)
			status = 500;
		return reply_internal(conn, (unsigned int)status);
	}
	if (status == 201) {
		id = json_object_get(body, "id");
		if (json_is_string(id) && id_valid(json_string_value(id))) {
			snprintf(location, sizeof(location), "/v1/sessions/%s",
				 json_string_value(id));
			loc = location;
		}
	}
	return reply_json(conn, (unsigned int)status, body, loc, NULL, 0);
}

/* ---- request handling ---- */

/* RFC 6750 §2.1: "Authorization: Bearer <token>"; the scheme is case-insensitive
 * (RFC 9110 §11.1). The token comparison takes the same time wherever the first
 * difference is, so that the token cannot be guessed byte by byte from response times. */
static int
auth_ok(const struct mr_api *api, struct MHD_Connection *conn)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	unsigned char diff;
	size_t len, i;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	h += 7;
	while (*h == ' ')
		h++;
	len = strlen(h);
	diff = len != api->token_len;
	for (i = 0; i < api->token_len; i++)
		diff |= (unsigned char)api->token[i] ^ (unsigned char)(i < len ? h[i] : 0);
	return diff == 0;
}

static enum api_method
method_parse(const char *m)
{
	if (strcmp(m, MHD_HTTP_METHOD_GET) == 0)
		return METHOD_GET;
	if (strcmp(m, MHD_HTTP_METHOD_POST) == 0)
		return METHOD_POST;
	if (strcmp(m, MHD_HTTP_METHOD_PATCH) == 0)
		return METHOD_PATCH;
	if (strcmp(m, MHD_HTTP_METHOD_DELETE) == 0)
		return METHOD_DELETE;
	return METHOD_OTHER;
}

static const char *
allowed_methods(enum api_route route, unsigned int *mask)
{
	switch (route) {
	case ROUTE_SESSIONS:
		*mask = METHOD_GET | METHOD_POST;
		return "GET, POST";
	case ROUTE_SESSION:
		*mask = METHOD_GET | METHOD_PATCH | METHOD_DELETE;
		return "GET, PATCH, DELETE";
	case ROUTE_BATCH:
		*mask = METHOD_POST;
		return "POST";
	case ROUTE_ROOMS:
		/* Each rooms resource checks its own methods (405 from rooms.c). */
		*mask = METHOD_GET | METHOD_POST | METHOD_PATCH | METHOD_DELETE;
		return "GET, POST, PATCH, DELETE";
	default:
		*mask = METHOD_GET;
		return "GET";
	}
}

/* Route a request from its first line and headers. 0 and r filled in, or an error reply
 * queued (*ret set) and -1. */
static int
route(struct MHD_Connection *conn, const char *url, const char *method, struct api_req *r,
      enum MHD_Result *ret)
{
	static const char prefix[] = "/v1/sessions/";
	char buf[API_ECHO_MAX], mbuf[32];
	const char *allow;
	unsigned int mask;

	if (strcmp(url, "/v1/sessions") == 0) {
		r->route = ROUTE_SESSIONS;
	} else if (strcmp(url, "/v1/sessions/batch") == 0) {
		r->route = ROUTE_BATCH;
	} else if (strncmp(url, "/v1/rooms", 9) == 0 && (url[9] == '\0' || url[9] == '/')) {
		if (strlen(url + 9) > API_ROOMS_PATH_MAX) {
			*ret = reply_err(conn, 404, "path: no such resource '%s'",
					 mr_json_echo(url, buf, sizeof(buf)));
			return -1;
		}
		r->route = ROUTE_ROOMS;
		strcpy(r->path, url + 9);
	} else if (strncmp(url, prefix, sizeof(prefix) - 1) == 0 &&
		   url[sizeof(prefix) - 1] != '\0') {
		const char *id = url + sizeof(prefix) - 1;

		if (!id_valid(id)) {
			*ret = reply_err(conn, 404, "no such session: %s",
					 mr_json_echo(id, buf, sizeof(buf)));
			return -1;
		}
		r->route = ROUTE_SESSION;
		strcpy(r->id, id);
	} else if (strcmp(url, "/v1/health") == 0) {
		r->route = ROUTE_HEALTH;
	} else if (strcmp(url, "/v1/stats") == 0) {
		r->route = ROUTE_STATS;
	} else if (strcmp(url, "/metrics") == 0) {
		r->route = ROUTE_METRICS;
	} else {
		*ret = reply_err(conn, 404, "path: no such resource '%s'",
				 mr_json_echo(url, buf, sizeof(buf)));
		return -1;
	}

	r->method = method_parse(method);
	allow = allowed_methods(r->route, &mask);
	if ((r->method & mask) == 0) {
		*ret = reply_error(conn, 405, allow, 0,
				   "method: %s not allowed on %s (allowed: %s)",
				   mr_json_echo(method, mbuf, sizeof(mbuf)),
				   mr_json_echo(url, buf, sizeof(buf)), allow);
		return -1;
	}
	return 0;
}

/* Strict unsigned decimal: digits only, no sign or space, no overflow. */
static int
ulong_parse(const char *s, unsigned long *v)
{
	unsigned long x = 0;
	size_t i;

	if (s == NULL || s[0] == '\0')
		return -EINVAL;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned int d;

		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		d = (unsigned int)(s[i] - '0');
		if (x > (~0UL - d) / 10)
			return -ERANGE;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

struct list_args {
	unsigned long cursor;
	unsigned long limit;
	int seen_cursor;
	int seen_limit;
	char err[160];
};

static enum MHD_Result
list_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct list_args *la = cls;
	char buf[API_ECHO_MAX];

	(void)kind;
	if (strcmp(key, "cursor") == 0) {
		if (la->seen_cursor++) {
			snprintf(la->err, sizeof(la->err), "cursor: given more than once");
			return MHD_NO;
		}
		if (ulong_parse(value, &la->cursor) < 0) {
			snprintf(la->err, sizeof(la->err),
				 "cursor: must be an unsigned integer "
				 "(the 'next' of the last page)");
			return MHD_NO;
		}
	} else if (strcmp(key, "limit") == 0) {
		if (la->seen_limit++) {
			snprintf(la->err, sizeof(la->err), "limit: given more than once");
			return MHD_NO;
		}
		if (ulong_parse(value, &la->limit) < 0 || la->limit < 1 ||
		    la->limit > API_LIST_LIMIT_MAX) {
			snprintf(la->err, sizeof(la->err),
				 "limit: must be an integer between 1 and %d", API_LIST_LIMIT_MAX);
			return MHD_NO;
		}
	} else {
		snprintf(la->err, sizeof(la->err),
			 "%s: unknown query parameter (allowed: cursor, limit)",
			 mr_json_echo(key, buf, sizeof(buf)));
		return MHD_NO;
	}
	return MHD_YES;
}

static enum MHD_Result
dispatch(struct mr_api *api, struct MHD_Connection *conn, struct api_req *r)
{
	char err[256];
	json_t *body = NULL;
	int status;

	switch (r->route) {
	case ROUTE_SESSIONS:
		if (r->method == METHOD_POST) {
			struct mr_session_req req;

			if (r->len == 0)
				return reply_err(conn, 400, "body: empty");
			if (mr_parse_session_create(r->body, r->len, &req, err, sizeof(err)) < 0)
				return reply_err(conn, 400, "%s", err);
			status = mr_http_session_create(api->a, &req, &body);
			return reply_handler(api, conn, "POST /v1/sessions", status, body);
		} else {
			struct list_args la = { .limit = API_LIST_LIMIT_DEFAULT };

			MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, list_arg, &la);
			if (la.err[0] != '\0')
				return reply_err(conn, 400, "%s", la.err);
			status = mr_http_session_list(api->a, la.cursor, (unsigned int)la.limit,
						      &body);
			return reply_handler(api, conn, "GET /v1/sessions", status, body);
		}
	case ROUTE_SESSION:
		if (r->method == METHOD_GET) {
			status = mr_http_session_get(api->a, r->id, &body);
			return reply_handler(api, conn, "GET /v1/sessions/{id}", status, body);
		} else if (r->method == METHOD_PATCH) {
			struct mr_session_patch p;

			if (r->len == 0)
				return reply_err(conn, 400, "body: empty");
			if (mr_parse_session_patch(r->body, r->len, &p, err, sizeof(err)) < 0)
				return reply_err(conn, 400, "%s", err);
			status = mr_http_session_patch(api->a, r->id, &p, &body);
			return reply_handler(api, conn, "PATCH /v1/sessions/{id}", status, body);
		} else {
			status = mr_http_session_delete(api->a, r->id, &body);
			return reply_handler(api, conn, "DELETE /v1/sessions/{id}", status, body);
		}
	case ROUTE_BATCH:
		if (r->len == 0)
			return reply_err(conn, 400, "body: empty");
		status = mr_http_session_batch(api->a, r->body, r->len, &body);
		return reply_handler(api, conn, "POST /v1/sessions/batch", status, body);
	case ROUTE_ROOMS: {
		static const char *const names[] = {
			[METHOD_GET] = "GET", [METHOD_POST] = "POST", [METHOD_PATCH] = "PATCH",
			[METHOD_DELETE] = "DELETE",
		};

		status = mr_http_rooms(api->a, names[r->method], r->path, r->body, r->len, &body);
		if (status == 201) {
			/* No Location for rooms resources: their ids are nested. */
			return reply_json(conn, 201, body, NULL, NULL, 0);
		}
		return reply_handler(api, conn, "/v1/rooms", status, body);
	}
	case ROUTE_HEALTH:
		status = mr_http_health(api->a, &body);
		return reply_handler(api, conn, "GET /v1/health", status, body);
	case ROUTE_STATS:
		status = mr_http_stats(api->a, &body);
		return reply_handler(api, conn, "GET /v1/stats", status, body);
	case ROUTE_WS:
		/* Answered on the first call (access_cb): a body behind the upgrade request
		 * leaves nothing to do but close. */
		return MHD_NO;
	case ROUTE_METRICS: {
		char *text = mr_http_metrics(api->a);

		if (text == NULL) {
			api_log(api, "GET /metrics: cannot build the exposition (out of memory)");
			return reply_internal(conn, 500);
		}
		return queue_text(conn, 200, text, 0, CT_METRICS, NULL, NULL, 0);
	}
	}
	return reply_internal(conn, 500);
}

/* Append an upload chunk; sets too_big instead of growing past max_body. */
static int
body_append(struct mr_api *api, struct api_req *r, const char *data, size_t n)
{
	size_t cap;
	char *p;

	if (n > api->max_body - r->len) {
		r->too_big = 1;
		free(r->body);
		r->body = NULL;
		r->len = r->cap = 0;
		return 0;
	}
	if (r->len + n > r->cap) {
		cap = r->cap != 0 ? r->cap : 1024;
		while (cap < r->len + n)
			cap *= 2;
		if (cap > api->max_body)
			cap = api->max_body;
		p = realloc(r->body, cap);
		if (p == NULL)
			return -ENOMEM;
		r->body = p;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	return 0;
}

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	  const char *version, const char *upload_data, size_t *upload_data_size,
	  void **con_cls)
{
	struct mr_api *api = cls;
	struct api_req *r = *con_cls;
	enum MHD_Result ret;

	(void)version;
	if (r == NULL) {
		/* First call: the request line and headers are in. Refuse what can be
		 * refused now, before any of the body is read. */
		const char *cl;
		unsigned long clen;

		r = calloc(1, sizeof(*r));
		if (r == NULL) {
			api_log(api, "%s %s: out of memory", method, url);
			return MHD_NO;
		}
		*con_cls = r;
		/* The WebSocket upgrade needs no bearer token: browsers cannot set headers on
		 * a WebSocket. The participant token of the "join" message is the credential,
		 * and a connection that has not joined can do nothing else (signaling.h). The
		 * number of connections is bounded by rooms.ws_max_connections. */
		if (strcmp(url, "/v1/ws") == 0) {
			char mbuf[32];

			r->route = ROUTE_WS;
			r->method = method_parse(method);
			if (r->method != METHOD_GET)
				return reply_error(conn, 405, "GET", 0, "method: %s not allowed "
						   "on /v1/ws (allowed: GET)",
						   mr_json_echo(method, mbuf, sizeof(mbuf)));
			return mr_ws_accept(api->ws, conn);
		}
		if (api->token_len != 0 && !auth_ok(api, conn))
			return reply_error(conn, 401, NULL, 1,
					   "authorization: missing or invalid bearer token");
		if (route(conn, url, method, r, &ret) < 0)
			return ret;
		r->want_body = r->method == METHOD_POST || r->method == METHOD_PATCH;
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (r->want_body && cl != NULL && ulong_parse(cl, &clen) == 0 &&
		    clen > api->max_body)
			return reply_err(conn, 413, "body: larger than %zu bytes", api->max_body);
		return MHD_YES;
	}

	if (*upload_data_size != 0) {
		/* Bodies of GET/DELETE are ignored. A body past the limit without a
		 * Content-Length to refuse it by (chunked) is dropped as it arrives, and
		 * answered with 413 at its end: libmicrohttpd 0.9.75 cannot queue a reply
		 * in the middle of an upload. Either way nothing is kept, and a client that
		 * goes on sending far past the limit is cut off. */
		r->seen += *upload_data_size;
		if (r->seen > api->max_body + API_DISCARD_MAX)
			return MHD_NO;
		if (r->want_body && !r->too_big &&
		    body_append(api, r, upload_data, *upload_data_size) < 0) {
			api_log(api, "%s %s: out of memory for the body", method, url);
			return MHD_NO;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}

	if (r->too_big)
		return reply_err(conn, 413, "body: larger than %zu bytes", api->max_body);
	return dispatch(api, conn, r);
}

static void
completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
	     enum MHD_RequestTerminationCode toe)
{
	struct api_req *r = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (r != NULL) {
		free(r->body);
		free(r);
		*con_cls = NULL;
	}
}

struct mr_api *
mr_api_create(const struct mr_config *cfg, struct mr_appliance *a, char *err, size_t errlen)
{
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage ss;
	struct mr_ws_limits lim;
	unsigned int flags;
	char cause[256] = "";
	struct mr_api *api;
	size_t toklen;

	if (err != NULL && errlen != 0)
		err[0] = '\0';
	if (cfg == NULL) {
		snprintf(err, errlen, "api: no configuration");
		return NULL;
	}
	api = calloc(1, sizeof(*api));
	if (api == NULL) {
		snprintf(err, errlen, "api: out of memory");
		return NULL;
	}
	api->a = a;
	api->epoll_fd = -1;
	api->max_body = cfg->api_max_body;
	api->mhd_verbose = cfg->log_level >= (int)RTE_LOG_DEBUG;
	mr_ep_fmt(&cfg->api_listen, api->listen, sizeof(api->listen), 1);
	toklen = strnlen(cfg->api_token, sizeof(cfg->api_token));
	if (toklen == sizeof(cfg->api_token)) {
		snprintf(err, errlen, "api.token: not terminated");
		goto free_api;
	}
	memcpy(api->token, cfg->api_token, toklen);
	api->token_len = toklen;

	if (api->max_body == 0) {
		snprintf(err, errlen, "api.max_body: must be at least 1 byte");
		goto free_api;
	}

	/* epoll rather than select(): the control thread lives in a DPDK process, which
	 * keeps a descriptor open per hugepage segment, and select() cannot watch a
	 * descriptor above FD_SETSIZE (1024). The cost, in libmicrohttpd 0.9.75: when a
	 * request's last bytes and the client's FIN arrive together, the FIN may be noticed
	 * only at the connection timeout, so such a connection holds its slot up to
	 * API_CONN_TIMEOUT_S. */
	memset(&ss, 0, sizeof(ss));
	flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE;
	if (cfg->api_listen.family == MR_AF4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(cfg->api_listen.port);
		memcpy(&sin->sin_addr, cfg->api_listen.a, 4);
	} else if (cfg->api_listen.family == MR_AF6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(cfg->api_listen.port);
		memcpy(&sin6->sin6_addr, cfg->api_listen.a, 16);
		flags |= MHD_USE_IPv6;
	} else {
		snprintf(err, errlen, "api.listen: no address to listen on");
		goto free_api;
	}

	/* /v1/ws: the WebSocket server and its protocol, before the HTTP server that hands
	 * connections to them. Joining by room and name is only for an API without a token
	 * (signaling.h). */
	api->sig = mr_signal_create(a, toklen == 0);
	if (api->sig == NULL) {
		snprintf(err, errlen, "api: cannot start the signaling: %s", strerror(errno));
		goto free_api;
	}
	/* The configuration loader fills in the documented defaults (docs/CONFIG.md "rooms");
	 * a configuration built by hand (tests) may leave them 0: the same defaults then. */
	lim.max_message = cfg->rooms.ws_max_message ? cfg->rooms.ws_max_message : 65536;
	lim.max_sendbuf = cfg->rooms.ws_max_sendbuf ? cfg->rooms.ws_max_sendbuf : 1 << 20;
	lim.max_connections = cfg->rooms.ws_max_connections ? cfg->rooms.ws_max_connections :
		65536;
	lim.idle_timeout_ms = (cfg->rooms.ws_timeout ? cfg->rooms.ws_timeout : 30) * 1000;
	lim.max_errors = API_WS_MAX_ERRORS;
	api->ws = mr_ws_server_create(&lim, mr_signal_handler(), api->sig);
	if (api->ws == NULL) {
		snprintf(err, errlen, "api: cannot create the WebSocket server: %s",
			 strerror(errno));
		goto free_sig;
	}
	api->ws_fd = mr_ws_server_fd(api->ws);

	/* No MHD_USE_INTERNAL_POLLING_THREAD: mr_api_poll() drives the server. */
	api->start_err = cause;
	api->start_errlen = sizeof(cause);
	api->mhd = MHD_start_daemon(flags, cfg->api_listen.port, NULL, NULL, access_cb, api,
				    /* first, so that it sees the messages about the others */
				    MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, api,
				    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)API_MAX_CONNS,
				    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)API_CONN_TIMEOUT_S,
				    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, api,
				    MHD_OPTION_END);
	api->start_err = NULL;
	if (api->mhd == NULL) {
		snprintf(err, errlen, "api.listen %s: cannot start the HTTP server: %s",
			 api->listen, cause[0] != '\0' ? cause : "unknown error");
		goto free_ws;
	}
	info = MHD_get_daemon_info(api->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (info == NULL || info->epoll_fd < 0) {
		snprintf(err, errlen, "api.listen %s: libmicrohttpd has no epoll set",
			 api->listen);
		goto stop_mhd;
	}
	api->epoll_fd = info->epoll_fd;
	return api;

stop_mhd:
	MHD_stop_daemon(api->mhd);
free_ws:
	mr_ws_server_free(api->ws);
free_sig:
	mr_signal_free(api->sig);
free_api:
	free(api);
	return NULL;
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
mr_api_poll(struct mr_api *api, int timeout_ms)
{
	const union MHD_DaemonInfo *info;
	MHD_UNSIGNED_LONG_LONG mhd_to;
	struct pollfd pfd[2];
	int wait, n, timed, ws_to, busy;
	uint64_t now;

	if (api == NULL)
		return;
	wait = timeout_ms > 0 ? timeout_ms : 0;
	/* libmicrohttpd says when it must run again regardless of socket activity:
	 * connection timeouts, and data it has read but not processed yet (0 then). */
	timed = MHD_get_timeout(api->mhd, &mhd_to) == MHD_YES;
	if (timed && mhd_to < (MHD_UNSIGNED_LONG_LONG)wait)
		wait = (int)mhd_to;
	/* libmicrohttpd 0.9.75 closes its descriptor of an upgraded socket (ws.c has its own)
	 * and frees the connection only on a later run, and nothing wakes its epoll set for
	 * that: an idle WebSocket would hold one of the API_MAX_CONNS slots, a burst of
	 * upgrades would take them all (and at its connection limit libmicrohttpd takes the
	 * listening socket out of its epoll set until a later run), and ending the WebSocket
	 * would not end its TCP connection. So while libmicrohttpd has connections it runs
	 * every turn, and once more after the last is gone (that run listens again), cheap
	 * next to the work those connections bring; and at least every API_MHD_RUN_MS, so
	 * that no other such gap can leave the API deaf. */
	now = mono_ms();
	info = MHD_get_daemon_info(api->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	busy = info == NULL || info->num_connections != 0;
	if (busy || api->mhd_had_conns || now - api->mhd_run_ms >= API_MHD_RUN_MS)
		timed = 1;
	api->mhd_had_conns = busy;
	/* So does the WebSocket server: idle timeouts, close handshakes, on_close due. */
	ws_to = mr_ws_server_next_timeout(api->ws, now);
	if (ws_to >= 0 && ws_to < wait)
		wait = ws_to;

	/* Both epoll sets in one wait: neither server's clients wait for the other's. */
	pfd[0].fd = api->epoll_fd;
	pfd[0].events = POLLIN;
	pfd[0].revents = 0;
	pfd[1].fd = api->ws_fd;
	pfd[1].events = POLLIN;
	pfd[1].revents = 0;
	n = poll(pfd, 2, wait);
	if (n < 0 && errno != EINTR)
		api_log(api, "poll: %s", strerror(errno));
	if ((n > 0 && pfd[0].revents != 0) || timed) {
		/* Upgrades happen in here (on_open, and the frames that came with the
		 * handshake): a new WebSocket's idle deadline counts from now, not from the
		 * last time a WebSocket had work. */
		mr_ws_server_set_clock(api->ws, mono_ms());
		if (MHD_run(api->mhd) != MHD_YES)
			api_log(api, "libmicrohttpd: MHD_run failed");
		api->mhd_run_ms = mono_ms();
	}
	now = mono_ms();
	if ((n > 0 && pfd[1].revents != 0) || mr_ws_server_next_timeout(api->ws, now) == 0)
		mr_ws_server_poll(api->ws, now);
}

json_t *
mr_api_ws_stats(const struct mr_api *api)
{
	struct mr_ws_stats st;
	json_t *o;

	if (api == NULL || api->ws == NULL)
		return json_object();
	mr_ws_server_stats(api->ws, &st);
	o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
		      "connections", (json_int_t)st.connections,
		      "accepted", (json_int_t)st.accepted, "refused", (json_int_t)st.refused,
		      "rx_bytes", (json_int_t)st.rx_bytes, "tx_bytes", (json_int_t)st.tx_bytes,
		      "rx_messages", (json_int_t)st.rx_messages,
		      "tx_messages", (json_int_t)st.tx_messages,
		      "protocol_errors", (json_int_t)st.protocol_errors,
		      "app_errors", (json_int_t)st.app_errors,
		      "timeouts", (json_int_t)st.timeouts, "slow", (json_int_t)st.slow);
	if (o != NULL)
		mr_signal_stats(api->sig, o);
	return o;
}

void
mr_api_free(struct mr_api *api)
{
	if (api == NULL)
		return;
	/* WebSockets first: their on_close calls reach the signaling, which still has the
	 * rooms (freed after the API). Then open HTTP connections are closed and their
	 * requests completed (completed_cb). */
	mr_ws_server_free(api->ws);
	mr_signal_free(api->sig);
	MHD_stop_daemon(api->mhd);
	free(api);
}
