"""A loopback git server over smart HTTP that fails the way real networks do.

Real `git http-backend` answers every request as a CGI behind a threaded
http.server, so git speaks its real protocols (v2 ls-refs and fetch, and
receive-pack for pushes). Three kinds of trouble can be switched on:

- faults: about `fault_rate` of the connections fail: closed without a reply,
  reset (SO_LINGER 0), or cut in the middle of an answer. git sends two or
  three requests on a kept-alive connection (the ref advertisement, ls-refs or
  receive-pack, fetch), so each request fails with the chance that makes a
  connection of 2.5 requests fail at `fault_rate`, and a fault can land on any
  of them, a pack included. Each repository draws from a generator of its own,
  so a seed gives the same faults whatever order parallel syncs connect in.
- scripted faults (`fail_next`): the next requests of a kind fail, for tests
  of one precise moment (the answer to a push lost after the mirror took it).
- stalls: a stalled repository's connections (from its `after`-th on) are
  accepted and never answered, or answered a few bytes and then left hanging,
  until the server closes.

Everything binds 127.0.0.1; `log` records every connection for assertions.
"""

from __future__ import annotations

import os
import random
import re
import socket
import struct
import subprocess
import sys
import threading
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

__all__ = ["FAULTS", "Connection", "Fault", "FlakyGitServer", "Stall", "flaky_git_server"]

Fault = Literal["drop", "reset", "cut"]
FAULTS: tuple[Fault, ...] = ("drop", "reset", "cut")

_SERVICE = re.compile(r"^(?P<repo>/.+?)/(?:info/refs|git-upload-pack|git-receive-pack|HEAD)$")


@dataclass
class Connection:
    """One TCP connection as the server saw it."""

    repo: str = ""
    fault: Fault | None = None  # the fault that ended it, at its last request
    stalled: bool = False
    requests: list[str] = field(default_factory=list)  # "GET /x.git/info/refs?..."


@dataclass(frozen=True)
class Stall:
    sent: int = 0  # bytes of an answer sent before hanging; 0: never answer at all
    after: int = 0  # connections to the repository served normally first


@dataclass
class FlakyGitServer:
    root: Path
    fault_rate: float = 0.0
    seed: int = 0
    stalls: dict[str, Stall] = field(default_factory=dict)  # by repository, as in "/numpy"
    url: str = ""
    log: list[Connection] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the server's own failures: test bugs
    scripted: list[tuple[str, str, Fault]] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)
    _generators: dict[str, random.Random] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def repo_url(self, repo: str) -> str:
        return f"{self.url}/{repo.strip('/')}"

    def stall(self, repo: str, *, sent: int = 0, after: int = 0) -> None:
        """Stall `repo`'s connections from now on, once `after` more have been served."""
        key = "/" + repo.strip("/")
        with self._lock:
            self.stalls[key] = Stall(sent=sent, after=len(self.connections_to(key)) + after)

    def fail_next(self, repo: str, fault: Fault, *, request: str = "", times: int = 1) -> None:
        """Fail the next `times` requests to `repo` whose request line contains `request`."""
        with self._lock:
            self.scripted += [("/" + repo.strip("/"), request, fault)] * times

    def unstall(self, repo: str) -> None:
        with self._lock:
            self.stalls.pop("/" + repo.strip("/"), None)

    def faults(self) -> Counter[Fault]:
        """The faults git met, by kind."""
        return Counter(c.fault for c in self.log if c.fault is not None)

    def connections_to(self, repo: str) -> list[Connection]:
        return [c for c in self.log if c.repo == "/" + repo.strip("/")]

    def open_connection(self, repo: str) -> Connection:
        """Record a new connection to `repo`; it stalls if `repo` stalls."""
        with self._lock:
            stall = self.stalls.get(repo)
            stalled = stall is not None and len(self.connections_to(repo)) >= stall.after
            connection = Connection(repo=repo, stalled=stalled)
            self.log.append(connection)
            return connection

    def draw_fault(self, connection: Connection) -> Fault | None:
        """The fault of the connection's latest request, if any."""
        per_request = 1 - (1 - self.fault_rate) ** (1 / 2.5)
        with self._lock:
            for n, (repo, request, fault) in enumerate(self.scripted):
                if repo == connection.repo and request in connection.requests[-1]:
                    del self.scripted[n]
                    connection.fault = fault
                    return fault
            rng = self._generators.setdefault(connection.repo,
                                              random.Random(f"{self.seed}:{connection.repo}"))
            connection.fault = rng.choice(FAULTS) if rng.random() < per_request else None
            return connection.fault


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as git's curl expects of real servers
    server: _Server
    connection_log: Connection | None = None

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _serve(self) -> None:
        flaky = self.server.flaky
        path = urlsplit(self.path)
        body = self._read_body()
        if self.connection_log is None:
            match = _SERVICE.match(path.path)
            self.connection_log = flaky.open_connection(match["repo"] if match else path.path)
        conn = self.connection_log
        conn.requests.append(f"{self.command} {self.path}")
        if conn.stalled:
            self._stall(flaky.stalls.get(conn.repo, Stall()).sent, flaky.released)
            return
        fault = flaky.draw_fault(conn)
        if fault == "drop":
            self.close_connection = True
            return
        if fault == "reset":
            self._reset()
            return
        status, headers, answer = self._run_http_backend(path.path, path.query, body)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        if fault == "cut":
            self.wfile.write(answer[:len(answer) // 2])
            self.close_connection = True
        else:
            self.wfile.write(answer)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # the CRLF after each chunk
                if size == 0:
                    return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _run_http_backend(self, path: str, query: str,
                          body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_PROJECT_ROOT": str(self.server.flaky.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REMOTE_USER": "flaky-test",  # lets http-backend run receive-pack
            "REMOTE_ADDR": "127.0.0.1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
        }
        # http-backend inflates gzip'd requests itself, and reads the protocol
        # version (v2) from GIT_PROTOCOL.
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = env["HTTP_GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        cgi = subprocess.run(["git", "http-backend"], input=body, env=env,
                             capture_output=True, check=False, timeout=60)
        head, _, answer = cgi.stdout.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        return status, headers, answer

    def _reset(self) -> None:
        """Close with SO_LINGER 0, so the kernel sends a TCP reset instead of a FIN."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # Closed here, not by socketserver, which would send a FIN first.
        os.close(self.connection.detach())
        self.close_connection = True

    def _stall(self, sent: int, released: threading.Event) -> None:
        if sent:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
                             + b"0" * sent)
            self.wfile.flush()
        released.wait()
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, flaky: FlakyGitServer) -> None:
        self.flaky = flaky
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        # git gone mid-answer (killed at its time-out, or its other half failed) is
        # ordinary here; anything else is a bug of this server, kept for the test.
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            self.flaky.errors.append(traceback.format_exc())


@contextmanager
def flaky_git_server(root: Path, *, fault_rate: float = 0.0,
                     seed: int = 0) -> Iterator[FlakyGitServer]:
    """Serve the repositories under `root` at http://127.0.0.1:<port>/<path>."""
    flaky = FlakyGitServer(root, fault_rate=fault_rate, seed=seed)
    httpd = _Server(flaky)
    flaky.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    # A short poll, so that closing the server does not wait half a second.
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield flaky
    finally:
        flaky.released.set()  # let stalled handlers end
        httpd.shutdown()
        httpd.server_close()
        thread.join()
