# SPDX-License-Identifier: BSD-3-Clause
"""Voice messages (docs/API.md "Voice messages"): a real Ogg/Opus file made by GStreamer
(audiotestsrc ! opusenc ! oggmux) is uploaded, listed, fetched and deleted; uploads that are
not valid Ogg/Opus (bad CRC, truncated, not Opus, wrong content type, too large) get 400s
(413, 415) naming the problem; a message played into a forwarding room reaches every
participant from its own endpoint with its own SSRC, as many 20 ms packets as the message
has, the tone intact, and the playback ends with an event; a message played into a leg of a
two-leg call replaces what the other side says for its duration, as G.711 (mu-law decoded by
Python's audioop, A-law under SRTP decrypted and decoded by GStreamer)."""

import os
import struct
import subprocess
import threading
import time
import warnings
import wave

import asyncio
import base64

import harness as h
import test_mix as tmix
import test_rooms as tr
import test_srtp as ts
from harness import NS_V4, check, eq

TONE = 440
BUFFERS = 50			# audiotestsrc buffers of 1024 samples at 48 kHz: about 1.07 s


def _need_gst():
	for tool in ("gst-launch-1.0",):
		if subprocess.run(["which", tool], stdout=subprocess.DEVNULL).returncode != 0:
			raise h.Skip(f"{tool} not installed (scripts/setup installs it)")


