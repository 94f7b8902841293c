/* SPDX-License-Identifier: BSD-3-Clause
 * SDP for the ng protocol: the parser keeps every line and understands only what a relay
 * rewrites (o=, c=, m=, a=rtcp, a=rtcp-mux, ICE, a=crypto, codecs); the writer copies the
 * rest byte for byte. Grammar: RFC 8866 §9; a=rtcp: RFC 3605; a=rtcp-mux: RFC 5761;
 * a=crypto: RFC 4568; ICE attributes: RFC 8839.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ng_sdp.h"

static int __attribute__((format(printf, 3, 4)))
sdp_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Does line l (of length len) start with attribute name a ("a=rtcp" matches "a=rtcp:5"
 * and "a=rtcp", not "a=rtcp-mux")? */
static int
is_attr(const struct mr_ngsdp_line *l, const char *a)
{
	size_t n = strlen(a);

	if (l->len < n || memcmp(l->s, a, n) != 0)
		return 0;
	return l->len == n || l->s[n] == ':';
}

static int
is_ice_attr(const struct mr_ngsdp_line *l)
{
	static const char *const ice[] = {
		"a=ice-ufrag", "a=ice-pwd", "a=ice-options", "a=candidate", "a=remote-candidates",
		"a=end-of-candidates", "a=ice-lite", "a=ice-mismatch", "a=ice-pacing", NULL
	};
	unsigned int i;

	for (i = 0; ice[i] != NULL; i++)
		if (is_attr(l, ice[i]))
			return 1;
	return 0;
}

/* DTLS-SRTP's attributes (RFC 8122, RFC 8842): mrelay ends DTLS on its legs, so the peer's
 * never pass to the other side. */
static int
is_dtls_attr(const struct mr_ngsdp_line *l)
{
	return is_attr(l, "a=fingerprint") || is_attr(l, "a=setup") || is_attr(l, "a=tls-id");
}

/* Copy the value of a line (after "x=") NUL-terminated; -1 if it does not fit. */
static int
line_val(const struct mr_ngsdp_line *l, size_t skip, char *out, size_t n)
{
	size_t len = l->len > skip ? l->len - skip : 0;

	if (len >= n)
		return -1;
	memcpy(out, l->s + skip, len);
	out[len] = '\0';
	return 0;
}

/* "IN IP4 198.18.0.1[/ttl]" into ep (port 0); zero set for 0.0.0.0 / ::. */
static int
parse_conn(const char *v, struct mr_ep *ep, uint8_t *zero)
{
	char nettype[8], atype[8], addr[64];
	char *slash;

	if (sscanf(v, "%7s %7s %63s", nettype, atype, addr) != 3 || strcmp(nettype, "IN") != 0)
		return -1;
	slash = strchr(addr, '/');
	if (slash != NULL)
		*slash = '\0';
	if (strcmp(atype, "IP4") != 0 && strcmp(atype, "IP6") != 0)
		return -1;
	if (mr_addr_parse(addr, ep) < 0)
		return -1;
	if ((strcmp(atype, "IP4") == 0) != (ep->family == MR_AF4))
		return -1;
	if (zero != NULL)
		*zero = strcmp(addr, "0.0.0.0") == 0 || strcmp(addr, "::") == 0;
	return 0;
}

static int
parse_m(const struct mr_ngsdp_line *l, struct mr_ngsdp_media *m)
{
	char v[512], *p, *port, *proto, *save = NULL;
	unsigned long n;

	if (line_val(l, 2, v, sizeof(v)) < 0)
		return -1;
	p = strtok_r(v, " ", &save);
	port = strtok_r(NULL, " ", &save);
	proto = strtok_r(NULL, " ", &save);
	if (p == NULL || port == NULL || proto == NULL || strlen(p) >= sizeof(m->type) ||
	    strlen(proto) >= sizeof(m->proto))
		return -1;
	snprintf(m->type, sizeof(m->type), "%s", p);
	snprintf(m->proto, sizeof(m->proto), "%s", proto);
	n = strtoul(port, &p, 10);
	if (p == port || n > 65535)
		return -1;
	m->port = (uint16_t)n;
	m->nports = 1;
	if (*p == '/') {
		char *q = p + 1;

		n = strtoul(q, &p, 10);
		if (p == q || n == 0 || n > 65535)
			return -1;
		m->nports = (uint16_t)n;
	}
	if (*p != '\0')
		return -1;
	p = strtok_r(NULL, "", &save);
	if (p == NULL || strlen(p) >= sizeof(m->fmts))
		return -1;
	snprintf(m->fmts, sizeof(m->fmts), "%s", p);
	return 0;
}

