# SPDX-License-Identifier: BSD-3-Clause
"""Hostile input: malformed frames on the wire and bad configuration files."""

import os
import re
import socket
import struct
import subprocess
import sys
import time

import harness as h
from harness import NS_V4, NS_V6, RELAY4, RELAY6, check, eq


def test_malformed_frames(env):
	d = env.main
	env.host.run("ping", "-c", "1", "-W", "2", RELAY4, check_rc=False)
	env.host.run("ping", "-6", "-c", "1", "-W", "2", RELAY6, check_rc=False)
	relay_mac = env.host.mac_of(RELAY4)
	check(relay_mac, f"the hosts could not resolve {RELAY4} (ARP)")
	me = env.host.own_mac()
	# The frames go straight onto the daemon's TAP link: the kernel bridge would drop some of
	# them itself (br_netfilter validates IPv4/IPv6 headers, VLAN untagging drops short tags)
	# before the daemon could count them.
	raw = h.packet_socket_root(d.tap)
	src4, src6 = NS_V4[0], NS_V6[0]
	dport = 30100
	pl = b"\x80\x00\x00\x01" + b"\0" * 28
	dopt = bytes([17, 0, 1, 4, 0, 0, 0, 0])		# destination options: PadN, then UDP
	frames = {
		# RFC 791 fragments: the relay does not reassemble.
		"ipv4_fragment": [h.eth(relay_mac, me, 0x0800, h.ipv4(src4, RELAY4, 17,
			h.udp4(4000, dport, pl), flags_frag=0x2000)),
				  h.eth(relay_mac, me, 0x0800, h.ipv4(src4, RELAY4, 17, pl,
			flags_frag=0x0003))],
		# RFC 8200 §4: an extension header between IPv6 and UDP.
		"ipv6_ext_header": [h.eth(relay_mac, me, 0x86DD, h.ipv6(src6, RELAY6, 60,
			dopt + h.udp6(src6, RELAY6, 4000, dport, pl)))] * 2,
		# Shorter than the 802.1Q header it announces.
		"runt": [h.eth(relay_mac, me, 0x8100, b"\x00"), h.eth(relay_mac, me, 0x8100, b"")],
		# UDP length larger than what the IP header carries, and smaller than 8.
		"udp_malformed": [h.eth(relay_mac, me, 0x0800, h.ipv4(src4, RELAY4, 17,
			h.udp4(4000, dport, pl, length=8 + len(pl) + 100))),
				  h.eth(relay_mac, me, 0x0800, h.ipv4(src4, RELAY4, 17,
			h.udp4(4000, dport, pl, length=4)))],
		# IHL 4 (< 20 bytes), and a total length beyond the frame.
		"ipv4_malformed": [h.eth(relay_mac, me, 0x0800, h.ipv4(src4, RELAY4, 17,
			h.udp4(4000, dport, pl), ihl=4)),
				   h.eth(relay_mac, me, 0x0800, h.ipv4(src4, RELAY4, 17,
			h.udp4(4000, dport, pl), total=1400))],
		"ipv6_malformed": [h.eth(relay_mac, me, 0x86DD, h.ipv6(src6, RELAY6, 17,
			h.udp6(src6, RELAY6, 4000, dport, pl), plen=1400))],
		"unknown_ethertype": [h.eth(relay_mac, me, 0x88B5, b"local experimental" * 3)],
		"unknown_l4_protocol": [h.eth(relay_mac, me, 0x0800, h.ipv4(src4, RELAY4, 47,
			b"\0" * 40))],
		"not_our_address": [h.eth(relay_mac, me, 0x0800, h.ipv4(src4, "198.18.0.99", 17,
			h.udp4(4000, dport, pl)))],
	}
	reps = 3
	before = d.drops()
	for reason, fl in frames.items():
		for _ in range(reps):
			for f in fl:
				raw.send(f)
		time.sleep(0.01)
	raw.close()

	def shortfall():
		check(d.alive(), f"mrelayd died after malformed frames:\n{d.log_tail(20)}")
		after = d.drops()
		problems = []
		for reason, fl in frames.items():
			want = reps * len(fl)
			got = after.get(reason, 0) - before.get(reason, 0)
			if reason not in after:
				problems.append(f"{reason}: no such counter")
			elif got < want:
				grown = {k: after[k] - before.get(k, 0) for k in after
					 if after[k] != before.get(k, 0)}
				problems.append(f"{reason}: grew by {got}, want >= {want} "
						f"(all grown: {grown})")
		return problems

	# Until every frame was counted (bounded), then once more for the message.
	try:
		h.wait_for(lambda: not shortfall(), timeout=5, what="every malformed frame counted")
	except h.SmokeError:
		pass
	problems = shortfall()
	check(not problems, "; ".join(problems))
	# Still serving: API and the wire.
	st, _, _ = d.api("GET", "/v1/health")
	eq(st, 200, "health after malformed frames")
	p = env.host.run("ping", "-c", "2", "-i", "0.2", "-W", "2", RELAY4, check_rc=False)
	eq(p.returncode, 0, "ping after malformed frames")


