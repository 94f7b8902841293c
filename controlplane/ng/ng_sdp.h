/* SPDX-License-Identifier: BSD-3-Clause
 * SDP (RFC 8866) as the ng protocol needs it: parse the lines a relay rewrites, and write the
 * SDP again with mrelay's endpoints (docs/NG.md "SDP rewriting"). Lines the relay does not
 * need pass through byte for byte. Pure C.
 */
#ifndef MR_NG_SDP_H
#define MR_NG_SDP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "addr.h"
#include "ng_bencode.h"

#define MR_NGSDP_MAX_LINES 512
#define MR_NGSDP_MAX_MEDIA 8
#define MR_NGSDP_MAX_CRYPTO 8
#define MR_NGSDP_MAX_CODECS 32		/* codec names in one strip/mask/offer list */

struct mr_ngsdp_line {
	const char *s;			/* "x=value", in the parsed text, without the line end */
	uint32_t len;
};

struct mr_ngsdp_media {
	unsigned int first, end;	/* its lines: [first, end), first is the m= line */
	char type[16];			/* "audio", "video", ... */
	uint16_t port;			/* 0: rejected or disabled */
	uint16_t nports;		/* "m=audio 5004/2": 2; else 1 */
	char proto[32];			/* "RTP/AVP", "RTP/SAVP", ... */
	char fmts[256];			/* the format list after the protocol */
	struct mr_ep addr;		/* the connection address that applies (media c=, else
					 * session c=), port = the m= port; family 0: none */
	uint8_t zero_addr;		/* 0.0.0.0 or :: (hold, RFC 3264 §8.4 legacy) */
	uint8_t rtcp_mux;		/* a=rtcp-mux */
	uint8_t ice;			/* ICE attributes present */
	uint16_t rtcp_port;		/* a=rtcp:PORT; 0 absent */
	struct mr_ep rtcp_addr;		/* a=rtcp:PORT IN IP4 ADDR; family 0 without address */
	unsigned int n_crypto;
	unsigned int crypto[MR_NGSDP_MAX_CRYPTO];	/* line indexes of a=crypto */
	uint8_t dtls;			/* the protocol is UDP/TLS/RTP/SAVP[F] (DTLS-SRTP) */
	char fingerprint[160];		/* a=fingerprint value (media, else session level);
					 * "" none */
	char setup[12];			/* a=setup value (media, else session level); "" none */
	char mid[32];			/* a=mid value, "" none */
	uint8_t dir;			/* MR_NGSDP_DIR_*: a=sendrecv/sendonly/recvonly/inactive
					 * (media, else session level; default sendrecv) */
};

enum { MR_NGSDP_DIR_SENDRECV = 0, MR_NGSDP_DIR_SENDONLY, MR_NGSDP_DIR_RECVONLY,
       MR_NGSDP_DIR_INACTIVE };

struct mr_ngsdp {
	struct mr_ngsdp_line line[MR_NGSDP_MAX_LINES];
	unsigned int n_lines;
	unsigned int n_session;		/* lines before the first m= */
	struct mr_ep c_addr;		/* session-level c=, family 0 if none */
	uint8_t bundle;			/* a=group:BUNDLE present */
	unsigned int n_media;
	struct mr_ngsdp_media media[MR_NGSDP_MAX_MEDIA];
};

/* Parse text (len bytes; "\r\n" or "\n" line ends). 0, or -EINVAL with err naming the line
 * ("sdp: line 4: m= needs a port and a protocol"). */
int mr_ngsdp_parse(const char *text, size_t len, struct mr_ngsdp *sdp, char *err, size_t errlen);
/* Is protocol p DTLS-SRTP (UDP/TLS/RTP/SAVP or UDP/TLS/RTP/SAVPF)? */
static inline int
mr_ngsdp_proto_dtls(const char *p)
{
	return strncmp(p, "UDP/TLS/RTP/SAVP", 16) == 0;
}

/* The value of a=crypto line k of media m ("1 AES_CM_128_HMAC_SHA1_80 inline:..."), copied. */
int mr_ngsdp_crypto(const struct mr_ngsdp *sdp, unsigned int line, char *out, size_t n);

