# SPDX-License-Identifier: BSD-3-Clause
"""The rtpengine ng control protocol (docs/NG.md): a daemon with ng.listen on loopback, driven
by a bencode client of the test's own (cookies, retransmissions, malformed messages, TCP) and by
Debian's rtpengine-ng-client (rtpengine-utils); media between two test hosts through the call
mrelay made from the offer and the answer."""

import json
import os
import re
import shutil
import socket
import subprocess

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

	def __init__(self, port):
		self.addr = ("127.0.0.1", port)
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


def ng_daemon(env):
	"""One daemon with ng on loopback for the whole module (RELAY4_B on the test segment)."""
	d = _D.get("d")
	if d is not None and d.alive():
		return d
	d = env.new_daemon("ng", addr4=RELAY4_B, addr6=RELAY6_B, relay={"max_sessions": 256})
	d.ng_port = h.free_tcp_port()
	with open(d.conf, "a") as f:
		f.write(f'\nng = {{\n\tlisten = "127.0.0.1:{d.ng_port}";\n}};\n')
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


def test_ng_call_media_and_delete(env):
	"""offer (caller A) and answer (callee B): each side is told mrelay's address, RTP from A
	reaches B and back through the relay, query shows the counters, delete ends the sessions."""
	d = ng_daemon(env)
	c = Ng(d.ng_port)
	host = env.host
	pa, pb = env.ports(2)
	sa = host.udp(NS_V4[0], pa)
	sb = host.udp(NS_V4[1], pb)
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


def test_ng_tcp(env):
	"""The same protocol over TCP: two requests in one segment, one split across two."""
	d = ng_daemon(env)
	s = socket.create_connection(("127.0.0.1", d.ng_port), timeout=5)
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
	p = subprocess.run(["rtpengine-ng-client", "--proxy-address=127.0.0.1",
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
