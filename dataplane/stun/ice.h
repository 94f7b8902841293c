/* SPDX-License-Identifier: BSD-3-Clause
 * ICE-lite on the room's owner lcore (ice.c): the RFC 7983 classes other than RTP/RTCP that
 * reach a WebRTC participant's endpoint (ice_dp.h).
 */
#ifndef MR_ICE_H
#define MR_ICE_H

#include <stdint.h>
#include <rte_mbuf.h>

#include "dp_priv.h"
#include "room_dp.h"
#include "session_dp.h"

/* STUN, DTLS or anything else but RTP/RTCP for part (part->ice set). STUN Binding requests
 * are answered in place and may latch the remote; DTLS from the latched remote goes to the
 * control plane (exception ring); the rest is dropped and counted. Consumes m. */
void mr_ice_input(struct mr_worker *w, struct rte_mbuf *m, const struct mr_pkt_info *pi,
		  struct mr_dp_part *part, uint64_t now);
/* The same for leg li of session s, a WebRTC leg (its srtp->ice set; ng's DTLS-SRTP): ICE on
 * path[0]; what is neither STUN nor DTLS is dropped as srtp_auth_fail. Consumes m. */
void mr_ice_leg_input(struct mr_worker *w, struct rte_mbuf *m, const struct mr_pkt_info *pi,
		      struct mr_dp_session *s, unsigned int li, uint64_t now);

#endif
