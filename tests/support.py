"""Helpers every kind of test needs: a free local port, and waiting for a process to answer on one."""

from __future__ import annotations

import socket
import subprocess
import time


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (also: a port where a connection is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_listening(port: int, process: subprocess.Popen | None = None, timeout: float = 30) -> None:
    """Return once 127.0.0.1:`port` accepts connections; fail at once if `process` exits, or after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if process is not None and process.poll() is not None:
                raise AssertionError(f"{process.args} exited with {process.returncode} before listening") from None
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listened on 127.0.0.1:{port} within {timeout:g}s") from None
            time.sleep(0.1)
