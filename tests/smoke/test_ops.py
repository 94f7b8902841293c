# SPDX-License-Identifier: BSD-3-Clause
"""The tools an operator points at a running mrelayd: mrelayctl (tools/mrelayctl) on the main
daemon; systemd's readiness protocol ($NOTIFY_SOCKET); DPDK telemetry (the /mrelay/ commands
over the telemetry socket, as dpdk-telemetry.py asks them); dpdk-dumpcap attached to a daemon
with shared runtime files and hugepages (reserved for the test with
packaging/mrelay-dpdk-setup and given back), the capture read with tshark."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import harness as h
from harness import NS_V4, RELAY4_B, RELAY6_B, check, eq

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CTL = os.path.join(ROOT, "tools", "mrelayctl")
SETUP = os.path.join(ROOT, "packaging", "mrelay-dpdk-setup")


def ctl(d, *args, conf=None, check_rc=None):
	argv = [sys.executable, CTL]
	argv += ["--config", conf] if conf else ["--url", f"127.0.0.1:{d.api_port}",
						  "--token", d.token]
	p = subprocess.run(argv + list(args), capture_output=True, text=True, timeout=60)
	if check_rc is not None:
		eq(p.returncode, check_rc, f"mrelayctl {' '.join(args)} exit status "
		   f"(stdout {p.stdout[-500:]!r}, stderr {p.stderr[-500:]!r})")
	return p


def test_mrelayctl(env):
	d = env.main
	# The token and address from the configuration file, as on an installed system.
	p = ctl(d, "status", conf=d.conf, check_rc=0)
	check("edge0" in p.stdout and "sessions:" in p.stdout, f"mrelayctl status: {p.stdout}")
	p = ctl(d, "--json", "status", check_rc=0)
	eq(json.loads(p.stdout)["health"]["status"], "ok", "status --json")
	s = d.create([{"remote": "198.18.0.10:5004"}, {}], label="ctl-test")
	p = ctl(d, "sessions", "list", "--all", check_rc=0)
	check(s.id in p.stdout and "ctl-test" in p.stdout, f"sessions list: {p.stdout}")
	p = ctl(d, "--json", "sessions", "list", "--all", check_rc=0)
	check(s.id in [x["id"] for x in json.loads(p.stdout)["sessions"]], "sessions list --json")
	p = ctl(d, "sessions", "show", s.id, check_rc=0)
	eq(json.loads(p.stdout)["label"], "ctl-test", "sessions show")
	p = ctl(d, "sessions", "delete", s.id, check_rc=0)
	eq(s.get()["state"], "ended", "state after mrelayctl sessions delete")
	# Script-friendly failures: 1 with the API's message, 3 when unreachable, 2 for usage.
	p = ctl(d, "sessions", "delete", s.id, check_rc=1)
	check("409" in p.stderr and "already ended" in p.stderr, f"delete twice: {p.stderr}")
	p = ctl(d, "sessions", "show", "no-such-id", check_rc=1)
	check("404" in p.stderr, f"show unknown: {p.stderr}")
	p = ctl(d, "--token", "wrong", "status", check_rc=1)
	check("401" in p.stderr, f"wrong token: {p.stderr}")
	p = subprocess.run([sys.executable, CTL, "--url", f"127.0.0.1:{h.free_tcp_port()}",
			    "status"], capture_output=True, text=True, timeout=30)
	eq(p.returncode, 3, f"unreachable API: {p.stderr}")
	ctl(d, "sessions", "list", "--limit", "0", check_rc=2)
	# Rooms.
	st, r, _ = d.api("POST", "/v1/rooms", {"name": "ctl-room"})
	eq(st, 201, f"POST /v1/rooms: {r}")
	try:
		p = ctl(d, "rooms", "list", check_rc=0)
		check("ctl-room" in p.stdout, f"rooms list: {p.stdout}")
		p = ctl(d, "rooms", "show", r["id"], check_rc=0)
		eq(json.loads(p.stdout)["name"], "ctl-room", "rooms show")
	finally:
		d.api("DELETE", f"/v1/rooms/{r['id']}")
	# stats: the live view, over traffic the test sends (pings answered by the worker).
	env.host.run("ping", "-c", "3", "-i", "0.2", "-W", "1", h.RELAY4, check_rc=False)
	p = ctl(d, "--json", "stats", "--interval", "0.2", "--count", "2", check_rc=0)
	views = [json.loads(ln) for ln in p.stdout.splitlines()]
	eq(len(views), 2, "stats --count 2 views")
	lc = {x["lcore"] for x in views[0]["lcores"]}
	eq(lc, {w["lcore"] for w in d.stats()["lcores"]}, "stats lcores")
	for key in ("pps", "cycles_per_packet", "busy_percent", "drops_per_s"):
		check(key in views[0]["lcores"][0], f"stats view lacks {key}: {views[0]}")
	p = ctl(d, "stats", "--interval", "0.2", "--count", "1", check_rc=0)
	check("cycles/pkt" in p.stdout and "drops/s" in p.stdout, f"stats: {p.stdout}")


def test_sd_notify(env):
	"""Type=notify: READY=1 once the API answers, STOPPING=1 on SIGTERM, exit 0."""
	d = env.new_daemon("notify", addr4=RELAY4_B, addr6=RELAY6_B)
	path = os.path.join(env.workdir, "notify.sock")
	ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
	ns.bind(path)
	ns.settimeout(40)
	old = os.environ.get("NOTIFY_SOCKET")
	os.environ["NOTIFY_SOCKET"] = path
	try:
		d.start()
	finally:
		if old is None:
			del os.environ["NOTIFY_SOCKET"]
		else:
			os.environ["NOTIFY_SOCKET"] = old
	try:
		msgs = []
		while not any("READY=1" in m for m in msgs):
			try:
				msgs.append(ns.recv(4096).decode())
			except socket.timeout:
				raise h.SmokeError(f"no READY=1 (got {msgs}):\n{d.log_tail()}") from None
		# Ready means ready: the API answers at once, the port is up.
		st, body, _ = d.api("GET", "/v1/health", timeout=5)
		eq(st, 200, f"GET /v1/health right after READY=1: {body}")
		eq(d.stop(), 0, "exit status after SIGTERM")
		while not any("STOPPING=1" in m for m in msgs):
			try:
				msgs.append(ns.recv(4096).decode())
			except socket.timeout:
				raise h.SmokeError(f"no STOPPING=1 after SIGTERM (got {msgs})") from None
	finally:
		d.kill()
		ns.close()


def _telemetry(prefix, cmds):
	"""Ask the telemetry socket of a DPDK process, as dpdk-telemetry.py does."""
	path = f"/var/run/dpdk/{prefix}/dpdk_telemetry.v2"
	s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
	s.settimeout(10)
	s.connect(path)
	try:
		info = json.loads(s.recv(16384).decode())
		out = {}
		for c in cmds:
			s.send(c.encode())
			buf = s.recv(info.get("max_output_len", 16384)).decode()
			out[c] = json.loads(buf)
		return out
	finally:
		s.close()


def _shared_daemon(env, name, hugepages):
	"""A daemon with shared runtime files (no --no-shconf): what DPDK's tools attach to."""
	d = env.new_daemon(name, addr4=RELAY4_B, addr6=RELAY6_B)
	text = open(d.conf).read()
	eal = '"--no-pci", "--file-prefix", "%s"' % d.file_prefix
	if hugepages:
		eal += ', "--socket-mem", "64", "--huge-dir", "%s"' % hugepages
	else:
		eal = '"--no-huge", "-m", "512", ' + eal
	start = text.index("eal = [")
	end = text.index("];", start) + 2
	d.write_config(text[:start] + f"eal = [ {eal} ];" + text[end:])
	env.start_daemon(d)
	return d


