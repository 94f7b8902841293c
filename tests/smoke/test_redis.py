# SPDX-License-Identifier: BSD-3-Clause
"""State in Redis (docs/OPERATIONS.md "State in Redis"): sessions written to a redis-server
this module starts (loopback, no persistence), mrelayd killed with SIGKILL and started again
with the same identity: the same session ids answer, media flows again through the same local
ports, and SRTP carries on across a rollover-counter change (RFC 3711 §3.3.1), both ways.

The SRTP of the test hosts is a small AES_CM_128_HMAC_SHA1_80 implementation here (Python's
cryptography package), checked by the relay itself before the restart."""

import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import time

import harness as h
from harness import NS_V4, RELAY4_B, RELAY6_B, check, eq, fmt_ep
from test_rooms import recv_rtp

SUITE = "AES_CM_128_HMAC_SHA1_80"
_REDIS = {}
PASSWORD = "smoke-redis-pass"
LABEL = 'plain "quoted" \\ back-slashed, \u00e9\u00e8 \u2192'	# JSON escapes in a record


# ---- redis-server for this module -------------------------------------------------------

def _redis_server(port):
	"""Start a redis-server on loopback port (no persistence, this module's password);
	returns the redis-cli argv prefix for it. Stopped by the cleanup."""
	if not shutil.which("redis-server") or not shutil.which("redis-cli"):
		raise h.Skip("redis-server not installed (scripts/setup installs it)")
	workdir = os.path.join("/tmp", f"mrelay-redis-{h.PID}-{port}")
	os.makedirs(workdir, exist_ok=True)
	proc = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port),
				 "--save", "", "--appendonly", "no", "--dir", workdir,
				 "--requirepass", PASSWORD],
				stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
				stdin=subprocess.DEVNULL, start_new_session=True)

	def stop():
		proc.terminate()
		try:
			proc.wait(timeout=5)
		except subprocess.TimeoutExpired:
			proc.kill()
		shutil.rmtree(workdir, ignore_errors=True)
	h.CLEANUP.add(f"redis-server :{port}", stop)
	cli = ["redis-cli", "-h", "127.0.0.1", "-p", str(port), "--no-auth-warning", "-a", PASSWORD]
	h.wait_for(lambda: subprocess.run(cli + ["PING"], capture_output=True, text=True,
					  timeout=5).stdout.strip() == "PONG",
		   10, what="redis-server to answer PING")
	return cli


def _redis():
	"""(port, cli argv prefix) of this module's redis-server, started on first use."""
	if not _REDIS:
		port = h.free_tcp_port()
		_REDIS.update(port=port, cli=_redis_server(port))
	return _REDIS["port"], _REDIS["cli"]


def _rcli(*args, cli=None):
	cli = cli or _redis()[1]
	p = subprocess.run(cli + list(args), capture_output=True, text=True, timeout=10)
	if p.returncode != 0:
		raise h.SmokeError(f"redis-cli {' '.join(args)}: {p.stderr.strip()}")
	return p.stdout.rstrip("\n")


def _state_conf(identity, port, extra=""):
	return (f'\nstate = {{\n\tredis = "127.0.0.1:{port}";\n\tidentity = "{identity}";\n'
		f'\tpassword = "{PASSWORD}";\n{extra}}};\n')


def _daemon(env, name, identity):
	port, _ = _redis()
	d = env.new_daemon(name, addr4=RELAY4_B, addr6=RELAY6_B)
	with open(d.conf, "a") as f:
		f.write(_state_conf(identity, port))
	return d


def _start_connected(env, name, identity):
	"""A daemon with the state store (SRTP tests here need python3-cryptography), started and
	connected to Redis."""
	try:
		import cryptography  # noqa: F401
	except ImportError:
		raise h.Skip("python3-cryptography not installed (scripts/setup installs it)")
	d = _daemon(env, name, identity)
	env.start_daemon(d)
	health = d.ok("GET", "/v1/health", want=200)
	check(isinstance(health.get("state"), dict), f"/v1/health has no state: {health}")
	h.wait_for(lambda: d.ok("GET", "/v1/health", want=200)["state"]["redis"] == "connected",
		   10, what="the state store to connect")
	return d


def _restart(env, d):
	"""Start d again (same configuration, same TAP name), its TAP on the bridge, the hosts'
	neighbor caches flushed (the new TAP has another MAC address): Env.start_daemon."""
	env.start_daemon(d)
	# The restored remotes' neighbors were probed as they came back, maybe before the TAP
	# was on the bridge: media towards them counts as no_neighbor until a later probe is
	# answered (every second). What a test sends next must not race that.
	def resolved():
		c = d.ok("GET", "/v1/stats", want=200)["control"]
		return c["neighbors"] > 0 and c["neighbors_resolved"] == c["neighbors"]
	h.wait_for(resolved, 15, what="the relay to resolve the restored remotes' neighbors")


def _relay_both(a, b, s, ka, kb, name, when):
	"""Session s relays both ways between host sockets a (leg 0) and b (leg 1): prime, then
	5 packets each way. ka, kb: (SSRC, next sequence number) of a's and b's streams."""
	sa = h.prime(a, s.local[0], b, ka[0], seq0=ka[1])
	sb = h.prime(b, s.local[1], a, kb[0], seq0=kb[1])
	h.relay_check(a, s.local[0], b, 5, ka[0], f"{name} A->B {when}", sa, want_from=s.local[1])
	h.relay_check(b, s.local[1], a, 5, kb[0], f"{name} B->A {when}", sb, want_from=s.local[0])


def _record(identity, sid):
	text = _rcli("HGET", f"mrelay:{identity}:sessions", sid)
	return json.loads(text) if text else None


# ---- SRTP, RFC 3711, AES_CM_128_HMAC_SHA1_80 --------------------------------------------

def _aes_ctr(key, iv16, n):
	from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
	enc = Cipher(algorithms.AES(key), modes.CTR(iv16)).encryptor()
	return enc.update(b"\0" * n) + enc.finalize()


class Srtp:
	"""One direction's session keys (key derivation rate 0, §4.3)."""

	def __init__(self, master):
		mkey, msalt = master[:16], master[16:30]

		def derive(label, n):
			x = int.from_bytes(msalt, "big") ^ (label << 48)
			return _aes_ctr(mkey, (x << 16).to_bytes(16, "big"), n)
		self.key = derive(0, 16)
		self.auth = derive(1, 20)
		self.salt = derive(2, 14)

	def _ks(self, ssrc, index, n):
		iv = (int.from_bytes(self.salt, "big") << 16) ^ (ssrc << 64) ^ (index << 16)
		return _aes_ctr(self.key, (iv & ((1 << 128) - 1)).to_bytes(16, "big"), n)

	def protect(self, pkt, roc):
		seq, ssrc = struct.unpack("!H", pkt[2:4])[0], struct.unpack("!I", pkt[8:12])[0]
		ks = self._ks(ssrc, (roc << 16) | seq, len(pkt) - 12)
		body = pkt[:12] + bytes(a ^ b for a, b in zip(pkt[12:], ks))
		tag = hmac.new(self.auth, body + struct.pack("!I", roc), hashlib.sha1).digest()[:10]
		return body + tag

	def unprotect(self, pkt, roc):
		"""The plain packet, or None when the tag does not verify under roc."""
		body, tag = pkt[:-10], pkt[-10:]
		want = hmac.new(self.auth, body + struct.pack("!I", roc), hashlib.sha1).digest()[:10]
		if not hmac.compare_digest(tag, want):
			return None
		seq, ssrc = struct.unpack("!H", body[2:4])[0], struct.unpack("!I", body[8:12])[0]
		ks = self._ks(ssrc, (roc << 16) | seq, len(body) - 12)
		return body[:12] + bytes(a ^ b for a, b in zip(body[12:], ks))


def _sdes(master):
	import base64
	return f"{SUITE} inline:{base64.b64encode(master).decode()}"


def _srtp_in(src, dst, sink, ctx, ssrc, seqs, tag):
	"""src sends SRTP (index roc << 16 | seq for each (roc, seq)) to dst; sink must receive
	exactly the plain packets."""
	want = []
	for roc, seq in seqs:
		plain = h.rtp(seq, ssrc, payload=h.payload_for(tag, seq))
		src.sendto(ctx.protect(plain, roc), dst)
		want.append(plain)
		time.sleep(0.002)
	got = h.recv_n(sink, len(want), timeout=3)
	h.same_packets(got, want, tag)


def _srtp_out(src, dst, sink, ctx, ssrc, seqs, tag):
	"""src sends plain RTP; sink must receive it as SRTP that decrypts under each (roc, seq)."""
	sent = []
	for roc, seq in seqs:
		plain = h.rtp(seq, ssrc, payload=h.payload_for(tag, seq))
		src.sendto(plain, dst)
		sent.append((roc, plain))
		time.sleep(0.002)
	got = h.recv_n(sink, len(sent), timeout=3)
	eq(len(got), len(sent), f"{tag}: packets received")
	for (roc, plain), (data, _) in zip(sent, got):
		out = ctx.unprotect(data, roc)
		check(out is not None, f"{tag}: seq {h.rtp_seq(plain)} does not authenticate under "
		      f"ROC {roc}")
		check(out == plain, f"{tag}: seq {h.rtp_seq(plain)} decrypts to other bytes")


