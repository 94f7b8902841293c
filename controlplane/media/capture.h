/* SPDX-License-Identifier: BSD-3-Clause
 * Per-flow capture (docs/API.md "Captures", docs/OPERATIONS.md "Capturing one call"): the
 * frames of one session leg or one room participant, both directions, up to a packet count
 * and a duration, written to a pcapng file (pcapng.h) under capture.directory by a writer
 * thread of its own. The workers copy the frames of captured endpoints onto a bounded ring
 * (dataplane/include/cap.h); the control thread starts and stops captures (REST, below) and
 * reads their counters; the writer thread alone touches the files of running captures.
 *
 * REST (one route, registered in capture.c):
 *   POST   /v1/captures              {"session": "<id>", "leg": 0|1} |
 *                                    {"room": "3", "participant": "5"},
 *                                    "packets": N, "duration_ms": D
 *   GET    /v1/captures              GET /v1/captures/{id}
 *   GET    /v1/captures/{id}/pcapng  the file (once the capture ended)
 *   DELETE /v1/captures/{id}         stops a running capture; forgets an ended one and
 *                                    removes its file
 */
#ifndef MR_CAPTURE_H
#define MR_CAPTURE_H

#include <stdio.h>

struct mr_appliance;
struct mr_capture;

/* With capture.directory set: the directory (created if missing), the ring and pool in dp
 * (cap.h), the writer thread. NULL without error when capture is off (err empty); NULL
 * with err set when it is configured but cannot start. Before the workers are launched. */
struct mr_capture *mr_capture_create(struct mr_appliance *a, char *err, size_t errlen);
/* After the workers stopped: every capture is stopped (files closed), the thread joined,
 * ring and pool freed. NULL is a no-op. */
void mr_capture_free(struct mr_capture *c);
/* Control loop: captures past their duration, whose endpoint went away or that the writer
 * ended (packet count, write error) are taken off their endpoints. */
void mr_capture_tick(struct mr_capture *c);
/* Prometheus series (mrelay_capture_*), appended to f. */
void mr_capture_metrics(struct mr_capture *c, FILE *f);

#endif
