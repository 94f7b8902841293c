/* SPDX-License-Identifier: BSD-3-Clause
 * Voice messages: the store and its REST routes (messages.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "appliance.h"
#include "json_req.h"
#include "messages.h"
#include "mr_log.h"
#include "oggread.h"
#include "wavread.h"
#include "router.h"
#include "wring.h"

MR_LOG_REGISTER(mr_logtype_msg, messages);
#define MSG_LOG(level, ...) MR_LOG(level, mr_logtype_msg, "messages", __VA_ARGS__)

#define MSG_EXT ".ogg"
#define MSG_ECHO 48			/* client text quoted in errors */

struct mr_msg {
	TAILQ_ENTRY(mr_msg) link;
	char id[MR_MSG_ID_LEN + 1];
	uint64_t size;
	uint64_t duration_ms;
	uint64_t packets;
	uint8_t channels;
	time_t created;
};

TAILQ_HEAD(mr_msg_list, mr_msg);

/* Files played by name (ng's play media): the last ones read, parsed (a WAV encoded), kept
 * while the file's identity, size and time stay the same, so that a prompt played to call
 * after call is read and encoded once. Each play gets its own copy of the packets. */
#define MSG_FCACHE 16
#define MSG_FCACHE_BYTES (32u << 20)	/* packet bytes kept, all files */

struct msg_fcache {
	char path[PATH_MAX];		/* realpath; "" unused */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct mr_msg_audio *au;
	size_t bytes;
	uint64_t used;			/* LRU clock */
};

struct mr_messages {
	struct mr_appliance *a;
	char dir[256];
	size_t max_bytes;
	unsigned int max_count;
	unsigned int n;
	struct mr_msg_list msgs;
	/* counters (control thread only) */
	uint64_t uploads;		/* messages stored */
	uint64_t rejected;		/* uploads refused as not valid Ogg/Opus */
	uint64_t write_errors;		/* uploads that could not be written */
	struct msg_fcache *fc;		/* MSG_FCACHE entries */
	size_t fc_bytes;
	uint64_t fc_clock, fc_hits, fc_misses;
};

static void
msg_path(const struct mr_messages *ms, const char *id, char *path, size_t n)
{
	snprintf(path, n, "%s/%s" MSG_EXT, ms->dir, id);
}

