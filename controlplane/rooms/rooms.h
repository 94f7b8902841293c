/* SPDX-License-Identifier: BSD-3-Clause
 * Rooms: the control plane of the SFU (DESIGN.md §1 "Rooms", docs/API.md "Rooms").
 *
 * A room has participants; a participant has one local relay endpoint (RTP and RTCP muxed,
 * RFC 5761), a random token for the WebSocket join and the streams it publishes; each stream
 * is forwarded by the room's owner worker to its subscribers. This module owns the model and
 * is the only writer of what the dataplane reads (dataplane/include/room_dp.h): it builds each
 * participant and stream completely, publishes participants through the owner's flow table,
 * and replaces the immutable SSRC map and subscriber lists with one release store. Memory the
 * dataplane may still hold is freed only after the owner acknowledged the retirement (command
 * ring) and an RCU grace period passed, from mr_rooms_tick(): no function here ever blocks.
 *
 * Everything runs on the control thread; nothing here is thread-safe. The module's files
 * (controlplane/rooms/) and what each holds: rooms_priv.h.
 *
 * Signaling (the WebSocket layer) uses the functions of the "signaling API" section: each
 * does what the REST API does for the same request (REST is a thin layer over them too) and
 * answers the same way: an HTTP-like status (200, 201, 204 success; 400, 404, 409, 503
 * failure) and, in *out, a new JSON reference: the result, or {"error": "field: reason"}
 * (NULL for 204). Participants are named by (room id, participant id), streams by their id,
 * unique in their room. Ids are never reused while the process runs.
 */
#ifndef MR_ROOMS_H
#define MR_ROOMS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "json_req.h"

#include "room_dp.h"

struct mr_appliance;
struct mr_rooms;

#define MR_ROOM_NAME_LEN 64		/* room and participant names, with the NUL */
#define MR_CODEC_LEN 32			/* codec names ("opus", "VP8"), with the NUL */
#define MR_TOKEN_LEN 33			/* 128 random bits in hex, with the NUL */
#define MR_ROOM_IFNAME_LEN 32
/* Retransmission cache slots (docs/API.md "Rooms"): a video packet is at most an MTU's RTP
 * payload (1200 bytes is what WebRTC senders aim for, plus headers and extensions); audio
 * packets (Opus, 20 ms) are far smaller. Larger packets are not cached. */
#define MR_RTX_SLOT_VIDEO 1280
#define MR_RTX_SLOT_AUDIO 512
/* Active speaker (RFC 6464 levels are -dBov: 0 loudest, 127 silence; *256 in level_q8). */
#define MR_SPK_LOOK_MS 100		/* levels are looked at this often */
#define MR_SPK_EMIT_MS 300		/* active_speaker events at most this often */
#define MR_SPK_SILENCE_Q8 (60 * 256)	/* quieter than -60 dBov is not speech */
#define MR_SPK_MARGIN_Q8 (3 * 256)	/* a challenger must be 3 dB louder ... */
#define MR_SPK_LOOKS 2			/* ... at this many consecutive looks */
/* /metrics: per-room and per-stream series for at most this many rooms / streams (the
 * lowest ids); the totals cover all of them. Keeps a scrape bounded whatever the load. */
#define MR_ROOMS_METRICS_ROOMS 64
#define MR_ROOMS_METRICS_STREAMS 256

/* Why a participant left (participant_left "reason"). */
enum mr_leave_reason {
	MR_LEAVE_LEFT = 0,		/* the participant said so (signaling "leave") */
	MR_LEAVE_KICKED,		/* DELETE .../participants/{p} */
	MR_LEAVE_TIMEOUT,		/* its signaling connection timed out */
	MR_LEAVE_ROOM_DELETED,		/* DELETE /v1/rooms/{room} */
	MR_LEAVE_NODE_LOST,		/* a cluster room's link to a node that stopped (span.c) */
};

/* ---- request bodies (pure: validated here, no EAL needed) ---- */

