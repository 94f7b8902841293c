/* SPDX-License-Identifier: BSD-3-Clause
 * SDP offer parsing and answer building for WebRTC participants (sdp.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "sdp.h"

static void __attribute__((format(printf, 4, 5)))
sdp_err(char *err, size_t errlen, unsigned int line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "line %u: ", line);

	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Copy the token at *p (up to a space or the end) into out; advance *p past it and its
 * spaces. 0, or -1 when empty or too long. */
static int
tok(const char **p, char *out, size_t len)
{
	size_t n = strcspn(*p, " ");

	if (n == 0 || n >= len)
		return -1;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p += n;
	while (**p == ' ')
		(*p)++;
	return 0;
}

static int
num(const char **p, unsigned long max, unsigned long *v)
{
	char buf[16], *end;

	if (tok(p, buf, sizeof(buf)) < 0 || buf[0] < '0' || buf[0] > '9')
		return -1;
	*v = strtoul(buf, &end, 10);
	return *end == '\0' && *v <= max ? 0 : -1;
}

static int
copy(char *out, size_t len, const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n >= len)
		return -1;
	memcpy(out, v, n + 1);
	return 0;
}

static struct mr_sdp_codec *
codec_of(struct mr_sdp_media *m, unsigned long pt)
{
	unsigned int i;

	for (i = 0; i < m->n_codecs; i++)
		if (m->codec[i].pt == pt)
			return &m->codec[i];
	return NULL;
}