/* A message id is MR_MSG_ID_LEN lowercase hex digits: nothing else names a file. */
static int
msg_id_ok(const char *id, size_t len)
{
	size_t i;

	if (len != MR_MSG_ID_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return 1;
}

static struct mr_msg *
msg_find(struct mr_messages *ms, const char *id, size_t len)
{
	struct mr_msg *m;

	if (!msg_id_ok(id, len))
		return NULL;
	TAILQ_FOREACH(m, &ms->msgs, link)
		if (memcmp(m->id, id, MR_MSG_ID_LEN) == 0)
			return m;
	return NULL;
}

static json_t *
msg_json(const struct mr_msg *m)
{
	char dl[64];

	snprintf(dl, sizeof(dl), "/v1/messages/%s/ogg", m->id);
	return json_pack("{s:s,s:I,s:I,s:I,s:i,s:I,s:s}", "id", m->id,
			 "duration_ms", (json_int_t)m->duration_ms, "size", (json_int_t)m->size,
			 "packets", (json_int_t)m->packets, "channels", m->channels,
			 "created", (json_int_t)m->created, "download", dl);
}

/* Read a whole file of at most max bytes: malloc'd data and *len, or NULL with errno
 * (EFBIG when larger). */
static uint8_t *
file_read(const char *path, size_t max, size_t *len)
{
	struct stat sb;
	uint8_t *buf;
	ssize_t r;
	size_t got = 0;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		e = errno ? errno : EINVAL;
		close(fd);
		errno = e;
		return NULL;
	}
	if ((uint64_t)sb.st_size > max) {
		close(fd);
		errno = EFBIG;
		return NULL;
	}
	buf = malloc(sb.st_size > 0 ? (size_t)sb.st_size : 1);
	if (buf == NULL) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	while (got < (size_t)sb.st_size) {
		r = read(fd, buf + got, (size_t)sb.st_size - got);
		if (r <= 0) {
			e = r < 0 ? errno : EIO;
			free(buf);
			close(fd);
			errno = e;
			return NULL;
		}
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return buf;
}

/* Write data to id's file through a temporary name: a crash leaves no half file. */
static int
file_write(const struct mr_messages *ms, const char *id, const uint8_t *data, size_t len)
{
	char path[512], tmp[520];
	size_t done = 0;
	ssize_t w;
	int fd, e;

	msg_path(ms, id, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	while (done < len) {
		w = write(fd, data + done, len - done);
		if (w <= 0) {
			e = w < 0 ? errno : EIO;
			close(fd);
			unlink(tmp);
			return -e;
		}
		done += (size_t)w;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		e = errno;
		unlink(tmp);
		return -e;
	}
	return 0;
}

static struct mr_msg *
msg_add(struct mr_messages *ms, const char *id, const struct mr_oggr_info *info, size_t size,
	time_t created)
{
	struct mr_msg *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	memcpy(m->id, id, MR_MSG_ID_LEN);
	m->size = size;
	m->duration_ms = info->duration_ms;
	m->packets = info->packets;
	m->channels = info->channels;
	m->created = created;
	TAILQ_INSERT_TAIL(&ms->msgs, m, link);
	ms->n++;
	return m;
}

/* Store data (len bytes, checked already) as a new message. */
static int
msg_store(struct mr_messages *ms, const uint8_t *data, size_t len,
	  const struct mr_oggr_info *info, json_t **out)
{
	char id[MR_MSG_ID_LEN + 1];
	uint8_t rnd[MR_MSG_ID_LEN / 2];
	struct mr_msg *m;
	unsigned int i;
	int rc;

	if (ms->n >= ms->max_count)
		return mr_json_err(out, 507, "messages: %u stored, the most messages.max_count "
				   "allows (delete some)", ms->n);
	do {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return mr_json_err(out, 500, "messages: no random id: %s",
					   strerror(errno));
		for (i = 0; i < sizeof(rnd); i++)
			snprintf(id + 2 * i, 3, "%02x", rnd[i]);
	} while (msg_find(ms, id, MR_MSG_ID_LEN) != NULL);
	rc = file_write(ms, id, data, len);
	if (rc < 0) {
		ms->write_errors++;
		MSG_LOG(ERR, "%s/%s" MSG_EXT ": cannot write: %s\n", ms->dir, id, strerror(-rc));
		return mr_json_err(out, 500, "messages: cannot write the file: %s",
				   strerror(-rc));
	}
	m = msg_add(ms, id, info, len, time(NULL));
	if (m == NULL) {
		char path[512];

		msg_path(ms, id, path, sizeof(path));
		unlink(path);
		return mr_json_err(out, 500, "messages: out of memory");
	}
	ms->uploads++;
	*out = msg_json(m);
	return 201;
}

/* {"from_recording": "<name>"}: a recording file (GET /v1/recording-files) copied in. */
static int
msg_from_recording(struct mr_messages *ms, const struct mr_http_req *req, json_t **out)
{
	const struct mr_config *cfg = ms->a->cfg;
	char err[256], buf[MSG_ECHO], path[512];
	struct mr_oggr_info info;
	const char *key, *name;
	uint8_t *data = NULL;
	size_t len = 0, i;
	json_t *o, *v;
	int rc;

	o = mr_json_body_load(req->body, req->len, err, sizeof(err));
	if (o == NULL)
		return mr_json_err(out, 400, "%s", err);
	json_object_foreach(o, key, v) {
		if (strcmp(key, "from_recording") != 0) {
			rc = mr_json_err(out, 400, "%s: unknown field (allowed: from_recording; "
					 "or upload an audio/ogg body)",
					 mr_json_echo(key, buf, sizeof(buf)));
			goto out;
		}
	}
	name = json_string_value(json_object_get(o, "from_recording"));
	if (name == NULL) {
		rc = mr_json_err(out, 400, "from_recording: required, a recording file's name");
		goto out;
	}
	for (i = 0; name[i] != '\0'; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= 'A' && name[i] <= 'Z') || name[i] == '-' || name[i] == '_'))
			break;
	if (name[i] != '\0' || i == 0 || i > MR_HTTP_ID_MAX) {
		rc = mr_json_err(out, 400, "from_recording: '%s' is not a recording file's name",
				 mr_json_echo(name, buf, sizeof(buf)));
		goto out;
	}
	if (cfg->rec_dir[0] == '\0') {
		rc = mr_json_err(out, 503, "recording: not configured (recording.directory)");
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s.opus", cfg->rec_dir, name);
	data = file_read(path, ms->max_bytes, &len);
	if (data == NULL) {
		if (errno == EFBIG)
			rc = mr_json_err(out, 413, "from_recording: larger than %zu bytes "
					 "(messages.max_bytes)", ms->max_bytes);
		else
			rc = mr_json_err(out, errno == ENOENT ? 404 : 500, "from_recording: "
					 "%s: %s", mr_json_echo(name, buf, sizeof(buf)),
					 strerror(errno));
		goto out;
	}
	if (mr_oggr_parse(data, len, &info, NULL, NULL, err, sizeof(err)) != 0) {
		/* A recording still being written has no end-of-stream page yet. */
		rc = mr_json_err(out, 409, "from_recording: %s (a recording must be stopped "
				 "first)", err);
		goto out;
	}
	rc = msg_store(ms, data, len, &info, out);
out:
	free(data);
	json_decref(o);
	return rc;
}

/* messages.h */
int
mr_messages_import(struct mr_messages *ms, const char *path, char *id, uint64_t *duration_ms,
		   char *err, size_t errlen)
{
	struct mr_oggr_info info;
	json_t *out = NULL;
	uint8_t *data;
	size_t len = 0;
	int rc;

	if (ms == NULL) {
		snprintf(err, errlen, "messages: not configured (messages.directory)");
		return 503;
	}
	data = file_read(path, ms->max_bytes, &len);
	if (data == NULL) {
		rc = errno == EFBIG ? 413 : 500;
		if (errno == EFBIG)
			snprintf(err, errlen, "message: larger than %zu bytes (messages.max_bytes)",
				 ms->max_bytes);
		else
			snprintf(err, errlen, "message: cannot read the recording: %s",
				 strerror(errno));
		return rc;
	}
	if (mr_oggr_parse(data, len, &info, NULL, NULL, err, errlen) != 0) {
		free(data);
		return 500;
	}
	rc = msg_store(ms, data, len, &info, &out);
	free(data);
	if (rc == 201) {
		snprintf(id, MR_MSG_ID_LEN + 1, "%s",
			 json_string_value(json_object_get(out, "id")));
		*duration_ms = info.duration_ms;
	} else {
		snprintf(err, errlen, "%s", json_string_value(json_object_get(out, "error")));
	}
	json_decref(out);
	return rc;
}

static int
msg_off(json_t **out)
{
	return mr_json_err(out, 503, "messages: not configured (messages.directory)");
}

static int
mr_route_messages(struct mr_appliance *a, const struct mr_http_req *req, json_t **out)
{
	struct mr_messages *ms = a->msgs;
	struct mr_oggr_info info;
	struct mr_msg *m;
	char err[256];
	json_t *arr;

	if (ms == NULL)
		return msg_off(out);
	if (req->method == MR_HTTP_POST) {
		if (!req->raw)
			return msg_from_recording(ms, req, out);
		if (mr_oggr_parse((const uint8_t *)req->body, req->len, &info, NULL, NULL, err,
				  sizeof(err)) != 0) {
			ms->rejected++;
			return mr_json_err(out, 400, "body: %s", err);
		}
		return msg_store(ms, (const uint8_t *)req->body, req->len, &info, out);
	}
	arr = json_array();
	TAILQ_FOREACH(m, &ms->msgs, link)
		json_array_append_new(arr, msg_json(m));
	*out = json_pack("{s:o}", "messages", arr);
	return 200;
}

static size_t
msg_body_max(struct mr_appliance *a)
{
	return a->msgs != NULL ? a->msgs->max_bytes : 0;
}

static struct mr_http_route mr_messages_route = {
	.path = "/v1/messages", .match = MR_ROUTE_EXACT, .name = "/v1/messages",
	.methods = MR_HTTP_GET | MR_HTTP_POST, .handler = mr_route_messages,
	.body_required = 1, .body_type = "audio/ogg", .body_max = msg_body_max,
	.location = "/v1/messages",
};
MR_HTTP_ROUTE(mr_messages_route)

/* rest: "/{id}" or "/{id}/ogg"; the message, and *ogg for the download. */
static struct mr_msg *
msg_of_rest(struct mr_messages *ms, const char *rest, int *ogg, int *bad)
{
	const char *id = rest + 1, *slash;
	size_t len;

	*ogg = *bad = 0;
	if (rest[0] != '/')
		return NULL;
	slash = strchr(id, '/');
	len = slash != NULL ? (size_t)(slash - id) : strlen(id);
	if (slash != NULL) {
		if (strcmp(slash, "/ogg") != 0) {
			*bad = 1;
			return NULL;
		}
		*ogg = 1;
	}
	return msg_find(ms, id, len);
}

static int
msg_not_found(const char *rest, int bad, json_t **out)
{
	char buf[MSG_ECHO];

	if (bad)
		return mr_json_err(out, 404, "path: no such resource '/v1/messages%s'",
				   mr_json_echo(rest, buf, sizeof(buf)));
	return mr_json_err(out, 404, "message: no such message '%s'",
			   mr_json_echo(rest[0] == '/' ? rest + 1 : rest, buf, sizeof(buf)));
}

/* The message a request under /v1/messages/ names: 0 and *m, *ogg (the download), or an
 * error status with *out (503 off, 405 DELETE of the download, 404). */
static int
msg_req(struct mr_appliance *a, const struct mr_http_req *req, struct mr_msg **m, int *ogg,
	json_t **out)
{
	int bad;

	if (a->msgs == NULL)
		return msg_off(out);
	*m = msg_of_rest(a->msgs, req->rest, ogg, &bad);
	if (*ogg && req->method == MR_HTTP_DELETE)
		return mr_json_err(out, 405, "method: DELETE not allowed on the download "
				   "(allowed: GET)");
	if (*m == NULL)
		return msg_not_found(req->rest, bad, out);
	return 0;
}

static int
msg_get(struct mr_appliance *a, const struct mr_http_req *req, int *fd, const char **ctype,
	json_t **out)
{
	struct mr_msg *m;
	char path[512];
	int ogg, rc;

	rc = msg_req(a, req, &m, &ogg, out);
	if (rc != 0)
		return rc;
	if (!ogg) {
		*out = msg_json(m);
		return 200;
	}
	msg_path(a->msgs, m->id, path, sizeof(path));
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return mr_json_err(out, 500, "message: %s: %s", m->id, strerror(errno));
	*ctype = "audio/ogg";	/* RFC 7845 §9 */
	return 200;
}

static int
msg_delete(struct mr_appliance *a, const struct mr_http_req *req, json_t **out)
{
	struct mr_messages *ms = a->msgs;
	struct mr_msg *m;
	char path[512];
	int ogg, rc;

	rc = msg_req(a, req, &m, &ogg, out);
	if (rc != 0)
		return rc;
	msg_path(ms, m->id, path, sizeof(path));
	if (unlink(path) != 0 && errno != ENOENT)
		return mr_json_err(out, 500, "message: %s: %s", m->id, strerror(errno));
	/* A playback has its own copy of the packets: it goes on to its end. */
	TAILQ_REMOVE(&ms->msgs, m, link);
	ms->n--;
	free(m);
	return 204;
}

/* /v1/messages/{id} and /v1/messages/{id}/ogg (the exact /v1/messages is the route above). */
static struct mr_http_route mr_message_route = {
	.path = "/v1/messages", .match = MR_ROUTE_SUBTREE, .name = "/v1/messages/{id}",
	.methods = MR_HTTP_GET | MR_HTTP_DELETE, .handler = msg_delete, .file = msg_get,
};
MR_HTTP_ROUTE(mr_message_route)

/* ---- playback's access ---- */

struct load_ctx {
	struct mr_msg_audio *au;
	uint32_t off;
};

static int
load_pkt(void *arg, const uint8_t *pkt, size_t len, uint32_t samples)
{
	struct load_ctx *c = arg;
	struct mr_msg_pkt *p = &c->au->pkt[c->au->n++];

	memcpy(c->au->data + c->off, pkt, len);
	p->off = c->off;
	p->len = (uint16_t)len;
	p->samples = (uint16_t)samples;
	c->off += (uint32_t)len;
	return 0;
}

struct mr_msg_audio *
mr_messages_load(struct mr_messages *ms, const char *id, int *status, char *err,
		 size_t errlen)
{
	struct mr_msg_audio *au;
	struct mr_msg *m;
	char path[512], perr[240];
	uint8_t *data;
	size_t len;

	if (ms == NULL) {
		*status = 503;
		snprintf(err, errlen, "messages: not configured (messages.directory)");
		return NULL;
	}
	m = msg_find(ms, id, strlen(id));
	if (m == NULL) {
		*status = 404;
		snprintf(err, errlen, "message: no such message");
		return NULL;
	}
	*status = 500;
	msg_path(ms, m->id, path, sizeof(path));
	data = file_read(path, ms->max_bytes, &len);
	if (data == NULL) {
		snprintf(err, errlen, "message: %s: %s", m->id, strerror(errno));
		return NULL;
	}
	au = mr_msg_audio_parse(data, len, perr, sizeof(perr));
	free(data);
	if (au != NULL && au->n != m->packets) {
		mr_msg_audio_free(au);
		au = NULL;
		snprintf(perr, sizeof(perr), "packet count changed");
	}
	if (au == NULL) {
		snprintf(err, errlen, "message: %s: the file changed: %s", m->id, perr);
		return NULL;
	}
	memcpy(au->id, m->id, sizeof(au->id));
	*status = 200;
	return au;
}

struct mr_msg_audio *
mr_msg_audio_parse(const uint8_t *data, size_t len, char *err, size_t errlen)
{
	struct mr_oggr_info info;
	struct mr_msg_audio *au;
	struct load_ctx c = { 0 };
	char perr[200];

	/* Counted first, then loaded into tables of that size. */
	if (mr_oggr_parse(data, len, &info, NULL, NULL, perr, sizeof(perr)) != 0) {
		snprintf(err, errlen, "not an Ogg/Opus file: %s", perr);
		return NULL;
	}
	au = calloc(1, sizeof(*au));
	if (au != NULL) {
		au->pkt = calloc(info.packets + 1, sizeof(*au->pkt));
		au->data = malloc(len > 0 ? len : 1);
	}
	if (au == NULL || au->pkt == NULL || au->data == NULL) {
		mr_msg_audio_free(au);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c.au = au;
	if (mr_oggr_parse(data, len, &info, load_pkt, &c, perr, sizeof(perr)) != 0) {
		mr_msg_audio_free(au);
		snprintf(err, errlen, "not an Ogg/Opus file: %s", perr);
		return NULL;
	}
	au->duration_ms = info.duration_ms;
	return au;
}

struct mr_msg_audio *
mr_msg_audio_parse_any(const uint8_t *data, size_t len, char *err, size_t errlen)
{
	if (mr_wav_is(data, len))
		return mr_wav_to_audio(data, len, err, errlen);
	return mr_msg_audio_parse(data, len, err, errlen);
}

/* A copy of au (the packets and their table): NULL when out of memory. */
static struct mr_msg_audio *
audio_dup(const struct mr_msg_audio *au, size_t bytes)
{
	struct mr_msg_audio *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	*d = *au;
	d->pkt = malloc((au->n ? au->n : 1) * sizeof(*d->pkt));
	d->data = malloc(bytes ? bytes : 1);
	if (d->pkt == NULL || d->data == NULL) {
		mr_msg_audio_free(d);
		return NULL;
	}
	memcpy(d->pkt, au->pkt, au->n * sizeof(*d->pkt));
	memcpy(d->data, au->data, bytes);
	return d;
}

static size_t
audio_bytes(const struct mr_msg_audio *au)
{
	return au->n ? au->pkt[au->n - 1].off + au->pkt[au->n - 1].len : 0;
}

static int
fcache_same(const struct msg_fcache *e, const char *path, const struct stat *sb)
{
	return e->au != NULL && strcmp(e->path, path) == 0 && e->dev == sb->st_dev &&
	       e->ino == sb->st_ino && e->size == sb->st_size &&
	       e->mtime.tv_sec == sb->st_mtim.tv_sec && e->mtime.tv_nsec == sb->st_mtim.tv_nsec;
}

/* Keep a copy of au for path (whose stat is sb), in place of the least recently used. */
static void
fcache_put(struct mr_messages *ms, const char *path, const struct stat *sb,
	   const struct mr_msg_audio *au)
{
	struct msg_fcache *e = NULL;
	size_t bytes = audio_bytes(au);
	unsigned int i;

	if (ms->fc == NULL || bytes > MSG_FCACHE_BYTES / 4)
		return;
	for (i = 0; i < MSG_FCACHE; i++) {
		struct msg_fcache *x = &ms->fc[i];

		if (x->au != NULL && strcmp(x->path, path) == 0) {
			e = x;		/* the file changed: its old entry goes */
			break;
		}
		if (e == NULL || x->au == NULL || (e->au != NULL && x->used < e->used))
			e = x;
	}
	for (;;) {
		if (e->au != NULL) {
			ms->fc_bytes -= e->bytes;
			mr_msg_audio_free(e->au);
			e->au = NULL;
		}
		if (ms->fc_bytes + bytes <= MSG_FCACHE_BYTES)
			break;
		/* Over the byte budget: the least recently used others go too. */
		e = NULL;
		for (i = 0; i < MSG_FCACHE; i++)
			if (ms->fc[i].au != NULL && (e == NULL || ms->fc[i].used < e->used))
				e = &ms->fc[i];
		if (e == NULL)
			return;
	}
	e->au = audio_dup(au, bytes);
	if (e->au == NULL)
		return;
	snprintf(e->path, sizeof(e->path), "%s", path);
	e->dev = sb->st_dev;
	e->ino = sb->st_ino;
	e->size = sb->st_size;
	e->mtime = sb->st_mtim;
	e->bytes = bytes;
	e->used = ++ms->fc_clock;
	ms->fc_bytes += bytes;
}

struct mr_msg_audio *
mr_messages_load_file(struct mr_messages *ms, const char *name, int *status, char *err,
		      size_t errlen)
{
	char path[512], real[PATH_MAX], dir[PATH_MAX], e[240];
	struct stat sb = { 0 };
	struct mr_msg_audio *au;
	uint8_t *data;
	size_t len, dl;

	if (ms == NULL) {
		*status = 503;
		snprintf(err, errlen, "messages: not configured (messages.directory)");
		return NULL;
	}
	if (msg_id_ok(name, strlen(name)) && msg_find(ms, name, strlen(name)) != NULL)
		return mr_messages_load(ms, name, status, err, errlen);
	*status = 404;
	if (name[0] == '\0' || strlen(name) >= sizeof(path) - sizeof(ms->dir) - 1) {
		snprintf(err, errlen, "file: no such file in messages.directory");
		return NULL;
	}
	if (name[0] == '/')
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "%s/%s", ms->dir, name);
	/* Only files under messages.directory, whatever the name says (.., links). */
	if (realpath(ms->dir, dir) == NULL || realpath(path, real) == NULL) {
		size_t n = strlen(ms->dir);

		/* An absolute path elsewhere is refused as such, found or not. */
		if (name[0] == '/' && (strncmp(name, ms->dir, n) != 0 || name[n] != '/')) {
			*status = 403;
			snprintf(err, errlen, "file: not in messages.directory");
		} else {
			snprintf(err, errlen, "file: no such file in messages.directory");
		}
		return NULL;
	}
	dl = strlen(dir);
	if (strncmp(real, dir, dl) != 0 || real[dl] != '/') {
		*status = 403;
		snprintf(err, errlen, "file: not in messages.directory");
		return NULL;
	}
	if (stat(real, &sb) == 0 && ms->fc != NULL) {
		unsigned int i;

		for (i = 0; i < MSG_FCACHE; i++) {
			if (!fcache_same(&ms->fc[i], real, &sb))
				continue;
			au = audio_dup(ms->fc[i].au, ms->fc[i].bytes);
			if (au == NULL)
				break;
			ms->fc[i].used = ++ms->fc_clock;
			ms->fc_hits++;
			*status = 200;
			return au;
		}
	}
	ms->fc_misses++;
	data = file_read(real, ms->max_bytes, &len);
	if (data == NULL) {
		*status = errno == EFBIG ? 413 : 404;
		snprintf(err, errlen, "file: %s", errno == EFBIG ? "larger than messages.max_bytes" :
			 strerror(errno));
		return NULL;
	}
	au = mr_msg_audio_parse_any(data, len, e, sizeof(e));
	free(data);
	if (au == NULL) {
		*status = 415;
		snprintf(err, errlen, "file: %s", e);
		return NULL;
	}
	/* (sb from before the read: a file changed meanwhile is read again next time) */
	if (sb.st_ino != 0)
		fcache_put(ms, real, &sb, au);
	*status = 200;
	return au;
}

/* ---- life cycle ---- */

/* The messages already in the directory (a restart keeps them). */
static void
msg_scan(struct mr_messages *ms)
{
	struct mr_oggr_info info;
	struct dirent *de;
	char path[512], err[200];
	struct stat sb;
	uint8_t *data;
	size_t len, nl;
	DIR *d;

	d = opendir(ms->dir);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL && ms->n < ms->max_count) {
		nl = strlen(de->d_name);
		if (nl != MR_MSG_ID_LEN + strlen(MSG_EXT) ||
		    strcmp(de->d_name + MR_MSG_ID_LEN, MSG_EXT) != 0 ||
		    !msg_id_ok(de->d_name, MR_MSG_ID_LEN))
			continue;
		snprintf(path, sizeof(path), "%s/%s", ms->dir, de->d_name);
		data = file_read(path, ms->max_bytes, &len);
		if (data == NULL || stat(path, &sb) != 0) {
			MSG_LOG(WARNING, "%s: skipped: %s\n", path, strerror(errno));
			free(data);
			continue;
		}
		if (mr_oggr_parse(data, len, &info, NULL, NULL, err, sizeof(err)) != 0)
			MSG_LOG(WARNING, "%s: skipped: %s\n", path, err);
		else if (msg_add(ms, de->d_name, &info, len, sb.st_mtime) == NULL)
			MSG_LOG(WARNING, "%s: skipped: out of memory\n", path);
		free(data);
	}
	closedir(d);
}

