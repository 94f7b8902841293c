# SPDX-License-Identifier: BSD-3-Clause
"""Per-flow capture over REST (docs/API.md "Captures"): the frames of one session leg or one
room participant, both directions, written by the capture writer thread into a pcapng file
that is downloaded over REST and read back with tshark: every frame received on the endpoint
as it arrived (direction inbound) and every frame sent from it as it left (outbound, headers
rewritten), with the right addresses and ports; the capture ends by itself at its packet
count."""

import http.client
import os
import shutil
import subprocess
import sys

import harness as h
import test_rooms as tr
from harness import NS_V4, check, eq

SSRC_A, SSRC_B = 0xCA970001, 0xCA970002
CTL = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
		   "tools", "mrelayctl")


def _need_tshark():
	if shutil.which("tshark") is None:
		raise h.Skip("tshark not installed (apt-get install tshark)")


def _download(d, cid):
	conn = http.client.HTTPConnection("127.0.0.1", d.api_port, timeout=10)
	try:
		conn.request("GET", f"/v1/captures/{cid}/pcapng",
			     headers={"Authorization": f"Bearer {d.token}"})
		resp = conn.getresponse()
		return resp.status, resp.read(), resp.getheader("Content-Type")
	finally:
		conn.close()


def _fetch(env, d, cid, name):
	st, data, ctype = _download(d, cid)
	eq(st, 200, f"GET /v1/captures/{cid}/pcapng: {data[:200]!r}")
	eq(ctype, "application/x-pcapng", "Content-Type of the capture")
	path = os.path.join(env.workdir, name)
	with open(path, "wb") as f:
		f.write(data)
	return path


def _frames(path, extra_filter=""):
	"""tshark's view of the file: one dict per frame (direction, addresses, ports, SSRC,
	RTP sequence number). tshark must read the whole file without complaint."""
	fields = ["frame.packet_flags_direction", "ip.src", "udp.srcport", "ip.dst", "udp.dstport",
		  "rtp.ssrc", "rtp.seq", "frame.interface_description"]
	argv = ["tshark", "-r", path, "-d", "udp.port==30000-30999,rtp", "-T", "fields",
		"-E", "separator=|"]
	if extra_filter:
		argv += ["-Y", extra_filter]
	for f in fields:
		argv += ["-e", f]
	p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
	eq(p.returncode, 0, f"tshark -r {path}: {p.stderr[-500:]}")
	check("cut short" not in p.stderr and "appears to be damaged" not in p.stderr,
	      f"tshark on {path}: {p.stderr[-500:]}")
	out = []
	for ln in p.stdout.splitlines():
		v = ln.split("|")
		if len(v) != len(fields):
			continue
		out.append({"dir": int(v[0], 0) if v[0] else 0, "src": (v[1], int(v[2] or 0)),
			    "dst": (v[3], int(v[4] or 0)), "ssrc": int(v[5], 0) if v[5] else None,
			    "seq": int(v[6]) if v[6] else None, "desc": v[7]})
	return out


def _wait_end(d, cid, want_reason):
	try:
		h.wait_for(lambda: d.ok("GET", f"/v1/captures/{cid}")["state"] == "stopped", 20,
			   what=f"capture {cid} to stop ({want_reason})")
	except h.SmokeError as e:
		raise h.SmokeError(f"{e}: {d.ok('GET', f'/v1/captures/{cid}')}") from None
	c = d.ok("GET", f"/v1/captures/{cid}")
	eq(c["stop_reason"], want_reason, f"capture {cid}: stop_reason ({c})")
	return c


def _api_err(d, body, status, prefix):
	st, b, _ = d.api("POST", "/v1/captures", body)
	eq(st, status, f"POST /v1/captures {body}: status ({b})")
	msg = b.get("error") if isinstance(b, dict) else None
	check(isinstance(msg, str) and msg.startswith(prefix),
	      f"POST /v1/captures {body}: error {msg!r}, want it to start with {prefix!r}")


def _call(env, d):
	"""A session between two host sockets, media flowing both ways (next hops resolved,
	remotes latched) before any capture starts: (session, socket of leg 0's remote, socket
	of leg 1's, leg 0's remote port)."""
	pa, pb = env.ports(2)
	s = d.create([{"remote": f"{NS_V4[0]}:{pa}"}, {"remote": f"{NS_V4[1]}:{pb}"}])
	a = env.host.udp(NS_V4[0], pa)
	b = env.host.udp(NS_V4[1], pb)
	h.prime(a, s.local[0], b, SSRC_A)
	h.prime(b, s.local[1], a, SSRC_B)
	return s, a, b, pa


