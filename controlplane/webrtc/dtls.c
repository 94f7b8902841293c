/* SPDX-License-Identifier: BSD-3-Clause
 * DTLS-SRTP with OpenSSL 3 (dtls.h). The input side is a memory BIO fed one datagram at a
 * time; the output side is a BIO of our own whose every write is one datagram handed to the
 * caller (a memory BIO would merge a flight's datagrams into one stream).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "dtls.h"

struct mr_dtls_ctx {
	SSL_CTX *ssl;
	BIO_METHOD *wmeth;
	char fp[MR_DTLS_FP_LEN];
};

struct mr_dtls {
	struct mr_dtls_ctx *c;
	SSL *ssl;
	mr_dtls_send_fn send;
	void *arg;
	enum mr_dtls_state state;
	const char *error;
	uint64_t malformed;
	const EVP_MD *peer_md;
	uint8_t peer_fp[EVP_MAX_MD_SIZE];
	unsigned int peer_fp_len;
};

/* ---- the output BIO: one write, one datagram ---- */

static int
wbio_write(BIO *b, const char *data, int len)
{
	struct mr_dtls *d = BIO_get_data(b);

	if (len > 0 && d != NULL)
		d->send(d->arg, (const uint8_t *)data, (size_t)len);
	return len;
}

static long
wbio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_DGRAM_QUERY_MTU:
		return MR_DTLS_MTU;
	default:
		return 0;
	}
}

static int
wbio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

/* ---- the context ---- */

static int
verify_any(int ok, X509_STORE_CTX *x)
{
	/* Self-signed certificates are the rule (RFC 8827 §6.5): the fingerprint from the
	 * peer's SDP is checked once the handshake is done. */
	(void)ok;
	(void)x;
	return 1;
}

static int
fp_format(X509 *x, char *out, size_t len)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int n, i;
	size_t o;

	if (!X509_digest(x, EVP_sha256(), md, &n))
		return -1;
	o = (size_t)snprintf(out, len, "sha-256 ");
	for (i = 0; i < n && o + 3 < len; i++)
		o += (size_t)snprintf(out + o, len - o, i ? ":%02X" : "%02X", md[i]);
	return 0;
}

struct mr_dtls_ctx *
mr_dtls_ctx_create(char *err, size_t errlen)
{
	struct mr_dtls_ctx *c = calloc(1, sizeof(*c));
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	X509_NAME *name;
	uint64_t serial;

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pk = EVP_EC_gen("P-256");
	x = X509_new();
	if (pk == NULL || x == NULL || RAND_bytes((unsigned char *)&serial, sizeof(serial)) != 1)
		goto fail;
	X509_set_version(x, 2);
	ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial >> 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400);
	X509_set_pubkey(x, pk);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"mrelay", -1,
				   -1, 0);
	X509_set_issuer_name(x, name);
	if (!X509_sign(x, pk, EVP_sha256()))
		goto fail;
	c->ssl = SSL_CTX_new(DTLS_server_method());
	if (c->ssl == NULL || SSL_CTX_use_certificate(c->ssl, x) != 1 ||
	    SSL_CTX_use_PrivateKey(c->ssl, pk) != 1 ||
	    SSL_CTX_set_min_proto_version(c->ssl, DTLS1_2_VERSION) != 1 ||
	    /* 0 is success for this one */
	    SSL_CTX_set_tlsext_use_srtp(c->ssl, "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80")
	    != 0)
		goto fail;
	SSL_CTX_set_verify(c->ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_any);
	SSL_CTX_set_options(c->ssl, SSL_OP_NO_QUERY_MTU);
	/* The client's hello comes from the address ICE checked: no cookie round trip. */
	if (fp_format(x, c->fp, sizeof(c->fp)) < 0)
		goto fail;
	c->wmeth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "mr_dtls_out");
	if (c->wmeth == NULL)
		goto fail;
	BIO_meth_set_write(c->wmeth, wbio_write);
	BIO_meth_set_ctrl(c->wmeth, wbio_ctrl);
	BIO_meth_set_create(c->wmeth, wbio_create);
	X509_free(x);
	EVP_PKEY_free(pk);
	return c;
fail:
	snprintf(err, errlen, "DTLS certificate or context: %s",
		 ERR_reason_error_string(ERR_get_error()) ?: "OpenSSL error");
	X509_free(x);
	EVP_PKEY_free(pk);
	mr_dtls_ctx_free(c);
	return NULL;
}

void
mr_dtls_ctx_free(struct mr_dtls_ctx *c)
{
	if (c == NULL)
		return;
	SSL_CTX_free(c->ssl);
	BIO_meth_free(c->wmeth);
	free(c);
}

const char *
mr_dtls_ctx_fingerprint(const struct mr_dtls_ctx *c)
{
	return c->fp;
}

/* ---- fingerprints ---- */

