#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""perf/webrtc_joins.py: WebRTC joins end to end (issue 10 §3), one after the other: a participant
joins a room over the WebSocket with an SDP offer, checks ICE, completes DTLS-SRTP, and sends
SRTP until its first packet comes out of mrelayd to a plain RTP participant of the room; then it
leaves (closes the WebSocket). The client is tests/smoke/webrtc_client.py (Python: STUN,
pyOpenSSL's DTLS, a Python SRTP), the topology and the daemon the smoke tests' (a TAP port, the
test hosts in a namespace). Prints p50/p99/max of each phase, from the join request:

  answer   the join's answer (the SDP) arrived
  ice      the STUN check was answered (the relay latched the client)
  dtls     the DTLS handshake completed (keys installed on the owner lcore)
  media    the client's first SRTP packet reached the plain participant, decrypted

and joins per second (N over the wall time of the N joins, leaving included). One client at a
time: the rate is bounded by the client's own round trips and Python's work, not a capacity of
mrelayd (docs/PERFORMANCE.md "WebRTC joins end to end").

	sudo /usr/bin/python3 perf/webrtc_joins.py [-n 200] [--build build] [--json out.json]
"""

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "smoke"))

import harness as h  # noqa: E402
import run  # noqa: E402
import test_rooms as tr  # noqa: E402
import test_webrtc as tw  # noqa: E402
import webrtc_client as wc  # noqa: E402

PHASES = ("answer", "ice", "dtls", "media")


def pct(xs, p):
	xs = sorted(xs)
	return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


async def joins(env, d, room, ls, n):
	out = []
	for i in range(n):
		c = wc.Client(d.api_port, room, f"j{i}", env.host.udp(h.NS_V4[1], env.ports(1)))
		try:
			await c.join()
			# A packet every 2 ms until one comes out: the first may find the keys not
			# installed on the owner yet (counted there as srtp_no_key).
			for _ in range(2000):
				c.send_rtp()
				if any(h.rtp_ssrc(x) == c.ssrc for x, _ in tr.recv_rtp(ls, 4, timeout=0.002)):
					c.ph.mark("media")
					break
			else:
				raise h.SmokeError(f"join {i}: no media through mrelayd")
		finally:
			await c.close()
			c.sock.close()
		out.append(c.ph.t)
	return out


def main():
	ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	ap.add_argument("-n", type=int, default=200, help="joins (default 200)")
	ap.add_argument("--build", default=os.environ.get("BUILD", "build"))
	ap.add_argument("--json", help="write the raw phase times here")
	args = ap.parse_args()
	if os.geteuid() != 0:
		sys.exit("webrtc_joins: run as root (namespaces, DPDK)")
	args.build = os.path.join(ROOT, args.build) if not os.path.isabs(args.build) else args.build
	args.require_all = False
	workdir = tempfile.mkdtemp(prefix=f"mrelay-smoke-{h.PID}-joins-")
	env = run.Env(args, workdir)
	try:
		env.topo.setup()
		d = tw.webrtc_daemon(env)
		room = tw.create_room(d)
		ls = env.host.udp(h.NS_V4[0], env.ports(1))
		wc.plain_listener(d, room, ls)
		t0 = time.monotonic()
		res = asyncio.run(joins(env, d, room, ls, args.n))
		wall = time.monotonic() - t0
		w = d.stats().get("webrtc", {})
		print(f"{args.n} joins one at a time in {wall:.2f} s: {args.n / wall:.1f} joins/s; "
		      f"mrelayd: {w.get('dtls_handshakes')} DTLS handshakes, "
		      f"{w.get('dtls_failed')} failed")
		print("| phase (ms from the join request) | p50 | p99 | max |")
		print("|---|---:|---:|---:|")
		for p in PHASES:
			xs = [r[p] * 1000 for r in res]
			print(f"| {p} | {statistics.median(xs):.1f} | {pct(xs, 99):.1f} | "
			      f"{max(xs):.1f} |")
		if args.json:
			with open(args.json, "w") as f:
				json.dump({"joins": args.n, "wall_s": wall, "phases": res}, f)
		d.stop()
	finally:
		env.topo.teardown()
		h.CLEANUP.run()
		shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
	main()
