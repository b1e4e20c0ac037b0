"""The store contract, run against every backend: local directory, moto in-process, moto over HTTP."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.files.base import ContentFile

from sessions_app.storage import LoadedSession, ObjectInfo, SessionStore, StoreConflict, StoreError, session_key

from .conftest import Backend

SESSION = "prod-bot_1"
# A realistic StringSession: ~350 base64 characters.
CONTENT = "1BVtsOK4Bu" + "A" * 340 + "=="
OTHER = "1ApWapzMBu" + "B" * 340 + "=="
INVALID_NAMES = ["", "a/b", "..", "a b", "x" * 65, "abc\n", "sessión", "../etc"]


def race(*writers: Any) -> list[Any]:
    """Run the writers at the same instant; return each one's result or exception, in order."""
    barrier = threading.Barrier(len(writers))
    results: list[Any] = [None] * len(writers)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = writers[i]()
        except Exception as exc:  # noqa: BLE001 - the result under test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(writers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


class TestSessionStoreContract:
    def test_it_loads_a_missing_key_as_a_fresh_session(self, store: SessionStore) -> None:
        loaded = store.load(SESSION)

        assert loaded == LoadedSession(content="", info=None)
        assert loaded.is_fresh
        assert store.head(SESSION) is None

    def test_it_loads_an_empty_object_as_a_fresh_session(self, backend: Backend) -> None:
        backend.put_raw(SESSION, b"")

        loaded = backend.store.load(SESSION)

        assert loaded.content == ""
        assert loaded.info is not None
        assert loaded.info.size == 0

    def test_it_round_trips_a_session(self, store: SessionStore) -> None:
        saved = store.save(SESSION, CONTENT, expected_etag=None)

        loaded = store.load(SESSION)

        assert loaded.content == CONTENT
        assert loaded.info is not None
        assert loaded.info.etag == saved.etag
        assert saved.size == loaded.info.size == len(CONTENT)
        assert saved.key == loaded.info.key == "telegram/prod-bot_1/session.txt"

    def test_it_round_trips_utf8(self, store: SessionStore) -> None:
        saved = store.save(SESSION, "sessión ✓", expected_etag=None)

        assert store.load(SESSION).content == "sessión ✓"
        assert saved.size == len("sessión ✓".encode())

    def test_it_loads_what_the_connector_wrote(self, backend: Backend) -> None:
        backend.put_raw(SESSION, CONTENT.encode())

        loaded = backend.store.load(SESSION)

        assert loaded.content == CONTENT
        assert loaded.info is not None
        assert backend.store.save(SESSION, OTHER, expected_etag=loaded.info.etag).size == len(OTHER)

    def test_an_object_that_is_not_utf8_is_an_error_not_a_fresh_session(self, backend: Backend) -> None:
        backend.put_raw(SESSION, b"\xff\xfe not text")

        with pytest.raises(StoreError) as caught:
            backend.store.load(SESSION)

        assert caught.value.reason == "not UTF-8 text"
        assert caught.value.key == session_key(SESSION)
        assert "Replace or revoke it" in caught.value.message

    def test_head_describes_the_saved_object_without_content(self, store: SessionStore) -> None:
        saved = store.save(SESSION, CONTENT, expected_etag=None)

        info = store.head(SESSION)

        assert isinstance(info, ObjectInfo)
        assert (info.key, info.size, info.etag, info.encryption) == (
            saved.key,
            saved.size,
            saved.etag,
            saved.encryption,
        )
        assert info.last_modified is not None
        assert CONTENT not in repr(info)

    def test_it_keeps_the_session_string_out_of_reprs(self, store: SessionStore) -> None:
        store.save(SESSION, CONTENT, expected_etag=None)

        assert CONTENT not in repr(store.load(SESSION))

    def test_create_refuses_when_the_object_exists(self, store: SessionStore) -> None:
        first = store.save(SESSION, CONTENT, expected_etag=None)

        with pytest.raises(StoreConflict) as caught:
            store.save(SESSION, OTHER, expected_etag=None)

        assert caught.value.current is not None
        assert caught.value.current.etag == first.etag
        assert caught.value.reason == "conflict"
        assert "already exists" in caught.value.message
        assert store.load(SESSION).content == CONTENT

    def test_an_unknown_etag_means_create(self, store: SessionStore) -> None:
        store.save(SESSION, CONTENT, expected_etag="")

        with pytest.raises(StoreConflict):
            store.save(SESSION, OTHER, expected_etag="")
        assert store.load(SESSION).content == CONTENT

    def test_it_overwrites_with_the_current_etag(self, store: SessionStore) -> None:
        first = store.save(SESSION, CONTENT, expected_etag=None)

        second = store.save(SESSION, OTHER, expected_etag=first.etag)

        assert second.etag != first.etag
        assert store.load(SESSION).content == OTHER

    def test_it_refuses_a_stale_etag_and_reports_the_current_object(self, store: SessionStore) -> None:
        first = store.save(SESSION, CONTENT, expected_etag=None)
        second = store.save(SESSION, OTHER, expected_etag=first.etag)

        with pytest.raises(StoreConflict) as caught:
            store.save(SESSION, "late writer", expected_etag=first.etag)

        conflict = caught.value
        assert conflict.current is not None
        assert conflict.current.etag == second.etag
        assert conflict.key == session_key(SESSION)
        assert f"{store.location.rstrip('/')}/{session_key(SESSION)}" in conflict.message
        assert "changed by another writer" in conflict.message
        assert store.load(SESSION).content == OTHER

    def test_it_refuses_to_overwrite_an_object_removed_since_it_was_read(self, backend: Backend) -> None:
        first = backend.store.save(SESSION, CONTENT, expected_etag=None)
        backend.delete_raw(SESSION)

        with pytest.raises(StoreConflict) as caught:
            backend.store.save(SESSION, OTHER, expected_etag=first.etag)

        assert caught.value.current is None
        assert "removed" in caught.value.message
        assert backend.store.head(SESSION) is None

    def test_two_writers_with_the_same_etag_get_exactly_one_winner(self, store: SessionStore) -> None:
        base = store.save(SESSION, CONTENT, expected_etag=None)

        results = race(
            lambda: store.save(SESSION, "writer A", expected_etag=base.etag),
            lambda: store.save(SESSION, "writer B", expected_etag=base.etag),
        )

        winners = [r for r in results if isinstance(r, ObjectInfo)]
        losers = [r for r in results if isinstance(r, StoreConflict)]
        assert (len(winners), len(losers)) == (1, 1), results
        assert store.load(SESSION).content == ("writer A" if results[0] is winners[0] else "writer B")
        assert losers[0].current is not None
        assert losers[0].current.etag == winners[0].etag

    def test_two_creators_get_exactly_one_winner(self, store: SessionStore) -> None:
        results = race(
            lambda: store.save(SESSION, "creator A", expected_etag=None),
            lambda: store.save(SESSION, "creator B", expected_etag=None),
        )

        assert sorted(type(r).__name__ for r in results) == ["ObjectInfo", "StoreConflict"], results

    def test_clear_writes_an_empty_object_and_load_is_fresh(self, store: SessionStore) -> None:
        saved = store.save(SESSION, CONTENT, expected_etag=None)

        cleared = store.clear(SESSION, expected_etag=saved.etag)

        assert cleared.size == 0
        loaded = store.load(SESSION)
        assert loaded.content == ""
        assert loaded.info is not None
        assert loaded.info.etag == cleared.etag
        assert store.head(SESSION) == loaded.info

    def test_clear_creates_an_empty_object_for_a_never_saved_session(self, store: SessionStore) -> None:
        cleared = store.clear(SESSION, expected_etag=None)

        assert cleared.size == 0
        assert store.load(SESSION).info is not None

    def test_clear_with_a_stale_etag_is_a_conflict_and_keeps_the_session(self, store: SessionStore) -> None:
        first = store.save(SESSION, CONTENT, expected_etag=None)
        store.save(SESSION, OTHER, expected_etag=first.etag)

        with pytest.raises(StoreConflict) as caught:
            store.clear(SESSION, expected_etag=first.etag)

        assert caught.value.message.startswith("Not cleared:")
        assert store.load(SESSION).content == OTHER

    def test_it_rejects_invalid_session_names(self, store: SessionStore) -> None:
        for call in (
            store.load,
            store.head,
            lambda name: store.save(name, CONTENT, expected_etag=None),
            lambda name: store.clear(name, expected_etag=None),
        ):
            for bad in INVALID_NAMES:
                with pytest.raises(ValueError, match="Invalid SESSION name"):
                    call(bad)

    def test_save_without_expected_etag_refuses_a_string(self, store: SessionStore) -> None:
        with pytest.raises(TypeError, match="expected_etag"):
            store.save(SESSION, CONTENT)
        assert store.head(SESSION) is None

    def test_it_works_as_the_django_storage_of_the_same_objects(self, store: Any) -> None:
        store.save(SESSION, CONTENT, expected_etag=None)
        key = session_key(SESSION)

        assert store.exists(key)
        with store.open(key) as f:
            assert f.read() == CONTENT.encode()
        assert store.size(key) == len(CONTENT)
        assert not store.exists(session_key("other"))

    def test_django_save_with_a_file_keeps_the_django_behaviour(self, store: Any) -> None:
        name = store.save("uploads/note.txt", ContentFile(b"hello"))

        assert name == "uploads/note.txt"
        with store.open(name) as f:
            assert f.read() == b"hello"

    def test_ping_succeeds_on_a_working_store(self, store: SessionStore) -> None:
        store.ping()