# A complete, valid file; each case changes one line (marked <<) and expects exit status 2
# with the key and that line in the message.
GOOD_CONFIG = """eal = [ "--no-huge", "-m", "256", "--file-prefix", "mrt%dbad", "--no-shconf" ];
lcores = {
	control = 0;
	workers = [ 1 ];
};
ports = (
	{
		name = "e0";
		device = "net_tap0,iface=mrtbad0";
		address = "198.18.0.1/24";
		gateway = "198.18.0.254";
	}
);
relay = {
	port_min = 30000;
	port_max = 30999;
};
api = {
	listen = "127.0.0.1:1";
};
"""

BAD_CONFIGS = [
	# (name, line to replace (a unique substring), replacement, words the message names)
	("unknown key", "port_max = 30999;", "port_mx = 30999;", ["port_mx"]),
	("bad address", 'address = "198.18.0.1/24";', 'address = "198.18.0.1/33";', ["address"]),
	("odd port_min", "port_min = 30000;", "port_min = 30001;", ["port_min"]),
	("wrong type", "workers = [ 1 ];", 'workers = "1";', ["workers"]),
	("gateway outside", 'gateway = "198.18.0.254";', 'gateway = "198.18.7.254";', ["gateway"]),
	("syntax error", "port_min = 30000;", "port_min = = 30000;", []),
	# EAL options DPDK 22.11 refuses together, which it answers with its whole usage text.
	("eal in-memory with no-huge", '"--no-shconf" ];', '"--in-memory" ];',
	 ["eal", "--in-memory", "--no-huge"]),
	("eal socket-mem with -m", '"--no-shconf" ];', '"--no-shconf", "--socket-mem", "256" ];',
	 ["eal", "--socket-mem", "-m"]),
]


def _bad_config(old, new):
	lines = (GOOD_CONFIG % h.PID).split("\n")
	idx = [i for i, ln in enumerate(lines) if old in ln]
	assert len(idx) == 1, old
	lines[idx[0]] = lines[idx[0]].replace(old, new)
	return "\n".join(lines), idx[0] + 1


