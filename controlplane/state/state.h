/* SPDX-License-Identifier: BSD-3-Clause
 * The state store (docs/OPERATIONS.md "State in Redis"): every session and room is written to Redis
 * when it changes, so that mrelayd started again with the same state.identity, or a standby,
 * relays it on the same id, endpoints, remotes and keys.
 *
 * Runs on the control thread only, on hiredis' asynchronous API driven from the control loop
 * (mr_state_poll() each turn, mr_state_tick() on the loop's timer); nothing here blocks the
 * loop. Writes wait in a bounded queue while Redis is slow or away: beyond it they are
 * counted as dropped and the whole state is written again once Redis keeps up (a resync).
 * Only the restore at start (before the API opens) talks to Redis synchronously; a takeover
 * loads the service asynchronously, a page of records per loop turn.
 *
 * Redis keys, for identity ID:
 *   mrelay:ID:sessions    hash: session id (16 hex digits) -> record (controlplane/sessions/
 *                         persist.c); SRTP master keys in it: sensitive
 *   mrelay:ID:rooms       hash: room id (decimal) -> record (controlplane/rooms/persist.c),
 *                         and "next" -> the last room id handed out; sensitive too
 *   mrelay:ID:ngcalls     hash: ng call-id -> record (controlplane/ng/ng_calls.c
 *                         mr_ng_calls_record): tags, branches, the sessions' ids, SDES
 *                         keys; sensitive
 *   mrelay:ID:heartbeat   state.role single: the appliance's Unix time in ms, expiring
 *                         after 3 s; active/standby: the lock of the service, the holder's
 *                         node name, expiring after state.takeover_ms unless renewed
 */
#ifndef MR_STATE_H
#define MR_STATE_H

#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "api.h"

struct mr_appliance;
struct mr_state;

/* For a->cfg->state; NULL when it is off (err empty) or on error (err says why). The
 * connection is made later, by the loop. */
struct mr_state *mr_state_create(struct mr_appliance *a, char *err, size_t errlen);
/* NULL is a no-op. What is still queued is not written. */
void mr_state_free(struct mr_state *st);

/* Restore the sessions stored under this identity (before the API opens; synchronous, within
 * state.restore_timeout). A Redis that cannot be reached is logged and the appliance starts
 * empty; records that cannot be restored are logged and removed. Returns the number
 * restored. */
unsigned int mr_state_restore(struct mr_state *st);

/* Each control loop turn: Redis I/O and the queue. */
void mr_state_poll(struct mr_state *st);
/* On the loop's timer: reconnection, heartbeat, and the scan for changes made without the
 * API (latched remotes, SRTP rollover counters). */
void mr_state_tick(struct mr_state *st, uint64_t now_tsc);

/* Hooks of the session manager: session id was created or changed / has ended. NULL st is a
 * no-op (state off). */
void mr_state_session_put(struct mr_state *st, uint64_t id);
void mr_state_session_del(struct mr_state *st, uint64_t id);
/* Session id changed by commands that worker w has not applied yet (its first seq): the
 * record is written once it has (mr_cmdq_applied), so that it holds the new remotes and keys
 * and not what the owner had before. A PATCH that waited for the owner comes here too: its
 * record goes out at once. */
void mr_state_session_put_after(struct mr_state *st, uint64_t id, unsigned int w,
				uint64_t seq);
/* Hook of the rooms: room id was created, changed or deleted (the write finds out which).
 * NULL st is a no-op. */
void mr_state_room_put(struct mr_state *st, uint32_t id);

/* Hook of the ng call model: call callid was made, changed or has ended (the write finds
 * out which; docs/NG.md "Calls in Redis"). NULL st is a no-op. */
void mr_state_ngcall(struct mr_state *st, const char *callid);

/* Active/standby (state.role): 1 while another node holds the service (this one sends no
 * ARP/ND from the shared addresses). 0 when st is NULL. */
int mr_state_silent(const struct mr_state *st);
/* 1 and the reason in msg ("state: standby of node X") while this node does not serve the
 * service's objects (standby, or loading them at a takeover): the API answers 503. */