int
mr_dtls_fp_parse(const char *fp, const char **md_name, uint8_t *raw, unsigned int *len)
{
	static const struct { const char *sdp, *ossl; } h[] = {
		{ "sha-1", "SHA1" }, { "sha-224", "SHA224" }, { "sha-256", "SHA256" },
		{ "sha-384", "SHA384" }, { "sha-512", "SHA512" },
	};
	const char *sp = strchr(fp, ' '), *p;
	unsigned int i, n = 0;

	if (sp == NULL)
		return -1;
	*md_name = NULL;
	for (i = 0; i < sizeof(h) / sizeof(h[0]); i++)
		if ((size_t)(sp - fp) == strlen(h[i].sdp) && strncasecmp(fp, h[i].sdp, sp - fp) == 0)
			*md_name = h[i].ossl;
	if (*md_name == NULL)
		return -1;
	for (p = sp + 1; *p != '\0';) {
		unsigned int v;

		if (n == EVP_MAX_MD_SIZE || sscanf(p, "%2x", &v) != 1 || !p[1] || p[0] == ':' ||
		    p[1] == ':')
			return -1;
		raw[n++] = (uint8_t)v;
		p += 2;
		if (*p == ':')
			p++;
		else if (*p != '\0')
			return -1;
	}
	*len = n;
	return n >= 20 ? 0 : -1;
}

/* ---- connections ---- */

/* Retransmission timer (RFC 6347 §4.2.4.1 leaves the values to the application): 100 ms,
 * doubled on each timeout up to 2 s; WebRTC peers retransmit fast too. */
static unsigned int
dtls_timer_cb(SSL *s, unsigned int prev_us)
{
	(void)s;
	if (prev_us == 0)
		return 100000;
	return prev_us >= 1000000 ? 2000000 : prev_us * 2;
}

struct mr_dtls *
mr_dtls_new(struct mr_dtls_ctx *c, const char *peer_fp, mr_dtls_send_fn send, void *arg)
{
	struct mr_dtls *d = calloc(1, sizeof(*d));
	const char *md;
	BIO *r = NULL, *w = NULL;

	if (d == NULL)
		return NULL;
	if (mr_dtls_fp_parse(peer_fp, &md, d->peer_fp, &d->peer_fp_len) < 0 ||
	    (d->peer_md = EVP_get_digestbyname(md)) == NULL ||
	    (unsigned int)EVP_MD_get_size(d->peer_md) != d->peer_fp_len)
		goto fail;
	d->c = c;
	d->send = send;
	d->arg = arg;
	d->error = "";
	d->ssl = SSL_new(c->ssl);
	r = BIO_new(BIO_s_mem());
	w = BIO_new(c->wmeth);
	if (d->ssl == NULL || r == NULL || w == NULL)
		goto fail;
	BIO_set_mem_eof_return(r, -1);
	BIO_set_data(w, d);
	SSL_set_bio(d->ssl, r, w);
	r = w = NULL;
	SSL_set_accept_state(d->ssl);
	SSL_set_options(d->ssl, SSL_OP_NO_QUERY_MTU);
	DTLS_set_link_mtu(d->ssl, MR_DTLS_MTU);
	DTLS_set_timer_cb(d->ssl, dtls_timer_cb);
	return d;
fail:
	BIO_free(r);
	BIO_free(w);
	SSL_free(d->ssl);
	free(d);
	return NULL;
}

void
mr_dtls_free(struct mr_dtls *d)
{
	if (d == NULL)
		return;
	SSL_free(d->ssl);
	free(d);
}

static enum mr_dtls_state
dtls_fail(struct mr_dtls *d, const char *why)
{
	d->state = MR_DTLS_FAILED;
	d->error = why;
	ERR_clear_error();
	return d->state;
}

/* The handshake is done: the peer's certificate must be the one its SDP announced, and an
 * SRTP profile must have been agreed. */
static enum mr_dtls_state
dtls_established(struct mr_dtls *d)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	X509 *peer = SSL_get1_peer_certificate(d->ssl);
	int ok;

	if (peer == NULL)
		return dtls_fail(d, "no peer certificate");
	ok = X509_digest(peer, d->peer_md, md, &n) && n == d->peer_fp_len &&
	     CRYPTO_memcmp(md, d->peer_fp, n) == 0;
	X509_free(peer);
	if (!ok) {
		SSL_shutdown(d->ssl);
		return dtls_fail(d, "peer certificate does not match the SDP fingerprint");
	}
	if (SSL_get_selected_srtp_profile(d->ssl) == NULL)
		return dtls_fail(d, "no SRTP protection profile agreed (use_srtp)");
	d->state = MR_DTLS_CONNECTED;
	return d->state;
}

/* A datagram of whole DTLS records (RFC 6347 §4.1: 13-byte header, then length bytes)? */
static int
dtls_records_ok(const uint8_t *p, size_t len)
{
	size_t off = 0;

	if (len == 0)
		return 0;
	while (off < len) {
		size_t rl;

		if (len - off < 13 || p[off] < 20 || p[off] > 63 || p[off + 1] != 0xfe)
			return 0;
		rl = (size_t)p[off + 11] << 8 | p[off + 12];
		if (rl > len - off - 13)
			return 0;
		off += 13 + rl;
	}
	return 1;
}

