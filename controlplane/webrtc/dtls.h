/* SPDX-License-Identifier: BSD-3-Clause
 * DTLS-SRTP (RFC 5763, RFC 5764) for WebRTC participants, on the control thread: OpenSSL
 * with memory input and a datagram-preserving output BIO, one certificate (ECDSA P-256)
 * made at start, mrelay in the passive (server) role, use_srtp with
 * SRTP_AEAD_AES_128_GCM and SRTP_AES128_CM_SHA1_80, the peer's certificate checked against
 * the fingerprint of its SDP. No EAL: unit-tested with an OpenSSL client in-process
 * (tests/unit/test_dtls.c). Each call does one record's (or one timer's) work and never
 * blocks.
 */
#ifndef MR_DTLS_H
#define MR_DTLS_H

#include <stddef.h>
#include <stdint.h>

#include "srtp.h"

#define MR_DTLS_FP_LEN 160		/* "sha-256 AB:CD:..." with the NUL */
#define MR_DTLS_MTU 1200		/* what a flight's datagrams are cut to */

struct mr_dtls_ctx;
struct mr_dtls;

/* The certificate and the OpenSSL context. NULL (err filled) on failure. */
struct mr_dtls_ctx *mr_dtls_ctx_create(char *err, size_t errlen);
void mr_dtls_ctx_free(struct mr_dtls_ctx *c);
/* The certificate's fingerprint as an SDP a=fingerprint value: "sha-256 AB:CD:...". */
const char *mr_dtls_ctx_fingerprint(const struct mr_dtls_ctx *c);

enum mr_dtls_state {
	MR_DTLS_HANDSHAKE = 0,
	MR_DTLS_CONNECTED,		/* keys ready (mr_dtls_keys) */
	MR_DTLS_CLOSED,			/* close_notify received */
	MR_DTLS_FAILED,			/* alert, bad fingerprint, no SRTP profile */
};

/* What the connection sends: each call is one datagram. */
typedef void (*mr_dtls_send_fn)(void *arg, const uint8_t *data, size_t len);

/* A passive (server) connection whose peer must present a certificate with fingerprint
 * peer_fp ("sha-256 AB:CD:..." as in the peer's SDP; hash names sha-1, sha-224, sha-256,
 * sha-384, sha-512). NULL when peer_fp does not parse or on memory. */
struct mr_dtls *mr_dtls_new(struct mr_dtls_ctx *c, const char *peer_fp, mr_dtls_send_fn send,
			    void *arg);
void mr_dtls_free(struct mr_dtls *d);
/* One received datagram (one or more records). Returns the state after it. A datagram that
 * is not a sequence of whole DTLS records is dropped and counted (mr_dtls_malformed). */
enum mr_dtls_state mr_dtls_input(struct mr_dtls *d, const uint8_t *data, size_t len);
/* Retransmission timer: microseconds until the next timeout (-1: none running); at or past
 * it, mr_dtls_timeout() retransmits the last flight. */
long mr_dtls_timer_us(struct mr_dtls *d);
enum mr_dtls_state mr_dtls_timeout(struct mr_dtls *d);
enum mr_dtls_state mr_dtls_state(const struct mr_dtls *d);
uint64_t mr_dtls_malformed(const struct mr_dtls *d);
/* Why the connection failed (a static string), or "". */
const char *mr_dtls_error(const struct mr_dtls *d);
/* Send close_notify. */
void mr_dtls_close(struct mr_dtls *d);
/* Once connected: the negotiated suite, the key the peer (DTLS client) encrypts with (rx)
 * and the one mrelay encrypts with (tx), from the RFC 5764 §4.2 exporter. 0, or -1. */
int mr_dtls_keys(struct mr_dtls *d, struct mr_srtp_key *rx, struct mr_srtp_key *tx);
/* "DTLSv1.2" and the cipher, for views. */
const char *mr_dtls_version(const struct mr_dtls *d);

/* Parse an SDP fingerprint value ("sha-256 AB:CD:..."): the digest name for OpenSSL and the
 * raw bytes. 0, or -1. */
int mr_dtls_fp_parse(const char *fp, const char **md_name, uint8_t *raw, unsigned int *len);

#endif