# ---- tests ------------------------------------------------------------------------------

def test_redis_restart_keeps_calls(env):
	"""Plain and SRTP sessions survive SIGKILL: same ids, ports, remotes and keys; SRTP
	resumes from the stored rollover counters in both directions."""
	identity = f"smoke-{h.PID}"
	d = _start_connected(env, "redis1", identity)
	try:

		pa, pb, pc, pd = env.ports(4)
		a = env.host.udp(NS_V4[0], pa)
		b = env.host.udp(NS_V4[1], pb)
		c = env.host.udp(NS_V4[2], pc)
		e = env.host.udp(NS_V4[3], pd)
		plain = d.create([{"remote": fmt_ep(NS_V4[0], pa)},
				  {"remote": fmt_ep(NS_V4[1], pb)}], label=LABEL)
		k_remote, k_local = os.urandom(30), os.urandom(30)
		srtp = d.create([{"remote": fmt_ep(NS_V4[2], pc)},
				 {"remote": fmt_ep(NS_V4[3], pd),
				  "srtp": {"remote_key": _sdes(k_remote), "local_key": _sdes(k_local)}}],
				label="srtp")
		rx, tx = Srtp(k_remote), Srtp(k_local)
		# No remotes given: both legs latch from packets, and the scan writes that.
		latch = d.create([{}, {}], label="latch")

		# Before: plain both ways; SRTP across a ROC change both ways (e sends ROC 0 then
		# ROC 1; c's plain packets leave encrypted with ROC 0 then 1).
		sa = h.prime(a, plain.local[0], b, 0x7E000001, seq0=1)
		sb = h.prime(b, plain.local[1], a, 0x7E000002, seq0=1)
		sa = h.relay_check(a, plain.local[0], b, 5, 0x7E000001, "plain A->B", sa,
				   want_from=plain.local[1])
		wrap = [(0, s) for s in range(65526, 65536)] + [(1, s) for s in range(0, 10)]
		_srtp_in(e, srtp.local[1], c, rx, 0x5E000001, wrap, "SRTP in before restart")
		_srtp_out(c, srtp.local[0], e, tx, 0x5E000002, wrap, "SRTP out before restart")

		a.sendto(h.rtp(1, 0x7E000003, payload=b"latch-a"), latch.local[0])
		b.sendto(h.rtp(1, 0x7E000004, payload=b"latch-b"), latch.local[1])
		want = [fmt_ep(NS_V4[0], pa), fmt_ep(NS_V4[1], pb)]
		h.wait_for(lambda: [x["remote"] for x in (_record(identity, latch.id) or
							   {"legs": [{}, {}]})["legs"]] == want,
			   10, what="the latched remotes in Redis")
		h.drain(a)
		h.drain(b)

		# The stored record has caught up with ROC 1 both ways (the change scan).
		def stored():
			r = _record(identity, srtp.id)
			s = r and r["legs"][1]["srtp"]
			return bool(s) and any(x[1] >= 0x10000 for x in s["rx"]) and \
				any(x[1] >= 0x10000 for x in s["tx"])
		h.wait_for(stored, 10, what="the SRTP indexes in Redis")
		check(_record(identity, plain.id) is not None, "plain session not in Redis")

		d.stop(signal.SIGKILL)
		_restart(env, d)
		health = d.ok("GET", "/v1/health", want=200)
		eq(health["state"]["restored"], 3, "sessions restored")
		eq(health["sessions"], 3, "sessions after the restart")
		eq(plain.get()["label"], LABEL, "label after the restart (the record escapes it)")
		eq([x["remote"] for x in latch.get()["legs"]], want,
		   "latched remotes after the restart")
		for s in (plain, srtp):
			g = s.get()
			eq([h.parse_ep(leg["local"]) for leg in g["legs"]], s.local,
			   f"session {s.body['label']}: local endpoints after the restart")
			eq(g["state"], "active", "state after the restart")
		eq(srtp.get()["legs"][1]["srtp"]["suite"], SUITE, "SRTP suite after the restart")

		# After: the same ports relay again, without a new signalling exchange (priming
		# first: the relay resolves the hosts' addresses again).
		_relay_both(a, b, plain, (0x7E000001, sa), (0x7E000002, sb), "plain",
			    "after restart")
		after = [(1, s) for s in range(10, 20)]
		_srtp_in(e, srtp.local[1], c, rx, 0x5E000001, after, "SRTP in after restart")
		_srtp_out(c, srtp.local[0], e, tx, 0x5E000002, after, "SRTP out after restart")

		# An ended session leaves Redis.
		eq(plain.delete(), 204, "DELETE after the restart")
		h.wait_for(lambda: _record(identity, plain.id) is None, 10,
			   what="the deleted session to leave Redis")
		srtp.delete()
		latch.delete()
		rc = d.stop(signal.SIGTERM)
		eq(rc, 0, f"exit status (log tail:\n{d.log_tail(10)})")
	finally:
		d.kill()
		_rcli("DEL", f"mrelay:{identity}:sessions", f"mrelay:{identity}:heartbeat")


def test_redis_down_queues(env):
	"""A Redis that is away at start and then comes up: the API keeps working, changes queue
	up to state.queue and beyond are counted as dropped (/v1/health, /metrics); once Redis
	answers, the whole state is written again (a resync) and matches the sessions, the rooms
	and the ng calls."""
	from test_ng import sdp
	identity = f"smoke-down-{h.PID}"
	port = h.free_tcp_port()	# nobody listens there yet
	d = env.new_daemon("redis2", addr4=RELAY4_B, addr6=RELAY6_B)
	d.ng_port = h.free_tcp_port()
	with open(d.conf, "a") as f:
		f.write(_state_conf(identity, port, "\tqueue = 16;\n\trestore_timeout = 1;\n"))
		f.write(f'\nng = {{\n\tlisten = "127.0.0.1:{d.ng_port}";\n}};\n')
	env.start_daemon(d)
	try:
		ss = []
		for _ in range(20):
			pa, pb = env.ports(2)
			ss.append(d.create([{"remote": fmt_ep(NS_V4[0], pa)},
					    {"remote": fmt_ep(NS_V4[1], pb)}]))
		st = d.ok("GET", "/v1/health", want=200)["state"]
		check(st["redis"] != "connected", f"state says connected to a dead port: {st}")
		eq(st["queued"], 16, "changes queued while Redis is away (state.queue)")
		eq(st["dropped"], 4, "changes beyond state.queue")
		check(st["resync_pending"], "no resync pending after drops")
		m = d.ok("GET", "/metrics", want=200)
		for line in ("mrelay_state_connected 0", "mrelay_state_queued 16",
			     "mrelay_state_dropped_total 4"):
			check(line in m, f"/metrics lacks '{line}'")
		for s in ss[:5]:
			eq(s.delete(), 204, "DELETE while Redis is away")
		# Rooms too: changes beyond the queue, written by the resync (a room deleted
		# meanwhile is not, but its id counts in "next").
		kept = d.ok("POST", "/v1/rooms", {"name": "kept"})["id"]
		part = d.ok("POST", f"/v1/rooms/{kept}/participants", {"name": "p"})
		gone = d.ok("POST", "/v1/rooms", {"name": "gone"})["id"]
		d.ok("DELETE", f"/v1/rooms/{gone}", want=204)
		# ng calls too: one kept, one ended before Redis came up.
		for c in ("kept", "gone"):
			for req in ({"command": "offer", "call-id": f"{c}-{h.PID}", "from-tag": "fA",
				     "sdp": sdp(NS_V4[2], 42020)},
				    {"command": "answer", "call-id": f"{c}-{h.PID}", "from-tag": "fA",
				     "to-tag": "tB", "sdp": sdp(NS_V4[3], 42022)}):
				eq(_ng(d, req)["result"], "ok", f"ng {req['command']} of {c}")
		eq(_ng(d, {"command": "delete", "call-id": f"gone-{h.PID}"})["result"], "ok",
		   "ng delete")
		cli = _redis_server(port)
		want = sorted(x["id"] for x in d.ok("GET", "/v1/sessions?limit=100")["sessions"])
		eq(len(want), 16, "active sessions: 15 of REST and the kept call's")

		def stored():
			keys = _rcli("HKEYS", f"mrelay:{identity}:sessions", cli=cli)
			return sorted(keys.split()) == want
		h.wait_for(stored, 15, what="the resync to write the 15 active sessions")

		def rooms_stored():
			keys = _rcli("HKEYS", f"mrelay:{identity}:rooms", cli=cli)
			return sorted(keys.split()) == sorted([kept, "next"])
		h.wait_for(rooms_stored, 15, what="the resync to write the room")
		eq(_rcli("HGET", f"mrelay:{identity}:rooms", "next", cli=cli), gone,
		   "the last room id handed out")
		rec = json.loads(_rcli("HGET", f"mrelay:{identity}:rooms", kept, cli=cli))
		eq([(p["id"], p["token"]) for p in rec["participants"]],
		   [(int(part["id"]), part["token"])], "participants of the resynced room")
		h.wait_for(lambda: _rcli("HKEYS", f"mrelay:{identity}:ngcalls", cli=cli) ==
			   f"kept-{h.PID}", 15, what="the resync to write the kept ng call")
		rec = json.loads(_rcli("HGET", f"mrelay:{identity}:ngcalls", f"kept-{h.PID}",
				       cli=cli))
		eq(rec["branches"][0]["tags"], ["fA", "tB"], "the resynced call's tags")
		check(rec["branches"][0]["media"][0]["id"] in want,
		      f"the resynced call names a session that is not active: {rec}")
		st = d.ok("GET", "/v1/health", want=200)["state"]
		eq(st["redis"], "connected", "state after Redis came up")
		for s in ss[5:]:
			s.delete()
		_ng(d, {"command": "delete", "call-id": f"kept-{h.PID}"})
	finally:
		d.kill()


