# SPDX-License-Identifier: BSD-3-Clause
"""The REST API of the running daemon: authentication, errors, limits, listing, metrics."""

import json

import harness as h
from harness import NS_V4, check, eq, fmt_ep


def _error_text(body):
	check(isinstance(body, dict) and isinstance(body.get("error"), str),
	      f"error body is not {{\"error\": \"...\"}}: {body!r}")
	return body["error"]


def test_token_auth(env):
	d = env.main
	st, body, hd = d.api("GET", "/v1/sessions", token="")
	eq(st, 401, "GET /v1/sessions without a token")
	check("authorization" in _error_text(body), f"401 error does not say why: {body}")
	eq(hd.get("www-authenticate", "").split(" ")[0], "Bearer", "WWW-Authenticate header")
	st, _, _ = d.api("GET", "/v1/sessions", token="wrong-" + env.token)
	eq(st, 401, "GET /v1/sessions with a wrong token")
	st, _, _ = d.api("GET", "/v1/sessions", token=env.token[:-1])
	eq(st, 401, "GET /v1/sessions with a truncated token")
	st, _, _ = d.api("GET", "/v1/sessions", headers={"Authorization": env.token}, token="")
	eq(st, 401, "token without the Bearer scheme")
	# Every endpoint is protected, before the path or the method is looked at.
	for method, path in (("POST", "/v1/sessions"), ("GET", "/v1/health"), ("GET", "/metrics"),
			     ("GET", "/v1/stats"), ("GET", "/v1/nothing-here"),
			     ("PUT", "/v1/sessions")):
		st, _, _ = d.api(method, path, {"legs": [{}, {}]} if method != "GET" else None,
				 token="")
		eq(st, 401, f"{method} {path} without a token")
	st, _, _ = d.api("GET", "/v1/sessions")
	eq(st, 200, "GET /v1/sessions with the token")
	st, _, _ = d.api("GET", "/v1/stats", headers={"Authorization": f"bearer {env.token}"},
			 token="")
	eq(st, 200, "GET /v1/stats with the token, scheme in lower case")


def test_api_errors(env):
	d = env.main
	cases = [
		("malformed JSON", b'{"legs": [', 400, "body"),
		("not an object", b'[1, 2]', 400, "body"),
		("bad remote", json.dumps({"legs": [{"remote": "198.18.0.10"}, {}]}).encode(), 400,
		 "legs[0].remote"),
		("one leg", json.dumps({"legs": [{}]}).encode(), 400, "legs"),
		("unknown field", json.dumps({"legs": [{}, {}], "rtcpmux": False}).encode(), 400,
		 "rtcpmux"),
		("bad family", json.dumps({"legs": [{}, {"family": "ipx"}]}).encode(), 400,
		 "legs[1].family"),
		("bad idle_timeout", json.dumps({"legs": [{}, {}], "idle_timeout": -1}).encode(), 400,
		 "idle_timeout"),
	]
	for name, raw, want, field in cases:
		st, body, _ = d.api("POST", "/v1/sessions", raw=raw)
		eq(st, want, f"POST /v1/sessions ({name})")
		msg = _error_text(body)
		check(field in msg, f"POST /v1/sessions ({name}): error {msg!r} does not name {field!r}")
	st, body, _ = d.api("GET", "/v1/sessions/999999999")
	eq(st, 404, "GET of an unknown session id")
	_error_text(body)
	st, _, _ = d.api("DELETE", "/v1/sessions/999999999")
	eq(st, 404, "DELETE of an unknown session id")
	st, _, _ = d.api("PATCH", "/v1/sessions/999999999", {"label": "x"})
	eq(st, 404, "PATCH of an unknown session id")
	st, _, _ = d.api("GET", "/v1/nothing-here")
	eq(st, 404, "GET of an unknown path")
	for method, path in (("PUT", "/v1/sessions"), ("DELETE", "/v1/health"),
			     ("POST", "/v1/stats"), ("DELETE", "/v1/sessions")):
		st, body, hd = d.api(method, path, raw=b"{}" if method in ("PUT", "POST") else None)
		eq(st, 405, f"{method} {path}")
		check(hd.get("allow"), f"{method} {path}: 405 without an Allow header")
		_error_text(body)
	# Larger than api.max_body (4096 in the smoke configuration).
	big = json.dumps({"legs": [{}, {}], "label": "x" * 8000}).encode()
	st, body, _ = d.api("POST", "/v1/sessions", raw=big)
	eq(st, 413, f"POST /v1/sessions with a {len(big)}-byte body")
	check(_error_text(body).startswith("body"), f"413 error: {body}")
	# A bad PATCH on a real session names the field.
	pa = env.ports()
	s = d.create([{"remote": fmt_ep(NS_V4[0], pa)}, {}])
	st, body, _ = d.api("PATCH", f"/v1/sessions/{s.id}", {"legs": [{"remote": "nope"}, {}]})
	eq(st, 400, "PATCH with a bad remote")
	check("legs[0].remote" in _error_text(body), f"PATCH error does not name legs[0].remote: "
	      f"{body}")
	eq(s.delete() in (200, 204), True, "DELETE of the session")


