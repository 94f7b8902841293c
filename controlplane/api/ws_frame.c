/* SPDX-License-Identifier: BSD-3-Clause
 * WebSocket framing (RFC 6455): frame headers (§5.2), masking (§5.3), fragmentation
 * (§5.4), control frames (§5.5), close codes (§7.4), UTF-8 of text (§8.1) and the
 * handshake's accept key (§4.2.2). Pure code: no sockets, no libmicrohttpd, so that every
 * rule is unit-tested on exact bytes (tests/unit/test_ws.c) and fuzzable.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ws.h"

/* §1.3: the GUID appended to the client's key before hashing. */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
/* A message buffer starts this small and doubles: most signaling messages fit. */
#define WS_MSG_MIN 256

static int
op_is_control(uint8_t op)
{
	return (op & 0x8) != 0;
}

int
mr_ws_frame_parse(const uint8_t *buf, size_t n, int require_mask, struct mr_ws_frame_hdr *h)
{
	uint8_t len7, op;
	size_t need, i;
	uint64_t len;

	if (n < 2)
		return -EAGAIN;
	/* §5.2: RSV1-3 MUST be 0 unless an extension defines them; we negotiate none. */
	if ((buf[0] & 0x70) != 0)
		return -EPROTO;
	op = buf[0] & 0x0f;
	/* §5.2: 0x3-0x7 and 0xB-0xF are reserved: "MUST _Fail the WebSocket Connection_"
	 * (§5.2, opcode: an unknown opcode). */
	if (op != MR_WS_OP_CONT && op != MR_WS_OP_TEXT && op != MR_WS_OP_BINARY &&
	    op != MR_WS_OP_CLOSE && op != MR_WS_OP_PING && op != MR_WS_OP_PONG)
		return -EPROTO;
	/* §5.1: a server MUST close the connection on an unmasked frame from a client. */
	if (require_mask && (buf[1] & 0x80) == 0)
		return -EPROTO;
	len7 = buf[1] & 0x7f;
	/* §5.5: control frames are never fragmented and carry at most 125 bytes (so their
	 * length is always in the 7-bit form). Checked before waiting for more bytes. */
	if (op_is_control(op) && ((buf[0] & 0x80) == 0 || len7 > MR_WS_CONTROL_MAX))
		return -EPROTO;

	need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((buf[1] & 0x80) ? 4 : 0);
	if (n < need)
		return -EAGAIN;

	i = 2;
	if (len7 == 126) {
		len = (uint64_t)buf[2] << 8 | buf[3];
		/* §5.2: "the minimal number of bytes MUST be used to encode the length". */
		if (len < 126)
			return -EPROTO;
		i = 4;
	} else if (len7 == 127) {
		size_t k;

		/* §5.2: the most significant bit of the 64-bit length MUST be 0. */
		if (buf[2] & 0x80)
			return -EPROTO;
		len = 0;
		for (k = 0; k < 8; k++)
			len = len << 8 | buf[2 + k];
		if (len <= 0xffff)
			return -EPROTO;
		i = 10;
	} else {
		len = len7;
	}

	h->fin = buf[0] >> 7;
	h->opcode = op;
	h->masked = buf[1] >> 7;
	if (h->masked) {
		memcpy(h->mask, buf + i, 4);
		i += 4;
	} else {
		memset(h->mask, 0, 4);
	}
	h->hdr_len = (uint8_t)i;
	h->len = len;
	return 0;
}

size_t
mr_ws_frame_hdr_build(uint8_t *out, int fin, uint8_t opcode, uint64_t len, const uint8_t *mask)
{
	size_t i;

	out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
	if (len < 126) {
		out[1] = (uint8_t)len;
		i = 2;
	} else if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		i = 4;
	} else {
		size_t k;

		out[1] = 127;
		for (k = 0; k < 8; k++)
			out[2 + k] = (uint8_t)(len >> (56 - 8 * k));
		i = 10;
	}
	if (mask != NULL) {
		out[1] |= 0x80;
		memcpy(out + i, mask, 4);
		i += 4;
	}
	return i;
}

void
mr_ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t off)
{
	size_t i;

	/* §5.3: octet i of the payload is XORed with octet i MOD 4 of the key. */
	for (i = 0; i < n; i++)
		p[i] ^= mask[(off + i) & 3];
}

int
mr_ws_utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i];
		uint8_t lo = 0x80, hi = 0xbf;
		size_t more, k;

		if (c < 0x80) {
			i++;
			continue;
		}
		/* RFC 3629 §4: the second byte's range excludes overlong forms (E0, F0),
		 * surrogates (ED) and code points above U+10FFFF (F4). */
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else {
			return 0;
		}
		if (n - i <= more)
			return 0;
		if (p[i + 1] < lo || p[i + 1] > hi)
			return 0;
		for (k = 2; k <= more; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
		i += more + 1;
	}
	return 1;
}

