/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for controlplane/webrtc/dtls.c: the passive DTLS-SRTP state machine against an
 * OpenSSL DTLS client in the same process (memory BIOs both ways): both SRTP profiles, keys
 * equal to what the client exports (RFC 5764 §4.2), a certificate that does not match the
 * SDP fingerprint, no common SRTP profile, close_notify, garbage, the retransmission timer,
 * fingerprint parsing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "dtls.h"

static struct mr_dtls_ctx *ctx;

/* Datagrams the server sent, queued for the client. */
static uint8_t s2c[16][2048];
static size_t s2c_len[16];
static unsigned int s2c_n, s2c_total;

static void
srv_send(void *arg, const uint8_t *data, size_t len)
{
	(void)arg;
	assert_true(len <= MR_DTLS_MTU);
	assert_true(s2c_n < 16);
	memcpy(s2c[s2c_n], data, len);
	s2c_len[s2c_n++] = len;
	s2c_total++;
}

struct client {
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *rd, *wr;
	char fp[MR_DTLS_FP_LEN];
};

static void
client_new(struct client *c, const char *profiles)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int n, i;
	size_t o;

	assert_non_null(pk);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pk);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"client", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
	c->ctx = SSL_CTX_new(DTLS_client_method());
	assert_int_equal(SSL_CTX_use_certificate(c->ctx, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(c->ctx, pk), 1);
	assert_int_equal(SSL_CTX_set_tlsext_use_srtp(c->ctx, profiles), 0);
	c->ssl = SSL_new(c->ctx);
	c->rd = BIO_new(BIO_s_mem());
	c->wr = BIO_new(BIO_s_mem());
	BIO_set_mem_eof_return(c->rd, -1);
	SSL_set_bio(c->ssl, c->rd, c->wr);
	SSL_set_connect_state(c->ssl);
	X509_digest(x, EVP_sha256(), md, &n);
	o = (size_t)snprintf(c->fp, sizeof(c->fp), "sha-256 ");
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(c->fp + o, sizeof(c->fp) - o, i ? ":%02X" : "%02X", md[i]);
	X509_free(x);
	EVP_PKEY_free(pk);
}

static void
client_free(struct client *c)
{
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
}

/* Client output to the server as one datagram; server output to the client. */
static enum mr_dtls_state
pump(struct client *c, struct mr_dtls *d)
{
	enum mr_dtls_state st = mr_dtls_state(d);
	uint8_t buf[8192];
	unsigned int i;
	int n;

	(void)SSL_do_handshake(c->ssl);
	while ((n = BIO_read(c->wr, buf, sizeof(buf))) > 0)
		st = mr_dtls_input(d, buf, (size_t)n);
	for (i = 0; i < s2c_n; i++)
		BIO_write(c->rd, s2c[i], (int)s2c_len[i]);
	s2c_n = 0;
	ERR_clear_error();
	return st;
}

static void
handshake(const char *profiles, const char *fp_override, enum mr_dtls_state want,
	  enum mr_srtp_suite suite)
{
	struct client c;
	struct mr_dtls *d;
	struct mr_srtp_key rx, tx;
	uint8_t km[120];
	enum mr_dtls_state st = MR_DTLS_HANDSHAKE;
	unsigned int i, kl, sl;

	client_new(&c, profiles);
	s2c_n = 0;
	d = mr_dtls_new(ctx, fp_override ? fp_override : c.fp, srv_send, NULL);
	assert_non_null(d);
	for (i = 0; i < 10 && st == MR_DTLS_HANDSHAKE; i++)
		st = pump(&c, d);
	assert_int_equal(st, want);
	if (want == MR_DTLS_CONNECTED) {
		(void)pump(&c, d);
		assert_int_equal(SSL_is_init_finished(c.ssl), 1);
		assert_int_equal(mr_dtls_timer_us(d), -1);
		assert_int_equal(mr_dtls_keys(d, &rx, &tx), 0);
		assert_int_equal(rx.suite, suite);
		kl = suite == MR_SRTP_AEAD_AES_128_GCM ? 16 : 16;
		sl = suite == MR_SRTP_AEAD_AES_128_GCM ? 12 : 14;
		assert_int_equal(rx.len, kl + sl);
		assert_int_equal(SSL_export_keying_material(c.ssl, km, 2 * (kl + sl),
			"EXTRACTOR-dtls_srtp", 19, NULL, 0, 0), 1);
		assert_memory_equal(rx.master, km, kl);			/* client key */
		assert_memory_equal(rx.master + kl, km + 2 * kl, sl);	/* client salt */
		assert_memory_equal(tx.master, km + kl, kl);
		assert_memory_equal(tx.master + kl, km + 2 * kl + sl, sl);
		/* Garbage after the handshake is an error; a close_notify closes. */
		SSL_shutdown(c.ssl);
		assert_int_equal(pump(&c, d), MR_DTLS_CLOSED);
	} else {
		assert_int_not_equal(mr_dtls_keys(d, &rx, &tx), 0);
		assert_string_not_equal(mr_dtls_error(d), "");
	}
	mr_dtls_free(d);
	client_free(&c);
}

