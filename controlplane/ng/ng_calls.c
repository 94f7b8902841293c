/* SPDX-License-Identifier: BSD-3-Clause
 * The ng commands and the call model (docs/NG.md "Calls"). The protocol: rtpengine's public
 * docs/ng_control_protocol.md. A call holds up to NG_MAX_BRANCHES branches; a branch pairs
 * the offerer's tag (side 0, leg 0 of its sessions) with the answerer's (side 1, leg 1), ""
 * until an answer names it. An offer from a tag that already has a branch changes that
 * branch (re-INVITE, or the INVITE again after an authentication challenge); an answer from
 * a new to-tag when the pending branch was already taken forks: a new branch with sessions
 * of its own, made from the offer the first one kept.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ng_calls.h"
#include "player.h"
#include "ng_sdp.h"

#define NG_MAX_BRANCHES 8
#define NG_TAG_LEN 128
#define NG_CALLID_LEN 256
#define NG_HASH_BITS 16
_Static_assert(MR_NG_CALL_BUCKETS == 1u << NG_HASH_BITS, "ng_calls.h MR_NG_CALL_BUCKETS");

struct ng_side {
	char tag[NG_TAG_LEN];
	char label[64];
	time_t created;
	char moh[256];			/* music on hold this side offered (a file), "" none */
	uint8_t moh_on;			/* it holds: the other side hears moh */
};

struct ng_media {
	char id[24];			/* the session, "" when none (rejected, port 0) */
	char type[16];
	uint8_t rtcp_mux;		/* the session's */
	struct mr_ep local[2], local_rtcp[2];
	struct mr_ep adv[2], adv_rtcp[2];	/* what each side's SDP said (family 0: none) */
	char proto[2][24];		/* the transport protocol each side speaks */
	uint8_t webrtc[2];		/* side i speaks DTLS-SRTP with ICE (UDP/TLS/RTP/SAVP[F]):
					 * its leg is a WebRTC leg (docs/NG.md "WebRTC") */
	char ice_ufrag[2][16], ice_pwd[2][32];	/* mrelay's ICE credentials on side i's leg */
	char peer_fp[2][160];		/* side i's a=fingerprint, "" not seen yet */
	char mid[2][32];		/* side i's a=mid, "" none */
	uint8_t bundle[2];		/* side i's SDP had a=group:BUNDLE */
	uint8_t srtp[2];		/* side i speaks SDES-SRTP */
	uint8_t crypto_tag[2];		/* the a=crypto tag used with side i */
	char local_key[2][128];		/* SDES key mrelay sends to side i with */
	char remote_crypto[2][128];	/* "SUITE inline:KEY" side i sends with (for forks) */
	char iface[2][MR_IFNAME_LEN];
	uint8_t family[2];
	uint8_t play_codec[2], play_pt[2];	/* what play media sends to side i (MR_NGSDP_PLAY_*
						 * from its SDP; NONE: nothing it takes) */
	uint8_t dtmf_pt1[2];		/* side i's telephone-event payload type + 1; 0: none
					 * (or its SDP not seen yet) */
	uint8_t dtmf_rate8[2];		/* its clock / 8000 (not stored in Redis: 0 is 8000) */
};

struct ng_branch {
	struct ng_side side[2];
	unsigned int n_media;
	struct ng_media media[MR_NGSDP_MAX_MEDIA];
	uint64_t delete_at;		/* delete-delay: ms, 0 none */
};

struct ng_call {
	struct ng_call *hnext;
	struct ng_call *prev, *next;	/* all calls, oldest first */
	char callid[NG_CALLID_LEN];
	time_t created, last_signal;
	unsigned int n_br;
	struct ng_branch *br[NG_MAX_BRANCHES];
	uint8_t recording;		/* start recording / record-call: its sessions, those
					 * made later included, are recorded */
};

struct mr_ng_calls {
	struct mr_ng_backend be;
	unsigned int max_calls;
	unsigned int delete_delay_s;
	struct ng_call *hash[1u << NG_HASH_BITS];
	struct ng_call *head, *tail;
	struct ng_call *sweep;		/* next call the tick looks at */
	uint64_t last_sweep_ms;
	json_t *(*stats_cb)(void *);
	void *stats_arg;
	struct mr_ng_counts n;
	char fingerprint[160];		/* mrelay's certificate (the WebRTC legs' DTLS) */
	int forgetting;			/* calls go without ending their sessions */
};

/* ---- requests ---- */

struct ng_req {
	enum mr_ng_cmd cmd;
	char callid[NG_CALLID_LEN];
	char from_tag[NG_TAG_LEN], to_tag[NG_TAG_LEN];
	const struct mr_bn *sdp;
	uint8_t sip_source, trust_address, asymmetric;
	uint8_t replace_origin, ice_remove, no_rtcp_attr, full_rtcp_attr;
	uint8_t mux_offer, mux_require, mux_demux, mux_reject, mux_accept;
	uint8_t fatal, honour_to_tag, record_call, has_delete_delay;
	uint8_t sdes_off, sdes_nonew, proto_accept, dtls_off;
	char sdes_only[8][40];
	unsigned int n_sdes_only;
	char sdes_no[8][40];
	unsigned int n_sdes_no;
	char proto[24];			/* transport-protocol, "" unchanged */
	uint8_t family;			/* address family: MR_AF4/MR_AF6, 0 auto */
	struct mr_ep media_addr;	/* media address */
	struct mr_ep received_from;
	char iface[2][MR_IFNAME_LEN];	/* direction / from-interface, to-interface */
	char label[64], to_label[64];
	unsigned int delete_delay;
	unsigned int limit;
	struct mr_ngsdp_codecs codecs;
	uint8_t has_codecs;
	/* offer: moh {file} */
	uint8_t has_moh;
	char moh_file[256];
	/* play DTMF */
	char code[MR_DTMF_MAX_DIGITS + 1];
	unsigned int dtmf_volume, dtmf_duration, dtmf_pause;	/* value + 1, 0: not given */
	/* play media, stop media */
	uint8_t all, has_repeat_times, db_id;
	char file[256];
	const struct mr_bn *blob;
	unsigned int repeat_times, start_pos;
	uint64_t repeat_ms;
	char warning[160];
	char err[200];
};

static const char *const cmd_names[MR_NG_N_CMDS] = {
	"ping", "offer", "answer", "delete", "query", "list", "statistics", "start recording",
	"stop recording", "block media", "unblock media", "play media", "stop media",
	"silence media", "unsilence media", "block DTMF", "unblock DTMF", "play DTMF", "other"
};

const char *
mr_ng_cmd_name(enum mr_ng_cmd k)
{
	return (unsigned int)k < MR_NG_N_CMDS ? cmd_names[k] : "other";
}

static void
bn_copy(const struct mr_bn *v, char *out, size_t n)
{
	size_t l = v->len < n - 1 ? v->len : n - 1;

	memcpy(out, v->s, l);
	out[l] = '\0';
}

static int
str_is(const struct mr_bn *v, const char *text)
{
	return v != NULL && v->type == MR_BN_STR && mr_bn_streq(v->s, v->len, text);
}

static int
ci_prefix(const char *s, size_t len, const char *pfx)
{
	size_t n = strlen(pfx);

	return len >= n && strncasecmp(s, pfx, n) == 0;
}

static void
codec_add(char (*list)[32], unsigned int *n, const char *s, size_t len)
{
	if (*n >= MR_NGSDP_MAX_CODECS || len == 0 || len >= 32)
		return;
	memcpy(list[*n], s, len);
	list[*n][len] = '\0';
	(*n)++;
}

/* One codec operation ("strip", "mask", "offer", "except", "transcode", ...). 0 known. */
static int
codec_op(struct ng_req *r, const char *op, size_t oplen, const char *val, size_t vlen)
{
	struct mr_ngsdp_codecs *cx = &r->codecs;

	r->has_codecs = 1;
	if (mr_bn_streq(op, oplen, "strip") || mr_bn_streq(op, oplen, "mask") ||
	    mr_bn_streq(op, oplen, "ignore") || mr_bn_streq(op, oplen, "consume")) {
		if ((vlen == 3 && memcmp(val, "all", 3) == 0) ||
		    (vlen == 4 && memcmp(val, "full", 4) == 0))
			cx->strip_all = 1;
		else
			codec_add(cx->strip, &cx->n_strip, val, vlen);
		return 0;
	}
	if (mr_bn_streq(op, oplen, "offer")) {
		codec_add(cx->offer, &cx->n_offer, val, vlen);
		codec_add(cx->except, &cx->n_except, val, vlen);
		return 0;
	}
	if (mr_bn_streq(op, oplen, "except")) {
		codec_add(cx->except, &cx->n_except, val, vlen);
		return 0;
	}
	if (mr_bn_streq(op, oplen, "accept") || mr_bn_streq(op, oplen, "set"))
		return 0;	/* transcoding settings: nothing to do without transcoding */
	snprintf(r->warning, sizeof(r->warning), "codec %.*s: no transcoding in mrelay",
		 (int)oplen, op);
	return -1;
}

static int
sdes_flag(struct ng_req *r, const char *s, size_t len)
{
	if (mr_bn_streq(s, len, "off") || mr_bn_streq(s, len, "no") ||
	    mr_bn_streq(s, len, "disable")) {
		r->sdes_off = 1;
		return 0;
	}
	if (mr_bn_streq(s, len, "nonew")) {
		r->sdes_nonew = 1;
		return 0;
	}
	if (len > 5 && memcmp(s, "only-", 5) == 0) {
		if (r->n_sdes_only < 8 && len - 5 < 40) {
			memcpy(r->sdes_only[r->n_sdes_only], s + 5, len - 5);
			r->sdes_only[r->n_sdes_only++][len - 5] = '\0';
		}
		return 0;
	}
	if (len > 3 && memcmp(s, "no-", 3) == 0) {
		if (r->n_sdes_no < 8 && len - 3 < 40) {
			memcpy(r->sdes_no[r->n_sdes_no], s + 3, len - 3);
			r->sdes_no[r->n_sdes_no++][len - 3] = '\0';
		}
		return 0;
	}
	/* session parameters, padding, lifetime, ordering: accepted, no effect here */
	if (ci_prefix(s, len, "unencrypted") || ci_prefix(s, len, "encrypted") ||
	    ci_prefix(s, len, "unauthenticated") || ci_prefix(s, len, "authenticated") ||
	    mr_bn_streq(s, len, "pad") || mr_bn_streq(s, len, "lifetime") ||
	    mr_bn_streq(s, len, "static") || mr_bn_streq(s, len, "prefer") ||
	    ci_prefix(s, len, "order:") || ci_prefix(s, len, "offerer_pref:"))
		return 0;
	return -1;
}

static int
mux_flag(struct ng_req *r, const char *s, size_t len)
{
	if (mr_bn_streq(s, len, "offer"))
		r->mux_offer = 1;
	else if (mr_bn_streq(s, len, "require"))
		r->mux_require = r->mux_offer = 1;
	else if (mr_bn_streq(s, len, "demux"))
		r->mux_demux = 1;
	else if (mr_bn_streq(s, len, "reject"))
		r->mux_reject = 1;
	else if (mr_bn_streq(s, len, "accept"))
		r->mux_accept = 1;
	else
		return -1;
	return 0;
}

/* Flags that are understood, or deliberately without effect in mrelay (docs/NG.md). */
static const char *const flags_noop[] = {
	"symmetric", "strict-source", "media-handover", "port-latching", "no-port-latching",
	"loop-protect", "all", "reset", "debug", "debugging", "provisional", "single-codec",
	"reuse-codecs", "no-codec-renegotiation", "original-sendrecv", "generate-mid",
	"fast", "strip-extmap", "pad-crypto", "directional", "unidirectional", "early-media",
	"static-codecs", "allow-asymmetric-codecs", "NAT-wait", "recrypt", "trickle-ICE",
	"no-jitter-buffer", "new-branch", "record-call", "allow-no-codec-media", NULL
};

static int
one_flag(struct ng_req *r, const char *s, size_t len)
{
	unsigned int i;

	if (mr_bn_streq(s, len, "all"))
		r->all = 1;	/* play media, stop media: every party; elsewhere no effect */
	if (mr_bn_streq(s, len, "trust-address")) {
		r->trust_address = 1;
		r->sip_source = 0;
		return 0;
	}
	if (mr_bn_streq(s, len, "SIP-source-address")) {
		r->sip_source = 1;
		return 0;
	}
	if (mr_bn_streq(s, len, "asymmetric")) {
		r->asymmetric = 1;
		return 0;
	}
	if (mr_bn_streq(s, len, "no-rtcp-attribute")) {
		r->no_rtcp_attr = 1;
		return 0;
	}
	if (mr_bn_streq(s, len, "full-rtcp-attribute")) {
		r->full_rtcp_attr = 1;
		return 0;
	}
	if (mr_bn_streq(s, len, "fatal")) {
		r->fatal = 1;
		return 0;
	}
	if (mr_bn_streq(s, len, "to-tag")) {
		r->honour_to_tag = 1;
		return 0;
	}
	if (mr_bn_streq(s, len, "record-call"))
		r->record_call = 1;
	if (mr_bn_streq(s, len, "replace-origin")) {
		r->replace_origin = 1;
		return 0;
	}
	if (ci_prefix(s, len, "replace-"))
		return 0;
	/* A transport protocol given as a flag, as rtpengine also takes it. */
	if (mr_bn_streq(s, len, "RTP/AVP") || mr_bn_streq(s, len, "RTP/AVPF") ||
	    mr_bn_streq(s, len, "RTP/SAVP") || mr_bn_streq(s, len, "RTP/SAVPF") ||
	    mr_bn_streq(s, len, "UDP/TLS/RTP/SAVP") || mr_bn_streq(s, len, "UDP/TLS/RTP/SAVPF")) {
		memcpy(r->proto, s, len);
		r->proto[len] = '\0';
		return 0;
	}
	if (len > 5 && memcmp(s, "SDES-", 5) == 0)
		return sdes_flag(r, s + 5, len - 5);
	if (len > 9 && memcmp(s, "rtcp-mux-", 9) == 0)
		return mux_flag(r, s + 9, len - 9);
	if (len > 6 && memcmp(s, "codec-", 6) == 0) {
		const char *op = s + 6, *dash = memchr(op, '-', len - 6);

		if (dash == NULL)
			return -1;
		return codec_op(r, op, (size_t)(dash - op), dash + 1,
				len - 6 - (size_t)(dash - op) - 1);
	}
	if (ci_prefix(s, len, "endpoint-learning-"))
		return 0;
	for (i = 0; flags_noop[i] != NULL; i++)
		if (mr_bn_streq(s, len, flags_noop[i]))
			return 0;
	return -1;
}

