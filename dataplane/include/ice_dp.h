/* SPDX-License-Identifier: BSD-3-Clause
 * ICE-lite on a room participant's endpoint (RFC 8445 §2.5, STUN RFC 5389) as the dataplane
 * sees it: the boundary between the control plane (controlplane/webrtc/ makes the credentials
 * and fills this before publication) and the room's owner lcore (dataplane/stun/ice.c answers
 * Binding requests in place and latches the nominated remote). docs/ARCHITECTURE.md "WebRTC".
 *
 * A participant with a non-NULL ice pointer (room_dp.h) is a WebRTC participant: its
 * endpoint demultiplexes RFC 7983 classes: STUN goes to the ICE code here, DTLS to the
 * control plane over the exception ring (only from the remote ICE latched), RTP/RTCP to the
 * room as SRTP (the keys come from DTLS, installed with MR_CMD_PART_SRTP_SET).
 */
#ifndef MR_ICE_DP_H
#define MR_ICE_DP_H

#include <stddef.h>
#include <stdint.h>
#include <rte_common.h>

#include "mr_types.h"

/* HMAC-SHA1 (RFC 2104) with the key's inner and outer SHA-1 states precomputed: a STUN check
 * costs the message's blocks plus two, never the key's. */
struct mr_hmac_sha1_key {
	uint32_t ih[5];		/* SHA-1 state after (key ^ ipad) */
	uint32_t oh[5];		/* after (key ^ opad) */
};

void mr_hmac_sha1_key_init(struct mr_hmac_sha1_key *k, const uint8_t *key, size_t len);

#define MR_ICE_UFRAG_MAX 32	/* bytes of the local ufrag (RFC 8839 §5.4: 4..256 chars;
				 * mrelay makes 8) */

/* dp: rw (owner, plain stores), cp: ro (mr_read_u64s). */
struct mr_ice_ctr {
	uint64_t requests;		/* Binding requests received */
	uint64_t answered;		/* success responses sent */
	uint64_t auth_fail;		/* MR_DROP_STUN_AUTH: bad MESSAGE-INTEGRITY, unknown
					 * USERNAME, or none of them */
	uint64_t malformed;		/* MR_DROP_STUN_MALFORMED (bad FINGERPRINT too) */
	uint64_t ignored;		/* MR_DROP_STUN_IGNORED: not a Binding request */
	uint64_t nominations;		/* requests with USE-CANDIDATE */
	uint64_t latches;		/* the remote set or moved by a check */
	uint64_t dtls_in;		/* DTLS records passed to the control plane */
	uint64_t dtls_drop;		/* DTLS from a source ICE did not latch (MR_DROP_DTLS_SRC) */
};

struct mr_dp_ice {
	/* Line 0. cp: written before publication; dp: ro. */
	uint8_t ufrag_len;
	char ufrag[MR_ICE_UFRAG_MAX];	/* the local ufrag: USERNAME is "ufrag:remote" */
	struct mr_hmac_sha1_key key;	/* MESSAGE-INTEGRITY key: the local pwd (RFC 8445
					 * §7.2.2, short-term credentials) */

	/* Line 2. dp: rw (owner), cp: ro (relaxed loads). */
	uint64_t last_check_tsc __rte_cache_aligned;	/* last valid check from the latched
							 * remote (consent, RFC 7675); 0: none */
	struct mr_ice_ctr ctr;
} __rte_cache_aligned;

/* Fill ice from the local ufrag and pwd (the control plane, before publication). 0, or -1
 * when ufrag is longer than MR_ICE_UFRAG_MAX. */
int mr_ice_dp_init(struct mr_dp_ice *ice, const char *ufrag, const char *pwd);

struct rte_mbuf;
struct mr_dp;

/* For the control plane (DTLS records): prepend Ethernet/[802.1Q]/IP/UDP headers to m, whose
 * data is a UDP payload, from src (a local endpoint on port index pidx) to dst via next hop
 * dmac, checksums in full (or left to the NIC where the port offloads them). 0, or -1 when
 * the headroom is too small. */
int mr_dp_udp_frame(const struct mr_dp *dp, unsigned int pidx, struct rte_mbuf *m,
		    const struct mr_ep *src, const struct mr_ep *dst, const uint8_t *dmac);

/* For the control plane (DTLS records from the exception ring): the UDP datagram in m, its
 * source and destination and where its payload is. 0, or -1 when m is not a UDP datagram. */
int mr_dp_udp_parse(const struct rte_mbuf *m, struct mr_ep *src, struct mr_ep *dst,
		    const uint8_t **payload, uint16_t *len);

#endif
