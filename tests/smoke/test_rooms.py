# SPDX-License-Identifier: BSD-3-Clause
"""Rooms (the SFU) driven over WebSocket signaling at /v1/ws (controlplane/signal.h).

Participants are created over REST, join over real WebSockets (the websockets client, from
the root namespace to the API on loopback) and send RTP from their own host sockets in the
namespace to their local endpoints: everyone gets everyone else's packets, byte for byte,
never their own. One sender is GStreamer (Opus with the RFC 6464 audio level extension) and
becomes the active speaker. Mute, leave, kick, room deletion, the heartbeat timeout, a NACK
answered from the cache, bad input on the WebSocket and REST errors are checked exactly.

Needs python3-websockets (Debian's 10.4) and, for the active speaker, GStreamer's opusenc,
rtpopuspay, level and rtphdrextclientaudiolevel (gstreamer1.0-plugins-good/-base).
"""

import asyncio
import json
import shutil
import socket
import struct
import subprocess
import time

import harness as h
from harness import NS_V4, RELAY4_B, RELAY6_B, check, eq

try:
	import websockets
except ImportError:	# reported as a skip by every test
	websockets = None

LEVEL_ID = 1			# RFC 8285 one-byte id of the RFC 6464 audio level
PT_OPUS = 111
QUIET = 100			# -100 dBov: below the speech threshold (rooms.h MR_SPK_SILENCE_Q8)
SOFT = 50			# -50 dBov: speech, but far quieter than the GStreamer sender
GST_BUFFERS = 100		# 2 s of 20 ms Opus frames
MAX_ERRORS = 5			# api.c API_WS_MAX_ERRORS: the sixth bad request disconnects
URI_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"


def _need_ws():
	if websockets is None:
		raise h.Skip("python3-websockets not installed (apt-get install python3-websockets)")


def _need_gst():
	if not shutil.which("gst-launch-1.0") or not shutil.which("gst-inspect-1.0"):
		raise h.Skip("gst-launch-1.0 not installed (scripts/setup installs it)")
	for el in ("audiotestsrc", "level", "opusenc", "rtpopuspay", "rtphdrextclientaudiolevel",
		   "udpsink"):
		p = subprocess.run(["gst-inspect-1.0", el], stdout=subprocess.DEVNULL,
				   stderr=subprocess.DEVNULL, timeout=30)
		if p.returncode != 0:
			raise h.Skip(f"GStreamer element {el} missing (gstreamer1.0-plugins-good/-base)")


def run_async(coro):
	"""Run a test coroutine; the runner's alarm still bounds it."""
	return asyncio.run(coro)


# ------------------------------------------------------------------------------------------
# RTP and RTCP

def rtp_level(seq, ssrc, level, payload=b"", pt=PT_OPUS):
	"""RTP with a one-byte header extension (RFC 8285 §4.2) carrying an RFC 6464 level."""
	ext = struct.pack("!HH", 0xBEDE, 1) + bytes([(LEVEL_ID << 4) | 0, level & 0x7F, 0, 0])
	hdr = struct.pack("!BBHII", 0x90, pt & 0x7F, seq & 0xFFFF, (seq * 960) & 0xFFFFFFFF,
			  ssrc & 0xFFFFFFFF)
	return hdr + ext + payload


def rtp_ext_level(data):
	"""The RFC 6464 level of an RTP packet with our extension id, or None."""
	if len(data) < 16 or not data[0] & 0x10:
		return None
	cc = data[0] & 0x0F
	off = 12 + 4 * cc
	prof, words = struct.unpack("!HH", data[off:off + 4])
	if prof != 0xBEDE:
		return None
	ext = data[off + 4:off + 4 + 4 * words]
	i = 0
	while i < len(ext):
		b = ext[i]
		if b == 0:
			i += 1
			continue
		eid, ln = b >> 4, (b & 0x0F) + 1
		if eid == LEVEL_ID and ln >= 1:
			return ext[i + 1] & 0x7F
		i += 1 + ln
	return None


def rtcp_nack(sender, media, pid, blp):
	"""An empty RR (RFC 3550 §6.4.2) and a generic NACK (RFC 4585 §6.2.1): lost packets pid
	and pid + 1 + bit for each bit of blp."""
	rr = struct.pack("!BBHI", 0x80, 201, 1, sender)
	nack = struct.pack("!BBHIIHH", 0x80 | 1, 205, 3, sender, media, pid & 0xFFFF, blp)
	return rr + nack


# ------------------------------------------------------------------------------------------
# Signaling client