int
mr_ngsdp_parse(const char *text, size_t len, struct mr_ngsdp *sdp, char *err, size_t errlen)
{
	size_t pos = 0;
	unsigned int i;
	struct mr_ngsdp_media *m = NULL;
	char v[256], sess_fp[sizeof(m->fingerprint)] = "", sess_setup[sizeof(m->setup)] = "";
	uint8_t sess_dir = 0;		/* + 1 when given */

	memset(sdp, 0, offsetof(struct mr_ngsdp, media));
	sdp->n_media = 0;
	while (pos < len) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
		size_t l = nl != NULL ? (size_t)(nl - s) : len - pos;

		pos += l + (nl != NULL);
		if (l > 0 && s[l - 1] == '\r')
			l--;
		if (l == 0) {
			if (pos >= len)
				break;
			return sdp_err(err, errlen, "sdp: line %u: empty line", sdp->n_lines + 1);
		}
		if (sdp->n_lines == MR_NGSDP_MAX_LINES)
			return sdp_err(err, errlen, "sdp: more than %u lines", MR_NGSDP_MAX_LINES);
		if (l < 2 || s[1] != '=' || s[0] < 'a' || s[0] > 'z')
			return sdp_err(err, errlen, "sdp: line %u: not 'x=value'", sdp->n_lines + 1);
		sdp->line[sdp->n_lines].s = s;
		sdp->line[sdp->n_lines].len = (uint32_t)l;
		sdp->n_lines++;
	}
	if (sdp->n_lines == 0 || sdp->line[0].s[0] != 'v')
		return sdp_err(err, errlen, "sdp: must start with v=");

	for (i = 0; i < sdp->n_lines; i++) {
		const struct mr_ngsdp_line *l = &sdp->line[i];

		switch (l->s[0]) {
		case 'm':
			if (m != NULL)
				m->end = i;
			else
				sdp->n_session = i;
			if (sdp->n_media == MR_NGSDP_MAX_MEDIA)
				return sdp_err(err, errlen, "sdp: more than %u media sections",
					       MR_NGSDP_MAX_MEDIA);
			m = &sdp->media[sdp->n_media++];
			memset(m, 0, sizeof(*m));
			m->first = i;
			if (parse_m(l, m) < 0)
				return sdp_err(err, errlen, "sdp: line %u: m= needs a media type, "
					       "a port and a protocol", i + 1);
			m->addr = sdp->c_addr;
			m->zero_addr = 0;
			if (sdp->c_addr.family) {
				/* session c= applies until a media c= says otherwise */
				uint8_t z = 0;
				char cv[128];

				for (unsigned int k = 0; k < i; k++)
					if (sdp->line[k].s[0] == 'c' &&
					    line_val(&sdp->line[k], 2, cv, sizeof(cv)) == 0)
						parse_conn(cv, &m->addr, &z);
				m->zero_addr = z;
			}
			break;
		case 'c':
			if (line_val(l, 2, v, sizeof(v)) < 0)
				return sdp_err(err, errlen, "sdp: line %u: c= too long", i + 1);
			if (m == NULL) {
				if (parse_conn(v, &sdp->c_addr, NULL) < 0)
					return sdp_err(err, errlen, "sdp: line %u: c= is not 'IN IP4 "
						       "address' or 'IN IP6 address'", i + 1);
			} else if (parse_conn(v, &m->addr, &m->zero_addr) < 0) {
				return sdp_err(err, errlen, "sdp: line %u: c= is not 'IN IP4 "
					       "address' or 'IN IP6 address'", i + 1);
			}
			break;
		case 'a':
			if (is_attr(l, "a=fingerprint") || is_attr(l, "a=setup")) {
				/* Session level: every section's unless its own says otherwise. */
				int fp = is_attr(l, "a=fingerprint");
				size_t skip = fp ? 14 : 8;

				if (line_val(l, skip, v, sizeof(v)) < 0 ||
				    strlen(v) >= (fp ? sizeof(m->fingerprint) : sizeof(m->setup)))
					return sdp_err(err, errlen, "sdp: line %u: %s too long",
						       i + 1, fp ? "a=fingerprint" : "a=setup");
				if (fp)
					snprintf(m != NULL ? m->fingerprint : sess_fp,
						 sizeof(sess_fp), "%s", v);
				else
					snprintf(m != NULL ? m->setup : sess_setup,
						 sizeof(sess_setup), "%s", v);
				break;
			}
			{
				static const char *const dn[] = { "a=sendrecv", "a=sendonly",
								  "a=recvonly", "a=inactive" };
				int dv = -1;

				for (unsigned int q = 0; q < 4; q++)
					if (l->len == 10 && memcmp(l->s, dn[q], 10) == 0)
						dv = (int)q;
				if (dv >= 0) {
					if (m != NULL)
						m->dir = (uint8_t)(dv + 1);	/* + 1: given */
					else
						sess_dir = (uint8_t)(dv + 1);
					break;
				}
			}
			if (m == NULL) {
				if (is_attr(l, "a=group") && l->len > 14 &&
				    memcmp(l->s + 8, "BUNDLE", 6) == 0)
					sdp->bundle = 1;
				if (is_ice_attr(l))
					for (unsigned int k = 0; k < MR_NGSDP_MAX_MEDIA; k++)
						sdp->media[k].ice = 1;
				break;
			}
			if (is_attr(l, "a=rtcp-mux")) {
				m->rtcp_mux = 1;
			} else if (is_attr(l, "a=rtcp") && l->len > 7) {
				char *e;
				unsigned long p;

				if (line_val(l, 7, v, sizeof(v)) < 0)
					return sdp_err(err, errlen, "sdp: line %u: a=rtcp too long",
						       i + 1);
				p = strtoul(v, &e, 10);
				if (e == v || p == 0 || p > 65535 || (*e != '\0' && *e != ' '))
					return sdp_err(err, errlen, "sdp: line %u: a=rtcp needs a "
						       "port", i + 1);
				m->rtcp_port = (uint16_t)p;
				if (*e == ' ' && parse_conn(e + 1, &m->rtcp_addr, NULL) < 0)
					return sdp_err(err, errlen, "sdp: line %u: a=rtcp address "
						       "is not 'IN IP4 address'", i + 1);
			} else if (is_attr(l, "a=mid") && l->len > 6) {
				if (line_val(l, 6, m->mid, sizeof(m->mid)) < 0)
					return sdp_err(err, errlen, "sdp: line %u: a=mid too long",
						       i + 1);
			} else if (is_attr(l, "a=crypto")) {
				if (m->n_crypto < MR_NGSDP_MAX_CRYPTO)
					m->crypto[m->n_crypto++] = i;
			} else if (is_ice_attr(l)) {
				m->ice = 1;
			}
			break;
		default:
			break;
		}
	}
	if (m != NULL)
		m->end = sdp->n_lines;
	else
		sdp->n_session = sdp->n_lines;
	for (i = 0; i < sdp->n_media; i++) {
		m = &sdp->media[i];
		m->dtls = (uint8_t)mr_ngsdp_proto_dtls(m->proto);
		if (m->fingerprint[0] == '\0')
			snprintf(m->fingerprint, sizeof(m->fingerprint), "%s", sess_fp);
		if (m->setup[0] == '\0')
			snprintf(m->setup, sizeof(m->setup), "%s", sess_setup);
		m->dir = m->dir != 0 ? (uint8_t)(m->dir - 1) : sess_dir != 0 ?
			 (uint8_t)(sess_dir - 1) : MR_NGSDP_DIR_SENDRECV;
		m->addr.port = m->port;
		if (m->rtcp_addr.family)
			m->rtcp_addr.port = m->rtcp_port;
	}
	/* Session-level attributes were marked on every slot; keep them to real media. */
	for (i = sdp->n_media; i < MR_NGSDP_MAX_MEDIA; i++)
		sdp->media[i].ice = 0;
	return 0;
}

