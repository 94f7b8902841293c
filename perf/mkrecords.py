#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write N session records, as mrelayd stores them, as Redis commands for `redis-cli --pipe`.

    perf/mkrecords.py --sessions 1000000 --key mrelay:bench:sessions | redis-cli --pipe

For the restore at scale (perf/state_bench SYNTH=N): creating a million sessions over REST
takes minutes; the records are what a million creations would have left in Redis
(docs/OPERATIONS.md "State in Redis"). Two-leg plain sessions with rtcp-mux; leg j of the run
(2 per session) has the local endpoint 198.18.0.(1 + j // 32256):(1024 + 2 * (j % 32256)),
which fits a port of 64 addresses (address_count = 64) with port_min 1024, port_max 65535;
remotes are 198.18.0.100 .. .199 (on the port's /24). In batches of 1000 fields per HSET.
Standard library only.
"""
import argparse
import json
import os
import sys
import time

PAIRS = 32256           # even ports 1024 .. 65534 of one address


def resp(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def local(j):
    return "198.18.0.%d:%d" % (1 + j // PAIRS, 1024 + 2 * (j % PAIRS))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, required=True)
    ap.add_argument("--key", required=True, help="the service's hash: mrelay:IDENTITY:sessions")
    ap.add_argument("--interface", default="p0", help="the port's name in mrelayd's config")
    a = ap.parse_args()
    if not 1 <= a.sessions <= 64 * PAIRS // 2:
        sys.exit("mkrecords: --sessions 1..%d (64 addresses)" % (64 * PAIRS // 2))
    base = int.from_bytes(os.urandom(4), "big")
    now = int(time.time())
    out = sys.stdout.buffer
    batch = [b"HSET", a.key.encode()]
    for i in range(a.sessions):
        sid = "%08x%08x" % (base, i)
        legs = [{"interface": a.interface, "local": local(2 * i + k),
                 "remote": "198.18.0.%d:%d" % (100 + (i + k) % 100, 10000 + 2 * (i % 20000)),
                 "rtcp_remote": None, "srtp": None} for k in (0, 1)]
        rec = {"v": 1, "id": sid, "label": "synth-%d" % i, "created": now,
               "idle_timeout": 3600, "rtcp_mux": True, "clock_rate": 0, "owner": 0,
               "legs": legs}
        batch += [sid.encode(), json.dumps(rec, separators=(",", ":")).encode()]
        if len(batch) >= 2002:
            out.write(resp(batch))
            batch = [b"HSET", a.key.encode()]
    if len(batch) > 2:
        out.write(resp(batch))
    out.flush()


if __name__ == "__main__":
    main()
