"""Local-directory behaviour: file modes, atomic replace, cross-process compare-and-swap, OS errors."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import FileSystemStorage

from sessions_app.storage import LocalSessionStore, StoreError, get_session_storage, session_key

from . import _workers
from .conftest import file_mode

SESSION = "local-bot"
CONTENT = "1BVtsOK4Bu" + "A" * 340 + "=="


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


def object_path(root: Path, session: str = SESSION) -> Path:
    return root.joinpath(*session_key(session).split("/"))


def test_session_files_are_0600_and_their_directories_0700(store: LocalSessionStore, root: Path) -> None:
    saved = store.save(SESSION, CONTENT, expected_etag=None)
    path = object_path(root)

    assert file_mode(path) == 0o600
    assert [file_mode(d) for d in (root, root / "telegram", path.parent)] == [0o700, 0o700, 0o700]
    assert saved.encryption == "local 0600"
    store.clear(SESSION, expected_etag=saved.etag)
    assert file_mode(path) == 0o600


def test_the_etag_is_the_quoted_md5_like_s3(store: LocalSessionStore) -> None:
    saved = store.save(SESSION, CONTENT, expected_etag=None)

    assert saved.etag == f'"{hashlib.md5(CONTENT.encode()).hexdigest()}"'  # noqa: S324
    assert saved.version_id == ""


def test_it_accepts_an_etag_without_quotes_like_s3(store: LocalSessionStore) -> None:
    saved = store.save(SESSION, CONTENT, expected_etag=None)

    store.save(SESSION, "next", expected_etag=saved.etag.strip('"'))

    assert store.load(SESSION).content == "next"


def test_writes_replace_the_file_so_readers_never_see_a_torn_object(store: LocalSessionStore, root: Path) -> None:
    saved = store.save(SESSION, CONTENT, expected_etag=None)
    with open(object_path(root), "rb") as reader:
        store.save(SESSION, "replacement", expected_etag=saved.etag)

        assert reader.read() == CONTENT.encode()  # the old inode, whole
    assert sorted(p.name for p in object_path(root).parent.iterdir()) == [".session.txt.lock", "session.txt"]


def test_a_failed_write_keeps_the_old_object_and_leaves_no_temp_file(
    store: LocalSessionStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = store.save(SESSION, CONTENT, expected_etag=None)

    def disk_full(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(StoreError) as caught:
        store.save(SESSION, "lost", expected_etag=saved.etag)
    monkeypatch.undo()

    assert caught.value.reason == "filesystem error"
    assert "No space left on device" in caught.value.message
    assert "Free some disk space" in caught.value.message
    assert store.load(SESSION).content == CONTENT
    assert sorted(p.name for p in object_path(root).parent.iterdir()) == [".session.txt.lock", "session.txt"]


def test_two_processes_racing_get_exactly_one_winner_every_round(store: LocalSessionStore) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    children = [
        ctx.Process(target=_workers.race_rounds, args=(store.location, name, barrier, results)) for name in ("a", "b")
    ]
    for child in children:
        child.start()
    outcomes = dict(results.get(timeout=60) for _ in children)
    for child in children:
        child.join(timeout=10)

    assert [child.exitcode for child in children] == [0, 0]
    winners_per_round = [[outcomes["a"][r], outcomes["b"][r]].count("won") for r in range(_workers.ROUNDS)]
    assert winners_per_round == [1] * _workers.ROUNDS
    last_winner = "a" if outcomes["a"][-1] == "won" else "b"
    assert store.load("race").content == f"{last_winner}-{_workers.ROUNDS - 1}"


def test_a_store_directory_that_is_a_file_is_reported(settings: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.AWS_S3_SESSION_BUCKET = ""
    settings.SESSION_STORE_DIR = str(blocker)
    store = get_session_storage()

    for call in (lambda: store.save(SESSION, CONTENT, expected_etag=None), lambda: store.load(SESSION), store.ping):
        with pytest.raises(StoreError) as caught:
            call()
        assert caught.value.reason == "filesystem error"
        assert str(blocker) in caught.value.message
        assert "SESSION_STORE_DIR" in caught.value.message


def test_an_object_that_is_not_a_file_is_an_error_not_a_fresh_session(store: LocalSessionStore, root: Path) -> None:
    object_path(root).mkdir(parents=True)

    with pytest.raises(StoreError) as caught:
        store.load(SESSION)

    assert caught.value.reason == "filesystem error"
    assert caught.value.key == session_key(SESSION)


def test_it_is_a_file_system_storage_rooted_at_the_store_dir(store: LocalSessionStore, root: Path) -> None:
    assert isinstance(store, FileSystemStorage)
    assert store.location == str(root)
    assert store.file_permissions_mode == 0o600
    assert store.directory_permissions_mode == 0o700