/* POST /v1/rooms */
struct mr_room_req {
	char name[MR_ROOM_NAME_LEN];	/* "" if absent */
	unsigned int max_participants;	/* 0 = rooms.max_participants */
	int auto_subscribe;		/* default 1 */
	int auto_publish;		/* default 0 */
	uint8_t auto_publish_kind;	/* enum mr_media_kind for dynamic PTs, default video
					 * (audio in mixing rooms) */
	uint8_t mix;			/* "mode": "mix" (1) or "forward" (0, default) */
	uint8_t mix_pt;			/* "mix_payload_type", 0 = 111 */
	int mix_max_speakers;		/* "mix_max_speakers" 0..64, -1 if absent (then
					 * rooms.mix_max_speakers) */
	int cluster;			/* "cluster": the room spans the appliances of the
					 * state store (docs/API.md "Rooms across appliances") */
};

#define MR_ROOM_MIX_MAX_SPEAKERS 64	/* mix_max_speakers at most (media mix.h) */

/* POST /v1/rooms/{room}/participants */
struct mr_part_req {
	char name[MR_ROOM_NAME_LEN];
	uint8_t level_ext_id;		/* RFC 8285 one-byte id 1..14 of RFC 6464, 0 = none */
	char interface[MR_ROOM_IFNAME_LEN];	/* "" = first with the family */
	uint8_t family;			/* MR_AF4/MR_AF6, 0 = IPv4 if any port has it */
	struct mr_srtp_req srtp;	/* "srtp": the participant speaks SRTP (docs/API.md) */
	int webrtc;			/* "webrtc": ICE-lite + DTLS-SRTP (docs/API.md "WebRTC") */
};

/* POST /v1/rooms/{room}/participants/{p}/streams (and signaling "publish") */
struct mr_stream_req {
	uint32_t ssrc;
	uint8_t kind;			/* enum mr_media_kind */
	uint8_t pt;			/* 0..127, not 64..95 (RFC 5761 §4) */
	uint32_t clock_rate;		/* Hz; 0 in the body = guessed (mr_rooms_guess_clock) */
	char codec[MR_CODEC_LEN];
	/* A cluster room's link (span.c): the participant on the other appliance whose stream
	 * this is; 0 for everyone else's streams. */
	uint32_t origin_part;
	char origin_name[MR_ROOM_NAME_LEN];
};

/* A stream announced without its SSRC (a WebRTC offer's m-section without a=ssrc): published
 * when the first packets tell it (their mid, RFC 8843 §9.2; else their payload type). */
#define MR_LEARN_MAX 4
struct mr_learn_req {
	char mid[16];
	struct mr_stream_req req;	/* ssrc: filled in when learned */
};

/* PATCH /v1/rooms/{room}/participants/{p} */
struct mr_part_patch {
	int has_mute[2];		/* by enum mr_media_kind */
	int mute[2];
	int has_subs;
	uint32_t n_subs;
	uint32_t *subs;			/* stream ids, sorted, unique; free with
					 * mr_part_patch_clear() */
	int has_srtp;			/* "srtp": re-key, turn SRTP on, or null: off */
	struct mr_srtp_req srtp;
	int has_gain;			/* "gain": mixing rooms, 0..4 */
	uint32_t gain_q8;		/* in Q8: 256 = 1.0 */
};

/* Each parser: 0, or -EINVAL with one line in err naming the field ("ssrc: must be an
 * integer between 0 and 4294967295"). Unknown fields and duplicate keys are refused.
 * The _json variants take an object already parsed (signaling messages), with extra
 * (NULL-terminated, may be NULL) naming keys to ignore, such as "type". */
int mr_parse_room_req(const char *body, size_t len, unsigned int max_participants,
		      struct mr_room_req *r, char *err, size_t errlen);
int mr_parse_part_req(const char *body, size_t len, struct mr_part_req *r, char *err,
		      size_t errlen);
int mr_parse_stream_req(const char *body, size_t len, struct mr_stream_req *r, char *err,
			size_t errlen);
int mr_parse_stream_json(json_t *o, const char *const *extra, struct mr_stream_req *r,
			 char *err, size_t errlen);
int mr_parse_part_patch(const char *body, size_t len, struct mr_part_patch *p, char *err,
			size_t errlen);