def test_dpdk_telemetry(env):
	d = _shared_daemon(env, "telemetry", None)
	try:
		s = d.create([{"remote": "198.18.0.10:5004"}, {"remote": "198.18.0.11:6004"}])
		env.host.run("ping", "-c", "2", "-i", "0.2", "-W", "1", RELAY4_B, check_rc=False)
		stats = d.stats()
		lcore = stats["lcores"][0]["lcore"]
		cmds = ["/", "/mrelay/lcores", f"/mrelay/lcore,{lcore}", "/mrelay/drops",
			"/mrelay/ports", "/mrelay/port,edge0", "/mrelay/sessions", "/mrelay/rooms",
			"/mrelay/lcore,999"]
		out = h.wait_for(lambda: _telemetry(d.file_prefix, cmds), 10,
				 what="telemetry socket")
		listed = out["/"]["/"]
		for c in cmds[1:-1]:
			check(c.split(",")[0] in listed, f"{c.split(',')[0]} not listed by '/': {listed}")
		eq(out["/mrelay/lcores"]["/mrelay/lcores"], [w["lcore"] for w in stats["lcores"]],
		   "/mrelay/lcores")
		one = out[f"/mrelay/lcore,{lcore}"]["/mrelay/lcore"]
		check(one["rx_packets"] >= stats["lcores"][0]["rx_packets"] and
		      one["echo_replies"] >= 2, f"/mrelay/lcore: {one} against /v1/stats")
		eq(set(one["drops"]), set(stats["lcores"][0]["drops"]), "drop reasons")
		eq(set(out["/mrelay/drops"]["/mrelay/drops"]), set(one["drops"]), "/mrelay/drops")
		eq(out["/mrelay/ports"]["/mrelay/ports"], ["edge0"], "/mrelay/ports")
		port = out["/mrelay/port,edge0"]["/mrelay/port"]
		eq(port["mac"], stats["ports"][0]["mac"], "/mrelay/port mac")
		# The control loop's snapshot: the session created above is there.
		sess = h.wait_for(lambda: (lambda x: x if x["active"] >= 1 else None)(
			_telemetry(d.file_prefix, ["/mrelay/sessions"])["/mrelay/sessions"]
			["/mrelay/sessions"]), 5, what="/mrelay/sessions active")
		check(sess["created"] >= 1, f"/mrelay/sessions: {sess}")
		check("participants" in out["/mrelay/rooms"]["/mrelay/rooms"], "/mrelay/rooms")
		eq(out["/mrelay/lcore,999"]["/mrelay/lcore"], None, "unknown lcore")
		# dpdk-telemetry.py itself, where installed (dpdk-dev).
		tool = shutil.which("dpdk-telemetry.py")
		if tool:
			p = subprocess.run([tool, "-f", d.file_prefix], input="/mrelay/ports\n",
					   capture_output=True, text=True, timeout=90)
			check('"edge0"' in p.stdout, f"dpdk-telemetry.py: {p.stdout} {p.stderr}")
		s.delete()
	finally:
		d.stop()


