"""A loopback HTTP server for tests that answers git's smart-HTTP requests as told.

It records every request (path, Authorization header) so tests can assert how
often git came back and with what credentials.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    path: str
    authorization: str | None
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "GET"
    body: bytes = b""


@dataclass
class Server:
    url: str
    requests: list[Recorded] = field(default_factory=list)


# (status, headers) or (status, headers, body)
Answer = tuple[int, dict[str, str]] | tuple[int, dict[str, str], bytes]
Responder = Callable[[Recorded, int], Answer]


@contextmanager
def http_server(respond: Responder) -> Iterator[Server]:
    """Serve on 127.0.0.1; `respond(request, index)` gives (status, headers) for each request."""
    server_state = Server(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.do_GET()

        def do_PUT(self) -> None:
            self.do_GET()

        def do_PATCH(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            recorded = Recorded(self.path, self.headers.get("Authorization"),
                                dict(self.headers.items()), self.command,
                                self.rfile.read(length) if length else b"")
            server_state.requests.append(recorded)
            answer = respond(recorded, len(server_state.requests) - 1)
            status, headers = answer[0], answer[1]
            body = answer[2] if len(answer) == 3 else b""
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        httpd.shutdown()
        httpd.server_close()
