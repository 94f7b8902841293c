# SPDX-License-Identifier: BSD-3-Clause
"""A UDP shim for a participant that sends and receives on one socket (a mixing room's
participant: the relay sends the mix to the address it latched from the participant's
packets), for tools that cannot share a socket between a sender and a receiver (GStreamer's
udpsink and udpsrc): datagrams to 127.0.0.1:IN go out of the socket bound to BIND to RELAY;
RTP datagrams that arrive on that socket go to 127.0.0.1:OUT (RTCP is left out). Runs until
killed.

	udp_shim.py [--drop-every N] BIND_ADDR BIND_PORT RELAY_ADDR RELAY_PORT IN_PORT OUT_PORT
		[RR_SSRC]

With --drop-every N, every Nth datagram towards the relay is lost (N = 20: 5 % packet loss),
the first 10 always go (the relay latches the address from them).

With RR_SSRC (a listener that sends no media) it sends the relay an empty RTCP receiver report
(RFC 3550 §6.4.2) of that SSRC every 100 ms, as a receiver does (more often), so that the relay
latches its address whenever the path to the relay is up.
"""

import select
import socket
import struct
import sys
import time


def main():
	args = sys.argv[1:]
	drop_every = 0
	if args[:1] == ["--drop-every"]:
		drop_every = int(args[1])
		args = args[2:]
	bind_addr, bind_port, relay_addr, relay_port, in_port, out_port = args[:6]
	sent = 0
	ext = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	ext.bind((bind_addr, int(bind_port)))
	loc = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	loc.bind(("127.0.0.1", int(in_port)))
	relay = (relay_addr, int(relay_port))
	out = ("127.0.0.1", int(out_port))
	rr = struct.pack("!BBHI", 0x80, 201, 1, int(args[6])) if len(args) > 6 else None
	next_rr = 0.0
	print("ready", flush=True)
	while True:
		if rr is not None and time.monotonic() >= next_rr:
			ext.sendto(rr, relay)
			next_rr = time.monotonic() + 0.1
		r, _, _ = select.select([ext, loc], [], [], 0.1 if rr is not None else None)
		if loc in r:
			data, _ = loc.recvfrom(2048)
			sent += 1
			if not (drop_every and sent > 10 and sent % drop_every == 0):
				ext.sendto(data, relay)
		if ext in r:
			data, _ = ext.recvfrom(2048)
			# RTP only to the receiver: the relay's own RTCP (receiver reports to a
			# publisher, on the same port: RFC 5761 §4) would stop srtpdec.
			if len(data) > 1 and 192 <= data[1] <= 223:
				continue
			try:
				loc.sendto(data, out)
			except OSError:
				pass		# the receiver is not up yet


if __name__ == "__main__":
	main()
