# SPDX-License-Identifier: BSD-3-Clause
"""Two-leg sessions: relay both ways, counters, latching, RTCP, loss, IPv6, gateways, PATCH,
DELETE and the idle timeout."""

import time

import harness as h
from harness import NS_V4, NS_V6, FAR4, FAR6, RELAY4, RELAY6, check, eq, fmt_ep


def _pair(env, a_addr=NS_V4[0], b_addr=NS_V4[1], **extra):
	"""Sockets A and B on the hosts and a session whose leg 0 remote is A and leg 1 remote B."""
	pa, pb = env.ports(2)
	a = env.host.udp(a_addr, pa)
	b = env.host.udp(b_addr, pb)
	s = env.main.create([{"remote": fmt_ep(a_addr, pa)}, {"remote": fmt_ep(b_addr, pb)}],
			    **extra)
	return s, a, b


def _ssrc(v):
	"""The API may give an SSRC as a number or as a hex string."""
	if isinstance(v, str):
		return int(v, 0) if v.lower().startswith("0x") else int(v, 16)
	return v


def _drops(counters):
	d = counters.get("drops", {})
	return d if isinstance(d, dict) else {}


def _delta(after, before, key):
	return after.get(key, 0) - before.get(key, 0)


def test_relay_ipv4(env):
	s, a, b = _pair(env)
	for i, want in ((0, RELAY4), (1, RELAY4)):
		eq(s.local[i][0], want, f"legs[{i}].local address")
		check(s.local[i][1] % 2 == 0, f"legs[{i}].local port {s.local[i][1]} is odd")
		check(30000 <= s.local[i][1] <= 30999, f"legs[{i}].local port outside port_min..max")
	check(s.local[0] != s.local[1], "both legs got the same local endpoint")
	eq(s.body["legs"][0].get("remote"), fmt_ep(*a.getsockname()[:2]), "legs[0].remote")
	seq_a = h.prime(a, s.local[0], b, 0xA0000001, seq0=100)
	seq_b = h.prime(b, s.local[1], a, 0xB0000001, seq0=5000)
	# A -> leg 0 -> out of leg 1 -> B, and back; 50 each way, exact bytes, order and source.
	h.relay_check(a, s.local[0], b, 50, 0xA0000001, "A->B", seq_a, want_from=s.local[1])
	h.relay_check(b, s.local[1], a, 50, 0xB0000001, "B->A", seq_b, want_from=s.local[0])
	# Sequence number wrap-around passes unchanged.
	h.relay_check(a, s.local[0], b, 6, 0xA0000001, "A->B wrap", 65533, want_from=s.local[1])
	g = s.get()
	eq(g.get("state"), "active", "state")
	eq(g["id"] if isinstance(g["id"], str) else str(g["id"]), s.id, "GET id")


def test_counters(env):
	s, a, b = _pair(env)
	seq_a = h.prime(a, s.local[0], b, 0x11111111, seq0=1)
	seq_b = h.prime(b, s.local[1], a, 0x22222222, seq0=1)
	# The relay counts a packet before it sends it: what came out is counted.
	c0, c1 = s.counters(0), s.counters(1)
	for k in ("packets_in", "packets_out", "rtp_packets", "rtcp_packets", "relatches", "drops"):
		check(k in c0, f"legs[0].counters has no '{k}': {c0}")
	h.relay_check(a, s.local[0], b, 12, 0x11111111, "A->B", seq_a, want_from=s.local[1])
	h.relay_check(b, s.local[1], a, 7, 0x22222222, "B->A", seq_b, want_from=s.local[0])
	g = s.get()
	n0, n1 = g["legs"][0]["counters"], g["legs"][1]["counters"]
	eq(_delta(n0, c0, "packets_in"), 12, "legs[0].counters.packets_in delta")
	eq(_delta(n1, c1, "packets_out"), 12, "legs[1].counters.packets_out delta")
	eq(_delta(n1, c1, "packets_in"), 7, "legs[1].counters.packets_in delta")
	eq(_delta(n0, c0, "packets_out"), 7, "legs[0].counters.packets_out delta")
	eq(_delta(n0, c0, "rtp_packets"), 12, "legs[0].counters.rtp_packets delta")
	eq(_delta(n1, c1, "rtp_packets"), 7, "legs[1].counters.rtp_packets delta")
	eq(_delta(n0, c0, "rtcp_packets"), 0, "legs[0].counters.rtcp_packets delta")
	for i, (n, c) in enumerate(((n0, c0), (n1, c1))):
		dn, dc = _drops(n), _drops(c)
		grown = {k: dn[k] - dc.get(k, 0) for k in dn if dn[k] != dc.get(k, 0)}
		eq(grown, {}, f"legs[{i}].counters.drops that grew")
	r0, r1 = g["legs"][0].get("rtp", {}), g["legs"][1].get("rtp", {})
	eq(_ssrc(r0.get("ssrc")), 0x11111111, "legs[0].rtp.ssrc")
	eq(_ssrc(r1.get("ssrc")), 0x22222222, "legs[1].rtp.ssrc")
	eq(r0.get("lost"), 0, "legs[0].rtp.lost")
	check("jitter" in r0, f"legs[0].rtp has no jitter: {r0}")