HUGE_NR = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"


def _secondary_hugepages(env, tools):
	"""Hugepages for a daemon that a DPDK secondary process (dpdk-dumpcap) attaches to,
	reserved and mounted by mrelay's own setup script: (hugetlbfs dir, setup env, count
	before)."""
	for tool in tools:
		if shutil.which(tool) is None:
			raise h.Skip(f"{tool} not installed (scripts/setup installs it)")
	if not os.access(HUGE_NR, os.W_OK):
		raise h.Skip("no writable 2 MiB hugepages: dpdk-dumpcap (a DPDK secondary "
			     "process) cannot share memory with --no-huge")
	huge = os.path.join(env.workdir, "huge")
	conf = os.path.join(env.workdir, "dpdk.conf")
	have = int(open(HUGE_NR).read())
	with open(conf, "w") as f:
		# Enough for the daemon (64 MB), dumpcap's pool and what others hold.
		f.write(f"HUGEPAGES={(have + 200) * 2}M\nHUGEPAGE_SIZE=2M\nHUGEPAGE_DIR={huge}\n")
	senv = dict(os.environ, MRELAY_DPDK_CONF=conf,
		    MRELAY_DPDK_STATE=os.path.join(env.workdir, "dpdk.state"))
	h.sh(SETUP, "start", env=senv, timeout=90)
	h.CLEANUP.add("hugepages of the dumpcap test",
		      lambda: subprocess.run([SETUP, "stop"], env=senv, capture_output=True))
	return huge, senv, have