void mr_part_patch_clear(struct mr_part_patch *p);
/* PATCH .../streams/{s}: {"muted": bool}. */
int mr_parse_stream_patch(const char *body, size_t len, int *muted, char *err, size_t errlen);
/* A decimal id as it appears in paths and bodies: 1..4294967295, digits only, no leading
 * zero. 0 or -EINVAL. */
int mr_rooms_id_parse(const char *s, size_t len, uint32_t *id);

/* ---- pure helpers of the model (tested in tests/unit/test_rooms.c) ---- */

/* Clock rate when a publisher does not say: the RFC 3551 §6 rate of a static payload type,
 * else 48000 for audio (Opus, RFC 7587 §4.1) and 90000 for video (RFC 3551 §5). */
uint32_t mr_rooms_guess_clock(uint8_t kind, uint8_t pt);
/* Kind of an auto-published SSRC: RFC 3551 §6 static types say (0..23 audio, 24..34
 * video); dynamic and unassigned types get the room's default kind. */
uint8_t mr_rooms_guess_kind(uint8_t pt, uint8_t room_default);
/* Bytes for a map of n entries; fill it from e[0..n) (any order): sorted by SSRC for the
 * dataplane's binary search. 0, or -EEXIST when two entries have the same SSRC (nothing
 * that clashes is ever published). */
size_t mr_ssrc_map_size(uint32_t n);
int mr_ssrc_map_fill(struct mr_dp_ssrc_map *m, const struct mr_dp_ssrc_ent *e, uint32_t n);
/* Binary search, as the dataplane does it: the stream or NULL. */
struct mr_dp_stream *mr_ssrc_map_find(const struct mr_dp_ssrc_map *m, uint32_t ssrc);
/* Bytes for a subscriber list of n entries; fill it with parts[i] for which want[i] is set,
 * in order, never pub. Returns the count. */
size_t mr_sublist_size(uint32_t n);
uint32_t mr_sublist_fill(struct mr_dp_sublist *l, struct mr_dp_part *const *parts,
			 const uint8_t *want, uint32_t n, const struct mr_dp_part *pub);
/* 1 when lists a and b hold the same subscribers in the same order. */
int mr_sublist_same(const struct mr_dp_sublist *a, const struct mr_dp_sublist *b);

/* Active speaker with hysteresis, one look every MR_SPK_LOOK_MS. */
struct mr_speaker_in {
	uint32_t part;			/* participant id */
	uint32_t stream;		/* stream id */
	uint32_t level_q8;		/* -dBov * 256, lower is louder */
	int active;			/* level-carrying packets arrived since the last look */
};

struct mr_speaker {
	uint32_t part;			/* dominant speaker, 0 = none yet */
	uint32_t stream;
	uint32_t level_q8;
	uint32_t challenger;		/* participant louder than part at the last looks */
	unsigned int wins;		/* consecutive looks it was */
	uint32_t emitted;		/* last participant announced, 0 = none */
	uint8_t announced;		/* an event was sent at emit_ms */
	uint64_t emit_ms;		/* when */
};

void mr_speaker_init(struct mr_speaker *s);
/* One look at the audio streams of a room. The loudest active stream louder than
 * MR_SPK_SILENCE_Q8 takes over at once when there is no speaker, else only after being
 * louder than the speaker by MR_SPK_MARGIN_Q8 at MR_SPK_LOOKS consecutive looks (a silent
 * or gone speaker counts as silence). A speaker who falls silent stays the speaker until
 * someone else speaks. Returns 1 when the speaker changed. */
int mr_speaker_look(struct mr_speaker *s, const struct mr_speaker_in *in, unsigned int n);
/* 1 when an active_speaker event is due at now_ms: the speaker differs from the last one
 * announced and the last event is MR_SPK_EMIT_MS old; then marks it announced. */
int mr_speaker_emit_due(struct mr_speaker *s, uint64_t now_ms);
/* Forget participant part (it left). */
void mr_speaker_forget(struct mr_speaker *s, uint32_t part);

/* Quality of a stream as its subscribers get it: the publisher→relay loss combined with the
 * loss subscribers report (independent losses: 1 - (1-a)(1-b)), the larger jitter, the
 * reported round trip, through mr_mos_estimate() (controlplane/core/quality.h). */