/* Each string of a list (or the single string) v through fn; unknown ones counted. */
static void
each_str(struct mr_ng_calls *c, struct ng_req *r, const struct mr_bn *v,
	 int (*fn)(struct ng_req *, const char *, size_t))
{
	const struct mr_bn *m;

	if (v == NULL)
		return;
	if (v->type == MR_BN_STR) {
		if (fn(r, v->s, v->len) < 0)
			c->n.unknown_flags++;
		return;
	}
	if (v->type != MR_BN_LIST)
		return;
	for (m = v->child; m != NULL; m = m->next)
		if (m->type == MR_BN_STR && fn(r, m->s, m->len) < 0)
			c->n.unknown_flags++;
}

static int
replace_flag(struct ng_req *r, const char *s, size_t len)
{
	if (mr_bn_streq(s, len, "origin") || mr_bn_streq(s, len, "origin-full"))
		r->replace_origin = 1;
	else if (!mr_bn_streq(s, len, "session-connection") &&
		 !mr_bn_streq(s, len, "session connection") && !mr_bn_streq(s, len, "SDP-version") &&
		 !mr_bn_streq(s, len, "username") && !mr_bn_streq(s, len, "session-name") &&
		 !mr_bn_streq(s, len, "zero-address") &&
		 !mr_bn_streq(s, len, "force-increment-sdp-ver"))
		return -1;
	return 0;
}

static int
ice_flag(struct ng_req *r, const char *s, size_t len)
{
	/* The peer's ICE attributes never pass: towards a side that speaks DTLS-SRTP
	 * (UDP/TLS/RTP/SAVP[F]) mrelay is an ICE-lite agent with its own, towards the others
	 * there are none (docs/NG.md "WebRTC"). "force" asks for that, "remove" and "default"
	 * agree with it; the rest ask for what mrelay does not do. */
	if (mr_bn_streq(s, len, "remove") || mr_bn_streq(s, len, "default") ||
	    mr_bn_streq(s, len, "force"))
		return 0;
	snprintf(r->warning, sizeof(r->warning), "ICE=%.*s: mrelay is ICE-lite on DTLS-SRTP "
		 "sides and removes ICE elsewhere", (int)(len < 32 ? len : 32), s);
	return -1;
}

static int
int_of(const struct mr_bn *v, unsigned int *out)
{
	if (v->type == MR_BN_INT && v->i >= 0 && v->i <= 86400) {
		*out = (unsigned int)v->i;
		return 0;
	}
	if (v->type == MR_BN_STR && v->len > 0 && v->len < 8) {
		char t[8], *e;
		unsigned long x;

		bn_copy(v, t, sizeof(t));
		x = strtoul(t, &e, 10);
		if (*e == '\0' && x <= 86400) {
			*out = (unsigned int)x;
			return 0;
		}
	}
	return -1;
}

/* A non-negative integer up to max, as an integer or a string of digits. */
static int
uint_of(const struct mr_bn *v, uint64_t max, uint64_t *out)
{
	if (v->type == MR_BN_INT && v->i >= 0 && (uint64_t)v->i <= max) {
		*out = (uint64_t)v->i;
		return 0;
	}
	if (v->type == MR_BN_STR && v->len > 0 && v->len < 12) {
		char t[12], *e;
		unsigned long long x;

		bn_copy(v, t, sizeof(t));
		if (t[0] < '0' || t[0] > '9')
			return -1;
		x = strtoull(t, &e, 10);
		if (*e == '\0' && x <= max) {
			*out = x;
			return 0;
		}
	}
	return -1;
}

/* Keys that need no handling here (tags, SIP details, features mrelay does not have). */
static const char *const keys_noop[] = {
	"command", "call-id", "from-tag", "to-tag", "sdp", "via-branch", "supports",
	"SIP-message-type", "SIP-code", "TOS", "xmlrpc-callback", "metadata",
	"DTLS-fingerprint", "OSRTP", "endpoint-learning", "ICE-lite", "generate-RTCP",
	"all", "from-tags", "set-label", "template", "ptime", "ptime-reverse", "T.38",
	"media-echo", "drop-traffic", "audio-player", "bundle", "extmap", "sdp-attr",
	"sdp-media-remove", "alias-key", "interface", "peer", "output-destination", NULL
};

static int
parse_req(struct mr_ng_calls *c, const struct mr_bn *d, struct ng_req *r)
{
	const struct mr_bn *m, *v;
	char t[64];
	int rc;

	memset(r, 0, sizeof(*r));
	r->delete_delay = c->delete_delay_s;
	r->limit = 32;
	v = mr_bn_get(d, "command");
	if (v == NULL || v->type != MR_BN_STR) {
		snprintf(r->err, sizeof(r->err), "command: missing (a string)");
		return -1;
	}
	r->cmd = MR_NG_OTHER;
	for (unsigned int k = 0; k < MR_NG_OTHER; k++)
		if (mr_bn_streq(v->s, v->len, cmd_names[k]))
			r->cmd = (enum mr_ng_cmd)k;
	rc = mr_bn_get_str(d, "call-id", r->callid, sizeof(r->callid));
	if (rc == -EINVAL || rc == -ENAMETOOLONG) {
		snprintf(r->err, sizeof(r->err), "call-id: must be a string of at most %d bytes",
			 NG_CALLID_LEN - 1);
		return -1;
	}
	rc = mr_bn_get_str(d, "from-tag", r->from_tag, sizeof(r->from_tag));
	if (rc == -EINVAL || rc == -ENAMETOOLONG) {
		snprintf(r->err, sizeof(r->err), "from-tag: must be a string of at most %d bytes",
			 NG_TAG_LEN - 1);
		return -1;
	}
	rc = mr_bn_get_str(d, "to-tag", r->to_tag, sizeof(r->to_tag));
	if (rc == -EINVAL || rc == -ENAMETOOLONG) {
		snprintf(r->err, sizeof(r->err), "to-tag: must be a string of at most %d bytes",
			 NG_TAG_LEN - 1);
		return -1;
	}
	r->sdp = mr_bn_get(d, "sdp");
	if (r->sdp != NULL && r->sdp->type != MR_BN_STR) {
		snprintf(r->err, sizeof(r->err), "sdp: must be a string");
		return -1;
	}

	for (m = d->child; m != NULL; m = m->next) {
		const char *k = m->key;
		uint32_t kl = m->klen;
		unsigned int i;

		if (mr_bn_streq(k, kl, "flags")) {
			each_str(c, r, m, one_flag);
		} else if (mr_bn_streq(k, kl, "replace")) {
			each_str(c, r, m, replace_flag);
		} else if (mr_bn_streq(k, kl, "ICE")) {
			each_str(c, r, m, ice_flag);
		} else if (mr_bn_streq(k, kl, "rtcp-mux")) {
			each_str(c, r, m, mux_flag);
		} else if (mr_bn_streq(k, kl, "SDES")) {
			each_str(c, r, m, sdes_flag);
		} else if (mr_bn_streq(k, kl, "DTLS")) {
			/* mrelay is the DTLS server (passive) of its WebRTC legs, always. */
			if (str_is(m, "off") || str_is(m, "no") || str_is(m, "disable"))
				r->dtls_off = 1;
			else if (!str_is(m, "passive") && !str_is(m, "default"))
				snprintf(r->warning, sizeof(r->warning), "DTLS: mrelay is passive "
					 "(the DTLS server) on its WebRTC legs");
		} else if (mr_bn_streq(k, kl, "transport-protocol")) {
			if (m->type != MR_BN_STR || m->len >= sizeof(r->proto))
				goto bad_type;
			if (str_is(m, "accept")) {
				r->proto_accept = 1;
			} else if (str_is(m, "RTP/AVP") || str_is(m, "RTP/AVPF") ||
				   str_is(m, "RTP/SAVP") || str_is(m, "RTP/SAVPF") ||
				   str_is(m, "UDP/TLS/RTP/SAVP") ||
				   str_is(m, "UDP/TLS/RTP/SAVPF")) {
				bn_copy(m, r->proto, sizeof(r->proto));
			} else {
				bn_copy(m, t, sizeof(t));
				snprintf(r->err, sizeof(r->err), "transport-protocol: '%.40s' is "
					 "not RTP/AVP, RTP/AVPF, RTP/SAVP, RTP/SAVPF or "
					 "UDP/TLS/RTP/SAVP[F]", t);
				return -1;
			}
		} else if (mr_bn_streq(k, kl, "address-family")) {
			if (str_is(m, "IP4"))
				r->family = MR_AF4;
			else if (str_is(m, "IP6"))
				r->family = MR_AF6;
			else {
				snprintf(r->err, sizeof(r->err), "address family: must be IP4 or "
					 "IP6");
				return -1;
			}
		} else if (mr_bn_streq(k, kl, "media-address")) {
			if (m->type != MR_BN_STR || m->len >= sizeof(t))
				goto bad_type;
			bn_copy(m, t, sizeof(t));
			if (mr_addr_parse(t, &r->media_addr) < 0) {
				snprintf(r->err, sizeof(r->err), "media address: '%.60s' is not an "
					 "IP address", t);
				return -1;
			}
		} else if (mr_bn_streq(k, kl, "received-from")) {
			/* [ "IP4", "198.18.0.7" ]: only the address matters */
			if (m->type == MR_BN_LIST && m->len == 2 &&
			    m->child->next->type == MR_BN_STR &&
			    m->child->next->len < sizeof(t)) {
				bn_copy(m->child->next, t, sizeof(t));
				if (mr_addr_parse(t, &r->received_from) < 0)
					memset(&r->received_from, 0, sizeof(r->received_from));
			}
		} else if (mr_bn_streq(k, kl, "direction")) {
			const struct mr_bn *e;

			if (m->type != MR_BN_LIST)
				goto bad_type;
			for (i = 0, e = m->child; e != NULL && i < 2; e = e->next, i++)
				if (e->type == MR_BN_STR)
					bn_copy(e, r->iface[i], sizeof(r->iface[i]));
		} else if (mr_bn_streq(k, kl, "from-interface") ||
			   mr_bn_streq(k, kl, "to-interface")) {
			if (m->type != MR_BN_STR)
				goto bad_type;
			bn_copy(m, r->iface[mr_bn_streq(k, kl, "to-interface")],
				sizeof(r->iface[0]));
		} else if (mr_bn_streq(k, kl, "label") || mr_bn_streq(k, kl, "from-label")) {
			if (m->type != MR_BN_STR)
				goto bad_type;
			bn_copy(m, r->label, sizeof(r->label));
		} else if (mr_bn_streq(k, kl, "to-label")) {
			if (m->type != MR_BN_STR)
				goto bad_type;
			bn_copy(m, r->to_label, sizeof(r->to_label));
		} else if (mr_bn_streq(k, kl, "delete-delay")) {
			if (int_of(m, &r->delete_delay) < 0) {
				snprintf(r->err, sizeof(r->err), "delete delay: must be an integer "
					 "from 0 to 86400");
				return -1;
			}
			r->has_delete_delay = 1;
		} else if (mr_bn_streq(k, kl, "limit")) {
			if (int_of(m, &r->limit) < 0 || r->limit == 0) {
				snprintf(r->err, sizeof(r->err), "limit: must be a positive integer");
				return -1;
			}
		} else if (mr_bn_streq(k, kl, "file")) {
			if (m->type != MR_BN_STR)
				goto bad_type;
			if (m->len == 0 || m->len >= sizeof(r->file) ||
			    memchr(m->s, '\0', m->len) != NULL) {
				snprintf(r->err, sizeof(r->err), "file: must be a file name of 1 to "
					 "%zu bytes", sizeof(r->file) - 1);
				return -1;
			}
			bn_copy(m, r->file, sizeof(r->file));
		} else if (mr_bn_streq(k, kl, "blob")) {
			if (m->type != MR_BN_STR)
				goto bad_type;
			r->blob = m;
		} else if (mr_bn_streq(k, kl, "db-id")) {
			r->db_id = 1;
		} else if (mr_bn_streq(k, kl, "repeat-times") ||
			   mr_bn_streq(k, kl, "repeat-duration") ||
			   mr_bn_streq(k, kl, "start-pos")) {
			uint64_t x;
			int rt = mr_bn_streq(k, kl, "repeat-times");
			int sp = mr_bn_streq(k, kl, "start-pos");

			if (uint_of(m, rt ? 1000000 : sp ? 100000000 : 86400000, &x) < 0) {
				snprintf(r->err, sizeof(r->err), "%s: must be an integer from 0 to "
					 "%s", rt ? "repeat-times" : sp ? "start-pos" :
					 "repeat-duration", rt ? "1000000" : sp ? "100000000" :
					 "86400000 (ms)");
				return -1;
			}
			if (rt) {
				r->repeat_times = (unsigned int)x;
				r->has_repeat_times = 1;
			} else if (sp) {
				r->start_pos = (unsigned int)x;
			} else {
				r->repeat_ms = x;
			}
		} else if (mr_bn_streq(k, kl, "moh")) {
			/* music on hold: {"file": ..., "mode": ..., "connection": ...}; mode and
			 * connection (how rtpengine rewrites the holder's SDP) are not needed:
			 * mrelay passes the direction attributes on as they are. */
			const struct mr_bn *f;

			if (m->type != MR_BN_DICT)
				goto bad_type;
			for (f = m->child; f != NULL; f = f->next) {
				if (mr_bn_streq(f->key, f->klen, "file") && f->type == MR_BN_STR &&
				    f->len > 0 && f->len < sizeof(r->moh_file) &&
				    memchr(f->s, '\0', f->len) == NULL) {
					bn_copy(f, r->moh_file, sizeof(r->moh_file));
					r->has_moh = 1;
				} else if (mr_bn_streq(f->key, f->klen, "blob") ||
					   mr_bn_streq(f->key, f->klen, "db-id") ||
					   mr_bn_streq(f->key, f->klen, "file")) {
					snprintf(r->err, sizeof(r->err), "moh: give file (1 to %zu "
						 "bytes: a file under messages.directory or a stored "
						 "message's id); blob and db-id are not taken",
						 sizeof(r->moh_file) - 1);
					return -1;
				}
			}
		} else if (mr_bn_streq(k, kl, "code")) {
			/* play DTMF: digits as a string, or one event code 0-15 */
			if (m->type == MR_BN_INT && m->i >= 0 && m->i <= 15) {
				r->code[0] = "0123456789*#ABCD"[m->i];
				r->code[1] = '\0';
			} else if (m->type == MR_BN_STR && m->len > 0 &&
				   m->len < sizeof(r->code) && memchr(m->s, '\0', m->len) == NULL) {
				bn_copy(m, r->code, sizeof(r->code));
			} else {
				snprintf(r->err, sizeof(r->err), "code: must be 1 to %d DTMF digits "
					 "(0-9, *, #, A-D) or an event code 0-15", MR_DTMF_MAX_DIGITS);
				return -1;
			}
		} else if (mr_bn_streq(k, kl, "volume") || mr_bn_streq(k, kl, "duration") ||
			   mr_bn_streq(k, kl, "pause")) {
			uint64_t x;
			int vo = mr_bn_streq(k, kl, "volume"), du = mr_bn_streq(k, kl, "duration");
			uint64_t lo = du ? 20 : 0, hi = vo ? 63 : du ? 5000 : 1000;

			if (uint_of(m, hi, &x) < 0 || x < lo) {
				snprintf(r->err, sizeof(r->err), "%s: must be an integer from %u to %u%s",
					 vo ? "volume" : du ? "duration" : "pause", (unsigned int)lo,
					 (unsigned int)hi, vo ? " (-dBm0)" : " (ms)");
				return -1;
			}
			/* + 1: 0 is "not given" (a volume or pause of 0 is one) */
			*(vo ? &r->dtmf_volume : du ? &r->dtmf_duration : &r->dtmf_pause) =
				(unsigned int)x + 1;
		} else if (mr_bn_streq(k, kl, "all")) {
			/* "all": "all" (rtpengine's form; "none" is no selection) */
			r->all = !str_is(m, "none");
		} else if (mr_bn_streq(k, kl, "record-call")) {
			r->record_call = str_is(m, "yes") || str_is(m, "on");
		} else if (mr_bn_streq(k, kl, "codec")) {
			const struct mr_bn *op, *e;

			if (m->type != MR_BN_DICT)
				goto bad_type;
			for (op = m->child; op != NULL; op = op->next) {
				if (op->type == MR_BN_STR) {
					if (codec_op(r, op->key, op->klen, op->s, op->len) < 0)
						c->n.unknown_flags++;
					continue;
				}
				if (op->type != MR_BN_LIST)
					continue;
				for (e = op->child; e != NULL; e = e->next)
					if (e->type == MR_BN_STR &&
					    codec_op(r, op->key, op->klen, e->s, e->len) < 0)
						c->n.unknown_flags++;
			}
		} else {
			for (i = 0; keys_noop[i] != NULL; i++)
				if (mr_bn_streq(k, kl, keys_noop[i]))
					break;
			if (keys_noop[i] == NULL)
				c->n.unknown_keys++;
		}
		continue;
bad_type:
		snprintf(r->err, sizeof(r->err), "%.*s: wrong type", (int)(kl < 40 ? kl : 40), k);
		return -1;
	}
	return 0;
}

