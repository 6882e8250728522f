"""Loopback servers for domain-policy tests: an allowed site whose forms are answered
with a redirect of any status, and sinks on addresses outside the allowlist (raw IP
literals) that record whatever reaches them, so a leak is seen, not guessed."""

from __future__ import annotations

import html
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

FORM = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Order</title></head>
<body><h1>Order</h1>
<form method="post" action="/answer?code={code}&amp;to={to}" enctype="{enctype}">
<label>Note <input name="note" value="hello"></label>
{file}
<button type="submit">Send</button>
</form></body></html>"""

FILE_INPUT = '<label>Attachment <input type="file" name="doc"></label>'


class _Handler(BaseHTTPRequestHandler):
    server: Recorder
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read `hits`, not logs."""

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.hits.append((self.command, self.path, body))
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if parts.path == "/form":
            multipart = "file" in query
            page = FORM.format(
                code=query["code"][0],
                to=html.escape(quote(query["to"][0], safe="")),
                enctype="multipart/form-data" if multipart else "application/x-www-form-urlencoded",
                file=FILE_INPUT if multipart else "",
            )
            self._send(200, page.encode())
        elif parts.path == "/answer":
            self._send(int(query["code"][0]), b"moved", Location=query["to"][0])
        else:
            page = f"<!doctype html><title>Landed</title><h1>Landed {self.command}</h1>"
            self._send(200, page.encode())

    def _send(self, status: int, body: bytes, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


class Recorder(ThreadingHTTPServer):
    """A server on one address; `hits` holds (method, path, body) of every request."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, host: str) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.hits: list[tuple[str, str, bytes]] = []
        super().__init__((host, 0), _Handler)

    @property
    def origin(self) -> str:
        host, port = self.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in str(host) else f"http://{host}:{port}"

    def paths(self, marker: str = "") -> list[str]:
        return [p for _, p, _ in self.hits if marker in p]


@contextmanager
def serving(*hosts: str) -> Iterator[list[Recorder]]:
    """One Recorder per host, each in its own thread; all stopped on exit."""
    servers = [Recorder(h) for h in hosts]
    threads = [
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        for s in servers
    ]
    for t in threads:
        t.start()
    try:
        yield servers
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()
        for t in threads:
            t.join(timeout=5)


def ipv6_loopback() -> bool:
    """Whether [::1] can be bound here (containers may lack IPv6)."""
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True
