/* SPDX-License-Identifier: BSD-3-Clause
 * apibench: REST control-plane benchmark (docs/PERFORMANCE.md). Against a running mrelayd:
 *
 *   apibench --api HOST:PORT [--token T] [--sessions N] [--conns C] [--depth D] [--batch B]
 *            [--json]
 *
 * creates N two-leg sessions as fast as it can over C keep-alive connections, each with up to
 * D requests in flight (HTTP/1.1 pipelining, RFC 9112 §9.3.2; D = 1 is strict request/answer),
 * then deletes them all the same way. With --batch B the sessions are created B at a time
 * with POST /v1/sessions/batch (deletes stay one per request). It reports sessions created
 * and deleted per second and the latency of each request (from the moment it was written to
 * the moment its whole answer was read, so with D > 1 it includes the wait behind the
 * requests ahead of it), and with --json one line with every figure.
 *
 * Leg remotes are in 198.18.0.0/15 (RFC 2544 benchmarking range) as perf/mksessions.py gives
 * them: session i gets 198.18.0.(10 + i % 100) and 198.18.0.(110 + i % 100), port
 * 10000 + 2 * (i / 100). Nothing is sent to them.
 *
 * All request bodies and paths are built before the clock starts, and the work is shared by
 * the connections through one counter, so they finish together.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "httpc.h"

#define APIBENCH_SESSIONS_MAX	1000000
#define APIBENCH_CONNS_MAX	64	/* connections apibench opens at most (mrelayd takes api.max_connections_per_address = 64 from one address) */
#define APIBENCH_DEPTH_MAX	1024
#define APIBENCH_BATCH_MAX	100000
#define APIBENCH_ID_MAX		64	/* docs/API.md: ids are 1 to 64 characters */
#define APIBENCH_ERR_MAX	512

struct opts {
	const char *api;
	const char *token;
	unsigned int sessions, conns, depth, batch;
	bool json;
};

/* One phase (create or delete): nreq requests, each with its method, path and body. */
struct phase {
	const char *name;
	const char *method;
	unsigned int nreq;
	char **path;		/* per request; NULL entries share path0 */
	const char *path0;
	char **body;		/* per request, or NULL (no body) */
	size_t *body_len;
	int expect;		/* the success status */

	/* Results. */
	uint64_t *lat_ns;	/* per request */
	unsigned int next;	/* the next request to send (shared, atomic) */
	unsigned int done_ok, errors;
	bool stop;		/* atomic: an error ended the phase early */
	double seconds, cpu_seconds;
	char err[APIBENCH_ERR_MAX];
	int err_status;
	pthread_mutex_t lock;	/* err, err_status */
};

struct bench {
	struct opts o;
	char (*ids)[APIBENCH_ID_MAX + 1];	/* per session; "" until created */
	struct phase *ph;
};