def test_bad_config_exits_2(env):
	binary = env.binary
	problems = []
	for name, old, new, words in BAD_CONFIGS:
		text, line = _bad_config(old, new)
		path = os.path.join(env.workdir, f"bad-{name.replace(' ', '-')}.conf")
		with open(path, "w") as f:
			f.write(text)
		try:
			p = subprocess.run([binary, "-c", path], stdout=subprocess.PIPE,
					   stderr=subprocess.PIPE, text=True, timeout=15,
					   stdin=subprocess.DEVNULL)
		except subprocess.TimeoutExpired:
			# subprocess.run() has killed it already.
			problems.append(f"{name}: still running after 15s")
			continue
		err = p.stderr.strip()
		if p.returncode != 2:
			problems.append(f"{name}: exit {p.returncode}, want 2 ({err[-200:]!r})")
			continue
		if len(err.splitlines()) != 1 or p.stdout.strip():
			problems.append(f"{name}: want one line on stderr and none on stdout, got "
					f"{err[-200:]!r} / {p.stdout.strip()[-200:]!r}")
		for w in words:
			if w not in err:
				problems.append(f"{name}: stderr does not name '{w}': {err[-200:]!r}")
		# The line: "file.conf:6:" or "line 6".
		if not re.search(rf"(:{line}\b|line {line}\b)", err):
			problems.append(f"{name}: stderr does not give line {line}: {err[-200:]!r}")
	# A missing file is an error too (and names the file).
	missing = os.path.join(env.workdir, "does-not-exist.conf")
	p = subprocess.run([binary, "-c", missing], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
			   text=True, timeout=15, stdin=subprocess.DEVNULL)
	if p.returncode == 0 or "does-not-exist.conf" not in p.stderr:
		problems.append(f"missing file: exit {p.returncode}, stderr {p.stderr.strip()[-200:]!r}")
	check(not problems, "; ".join(problems))


def test_file_prefix_clash(env):
	"""A second instance started with the --file-prefix of a running one says so and exits
	1, instead of the EAL's "Success" (issue 14 §4)."""
	first = h.Daemon(env.binary, env.workdir, "clash1")
	text = (GOOD_CONFIG % h.PID).replace('"mrt%dbad", "--no-shconf" ]' % h.PID,
					       '"%s" ]' % first.file_prefix)
	first.write_config(text.replace("127.0.0.1:1", f"127.0.0.1:{first.api_port}")
			   .replace("mrtbad0", f"mrt{h.PID}cl1"))
	first.start()
	try:
		first.wait_health()
		path = os.path.join(env.workdir, "clash2.conf")
		with open(path, "w") as f:
			f.write(text.replace("127.0.0.1:1", f"127.0.0.1:{h.free_tcp_port()}")
				.replace("mrtbad0", f"mrt{h.PID}cl2"))
		p = subprocess.run([env.binary, "-c", path], stdout=subprocess.PIPE,
				   stderr=subprocess.PIPE, text=True, timeout=30,
				   stdin=subprocess.DEVNULL)
		eq(p.returncode, 1, f"exit status of the second instance ({p.stderr.strip()[-300:]!r})")
		want = f"--file-prefix {first.file_prefix} is in use by a running DPDK process " \
		       f"(pid {first.proc.pid}"
		check(want in p.stderr, f"stderr does not say {want!r}: {p.stderr.strip()[-300:]!r}")
		check("Success" not in p.stderr, f"stderr says Success: {p.stderr.strip()[-300:]!r}")
		check(first.alive(), "the first instance died")
	finally:
		eq(first.stop(), 0, "exit status of the first instance after SIGTERM")


# A flood generator run as its own process (the test's own loop would share the GIL with the
# receivers): sends the frames of a file in turn on an interface for a while, as fast as one
# Python process can, and prints how many the kernel took.
FLOOD = r"""
import pickle, socket, sys, time
frames = pickle.load(open(sys.argv[2], "rb"))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
s.bind((sys.argv[1], 0))
end = time.monotonic() + float(sys.argv[3])
sent = refused = i = 0
n = len(frames)
while True:
	if (i & 255) == 0 and time.monotonic() > end:
		break
	try:
		s.send(frames[i % n])
		sent += 1
	except OSError:
		refused += 1
	i += 1
print(sent, refused, flush=True)
"""


def _flood(env, ifname, frames, seconds):
	import pickle
	path = os.path.join(env.workdir, "flood.pickle")
	with open(path, "wb") as f:
		pickle.dump(frames, f)
	script = os.path.join(env.workdir, "flood.py")
	with open(script, "w") as f:
		f.write(FLOOD)
	return subprocess.Popen([sys.executable, script, ifname, path, str(seconds)],
				stdout=subprocess.PIPE, text=True)


def _tap_stat(tap, name):
	with open(f"/sys/class/net/{tap}/statistics/{name}") as f:
		return int(f.read())