/* ---- the model ---- */

static uint32_t
hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h >> (32 - NG_HASH_BITS);
}

static struct ng_call *
call_find(struct mr_ng_calls *c, const char *callid)
{
	struct ng_call *x;

	for (x = c->hash[hash_str(callid)]; x != NULL; x = x->hnext)
		if (strcmp(x->callid, callid) == 0)
			return x;
	return NULL;
}

static struct ng_call *
call_new(struct mr_ng_calls *c, const char *callid)
{
	struct ng_call *x = calloc(1, sizeof(*x));
	uint32_t h = hash_str(callid);

	if (x == NULL)
		return NULL;
	snprintf(x->callid, sizeof(x->callid), "%s", callid);
	x->created = x->last_signal = time(NULL);
	x->hnext = c->hash[h];
	c->hash[h] = x;
	x->prev = c->tail;
	if (c->tail)
		c->tail->next = x;
	else
		c->head = x;
	c->tail = x;
	c->n.calls++;
	c->n.calls_created++;
	return x;
}

static void
branch_free(struct mr_ng_calls *c, struct ng_branch *b)
{
	unsigned int k;

	for (k = 0; k < b->n_media && !c->forgetting; k++)
		if (b->media[k].id[0] != '\0')
			c->be.destroy(c->be.ctx, b->media[k].id);
	explicit_bzero(b, sizeof(*b));		/* SDES keys */
	free(b);
}

static void
call_free(struct mr_ng_calls *c, struct ng_call *x)
{
	struct ng_call **pp = &c->hash[hash_str(x->callid)];
	unsigned int i;

	while (*pp != x)
		pp = &(*pp)->hnext;
	*pp = x->hnext;
	if (x->prev)
		x->prev->next = x->next;
	else
		c->head = x->next;
	if (x->next)
		x->next->prev = x->prev;
	else
		c->tail = x->prev;
	if (c->sweep == x)
		c->sweep = x->next;
	for (i = 0; i < x->n_br; i++)
		branch_free(c, x->br[i]);
	free(x);
	c->n.calls--;
}

static void
branch_remove(struct mr_ng_calls *c, struct ng_call *x, unsigned int i)
{
	branch_free(c, x->br[i]);
	memmove(&x->br[i], &x->br[i + 1], (x->n_br - i - 1) * sizeof(x->br[0]));
	x->n_br--;
}

static struct ng_branch *
branch_new(struct ng_call *x, const char *tag0)
{
	struct ng_branch *b;

	if (x->n_br == NG_MAX_BRANCHES)
		return NULL;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return NULL;
	snprintf(b->side[0].tag, sizeof(b->side[0].tag), "%s", tag0);
	b->side[0].created = time(NULL);
	x->br[x->n_br++] = b;
	return b;
}

/* The branch between tags t1 and t2 (either order); *side = the side of t1. */
static struct ng_branch *
branch_find(struct ng_call *x, const char *t1, const char *t2, unsigned int *side)
{
	unsigned int i, s;

	for (i = 0; i < x->n_br; i++)
		for (s = 0; s < 2; s++)
			if (strcmp(x->br[i]->side[s].tag, t1) == 0 &&
			    strcmp(x->br[i]->side[s ^ 1].tag, t2) == 0) {
				*side = s;
				return x->br[i];
			}
	return NULL;
}

static int
proto_srtp(const char *p)
{
	return strncmp(p, "RTP/SAVP", 8) == 0;
}

/* A WebRTC side's SDP (DTLS-SRTP with ICE): what mrelay needs of it, or an error. mrelay is
 * the DTLS server: the peer must be able to be the client (a=setup actpass or active). */
static int
webrtc_check(struct ng_req *r, const struct mr_ngsdp_media *m)
{
	if (r->dtls_off) {
		snprintf(r->err, sizeof(r->err), "media %s: DTLS=off, but the side speaks %s",
			 m->type, m->proto);
		return -1;
	}
	if (m->fingerprint[0] == '\0') {
		snprintf(r->err, sizeof(r->err), "media %s: %s without a=fingerprint", m->type,
			 m->proto);
		return -1;
	}
	if (strcmp(m->setup, "passive") == 0) {
		snprintf(r->err, sizeof(r->err), "media %s: a=setup:passive, but mrelay is the "
			 "DTLS server (it needs actpass or active)", m->type);
		return -1;
	}
	return 0;
}

/* Where side s's media goes, from its SDP and the request. */
static void
media_remote(const struct ng_req *r, const struct mr_ngsdp_media *m, struct mr_ep *rtp,
	     struct mr_ep *rtcp)
{
	memset(rtp, 0, sizeof(*rtp));
	memset(rtcp, 0, sizeof(*rtcp));
	if (m->port == 0)
		return;
	if (r->media_addr.family)
		*rtp = r->media_addr;
	else if (r->sip_source && r->received_from.family)
		*rtp = r->received_from;
	else if (m->addr.family && !m->zero_addr)
		*rtp = m->addr;
	else
		return;		/* hold or no address: the leg latches */
	rtp->port = m->port;
	if (m->rtcp_mux && !r->mux_demux && !r->mux_reject) {
		return;
	} else if (m->rtcp_mux) {
		*rtcp = *rtp;		/* it sends and takes RTCP on the RTP port */
	} else if (m->rtcp_port) {
		*rtcp = m->rtcp_addr.family && !r->media_addr.family && !r->sip_source ?
			m->rtcp_addr : *rtp;
		rtcp->port = m->rtcp_port;
	}
}

static void
info_store(struct mr_ng_calls *c, struct ng_media *bm, const struct mr_ng_sess_info *si)
{
	unsigned int i;

	snprintf(bm->id, sizeof(bm->id), "%s", si->id);
	if (si->fingerprint[0] != '\0')
		snprintf(c->fingerprint, sizeof(c->fingerprint), "%s", si->fingerprint);
	for (i = 0; i < 2; i++) {
		/* A WebRTC leg's credentials come in the answer that made it. */
		if (si->leg[i].ice_ufrag[0] != '\0') {
			snprintf(bm->ice_ufrag[i], sizeof(bm->ice_ufrag[i]), "%s",
				 si->leg[i].ice_ufrag);
			snprintf(bm->ice_pwd[i], sizeof(bm->ice_pwd[i]), "%s", si->leg[i].ice_pwd);
		}
		bm->local[i] = si->leg[i].local;
		bm->local_rtcp[i] = si->leg[i].local_rtcp;
		if (si->leg[i].local_key[0] != '\0')
			snprintf(bm->local_key[i], sizeof(bm->local_key[i]), "%s",
				 si->leg[i].local_key);
	}
}

/* The a=crypto line the remote of side s offered or answered that mrelay can use: its
 * value ("TAG SUITE inline:...") in out and the key in k. -1 when none. */
static int
pick_crypto(const struct mr_ngsdp *sdp, const struct mr_ngsdp_media *m, const struct ng_req *r,
	    struct mr_srtp_key *k, uint8_t *tag)
{
	unsigned int i, j;
	char v[200], e[64];

	for (i = 0; i < m->n_crypto; i++) {
		char *sp;
		int skip = 0;

		if (mr_ngsdp_crypto(sdp, m->crypto[i], v, sizeof(v)) < 0)
			continue;
		sp = strchr(v, ' ');
		if (sp == NULL)
			continue;
		for (j = 0; j < r->n_sdes_no; j++)
			if (strncmp(sp + 1, r->sdes_no[j], strlen(r->sdes_no[j])) == 0)
				skip = 1;
		if (skip)
			continue;
		if (mr_srtp_sdes_parse(sp + 1, k, e, sizeof(e)) == 0) {
			*tag = (uint8_t)atoi(v);
			return 0;
		}
	}
	return -1;
}

/* The suite mrelay offers a new SDES side: the first SDES-only suite it knows, else
 * AES_CM_128_HMAC_SHA1_80. */
static const char *
offer_suite(const struct ng_req *r)
{
	static const char *const known[] = {
		"AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32", "AES_256_CM_HMAC_SHA1_80",
		"AEAD_AES_128_GCM", "AEAD_AES_256_GCM", NULL
	};
	unsigned int i, j;

	for (j = 0; j < r->n_sdes_only; j++)
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(r->sdes_only[j], known[i]) == 0)
				return known[i];
	for (i = 0; known[i] != NULL; i++) {
		int no = 0;

		for (j = 0; j < r->n_sdes_no; j++)
			if (strcmp(r->sdes_no[j], known[i]) == 0)
				no = 1;
		if (!no)
			return known[i];
	}
	return NULL;
}

/* Fill the SRTP request of leg s from what side s says: SRTP with its key (the remote key),
 * or plain. A side that speaks SRTP but gave no usable key is an error. */
