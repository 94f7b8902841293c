# SPDX-License-Identifier: BSD-3-Clause
"""The rtpengine ng control protocol (docs/NG.md): a daemon with ng.listen on loopback, driven
by a bencode client of the test's own (cookies, retransmissions, malformed messages, TCP) and by
Debian's rtpengine-ng-client (rtpengine-utils); media between two test hosts through the call
mrelay made from the offer and the answer."""

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
import wave

import harness as h
from harness import NS_V4, RELAY4_B, RELAY6_B, check, eq

_D = {}
_COOKIES = [0]


# ---- bencode (the test's own, independent of mrelay's) ----------------------------------------

def benc(v):
	if isinstance(v, bool):
		return b"i%de" % int(v)
	if isinstance(v, int):
		return b"i%de" % v
	if isinstance(v, str):
		v = v.encode()
	if isinstance(v, bytes):
		return b"%d:%s" % (len(v), v)
	if isinstance(v, list):
		return b"l" + b"".join(benc(x) for x in v) + b"e"
	if isinstance(v, dict):
		return b"d" + b"".join(benc(k) + benc(v[k]) for k in sorted(v)) + b"e"
	raise TypeError(type(v))


def bdec(b, i=0):
	c = b[i:i + 1]
	if c == b"i":
		e = b.index(b"e", i)
		return int(b[i + 1:e]), e + 1
	if c in (b"l", b"d"):
		i += 1
		out = [] if c == b"l" else {}
		while b[i:i + 1] != b"e":
			if c == b"l":
				v, i = bdec(b, i)
				out.append(v)
			else:
				k, i = bdec(b, i)
				v, i = bdec(b, i)
				out[k] = v
		return out, i + 1
	colon = b.index(b":", i)
	n = int(b[i:colon])
	s = b[colon + 1:colon + 1 + n]
	return s.decode("utf-8", "replace"), colon + 1 + n


class Ng:
	"""A UDP ng client: request() sends cookie + bencoded dict and returns the answer dict."""

	def __init__(self, port, host=None):
		self.addr = (host or NG_ROOT, port)
		self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		self.s.settimeout(5)
		self.n = 0

	def raw(self, data):
		self.s.sendto(data, self.addr)
		return self.s.recv(65535)

	def request(self, d, cookie=None):
		_COOKIES[0] += 1
		cookie = cookie or f"{h.PID}_{_COOKIES[0]}"
		ans = self.raw(cookie.encode() + b" " + benc(d))
		ck, _, body = ans.partition(b" ")
		eq(ck.decode(), cookie, "answer cookie")
		v, end = bdec(body)
		eq(end, len(body), "answer length")
		return v

	def close(self):
		self.s.close()


# The control link, a /30 of 198.19.128.0/17 chosen by the runner's PID: its root side is an
# address of the root namespace, which parallel runs share (one fixed /30 made a second run's
# ng requests leave through the first run's veth).
_LINK = (198 << 24) | (19 << 16) | (128 << 8) | 4 * (h.PID % 8192)
NG_ROOT = socket.inet_ntoa((_LINK + 1).to_bytes(4, "big"))	# root side: mrelayd's ng socket
NG_NS = socket.inet_ntoa((_LINK + 2).to_bytes(4, "big"))	# the test namespace side (Kamailio)


def control_link(env):
	"""A veth pair between the root namespace and the test hosts' namespace, for signalling
	only: Kamailio in the namespace reaches mrelayd's ng socket over it (media goes through
	mrelayd's DPDK port as always)."""
	if _D.get("link"):
		return
	root, peer = f"{h.PREFIX}{h.PID}n", "ngc0"
	h.sh("ip", "link", "add", root, "type", "veth", "peer", "name", peer, "netns",
	     env.topo.ns)
	h.CLEANUP.add(f"veth {root}", lambda: h.sh("ip", "link", "del", root, check_rc=False))
	h.sh("ip", "addr", "add", f"{NG_ROOT}/30", "dev", root)
	h.sh("ip", "link", "set", "dev", root, "up")
	env.host.run("ip", "addr", "add", f"{NG_NS}/30", "dev", peer)
	env.host.run("ip", "link", "set", "dev", peer, "up")
	_D["link"] = True


def ng_daemon(env):
	"""One daemon with ng for the whole module (RELAY4_B on the test segment), its ng socket
	on the control link so that Kamailio in the namespace reaches it too (a non-loopback ng
	address needs api.insecure)."""
	d = _D.get("d")
	if d is not None and d.alive():
		return d
	control_link(env)
	d = env.new_daemon("ng", addr4=RELAY4_B, addr6=RELAY6_B,
			   relay={"max_sessions": 512, "port_max": 31999, "ended_history": 512},
			   api_extra={"insecure": "true"},
			   recording_dir=os.path.join(env.workdir, "ng-recordings"),
			   messages_dir=os.path.join(env.workdir, "ng-messages"))
	d.messages_dir = os.path.join(env.workdir, "ng-messages")
	d.ng_port = h.free_tcp_port()
	d.ng_addr = NG_ROOT
	with open(d.conf, "a") as f:
		f.write(f'\nng = {{\n\tlisten = "{NG_ROOT}:{d.ng_port}";\n}};\n')
		# As carriers run it: calls in Redis (test_ng_kamailio_restart), where the
		# machine has redis-server; without it that one test is skipped.
		if shutil.which("redis-server") and shutil.which("redis-cli"):
			from test_redis import _redis, _state_conf
			d.ng_identity = f"ng-{h.PID}"
			f.write(_state_conf(d.ng_identity, _redis()[0]))
	env.start_daemon(d)
	_D["d"] = d
	return d


def sdp(addr, port, extra="", proto="RTP/AVP", fmts="0 8 101", media="audio"):
	fam = "IP6" if ":" in addr else "IP4"
	return (f"v=0\r\no=- 1545997027 1 IN {fam} {addr}\r\ns=tester\r\nc=IN {fam} {addr}\r\n"
		f"t=0 0\r\nm={media} {port} {proto} {fmts}\r\na=rtpmap:101 telephone-event/8000\r\n"
		f"a=fmtp:101 0-16\r\n{extra}a=sendrecv\r\n")


def media_of(text):
	"""(address, port) of the first m= section of an SDP text."""
	c = re.search(r"^c=IN IP[46] (\S+)", text, re.M)
	m = re.search(r"^m=\w+ (\d+) ", text, re.M)
	check(c and m, f"no c= or m= in:\n{text}")
	return c.group(1), int(m.group(1))


def ng_stats(d):
	return d.stats()["ng"]


# ---- tests ------------------------------------------------------------------------------------

def test_ng_ping_cookie_retransmission(env):
	"""ping answers pong with the cookie; an offer sent twice with one cookie is answered from
	the cache (the same SDP, one session); without the cache it would be a second action."""
	d = ng_daemon(env)
	c = Ng(d.ng_port)
	try:
		eq(c.request({"command": "ping"}), {"result": "pong"}, "ping")
		before = ng_stats(d)
		req = {"command": "offer", "call-id": f"rtx-{h.PID}", "from-tag": "ft1",
		       "sdp": sdp(NS_V4[0], 40000)}
		a1 = c.request(req, cookie="rtx-cookie-1")
		a2 = c.request(req, cookie="rtx-cookie-1")
		eq(a1["result"], "ok", "offer")
		eq(a2, a1, "retransmitted offer answer")
		after = ng_stats(d)
		eq(after["retransmissions"] - before["retransmissions"], 1, "retransmissions")
		eq(after["requests"]["offer"] - before["requests"]["offer"], 1, "offers run")
		eq(c.request({"command": "delete", "call-id": f"rtx-{h.PID}",
			      "from-tag": "ft1"})["result"], "ok", "delete")
	finally:
		c.close()


def test_ng_malformed_and_errors(env):
	"""Malformed bencode with a cookie is answered with an error and counted; without a
	cookie it is only counted; unknown commands and bad values are ng errors."""
	d = ng_daemon(env)
	c = Ng(d.ng_port)
	try:
		before = ng_stats(d)
		ans = c.raw(b"bad1 d7:command4:pin")	# truncated
		check(ans.startswith(b"bad1 ") and b"error" in ans, f"truncated: {ans!r}")
		ans = c.raw(b"bad2 d7:command" + b"l" * 40 + b"e" * 40 + b"e")
		check(b"error-reason" in ans, f"deep: {ans!r}")
		c.s.sendto(b"nocookie", c.addr)
		r = c.request({"command": "frobnicate"})
		eq(r["result"], "error", "unknown command")
		check("frobnicate" in r["error-reason"], f"reason: {r}")
		r = c.request({"command": "answer", "call-id": "nope", "from-tag": "a", "to-tag": "b",
			       "sdp": sdp(NS_V4[0], 40000)})
		eq(r["result"], "error", "answer to unknown call")
		r = c.request({"command": "offer", "call-id": "x", "from-tag": "a", "sdp": "garbage"})
		eq(r["result"], "error", "bad SDP")
		r = c.request({"command": "offer", "call-id": "x2", "from-tag": "a",
			       "sdp": sdp(NS_V4[0], 40000), "flags": ["no-such-flag-xyz"],
			       "transport-protocol": "RTP/AVP"})
		eq(r["result"], "ok", "offer with an unknown flag")
		c.request({"command": "delete", "call-id": "x2", "from-tag": "a"})
		h.wait_for(lambda: ng_stats(d)["malformed"] - before["malformed"] >= 3, 5,
			   what="malformed counted")
		after = ng_stats(d)
		eq(after["malformed"] - before["malformed"], 3, "malformed")
		eq(after["unknown_flags"] - before["unknown_flags"], 1, "unknown flags")
		check(after["errors"] - before["errors"] >= 3, f"errors: {after}")
		m = d.api("GET", "/metrics")[1]
		check("mrelay_ng_requests_total{command=\"offer\"}" in m, "metrics lack ng")
	finally:
		c.close()


def _message(env, d, made_as, stored_as):
	"""A tone as Ogg/Opus (test_messages.make_ogg) stored in d's messages.directory as
	stored_as: (its bytes, its packet count)."""
	import test_messages as tm
	data = tm.make_ogg(env, made_as)
	with open(os.path.join(d.messages_dir, stored_as), "wb") as f:
		f.write(data)
	return data, len(tm.opus_packets(data, want_list=True))


def _call_hosts(env):
	"""The module's daemon, an ng client of it, and two test hosts' sockets (port, socket):
	the caller's on NS_V4[0], the callee's on NS_V4[1]."""
	d = ng_daemon(env)
	pa, pb = env.ports(2)
	return (d, Ng(d.ng_port), (pa, env.host.udp(NS_V4[0], pa)),
		(pb, env.host.udp(NS_V4[1], pb)))