/* An attribute line "a=name[:value]" of media m (NULL: session level). */
static int
attr(struct mr_sdp *s, struct mr_sdp_media *m, const char *a, unsigned int ln, char *err,
     size_t errlen)
{
	const char *colon = strchr(a, ':'), *v = colon ? colon + 1 : "";
	char name[64];
	size_t nl = colon ? (size_t)(colon - a) : strlen(a);
	char *ufrag = m ? m->ufrag : s->ufrag, *pwd = m ? m->pwd : s->pwd;
	char *fp = m ? m->fingerprint : s->fingerprint, *setup = m ? m->setup : s->setup;
	unsigned long pt, x, y;
	struct mr_sdp_codec *c;

	if (nl == 0 || nl >= sizeof(name)) {
		sdp_err(err, errlen, ln, "a=: bad attribute name");
		return -1;
	}
	memcpy(name, a, nl);
	name[nl] = '\0';
	if (strcmp(name, "ice-ufrag") == 0) {
		if (copy(ufrag, MR_SDP_TOKEN, v) < 0)
			goto bad;
		return 0;
	}
	if (strcmp(name, "ice-pwd") == 0) {
		if (copy(pwd, MR_SDP_LONG, v) < 0)
			goto bad;
		return 0;
	}
	if (strcmp(name, "fingerprint") == 0) {
		if (copy(fp, MR_SDP_LONG, v) < 0 || strchr(v, ' ') == NULL)
			goto bad;
		return 0;
	}
	if (strcmp(name, "setup") == 0) {
		if (copy(setup, 16, v) < 0)
			goto bad;
		return 0;
	}
	if (m == NULL)
		return 0;		/* group, msid-semantic, ice-options, ... */
	if (strcmp(name, "mid") == 0) {
		if (copy(m->mid, sizeof(m->mid), v) < 0 || strchr(v, ' ') != NULL)
			goto bad;
	} else if (strcmp(name, "sendrecv") == 0) {
		m->dir = MR_SDP_SENDRECV;
	} else if (strcmp(name, "sendonly") == 0) {
		m->dir = MR_SDP_SENDONLY;
	} else if (strcmp(name, "recvonly") == 0) {
		m->dir = MR_SDP_RECVONLY;
	} else if (strcmp(name, "inactive") == 0) {
		m->dir = MR_SDP_INACTIVE;
	} else if (strcmp(name, "rtcp-mux") == 0) {
		m->rtcp_mux = 1;
	} else if (strcmp(name, "bundle-only") == 0) {
		/* RFC 8843 §6: an offer's port 0 with bundle-only (Firefox's every m-section but
		 * the first) is in the BUNDLE group, not rejected. */
		m->port0 = 0;
	} else if (strcmp(name, "rtpmap") == 0) {
		char enc[MR_SDP_LONG], *sl, *sl2;

		if (num(&v, 127, &pt) < 0 || tok(&v, enc, sizeof(enc)) < 0 || *v != '\0')
			goto bad;
		c = codec_of(m, pt);
		sl = strchr(enc, '/');
		if (c == NULL || sl == NULL || (size_t)(sl - enc) >= sizeof(c->name))
			goto bad;
		*sl = '\0';
		memcpy(c->name, enc, (size_t)(sl - enc) + 1);
		c->clock = (uint32_t)strtoul(sl + 1, &sl2, 10);
		if (sl2 == sl + 1 || c->clock == 0 || (*sl2 != '\0' && *sl2 != '/'))
			goto bad;
		c->channels = *sl2 == '/' ? (uint8_t)strtoul(sl2 + 1, NULL, 10) : 1;
	} else if (strcmp(name, "fmtp") == 0) {
		if (num(&v, 127, &pt) < 0 || (c = codec_of(m, pt)) == NULL ||
		    copy(c->fmtp, sizeof(c->fmtp), v) < 0)
			goto bad;
	} else if (strcmp(name, "rtcp-fb") == 0) {
		if (*v == '*') {
			/* wildcard feedback: ignored (browsers list it per payload type) */
			return 0;
		}
		if (num(&v, 127, &pt) < 0)
			goto bad;
		c = codec_of(m, pt);
		if (c == NULL)
			goto bad;
		if (strcmp(v, "nack") == 0)
			c->fb |= MR_SDP_FB_NACK;
		else if (strcmp(v, "nack pli") == 0)
			c->fb |= MR_SDP_FB_PLI;
		else if (strcmp(v, "ccm fir") == 0)
			c->fb |= MR_SDP_FB_FIR;
		else if (strcmp(v, "goog-remb") == 0)
			c->fb |= MR_SDP_FB_REMB;
		else if (strcmp(v, "transport-cc") == 0)
			c->fb |= MR_SDP_FB_TCC;
	} else if (strcmp(name, "extmap") == 0) {
		char idd[16], uri[MR_SDP_LONG];
		const char *q = v;

		if (tok(&q, idd, sizeof(idd)) < 0 || tok(&q, uri, sizeof(uri)) < 0)
			goto bad;
		x = strtoul(idd, NULL, 10);
		if (x < 1 || x > 255 || idd[0] < '0' || idd[0] > '9')
			goto bad;
		if (m->n_ext < MR_SDP_MAX_EXT) {
			m->ext[m->n_ext].id = (uint8_t)x;
			memcpy(m->ext[m->n_ext].uri, uri, strlen(uri) + 1);
			m->n_ext++;
		}
	} else if (strcmp(name, "ssrc") == 0) {
		unsigned int i;

		if (num(&v, UINT32_MAX, &x) < 0)
			goto bad;
		for (i = 0; i < m->n_ssrc; i++)
			if (m->ssrc[i] == x)
				return 0;
		if (m->n_ssrc < MR_SDP_MAX_SSRC)
			m->ssrc[m->n_ssrc++] = (uint32_t)x;
	} else if (strcmp(name, "ssrc-group") == 0) {
		char sem[16];

		if (tok(&v, sem, sizeof(sem)) < 0)
			goto bad;
		if (strcmp(sem, "FID") == 0 || strcmp(sem, "FEC-FR") == 0) {
			if (num(&v, UINT32_MAX, &x) < 0 || num(&v, UINT32_MAX, &y) < 0)
				goto bad;
			if (m->n_fid < MR_SDP_MAX_SSRC)
				m->fid[m->n_fid++] = (uint32_t)y;
		}
	}
	return 0;
bad:
	sdp_err(err, errlen, ln, "a=%s: malformed", name);
	return -1;
}

