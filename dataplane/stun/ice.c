/* SPDX-License-Identifier: BSD-3-Clause
 * ICE-lite answers on the room's owner lcore (RFC 8445 §2.5 and §7.3, RFC 5389): a Binding
 * request whose USERNAME starts with the participant's ufrag and whose MESSAGE-INTEGRITY
 * verifies under its pwd is answered in place (same mbuf, XOR-MAPPED-ADDRESS of its source)
 * and may latch the remote: the first valid check when none is latched, and a check with
 * USE-CANDIDATE (the controlling agent's nomination) from anywhere. Anything that fails is
 * counted and dropped and never latches. DTLS from the latched remote goes to the control
 * plane. No allocation, lock or system call.
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

static void
ice_stun(struct mr_worker *w, struct rte_mbuf *m, const struct mr_pkt_info *pi,
	 struct mr_dp_part *part, uint64_t now)
{
	struct mr_dp_ice *ice = part->ice;
	const struct mr_dp_port *op = &w->dp->port[part->port_idx];
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
	if (part->path.state != MR_PATH_LATCHED || (sm.use_candidate &&
						     !mr_ep_eq(&src, &part->path.remote))) {
		if (part->path.state == MR_PATH_LATCHED)
			part->ctr.relatches++;
		mr_path_latch(&part->seq, &part->path, &src, &smac);
		ice->ctr.latches++;
	}
	if (mr_ep_eq(&src, &part->path.remote)) {
		/* Consent (RFC 7675) comes from the selected pair only. */
		ice->last_check_tsc = now;
		part->path.last_rx_tsc = now;
		part->last_rx_tsc = now;
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
	mr_hdr_write(m, p - hlen, op, &part->local, &src, smac.addr_bytes, pi->tclass, p,
		     (uint16_t)len, NULL);
	ice->ctr.answered++;
	mr_cap(w, &part->cap_id, MR_CAP_OUT, m);
	mr_worker_tx(w, part->port_idx, m);
}

void
mr_ice_input(struct mr_worker *w, struct rte_mbuf *m, const struct mr_pkt_info *pi,
	     struct mr_dp_part *part, uint64_t now)
{
	struct mr_ep src;

	switch (pi->class) {
	case MR_CLASS_STUN:
		ice_stun(w, m, pi, part, now);
		return;
	case MR_CLASS_DTLS:
		/* The handshake runs on the control plane (controlplane/webrtc/), with the
		 * remote ICE chose only: nobody else can make it spend a handshake. */
		mr_pkt_src_ep(rte_pktmbuf_mtod(m, const uint8_t *), pi, &src);
		if (part->path.state != MR_PATH_LATCHED || !mr_ep_eq(&src, &part->path.remote)) {
			part->ice->ctr.dtls_drop++;
			mr_drop(w, m, MR_DROP_DTLS_SRC);
			return;
		}
		part->ice->ctr.dtls_in++;
		mr_to_control(w, m);
		return;
	default:
		part->ctr.drop_class++;
		mr_drop(w, m, MR_DROP_ROOM_CLASS);
		return;
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
