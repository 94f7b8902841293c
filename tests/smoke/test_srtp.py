# SPDX-License-Identifier: BSD-3-Clause
"""SRTP through the relay with an SRTP stack that is not mrelay's: GStreamer's srtpenc and
srtpdec (libsrtp2, gstreamer1.0-plugins-bad) encrypt and decrypt Opus; the tone that comes out
is checked. Packets GStreamer encrypted are also replayed, tampered with and sent from strangers
to check that only what authenticates is relayed, latched or counted as received."""

import base64
import os
import shutil
import signal
import struct
import subprocess
import time
import wave

import harness as h
from harness import NS_V4, RELAY4, check, eq, fmt_ep

TONE = 440
BUFFERS = 100			# 20 ms Opus frames: 2 s
PT = 111
SSRC = 0x5A1E0001

# mrelay suite name -> (GStreamer cipher, GStreamer auth, master key + salt bytes)
GST_SUITE = {
	"AES_CM_128_HMAC_SHA1_80": ("aes-128-icm", "hmac-sha1-80", 30),
	"AES_CM_128_HMAC_SHA1_32": ("aes-128-icm", "hmac-sha1-32", 30),
	"AES_256_CM_HMAC_SHA1_80": ("aes-256-icm", "hmac-sha1-80", 46),
	"AEAD_AES_128_GCM": ("aes-128-gcm", "null", 28),
	"AEAD_AES_256_GCM": ("aes-256-gcm", "null", 44),
}


def _need_gst():
	if not shutil.which("gst-launch-1.0") or not shutil.which("gst-inspect-1.0"):
		raise h.Skip("gst-launch-1.0 not installed (scripts/setup installs it)")
	for el in ("srtpenc", "srtpdec", "opusenc", "opusdec", "rtpopuspay", "wavenc"):
		p = subprocess.run(["gst-inspect-1.0", el], stdout=subprocess.DEVNULL,
				   stderr=subprocess.DEVNULL, timeout=30)
		if p.returncode != 0:
			raise h.Skip(f"GStreamer element {el} missing (gstreamer1.0-plugins-bad/-base)")


def new_key(suite):
	return os.urandom(GST_SUITE[suite][2])


def sdes(suite, key):
	return f"{suite} inline:{base64.b64encode(key).decode()}"


def _srtpenc(suite, key):
	cipher, auth, _ = GST_SUITE[suite]
	return (f"srtpenc key={key.hex()} rtp-cipher={cipher} rtp-auth={auth} "
		f"rtcp-cipher={cipher} rtcp-auth={auth}")


def _srtp_caps(suite, key, ssrc):
	cipher, auth, _ = GST_SUITE[suite]
	return (f"application/x-srtp,payload=(int){PT},ssrc=(uint){ssrc},"
		f"srtp-key=(buffer){key.hex()},srtp-cipher=(string){cipher},"
		f"srtp-auth=(string){auth},srtcp-cipher=(string){cipher},"
		f"srtcp-auth=(string){auth},roc=(uint)0")


def _opus_source(n=BUFFERS, seq_offset=0, ssrc=SSRC):
	return (f"audiotestsrc num-buffers={n} freq={TONE} samplesperbuffer=960 is-live=true "
		f"! audio/x-raw,rate=48000,channels=1 ! opusenc ! rtpopuspay pt={PT} ssrc={ssrc} "
		f"seqnum-offset={seq_offset}")


def gst(ns, pipeline, eos_on_int=False):
	argv = ["ip", "netns", "exec", ns, "gst-launch-1.0", "-q"]
	if eos_on_int:
		argv.append("-e")
	return subprocess.Popen(argv + pipeline.split(), stdout=subprocess.PIPE,
				stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)


def send(env, src, dst, suite=None, key=None, ssrc=SSRC):
	"""GStreamer sends BUFFERS Opus frames (SRTP when key is given) from src to dst and
	exits."""
	enc = f" ! {_srtpenc(suite, key)}" if key is not None else ""
	return gst(env.host.ns, f"{_opus_source(ssrc=ssrc)}{enc} ! udpsink host={dst[0]} "
		   f"port={dst[1]} bind-address={src[0]} bind-port={src[1]} sync=true")


