"""A throwaway PostgreSQL server for the tests: initdb and pg_ctl in a temporary folder.

It fails with a clear message when PostgreSQL is not installed (``make test`` installs it); it
is never skipped. When the tests run as root the server runs as the ``postgres`` OS user, in a
folder that user owns, because initdb refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg


def _binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb). The web tests run "
            "against PostgreSQL as well as SQLite: install the Debian package 'postgresql' "
            "(make test does this)."
        )
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    folder: Path
    port: int
    bin: Path
    run_as: str | None

    @classmethod
    def start(cls, *, durable: bool = False) -> PostgresServer:
        """Start a new server. The tests run without ``fsync`` for speed; ``durable=True`` keeps
        ``fsync`` on, as a production server has it (the benchmarks must pay for durable commits).
        """
        bin_dir = _binaries()
        run_as = "postgres" if os.geteuid() == 0 else None
        folder = Path(tempfile.mkdtemp(prefix="attunement-pg-"))
        if run_as:
            entry = pwd.getpwnam(run_as)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        server = cls(folder, _free_port(), bin_dir, run_as)
        fsync = "on" if durable else "off"
        server._run("initdb", "-D", str(folder / "data"), "-U", "postgres", "-A", "trust", "--no-sync")
        server._run(
            "pg_ctl",
            "-D",
            str(folder / "data"),
            "-l",
            str(folder / "log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {server.port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync={fsync}",
            "start",
        )
        return server

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{program} failed: {result.stdout}\n{result.stderr}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def fresh_database_url(self) -> str:
        """A new empty database on the server, so each test starts clean."""
        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
