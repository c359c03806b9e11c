"""A local stand-in for the Electricity Maps API v3 (used by the live-intensity tests)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

TOKEN = "s3cret-token-abc123"


class FakeElectricityMaps(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict] = []
        self.status = 200
        self.delay_s = 0.0
        self.body: bytes | None = None

    def handle_error(self, request: object, client_address: object) -> None:
        """Stay quiet: a client that timed out on purpose closes the socket early."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeElectricityMaps

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        parsed = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        self.server.requests.append(
            {"path": parsed.path, "query": query, "token": self.headers.get("auth-token")}
        )
        if self.server.delay_s:
            time.sleep(self.server.delay_s)
        if self.headers.get("auth-token") != TOKEN:
            return self._send(401, b'{"error": "bad token"}')
        if self.server.status != 200:
            return self._send(self.server.status, b'{"error": "boom"}')
        if self.server.body is not None:
            return self._send(200, self.server.body)
        stamp = query.get("datetime", "2026-11-25T18:00:00.000Z")
        answer = {
            "zone": query.get("zone"),
            "carbonIntensity": 123 if parsed.path.endswith("latest") else 456,
            "datetime": stamp,
            "updatedAt": "2026-11-25T18:05:00.000Z",
            "emissionFactorType": query.get("emissionFactorType", "lifecycle"),
            "isEstimated": False,
        }
        self._send(200, json.dumps(answer).encode())

    def _send(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # A client that timed out on purpose has closed the socket: nothing to report.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)


@contextmanager
def running_server() -> Iterator[FakeElectricityMaps]:
    """Start the stand-in on a free local port; stop it afterwards."""
    srv = FakeElectricityMaps()
    thread = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
