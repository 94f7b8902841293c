# SPDX-License-Identifier: BSD-3-Clause
"""WebRTC through mrelayd with real stacks (docs/API.md "WebRTC"): headless Chromium on the demo
page (/demo/), and GStreamer's webrtcbin beside a browser.

The browsers run in the test hosts' namespace, where the relay's media address is; the page and
the WebSocket come from the daemon's API on 127.0.0.1 of the root namespace through a TCP
forwarder that listens on the same address and port inside the namespace (so Host and Origin are
the API's own). Each browser's only remote candidate is the relay's: the browsers never learn
each other's addresses, so what they receive went through mrelayd, which its counters show.

Needs chromium, chromium-driver and python3-selenium (Debian's Python: /usr/bin/python3), and
for the webrtcbin test gstreamer1.0-plugins-bad, gstreamer1.0-nice, python3-gst-1.0 and
gir1.2-gst-plugins-bad-1.0 (scripts/setup installs them).
"""

import asyncio
import contextlib
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import harness as h
import test_capture as tc
from firefox import Firefox
from harness import check, eq

try:
	from selenium import webdriver
	from selenium.webdriver.chrome.service import Service
except ImportError:	# reported as a skip by every test
	webdriver = None
try:
	import websockets
except ImportError:
	websockets = None

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
NOBODY4 = "198.18.0.99"		# on the hosts' segment, answered by nobody
WAIT = 40			# seconds for a browser to connect or for media to show
HERE = os.path.dirname(os.path.abspath(__file__))


def _need_browser():
	if webdriver is None:
		raise h.Skip("python3-selenium not importable (apt-get install python3-selenium; run "
			     "the suite with /usr/bin/python3)")
	for b in (CHROMIUM, CHROMEDRIVER):
		if not os.access(b, os.X_OK):
			raise h.Skip(f"{b} not installed (apt-get install chromium chromium-driver)")


# ------------------------------------------------------------------------------------------
# The API inside the namespace

class Forwarder:
	"""Listens on 127.0.0.1:port inside namespace ns and forwards each connection to
	127.0.0.1:port of the root namespace (the daemon's API)."""

	def __init__(self, ns, port):
		self.port = port
		with h.inside(ns):
			self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
		self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		self.ls.bind(("127.0.0.1", port))
		self.ls.listen(64)
		self.socks = []
		self.closed = False
		self.t = threading.Thread(target=self._accept, daemon=True)
		self.t.start()
		h.CLEANUP.add(f"forwarder :{port}", self.close)

	def _accept(self):
		while not self.closed:
			try:
				c, _ = self.ls.accept()
			except OSError:
				return
			try:
				u = socket.create_connection(("127.0.0.1", self.port), timeout=5)
				u.settimeout(None)
			except OSError:
				c.close()
				continue
			self.socks += [c, u]
			for a, b in ((c, u), (u, c)):
				threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

	@staticmethod
	def _pump(a, b):
		try:
			while True:
				d = a.recv(65536)
				if not d:
					break
				b.sendall(d)
		except OSError:
			pass
		with contextlib.suppress(OSError):
			b.shutdown(socket.SHUT_WR)

	def close(self):
		self.closed = True
		with contextlib.suppress(OSError):
			self.ls.close()
		for s in self.socks:
			with contextlib.suppress(OSError):
				s.close()


# ------------------------------------------------------------------------------------------
# Browsers

class Browser:
	"""Headless Chromium (and its chromedriver) started inside namespace ns; every WebDriver
	call is made from inside it too, where chromedriver listens."""

	def __init__(self, ns, name):
		self.ns = ns
		self.name = name
		self.dir = tempfile.mkdtemp(prefix=f"mrelay-smoke-{h.PID}-chromium-")
		o = webdriver.ChromeOptions()
		o.binary_location = CHROMIUM
		for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
			  "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
			  "--disable-features=WebRtcHideLocalIpsWithMdns", "--no-first-run",
			  "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required",
			  f"--user-data-dir={self.dir}"):
			o.add_argument(a)
		self.log = os.path.join(self.dir, "chromedriver.log")
		svc = Service(CHROMEDRIVER, log_path=self.log)
		with h.inside(ns):
			self.drv = webdriver.Chrome(service=svc, options=o)
		h.CLEANUP.add(f"browser {name}", self.quit)

	def js(self, script, *args):
		with h.inside(self.ns):
			return self.drv.execute_script(script, *args)

	def get(self, url):
		with h.inside(self.ns):
			self.drv.get(url)

	def quit(self):
		if self.drv is not None:
			with contextlib.suppress(Exception), h.inside(self.ns):
				self.drv.quit()
			self.drv = None
		shutil.rmtree(self.dir, ignore_errors=True)


def start_browser(ns, name):
	try:
		return Browser(ns, name)
	except Exception as e:	# noqa: BLE001 - any failure to start means no browser here
		raise h.Skip(f"chromium does not start: {str(e).splitlines()[0][:200]}") from None


# ------------------------------------------------------------------------------------------
# The daemon for these tests: an API without a token (joins by room and name), as for the demo

def webrtc_daemon(env, consent=None, capture=False, media=False):
	"""consent: rooms.consent_timeout (s), else the default (30); capture: packet captures
	(into the run's directory); media: a media lcore (mixing rooms)."""
	# start_daemon stops any other daemon on these addresses (test_ng.py's, kept for its
	# module) and has the hosts forget the MAC addresses they knew.
	name = f"webrtc{env._tap_idx + 1}"
	cap = os.path.join(env.workdir, f"{name}-captures") if capture else None
	if cap:
		os.makedirs(cap, exist_ok=True)
	lc = {"workers": (1,), "media": (2,), "idle_sleep_us": 200} if media else {}
	d = env.new_daemon(name, addr4=h.RELAY4_B, addr6=h.RELAY6_B, capture_dir=cap, **lc)
	if consent is not None:
		with open(d.conf, "a") as f:
			f.write(f"\nrooms = {{\n\tconsent_timeout = {consent};\n}};\n")
	return env.start_daemon(d)


def stop_clean(d):
	"""Stop the test's daemon: exit 0 and no sanitizer report (an ASan build) in its log."""
	rc = d.stop()
	text = d.log_text()
	check(rc == 0 and "Sanitizer" not in text and "runtime error" not in text,
	      f"mrelayd ({d.name}) exited with {rc}:\n{d.log_tail(30)}")


def create_room(d):
	b = d.ok("POST", "/v1/rooms", {"name": "webrtc"}, want=201)
	return b["id"]


SRTP_CIPHERS = ("SRTP_AEAD_AES_128_GCM", "SRTP_AES128_CM_HMAC_SHA1_80")

# What a test reads from a page's RTCPeerConnection (the demo page's global `pc`).
STATS_JS = """
const done = arguments[arguments.length - 1];
if (typeof pc === "undefined" || pc === null) { done(null); return; }
pc.getStats().then((r) => {
	const o = { audio: null, video: null, dtls: null, cipher: null, local: null, remote: null,
		    state: window.mrState || null, muted: window.mrMuted === true };
	r.forEach((x) => {
		if (x.type === "inbound-rtp" && x.kind === "audio")
			o.audio = { packets: x.packetsReceived, energy: x.totalAudioEnergy || 0,
				    ssrc: x.ssrc };
		if (x.type === "inbound-rtp" && x.kind === "video")
			o.video = { packets: x.packetsReceived, frames: x.framesDecoded || 0,
				    ssrc: x.ssrc };
		if (x.type === "transport") {
			o.dtls = x.dtlsState;
			o.cipher = x.srtpCipher || null;
			const p = r.get(x.selectedCandidatePairId);
			const l = p ? r.get(p.localCandidateId) : null;
			const c = p ? r.get(p.remoteCandidateId) : null;
			if (l) o.local = l.address + ":" + l.port;
			if (c) o.remote = c.address + ":" + c.port;
		}
	});
	done(o);
}, (e) => done({ error: String(e) }));
"""


def rtc_stats(b):
	with h.inside(b.ns):
		return b.drv.execute_async_script(STATS_JS)


def wait_stats(b, pred, what, timeout=WAIT):
	"""Poll a page's stats until pred(stats) holds; returns them."""
	last = {}

	def ok():
		nonlocal last
		last = rtc_stats(b) or {}
		return pred(last)
	try:
		h.wait_for(ok, timeout, interval=0.25, what=f"{b.name}: {what}")
	except h.SmokeError:
		raise h.SmokeError(f"{b.name}: timed out after {timeout}s waiting for {what}; "
				   f"page stats {last}") from None
	return last


