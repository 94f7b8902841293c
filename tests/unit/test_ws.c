/* SPDX-License-Identifier: BSD-3-Clause
 * WebSocket (RFC 6455): framing on exact bytes (controlplane/api/ws_frame.c), connections over
 * socketpairs (controlplane/api/ws.c through mr_ws_server_adopt_fd), and the whole path
 * through a libmicrohttpd daemon in external epoll mode, as api.c runs it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "ws.h"

static const uint8_t mask_key[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* ---- framing ---- */

/* RFC 6455 §5.7, every example: parse, build, unmask. */
static void
test_rfc_examples(void **state)
{
	static const uint8_t hello[] = { 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
	static const uint8_t hello_masked[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f,
						0x9f, 0x4d, 0x51, 0x58 };
	static const uint8_t frag1[] = { 0x01, 0x03, 0x48, 0x65, 0x6c };
	static const uint8_t frag2[] = { 0x80, 0x02, 0x6c, 0x6f };
	static const uint8_t ping[] = { 0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
	static const uint8_t pong_masked[] = { 0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f,
					       0x9f, 0x4d, 0x51, 0x58 };
	static const uint8_t bin256[] = { 0x82, 0x7e, 0x01, 0x00 };
	static const uint8_t bin64k[] = { 0x82, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
					  0x00, 0x00 };
	struct mr_ws_frame_hdr h;
	uint8_t out[MR_WS_HDR_MAX], p[5];

	(void)state;
	assert_int_equal(mr_ws_frame_parse(hello, sizeof(hello), 0, &h), 0);
	assert_int_equal(h.fin, 1);
	assert_int_equal(h.opcode, MR_WS_OP_TEXT);
	assert_int_equal(h.masked, 0);
	assert_int_equal(h.hdr_len, 2);
	assert_int_equal(h.len, 5);
	assert_memory_equal(hello + 2, "Hello", 5);
	assert_int_equal(mr_ws_frame_hdr_build(out, 1, MR_WS_OP_TEXT, 5, NULL), 2);
	assert_memory_equal(out, hello, 2);
	/* A server refuses it: clients must mask (§5.1). */
	assert_int_equal(mr_ws_frame_parse(hello, sizeof(hello), 1, &h), -EPROTO);

	assert_int_equal(mr_ws_frame_parse(hello_masked, sizeof(hello_masked), 1, &h), 0);
	assert_int_equal(h.masked, 1);
	assert_int_equal(h.hdr_len, 6);
	assert_int_equal(h.len, 5);
	assert_memory_equal(h.mask, mask_key, 4);
	memcpy(p, hello_masked + 6, 5);
	mr_ws_unmask(p, 5, h.mask, 0);
	assert_memory_equal(p, "Hello", 5);
	/* In pieces: the offset keeps the key in step. */
	memcpy(p, hello_masked + 6, 5);
	mr_ws_unmask(p, 2, h.mask, 0);
	mr_ws_unmask(p + 2, 3, h.mask, 2);
	assert_memory_equal(p, "Hello", 5);
	assert_int_equal(mr_ws_frame_hdr_build(out, 1, MR_WS_OP_TEXT, 5, mask_key), 6);
	assert_memory_equal(out, hello_masked, 6);

	assert_int_equal(mr_ws_frame_parse(frag1, sizeof(frag1), 0, &h), 0);
	assert_int_equal(h.fin, 0);
	assert_int_equal(h.opcode, MR_WS_OP_TEXT);
	assert_int_equal(h.len, 3);
	assert_int_equal(mr_ws_frame_hdr_build(out, 0, MR_WS_OP_TEXT, 3, NULL), 2);
	assert_memory_equal(out, frag1, 2);
	assert_int_equal(mr_ws_frame_parse(frag2, sizeof(frag2), 0, &h), 0);
	assert_int_equal(h.fin, 1);
	assert_int_equal(h.opcode, MR_WS_OP_CONT);
	assert_int_equal(h.len, 2);
	assert_int_equal(mr_ws_frame_hdr_build(out, 1, MR_WS_OP_CONT, 2, NULL), 2);
	assert_memory_equal(out, frag2, 2);

	assert_int_equal(mr_ws_frame_parse(ping, sizeof(ping), 0, &h), 0);
	assert_int_equal(h.opcode, MR_WS_OP_PING);
	assert_int_equal(h.len, 5);
	assert_int_equal(mr_ws_frame_parse(pong_masked, sizeof(pong_masked), 1, &h), 0);
	assert_int_equal(h.opcode, MR_WS_OP_PONG);
	assert_int_equal(h.len, 5);
	assert_int_equal(mr_ws_frame_hdr_build(out, 1, MR_WS_OP_PONG, 5, mask_key), 6);
	assert_memory_equal(out, pong_masked, 6);

	assert_int_equal(mr_ws_frame_parse(bin256, sizeof(bin256), 0, &h), 0);
	assert_int_equal(h.opcode, MR_WS_OP_BINARY);
	assert_int_equal(h.hdr_len, 4);
	assert_int_equal(h.len, 256);
	assert_int_equal(mr_ws_frame_hdr_build(out, 1, MR_WS_OP_BINARY, 256, NULL), 4);
	assert_memory_equal(out, bin256, 4);

	assert_int_equal(mr_ws_frame_parse(bin64k, sizeof(bin64k), 0, &h), 0);
	assert_int_equal(h.hdr_len, 10);
	assert_int_equal(h.len, 65536);
	assert_int_equal(mr_ws_frame_hdr_build(out, 1, MR_WS_OP_BINARY, 65536, NULL), 10);
	assert_memory_equal(out, bin64k, 10);
}

static void
test_frame_lengths(void **state)
{
	struct mr_ws_frame_hdr h;
	uint8_t b[MR_WS_HDR_MAX];
	size_t n;

	(void)state;
	/* Boundaries of the three forms, masked, built then parsed. */
	n = mr_ws_frame_hdr_build(b, 1, MR_WS_OP_TEXT, 125, mask_key);
	assert_int_equal(n, 6);
	assert_int_equal(b[1], 0x80 | 125);
	n = mr_ws_frame_hdr_build(b, 1, MR_WS_OP_TEXT, 126, mask_key);
	assert_int_equal(n, 8);
	assert_int_equal(b[1], 0x80 | 126);
	assert_int_equal(b[2], 0);
	assert_int_equal(b[3], 126);
	assert_int_equal(mr_ws_frame_parse(b, n, 1, &h), 0);
	assert_int_equal(h.len, 126);
	assert_int_equal(h.hdr_len, 8);
	n = mr_ws_frame_hdr_build(b, 1, MR_WS_OP_TEXT, 65535, mask_key);
	assert_int_equal(n, 8);
	assert_int_equal(mr_ws_frame_parse(b, n, 1, &h), 0);
	assert_int_equal(h.len, 65535);
	n = mr_ws_frame_hdr_build(b, 1, MR_WS_OP_TEXT, 0x0123456789abULL, mask_key);
	assert_int_equal(n, 14);
	static const uint8_t l64[] = { 0x81, 0xff, 0, 0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab };
	assert_memory_equal(b, l64, sizeof(l64));
	assert_int_equal(mr_ws_frame_parse(b, n, 1, &h), 0);
	assert_int_equal(h.len, 0x0123456789abULL);
	assert_int_equal(h.hdr_len, 14);

	/* Every truncation of a header asks for more bytes. */
	for (size_t k = 0; k < n; k++)
		assert_int_equal(mr_ws_frame_parse(b, k, 1, &h), -EAGAIN);
	n = mr_ws_frame_hdr_build(b, 1, MR_WS_OP_TEXT, 300, mask_key);
	for (size_t k = 0; k < n; k++)
		assert_int_equal(mr_ws_frame_parse(b, k, 1, &h), -EAGAIN);
	assert_int_equal(mr_ws_frame_parse(b, n, 1, &h), 0);
}

static void
test_frame_malformed(void **state)
{
	struct mr_ws_frame_hdr h;
	uint8_t b[16];

	(void)state;
	/* RSV1, RSV2, RSV3: no extension was negotiated (§5.2). */
	for (int bit = 4; bit <= 6; bit++) {
		uint8_t f[] = { (uint8_t)(0x81 | (1 << bit)), 0x80, 1, 2, 3, 4 };

		assert_int_equal(mr_ws_frame_parse(f, sizeof(f), 1, &h), -EPROTO);
	}
	/* Reserved opcodes 3-7 and B-F, refused from the first two bytes. */
	for (unsigned int op = 0; op < 16; op++) {
		uint8_t f[] = { (uint8_t)(0x80 | op), 0x80 };
		int want = (op <= 2 || (op >= 8 && op <= 10)) ? -EAGAIN : -EPROTO;

		assert_int_equal(mr_ws_frame_parse(f, sizeof(f), 1, &h), want);
	}
	/* Control frames: fragmented, or longer than 125 (§5.5). */
	{
		uint8_t f[] = { 0x09, 0x80, 1, 2, 3, 4 };

		assert_int_equal(mr_ws_frame_parse(f, sizeof(f), 1, &h), -EPROTO);
		f[0] = 0x08;
		assert_int_equal(mr_ws_frame_parse(f, sizeof(f), 1, &h), -EPROTO);
	}
	{
		uint8_t f[] = { 0x89, 0x80 | 126, 0, 126, 1, 2, 3, 4 };

		assert_int_equal(mr_ws_frame_parse(f, 2, 1, &h), -EPROTO);
		f[1] = 0x80 | 125;
		assert_int_equal(mr_ws_frame_parse(f, 6, 1, &h), 0);
		assert_int_equal(h.len, 125);
	}
	/* Lengths not in their shortest form, or with the top bit set (§5.2). */
	{
		uint8_t f[] = { 0x81, 0x80 | 126, 0x00, 125, 1, 2, 3, 4 };

		assert_int_equal(mr_ws_frame_parse(f, sizeof(f), 1, &h), -EPROTO);
		f[3] = 0;
		assert_int_equal(mr_ws_frame_parse(f, sizeof(f), 1, &h), -EPROTO);
	}
	{
		uint8_t f[] = { 0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4 };

		assert_int_equal(mr_ws_frame_parse(f, sizeof(f), 1, &h), -EPROTO);
		f[7] = 1;	/* 0x1ffff: fine */
		assert_int_equal(mr_ws_frame_parse(f, sizeof(f), 1, &h), 0);
		assert_int_equal(h.len, 0x1ffff);
		f[2] = 0x80;
		assert_int_equal(mr_ws_frame_parse(f, sizeof(f), 1, &h), -EPROTO);
	}
	/* Unmasked from a client. */
	memset(b, 0, sizeof(b));
	b[0] = 0x81;
	b[1] = 0x01;
	assert_int_equal(mr_ws_frame_parse(b, 3, 1, &h), -EPROTO);
	assert_int_equal(mr_ws_frame_parse(b, 3, 0, &h), 0);
}

static void
test_utf8(void **state)
{
	static const struct {
		const char *s;
		size_t n;
		int ok;
	} v[] = {
		{ "", 0, 1 },
		{ "plain ascii", 11, 1 },
		{ "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 11, 1 },	/* κόσμε */
		{ "\xf4\x8f\xbf\xbf", 4, 1 },		/* U+10FFFF */
		{ "\xef\xbf\xbf", 3, 1 },		/* U+FFFF */
		{ "\xed\x9f\xbf", 3, 1 },		/* U+D7FF */
		{ "\xc0\x80", 2, 0 },			/* overlong NUL */
		{ "\xc1\xbf", 2, 0 },			/* overlong */
		{ "\xe0\x80\x80", 3, 0 },		/* overlong */
		{ "\xf0\x80\x80\x80", 4, 0 },		/* overlong */
		{ "\xed\xa0\x80", 3, 0 },		/* surrogate U+D800 */
		{ "\xf4\x90\x80\x80", 4, 0 },		/* U+110000 */
		{ "\xf5\x80\x80\x80", 4, 0 },
		{ "\xff", 1, 0 },
		{ "\x80", 1, 0 },			/* lone continuation */
		{ "\xe2\x82", 2, 0 },			/* truncated */
		{ "a\xe2\x82\xac", 4, 1 },		/* a€ */
		{ "\xe2\x28\xa1", 3, 0 },		/* bad continuation */
		{ "\xf0\x9f\x98", 3, 0 },		/* truncated 4-byte */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_int_equal(mr_ws_utf8_valid((const uint8_t *)v[i].s, v[i].n), v[i].ok);
}

static void
test_close_payload(void **state)
{
	static const unsigned int bad[] = { 0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000,
					    65535 };
	static const unsigned int good[] = { 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
					     1011, 3000, 4999 };
	uint8_t p[MR_WS_CONTROL_MAX] = { 0 }, q[2];
	const char *reason;
	unsigned int code;
	size_t rlen, n;
	char longr[200];

	(void)state;
	assert_int_equal(mr_ws_close_parse(p, 0, &code, &reason, &rlen), 0);
	assert_int_equal(code, MR_WS_CLOSE_NO_STATUS);
	assert_int_equal(rlen, 0);
	p[0] = 0x03;
	assert_int_equal(mr_ws_close_parse(p, 1, &code, &reason, &rlen), -EPROTO);

	n = mr_ws_close_build(p, 1000, "bye");
	assert_int_equal(n, 5);
	assert_memory_equal(p, "\x03\xe8" "bye", 5);
	assert_int_equal(mr_ws_close_parse(p, n, &code, &reason, &rlen), 0);
	assert_int_equal(code, 1000);
	assert_int_equal(rlen, 3);
	assert_memory_equal(reason, "bye", 3);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		q[0] = (uint8_t)(bad[i] >> 8);
		q[1] = (uint8_t)bad[i];
		assert_int_equal(mr_ws_close_code_valid(bad[i]), 0);
		assert_int_equal(mr_ws_close_parse(q, 2, &code, &reason, &rlen), -EPROTO);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		q[0] = (uint8_t)(good[i] >> 8);
		q[1] = (uint8_t)good[i];
		assert_int_equal(mr_ws_close_code_valid(good[i]), 1);
		assert_int_equal(mr_ws_close_parse(q, 2, &code, &reason, &rlen), 0);
		assert_int_equal(code, good[i]);
	}
	/* The reason is UTF-8 (§5.5.1). */
	memcpy(p, "\x03\xe8\xc0\x80", 4);
	assert_int_equal(mr_ws_close_parse(p, 4, &code, &reason, &rlen), -EILSEQ);

	/* A long reason is cut to 123 bytes, not in the middle of a character. */
	memset(longr, 'a', 122);
	memcpy(longr + 122, "\xc3\xa9zzz", 6);	/* é straddles byte 123 */
	n = mr_ws_close_build(p, 1001, longr);
	assert_int_equal(n, 2 + 122);
	assert_int_equal(mr_ws_close_parse(p, n, &code, &reason, &rlen), 0);
	memset(longr, 'b', sizeof(longr) - 1);
	longr[sizeof(longr) - 1] = '\0';
	assert_int_equal(mr_ws_close_build(p, 1001, longr), MR_WS_CONTROL_MAX);
}

static void
test_accept_key(void **state)
{
	char out[MR_WS_ACCEPT_LEN], b[16];

	(void)state;
	/* §1.3 and §4.2.2: the RFC's own example. */
	assert_int_equal(mr_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_int_equal(mr_ws_key_valid("dGhlIHNhbXBsZSBub25jZQ=="), 1);
	assert_int_equal(mr_ws_key_valid("AAAAAAAAAAAAAAAAAAAAAA=="), 1);
	assert_int_equal(mr_ws_key_valid("/+/+/+/+/+/+/+/+/+/+/w=="), 1);
	assert_int_equal(mr_ws_key_valid(NULL), 0);
	assert_int_equal(mr_ws_key_valid(""), 0);
	assert_int_equal(mr_ws_key_valid("dGhlIHNhbXBsZSBub25jZQ="), 0);	/* 23 */
	assert_int_equal(mr_ws_key_valid("dGhlIHNhbXBsZSBub25jZQ==="), 0);	/* 25 */
	assert_int_equal(mr_ws_key_valid("dGhlIHNhbXBsZSBub25jZR=="), 0);	/* bits */
	assert_int_equal(mr_ws_key_valid("dGhlIHNhbXBsZSBub25j*Q=="), 0);
	assert_int_equal(mr_ws_key_valid("dGhlIHNhbXBsZSBub25jZQA="), 0);	/* 17 B */
	assert_int_equal(mr_ws_key_valid("dGhlIHNhbXBs ZSBub25jZQ="), 0);
	assert_int_equal(mr_ws_accept_key(NULL, out), -EINVAL);

	/* RFC 4648 §10 test vectors. */
	assert_int_equal(mr_ws_base64((const uint8_t *)"", 0, b), 0);
	assert_string_equal(b, "");
	mr_ws_base64((const uint8_t *)"f", 1, b);
	assert_string_equal(b, "Zg==");
	mr_ws_base64((const uint8_t *)"fo", 2, b);
	assert_string_equal(b, "Zm8=");
	mr_ws_base64((const uint8_t *)"foo", 3, b);
	assert_string_equal(b, "Zm9v");
	assert_int_equal(mr_ws_base64((const uint8_t *)"foobar", 6, b), 8);
	assert_string_equal(b, "Zm9vYmFy");
}

/* A client frame: masked with mask_key. Returns its length. */
static size_t
cframe(uint8_t *out, int fin, uint8_t op, const void *p, size_t n)
{
	size_t hl = mr_ws_frame_hdr_build(out, fin, op, n, mask_key);

	memcpy(out + hl, p, n);
	mr_ws_unmask(out + hl, n, mask_key, 0);
	return hl + n;
}

static void
test_rx_basic(void **state)
{
	static const uint8_t hello_masked[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f,
						0x9f, 0x4d, 0x51, 0x58 };
	struct mr_ws_event ev;
	struct mr_ws_rx rx;
	uint8_t buf[256];
	size_t used, n, n2;

	(void)state;
	mr_ws_rx_init(&rx, 1024);
	/* One byte at a time: nothing until the last one. */
	for (size_t i = 0; i < sizeof(hello_masked); i++) {
		assert_int_equal(mr_ws_rx_feed(&rx, hello_masked + i, 1, &used, &ev), 0);
		assert_int_equal(used, 1);
		if (i + 1 < sizeof(hello_masked)) {
			assert_int_equal(ev.type, MR_WS_EV_NONE);
		} else {
			assert_int_equal(ev.type, MR_WS_EV_MESSAGE);
			assert_int_equal(ev.opcode, MR_WS_OP_TEXT);
			assert_int_equal(ev.len, 5);
			assert_string_equal((const char *)ev.data, "Hello");
		}
	}
	/* Two frames in one buffer: one event per call, used stops at the first. */
	n = cframe(buf, 1, MR_WS_OP_TEXT, "one", 3);
	n2 = cframe(buf + n, 1, MR_WS_OP_PING, "p", 1);
	assert_int_equal(mr_ws_rx_feed(&rx, buf, n + n2, &used, &ev), 0);
	assert_int_equal(used, n);
	assert_int_equal(ev.type, MR_WS_EV_MESSAGE);
	assert_string_equal((const char *)ev.data, "one");
	assert_int_equal(mr_ws_rx_feed(&rx, buf + used, n + n2 - used, &used, &ev), 0);
	assert_int_equal(used, n2);
	assert_int_equal(ev.type, MR_WS_EV_CONTROL);
	assert_int_equal(ev.opcode, MR_WS_OP_PING);
	assert_int_equal(ev.len, 1);
	assert_memory_equal(ev.data, "p", 1);
	/* Idle: no buffer kept. */
	mr_ws_rx_trim(&rx);
	assert_null(rx.msg);
	/* An empty text message and a binary one. */
	n = cframe(buf, 1, MR_WS_OP_TEXT, "", 0);
	assert_int_equal(mr_ws_rx_feed(&rx, buf, n, &used, &ev), 0);
	assert_int_equal(ev.type, MR_WS_EV_MESSAGE);
	assert_int_equal(ev.len, 0);
	n = cframe(buf, 1, MR_WS_OP_BINARY, "\xff\x00", 2);
	assert_int_equal(mr_ws_rx_feed(&rx, buf, n, &used, &ev), 0);
	assert_int_equal(ev.type, MR_WS_EV_MESSAGE);
	assert_int_equal(ev.opcode, MR_WS_OP_BINARY);
	assert_int_equal(ev.len, 2);
	mr_ws_rx_release(&rx);
}

static void
test_rx_long(void **state)
{
	struct mr_ws_event ev;
	struct mr_ws_rx rx;
	size_t lens[] = { 200, 70000 };
	uint8_t *buf, *msg;

	(void)state;
	buf = malloc(80000);
	msg = malloc(80000);
	assert_non_null(buf);
	assert_non_null(msg);
	mr_ws_rx_init(&rx, 100000);
	for (size_t t = 0; t < 2; t++) {
		size_t n, off = 0, used;

		for (size_t i = 0; i < lens[t]; i++)
			msg[i] = (uint8_t)('a' + (i * 7) % 26);
		n = cframe(buf, 1, MR_WS_OP_TEXT, msg, lens[t]);
		assert_int_equal(n, lens[t] + (t == 0 ? 8 : 14));
		/* In odd-sized pieces. */
		while (off < n) {
			size_t k = n - off < 997 ? n - off : 997;

			assert_int_equal(mr_ws_rx_feed(&rx, buf + off, k, &used, &ev), 0);
			assert_int_equal(used, k);
			off += k;
			if (off < n)
				assert_int_equal(ev.type, MR_WS_EV_NONE);
		}
		assert_int_equal(ev.type, MR_WS_EV_MESSAGE);
		assert_int_equal(ev.len, lens[t]);
		assert_memory_equal(ev.data, msg, lens[t]);
	}
	mr_ws_rx_release(&rx);
	free(buf);
	free(msg);
}

static void
test_rx_fragments(void **state)
{
	struct mr_ws_event ev;
	struct mr_ws_rx rx;
	uint8_t buf[256];
	size_t n = 0, used, off = 0;

	(void)state;
	mr_ws_rx_init(&rx, 64);
	/* "Hel" + ping + "lo" + pong + "!" where é is split between two fragments. */
	n += cframe(buf + n, 0, MR_WS_OP_TEXT, "Hel", 3);
	n += cframe(buf + n, 1, MR_WS_OP_PING, "x", 1);
	n += cframe(buf + n, 0, MR_WS_OP_CONT, "lo \xc3", 4);
	n += cframe(buf + n, 1, MR_WS_OP_PONG, "", 0);
	n += cframe(buf + n, 1, MR_WS_OP_CONT, "\xa9!", 2);
	assert_int_equal(mr_ws_rx_feed(&rx, buf, n, &used, &ev), 0);
	assert_int_equal(ev.type, MR_WS_EV_CONTROL);
	assert_int_equal(ev.opcode, MR_WS_OP_PING);
	assert_memory_equal(ev.data, "x", 1);
	off += used;
	assert_int_equal(mr_ws_rx_feed(&rx, buf + off, n - off, &used, &ev), 0);
	assert_int_equal(ev.type, MR_WS_EV_CONTROL);
	assert_int_equal(ev.opcode, MR_WS_OP_PONG);
	assert_int_equal(ev.len, 0);
	off += used;
	assert_int_equal(mr_ws_rx_feed(&rx, buf + off, n - off, &used, &ev), 0);
	off += used;
	assert_int_equal(off, n);
	assert_int_equal(ev.type, MR_WS_EV_MESSAGE);
	assert_int_equal(ev.opcode, MR_WS_OP_TEXT);
	assert_int_equal(ev.len, 9);
	assert_string_equal((const char *)ev.data, "Hello \xc3\xa9!");
	mr_ws_rx_release(&rx);
}

static int
rx_one(size_t max, const uint8_t *buf, size_t n)
{
	struct mr_ws_event ev;
	struct mr_ws_rx rx;
	size_t off = 0, used;
	int ret = 0;

	mr_ws_rx_init(&rx, max);
	while (off < n) {
		ret = mr_ws_rx_feed(&rx, buf + off, n - off, &used, &ev);
		if (ret < 0)
			break;
		off += used;
	}
	mr_ws_rx_release(&rx);
	return ret;
}

static void
test_rx_errors(void **state)
{
	uint8_t buf[256];
	size_t n;

	(void)state;
	/* Continuation without a start (§5.4). */
	n = cframe(buf, 1, MR_WS_OP_CONT, "x", 1);
	assert_int_equal(rx_one(64, buf, n), -EPROTO);
	/* A new data frame while a message is in progress. */
	n = cframe(buf, 0, MR_WS_OP_TEXT, "a", 1);
	n += cframe(buf + n, 1, MR_WS_OP_TEXT, "b", 1);
	assert_int_equal(rx_one(64, buf, n), -EPROTO);
	n = cframe(buf, 0, MR_WS_OP_TEXT, "a", 1);
	n += cframe(buf + n, 1, MR_WS_OP_BINARY, "b", 1);
	assert_int_equal(rx_one(64, buf, n), -EPROTO);
	/* Too big in one frame, and in fragments that are each small enough. */
	n = cframe(buf, 1, MR_WS_OP_TEXT, "0123456789A", 11);
	assert_int_equal(rx_one(10, buf, n), -EMSGSIZE);
	assert_int_equal(rx_one(11, buf, n), 0);
	n = cframe(buf, 0, MR_WS_OP_TEXT, "012345", 6);
	n += cframe(buf + n, 1, MR_WS_OP_CONT, "012345", 6);
	assert_int_equal(rx_one(10, buf, n), -EMSGSIZE);
	/* The size is refused from the header alone, before any payload. */
	{
		static const uint8_t huge[] = { 0x81, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4 };

		assert_int_equal(rx_one(1 << 20, huge, sizeof(huge)), -EMSGSIZE);
	}
	/* Invalid UTF-8, whole or only once put together. */
	n = cframe(buf, 1, MR_WS_OP_TEXT, "ok\xc0\x80", 4);
	assert_int_equal(rx_one(64, buf, n), -EILSEQ);
	n = cframe(buf, 0, MR_WS_OP_TEXT, "\xc3", 1);
	n += cframe(buf + n, 1, MR_WS_OP_CONT, "A", 1);
	assert_int_equal(rx_one(64, buf, n), -EILSEQ);
	/* Binary is not checked. */
	n = cframe(buf, 1, MR_WS_OP_BINARY, "\xc0\x80", 2);
	assert_int_equal(rx_one(64, buf, n), 0);
	/* Unmasked, reserved opcode, RSV bit, fragmented ping. */
	memcpy(buf, "\x81\x01x", 3);
	assert_int_equal(rx_one(64, buf, 3), -EPROTO);
	n = cframe(buf, 1, 0x3, "x", 1);
	assert_int_equal(rx_one(64, buf, n), -EPROTO);
	n = cframe(buf, 1, MR_WS_OP_TEXT, "x", 1);
	buf[0] |= 0x40;
	assert_int_equal(rx_one(64, buf, n), -EPROTO);
	n = cframe(buf, 0, MR_WS_OP_PING, "x", 1);
	assert_int_equal(rx_one(64, buf, n), -EPROTO);

	assert_int_equal(mr_ws_rx_close_code(-EPROTO), 1002);
	assert_int_equal(mr_ws_rx_close_code(-EILSEQ), 1007);
	assert_int_equal(mr_ws_rx_close_code(-EMSGSIZE), 1009);
	assert_int_equal(mr_ws_rx_close_code(-ENOMEM), 1011);
}

/* ---- connections over socketpairs ---- */

#define MAX_CONNS 16

struct tctx {
	struct mr_ws_server *s;
	struct mr_ws_conn *conn[MAX_CONNS];
	int nconn;
	int opens;
	int messages;
	int closes;
	char last_msg[256];
	char last_reason[32];
	int echo;
	int count_garbage;	/* messages other than "ok" are garbage */
	int error_ret;
	uint64_t t;		/* the clock handed to mr_ws_server_poll */
};

static void
on_open(struct mr_ws_conn *c, void *arg)
{
	struct tctx *t = arg;

	t->opens++;
	if (t->nconn < MAX_CONNS)
		t->conn[t->nconn] = c;
	mr_ws_set_user(c, (void *)(uintptr_t)(t->nconn + 1));
	t->nconn++;
}

static void
on_message(struct mr_ws_conn *c, const char *text, size_t len, void *arg)
{
	struct tctx *t = arg;

	t->messages++;
	snprintf(t->last_msg, sizeof(t->last_msg), "%.*s", (int)len, text);
	assert_int_equal(text[len], '\0');
	if (t->count_garbage && strcmp(text, "ok") != 0)
		t->error_ret = mr_ws_error_count(c);
	else if (t->echo)
		assert_int_equal(mr_ws_send_text(c, text, len), 0);
}

static void
on_close(struct mr_ws_conn *c, const char *reason, void *arg)
{
	struct tctx *t = arg;
	uintptr_t id = (uintptr_t)mr_ws_get_user(c);

	t->closes++;
	snprintf(t->last_reason, sizeof(t->last_reason), "%s", reason);
	if (id >= 1 && id <= MAX_CONNS)
		t->conn[id - 1] = NULL;
}

static const struct mr_ws_handler handler = {
	.on_open = on_open, .on_message = on_message, .on_close = on_close,
};

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
tctx_init(struct tctx *t, const struct mr_ws_limits *lim)
{
	memset(t, 0, sizeof(*t));
	t->s = mr_ws_server_create(lim, &handler, t);
	assert_non_null(t->s);
	t->t = mono_ms();
	/* The server read the clock when it was made; a millisecond may have passed since:
	 * its "now" is the test's, or deadlines come out 1 ms short (TSan: 999 != 1000). */
	mr_ws_server_set_now(t->s, t->t);
}

static const struct mr_ws_limits def_lim = {
	.max_message = 4096, .max_sendbuf = 65536, .max_connections = 8,
	.idle_timeout_ms = 10000, .max_errors = 2,
};

/* A connected pair: *cli is the test's end, the other one goes to the server. */
static void
pair(struct tctx *t, int *cli, const void *extra, size_t len)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(mr_ws_server_adopt_fd(t->s, sv[1], extra, len), 0);
	*cli = sv[0];
}

static void
pump(struct tctx *t)
{
	for (int i = 0; i < 4; i++)
		mr_ws_server_poll(t->s, t->t);
}

static void
csend(int fd, int fin, uint8_t op, const void *p, size_t n)
{
	uint8_t buf[8192];
	size_t len = cframe(buf, fin, op, p, n);

	assert_int_equal(write(fd, buf, len), (ssize_t)len);
}

/* Read one server frame (unmasked) within 1 s: 0, or -EPIPE at EOF, -ETIMEDOUT. */
static int
cread(int fd, struct mr_ws_frame_hdr *h, uint8_t *payload, size_t cap)
{
	uint8_t hdr[MR_WS_HDR_MAX];
	size_t n = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r;

		if (n >= 2) {
			r = mr_ws_frame_parse(hdr, n, 0, h);
			if (r == 0)
				break;
			assert_int_equal(r, -EAGAIN);
		}
		if (poll(&p, 1, 1000) != 1)
			return -ETIMEDOUT;
		r = (int)read(fd, hdr + n, 1);
		if (r <= 0)
			return -EPIPE;
		n++;
	}
	assert_int_equal(h->masked, 0);
	assert_true(h->len <= cap);
	for (size_t got = 0; got < h->len;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 1000) != 1)
			return -ETIMEDOUT;
		r = read(fd, payload + got, (size_t)h->len - got);
		if (r <= 0)
			return -EPIPE;
		got += (size_t)r;
	}
	return 0;
}

