# SPDX-License-Identifier: BSD-3-Clause
"""The appliance on the wire: ARP and ICMP echo (IPv4), ND and ICMPv6 echo (IPv6)."""

import re
import socket
import struct

import harness as h
from harness import NS_V4


def _ping(env, args, count=3):
	p = env.host.run("ping", *args, "-c", str(count), "-i", "0.2", "-W", "2", check_rc=False,
			 timeout=20)
	m = re.search(r"(\d+) received", p.stdout or "")
	got = int(m.group(1)) if m else 0
	h.check(got == count, f"ping {' '.join(args)}: {got}/{count} replies:\n"
		f"{(p.stdout or '').strip()[-300:]}")


def test_ping4_arp(env):
	d = env.main
	before = d.stats()
	_ping(env, [h.RELAY4])
	mac = env.host.mac_of(h.RELAY4)
	h.check(mac, f"no ARP entry for {h.RELAY4} in the host namespace")
	# From another source address too: the answer goes to that address.
	_ping(env, ["-I", h.NS_V4[1], h.RELAY4], count=2)
	after = d.stats()
	arp = h.sum_field(after, "arp_replies") - h.sum_field(before, "arp_replies")
	echo = h.sum_field(after, "echo_replies") - h.sum_field(before, "echo_replies")
	h.check(arp >= 1, f"stats arp_replies grew by {arp}, want >= 1")
	h.check(echo >= 5, f"stats echo_replies grew by {echo}, want >= 5")


def test_ping6_nd(env):
	d = env.main
	# mrelayd's own solicitations (of the gateway, which is this namespace) leave the host a
	# STALE entry for the relay (RFC 4861 §7.2.3), and then it would not ask for a while:
	# forget it, so that the ping needs a neighbor solicitation the dataplane must answer.
	# A solicitation of mrelayd's own (it resolves its gateway, this namespace, when it
	# starts) can re-create the entry between the flush and the ping: then the host asks
	# nothing. Try again a few times; ND answering that is broken fails every try.
	for _ in range(5):
		env.host.run("ip", "-6", "neigh", "flush", "to", h.RELAY6, "dev", "eth0",
			     check_rc=False)
		before = d.stats()
		_ping(env, ["-6", h.RELAY6])
		h.check(env.host.mac_of(h.RELAY6),
			f"no neighbor entry for {h.RELAY6} in the host namespace")
		after = d.stats()
		nd = h.sum_field(after, "nd_replies") - h.sum_field(before, "nd_replies")
		if nd >= 1:
			break
	echo = h.sum_field(after, "echo_replies") - h.sum_field(before, "echo_replies")
	h.check(nd >= 1, f"stats nd_replies grew by {nd}, want >= 1")
	h.check(echo >= 3, f"stats echo_replies grew by {echo}, want >= 3")
	# Both families resolve to the same port MAC.
	mac4 = env.host.mac_of(h.RELAY4)
	if mac4:
		h.eq(env.host.mac_of(h.RELAY6), mac4, "MAC of the IPv6 address vs the IPv4 one")


def _arp(op, sha, spa, tha, tpa):
	"""An Ethernet/IPv4 ARP packet (RFC 826)."""
	return (struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + h.mac_bytes(sha) +
		socket.inet_aton(spa) + h.mac_bytes(tha) + socket.inet_aton(tpa))


def test_arp_spoof_refused(env):
	"""ARP spoofing: a gratuitous ARP, or an ARP reply nobody asked for, that gives a resolved
	neighbor (a remote on the link) another MAC is refused and counted; media keeps going to
	the real host."""
	d = env.main
	pa, pb = env.ports(2)
	a = env.host.udp(NS_V4[0], pa)
	b = env.host.udp(NS_V4[1], pb)
	s = d.create([{"remote": h.fmt_ep(NS_V4[0], pa)}, {"remote": h.fmt_ep(NS_V4[1], pb)}])
	seq = h.prime(b, s.local[1], a, 0x5B00F001, seq0=1)	# A's MAC resolved by the relay
	relay_mac = env.host.mac_of(h.RELAY4)
	h.check(relay_mac, f"the hosts could not resolve {h.RELAY4} (ARP)")
	before = d.stats()["control"]
	fake = "02:66:66:66:66:66"
	raw = h.packet_socket_root(d.tap)
	raw.send(h.eth("ff:ff:ff:ff:ff:ff", fake, 0x0806,
		       _arp(1, fake, NS_V4[0], "00:00:00:00:00:00", NS_V4[0])))	# gratuitous
	raw.send(h.eth(relay_mac, fake, 0x0806,
		       _arp(2, fake, NS_V4[0], relay_mac, h.RELAY4)))		# unasked reply
	raw.close()
	after = h.wait_for(lambda: (lambda c: c if c.get("neighbor_changes_refused", 0) -
				    before.get("neighbor_changes_refused", 0) >= 2 else None)(
		d.stats()["control"]), timeout=5, what="two refused neighbor changes")
	h.eq(after["neighbor_changes"] - before.get("neighbor_changes", 0), 0,
	     "control.neighbor_changes")
	# The relay still sends A's media to A's own MAC.
	h.relay_check(b, s.local[1], a, 5, 0x5B00F001, "B->A after the spoofed ARP", seq,
		      want_from=s.local[0])
	h.check("neigh: refused an" in d.log_text(),
		f"no log line for the refused change:\n{d.log_tail(10)}")