def _active_ids(d):
	body = d.ok("GET", "/v1/sessions?limit=1000", want=200)
	check(isinstance(body, dict) and isinstance(body.get("sessions"), list),
	      f"GET /v1/sessions: not {{\"sessions\": [...]}}: {body}")
	ids = [str(x["id"]) for x in body["sessions"]]
	eq(body.get("total"), len(ids), "GET /v1/sessions total")
	eq(body.get("next"), None, "GET /v1/sessions next on the only page")
	return ids


def test_list_sessions(env):
	d = env.main
	pa, pb = env.ports(2)
	s1 = d.create([{"remote": fmt_ep(NS_V4[0], pa)}, {}], label="list-one")
	s2 = d.create([{"remote": fmt_ep(NS_V4[1], pb)}, {}], label="list-two")
	ids = _active_ids(d)
	check(s1.id in ids and s2.id in ids, f"GET /v1/sessions misses {s1.id} or {s2.id}: {ids}")
	eq(s1.get().get("label"), "list-one", "label")
	# Paging: one session per page, following next, sees both exactly once.
	seen, cursor = [], "0"
	for _ in range(40):
		page = d.ok("GET", f"/v1/sessions?limit=1&cursor={cursor}", want=200)
		seen += [str(x["id"]) for x in page["sessions"]]
		if page.get("next") is None:
			break
		cursor = page["next"]
	eq(sorted(x for x in seen if x in (s1.id, s2.id)), sorted([s1.id, s2.id]),
	   "sessions seen while paging with limit=1")
	st, body, _ = d.api("GET", "/v1/sessions?limit=0")
	eq(st, 400, "GET /v1/sessions?limit=0")
	check("limit" in _error_text(body), f"limit error: {body}")
	s1.delete()
	s2.delete()
	ids = _active_ids(d)
	check(s1.id not in ids and s2.id not in ids, "deleted sessions still listed as active")


def test_max_sessions_503(env):
	d = env.main
	limit = 32			# relay.max_sessions in the smoke configuration
	active = len(_active_ids(d))
	made = []
	status = None
	body = None
	for i in range(limit + 2):
		st, body, _ = d.api("POST", "/v1/sessions", {"legs": [{}, {}], "label": f"max{i}"})
		if st != 201:
			status = st
			break
		made.append(h.Session(d, body))
	eq(status, 503, f"status after {len(made)} sessions")
	check("sessions" in _error_text(body), f"503 error does not name sessions: {body}")
	eq(len(made), limit - active, f"sessions accepted with {active} already active")
	for s in made:
		s.delete()
	st, body, _ = d.api("POST", "/v1/sessions", {"legs": [{}, {}]})
	eq(st, 201, "POST /v1/sessions after freeing the sessions")
	h.Session(d, body).delete()


def test_health_stats_metrics(env):
	d = env.main
	st, body, _ = d.api("GET", "/v1/health")
	eq(st, 200, "GET /v1/health")
	stats = d.stats()
	drops = h.sum_drops(stats)
	for reason in ("no_flow", "source_mismatch", "ipv4_fragment", "runt", "udp_malformed"):
		check(reason in drops, f"/v1/stats has no drop counter '{reason}'")
	st, text, hd = d.api("GET", "/metrics")
	eq(st, 200, "GET /metrics")
	check("text/plain" in hd.get("content-type", ""),
	      f"/metrics content-type {hd.get('content-type')!r}")
	check(isinstance(text, str) and "# TYPE" in text and "no_flow" in text,
	      "/metrics is not Prometheus text with the drop reasons")
