/* SPDX-License-Identifier: BSD-3-Clause
 * Sessions in Redis (state.h): hiredis' asynchronous API on the control loop.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <rte_cycles.h>
#include <rte_log.h>

#include "addr.h"
#include "api.h"
#include "appliance.h"
#include "rooms.h"
#include "sessions.h"
#include "state.h"
#include "mr_log.h"

MR_LOG_REGISTER(mr_logtype_state, state);
#define STATE_LOG(level, ...) MR_LOG(level, mr_logtype_state, "state", __VA_ARGS__)

/* Commands sent and not answered yet, at most: beyond, writes wait in the queue (and hiredis'
 * output buffer stays small). */
#define MR_STATE_INFLIGHT 4096
/* Slots the resync writes per turn of the flush loop. */
#define MR_STATE_RESYNC_BATCH 256
#define MR_STATE_HEARTBEAT_TTL_MS 3000
/* Changes are sent in batches (docs/PERFORMANCE.md "State in Redis"): once this many wait,
 * or once the oldest has waited MR_STATE_COALESCE_US. One write() and one wake-up of Redis
 * per batch instead of one per API request: creating sessions at the REST rate costs a few
 * per cent instead of a third. */
#define MR_STATE_BATCH 256
#define MR_STATE_COALESCE_US 2000
/* Room for a run's header: "*ARGC", the verb and the key (at most 127 bytes). */
#define MR_STATE_RESP_HDR 192

enum mr_state_link { LINK_DOWN = 0, LINK_CONNECTING, LINK_UP };

enum mr_state_op_kind { OP_SESSION_PUT = 0, OP_SESSION_DEL, OP_ROOM };

struct mr_state_op {
	uint64_t id;
	uint8_t kind;		/* enum mr_state_op_kind */
};

struct mr_state_ctr {
	uint64_t writes;	/* HSET of a record (session or room) */
	uint64_t deletes;	/* HDEL */
	uint64_t bytes;		/* record bytes written */
	uint64_t dropped;	/* changes that found the queue full (a resync follows) */
	uint64_t errors;	/* error replies */
	uint64_t lost;		/* commands unanswered when the connection went */
	uint64_t connects;
	uint64_t disconnects;
	uint64_t resyncs;	/* whole-state rewrites finished */
	uint64_t scan_changes;	/* sessions rewritten because the scan saw a change */
	uint64_t restored;	/* sessions restored at start */
	uint64_t restore_failed;	/* records that could not be restored */
	uint64_t rooms_restored;
	uint64_t room_writes;	/* of writes: room records */
};

struct mr_state {
	struct mr_appliance *a;
	const struct mr_state_conf *conf;
	char host[64];
	char key[128];		/* mrelay:ID:sessions */
	char tmp_key[128];	/* mrelay:ID:sessions:resync */
	char hb_key[128];	/* mrelay:ID:heartbeat */
	char rooms_key[128];	/* mrelay:ID:rooms */
	char rooms_tmp_key[128];	/* mrelay:ID:rooms:resync */
	redisAsyncContext *ac;
	enum mr_state_link link;
	int want_read, want_write;
	uint64_t retry_tsc;	/* next connection attempt */
	uint64_t hb_tsc;	/* next heartbeat */
	uint32_t inflight;
	/* The queue: a ring of changes. */
	struct mr_state_op *q;
	uint32_t q_cap, q_head, q_n;
	uint64_t q_first_tsc;	/* when the queue last stopped being empty */
	uint64_t coalesce_tsc;	/* MR_STATE_COALESCE_US in TSC cycles */
	/* A run: one HSET or HDEL of many fields, written as RESP (the Redis protocol) after
	 * MR_STATE_RESP_HDR bytes left for its header (mr_state_run_*). */
	char *resp;
	size_t resp_len, resp_cap;
	unsigned int resp_fields;
	/* Resync: 1 wanted, 2 under way (cursor: the next slot, then the last room id
	 * written once resync_rooms is set). */
	int resync;
	uint32_t resync_cursor;
	int resync_rooms;
	/* Set while mr_state_restore() runs: what it re-creates is in Redis already. */
	int restoring;
	int auth_failed;
	/* The change scan: each session's digest as last written. */
	uint64_t *digest;
	uint32_t max;
	uint64_t scan_cursor, scan_end, last_scan_tsc, room_scan_tsc;
	struct mr_state_ctr n;
};

