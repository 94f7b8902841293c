/* SPDX-License-Identifier: BSD-3-Clause
 * SRTP, the engine-independent part: the suite table, SDES inline keys (RFC 4568 §6.1), random
 * keys, the RFC 3711 §4.3 key derivation, and contexts and engines dispatched by kind.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>

#include "srtp_internal.h"

static const struct mr_srtp_suite_info suites[MR_SRTP_SUITE_MAX] = {
	[MR_SRTP_AES_CM_128_HMAC_SHA1_80] = { "AES_CM_128_HMAC_SHA1_80", 16, 14, 10, 10, 0 },
	[MR_SRTP_AES_CM_128_HMAC_SHA1_32] = { "AES_CM_128_HMAC_SHA1_32", 16, 14, 4, 10, 0 },
	[MR_SRTP_AES_256_CM_HMAC_SHA1_80] = { "AES_256_CM_HMAC_SHA1_80", 32, 14, 10, 10, 0 },
	[MR_SRTP_AEAD_AES_128_GCM] = { "AEAD_AES_128_GCM", 16, 12, 16, 16, 1 },
	[MR_SRTP_AEAD_AES_256_GCM] = { "AEAD_AES_256_GCM", 32, 12, 16, 16, 1 },
};

const struct mr_srtp_suite_info *
mr_srtp_suite_info(enum mr_srtp_suite s)
{
	if ((unsigned int)s <= MR_SRTP_SUITE_NONE || (unsigned int)s >= MR_SRTP_SUITE_MAX)
		return NULL;
	return &suites[s];
}

enum mr_srtp_suite
mr_srtp_suite_by_name(const char *name)
{
	if (name == NULL)
		return MR_SRTP_SUITE_NONE;
	for (unsigned int s = MR_SRTP_SUITE_NONE + 1; s < MR_SRTP_SUITE_MAX; s++)
		if (strcmp(name, suites[s].name) == 0)
			return (enum mr_srtp_suite)s;
	return MR_SRTP_SUITE_NONE;
}

void
mr_srtp_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("MRELAY: srtp: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- SDES ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b64_val(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/* Strict base64 (RFC 4648 §4, padding required): the decoded length, or -1. */
static int
b64_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
	size_t i, o = 0;
	unsigned int pad = 0;

	if (n == 0 || n % 4 != 0)
		return -1;
	for (i = 0; i < n; i += 4) {
		int v[4];

		for (int j = 0; j < 4; j++) {
			if (s[i + j] == '=' && i + 4 == n && j >= 2) {
				v[j] = 0;
				pad++;
				continue;
			}
			if (pad)	/* data after padding */
				return -1;
			v[j] = b64_val(s[i + j]);
			if (v[j] < 0)
				return -1;
		}
		if (pad == 1 && s[i + 3] != '=')
			return -1;
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		unsigned int k = 3 - pad;

		if (o + k > cap)
			return -1;
		/* Non-canonical encodings (bits set in the padding) are refused. */
		if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
			return -1;
		for (unsigned int j = 0; j < k; j++)
			out[o++] = (uint8_t)(w >> (16 - 8 * j));
	}
	return (int)o;
}