/* 1 when the peer closed the connection (EOF) within 1 s. */
static int
ceof(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char b;

	if (poll(&p, 1, 1000) != 1)
		return 0;
	return read(fd, &b, 1) == 0;
}

/* Expect a close frame with code (and no more). */
static void
expect_close(int fd, unsigned int code)
{
	struct mr_ws_frame_hdr h;
	uint8_t p[MR_WS_CONTROL_MAX];

	assert_int_equal(cread(fd, &h, p, sizeof(p)), 0);
	assert_int_equal(h.opcode, MR_WS_OP_CLOSE);
	assert_true(h.len >= 2);
	assert_int_equal((unsigned int)p[0] << 8 | p[1], code);
}

static void
test_conn_echo_ping(void **state)
{
	struct mr_ws_frame_hdr h;
	struct mr_ws_stats st;
	uint8_t p[4096];
	struct tctx t;
	int fd;

	(void)state;
	tctx_init(&t, &def_lim);
	t.echo = 1;
	pair(&t, &fd, NULL, 0);
	assert_int_equal(t.opens, 1);
	assert_int_equal(mr_ws_get_user(t.conn[0]), (void *)1);

	csend(fd, 1, MR_WS_OP_TEXT, "hello", 5);
	pump(&t);
	assert_int_equal(t.messages, 1);
	assert_string_equal(t.last_msg, "hello");
	assert_int_equal(cread(fd, &h, p, sizeof(p)), 0);
	assert_int_equal(h.opcode, MR_WS_OP_TEXT);
	assert_int_equal(h.fin, 1);
	assert_int_equal(h.len, 5);
	assert_memory_equal(p, "hello", 5);

	/* §5.5.2: the pong carries the ping's data. */
	csend(fd, 1, MR_WS_OP_PING, "abc", 3);
	pump(&t);
	assert_int_equal(cread(fd, &h, p, sizeof(p)), 0);
	assert_int_equal(h.opcode, MR_WS_OP_PONG);
	assert_int_equal(h.len, 3);
	assert_memory_equal(p, "abc", 3);

	/* A fragmented message with a ping in between, sent in one write. */
	{
		uint8_t b[256];
		size_t n = 0;

		n += cframe(b + n, 0, MR_WS_OP_TEXT, "frag", 4);
		n += cframe(b + n, 1, MR_WS_OP_PING, "", 0);
		n += cframe(b + n, 1, MR_WS_OP_CONT, "ment", 4);
		assert_int_equal(write(fd, b, n), (ssize_t)n);
	}
	pump(&t);
	assert_int_equal(cread(fd, &h, p, sizeof(p)), 0);
	assert_int_equal(h.opcode, MR_WS_OP_PONG);
	assert_int_equal(h.len, 0);
	assert_int_equal(cread(fd, &h, p, sizeof(p)), 0);
	assert_int_equal(h.opcode, MR_WS_OP_TEXT);
	assert_int_equal(h.len, 8);
	assert_memory_equal(p, "fragment", 8);

	/* A message of 3000 bytes: 16-bit length both ways. */
	memset(p, 'z', 3000);
	csend(fd, 1, MR_WS_OP_TEXT, p, 3000);
	pump(&t);
	memset(p, 0, 3000);
	assert_int_equal(cread(fd, &h, p, sizeof(p)), 0);
	assert_int_equal(h.len, 3000);
	assert_int_equal(p[0], 'z');
	assert_int_equal(p[2999], 'z');

	/* Not UTF-8: refused on the way out. */
	assert_int_equal(mr_ws_send_text(t.conn[0], "\xc0\x80", 2), -EINVAL);

	mr_ws_server_stats(t.s, &st);
	assert_int_equal(st.connections, 1);
	assert_int_equal(st.accepted, 1);
	assert_int_equal(st.rx_messages, 3);
	assert_int_equal(st.tx_messages, 3);
	assert_true(st.rx_bytes > 3000);
	assert_true(st.tx_bytes > 3000);
	mr_ws_server_free(t.s);
	assert_int_equal(t.closes, 1);
	assert_string_equal(t.last_reason, "shutdown");
	expect_close(fd, MR_WS_CLOSE_GOING_AWAY);
	assert_true(ceof(fd));
	close(fd);
}