def test_ng_call_media_and_delete(env):
	"""offer (caller A) and answer (callee B): each side is told mrelay's address, RTP from A
	reaches B and back through the relay, query shows the counters, delete ends the sessions."""
	d, c, (pa, sa), (pb, sb) = _call_hosts(env)
	cid = f"call-{h.PID}"
	try:
		created0 = d.stats()["sessions"]["created"]
		o = c.request({"command": "offer", "call-id": cid, "from-tag": "tagA",
			       "sdp": sdp(NS_V4[0], pa), "replace": ["origin"], "ICE": "remove",
			       "flags": ["trust-address"]})
		eq(o["result"], "ok", f"offer {o}")
		addr_b, port_b = media_of(o["sdp"])
		eq(addr_b, RELAY4_B, "address told to B")
		check(f"o=- 1545997027 1 IN IP4 {RELAY4_B}" in o["sdp"], f"origin: {o['sdp']}")
		check(f"a=rtcp:{port_b + 1}" in o["sdp"], f"a=rtcp: {o['sdp']}")
		a = c.request({"command": "answer", "call-id": cid, "from-tag": "tagA",
			       "to-tag": "tagB", "sdp": sdp(NS_V4[1], pb)})
		eq(a["result"], "ok", f"answer {a}")
		addr_a, port_a = media_of(a["sdp"])
		eq(addr_a, RELAY4_B, "address told to A")
		eq(d.stats()["sessions"]["created"] - created0, 1, "one session for one m=")
		n = 20
		sq = h.prime(sa, (addr_a, port_a), sb, 0xA1)
		sq = h.relay_check(sa, (addr_a, port_a), sb, n, 0xA1, "A->B", sq, (RELAY4_B, port_b))
		sq2 = h.prime(sb, (addr_b, port_b), sa, 0xB1)
		h.relay_check(sb, (addr_b, port_b), sa, n, 0xB1, "B->A", sq2, (RELAY4_B, port_a))
		leg0 = d.ok("GET", "/v1/sessions?limit=10")["sessions"][0]
		check(leg0["label"] == cid, f"session label: {leg0}")
		q = c.request({"command": "query", "call-id": cid})
		eq(q["result"], "ok", "query")
		ta = q["tags"]["tagA"]
		eq(ta["in dialogue with"], "tagB", "query tags")
		st = ta["medias"][0]["streams"][0]
		eq(st["local port"], port_a, "A's local port")
		eq(st["stats"]["packets"], sq, "packets from A")
		check(cid in c.request({"command": "list"})["calls"], "list")
		r = c.request({"command": "delete", "call-id": cid, "from-tag": "tagA",
			       "to-tag": "tagB"})
		eq(r["result"], "ok", "delete")
		eq(d.stats()["sessions"]["active"], 0, "sessions after delete")
		r = c.request({"command": "delete", "call-id": cid, "from-tag": "tagA"})
		check("warning" in r, f"second delete: {r}")
	finally:
		c.close()


@contextlib.contextmanager
def _held_thread(pid, comm):
	"""Stop one thread of process pid (the first whose name is comm) while the block runs:
	ptrace's SEIZE and INTERRUPT stop that thread alone, DETACH lets it go on (and would,
	were this process to die, as the kernel detaches a dead tracer's tracees)."""
	import ctypes
	names = {t: open(f"/proc/{pid}/task/{t}/comm").read().strip()
		 for t in os.listdir(f"/proc/{pid}/task")}
	tids = [t for t, n in names.items() if n == comm]
	check(tids, f"no thread {comm} in process {pid}: {sorted(names.values())}")
	tid = int(tids[0])
	libc = ctypes.CDLL(None, use_errno=True)
	libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
	libc.ptrace.restype = ctypes.c_long
	if libc.ptrace(0x4206, tid, None, None) != 0:		# PTRACE_SEIZE
		raise h.Skip(f"ptrace: {os.strerror(ctypes.get_errno())}")
	try:
		check(libc.ptrace(0x4207, tid, None, None) == 0,	# PTRACE_INTERRUPT
		      f"PTRACE_INTERRUPT: {os.strerror(ctypes.get_errno())}")
		_, status = os.waitpid(tid, 0x40000000)		# __WALL
		check(os.WIFSTOPPED(status), f"{comm} not stopped: {status:#x}")
		yield tid
	finally:
		libc.ptrace(17, tid, None, None)			# PTRACE_DETACH


def _monitor_records(cli, key, field):
	"""redis-cli MONITOR, started and connected: (process, fn) where fn() returns the
	records (JSON) of key's field that HSETs carried so far."""
	p = subprocess.Popen(cli + ["MONITOR"], stdout=subprocess.PIPE, text=True)
	check(p.stdout.readline().strip() == "OK", "redis-cli MONITOR did not start")
	lines = []

	def reader():
		for line in p.stdout:
			lines.append(line)
	import threading
	threading.Thread(target=reader, daemon=True).start()

	def unq(s):	# sdscatrepr's escapes: \\ \" \n \r \t \a \b \xHH
		return re.sub(r'\\(x[0-9a-fA-F]{2}|.)', lambda m: chr(int(m.group(1)[1:], 16))
			      if m.group(1)[0] == "x" else {"n": "\n", "r": "\r", "t": "\t",
							     "a": "\a", "b": "\b"}.get(
							     m.group(1), m.group(1)), s)

	def records():
		out = []
		for line in list(lines):
			args = [unq(a) for a in re.findall(r'"((?:[^"\\]|\\.)*)"', line)]
			if len(args) < 4 or args[0].upper() != "HSET" or args[1] != key:
				continue
			for i in range(2, len(args) - 1, 2):
				if args[i] == field:
					out.append(json.loads(args[i + 1]))
		return out
	return p, records


def test_ng_answer_record_after_worker(env):
	"""ng's answer does not wait for the owner worker to apply the callee's remote, and the
	session's record in Redis shows what the owner has applied: it is written once the owner
	has, never before with the callee's remote missing (docs/OPERATIONS.md "State in Redis";
	a crash then would restore the leg without it). The worker is held (ptrace) across the
	answer, and redis-cli MONITOR sees every record written: none while it is held, then one
	with both remotes."""
	d = ng_daemon(env)
	if not getattr(d, "ng_identity", None):
		raise h.Skip("redis-server not installed (scripts/setup installs it)")
	from test_redis import _rcli, _redis, _record
	key = f"mrelay:{d.ng_identity}:sessions"
	c = Ng(d.ng_port)
	cid = f"held-{h.PID}"
	pa, pb = env.ports(2)
	mon = None
	try:
		o = c.request({"command": "offer", "call-id": cid, "from-tag": "hA",
			       "sdp": sdp(NS_V4[0], pa), "flags": ["trust-address"]})
		eq(o["result"], "ok", f"offer {o}")
		sid = [s["id"] for s in d.ok("GET", "/v1/sessions?limit=500")["sessions"]
		       if s["label"] == cid]
		eq(len(sid), 1, "the offer's session")
		sid = sid[0]
		h.wait_for(lambda: _record(d.ng_identity, sid), 5, what="the offer's record")
		before = d.ok("GET", "/v1/health")["state"]
		mon, records = _monitor_records(_redis()[1], key, sid)
		with _held_thread(d.proc.pid, "rte-worker-1"):
			a = c.request({"command": "answer", "call-id": cid, "from-tag": "hA",
				       "to-tag": "hB", "sdp": sdp(NS_V4[1], pb)})
			eq(a["result"], "ok", f"answer {a}")
			# Far beyond the 2 ms after which a change is written.
			time.sleep(0.3)
			held = d.ok("GET", "/v1/health")["state"]
			eq(records(), [], "records written while the owner had not applied the answer")
			eq(held["held_for_owner"], 1, "records held for their owner")
		h.wait_for(lambda: records(), 5, what="the record once the worker applied")
		rec = records()[0]
		check(all(leg.get("remote") for leg in rec["legs"]),
		      f"the first record after the answer lacks a remote: {rec['legs']}")
		eq(rec["legs"][1]["remote"], f"{NS_V4[1]}:{pb}", "the callee's remote")
		after = d.ok("GET", "/v1/health")["state"]
		eq(after["held_for_owner"], 0, "records held after the worker went on")
		eq(after["after_apply"] - before["after_apply"], 1, "records written after apply")
		eq(after["after_apply_full"], before["after_apply_full"], "held records overflowed")
	finally:
		if mon is not None:
			mon.kill()
			mon.wait()
		c.request({"command": "delete", "call-id": cid, "from-tag": "hA"})
		c.close()


def _played(sock, frm, want, what, timeout):
	"""The RTP packets from frm that reach sock until want came or nothing more comes."""
	import test_rooms as tr
	out = []
	deadline = time.monotonic() + timeout
	while len(out) < want and time.monotonic() < deadline:
		got = tr.recv_rtp(sock, want - len(out), timeout=min(1.0, deadline - time.monotonic()))
		if not got and out:
			break
		out += [x for x, f in got if f == frm]
	check(out, f"{what}: nothing received")
	return out


