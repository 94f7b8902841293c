/* SPDX-License-Identifier: BSD-3-Clause
 * Rooms, private to controlplane/rooms/: the model and what the module's files share.
 * rooms.h is the public interface; nothing outside this folder includes this header.
 *
 * One job a file:
 *   rooms.c     the model: rooms and participants (create, find, remove), stream lookups,
 *               tokens, events, commands to the owner, the deferred release of what the
 *               dataplane reads, the module's create/free and counters
 *   publish.c   publication to the dataplane: mr_room_sync() (SSRC map, subscriber lists),
 *               publishing, unpublishing and muting a stream
 *   ops.c       the signaling API of rooms.h (join, leave, publish, ...); REST calls it too
 *   rest.c      everything under /v1/rooms, and its route
 *   views.c     JSON of rooms, participants and streams, stats reads, Prometheus series
 *   tick.c      lists that lag, auto-publish, active speaker, receiver reports
 *   parse.c     request bodies and ids (pure)
 *   lists.c     SSRC maps and subscriber lists: fill, compare, search (pure)
 *   speaker.c   active speaker with hysteresis (pure)
 *   media.c     clock rate and kind guesses, MOS (pure)
 *   persist.c   records of rooms for the state store (controlplane/state/) and their restore
 * The pure files need no EAL (cp_pure_lib in meson.build; tests/unit/test_rooms.c); of this
 * header they use MR_ECHO, MR_LEVEL_SILENCE_Q8 and mr_rooms_u32_cmp() only.
 */
#ifndef MR_ROOMS_PRIV_H
#define MR_ROOMS_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>
#include <jansson.h>

#include "defer.h"
#include "dp.h"
#include "json_req.h"
#include "player.h"
#include "rooms.h"
#include "srtp_cp.h"

struct rte_flow;

#define MR_ECHO 48
#define MR_LEVEL_SILENCE_Q8 (127 * 256)

#define mr_err mr_json_err

/* ------------------------------------------------------------------------------------------ */
/* The model */

struct mr_cp_room;
struct mr_cp_part;

struct mr_cp_stream {
	TAILQ_ENTRY(mr_cp_stream) link;	/* in its publisher's list */
	struct mr_defer defer;		/* unpublished: on the deferral queue */
	uint32_t id;
	struct mr_cp_part *pub;
	struct mr_cp_room *room;	/* for the deferral, which may outlast pub */
	struct mr_dp_stream *dp;
	char codec[MR_CODEC_LEN];
	uint8_t autopub;		/* published from the dataplane's report */
	uint8_t span_seen;		/* span.c: still in its node's entry */
	uint32_t origin_part;		/* a link's stream: its participant there (span.c) */
	char origin_name[MR_ROOM_NAME_LEN];
	time_t created;
	/* tick state */
	uint32_t spk_pkts;		/* level_pkts at the last speaker look */
	uint64_t q_expected, q_received;	/* RFC 3550 A.3 counts at the last second */
	double loss_up;			/* publisher → relay loss fraction, last second */
	double mos;			/* last estimate, < 0: none yet */
};

TAILQ_HEAD(mr_cp_stream_list, mr_cp_stream);