int
mr_ws_close_code_valid(unsigned int code)
{
	/* §7.4.1/§7.4.2: 1004, 1005, 1006 and 1015 are never sent; 0-999 are unused,
	 * 1016-2999 reserved for this protocol's future use. 1012-1014 are in IANA's
	 * registry; 3000-3999 are registered, 4000-4999 private. */
	if (code >= 1000 && code <= 1003)
		return 1;
	if (code >= 1007 && code <= 1014)
		return 1;
	return code >= 3000 && code <= 4999;
}

int
mr_ws_close_parse(const uint8_t *p, size_t n, unsigned int *code, const char **reason,
		  size_t *reason_len)
{
	*reason = "";
	*reason_len = 0;
	if (n == 0) {
		/* §5.5.1: the body is optional; §7.1.5: then the status is 1005. */
		*code = MR_WS_CLOSE_NO_STATUS;
		return 0;
	}
	if (n == 1)
		return -EPROTO;
	*code = (unsigned int)p[0] << 8 | p[1];
	if (!mr_ws_close_code_valid(*code))
		return -EPROTO;
	/* §5.5.1: the reason is UTF-8 (and §8.1 applies to it). */
	if (!mr_ws_utf8_valid(p + 2, n - 2))
		return -EILSEQ;
	*reason = (const char *)p + 2;
	*reason_len = n - 2;
	return 0;
}