def test_ng_play_media(env):
	"""play media (rtpengine's ng command, as Kamailio's play_media() sends it):
	rtpengine's own client, rtpengine-ng-client, plays an Ogg/Opus file of messages.directory
	to the callee, who hears it as PCMA (the first codec of its answer) from its leg's local
	endpoint: every packet of the file, consecutive, and the tone in it (decoded by Python's
	audioop). repeat-times plays it again with the RTP stream going on; stop media stops it
	and says where (last-frame-pos); a blob plays too, and a WAV file (GStreamer's wavenc,
	16-bit 8 kHz: the tone again, as PCMA). Files outside messages.directory, a missing
	file, a party without a known tag, no file at all are refused with a reason."""
	import test_messages as tm
	d, c, (pa, sa), (pb, sb) = _call_hosts(env)
	cid = f"play-{h.PID}"
	data, want = _message(env, d, "ng-announce.ogg", "announce.ogg")
	try:
		o = c.request({"command": "offer", "call-id": cid, "from-tag": "pA",
			       "sdp": sdp(NS_V4[0], pa), "flags": ["trust-address"]})
		eq(o["result"], "ok", f"offer {o}")
		addr_b, port_b = media_of(o["sdp"])
		a = c.request({"command": "answer", "call-id": cid, "from-tag": "pA",
			       "to-tag": "pB", "sdp": sdp(NS_V4[1], pb, fmts="8 0 101")})
		eq(a["result"], "ok", f"answer {a}")
		addr_a, port_a = media_of(a["sdp"])
		# Refusals first: nothing plays after them.
		for req, text in (({"file": "/etc/passwd"}, "not in messages.directory"),
				  ({"file": "../ng-announce.ogg"}, "not in messages.directory"),
				  ({"file": "nope.ogg"}, "no such file"),
				  ({}, "needs one of file and blob"),
				  ({"db-id": 5}, "db-id"),
				  ({"file": "announce.ogg", "from-tag": "nobody"}, "Unknown from-tag"),
				  ({"blob": "not ogg"}, "blob: not an Ogg/Opus file")):
			r = c.request({"command": "play media", "call-id": cid, "from-tag": "pB",
				       **req})
			eq(r["result"], "error", f"play media {req}: {r}")
			check(text in r["error-reason"], f"play media {req}: {r['error-reason']}")
		r = c.request({"command": "stop media", "call-id": cid, "from-tag": "pB"})
		eq(r["result"], "error", f"stop media with nothing playing: {r}")
		# rtpengine's own client asks; the callee hears the file as PCMA.
		if shutil.which("rtpengine-ng-client"):
			out = _client(d, "play media", f"--call-id={cid}", "--from-tag=pB",
				      "--file=announce.ogg")
			check("error" not in out and "duration" in out, f"play media: {out}")
		else:
			r = c.request({"command": "play media", "call-id": cid, "from-tag": "pB",
				       "file": "announce.ogg"})
			eq(r["result"], "ok", f"play media: {r}")
		pk = _played(sb, (RELAY4_B, port_b), want, "the file played to B", want * 0.02 + 5)
		eq(len(pk), want, "packets of the file played to B")
		seq0 = h.rtp_seq(pk[0])
		eq([(x[1] & 0x7F, len(x) - 12, h.rtp_seq(x)) for x in pk],
		   [(8, 160, (seq0 + k) & 0xFFFF) for k in range(want)],
		   "payload type (PCMA), length, sequence of each packet")
		check(pk[0][1] & 0x80, "the marker bit on the first packet")
		wav = os.path.join(env.workdir, "ng-play-alaw.wav")
		tm._ulaw_wav([x[12:] for x in pk], wav, alaw=True)
		tm._check_tone(wav, "the file played over ng, as A-law")
		sid = [x["id"] for x in d.ok("GET", "/v1/sessions?limit=500")["sessions"]
		       if x["label"] == cid][0]
		pbs = d.ok("GET", f"/v1/sessions/{sid}/playbacks")["playbacks"]
		eq([(p["leg"], p["file"], p["message"], p["codec"], p["pt"], p["packets"])
		    for p in pbs], [(1, "announce.ogg", None, "pcma", 8, want)],
		   "the playback in GET /v1/sessions/{id}/playbacks")
		# To A (PCMU, its first codec), three times; stopped during the second play.
		r = c.request({"command": "play media", "call-id": cid, "from-tag": "pA",
			       "file": "announce.ogg", "repeat-times": 3})
		eq(r["result"], "ok", f"play media repeat-times 3: {r}")
		check(abs(r["duration"] - want * 20) <= 40, f"duration {r['duration']} ms, "
		      f"{want} packets of 20 ms")
		pk = _played(sa, (RELAY4_B, port_a), want + want // 2, "the file played to A",
			     want * 0.03 + 5)
		r = c.request({"command": "stop media", "call-id": cid, "from-tag": "pA"})
		eq(r["result"], "ok", f"stop media: {r}")
		check(r["last-frame-pos"] >= want // 2, f"last-frame-pos {r['last-frame-pos']}")
		seq0 = h.rtp_seq(pk[0])
		eq([(x[1] & 0x7F, h.rtp_seq(x)) for x in pk],
		   [(0, (seq0 + k) & 0xFFFF) for k in range(len(pk))],
		   "PCMU, sequence going on from the first play into the second")
		check(pk[want][1] & 0x80, "the marker bit where the second play begins")
		import test_rooms as tr
		late = [x for x, f in tr.recv_rtp(sa, 100, timeout=1.0) if f == (RELAY4_B, port_a)]
		check(len(late) <= 5, f"{len(late)} packets after stop media")
		# A blob (the file's bytes in the message).
		r = c.request({"command": "play media", "call-id": cid, "from-tag": "pB",
			       "blob": data})
		eq(r["result"], "ok", f"play media blob: {r}")
		pk = _played(sb, (RELAY4_B, port_b), want, "the blob played to B", want * 0.02 + 5)
		eq(len(pk), want, "packets of the blob played to B")
		# A WAV file as carriers keep prompts (GStreamer's wavenc: 16-bit, 8 kHz, mono),
		# encoded to Opus once, heard as PCMA.
		wavf = os.path.join(d.messages_dir, "prompt.wav")
		p = subprocess.run(["gst-launch-1.0", "-q", "audiotestsrc", "freq=440",
				    "volume=0.5", "samplesperbuffer=800", "num-buffers=10", "!",
				    "audio/x-raw,format=S16LE,rate=8000,channels=1", "!", "wavenc",
				    "!", "filesink", f"location={wavf}"], capture_output=True,
				   text=True, timeout=60)
		eq(p.returncode, 0, f"GStreamer making prompt.wav: {p.stderr[-300:]}")
		r = c.request({"command": "play media", "call-id": cid, "from-tag": "pB",
			       "file": "prompt.wav"})
		eq(r["result"], "ok", f"play media of a WAV file: {r}")
		eq(r["duration"], 1000, "the WAV file's duration (8000 samples)")
		pk = _played(sb, (RELAY4_B, port_b), 50, "the WAV file played to B", 6)
		eq(len(pk), 50, "packets of the WAV file played to B")
		eq({(x[1] & 0x7F, len(x) - 12) for x in pk}, {(8, 160)}, "PCMA, 160 bytes")
		wav = os.path.join(env.workdir, "ng-play-wav-alaw.wav")
		tm._ulaw_wav([x[12:] for x in pk], wav, alaw=True)
		tm._check_tone(wav, "the WAV file played over ng, as A-law")
		# Played again: from the cache of parsed files, not read and encoded anew.
		def cache():
			m = d.api("GET", "/metrics")[1]
			return [int(re.search(rf"^mrelay_messages_file_cache_{k}_total (\d+)$", m,
					      re.M).group(1)) for k in ("hits", "misses")]
		hits, misses = cache()
		r = c.request({"command": "play media", "call-id": cid, "from-tag": "pB",
			       "file": "prompt.wav"})
		eq(r["result"], "ok", f"play media of the WAV file again: {r}")
		eq(cache(), [hits + 1, misses], "file cache hits and misses after playing it again")
		eq(len(_played(sb, (RELAY4_B, port_b), 50, "the WAV file again", 6)), 50,
		   "packets of the WAV file played again")
		st = ng_stats(d)["requests"]
		check(st.get("play media", 0) >= 3 and st.get("stop media", 0) >= 2,
		      f"requests counted: {st}")
	finally:
		c.request({"command": "delete", "call-id": cid, "from-tag": "pA"})
		c.close()
		sa.close()
		sb.close()


def _rfc4733(pkts):
	"""[(marker, pt, seq, ts, ssrc, event, end, volume, duration)] of RTP packets."""
	out = []
	for x in pkts:
		check(len(x) == 16, f"an RFC 4733 packet is 12 + 4 bytes: {x.hex()}")
		out.append(((x[1] >> 7) & 1, x[1] & 0x7F, struct.unpack("!H", x[2:4])[0],
			    struct.unpack("!I", x[4:8])[0], struct.unpack("!I", x[8:12])[0], x[12],
			    x[13] >> 7, x[13] & 0x3F, struct.unpack("!H", x[14:16])[0]))
	return out


def test_ng_play_dtmf(env):
	"""play DTMF (Kamailio's play_dtmf(); asked here with rtpengine's own client,
	rtpengine-ng-client): the digits "5#" as if the caller sent them reach the callee as RFC
	4733 events in the telephone-event payload type of the callee's SDP, from its leg's local
	endpoint: per digit an event packet every 20 ms with a growing duration (the first with
	the marker bit, all with the event's timestamp), then the end packet three times; the
	second digit's timestamp 150 ms of 8 kHz later (100 ms digit, 50 ms pause), one SSRC and
	consecutive sequence numbers throughout. Refusals name the reason (no from-tag, a bad
	digit, a duration out of range, no telephone-event in either SDP)."""
	if not shutil.which("rtpengine-ng-client"):
		raise h.Skip("rtpengine-ng-client missing (apt-get install rtpengine-utils)")
	d, c, (pa, sa), (pb, sb) = _call_hosts(env)
	cid = f"dtmf-{h.PID}"
	try:
		o = c.request({"command": "offer", "call-id": cid, "from-tag": "dA",
			       "sdp": sdp(NS_V4[0], pa, fmts="8 101"), "flags": ["trust-address"]})
		eq(o["result"], "ok", f"offer {o}")
		a = c.request({"command": "answer", "call-id": cid, "from-tag": "dA",
			       "to-tag": "dB", "sdp": sdp(NS_V4[1], pb, fmts="8 96").replace(
				       "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101",
				       "a=rtpmap:96 telephone-event/8000\r\na=fmtp:96")})
		eq(a["result"], "ok", f"answer {a}")
		addr_b, port_b = media_of(o["sdp"])
		for req, text in (({"from-tag": ""}, "needs from-tag"),
				  ({"code": "5x"}, "'x' is not a DTMF digit"),
				  ({"duration": 10}, "duration: must be an integer from 20"),
				  ({"code": ""}, "code: must be 1 to 32 DTMF digits")):
			r = c.request({"command": "play DTMF", "call-id": cid, "from-tag": "dA",
				       "code": "5", **req})
			eq(r["result"], "error", f"play DTMF {req}: {r}")
			check(text in r["error-reason"], f"play DTMF {req}: {r['error-reason']}")
		out = _client(d, "play DTMF", f"--call-id={cid}", "--from-tag=dA", "--code=5#",
			      "--volume=10")
		check("duration => '300'" in out, f"rtpengine-ng-client play DTMF (2 x 150 ms): {out}")
		got = _rfc4733(_played(sb, (RELAY4_B, port_b), 16, "the callee's DTMF", 5))
		eq(len(got), 16, f"packets for two digits (5 updates and 3 ends each): {got}")
		ssrc, seq0 = got[0][4], got[0][2]
		for i, (mk, pt, seq, ts, ss, ev, end, vol, dur) in enumerate(got):
			j = i % 8
			eq((pt, ss, seq), (96, ssrc, (seq0 + i) & 0xFFFF), f"packet {i}: pt, ssrc, seq")
			eq((mk, ev, end, vol), (int(j == 0), 5 if i < 8 else 11, int(j >= 5), 10),
			   f"packet {i}: marker, event, end bit, volume")
			eq(dur, min(j + 1, 5) * 160, f"packet {i}: duration (8 kHz)")
			eq(ts, got[0][3] + (0 if i < 8 else 1200), f"packet {i}: the event's timestamp")
		# The callee's digit reaches the caller in the caller's type (101); an event code
		# as an integer, 60 ms long.
		r = c.request({"command": "play DTMF", "call-id": cid, "from-tag": "dB", "code": 9,
			       "duration": 60})
		eq(r["result"], "ok", f"play DTMF from the callee: {r}")
		addr_a, port_a = media_of(a["sdp"])
		got = _rfc4733(_played(sa, (RELAY4_B, port_a), 6, "the caller's DTMF", 5))
		eq([(x[1], x[5], x[6], x[8]) for x in got],
		   [(101, 9, 0, 160), (101, 9, 0, 320), (101, 9, 0, 480)] + [(101, 9, 1, 480)] * 3,
		   "the caller's digit 9: payload type, event, end bit, duration")
	finally:
		c.request({"command": "delete", "call-id": cid, "from-tag": "dA"})
		c.close()


def test_ng_moh(env):
	"""Music on hold (rtpengine's moh): the caller's offer names a file; when its re-INVITE
	puts the call on hold (a=sendonly), the callee hears the file as PCMA from its leg's
	local endpoint, again and again (past the file's own length, sequence numbers going on),
	listed as a playback; when the next re-INVITE takes the call off hold (a=sendrecv) the
	playback stops and the caller's RTP reaches the callee again. A moh without a file is
	refused with the reason."""
	d, c, (pa, sa), (pb, sb) = _call_hosts(env)
	cid = f"moh-{h.PID}"
	_, per_play = _message(env, d, "ng-moh.ogg", "moh.ogg")

	def a_sdp(direction, v):
		return sdp(NS_V4[0], pa, fmts="8 101").replace("a=sendrecv", f"a={direction}").replace(
			"o=- 1545997027 1 ", f"o=- 1545997027 {v} ")
	try:
		r = c.request({"command": "offer", "call-id": cid, "from-tag": "hA",
			       "sdp": a_sdp("sendrecv", 1), "moh": {"blob": "x"}})
		eq(r["result"], "error", f"moh with a blob: {r}")
		check("moh: give file" in r["error-reason"], f"moh with a blob: {r}")
		o = c.request({"command": "offer", "call-id": cid, "from-tag": "hA",
			       "sdp": a_sdp("sendrecv", 1), "moh": {"file": "moh.ogg",
								   "mode": "sendrecv"}})
		eq(o["result"], "ok", f"offer {o}")
		addr_b, port_b = media_of(o["sdp"])
		a = c.request({"command": "answer", "call-id": cid, "from-tag": "hA",
			       "to-tag": "hB", "sdp": sdp(NS_V4[1], pb, fmts="8 101")})
		eq(a["result"], "ok", f"answer {a}")
		addr_a, port_a = media_of(a["sdp"])
		sid = [x for x in d.ok("GET", "/v1/sessions?limit=1000")["sessions"]
		       if x["label"] == cid][0]["id"]
		# On hold: the callee hears the file, more than once.
		o = c.request({"command": "offer", "call-id": cid, "from-tag": "hA",
			       "sdp": a_sdp("sendonly", 2)})
		eq(o["result"], "ok", f"hold {o}")
		check("warning" not in o, f"hold: {o}")
		check("a=sendonly" in o["sdp"], f"the hold offer's direction passes on: {o['sdp']}")
		pbs = d.ok("GET", f"/v1/sessions/{sid}/playbacks")["playbacks"]
		eq([(p["leg"], p["file"], p["codec"], p["state"]) for p in pbs],
		   [(1, "moh.ogg", "pcma", "playing")], "the playback on hold")
		got = _played(sb, (RELAY4_B, port_b), per_play + 10, "music on hold",
			      per_play * 0.02 + 5)
		eq(len(got), per_play + 10, "packets of music on hold (one play and more)")
		seqs = [struct.unpack("!H", x[2:4])[0] for x in got]
		eq(seqs, [(seqs[0] + i) & 0xFFFF for i in range(len(got))], "sequence numbers")
		check(all(x[1] & 0x7F == 8 for x in got), "PCMA (the callee's first codec)")
		a = c.request({"command": "answer", "call-id": cid, "from-tag": "hA",
			       "to-tag": "hB", "sdp": sdp(NS_V4[1], pb, fmts="8 101").replace(
				       "a=sendrecv", "a=recvonly")})
		eq(a["result"], "ok", f"hold answered {a}")
		eq(d.ok("GET", f"/v1/sessions/{sid}/playbacks")["playbacks"][0]["state"], "playing",
		   "music on hold after the hold's answer")
		# Off hold: the playback stops and the caller is heard again.
		o = c.request({"command": "offer", "call-id": cid, "from-tag": "hA",
			       "sdp": a_sdp("sendrecv", 3)})
		eq(o["result"], "ok", f"unhold {o}")
		eq(d.ok("GET", f"/v1/sessions/{sid}/playbacks")["playbacks"][0]["state"], "stopped",
		   "music on hold after the call is taken off hold")
		tr_drain = time.monotonic() + 0.3
		while time.monotonic() < tr_drain:
			with contextlib.suppress(OSError):
				sb.settimeout(0.05)
				sb.recv(2048)
		sq = h.prime(sa, (addr_a, port_a), sb, 0xA7)
		h.relay_check(sa, (addr_a, port_a), sb, 10, 0xA7, "caller -> callee off hold", sq,
			      (RELAY4_B, port_b))
	finally:
		c.request({"command": "delete", "call-id": cid, "from-tag": "hA"})
		c.close()


def test_ng_block_media_and_recording(env):
	"""block media from B's tag: A hears nothing of B (counted as muted), B still hears A;
	unblock: B is heard again; without a tag the whole call; PATCH legs[n].muted does the
	same over REST. silence media from A's tag: B gets A's PCMU with a silent payload, not
	its telephone-event; unsilence media: as it came. start recording records both legs of the call's session (a recording of
	the session appears), stop recording stops it; unknown calls and tags are ng errors."""
	d = ng_daemon(env)
	c = Ng(d.ng_port)
	pa, pb = env.ports(2)
	sa = env.host.udp(NS_V4[0], pa)
	sb = env.host.udp(NS_V4[1], pb)
	cid = f"block-{h.PID}"
	try:
		o = c.request({"command": "offer", "call-id": cid, "from-tag": "tA",
			       "sdp": sdp(NS_V4[0], pa), "flags": ["trust-address"]})
		eq(o["result"], "ok", f"offer {o}")
		to_b = media_of(o["sdp"])
		a = c.request({"command": "answer", "call-id": cid, "from-tag": "tA",
			       "to-tag": "tB", "sdp": sdp(NS_V4[1], pb)})
		eq(a["result"], "ok", f"answer {a}")
		to_a = media_of(a["sdp"])
		sid = next(x["id"] for x in d.ok("GET", "/v1/sessions?limit=100")["sessions"]
			   if x["label"] == cid)
		qa = h.prime(sa, to_a, sb, 0xA7)
		qb = h.prime(sb, to_b, sa, 0xB7)
		for req, text in (({"command": "block media", "call-id": "nope"}, "Unknown call"),
				  ({"command": "block media", "call-id": cid, "from-tag": "tZ"},
				   "Unknown from-tag"),
				  ({"command": "start recording", "call-id": "nope"}, "Unknown call")):
			r = c.request(req)
			eq(r["result"], "error", f"{req}: {r}")
			check(text in r.get("error-reason", ""), f"{req}: {r}")
		r = c.request({"command": "block media", "call-id": cid, "from-tag": "tB"})
		eq(r["result"], "ok", f"block media {r}")
		check(d.ok("GET", f"/v1/sessions/{sid}")["legs"][0]["muted"], "leg 0 muted")
		for i in range(10):
			sb.sendto(h.rtp(qb + i, 0xB7), to_b)
		h.expect_none(sa, wait=0.5, what="B's media while blocked")
		qa = h.relay_check(sa, to_a, sb, 5, 0xA7, "A->B while B is blocked", qa,
				   (RELAY4_B, to_b[1]))
		muted = d.ok("GET", f"/v1/sessions/{sid}")["legs"][1]["counters"]["drops"]["muted"]
		eq(muted, 10, "B's packets counted as muted on leg 1")
		r = c.request({"command": "unblock media", "call-id": cid, "from-tag": "tB"})
		eq(r["result"], "ok", f"unblock media {r}")
		qb = h.relay_check(sb, to_b, sa, 5, 0xB7, "B->A unblocked", qb + 10,
				   (RELAY4_B, to_a[1]))
		# The whole call, then PATCH over REST.
		eq(c.request({"command": "block media", "call-id": cid})["result"], "ok", "block all")
		sa.sendto(h.rtp(qa, 0xA7), to_a)
		h.expect_none(sb, wait=0.3, what="A's media while the call is blocked")
		eq(c.request({"command": "unblock media", "call-id": cid})["result"], "ok",
		   "unblock all")
		d.ok("PATCH", f"/v1/sessions/{sid}", {"legs": [{}, {"muted": True}]})
		h.expect_none(sb, wait=0.1, what="nothing pending")
		sa.sendto(h.rtp(qa + 1, 0xA7), to_a)
		h.expect_none(sb, wait=0.3, what="A's media to a muted leg 1")
		st, b, _ = d.api("PATCH", f"/v1/sessions/{sid}", {"legs": [{}, {"muted": 1}]})
		eq(st, 400, f"PATCH muted: 1: {b}")
		d.ok("PATCH", f"/v1/sessions/{sid}", {"legs": [{}, {"muted": False}]})
		h.relay_check(sa, to_a, sb, 3, 0xA7, "A->B unmuted", qa + 2, (RELAY4_B, to_b[1]))
		# silence media from A: A's PCMU reaches B with a silent payload (0xff, and a UDP
		# checksum B's kernel accepts), its telephone-event is held back; unsilence: as
		# it came.
		def silenced():
			return sum(x.get("silenced", 0) for x in d.stats()["lcores"])
		sil0 = silenced()
		r = c.request({"command": "silence media", "call-id": cid, "from-tag": "tA"})
		eq(r["result"], "ok", f"silence media {r}")
		eq([x["silenced"] for x in d.ok("GET", f"/v1/sessions/{sid}")["legs"]],
		   [False, True], "leg 1 silenced")
		for i in range(5):
			sa.sendto(h.rtp(qa + 5 + i, 0xA7, pt=0, payload=bytes(range(160))), to_a)
		got = h.recv_n(sb, 5, timeout=3)
		eq([(h.rtp_seq(x), x[12:]) for x, _ in got],
		   [(qa + 5 + i, b"\xff" * 160) for i in range(5)], "A's PCMU, silenced")
		eq(silenced() - sil0, 5, "packets silenced (per lcore)")
		sa.sendto(h.rtp(qa + 10, 0xA7, pt=101, payload=b"\x01\x0a\x00\xa0"), to_a)
		h.expect_none(sb, wait=0.3, what="A's telephone-event while silenced")
		r = c.request({"command": "unsilence media", "call-id": cid, "from-tag": "tA"})
		eq(r["result"], "ok", f"unsilence media {r}")
		h.relay_check(sa, to_a, sb, 3, 0xA7, "A->B unsilenced", qa + 11, (RELAY4_B, to_b[1]))
		# Recording.
		r = c.request({"command": "start recording", "call-id": cid})
		eq(r["result"], "ok", f"start recording {r}")
		recs = [x for x in d.ok("GET", "/v1/recordings")["recordings"]
			if x.get("session") == sid]
		eq([(x["state"], x["leg"]) for x in recs], [("active", "both")],
		   "the call's recording")
		r = c.request({"command": "stop recording", "call-id": cid})
		eq(r["result"], "ok", f"stop recording {r}")
		rec = d.ok("GET", f"/v1/recordings/{recs[0]['id']}")
		check(rec["state"] in ("stopping", "stopped"), f"recording after stop: {rec}")
		c.request({"command": "delete", "call-id": cid})
	finally:
		c.close()
		sa.close()
		sb.close()


def test_ng_tcp(env):
	"""The same protocol over TCP: two requests in one segment, one split across two."""
	d = ng_daemon(env)
	s = socket.create_connection((NG_ROOT, d.ng_port), timeout=5)
	try:
		s.sendall(b"t1 " + benc({"command": "ping"}) + b"t2 " + benc({"command": "ping"}))
		want = b"t1 d6:result4:ponge" + b"t2 d6:result4:ponge"
		got = b""
		while len(got) < len(want):
			got += s.recv(4096)
		eq(got, want, "two pings")
		msg = b"t3 " + benc({"command": "ping"})
		s.sendall(msg[:7])
		s.sendall(msg[7:])
		got = b""
		while len(got) < len(b"t3 d6:result4:ponge"):
			got += s.recv(4096)
		eq(got, b"t3 d6:result4:ponge", "split ping")
	finally:
		s.close()


def _client(d, *args):
	p = subprocess.run(["rtpengine-ng-client", f"--proxy-address={NG_ROOT}",
			    f"--proxy-port={d.ng_port}", *args], capture_output=True, text=True,
			   timeout=20)
	check(p.returncode == 0, f"rtpengine-ng-client {args[0]}: rc {p.returncode}: {p.stderr}")
	return p.stdout


def test_ng_rtpengine_ng_client(env):
	"""Debian's rtpengine-ng-client (rtpengine-utils): ping, offer, answer, query, delete."""
	if not shutil.which("rtpengine-ng-client"):
		raise h.Skip("rtpengine-ng-client not installed (rtpengine-utils; scripts/setup)")
	d = ng_daemon(env)
	cid = f"ngc-{h.PID}"
	out = _client(d, "ping")
	check("pong" in out, f"ping: {out}")
	out = _client(d, "offer", "--trust-address", f"--call-id={cid}", "--from-tag=ngcA",
		      "--replace-origin", "--ICE=remove", "--rtcp-mux=demux",
		      f"--sdp={sdp(NS_V4[0], 41000)}")
	check(f"c=IN IP4 {RELAY4_B}" in out and "error" not in out, f"offer: {out}")
	out = _client(d, "answer", "--trust-address", f"--call-id={cid}", "--from-tag=ngcA",
		      "--to-tag=ngcB", f"--sdp={sdp(NS_V4[1], 41002)}")
	check(f"c=IN IP4 {RELAY4_B}" in out and "error" not in out, f"answer: {out}")
	out = _client(d, "query", f"--call-id={cid}")
	check("ngcB" in out and "error-reason" not in out, f"query: {out}")
	out = _client(d, "delete", f"--call-id={cid}", "--from-tag=ngcA")
	check("error-reason" not in out, f"delete: {out}")
	eq(d.stats()["sessions"]["active"], 0, "sessions after delete")


KEY_B = "AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"


def test_ng_sdes_bridge(env):
	"""transport-protocol RTP/SAVP on a plain offer: B is offered SDES with mrelay's key, B's
	answer key becomes leg 1's remote key, A's answer stays plain RTP/AVP; the other way round
	(an SDES offer bridged to plain) takes A's key and answers A with mrelay's."""
	d = ng_daemon(env)
	c = Ng(d.ng_port)
	try:
		o = c.request({"command": "offer", "call-id": f"sdes-{h.PID}", "from-tag": "sA",
			       "sdp": sdp(NS_V4[0], 42000), "transport-protocol": "RTP/SAVP"})
		eq(o["result"], "ok", f"offer {o}")
		check(re.search(r"^m=audio \d+ RTP/SAVP ", o["sdp"], re.M), o["sdp"])
		m = re.search(r"^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:(\S+)", o["sdp"], re.M)
		check(m, f"no a=crypto towards B: {o['sdp']}")
		# The INVITE again (retransmitted before Kamailio's transaction existed): the same
		# offer to B, with the same key.
		o2 = c.request({"command": "offer", "call-id": f"sdes-{h.PID}", "from-tag": "sA",
			       "sdp": sdp(NS_V4[0], 42000), "transport-protocol": "RTP/SAVP"})
		eq(o2.get("sdp"), o["sdp"], "the offer to B, asked again")
		a = c.request({"command": "answer", "call-id": f"sdes-{h.PID}", "from-tag": "sA",
			       "to-tag": "sB", "sdp": sdp(NS_V4[1], 42002, proto="RTP/SAVP",
							  extra=f"a=crypto:1 {KEY_B}\r\n")})
		eq(a["result"], "ok", f"answer {a}")
		check(" RTP/AVP " in a["sdp"] and "a=crypto" not in a["sdp"], a["sdp"])
		sess = d.ok("GET", "/v1/sessions")["sessions"]
		full = d.ok("GET", f"/v1/sessions/{sess[0]['id']}")
		eq(full["legs"][0]["srtp"], None, "leg 0 (A) plain")
		eq(full["legs"][1]["srtp"]["remote_key_set"], True, "B's key installed")
		c.request({"command": "delete", "call-id": f"sdes-{h.PID}", "from-tag": "sA"})
		# SDES offer to a plain callee
		o = c.request({"command": "offer", "call-id": f"sdes2-{h.PID}", "from-tag": "tA",
			       "sdp": sdp(NS_V4[0], 42004, proto="RTP/SAVP",
					  extra=f"a=crypto:3 {KEY_B}\r\n"),
			       "transport-protocol": "RTP/AVP"})
		eq(o["result"], "ok", f"offer {o}")
		check(" RTP/AVP " in o["sdp"] and "a=crypto" not in o["sdp"], o["sdp"])
		ans = {"command": "answer", "call-id": f"sdes2-{h.PID}", "from-tag": "tA",
		       "to-tag": "tB", "sdp": sdp(NS_V4[1], 42006)}
		a = c.request(ans)
		check(" RTP/SAVP " in a["sdp"] and
		      re.search(r"^a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:", a["sdp"], re.M),
		      f"answer to A: {a['sdp']}")
		# The same answer again (Kamailio runs rtpengine_answer() on a retransmitted 200
		# OK, with a new cookie): A keeps the key it was given.
		a2 = c.request(ans)
		eq(a2.get("sdp"), a["sdp"], "the answer to A, asked again")
		r = c.request({"command": "offer", "call-id": f"sdes3-{h.PID}", "from-tag": "uA",
			       "sdp": sdp(NS_V4[0], 42008, proto="RTP/SAVP")})
		eq(r["result"], "error", "SAVP without a=crypto")
		c.request({"command": "delete", "call-id": f"sdes2-{h.PID}", "from-tag": "tA"})
		eq(d.stats()["sessions"]["active"], 0, "sessions left")
	finally:
		c.close()

# ---- Kamailio + sipp ---------------------------------------------------------------------------

KAM = NS_V4[2]			# Kamailio's SIP address (in the test namespace)
UAC, UAS = NS_V4[0], NS_V4[1]
UAS_PORT = 5070

# One UDP receiver: with two, the callee's 180 and 200 (1 ms apart) were now and then
# forwarded in the other order, and sipp's uac_pcap aborts a call on a 180 after the 200
# (CI: ng_kamailio_sipp_call saw no session; the BYE had followed the ACK at once).
KAMAILIO_CFG = """#!KAMAILIO
# written by tests/smoke/test_ng.py: a proxy that puts mrelay in the media path with Kamailio's
# own rtpengine module, unchanged.
debug=2
log_stderror=yes
fork=yes
children=1
listen=udp:{kam}:5060
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "rtpengine.so"
modparam("rtpengine", "rtpengine_sock", "udp:{ng}:{port}")

request_route {{
	if (!mf_process_maxfwd_header("10")) {{
		sl_send_reply("483", "Too Many Hops");
		exit;
	}}
	if (is_method("CANCEL")) {{
		if (t_check_trans()) {{
			rtpengine_delete();
			t_relay();
		}}
		exit;
	}}
	if (is_method("BYE")) {{
		rtpengine_delete();
	}}
	if (is_method("INVITE") && has_body("application/sdp")) {{
		# A browser (DTLS-SRTP with ICE, as a WebRTC gateway sees one) is bridged to plain
		# RTP towards the callee; its answer gets mrelay's ICE-lite candidate and DTLS
		# (flag 7 for the reply route).
		if (search_body("UDP/TLS/RTP/SAVP")) {{
			setflag(7);
			rtpengine_offer("replace-origin replace-session-connection ICE=remove trust-address RTP/AVP");
		}} else if (search_body("RTP/SAVP")) {{
			# An SDES-SRTP caller (RTP/SAVP) is bridged to plain RTP towards the callee.
			rtpengine_offer("replace-origin replace-session-connection ICE=remove trust-address RTP/AVP");
		}} else {{
			rtpengine_offer("replace-origin replace-session-connection ICE=remove trust-address");
		}}
	}}
	if (is_method("ACK") && has_body("application/sdp")) {{
		rtpengine_answer("replace-origin ICE=remove trust-address");
	}}
	t_on_reply("REPLY");
	t_on_failure("FAIL");
	# sipp's built-in UAC ignores Record-Route: in-dialog requests come without Route and go
	# to the UAS like the INVITE.
	$du = "sip:{uas}:{uas_port}";
	if (!t_relay()) {{
		sl_reply_error();
	}}
}}

onreply_route[REPLY] {{
	if (has_body("application/sdp") && status =~ "(18[03])|(2[0-9][0-9])") {{
		if (isflagset(7)) {{
			rtpengine_answer("replace-origin trust-address ICE=force UDP/TLS/RTP/SAVPF");
		}} else {{
			rtpengine_answer("replace-origin ICE=remove trust-address");
		}}
	}}
	# Calls to "record" are recorded from their 200 on (the module's start_recording()).
	if (status =~ "2[0-9][0-9]" && $tU == "record" && is_method("INVITE")) {{
		start_recording();
	}}
	# Calls to "nodtmf": the caller's digits do not reach the callee (block_dtmf()).
	if (status =~ "2[0-9][0-9]" && $tU == "nodtmf" && is_method("INVITE")) {{
		if (!block_dtmf("from-tag=$ft")) {{
			xlog("L_ERR", "BLOCK-DTMF-FAILED $ci\n");
		}}
	}}
	# Calls to "silence": what the caller says reaches the callee as silence.
	if (status =~ "2[0-9][0-9]" && $tU == "silence" && is_method("INVITE")) {{
		if (!silence_media("from-tag=$ft")) {{
			xlog("L_ERR", "SILENCE-MEDIA-FAILED $ci\n");
		}}
	}}
	# Calls to "announce": the caller hears announce.ogg first (the module's play_media()).
	if (status =~ "2[0-9][0-9]" && $tU == "announce" && is_method("INVITE")) {{
		if (!play_media("from-tag=$ft file=announce.ogg")) {{
			xlog("L_ERR", "PLAY-MEDIA-FAILED $ci\n");
		}}
	}}
}}

failure_route[FAIL] {{
	rtpengine_delete();
}}
"""


def pcap_udp(path):
	"""The UDP payloads in a pcap file (classic format, Ethernet, IPv4 without options)."""
	with open(path, "rb") as f:
		data = f.read()
	magic = struct.unpack("<I", data[:4])[0]
	end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
	off, out = 24, []
	while off + 16 <= len(data):
		incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
		pkt = data[off + 16:off + 16 + incl]
		if len(pkt) > 23 and pkt[12:14] == b"\x08\x00" and pkt[23] == 17:
			out.append(pkt[42:])
		off += 16 + incl
	return out


def pcap_udp_count(path):
	"""UDP packets in a pcap file."""
	return len(pcap_udp(path))


def _need_carrier():
	for tool in ("kamailio", "sipp"):
		if not shutil.which(tool):
			raise h.Skip(f"{tool} not installed (kamailio, sip-tester; scripts/setup)")
	if not os.path.exists("/usr/share/sip-tester/g711a.pcap"):
		raise h.Skip("/usr/share/sip-tester/g711a.pcap missing (sip-tester)")


def kamailio(env, d):
	"""Kamailio in the test namespace, started once for the module's daemon (again when
	another module's test stopped that daemon and ng_daemon made a new one, on another ng
	port: a Kamailio that still asked the old port would pass SDP through unchanged)."""
	k = _D.get("kam")
	if k is not None and k.poll() is None:
		if _D.get("kam_ng_port") == d.ng_port:
			return k
		_D["kam_stop"]()
	_D["kam_ng_port"] = d.ng_port
	run = os.path.join(env.workdir, "kamailio")
	os.makedirs(run, exist_ok=True)
	cfg = os.path.join(run, "kamailio.cfg")
	with open(cfg, "w") as f:
		f.write(KAMAILIO_CFG.format(kam=KAM, ng=NG_ROOT, port=d.ng_port, uas=UAS,
					    uas_port=UAS_PORT))
	p = subprocess.run(["kamailio", "-c", "-f", cfg], capture_output=True, text=True,
			   timeout=30)
	check(p.returncode == 0, f"kamailio -c: {p.stderr[-2000:]}")
	log = open(os.path.join(run, "kamailio.log"), "ab")
	k = subprocess.Popen(["ip", "netns", "exec", env.topo.ns, "kamailio", "-f", cfg, "-DD",
			      "-E", "-Y", run, "-P", os.path.join(run, "kamailio.pid")],
			     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
	log.close()

	def stop():
		if k.poll() is None:
			os.killpg(k.pid, 15)
			try:
				k.wait(timeout=10)
			except subprocess.TimeoutExpired:
				os.killpg(k.pid, 9)
				k.wait(timeout=5)
	h.CLEANUP.add("kamailio", stop)
	_D["kam"] = k
	_D["kam_stop"] = stop
	# Up once it answers an OPTIONS (sipp's one-shot is heavier; a raw UDP probe suffices).
	probe = ("OPTIONS sip:probe@{k}:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {s}:5099;branch=z9hG4bKp{n}"
		 "\r\nFrom: <sip:t@{s}>;tag=1\r\nTo: <sip:probe@{k}>\r\nCall-ID: probe{n}\r\n"
		 "CSeq: 1 OPTIONS\r\nMax-Forwards: 0\r\nContent-Length: 0\r\n\r\n")
	s = env.host.udp(UAC, 5099)
	s.settimeout(0.5)

	def up():
		s.sendto(probe.format(k=KAM, s=UAC, n=time.monotonic_ns()).encode(), (KAM, 5060))
		try:
			return s.recv(4096).startswith(b"SIP/2.0")
		except OSError:
			return False
	h.wait_for(up, 20, what="kamailio answering")
	s.close()
	return k


def sipp_dir(env):
	d = os.path.join(env.workdir, "sipp")
	if not os.path.isdir(d):
		os.makedirs(d)
		os.symlink("/usr/share/sip-tester", os.path.join(d, "pcap"))
	return d


def sipp(env, *args):
	"""sipp in the test namespace; its screen and errors go to files (sipp.out) that a
	failure quotes."""
	wd = sipp_dir(env)
	name = f"sipp{len(os.listdir(wd))}"
	out = open(os.path.join(wd, name + ".out"), "wb")
	p = subprocess.Popen(["ip", "netns", "exec", env.topo.ns, "sipp", *args, "-nostdin",
			      "-trace_err", "-error_file", os.path.join(wd, name + ".err"),
			      "-trace_msg", "-message_file", os.path.join(wd, name + ".msg")],
			     cwd=wd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
	out.close()
	p.files = os.path.join(wd, name)
	return p


def sipp_wait(p, timeout):
	try:
		rc = p.wait(timeout=timeout)
	except subprocess.TimeoutExpired:
		_stop(p)
		rc = "killed (timeout)"
	if rc != 0:
		tail = ""
		for ext in (".err", ".msg"):
			with contextlib.suppress(OSError):
				tail += open(p.files + ext, errors="replace").read()[-2500:]
		raise h.SmokeError(f"sipp exited {rc}:\n{tail}")


def _stop(p):
	if p.poll() is None:
		os.killpg(p.pid, 15)
		try:
			p.wait(timeout=5)
		except subprocess.TimeoutExpired:
			os.killpg(p.pid, 9)
			p.wait()


def _pcap_call(env, service):
	"""One call through Kamailio: sipp's uac_pcap to service, answered by sipp's uas
	-rtp_echo. (uas, uac)."""
	uas = sipp(env, "-sn", "uas", "-rtp_echo", "-i", UAS, "-p", str(UAS_PORT), "-mi", UAS,
		   "-m", "1")
	h.CLEANUP.add("sipp uas", lambda: _stop(uas))
	uac = sipp(env, "-sn", "uac_pcap", f"{KAM}:5060", "-i", UAC, "-p", "5062", "-mi", UAC,
		   "-s", service, "-m", "1", "-timeout", "40")
	h.CLEANUP.add("sipp uac", lambda: _stop(uac))
	return uas, uac


def test_ng_kamailio_sipp_call(env):
	"""Kamailio 5.6's rtpengine module drives mrelay unchanged: sipp's uac_pcap plays
	g711a.pcap (and an RFC 2833 digit) through Kamailio to sipp's uas -rtp_echo. Each side's
	SDP names mrelay; mrelay relays every packet both ways (its counters equal what sipp
	sent); the BYE ends the session."""
	_need_carrier()
	d = ng_daemon(env)
	kamailio(env, d)
	want = pcap_udp_count("/usr/share/sip-tester/g711a.pcap") + \
		pcap_udp_count("/usr/share/sip-tester/dtmf_2833_1.pcap")
	ended0 = d.stats()["sessions"]["ended"]
	uas, uac = _pcap_call(env, "echo")
	# The session exists while the call plays (about 9 s of media).
	sess = h.wait_for(lambda: d.ok("GET", "/v1/sessions")["sessions"], 20,
			  what="the call's session")
	sid = sess[0]["id"]
	sipp_wait(uac, 60)
	s = d.ok("GET", f"/v1/sessions/{sid}")
	eq(s["state"], "ended", "session after the BYE")
	eq(d.stats()["sessions"]["ended"] - ended0, 1, "sessions ended")
	l0, l1 = s["legs"]
	eq(l0["counters"]["packets_in"], want, "packets from the caller (sipp played)")
	eq(l1["counters"]["packets_out"], want, "packets to the callee")
	eq(l1["counters"]["packets_in"], want, "packets echoed by the callee")
	eq(l0["counters"]["packets_out"], want, "echoes back to the caller")
	check(s["legs"][0]["remote"].startswith(UAC) and s["legs"][1]["remote"].startswith(UAS),
	      f"remotes: {s['legs']}")
	_stop(uas)


def test_ng_kamailio_recorded_call(env):
	"""Kamailio's start_recording() (for calls to "record") records the call through ng: one
	file a leg, G.711 A-law kept as it came in a WAV file (no transcoding), stopped when the
	BYE ends the session. GStreamer reads the caller's file (wavparse, alawdec): as long as
	the A-law part of what sipp played (its RFC 4733 events are left out), and not silence."""
	_need_carrier()
	d = ng_daemon(env)
	kamailio(env, d)
	# What sipp plays: A-law RTP, 8 kHz, one byte a sample (its packets are 30 ms).
	alaw_s = sum(len(x) - 12 for x in pcap_udp("/usr/share/sip-tester/g711a.pcap")) / 8000
	before = {x["id"] for x in d.ok("GET", "/v1/recordings")["recordings"]}
	uas, uac = _pcap_call(env, "record")
	sipp_wait(uac, 60)
	_stop(uas)
	recs = h.wait_for(lambda: [x for x in d.ok("GET", "/v1/recordings")["recordings"]
				   if x["id"] not in before and x["state"] == "stopped"], 10,
			  what="the call's recording to stop with the BYE")
	eq(len(recs), 1, f"recordings of the call: {recs}")
	r = recs[0]
	eq((r["leg"], len(r["files"])), ("both", 2), f"the recording {r}")
	files = {f["name"]: f for f in d.ok("GET", "/v1/recording-files")["files"]}
	caller = next(n for n in r["files"] if n.endswith("-leg-a"))
	eq(files[caller]["format"], "wav", f"the caller's file {files[caller]}")
	st, data, hd = d.get_bytes(f"/v1/recording-files/{caller}")
	eq(st, 200, "download of the caller's recording")
	check(data[:4] == b"RIFF" and data[20] == 6, f"an A-law WAV file: {data[:48]!r}")
	src = os.path.join(env.workdir, "ng-call-leg-a.wav")
	pcm = os.path.join(env.workdir, "ng-call-leg-a-pcm.wav")
	with open(src, "wb") as f:
		f.write(data)
	p = subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={src}", "!", "wavparse",
			    "!", "alawdec", "!", "audio/x-raw,format=S16LE,channels=1", "!",
			    "wavenc", "!", "filesink", f"location={pcm}"],
			   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
	eq(p.returncode, 0, f"GStreamer reading the recording: {p.stdout[-300:]}")
	with wave.open(pcm) as w:
		secs = w.getnframes() / w.getframerate()
		pcm_data = w.readframes(w.getnframes())
	check(abs(secs - alaw_s) <= 0.06,
	      f"the caller's recording lasts {secs:.2f} s, sipp played {alaw_s:.2f} s")
	samples = struct.unpack(f"<{len(pcm_data) // 2}h", pcm_data)
	check(max(abs(x) for x in samples) > 1000, "the caller's recording is not silence")


def test_ng_kamailio_play_media(env):
	"""Kamailio's play_media() (its rtpengine module; for calls to "announce", at the 200 OK)
	plays an Ogg/Opus file of messages.directory to the caller through ng: the playback
	names the file, plays into the caller's leg in PCMA (what sipp's SDP offers) and sends
	every packet of it; meanwhile the echo of the callee towards the caller is held back
	(drops.muted of the callee's leg); the call goes on and the BYE ends it, with no ng
	error."""
	_need_carrier()
	d = ng_daemon(env)
	_, want = _message(env, d, "kam-announce.ogg", "announce.ogg")
	kamailio(env, d)
	err0 = d.stats()["ng"]["errors"]
	plays0 = d.stats()["ng"]["requests"].get("play media", 0)
	uas, uac = _pcap_call(env, "announce")
	sess = h.wait_for(lambda: d.ok("GET", "/v1/sessions")["sessions"], 20,
			  what="the call's session")
	sid = sess[0]["id"]
	pbs = h.wait_for(lambda: [p for p in d.ok("GET", f"/v1/sessions/{sid}/playbacks")
				  ["playbacks"] if p["state"] == "ended"], 15,
			 what="the announcement to play to its end")
	p = pbs[0]
	eq((len(pbs), p["leg"], p["file"], p["codec"], p["pt"], p["packets"], p["sent"],
	    p["reason"]), (1, 0, "announce.ogg", "pcma", 8, want, want, "done"),
	   f"the playback Kamailio asked for: {p}")
	muted = d.ok("GET", f"/v1/sessions/{sid}")["legs"][1]["counters"]["drops"]["muted"]
	check(muted > 0, f"the callee's echo held back during the announcement: {muted}")
	sipp_wait(uac, 60)
	_stop(uas)
	eq(d.ok("GET", f"/v1/sessions/{sid}")["state"], "ended", "the session after the BYE")
	st = d.stats()["ng"]
	eq(st["requests"].get("play media", 0) - plays0, 1, "play media requests")
	eq(st["errors"], err0, "ng errors")


def test_ng_kamailio_silence_media(env):
	"""Kamailio's silence_media() (its rtpengine module; for calls to "silence", at the 200
	OK) silences the caller through ng before any media: every A-law packet sipp plays
	(g711a.pcap) reaches the callee silenced (the per-lcore silenced count), its RFC 2833
	digit (dtmf_2833_1.pcap) is held back (the caller's leg's drops.muted), the callee's
	echo of the silence comes back to the caller; the BYE ends the call; no ng error."""
	_need_carrier()
	d = ng_daemon(env)
	kamailio(env, d)
	alaw = pcap_udp_count("/usr/share/sip-tester/g711a.pcap")
	dtmf = pcap_udp_count("/usr/share/sip-tester/dtmf_2833_1.pcap")

	def silenced():
		return sum(x.get("silenced", 0) for x in d.stats()["lcores"])
	sil0, err0 = silenced(), d.stats()["ng"]["errors"]
	uas, uac = _pcap_call(env, "silence")
	sess = h.wait_for(lambda: d.ok("GET", "/v1/sessions")["sessions"], 20,
			  what="the call's session")
	sid = sess[0]["id"]
	sipp_wait(uac, 60)
	_stop(uas)
	s = d.ok("GET", f"/v1/sessions/{sid}")
	eq(s["state"], "ended", "the session after the BYE")
	l0, l1 = s["legs"]
	eq(silenced() - sil0, alaw, "the caller's A-law packets silenced")
	eq((l0["counters"]["packets_in"], l0["counters"]["drops"]["muted"]), (alaw + dtmf, dtmf),
	   "the caller's packets in, its digit's held back")
	eq((l1["counters"]["packets_out"], l1["counters"]["packets_in"], l0["counters"]
	    ["packets_out"]), (alaw, alaw, alaw), "silence to the callee, echoed back")
	eq(d.stats()["ng"]["errors"], err0, "ng errors")


def test_ng_kamailio_block_dtmf(env):
	"""Kamailio's block_dtmf() (its rtpengine module; for calls to "nodtmf", at the 200 OK)
	holds back the caller's RFC 2833 digit (sipp's dtmf_2833_1.pcap, the telephone-event
	payload type of its SDP) through ng, while every A-law packet it plays (g711a.pcap)
	reaches the callee as it was and is echoed back; GET shows the leg's dtmf_blocked; no ng
	error."""
	_need_carrier()
	d = ng_daemon(env)
	kamailio(env, d)
	alaw = pcap_udp_count("/usr/share/sip-tester/g711a.pcap")
	dtmf = pcap_udp_count("/usr/share/sip-tester/dtmf_2833_1.pcap")
	err0 = d.stats()["ng"]["errors"]
	uas, uac = _pcap_call(env, "nodtmf")
	sess = h.wait_for(lambda: d.ok("GET", "/v1/sessions")["sessions"], 20,
			  what="the call's session")
	sid = sess[0]["id"]
	blocked = h.wait_for(lambda: d.ok("GET", f"/v1/sessions/{sid}")["legs"][1]
			     ["dtmf_blocked"], 10, what="leg 1 to hold back the caller's digits")
	eq(blocked, 101, "the telephone-event payload type of sipp's SDP")
	sipp_wait(uac, 60)
	_stop(uas)
	s = d.ok("GET", f"/v1/sessions/{sid}")
	eq(s["state"], "ended", "the session after the BYE")
	l0, l1 = s["legs"]
	eq((l0["counters"]["packets_in"], l0["counters"]["drops"]["muted"]), (alaw + dtmf, dtmf),
	   "the caller's packets in, its digit's held back")
	eq((l1["counters"]["packets_out"], l1["counters"]["packets_in"], l0["counters"]
	    ["packets_out"]), (alaw, alaw, alaw), "the audio to the callee, echoed back")
	eq(d.stats()["ng"]["errors"], err0, "ng errors")


def test_ng_kamailio_cancel(env):
	"""A call the caller CANCELs while the callee rings leaves no session and no call behind
	(Kamailio calls rtpengine_delete() on the CANCEL and on the 487)."""
	_need_carrier()
	d = ng_daemon(env)
	kamailio(env, d)
	here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sipp")
	created0 = d.stats()["sessions"]["created"]
	uas = sipp(env, "-sf", os.path.join(here, "uas_ring.xml"), "-i", UAS, "-p", str(UAS_PORT),
		   "-m", "1")
	h.CLEANUP.add("sipp uas", lambda: _stop(uas))
	uac = sipp(env, "-sf", os.path.join(here, "uac_cancel.xml"), f"{KAM}:5060", "-i", UAC,
		   "-p", "5064", "-mi", UAC, "-s", "ring", "-m", "1", "-timeout", "30")
	h.CLEANUP.add("sipp uac", lambda: _stop(uac))
	sipp_wait(uac, 40)
	eq(d.stats()["sessions"]["created"] - created0, 1, "the offer made a session")
	h.wait_for(lambda: d.stats()["sessions"]["active"] == 0, 10, what="no session left")
	eq(d.stats()["ng"]["calls"], 0, "ng calls left")
	uas.wait(timeout=10)


def test_ng_kamailio_restart(env):
	"""A call that Kamailio set up survives a restart of mrelayd (SIGKILL, started again with
	the same state.identity): the ng call comes back from Redis with its session, the media
	sipp plays flows through the same ports again, and the BYE's rtpengine_delete() finds the
	call and ends its session: nothing is left behind."""
	_need_carrier()
	d = ng_daemon(env)
	if not getattr(d, "ng_identity", None):
		raise h.Skip("redis-server not installed (scripts/setup installs it)")
	from test_redis import _rcli, _record
	kamailio(env, d)
	uas, uac = _pcap_call(env, "echo")
	sess = h.wait_for(lambda: d.ok("GET", "/v1/sessions")["sessions"], 20,
			  what="the call's session")
	sid = sess[0]["id"]
	callid = h.wait_for(lambda: _rcli("HKEYS", f"mrelay:{d.ng_identity}:ngcalls"), 10,
			    what="the ng call in Redis")
	# Media for a while, then the crash (sipp plays about 9 s in all).
	h.wait_for(lambda: d.ok("GET", f"/v1/sessions/{sid}")["legs"][1]["counters"]
		   ["packets_in"] >= 20, 10, what="media echoed through the call")
	# The answer's remotes in Redis before the crash: the record goes out once the worker
	# has applied them and 2 ms have passed (docs/OPERATIONS.md "State in Redis"); a crash
	# before restores the leg without its remote (it latches again when the remote sends;
	# this echoing callee never sends first).
	def remotes_stored():
		rec = _record(d.ng_identity, sid)
		return rec is not None and all(leg.get("remote") for leg in rec["legs"])
	h.wait_for(remotes_stored, 5, what="both legs' remotes in the session's record")
	d.stop(signal.SIGKILL)
	env.start_daemon(d)
	health = d.ok("GET", "/v1/health", want=200)
	eq(health["state"]["ng_calls_restored"], 1, f"ng calls restored ({callid})")
	eq(d.stats()["ng"]["calls"], 1, "ng calls after the restart")
	# The media goes on through the same session (its counters start again at 0). A timeout
	# says what each leg saw and what the daemon dropped (a CI run once timed out here).
	seen = {}

	def media_both_ways():
		legs = d.ok("GET", f"/v1/sessions/{sid}")["legs"]
		seen["legs"] = [{k: v for k, v in leg["counters"].items()
				 if k in ("packets_in", "packets_out", "drops")} for leg in legs]
		return min(leg["counters"]["packets_in"] for leg in legs) >= 20
	try:
		h.wait_for(media_both_ways, 15, what="media both ways after the restart")
	except h.SmokeError as e:
		st = d.stats()
		raise h.SmokeError(f"{e}; legs {seen.get('legs')}; drops "
				   f"{ {k: v for k, v in h.sum_drops(st).items() if v} }; control "
				   f"{st.get('control')}") from None
	warn0 = d.stats()["ng"]["errors"]
	sipp_wait(uac, 60)
	# The BYE: Kamailio's delete found the call (no error), the session ended.
	h.wait_for(lambda: d.ok("GET", f"/v1/sessions/{sid}")["state"] == "ended", 10,
		   what="the session to end at the BYE")
	eq(d.stats()["ng"]["errors"], warn0, "ng errors at the BYE")
	eq(d.stats()["ng"]["calls"], 0, "ng calls left")
	h.wait_for(lambda: _rcli("HLEN", f"mrelay:{d.ng_identity}:ngcalls") == "0", 10,
		   what="the ended call to leave Redis")
	_stop(uas)


CALLS = 100


def test_ng_kamailio_100_calls(env):
	"""100 simultaneous calls through Kamailio's rtpengine module: sipp's uac_pcap places them
	(50 a second, at most 100 open) against uas -rtp_echo; each plays g711a.pcap and a digit
	for about 9 s, so all 100 are up together. At the peak mrelay holds 100 ng calls, 100
	sessions and ng `list` names every one; every call had its offer, answer and delete
	(no ng error); every call's media went through mrelay both ways, each leg relaying every
	packet it received; at the end no session and no call is left."""
	_need_carrier()
	d = ng_daemon(env)
	kamailio(env, d)
	want = pcap_udp_count("/usr/share/sip-tester/g711a.pcap") + \
		pcap_udp_count("/usr/share/sip-tester/dtmf_2833_1.pcap")
	ng0 = ng_stats(d)
	st0 = d.stats()
	created0 = st0["sessions"]["created"]
	c = Ng(d.ng_port)
	uas = sipp(env, "-sn", "uas", "-rtp_echo", "-i", UAS, "-p", str(UAS_PORT), "-mi", UAS,
		   "-m", str(CALLS))
	h.CLEANUP.add("sipp uas", lambda: _stop(uas))
	uac = sipp(env, "-sn", "uac_pcap", f"{KAM}:5060", "-i", UAC, "-p", "5066", "-mi", UAC,
		   "-s", "echo", "-r", "50", "-l", str(CALLS), "-m", str(CALLS), "-timeout", "80")
	h.CLEANUP.add("sipp uac", lambda: _stop(uac))
	try:
		# The peak: every call up at once (each lasts about 9 s; all start within 2 s).
		h.wait_for(lambda: ng_stats(d)["calls"] == CALLS, 40, what=f"{CALLS} ng calls at once")
		peak = d.stats()["sessions"]["active"]
		listed = c.request({"command": "list", "limit": 1000})
		st = c.request({"command": "statistics"})["statistics"]
		# The sessions by call (GET lists the active ones; an ended one is found by id).
		page = d.ok("GET", "/v1/sessions?limit=1000")
	finally:
		c.close()
	eq(peak, CALLS, "sessions at the peak")
	eq(len(set(listed["calls"])), CALLS, "calls listed at the peak")
	eq(st["currentstatistics"]["sessionstotal"], CALLS, "ng statistics at the peak")
	sipp_wait(uac, 60)
	h.wait_for(lambda: d.stats()["sessions"]["active"] == 0, 20, what="no session left")
	ng1 = ng_stats(d)
	eq(ng1["calls"], 0, "ng calls left")
	# At least one of each a call; more where SIP was retransmitted under load (a 200 OK sent
	# again before the ACK came runs Kamailio's rtpengine_answer() again: the same answer,
	# which mrelay must take as such, with no error and no new call).
	for cmd in ("offer", "answer", "delete"):
		n = ng1["requests"][cmd] - ng0["requests"][cmd]
		check(n >= CALLS, f"ng {cmd} requests: {n}, want at least {CALLS}")
	for k in ("errors", "malformed", "unknown_flags", "unknown_keys"):
		eq(ng1[k] - ng0[k], 0, f"ng {k}")
	eq(ng1["calls_created"] - ng0["calls_created"], CALLS, "ng calls created")
	eq(ng1["calls_deleted"] - ng0["calls_deleted"], CALLS, "ng calls deleted")
	eq(d.stats()["sessions"]["created"] - created0, CALLS, "sessions created")
	calls = {s["label"]: s["id"] for s in page["sessions"]}
	eq(sorted(calls), sorted(listed["calls"]), "the calls of the sessions at the peak")
	# Media: each call's session, ended (ended sessions stay visible to GET by id).
	sent = echoed = 0
	for label in listed["calls"]:
		s = d.ok("GET", f"/v1/sessions/{calls[label]}")
		eq(s["state"], "ended", f"{label}: session after the BYE")
		l0, l1 = (x["counters"] for x in s["legs"])
		check(0 < l0["packets_in"] <= want and 0 < l1["packets_in"],
		      f"{label}: no media both ways: {s['legs']}")
		# A shortfall names the legs' drop counters (seen once, in an ASan pass beside
		# the browsers' group: 245 of 246 out, unexplained yet).
		why = f" (drops: caller's leg {l0.get('drops')}, callee's {l1.get('drops')})"
		eq(l1["packets_out"], l0["packets_in"], f"{label}: caller's packets relayed{why}")
		eq(l0["packets_out"], l1["packets_in"], f"{label}: echoes relayed{why}")
		sent += l0["packets_in"]
		echoed += l1["packets_in"]
	p0, p1 = st0["ports"][0], d.stats()["ports"][0]
	eq(p1["rx_nombuf"] - p0["rx_nombuf"], 0, "RX failures for want of mbufs")
	print(f"    {CALLS} calls: {sent} packets from the callers ({CALLS * want} played), "
	      f"{echoed} echoed, all relayed; the port's rx_missed "
	      f"+{p1['rx_missed'] - p0['rx_missed']}")
	uas.wait(timeout=20)


# ---- an SDES-SRTP caller, a plain callee, real SRTP from GStreamer (libsrtp2) ------------------

SDES_BUFFERS = 100		# 20 ms PCMA packets: 2 s of a 440 Hz tone each way
SDES_SSRC_A, SDES_SSRC_B = 0x5DE50001, 0x5DE50002
_SRTP_CAPS = ("srtp-cipher=(string)aes-128-icm,srtp-auth=(string)hmac-sha1-80,"
	      "srtcp-cipher=(string)aes-128-icm,srtcp-auth=(string)hmac-sha1-80")


def _pcma_tx(src, dst, ssrc, key=None):
	"""GStreamer plays SDES_BUFFERS PCMA packets of a 440 Hz tone from src to dst, SRTP
	(AES_CM_128_HMAC_SHA1_80, srtpenc) when a key is given."""
	enc = ""
	if key is not None:
		enc = (f" ! srtpenc key={key.hex()} rtp-cipher=aes-128-icm rtp-auth=hmac-sha1-80 "
		       f"rtcp-cipher=aes-128-icm rtcp-auth=hmac-sha1-80")
	return (f"audiotestsrc num-buffers={SDES_BUFFERS} freq=440 samplesperbuffer=160 "
		f"is-live=true ! audio/x-raw,rate=8000,channels=1 ! alawenc ! rtppcmapay pt=8 "
		f"ssrc={ssrc}{enc} ! udpsink host={dst[0]} port={dst[1]} bind-address={src[0]} "
		f"bind-port={src[1]} sync=true")


def _pcma_rx(at, wav, ssrc, key=None):
	"""GStreamer receives on at (srtpdec with the key when given), decodes PCMA into a WAV
	file: its samples / 160 are the packets decoded."""
	if key is not None:
		head = (f"udpsrc address={at[0]} port={at[1]} caps=application/x-srtp,payload=(int)8,"
			f"ssrc=(uint){ssrc},srtp-key=(buffer){key.hex()},{_SRTP_CAPS},roc=(uint)0 "
			f"! srtpdec ! ")
	else:
		head = f"udpsrc address={at[0]} port={at[1]} ! "
	return (f"{head}application/x-rtp,media=audio,clock-rate=8000,encoding-name=PCMA,"
		f"payload=8 ! rtppcmadepay ! alawdec ! audio/x-raw,format=S16LE,channels=1,rate=8000 "
		f"! wavenc ! filesink location={wav}")


def _media_through(env, name, tx_pipe, rx_pipe, rx_at, leg_out, s_get):
	"""Run a GStreamer receiver and sender; returns (packets decoded, tone) once the relay has
	sent on leg_out everything it will (sender done, counters settled)."""
	import test_srtp as srtp
	wav = os.path.join(env.workdir, f"sdes-{name}.wav")
	rx = srtp.gst(env.host.ns, rx_pipe.replace("WAV", wav), eos_on_int=True)
	h.wait_for(lambda: f":{rx_at[1]} " in env.host.run("ss", "-Hunl").stdout, 10,
		   what=f"the {name} receiver's socket")
	tx = srtp.gst(env.host.ns, tx_pipe)
	try:
		try:
			out = tx.communicate(timeout=30)[0]
		except subprocess.TimeoutExpired:
			raise h.SmokeError(f"{name}: GStreamer sender still running after 30 s") from None
		eq(tx.returncode, 0, f"{name}: sender's exit status ({(out or '').strip()[-300:]})")
		# The relay has forwarded the tone once its counter for the receiving leg says
		# so (the receiver then gets SIGINT: EOS, so its WAV file is complete).
		h.wait_for(lambda: s_get()["legs"][leg_out]["counters"]["packets_out"] >=
			   SDES_BUFFERS * 9 // 10, 10, what=f"{name}: the relay to forward the tone")
	finally:
		srtp._stop(tx, rx)
	try:
		with wave.open(wav) as w:
			decoded = w.getnframes() // 160
	except (OSError, EOFError, wave.Error):
		return 0, (0.0, 0, 0.0)	# nothing decoded: wavenc wrote no header
	return decoded, srtp.tone_of(wav)


def test_ng_kamailio_sdes_gstreamer(env):
	"""A sipp caller offers SDES-SRTP (RTP/SAVP, a=crypto); Kamailio asks mrelay for plain
	RTP/AVP towards the sipp callee, which answers plain. The caller's answer is RTP/SAVP with
	mrelay's own a=crypto key. Real SRTP with libsrtp2 (GStreamer srtpenc/srtpdec) on the
	caller's side, plain RTP on the callee's: the caller's tone, encrypted with its key, is
	decrypted by mrelay and decoded plain at the callee; the callee's plain tone is encrypted
	by mrelay and decrypted at the caller with the key from mrelay's SDP. Each receiver counts
	the packets it decoded."""
	import base64
	import test_srtp as srtp
	_need_carrier()
	srtp._need_gst()
	for el in ("alawenc", "alawdec", "rtppcmapay", "rtppcmadepay"):
		if subprocess.run(["gst-inspect-1.0", el], capture_output=True).returncode != 0:
			raise h.Skip(f"GStreamer element {el} missing (gstreamer1.0-plugins-good)")
	d = ng_daemon(env)
	kamailio(env, d)
	here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sipp")
	pa, pb = env.ports(2)
	key_a = os.urandom(30)
	wd = sipp_dir(env)
	log = os.path.join(wd, f"sdes-{pa}.log")
	uas = sipp(env, "-sf", os.path.join(here, "uas_plain.xml"), "-i", UAS, "-p", str(UAS_PORT),
		   "-key", "rtp_port", str(pb), "-m", "1")
	h.CLEANUP.add("sipp uas", lambda: _stop(uas))
	uac = sipp(env, "-sf", os.path.join(here, "uac_sdes.xml"), f"{KAM}:5060", "-i", UAC,
		   "-p", "5068", "-s", "sdes", "-key", "rtp_port", str(pa), "-key", "crypto",
		   base64.b64encode(key_a).decode(), "-trace_logs", "-log_file", log, "-m", "1",
		   "-timeout", "120")
	h.CLEANUP.add("sipp uac", lambda: _stop(uac))

	def answered():
		with contextlib.suppress(OSError):
			m = re.search(r"^ANSWER (\S+) (\S+) (\d+) (\S+)$", open(log).read(), re.M)
			return m
		return None
	try:
		m = h.wait_for(answered, 30, what="the caller's 200 OK (sipp's log)")
	except h.SmokeError:
		_stop(uac)
		sipp_wait(uac, 5)
		raise
	cid, addr, port, mkey = m.group(1), m.group(2), int(m.group(3)), m.group(4)
	eq(addr, RELAY4_B, "the caller's answer names mrelay")
	key_m = base64.b64decode(mkey)
	eq(len(key_m), 30, "mrelay's key: AES_CM_128 master key + salt")
	check(key_m != key_a, "mrelay answered the caller's own key")
	sess = [x for x in d.ok("GET", "/v1/sessions?limit=1000")["sessions"] if x["label"] == cid]
	eq(len(sess), 1, f"sessions of call {cid}")
	sid = sess[0]["id"]

	def s_get():
		return d.ok("GET", f"/v1/sessions/{sid}")
	s = s_get()
	l0, l1 = s["legs"]
	eq(l0["local"], f"{RELAY4_B}:{port}", "the caller's leg")
	eq((l0["srtp"] or {}).get("remote_key_set"), True, "the caller's key installed")
	eq(l1["srtp"], None, "the callee's leg is plain")
	port_b = int(l1["local"].rsplit(":", 1)[1])
	# Caller -> callee: srtpenc with the caller's key, decoded plain at the callee.
	n1, tone1 = _media_through(
		env, "savp-to-avp", _pcma_tx((UAC, pa), (RELAY4_B, port), SDES_SSRC_A, key_a),
		_pcma_rx((UAS, pb), "WAV", SDES_SSRC_A), (UAS, pb), 1, s_get)
	# Callee -> caller: plain PCMA, encrypted by mrelay, srtpdec with mrelay's SDP key.
	n2, tone2 = _media_through(
		env, "avp-to-savp", _pcma_tx((UAS, pb), (RELAY4_B, port_b), SDES_SSRC_B),
		_pcma_rx((UAC, pa), "WAV", SDES_SSRC_B, key_m), (UAC, pa), 0, s_get)
	s = s_get()
	c0, c1 = s["legs"][0]["srtp"]["counters"], s["legs"][1]["counters"]
	print(f"    decoded: {n1} plain at the callee, {n2} SRTP at the caller (of {SDES_BUFFERS} "
	      f"each); mrelay decrypted {c0['decrypted']}, encrypted {c0['encrypted']}")
	for n, tone, what in ((n1, tone1, "callee (plain)"), (n2, tone2, "caller (SRTP)")):
		check(n >= SDES_BUFFERS * 9 // 10, f"{what}: {n} of {SDES_BUFFERS} packets decoded")
		srtp._tone_ok(*tone, what)
	eq(c0["srtp_auth_fail"], 0, "SRTP authentication failures")
	eq(c0["decrypted"], s["legs"][0]["counters"]["packets_in"], "caller's packets decrypted")
	eq(c0["encrypted"], s["legs"][0]["counters"]["packets_out"], "callee's packets encrypted")
	eq(c1["packets_out"], c0["decrypted"], "decrypted packets sent plain")
	# Hang up: an INFO in the dialog tells the caller to send its BYE.
	s_sock = env.host.udp(UAC, 0)
	info = (f"INFO sip:sipp@{UAC}:5068 SIP/2.0\r\nVia: SIP/2.0/UDP {UAC}:{s_sock.getsockname()[1]}"
		f";branch=z9hG4bKinfo{pa}\r\nFrom: <sip:test@{UAC}>;tag=info{pa}\r\n"
		f"To: <sip:sipp@{UAC}>\r\nCall-ID: {cid}\r\nCSeq: 1 INFO\r\nMax-Forwards: 70\r\n"
		f"Content-Length: 0\r\n\r\n")
	s_sock.sendto(info.encode(), (UAC, 5068))
	s_sock.close()
	sipp_wait(uac, 30)
	eq(s_get()["state"], "ended", "session after the BYE")
	uas.wait(timeout=10)
	# The callee was offered plain RTP: its INVITE (sipp's message log) has no a=crypto.
	invite = open(uas.files + ".msg", errors="replace").read()
	inv = invite[invite.find("INVITE sip:"):]
	check(re.search(r"^m=audio \d+ RTP/AVP 8", inv, re.M) and "a=crypto" not in inv and
	      f"c=IN IP4 {RELAY4_B}" in inv, f"the callee's INVITE: {inv[:1500]}")