class Peer:
	"""One signaling connection. Answers are matched by request_id; events (no request_id)
	are kept in arrival order until a test takes them."""

	def __init__(self, ws, name):
		self.ws = ws
		self.name = name
		self.events = []
		self.n = 0

	@classmethod
	async def connect(cls, d, name, ping_interval=None, headers=None):
		ws = await asyncio.wait_for(websockets.connect(
			f"ws://127.0.0.1:{d.api_port}/v1/ws", ping_interval=ping_interval,
			extra_headers=headers, max_size=1 << 20, close_timeout=2), 5)
		return cls(ws, name)

	async def _recv(self, timeout):
		msg = await asyncio.wait_for(self.ws.recv(), max(timeout, 0.001))
		check(isinstance(msg, str), f"{self.name}: binary message from the server")
		try:
			return json.loads(msg)
		except ValueError:
			raise h.SmokeError(f"{self.name}: not JSON from the server: {msg[:200]!r}") from None

	async def send_raw(self, text):
		await self.ws.send(text)

	async def answer(self, rid, timeout=5.0):
		"""The message with request_id rid; events that come first are kept."""
		loop = asyncio.get_running_loop()
		deadline = loop.time() + timeout
		while True:
			try:
				m = await self._recv(deadline - loop.time())
			except asyncio.TimeoutError:
				raise h.SmokeError(f"{self.name}: no answer to request {rid!r} within "
						   f"{timeout}s") from None
			if "request_id" not in m:
				self.events.append(m)
				continue
			eq(m["request_id"], rid, f"{self.name}: request_id of the next answer ({m})")
			return m

	async def request(self, type_, rid=None, **fields):
		self.n += 1
		if rid is None:
			rid = f"{self.name}-{self.n}"
		await self.ws.send(json.dumps({"type": type_, "request_id": rid, **fields}))
		return await self.answer(rid)

	async def ok(self, type_, want, **fields):
		m = await self.request(type_, **fields)
		eq(m.get("type"), want, f"{self.name}: answer to {type_} {fields} ({m})")
		return m

	async def error(self, type_, want_prefix, **fields):
		m = await self.request(type_, **fields)
		eq(m.get("type"), "error", f"{self.name}: answer to {type_} {fields} ({m})")
		check(isinstance(m.get("error"), str) and m["error"].startswith(want_prefix),
		      f"{self.name}: error for {type_} {fields}: got {m.get('error')!r}, want it to "
		      f"start with {want_prefix!r}")
		return m

	async def event(self, type_, timeout=3.0, **match):
		"""The first event of type_ whose fields equal match (kept or arriving)."""
		def hit(e):
			return e.get("type") == type_ and all(e.get(k) == v for k, v in match.items())
		for i, e in enumerate(self.events):
			if hit(e):
				return self.events.pop(i)
		loop = asyncio.get_running_loop()
		deadline = loop.time() + timeout
		while True:
			try:
				m = await self._recv(deadline - loop.time())
			except asyncio.TimeoutError:
				raise h.SmokeError(
					f"{self.name}: no {type_} event {match} within {timeout}s (got "
					f"{[e.get('type') for e in self.events][-10:]})") from None
			if hit(m):
				return m
			self.events.append(m)

	async def settle(self, wait=0.3):
		"""Collect what arrives within wait seconds; return and forget every kept event."""
		loop = asyncio.get_running_loop()
		deadline = loop.time() + wait
		while True:
			try:
				self.events.append(await self._recv(deadline - loop.time()))
			except asyncio.TimeoutError:
				break
		out, self.events = self.events, []
		return out

	async def closed(self, timeout=5.0):
		"""Wait for the server to close: (code, reason, messages that came before)."""
		loop = asyncio.get_running_loop()
		deadline = loop.time() + timeout
		msgs = []
		try:
			while True:
				msgs.append(await self._recv(deadline - loop.time()))
		except asyncio.TimeoutError:
			raise h.SmokeError(f"{self.name}: connection still open after {timeout}s "
					   f"({msgs[-5:]})") from None
		except websockets.ConnectionClosed:
			pass
		await asyncio.wait_for(self.ws.wait_closed(), 5)
		return self.ws.close_code, self.ws.close_reason, msgs

	async def close(self):
		try:
			await asyncio.wait_for(self.ws.close(), 3)
		except (asyncio.TimeoutError, OSError, websockets.WebSocketException):
			pass


def event_types(events):
	return sorted((e.get("type"), json.dumps(e, sort_keys=True)) for e in events)


# ------------------------------------------------------------------------------------------
# Rooms over REST

def create_room(d, **body):
	st, b, _ = d.api("POST", "/v1/rooms", body)
	if st != 201:
		raise h.SmokeError(f"POST /v1/rooms {body}: HTTP {st}: {b}")
	check(isinstance(b.get("id"), str), f"room id: {b}")
	h.CLEANUP.add(f"room {b['id']}", lambda: d.alive() and
		      d.api("DELETE", f"/v1/rooms/{b['id']}", timeout=3))
	return b["id"]


