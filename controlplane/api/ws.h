/* SPDX-License-Identifier: BSD-3-Clause
 * WebSocket (RFC 6455) for the signaling channel at /v1/ws.
 *
 * Two layers:
 * - framing (ws_frame.c, pure, no libmicrohttpd): frame headers, masking, close payloads,
 *   UTF-8 validation, the handshake's accept key, and a receiver that turns a byte stream
 *   from a client into messages and control frames;
 * - connections (ws.c): the upgrade of a libmicrohttpd request, then one epoll set for all
 *   upgraded sockets, driven from the control loop like the REST server (mr_ws_server_poll),
 *   never blocking.
 *
 * Everything runs on the control thread; nothing here is thread-safe.
 */
#ifndef MR_WS_H
#define MR_WS_H

#include <stddef.h>
#include <stdint.h>
#include <microhttpd.h>

/* ---- framing (ws_frame.c) ---- */

/* RFC 6455 §5.2 opcodes. */
#define MR_WS_OP_CONT 0x0
#define MR_WS_OP_TEXT 0x1
#define MR_WS_OP_BINARY 0x2
#define MR_WS_OP_CLOSE 0x8
#define MR_WS_OP_PING 0x9
#define MR_WS_OP_PONG 0xa

/* RFC 6455 §7.4.1 status codes. */
#define MR_WS_CLOSE_NORMAL 1000
#define MR_WS_CLOSE_GOING_AWAY 1001
#define MR_WS_CLOSE_PROTOCOL 1002
#define MR_WS_CLOSE_UNSUPPORTED 1003
#define MR_WS_CLOSE_NO_STATUS 1005	/* never on the wire: a close frame without a code */
#define MR_WS_CLOSE_INVALID_DATA 1007
#define MR_WS_CLOSE_POLICY 1008
#define MR_WS_CLOSE_TOO_BIG 1009
#define MR_WS_CLOSE_INTERNAL 1011
#define MR_WS_CLOSE_TRY_LATER 1013	/* IANA registry */

/* §5.5: control frames carry at most 125 bytes; a close reason at most 123 after the code. */
#define MR_WS_CONTROL_MAX 125
/* Longest frame header: 2 + 8 (64-bit length) + 4 (mask key). */
#define MR_WS_HDR_MAX 14
/* Sec-WebSocket-Accept: base64 of a SHA-1 (28 characters) and the NUL. */
#define MR_WS_ACCEPT_LEN 29

struct mr_ws_frame_hdr {
	uint8_t fin;
	uint8_t opcode;
	uint8_t masked;
	uint8_t mask[4];
	uint8_t hdr_len;	/* bytes of header, payload follows */
	uint64_t len;		/* payload length */
};

/* Parse the frame header at buf[0..n). 0 and h filled in; -EAGAIN when more bytes are
 * needed; -EPROTO for a header RFC 6455 forbids: RSV bits set (no extension is
 * negotiated), a reserved opcode, a control frame fragmented or longer than 125 bytes,
 * a length not in its shortest form or with the top bit set, or (require_mask, as a
 * server does) an unmasked frame. */
int mr_ws_frame_parse(const uint8_t *buf, size_t n, int require_mask, struct mr_ws_frame_hdr *h);
/* Write a frame header for a payload of len bytes to out (MR_WS_HDR_MAX bytes); mask NULL
 * for an unmasked (server) frame. Returns the header length. */
size_t mr_ws_frame_hdr_build(uint8_t *out, int fin, uint8_t opcode, uint64_t len,
			     const uint8_t *mask);
/* XOR p[0..n) with the mask key; off is the position of p[0] in the payload, so that a
 * payload can be unmasked in pieces. */
void mr_ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t off);
/* 1 if p[0..n) is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF), 0 otherwise. */
int mr_ws_utf8_valid(const uint8_t *p, size_t n);
/* 1 if a peer may send code in a close frame (§7.4), 0 otherwise. */
int mr_ws_close_code_valid(unsigned int code);
/* Parse a close frame's payload (§5.5.1): code MR_WS_CLOSE_NO_STATUS when empty. 0, or
 * -EPROTO (one byte, or a code not allowed on the wire), -EILSEQ (reason not UTF-8). */
int mr_ws_close_parse(const uint8_t *p, size_t n, unsigned int *code, const char **reason,
		      size_t *reason_len);
/* Build a close payload (code, then reason cut to 123 bytes at a character boundary) into
 * out (MR_WS_CONTROL_MAX bytes). Returns its length. */
