# SPDX-License-Identifier: BSD-3-Clause
"""perf/rtpgen against a real mrelayd over net_memif (two DPDK processes, shared memory): a
short correctness run of the benchmark generator with exact counts. rtpgen creates the
sessions itself over REST (single POSTs and the batch form), sends a fixed number of packets
through them, checks every packet that comes back (addresses, RTP sequence, stamp, payload
pattern, IPv4/UDP checksums with DPDK's own code) and deletes the sessions. Nothing leaves
the machine: memif is a UNIX socket and shared memory."""

import json
import os
import subprocess

import harness as h
from harness import check, eq

DUT_MAC = "02:00:00:00:00:01"
GEN_MAC = "02:00:00:00:00:02"


def _config(d, sock):
	return f"""# written by tests/smoke/test_rtpgen.py
eal = [ "--no-huge", "-m", "512", "--no-pci", "--file-prefix", "{d.file_prefix}",
	"--no-shconf", "--no-telemetry" ];
lcores = {{ control = 0; workers = [ 1 ]; idle_sleep_us = 20; }};
ports = ( {{
	name = "perf0";
	device = "net_memif0,role=server,socket={sock},socket-abstract=no,mac={DUT_MAC}";
	address = "198.18.0.1/24";
	address_count = 2;
}} );
relay = {{ port_min = 20000; port_max = 20999; max_sessions = 400; idle_timeout = 600; }};
api = {{ listen = "127.0.0.1:{d.api_port}"; max_body = 262144; }};
log = {{ level = "warning"; }};
"""


def _rtpgen(env, sock, prefix, *args, timeout=90):
	binary = os.path.join(env.args.build, "perf", "rtpgen")
	if not os.path.exists(binary):
		raise h.SmokeError(f"{binary} not found: build first (ninja -C build perf/rtpgen)")
	h.CLEANUP.add(f"DPDK runtime dir of {prefix}",
		      lambda: __import__("shutil").rmtree(f"/var/run/dpdk/{prefix}",
							   ignore_errors=True))
	cmd = [binary, "-l", "0", "--no-huge", "-m", "256", "--no-shconf", "--no-telemetry",
	       "--no-pci", "--file-prefix", prefix, "--log-level=lib.eal:error",
	       f"--vdev=net_memif0,role=client,socket={sock},socket-abstract=no,mac={GEN_MAC},"
	       "zero-copy=no", "--", "-q", "1", *args]
	p = subprocess.run(cmd, capture_output=True, timeout=timeout, text=True)
	lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
	if p.returncode != 0 or not lines:
		raise h.SmokeError(f"rtpgen exited {p.returncode}:\n{p.stdout[-1500:]}\n"
				   f"{p.stderr[-1500:]}")
	return json.loads(lines[-1])


def _exact(out, n, what):
	eq(out["tx"], n, f"{what}: packets sent")
	eq(out["relayed"], n, f"{what}: packets relayed back")
	for k in ("lost", "reordered", "duplicates", "bad_stamp", "bad_addr", "bad_payload",
		  "rx_bad_cksum", "streams_with_loss"):
		eq(out[k], 0, f"{what}: {k}")
	check(out["payload_checked"], f"{what}: the payload pattern was not checked")


def test_rtpgen_exact_counts(env):
	d = h.Daemon(env.binary, env.workdir, "rtpgen")
	sock = os.path.join(env.workdir, "memif.sock")
	h.CLEANUP.add("memif socket", lambda: os.path.exists(sock) and os.unlink(sock))
	d.write_config(_config(d, sock))
	d.start()
	try:
		d.wait_health()
		# 100 sessions over pipelined single POSTs, then 400 in batches of 100: the
		# second run needs both media addresses (1000 ports / 4 per session = 250 each).
		out = _rtpgen(env, sock, f"mrt{h.PID}gen1", "--api", f"127.0.0.1:{d.api_port}",
			      "--sessions", "100", "--packets", "4000", "-r", "20000",
			      "--check-payload", "-V")
		_exact(out, 4000, "100 sessions")
		eq(out["api"]["sessions"], 100, "sessions created")
		eq(out["api"]["deleted"], 100, "sessions deleted")
		out = _rtpgen(env, sock, f"mrt{h.PID}gen2", "--api", f"127.0.0.1:{d.api_port}",
			      "--sessions", "400", "--batch", "100", "--packets", "8000",
			      "-r", "40000", "--check-payload", "-V")
		_exact(out, 8000, "400 sessions (batch)")
		eq(out["api"]["deleted"], 400, "sessions deleted")
		st, stats, _ = d.api("GET", "/v1/stats")
		eq(st, 200, "GET /v1/stats")
		eq(stats["sessions"]["active"], 0, "active sessions after rtpgen deleted them")
		# rtpgen's warm-up packets meet unresolved next hops (no_neighbor) while the
		# relay ARPs for the remotes. Those ARP requests leave through worker 0's TX
		# queue while rtpgen, busy creating sessions, gives the memif ring no buffers yet:
		# refused (tx_full), at most one per request. No relayed packet is among them
		# (the media counts above are exact); nothing else may be dropped.
		drops = {k: v for l in stats["lcores"] for k, v in (l.get("drops") or {}).items()
			 if v and k not in ("no_neighbor", "tx_full")}
		eq(drops, {}, "dataplane drops other than no_neighbor and tx_full")
		tx_full = sum((l.get("drops") or {}).get("tx_full", 0) for l in stats["lcores"])
		requests = stats["control"]["arp_requests_sent"] + stats["control"]["nd_solicits_sent"]
		check(tx_full <= requests, f"tx_full drops {tx_full}, more than the {requests} "
		      "ARP/ND requests the relay sent")
		# One more must be refused cleanly: the range is full with 500 sessions.
		st, body, _ = d.api("POST", "/v1/sessions/batch", {"sessions": [
			{"legs": [{"remote": "198.18.0.10:10000"}, {"remote": "198.18.0.11:10000"}]}
		] * 501})
		eq(st, 503, f"batch past max_sessions: {body}")
		eq(body.get("error"), "sessions: 501 asked, room for 400 (limit 400)",
		   "error of the refused batch")
		st, stats, _ = d.api("GET", "/v1/stats")
		eq(stats["sessions"]["active"], 0, "nothing created by the refused batch")
	finally:
		rc = d.stop()
		d.kill()
	eq(rc, 0, f"mrelayd exit status (log tail:\n{d.log_tail(10)})")


