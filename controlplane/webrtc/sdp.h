/* SPDX-License-Identifier: BSD-3-Clause
 * SDP offer/answer for WebRTC participants (RFC 8866, JSEP RFC 8829, BUNDLE RFC 8843): parse
 * a browser's offer, build mrelay's answer (ice-lite, one candidate per media address,
 * setup:passive, BUNDLE, rtcp-mux, Opus and VP8 / H.264 constrained baseline with the
 * offer's payload types, header extensions and RTCP feedback mrelay passes through). Pure C,
 * no EAL: unit-tested and fuzzed.
 */
#ifndef MR_SDP_H
#define MR_SDP_H

#include <stddef.h>
#include <stdint.h>

#include "mr_types.h"

#define MR_SDP_MAX_MEDIA 32		/* a participant's own sections and those mrelay added */
#define MR_SDP_MAX_CODECS 32
#define MR_SDP_MAX_EXT 16
#define MR_SDP_MAX_SSRC 8
#define MR_SDP_TOKEN 64			/* mids, ufrags, codec names */
#define MR_SDP_LONG 256			/* pwds, fmtp, fingerprints */
#define MR_SDP_MAX_LEN 65536

enum { MR_SDP_AUDIO = 0, MR_SDP_VIDEO = 1, MR_SDP_OTHER = 2 };
enum { MR_SDP_SENDRECV = 0, MR_SDP_SENDONLY, MR_SDP_RECVONLY, MR_SDP_INACTIVE };

struct mr_sdp_codec {
	uint8_t pt;
	char name[MR_SDP_TOKEN];	/* "opus", "VP8", "H264", ... */
	uint32_t clock;
	uint8_t channels;
	char fmtp[MR_SDP_LONG];
	uint8_t fb;			/* MR_SDP_FB_* offered for this payload type */
};

#define MR_SDP_FB_NACK		1
#define MR_SDP_FB_PLI		2
#define MR_SDP_FB_FIR		4
#define MR_SDP_FB_REMB		8
#define MR_SDP_FB_TCC		16

struct mr_sdp_ext {
	uint8_t id;
	char uri[MR_SDP_LONG];
};

struct mr_sdp_media {
	uint8_t kind;			/* MR_SDP_AUDIO, VIDEO, OTHER */
	uint8_t dir;			/* MR_SDP_SENDRECV ... */
	uint8_t rtcp_mux;
	uint8_t port0;			/* m= port 0: rejected by the offerer */
	char proto[MR_SDP_TOKEN];
	char mid[MR_SDP_TOKEN];
	unsigned int n_codecs, n_ext, n_ssrc, n_fid;
	struct mr_sdp_codec codec[MR_SDP_MAX_CODECS];
	struct mr_sdp_ext ext[MR_SDP_MAX_EXT];
	uint32_t ssrc[MR_SDP_MAX_SSRC];		/* every a=ssrc id, in order */
	uint32_t fid[MR_SDP_MAX_SSRC];		/* second ids of a=ssrc-group:FID (RTX) */
	/* per-media ICE/DTLS attributes (JSEP puts them in each m-section) */
	char ufrag[MR_SDP_TOKEN], pwd[MR_SDP_LONG], fingerprint[MR_SDP_LONG], setup[16];
};

struct mr_sdp {
	char ufrag[MR_SDP_TOKEN], pwd[MR_SDP_LONG], fingerprint[MR_SDP_LONG], setup[16];
	unsigned int n_media;
	struct mr_sdp_media m[MR_SDP_MAX_MEDIA];
};

/* Parse an offer. 0, or -1 with err naming the line ("line 7: a=rtpmap: ..."). The session
 * or its first media section must give ice-ufrag, ice-pwd and a fingerprint; every m-line
 * must be UDP/TLS/RTP/SAVPF or be rejected in the answer. */
int mr_sdp_parse(const char *text, size_t len, struct mr_sdp *s, char *err, size_t errlen);

/* The codec mrelay takes from media m (Opus for audio; VP8, else H.264 packetization-mode 1
 * with a constrained baseline profile, for video), or NULL. */
const struct mr_sdp_codec *mr_sdp_pick(const struct mr_sdp_media *m);
/* The primary SSRCs of m (a=ssrc ids that are not the second of an FID group) into out (at
 * most max). Returns the count. */
unsigned int mr_sdp_ssrcs(const struct mr_sdp_media *m, uint32_t *out, unsigned int max);
/* The id of a header extension URI offered in m, 0 when absent. */
uint8_t mr_sdp_ext_id(const struct mr_sdp_media *m, const char *uri);
/* The participant's numbering of the header extensions mrelay negotiates (audio level,
 * abs-send-time, transport-cc), as the dataplane renumbers copies to it (rtp_ext.h: nibble
 * k = its id of extension k, 1..14 or 0; nibble 0 = an id its SDP gave no extension).
 * From the first accepted m-section that names each one. */
uint32_t mr_sdp_ext_map(const struct mr_sdp *s);

