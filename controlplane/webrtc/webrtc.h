/* SPDX-License-Identifier: BSD-3-Clause
 * WebRTC participants on the control thread (docs/API.md "WebRTC"): ICE credentials and the
 * dataplane's struct mr_dp_ice (ICE-lite answers are the owner lcore's, dataplane/stun/),
 * the DTLS-SRTP handshake over the exception ring (dtls.c), the SRTP keys it exports
 * installed on the owner with MR_CMD_PART_SRTP_SET, the 30 s handshake limit and consent
 * freshness (RFC 7675, rooms.consent_timeout). The rooms module (controlplane/rooms/)
 * creates and removes the participants and calls in here; signaling.c adds the SDP (sdp.c).
 * Nothing blocks: each call does at most one datagram's or one timer's work.
 */
#ifndef MR_WEBRTC_H
#define MR_WEBRTC_H

#include <stdint.h>
#include <jansson.h>

#include "srtp_cp.h"

struct mr_appliance;
struct mr_webrtc;
struct mr_dp_part;
struct rte_mbuf;

#define MR_WEBRTC_HANDSHAKE_S 30	/* join to DTLS done, or the participant goes */

/* The certificate is made here (ECDSA P-256). NULL with err filled. */
struct mr_webrtc *mr_webrtc_create(struct mr_appliance *a, char *err, size_t errlen);
void mr_webrtc_free(struct mr_webrtc *wr);
const char *mr_webrtc_fingerprint(const struct mr_webrtc *wr);

/* A new participant (before publication): random ICE credentials, dp->ice and dp->srtp (SRTP
 * both ways, no key yet: RTP is dropped until DTLS is done), cs records the latter. 0, or an
 * HTTP status with *body. */
int mr_webrtc_part_new(struct mr_webrtc *wr, uint32_t room, uint32_t part, unsigned int owner,
		       struct mr_dp_part *dp, struct mr_cp_srtp *cs, json_t **body);
/* The participant left the model (its flow is deleted): forget it here (its DTLS state goes
 * now; dp->ice is freed with dp by mr_webrtc_ice_free). */
void mr_webrtc_part_gone(struct mr_webrtc *wr, struct mr_dp_part *dp);
void mr_webrtc_ice_free(struct mr_dp_part *dp);
/* The peer's DTLS fingerprint from its SDP ("sha-256 AB:..."): the handshake may start. 0,
 * -EINVAL (it does not parse), -ENOENT. */
int mr_webrtc_set_remote(struct mr_webrtc *wr, struct mr_dp_part *dp, const char *fingerprint);
/* The local ICE credentials of a participant (NULL when it is not WebRTC). */
const char *mr_webrtc_ufrag(struct mr_webrtc *wr, const struct mr_dp_part *dp);
const char *mr_webrtc_pwd(struct mr_webrtc *wr, const struct mr_dp_part *dp);
/* "webrtc" of a participant's view: credentials (with secrets only when secrets is set),
 * fingerprint, DTLS state, ICE counters. */
json_t *mr_webrtc_part_json(struct mr_webrtc *wr, const struct mr_dp_part *dp, int secrets);

/* ---- Session legs (ng's DTLS-SRTP, docs/NG.md "WebRTC"): the same ICE-lite and DTLS-SRTP on
 * a session leg, ICE on its RTP path (rtcp-mux). A leg's failed or late handshake is counted
 * and logged; the session stays until its signalling or its idle timeout ends it. */
struct mr_dp_session;
/* Before publication, with s->leg[leg].local set: random ICE credentials, the leg's srtp (SRTP
 * both ways, no key yet, its ice set), which cs records. 0, or -1 with err. */
int mr_webrtc_leg_new(struct mr_webrtc *wr, struct mr_dp_session *s, unsigned int leg,
		      unsigned int owner, struct mr_cp_srtp *cs, char *err, size_t errlen);
/* The session ends: forget the leg here (its ice is freed with its srtp, srtp_cp.c). */
void mr_webrtc_leg_gone(struct mr_webrtc *wr, struct mr_dp_session *s, unsigned int leg);
/* The peer's fingerprint: a (new) handshake may start. 0, -EINVAL, -ENOENT. */
int mr_webrtc_leg_set_remote(struct mr_webrtc *wr, struct mr_dp_session *s, unsigned int leg,
			     const char *fingerprint);
const char *mr_webrtc_leg_ufrag(struct mr_webrtc *wr, const struct mr_dp_session *s,
				unsigned int leg);
const char *mr_webrtc_leg_pwd(struct mr_webrtc *wr, const struct mr_dp_session *s,
			      unsigned int leg);
/* legs[n].webrtc of a session's view (null when the leg is not WebRTC). */
json_t *mr_webrtc_leg_json(struct mr_webrtc *wr, const struct mr_dp_session *s,
			   unsigned int leg, int secrets);

/* A packet from an exception ring: 0 when it was a DTLS datagram for a WebRTC participant
 * (consumed), -1 when it is not ours (m untouched). */
int mr_webrtc_input(struct mr_webrtc *wr, struct rte_mbuf *m);
/* Retransmissions, the handshake limit, consent freshness. Call every few ms. */
void mr_webrtc_tick(struct mr_webrtc *wr, uint64_t now_tsc);
/* GET /v1/stats "webrtc". */
json_t *mr_webrtc_stats(const struct mr_webrtc *wr);

#endif