def test_latching_and_relatch(env):
	pa, pb, pc = env.ports(3)
	a = env.host.udp(NS_V4[0], pa)
	b = env.host.udp(NS_V4[1], pb)
	c = env.host.udp(NS_V4[2], pc)
	s = env.main.create([{}, {"remote": fmt_ep(NS_V4[1], pb)}])
	eq(s.body["legs"][0].get("remote"), None, "legs[0].remote before any packet")
	# The first source to reach leg 0 becomes its remote (symmetric RTP).
	seq_a = h.prime(a, s.local[0], b, 0xAAAA0001, seq0=1)
	leg0 = s.leg(0)
	eq(leg0.get("remote"), fmt_ep(NS_V4[0], pa), "legs[0].remote after latching")
	if "latched" in leg0:
		eq(leg0["latched"], True, "legs[0].latched")
	h.relay_check(b, s.local[1], a, 5, 0xBBBB0001, "B->A (latched)", 1, want_from=s.local[0])
	before = _drops(s.counters(0))
	relatches0 = s.counters(0).get("relatches", 0)
	# Another source while A is active: dropped, counted as source_mismatch. Each of C's
	# packets follows one of A's, so A is never silent for relatch_timeout_ms (500) unless
	# the host stalls that long between two sends; relatches says if it did.
	sent_a = []
	for i in range(10):
		sent_a.append(h.rtp(seq_a, 0xAAAA0001, payload=h.payload_for("keepalive", i)))
		a.sendto(sent_a[-1], s.local[0])
		seq_a += 1
		c.sendto(h.rtp(i, 0xCCCC0001, payload=b"intruder"), s.local[0])
	h.same_packets(h.recv_n(b, 10, timeout=3), sent_a, "A's packets among C's")
	h.expect_none(b, wait=0.3, what="packet from the non-latched source C")
	after = h.wait_for(lambda: (lambda d: d if _delta(d, before, "source_mismatch") >= 10
				    else None)(_drops(s.counters(0))), timeout=5,
			   what="10 source_mismatch drops")
	eq(s.counters(0).get("relatches", 0) - relatches0, 0,
	   "legs[0].counters.relatches while A was active (a host stall of 500 ms?)")
	eq(_delta(after, before, "source_mismatch"), 10, "legs[0].counters.drops.source_mismatch")
	eq(s.leg(0).get("remote"), fmt_ep(NS_V4[0], pa), "legs[0].remote after C's packets")
	# Once A has been silent for longer than relatch_timeout_ms, C still cannot take the leg
	# with an SSRC of its own (RTP Bleed): C sends until such a refusal is counted.
	for i in range(100):
		c.sendto(h.rtp(50 + i, 0xCCCC0001, payload=b"intruder"), s.local[0])
		if h.recv_n(b, 1, timeout=0.1):
			raise h.SmokeError("a packet of C's own SSRC was relayed after A fell silent")
		if _drops(s.counters(0)).get("relatch_refused", 0) > 0:
			break
	check(_drops(s.counters(0)).get("relatch_refused", 0) > 0,
	      "legs[0].counters.drops.relatch_refused after A fell silent")
	eq(s.leg(0).get("remote"), fmt_ep(NS_V4[0], pa), "legs[0].remote after C's refused packets")
	# A's stream from C's address (A's NAT moved it) does: C sends A's SSRC until one comes
	# out, then a marker flushes what it sent before.
	seq_c = h.prime(c, s.local[0], b, 0xAAAA0001, seq0=seq_a, tries=100)
	sent = [h.rtp(seq_c + i, 0xAAAA0001, payload=h.payload_for("C", i)) for i in range(10)]
	for p in sent:
		c.sendto(p, s.local[0])
	got = h.recv_n(b, 10, timeout=3)
	h.same_packets(got, sent, "packets from C relayed to B after re-latch")
	eq(s.leg(0).get("remote"), fmt_ep(NS_V4[2], pc), "legs[0].remote after re-latch")
	eq(s.counters(0).get("relatches", 0) - relatches0, 1, "legs[0].counters.relatches delta")
	# B's media now goes to C, not A.
	h.relay_check(b, s.local[1], c, 5, 0xBBBB0001, "B->C (re-latched)", 50,
		      want_from=s.local[0])
	h.expect_none(a, wait=0.2, what="packet to the old remote A")