int
mr_ngsdp_crypto(const struct mr_ngsdp *sdp, unsigned int line, char *out, size_t n)
{
	if (line >= sdp->n_lines)
		return -EINVAL;
	return line_val(&sdp->line[line], 9, out, n) < 0 ? -ENAMETOOLONG : 0;
}

/* ---- writing ---- */

static int
same_addr(const struct mr_ep *x, const struct mr_ep *y)
{
	return x->family == y->family &&
	       memcmp(x->a, y->a, x->family == MR_AF6 ? 16 : 4) == 0;
}

static void
put(struct mr_bbuf *b, const char *s)
{
	mr_bbuf_put(b, s, strlen(s));
}

static void
put_line(struct mr_bbuf *b, const struct mr_ngsdp_line *l)
{
	mr_bbuf_put(b, l->s, l->len);
	mr_bbuf_put(b, "\r\n", 2);
}

static void
put_addr(struct mr_bbuf *b, const struct mr_ep *ep)
{
	char a[64];

	put(b, ep->family == MR_AF6 ? "IN IP6 " : "IN IP4 ");
	put(b, mr_ep_fmt(ep, a, sizeof(a), 0));
}

/* RFC 3551 §6 static payload types, for codecs named without a=rtpmap. */
static const char *
static_pt_name(unsigned int pt, unsigned int *rate)
{
	static const struct { uint8_t pt; const char *name; unsigned int rate; } t[] = {
		{ 0, "PCMU", 8000 }, { 3, "GSM", 8000 }, { 4, "G723", 8000 },
		{ 5, "DVI4", 8000 }, { 6, "DVI4", 16000 }, { 7, "LPC", 8000 },
		{ 8, "PCMA", 8000 }, { 9, "G722", 8000 }, { 10, "L16", 44100 },
		{ 11, "L16", 44100 }, { 12, "QCELP", 8000 }, { 13, "CN", 8000 },
		{ 14, "MPA", 90000 }, { 15, "G728", 8000 }, { 18, "G729", 8000 },
		{ 26, "JPEG", 90000 }, { 31, "H261", 90000 }, { 32, "MPV", 90000 },
		{ 34, "H263", 90000 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].pt == pt) {
			*rate = t[i].rate;
			return t[i].name;
		}
	return NULL;
}