def audio_packets(s):
	return (s.get("audio") or {}).get("packets", 0)


def part_view(d, room, pid):
	return d.ok("GET", f"/v1/rooms/{room}/participants/{pid}", want=200)


def room_parts(d, room):
	"""{name: participant view} of the room."""
	v = d.ok("GET", f"/v1/rooms/{room}", want=200)
	return {p["name"]: p for p in v["participants"]}


def quit_all(*browsers):
	"""Quit the browsers a test started (None: not started yet): left running, they would
	starve the tests after it of CPU."""
	for x in browsers:
		if x is not None:
			x.quit()


def join_browsers(env, d, room, names, extra=None):
	"""Chromiums on the demo page, joined to room; extra: {name: "&query"} for some."""
	browsers = [start_browser(env.host.ns, n) for n in names]
	base = f"http://127.0.0.1:{d.api_port}/demo/?room={room}&join=1"
	for b in browsers:
		b.get(f"{base}&name={b.name}{(extra or {}).get(b.name, '')}")
	return browsers


def media_flows(b, other, base=None):
	"""b receives other's audio (packets and energy) and video (decoded frames), more than
	in base (stats from before) when given."""
	base = base or {}
	ba, bv = base.get("audio") or {}, base.get("video") or {}

	def grown(s):
		a, v = s.get("audio") or {}, s.get("video") or {}
		return (a.get("packets", 0) > ba.get("packets", 0) and
			a.get("energy", 0) > ba.get("energy", 0) and
			v.get("frames", 0) > bv.get("frames", 0))
	return wait_stats(b, grown, f"audio packets, audio energy and decoded video frames from "
			  f"{other.name}" + (" growing" if base else ""))


def wait_dtls(d, room, n, peers=(), what=None, more=lambda p: True):
	"""{name: participant} once the room has n participants, all DTLS connected (and
	more(participant) true of each). On a timeout the error says where each one stands
	(mrelayd's full participant view with its ICE and DTLS counters, the pages' and
	webrtcbin's), not just that the wait ran out."""
	def state():
		p = room_parts(d, room)
		ok = len(p) == n and all((x.get("webrtc") or {}).get("dtls") == "connected" and
					 more(x) for x in p.values())
		return ok and p
	try:
		return h.wait_for(state, WAIT, interval=0.25, what=what or f"{n} DTLS handshakes")
	except h.SmokeError as e:
		lines = [str(e)]
		try:
			for k, v in room_parts(d, room).items():
				lines.append(f"mrelayd {k}: {part_view(d, room, v['id'])}")
			st = d.stats()
			lines.append(f"mrelayd webrtc: {st.get('webrtc')}")
			lines.append("mrelayd drops: " + str([{k: v for k, v in (
				lc.get("drops") or {}).items() if v} for lc in st.get("lcores", [])]))
		except Exception as ex:		# the daemon's own state, if it still answers
			lines.append(f"mrelayd: {ex}")
		for x in peers:
			try:
				lines.append(f"{getattr(x, 'name', 'webrtcbin')}: "
					     f"{x.last if hasattr(x, 'last') else rtc_stats(x)}")
			except Exception as ex:		# a dead page says so, not masks the error
				lines.append(f"{x!r}: {ex}")
		raise h.SmokeError("\n".join(lines)) from None


def check_connected(b, relay_ep, part):
	"""The page's DTLS is connected with an SRTP cipher, over the relay's endpoint only."""
	s = wait_stats(b, lambda s: s.get("dtls") == "connected" and s.get("cipher"),
		       "DTLS connected")
	check(s["cipher"] in SRTP_CIPHERS, f"{b.name}: SRTP cipher {s['cipher']!r}")
	eq(s["remote"], relay_ep, f"{b.name}: remote of the selected candidate pair")
	eq(part.get("remote"), s["local"], f"{b.name}: remote latched by mrelayd (the page's local "
	   "candidate)")
	w = part.get("webrtc") or {}
	eq(w.get("dtls"), "connected", f"{b.name}: mrelayd's DTLS state")
	return s


def test_webrtc_two_browsers(env):
	"""Two Chromiums on the demo page, fake microphone and camera: each hears and sees the
	other through mrelayd; mute stops the other's inbound audio, unmute brings it back."""
	_need_browser()
	d = webrtc_daemon(env)
	try:
		Forwarder(env.host.ns, d.api_port)
		room = create_room(d)
		a, b = join_browsers(env, d, room, ["alice", "bob"])
		# Both connected over DTLS-SRTP through the relay's endpoint, and nothing else.
		parts = wait_dtls(d, room, 2, (a, b))
		for x, other in ((a, b), (b, a)):
			check_connected(x, parts[x.name]["local"], parts[x.name])
		# Media both ways: audio packets with energy (the fake microphone's beeps) and
		# decoded frames, then more of each.
		sa = media_flows(a, b)
		sb = media_flows(b, a)
		sa = media_flows(a, b, sa)
		sb = media_flows(b, a, sb)
		# The media went through mrelayd: it decrypted each one's SRTP and encrypted the
		# copies for the other, and forwarded at least what the other's page received.
		parts = room_parts(d, room)
		for x, other in ((a, sb), (b, sa)):
			p = parts[x.name]
			c = p["srtp"]["counters"]
			check(c["decrypted"] > 0 and c["encrypted"] > 0,
			      f"{x.name}: mrelayd's SRTP counters {c}")
			out = {st["kind"]: st["stats"]["packets_out"] for st in p["streams"]}
			check(out.get("audio", 0) >= other["audio"]["packets"] and
			      out.get("video", 0) >= other["video"]["packets"],
			      f"{x.name}: mrelayd forwarded {out}, the other page received audio "
			      f"{other['audio']['packets']}, video {other['video']['packets']}")
			ssrcs = {st["kind"]: st["ssrc"] for st in p["streams"]}
			eq(ssrcs.get("audio"), other["audio"]["ssrc"], f"{x.name}'s audio SSRC as received")
			eq(ssrcs.get("video"), other["video"]["ssrc"], f"{x.name}'s video SSRC as received")
		w = d.stats().get("webrtc") or {}
		check(w.get("dtls_handshakes", 0) >= 2 and w.get("dtls_failed", 1) == 0,
		      f"/v1/stats webrtc: {w}")

		# Mute in alice's page: the relay stops forwarding her audio, bob's inbound audio
		# packets stop (her video goes on); unmute brings them back.
		a.js("document.getElementById('mute').click();")
		wait_stats(a, lambda s: s.get("muted"), "mute_done")
		astream = next(st for st in parts["alice"]["streams"] if st["kind"] == "audio")

		def muted_drops():
			v = part_view(d, room, parts["alice"]["id"])
			st = next(x for x in v["streams"] if x["id"] == astream["id"])
			return st["stats"]["drop_muted"]
		m0 = h.wait_for(muted_drops, WAIT, what="alice's audio dropped as muted")
		# Packets forwarded just before the mute may still be on their way into bob's
		# counters (a loaded machine delays them): count from 10 drops (200 ms) on.
		h.wait_for(lambda: muted_drops() >= m0 + 10, WAIT,
			   what="10 more of alice's audio packets dropped as muted")
		s0 = rtc_stats(b)
		h.wait_for(lambda: muted_drops() >= m0 + 50, WAIT,
			   what="50 more of alice's audio packets dropped as muted")
		s1 = wait_stats(b, lambda s: (s.get("video") or {}).get("frames", 0) >
				s0["video"]["frames"], "video while alice is muted")
		eq(audio_packets(s1), audio_packets(s0), "bob's inbound audio packets while alice "
		   "is muted")
		a.js("document.getElementById('mute').click();")
		wait_stats(a, lambda s: not s.get("muted"), "unmute_done")
		wait_stats(b, lambda s: audio_packets(s) > audio_packets(s1),
			   "alice's audio again after unmute")
		for x in (a, b):
			x.quit()
		stop_clean(d)
	finally:
		d.stop()


# ------------------------------------------------------------------------------------------
# Three browsers: renegotiation

