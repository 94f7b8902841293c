/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for controlplane/api/api.c: the HTTP layer over real TCP on 127.0.0.1, against
 * stand-in mr_http_* handlers that record their arguments and return canned replies.
 *
 * The server is driven by mr_api_poll() in a thread of this test (the control loop's role);
 * the main thread is the client, with a small HTTP/1.1 client written for the purpose.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <jansson.h>

#include "api.h"
#include "router.h"
#include "signaling.h"
#include "ws.h"

#define MAX_BODY 1024
#define API_TIMEOUT_S 10	/* the server's connection timeout */
#define TOKEN "s3cr3t-t0ken"

/* ---- stand-in handlers ---- */

enum stub_handler {
	H_CREATE, H_LIST, H_GET, H_PATCH, H_DELETE, H_HEALTH, H_STATS, H_METRICS, H_N
};

static struct {
	pthread_mutex_t lock;
	int calls[H_N];
	struct mr_appliance *a;
	char id[128];
	unsigned long cursor;
	unsigned int limit;
	struct mr_session_req req;
	struct mr_session_patch patch;
	/* canned reply */
	int status;
	const char *body;	/* JSON text; NULL = return a NULL body */
	const char *metrics;	/* NULL = mr_http_metrics fails */
} stub = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct mr_appliance *const fake_appliance = (struct mr_appliance *)(uintptr_t)0x1234;

static void
stub_reset(int status, const char *body)
{
	pthread_mutex_lock(&stub.lock);
	memset(stub.calls, 0, sizeof(stub.calls));
	memset(stub.id, 0, sizeof(stub.id));
	memset(&stub.req, 0, sizeof(stub.req));
	memset(&stub.patch, 0, sizeof(stub.patch));
	stub.a = NULL;
	stub.cursor = 999;
	stub.limit = 999;
	stub.status = status;
	stub.body = body;
	stub.metrics = "mrelay_sessions_active 3\n";
	pthread_mutex_unlock(&stub.lock);
}

static int
stub_calls(enum stub_handler h)
{
	int n;

	pthread_mutex_lock(&stub.lock);
	n = stub.calls[h];
	pthread_mutex_unlock(&stub.lock);
	return n;
}

static int
stub_total_calls(void)
{
	int h, n = 0;

	for (h = 0; h < H_N; h++)
		n += stub_calls(h);
	return n;
}

/* Record a call; returns the canned reply. Called with stub.lock held. */
static int
stub_reply(enum stub_handler h, struct mr_appliance *a, json_t **body)
{
	stub.calls[h]++;
	stub.a = a;
	*body = stub.body != NULL ? json_loads(stub.body, 0, NULL) : NULL;
	return stub.status;
}

/* Stand-in routes with the shapes of the real ones (sessions.c, rooms/rest.c, stats.c register
 * theirs the same way): the router and the HTTP layer are what is under test. The batch and
 * rooms handlers are exercised by the smoke suite; here they only echo. */
static int
stub_batch(struct mr_appliance *a, const struct mr_http_req *r, json_t **out)
{
	(void)a;
	*out = json_pack("{s:s#}", "batch", r->body, (int)r->len);
	return 201;
}

static int
stub_rooms(struct mr_appliance *a, const struct mr_http_req *r, json_t **out)
{
	(void)a;
	*out = json_pack("{s:s,s:s,s:i}", "method", r->method_name, "path", r->rest,
			 "len", (int)r->len);
	return 200;
}

static int
stub_sessions(struct mr_appliance *a, const struct mr_http_req *r, json_t **body)
{
	struct mr_session_req req;
	char err[256];
	int ret;

	if (r->method == MR_HTTP_POST &&
	    mr_parse_session_create(r->body, r->len, &req, err, sizeof(err)) < 0)
		return mr_json_err(body, 400, "%s", err);
	pthread_mutex_lock(&stub.lock);
	if (r->method == MR_HTTP_POST) {
		stub.req = req;
		ret = stub_reply(H_CREATE, a, body);
	} else {
		stub.cursor = r->cursor;
		stub.limit = r->limit;
		ret = stub_reply(H_LIST, a, body);
	}
	pthread_mutex_unlock(&stub.lock);
	return ret;
}

static int
stub_session(struct mr_appliance *a, const struct mr_http_req *r, json_t **body)
{
	struct mr_session_patch p;
	char err[256];
	int ret;

	if (r->method == MR_HTTP_PATCH &&
	    mr_parse_session_patch(r->body, r->len, &p, err, sizeof(err)) < 0)
		return mr_json_err(body, 400, "%s", err);
	pthread_mutex_lock(&stub.lock);
	snprintf(stub.id, sizeof(stub.id), "%s", r->rest);
	if (r->method == MR_HTTP_PATCH) {
		stub.patch = p;
		ret = stub_reply(H_PATCH, a, body);
	} else {
		ret = stub_reply(r->method == MR_HTTP_GET ? H_GET : H_DELETE, a, body);
	}
	pthread_mutex_unlock(&stub.lock);
	return ret;
}

static int
stub_health(struct mr_appliance *a, const struct mr_http_req *r, json_t **body)
{
	int ret;

	pthread_mutex_lock(&stub.lock);
	ret = stub_reply(H_HEALTH, a, body);
	pthread_mutex_unlock(&stub.lock);
	return ret;
}

static int
stub_stats(struct mr_appliance *a, const struct mr_http_req *r, json_t **body)
{
	int ret;

	pthread_mutex_lock(&stub.lock);
	ret = stub_reply(H_STATS, a, body);
	pthread_mutex_unlock(&stub.lock);
	return ret;
}

static char *
stub_metrics(struct mr_appliance *a)
{
	char *text;

	pthread_mutex_lock(&stub.lock);
	stub.calls[H_METRICS]++;
	stub.a = a;
	text = stub.metrics != NULL ? strdup(stub.metrics) : NULL;
	pthread_mutex_unlock(&stub.lock);
	return text;
}

static struct mr_http_route stub_sessions_route = {
	.path = "/v1/sessions", .match = MR_ROUTE_EXACT, .name = "/v1/sessions",
	.methods = MR_HTTP_GET | MR_HTTP_POST, .handler = stub_sessions,
	.body_required = 1, .paged = 1, .location = "/v1/sessions",
};
MR_HTTP_ROUTE(stub_sessions_route)

static struct mr_http_route stub_session_route = {
	.path = "/v1/sessions", .match = MR_ROUTE_ID, .name = "/v1/sessions/{id}",
	.methods = MR_HTTP_GET | MR_HTTP_PATCH | MR_HTTP_DELETE, .handler = stub_session,
	.body_required = 1, .not_found = "no such session",
};
MR_HTTP_ROUTE(stub_session_route)

static struct mr_http_route stub_batch_route = {
	.path = "/v1/sessions/batch", .match = MR_ROUTE_EXACT, .name = "/v1/sessions/batch",
	.methods = MR_HTTP_POST, .handler = stub_batch, .body_required = 1,
};
MR_HTTP_ROUTE(stub_batch_route)

static struct mr_http_route stub_rooms_route = {
	.path = "/v1/rooms", .match = MR_ROUTE_SUBTREE, .name = "/v1/rooms",
	.methods = MR_HTTP_GET | MR_HTTP_POST | MR_HTTP_PATCH | MR_HTTP_DELETE,
	.handler = stub_rooms,
};
MR_HTTP_ROUTE(stub_rooms_route)

static struct mr_http_route stub_health_route = {
	.path = "/v1/health", .match = MR_ROUTE_EXACT, .name = "/v1/health",
	.methods = MR_HTTP_GET, .handler = stub_health,
};
MR_HTTP_ROUTE(stub_health_route)

static struct mr_http_route stub_stats_route = {
	.path = "/v1/stats", .match = MR_ROUTE_EXACT, .name = "/v1/stats",
	.methods = MR_HTTP_GET, .handler = stub_stats,
};
MR_HTTP_ROUTE(stub_stats_route)

static struct mr_http_route stub_metrics_route = {
	.path = "/metrics", .match = MR_ROUTE_EXACT, .name = "/metrics",
	.methods = MR_HTTP_GET, .text = stub_metrics,
	.text_type = "text/plain; version=0.0.4; charset=utf-8",
};
MR_HTTP_ROUTE(stub_metrics_route)

/* An upload route (like POST /v1/messages): a media type besides JSON and its own body
 * limit, larger than api.max_body. It answers what it was given. */
#define UPLOAD_MAX 4096

static int
stub_upload(struct mr_appliance *a, const struct mr_http_req *r, json_t **body)
{
	(void)a;
	*body = json_pack("{s:b,s:I}", "raw", r->raw, "len", (json_int_t)r->len);
	return 201;
}

static size_t
stub_upload_max(struct mr_appliance *a)
{
	(void)a;
	return UPLOAD_MAX;
}

static struct mr_http_route stub_upload_route = {
	.path = "/v1/upload", .match = MR_ROUTE_EXACT, .name = "/v1/upload",
	.methods = MR_HTTP_POST, .handler = stub_upload, .body_required = 1,
	.body_type = "audio/ogg", .body_max = stub_upload_max,
};
MR_HTTP_ROUTE(stub_upload_route)

/* /v1/ws: the real WebSocket layer (controlplane/api/ws.c is linked in) with an echo protocol in
 * place of controlplane/signal.c. */
static void
stub_ws_message(struct mr_ws_conn *c, const char *text, size_t len, void *arg)
{
	(void)arg;
	mr_ws_send_text(c, text, len);
}

static const struct mr_ws_handler stub_ws_handler = { .on_message = stub_ws_message };

struct mr_signal *
mr_signal_create(struct mr_appliance *a, int open_join)
{
	(void)a;
	(void)open_join;
	return (struct mr_signal *)(uintptr_t)0x5678;
}

void
mr_signal_free(struct mr_signal *sg)
{
	(void)sg;
}

void
mr_signal_tick(struct mr_signal *sg)
{
	(void)sg;
}

const struct mr_ws_handler *
mr_signal_handler(void)
{
	return &stub_ws_handler;
}

void
mr_signal_stats(const struct mr_signal *sg, json_t *o)
{
	(void)sg;
	json_object_set_new(o, "joined", json_integer(0));
}


/* ---- the server under test, polled from a thread ---- */

struct server {
	struct mr_api *api;
	uint16_t port;
	pthread_t thread;
	int stop;
};

static struct server srv;	/* no authentication */
static struct server srv_auth;	/* api.token set */

static void *
server_loop(void *arg)
{
	struct server *s = arg;

	/* The control loop calls mr_api_poll with small timeouts; do the same. */
	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED))
		mr_api_poll(s->api, 2);
	return NULL;
}

