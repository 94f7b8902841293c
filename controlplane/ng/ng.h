/* SPDX-License-Identifier: BSD-3-Clause
 * The ng control protocol listener (docs/NG.md): UDP and TCP on ng.listen, served on the
 * control thread from the control loop's wait (the API's poll watches ng's epoll set), never
 * blocking it. Calls map to sessions through the session manager.
 */
#ifndef MR_NG_H
#define MR_NG_H

#include <stdio.h>
#include <jansson.h>

struct mr_appliance;
struct mr_config;
struct mr_ng;
struct mr_ng_calls;

/* NULL with err empty when ng is off (no ng.listen); NULL with err set on failure. */
struct mr_ng *mr_ng_create(const struct mr_config *cfg, struct mr_appliance *a, char *err,
			   size_t errlen);
void mr_ng_free(struct mr_ng *ng);
/* The call model (ng_calls.h), for the state store; NULL when ng is off. */
struct mr_ng_calls *mr_ng_calls_of(struct mr_ng *ng);
/* The descriptor the control loop waits on (readable: call mr_ng_poll). */
int mr_ng_fd(const struct mr_ng *ng);
/* Serve what is ready, without waiting. */
void mr_ng_poll(void *ng);
/* Delete-delays, calls whose sessions ended; call every 10 ms or so. */
void mr_ng_tick(struct mr_ng *ng);
/* GET /v1/stats "ng" (a new reference) and /metrics mrelay_ng_*. */
json_t *mr_ng_stats(const struct mr_ng *ng);
void mr_ng_metrics(const struct mr_ng *ng, FILE *f);

#endif
