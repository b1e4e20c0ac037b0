"""tg-archive 1.3.1's own sync on the bench's demo Telegram, for bench/archive.py's comparison.

tg-archive (PyPI ``tg-archive==1.3.1``) is what many people archive groups with. It pins an older
Telethon, so it runs in a bench-only virtualenv (created on first use under
``~/.cache/teleconnect-bench/tgarchive-venv``) holding tg-archive without its dependencies, its
other pinned dependencies, and this project's Telethon from requirements.txt.

Run in that venv, this file is the driver: it sets up Django as bench/_setup does (for the demo
Telegram), opens the world file bench/archive.py seeded, and replaces the ``TelegramClient(...)``
that tgarchive.sync constructs by a client from ``bench._setup.client_factory`` on the same
signed-in session. tg-archive archives one group per run into its own SQLite file, so the driver
runs its ``Sync`` once per dialog (``fetch_wait: 0``: no sleep between its batches; no avatars,
no media) and prints one JSON line: messages stored and seconds spent in ``Sync`` (the client's
construction and start included, as in a real run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION = "1.3.1"
# tg-archive 1.3.1's pinned requirements, except telethon (this project's version instead).
DEPENDENCIES = [
    "feedgen==1.0.0", "jinja2==3.1.6", "lxml==5.3.1", "markupsafe==3.0.2", "pillow==11.1.0", "pyaes==1.6.1",
    "pyasn1==0.6.1", "python-dateutil==2.9.0.post0", "python-magic==0.4.27", "pytz==2025.1", "pyyaml==6.0.2",
    "rsa==4.9", "setuptools>=76.0.0", "six==1.17.0",
]  # fmt: skip


def venv_dir() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "teleconnect-bench" / "tgarchive-venv"


def _telethon_pin() -> str:
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.lower().startswith("telethon=="):
            return line.strip()
    raise RuntimeError("requirements.txt pins no Telethon")


def ensure_venv(log: Callable[[str], object] = print) -> Path:
    """The venv's python, creating the venv first if it is missing or incomplete."""
    venv = venv_dir()
    python = venv / "bin" / "python"
    probe = "import tgarchive.sync, telethon; print(telethon.__version__)"
    if python.exists():
        found = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=False)  # noqa: S603
        if found.returncode == 0 and _telethon_pin().split("==")[1] == found.stdout.strip():
            return python
    log(f"creating the tg-archive venv in {venv} (once)")
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)  # noqa: S603
    pip: list[str | Path] = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, f"tg-archive=={VERSION}", "--no-deps"], check=True)  # noqa: S603
    subprocess.run([*pip, *DEPENDENCIES, _telethon_pin()], check=True)  # noqa: S603
    return python


def run(world_path: Path, session: str, peers: list[int], workdir: Path, *, server: str = "") -> dict[str, float]:
    """Run the driver in the venv (from the project's interpreter); returns its JSON result.

    ``server``: the address of the demo Telegram's own process (bench/_demo_server.py), if it answers from one.
    """
    python = ensure_venv()
    project_site = [p for p in sys.path if p.endswith("site-packages")]
    env = {
        **os.environ,
        "BENCH_SESSION": session,
        "BENCH_PROJECT_SITE": os.pathsep.join(project_site),
        "BENCH_DEMO_SERVER": server,
    }
    for name in ("TELECONNECT_VAR_DIR", "DATABASE_URL", "SESSION_ENCRYPTION_KEY", "TELEGRAM_DEMO_STATE"):
        env.pop(name, None)  # the driver makes its own fresh environment, as bench/_setup does
    result = subprocess.run(  # noqa: S603 - the venv's interpreter and this file
        [python, __file__, str(world_path), str(workdir), *map(str, peers)],
        env=env,
        cwd=workdir,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def _drive(world_path: str, workdir: str, peers: list[int]) -> None:
    """In the tg-archive venv: sync every dialog with tg-archive's own code, print the figures."""
    sys.path.insert(0, str(ROOT))
    # Django and the app's other dependencies come from the project's venv, after the venv's own
    # packages (so tg-archive's pins and this venv's Telethon win).
    sys.path.extend(os.environ.get("BENCH_PROJECT_SITE", "").split(os.pathsep))
    import logging

    from bench import _setup

    _setup.bootstrap()
    world = _setup.new_world(Path(world_path))
    if os.environ.get("BENCH_DEMO_SERVER"):  # the same server process as the bench's own clients
        from bench import _demo_server

        world = _demo_server.remote_world(Path(world_path), os.environ["BENCH_DEMO_SERVER"])
    _setup.use_world(world)
    session = os.environ["BENCH_SESSION"]

    import tgarchive  # type: ignore[import-not-found]
    import tgarchive.sync  # type: ignore[import-not-found]
    from tgarchive.db import DB  # type: ignore[import-not-found]

    logging.getLogger().setLevel(logging.WARNING)  # tg-archive logs every 300 messages at INFO

    def client(_session_file: str, api_id: int, api_hash: str, **_kwargs: object) -> object:
        return _setup.client_factory(session, api_id=int(api_id), api_hash=str(api_hash))

    tgarchive.sync.TelegramClient = client  # what Sync.new_client() constructs
    config = dict(tgarchive._CONFIG)
    config.update(
        api_id=1, api_hash="0" * 32, fetch_wait=0, download_avatars=False, download_media=False,
        media_dir=str(Path(workdir) / "media"),
    )  # fmt: skip
    stored = 0
    seconds = cpu = 0.0
    answered_before = world.requests[("messages.getHistory", "ok")]  # a server process counts everyone's
    for peer in peers:
        db_path = Path(workdir) / f"tgarchive-{peer}.sqlite"
        db = DB(str(db_path))
        started, cpu_started = time.perf_counter(), time.process_time()
        sync = tgarchive.sync.Sync({**config, "group": str(peer)}, "unused.session", db)
        sync.sync()
        seconds += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
        sync.client.disconnect()
        stored += db.conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        db.conn.close()
    requests = world.requests[("messages.getHistory", "ok")] - answered_before
    print(json.dumps({"messages": stored, "seconds": seconds, "cpu_seconds": cpu, "requests": requests}))


if __name__ == "__main__":
    _drive(sys.argv[1], sys.argv[2], [int(peer) for peer in sys.argv[3:]])
