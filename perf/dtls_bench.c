/* SPDX-License-Identifier: BSD-3-Clause
 * dtls_bench: DTLS-SRTP handshakes per second on the control thread (docs/PERFORMANCE.md
 * "WebRTC"). The server side is mrelayd's own (controlplane/webrtc/dtls.c: passive, ECDSA
 * P-256 certificate, use_srtp, the peer's certificate checked against its SDP fingerprint,
 * the RFC 5764 keys exported); the client is OpenSSL in the same thread on memory BIOs, as a
 * browser would be (its own ECDSA P-256 certificate, DTLS 1.2, both SRTP profiles). Only
 * the server's calls are timed (mr_dtls_new, every mr_dtls_input, mr_dtls_keys,
 * mr_dtls_free), in the thread's CPU time (CLOCK_THREAD_CPUTIME_ID: on a shared machine,
 * time the thread was preempted does not count): what one handshake costs the control loop.
 * No assertions beyond every handshake completing; it prints a Markdown table.
 *
 *   dtls_bench [-n HANDSHAKES]     default 500
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "dtls.h"

#define MAX_DGRAMS 32

static uint8_t s2c[MAX_DGRAMS][2048];
static size_t s2c_len[MAX_DGRAMS];
static unsigned int s2c_n;

static void
srv_send(void *arg, const uint8_t *data, size_t len)
{
	(void)arg;
	if (s2c_n < MAX_DGRAMS && len <= sizeof(s2c[0])) {
		memcpy(s2c[s2c_n], data, len);
		s2c_len[s2c_n++] = len;
	}
}

static uint64_t
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The client's context: a self-signed ECDSA P-256 certificate and its SDP fingerprint. */
static SSL_CTX *
client_ctx(char *fp, size_t fplen)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int n, i;
	SSL_CTX *c;
	size_t o;

	if (pk == NULL || x == NULL)
		return NULL;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pk);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"bench", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	c = SSL_CTX_new(DTLS_client_method());
	if (c == NULL || X509_sign(x, pk, EVP_sha256()) <= 0 ||
	    SSL_CTX_use_certificate(c, x) != 1 || SSL_CTX_use_PrivateKey(c, pk) != 1 ||
	    SSL_CTX_set_tlsext_use_srtp(c, "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80") != 0)
		return NULL;
	/* No resumption: every handshake is a full one, as with a new browser tab. */
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
	X509_digest(x, EVP_sha256(), md, &n);
	o = (size_t)snprintf(fp, fplen, "sha-256 ");
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(fp + o, fplen - o, i ? ":%02X" : "%02X", md[i]);
	X509_free(x);
	EVP_PKEY_free(pk);
	return c;
}

/* One full handshake; returns the server's nanoseconds, 0 when it failed. */
static uint64_t
handshake(struct mr_dtls_ctx *ctx, SSL_CTX *cc, const char *fp, const char **version)
{
	SSL *ssl = SSL_new(cc);
	BIO *rd = BIO_new(BIO_s_mem()), *wr = BIO_new(BIO_s_mem());
	enum mr_dtls_state st = MR_DTLS_HANDSHAKE;
	struct mr_srtp_key rx, tx;
	struct mr_dtls *d;
	uint8_t buf[8192];
	uint64_t t, srv = 0;
	unsigned int i, round;
	int n;

	BIO_set_mem_eof_return(rd, -1);
	SSL_set_bio(ssl, rd, wr);
	SSL_set_connect_state(ssl);
	s2c_n = 0;
	t = cpu_ns();
	d = mr_dtls_new(ctx, fp, srv_send, NULL);
	srv += cpu_ns() - t;
	for (round = 0; d != NULL && round < 10 && st == MR_DTLS_HANDSHAKE; round++) {
		(void)SSL_do_handshake(ssl);
		while ((n = BIO_read(wr, buf, sizeof(buf))) > 0) {
			t = cpu_ns();
			st = mr_dtls_input(d, buf, (size_t)n);
			srv += cpu_ns() - t;
		}
		for (i = 0; i < s2c_n; i++)
			BIO_write(rd, s2c[i], (int)s2c_len[i]);
		s2c_n = 0;
		ERR_clear_error();
	}
	(void)SSL_do_handshake(ssl);	/* the client takes the server's last flight */
	t = cpu_ns();
	if (st != MR_DTLS_CONNECTED || mr_dtls_keys(d, &rx, &tx) != 0 ||
	    SSL_is_init_finished(ssl) != 1)
		srv = 0;
	else
		*version = mr_dtls_version(d);
	mr_dtls_free(d);
	if (srv != 0)
		srv += cpu_ns() - t;
	SSL_free(ssl);
	return srv;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	unsigned int n = 500, i;
	const char *version = "?";
	char err[256], fp[MR_DTLS_FP_LEN];
	struct mr_dtls_ctx *ctx;
	uint64_t *ns, total = 0, t0, wall;
	SSL_CTX *cc;
	int opt;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n' || (n = (unsigned int)strtoul(optarg, NULL, 10)) == 0) {
			fprintf(stderr, "usage: dtls_bench [-n HANDSHAKES]\n");
			return 2;
		}
	}
	ctx = mr_dtls_ctx_create(err, sizeof(err));
	cc = client_ctx(fp, sizeof(fp));
	ns = calloc(n, sizeof(*ns));
	if (ctx == NULL || cc == NULL || ns == NULL) {
		fprintf(stderr, "setup failed: %s\n", ctx == NULL ? err : "client context");
		return 1;
	}
	(void)handshake(ctx, cc, fp, &version);		/* warm up */
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		ns[i] = handshake(ctx, cc, fp, &version);
		if (ns[i] == 0) {
			fprintf(stderr, "handshake %u failed\n", i);
			return 1;
		}
		total += ns[i];
	}
	wall = now_ns() - t0;
	qsort(ns, n, sizeof(*ns), cmp_u64);
	printf("%u full DTLS handshakes (%s, ECDSA P-256 both sides, use_srtp), server side "
	       "(mrelayd's dtls.c) timed alone in thread CPU time\n\n", n, version);
	printf("| handshakes/s (server CPU) | server µs p50 | server µs p99 | handshakes/s with "
	       "the client in the same thread (wall) |\n|---:|---:|---:|---:|\n");
	printf("| %.0f | %.0f | %.0f | %.0f |\n", (double)n * 1e9 / (double)total,
	       (double)ns[n / 2] / 1e3, (double)ns[(size_t)n * 99 / 100] / 1e3,
	       (double)n * 1e9 / (double)wall);
	free(ns);
	SSL_CTX_free(cc);
	mr_dtls_ctx_free(ctx);
	return 0;
}