static size_t
b64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = b64[w >> 18];
		out[o++] = b64[(w >> 12) & 63];
		out[o++] = b64[(w >> 6) & 63];
		out[o++] = b64[w & 63];
	}
	if (i < n) {
		uint32_t w = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);

		out[o++] = b64[w >> 18];
		out[o++] = b64[(w >> 12) & 63];
		out[o++] = i + 1 < n ? b64[(w >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int
sdes_err(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
	return -1;
}

/* "2^20", "1048576": a lifetime (RFC 4568 §6.1), accepted and ignored. */
static int
lifetime_ok(const char *s, size_t n)
{
	size_t i = n > 2 && s[0] == '2' && s[1] == '^' ? 2 : 0;

	if (i == n || n - i > 20)
		return 0;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

int
mr_srtp_sdes_parse(const char *s, struct mr_srtp_key *k, char *err, size_t errlen)
{
	const struct mr_srtp_suite_info *si;
	enum mr_srtp_suite suite;
	char name[32];
	const char *p, *q, *b, *end;
	uint8_t buf[64];
	int n;

	memset(k, 0, sizeof(*k));
	if (s == NULL)
		return sdes_err(err, errlen, "missing key");
	while (*s == ' ' || *s == '\t')
		s++;
	/* An a=crypto line's leading tag ("1 AES_CM_..."). */
	if (*s >= '0' && *s <= '9') {
		p = s;
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p != ' ')
			return sdes_err(err, errlen, "expected \"SUITE inline:KEY\"");
		s = p + 1;
		while (*s == ' ')
			s++;
	}
	p = strchr(s, ' ');
	if (p == NULL || (size_t)(p - s) >= sizeof(name))
		return sdes_err(err, errlen, "expected \"SUITE inline:KEY\"");
	memcpy(name, s, (size_t)(p - s));
	name[p - s] = '\0';
	suite = mr_srtp_suite_by_name(name);
	if (suite == MR_SRTP_SUITE_NONE)
		return sdes_err(err, errlen, "unknown crypto suite (AES_CM_128_HMAC_SHA1_80, "
				"AES_CM_128_HMAC_SHA1_32, AES_256_CM_HMAC_SHA1_80, "
				"AEAD_AES_128_GCM or AEAD_AES_256_GCM)");
	si = mr_srtp_suite_info(suite);
	while (*p == ' ')
		p++;
	if (strncmp(p, "inline:", 7) != 0)
		return sdes_err(err, errlen, "expected \"inline:\" after the suite");
	b = p + 7;
	end = b + strcspn(b, " \t\r\n;");
	if (*end != '\0' && strspn(end, " \t\r\n") != strlen(end))
		return sdes_err(err, errlen, "more than one key or session parameters (not supported)");
	q = memchr(b, '|', (size_t)(end - b));
	n = b64_decode(b, (size_t)((q != NULL ? q : end) - b), buf, sizeof(buf));
	if (n < 0) {
		explicit_bzero(buf, sizeof(buf));
		return sdes_err(err, errlen, "key is not valid base64");
	}
	if (n != si->key_len + si->salt_len) {
		explicit_bzero(buf, sizeof(buf));
		snprintf(name, sizeof(name), "%u", (unsigned int)(si->key_len + si->salt_len));
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "key has the wrong length for %s (%s bytes of key "
				 "and salt expected)", si->name, name);
		return -1;
	}
	/* |lifetime, then |MKI:length: an MKI is refused. */
	while (q != NULL) {
		const char *f = q + 1, *fe;

		q = memchr(f, '|', (size_t)(end - f));
		fe = q != NULL ? q : end;
		if (memchr(f, ':', (size_t)(fe - f)) != NULL) {
			explicit_bzero(buf, sizeof(buf));
			return sdes_err(err, errlen, "MKI is not supported");
		}
		if (!lifetime_ok(f, (size_t)(fe - f))) {
			explicit_bzero(buf, sizeof(buf));
			return sdes_err(err, errlen, "bad key lifetime");
		}
	}
	k->suite = (uint8_t)suite;
	k->len = (uint8_t)n;
	memcpy(k->master, buf, (size_t)n);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

int
mr_srtp_sdes_format(const struct mr_srtp_key *k, char *out, size_t len)
{
	const struct mr_srtp_suite_info *si = mr_srtp_suite_info((enum mr_srtp_suite)k->suite);
	size_t nl, need;

	if (si == NULL || k->len != si->key_len + si->salt_len)
		return -1;
	nl = strlen(si->name);
	need = nl + 8 + (k->len + 2) / 3 * 4;
	if (len < need + 1)
		return -1;
	memcpy(out, si->name, nl);
	memcpy(out + nl, " inline:", 8);
	b64_encode(k->master, k->len, out + nl + 8);
	return (int)need;
}

int
mr_srtp_key_random(enum mr_srtp_suite s, struct mr_srtp_key *k)
{
	const struct mr_srtp_suite_info *si = mr_srtp_suite_info(s);
	size_t got = 0;

	memset(k, 0, sizeof(*k));
	if (si == NULL)
		return -1;
	k->suite = (uint8_t)s;
	k->len = (uint8_t)(si->key_len + si->salt_len);
	while (got < k->len) {
		ssize_t r = getrandom(k->master + got, k->len - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			mr_srtp_key_wipe(k);
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

void
mr_srtp_key_wipe(struct mr_srtp_key *k)
{
	explicit_bzero(k, sizeof(*k));
}

/* ---- RFC 3711 §4.3.1 / §4.3.3 ---- */

int
mr_srtp_kdf(const uint8_t *mkey, unsigned int mkey_len, const uint8_t *msalt,
	    unsigned int msalt_len, uint8_t label, uint8_t *out, unsigned int out_len)
{
	uint8_t iv[16] = { 0 }, zero[64] = { 0 };
	EVP_CIPHER_CTX *x;
	int ok, l1 = 0, l2 = 0;

	if (msalt_len > 14 || out_len > sizeof(zero) * 2 || (mkey_len != 16 && mkey_len != 32))
		return -1;
	memcpy(iv, msalt, msalt_len);
	iv[7] ^= label;
	x = EVP_CIPHER_CTX_new();
	if (x == NULL)
		return -1;
	ok = EVP_EncryptInit_ex(x, mkey_len == 16 ? EVP_aes_128_ctr() : EVP_aes_256_ctr(), NULL,
				mkey, iv) == 1;
	for (unsigned int o = 0; ok && o < out_len; o += (unsigned int)l1) {
		unsigned int n = out_len - o < sizeof(zero) ? out_len - o : sizeof(zero);

		ok = EVP_EncryptUpdate(x, out + o, &l1, zero, (int)n) == 1 && l1 == (int)n;
	}
	ok = ok && EVP_EncryptFinal_ex(x, out + out_len, &l2) == 1;
	EVP_CIPHER_CTX_free(x);
	explicit_bzero(iv, sizeof(iv));
	return ok ? 0 : -1;
}

/* ---- engines and contexts, by kind ---- */

int
mr_srtp_global_init(enum mr_srtp_engine_kind kind)
{
	switch (kind) {
	case MR_SRTP_ENGINE_IPSEC_MB:
		return mr_srtp_imb_global_init();
	case MR_SRTP_ENGINE_LIBSRTP:
		return mr_srtp_ls_global_init();
	}
	mr_srtp_log("unknown engine %d", (int)kind);
	return -1;
}

struct mr_srtp_engine *
mr_srtp_engine_create(enum mr_srtp_engine_kind kind)
{
	struct mr_srtp_engine *e;
	size_t sz;
	void *p;

	if (kind != MR_SRTP_ENGINE_IPSEC_MB && kind != MR_SRTP_ENGINE_LIBSRTP)
		return NULL;
	if (mr_srtp_global_init(kind) < 0)
		return NULL;
	sz = sizeof(*e) + (kind == MR_SRTP_ENGINE_IPSEC_MB ? mr_srtp_imb_engine_size() :
			   mr_srtp_ls_engine_size());
	if (posix_memalign(&p, 64, sz) != 0)
		return NULL;
	e = p;
	memset(e, 0, sz);
	e->kind = (uint8_t)kind;
	if ((kind == MR_SRTP_ENGINE_IPSEC_MB ? mr_srtp_imb_engine_init(e) :
	     mr_srtp_ls_engine_init(e)) < 0) {
		free(e);
		return NULL;
	}
	return e;
}

void
mr_srtp_engine_free(struct mr_srtp_engine *e)
{
	if (e == NULL)
		return;
	if (e->kind == MR_SRTP_ENGINE_IPSEC_MB)
		mr_srtp_imb_engine_fini(e);
	else
		mr_srtp_ls_engine_fini(e);
	free(e);
}

struct mr_srtp_ctx *
mr_srtp_ctx_create(enum mr_srtp_engine_kind kind, const struct mr_srtp_key *k)
{
	const struct mr_srtp_suite_info *si;
	struct mr_srtp_ctx *c;
	size_t sz;
	void *p;
	int r;

	if (k == NULL || (kind != MR_SRTP_ENGINE_IPSEC_MB && kind != MR_SRTP_ENGINE_LIBSRTP))
		return NULL;
	si = mr_srtp_suite_info((enum mr_srtp_suite)k->suite);
	if (si == NULL || k->len != si->key_len + si->salt_len)
		return NULL;
	if (mr_srtp_global_init(kind) < 0)
		return NULL;
	sz = sizeof(*c) + (kind == MR_SRTP_ENGINE_IPSEC_MB ? mr_srtp_imb_ctx_size() :
			   mr_srtp_ls_ctx_size());
	if (posix_memalign(&p, 64, sz) != 0)
		return NULL;
	c = p;
	memset(c, 0, sz);
	c->kind = (uint8_t)kind;
	c->suite = k->suite;
	c->tag_len = si->rtp_tag_len;
	c->rtcp_tag_len = si->rtcp_tag_len;
	c->aead = si->aead;
	c->key_len = si->key_len;
	r = kind == MR_SRTP_ENGINE_IPSEC_MB ? mr_srtp_imb_ctx_init(c, k) : mr_srtp_ls_ctx_init(c, k);
	if (r < 0) {
		explicit_bzero(c, sz);
		free(c);
		return NULL;
	}
	return c;
}

void
mr_srtp_ctx_free(struct mr_srtp_ctx *c)
{
	if (c == NULL)
		return;
	if (c->kind == MR_SRTP_ENGINE_IPSEC_MB) {
		mr_srtp_imb_ctx_fini(c);
		explicit_bzero(c, sizeof(*c) + mr_srtp_imb_ctx_size());
	} else {
		mr_srtp_ls_ctx_fini(c);
		explicit_bzero(c, sizeof(*c) + mr_srtp_ls_ctx_size());
	}
	free(c);
}

enum mr_srtp_suite
mr_srtp_ctx_suite(const struct mr_srtp_ctx *c)
{
	return c != NULL ? (enum mr_srtp_suite)c->suite : MR_SRTP_SUITE_NONE;
}

void
mr_srtp_ctx_inherit(struct mr_srtp_ctx *nw, const struct mr_srtp_ctx *old)
{
	if (nw == NULL || old == NULL || nw == old || nw->kind != old->kind)
		return;
	memcpy(nw->slot, old->slot, sizeof(nw->slot));
	nw->clock = old->clock;
	if (nw->kind == MR_SRTP_ENGINE_IPSEC_MB)
		mr_srtp_imb_ctx_inherit(nw, old);
	else
		mr_srtp_ls_ctx_inherit(nw, old);
}

unsigned int
mr_srtp_ctx_snapshot(const struct mr_srtp_ctx *c, struct mr_srtp_seed *out)
{
	unsigned int i, n = 0;

	if (c == NULL)
		return 0;
	for (i = 0; i < MR_SRTP_SSRCS; i++) {
		const struct mr_srtp_slot *sl = &c->slot[i];

		/* Relaxed: the owner stores these plainly; a torn set of fields costs at most
		 * an older index, which the restore's estimation window absorbs. */
		if (__atomic_load_n(&sl->lru, __ATOMIC_RELAXED) == 0)
			continue;
		out[n].ssrc = __atomic_load_n(&sl->ssrc, __ATOMIC_RELAXED);
		out[n].index = __atomic_load_n(&sl->index, __ATOMIC_RELAXED);
		out[n].rtcp_tx = __atomic_load_n(&sl->rtcp_tx, __ATOMIC_RELAXED);
		n++;
	}
	return n;
}

void
mr_srtp_ctx_seed(struct mr_srtp_ctx *c, const struct mr_srtp_seed *seeds, unsigned int n)
{
	unsigned int i;

	if (c == NULL)
		return;
	for (i = 0; i < n && i < MR_SRTP_SSRCS; i++) {
		struct mr_srtp_slot *sl = &c->slot[i];

		memset(sl, 0, sizeof(*sl));
		sl->ssrc = seeds[i].ssrc;
		sl->index = seeds[i].index;
		sl->rtcp_tx = seeds[i].rtcp_tx & MR_SRTCP_INDEX_MASK;
		/* Nothing seen in the replay windows: the stored index is older than what
		 * the peers send now. */
		mr_srtp_slot_touch(c, sl);
	}
	/* libsrtp: a stream per SSRC with its ROC handed over before the first packet. */
	if (c->kind == MR_SRTP_ENGINE_LIBSRTP)
		mr_srtp_ls_ctx_inherit(c, c);
}

void
mr_srtp_ctx_reset(struct mr_srtp_ctx *c)
{
	if (c->kind == MR_SRTP_ENGINE_LIBSRTP)
		mr_srtp_ls_ctx_reset(c);
	memset(c->slot, 0, sizeof(c->slot));
	c->clock = 0;
}

/* Ops in chunks of MR_SRTP_BURST, each chunk to the engine of the first op's context kind (an
 * engine serves contexts of its own kind; others are refused). */
static void
burst(struct mr_srtp_engine *e, struct mr_srtp_op *ops, unsigned int n, int protect)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (ops[i].ctx == NULL || ops[i].ctx->kind != e->kind || ops[i].pkt == NULL)
			ops[i].res = MR_SRTP_EENGINE;
		else
			ops[i].res = 1;	/* to do */
	}
	for (i = 0; i < n; i += MR_SRTP_BURST) {
		unsigned int m = n - i < MR_SRTP_BURST ? n - i : MR_SRTP_BURST;

		if (e->kind == MR_SRTP_ENGINE_IPSEC_MB) {
			if (protect)
				mr_srtp_imb_protect(e, ops + i, m);
			else
				mr_srtp_imb_unprotect(e, ops + i, m);
		} else {
			if (protect)
				mr_srtp_ls_protect(e, ops + i, m);
			else
				mr_srtp_ls_unprotect(e, ops + i, m);
		}
	}
}

void
mr_srtp_unprotect_burst(struct mr_srtp_engine *e, struct mr_srtp_op *ops, unsigned int n)
{
	burst(e, ops, n, 0);
}

void
mr_srtp_protect_burst(struct mr_srtp_engine *e, struct mr_srtp_op *ops, unsigned int n)
{
	burst(e, ops, n, 1);
}
