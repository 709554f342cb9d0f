"""A real ``scanroute serve`` process, and a TCP proxy that can cut the store away from it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

EXE = str(Path(sys.executable).with_name("scanroute"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``scanroute serve`` in a subprocess on a free loopback port."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.port = free_port()
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:  # the shared 2-core machine is often loaded
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [EXE, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env={**os.environ, **self.env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.proc = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


@pytest.fixture
def server_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "SCANROUTE_DATABASE_URL": db_url,
        "SCANROUTE_DATA_DIR": str(tmp_path / "data"),
        "SCANROUTE_BASE_URL": "http://sr.test",
        "SCANROUTE_DRAIN_INTERVAL": "0.1",
        "SCANROUTE_SNAPSHOT_INTERVAL": "0.5",
        "SCANROUTE_LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def server(server_env: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    srv = Server(server_env, tmp_path / "server.log")
    srv.start()
    yield srv
    if srv.proc is not None:
        srv.kill()


class Proxy:
    """A TCP forwarder in a thread; ``cut()`` drops every connection and refuses new ones."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._conns: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
            self._listener.close()
            self._listener = None
        with self._lock:
            for s in self._conns:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self._conns.clear()


def scan_many(url: str, slug: str, n: int, *, ua: str, workers: int = 8) -> list[Any]:
    """GET /slug n times from several threads; returns the Location of every 302 received."""
    from concurrent.futures import ThreadPoolExecutor

    def one(_: int) -> str | None:
        try:
            r = httpx.get(f"{url}/{slug}", headers={"user-agent": ua, "accept-language": "en"}, timeout=10)
        except httpx.HTTPError:
            return None
        return r.headers.get("location") if r.status_code == 302 else None

    with ThreadPoolExecutor(workers) as pool:
        return [loc for loc in pool.map(one, range(n)) if loc]