/* ---- hiredis event hooks: the control loop polls the descriptor (mr_state_poll) ---- */

static void
ev_add_read(void *p)
{
	((struct mr_state *)p)->want_read = 1;
}

static void
ev_del_read(void *p)
{
	((struct mr_state *)p)->want_read = 0;
}

static void
ev_add_write(void *p)
{
	((struct mr_state *)p)->want_write = 1;
}

static void
ev_del_write(void *p)
{
	((struct mr_state *)p)->want_write = 0;
}

static void
ev_cleanup(void *p)
{
	struct mr_state *st = p;

	st->want_read = st->want_write = 0;
}

/* The control loop's wait found the connection readable (api.h mr_api_watch). */
static void
mr_state_readable(void *arg)
{
	struct mr_state *st = arg;

	if (st->ac != NULL)
		redisAsyncHandleRead(st->ac);	/* may free the context (on_disconnect) */
}

static void
mr_state_gone(struct mr_state *st)
{
	mr_api_watch(st->a->api, -1, mr_state_readable, st);
	st->ac = NULL;
	st->link = LINK_DOWN;
	st->want_read = st->want_write = 0;
	st->retry_tsc = rte_get_tsc_cycles() + rte_get_tsc_hz();
	/* What was sent and not answered may not have been applied. */
	if (st->inflight > 0 || st->resync == 2)
		st->resync = 1;
	st->inflight = 0;
}

static void
on_connect(const redisAsyncContext *ac, int status)
{
	struct mr_state *st = ac->ev.data;

	if (status != REDIS_OK) {
		if (st->n.connects == 0 && st->n.disconnects == 0)
			STATE_LOG(WARNING, "redis %s: %s: writes queue up (state.queue = %u)\n",
				  st->host, ac->errstr, st->conf->queue);
		st->n.disconnects++;
		mr_state_gone(st);	/* hiredis frees ac */
		return;
	}
	st->link = LINK_UP;
	st->n.connects++;
	STATE_LOG(INFO, "redis %s: connected\n", st->host);
}

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
	struct mr_state *st = ac->ev.data;

	st->n.disconnects++;
	STATE_LOG(WARNING, "redis %s: connection lost (%s): writes queue up\n", st->host,
		  status == REDIS_OK ? "closed" : ac->errstr);
	mr_state_gone(st);
}

static void
on_reply(redisAsyncContext *ac, void *r, void *priv)
{
	struct mr_state *st = ac->ev.data;
	redisReply *reply = r;

	/* priv: NULL for a session write (counted in flight), else AUTH or the heartbeat. */
	if (priv == NULL && st->inflight > 0)
		st->inflight--;
	if (reply == NULL) {
		if (priv == NULL)
			st->n.lost++;
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		if (st->n.errors++ == 0 || strncmp(reply->str, "NOAUTH", 6) == 0)
			STATE_LOG(ERR, "redis %s: %s\n", st->host, reply->str);
		if (strncmp(reply->str, "NOAUTH", 6) == 0 ||
		    strncmp(reply->str, "WRONGPASS", 9) == 0)
			st->auth_failed = 1;
	}
}

static int
mr_state_cmd(struct mr_state *st, int argc, const char **argv, const size_t *len)
{
	if (redisAsyncCommandArgv(st->ac, on_reply, NULL, argc, argv, len) != REDIS_OK)
		return -1;
	st->inflight++;
	return 0;
}

/* AUTH and the heartbeat: not session state, so neither counted in flight nor a reason for
 * a resync when unanswered. */
static void
mr_state_aux(struct mr_state *st, int argc, const char **argv, const size_t *len)
{
	static char aux;

	(void)redisAsyncCommandArgv(st->ac, on_reply, &aux, argc, argv, len);
}

static void
mr_state_connect(struct mr_state *st)
{
	redisAsyncContext *ac = redisAsyncConnect(st->host, st->conf->redis.port);

	st->retry_tsc = rte_get_tsc_cycles() + rte_get_tsc_hz();
	if (ac == NULL)
		return;
	if (ac->err) {
		redisAsyncFree(ac);
		return;
	}
	st->ac = ac;
	st->link = LINK_CONNECTING;
	/* The hooks first: setting the connect callback asks for the first write event. */
	ac->ev.data = st;
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	/* Answers wake the control loop's own wait: no system call of ours per turn. */
	mr_api_watch(st->a->api, ac->c.fd, mr_state_readable, st);
	/* AUTH first in the pipeline: everything after it runs authenticated. */
	if (st->conf->password[0] != '\0') {
		const char *argv[2] = { "AUTH", st->conf->password };
		size_t len[2] = { 4, strlen(st->conf->password) };

		mr_state_aux(st, 2, argv, len);
	}
}

