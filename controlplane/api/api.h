/* SPDX-License-Identifier: BSD-3-Clause
 * REST control API (libmicrohttpd, JSON). Runs on the control thread only: the server is
 * driven from the control loop (mr_api_poll), never from threads of its own, so every handler
 * runs on the one thread that writes the flow tables.
 */
#ifndef MR_API_H
#define MR_API_H

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
/* The WebSocket signaling counters for GET /v1/stats ("websocket"): ws.c's connection
 * counters ("connections" open now, "accepted", "refused", "rx_bytes", "tx_bytes",
 * "rx_messages", "tx_messages", "protocol_errors", "app_errors", "timeouts", "slow") and
 * signaling.c's (mr_signal_stats). A new reference; NULL on allocation failure. */
json_t *mr_api_ws_stats(const struct mr_api *api);

/* Handlers, implemented by the session manager and the stats module. Each returns the HTTP
 * status and sets *body to a new JSON reference (the error object {"error": "..."} on 4xx/5xx,
 * NULL for 204). */
int mr_http_session_create(struct mr_appliance *a, const struct mr_session_req *req, json_t **body);
int mr_http_session_list(struct mr_appliance *a, unsigned long cursor, unsigned int limit,
			 json_t **body);
int mr_http_session_get(struct mr_appliance *a, const char *id, json_t **body);
int mr_http_session_patch(struct mr_appliance *a, const char *id,
			  const struct mr_session_patch *p, json_t **body);
int mr_http_session_delete(struct mr_appliance *a, const char *id, json_t **body);
/* POST /v1/sessions/batch: {"sessions": [ <POST /v1/sessions body>, ... ]}, all or none. */
int mr_http_session_batch(struct mr_appliance *a, const char *body, size_t len, json_t **out);
/* Everything under /v1/rooms (controlplane/rooms/rooms.c). method is "GET", "POST", "PATCH" or
 * "DELETE"; path is the URL after "/v1/rooms" ("" or "/{room}/..."); body/len the request
 * body (NULL/0 when there is none). Same return convention as the handlers above; 405 and
 * 404 for unknown sub-resources are the handler's to answer. */
int mr_http_rooms(struct mr_appliance *a, const char *method, const char *path,
		  const char *body, size_t len, json_t **out);
int mr_http_health(struct mr_appliance *a, json_t **body);
int mr_http_stats(struct mr_appliance *a, json_t **body);
/* Prometheus text exposition format, malloc'd; NULL on allocation failure. */
char *mr_http_metrics(struct mr_appliance *a);

#endif