def create_part(d, room, name, **extra):
	body = {"name": name, **extra}
	st, b, _ = d.api("POST", f"/v1/rooms/{room}/participants", body)
	if st != 201:
		raise h.SmokeError(f"POST /v1/rooms/{room}/participants {body}: HTTP {st}: {b}")
	for k in ("id", "token", "local"):
		check(isinstance(b.get(k), str), f"participant {name}: '{k}' missing: {b}")
	return b


def api_error(d, method, path, body, status, prefix, raw=None):
	st, b, _ = d.api(method, path, body, raw=raw)
	eq(st, status, f"{method} {path} {body if raw is None else raw!r}: status ({b})")
	msg = b.get("error") if isinstance(b, dict) else None
	check(isinstance(msg, str) and msg.startswith(prefix),
	      f"{method} {path} {body if raw is None else raw!r}: error {msg!r}, want it to start "
	      f"with {prefix!r}")


# ------------------------------------------------------------------------------------------
# Media helpers

def is_rtcp(data):
	"""RFC 5761 §4: on a muxed port, second byte 192..223 is RTCP (the relay's own receiver
	reports reach every publisher)."""
	return len(data) >= 2 and 192 <= data[1] <= 223


def recv_rtp(sock, n, timeout=3.0):
	"""Up to n RTP datagrams (RTCP skipped), as h.recv_n returns them."""
	out = []
	deadline = time.monotonic() + timeout
	while len(out) < n:
		left = deadline - time.monotonic()
		if left <= 0:
			break
		out += [x for x in h.recv_n(sock, n - len(out), timeout=left) if not is_rtcp(x[0])]
	return out


def expect_no_rtp(sock, wait=0.5, what="packet"):
	got = recv_rtp(sock, 1, timeout=wait)
	check(not got, f"unexpected {what}: seq {h.rtp_seq(got[0][0]) if got else ''} "
	      f"ssrc {h.rtp_ssrc(got[0][0]):#x}" if got else "")

class Member:
	"""A participant: its REST body, its signaling connection, its host socket."""

	def __init__(self, body, peer, sock, ssrc):
		self.body = body
		self.id = body["id"]
		self.local = h.parse_ep(body["local"])
		self.peer = peer
		self.sock = sock
		self.ssrc = ssrc
		self.seq = 0
		self.sent = 0
		self.stream = None

	def send(self, level, tag, n=1):
		"""Send n RTP packets; returns them."""
		out = []
		for _ in range(n):
			pkt = rtp_level(self.seq, self.ssrc, level, h.payload_for(tag, self.seq, 120))
			self.sock.sendto(pkt, self.local)
			self.seq = (self.seq + 1) & 0xFFFF
			self.sent += 1
			out.append(pkt)
		return out


def latch(members, tries=40, interval=0.1):
	"""Everyone sends until everyone hears from everyone else: the relay latched every
	participant's address and resolved the next hops. Then drain."""
	heard = {m.id: set() for m in members}
	for _ in range(tries):
		for m in members:
			m.send(QUIET, f"latch-{m.id}")
		time.sleep(interval)
		for m in members:
			for data, _ in recv_rtp(m.sock, 100, timeout=0.01):
				heard[m.id].add(h.rtp_ssrc(data))
		if all(heard[m.id] >= {o.ssrc for o in members if o is not m} for m in members):
			# Flush: the room keeps each sender's order, so once everyone's marker
			# came out, so did everything sent before it.
			markers = {bytes(m.send(QUIET, f"latched-{m.id}")[0]) for m in members}
			for m in members:
				want = markers - {mk for mk in markers if h.rtp_ssrc(mk) == m.ssrc}
				while want:
					got = h.recv_until(m.sock, lambda d: d in want,
							   what=f"the latch markers at {m.id}")
					want.discard(got[-1][0])
			return
	raise h.SmokeError(f"media did not flow between all participants: heard {heard}")


def exchange(members, n, tag):
	"""Every member sends n packets; each must get exactly the others' packets, byte for
	byte and in order per sender, from its own local endpoint, and none of its own."""
	sent = {}
	for i in range(n):
		for m in members:
			sent.setdefault(m.ssrc, []).extend(m.send(QUIET, f"{tag}-{m.id}"))
		if i % 4 == 3:
			time.sleep(0.002)
	for m in members:
		want = sum(len(sent[o.ssrc]) for o in members if o is not m)
		got = recv_rtp(m.sock, want, timeout=3.0)
		expect_no_rtp(m.sock, wait=0.2, what=f"{tag}: extra packet to {m.id}")
		by = {}
		for data, frm in got:
			eq(frm, m.local, f"{tag}: source of a packet to participant {m.id}")
			by.setdefault(h.rtp_ssrc(data), []).append(data)
		check(m.ssrc not in by, f"{tag}: participant {m.id} got {len(by.get(m.ssrc, []))} "
		      "of its own packets back")
		for o in members:
			if o is m:
				continue
			h.same_packets([(d, None) for d in by.get(o.ssrc, [])], sent[o.ssrc],
				       f"{tag}: {o.id} -> {m.id}")


