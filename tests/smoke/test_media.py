# SPDX-License-Identifier: BSD-3-Clause
"""A real media tool through the relay: GStreamer sends 2 s of PCMU (RFC 3551) RTP."""

import shutil
import subprocess
import time

import harness as h
from harness import NS_V4, RELAY4, check, eq, fmt_ep

BUFFERS = 100
SAMPLES = 160			# 20 ms at 8 kHz: one RTP packet of 160 payload bytes each


def _need_gst():
	if not shutil.which("gst-launch-1.0") or not shutil.which("gst-inspect-1.0"):
		raise h.Skip("gst-launch-1.0 not installed (scripts/setup installs it)")
	for el in ("audiotestsrc", "mulawenc", "rtppcmupay", "udpsink"):
		p = subprocess.run(["gst-inspect-1.0", el], stdout=subprocess.DEVNULL,
				   stderr=subprocess.DEVNULL, timeout=30)
		if p.returncode != 0:
			raise h.Skip(f"GStreamer element {el} missing (gstreamer1.0-plugins-good/-base)")


def test_gstreamer_pcmu(env):
	_need_gst()
	pa, pb = env.ports(2)
	a = env.host.udp(NS_V4[0], pa)
	b = env.host.udp(NS_V4[1], pb)
	s = env.main.create([{"remote": fmt_ep(NS_V4[0], pa)}, {"remote": fmt_ep(NS_V4[1], pb)}])
	# Resolve the path first with our own socket, then give its address to GStreamer.
	h.prime(a, s.local[0], b, 0x5EED0001, seq0=1)
	a.close()
	pipeline = (f"audiotestsrc num-buffers={BUFFERS} samplesperbuffer={SAMPLES} is-live=true "
		    f"! audio/x-raw,format=S16LE,rate=8000,channels=1 ! mulawenc ! rtppcmupay "
		    f"! udpsink host={RELAY4} port={s.local[0][1]} bind-address={NS_V4[0]} "
		    f"bind-port={pa} sync=true")
	proc = subprocess.Popen(["ip", "netns", "exec", env.host.ns, "gst-launch-1.0", "-q",
				 *pipeline.split()], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
				stdin=subprocess.DEVNULL, text=True)
	got = []
	out = ""
	try:
		# Collect while GStreamer plays (2 s of audio), then what is still in flight.
		deadline = time.monotonic() + 20
		while proc.poll() is None and time.monotonic() < deadline:
			got += h.recv_n(b, BUFFERS, timeout=0.2)
		if proc.poll() is None:
			raise h.SmokeError(f"gst-launch-1.0 still running after 20s ({len(got)} packets)")
		got += h.recv_n(b, BUFFERS * 2, timeout=0.5)
		out = proc.stdout.read()
	finally:
		if proc.poll() is None:
			proc.kill()
			proc.wait(timeout=5)
		proc.stdout.close()
	eq(proc.returncode, 0, f"gst-launch-1.0 exit status ({(out or '').strip()[-300:]})")
	check(got, "no RTP from GStreamer arrived through the relay")
	ssrcs = {h.rtp_ssrc(d) for d, _ in got}
	eq(len(ssrcs), 1, "SSRCs seen")
	pts = {d[1] & 0x7F for d, _ in got}
	eq(pts, {0}, "payload types (PCMU is 0)")
	eq({src for _, src in got}, {s.local[1]}, "sources")
	seqs = [h.rtp_seq(d) for d, _ in got]
	gaps = [(x, y) for x, y in zip(seqs, seqs[1:]) if (y - x) & 0xFFFF != 1]
	eq(gaps, [], "sequence gaps")
	eq(sum(len(d) - 12 for d, _ in got), BUFFERS * SAMPLES, "PCMU payload bytes relayed")
	g = s.get()
	eq(g["legs"][0].get("rtp", {}).get("lost"), 0, "legs[0].rtp.lost")
