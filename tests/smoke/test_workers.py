# SPDX-License-Identifier: BSD-3-Clause
"""Two worker lcores: sessions spread over both owners, packets that arrive on the other
worker's queue are handed off, everything relays. A second daemon (198.18.0.2) on the same
segment, stopped with SIGINT at the end."""

import signal

import harness as h
from harness import NS_V4, RELAY4_B, RELAY6_B, check, eq, fmt_ep


def _owner(body):
	for where in (body, *(body.get("legs") or [])):
		if isinstance(where, dict) and "owner_lcore" in where:
			return where["owner_lcore"]
	raise h.SmokeError(f"session has no owner_lcore: {body}")


def _two_worker_round(env, d, rnd, n=8):
	"""n sessions on d, spread over both workers, relaying both ways: [(session, a, b)]."""
	sessions = []
	for i in range(n):
		pa, pb = env.ports(2)
		a = env.host.udp(NS_V4[0], pa)
		b = env.host.udp(NS_V4[1], pb)
		s = d.create([{"remote": fmt_ep(NS_V4[0], pa)}, {"remote": fmt_ep(NS_V4[1], pb)}])
		eq(s.local[0][0], RELAY4_B, "legs[0].local address of the second daemon")
		sessions.append((s, a, b))
	owners = [_owner(s.get()) for s, _, _ in sessions]
	check(len(set(owners)) >= 2, f"all {n} sessions have the same owner lcore: {owners}")
	for i, (s, a, b) in enumerate(sessions):
		ssrc_a, ssrc_b = 0x2A000000 + 16 * rnd + i, 0x2B000000 + 16 * rnd + i
		seq_a = h.prime(a, s.local[0], b, ssrc_a, seq0=1)
		seq_b = h.prime(b, s.local[1], a, ssrc_b, seq0=1)
		h.relay_check(a, s.local[0], b, 10, ssrc_a, f"session {i} A->B", seq_a,
			      want_from=s.local[1])
		h.relay_check(b, s.local[1], a, 10, ssrc_b, f"session {i} B->A", seq_b,
			      want_from=s.local[0])
	return sessions


def test_two_workers(env):
	d = env.new_daemon("w2", addr4=RELAY4_B, addr6=RELAY6_B, workers=(1, 2),
			   idle_sleep_us=200, rx_queues=2)
	env.start_daemon(d)
	try:
		before = d.stats()
		# The kernel's tap queue for a flow follows the queue its reverse flow was last
		# sent on (tun's automatic steering): with the relay ports steered to their
		# owners, only a flow's first packets may land on the other worker's queue, some
		# runs none of them. Rounds of 8 new sessions until packets were handed off
		# (at most 4: max_sessions).
		for rnd in range(4):
			sessions = _two_worker_round(env, d, rnd)
			for s, _, _ in sessions:
				s.delete()
			if h.sum_field(d.stats(), "handoff_out") > h.sum_field(before, "handoff_out"):
				break
		after = d.stats()
		hin = h.sum_field(after, "handoff_in") - h.sum_field(before, "handoff_in")
		hout = h.sum_field(after, "handoff_out") - h.sum_field(before, "handoff_out")
		check(hout > 0 and hin > 0, f"handoff_out grew by {hout}, handoff_in by {hin}; "
		      "want both > 0 with 2 workers and software steering")
		eq(hin, hout, "handoff_in vs handoff_out (nothing lost between lcores)")
		# Steering in /v1/stats: net_tap takes neither RSS on the destination nor rte_flow
		# rules here, so the port says "software"; every relay packet arrived either on
		# its owner's queue (rx_owned) or was handed off, in batches per destination.
		eq([p["steering"] for p in after["ports"]], ["software"], "ports[].steering")
		owned = h.sum_field(after, "rx_owned") - h.sum_field(before, "rx_owned")
		bursts = (h.sum_field(after, "handoff_bursts") -
			  h.sum_field(before, "handoff_bursts"))
		check(owned > 0, f"rx_owned grew by {owned}: want packets on their owner's queue too")
		check(0 < bursts <= hout, f"handoff_bursts grew by {bursts} for {hout} packets")
		relayed = h.sum_field(after, "relayed") - h.sum_field(before, "relayed")
		# Counted as received before the flow lookup: the priming packets dropped while the
		# next hop was resolved (h.prime sends until one gets through; more of them on a
		# loaded machine) and any without a flow are received, not relayed.
		d0, d1 = h.sum_drops(before), h.sum_drops(after)
		lost = sum(d1.get(r, 0) - d0.get(r, 0) for r in ("no_neighbor", "no_flow"))
		eq(owned + hout, relayed + lost, "rx_owned + handoff_out vs relayed + no_neighbor "
		   "and no_flow drops (every relay packet is one or the other)")
		print(f"    hand-off fraction with 2 workers on net_tap (2 queues): "
		      f"{hout / (owned + hout):.2f} ({hout} of {owned + hout}), "
		      f"{hout / bursts:.2f} packets per enqueue burst")
		rc = d.stop(signal.SIGINT)
		eq(rc, 0, f"exit status after SIGINT (log tail:\n{d.log_tail(10)})")
	finally:
		d.kill()
