/* SPDX-License-Identifier: BSD-3-Clause
 * REST control API: authentication, body limits, routing and JSON replies (docs/API.md).
 * The modules register their routes themselves (router.h: sessions, rooms, stats); this file
 * only decides who gets to ask and in what form.
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
#include <sys/stat.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <jansson.h>

#include "mono.h"
#include <rte_log.h>

#include "api.h"
#include "guard.h"
#include "router.h"
#include "signaling.h"
#include "ws.h"

/* Connection slots and deadlines (docs/OPERATIONS.md "Security"), the defaults of a
 * configuration built by hand (tests); mrelayd's configuration loader fills in the same. A
 * client that sends nothing at all loses its slot after API_CONN_TIMEOUT_S of inactivity;
 * one that trickles bytes, after api.header_timeout / api.request_timeout. */
#define API_MAX_CONNS 4096
#define API_MAX_CONNS_PER_ADDR 64
#define API_HEADER_TIMEOUT_MS 5000
#define API_REQUEST_TIMEOUT_MS 30000
#define API_CONN_TIMEOUT_S 10
/* Connections shut down by us that libmicrohttpd has not closed yet, at most. */
#define API_CUT_MARGIN 256
/* Descriptors of other modules in the control loop's wait (mr_api_watch). */
#define API_MAX_WATCH 4
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
#define BODY_INTERNAL "{\"error\":\"internal\"}"

/* One TCP connection of libmicrohttpd's (its socket context), on at most one of the two
 * deadline lists: waiting for a request's headers (since it connected or its last request
 * ended), or in a request (since its headers came in). Each list is sorted by deadline since
 * its entries all get the same delay. */
struct api_conn {
	struct api_conn *prev;
	struct api_conn *next;
	struct api_list *list;		/* NULL: on none (upgraded, or being closed) */
	uint64_t deadline;
	int fd;
	int cut;			/* shut down by conn_cut */
	struct mr_peer *peer;
	struct sockaddr_storage sa;	/* for the log */
};

struct api_list {
	struct api_conn *head;
	struct api_conn *tail;
};

