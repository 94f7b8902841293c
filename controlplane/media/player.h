/* SPDX-License-Identifier: BSD-3-Clause
 * Playing a voice message (messages.h) as an RTP stream, paced by the control thread: what a
 * room playback (controlplane/rooms/play.c) and a session leg's playback (controlplane/
 * sessions/play.c) share. Packet k goes out when its time has come: the sum of the TOC
 * durations of the packets before it, from the start (RFC 7587: 48 kHz timestamps for Opus).
 *
 * The stored Opus packets go out as they are; for a call that negotiated G.711 instead
 * (PCMU, PCMA), each packet is decoded at 8 kHz just before it is sent (libopus resamples;
 * about 20 microseconds a packet, so a turn of the control loop does one packet's work per
 * playback, never the whole message) and companded (g711.h), 8 kHz timestamps.
 */
#ifndef MR_PLAYER_H
#define MR_PLAYER_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct mr_appliance;
struct mr_cmd;
struct rte_mbuf;
struct rte_mempool;
struct mr_msg_audio;
struct OpusDecoder;

/* MR_PLAY_DTMF: RFC 4733 telephone-events made by mr_dtmf_audio(), not a message. */
enum mr_play_codec { MR_PLAY_OPUS = 0, MR_PLAY_PCMU, MR_PLAY_PCMA, MR_PLAY_DTMF };

struct mr_player {
	struct mr_msg_audio *au;	/* the packets (owned: freed by mr_player_fini) */
	struct OpusDecoder *dec;	/* G.711: the message decoded at 8 kHz; NULL for Opus */
	uint8_t codec;			/* enum mr_play_codec */
	uint8_t pt;
	uint16_t seq0;
	uint32_t ts0, ssrc;
	uint32_t next;			/* next packet to send */
	uint32_t first;			/* the first one sent (marker bit): mr_player_skip */
	uint32_t packets;
	uint64_t samples;		/* 48 kHz samples before packet next */
	uint64_t start_tsc;
	uint64_t decode_errors;		/* G.711: packets libopus refused (sent as concealment) */
	uint64_t sent;			/* handed to the owner worker */
	uint64_t drop_no_mbuf;		/* not sent: the packet pool was empty */
	uint64_t drop_ring_full;	/* not sent: the owner's command ring was full */
};

/* DTMF digits as RFC 4733 events (ng's play DTMF), as packets the player sends: for each
 * digit (0-9, *, #, A-D; case-insensitive) an event packet every 20 ms, its duration growing,
 * the first with the marker bit, all with the event's start timestamp; after duration_ms
 * the end packet (E bit, the whole duration) three times (§2.5.1.4), then pause_ms of
 * nothing before the next digit. volume: 0..63 (-dBm0); rate: the telephone-event clock
 * (Hz, a multiple of 8000). Each packet's data: its 4-byte payload, then the timestamp
 * offset of its event (big-endian, 4 bytes) and the marker (1 byte); len 4, samples the time
 * to the next packet at 48 kHz. NULL with err (a digit that is not one, none, too many). */
#define MR_DTMF_MAX_DIGITS 32
struct mr_msg_audio *mr_dtmf_audio(const char *digits, unsigned int duration_ms,
				   unsigned int pause_ms, unsigned int volume, unsigned int rate,
				   char *err, size_t errlen);
/* One DTMF digit's RFC 4733 event code (0-15), or -1. */
int mr_dtmf_code(char digit);

/* "opus", "pcmu", "pcma" → codec (0), -1 for anything else. */
int mr_player_codec(const char *name, uint8_t *codec);
const char *mr_player_codec_name(uint8_t codec);
/* The default payload type of codec: 111 (Opus, dynamic), 0 (PCMU), 8 (PCMA). */
uint8_t mr_player_default_pt(uint8_t codec);

/* A playback request (docs/API.md "Playing a message into a room", "... into a session"):
 * {"message": id, "codec": "opus"|"pcmu"|"pcma", "pt": 0..127, "ssrc": 1..2^32-1} and, for a
 * session (legs 1), "leg": 0 or 1. */
struct mr_play_req {
	const char *message;		/* in the parsed body */
	uint8_t codec, pt;
	uint32_t ssrc;			/* 0: the caller picks one at random */
	int leg;			/* legs: 0 or 1 */
};

/* 0 with *o the parsed body (the caller's reference: rq->message points into it), or the
 * 4xx status with the error in *out. */
int mr_player_req_parse(const char *body, size_t len, int legs, struct mr_play_req *rq,
			json_t **o, json_t **out);

/* Take au (owned from now on) and start at now (TSC): random sequence and timestamp bases;
 * the SSRC is the caller's. 0, or -ENOMEM / -errno (au is then still the caller's). */
int mr_player_init(struct mr_player *p, struct mr_msg_audio *au, uint8_t codec, uint8_t pt,
		   uint32_t ssrc, uint64_t now);
void mr_player_fini(struct mr_player *p);
/* Is packet next due at now (hz: TSC cycles a second)? */
int mr_player_due(const struct mr_player *p, uint64_t now, uint64_t hz);
/* Has the last packet been sent and played its own duration? */
int mr_player_done(const struct mr_player *p, uint64_t now, uint64_t hz);
/* Packet next as an RTP packet (RFC 3550 §5.1, marker bit on the first) in a new mbuf from
 * mp, the default headroom left for the headers; NULL when the pool is empty. */
struct rte_mbuf *mr_player_packet(struct mr_player *p, struct rte_mempool *mp);
/* On to the next packet (sent or not: a packet late is a packet lost). */
void mr_player_advance(struct mr_player *p);
/* Right after init: start at packet n (past the end: nothing plays), at once. */
void mr_player_skip(struct mr_player *p, uint32_t n, uint64_t hz);
/* Once done: play the message again from its start, the RTP stream going on (sequence
 * numbers and timestamps continue; the marker bit again on the first packet). */
void mr_player_rewind(struct mr_player *p, uint64_t hz);
/* Every packet due at now (hz: TSC cycles a second): built from a's packet pool and handed to
 * worker w as a copy of command tmpl (type and object set by the caller; arg: the packet),
 * never waited on. Counted in sent, drop_no_mbuf, drop_ring_full. */
void mr_player_send_due(struct mr_player *p, uint64_t now, uint64_t hz, struct mr_appliance *a,
			unsigned int w, const struct mr_cmd *tmpl);

#endif