static int
srtp_req_of(struct ng_req *r, const struct mr_ngsdp *sdp, const struct mr_ngsdp_media *m,
	    const char *proto, struct mr_srtp_req *sr, uint8_t *tag)
{
	memset(sr, 0, sizeof(*sr));
	if (!proto_srtp(proto))
		return 0;
	sr->present = 1;
	if (pick_crypto(sdp, m, r, &sr->remote_key, tag) == 0) {
		sr->has_remote_key = 1;
		sr->suite = sr->remote_key.suite;
		return 0;
	}
	if (m->n_crypto > 0 || r->sdes_off) {
		snprintf(r->err, sizeof(r->err), "media %s: no usable SDES crypto suite (a=crypto)",
			 m->type);
		return -1;
	}
	/* DTLS-SRTP comes as UDP/TLS/RTP/SAVP[F] (docs/NG.md "WebRTC") */
	snprintf(r->err, sizeof(r->err), "media %s: %s without a=crypto (DTLS-SRTP is spoken "
		 "as UDP/TLS/RTP/SAVP or UDP/TLS/RTP/SAVPF)", m->type, proto);
	return -1;
}

/* Make or update the session of media k of branch b from side s's SDP (an offer, or the
 * answer when answer is set). Fills out (what the other side is told). */
static int
media_apply(struct mr_ng_calls *c, struct ng_call *x, struct ng_branch *b, unsigned int s,
	    unsigned int k, const struct mr_ngsdp *sdp, struct ng_req *r, int answer,
	    struct mr_ngsdp_media_out *out)
{
	const struct mr_ngsdp_media *m = &sdp->media[k];
	struct ng_media *bm = &b->media[k];
	unsigned int o = s ^ 1;
	struct mr_ep rtp, rtcp;
	struct mr_ng_sess_info si;
	struct mr_srtp_req sr_s;
	uint8_t tag = 1;
	int rc;

	memset(out, 0, sizeof(*out));
	if (m->port == 0) {
		if (bm->id[0] != '\0')
			c->be.destroy(c->be.ctx, bm->id);
		bm->id[0] = '\0';
		out->rejected = 1;
		return 0;
	}
	if (bm->type[0] == '\0' || strcmp(bm->type, m->type) != 0)
		snprintf(bm->type, sizeof(bm->type), "%s", m->type);
	media_remote(r, m, &rtp, &rtcp);
	/* The protocols: side s speaks what it says; the other side what the request asks
	 * (an offer), or what it was offered (an answer: it answers what it got). */
	snprintf(bm->proto[s], sizeof(bm->proto[s]), "%s", m->proto);
	if (!answer)
		snprintf(bm->proto[o], sizeof(bm->proto[o]), "%s",
			 r->proto[0] ? r->proto : (bm->proto[o][0] && bm->id[0] ? bm->proto[o] :
						   m->proto));
	if (r->sdes_off && proto_srtp(bm->proto[o]) && !proto_srtp(m->proto))
		snprintf(bm->proto[o], sizeof(bm->proto[o]), "RTP/AVP");
	/* WebRTC sides (DTLS-SRTP, ICE-lite): a leg is made one at its creation and stays. */
	if (m->dtls && webrtc_check(r, m) < 0)
		return -1;
	if (r->dtls_off && mr_ngsdp_proto_dtls(bm->proto[o])) {
		snprintf(r->err, sizeof(r->err), "media %s: DTLS=off, but transport-protocol is %s",
			 m->type, bm->proto[o]);
		return -1;
	}
	if (bm->id[0] != '\0' && (bm->webrtc[s] != m->dtls ||
				  bm->webrtc[o] != mr_ngsdp_proto_dtls(bm->proto[o]))) {
		snprintf(r->err, sizeof(r->err), "media %s: a side cannot change between "
			 "DTLS-SRTP (UDP/TLS/RTP/SAVP[F]) and RTP or SDES once its session is "
			 "made", m->type);
		return -1;
	}
	/* A browser's mid and BUNDLE: given back to it where the other side's SDP has none. */
	snprintf(bm->mid[s], sizeof(bm->mid[s]), "%s", m->mid);
	bm->bundle[s] = sdp->bundle;
	/* An offer to a browser from an SDP without mids: browsers want one (RFC 8843 §9.2
	 * does too for BUNDLE); the section's index, which its answer echoes. */
	if (!answer && mr_ngsdp_proto_dtls(bm->proto[o]) && m->mid[0] == '\0' &&
	    bm->mid[o][0] == '\0')
		snprintf(bm->mid[o], sizeof(bm->mid[o]), "%u", k);
	/* What a played message would take towards side s (play media). */
	(void)mr_ngsdp_play_codec(sdp, k, &bm->play_codec[s], &bm->play_pt[s]);
	/* What block DTMF holds back of side s. */
	{
		uint8_t pt;

		bm->dtmf_pt1[s] = mr_ngsdp_dtmf_pt(sdp, k, &pt, &bm->dtmf_rate8[s]) == 0 ?
				  (uint8_t)(pt + 1) : 0;
	}
	if (!m->dtls && srtp_req_of(r, sdp, m, m->proto, &sr_s, &tag) < 0)
		return -1;
	if (m->dtls)
		memset(&sr_s, 0, sizeof(sr_s));	/* the keys come from DTLS */
	bm->srtp[s] = sr_s.present;
	bm->crypto_tag[s] = tag;
	explicit_bzero(bm->remote_crypto[s], sizeof(bm->remote_crypto[s]));
	if (sr_s.has_remote_key)
		mr_srtp_sdes_format(&sr_s.remote_key, bm->remote_crypto[s],
				    sizeof(bm->remote_crypto[s]));
	bm->adv[s] = rtp;
	bm->adv_rtcp[s] = rtcp;

	if (bm->id[0] != '\0') {
		struct mr_session_patch p;

		memset(&p, 0, sizeof(p));
		/* The SDP answer names mrelay's endpoints only: no reason to hold the control
		 * thread (and every request behind this one) until the worker applied the new
		 * remote. Media that arrives before it goes by the rules of the old one. */
		p.no_wait = 1;
		p.brief = 1;		/* the endpoints and keys are all it reads */
		p.has_leg[s] = 1;
		if (bm->webrtc[s]) {
			/* ICE chose the remote; a new certificate is a new handshake. */
			if (strcmp(bm->peer_fp[s], m->fingerprint) != 0) {
				p.legs[s].webrtc = 1;
				snprintf(p.legs[s].fingerprint, sizeof(p.legs[s].fingerprint), "%s",
					 m->fingerprint);
			}
		} else if (rtp.family) {
			p.legs[s].has_remote = 1;
			p.legs[s].remote = rtp;
			if (rtcp.family && !bm->rtcp_mux) {
				p.legs[s].has_rtcp_remote = 1;
				p.legs[s].rtcp_remote = rtcp;
			}
		} else {
			p.legs[s].clear_remote = 1;
		}
		if (sr_s.present && sr_s.has_remote_key) {
			p.legs[s].srtp = sr_s;
		} else if (!sr_s.present && bm->srtp[s]) {
			p.legs[s].srtp.disable = 1;
		}
		if (!answer && !bm->srtp[o] && proto_srtp(bm->proto[o]) && !bm->webrtc[o]) {
			/* the other side becomes SRTP in a re-offer: a key for it */
			p.has_leg[o] = 1;
			p.legs[o].srtp.present = 1;
			p.legs[o].srtp.suite = 0;
		}
		rc = c->be.patch(c->be.ctx, bm->id, &p, &si, r->err, sizeof(r->err));
		mr_srtp_req_wipe(&p.legs[s].srtp);
		if (rc == -ENOENT) {
			bm->id[0] = '\0';	/* ended (idle): a new session below */
			r->err[0] = '\0';
		} else if (rc < 0) {
			return -1;
		} else {
			if (p.legs[o].srtp.present)
				bm->srtp[o] = 1;
			if (p.legs[s].webrtc)
				snprintf(bm->peer_fp[s], sizeof(bm->peer_fp[s]), "%s",
					 m->fingerprint);
			info_store(c, bm, &si);
		}
	}
	if (bm->id[0] == '\0') {
		struct mr_session_req q;
		unsigned int i;

		memset(&q, 0, sizeof(q));
		bm->rtcp_mux = m->rtcp_mux && !r->mux_demux && !r->mux_reject;
		if (r->mux_require)
			bm->rtcp_mux = 1;
		bm->webrtc[s] = m->dtls;
		bm->webrtc[o] = (uint8_t)mr_ngsdp_proto_dtls(bm->proto[o]);
		bm->peer_fp[o][0] = '\0';
		bm->peer_fp[s][0] = '\0';
		if (bm->webrtc[s] || bm->webrtc[o])
			bm->rtcp_mux = 1;	/* ICE runs on the one port of a WebRTC leg */
		q.rtcp_mux = bm->rtcp_mux;
		snprintf(q.label, sizeof(q.label), "%.*s", (int)sizeof(q.label) - 1, x->callid);
		for (i = 0; i < 2; i++) {
			struct mr_leg_req *lr = &q.legs[i];

			if (bm->webrtc[i]) {
				lr->webrtc = 1;	/* its remote is the one ICE chooses */
				continue;
			}
			if (bm->adv[i].family) {
				lr->has_remote = 1;
				lr->remote = bm->adv[i];
				if (bm->adv_rtcp[i].family && !bm->rtcp_mux) {
					lr->has_rtcp_remote = 1;
					lr->rtcp_remote = bm->adv_rtcp[i];
				}
			}
		}
		/* Interfaces and families: side s from the request (direction[0]) or its
		 * address; the other side from direction[1] and address family. */
		if (!answer) {
			snprintf(bm->iface[s], sizeof(bm->iface[s]), "%s", r->iface[0]);
			snprintf(bm->iface[o], sizeof(bm->iface[o]), "%s", r->iface[1]);
			bm->family[s] = rtp.family;
			bm->family[o] = r->family ? r->family : rtp.family;
		} else if (rtp.family) {
			bm->family[s] = rtp.family;
		}
		for (i = 0; i < 2; i++) {
			/* "internal"/"external" are rtpengine's legacy family selectors */
			if (strcmp(bm->iface[i], "internal") != 0 &&
			    strcmp(bm->iface[i], "external") != 0)
				snprintf(q.legs[i].interface, sizeof(q.legs[i].interface), "%s",
					 bm->iface[i]);
			if (!q.legs[i].has_remote)
				q.legs[i].family = bm->family[i];
		}
		q.legs[s].srtp = sr_s;
		if (bm->webrtc[s])
			snprintf(q.legs[s].fingerprint, sizeof(q.legs[s].fingerprint), "%s",
				 m->fingerprint);
		if (proto_srtp(bm->proto[o]) && !bm->srtp[o] && !bm->webrtc[o]) {
			const char *suite = offer_suite(r);

			if (suite == NULL) {
				snprintf(r->err, sizeof(r->err), "SDES: no crypto suite left to offer");
				return -1;
			}
			q.legs[o].srtp.present = 1;
			q.legs[o].srtp.suite = (uint8_t)mr_srtp_suite_by_name(suite);
			bm->srtp[o] = 1;
			bm->crypto_tag[o] = 1;
		} else if (bm->srtp[o] && answer) {
			/* a fork: the offerer's SRTP again, its key kept from the offer */
			q.legs[o].srtp.present = 1;
			if (mr_srtp_sdes_parse(bm->remote_crypto[o], &q.legs[o].srtp.remote_key,
					       NULL, 0) == 0) {
				q.legs[o].srtp.has_remote_key = 1;
				q.legs[o].srtp.suite = q.legs[o].srtp.remote_key.suite;
			}
		}
		rc = c->be.create(c->be.ctx, &q, &si, r->err, sizeof(r->err));
		mr_srtp_req_wipe(&q.legs[s].srtp);
		if (rc < 0)
			return -1;
		info_store(c, bm, &si);
		if (bm->webrtc[s])
			snprintf(bm->peer_fp[s], sizeof(bm->peer_fp[s]), "%s", m->fingerprint);
	}
	/* What the other side is told: its leg's endpoint. */
	out->local = bm->local[o];
	out->rtcp_port = bm->rtcp_mux ? 0 : bm->local_rtcp[o].port;
	out->rtcp_mux = bm->rtcp_mux || (answer ? 0 : r->mux_offer && bm->rtcp_mux);
	if (strcmp(bm->proto[o], m->proto) != 0)
		out->proto = bm->proto[o];
	out->replace_crypto = 1;
	if (bm->srtp[o] && bm->local_key[o][0] != '\0' && !r->sdes_off) {
		out->n_crypto = 1;
		snprintf(out->crypto[0], sizeof(out->crypto[0]), "%u %s",
			 bm->crypto_tag[o] ? bm->crypto_tag[o] : 1, bm->local_key[o]);
	}
	if (bm->webrtc[o]) {
		/* ICE-lite and the DTLS server: actpass in an offer (browsers answer active),
		 * passive in an answer (RFC 8842 §5.3). */
		out->rtcp_mux = 1;
		out->ice_ufrag = bm->ice_ufrag[o];
		out->ice_pwd = bm->ice_pwd[o];
		out->fingerprint = c->fingerprint;
		out->setup = answer ? "passive" : "actpass";
		if (bm->mid[o][0] != '\0')
			out->mid = bm->mid[o];
	}
	return 0;
}

/* Play pl to side hear of branch b, on each audio media with a session (leg hear faces that
 * party): a message in the first codec of that side's SDP that mrelay plays, or DTMF
 * (pl->codec MR_NGSDP_PLAY_DTMF) in the telephone-event type and clock of its SDP, else of
 * the other side's. Counts the audio media in *audio; returns the media played, or -1 with
 * the reason in e at the first failure (keep_going: on to the next, e the last reason).
 * *d: the duration of the last play. */
