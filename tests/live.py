"""Live pieces shared by tests and benchmarks: a free loopback port, a real server started and
waited for (uvicorn in a background thread, or `crumbgraph serve` as its own process), and the
flags of the headless chromium."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, BinaryIO

import httpx
import uvicorn

from evidence.pdf import CHROMIUM_ARGS as _PDF_CHROMIUM_ARGS

#: Debian's chromium, headless, without anything that talks to the network on its own (the one
#: list, shared with the case report's PDF rendering)
CHROMIUM_ARGS = list(_PDF_CHROMIUM_ARGS)


def free_port() -> int:
    """A loopback port free right now (another process may take it before it is bound)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_until(ready: Callable[[], bool], alive: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if not alive() or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {timeout:.0f} s")
        time.sleep(0.05)


@contextmanager
def serving(app: Any, *, timeout: float = 30.0, log_level: str = "warning") -> Iterator[str]:
    """Run `app` on uvicorn on a free loopback port in a daemon thread; yield its base URL once
    it accepts connections (lifespan run); stop it (and wait) on exit."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level=log_level, lifespan="on"))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    try:
        _wait_until(lambda: server.started, thread.is_alive, timeout, f"uvicorn on port {port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=timeout)


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def serving_process(
    env: dict[str, str], *, timeout: float = 120.0, log: BinaryIO | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run `crumbgraph serve` (configured by `env`) as its own process on a free loopback port;
    yield (base URL, process) once /health answers 200; terminate it on exit. Its stderr goes to
    `log` (a file: a pipe nobody reads would stall a chatty server); a server that dies or never
    answers raises RuntimeError carrying it."""
    port = free_port()
    cli = Path(sys.executable).with_name("crumbgraph")
    argv = [str(cli), "serve", "--host", "127.0.0.1", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with nullcontext(log) if log is not None else tempfile.TemporaryFile() as sink:
        server = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=sink)
        try:
            try:
                _wait_until(lambda: _healthy(base), lambda: server.poll() is None, timeout, "crumbgraph serve")
            except RuntimeError as exc:
                server.kill()
                server.wait()
                sink.seek(0)
                raise RuntimeError(f"{exc}: {sink.read().decode(errors='replace')}") from None
            yield base, server
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
