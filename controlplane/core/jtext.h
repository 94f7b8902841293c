/* SPDX-License-Identifier: BSD-3-Clause
 * Compact JSON written straight into a buffer: the state store's session records
 * (controlplane/sessions/persist.c), written at the REST rate, where building a jansson object
 * and dumping it cost more than the rest of the write (docs/PERFORMANCE.md "State in Redis").
 * What comes out is compact JSON that any parser (jansson at the restore) reads back to the
 * same values (tests/unit/test_jtext.c); control characters are written as \u00XX.
 */
#ifndef MR_JTEXT_H
#define MR_JTEXT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

struct mr_jtext {
	char *p;
	size_t len, cap;
	int overflow;		/* something did not fit: the text is not valid */
};

static inline void
mr_jt_init(struct mr_jtext *b, char *p, size_t cap)
{
	b->p = p;
	b->len = 0;
	b->cap = cap;
	b->overflow = cap == 0;
	if (cap)
		p[0] = '\0';
}

static inline void __attribute__((format(printf, 2, 3)))
mr_jt_fmt(struct mr_jtext *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len) {
		b->overflow = 1;
		return;
	}
	b->len += (size_t)n;
}

static inline void
mr_jt_raw(struct mr_jtext *b, const char *s)
{
	size_t n = strlen(s);

	if (b->overflow || n >= b->cap - b->len) {
		b->overflow = 1;
		return;
	}
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

/* A JSON string (RFC 8259 §7): quotes, backslashes and control characters escaped. */
static inline void
mr_jt_str(struct mr_jtext *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	mr_jt_raw(b, "\"");
	for (; *s != '\0' && !b->overflow; s++) {
		unsigned char c = (unsigned char)*s;
		char e[7];

		if (c == '"' || c == '\\') {
			e[0] = '\\';
			e[1] = (char)c;
			e[2] = '\0';
		} else if (c < 0x20) {
			memcpy(e, "\\u00", 4);
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			e[6] = '\0';
		} else {
			e[0] = (char)c;
			e[1] = '\0';
		}
		mr_jt_raw(b, e);
	}
	mr_jt_raw(b, "\"");
}

/* An endpoint as "ip:port", or null when it has no family. */
static inline void
mr_jt_ep(struct mr_jtext *b, const struct mr_ep *ep)
{
	char buf[64];

	if (ep->family == 0)
		mr_jt_raw(b, "null");
	else
		mr_jt_str(b, mr_ep_fmt(ep, buf, sizeof(buf), 1));
}

#endif
