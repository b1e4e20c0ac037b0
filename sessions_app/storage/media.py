"""The archive's media storage: STORAGES["archive_media"], on S3 or in a local directory.

Keys: ``telegram/{SESSION}/media/<kind>/<file id>-<name>`` (media_key), beside the session object
and under the same IAM prefix. A write replaces the key whole or not at all (one PutObject or
multipart upload on S3; a temp file renamed over the key locally), so an interrupted download
never leaves a half file behind a key. Library and OS errors come out as StoreError.
"""

from __future__ import annotations

import mimetypes
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages

from .base import StoreError, is_session_name
from .local import make_private_dirs

ALIAS = "archive_media"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_DOTS = re.compile(r"\.{2,}")
_DEFAULT_NAMES = {"photo": "photo.jpg", "voice": "voice.ogg", "video": "video.mp4"}
TEMP_SUFFIX = ".part"


def get_media_storage() -> Storage:
    """The configured media storage (Django's storages handler, so tests can swap it with STORAGES)."""
    return storages[ALIAS]


def safe_file_name(*, kind: str, file_name: str, mime: str) -> str:
    """A file name for a key: letters, digits, '.', '-' and '_', at most 80 characters."""
    name = _DOTS.sub(".", _UNSAFE.sub("_", file_name)).strip("._")[-80:]
    if name:
        return name
    if kind in _DEFAULT_NAMES:
        return _DEFAULT_NAMES[kind]
    extension = mimetypes.guess_extension(mime or "") or ""
    return f"file{extension}"


def media_key(*, session: str, kind: str, file_id: int, file_name: str, mime: str) -> str:
    """telegram/{SESSION}/media/<kind>/<file id>-<safe name>: one key per Telegram file id."""
    if not is_session_name(session):
        raise ValueError(f"Invalid SESSION name {session!r}")
    if kind not in ("photo", "document", "voice", "video"):
        raise ValueError(f"Unknown media kind {kind!r}")
    return f"telegram/{session}/media/{kind}/{int(file_id)}-{safe_file_name(kind=kind, file_name=file_name, mime=mime)}"


class LocalMediaStorage(FileSystemStorage):
    """Media files under SESSION_STORE_DIR (or `location`), files 0600 in 0700 directories.

    The directory follows the setting when none is given, as the session store does. A save
    writes a temp file beside the key and renames it over the key (replacing an older copy).
    """

    def __init__(self, location: str | os.PathLike[str] | None = None) -> None:
        self._media_location = None if location is None else os.fspath(location)
        super().__init__(
            location=None if location is None else os.fspath(location),
            file_permissions_mode=0o600,
            directory_permissions_mode=0o700,
            allow_overwrite=True,
        )

    @property
    def base_location(self) -> str:
        return str(self._media_location or settings.SESSION_STORE_DIR)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    def _save(self, name: str, content: Any) -> str:
        path = Path(self.path(name))
        try:
            make_private_dirs(root=Path(self.location), directory=path.parent)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)  # mode 0600
            try:
                with os.fdopen(fd, "wb") as f:
                    for chunk in content.chunks():
                        f.write(chunk)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as err:
            raise StoreError(
                f"The media store could not write {path}: {os.strerror(err.errno) if err.errno else err}. "
                "Check SESSION_STORE_DIR (free space, owner and permissions).",
                bucket=self.location,
                key=name,
                reason="filesystem error",
            ) from err
        return name