size_t
mr_ws_close_build(uint8_t *out, unsigned int code, const char *reason)
{
	size_t n = reason != NULL ? strlen(reason) : 0;

	out[0] = (uint8_t)(code >> 8);
	out[1] = (uint8_t)code;
	if (n > MR_WS_CONTROL_MAX - 2) {
		n = MR_WS_CONTROL_MAX - 2;
		/* Do not cut a character in two: back up over continuation bytes. */
		while (n > 0 && ((uint8_t)reason[n] & 0xc0) == 0x80)
			n--;
	}
	if (n != 0)
		memcpy(out + 2, reason, n);
	return 2 + n;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
mr_ws_base64(const uint8_t *p, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = b64[(v >> 6) & 63];
		out[o++] = b64[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;

		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;

		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = b64[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

int
mr_ws_key_valid(const char *key)
{
	const char *c;
	size_t i;

	/* 16 bytes are 22 base64 digits and "==": the 22nd digit holds 2 bits of data,
	 * its 4 low bits are 0 in the canonical encoding (RFC 4648 §3.5). */
	if (key == NULL || strlen(key) != 24 || key[22] != '=' || key[23] != '=')
		return 0;
	for (i = 0; i < 22; i++) {
		c = strchr(b64, key[i]);
		if (key[i] == '\0' || c == NULL)
			return 0;
		if (i == 21 && ((c - b64) & 0x0f) != 0)
			return 0;
	}
	return 1;
}

int
mr_ws_accept_key(const char *key, char out[MR_WS_ACCEPT_LEN])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	char buf[64 + sizeof(WS_GUID)];
	unsigned int mdlen = 0;
	size_t n;

	if (key == NULL || (n = strlen(key)) > 64)
		return -EINVAL;
	memcpy(buf, key, n);
	memcpy(buf + n, WS_GUID, sizeof(WS_GUID) - 1);
	/* §4.2.2 item 5.4: base64(SHA-1(key + GUID)). */
	if (EVP_Digest(buf, n + sizeof(WS_GUID) - 1, md, &mdlen, EVP_sha1(), NULL) != 1 ||
	    mdlen != 20)
		return -EIO;
	mr_ws_base64(md, mdlen, out);
	return 0;
}

/* ---- receiver ---- */

void
mr_ws_rx_init(struct mr_ws_rx *rx, size_t max_message)
{
	memset(rx, 0, sizeof(*rx));
	rx->max_message = max_message;
}

void
mr_ws_rx_release(struct mr_ws_rx *rx)
{
	free(rx->msg);
	rx->msg = NULL;
	rx->msg_len = 0;
	rx->msg_cap = 0;
}

void
mr_ws_rx_trim(struct mr_ws_rx *rx)
{
	if (rx->delivered) {
		rx->delivered = 0;
		rx->msg_op = 0;
		rx->msg_len = 0;
	}
	/* An idle connection holds no message buffer. */
	if (rx->msg_op == 0)
		mr_ws_rx_release(rx);
}

unsigned int
mr_ws_rx_close_code(int err)
{
	switch (err) {
	case -EILSEQ:
		return MR_WS_CLOSE_INVALID_DATA;
	case -EMSGSIZE:
		return MR_WS_CLOSE_TOO_BIG;
	case -ENOMEM:
		return MR_WS_CLOSE_INTERNAL;
	default:
		return MR_WS_CLOSE_PROTOCOL;
	}
}

/* A data frame's header is in: check it against the message in progress and make room
 * for its payload (plus a NUL for the consumer's convenience). */
static int
rx_data_start(struct mr_ws_rx *rx)
{
	const struct mr_ws_frame_hdr *h = &rx->cur;
	size_t need, cap;
	uint8_t *p;

	if (h->opcode == MR_WS_OP_CONT) {
		/* §5.4: a continuation belongs to a message started by a text/binary frame. */
		if (rx->msg_op == 0)
			return -EPROTO;
	} else {
		/* §5.4: fragments of one message are not interleaved with another. */
		if (rx->msg_op != 0)
			return -EPROTO;
		rx->msg_op = h->opcode;
		rx->msg_len = 0;
	}
	/* Refused from the header alone: nothing is allocated for an oversize message. */
	if (h->len > rx->max_message - rx->msg_len)
		return -EMSGSIZE;
	need = rx->msg_len + (size_t)h->len + 1;
	if (need > rx->msg_cap) {
		cap = rx->msg_cap != 0 ? rx->msg_cap : WS_MSG_MIN;
		while (cap < need)
			cap *= 2;
		if (cap > rx->max_message + 1)
			cap = rx->max_message + 1;
		p = realloc(rx->msg, cap);
		if (p == NULL)
			return -ENOMEM;
		rx->msg = p;
		rx->msg_cap = cap;
	}
	return 0;
}

int
mr_ws_rx_feed(struct mr_ws_rx *rx, const uint8_t *buf, size_t n, size_t *used,
	      struct mr_ws_event *ev)
{
	size_t i = 0;
	int ret;

	ev->type = MR_WS_EV_NONE;
	ev->opcode = 0;
	ev->data = NULL;
	ev->len = 0;
	if (rx->delivered) {
		rx->delivered = 0;
		rx->msg_op = 0;
		rx->msg_len = 0;
	}
	for (;;) {
		const struct mr_ws_frame_hdr *h = &rx->cur;
		uint64_t take;
		uint8_t *dst;

		if (!rx->in_payload) {
			size_t k;

			if (i == n)
				break;
			/* Collect at most a whole header, then give back what follows it. */
			k = MR_WS_HDR_MAX - rx->hdr_n;
			if (k > n - i)
				k = n - i;
			memcpy(rx->hdr + rx->hdr_n, buf + i, k);
			ret = mr_ws_frame_parse(rx->hdr, rx->hdr_n + k, 1, &rx->cur);
			if (ret == -EAGAIN) {
				rx->hdr_n += (uint8_t)k;
				i += k;
				continue;
			}
			if (ret < 0)
				goto done;
			i += h->hdr_len - rx->hdr_n;
			rx->hdr_n = 0;
			rx->in_payload = 1;
			rx->pos = 0;
			if (!op_is_control(h->opcode)) {
				ret = rx_data_start(rx);
				if (ret < 0)
					goto done;
			}
		}

		take = h->len - rx->pos;
		if (take > n - i)
			take = n - i;
		if (op_is_control(h->opcode))
			dst = rx->ctl + rx->pos;
		else
			dst = rx->msg + rx->msg_len + rx->pos;
		if (take != 0) {
			memcpy(dst, buf + i, (size_t)take);
			mr_ws_unmask(dst, (size_t)take, h->mask, rx->pos);
			rx->pos += take;
			i += (size_t)take;
		}
		if (rx->pos < h->len)
			break;

		/* The frame is complete. */
		rx->in_payload = 0;
		if (op_is_control(h->opcode)) {
			ev->type = MR_WS_EV_CONTROL;
			ev->opcode = h->opcode;
			ev->data = rx->ctl;
			ev->len = (size_t)h->len;
			break;
		}
		rx->msg_len += (size_t)h->len;
		if (!h->fin)
			continue;
		/* §8.1: a text message MUST be valid UTF-8 as a whole (a character may be
		 * split between fragments, so it is checked once complete). */
		if (rx->msg_op == MR_WS_OP_TEXT && !mr_ws_utf8_valid(rx->msg, rx->msg_len)) {
			ret = -EILSEQ;
			goto done;
		}
		rx->msg[rx->msg_len] = '\0';
		rx->delivered = 1;
		ev->type = MR_WS_EV_MESSAGE;
		ev->opcode = rx->msg_op;
		ev->data = rx->msg;
		ev->len = rx->msg_len;
		break;
	}
	*used = i;
	return 0;
done:
	*used = i;
	return ret;
}