def test_rtp_bleed_spray(env):
	"""RTP Bleed: one packet at each even port of the range right after a call is created
	takes neither leg; the real parties then talk, and the sprayer hears nothing."""
	pa, pb, pe = env.ports(3)
	a = env.host.udp(NS_V4[0], pa)
	b = env.host.udp(NS_V4[1], pb)
	e = env.host.udp(NS_V4[2], pe)
	# Leg 0 has its remote from the signalling; leg 1 (the callee) must latch.
	s = env.main.create([{"remote": fmt_ep(NS_V4[0], pa)}, {}])
	for port in range(30000, 31000, 2):
		e.sendto(h.rtp(port, 0xE0E0E0E0, payload=b"bleed"), (RELAY4, port))
	d0 = h.wait_for(lambda: (lambda d: d if d.get("source_address", 0) >= 1 else None)(
		_drops(s.counters(0))), timeout=5, what="leg 0's source_address drop")
	d1 = h.wait_for(lambda: (lambda d: d if d.get("latch_learning", 0) >= 1 else None)(
		_drops(s.counters(1))), timeout=5, what="leg 1's latch_learning drop")
	eq(d0.get("source_address"), 1, "legs[0].counters.drops.source_address")
	eq(d1.get("latch_learning"), 1, "legs[1].counters.drops.latch_learning")
	eq(s.leg(1).get("remote"), None, "legs[1].remote after the spray")
	# The callee's stream latches leg 1; the caller's flows to it, and back.
	seq_b = h.prime(b, s.local[1], a, 0xB1EED001, seq0=1)
	eq(s.leg(1).get("remote"), fmt_ep(NS_V4[1], pb), "legs[1].remote after the callee sent")
	seq_a = h.prime(a, s.local[0], b, 0xA1EED001, seq0=1)
	h.relay_check(a, s.local[0], b, 10, 0xA1EED001, "A->B after the spray", seq_a,
		      want_from=s.local[1])
	h.relay_check(b, s.local[1], a, 10, 0xB1EED001, "B->A after the spray", seq_b,
		      want_from=s.local[0])
	h.expect_none(e, wait=0.3, what="media to the sprayer")
	# Still the real parties after the sprayer sends again.
	for port in (s.local[0][1], s.local[1][1]):
		e.sendto(h.rtp(7, 0xE0E0E0E0, payload=b"bleed"), (RELAY4, port))
	h.relay_check(a, s.local[0], b, 5, 0xA1EED001, "A->B after a second spray",
		      (seq_a + 10) & 0xFFFF, want_from=s.local[1])
	h.expect_none(e, wait=0.2, what="media to the sprayer")