static int
play_to_side(struct mr_ng_calls *c, struct ng_branch *b, unsigned int hear,
	     struct mr_ng_play *pl, int keep_going, unsigned int *audio, uint64_t *d, char *e,
	     size_t elen)
{
	int dtmf = pl->codec == MR_NGSDP_PLAY_DTMF, played = 0;
	unsigned int k;

	for (k = 0; k < b->n_media; k++) {
		struct ng_media *bm = &b->media[k];
		unsigned int w = bm->dtmf_pt1[hear] ? hear : hear ^ 1;

		if (bm->id[0] == '\0' || strcmp(bm->type, "audio") != 0)
			continue;
		(*audio)++;
		if (dtmf) {
			if (bm->dtmf_pt1[w] == 0)
				continue;
			pl->pt = (uint8_t)(bm->dtmf_pt1[w] - 1);
			pl->dtmf_rate = 8000u * (bm->dtmf_rate8[w] ? bm->dtmf_rate8[w] : 1);
		} else {
			if (bm->play_codec[hear] == MR_NGSDP_PLAY_NONE)
				continue;
			pl->codec = bm->play_codec[hear];
			pl->pt = bm->play_pt[hear];
		}
		if (c->be.play(c->be.ctx, bm->id, hear, pl, d, e, elen) < 0) {
			if (!keep_going)
				return -1;
			continue;
		}
		played++;
	}
	return played;
}

/* pl played on each branch of x at the sides sel selects: to that party (other 0: play
 * media), or to the other party of the branch where it is known (other 1: play DTMF, the
 * selected party's digits). The media played, or -1 with r->err "what: reason"; *audio
 * counts the audio media, *dur is the last play's duration. */
static int
play_parties(struct mr_ng_calls *c, struct ng_req *r, struct ng_call *x, const uint8_t *sel,
	     struct mr_ng_play *pl, unsigned int other, const char *what, unsigned int *audio,
	     uint64_t *dur)
{
	unsigned int i, s, played = 0;
	char e[160];

	for (i = 0; i < x->n_br; i++)
		for (s = 0; s < 2; s++) {
			unsigned int hear = s ^ other;
			int n;

			if (!(sel[i] & (1u << s)) ||
			    (other && x->br[i]->side[hear].tag[0] == '\0'))
				continue;
			n = play_to_side(c, x->br[i], hear, pl, 0, audio, dur, e, sizeof(e));
			if (n < 0) {
				snprintf(r->err, sizeof(r->err), "%s: %s", what, e);
				return -1;
			}
			played += (unsigned int)n;
		}
	return (int)played;
}

/* Music on hold (rtpengine's moh): a side that offered a moh file and now holds (every
 * audio section of its offer sendonly, inactive or at a zero address) has it played to the
 * other side, again and again, until an offer of its takes the call off hold. A failure is
 * a warning: the re-INVITE goes on. */
static void
moh_check(struct mr_ng_calls *c, struct ng_branch *b, unsigned int s,
	  const struct mr_ngsdp *sdp, struct ng_req *r)
{
	struct ng_side *sd = &b->side[s];
	unsigned int k, o = s ^ 1, audio = 0, held = 0, played = 0;
	char e[160];

	if (r->has_moh)
		snprintf(sd->moh, sizeof(sd->moh), "%s", r->moh_file);
	for (k = 0; k < sdp->n_media; k++) {
		const struct mr_ngsdp_media *m = &sdp->media[k];

		if (m->port == 0 || strcmp(m->type, "audio") != 0)
			continue;
		audio++;
		held += m->dir == MR_NGSDP_DIR_SENDONLY || m->dir == MR_NGSDP_DIR_INACTIVE ||
			m->zero_addr;
	}
	if (sd->moh[0] == '\0' || audio == 0 || b->side[o].tag[0] == '\0' ||
	    c->be.play == NULL || c->be.play_stop == NULL)
		return;
	if (held == audio && !sd->moh_on) {
		struct mr_ng_play pl;
		uint64_t d;
		unsigned int n = 0;

		memset(&pl, 0, sizeof(pl));
		pl.file = sd->moh;
		pl.repeat_times = 1000000;	/* until the call is taken off hold */
		e[0] = '\0';
		played = (unsigned int)play_to_side(c, b, o, &pl, 1, &n, &d, e, sizeof(e));
		if (e[0] != '\0')
			snprintf(r->warning, sizeof(r->warning), "moh: %.150s", e);
		sd->moh_on = played != 0;
	} else if (held < audio && sd->moh_on) {
		for (k = 0; k < b->n_media; k++)
			if (b->media[k].id[0] != '\0')
				(void)c->be.play_stop(c->be.ctx, b->media[k].id, o, NULL);
		sd->moh_on = 0;
	}
}

/* Rewrite side s's SDP for the other side of b, making or updating the sessions. */
static json_t *
sdp_exchange(struct mr_ng_calls *c, struct ng_call *x, struct ng_branch *b, unsigned int s,
	     struct ng_req *r, int answer)
{
	struct mr_ngsdp *sdp = malloc(sizeof(*sdp));
	struct mr_ngsdp_out *out = calloc(1, sizeof(*out));
	struct mr_bbuf buf = { 0 };
	json_t *ans = NULL;
	unsigned int k;

	if (sdp == NULL || out == NULL) {
		snprintf(r->err, sizeof(r->err), "out of memory");
		goto done;
	}
	if (mr_ngsdp_parse(r->sdp->s, r->sdp->len, sdp, r->err, sizeof(r->err)) < 0)
		goto done;
	if (sdp->n_media == 0) {
		snprintf(r->err, sizeof(r->err), "sdp: no media section (m=)");
		goto done;
	}
	for (k = 0; k < sdp->n_media; k++)
		if (media_apply(c, x, b, s, k, sdp, r, answer, &out->m[k]) < 0)
			goto done;
	/* Media sections the new SDP no longer has (a re-offer with fewer m= lines). */
	for (k = sdp->n_media; k < b->n_media; k++)
		if (b->media[k].id[0] != '\0') {
			c->be.destroy(c->be.ctx, b->media[k].id);
			b->media[k].id[0] = '\0';
		}
	if (sdp->n_media > b->n_media)
		b->n_media = sdp->n_media;
	if (!answer)
		moh_check(c, b, s, sdp, r);
	/* A browser gets a BUNDLE group where the other side's SDP has none: in an offer (one
	 * section bundles trivially, and max-bundle browsers want a group), and in an answer
	 * when its offer had one. Only with one WebRTC section: mrelay gives each its own port. */
	{
		unsigned int n_w = 0, last = 0;

		for (k = 0; k < sdp->n_media; k++)
			if (!out->m[k].rejected && out->m[k].ice_ufrag != NULL) {
				n_w++;
				last = k;
			}
		if (n_w == 1 && (!answer || b->media[last].bundle[s ^ 1]) &&
		    out->m[last].mid != NULL)
			out->bundle = out->m[last].mid;
	}
	out->replace_origin = r->replace_origin;
	out->ice_remove = 1;
	out->no_rtcp_attr = r->no_rtcp_attr;
	out->full_rtcp_attr = r->full_rtcp_attr;
	out->codecs = r->has_codecs && !answer ? &r->codecs : NULL;
	if (mr_ngsdp_rewrite(sdp, out, &buf) < 0) {
		snprintf(r->err, sizeof(r->err), "out of memory");
		goto done;
	}
	ans = json_object();
	json_object_set_new(ans, "result", json_string("ok"));
	json_object_set_new(ans, "sdp", json_stringn_nocheck(buf.p, buf.len));
done:
	if (out != NULL)
		for (k = 0; k < MR_NGSDP_MAX_MEDIA; k++)
			explicit_bzero(out->m[k].crypto, sizeof(out->m[k].crypto));
	mr_bbuf_free(&buf);
	free(sdp);
	free(out);
	return ans;
}

static void
set_label(struct ng_side *sd, const char *l)
{
	if (l[0] != '\0')
		snprintf(sd->label, sizeof(sd->label), "%s", l);
}

/* Record (on) or stop recording every session of call x; 0, or -1 with r->err set. */
static int
call_record(struct mr_ng_calls *c, struct ng_call *x, struct ng_req *r, int on)
{
	unsigned int i, k;

	if (c->be.record == NULL) {
		snprintf(r->err, sizeof(r->err), "recording is not available in this mrelay");
		return -1;
	}
	x->recording = (uint8_t)on;
	for (i = 0; i < x->n_br; i++)
		for (k = 0; k < x->br[i]->n_media; k++) {
			const char *id = x->br[i]->media[k].id;

			if (id[0] != '\0' && c->be.record(c->be.ctx, id, on, r->err,
							  sizeof(r->err)) < 0)
				return -1;
		}
	return 0;
}

/* After an offer or answer: a recorded call records its new sessions too. A failure is a
 * warning: the SDP answer stands. */
static void
call_record_more(struct mr_ng_calls *c, struct ng_call *x, struct ng_req *r, json_t *ans)
{
	if (!x->recording && !r->record_call)
		return;
	if (call_record(c, x, r, 1) < 0) {
		char w[sizeof(r->err) + 16];

		snprintf(w, sizeof(w), "record call: %s", r->err);
		r->err[0] = '\0';
		json_object_set_new(ans, "warning", json_string(w));
	}
}

/* The call a request names, or NULL with r->err set. */
static struct ng_call *
req_call(struct mr_ng_calls *c, struct ng_req *r)
{
	struct ng_call *x;

	if (r->callid[0] == '\0') {
		snprintf(r->err, sizeof(r->err), "No call-id in message");
		return NULL;
	}
	x = call_find(c, r->callid);
	if (x == NULL)
		snprintf(r->err, sizeof(r->err), "Unknown call-id");
	return x;
}

/* start recording, stop recording: every session of the call. */
static json_t *
cmd_record(struct mr_ng_calls *c, struct ng_req *r, int on)
{
	struct ng_call *x = req_call(c, r);

	if (x == NULL || call_record(c, x, r, on) < 0)
		return NULL;
	return json_pack("{s:s}", "result", "ok");
}

/* block media, unblock media (how 0), silence media, unsilence media (how 1) and block DTMF,
 * unblock DTMF (how 2: the telephone-event payload type of the participant's SDP, else of
 * the other side's): media from the participant of from-tag (the other leg of its sessions
 * is muted, silenced or holds back its digits), or without from-tag all media of the
 * call. */
static json_t *
cmd_block(struct mr_ng_calls *c, struct ng_req *r, int on, int how)
{
	int (*fn)(void *, const char *, unsigned int, int) = how == 1 ? c->be.silence :
							      c->be.block;
	unsigned int i, k, s, found = 0;
	struct ng_call *x;

	if (how == 2 && c->be.block_dtmf == NULL)
		fn = NULL;
	if (fn == NULL) {
		snprintf(r->err, sizeof(r->err), "%s: not available", cmd_names[r->cmd]);
		return NULL;
	}
	x = req_call(c, r);
	if (x == NULL)
		return NULL;
	for (i = 0; i < x->n_br; i++) {
		struct ng_branch *b = x->br[i];

		for (s = 0; s < 2; s++) {
			if (r->from_tag[0] != '\0' && strcmp(b->side[s].tag, r->from_tag) != 0)
				continue;
			found = 1;
			/* What side s sends arrives on leg s and leaves from leg s ^ 1. */
			for (k = 0; k < b->n_media; k++) {
				const struct ng_media *bm = &b->media[k];
				uint8_t pt;

				if (bm->id[0] == '\0')
					continue;
				if (how != 2) {
					fn(c->be.ctx, bm->id, s ^ 1, on);
					continue;
				}
				pt = bm->dtmf_pt1[s] ? bm->dtmf_pt1[s] : bm->dtmf_pt1[s ^ 1];
				/* No telephone-event on either side: none to hold. */
				if (pt != 0 || !on)
					c->be.block_dtmf(c->be.ctx, bm->id, s ^ 1, on,
							 pt ? (uint8_t)(pt - 1) : 0);
			}
		}
	}
	if (!found) {
		snprintf(r->err, sizeof(r->err), "Unknown from-tag");
		return NULL;
	}
	return json_pack("{s:s}", "result", "ok");
}

/* The branches and sides play media and stop media act on: with from-tag, that party's side
 * in each branch it is in (the answered branches only, when it is in one: a caller whose
 * INVITE forked hears the message from the branch it talks to); with "all", every side.
 * sel[i] bit s: side s of branch i. 0, or -1 with r->err set. */
static int
play_select(struct mr_ng_calls *c, struct ng_req *r, struct ng_call **xp,
	    uint8_t sel[NG_MAX_BRANCHES])
{
	struct ng_call *x = req_call(c, r);
	unsigned int i, s, found = 0, answered = 0;

	if (x == NULL)
		return -1;
	if (!r->all && r->from_tag[0] == '\0') {
		snprintf(r->err, sizeof(r->err), "%s: needs from-tag or the flag all",
			 cmd_names[r->cmd]);
		return -1;
	}
	memset(sel, 0, NG_MAX_BRANCHES);
	for (i = 0; i < x->n_br; i++)
		for (s = 0; s < 2; s++)
			if (x->br[i]->side[s].tag[0] != '\0' &&
			    (r->all || strcmp(x->br[i]->side[s].tag, r->from_tag) == 0)) {
				sel[i] |= (uint8_t)(1u << s);
				found = 1;
				answered |= x->br[i]->side[1].tag[0] != '\0';
			}
	if (!found) {
		snprintf(r->err, sizeof(r->err), "Unknown from-tag");
		return -1;
	}
	if (answered)
		for (i = 0; i < x->n_br; i++)
			if (x->br[i]->side[1].tag[0] == '\0')
				sel[i] = 0;
	*xp = x;
	return 0;
}