/* The encoding of payload type pt in media m: "a=rtpmap:PT NAME/RATE[/CH]". */
static void
pt_codec(const struct mr_ngsdp *sdp, const struct mr_ngsdp_media *m, unsigned int pt, char *name,
	 size_t n, unsigned int *rate, unsigned int *ch)
{
	char pfx[24], v[128];
	unsigned int i;
	const char *sn;

	*rate = 0;
	*ch = 1;
	name[0] = '\0';
	snprintf(pfx, sizeof(pfx), "a=rtpmap:%u ", pt);
	for (i = m->first + 1; i < m->end; i++) {
		const struct mr_ngsdp_line *l = &sdp->line[i];
		char *r, *c;

		if (l->len <= strlen(pfx) || memcmp(l->s, pfx, strlen(pfx)) != 0)
			continue;
		if (line_val(l, strlen(pfx), v, sizeof(v)) < 0)
			return;
		r = strchr(v, '/');
		if (r != NULL) {
			*r++ = '\0';
			*rate = (unsigned int)strtoul(r, &c, 10);
			if (*c == '/')
				*ch = (unsigned int)strtoul(c + 1, NULL, 10);
		}
		if (strlen(v) < n)
			memcpy(name, v, strlen(v) + 1);
		return;
	}
	sn = static_pt_name(pt, rate);
	if (sn != NULL)
		snprintf(name, n, "%s", sn);
}

/* The first payload type of media k's format list whose encoding (pt_codec) match() takes:
 * 0 with *pt and match()'s non-zero answer in *what, or -ENOENT. */