static int
mline(struct mr_sdp_media *m, const char *v, unsigned int ln, char *err, size_t errlen)
{
	char media[16], fmt[16];
	unsigned long port, pt;

	memset(m, 0, sizeof(*m));
	if (tok(&v, media, sizeof(media)) < 0 || num(&v, 65535, &port) < 0 ||
	    tok(&v, m->proto, sizeof(m->proto)) < 0) {
		sdp_err(err, errlen, ln, "m=: expected 'media port proto fmt...'");
		return -1;
	}
	m->kind = strcmp(media, "audio") == 0 ? MR_SDP_AUDIO :
		  strcmp(media, "video") == 0 ? MR_SDP_VIDEO : MR_SDP_OTHER;
	m->port0 = port == 0;
	while (*v != '\0') {
		if (tok(&v, fmt, sizeof(fmt)) < 0) {
			sdp_err(err, errlen, ln, "m=: bad format list");
			return -1;
		}
		if (m->kind == MR_SDP_OTHER)
			continue;		/* application (data channels): rejected */
		pt = strtoul(fmt, NULL, 10);
		if (fmt[0] < '0' || fmt[0] > '9' || pt > 127) {
			sdp_err(err, errlen, ln, "m=: payload type '%s' is not 0..127", fmt);
			return -1;
		}
		if (m->n_codecs < MR_SDP_MAX_CODECS)
			m->codec[m->n_codecs++].pt = (uint8_t)pt;
	}
	return 0;
}

int
mr_sdp_parse(const char *text, size_t len, struct mr_sdp *s, char *err, size_t errlen)
{
	char line[1024];
	size_t off = 0;
	unsigned int ln = 0, i;
	struct mr_sdp_media *m = NULL;
	int seen_v = 0;

	memset(s, 0, sizeof(*s));
	if (len > MR_SDP_MAX_LEN) {
		snprintf(err, errlen, "longer than %d bytes", MR_SDP_MAX_LEN);
		return -1;
	}
	while (off < len) {
		size_t e = off, n;

		while (e < len && text[e] != '\n')
			e++;
		n = e - off;
		if (n > 0 && text[off + n - 1] == '\r')
			n--;
		ln++;
		if (n >= sizeof(line)) {
			sdp_err(err, errlen, ln, "longer than %zu bytes", sizeof(line) - 1);
			return -1;
		}
		memcpy(line, text + off, n);
		line[n] = '\0';
		off = e + 1;
		if (n == 0)
			continue;
		if (memchr(line, '\0', n) != NULL) {
			sdp_err(err, errlen, ln, "NUL byte");
			return -1;
		}
		if (n < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z') {
			sdp_err(err, errlen, ln, "not 'x=value'");
			return -1;
		}
		if (!seen_v) {
			if (line[0] != 'v' || strcmp(line, "v=0") != 0) {
				sdp_err(err, errlen, ln, "must be v=0");
				return -1;
			}
			seen_v = 1;
			continue;
		}
		if (line[0] == 'm') {
			if (s->n_media == MR_SDP_MAX_MEDIA) {
				sdp_err(err, errlen, ln, "more than %d m-lines", MR_SDP_MAX_MEDIA);
				return -1;
			}
			m = &s->m[s->n_media++];
			if (mline(m, line + 2, ln, err, errlen) < 0)
				return -1;
		} else if (line[0] == 'a') {
			if (attr(s, m, line + 2, ln, err, errlen) < 0)
				return -1;
		}
	}
	if (!seen_v) {
		snprintf(err, errlen, "empty (no v=0)");
		return -1;
	}
	if (s->n_media == 0) {
		snprintf(err, errlen, "no m-line");
		return -1;
	}
	/* JSEP: ICE and DTLS attributes in each m-section (bundled: the same); take the
	 * first's where the session has none. */
	if (s->ufrag[0] == '\0')
		memcpy(s->ufrag, s->m[0].ufrag, sizeof(s->ufrag));
	if (s->pwd[0] == '\0')
		memcpy(s->pwd, s->m[0].pwd, sizeof(s->pwd));
	if (s->fingerprint[0] == '\0')
		memcpy(s->fingerprint, s->m[0].fingerprint, sizeof(s->fingerprint));
	if (s->setup[0] == '\0')
		memcpy(s->setup, s->m[0].setup, sizeof(s->setup));
	if (s->ufrag[0] == '\0' || s->pwd[0] == '\0') {
		snprintf(err, errlen, "no a=ice-ufrag / a=ice-pwd");
		return -1;
	}
	if (s->fingerprint[0] == '\0') {
		snprintf(err, errlen, "no a=fingerprint (DTLS-SRTP is required)");
		return -1;
	}
	if (strcmp(s->setup, "passive") == 0) {
		snprintf(err, errlen, "a=setup:passive: mrelay is passive, the offerer must be "
			 "active or actpass");
		return -1;
	}
	for (i = 0; i < s->n_media; i++)
		if (s->m[i].mid[0] == '\0') {
			snprintf(err, errlen, "m-line %u: no a=mid (BUNDLE needs one)", i + 1);
			return -1;
		}
	return 0;
}

