/* SPDX-License-Identifier: BSD-3-Clause
 * Sessions in Redis (state.h): hiredis' asynchronous API on the control loop.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <rte_cycles.h>
#include <rte_log.h>

#include "addr.h"
#include "api.h"
#include "appliance.h"
#include "neigh.h"
#include "ng.h"
#include "ng_calls.h"
#include "json_req.h"
#include "rooms.h"
#include "router.h"
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
#define MR_CLUSTER_KEY "mrelay:cluster:nodes"	/* the registry: one field a node */
#define MR_CLUSTER_ALIVE_MS 3000	/* an entry older than this: the node is gone */
#define MR_SPAN_KEY "mrelay:cluster:room:"	/* + name: a cluster room, one field a node */
#define MR_ROOM_IDS_KEY "mrelay:cluster:room_ids"	/* the last room id reserved, by anyone */
#define MR_ROOM_IDS_BLOCK 64		/* room ids reserved at once */
/* Changes are sent in batches (docs/PERFORMANCE.md "State in Redis"): once this many wait,
 * or once the oldest has waited MR_STATE_COALESCE_US. One write() and one wake-up of Redis
 * per batch instead of one per API request: creating sessions at the REST rate costs a few
 * per cent instead of a third. */
#define MR_STATE_BATCH 256
#define MR_STATE_COALESCE_US 2000
/* Room for a run's header: "*ARGC", the verb and the key (at most 127 bytes). */
#define MR_STATE_RESP_HDR 192
/* Records waiting for their owner to apply a PATCH's commands (mr_state_session_put_after):
 * ng's offers and answers do not wait, and a worker applies within microseconds, so few wait
 * at once; when this many do, the next is written at once and the change scan corrects it. */
#define MR_STATE_LATER 4096

enum mr_state_link { LINK_DOWN = 0, LINK_CONNECTING, LINK_UP };

enum mr_state_op_kind { OP_SESSION_PUT = 0, OP_SESSION_DEL, OP_ROOM };

struct mr_state_op {
	uint64_t id;
	uint8_t kind;		/* enum mr_state_op_kind */
};

/* A session record to write once worker w has applied its first seq commands. */
struct mr_state_later {
	uint64_t id;
	uint64_t seq;
	uint32_t w;
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
	uint64_t after_apply;	/* records held until their owner applied a PATCH */
	uint64_t after_full;	/* of those, written at once: MR_STATE_LATER were waiting */
	uint64_t restored;	/* sessions restored at start */
	uint64_t restore_failed;	/* records that could not be restored */
	uint64_t rooms_restored;
	uint64_t room_writes;	/* of writes: room records */
	uint64_t ng_writes;	/* of writes: ng call records */
	uint64_t ng_restored;	/* ng calls restored at start or loaded at a takeover */
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
	char ng_key[128];	/* mrelay:ID:ngcalls */
	char ng_tmp_key[128];	/* mrelay:ID:ngcalls:resync */
	/* ng calls changed since the last batch ({call-id: true}; ng_calls.h decides at the
	 * write whether each is a record or a deletion), the oldest change's time. */
	json_t *ng_dirty;
	uint64_t ng_first_tsc;
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
	/* Before the queue: records held until their owner has applied (FIFO ring). */
	struct mr_state_later *later;
	uint32_t later_head, later_n;
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
	/* Then the ng calls: 1 under way (resync_cursor: the next hash bucket); ng_tmp_written:
	 * something was written to ng_tmp_key. */
	int resync_ng, ng_tmp_written;
	/* Set while mr_state_restore() runs: what it re-creates is in Redis already. */
	int restoring;
	int auth_failed;
	/* The change scan: each session's digest as last written. */
	uint64_t *digest;
	uint32_t max;
	uint64_t scan_cursor, scan_end, last_scan_tsc, room_scan_tsc;
	struct mr_state_ctr n;
	/* Active/standby (docs/OPERATIONS.md "Active/standby takeover"): hb_key is the
	 * service's lock, its value the holder's node name. */
	int ha;			/* enum mr_state_ha */
	char node[64];		/* this appliance (state.node, else the host name) */
	char holder[64];	/* the holder as last seen; "" none or not known */
	uint64_t hb_period_tsc;	/* state.heartbeat_ms */
	uint64_t ttl_tsc;	/* state.takeover_ms */
	uint64_t ha_tsc;	/* next renewal (holder) or poll (standby) */
	uint64_t ha_ok_tsc;	/* when the last renewal Redis confirmed was sent */
	int poll_pending;	/* a standby's GET or SET NX is unanswered */
	uint64_t free_tsc;	/* standby: when it first saw the lock free */
	uint64_t hold_tsc;	/* after a release: no claim of a free lock before this */
	uint64_t releases;	/* services handed over on purpose (POST /v1/state/release) */
	uint64_t claim_tsc;	/* when the lock was won */
	int load_stage;		/* while loading: 1 sessions, 2 rooms, 3 ng calls, 4 loaded:
				 * a mirrored takeover's catch-up still under way */
	unsigned int load_ok, load_rooms, load_ng, load_bad;
	int ann_step;		/* announcements sent after a takeover (MR_STATE_ANNOUNCE) */
	uint64_t ann_base_tsc;
	uint64_t takeovers, fences;
	uint64_t last_takeover_ms;	/* lock seen free -> relaying, at the last takeover */
	uint64_t last_load_ms;		/* of which loading the service */
	/* The cluster registry (docs/OPERATIONS.md "Cluster registry"): this node's entry is
	 * written and everyone's read every second; the last reading, for GET /v1/cluster. */
	uint64_t cluster_tsc;		/* next registration */
	json_t *cluster;		/* {node: entry} as last read; NULL before */
	char api_url[160];		/* state.api_url, else http://<api.listen> */
	uint64_t cluster_read_ms;	/* wall clock of that reading */
	json_t *spans;			/* cluster rooms whose entry this node wrote: {name:
					 * true}, for their removal at a stop */
	/* The second connection, subscribed to the cluster rooms' channels (PSUBSCRIBE
	 * MR_SPAN_KEY*): a connection in subscribe mode takes no other command. */
	struct {
		redisAsyncContext *ac;
		int up, want_write;
		uint64_t retry_tsc;
		uint64_t messages;	/* channel messages received */
	} sub;
	uint64_t span_published;	/* PUBLISHes to the cluster rooms' channels */
	/* The standby's mirror (docs/OPERATIONS.md "The standby's mirror"): the service's
	 * sessions loaded while standby (the workers drop every frame) and kept up to date from
	 * the holder's change notices on chg_key, so that a takeover relays them at once. */
	char chg_key[128];		/* mrelay:ID:sessions:changed, a channel */
	int chg_subscribed;		/* its SUBSCRIBE confirmed on the sub connection */
	int mirror;			/* enum mr_state_mirror */
	uint64_t mirror_gen;		/* of the load under way: stale pages are ignored */
	uint64_t mirror_tsc;		/* load started; or no load before this (MIRROR_OFF) */
	unsigned int mirror_loaded;	/* sessions of the load */
	struct mr_state_pend {
		uint64_t id;
		uint32_t tries;
	} *pend, *pend_fly;		/* changed sessions to apply; those asked for */
	uint32_t pend_n, pend_cap, fly_n;
	struct {
		uint64_t loads, notices, applied, failed, invalidated, takeovers;
		uint64_t last_load_ms;
		uint64_t catchup_failed;	/* mirrored takeovers fenced in their catch-up */
	} mir;
	/* A mirrored takeover's catch-up: the notices the holder PUBLISHed before this node
	 * claimed the lock may still be on their way on the sub connection (or their HMGETs
	 * in flight). This node PUBLISHes a marker of its own ("NODE !TOKEN") after its claim;
	 * Redis delivers the channel's messages in order, so once the marker is back every
	 * earlier notice is here, and the API opens when those are applied. */
	int catchup;			/* the marker is not back yet */
	uint64_t catchup_tok;
	/* The holder's notice of a run: its node name and the ids written or deleted. */
	char *pub;
	size_t pub_len;
	int ids_pending;		/* a reservation of room ids is unanswered */
	uint64_t ids_reserved;		/* blocks of room ids reserved */
};

/* The standby's mirror. */
enum mr_state_mirror {
	MIRROR_OFF = 0,		/* not loaded (single, holder, or waiting to load) */
	MIRROR_LOADING,		/* the sessions' hash being read; notices wait in pend */
	MIRROR_READY,		/* loaded; notices applied as they come */
};
#define MR_STATE_PEND_TRIES	100	/* ticks a changed session is tried (its port may be
					 * retiring from its previous version) */
#define MR_STATE_PUB_MAX	(MR_STATE_BATCH * 17 + 80)

/* Where an appliance with a role stands. */
enum mr_state_ha {
	HA_SINGLE = 0,		/* state.role single: no lock */
	HA_STANDBY,		/* another node holds the lock (or none, or Redis is away) */
	HA_LOADING,		/* lock won, the service's hashes being loaded */
	HA_ACTIVE,		/* lock held, relaying */
};

/* Renew only if the lock is still ours (KEYS[1] lock, ARGV[1] node, ARGV[2] TTL in ms). */
static const char mr_state_renew_lua[] =
	"if redis.call('GET', KEYS[1]) == ARGV[1] then "
	"redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end return 0";
/* Delete the lock only if it is still ours (KEYS[1] lock, ARGV[1] node): a release. */
static const char mr_state_release_lua[] =
	"if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
	"return 0";
/* Reserve a block of room ids (KEYS[1] MR_ROOM_IDS_KEY, ARGV[1] the block's size, ARGV[2]
 * the last id this node handed out): ids above everything reserved before and above this
 * node's own, so that no two appliances hand out the same id. Returns the block's last id. */
static const char mr_state_ids_lua[] =
	"local c = tonumber(redis.call('GET', KEYS[1]) or '0') "
	"local f = tonumber(ARGV[2]) if c < f then c = f end "
	"c = c + tonumber(ARGV[1]) redis.call('SET', KEYS[1], c) return c";
/* Announcements of the shared addresses after a takeover, in ms after it: the first at
 * once; the later ones for hosts that missed one, and past Linux' ARP locktime (1 s). */
static const unsigned int mr_state_announce_ms[] = { 0, 100, 500, 1500 };
#define MR_STATE_ANNOUNCE (sizeof(mr_state_announce_ms) / sizeof(mr_state_announce_ms[0]))

static const char *const mr_state_ha_name[4];
static void mr_state_fence(struct mr_state *st, const char *why);
static void mr_state_ha_tick(struct mr_state *st, uint64_t now);
static int mr_state_start_role(struct mr_state *st, redisContext *c);
static void mr_state_loaded(struct mr_state *st, unsigned int ok, unsigned int rooms,
			    unsigned int bad);
static void mr_state_set_standby(struct mr_state *st, uint32_t on);
static void sub_poll(struct mr_state *st);
static void span_cmd3(struct mr_state *st, const char *verb, const char *name,
		      const char *arg);
static void sub_free(struct mr_state *st);
static void sub_on_change(redisAsyncContext *ac, void *r, void *priv);
static void mr_state_mirror_off(struct mr_state *st, const char *why);
static void mr_state_mirror_lost(struct mr_state *st, const char *why);
static void mr_state_catchup_tick(struct mr_state *st, uint64_t now);
static void mr_state_mirror_tick(struct mr_state *st, uint64_t now);

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
	st->ids_pending = 0;
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

/* A connection's hiredis event hooks and callbacks, and its descriptor in the loop's wait. */
struct ac_hooks {
	void (*add_read)(void *), (*del_read)(void *), (*add_write)(void *),
		(*del_write)(void *), (*cleanup)(void *);
	redisConnectCallback *on_connect;
	redisDisconnectCallback *on_disconnect;
	void (*readable)(void *);
};

static void
ac_hook(struct mr_state *st, redisAsyncContext *ac, const struct ac_hooks *h)
{
	ac->ev.data = st;
	ac->ev.addRead = h->add_read;
	ac->ev.delRead = h->del_read;
	ac->ev.addWrite = h->add_write;
	ac->ev.delWrite = h->del_write;
	ac->ev.cleanup = h->cleanup;
	redisAsyncSetConnectCallback(ac, h->on_connect);
	redisAsyncSetDisconnectCallback(ac, h->on_disconnect);
	mr_api_watch(st->a->api, ac->c.fd, h->readable, st);
}

/* A new connection to Redis (the next attempt in a second, whatever comes of it); NULL
 * when it failed at once. */