def test_capture_session_leg(env):
	"""Leg 0 of a session captured with packets=40 while 20 RTP packets go each way: the
	capture stops by itself at 40 frames, the downloaded pcapng holds the 20 that came in on
	leg 0 (inbound, from leg 0's remote to leg 0's endpoint) and the 20 relayed out of it
	(outbound, from leg 0's endpoint to its remote), in order, and nothing of leg 1."""
	_need_tshark()
	d = env.main
	s, a, b, pa = _call(env, d)

	# Bad requests, each naming its field.
	_api_err(d, {"session": s.id, "leg": 0, "packets": 0}, 400, "packets:")
	_api_err(d, {"session": s.id, "leg": 0, "packets": "40"}, 400, "packets:")
	_api_err(d, {"session": s.id, "leg": 0, "duration_ms": 3600001}, 400, "duration_ms:")
	_api_err(d, {"session": s.id, "leg": 2}, 400, "leg:")
	_api_err(d, {"session": s.id}, 400, "leg:")
	_api_err(d, {"session": s.id, "leg": 0, "room": "1"}, 400, "session:")
	_api_err(d, {"session": s.id, "leg": 0, "snaplen": 64}, 400, "snaplen:")
	_api_err(d, {"session": "00000000deadbeef", "leg": 0}, 404, "session:")
	_api_err(d, {"room": "999999", "participant": "1"}, 404, "room:")

	st, cap, hd = d.api("POST", "/v1/captures", {"session": s.id, "leg": 0, "packets": 40,
						     "duration_ms": 60000})
	eq(st, 201, f"POST /v1/captures: {cap}")
	cid = cap["id"]
	eq(hd.get("location"), f"/v1/captures/{cid}", "Location")
	eq((cap["state"], cap["session"], cap["leg"], cap["max_packets"]),
	   ("active", s.id, 0, 40), f"new capture: {cap}")
	_api_err(d, {"session": s.id, "leg": 0}, 409, "leg:")
	st, body, _ = _download(d, cid)
	eq(st, 409, f"download of a running capture: {body[:200]!r}")
	check(any(c["id"] == cid for c in d.ok("GET", "/v1/captures")["captures"]),
	      "the capture is listed")

	sent_a, sent_b = [], []
	for seq in range(100, 120):
		pa_ = h.rtp(seq, SSRC_A, payload=h.payload_for("cap-a", seq))
		pb_ = h.rtp(seq, SSRC_B, payload=h.payload_for("cap-b", seq))
		a.sendto(pa_, s.local[0])
		b.sendto(pb_, s.local[1])
		sent_a.append(pa_)
		sent_b.append(pb_)
	eq(len(h.recv_n(b, 20)), 20, "relayed a -> b")
	eq(len(h.recv_n(a, 20)), 20, "relayed b -> a")
	c = _wait_end(d, cid, "packets")
	eq((c["packets"], c["packets_in"], c["packets_out"]), (40, 20, 20),
	   f"capture counters: {c}")
	# Frames after the count are not captured: the leg is free again.
	a.sendto(h.rtp(200, SSRC_A, payload=b"after"), s.local[0])
	eq(len(h.recv_n(b, 1)), 1, "relayed after the capture")

	path = _fetch(env, d, cid, "leg0.pcapng")
	frames = _frames(path)
	eq(len(frames), 40, f"frames in the file ({frames[:3]})")
	remote0, local0 = (NS_V4[0], pa), s.local[0]
	fin = [f for f in frames if f["dir"] == 1]
	fout = [f for f in frames if f["dir"] == 2]
	eq(len(fin), 20, f"inbound frames (direction 1) in {frames[:4]}")
	eq(len(fout), 20, f"outbound frames (direction 2) in {frames[:4]}")
	for f in fin:
		eq((f["src"], f["dst"], f["ssrc"]), (remote0, local0, SSRC_A), "an inbound frame")
	for f in fout:
		eq((f["src"], f["dst"], f["ssrc"]), (local0, remote0, SSRC_B), "an outbound frame")
	eq([f["seq"] for f in fin], list(range(100, 120)), "inbound sequence numbers")
	eq([f["seq"] for f in fout], list(range(100, 120)), "outbound sequence numbers")
	check(f"session {s.id} leg 0" in frames[0]["desc"], f"interface description "
	      f"{frames[0]['desc']!r}")
	lc = d.stats()["lcores"]
	check(sum(x.get("capture_captured", 0) for x in lc) >= 40,
	      f"capture_captured in /v1/stats: {[x.get('capture_captured') for x in lc]}")
	st, text, _ = d.api("GET", "/metrics")
	check(st == 200 and "mrelay_lcore_capture_captured_total" in text and
	      "mrelay_captures_active" in text, "capture counters in /metrics")

	# DELETE of an ended capture forgets it and removes its file.
	st, body, _ = d.api("DELETE", f"/v1/captures/{cid}")
	eq(st, 204, f"DELETE /v1/captures/{cid}: {body}")
	st, body, _ = d.api("GET", f"/v1/captures/{cid}")
	eq(st, 404, f"GET of a deleted capture: {body}")
	check(not os.path.exists(os.path.join(env.workdir, "captures", cap["file"])),
	      "the deleted capture's file is gone")

	# A capture stopped by DELETE while it runs keeps what it wrote.
	st, cap, _ = d.api("POST", "/v1/captures", {"session": s.id, "leg": "b"})
	eq(st, 201, f"POST /v1/captures leg b: {cap}")
	b.sendto(h.rtp(300, SSRC_B, payload=b"stopped"), s.local[1])
	eq(len(h.recv_n(a, 1)), 1, "relayed b -> a")
	h.wait_for(lambda: d.ok("GET", f"/v1/captures/{cap['id']}")["packets"] >= 1, 10,
		   what="the frame in the capture")
	st, body, _ = d.api("DELETE", f"/v1/captures/{cap['id']}")
	eq(st, 204, f"DELETE of a running capture: {body}")
	_wait_end(d, cap["id"], "request")
	frames = _frames(_fetch(env, d, cap["id"], "legb.pcapng"))
	eq([(f["dir"], f["seq"]) for f in frames], [(1, 300)], "the stopped capture's frames")
	s.delete()


