/* SPDX-License-Identifier: BSD-3-Clause
 * The ng call model and commands (docs/NG.md): a call (SIP Call-ID) holds branches, a branch
 * is a pair of SIP tags (the offerer's and the answerer's, "" until an answer names it) with
 * one mrelay session per media section; leg 0 of each session faces side 0 of its branch.
 * Sessions are made, changed and ended through a backend (ng.c uses the session manager;
 * the unit tests a fake), so this file is pure C + jansson.
 */
#ifndef MR_NG_CALLS_H
#define MR_NG_CALLS_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <jansson.h>

#include "ng_bencode.h"
#include "json_req.h"

/* What the backend says about a session after a create or a patch. */
struct mr_ng_leg_info {
	struct mr_ep local;		/* RTP (and with rtcp-mux RTCP) endpoint */
	struct mr_ep local_rtcp;	/* family 0 with rtcp-mux */
	char local_key[128];		/* SDES key mrelay encrypts with, "" when unchanged/none */
	char ice_ufrag[16], ice_pwd[32];	/* a new WebRTC leg's ICE credentials, "" none */
};

struct mr_ng_sess_info {
	char id[24];
	struct mr_ng_leg_info leg[2];
	char fingerprint[160];		/* mrelay's certificate when a leg is WebRTC, "" none */
};

/* What play media asks for one session leg. */
struct mr_ng_play {
	const char *file;		/* a name (NULL: blob) */
	const uint8_t *blob;		/* the file's bytes, blob_len of them */
	size_t blob_len;
	uint8_t codec, pt;		/* MR_NGSDP_PLAY_* (ng_sdp.h) and its payload type */
	uint32_t repeat_times;		/* plays; 0: until repeat_ms */
	uint64_t repeat_ms;		/* no new play after this (0: none) */
	uint32_t start_pos;		/* the first play starts at this frame (packet) */
	/* play DTMF (codec MR_NGSDP_PLAY_DTMF, pt the telephone-event type): */
	const char *digits;		/* 1 to MR_DTMF_MAX_DIGITS of 0-9 * # A-D */
	uint32_t dtmf_rate;		/* the telephone-event clock, Hz */
	uint32_t duration_ms, pause_ms;
	uint8_t volume;			/* 0..63: -dBm0 */
};

struct mr_ng_backend {
	void *ctx;
	/* 0, or -errno with err set (a one-line reason that goes into the ng answer). */
	int (*create)(void *ctx, const struct mr_session_req *req, struct mr_ng_sess_info *out,
		      char *err, size_t errlen);
	/* -ENOENT when the session is gone (ended by idle timeout): the caller makes a new one. */
	int (*patch)(void *ctx, const char *id, const struct mr_session_patch *p,
		     struct mr_ng_sess_info *out, char *err, size_t errlen);
	void (*destroy)(void *ctx, const char *id);
	int (*active)(void *ctx, const char *id);	/* 1 when the session still relays */
	json_t *(*get)(void *ctx, const char *id);	/* GET /v1/sessions/{id}; NULL: gone */
	uint64_t (*now_ms)(void *ctx);			/* a monotonic clock */
	/* Record both legs of a session (on 1) or stop (on 0): 0, or -errno with err set;
	 * NULL: recording is not available. */
	int (*record)(void *ctx, const char *id, int on, char *err, size_t errlen);
	/* Hold back (on 1) or let through the RTP relayed towards leg; NULL: not available. */
	int (*block)(void *ctx, const char *id, unsigned int leg, int on);
	/* Relay G.711 towards leg with a silent payload, other RTP held back (on 1), or as it
	 * comes again (on 0); NULL: not available. */
	int (*silence)(void *ctx, const char *id, unsigned int leg, int on);
	/* Hold back the RTP of payload type pt relayed towards leg (on 1), or not (on 0); NULL:
	 * not available. */
	int (*block_dtmf)(void *ctx, const char *id, unsigned int leg, int on, uint8_t pt);
	/* Play a file (ng's play media: docs/NG.md) into leg of session id, towards the leg's
	 * remote: 0 with *duration_ms (one play), or -1 with err set; NULL: not available. */
	int (*play)(void *ctx, const char *id, unsigned int leg, const struct mr_ng_play *pl,
		    uint64_t *duration_ms, char *err, size_t errlen);
	/* Stop what plays into leg of session id: 0 with *last_frame (the next packet it would
	 * have sent), or -ENOENT (nothing plays there). */
	int (*play_stop)(void *ctx, const char *id, unsigned int leg, uint32_t *last_frame);
	/* Call callid was made, changed or has ended (mr_ng_calls_record says which); NULL:
	 * nobody asks (the state store is off). Not called for a stop (mr_ng_calls_free). */
	void (*changed)(void *ctx, const char *callid);
};

