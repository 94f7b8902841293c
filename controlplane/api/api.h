/* SPDX-License-Identifier: BSD-3-Clause
 * REST control API (libmicrohttpd, JSON). Runs on the control thread only: the server is
 * driven from the control loop (mr_api_poll), never from threads of its own, so every handler
 * runs on the one thread that writes the flow tables.
 */
#ifndef MR_API_H
#define MR_API_H

#include <stdio.h>
#include <jansson.h>
#include "config.h"
#include "json_req.h"

struct mr_appliance;
struct mr_api;

/* Start listening on cfg->api_listen. NULL on error, with a message in err. */
struct mr_api *mr_api_create(const struct mr_config *cfg, struct mr_appliance *a,
			     char *err, size_t errlen);
/* Serve whatever is ready (REST requests and the WebSocket connections of /v1/ws), waiting
 * at most timeout_ms for something to happen. */
void mr_api_poll(struct mr_api *api, int timeout_ms);
void mr_api_free(struct mr_api *api);
/* One more descriptor for the control loop's wait (the ng listener's epoll set, the state
 * store's Redis connection): when it is readable (or in error), mr_api_poll() calls cb(arg) on
 * the control thread. One per (cb, arg): a second call changes its fd; fd -1 removes it. At
 * most 4. */
void mr_api_watch(struct mr_api *api, int fd, void (*cb)(void *arg), void *arg);
/* Requests under /v1/sessions and /v1/rooms are answered 503 {"error": msg} while fn(arg)
 * returns 1 with msg (the state store's standby, controlplane/state/). NULL fn: never. */
void mr_api_set_refusal(struct mr_api *api, int (*fn)(void *arg, char *msg, size_t len),
			void *arg);
/* A request answered 404 may be about an object on another appliance (the cluster registry,
 * controlplane/state/): fn(arg, url, done, ctx) returns 0 when it looks for it, and then
 * calls done(ctx, status, body) exactly once, later: 307 with {"error", "location"} (the
 * request is answered that), or anything else (body NULL: the 404 stands). -1: it does not
 * look. Meanwhile the request waits, suspended, and the control thread goes on. */
typedef void (*mr_api_found_fn)(void *ctx, int status, json_t *body);
void mr_api_set_elsewhere(struct mr_api *api,
			  int (*fn)(void *arg, const char *url, mr_api_found_fn done, void *ctx),
			  void *arg);
/* The WebSocket signaling counters for GET /v1/stats ("websocket"): ws.c's connection
 * counters ("connections" open now, "accepted", "refused", "rx_bytes", "tx_bytes",
 * "rx_messages", "tx_messages", "protocol_errors", "app_errors", "timeouts", "slow") and
 * signaling.c's (mr_signal_stats). A new reference; NULL on allocation failure. */
json_t *mr_api_ws_stats(const struct mr_api *api);
/* GET /v1/stats "api": {"connections": REST connections open now, "refused": {reason: n}
 * (guard.h's reasons), "redirected_elsewhere": 307s to the appliance that has the object}.
 * A new reference. */
json_t *mr_api_stats(const struct mr_api *api);
/* The same for /metrics: mrelay_api_connections, mrelay_api_refused_total{reason}. */
void mr_api_metrics(const struct mr_api *api, FILE *f);

#endif