def test_capture_duration_and_limit(env):
	"""A capture ends by itself at its duration; at most capture.max_active (8) run at once,
	the next is refused with 503; a capture whose session ends stops (endpoint_gone)."""
	d = env.main
	sessions = [d.create([{}, {}]) for _ in range(5)]
	st, cap, _ = d.api("POST", "/v1/captures", {"session": sessions[0].id, "leg": 0,
						     "duration_ms": 200})
	eq(st, 201, f"POST /v1/captures: {cap}")
	c = _wait_end(d, cap["id"], "duration")
	eq(c["packets"], 0, f"an idle leg's capture: {c}")
	cids = []
	for s in sessions[:4]:
		for leg in (0, 1):
			st, cap, _ = d.api("POST", "/v1/captures", {"session": s.id, "leg": leg})
			eq(st, 201, f"capture {len(cids) + 1} of 8: {cap}")
			cids.append(cap["id"])
	_api_err(d, {"session": sessions[4].id, "leg": 0}, 503, "capture:")
	sessions[0].delete()
	_wait_end(d, cids[0], "endpoint_gone")
	_wait_end(d, cids[1], "endpoint_gone")
	st, cap, _ = d.api("POST", "/v1/captures", {"session": sessions[4].id, "leg": 0})
	eq(st, 201, f"a capture once others ended: {cap}")
	cids.append(cap["id"])
	for cid in cids:
		st, body, _ = d.api("DELETE", f"/v1/captures/{cid}")
		check(st == 204, f"DELETE /v1/captures/{cid}: {st} {body}")
	for s in sessions[1:]:
		s.delete()


