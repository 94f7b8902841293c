/* SPDX-License-Identifier: BSD-3-Clause
 * SRTP and SRTCP (RFC 3711, AES-GCM RFC 7714) for the owner lcore: crypto contexts and burst
 * protect/unprotect with two engines, Intel IPsec-MB (the fast path) and libsrtp2 (the
 * reference); both produce identical bytes on the wire.
 *
 * Ownership (DESIGN.md §2): keys are control-plane state; a context (mr_srtp_ctx) is created
 * and freed by the control thread (it allocates), then used by exactly one lcore, the owner of
 * the flow it belongs to, which holds all its mutable state (rollover counters, replay
 * windows, SRTCP indexes). An engine (mr_srtp_engine) is per lcore. Nothing here allocates,
 * locks, logs or makes a syscall in the burst functions.
 *
 * Keys never leave this module in logs or error messages.
 */
#ifndef MR_SRTP_H
#define MR_SRTP_H

#include <stddef.h>
#include <stdint.h>

enum mr_srtp_suite {
	MR_SRTP_SUITE_NONE = 0,
	MR_SRTP_AES_CM_128_HMAC_SHA1_80,
	MR_SRTP_AES_CM_128_HMAC_SHA1_32,
	MR_SRTP_AES_256_CM_HMAC_SHA1_80,
	MR_SRTP_AEAD_AES_128_GCM,
	MR_SRTP_AEAD_AES_256_GCM,
	MR_SRTP_SUITE_MAX
};

struct mr_srtp_suite_info {
	const char *name;	/* RFC 4568 / RFC 7714 name, e.g. "AES_CM_128_HMAC_SHA1_80" */
	uint8_t key_len;	/* master key bytes: 16 or 32 */
	uint8_t salt_len;	/* master salt bytes: 14 (AES-CM) or 12 (GCM) */
	uint8_t rtp_tag_len;	/* 10, 4 or 16 */
	uint8_t rtcp_tag_len;	/* 10 (also for _32: RFC 4568 §6.2.1), or 16 */
	uint8_t aead;
};

/* NULL for MR_SRTP_SUITE_NONE or out of range. */
const struct mr_srtp_suite_info *mr_srtp_suite_info(enum mr_srtp_suite s);
/* The suite of an RFC 4568 name (exact, case-sensitive), or MR_SRTP_SUITE_NONE. */
enum mr_srtp_suite mr_srtp_suite_by_name(const char *name);

#define MR_SRTP_MAX_MASTER 46	/* 32-byte key + 14-byte salt */

/* A master key and salt (key first, then salt, as in SDES inline). */
struct mr_srtp_key {
	uint8_t suite;		/* enum mr_srtp_suite */
	uint8_t len;		/* key_len + salt_len of the suite */
	uint8_t master[MR_SRTP_MAX_MASTER];
};

/* SDES (RFC 4568 §6.1): "SUITE inline:BASE64[|LIFETIME][|MKI:LEN]" (a leading "TAG " as in
 * an a=crypto line is accepted and ignored). Lifetime is accepted and ignored; an MKI is
 * refused (mrelay sends and accepts no MKI). Returns 0, or -1 with a reason in err that never
 * contains key material. */
int mr_srtp_sdes_parse(const char *s, struct mr_srtp_key *k, char *err, size_t errlen);
/* "SUITE inline:BASE64" into out; returns the length, or -1 when out is too small. */
int mr_srtp_sdes_format(const struct mr_srtp_key *k, char *out, size_t len);
/* A fresh key of the suite from a CSPRNG (getrandom). 0, or -1. */
int mr_srtp_key_random(enum mr_srtp_suite s, struct mr_srtp_key *k);
/* Overwrite key material (explicit_bzero). */
void mr_srtp_key_wipe(struct mr_srtp_key *k);

enum mr_srtp_engine_kind {
	MR_SRTP_ENGINE_IPSEC_MB = 0,	/* srtp.engine = "ipsec-mb" (default) */
	MR_SRTP_ENGINE_LIBSRTP,		/* srtp.engine = "libsrtp" */
};

/* Process-wide initialisation (libsrtp's srtp_init, CPU feature checks) before any engine or
 * context is made; 0 or -1 (message logged). Idempotent. */
int mr_srtp_global_init(enum mr_srtp_engine_kind kind);

/* srtp.vaes_gcm (docs/CONFIG.md): the IPsec-MB engine's AES-GCM of packets up to 256
 * bytes by mrelay's own one-pass VAES code (dataplane/srtp/gcm_vaes.c) where the CPU has the
 * instructions and the code's self-test against IPsec-MB passed (1, the default), or by
 * IPsec-MB's for every packet (0). Applies to every engine from the next burst. */
void mr_srtp_set_vaes_gcm(int on);
/* 1 when the IPsec-MB engine runs small AES-GCM packets through it (known after
 * mr_srtp_global_init(MR_SRTP_ENGINE_IPSEC_MB); 0 before). */
int mr_srtp_vaes_gcm(void);

/* One per lcore (the IPsec-MB manager), created by the control thread for each worker. */
struct mr_srtp_engine;
struct mr_srtp_engine *mr_srtp_engine_create(enum mr_srtp_engine_kind kind);
void mr_srtp_engine_free(struct mr_srtp_engine *e);