static int
h264_ok(const char *fmtp)
{
	const char *p = strstr(fmtp, "profile-level-id=");

	if (strstr(fmtp, "packetization-mode=1") == NULL || p == NULL)
		return 0;
	p += strlen("profile-level-id=");
	/* Constrained baseline: profile_idc 0x42 with constraint_set1 (0xe0 or 0x40 flags),
	 * RFC 6184 §8.1, as browsers offer it (42e01f, 42001f). */
	return strncasecmp(p, "42e0", 4) == 0 || strncasecmp(p, "4200", 4) == 0;
}

const struct mr_sdp_codec *
mr_sdp_pick(const struct mr_sdp_media *m)
{
	unsigned int i;

	if (m->kind == MR_SDP_AUDIO) {
		for (i = 0; i < m->n_codecs; i++)
			if (strcasecmp(m->codec[i].name, "opus") == 0 && m->codec[i].clock == 48000)
				return &m->codec[i];
		return NULL;
	}
	if (m->kind != MR_SDP_VIDEO)
		return NULL;
	for (i = 0; i < m->n_codecs; i++)
		if (strcasecmp(m->codec[i].name, "VP8") == 0 && m->codec[i].clock == 90000)
			return &m->codec[i];
	for (i = 0; i < m->n_codecs; i++)
		if (strcasecmp(m->codec[i].name, "H264") == 0 && m->codec[i].clock == 90000 &&
		    h264_ok(m->codec[i].fmtp))
			return &m->codec[i];
	return NULL;
}

unsigned int
mr_sdp_ssrcs(const struct mr_sdp_media *m, uint32_t *out, unsigned int max)
{
	unsigned int i, j, n = 0;

	for (i = 0; i < m->n_ssrc && n < max; i++) {
		for (j = 0; j < m->n_fid; j++)
			if (m->fid[j] == m->ssrc[i])
				break;
		if (j == m->n_fid)
			out[n++] = m->ssrc[i];
	}
	return n;
}

uint8_t
mr_sdp_ext_id(const struct mr_sdp_media *m, const char *uri)
{
	unsigned int i;

	for (i = 0; i < m->n_ext; i++)
		if (strcmp(m->ext[i].uri, uri) == 0)
			return m->ext[i].id;
	return 0;
}

struct out {
	char *p;
	size_t len, n;
	int over;
};

static void __attribute__((format(printf, 2, 3)))
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->over)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->n, o->len - o->n, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->n)
		o->over = 1;
	else
		o->n += (size_t)n;
}

static const char *
ep_addr(const struct mr_ep *e, char *buf, size_t len)
{
	return inet_ntop(e->family == MR_AF4 ? AF_INET : AF_INET6, e->a, buf, (socklen_t)len);
}

/* ---- sessions (sdp.h "Renegotiation") ---- */

/* Header extensions mrelay negotiates, by index of mr_sdp_sec.ext (and nibble index - 1 of
 * the map, mr_types.h MR_EXT_*). The first three are passed through (renumbered). The MID
 * (RFC 8843 §15) is accepted so that a sender without a=ssrc lines tells which section a new
 * SSRC belongs to (signaling.c, mr_rooms_learn), but never passed on: a forwarded packet
 * would carry the publisher's mid, which names a section of the publisher's session, not the
 * subscriber's; its element goes to the subscriber's unused id (rtp_ext.h), and every stream
 * mrelay sends is declared with a=ssrc, which is how the subscriber routes it. */
static const char *const sdp_exts[MR_SDP_N_EXT] = { MR_SDP_EXT_LEVEL, MR_SDP_EXT_AST,
						    MR_SDP_EXT_TCC, MR_SDP_EXT_MID };

