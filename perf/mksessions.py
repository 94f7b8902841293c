#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Create K two-leg sessions on mrelayd through its REST API and write the flows rtpgen sends.

    perf/mksessions.py --api 127.0.0.1:18080 --sessions 100 --out flows.json

Session i gets remotes 198.18.0.(10 + i % 100):(10000 + 2 * (i // 100)) for leg 0 and
198.18.0.(110 + i % 100):(same port) for leg 1, so 10,000 sessions need 200 addresses (ARP
entries) and 100 ports per address. For each session two flows are written: leg 0's remote
sending to leg 0's local endpoint and leg 1's remote sending to leg 1's local endpoint; what
mrelayd relays comes back to the other remote, which rtpgen counts.

With --latch the legs get no remote: each latches the source of the first packet it receives
(symmetric RTP), which is how a hardware generator such as pktgen-dpdk (perf/pktgen/rtp.pkt),
sending from one address to a range of relay ports, is served; the local ports are printed.

Standard library only; one keep-alive HTTP connection (10,000 sessions take a few seconds).
"""
import argparse
import http.client
import json
import sys


def remote(leg, i):
    host = (10 if leg == 0 else 110) + i % 100
    return "198.18.0.%d:%d" % (host, 10000 + 2 * (i // 100))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--api", default="127.0.0.1:8080", help="mrelayd API host:port")
    ap.add_argument("--token", default="", help="bearer token, if the API has one")
    ap.add_argument("--sessions", type=int, default=1)
    ap.add_argument("--out", required=True, help="flows JSON for rtpgen -f")
    ap.add_argument("--latch", action="store_true",
                    help="no configured remotes: every leg latches its first sender")
    a = ap.parse_args()
    if not 1 <= a.sessions <= 25000:
        sys.exit("mksessions: --sessions 1..25000")
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

    flows = []
    ports = []
    for i in range(a.sessions):
        if a.latch:
            legs = [{"family": "ipv4"}, {"family": "ipv4"}]
        else:
            legs = [{"remote": remote(0, i)}, {"remote": remote(1, i)}]
        req = {"legs": legs, "rtcp_mux": True, "label": "perf-%d" % i}
        st, body = call("POST", "/v1/sessions", req)
        if st != 201:
            sys.exit("mksessions: session %d: HTTP %d %s" % (i, st, body))
        legs = body["legs"]
        ports += [int(l["local"].rsplit(":", 1)[1]) for l in legs]
        flows.append({"src": remote(0, i), "dst": legs[0]["local"]})
        flows.append({"src": remote(1, i), "dst": legs[1]["local"]})
    with open(a.out, "w") as f:
        json.dump({"flows": flows}, f)
    print("mksessions: %d sessions, %d flows -> %s; local ports %d..%d" %
          (a.sessions, len(flows), a.out, min(ports), max(ports)), file=sys.stderr)


if __name__ == "__main__":
    main()