/* ---- writes ---- */

static void
mr_state_enqueue(struct mr_state *st, uint64_t id, enum mr_state_op_kind kind)
{
	struct mr_state_op *op;

	if (st->q_n == st->q_cap) {
		/* Redis is away or slower than the changes: forget the detail, rewrite all
		 * once it keeps up. */
		st->n.dropped++;
		st->resync = st->resync ? st->resync : 1;
		return;
	}
	op = &st->q[(st->q_head + st->q_n) % st->q_cap];
	op->id = id;
	op->kind = (uint8_t)kind;
	if (st->q_n++ == 0)
		st->q_first_tsc = rte_get_tsc_cycles();
}

void
mr_state_session_put(struct mr_state *st, uint64_t id)
{
	if (st != NULL)
		mr_state_enqueue(st, id, OP_SESSION_PUT);
}

void
mr_state_session_del(struct mr_state *st, uint64_t id)
{
	if (st != NULL)
		mr_state_enqueue(st, id, OP_SESSION_DEL);
}

void
mr_state_room_put(struct mr_state *st, uint32_t id)
{
	if (st != NULL && !st->restoring)
		mr_state_enqueue(st, id, OP_ROOM);
}

/* HSET key field text, with "next" = next when it is not NULL. */
static int
mr_state_hset(struct mr_state *st, const char *key, const char *field, const char *text,
	      size_t tlen, const char *next)
{
	const char *argv[6] = { "HSET", key, field, text, "next", next };
	size_t len[6] = { 4, strlen(key), strlen(field), tlen, 4, next ? strlen(next) : 0 };
	int rc = mr_state_cmd(st, next != NULL ? 6 : 4, argv, len);

	if (rc == 0) {
		st->n.writes++;
		st->n.bytes += tlen;
	}
	return rc;
}

static int
mr_state_hdel(struct mr_state *st, const char *key, const char *field)
{
	const char *argv[3] = { "HDEL", key, field };
	size_t len[3] = { 4, strlen(key), strlen(field) };

	if (mr_state_cmd(st, 3, argv, len) < 0)
		return -1;
	st->n.deletes++;
	return 0;
}

static int mr_state_room_write(struct mr_state *st, const char *key, uint32_t id);

/* ---- runs: the changes of a batch as one command (one answer, one callback) ---- */

static void
mr_state_run_begin(struct mr_state *st)
{
	st->resp_len = MR_STATE_RESP_HDR;
	st->resp_fields = 0;
}

/* Append one argument ("$LEN\r\nBYTES\r\n"). 0, or -1 without memory. */
static int
mr_state_run_arg(struct mr_state *st, const char *p, size_t n)
{
	size_t need = st->resp_len + n + 32;

	if (need > st->resp_cap) {
		size_t cap = st->resp_cap ? st->resp_cap : 65536;
		char *nr;

		while (cap < need)
			cap *= 2;
		nr = malloc(cap);
		if (nr == NULL)
			return -1;
		if (st->resp != NULL) {
			memcpy(nr, st->resp, st->resp_len);
			explicit_bzero(st->resp, st->resp_len);	/* records hold keys */
			free(st->resp);
		}
		st->resp = nr;
		st->resp_cap = cap;
	}
	st->resp_len += (size_t)sprintf(st->resp + st->resp_len, "$%zu\r\n", n);
	memcpy(st->resp + st->resp_len, p, n);
	memcpy(st->resp + st->resp_len + n, "\r\n", 2);
	st->resp_len += n + 2;
	return 0;
}