uint32_t
mr_sdp_ext_map(const struct mr_sdp *s)
{
	uint32_t map = 0;
	unsigned int i, k, id, used = 0;

	for (i = 0; i < s->n_media; i++) {
		const struct mr_sdp_media *m = &s->m[i];

		if (m->port0 || m->kind == MR_SDP_OTHER)
			continue;
		/* The unused id is none the participant offered, for any extension. */
		for (k = 0; k < m->n_ext; k++)
			if (m->ext[k].id <= 14)
				used |= 1u << m->ext[k].id;
		for (k = 0; k < MR_SDP_N_EXT; k++) {
			id = mr_sdp_ext_id(m, sdp_exts[k]);
			/* One-byte ids only: a two-byte id (15..255) cannot be renumbered to. */
			if (((map >> (4 * (k + 1))) & 0xf) != 0 || id < 1 || id > 14)
				continue;
			map |= (uint32_t)id << (4 * (k + 1));
		}
	}
	for (id = 1; id <= 14 && (used & (1u << id)); id++)
		;
	return map | id;	/* 15 only if 14 ids were taken: it ends a receiver's parse */
}

void
mr_sdp_sess_init(struct mr_sdp_sess *s, const struct mr_sdp *o, uint64_t id)
{
	unsigned int i, k;

	memset(s, 0, sizeof(*s));
	s->id = id;
	s->version = 2;
	for (i = 0; i < o->n_media && i < MR_SDP_MAX_SEC; i++) {
		const struct mr_sdp_media *m = &o->m[i];
		const struct mr_sdp_codec *c = m->port0 ? NULL : mr_sdp_pick(m);
		struct mr_sdp_sec *x = &s->sec[s->n++];

		x->kind = m->kind;
		x->dir = m->dir;
		memcpy(x->mid, m->mid, sizeof(x->mid));
		memcpy(x->proto, m->proto, sizeof(x->proto));
		if (c == NULL) {
			x->off = 1;
			x->n_fmt = m->n_codecs;
			for (k = 0; k < m->n_codecs; k++)
				x->fmt[k] = m->codec[k].pt;
			continue;
		}
		x->codec = *c;
		for (k = 0; k < MR_SDP_N_EXT; k++)
			if (k != 0 || m->kind == MR_SDP_AUDIO)
				x->ext[k] = mr_sdp_ext_id(m, sdp_exts[k]);
	}
}

/* The participant's first accepted own section of kind. */
static const struct mr_sdp_sec *
sess_own(const struct mr_sdp_sess *s, uint8_t kind)
{
	unsigned int i;

	for (i = 0; i < s->n; i++)
		if (!s->sec[i].added && !s->sec[i].off && s->sec[i].kind == kind)
			return &s->sec[i];
	return NULL;
}

int
mr_sdp_sess_pt(const struct mr_sdp_sess *s, uint8_t kind)
{
	const struct mr_sdp_sec *x = sess_own(s, kind);

	return x != NULL ? x->codec.pt : -1;
}

/* Where a new stream of kind goes: a free own section that receives, else (add) a new or
 * recycled added one. NULL when there is none. */
static struct mr_sdp_sec *
sess_place(struct mr_sdp_sess *s, const struct mr_sdp_sec *own, uint8_t kind, int add)
{
	struct mr_sdp_sec *x = NULL;
	unsigned int i;

	for (i = 0; i < s->n; i++) {
		x = &s->sec[i];
		if (!x->added && !x->off && x->kind == kind && x->ssrc == 0 &&
		    (x->dir == MR_SDP_SENDRECV || x->dir == MR_SDP_RECVONLY))
			return x;
	}
	if (!add)
		return NULL;
	if (s->n < MR_SDP_MAX_SEC) {
		x = &s->sec[s->n++];
	} else {
		/* Full: recycle a removed section (RFC 8829 §5.2.2), with a new mid. */
		for (i = 0; i < s->n; i++)
			if (s->sec[i].added && s->sec[i].off)
				break;
		if (i == s->n)
			return NULL;
		x = &s->sec[i];
	}
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	x->dir = MR_SDP_RECVONLY;	/* the participant only receives on it */
	x->added = 1;
	snprintf(x->mid, sizeof(x->mid), "mr%u", ++s->next_mid);
	snprintf(x->proto, sizeof(x->proto), "UDP/TLS/RTP/SAVPF");
	x->codec = own->codec;
	memcpy(x->ext, own->ext, sizeof(x->ext));
	return x;
}

