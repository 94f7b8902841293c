#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Create latching sessions on mrelayd and write the pcap pktgen-dpdk replays against them.

    perf/pktgen/rtp-pcap.py --api 127.0.0.1:8080 --sessions 1000 --out /tmp/rtp.pcap \\
        --src-mac <pktgen port MAC>
    pktgen -l 0-2 -n 4 -a 0000:03:00.0 -- -P -m "[1:2].0" -s 0:/tmp/rtp.pcap \\
        -f perf/pktgen/rtp-pcap.pkt

Every leg of every session gets its own RTP stream (docs/PERFORMANCE.md "Against a real NIC
with pktgen-dpdk"): from --src-ip (default 198.18.0.10), UDP source port 10000 + 2 * leg index,
to the leg's local endpoint; RTP version 2, payload type 0 (PCMU), 160 bytes of payload (20 ms),
its own SSRC, sequence numbers +1 and timestamps +160 per packet; IPv4 DSCP EF (RFC 3246), TTL
64, IPv4 and UDP checksums set: 214-byte frames (218 on the wire with the FCS, the frame
perf/rtpgen sends). The file holds --packets rounds; a round is one packet of every stream,
leg 0 and leg 1 of a session back to back, pcap timestamps 20 ms apart per round.

The legs have no remote: each latches its sender (symmetric RTP) once it sent
relay.latch_packets (3) packets in sequence, so mrelayd relays every later packet back to
pktgen. The first packets of each stream are counted as `latch_learning`, and the first
relayable packet of a session (to leg 0, whose peer leg has not latched yet) as `no_remote`,
as the API documents: after the third round every leg has latched. pktgen replays the file in a loop: on each new pass a stream's sequence
number goes back by --packets - 1, which RFC 3550 A.1 (and mrelayd's statistics) treats as
the sender restarting its sequence: one packet per pass is left out of the statistics, and loss
and jitter count from the start of the pass. Keep --packets above 100 (MAX_MISORDER) so that
a pass is never taken for reordered packets.

The destination MAC is the mrelayd port's (`GET /v1/stats` `ports[].mac`, found by --port);
--src-mac is the pktgen port's. Standard library only.
"""
import argparse
import http.client
import json
import random
import struct
import sys

PT_PCMU = 0
PAYLOAD = 160
SAMPLES = 160		# 20 ms at 8 kHz
DSCP_EF = 46


def csum(data):
	if len(data) % 2:
		data += b"\0"
	s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
	while s >> 16:
		s = (s & 0xffff) + (s >> 16)
	return ~s & 0xffff


def ip4(a):
	return bytes(int(x) for x in a.split("."))


def mac(m):
	b = bytes(int(x, 16) for x in m.split(":"))
	if len(b) != 6:
		raise ValueError(m)
	return b


def frame(dst_mac, src_mac, src, dst, sport, dport, seq, ts, ssrc):
	rtp = struct.pack("!BBHII", 0x80, PT_PCMU, seq & 0xffff, ts & 0xffffffff, ssrc) + \
		b"\xff" * PAYLOAD
	ulen = 8 + len(rtp)
	pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 17, ulen)
	udp = struct.pack("!HHHH", sport, dport, ulen, 0) + rtp
	uc = csum(pseudo + udp) or 0xffff
	udp = udp[:6] + struct.pack("!H", uc) + udp[8:]
	hdr = struct.pack("!BBHHHBBH4s4s", 0x45, DSCP_EF << 2, 20 + ulen, 0, 0x4000, 64, 17, 0,
			  ip4(src), ip4(dst))
	hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
	return dst_mac + src_mac + b"\x08\x00" + hdr + udp


def write_pcap(path, streams, rounds, dst_mac, src_mac, src_ip):
	"""streams: [(dst_ip, dst_port, src_port, ssrc, seq0, ts0)]"""
	with open(path, "wb") as f:
		# pcap, microsecond timestamps, Ethernet.
		f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
		usec = 0
		for r in range(rounds):
			for dst, dport, sport, ssrc, seq0, ts0 in streams:
				fr = frame(dst_mac, src_mac, src_ip, dst, sport, dport, seq0 + r,
					   ts0 + r * SAMPLES, ssrc)
				f.write(struct.pack("<IIII", usec // 1000000, usec % 1000000, len(fr),
						    len(fr)))
				f.write(fr)
			usec += 20000


def main():
	ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
				     formatter_class=argparse.RawDescriptionHelpFormatter,
				     epilog="\n".join(__doc__.splitlines()[1:]))
	ap.add_argument("--api", default="127.0.0.1:8080", help="mrelayd API host:port")
	ap.add_argument("--token", default="", help="bearer token, if the API has one")
	ap.add_argument("--sessions", type=int, default=1000, help="sessions to create (1..25000)")
	ap.add_argument("--packets", type=int, default=128,
			help="packets per stream in the file (101..65535; default 128)")
	ap.add_argument("--port", default=None, help="mrelayd port name (default: the first)")
	ap.add_argument("--src-mac", default="02:00:00:00:00:10", help="pktgen's port MAC")
	ap.add_argument("--src-ip", default="198.18.0.10", help="pktgen's address")
	ap.add_argument("--out", required=True, help="the pcap to write")
	ap.add_argument("--seed", type=int, default=1, help="SSRCs and first sequence numbers")
	a = ap.parse_args()
	if not 1 <= a.sessions <= 25000:
		sys.exit("rtp-pcap: --sessions 1..25000")
	if not 101 <= a.packets <= 65535:
		sys.exit("rtp-pcap: --packets 101..65535 (a pass must not look like reordering)")
	try:
		src_mac = mac(a.src_mac)
	except ValueError:
		sys.exit(f"rtp-pcap: --src-mac: '{a.src_mac}' is not a MAC address")
	host, port = a.api.rsplit(":", 1)
	conn = http.client.HTTPConnection(host, int(port), timeout=10)
	headers = {"Content-Type": "application/json"}
	if a.token:
		headers["Authorization"] = "Bearer " + a.token

	def call(method, path, body=None):
		conn.request(method, path, body=None if body is None else json.dumps(body),
			     headers=headers)
		r = conn.getresponse()
		data = r.read()
		return r.status, (json.loads(data) if data else None)

	st, stats = call("GET", "/v1/stats")
	if st != 200:
		sys.exit(f"rtp-pcap: GET /v1/stats: HTTP {st} {stats}")
	ports = stats["ports"]
	p = next((x for x in ports if a.port in (None, x["name"])), None)
	if p is None:
		sys.exit(f"rtp-pcap: --port: no port '{a.port}' "
			 f"({', '.join(x['name'] for x in ports)})")
	rnd = random.Random(a.seed)
	streams = []
	ids = []
	for i in range(a.sessions):
		legs = [{"family": "ipv4", "interface": p["name"]}] * 2
		st, body = call("POST", "/v1/sessions",
				{"legs": legs, "rtcp_mux": True, "label": "pktgen-%d" % i})
		if st != 201:
			sys.exit("rtp-pcap: session %d: HTTP %d %s" % (i, st, body))
		ids.append(body["id"])
		for leg in body["legs"]:
			addr, lport = leg["local"].rsplit(":", 1)
			j = len(streams)
			streams.append((addr, int(lport), 10000 + 2 * (j % 27000),
					rnd.getrandbits(32), rnd.getrandbits(16), rnd.getrandbits(32)))
	write_pcap(a.out, streams, a.packets, mac(p["mac"]), src_mac, a.src_ip)
	lports = [s[1] for s in streams]
	print(json.dumps({"pcap": a.out, "sessions": ids, "streams": len(streams),
			  "packets": len(streams) * a.packets, "dst_mac": p["mac"],
			  "local_ports": [min(lports), max(lports)]}))
	print("rtp-pcap: %d sessions, %d streams x %d packets -> %s (to %s, ports %d..%d)" %
	      (len(ids), len(streams), a.packets, a.out, p["mac"], min(lports), max(lports)),
	      file=sys.stderr)


if __name__ == "__main__":
	main()