static void
test_conn_client_close(void **state)
{
	struct mr_ws_frame_hdr h;
	struct mr_ws_stats st;
	uint8_t p[MR_WS_CONTROL_MAX], cl[MR_WS_CONTROL_MAX];
	struct tctx t;
	int fd;

	(void)state;
	tctx_init(&t, &def_lim);
	pair(&t, &fd, NULL, 0);
	csend(fd, 1, MR_WS_OP_CLOSE, cl, mr_ws_close_build(cl, 1000, "bye"));
	pump(&t);
	/* §5.5.1: echoed with the same code, then the server closes TCP first. */
	assert_int_equal(cread(fd, &h, p, sizeof(p)), 0);
	assert_int_equal(h.opcode, MR_WS_OP_CLOSE);
	assert_int_equal(h.len, 2);
	assert_memory_equal(p, "\x03\xe8", 2);
	assert_true(ceof(fd));
	assert_int_equal(t.closes, 1);
	assert_string_equal(t.last_reason, "closed");
	mr_ws_server_stats(t.s, &st);
	assert_int_equal(st.connections, 0);
	close(fd);

	/* A close frame without a code is answered without one. */
	pair(&t, &fd, NULL, 0);
	csend(fd, 1, MR_WS_OP_CLOSE, "", 0);
	pump(&t);
	assert_int_equal(cread(fd, &h, p, sizeof(p)), 0);
	assert_int_equal(h.opcode, MR_WS_OP_CLOSE);
	assert_int_equal(h.len, 0);
	assert_true(ceof(fd));
	assert_int_equal(t.closes, 2);
	close(fd);

	/* Vanishing without a close frame. */
	pair(&t, &fd, NULL, 0);
	close(fd);
	pump(&t);
	assert_int_equal(t.closes, 3);
	assert_string_equal(t.last_reason, "eof");
	mr_ws_server_free(t.s);
	assert_int_equal(t.closes, 3);
}