# ---- rooms ------------------------------------------------------------------------------

class _Part:
	"""A room participant on a host socket: plain, or SRTP with keys rx (what it sends with:
	the relay's remote key) and tx (what the relay sends to it with: its local key)."""

	def __init__(self, body, sock, ssrc, rx=None, tx=None):
		self.body, self.id, self.sock, self.ssrc = body, body["id"], sock, ssrc
		self.local = h.parse_ep(body["local"])
		self.rx, self.tx = rx, tx
		self.seq = 1

	def send(self, tag, n):
		"""n packets to the relay; returns them as the others must receive them (plain)."""
		out = []
		for _ in range(n):
			plain = h.rtp(self.seq, self.ssrc, pt=111, payload=h.payload_for(tag, self.seq))
			self.sock.sendto(plain if self.rx is None else self.rx.protect(plain, 0),
					 self.local)
			out.append(plain)
			self.seq += 1
			time.sleep(0.002)
		return out

	def plain(self, data):
		"""What the relay sent, decrypted for an SRTP participant (None: not authentic)."""
		return data if self.tx is None else self.tx.unprotect(data, 0)


def _room_latch(parts, tries=40):
	"""Everyone sends until everyone hears everyone else (the relay latched each one's
	address and resolved nothing: rooms latch from packets), then drain."""
	for _ in range(tries):
		for p in parts:
			p.send("latch", 3)
		time.sleep(0.1)
		heard = {p.id: {h.rtp_ssrc(d) for d, _ in recv_rtp(p.sock, 100, timeout=0.05)}
			 for p in parts}
		if all(heard[p.id] >= {o.ssrc for o in parts if o is not p} for p in parts):
			break
	else:
		raise h.SmokeError("media did not flow between all the room's participants")
	time.sleep(0.2)
	for p in parts:
		h.drain(p.sock)


def _room_fanout(sender, receivers, tag, n=10):
	"""sender sends n packets; every receiver gets exactly them (decrypted if SRTP), from its
	own local endpoint."""
	sent = sender.send(tag, n)
	for r in receivers:
		got = recv_rtp(r.sock, n, timeout=3)
		for _, frm in got:
			eq(frm, r.local, f"{tag}: source of a packet to participant {r.id}")
		plain = [(r.plain(d), None) for d, _ in got]
		check(all(x is not None for x, _ in plain),
		      f"{tag}: a packet to SRTP participant {r.id} does not authenticate")
		h.same_packets(plain, sent, f"{tag}: {sender.id} -> {r.id}")


def _room_record(identity, rid):
	text = _rcli("HGET", f"mrelay:{identity}:rooms", rid)
	return json.loads(text) if text else None


def test_redis_restart_keeps_rooms(env):
	"""A room with two plain participants and an SRTP one, each publishing a stream, survives
	SIGKILL: the same room, participant and stream ids, tokens and local endpoints; the
	latched remotes come back, so media reaches every participant before it sent anything
	again, and SRTP goes on both ways under the same keys. Deleted rooms leave Redis; room
	ids are not handed out again after the restart."""
	identity = f"smoke-rooms-{h.PID}"
	d = _start_connected(env, "redis3", identity)
	try:
		gone = d.ok("POST", "/v1/rooms", {"name": "gone"})["id"]
		rid = d.ok("POST", "/v1/rooms", {"name": "kept", "auto_subscribe": True})["id"]
		k_remote = os.urandom(30)
		bodies = [d.ok("POST", f"/v1/rooms/{rid}/participants", {"name": "a"}),
			  d.ok("POST", f"/v1/rooms/{rid}/participants", {"name": "b"}),
			  d.ok("POST", f"/v1/rooms/{rid}/participants",
			       {"name": "c", "srtp": {"remote_key": _sdes(k_remote)}})]
		import base64
		k_local = base64.b64decode(bodies[2]["srtp"]["local_key"].split("inline:")[1])
		ports = env.ports(3)
		parts = []
		for i, (b, port) in enumerate(zip(bodies, ports)):
			srtp = (Srtp(k_remote), Srtp(k_local)) if i == 2 else (None, None)
			parts.append(_Part(b, env.host.udp(NS_V4[i], port), 0x700000A1 + i, *srtp))
		streams = {}
		for p in parts:
			s = d.ok("POST", f"/v1/rooms/{rid}/participants/{p.id}/streams",
				 {"ssrc": p.ssrc, "kind": "audio", "pt": 111, "codec": "opus"})
			streams[p.id] = s["id"]
		d.ok("DELETE", f"/v1/rooms/{gone}", want=204)

		_room_latch(parts)
		for p in parts:
			_room_fanout(p, [o for o in parts if o is not p], f"before {p.id}")

		# The latched remotes reach Redis (the change scan); the deleted room left it.
		def latched():
			r = _room_record(identity, rid)
			return r is not None and all(q["remote"] for q in r["participants"])
		h.wait_for(latched, 10, what="the latched remotes in Redis")
		h.wait_for(lambda: _room_record(identity, gone) is None, 10,
			   what="the deleted room to leave Redis")
		before = d.ok("GET", f"/v1/rooms/{rid}")

		d.stop(signal.SIGKILL)
		_restart(env, d)
		health = d.ok("GET", "/v1/health", want=200)
		eq(health["state"]["rooms_restored"], 1, "rooms restored")
		after = d.ok("GET", f"/v1/rooms/{rid}")
		eq(sorted(p["id"] for p in after["participants"]),
		   sorted(p.id for p in parts), "participant ids after the restart")
		for p in parts:
			g = d.ok("GET", f"/v1/rooms/{rid}/participants/{p.id}")
			eq(h.parse_ep(g["local"]), p.local, f"participant {p.id}: local endpoint")
			eq(g["token"], p.body["token"], f"participant {p.id}: token")
			eq([s["id"] for s in g["streams"]], [streams[p.id]],
			   f"participant {p.id}: stream ids")
			eq([s["ssrc"] for s in g["streams"]], [p.ssrc], f"participant {p.id}: SSRC")
		eq(after["name"], before["name"], "room name after the restart")
		check(d.api("GET", f"/v1/rooms/{gone}")[0] == 404, "the deleted room came back")

		# Nobody has sent since the restart: a's packets reach b and c at once (their
		# remotes were restored), c's through its own key; then everyone the other way.
		_room_fanout(parts[0], parts[1:], "after a")
		_room_fanout(parts[1], [parts[0], parts[2]], "after b")
		_room_fanout(parts[2], parts[:2], "after c (SRTP)")

		# Room ids go on from where they were: the deleted room's id is not reused.
		new = d.ok("POST", "/v1/rooms", {"name": "new"})["id"]
		check(int(new) > int(rid) > int(gone), f"room id {new} after {gone} and {rid}")
		d.ok("DELETE", f"/v1/rooms/{new}", want=204)
		d.ok("DELETE", f"/v1/rooms/{rid}", want=204)
		h.wait_for(lambda: _room_record(identity, rid) is None, 10,
			   what="the deleted room to leave Redis")
		rc = d.stop(signal.SIGTERM)
		eq(rc, 0, f"exit status (log tail:\n{d.log_tail(10)})")
	finally:
		d.kill()
		_rcli("DEL", f"mrelay:{identity}:sessions", f"mrelay:{identity}:rooms",
		      f"mrelay:{identity}:heartbeat")


# ---- active/standby (docs/OPERATIONS.md "Active/standby takeover") -----------------------

def _ha_daemon(env, name, identity, role, node, beside=(), ng=False, state_extra=""):
	"""A daemon of service identity with state.role role as node, on the shared addresses
	(RELAY4_B, RELAY6_B) and its own TAP; started, its TAP on the bridge beside the daemons
	of its pair (run.py stops any other daemon on those addresses). With ng, the ng protocol
	on loopback (d.ng_port). state_extra: more settings of the state group."""
	port, _ = _redis()
	d = env.new_daemon(name, addr4=RELAY4_B, addr6=RELAY6_B)
	with open(d.conf, "a") as f:
		f.write(_state_conf(identity, port, f'\trole = "{role}";\n\tnode = "{node}";\n' +
				    state_extra))
		if ng:
			d.ng_port = h.free_tcp_port()
			f.write(f'\nng = {{\n\tlisten = "127.0.0.1:{d.ng_port}";\n}};\n')
	env.start_daemon(d, beside)
	return d