unsigned int
mr_sdp_sess_sync(struct mr_sdp_sess *s, const struct mr_sdp_out *want, unsigned int n, int add)
{
	unsigned int i, j, changed = 0;

	for (i = 0; i < s->n; i++) {
		struct mr_sdp_sec *x = &s->sec[i];

		if (x->ssrc == 0)
			continue;
		for (j = 0; j < n; j++)
			if (want[j].ssrc == x->ssrc && want[j].stream == x->stream)
				break;
		if (j < n)
			continue;
		x->ssrc = x->part = x->stream = 0;
		if (x->added)
			x->off = 1;
		changed++;
	}
	for (j = 0; j < n; j++) {
		const struct mr_sdp_out *w = &want[j];
		const struct mr_sdp_sec *own;
		struct mr_sdp_sec *x;

		for (i = 0; i < s->n; i++)
			if (s->sec[i].ssrc == w->ssrc)
				break;
		if (i < s->n || w->ssrc == 0 || w->kind > MR_SDP_VIDEO)
			continue;
		own = sess_own(s, w->kind);
		if (own == NULL || (w->codec[0] != '\0' && strcasecmp(w->codec, own->codec.name)))
			continue;	/* a kind or codec the participant does not take */
		x = sess_place(s, own, w->kind, add);
		if (x == NULL)
			continue;
		x->ssrc = w->ssrc;
		x->part = w->part;
		x->stream = w->stream;
		changed++;
	}
	return changed;
}

static const char *
kind_name(uint8_t kind)
{
	return kind == MR_SDP_AUDIO ? "audio" : kind == MR_SDP_VIDEO ? "video" : "application";
}

/* mrelay's direction on x: the participant's own reversed (RFC 8866 §6.7); on an added
 * section it only sends. */
static const char *
sec_dir(const struct mr_sdp_sec *x)
{
	static const char *const dirs[] = { "sendrecv", "recvonly", "sendonly", "inactive" };

	return x->added ? "sendonly" : dirs[x->dir & 3];
}