/* Send the run as VERB key fields... (args_per_field arguments each); nothing when empty. */
static void
mr_state_run_end(struct mr_state *st, const char *verb, const char *key,
		 unsigned int args_per_field)
{
	char hdr[MR_STATE_RESP_HDR];
	size_t klen = strlen(key);
	int h;

	if (st->resp_fields == 0)
		return;
	h = snprintf(hdr, sizeof(hdr), "*%u\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n",
		     2 + st->resp_fields * args_per_field, strlen(verb), verb, klen, key);
	if (h > 0 && (size_t)h <= MR_STATE_RESP_HDR) {
		char *cmd = st->resp + MR_STATE_RESP_HDR - h;

		memcpy(cmd, hdr, (size_t)h);
		if (redisAsyncFormattedCommand(st->ac, on_reply, NULL, cmd,
					       st->resp_len - MR_STATE_RESP_HDR + (size_t)h) ==
		    REDIS_OK)
			st->inflight++;
	}
	/* hiredis has its own copy; the records hold keys. */
	explicit_bzero(st->resp + MR_STATE_RESP_HDR, st->resp_len - MR_STATE_RESP_HDR);
	st->resp_fields = 0;
}

/* Session id's record into the run (an HSET); nothing when it is no longer active. */
static void
mr_state_run_put(struct mr_state *st, uint64_t id)
{
	struct mr_sessions *ss = st->a->sess;
	char ids[24], text[MR_SESSION_RECORD_MAX];
	int n = mr_session_record(ss, id, text, sizeof(text));
	uint64_t dummy;

	if (n <= 0)
		return;
	/* What the scan compares with from now on. */
	st->digest[(uint32_t)id] = mr_session_digest(ss, (uint32_t)id, &dummy);
	snprintf(ids, sizeof(ids), "%016" PRIx64, id);
	if (mr_state_run_arg(st, ids, 16) == 0 &&
	    mr_state_run_arg(st, text, (size_t)n) == 0) {
		st->resp_fields++;
		st->n.writes++;
		st->n.bytes += (uint64_t)n;
	} else {
		st->resync = 1;	/* no memory: write everything again later */
	}
	explicit_bzero(text, (size_t)n);
}

/* Session id out of the hash (an HDEL run). */
static void
mr_state_run_del(struct mr_state *st, uint64_t id)
{
	char ids[24];

	snprintf(ids, sizeof(ids), "%016" PRIx64, id);
	if (mr_state_run_arg(st, ids, 16) == 0) {
		st->resp_fields++;
		st->n.deletes++;
	} else {
		st->resync = 1;
	}
}

/* The changes at the head of the queue of one kind, up to a batch, as one command; a room
 * alone. */
static void
mr_state_run(struct mr_state *st, const char *key, const char *rkey)
{
	struct mr_state_op op = st->q[st->q_head];
	unsigned int n;

	if (op.kind == OP_ROOM) {
		st->q_head = (st->q_head + 1) % st->q_cap;
		st->q_n--;
		mr_state_room_write(st, rkey, (uint32_t)op.id);
		return;
	}
	mr_state_run_begin(st);
	for (n = 0; st->q_n > 0 && n < MR_STATE_BATCH; n++) {
		struct mr_state_op o = st->q[st->q_head];

		if (o.kind != op.kind)
			break;
		st->q_head = (st->q_head + 1) % st->q_cap;
		st->q_n--;
		if (o.kind == OP_SESSION_DEL)
			mr_state_run_del(st, o.id);
		else
			mr_state_run_put(st, o.id);
	}
	if (op.kind == OP_SESSION_DEL)
		mr_state_run_end(st, "HDEL", key, 1);
	else
		mr_state_run_end(st, "HSET", key, 2);
}

/* The record of room id into key (with the last room id handed out), or its deletion when
 * the room is gone. */
static int
mr_state_room_write(struct mr_state *st, const char *key, uint32_t id)
{
	json_t *rec = mr_rooms_record(st->a->rooms, id);
	char ids[16], next[16], *text;
	size_t n;
	int rc;

	snprintf(ids, sizeof(ids), "%" PRIu32, id);
	if (rec == NULL)
		return mr_state_hdel(st, key, ids);
	text = json_dumps(rec, JSON_COMPACT);
	json_decref(rec);
	if (text == NULL)
		return -1;
	n = strlen(text);
	snprintf(next, sizeof(next), "%" PRIu32, mr_rooms_last_id(st->a->rooms));
	st->n.room_writes++;
	rc = mr_state_hset(st, key, ids, text, n, next);
	explicit_bzero(text, n);	/* it holds keys */
	free(text);
	return rc;
}

static int
mr_state_simple(struct mr_state *st, const char *verb, const char *k1, const char *k2)
{
	const char *argv[3] = { verb, k1, k2 };
	size_t len[3] = { strlen(verb), strlen(k1), k2 != NULL ? strlen(k2) : 0 };

	return mr_state_cmd(st, k2 != NULL ? 3 : 2, argv, len);
}

