# SPDX-License-Identifier: BSD-3-Clause
"""Audio-mixing rooms (docs/API.md "Mixing rooms"): three GStreamer senders play Opus tones of
440, 660 and 880 Hz into a room created with "mode": "mix"; each participant receives what the
relay mixed for it from its own endpoint, and GStreamer decodes it (rtpopusdepay, opusdec). Each
must hear the other two tones and not its own (N-1), found with Goertzel filters; a fourth
participant who publishes nothing (a listener, latched by its RTCP) hears all three from the
room's shared encoding. The 440 Hz participant speaks SRTP both ways. The room's GET shows each
participant's jitter buffer and codec figures; a daemon without media lcores refuses the mode.
A room with "mix_max_speakers": 2 and tones of three loudnesses mixes only the two loudest:
nobody hears the quietest, which hears the others from the shared mix."""

import base64
import math
import os
import signal
import struct
import subprocess
import sys
import time
import wave

import harness as h
import test_srtp as ts
from harness import NS_V4, RELAY4_B, RELAY6_B, check, eq

PT = 111
TONES = (440, 660, 880)
BUFFERS = 250			# 20 ms frames: 5 s
SHIM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "udp_shim.py")


def goertzel(samples, rate, freq):
	"""Power of freq in samples (Goertzel's algorithm), normalised by the length."""
	w = 2 * math.pi * freq / rate
	c = 2 * math.cos(w)
	s1 = s2 = 0.0
	for x in samples:
		s0 = x + c * s1 - s2
		s2 = s1
		s1 = s0
	return (s1 * s1 + s2 * s2 - c * s1 * s2) / (len(samples) ** 2)


