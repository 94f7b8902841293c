/* SPDX-License-Identifier: BSD-3-Clause
 * WebSocket signaling for rooms at /v1/ws (docs/API.md "WebSocket signaling").
 *
 * The transport (RFC 6455) is controlplane/api/ws.c, created and polled by controlplane/api/api.c;
 * this module is the protocol on top of it: JSON text messages, one participant per
 * connection, and the room events of controlplane/rooms/ pushed to the connections of the
 * room. Everything runs on the control thread; nothing here is thread-safe.
 *
 * Authentication. The upgrade request of /v1/ws needs no API bearer token: browsers cannot
 * set headers on a WebSocket. The credential is the participant's token in "join", which
 * only a holder of the API token got (POST /v1/rooms/{room}/participants). A connection
 * that has not joined can do nothing but join, ping and leave. Joining by room and name
 * (which creates the participant) is allowed only when the API has no token (api.token ""),
 * where anyone reaching the API could create the participant over REST anyway.
 *
 * Messages, client to server. Every request is an object with "type" and an optional
 * "request_id" (a string of at most 64 bytes or an integer) echoed in the answer; unknown
 * fields and duplicate keys are refused. Ids (rooms, participants, streams) are strings of
 * decimal digits, as in the REST API.
 *   join        {"token"} or {"room", "name"[, "audio_level_ext_id", "interface", "family"]}
 *               -> {"type":"joined", "room": {room as GET /v1/rooms/{room}: participants,
 *                   their streams, active_speaker}, "participant": {own participant as GET
 *                   .../participants/{p}: "id", "local" (the endpoint to send media to),
 *                   "token", ...}}
 *   publish     {"ssrc", "kind", "pt"[, "clock_rate", "codec"]} -> {"type":"published",
 *                   "stream": {stream}}
 *   unpublish   {"stream"} -> {"type":"unpublished", "stream"}
 *   mute        {"stream"} or {"kind"} -> {"type":"mute_done", "participant": {...}}
 *   unmute      {"stream"} or {"kind"} -> {"type":"unmute_done", "participant": {...}}
 *   subscribe   {"stream"} -> {"type":"subscribed", "subscriptions": [...]}
 *   unsubscribe {"stream"} -> {"type":"unsubscribed", "subscriptions": [...]}
 *   stats       {} -> {"type":"stats", "participant": {participant with counters}}
 *   ping        {} -> {"type":"pong"}   (application level; WebSocket pings are ws.c's)
 *   leave       {} -> {"type":"left"}, then the server closes the connection (1000 "left")
 *   answer      {"sdp"} -> {"type":"answered"}: a WebRTC participant's answer to mrelay's
 *                   last {"type":"offer", "sdp"} (renegotiation, docs/API.md "WebRTC")
 * A failed request is answered {"type":"error", "request_id", "error": "field: reason"}.
 * Errors that are the client's fault (not JSON, unknown type or field, bad value, unknown
 * id, not joined) count against the connection (mr_ws_error_count): the sixth closes it
 * (1008, api.c's limit) and removes its participant. Conflicts (SSRC taken, 409) and
 * capacity (503) do not count.
 *
 * Messages, server to client (events, without request_id): participant_joined,
 * participant_left, stream_published, stream_unpublished, muted, unmuted, active_speaker,
 * as rooms.h describes them, to the connected participants of the room; and to a WebRTC
 * participant, {"type":"offer", "sdp"} when the streams it receives change (renegotiation:
 * the events mark its connection, mr_signal_tick makes the offer; one at a time).
 *
 * Lifetime. One connection per participant: a second join for a participant that has a
 * connection takes over (a browser that reconnects after a network change must not wait for
 * the old connection's timeout); the old connection is closed with code 4001 "replaced"
 * without removing the participant. When a connection ends without "leave", its participant
 * is removed and the others get participant_left with the reason:
 *   "timeout"  no frame within rooms.ws_timeout (the heartbeat lapsed), a socket error, or a
 *              client too slow to read its messages
 *   "left"     the client closed the connection (close handshake or end of stream)
 *   "kicked"   the client broke RFC 6455 or sent too many bad requests
 * A participant removed by the server (DELETE over REST: "kicked"; its room deleted:
 * "room_deleted") gets participant_left itself and its connection is closed (1000, with the
 * reason). When the daemon stops, participants are only marked disconnected.
 */
#ifndef MR_SIGNALING_H
#define MR_SIGNALING_H

struct mr_appliance;
struct mr_signal;
struct mr_ws_handler;
struct json_t;

/* Close code for a connection replaced by a newer one of the same participant (RFC 6455
 * §7.4.2: 4000-4999 are for applications). */
#define MR_SIGNAL_CLOSE_REPLACED 4001

/* Bind to the appliance's rooms (a->rooms) and take their event hook. open_join: joining by
 * room and name is allowed (the API has no token). NULL with errno set on error. */
struct mr_signal *mr_signal_create(struct mr_appliance *a, int open_join);
/* Give the event hook back. Free the WebSocket server first (its on_close calls come here).
 * NULL is a no-op. */
void mr_signal_free(struct mr_signal *sg);
/* Renegotiate the WebRTC participants whose room's streams changed (an offer each, one at a
 * time per participant: the next after its answer). Call from the control loop. */
void mr_signal_tick(struct mr_signal *sg);
/* The callbacks to create the WebSocket server with, arg = the mr_signal. */
const struct mr_ws_handler *mr_signal_handler(void);
/* Add the signaling counters to o: "joined" (connections with a participant now), "joins",
 * "joins_replaced", "requests", "errors", "events" (event messages queued), "removed"
 * (participants removed because their connection ended), "offers" (renegotiation offers
 * sent) and "answers" (answered). */
void mr_signal_stats(const struct mr_signal *sg, struct json_t *o);

#endif