static int
first_format(const struct mr_ngsdp *sdp, unsigned int k,
	     int (*match)(const char *name, unsigned int rate), uint8_t *pt, uint8_t *what)
{
	const struct mr_ngsdp_media *m = &sdp->media[k];
	char f[sizeof(m->fmts)], *tok, *save = NULL;

	snprintf(f, sizeof(f), "%s", m->fmts);
	for (tok = strtok_r(f, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
		char *e, name[32];
		unsigned long v = strtoul(tok, &e, 10);
		unsigned int rate, ch;
		int c;

		if (*e != '\0' || tok[0] < '0' || tok[0] > '9' || v > 127)
			continue;
		pt_codec(sdp, m, (unsigned int)v, name, sizeof(name), &rate, &ch);
		c = match(name, rate);
		if (c != 0) {
			*pt = (uint8_t)v;
			*what = (uint8_t)c;
			return 0;
		}
	}
	return -ENOENT;
}

static int
play_match(const char *name, unsigned int rate)
{
	if (strcasecmp(name, "PCMU") == 0 && rate == 8000)
		return MR_NGSDP_PLAY_PCMU;
	if (strcasecmp(name, "PCMA") == 0 && rate == 8000)
		return MR_NGSDP_PLAY_PCMA;
	if (strcasecmp(name, "opus") == 0 && rate == 48000)
		return MR_NGSDP_PLAY_OPUS;
	return 0;
}

/* telephone-event: its clock in units of 8 kHz (1: 8000, 6: 48000; 1 for a clock that is not
 * such a multiple). */
static int
dtmf_match(const char *name, unsigned int rate)
{
	if (strcasecmp(name, "telephone-event") != 0)
		return 0;
	return rate >= 8000 && rate % 8000 == 0 && rate / 8000 <= 255 ? (int)(rate / 8000) : 1;
}

int
mr_ngsdp_play_codec(const struct mr_ngsdp *sdp, unsigned int k, uint8_t *codec, uint8_t *pt)
{
	*codec = MR_NGSDP_PLAY_NONE;
	return first_format(sdp, k, play_match, pt, codec);
}

int
mr_ngsdp_dtmf_pt(const struct mr_ngsdp *sdp, unsigned int k, uint8_t *pt, uint8_t *rate8)
{
	*pt = 0xff;
	*rate8 = 1;
	return first_format(sdp, k, dtmf_match, pt, rate8);
}

/* Does codec spec ("PCMA", "opus/48000/2", "101") name payload type pt? */
static int
codec_match(const char *spec, unsigned int pt, const char *name, unsigned int rate,
	    unsigned int ch)
{
	char s[32], *r, *c;
	size_t k;

	for (k = 0; spec[k] >= '0' && spec[k] <= '9'; k++)
		;
	if (k > 0 && spec[k] == '\0')
		return (unsigned int)atoi(spec) == pt;
	snprintf(s, sizeof(s), "%s", spec);
	r = strchr(s, '/');
	if (r != NULL)
		*r++ = '\0';
	if (name[0] == '\0' || strcasecmp(s, name) != 0)
		return 0;
	if (r != NULL && *r != '\0') {
		if ((unsigned int)strtoul(r, &c, 10) != rate)
			return 0;
		if (*c == '/' && (unsigned int)strtoul(c + 1, NULL, 10) != ch)
			return 0;
	}
	return 1;
}

static int
codec_in(const char (*list)[32], unsigned int n, unsigned int pt, const char *name,
	 unsigned int rate, unsigned int ch)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (codec_match(list[i], pt, name, rate, ch))
			return (int)i;
	return -1;
}

/* The format list of media m after the codec rules: out (a string), and keep[pt] = 1 for
 * the payload types that stay. Non-RTP formats ("t38", "*") are left alone. */