static void
test_conn_server_close(void **state)
{
	struct mr_ws_frame_hdr h;
	uint8_t p[MR_WS_CONTROL_MAX], cl[MR_WS_CONTROL_MAX];
	struct tctx t;
	int fd;

	(void)state;
	tctx_init(&t, &def_lim);
	t.echo = 1;
	pair(&t, &fd, NULL, 0);
	mr_ws_close(t.conn[0], 4000, "done");
	assert_int_equal(mr_ws_send_text(t.conn[0], "late", 4), -EPIPE);
	assert_int_equal(cread(fd, &h, p, sizeof(p)), 0);
	assert_int_equal(h.opcode, MR_WS_OP_CLOSE);
	assert_int_equal(h.len, 6);
	assert_memory_equal(p, "\x0f\xa0" "done", 6);
	/* Data after our close frame is not delivered; the peer's close ends it. */
	csend(fd, 1, MR_WS_OP_TEXT, "ignored", 7);
	pump(&t);
	assert_int_equal(t.messages, 0);
	assert_int_equal(t.closes, 0);
	csend(fd, 1, MR_WS_OP_CLOSE, cl, mr_ws_close_build(cl, 4000, ""));
	pump(&t);
	assert_int_equal(t.closes, 1);
	assert_string_equal(t.last_reason, "closed");
	assert_true(ceof(fd));
	close(fd);

	/* A peer that does not answer is dropped after 2 s. */
	pair(&t, &fd, NULL, 0);
	mr_ws_close(t.conn[1], 1000, NULL);
	expect_close(fd, 1000);
	t.t += 1999;
	pump(&t);
	assert_int_equal(t.closes, 1);
	assert_int_equal(mr_ws_server_next_timeout(t.s, t.t), 1);
	t.t += 1;
	pump(&t);
	assert_int_equal(t.closes, 2);
	assert_string_equal(t.last_reason, "closed");
	assert_true(ceof(fd));
	close(fd);
	assert_int_equal(mr_ws_server_next_timeout(t.s, t.t), -1);
	mr_ws_server_free(t.s);
	assert_int_equal(t.closes, 2);
}

