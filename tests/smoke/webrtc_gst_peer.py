#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A GStreamer webrtcbin peer for tests/smoke/test_webrtc.py (Debian's Python: gi).

Sends an Opus sine tone and decodes what it receives. Line protocol, JSON one object a line:
  stdout {"offer": SDP}          once the offer is made (set as the local description)
  stdin  {"answer": SDP}         the answer, set as the remote description
  stdin  {"offer": SDP}          a renegotiation offer of mrelay's: set, answered with
  stdout {"answer": SDP}         the answer (set as the local description)
  stdout {"rx_buffers": N, "peak_db": X, "pads": N, "ice": S, "connection": S}
                                 every 200 ms: decoded Opus buffers received so far, the
                                 loudest 100 ms level seen (dB), receive pads added
Exits on end of stdin or after --seconds.
"""

import argparse
import json
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

KEEP = []		# promise replies and descriptions: the bindings need them referenced


def out(o):
	sys.stdout.write(json.dumps(o) + "\n")
	sys.stdout.flush()


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--seconds", type=float, default=80)
	ap.add_argument("--freq", type=int, default=440)
	ap.add_argument("--pt", type=int, default=111, help="Opus payload type to offer")
	args = ap.parse_args()
	Gst.init(None)
	pipe = Gst.parse_launch(
		"webrtcbin name=w bundle-policy=max-bundle "
		f"audiotestsrc is-live=true wave=sine freq={args.freq} volume=0.5 ! audioconvert ! "
		"audioresample ! audio/x-raw,rate=48000,channels=1 ! opusenc ! "
		f"rtpopuspay pt={args.pt} ! application/x-rtp,media=audio,encoding-name=OPUS,"
		f"payload={args.pt},clock-rate=48000 ! w.")
	w = pipe.get_by_name("w")
	st = {"rx_buffers": 0, "peak_db": -200.0, "pads": 0, "offered": False}
	loop = GLib.MainLoop()

	def on_offer(promise, _w, _data):
		promise.wait()
		reply = promise.get_reply()
		offer = reply.get_value("offer")
		KEEP.extend([reply, offer])
		w.emit("set-local-description", offer, Gst.Promise.new())
		out({"offer": offer.sdp.as_text()})

	def on_negotiation_needed(_w):
		# Once: later renegotiations are mrelay's offers.
		if st["offered"]:
			return
		st["offered"] = True
		w.emit("create-offer", None, Gst.Promise.new_with_change_func(on_offer, w, None))

	def on_answer(promise, _w, _data):
		promise.wait()
		reply = promise.get_reply()
		ans = reply.get_value("answer")
		KEEP.extend([reply, ans])
		w.emit("set-local-description", ans, Gst.Promise.new())
		out({"answer": ans.sdp.as_text()})

	def on_remote_offer_set(promise, _w, _data):
		promise.wait()
		KEEP.append(promise.get_reply())
		w.emit("create-answer", None, Gst.Promise.new_with_change_func(on_answer, w, None))

	def count(_pad, _info):
		st["rx_buffers"] += 1
		return Gst.PadProbeReturn.OK

	def on_pad(_w, pad):
		if pad.get_direction() != Gst.PadDirection.SRC:
			return
		st["pads"] += 1
		caps = pad.get_current_caps()
		enc = caps.get_structure(0).get_string("encoding-name") if caps else None
		if enc is not None and enc.upper() != "OPUS":
			sink = Gst.ElementFactory.make("fakesink")
			pipe.add(sink)
			sink.sync_state_with_parent()
			pad.link(sink.get_static_pad("sink"))
			return
		b = Gst.parse_bin_from_description(
			"rtpopusdepay ! opusdec ! audioconvert ! "
			"level interval=100000000 post-messages=true ! fakesink sync=false", True)
		pipe.add(b)
		b.sync_state_with_parent()
		pad.link(b.get_static_pad("sink"))
		dec = [e for e in b.iterate_elements() if e.get_factory().get_name() == "opusdec"]
		if dec:
			dec[0].get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, count)

	def on_message(_bus, msg):
		if msg.type == Gst.MessageType.ELEMENT and msg.get_structure().get_name() == "level":
			peak = msg.get_structure().get_value("peak")
			if peak:
				st["peak_db"] = max(st["peak_db"], max(peak))
		elif msg.type == Gst.MessageType.ERROR:
			err, dbg = msg.parse_error()
			out({"error": f"{err.message} ({dbg})"})
			loop.quit()

	def tick():
		out({**st, "ice": w.get_property("ice-connection-state").value_nick,
		     "connection": w.get_property("connection-state").value_nick})
		return True

	def set_answer(text):
		ok, msg = GstSdp.SDPMessage.new_from_text(text)
		if ok != GstSdp.SDPResult.OK:
			out({"error": "the answer does not parse"})
			loop.quit()
			return False
		ans = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
		KEEP.append(ans)
		w.emit("set-remote-description", ans, Gst.Promise.new())
		return False

	def set_offer(text):
		ok, msg = GstSdp.SDPMessage.new_from_text(text)
		if ok != GstSdp.SDPResult.OK:
			out({"error": "the offer does not parse"})
			loop.quit()
			return False
		off = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.OFFER, msg)
		KEEP.append(off)
		w.emit("set-remote-description", off,
		       Gst.Promise.new_with_change_func(on_remote_offer_set, w, None))
		return False

	def stdin_reader():
		for line in sys.stdin:
			o = json.loads(line)
			if "answer" in o:
				GLib.idle_add(set_answer, o["answer"])
			if "offer" in o:
				GLib.idle_add(set_offer, o["offer"])
		GLib.idle_add(loop.quit)

	w.connect("on-negotiation-needed", on_negotiation_needed)
	w.connect("pad-added", on_pad)
	bus = pipe.get_bus()
	bus.add_signal_watch()
	bus.connect("message", on_message)
	pipe.set_state(Gst.State.PLAYING)
	threading.Thread(target=stdin_reader, daemon=True).start()
	GLib.timeout_add(200, tick)
	GLib.timeout_add(int(args.seconds * 1000), loop.quit)
	loop.run()
	pipe.set_state(Gst.State.NULL)
	return 0


if __name__ == "__main__":
	sys.exit(main())