/* play media: a file (or blob) played to the selected party, on each audio media of its
 * sessions, in the first codec of its SDP that mrelay plays (PCMU, PCMA, Opus); the RTP
 * relayed to it from the other party is held back meanwhile (docs/NG.md "play media"). */
static json_t *
cmd_play(struct mr_ng_calls *c, struct ng_req *r)
{
	uint8_t sel[NG_MAX_BRANCHES];
	struct mr_ng_play pl;
	struct ng_call *x;
	unsigned int audio = 0;
	uint64_t dur = 0;
	int played;

	if (c->be.play == NULL) {
		snprintf(r->err, sizeof(r->err), "play media: not available");
		return NULL;
	}
	if (r->db_id && r->file[0] == '\0' && r->blob == NULL) {
		snprintf(r->err, sizeof(r->err), "db-id: no media database in mrelay; give file "
			 "(a file under messages.directory, or a stored message's id) or blob");
		return NULL;
	}
	if ((r->file[0] != '\0') == (r->blob != NULL)) {
		snprintf(r->err, sizeof(r->err), "play media: needs one of file and blob");
		return NULL;
	}
	if (play_select(c, r, &x, sel) < 0)
		return NULL;
	memset(&pl, 0, sizeof(pl));
	pl.file = r->file[0] != '\0' ? r->file : NULL;
	if (r->blob != NULL) {
		pl.blob = (const uint8_t *)r->blob->s;
		pl.blob_len = r->blob->len;
	}
	/* rtpengine: repeat-times defaults to 1; repeat-duration alone repeats until it ends. */
	pl.repeat_times = r->has_repeat_times ? (r->repeat_times ? r->repeat_times : 1) :
			  r->repeat_ms ? 0 : 1;
	pl.repeat_ms = r->repeat_ms;
	pl.start_pos = r->start_pos;
	/* The selected party hears it. */
	played = play_parties(c, r, x, sel, &pl, 0, "play media", &audio, &dur);
	if (played < 0)
		return NULL;
	if (played == 0) {
		snprintf(r->err, sizeof(r->err), "play media: %s", audio ?
			 "the party's SDP offers none of PCMU, PCMA and opus" :
			 "no audio media with the party");
		return NULL;
	}
	return json_pack("{s:s,s:I}", "result", "ok", "duration", (json_int_t)dur);
}

/* play DTMF: RFC 4733 events as if the party of from-tag sent them, so towards the other
 * party of each of its branches (rtpengine's sense), in the telephone-event payload type
 * and clock of that party's SDP (else the sender's). What was relayed to the receiver is
 * held back while the digits play, as for play media (docs/NG.md "Playing DTMF"). */
static json_t *
cmd_play_dtmf(struct mr_ng_calls *c, struct ng_req *r)
{
	uint8_t sel[NG_MAX_BRANCHES];
	struct mr_ng_play pl;
	struct ng_call *x;
	unsigned int audio = 0;
	uint64_t d = 0;
	int played;

	if (c->be.play == NULL) {
		snprintf(r->err, sizeof(r->err), "play DTMF: not available");
		return NULL;
	}
	if (r->code[0] == '\0') {
		snprintf(r->err, sizeof(r->err), "play DTMF: needs code (the digits)");
		return NULL;
	}
	if (r->all || r->from_tag[0] == '\0') {
		snprintf(r->err, sizeof(r->err), "play DTMF: needs from-tag (the party whose "
			 "digits they are)");
		return NULL;
	}
	if (play_select(c, r, &x, sel) < 0)
		return NULL;
	memset(&pl, 0, sizeof(pl));
	pl.codec = MR_NGSDP_PLAY_DTMF;
	pl.digits = r->code;
	/* rtpengine's defaults: -8 dBm0, 100 ms, 50 ms */
	pl.volume = (uint8_t)(r->dtmf_volume ? r->dtmf_volume - 1 : 8);
	pl.duration_ms = r->dtmf_duration ? r->dtmf_duration - 1 : 100;
	pl.pause_ms = r->dtmf_pause ? r->dtmf_pause - 1 : 50;
	/* The other party hears the selected one's digits. */
	played = play_parties(c, r, x, sel, &pl, 1, "play DTMF", &audio, &d);
	if (played < 0)
		return NULL;
	if (played == 0) {
		snprintf(r->err, sizeof(r->err), "play DTMF: %s", audio ?
			 "no telephone-event in either party's SDP (mrelay sends RFC 4733 events "
			 "only, no in-band tones)" : "no audio media with another party");
		return NULL;
	}
	return json_pack("{s:s,s:I}", "result", "ok", "duration", (json_int_t)d);
}

/* stop media: what plays to the selected party stops; last-frame-pos says where. */
static json_t *
cmd_stop_media(struct mr_ng_calls *c, struct ng_req *r)
{
	uint8_t sel[NG_MAX_BRANCHES];
	struct ng_call *x;
	unsigned int i, s, k, stopped = 0;
	uint32_t last = 0, l;

	if (c->be.play_stop == NULL) {
		snprintf(r->err, sizeof(r->err), "stop media: not available");
		return NULL;
	}
	if (play_select(c, r, &x, sel) < 0)
		return NULL;
	for (i = 0; i < x->n_br; i++)
		for (s = 0; s < 2; s++) {
			if (!(sel[i] & (1u << s)))
				continue;
			for (k = 0; k < x->br[i]->n_media; k++)
				if (x->br[i]->media[k].id[0] != '\0' &&
				    c->be.play_stop(c->be.ctx, x->br[i]->media[k].id, s, &l) == 0) {
					if (stopped++ == 0)
						last = l;
				}
		}
	if (stopped == 0) {
		snprintf(r->err, sizeof(r->err), "stop media: nothing plays to the party");
		return NULL;
	}
	return json_pack("{s:s,s:I}", "result", "ok", "last-frame-pos", (json_int_t)last);
}

static json_t *
cmd_offer(struct mr_ng_calls *c, struct ng_req *r)
{
	struct ng_call *x;
	struct ng_branch *b = NULL;
	unsigned int s = 0, i;
	int fresh = 0;
	json_t *ans;

	if (r->sdp == NULL || r->callid[0] == '\0' || r->from_tag[0] == '\0') {
		snprintf(r->err, sizeof(r->err), "offer: needs sdp, call-id and from-tag");
		return NULL;
	}
	x = call_find(c, r->callid);
	if (x == NULL) {
		if (c->n.calls >= c->max_calls) {
			snprintf(r->err, sizeof(r->err), "calls: limit of %u reached",
				 c->max_calls);
			return NULL;
		}
		x = call_new(c, r->callid);
		if (x == NULL) {
			snprintf(r->err, sizeof(r->err), "out of memory");
			return NULL;
		}
		fresh = 1;
	}
	if (r->to_tag[0] != '\0')
		b = branch_find(x, r->from_tag, r->to_tag, &s);
	if (b == NULL) {
		/* The offerer's branch not answered yet (the INVITE again), else its first. */
		b = branch_find(x, r->from_tag, "", &s);
		for (i = 0; b == NULL && i < x->n_br; i++)
			if (strcmp(x->br[i]->side[0].tag, r->from_tag) == 0 &&
			    r->to_tag[0] == '\0') {
				b = x->br[i];
				s = 0;
			}
		if (b != NULL && r->to_tag[0] != '\0' && b->side[s ^ 1].tag[0] == '\0')
			snprintf(b->side[s ^ 1].tag, NG_TAG_LEN, "%s", r->to_tag);
	}
	if (b == NULL) {
		b = branch_new(x, r->from_tag);
		if (b == NULL) {
			snprintf(r->err, sizeof(r->err), "call: more than %d branches",
				 NG_MAX_BRANCHES);
			goto fail;
		}
		s = 0;
		snprintf(b->side[1].tag, NG_TAG_LEN, "%s", r->to_tag);
		if (r->to_tag[0] != '\0')
			b->side[1].created = time(NULL);
	}
	set_label(&b->side[s], r->label);
	set_label(&b->side[s ^ 1], r->to_label);
	b->delete_at = 0;
	ans = sdp_exchange(c, x, b, s, r, 0);
	if (ans == NULL)
		goto fail;
	x->last_signal = time(NULL);
	call_record_more(c, x, r, ans);
	return ans;
fail:
	if (fresh)
		call_free(c, x);
	return NULL;
}

static json_t *
cmd_answer(struct mr_ng_calls *c, struct ng_req *r)
{
	struct ng_call *x;
	struct ng_branch *b, *first = NULL;
	unsigned int s = 1, i;
	json_t *ans;

	if (r->sdp == NULL || r->callid[0] == '\0' || r->from_tag[0] == '\0' ||
	    r->to_tag[0] == '\0') {
		snprintf(r->err, sizeof(r->err), "answer: needs sdp, call-id, from-tag and to-tag");
		return NULL;
	}
	x = call_find(c, r->callid);
	if (x == NULL) {
		snprintf(r->err, sizeof(r->err), "Unknown call-id");
		return NULL;
	}
	/* The answer comes from the to-tag: its side answers. */
	b = branch_find(x, r->to_tag, r->from_tag, &s);
	if (b == NULL) {
		b = branch_find(x, "", r->from_tag, &s);
		if (b != NULL) {
			snprintf(b->side[s].tag, NG_TAG_LEN, "%s", r->to_tag);
			b->side[s].created = time(NULL);
		}
	}
	if (b == NULL) {
		/* A new to-tag for an offer already answered: a fork. */
		for (i = 0; i < x->n_br && first == NULL; i++)
			if (strcmp(x->br[i]->side[0].tag, r->from_tag) == 0)
				first = x->br[i];
		if (first == NULL) {
			snprintf(r->err, sizeof(r->err), "Unknown from-tag for this call-id");
			return NULL;
		}
		b = branch_new(x, r->from_tag);
		if (b == NULL) {
			snprintf(r->err, sizeof(r->err), "call: more than %d branches",
				 NG_MAX_BRANCHES);
			return NULL;
		}
		b->side[0] = first->side[0];
		snprintf(b->side[1].tag, NG_TAG_LEN, "%s", r->to_tag);
		b->side[1].created = time(NULL);
		b->n_media = first->n_media;
		for (i = 0; i < first->n_media; i++) {
			struct ng_media *d = &b->media[i];

			*d = first->media[i];
			d->id[0] = '\0';	/* sessions of its own, made below */
			memset(d->adv[1].a, 0, sizeof(d->adv[1].a));
			d->adv[1].family = 0;
			d->adv_rtcp[1].family = 0;
			memset(d->local_key, 0, sizeof(d->local_key));
			memset(d->remote_crypto[1], 0, sizeof(d->remote_crypto[1]));
		}
		s = 1;
		c->n.branches_forked++;
	}
	set_label(&b->side[s], r->label);
	b->delete_at = 0;
	ans = sdp_exchange(c, x, b, s, r, 1);
	if (ans == NULL && first != NULL) {
		for (i = 0; i < x->n_br; i++)
			if (x->br[i] == b)
				branch_remove(c, x, i);
	}
	if (ans != NULL) {
		x->last_signal = time(NULL);
		call_record_more(c, x, r, ans);
	}
	return ans;
}

static void
call_delete_at(struct mr_ng_calls *c, struct ng_call *x, struct ng_branch *only,
	       unsigned int delay)
{
	uint64_t at = c->be.now_ms(c->be.ctx) + (uint64_t)delay * 1000;
	unsigned int i;

	for (i = 0; i < x->n_br;) {
		if (only != NULL && x->br[i] != only) {
			i++;
			continue;
		}
		if (delay > 0) {
			x->br[i]->delete_at = at;
			i++;
		} else {
			branch_remove(c, x, i);
		}
	}
	if (x->n_br == 0) {
		call_free(c, x);
		c->n.calls_deleted++;
	}
}

static json_t *
cmd_delete(struct mr_ng_calls *c, struct ng_req *r)
{
	struct ng_call *x;
	struct ng_branch *b = NULL;
	unsigned int s, i;
	json_t *ans;

	if (r->callid[0] == '\0') {
		snprintf(r->err, sizeof(r->err), "delete: needs call-id");
		return NULL;
	}
	x = call_find(c, r->callid);
	if (x == NULL) {
		if (r->fatal) {
			snprintf(r->err, sizeof(r->err), "Call-ID not found");
			return NULL;
		}
		ans = json_pack("{s:s,s:s}", "result", "ok", "warning", "Call-ID not found");
		return ans;
	}
	ans = json_object();
	json_object_set_new(ans, "result", json_string("ok"));
	json_object_set_new(ans, "created", json_integer((json_int_t)x->created));
	if (r->from_tag[0] != '\0' && r->to_tag[0] != '\0') {
		/* One branch: the one of these tags, else the offerer's unanswered one (a
		 * final failure from a branch that never sent SDP, or a CANCEL's 487). */
		b = branch_find(x, r->from_tag, r->to_tag, &s);
		if (b == NULL)
			b = branch_find(x, r->from_tag, "", &s);
		if (b == NULL)
			b = branch_find(x, r->to_tag, "", &s);
		if (b == NULL) {
			for (i = 0; i < x->n_br; i++)
				if (strcmp(x->br[i]->side[0].tag, r->from_tag) == 0 ||
				    strcmp(x->br[i]->side[1].tag, r->from_tag) == 0)
					break;
			if (i == x->n_br) {
				json_object_set_new(ans, "warning",
						    json_string("Call-ID found, tags not"));
				return ans;
			}
			return ans;	/* a branch of this call that mrelay never saw */
		}
		call_delete_at(c, x, b, r->delete_delay);
		return ans;
	}
	call_delete_at(c, x, NULL, r->delete_delay);
	return ans;
}