/* The codec a played message (ng's play media) takes towards the sender of this SDP: the
 * first of media k's formats that is PCMU, PCMA or Opus (opus/48000), as rtpengine takes the
 * first listed codec it supports. 0 with *codec and its payload type *pt, or -ENOENT
 * (*codec MR_NGSDP_PLAY_NONE). */
enum { MR_NGSDP_PLAY_NONE = 0, MR_NGSDP_PLAY_PCMU, MR_NGSDP_PLAY_PCMA, MR_NGSDP_PLAY_OPUS,
       MR_NGSDP_PLAY_DTMF /* RFC 4733 events (play DTMF), never from the SDP's codecs */ };
int mr_ngsdp_play_codec(const struct mr_ngsdp *sdp, unsigned int k, uint8_t *codec,
			uint8_t *pt);
/* The RFC 4733 telephone-event payload type of media k (its a=rtpmap, for a listed format)
 * and its clock in units of 8 kHz (1: 8000, 6: 48000): 0 with *pt and *rate8, or -ENOENT
 * (*pt 0xff, *rate8 1). For ng's block DTMF and play DTMF. */
int mr_ngsdp_dtmf_pt(const struct mr_ngsdp *sdp, unsigned int k, uint8_t *pt, uint8_t *rate8);
/* Codec manipulation of the SDP only (no transcoding): names ("PCMA", "opus/48000") or
 * payload type numbers. */
struct mr_ngsdp_codecs {
	unsigned int n_strip, n_offer, n_except;
	uint8_t strip_all;
	char strip[MR_NGSDP_MAX_CODECS][32];	/* strip and mask: removed from the SDP */
	char offer[MR_NGSDP_MAX_CODECS][32];	/* kept first, in this order */
	char except[MR_NGSDP_MAX_CODECS][32];	/* never stripped */
};

/* What one media section becomes. */
struct mr_ngsdp_media_out {
	uint8_t rejected;		/* leave it with port 0 (and untouched otherwise) */
	struct mr_ep local;		/* mrelay's RTP endpoint for the receiver of this SDP */
	uint16_t rtcp_port;		/* separate RTCP port; 0 when rtcp-mux only */
	uint8_t rtcp_mux;		/* write a=rtcp-mux */
	const char *proto;		/* new transport protocol; NULL: unchanged */
	uint8_t replace_crypto;		/* drop the a=crypto lines of the input */
	unsigned int n_crypto;
	char crypto[MR_NGSDP_MAX_CRYPTO][160];	/* a=crypto values to write */
	/* A WebRTC receiver (DTLS-SRTP, ICE-lite; docs/NG.md "WebRTC"): mrelay's credentials,
	 * certificate fingerprint and DTLS role, and one host candidate (local). */
	const char *ice_ufrag, *ice_pwd, *fingerprint, *setup;	/* NULL: not WebRTC */
	const char *mid;		/* a=mid to write when the section has none; NULL */
};

struct mr_ngsdp_out {
	uint8_t replace_origin;		/* o= address too (replace: origin) */
	uint8_t ice_remove;		/* ICE=remove: no ICE attributes */
	uint8_t no_rtcp_attr;		/* no a=rtcp line */
	uint8_t full_rtcp_attr;		/* a=rtcp:PORT IN IP4 ADDR */
	const struct mr_ngsdp_codecs *codecs;	/* NULL: none */
	const char *bundle;		/* a=group:BUNDLE value to write when the input has no
					 * group (a browser that bundles); NULL */
	struct mr_ngsdp_media_out m[MR_NGSDP_MAX_MEDIA];
};

/* Write in as out says into b (appended; "\r\n" line ends). a=fingerprint, a=setup and
 * a=tls-id of the input never pass (mrelay ends DTLS itself); a=ice-lite is added at the
 * session level when a section is WebRTC. 0, -ENOMEM. */
int mr_ngsdp_rewrite(const struct mr_ngsdp *in, const struct mr_ngsdp_out *out, struct mr_bbuf *b);

#endif