struct mr_messages *
mr_messages_create(struct mr_appliance *a, char *err, size_t errlen)
{
	const struct mr_config *cfg = a->cfg;
	struct mr_messages *ms;

	err[0] = '\0';
	if (cfg->msg_dir[0] == '\0')
		return NULL;
	if (mr_wring_dir("messages.directory", cfg->msg_dir, err, errlen) < 0)
		return NULL;
	ms = calloc(1, sizeof(*ms));
	if (ms == NULL) {
		snprintf(err, errlen, "messages: out of memory");
		return NULL;
	}
	ms->a = a;
	TAILQ_INIT(&ms->msgs);
	snprintf(ms->dir, sizeof(ms->dir), "%s", cfg->msg_dir);
	ms->max_bytes = cfg->msg_max_bytes;
	ms->max_count = cfg->msg_max_count;
	ms->fc = calloc(MSG_FCACHE, sizeof(*ms->fc));	/* NULL: nothing kept, all works */
	msg_scan(ms);
	MSG_LOG(INFO, "voice messages in %s (%u found)\n", ms->dir, ms->n);
	return ms;
}

void
mr_messages_free(struct mr_messages *ms)
{
	struct mr_msg *m;

	if (ms == NULL)
		return;
	while ((m = TAILQ_FIRST(&ms->msgs)) != NULL) {
		TAILQ_REMOVE(&ms->msgs, m, link);
		free(m);
	}
	if (ms->fc != NULL) {
		unsigned int i;

		for (i = 0; i < MSG_FCACHE; i++)
			mr_msg_audio_free(ms->fc[i].au);
		free(ms->fc);
	}
	free(ms);
}

