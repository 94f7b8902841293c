# SPDX-License-Identifier: BSD-3-Clause
"""Opus media (docs/API.md "Recording"): recordings of a room's streams and of a session's leg,
written without transcoding into Ogg/Opus by the writer thread, listed, downloaded and deleted
over REST. GStreamer plays an Opus tone into a recorded room; the downloaded file is decoded by
GStreamer (oggdemux, opusdec) and must give the tone for as long as it was played."""

import http.client
import os
import signal
import struct
import subprocess

import harness as h
import test_srtp as ts
from harness import NS_V4, check, eq

PT = 111


def _download(d, name):
	conn = http.client.HTTPConnection("127.0.0.1", d.api_port, timeout=10)
	try:
		conn.request("GET", f"/v1/recording-files/{name}",
			     headers={"Authorization": f"Bearer {d.token}"})
		resp = conn.getresponse()
		return resp.status, resp.read(), resp.getheader("Content-Type")
	finally:
		conn.close()


def _decode(env, ogg, wav):
	"""GStreamer decodes an Ogg/Opus file into a mono S16 WAV."""
	p = subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={ogg}", "!", "oggdemux",
			    "!", "opusdec", "!", "audio/x-raw,format=S16LE,channels=1,rate=48000", "!",
			    "wavenc", "!", "filesink", f"location={wav}"],
			   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
	eq(p.returncode, 0, f"GStreamer decoding {ogg}: {p.stdout[-300:]}")


def _last_granule(data):
	"""Granule position of the last Ogg page (RFC 3533 §6)."""
	i = data.rfind(b"OggS")
	check(i >= 0, "no Ogg page in the file")
	return struct.unpack("<q", data[i + 6:i + 14])[0]


def _stop(d, rid):
	st, body, _ = d.api("DELETE", f"/v1/recordings/{rid}")
	eq(st, 204, f"DELETE /v1/recordings/{rid}: {body}")
	h.wait_for(lambda: d.ok("GET", f"/v1/recordings/{rid}")["state"] == "stopped", 10,
		   what=f"recording {rid} to stop")
	return d.ok("GET", f"/v1/recordings/{rid}")