struct mr_api {
	struct MHD_Daemon *mhd;
	struct mr_guard *guard;		/* per-address counts, refusal counters */
	struct api_list waiting;	/* for headers: api.header_timeout */
	struct api_list busy;		/* in a request: api.request_timeout */
	unsigned int nconns;		/* libmicrohttpd's connections (ours: socket contexts) */
	unsigned int ncut;		/* of those, shut down by us and not closed yet */
	unsigned int max_conns;
	unsigned int max_per_addr;
	unsigned int header_ms;
	unsigned int request_ms;
	/* Host names (besides the listen address) and origins a browser may use. */
	unsigned int n_hosts;
	char hosts[MR_API_NAMES_MAX][128];
	unsigned int n_origins;
	char origins[MR_API_NAMES_MAX][128];
	int listen_any;			/* listening on 0.0.0.0 or [::] */
	int listen_loopback;
	struct mr_appliance *a;
	int epoll_fd;			/* libmicrohttpd's epoll set: readable = work to do */
	struct mr_ws_server *ws;	/* /v1/ws: the upgraded connections (ws.c) */
	struct mr_signal *sig;		/* their protocol (signaling.c) */
	int ws_fd;			/* ws.c's epoll set */
	struct {			/* mr_api_watch(): ng's epoll set, Redis; fd -1: free */
		int fd;
		void (*cb)(void *);
		void *arg;
	} extra[API_MAX_WATCH];
	/* mr_api_set_refusal(): the service's objects are not served here (a standby). */
	int (*refuse)(void *arg, char *msg, size_t len);
	void *refuse_arg;
	/* mr_api_set_elsewhere(): a 404 may be another appliance's object; the requests
	 * waiting for the answer (suspended), and how many were sent elsewhere. */
	int (*elsewhere)(void *arg, const char *url, mr_api_found_fn done, void *ctx);
	void *elsewhere_arg;
	struct api_req *waiting_head;
	uint64_t redirected;
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

/* Per-request state (libmicrohttpd's con_cls), freed when the request completes. */
struct api_req {
	int started;		/* the access handler has seen the headers */
	const char *raw_uri;	/* the request line's target, before libmicrohttpd's changes */
	size_t raw_len;		/* its length up to the first NUL */
	int bad_uri;		/* %00 in its path */
	int has_body;		/* a Content-Length other than 0, or chunked */
	const struct mr_http_route *rt;	/* NULL: /v1/ws (answered on the first call) */
	enum mr_http_method method;
	int want_body;		/* POST/PATCH: buffer the body; otherwise it is discarded */
	int too_big;		/* the body crossed max_body: answer 413 */
	size_t max_body;	/* the route's limit (api.max_body unless it has its own) */
	int raw;		/* the body is of the route's body_type, not JSON */
	size_t seen;		/* body bytes received, kept or not */
	char rest[MR_HTTP_SUBTREE_MAX + 1];	/* the id, or the rest of a subtree's path */
	char *body;
	size_t len;
	size_t cap;
	/* Suspended while another appliance is asked (api_elsewhere): its link to this
	 * request (the lookup's context, which outlives it), the 404 it had, and once the
	 * answer came the reply to give when libmicrohttpd calls again. */
	struct api_wait *wait;
	struct MHD_Connection *conn;
	struct api_req *wprev, *wnext;
	json_t *held;
	int done_status;
	json_t *done_body;
};

/* The context of a lookup elsewhere: freed by its answer, whether or not the request is
 * still there (r NULL: gone, at a stop). */
struct api_wait {
	struct mr_api *api;
	struct api_req *r;
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

/* ---- connections: slots, deadlines, per-address caps (docs/OPERATIONS.md "Security") ---- */

static void
conn_list_del(struct api_conn *c)
{
	struct api_list *l = c->list;

	if (l == NULL)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NULL;
	c->list = NULL;
}

static void
conn_list_add(struct api_list *l, struct api_conn *c, uint64_t deadline)
{
	conn_list_del(c);
	c->deadline = deadline;
	c->list = l;
	c->next = NULL;
	c->prev = l->tail;
	if (l->tail != NULL)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
}

static struct api_conn *
conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

static const struct sockaddr *
conn_sa(const struct api_conn *c)
{
	return c != NULL && c->sa.ss_family != 0 ? (const struct sockaddr *)&c->sa : NULL;
}

/* End a connection from outside libmicrohttpd: shutdown() makes its socket readable (end of
 * file), and libmicrohttpd closes it on its next run (notify_cb then frees c). The descriptor
 * stays open until then, so it cannot be reused under libmicrohttpd's feet. */
static void
conn_cut(struct mr_api *api, struct api_conn *c, enum mr_refusal why, const char *what)
{
	conn_list_del(c);
	if (c->fd >= 0)
		shutdown(c->fd, SHUT_RDWR);
	c->fd = -1;
	c->cut = 1;
	api->ncut++;
	mr_guard_refuse(api->guard, why, conn_sa(c), what);
}

static void
conns_expire(struct mr_api *api, uint64_t now)
{
	while (api->waiting.head != NULL && api->waiting.head->deadline <= now)
		conn_cut(api, api->waiting.head, MR_REFUSE_HEADER_TIMEOUT,
			 "no complete request headers within api.header_timeout");
	while (api->busy.head != NULL && api->busy.head->deadline <= now)
		conn_cut(api, api->busy.head, MR_REFUSE_REQUEST_TIMEOUT,
			 "request not done within api.request_timeout");
}

/* Milliseconds until the next connection deadline, -1 when none. */
static int
conns_next_ms(const struct mr_api *api, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	if (api->waiting.head != NULL)
		next = api->waiting.head->deadline;
	if (api->busy.head != NULL && api->busy.head->deadline < next)
		next = api->busy.head->deadline;
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : next - now > INT32_MAX ? INT32_MAX : (int)(next - now);
}

/* libmicrohttpd asks before it takes a new connection. */
static enum MHD_Result
accept_cb(void *cls, const struct sockaddr *sa, socklen_t salen)
{
	struct mr_api *api = cls;
	struct mr_peer *p;

	(void)salen;
	p = mr_guard_peer(api->guard, sa);
	if (p != NULL && p->rest >= api->max_per_addr) {
		mr_guard_refuse(api->guard, MR_REFUSE_PER_ADDRESS, sa,
				"the address has api.max_connections_per_address connections");
		return MHD_NO;
	}
	mr_guard_peer_put(api->guard, p);
	if (api->nconns - api->ncut >= api->max_conns) {
		/* Every slot is taken: the connection that has waited longest for a request
		 * (an idle keep-alive, a slow or silent client) makes room, so that a health
		 * probe or a real client still gets in. Only connections in a request are
		 * never cut for a newcomer. */
		if (api->waiting.head == NULL || api->nconns >= api->max_conns + API_CUT_MARGIN) {
			mr_guard_refuse(api->guard, MR_REFUSE_FULL, sa,
					"every connection slot (api.max_connections) is in a request");
			return MHD_NO;
		}
		conn_cut(api, api->waiting.head, MR_REFUSE_EVICTED,
			 "idle while every slot was taken: its slot went to a new connection");
	}
	return MHD_YES;
}

static void
notify_cb(void *cls, struct MHD_Connection *conn, void **socket_context,
	  enum MHD_ConnectionNotificationCode toe)
{
	struct mr_api *api = cls;
	struct api_conn *c = *socket_context;
	const union MHD_ConnectionInfo *ci;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		c = calloc(1, sizeof(*c));
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (c == NULL) {
			/* Untracked, it would have no deadline: refuse it instead. */
			if (ci != NULL)
				shutdown(ci->connect_fd, SHUT_RDWR);
			return;
		}
		c->fd = ci != NULL ? ci->connect_fd : -1;
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (ci != NULL && ci->client_addr != NULL) {
			size_t n = ci->client_addr->sa_family == AF_INET6 ?
				sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);

			if (ci->client_addr->sa_family == AF_INET ||
			    ci->client_addr->sa_family == AF_INET6)
				memcpy(&c->sa, ci->client_addr, n);
		}
		c->peer = mr_guard_peer(api->guard, conn_sa(c));
		if (c->peer != NULL)
			c->peer->rest++;
		api->nconns++;
		conn_list_add(&api->waiting, c, mr_mono_ms() + api->header_ms);
		*socket_context = c;
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && c != NULL) {
		if (c->cut)
			api->ncut--;
		conn_list_del(c);
		if (c->peer != NULL) {
			c->peer->rest--;
			mr_guard_peer_put(api->guard, c->peer);
		}
		api->nconns--;
		free(c);
		*socket_context = NULL;
	}
}

