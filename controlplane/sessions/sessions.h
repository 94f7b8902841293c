/* SPDX-License-Identifier: BSD-3-Clause
 * Session manager: the only writer of the flow tables (DESIGN.md §2). Allocates relay ports
 * and an owner lcore, fills a struct mr_dp_session and publishes its flows; retires them
 * through the owner's command ring and frees them after an RCU grace period.
 */
#ifndef MR_SESSIONS_H
#define MR_SESSIONS_H

#include <stdint.h>

#include <jansson.h>

#include "json_req.h"

struct mr_appliance;
struct mr_sessions;

struct mr_sessions_counts {
	uint64_t active;
	uint64_t created;
	uint64_t ended;
	uint64_t rejected;
	uint64_t retiring;
};

struct mr_sessions *mr_sessions_create(struct mr_appliance *a);
/* Ends every session and frees everything (workers must be stopped). */
void mr_sessions_free(struct mr_sessions *ss);
/* Idle timeouts and reclamation; call a few times per second at least. */
void mr_sessions_tick(struct mr_sessions *ss, uint64_t now_tsc);
void mr_sessions_counts(const struct mr_sessions *ss, struct mr_sessions_counts *c);
/* Active sessions owned by worker w. */
unsigned int mr_sessions_owned(const struct mr_sessions *ss, unsigned int w);

/* The REST handlers (registered as routes by sessions.c; public for tests and the batch).
 * Each returns the HTTP status and sets *body to a new JSON reference (the error object
 * {"error": "..."} on 4xx/5xx, NULL for 204). */
int mr_http_session_create(struct mr_appliance *a, const struct mr_session_req *req,
			   json_t **body);
int mr_http_session_list(struct mr_appliance *a, unsigned long cursor, unsigned int limit,
			 json_t **body);
int mr_http_session_get(struct mr_appliance *a, const char *id, json_t **body);
int mr_http_session_patch(struct mr_appliance *a, const char *id,
			  const struct mr_session_patch *p, json_t **body);
int mr_http_session_delete(struct mr_appliance *a, const char *id, json_t **body);
/* POST /v1/sessions/batch: {"sessions": [ <POST /v1/sessions body>, ... ]}, all or none. */
int mr_http_session_batch(struct mr_appliance *a, const char *body, size_t len, json_t **out);

/* Shared with the rooms (controlplane/rooms/rooms.c). */
struct mr_ep;
/* A local relay endpoint on appliance port pidx: one of the port's addresses of the given
 * family and an even UDP port p (p+1 reserved with it, for RTCP), marked in the dataplane's
 * owner map as owned by worker w (before any flow of it is published). 0, -ENOSPC when no
 * port is free, -EAFNOSUPPORT when the port has no address of that family. */
int mr_endpoint_alloc(struct mr_sessions *ss, unsigned int pidx, uint8_t family, unsigned int w,
		      struct mr_ep *ep);
/* Give an endpoint back (after its flows are gone and the RCU grace period has passed). */
void mr_endpoint_free(struct mr_sessions *ss, unsigned int pidx, const struct mr_ep *ep);
/* Relay ports still free (the smallest number over the ports' addresses). */
unsigned int mr_endpoint_available(const struct mr_sessions *ss);
/* Load of each worker (sessions + room participants it owns): rooms add and remove theirs. */
void mr_worker_load_add(struct mr_sessions *ss, unsigned int w, int delta);
/* The worker with the least load. */
unsigned int mr_worker_least_loaded(const struct mr_sessions *ss);

#endif