static void
stream_json(json_t *streams, const json_t *leg, const struct ng_media *bm, unsigned int s,
	    int rtcp, json_t *tot)
{
	const json_t *ctr = json_object_get(leg, "counters");
	const struct mr_ep *lp = rtcp ? &bm->local_rtcp[s] : &bm->local[s];
	const struct mr_ep *adv = rtcp ? &bm->adv_rtcp[s] : &bm->adv[s];
	json_t *st = json_object(), *ep;
	json_int_t pk = json_integer_value(json_object_get(ctr, rtcp ? "rtcp_packets" :
							   "rtp_packets"));
	json_int_t by = rtcp ? 0 : json_integer_value(json_object_get(ctr, "bytes_in"));
	json_t *t = json_object_get(tot, rtcp ? "RTCP" : "RTP");
	char a[64];

	json_object_set_new(st, "local port", json_integer(lp->port));
	json_object_set_new(st, "flags", json_pack("[s]", rtcp ? "RTCP" : "RTP"));
	json_object_set_new(st, "stats", json_pack("{s:I,s:I,s:I}", "packets", pk, "bytes", by,
						   "errors", (json_int_t)0));
	json_object_set_new(t, "packets", json_integer(json_integer_value(
		json_object_get(t, "packets")) + pk));
	json_object_set_new(t, "bytes", json_integer(json_integer_value(
		json_object_get(t, "bytes")) + by));
	if (adv->family) {
		ep = json_pack("{s:s,s:s,s:i}", "family", adv->family == MR_AF6 ? "IPv6" : "IPv4",
			       "address", mr_ep_fmt(adv, a, sizeof(a), 0), "port", adv->port);
		json_object_set_new(st, "advertised endpoint", ep);
	}
	{
		const char *rem = json_string_value(json_object_get(leg, rtcp ? "rtcp_remote" :
								    "remote"));
		struct mr_ep re;

		if (rem != NULL && mr_ep_parse(rem, &re) == 0)
			json_object_set_new(st, "endpoint", json_pack("{s:s,s:s,s:i}", "family",
				re.family == MR_AF6 ? "IPv6" : "IPv4", "address",
				mr_ep_fmt(&re, a, sizeof(a), 0), "port", re.port));
	}
	json_array_append_new(streams, st);
}

static json_t *
cmd_query(struct mr_ng_calls *c, struct ng_req *r)
{
	struct ng_call *x = r->callid[0] ? call_find(c, r->callid) : NULL;
	json_t *ans, *tags, *tot;
	unsigned int i, s, k;

	if (x == NULL) {
		snprintf(r->err, sizeof(r->err), "Unknown call-id");
		return NULL;
	}
	tags = json_object();
	tot = json_pack("{s:{s:i,s:i,s:i},s:{s:i,s:i,s:i}}", "RTP", "packets", 0, "bytes", 0,
			"errors", 0, "RTCP", "packets", 0, "bytes", 0, "errors", 0);
	for (i = 0; i < x->n_br; i++) {
		struct ng_branch *b = x->br[i];

		for (s = 0; s < 2; s++) {
			const char *tag = b->side[s].tag;
			json_t *t, *medias;

			if (r->from_tag[0] && strcmp(tag, r->from_tag) != 0 &&
			    strcmp(b->side[s ^ 1].tag, r->from_tag) != 0)
				continue;
			if (json_object_get(tags, tag) != NULL)
				continue;	/* a forked offerer: its first branch */
			medias = json_array();
			t = json_pack("{s:s,s:I,s:s,s:s,s:o}", "tag", tag, "created",
				      (json_int_t)(b->side[s].created ? b->side[s].created :
						   x->created), "label", b->side[s].label,
				      "in dialogue with", b->side[s ^ 1].tag, "medias", medias);
			for (k = 0; k < b->n_media; k++) {
				const struct ng_media *bm = &b->media[k];
				json_t *sess = bm->id[0] ? c->be.get(c->be.ctx, bm->id) : NULL;
				json_t *leg = json_array_get(json_object_get(sess, "legs"), s);
				json_t *streams = json_array(), *fl = json_array();

				json_array_append_new(fl, json_string("initialized"));
				if (bm->rtcp_mux)
					json_array_append_new(fl, json_string("rtcp-mux"));
				if (bm->srtp[s])
					json_array_append_new(fl, json_string("SDES"));
				if (leg != NULL) {
					stream_json(streams, leg, bm, s, 0, tot);
					if (!bm->rtcp_mux)
						stream_json(streams, leg, bm, s, 1, tot);
				}
				json_array_append_new(medias, json_pack(
					"{s:i,s:s,s:s,s:o,s:o}", "index", (int)k + 1, "type",
					bm->type, "protocol", bm->proto[s], "flags", fl,
					"streams", streams));
				json_decref(sess);
			}
			json_object_set_new(tags, tag, t);
		}
	}
	ans = json_pack("{s:s,s:I,s:I,s:o,s:o}", "result", "ok", "created",
			(json_int_t)x->created, "last signal", (json_int_t)x->last_signal,
			"tags", tags, "totals", tot);
	return ans;
}

static json_t *
cmd_list(struct mr_ng_calls *c, struct ng_req *r)
{
	json_t *calls = json_array();
	struct ng_call *x;
	unsigned int n = 0;

	for (x = c->head; x != NULL && n < r->limit; x = x->next, n++)
		json_array_append_new(calls, json_string_nocheck(x->callid));
	return json_pack("{s:s,s:o}", "result", "ok", "calls", calls);
}

static json_t *
cmd_statistics(struct mr_ng_calls *c)
{
	json_t *cur, *tot, *ctl, *st, *extra;
	unsigned int k;

	cur = json_pack("{s:I,s:i,s:I,s:i}", "sessionsown", (json_int_t)c->n.calls,
			"sessionsforeign", 0, "sessionstotal", (json_int_t)c->n.calls,
			"transcodedmedia", 0);
	tot = json_pack("{s:I,s:I,s:I}", "managedsessions", (json_int_t)c->n.calls_created,
			"regularterminatedsessions", (json_int_t)c->n.calls_deleted,
			"timeoutsessions", (json_int_t)c->n.calls_expired);
	ctl = json_object();
	for (k = 0; k < MR_NG_N_CMDS; k++) {
		char name[48];
		size_t j, o = 0;

		/* "totalpingcount", "totalstartrecordingcount", ... */
		o = (size_t)snprintf(name, sizeof(name), "total");
		for (j = 0; cmd_names[k][j] && o < sizeof(name) - 6; j++)
			if (cmd_names[k][j] != ' ')
				name[o++] = cmd_names[k][j];
		snprintf(name + o, sizeof(name) - o, "count");
		json_object_set_new(ctl, name, json_integer((json_int_t)c->n.requests[k]));
	}
	json_object_set_new(ctl, "totalerrorcount", json_integer((json_int_t)c->n.errors));
	st = json_pack("{s:o,s:o,s:o}", "currentstatistics", cur, "totalstatistics", tot,
		       "controlstatistics", ctl);
	extra = c->stats_cb ? c->stats_cb(c->stats_arg) : NULL;
	if (extra != NULL) {
		json_object_update(tot, extra);
		json_decref(extra);
	}
	return json_pack("{s:s,s:o}", "result", "ok", "statistics", st);
}

/* Tell the backend (the state store) about a command that may have changed its call. */
static void
call_changed(struct mr_ng_calls *c, const struct ng_req *r)
{
	switch (r->cmd) {
	case MR_NG_OFFER:
	case MR_NG_ANSWER:
	case MR_NG_DELETE:
	case MR_NG_START_REC:
	case MR_NG_STOP_REC:
		if (c->be.changed != NULL && r->callid[0] != '\0')
			c->be.changed(c->be.ctx, r->callid);
		break;
	default:
		break;
	}
}

json_t *
mr_ng_calls_command(struct mr_ng_calls *c, const struct mr_bn *d)
{
	struct ng_req *r = malloc(sizeof(*r));
	json_t *ans = NULL;

	if (r == NULL)
		return json_pack("{s:s,s:s}", "result", "error", "error-reason", "out of memory");
	r->cmd = MR_NG_OTHER;
	r->callid[0] = '\0';
	if (d == NULL || d->type != MR_BN_DICT) {
		snprintf(r->err, sizeof(r->err), "the message is not a dictionary");
		c->n.requests[MR_NG_OTHER]++;
		goto error;
	}
	if (parse_req(c, d, r) < 0) {
		c->n.requests[r->cmd]++;
		goto error;
	}
	c->n.requests[r->cmd]++;
	switch (r->cmd) {
	case MR_NG_PING:
		ans = json_pack("{s:s}", "result", "pong");
		break;
	case MR_NG_OFFER:
		ans = cmd_offer(c, r);
		break;
	case MR_NG_ANSWER:
		ans = cmd_answer(c, r);
		break;
	case MR_NG_DELETE:
		ans = cmd_delete(c, r);
		break;
	case MR_NG_QUERY:
		ans = cmd_query(c, r);
		break;
	case MR_NG_LIST:
		ans = cmd_list(c, r);
		break;
	case MR_NG_STATISTICS:
		ans = cmd_statistics(c);
		break;
	case MR_NG_START_REC:
	case MR_NG_STOP_REC:
		ans = cmd_record(c, r, r->cmd == MR_NG_START_REC);
		break;
	case MR_NG_BLOCK_MEDIA:
	case MR_NG_UNBLOCK_MEDIA:
		ans = cmd_block(c, r, r->cmd == MR_NG_BLOCK_MEDIA, 0);
		break;
	case MR_NG_SILENCE_MEDIA:
	case MR_NG_UNSILENCE_MEDIA:
		ans = cmd_block(c, r, r->cmd == MR_NG_SILENCE_MEDIA, 1);
		break;
	case MR_NG_BLOCK_DTMF:
	case MR_NG_UNBLOCK_DTMF:
		ans = cmd_block(c, r, r->cmd == MR_NG_BLOCK_DTMF, 2);
		break;
	case MR_NG_PLAY_DTMF:
		ans = cmd_play_dtmf(c, r);
		break;
	case MR_NG_PLAY_MEDIA:
		ans = cmd_play(c, r);
		break;
	case MR_NG_STOP_MEDIA:
		ans = cmd_stop_media(c, r);
		break;
	default: {
		const struct mr_bn *v = mr_bn_get(d, "command");
		char t[40];

		bn_copy(v, t, sizeof(t));
		snprintf(r->err, sizeof(r->err), "Unrecognized command '%s'", t);
		break;
	}
	}
	call_changed(c, r);
	if (ans != NULL) {
		if (r->warning[0] != '\0' && json_object_get(ans, "warning") == NULL &&
		    strcmp(json_string_value(json_object_get(ans, "result")), "ok") == 0)
			json_object_set_new(ans, "warning", json_string(r->warning));
		free(r);
		return ans;
	}
error:
	call_changed(c, r);
	c->n.errors++;
	if (r->err[0] == '\0')
		snprintf(r->err, sizeof(r->err), "internal error");
	ans = json_pack("{s:s,s:s}", "result", "error", "error-reason", r->err);
	free(r);
	return ans;
}

struct mr_ng_calls *
mr_ng_calls_create(const struct mr_ng_backend *be, unsigned int max_calls,
		   unsigned int delete_delay_s)
{
	struct mr_ng_calls *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->be = *be;
	c->max_calls = max_calls ? max_calls : 100000;
	c->delete_delay_s = delete_delay_s;
	return c;
}

void
mr_ng_calls_free(struct mr_ng_calls *c)
{
	if (c == NULL)
		return;
	/* A stop is not an end of the calls: their records stay for the next start. */
	c->be.changed = NULL;
	while (c->head != NULL)
		call_free(c, c->head);
	free(c);
}

void
mr_ng_calls_tick(struct mr_ng_calls *c)
{
	uint64_t now = c->be.now_ms(c->be.ctx);
	unsigned int n, i, k;

	/* A slice of the calls per second: delete-delays due, and calls whose sessions all
	 * ended by themselves (idle timeout) are forgotten. */
	if (now - c->last_sweep_ms < 100)
		return;
	c->last_sweep_ms = now;
	if (c->sweep == NULL)
		c->sweep = c->head;
	for (n = 0; n < 256 && c->sweep != NULL; n++) {
		struct ng_call *x = c->sweep;
		int live = 0, changed = 0;

		c->sweep = x->next;
		for (i = 0; i < x->n_br;) {
			struct ng_branch *b = x->br[i];

			if (b->delete_at != 0 && b->delete_at <= now) {
				branch_remove(c, x, i);
				changed = 1;
				continue;
			}
			for (k = 0; k < b->n_media && !live; k++)
				if (b->media[k].id[0] && c->be.active(c->be.ctx, b->media[k].id))
					live = 1;
			i++;
		}
		if ((changed || x->n_br == 0 || !live) && c->be.changed != NULL)
			c->be.changed(c->be.ctx, x->callid);	/* it copies the call-id */
		if (x->n_br == 0 || !live) {
			int deleted = x->n_br == 0;

			call_free(c, x);
			if (deleted)
				c->n.calls_deleted++;
			else
				c->n.calls_expired++;
		}
	}
}

void
mr_ng_calls_counts(const struct mr_ng_calls *c, struct mr_ng_counts *out)
{
	*out = c->n;
}

void
mr_ng_calls_set_stats_cb(struct mr_ng_calls *c, json_t *(*cb)(void *arg), void *arg)
{
	c->stats_cb = cb;
	c->stats_arg = arg;
}

/* ---- records (docs/NG.md "Calls in Redis") ----
 * A call as JSON, for the state store: what the next offer, answer, delete or query of it
 * needs. Its sessions are stored on their own (by id); the record names them. */

