"""The media store's key layout and its local backend's all-or-nothing writes."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile, File

from sessions_app.storage import StoreError, get_media_storage, media_key
from sessions_app.storage.media import LocalMediaStorage, safe_file_name


def test_keys_sit_under_the_sessions_prefix_with_the_file_id_and_a_safe_name():
    key = media_key(session="prod-bot", kind="document", file_id=-42, file_name="Q3 report (final)/../x.pdf", mime="")
    assert key == "telegram/prod-bot/media/document/-42-Q3_report_final_._x.pdf"
    assert safe_file_name(kind="voice", file_name="", mime="audio/ogg") == "voice.ogg"
    assert safe_file_name(kind="document", file_name="", mime="application/pdf") == "file.pdf"
    assert safe_file_name(kind="document", file_name="..", mime="") == "file"


@pytest.mark.parametrize("session,kind", [("../etc", "photo"), ("prod-bot", "sticker")])
def test_a_key_refuses_a_bad_session_or_kind(session, kind):
    with pytest.raises(ValueError):
        media_key(session=session, kind=kind, file_id=1, file_name="a", mime="")


def test_the_default_store_is_the_session_store_directory(settings, tmp_path):
    settings.SESSION_STORE_DIR = str(tmp_path / "elsewhere")
    storage = get_media_storage()
    assert isinstance(storage, LocalMediaStorage)
    assert storage.location == str(tmp_path / "elsewhere")


def test_a_failed_local_write_leaves_neither_the_key_nor_a_temp_file(tmp_path):
    storage = LocalMediaStorage(tmp_path)
    key = "telegram/prod-bot/media/photo/1-photo.jpg"

    class Broken(File):
        def chunks(self, chunk_size=None):
            yield b"half a file"
            raise OSError(5, "Input/output error")

    with pytest.raises(StoreError) as error:
        storage.save(key, Broken(None, "x"))

    assert "Input/output error" in error.value.message
    directory = tmp_path / "telegram/prod-bot/media/photo"
    assert list(directory.iterdir()) == []
    storage.save(key, ContentFile(b"whole"))
    assert (directory / "1-photo.jpg").read_bytes() == b"whole"
    assert oct((directory / "1-photo.jpg").stat().st_mode & 0o777) == "0o600"
    assert oct(directory.stat().st_mode & 0o777) == "0o700"