static redisAsyncContext *
ac_open(struct mr_state *st, uint64_t *retry_tsc)
{
	redisAsyncContext *ac = redisAsyncConnect(st->host, st->conf->redis.port);

	*retry_tsc = rte_get_tsc_cycles() + rte_get_tsc_hz();
	if (ac != NULL && ac->err) {
		redisAsyncFree(ac);
		ac = NULL;
	}
	return ac;
}

static const struct ac_hooks main_hooks = {
	ev_add_read, ev_del_read, ev_add_write, ev_del_write, ev_cleanup, on_connect,
	on_disconnect, mr_state_readable,
};

static void
mr_state_connect(struct mr_state *st)
{
	redisAsyncContext *ac = ac_open(st, &st->retry_tsc);

	if (ac == NULL)
		return;
	st->ac = ac;
	st->link = LINK_CONNECTING;
	/* The hooks first: setting the connect callback asks for the first write event.
	 * Answers wake the control loop's own wait: no system call of ours per turn. */
	ac_hook(st, ac, &main_hooks);
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

	/* Not the holder: the service's hashes are the holder's to write. */
	if (st->ha == HA_STANDBY || st->ha == HA_LOADING)
		return;
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
mr_state_session_put_after(struct mr_state *st, uint64_t id, unsigned int w, uint64_t seq)
{
	struct mr_state_later *l;

	if (st == NULL)
		return;
	if (mr_cmdq_applied(&st->a->cmdq, w, seq)) {
		mr_state_enqueue(st, id, OP_SESSION_PUT);
		return;
	}
	st->n.after_apply++;
	if (st->later_n == MR_STATE_LATER) {
		/* Written as the owner has it now; the change scan writes it again. */
		st->n.after_full++;
		mr_state_enqueue(st, id, OP_SESSION_PUT);
		return;
	}
	l = &st->later[(st->later_head + st->later_n++) % MR_STATE_LATER];
	l->id = id;
	l->seq = seq;
	l->w = w;
}

/* The held records whose owners have applied, into the queue, in the order held (a worker
 * that takes long holds back the others' until it has: they are microseconds apart). */
static void
mr_state_later_poll(struct mr_state *st)
{
	while (st->later_n > 0) {
		const struct mr_state_later *l = &st->later[st->later_head];

		if (!mr_cmdq_applied(&st->a->cmdq, l->w, l->seq))
			break;
		mr_state_enqueue(st, l->id, OP_SESSION_PUT);
		st->later_head = (st->later_head + 1) % MR_STATE_LATER;
		st->later_n--;
	}
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

void
mr_state_ngcall(struct mr_state *st, const char *callid)
{
	size_t n;

	if (st == NULL || st->restoring || st->ha == HA_STANDBY || st->ha == HA_LOADING)
		return;
	n = json_object_size(st->ng_dirty);
	if (n >= st->q_cap && json_object_get(st->ng_dirty, callid) == NULL) {
		st->n.dropped++;
		st->resync = st->resync ? st->resync : 1;
		return;
	}
	if (json_object_set_new(st->ng_dirty, callid, json_true()) == 0 && n == 0)
		st->ng_first_tsc = rte_get_tsc_cycles();
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

/* The holder's notice to a mirroring standby: "NODE ID ID ...", the sessions of a run,
 * PUBLISHed on chg_key after the run (state.role active/standby only). */
static void
mr_state_pub_begin(struct mr_state *st)
{
	st->pub_len = 0;
	if (st->ha == HA_SINGLE || st->pub == NULL)
		return;
	st->pub_len = (size_t)snprintf(st->pub, MR_STATE_PUB_MAX, "%s", st->node);
}

static void
mr_state_pub_id(struct mr_state *st, uint64_t id)
{
	if (st->pub_len == 0 || st->pub_len + 18 >= MR_STATE_PUB_MAX)
		return;
	st->pub_len += (size_t)snprintf(st->pub + st->pub_len, MR_STATE_PUB_MAX - st->pub_len,
					" %016" PRIx64, id);
}

/* Send the notice ("NODE *": everything changed, after a full rewrite). */
static void
mr_state_pub_end(struct mr_state *st)
{
	const char *argv[3] = { "PUBLISH", st->chg_key, st->pub };
	size_t len[3] = { 7, strlen(st->chg_key), st->pub_len };

	if (st->pub_len == 0 || st->pub_len == strlen(st->node))
		return;
	mr_state_aux(st, 3, argv, len);
	st->pub_len = 0;
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
	mr_state_pub_begin(st);
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
		mr_state_pub_id(st, o.id);
	}
	if (op.kind == OP_SESSION_DEL)
		mr_state_run_end(st, "HDEL", key, 1);
	else
		mr_state_run_end(st, "HSET", key, 2);
	/* After the change, on the same connection: Redis applies it before it publishes. */
	if (key == st->key)
		mr_state_pub_end(st);
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

/* The record of ng call callid into the run (an HSET): 1 written, 0 the call is gone,
 * -1 not written (no memory: a resync follows). */
static int
mr_state_run_ngcall(struct mr_state *st, const char *callid)
{
	json_t *rec = mr_ng_calls_record(mr_ng_calls_of(st->a->ng), callid);
	char *text;
	size_t n;
	int ok;

	if (rec == NULL)
		return 0;
	text = json_dumps(rec, JSON_COMPACT);
	json_decref(rec);
	if (text == NULL) {
		st->resync = 1;
		return -1;
	}
	n = strlen(text);
	ok = mr_state_run_arg(st, callid, strlen(callid)) == 0 &&
		mr_state_run_arg(st, text, n) == 0;
	if (ok) {
		st->resp_fields++;
		st->n.writes++;
		st->n.ng_writes++;
		st->n.bytes += n;
	} else {
		st->resync = 1;
	}
	explicit_bzero(text, n);	/* SDES keys */
	free(text);
	return ok ? 1 : -1;
}

/* A batch of the changed ng calls: one HSET of those that are, one HDEL of those gone. */
static void
mr_state_ng_run(struct mr_state *st, const char *key)
{
	const char *gone[MR_STATE_BATCH];
	json_t *v, *batch = json_object();
	const char *callid;
	void *tmp;
	unsigned int n = 0, k;

	json_object_foreach_safe(st->ng_dirty, tmp, callid, v) {
		if (n == MR_STATE_BATCH)
			break;
		json_object_set(batch, callid, v);
		json_object_del(st->ng_dirty, callid);
		n++;
	}
	if (json_object_size(st->ng_dirty) > 0)
		st->ng_first_tsc = 0;	/* the rest is due at once */
	n = 0;
	mr_state_run_begin(st);
	json_object_foreach(batch, callid, v) {
		int rc = mr_state_run_ngcall(st, callid);

		if (rc == 0)
			gone[n++] = callid;
		else if (rc > 0 && key == st->ng_tmp_key)
			st->ng_tmp_written = 1;
	}
	mr_state_run_end(st, "HSET", key, 2);
	mr_state_run_begin(st);
	for (k = 0; k < n; k++)
		if (mr_state_run_arg(st, gone[k], strlen(gone[k])) == 0) {
			st->resp_fields++;
			st->n.deletes++;
		}
	mr_state_run_end(st, "HDEL", key, 1);
	json_decref(batch);
}

struct ng_walk {
	struct mr_state *st;
	unsigned int n;
};

static void
ng_walk_one(void *ctx, const char *callid)
{
	struct ng_walk *w = ctx;

	if (mr_state_run_ngcall(w->st, callid) > 0) {
		w->n++;
		w->st->ng_tmp_written = 1;
	}
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
		if (json_object_size(st->ng_dirty) > 0) {
			mr_state_ng_run(st, st->resync == 2 ? st->ng_tmp_key : st->ng_key);
			continue;
		}
		if (st->resync == 1) {
			st->resync = 2;
			st->resync_cursor = 0;
			st->resync_rooms = 0;
			st->resync_ng = 0;
			st->ng_tmp_written = 0;
			mr_state_simple(st, "DEL", st->tmp_key, NULL);
			mr_state_simple(st, "DEL", st->rooms_tmp_key, NULL);
			mr_state_simple(st, "DEL", st->ng_tmp_key, NULL);
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
			/* The changes written meanwhile went to tmp_key unannounced: a
			 * mirroring standby loads everything again. */
			mr_state_pub_begin(st);
			if (st->pub_len > 0) {
				st->pub_len += (size_t)snprintf(st->pub + st->pub_len,
								MR_STATE_PUB_MAX - st->pub_len,
								" *");
				mr_state_pub_end(st);
			}
			/* Then the rooms, after the last room id (never empty, so the RENAME
			 * below has a key). */
			st->resync_rooms = 1;
			st->resync_cursor = 0;
			len[3] = (size_t)snprintf(next, sizeof(next), "%" PRIu32,
						  mr_rooms_last_id(st->a->rooms));
			mr_state_cmd(st, 4, argv, len);
			continue;
		}
		if (st->resync == 2 && st->resync_ng) {
			struct mr_ng_calls *calls = mr_ng_calls_of(st->a->ng);
			struct ng_walk w = { st, 0 };

			mr_state_run_begin(st);
			while (st->resync_cursor < MR_NG_CALL_BUCKETS && w.n < MR_STATE_RESYNC_BATCH)
				mr_ng_calls_bucket(calls, st->resync_cursor++, ng_walk_one, &w);
			mr_state_run_end(st, "HSET", st->ng_tmp_key, 2);
			if (st->resync_cursor < MR_NG_CALL_BUCKETS)
				continue;
			mr_state_simple(st, "DEL", st->ng_key, NULL);
			if (st->ng_tmp_written)
				mr_state_simple(st, "RENAME", st->ng_tmp_key, st->ng_key);
			st->resync_ng = 0;
			st->resync = 0;
			st->n.resyncs++;
			STATE_LOG(INFO, "redis %s: state written again in full\n", st->host);
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
			if (st->a->ng != NULL) {
				/* Then the ng calls. */
				st->resync_ng = 1;
				st->resync_cursor = 0;
				continue;
			}
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
	/* Above all no resync: it would replace the holder's hashes with nothing. */
	if (st->ha == HA_STANDBY || st->ha == HA_LOADING)
		return 0;
	if (st->resync)
		return 1;
	if (json_object_size(st->ng_dirty) > 0 &&
	    rte_get_tsc_cycles() - st->ng_first_tsc >= st->coalesce_tsc)
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

	if (st == NULL)
		return;
	mr_state_later_poll(st);
	sub_poll(st);
	if (st->ac == NULL)
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

uint64_t
mr_state_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* An HGETALL answer whose values are JSON objects: {field: object} (values that are not are
 * left out); NULL when it is not an array (no answer, an error). */
static json_t *
hash_json(const redisReply *reply)
{
	json_t *all;
	size_t i;

	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || (all = json_object()) == NULL)
		return NULL;
	for (i = 0; i + 1 < reply->elements; i += 2) {
		redisReply *k = reply->element[i], *v = reply->element[i + 1];
		json_t *e;

		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		e = json_loadb(v->str, v->len, 0, NULL);
		if (json_is_object(e))
			json_object_set_new(all, k->str, e);
		else
			json_decref(e);
	}
	return all;
}

/* HGETALL of the registry: field node, value its entry (JSON text). */
static void
on_cluster(redisAsyncContext *ac, void *r, void *priv)
{
	struct mr_state *st = ac->ev.data;
	redisReply *reply = r;
	json_t *all;

	(void)priv;
	if (st == NULL || (all = hash_json(reply)) == NULL)
		return;
	json_decref(st->cluster);
	st->cluster = all;
	st->cluster_read_ms = mr_state_wall_ms();
}

/* Every second: this node's entry in the registry (who it is, where its API is, what it
 * carries and can carry), then everyone's. */
static void
mr_state_cluster_tick(struct mr_state *st, uint64_t now)
{
	struct mr_appliance *a = st->a;
	struct mr_sessions_counts sc;
	struct mr_rooms_counts rc;
	const char *argv[4];
	size_t len[4];
	unsigned int i;
	char *text;
	json_t *e;

	if (st->link != LINK_UP || now < st->cluster_tsc)
		return;
	st->cluster_tsc = now + rte_get_tsc_hz();
	mr_sessions_counts(a->sess, &sc);
	memset(&rc, 0, sizeof(rc));
	if (a->rooms != NULL)
		mr_rooms_counts(a->rooms, &rc);
	e = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I}",
		      "node", st->node, "identity", st->conf->identity,
		      "role", mr_state_ha_name[st->ha], "api_url", st->api_url,
		      "updated_ms", (json_int_t)mr_state_wall_ms(),
		      "sessions", (json_int_t)sc.active,
		      "max_sessions", (json_int_t)a->cfg->max_sessions,
		      "rooms", (json_int_t)rc.active, "participants", (json_int_t)rc.participants,
		      "uptime_s", (json_int_t)mr_appliance_uptime(a));
	text = e != NULL ? json_dumps(e, JSON_COMPACT) : NULL;
	json_decref(e);
	if (text == NULL)
		return;
	argv[0] = "HSET";
	argv[1] = MR_CLUSTER_KEY;
	argv[2] = st->node;
	argv[3] = text;
	for (i = 0; i < 4; i++)
		len[i] = strlen(argv[i]);
	mr_state_aux(st, 4, argv, len);
	free(text);
	argv[0] = "HGETALL";
	len[0] = 7;
	(void)redisAsyncCommandArgv(st->ac, on_cluster, NULL, 2, argv, len);
}

json_t *
mr_state_cluster_json(const struct mr_state *st)
{
	uint64_t now = mr_state_wall_ms();
	const char *node;
	json_t *nodes = json_array(), *e;

	if (st != NULL && st->cluster != NULL) {
		json_object_foreach(st->cluster, node, e) {
			json_t *c = json_deep_copy(e);
			json_int_t up = json_integer_value(json_object_get(e, "updated_ms"));
			int64_t age = up > 0 ? (int64_t)now - (int64_t)up : -1;

			if (c == NULL)
				continue;
			json_object_set_new(c, "age_ms", age >= 0 ? json_integer(age) : json_null());
			json_object_set_new(c, "alive", json_boolean(age >= 0 &&
								     age <= MR_CLUSTER_ALIVE_MS));
			json_object_set_new(c, "self", json_boolean(strcmp(node, st->node) == 0));
			json_array_append_new(nodes, c);
		}
	}
	return json_pack("{s:s?,s:o,s:o}", "self", st != NULL ? st->node : NULL,
			 "read_ms", st != NULL && st->cluster_read_ms ?
			 json_integer((json_int_t)st->cluster_read_ms) : json_null(),
			 "nodes", nodes);
}

/* Another node, alive, serving its objects (not a standby, not loading), with its API URL:
 * one that placement may choose and requests may be sent to. */
static int
node_serves(const struct mr_state *st, const char *node, const json_t *e, uint64_t now)
{
	json_int_t up = json_integer_value(json_object_get(e, "updated_ms"));
	const char *role = json_string_value(json_object_get(e, "role"));

	return strcmp(node, st->node) != 0 && up > 0 && now - (uint64_t)up <= MR_CLUSTER_ALIVE_MS &&
		json_string_value(json_object_get(e, "api_url")) != NULL &&
		!(role != NULL && (strcmp(role, "standby") == 0 || strcmp(role, "loading") == 0));
}

/* sessions + participants: what a node carries, for placement. */
static uint64_t
node_load(const json_t *e)
{
	return (uint64_t)json_integer_value(json_object_get(e, "sessions")) +
		(uint64_t)json_integer_value(json_object_get(e, "participants"));
}

const char *
mr_state_place(const struct mr_state *st)
{
	struct mr_appliance *a;
	struct mr_sessions_counts sc;
	struct mr_rooms_counts rc;
	const json_t *e, *best = NULL;
	uint64_t now, mine, bl = 0;
	double mine_f, best_f = 0;
	const char *node;

	if (st == NULL || !st->conf->placement_least_loaded || st->cluster == NULL)
		return NULL;
	a = st->a;
	mr_sessions_counts(a->sess, &sc);
	memset(&rc, 0, sizeof(rc));
	if (a->rooms != NULL)
		mr_rooms_counts(a->rooms, &rc);
	mine = sc.active + rc.participants;
	mine_f = (double)mine / (a->cfg->max_sessions ? a->cfg->max_sessions : 1);
	now = mr_state_wall_ms();
	json_object_foreach((json_t *)st->cluster, node, e) {
		json_int_t m = json_integer_value(json_object_get(e, "max_sessions"));
		uint64_t l = node_load(e);
		double f = m > 0 ? (double)l / (double)m : 0;

		if (!node_serves(st, node, e, now) || m <= 0)
			continue;
		/* Loads compared as fractions of each node's capacity. */
		if (f < mine_f && (best == NULL || f < best_f)) {
			best = e;
			best_f = f;
			bl = l;
		}
	}
	/* At least two objects fewer: two nodes about as loaded do not send requests to and fro
	 * on a reading up to a second old. */
	if (best == NULL || bl + 2 > mine)
		return NULL;
	return json_string_value(json_object_get(best, "api_url"));
}

int
mr_state_redirect(json_t **out, const char *url, const char *path)
{
	char loc[256];

	snprintf(loc, sizeof(loc), "%s%s", url, path);
	*out = json_pack("{s:s,s:s}", "error", "placement: created on the least loaded appliance "
			 "(follow Location)", "location", loc);
	return 307;
}

/* ---- requests for a session on another appliance (api.h mr_api_set_elsewhere) ---- */

struct mr_find {
	mr_api_found_fn done;
	void *ctx;
	unsigned int pending;		/* HEXISTS unanswered */
	char path[256];			/* the request's */
	char location[sizeof(((struct mr_state *)0)->api_url) + 256];	/* "" not found */
	char node[64];
	const char *what;		/* "session", "room" */
};

struct mr_find_ask {
	struct mr_find *f;
	char api_url[sizeof(((struct mr_state *)0)->api_url)];
	char node[64];
};

static void
on_find(redisAsyncContext *ac, void *r, void *priv)
{
	struct mr_find_ask *q = priv;
	struct mr_find *f = q->f;
	redisReply *reply = r;
	json_t *b = NULL;

	(void)ac;
	if (reply != NULL && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1 &&
	    f->location[0] == '\0') {
		snprintf(f->location, sizeof(f->location), "%s%s", q->api_url, f->path);
		snprintf(f->node, sizeof(f->node), "%s", q->node);
	}
	free(q);
	if (--f->pending != 0)
		return;
	if (f->location[0] != '\0') {
		char msg[96];

		snprintf(msg, sizeof(msg), "%s: on another appliance of the cluster (follow "
			 "Location)", f->what);
		b = json_pack("{s:s,s:s}", "error", msg, "location", f->location);
	}
	f->done(f->ctx, b != NULL ? 307 : 404, b);
	free(f);
}

/* The object a request path names, when it is one another appliance may have: the hash
 * (its identity's "sessions" or "rooms") and field to look for. 0, or -1: not such a path,
 * or it is here (the 404 was about something in it). */
static int
elsewhere_key(struct mr_state *st, const char *url, const char **what, const char **hash,
	      char id[17])
{
	json_t *tmp = NULL;
	size_t i;
	int rc;

	if (strncmp(url, "/v1/sessions/", 13) == 0) {
		for (i = 0; i < 16; i++) {
			if (!isxdigit((unsigned char)url[13 + i]))
				return -1;
			id[i] = (char)tolower((unsigned char)url[13 + i]);
		}
		id[16] = '\0';
		if (url[29] != '\0' && url[29] != '/')
			return -1;
		rc = mr_http_session_get(st->a, id, &tmp);
		json_decref(tmp);
		*what = "session";
		*hash = "sessions";
		return rc == 404 ? 0 : -1;
	}
	if (strncmp(url, "/v1/rooms/", 10) == 0 && st->a->rooms != NULL) {
		unsigned long v;
		char *end;

		if (!isdigit((unsigned char)url[10]))
			return -1;
		errno = 0;
		v = strtoul(url + 10, &end, 10);
		if (errno != 0 || v == 0 || v > UINT32_MAX || (*end != '\0' && *end != '/') ||
		    (url[10] == '0'))
			return -1;
		/* Room ids are unique across the cluster (mr_rooms_ids_cluster). */
		if (mr_rooms_next(st->a->rooms, (uint32_t)v - 1) == (uint32_t)v)
			return -1;
		snprintf(id, 17, "%lu", v);
		*what = "room";
		*hash = "rooms";
		return 0;
	}
	return -1;
}

int
mr_state_elsewhere(void *arg, const char *url, mr_api_found_fn done, void *ctx)
{
	struct mr_state *st = arg;
	char id[17], key[160];
	const char *argv[3], *node, *what, *hash;
	size_t len[3];
	struct mr_find *f;
	json_t *e;
	uint64_t now = mr_state_wall_ms();

	if (st == NULL || st->link != LINK_UP || st->cluster == NULL ||
	    strlen(url) >= sizeof(f->path) || elsewhere_key(st, url, &what, &hash, id) < 0 ||
	    (f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	f->done = done;
	f->ctx = ctx;
	f->what = what;
	snprintf(f->path, sizeof(f->path), "%s", url);
	/* Every node that may have it, at once: the first yes wins (session ids are 64
	 * random-ish bits a node, room ids come from blocks reserved in Redis: two yeses would
	 * take a collision of live ids). */
	json_object_foreach(st->cluster, node, e) {
		const char *ident = json_string_value(json_object_get(e, "identity"));
		struct mr_find_ask *q;

		/* A node of this node's own identity shares its hashes: its other half (a
		 * standby, or a holder that released), never where this node's object is. */
		if (!node_serves(st, node, e, now) || ident == NULL ||
		    strcmp(ident, st->conf->identity) == 0 || (q = calloc(1, sizeof(*q))) == NULL)
			continue;
		q->f = f;
		snprintf(q->api_url, sizeof(q->api_url), "%s",
			 json_string_value(json_object_get(e, "api_url")));
		snprintf(q->node, sizeof(q->node), "%s", node);
		snprintf(key, sizeof(key), "mrelay:%s:%s", ident, hash);
		argv[0] = "HEXISTS";
		argv[1] = key;
		argv[2] = id;
		len[0] = 7;
		len[1] = strlen(key);
		len[2] = strlen(id);
		if (redisAsyncCommandArgv(st->ac, on_find, q, 3, argv, len) == REDIS_OK)
			f->pending++;
		else
			free(q);
	}
	if (f->pending == 0) {
		free(f);
		return -1;
	}
	return 0;
}

/* ---- which appliance has a participant token (signaling.c joins) ---- */

#define MR_TOKENS_KEY "mrelay:cluster:tokens"	/* SHA-256 of a token (hex) -> node */

/* The index field of a token: its SHA-256 in hex, so that the index is no second copy of
 * the credential. */
static int
token_field(const char *token, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0, i;

	if (EVP_Digest(token, strlen(token), md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return -1;
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

void
mr_state_token(struct mr_state *st, const char *token, int on)
{
	char field[65];
	const char *argv[4] = { on ? "HSET" : "HDEL", MR_TOKENS_KEY, field, NULL };
	size_t len[4];

	if (st == NULL || st->link != LINK_UP || token_field(token, field) < 0)
		return;
	argv[3] = st->node;
	len[0] = 4;
	len[1] = strlen(MR_TOKENS_KEY);
	len[2] = 64;
	len[3] = strlen(st->node);
	mr_state_aux(st, on ? 4 : 3, argv, len);
}

struct mr_token_ask {
	mr_state_where_fn cb;
	void *ctx;
};

static void
on_token(redisAsyncContext *ac, void *r, void *priv)
{
	struct mr_state *st = ac->ev.data;
	struct mr_token_ask *q = priv;
	redisReply *reply = r;
	const char *node = NULL, *url = NULL;
	char ws[sizeof(st->api_url) + 16];
	const json_t *e;

	if (st != NULL && st->ac != NULL && reply != NULL && reply->type == REDIS_REPLY_STRING &&
	    st->cluster != NULL) {
		node = reply->str;
		e = json_object_get(st->cluster, node);
		url = e != NULL && node_serves(st, node, e, mr_state_wall_ms()) ?
			json_string_value(json_object_get(e, "api_url")) : NULL;
	}
	if (url != NULL && strncmp(url, "http://", 7) == 0) {
		snprintf(ws, sizeof(ws), "ws://%s/v1/ws", url + 7);
		url = ws;
	} else if (url != NULL && strncmp(url, "https://", 8) == 0) {
		snprintf(ws, sizeof(ws), "wss://%s/v1/ws", url + 8);
		url = ws;
	} else {
		url = NULL;
	}
	q->cb(q->ctx, url, url != NULL ? node : NULL);
	free(q);
}

int
mr_state_token_where(struct mr_state *st, const char *token, mr_state_where_fn cb, void *ctx)
{
	char field[65];
	const char *argv[3] = { "HGET", MR_TOKENS_KEY, field };
	size_t len[3] = { 4, strlen(MR_TOKENS_KEY), 64 };
	struct mr_token_ask *q;

	if (st == NULL || st->link != LINK_UP || st->cluster == NULL ||
	    token_field(token, field) < 0 || (q = malloc(sizeof(*q))) == NULL)
		return -1;
	q->cb = cb;
	q->ctx = ctx;
	if (redisAsyncCommandArgv(st->ac, on_token, q, 3, argv, len) != REDIS_OK) {
		free(q);
		return -1;
	}
	return 0;
}

/* ---- rooms across appliances (controlplane/rooms/span.c) ---- */

const char *
mr_state_node(const struct mr_state *st)
{
	return st->node;
}

struct mr_span_ask {
	uint32_t room;
	char name[64];
};

/* HGETALL of a cluster room: field node, value its entry (JSON text). */
static void
on_span(redisAsyncContext *ac, void *r, void *priv)
{
	struct mr_state *st = ac->ev.data;
	struct mr_span_ask *ask = priv;
	redisReply *reply = r;
	json_t *all = hash_json(reply);

	/* Not while the state store goes (mr_state_free: st->ac is already NULL). */
	if (st != NULL && st->ac != NULL && st->a->rooms != NULL)
		mr_rooms_span_input(st->a->rooms, ask->room, ask->name, all);
	json_decref(all);
	free(ask);
}

int
mr_state_span_sync(struct mr_state *st, const char *name, const char *entry, uint32_t room)
{
	char key[sizeof(MR_SPAN_KEY) + 64];
	const char *argv[4];
	size_t len[4];
	struct mr_span_ask *ask;

	if (st == NULL || st->link != LINK_UP)
		return -1;
	snprintf(key, sizeof(key), MR_SPAN_KEY "%s", name);
	argv[1] = key;
	argv[2] = st->node;
	len[1] = strlen(key);
	len[2] = strlen(st->node);
	if (entry == NULL) {
		span_cmd3(st, "HDEL", name, st->node);
		json_object_del(st->spans, name);
		return 0;
	}
	argv[0] = "HSET";
	argv[3] = entry;
	len[0] = 4;
	len[3] = strlen(entry);
	mr_state_aux(st, 4, argv, len);
	json_object_set_new(st->spans, name, json_true());
	ask = malloc(sizeof(*ask));
	if (ask == NULL)
		return -1;
	ask->room = room;
	snprintf(ask->name, sizeof(ask->name), "%s", name);
	argv[0] = "HGETALL";
	len[0] = 7;
	if (redisAsyncCommandArgv(st->ac, on_span, ask, 2, argv, len) != REDIS_OK) {
		free(ask);
		return -1;
	}
	return 0;
}

/* verb key-of-room-name arg: HDEL of a node's entry, PUBLISH of a message. */
static void
span_cmd3(struct mr_state *st, const char *verb, const char *name, const char *arg)
{
	char key[sizeof(MR_SPAN_KEY) + 64];
	const char *argv[3] = { verb, key, arg };
	size_t len[3];

	snprintf(key, sizeof(key), MR_SPAN_KEY "%s", name);
	len[0] = strlen(verb);
	len[1] = strlen(key);
	len[2] = strlen(arg);
	mr_state_aux(st, 3, argv, len);
}

void
mr_state_span_forget(struct mr_state *st, const char *name, const char *node)
{
	if (st != NULL && st->link == LINK_UP)
		span_cmd3(st, "HDEL", name, node);
}

void
mr_state_span_publish(struct mr_state *st, const char *name, const char *msg)
{
	if (st == NULL || st->link != LINK_UP)
		return;
	span_cmd3(st, "PUBLISH", name, msg);
	st->span_published++;
}

/* The subscribed connection: its own hooks (the control loop polls its descriptor too). */

static void
sub_add_write(void *p)
{
	((struct mr_state *)p)->sub.want_write = 1;
}

static void
sub_del_write(void *p)
{
	((struct mr_state *)p)->sub.want_write = 0;
}

static void
sub_noop(void *p)
{
	(void)p;
}

static void
sub_readable(void *arg)
{
	struct mr_state *st = arg;

	if (st->sub.ac != NULL)
		redisAsyncHandleRead(st->sub.ac);	/* may free the context (sub_gone) */
}

static void
sub_gone(struct mr_state *st)
{
	mr_api_watch(st->a->api, -1, sub_readable, st);
	st->sub.ac = NULL;
	st->sub.up = 0;
	st->sub.want_write = 0;
	st->sub.retry_tsc = rte_get_tsc_cycles() + rte_get_tsc_hz();
	st->chg_subscribed = 0;
	mr_state_mirror_lost(st, "the subscribed connection to Redis was lost: notices may "
			     "have been missed");
}

static void
sub_on_connect(const redisAsyncContext *ac, int status)
{
	struct mr_state *st = ac->ev.data;

	if (status != REDIS_OK) {
		sub_gone(st);	/* hiredis frees ac */
		return;
	}
	st->sub.up = 1;
}

static void
sub_on_disconnect(const redisAsyncContext *ac, int status)
{
	(void)status;
	sub_gone(ac->ev.data);
}

/* A message on a cluster room's channel: ["pmessage", pattern, channel, payload]. */
static void
sub_on_message(redisAsyncContext *ac, void *r, void *priv)
{
	struct mr_state *st = ac->ev.data;
	redisReply *reply = r, *ch, *msg;
	json_t *m;

	(void)priv;
	if (st == NULL || st->sub.ac == NULL || reply == NULL ||
	    reply->type != REDIS_REPLY_ARRAY || reply->elements != 4 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(reply->element[0]->str, "pmessage") != 0)
		return;
	ch = reply->element[2];
	msg = reply->element[3];
	if (ch->type != REDIS_REPLY_STRING || msg->type != REDIS_REPLY_STRING ||
	    ch->len <= strlen(MR_SPAN_KEY))
		return;
	st->sub.messages++;
	m = json_loadb(msg->str, msg->len, 0, NULL);
	if (json_is_object(m) && st->a->rooms != NULL)
		mr_rooms_span_message(st->a->rooms, ch->str + strlen(MR_SPAN_KEY), m);
	json_decref(m);
}

static const struct ac_hooks sub_hooks = {
	sub_noop, sub_noop, sub_add_write, sub_del_write, sub_noop, sub_on_connect,
	sub_on_disconnect, sub_readable,
};

static void
sub_connect(struct mr_state *st)
{
	redisAsyncContext *ac = ac_open(st, &st->sub.retry_tsc);
	static const char pattern[] = MR_SPAN_KEY "*";
	const char *argv[2];
	size_t len[2];

	if (ac == NULL)
		return;
	st->sub.ac = ac;
	ac_hook(st, ac, &sub_hooks);	/* the loop's wait always watches it: no read hooks */
	if (st->conf->password[0] != '\0') {
		argv[0] = "AUTH";
		argv[1] = st->conf->password;
		len[0] = 4;
		len[1] = strlen(st->conf->password);
		(void)redisAsyncCommandArgv(ac, NULL, NULL, 2, argv, len);
	}
	argv[0] = "PSUBSCRIBE";
	argv[1] = pattern;
	len[0] = 10;
	len[1] = strlen(pattern);
	(void)redisAsyncCommandArgv(ac, sub_on_message, NULL, 2, argv, len);
	if (st->ha != HA_SINGLE) {
		/* The holder's change notices, for the standby's mirror. */
		argv[0] = "SUBSCRIBE";
		argv[1] = st->chg_key;
		len[0] = 9;
		len[1] = strlen(st->chg_key);
		(void)redisAsyncCommandArgv(ac, sub_on_change, NULL, 2, argv, len);
	}
}

/* The subscribed connection's writes: while hiredis has something to write. */
static void
sub_poll(struct mr_state *st)
{
	struct pollfd pfd;

	if (st->sub.ac == NULL || !st->sub.want_write)
		return;
	pfd.fd = st->sub.ac->c.fd;
	pfd.events = POLLOUT;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) <= 0)
		return;
	if (pfd.revents & (POLLERR | POLLHUP))
		redisAsyncHandleRead(st->sub.ac);
	else if (pfd.revents & POLLOUT)
		redisAsyncHandleWrite(st->sub.ac);
}

static void
sub_free(struct mr_state *st)
{
	redisAsyncContext *ac = st->sub.ac;

	if (ac == NULL)
		return;
	st->sub.ac = NULL;
	ac->onDisconnect = NULL;
	mr_api_watch(st->a->api, -1, sub_readable, st);
	redisAsyncFree(ac);
}

static int
mr_route_cluster(struct mr_appliance *a, const struct mr_http_req *r, json_t **out)
{
	(void)r;
	if (a->state == NULL)
		return mr_json_err(out, 503, "cluster: needs the state store (state.redis; "
				   "docs/OPERATIONS.md \"Cluster registry\")");
	*out = mr_state_cluster_json(a->state);
	return 200;
}

static struct mr_http_route mr_cluster_route = {
	.path = "/v1/cluster", .match = MR_ROUTE_EXACT, .name = "/v1/cluster",
	.methods = MR_HTTP_GET, .handler = mr_route_cluster,
};
MR_HTTP_ROUTE(mr_cluster_route)

/* POST /v1/state/release {"hold_ms": N}: hand the service over (docs/OPERATIONS.md
 * "Active/standby takeover"). */
static int
mr_route_release(struct mr_appliance *a, const struct mr_http_req *r, json_t **out)
{
	json_int_t hold = MR_STATE_RELEASE_HOLD_MS;
	char err[200];
	int rc;

	if (r->body != NULL && r->len > 0) {
		json_t *b = mr_json_body_load(r->body, r->len, err, sizeof(err)), *v;
		const char *k;

		if (b == NULL)
			return mr_json_err(out, 400, "%s", err);
		json_object_foreach(b, k, v) {
			if (strcmp(k, "hold_ms") != 0) {
				char name[64];

				mr_json_echo(k, name, sizeof(name));
				json_decref(b);
				return mr_json_err(out, 400, "%s: unknown field", name);
			}
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > 600000) {
				json_decref(b);
				return mr_json_err(out, 400, "hold_ms: must be an integer from 0 to "
						   "600000");
			}
			hold = json_integer_value(v);
		}
		json_decref(b);
	}
	if (a->state == NULL)
		return mr_json_err(out, 409, "state: off (no state.redis): there is no service to "
				   "hand over");
	rc = mr_state_release(a->state, (unsigned int)hold, err, sizeof(err));
	if (rc != 200)
		return mr_json_err(out, rc, "%s", err);
	*out = json_pack("{s:b,s:s,s:I}", "released", 1, "node", mr_state_node(a->state),
			 "hold_ms", hold);
	return 200;
}

static struct mr_http_route mr_release_route = {
	.path = "/v1/state/release", .match = MR_ROUTE_EXACT, .name = "/v1/state/release",
	.methods = MR_HTTP_POST, .handler = mr_route_release,
};
MR_HTTP_ROUTE(mr_release_route)

/* ---- room ids unique across the cluster (rooms.h mr_rooms_ids_cluster) ---- */

/* The reply to a reservation: the block's last id. */
static void
ids_block(struct mr_state *st, const redisReply *r)
{
	if (r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer >= MR_ROOM_IDS_BLOCK &&
	    r->integer <= UINT32_MAX) {
		mr_rooms_ids_block(st->a->rooms, (uint32_t)(r->integer - MR_ROOM_IDS_BLOCK + 1),
				   (uint32_t)r->integer);
		st->ids_reserved++;
	} else if (r != NULL) {
		st->n.errors++;
	}
}

static void
on_ids(redisAsyncContext *ac, void *r, void *priv)
{
	struct mr_state *st = ac->ev.data;

	(void)priv;
	st->ids_pending = 0;
	ids_block(st, r);
}

/* Each tick: a spare block of room ids once the rooms want one. */
static void
mr_state_ids_tick(struct mr_state *st)
{
	char n[16], last[16];
	const char *argv[6] = { "EVAL", mr_state_ids_lua, "1", MR_ROOM_IDS_KEY, n, last };
	size_t len[6];
	int i;

	if (st->link != LINK_UP || st->ids_pending || st->a->rooms == NULL ||
	    !mr_rooms_ids_wanted(st->a->rooms))
		return;
	snprintf(n, sizeof(n), "%u", MR_ROOM_IDS_BLOCK);
	snprintf(last, sizeof(last), "%" PRIu32, mr_rooms_last_id(st->a->rooms));
	for (i = 0; i < 6; i++)
		len[i] = strlen(argv[i]);
	if (redisAsyncCommandArgv(st->ac, on_ids, NULL, 6, argv, len) == REDIS_OK)
		st->ids_pending = 1;
}

void
mr_state_tick(struct mr_state *st, uint64_t now)
{
	uint64_t hz = rte_get_tsc_hz();

	if (st == NULL)
		return;
	if (st->ac == NULL && now >= st->retry_tsc)
		mr_state_connect(st);
	/* The cluster rooms' channels, once the main connection is up. */
	if (st->sub.ac == NULL && st->link == LINK_UP && now >= st->sub.retry_tsc)
		sub_connect(st);
	mr_state_ha_tick(st, now);
	mr_state_mirror_tick(st, now);
	mr_state_catchup_tick(st, now);
	mr_state_cluster_tick(st, now);
	mr_state_ids_tick(st);
	if (st->ha == HA_SINGLE && st->link == LINK_UP && now >= st->hb_tsc) {
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
	if (st->link != LINK_UP || st->resync || st->q_n > st->q_cap / 2 ||
	    st->ha == HA_STANDBY || st->ha == HA_LOADING) {
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

/* Restore field's record (its text, as stored): 1 restored, 0 nothing to count (a field
 * that is not a record), -1 refused with err set. */
typedef int (*mr_restore_fn)(struct mr_state *st, const char *field, const char *text,
			     size_t len, char *err, size_t errlen);

/* One HSCAN answer r of hash key: each field to fn. A field fn refuses is logged, counted in
 * *bad and, with c (the restore at start), removed; a takeover (c NULL) leaves it to the
 * next holder. The next cursor into cursor; 0, or -1 when r is not an HSCAN answer. */
static int
mr_restore_page(struct mr_state *st, redisContext *c, const char *key, const char *what,
		mr_restore_fn fn, redisReply *r, char *cursor, size_t clen, unsigned int *ok,
		unsigned int *bad)
{
	char err[256];
	size_t i;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_ARRAY)
		return -1;
	snprintf(cursor, clen, "%s", r->element[0]->str);
	for (i = 0; i + 1 < r->element[1]->elements; i += 2) {
		const char *field = r->element[1]->element[i]->str;
		redisReply *v = r->element[1]->element[i + 1];
		int rc = fn(st, field, v->str, v->len, err, sizeof(err));

		if (rc < 0) {
			STATE_LOG(WARNING, "%s %s: not restored: %s\n", what, field, err);
			if (c != NULL)
				mr_restore_hdel(c, key, field);
			(*bad)++;
		} else if (rc > 0) {
			(*ok)++;
		}
		explicit_bzero(v->str, v->len);
	}
	return 0;
}

/* The holder's renewal on the synchronous connection of the restore at start, after each
 * page: a long restore must not let the lock expire before the loop renews it. */
static void
mr_state_renew_sync(struct mr_state *st, redisContext *c)
{
	uint64_t t0 = rte_get_tsc_cycles();
	redisReply *r;

	if (st->ha != HA_ACTIVE)
		return;
	r = redisCommand(c, "EVAL %s 1 %s %s %u", mr_state_renew_lua, st->hb_key, st->node,
			 st->conf->takeover_ms);
	if (r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 1)
		st->ha_ok_tsc = t0;
	freeReplyObject(r);
}

/* Read hash key (HSCAN, 1000 fields a round trip) and hand each field to fn; a field fn
 * refuses is logged and removed. The count restored, and the failures in *bad. */
static unsigned int
mr_restore_hash(struct mr_state *st, redisContext *c, const char *key, const char *what,
		mr_restore_fn fn, unsigned int *bad)
{
	redisReply *r;
	char cursor[32] = "0";
	unsigned int ok = 0;

	do {
		r = redisCommand(c, "HSCAN %s %s COUNT 1000", key, cursor);
		if (mr_restore_page(st, c, key, what, fn, r, cursor, sizeof(cursor), &ok,
				    bad) < 0) {
			STATE_LOG(ERR, "redis %s: HSCAN %s: %s: restore incomplete\n", st->host,
				  key, r == NULL ? c->errstr : r->type == REDIS_REPLY_ERROR ?
				  r->str : "unexpected reply");
			freeReplyObject(r);
			st->resync = 1;
			break;
		}
		freeReplyObject(r);
		mr_state_renew_sync(st, c);
	} while (strcmp(cursor, "0") != 0);
	return ok;
}

/* A record's text as JSON (a new reference), NULL with err set. */
static json_t *
mr_restore_load(const char *text, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *rec = json_loadb(text, len, JSON_DECODE_ANY, &je);

	if (rec == NULL)
		snprintf(err, errlen, "%s", je.text);
	return rec;
}

/* The sessions' hash: most records are read straight from their text (sessions.h), the
 * others with jansson. */
static int
mr_restore_session(struct mr_state *st, const char *field, const char *text, size_t len,
		   char *err, size_t errlen)
{
	uint64_t id = strtoull(field, NULL, 16), dummy;
	int rc = mr_session_restore_text(st->a, text, len, err, errlen);

	if (rc == 0) {
		json_t *rec = mr_restore_load(text, len, err, errlen);

		rc = rec != NULL && mr_session_restore_json(st->a, rec, err, errlen) == 0 ?
			1 : -1;
		json_decref(rec);
	}
	/* What the scan compares with: the session as stored, so that what changes from now
	 * on (a takeover relays while it loads) is written. */
	if (rc > 0 && (uint32_t)id < st->max)
		st->digest[(uint32_t)id] = mr_session_digest(st->a->sess, (uint32_t)id, &dummy);
	return rc;
}

/* The rooms' hash: room id -> record, and "next" -> the last room id handed out. */
static int
mr_restore_room(struct mr_state *st, const char *field, const char *text, size_t len,
		char *err, size_t errlen)
{
	json_t *rec = mr_restore_load(text, len, err, errlen);
	int rc = -1;

	if (rec == NULL)
		return -1;
	if (strcmp(field, "next") == 0) {
		json_int_t v = json_is_integer(rec) ? json_integer_value(rec) : -1;

		if (v < 0 || v > UINT32_MAX) {
			snprintf(err, errlen, "not a room id");
		} else {
			mr_rooms_restored(st->a->rooms, (uint32_t)v);
			rc = 0;
		}
	} else if (mr_rooms_restore_json(st->a->rooms, rec, err, errlen) == 0) {
		rc = 1;
	}
	json_decref(rec);
	return rc;
}

/* The ng calls' hash: call-id -> record (ng_calls.h), after the sessions it names. */
static int
mr_restore_ngcall(struct mr_state *st, const char *field, const char *text, size_t len,
		  char *err, size_t errlen)
{
	json_t *rec = mr_restore_load(text, len, err, errlen);
	int rc = rec != NULL && mr_ng_calls_restore(mr_ng_calls_of(st->a->ng), field, rec, err,
						    errlen) == 0 ? 1 : -1;

	json_decref(rec);
	return rc;
}

unsigned int
mr_state_restore(struct mr_state *st)
{
	struct timeval tv;
	redisContext *c;
	redisReply *r;
	unsigned int ok = 0, bad = 0, rooms, rooms_bad = 0, ng = 0;

	if (st == NULL)
		return 0;
	/* With a role, Redis says first whether this node is the holder: until then it is
	 * silent (a standby). */
	if (st->ha != HA_SINGLE)
		mr_state_set_standby(st, 1);
	if (!st->conf->restore && st->ha == HA_SINGLE)
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
	/* With a role: restore only as the holder of the service. */
	if (st->ha != HA_SINGLE && mr_state_start_role(st, c) != HA_ACTIVE) {
		redisFree(c);
		return 0;
	}
	if (!st->conf->restore) {
		redisFree(c);
		return 0;
	}
	st->restoring = 1;
	ok = mr_restore_hash(st, c, st->key, "session", mr_restore_session, &bad);
	rooms = mr_restore_hash(st, c, st->rooms_key, "room", mr_restore_room, &rooms_bad);
	/* With ng off, the stored calls stay as they are (their sessions are restored). */
	if (st->a->ng != NULL)
		ng = mr_restore_hash(st, c, st->ng_key, "ng call", mr_restore_ngcall,
				     &rooms_bad);
	st->restoring = 0;
	/* The first block of room ids, above the restored ones, before the API opens. */
	if (st->a->rooms != NULL) {
		r = redisCommand(c, "EVAL %s 1 %s %u %" PRIu32, mr_state_ids_lua, MR_ROOM_IDS_KEY,
				 MR_ROOM_IDS_BLOCK, mr_rooms_last_id(st->a->rooms));
		ids_block(st, r);
		freeReplyObject(r);
	}
	redisFree(c);
	mr_state_loaded(st, ok, rooms, bad + rooms_bad);
	st->n.ng_restored = ng;
	STATE_LOG(INFO, "redis %s: %u session(s), %u room(s) and %u ng call(s) restored as %s, "
		  "%u could not be\n", st->host, ok, rooms, ng, st->conf->identity,
		  bad + rooms_bad);
	return ok;
}

/* ---- active/standby (docs/OPERATIONS.md "Active/standby takeover") ---- */

static const char *const mr_state_ha_name[4] = { "single", "standby", "loading",
						  "active" };

/* The workers' flag (struct mr_dp standby). Relaxed: it guards no data (dp.h). */
static void
mr_state_set_standby(struct mr_state *st, uint32_t on)
{
	__atomic_store_n(&st->a->dp->standby, on, __ATOMIC_RELAXED);
}

static uint64_t
mr_state_ms(uint64_t tsc)
{
	return tsc * 1000 / rte_get_tsc_hz();
}

/* What counts as this appliance's sessions and rooms after loading them (the restore at
 * start or a takeover). */
static void
mr_state_loaded(struct mr_state *st, unsigned int ok, unsigned int rooms, unsigned int bad)
{
	/* After the rooms too: the ports they took are out of the free ones. */
	mr_sessions_restored(st->a->sess);
	st->n.restored = ok;
	st->n.rooms_restored = rooms;
	st->n.restore_failed = bad;
	/* The scan starts from what was restored (each session's digest was taken as it was
	 * restored, mr_restore_page): no rewrite of every session. */
}

/* The lock's TTL as text (PX argument). */
static size_t
mr_state_ttl_text(const struct mr_state *st, char *buf, size_t len)
{
	return (size_t)snprintf(buf, len, "%u", st->conf->takeover_ms);
}

/* At start, on the synchronous connection: who holds the service? Role active takes a free
 * lock (or keeps its own, after a quick restart); otherwise, and for role standby, this node
 * starts standby. The new st->ha. */
static int
mr_state_start_role(struct mr_state *st, redisContext *c)
{
	char ttl[16];
	redisReply *r;

	mr_state_ttl_text(st, ttl, sizeof(ttl));
	if (st->conf->role == MR_STATE_ACTIVE) {
		uint64_t t0 = rte_get_tsc_cycles();
		int won;

		r = redisCommand(c, "SET %s %s NX PX %s", st->hb_key, st->node, ttl);
		won = r != NULL && r->type == REDIS_REPLY_STATUS;
		freeReplyObject(r);
		if (!won) {
			r = redisCommand(c, "EVAL %s 1 %s %s %s", mr_state_renew_lua, st->hb_key,
					 st->node, ttl);
			won = r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
			freeReplyObject(r);
		}
		if (won) {
			st->ha = HA_ACTIVE;
			st->ha_ok_tsc = t0;
			snprintf(st->holder, sizeof(st->holder), "%s", st->node);
			mr_state_set_standby(st, 0);
			STATE_LOG(NOTICE, "service %s: node %s is active\n", st->conf->identity,
				  st->node);
			return st->ha;
		}
	}
	r = redisCommand(c, "GET %s", st->hb_key);
	if (r != NULL && r->type == REDIS_REPLY_STRING)
		snprintf(st->holder, sizeof(st->holder), "%s", r->str);
	freeReplyObject(r);
	STATE_LOG(NOTICE, "service %s: node %s starts standby (%s%s): media dropped, addresses "
		  "silent until it takes over\n", st->conf->identity, st->node,
		  st->holder[0] ? "held by node " : "not held", st->holder);
	return st->ha;
}

/* End session id here, if this node has it. */
static void
mr_state_end_local(struct mr_state *st, uint64_t id)
{
	char ids[24];
	json_t *out = NULL;

	snprintf(ids, sizeof(ids), "%016" PRIx64, id);
	mr_http_session_delete(st->a, ids, &out);
	json_decref(out);
}

/* Drop this node's sessions (the mirror's, or the copy of a node that lost the lock). */
static void
mr_state_drop_sessions(struct mr_state *st)
{
	uint32_t i;

	for (i = 0; i < st->max; i++) {
		uint64_t id;

		if (mr_session_digest(st->a->sess, i, &id) != 0)
			mr_state_end_local(st, id);
	}
	memset(st->digest, 0, st->max * sizeof(*st->digest));
}

/* Drop this node's ng calls and rooms. */
static void
mr_state_drop_rest(struct mr_state *st)
{
	struct mr_appliance *a = st->a;
	uint32_t room;
	json_t *out;

	if (a->ng != NULL)
		mr_ng_calls_forget(mr_ng_calls_of(a->ng));
	json_object_clear(st->ng_dirty);
	while ((room = mr_rooms_next(a->rooms, 0)) != 0) {
		char path[24];

		snprintf(path, sizeof(path), "/%" PRIu32, room);
		out = NULL;
		if (mr_http_rooms(a, "DELETE", path, NULL, 0, &out) >= 300) {
			json_decref(out);
			break;
		}
		json_decref(out);
	}
}

/* Drop this node's copy of the service: the holder's now (the standby starts empty). The
 * calls first: what they name goes after. */
static void
mr_state_drop_local(struct mr_state *st)
{
	mr_state_drop_rest(st);
	mr_state_drop_sessions(st);
}

/* Stop relaying at once (docs/OPERATIONS.md: no packet accepted by two nodes): the renewal
 * failed, or the load. */
static void
mr_state_step_down(struct mr_state *st)
{
	mr_state_set_standby(st, 1);
	st->ha = HA_STANDBY;
	st->q_n = 0;
	st->resync = 0;
	st->restoring = 0;
	st->load_stage = 0;
	st->ann_step = MR_STATE_ANNOUNCE;
	st->free_tsc = 0;
	st->poll_pending = 0;
	st->holder[0] = '\0';		/* the next poll says who */
	st->ha_tsc = rte_get_tsc_cycles();
	mr_state_drop_local(st);
	st->mirror = MIRROR_OFF;
	st->catchup = 0;
	st->pend_n = 0;
	st->fly_n = 0;
	/* Mirror again once the sessions just ended have given their ports back. */
	st->mirror_tsc = st->ha_tsc + rte_get_tsc_hz();
}

static void
mr_state_fence(struct mr_state *st, const char *why)
{
	if (st->ha != HA_ACTIVE && st->ha != HA_LOADING)
		return;
	st->fences++;
	STATE_LOG(WARNING, "service %s: node %s fenced itself: %s; media dropped (standby), "
		  "its sessions and rooms are the holder's\n", st->conf->identity, st->node, why);
	mr_state_step_down(st);
}

/* ---- the standby's mirror ---- */

/* Forget the mirror: what it holds may be out of date (a notice missed, a full rewrite by
 * the holder, too many changes waiting). A standby drops its sessions and loads them again
 * a second later; a holder has no mirror to forget. */
static void
mr_state_mirror_off(struct mr_state *st, const char *why)
{
	if (st->mirror == MIRROR_OFF || st->ha != HA_STANDBY)
		return;
	st->mir.invalidated++;
	STATE_LOG(WARNING, "service %s: node %s drops its mirror of the sessions (%s); it loads "
		  "them again\n", st->conf->identity, st->node, why);
	st->mirror = MIRROR_OFF;
	st->pend_n = 0;
	st->fly_n = 0;
	mr_state_drop_sessions(st);
	st->mirror_tsc = rte_get_tsc_cycles() + rte_get_tsc_hz();
}

/* The notices can no longer be trusted: a standby forgets its mirror; a node in a
 * mirrored takeover's catch-up cannot know which of its sessions are stale, so it fences
 * itself: its lock expires (state.takeover_ms) and the service is then loaded in full. */
static void
mr_state_mirror_lost(struct mr_state *st, const char *why)
{
	if (st->ha == HA_STANDBY) {
		mr_state_mirror_off(st, why);
	} else if (st->catchup) {
		char msg[200];

		st->mir.catchup_failed++;
		snprintf(msg, sizeof(msg), "its mirrored takeover could not catch up (%s)", why);
		mr_state_fence(st, msg);
	}
}

/* Session id changed at the holder (tries: how often it was tried already). */
static void
mr_state_pend_add(struct mr_state *st, uint64_t id, uint32_t tries)
{
	if (st->pend_n == st->pend_cap) {
		mr_state_mirror_lost(st, "more changes wait than state.queue holds");
		return;
	}
	st->pend[st->pend_n].id = id;
	st->pend[st->pend_n].tries = tries;
	st->pend_n++;
}

/* A session of the mirror's load or of a notice: relayed at a takeover. A record that
 * cannot be restored yet (its port still retiring from the version this node had) is
 * tried again at the next ticks. */
static int
mr_mirror_session(struct mr_state *st, const char *field, const char *text, size_t len,
		  char *err, size_t errlen)
{
	int rc;

	if (st->mirror != MIRROR_LOADING)
		return 0;	/* dropped while its page was read */
	rc = mr_restore_session(st, field, text, len, err, errlen);
	if (rc < 0) {
		mr_state_pend_add(st, strtoull(field, NULL, 16), 1);
		return 0;
	}
	return rc;
}

static void mr_state_mirror_ask(struct mr_state *st, const char *cursor);

/* One page of the mirror's load (HSCAN, as a takeover's). */
static void
on_mirror(redisAsyncContext *ac, void *r, void *priv)
{
	struct mr_state *st = ac->ev.data;
	unsigned int bad = 0;
	char cursor[32];

	if (st->mirror != MIRROR_LOADING || st->ha != HA_STANDBY ||
	    (uint64_t)(uintptr_t)priv != st->mirror_gen)
		return;		/* abandoned */
	if (mr_restore_page(st, NULL, st->key, "session", mr_mirror_session, r, cursor,
			    sizeof(cursor), &st->mirror_loaded, &bad) < 0) {
		mr_state_mirror_off(st, "the sessions' hash could not be read");
		return;
	}
	if (st->mirror != MIRROR_LOADING)
		return;
	if (strcmp(cursor, "0") != 0) {
		mr_state_mirror_ask(st, cursor);
		return;
	}
	st->mirror = MIRROR_READY;
	st->mir.last_load_ms = mr_state_ms(rte_get_tsc_cycles() - st->mirror_tsc);
	STATE_LOG(NOTICE, "service %s: node %s mirrors %u session(s) of node %s (loaded in %"
		  PRIu64 " ms); it follows the holder's changes and relays them at once should it "
		  "take over\n", st->conf->identity, st->node, st->mirror_loaded,
		  st->holder[0] ? st->holder : "(none)", st->mir.last_load_ms);
}

static void
mr_state_mirror_ask(struct mr_state *st, const char *cursor)
{
	const char *argv[5] = { "HSCAN", st->key, cursor, "COUNT", "1000" };
	size_t len[5];
	int i;

	for (i = 0; i < 5; i++)
		len[i] = strlen(argv[i]);
	if (redisAsyncCommandArgv(st->ac, on_mirror, (void *)(uintptr_t)st->mirror_gen, 5,
				  argv, len) != REDIS_OK)
		mr_state_mirror_off(st, "the sessions' hash could not be asked for");
}

/* The answer to an HMGET of the changed sessions in flight: each one ended here and, when
 * the holder still has it, restored from its record. */
static void
on_pend(redisAsyncContext *ac, void *r, void *priv)
{
	struct mr_state *st = ac->ev.data;
	redisReply *reply = r;
	uint32_t i, n = st->fly_n, restored = 0;
	char err[256];

	(void)priv;
	st->fly_n = 0;
	if (n == 0)
		return;		/* dropped meanwhile (the mirror, or a step down) */
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != n) {
		mr_state_mirror_lost(st, "the changed sessions could not be read");
		return;
	}
	for (i = 0; i < n; i++) {
		struct mr_state_pend p = st->pend_fly[i];
		redisReply *v = reply->element[i];
		uint64_t lid;
		char field[24];

		if ((uint32_t)p.id < st->max &&
		    mr_session_digest(st->a->sess, (uint32_t)p.id, &lid) != 0 && lid == p.id)
			mr_state_end_local(st, p.id);	/* its previous version */
		if (v->type != REDIS_REPLY_STRING) {
			st->mir.applied++;		/* gone at the holder too */
			continue;
		}
		snprintf(field, sizeof(field), "%016" PRIx64, p.id);
		if (mr_restore_session(st, field, v->str, v->len, err, sizeof(err)) > 0) {
			st->mir.applied++;
			restored++;
		} else if (p.tries < MR_STATE_PEND_TRIES) {
			mr_state_pend_add(st, p.id, p.tries + 1);
		} else if (st->ha == HA_LOADING) {
			st->load_bad++;		/* a takeover's, logged by it */
			STATE_LOG(WARNING, "session %s: not restored at the takeover: %s\n", field,
				  err);
		} else {
			st->mir.failed++;
			STATE_LOG(WARNING, "session %s: not mirrored: %s\n", field, err);
		}
		explicit_bzero(v->str, v->len);
	}
	/* A restore takes its slot outside the free stack; a standby's is rebuilt at the
	 * takeover (mr_state_loaded), a holder's now. */
	if (restored > 0 && st->ha == HA_ACTIVE)
		mr_sessions_restored(st->a->sess);
}

/* On the loop's timer: start the mirror's load, and apply the changes waiting (one HMGET
 * of up to a batch at a time). After a takeover the changes that came before it are still
 * applied. */
static void
mr_state_mirror_tick(struct mr_state *st, uint64_t now)
{
	const char *argv[2 + MR_STATE_BATCH];
	size_t len[2 + MR_STATE_BATCH];
	char ids[MR_STATE_BATCH][17];
	uint32_t i, n;

	if (st->ha == HA_SINGLE || st->pend == NULL || st->link != LINK_UP || st->ac == NULL)
		return;
	if (st->ha == HA_STANDBY && st->mirror == MIRROR_OFF && st->chg_subscribed &&
	    now >= st->mirror_tsc) {
		/* Subscribed first: a change made while the hash is read waits in pend. */
		st->mirror = MIRROR_LOADING;
		st->mirror_gen++;
		st->mirror_tsc = now;
		st->mirror_loaded = 0;
		st->pend_n = 0;
		st->mir.loads++;
		mr_state_mirror_ask(st, "0");
		return;
	}
	if (st->pend_n == 0 || st->fly_n > 0 ||
	    (st->ha == HA_STANDBY && st->mirror != MIRROR_READY))
		return;
	n = st->pend_n < MR_STATE_BATCH ? st->pend_n : MR_STATE_BATCH;
	argv[0] = "HMGET";
	argv[1] = st->key;
	len[0] = 5;
	len[1] = strlen(st->key);
	for (i = 0; i < n; i++) {
		st->pend_fly[i] = st->pend[i];
		snprintf(ids[i], sizeof(ids[i]), "%016" PRIx64, st->pend[i].id);
		argv[2 + i] = ids[i];
		len[2 + i] = 16;
	}
	if (redisAsyncCommandArgv(st->ac, on_pend, NULL, (int)(2 + n), argv, len) != REDIS_OK)
		return;
	st->fly_n = n;
	st->pend_n -= n;
	memmove(st->pend, st->pend + n, st->pend_n * sizeof(*st->pend));
}

/* A notice on the change channel: ["subscribe", channel, count] once, then ["message",
 * channel, "NODE ID ID ..."]. A node's own notices (it holds the service) are not news. */
static void
sub_on_change(redisAsyncContext *ac, void *r, void *priv)
{
	struct mr_state *st = ac->ev.data;
	redisReply *reply = r, *msg;
	const char *p, *end;
	size_t nl = strlen(st != NULL ? st->node : "");

	(void)priv;
	if (st == NULL || st->sub.ac == NULL || reply == NULL ||
	    reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
	    reply->element[0]->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(reply->element[0]->str, "subscribe") == 0) {
		st->chg_subscribed = 1;
		return;
	}
	msg = reply->element[2];
	if (strcmp(reply->element[0]->str, "message") != 0 || msg->type != REDIS_REPLY_STRING)
		return;
	st->mir.notices++;
	p = msg->str;
	end = msg->str + msg->len;
	if ((size_t)(end - p) >= nl && memcmp(p, st->node, nl) == 0 &&
	    (p + nl == end || p[nl] == ' ')) {
		/* This node's own: news only as the catch-up marker. */
		if (st->catchup && end - p > (ptrdiff_t)nl + 2 && p[nl + 1] == '!') {
			char tok[24];
			size_t tl = (size_t)(end - p) - nl - 2;

			if (tl < sizeof(tok)) {
				memcpy(tok, p + nl + 2, tl);
				tok[tl] = '\0';
				if (strtoull(tok, NULL, 16) == st->catchup_tok)
					st->catchup = 0;
			}
		}
		return;
	}
	if (st->mirror == MIRROR_OFF && !st->catchup)
		return;		/* the next load reads the hash as it is then */
	while (p < end && *p != ' ')
		p++;
	while (p < end) {
		char *e;
		uint64_t id;

		while (p < end && *p == ' ')
			p++;
		if (p == end)
			break;
		if (*p == '*') {
			mr_state_mirror_lost(st, "the holder wrote its state again in full");
			return;
		}
		id = strtoull(p, &e, 16);
		if (e == p || e > end)
			break;
		mr_state_pend_add(st, id, 0);
		if (st->mirror == MIRROR_OFF && !st->catchup)
			return;
		p = e;
	}
}

static void
on_release(redisAsyncContext *ac, void *r, void *priv)
{
	struct mr_state *st = ac->ev.data;
	redisReply *reply = r;

	(void)priv;
	if (reply == NULL || reply->type != REDIS_REPLY_INTEGER)
		STATE_LOG(WARNING, "service %s: the release of the lock got no answer: it expires "
			  "after state.takeover_ms instead\n", st->conf->identity);
}

int
mr_state_release(struct mr_state *st, unsigned int hold_ms, char *err, size_t errlen)
{
	const char *argv[5] = { "EVAL", mr_state_release_lua, "1", st->hb_key, st->node };
	size_t len[5];
	int i;

	if (st->ha == HA_SINGLE) {
		snprintf(err, errlen, "state.role is \"single\": there is no service lock to hand "
			 "over");
		return 409;
	}
	if (st->ha != HA_ACTIVE) {
		snprintf(err, errlen, "state: this node does not hold the service (%s%s%s)",
			 st->holder[0] ? "node " : "held by none", st->holder, st->holder[0] ?
			 " holds it" : "");
		return 409;
	}
	if (st->link != LINK_UP || st->ac == NULL) {
		snprintf(err, errlen, "state: Redis is not connected: the latest changes could not "
			 "be handed over");
		return 503;
	}
	if (st->resync) {
		snprintf(err, errlen, "state: a full rewrite of the state is pending (Redis was "
			 "away or slow); try again once /v1/health says resync_pending false");
		return 503;
	}
	/* What waits goes first, on the same connection: Redis applies it before the DEL. */
	mr_state_flush(st);
	if (st->q_n > 0 || json_object_size(st->ng_dirty) > 0) {
		snprintf(err, errlen, "state: %u change(s) still wait for Redis; try again",
			 st->q_n + (unsigned int)json_object_size(st->ng_dirty));
		return 503;
	}
	for (i = 0; i < 5; i++)
		len[i] = strlen(argv[i]);
	if (redisAsyncCommandArgv(st->ac, on_release, NULL, 5, argv, len) != REDIS_OK) {
		snprintf(err, errlen, "state: the release could not be sent to Redis");
		return 503;
	}
	st->releases++;
	STATE_LOG(NOTICE, "service %s: node %s hands the service over (POST /v1/state/release): "
		  "standby, no claim for %u ms\n", st->conf->identity, st->node, hold_ms);
	mr_state_step_down(st);
	st->hold_tsc = rte_get_tsc_cycles() + rte_get_tsc_hz() / 1000 * hold_ms;
	return 200;
}

static void
on_renew(redisAsyncContext *ac, void *r, void *priv)
{
	struct mr_state *st = ac->ev.data;
	redisReply *reply = r;
	uint64_t sent = (uint64_t)(uintptr_t)priv;

	if (reply == NULL || (st->ha != HA_ACTIVE && st->ha != HA_LOADING))
		return;
	if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) {
		if (sent > st->ha_ok_tsc)
			st->ha_ok_tsc = sent;
	} else if (reply->type == REDIS_REPLY_INTEGER) {
		mr_state_fence(st, "the lock is no longer ours (another node holds it, or it "
			       "expired)");
	} else {
		st->n.errors++;		/* no answer that counts: fenced after takeover_ms */
	}
}

static void mr_state_load_next(struct mr_state *st, const char *cursor);

/* A session of a takeover's load. One that cannot be restored yet (its port still retiring
 * from the mirror's copy that the takeover dropped, when the mirror was not ready) is tried
 * again at the next ticks, as the mirror's changes are; the API opens once none waits. */
static int
mr_takeover_session(struct mr_state *st, const char *field, const char *text, size_t len,
		    char *err, size_t errlen)
{
	int rc = mr_restore_session(st, field, text, len, err, errlen);

	if (rc < 0 && st->pend_n < st->pend_cap) {
		mr_state_pend_add(st, strtoull(field, NULL, 16), 1);
		return 0;
	}
	return rc;
}

/* One page of the service's hashes at a takeover (HSCAN, 1000 records): one control loop
 * turn each, so that the API and the other timers keep running. */
static void
on_load(redisAsyncContext *ac, void *r, void *priv)
{
	struct mr_state *st = ac->ev.data;
	char cursor[32];
	int rc;

	(void)priv;
	if (st->ha != HA_LOADING)
		return;
	if (st->load_stage == 1)
		rc = mr_restore_page(st, NULL, st->key, "session", mr_takeover_session, r, cursor,
				     sizeof(cursor), &st->load_ok, &st->load_bad);
	else if (st->load_stage == 3)
		rc = mr_restore_page(st, NULL, st->ng_key, "ng call", mr_restore_ngcall, r,
				     cursor, sizeof(cursor), &st->load_ng, &st->load_bad);
	else
		rc = mr_restore_page(st, NULL, st->rooms_key, "room", mr_restore_room, r,
				     cursor, sizeof(cursor), &st->load_rooms, &st->load_bad);
	if (rc < 0) {
		mr_state_fence(st, "the service's state could not be loaded from Redis");
		return;
	}
	mr_state_load_next(st, cursor);
}

/* The takeover's last step: relay. */
static void
mr_state_takeover_done(struct mr_state *st)
{
	uint64_t now = rte_get_tsc_cycles();
	struct mr_sessions_counts sc;

	st->restoring = 0;
	st->load_stage = 0;
	/* What relays now: the load's (or the mirror's) and those its retries and the
	 * catch-up restored. */
	mr_sessions_counts(st->a->sess, &sc);
	st->load_ok = (unsigned int)sc.active;
	mr_state_loaded(st, st->load_ok, st->load_rooms, st->load_bad);
	st->n.ng_restored = st->load_ng;
	st->ha = HA_ACTIVE;		/* the API answers from now on */
	/* Probe again what the load's own requests did not resolve. */
	mr_neigh_kick(st->a->neigh);
	st->takeovers++;
	st->last_load_ms = mr_state_ms(now - st->claim_tsc);
	STATE_LOG(NOTICE, "service %s: node %s took over: %u session(s), %u room(s) and %u ng "
		  "call(s) loaded (%u could not be) in %" PRIu64 " ms, relaying as they were; "
		  "relaying began %" PRIu64 " ms after the lock was seen free\n",
		  st->conf->identity, st->node, st->load_ok, st->load_rooms, st->load_ng,
		  st->load_bad, st->last_load_ms, st->last_takeover_ms);
}

/* A loaded takeover opens its API once a mirrored takeover's catch-up is done: the marker
 * back, and the changes it brought applied. Not back within state.takeover_ms: fenced. */
static void
mr_state_catchup_tick(struct mr_state *st, uint64_t now)
{
	if (st->ha != HA_LOADING || st->load_stage != 4)
		return;
	if (!st->catchup && st->pend_n == 0 && st->fly_n == 0) {
		mr_state_takeover_done(st);
		return;
	}
	if (st->catchup && now - st->claim_tsc > st->ttl_tsc)
		mr_state_mirror_lost(st, "its marker on the change channel did not come back "
				     "within state.takeover_ms");
}

/* The next page of the hash being loaded. */
static void
mr_state_load_ask(struct mr_state *st, const char *cursor)
{
	const char *argv[5] = { "HSCAN", st->load_stage == 1 ? st->key : st->load_stage == 2 ?
				st->rooms_key : st->ng_key, cursor, "COUNT", "1000" };
	size_t len[5];
	int i;

	for (i = 0; i < 5; i++)
		len[i] = strlen(argv[i]);
	if (redisAsyncCommandArgv(st->ac, on_load, NULL, 5, argv, len) != REDIS_OK)
		mr_state_fence(st, "the service's state could not be asked for");
}

/* After a page: the next one, the rooms after the sessions, or relaying. */
static void
mr_state_load_next(struct mr_state *st, const char *cursor)
{
	if (strcmp(cursor, "0") == 0) {
		if (st->load_stage == 3 || (st->load_stage == 2 && st->a->ng == NULL)) {
			st->load_stage = 4;
			mr_state_catchup_tick(st, rte_get_tsc_cycles());
			return;
		}
		st->load_stage++;
	}
	mr_state_load_ask(st, cursor);
}

/* A mirrored takeover: its marker, after the claim (see catchup). */
static void
mr_state_catchup_begin(struct mr_state *st)
{
	char marker[96];
	const char *argv[3] = { "PUBLISH", st->chg_key, marker };
	size_t len[3];

	st->catchup = 1;
	st->catchup_tok = st->claim_tsc;
	snprintf(marker, sizeof(marker), "%s !%" PRIx64, st->node, st->catchup_tok);
	len[0] = 7;
	len[1] = strlen(st->chg_key);
	len[2] = strlen(marker);
	mr_state_aux(st, 3, argv, len);
}

/* The lock won: load the service, then relay. */
static void
mr_state_takeover(struct mr_state *st, uint64_t sent)
{
	st->ha = HA_LOADING;
	st->claim_tsc = rte_get_tsc_cycles();
	st->ha_ok_tsc = sent;
	st->ha_tsc = st->claim_tsc;	/* renew from now on */
	snprintf(st->holder, sizeof(st->holder), "%s", st->node);
	st->resync = 0;
	st->q_n = 0;
	st->load_ok = st->load_rooms = st->load_ng = st->load_bad = 0;
	if (st->mirror == MIRROR_READY) {
		struct mr_sessions_counts sc;

		/* The sessions are here already, as the holder last wrote them: they relay
		 * as soon as the workers stop dropping; the changes still waiting are
		 * applied as they come (mr_state_mirror_tick). The rooms and ng calls are
		 * loaded below. */
		mr_sessions_counts(st->a->sess, &sc);
		st->load_ok = (unsigned int)sc.active;
		st->mir.takeovers++;
		STATE_LOG(NOTICE, "service %s: node %s took the lock; relaying the %u mirrored "
			  "session(s) at once, loading the rooms and ng calls\n",
			  st->conf->identity, st->node, st->load_ok);
		mr_state_drop_rest(st);
		mr_state_catchup_begin(st);
	} else {
		STATE_LOG(NOTICE, "service %s: node %s took the lock; loading the service, "
			  "relaying it as it loads\n", st->conf->identity, st->node);
		mr_state_drop_local(st);	/* what a fenced node may still have */
		st->pend_n = 0;
		st->fly_n = 0;
	}
	/* The lock is this node's: no other node relays, so each session relays as soon as
	 * it is loaded (the API still answers 503 until the load is done). The addresses
	 * are announced now, and the remotes' next hops asked as their sessions load. */
	mr_state_set_standby(st, 0);
	st->ann_step = 0;
	st->ann_base_tsc = st->claim_tsc;
	st->last_takeover_ms = mr_state_ms(st->claim_tsc - (st->free_tsc ? st->free_tsc :
							    st->claim_tsc));
	st->restoring = 1;
	if (st->mirror == MIRROR_READY) {
		st->mirror = MIRROR_OFF;
		mr_neigh_kick(st->a->neigh);	/* the next hops, asked now it may speak */
		st->load_stage = 2;
	} else {
		st->mirror = MIRROR_OFF;
		st->load_stage = 1;
	}
	mr_state_load_ask(st, "0");
}

static void
on_claim(redisAsyncContext *ac, void *r, void *priv)
{
	struct mr_state *st = ac->ev.data;
	redisReply *reply = r;

	st->poll_pending = 0;
	if (st->ha != HA_STANDBY || reply == NULL)
		return;
	if (reply->type == REDIS_REPLY_STATUS)
		mr_state_takeover(st, (uint64_t)(uintptr_t)priv);
	else
		st->free_tsc = 0;	/* another node was quicker */
}

/* A standby's poll: the holder, or nobody (the lock expired: claim it). */
static void
on_poll(redisAsyncContext *ac, void *r, void *priv)
{
	struct mr_state *st = ac->ev.data;
	redisReply *reply = r;
	uint64_t now = rte_get_tsc_cycles();
	char ttl[16];
	const char *argv[6] = { "SET", st->hb_key, st->node, "NX", "PX", ttl };
	size_t len[6];
	int i;

	(void)priv;
	st->poll_pending = 0;
	if (st->ha != HA_STANDBY || reply == NULL)
		return;
	if (reply->type == REDIS_REPLY_STRING) {
		snprintf(st->holder, sizeof(st->holder), "%s", reply->str);
		st->free_tsc = 0;
		return;
	}
	if (reply->type != REDIS_REPLY_NIL)
		return;
	/* Released on purpose: the other node's to take, for a while. */
	if (now < st->hold_tsc)
		return;
	if (st->free_tsc == 0) {
		st->free_tsc = now;
		STATE_LOG(NOTICE, "service %s: the lock of node %s expired; node %s claims it\n",
			  st->conf->identity, st->holder[0] ? st->holder : "(none)", st->node);
	}
	st->holder[0] = '\0';
	mr_state_ttl_text(st, ttl, sizeof(ttl));
	for (i = 0; i < 6; i++)
		len[i] = strlen(argv[i]);
	if (redisAsyncCommandArgv(st->ac, on_claim, (void *)(uintptr_t)now, 6, argv, len) ==
	    REDIS_OK)
		st->poll_pending = 1;
}

/* On the loop's timer: the holder renews, a standby polls; announcements after a takeover. */
static void
mr_state_ha_tick(struct mr_state *st, uint64_t now)
{
	if (st->ha == HA_SINGLE)
		return;
	while (st->ann_step < (int)MR_STATE_ANNOUNCE &&
	       (st->ha == HA_ACTIVE || st->ha == HA_LOADING) &&
	       now - st->ann_base_tsc >=
	       mr_state_announce_ms[st->ann_step] * rte_get_tsc_hz() / 1000) {
		mr_neigh_announce(st->a->neigh);
		st->ann_step++;
	}
	if (st->ha == HA_ACTIVE || st->ha == HA_LOADING) {
		/* The lock expires ttl after the last confirmed renewal was sent, at the
		 * earliest: fence before another node can have it. */
		if (now - st->ha_ok_tsc >= st->ttl_tsc) {
			mr_state_fence(st, "Redis confirmed no renewal of the lock for "
				       "state.takeover_ms");
			return;
		}
		if (st->link == LINK_UP && now >= st->ha_tsc) {
			char ttl[16];
			const char *argv[6] = { "EVAL", mr_state_renew_lua, "1", st->hb_key,
						st->node, ttl };
			size_t len[6];
			int i;

			mr_state_ttl_text(st, ttl, sizeof(ttl));
			for (i = 0; i < 6; i++)
				len[i] = strlen(argv[i]);
			(void)redisAsyncCommandArgv(st->ac, on_renew, (void *)(uintptr_t)now, 6,
						    argv, len);
			st->ha_tsc = now + st->hb_period_tsc;
		}
		return;
	}
	if (st->link == LINK_UP && !st->poll_pending && now >= st->ha_tsc) {
		const char *argv[2] = { "GET", st->hb_key };
		size_t len[2] = { 3, strlen(st->hb_key) };

		if (redisAsyncCommandArgv(st->ac, on_poll, NULL, 2, argv, len) == REDIS_OK)
			st->poll_pending = 1;
		st->ha_tsc = now + st->hb_period_tsc;
	}
}

int
mr_state_silent(const struct mr_state *st)
{
	return st != NULL && st->ha == HA_STANDBY;
}

int
mr_state_refusal(void *arg, char *msg, size_t len)
{
	const struct mr_state *st = arg;

	if (st == NULL || st->ha == HA_SINGLE || st->ha == HA_ACTIVE)
		return 0;
	if (st->ha == HA_LOADING)
		snprintf(msg, len, "state: node %s is taking over; try again", st->node);
	else
		snprintf(msg, len, "state: standby of node %s",
			 st->holder[0] ? st->holder : "(none)");
	return 1;
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
	snprintf(st->ng_key, sizeof(st->ng_key), "mrelay:%s:ngcalls", conf->identity);
	snprintf(st->ng_tmp_key, sizeof(st->ng_tmp_key), "mrelay:%s:ngcalls:resync",
		 conf->identity);
	snprintf(st->chg_key, sizeof(st->chg_key), "mrelay:%s:sessions:changed",
		 conf->identity);
	st->q_cap = conf->queue;
	st->q = calloc(st->q_cap, sizeof(*st->q));
	st->later = calloc(MR_STATE_LATER, sizeof(*st->later));
	st->max = mr_sessions_max(a->sess);
	st->digest = calloc(st->max, sizeof(*st->digest));
	st->spans = json_object();
	st->ng_dirty = json_object();
	if (conf->role != MR_STATE_SINGLE) {
		/* The mirror's changes to apply (bounded as the queue of writes) and the
		 * holder's notices. */
		st->pend_cap = st->q_cap;
		st->pend = calloc(st->pend_cap, sizeof(*st->pend));
		st->pend_fly = calloc(MR_STATE_BATCH, sizeof(*st->pend_fly));
		st->pub = malloc(MR_STATE_PUB_MAX);
	}
	if (st->q == NULL || st->later == NULL || st->digest == NULL || st->spans == NULL ||
	    st->ng_dirty == NULL ||
	    (conf->role != MR_STATE_SINGLE &&
	     (st->pend == NULL || st->pend_fly == NULL || st->pub == NULL))) {
		mr_state_free(st);
		snprintf(err, errlen, "state: out of memory for a queue of %u", conf->queue);
		return NULL;
	}
	if (conf->node[0] != '\0')
		snprintf(st->node, sizeof(st->node), "%s", conf->node);
	else if (gethostname(st->node, sizeof(st->node)) < 0 || st->node[0] == '\0')
		snprintf(st->node, sizeof(st->node), "mrelay");
	if (conf->api_url[0] != '\0') {
		snprintf(st->api_url, sizeof(st->api_url), "%s", conf->api_url);
	} else {
		char ep[64];

		snprintf(st->api_url, sizeof(st->api_url), "http://%s",
			 mr_ep_fmt(&a->cfg->api_listen, ep, sizeof(ep), 1));
	}
	st->node[sizeof(st->node) - 1] = '\0';
	st->ha = conf->role == MR_STATE_SINGLE ? HA_SINGLE : HA_STANDBY;
	st->hb_period_tsc = rte_get_tsc_hz() / 1000 * conf->heartbeat_ms;
	st->ttl_tsc = rte_get_tsc_hz() / 1000 * conf->takeover_ms;
	st->ann_step = MR_STATE_ANNOUNCE;
	st->last_scan_tsc = rte_get_tsc_cycles();
	st->coalesce_tsc = rte_get_tsc_hz() / 1000000 * MR_STATE_COALESCE_US;
	if (a->rooms != NULL)
		mr_rooms_ids_cluster(a->rooms);
	return st;
}

void
mr_state_free(struct mr_state *st)
{
	if (st == NULL)
		return;
	if (st->ac != NULL) {
		redisAsyncContext *ac = st->ac;

		if (st->link == LINK_UP) {
			/* A node that stops leaves the cluster registry, so that no placement
			 * sends requests to it meanwhile: best effort, one non-blocking write
			 * (a killed node shows as gone after MR_CLUSTER_ALIVE_MS instead). */
			const char *argv[3] = { "HDEL", MR_CLUSTER_KEY, st->node };
			size_t len[3] = { 4, strlen(MR_CLUSTER_KEY), strlen(st->node) };

			const char *name;
			json_t *v;

			(void)redisAsyncCommandArgv(ac, NULL, NULL, 3, argv, len);
			/* And the entries of its cluster rooms: the other nodes drop its links. */
			json_object_foreach(st->spans, name, v) {
				char key[sizeof(MR_SPAN_KEY) + 64];
				const char *dv[3] = { "HDEL", key, st->node };
				size_t dl[3] = { 4, 0, strlen(st->node) };

				snprintf(key, sizeof(key), MR_SPAN_KEY "%s", name);
				dl[1] = strlen(key);
				(void)redisAsyncCommandArgv(ac, NULL, NULL, 3, dv, dl);
			}
			redisAsyncHandleWrite(ac);
		}
		/* Its callbacks run from here: nothing of st must be used by them after. */
		st->ac = NULL;
		ac->onDisconnect = NULL;
		mr_api_watch(st->a->api, -1, mr_state_readable, st);
		redisAsyncFree(ac);
	}
	sub_free(st);
	json_decref(st->cluster);
	json_decref(st->spans);
	json_decref(st->ng_dirty);
	free(st->q);
	free(st->later);
	free(st->digest);
	free(st->pend);
	free(st->pend_fly);
	free(st->pub);
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
	json_t *j;

	if (st == NULL)
		return json_null();
	j = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
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
	json_object_set_new(j, "held_for_owner", json_integer((json_int_t)st->later_n));
	json_object_set_new(j, "after_apply", json_integer((json_int_t)st->n.after_apply));
	json_object_set_new(j, "after_apply_full", json_integer((json_int_t)st->n.after_full));
	/* Active/standby: where this node stands, and who holds the service. */
	json_object_set_new(j, "ng_calls_queued", json_integer(
		(json_int_t)json_object_size(st->ng_dirty)));
	json_object_set_new(j, "ng_call_writes", json_integer((json_int_t)st->n.ng_writes));
	json_object_set_new(j, "ng_calls_restored", json_integer((json_int_t)st->n.ng_restored));
	json_object_set_new(j, "room_id_blocks", json_integer((json_int_t)st->ids_reserved));
	json_object_set_new(j, "role", json_string(mr_state_ha_name[st->ha]));
	json_object_set_new(j, "node", json_string(st->node));
	json_object_set_new(j, "active_node", st->ha == HA_SINGLE ? json_string(st->node) :
			    st->holder[0] ? json_string(st->holder) : json_null());
	json_object_set_new(j, "takeovers", json_integer((json_int_t)st->takeovers));
	json_object_set_new(j, "releases", json_integer((json_int_t)st->releases));
	json_object_set_new(j, "fenced", json_integer((json_int_t)st->fences));
	json_object_set_new(j, "last_takeover_ms", st->takeovers ?
			    json_integer((json_int_t)st->last_takeover_ms) : json_null());
	if (st->ha != HA_SINGLE) {
		static const char *const mname[] = { "off", "loading", "ready" };
		struct mr_sessions_counts sc;

		mr_sessions_counts(st->a->sess, &sc);
		json_object_set_new(j, "mirror", json_pack(
			"{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}",
			"state", mname[st->mirror],
			"sessions", (json_int_t)(st->ha == HA_STANDBY ? sc.active : 0),
			"pending", (json_int_t)(st->pend_n + st->fly_n),
			"loads", (json_int_t)st->mir.loads,
			"notices", (json_int_t)st->mir.notices,
			"applied", (json_int_t)st->mir.applied,
			"failed", (json_int_t)st->mir.failed,
			"dropped", (json_int_t)st->mir.invalidated,
			"last_load_ms", st->mir.loads ? json_integer((json_int_t)
				st->mir.last_load_ms) : json_null()));
		json_object_set_new(j, "mirrored_takeovers",
				    json_integer((json_int_t)st->mir.takeovers));
		json_object_set_new(j, "mirrored_takeovers_fenced",
				    json_integer((json_int_t)st->mir.catchup_failed));
	}
	return j;
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
		"mrelay_state_restored_sessions %" PRIu64 "\n"
		"# HELP mrelay_state_active 1 when this node relays its service (holds the lock, "
		"or state.role single)\n"
		"# TYPE mrelay_state_active gauge\nmrelay_state_active %d\n"
		"# HELP mrelay_state_takeovers_total Services taken over from another node\n"
		"# TYPE mrelay_state_takeovers_total counter\n"
		"mrelay_state_takeovers_total %" PRIu64 "\n"
		"# HELP mrelay_state_fenced_total Times this node stopped relaying on losing the "
		"lock\n"
		"# TYPE mrelay_state_fenced_total counter\nmrelay_state_fenced_total %" PRIu64 "\n",
		st->link == LINK_UP, st->q_n, st->n.writes, st->n.deletes, st->n.bytes,
		st->n.dropped, st->n.errors, st->n.resyncs, st->n.restored,
		st->ha == HA_SINGLE || st->ha == HA_ACTIVE, st->takeovers, st->fences);
	fprintf(f, "# HELP mrelay_state_restored_ng_calls ng calls restored at start or loaded "
		"at the last takeover\n"
		"# TYPE mrelay_state_restored_ng_calls gauge\n"
		"mrelay_state_restored_ng_calls %" PRIu64 "\n"
		"# HELP mrelay_state_ng_call_writes_total ng call records written to Redis\n"
		"# TYPE mrelay_state_ng_call_writes_total counter\n"
		"mrelay_state_ng_call_writes_total %" PRIu64 "\n", st->n.ng_restored,
		st->n.ng_writes);
}