def test_capture_room_participant(env):
	"""A room participant captured while two participants send each other RTP: inbound
	frames are its own RTP to its endpoint, outbound frames the other's RTP forwarded to it
	from its endpoint; the capture ends at its packet count."""
	_need_tshark()
	d = env.main
	room = tr.create_room(d, name="capture")
	bodies = [tr.create_part(d, room, n) for n in ("cap-a", "cap-b")]
	ports = env.ports(2)
	members = []
	for i, (body, ssrc) in enumerate(zip(bodies, (SSRC_A, SSRC_B))):
		st, b, _ = d.api("POST", f"/v1/rooms/{room}/participants/{body['id']}/streams",
				 {"ssrc": ssrc, "kind": "audio", "pt": tr.PT_OPUS})
		eq(st, 201, f"publish: {b}")
		members.append(tr.Member(body, None, env.host.udp(NS_V4[i], ports[i]), ssrc))
	ma, mb = members
	tr.latch(members)

	_api_err(d, {"room": room}, 400, "participant:")
	_api_err(d, {"room": room, "participant": "999999"}, 404, "participant:")
	_api_err(d, {"room": room, "participant": ma.id, "leg": 0}, 400, "leg:")
	st, cap, _ = d.api("POST", "/v1/captures", {"room": room, "participant": ma.id,
						     "packets": 20})
	eq(st, 201, f"POST /v1/captures: {cap}")
	eq((cap["room"], cap["participant"]), (room, ma.id), f"capture: {cap}")
	for _ in range(10):
		ma.send(tr.QUIET, "cap-room")
		mb.send(tr.QUIET, "cap-room")
	eq(len(tr.recv_rtp(mb.sock, 10)), 10, "forwarded a -> b")
	eq(len(tr.recv_rtp(ma.sock, 10)), 10, "forwarded b -> a")
	_wait_end(d, cap["id"], "packets")
	# Its media only (the relay's own receiver reports to it are frames of the capture
	# too, but not RTP of payload type 111).
	frames = _frames(_fetch(env, d, cap["id"], "part.pcapng"),
			 f"rtp.p_type == {tr.PT_OPUS} && (rtp.ssrc == {SSRC_A} || rtp.ssrc == {SSRC_B})")
	remote, local = (NS_V4[0], ports[0]), ma.local
	fin = [f for f in frames if f["dir"] == 1]
	fout = [f for f in frames if f["dir"] == 2]
	check(fin and all((f["src"], f["dst"], f["ssrc"]) == (remote, local, SSRC_A) for f in fin),
	      f"inbound frames: {fin[:3]}")
	check(fout and all((f["src"], f["dst"], f["ssrc"]) == (local, remote, SSRC_B)
			   for f in fout), f"outbound frames: {fout[:3]}")
	# Everything the participant sent and got after the latch is there, up to the count
	# (the relay's own RTCP to it counts too).
	check(len(fin) + len(fout) <= 20 and len(fin) >= 5 and len(fout) >= 5,
	      f"{len(fin)} inbound and {len(fout)} outbound RTP frames of 20")
	d.api("DELETE", f"/v1/rooms/{room}")


def test_capture_mrelayctl_flow(env):
	"""mrelayctl capture flow -c 10 -o FILE: starts the capture, waits for its end at the
	count while RTP flows both ways, writes the pcapng (10 frames, both directions); capture
	flows lists it; errors are exit status 1 (the API) and 2 (usage)."""
	_need_tshark()
	d = env.main
	s, a, b, _ = _call(env, d)
	base = [sys.executable, CTL, "--url", f"127.0.0.1:{d.api_port}", "--token", d.token]
	out = os.path.join(env.workdir, "ctl-flow.pcapng")
	p = subprocess.Popen(base + ["capture", "flow", "--session", s.id, "--leg", "1", "-c", "10",
				     "-o", out], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
			     text=True)
	try:
		first = p.stderr.readline()
		check(first.startswith("capture ") and "active" in first,
		      f"mrelayctl capture flow said {first!r}")
		for seq in range(10, 15):
			a.sendto(h.rtp(seq, SSRC_A, payload=b"ctl"), s.local[0])
			b.sendto(h.rtp(seq, SSRC_B, payload=b"ctl"), s.local[1])
		eq(len(h.recv_n(b, 5)), 5, "relayed a -> b")
		eq(len(h.recv_n(a, 5)), 5, "relayed b -> a")
		_, err = p.communicate(timeout=30)
		eq(p.returncode, 0, f"mrelayctl capture flow exit status ({first}{err})")
	finally:
		if p.poll() is None:
			p.kill()
			p.wait()
	frames = _frames(out)
	eq(sorted((f["dir"], f["seq"]) for f in frames),
	   sorted([(1, q) for q in range(10, 15)] + [(2, q) for q in range(10, 15)]),
	   "frames of leg 1 in the file mrelayctl wrote")
	r = subprocess.run(base + ["capture", "flows"], capture_output=True, text=True, timeout=30)
	check(r.returncode == 0 and f"session {s.id} leg 1: stopped (packets)" in r.stdout,
	      f"mrelayctl capture flows: {r.returncode} {r.stdout[-500:]} {r.stderr[-300:]}")
	r = subprocess.run(base + ["capture", "flow", "--session", "00000000deadbeef", "--leg",
				   "0"], capture_output=True, text=True, timeout=30)
	check(r.returncode == 1 and "404 session:" in r.stderr,
	      f"capture flow of no session: {r.returncode} {r.stderr[-300:]}")
	r = subprocess.run(base + ["capture", "flow", "--session", s.id], capture_output=True,
			   text=True, timeout=30)
	eq(r.returncode, 2, f"capture flow without --leg ({r.stderr[-300:]})")
	s.delete()