static void
codec_filter(const struct mr_ngsdp *sdp, const struct mr_ngsdp_media *m,
	     const struct mr_ngsdp_codecs *cx, char *out, size_t n, uint8_t keep[128])
{
	char f[256], *tok, *save = NULL;
	unsigned int pts[64], np = 0, order[64], no = 0, i, j;
	uint8_t taken[64] = { 0 };

	memset(keep, 1, 128);
	snprintf(out, n, "%s", m->fmts);
	if (cx == NULL || strncmp(m->proto, "RTP/", 4) != 0)
		return;
	snprintf(f, sizeof(f), "%s", m->fmts);
	for (tok = strtok_r(f, " ", &save); tok != NULL && np < 64;
	     tok = strtok_r(NULL, " ", &save)) {
		char *e;
		unsigned long v = strtoul(tok, &e, 10);

		if (*e != '\0' || v > 127)
			return;		/* not an RTP payload type list: leave it */
		pts[np++] = (unsigned int)v;
	}
	/* offer: listed codecs first, in the list's order */
	for (j = 0; j < cx->n_offer; j++)
		for (i = 0; i < np; i++) {
			char name[32];
			unsigned int rate, ch;

			if (taken[i])
				continue;
			pt_codec(sdp, m, pts[i], name, sizeof(name), &rate, &ch);
			if (codec_match(cx->offer[j], pts[i], name, rate, ch)) {
				taken[i] = 1;
				order[no++] = i;
			}
		}
	for (i = 0; i < np; i++) {
		char name[32];
		unsigned int rate, ch;

		if (taken[i])
			continue;
		pt_codec(sdp, m, pts[i], name, sizeof(name), &rate, &ch);
		if (codec_in(cx->except, cx->n_except, pts[i], name, rate, ch) < 0 &&
		    (cx->strip_all || codec_in(cx->strip, cx->n_strip, pts[i], name, rate, ch) >= 0))
			continue;
		order[no++] = i;
	}
	if (no == 0)
		return;		/* nothing left: the original list stays (as rtpengine does) */
	memset(keep, 0, 128);
	out[0] = '\0';
	for (i = 0; i < no; i++) {
		size_t l = strlen(out);

		snprintf(out + l, n - l, "%s%u", i ? " " : "", pts[order[i]]);
		keep[pts[order[i]]] = 1;
	}
}

/* a=rtpmap:PT, a=fmtp:PT, a=rtcp-fb:PT of a payload type that was stripped? */
static int
codec_line_dropped(const struct mr_ngsdp_line *l, const uint8_t keep[128])
{
	static const char *const a[] = { "a=rtpmap:", "a=fmtp:", "a=rtcp-fb:", NULL };
	unsigned int i;

	for (i = 0; a[i] != NULL; i++) {
		size_t n = strlen(a[i]);
		char num[8];
		size_t k = 0;

		if (l->len <= n || memcmp(l->s, a[i], n) != 0)
			continue;
		while (n + k < l->len && k < sizeof(num) - 1 && l->s[n + k] >= '0' &&
		       l->s[n + k] <= '9') {
			num[k] = l->s[n + k];
			k++;
		}
		num[k] = '\0';
		if (k == 0)
			return 0;	/* a=rtcp-fb:* */
		return atoi(num) < 128 && !keep[atoi(num)];
	}
	return 0;
}