double mr_rooms_mos(double loss_up, double loss_down, double jitter_up_ms,
		    double jitter_down_ms, double rtt_ms, const char *codec);

/* ---- the module ---- */

struct mr_rooms_counts {
	uint64_t active;		/* rooms */
	uint64_t created;
	uint64_t deleted;
	uint64_t rejected;		/* requests refused for capacity (503) */
	uint64_t participants;		/* now, all rooms */
	uint64_t participants_created;
	uint64_t streams;		/* published now */
	uint64_t ssrc_clashes;		/* publications refused: SSRC taken in the room */
	uint64_t retiring;		/* objects waiting for the owner's ack / a grace period */
	uint64_t autopublished;		/* streams published from the dataplane's reports */
	uint64_t learned;		/* WebRTC streams published when their SSRC was learned */
	uint64_t learn_unmatched;	/* unknown SSRCs of such a participant that matched no
					 * announced stream (neither mid nor payload type) */
	/* Rooms across appliances (span.c) */
	uint64_t cluster_rooms;		/* rooms with "cluster" now */
	uint64_t links;			/* link participants now */
	uint64_t span_reads;		/* readings of a room's entries applied */
	uint64_t span_clashes;		/* remote streams not published: SSRC taken here */
	uint64_t span_refused;		/* links or their streams this node could not create
					 * (room full, ports, memory), and entries not understood */
	uint64_t span_srtp_mismatch;	/* links not latched: SRTP on one side only */
	uint64_t ids_unreserved;	/* room ids handed out beyond the reserved blocks */
};

/* After the endpoints (a->flows). NULL with rte_errno set on error. */
struct mr_rooms *mr_rooms_create(struct mr_appliance *a);
/* Everything, at once: the workers must be stopped and the deferral queue drained. Before
 * mr_flows_free(). NULL is a no-op. No events are sent. */
void mr_rooms_free(struct mr_rooms *rs);
/* Lists that lag the model, auto-publish, receiver reports (every second per stream),
 * active speaker (every 100 ms). Call at least every 100 ms. (Deferred frees are the
 * deferral queue's, polled by the control loop.) */
void mr_rooms_tick(struct mr_rooms *rs, uint64_t now_tsc);
/* Every turn of the control loop: the packets of voice message playbacks that are due go to
 * their rooms' owners (controlplane/rooms/play.c). Nothing to do costs one test. */
void mr_rooms_play_tick(struct mr_rooms *rs, uint64_t now_tsc);
void mr_rooms_counts(const struct mr_rooms *rs, struct mr_rooms_counts *c);
/* Participants whose room worker w owns. */
unsigned int mr_rooms_owned(const struct mr_rooms *rs, unsigned int w);
/* The rooms' Prometheus series (bounded, see MR_ROOMS_METRICS_*), appended to f. */
void mr_rooms_metrics(struct mr_rooms *rs, FILE *f);

/* Rooms across appliances (span.c): Redis answered the reading of cluster room name's
 * entries, {node: entry} (NULL: no answer); room is the local room it was asked for. */
void mr_rooms_span_input(struct mr_rooms *rs, uint32_t room, const char *name, json_t *all);
/* A message on cluster room name's channel (Redis pub/sub): {"node", ["event"]}. */
void mr_rooms_span_message(struct mr_rooms *rs, const char *name, json_t *msg);

/* Everything under /v1/rooms (registered as a route by rest.c; signaling.c uses it too).
 * method is "GET", "POST", "PATCH" or "DELETE"; path is the URL after "/v1/rooms" ("" or
 * "/{room}/..."); body/len the request body (NULL/0 when there is none). Returns the HTTP
 * status and sets *out (as the signaling functions below); 405 and 404 for unknown
 * sub-resources are answered here. */
int mr_http_rooms(struct mr_appliance *a, const char *method, const char *path,
		  const char *body, size_t len, json_t **out);

/* ---- recording (record.c; controlplane/media/recorder.c drives it) ---- */

/* Record room's audio streams, those published later included, under recording rec_id
 * (0: stop). 0, -ENOENT (no such room) or -EBUSY (recorded already under another id). */