/* The request line is in (before libmicrohttpd decodes the path): what it returns becomes
 * the request's con_cls. libmicrohttpd cuts the path at a NUL, raw or %00, without a word:
 * the raw target is kept to find out (framing_check). */
static void *
uri_cb(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct api_req *r;

	(void)cls;
	(void)conn;
	r = calloc(1, sizeof(*r));
	if (r == NULL || uri == NULL)
		return r;
	r->raw_uri = uri;
	r->raw_len = strlen(uri);
	{
		/* In the path: the query is parsed apart (list_arg refuses what it cuts). */
		const char *q = strchr(uri, '?'), *z = strstr(uri, "%00");

		r->bad_uri = z != NULL && (q == NULL || z < q);
	}
	return r;
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

/* A file download: fd is sent whole (libmicrohttpd reads it as the client takes it) and
 * closed in every case. */
static enum MHD_Result
reply_fd(struct MHD_Connection *conn, int fd, const char *ctype)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	struct stat sb;

	if (fstat(fd, &sb) != 0) {
		close(fd);
		return reply_internal(conn, 500);
	}
	resp = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
	if (resp == NULL) {
		close(fd);
		return MHD_NO;
	}
	if (ctype != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	ret = MHD_queue_response(conn, 200, resp);
	MHD_destroy_response(resp);
	return ret;
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
reply_handler(struct mr_api *api, struct MHD_Connection *conn, const struct mr_http_route *rt,
	      const char *method, int status, json_t *body)
{
	char location[MR_HTTP_ID_MAX + 128];
	const char *loc = NULL;
	const char *dummy;
	json_t *id;

	if (status < 200 || status > 599) {
		api_log(api, "%s %s: handler returned status %d", method, rt->name, status);
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
	if (status == 307) {
		/* A creation placed on another appliance (state.h mr_state_redirect); copied:
		 * reply_json frees the body before the header is written. */
		const char *l = json_string_value(json_object_get(body, "location"));

		if (l != NULL && strlen(l) < sizeof(location)) {
			snprintf(location, sizeof(location), "%s", l);
			loc = location;
		}
	} else if (status == 201 && rt->location != NULL) {
		const struct mr_http_route *bad;

		id = json_object_get(body, "id");
		snprintf(location, sizeof(location), "%s/%s", rt->location,
			 json_is_string(id) ? json_string_value(id) : "");
		/* Only an id the router would route back to. */
		if (json_is_string(id) && mr_http_route_find(location, &dummy, &bad) != NULL)
			loc = location;
	}
	return reply_json(conn, (unsigned int)status, body, loc, NULL, 0);
}

/* ---- what a request must look like (docs/OPERATIONS.md "Security") ---- */

struct hdr_scan {
	unsigned int cl, te, host, origin;
	const char *cl_value, *te_value, *host_value, *origin_value;
};

static enum MHD_Result
hdr_scan_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct hdr_scan *h = cls;

	(void)kind;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		h->cl++;
		h->cl_value = value;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		h->te++;
		h->te_value = value;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0) {
		h->host++;
		h->host_value = value;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_ORIGIN) == 0) {
		h->origin++;
		h->origin_value = value;
	}
	return MHD_YES;
}

/* The host part of a Host header or an origin's authority: "[::1]" of "[::1]:8080",
 * "example.com" of "example.com:8080". Copied to buf, lower case. */
static void
host_part(const char *v, size_t n, char *buf, size_t len)
{
	size_t i, end = n;

	if (n > 0 && v[0] == '[') {
		const char *rb = memchr(v, ']', n);

		end = rb != NULL ? (size_t)(rb - v) + 1 : n;
	} else {
		const char *colon = memchr(v, ':', n);

		if (colon != NULL)
			end = (size_t)(colon - v);
	}
	if (end >= len)
		end = len - 1;
	for (i = 0; i < end; i++)
		buf[i] = (char)((v[i] >= 'A' && v[i] <= 'Z') ? v[i] + 32 : v[i]);
	buf[end] = '\0';
}

/* 1 if a literal IPv4 address or a bracketed IPv6 one. */
static int
ip_literal(const char *h)
{
	unsigned char a[16];
	char tmp[64];
	size_t n = strlen(h);

	if (inet_pton(AF_INET, h, a) == 1)
		return 1;
	if (n < 3 || n - 2 >= sizeof(tmp) || h[0] != '[' || h[n - 1] != ']')
		return 0;
	memcpy(tmp, h + 1, n - 2);
	tmp[n - 2] = '\0';
	return inet_pton(AF_INET6, tmp, a) == 1;
}

/* The Host a browser sends names this API: its listen address, "localhost" when that is a
 * loopback address, any IP address when it listens on all of them, or api.allowed_hosts.
 * What DNS rebinding cannot forge: a name of the attacker's resolving to us. */
static int
host_ok(const struct mr_api *api, const char *v)
{
	char h[136], own[72];
	unsigned int i;

	host_part(v, strlen(v), h, sizeof(h));
	host_part(api->listen, strlen(api->listen), own, sizeof(own));
	if (strcmp(h, own) == 0)
		return 1;
	if (api->listen_loopback && (strcmp(h, "localhost") == 0 || strcmp(h, "localhost.") == 0))
		return 1;
	if (api->listen_any && ip_literal(h))
		return 1;
	for (i = 0; i < api->n_hosts; i++)
		if (strcasecmp(api->hosts[i], h) == 0 || strcasecmp(api->hosts[i], v) == 0)
			return 1;
	return 0;
}