int mr_state_refusal(void *st, char *msg, size_t len);

/* POST /v1/state/release: the holder of the service (state.role active/standby) writes what
 * waits, deletes its lock and becomes a standby that claims no free lock for hold_ms, so
 * that the other node takes the service within a poll. 200, or 409/503 with err set. */
#define MR_STATE_RELEASE_HOLD_MS 5000
int mr_state_release(struct mr_state *st, unsigned int hold_ms, char *err, size_t errlen);

/* GET /v1/cluster: {"self": node, "read_ms", "nodes": [entry + age_ms, alive, self]}, the
 * registry as last read from Redis (docs/OPERATIONS.md "Cluster registry"); a new
 * reference. */
json_t *mr_state_cluster_json(const struct mr_state *st);
/* Placement (state.placement "least_loaded"): the API URL of the alive node that carries the
 * fewest sessions and participants for its capacity, when it carries at least two fewer than
 * this one; NULL: here (placement local, no registry read yet, or this node is the least
 * loaded). Valid until the next registry reading. */
const char *mr_state_place(const struct mr_state *st);
/* api.h mr_api_set_elsewhere's hook (arg: the state): a request about session
 * /v1/sessions/{id}[/...] that this appliance does not have is looked for on every other
 * node of the registry that serves (HEXISTS in its identity's session hash), and answered
 * 307 to the first that has it. */
int mr_state_elsewhere(void *arg, const char *url, mr_api_found_fn done, void *ctx);
/* The cluster's index of participant tokens (mrelay:cluster:tokens, SHA-256 of the token ->
 * node): a token is added when its participant is created here, removed when it goes. */
void mr_state_token(struct mr_state *st, const char *token, int on);
/* Which other appliance has the participant of token: cb(ctx, ws_url, node) once Redis
 * answered, with the WebSocket URL of that appliance (ws://host:port/v1/ws, from its
 * api_url), or NULL when no alive appliance serving its objects has it. 0, or -1 when the
 * cluster is not known (nothing asked, cb never called). */
typedef void (*mr_state_where_fn)(void *ctx, const char *ws_url, const char *node);
int mr_state_token_where(struct mr_state *st, const char *token, mr_state_where_fn cb,
			 void *ctx);
/* A 307 answer to a creation placed elsewhere: body {"error", "location"}, the location the
 * HTTP layer puts in the Location header. Returns 307. */
int mr_state_redirect(json_t **out, const char *url, const char *path);
/* Rooms across appliances (controlplane/rooms/span.c, docs/ARCHITECTURE.md "Rooms across
 * appliances"). mr_state_node: this appliance's name in the cluster (state.node). */
const char *mr_state_node(const struct mr_state *st);
/* The wall clock in ms (CLOCK_REALTIME): what the cluster's entries are dated with. */
uint64_t mr_state_wall_ms(void);
/* Write this node's entry of cluster room name (JSON text; NULL: remove it), then read every
 * node's entries of the room back (not after a removal): mr_rooms_span_input(rooms, room, name,
 * {node: entry}) once Redis answered, with NULL when it did not (connection lost). A stopping
 * appliance removes the entries it wrote. 0, or -1 when Redis is not connected (nothing
 * sent, no answer will come). */
int mr_state_span_sync(struct mr_state *st, const char *name, const char *entry, uint32_t room);
/* PUBLISH msg (JSON text) on cluster room name's channel: every appliance's subscribed
 * connection hands it to mr_rooms_span_message(). */
void mr_state_span_publish(struct mr_state *st, const char *name, const char *msg);
/* Remove node's entry of cluster room name (a node gone for long). */
void mr_state_span_forget(struct mr_state *st, const char *name, const char *node);

/* /v1/health and /v1/stats "state" (a new reference; null when off) and /metrics. */
json_t *mr_state_json(const struct mr_state *st);
void mr_state_metrics(const struct mr_state *st, FILE *f);

#endif