struct mr_cp_part {
	TAILQ_ENTRY(mr_cp_part) link;	/* in its room */
	struct mr_defer defer;
	uint32_t id;
	struct mr_cp_room *room;
	struct mr_dp_part *dp;
	unsigned int pidx;
	char name[MR_ROOM_NAME_LEN];
	char token[MR_TOKEN_LEN];
	uint8_t connected;
	uint8_t joined;			/* joined at least once (a second join resets media) */
	uint8_t kind_muted[2];
	struct mr_learn_req learn[MR_LEARN_MAX];	/* streams whose SSRC is to be learned */
	uint8_t n_learn;
	uint32_t gain_q8;		/* mixing rooms: what it says goes into the mix at this
					 * gain (Q8, 256 = 1.0; PATCH "gain") */
	uint16_t rec_id;		/* recording of this participant's audio streams (a voice
					 * message it records, record.c), 0 = none */
	uint32_t n_streams;
	struct mr_cp_stream_list streams;
	uint32_t n_subs;		/* explicit subscriptions: stream ids, sorted */
	uint32_t *subs;
	uint32_t autopub_seq;		/* last autopub_seq seen */
	time_t created;
	struct mr_cp_srtp srtp;		/* SRTP with this participant (srtp.dp NULL: plain) */
	struct mr_cp_srtp_new srtp_new;	/* its local key until the creation answer shows it */
	/* Mixing rooms (media_dp.h): its decoder, encoder and jitter buffer, handed to the
	 * room's media lcore; its slot (0 = none) and, once it left, where the media lcore's
	 * command count must get before it may be freed (0: MR_MEDIA_DEL_PART not sent). */
	struct mr_mix_part *mix;
	uint32_t mix_slot;
	uint64_t mix_del_seq;
	/* A cluster room's link to another appliance (span.c): it publishes the streams of
	 * that node's participants and receives this node's own participants' streams, from
	 * and to the node's link of the room (link_remote, latched by command, MAC from the
	 * neighbor slot link_nh, -1: none held). */
	uint8_t is_link;
	uint8_t link_seen;		/* in the last reading of the room's entries */
	int link_nh;
	struct mr_ep link_remote;
	uint64_t link_cmd_ms;		/* when MR_CMD_PART_LATCH was last sent, 0 never */
	char link_node[64];
	/* SRTP on the link (state.link_srtp): the key this node decrypts the other node's
	 * packets with (made at the link's creation, in this node's entry), and the key that
	 * node's entry gives for what this node sends it (its own decryption key; in use
	 * while srtp.dp is set). */
	uint8_t link_has_rx_key;
	uint8_t link_mismatch;		/* one side plain, the other SRTP: logged once */
	struct mr_srtp_key link_rx_key, link_tx_key;
};

TAILQ_HEAD(mr_cp_part_list, mr_cp_part);

struct mr_msg_audio;

/* A voice message played into a forwarding room (play.c): a stream without a publisher
 * whose packets the control thread hands to the owner (MR_CMD_PLAY_PKT) at the message's
 * own pace. */
struct mr_cp_play {
	TAILQ_ENTRY(mr_cp_play) link;	/* in its room, oldest first */
	TAILQ_ENTRY(mr_cp_play) alink;	/* playing: in the rooms' active list */
	uint32_t id;
	struct mr_cp_room *room;
	struct mr_cp_stream *st;	/* its stream while it plays; NULL after (deferred) */
	struct mr_player pr;		/* the packets (freed once ended) and their pacing */
	char msg[17];
	uint8_t state;			/* enum mr_play_state */
	uint64_t duration_ms;
	time_t started, ended;
	/* counters (the others are the player's) */
	uint64_t copies;		/* what its stream sent to subscribers, at the end */
};

TAILQ_HEAD(mr_cp_play_list, mr_cp_play);

struct mr_cp_room {
	struct mr_defer defer;
	uint32_t id;
	char name[MR_ROOM_NAME_LEN];
	unsigned int max_participants;
	uint8_t auto_subscribe;
	uint8_t auto_publish;
	uint8_t auto_publish_kind;
	uint8_t dirty;			/* the dataplane's lists lag the model (out of memory) */
	uint8_t deleted;
	uint32_t n_learning;		/* participants with streams to learn (tick.c) */
	unsigned int owner;
	struct mr_dp_room *dp;
	struct mr_cp_part_list parts;
	uint32_t n_parts;
	uint32_t n_streams;
	uint32_t n_dying;		/* removed participants and streams not freed yet */
	uint32_t next_part, next_stream;
	struct mr_speaker spk;
	time_t created;
	uint16_t rec_id;		/* recording of its audio streams, 0 = none (record.c) */
	/* The state store (persist.c): a write of its record is queued; the digest of what
	 * changes without the API, as last written. */
	uint8_t persist_queued;
	uint64_t persist_digest;
	struct mr_mix_room *mix;	/* "mode": "mix": its state on the media lcore */
	uint8_t mix_pt;			/* payload type of the mix */
	uint8_t mix_max_speakers;	/* only the loudest this many are mixed, 0 = everyone */
	uint64_t mix_del_seq;		/* deleted: MR_MEDIA_DEL_ROOM's count, 0 = not sent */
	struct mr_cp_play_list plays;	/* voice message playbacks (play.c) */
	uint32_t n_plays, next_play;
	/* "cluster": the room spans the appliances (span.c): its entry in Redis is written
	 * and every node's read at span_tsc (0: at the next tick), one reading in flight at
	 * most (span_sent_tsc). */
	uint8_t cluster;
	uint8_t span_inflight;
	uint8_t span_changed;		/* changed here: the other nodes are told to read */
	uint64_t span_tsc, span_sent_tsc;
};

