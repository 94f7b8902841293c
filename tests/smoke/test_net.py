# SPDX-License-Identifier: BSD-3-Clause
"""The appliance on the wire: ARP and ICMP echo (IPv4), ND and ICMPv6 echo (IPv6)."""

import re

import harness as h


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
	# The relay's own solicitations for gateway6 (a host address) leave the hosts a STALE
	# entry for it (RFC 4861 §7.2.3), which they would use without soliciting: forget it.
	env.host.run("ip", "-6", "neigh", "flush", "to", h.RELAY6, "dev", "eth0", check_rc=False)
	before = d.stats()
	_ping(env, ["-6", h.RELAY6])
	h.check(env.host.mac_of(h.RELAY6), f"no neighbor entry for {h.RELAY6} in the host namespace")
	after = d.stats()
	nd = h.sum_field(after, "nd_replies") - h.sum_field(before, "nd_replies")
	echo = h.sum_field(after, "echo_replies") - h.sum_field(before, "echo_replies")
	h.check(nd >= 1, f"stats nd_replies grew by {nd}, want >= 1")
	h.check(echo >= 3, f"stats echo_replies grew by {echo}, want >= 3")
	# Both families resolve to the same port MAC.
	mac4 = env.host.mac_of(h.RELAY4)
	if mac4:
		h.eq(env.host.mac_of(h.RELAY6), mac4, "MAC of the IPv6 address vs the IPv4 one")