/* The peer breaks RFC 6455: a close frame with the code, our FIN, then its FIN ends it. */
static void
protocol_case(const uint8_t *bytes, size_t n, unsigned int code)
{
	struct mr_ws_stats st;
	struct tctx t;
	int fd;

	tctx_init(&t, &def_lim);
	t.echo = 1;
	pair(&t, &fd, NULL, 0);
	assert_int_equal(write(fd, bytes, n), (ssize_t)n);
	pump(&t);
	expect_close(fd, code);
	assert_true(ceof(fd));
	assert_int_equal(t.messages, 0);
	assert_int_equal(t.closes, 0);
	close(fd);
	pump(&t);
	assert_int_equal(t.closes, 1);
	assert_string_equal(t.last_reason, "protocol");
	mr_ws_server_stats(t.s, &st);
	assert_int_equal(st.protocol_errors, 1);
	mr_ws_server_free(t.s);
	assert_int_equal(t.closes, 1);
}

static void
test_conn_protocol_errors(void **state)
{
	uint8_t b[8192], big[5000];
	size_t n;

	(void)state;
	protocol_case((const uint8_t *)"\x81\x02hi", 4, MR_WS_CLOSE_PROTOCOL);	/* unmasked */
	n = cframe(b, 1, MR_WS_OP_TEXT, "\xed\xa0\x80", 3);
	protocol_case(b, n, MR_WS_CLOSE_INVALID_DATA);
	memset(big, 'x', sizeof(big));
	n = cframe(b, 1, MR_WS_OP_TEXT, big, sizeof(big));
	protocol_case(b, n, MR_WS_CLOSE_TOO_BIG);
	n = cframe(b, 1, MR_WS_OP_BINARY, "bin", 3);
	protocol_case(b, n, MR_WS_CLOSE_UNSUPPORTED);
	n = cframe(b, 1, MR_WS_OP_CONT, "x", 1);
	protocol_case(b, n, MR_WS_CLOSE_PROTOCOL);
	n = cframe(b, 1, MR_WS_OP_CLOSE, "\x03\xed", 2);	/* 1005 is never sent */
	protocol_case(b, n, MR_WS_CLOSE_PROTOCOL);
	n = cframe(b, 1, MR_WS_OP_CLOSE, "\x03\xe8\xff", 3);
	protocol_case(b, n, MR_WS_CLOSE_INVALID_DATA);
	protocol_case((const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18, MR_WS_CLOSE_PROTOCOL);
}

static void
test_conn_garbage(void **state)
{
	struct mr_ws_stats st;
	uint8_t cl[MR_WS_CONTROL_MAX];
	struct tctx t;
	int fd;

	(void)state;
	tctx_init(&t, &def_lim);	/* max_errors 2 */
	t.count_garbage = 1;
	pair(&t, &fd, NULL, 0);
	csend(fd, 1, MR_WS_OP_TEXT, "{bad", 4);
	pump(&t);
	assert_int_equal(t.error_ret, 0);
	csend(fd, 1, MR_WS_OP_TEXT, "ok", 2);
	csend(fd, 1, MR_WS_OP_TEXT, "[", 1);
	pump(&t);
	assert_int_equal(t.error_ret, 0);
	assert_int_equal(t.messages, 3);
	csend(fd, 1, MR_WS_OP_TEXT, "nope", 4);
	pump(&t);
	assert_int_equal(t.error_ret, -ECONNABORTED);
	expect_close(fd, MR_WS_CLOSE_POLICY);
	assert_int_equal(t.closes, 0);
	csend(fd, 1, MR_WS_OP_CLOSE, cl, mr_ws_close_build(cl, 1008, ""));
	pump(&t);
	assert_int_equal(t.closes, 1);
	assert_string_equal(t.last_reason, "errors");
	assert_true(ceof(fd));
	mr_ws_server_stats(t.s, &st);
	assert_int_equal(st.app_errors, 3);
	close(fd);
	mr_ws_server_free(t.s);
}

static void
test_conn_slow(void **state)
{
	struct mr_ws_limits lim = def_lim;
	struct mr_ws_stats st;
	char msg[1024];
	struct tctx t;
	int fd, i, ret = 0, sv[2], small = 4096;

	(void)state;
	lim.max_sendbuf = 16384;
	tctx_init(&t, &lim);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	assert_int_equal(mr_ws_server_adopt_fd(t.s, sv[1], NULL, 0), 0);
	fd = sv[0];
	memset(msg, 'm', sizeof(msg));
	/* The client never reads: the socket fills, then our queue. */
	for (i = 0; i < 10000; i++) {
		ret = mr_ws_send_text(t.conn[0], msg, sizeof(msg));
		if (ret != 0)
			break;
		pump(&t);
	}
	assert_int_equal(ret, -ENOBUFS);
	assert_true(i > 16);	/* at least max_sendbuf went into the queue */
	/* on_close comes from the poll loop, not from within mr_ws_send_text. */
	assert_int_equal(t.closes, 0);
	assert_int_equal(mr_ws_send_text(t.conn[0], "x", 1), -ENOTCONN);
	pump(&t);
	assert_int_equal(t.closes, 1);
	assert_string_equal(t.last_reason, "slow");
	mr_ws_server_stats(t.s, &st);
	assert_int_equal(st.slow, 1);
	assert_int_equal(st.connections, 0);
	/* The client finds the end of the stream after what was sent. */
	{
		char b[65536];
		ssize_t r;
		size_t total = 0;

		while ((r = read(fd, b, sizeof(b))) > 0)
			total += (size_t)r;
		assert_int_equal(r, 0);
		assert_true(total > 0);
	}
	close(fd);
	mr_ws_server_free(t.s);
	assert_int_equal(t.closes, 1);
}

/* Nothing is closed until ms - 1 more milliseconds have passed; at ms one connection is,
 * for "timeout". */
static void
expect_timeout_in(struct tctx *t, uint64_t ms)
{
	unsigned int closes = t->closes;

	t->t += ms - 1;
	pump(t);
	assert_int_equal(t->closes, closes);
	t->t += 1;
	pump(t);
	assert_int_equal(t->closes, closes + 1);
	assert_string_equal(t->last_reason, "timeout");
}

static void
test_conn_idle_timeout(void **state)
{
	struct mr_ws_limits lim = def_lim;
	struct mr_ws_frame_hdr h;
	struct mr_ws_stats st;
	uint8_t p[MR_WS_CONTROL_MAX];
	struct tctx t;
	int fd, fd2;

	(void)state;
	lim.idle_timeout_ms = 1000;
	tctx_init(&t, &lim);
	pump(&t);
	pair(&t, &fd, NULL, 0);
	pair(&t, &fd2, NULL, 0);
	assert_int_equal(mr_ws_server_next_timeout(t.s, t.t), 1000);
	t.t += 500;
	/* A ping counts as life. */
	csend(fd, 1, MR_WS_OP_PING, "", 0);
	pump(&t);
	assert_int_equal(cread(fd, &h, p, sizeof(p)), 0);
	/* fd2 said nothing for 1000 ms. */
	expect_timeout_in(&t, 500);
	assert_null(t.conn[1]);
	assert_non_null(t.conn[0]);
	expect_close(fd2, MR_WS_CLOSE_GOING_AWAY);
	assert_true(ceof(fd2));
	expect_timeout_in(&t, 500);
	mr_ws_server_stats(t.s, &st);
	assert_int_equal(st.timeouts, 2);
	close(fd);
	close(fd2);
	mr_ws_server_free(t.s);
	assert_int_equal(t.closes, 2);
}

/* A connection adopted after a quiet spell longer than the idle timeout (nothing polled the
 * server meanwhile) gets the whole timeout from when the loop set the clock, not from the
 * last poll: the control loop calls mr_ws_server_set_now() before upgrades. */
static void
test_conn_idle_after_quiet(void **state)
{
	struct mr_ws_limits lim = def_lim;
	struct tctx t;
	int fd;

	(void)state;
	lim.idle_timeout_ms = 1000;
	tctx_init(&t, &lim);
	pump(&t);
	t.t += 60000;
	mr_ws_server_set_now(t.s, t.t);
	mr_ws_server_set_now(t.s, t.t - 5000);		/* never back */
	pair(&t, &fd, NULL, 0);
	assert_int_equal(mr_ws_server_next_timeout(t.s, t.t), 1000);
	pump(&t);
	assert_int_equal(t.closes, 0);
	expect_timeout_in(&t, 1000);
	close(fd);
	mr_ws_server_free(t.s);
}

/* A connection that pings but never joins (mr_ws_admit) is closed with 1008 at its join
 * deadline, however alive it keeps itself; one that was admitted stays. */
static void
test_conn_join_deadline(void **state)
{
	struct mr_ws_limits lim = def_lim;
	struct mr_ws_stats st;
	struct tctx t;
	int fd, fd2, i;

	(void)state;
	lim.idle_timeout_ms = 1000;
	lim.join_timeout_ms = 3000;
	tctx_init(&t, &lim);
	pair(&t, &fd, NULL, 0);
	pair(&t, &fd2, NULL, 0);
	mr_ws_admit(t.conn[1]);
	assert_int_equal(mr_ws_server_next_timeout(t.s, t.t), 1000);
	for (i = 0; i < 5; i++) {
		struct mr_ws_frame_hdr h;
		uint8_t p[MR_WS_CONTROL_MAX];

		t.t += 500;
		csend(fd, 1, MR_WS_OP_PING, "x", 1);
		csend(fd2, 1, MR_WS_OP_PING, "y", 1);
		pump(&t);
		assert_int_equal(t.closes, 0);
		assert_int_equal(cread(fd, &h, p, sizeof(p)), 0);
		assert_int_equal(h.opcode, MR_WS_OP_PONG);
		assert_int_equal(cread(fd2, &h, p, sizeof(p)), 0);
	}
	/* 2500 ms in: the deadline is the join's, not the idle timeout's. */
	assert_int_equal(mr_ws_server_next_timeout(t.s, t.t), 500);
	t.t += 500;
	pump(&t);
	expect_close(fd, MR_WS_CLOSE_POLICY);
	csend(fd, 1, MR_WS_OP_CLOSE, "\x03\xf0", 2);
	pump(&t);
	assert_int_equal(t.closes, 1);
	assert_string_equal(t.last_reason, "join_timeout");
	assert_non_null(t.conn[1]);
	mr_ws_server_stats(t.s, &st);
	assert_int_equal(st.join_timeouts, 1);
	assert_int_equal(st.connections, 1);
	close(fd);
	close(fd2);
	mr_ws_server_free(t.s);
}

static void
test_conn_limits_extra(void **state)
{
	struct mr_ws_limits lim = def_lim;
	struct mr_ws_frame_hdr h;
	uint8_t b[256], p[256];
	struct tctx t;
	int fds[3], sv[2];
	size_t n;

	(void)state;
	lim.max_connections = 2;
	tctx_init(&t, &lim);
	t.echo = 1;
	/* Frames that came right behind the handshake are served at once. */
	n = cframe(b, 1, MR_WS_OP_TEXT, "early", 5);
	n += cframe(b + n, 0, MR_WS_OP_TEXT, "par", 3);
	pair(&t, &fds[0], b, n);
	assert_int_equal(t.messages, 1);
	assert_string_equal(t.last_msg, "early");
	csend(fds[0], 1, MR_WS_OP_CONT, "tial", 4);
	pump(&t);
	assert_int_equal(t.messages, 2);
	assert_string_equal(t.last_msg, "partial");
	assert_int_equal(cread(fds[0], &h, p, sizeof(p)), 0);
	assert_int_equal(h.len, 5);
	assert_int_equal(cread(fds[0], &h, p, sizeof(p)), 0);
	assert_int_equal(h.len, 7);

	pair(&t, &fds[1], NULL, 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(mr_ws_server_adopt_fd(t.s, sv[1], NULL, 0), -EBUSY);
	assert_int_equal(t.opens, 2);
	close(sv[0]);
	close(sv[1]);
	/* A slot frees when a connection ends (on_close delivered). */
	close(fds[1]);
	pump(&t);
	pair(&t, &fds[2], NULL, 0);
	assert_int_equal(t.opens, 3);
	mr_ws_server_free(t.s);
	assert_int_equal(t.closes, 3);
	close(fds[0]);
	close(fds[2]);
}

/* Callbacks that act on other connections: a message to A makes the server send to B,
 * which is slow and goes; B's on_close comes later, never inside mr_ws_send_text. */
static struct tctx *bcast_t;
static int bcast_ret[MAX_CONNS];

static void
bcast_message(struct mr_ws_conn *c, const char *text, size_t len, void *arg)
{
	struct tctx *t = arg;
	static char big[8192];

	(void)c;
	(void)text;
	(void)len;
	memset(big, 'b', sizeof(big));
	for (int i = 0; i < MAX_CONNS; i++)
		if (t->conn[i] != NULL)
			bcast_ret[i] = mr_ws_send_text(t->conn[i], big, sizeof(big));
	assert_int_equal(t->closes, 0);
}

static void
test_conn_reentry(void **state)
{
	struct mr_ws_handler hb = handler;
	struct mr_ws_limits lim = def_lim;
	struct tctx t;
	int a, b, sv[2], small = 4096;

	(void)state;
	hb.on_message = bcast_message;
	lim.max_sendbuf = 8192 + 16;
	memset(&t, 0, sizeof(t));
	t.s = mr_ws_server_create(&lim, &hb, &t);
	assert_non_null(t.s);
	bcast_t = &t;
	pair(&t, &a, NULL, 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	assert_int_equal(mr_ws_server_adopt_fd(t.s, sv[1], NULL, 0), 0);
	b = sv[0];
	/* Two messages to A in one read: the second broadcast finds B's queue full. */
	{
		uint8_t buf[64];
		size_t n = cframe(buf, 1, MR_WS_OP_TEXT, "1", 1);

		n += cframe(buf + n, 1, MR_WS_OP_TEXT, "2", 1);
		n += cframe(buf + n, 1, MR_WS_OP_TEXT, "3", 1);
		assert_int_equal(write(a, buf, n), (ssize_t)n);
	}
	mr_ws_server_poll(t.s, mono_ms());
	assert_int_equal(t.closes, 1);
	assert_string_equal(t.last_reason, "slow");
	assert_null(t.conn[1]);
	assert_non_null(t.conn[0]);
	mr_ws_server_free(t.s);
	assert_int_equal(t.closes, 2);
	close(a);
	close(b);
}

static long
rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Memory per idle connection: RSS over 10,000 socketpair connections that each got and
 * answered one message (so that their buffers existed once and were given back). */
#define MEM_CONNS 10000

static void
test_conn_memory(void **state)
{
	struct mr_ws_limits lim = def_lim;
	struct rlimit rl;
	struct tctx t;
	static int cli[MEM_CONNS];
	long before, after;
	uint8_t b[64];
	size_t n;
	int sv[2], nconn;

	(void)state;
	/* Two descriptors a connection: as many as the hard limit allows, up to MEM_CONNS. */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		skip();
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	nconn = rl.rlim_cur > 2 * MEM_CONNS + 100 ? MEM_CONNS : ((int)rl.rlim_cur - 100) / 2;
	if (nconn < 1000) {
		print_message("memory test skipped: RLIMIT_NOFILE too low\n");
		skip();
	}
	lim.max_connections = nconn;
	tctx_init(&t, &lim);
	t.echo = 1;
	n = cframe(b, 1, MR_WS_OP_TEXT, "{\"hello\":1}", 11);
	before = rss_kib();
	for (int i = 0; i < nconn; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		assert_int_equal(mr_ws_server_adopt_fd(t.s, sv[1], b, n), 0);
		cli[i] = sv[0];
	}
	pump(&t);
	after = rss_kib();
	assert_int_equal(t.messages, nconn);
	print_message("ws memory: %ld KiB RSS for %d idle connections, %ld bytes each\n",
		      after - before, nconn, (after - before) * 1024 / nconn);
	/* The target: <= 4 KiB per idle connection. */
	assert_true((after - before) * 1024 / nconn <= 4096);
	mr_ws_server_free(t.s);
	assert_int_equal(t.closes, nconn);
	for (int i = 0; i < nconn; i++)
		close(cli[i]);
}

/* ---- end to end through libmicrohttpd ---- */

struct e2e {
	struct MHD_Daemon *d;
	int mhd_epfd;
	uint16_t port;
	struct tctx t;
};

static enum MHD_Result
e2e_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	   const char *version, const char *upload_data, size_t *upload_data_size,
	   void **con_cls)
{
	struct e2e *e = cls;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	/* Like api.c: decided on the first call, from the request line and headers. */
	if (strcmp(url, "/v1/ws") != 0 || strcmp(method, "GET") != 0)
		return MHD_NO;
	return mr_ws_accept(e->t.s, conn);
}

static void
e2e_start(struct e2e *e, const struct mr_ws_limits *lim)
{
	const union MHD_DaemonInfo *info;
	struct sockaddr_in sin;

	memset(e, 0, sizeof(*e));
	tctx_init(&e->t, lim);
	e->t.echo = 1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	e->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG, 0, NULL,
				NULL, e2e_access, e, MHD_OPTION_SOCK_ADDR, &sin,
				MHD_OPTION_CONNECTION_LIMIT, 16u,
				MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	assert_non_null(e->d);
	info = MHD_get_daemon_info(e->d, MHD_DAEMON_INFO_EPOLL_FD);
	assert_non_null(info);
	e->mhd_epfd = info->epoll_fd;
	info = MHD_get_daemon_info(e->d, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	e->port = info->port;
	assert_true(e->port != 0);
}

/* One turn of a control loop: both epoll sets, as the daemon's loop will poll them. */
static void
e2e_turn(struct e2e *e, int wait_ms)
{
	struct pollfd p[2] = {
		{ .fd = e->mhd_epfd, .events = POLLIN },
		{ .fd = mr_ws_server_fd(e->t.s), .events = POLLIN },
	};
	MHD_UNSIGNED_LONG_LONG to;

	if (MHD_get_timeout(e->d, &to) == MHD_YES && to < (MHD_UNSIGNED_LONG_LONG)wait_ms)
		wait_ms = (int)to;
	poll(p, 2, wait_ms);
	MHD_run(e->d);
	e->t.t = mono_ms();
	mr_ws_server_poll(e->t.s, e->t.t);
}

static unsigned int
e2e_mhd_conns(struct e2e *e)
{
	const union MHD_DaemonInfo *info;

	info = MHD_get_daemon_info(e->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	assert_non_null(info);
	return info->num_connections;
}

static void
e2e_stop(struct e2e *e)
{
	mr_ws_server_free(e->t.s);
	MHD_stop_daemon(e->d);
}

static int
tcp_connect(uint16_t port)
{
	struct sockaddr_in sin;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* Drive the loop until the client fd has the end of an HTTP head; read exactly the head
 * (what follows, frames or a body, stays in the socket). Returns its length. */
static size_t
e2e_read_head(struct e2e *e, int fd, char *buf, size_t cap)
{
	for (int i = 0; i < 1000; i++) {
		const char *end;
		ssize_t r;

		e2e_turn(e, 5);
		r = recv(fd, buf, cap - 1, MSG_DONTWAIT | MSG_PEEK);
		if (r == 0)
			break;
		if (r < 0)
			continue;
		buf[r] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end != NULL) {
			size_t n = (size_t)(end + 4 - buf);

			assert_int_equal(recv(fd, buf, n, 0), (ssize_t)n);
			buf[n] = '\0';
			return n;
		}
	}
	buf[0] = '\0';
	return 0;
}

static const char *
e2e_hs(const char *extra_hdrs)
{
	static char req[1024];

	snprintf(req, sizeof(req),
		 "GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", extra_hdrs);
	return req;
}

#define GOOD_HDRS "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" \
	"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"

static void e2e_refused(struct e2e *e, const char *hdrs, const char *status,
			const char *body, const char *hdr);

static void
test_e2e_mhd(void **state)
{
	struct mr_ws_limits lim = def_lim;
	struct mr_ws_frame_hdr h;
	char buf[4096];
	uint8_t frame[128], p[256];
	const char *req;
	struct e2e e;
	size_t n;
	int fd;

	(void)state;
	lim.max_connections = 1;
	e2e_start(&e, &lim);

	/* The handshake with a first frame right behind it, in one write. */
	fd = tcp_connect(e.port);
	req = e2e_hs(GOOD_HDRS);
	n = strlen(req);
	memcpy(buf, req, n);
	n += cframe((uint8_t *)buf + n, 1, MR_WS_OP_TEXT, "first", 5);
	assert_int_equal(write(fd, buf, n), (ssize_t)n);
	n = e2e_read_head(&e, fd, buf, sizeof(buf));
	assert_true(n > 0);
	assert_non_null(strstr(buf, "HTTP/1.1 101 Switching Protocols\r\n"));
	assert_non_null(strstr(buf, "\r\nUpgrade: websocket\r\n"));
	assert_non_null(strstr(buf, "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
	assert_non_null(strstr(buf, "\r\nConnection: Upgrade\r\n"));
	for (int i = 0; i < 400 && e.t.messages == 0; i++)
		e2e_turn(&e, 5);
	assert_int_equal(e.t.opens, 1);
	assert_int_equal(e.t.messages, 1);
	assert_string_equal(e.t.last_msg, "first");
	/* libmicrohttpd let go of the connection... */
	for (int i = 0; i < 400 && e2e_mhd_conns(&e) != 0; i++)
		e2e_turn(&e, 5);
	assert_int_equal(e2e_mhd_conns(&e), 0);
	/* ...and the TCP connection lives on with us. */
	assert_int_equal(cread(fd, &h, p, sizeof(p)), 0);
	assert_int_equal(h.opcode, MR_WS_OP_TEXT);
	assert_int_equal(h.len, 5);
	assert_memory_equal(p, "first", 5);
	n = cframe(frame, 1, MR_WS_OP_TEXT, "second", 6);
	assert_int_equal(write(fd, frame, n), (ssize_t)n);
	for (int i = 0; i < 400 && e.t.messages < 2; i++)
		e2e_turn(&e, 5);
	assert_int_equal(e.t.messages, 2);
	assert_int_equal(cread(fd, &h, p, sizeof(p)), 0);
	assert_int_equal(h.len, 6);
	assert_memory_equal(p, "second", 6);

	/* Full (max_connections 1): 503 before upgrading. */
	e2e_refused(&e, GOOD_HDRS, "HTTP/1.1 503 ",
		    "{\"error\":\"websocket: too many connections\"}", NULL);

	/* The close handshake over TCP. */
	{
		uint8_t cl[MR_WS_CONTROL_MAX];

		n = cframe(frame, 1, MR_WS_OP_CLOSE, cl, mr_ws_close_build(cl, 1000, ""));
		assert_int_equal(write(fd, frame, n), (ssize_t)n);
		for (int i = 0; i < 400 && e.t.closes == 0; i++)
			e2e_turn(&e, 5);
		assert_int_equal(e.t.closes, 1);
		assert_string_equal(e.t.last_reason, "closed");
		expect_close(fd, 1000);
		assert_true(ceof(fd));
		close(fd);
	}
	e2e_stop(&e);
}

static void
e2e_refused(struct e2e *e, const char *hdrs, const char *status, const char *body,
	    const char *hdr)
{
	char buf[4096];
	const char *req = e2e_hs(hdrs);
	int fd = tcp_connect(e->port);

	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	e2e_read_head(e, fd, buf, sizeof(buf));
	/* The body follows the head; give it a moment. */
	for (int i = 0; i < 400 && strstr(buf, body) == NULL; i++) {
		size_t n = strlen(buf);
		ssize_t r;

		e2e_turn(e, 5);
		r = recv(fd, buf + n, sizeof(buf) - 1 - n, MSG_DONTWAIT);
		if (r > 0)
			buf[n + (size_t)r] = '\0';
	}
	if (strstr(buf, status) == NULL || strstr(buf, body) == NULL ||
	    (hdr != NULL && strstr(buf, hdr) == NULL))
		fail_msg("for %s: got %s", hdrs, buf);
	assert_null(strstr(buf, "Sec-WebSocket-Accept"));
	close(fd);
}

static void
test_e2e_bad_handshakes(void **state)
{
	struct mr_ws_stats st;
	struct e2e e;

	(void)state;
	e2e_start(&e, &def_lim);
	e2e_refused(&e, "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
		    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
		    "HTTP/1.1 400 ", "\"upgrade: header must be 'websocket'\"", NULL);
	e2e_refused(&e, "Upgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
		    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
		    "HTTP/1.1 400 ", "upgrade: header", NULL);
	e2e_refused(&e, "Upgrade: WebSocket\r\nConnection: keep-alive\r\n"
		    "Sec-WebSocket-Version: 13\r\n"
		    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
		    "HTTP/1.1 400 ", "\"connection: header must contain 'Upgrade'\"", NULL);
	e2e_refused(&e, "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Version: 8\r\n"
		    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
		    "HTTP/1.1 426 ", "sec-websocket-version: must be 13",
		    "\r\nSec-WebSocket-Version: 13\r\n");
	e2e_refused(&e, "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
		    "HTTP/1.1 426 ", "sec-websocket-version", "Sec-WebSocket-Version: 13");
	e2e_refused(&e, "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Version: 13\r\n",
		    "HTTP/1.1 400 ", "sec-websocket-key: must be the base64 of 16 bytes", NULL);
	e2e_refused(&e, "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: c2hvcnQ=\r\n",
		    "HTTP/1.1 400 ", "sec-websocket-key", NULL);
	/* Case and token lists are fine. */
	{
		char buf[4096];
		const char *req = e2e_hs("upgrade: WebSocket\r\nconnection: Keep-Alive ,upgrade\r\n"
					 "sec-websocket-version: 13\r\n"
					 "sec-websocket-key: AAAAAAAAAAAAAAAAAAAAAA==\r\n");
		int fd = tcp_connect(e.port);

		assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
		e2e_read_head(&e, fd, buf, sizeof(buf));
		assert_non_null(strstr(buf, "HTTP/1.1 101 "));
		assert_non_null(strstr(buf, "Sec-WebSocket-Accept: ICX+Yqv66kxgM0FcWaLWlFLwTAI="));
		close(fd);
		for (int i = 0; i < 400 && e.t.closes == 0; i++)
			e2e_turn(&e, 5);
		assert_int_equal(e.t.closes, 1);
		assert_string_equal(e.t.last_reason, "eof");
	}
	/* RFC 6455 §4.1 and libmicrohttpd: HTTP/1.1 only. */
	{
		static const char req[] = "GET /v1/ws HTTP/1.0\r\n" GOOD_HDRS "\r\n";
		char buf[4096];
		int fd = tcp_connect(e.port);

		assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
		e2e_read_head(&e, fd, buf, sizeof(buf));
		assert_non_null(strstr(buf, " 400 "));
		close(fd);
	}
	mr_ws_server_stats(e.t.s, &st);
	assert_int_equal(st.refused, 8);
	assert_int_equal(st.accepted, 1);
	e2e_stop(&e);
}

/* An independent client: python3-websockets (Debian's python3-websockets), when there. */
static void
test_e2e_python(void **state)
{
	static const char script[] =
		"import asyncio, sys, websockets\n"
		"async def main():\n"
		"    async with websockets.connect('ws://127.0.0.1:%s/v1/ws') as ws:\n"
		"        await ws.send('hello from python')\n"
		"        assert await ws.recv() == 'hello from python'\n"
		"        big = 'x' * 70000\n"
		"        await ws.send(big)\n"
		"        assert await ws.recv() == big\n"
		"        pong = await ws.ping(b'pp')\n"
		"        await asyncio.wait_for(pong, 5)\n"
		"    assert ws.close_code == 1000, ws.close_code\n"
		"asyncio.run(asyncio.wait_for(main(), 10))\n";
	struct mr_ws_limits lim = def_lim;
	char port[16], code[1024];
	struct e2e e;
	pid_t pid;
	int status = -1;

	(void)state;
	if (access("/usr/bin/python3", X_OK) != 0 ||
	    system("/usr/bin/python3 -c 'import websockets' 2>/dev/null") != 0) {
		print_message("python3-websockets not installed: skipped\n");
		skip();
	}
	lim.max_message = 100000;
	lim.max_sendbuf = 200000;
	e2e_start(&e, &lim);
	snprintf(port, sizeof(port), "%u", e.port);
	snprintf(code, sizeof(code), script, port);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/usr/bin/python3", "python3", "-c", code, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 3000; i++) {
		e2e_turn(&e, 5);
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
	}
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("python client did not finish");
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	for (int i = 0; i < 400 && e.t.closes == 0; i++)
		e2e_turn(&e, 5);
	assert_int_equal(e.t.messages, 2);
	assert_int_equal(e.t.closes, 1);
	assert_string_equal(e.t.last_reason, "closed");
	e2e_stop(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_examples),
		cmocka_unit_test(test_frame_lengths),
		cmocka_unit_test(test_frame_malformed),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_close_payload),
		cmocka_unit_test(test_accept_key),
		cmocka_unit_test(test_rx_basic),
		cmocka_unit_test(test_rx_long),
		cmocka_unit_test(test_rx_fragments),
		cmocka_unit_test(test_rx_errors),
		cmocka_unit_test(test_conn_echo_ping),
		cmocka_unit_test(test_conn_client_close),
		cmocka_unit_test(test_conn_server_close),
		cmocka_unit_test(test_conn_protocol_errors),
		cmocka_unit_test(test_conn_garbage),
		cmocka_unit_test(test_conn_slow),
		cmocka_unit_test(test_conn_idle_timeout),
		cmocka_unit_test(test_conn_idle_after_quiet),
		cmocka_unit_test(test_conn_join_deadline),
		cmocka_unit_test(test_conn_limits_extra),
		cmocka_unit_test(test_conn_reentry),
		cmocka_unit_test(test_conn_memory),
		cmocka_unit_test(test_e2e_mhd),
		cmocka_unit_test(test_e2e_bad_handshakes),
		cmocka_unit_test(test_e2e_python),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