static void
config_init(struct mr_config *cfg, uint16_t port, const char *token)
{
	memset(cfg, 0, sizeof(*cfg));
	assert_int_equal(mr_addr_parse("127.0.0.1", &cfg->api_listen), 0);
	cfg->api_listen.port = port;
	cfg->api_max_body = MAX_BODY;
	/* Short deadlines, so that the tests of them are quick (defaults: 5 s and 30 s). */
	cfg->api_header_timeout_ms = 2000;
	cfg->api_request_timeout_ms = 4000;
	/* The raw requests below say "Host: x". */
	snprintf(cfg->api_hosts[0], sizeof(cfg->api_hosts[0]), "x");
	cfg->n_api_hosts = 1;
	snprintf(cfg->api_token, sizeof(cfg->api_token), "%s", token);
}

/* Start on a random high port, trying others while the port is taken. */
static struct mr_api *
api_start(const char *token, uint16_t *port)
{
	struct mr_config cfg;
	struct mr_api *api;
	char err[256];
	int tries;

	for (tries = 0; tries < 50; tries++) {
		*port = (uint16_t)(20000 + rand() % 40000);
		config_init(&cfg, *port, token);
		api = mr_api_create(&cfg, fake_appliance, err, sizeof(err));
		if (api != NULL)
			return api;
		if (strstr(err, "in use") == NULL)
			fail_msg("mr_api_create: %s", err);
	}
	fail_msg("no free port");
	return NULL;
}

static int
server_start(struct server *s, const char *token)
{
	s->api = api_start(token, &s->port);
	s->stop = 0;
	return pthread_create(&s->thread, NULL, server_loop, s);
}

static void
server_stop(struct server *s)
{
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
	pthread_join(s->thread, NULL);
	mr_api_free(s->api);
	s->api = NULL;
}

static int
group_setup(void **state)
{
	(void)state;
	srand((unsigned int)time(NULL) ^ (unsigned int)getpid());
	if (server_start(&srv, "") != 0 || server_start(&srv_auth, TOKEN) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	server_stop(&srv);
	server_stop(&srv_auth);
	return 0;
}

/* ---- a tiny HTTP/1.1 client ---- */

/* When set, a reply that does not come within the socket timeout gives status -2 instead
 * of failing the test. */
static int soft_timeout;

struct resp {
	int status;		/* -1: closed without a status line; -2: timed out */
	char head[4096];	/* status line and headers */
	char body[65536];
	size_t body_len;
};

static int
tcp_connect(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 5 };
	int fd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	/* never hang the test: a missing reply fails after 5 s */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

static void
send_all(int fd, const char *data, size_t len)
{
	ssize_t n;

	/* The server may answer and close before everything is sent (413, 401): a failed
	 * send is not an error here, the reply is what the test looks at. */
	while (len > 0) {
		n = send(fd, data, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

/* Length of a complete first reply in buf (head + Content-Length body), or 0. */
static size_t
reply_complete(const char *buf, size_t len)
{
	const char *end = strstr(buf, "\r\n\r\n"), *cl;
	size_t head;

	if (end == NULL)
		return 0;
	head = (size_t)(end + 4 - buf);
	cl = strcasestr(buf, "\r\nContent-Length: ");
	if (cl == NULL || cl > end)
		return 0;
	head += strtoul(cl + 18, NULL, 10);
	return len >= head ? head : 0;
}

/* Read a reply and split status, headers and body. until_close: read until the server
 * closes (several replies on one connection); otherwise stop after the first complete
 * reply with a Content-Length, like a keep-alive client. */
static void
read_resp_mode(int fd, struct resp *r, int until_close)
{
	static char buf[sizeof(r->head) + sizeof(r->body)];
	size_t len = 0;
	ssize_t n;
	char *end;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	buf[0] = '\0';
	while (len < sizeof(buf) - 1) {
		n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (soft_timeout) {
				r->status = -2;
				return;
			}
			fail_msg("no reply within 5 s (%zu bytes: %.60s)", len, buf);
		}
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (!until_close && reply_complete(buf, len) != 0)
			break;
	}
	buf[len] = '\0';
	end = strstr(buf, "\r\n\r\n");
	if (end == NULL || (size_t)(end - buf) >= sizeof(r->head))
		return;
	memcpy(r->head, buf, (size_t)(end - buf) + 2);
	r->body_len = len - (size_t)(end + 4 - buf);
	memcpy(r->body, end + 4, r->body_len);
	if (sscanf(r->head, "HTTP/1.%*c %d ", &r->status) != 1)
		r->status = -1;
}

static void
read_resp(int fd, struct resp *r)
{
	read_resp_mode(fd, r, 1);
}

static void
raw_on(uint16_t port, const char *req, size_t len, struct resp *r)
{
	int fd = tcp_connect(port);

	send_all(fd, req, len);
	read_resp(fd, r);
	close(fd);
}

static void
raw(const char *req, struct resp *r)
{
	raw_on(srv.port, req, strlen(req), r);
}

/* A request with Connection: close; body NULL = no body and no Content-Length. */
static void
http_on(uint16_t port, const char *method, const char *path, const char *headers,
	const char *body, struct resp *r)
{
	static char req[16384];
	int n;

	n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		     "Connection: close\r\n%s", method, path, headers != NULL ? headers : "");
	if (body != NULL)
		n += snprintf(req + n, sizeof(req) - (size_t)n,
			      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			      strlen(body), body);
	else
		n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
	assert_true((size_t)n < sizeof(req));
	raw_on(port, req, (size_t)n, r);
}

static void
http(const char *method, const char *path, const char *body, struct resp *r)
{
	http_on(srv.port, method, path, NULL, body, r);
}

/* Value of a response header (first occurrence), or NULL. */
static const char *
header(const struct resp *r, const char *name)
{
	static char val[512];
	const char *p = r->head;
	size_t nl = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1, *e;

			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			if (e == NULL)
				e = v + strlen(v);
			snprintf(val, sizeof(val), "%.*s", (int)(e - v), v);
			return val;
		}
	}
	return NULL;
}

/* The reply is exactly this status, JSON content type and body. */
static void
assert_json(const struct resp *r, int status, const char *body)
{
	if (r->status != status || strcmp(r->body, body) != 0)
		fail_msg("got %d '%s'\n  want %d '%s'", r->status, r->body, status, body);
	assert_non_null(header(r, "Content-Type"));
	assert_string_equal(header(r, "Content-Type"), "application/json");
}

