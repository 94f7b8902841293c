/* SPDX-License-Identifier: BSD-3-Clause
 * ICE-lite answers on the room's owner lcore (RFC 8445 §2.5 and §7.3, RFC 5389): a Binding
 * request whose USERNAME starts with the participant's ufrag and whose MESSAGE-INTEGRITY
 * verifies under its pwd is answered in place (same mbuf, XOR-MAPPED-ADDRESS of its source)
 * and may latch the remote: the first valid check when none is latched, and a check with
 * USE-CANDIDATE (the controlling agent's nomination) from anywhere. Anything that fails is
 * counted and dropped and never latches. DTLS from the latched remote goes to the control
 * plane. The same for a room participant and a session leg (ng's WebRTC legs: ICE on the
 * leg's RTP path, which rtcp-mux makes the only one). No allocation, lock or system call.
 */
#include <string.h>
#include <rte_branch_prediction.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "cap_dp.h"
#include "dp_priv.h"
#include "ice.h"
#include "ice_dp.h"
#include "stun.h"

/* What ICE touches of the endpoint it answers for: a room participant's or a session leg's
 * (ng's WebRTC legs) fields, the same roles under other names. */
struct ice_ep {
	struct mr_dp_ice *ice;
	rte_seqcount_t *seq;
	struct mr_dp_path *path;	/* the RTP path: ICE needs rtcp-mux */
	const struct mr_ep *local;
	uint16_t port_idx;
	const uint8_t *cap_id;
	uint64_t *relatches;
	uint64_t *last_rx_tsc;		/* the endpoint's own (the session's for a leg) */
};

static void
ice_stun(struct mr_worker *w, struct rte_mbuf *m, const struct mr_pkt_info *pi,
	 const struct ice_ep *e, uint64_t now)
{
	struct mr_dp_ice *ice = e->ice;
	const struct mr_dp_port *op = &w->dp->port[e->port_idx];
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *), *p = f + pi->payload_off;
	struct rte_ether_addr smac;
	struct mr_stun_msg sm;
	struct mr_ep src;
	uint16_t hlen;
	size_t len, room;

	if (unlikely(mr_stun_parse(p, pi->payload_len, &sm) < 0 || sm.fp_off == 0 ||
		     !mr_stun_fingerprint_ok(p, &sm) || sm.unknown_required)) {
		ice->ctr.malformed++;
		mr_drop(w, m, MR_DROP_STUN_MALFORMED);
		return;
	}
	if (sm.type != MR_STUN_BINDING_REQ) {
		/* Indications and responses: an ICE-lite agent sends no checks of its own. */
		ice->ctr.ignored++;
		mr_drop(w, m, MR_DROP_STUN_IGNORED);
		return;
	}
	if (!mr_stun_username_ok(p, &sm, ice->ufrag, ice->ufrag_len) ||
	    !mr_stun_integrity_ok(p, &sm, &ice->key)) {
		ice->ctr.auth_fail++;
		mr_drop(w, m, MR_DROP_STUN_AUTH);
		return;
	}
	ice->ctr.requests++;
	mr_pkt_src_ep(f, pi, &src);
	rte_ether_addr_copy((const struct rte_ether_addr *)(f + 6), &smac);
	if (sm.use_candidate)
		ice->ctr.nominations++;
	/* Nominated pair (USE-CANDIDATE), or the first valid check: the remote media goes to. */
	if (e->path->state != MR_PATH_LATCHED || (sm.use_candidate &&
						  !mr_ep_eq(&src, &e->path->remote))) {
		if (e->path->state == MR_PATH_LATCHED)
			(*e->relatches)++;
		mr_path_latch(e->seq, e->path, &src, &smac);
		ice->ctr.latches++;
	}
	if (mr_ep_eq(&src, &e->path->remote)) {
		/* Consent (RFC 7675) comes from the selected pair only. */
		ice->last_check_tsc = now;
		e->path->last_rx_tsc = now;
		*e->last_rx_tsc = now;
	}
	/* The answer, in place: the response over the request, fresh headers in front. */
	room = (size_t)((uint8_t *)m->buf_addr + m->buf_len - p);
	len = m->nb_segs == 1 ? mr_stun_build_ok(p, room, p + 8, &src, &ice->key) : 0;
	hlen = mr_hdr_len(op, src.family);
	if (unlikely(len == 0)) {
		mr_drop(w, m, MR_DROP_NO_TAILROOM);
		return;
	}
	if (unlikely((size_t)(p - (uint8_t *)m->buf_addr) < hlen)) {
		mr_drop(w, m, MR_DROP_HDR_ROOM);
		return;
	}
	m->data_off = (uint16_t)(p - (uint8_t *)m->buf_addr - hlen);
	m->data_len = (uint16_t)(hlen + len);
	m->pkt_len = m->data_len;
	mr_hdr_write(m, p - hlen, op, e->local, &src, smac.addr_bytes, pi->tclass, p,
		     (uint16_t)len, NULL);
	ice->ctr.answered++;
	mr_cap(w, e->cap_id, MR_CAP_OUT, m);
	mr_worker_tx(w, e->port_idx, m);
}

