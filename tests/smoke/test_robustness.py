# SPDX-License-Identifier: BSD-3-Clause
"""Hostile input: malformed frames on the wire and bad configuration files."""

import os
import re
import subprocess
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