/* ---- routing and handlers ---- */

static const char SESSION[] =
	"{\"id\":\"0000000100000003\",\"state\":\"active\",\"label\":\"call-1\",\"rtcp_mux\":true,"
	"\"idle_timeout\":60,\"created\":1763700000,\"legs\":[{\"local\":\"198.18.0.1:30000\","
	"\"remote\":\"198.18.1.2:5004\"},{\"local\":\"198.18.0.1:30002\",\"remote\":null}]}";

static void
test_health_stats(void **state)
{
	struct resp r;

	(void)state;
	stub_reset(200, "{\"status\":\"ok\",\"uptime_s\":12,\"workers\":1,\"sessions\":3}");
	http("GET", "/v1/health", NULL, &r);
	assert_json(&r, 200, "{\"status\":\"ok\",\"uptime_s\":12,\"workers\":1,\"sessions\":3}");
	assert_int_equal(stub_calls(H_HEALTH), 1);
	assert_int_equal(stub_total_calls(), 1);
	assert_ptr_equal(stub.a, fake_appliance);
	assert_string_equal(header(&r, "Content-Length"), "54");

	stub_reset(200, "{\"uptime_s\":5, \"lcores\": [ ]}");
	http("GET", "/v1/stats", NULL, &r);
	/* replies are re-encoded compact */
	assert_json(&r, 200, "{\"uptime_s\":5,\"lcores\":[]}");
	assert_int_equal(stub_calls(H_STATS), 1);
	assert_int_equal(stub_total_calls(), 1);

	/* query arguments on other routes are ignored */
	stub_reset(200, "{}");
	http("GET", "/v1/health?x=1", NULL, &r);
	assert_json(&r, 200, "{}");
	assert_int_equal(stub_calls(H_HEALTH), 1);
}