/* An Origin (sent by browsers only) is the API's own (the page came from the Host it asks)
 * or one of api.allowed_origins. */
static int
origin_ok(const struct mr_api *api, const char *origin, const char *host)
{
	const char *auth = NULL;
	unsigned int i;

	for (i = 0; i < api->n_origins; i++)
		if (strcasecmp(api->origins[i], origin) == 0)
			return 1;
	if (strncasecmp(origin, "http://", 7) == 0)
		auth = origin + 7;
	else if (strncasecmp(origin, "https://", 8) == 0)
		auth = origin + 8;
	return auth != NULL && host != NULL && strcasecmp(auth, host) == 0;
}

/* The media type t, any case, with or without parameters (RFC 9110 §8.3.1). */
static int
ctype_is(const char *v, const char *t)
{
	size_t n = strlen(t);

	if (v == NULL || strncasecmp(v, t, n) != 0)
		return 0;
	v += n;
	while (*v == ' ' || *v == '\t')
		v++;
	return *v == '\0' || *v == ';';
}

/* Refuse what a proxy in front could read differently from us (RFC 9112 §6.3), a path
 * cut short by a NUL, a Host that is not ours and a foreign Origin. 0, or -1 with a reply
 * queued (*ret): replied on the first call, the connection is closed after it. */
static int
request_check(struct mr_api *api, struct MHD_Connection *conn, struct api_req *r,
	      const char *version, enum MHD_Result *ret)
{
	struct api_conn *c = conn_of(conn);
	const struct sockaddr *sa = conn_sa(c);
	struct hdr_scan h = { 0 };
	char buf[API_ECHO_MAX];

	MHD_get_connection_values(conn, MHD_HEADER_KIND, hdr_scan_cb, &h);
#define REFUSE(why, what, status, ...) do { \
		mr_guard_refuse(api->guard, why, sa, what); \
		*ret = reply_err(conn, status, __VA_ARGS__); \
		return -1; \
	} while (0)
	if (r->bad_uri || (r->raw_uri != NULL && version != NULL && version[0] != '\0' &&
			   r->raw_uri + r->raw_len + 1 != version))
		REFUSE(MR_REFUSE_FRAMING, "NUL in the path", 400, "path: contains a NUL byte");
	if (h.te != 0 && h.cl != 0)
		REFUSE(MR_REFUSE_FRAMING, "Content-Length with Transfer-Encoding", 400,
		       "transfer-encoding: not allowed together with content-length");
	if (h.cl > 1)
		REFUSE(MR_REFUSE_FRAMING, "two Content-Length headers", 400,
		       "content-length: given more than once");
	if (h.te > 1 || (h.te == 1 && strcasecmp(h.te_value, "chunked") != 0))
		REFUSE(MR_REFUSE_FRAMING, "a transfer coding other than chunked", 400,
		       "transfer-encoding: only 'chunked' is accepted");
	if (h.host > 1)
		REFUSE(MR_REFUSE_FRAMING, "two Host headers", 400, "host: given more than once");
	if (h.host == 1 && !host_ok(api, h.host_value))
		REFUSE(MR_REFUSE_HOST, "Host not this API's", 403,
		       "host: '%s' is not a name of this API (api.allowed_hosts)",
		       mr_json_echo(h.host_value, buf, sizeof(buf)));
	if (h.origin > 1 || (h.origin == 1 && !origin_ok(api, h.origin_value, h.host_value)))
		REFUSE(MR_REFUSE_ORIGIN, "a foreign Origin", 403,
		       "origin: '%s' may not use this API (api.allowed_origins)",
		       mr_json_echo(h.origin_value != NULL ? h.origin_value : "", buf,
				    sizeof(buf)));
#undef REFUSE
	r->has_body = (h.cl == 1 && strcmp(h.cl_value, "0") != 0) || h.te != 0;
	return 0;
}

/* A body must say it is JSON (or the route's own media type, an upload): a form a web
 * page may post to any site without asking (text/plain, application/x-www-form-urlencoded,
 * multipart/form-data) is not. */
static int
ctype_check(struct mr_api *api, struct MHD_Connection *conn, struct api_req *r,
	    enum MHD_Result *ret)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_CONTENT_TYPE);

	if (!r->want_body || !r->has_body || ctype_is(v, CT_JSON))
		return 0;
	if (r->rt->body_type != NULL && ctype_is(v, r->rt->body_type)) {
		r->raw = 1;
		return 0;
	}
	mr_guard_refuse(api->guard, MR_REFUSE_CONTENT_TYPE, conn_sa(conn_of(conn)),
			"a body that is not application/json");
	if (r->rt->body_type != NULL)
		*ret = reply_err(conn, 415, "content-type: must be application/json or %s",
				 r->rt->body_type);
	else
		*ret = reply_err(conn, 415, "content-type: must be application/json");
	return -1;
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

/* Route a request from its first line and headers. 0 and r filled in, or an error reply
 * queued (*ret set) and -1. */
