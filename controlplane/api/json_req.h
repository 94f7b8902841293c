/* SPDX-License-Identifier: BSD-3-Clause
 * Validation of REST request bodies (docs/API.md). Pure C + jansson.
 */
#ifndef MR_JSON_REQ_H
#define MR_JSON_REQ_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "addr.h"
#include "srtp.h"

#define MR_LABEL_LEN 128
#define MR_IFNAME_LEN 32

/* "srtp": { "suite", "remote_key", "local_key" } of a leg (docs/API.md "SRTP"). */
struct mr_srtp_req {
	int present;			/* "srtp" is an object: the leg's remote speaks SRTP */
	int disable;			/* PATCH only: "srtp": null, back to plain RTP */
	uint8_t suite;			/* "suite", else the remote key's; for a generated
					 * local key */
	int has_remote_key;		/* what the remote encrypts with (mrelay decrypts) */
	struct mr_srtp_key remote_key;
	int has_local_key;		/* what mrelay encrypts with; generated when absent */
	struct mr_srtp_key local_key;
};

#define MR_FP_LEN 160			/* an SDP a=fingerprint value with its NUL */

struct mr_leg_req {
	int has_remote;			/* "remote" present and not null */
	int clear_remote;		/* PATCH only: "remote": null */
	struct mr_ep remote;		/* RTP remote */
	int has_rtcp_remote;		/* "rtcp_remote" given (RTCP remote without rtcp-mux;
					 * default: RTP port + 1) */
	struct mr_ep rtcp_remote;
	char interface[MR_IFNAME_LEN];	/* "interface": port name; "" = choose */
	uint8_t family;			/* "family": "ipv4"/"ipv6" (MR_AF4/MR_AF6); 0: from remote */
	struct mr_srtp_req srtp;
	uint8_t webrtc;			/* "webrtc" given (an object): ICE-lite and DTLS-SRTP on
					 * the leg (create), or its fingerprint (PATCH) */
	char fingerprint[MR_FP_LEN];	/* webrtc.fingerprint: the peer's certificate ("sha-256
					 * AB:CD:..."), "" not given yet */
	int has_muted;			/* PATCH only: "muted" given */
	int muted;			/* hold back the RTP relayed towards this leg */
};

struct mr_session_req {
	struct mr_leg_req legs[2];
	int rtcp_mux;			/* default 1 */
	unsigned int idle_timeout;	/* 0 = relay.idle_timeout */
	uint32_t clock_rate;		/* 0 = from the static payload type (RFC 3551) */
	char label[MR_LABEL_LEN];	/* "" if absent */
};

struct mr_session_patch {
	int has_leg[2];			/* the leg appears as a non-empty object */
	struct mr_leg_req legs[2];	/* only remote / clear_remote / rtcp_remote / srtp
					 * meaningful */
	int has_idle_timeout;
	unsigned int idle_timeout;
	int has_label;
	char label[MR_LABEL_LEN];
	int no_wait;			/* not from JSON: answer without waiting for the owner to
					 * apply the new remotes (ng: the SDP does not depend on
					 * them; the worker applies them in order all the same) */
	int brief;			/* not from JSON: answer without counters (ng) */
};

/* Parse the "srtp" member obj of a leg or participant, named field in errors
 * ("legs[0].srtp"): an object, or null (patch: back to plain RTP; create: plain). 0 or
 * -EINVAL. Messages never quote a key. */
int mr_parse_srtp(json_t *obj, const char *field, int patch, struct mr_srtp_req *r, char *err,
		  size_t errlen);
/* Overwrite the key material a parsed request holds (after use). */
void mr_srtp_req_wipe(struct mr_srtp_req *r);

/* Parse and validate a POST /v1/sessions body. 0, or -EINVAL with one line in err naming the
 * field, e.g. "legs[0].remote: '1.2.3:5' is not an IP:port". */
int mr_parse_session_create(const char *body, size_t len, struct mr_session_req *req,
			    char *err, size_t errlen);
/* Parse and validate a POST /v1/sessions/batch body {"sessions": [ ... ]} of 1 to
 * MR_BATCH_MAX session objects. 0 with *reqs (malloc'd, caller frees) and *n set, or -EINVAL
 * with the element named, e.g. "sessions[3].legs[0].remote: ...". */
#define MR_BATCH_MAX 1000
int mr_parse_session_batch(const char *body, size_t len, struct mr_session_req **reqs,
			   unsigned int *n, char *err, size_t errlen);
/* Parse and validate a PATCH /v1/sessions/{id} body. Same error convention. */
int mr_parse_session_patch(const char *body, size_t len, struct mr_session_patch *p,
			   char *err, size_t errlen);

/* Parse a request body into a JSON object (a new reference); NULL with err saying why,
 * prefixed "body: " (empty, invalid JSON with line and column, duplicate keys, not an
 * object). */
json_t *mr_json_body_load(const char *body, size_t len, char *err, size_t errlen);
/* Format a one-line validation error into err (nothing when err is NULL or errlen 0). */
void mr_json_err_set(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "a.b.c.d:port" / "[v6]:port" as a JSON string, null for an unset endpoint (family 0). */
json_t *mr_json_ep(const struct mr_ep *ep);
/* *body = {"error": <formatted>}; returns status. The handlers' error answer. */
int mr_json_err(json_t **body, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Copy client-supplied text for quoting in an error message: bounded (n >= 4), printable ASCII
 * only (valid UTF-8 for jansson, one line whatever the client sent). Returns out. */
const char *mr_json_echo(const char *s, char *out, size_t n);

#endif
