/* SPDX-License-Identifier: BSD-3-Clause
 * Voice messages (issue 12 §3; docs/API.md "Voice messages"): Ogg/Opus files stored under
 * messages.directory, uploaded over REST (checked by the strict reader, oggread.h) or taken
 * from a recording file, listed, downloaded and deleted over REST, and played into rooms
 * (controlplane/rooms/play.c, which loads a message's packets with mr_messages_load).
 *
 * REST (routes registered in messages.c):
 *   POST   /v1/messages               audio/ogg body, or {"from_recording": "<file name>"}
 *   GET    /v1/messages               the list
 *   GET    /v1/messages/{id}          metadata; DELETE removes it
 *   GET    /v1/messages/{id}/ogg      the file (audio/ogg)
 *
 * Everything runs on the control thread. Files are small (messages.max_bytes) and are
 * written whole into the page cache (no fsync): one upload costs the control loop about
 * what receiving its body did.
 */
#ifndef MR_MESSAGES_H
#define MR_MESSAGES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct mr_appliance;
struct mr_messages;

#define MR_MSG_ID_LEN 16		/* hex digits of a message id */

/* One audio packet of a loaded message: len bytes at off in the message's data, and its
 * 48 kHz samples (from its TOC). */
struct mr_msg_pkt {
	uint32_t off;
	uint16_t len;
	uint16_t samples;
};

/* A message's packets in memory (for playback): malloc'd, freed with free(). */
struct mr_msg_audio {
	char id[MR_MSG_ID_LEN + 1];
	uint32_t n;			/* packets */
	uint64_t duration_ms;
	struct mr_msg_pkt *pkt;		/* n entries, in data below */
	uint8_t *data;
};

/* With messages.directory set: the directory (created if missing) and the messages already
 * in it (each file read and checked; invalid ones are logged and left alone). NULL without
 * error when messages are off (err empty); NULL with err set when configured but unusable. */
struct mr_messages *mr_messages_create(struct mr_appliance *a, char *err, size_t errlen);
void mr_messages_free(struct mr_messages *ms);
/* Read message id's file and its packets: a new struct (free with mr_msg_audio_free), or
 * NULL with the reason in err (prefixed "message: ..."); *status: 404 (no such message),
 * 500 (the file cannot be read or no longer parses), 503 (messages off). */
struct mr_msg_audio *mr_messages_load(struct mr_messages *ms, const char *id, int *status,
				      char *err, size_t errlen);
static inline void
mr_msg_audio_free(struct mr_msg_audio *au)
{
	if (au == NULL)
		return;
	free(au->pkt);
	free(au->data);
	free(au);
}
/* The packets of an Ogg/Opus file in memory (data, len bytes), checked by the strict reader;
 * its id is "". NULL with the reason in err. */
struct mr_msg_audio *mr_msg_audio_parse(const uint8_t *data, size_t len, char *err,
					size_t errlen);
/* The same for an Ogg/Opus or a WAV file (wavread.h: encoded to Opus here), by its first
 * bytes: what ng's play media takes. */
struct mr_msg_audio *mr_msg_audio_parse_any(const uint8_t *data, size_t len, char *err,
					    size_t errlen);
/* A file that a client names (ng's play media "file", docs/NG.md): a stored message's id, a
 * name relative to messages.directory, or an absolute path; the file must lie under
 * messages.directory (after links and ".." are resolved) and be Ogg/Opus or WAV. NULL with
 * err and *status: 404 (no such file), 403 (outside the directory), 413 (larger than
 * messages.max_bytes), 415 (neither, or a WAV mrelay does not read), 503 (messages off). */
struct mr_msg_audio *mr_messages_load_file(struct mr_messages *ms, const char *name,
					   int *status, char *err, size_t errlen);
/* Store the Ogg/Opus file at path (a stopped recording made to be a message) as a new
 * message: 201 with its id (MR_MSG_ID_LEN + 1 bytes) and duration, or the status of what
 * failed (413 too large, 500 unreadable or invalid, 503 messages off, 507 too many) with the
 * reason in err. The file stays; the caller removes it. */
int mr_messages_import(struct mr_messages *ms, const char *path, char *id, uint64_t *duration_ms,
		       char *err, size_t errlen);
/* Prometheus series (mrelay_messages_*), appended to f. */
void mr_messages_metrics(struct mr_messages *ms, FILE *f);

#endif