size_t mr_ws_close_build(uint8_t *out, unsigned int code, const char *reason);
/* 1 if key is a valid Sec-WebSocket-Key: base64 of 16 bytes (§4.1, item 7). */
int mr_ws_key_valid(const char *key);
/* Sec-WebSocket-Accept for key (§4.2.2, item 5.4). 0, or -EINVAL / -EIO (SHA-1 failed). */
int mr_ws_accept_key(const char *key, char out[MR_WS_ACCEPT_LEN]);
/* Standard base64 (RFC 4648 §4) with padding; out has room for 4 * ceil(n / 3) + 1 bytes.
 * Returns the length written, without the NUL. */
size_t mr_ws_base64(const uint8_t *p, size_t n, char *out);

/* The receiving side of one connection: bytes in, events out. Fragments of a message are
 * collected (control frames may come between them, §5.4) up to max_message bytes. */
struct mr_ws_rx {
	uint8_t hdr[MR_WS_HDR_MAX];
	uint8_t hdr_n;			/* header bytes collected */
	uint8_t in_payload;		/* header parsed, reading its payload */
	uint8_t msg_op;			/* TEXT/BINARY of the message in progress, 0 = none */
	uint8_t delivered;		/* the last event was a message: drop it on next feed */
	uint8_t ctl_len;
	struct mr_ws_frame_hdr cur;
	uint64_t pos;			/* payload bytes of cur read so far */
	uint8_t *msg;			/* allocated only while a message is in progress */
	size_t msg_len;
	size_t msg_cap;
	size_t max_message;
	uint8_t ctl[MR_WS_CONTROL_MAX];	/* payload of the control frame being read */
};

enum mr_ws_event_type {
	MR_WS_EV_NONE,		/* every byte consumed, nothing complete */
	MR_WS_EV_MESSAGE,	/* a whole text or binary message */
	MR_WS_EV_CONTROL,	/* a close, ping or pong frame */
};

struct mr_ws_event {
	enum mr_ws_event_type type;
	uint8_t opcode;		/* TEXT/BINARY for a message, CLOSE/PING/PONG for control */
	const uint8_t *data;	/* valid until the next call on the receiver */
	size_t len;
};

void mr_ws_rx_init(struct mr_ws_rx *rx, size_t max_message);
/* Consume bytes from buf[0..n) up to the end of the next event. *used is set to the bytes
 * consumed; call again with the rest. 0 with ev filled in; on error (the connection must
 * be failed, §7.1.7): -EPROTO (close 1002), -EILSEQ (text not UTF-8: 1007), -EMSGSIZE
 * (message above max_message: 1009), -ENOMEM (1011). */
int mr_ws_rx_feed(struct mr_ws_rx *rx, const uint8_t *buf, size_t n, size_t *used,
		  struct mr_ws_event *ev);
/* The close code that goes with an error of mr_ws_rx_feed. */
unsigned int mr_ws_rx_close_code(int err);
/* Free the message buffer when no message is in progress (between reads). */
void mr_ws_rx_trim(struct mr_ws_rx *rx);
void mr_ws_rx_release(struct mr_ws_rx *rx);

/* ---- connections (ws.c) ---- */

struct mr_ws_server;
struct mr_ws_conn;

struct mr_ws_limits {
	size_t max_message;		/* largest message accepted from a client */
	size_t max_sendbuf;		/* output queued for a client before it is "slow" */
	unsigned int max_connections;
	unsigned int idle_timeout_ms;	/* no frame from the client this long: "timeout" */
	unsigned int max_errors;	/* mr_ws_error_count() calls tolerated */
	/* A connection the handler has not admitted (mr_ws_admit: joined) is closed with 1008
	 * "join timeout" after join_timeout_ms (0: never), whatever it sends; an address has
	 * at most max_pending_per_address of them (0: no limit; 503 at the handshake). */
	unsigned int join_timeout_ms;
	unsigned int max_pending_per_address;
	struct mr_guard *guard;		/* refusal counters and log (guard.h), may be NULL */
};

/* Callbacks, all on the control thread: from mr_ws_server_poll(), and on_open/on_message
 * also from the upgrade (within libmicrohttpd's MHD_run(), or mr_ws_server_adopt_fd()),
 * on_close also from mr_ws_server_free(). Never from within mr_ws_send_text(),
 * mr_ws_close() or mr_ws_error_count(): a handler may call those on any connection, and
 * a connection they end gets its on_close later, from the poll. on_close comes exactly
 * once per connection that had on_open (the conn stays valid until then, sends to it
 * return -ENOTCONN), with one of the reasons:
 *   "closed"   close handshake done (either side started it), or the peer did not
 *              answer ours within 2 s
 *   "eof"      the peer went away without a close frame
 *   "timeout"  no complete frame from the peer for idle_timeout_ms (so a message
 *              trickled in byte by byte does not keep a connection alive)
 *   "join_timeout" not admitted (mr_ws_admit) within join_timeout_ms (closed with 1008)
 *   "slow"     output above max_sendbuf (mr_ws_send_text returned -ENOBUFS)
 *   "protocol" the peer broke RFC 6455 or sent binary (closed with 1002, 1003, 1007
 *              or 1009)
 *   "errors"   more than max_errors mr_ws_error_count() calls (closed with 1008)
 *   "io"       a socket error
 *   "shutdown" mr_ws_server_free()
 * After on_close returns the conn pointer is invalid. */
