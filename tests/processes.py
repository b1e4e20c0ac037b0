"""A teleconnect of its own for tests that run `manage.py` in other processes: a SQLite file, a demo
Telegram file and a fresh encryption key under tmp_path, nothing from the caller's environment."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Site:
    env: dict[str, str]
    db_path: Path

    def manage(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def popen(self, *args: str, **kwargs: object) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, text=True, **kwargs)  # type: ignore[call-overload]

    def messages_saved(self) -> int:
        with sqlite3.connect(self.db_path, timeout=30) as db:
            return int(db.execute("SELECT COUNT(*) FROM sessions_app_message").fetchone()[0])


def site(tmp_path: Path, **extra: str) -> Site:
    """A migrated site under tmp_path (demo Telegram, SQLite file)."""
    db_path = tmp_path / "db.sqlite3"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "AWS_", "DATABASE_", "DJANGO_", "REDIS_"))
    }
    env.update(
        DATABASE_URL=f"sqlite:///{db_path}",
        TELECONNECT_VAR_DIR=str(tmp_path / "var"),
        TELEGRAM_DEMO_STATE=str(tmp_path / "telegram.sqlite3"),
        SESSION_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        PYTHONUNBUFFERED="1",
        **extra,
    )
    made = Site(env=env, db_path=db_path)
    migrated = made.manage("migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    return made