# ------------------------------------------------------------------------------------------
# Tests

def test_rooms_rest_errors(env):
	"""REST errors of the rooms API name the field; /v1/ws is outside the bearer token."""
	d = env.main
	api_error(d, "POST", "/v1/rooms", {"name": 5}, 400, "name:")
	api_error(d, "POST", "/v1/rooms", {"name": "x", "colour": "red"}, 400, "colour:")
	api_error(d, "POST", "/v1/rooms", {"max_participants": "many"}, 400, "max_participants:")
	api_error(d, "POST", "/v1/rooms", None, 400, "body:", raw=b"{\"name\":")
	api_error(d, "GET", "/v1/rooms/99999999", None, 404, "room:")
	room = create_room(d, name="errors")
	api_error(d, "POST", f"/v1/rooms/{room}/participants",
		  {"name": "p", "audio_level_ext_id": 15}, 400, "audio_level_ext_id:")
	api_error(d, "POST", f"/v1/rooms/{room}/participants", {"name": "p", "family": "ipx"},
		  400, "family:")
	p = create_part(d, room, "p")
	base = f"/v1/rooms/{room}/participants/{p['id']}"
	api_error(d, "POST", f"{base}/streams", {"ssrc": -1, "kind": "audio", "pt": 111}, 400,
		  "ssrc:")
	api_error(d, "POST", f"{base}/streams", {"ssrc": 1, "kind": "audio", "pt": 72}, 400, "pt:")
	api_error(d, "POST", f"{base}/streams", {"ssrc": 1, "kind": "smell", "pt": 0}, 400, "kind:")
	api_error(d, "POST", f"{base}/streams", {"ssrc": 1, "pt": 0}, 400, "kind:")
	api_error(d, "PATCH", base, {"muted": {"audio": "yes"}}, 400, "muted.audio:")
	api_error(d, "PATCH", base, {"subscriptions": ["1"]}, 409, "subscriptions:")
	api_error(d, "GET", f"{base}/streams/77777", None, 404, "stream:")
	api_error(d, "GET", f"/v1/rooms/{room}/participants/88888", None, 404, "participant:")
	# The REST API keeps its token; the WebSocket upgrade does not ask for it.
	st, b, _ = d.api("GET", "/v1/rooms", token="")
	eq(st, 401, f"GET /v1/rooms without the token ({b})")
	st, b, hd = d.api("POST", "/v1/ws", {"type": "join"}, token="")
	eq(st, 405, f"POST /v1/ws ({b})")
	eq(hd.get("allow"), "GET", "Allow of /v1/ws")
	st, b, _ = d.api("GET", "/v1/ws", token="")
	eq(st, 400, f"GET /v1/ws without the upgrade headers or a token ({b})")
	check(b.get("error", "").startswith("upgrade:"), f"GET /v1/ws error: {b}")
	eq(d.api("DELETE", f"/v1/rooms/{room}")[0], 204, f"DELETE /v1/rooms/{room}")


def test_rooms_ws_media(env):
	"""Three participants join over WebSockets and publish audio: all-to-all media, mute,
	NACK from the cache, GStreamer as the active speaker, leave, kick, room deleted."""
	_need_ws()
	gst_ok = True
	try:
		_need_gst()
	except h.Skip as e:
		gst_ok = str(e)
	d = env.main
	run_async(_ws_media(env, d, gst_ok))
	if gst_ok is not True:
		raise h.Skip(f"all but the active speaker checked; {gst_ok}")


