"""Temporary files holding a session string never outlive a failed write (issue 10, item 4).

The local store writes `.session.txt.<random>.tmp` beside the object and renames it over the
object. Each step is made to fail, at the OS boundary or with real file permissions; afterwards
the directory holds the object (unchanged) and its lock file, nothing else.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sessions_app.storage import LocalSessionStore, StoreError, get_session_storage, session_key

REPO = Path(__file__).resolve().parents[2]
SESSION = "temp-bot"
OLD = "1" + "A" * 350
NEW = "1" + "B" * 350


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "session-store"


@pytest.fixture
def store(settings: Any, root: Path) -> LocalSessionStore:
    settings.AWS_S3_SESSION_BUCKET = ""
    settings.SESSION_STORE_DIR = str(root)
    store = get_session_storage()
    assert isinstance(store, LocalSessionStore)
    return store


def directory(root: Path) -> Path:
    return root.joinpath(*session_key(SESSION).split("/")).parent


def files_in(root: Path) -> list[str]:
    return sorted(p.name for p in directory(root).iterdir())


def temp_files(root: Path) -> list[str]:
    return [name for name in files_in(root) if name.endswith(".tmp")]


def etag(content: str) -> str:
    return '"' + hashlib.md5(content.encode()).hexdigest() + '"'  # noqa: S324 - S3's ETag


def fail_when(
    monkeypatch: pytest.MonkeyPatch, name: str, error: BaseException, on: Callable[..., bool] = lambda *a: True
) -> None:
    """Make os.<name> raise `error` when `on(*args)` holds: a fault at the OS boundary."""
    real = getattr(os, name)

    def faulty(*args: Any, **kwargs: Any) -> Any:
        if on(*args):
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(os, name, faulty)


def on_a_temp_file(fd: int, *rest: Any) -> bool:
    return os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp")


class FailingWrites:
    """A file object whose write() fails (a full disk), for os.fdopen to hand out."""

    def __init__(self, real: Any, error: BaseException) -> None:
        self._real, self._error = real, error

    def write(self, data: bytes) -> int:
        raise self._error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def __enter__(self) -> FailingWrites:
        return self

    def __exit__(self, *exc: object) -> None:
        self._real.close()


def fail_writes(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    real = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: FailingWrites(real(fd, *a, **k), error))


STEPS: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "writing the temp file (disk full)": lambda mp: fail_writes(mp, OSError(errno.ENOSPC, "No space left on device")),
    "flushing the temp file to disk": lambda mp: fail_when(
        mp, "fsync", OSError(errno.EIO, "I/O error"), on_a_temp_file
    ),
    "reading the temp file's time": lambda mp: fail_when(mp, "fstat", OSError(errno.EIO, "I/O error"), on_a_temp_file),
    "renaming it over the object (permission)": lambda mp: fail_when(
        mp, "replace", PermissionError(errno.EACCES, "Permission denied")
    ),
    "renaming it over the object (other error)": lambda mp: fail_when(
        mp, "replace", OSError(errno.EXDEV, "Invalid cross-device link")
    ),
}


@pytest.mark.parametrize("step", STEPS)
def test_a_failure_at_any_step_of_a_replace_leaves_no_temp_file(store, root, monkeypatch, step):
    store.save(SESSION, OLD, expected_etag=None)
    STEPS[step](monkeypatch)

    with pytest.raises(StoreError) as failure:
        store.save(SESSION, NEW, expected_etag=etag(OLD))

    monkeypatch.undo()
    assert temp_files(root) == []
    assert files_in(root) == [".session.txt.lock", "session.txt"]
    assert store.load(SESSION).content == OLD
    assert NEW not in failure.value.message


@pytest.mark.parametrize("step", STEPS)
def test_a_failure_at_any_step_of_a_create_leaves_no_temp_file(store, root, monkeypatch, step):
    STEPS[step](monkeypatch)
    with pytest.raises(StoreError):
        store.save(SESSION, NEW, expected_etag=None)
    monkeypatch.undo()
    assert files_in(root) == [".session.txt.lock"]
    assert store.load(SESSION).is_fresh


def test_a_failed_revoke_leaves_no_temp_file(store, root, monkeypatch):
    store.save(SESSION, OLD, expected_etag=None)
    fail_when(monkeypatch, "replace", PermissionError(errno.EACCES, "Permission denied"))
    with pytest.raises(StoreError, match="Access denied clearing"):
        store.clear(SESSION, expected_etag=etag(OLD))
    monkeypatch.undo()
    assert temp_files(root) == [] and store.load(SESSION).content == OLD


def test_an_interrupted_write_removes_its_temp_file_too(store, root, monkeypatch):
    store.save(SESSION, OLD, expected_etag=None)
    fail_writes(monkeypatch, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        store.save(SESSION, NEW, expected_etag=etag(OLD))
    monkeypatch.undo()
    assert temp_files(root) == []


def test_a_failed_cleanup_reports_the_write_error_and_the_next_write_removes_the_leftover(
    store, root, monkeypatch, caplog
):
    store.save(SESSION, OLD, expected_etag=None)
    fail_when(monkeypatch, "replace", OSError(errno.EIO, "I/O error"))
    fail_when(monkeypatch, "unlink", PermissionError(errno.EACCES, "Permission denied"))

    with caplog.at_level(logging.WARNING, logger="sessions_app.storage.local"):
        with pytest.raises(StoreError) as failure:
            store.save(SESSION, NEW, expected_etag=etag(OLD))

    assert failure.value.reason == "filesystem error"  # the write's own error, not the cleanup's
    assert "Input/output error" in failure.value.message
    assert "could not remove the temporary file" in caplog.text and NEW not in caplog.text
    monkeypatch.undo()
    [leftover] = temp_files(root)
    assert (directory(root) / leftover).read_text() == NEW

    store.save(SESSION, NEW, expected_etag=etag(OLD))
    assert temp_files(root) == []
    assert store.load(SESSION).content == NEW


def test_a_temp_file_left_by_a_killed_writer_is_removed_by_the_next_write(store, root):
    store.save(SESSION, OLD, expected_etag=None)
    leftover = directory(root) / ".session.txt.k1ll3d.tmp"
    leftover.write_text(NEW)
    unrelated = directory(root) / "notes.tmp"
    unrelated.write_text("not ours")

    store.save(SESSION, NEW, expected_etag=etag(OLD))

    assert not leftover.exists()
    assert unrelated.exists()
    assert store.load(SESSION).content == NEW


def test_a_refused_write_also_removes_a_killed_writers_temp_file(store, root):
    store.save(SESSION, OLD, expected_etag=None)
    leftover = directory(root) / ".session.txt.k1ll3d.tmp"
    leftover.write_text(NEW)
    with pytest.raises(StoreError, match="changed by another writer"):
        store.save(SESSION, NEW, expected_etag=etag("something else"))
    assert not leftover.exists()


def test_a_directory_that_cannot_be_flushed_after_the_rename_does_not_fail_the_write(store, root, monkeypatch, caplog):
    store.save(SESSION, OLD, expected_etag=None)
    fail_when(monkeypatch, "fsync", OSError(errno.EIO, "I/O error"), lambda fd: stat.S_ISDIR(os.fstat(fd).st_mode))
    with caplog.at_level(logging.WARNING, logger="sessions_app.storage.local"):
        info = store.save(SESSION, NEW, expected_etag=etag(OLD))
    monkeypatch.undo()
    # The object was replaced: saying "failed" would leave the caller with an ETag the store no longer has.
    assert info.etag == etag(NEW) and store.load(SESSION).content == NEW
    assert "could not flush the rename" in caplog.text
    assert temp_files(root) == []


# --- Real file permissions ------------------------------------------------------------------------

# Root ignores permission bits; the child drops the capabilities that let it (as a service user runs).
_SETPRIV = shutil.which("setpriv")
_AS_ROOT = os.geteuid() == 0


def write_in_child(root: Path, content: str, expected_etag: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "tests.hardening._store_writer", str(root), SESSION, content, expected_etag]
    if _AS_ROOT:
        command = [_SETPRIV or "setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", *command]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


needs_permissions = pytest.mark.skipif(
    _AS_ROOT and _SETPRIV is None, reason="running as root without setpriv: permission bits cannot apply"
)


@pytest.fixture
def restore_modes(root):
    yield
    for path in (root, *root.rglob("*")):
        if path.is_dir():
            path.chmod(0o700)


@pytest.mark.slow
@needs_permissions
def test_a_read_only_session_directory_refuses_the_write_and_leaves_no_temp_file(store, root, restore_modes):
    store.save(SESSION, OLD, expected_etag=None)
    directory(root).chmod(0o500)

    result = write_in_child(root, NEW, etag(OLD))

    directory(root).chmod(0o700)
    assert result == {"saved": False, "reason": "access denied", "message": result["message"]}
    assert result["message"].startswith("Access denied writing")
    assert files_in(root) == [".session.txt.lock", "session.txt"]
    assert store.load(SESSION).content == OLD


@pytest.mark.slow
@needs_permissions
@pytest.mark.skipif(not _AS_ROOT, reason="giving the object to another user needs root")
def test_a_rename_the_sticky_bit_refuses_removes_the_temp_file_it_had_written(store, root, restore_modes):
    store.save(SESSION, OLD, expected_etag=None)
    nobody = 65534
    path = directory(root) / "session.txt"
    # Another user's object in a sticky directory of theirs: our temp file is written, the rename is refused.
    os.chown(path, nobody, -1)
    path.chmod(0o644)
    os.chown(directory(root), nobody, -1)
    directory(root).chmod(0o1777)

    result = write_in_child(root, NEW, etag(OLD))

    assert result["saved"] is False and result["reason"] == "access denied"
    assert temp_files(root) == []
    assert path.read_text() == OLD


@pytest.mark.slow
@needs_permissions
def test_a_session_directory_without_read_permission_still_takes_the_write(store, root, restore_modes):
    store.save(SESSION, OLD, expected_etag=None)
    directory(root).chmod(0o300)  # enter and write, not list: the rename cannot be flushed, the write is done

    result = write_in_child(root, NEW, etag(OLD))

    directory(root).chmod(0o700)
    assert result == {"saved": True, "etag": etag(NEW)}
    assert files_in(root) == [".session.txt.lock", "session.txt"]
    assert store.load(SESSION).content == NEW
