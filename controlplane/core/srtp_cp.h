/* SPDX-License-Identifier: BSD-3-Clause
 * The control plane's side of SRTP (docs/API.md "SRTP"): building the struct mr_dp_srtp of a
 * session leg or room participant from a request's SDES keys, retiring the one it replaces
 * through the deferral queue, and showing what may be shown (suites and counters, never a
 * key; a local key only in the answer that made it).
 */
#ifndef MR_SRTP_CP_H
#define MR_SRTP_CP_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "json_req.h"
#include "session_dp.h"
#include "srtp.h"

struct mr_appliance;

/* What the control plane keeps of one endpoint's SRTP. */
struct mr_cp_srtp {
	/* The struct the owner has, or will have once it applied the last MR_CMD_SRTP_SET
	 * (NULL: plain); the control plane never changes one it handed over. */
	struct mr_dp_srtp *dp;
	uint8_t rx_suite, tx_suite;	/* enum mr_srtp_suite, 0: none */
	uint32_t rekeys;		/* PATCHes that changed it */
	struct mr_srtp_ctr final;	/* the counters, kept once dp is freed */
	/* The master keys in use, for the state store (controlplane/state/): a restart or a
	 * standby rebuilds the contexts from them. Wiped with the endpoint. */
	uint8_t has_rx_key, has_tx_key;
	struct mr_srtp_key rx_key, tx_key;
};

/* A local key made or taken for an answer, shown there once (mr_cp_srtp_show_key). */
struct mr_cp_srtp_new {
	int set;
	struct mr_srtp_key key;
};

/* Build the dataplane struct for request r on top of cur (NULL: the endpoint is plain or
 * new), for an owner on socket. field names the request member in errors ("legs[0].srtp").
 * 0 with *out, and nl set when the local key is new; or an HTTP status with *body. */
int mr_cp_srtp_build(struct mr_appliance *a, const char *field, const struct mr_srtp_req *r,
		     const struct mr_dp_srtp *cur, int socket, struct mr_dp_srtp **out,
		     struct mr_cp_srtp_new *nl, json_t **body);
/* Undo a build that was never handed over (r and nl as given to the build). */
void mr_cp_srtp_unbuild(struct mr_dp_srtp *d, const struct mr_srtp_req *r,
			struct mr_cp_srtp_new *nl);
/* A new endpoint's struct, set before publication. */
void mr_cp_srtp_set(struct mr_cp_srtp *cs, struct mr_dp_srtp *d, const struct mr_srtp_req *r,
		    const struct mr_cp_srtp_new *nl);
/* The owner was sent MR_CMD_SRTP_SET with nw (NULL: plain): record it in cs, and queue the
 * struct it replaces, with the contexts nw does not name, on the deferral queue. */
void mr_cp_srtp_installed(struct mr_appliance *a, unsigned int owner, struct mr_cp_srtp *cs,
			  struct mr_dp_srtp *nw, const struct mr_srtp_req *r,
			  const struct mr_cp_srtp_new *nl);
/* Keys the control plane itself came by (a DTLS handshake, a cluster link's entries): r's
 * struct built on top of cs and handed to owner for room participant part
 * (MR_CMD_PART_SRTP_SET; wait: for room in the command ring, not for the owner to apply it),
 * then recorded in cs. 0, or -1 with nothing changed. r stays the caller's to wipe. */
int mr_cp_srtp_part_install(struct mr_appliance *a, unsigned int owner, void *part,
			    struct mr_cp_srtp *cs, const struct mr_srtp_req *r, int wait);
/* The same for leg of session s (MR_CMD_SRTP_SET; the owner applies it in order with the
 * session's other commands). */
int mr_cp_srtp_leg_install(struct mr_appliance *a, unsigned int owner, struct mr_dp_session *s,
			   unsigned int leg, struct mr_cp_srtp *cs, const struct mr_srtp_req *r);
/* The endpoint is gone and the owner can no longer reach its struct: keep the counters and
 * free it now. */
void mr_cp_srtp_release(struct mr_cp_srtp *cs);
/* "srtp" of a GET or an answer: null for plain; suites, and with full counters and rekeys. */
json_t *mr_cp_srtp_json(const struct mr_cp_srtp *cs, int full);
/* Put the new local key into the object sj ("srtp" of an answer) as local_key, then wipe
 * it. */
void mr_cp_srtp_show_key(json_t *sj, struct mr_cp_srtp_new *nl);

/* ---- the state store's records (controlplane/state/, docs/OPERATIONS.md "State in Redis") */

/* SRTCP indexes sent since the last snapshot are not known: a restore skips this many ahead
 * so that the receiver does not take the next ones for replays (the digest changes every
 * 256 of them). */
#define MR_SRTCP_RESTORE_SKIP 512u

/* What a restore needs of an SRTP endpoint's contexts: per direction (0 rx, 1 tx) the SSRCs
 * and their last known indexes. */
struct mr_cp_srtp_seeds {
	unsigned int n[2];
	struct mr_srtp_seed s[2][MR_SRTP_SSRCS];
};

struct mr_jtext;

/* The "srtp" of a record: null for plain, else {"remote_key": SDES|null, "local_key":
 * SDES|null, "rx": [[ssrc, index, srtcp_index], ...], "tx": [...]}. Holds the keys. As
 * text appended to b (jtext.h), or as a new JSON reference. */
void mr_cp_srtp_record_text(const struct mr_cp_srtp *cs, struct mr_jtext *b);
json_t *mr_cp_srtp_record(const struct mr_cp_srtp *cs);
/* Back from a record's "srtp" (absent or null: r->present stays 0): 0, or -1. */
int mr_cp_srtp_record_parse(json_t *sj, struct mr_srtp_req *r, struct mr_cp_srtp_seeds *sd);
/* Start the contexts of a restored endpoint (before publication) from sd. */
void mr_cp_srtp_seed(struct mr_dp_srtp *d, const struct mr_cp_srtp_seeds *sd);
/* Fold what changes without the API in d (each SSRC's index at a granularity of 4096
 * packets, the SRTCP index sent at 256) into the FNV-1a hash h; d NULL leaves h. */
uint64_t mr_cp_srtp_digest(uint64_t h, const struct mr_dp_srtp *d);

/* FNV-1a, 64 bits: the state store's change digests. */
static inline uint64_t
mr_fnv1a(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ull;
	return h;
}

#define MR_FNV1A_INIT 0xcbf29ce484222325ull

#endif
