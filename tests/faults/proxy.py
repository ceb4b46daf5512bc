"""A small fault-injecting HTTP proxy for the tests: sits between our gateways and the sandbox.

    proxy = FaultProxy(upstream="http://127.0.0.1:PORT")      # started at once, on a free port
    proxy.add("stkpush", "lose_answer")                        # the next STK push: acted on, answer lost
    settings.SANDBOX_BASE_URL = proxy.url + "/sandbox"

Modes (each rule applies to requests whose path contains `match`, `times` times, default once):
  lose_answer  forward to the provider (it acts), then answer 502 with an HTML page (not its answer)
  timeout      forward (it acts), then hold the answer longer than the client waits, then close
  drop         forward (it acts), then close the connection without any answer
  refuse_5xx   answer 503 without forwarding (the provider never saw it)
  slow:<s>     wait <s> seconds, then forward and answer normally
  fail         answer 500 with a non-provider body, without forwarding (a failing query)
"""

import contextlib
import http.client
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class Rule:
    def __init__(self, match, mode, times):
        self.match, self.mode, self.times = match, mode, times


class FaultProxy:
    def __init__(self, upstream: str, hold_seconds: float = 3.0):
        self.upstream = urlsplit(upstream)
        self.rules: list[Rule] = []
        self.seen: list[tuple[str, str, str]] = []  # (method, path, what was done)
        self.hold_seconds = hold_seconds
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                proxy.handle(self)

            def do_POST(self):
                proxy.handle(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, match, mode, times=1):
        with self.lock:
            self.rules.append(Rule(match, mode, times))

    def clear(self):
        with self.lock:
            self.rules.clear()

    def _rule_for(self, path):
        with self.lock:
            for rule in self.rules:
                if rule.match in path and rule.times != 0:
                    rule.times -= 1
                    return rule.mode
        return None

    def forward(self, handler, body):
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(handler.command, handler.path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response.status, response.getheader("Content-Type") or "application/json", data

    def handle(self, handler):
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        mode = self._rule_for(handler.path) or "pass"
        self.seen.append((handler.command, handler.path, mode))
        if mode == "refuse_5xx":
            return self.answer(handler, 503, "text/html", b"<html><body>503 Service Unavailable</body></html>")
        if mode == "fail":
            return self.answer(handler, 500, "text/html", b"<html><body>Internal error</body></html>")
        if mode.startswith("slow:"):
            time.sleep(float(mode.split(":", 1)[1]))
        status, content_type, data = self.forward(handler, body)
        if mode == "lose_answer":
            return self.answer(handler, 502, "text/html", b"<html><body>502 Bad Gateway</body></html>")
        if mode == "timeout":
            time.sleep(self.hold_seconds)
            handler.close_connection = True
            return None
        if mode == "drop":
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(2)
            return None
        return self.answer(handler, status, content_type, data)

    @staticmethod
    def answer(handler, status, content_type, data):
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
