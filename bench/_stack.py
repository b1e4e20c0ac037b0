"""The servers of a load test, each started from what CI installs and stopped by its own pid.

PostgreSQL (a throwaway cluster, as scripts/test makes one), redis-server, moto's S3 server,
daphne and the Django Tasks worker (`manage.py worker`, as scripts/run starts it). Everything
listens on 127.0.0.1 on a port picked free at start. A :class:`Stack` remembers what it started
and stops exactly that, in reverse order, whatever happens to the run (also on Ctrl+C).
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO

from bench._setup import ROOT, log

PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
BIN = Path(PYTHON).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, *, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with status {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def wait_for_http(url: str, *, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Until ``url`` answers at all (any status): the process has finished starting."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with status {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - our own loopback server
                answer.read()
            return
        except urllib.error.HTTPError:
            return
        except OSError as exc:
            last = str(exc)
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s ({last})")


def newest_postgresql() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


class Stack:
    """Processes started for one setup; :meth:`stop` ends them (its own pids only)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._pg_data: Path | None = None
        self._pg_bin: Path | None = None
        self._logs: list[IO[bytes]] = []

    def _log_file(self, name: str) -> IO[bytes]:
        handle = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 - closed in stop()
        self._logs.append(handle)
        return handle

    def spawn(self, name: str, args: list[str], env: dict[str, str], *, cwd: Path = ROOT) -> subprocess.Popen[bytes]:
        output = self._log_file(name)
        process = subprocess.Popen(args, env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
        self.processes.append((name, process))
        return process

    def tail(self, name: str, lines: int = 15) -> str:
        path = self.workdir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    # -- the engines ------------------------------------------------------------------------------

    def postgresql(self) -> str:
        """A throwaway cluster on 127.0.0.1 (as root it runs as the postgres user); returns its URL."""
        pg_bin = newest_postgresql()
        if pg_bin is None:
            raise RuntimeError("no PostgreSQL server in /usr/lib/postgresql/*/bin (apt-get install postgresql)")
        self._pg_bin = pg_bin
        cluster = self.workdir / "pg"
        cluster.mkdir()
        as_owner: list[str] = []
        if os.geteuid() == 0:
            # The server refuses to run as root: it runs as the package's postgres user, which must
            # be able to reach its directory inside our private (0700) temporary one.
            self.workdir.chmod(0o711)
            shutil.chown(cluster, "postgres")
            as_owner = ["runuser", "-u", "postgres", "--"]
        self._pg_data = cluster / "data"
        subprocess.run(  # noqa: S603 - the installed server's own tools
            [*as_owner, str(pg_bin / "initdb"), f"--pgdata={self._pg_data}", "--username=postgres", "--auth=trust"]
            + ["--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"],
            check=True,
            capture_output=True,
        )
        port = free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={cluster} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        subprocess.run(  # noqa: S603
            [*as_owner, str(pg_bin / "pg_ctl"), f"--pgdata={self._pg_data}", f"--log={cluster / 'server.log'}"]
            + ["--wait", "--timeout=60", "-o", options, "start"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        subprocess.run(  # noqa: S603
            [str(pg_bin / "createdb"), "--host=127.0.0.1", f"--port={port}", "--username=postgres", "teleconnect"],
            check=True,
        )
        return f"postgres://postgres@127.0.0.1:{port}/teleconnect"

    def redis(self) -> str:
        port = free_port()
        process = self.spawn(
            "redis",
            ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
            dict(os.environ),
            cwd=self.workdir,
        )
        wait_for_port(port, timeout=15, process=process)
        return f"redis://127.0.0.1:{port}/0"

    def moto(self) -> str:
        port = free_port()
        process = self.spawn("moto", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], dict(os.environ))
        wait_for_port(port, timeout=30, process=process)
        return f"http://127.0.0.1:{port}"

    # -- the app ----------------------------------------------------------------------------------

    def daphne(self, name: str, env: dict[str, str], app: str = "teleconnect.asgi:application") -> int:
        port = free_port()
        process = self.spawn(name, [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), app], env)
        wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=60, process=process)
        return port

    def worker(self, name: str, env: dict[str, str]) -> None:
        self.spawn(name, [PYTHON, "manage.py", "worker", "--queue-name", "*", "--no-reload"], env)

    def check_alive(self) -> list[str]:
        """Names of the started processes that have exited (a crash during the run)."""
        return [name for name, process in self.processes if process.poll() is not None]

    def stop(self) -> None:
        for name, process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    log(f"{name} (pid {process.pid}) still busy 10 s after SIGTERM (a task running): killing it")
                    process.kill()
                    process.wait(timeout=10)
        self.processes.clear()
        if self._pg_data is not None and self._pg_bin is not None and (self._pg_data / "postmaster.pid").exists():
            as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
            subprocess.run(  # noqa: S603
                [*as_owner, str(self._pg_bin / "pg_ctl"), f"--pgdata={self._pg_data}", "--mode=fast", "--wait", "stop"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
        self._pg_data = None
        for handle in self._logs:
            handle.close()
        self._logs.clear()


def app_env(workdir: Path, **overrides: str) -> dict[str, str]:
    """The environment of every app process of one setup: demo Telegram, fresh secrets, embedded defaults.

    Each variable the app reads that matters here is set explicitly (empty = the embedded default),
    so nothing exported in the calling shell leaks into the measurement.
    """
    from cryptography.fernet import Fernet

    (workdir / "var").mkdir(exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "teleconnect.settings",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "TELECONNECT_VAR_DIR": str(workdir / "var"),
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "SESSION_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "DJANGO_DEBUG": "0",
            "DJANGO_HTTPS": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": "",
            "DATABASE_CONN_MAX_AGE": "",
            "REDIS_URL": "",
            "AWS_S3_SESSION_BUCKET": "",
            "AWS_S3_ENDPOINT": "",
            "TELEGRAM_API_ID": "0",
            "TELEGRAM_API_HASH": "",
            "TELEGRAM_CLIENT_FACTORY": "",
            "TELEGRAM_DEMO_STATE": str(workdir / "demo-telegram.sqlite3"),
            "TELEGRAM_DEMO_DELAY_SECONDS": "0",
            # Ten flows sign in over and over: the per-phone code limit would refuse them after five.
            "LOGIN_SEND_CODE_RATE": "100000/60",
            "LOGIN_RESEND_MIN_SECONDS": "0",
            "TEAM_REQUIRE_2FA": "0",
            "ALERT_WEBHOOK_URLS": "",
            "ALERT_EMAILS": "",
            "LOG_LEVEL": "WARNING",
        }
    )
    env.update(overrides)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    """Run a management command with the setup's environment; its stdout, or RuntimeError with its output."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [PYTHON, "manage.py", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout
