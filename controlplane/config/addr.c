/* SPDX-License-Identifier: BSD-3-Clause
 * Text forms of addresses, endpoints and prefixes (dataplane/include/mr_types.h).
 *
 * The parsers are strict on purpose: they read operator input (configuration, REST bodies),
 * and a value that is half understood must be refused rather than guessed at. The address
 * itself is left to inet_pton(), which accepts only the dotted-quad IPv4 form (no octal, hex
 * or short forms) and RFC 4291 §2.2 text for IPv6 (no zone ids).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "addr.h"

/* Longest text form we accept for a bare address: an IPv6 address with an embedded IPv4
 * address is 45 characters (INET6_ADDRSTRLEN - 1). Anything longer is not an address. */
#define ADDR_TEXT_MAX (INET6_ADDRSTRLEN - 1)

/* Parse exactly n characters of s as an address of the given family (4 or 6, 0 = either). */
static int
addr_parse_n(const char *s, size_t n, int family, struct mr_ep *ep)
{
	char buf[INET6_ADDRSTRLEN];

	if (n == 0 || n > ADDR_TEXT_MAX)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';

	memset(ep, 0, sizeof(*ep));
	if (family != MR_AF6 && inet_pton(AF_INET, buf, ep->a) == 1) {
		ep->family = MR_AF4;
		return 0;
	}
	if (family != MR_AF4 && inet_pton(AF_INET6, buf, ep->a) == 1) {
		ep->family = MR_AF6;
		return 0;
	}
	memset(ep, 0, sizeof(*ep));
	return -EINVAL;
}

/* Parse a decimal number of 1..maxdigits digits with no sign, space or leading zero
 * (a leading zero reads as octal to some tools: refuse the ambiguity). */
static int
dec_parse(const char *s, unsigned int maxdigits, unsigned long *val)
{
	unsigned long v = 0;
	unsigned int i;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= maxdigits)
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (i == 0 || (i > 1 && s[0] == '0'))
		return -EINVAL;
	*val = v;
	return 0;
}

int
mr_addr_parse(const char *s, struct mr_ep *ep)
{
	if (s == NULL || ep == NULL)
		return -EINVAL;
	return addr_parse_n(s, strlen(s), 0, ep);
}

int
mr_ep_parse(const char *s, struct mr_ep *ep)
{
	const char *colon, *end;
	unsigned long port;
	struct mr_ep tmp;
	int ret;

	if (s == NULL || ep == NULL)
		return -EINVAL;

	if (s[0] == '[') {
		/* RFC 3986 §3.2.2: an IPv6 literal with a port is written in brackets. */
		end = strchr(s, ']');
		if (end == NULL || end[1] != ':')
			return -EINVAL;
		ret = addr_parse_n(s + 1, (size_t)(end - s - 1), MR_AF6, &tmp);
		colon = end + 1;
	} else {
		/* Without brackets only IPv4 fits: a second colon means an unbracketed IPv6
		 * address, whose last group could be read as a port. */
		colon = strchr(s, ':');
		if (colon == NULL || strchr(colon + 1, ':') != NULL)
			return -EINVAL;
		ret = addr_parse_n(s, (size_t)(colon - s), MR_AF4, &tmp);
	}
	if (ret < 0)
		return ret;
	if (dec_parse(colon + 1, 5, &port) < 0 || port == 0 || port > 65535)
		return -EINVAL;
	tmp.port = (uint16_t)port;
	*ep = tmp;
	return 0;
}

int
mr_prefix_parse(const char *s, struct mr_prefix *p)
{
	const char *slash;
	unsigned long len;
	struct mr_ep a;

	if (s == NULL || p == NULL)
		return -EINVAL;
	slash = strchr(s, '/');
	if (slash == NULL)
		return -EINVAL;
	if (addr_parse_n(s, (size_t)(slash - s), 0, &a) < 0)
		return -EINVAL;
	if (dec_parse(slash + 1, 3, &len) < 0)
		return -EINVAL;
	if (len > (a.family == MR_AF4 ? 32u : 128u))
		return -EINVAL;

	memset(p, 0, sizeof(*p));
	p->family = a.family;
	p->len = (uint8_t)len;
	memcpy(p->a, a.a, sizeof(p->a));
	return 0;
}

char *
mr_ep_fmt(const struct mr_ep *ep, char *buf, size_t len, int with_port)
{
	char addr[INET6_ADDRSTRLEN];

	if (buf == NULL || len == 0)
		return buf;
	if (ep == NULL || (ep->family != MR_AF4 && ep->family != MR_AF6)) {
		snprintf(buf, len, "none");
		return buf;
	}
	if (inet_ntop(ep->family == MR_AF4 ? AF_INET : AF_INET6, ep->a, addr,
		      sizeof(addr)) == NULL) {
		snprintf(buf, len, "none");
		return buf;
	}
	if (!with_port)
		snprintf(buf, len, "%s", addr);
	else if (ep->family == MR_AF4)
		snprintf(buf, len, "%s:%u", addr, (unsigned int)ep->port);
	else
		snprintf(buf, len, "[%s]:%u", addr, (unsigned int)ep->port);
	return buf;
}

int
mr_prefix_contains(const struct mr_prefix *p, const struct mr_ep *addr)
{
	unsigned int bytes, bits, max;
	uint8_t mask;

	if (p == NULL || addr == NULL || p->family == 0 || p->family != addr->family)
		return 0;
	max = p->family == MR_AF4 ? 32 : 128;
	if (p->len > max)
		return 0;
	bytes = p->len / 8;
	bits = p->len % 8;
	if (memcmp(p->a, addr->a, bytes) != 0)
		return 0;
	if (bits == 0)
		return 1;
	mask = (uint8_t)(0xff << (8 - bits));
	return (p->a[bytes] & mask) == (addr->a[bytes] & mask);
}