struct worker {
	struct bench *b;
	struct httpc *c;
	pthread_t tid;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double
cpu_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* The first error of a phase is kept for the report; every one stops it. */
static void
phase_fail(struct phase *ph, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
phase_fail(struct phase *ph, int status, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&ph->lock);
	ph->errors++;
	if (ph->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(ph->err, sizeof(ph->err), fmt, ap);
		va_end(ap);
		ph->err_status = status;
	}
	pthread_mutex_unlock(&ph->lock);
	/* Relaxed: a late stop only sends a few more requests. */
	__atomic_store_n(&ph->stop, true, __ATOMIC_RELAXED);
}

static void
fail_body(struct phase *ph, unsigned int r, int status, const char *body)
{
	if (status < 0)
		phase_fail(ph, status, "%s request %u: %s", ph->name, r, strerror(-status));
	else
		phase_fail(ph, status, "%s request %u: HTTP %d %.300s", ph->name, r, status,
			   body ? body : "");
}

/* Store one created session's id. */
static int
take_id(struct bench *b, unsigned int s, json_t *obj)
{
	const char *id = json_string_value(json_object_get(obj, "id"));

	if (id == NULL || id[0] == '\0' || strlen(id) > APIBENCH_ID_MAX)
		return -EPROTO;
	strcpy(b->ids[s], id);
	return 0;
}

/* The answer to create request r: the ids, in order. */
static void
create_answer(struct bench *b, unsigned int r, int status, const char *resp, size_t len)
{
	struct phase *ph = b->ph;
	unsigned int first, n, i;
	json_error_t jerr;
	json_t *root, *arr;

	if (status != ph->expect) {
		if (status == 404 && b->o.batch > 0)
			phase_fail(ph, status, "POST /v1/sessions/batch answered 404 (%.200s): "
				   "this mrelayd has no batch endpoint yet; run without --batch",
				   resp ? resp : "");
		else
			fail_body(ph, r, status, resp);
		return;
	}
	root = json_loadb(resp, len, 0, &jerr);
	if (root == NULL) {
		phase_fail(ph, status, "create request %u: answer is not JSON: %s", r, jerr.text);
		return;
	}
	if (b->o.batch == 0) {
		if (take_id(b, r, root) < 0)
			goto bad;
	} else {
		first = r * b->o.batch;
		n = b->o.sessions - first < b->o.batch ? b->o.sessions - first : b->o.batch;
		arr = json_object_get(root, "sessions");
		if (!json_is_array(arr) || json_array_size(arr) != n)
			goto bad;
		for (i = 0; i < n; i++)
			if (take_id(b, first + i, json_array_get(arr, i)) < 0)
				goto bad;
	}
	json_decref(root);
	__atomic_fetch_add(&ph->done_ok, 1, __ATOMIC_RELAXED);
	return;
bad:
	json_decref(root);
	phase_fail(ph, status, "create request %u: unexpected answer %.300s", r, resp);
}

static void
answer(struct bench *b, unsigned int r, int status, const char *resp, size_t len)
{
	struct phase *ph = b->ph;

	if (ph->body != NULL) {
		create_answer(b, r, status, resp, len);
	} else if (status == ph->expect) {
		__atomic_fetch_add(&ph->done_ok, 1, __ATOMIC_RELAXED);
	} else {
		fail_body(ph, r, status, resp);
	}
}

/* One connection: keep up to depth requests in flight until the phase's requests run out. */
static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct bench *b = w->b;
	struct phase *ph = b->ph;
	unsigned int depth = b->o.depth, head = 0, inflight = 0, r;
	unsigned int *win_r = calloc(depth, sizeof(*win_r));
	uint64_t *win_t = calloc(depth, sizeof(*win_t));
	char *resp;
	size_t len;
	int ret;

	if (win_r == NULL || win_t == NULL) {
		phase_fail(ph, -ENOMEM, "%s: out of memory", ph->name);
		goto out;
	}
	for (;;) {
		while (inflight < depth && !__atomic_load_n(&ph->stop, __ATOMIC_RELAXED)) {
			r = __atomic_fetch_add(&ph->next, 1, __ATOMIC_RELAXED);
			if (r >= ph->nreq)
				break;
			win_r[(head + inflight) % depth] = r;
			win_t[(head + inflight) % depth] = now_ns();
			ret = httpc_send(w->c, ph->method, ph->path ? ph->path[r] : ph->path0,
					 ph->body ? ph->body[r] : NULL,
					 ph->body ? ph->body_len[r] : 0);
			if (ret < 0) {
				fail_body(ph, r, ret, NULL);
				break;
			}
			inflight++;
		}
		if (inflight == 0)
			break;
		r = win_r[head];
		ret = httpc_recv(w->c, &resp, &len);
		ph->lat_ns[r] = now_ns() - win_t[head];
		head = (head + 1) % depth;
		inflight--;
		answer(b, r, ret, resp, len);
		free(resp);
	}
out:
	free(win_r);
	free(win_t);
	return NULL;
}