def test_dumpcap_killed_in_init(env):
	"""A dpdk-dumpcap killed while it holds the EAL's shared memory lock (here: stopped by
	gdb right after it took the lock, then killed) must not make mrelayd's stop hang
	in rte_eal_cleanup: it exits 0 within its 5 s cleanup bound and says why."""
	huge, senv, have = _secondary_hugepages(env, ("dpdk-dumpcap", "gdb"))
	d = None
	try:
		d = _shared_daemon(env, "dumpcap-killed", huge)
		p = subprocess.run(["gdb", "-batch", "-nx", "-ex", "set breakpoint pending on",
				    "-ex", "break rte_mcfg_mem_read_lock", "-ex", "run",
				    "-ex", "finish", "-ex", "kill", "--args", "dpdk-dumpcap",
				    f"--file-prefix={d.file_prefix}", "-i", "0", "-q",
				    "-w", os.path.join(env.workdir, "never.pcapng")],
				   stdin=subprocess.DEVNULL, capture_output=True, text=True,
				   timeout=60)
		check("hit Breakpoint 1" in p.stdout and "killed" in p.stdout,
		      f"gdb did not kill dpdk-dumpcap holding the lock:\n{p.stdout[-1500:]}")
		eq(d.api("GET", "/v1/health")[0], 200, "health with the lock held")
		eq(d.stop(), 0, "exit status")
		check("EAL cleanup still waiting" in d.log_tail(5),
		      f"no word on the skipped cleanup:\n{d.log_tail(5)}")
		# The next start on the same --file-prefix and hugepages starts clean.
		env.start_daemon(d)
		eq(d.stop(), 0, "exit status of the restarted daemon")
		check("EAL cleanup still waiting" not in d.log_tail(3),
		      f"the restarted daemon's cleanup waited:\n{d.log_tail(3)}")
	finally:
		if d is not None:
			d.kill()
		subprocess.run([SETUP, "stop"], env=senv, capture_output=True)
	eq(int(open(HUGE_NR).read()), have, "hugepages given back")