def _ng(d, req):
	"""One ng request to d's loopback ng socket (test_ng's client); the answer dictionary."""
	from test_ng import Ng
	c = Ng(d.ng_port, host="127.0.0.1")
	try:
		return c.request(req)
	finally:
		c.close()


def _ha(d):
	return d.ok("GET", "/v1/health", want=200)["state"]


def _mac(d):
	return d.ok("GET", "/v1/stats", want=200)["ports"][0]["mac"].lower()


def _garp_from(sock, mac, addr, timeout):
	"""Wait on packet socket sock for a gratuitous ARP (RFC 5227 §3: a request whose sender
	and target are addr) from mac. True when one came within timeout s."""
	want_ip = socket.inet_aton(addr)
	want_mac = h.mac_bytes(mac)
	deadline = time.monotonic() + timeout
	while time.monotonic() < deadline:
		sock.settimeout(max(0.01, deadline - time.monotonic()))
		try:
			f = sock.recv(2048)
		except socket.timeout:
			return False
		if len(f) < 42 or f[12:14] != b"\x08\x06":
			continue
		arp = f[14:42]
		if arp[6:8] == b"\x00\x01" and arp[8:14] == want_mac and arp[14:18] == want_ip \
				and arp[24:28] == want_ip:
			return True
	return False


def _standby_drops(d):
	return sum(lc["drops"].get("standby", 0) for lc in d.stats()["lcores"])


def _ha_cleanup(identity, *daemons):
	"""Kill the daemons of a service (None: not started) and delete its keys."""
	for d in daemons:
		if d is not None:
			d.kill()
	_rcli("DEL", f"mrelay:{identity}:sessions", f"mrelay:{identity}:rooms",
	      f"mrelay:{identity}:ngcalls", f"mrelay:{identity}:heartbeat")


def _kill_and_wait(act, sb, src, dst, sink, ssrc, seq):
	"""SIGKILL act; src keeps sending RTP to dst, unchanged, until sink receives one (the
	standby relays), then wait for sb to hold the service. (seconds from the kill to the
	first relayed packet, the next sequence number, sb's /v1/health state)."""
	t0 = time.monotonic()
	act.stop(signal.SIGKILL)
	relayed = None
	while time.monotonic() - t0 < 15:
		src.sendto(h.rtp(seq, ssrc, payload=b"during"), dst)
		seq += 1
		if h.recv_n(sink, 1, timeout=0.02):
			relayed = time.monotonic() - t0
			break
	check(relayed is not None, "the standby relayed nothing within 15 s of the active's "
	      f"death; its log:\n{sb.log_tail(20)}")
	st = h.wait_for(lambda: (lambda x: x if x["role"] == "active" else None)(_ha(sb)), 5,
			what=f"{sb.name} to finish the takeover")
	return relayed, seq, st