def test_rtcp_no_mux(env):
	pa, pb = env.ports(2)
	a, a_c = env.host.udp(NS_V4[0], pa), env.host.udp(NS_V4[0], pa + 1)
	b, b_c = env.host.udp(NS_V4[1], pb), env.host.udp(NS_V4[1], pb + 1)
	s = env.main.create([{"remote": fmt_ep(NS_V4[0], pa)}, {"remote": fmt_ep(NS_V4[1], pb)}],
			    rtcp_mux=False)
	seq_a = h.prime(a, s.local[0], b, 0x0A0A0A0A, seq0=1)
	h.prime(b, s.local[1], a, 0x0B0B0B0B, seq0=1)
	c0 = s.counters(0)
	# RTCP: port+1 on both sides (RFC 3550 §11), both ways.
	for src, dst, sink, name, want, ssrc in (
			(a_c, s.rtcp_local(0), b_c, "RTCP A->B", s.rtcp_local(1), 0x0A0A0A0A),
			(b_c, s.rtcp_local(1), a_c, "RTCP B->A", s.rtcp_local(0), 0x0B0B0B0B)):
		sent = [h.rtcp_sr(ssrc, i) for i in range(5)]
		got = []
		for p in sent:
			src.sendto(p, dst)
		got = h.recv_n(sink, 5, timeout=3)
		if len(got) < 5:
			# The first RTCP packets may have waited for nothing: retry once, bounded.
			for p in sent[len(got):]:
				src.sendto(p, dst)
			got += h.recv_n(sink, 5 - len(got), timeout=3)
		eq(len(got), 5, f"{name}: packets received")
		h.same_packets(got, sent, f"{name}: payloads")
		eq(got[0][1], want, f"{name}: source")
	h.expect_none(b, wait=0.1, what="RTCP on B's RTP port")
	h.expect_none(a, wait=0.1, what="RTCP on A's RTP port")
	# RTP still on the even ports.
	h.relay_check(a, s.local[0], b, 5, 0x0A0A0A0A, "RTP A->B", seq_a, want_from=s.local[1])
	c1 = s.counters(0)
	check(_delta(c1, c0, "rtcp_packets") >= 5,
	      f"legs[0].counters.rtcp_packets grew by {_delta(c1, c0, 'rtcp_packets')}, want >= 5")
	eq(_delta(c1, c0, "rtp_packets"), 5, "legs[0].counters.rtp_packets delta")


def test_rtcp_mux(env):
	s, a, b = _pair(env)
	h.prime(a, s.local[0], b, 0x0C0C0C0C, seq0=1)
	c0 = s.counters(0)
	sent = [h.rtcp_sr(0x0C0C0C0C, i) for i in range(6)]
	for p in sent:
		a.sendto(p, s.local[0])
	got = h.recv_n(b, 6, timeout=3)
	h.same_packets(got, sent, "RTCP relayed on the RTP port (rtcp_mux)")
	eq(got[0][1], s.local[1], "source of the muxed RTCP")
	c1 = s.counters(0)
	eq(_delta(c1, c0, "rtcp_packets"), 6, "legs[0].counters.rtcp_packets delta")
	eq(_delta(c1, c0, "rtp_packets"), 0, "legs[0].counters.rtp_packets delta")


def test_rtp_loss(env):
	s, a, b = _pair(env)
	ssrc = 0x1055AAAA
	seq = h.prime(a, s.local[0], b, ssrc, seq0=1000)
	missing = {5, 6, 7, 20, 33}
	n = 0
	for i in range(40):
		if i in missing:
			continue
		a.sendto(h.rtp(seq + i, ssrc, payload=h.payload_for("loss", i)), s.local[0])
		n += 1
		if i % 8 == 7:
			time.sleep(0.002)
	got = h.recv_n(b, n, timeout=3)
	eq(len(got), n, "packets relayed")
	r = h.wait_for(lambda: (lambda x: x if x.get("lost") == len(missing) else None)(
		s.leg(0).get("rtp", {})), timeout=2, what="legs[0].rtp.lost == 5")
	eq(_ssrc(r.get("ssrc")), ssrc, "legs[0].rtp.ssrc")


def test_ipv6_session(env):
	s, a, b = _pair(env, NS_V6[0], NS_V6[1])
	eq(s.local[0][0], RELAY6, "legs[0].local address")
	eq(s.local[1][0], RELAY6, "legs[1].local address")
	seq_a = h.prime(a, s.local[0], b, 0x66660001, seq0=1)
	seq_b = h.prime(b, s.local[1], a, 0x66660002, seq0=1)
	h.relay_check(a, s.local[0], b, 20, 0x66660001, "A6->B6", seq_a, want_from=s.local[1])
	h.relay_check(b, s.local[1], a, 20, 0x66660002, "B6->A6", seq_b, want_from=s.local[0])


