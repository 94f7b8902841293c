/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer harness for the WebSocket receiver (controlplane/api/ws_frame.c): the input is the
 * byte stream a client sends after the handshake, fed in pieces whose sizes come from the
 * input itself. Besides memory safety it checks that every call consumes what it says and no
 * more, that an event's data lies inside the message limit, that a text message is valid
 * UTF-8, and that an error maps to a close code of RFC 6455 §7.4.1.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)
#define MAX_MESSAGE 4096

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mr_ws_rx rx;
	struct mr_ws_event ev;
	size_t pos = 1, step;
	uint8_t *p;
	int r = 0;

	if (size < 1)
		return 0;
	step = (size_t)(data[0] % 17) + 1;	/* how the stream is cut into reads */
	p = malloc(size);
	if (p == NULL)
		return 0;
	memcpy(p, data, size);
	mr_ws_rx_init(&rx, MAX_MESSAGE);
	while (pos < size) {
		size_t n = size - pos < step ? size - pos : step, off = 0;

		while (off < n) {
			size_t used = 0, left = n - off;

			r = mr_ws_rx_feed(&rx, p + pos + off, left, &used, &ev);
			if (r < 0)
				break;
			CHECK(used <= left);
			off += used;
			if (ev.type == MR_WS_EV_MESSAGE) {
				CHECK(ev.len <= MAX_MESSAGE);
				if (ev.opcode == 0x1)
					CHECK(mr_ws_utf8_valid(ev.data, ev.len));
			} else if (ev.type == MR_WS_EV_CONTROL) {
				CHECK(ev.len <= 125);
			} else {
				/* Nothing complete: everything was taken. */
				CHECK(used == left);
			}
		}
		if (r < 0) {
			unsigned int code = mr_ws_rx_close_code(r);

			CHECK(code == 1002 || code == 1007 || code == 1009 || code == 1003 ||
			      code == 1008 || code == 1011);
			break;
		}
		pos += n;
		mr_ws_rx_trim(&rx);
	}
	mr_ws_rx_release(&rx);
	free(p);
	return 0;
}