def test_redis_standby_takeover(env):
	"""Two mrelayd share a service (identity) and its addresses on one bridge: the active
	relays a call, the standby is silent and refuses the service's objects (503). SIGKILL
	of the active: the standby takes the lock once it expired, loads the session from Redis,
	announces the addresses (gratuitous ARP, checked on the hosts' link) and relays the same
	call on the same local address and port, the hosts unchanged. A call made over ng on the
	active is the standby's too: its ng query and delete work there after the takeover."""
	from test_ng import sdp
	identity = f"smoke-ha-{h.PID}"
	act = _ha_daemon(env, "ha1", identity, "active", "node-a", ng=True)
	sb = None
	try:
		h.wait_for(lambda: _ha(act)["role"] == "active", 10, what="node-a to be active")
		sb = _ha_daemon(env, "ha2", identity, "standby", "node-b", (act,), ng=True)
		h.wait_for(lambda: _ha(sb)["active_node"] == "node-a", 10,
			   what="the standby to see node-a holding the service")
		st = _ha(sb)
		eq(st["role"], "standby", "role of the second node")
		eq(st["node"], "node-b", "node name")
		code, body, _ = sb.api("POST", "/v1/sessions", {"legs": [{}, {}]})
		eq(code, 503, f"POST /v1/sessions on the standby ({body})")
		eq(body["error"], "state: standby of node node-a", "the standby's refusal")
		eq(sb.api("GET", "/v1/sessions")[0], 503, "GET /v1/sessions on the standby")
		# Nor the rooms' signaling: a WebSocket upgrade is refused before it is made.
		code, body, _ = sb.api("GET", "/v1/ws", token="", headers={
			"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
			"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
		eq(code, 503, f"WebSocket upgrade on the standby ({body})")
		eq(body["error"], "state: standby of node node-a", "the standby's WebSocket refusal")
		callid = f"ha-{h.PID}"
		o = _ng(sb, {"command": "offer", "call-id": callid, "from-tag": "fA",
			     "sdp": sdp(NS_V4[2], 42010)})
		eq(o["result"], "error", "an ng offer on the standby")
		check("standby" in o.get("error-reason", ""), f"the standby's ng refusal: {o}")
		o = _ng(act, {"command": "offer", "call-id": callid, "from-tag": "fA",
			      "sdp": sdp(NS_V4[2], 42010)})
		eq(o["result"], "ok", f"ng offer on the active: {o}")
		a2 = _ng(act, {"command": "answer", "call-id": callid, "from-tag": "fA",
			       "to-tag": "tB", "sdp": sdp(NS_V4[3], 42012)})
		eq(a2["result"], "ok", f"ng answer on the active: {a2}")
		h.wait_for(lambda: _rcli("HEXISTS", f"mrelay:{identity}:ngcalls", callid) == "1", 10,
			   what="the ng call in Redis")

		pa, pb = env.ports(2)
		a = env.host.udp(NS_V4[0], pa)
		b = env.host.udp(NS_V4[1], pb)
		s = act.create([{"remote": fmt_ep(NS_V4[0], pa)}, {"remote": fmt_ep(NS_V4[1], pb)}],
			       label="ha")
		sa = h.prime(a, s.local[0], b, 0x7E0000A1, seq0=1)
		sb_seq = h.prime(b, s.local[1], a, 0x7E0000A2, seq0=1)
		sa = h.relay_check(a, s.local[0], b, 5, 0x7E0000A1, "A->B on the active", sa,
				   want_from=s.local[1])
		h.wait_for(lambda: _record(identity, s.id) is not None, 10,
			   what="the session in Redis")
		mac_a, mac_b = _mac(act), _mac(sb)
		check(mac_a != mac_b, "the two nodes have the same MAC address")
		eq(env.host.mac_of(RELAY4_B), mac_a, "the hosts' neighbor entry before")
		check(_standby_drops(act) == 0, "the active counted standby drops")

		# Every frame the hosts' link sees (ETH_P_ALL; protocol 0 would receive none).
		with h.inside(env.host.ns):
			garp = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
		garp.bind(("eth0", 0))
		# It relays each session as it loads it: the load may still be finishing (the
		# rooms' and ng calls' pages) when the first packet comes through.
		relayed, seq, st = _kill_and_wait(act, sb, a, s.local[0], b, 0x7E0000A1, sa)
		h.log(f"takeover: first packet relayed by the standby {relayed * 1000:.0f} ms "
		      f"after SIGKILL of the active (lock seen free -> relaying: "
		      f"{st['last_takeover_ms']} ms)")
		eq(st["role"], "active", "role of node-b after the takeover")
		eq(st["active_node"], "node-b", "holder after the takeover")
		eq(st["takeovers"], 1, "takeovers")
		eq(st["restored"], 2, "sessions loaded at the takeover (the call's and ng's)")
		eq(st["ng_calls_restored"], 1, "ng calls loaded at the takeover")
		with socket.create_connection(("127.0.0.1", sb.api_port), timeout=5) as ws:
			ws.sendall(b"GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
				   b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
				   b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
			line = ws.recv(64).split(b"\r\n")[0]
		check(line.startswith(b"HTTP/1.1 101"), f"WebSocket upgrade after the takeover: {line}")
		try:
			check(_garp_from(garp, mac_b, RELAY4_B, 5),
			      "no gratuitous ARP for the shared address from the standby's MAC")
		finally:
			garp.close()
		h.wait_for(lambda: env.host.mac_of(RELAY4_B) == mac_b, 5,
			   what="the hosts' neighbor entry to move to the standby's MAC")

		g = sb.ok("GET", f"/v1/sessions/{s.id}")
		eq([h.parse_ep(leg["local"]) for leg in g["legs"]], s.local,
		   "local endpoints on the standby")
		h.drain(a)
		h.drain(b)
		_relay_both(a, b, s, (0x7E0000A1, seq), (0x7E0000A2, sb_seq), "call",
			    "after the takeover")
		eq(sb.api("DELETE", f"/v1/sessions/{s.id}")[0], 204, "DELETE on the new active")
		q = _ng(sb, {"command": "query", "call-id": callid})
		eq(q["result"], "ok", f"ng query on the new active: {q}")
		eq(sorted(q.get("tags", {})), ["fA", "tB"], "the call's tags on the new active")
		eq(_ng(sb, {"command": "delete", "call-id": callid, "from-tag": "fA",
			    "to-tag": "tB"}).get("warning"), None, "ng delete on the new active")
		eq(sb.ok("GET", "/v1/health", want=200)["sessions"], 0, "sessions left")
		h.wait_for(lambda: _rcli("HLEN", f"mrelay:{identity}:ngcalls") == "0", 10,
			   what="the deleted call to leave Redis")
		rc = sb.stop(signal.SIGTERM)
		eq(rc, 0, f"exit status (log tail:\n{sb.log_tail(10)})")
	finally:
		_ha_cleanup(identity, act, sb)


def _mirror(d):
	return _ha(d)["mirror"]


def test_redis_standby_mirror(env):
	"""The standby mirrors the service's sessions before any failure: it loads them while
	standby and follows the holder's changes (a PATCHed remote, a deleted and a new
	session) from its notices. SIGKILL of the active: the standby relays the mirrored
	sessions as soon as it holds the lock, the PATCHed one to its new remote, without
	loading them; the deleted one is not there."""
	identity = f"smoke-mirror-{h.PID}"
	act = _ha_daemon(env, "mir1", identity, "active", "node-a")
	sb = None
	try:
		h.wait_for(lambda: _ha(act)["role"] == "active", 10, what="node-a to be active")
		eq(_mirror(act)["state"], "off", "the holder's mirror")
		pa, pb, pc = env.ports(3)
		a = env.host.udp(NS_V4[0], pa)
		b = env.host.udp(NS_V4[1], pb)
		c = env.host.udp(NS_V4[2], pc)
		s1 = act.create([{"remote": fmt_ep(NS_V4[0], pa)}, {"remote": fmt_ep(NS_V4[1], pb)}],
				label="mirror-1")
		gone = act.create([{}, {}], label="mirror-gone")
		h.wait_for(lambda: _record(identity, gone.id) is not None, 10,
			   what="the sessions in Redis")
		sb = _ha_daemon(env, "mir2", identity, "standby", "node-b", (act,))
		m = h.wait_for(lambda: (lambda x: x if x["state"] == "ready" else None)(_mirror(sb)),
			       10, what="the standby's mirror to load")
		eq(m["sessions"], 2, f"sessions mirrored by the load ({m})")
		eq(m["loads"], 1, "mirror loads")
		# Changes after the load: the standby follows them from the holder's notices.
		act.ok("PATCH", f"/v1/sessions/{s1.id}",
		       {"legs": [{}, {"remote": fmt_ep(NS_V4[2], pc)}]}, want=200)
		eq(act.api("DELETE", f"/v1/sessions/{gone.id}")[0], 204, "DELETE on the active")
		s3 = act.create([{}, {}], label="mirror-new")
		h.wait_for(lambda: (lambda x: x["sessions"] == 2 and x["pending"] == 0 and
				    x["applied"] >= 3)(_mirror(sb)), 10,
			   what=f"the standby to apply the three changes ({_mirror(sb)})")
		check(_mirror(sb)["notices"] >= 3, f"notices received: {_mirror(sb)}")
		eq(sb.api("GET", f"/v1/sessions/{s1.id}")[0], 503, "the standby's API still refuses")
		seq = h.prime(a, s1.local[0], c, 0x7E0000C1, seq0=1)
		h.drain(c)

		relayed, seq, st = _kill_and_wait(act, sb, a, s1.local[0], c, 0x7E0000C1, seq)
		h.log(f"mirrored takeover: first packet to the PATCHed remote {relayed * 1000:.0f} "
		      f"ms after SIGKILL of the active")
		eq(st["mirrored_takeovers"], 1, "takeovers from the mirror")
		eq(st["restored"], 2, "sessions relayed at the takeover")
		code, body, _ = sb.api("GET", f"/v1/sessions/{gone.id}")
		check(code == 404 or body.get("state") == "ended",
		      f"the deleted session on node-b: {code} {body}")
		eq(sb.ok("GET", "/v1/health")["sessions"], 2, "sessions on node-b")
		eq(sb.ok("GET", f"/v1/sessions/{s3.id}")["label"], "mirror-new", "the new session")
		eq(sb.ok("GET", f"/v1/sessions/{s1.id}")["legs"][1].get("remote"),
		   fmt_ep(NS_V4[2], pc), "the PATCHed remote on node-b")
		check("relaying the 2 mirrored session(s) at once" in sb.log_tail(30),
		      f"no word of the mirrored takeover:\n{sb.log_tail(10)}")
		h.drain(a)
		h.drain(c)
		_relay_both(a, c, s1, (0x7E0000C1, seq), (0x7E0000C2, 1), "mirrored call",
			    "after the takeover")
		# The new holder writes; a standby started now mirrors from it.
		eq(sb.api("DELETE", f"/v1/sessions/{s3.id}")[0], 204, "DELETE on the new holder")
		h.wait_for(lambda: _record(identity, s3.id) is None, 10,
			   what="the new holder's delete in Redis")
		eq(sb.stop(signal.SIGTERM), 0, f"exit status (log tail:\n{sb.log_tail(10)})")
	finally:
		_ha_cleanup(identity, act, sb)


def test_redis_active_fenced(env):
	"""An active whose lock another node took (overwritten in Redis) fences itself at once:
	media to its addresses counts as standby drops, the service's REST requests get 503
	naming the holder, and it does not take the service back while the other holds it. Once
	the lock is free it takes the service again, from Redis."""
	identity = f"smoke-fence-{h.PID}"
	lock = f"mrelay:{identity}:heartbeat"
	d = _ha_daemon(env, "ha3", identity, "active", "node-c")
	try:
		h.wait_for(lambda: _ha(d)["role"] == "active", 10, what="node-c to be active")
		eq(_rcli("GET", lock), "node-c", "the lock's value")
		pa, pb = env.ports(2)
		a = env.host.udp(NS_V4[0], pa)
		b = env.host.udp(NS_V4[1], pb)
		s = d.create([{"remote": fmt_ep(NS_V4[0], pa)}, {"remote": fmt_ep(NS_V4[1], pb)}])
		seq = h.prime(a, s.local[0], b, 0x7E0000B1, seq0=1)
		h.wait_for(lambda: _record(identity, s.id) is not None, 10,
			   what="the session in Redis")

		_rcli("SET", lock, "intruder", "PX", "60000")
		h.wait_for(lambda: _ha(d)["role"] == "standby", 5, what="node-c to fence itself")
		h.wait_for(lambda: _ha(d)["active_node"] == "intruder", 5,
			   what="the fenced node to see the new holder")
		st = _ha(d)
		eq(st["fenced"], 1, "fences")
		code, body, _ = d.api("POST", "/v1/sessions", {"legs": [{}, {}]})
		eq(code, 503, f"POST /v1/sessions when fenced ({body})")
		eq(body["error"], "state: standby of node intruder", "the fenced node's refusal")
		eq(d.api("DELETE", f"/v1/sessions/{s.id}")[0], 503, "DELETE when fenced")
		before = _standby_drops(d)
		for i in range(10):
			a.sendto(h.rtp(seq + i, 0x7E0000B1, payload=b"fenced"), s.local[0])
		h.wait_for(lambda: _standby_drops(d) >= before + 10, 5,
			   what="the fenced node to count standby drops")
		h.expect_none(b, wait=0.3, what="a packet relayed by the fenced node")
		m = d.ok("GET", "/metrics", want=200)
		check("mrelay_state_active 0" in m, "/metrics: mrelay_state_active is not 0")
		check('reason="standby"' in m, "/metrics has no standby drop reason")
		# The fenced node's copy is gone, Redis' stays (the holder's).
		check(_record(identity, s.id) is not None, "the fenced node deleted the record")
		time.sleep(0.5)
		eq(_ha(d)["role"], "standby", "node-c took the service back while held")

		# The lock free again: node-c takes it (nobody else) and loads the session.
		_rcli("DEL", lock)
		h.wait_for(lambda: _ha(d)["role"] == "active", 10, what="node-c to take over")
		eq(_rcli("GET", lock), "node-c", "the lock's value after the takeover")
		g = d.ok("GET", f"/v1/sessions/{s.id}")
		eq([h.parse_ep(leg["local"]) for leg in g["legs"]], s.local,
		   "local endpoints after taking the service back")
		h.drain(b)
		h.prime(a, s.local[0], b, 0x7E0000B1, seq0=seq + 10)
		eq(d.api("DELETE", f"/v1/sessions/{s.id}")[0], 204, "DELETE after the takeover")
		h.wait_for(lambda: _record(identity, s.id) is None, 10,
			   what="the deleted session to leave Redis")
	finally:
		d.kill()
		_rcli("DEL", f"mrelay:{identity}:sessions", f"mrelay:{identity}:rooms", lock)


def test_redis_release(env):
	"""POST /v1/state/release hands the service over on purpose: the holder writes what
	waits (a session created just before is there), deletes its lock and becomes a standby
	that claims no free lock for hold_ms; the standby takes the service within a poll and
	relays the calls on the same ports; released there with a hold, the first node takes it
	back; then five rounds of hand-overs, each right after 4 new sessions, and every
	session answers on the new holder as soon as its API is open (the catch-up). A node
	that does not hold the service, or a bad body, is refused and nothing changes."""
	identity = f"smoke-rel-{h.PID}"
	lock = f"mrelay:{identity}:heartbeat"
	# Polls every 10 ms: the claim often comes within a mirror tick (10 ms) of the last
	# notices, the race the catch-up closes.
	fast = "\theartbeat_ms = 10;\n"
	a_node = _ha_daemon(env, "ha4", identity, "active", "node-r1", state_extra=fast)
	b_node = None
	try:
		h.wait_for(lambda: _ha(a_node)["role"] == "active", 10, what="node-r1 to be active")
		b_node = _ha_daemon(env, "ha5", identity, "standby", "node-r2", (a_node,),
				    state_extra=fast)
		h.wait_for(lambda: _ha(b_node)["active_node"] == "node-r1", 10,
			   what="node-r2 to see node-r1 holding the service")
		st, body, _ = b_node.api("POST", "/v1/state/release", {})
		eq(st, 409, f"release on the standby: {body}")
		check("node node-r1 holds it" in body["error"], f"the standby's refusal: {body}")
		for bad, field in (({"hold_ms": -1}, "hold_ms"), ({"hold": 5}, "hold")):
			st, body, _ = a_node.api("POST", "/v1/state/release", bad)
			eq(st, 400, f"release with {bad}: {body}")
			check(body["error"].startswith(field + ":"), f"the error names {field}: {body}")
		eq(_ha(a_node)["role"], "active", "role after refused releases")

		pa, pb = env.ports(2)
		sa = env.host.udp(NS_V4[0], pa)
		sb = env.host.udp(NS_V4[1], pb)
		s = a_node.create([{"remote": fmt_ep(NS_V4[0], pa)}, {"remote": fmt_ep(NS_V4[1], pb)}])
		# More sessions created right before the release: their notices reach node-r2
		# around its claim of the lock, and its API must not answer before they are
		# applied (the catch-up, docs/OPERATIONS.md "The standby's mirror").
		late = [a_node.create([{"remote": fmt_ep(NS_V4[0], 41000 + 2 * i)},
				       {"remote": fmt_ep(NS_V4[1], 41001 + 2 * i)}]) for i in range(6)]
		# No wait for Redis: the release writes what waits before it lets go.
		st, body, _ = a_node.api("POST", "/v1/state/release", {"hold_ms": 1500})
		t_rel = time.monotonic()
		eq(st, 200, f"release on the holder: {body}")
		eq((body["released"], body["node"], body["hold_ms"]), (True, "node-r1", 1500),
		   f"the release's answer: {body}")
		eq(_ha(a_node)["role"], "standby", "the releasing node right after")
		h.wait_for(lambda: _ha(b_node)["role"] == "active", 5, what="node-r2 to take over")
		h.log(f"release: node-r2 active {(time.monotonic() - t_rel) * 1000:.0f} ms after "
		      "node-r1's POST /v1/state/release")
		eq(_rcli("GET", lock), "node-r2", "the lock after the release")
		for x in [s] + late:
			g = b_node.ok("GET", f"/v1/sessions/{x.id}")
			eq([h.parse_ep(leg["local"]) for leg in g["legs"]], x.local,
			   f"local endpoints of {x.id} on the node that took over")
		h.wait_for(lambda: env.host.mac_of(RELAY4_B) == _mac(b_node), 5,
			   what="the hosts' neighbor entry to move to node-r2")
		seq = h.prime(sa, s.local[0], sb, 0x7E0000C1, seq0=1)
		h.relay_check(sa, s.local[0], sb, 5, 0x7E0000C1, "A->B after the release", seq,
			      want_from=s.local[1])
		eq(a_node.api("GET", f"/v1/sessions/{s.id}")[0], 503, "the released node's API")
		eq(_ha(a_node)["releases"], 1, "releases counted")

		# Back: node-r1's hold (1.5 s) is over; node-r2 releases with a hold, so that it
		# does not claim the free lock itself: node-r1 takes the service back.
		time.sleep(max(0.0, 1.6 - (time.monotonic() - t_rel)))
		st, body, _ = b_node.api("POST", "/v1/state/release", {"hold_ms": 1000})
		eq(st, 200, f"release on node-r2: {body}")
		h.wait_for(lambda: _ha(a_node)["role"] == "active", 5,
			   what="node-r1 to take the service back")
		eq(_ha(b_node)["role"], "standby", "node-r2 after its release")
		eq(_rcli("GET", lock), "node-r1", "the lock after the second release")

		# Rounds of hand-overs to a ready mirror, each right after 4 new sessions: every
		# session answers on the new holder as soon as its API is open.
		every = [s] + late
		holder, other = a_node, b_node
		for r in range(5):
			h.wait_for(lambda: _ha(other)["mirror"]["state"] == "ready", 5,
				   what=f"round {r}: the standby's mirror to be ready")
			every += [holder.create([{"remote": fmt_ep(NS_V4[0], 42000 + 8 * r + 2 * i)},
						 {"remote": fmt_ep(NS_V4[1], 42001 + 8 * r + 2 * i)}])
				  for i in range(4)]
			st, body, _ = holder.api("POST", "/v1/state/release", {"hold_ms": 1000})
			eq(st, 200, f"round {r}: the release: {body}")
			h.wait_for(lambda: _ha(other)["role"] == "active", 5, interval=0.01,
				   what=f"round {r}: the other node to take over")
			for x in every:
				st, g, _ = other.api("GET", f"/v1/sessions/{x.id}")
				eq(st, 200, f"round {r}: GET {x.id} on the new holder: {g}")
				eq([h.parse_ep(leg["local"]) for leg in g["legs"]], x.local,
				   f"round {r}: local endpoints of {x.id}")
			holder, other = other, holder
		eq(_ha(holder)["mirrored_takeovers_fenced"], 0, "mirrored takeovers fenced")
		eq(holder.api("DELETE", f"/v1/sessions/{s.id}")[0], 204, "DELETE on the holder")
	finally:
		a_node.kill()
		if b_node is not None:
			b_node.kill()
		_rcli("DEL", f"mrelay:{identity}:sessions", f"mrelay:{identity}:rooms", lock)


# ---- the cluster registry (docs/OPERATIONS.md "Cluster registry") --------------------------

def test_redis_cluster_registry(env):
	"""Two appliances on one Redis, each its own identity, register every second: GET
	/v1/cluster on either lists both, alive, with their API URLs (given, or the default
	http://<api.listen>), roles and loads (a session created on one shows there). x places by
	load (state.placement least_loaded): carrying 4 sessions to y's 0, it answers POST
	/v1/sessions and POST /v1/rooms with 307 and y's URL, where they are then created;
	requests about y's session or room sent to x are redirected to y (room ids are unique
	across the two: blocks reserved in Redis); a node that dies shows as not alive after 3 s,
	one that stops leaves the registry; without the state store the route is a 503."""
	st, b, _ = env.main.api("GET", "/v1/cluster")
	eq(st, 503, f"GET /v1/cluster without the state store: {b}")
	port, _ = _redis()
	x = env.new_daemon("clux", addr4=RELAY4_B, addr6=RELAY6_B)
	with open(x.conf, "a") as f:
		f.write(_state_conf("clu-x", port, '\tnode = "node-x";\n'
				    '\tapi_url = "http://198.18.0.250:8080";\n'
				    '\tplacement = "least_loaded";\n'))
	env.start_daemon(x)
	y = None
	try:
		# The earlier tests' daemons (stopped just now) registered too, and stay alive in
		# the registry for 3 s: start from x alone.
		_rcli("DEL", "mrelay:cluster:nodes")
		h.wait_for(lambda: [e["node"] for e in x.ok("GET", "/v1/cluster")["nodes"]] ==
			   ["node-x"], 10, what="x alone in the registry")
		# Alone in the registry, x creates here.
		for _ in range(4):
			x.create([{}, {}])
		y = env.new_daemon("cluy", addr4=RELAY4_B, addr6=RELAY6_B)
		with open(y.conf, "a") as f:
			f.write(_state_conf("clu-y", port, '\tnode = "node-y";\n'))
		env.start_daemon(y, beside=(x,))

		def both():
			c = x.ok("GET", "/v1/cluster", want=200)
			n = {e["node"]: e for e in c["nodes"]}
			ok = (n.get("node-x", {}).get("alive") and n.get("node-y", {}).get("alive") and
			      n["node-x"]["sessions"] == 4)
			return ok and (c, n)
		c, n = h.wait_for(both, 10, what="both nodes in the registry, x with its sessions")
		eq(c["self"], "node-x", "self")
		eq((n["node-x"]["api_url"], n["node-x"]["identity"], n["node-x"]["self"],
		    n["node-x"]["role"]),
		   ("http://198.18.0.250:8080", "clu-x", True, "single"), f"x's entry {n['node-x']}")
		y_url = f"http://127.0.0.1:{y.api_port}"
		eq((n["node-y"]["api_url"], n["node-y"]["identity"], n["node-y"]["self"]),
		   (y_url, "clu-y", False), f"y's entry {n['node-y']}")
		check(n["node-y"]["max_sessions"] > 0 and n["node-y"]["age_ms"] >= 0,
		      f"y's entry {n['node-y']}")
		# Placement: x sends creations to y, which carries less.
		for path, body in (("/v1/sessions", {"legs": [{}, {}]}), ("/v1/rooms", {"name": "p"})):
			st, b, hd = x.api("POST", path, body)
			eq(st, 307, f"POST {path} on the loaded x: {b}")
			loc = {k.lower(): v for k, v in hd.items()}.get("location")
			eq(loc, y_url + path, f"the Location of POST {path}: {b}")
			st, b, _ = y.api("POST", path, body)
			eq(st, 201, f"POST {path} where it was sent: {b}")
		eq(y.ok("GET", "/v1/health", want=200)["sessions"], 1, "the session on y")
		# Requests about a session that lives on y, sent to x: 307 to the same request on
		# y (x finds it in y's session hash); one nobody has stays a 404.
		sid = y.ok("GET", "/v1/sessions")["sessions"][0]["id"]
		path = f"/v1/sessions/{sid}"
		# x finds it in y's session hash: once y wrote it (batched, as rooms below; a fresh
		# run once asked before and got 404).
		h.wait_for(lambda: _rcli("HEXISTS", "mrelay:clu-y:sessions", sid) == "1", 10,
			   what="y's session in Redis")
		for method in ("GET", "DELETE"):
			st, b, hd = x.api(method, path)
			loc = {k.lower(): v for k, v in hd.items()}.get("location")
			eq((st, loc), (307, y_url + path), f"{method} {path} on x: {b}")
			st, b, _ = y.api("GET", path)
			eq(st, 200, f"GET {path} on y: {b}")
		st, b, _ = x.api("GET", "/v1/sessions/00000000000000ff")
		eq(st, 404, f"GET of a session nobody has: {b}")
		# Rooms: ids from blocks of one counter in Redis, so x's and y's never clash; a
		# request about y's room sent to x goes to y, one about x's own stays on x.
		ry = [r["id"] for r in y.ok("GET", "/v1/rooms")["rooms"]]
		eq(len(ry), 1, f"y's rooms: {ry}")
		ry.append(y.ok("POST", "/v1/rooms", {"name": "second"})["id"])
		eq(int(ry[1]), int(ry[0]) + 1, f"y's room ids, one block: {ry}")
		# x finds it in y's room hash: once y wrote it (a batch is at most 2 ms old).
		h.wait_for(lambda: _rcli("HEXISTS", "mrelay:clu-y:rooms", ry[1]) == "1", 10,
			   what="y's second room in Redis")
		for path in (f"/v1/rooms/{ry[0]}", f"/v1/rooms/{ry[1]}/participants"):
			st, b, hd = x.api("GET", path)
			loc = {k.lower(): v for k, v in hd.items()}.get("location")
			eq((st, loc), (307, y_url + path), f"GET {path} on x: {b}")
			check("room: on another appliance" in b.get("error", ""), f"the 307's body: {b}")
		st, b, _ = x.api("GET", "/v1/rooms/4000000000")
		eq(st, 404, f"GET of a room nobody has: {b}")
		eq(x.ok("GET", "/v1/stats")["api"]["redirected_elsewhere"], 4, "x's redirects")
		eq(y.ok("GET", "/v1/stats")["rooms"]["ids_unreserved"], 0,
		   "room ids handed out beyond the reserved blocks")
		check(int(_rcli("GET", "mrelay:cluster:room_ids")) >= int(ry[1]),
		      "the reserved room ids' counter is below an id handed out")
		# Killed: its entry stays, and shows as not alive after 3 s.
		y.stop(signal.SIGKILL)
		h.wait_for(lambda: not {e["node"]: e for e in x.ok("GET", "/v1/cluster")["nodes"]}
			   ["node-y"]["alive"], 10, what="y to show as gone")
		# y gone: x creates here again.
		st, b, _ = x.api("POST", "/v1/sessions", {"legs": [{}, {}]})
		eq(st, 201, f"POST /v1/sessions on x once y is gone: {b}")
		rx = x.ok("POST", "/v1/rooms", {"name": "on-x"})["id"]
		check(rx not in ry, f"room id {rx} on x, as one of y's {ry}")
		eq(x.api("GET", f"/v1/rooms/{rx}")[0], 200, "GET of x's own room on x")
		eq(x.ok("GET", "/v1/stats")["rooms"]["ids_unreserved"], 0,
		   "x's room ids handed out beyond the reserved blocks")
		# A node that stops cleanly leaves the registry at once.
		x.stop()
		eq(_rcli("HEXISTS", "mrelay:cluster:nodes", "node-x"), "0",
		   "x's entry after it stopped")
	finally:
		for d in (x, y):
			if d is not None and d.alive():
				d.stop()
		_rcli("DEL", "mrelay:cluster:nodes", "mrelay:clu-x:sessions", "mrelay:clu-y:sessions",
		      "mrelay:clu-x:rooms", "mrelay:clu-y:rooms", "mrelay:clu-x:heartbeat",
		      "mrelay:clu-y:heartbeat")


# ---- rooms across appliances (docs/API.md "Rooms across appliances") ----------------------

SPAN_ADDR = ["198.18.0.2", "198.18.0.3", "198.18.0.4"]


def test_redis_cluster_room(env):
	"""Three appliances on one Redis, a participant on each in the cluster room "span":
	each node links to the two others (a link participant latched on the other node's link
	endpoint, publishing that node's streams), and every participant receives exactly the
	two others' packets, byte for byte and in order, and none of its own. Then one appliance
	is killed: the others' participants are told (participant_left of its link, reason
	node_lost) and the remaining two go on exchanging media; one that stops leaves at once."""
	import asyncio
	import test_rooms as tr
	tr._need_ws()
	port, _ = _redis()
	nodes = ("span-a", "span-b", "span-c")
	_rcli("DEL", "mrelay:cluster:room:span", "mrelay:cluster:nodes")
	ds = []
	try:
		for i, n in enumerate(nodes):
			d = env.new_daemon(f"sp{i}", addr4=SPAN_ADDR[i], addr6=None)
			with open(d.conf, "a") as f:
				f.write(_state_conf(n, port, f'\tnode = "{n}";\n'))
			env.start_daemon(d)
			ds.append(d)
		rooms = []
		for d in ds:
			st, b, _ = d.api("POST", "/v1/rooms", {"name": "span", "cluster": True})
			eq(st, 201, f"POST /v1/rooms cluster on {d.name}: {b}")
			eq(b.get("cluster"), True, f"the room's cluster flag: {b}")
			rooms.append(b["id"])
		# One room of the name per node: asked again, the node answers with it.
		st, b, _ = ds[0].api("POST", "/v1/rooms", {"name": "span", "cluster": True})
		eq((st, b.get("id")), (200, rooms[0]), f"a second creation on node a: {b}")
		st, b, _ = ds[0].api("POST", "/v1/rooms", {"cluster": True})
		eq((st, b.get("error", "")[:5]), (400, "name:"), f"a cluster room without a name: {b}")
		ssrcs = [0x5A000001, 0x5A000002, 0x5A000003]
		members = []
		for i, d in enumerate(ds):
			b = tr.create_part(d, rooms[i], f"user-{nodes[i]}")
			st, s, _ = d.api("POST", f"/v1/rooms/{rooms[i]}/participants/{b['id']}/streams",
					 {"ssrc": ssrcs[i], "kind": "audio", "pt": tr.PT_OPUS,
					  "codec": "opus"})
			eq(st, 201, f"publish on {d.name}: {s}")
			sock = env.host.udp(NS_V4[i], 41100 + i)
			members.append(tr.Member(b, None, sock, ssrcs[i]))
		t0 = time.monotonic()

		seen = {}

		def linked(i):
			"""Node i has its two links, latched, with the other nodes' streams."""
			r = ds[i].ok("GET", f"/v1/rooms/{rooms[i]}")
			seen[i] = r
			links = {p["link"]: p for p in r["participants"] if "link" in p}
			if set(links) != set(nodes) - {nodes[i]}:
				return False
			for n, p in links.items():
				j = nodes.index(n)
				origin = [(s["ssrc"], s["origin"]["node"], s["origin"]["name"])
					  for s in p["streams"]]
				if origin != [(ssrcs[j], n, f"user-{n}")] or p["remote"] is None:
					return False
			return r
		for i in range(3):
			try:
				r = h.wait_for(lambda: linked(i), 15, what=f"node {nodes[i]}'s links")
			except h.SmokeError as e:
				raise h.SmokeError(f"{e}: the room there: {seen.get(i)}") from None
			eq(r["participant_count"], 3, f"participants on {nodes[i]}: {r}")
		h.log(f"cluster room: the three appliances linked (links latched, each other's "
		      f"streams published) {(time.monotonic() - t0) * 1000:.0f} ms after the last "
		      f"publication")
		tr.latch(members)
		tr.exchange(members, 40, "span3")

		# A WebSocket join on a with the token of b's participant: a finds in the cluster's
		# token index that it belongs to b and answers with b's WebSocket URL; a token
		# nobody has stays unknown.
		async def elsewhere():
			p = await tr.Peer.connect(ds[0], "ws-elsewhere")
			m1 = await p.request("join", token=members[1].body["token"])
			m2 = await p.request("join", token="0" * 32)
			await p.close()
			return m1, m2
		m1, m2 = tr.run_async(elsewhere())
		eq((m1.get("type"), m1.get("location")),
		   ("error", f"ws://127.0.0.1:{ds[1].api_port}/v1/ws"), f"b's token joined on a: {m1}")
		eq((m2.get("type"), m2.get("error")), ("error", "token: no participant has this token"),
		   f"an unknown token on a: {m2}")
		# A WebSocket participant on a and b each: told of each other's join (pub/sub
		# between the nodes) and of c's end.

		async def lost():
			peers = []
			for i in (0, 1):
				p = await tr.Peer.connect(ds[i], f"ws-{nodes[i]}")
				await p.ok("join", "joined", token=members[i].body["token"])
				peers.append(p)
			# b's join reaches a's participant over Redis pub/sub, naming b's node.
			e = await peers[0].event("participant_joined", timeout=5, node="span-b")
			eq(e["participant"]["id"], members[1].id, f"b's join as a sees it: {e}")
			link_c = []
			for i in (0, 1):
				r = ds[i].ok("GET", f"/v1/rooms/{rooms[i]}")
				link_c.append([q["id"] for q in r["participants"]
					       if q.get("link") == "span-c"])
			ds[2].stop(signal.SIGKILL)
			out = []
			for i, p in enumerate(peers):
				e = await p.event("participant_left", timeout=10, reason="node_lost")
				out.append((e, link_c[i]))
				await p.close()
			return out
		for (e, link_c) in tr.run_async(lost()):
			eq((e["participant"], e["reason"]), (link_c[0], "node_lost"),
			   f"the event of c's end: {e}")
		# c's link gone; the WebSocket ends removed a's and b's participants (a close
		# without leave): a and b keep their link, and new participants go on.
		for i in (0, 1):
			try:
				h.wait_for(lambda: [p.get("link") for p in ds[i].ok(
					"GET", f"/v1/rooms/{rooms[i]}")["participants"]] ==
					[nodes[1 - i]], 10,
					what=f"node {nodes[i]}'s participants after c died")
			except h.SmokeError as e:
				raise h.SmokeError(f"{e}: {ds[i].ok('GET', f'/v1/rooms/{rooms[i]}')}") \
					from None
		rest = []
		for i in (0, 1):
			b = tr.create_part(ds[i], rooms[i], f"again-{nodes[i]}")
			st, s, _ = ds[i].api("POST",
					     f"/v1/rooms/{rooms[i]}/participants/{b['id']}/streams",
					     {"ssrc": ssrcs[i] + 16, "kind": "audio", "pt": tr.PT_OPUS})
			eq(st, 201, f"publish again on {nodes[i]}: {s}")
			rest.append(tr.Member(b, None, members[i].sock, ssrcs[i] + 16))
		h.wait_for(lambda: all(any(s["ssrc"] == ssrcs[1 - i] + 16
					   for p in ds[i].ok("GET", f"/v1/rooms/{rooms[i]}")
					   ["participants"] if p.get("link") for s in p["streams"])
				       for i in (0, 1)), 15, what="the new streams across a and b")
		tr.latch(rest)
		tr.exchange(rest, 40, "span2")
		c = ds[0].ok("GET", "/v1/stats")["rooms"]
		check(c["cluster_rooms"] == 1 and c["cluster_links"] == 1 and c["cluster_reads"] > 0,
		      f"node a's cluster counters: {c}")
		# A node that stops removes its entry: the last one's link goes, reason left.
		ds[1].stop()
		h.wait_for(lambda: not any(p.get("link") for p in
					   ds[0].ok("GET", f"/v1/rooms/{rooms[0]}")["participants"]),
			   10, what="b's link to go once b stopped")
		eq(_rcli("HEXISTS", "mrelay:cluster:room:span", "span-b"), "0",
		   "b's entry after it stopped")
	finally:
		for d in ds:
			if d.alive():
				d.stop()
		_rcli("DEL", "mrelay:cluster:room:span", "mrelay:cluster:nodes",
		      *[f"mrelay:{n}:{k}" for n in nodes for k in ("sessions", "rooms", "heartbeat")])


def test_redis_cluster_room_srtp(env):
	"""SRTP on the links of a cluster room (state.link_srtp): a (AES_CM_128_HMAC_SHA1_80)
	and b (AEAD_AES_128_GCM) link with each direction in its receiver's suite, their
	participants exchange media exactly through the encrypting and decrypting links (the
	links' SRTP counters move on both sides, nothing fails authentication), the keys are in
	the Redis entries and in no answer; c (plain) links with neither: counted, not latched."""
	import test_rooms as tr
	port, _ = _redis()
	nodes = ("srtp-a", "srtp-b", "srtp-c")
	suites = ("AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM", None)
	key = "mrelay:cluster:room:spansrtp"
	_rcli("DEL", key, "mrelay:cluster:nodes")
	ds = []
	try:
		for i, n in enumerate(nodes):
			d = env.new_daemon(f"ss{i}", addr4=SPAN_ADDR[i], addr6=None)
			extra = f'\tnode = "{n}";\n'
			if suites[i]:
				extra += f'\tlink_srtp = "{suites[i]}";\n'
			with open(d.conf, "a") as f:
				f.write(_state_conf(n, port, extra))
			env.start_daemon(d)
			ds.append(d)
		rooms = [d.ok("POST", "/v1/rooms", {"name": "spansrtp", "cluster": True},
			      want=201)["id"] for d in ds]
		ssrcs = [0x5B000001, 0x5B000002]
		members = []
		for i in (0, 1):
			b = tr.create_part(ds[i], rooms[i], f"user-{nodes[i]}")
			ds[i].ok("POST", f"/v1/rooms/{rooms[i]}/participants/{b['id']}/streams",
				 {"ssrc": ssrcs[i], "kind": "audio", "pt": tr.PT_OPUS, "codec": "opus"},
				 want=201)
			members.append(tr.Member(b, None, env.host.udp(NS_V4[i], 41200 + i),
						 ssrcs[i]))

		def link(i, n):
			r = ds[i].ok("GET", f"/v1/rooms/{rooms[i]}")
			return next((p for p in r["participants"] if p.get("link") == n), None)

		def ready(i):
			p = link(i, nodes[1 - i])
			return p is not None and p["remote"] is not None and \
				[s["ssrc"] for s in p["streams"]] == [ssrcs[1 - i]]
		for i in (0, 1):
			h.wait_for(lambda: ready(i), 15, what=f"{nodes[i]}'s link to {nodes[1 - i]}")
		links = []
		for i in (0, 1):
			p = ds[i].ok("GET", f"/v1/rooms/{rooms[i]}/participants/"
				     f"{link(i, nodes[1 - i])['id']}")
			s = p["srtp"]
			# Sending in the other node's suite, receiving in its own.
			eq((s["suite"], s["remote_suite"]), (suites[1 - i], suites[i]),
			   f"{nodes[i]}'s link SRTP: {s}")
			check("local_key" not in s and "remote_key" not in s, f"a key shown: {s}")
			links.append(p["id"])
		entries = {n: json.loads(t) for n, t in
			   zip(*[iter(_rcli("HGETALL", key).splitlines())] * 2)}
		for i in (0, 1):
			k = entries[nodes[i]]["link_keys"]
			check(nodes[1 - i] in k and k[nodes[1 - i]].startswith(suites[i] + " inline:"),
			      f"{nodes[i]}'s entry gives no key for {nodes[1 - i]}: {list(k)}")
		check(not entries[nodes[2]].get("link_keys"), "the plain node's entry has keys")

		tr.latch(members)
		tr.exchange(members, 40, "srtp-links")
		for i in (0, 1):
			c = ds[i].ok("GET", f"/v1/rooms/{rooms[i]}/participants/{links[i]}")[
				"srtp"]["counters"]
			check(c["encrypted"] >= 40 and c["decrypted"] >= 40, f"{nodes[i]}'s link: {c}")
			eq((c["srtp_auth_fail"], c["srtp_replay"], c["srtp_malformed"]), (0, 0, 0),
			   f"{nodes[i]}'s link drops: {c}")
		# The plain node: a link made on each side, never latched, counted once.
		for i in (0, 1, 2):
			want = 2 if i == 2 else 1
			h.wait_for(lambda: ds[i].ok("GET", "/v1/stats")["rooms"]
				   ["cluster_link_srtp_mismatch"] == want, 10,
				   what=f"{nodes[i]}'s SRTP mismatch count")
		for i, n in ((0, nodes[2]), (1, nodes[2]), (2, nodes[0]), (2, nodes[1])):
			p = link(i, n)
			check(p is not None and p["remote"] is None,
			      f"{nodes[i]}'s link to {n} latched across SRTP and plain: {p}")
		check("state.link_srtp must agree" in ds[2].log_text(), "no log line for the mismatch")
	finally:
		for d in ds:
			if d.alive():
				d.stop()
		_rcli("DEL", key, "mrelay:cluster:nodes",
		      *[f"mrelay:{n}:{k}" for n in nodes for k in ("sessions", "rooms", "heartbeat")])