int
mr_ngsdp_rewrite(const struct mr_ngsdp *in, const struct mr_ngsdp_out *o, struct mr_bbuf *b)
{
	const struct mr_ep *sess_addr = NULL;
	unsigned int i, k;
	char tmp[512];

	for (k = 0; k < in->n_media; k++)
		if (!o->m[k].rejected) {
			sess_addr = &o->m[k].local;
			break;
		}
	/* The session part. */
	for (i = 0; i < in->n_session; i++) {
		const struct mr_ngsdp_line *l = &in->line[i];

		if (l->s[0] == 'o' && o->replace_origin && sess_addr != NULL) {
			char user[128], id[64], ver[64];

			if (line_val(l, 2, tmp, sizeof(tmp)) == 0 &&
			    sscanf(tmp, "%127s %63s %63s", user, id, ver) == 3) {
				snprintf(tmp, sizeof(tmp), "o=%s %s %s ", user, id, ver);
				put(b, tmp);
				put_addr(b, sess_addr);
				put(b, "\r\n");
				continue;
			}
		}
		if (l->s[0] == 'c' && sess_addr != NULL) {
			put(b, "c=");
			put_addr(b, sess_addr);
			put(b, "\r\n");
			continue;
		}
		if (l->s[0] == 'a' && o->ice_remove && is_ice_attr(l))
			continue;
		if (l->s[0] == 'a' && is_dtls_attr(l))
			continue;
		put_line(b, l);
	}
	if (o->bundle != NULL && !in->bundle) {
		put(b, "a=group:BUNDLE ");
		put(b, o->bundle);
		put(b, "\r\n");
	}
	/* ICE-lite is a session attribute (RFC 8839 §5.3). */
	for (k = 0; k < in->n_media; k++)
		if (!o->m[k].rejected && o->m[k].ice_ufrag != NULL) {
			put(b, "a=ice-lite\r\n");
			break;
		}
	for (k = 0; k < in->n_media; k++) {
		const struct mr_ngsdp_media *m = &in->media[k];
		const struct mr_ngsdp_media_out *mo = &o->m[k];
		uint8_t keep[128];
		char fmts[256];
		int has_c = 0;

		if (mo->rejected) {
			for (i = m->first; i < m->end; i++)
				put_line(b, &in->line[i]);
			continue;
		}
		codec_filter(in, m, o->codecs, fmts, sizeof(fmts), keep);
		if (m->nports > 1)
			snprintf(tmp, sizeof(tmp), "m=%s %u/%u %s %s\r\n", m->type,
				 mo->local.port, m->nports, mo->proto ? mo->proto : m->proto, fmts);
		else
			snprintf(tmp, sizeof(tmp), "m=%s %u %s %s\r\n", m->type, mo->local.port,
				 mo->proto ? mo->proto : m->proto, fmts);
		put(b, tmp);
		for (i = m->first + 1; i < m->end; i++)
			if (in->line[i].s[0] == 'c')
				has_c = 1;
		/* A media section without c= takes the session's: write one when that is not
		 * this section's endpoint (another family or interface). */
		if (!has_c && (sess_addr == NULL || !same_addr(sess_addr, &mo->local) ||
			       in->c_addr.family == 0)) {
			put(b, "c=");
			put_addr(b, &mo->local);
			put(b, "\r\n");
		}
		for (i = m->first + 1; i < m->end; i++) {
			const struct mr_ngsdp_line *l = &in->line[i];

			if (l->s[0] == 'c') {
				put(b, "c=");
				put_addr(b, &mo->local);
				put(b, "\r\n");
				continue;
			}
			if (l->s[0] != 'a') {
				put_line(b, l);
				continue;
			}
			if (is_attr(l, "a=rtcp") || is_attr(l, "a=rtcp-mux"))
				continue;
			if (o->ice_remove && is_ice_attr(l))
				continue;
			if (mo->replace_crypto && is_attr(l, "a=crypto"))
				continue;
			if (is_dtls_attr(l))
				continue;
			if (codec_line_dropped(l, keep))
				continue;
			put_line(b, l);
		}
		if (!o->no_rtcp_attr && (mo->rtcp_port || mo->rtcp_mux)) {
			uint16_t rp = mo->rtcp_port ? mo->rtcp_port : mo->local.port;

			snprintf(tmp, sizeof(tmp), "a=rtcp:%u", rp);
			put(b, tmp);
			if (o->full_rtcp_attr) {
				put(b, " ");
				put_addr(b, &mo->local);
			}
			put(b, "\r\n");
		}
		if (mo->rtcp_mux)
			put(b, "a=rtcp-mux\r\n");
		for (i = 0; i < mo->n_crypto; i++) {
			put(b, "a=crypto:");
			put(b, mo->crypto[i]);
			put(b, "\r\n");
		}
		if (mo->mid != NULL && m->mid[0] == '\0') {
			put(b, "a=mid:");
			put(b, mo->mid);
			put(b, "\r\n");
		}
		if (mo->ice_ufrag != NULL) {
			char a[64];

			snprintf(tmp, sizeof(tmp), "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n"
				 "a=fingerprint:%s\r\na=setup:%s\r\n"
				 "a=candidate:1 1 udp 2130706431 %s %u typ host\r\n"
				 "a=end-of-candidates\r\n", mo->ice_ufrag, mo->ice_pwd,
				 mo->fingerprint, mo->setup, mr_ep_fmt(&mo->local, a, sizeof(a), 0),
				 mo->local.port);
			put(b, tmp);
		}
	}
	return b->oom ? -ENOMEM : 0;
}
