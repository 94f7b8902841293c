# SPDX-License-Identifier: BSD-3-Clause
"""Headless Firefox driven over WebDriver BiDi, with no geckodriver (Debian 12 has none).

firefox-esr started with --remote-debugging-port listens for WebDriver BiDi on a WebSocket
(ws://127.0.0.1:PORT/session); this is a small client of it: session.new, navigate, and
script.callFunction with awaitPromise. Firefox runs inside a network namespace and so does the
WebSocket (the thread that owns the connection enters the namespace before connecting).

The object looks enough like the Chromium one in test_webrtc.py (ns, name, js, get, quit, and
drv.execute_script / drv.execute_async_script with Selenium's calling conventions) that the
same page checks run against both browsers.
"""

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

import harness as h

FIREFOX = "/usr/bin/firefox-esr"

# A fresh profile: fake microphone and camera without a prompt, host candidates with real
# addresses (no mDNS names), autoplay allowed, nothing that would reach for a network.
PREFS = {
	"media.navigator.streams.fake": True,
	"media.navigator.permission.disabled": True,
	"media.peerconnection.ice.obfuscate_host_addresses": False,
	"media.autoplay.default": 0,
	"media.autoplay.blocking_policy": 0,
	"browser.shell.checkDefaultBrowser": False,
	"browser.startup.homepage_override.mstone": "ignore",
	"datareporting.policy.dataSubmissionEnabled": False,
	"toolkit.telemetry.reportingpolicy.firstRun": False,
	"app.update.disabledForTesting": True,
	"network.captive-portal-service.enabled": False,
	"network.connectivity-service.enabled": False,
}


class BiDiError(h.SmokeError):
	pass


class _Driver:
	"""Selenium's two script calls over BiDi: a script's return value, or (async) the value
	it passes to its last argument; values cross as JSON."""

	def __init__(self, ff):
		self.ff = ff

	def execute_script(self, script, *args):
		fn = ("function(...a) { const r = (function() {" + script + "\n}).apply(null, "
		      "a.map((x) => JSON.parse(x))); return r === undefined ? null : "
		      "JSON.stringify(r); }")
		return self.ff.call(fn, args)

	def execute_async_script(self, script, *args):
		fn = ("function(...a) { return new Promise((done) => { (function() {" + script +
		      "\n}).apply(null, a.map((x) => JSON.parse(x)).concat([(r) => done(r === undefined ? null : "
		      "JSON.stringify(r))])); }); }")
		return self.ff.call(fn, args)


class Firefox:
	def __init__(self, ns, name, timeout=60):
		if not os.access(FIREFOX, os.X_OK):
			raise h.Skip(f"{FIREFOX} not installed (scripts/setup installs firefox-esr)")
		self.ns = ns
		self.name = name
		self.dir = tempfile.mkdtemp(prefix=f"mrelay-smoke-{h.PID}-firefox-")
		self.profile = os.path.join(self.dir, "profile")
		os.mkdir(self.profile)
		with open(os.path.join(self.profile, "user.js"), "w") as f:
			for k, v in PREFS.items():
				f.write(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n")
		self.port = h.free_tcp_port()
		self.log = os.path.join(self.dir, "firefox.log")
		self._ids = itertools.count(1)
		self._loop = None
		self._ws = None
		self.proc = None
		self.drv = _Driver(self)
		h.CLEANUP.add(f"firefox {name}", self.quit)
		env = dict(os.environ, HOME=self.dir, MOZ_CRASHREPORTER_DISABLE="1",
			   MOZ_DISABLE_CONTENT_SANDBOX="1")
		with open(self.log, "wb") as lf:
			self.proc = subprocess.Popen(
				["ip", "netns", "exec", ns, FIREFOX, "--headless", "--no-remote",
				 "--profile", self.profile, "--remote-debugging-port", str(self.port),
				 "about:blank"], stdout=lf, stderr=subprocess.STDOUT, env=env,
				start_new_session=True)
		deadline = time.monotonic() + timeout
		while "WebDriver BiDi listening" not in self.log_text():
			if self.proc.poll() is not None or time.monotonic() > deadline:
				raise h.Skip(f"firefox-esr does not start: {self.log_text()[-300:]!r}")
			time.sleep(0.2)
		self._start_loop()
		self.cmd("session.new", {"capabilities": {}})
		tree = self.cmd("browsingContext.getTree", {})
		self.ctx = tree["contexts"][0]["context"]

	def log_text(self):
		return h.read_text(self.log)

	# -- the WebSocket, owned by a thread inside the namespace ------------------------------

	def _start_loop(self):
		import websockets
		ready = threading.Event()
		err = []

		def run():
			with h.inside(self.ns):
				self._loop = asyncio.new_event_loop()
				asyncio.set_event_loop(self._loop)

				async def connect():
					return await websockets.connect(
						f"ws://127.0.0.1:{self.port}/session", max_size=1 << 24)
				try:
					self._ws = self._loop.run_until_complete(connect())
				except Exception as e:	# noqa: BLE001 - reported below
					err.append(e)
					ready.set()
					return
			ready.set()
			self._loop.run_forever()
		self._thread = threading.Thread(target=run, daemon=True)
		self._thread.start()
		ready.wait(15)
		if err or self._ws is None:
			raise h.SmokeError(f"firefox {self.name}: BiDi connection: {err}")

	async def _cmd(self, method, params):
		i = next(self._ids)
		await self._ws.send(json.dumps({"id": i, "method": method, "params": params}))
		while True:
			m = json.loads(await self._ws.recv())
			if m.get("id") == i:
				return m

	def cmd(self, method, params, timeout=30):
		f = asyncio.run_coroutine_threadsafe(self._cmd(method, params), self._loop)
		m = f.result(timeout)
		if m.get("type") == "error" or "error" in m:
			raise BiDiError(f"firefox {self.name}: {method}: {m.get('error')}: "
					f"{m.get('message')}")
		return m["result"]

	def call(self, fn, args=()):
		r = self.cmd("script.callFunction", {
			"functionDeclaration": fn, "awaitPromise": True,
			"target": {"context": self.ctx},
			"arguments": [{"type": "string", "value": json.dumps(a)} for a in args]})
		if r.get("type") == "exception":
			raise BiDiError(f"firefox {self.name}: script: "
					f"{r['exceptionDetails'].get('text')}")
		v = r.get("result") or {}
		return json.loads(v["value"]) if v.get("type") == "string" else None

	# -- what the tests call -------------------------------------------------------------------

	def js(self, script, *args):
		return self.drv.execute_script(script, *args)

	def get(self, url):
		self.cmd("browsingContext.navigate", {"context": self.ctx, "url": url,
						      "wait": "complete"})

	def quit(self):
		if self._loop is not None:
			with contextlib.suppress(Exception):
				self.cmd("browser.close", {}, timeout=5)
			with contextlib.suppress(Exception):
				asyncio.run_coroutine_threadsafe(self._ws.close(), self._loop).result(5)
			self._loop.call_soon_threadsafe(self._loop.stop)
			self._loop = None
		if self.proc is not None:
			with contextlib.suppress(ProcessLookupError):
				os.killpg(self.proc.pid, 15)
			try:
				self.proc.wait(10)
			except subprocess.TimeoutExpired:
				with contextlib.suppress(ProcessLookupError):
					os.killpg(self.proc.pid, 9)
				self.proc.wait(5)
			self.proc = None
		shutil.rmtree(self.dir, ignore_errors=True)
