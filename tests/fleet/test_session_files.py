"""Other clients' sessions become Telethon StringSessions offline, with the same key and data centre."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import pytest
from telethon.sessions import StringSession

from sessions_app.telegram.session_files import (
    SessionUnreadable,
    from_any_string,
    from_pyrogram_string,
    from_sqlite_file,
)
from tests.conftest import demo_session
from tests.fleet import formats


@pytest.fixture
def string(telegram) -> str:
    return demo_session()


@pytest.mark.parametrize("layout", ["current", "old", "old-64"])
def test_a_pyrogram_string_keeps_its_key_and_data_centre(string, layout):
    pyrogram = formats.pyrogram_string(string, layout=layout)
    converted = StringSession(from_pyrogram_string(pyrogram))
    assert converted.dc_id == StringSession(string).dc_id
    assert converted.auth_key is not None and bytes(converted.auth_key.key) == formats.parts(string)[1]
    assert converted.server_address == "149.154.167.51" and converted.port == 443  # DC 2's address


def test_the_old_layouts_are_told_apart_by_length(string):
    assert len(formats.pyrogram_string(string, layout="old")) == 351
    assert len(formats.pyrogram_string(string, layout="old-64")) == 356


def test_a_telethon_string_keeps_its_key_at_its_data_centres_standard_address(string):
    converted = StringSession(from_any_string(f"  {string}\n"))
    original = StringSession(string)
    assert formats.parts(converted.save()) == formats.parts(string)
    assert (converted.dc_id, converted.server_address, converted.port) == (original.dc_id, "149.154.167.51", 443)


def test_a_telethon_string_naming_another_host_gets_the_standard_address(string):
    crafted = StringSession(string)
    crafted.set_dc(crafted.dc_id, "10.0.0.1", 8080)
    converted = StringSession(from_any_string(crafted.save()))
    assert (converted.server_address, converted.port) == ("149.154.167.51", 443)


def test_any_string_converts_a_pyrogram_one(string):
    assert formats.parts(from_any_string(formats.pyrogram_string(string))) == formats.parts(string)


def test_a_telethon_session_file_is_read(string):
    converted = StringSession(from_sqlite_file(formats.telethon_file(string)))
    original = StringSession(string)
    assert (converted.dc_id, converted.server_address, converted.port) == (original.dc_id, "149.154.167.51", 443)
    assert formats.parts(converted.save()) == formats.parts(string)


def test_a_session_file_never_chooses_where_the_dashboard_connects(string):
    dc_id, key = formats.parts(string)
    crafted = _sqlite(
        [
            "CREATE TABLE sessions (dc_id, server_address, port, auth_key)",
            f"INSERT INTO sessions VALUES ({dc_id}, '10.0.0.1', 8080, x'{key.hex()}')",  # noqa: S608 - test data: an int and hex
        ]
    )
    converted = StringSession(from_sqlite_file(crafted))
    assert (converted.dc_id, converted.server_address, converted.port) == (dc_id, "149.154.167.51", 443)
    assert converted.auth_key is not None and bytes(converted.auth_key.key) == key


def test_an_unknown_data_centre_is_refused(string):
    _, key = formats.parts(string)
    crafted = _sqlite(
        [
            "CREATE TABLE sessions (dc_id, server_address, port, auth_key)",
            f"INSERT INTO sessions VALUES (9, '10.0.0.1', 8080, x'{key.hex()}')",  # noqa: S608 - test data: an int and hex
        ]
    )
    with pytest.raises(SessionUnreadable, match="data centre 9, which Telegram does not have"):
        from_sqlite_file(crafted)
    other = StringSession(string)
    other.set_dc(9, "10.0.0.1", 8080)
    with pytest.raises(SessionUnreadable, match="data centre 9"):
        from_any_string(other.save())


def test_a_pyrogram_session_file_is_read(string):
    assert formats.parts(from_sqlite_file(formats.pyrogram_file(string))) == formats.parts(string)


def test_a_bots_session_is_refused(string):
    with pytest.raises(SessionUnreadable, match="bot"):
        from_pyrogram_string(formats.pyrogram_string(string, is_bot=True))
    with pytest.raises(SessionUnreadable, match="bot"):
        from_sqlite_file(formats.pyrogram_file(string, is_bot=True))


@pytest.mark.parametrize("value", ["", "hello", "1" + "A" * 40, "x" * 362, "!!!"])
def test_garbage_is_no_session(value):
    with pytest.raises(SessionUnreadable):
        from_any_string(value)


def test_a_file_that_is_not_sqlite_is_refused():
    with pytest.raises(SessionUnreadable, match="not an SQLite file"):
        from_sqlite_file(b"just text")


def _sqlite(statements: list[str]) -> bytes:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "x.session"
        db = sqlite3.connect(path)
        for statement in statements:
            db.execute(statement)
        db.commit()
        db.close()
        return path.read_bytes()


def test_an_sqlite_file_without_a_sessions_table_is_refused():
    with pytest.raises(SessionUnreadable, match="no sessions table"):
        from_sqlite_file(_sqlite(["CREATE TABLE other (x)"]))


def test_a_view_named_sessions_is_not_read():
    # Only a table is selected: a view (or anything else the file defines) never runs.
    data = _sqlite(
        ["CREATE TABLE t (dc_id, server_address, port, auth_key)", "CREATE VIEW sessions AS SELECT * FROM t"]
    )
    with pytest.raises(SessionUnreadable, match="no sessions table"):
        from_sqlite_file(data)


def test_a_session_file_never_logged_in_is_refused():
    data = _sqlite(["CREATE TABLE sessions (dc_id, server_address, port, auth_key)"])
    with pytest.raises(SessionUnreadable, match="never logged in"):
        from_sqlite_file(data)


def test_a_damaged_sqlite_file_is_refused(string):
    data = formats.telethon_file(string)
    with pytest.raises(SessionUnreadable):
        from_sqlite_file(data[:200])


def test_a_key_of_the_wrong_length_is_refused():
    data = _sqlite(
        [
            "CREATE TABLE sessions (dc_id, server_address, port, auth_key)",
            "INSERT INTO sessions VALUES (2, '127.0.0.1', 443, x'0102')",
        ]
    )
    with pytest.raises(SessionUnreadable, match="256 bytes"):
        from_sqlite_file(data)


def test_a_session_file_is_read_in_memory_never_written_to_disk(string, tmp_path, monkeypatch):
    data = formats.telethon_file(string)

    def no_files(*args, **kwargs):
        raise AssertionError("a session file's key must never be written to disk")

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(tempfile, "mkstemp", no_files)
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", no_files)
    assert formats.parts(from_sqlite_file(data)) == formats.parts(string)
    with pytest.raises(SessionUnreadable):
        from_sqlite_file(b"SQLite format 3\x00" + b"\x00" * 100)
    assert list(tmp_path.iterdir()) == []