def receive(env, at, wav, suite=None, key=None, ssrc=SSRC):
	"""GStreamer receives on at (decrypting when key is given), decodes Opus and writes a WAV
	file; stops at EOS (SIGINT with -e), so the file is complete."""
	if key is not None:
		head = (f"udpsrc address={at[0]} port={at[1]} caps={_srtp_caps(suite, key, ssrc)} "
			f"! srtpdec ! application/x-rtp,media=audio,clock-rate=48000,"
			f"encoding-name=OPUS,payload={PT}")
	else:
		head = (f"udpsrc address={at[0]} port={at[1]} caps=application/x-rtp,media=audio,"
			f"clock-rate=48000,encoding-name=OPUS,payload={PT}")
	return gst(env.host.ns, f"{head} ! rtpopusdepay ! opusdec ! audio/x-raw,format=S16LE,"
		   f"channels=1,rate=48000 ! wavenc ! filesink location={wav}", eos_on_int=True)


def tone_of(wav):
	"""(frequency by zero crossings, peak amplitude, seconds) of a mono S16 WAV file, from
	100 ms in (the decoder's start)."""
	with wave.open(wav) as w:
		rate = w.getframerate()
		n = w.getnframes()
		data = w.readframes(n)
	s = struct.unpack(f"<{n}h", data)[rate // 10:]
	if len(s) < rate // 10:
		return 0.0, 0, len(s) / rate
	zc = sum(1 for a, b in zip(s, s[1:]) if (a < 0) != (b < 0))
	return zc / 2 / (len(s) / rate), max(abs(x) for x in s), len(s) / rate


def _stop(tx, rx):
	"""End the sender (if still running) and the receiver (SIGINT: EOS, so its WAV file is
	complete)."""
	if tx.poll() is None:
		tx.kill()
		tx.wait(timeout=5)
	stop_rx(rx)
	tx.stdout.close()


def stop_rx(rx):
	"""End a receiver (SIGINT: EOS, so its WAV file is complete)."""
	if rx.poll() is None:
		rx.send_signal(signal.SIGINT)
		try:
			rx.wait(timeout=10)
		except subprocess.TimeoutExpired:
			rx.kill()
			rx.wait(timeout=5)
	rx.stdout.close()


def play_through(env, s, tx_leg, rx_leg, tx_suite=None, tx_key=None, rx_suite=None,
		 rx_key=None):
	"""GStreamer plays the tone into leg tx_leg of session s; another GStreamer receives what
	leaves leg rx_leg; returns (frequency, peak, seconds)."""
	wav = os.path.join(env.workdir, f"srtp-{s.id}-{tx_leg}.wav")
	rx = receive(env, env.remote_of[rx_leg], wav, rx_suite, rx_key)
	time.sleep(0.5)		# paces nothing: gives the receiver's socket time to exist
	tx = send(env, env.remote_of[tx_leg], s.local[tx_leg], tx_suite, tx_key)
	out = ""
	try:
		try:
			out = tx.communicate(timeout=30)[0]
		except subprocess.TimeoutExpired:
			raise h.SmokeError("GStreamer sender still running after 30 s") from None
		eq(tx.returncode, 0, f"sender's exit status ({(out or '').strip()[-300:]})")
		# Everything sent has gone through once the relay's counters say so.
		try:
			h.wait_for(lambda: s.counters(rx_leg).get("packets_out", 0) +
				   sum(s.counters(tx_leg).get("drops", {}).values()) >= BUFFERS * 9 // 10,
				   10, what="the relay to forward the tone")
		except h.SmokeError as e:
			raise h.SmokeError(f"{e}: session {s.get()}") from None
	finally:
		_stop(tx, rx)
	return tone_of(wav)


def _resolve(env, pa, pb):
	"""Resolve both hosts' MACs with a plain session (ARP), so that the SRTP sessions after it
	find their next hops resolved; returns (a, b) sockets, closed."""
	a = env.host.udp(NS_V4[0], pa)
	b = env.host.udp(NS_V4[1], pb)
	s = env.main.create([{"remote": fmt_ep(NS_V4[0], pa)}, {"remote": fmt_ep(NS_V4[1], pb)}])
	h.prime(a, s.local[0], b, 0x5EED0002, seq0=1)
	h.prime(b, s.local[1], a, 0x5EED0003, seq0=1)
	s.delete()
	a.close()
	b.close()


def _tone_ok(f, peak, secs, what):
	check(abs(f - TONE) < 10 and peak > 1000 and secs > 1.0,
	      f"{what}: decoded {secs:.2f} s at {f:.1f} Hz, peak {peak} (want ~{TONE} Hz)")


def _setup(env):
	_need_gst()
	pa, pb = env.ports(2)
	_resolve(env, pa, pb)
	env.remote_of = {0: (NS_V4[0], pa), 1: (NS_V4[1], pb)}
	return pa, pb


def test_srtp_gstreamer_to_plain(env):
	"""GStreamer srtpenc -> SRTP leg (mrelay decrypts) -> plain leg -> GStreamer decodes."""
	pa, pb = _setup(env)
	suite = "AES_CM_128_HMAC_SHA1_80"
	key = new_key(suite)
	s = env.main.create([{"remote": fmt_ep(NS_V4[0], pa), "srtp": {"remote_key": sdes(suite, key)}},
			     {"remote": fmt_ep(NS_V4[1], pb)}])
	sj = s.body["legs"][0]["srtp"]
	eq(sj.get("suite"), suite, "legs[0].srtp.suite")
	check(sj.get("local_key", "").startswith(suite + " inline:"),
	      f"legs[0].srtp.local_key in the creation answer: {sj}")
	eq(s.body["legs"][1].get("srtp"), None, "legs[1].srtp (plain)")
	f, peak, secs = play_through(env, s, 0, 1, tx_suite=suite, tx_key=key)
	_tone_ok(f, peak, secs, "SRTP in, plain out")
	leg0 = s.leg(0)
	c = leg0["srtp"]["counters"]
	check(c["decrypted"] >= BUFFERS * 9 // 10, f"legs[0].srtp.counters: {c}")
	eq(c["srtp_auth_fail"], 0, "srtp_auth_fail")
	check("local_key" not in leg0["srtp"], "GET must not show a key")
	text = str(s.get()) + env.main.log_text()
	check(base64.b64encode(key).decode() not in text, "the remote key appears in GET or the log")
	check(sj["local_key"].split("inline:")[1] not in text,
	      "the local key appears in GET or the log")
	s.delete()


def test_srtp_plain_to_gstreamer(env):
	"""Plain RTP in -> mrelay encrypts with the key it made -> GStreamer srtpdec decodes. Also
	with AES-GCM: mrelay's own AES-GCM (gcm_vaes.c, on a CPU with AVX-512 VAES) encrypts these
	Opus packets, and libsrtp inside GStreamer must accept every tag."""
	pa, pb = _setup(env)
	for suite in ("AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM"):
		s = env.main.create([{"remote": fmt_ep(NS_V4[0], pa)},
				     {"remote": fmt_ep(NS_V4[1], pb), "srtp": {"suite": suite}}])
		lk = s.body["legs"][1]["srtp"]["local_key"]
		key = base64.b64decode(lk.split("inline:")[1])
		eq(len(key), GST_SUITE[suite][2], f"{suite}: generated master key + salt bytes")
		f, peak, secs = play_through(env, s, 0, 1, rx_suite=suite, rx_key=key)
		_tone_ok(f, peak, secs, f"plain in, SRTP out ({suite})")
		c = s.leg(1)["srtp"]["counters"]
		check(c["encrypted"] >= BUFFERS * 9 // 10, f"{suite}: legs[1].srtp.counters: {c}")
		s.delete()


def test_srtp_to_srtp_different_keys(env):
	"""SRTP (AES-GCM, GStreamer's key) in -> decrypt, encrypt (AES-CM, mrelay's key) -> out."""
	pa, pb = _setup(env)
	in_suite, out_suite = "AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80"
	key_in = new_key(in_suite)
	s = env.main.create([{"remote": fmt_ep(NS_V4[0], pa),
			      "srtp": {"remote_key": sdes(in_suite, key_in)}},
			     {"remote": fmt_ep(NS_V4[1], pb), "srtp": {"suite": out_suite}}])
	key_out = base64.b64decode(s.body["legs"][1]["srtp"]["local_key"].split("inline:")[1])
	f, peak, secs = play_through(env, s, 0, 1, tx_suite=in_suite, tx_key=key_in,
				     rx_suite=out_suite, rx_key=key_out)
	_tone_ok(f, peak, secs, "SRTP (GCM) in, SRTP (AES-CM) out")
	s.delete()


def capture(env, suite, key, n=20, seq_offset=0, ssrc=SSRC):
	"""n SRTP packets as GStreamer's srtpenc makes them (sent to a socket of ours)."""
	port = env.ports(1)
	sink = env.host.udp(NS_V4[3], port)
	p = gst(env.host.ns, f"{_opus_source(n=n, seq_offset=seq_offset, ssrc=ssrc)} ! "
		f"{_srtpenc(suite, key)} ! udpsink host={NS_V4[3]} port={port} sync=false")
	got = h.recv_n(sink, n, timeout=20)
	out = p.communicate(timeout=20)[0]
	p.stdout.close()
	sink.close()
	eq(p.returncode, 0, f"srtpenc pipeline ({(out or '').strip()[-200:]})")
	eq(len(got), n, "packets captured from srtpenc")
	return [d for d, _ in got]


def _drop(stats, name):
	return h.sum_drops(stats).get(name, 0)


def test_srtp_tamper_replay_latch(env):
	"""Only what authenticates is relayed, latched or counted: strangers' and tampered packets
	are srtp_auth_fail, a replay is srtp_replay, and none of them changes any state."""
	_need_gst()
	suite = "AES_CM_128_HMAC_SHA1_80"
	key = new_key(suite)
	pkts = capture(env, suite, key, n=12)
	pa, pb, px = env.ports(3)
	_resolve(env, pa, pb)
	a = env.host.udp(NS_V4[0], pa)
	b = env.host.udp(NS_V4[1], pb)
	x = env.host.udp(NS_V4[2], px)		# a stranger
	# Leg 0 latches (no remote): the first packet that authenticates decides where it is.
	s = env.main.create([{"srtp": {"remote_key": sdes(suite, key)}},
			     {"remote": fmt_ep(NS_V4[1], pb)}])
	before = env.main.stats()
	bad = bytearray(pkts[0])
	bad[20] ^= 0x01				# one payload bit
	x.sendto(bytes(bad), s.local[0])
	x.sendto(h.rtp(1, 0x1234, pt=PT, payload=b"plain" * 10), s.local[0])
	h.wait_for(lambda: s.leg(0)["srtp"]["counters"]["srtp_auth_fail"] >= 2, 5,
		   what="two authentication failures")
	leg0 = s.leg(0)
	eq(leg0["latched"], False, "latched after forged packets")
	eq(leg0["remote"], None, "remote after forged packets")
	eq(leg0["counters"]["packets_in"], 0, "packets_in after forged packets")
	eq(leg0["rtp"]["packets"], 0, "rtp.packets after forged packets")
	# The genuine packet latches and is relayed decrypted (RTP header kept, tag gone).
	a.sendto(pkts[0], s.local[0])
	got = h.recv_n(b, 1, timeout=3)
	eq(len(got), 1, "the genuine packet relayed")
	eq(got[0][0][:12], pkts[0][:12], "RTP header of the relayed packet")
	eq(len(got[0][0]), len(pkts[0]) - 10, "length: the 10-byte tag removed")
	eq(s.leg(0)["remote"], fmt_ep(NS_V4[0], pa), "latched remote")
	# A replay of it: authenticated, refused, not relayed.
	a.sendto(pkts[0], s.local[0])
	h.wait_for(lambda: s.leg(0)["srtp"]["counters"]["srtp_replay"] >= 1, 5, what="a replay")
	h.expect_none(b, 0.3, "relayed replay")
	# A forged packet with the next sequence number changes nothing: the genuine one after
	# it (same index) is still accepted.
	bad = bytearray(pkts[1])
	bad[-1] ^= 0x80				# the tag
	a.sendto(bytes(bad), s.local[0])
	for p in pkts[1:]:
		a.sendto(p, s.local[0])
	got = h.recv_n(b, len(pkts) - 1, timeout=5)
	eq([d[:12] for d, _ in got], [p[:12] for p in pkts[1:]], "headers relayed after the forgery")
	c = s.leg(0)["srtp"]["counters"]
	eq((c["decrypted"], c["srtp_auth_fail"], c["srtp_replay"]), (len(pkts), 3, 1),
	   "legs[0].srtp decrypted, srtp_auth_fail, srtp_replay")
	after = env.main.stats()
	eq(_drop(after, "srtp_auth_fail") - _drop(before, "srtp_auth_fail"), 3,
	   "per-lcore srtp_auth_fail")
	eq(_drop(after, "srtp_replay") - _drop(before, "srtp_replay"), 1, "per-lcore srtp_replay")
	s.delete()


def test_srtp_rekey_overlap(env):
	"""PATCH gives a new remote key: packets under it are accepted at once, and those under the
	old key still are during srtp.rekey_overlap_ms (60 s in this suite)."""
	_need_gst()
	suite = "AES_CM_128_HMAC_SHA1_80"
	k1, k2 = new_key(suite), new_key(suite)
	old = capture(env, suite, k1, n=10)
	new = capture(env, suite, k2, n=5, seq_offset=(struct.unpack("!H", old[-1][2:4])[0] + 100) & 0xFFFF)
	pa, pb = env.ports(2)
	_resolve(env, pa, pb)
	a = env.host.udp(NS_V4[0], pa)
	b = env.host.udp(NS_V4[1], pb)
	s = env.main.create([{"remote": fmt_ep(NS_V4[0], pa), "srtp": {"remote_key": sdes(suite, k1)}},
			     {"remote": fmt_ep(NS_V4[1], pb)}])
	for p in old[:8]:
		a.sendto(p, s.local[0])
	eq(len(h.recv_n(b, 8, timeout=5)), 8, "packets under the first key")
	st, body, _ = env.main.api("PATCH", f"/v1/sessions/{s.id}",
				   {"legs": [{"srtp": {"remote_key": sdes(suite, k2)}}, {}]})
	eq(st, 200, f"PATCH re-key: {body}")
	eq(body["legs"][0]["srtp"]["rekeys"], 1, "rekeys")
	check("local_key" not in body["legs"][0]["srtp"], "PATCH of the remote key shows no key")
	for p in new:
		a.sendto(p, s.local[0])
	eq(len(h.recv_n(b, len(new), timeout=5)), len(new), "packets under the new key")
	for p in old[8:]:
		a.sendto(p, s.local[0])
	eq(len(h.recv_n(b, 2, timeout=5)), 2, "late packets under the old key, in the overlap")
	c = s.leg(0)["srtp"]["counters"]
	eq((c["decrypted"], c["old_key"], c["srtp_auth_fail"]), (15, 2, 0),
	   "decrypted, old_key, srtp_auth_fail")
	# Back to plain RTP on that leg.
	st, body, _ = env.main.api("PATCH", f"/v1/sessions/{s.id}", {"legs": [{"srtp": None}, {}]})
	eq(st, 200, f"PATCH srtp null: {body}")
	eq(body["legs"][0]["srtp"], None, "legs[0].srtp after srtp: null")
	h.prime(a, s.local[0], b, 0x5EED0004, seq0=1)
	s.delete()


def test_srtp_bad_requests(env):
	"""SDES keys are checked and refused with the field named, never quoted."""
	key = base64.b64encode(os.urandom(30)).decode()
	cases = [
		({"srtp": {"remote_key": f"AES_CM_128_HMAC_SHA1_99 inline:{key}"}}, "legs[0].srtp.remote_key"),
		({"srtp": {"remote_key": "AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ="}}, "legs[0].srtp.remote_key"),
		({"srtp": {"remote_key": f"AES_CM_128_HMAC_SHA1_80 inline:{key}|2^20|1:4"}}, "legs[0].srtp.remote_key"),
		({"srtp": {"suite": "ROT13"}}, "legs[0].srtp.suite"),
		({"srtp": {}}, "legs[0].srtp"),
		({"srtp": {"bogus": 1, "suite": "AEAD_AES_128_GCM"}}, "legs[0].srtp.bogus"),
		({"srtp": "yes"}, "legs[0].srtp"),
	]
	for leg0, field in cases:
		st, body, _ = env.main.api("POST", "/v1/sessions", {"legs": [leg0, {}]})
		eq(st, 400, f"POST with {leg0}")
		msg = body.get("error", "") if isinstance(body, dict) else str(body)
		check(msg.startswith(field), f"error names {field}: {msg}")
		check(key not in msg, f"the key is quoted in the error: {msg}")


def test_srtp_room_srtp_and_plain(env):
	"""A room with one SRTP participant (GStreamer's srtpenc/srtpdec on its side) and one
	plain one: SRTP in is decrypted for the plain subscriber, plain RTP in is encrypted under
	the SRTP participant's own key, and what each receives decodes to the tone."""
	_need_gst()
	d = env.main
	suite = "AES_CM_128_HMAC_SHA1_80"
	k_a = new_key(suite)
	sa, sb = 0x5A1E00A1, 0x5A1E00B1
	st, room, _ = d.api("POST", "/v1/rooms", {"name": "srtp-room", "auto_subscribe": True})
	eq(st, 201, f"POST /v1/rooms: {room}")
	rid = room["id"]
	h.CLEANUP.add(f"room {rid}", lambda: d.alive() and d.api("DELETE", f"/v1/rooms/{rid}",
								  timeout=3))
	st, a, _ = d.api("POST", f"/v1/rooms/{rid}/participants",
			 {"name": "a", "srtp": {"remote_key": sdes(suite, k_a)}})
	eq(st, 201, f"POST participant a: {a}")
	lk = a["srtp"]["local_key"]
	l_a = base64.b64decode(lk.split("inline:")[1])
	st, b, _ = d.api("POST", f"/v1/rooms/{rid}/participants", {"name": "b"})
	eq(st, 201, f"POST participant b: {b}")
	eq(b.get("srtp"), None, "plain participant's srtp")
	st, g, _ = d.api("GET", f"/v1/rooms/{rid}/participants/{a['id']}")
	check("local_key" not in g["srtp"], "GET of a participant shows no key")
	for p, ssrc in ((a, sa), (b, sb)):
		st, body, _ = d.api("POST", f"/v1/rooms/{rid}/participants/{p['id']}/streams",
				    {"ssrc": ssrc, "kind": "audio", "pt": PT})
		eq(st, 201, f"publish {ssrc:#x}: {body}")
	a_local, b_local = h.parse_ep(a["local"]), h.parse_ep(b["local"])
	pa, pb = env.ports(2)
	_resolve(env, pa, pb)

	# A's SRTP (made by srtpenc) latches A and reaches B decrypted; B latches with plain RTP.
	pkts = capture(env, suite, k_a, n=10, ssrc=sa)
	sock_a = env.host.udp(NS_V4[0], pa)
	sock_b = env.host.udp(NS_V4[1], pb)
	bseq = 0
	got = []
	for p in pkts:
		sock_b.sendto(h.rtp(bseq, sb, pt=PT, payload=b"latch-b" * 4), b_local)
		bseq += 1
		sock_a.sendto(p, a_local)
		got += [x for x in h.recv_n(sock_b, 1, timeout=0.3) if h.rtp_ssrc(x[0]) == sa]
	check(got, "nothing of A's SRTP reached B")
	for data, _ in got:
		i = [q[2:4] for q in pkts].index(data[2:4])
		eq(data[:12], pkts[i][:12], "header of a decrypted packet at B")
		eq(len(data), len(pkts[i]) - 10, "decrypted length at B")
	sock_a.close()
	sock_b.close()

	# B plays the tone in plain RTP; A receives it encrypted under its own key and decodes it.
	wav = os.path.join(env.workdir, "srtp-room-a.wav")
	rx = receive(env, (NS_V4[0], pa), wav, suite, l_a, ssrc=sb)
	time.sleep(0.5)		# paces nothing: gives the receiver's socket time to exist
	tx = send(env, (NS_V4[1], pb), b_local, ssrc=sb)
	try:
		out = tx.communicate(timeout=30)[0]
		eq(tx.returncode, 0, f"sender's exit status ({(out or '').strip()[-300:]})")
		h.wait_for(lambda: d.ok("GET", f"/v1/rooms/{rid}/participants/{a['id']}")["srtp"]
			   ["counters"]["encrypted"] >= BUFFERS * 9 // 10, 10,
			   what="the room to encrypt the tone for A")
	finally:
		_stop(tx, rx)
	f, peak, secs = tone_of(wav)
	_tone_ok(f, peak, secs, "room: plain in, SRTP out to A")
	c = d.ok("GET", f"/v1/rooms/{rid}/participants/{a['id']}")["srtp"]["counters"]
	eq((c["srtp_auth_fail"], c["srtp_replay"]), (0, 0), "A's srtp_auth_fail, srtp_replay")

	# A re-keys (PATCH): its packets under the new key reach B.
	k2 = new_key(suite)
	last = struct.unpack("!H", pkts[-1][2:4])[0]
	new = capture(env, suite, k2, n=5, seq_offset=(last + 50) & 0xFFFF, ssrc=sa)
	st, body, _ = d.api("PATCH", f"/v1/rooms/{rid}/participants/{a['id']}",
			    {"srtp": {"remote_key": sdes(suite, k2)}})
	eq(st, 200, f"PATCH participant srtp: {body}")
	eq(body["srtp"]["rekeys"], 1, "participant rekeys")
	check("local_key" not in body["srtp"], "a remote re-key shows no key")
	sock_a = env.host.udp(NS_V4[0], pa)
	sock_b = env.host.udp(NS_V4[1], pb)
	for p in new:
		sock_a.sendto(p, a_local)
	got = [x for x in h.recv_n(sock_b, 40, timeout=2) if h.rtp_ssrc(x[0]) == sa]
	eq(len(got), len(new), "packets under A's new key at B")
	d.api("DELETE", f"/v1/rooms/{rid}")