def test_dpdk_dumpcap(env):
	"""dpdk-dumpcap attached to a running mrelayd captures the relayed packets (read back
	with tshark, through mrelayctl capture start/stop/fetch)."""
	if h.asan_build(env.binary):
		raise h.NotForThisBuild(
			"not against the ASan build: there dpdk-dumpcap (a DPDK secondary process) hung "
			"in 2 of 5 full runs, spinning on the primary's memory hotplug lock left held "
			"for writing (docs/TESTING.md \"dpdk-dumpcap and ASan\"); the plain pass runs it")
	huge, senv, have = _secondary_hugepages(env, ("dpdk-dumpcap", "tshark"))
	d = None
	try:
		d = _shared_daemon(env, "dumpcap", huge)
		s = d.create([{"remote": f"{NS_V4[0]}:5004"}, {"remote": f"{NS_V4[1]}:6004"}])
		a = env.host.udp(NS_V4[0], 5004)
		b = env.host.udp(NS_V4[1], 6004)
		h.prime(a, s.local[0], b, 0x5eed)
		cdir = os.path.join(env.workdir, "capture")
		cenv = dict(os.environ, MRELAY_CAPTURE_DIR=cdir)
		# Within the test's 90 s; a hung start prints its backtrace before the second try,
		# which the timeout keeps.
		try:
			p = subprocess.run([sys.executable, CTL, "--config", d.conf, "capture",
					    "start", "--port", "edge0", "--state-dir", cdir],
					   capture_output=True, text=True, timeout=75, env=cenv)
		except subprocess.TimeoutExpired as e:
			err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) \
				else (e.stderr or "")
			raise h.SmokeError(f"mrelayctl capture start: no answer in 75 s:\n{err[-3000:]}")
		eq(p.returncode, 0, f"mrelayctl capture start: {p.stdout} {p.stderr}")
		if "hung" in p.stderr:
			h.log(p.stderr.strip())
		try:
			for seq in range(1, 21):
				a.sendto(h.rtp(seq, 0xCAFE, payload=b"dumpcap-%d" % seq), s.local[0])
			got = h.recv_n(b, 20)
			eq(len(got), 20, "relayed packets")
			# dumpcap writes what it dequeued; wait for the last relayed packet.
			out = os.path.join(cdir, "edge0.pcapng")
			h.wait_for(lambda: _tshark_count(out, "rtp.ssrc == 0xcafe") >= 40, 20,
				   what="20 packets each way in the capture")
		finally:
			p = subprocess.run([sys.executable, CTL, "--config", d.conf, "capture", "stop",
					    "--state-dir", cdir], capture_output=True, text=True,
					   timeout=60)
			eq(p.returncode, 0, f"mrelayctl capture stop: {p.stderr}")
		fetched = os.path.join(env.workdir, "fetched.pcapng")
		p = subprocess.run([sys.executable, CTL, "capture", "fetch", "--state-dir", cdir,
				    "-o", fetched], capture_output=True, text=True, timeout=60)
		eq(p.returncode, 0, f"mrelayctl capture fetch: {p.stderr}")
		# Both directions: into leg 0's endpoint, out of leg 1's, headers rewritten.
		leg0 = f"ip.dst == {s.local[0][0]} && udp.dstport == {s.local[0][1]}"
		leg1 = f"ip.src == {s.local[1][0]} && udp.srcport == {s.local[1][1]} && " \
		       f"ip.dst == {NS_V4[1]}"
		n_in = _tshark_count(fetched, f"rtp.ssrc == 0xcafe && {leg0}")
		n_out = _tshark_count(fetched, f"rtp.ssrc == 0xcafe && {leg1}")
		check(n_in >= 20 and n_out >= 20, f"capture holds {n_in} packets in, {n_out} "
		      "relayed out (want 20 each)")
		s.delete()
	finally:
		# A dumpcap that outlived a killed mrelayctl (its own session) would spin on.
		if d is not None:
			subprocess.run(["pkill", "-KILL", "-f", f"file-prefix={d.file_prefix} "],
				       capture_output=True)
			d.stop()
		subprocess.run([SETUP, "stop"], env=senv, capture_output=True)
	eq(int(open(HUGE_NR).read()), have, "hugepages given back")


def _tshark_count(path, flt):
	if not os.path.exists(path) or os.path.getsize(path) == 0:
		return 0
	p = subprocess.run(["tshark", "-r", path, "-d", "udp.port==30000-30999,rtp", "-Y", flt,
			    "-T", "fields", "-e", "frame.number"], capture_output=True, text=True,
			   timeout=60)
	return len([ln for ln in p.stdout.splitlines() if ln.strip()])


def _read_pcap(path):
	import struct
	with open(path, "rb") as f:
		data = f.read()
	magic, _, _, _, _, _, linktype = struct.unpack("<IHHiIII", data[:24])
	eq(magic, 0xa1b2c3d4, "pcap magic")
	eq(linktype, 1, "pcap link type (Ethernet)")
	off, out = 24, []
	while off < len(data):
		_, _, incl, orig = struct.unpack("<IIII", data[off:off + 16])
		eq(incl, orig, "pcap record not truncated")
		out.append(data[off + 16:off + 16 + incl])
		off += 16 + incl
	return out


