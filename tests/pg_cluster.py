"""A throwaway PostgreSQL cluster for tests: initdb in a temp dir, a free port on loopback
(and a unix socket in the same dir), trust authentication, fsync off (a server crash
loses nothing committed; only a machine crash could). Run as root, the
server runs as `nobody` (PostgreSQL refuses root). One cluster per test session; each test
gets its own database, created from a template in a few milliseconds.

    cluster = PgCluster.start()     # durable=True: fsync on (the bench measures with it)
    url = cluster.database()        # a fresh, empty database's URL
    cluster.stop(); cluster.start_again()    # a database restart, for fault tests
    cluster.destroy()
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

UNPRIVILEGED = "nobody"


def find_bin_dir() -> Path | None:
    """Where initdb and pg_ctl are: PATH, else Debian's /usr/lib/postgresql/<v>/bin."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                   else 0)
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PgCluster:
    """One running throwaway cluster."""

    def __init__(self, bin_dir: Path, home: Path, port: int, durable: bool = False) -> None:
        self.durable = durable
        self.bin_dir = bin_dir
        self.home = home
        self.data = home / "data"
        self.port = port
        self._names = itertools.count(1)

    # -- life cycle ----------------------------------------------------------------------

    @classmethod
    def start(cls, durable: bool = False) -> PgCluster:
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL's initdb is not installed: run `make system-deps` "
                               "(Debian package postgresql)")
        home = Path(tempfile.mkdtemp(prefix="lichnhac-pg-"))
        if os.geteuid() == 0:
            user = pwd.getpwnam(UNPRIVILEGED)
            os.chown(home, user.pw_uid, user.pw_gid)
        cluster = cls(bin_dir, home, _free_port(), durable)
        try:
            cluster._run("initdb", "-D", str(cluster.data), "-U", "postgres", "-A", "trust",
                         "-E", "UTF8", "--locale=C", "--no-sync")
            cluster.start_again()
        except BaseException:
            cluster.destroy()
            raise
        cluster._template()
        return cluster

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin_dir / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", UNPRIVILEGED, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120,
                              check=False, cwd=self.home)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stdout}"
                               f"{done.stderr}")

    def start_again(self) -> None:
        """Start (or restart after `stop`) the server on the same port and data."""
        options = (f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 "
                   f"{'' if self.durable else '-c fsync=off -c full_page_writes=off '}"
                   "-c max_connections=200")
        for attempt in range(3):
            try:
                self._run("pg_ctl", "-D", str(self.data), "-l", str(self.home / "log"),
                          "-o", options, "-w", "-t", "60", "start")
                return
            except RuntimeError:
                if attempt == 2:
                    raise
                self.port = _free_port()   # someone took the port meanwhile
                options = options.replace(options.split()[1], str(self.port), 1)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`immediate`: as a crash would)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        """Stop the server if it runs, and remove everything."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self.stop("immediate")
        shutil.rmtree(self.home, ignore_errors=True)

    # -- databases -----------------------------------------------------------------------

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _template(self) -> None:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE lichnhac_template TEMPLATE template0")

    def database(self) -> str:
        """A new empty database (no schema): its URL."""
        name = f"test_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE lichnhac_template")
        return self.url(name)