def test_rtpgen_srtp_exact_counts(env):
	"""rtpgen --srtp against mrelayd: SRTP (AEAD_AES_128_GCM) that rtpgen encrypts with its
	own key derivation, IV and AAD (RFC 3711, RFC 7714) over OpenSSL and IPsec-MB, none of
	mrelay's code. Leg A SRTP: what rtpgen encrypts into A comes out of B decrypted, its
	stamp and whole pattern intact; what it sends plain into B comes out of A encrypted under
	mrelay's key (counted by its RTP header). A second run on the same sessions goes on from
	the first run's sequence numbers (--srtp-state): restarted, every packet would be a
	replay. Then both legs SRTP, and the same two with AES_CM_128_HMAC_SHA1_80 (--srtp-suite
	cm80: AES-CTR and HMAC-SHA1 over the header, payload and ROC). Exact counts every time, no
	SRTP drop."""
	d = h.Daemon(env.binary, env.workdir, "rtpgensrtp")
	sock = os.path.join(env.workdir, "memif-srtp.sock")
	h.CLEANUP.add("memif socket", lambda: os.path.exists(sock) and os.unlink(sock))
	d.write_config(_config(d, sock))
	flows = os.path.join(env.workdir, "srtp-flows.json")
	state = os.path.join(env.workdir, "srtp-state")
	d.start()
	try:
		d.wait_health()
		api = ("--api", f"127.0.0.1:{d.api_port}")
		common = ("--srtp", "a", "--srtp-state", state, "-r", "20000", "--check-payload",
			  "-V")
		out = _rtpgen(env, sock, f"mrt{h.PID}srtp1", *api, "--sessions", "50", "--keep",
			      "--flows-out", flows, "--packets", "2000", *common)
		_exact(out, 2000, "leg A SRTP")
		# Half of them come back encrypted (B -> A).
		eq(out["srtp_returned"], 1000, "SRTP copies out of leg A")
		check(os.path.getsize(state) > 0, "the SRTP state file was written")
		out = _rtpgen(env, sock, f"mrt{h.PID}srtp2", "-f", flows, "-m", DUT_MAC,
			      "--packets", "3000", *common)
		_exact(out, 3000, "leg A SRTP, second run on the same sessions")
		out = _rtpgen(env, sock, f"mrt{h.PID}srtp3", *api, "--sessions", "50",
			      "--packets", "2000", "--srtp", "ab", "-r", "20000", "-V",
			      "--check-payload")
		_exact(out, 2000, "both legs SRTP")
		eq(out["srtp_returned"], 2000, "SRTP copies, both legs")
		# AES_CM_128_HMAC_SHA1_80: rtpgen's AES-CTR and HMAC-SHA1 jobs, leg A (its copies
		# out of B decrypted and checked in full), then both legs.
		for legs, back in (("a", 1000), ("ab", 2000)):
			out = _rtpgen(env, sock, f"mrt{h.PID}srtpcm{legs}", *api, "--sessions", "50",
				      "--packets", "2000", "--srtp", legs, "--srtp-suite", "cm80",
				      "-r", "20000", "-V", "--check-payload")
			_exact(out, 2000, f"AES-CM SRTP on leg(s) {legs}")
			eq(out["srtp_returned"], back, f"AES-CM SRTP copies, leg(s) {legs}")
			eq(out["srtp_job_errors"], 0, "rtpgen's IPsec-MB jobs")
		st, stats, _ = d.api("GET", "/v1/stats")
		eq(st, 200, "GET /v1/stats")
		drops = {k: v for l in stats["lcores"] for k, v in (l.get("drops") or {}).items()
			 if v and k.startswith("srtp")}
		eq(drops, {}, "SRTP drops (authentication, replay, malformed)")
	finally:
		rc = d.stop()
		d.kill()
	eq(rc, 0, f"mrelayd exit status (log tail:\n{d.log_tail(10)})")