def test_pktgen_pcap(env):
	"""perf/pktgen/rtp-pcap.py: sessions created, a pcap of valid RTP that tshark decodes
	(V=2, DSCP EF, sequence and timestamp advancing per stream, checksums right), and
	frames from it, sent to mrelayd, counted as RTP and relayed back to their sender."""
	if shutil.which("tshark") is None:
		raise h.Skip("tshark not installed (apt-get install tshark)")
	d = env.main
	pcap = os.path.join(env.workdir, "rtp.pcap")
	src_mac = env.host.own_mac()
	p = subprocess.run([sys.executable, os.path.join(ROOT, "perf", "pktgen", "rtp-pcap.py"),
			    "--api", f"127.0.0.1:{d.api_port}", "--token", d.token, "--sessions", "3",
			    "--packets", "101", "--src-mac", src_mac, "--src-ip", NS_V4[0],
			    "--out", pcap], capture_output=True, text=True, timeout=60)
	eq(p.returncode, 0, f"rtp-pcap.py: {p.stderr}")
	info = json.loads(p.stdout.splitlines()[0])
	for sid in info["sessions"]:
		h.CLEANUP_SESSIONS.append(h.Session(d, d.ok("GET", f"/v1/sessions/{sid}")))
	eq(info["streams"], 6, "streams")
	lo, hi = info["local_ports"]
	t = subprocess.run(["tshark", "-r", pcap, "-o", "udp.check_checksum:TRUE",
			    "-o", "ip.check_checksum:TRUE", "-d", f"udp.port=={lo}-{hi},rtp",
			    "-T", "fields", "-E", "separator=,", "-e", "rtp.version", "-e", "rtp.ssrc",
			    "-e", "rtp.seq", "-e", "rtp.timestamp", "-e", "ip.dsfield.dscp",
			    "-e", "udp.dstport", "-e", "ip.checksum.status", "-e", "udp.checksum.status",
			    "-e", "frame.len"], capture_output=True, text=True, timeout=60)
	eq(t.returncode, 0, f"tshark: {t.stderr}")
	rows = [ln.split(",") for ln in t.stdout.splitlines() if ln]
	eq(len(rows), 6 * 101, "packets in the pcap")
	per = {}
	for ver, ssrc, seq, ts, dscp, dport, ipck, udpck, flen in rows:
		eq((ver, dscp, ipck, udpck, flen), ("2", "46", "1", "1", "214"),
		   "RTP version, DSCP, IPv4 and UDP checksum status (1: good), frame length")
		check(lo <= int(dport) <= hi, f"destination port {dport} not a session's")
		per.setdefault(ssrc, []).append((int(seq), int(ts), int(dport)))
	eq(len(per), 6, "one SSRC per leg")
	for ssrc, pk in per.items():
		for (s0, t0, d0), (s1, t1, d1) in zip(pk, pk[1:]):
			check((s1 - s0) % 65536 == 1 and (t1 - t0) % (1 << 32) == 160 and d0 == d1,
			      f"stream {ssrc}: {s0}/{t0} then {s1}/{t1}")
	# Four rounds through mrelayd: the first three of each stream latch its leg
	# (relay.latch_packets), the later ones are counted as RTP and relayed back to the
	# sender's address.
	frames = _read_pcap(pcap)[:24]
	s = h.Session(d, d.ok("GET", f"/v1/sessions/{info['sessions'][0]}"))
	ps = env.host.packet_socket()
	# mrelayd must know our MAC for the replies: one ping resolves both ways.
	env.host.run("ping", "-c", "1", "-W", "2", "-I", NS_V4[0], h.RELAY4, check_rc=False)
	for fr in frames:
		ps.send(fr)
	h.wait_for(lambda: all(s.counters(i)["rtp_packets"] >= 2 for i in range(2)), 10,
		   what="two RTP packets counted on each leg of the first session")
	for i in range(2):
		c = s.counters(i)
		eq(c["other_packets"], 0, f"leg {i} other_packets")
		check(c["packets_out"] >= 1, f"leg {i} relayed nothing back: {c}")