static int
run_phase(struct bench *b, struct worker *w)
{
	struct phase *ph = b->ph;
	unsigned int i;
	uint64_t t0;
	double c0;
	int ret;

	ph->lat_ns = calloc(ph->nreq ? ph->nreq : 1, sizeof(*ph->lat_ns));
	if (ph->lat_ns == NULL)
		return -ENOMEM;
	c0 = cpu_now();
	t0 = now_ns();
	for (i = 0; i < b->o.conns; i++) {
		ret = pthread_create(&w[i].tid, NULL, worker_run, &w[i]);
		if (ret != 0) {
			phase_fail(ph, -ret, "%s: thread: %s", ph->name, strerror(ret));
			break;
		}
	}
	while (i-- > 0)
		pthread_join(w[i].tid, NULL);
	ph->seconds = (double)(now_ns() - t0) / 1e9;
	ph->cpu_seconds = cpu_now() - c0;
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct lat {
	double p50, p99, max, mean;	/* microseconds */
};

/* Percentiles of the requests that were answered (nearest rank). */
static struct lat
lat_stats(const struct phase *ph)
{
	struct lat l = { 0 };
	unsigned int n = ph->nreq < ph->next ? ph->nreq : ph->next, i, k = 0;
	uint64_t *v = malloc((n ? n : 1) * sizeof(*v));
	double sum = 0;

	if (v == NULL)
		return l;
	for (i = 0; i < n; i++)
		if (ph->lat_ns[i] != 0)
			v[k++] = ph->lat_ns[i];
	if (k > 0) {
		qsort(v, k, sizeof(*v), cmp_u64);
		for (i = 0; i < k; i++)
			sum += (double)v[i];
		l.p50 = (double)v[(k * 50 + 99) / 100 - 1] / 1e3;
		l.p99 = (double)v[(k * 99 + 99) / 100 - 1] / 1e3;
		l.max = (double)v[k - 1] / 1e3;
		l.mean = sum / k / 1e3;
	}
	free(v);
	return l;
}

static void
print_phase(const struct phase *ph, unsigned int items, const char *what)
{
	struct lat l = lat_stats(ph);

	printf("  %-6s %u %s in %.3f s = %.0f %s/s (%u requests, %.0f req/s, client CPU %.2f s)\n",
	       ph->name, items, what, ph->seconds, ph->seconds > 0 ? items / ph->seconds : 0,
	       what, ph->done_ok, ph->seconds > 0 ? ph->done_ok / ph->seconds : 0,
	       ph->cpu_seconds);
	printf("         latency per request: p50 %.0f us, p99 %.0f us, max %.0f us, mean %.0f us\n",
	       l.p50, l.p99, l.max, l.mean);
	if (ph->err[0] != '\0')
		printf("         %u error(s); first: %s\n", ph->errors, ph->err);
}

static json_t *
phase_json(const struct phase *ph, unsigned int items, const char *rate_key)
{
	struct lat l = lat_stats(ph);
	json_t *o;

	o = json_pack("{s:i, s:i, s:i, s:f, s:f, s:f, s:f, s:{s:f, s:f, s:f, s:f}}",
		      "items", (json_int_t)items, "requests", (json_int_t)ph->done_ok,
		      "errors", (json_int_t)ph->errors, "seconds", ph->seconds,
		      rate_key, ph->seconds > 0 ? items / ph->seconds : 0.0,
		      "requests_per_s", ph->seconds > 0 ? ph->done_ok / ph->seconds : 0.0,
		      "client_cpu_s", ph->cpu_seconds,
		      "lat_us", "p50", l.p50, "p99", l.p99, "max", l.max, "mean", l.mean);
	if (o != NULL && ph->err[0] != '\0')
		json_object_set_new(o, "first_error", json_string(ph->err));
	return o;
}

static void
phase_free(struct phase *ph)
{
	unsigned int i;

	if (ph->path != NULL)
		for (i = 0; i < ph->nreq; i++)
			free(ph->path[i]);
	if (ph->body != NULL)
		for (i = 0; i < ph->nreq; i++)
			free(ph->body[i]);
	free(ph->path);
	free(ph->body);
	free(ph->body_len);
	free(ph->lat_ns);
	pthread_mutex_destroy(&ph->lock);
}

/* One session's POST /v1/sessions body, as in perf/mksessions.py. */
static int
session_json(char *buf, size_t size, unsigned int i)
{
	return snprintf(buf, size, "{\"legs\":[{\"remote\":\"198.18.0.%u:%u\"},"
			"{\"remote\":\"198.18.0.%u:%u\"}],\"label\":\"apibench-%u\"}",
			10 + i % 100, 10000 + 2 * (i / 100), 110 + i % 100,
			10000 + 2 * (i / 100), i);
}

static int
build_create(struct bench *b, struct phase *ph)
{
	unsigned int n = b->o.sessions, B = b->o.batch, r, i, first, cnt;
	char one[256];
	size_t cap, len;
	int l;

	ph->name = "create";
	ph->method = "POST";
	ph->expect = 201;
	ph->path0 = B ? "/v1/sessions/batch" : "/v1/sessions";
	ph->nreq = B ? (n + B - 1) / B : n;
	ph->body = calloc(ph->nreq, sizeof(*ph->body));
	ph->body_len = calloc(ph->nreq, sizeof(*ph->body_len));
	if (ph->body == NULL || ph->body_len == NULL)
		return -ENOMEM;
	for (r = 0; r < ph->nreq; r++) {
		first = B ? r * B : r;
		cnt = B ? (n - first < B ? n - first : B) : 1;
		cap = (size_t)cnt * sizeof(one) + 32;
		ph->body[r] = malloc(cap);
		if (ph->body[r] == NULL)
			return -ENOMEM;
		len = 0;
		if (B)
			len += (size_t)snprintf(ph->body[r], cap, "{\"sessions\":[");
		for (i = 0; i < cnt; i++) {
			l = session_json(one, sizeof(one), first + i);
			if (l < 0 || (size_t)l >= sizeof(one))
				return -EINVAL;
			if (i > 0)
				ph->body[r][len++] = ',';
			memcpy(ph->body[r] + len, one, (size_t)l);
			len += (size_t)l;
		}
		if (B)
			len += (size_t)snprintf(ph->body[r] + len, cap - len, "]}");
		ph->body[r][len] = '\0';
		ph->body_len[r] = len;
	}
	return 0;
}

/* One DELETE per session that was created. */
static int
build_delete(struct bench *b, struct phase *ph)
{
	unsigned int s, n = 0;

	ph->name = "delete";
	ph->method = "DELETE";
	ph->expect = 204;
	ph->path = calloc(b->o.sessions ? b->o.sessions : 1, sizeof(*ph->path));
	if (ph->path == NULL)
		return -ENOMEM;
	for (s = 0; s < b->o.sessions; s++) {
		if (b->ids[s][0] == '\0')
			continue;
		if (asprintf(&ph->path[n], "/v1/sessions/%s", b->ids[s]) < 0) {
			ph->path[n] = NULL;
			ph->nreq = n;
			return -ENOMEM;
		}
		n++;
	}
	ph->nreq = n;
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: apibench --api HOST:PORT [--token T] [--sessions N] [--conns C] "
		"[--depth D] [--batch B] [--json]\n"
		"  --api HOST:PORT  mrelayd's API (a.b.c.d:p or [v6]:p)\n"
		"  --token T        bearer token (api.token)\n"
		"  --sessions N     sessions to create then delete (default 20000; the relay\n"
		"                   needs 2 ports per session in relay.port_min..port_max and\n"
		"                   relay.max_sessions >= N)\n"
		"  --conns C        keep-alive connections, 1..%u (default 1)\n"
		"  --depth D        requests in flight per connection, 1..%u (default 1)\n"
		"  --batch B        create B sessions per POST /v1/sessions/batch (default: one\n"
		"                   POST /v1/sessions each; api.max_body must hold B sessions,\n"
		"                   about 100 bytes each)\n"
		"  --json           also print one JSON line with every figure\n",
		APIBENCH_CONNS_MAX, APIBENCH_DEPTH_MAX);
}