struct mr_sdp_local {
	const char *ufrag, *pwd, *fingerprint;
	uint64_t session_id;
	unsigned int n_cand;
	struct mr_ep cand[4];		/* the participant's endpoint, one per media address */
	/* What the participant receives on the first m-line of each kind (MR_SDP_AUDIO,
	 * MR_SDP_VIDEO): another participant's stream (ssrc 0: none). Declared with a=ssrc and
	 * a=msid so that the browser routes it by SSRC: a browser puts the MID header extension
	 * only in a stream's first packets (until a receiver report acknowledges them). */
	struct {
		uint32_t ssrc;
		uint32_t part;
	} recv[2];
};

/* The answer to offer o into out (len bytes, NUL-terminated). Returns its length, or -1 when
 * out is too small. (mr_sdp_sess_init, the recv streams placed with mr_sdp_sess_sync, and
 * mr_sdp_render.) */
int mr_sdp_answer(const struct mr_sdp *o, const struct mr_sdp_local *l, char *out, size_t len);

/* ---- Renegotiation (docs/API.md "WebRTC", RFC 8829 §5.2.2, §5.3.2) ----
 *
 * mrelay keeps each WebRTC participant's session as a list of m-sections: first the
 * participant's own (from its offer, in order, never removed), then the ones mrelay added in
 * its own offers, one per stream of another participant it sends. A stream goes on an own
 * section of its kind that the participant may receive on (sendrecv or recvonly) and that
 * carries nothing yet, else on an added one (sendonly); when the stream goes, an own
 * section just stops declaring it, an added one is disabled (port 0, RFC 8829 §5.2.2) and may
 * be recycled with a new mid once the list is full. Only kinds the participant accepted in
 * its offer, with the same codec, are sent: their payload type is the participant's
 * (mr_sdp_sess_pt), which the dataplane rewrites per subscriber. */
#define MR_SDP_MAX_SEC MR_SDP_MAX_MEDIA

#define MR_SDP_N_EXT 4			/* header extensions mrelay negotiates */

struct mr_sdp_sec {
	uint8_t kind;			/* MR_SDP_AUDIO, VIDEO, OTHER */
	uint8_t dir;			/* the participant's direction (its offer), MR_SDP_* */
	uint8_t off;			/* port 0: rejected (own) or removed (added) */
	uint8_t added;			/* mrelay added it in a renegotiation */
	char mid[MR_SDP_TOKEN];
	char proto[MR_SDP_TOKEN];
	struct mr_sdp_codec codec;	/* the one mrelay takes (not for a rejected section) */
	unsigned int n_fmt;		/* a rejected section's formats, echoed */
	uint8_t fmt[MR_SDP_MAX_CODECS];
	uint8_t ext[MR_SDP_N_EXT];	/* ids of audio level, abs-send-time, transport-cc,
					 * mid (sdp.c sdp_exts) */
	uint32_t ssrc, part, stream;	/* what mrelay sends on it (ssrc 0: nothing) */
};

struct mr_sdp_sess {
	uint64_t id;			/* o= session id */
	uint32_t version;		/* o= version of the last description mrelay made */
	uint32_t next_mid;		/* added sections are "mr1", "mr2", ... */
	unsigned int n;
	struct mr_sdp_sec sec[MR_SDP_MAX_SEC];
};

/* A stream of another participant to send (mr_sdp_sess_sync). */
struct mr_sdp_out {
	uint32_t ssrc, part, stream;
	uint8_t kind;			/* MR_SDP_AUDIO or MR_SDP_VIDEO */
	char codec[MR_SDP_TOKEN];	/* "opus", "VP8" ...; "" = any */
};

/* The session from the participant's offer (o, parsed): its own sections. */
void mr_sdp_sess_init(struct mr_sdp_sess *s, const struct mr_sdp *o, uint64_t id);
/* The payload type the participant uses for kind (its first accepted section of the kind),
 * or -1 when it takes none. */
int mr_sdp_sess_pt(const struct mr_sdp_sess *s, uint8_t kind);
/* Bring the sections in step with want[0..n): streams no longer wanted come off, new ones
 * go on an own section, or on an added one when add is set (never in an answer). Returns
 * the number of sections that changed (0: nothing to renegotiate). */
unsigned int mr_sdp_sess_sync(struct mr_sdp_sess *s, const struct mr_sdp_out *want,
			      unsigned int n, int add);
/* The session as an answer (offer 0) or as mrelay's offer (offer 1; bumps the version).
 * Returns the length, or -1 when out is too small. */
int mr_sdp_render(struct mr_sdp_sess *s, const struct mr_sdp_local *l, int offer, char *out,
		  size_t len);

#define MR_SDP_EXT_MID "urn:ietf:params:rtp-hdrext:sdes:mid"
#define MR_SDP_EXT_LEVEL "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
#define MR_SDP_EXT_AST "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
#define MR_SDP_EXT_TCC "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

#endif