struct mr_rooms {
	struct mr_appliance *a;
	const struct mr_rooms_conf *cfg;
	struct mr_cp_room **room;	/* live rooms sorted by id (ids only grow) */
	uint32_t n_rooms, cap_rooms;
	uint32_t next_room;		/* the last room id handed out */
	/* Ids unique across the appliances of a Redis (mr_rooms_ids_cluster): the block in
	 * use ends at last; a spare one [nfirst, nlast] (nlast 0: none). */
	struct {
		uint8_t on;
		uint32_t last, nfirst, nlast;
	} ids;
	json_t *tokens;			/* token → room id << 32 | participant id */
	unsigned int owned[MR_DP_MAX_WORKERS];
	void (*cb)(void *arg, uint32_t room_id, uint32_t only_part, uint32_t except_part,
		   json_t *event);
	void *cb_arg;
	uint64_t last_look, last_rr;
	struct mr_rooms_counts n;
	/* Mixing rooms: free slots of dp->mix_slot (a stack), the last generation given,
	 * rooms per media lcore */
	uint32_t *mix_free;
	uint32_t n_mix_free;
	uint32_t mix_gen;
	unsigned int media_rooms[MR_MEDIA_MAX];
	struct mr_cp_play_list plays_active;	/* playbacks playing, all rooms */
	uint32_t n_cluster;		/* rooms with "cluster" (span.c) */
};

/* What the tick and the views need of a stream's quality, read once. */
struct mr_stream_q {
	struct mr_stream_ctr c;
	struct mr_rtp_stats rtp;
	struct mr_stream_rx_report rx;
	uint32_t level_q8, level_pkts;
	double loss_pct;		/* publisher → relay, since publication */
	double jitter_ms;		/* publisher → relay (A.8), -1 unknown */
	double sub_loss;		/* what subscribers report (last report), fraction */
	double sub_jitter_ms;		/* -1 unknown */
	double rtt_ms;			/* -1 unknown */
};

/* ------------------------------------------------------------------------------------------ */
/* Shared between the files */

/* parse.c: qsort/bsearch order of stream ids. */
int mr_rooms_u32_cmp(const void *a, const void *b);

/* rooms.c: memory the dataplane reads, and its deferred release */
void *mr_room_dpmem_alloc(size_t size);
void mr_room_dpmem_free_now(void *p);
void mr_room_dpmem_defer(struct mr_rooms *rs, void *p);
int mr_room_cmd(struct mr_rooms *rs, unsigned int w, uint32_t type, void *obj, int wait);
struct mr_rtx_cache *mr_room_rtx_cache_alloc(uint32_t size, uint32_t slot_bytes);
void mr_room_rtx_cache_free(struct mr_rtx_cache *c);
void mr_room_stream_defer(struct mr_rooms *rs, struct mr_cp_room *r, struct mr_cp_stream *st);

/* rooms.c: events */
json_t *mr_room_idj(uint32_t id);
void mr_room_emit(struct mr_rooms *rs, const struct mr_cp_room *r, uint32_t only,
		  uint32_t except, json_t *ev);

/* rooms.c: lookups */
struct mr_cp_room *mr_room_find(const struct mr_rooms *rs, uint32_t id);
struct mr_cp_part *mr_room_part_find(const struct mr_cp_room *r, uint32_t id);
struct mr_cp_stream *mr_room_stream_find_in(const struct mr_cp_part *p, uint32_t id);
struct mr_cp_stream *mr_room_stream_find(const struct mr_cp_room *r, uint32_t id);
struct mr_cp_stream *mr_room_stream_by_ssrc(const struct mr_cp_room *r, uint32_t ssrc);
int mr_room_part_subscribed(const struct mr_cp_part *p, uint32_t stream);
int mr_room_lookup(struct mr_rooms *rs, uint32_t room, uint32_t part, struct mr_cp_room **r,
		   struct mr_cp_part **p, json_t **out);

/* A restore from the state store (persist.c): what a room or participant had. */
struct mr_room_restore {
	uint32_t id;
	unsigned int owner;		/* modulo the workers now configured */
	time_t created;
};