/* Requests by command; index with enum mr_ng_cmd. */
enum mr_ng_cmd {
	MR_NG_PING, MR_NG_OFFER, MR_NG_ANSWER, MR_NG_DELETE, MR_NG_QUERY, MR_NG_LIST,
	MR_NG_STATISTICS, MR_NG_START_REC, MR_NG_STOP_REC, MR_NG_BLOCK_MEDIA,
	MR_NG_UNBLOCK_MEDIA, MR_NG_PLAY_MEDIA, MR_NG_STOP_MEDIA, MR_NG_SILENCE_MEDIA,
	MR_NG_UNSILENCE_MEDIA, MR_NG_BLOCK_DTMF, MR_NG_UNBLOCK_DTMF, MR_NG_PLAY_DTMF, MR_NG_OTHER,
	MR_NG_N_CMDS
};

struct mr_ng_counts {
	uint64_t requests[MR_NG_N_CMDS];
	uint64_t errors;		/* answered "result": "error" */
	uint64_t unknown_flags;		/* flags (and flag-like values) ignored */
	uint64_t unknown_keys;		/* dictionary keys ignored */
	uint64_t calls_created, calls_deleted, calls_expired, branches_forked;
	uint64_t calls;			/* active now */
};

struct mr_ng_calls;

struct mr_ng_calls *mr_ng_calls_create(const struct mr_ng_backend *be, unsigned int max_calls,
				       unsigned int delete_delay_s);
void mr_ng_calls_free(struct mr_ng_calls *c);
/* Run one command: d is the request dictionary, peer the client's address (text, for
 * "received from" defaults). Returns the answer (a new reference: {"result": ...}). */
json_t *mr_ng_calls_command(struct mr_ng_calls *c, const struct mr_bn *d);
/* Delete-delay expiries and calls whose sessions all ended (idle timeout). */
void mr_ng_calls_tick(struct mr_ng_calls *c);
void mr_ng_calls_counts(const struct mr_ng_calls *c, struct mr_ng_counts *out);
/* Let "statistics" report the appliance's numbers: extra is merged into its answer. */
void mr_ng_calls_set_stats_cb(struct mr_ng_calls *c, json_t *(*cb)(void *arg), void *arg);
const char *mr_ng_cmd_name(enum mr_ng_cmd k);

/* Calls in the state store (docs/NG.md "Calls in Redis"). The record of call callid (a new
 * reference; it holds SDES keys), NULL when there is no such call. */
json_t *mr_ng_calls_record(const struct mr_ng_calls *c, const char *callid);
/* Make call callid again from its record (a restart or a takeover), its sessions restored
 * already under the ids the record names: 0, or -1 with err set (nothing made). */
int mr_ng_calls_restore(struct mr_ng_calls *c, const char *callid, const json_t *rec,
			char *err, size_t errlen);
/* fn(ctx, callid) for each call of hash bucket b (0 .. MR_NG_CALL_BUCKETS - 1): a full
 * rewrite walks the buckets a slice at a time. */
#define MR_NG_CALL_BUCKETS 65536u
void mr_ng_calls_bucket(const struct mr_ng_calls *c, unsigned int b,
			void (*fn)(void *ctx, const char *callid), void *ctx);
/* Forget every call without ending its sessions or reporting a change (a node fenced or
 * taking over: the calls are the service holder's). */
void mr_ng_calls_forget(struct mr_ng_calls *c);

#endif