static void
put_sec(struct out *b, const struct mr_sdp_sec *x, const struct mr_sdp_local *l)
{
	const struct mr_sdp_codec *c = &x->codec;
	char a[INET6_ADDRSTRLEN];
	unsigned int k;

	if (x->off) {
		/* Rejected or removed (RFC 8829 §5.2.2, §5.3.1): port 0, formats echoed. */
		put(b, "m=%s 0 %s", kind_name(x->kind), x->proto);
		if (x->added)
			put(b, " %u", c->pt);
		else if (x->n_fmt == 0)
			put(b, " %s", x->kind == MR_SDP_OTHER ? "webrtc-datachannel" : "0");
		for (k = 0; !x->added && k < x->n_fmt; k++)
			put(b, " %u", x->fmt[k]);
		put(b, "\r\nc=IN IP4 0.0.0.0\r\na=mid:%s\r\na=inactive\r\n", x->mid);
		return;
	}
	put(b, "m=%s 9 UDP/TLS/RTP/SAVPF %u\r\n", kind_name(x->kind), c->pt);
	put(b, "c=IN %s %s\r\n", l->cand[0].family == MR_AF4 ? "IP4" : "IP6",
	    ep_addr(&l->cand[0], a, sizeof(a)));
	put(b, "a=rtcp:9 IN IP4 0.0.0.0\r\n");
	put(b, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", l->ufrag, l->pwd);
	put(b, "a=fingerprint:%s\r\na=setup:passive\r\n", l->fingerprint);
	put(b, "a=mid:%s\r\n", x->mid);
	for (k = 0; k < MR_SDP_N_EXT; k++)
		if (x->ext[k] != 0)
			put(b, "a=extmap:%u %s\r\n", x->ext[k], sdp_exts[k]);
	put(b, "a=%s\r\na=rtcp-mux\r\n", sec_dir(x));
	if (c->channels > 1)
		put(b, "a=rtpmap:%u %s/%u/%u\r\n", c->pt, c->name, c->clock, c->channels);
	else
		put(b, "a=rtpmap:%u %s/%u\r\n", c->pt, c->name, c->clock);
	if (c->fb & MR_SDP_FB_REMB)
		put(b, "a=rtcp-fb:%u goog-remb\r\n", c->pt);
	if (c->fb & MR_SDP_FB_TCC)
		put(b, "a=rtcp-fb:%u transport-cc\r\n", c->pt);
	if (c->fb & MR_SDP_FB_FIR)
		put(b, "a=rtcp-fb:%u ccm fir\r\n", c->pt);
	if (c->fb & MR_SDP_FB_NACK)
		put(b, "a=rtcp-fb:%u nack\r\n", c->pt);
	if (c->fb & MR_SDP_FB_PLI)
		put(b, "a=rtcp-fb:%u nack pli\r\n", c->pt);
	if (x->kind == MR_SDP_AUDIO)
		put(b, "a=fmtp:%u minptime=10;useinbandfec=1\r\n", c->pt);
	else if (c->fmtp[0] != '\0')
		put(b, "a=fmtp:%u %s\r\n", c->pt, c->fmtp);
	if (x->ssrc != 0) {
		/* Declared with a=ssrc and a=msid (one media stream per participant) so that
		 * the browser routes it by SSRC and groups a participant's tracks. */
		put(b, "a=msid:mrelay-%" PRIu32 " mrelay-%" PRIu32 "\r\n", x->part, x->ssrc);
		put(b, "a=ssrc:%" PRIu32 " cname:mrelay-%" PRIu32 "\r\n", x->ssrc, x->part);
		put(b, "a=ssrc:%" PRIu32 " msid:mrelay-%" PRIu32 " mrelay-%" PRIu32 "\r\n",
		    x->ssrc, x->part, x->ssrc);
	}
	for (k = 0; k < l->n_cand; k++)
		put(b, "a=candidate:%u 1 udp %u %s %u typ host\r\n", k + 1, 2130706431u - k,
		    ep_addr(&l->cand[k], a, sizeof(a)), l->cand[k].port);
	put(b, "a=end-of-candidates\r\n");
}

int
mr_sdp_render(struct mr_sdp_sess *s, const struct mr_sdp_local *l, int offer, char *out,
	      size_t len)
{
	struct out b = { out, len, 0, 0 };
	unsigned int i;

	if (len == 0)
		return -1;
	out[0] = '\0';
	/* RFC 8866 §5.2: each new description of the session has a higher version. */
	if (offer)
		s->version++;
	put(&b, "v=0\r\no=mrelay %" PRIu64 " %" PRIu32 " IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
	    s->id, s->version);
	put(&b, "a=ice-lite\r\na=group:BUNDLE");
	for (i = 0; i < s->n; i++)
		if (!s->sec[i].off)
			put(&b, " %s", s->sec[i].mid);
	put(&b, "\r\na=msid-semantic: WMS *\r\n");
	for (i = 0; i < s->n; i++)
		put_sec(&b, &s->sec[i], l);
	return b.over ? -1 : (int)b.n;
}

int
mr_sdp_answer(const struct mr_sdp *o, const struct mr_sdp_local *l, char *out, size_t len)
{
	struct mr_sdp_sess *s = malloc(sizeof(*s));
	struct mr_sdp_out w[2];
	unsigned int k, n = 0;
	int rc;

	if (s == NULL)
		return -1;
	mr_sdp_sess_init(s, o, l->session_id);
	for (k = 0; k < 2; k++) {
		if (l->recv[k].ssrc == 0)
			continue;
		memset(&w[n], 0, sizeof(w[n]));
		w[n].ssrc = l->recv[k].ssrc;
		w[n].part = l->recv[k].part;
		w[n].stream = l->recv[k].ssrc;
		w[n++].kind = (uint8_t)k;
	}
	mr_sdp_sess_sync(s, w, n, 0);
	rc = mr_sdp_render(s, l, 0, out, len);
	free(s);
	return rc;
}
