"""Run ``attunement serve`` in a child process, as a user would, and wait until it answers.

Used by the browser tests and by the web benchmarks (which import it), so both exercise the
real command line rather than an in-process application object. The server runs in its own
process group; ``kill`` signals that group only, so a hard kill (SIGKILL, as in a crash) takes
down the server and anything it spawned without touching other processes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

READY_TIMEOUT = 180.0


def free_port() -> int:
    """A TCP port that is free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def attunement_command() -> list[str]:
    """The installed ``attunement`` script beside this Python, or the module run through it."""
    script = Path(sys.executable).with_name("attunement")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from attunement.cli import main; main()"]


class AppServer:
    """One ``attunement serve`` process on 127.0.0.1 and a free port."""

    def __init__(
        self,
        database_url: str,
        *,
        demo: bool = True,
        port: int | None = None,
        env: dict[str, str] | None = None,
        log_dir: Path | None = None,
        extra_args: list[str] | None = None,
    ):
        self.database_url = database_url
        self.demo = demo
        self.port = port or free_port()
        self.env = {**os.environ, **(env or {})}
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="attunement-serve-log-"))
        self.extra_args = list(extra_args or [])
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"serve-{self.starts}.log"

    def command(self) -> list[str]:
        cmd = [
            *attunement_command(),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--database",
            self.database_url,
        ]
        cmd += self.extra_args
        return [*cmd, "--demo"] if self.demo else cmd

    def start(self, timeout: float = READY_TIMEOUT) -> AppServer:
        """Start the server and return once ``/healthz`` answers 200."""
        self.starts += 1
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
        )
        log.close()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"attunement serve exited with {self.process.returncode}:\n{self.output()[-4000:]}"
                )
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"attunement serve not ready after {timeout:.0f}s:\n{self.output()[-4000:]}")

    def output(self) -> str:
        """What the latest server process printed (its address and demo log-ins, its log)."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the server's process group and wait for the server to go."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), falling back to SIGKILL."""
        self.kill(signal.SIGTERM)

    def __enter__(self) -> AppServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