/* One direction of one leg (or participant): the session keys derived from the master key
 * (key derivation rate 0) for SRTP and SRTCP, and the state of up to MR_SRTP_SSRCS SSRCs
 * (rollover counter, highest sequence number and a replay window of MR_SRTP_REPLAY packets for
 * SRTP; SRTCP index and its replay window; the next SRTCP index to send). When all slots are
 * in use, an SSRC not yet seen takes the least recently used slot (protect), or, unprotecting,
 * the least recently used slot once its packet has authenticated. */
#define MR_SRTP_SSRCS 8
#define MR_SRTP_REPLAY 128

/* Bytes protect may append: SRTP tag (up to 16), SRTCP E+index (4) and tag (up to 16). */
#define MR_SRTP_MAX_TRAILER 20

struct mr_srtp_ctx;
/* Made by the control thread (allocates; NULL on failure or an invalid key) for the given
 * engine kind; freed by it after the owner lcore can no longer use it (RCU grace period). */
struct mr_srtp_ctx *mr_srtp_ctx_create(enum mr_srtp_engine_kind kind, const struct mr_srtp_key *k);
void mr_srtp_ctx_free(struct mr_srtp_ctx *c);
enum mr_srtp_suite mr_srtp_ctx_suite(const struct mr_srtp_ctx *c);
/* On the owner lcore, when a re-key takes effect: the per-SSRC state of old (ROC, highest
 * sequence, replay windows, SRTCP indexes) carries over to nw, so the stream continues. */
void mr_srtp_ctx_inherit(struct mr_srtp_ctx *nw, const struct mr_srtp_ctx *old);

/* What a restart needs of one SSRC of a context (docs/OPERATIONS.md "State in Redis"): the
 * highest SRTP index seen or sent (ROC << 16 | SEQ) and the last SRTCP index sent. */
struct mr_srtp_seed {
	uint32_t ssrc;
	uint32_t rtcp_tx;
	uint64_t index;
};
/* Control thread, while the owner lcore may be using c: copy the SSRCs in use into out (up
 * to MR_SRTP_SSRCS); returns how many. Each field is read with a relaxed atomic load, so a
 * value may be some packets old (a restart estimates the index from it, RFC 3711 §3.3.1);
 * the owner's hot path is untouched. */
unsigned int mr_srtp_ctx_snapshot(const struct mr_srtp_ctx *c, struct mr_srtp_seed *out);
/* Control thread, before c is published: start its SSRCs from seeds (a restore), as a
 * re-key starts them from the old context (mr_srtp_ctx_inherit). n at most MR_SRTP_SSRCS. */
void mr_srtp_ctx_seed(struct mr_srtp_ctx *c, const struct mr_srtp_seed *seeds, unsigned int n);

/* Results of one operation. */
enum {
	MR_SRTP_OK = 0,
	MR_SRTP_EMALFORMED = -1,	/* too short, bad version, SRTCP without its index */
	MR_SRTP_EAUTH = -2,		/* the tag does not verify */
	MR_SRTP_EREPLAY = -3,		/* authenticated, but its index was seen or is too old */
	MR_SRTP_ENOROOM = -4,		/* protect: room < the trailer */
	MR_SRTP_EENGINE = -5,		/* the engine failed (should not happen) */
};

/* One packet: the RTP or RTCP header at pkt (the UDP payload), len bytes. */
struct mr_srtp_op {
	struct mr_srtp_ctx *ctx;
	uint8_t *pkt;
	uint16_t len;		/* in: packet length; out (MR_SRTP_OK): the new length */
	uint16_t room;		/* protect: bytes writable after pkt + len */
	uint8_t rtcp;		/* 1: SRTCP (RFC 3711 §3.4) */
	int8_t res;		/* out: MR_SRTP_OK or a negative MR_SRTP_E... */
	uint32_t priv[6];	/* the engine's scratch (estimated index, ...) */
};

/* The owner lcore processes up to MR_SRTP_BURST ops in one go: every job is submitted before
 * one flush. Unprotect authenticates first; an op that fails (any error) changes no state of
 * its context and leaves the packet's bytes as they were. Ops of one context are committed in
 * array order (a duplicate later in the same burst is a replay). Protect never fails for a
 * well-formed packet with room. */
#define MR_SRTP_BURST 64
void mr_srtp_unprotect_burst(struct mr_srtp_engine *e, struct mr_srtp_op *ops, unsigned int n);
void mr_srtp_protect_burst(struct mr_srtp_engine *e, struct mr_srtp_op *ops, unsigned int n);

/* On the owner lcore, when it stages an op on c for a later burst: start loading the line
 * that holds c's first SSRC slot (ROC, highest index, replay window; the SRTCP ones in the
 * next line), which each op reads and writes before its cipher can start. Reads nothing.
 * Only those lines: also prefetching the keys (up to ten more lines a context) measured
 * slower (docs/PERFORMANCE.md "SRTP at scale"). */
static inline void
mr_srtp_prefetch(const struct mr_srtp_ctx *c, int rtcp)
{
	__builtin_prefetch(c, 1);
	if (rtcp)
		__builtin_prefetch((const char *)c + 64, 1);
}

#endif