#define NG_RECORD_VERSION 1

static json_t *
pair_s(const char *a, const char *b)
{
	return json_pack("[s,s]", a, b);
}

static json_t *
pair_ep(const struct mr_ep e[2])
{
	char t[2][64];

	return pair_s(mr_ep_fmt(&e[0], t[0], sizeof(t[0]), 1),
		      mr_ep_fmt(&e[1], t[1], sizeof(t[1]), 1));
}

static json_t *
pair_i(unsigned int a, unsigned int b)
{
	return json_pack("[I,I]", (json_int_t)a, (json_int_t)b);
}

static json_t *
media_json(const struct ng_media *m)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_string(m->id));
	json_object_set_new(o, "type", json_string(m->type));
	json_object_set_new(o, "rtcp_mux", json_boolean(m->rtcp_mux));
	json_object_set_new(o, "local", pair_ep(m->local));
	json_object_set_new(o, "local_rtcp", pair_ep(m->local_rtcp));
	json_object_set_new(o, "adv", pair_ep(m->adv));
	json_object_set_new(o, "adv_rtcp", pair_ep(m->adv_rtcp));
	json_object_set_new(o, "proto", pair_s(m->proto[0], m->proto[1]));
	json_object_set_new(o, "srtp", pair_i(m->srtp[0], m->srtp[1]));
	json_object_set_new(o, "crypto_tag", pair_i(m->crypto_tag[0], m->crypto_tag[1]));
	json_object_set_new(o, "local_key", pair_s(m->local_key[0], m->local_key[1]));
	json_object_set_new(o, "remote_crypto", pair_s(m->remote_crypto[0],
							m->remote_crypto[1]));
	json_object_set_new(o, "iface", pair_s(m->iface[0], m->iface[1]));
	json_object_set_new(o, "family", pair_i(m->family[0], m->family[1]));
	json_object_set_new(o, "play_codec", pair_i(m->play_codec[0], m->play_codec[1]));
	json_object_set_new(o, "play_pt", pair_i(m->play_pt[0], m->play_pt[1]));
	json_object_set_new(o, "dtmf_pt1", pair_i(m->dtmf_pt1[0], m->dtmf_pt1[1]));
	return o;
}

json_t *
mr_ng_calls_record(const struct mr_ng_calls *c, const char *callid)
{
	struct ng_call *x = c != NULL ? call_find((struct mr_ng_calls *)c, callid) : NULL;
	json_t *rec, *brs;
	unsigned int i, k;
	uint64_t now;

	if (x == NULL)
		return NULL;
	now = c->be.now_ms(c->be.ctx);
	rec = json_object();
	brs = json_array();
	json_object_set_new(rec, "v", json_integer(NG_RECORD_VERSION));
	json_object_set_new(rec, "created", json_integer((json_int_t)x->created));
	json_object_set_new(rec, "last_signal", json_integer((json_int_t)x->last_signal));
	json_object_set_new(rec, "recording", json_boolean(x->recording));
	for (i = 0; i < x->n_br; i++) {
		const struct ng_branch *b = x->br[i];
		json_t *bo = json_object(), *ms = json_array();

		json_object_set_new(bo, "tags", pair_s(b->side[0].tag, b->side[1].tag));
		json_object_set_new(bo, "labels", pair_s(b->side[0].label, b->side[1].label));
		json_object_set_new(bo, "since", json_pack("[I,I]", (json_int_t)b->side[0].created,
							   (json_int_t)b->side[1].created));
		/* A delay left, not a time: the clock is this process' own. */
		if (b->delete_at != 0)
			json_object_set_new(bo, "delete_in_ms", json_integer(
				(json_int_t)(b->delete_at > now ? b->delete_at - now : 1)));
		for (k = 0; k < b->n_media; k++)
			json_array_append_new(ms, media_json(&b->media[k]));
		json_object_set_new(bo, "media", ms);
		json_array_append_new(brs, bo);
	}
	json_object_set_new(rec, "branches", brs);
	return rec;
}

/* Member k of o: a [a, b] pair of strings into out (2 x stride bytes); absent: "". */
static int
get_pair_s(const json_t *o, const char *k, char *out, size_t stride, char *err, size_t errlen)
{
	const json_t *p = json_object_get(o, k);
	unsigned int i;

	out[0] = out[stride] = '\0';
	if (p == NULL)
		return 0;
	for (i = 0; i < 2; i++) {
		const char *s = json_string_value(json_array_get(p, i));

		if (!json_is_array(p) || json_array_size(p) != 2 || s == NULL ||
		    strlen(s) >= stride) {
			snprintf(err, errlen, "%s: not a pair of strings (under %zu bytes)", k,
				 stride);
			return -1;
		}
		memcpy(out + i * stride, s, strlen(s) + 1);
	}
	return 0;
}

static int
get_pair_ep(const json_t *o, const char *k, struct mr_ep e[2], char *err, size_t errlen)
{
	char t[2][64];
	unsigned int i;

	memset(e, 0, 2 * sizeof(e[0]));
	if (get_pair_s(o, k, t[0], sizeof(t[0]), err, errlen) < 0)
		return -1;
	for (i = 0; i < 2; i++)
		if (t[i][0] != '\0' && strcmp(t[i], "none") != 0 && mr_ep_parse(t[i], &e[i]) < 0) {
			snprintf(err, errlen, "%s: not an address and port: %s", k, t[i]);
			return -1;
		}
	return 0;
}

static int
get_pair_u8(const json_t *o, const char *k, uint8_t v[2], char *err, size_t errlen)
{
	const json_t *p = json_object_get(o, k);
	unsigned int i;

	v[0] = v[1] = 0;
	if (p == NULL)
		return 0;
	for (i = 0; i < 2; i++) {
		const json_t *n = json_array_get(p, i);

		if (!json_is_array(p) || json_array_size(p) != 2 || !json_is_integer(n) ||
		    json_integer_value(n) < 0 || json_integer_value(n) > 255) {
			snprintf(err, errlen, "%s: not a pair of small integers", k);
			return -1;
		}
		v[i] = (uint8_t)json_integer_value(n);
	}
	return 0;
}

static int
media_restore(struct ng_media *m, const json_t *o, char *err, size_t errlen)
{
	const char *id = json_string_value(json_object_get(o, "id"));
	const char *type = json_string_value(json_object_get(o, "type"));

	if (!json_is_object(o) || id == NULL || strlen(id) >= sizeof(m->id) || type == NULL ||
	    strlen(type) >= sizeof(m->type)) {
		snprintf(err, errlen, "media: needs id and type");
		return -1;
	}
	snprintf(m->id, sizeof(m->id), "%s", id);
	snprintf(m->type, sizeof(m->type), "%s", type);
	m->rtcp_mux = json_is_true(json_object_get(o, "rtcp_mux"));
	if (get_pair_ep(o, "local", m->local, err, errlen) < 0 ||
	    get_pair_ep(o, "local_rtcp", m->local_rtcp, err, errlen) < 0 ||
	    get_pair_ep(o, "adv", m->adv, err, errlen) < 0 ||
	    get_pair_ep(o, "adv_rtcp", m->adv_rtcp, err, errlen) < 0 ||
	    get_pair_s(o, "proto", m->proto[0], sizeof(m->proto[0]), err, errlen) < 0 ||
	    get_pair_u8(o, "srtp", m->srtp, err, errlen) < 0 ||
	    get_pair_u8(o, "crypto_tag", m->crypto_tag, err, errlen) < 0 ||
	    get_pair_s(o, "local_key", m->local_key[0], sizeof(m->local_key[0]), err,
		       errlen) < 0 ||
	    get_pair_s(o, "remote_crypto", m->remote_crypto[0], sizeof(m->remote_crypto[0]),
		       err, errlen) < 0 ||
	    get_pair_s(o, "iface", m->iface[0], sizeof(m->iface[0]), err, errlen) < 0 ||
	    get_pair_u8(o, "family", m->family, err, errlen) < 0 ||
	    /* absent from records before play media: nothing to play until a new SDP */
	    get_pair_u8(o, "play_codec", m->play_codec, err, errlen) < 0 ||
	    get_pair_u8(o, "play_pt", m->play_pt, err, errlen) < 0 ||
	    /* absent from records before block DTMF: none known */
	    get_pair_u8(o, "dtmf_pt1", m->dtmf_pt1, err, errlen) < 0)
		return -1;
	if (m->play_codec[0] > MR_NGSDP_PLAY_OPUS || m->play_codec[1] > MR_NGSDP_PLAY_OPUS ||
	    m->play_pt[0] > 127 || m->play_pt[1] > 127 || m->dtmf_pt1[0] > 128 ||
	    m->dtmf_pt1[1] > 128) {
		snprintf(err, errlen, "play_codec, play_pt, dtmf_pt1: out of range");
		return -1;
	}
	return 0;
}

static int
branch_restore(struct ng_branch *b, const json_t *bo, uint64_t now, char *err, size_t errlen)
{
	const json_t *ms = json_object_get(bo, "media"), *since = json_object_get(bo, "since");
	const json_t *del = json_object_get(bo, "delete_in_ms");
	char tags[2][NG_TAG_LEN], labels[2][64];
	unsigned int s;
	size_t k;

	if (!json_is_object(bo) || !json_is_array(ms) || json_array_size(ms) >
	    MR_NGSDP_MAX_MEDIA) {
		snprintf(err, errlen, "branch: needs media (at most %d)", MR_NGSDP_MAX_MEDIA);
		return -1;
	}
	if (get_pair_s(bo, "tags", tags[0], sizeof(tags[0]), err, errlen) < 0 ||
	    get_pair_s(bo, "labels", labels[0], sizeof(labels[0]), err, errlen) < 0)
		return -1;
	if (tags[0][0] == '\0') {
		snprintf(err, errlen, "branch: no offerer's tag");
		return -1;
	}
	for (s = 0; s < 2; s++) {
		memcpy(b->side[s].tag, tags[s], sizeof(tags[s]));
		memcpy(b->side[s].label, labels[s], sizeof(labels[s]));
		b->side[s].created = (time_t)json_integer_value(json_array_get(since, s));
	}
	if (del != NULL) {
		if (!json_is_integer(del) || json_integer_value(del) < 0) {
			snprintf(err, errlen, "delete_in_ms: not a delay");
			return -1;
		}
		b->delete_at = now + (uint64_t)json_integer_value(del);
	}
	for (k = 0; k < json_array_size(ms); k++)
		if (media_restore(&b->media[k], json_array_get(ms, k), err, errlen) < 0)
			return -1;
	b->n_media = (unsigned int)k;
	return 0;
}

int
mr_ng_calls_restore(struct mr_ng_calls *c, const char *callid, const json_t *rec, char *err,
		    size_t errlen)
{
	const json_t *brs = json_object_get(rec, "branches");
	uint64_t now = c->be.now_ms(c->be.ctx);
	struct ng_call *x;
	size_t i;

	if (callid[0] == '\0' || strlen(callid) >= NG_CALLID_LEN) {
		snprintf(err, errlen, "not a call-id (1 to %d bytes)", NG_CALLID_LEN - 1);
		return -1;
	}
	if (!json_is_object(rec) || json_integer_value(json_object_get(rec, "v")) !=
	    NG_RECORD_VERSION) {
		snprintf(err, errlen, "not a version %d call record", NG_RECORD_VERSION);
		return -1;
	}
	if (!json_is_array(brs) || json_array_size(brs) == 0 ||
	    json_array_size(brs) > NG_MAX_BRANCHES) {
		snprintf(err, errlen, "branches: 1 to %d needed", NG_MAX_BRANCHES);
		return -1;
	}
	if (call_find(c, callid) != NULL) {
		snprintf(err, errlen, "the call exists already");
		return -1;
	}
	if (c->n.calls >= c->max_calls) {
		snprintf(err, errlen, "calls: limit of %u reached", c->max_calls);
		return -1;
	}
	x = call_new(c, callid);
	if (x == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->n.calls_created--;		/* made before this process: not counted again */
	x->created = (time_t)json_integer_value(json_object_get(rec, "created"));
	x->last_signal = (time_t)json_integer_value(json_object_get(rec, "last_signal"));
	x->recording = json_is_true(json_object_get(rec, "recording"));
	for (i = 0; i < json_array_size(brs); i++) {
		struct ng_branch *b = calloc(1, sizeof(*b));

		if (b == NULL || branch_restore(b, json_array_get(brs, i), now, err, errlen) < 0) {
			if (b == NULL)
				snprintf(err, errlen, "out of memory");
			else
				explicit_bzero(b, sizeof(*b));	/* SDES keys */
			free(b);
			goto fail;
		}
		x->br[x->n_br++] = b;
	}
	return 0;
fail:
	/* Forget what was read without ending its sessions: they are not this record's to
	 * end when it is refused. */
	c->forgetting = 1;
	call_free(c, x);
	c->forgetting = 0;
	return -1;
}

void
mr_ng_calls_bucket(const struct mr_ng_calls *c, unsigned int b,
		   void (*fn)(void *ctx, const char *callid), void *ctx)
{
	const struct ng_call *x;

	if (b >= MR_NG_CALL_BUCKETS)
		return;
	for (x = c->hash[b]; x != NULL; x = x->hnext)
		fn(ctx, x->callid);
}

void
mr_ng_calls_forget(struct mr_ng_calls *c)
{
	void (*changed)(void *, const char *) = c->be.changed;

	c->forgetting = 1;
	c->be.changed = NULL;
	while (c->head != NULL)
		call_free(c, c->head);
	c->forgetting = 0;
	c->be.changed = changed;
}