def test_recording_room_gstreamer(env):
	"""A room's audio stream recorded while GStreamer plays a 440 Hz tone into it: one file,
	downloadable as audio/ogg, that GStreamer decodes to the tone for the time it was
	played; the file can be deleted once the recording stopped, not before."""
	ts._need_gst()
	d = env.main
	st, room, _ = d.api("POST", "/v1/rooms", {"name": "rec-room"})
	eq(st, 201, f"POST /v1/rooms: {room}")
	rid = room["id"]
	h.CLEANUP.add(f"room {rid}", lambda: d.alive() and d.api("DELETE", f"/v1/rooms/{rid}",
								  timeout=3))
	st, a, _ = d.api("POST", f"/v1/rooms/{rid}/participants", {"name": "a"})
	eq(st, 201, f"POST participant: {a}")
	ssrc = 0x5EC00001
	st, body, _ = d.api("POST", f"/v1/rooms/{rid}/participants/{a['id']}/streams",
			    {"ssrc": ssrc, "kind": "audio", "pt": PT})
	eq(st, 201, f"publish: {body}")

	# Bad requests first.
	for req, want in (({"room": rid, "session": "0" * 16}, 400), ({}, 400),
			  ({"room": "999999"}, 404), ({"room": rid, "leg": "a"}, 400),
			  ({"room": 3}, 400), ({"room": rid, "x": "1"}, 400),
			  ({"session": "00000000deadbeef"}, 404)):
		st, body, _ = d.api("POST", "/v1/recordings", req)
		eq(st, want, f"POST /v1/recordings {req}: {body}")
		check("error" in body, f"error message for {req}")

	st, rec, hd = d.api("POST", "/v1/recordings", {"room": rid})
	eq(st, 201, f"POST /v1/recordings: {rec}")
	eq(rec["state"], "active", "new recording's state")
	eq(hd.get("location"), f"/v1/recordings/{rec['id']}", "Location")
	st, body, _ = d.api("POST", "/v1/recordings", {"room": rid})
	eq(st, 409, f"second recording of the room: {body}")

	pa = env.ports(1)
	local = h.parse_ep(a["local"])
	tx = ts.send(env, (NS_V4[0], pa), local, ssrc=ssrc)
	try:
		out = tx.communicate(timeout=30)[0]
		eq(tx.returncode, 0, f"sender's exit status ({(out or '').strip()[-300:]})")
	finally:
		if tx.poll() is None:
			tx.kill()
			tx.wait(timeout=5)
		tx.stdout.close()

	def pkts_in():
		s = d.ok("GET", f"/v1/rooms/{rid}/participants/{a['id']}/streams")["streams"][0]
		return s["stats"]["packets_in"]

	# The relay counts before it captures; the writer holds the last packet back until the
	# file is closed (the end-of-stream flag goes on it).
	n = pkts_in()
	check(n >= ts.BUFFERS * 9 // 10, f"only {n} of {ts.BUFFERS} packets reached the room")
	h.wait_for(lambda: d.ok("GET", f"/v1/recordings/{rec['id']}")["packets"] >= n - 1, 10,
		   what="the writer to write the packets")
	files = d.ok("GET", f"/v1/recordings/{rec['id']}")["files"]
	eq(len(files), 1, f"files of the recording {files}")
	name = files[0]
	check(name.startswith(f"room-{rid}-") and name.endswith(f"-{ssrc:08x}"),
	      f"file name {name}")
	st, body, _ = d.api("DELETE", f"/v1/recording-files/{name}")
	eq(st, 409, f"DELETE of a file being written: {body}")

	done = _stop(d, rec["id"])
	eq(done["packets"] + done["skipped"], n, f"packets written or skipped ({done})")
	n = done["packets"]
	eq(done["error"], None, "recording error")
	lst = d.ok("GET", "/v1/recording-files")["files"]
	check(any(f["name"] == name and f["size"] > 1000 for f in lst), f"{name} in {lst}")

	st, data, ctype = _download(d, name)
	eq(st, 200, "download")
	eq(ctype, "audio/ogg", "Content-Type of the download")
	check(data[:4] == b"OggS" and b"OpusHead" in data[:64] and b"OpusTags" in data[:200],
	      "Ogg/Opus headers")
	# Granule positions follow the RTP timestamps: n frames of 20 ms (no loss on loopback),
	# and whatever GStreamer's first timestamps leave between them (less than a frame).
	g = _last_granule(data)
	check(n * 960 <= g < (n + 1) * 960, f"last granule position {g} for {n} frames")
	ogg = os.path.join(env.workdir, f"{name}.opus")
	with open(ogg, "wb") as f:
		f.write(data)
	wav = os.path.join(env.workdir, f"{name}.wav")
	_decode(env, ogg, wav)
	f, peak, secs = ts.tone_of(wav)
	# tone_of skips the first 100 ms; pre-skip trims 312 samples.
	want = (n * 960 - 312) / 48000 - 0.1
	check(abs(f - ts.TONE) < 10 and peak > 1000,
	      f"recording decoded to {f:.1f} Hz, peak {peak} (want ~{ts.TONE} Hz)")
	check(abs(secs - want) <= 0.02 + 1e-6,
	      f"recording decoded to {secs:.3f} s, want {want:.3f} s (one frame tolerance)")

	st, body, _ = d.api("DELETE", f"/v1/recording-files/{name}")
	eq(st, 204, f"DELETE /v1/recording-files/{name}: {body}")
	st, body, _ = d.api("DELETE", f"/v1/recording-files/{name}")
	eq(st, 404, f"second DELETE: {body}")
	st, _, _ = _download(d, name)
	eq(st, 404, "download of a deleted file")
	st, body, _ = d.api("DELETE", f"/v1/recordings/{rec['id']}")
	eq(st, 204, f"forget the recording: {body}")
	st, body, _ = d.api("GET", f"/v1/recordings/{rec['id']}")
	eq(st, 404, f"GET of a forgotten recording: {body}")
	d.api("DELETE", f"/v1/rooms/{rid}")


def test_recording_session_leg(env):
	"""One leg of a two-leg session recorded: what arrives on leg a is written (the other
	leg's packets are not), granule positions from the RTP timestamps with a gap left as a
	gap; ending the session stops the recording."""
	d = env.main
	pa, pb = env.ports(2)
	sa = env.host.udp(NS_V4[0], pa)
	sb = env.host.udp(NS_V4[1], pb)
	s = d.create([{"remote": h.fmt_ep(NS_V4[0], pa)}, {"remote": h.fmt_ep(NS_V4[1], pb)}])
	h.prime(sa, s.local[0], sb, 0x5EC0000A, seq0=1)
	st, rec, _ = d.api("POST", "/v1/recordings", {"session": s.id, "leg": "a"})
	eq(st, 201, f"POST /v1/recordings (session): {rec}")
	st, body, _ = d.api("POST", "/v1/recordings", {"session": s.id, "leg": "both"})
	eq(st, 409, f"leg a recorded twice: {body}")
	ssrc = 0x5EC0000B
	# A CELT fullband 20 ms frame's TOC (RFC 6716 §3.1: config 31, mono, one frame).
	opus = b"\xf8" + b"\x55" * 40
	ts_of = [k * 960 for k in range(20)] + [(k + 30) * 960 for k in range(20, 40)]
	for k, t in enumerate(ts_of):
		sa.sendto(struct.pack("!BBHII", 0x80, PT, 100 + k, t & 0xFFFFFFFF, ssrc) + opus,
			  s.local[0])
		sb.sendto(struct.pack("!BBHII", 0x80, PT, 500 + k, t, ssrc + 1) + opus, s.local[1])
	h.recv_n(sb, len(ts_of), timeout=3)
	h.recv_n(sa, len(ts_of), timeout=3)
	h.wait_for(lambda: d.ok("GET", f"/v1/recordings/{rec['id']}")["packets"] >=
		   len(ts_of) - 1, 10, what="the writer")
	s.delete()
	# The session ended: its recording stops by itself.
	h.wait_for(lambda: d.ok("GET", f"/v1/recordings/{rec['id']}")["state"] == "stopped", 10,
		   what="the recording to stop with its session")
	done = d.ok("GET", f"/v1/recordings/{rec['id']}")
	eq((done["packets"], done["gaps"], done["file_count"]), (len(ts_of), 1, 1),
	   "packets, gaps, files")
	eq(done["leg"], "a", "leg")
	name = done["files"][0]
	check(name.endswith("-leg-a"), f"file name {name}")
	st, data, _ = _download(d, name)
	eq(st, 200, "download")
	eq(_last_granule(data), 70 * 960, "last granule position (the gap kept)")
	d.ok("DELETE", f"/v1/recording-files/{name}")
	d.ok("DELETE", f"/v1/recordings/{rec['id']}")
	sa.close()
	sb.close()