int mr_rooms_set_rec(struct mr_rooms *rs, uint32_t room, uint16_t rec_id);
/* Record participant part's audio streams (those it publishes later included) under
 * rec_id, 0: stop (a voice message it records). 0, -ENOENT (no such room or participant) or
 * -EBUSY (the room is recorded, or the participant under another id). A room-wide recording
 * is refused (-EBUSY) while a participant's runs. */
int mr_rooms_set_part_rec(struct mr_rooms *rs, uint32_t room, uint32_t part, uint16_t rec_id);
/* The participant's streams to learn (at most MR_LEARN_MAX; n 0: none), mid_id the RFC 8285
 * id of its mid extension (0: none, the payload types tell). 0 or -ENOENT. */
int mr_rooms_learn(struct mr_rooms *rs, uint32_t room, uint32_t part,
		   const struct mr_learn_req *l, unsigned int n, uint8_t mid_id);
/* An event to one participant of room (its signaling connection, if any). */
void mr_rooms_part_event(struct mr_rooms *rs, uint32_t room, uint32_t part, json_t *ev);
/* A "recording" event to the room's participants: {"recording": id, "state": state,
 * "error": error or null}. */
void mr_rooms_rec_event(struct mr_rooms *rs, uint32_t room, uint16_t rec_id, const char *state,
			const char *error);

/* ---- the state store (persist.c; controlplane/state/ drives it) ---- */

/* The record of room id (docs/OPERATIONS.md "State in Redis"; it holds SRTP keys), a new
 * reference; NULL when there is no such room (it was deleted). Clears the room's queued
 * mark and remembers what the change scan compares with. */
json_t *mr_rooms_record(struct mr_rooms *rs, uint32_t id);
/* The first room id above id, 0 when there is none: the walk of a full rewrite. */
uint32_t mr_rooms_next(const struct mr_rooms *rs, uint32_t id);
/* The highest room id handed out: ids are never reused, across restarts either. */
uint32_t mr_rooms_last_id(const struct mr_rooms *rs);
/* Queue a write of every room whose participants' latched remotes or SRTP indexes changed
 * since its record was written. */
void mr_rooms_scan(struct mr_rooms *rs);
/* Re-create a room from its record on the same ids, endpoints, tokens, latched remotes,
 * keys and streams (before the API opens). Participants or streams that cannot be restored
 * are logged and left out. 0, or -1 with the reason in err (nothing restored). */
int mr_rooms_restore_json(struct mr_rooms *rs, json_t *rec, char *err, size_t errlen);
/* The restore is over: room ids up to last are never handed out again. */
void mr_rooms_restored(struct mr_rooms *rs, uint32_t last);
/* Room ids unique across the appliances sharing a Redis (the state store on; docs/
 * OPERATIONS.md "Cluster registry"): from now on ids come from blocks the state store
 * reserves in Redis and hands over with mr_rooms_ids_block(); an id handed out while no
 * block is left (Redis away) follows the last one and is counted in ids_unreserved. */
void mr_rooms_ids_cluster(struct mr_rooms *rs);
/* A block of ids [first, last] reserved for this appliance, kept as the spare one; what of
 * it is not above the last id handed out is left unused. */
void mr_rooms_ids_block(struct mr_rooms *rs, uint32_t first, uint32_t last);
/* 1 when the state store should reserve another block (cluster ids, no spare block). */
int mr_rooms_ids_wanted(const struct mr_rooms *rs);
/* The next room id (the block in use, else the spare one). */
uint32_t mr_rooms_new_id(struct mr_rooms *rs);

/* ---- signaling API ---- */

/* Event hook: cb(arg, room, only_part, except_part, event) for every room event, with
 * only_part 0 (every participant of the room) or the one participant it is for, and
 * except_part 0 or a participant that must not get it (the one that caused it). event is
 * an object with "type" and "room", borrowed for the call (json_incref to keep it):
 *   participant_joined   {"participant": {participant summary}}
 *   participant_left     {"participant": "3", "reason": "left"|"kicked"|"timeout"|
 *                         "room_deleted"}   (to everyone, the leaver included so that its
 *                         connection can be closed, except for "left": not to the leaver)
 *   stream_published     {"participant": "3", "stream": {stream summary}}
 *   stream_unpublished   {"participant": "3", "stream": "7"}
 *   muted / unmuted      {"participant": "3", "stream": "7", "kind": "audio"}
 *   active_speaker       {"participant": "3" or null, "stream": "7", "level_dbov": -23.5}
 * cb may be NULL (no events). It must not call back into this module. */