async def _ws_media(env, d, gst_ok):
	room = create_room(d, name="sfu")
	bodies = [create_part(d, room, n, audio_level_ext_id=LEVEL_ID) for n in ("ann", "bob", "cat")]
	ports = env.ports(3)
	ssrcs = [0x51000001, 0x51000002, 0x51000003]
	members = []
	for i, b in enumerate(bodies):
		sock = env.host.udp(NS_V4[i], ports[i])
		# No Authorization header: the participant token is the credential.
		peer = await Peer.connect(d, b["name"])
		members.append(Member(b, peer, sock, ssrcs[i]))
	a, b, c = members
	try:
		# -- join ------------------------------------------------------------------------
		for i, m in enumerate(members):
			j = await m.peer.ok("join", "joined", token=m.body["token"])
			eq(j["participant"]["id"], m.id, f"{m.id}: joined participant.id")
			eq(j["participant"]["local"], m.body["local"], f"{m.id}: joined participant.local")
			eq(j["room"]["id"], room, f"{m.id}: joined room.id")
			eq(sorted(p["id"] for p in j["room"]["participants"]),
			   sorted(x.id for x in members), f"{m.id}: joined room.participants")
			conn = {p["id"]: p["connected"] for p in j["room"]["participants"]}
			eq(conn, {x.id: x in members[:i + 1] for x in members},
			   f"{m.id}: connected flags in joined")
			for earlier in members[:i]:
				e = await earlier.peer.event("participant_joined", room=room)
				eq(e["participant"]["id"], m.id, f"{earlier.id}: participant_joined")
		for m in members:
			eq(await m.peer.settle(0.2), [], f"{m.id}: events beyond the joins")

		# -- publish ---------------------------------------------------------------------
		for m in members:
			r = await m.peer.ok("publish", "published", ssrc=m.ssrc, kind="audio", pt=PT_OPUS,
					    clock_rate=48000, codec="opus")
			s = r["stream"]
			eq((s["ssrc"], s["kind"], s["pt"], s["codec"], s["participant"]),
			   (m.ssrc, "audio", PT_OPUS, "opus", m.id), f"{m.id}: published stream")
			m.stream = s["id"]
			for o in members:
				if o is m:
					continue
				e = await o.peer.event("stream_published", participant=m.id)
				eq(e["stream"]["id"], m.stream, f"{o.id}: stream_published of {m.id}")
		await a.peer.error("publish", "ssrc:", ssrc=b.ssrc, kind="audio", pt=PT_OPUS)
		for m in members:
			eq(await m.peer.settle(0.2), [], f"{m.id}: events beyond the publications")

		# -- media: all to all, exact ----------------------------------------------------
		latch(members)
		exchange(members, 20, "all")
		st = await a.peer.ok("stats", "stats")
		# Every packet it sent: the first two taught the relay its address (the third
		# latched it: relay.latch_packets), the others were taken.
		ac = st["participant"]["counters"]
		eq(ac["drops"]["latch_learning"], 2, f"{a.id}: counters.drops.latch_learning")
		eq(ac["packets_in"] + ac["drops"]["latch_learning"], a.sent,
		   f"{a.id}: counters.packets_in + latch_learning (every packet it sent)")

		# -- mute over WS: nobody gets a's packets, the drops are counted ----------------
		r = await a.peer.ok("mute", "mute_done", kind="audio")
		eq(r["participant"]["muted"]["audio"], True, "muted.audio after mute")
		for m in members:
			e = await m.peer.event("muted", participant=a.id)
			eq((e["stream"], e["kind"]), (a.stream, "audio"), f"{m.id}: muted event")
		before = d.ok("GET", f"/v1/rooms/{room}/participants/{a.id}/streams/{a.stream}")
		a.send(QUIET, "muted", 10)
		for m in (b, c):
			expect_no_rtp(m.sock, wait=0.4, what=f"packet of muted {a.id} to {m.id}")
		after = d.ok("GET", f"/v1/rooms/{room}/participants/{a.id}/streams/{a.stream}")
		eq(after["muted"], True, "stream muted")
		eq(after["stats"]["drop_muted"] - before["stats"]["drop_muted"], 10,
		   "stats.drop_muted grew by the packets sent while muted")
		r = await a.peer.ok("unmute", "unmute_done", stream=a.stream)
		for m in members:
			e = await m.peer.event("unmuted", participant=a.id)
			eq(e["stream"], a.stream, f"{m.id}: unmuted event")
		exchange(members, 5, "unmuted")
		for m in members:
			eq(await m.peer.settle(0.1), [], f"{m.id}: events beyond mute/unmute")

		# -- NACK from b about a's stream: the cached packets come back -----------------
		pkts = a.send(QUIET, "nack", 10)
		for m in (b, c):
			h.same_packets(recv_rtp(m.sock, 10), pkts, f"nack round: {a.id} -> {m.id}")
		seq0 = h.rtp_seq(pkts[0])
		nk0 = d.ok("GET", f"/v1/rooms/{room}/participants/{a.id}/streams/{a.stream}")
		b.sock.sendto(rtcp_nack(b.ssrc, a.ssrc, seq0 + 3, 0x0002), b.local)
		got = recv_rtp(b.sock, 2, timeout=2.0)
		h.same_packets(got, [pkts[3], pkts[5]], "retransmissions for the NACK")
		expect_no_rtp(b.sock, wait=0.2, what="extra retransmission")
		expect_no_rtp(c.sock, wait=0.1, what="retransmission to the participant that did "
			      "not ask")
		nacks = [d_ for d_, _ in h.recv_n(a.sock, 20, timeout=0.2)
			 if is_rtcp(d_) and d_[1] == 205]
		eq(nacks, [], "NACKs forwarded to the publisher (the cache had the packets)")
		nk1 = d.ok("GET", f"/v1/rooms/{room}/participants/{a.id}/streams/{a.stream}")
		eq(nk1["stats"]["nack"]["received"] - nk0["stats"]["nack"]["received"], 2,
		   "nack.received")
		eq(nk1["stats"]["nack"]["retransmitted"] - nk0["stats"]["nack"]["retransmitted"], 2,
		   "nack.retransmitted")

		# -- GStreamer (Opus, RFC 6464 levels) is the loudest: active speaker -----------
		if gst_ok is True:
			await _gst_speaker(env, d, room, members)

		# -- leave -------------------------------------------------------------------------
		r = await a.peer.ok("leave", "left")
		code, reason, msgs = await a.peer.closed()
		eq((code, reason, msgs), (1000, "left", []), f"{a.id}: close after leave")
		for m in (b, c):
			e = await m.peer.event("participant_left", participant=a.id)
			eq(e["reason"], "left", f"{m.id}: participant_left reason for {a.id}")
		eq(d.api("GET", f"/v1/rooms/{room}/participants/{a.id}")[0], 404,
		   f"GET participant {a.id} after leave")

		# -- kicked over REST: the participant hears it and its connection closes ---------
		eq(d.api("DELETE", f"/v1/rooms/{room}/participants/{c.id}")[0], 204,
		   f"DELETE participant {c.id}")
		code, reason, msgs = await c.peer.closed()
		eq([(x["type"], x.get("participant"), x.get("reason")) for x in msgs
		    if x["type"] != "active_speaker"],
		   [("participant_left", c.id, "kicked")], f"{c.id}: messages before the close")
		eq((code, reason), (1000, "kicked"), f"{c.id}: close code and reason")
		e = await b.peer.event("participant_left", participant=c.id)
		eq(e["reason"], "kicked", f"{b.id}: participant_left reason for {c.id}")

		# -- the room is deleted ------------------------------------------------------------
		eq(d.api("DELETE", f"/v1/rooms/{room}")[0], 204, f"DELETE room {room}")
		code, reason, msgs = await b.peer.closed()
		eq([(x["type"], x.get("participant"), x.get("reason")) for x in msgs
		    if x["type"] != "active_speaker"],
		   [("participant_left", b.id, "room_deleted")], f"{b.id}: messages before the close")
		eq((code, reason), (1000, "room_deleted"), f"{b.id}: close code and reason")
	finally:
		for m in members:
			await m.peer.close()