static int
route(struct MHD_Connection *conn, const char *url, const char *method, struct api_req *r,
      enum MHD_Result *ret)
{
	const struct mr_http_route *bad;
	char buf[API_ECHO_MAX], mbuf[32], allow[64];
	const char *rest;

	r->rt = mr_http_route_find(url, &rest, &bad);
	if (r->rt == NULL) {
		if (bad != NULL && bad->not_found != NULL)
			*ret = reply_err(conn, 404, "%s: %s", bad->not_found,
					 mr_json_echo(rest, buf, sizeof(buf)));
		else
			*ret = reply_err(conn, 404, "path: no such resource '%s'",
					 mr_json_echo(url, buf, sizeof(buf)));
		return -1;
	}
	snprintf(r->rest, sizeof(r->rest), "%s", rest);
	r->method = mr_http_method_parse(method);
	if ((r->method & r->rt->methods) == 0) {
		mr_http_methods_text(r->rt->methods, allow, sizeof(allow));
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
		    la->limit > MR_HTTP_PAGE_LIMIT_MAX) {
			snprintf(la->err, sizeof(la->err),
				 "limit: must be an integer between 1 and %d",
				 MR_HTTP_PAGE_LIMIT_MAX);
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

/* ---- objects on another appliance (mr_api_set_elsewhere) ---- */

static void
wait_unlink(struct mr_api *api, struct api_req *r)
{
	if (r->wprev != NULL)
		r->wprev->wnext = r->wnext;
	else if (api->waiting_head == r)
		api->waiting_head = r->wnext;
	if (r->wnext != NULL)
		r->wnext->wprev = r->wprev;
	r->wprev = r->wnext = NULL;
}

static void
api_found(void *ctx, int status, json_t *body)
{
	struct api_wait *w = ctx;
	struct api_req *r = w->r;
	struct mr_api *api = w->api;

	free(w);
	if (r == NULL) {
		json_decref(body);
		return;
	}
	r->wait = NULL;
	if (status == 307 && body != NULL) {
		json_decref(r->held);
		r->done_body = body;
		api->redirected++;
	} else {
		json_decref(body);
		status = 404;
		r->done_body = r->held;
	}
	r->held = NULL;
	r->done_status = status;
	wait_unlink(api, r);
	MHD_resume_connection(r->conn);	/* libmicrohttpd calls access_cb again */
}

/* A 404: ask whether another appliance has it. 0: the request is suspended (body kept as
 * the answer should nobody have it); -1: answer the 404 now. */
static int
api_elsewhere(struct mr_api *api, struct MHD_Connection *conn, struct api_req *r,
	      const char *url, json_t *body)
{
	struct api_wait *w;

	if (api->elsewhere == NULL || (w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	w->api = api;
	w->r = r;
	r->wait = w;
	r->conn = conn;
	r->held = body;
	if (api->elsewhere(api->elsewhere_arg, url, api_found, w) < 0) {
		r->wait = NULL;
		r->held = NULL;
		free(w);
		return -1;
	}
	if (r->wait == NULL) {
		/* Answered at once (from api_found): not suspended, nothing to resume. */
		return -1;
	}
	MHD_suspend_connection(conn);
	r->wnext = api->waiting_head;
	if (r->wnext != NULL)
		r->wnext->wprev = r;
	api->waiting_head = r;
	return 0;
}

static enum MHD_Result
dispatch(struct mr_api *api, struct MHD_Connection *conn, struct api_req *r, const char *url)
{
	static const char *const names[] = {
		[MR_HTTP_GET] = "GET", [MR_HTTP_POST] = "POST", [MR_HTTP_PATCH] = "PATCH",
		[MR_HTTP_DELETE] = "DELETE",
	};
	const struct mr_http_route *rt = r->rt;
	struct mr_http_req hr = {
		.method = r->method, .method_name = names[r->method], .rest = r->rest,
		.body = r->len ? r->body : NULL, .len = r->len, .raw = r->raw,
		.limit = MR_HTTP_PAGE_LIMIT_DEFAULT,
	};
	json_t *body = NULL;
	int status;

	if (rt->text != NULL) {
		char *text = rt->text(api->a);

		if (text == NULL) {
			api_log(api, "GET %s: cannot build the answer (out of memory)", rt->name);
			return reply_internal(conn, 500);
		}
		return queue_text(conn, 200, text, 0, rt->text_type, NULL, NULL, 0);
	}
	if (rt->file != NULL && r->method == MR_HTTP_GET) {
		const char *ctype = NULL;
		int fd = -1;

		status = rt->file(api->a, &hr, &fd, &ctype, &body);
		if (status == 200 && fd >= 0)
			return reply_fd(conn, fd, ctype);
		if (fd >= 0)
			close(fd);
		return reply_handler(api, conn, rt, hr.method_name, status, body);
	}
	if (rt->body_required && r->want_body && r->len == 0)
		return reply_err(conn, 400, "body: empty");
	if (rt->paged && r->method == MR_HTTP_GET) {
		struct list_args la = { .limit = MR_HTTP_PAGE_LIMIT_DEFAULT };

		MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, list_arg, &la);
		if (la.err[0] != '\0')
			return reply_err(conn, 400, "%s", la.err);
		hr.cursor = la.cursor;
		hr.limit = (unsigned int)la.limit;
	}
	status = rt->handler(api->a, &hr, &body);
	if (status == 404 && api_elsewhere(api, conn, r, url, body) == 0)
		return MHD_YES;		/* suspended until the answer */
	return reply_handler(api, conn, rt, hr.method_name, status, body);
}

/* Append an upload chunk; sets too_big instead of growing past max_body. */
static int
body_append(struct mr_api *api, struct api_req *r, const char *data, size_t n)
{
	size_t cap;
	char *p;

	if (n > r->max_body - r->len) {
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
		if (cap > r->max_body)
			cap = r->max_body;
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

	if (r == NULL || !r->started) {
		/* First call: the request line and headers are in. Refuse what can be
		 * refused now, before any of the body is read. */
		struct api_conn *c = conn_of(conn);
		const char *cl;
		unsigned long clen;

		if (r == NULL) {
			r = calloc(1, sizeof(*r));
			if (r == NULL) {
				api_log(api, "%s %s: out of memory", method, url);
				return MHD_NO;
			}
			*con_cls = r;
		}
		r->started = 1;
		/* From now on the whole request has api.request_timeout. */
		if (c != NULL && !c->cut)
			conn_list_add(&api->busy, c, mr_mono_ms() + api->request_ms);
		if (request_check(api, conn, r, version, &ret) < 0)
			return ret;
		/* The WebSocket upgrade needs no bearer token: browsers cannot set headers on
		 * a WebSocket. The participant token of the "join" message is the credential,
		 * and a connection that has not joined can do nothing else (signaling.h). The
		 * number of connections is bounded by rooms.ws_max_connections. */
		if (strcmp(url, "/v1/ws") == 0) {
			char mbuf[32], msg[160];

			r->rt = NULL;
			/* A standby has none of the service's rooms to join: the holder does. */
			if (api->refuse != NULL && api->refuse(api->refuse_arg, msg, sizeof(msg)))
				return reply_err(conn, 503, "%s", msg);
			/* Upgraded, the socket leaves libmicrohttpd: ws.c's limits apply. */
			if (c != NULL)
				conn_list_del(c);
			r->method = mr_http_method_parse(method);
			if (r->method != MR_HTTP_GET)
				return reply_error(conn, 405, "GET", 0, "method: %s not allowed "
						   "on /v1/ws (allowed: GET)",
						   mr_json_echo(method, mbuf, sizeof(mbuf)));
			return mr_ws_accept(api->ws, conn);
		}
		/* The WebRTC demo page is static and public (controlplane/webrtc/demo.c). */
		if (api->token_len != 0 && strcmp(url, "/demo/") != 0 && strcmp(url, "/demo") != 0 &&
		    !auth_ok(api, conn))
			return reply_error(conn, 401, NULL, 1,
					   "authorization: missing or invalid bearer token");
		if (route(conn, url, method, r, &ret) < 0)
			return ret;
		/* A standby serves none of the service's objects: the holder does
		 * (docs/OPERATIONS.md "Active/standby takeover"); nor their signaling (above). */
		if (strncmp(url, "/v1/sessions", 12) == 0 || strncmp(url, "/v1/rooms", 9) == 0) {
			char msg[160];

			if (api->refuse != NULL && api->refuse(api->refuse_arg, msg, sizeof(msg)))
				return reply_err(conn, 503, "%s", msg);
		}
		r->want_body = r->method == MR_HTTP_POST || r->method == MR_HTTP_PATCH;
		r->max_body = r->rt->body_max != NULL ? r->rt->body_max(api->a) : 0;
		if (r->max_body == 0)
			r->max_body = api->max_body;
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (r->want_body && cl != NULL && ulong_parse(cl, &clen) == 0 &&
		    clen > r->max_body)
			return reply_err(conn, 413, "body: larger than %zu bytes", r->max_body);
		if (ctype_check(api, conn, r, &ret) < 0)
			return ret;
		return MHD_YES;
	}

	if (*upload_data_size != 0) {
		/* Bodies of GET/DELETE are ignored. A body past the limit without a
		 * Content-Length to refuse it by (chunked) is dropped as it arrives, and
		 * answered with 413 at its end: libmicrohttpd 0.9.75 cannot queue a reply
		 * in the middle of an upload. Either way nothing is kept, and a client that
		 * goes on sending far past the limit is cut off. */
		r->seen += *upload_data_size;
		if (r->seen > (r->rt != NULL ? r->max_body : api->max_body) + API_DISCARD_MAX)
			return MHD_NO;
		if (r->want_body && !r->too_big &&
		    body_append(api, r, upload_data, *upload_data_size) < 0) {
			api_log(api, "%s %s: out of memory for the body", method, url);
			return MHD_NO;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}

	/* /v1/ws was answered on the first call: a body behind the upgrade request leaves
	 * nothing to do but close. */
	if (r->rt == NULL)
		return MHD_NO;
	if (r->too_big)
		return reply_err(conn, 413, "body: larger than %zu bytes", r->max_body);
	if (r->done_status != 0) {
		/* Resumed: the answer about another appliance came (api_found). */
		json_t *b = r->done_body;
		int st = r->done_status;

		r->done_body = NULL;
		r->done_status = 0;
		return reply_handler(api, conn, r->rt, method, st, b);
	}
	return dispatch(api, conn, r, url);
}

static void
completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
	     enum MHD_RequestTerminationCode toe)
{
	struct mr_api *api = cls;
	struct api_req *r = *con_cls;
	struct api_conn *c = conn_of(conn);

	(void)toe;
	/* Between requests (keep-alive), the next one's headers have api.header_timeout. */
	if (c != NULL && c->list == &api->busy)
		conn_list_add(&api->waiting, c, mr_mono_ms() + api->header_ms);
	if (r != NULL) {
		if (r->wait != NULL) {
			r->wait->r = NULL;	/* its answer finds nobody */
			wait_unlink(api, r);
		}
		json_decref(r->held);
		json_decref(r->done_body);
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
	int i;

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
	for (i = 0; i < API_MAX_WATCH; i++)
		api->extra[i].fd = -1;
	api->max_body = cfg->api_max_body;
	api->max_conns = cfg->api_max_connections ? cfg->api_max_connections : API_MAX_CONNS;
	api->max_per_addr = cfg->api_max_conns_per_addr ? cfg->api_max_conns_per_addr :
		API_MAX_CONNS_PER_ADDR;
	api->header_ms = cfg->api_header_timeout_ms ? cfg->api_header_timeout_ms :
		API_HEADER_TIMEOUT_MS;
	api->request_ms = cfg->api_request_timeout_ms ? cfg->api_request_timeout_ms :
		API_REQUEST_TIMEOUT_MS;
	api->n_hosts = cfg->n_api_hosts < MR_API_NAMES_MAX ? cfg->n_api_hosts : MR_API_NAMES_MAX;
	memcpy(api->hosts, cfg->api_hosts, sizeof(api->hosts));
	api->n_origins = cfg->n_api_origins < MR_API_NAMES_MAX ? cfg->n_api_origins :
		MR_API_NAMES_MAX;
	memcpy(api->origins, cfg->api_origins, sizeof(api->origins));
	{
		static const uint8_t zero[16], v6_lo[16] = { [15] = 1 };
		const struct mr_ep *ep = &cfg->api_listen;

		api->listen_any = memcmp(ep->a, zero, ep->family == MR_AF4 ? 4 : 16) == 0;
		api->listen_loopback = ep->family == MR_AF4 ? ep->a[0] == 127 :
			memcmp(ep->a, v6_lo, 16) == 0;
	}
	api->guard = mr_guard_create();
	if (api->guard == NULL) {
		snprintf(err, errlen, "api: out of memory");
		goto free_api;
	}
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
	flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE | MHD_ALLOW_SUSPEND_RESUME;
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
	lim.join_timeout_ms = (cfg->rooms.ws_join_timeout ? cfg->rooms.ws_join_timeout : 10) *
		1000;
	lim.max_pending_per_address = cfg->rooms.ws_max_pending_per_address ?
		cfg->rooms.ws_max_pending_per_address : 16;
	lim.guard = api->guard;
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
	api->mhd = MHD_start_daemon(flags, cfg->api_listen.port, accept_cb, api, access_cb, api,
				    /* first, so that it sees the messages about the others */
				    MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, api,
				    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				    /* accept_cb refuses first, and counts it */
				    MHD_OPTION_CONNECTION_LIMIT, api->max_conns + API_CUT_MARGIN + 1,
				    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)API_CONN_TIMEOUT_S,
				    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, api,
				    MHD_OPTION_NOTIFY_CONNECTION, notify_cb, api,
				    MHD_OPTION_URI_LOG_CALLBACK, uri_cb, api,
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
	mr_guard_free(api->guard);
	free(api);
	return NULL;
}

void
mr_api_poll(struct mr_api *api, int timeout_ms)
{
	const union MHD_DaemonInfo *info;
	MHD_UNSIGNED_LONG_LONG mhd_to;
	struct pollfd pfd[2 + API_MAX_WATCH];
	int wait, n, timed, ws_to, busy, i;
	uint64_t now;

	if (api == NULL)
		return;
	/* Renegotiations due to what happened since the last turn (the rooms' tick). */
	mr_signal_tick(api->sig);
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
	now = mr_mono_ms();
	info = MHD_get_daemon_info(api->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	busy = info == NULL || info->num_connections != 0;
	if (busy || api->mhd_had_conns || now - api->mhd_run_ms >= API_MHD_RUN_MS)
		timed = 1;
	api->mhd_had_conns = busy;
	/* So does the WebSocket server: idle timeouts, close handshakes, on_close due. */
	ws_to = mr_ws_server_next_timeout(api->ws, now);
	if (ws_to >= 0 && ws_to < wait)
		wait = ws_to;
	/* And our connections' deadlines. */
	ws_to = conns_next_ms(api, now);
	if (ws_to >= 0 && ws_to < wait)
		wait = ws_to;

	/* Both epoll sets in one wait: neither server's clients wait for the other's. */
	pfd[0].fd = api->epoll_fd;
	pfd[0].events = POLLIN;
	pfd[0].revents = 0;
	pfd[1].fd = api->ws_fd;
	pfd[1].events = POLLIN;
	pfd[1].revents = 0;
	/* A free slot's fd is -1: poll() leaves it alone. */
	for (i = 0; i < API_MAX_WATCH; i++) {
		pfd[2 + i].fd = api->extra[i].fd;
		pfd[2 + i].events = POLLIN;
		pfd[2 + i].revents = 0;
	}
	n = poll(pfd, 2 + API_MAX_WATCH, wait);
	if (n < 0 && errno != EINTR)
		api_log(api, "poll: %s", strerror(errno));
	if ((n > 0 && pfd[0].revents != 0) || timed) {
		/* Upgrades happen in here (on_open, and the frames that came with the
		 * handshake): their idle timeout counts from now, not from the last time
		 * the WebSocket server had work (ws.h). */
		now = mr_mono_ms();
		mr_ws_server_set_now(api->ws, now);
		/* Cut first: libmicrohttpd then sees the end of those connections in this
		 * run, and accepts new ones into the slots freed. */
		conns_expire(api, now);
		if (MHD_run(api->mhd) != MHD_YES)
			api_log(api, "libmicrohttpd: MHD_run failed");
		api->mhd_run_ms = mr_mono_ms();
	}
	now = mr_mono_ms();
	if ((n > 0 && pfd[1].revents != 0) || mr_ws_server_next_timeout(api->ws, now) == 0)
		mr_ws_server_poll(api->ws, now);
	for (i = 0; n > 0 && i < API_MAX_WATCH; i++)
		if (api->extra[i].fd >= 0 && pfd[2 + i].revents != 0)
			api->extra[i].cb(api->extra[i].arg);
	mr_signal_tick(api->sig);
}

void
mr_api_set_refusal(struct mr_api *api, int (*fn)(void *arg, char *msg, size_t len), void *arg)
{
	api->refuse = fn;
	api->refuse_arg = arg;
}

void
mr_api_set_elsewhere(struct mr_api *api,
		     int (*fn)(void *arg, const char *url, mr_api_found_fn done, void *ctx),
		     void *arg)
{
	api->elsewhere = fn;
	api->elsewhere_arg = arg;
}

void
mr_api_watch(struct mr_api *api, int fd, void (*cb)(void *arg), void *arg)
{
	if (api == NULL)
		return;
	int i, k = -1;

	for (i = 0; i < API_MAX_WATCH; i++) {
		if (api->extra[i].fd >= 0 && api->extra[i].cb == cb && api->extra[i].arg == arg) {
			k = i;
			break;
		}
		if (k < 0 && api->extra[i].fd < 0)
			k = i;
	}
	if (k < 0)
		return;	/* API_MAX_WATCH callers at most: a bug */
	api->extra[k].fd = fd;
	api->extra[k].cb = cb;
	api->extra[k].arg = arg;
}

json_t *
mr_api_ws_stats(const struct mr_api *api)
{
	struct mr_ws_stats st;
	json_t *o;

	if (api == NULL || api->ws == NULL)
		return json_object();
	mr_ws_server_stats(api->ws, &st);
	o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
		      "connections", (json_int_t)st.connections,
		      "accepted", (json_int_t)st.accepted, "refused", (json_int_t)st.refused,
		      "rx_bytes", (json_int_t)st.rx_bytes, "tx_bytes", (json_int_t)st.tx_bytes,
		      "rx_messages", (json_int_t)st.rx_messages,
		      "tx_messages", (json_int_t)st.tx_messages,
		      "protocol_errors", (json_int_t)st.protocol_errors,
		      "app_errors", (json_int_t)st.app_errors,
		      "timeouts", (json_int_t)st.timeouts,
		      "join_timeouts", (json_int_t)st.join_timeouts, "slow", (json_int_t)st.slow);
	if (o != NULL)
		mr_signal_stats(api->sig, o);
	return o;
}

json_t *
mr_api_stats(const struct mr_api *api)
{
	json_t *o, *ref;
	int i;

	o = json_object();
	ref = json_object();
	if (o == NULL || ref == NULL || api == NULL) {
		json_decref(ref);
		return o;
	}
	for (i = 0; i < MR_REFUSE_MAX; i++)
		json_object_set_new(ref, mr_guard_refusal_name(i),
				    json_integer((json_int_t)mr_guard_refusals(api->guard, i)));
	json_object_set_new(o, "connections", json_integer((json_int_t)api->nconns));
	json_object_set_new(o, "refused", ref);
	json_object_set_new(o, "redirected_elsewhere", json_integer((json_int_t)api->redirected));
	return o;
}

void
mr_api_metrics(const struct mr_api *api, FILE *f)
{
	int i;

	if (api == NULL)
		return;
	fprintf(f, "# HELP mrelay_api_connections REST connections open now\n"
		"# TYPE mrelay_api_connections gauge\nmrelay_api_connections %u\n"
		"# HELP mrelay_api_refused_total Connections, requests and WebSockets the API "
		"refused or cut, by reason\n# TYPE mrelay_api_refused_total counter\n",
		api->nconns);
	for (i = 0; i < MR_REFUSE_MAX; i++)
		fprintf(f, "mrelay_api_refused_total{reason=\"%s\"} %lu\n",
			mr_guard_refusal_name(i), (unsigned long)mr_guard_refusals(api->guard, i));
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
	/* libmicrohttpd stops only with no connection suspended: the waiting ones are resumed,
	 * their lookups' answers will find nobody. */
	api->elsewhere = NULL;
	while (api->waiting_head != NULL) {
		struct api_req *r = api->waiting_head;

		r->wait->r = NULL;
		r->wait = NULL;
		r->done_status = 404;
		r->done_body = r->held;
		r->held = NULL;
		wait_unlink(api, r);
		MHD_resume_connection(r->conn);
	}
	MHD_stop_daemon(api->mhd);
	mr_guard_free(api->guard);
	free(api);
}