void mr_rooms_set_event_cb(struct mr_rooms *rs,
			   void (*cb)(void *arg, uint32_t room_id, uint32_t only_part,
				      uint32_t except_part, json_t *event),
			   void *arg);

/* The participant holding token (32 hex digits). 0 and the ids, or -ENOENT. */
int mr_rooms_find_token(struct mr_rooms *rs, const char *token, uint32_t *room,
			uint32_t *part);
/* The participant's signaling connection is up: marks it connected and emits
 * participant_joined to the others. *out: {"room": {room as GET}, "participant": {...}}
 * (the welcome message: who is there and what they publish). A second join (a reconnect)
 * tells the owner to forget the latched media address (MR_CMD_PART_RESET), so media may
 * come from the new place at once. 200. */
int mr_rooms_join(struct mr_rooms *rs, uint32_t room, uint32_t part, json_t **out);
/* The dataplane struct of a participant (its local endpoint, ICE state), or NULL. */
struct mr_dp_part *mr_rooms_part_dp(struct mr_rooms *rs, uint32_t room, uint32_t part);
/* The payload type the participant takes for kind (its SDP's), pt < 0: as published. The
 * dataplane writes it into every copy of that kind sent to the participant (room_dp.h
 * rx_pt). 0 or -ENOENT. */
int mr_rooms_set_rx_pt(struct mr_rooms *rs, uint32_t room, uint32_t part, uint8_t kind,
		       int pt);
/* The participant's header extension numbering (room_dp.h ext_out, mr_sdp_ext_map), set with
 * rx_pt: copies from publishers numbered otherwise are renumbered to it. 0 or -ENOENT. */
int mr_rooms_set_ext(struct mr_rooms *rs, uint32_t room, uint32_t part, uint32_t map);
/* 1 when the room exists. */
int mr_rooms_exists(const struct mr_rooms *rs, uint32_t room);
/* The connection went away without a leave: connected = false, nothing else. 204. */
int mr_rooms_disconnect(struct mr_rooms *rs, uint32_t room, uint32_t part);
/* Remove the participant (its streams too), with the reason of participant_left. 204. */
int mr_rooms_leave(struct mr_rooms *rs, uint32_t room, uint32_t part,
		   enum mr_leave_reason why);
/* Publish a stream (req from mr_parse_stream_json()). 201 {stream}; 409 when the SSRC is
 * taken in the room or the participant publishes rooms.max_streams; 503 for memory. Emits
 * stream_published to the others. */
int mr_rooms_publish(struct mr_rooms *rs, uint32_t room, uint32_t part,
		     const struct mr_stream_req *req, json_t **out);
/* Unpublish one of the participant's streams. 204; emits stream_unpublished. */
int mr_rooms_unpublish(struct mr_rooms *rs, uint32_t room, uint32_t part, uint32_t stream,
		       json_t **out);
/* Mute (muted 1) or unmute one stream of the participant (stream != 0) or all its streams
 * of a kind (stream 0; later streams of that kind start muted). 200 {participant}; emits
 * muted/unmuted for each stream that changed. */
int mr_rooms_mute(struct mr_rooms *rs, uint32_t room, uint32_t part, uint32_t stream,
		  uint8_t kind, int muted, json_t **out);
/* Subscribe (on 1) or unsubscribe the participant to a stream of another participant.
 * Only in rooms without auto_subscribe (409 otherwise). 200 {"subscriptions": [...]}. */
int mr_rooms_subscribe(struct mr_rooms *rs, uint32_t room, uint32_t part, uint32_t stream,
		       int on, json_t **out);
/* The participant as GET .../participants/{p} shows it (streams and counters). 200. */
int mr_rooms_part_stats(struct mr_rooms *rs, uint32_t room, uint32_t part, json_t **out);

#endif
