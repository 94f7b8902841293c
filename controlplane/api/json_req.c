/* SPDX-License-Identifier: BSD-3-Clause
 * Validation of REST request bodies (docs/API.md, "Sessions").
 *
 * The bodies come from the network: everything is checked here, once, so that the session
 * manager only ever sees well-formed requests. Every error is one line that starts with the
 * path of the offending field ("legs[1].remote: ..."), so that a client can point at it
 * without parsing prose. Unknown fields are refused rather than ignored: a misspelt
 * "rtcpmux" silently falling back to the default would be worse than an error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "json_req.h"

#define IDLE_TIMEOUT_MAX 86400
#define CLOCK_RATE_MAX 1000000
/* How much of a client's bad value is quoted back in an error message. */
#define ECHO_MAX 48

/* The short name the validators below use. */
#define err_set mr_json_err_set

void
mr_json_err_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *
mr_json_echo(const char *s, char *out, size_t n)
{
	size_t i, max = n - 4;

	for (i = 0; s[i] != '\0' && i < max; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\'') ? s[i] : '?';
	if (s[i] != '\0') {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

json_t *
mr_json_body_load(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;

	if (body == NULL || len == 0) {
		err_set(err, errlen, "body: empty");
		return NULL;
	}
	/* JSON_DECODE_ANY so that a scalar body gets our own message below instead of
	 * jansson's; duplicate keys are refused because which one wins is undefined
	 * (RFC 8259 §4). NUL inside strings stays refused (no JSON_ALLOW_NUL). */
	root = json_loadb(body, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		size_t i;

		/* jansson quotes the input near the error: keep only printable ASCII so the
		 * message stays one line of valid UTF-8 (it is sent back inside JSON). */
		for (i = 0; i < sizeof(jerr.text) && jerr.text[i] != '\0'; i++)
			if (jerr.text[i] < 0x20 || jerr.text[i] >= 0x7f)
				jerr.text[i] = '?';
		err_set(err, errlen, "body: invalid JSON: %s (line %d, column %d)", jerr.text,
			jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		err_set(err, errlen, "body: must be a JSON object");
		return NULL;
	}
	return root;
}

static int
get_uint_range(json_t *v, const char *name, unsigned int min, unsigned int max,
	       unsigned int *out, char *err, size_t errlen)
{
	json_int_t i;

	if (!json_is_integer(v)) {
		err_set(err, errlen, "%s: must be an integer", name);
		return -EINVAL;
	}
	i = json_integer_value(v);
	if (i < (json_int_t)min || i > (json_int_t)max) {
		err_set(err, errlen, "%s: must be between %u and %u", name, min, max);
		return -EINVAL;
	}
	*out = (unsigned int)i;
	return 0;
}

static int
get_label(json_t *v, char *label, char *err, size_t errlen)
{
	const char *s;
	size_t len, i;

	if (!json_is_string(v)) {
		err_set(err, errlen, "label: must be a string");
		return -EINVAL;
	}
	s = json_string_value(v);
	len = json_string_length(v);
	if (len > MR_LABEL_LEN - 1) {
		err_set(err, errlen, "label: longer than %d bytes", MR_LABEL_LEN - 1);
		return -EINVAL;
	}
	/* The label ends up in logs and listings: keep it one line. jansson has already
	 * checked that it is valid UTF-8 without NUL. */
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			err_set(err, errlen, "label: must not contain control characters");
			return -EINVAL;
		}
	}
	memcpy(label, s, len);
	label[len] = '\0';
	return 0;
}

/* "remote" / "rtcp_remote": a string "IP:port" (or "[v6]:port"). */
static int
get_ep(json_t *v, int leg, const char *name, struct mr_ep *ep, char *err, size_t errlen)
{
	char buf[ECHO_MAX];

	if (!json_is_string(v)) {
		err_set(err, errlen, "legs[%d].%s: must be a string 'IP:port'", leg, name);
		return -EINVAL;
	}
	/* strlen() check: a string with NUL cannot get here (no JSON_ALLOW_NUL), but the
	 * endpoint parser must see all of what the client sent, so make it explicit. */
	if (strlen(json_string_value(v)) != json_string_length(v) ||
	    mr_ep_parse(json_string_value(v), ep) < 0) {
		err_set(err, errlen, "legs[%d].%s: '%s' is not an IP:port", leg, name,
			mr_json_echo(json_string_value(v), buf, sizeof(buf)));
		return -EINVAL;
	}
	return 0;
}

static int
get_interface(json_t *v, int leg, char *ifname, char *err, size_t errlen)
{
	const char *s;
	size_t len, i;

	if (!json_is_string(v)) {
		err_set(err, errlen, "legs[%d].interface: must be a string", leg);
		return -EINVAL;
	}
	s = json_string_value(v);
	len = json_string_length(v);
	if (len == 0 || len > MR_IFNAME_LEN - 1) {
		err_set(err, errlen, "legs[%d].interface: must be 1 to %d bytes long", leg,
			MR_IFNAME_LEN - 1);
		return -EINVAL;
	}
	/* Port names are configuration identifiers: printable ASCII without spaces. */
	for (i = 0; i < len; i++) {
		if (s[i] <= 0x20 || s[i] >= 0x7f) {
			err_set(err, errlen,
				"legs[%d].interface: must be printable ASCII without spaces", leg);
			return -EINVAL;
		}
	}
	memcpy(ifname, s, len);
	ifname[len] = '\0';
	return 0;
}

static const char *
family_name(uint8_t f)
{
	return f == MR_AF6 ? "IPv6" : "IPv4";
}

/* The checks shared by create and PATCH once both endpoints are known: RTCP goes to the
 * same host family as RTP (RFC 3550 §11: RTCP uses the same network address as RTP). */
static int
check_rtcp_family(const struct mr_leg_req *l, int leg, char *err, size_t errlen)
{
	if (l->has_rtcp_remote && l->has_remote &&
	    l->rtcp_remote.family != l->remote.family) {
		err_set(err, errlen,
			"legs[%d].rtcp_remote: must be the same address family as remote (%s)",
			leg, family_name(l->remote.family));
		return -EINVAL;
	}
	return 0;
}

void
mr_srtp_req_wipe(struct mr_srtp_req *r)
{
	mr_srtp_key_wipe(&r->remote_key);
	mr_srtp_key_wipe(&r->local_key);
}

/* One SDES key at field ("legs[0].srtp.remote_key"; RFC 4568 "SUITE inline:KEY"). */
static int
get_sdes(json_t *v, const char *field, struct mr_srtp_key *k, char *err, size_t errlen)
{
	char why[160];

	if (!json_is_string(v)) {
		err_set(err, errlen, "%s: must be a string 'SUITE inline:KEY'", field);
		return -EINVAL;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		err_set(err, errlen, "%s: contains a NUL byte", field);
		return -EINVAL;
	}
	if (mr_srtp_sdes_parse(json_string_value(v), k, why, sizeof(why)) < 0) {
		/* The reason never quotes the key. */
		err_set(err, errlen, "%s: %s", field, why);
		return -EINVAL;
	}
	return 0;
}

int
mr_parse_srtp(json_t *obj, const char *field, int patch, struct mr_srtp_req *r, char *err,
	      size_t errlen)
{
	char name[96];
	const char *key;
	json_t *v;

	memset(r, 0, sizeof(*r));
	if (json_is_null(obj)) {
		if (patch)
			r->disable = 1;
		return 0;
	}
	if (!json_is_object(obj)) {
		err_set(err, errlen, "%s: must be an object (or null)", field);
		return -EINVAL;
	}
	r->present = 1;
	json_object_foreach(obj, key, v) {
		if (strcmp(key, "suite") == 0) {
			char buf[ECHO_MAX];
			enum mr_srtp_suite su = json_is_string(v) ?
				mr_srtp_suite_by_name(json_string_value(v)) : MR_SRTP_SUITE_NONE;

			if (su == MR_SRTP_SUITE_NONE) {
				err_set(err, errlen, "%s.suite: '%s' is not one of "
					"AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32, "
					"AES_256_CM_HMAC_SHA1_80, AEAD_AES_128_GCM, "
					"AEAD_AES_256_GCM", field, json_is_string(v) ?
					mr_json_echo(json_string_value(v), buf, sizeof(buf)) :
					"(not a string)");
				return -EINVAL;
			}
			r->suite = (uint8_t)su;
		} else if (strcmp(key, "remote_key") == 0) {
			if (json_is_null(v))
				continue;
			snprintf(name, sizeof(name), "%s.remote_key", field);
			if (get_sdes(v, name, &r->remote_key, err, errlen) < 0)
				return -EINVAL;
			r->has_remote_key = 1;
		} else if (strcmp(key, "local_key") == 0) {
			if (json_is_null(v))
				continue;
			snprintf(name, sizeof(name), "%s.local_key", field);
			if (get_sdes(v, name, &r->local_key, err, errlen) < 0)
				return -EINVAL;
			r->has_local_key = 1;
		} else {
			char buf[ECHO_MAX];

			err_set(err, errlen, "%s.%s: unknown field", field,
				mr_json_echo(key, buf, sizeof(buf)));
			return -EINVAL;
		}
	}
	if (r->suite == MR_SRTP_SUITE_NONE)
		r->suite = r->has_remote_key ? r->remote_key.suite :
			   r->has_local_key ? r->local_key.suite : MR_SRTP_SUITE_NONE;
	if (r->suite == MR_SRTP_SUITE_NONE) {
		err_set(err, errlen, patch ? "%s: nothing to change (give remote_key, local_key "
			"or suite)" : "%s: needs suite, remote_key or local_key", field);
		return -EINVAL;
	}
	return 0;
}

/* The "webrtc" member of a leg: {"fingerprint": "sha-256 AB:CD:..."} (create: optional;
 * PATCH: required). Checked for shape here, parsed by the DTLS code (sessions.c). */
static int
parse_leg_webrtc(json_t *v, int leg, int patch, struct mr_leg_req *l, char *err, size_t errlen)
{
	const char *key;
	json_t *f;

	if (!json_is_object(v)) {
		err_set(err, errlen, "legs[%d].webrtc: must be an object", leg);
		return -EINVAL;
	}
	json_object_foreach(v, key, f) {
		if (strcmp(key, "fingerprint") != 0) {
			char buf[ECHO_MAX];

			err_set(err, errlen, "legs[%d].webrtc.%s: unknown field", leg,
				mr_json_echo(key, buf, sizeof(buf)));
			return -EINVAL;
		}
		if (!json_is_string(f) || json_string_length(f) == 0 ||
		    json_string_length(f) >= MR_FP_LEN) {
			err_set(err, errlen, "legs[%d].webrtc.fingerprint: must be a string like "
				"'sha-256 AB:CD:...' (at most %d characters)", leg, MR_FP_LEN - 1);
			return -EINVAL;
		}
		snprintf(l->fingerprint, sizeof(l->fingerprint), "%s", json_string_value(f));
	}
	if (patch && l->fingerprint[0] == '\0') {
		err_set(err, errlen, "legs[%d].webrtc.fingerprint: missing", leg);
		return -EINVAL;
	}
	l->webrtc = 1;
	return 0;
}

static int
parse_create_leg(json_t *obj, int leg, int rtcp_mux, struct mr_leg_req *l, char *err,
		 size_t errlen)
{
	const char *key;
	json_t *v;
	int ret;

	if (!json_is_object(obj)) {
		err_set(err, errlen, "legs[%d]: must be an object", leg);
		return -EINVAL;
	}
	json_object_foreach(obj, key, v) {
		if (strcmp(key, "remote") == 0) {
			if (json_is_null(v))
				continue;	/* no remote: latch (symmetric RTP) */
			ret = get_ep(v, leg, "remote", &l->remote, err, errlen);
			if (ret < 0)
				return ret;
			l->has_remote = 1;
		} else if (strcmp(key, "rtcp_remote") == 0) {
			if (json_is_null(v))
				continue;
			ret = get_ep(v, leg, "rtcp_remote", &l->rtcp_remote, err, errlen);
			if (ret < 0)
				return ret;
			l->has_rtcp_remote = 1;
		} else if (strcmp(key, "interface") == 0) {
			ret = get_interface(v, leg, l->interface, err, errlen);
			if (ret < 0)
				return ret;
		} else if (strcmp(key, "family") == 0) {
			if (json_is_string(v) && strcmp(json_string_value(v), "ipv4") == 0 &&
			    json_string_length(v) == 4) {
				l->family = MR_AF4;
			} else if (json_is_string(v) &&
				   strcmp(json_string_value(v), "ipv6") == 0 &&
				   json_string_length(v) == 4) {
				l->family = MR_AF6;
			} else {
				err_set(err, errlen, "legs[%d].family: must be 'ipv4' or 'ipv6'",
					leg);
				return -EINVAL;
			}
		} else if (strcmp(key, "srtp") == 0) {
			if (json_is_null(v))
				continue;	/* plain RTP */
			char f[32];

			snprintf(f, sizeof(f), "legs[%d].srtp", leg);
			ret = mr_parse_srtp(v, f, 0, &l->srtp, err, errlen);
			if (ret < 0)
				return ret;
		} else if (strcmp(key, "webrtc") == 0) {
			if (json_is_null(v))
				continue;
			ret = parse_leg_webrtc(v, leg, 0, l, err, errlen);
			if (ret < 0)
				return ret;
		} else {
			char buf[ECHO_MAX];

			err_set(err, errlen, "legs[%d].%s: unknown field", leg,
				mr_json_echo(key, buf, sizeof(buf)));
			return -EINVAL;
		}
	}

	if (l->has_remote && l->family != 0 && l->family != l->remote.family) {
		err_set(err, errlen, "legs[%d].family: '%s' does not match the %s remote", leg,
			l->family == MR_AF6 ? "ipv6" : "ipv4", family_name(l->remote.family));
		return -EINVAL;
	}
	if (l->has_remote && l->family == 0)
		l->family = l->remote.family;
	if (l->webrtc) {
		/* The keys come from DTLS; ICE runs on the one port rtcp-mux leaves. */
		if (l->srtp.present) {
			err_set(err, errlen, "legs[%d].webrtc: excludes srtp (DTLS gives the "
				"keys)", leg);
			return -EINVAL;
		}
		if (!rtcp_mux) {
			err_set(err, errlen, "legs[%d].webrtc: needs rtcp_mux true", leg);
			return -EINVAL;
		}
	}
	if (l->has_rtcp_remote) {
		/* With rtcp-mux (RFC 5761) there is no separate RTCP flow to address. */
		if (rtcp_mux) {
			err_set(err, errlen, "legs[%d].rtcp_remote: needs rtcp_mux false", leg);
			return -EINVAL;
		}
		if (!l->has_remote) {
			err_set(err, errlen, "legs[%d].rtcp_remote: needs remote", leg);
			return -EINVAL;
		}
	}
	return check_rtcp_family(l, leg, err, errlen);
}

static int
legs_array(json_t *legs, char *err, size_t errlen)
{
	if (!json_is_array(legs)) {
		err_set(err, errlen, "legs: must be an array of 2 objects");
		return -EINVAL;
	}
	if (json_array_size(legs) != 2) {
		err_set(err, errlen, "legs: must have exactly 2 entries (got %zu)",
			json_array_size(legs));
		return -EINVAL;
	}
	return 0;
}

/* One session object (a POST /v1/sessions body, or an element of a batch). */
static int
parse_create_obj(json_t *root, struct mr_session_req *req, char *err, size_t errlen)
{
	json_t *v, *legs = NULL;
	const char *key;
	int ret = -EINVAL;
	int i;

	memset(req, 0, sizeof(*req));
	req->rtcp_mux = 1;
	if (!json_is_object(root)) {
		err_set(err, errlen, "body: must be a JSON object");
		return -EINVAL;
	}

	/* Scalars first, in document order; the legs afterwards because their checks
	 * depend on rtcp_mux, wherever it appears in the object. */
	json_object_foreach(root, key, v) {
		if (strcmp(key, "legs") == 0) {
			legs = v;
		} else if (strcmp(key, "rtcp_mux") == 0) {
			if (!json_is_boolean(v)) {
				err_set(err, errlen, "rtcp_mux: must be a boolean");
				goto done;
			}
			req->rtcp_mux = json_is_true(v);
		} else if (strcmp(key, "idle_timeout") == 0) {
			if (get_uint_range(v, "idle_timeout", 1, IDLE_TIMEOUT_MAX,
					   &req->idle_timeout, err, errlen) < 0)
				goto done;
		} else if (strcmp(key, "clock_rate") == 0) {
			unsigned int rate;

			if (get_uint_range(v, "clock_rate", 1, CLOCK_RATE_MAX, &rate, err,
					   errlen) < 0)
				goto done;
			req->clock_rate = rate;
		} else if (strcmp(key, "label") == 0) {
			if (get_label(v, req->label, err, errlen) < 0)
				goto done;
		} else {
			char buf[ECHO_MAX];

			err_set(err, errlen, "%s: unknown field",
				mr_json_echo(key, buf, sizeof(buf)));
			goto done;
		}
	}
	if (legs == NULL) {
		err_set(err, errlen, "legs: required");
		goto done;
	}
	if (legs_array(legs, err, errlen) < 0)
		goto done;
	for (i = 0; i < 2; i++) {
		if (parse_create_leg(json_array_get(legs, i), i, req->rtcp_mux, &req->legs[i],
				     err, errlen) < 0)
			goto done;
	}
	ret = 0;
done:
	return ret;
}

int
mr_parse_session_create(const char *body, size_t len, struct mr_session_req *req,
			char *err, size_t errlen)
{
	json_t *root;
	int ret;

	if (req == NULL)
		return -EINVAL;
	memset(req, 0, sizeof(*req));
	root = mr_json_body_load(body, len, err, errlen);
	if (root == NULL)
		return -EINVAL;
	ret = parse_create_obj(root, req, err, errlen);
	json_decref(root);
	return ret;
}

int
mr_parse_session_batch(const char *body, size_t len, struct mr_session_req **reqs,
		       unsigned int *n, char *err, size_t errlen)
{
	struct mr_session_req *r = NULL;
	json_t *root, *arr = NULL, *v;
	const char *key;
	char one[256];
	size_t i, cnt = 0;
	int ret = -EINVAL;

	if (reqs == NULL || n == NULL)
		return -EINVAL;
	*reqs = NULL;
	*n = 0;
	root = mr_json_body_load(body, len, err, errlen);
	if (root == NULL)
		return -EINVAL;
	json_object_foreach(root, key, v) {
		if (strcmp(key, "sessions") == 0) {
			arr = v;
		} else {
			char buf[ECHO_MAX];

			err_set(err, errlen, "%s: unknown field",
				mr_json_echo(key, buf, sizeof(buf)));
			goto free_req;
		}
	}
	if (arr == NULL) {
		err_set(err, errlen, "sessions: required");
		goto free_req;
	}
	if (!json_is_array(arr)) {
		err_set(err, errlen, "sessions: must be an array");
		goto free_req;
	}
	cnt = json_array_size(arr);
	if (cnt == 0 || cnt > MR_BATCH_MAX) {
		err_set(err, errlen, "sessions: must hold 1 to %d sessions, not %zu", MR_BATCH_MAX,
			cnt);
		goto free_req;
	}
	r = calloc(cnt, sizeof(*r));
	if (r == NULL) {
		ret = -ENOMEM;
		err_set(err, errlen, "internal: out of memory");
		goto free_req;
	}
	for (i = 0; i < cnt; i++) {
		if (!json_is_object(json_array_get(arr, i))) {
			err_set(err, errlen, "sessions[%zu]: must be an object", i);
			goto free_req;
		}
		if (parse_create_obj(json_array_get(arr, i), &r[i], one, sizeof(one)) < 0) {
			err_set(err, errlen, "sessions[%zu].%s", i, one);
			goto free_req;
		}
	}
	*reqs = r;
	*n = (unsigned int)cnt;
	r = NULL;
	ret = 0;
free_req:
	if (r != NULL)
		for (i = 0; i < cnt; i++) {
			mr_srtp_req_wipe(&r[i].legs[0].srtp);
			mr_srtp_req_wipe(&r[i].legs[1].srtp);
		}
	free(r);
	json_decref(root);
	return ret;
}

static int
parse_patch_leg(json_t *obj, int leg, struct mr_session_patch *p, char *err, size_t errlen)
{
	struct mr_leg_req *l = &p->legs[leg];
	const char *key;
	json_t *v;
	int ret;

	if (!json_is_object(obj)) {
		err_set(err, errlen, "legs[%d]: must be an object", leg);
		return -EINVAL;
	}
	json_object_foreach(obj, key, v) {
		if (strcmp(key, "remote") == 0) {
			if (json_is_null(v)) {
				/* Forget the remote: the leg latches again (symmetric RTP). */
				l->clear_remote = 1;
				continue;
			}
			ret = get_ep(v, leg, "remote", &l->remote, err, errlen);
			if (ret < 0)
				return ret;
			l->has_remote = 1;
		} else if (strcmp(key, "rtcp_remote") == 0) {
			/* null has no meaning of its own here: forgetting the remote
			 * forgets its RTCP remote too. */
			ret = get_ep(v, leg, "rtcp_remote", &l->rtcp_remote, err, errlen);
			if (ret < 0)
				return ret;
			l->has_rtcp_remote = 1;
		} else if (strcmp(key, "muted") == 0) {
			if (!json_is_boolean(v)) {
				err_set(err, errlen, "legs[%d].muted: must be true or false", leg);
				return -EINVAL;
			}
			l->has_muted = 1;
			l->muted = json_is_true(v);
		} else if (strcmp(key, "interface") == 0 || strcmp(key, "family") == 0) {
			err_set(err, errlen, "legs[%d].%s: cannot be changed", leg, key);
			return -EINVAL;
		} else if (strcmp(key, "srtp") == 0) {
			char f[32];

			snprintf(f, sizeof(f), "legs[%d].srtp", leg);
			ret = mr_parse_srtp(v, f, 1, &l->srtp, err, errlen);
			if (ret < 0)
				return ret;
		} else if (strcmp(key, "webrtc") == 0) {
			ret = parse_leg_webrtc(v, leg, 1, l, err, errlen);
			if (ret < 0)
				return ret;
		} else {
			char buf[ECHO_MAX];

			err_set(err, errlen, "legs[%d].%s: unknown field", leg,
				mr_json_echo(key, buf, sizeof(buf)));
			return -EINVAL;
		}
	}
	if (l->clear_remote && l->has_rtcp_remote) {
		err_set(err, errlen, "legs[%d].rtcp_remote: cannot be set when remote is null",
			leg);
		return -EINVAL;
	}
	p->has_leg[leg] = json_object_size(obj) != 0;
	return check_rtcp_family(l, leg, err, errlen);
}

int
mr_parse_session_patch(const char *body, size_t len, struct mr_session_patch *p,
		       char *err, size_t errlen)
{
	json_t *root, *v, *legs = NULL;
	const char *key;
	int ret = -EINVAL;
	int i;

	if (p == NULL)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	root = mr_json_body_load(body, len, err, errlen);
	if (root == NULL)
		return -EINVAL;

	json_object_foreach(root, key, v) {
		if (strcmp(key, "legs") == 0) {
			legs = v;
		} else if (strcmp(key, "idle_timeout") == 0) {
			if (get_uint_range(v, "idle_timeout", 1, IDLE_TIMEOUT_MAX,
					   &p->idle_timeout, err, errlen) < 0)
				goto decref_root;
			p->has_idle_timeout = 1;
		} else if (strcmp(key, "label") == 0) {
			if (get_label(v, p->label, err, errlen) < 0)
				goto decref_root;
			p->has_label = 1;
		} else if (strcmp(key, "rtcp_mux") == 0 || strcmp(key, "clock_rate") == 0) {
			err_set(err, errlen, "%s: cannot be changed", key);
			goto decref_root;
		} else {
			char buf[ECHO_MAX];

			err_set(err, errlen, "%s: unknown field",
				mr_json_echo(key, buf, sizeof(buf)));
			goto decref_root;
		}
	}
	if (legs != NULL) {
		if (legs_array(legs, err, errlen) < 0)
			goto decref_root;
		for (i = 0; i < 2; i++) {
			if (parse_patch_leg(json_array_get(legs, i), i, p, err, errlen) < 0)
				goto decref_root;
		}
	}
	if (!p->has_leg[0] && !p->has_leg[1] && !p->has_idle_timeout && !p->has_label) {
		err_set(err, errlen, "body: nothing to change");
		goto decref_root;
	}
	ret = 0;
decref_root:
	json_decref(root);
	return ret;
}

int
mr_json_err(json_t **body, int status, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	*body = json_pack("{s:s}", "error", buf);
	return status;
}

json_t *
mr_json_ep(const struct mr_ep *ep)
{
	char buf[64];

	if (ep->family == 0)
		return json_null();
	return json_string(mr_ep_fmt(ep, buf, sizeof(buf), 1));
}
