# SPDX-License-Identifier: BSD-3-Clause
"""docs/openapi.yaml against the running daemon: every documented operation is driven and its
reply validated against the spec's schema for that status (python3-jsonschema); the routes
the sources register (MR_HTTP_ROUTE, and /v1/ws in api.c) and the spec's paths must be the same
set; on every documented path, each method the spec does not list must be answered 405."""

import asyncio
import glob
import json
import os
import re

import harness as h
from harness import check, eq

try:
	import jsonschema
	import yaml
except ImportError:	# the runner reports the skip (a failure with --require-all)
	jsonschema = yaml = None

try:
	import websockets
except ImportError:
	websockets = None

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC = os.path.join(ROOT, "docs", "openapi.yaml")
METHODS = ("get", "post", "patch", "delete", "put")


def _need():
	if jsonschema is None or yaml is None:
		raise h.Skip("python3-jsonschema and python3-yaml needed (apt-get install "
			     "python3-jsonschema python3-yaml)")
	with open(SPEC) as f:
		return yaml.safe_load(f)


def source_routes():
	"""(name, match, path) of every route the daemon's sources register."""
	routes = []
	for src in glob.glob(os.path.join(ROOT, "controlplane", "**", "*.c"), recursive=True):
		text = open(src).read()
		for var in re.findall(r"^MR_HTTP_ROUTE\((\w+)\)", text, re.M):
			m = re.search(r"struct mr_http_route " + var + r"\s*=\s*\{(.*?)\};", text, re.S)
			check(m is not None, f"{src}: MR_HTTP_ROUTE({var}) without its struct")
			body = m.group(1)
			name = re.search(r'\.name\s*=\s*"([^"]+)"', body)
			path = re.search(r'\.path\s*=\s*"([^"]+)"', body)
			match = re.search(r"\.match\s*=\s*(MR_ROUTE_\w+)", body)
			check(name and path and match, f"{src}: route {var} lacks name, path or match")
			routes.append((name.group(1), match.group(1), path.group(1)))
		# The WebSocket upgrade is answered by the HTTP layer itself.
		for p in re.findall(r'strcmp\(url, "(/v1/ws)"\) == 0', text):
			routes.append((p, "MR_ROUTE_EXACT", p))
	return routes


class Validator:
	def __init__(self, spec):
		self.spec = spec
		self.resolver = jsonschema.RefResolver.from_schema(spec)
		self.done = set()

	def op(self, path, method):
		ops = self.spec["paths"].get(path)
		check(ops is not None and method in ops, f"spec has no {method.upper()} {path}")
		return ops[method]

	def reply(self, path, method, status, body, headers=None):
		"""Check a live reply against the spec's response for (path, method, status)."""
		self.done.add((path, method))
		responses = self.op(path, method)["responses"]
		r = responses.get(str(status))
		check(r is not None, f"{method.upper()} {path}: status {status} is not documented "
		      f"(documented: {', '.join(responses)}); body {str(body)[:200]}")
		if "$ref" in r:
			r = self.resolver.resolve(r["$ref"])[1]
		content = r.get("content")
		if not content:
			check(body in ("", None), f"{method.upper()} {path} {status}: a body where the "
			      f"spec has none: {str(body)[:200]}")
			return
		ctype, media = next(iter(content.items()))
		if ctype == "application/json":
			check(isinstance(body, (dict, list)), f"{method.upper()} {path} {status}: not "
			      f"JSON: {str(body)[:200]}")
		self.validate(body, media["schema"], f"{method.upper()} {path} {status}")

	def validate(self, value, schema, what):
		try:
			jsonschema.Draft202012Validator(schema, resolver=self.resolver).validate(value)
		except jsonschema.ValidationError as e:
			loc = "/".join(str(x) for x in e.absolute_path)
			raise h.SmokeError(f"{what}: reply does not match the spec at '{loc}': "
					   f"{e.message[:300]}") from None

	def request(self, path, method, body):
		"""Requests the test sends must match the spec too (it documents what works)."""
		rb = self.op(path, method).get("requestBody")
		check(rb is not None, f"{method.upper()} {path}: the spec has no request body")
		self.validate(body, rb["content"]["application/json"]["schema"],
			      f"{method.upper()} {path} request")