enum mr_dtls_state
mr_dtls_input(struct mr_dtls *d, const uint8_t *data, size_t len)
{
	uint8_t buf[2048];
	int r;

	if (d->state != MR_DTLS_HANDSHAKE && d->state != MR_DTLS_CONNECTED)
		return d->state;
	if (!dtls_records_ok(data, len)) {
		d->malformed++;
		return d->state;
	}
	if (BIO_write(SSL_get_rbio(d->ssl), data, (int)len) != (int)len)
		return dtls_fail(d, "out of memory");
	if (d->state == MR_DTLS_HANDSHAKE) {
		r = SSL_do_handshake(d->ssl);
		if (r == 1)
			return dtls_established(d);
		switch (SSL_get_error(d->ssl, r)) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			ERR_clear_error();
			return d->state;
		default:
			return dtls_fail(d, "handshake failed (alert or bad record)");
		}
	}
	/* Connected: application data (data channels are not offered) is read and ignored;
	 * close_notify closes; retransmitted handshake records are answered by OpenSSL. */
	for (;;) {
		r = SSL_read(d->ssl, buf, sizeof(buf));
		if (r > 0)
			continue;
		switch (SSL_get_error(d->ssl, r)) {
		case SSL_ERROR_WANT_READ:
			ERR_clear_error();
			/* Leftovers of a datagram that did not decode stay out of the next. */
			(void)BIO_reset(SSL_get_rbio(d->ssl));
			return d->state;
		case SSL_ERROR_ZERO_RETURN:
			d->state = MR_DTLS_CLOSED;
			return d->state;
		default:
			return dtls_fail(d, "alert or bad record after the handshake");
		}
	}
}

long
mr_dtls_timer_us(struct mr_dtls *d)
{
	struct timeval tv;

	if (d->state != MR_DTLS_HANDSHAKE || DTLSv1_get_timeout(d->ssl, &tv) != 1)
		return -1;
	return tv.tv_sec * 1000000L + tv.tv_usec;
}

enum mr_dtls_state
mr_dtls_timeout(struct mr_dtls *d)
{
	if (d->state == MR_DTLS_HANDSHAKE && DTLSv1_handle_timeout(d->ssl) < 0)
		return dtls_fail(d, "retransmission failed");
	return d->state;
}

uint64_t
mr_dtls_malformed(const struct mr_dtls *d)
{
	return d->malformed;
}

enum mr_dtls_state
mr_dtls_state(const struct mr_dtls *d)
{
	return d->state;
}

const char *
mr_dtls_error(const struct mr_dtls *d)
{
	return d->error;
}

void
mr_dtls_close(struct mr_dtls *d)
{
	if (d->state == MR_DTLS_CONNECTED) {
		SSL_shutdown(d->ssl);
		d->state = MR_DTLS_CLOSED;
	}
	ERR_clear_error();
}

const char *
mr_dtls_version(const struct mr_dtls *d)
{
	return SSL_get_version(d->ssl);
}

int
mr_dtls_keys(struct mr_dtls *d, struct mr_srtp_key *rx, struct mr_srtp_key *tx)
{
	static const char label[] = "EXTRACTOR-dtls_srtp";
	const SRTP_PROTECTION_PROFILE *pp;
	const struct mr_srtp_suite_info *si;
	enum mr_srtp_suite s;
	uint8_t km[2 * MR_SRTP_MAX_MASTER];
	unsigned int kl, sl;

	if (d->state != MR_DTLS_CONNECTED || (pp = SSL_get_selected_srtp_profile(d->ssl)) == NULL)
		return -1;
	switch (pp->id) {
	case SRTP_AES128_CM_SHA1_80:
		s = MR_SRTP_AES_CM_128_HMAC_SHA1_80;
		break;
	case SRTP_AEAD_AES_128_GCM:
		s = MR_SRTP_AEAD_AES_128_GCM;
		break;
	default:
		return -1;
	}
	si = mr_srtp_suite_info(s);
	kl = si->key_len;
	sl = si->salt_len;
	/* RFC 5764 §4.2: client key, server key, client salt, server salt. */
	if (SSL_export_keying_material(d->ssl, km, 2 * (kl + sl), label, sizeof(label) - 1,
				       NULL, 0, 0) != 1)
		return -1;
	memset(rx, 0, sizeof(*rx));
	memset(tx, 0, sizeof(*tx));
	rx->suite = tx->suite = (uint8_t)s;
	rx->len = tx->len = (uint8_t)(kl + sl);
	memcpy(rx->master, km, kl);
	memcpy(rx->master + kl, km + 2 * kl, sl);
	memcpy(tx->master, km + kl, kl);
	memcpy(tx->master + kl, km + 2 * kl + sl, sl);
	OPENSSL_cleanse(km, sizeof(km));
	return 0;
}
