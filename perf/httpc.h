/* SPDX-License-Identifier: BSD-3-Clause
 * A small blocking keep-alive HTTP/1.1 client for the benchmarks (apibench, rtpgen): one TCP
 * connection, requests answered in order (RFC 9112 §9.3.2 pipelining), Content-Length,
 * chunked and read-until-close bodies. Plain POSIX sockets, no EAL, not thread-safe (one
 * connection per thread).
 *
 * Every wait is bounded: connecting, and any read or write that makes no progress for
 * HTTPC_TIMEOUT_MS, fails with -ETIMEDOUT, and so does one answer that takes longer than
 * HTTPC_ANSWER_MAX_MS in all (a server trickling bytes cannot hold the client forever).
 */
#ifndef HTTPC_H
#define HTTPC_H

#include <stddef.h>

#define HTTPC_TIMEOUT_MS	10000
#define HTTPC_ANSWER_MAX_MS	60000

struct httpc;

/* Connect to "host:port" (IPv4 "a.b.c.d:p" or "[v6]:p"); token NULL or "" = no Authorization
 * header. NULL + errno on failure. */
struct httpc *httpc_open(const char *hostport, const char *token);
/* Close the connection and free everything; NULL is a no-op. */
void httpc_close(struct httpc *c);
/* One blocking request on the keep-alive connection (reconnects once if the server had closed
 * it). Returns the HTTP status or -errno; *resp gets a malloc'd NUL-terminated body (caller
 * frees; may be NULL if resp is NULL), *resp_len its length. body may be NULL. Content-Type
 * application/json. -EBUSY while pipelined requests are still unanswered. */
int httpc_request(struct httpc *c, const char *method, const char *path, const char *body,
		  size_t body_len, char **resp, size_t *resp_len);
/* Pipelining: queue requests without waiting, then read the answers in order. httpc_send
 * returns 0 or -errno. Requests that were queued on a connection the server closed (after an
 * answer with "Connection: close", or by dropping it) are answered -ECONNRESET by
 * httpc_recv, in their turn; the next httpc_send opens a new connection. */
int httpc_send(struct httpc *c, const char *method, const char *path, const char *body,
	       size_t body_len);
/* The answer to the oldest unanswered request: status or -errno (-EINVAL: none pending).
 * resp and resp_len may be NULL. */
int httpc_recv(struct httpc *c, char **resp, size_t *resp_len);
/* Requests sent and not answered yet (httpc_recv calls still due). */
unsigned int httpc_pending(const struct httpc *c);
/* The socket (for poll), or -1 while not connected. */
int httpc_fd(const struct httpc *c);

#endif
