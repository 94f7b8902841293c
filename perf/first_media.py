#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Send RTP into a few sessions of perf/mksessions.py until each has relayed one packet.

    ip netns exec NS perf/first_media.py --flows flows.json --probes 8 --timeout 30

Run inside the namespace that holds the sessions' remote addresses (perf/state_bench adds
198.18.0.10 .. 198.18.0.209 there). For each probed session k (--probes spread evenly over the flows
file, and the last one), a socket bound to leg 0's remote sends an RTP packet to leg 0's local endpoint every
--interval seconds, and a socket bound to leg 1's remote waits for the relayed copy. Prints
"ready" once the sockets are bound (the caller starts mrelayd after that; with --go FILE it
then waits for FILE before sending), then one JSON line:
the wall-clock time (time.time()) of the first relayed packet, of the last probe's first, how
many packets were sent and how many probes got one. Exit status 1 when a probe got nothing
before --timeout. Standard library only.
"""
import argparse
import json
import os
import select
import socket
import struct
import sys
import time


def ep(text):
    host, port = text.rsplit(":", 1)
    return host.strip("[]"), int(port)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", required=True, help="flows JSON of perf/mksessions.py")
    ap.add_argument("--probes", type=int, default=8, help="sessions probed (spread evenly)")
    ap.add_argument("--interval", type=float, default=0.001, help="seconds between sends")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--go", help="after 'ready', wait until this file exists before sending "
                    "(the caller's moment zero: its sockets are bound and it is running)")
    a = ap.parse_args()
    with open(a.flows) as f:
        flows = json.load(f)["flows"]
    n = len(flows) // 2
    if n == 0:
        sys.exit("first_media: no sessions in " + a.flows)
    k = max(1, min(a.probes, n))
    idx = sorted({(i * n) // k for i in range(k)} | {n - 1})
    probes = []
    for i in idx:
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tx.bind(ep(flows[2 * i]["src"]))
        rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rx.bind(ep(flows[2 * i + 1]["src"]))
        rx.setblocking(False)
        probes.append({"session": i, "tx": tx, "rx": rx, "dst": ep(flows[2 * i]["dst"]),
                       "ssrc": 0x4D460000 + i, "got": None})
    print("ready", flush=True)
    if a.go:
        limit = time.time() + a.timeout
        while not os.path.exists(a.go) and time.time() < limit:
            time.sleep(0.0005)
    start = time.time()
    seq = 0
    sent = 0
    errors = 0
    by_fd = {p["rx"].fileno(): p for p in probes}
    while time.time() - start < a.timeout:
        seq = (seq + 1) & 0xFFFF
        for p in probes:
            if p["got"] is not None:
                continue
            pkt = struct.pack("!BBHII", 0x80, 0, seq, seq * 160, p["ssrc"]) + bytes(160)
            try:
                p["tx"].sendto(pkt, p["dst"])
                sent += 1
            except OSError:
                errors += 1     # no route or neighbor yet: the next turn tries again
        ready, _, _ = select.select(list(by_fd), [], [], a.interval)
        now = time.time()
        for fd in ready:
            p = by_fd[fd]
            try:
                p["rx"].recv(2048)
            except BlockingIOError:
                continue
            if p["got"] is None:
                p["got"] = now
            by_fd.pop(fd)
        if not by_fd:
            break
    got = [p["got"] for p in probes if p["got"] is not None]
    print(json.dumps({"first": min(got) if got else None,
                      "last": max(got) if len(got) == len(probes) else None,
                      "probes": len(probes), "relayed": len(got), "sent": sent,
                      "send_errors": errors, "started": start}), flush=True)
    return 0 if len(got) == len(probes) else 1


if __name__ == "__main__":
    sys.exit(main())