/* Send what waits, as far as the in-flight bound allows. hiredis gathers it in one buffer:
 * one write() for the lot (pipelining). */
static void
mr_state_flush(struct mr_state *st)
{
	while (st->link == LINK_UP && st->ac != NULL && st->inflight < MR_STATE_INFLIGHT) {
		/* While a resync is under way, changes go to the hashes being built. */
		const char *key = st->resync == 2 ? st->tmp_key : st->key;
		const char *rkey = st->resync == 2 ? st->rooms_tmp_key : st->rooms_key;

		if (st->q_n > 0) {
			mr_state_run(st, key, rkey);
			continue;
		}
		if (st->resync == 1) {
			st->resync = 2;
			st->resync_cursor = 0;
			st->resync_rooms = 0;
			mr_state_simple(st, "DEL", st->tmp_key, NULL);
			mr_state_simple(st, "DEL", st->rooms_tmp_key, NULL);
			continue;
		}
		if (st->resync == 2 && !st->resync_rooms) {
			struct mr_sessions *ss = st->a->sess;
			uint32_t end = st->resync_cursor + MR_STATE_RESYNC_BATCH;
			uint64_t id;
			char next[16];
			const char *argv[4] = { "HSET", st->rooms_tmp_key, "next", next };
			size_t len[4] = { 4, strlen(st->rooms_tmp_key), 4, 0 };

			mr_state_run_begin(st);
			for (; st->resync_cursor < end && st->resync_cursor < st->max;
			     st->resync_cursor++)
				if (mr_session_digest(ss, st->resync_cursor, &id) != 0)
					mr_state_run_put(st, id);
			mr_state_run_end(st, "HSET", st->tmp_key, 2);
			if (st->resync_cursor < st->max)
				continue;
			/* Nothing written: RENAME would fail on a missing key. */
			mr_state_simple(st, "DEL", st->key, NULL);
			mr_state_simple(st, "RENAME", st->tmp_key, st->key);
			/* Then the rooms, after the last room id (never empty, so the RENAME
			 * below has a key). */
			st->resync_rooms = 1;
			st->resync_cursor = 0;
			len[3] = (size_t)snprintf(next, sizeof(next), "%" PRIu32,
						  mr_rooms_last_id(st->a->rooms));
			mr_state_cmd(st, 4, argv, len);
			continue;
		}
		if (st->resync == 2) {
			unsigned int k;

			for (k = 0; k < MR_STATE_RESYNC_BATCH; k++) {
				uint32_t id = mr_rooms_next(st->a->rooms, st->resync_cursor);

				if (id == 0)
					break;
				mr_state_room_write(st, st->rooms_tmp_key, id);
				st->resync_cursor = id;
			}
			if (k == MR_STATE_RESYNC_BATCH)
				continue;
			mr_state_simple(st, "RENAME", st->rooms_tmp_key, st->rooms_key);
			st->resync = 0;
			st->n.resyncs++;
			STATE_LOG(INFO, "redis %s: state written again in full\n", st->host);
			continue;
		}
		break;
	}
}

/* Is a batch due? A full one, an old one, or a resync's work. */
static int
mr_state_due(struct mr_state *st)
{
	if (st->resync)
		return 1;
	if (st->q_n == 0)
		return 0;
	return st->q_n >= MR_STATE_BATCH ||
		rte_get_tsc_cycles() - st->q_first_tsc >= st->coalesce_tsc;
}

void
mr_state_poll(struct mr_state *st)
{
	struct pollfd pfd;

	if (st == NULL || st->ac == NULL)
		return;
	if (mr_state_due(st))
		mr_state_flush(st);
	/* Answers come through the loop's wait (mr_state_readable). Writing is looked at only
	 * while hiredis has something to write: the batch just queued (one write()), the rest
	 * of one the socket did not take, or the connection's completion. */
	if (st->ac == NULL || !st->want_write)
		return;
	pfd.fd = st->ac->c.fd;
	pfd.events = POLLOUT;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) <= 0)
		return;
	if (pfd.revents & (POLLERR | POLLHUP))
		redisAsyncHandleRead(st->ac);	/* may free the context (on_disconnect) */
	else if (pfd.revents & POLLOUT)
		redisAsyncHandleWrite(st->ac);
}