static void
test_metrics(void **state)
{
	struct resp r;

	(void)state;
	stub_reset(200, NULL);
	http("GET", "/metrics", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
	assert_string_equal(r.body, "mrelay_sessions_active 3\n");
	assert_int_equal(stub_calls(H_METRICS), 1);

	pthread_mutex_lock(&stub.lock);
	stub.metrics = NULL;
	pthread_mutex_unlock(&stub.lock);
	http("GET", "/metrics", NULL, &r);
	assert_json(&r, 500, "{\"error\":\"internal\"}");

	http("POST", "/metrics", "x", &r);
	assert_json(&r, 405, "{\"error\":\"method: POST not allowed on /metrics (allowed: GET)\"}");
	assert_string_equal(header(&r, "Allow"), "GET");
	assert_int_equal(stub_calls(H_METRICS), 2);
}

static void
test_create(void **state)
{
	struct resp r;

	(void)state;
	stub_reset(201, SESSION);
	http("POST", "/v1/sessions",
	     "{\"legs\":[{\"remote\":\"198.18.1.2:5004\",\"interface\":\"edge0\"},{}],"
	     "\"idle_timeout\":60,\"label\":\"call-1\"}", &r);
	assert_json(&r, 201, SESSION);
	assert_string_equal(header(&r, "Location"), "/v1/sessions/0000000100000003");
	assert_int_equal(stub_calls(H_CREATE), 1);
	assert_int_equal(stub_total_calls(), 1);
	assert_int_equal(stub.req.legs[0].has_remote, 1);
	assert_int_equal(stub.req.legs[0].remote.port, 5004);
	assert_string_equal(stub.req.legs[0].interface, "edge0");
	assert_int_equal(stub.req.legs[1].has_remote, 0);
	assert_int_equal(stub.req.idle_timeout, 60);
	assert_int_equal(stub.req.rtcp_mux, 1);
	assert_string_equal(stub.req.label, "call-1");

	/* the handler's refusals go through unchanged */
	stub_reset(503, "{\"error\":\"ports: no free relay ports\"}");
	http("POST", "/v1/sessions", "{\"legs\":[{},{}]}", &r);
	assert_json(&r, 503, "{\"error\":\"ports: no free relay ports\"}");
	assert_null(header(&r, "Location"));
	assert_int_equal(stub_calls(H_CREATE), 1);

	/* a 201 whose id is not a valid id gets no Location */
	stub_reset(201, "{\"id\":\"a/b\"}");
	http("POST", "/v1/sessions", "{\"legs\":[{},{}]}", &r);
	assert_json(&r, 201, "{\"id\":\"a/b\"}");
	assert_null(header(&r, "Location"));
}

static void
test_create_invalid(void **state)
{
	struct resp r;

	(void)state;
	stub_reset(201, SESSION);
	http("POST", "/v1/sessions", "{}", &r);
	assert_json(&r, 400, "{\"error\":\"legs: required\"}");
	http("POST", "/v1/sessions", "{\"legs\":[{},{\"foo\":1}]}", &r);
	assert_json(&r, 400, "{\"error\":\"legs[1].foo: unknown field\"}");
	http("POST", "/v1/sessions", "{\"legs\":[{},{}],\"rtcp_mux\":\"no\"}", &r);
	assert_json(&r, 400, "{\"error\":\"rtcp_mux: must be a boolean\"}");
	http("POST", "/v1/sessions", "{\"legs\":", &r);
	assert_json(&r, 400, "{\"error\":\"body: invalid JSON: unexpected token near end of file "
		    "(line 1, column 8)\"}");
	http("POST", "/v1/sessions", "[]", &r);
	assert_json(&r, 400, "{\"error\":\"body: must be a JSON object\"}");
	/* jansson's quote of bad bytes comes back as valid JSON */
	http("POST", "/v1/sessions", "{\"legs\":[{},{}],\"label\":\"\xff\xfe\"}", &r);
	assert_int_equal(r.status, 400);
	assert_true(strncmp(r.body, "{\"error\":\"body: invalid JSON: ", 30) == 0);
	http("POST", "/v1/sessions", "", &r);
	assert_json(&r, 400, "{\"error\":\"body: empty\"}");
	http("POST", "/v1/sessions", NULL, &r);
	assert_json(&r, 400, "{\"error\":\"body: empty\"}");
	assert_int_equal(stub_total_calls(), 0);
}

static void
test_list(void **state)
{
	static const char list[] = "{\"sessions\":[],\"total\":0,\"next\":null}";
	struct resp r;

	(void)state;
	stub_reset(200, list);
	http("GET", "/v1/sessions", NULL, &r);
	assert_json(&r, 200, list);
	assert_int_equal(stub_calls(H_LIST), 1);
	assert_int_equal(stub.cursor, 0);
	assert_int_equal(stub.limit, 100);

	http("GET", "/v1/sessions?cursor=123&limit=10", NULL, &r);
	assert_json(&r, 200, list);
	assert_int_equal(stub.cursor, 123);
	assert_int_equal(stub.limit, 10);

	http("GET", "/v1/sessions?limit=1000&cursor=18446744073709551615", NULL, &r);
	assert_json(&r, 200, list);
	assert_int_equal(stub.cursor, 18446744073709551615UL);
	assert_int_equal(stub.limit, 1000);

	http("GET", "/v1/sessions?limit=1", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(stub.cursor, 0);
	assert_int_equal(stub.limit, 1);

	/* query values are percent-decoded before validation */
	http("GET", "/v1/sessions?cursor=%34%32", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(stub.cursor, 42);
	assert_int_equal(stub_calls(H_LIST), 5);
}

static void
test_list_invalid(void **state)
{
	static const char *const bad_limit[] = {
		"limit=0", "limit=1001", "limit=abc", "limit=", "limit", "limit=-1",
		"limit=+5", "limit=%205", "limit=5x", "limit=99999999999999999999999",
	};
	static const char *const bad_cursor[] = {
		"cursor=-1", "cursor=", "cursor", "cursor=1.5", "cursor=0x10",
		"cursor=18446744073709551616", "cursor=%00", "cursor=12%0a",
	};
	char path[128];
	struct resp r;
	size_t i;

	(void)state;
	stub_reset(200, "{}");
	for (i = 0; i < sizeof(bad_limit) / sizeof(bad_limit[0]); i++) {
		snprintf(path, sizeof(path), "/v1/sessions?%s", bad_limit[i]);
		http("GET", path, NULL, &r);
		assert_json(&r, 400,
			    "{\"error\":\"limit: must be an integer between 1 and 1000\"}");
	}
	for (i = 0; i < sizeof(bad_cursor) / sizeof(bad_cursor[0]); i++) {
		snprintf(path, sizeof(path), "/v1/sessions?%s", bad_cursor[i]);
		http("GET", path, NULL, &r);
		assert_json(&r, 400, "{\"error\":\"cursor: must be an unsigned integer "
			    "(the 'next' of the last page)\"}");
	}
	http("GET", "/v1/sessions?cursor=1&cursor=2", NULL, &r);
	assert_json(&r, 400, "{\"error\":\"cursor: given more than once\"}");
	http("GET", "/v1/sessions?limit=1&limit=2", NULL, &r);
	assert_json(&r, 400, "{\"error\":\"limit: given more than once\"}");
	http("GET", "/v1/sessions?cursor=1&foo=bar", NULL, &r);
	assert_json(&r, 400,
		    "{\"error\":\"foo: unknown query parameter (allowed: cursor, limit)\"}");
	http("GET", "/v1/sessions?Limit=5", NULL, &r);
	assert_json(&r, 400,
		    "{\"error\":\"Limit: unknown query parameter (allowed: cursor, limit)\"}");
	http("GET", "/v1/sessions?%ff%0a=1", NULL, &r);
	assert_json(&r, 400,
		    "{\"error\":\"??: unknown query parameter (allowed: cursor, limit)\"}");
	assert_int_equal(stub_total_calls(), 0);
}

static void
test_session_routes(void **state)
{
	struct resp r;

	(void)state;
	stub_reset(200, SESSION);
	http("GET", "/v1/sessions/0000000100000003", NULL, &r);
	assert_json(&r, 200, SESSION);
	assert_int_equal(stub_calls(H_GET), 1);
	assert_string_equal(stub.id, "0000000100000003");

	http("GET", "/v1/sessions/aZ09-_", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(stub.id, "aZ09-_");

	http("PATCH", "/v1/sessions/abc", "{\"legs\":[{},{\"remote\":null}],\"idle_timeout\":30}",
	     &r);
	assert_json(&r, 200, SESSION);
	assert_int_equal(stub_calls(H_PATCH), 1);
	assert_string_equal(stub.id, "abc");
	assert_int_equal(stub.patch.has_idle_timeout, 1);
	assert_int_equal(stub.patch.idle_timeout, 30);
	assert_int_equal(stub.patch.has_leg[0], 0);
	assert_int_equal(stub.patch.has_leg[1], 1);
	assert_int_equal(stub.patch.legs[1].clear_remote, 1);

	http("PATCH", "/v1/sessions/abc", "{}", &r);
	assert_json(&r, 400, "{\"error\":\"body: nothing to change\"}");
	http("PATCH", "/v1/sessions/abc", "", &r);
	assert_json(&r, 400, "{\"error\":\"body: empty\"}");
	http("PATCH", "/v1/sessions/abc", "{\"legs\":[{\"interface\":\"x\"},{}]}", &r);
	assert_json(&r, 400, "{\"error\":\"legs[0].interface: cannot be changed\"}");
	assert_int_equal(stub_calls(H_PATCH), 1);

	stub_reset(204, NULL);
	http("DELETE", "/v1/sessions/abc", NULL, &r);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body_len, 0);
	assert_null(header(&r, "Content-Type"));
	assert_int_equal(stub_calls(H_DELETE), 1);
	assert_string_equal(stub.id, "abc");

	stub_reset(409, "{\"error\":\"state: session 'abc' has ended\"}");
	http("DELETE", "/v1/sessions/abc", NULL, &r);
	assert_json(&r, 409, "{\"error\":\"state: session 'abc' has ended\"}");

	/* 64 characters is the longest id */
	stub_reset(404, "{\"error\":\"no such session: x\"}");
	http("GET", "/v1/sessions/"
	     "0123456789012345678901234567890123456789012345678901234567890123", NULL, &r);
	assert_json(&r, 404, "{\"error\":\"no such session: x\"}");
	assert_string_equal(stub.id,
			    "0123456789012345678901234567890123456789012345678901234567890123");
}

static void
test_bad_ids(void **state)
{
	struct resp r;

	(void)state;
	stub_reset(200, SESSION);
	http("GET", "/v1/sessions/a.b", NULL, &r);
	assert_json(&r, 404, "{\"error\":\"no such session: a.b\"}");
	http("DELETE", "/v1/sessions/a/b", NULL, &r);
	assert_json(&r, 404, "{\"error\":\"no such session: a/b\"}");
	http("GET", "/v1/sessions/"
	     "01234567890123456789012345678901234567890123456789012345678901234", NULL, &r);
	assert_json(&r, 404, "{\"error\":\"no such session: "
		    "01234567890123456789012345678901234567890123456789012345678901234\"}");
	http("GET", "/v1/sessions/%2e%2e", NULL, &r);
	assert_json(&r, 404, "{\"error\":\"no such session: ..\"}");
	http("GET", "/v1/sessions/ab%0d%0aX-Injected:%201", NULL, &r);
	assert_json(&r, 404, "{\"error\":\"no such session: ab??X-Injected: 1\"}");
	assert_null(header(&r, "X-Injected"));
	http("PATCH", "/v1/sessions/%22%27%5c", "{\"label\":\"x\"}", &r);
	assert_json(&r, 404, "{\"error\":\"no such session: \\\"?\\\\\"}");
	assert_int_equal(stub_total_calls(), 0);
}

static void
test_not_found(void **state)
{
	struct resp r;

	(void)state;
	stub_reset(200, "{}");
	http("GET", "/v1/x", NULL, &r);
	assert_json(&r, 404, "{\"error\":\"path: no such resource '/v1/x'\"}");
	http("GET", "/", NULL, &r);
	assert_json(&r, 404, "{\"error\":\"path: no such resource '/'\"}");
	http("GET", "/v1/sessions/", NULL, &r);
	assert_json(&r, 404, "{\"error\":\"path: no such resource '/v1/sessions/'\"}");
	http("GET", "/v1/health/", NULL, &r);
	assert_json(&r, 404, "{\"error\":\"path: no such resource '/v1/health/'\"}");
	http("GET", "/V1/health", NULL, &r);
	assert_json(&r, 404, "{\"error\":\"path: no such resource '/V1/health'\"}");
	http("POST", "/v1/session", "{\"legs\":[{},{}]}", &r);
	assert_json(&r, 404, "{\"error\":\"path: no such resource '/v1/session'\"}");
	/* a long path is quoted back bounded */
	http("GET", "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     "aaaaaaaaaaaaaaaaaaaaaaaa", NULL, &r);
	assert_json(&r, 404, "{\"error\":\"path: no such resource '/aaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'\"}");
	assert_int_equal(stub_total_calls(), 0);
}

static void
test_method_not_allowed(void **state)
{
	struct resp r;

	(void)state;
	stub_reset(200, "{}");
	http("PUT", "/v1/sessions", "{}", &r);
	assert_json(&r, 405,
		    "{\"error\":\"method: PUT not allowed on /v1/sessions (allowed: GET, POST)\"}");
	assert_string_equal(header(&r, "Allow"), "GET, POST");
	http("DELETE", "/v1/sessions", NULL, &r);
	assert_json(&r, 405, "{\"error\":\"method: DELETE not allowed on /v1/sessions "
		    "(allowed: GET, POST)\"}");
	http("POST", "/v1/sessions/abc", "{}", &r);
	assert_json(&r, 405, "{\"error\":\"method: POST not allowed on /v1/sessions/abc "
		    "(allowed: GET, PATCH, DELETE)\"}");
	assert_string_equal(header(&r, "Allow"), "GET, PATCH, DELETE");
	http("DELETE", "/v1/health", NULL, &r);
	assert_json(&r, 405, "{\"error\":\"method: DELETE not allowed on /v1/health "
		    "(allowed: GET)\"}");
	assert_string_equal(header(&r, "Allow"), "GET");
	http("PATCH", "/v1/stats", "{}", &r);
	assert_json(&r, 405, "{\"error\":\"method: PATCH not allowed on /v1/stats "
		    "(allowed: GET)\"}");
	http("OPTIONS", "/v1/sessions", NULL, &r);
	assert_int_equal(r.status, 405);
	http("FOO", "/v1/sessions", NULL, &r);
	assert_json(&r, 405, "{\"error\":\"method: FOO not allowed on /v1/sessions "
		    "(allowed: GET, POST)\"}");
	assert_int_equal(stub_total_calls(), 0);
}

/* ---- bodies ---- */

static void
test_body_limit(void **state)
{
	char body[MAX_BODY + 2], req[4096];
	struct resp r;
	int fd, n;

	(void)state;
	stub_reset(201, SESSION);

	/* Exactly max_body bytes is accepted (here: a valid body padded with spaces). */
	memset(body, ' ', MAX_BODY);
	memcpy(body, "{\"legs\":[{},{}]}", 16);
	body[MAX_BODY] = '\0';
	http("POST", "/v1/sessions", body, &r);
	assert_json(&r, 201, SESSION);
	assert_int_equal(stub_calls(H_CREATE), 1);

	/* One more byte is not, and is answered from the headers alone. */
	body[MAX_BODY] = ' ';
	body[MAX_BODY + 1] = '\0';
	http("POST", "/v1/sessions", body, &r);
	assert_json(&r, 413, "{\"error\":\"body: larger than 1024 bytes\"}");

	/* Answered as soon as the limit is crossed: the client has not sent the body (and
	 * never will), yet it gets its 413. */
	fd = tcp_connect(srv.port);
	n = snprintf(req, sizeof(req), "PATCH /v1/sessions/abc HTTP/1.1\r\nHost: x\r\n"
		     "Content-Length: 1000000000\r\n\r\n");
	send_all(fd, req, (size_t)n);
	read_resp(fd, &r);
	close(fd);
	assert_json(&r, 413, "{\"error\":\"body: larger than 1024 bytes\"}");

	/* With chunked transfer coding there is no length up front: the excess is dropped
	 * as it arrives, never buffered, and answered with 413. */
	fd = tcp_connect(srv.port);
	n = snprintf(req, sizeof(req), "POST /v1/sessions HTTP/1.1\r\nHost: x\r\n"
		     "Connection: close\r\nTransfer-Encoding: chunked\r\n"
		     "Content-Type: application/json\r\n\r\n");
	send_all(fd, req, (size_t)n);
	for (int i = 0; i < 8; i++) {
		char chunk[300];

		memset(chunk, ' ', sizeof(chunk));
		n = snprintf(req, sizeof(req), "%zx\r\n%.*s\r\n", sizeof(chunk),
			     (int)sizeof(chunk), chunk);
		send_all(fd, req, (size_t)n);
	}
	send_all(fd, "0\r\n\r\n", 5);
	read_resp(fd, &r);
	close(fd);
	assert_json(&r, 413, "{\"error\":\"body: larger than 1024 bytes\"}");

	/* A chunked body that goes on far past the limit is cut off. */
	fd = tcp_connect(srv.port);
	n = snprintf(req, sizeof(req), "POST /v1/sessions HTTP/1.1\r\nHost: x\r\n"
		     "Connection: close\r\nTransfer-Encoding: chunked\r\n"
		     "Content-Type: application/json\r\n\r\n");
	send_all(fd, req, (size_t)n);
	{
		static char chunk[64 * 1024 + 16];

		memset(chunk, ' ', sizeof(chunk));
		n = snprintf(chunk, 16, "%x\r\n", 64 * 1024);
		chunk[n] = ' ';
		memcpy(chunk + n + 64 * 1024, "\r\n", 2);
		for (int i = 0; i < 64; i++)	/* 4 MiB, or until the server hangs up */
			send_all(fd, chunk, (size_t)n + 64 * 1024 + 2);
	}
	read_resp(fd, &r);
	close(fd);
	assert_int_equal(r.status, -1);

	/* A chunked body within the limit is reassembled. */
	fd = tcp_connect(srv.port);
	n = snprintf(req, sizeof(req), "POST /v1/sessions HTTP/1.1\r\nHost: x\r\n"
		     "Connection: close\r\nTransfer-Encoding: chunked\r\n"
		     "Content-Type: application/json\r\n\r\n"
		     "8\r\n{\"legs\":\r\n8\r\n[{},{}]}\r\n0\r\n\r\n");
	send_all(fd, req, (size_t)n);
	read_resp(fd, &r);
	close(fd);
	assert_json(&r, 201, SESSION);
	assert_int_equal(stub_calls(H_CREATE), 2);
}

/* A route's body_type and body_max: its media type is taken (the handler told it is raw),
 * JSON still is, anything else is a 415 naming both; its own limit replaces api.max_body. */
static void
test_upload_route(void **state)
{
	static char body[UPLOAD_MAX + 2], req[UPLOAD_MAX + 512];
	struct resp r;
	int n;

	(void)state;
	memset(body, 'O', sizeof(body));
	n = snprintf(req, sizeof(req), "POST /v1/upload HTTP/1.1\r\nHost: x\r\n"
		     "Connection: close\r\nContent-Type: audio/ogg\r\nContent-Length: %d\r\n"
		     "\r\n%.*s", 3000, 3000, body);
	raw_on(srv.port, req, (size_t)n, &r);
	assert_json(&r, 201, "{\"raw\":true,\"len\":3000}");
	n = snprintf(req, sizeof(req), "POST /v1/upload HTTP/1.1\r\nHost: x\r\n"
		     "Connection: close\r\nContent-Type: audio/ogg\r\nContent-Length: %d\r\n"
		     "\r\n%.*s", UPLOAD_MAX + 1, UPLOAD_MAX + 1, body);
	raw_on(srv.port, req, (size_t)n, &r);
	assert_json(&r, 413, "{\"error\":\"body: larger than 4096 bytes\"}");
	http("POST", "/v1/upload", "{}", &r);
	assert_json(&r, 201, "{\"raw\":false,\"len\":2}");
	raw("POST /v1/upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nab", &r);
	assert_json(&r, 415, "{\"error\":\"content-type: must be application/json or "
		    "audio/ogg\"}");
	/* Other routes keep api.max_body and JSON only. */
	raw("POST /v1/sessions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "Content-Type: audio/ogg\r\nContent-Length: 2\r\n\r\nab", &r);
	assert_json(&r, 415, "{\"error\":\"content-type: must be application/json\"}");
}

static void
test_body_ignored(void **state)
{
	char big[4 * MAX_BODY];
	struct resp r;

	(void)state;
	stub_reset(200, "{}");
	/* A body on GET or DELETE is read and dropped, whatever its size. */
	http("GET", "/v1/health", "hello", &r);
	assert_json(&r, 200, "{}");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	http("GET", "/v1/sessions/abc", big, &r);
	assert_json(&r, 200, "{}");
	stub_reset(204, NULL);
	http("DELETE", "/v1/sessions/abc", "{\"really\":true}", &r);
	assert_int_equal(r.status, 204);
	assert_int_equal(stub_calls(H_DELETE), 1);
}

/* ---- handler misbehaviour ---- */

static void
test_handler_replies(void **state)
{
	struct resp r;

	(void)state;
	stub_reset(404, NULL);
	http("GET", "/v1/sessions/abc", NULL, &r);
	assert_json(&r, 404, "{\"error\":\"internal\"}");
	stub_reset(503, NULL);
	http("POST", "/v1/sessions", "{\"legs\":[{},{}]}", &r);
	assert_json(&r, 503, "{\"error\":\"internal\"}");
	stub_reset(200, NULL);
	http("GET", "/v1/stats", NULL, &r);
	assert_json(&r, 500, "{\"error\":\"internal\"}");
	stub_reset(201, NULL);
	http("POST", "/v1/sessions", "{\"legs\":[{},{}]}", &r);
	assert_json(&r, 500, "{\"error\":\"internal\"}");
	assert_null(header(&r, "Location"));
	stub_reset(42, "{}");
	http("GET", "/v1/health", NULL, &r);
	assert_json(&r, 500, "{\"error\":\"internal\"}");
	stub_reset(-22, "{}");
	http("GET", "/v1/health", NULL, &r);
	assert_json(&r, 500, "{\"error\":\"internal\"}");
	/* 204 with a body: the body is dropped */
	stub_reset(204, "{\"x\":1}");
	http("DELETE", "/v1/sessions/abc", NULL, &r);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body_len, 0);
}

/* ---- authentication ---- */

static void
test_auth(void **state)
{
	struct resp r;
	const char *unauth = "{\"error\":\"authorization: missing or invalid bearer token\"}";

	(void)state;
	stub_reset(200, "{\"status\":\"ok\"}");
	http_on(srv_auth.port, "GET", "/v1/health", NULL, NULL, &r);
	assert_json(&r, 401, unauth);
	assert_string_equal(header(&r, "WWW-Authenticate"), "Bearer");
	http_on(srv_auth.port, "GET", "/metrics", NULL, NULL, &r);
	assert_json(&r, 401, unauth);
	/* unauthenticated clients learn nothing about paths or methods */
	http_on(srv_auth.port, "GET", "/v1/nope", NULL, NULL, &r);
	assert_json(&r, 401, unauth);
	http_on(srv_auth.port, "PUT", "/v1/sessions", NULL, "{}", &r);
	assert_json(&r, 401, unauth);
	http_on(srv_auth.port, "POST", "/v1/sessions", "Authorization: Bearer wrong\r\n",
		"{\"legs\":[{},{}]}", &r);
	assert_json(&r, 401, unauth);
	http_on(srv_auth.port, "GET", "/v1/health", "Authorization: Bearer " TOKEN "x\r\n",
		NULL, &r);
	assert_json(&r, 401, unauth);
	http_on(srv_auth.port, "GET", "/v1/health", "Authorization: Bearer s3cr3t\r\n", NULL, &r);
	assert_json(&r, 401, unauth);
	http_on(srv_auth.port, "GET", "/v1/health", "Authorization: Bearer \r\n", NULL, &r);
	assert_json(&r, 401, unauth);
	http_on(srv_auth.port, "GET", "/v1/health", "Authorization: " TOKEN "\r\n", NULL, &r);
	assert_json(&r, 401, unauth);
	http_on(srv_auth.port, "GET", "/v1/health", "Authorization: Basic " TOKEN "\r\n", NULL,
		&r);
	assert_json(&r, 401, unauth);
	http_on(srv_auth.port, "GET", "/v1/health", "Authorization: Bearer" TOKEN "\r\n", NULL,
		&r);
	assert_json(&r, 401, unauth);
	/* a huge body from an unauthenticated client is refused before it is read */
	http_on(srv_auth.port, "POST", "/v1/sessions", "Content-Length: 99999999\r\n", NULL, &r);
	assert_json(&r, 401, unauth);
	assert_int_equal(stub_total_calls(), 0);

	http_on(srv_auth.port, "GET", "/v1/health", "Authorization: Bearer " TOKEN "\r\n", NULL,
		&r);
	assert_json(&r, 200, "{\"status\":\"ok\"}");
	assert_null(header(&r, "WWW-Authenticate"));
	/* the scheme name is case-insensitive (RFC 9110 §11.1) */
	http_on(srv_auth.port, "GET", "/v1/health", "authorization: bearer " TOKEN "\r\n", NULL,
		&r);
	assert_json(&r, 200, "{\"status\":\"ok\"}");
	http_on(srv_auth.port, "GET", "/metrics", "Authorization: Bearer " TOKEN "\r\n", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "mrelay_sessions_active 3\n");
	assert_int_equal(stub_calls(H_HEALTH), 2);
	assert_int_equal(stub_calls(H_METRICS), 1);

	stub_reset(201, SESSION);
	http_on(srv_auth.port, "POST", "/v1/sessions", "Authorization: Bearer " TOKEN "\r\n",
		"{\"legs\":[{},{}]}", &r);
	assert_json(&r, 201, SESSION);
	assert_int_equal(stub_calls(H_CREATE), 1);
}

/* ---- /v1/ws ---- */

/* Read from fd until buf holds at least want bytes (or the peer closes). */
static size_t
read_at_least(int fd, uint8_t *buf, size_t have, size_t want, size_t cap)
{
	while (have < want) {
		ssize_t k = recv(fd, buf + have, cap - have, 0);

		assert_true(k > 0);
		have += (size_t)k;
	}
	return have;
}

/* GET /v1/ws is upgraded without the bearer token (the participant token of "join" is the
 * credential, controlplane/signal.h); the WebSocket is served by mr_api_poll beside the
 * REST connections, and its TCP connection ends when the close handshake does. */
static void
test_ws_upgrade(void **state)
{
	static const char upgrade[] =
		"GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n";
	/* "hi" and a close frame (1000), masked with 01 02 03 04 (RFC 6455 §5.3) */
	static const uint8_t hi[] = { 0x81, 0x82, 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2 };
	static const uint8_t bye[] = { 0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2 };
	static const uint8_t echo[] = { 0x81, 0x02, 'h', 'i' };
	static const uint8_t close_echo[] = { 0x88, 0x02, 0x03, 0xe8 };
	uint8_t buf[2048];
	const char *end;
	struct resp r;
	size_t n = 0, hl;
	int fd;

	(void)state;
	stub_reset(200, "{}");
	fd = tcp_connect(srv_auth.port);
	send_all(fd, upgrade, sizeof(upgrade) - 1);
	do {
		n = read_at_least(fd, buf, n, n + 1, sizeof(buf) - 1);
		buf[n] = '\0';
		end = strstr((const char *)buf, "\r\n\r\n");
	} while (end == NULL);
	hl = (size_t)(end + 4 - (const char *)buf);
	assert_memory_equal(buf, "HTTP/1.1 101 ", 13);
	/* RFC 6455 §1.3: the accept key of the example key */
	assert_non_null(strstr((const char *)buf,
			       "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
	send_all(fd, (const char *)hi, sizeof(hi));
	n = read_at_least(fd, buf, n, hl + sizeof(echo), sizeof(buf));
	assert_int_equal(n, hl + sizeof(echo));
	assert_memory_equal(buf + hl, echo, sizeof(echo));
	send_all(fd, (const char *)bye, sizeof(bye));
	n = read_at_least(fd, buf, 0, sizeof(close_echo), sizeof(buf));
	assert_int_equal(n, sizeof(close_echo));
	assert_memory_equal(buf, close_echo, sizeof(close_echo));
	/* §7.1.1: then the server closes the TCP connection (libmicrohttpd's descriptor of
	 * the socket must be gone too, or this would time out). */
	assert_int_equal(recv(fd, buf, sizeof(buf), 0), 0);
	close(fd);

	/* other methods: 405; a GET that is no upgrade: 400, not 401 */
	http_on(srv_auth.port, "POST", "/v1/ws", NULL, "{}", &r);
	assert_json(&r, 405, "{\"error\":\"method: POST not allowed on /v1/ws (allowed: GET)\"}");
	assert_string_equal(header(&r, "Allow"), "GET");
	http_on(srv_auth.port, "GET", "/v1/ws", NULL, NULL, &r);
	assert_json(&r, 400, "{\"error\":\"upgrade: header must be 'websocket'\"}");
	/* the rest of the API still wants the token */
	http_on(srv_auth.port, "GET", "/v1/wsx", NULL, NULL, &r);
	assert_int_equal(r.status, 401);
	assert_int_equal(stub_total_calls(), 0);
}

/* ---- connections ---- */

static void
test_keepalive_pipelined(void **state)
{
	static const char req[] =
		"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
		"GET /v1/sessions/abc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	struct resp r;
	char *second;

	(void)state;
	stub_reset(200, "{\"a\":1}");
	raw_on(srv.port, req, sizeof(req) - 1, &r);
	assert_int_equal(r.status, 200);
	/* the first body is followed by the second reply on the same connection */
	second = strstr(r.body, "HTTP/1.1 200");
	assert_non_null(second);
	assert_int_equal(strncmp(r.body, "{\"a\":1}", 7), 0);
	assert_non_null(strstr(second, "\r\n\r\n{\"a\":1}"));
	assert_int_equal(stub_calls(H_HEALTH), 1);
	assert_int_equal(stub_calls(H_GET), 1);
}

static void
test_malformed_request_line(void **state)
{
	struct resp r;

	(void)state;
	stub_reset(200, "{}");
	/* libmicrohttpd 0.9.75 hangs up on a request line it cannot parse, and answers
	 * other malformed requests itself (HTML bodies: nothing we can format). */
	raw("GARBAGE\r\n\r\n", &r);
	assert_int_equal(r.status, -1);
	assert_int_equal(r.body_len, 0);
	raw("GET\r\n\r\n", &r);
	assert_int_equal(r.status, -1);
	raw("GET /v1/health HTTP/9.9\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 505);
	raw("GET /v1/health HTTP/1.1\r\nNo colon here\r\n\r\n", &r);
	assert_int_equal(r.status, 400);
	raw("GET /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", &r);
	assert_int_equal(r.status, 400);
	raw("POST /v1/sessions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Type: application/json\r\n\r\nzz\r\n", &r);
	assert_int_equal(r.status, 400);
	assert_int_equal(stub_total_calls(), 0);

	/* and the server still answers */
	http("GET", "/v1/health", NULL, &r);
	assert_json(&r, 200, "{}");
	assert_int_equal(stub_calls(H_HEALTH), 1);
}

static void
test_junk_flood(void **state)
{
	static const char *const junk[] = {
		/* complete heads */
		"GET /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
		"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
		"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
		"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
		"fffffffffffffffffff\r\n",
		"GET /v1/health HTTP/1.1\r\nHost: x\r\nX: \x01\x02\xff\r\n\r\n",
		"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\n"
		"Content-Type: application/json\r\n\r\n"
		"{\"legs\":[{},{}]}GARBAGE\r\n\r\n",		/* junk after a request */
		"GARBAGE /v1/health HTTP/1.1\r\nHost: x\r\n\r\n",	/* 405 */
		/* incomplete */
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",		/* a TLS ClientHello */
		"GET /v1/health HTTP/1.1\r\n",			/* headers never end */
		"GET /v1/health",				/* request line never ends */
		"PATCH /v1/sessions/abc HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n{",
	};
	char buf[2048], big[40000];
	unsigned int seed = 777;
	struct resp r;
	time_t t0;
	int i, fd;

	(void)state;
	/* Headers larger than the connection's memory are refused, not grown. */
	fd = tcp_connect(srv.port);
	send_all(fd, "GET /v1/health HTTP/1.1\r\nX-Big: ", 32);
	memset(big, 'a', sizeof(big));
	send_all(fd, big, sizeof(big));
	send_all(fd, "\r\n\r\n", 4);
	read_resp(fd, &r);
	close(fd);
	assert_int_equal(r.status, 431);

	stub_reset(400, "{\"error\":\"x\"}");
	/* Junk with a complete head: the server answers (400, 405, 413, or the handler's
	 * canned 400) or hangs up, at once. The client half-closes after sending, and
	 * does not wait for the close after a keep-alive reply. */
	for (i = 0; i < 36; i++) {
		const char *j = junk[i % 6];

		fd = tcp_connect(srv.port);
		send_all(fd, j, strlen(j));
		shutdown(fd, SHUT_WR);
		read_resp_mode(fd, &r, 0);
		close(fd);
		if (!(r.status == -1 || r.status == 400 || r.status == 405 || r.status == 413 ||
		      r.status == 415))
			fail_msg("junk %d: status %d", i % 6, r.status);
	}
	/* Incomplete junk and random bytes (alone or after a plausible start), from clients
	 * that hang up at once. */
	for (i = 0; i < 20; i++) {
		const char *j = junk[6 + i % 4];

		fd = tcp_connect(srv.port);
		send_all(fd, j, strlen(j));
		close(fd);
	}
	for (i = 0; i < 150; i++) {
		size_t len = 1 + (size_t)rand_r(&seed) % (sizeof(buf) - 1);

		for (size_t k = 0; k < len; k++)
			buf[k] = (char)rand_r(&seed);
		if (i % 2 == 1)
			memcpy(buf, "GET /v1/sessions?", len < 17 ? len : 17);
		fd = tcp_connect(srv.port);
		send_all(fd, buf, len);
		close(fd);
	}

	/* Only the complete requests reached a handler. */
	assert_int_equal(stub_calls(H_CREATE), 6);
	assert_int_equal(stub_calls(H_HEALTH), 6);
	assert_int_equal(stub_total_calls(), 12);

	/* The server survives. libmicrohttpd 0.9.75 in epoll mode notices some hang-ups
	 * (request data and FIN arriving together) only at the connection timeout, so for
	 * up to that long all connection slots may be held: allow for it, then expect
	 * prompt service. */
	stub_reset(200, "{}");
	soft_timeout = 1;
	t0 = time(NULL);
	do {
		http("GET", "/v1/health", NULL, &r);
	} while (r.status != 200 && time(NULL) - t0 < 3 * API_TIMEOUT_S);
	soft_timeout = 0;
	assert_json(&r, 200, "{}");
	for (i = 0; i < 20; i++) {
		http("GET", "/v1/health", NULL, &r);
		assert_json(&r, 200, "{}");
	}
}

/* A client that connects and stalls does not stop others from being served. */
static void
test_slow_client(void **state)
{
	struct resp r;
	int idle[8], i;

	(void)state;
	stub_reset(200, "{}");
	for (i = 0; i < 8; i++) {
		idle[i] = tcp_connect(srv.port);
		send_all(idle[i], "POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
			 "\r\n{\"le", 63);
	}
	for (i = 0; i < 5; i++) {
		http("GET", "/v1/health", NULL, &r);
		assert_json(&r, 200, "{}");
	}
	for (i = 0; i < 8; i++)
		close(idle[i]);
	assert_int_equal(stub_calls(H_CREATE), 0);
}

/* ---- hardening (docs/OPERATIONS.md "Security") ---- */

/* A TCP connection to the server from src (a loopback address: 127.0.0.0/8 is all ours). */
static int
tcp_connect_from(uint16_t port, uint32_t src)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in from = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 5 };
	int fd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	from.sin_addr.s_addr = htonl(src);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	assert_int_equal(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* 1 if the server has closed fd (EOF or reset is readable now), 0 if it is still open. */
static int
closed_now(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char b;

	if (poll(&p, 1, 0) != 1)
		return 0;
	return recv(fd, &b, 1, MSG_DONTWAIT) <= 0;
}

#define SLOWLORIS 200

/* 200 slowloris connections (headers that never end) from 200 addresses do not take the
 * API away: a health probe is answered while they are all still open. With 64 slots and no
 * deadline, the probe waited in the listen backlog for as long as they trickled. */
static void
test_slowloris(void **state)
{
	static int fds[SLOWLORIS];
	struct timespec t0, t1;
	struct resp r;
	int i, open_after = 0;

	(void)state;
	stub_reset(200, "{}");
	for (i = 0; i < SLOWLORIS; i++) {
		fds[i] = tcp_connect_from(srv.port, 0x7f000100 + (uint32_t)i + 1);
		send_all(fds[i], "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ", 42);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	http("GET", "/v1/health", NULL, &r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_json(&r, 200, "{}");
	/* For the record only: no test asserts a duration (docs/TESTING.md). */
	printf("health probe with %d slowloris connections open: %.1f ms\n", SLOWLORIS,
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	for (i = 0; i < SLOWLORIS; i++) {
		send_all(fds[i], "a", 1);
		open_after += !closed_now(fds[i]);
	}
	/* They were not simply dropped to make room (the probe came well within their
	 * api.header_timeout). */
	assert_int_equal(open_after, SLOWLORIS);
	for (i = 0; i < SLOWLORIS; i++)
		close(fds[i]);
	assert_int_equal(stub_calls(H_HEALTH), 1);
}

/* One address gets api.max_connections_per_address connections (64 by default): the rest
 * are closed at once, and others are still served. */
static void
test_per_address_cap(void **state)
{
	static int fds[100];
	struct resp r;
	int i, closed = 0;

	(void)state;
	stub_reset(200, "{}");
	for (i = 0; i < 100; i++)
		fds[i] = tcp_connect_from(srv.port, 0x7f000201);
	/* Served after the 100 were accepted or refused (in the order they came). */
	http("GET", "/v1/health", NULL, &r);
	assert_json(&r, 200, "{}");
	for (i = 0; i < 100; i++)
		closed += closed_now(fds[i]);
	assert_int_equal(closed, 100 - 64);
	for (i = 0; i < 100; i++)
		close(fds[i]);
}

/* Wait (bounded) for the server to close fd while trickling a byte of what into it every
 * 100 ms; 1 if it did. The inactivity timeout never fires on such a client. */
static int
trickle_until_closed(int fd, const char *what, int max_s)
{
	int i;

	for (i = 0; i < max_s * 10; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char b;

		if (send(fd, what + (size_t)i % strlen(what), 1, MSG_NOSIGNAL) < 0)
			return 1;
		if (poll(&p, 1, 100) == 1 && recv(fd, &b, 1, 0) <= 0)
			return 1;
	}
	return 0;
}

/* A request gets a total deadline: headers by api.header_timeout (2 s here), the whole
 * request by api.request_timeout (4 s here), however slowly the bytes keep coming. */
static void
test_request_deadlines(void **state)
{
	int fd;

	(void)state;
	stub_reset(201, SESSION);
	fd = tcp_connect(srv.port);
	send_all(fd, "GET /v1/health HTTP/1.1\r\nHost: x\r\n", 34);
	assert_true(trickle_until_closed(fd, "X-a: b\r\n", 3 * API_TIMEOUT_S));
	close(fd);
	fd = tcp_connect(srv.port);
	send_all(fd, "POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
		 "Content-Length: 1000\r\n\r\n", 94);
	assert_true(trickle_until_closed(fd, "                ", 3 * API_TIMEOUT_S));
	close(fd);
	assert_int_equal(stub_calls(H_CREATE), 0);
}

/* What a proxy could read differently from us (RFC 9112 §6.3), a NUL in the path, a Host
 * that is not ours, a foreign Origin, a body not declared JSON: refused, and for framing the
 * connection is closed (the request behind it is not read). */
static void
test_request_shape(void **state)
{
	static const struct {
		const char *req;
		size_t len;	/* 0: strlen */
		int status;
		const char *field;
	} cases[] = {
		{ "POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
		  "Content-Length: 16\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "0\r\n\r\nGET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400,
		  "transfer-encoding" },
		{ "POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
		  "Content-Length: 16\r\nContent-Length: 0\r\n\r\n"
		  "{\"legs\":[{},{}]}GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400,
		  "content-length" },
		{ "POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
		  "Content-Length: 16\r\nContent-Length: 16\r\n\r\n{\"legs\":[{},{}]}", 0, 400,
		  "content-length" },
		{ "POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
		  "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 0, 400,
		  "transfer-encoding" },
		{ "GET /v1/sessions/ab\0cd HTTP/1.1\r\nHost: x\r\n\r\n", 44, 400, "path" },
		{ "GET /v1/sessions/ab%00cd HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400, "path" },
		{ "DELETE /v1/sessions/ab%00 HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400, "path" },
		{ "GET /v1/health HTTP/1.1\r\nHost: evil.example\r\n\r\n", 0, 403, "host" },
		{ "GET /v1/health HTTP/1.1\r\nHost: evil.example:8080\r\n\r\n", 0, 403, "host" },
		{ "GET /v1/health HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n", 0, 400, "host" },
		{ "GET /v1/health HTTP/1.1\r\nHost: x\r\nOrigin: http://evil.example\r\n\r\n", 0,
		  403, "origin" },
		{ "GET /v1/health HTTP/1.1\r\nHost: x\r\nOrigin: null\r\n\r\n", 0, 403,
		  "origin" },
		{ "POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
		  "Content-Length: 16\r\n\r\n{\"legs\":[{},{}]}", 0, 415, "content-type" },
		{ "POST /v1/sessions HTTP/1.1\r\nHost: x\r\n"
		  "Content-Type: application/x-www-form-urlencoded\r\n"
		  "Content-Length: 16\r\n\r\n{\"legs\":[{},{}]}", 0, 415, "content-type" },
		{ "POST /v1/sessions HTTP/1.1\r\nHost: x\r\n"
		  "Content-Length: 16\r\n\r\n{\"legs\":[{},{}]}", 0, 415, "content-type" },
		{ "GET /v1/ws HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\n"
		  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		  0, 403, "origin" },
	};
	struct resp r;
	size_t i;

	(void)state;
	stub_reset(201, SESSION);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].req);

		raw_on(srv.port, cases[i].req, len, &r);
		if (r.status != cases[i].status || strncmp(r.body, "{\"error\":\"", 10) != 0 ||
		    strncmp(r.body + 10, cases[i].field, strlen(cases[i].field)) != 0)
			fail_msg("case %zu: got %d %.*s, want %d naming %s", i, r.status,
				 (int)r.body_len, r.body, cases[i].status, cases[i].field);
		/* One reply, then the connection was closed (raw_on reads until then). */
		assert_null(strstr(r.body, "HTTP/1."));
	}
	assert_int_equal(stub_total_calls(), 0);

	/* The API's own origin, the Host it listens on, and "localhost" (a loopback API). */
	stub_reset(200, "{}");
	http_on(srv.port, "GET", "/v1/health", "Origin: http://127.0.0.1\r\n", NULL, &r);
	assert_json(&r, 200, "{}");
	raw("GET /v1/health HTTP/1.1\r\nHost: localhost:8080\r\nConnection: close\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	raw("GET /v1/health HTTP/1.1\r\nHost: x\r\nOrigin: http://x\r\nConnection: close\r\n\r\n",
	    &r);
	assert_int_equal(r.status, 200);
	/* application/json with a parameter */
	stub_reset(201, SESSION);
	raw("POST /v1/sessions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "Content-Type: Application/JSON; charset=utf-8\r\nContent-Length: 16\r\n\r\n"
	    "{\"legs\":[{},{}]}", &r);
	assert_int_equal(r.status, 201);
	assert_int_equal(stub_calls(H_CREATE), 1);
	stub_reset(200, "{}");
}

/* ---- lifecycle (no poll thread: these use their own instances) ---- */

static void
test_create_errors(void **state)
{
	struct mr_config cfg;
	struct mr_api *api;
	char err[256];

	(void)state;
	/* the port is taken by the running server */
	config_init(&cfg, srv.port, "");
	memset(err, 0, sizeof(err));
	assert_null(mr_api_create(&cfg, fake_appliance, err, sizeof(err)));
	assert_true(strncmp(err, "api.listen 127.0.0.1:", 21) == 0);
	assert_non_null(strstr(err, "cannot start the HTTP server: "));
	assert_non_null(strstr(err, "Address already in use"));

	config_init(&cfg, 8080, "");
	cfg.api_max_body = 0;
	assert_null(mr_api_create(&cfg, fake_appliance, err, sizeof(err)));
	assert_string_equal(err, "api.max_body: must be at least 1 byte");

	config_init(&cfg, 8080, "");
	cfg.api_listen.family = 0;
	assert_null(mr_api_create(&cfg, fake_appliance, err, sizeof(err)));
	assert_string_equal(err, "api.listen: no address to listen on");

	/* an address this host does not have */
	config_init(&cfg, 8080, "");
	assert_int_equal(mr_addr_parse("198.18.255.254", &cfg.api_listen), 0);
	cfg.api_listen.port = 8080;
	assert_null(mr_api_create(&cfg, fake_appliance, err, sizeof(err)));
	assert_non_null(strstr(err, "api.listen 198.18.255.254:8080: cannot start the HTTP "
				    "server: "));

	assert_null(mr_api_create(NULL, fake_appliance, err, sizeof(err)));

	mr_api_free(NULL);
	mr_api_poll(NULL, 0);
	(void)api;
}

static void
test_poll_and_ipv6(void **state)
{
	static const char req[] = "GET /v1/health HTTP/1.1\r\nHost: x\r\n"
		"Connection: close\r\n\r\n";
	struct mr_config cfg;
	struct mr_api *api;
	char err[256], buf[512];
	ssize_t got = -1;
	uint16_t port;
	int i, fd;

	(void)state;
	api = api_start("", &port);
	/* A timeout of 0 or less is one turn: these return (a poll that blocked would hang
	 * the test). No durations are asserted (docs/TESTING.md). */
	for (i = 0; i < 10; i++)
		mr_api_poll(api, 0);
	mr_api_poll(api, -1);
	/* A request that arrives while the server waits is served by that wait: each turn
	 * returns once something happened, and within a bounded number of them the client
	 * has its answer. */
	fd = tcp_connect(port);
	send_all(fd, req, sizeof(req) - 1);
	for (i = 0; i < 100 && got <= 0; i++) {
		mr_api_poll(api, 1000);
		got = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	}
	assert_true(got > 0);
	buf[got] = 0;
	if (strstr(buf, " 200 ") == NULL)
		fail_msg("%s", buf);
	close(fd);
	mr_api_free(api);

	/* IPv6 loopback, where the host has it */
	for (i = 0; i < 20; i++) {
		config_init(&cfg, (uint16_t)(20000 + rand() % 40000), "");
		assert_int_equal(mr_addr_parse("::1", &cfg.api_listen), 0);
		cfg.api_listen.port = (uint16_t)(20000 + rand() % 40000);
		api = mr_api_create(&cfg, fake_appliance, err, sizeof(err));
		if (api != NULL || strstr(err, "in use") == NULL)
			break;
	}
	if (api == NULL) {
		/* no IPv6 here: at least the error names the address */
		assert_non_null(strstr(err, "api.listen [::1]:"));
		return;
	}
	mr_api_free(api);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_health_stats),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_create_invalid),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_list_invalid),
		cmocka_unit_test(test_session_routes),
		cmocka_unit_test(test_bad_ids),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_method_not_allowed),
		cmocka_unit_test(test_body_limit),
		cmocka_unit_test(test_upload_route),
		cmocka_unit_test(test_body_ignored),
		cmocka_unit_test(test_handler_replies),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_ws_upgrade),
		cmocka_unit_test(test_keepalive_pipelined),
		cmocka_unit_test(test_malformed_request_line),
		cmocka_unit_test(test_junk_flood),
		cmocka_unit_test(test_slow_client),
		cmocka_unit_test(test_slowloris),
		cmocka_unit_test(test_per_address_cap),
		cmocka_unit_test(test_request_deadlines),
		cmocka_unit_test(test_request_shape),
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_poll_and_ipv6),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