void
mr_messages_metrics(struct mr_messages *ms, FILE *f)
{
	if (ms == NULL)
		return;
	fprintf(f, "# HELP mrelay_messages_stored Voice messages stored\n"
		"# TYPE mrelay_messages_stored gauge\nmrelay_messages_stored %u\n"
		"# HELP mrelay_messages_uploaded_total Voice messages stored since start\n"
		"# TYPE mrelay_messages_uploaded_total counter\n"
		"mrelay_messages_uploaded_total %" PRIu64 "\n"
		"# HELP mrelay_messages_rejected_total Uploads refused as not valid Ogg/Opus\n"
		"# TYPE mrelay_messages_rejected_total counter\n"
		"mrelay_messages_rejected_total %" PRIu64 "\n"
		"# HELP mrelay_messages_write_errors_total Uploads that could not be written\n"
		"# TYPE mrelay_messages_write_errors_total counter\n"
		"mrelay_messages_write_errors_total %" PRIu64 "\n"
		"# HELP mrelay_messages_file_cache_hits_total Files played by name (ng play media) "
		"taken from the cache of parsed files\n"
		"# TYPE mrelay_messages_file_cache_hits_total counter\n"
		"mrelay_messages_file_cache_hits_total %" PRIu64 "\n"
		"# HELP mrelay_messages_file_cache_misses_total Files played by name read (and a WAV "
		"encoded) anew\n"
		"# TYPE mrelay_messages_file_cache_misses_total counter\n"
		"mrelay_messages_file_cache_misses_total %" PRIu64 "\n", ms->n, ms->uploads,
		ms->rejected, ms->write_errors, ms->fc_hits, ms->fc_misses);
}
