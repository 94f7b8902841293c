# SPDX-License-Identifier: BSD-3-Clause
"""mrelayd on net_af_packet over a veth, as someone trying it on a plain Linux box or VM would
run it: the port's defaults (one queue pair), then qpairs=2 (the kernel's PACKET_FANOUT
spreads flows over both sockets, and every one must be polled). The hosts' eth0 keeps TX
checksum offload on, so what they send carries partial UDP checksums (docs/OPERATIONS.md
"Trying mrelay without a spare NIC")."""

import contextlib
import re
import subprocess

import harness as h
from harness import check, eq, fmt_ep

# Loss of any of these while traffic flows means packets vanished inside the relay.
LOSS_DROPS = ("no_flow", "source_mismatch", "no_remote", "no_neighbor", "tx_full",
	      "handoff_ring_full", "exception_ring_full", "no_mbuf", "no_headroom")


def _daemon(env, net, name, device, **conf):
	d = h.Daemon(env.binary, env.workdir, name)
	d.write_config(h.config_text(None, d.api_port, d.file_prefix, device=device,
				     addr4=net.relay4, addr6=net.relay6, gw4=None, gw6=None,
				     **conf))
	return d


@contextlib.contextmanager
def _segment(tag):
	net = h.VethNet(tag).setup()
	try:
		yield net
	finally:
		net.teardown()


@contextlib.contextmanager
def _running(env, tag, name, device_args=""):
	"""A segment and a healthy daemon on net_af_packet over it (stopped on the way out)."""
	with _segment(tag) as net:
		d = _daemon(env, net, name, f"net_af_packet0,iface={net.link}{device_args}")
		d.start()
		try:
			d.wait_health()
			yield net, d
		finally:
			d.kill()


def _ping(net, args, count=3):
	p = net.host.run("ping", *args, "-c", str(count), "-i", "0.2", "-W", "2", check_rc=False,
			 timeout=20)
	m = re.search(r"(\d+) received", p.stdout or "")
	got = int(m.group(1)) if m else 0
	check(got == count, f"ping {' '.join(args)}: {got}/{count} replies:\n"
	      f"{(p.stdout or '').strip()[-300:]}")


def _sessions(d, net, n):
	"""n sessions between hosts 0 and 1 of net, each pair of sockets on its own ports (the
	fanout hash of PACKET_FANOUT spreads their flows over the queue pairs)."""
	out = []
	for i in range(n):
		pa, pb = 41000 + 4 * i, 41002 + 4 * i
		a = net.host.udp(net.v4[0], pa)
		b = net.host.udp(net.v4[1], pb)
		s = d.create([{"remote": fmt_ep(net.v4[0], pa)}, {"remote": fmt_ep(net.v4[1], pb)}])
		out.append((s, a, b))
	return out


def _relay_all(d, net, sessions, n):
	"""Every session relays n packets each way, to ordinary UDP sockets (whose kernel drops
	a datagram with a bad checksum). Returns how many packets were relayed."""
	csum0 = net.udp_csum_errors()
	try:
		prepared = []
		for i, (s, a, b) in enumerate(sessions):
			seq_a = h.prime(a, s.local[0], b, 0x5A000000 + i, seq0=1)
			seq_b = h.prime(b, s.local[1], a, 0x5B000000 + i, seq0=1)
			prepared.append((s, a, b, seq_a, seq_b))
		before = d.stats()
		for i, (s, a, b, seq_a, seq_b) in enumerate(prepared):
			h.relay_check(a, s.local[0], b, n, 0x5A000000 + i, f"session {i} A->B",
				      seq_a, want_from=s.local[1])
			h.relay_check(b, s.local[1], a, n, 0x5B000000 + i, f"session {i} B->A",
				      seq_b, want_from=s.local[0])
	except h.SmokeError as e:
		bad = net.udp_csum_errors() - csum0
		raise h.SmokeError(f"{e} ({bad} datagrams dropped by the hosts' kernel for a bad "
				   "UDP checksum)" if bad else str(e)) from None
	after = d.stats()
	eq(net.udp_csum_errors() - csum0, 0, "datagrams with a bad UDP checksum (Udp InCsumErrors)")
	relayed = h.sum_field(after, "relayed") - h.sum_field(before, "relayed")
	eq(relayed, 2 * n * len(sessions), "stats: relayed packets while the sessions ran")
	db, da = h.sum_drops(before), h.sum_drops(after)
	grown = {k: da[k] - db.get(k, 0) for k in LOSS_DROPS if da.get(k, 0) != db.get(k, 0)}
	eq(grown, {}, "stats: drops that grew while the sessions ran")
	return relayed


def test_af_packet_defaults(env):
	with _running(env, "p1", "afp1") as (net, d):
		_ping(net, [net.relay4])
		check(net.host.mac_of(net.relay4), f"no ARP entry for {net.relay4} on the hosts")
		_ping(net, ["-6", net.relay6])
		sessions = _sessions(d, net, 2)
		_relay_all(d, net, sessions, 30)
		# The daemon resolved the remotes itself: the control thread's ARP requests went
		# out through a worker (the port has a single TX queue).
		ctl = d.stats().get("control", {})
		check(ctl.get("arp_requests_sent", 0) >= 1,
		      f"control.arp_requests_sent: {ctl.get('arp_requests_sent')}, want >= 1")
		eq(ctl.get("tx_ring_full", 0), 0, "control.tx_ring_full")
		for s, _, _ in sessions:
			s.delete()


def test_af_packet_qpairs(env):
	# rx_queues stays 1: the daemon must still poll both sockets of the fanout group.
	with _running(env, "p2", "afp2", ",qpairs=2") as (net, d):
		for src in net.v4:
			_ping(net, ["-I", src, net.relay4], count=2)
		sessions = _sessions(d, net, 12)
		_relay_all(d, net, sessions, 20)
		for s, _, _ in sessions:
			s.delete()


def _refused(env, net, name, device, want, **conf):
	d = _daemon(env, net, name, device, **conf)
	d.start()
	try:
		rc = d.proc.wait(timeout=40)
	except subprocess.TimeoutExpired:
		raise h.SmokeError(f"{device}: mrelayd started, want a refusal naming {want!r}:\n"
				   f"{d.log_tail(10)}") from None
	finally:
		d.kill()
	check(rc != 0, f"{device}: exit status 0, want non-zero")
	last = [ln for ln in d.log_text().splitlines() if ln.startswith("mrelayd:")]
	check(last and want in last[-1], f"{device}: the error does not say {want!r}:\n"
	      f"{d.log_tail(6)}")


def test_af_packet_queue_mismatch(env):
	"""Fewer queue pairs than the configuration needs: a refusal that says what to add."""
	with _segment("p3") as net:
		_refused(env, net, "afp3", f"net_af_packet0,iface={net.link}", "qpairs=2",
			 workers=(1, 2))
		_refused(env, net, "afp4", f"net_af_packet0,iface={net.link}", "qpairs=3",
			 rx_queues=3)
