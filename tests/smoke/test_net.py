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