# Every inbound stream of a page by SSRC, its transceivers, and the offers it answered.
STREAMS_JS = """
const done = arguments[arguments.length - 1];
if (typeof pc === "undefined" || pc === null) {
	done({ no_pc: true, url: String(location.href), state: window.mrState || null });
	return;
}
pc.getStats().then((r) => {
	const o = { inbound: {}, dtls: null, offers: window.mrOffers || 0,
		    answered: window.mrAnswered || 0, state: window.mrState || null,
		    transceivers: pc.getTransceivers().map((t) => ({ mid: t.mid,
			    dir: t.currentDirection })) };
	r.forEach((x) => {
		if (x.type === "inbound-rtp")
			o.inbound[String(x.ssrc)] = { kind: x.kind, packets: x.packetsReceived,
				energy: x.totalAudioEnergy || 0, frames: x.framesDecoded || 0 };
		if (x.type === "transport")
			o.dtls = x.dtlsState;
	});
	done(o);
}, (e) => done({ error: String(e) }));
"""


def page_streams(b):
	with h.inside(b.ns):
		return b.drv.execute_async_script(STREAMS_JS) or {}


def receives(b, others, parts, base=None):
	"""b's page decodes every stream the participants named in others publish: audio packets
	with energy, decoded video frames; each more than in base (an earlier page_streams())
	when given. Returns the page's streams."""
	want = {str(st["ssrc"]): (o, st["kind"]) for o in others for st in parts[o]["streams"]}
	check(len(want) == 2 * len(others), f"{b.name}: streams of {others}: {want}")
	old = (base or {}).get("inbound") or {}
	last = {}

	def grown():
		nonlocal last
		last = page_streams(b)
		inb = last.get("inbound") or {}
		for ssrc, (_, kind) in want.items():
			x, y = inb.get(ssrc), old.get(ssrc) or {}
			if x is None or x["kind"] != kind or x["packets"] <= y.get("packets", 0):
				return False
			if kind == "audio" and x["energy"] <= y.get("energy", 0):
				return False
			if kind == "video" and x["frames"] <= y.get("frames", 0):
				return False
		return True
	try:
		h.wait_for(grown, WAIT, interval=0.5, what=f"{b.name}: media of {others}")
	except h.SmokeError:
		raise h.SmokeError(f"{b.name}: timed out after {WAIT}s waiting for the audio and "
				   f"video of {others} (SSRCs {sorted(want)})"
				   f"{' growing' if base else ''}; page {last}") from None
	return last


def test_webrtc_ssrc_learned(env):
	"""Bob's offer reaches mrelayd without its a=ssrc lines (the demo page's ?nossrc=1): mrelayd
	answers the mid extension and publishes each of bob's streams when its first packet tells
	the SSRC by its mid (RFC 8843 §9.2). Alice then hears and sees bob, bob's streams carry
	the SSRCs his browser sends with, and the copies to alice carry no mid."""
	_need_browser()
	d = webrtc_daemon(env)
	a = b = None
	try:
		Forwarder(env.host.ns, d.api_port)
		room = create_room(d)
		learned0 = d.stats()["rooms"]["ssrcs_learned"]
		a, b = join_browsers(env, d, room, ["alice", "bob"], {"bob": "&nossrc=1"})
		wait_dtls(d, room, 2, (a, b))
		media_flows(a, b)
		media_flows(b, a)
		rooms = d.stats()["rooms"]
		eq(rooms["ssrcs_learned"] - learned0, 2, f"bob's audio and video learned: {rooms}")
		out = b.js("""return (async () => { const r = [];
			(await pc.getStats()).forEach((s) => {
				if (s.type === "outbound-rtp") r.push(s.ssrc); });
			return r; })();""")
		got = [st["ssrc"] for st in room_parts(d, room)["bob"]["streams"]]
		check(len(got) == 2 and set(got) <= set(out),
		      f"bob's streams {got}, the SSRCs his browser sends {out}")
	finally:
		quit_all(a, b)
		stop_clean(d)


def test_webrtc_mix_room(env):
	"""Two Chromiums join a mixing room ("mode": "mix") from the demo page: mrelayd's answer
	declares one stream on each one's audio m-line, the mix of the others under its relay
	SSRC, in its Opus payload type; each page hears the other's fake microphone (packets with
	energy) from that SSRC, and mrelayd decoded, mixed and encoded their audio."""
	_need_browser()
	d = webrtc_daemon(env, media=True)
	a = b = None
	try:
		Forwarder(env.host.ns, d.api_port)
		room = d.ok("POST", "/v1/rooms", {"name": "webrtc-mix", "mode": "mix"},
			    want=201)["id"]
		a, b = join_browsers(env, d, room, ["alice", "bob"])
		parts = wait_dtls(d, room, 2, (a, b))
		for x, other in ((a, b), (b, a)):
			s = wait_stats(x, lambda s: (s.get("audio") or {}).get("energy", 0) > 0 and
				       (s.get("audio") or {}).get("packets", 0) > 50,
				       f"the mix (audio with energy) from {other.name}")
			eq(s["audio"]["ssrc"], parts[x.name]["relay_ssrc"],
			   f"{x.name} hears the mix under its relay SSRC")
			sdp = x.js("return pc.remoteDescription.sdp;")
			want = f"a=ssrc:{parts[x.name]['relay_ssrc']} "
			check(sdp.count(want) == 2 and sdp.count("a=ssrc:") == 2,
			      f"{x.name}: mrelayd's answer declares the mix only:\n{sdp}")
		for name, p in room_parts(d, room).items():
			m = p["mix"]
			check(m["frames_played"] > 0 and m["frames_encoded"] > 0,
			      f"{name}: decoded and mixed for it: {m}")
	finally:
		quit_all(a, b)
		stop_clean(d)


def test_webrtc_python_client(env):
	"""A third WebRTC stack (tests/smoke/webrtc_client.py: STUN, pyOpenSSL's DTLS-SRTP, a
	Python SRTP; none of mrelay's code) joins a room beside a plain RTP participant: its
	SRTP reaches the plain one decrypted, byte for byte, and the plain one's RTP reaches it
	encrypted under the DTLS-exported keys, as it decrypts them."""
	import test_rooms as tr
	import webrtc_client as wc
	try:
		import OpenSSL  # noqa: F401
	except ImportError:
		raise h.Skip("python3-openssl missing (scripts/setup installs it)") from None
	d = webrtc_daemon(env)
	try:
		room = create_room(d)
		pl, pc = env.ports(2)
		ls = env.host.udp(h.NS_V4[0], pl)
		lis = wc.plain_listener(d, room, ls)
		tr.run_async(_python_client(d, room, lis, ls, env.host.udp(h.NS_V4[1], pc)))
	finally:
		stop_clean(d)


def _srtp_both_ways(c, ls, cs, plain_to, plain_ssrc, peer, state):
	"""A connected webrtc_client.Client c (its socket cs) and a plain endpoint's socket ls:
	c's SRTP reaches ls decrypted byte for byte, and plain RTP (SSRC plain_ssrc) from ls to
	plain_to reaches c encrypted under the DTLS keys, as c decrypts it. peer names the plain
	side in errors; state() says where mrelayd stands when c's packets never arrive."""
	import test_rooms as tr
	import webrtc_client as wc
	for _ in range(50):
		sent = c.send_rtp()
		got = [x for x, _ in tr.recv_rtp(ls, 5, timeout=0.1) if h.rtp_ssrc(x) == c.ssrc]
		if got:
			eq(got[-1], sent, "the Python client's packet, decrypted by mrelayd")
			break
	else:
		raise h.SmokeError(f"the Python client's SRTP never reached {peer} ({state()})")
	plain = h.rtp(100, plain_ssrc, pt=wc.PT, payload=b"to the python client")
	for _ in range(20):
		ls.sendto(plain, plain_to)
		got = [x for x, _ in tr.recv_rtp(cs, 5, timeout=0.1) if h.rtp_ssrc(x) == plain_ssrc]
		if got:
			eq(c.rx.unprotect(got[-1], 0), plain,
			   f"{peer}'s packet as the Python client decrypts it")
			break
	else:
		raise h.SmokeError(f"{peer}'s RTP never reached the Python client")


async def _python_client(d, room, lis, ls, cs):
	import webrtc_client as wc
	c = wc.Client(d.api_port, room, "py", cs)
	try:
		await c.join()
		_srtp_both_ways(c, ls, cs, h.parse_ep(lis["local"]), wc.LISTENER_SSRC,
				"the plain participant", lambda: room_parts(d, room))
	finally:
		await c.close()


