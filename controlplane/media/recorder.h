/* SPDX-License-Identifier: BSD-3-Clause
 * Recording (docs/API.md "Recording", docs/ARCHITECTURE.md "Recording"): the recordings of
 * rooms' audio streams and of sessions' legs, written without transcoding into Ogg/Opus
 * files (oggopus.h) under recording.directory by a writer thread of its own. The workers
 * copy the packets of recorded streams onto a bounded ring (dataplane/include/rec.h); the
 * control thread starts and stops recordings (REST, below) and reads their counters; the
 * writer thread alone touches the files of active recordings.
 *
 * REST (routes registered in recorder.c):
 *   POST   /v1/recordings             {"room": "3"} | {"session": "<id>", "leg": "a"|"b"}
 *   GET    /v1/recordings             GET/DELETE /v1/recordings/{id} (DELETE stops it)
 *   GET    /v1/recording-files        GET (download, audio/ogg) / DELETE
 *                                     /v1/recording-files/{name}
 */
#ifndef MR_RECORDER_H
#define MR_RECORDER_H

#include <stdint.h>
#include <stdio.h>

struct mr_appliance;
struct mr_recorder;

/* With recording.directory set: the directory (created if missing), the capture ring and
 * pool in dp (rec.h), the writer thread. NULL without error when recording is off (err
 * empty); NULL with err set when it is configured but cannot start. Before the workers are
 * launched. */
struct mr_recorder *mr_recorder_create(struct mr_appliance *a, char *err, size_t errlen);
/* After the workers stopped: every recording is stopped (files closed), the thread joined,
 * ring and pool freed. NULL is a no-op. */
void mr_recorder_free(struct mr_recorder *r);
/* Control loop: recordings the writer stopped on an error are taken off their streams
 * (logged, an event to a room's participants), sessions that ended stop theirs. */
void mr_recorder_tick(struct mr_recorder *r);
/* A participant records a voice message (WebSocket record_message, docs/API.md "Recording a
 * voice message"): start records its audio streams (201, the recording's id in *id), stop
 * ends that recording (200; the message is stored once the writer closed the file, and the
 * participant gets message_recorded). Other statuses with the reason in err: 409 (already
 * recording, the room is recorded, nothing to stop), 503 (recording or messages off). */
int mr_recorder_part_message(struct mr_recorder *r, uint32_t room, uint32_t part, int start,
			     uint16_t *id, char *err, size_t errlen);
/* Record both legs of session (ng "start recording", "record-call"), or stop what records
 * it: 201 started, 200 already so (or stopped, or nothing to stop), else the status with the
 * reason in err (404 no such active session, 409 a leg is recorded by a recording of one
 * leg, 503 recording off or the writer's ring full). */
int mr_recorder_session(struct mr_recorder *r, const char *session, int start, char *err,
			size_t errlen);
/* Prometheus series (mrelay_recording_*), appended to f. */
void mr_recorder_metrics(struct mr_recorder *r, FILE *f);

#endif