static void
test_gcm(void **state)
{
	(void)state;
	handshake("SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80", NULL, MR_DTLS_CONNECTED,
		  MR_SRTP_AEAD_AES_128_GCM);
}

static void
test_cm(void **state)
{
	(void)state;
	handshake("SRTP_AES128_CM_SHA1_80", NULL, MR_DTLS_CONNECTED,
		  MR_SRTP_AES_CM_128_HMAC_SHA1_80);
}

static void
test_bad_fingerprint(void **state)
{
	char fp[MR_DTLS_FP_LEN];
	unsigned int i;

	(void)state;
	snprintf(fp, sizeof(fp), "sha-256 ");
	for (i = 0; i < 32; i++)
		snprintf(fp + strlen(fp), sizeof(fp) - strlen(fp), i ? ":%02X" : "%02X", i);
	handshake("SRTP_AES128_CM_SHA1_80", fp, MR_DTLS_FAILED, 0);
}

static void
test_no_profile(void **state)
{
	(void)state;
	handshake("SRTP_AES128_CM_SHA1_32", NULL, MR_DTLS_FAILED, 0);
}

static void
test_garbage_and_timer(void **state)
{
	/* A record header claiming more bytes than the datagram has; not DTLS at all. */
	static const uint8_t junk[] = { 22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 1, 2, 3 };
	static const uint8_t junk2[] = { 22, 0x03, 0x03, 0, 0 };
	struct client c;
	struct mr_dtls *d;
	unsigned int before;

	(void)state;
	client_new(&c, "SRTP_AES128_CM_SHA1_80");
	s2c_n = 0;
	d = mr_dtls_new(ctx, c.fp, srv_send, NULL);
	assert_non_null(d);
	/* Not whole DTLS records: counted and dropped, still handshaking. */
	assert_int_equal(mr_dtls_input(d, junk, sizeof(junk)), MR_DTLS_HANDSHAKE);
	assert_int_equal(mr_dtls_input(d, junk2, sizeof(junk2)), MR_DTLS_HANDSHAKE);
	assert_int_equal(mr_dtls_malformed(d), 2);
	assert_int_equal(mr_dtls_timer_us(d), -1);
	assert_int_equal(pump(&c, d), MR_DTLS_HANDSHAKE);	/* ClientHello in, flight out */
	assert_true(mr_dtls_timer_us(d) >= 0);
	before = s2c_total;
	/* Retransmission once due (the first timeout is 100 ms: wait it out in small steps). */
	while (mr_dtls_timer_us(d) > 0) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	assert_int_equal(mr_dtls_timeout(d), MR_DTLS_HANDSHAKE);
	assert_true(s2c_total > before);
	mr_dtls_free(d);
	client_free(&c);
}

static void
test_fp_parse(void **state)
{
	const char *md;
	uint8_t raw[64];
	unsigned int n;

	(void)state;
	assert_int_equal(mr_dtls_fp_parse("sha-256 " "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:"
					  "EE:FF:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff",
					  &md, raw, &n), 0);
	assert_string_equal(md, "SHA256");
	assert_int_equal(n, 32);
	assert_int_equal(raw[10], 0xaa);
	assert_int_equal(mr_dtls_fp_parse("md5 00:11", &md, raw, &n), -1);
	assert_int_equal(mr_dtls_fp_parse("sha-256 00:11", &md, raw, &n), -1);
	assert_int_equal(mr_dtls_fp_parse("sha-256 0:11:22:33:44:55:66:77:88:99:00:11:22:33:44:"
					  "55:66:77:88:99", &md, raw, &n), -1);
	assert_int_equal(mr_dtls_fp_parse("sha-256", &md, raw, &n), -1);
	assert_null(mr_dtls_new(ctx, "sha-1 00:11", srv_send, NULL));
	/* A sha-1 length under a sha-256 name. */
	assert_null(mr_dtls_new(ctx, "sha-256 00:11:22:33:44:55:66:77:88:99:00:11:22:33:44:55:66:"
				"77:88:99", srv_send, NULL));
	assert_true(strncmp(mr_dtls_ctx_fingerprint(ctx), "sha-256 ", 8) == 0);
	assert_int_equal(strlen(mr_dtls_ctx_fingerprint(ctx)), 8 + 32 * 3 - 1);
}

static int
up(void **state)
{
	char err[128];

	(void)state;
	ctx = mr_dtls_ctx_create(err, sizeof(err));
	return ctx == NULL;
}

static int
down(void **state)
{
	(void)state;
	mr_dtls_ctx_free(ctx);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gcm),
		cmocka_unit_test(test_cm),
		cmocka_unit_test(test_bad_fingerprint),
		cmocka_unit_test(test_no_profile),
		cmocka_unit_test(test_garbage_and_timer),
		cmocka_unit_test(test_fp_parse),
	};

	return cmocka_run_group_tests(tests, up, down);
}