def test_session_webrtc_leg(env):
	"""A session leg made WebRTC over REST (legs[0].webrtc, what ng does for a browser) with
	the independent Python stack of webrtc_client.py: ICE, DTLS-SRTP as the client, then its
	SRTP reaches leg 1's plain remote decrypted byte for byte and the plain side's RTP reaches
	it encrypted under the DTLS keys; nothing went to it in clear before. Each refusal names
	its field: srtp or rtcp_mux false beside webrtc, a bad fingerprint, and in PATCH the
	remote or srtp of a WebRTC leg and webrtc on a plain one."""
	import test_rooms as tr
	import webrtc_client as wc
	try:
		import OpenSSL  # noqa: F401
	except ImportError:
		raise h.Skip("python3-openssl missing (scripts/setup installs it)") from None
	d = webrtc_daemon(env)
	try:
		pl, pc = env.ports(2)
		ls = env.host.udp(h.NS_V4[0], pl)
		cs = env.host.udp(h.NS_V4[1], pc)
		if wc.CERT is None:
			wc.CERT = wc._cert()
		fp = f"sha-256 {wc.CERT[2]}"
		plain = {"remote": f"{h.NS_V4[0]}:{pl}"}
		for legs, mux, want in (
				([{"webrtc": {"fingerprint": fp}, "srtp": {"suite":
				  "AES_CM_128_HMAC_SHA1_80"}}, plain], True,
				 "legs[0].webrtc: excludes srtp"),
				([{"webrtc": {}}, plain], False, "legs[0].webrtc: needs rtcp_mux true"),
				([{"webrtc": {"fingerprint": "md5 00:11"}}, plain], True,
				 "legs[0].webrtc.fingerprint: not a fingerprint"),
				([{"webrtc": {"fp": fp}}, plain], True,
				 "legs[0].webrtc.fp: unknown field")):
			st, b, _ = d.api("POST", "/v1/sessions", {"legs": legs, "rtcp_mux": mux})
			check(st == 400 and b.get("error", "").startswith(want),
			      f"POST {legs}: {st} {b}, want 400 {want!r}")
		s = d.ok("POST", "/v1/sessions", {"legs": [{"webrtc": {"fingerprint": fp}}, plain]},
			 want=201)
		sid, w = s["id"], s["legs"][0]["webrtc"]
		check(w.get("ice_ufrag") and w.get("ice_pwd") and w.get("fingerprint", "")
		      .startswith("sha-256 ") and w.get("dtls") == "handshake",
		      f"the creation answer's legs[0].webrtc: {w}")
		relay0 = h.parse_ep(s["legs"][0]["local"])
		relay1 = h.parse_ep(s["legs"][1]["local"])
		for body, want in (({"legs": [{"remote": f"{h.NS_V4[1]}:{pc}"}, {}]},
				    "legs[0].remote: a WebRTC leg's remote is the one ICE chose"),
				   ({"legs": [{"srtp": None}, {}]},
				    "legs[0].srtp: a WebRTC leg's keys come from DTLS"),
				   ({"legs": [{}, {"webrtc": {"fingerprint": fp}}]},
				    "legs[1].webrtc: the leg is not WebRTC"),
				   ({"legs": [{"webrtc": {}}, {}]},
				    "legs[0].webrtc.fingerprint: missing")):
			st, b, _ = d.api("PATCH", f"/v1/sessions/{sid}", body)
			check(st == 400 and b.get("error", "").startswith(want),
			      f"PATCH {body}: {st} {b}, want 400 {want!r}")
		# Before ICE and DTLS the plain side's RTP goes nowhere (no remote, no keys).
		for i in range(5):
			ls.sendto(h.rtp(i, 0xB0B, pt=wc.PT, payload=b"early"), relay1)
		check(not tr.recv_rtp(cs, 5, timeout=0.3), "RTP reached the WebRTC side before DTLS")
		c = wc.Client(d.api_port, "-", "py", cs)
		c.connect(relay0, w["ice_ufrag"], w["ice_pwd"], w["fingerprint"].split(" ", 1)[1])

		def leg0():
			return d.ok("GET", f"/v1/sessions/{sid}")["legs"][0]
		v = h.wait_for(lambda: (lambda x: x if x["srtp"] is not None and
					x["webrtc"]["dtls"] == "connected" else None)(leg0()), 5,
			       what="the leg's DTLS connected and keyed")
		check("ice_pwd" not in v["webrtc"], f"GET shows the ICE password: {v['webrtc']}")
		eq(v["remote"], f"{h.NS_V4[1]}:{pc}", "leg 0's remote: ICE's")
		_srtp_both_ways(c, ls, cs, relay1, 0xB0B, "leg 1's remote",
				lambda: d.ok("GET", f"/v1/sessions/{sid}"))
		st = d.stats()["webrtc"]
		check(st["session_legs"] == 1 and st["dtls_handshakes"] == 1, f"/v1/stats {st}")
		d.ok("DELETE", f"/v1/sessions/{sid}", want=204)
	finally:
		stop_clean(d)


def test_webrtc_three_browsers(env):
	"""Three Chromiums join one after the other: mrelay renegotiates (its offers, the pages'
	answers) so that each decodes the audio and video of both others, every stream on an
	m-section of its own; one leaves: its sections go to port 0 in the others' sessions,
	which keep receiving each other."""
	_need_browser()
	d = webrtc_daemon(env)
	try:
		Forwarder(env.host.ns, d.api_port)
		room = create_room(d)
		names = ["alice", "bob", "carol"]
		browsers = {}
		for i, n in enumerate(names):
			(browsers[n],) = [start_browser(env.host.ns, n)]
			browsers[n].get(f"http://127.0.0.1:{d.api_port}/demo/?room={room}&join=1"
					f"&small=1&name={n}")
			# One after the other: the later ones come into a room with media.
			wait_dtls(d, room, i + 1, list(browsers.values()),
				  f"{n}'s DTLS handshake and streams",
				  lambda x: len(x["streams"]) == 2)
		parts = room_parts(d, room)
		a, b, c = (browsers[n] for n in names)
		pages = {}
		for x in names:
			others = [o for o in names if o != x]
			pages[x] = receives(browsers[x], others, parts)
		for x in names:
			others = [o for o in names if o != x]
			pages[x] = receives(browsers[x], others, parts, pages[x])
			# Four remote streams, each on a transceiver of its own: the page's two
			# sendrecv sections and two that mrelay added.
			live = [t for t in pages[x]["transceivers"] if t["dir"] not in (None, "stopped")]
			check(len(live) == 4, f"{x}: transceivers {pages[x]['transceivers']}")
		ws = d.stats().get("websocket") or {}
		check(ws.get("offers", 0) >= 3 and ws.get("answers", 0) >= 3,
		      f"/v1/stats websocket: {ws}")
		check(pages["alice"]["offers"] >= 2 and pages["carol"]["offers"] >= 1,
		      f"offers answered: alice {pages['alice']['offers']}, carol "
		      f"{pages['carol']['offers']}")
		# The copies went through mrelayd, re-encrypted for each subscriber.
		for x in names:
			p = part_view(d, room, parts[x]["id"])
			out = {st["kind"]: st["stats"]["packets_out"] for st in p["streams"]}
			check(out.get("audio", 0) > 0 and out.get("video", 0) > 0,
			      f"{x}: mrelayd forwarded {out}")

		# bob leaves: alice and carol get an offer without his streams (on carol's added
		# sections: port 0, stopped) and keep receiving each other.
		n0 = {x: pages[x]["offers"] for x in ("alice", "carol")}
		b.js("document.getElementById('leave').click();")
		h.wait_for(lambda: set(room_parts(d, room)) == {"alice", "carol"}, WAIT,
			   interval=0.25, what="bob gone from the room")
		for x in ("alice", "carol"):
			h.wait_for(lambda: (lambda s: s.get("offers", 0) > n0[x] and
					    s.get("answered", 0) >= s["offers"])(page_streams(browsers[x])),
				   WAIT, interval=0.25, what=f"{x}: the offer without bob, answered")
		# carol came last: alice's streams are on her own sections, bob's were on the two
		# mrelay added ("mr..."), now stopped (and gone from getTransceivers()).
		st = page_streams(c)
		live = [t for t in st["transceivers"] if t["dir"] not in (None, "stopped")]
		check(len(live) == 2 and not any((t["mid"] or "").startswith("mr") for t in live),
		      f"carol: bob's sections not stopped: {st['transceivers']}")
		b.quit()
		for x, other in (("alice", "carol"), ("carol", "alice")):
			pages[x] = receives(browsers[x], [other], parts, page_streams(browsers[x]))
		for x in (a, c):
			x.quit()
		stop_clean(d)
	finally:
		d.stop()