def tone_powers(wav, skip_s=1.0, tail_s=1.0):
	"""{freq: power} of TONES over a mono S16 WAV file, leaving out its first skip_s and last
	tail_s seconds (the senders start and stop at slightly different times)."""
	with wave.open(wav) as w:
		rate = w.getframerate()
		n = w.getnframes()
		data = w.readframes(n)
	s = struct.unpack(f"<{n}h", data)
	a, b = int(skip_s * rate), n - int(tail_s * rate)
	check(b - a >= rate // 2, f"{wav}: only {n / rate:.2f} s decoded")
	part = s[a:b]
	return {f: goertzel(part, rate, f) for f in TONES}, max(abs(x) for x in part)


def _popen(ns, argv):
	return subprocess.Popen(["ip", "netns", "exec", ns] + argv, stdout=subprocess.PIPE,
				stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)


def _end(p, sig=signal.SIGTERM):
	if p.poll() is None:
		p.send_signal(sig)
		try:
			p.wait(timeout=10)
		except subprocess.TimeoutExpired:
			p.kill()
			p.wait(timeout=5)
	if p.stdout is None or p.stdout.closed:
		return ""
	out = p.stdout.read()
	p.stdout.close()
	return out


def test_mix_room_refused_without_media_lcores(env):
	"""The main daemon has no lcores.media: "mode": "mix" is refused, naming the key; bad
	modes and payload types are 400s naming the field; a gain in a forwarding room is a
	409."""
	d = env.main
	st, body, _ = d.api("POST", "/v1/rooms", {"name": "m", "mode": "mix"})
	eq(st, 409, f"mix room without media lcores: {body}")
	check("lcores.media" in body.get("error", ""), f"error names lcores.media: {body}")
	for req, field in (({"mode": "mixed"}, "mode"), ({"mode": 1}, "mode"),
			   ({"mode": "mix", "mix_payload_type": 5}, "mix_payload_type"),
			   ({"mix_payload_type": 111}, "mix_payload_type"),
			   ({"mode": "mix", "mix_max_speakers": 65}, "mix_max_speakers"),
			   ({"mix_max_speakers": 2}, "mix_max_speakers")):
		st, body, _ = d.api("POST", "/v1/rooms", req)
		eq(st, 400, f"POST /v1/rooms {req}: {body}")
		check(field in body.get("error", ""), f"error names {field}: {body}")
	st, body, _ = d.api("POST", "/v1/rooms", {"name": "f", "mode": "forward"})
	eq(st, 201, f"forwarding room by name: {body}")
	eq(body.get("mode"), "forward", "mode of a forwarding room")
	st, p, _ = d.api("POST", f"/v1/rooms/{body['id']}/participants", {"name": "g"})
	eq(st, 201, f"participant: {p}")
	st, x, _ = d.api("PATCH", f"/v1/rooms/{body['id']}/participants/{p['id']}", {"gain": 2})
	eq(st, 409, f"gain in a forwarding room: {x}")
	check(x.get("error", "").startswith("gain"), f"error names gain: {x}")
	d.api("DELETE", f"/v1/rooms/{body['id']}")


LOSSY = 880			# test_mix_room_gstreamer_tones: this sender loses 5 % of its packets


def test_mix_room_gstreamer_tones(env):
	"""Three participants each play a tone; each receives the other two and not its own. The
	880 Hz sender loses every 20th packet on the way (5 %): its frames are concealed (counted)
	and the others still hear its tone as loud as the third one's. The room is recorded: one
	file, the mix encoded once, which GStreamer decodes to all three tones for about the
	senders' 5 s."""
	_tones(env, None, lossy=LOSSY, record=True)


def test_mix_room_muted(env):
	"""The 660 Hz participant is muted (PATCH, as in a forwarding room): nobody hears it, it
	still hears the other two. The 880 Hz one is mixed at gain 0.25 (PATCH "gain"): whoever
	hears it and 440 hears 880 12 dB quieter (a sixteenth of the power, within a factor of
	two)."""
	_tones(env, 660, gains={880: 0.25})


def test_mix_room_loudest(env):
	""""mix_max_speakers": 2, 880 Hz loud, 660 Hz less, 440 Hz quiet (a third of 660's level,
	past the selection's hysteresis): only 880 and 660 are mixed. 880 hears 660 only, 660
	hears 880 only, and 440 and the listener hear both from the shared mix, never 440."""
	_tones(env, None, max_speakers=2, volumes={440: 0.1, 660: 0.3, 880: 0.6})


def _check_mix_recording(env, d, rec):
	"""The recording of a mix room: one file (the mix, not the participants' streams),
	every tone in it, about as long as the senders sent."""
	import test_messages as tm
	st, b, _ = d.api("DELETE", f"/v1/recordings/{rec['id']}")
	eq(st, 204, f"DELETE /v1/recordings/{rec['id']}: {b}")
	r = h.wait_for(lambda: (lambda x: x["state"] == "stopped" and x)(
		d.ok("GET", f"/v1/recordings/{rec['id']}")), 10, what="the mix recording to stop")
	eq(len(r["files"]), 1, f"the mix room's recording: {r}")
	st, data, _ = d.get_bytes(f"/v1/recording-files/{r['files'][0]}")
	eq(st, 200, "download of the mix recording")
	wav = tm._decode_ogg(env, data, "mix-recording")
	pw, peak = tone_powers(wav)
	desc = ", ".join(f"{k} Hz: {v:.0f}" for k, v in pw.items())
	check(peak > 1000 and max(pw.values()) < 10 * min(pw.values()),
	      f"the recorded mix has every tone ({desc}; peak {peak})")
	with wave.open(wav) as w:
		secs = w.getnframes() / w.getframerate()
	check(abs(secs - BUFFERS * 0.02) <= 1.5,
	      f"the recorded mix lasts {secs:.2f} s, the senders sent {BUFFERS * 0.02:.1f} s")
	stats = d.stats()["media"][0]
	check(stats["rec_captured"] >= r["packets"] > BUFFERS // 2 and stats["rec_dropped"] == 0,
	      f"media lcore recording counters {stats}, recording {r}")


def _tones(env, mute, max_speakers=None, volumes=None, lossy=None, record=False, gains=None):
	ts._need_gst()
	for el in ("rtpopusdepay", "opusdec", "wavenc", "udpsrc"):
		if subprocess.run(["gst-inspect-1.0", el], stdout=subprocess.DEVNULL,
				  stderr=subprocess.DEVNULL, timeout=30).returncode != 0:
			raise h.Skip(f"GStreamer element {el} missing")
	d = env.new_daemon("mix", addr4=RELAY4_B, addr6=RELAY6_B, workers=(1,), media=(2,),
			   idle_sleep_us=200,
			   recording_dir=os.path.join(env.workdir, "mix-recordings"))
	env.start_daemon(d)
	procs = []
	try:
		req = {"name": "mix", "mode": "mix"}
		if max_speakers is not None:
			req["mix_max_speakers"] = max_speakers
		st, room, _ = d.api("POST", "/v1/rooms", req)
		eq(st, 201, f"POST /v1/rooms mix: {room}")
		eq(room["mode"], "mix", "room mode")
		eq(room["mix_payload_type"], PT, "default payload type of the mix")
		eq(room["mix_max_speakers"], max_speakers or 0, "mix_max_speakers of the room")
		# Left out of the mix (mix_max_speakers): the quietest, which hears the shared mix.
		quiet = min(TONES, key=lambda t: volumes[t]) if max_speakers else None
		rid = room["id"]
		# The first participant speaks SRTP: its tone comes in encrypted (srtpenc), its mix
		# goes out encrypted under its own key through the worker's SRTP egress.
		suite = "AES_CM_128_HMAC_SHA1_80"
		k_in = ts.new_key(suite)
		parts = []
		for i, f in enumerate(TONES):
			req = {"name": f"t{f}"}
			if i == 0:
				req["srtp"] = {"remote_key": ts.sdes(suite, k_in)}
			st, p, _ = d.api("POST", f"/v1/rooms/{rid}/participants", req)
			eq(st, 201, f"participant {i}: {p}")
			ssrc = 0x31C00000 + i
			st, body, _ = d.api("POST", f"/v1/rooms/{rid}/participants/{p['id']}/streams",
					    {"ssrc": ssrc, "kind": "audio", "pt": PT})
			eq(st, 201, f"publish {i}: {body}")
			if i == 0:
				# One audio stream a participant, no video: 409s naming the field.
				for req, field in (({"ssrc": 7, "kind": "audio", "pt": PT}, "streams"),
						   ({"ssrc": 8, "kind": "video", "pt": 96}, "kind")):
					st, body, _ = d.api("POST", f"/v1/rooms/{rid}/participants/"
							    f"{p['id']}/streams", req)
					eq(st, 409, f"publish {req} in a mixing room: {body}")
					check(body.get("error", "").startswith(field),
					      f"error names {field}: {body}")
			parts.append((p, ssrc, f))
			if f == mute:
				d.ok("PATCH", f"/v1/rooms/{rid}/participants/{p['id']}",
				     {"muted": {"audio": True}})
			if gains and f in gains:
				for bad in (-1, 4.5, "x"):
					st, body, _ = d.api("PATCH", f"/v1/rooms/{rid}/participants/"
							    f"{p['id']}", {"gain": bad})
					eq(st, 400, f"PATCH gain {bad}: {body}")
				x = d.ok("PATCH", f"/v1/rooms/{rid}/participants/{p['id']}",
					 {"gain": gains[f]})
				eq(x["gain"], gains[f], f"the participant's gain: {x}")
		st, lis, _ = d.api("POST", f"/v1/rooms/{rid}/participants", {"name": "listener"})
		eq(st, 201, f"listener: {lis}")
		rec = None
		if record:
			st, rec, _ = d.api("POST", "/v1/recordings", {"room": rid})
			eq(st, 201, f"POST /v1/recordings of the mix room: {rec}")

		ns = env.host.ns
		base = env.ports(len(TONES) * 3 + 3)
		wavs, rx, shims, tx = [], [], [], []
		for i, (p, ssrc, f) in enumerate(parts + [(lis, 0x31C000FF, None)]):
			ext, lin, lout = base[3 * i], base[3 * i + 1], base[3 * i + 2]
			local = h.parse_ep(p["local"])
			sh = _popen(ns, [sys.executable, SHIM] +
				    (["--drop-every", "20"] if f is not None and f == lossy else []) +
				    [NS_V4[i], str(ext), local[0], str(local[1]), str(lin), str(lout)] +
				    ([str(ssrc)] if f is None else []))
			procs.append(sh)
			shims.append(sh)
			eq(sh.stdout.readline().strip(), "ready", f"shim {i} start")
			wav = os.path.join(env.workdir, f"mix-{rid}-{f or 'listener'}.wav")
			caps = (f"application/x-rtp,media=audio,clock-rate=48000,encoding-name=OPUS,"
				f"payload={PT}")
			if i == 0:
				l_key = base64.b64decode(p["srtp"]["local_key"].split("inline:")[1])
				head = (f"udpsrc address=127.0.0.1 port={lout} "
					f"caps={ts._srtp_caps(suite, l_key, p['relay_ssrc'])} ! srtpdec "
					f"! {caps}")
			else:
				head = f"udpsrc address=127.0.0.1 port={lout} caps={caps}"
			r = ts.gst(ns, f"{head} ! rtpjitterbuffer latency=100 ! rtpopusdepay ! opusdec ! "
				   f"audio/x-raw,format=S16LE,channels=1,rate=48000 ! wavenc ! "
				   f"filesink location={wav}", eos_on_int=True)
			procs.append(r)
			rx.append(r)
			wavs.append(wav)
		# The receivers are up once filesink has opened its file (READY to PAUSED).
		h.wait_for(lambda: all(os.path.exists(w) for w in wavs), 30,
			   what="the GStreamer receivers to start")
		time.sleep(0.5)		# paces nothing: gives the receivers' sockets time to exist
		for i, (p, ssrc, f) in enumerate(parts):
			lin = base[3 * i + 1]
			vol = volumes[f] if volumes else 0.3
			s = ts.gst(ns, f"audiotestsrc num-buffers={BUFFERS} freq={f} volume={vol} "
				   f"samplesperbuffer=960 is-live=true ! audio/x-raw,rate=48000,"
				   f"channels=1 ! opusenc ! rtpopuspay pt={PT} ssrc={ssrc} "
				   f"{'! ' + ts._srtpenc(suite, k_in) if i == 0 else ''} ! udpsink "
				   f"host=127.0.0.1 port={lin} sync=true")
			procs.append(s)
			tx.append(s)
		for i, s in enumerate(tx):
			out = s.communicate(timeout=40)[0]
			eq(s.returncode, 0, f"sender {i} exit status ({(out or '').strip()[-300:]})")
			s.stdout.close()

		last = {}

		def all_mixed():
			g = last["g"] = d.ok("GET", f"/v1/rooms/{rid}")
			return all((x["id"] in (lis["id"], muted_id) or
				    x["mix"]["packets"] + x["mix"]["late_packets"] >= BUFFERS * 9 // 10)
				   and x["counters"]["packets_out"] > 0
				   for x in g["participants"]) and g
		muted_id = next((p["id"] for p, _, f in parts if f == mute), None)
		try:
			g = h.wait_for(all_mixed, 30, what="every participant's packets mixed and sent")
		except h.SmokeError as e:
			brief = [(x["name"], x.get("mix"), x["counters"]["packets_out"])
				 for x in (last.get("g") or {}).get("participants", [])]
			raise h.SmokeError(f"{e}: participants (name, mix, packets out) {brief}; "
					   f"media {d.stats().get('media')}")
		rx_out = [_end(r, signal.SIGINT) for r in rx]
		if rec is not None:
			_check_mix_recording(env, d, rec)
		for sh in shims:
			_end(sh)

		stats = d.stats()
		eq(len(g["participants"]), len(TONES) + 1, "participants")
		for x in g["participants"]:
			m = x["mix"]
			if x["id"] in (lis["id"], muted_id):
				eq(m["packets"], 0, f"jitter buffer of a listener or muted one: {m}")
				check(m["frames_shared_mix"] > 0 and m["frames_encoded"] == 0,
				      f"the listener gets the shared mix: {m}")
				continue
			for k in ("jitter_buffer_depth", "late_packets", "frames_concealed",
				  "frames_fec_recovered", "frames_played", "frames_encoded"):
				check(k in m, f"participant {x['id']} mix stats lack {k}: {m}")
			# How many frames were played, concealed or skipped depends on the machine's
			# load (the senders' pace, the lcore's ticks): only that media went through.
			check(m["frames_played"] > 0 and m["frames_encoded"] > 0 or
			      x["name"] == f"t{quiet}",
			      f"participant {x['id']}: nothing played or encoded: {m}; "
			      f"media {stats['media']}")
			if x["name"] == f"t{lossy}":
				# About 5 % of its frames were lost and concealed (or recovered).
				lost = m["frames_concealed"] + m["frames_fec_recovered"]
				check(lost >= BUFFERS // 40,
				      f"the lossy sender's frames concealed: {m}")
			# Mixed or not: the senders start and stop a little apart, and whoever
			# sends alone (or with one other) is mixed then; most frames tell.
			if x["name"] == f"t{quiet}":
				check(m["frames_not_mixed"] > 3 * m["frames_mixed"] and
				      m["frames_shared_mix"] > 0, f"the quietest is left out: {m}")
			else:
				check(m["frames_mixed"] > 10 * m["frames_not_mixed"],
				      f"participant {x['id']} is mixed: {m}")
		check(stats["media"] and stats["media"][0]["frames_encoded"] > 0,
		      f"media lcore stats: {stats.get('media')}")
		check((stats["media"][0]["frames_not_mixed"] > 0) == bool(max_speakers),
		      f"media lcore frames_not_mixed: {stats['media']}")

		for i, r in enumerate(rx):
			eq(r.returncode, 0, f"receiver {i} exit status ({rx_out[i].strip()[-3000:]}); "
			   f"participant {g['participants'][i]}")
		for i, (p, ssrc, f) in enumerate(parts + [(lis, None, None)]):
			who = f"participant {f} Hz" if f else "the listener"
			pw, peak = tone_powers(wavs[i])
			if gains and 440 not in (f, mute) and all(t not in (f, mute) for t in gains):
				for t, g in gains.items():
					want = g * g
					check(want / 2 < pw[t] / pw[440] < want * 2,
					      f"{who}: {t} Hz at gain {g}: power {pw[t] / pw[440]:.3f} "
					      f"of 440 Hz's, want {want:.3f}")
					pw[t] /= want	# as if at gain 1 for the checks below
			heard = [t for t in TONES if t not in (f, mute, quiet)]
			unheard = [t for t in TONES if t not in heard]
			desc = ", ".join(f"{k} Hz: {v:.0f}" for k, v in pw.items())
			check(peak > 1000, f"{who} received silence (peak {peak}; {desc})")
			# Each tone it should hear at least 20 times (13 dB) each it should not: a
			# mix that included its own (or a muted one) would have it as loud.
			check(min(pw[t] for t in heard) > 20 * max([pw[t] for t in unheard] or [0]),
			      f"{who}: hears {unheard} or misses one of {heard} ({desc})")
			# Those it hears, none more than 10 times (10 dB) another.
			check(max(pw[t] for t in heard) < 10 * min(pw[t] for t in heard),
			      f"{who}: the tones it hears are unbalanced ({desc})")
		d.api("DELETE", f"/v1/rooms/{rid}")
		st, body, _ = d.api("GET", f"/v1/rooms/{rid}")
		eq(st, 404, f"GET of a deleted mix room: {body}")
	finally:
		for p in procs:
			_end(p, signal.SIGKILL)
		d.kill()