async def _gst_speaker(env, d, room, members):
	a, b, c = members
	# c's socket steps aside for GStreamer, which sends from the same address and port:
	# the relay keeps the latched address.
	caddr, cport = c.sock.getsockname()[:2]
	c.sock.close()
	caps = (f'application/x-rtp,extmap-{LEVEL_ID}=(string)<"",{URI_LEVEL},"vad=on">')
	pipeline = ["audiotestsrc", f"num-buffers={GST_BUFFERS}", "samplesperbuffer=960",
		    "is-live=true", "volume=0.5", "!", "audio/x-raw,rate=48000,channels=1", "!",
		    "level", "audio-level-meta=true", "!", "opusenc", "!", "rtpopuspay",
		    f"pt={PT_OPUS}", f"ssrc={c.ssrc}", "!", caps, "!", "udpsink", f"host={c.local[0]}",
		    f"port={c.local[1]}", f"bind-address={caddr}", f"bind-port={cport}", "sync=true"]
	proc = subprocess.Popen(["ip", "netns", "exec", env.host.ns, "gst-launch-1.0", "-q",
				 *pipeline], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
				stdin=subprocess.DEVNULL, text=True)
	got = {a.id: [], b.id: []}
	out = ""
	# The room as GET shows it while c speaks (the first look that names c): once c has
	# gone quiet, a and b's soft talk may rightly take the turn back (a slow machine's
	# GET after GStreamer's end saw a again).
	g, next_get = None, 0.0
	try:
		deadline = time.monotonic() + 20
		while proc.poll() is None and time.monotonic() < deadline:
			# a and b talk too, softly: c must win on loudness, not by being alone.
			for m in (a, b):
				m.send(SOFT, "soft")
			for m in (a, b):
				for data, _ in recv_rtp(m.sock, 50, timeout=0.01):
					if h.rtp_ssrc(data) == c.ssrc:
						got[m.id].append(data)
			if g is None and got[a.id] and time.monotonic() >= next_get:
				next_get = time.monotonic() + 0.2
				x = d.ok("GET", f"/v1/rooms/{room}")
				if (x["active_speaker"] or {}).get("participant") == c.id:
					g = x
			await asyncio.sleep(0.02)
		if proc.poll() is None:
			raise h.SmokeError("gst-launch-1.0 still running after 20s")
		for m in (a, b):
			for data, _ in recv_rtp(m.sock, 500, timeout=0.5):
				if h.rtp_ssrc(data) == c.ssrc:
					got[m.id].append(data)
		out = proc.stdout.read()
	finally:
		if proc.poll() is None:
			proc.kill()
			proc.wait(timeout=5)
		proc.stdout.close()
	eq(proc.returncode, 0, f"gst-launch-1.0 exit status ({(out or '').strip()[-300:]})")
	check(len(got[a.id]) >= GST_BUFFERS * 9 // 10,
	      f"{a.id} got {len(got[a.id])} GStreamer packets, want about {GST_BUFFERS}")
	eq(got[b.id], got[a.id], f"GStreamer packets at {b.id} vs {a.id}")
	seqs = [h.rtp_seq(x) for x in got[a.id]]
	eq([(x, y) for x, y in zip(seqs, seqs[1:]) if (y - x) & 0xFFFF != 1], [],
	   "GStreamer sequence gaps")
	levels = {rtp_ext_level(x) for x in got[a.id]}
	check(None not in levels and max(levels) < SOFT,
	      f"GStreamer levels {sorted(levels, key=str)}: want RFC 6464 levels louder than "
	      f"-{SOFT} dBov on every packet")
	# The levels are smoothed, so the event may come while c's is still rising: its level
	# is what it was then. GET, while c spoke, named c, at about -8 dBov.
	for m in (a, b):
		e = await m.peer.event("active_speaker", timeout=3.0, participant=c.id)
		eq(e["stream"], c.stream, f"{m.id}: active_speaker stream")
	if g is None:
		g = d.ok("GET", f"/v1/rooms/{room}")
	eq((g["active_speaker"] or {}).get("participant"), c.id,
	   "room active_speaker while GStreamer spoke")
	lv = {x["participant"]: x["level_dbov"] for x in g["audio_levels"]}
	check(lv.get(c.id) is not None and lv[c.id] > -30 and
	      all(lv.get(m.id) is not None and lv[m.id] < lv[c.id] for m in (a, b)),
	      f"audio_levels {lv}: want {c.id} (GStreamer, about -8 dBov) louder than -30 and "
	      f"than the others (-{SOFT})")
	for m in (a, b):
		m.peer.events = [x for x in m.peer.events if x["type"] != "active_speaker"]
		h.drain(m.sock)