static int
parse_uint(const char *name, const char *s, unsigned int min, unsigned int max,
	   unsigned int *v)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || x < min || x > max) {
		fprintf(stderr, "apibench: %s: '%s' is not an integer between %u and %u\n",
			name, s, min, max);
		return -EINVAL;
	}
	*v = (unsigned int)x;
	return 0;
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "api", required_argument, NULL, 'a' },
		{ "token", required_argument, NULL, 't' },
		{ "sessions", required_argument, NULL, 'n' },
		{ "conns", required_argument, NULL, 'c' },
		{ "depth", required_argument, NULL, 'd' },
		{ "batch", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, ret = 0;

	*o = (struct opts){ .sessions = 20000, .conns = 1, .depth = 1 };
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'a':
			o->api = optarg;
			break;
		case 't':
			o->token = optarg;
			break;
		case 'n':
			ret = parse_uint("--sessions", optarg, 1, APIBENCH_SESSIONS_MAX,
					 &o->sessions);
			break;
		case 'c':
			ret = parse_uint("--conns", optarg, 1, APIBENCH_CONNS_MAX, &o->conns);
			break;
		case 'd':
			ret = parse_uint("--depth", optarg, 1, APIBENCH_DEPTH_MAX, &o->depth);
			break;
		case 'b':
			ret = parse_uint("--batch", optarg, 1, APIBENCH_BATCH_MAX, &o->batch);
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
		if (ret < 0)
			return ret;
	}
	if (optind != argc || o->api == NULL) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/* Is the API there, and does it take our token? */
