/* SPDX-License-Identifier: BSD-3-Clause
 * Session manager. Allocates relay endpoints on the least loaded worker, fills a struct
 * mr_dp_session and publishes its flows (controlplane/core/flows.h); on the end deletes them
 * and frees the session through the deferral queue (controlplane/core/defer.h): after its
 * owner applied every command sent for it and an RCU grace period.
 */
#ifndef MR_SESSIONS_H
#define MR_SESSIONS_H

#include <stdint.h>

#include <jansson.h>

#include "json_req.h"
#include "srtp.h"
#include "srtp_cp.h"

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
/* Frees everything: the workers must be stopped and the deferral queue drained. */
void mr_sessions_free(struct mr_sessions *ss);
/* Idle timeouts; call a few times per second at least. */
void mr_sessions_tick(struct mr_sessions *ss, uint64_t now_tsc);
/* The live dataplane session of an active session id (16 hex digits), NULL when there is
 * none (unknown, ending or ended): valid until the control loop ends a session. */
struct mr_dp_session *mr_sessions_live(struct mr_sessions *ss, const char *id);
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
/* Voice message playbacks into session legs (play.c): send what is due (every turn of the
 * control loop), and free them all at shutdown. */
void mr_sessions_play_tick(struct mr_appliance *a, uint64_t now_tsc);
/* How a playback plays (mr_sessions_play). */
struct mr_session_play {
	uint8_t codec, pt;		/* enum mr_play_codec (player.h), the payload type */
	uint32_t ssrc;			/* 0: at random */
	uint32_t loops;			/* times to play; 0: until min_ms has passed */
	uint64_t min_ms;		/* no new play begins after this (0: no limit) */
	uint32_t start_pkt;		/* the first play begins at this packet */
};
struct mr_msg_audio;
/* Play au (taken on success) into leg of session sid, as POST .../playbacks does (file: the
 * name it came from, for GET; NULL for a stored message): 201 with *duration_ms (one play),
 * or 404 (no such active session), 409 (a playback already plays into the leg), 500, 503
 * with the reason in err. */
int mr_sessions_play(struct mr_appliance *a, const char *sid, unsigned int leg,
		     struct mr_msg_audio *au, const struct mr_session_play *o, const char *file,
		     uint64_t *duration_ms, char *err, size_t errlen);
/* Stop what plays into leg of session sid: 0 with *last_pkt the next packet it would have
 * sent, or -ENOENT (nothing plays there). */
int mr_sessions_play_stop(struct mr_appliance *a, const char *sid, unsigned int leg,
			  uint32_t *last_pkt);
void mr_sessions_play_free(void);
/* Hold back (on 1) or let through again (on 0) the RTP relayed towards leg of session id
 * (MR_LEG_MUTE_BLOCK: ng "block media", PATCH legs[n].muted). 0, or -ENOENT when the session
 * is not active. */
int mr_session_block(struct mr_appliance *a, const char *id, unsigned int leg, int on);
/* Silence (on 1) or let through again (on 0) the RTP relayed towards leg of session id
 * (MR_LEG_MUTE_SILENCE: ng "silence media"): G.711 with a silent payload, other RTP held
 * back. 0, or -ENOENT when the session is not active. */
int mr_session_silence(struct mr_appliance *a, const char *id, unsigned int leg, int on);
/* Hold back (on 1) the RTP of payload type pt (RFC 4733 telephone-event) relayed towards leg
 * of session id, the rest going on (MR_LEG_MUTE_DTMF: ng "block DTMF"), or not (on 0). 0, or
 * -ENOENT when the session is not active. */
int mr_session_block_dtmf(struct mr_appliance *a, const char *id, unsigned int leg, int on,
			  uint8_t pt);
/* 1 when session id exists and is active (for the ng call model: controlplane/ng/). */
int mr_session_active(struct mr_appliance *a, const char *id);
/* POST /v1/sessions/batch: {"sessions": [ <POST /v1/sessions body>, ... ]}, all or none. */
int mr_http_session_batch(struct mr_appliance *a, const char *body, size_t len, json_t **out);

/* ---- The state store (controlplane/state/, docs/OPERATIONS.md "State in Redis") ---- */

/* What a restore gives a session besides its creation request: its id, owner, local
 * endpoints and the per-SSRC state of its SRTP contexts ([leg][0: rx, 1: tx]). */
struct mr_session_restore {
	uint64_t id;
	unsigned int owner;
	time_t created;
	struct mr_ep local[2];
	struct mr_cp_srtp_seeds seed[2];	/* per leg */
};

/* Re-create a session from its stored record (the JSON of mr_session_record()) on the
 * same id, local endpoints, remotes and keys, before the API opens. 0, or -1 with a reason in
 * err (the record is skipped). */
int mr_session_restore_json(struct mr_appliance *a, json_t *rec, char *err, size_t errlen);
/* The same from the record's text, read straight into the request when it is a plain one
 * exactly as mr_session_record() writes it (the common case; no JSON tree, no allocation):
 * 1 restored, -1 refused (err set), 0 not such a record: read it with jansson
 * (mr_session_restore_json). docs/PERFORMANCE.md "A million sessions restored". */
int mr_session_restore_text(struct mr_appliance *a, const char *text, size_t len, char *err,
			    size_t errlen);
/* The two readers of a record, without restoring (tests/dp/test_dp.c holds them to the same
 * result): the text one returns 1 when it read the record, 0 when it is not such a record;
 * the jansson one 0, or -1 with err set. muted[leg]: bit 0 blocked, bit 1 silenced, bit 2
 * DTMF blocked with its payload type in bits 8-14 (MR_REC_MUTE_*). */
#define MR_REC_MUTE_BLOCK 1
#define MR_REC_MUTE_SILENCE 2
#define MR_REC_MUTE_DTMF 4
int mr_session_record_read_text(const char *text, size_t len, struct mr_session_req *req,
				struct mr_session_restore *rst, uint16_t muted[2]);
int mr_session_record_read_json(json_t *rec, struct mr_session_req *req,
				struct mr_session_restore *rst, uint16_t muted[2], char *err,
				size_t errlen);
/* After the last restore: the free slots and relay ports are rebuilt without the taken ones. */
void mr_sessions_restored(struct mr_sessions *ss);
/* The record of the active session id, compact JSON written into buf (it holds SRTP keys:
 * wipe it after use). Its length; 0 when the session is no longer active, -1 when it does not
 * fit in len bytes (MR_SESSION_RECORD_MAX always does). */
#define MR_SESSION_RECORD_MAX 4096
int mr_session_record(struct mr_sessions *ss, uint64_t id, char *buf, size_t len);
/* A digest of what changes without the API: the latched remotes and the SRTP indexes (coarse:
 * a new value every 4096 packets) of the session in slot i; 0 when the slot is empty. Sets
 * *id. Cheap enough to run over every session each second. */
uint64_t mr_session_digest(struct mr_sessions *ss, uint32_t i, uint64_t *id);
uint32_t mr_sessions_max(const struct mr_sessions *ss);

#endif
