#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Set up K calls on rtpengine over its "ng" control protocol and write the relay ports.

    perf/ngctl.py --ng 127.0.0.1:22222 --calls 1 --media 127.0.0.1:41000 --out ports.txt

Each call is an offer (caller's SDP) and an answer (callee's SDP) whose media address is
--media for both parties: the blaster (perf/udpblast) sends from that one socket. For each call
two lines are written: the port the caller sends to (from the answer's SDP) and the port the
callee sends to (from the offer's SDP), udpblast -P's format. The ng protocol is a cookie,
a space and a bencoded dictionary over UDP. Standard library only.
"""
import argparse
import os
import re
import socket
import sys


def benc(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(benc(x) for x in v) + b"e"
    if isinstance(v, dict):
        return b"d" + b"".join(benc(k) + benc(v[k]) for k in sorted(v)) + b"e"
    raise TypeError(type(v))


def bdec(s, i=0):
    c = s[i:i + 1]
    if c == b"i":
        j = s.index(b"e", i)
        return int(s[i + 1:j]), j + 1
    if c == b"l" or c == b"d":
        i += 1
        out = []
        while s[i:i + 1] != b"e":
            x, i = bdec(s, i)
            out.append(x)
        if c == b"l":
            return out, i + 1
        return {out[k].decode(): out[k + 1] for k in range(0, len(out), 2)}, i + 1
    j = s.index(b":", i)
    n = int(s[i:j])
    return s[j + 1:j + 1 + n], j + 1 + n


def sdp(addr, port, sess):
    return ("v=0\r\no=- %d 1 IN IP4 %s\r\ns=perf\r\nc=IN IP4 %s\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
            % (sess, addr, addr, port))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ng", default="127.0.0.1:22222")
    ap.add_argument("--calls", type=int, default=1)
    ap.add_argument("--media", required=True, help="ip:port the caller sends from")
    ap.add_argument("--media-b", help="ip:port the callee sends from (default: --media)")
    ap.add_argument("--out", help="ports file (udpblast -P)")
    ap.add_argument("--flows", help="flows file for perf/rtpgen -f; needs --relay")
    ap.add_argument("--relay", help="rtpengine's media address (for --flows)")
    a = ap.parse_args()
    host, port = a.ng.rsplit(":", 1)
    maddr, mport = a.media.rsplit(":", 1)
    baddr, bport = (a.media_b or a.media).rsplit(":", 1)
    if not a.out and not a.flows:
        sys.exit("ngctl: --out or --flows")
    if a.flows and not a.relay:
        sys.exit("ngctl: --flows needs --relay")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(3)
    sock.connect((host, int(port)))
    seq = [0]

    def ng(cmd):
        seq[0] += 1
        cookie = b"%d_%d" % (os.getpid(), seq[0])
        sock.send(cookie + b" " + benc(cmd))
        data = sock.recv(65536)
        ck, _, body = data.partition(b" ")
        if ck != cookie:
            sys.exit("ngctl: reply to another request")
        r, _ = bdec(body)
        if r.get("result") != b"ok":
            sys.exit("ngctl: %s: %s" % (cmd["command"], r))
        m = re.search(rb"m=audio (\d+) ", r["sdp"])
        return int(m.group(1))

    ports = []
    for i in range(a.calls):
        cid = "perf-%d-%d" % (os.getpid(), i)
        callee_port = ng({"command": "offer", "call-id": cid, "from-tag": "a%d" % i,
                          "sdp": sdp(maddr, int(mport), 2 * i + 1)})
        caller_port = ng({"command": "answer", "call-id": cid, "from-tag": "a%d" % i,
                          "to-tag": "b%d" % i, "sdp": sdp(baddr, int(bport), 2 * i + 2)})
        ports += [caller_port, callee_port]
    if a.out:
        with open(a.out, "w") as f:
            f.write("".join("%d\n" % p for p in ports))
    if a.flows:
        # rtpgen pairs: stream 2k (caller -> the port rtpengine gave the caller) comes back
        # to stream 2k+1's source (the callee) from the callee's port, and the reverse.
        flows = []
        for k in range(a.calls):
            flows.append({"src": a.media, "dst": "%s:%d" % (a.relay, ports[2 * k])})
            flows.append({"src": a.media_b or a.media,
                          "dst": "%s:%d" % (a.relay, ports[2 * k + 1])})
        with open(a.flows, "w") as f:
            f.write('{"flows": [%s]}\n' % ", ".join(
                '{"src": "%s", "dst": "%s"}' % (x["src"], x["dst"]) for x in flows))
    print("ngctl: %d calls -> %s" % (a.calls, a.out or a.flows), file=sys.stderr)


if __name__ == "__main__":
    main()
