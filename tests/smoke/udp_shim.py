# SPDX-License-Identifier: BSD-3-Clause
"""A UDP shim for a participant that sends and receives on one socket (a mixing room's
participant: the relay sends the mix to the address it latched from the participant's
packets), for tools that cannot share a socket between a sender and a receiver (GStreamer's
udpsink and udpsrc): datagrams to 127.0.0.1:IN go out of the socket bound to BIND to RELAY;
datagrams that arrive on that socket go to 127.0.0.1:OUT. Runs until killed.

	udp_shim.py BIND_ADDR BIND_PORT RELAY_ADDR RELAY_PORT IN_PORT OUT_PORT
"""

import select
import socket
import sys


def main():
	bind_addr, bind_port, relay_addr, relay_port, in_port, out_port = sys.argv[1:7]
	ext = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	ext.bind((bind_addr, int(bind_port)))
	loc = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	loc.bind(("127.0.0.1", int(in_port)))
	relay = (relay_addr, int(relay_port))
	out = ("127.0.0.1", int(out_port))
	print("ready", flush=True)
	while True:
		r, _, _ = select.select([ext, loc], [], [])
		if loc in r:
			data, _ = loc.recvfrom(2048)
			ext.sendto(data, relay)
		if ext in r:
			data, _ = ext.recvfrom(2048)
			try:
				loc.sendto(data, out)
			except OSError:
				pass		# the receiver is not up yet


if __name__ == "__main__":
	main()
