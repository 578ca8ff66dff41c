"""A real `cpc-rules serve` on 127.0.0.1, started for a test and stopped after it."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import httpx
from conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_log() -> str:
    """The last lines the server of the current `running_server` wrote (for a failure's message)."""
    if _LOG is None:
        return ""
    _LOG.flush()
    _LOG.seek(0)
    return _LOG.read().decode(errors="replace")[-3000:]


_LOG = None


@contextlib.contextmanager
def running_server(*extra: str, timeout: float = 60.0) -> Iterator[str]:
    """Start the server as a user would (`python -m cpc_rules.cli serve`), yield its base URL, stop it.

    Its output goes to a temporary file, not a pipe nobody reads (a full pipe would block the server);
    `server_log()` gives it, and a server that stopped early says why.
    """
    global _LOG
    port = free_port()
    # the time limit of a request (10 s) is a production guard: on a crowded CI machine a first answer may
    # exceed it, and a test must not depend on timing; the limit itself is tested in process (test_service.py)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""), "CPC_RULES_TIME_LIMIT": "300"}
    _LOG = tempfile.TemporaryFile()  # noqa: SIM115 -- read by server_log() while the server runs
    proc = subprocess.Popen(
        [sys.executable, "-m", "cpc_rules.cli", "serve", "--host", "127.0.0.1", "--port", str(port), *extra],
        env=env,
        stdout=_LOG,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError("the server stopped: " + server_log())
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start in time")
            time.sleep(0.2)
        yield base
        if proc.poll() is not None:
            raise RuntimeError(f"the server stopped while in use (exit {proc.returncode}): " + server_log())
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