def make_ogg(env, name, buffers=BUFFERS, freq=TONE):
	"""An Ogg/Opus file from GStreamer: a mono tone, 20 ms frames."""
	_need_gst()
	path = os.path.join(env.workdir, name)
	p = subprocess.run(["gst-launch-1.0", "-q", "audiotestsrc", f"num-buffers={buffers}",
			    f"freq={freq}", "volume=0.5", "!",
			    "audio/x-raw,rate=48000,channels=1", "!", "audioconvert", "!",
			    "opusenc", "frame-size=20", "!", "oggmux", "!", "filesink",
			    f"location={path}"],
			   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
	eq(p.returncode, 0, f"GStreamer making {name}: {p.stdout[-300:]}")
	with open(path, "rb") as f:
		return f.read()


def ogg_pages(data):
	"""(offset, length) of each Ogg page (RFC 3533 §6)."""
	out, off = [], 0
	while off + 27 <= len(data):
		n = data[off + 26]
		body = sum(data[off + 27:off + 27 + n])
		out.append((off, 27 + n + body))
		off += 27 + n + body
	return out


def _crc_table():
	t = []
	for i in range(256):
		r = i << 24
		for _ in range(8):
			r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else r << 1
		t.append(r & 0xFFFFFFFF)
	return t


CRC = _crc_table()


def fix_crc(buf, off, length):
	"""Recompute the CRC of the page at off (RFC 3533 §6) after an edit."""
	buf[off + 22:off + 26] = b"\0\0\0\0"
	c = 0
	for b in buf[off:off + length]:
		c = ((c << 8) & 0xFFFFFFFF) ^ CRC[((c >> 24) ^ b) & 0xFF]
	buf[off + 22:off + 26] = struct.pack("<I", c)


def opus_packets(data, want_list=False):
	"""The audio packets' count and 48 kHz samples, from the segment tables and TOCs
	(RFC 6716 §3.1), independently of the daemon's reader (and the packets themselves
	with want_list)."""
	pkts, cur = [], b""
	for off, _ in ogg_pages(data):
		n = data[off + 26]
		lace = data[off + 27:off + 27 + n]
		p = off + 27 + n
		for v in lace:
			cur += data[p:p + v]
			p += v
			if v < 255:
				pkts.append(cur)
				cur = b""
	audio = pkts[2:]
	samples = 0
	for pk in audio:
		cfg = pk[0] >> 3
		if cfg < 12:
			fs = (480, 960, 1920, 2880)[cfg & 3]
		elif cfg < 16:
			fs = (480, 960)[cfg & 1]
		else:
			fs = (120, 240, 480, 960)[cfg & 3]
		c = pk[0] & 3
		frames = 1 if c == 0 else 2 if c in (1, 2) else pk[1] & 0x3F
		samples += fs * frames
	if want_list:
		return audio
	return len(audio), samples


def upload(d, data, ctype="audio/ogg"):
	return d.api("POST", "/v1/messages", raw=data, headers={"Content-Type": ctype})


def download(d, mid):
	return d.get_bytes(f"/v1/messages/{mid}/ogg")


def _err(st, body, want_status, want_text, what):
	eq(st, want_status, f"{what}: status ({body})")
	msg = body.get("error") if isinstance(body, dict) else None
	check(isinstance(msg, str) and want_text in msg,
	      f"{what}: error {msg!r}, want it to contain {want_text!r}")


def test_messages_upload(env):
	"""Upload, list, metadata, download (byte for byte), delete; invalid uploads refused
	with the problem named."""
	d = env.main
	data = make_ogg(env, "msg-upload.ogg")
	npk, samples = opus_packets(data)
	check(npk > 40, f"GStreamer's file has {npk} packets")

	st, m, hd = upload(d, data)
	eq(st, 201, f"POST /v1/messages: {m}")
	mid = m["id"]
	h.CLEANUP.add(f"message {mid}", lambda: d.alive() and
		      d.api("DELETE", f"/v1/messages/{mid}", timeout=3))
	eq(hd.get("location"), f"/v1/messages/{mid}", "Location")
	eq((m["size"], m["packets"], m["duration_ms"], m["channels"]),
	   (len(data), npk, samples // 48, 1), f"metadata {m}")
	check(isinstance(m["created"], int) and m["created"] > 1600000000, f"created {m}")
	eq(d.ok("GET", f"/v1/messages/{mid}"), m, "GET /v1/messages/{id}")
	lst = d.ok("GET", "/v1/messages")["messages"]
	check(any(x["id"] == mid for x in lst), f"{mid} in the list {lst}")
	st, got, ctype = download(d, mid)
	eq((st, ctype), (200, "audio/ogg"), "download")
	check(got == data, "the download is the upload, byte for byte")

	# Invalid uploads: each names its problem.
	pages = ogg_pages(data)
	bad = bytearray(data)
	off2 = pages[2][0]
	bad[off2 + 30] ^= 0x40
	st, b, _ = upload(d, bytes(bad))
	_err(st, b, 400, "body: page 2: bad CRC", "bad CRC")
	st, b, _ = upload(d, data[:len(data) - 7])
	_err(st, b, 400, "body: page", "truncated")
	check("truncated" in b["error"], f"truncated: {b}")
	st, b, _ = upload(d, data[:pages[-1][0]])
	_err(st, b, 400, "end-of-stream", "cut at a page boundary")
	notopus = bytearray(data)
	notopus[28:36] = b"Speex   "
	st, b, _ = upload(d, bytes(notopus))
	_err(st, b, 400, "body: page 0: bad CRC", "OpusHead replaced (CRC first)")
	fix_crc(notopus, 0, pages[0][1])
	st, b, _ = upload(d, bytes(notopus))
	_err(st, b, 400, "body: page 0: packet 0: not an OpusHead header", "not Opus")
	st, b, _ = upload(d, b"RIFF\x00\x00\x00\x00WAVEfmt ")
	_err(st, b, 400, "body: page 0: not an Ogg page", "a WAV header")
	st, b, _ = upload(d, data, ctype="text/plain")
	_err(st, b, 415, "content-type", "text/plain")
	st, b, _ = upload(d, b"\x00" * (h.MESSAGES_MAX_BYTES + 1))
	_err(st, b, 413, "body: larger than", "too large")
	st, b, _ = d.api("POST", "/v1/messages", {"from_recording": "../../etc/passwd"})
	_err(st, b, 400, "from_recording", "from_recording with a path")
	st, b, _ = d.api("POST", "/v1/messages", {"from_recording": "no-such-file"})
	_err(st, b, 404, "from_recording", "from_recording of a missing file")
	st, b, _ = d.api("POST", "/v1/messages", {"x": 1})
	_err(st, b, 400, "x: unknown field", "unknown field")

	for path in ("/v1/messages/0123456789abcdef", "/v1/messages/zz",
		     "/v1/messages/0123456789abcdef/ogg", f"/v1/messages/{mid}/wav"):
		st, b, _ = d.api("GET", path)
		eq(st, 404, f"GET {path}: {b}")
	st, b, _ = d.api("DELETE", f"/v1/messages/{mid}")
	eq(st, 204, f"DELETE: {b}")
	st, b, _ = d.api("DELETE", f"/v1/messages/{mid}")
	eq(st, 404, f"second DELETE: {b}")
	st, _, _ = download(d, mid)
	eq(st, 404, "download of a deleted message")
	check(all(x["id"] != mid for x in d.ok("GET", "/v1/messages")["messages"]),
	      "deleted message still listed")


PLAY_SSRC = 0x5E550001		# the first playback's SSRC (the request names it)


def test_messages_play_room(env):
	"""A message played into a forwarding room of three plain participants and one SRTP
	participant: each plain one gets every packet of the message, byte for byte, in order,
	with the playback's SSRC, consecutive sequence numbers and 20 ms timestamps, from its own
	endpoint; the SRTP one (GStreamer's srtpdec, under its own key) decodes the 440 Hz tone
	for the message's duration; a WebSocket participant gets message_started and
	message_ended; DELETE stops a playback; errors are named."""
	tr._need_ws()
	ts._need_gst()
	d = env.main
	data = make_ogg(env, "msg-play.ogg")
	want = opus_packets(data, want_list=True)
	st, m, _ = upload(d, data)
	eq(st, 201, f"upload: {m}")
	mid = m["id"]
	h.CLEANUP.add(f"message {mid}", lambda: d.alive() and
		      d.api("DELETE", f"/v1/messages/{mid}", timeout=3))
	room = tr.create_room(d, name="voice")
	bodies = [tr.create_part(d, room, n) for n in ("ann", "bob", "cat")]
	ports = env.ports(3)
	members = []
	for i, b in enumerate(bodies):
		ssrc = 0x56000001 + i
		st, body, _ = d.api("POST", f"/v1/rooms/{room}/participants/{b['id']}/streams",
				    {"ssrc": ssrc, "kind": "audio", "pt": tr.PT_OPUS})
		eq(st, 201, f"publish: {body}")
		members.append(tr.Member(b, None, env.host.udp(NS_V4[i], ports[i]), ssrc))
	# The SRTP participant: latched by srtpenc's packets (authenticated SRTP latches at
	# once), then GStreamer decrypts and decodes what it receives.
	suite = "AES_CM_128_HMAC_SHA1_80"
	k_d = ts.new_key(suite)
	dan = tr.create_part(d, room, "dan", srtp={"remote_key": ts.sdes(suite, k_d)})
	l_d = base64.b64decode(dan["srtp"]["local_key"].split("inline:")[1])
	sd = 0x56000009
	st, body, _ = d.api("POST", f"/v1/rooms/{room}/participants/{dan['id']}/streams",
			    {"ssrc": sd, "kind": "audio", "pt": tr.PT_OPUS})
	eq(st, 201, f"publish dan: {body}")
	pd = env.ports(1)
	sock_d = env.host.udp(NS_V4[3], pd)
	for p in ts.capture(env, suite, k_d, n=5, ssrc=sd):
		sock_d.sendto(p, h.parse_ep(dan["local"]))
	sock_d.close()
	h.wait_for(lambda: d.ok("GET", f"/v1/rooms/{room}/participants/{dan['id']}")
		   .get("remote") is not None, 5, what="dan to latch")
	tr.latch(members)
	wav = os.path.join(env.workdir, "msg-play-srtp.wav")
	rx = ts.receive(env, (NS_V4[3], pd), wav, suite, l_d, ssrc=PLAY_SSRC)
	try:
		time.sleep(0.5)		# paces nothing: the receiver's socket must exist
		tr.run_async(_play(d, room, mid, members, want))
	finally:
		ts.stop_rx(rx)
	_, _, secs = ts.tone_of(wav)
	# RTP has no end trimming: the last frame's padding decodes too, so the tone is found
	# by Goertzel filters away from both ends (test_mix.py), not by zero crossings.
	pw, peak = tmix.tone_powers(wav, skip_s=0.1, tail_s=0.1)
	check(peak > 1000 and pw[TONE] > 20 * max(pw[660], pw[880]),
	      f"SRTP participant's decoded tone: powers {pw}, peak {peak} (want {TONE} Hz)")
	# tone_of skips the first 100 ms; the decoder trims the pre-skip (312 samples).
	dur = len(want) * 0.02 - 312 / 48000 - 0.1
	check(abs(secs - dur) <= 0.02 + 1e-6,
	      f"SRTP participant decoded {secs:.3f} s, want {dur:.3f} s (one frame)")
	c = d.ok("GET", f"/v1/rooms/{room}/participants/{dan['id']}")["srtp"]["counters"]
	check(c["encrypted"] >= len(want), f"dan's encrypted count {c}")
	d.api("DELETE", f"/v1/rooms/{room}")


async def _play(d, room, mid, members, want):
	base = f"/v1/rooms/{room}/playbacks"
	peer = await tr.Peer.connect(d, "ann-ws")
	try:
		await peer.ok("join", "joined", token=members[0].body["token"])
		await peer.settle(0.2)
		for body, status, text in (({}, 400, "message: required"),
					   ({"message": "0123456789abcdef"}, 404, "message"),
					   ({"message": mid, "pt": 300}, 400, "pt"),
					   ({"message": mid, "x": 1}, 400, "x: unknown field")):
			st, b, _ = d.api("POST", base, body)
			_err(st, b, status, text, f"POST {base} {body}")
		st, b, _ = d.api("GET", f"{base}/99")
		eq(st, 404, f"GET of an unknown playback: {b}")

		st, pb, _ = d.api("POST", base, {"message": mid, "ssrc": members[0].ssrc})
		_err(st, pb, 409, "ssrc", "a playback SSRC a participant publishes")
		st, pb, _ = d.api("POST", base, {"message": mid, "ssrc": PLAY_SSRC})
		eq(st, 201, f"POST {base}: {pb}")
		eq((pb["state"], pb["message"], pb["packets"], pb["pt"]),
		   ("playing", mid, len(want), tr.PT_OPUS), f"playback {pb}")
		ssrc = pb["ssrc"]
		eq(ssrc, PLAY_SSRC, "the SSRC asked for")
		e = await peer.event("message_started", timeout=3)
		eq((e["playback"], e["message"], e["ssrc"]), (pb["id"], mid, ssrc), "message_started")
		# The message lasts about a second; allow for a slow machine, not for loss.
		for mb in members:
			got = tr.recv_rtp(mb.sock, len(want), timeout=len(want) * 0.02 + 10)
			pk = [(dt, frm) for dt, frm in got if h.rtp_ssrc(dt) == ssrc]
			eq(len(pk), len(want), f"{mb.id}: packets of the message received")
			for k, (dt, frm) in enumerate(pk):
				eq(frm, mb.local, f"{mb.id}: source of packet {k}")
				check(dt[12:] == want[k], f"{mb.id}: packet {k}'s payload is the file's")
				eq(dt[1] & 0x7F, tr.PT_OPUS, f"{mb.id}: payload type")
			seqs = [h.rtp_seq(dt) for dt, _ in pk]
			check(all((seqs[i + 1] - seqs[i]) & 0xFFFF == 1 for i in range(len(seqs) - 1)),
			      f"{mb.id}: sequence numbers not consecutive: {seqs[:8]}...")
			tss = [struct.unpack("!I", dt[4:8])[0] for dt, _ in pk]
			check(all((tss[i + 1] - tss[i]) & 0xFFFFFFFF == 960 for i in range(len(tss) - 1)),
			      f"{mb.id}: timestamps not 20 ms apart")
			check(pk[0][0][1] & 0x80, f"{mb.id}: marker bit on the first packet")
		e = await peer.event("message_ended", timeout=5)
		eq((e["playback"], e["reason"], e["sent"]), (pb["id"], "done", len(want)),
		   f"message_ended {e}")
		done = d.ok("GET", f"{base}/{pb['id']}")
		eq((done["state"], done["sent"], done["dropped_no_mbuf"], done["dropped_ring_full"]),
		   ("ended", len(want), 0, 0), f"ended playback {done}")
		eq(done["copies"], len(want) * (len(members) + 1), f"copies sent {done}")

		# A second one, stopped at once.
		st, pb2, _ = d.api("POST", base, {"message": mid, "pt": 96})
		eq(st, 201, f"second playback: {pb2}")
		check(pb2["ssrc"] not in [x.ssrc for x in members] + [PLAY_SSRC],
		      f"random SSRC {pb2['ssrc']:#x} is new")
		st, b, _ = d.api("DELETE", f"{base}/{pb2['id']}")
		eq(st, 204, f"DELETE of a playing playback: {b}")
		e = await peer.event("message_ended", timeout=5, playback=pb2["id"])
		eq(e["reason"], "stopped", f"message_ended of a stopped playback {e}")
		eq(d.ok("GET", f"{base}/{pb2['id']}")["state"], "stopped", "state after DELETE")
		lst = d.ok("GET", base)["playbacks"]
		eq([x["id"] for x in lst], [pb["id"], pb2["id"]], "playbacks listed")
		st, b, _ = d.api("DELETE", f"{base}/{pb2['id']}")
		eq(st, 204, f"DELETE of an ended playback forgets it: {b}")
		st, b, _ = d.api("GET", f"{base}/{pb2['id']}")
		eq(st, 404, f"GET of a forgotten playback: {b}")
		await asyncio.sleep(0.3)
		for mb in members:	# what the stopped one sent before it stopped
			tr.recv_rtp(mb.sock, 100, timeout=0.2)
	finally:
		await peer.ws.close()


def test_messages_from_recording(env):
	"""A stopped recording file becomes a message ({"from_recording": name}): its packets
	and duration are the recording's; the file's name is checked; a missing file is a 404."""
	d = env.main
	pa, pb = env.ports(2)
	sa = env.host.udp(NS_V4[0], pa)
	sb = env.host.udp(NS_V4[1], pb)
	s = d.create([{"remote": h.fmt_ep(NS_V4[0], pa)}, {"remote": h.fmt_ep(NS_V4[1], pb)}])
	h.prime(sa, s.local[0], sb, 0x5E5A0001, seq0=1)
	st, rec, _ = d.api("POST", "/v1/recordings", {"session": s.id, "leg": "a"})
	eq(st, 201, f"POST /v1/recordings: {rec}")
	# CELT fullband 20 ms frames (RFC 6716 §3.1: config 31, mono, one frame).
	opus = b"\xf8" + b"\x55" * 40
	n = 25
	for k in range(n):
		sa.sendto(struct.pack("!BBHII", 0x80, 111, 100 + k, k * 960, 0x5E5A0002) + opus,
			  s.local[0])
	h.recv_n(sb, n, timeout=3)
	h.wait_for(lambda: d.ok("GET", f"/v1/recordings/{rec['id']}")["packets"] >= n - 1, 10,
		   what="the writer")
	name = d.ok("GET", f"/v1/recordings/{rec['id']}")["files"][0]
	st, b, _ = d.api("POST", "/v1/messages", {"from_recording": name})
	_err(st, b, 409, "from_recording", "a recording still being written")
	s.delete()
	h.wait_for(lambda: d.ok("GET", f"/v1/recordings/{rec['id']}")["state"] == "stopped", 10,
		   what="the recording to stop with its session")
	st, m, _ = d.api("POST", "/v1/messages", {"from_recording": name})
	eq(st, 201, f"POST /v1/messages from_recording: {m}")
	h.CLEANUP.add(f"message {m['id']}", lambda: d.alive() and
		      d.api("DELETE", f"/v1/messages/{m['id']}", timeout=3))
	eq((m["packets"], m["duration_ms"], m["channels"]), (n, n * 20, 1), f"message {m}")
	st, data, _ = download(d, m["id"])
	eq(st, 200, "download")
	eq(opus_packets(data, want_list=True), [opus] * n, "the message's packets")
	d.ok("DELETE", f"/v1/messages/{m['id']}")
	d.ok("DELETE", f"/v1/recording-files/{name}")
	d.ok("DELETE", f"/v1/recordings/{rec['id']}")
	sa.close()
	sb.close()


PLAY_SSRC_SESS = 0x5E550011
PLAY_SSRC_SRTP = 0x5E550012
TALK_SSRC = 0x5E5A0B0B


def _ulaw_wav(payloads, wav, alaw=False):
	"""mu-law (or A-law) payloads decoded by Python's audioop (not mrelay's code) into an
	8 kHz WAV."""
	with warnings.catch_warnings():
		warnings.simplefilter("ignore", DeprecationWarning)
		import audioop
	dec = audioop.alaw2lin if alaw else audioop.ulaw2lin
	with wave.open(wav, "wb") as w:
		w.setnchannels(1)
		w.setsampwidth(2)
		w.setframerate(8000)
		w.writeframes(b"".join(dec(p, 2) for p in payloads))


def _check_tone(wav, what):
	pw, peak = tmix.tone_powers(wav, skip_s=0.1, tail_s=0.1)
	check(peak > 1000 and pw[TONE] > 20 * max(pw[660], pw[880]),
	      f"{what}: tone powers {pw}, peak {peak} (want {TONE} Hz)")


def test_messages_play_session(env):
	"""A message played into leg 0 of a two-leg call while leg 1's remote talks: leg 0's
	remote gets every packet of the message as PCMU (payload type 0, 160 bytes, 8 kHz
	timestamps, consecutive sequence numbers, the playback's SSRC) from leg 0's local
	endpoint, and nothing of the talker meanwhile (counted as leg 1's drops.muted); the talker
	is heard again once the message ended; the mu-law decodes to the message's tone. Then an
	SRTP leg: GStreamer decrypts (srtpdec) and decodes (alawdec) the message played as PCMA.
	Errors are named."""
	ts._need_gst()
	d = env.main
	data = make_ogg(env, "msg-sess.ogg")
	want = len(opus_packets(data, want_list=True))
	st, m, _ = upload(d, data)
	eq(st, 201, f"upload: {m}")
	mid = m["id"]
	h.CLEANUP.add(f"message {mid}", lambda: d.alive() and
		      d.api("DELETE", f"/v1/messages/{mid}", timeout=3))
	pa, pbp = env.ports(2)
	sa = env.host.udp(NS_V4[0], pa)
	sb = env.host.udp(NS_V4[1], pbp)
	s = d.create([{"remote": h.fmt_ep(NS_V4[0], pa)}, {"remote": h.fmt_ep(NS_V4[1], pbp)}])
	base = f"/v1/sessions/{s.id}/playbacks"
	for body, status, text in (({"message": mid}, 400, "leg: required"),
				   ({"message": mid, "leg": 2}, 400, "leg"),
				   ({"message": mid, "leg": 0, "codec": "g729"}, 400, "codec"),
				   ({"message": mid, "leg": 0, "x": 1}, 400, "x: unknown field"),
				   ({"leg": 0}, 400, "message: required"),
				   ({"message": "0123456789abcdef", "leg": 0}, 404, "message")):
		st, b, _ = d.api("POST", base, body)
		_err(st, b, status, text, f"POST {base} {body}")
	st, b, _ = d.api("POST", "/v1/sessions/00000000ffffffff/playbacks",
			 {"message": mid, "leg": 0})
	_err(st, b, 404, "no such active session", "a playback into an unknown session")
	st, b, _ = d.api("GET", f"{base}/99")
	eq(st, 404, f"GET of an unknown playback: {b}")

	seq = h.prime(sb, s.local[1], sa, TALK_SSRC)
	stop = threading.Event()

	def talk(seq):
		while not stop.is_set():
			sb.sendto(h.rtp(seq, TALK_SSRC, pt=0, payload=b"\xff" * 160), s.local[1])
			seq += 1
			time.sleep(0.02)

	talker = threading.Thread(target=talk, args=(seq,), daemon=True)
	talker.start()
	try:
		got = tr.recv_rtp(sa, 5, timeout=3)
		eq([h.rtp_ssrc(x) for x, _ in got], [TALK_SSRC] * 5, "the talker before the message")
		st, pb, _ = d.api("POST", base, {"message": mid, "leg": 0, "codec": "pcmu",
						 "ssrc": PLAY_SSRC_SESS})
		eq(st, 201, f"POST {base}: {pb}")
		eq((pb["state"], pb["leg"], pb["codec"], pb["pt"], pb["packets"], pb["ssrc"]),
		   ("playing", 0, "pcmu", 0, want, PLAY_SSRC_SESS), f"playback {pb}")
		st, b, _ = d.api("POST", base, {"message": mid, "leg": 0})
		_err(st, b, 409, "leg", "a second playback into the same leg")
		# Everything until the talker is heard again after the message.
		out, seen_play = [], False
		deadline = time.monotonic() + want * 0.02 + 10
		while time.monotonic() < deadline:
			for x, frm in tr.recv_rtp(sa, 10, timeout=0.5):
				out.append((x, frm))
				seen_play |= h.rtp_ssrc(x) == PLAY_SSRC_SESS
			if seen_play and h.rtp_ssrc(out[-1][0]) == TALK_SSRC:
				break
	finally:
		stop.set()
		talker.join(timeout=2)
	idx = [i for i, (x, _) in enumerate(out) if h.rtp_ssrc(x) == PLAY_SSRC_SESS]
	eq(len(idx), want, "packets of the message received")
	eq(idx, list(range(idx[0], idx[0] + want)), "the talker in the middle of the message")
	check(idx[-1] + 1 < len(out) and h.rtp_ssrc(out[-1][0]) == TALK_SSRC,
	      "the talker is heard again after the message")
	pk = [out[i] for i in idx]
	seq0, ts0 = h.rtp_seq(pk[0][0]), struct.unpack("!I", pk[0][0][4:8])[0]
	for k, (x, frm) in enumerate(pk):
		eq(frm, s.local[0], f"source of packet {k}")
		eq((x[1] & 0x7F, len(x), h.rtp_seq(x), struct.unpack("!I", x[4:8])[0]),
		   (0, 12 + 160, (seq0 + k) & 0xFFFF, (ts0 + 160 * k) & 0xFFFFFFFF),
		   f"packet {k}: payload type, length, sequence, timestamp")
	check(pk[0][0][1] & 0x80, "the marker bit on the first packet")
	wav = os.path.join(env.workdir, "msg-sess-ulaw.wav")
	_ulaw_wav([x[12:] for x, _ in pk], wav)
	_check_tone(wav, "the mu-law message")
	h.wait_for(lambda: d.ok("GET", f"{base}/{pb['id']}")["state"] == "ended", 5,
		   what="the playback to end")
	pb = d.ok("GET", f"{base}/{pb['id']}")
	eq((pb["sent"], pb["reason"], pb["dropped_no_mbuf"], pb["dropped_ring_full"]),
	   (want, "done", 0, 0), f"ended playback {pb}")
	muted = s.leg(1)["counters"]["drops"]["muted"]
	check(want - 10 <= muted <= want + 10,
	      f"leg 1 drops.muted {muted}: the talker's packets held back during {want} frames")
	eq([p["id"] for p in d.ok("GET", base)["playbacks"]], [pb["id"]], "GET of the list")
	s.delete()

	# SRTP towards leg 0: GStreamer decrypts and decodes A-law.
	suite = "AES_CM_128_HMAC_SHA1_80"
	pc = env.ports(1)
	s2 = d.create([{"remote": h.fmt_ep(NS_V4[2], pc), "srtp": {"suite": suite}},
		       {"remote": h.fmt_ep(NS_V4[1], pbp)}])
	key = base64.b64decode(s2.body["legs"][0]["srtp"]["local_key"].split("inline:")[1])
	caps = ts._srtp_caps(suite, key, PLAY_SSRC_SRTP).replace(f"payload=(int){ts.PT}",
								 "payload=(int)8")
	wav2 = os.path.join(env.workdir, "msg-sess-alaw.wav")
	rx = ts.gst(env.host.ns, f"udpsrc address={NS_V4[2]} port={pc} caps={caps} ! srtpdec ! "
		    "application/x-rtp,media=audio,clock-rate=8000,encoding-name=PCMA,payload=8 ! "
		    "rtppcmadepay ! alawdec ! audio/x-raw,format=S16LE,channels=1,rate=8000 ! "
		    f"wavenc ! filesink location={wav2}", eos_on_int=True)
	try:
		time.sleep(0.5)		# the receiver's socket must exist
		base2 = f"/v1/sessions/{s2.id}/playbacks"
		st, p2, _ = d.api("POST", base2, {"message": mid, "leg": 0, "codec": "pcma",
						  "ssrc": PLAY_SSRC_SRTP})
		eq(st, 201, f"POST {base2}: {p2}")
		h.wait_for(lambda: d.ok("GET", f"{base2}/{p2['id']}")["state"] == "ended",
			   want * 0.02 + 10, what="the SRTP playback to end")
		time.sleep(0.3)
	finally:
		ts.stop_rx(rx)
	_check_tone(wav2, "the A-law message GStreamer decrypted")
	with wave.open(wav2) as w:
		secs = w.getnframes() / w.getframerate()
	check(abs(secs - want * 0.02) <= 0.02 + 1e-6,
	      f"GStreamer decoded {secs:.3f} s of A-law, want {want * 0.02:.3f} s (one frame)")
	c = s2.leg(0)["srtp"]["counters"]
	eq(c["encrypted"], want, f"leg 0's SRTP counters {c}")
	# A playback whose session ends stops with it.
	st, p3, _ = d.api("POST", base2, {"message": mid, "leg": 0})
	eq(st, 201, f"POST {base2}: {p3}")
	s2.delete()
	h.wait_for(lambda: d.ok("GET", f"{base2}/{p3['id']}")["reason"] == "session_ended", 5,
		   what="the playback to stop with its session")
	sa.close()
	sb.close()


REC_TONE = 660
REC_SSRC = 0x5E5A0C0C


def _decode_ogg(env, data, name):
	"""A stored message decoded by GStreamer (oggdemux, opusdec) into a WAV file."""
	src = os.path.join(env.workdir, name + ".ogg")
	wav = os.path.join(env.workdir, name + ".wav")
	with open(src, "wb") as f:
		f.write(data)
	p = subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={src}", "!", "oggdemux",
			    "!", "opusdec", "!", "audio/x-raw,format=S16LE,channels=1,rate=48000",
			    "!", "wavenc", "!", "filesink", f"location={wav}"],
			   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
	eq(p.returncode, 0, f"GStreamer decoding {name}: {p.stdout[-300:]}")
	return wav


def test_messages_record(env):
	"""A participant records a voice message of its own audio (GStreamer sends a 660 Hz Opus
	tone): record_message start and stop over the WebSocket, then message_recorded names the
	stored message, whose duration is the time between start and stop and which GStreamer
	decodes to the tone; the recording's file is gone. The same over REST (POST
	/v1/recordings with participant and as_message, DELETE to stop). Conflicts and errors are
	named."""
	tr._need_ws()
	ts._need_gst()
	d = env.main
	room = tr.create_room(d, name="rec-msg")
	ann = tr.create_part(d, room, "ann")
	st, body, _ = d.api("POST", f"/v1/rooms/{room}/participants/{ann['id']}/streams",
			    {"ssrc": REC_SSRC, "kind": "audio", "pt": tr.PT_OPUS})
	eq(st, 201, f"publish: {body}")
	local = h.parse_ep(ann["local"])
	tx = ts.gst(env.host.ns, f"audiotestsrc is-live=true num-buffers=400 freq={REC_TONE} "
		    "volume=0.5 ! audio/x-raw,rate=48000,channels=1 ! audioconvert ! "
		    f"opusenc frame-size=20 ! rtpopuspay pt={tr.PT_OPUS} ssrc={REC_SSRC} ! "
		    f"udpsink host={local[0]} port={local[1]}")
	try:
		h.wait_for(lambda: d.ok("GET", f"/v1/rooms/{room}/participants/{ann['id']}")
			   .get("remote") is not None, 5, what="ann to latch")
		rest = _record_rest(d, room, ann)
		# Last: the participant leaves when its WebSocket closes.
		msg = tr.run_async(_record_ws(d, room, ann))
	finally:
		if tx.poll() is None:
			tx.kill()
		tx.wait(timeout=5)
	for m, secs, what in ((msg, 1.0, "the WebSocket's"), (rest, 0.8, "the REST one")):
		h.CLEANUP.add(f"message {m['id']}", lambda m=m: d.alive() and
			      d.api("DELETE", f"/v1/messages/{m['id']}", timeout=3))
		check(abs(m["duration_ms"] / 1000 - secs) <= 0.3,
		      f"{what} message lasts {m['duration_ms']} ms, recorded for about {secs} s")
		st, data, _ = download(d, m["id"])
		eq(st, 200, "download")
		wav = _decode_ogg(env, data, f"rec-msg-{m['id']}")
		pw, peak = tmix.tone_powers(wav, skip_s=0.1, tail_s=0.1)
		check(peak > 1000 and pw[REC_TONE] > 20 * max(pw[440], pw[880]),
		      f"{what} message decodes to {pw}, peak {peak} (want {REC_TONE} Hz)")
	d.api("DELETE", f"/v1/rooms/{room}")


async def _record_ws(d, room, ann):
	peer = await tr.Peer.connect(d, "ann-rec")
	try:
		await peer.ok("join", "joined", token=ann["token"])
		for fields, text in (({}, "action: required"), ({"action": "pause"}, "action"),
				     ({"action": "stop"}, "no message is being recorded")):
			m = await peer.request("record_message", **fields)
			eq(m.get("type"), "error", f"record_message {fields}: {m}")
			check(text in m.get("error", ""), f"record_message {fields}: {m}")
		m = await peer.ok("record_message", "record_message_done", action="start")
		rid = m["recording"]
		eq(m["state"], "active", f"record_message start: {m}")
		m = await peer.request("record_message", action="start")
		check(m.get("type") == "error" and "already" in m.get("error", ""),
		      f"a second start: {m}")
		# The room cannot be recorded meanwhile; the participant's stream is.
		st, b, _ = d.api("POST", "/v1/recordings", {"room": room})
		_err(st, b, 409, "room", "a room recording while a participant records a message")
		await asyncio.sleep(1.0)
		m = await peer.ok("record_message", "record_message_done", action="stop")
		eq((m["recording"], m["state"]), (rid, "stopping"), f"record_message stop: {m}")
		e = await peer.event("message_recorded", timeout=5)
		eq(e["recording"], rid, f"message_recorded: {e}")
		check(e["message"] is not None and e["error"] is None, f"message_recorded: {e}")
		r = d.ok("GET", f"/v1/recordings/{rid}")
		eq((r["state"], r["participant"], r["as_message"], r["message"], r["files"]),
		   ("stopped", ann["id"], True, e["message"], []), f"the recording {r}")
		m = d.ok("GET", f"/v1/messages/{e['message']}")
		eq(m["duration_ms"], e["duration_ms"], "message_recorded's duration")
		return m
	finally:
		await peer.ws.close()


def _record_rest(d, room, ann):
	for body, status, text in (
			({"room": room, "as_message": True}, 400, "as_message"),
			({"room": room, "participant": ann["id"], "as_message": 1}, 400, "as_message"),
			({"session": "0000000100000001", "participant": "1"}, 400, "participant"),
			({"room": room, "participant": "999"}, 404, "participant")):
		st, b, _ = d.api("POST", "/v1/recordings", body)
		_err(st, b, status, text, f"POST /v1/recordings {body}")
	st, rec, _ = d.api("POST", "/v1/recordings", {"room": room, "participant": ann["id"],
						       "as_message": True})
	eq(st, 201, f"POST /v1/recordings as_message: {rec}")
	time.sleep(0.8)
	st, b, _ = d.api("DELETE", f"/v1/recordings/{rec['id']}")
	eq(st, 204, f"DELETE /v1/recordings/{rec['id']}: {b}")
	h.wait_for(lambda: d.ok("GET", f"/v1/recordings/{rec['id']}")["message"] is not None, 5,
		   what="the recording to become a message")
	r = d.ok("GET", f"/v1/recordings/{rec['id']}")
	eq((r["message_error"], r["files"]), (None, []), f"the REST recording {r}")
	return d.ok("GET", f"/v1/messages/{r['message']}")