void
mr_state_tick(struct mr_state *st, uint64_t now)
{
	uint64_t hz = rte_get_tsc_hz();

	if (st == NULL)
		return;
	if (st->ac == NULL && now >= st->retry_tsc)
		mr_state_connect(st);
	if (st->link == LINK_UP && now >= st->hb_tsc) {
		struct timespec ts;
		char ms[32], ttl[16];
		const char *argv[5] = { "SET", st->hb_key, ms, "PX", ttl };
		size_t len[5];
		int i;

		clock_gettime(CLOCK_REALTIME, &ts);
		snprintf(ms, sizeof(ms), "%" PRIu64,
			 (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
		snprintf(ttl, sizeof(ttl), "%u", MR_STATE_HEARTBEAT_TTL_MS);
		for (i = 0; i < 5; i++)
			len[i] = strlen(argv[i]);
		mr_state_aux(st, 5, argv, len);
		st->hb_tsc = now + hz;
	}
	/* The change scan: one pass over the slots a second, a slice each tick (as the idle
	 * scan of sessions.c). Only while Redis keeps up: a resync writes everything anyway. */
	if (st->link != LINK_UP || st->resync || st->q_n > st->q_cap / 2) {
		st->last_scan_tsc = now;
		return;
	}
	/* Rooms: all of them once a second (far fewer than sessions). */
	if (now - st->room_scan_tsc >= hz) {
		st->room_scan_tsc = now;
		mr_rooms_scan(st->a->rooms);
	}
	{
		uint64_t dt = now - st->last_scan_tsc;
		uint32_t n = dt >= hz ? st->max : (uint32_t)((double)st->max * dt / hz);

		if (n == 0)
			return;
		st->last_scan_tsc = now;
		st->scan_end = st->scan_cursor + n;
	}
	for (; st->scan_cursor < st->scan_end; st->scan_cursor++) {
		uint32_t i = (uint32_t)(st->scan_cursor % st->max);
		uint64_t id, d = mr_session_digest(st->a->sess, i, &id);

		if (d == st->digest[i])
			continue;
		if (d != 0 && st->digest[i] != 0) {
			/* Latched elsewhere, or an SRTP index moved on: write it again. */
			st->n.scan_changes++;
			mr_state_enqueue(st, id, OP_SESSION_PUT);
		}
		/* A new session was queued by its creation; an ended one by its end. */
		st->digest[i] = d;
	}
}

/* ---- restore at start ---- */

static int
mr_restore_hdel(redisContext *c, const char *key, const char *field)
{
	redisReply *r = redisCommand(c, "HDEL %s %s", key, field);

	if (r == NULL)
		return -1;
	freeReplyObject(r);
	return 0;
}

/* Read hash key (HSCAN, 1000 fields a round trip) and hand each field to fn; a field fn
 * refuses is logged and removed. The count restored, and the failures in *bad. */
static unsigned int
mr_restore_hash(struct mr_state *st, redisContext *c, const char *key, const char *what,
		int (*fn)(struct mr_state *st, const char *field, json_t *rec, char *err,
			  size_t errlen),
		unsigned int *bad)
{
	redisReply *r;
	char cursor[32] = "0", err[256];
	unsigned int ok = 0;
	size_t i;

	do {
		r = redisCommand(c, "HSCAN %s %s COUNT 1000", key, cursor);
		if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			STATE_LOG(ERR, "redis %s: HSCAN %s: %s: restore incomplete\n", st->host,
				  key, r == NULL ? c->errstr : r->type == REDIS_REPLY_ERROR ?
				  r->str : "unexpected reply");
			freeReplyObject(r);
			st->resync = 1;
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (i = 0; i + 1 < r->element[1]->elements; i += 2) {
			const char *field = r->element[1]->element[i]->str;
			redisReply *v = r->element[1]->element[i + 1];
			json_error_t je;
			json_t *rec = json_loadb(v->str, v->len, JSON_DECODE_ANY, &je);
			int rc = rec == NULL ? -1 : fn(st, field, rec, err, sizeof(err));

			if (rc < 0) {
				STATE_LOG(WARNING, "%s %s: not restored: %s\n", what, field,
					  rec == NULL ? je.text : err);
				mr_restore_hdel(c, key, field);
				(*bad)++;
			} else if (rc > 0) {
				ok++;
			}
			json_decref(rec);
			explicit_bzero(v->str, v->len);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	return ok;
}

static int
mr_restore_session(struct mr_state *st, const char *field, json_t *rec, char *err,
		   size_t errlen)
{
	(void)field;
	return mr_session_restore_json(st->a, rec, err, errlen) < 0 ? -1 : 1;
}

/* The rooms' hash: room id -> record, and "next" -> the last room id handed out. */
static int
mr_restore_room(struct mr_state *st, const char *field, json_t *rec, char *err, size_t errlen)
{
	if (strcmp(field, "next") == 0) {
		json_int_t v = json_is_integer(rec) ? json_integer_value(rec) : -1;

		if (v < 0 || v > UINT32_MAX) {
			snprintf(err, errlen, "not a room id");
			return -1;
		}
		mr_rooms_restored(st->a->rooms, (uint32_t)v);
		return 0;
	}
	return mr_rooms_restore_json(st->a->rooms, rec, err, errlen) < 0 ? -1 : 1;
}

unsigned int
mr_state_restore(struct mr_state *st)
{
	struct timeval tv;
	redisContext *c;
	redisReply *r;
	unsigned int ok = 0, bad = 0, rooms, rooms_bad = 0;
	size_t i;

	if (st == NULL || !st->conf->restore)
		return 0;
	tv.tv_sec = st->conf->restore_timeout_ms / 1000;
	tv.tv_usec = (st->conf->restore_timeout_ms % 1000) * 1000;
	c = redisConnectWithTimeout(st->host, st->conf->redis.port, tv);
	if (c == NULL || c->err) {
		STATE_LOG(WARNING, "redis %s: %s: nothing restored; starting empty (the stored "
			  "sessions are replaced once Redis is back)\n", st->host,
			  c != NULL ? c->errstr : "out of memory");
		if (c != NULL)
			redisFree(c);
		st->resync = 1;
		return 0;
	}
	redisSetTimeout(c, tv);
	if (st->conf->password[0] != '\0') {
		r = redisCommand(c, "AUTH %s", st->conf->password);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			STATE_LOG(ERR, "redis %s: AUTH: %s: nothing restored\n", st->host,
				  r != NULL ? r->str : c->errstr);
			freeReplyObject(r);
			redisFree(c);
			st->resync = 1;
			return 0;
		}
		freeReplyObject(r);
	}
	st->restoring = 1;
	ok = mr_restore_hash(st, c, st->key, "session", mr_restore_session, &bad);
	rooms = mr_restore_hash(st, c, st->rooms_key, "room", mr_restore_room, &rooms_bad);
	st->restoring = 0;
	redisFree(c);
	/* After the rooms too: the ports they took are out of the free ones. */
	mr_sessions_restored(st->a->sess);
	st->n.restored = ok;
	st->n.rooms_restored = rooms;
	st->n.restore_failed = bad + rooms_bad;
	/* The scan starts from what was restored: no rewrite of every session. */
	for (i = 0; i < st->max; i++) {
		uint64_t id;

		st->digest[i] = mr_session_digest(st->a->sess, (uint32_t)i, &id);
	}
	STATE_LOG(INFO, "redis %s: %u session(s) and %u room(s) restored as %s, %u could not "
		  "be\n", st->host, ok, rooms, st->conf->identity, bad + rooms_bad);
	return ok;
}

/* ---- life ---- */

struct mr_state *
mr_state_create(struct mr_appliance *a, char *err, size_t errlen)
{
	const struct mr_state_conf *conf = &a->cfg->state;
	struct mr_state *st;

	err[0] = '\0';
	if (!conf->enabled)
		return NULL;
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		snprintf(err, errlen, "state: out of memory");
		return NULL;
	}
	st->a = a;
	st->conf = conf;
	mr_ep_fmt(&conf->redis, st->host, sizeof(st->host), 0);
	snprintf(st->key, sizeof(st->key), "mrelay:%s:sessions", conf->identity);
	snprintf(st->tmp_key, sizeof(st->tmp_key), "mrelay:%s:sessions:resync", conf->identity);
	snprintf(st->hb_key, sizeof(st->hb_key), "mrelay:%s:heartbeat", conf->identity);
	snprintf(st->rooms_key, sizeof(st->rooms_key), "mrelay:%s:rooms", conf->identity);
	snprintf(st->rooms_tmp_key, sizeof(st->rooms_tmp_key), "mrelay:%s:rooms:resync",
		 conf->identity);
	st->q_cap = conf->queue;
	st->q = calloc(st->q_cap, sizeof(*st->q));
	st->max = mr_sessions_max(a->sess);
	st->digest = calloc(st->max, sizeof(*st->digest));
	if (st->q == NULL || st->digest == NULL) {
		mr_state_free(st);
		snprintf(err, errlen, "state: out of memory for a queue of %u", conf->queue);
		return NULL;
	}
	st->last_scan_tsc = rte_get_tsc_cycles();
	st->coalesce_tsc = rte_get_tsc_hz() / 1000000 * MR_STATE_COALESCE_US;
	return st;
}

void
mr_state_free(struct mr_state *st)
{
	if (st == NULL)
		return;
	if (st->ac != NULL) {
		redisAsyncContext *ac = st->ac;

		/* Its callbacks run from here: nothing of st must be used by them after. */
		st->ac = NULL;
		ac->onDisconnect = NULL;
		mr_api_watch(st->a->api, -1, mr_state_readable, st);
		redisAsyncFree(ac);
	}
	free(st->q);
	free(st->digest);
	if (st->resp != NULL)
		explicit_bzero(st->resp, st->resp_cap);
	free(st->resp);
	free(st);
}

/* ---- reporting ---- */

static const char *
mr_state_link_name(const struct mr_state *st)
{
	if (st->auth_failed)
		return "auth_failed";
	return st->link == LINK_UP ? "connected" : st->link == LINK_CONNECTING ? "connecting" :
		"down";
}

json_t *
mr_state_json(const struct mr_state *st)
{
	if (st == NULL)
		return json_null();
	return json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
			 "redis", mr_state_link_name(st), "address", st->host,
			 "identity", st->conf->identity, "queued", (json_int_t)st->q_n,
			 "queue_max", (json_int_t)st->q_cap, "in_flight", (json_int_t)st->inflight,
			 "resync_pending", st->resync != 0,
			 "writes", (json_int_t)st->n.writes, "deletes", (json_int_t)st->n.deletes,
			 "bytes", (json_int_t)st->n.bytes, "dropped", (json_int_t)st->n.dropped,
			 "errors", (json_int_t)st->n.errors,
			 "restored", (json_int_t)st->n.restored,
			 "rooms_restored", (json_int_t)st->n.rooms_restored,
			 "room_writes", (json_int_t)st->n.room_writes,
			 "restore_failed", (json_int_t)st->n.restore_failed);
}

void
mr_state_metrics(const struct mr_state *st, FILE *f)
{
	if (st == NULL)
		return;
	fprintf(f, "# HELP mrelay_state_connected 1 when the state store (Redis) is connected\n"
		"# TYPE mrelay_state_connected gauge\nmrelay_state_connected %d\n"
		"# HELP mrelay_state_queued Session changes waiting for Redis\n"
		"# TYPE mrelay_state_queued gauge\nmrelay_state_queued %u\n"
		"# HELP mrelay_state_writes_total Session records written to Redis\n"
		"# TYPE mrelay_state_writes_total counter\nmrelay_state_writes_total %" PRIu64 "\n"
		"# HELP mrelay_state_deletes_total Session records deleted from Redis\n"
		"# TYPE mrelay_state_deletes_total counter\nmrelay_state_deletes_total %" PRIu64 "\n"
		"# HELP mrelay_state_bytes_total Record bytes written to Redis\n"
		"# TYPE mrelay_state_bytes_total counter\nmrelay_state_bytes_total %" PRIu64 "\n"
		"# HELP mrelay_state_dropped_total Changes refused by a full queue (a full "
		"rewrite follows)\n"
		"# TYPE mrelay_state_dropped_total counter\nmrelay_state_dropped_total %" PRIu64 "\n"
		"# HELP mrelay_state_errors_total Error replies from Redis\n"
		"# TYPE mrelay_state_errors_total counter\nmrelay_state_errors_total %" PRIu64 "\n"
		"# HELP mrelay_state_resyncs_total Full rewrites of the state\n"
		"# TYPE mrelay_state_resyncs_total counter\nmrelay_state_resyncs_total %" PRIu64 "\n"
		"# HELP mrelay_state_restored_sessions Sessions restored at start\n"
		"# TYPE mrelay_state_restored_sessions gauge\n"
		"mrelay_state_restored_sessions %" PRIu64 "\n",
		st->link == LINK_UP, st->q_n, st->n.writes, st->n.deletes, st->n.bytes,
		st->n.dropped, st->n.errors, st->n.resyncs, st->n.restored);
}