struct mr_part_restore {
	uint32_t id;
	char token[MR_TOKEN_LEN];
	struct mr_ep local;
	uint32_t relay_ssrc;
	time_t created;
	int latched;			/* remote and mac: the latched remote */
	struct mr_ep remote;
	uint8_t mac[6];
	struct mr_cp_srtp_seeds seeds;
};

/* rooms.c: rooms and participants; rst NULL for a new one, else a restore on its ids,
 * owner, endpoint and latched remote. */
int mr_room_create(struct mr_rooms *rs, const struct mr_room_req *req,
		   const struct mr_room_restore *rst, struct mr_cp_room **out, json_t **body);
void mr_room_delete(struct mr_rooms *rs, struct mr_cp_room *r);
int mr_room_part_create(struct mr_rooms *rs, struct mr_cp_room *r,
			const struct mr_part_req *req, const struct mr_part_restore *rst,
			struct mr_cp_part **out, json_t **body);
/* The room changed: queue a write of its record to the state store (once until written;
 * nothing when the store is off). */
void mr_room_persist(struct mr_rooms *rs, struct mr_cp_room *r);
void mr_room_part_remove(struct mr_rooms *rs, struct mr_cp_part *p, enum mr_leave_reason why);

/* rooms.c: a stream's memory, freed at once (the workers are stopped) */
void mr_room_stream_free_now(struct mr_cp_stream *st);

/* span.c: rooms across appliances (docs/ARCHITECTURE.md "Rooms across appliances") */
struct mr_cp_room *mr_room_span_find(const struct mr_rooms *rs, const char *name);
void mr_room_span_tick(struct mr_rooms *rs, uint64_t now_tsc);
/* The room is deleted: its entry leaves Redis. */
void mr_room_span_gone(struct mr_rooms *rs, struct mr_cp_room *r);
/* An event of room r for everyone: to the other nodes when it is about one of this node's
 * own participants. */
void mr_room_span_event(struct mr_rooms *rs, const struct mr_cp_room *r, json_t *ev);
/* A link participant is removed: its neighbor slot is given back. */
void mr_room_span_part_gone(struct mr_rooms *rs, struct mr_cp_part *p);

/* play.c: everything under /v1/rooms/{room}/playbacks (path: what follows the room id) */
int mr_http_room_plays(struct mr_rooms *rs, struct mr_cp_room *r, const char *method,
		       const char *path, const char *id, size_t idlen, const char *body,
		       size_t len, json_t **out);
/* play.c: the room is deleted: its playbacks end (streams deferred) and are freed */
void mr_room_plays_stop(struct mr_rooms *rs, struct mr_cp_room *r);
/* play.c: shutdown, the workers stopped: everything freed at once */
void mr_room_plays_free_now(struct mr_rooms *rs, struct mr_cp_room *r);

/* publish.c */
int mr_room_sync(struct mr_rooms *rs, struct mr_cp_room *r);
/* id 0: the room's next stream id; else the id it had (a restore). */
int mr_room_stream_publish(struct mr_rooms *rs, struct mr_cp_part *p,
			   const struct mr_stream_req *req, int autopub, uint32_t id,
			   struct mr_cp_stream **out, json_t **body);
void mr_room_stream_remove(struct mr_rooms *rs, struct mr_cp_stream *st);
void mr_room_stream_mute(struct mr_rooms *rs, struct mr_cp_stream *st, int muted);

/* ops.c */
int mr_room_subs_check(struct mr_cp_room *r, struct mr_cp_part *p, const uint32_t *ids,
		       uint32_t n, json_t **out);

/* views.c */
extern const char *const mr_room_kind_name[];

enum { PJ_SUMMARY = 0, PJ_FULL = 1, PJ_TOKEN = 2 };

void mr_room_stream_read(const struct mr_cp_stream *st, struct mr_stream_q *q);
double mr_room_stream_mos_now(const struct mr_cp_stream *st, const struct mr_stream_q *q);
json_t *mr_room_stream_json(struct mr_rooms *rs, const struct mr_cp_stream *st, int full);
json_t *mr_room_part_json(struct mr_rooms *rs, const struct mr_cp_part *p, int flags);
json_t *mr_room_json(struct mr_rooms *rs, const struct mr_cp_room *r, int full);
json_t *mr_room_subs_json(const struct mr_cp_part *p);

#endif