def test_mixed_families(env):
	# Leg 0 IPv4, leg 1 IPv6 with a remote.
	pa, pb = env.ports(2)
	a = env.host.udp(NS_V4[0], pa)
	b = env.host.udp(NS_V6[1], pb)
	s = env.main.create([{"remote": fmt_ep(NS_V4[0], pa)},
			     {"family": "ipv6", "remote": fmt_ep(NS_V6[1], pb)}])
	eq(s.local[0][0], RELAY4, "legs[0].local address")
	eq(s.local[1][0], RELAY6, "legs[1].local address")
	seq_a = h.prime(a, s.local[0], b, 0x46460001, seq0=1)
	seq_b = h.prime(b, s.local[1], a, 0x46460002, seq0=1)
	h.relay_check(a, s.local[0], b, 15, 0x46460001, "A4->B6", seq_a, want_from=s.local[1])
	h.relay_check(b, s.local[1], a, 15, 0x46460002, "B6->A4", seq_b, want_from=s.local[0])
	# Leg 1 IPv6 without a remote: it latches to the first IPv6 source.
	pc, pd = env.ports(2)
	c = env.host.udp(NS_V4[1], pc)
	dd = env.host.udp(NS_V6[2], pd)
	s2 = env.main.create([{"remote": fmt_ep(NS_V4[1], pc)}, {"family": "ipv6"}])
	eq(s2.local[1][0], RELAY6, "latching IPv6 leg: local address")
	seq_d = h.prime(dd, s2.local[1], c, 0x46460003, seq0=1)
	eq(s2.leg(1).get("remote"), fmt_ep(NS_V6[2], pd), "legs[1].remote after latching")
	h.relay_check(c, s2.local[0], dd, 10, 0x46460004, "C4->D6", 1, want_from=s2.local[1])
	h.relay_check(dd, s2.local[1], c, 10, 0x46460003, "D6->C4", seq_d, want_from=s2.local[0])


def test_remote_behind_gateway(env):
	# FAR4/FAR6 sit behind 198.18.0.254 / 2001:2::fe; the hosts do not answer ARP/ND for them
	# on the link, so only a relay that routes through the gateway reaches them.
	s, a, b = _pair(env, FAR4, FAR6)
	seq_a = h.prime(a, s.local[0], b, 0x9A7E0001, seq0=1)
	seq_b = h.prime(b, s.local[1], a, 0x9A7E0002, seq0=1)
	h.relay_check(a, s.local[0], b, 10, 0x9A7E0001, "far4->far6", seq_a, want_from=s.local[1])
	h.relay_check(b, s.local[1], a, 10, 0x9A7E0002, "far6->far4", seq_b, want_from=s.local[0])


LATE4 = "198.18.0.77"		# on the hosts' link, but nobody's until the test adds it


def test_neighbor_reprobed_on_demand(env):
	"""A remote that does not answer ARP while media waits for it is probed once a second, not
	once in 5 s as an idle dead remote is (docs/OPERATIONS.md "Neighbors"), so its media
	resumes within a second or so of it coming up: a restart or takeover whose first probes
	were lost, a host back from an outage. Leg 1's remote is an address nobody holds; A sends
	for about 7 s (three probes a second apart, unanswered, then the slow rate would begin);
	the ARP requests sent in the last 4 of them count the re-probes. Then the address comes
	up and the media reaches it."""
	pa, pb = env.ports(2)
	a = env.host.udp(NS_V4[0], pa)
	s = env.main.create([{"remote": fmt_ep(NS_V4[0], pa)}, {"remote": fmt_ep(LATE4, pb)}])
	h.CLEANUP.add("late address", lambda: env.host.run("ip", "addr", "del", f"{LATE4}/24",
							  "dev", "eth0", check_rc=False))
	seq = 1

	def send_for(secs):
		nonlocal seq
		end = time.monotonic() + secs
		while time.monotonic() < end:
			a.sendto(h.rtp(seq, 0x1A7E0001), s.local[0])
			seq += 1
			time.sleep(0.02)

	send_for(3.5)
	arp0 = env.main.stats()["control"]["arp_requests_sent"]
	send_for(4)
	arp = env.main.stats()["control"]["arp_requests_sent"] - arp0
	check(arp >= 3, f"{arp} ARP requests in 4 s of media waiting on an unresolved remote, "
	      "want one a second")
	check(_drops(s.leg(0)["counters"]).get("no_neighbor", 0) > 0,
	      "leg 0 counted no_neighbor drops while the remote was down")
	env.host.run("ip", "addr", "add", f"{LATE4}/24", "dev", "eth0")
	b = env.host.udp(LATE4, pb)
	b.settimeout(0.05)
	deadline = time.monotonic() + 10
	got = False
	while not got and time.monotonic() < deadline:
		send_for(0.1)
		try:
			got = len(b.recv(2048)) > 0
		except OSError:
			pass
	check(got, "no packet reached the remote in 10 s after its address came up")
	env.host.run("ip", "addr", "del", f"{LATE4}/24", "dev", "eth0", check_rc=False)