def test_rooms_ws_bad_input(env):
	"""Bad requests get errors naming the field; the sixth in a row disconnects."""
	_need_ws()
	run_async(_ws_bad_input(env.main))


async def _ws_bad_input(d):
	room = create_room(d, name="bad")
	p = create_part(d, room, "pat")
	u = await Peer.connect(d, "u")
	w = await Peer.connect(d, "w")
	v = None
	try:
		await u.error("publish", "type: 'publish' needs a join first", ssrc=1, kind="audio",
			      pt=0)
		await u.error("frobnicate", "type: unknown request 'frobnicate'")

		# Five bad requests are answered; the sixth is answered and disconnects.
		await w.send_raw("this is not json")
		m = await w.answer(None)
		check(m["type"] == "error" and m["error"].startswith("message: not JSON"), f"{m}")
		await w.send_raw('{"type": "ping", "type": "ping"}')
		m = await w.answer(None)
		check(m["type"] == "error" and m["error"].startswith("message: not JSON"),
		      f"duplicate key: {m}")
		await w.send_raw('[1, 2]')
		m = await w.answer(None)
		eq(m, {"type": "error", "request_id": None, "error": "message: must be a JSON object"},
		   "array")
		await w.send_raw(json.dumps({"type": "ping", "request_id": {"x": 1}}))
		m = await w.answer(None)
		eq(m["error"], "request_id: must be an integer or a string of at most 64 bytes",
		   "object request_id")
		# The API has a token: joining by room and name is not for this daemon.
		await w.error("join", "token: required (joining by room and name", room=room, name="x")
		eq(await w.ok("ping", "pong"), {"type": "pong", "request_id": "w-2"}, "pong")
		await w.send_raw('{"request_id": "r6"}')
		code, reason, msgs = await w.closed()
		eq(msgs, [{"type": "error", "request_id": "r6", "error": "type: required"}],
		   "the sixth bad request's answer")
		eq((code, reason), (1008, "too many errors"),
		   f"close after {MAX_ERRORS + 1} bad requests")
		# u made two mistakes and is still served.
		eq(await u.ok("ping", "pong"), {"type": "pong", "request_id": "u-3"}, "u's pong")

		# Field errors on a joined connection; they count, conflicts (409) do not.
		v = await Peer.connect(d, "v")
		await v.error("join", "token: no participant has this token", token="0" * 32)
		await v.send_raw(json.dumps({"type": "join", "request_id": "t", "token": 5}))
		m = await v.answer("t")
		eq(m["error"], "token: must be a string", "numeric token")
		j = await v.ok("join", "joined", token=p["token"])
		eq(j["participant"]["id"], p["id"], "joined participant")
		await v.error("join", "type: already joined as participant")
		await v.error("publish", "ssrc: must be an integer", ssrc="x", kind="audio", pt=0)
		r = await v.ok("publish", "published", ssrc=7, kind="audio", pt=0)
		for _ in range(MAX_ERRORS + 2):
			await v.error("publish", "ssrc: 7 is already published", ssrc=7, kind="audio",
				      pt=0)
		await v.error("mute", "stream: give either 'stream' or 'kind'",
			      stream=r["stream"]["id"], kind="audio")
		await v.send_raw(json.dumps({"type": "mute", "request_id": "m6", "kind": "smell"}))
		code, reason, msgs = await v.closed()
		eq(msgs, [{"type": "error", "request_id": "m6",
			   "error": "kind: must be 'audio' or 'video'"}], "v's sixth bad request")
		eq(code, 1008, f"close code ({reason})")
		eq(d.api("GET", f"/v1/rooms/{room}/participants/{p['id']}")[0], 404,
		   "participant after its connection was closed for errors")
	finally:
		for x in (u, w, v):
			if x is not None:
				await x.close()
		d.api("DELETE", f"/v1/rooms/{room}")