# ------------------------------------------------------------------------------------------
# Firefox beside Chromium

def ext_ids_renumbered(env, d, room, parts, src, dst):
	"""The copies of src's audio sent to dst carry dst's header extension ids only, its
	transport-cc among them where src numbers it otherwise (a capture on dst's endpoint)."""
	xs, xd = (part_view(d, room, parts[x]["id"])["ext_ids"] for x in (src, dst))
	check(xs and xd and xs["transport_cc"] and xd["transport_cc"] and
	      xs["transport_cc"] != xd["transport_cc"], f"ext_ids: {src} {xs}, {dst} {xd}")
	ssrc = next(st["ssrc"] for st in parts[src]["streams"] if st["kind"] == "audio")
	st, cap, _ = d.api("POST", "/v1/captures", {"room": room, "participant": parts[dst]["id"],
						     "packets": 300})
	eq(st, 201, f"POST /v1/captures: {cap}")
	tc._wait_end(d, cap["id"], "packets")
	path = tc._fetch(env, d, cap["id"], f"{src}-to-{dst}.pcapng")
	p = subprocess.run(["tshark", "-r", path, "-d", "udp.port==30000-30999,rtp", "-T",
			    "fields", "-e", "rtp.ext.rfc5285.id", "-Y",
			    f"frame.packet_flags_direction == 2 && rtp.ssrc == {ssrc}"],
			   capture_output=True, text=True, timeout=60)
	eq(p.returncode, 0, f"tshark -r {path}: {p.stderr[-500:]}")
	frames = [ln for ln in p.stdout.splitlines() if ln.strip()]
	seen = {int(i) for ln in frames for i in ln.split(",")}
	allowed = {v for v in xd.values() if v}
	check(frames and seen <= allowed and xd["transport_cc"] in seen,
	      f"{len(frames)} copies of {src}'s audio to {dst}: extension ids {sorted(seen)}, "
	      f"{dst} numbers {xd}, {src} {xs}")


def test_webrtc_firefox_and_chromium(env):
	"""Firefox (its own WebRTC stack: NSS DTLS, its ICE agent and SDP) and Chromium on the demo
	page in one room: DTLS-SRTP with each, through the relay's endpoint only; each decodes
	the other's audio and video, which mrelayd decrypted and encrypted again for it. Firefox
	is driven over WebDriver BiDi (tests/smoke/firefox.py). The two number their RTP header
	extensions differently (transport-cc: Firefox 7, Chromium 3): the copies of Firefox's
	audio that Chromium gets carry Chromium's ids (a capture on Chromium's endpoint; SRTP
	leaves the RTP header in the clear)."""
	_need_browser()
	tc._need_tshark()
	d = webrtc_daemon(env, capture=True)
	try:
		Forwarder(env.host.ns, d.api_port)
		room = create_room(d)
		base = f"http://127.0.0.1:{d.api_port}/demo/?room={room}&join=1&small=1"
		# Firefox gathers only the address of the default route when the page holds no
		# stored camera permission (fake devices never store one), and the hosts have no
		# default route: one, for this test, via an address nobody answers (no packet
		# leaves the segment; a UDP connect() is all Firefox does with it).
		env.host.run("ip", "route", "add", "default", "via", NOBODY4, "dev", "eth0")
		h.CLEANUP.add("default route", lambda: env.host.run(
			"ip", "route", "del", "default", check_rc=False))
		f = Firefox(env.host.ns, "dave")
		f.get(f"{base}&name=dave")
		wait_dtls(d, room, 1, (f,), "Firefox's DTLS handshake")
		(c,) = join_browsers(env, d, room, ["erin"])
		parts = wait_dtls(d, room, 2, (f, c))
		for x in (f, c):
			check_connected(x, parts[x.name]["local"], parts[x.name])
		sf = media_flows(f, c)
		sc = media_flows(c, f)
		media_flows(f, c, sf)
		media_flows(c, f, sc)
		parts = room_parts(d, room)
		ext_ids_renumbered(env, d, room, parts, "dave", "erin")
		for x in ("dave", "erin"):
			p = parts[x]
			cnt = p["srtp"]["counters"]
			check(cnt["decrypted"] > 0 and cnt["encrypted"] > 0,
			      f"{x}: mrelayd's SRTP counters {cnt}")
			out = {st["kind"]: st["stats"]["packets_out"] for st in p["streams"]}
			check(out.get("audio", 0) > 0 and out.get("video", 0) > 0,
			      f"{x}: mrelayd forwarded {out}")
		for x in (f, c):
			x.quit()
		stop_clean(d)
	finally:
		env.host.run("ip", "route", "del", "default", check_rc=False)
		d.stop()


# ------------------------------------------------------------------------------------------
# GStreamer's webrtcbin beside a browser