static int
check_api(const struct opts *o)
{
	struct httpc *c = httpc_open(o->api, o->token);
	char *resp = NULL;
	int ret;

	if (c == NULL) {
		fprintf(stderr, "apibench: cannot connect to %s: %s\n", o->api, strerror(errno));
		return -1;
	}
	ret = httpc_request(c, "GET", "/v1/health", NULL, 0, &resp, NULL);
	if (ret != 200) {
		if (ret < 0)
			fprintf(stderr, "apibench: GET /v1/health: %s\n", strerror(-ret));
		else
			fprintf(stderr, "apibench: GET /v1/health: HTTP %d %.300s%s\n", ret,
				resp ? resp : "", ret == 401 ? " (give the right --token)" : "");
		ret = -1;
	} else {
		ret = 0;
	}
	free(resp);
	httpc_close(c);
	return ret;
}

int
main(int argc, char **argv)
{
	struct phase create = { 0 }, del = { 0 };
	struct worker *w = NULL;
	struct bench b = { 0 };
	unsigned int i, created = 0, deleted;
	int rc = 1;

	if (parse_opts(argc, argv, &b.o) < 0)
		return 2;
	if (check_api(&b.o) < 0)
		return 1;
	pthread_mutex_init(&create.lock, NULL);
	pthread_mutex_init(&del.lock, NULL);
	b.ids = calloc(b.o.sessions, sizeof(*b.ids));
	w = calloc(b.o.conns, sizeof(*w));
	if (b.ids == NULL || w == NULL || build_create(&b, &create) < 0) {
		fprintf(stderr, "apibench: out of memory\n");
		goto out;
	}
	for (i = 0; i < b.o.conns; i++) {
		w[i].b = &b;
		w[i].c = httpc_open(b.o.api, b.o.token);
		if (w[i].c == NULL) {
			fprintf(stderr, "apibench: connection %u to %s: %s\n", i, b.o.api,
				strerror(errno));
			goto out;
		}
	}

	b.ph = &create;
	if (run_phase(&b, w) < 0) {
		fprintf(stderr, "apibench: out of memory\n");
		goto out;
	}
	for (i = 0; i < b.o.sessions; i++)
		created += b.ids[i][0] != '\0';

	/* Delete whatever was created, even after an error, so the relay is left clean. */
	if (build_delete(&b, &del) < 0) {
		fprintf(stderr, "apibench: out of memory\n");
		goto out;
	}
	b.ph = &del;
	if (del.nreq > 0 && run_phase(&b, w) < 0) {
		fprintf(stderr, "apibench: out of memory\n");
		goto out;
	}
	deleted = del.done_ok;

	printf("apibench: %u sessions over %u connection(s), depth %u, %s\n", b.o.sessions,
	       b.o.conns, b.o.depth, b.o.batch ? "batch" : "one POST per session");
	if (b.o.batch)
		printf("  (POST /v1/sessions/batch with %u sessions each)\n", b.o.batch);
	print_phase(&create, created, "sessions");
	if (del.nreq > 0)
		print_phase(&del, deleted, "deletes");
	if (b.o.json) {
		json_t *j = json_pack("{s:s, s:i, s:i, s:i, s:i, s:o, s:o}", "tool", "apibench",
				      "sessions", (json_int_t)b.o.sessions,
				      "conns", (json_int_t)b.o.conns,
				      "depth", (json_int_t)b.o.depth,
				      "batch", (json_int_t)b.o.batch,
				      "create", phase_json(&create, created, "sessions_per_s"),
				      "delete", phase_json(&del, deleted, "deletes_per_s"));
		char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;

		if (s != NULL)
			printf("%s\n", s);
		free(s);
		json_decref(j);
	}
	if (create.err_status == 404 && b.o.batch)
		rc = 3;
	else
		rc = create.errors || del.errors || created != b.o.sessions ||
		     deleted != created ? 1 : 0;
	if (rc != 0 && create.err[0] != '\0')
		fprintf(stderr, "apibench: %s\n", create.err);
	if (rc != 0 && del.err[0] != '\0')
		fprintf(stderr, "apibench: %s\n", del.err);
out:
	if (w != NULL)
		for (i = 0; i < b.o.conns; i++)
			httpc_close(w[i].c);
	free(w);
	phase_free(&create);
	phase_free(&del);
	free(b.ids);
	return rc;
}