def test_patch_remote(env):
	s, a, b = _pair(env)
	pc = env.ports()
	c = env.host.udp(NS_V4[2], pc)
	seq_a = h.prime(a, s.local[0], b, 0x9A7C0001, seq0=1)
	body = env.main.ok("PATCH", f"/v1/sessions/{s.id}",
			   {"legs": [{}, {"remote": fmt_ep(NS_V4[2], pc)}]}, want=200)
	eq(body["legs"][1].get("remote"), fmt_ep(NS_V4[2], pc), "PATCH response legs[1].remote")
	eq(s.leg(1).get("remote"), fmt_ep(NS_V4[2], pc), "GET legs[1].remote after PATCH")
	seq_a = h.prime(a, s.local[0], c, 0x9A7C0001, seq0=seq_a)
	h.relay_check(a, s.local[0], c, 10, 0x9A7C0001, "A->C after PATCH", seq_a,
		      want_from=s.local[1])
	h.expect_none(b, wait=0.2, what="packet to the old remote B")
	h.relay_check(c, s.local[1], a, 5, 0x9A7C0002, "C->A after PATCH", 1, want_from=s.local[0])


def test_delete_then_no_flow(env):
	s, a, b = _pair(env)
	seq = h.prime(a, s.local[0], b, 0xDE1E0001, seq0=1)
	eq(s.delete(), 204, "DELETE status")
	# The session stays visible to GET, ended (docs/API.md, DELETE).
	st, body, _ = env.main.api("GET", f"/v1/sessions/{s.id}")
	eq(st, 200, "GET after DELETE")
	eq((body.get("state"), body.get("end_reason")), ("ended", "deleted"),
	   "state and end_reason after DELETE")
	before = env.main.drops()
	for i in range(10):
		a.sendto(h.rtp(seq + i, 0xDE1E0001), s.local[0])
	h.expect_none(b, wait=0.5, what="packet relayed after DELETE")
	h.wait_for(lambda: _delta(env.main.drops(), before, "no_flow") >= 10, timeout=5,
		   what="stats drops.no_flow to grow by 10")
	# The ended session stays in the history (relay.ended_history): a second DELETE or a
	# PATCH is a conflict, not an unknown id.
	st, body, _ = env.main.api("DELETE", f"/v1/sessions/{s.id}")
	eq(st, 409, "second DELETE")
	check(isinstance(body, dict) and "error" in body, f"second DELETE: no error body: {body}")
	st, body, _ = env.main.api("PATCH", f"/v1/sessions/{s.id}", {"label": "late"})
	eq(st, 409, "PATCH of an ended session")


def test_idle_timeout(env):
	s, a, b = _pair(env, idle_timeout=2)
	seq = h.prime(a, s.local[0], b, 0x1D1E0001, seq0=1)
	g = h.wait_for(lambda: (lambda x: x if x.get("state") == "ended" else None)(s.get()),
		       timeout=10, interval=0.25, what="state 'ended' after idle_timeout 2")
	eq(g.get("end_reason"), "idle_timeout", "end_reason")
	for i in range(5):
		a.sendto(h.rtp(seq + i, 0x1D1E0001), s.local[0])
	h.expect_none(b, wait=0.4, what="packet relayed by an ended session")