/* STUN or DTLS for endpoint e: 0, or -1 for another class (the caller drops it). */
static int
ice_input(struct mr_worker *w, struct rte_mbuf *m, const struct mr_pkt_info *pi,
	  const struct ice_ep *e, uint64_t now)
{
	struct mr_ep src;

	switch (pi->class) {
	case MR_CLASS_STUN:
		ice_stun(w, m, pi, e, now);
		return 0;
	case MR_CLASS_DTLS:
		/* The handshake runs on the control plane (controlplane/webrtc/), with the
		 * remote ICE chose only: nobody else can make it spend a handshake. */
		mr_pkt_src_ep(rte_pktmbuf_mtod(m, const uint8_t *), pi, &src);
		if (e->path->state != MR_PATH_LATCHED || !mr_ep_eq(&src, &e->path->remote)) {
			e->ice->ctr.dtls_drop++;
			mr_drop(w, m, MR_DROP_DTLS_SRC);
			return 0;
		}
		e->ice->ctr.dtls_in++;
		mr_to_control(w, m);
		return 0;
	default:
		return -1;
	}
}

void
mr_ice_input(struct mr_worker *w, struct rte_mbuf *m, const struct mr_pkt_info *pi,
	     struct mr_dp_part *part, uint64_t now)
{
	const struct ice_ep e = {
		.ice = part->ice, .seq = &part->seq, .path = &part->path, .local = &part->local,
		.port_idx = part->port_idx, .cap_id = &part->cap_id,
		.relatches = &part->ctr.relatches, .last_rx_tsc = &part->last_rx_tsc,
	};

	if (ice_input(w, m, pi, &e, now) < 0) {
		part->ctr.drop_class++;
		mr_drop(w, m, MR_DROP_ROOM_CLASS);
	}
}

void
mr_ice_leg_input(struct mr_worker *w, struct rte_mbuf *m, const struct mr_pkt_info *pi,
		 struct mr_dp_session *s, unsigned int li, uint64_t now)
{
	struct mr_dp_leg *l = &s->leg[li];
	const struct ice_ep e = {
		.ice = l->srtp->ice, .seq = &l->seq, .path = &l->path[0], .local = &l->local,
		.port_idx = l->port_idx, .cap_id = &l->cap_id, .relatches = &l->ctr.relatches,
		.last_rx_tsc = &s->last_rx_tsc,
	};

	if (ice_input(w, m, pi, &e, now) < 0) {
		/* Neither RTP/RTCP nor STUN/DTLS: what an SRTP leg does with it. */
		l->srtp->ctr.auth_fail++;
		mr_drop(w, m, MR_DROP_SRTP_AUTH);
	}
}

/* ice_dp.h */
int
mr_dp_udp_frame(const struct mr_dp *dp, unsigned int pidx, struct rte_mbuf *m,
		const struct mr_ep *src, const struct mr_ep *dst, const uint8_t *dmac)
{
	const struct mr_dp_port *op = &dp->port[pidx];
	uint16_t hlen = mr_hdr_len(op, dst->family), plen = m->data_len;
	uint8_t *payload = rte_pktmbuf_mtod(m, uint8_t *);

	if (m->nb_segs != 1 || rte_pktmbuf_headroom(m) < hlen)
		return -1;
	m->data_off -= hlen;
	m->data_len += hlen;
	m->pkt_len = m->data_len;
	mr_hdr_write(m, payload - hlen, op, src, dst, dmac, 0, payload, plen, NULL);
	return 0;
}

/* ice_dp.h */
int
mr_dp_udp_parse(const struct rte_mbuf *m, struct mr_ep *src, struct mr_ep *dst,
		const uint8_t **payload, uint16_t *len)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	struct mr_pkt_info pi;

	if (mr_pkt_parse(f, m->data_len, &pi) != MR_V_UDP)
		return -1;
	mr_pkt_src_ep(f, &pi, src);
	memset(dst, 0, sizeof(*dst));
	dst->family = pi.family;
	dst->port = pi.dport;
	memcpy(dst->a, f + pi.l2_len + (pi.family == MR_AF4 ? 16 : 24),
	       pi.family == MR_AF4 ? 4 : 16);
	*payload = f + pi.payload_off;
	*len = pi.payload_len;
	return 0;
}