struct mr_ws_handler {
	void (*on_open)(struct mr_ws_conn *c, void *arg);
	/* A whole text message (UTF-8 checked), NUL-terminated for convenience. Binary
	 * messages are refused with 1003. */
	void (*on_message)(struct mr_ws_conn *c, const char *text, size_t len, void *arg);
	void (*on_close)(struct mr_ws_conn *c, const char *reason, void *arg);
};

struct mr_ws_stats {
	uint64_t connections;		/* open now */
	uint64_t accepted;		/* upgraded since start */
	uint64_t refused;		/* refused at the handshake (bad request, full) */
	uint64_t rx_bytes;
	uint64_t tx_bytes;
	uint64_t rx_messages;
	uint64_t tx_messages;
	uint64_t protocol_errors;	/* connections failed for breaking RFC 6455 */
	uint64_t app_errors;		/* mr_ws_error_count() calls */
	uint64_t timeouts;
	uint64_t join_timeouts;
	uint64_t slow;
};

/* NULL with errno set on error. */
struct mr_ws_server *mr_ws_server_create(const struct mr_ws_limits *lim,
					 const struct mr_ws_handler *h, void *arg);
/* Closes every connection (on_close "shutdown"); NULL is a no-op. */
void mr_ws_server_free(struct mr_ws_server *s);
/* The server's epoll descriptor: readable when mr_ws_server_poll has socket work. */
int mr_ws_server_fd(const struct mr_ws_server *s);
/* Serve ready connections (a bounded amount of work per call), run the timers, deliver
 * on_close. now_ms: CLOCK_MONOTONIC in milliseconds (read once by mr_ws_server_create,
 * then only what the caller passes here). Call it when mr_ws_server_fd() is readable and
 * when mr_ws_server_next_timeout() comes due. */
void mr_ws_server_poll(struct mr_ws_server *s, uint64_t now_ms);
/* The time is now_ms (the server's clock never goes back): what mr_ws_server_poll() does to
 * it first. The loop calls it before anything that may adopt a connection, whose idle
 * timeout counts from the server's clock: poll runs only when there is WebSocket work, so
 * after a quiet spell longer than the timeout a new connection would be timed out at once. */
void mr_ws_server_set_now(struct mr_ws_server *s, uint64_t now_ms);
/* Milliseconds from now_ms until the next timer of the server, -1 when none. */
int mr_ws_server_next_timeout(const struct mr_ws_server *s, uint64_t now_ms);
void mr_ws_server_stats(const struct mr_ws_server *s, struct mr_ws_stats *st);

/* The handler of GET /v1/ws, after the caller's own authentication: checks the upgrade
 * request (§4.2.1) and queues 101 (the socket then moves to the server), or a JSON error:
 * 400 naming the bad header, 405, 426 for another version, 503 when full. */
enum MHD_Result mr_ws_accept(struct mr_ws_server *s, struct MHD_Connection *conn);
/* What the upgrade does, for tests: adopt a connected socket (made non-blocking) and the
 * bytes already read from it. 0, or -EBUSY (max_connections), -ENOMEM, -errno. On error
 * the caller still owns fd. on_open is called before it returns. */
int mr_ws_server_adopt_fd(struct mr_ws_server *s, int fd, const void *extra, size_t len);

/* Queue a text message. 0; -ENOBUFS when that would put more than max_sendbuf in the
 * queue (the client is too slow: the connection is closed, on_close "slow"); -EPIPE when
 * the connection is closing; -EINVAL when msg is not UTF-8. */
int mr_ws_send_text(struct mr_ws_conn *c, const char *msg, size_t len);
/* Start the close handshake (§7.1.2) with code and reason; the connection is dropped if
 * the peer does not answer within 2 s. */
void mr_ws_close(struct mr_ws_conn *c, unsigned int code, const char *reason);
/* The handler got garbage from this client. 0, or -ECONNABORTED when that was one more
 * than max_errors: the connection is closing (1008, on_close "errors"). */
int mr_ws_error_count(struct mr_ws_conn *c);
/* The client has proved who it is (signaling: joined): no join deadline any more, and it no
 * longer counts against its address's max_pending_per_address. */
void mr_ws_admit(struct mr_ws_conn *c);
void mr_ws_set_user(struct mr_ws_conn *c, void *user);
void *mr_ws_get_user(const struct mr_ws_conn *c);

#endif
