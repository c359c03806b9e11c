"""Local stand-ins for the ESO carbon-intensity API and Electricity Maps' forecast."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "forecast-token-xyz"


class FakeForecasts(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[str] = []
        self.values: list[float] = [300.0] * 20 + [100.0] * 8 + [300.0] * 68  # 48 h, 30 min
        self.status = 200
        self.body: bytes | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeForecasts

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        if self.server.status != 200:
            return self._send(self.server.status, b"{}")
        if self.server.body is not None:
            return self._send(200, self.server.body)
        if self.path.startswith("/intensity/"):
            stamp = self.path.split("/")[2]
            start = datetime.strptime(stamp, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)
            rows = [
                {
                    "from": (start + timedelta(minutes=30 * k)).strftime("%Y-%m-%dT%H:%MZ"),
                    "to": (start + timedelta(minutes=30 * k + 30)).strftime("%Y-%m-%dT%H:%MZ"),
                    "intensity": {"forecast": v, "actual": None, "index": "moderate"},
                }
                for k, v in enumerate(self.server.values)
            ]
            return self._send(200, json.dumps({"data": rows}).encode())
        if self.path.startswith("/v3/carbon-intensity/forecast"):
            if self.headers.get("auth-token") != TOKEN:
                return self._send(401, b'{"error": "bad token"}')
            now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
            rows = [
                {"carbonIntensity": v, "datetime": (now + timedelta(hours=k)).isoformat()}
                for k, v in enumerate(self.server.values)
            ]
            return self._send(200, json.dumps({"zone": "DE", "forecast": rows}).encode())
        return self._send(404, b"{}")

    def _send(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def running_forecasts() -> Iterator[FakeForecasts]:
    """Start the stand-in on a free local port; stop it afterwards."""
    srv = FakeForecasts()
    thread = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)