def test_rooms_ws_timeout_replace(env):
	"""A daemon without an API token and rooms.ws_timeout = 2: joining by room and name,
	the heartbeat timeout, a second connection replacing the first, a dropped TCP
	connection."""
	_need_ws()
	d = env.new_daemon("rto", addr4=RELAY4_B, addr6=RELAY6_B)
	with open(d.conf, "a") as f:
		f.write("\nrooms = {\n\tws_timeout = 2;\n};\n")
	env.start_daemon(d)
	try:
		run_async(_ws_timeout_replace(d))
	finally:
		d.kill()


async def _ws_timeout_replace(d):
	room = create_room(d, name="timeouts")
	# First a quiet spell longer than ws_timeout with no WebSocket at all: a connection
	# opened after it still gets the whole timeout (it used to be closed at once, its
	# deadline taken from a clock that had not moved since the last WebSocket work).
	h.wait_for(lambda: d.api("GET", "/v1/health")[1].get("uptime_s", 0) >= 3, 10,
		   interval=0.2, what="3 s of uptime")
	# q keeps its connection alive with WebSocket pings; p sends nothing after its join.
	q = await Peer.connect(d, "q", ping_interval=0.5)
	p = await Peer.connect(d, "p")
	peers = [q, p]
	try:
		jq = await q.ok("join", "joined", room=room, name="quinn")
		jp = await p.ok("join", "joined", room=room, name="pat")
		qid, pid = jq["participant"]["id"], jp["participant"]["id"]
		eq(jp["participant"]["name"], "pat", "participant created by the join")
		# Not removed for its silence at once (ws_timeout is 2 s): still there.
		eq(d.api("GET", f"/v1/rooms/{room}/participants/{pid}")[0], 200,
		   "silent participant right after its join")
		e = await q.event("participant_joined")
		eq(e["participant"]["id"], pid, "participant_joined")
		e = await q.event("participant_left", timeout=6.0, participant=pid)
		eq(e["reason"], "timeout", "participant_left reason of a silent participant")
		code, reason, msgs = await p.closed()
		eq(msgs, [], "messages to the timed-out participant")
		eq(d.api("GET", f"/v1/rooms/{room}/participants/{pid}")[0], 404,
		   "timed-out participant")

		# A second connection with q's token takes over; q's goes, the participant stays.
		r = await Peer.connect(d, "r", ping_interval=0.5)
		peers.append(r)
		jr = await r.ok("join", "joined", token=jq["participant"]["token"])
		eq(jr["participant"]["id"], qid, "the replacing join's participant")
		code, reason, msgs = await q.closed()
		eq((code, reason), (4001, "replaced"), "close of the replaced connection")
		st, body, _ = d.api("GET", f"/v1/rooms/{room}/participants/{qid}")
		eq((st, body.get("connected")), (200, True), "replaced participant")

		# An observer; then r's TCP connection ends without a close frame: "left".
		o = await Peer.connect(d, "o", ping_interval=0.5)
		peers.append(o)
		await o.ok("join", "joined", room=room, name="olive")
		r.ws.transport.abort()
		e = await o.event("participant_left", timeout=5.0, participant=qid)
		eq(e["reason"], "left", "participant_left reason of a dropped connection")
		eq(await o.ok("leave", "left"), {"type": "left", "request_id": "o-2"}, "leave")
		st, body, _ = d.api("GET", f"/v1/rooms/{room}")
		eq((st, body.get("participants")), (200, []), "room after everyone went")
	finally:
		for x in peers:
			await x.close()