# What one received packet can become on a worker: exactly one of these (tx_full counts a
# packet already counted as relayed, so it is left out).
def _outcomes(stats):
	total = 0
	for lc in stats["lcores"]:
		total += lc["relayed"] + lc["arp_replies"] + lc["nd_replies"] + lc["echo_replies"]
		total += lc["exceptions"]
		total += sum(v for k, v in lc["drops"].items() if k != "tx_full")
	return total


def _rx(stats):
	return sum(lc["rx_packets"] for lc in stats["lcores"])


def test_flood_accounting(env):
	"""Malformed-packet families (Ethernet, ARP, IPv4, IPv6, UDP, RTP/RTCP) at the rate one
	Python process sends them, straight onto the daemon's TAP: every frame the kernel handed
	over is counted by exactly one outcome, a live call keeps flowing, and the daemon is still
	whole after it."""
	d = env.main
	env.host.run("ping", "-c", "1", "-W", "2", RELAY4, check_rc=False)
	relay_mac = env.host.mac_of(RELAY4)
	check(relay_mac, f"the hosts could not resolve {RELAY4} (ARP)")
	me = env.host.own_mac()
	pa, pb = env.ports(2)
	a = env.host.udp(NS_V4[0], pa)
	b = env.host.udp(NS_V4[1], pb)
	s = d.create([{"remote": h.fmt_ep(NS_V4[0], pa)}, {"remote": h.fmt_ep(NS_V4[1], pb)}])
	seq = h.prime(a, s.local[0], b, 0xF100D001, seq0=1)
	leg = s.local[0][1]
	src4, src6 = NS_V4[2], NS_V6[0]
	rtp_ok = h.rtp(1, 0xBAD0BAD0, payload=b"x" * 20)
	bad_ck = bytearray(h.eth(relay_mac, me, 0x0800, h.ipv4(src4, RELAY4, 17,
								h.udp4(4000, leg, rtp_ok))))
	bad_ck[14 + 10] ^= 0xff
	families = {
		"runt": h.eth(relay_mac, me, 0x8100, b""),
		"unknown_ethertype": h.eth(relay_mac, me, 0x88B5, b"x" * 46),
		"arp_malformed": h.eth("ff:ff:ff:ff:ff:ff", me, 0x0806, b"\0\1\x08\0\6\4" + b"\0" * 10),
		"arp_ignored": h.eth("ff:ff:ff:ff:ff:ff", me, 0x0806, struct.pack("!HHBBH", 1, 0x0800,
			6, 4, 1) + h.mac_bytes(me) + socket.inet_aton(src4) + b"\0" * 6 +
			socket.inet_aton("198.18.0.77")),
		"ipv4_malformed": h.eth(relay_mac, me, 0x0800, h.ipv4(src4, RELAY4, 17,
			h.udp4(4000, leg, rtp_ok), total=1400)),
		"ipv4_bad_checksum": bytes(bad_ck),
		"ipv4_fragment": h.eth(relay_mac, me, 0x0800, h.ipv4(src4, RELAY4, 17,
			h.udp4(4000, leg, rtp_ok), flags_frag=0x2000)),
		"ipv6_malformed": h.eth(relay_mac, me, 0x86DD, h.ipv6(src6, RELAY6, 17,
			h.udp6(src6, RELAY6, 4000, leg, rtp_ok), plen=1400)),
		"ipv6_ext_header": h.eth(relay_mac, me, 0x86DD, h.ipv6(src6, RELAY6, 60,
			bytes([17, 0, 1, 4, 0, 0, 0, 0]) + h.udp6(src6, RELAY6, 4000, leg, rtp_ok))),
		"unknown_l4_protocol": h.eth(relay_mac, me, 0x0800, h.ipv4(src4, RELAY4, 47,
			b"\0" * 40)),
		"udp_malformed": h.eth(relay_mac, me, 0x0800, h.ipv4(src4, RELAY4, 17,
			h.udp4(4000, leg, rtp_ok, length=4))),
		"not_our_address": h.eth(relay_mac, me, 0x0800, h.ipv4(src4, "198.18.0.99", 17,
			h.udp4(4000, leg, rtp_ok))),
		"no_flow": h.eth(relay_mac, me, 0x0800, h.ipv4(src4, RELAY4, 17,
			h.udp4(4000, 30999, rtp_ok))),
		# To the live call's leg: short RTP, short RTCP, an empty datagram, a stranger.
		"rtp_malformed": [h.eth(relay_mac, me, 0x0800, h.ipv4(src4, RELAY4, 17,
			h.udp4(4000, leg, p))) for p in (rtp_ok[:5], b"\x80\xc8\0\1", b"")],
		"source_address": h.eth(relay_mac, me, 0x0800, h.ipv4(src4, RELAY4, 17,
			h.udp4(4000, leg, rtp_ok))),
	}
	frames = []
	for f in families.values():
		frames.extend(f if isinstance(f, list) else [f])
	before = d.stats()
	tx0, drop0 = _tap_stat(d.tap, "tx_packets"), _tap_stat(d.tap, "tx_dropped")
	flood = _flood(env, d.tap, frames, 2.0)
	# The call during the flood: A -> B, a packet every 5 ms.
	sent = []
	for i in range(100):
		sent.append(h.rtp((seq + i) & 0xFFFF, 0xF100D001, payload=h.payload_for("flood", i)))
		a.sendto(sent[-1], s.local[0])
		time.sleep(0.005)
	got = h.recv_n(b, len(sent), timeout=3)
	out, _ = flood.communicate(timeout=30)
	n_sent, n_refused = (int(x) for x in out.split())
	h.log(f"flood: {n_sent} frames in 2 s ({n_sent / 2:.0f}/s), {n_refused} refused by the "
	      f"kernel; the call got {len(got)}/{len(sent)} during it")

	def settled():
		st = d.stats()
		return st if _rx(st) - _rx(before) == _tap_stat(d.tap, "tx_packets") - tx0 else None

	after = h.wait_for(settled, timeout=10, what="the daemon to read all the TAP handed over")
	handed = _tap_stat(d.tap, "tx_packets") - tx0
	lost = _tap_stat(d.tap, "tx_dropped") - drop0
	check(handed + lost >= n_sent, f"the TAP took {handed} and dropped {lost} of {n_sent}")
	eq(_outcomes(after) - _outcomes(before), _rx(after) - _rx(before),
	   "packets received = relayed + dropped (one reason each) + answered + to the control "
	   "thread")
	for reason in families:
		grown = h.sum_drops(after).get(reason, 0) - h.sum_drops(before).get(reason, 0)
		check(grown > 0, f"drops.{reason} did not grow")
	check(len(got) >= len(sent) // 2,
	      f"the live call got {len(got)} of {len(sent)} packets during the flood")
	h.relay_check(a, s.local[0], b, 20, 0xF100D001, "A->B after the flood", (seq + 100) & 0xFFFF,
		      want_from=s.local[1])
	check(d.alive(), "mrelayd died in the flood")


def test_sigterm_under_load(env):
	"""SIGTERM while frames pour in: a clean exit with status 0."""
	d = h.Daemon(env.binary, env.workdir, "sigterm")
	tap = f"mrt{h.PID}sg"
	d.write_config(h.config_text(tap, d.api_port, d.file_prefix, addr6=None))
	d.start()
	d.wait_health()
	mac = "02:00:00:00:00:01"
	frames = [h.eth("ff:ff:ff:ff:ff:ff", mac, 0x0806, struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) +
			h.mac_bytes(mac) + socket.inet_aton("198.18.0.9") + b"\0" * 6 +
			socket.inet_aton(RELAY4)),
		  h.eth(mac, mac, 0x0800, h.ipv4("198.18.0.9", RELAY4, 17,
			h.udp4(4000, 30000, h.rtp(1, 1, payload=b"x" * 100))))]
	flood = _flood(env, tap, frames, 3.0)
	h.wait_for(lambda: _rx(d.stats()) > 1000, timeout=10, what="the flood to reach mrelayd")
	eq(d.stop(), 0, "exit status after SIGTERM under load")
	flood.communicate(timeout=30)