def _need_gst_webrtc():
	if websockets is None:
		raise h.Skip("python3-websockets not installed")
	p = subprocess.run(["/usr/bin/python3", "-c", "import gi; gi.require_version('Gst', '1.0'); "
			    "gi.require_version('GstWebRTC', '1.0'); from gi.repository import Gst; "
			    "Gst.init(None); import sys; sys.exit(0 if all(Gst.ElementFactory.find(e) "
			    "for e in ('webrtcbin', 'nicesrc', 'opusenc', 'level')) else 1)"],
			   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
	if p.returncode != 0:
		raise h.Skip("GStreamer webrtcbin not usable (gstreamer1.0-plugins-bad, "
			     "gstreamer1.0-nice, python3-gst-1.0, gir1.2-gst-plugins-bad-1.0)")


class WsPeer:
	"""A WebSocket signaling connection (root namespace, straight to the API) in a thread of
	its own: joins with `join`, then pings every 5 s until closed. The first answer (joined or
	error) lands in self.reply; mrelay's offers in self.offers, the answers to them in
	self.answered; send() queues a message."""

	def __init__(self, url, join):
		self.q = queue.Queue()
		self.offers = queue.Queue()
		self.answered = queue.Queue()
		self.outq = queue.Queue()
		self.done = threading.Event()
		self.t = threading.Thread(target=lambda: asyncio.run(self._run(url, join)),
					  daemon=True)
		self.t.start()
		h.CLEANUP.add("signaling connection", self.close)

	async def _run(self, url, join):
		try:
			async with websockets.connect(url, max_size=1 << 20) as ws:
				await ws.send(json.dumps(join))
				while True:
					m = json.loads(await asyncio.wait_for(ws.recv(), 10))
					if m.get("type") in ("joined", "error"):
						self.q.put(m)
						break
				last = time.monotonic()
				while not self.done.is_set():
					if time.monotonic() - last > 5:
						await ws.send(json.dumps({"type": "ping"}))
						last = time.monotonic()
					while not self.outq.empty():
						await ws.send(json.dumps(self.outq.get()))
					with contextlib.suppress(asyncio.TimeoutError):
						m = json.loads(await asyncio.wait_for(ws.recv(), 0.2))
						if m.get("type") == "offer":
							self.offers.put(m)
						elif m.get("type") in ("answered", "error"):
							self.answered.put(m)
		except Exception as e:	# noqa: BLE001 - reported to the test
			self.q.put({"type": "exception", "error": f"{type(e).__name__}: {e}"})

	def reply(self, timeout=15):
		try:
			return self.q.get(timeout=timeout)
		except queue.Empty:
			raise h.SmokeError("no answer to the signaling join") from None

	def send(self, o):
		self.outq.put(o)

	def close(self):
		self.done.set()
		self.t.join(timeout=5)


class GstPeer:
	"""tests/smoke/webrtc_gst_peer.py in the namespace: an Opus tone out, Opus decoded in."""

	def __init__(self, ns, pt=111):
		self.p = subprocess.Popen(["ip", "netns", "exec", ns, "/usr/bin/python3",
					   os.path.join(HERE, "webrtc_gst_peer.py"), "--seconds", "85",
					   "--pt", str(pt)],
					  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
					  stderr=subprocess.DEVNULL, text=True, start_new_session=True)
		h.CLEANUP.add("webrtcbin peer", self.close)
		self.q = queue.Queue()
		self.last = {}
		threading.Thread(target=self._read, daemon=True).start()

	def _read(self):
		for line in self.p.stdout:
			with contextlib.suppress(ValueError):
				self.q.put(json.loads(line))
		self.q.put({"error": f"webrtcbin peer exited ({self.p.wait()})"})

	def next(self, key, timeout=20):
		deadline = time.monotonic() + timeout
		while True:
			try:
				o = self.q.get(timeout=max(0.01, deadline - time.monotonic()))
			except queue.Empty:
				raise h.SmokeError(f"webrtcbin peer: no '{key}' within {timeout}s "
						   f"(last {self.last})") from None
			if "error" in o:
				raise h.SmokeError(f"webrtcbin peer: {o['error']}")
			if "rx_buffers" in o:
				self.last = o
			if key in o:
				return o

	def wait(self, pred, what, timeout=WAIT):
		deadline = time.monotonic() + timeout
		while not pred(self.last):
			self.next("rx_buffers", timeout=max(1, deadline - time.monotonic()))
			if time.monotonic() > deadline:
				raise h.SmokeError(f"webrtcbin peer: timed out after {timeout}s waiting "
						   f"for {what} (last {self.last})")
		return self.last

	def answer(self, sdp):
		self.p.stdin.write(json.dumps({"answer": sdp}) + "\n")
		self.p.stdin.flush()

	def offer(self, sdp):
		self.p.stdin.write(json.dumps({"offer": sdp}) + "\n")
		self.p.stdin.flush()

	def close(self):
		if self.p.poll() is None:
			with contextlib.suppress(OSError):
				self.p.stdin.close()
			try:
				self.p.wait(timeout=5)
			except subprocess.TimeoutExpired:
				self.p.kill()
				self.p.wait(timeout=5)


GST_OPUS_PT = 109		# webrtcbin's Opus payload type, not Chromium's
GST_CONSENT = 8			# rooms.consent_timeout of the webrtcbin test's daemon
CHROMIUM_OPUS_PT = 111


def test_webrtc_gstreamer_browser(env):
	"""GStreamer's webrtcbin (libnice, OpenSSL DTLS, libsrtp) and Chromium in one room:
	Opus both ways through mrelayd. webrtcbin numbers Opus 109, Chromium 111: mrelayd
	rewrites the payload type of each copy to the subscriber's. webrtcbin joins first and
	answers mrelay's renegotiation offer that declares Chromium's audio. Consent freshness
	(rooms.consent_timeout, 8 s here): libnice keeps its pair alive with Binding indications,
	not requests, and webrtcbin stays on its authenticated SRTP; stopped (SIGSTOP: no media,
	no STUN, its WebSocket still open), it is removed as timed out, and Chromium stays."""
	_need_browser()
	_need_gst_webrtc()
	d = webrtc_daemon(env, consent=GST_CONSENT)
	try:
		Forwarder(env.host.ns, d.api_port)
		room = create_room(d)
		# The browser starts first (seconds on a busy machine) and joins after webrtcbin.
		b = start_browser(env.host.ns, "carol")
		b.get(f"http://127.0.0.1:{d.api_port}/demo/?room={room}&name=carol")
		g = GstPeer(env.host.ns, pt=GST_OPUS_PT)
		offer = g.next("offer")["offer"]
		ws = WsPeer(f"ws://127.0.0.1:{d.api_port}/v1/ws",
			    {"type": "join", "room": room, "name": "gst", "sdp": offer})
		r = ws.reply()
		eq(r.get("type"), "joined", f"webrtcbin's join ({r})")
		check(len(r.get("published") or []) == 1, f"webrtcbin's published streams: {r}")
		g.answer(r["sdp"])
		b.js("document.getElementById('join').click();")
		parts = wait_dtls(d, room, 2, (b, g))
		t_dtls = time.monotonic()
		check_connected(b, parts["carol"]["local"], parts["carol"])
		# mrelay's offer to webrtcbin: Chromium's audio on webrtcbin's audio section (in
		# webrtcbin's numbering), and not Chromium's video (webrtcbin offered no video).
		try:
			o = ws.offers.get(timeout=WAIT)
		except queue.Empty:
			raise h.SmokeError("no renegotiation offer to webrtcbin") from None
		ca = next(st for st in parts["carol"]["streams"] if st["kind"] == "audio")
		check(f"a=ssrc:{ca['ssrc']} " in o["sdp"] and "m=video" not in o["sdp"] and
		      f"m=audio 9 UDP/TLS/RTP/SAVPF {GST_OPUS_PT}\r\n" in o["sdp"],
		      f"mrelay's offer to webrtcbin:\n{o['sdp']}")
		g.offer(o["sdp"])
		ws.send({"type": "answer", "sdp": g.next("answer")["answer"]})
		try:
			r = ws.answered.get(timeout=WAIT)
		except queue.Empty:
			raise h.SmokeError("no reply to webrtcbin's answer") from None
		eq(r.get("type"), "answered", f"webrtcbin's answer ({r})")
		# Each side's payload type, and what the copies to each are rewritten to.
		pts = {x: {st["kind"]: st["pt"] for st in p["streams"]} for x, p in parts.items()}
		eq(pts["gst"].get("audio"), GST_OPUS_PT, "webrtcbin's published Opus payload type")
		eq(pts["carol"].get("audio"), CHROMIUM_OPUS_PT, "Chromium's published Opus payload type")
		for x, want in (("gst", GST_OPUS_PT), ("carol", CHROMIUM_OPUS_PT)):
			eq(part_view(d, room, parts[x]["id"])["rx_pt"]["audio"], want,
			   f"{x}: payload type of the audio copies it gets")
		# Chromium hears webrtcbin's tone...
		try:
			s0 = wait_stats(b, lambda s: audio_packets(s) > 0 and
					(s.get("audio") or {}).get("energy", 0) > 0,
					"webrtcbin's Opus tone")
		except h.SmokeError as e:
			raise h.SmokeError(f"{e}\nmrelayd: {d.stats().get('webrtc')}, room "
					   f"{d.ok('GET', f'/v1/rooms/{room}', want=200)}, webrtcbin "
					   f"{g.last}") from None
		wait_stats(b, lambda s: audio_packets(s) > audio_packets(s0) and
			   s["audio"]["energy"] > s0["audio"]["energy"], "more of webrtcbin's tone")
		# ... and webrtcbin decodes Chromium's beeps.
		g0 = g.wait(lambda s: s.get("rx_buffers", 0) > 0 and s.get("peak_db", -200) > -60,
			    "Opus from Chromium, decoded, louder than -60 dB")
		g.wait(lambda s: s["rx_buffers"] > g0["rx_buffers"], "more Opus from Chromium")
		gp = parts["gst"]
		eq(gp["webrtc"]["dtls_version"], "DTLSv1.2", "webrtcbin's DTLS version")
		v = part_view(d, room, gp["id"])
		c = v["srtp"]["counters"]
		check(c["decrypted"] > 0 and c["encrypted"] > 0, f"webrtcbin: mrelayd's SRTP {c}")

		# Consent: past rooms.consent_timeout since its DTLS, webrtcbin is still in the room
		# (its checks stopped at the nomination; its SRTP goes on), with no consent timeout.
		time.sleep(max(0.0, t_dtls + GST_CONSENT + 2 - time.monotonic()))
		now = room_parts(d, room)
		w = d.stats().get("webrtc") or {}
		check("gst" in now and w.get("consent_timeouts") == 0,
		      f"webrtcbin {GST_CONSENT + 2} s after its DTLS: participants {sorted(now)}, "
		      f"/v1/stats webrtc {w}")
		h.log(f"webrtcbin's ICE checks: {now['gst']['webrtc']['ice']['requests']} "
		      f"requests, kept by its SRTP past {GST_CONSENT} s")
		# Stopped, it sends nothing (its WebSocket, in this process, stays open): removed
		# as timed out after rooms.consent_timeout; Chromium stays.
		os.kill(g.p.pid, signal.SIGSTOP)
		try:
			h.wait_for(lambda: "gst" not in room_parts(d, room), GST_CONSENT + 5,
				   interval=0.25, what="webrtcbin removed without consent")
		finally:
			os.kill(g.p.pid, signal.SIGCONT)
		w = d.stats().get("webrtc") or {}
		eq(w.get("consent_timeouts"), 1, "/v1/stats webrtc consent_timeouts")
		check("carol" in room_parts(d, room), "Chromium removed with webrtcbin")
		b.quit()
		ws.close()
		g.close()
		stop_clean(d)
	finally:
		d.stop()


# ------------------------------------------------------------------------------------------
# WebRTC to SIP through ng (docs/NG.md "WebRTC"): a browser on one side of an ng call, plain RTP
# on the other

NG_PC_JS = """
const ctx = new AudioContext();
await ctx.resume();
const osc = ctx.createOscillator();
osc.frequency.value = arguments[0];
const dst = ctx.createMediaStreamDestination();
osc.connect(dst);
osc.start();
window.pc = new RTCPeerConnection({bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require'});
pc.addTrack(dst.stream.getAudioTracks()[0], dst.stream);
pc.ontrack = (e) => {
	const a = new Audio();
	a.srcObject = new MediaStream([e.track]);
	a.play().catch(() => {});
	window.rxAudio = a;
};
await pc.setLocalDescription(await pc.createOffer());
await new Promise((done) => {
	if (pc.iceGatheringState === 'complete') done();
	pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && done();
	setTimeout(done, 5000);
});
return pc.localDescription.sdp;
"""

NG_PC_ANSWER_JS = """
const ctx = new AudioContext();
await ctx.resume();
const osc = ctx.createOscillator();
osc.frequency.value = arguments[1];
const dst = ctx.createMediaStreamDestination();
osc.connect(dst);
osc.start();
window.pc = new RTCPeerConnection({bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require'});
pc.ontrack = (e) => {
	const a = new Audio();
	a.srcObject = new MediaStream([e.track]);
	a.play().catch(() => {});
	window.rxAudio = a;
};
try {
	await pc.setRemoteDescription({type: 'offer', sdp: arguments[0]});
} catch (e) {
	return 'ERROR ' + String(e);
}
const t = pc.getTransceivers()[0];
await t.sender.replaceTrack(dst.stream.getAudioTracks()[0]);
t.direction = 'sendrecv';
await pc.setLocalDescription(await pc.createAnswer());
return pc.localDescription.sdp;
"""

NG_PC_STATS_JS = """
const r = {state: pc.connectionState, ice: pc.iceConnectionState};
(await pc.getStats()).forEach((s) => {
	if (s.type === 'inbound-rtp' && s.kind === 'audio') {
		r.packets = s.packetsReceived;
		r.energy = s.totalAudioEnergy || 0;
	}
	if (s.type === 'outbound-rtp' && s.kind === 'audio')
		r.sent = s.packetsSent;
	if (s.type === 'transport') {
		r.dtls = s.dtlsState;
		r.cipher = s.srtpCipher;
	}
});
return r;
"""


def _ng_session(d, cid):
	sess = h.wait_for(lambda: [x for x in d.ok("GET", "/v1/sessions")["sessions"]
				   if x.get("label") == cid], 10, what="the call's session")
	return sess[0]["id"]


def _ng_connected(d, b, sid, wl):
	"""Wait for the page and mrelayd's leg wl to be connected (ICE, DTLS); check the leg."""
	last = {}

	def leg():
		return d.ok("GET", f"/v1/sessions/{sid}")["legs"][wl]

	def connected():
		nonlocal last
		last = b.js(NG_PC_STATS_JS) or {}
		return last.get("state") == "connected" and \
			(leg().get("webrtc") or {}).get("dtls") == "connected"
	try:
		h.wait_for(connected, WAIT, interval=0.25, what="the browser connected")
	except h.SmokeError:
		raise h.SmokeError(f"not connected: page {last}, leg {leg()}, mrelayd "
				   f"{d.stats().get('webrtc')}") from None
	check(last.get("cipher") in SRTP_CIPHERS, f"page's SRTP cipher: {last}")
	w = leg()["webrtc"]
	eq(w["dtls_version"], "DTLSv1.2", "mrelayd's DTLS version")
	check(w["ice"]["requests"] > 0 and w["ice"]["latches"] >= 1, f"ICE counters {w}")
	check(leg()["remote"].rsplit(":", 1)[0] in h.NS_V4,
	      f"leg {wl}'s remote (the ICE pair): {leg()['remote']}")
	check("ice_pwd" not in w, f"GET shows the ICE password: {w}")


def _ng_tones(env, d, b, sid, wl, callee, relay_ep, freq, pcma=False):
	"""The browser's tone (freq), decrypted by mrelayd, decoded by GStreamer at callee; then
	GStreamer's Opus (PCMA with pcma) from callee to relay_ep, encrypted under the DTLS keys,
	heard by the browser. Returns (the browser's packets, the frequency decoded at the
	callee)."""
	import test_ng as ng
	import test_srtp as srtp
	pl = wl ^ 1
	wav = os.path.join(env.workdir, f"ng-webrtc-{sid}.wav")

	def out(leg):
		return d.ok("GET", f"/v1/sessions/{sid}")["legs"][leg]["counters"]["packets_out"]
	rx = srtp.gst(env.host.ns, ng._pcma_rx(callee, wav, 0), eos_on_int=True) if pcma else \
		srtp.receive(env, callee, wav)
	h.wait_for(lambda: f":{callee[1]} " in env.host.run("ss", "-Hunl").stdout, 10,
		   what="the callee's receiver socket")
	base = out(pl)
	h.wait_for(lambda: out(pl) >= base + 100, 15, what="2 s of the browser's audio relayed")
	srtp.stop_rx(rx)
	rx.stdout.close()
	f, peak, secs = srtp.tone_of(wav)
	check(abs(f - freq) < 30 and peak > 1000 and secs > 1,
	      f"the browser's tone at the callee: {f:.0f} Hz, peak {peak}, {secs:.1f} s")
	p0 = b.js(NG_PC_STATS_JS)
	tx = srtp.gst(env.host.ns, ng._pcma_tx(callee, relay_ep, 0x5A1E0002)) if pcma else \
		srtp.send(env, callee, relay_ep)
	try:
		tx.communicate(timeout=30)
	except subprocess.TimeoutExpired:
		tx.kill()
		tx.communicate()
	want = srtp.BUFFERS * 9 // 10		# 100 packets sent either way

	def heard():
		s = b.js(NG_PC_STATS_JS)
		return s if s.get("packets", 0) >= p0.get("packets", 0) + want and \
			s.get("energy", 0) > p0.get("energy", 0) else None
	p1 = h.wait_for(heard, 10, what="the callee's audio in the browser")
	sc = d.ok("GET", f"/v1/sessions/{sid}")["legs"][wl]["srtp"]["counters"]
	check(sc["decrypted"] >= 100 and sc["encrypted"] >= want, f"leg {wl} SRTP counters {sc}")
	return p1["packets"] - p0.get("packets", 0), f


def _ng_callee_sdp(callee, mux=True):
	return (f"v=0\r\no=- 1 1 IN IP4 {callee[0]}\r\ns=callee\r\nc=IN IP4 {callee[0]}\r\n"
		f"t=0 0\r\nm=audio {callee[1]} RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n"
		+ ("a=rtcp-mux\r\n" if mux else "") + "a=sendrecv\r\n")


def test_ng_webrtc_browser_answers(env):
	"""The other direction: a SIP caller (GStreamer, plain RTP/AVP without rtcp-mux) calls a
	browser; the offer asks for UDP/TLS/RTP/SAVPF with ICE=force. Chromium takes mrelay's
	offer (a=setup:actpass, a mid mrelay made) and answers a=setup:active; its fingerprint
	reaches the leg with the ng answer (a PATCH of the leg), the handshake follows, tones both
	ways."""
	_need_browser()
	import test_ng as ng
	import test_srtp as srtp
	srtp._need_gst()
	d = ng.ng_daemon(env)
	c = ng.Ng(d.ng_port)
	b = None
	cid = f"webrtc-in-{h.PID}"
	caller = (h.NS_V4[1], env.ports(1))
	try:
		b = start_browser(env.host.ns, "callee")
		o = c.request({"command": "offer", "call-id": cid, "from-tag": "sip",
			       "sdp": _ng_callee_sdp(caller, mux=False), "ICE": "force",
			       "transport-protocol": "UDP/TLS/RTP/SAVPF"})
		eq(o.get("result"), "ok", f"offer {o}")
		to_browser = o["sdp"]
		for want in ("UDP/TLS/RTP/SAVPF", "a=ice-lite", "a=setup:actpass", "a=rtcp-mux",
			     "a=mid:"):
			check(want in to_browser, f"{want} not in the browser's offer:\n{to_browser}")
		answer = b.js(NG_PC_ANSWER_JS, to_browser, 770)
		check(not answer.startswith("ERROR"), f"Chromium and mrelay's offer: {answer}\n"
		      f"{to_browser}")
		check("a=setup:active" in answer, f"Chromium's answer:\n{answer}")
		a = c.request({"command": "answer", "call-id": cid, "from-tag": "sip",
			       "to-tag": "browser", "sdp": answer})
		eq(a.get("result"), "ok", f"answer {a}")
		to_sip = a["sdp"]
		for bad in ("a=fingerprint", "a=setup", "a=ice-", "a=candidate", "UDP/TLS"):
			check(bad not in to_sip, f"{bad} in the SIP side's answer:\n{to_sip}")
		relay_a = ng.media_of(to_sip)
		sid = _ng_session(d, cid)
		_ng_connected(d, b, sid, 1)
		n, f = _ng_tones(env, d, b, sid, 1, caller, relay_a, 770)
		h.log(f"ng WebRTC (browser answers): browser got {n} packets of the caller's tone; "
		      f"the caller decoded {f:.0f} Hz")
		r = c.request({"command": "delete", "call-id": cid, "from-tag": "sip"})
		eq(r.get("result"), "ok", "delete")
	finally:
		quit_all(b)
		c.close()


class SipUac:
	"""The SIP side of a browser for a proxy (what SIP over WebSocket in the page would do,
	over UDP): INVITE with the browser's offer, the 200 OK's SDP, ACK, BYE. One dialog."""

	def __init__(self, env, addr, port, proxy, user):
		self.s = env.host.udp(addr, port)
		self.s.settimeout(0.5)
		self.addr, self.port, self.proxy, self.user = addr, port, proxy, user
		self.cid = f"webrtc-kam-{h.PID}-{port}@{addr}"
		self.ftag = f"ft{os.getpid()}{port}"
		self.ttag = None
		self.contact = None
		self.cseq = 1

	def _req(self, method, body="", cseq=None):
		ruri = self.contact or f"sip:{self.user}@{self.proxy[0]}:{self.proxy[1]}"
		to = f"<sip:{self.user}@{self.proxy[0]}>" + (f";tag={self.ttag}" if self.ttag else "")
		hdr = (f"{method} {ruri} SIP/2.0\r\n"
		       f"Via: SIP/2.0/UDP {self.addr}:{self.port};branch=z9hG4bK{os.urandom(6).hex()}"
		       f";rport\r\nMax-Forwards: 70\r\nFrom: <sip:browser@{self.addr}>;tag={self.ftag}\r\n"
		       f"To: {to}\r\nCall-ID: {self.cid}\r\nCSeq: {cseq or self.cseq} {method}\r\n"
		       f"Contact: <sip:browser@{self.addr}:{self.port}>\r\n")
		if body:
			hdr += "Content-Type: application/sdp\r\n"
		msg = f"{hdr}Content-Length: {len(body.encode())}\r\n\r\n{body}"
		self.s.sendto(msg.encode(), self.proxy)

	def _final(self, method, timeout):
		"""The final response to method (provisional ones skipped): (status, headers text,
		body)."""
		deadline = time.monotonic() + timeout
		while time.monotonic() < deadline:
			try:
				d = self.s.recv(65536).decode(errors="replace")
			except OSError:
				continue
			head, _, body = d.partition("\r\n\r\n")
			first = head.split("\r\n", 1)[0].split(" ")
			if len(first) < 2 or first[0] != "SIP/2.0" or f" {method}\r\n" not in head + "\r\n":
				continue
			if int(first[1]) >= 200:
				return int(first[1]), head, body
		raise h.SmokeError(f"SIP: no final response to {method} in {timeout} s")

	def invite(self, sdp, timeout=20):
		self._req("INVITE", sdp)
		st, head, body = self._final("INVITE", timeout)
		check(st == 200, f"SIP: INVITE answered {st}:\n{head}")
		self.ttag = re.search(r"^To:.*;tag=([^;\s]+)", head, re.M | re.I).group(1)
		c = re.search(r"^Contact:.*<([^>]+)>", head, re.M | re.I)
		self.contact = c.group(1) if c else None
		self._req("ACK", cseq=1)
		return body

	def bye(self, timeout=10):
		self.cseq += 1
		self._req("BYE")
		st, head, _ = self._final("BYE", timeout)
		check(st == 200, f"SIP: BYE answered {st}:\n{head}")

	def close(self):
		self.s.close()


def test_ng_kamailio_webrtc_browser(env):
	"""A WebRTC gateway: Kamailio 5.6 (its rtpengine module, unchanged) between a browser's
	call and a SIP phone, mrelay as its rtpengine. Headless Chromium's offer goes in an INVITE
	to Kamailio (over UDP from the test, as SIP over WebSocket in the page would carry it);
	Kamailio's rtpengine_offer("... ICE=remove RTP/AVP") makes the phone's INVITE plain, sipp's
	callee answers PCMA on a port the test gives, Kamailio's rtpengine_answer("... ICE=force
	UDP/TLS/RTP/SAVPF") gives the browser mrelay's ICE-lite and DTLS. Chromium connects; its
	660 Hz oscillator reaches the callee's port as PCMA (GStreamer decodes 660 Hz), the
	callee's 440 Hz PCMA reaches Chromium (inbound audio with energy); no ng error or unknown
	flag; the BYE ends the session."""
	_need_browser()
	import test_ng as ng
	import test_srtp as srtp
	ng._need_carrier()
	srtp._need_gst()
	d = ng.ng_daemon(env)
	ng.kamailio(env, d)
	b = uac = None
	pb = env.ports(1)
	here = os.path.join(HERE, "sipp")
	ng0 = d.stats()["ng"]
	uas = ng.sipp(env, "-sf", os.path.join(here, "uas_plain.xml"), "-i", ng.UAS, "-p",
		      str(ng.UAS_PORT), "-key", "rtp_port", str(pb), "-m", "1")
	h.CLEANUP.add("sipp uas", lambda: ng._stop(uas))
	try:
		b = start_browser(env.host.ns, "webrtc-caller")
		offer = b.js(NG_PC_JS, 660)
		uac = SipUac(env, ng.UAC, env.ports(1), (ng.KAM, 5060), "webrtc")
		answer = uac.invite(offer)
		for want in ("UDP/TLS/RTP/SAVPF", "a=ice-lite", "a=setup:passive",
			     "a=fingerprint:sha-256 ", "typ host", "a=mid:0", "a=group:BUNDLE 0"):
			check(want in answer, f"{want} not in the browser's 200 OK SDP:\n{answer}")
		err = b.js("return pc.setRemoteDescription({type: 'answer', sdp: arguments[0]})"
			   ".then(() => '', (e) => String(e));", answer)
		eq(err, "", f"Chromium took the 200 OK's SDP:\n{answer}")
		sid = _ng_session(d, uac.cid)
		_ng_connected(d, b, sid, 0)
		relay_b = h.parse_ep(d.ok("GET", f"/v1/sessions/{sid}")["legs"][1]["local"])
		n, f = _ng_tones(env, d, b, sid, 0, (ng.UAS, pb), relay_b, 660, pcma=True)
		st = d.stats()["webrtc"]
		check(st["session_legs"] >= 1 and st["dtls_handshakes"] >= 1, f"/v1/stats {st}")
		uac.bye()
		eq(d.ok("GET", f"/v1/sessions/{sid}")["state"], "ended", "the session after the BYE")
		uas.wait(timeout=10)
		# The callee was offered plain RTP: no ICE, DTLS or SDES line in its INVITE.
		msgs = open(uas.files + ".msg", errors="replace").read()
		inv = msgs[msgs.find("INVITE sip:"):]
		inv = inv.split("\n-----", 1)[0]	# sipp's log: a dashed line after each message
		check(re.search(r"^m=audio \d+ RTP/AVP ", inv, re.M) and f"c=IN IP4 {h.RELAY4_B}" in inv,
		      f"the callee's INVITE: {inv[:3000]}")
		for bad in ("a=fingerprint", "a=setup", "a=ice-", "a=candidate", "a=crypto", "UDP/TLS"):
			check(bad not in inv, f"{bad} in the callee's INVITE:\n{inv[:3000]}")
		ng1 = d.stats()["ng"]
		eq(ng1["errors"] - ng0["errors"], 0, "ng errors")
		eq(ng1["unknown_flags"] - ng0["unknown_flags"], 0, "ng unknown flags")
		h.log(f"Kamailio WebRTC gateway: the callee decoded {f:.0f} Hz, the browser got {n} "
		      f"packets of the callee's PCMA")
	finally:
		quit_all(b)
		if uac is not None:
			uac.close()