def test_openapi_route_parity(env):
	"""The spec's paths are the routes the sources register, and no more."""
	spec = _need()
	routes = source_routes()
	check(len(routes) >= 7, f"found only {len(routes)} routes in the sources: {routes}")
	paths = set(spec["paths"])
	subtrees = [p for _, m, p in routes if m == "MR_ROUTE_SUBTREE"]
	for name, match, path in routes:
		check(name in paths, f"route {name} ({match}) is registered in the sources but not "
		      "described in docs/openapi.yaml")
	names = {n for n, _, _ in routes}
	for p in paths:
		check(p in names or any(p == s or p.startswith(s + "/") for s in subtrees),
		      f"docs/openapi.yaml describes {p}, which no route in the sources serves")


def _concrete(path, ids):
	return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)


def test_openapi_drive_all(env):
	"""Every documented operation against the live daemon, replies validated; then every
	undocumented method on every documented path must be a 405."""
	spec = _need()
	v = Validator(spec)
	d = env.main

	def call(method, path, ids=None, body=None, want=None, token=None):
		url = _concrete(path, ids or {})
		if body is not None and want is not None and want < 400:
			v.request(path, method, body)
		st, b, hd = d.api(method.upper(), url, body, token=token)
		if want is not None:
			eq(st, want, f"{method.upper()} {url} ({str(b)[:200]})")
		v.reply(path, method, st, b, hd)
		return b

	ids = {}
	# Sessions.
	s = call("post", "/v1/sessions", body={"legs": [{"remote": "198.18.0.10:5004"}, {}],
					      "rtcp_mux": False, "label": "openapi"}, want=201)
	ids["id"] = s["id"]
	call("get", "/v1/sessions", want=200)
	call("get", "/v1/sessions/{id}", ids, want=200)
	call("patch", "/v1/sessions/{id}", ids, body={"idle_timeout": 120, "label": "x"}, want=200)
	b = call("post", "/v1/sessions/batch", body={"sessions": [{"legs": [{}, {}]},
								  {"legs": [{}, {}]}]}, want=201)
	for x in b["sessions"]:
		call("delete", "/v1/sessions/{id}", {"id": x["id"]}, want=204)
	call("delete", "/v1/sessions/{id}", ids, want=204)
	ended = call("get", "/v1/sessions/{id}", ids, want=200)
	eq(ended["state"], "ended", "state of a deleted session")
	# Errors have the documented shape.
	call("delete", "/v1/sessions/{id}", ids, want=409)
	call("get", "/v1/sessions/{id}", {"id": "ffffffffffffffff"}, want=404)
	call("post", "/v1/sessions", body={"legs": [{}]}, want=400)
	call("get", "/v1/health", token="", want=401)

	# Rooms, participants, streams.
	r = call("post", "/v1/rooms", body={"name": "openapi", "max_participants": 4}, want=201)
	ids["room"] = r["id"]
	call("get", "/v1/rooms", want=200)
	p = call("post", "/v1/rooms/{room}/participants", ids, body={"name": "alice"}, want=201)
	ids["participant"] = p["id"]
	call("get", "/v1/rooms/{room}/participants", ids, want=200)
	st = call("post", "/v1/rooms/{room}/participants/{participant}/streams", ids,
		  body={"ssrc": 4242, "kind": "audio", "pt": 111, "codec": "opus"}, want=201)
	ids["stream"] = st["id"]
	call("get", "/v1/rooms/{room}/participants/{participant}/streams", ids, want=200)
	call("get", "/v1/rooms/{room}/participants/{participant}/streams/{stream}", ids, want=200)
	call("patch", "/v1/rooms/{room}/participants/{participant}/streams/{stream}", ids,
	     body={"muted": True}, want=200)
	call("patch", "/v1/rooms/{room}/participants/{participant}", ids,
	     body={"muted": {"video": True}}, want=200)
	call("get", "/v1/rooms/{room}/participants/{participant}", ids, want=200)
	# A WebRTC participant (ICE credentials, DTLS fingerprint in its view).
	wp = call("post", "/v1/rooms/{room}/participants", ids, body={"name": "carol",
								       "webrtc": True}, want=201)
	check(len(wp["webrtc"]["ice_pwd"]) >= 22, "WebRTC participant without an ICE pwd")
	call("get", "/v1/rooms/{room}", ids, want=200)
	if websockets is not None:
		# leave removes the participant: a second one for the WebSocket.
		bob = call("post", "/v1/rooms/{room}/participants", ids, body={"name": "bob"},
			   want=201)
		_ws(v, d, bob["token"])
	else:
		v.done.add(("/v1/ws", "get"))	# the upgrade below still checks the route
	st_, b_, _ = d.api("GET", "/v1/ws", token="")
	v.reply("/v1/ws", "get", st_, b_)
	call("delete", "/v1/rooms/{room}/participants/{participant}/streams/{stream}", ids,
	     want=204)
	call("delete", "/v1/rooms/{room}/participants/{participant}", ids, want=204)
	call("delete", "/v1/rooms/{room}", ids, want=204)
	call("get", "/v1/rooms/{room}", ids, want=404)

	# Recording (the smoke daemon has recording.directory): a session's leg.
	sess = call("post", "/v1/sessions", body={"legs": [{}, {}]}, want=201)
	rec = call("post", "/v1/recordings", body={"session": sess["id"], "leg": "a"}, want=201)
	call("post", "/v1/recordings", body={"session": sess["id"]}, want=409)
	call("get", "/v1/recordings", want=200)
	call("get", "/v1/recordings/{id}", {"id": rec["id"]}, want=200)
	call("delete", "/v1/recordings/{id}", {"id": rec["id"]}, want=204)
	call("delete", "/v1/sessions/{id}", {"id": sess["id"]}, want=204)
	call("get", "/v1/recordings/{id}", {"id": "65535"}, want=404)
	call("get", "/v1/recording-files", want=200)
	# No packet arrived, so no file was made: the file routes answer 404.
	call("get", "/v1/recording-files/{name}", {"name": "no-such-file"}, want=404)
	call("delete", "/v1/recording-files/{name}", {"name": "no-such-file"}, want=404)

	# Voice messages (the smoke daemon has messages.directory): an upload, a bad one.
	import test_messages as tm
	data = tm.make_ogg(env, "openapi.ogg", buffers=10)
	got = {}
	for raw, want in ((data, 201), (data[:-5], 400)):
		st, got[want], hd = tm.upload(d, raw)
		eq(st, want, f"POST /v1/messages ({str(got[want])[:200]})")
		v.reply("/v1/messages", "post", st, got[want], hd)
	msg = got[201]
	call("post", "/v1/messages", body={"from_recording": "no-such-file"}, want=404)
	call("get", "/v1/messages", want=200)
	call("get", "/v1/messages/{id}", {"id": msg["id"]}, want=200)
	call("get", "/v1/messages/{id}/ogg", {"id": msg["id"]}, want=200)
	# Played into a room (nobody in it: the packets are counted and dropped).
	pr = call("post", "/v1/rooms", body={"name": "playback"}, want=201)
	pids = {"room": pr["id"]}
	pb = call("post", "/v1/rooms/{room}/playbacks", pids, body={"message": msg["id"]},
		  want=201)
	pids["playback"] = pb["id"]
	call("post", "/v1/rooms/{room}/playbacks", pids, body={"message": "0" * 16}, want=404)
	call("get", "/v1/rooms/{room}/playbacks", pids, want=200)
	call("get", "/v1/rooms/{room}/playbacks/{playback}", pids, want=200)
	call("delete", "/v1/rooms/{room}/playbacks/{playback}", pids, want=204)
	call("get", "/v1/rooms/{room}/playbacks/{playback}", pids, want=200)
	call("delete", "/v1/rooms/{room}/playbacks/{playback}", pids, want=204)
	call("get", "/v1/rooms/{room}/playbacks/{playback}", pids, want=404)
	call("delete", "/v1/rooms/{room}", pids, want=204)
	# Played into a session's leg (no remote: the packets are counted and dropped).
	sess = call("post", "/v1/sessions", body={"legs": [{}, {}]}, want=201)
	sids = {"id": sess["id"]}
	sp = call("post", "/v1/sessions/{id}/playbacks", sids,
		  body={"message": msg["id"], "leg": 1, "codec": "pcma"}, want=201)
	call("post", "/v1/sessions/{id}/playbacks", sids, body={"message": msg["id"], "leg": 1},
	     want=409)
	sids["playback"] = sp["id"]
	call("get", "/v1/sessions/{id}/playbacks", sids, want=200)
	call("get", "/v1/sessions/{id}/playbacks/{playback}", sids, want=200)
	call("delete", "/v1/sessions/{id}/playbacks/{playback}", sids, want=204)
	call("get", "/v1/sessions/{id}/playbacks/{playback}", sids, want=200)
	call("delete", "/v1/sessions/{id}/playbacks/{playback}", sids, want=204)
	call("get", "/v1/sessions/{id}/playbacks/{playback}", sids, want=404)
	call("delete", "/v1/sessions/{id}", sids, want=204)
	call("get", "/v1/sessions/{id}/playbacks", {"id": "ffffffffffffffff"}, want=404)
	call("delete", "/v1/messages/{id}", {"id": msg["id"]}, want=204)
	call("get", "/v1/messages/{id}", {"id": msg["id"]}, want=404)
	call("get", "/v1/messages/{id}/ogg", {"id": msg["id"]}, want=404)

	# Per-flow capture (the smoke daemon has capture.directory): a session's leg.
	sess = call("post", "/v1/sessions", body={"legs": [{}, {}]}, want=201)
	cap = call("post", "/v1/captures", body={"session": sess["id"], "leg": 0, "packets": 10,
						  "duration_ms": 60000}, want=201)
	cid = {"id": cap["id"]}
	call("post", "/v1/captures", body={"session": sess["id"], "leg": "a"}, want=409)
	call("post", "/v1/captures", body={"session": sess["id"], "leg": 0, "packets": 0},
	     want=400)
	call("get", "/v1/captures", want=200)
	call("get", "/v1/captures/{id}", cid, want=200)
	call("get", "/v1/captures/{id}/pcapng", cid, want=409)
	call("delete", "/v1/captures/{id}", cid, want=204)
	h.wait_for(lambda: d.ok("GET", f"/v1/captures/{cap['id']}")["state"] == "stopped", 10,
		   what="the capture to stop")
	call("get", "/v1/captures/{id}/pcapng", cid, want=200)
	call("delete", "/v1/captures/{id}", cid, want=204)
	call("get", "/v1/captures/{id}", cid, want=404)
	call("get", "/v1/captures/{id}/pcapng", cid, want=404)
	call("delete", "/v1/sessions/{id}", {"id": sess["id"]}, want=204)

	# Operations. The cluster registry needs the state store, which this daemon has not.
	call("get", "/v1/cluster", want=503)
	call("post", "/v1/state/release", body={}, want=409)
	call("post", "/v1/state/release", body={"hold_ms": "soon"}, want=400)
	call("get", "/v1/health", want=200)
	call("get", "/v1/stats", want=200)
	call("get", "/metrics", want=200)
	# The WebRTC demo page: public.
	call("get", "/demo/", token="", want=200)
	call("get", "/demo", token="", want=200)

	missing = [f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops
		   if m in METHODS and (p, m) not in v.done]
	check(not missing, f"documented operations this test did not drive: {missing}")

	# Methods the spec does not list must not exist. A room and its children again, so
	# that the rooms' own 405s (not 404s) answer.
	r = call("post", "/v1/rooms", body={}, want=201)
	p = call("post", "/v1/rooms/{room}/participants", {"room": r["id"]}, body={}, want=201)
	st = call("post", "/v1/rooms/{room}/participants/{participant}/streams",
		  {"room": r["id"], "participant": p["id"]},
		  body={"ssrc": 77, "kind": "video", "pt": 96}, want=201)
	s = call("post", "/v1/sessions", body={"legs": [{}, {}]}, want=201)
	ids = {"room": r["id"], "participant": p["id"], "stream": st["id"], "id": s["id"],
	       "name": "no-such-file", "playback": "1"}
	try:
		for path, ops in spec["paths"].items():
			for m in METHODS:
				if m in ops:
					continue
				url = _concrete(path, ids)
				code, body, hd = d.api(m.upper(), url, token=None)
				eq(code, 405, f"{m.upper()} {url} (not in docs/openapi.yaml): "
				   f"{str(body)[:200]}")
	finally:
		d.api("DELETE", f"/v1/rooms/{r['id']}")
		d.api("DELETE", f"/v1/sessions/{s['id']}")


def _ws(v, d, token):
	"""join, ping, leave over the WebSocket: every message validated as a WsMessage, every
	request sent as a WsRequest."""
	msg_schema = {"$ref": "#/components/schemas/WsMessage"}
	req_schema = {"$ref": "#/components/schemas/WsRequest"}

	async def run():
		async with websockets.connect(f"ws://127.0.0.1:{d.api_port}/v1/ws",
					      open_timeout=10) as ws:
			for i, req in enumerate([{"type": "join", "token": token},
						 {"type": "ping"}, {"type": "stats"},
						 {"type": "leave"}]):
				req["request_id"] = i + 1
				v.validate(req, req_schema, f"WebSocket {req['type']} request")
				await ws.send(json.dumps(req))
				while True:
					m = json.loads(await asyncio.wait_for(ws.recv(), 10))
					v.validate(m, msg_schema, f"WebSocket message {m.get('type')}")
					if m.get("request_id") == i + 1:
						check(m["type"] != "error", f"WebSocket {req['type']}: {m}")
						break

	loop = asyncio.new_event_loop()
	try:
		loop.run_until_complete(asyncio.wait_for(run(), 30))
	finally:
		loop.close()
	v.done.add(("/v1/ws", "get"))
