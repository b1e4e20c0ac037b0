"""Shared plumbing for the benchmark scripts: a throwaway Django environment and the demo Telegram.

Each script calls :func:`bootstrap` before importing anything from the app. It points every
setting at a fresh temporary directory (SQLite database, var dir, demo Telegram state), generates
an encryption key, routes TELEGRAM_CLIENT_FACTORY to :func:`client_factory` below, runs
``django.setup()`` and the migrations. Nothing in the repository's ``var/`` is touched.

The factory contract is a dotted path, so the benchmarks swap the world behind this one stable
function (as tests/support.py does for the tests) instead of patching the product.
"""

from __future__ import annotations

import argparse
import atexit
import math
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/archive.py` puts bench/ first on sys.path, not the repo
    sys.path.insert(0, str(ROOT))

ADA = "+9996621001"  # demo account without 2FA; its code is 22222 (test-DC convention)
ADA_CODE = "22222"

_current: dict[str, Any] = {}


def log(message: str) -> None:
    """Progress goes to stderr so stdout holds only the figures."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def bootstrap(*, database_url: str = "", keep: bool = False) -> Path:
    """A fresh settings environment in a temporary directory, Django set up and migrated."""
    from cryptography.fernet import Fernet

    workdir = Path(tempfile.mkdtemp(prefix="teleconnect-bench-"))
    if not keep:
        atexit.register(shutil.rmtree, workdir, True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "teleconnect.settings")
    os.environ["TELECONNECT_VAR_DIR"] = str(workdir / "var")
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["SESSION_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    os.environ["TELEGRAM_API_ID"] = "0"  # demo mode, whatever the shell exports
    os.environ["TELEGRAM_CLIENT_FACTORY"] = "bench._setup.client_factory"
    os.environ["TELEGRAM_DEMO_STATE"] = str(workdir / "demo-telegram.sqlite3")
    os.environ["AWS_S3_SESSION_BUCKET"] = ""
    os.environ["REDIS_URL"] = ""
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    # whitenoise warns when collectstatic never ran (a fresh clone): irrelevant to the figures
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return workdir


# -- the demo Telegram ------------------------------------------------------------------------------


def client_factory(session: str, *, api_id: int, api_hash: str, **client_kwargs: Any) -> Any:
    """TELEGRAM_CLIENT_FACTORY for the benchmarks: a client of the world chosen by :func:`use_world`."""
    return _current["world"].client_factory(session, api_id=api_id, api_hash=api_hash, **client_kwargs)


def use_world(world: Any) -> None:
    _current["world"] = world


def new_world(path: Path) -> Any:
    """A DemoTelegram on its own SQLite file that counts the requests its DCs answer, by method.

    ``world.requests[(method, outcome)]``: outcome is "ok", "flood" (FLOOD_WAIT answer) or "error".
    Counted where the fake sender hands each request to the world, i.e. once per MTProto request.
    ``world.latency`` (seconds) delays every answer, standing for a network round trip.
    """
    from telethon.tl import functions

    from sessions_app.telegram.fake import DemoTelegram
    from sessions_app.telegram.fake.rpc import Rpc, method_name

    wrappers = (
        functions.InvokeWithLayerRequest,
        functions.InvokeWithoutUpdatesRequest,
        functions.InitConnectionRequest,
        functions.InvokeWithTakeoutRequest,
    )

    class CountingTelegram(DemoTelegram):
        requests: Counter[tuple[str, str]]
        latency: float  # seconds each request takes on the "network", 0 for none

        def _invoke(self, dc: int, auth_key: Any, request: Any) -> Any:
            if self.latency:
                # The fake answers inside the client's event loop; a blocking sleep stands for the
                # round trip of a client that waits for each answer before sending the next request.
                time.sleep(self.latency)
            inner = request
            while isinstance(inner, wrappers):
                inner = inner.query
            name = method_name(inner)
            try:
                answer = super()._invoke(dc, auth_key, request)
            except Rpc as rpc:
                outcome = "flood" if rpc.code == 420 else "error"
                self.requests[(name, outcome)] += 1
                raise
            self.requests[(name, "ok")] += 1
            return answer

    world = CountingTelegram(str(path))
    world.requests = Counter()
    world.latency = 0.0
    return world


def demo_session(phone: str = ADA, code: str = ADA_CODE) -> str:
    """A signed-in session string on the current world, made the way the login flow makes one."""
    from sessions_app.telegram import client as telegram_client
    from sessions_app.telegram.login import send_code, sign_in_code

    api = telegram_client.default_credentials()
    sent = send_code(session="", phone=phone, api=api)
    signed = sign_in_code(session=sent.session, phone=phone, code=code, phone_code_hash=sent.phone_code_hash, api=api)
    return signed.session


def seed_exactly(world: Any, phone: str, *, total: int, dialogs: int) -> dict[int, int]:
    """Grow ``phone``'s history to exactly ``total`` messages over ``dialogs`` dialogs.

    Returns {peer id: messages in that dialog}. The account starts with a few seeded chats; new
    dialogs get one message when created; the remainder is spread one message per dialog.
    """
    have = sum(len(rows) for rows in world.history_of(phone.lstrip("+")).values())
    existing = len(world.history_of(phone.lstrip("+")))
    created = max(0, dialogs - existing)
    left = total - have - created
    if left < dialogs:
        raise ValueError(f"total={total} is too small for {dialogs} dialogs (the account already has {have})")
    per_dialog, remainder = divmod(left, dialogs)
    world.seed_messages(phone.lstrip("+"), per_dialog=per_dialog, dialogs=dialogs)
    if remainder:
        world.seed_messages(phone.lstrip("+"), per_dialog=1, dialogs=remainder)
    sizes = {peer: len(rows) for peer, rows in world.history_of(phone.lstrip("+")).items() if rows}
    if sum(sizes.values()) != total:
        raise RuntimeError(f"seeded {sum(sizes.values())} messages, wanted {total}")
    return sizes


# -- measuring --------------------------------------------------------------------------------------


def peak_rss_mib() -> float:
    """This process's peak resident set size since it started (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _proc_status_kib(field: str) -> float | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return float(line.split()[1])
    except OSError:
        return None
    return None


def current_rss_mib() -> float | None:
    kib = _proc_status_kib("VmRSS")
    return None if kib is None else kib / 1024


def reset_peak_rss() -> bool:
    """Start a new peak-RSS measurement (Linux: writing 5 to clear_refs resets VmHWM); False if unsupported."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def peak_rss_since_reset_mib() -> float | None:
    """VmHWM: the peak RSS since the last reset_peak_rss() (or since start), None off Linux."""
    kib = _proc_status_kib("VmHWM")
    return None if kib is None else kib / 1024


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least `fraction` of all at or below it.

    Of 50 samples, p50 is the 25th smallest and p95 the 48th.
    """
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def summary_ms(samples: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(samples, 0.50) * 1000,
        "p95": percentile(samples, 0.95) * 1000,
        "mean": statistics.fmean(samples) * 1000,
        "max": max(samples) * 1000,
    }


def machine() -> str:
    """CPUs and load: other work on the machine skews every figure, so each report says what it was."""
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"{os.cpu_count()} CPUs, load average {load} (1/5/15 min), Python {sys.version.split()[0]}"


def fresh_database(database_url: str, *, keep: bool = False) -> str:
    """A new, empty database on the PostgreSQL server of `database_url`, dropped at exit; other URLs as given.

    Every run (and every subprocess of a run) starts from an empty schema, so the same server URL
    can be given again and again. With `keep` the database stays (its name goes to stderr), to look
    into it after the run.
    """
    if not database_url.startswith(("postgres://", "postgresql://")):
        return database_url
    from urllib.parse import urlsplit, urlunsplit

    import psycopg
    from psycopg import sql

    parts = urlsplit(database_url)
    name = f"teleconnect_bench_{os.getpid()}_{time.monotonic_ns() % 1_000_000}"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    if keep:
        log(f"database kept: {name}")
    else:
        atexit.register(drop)
    return urlunsplit(parts._replace(path=f"/{name}"))


def common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        default="",
        help="run against this database instead of a temporary SQLite file (e.g. a throwaway PostgreSQL database)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary directory and a PostgreSQL database (printed on stderr)"
    )
