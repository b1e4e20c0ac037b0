"""A logged-in demo instance with media in its chats, and media stores that count or fail their writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from sessions_app.models import ConnectorInstance
from sessions_app.storage import StoreError
from sessions_app.storage.media import LocalMediaStorage
from tests.conftest import ADA, client_for, log_in

PHONE = ADA.lstrip("+")
ALL_KINDS = ("photo", "document", "voice", "video")


class CountingStorage(LocalMediaStorage):
    """The local media store, counting the files written (a download is one write)."""

    saved: ClassVar[list[str]] = []

    def _save(self, name: str, content: Any) -> str:
        saved = super()._save(name, content)
        type(self).saved.append(saved)
        return saved


class FailingStorage(LocalMediaStorage):
    """Writes `fail_after` files, then fails the next one half way, as a killed worker or a full disk would."""

    fail_after: ClassVar[int] = 3
    saved: ClassVar[list[str]] = []

    def _save(self, name: str, content: Any) -> str:
        if len(type(self).saved) >= type(self).fail_after:
            raise StoreError("The media store failed writing (simulated).", key=name, reason="filesystem error")
        saved = super()._save(name, content)
        type(self).saved.append(saved)
        return saved


def use_media_storage(settings: Any, backend: type, **options: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "archive_media": {"BACKEND": f"{backend.__module__}.{backend.__qualname__}", "OPTIONS": options},
    }


@pytest.fixture
def media_dir(settings: Any) -> Path:
    """Where the default (local) media store writes: the session store directory."""
    CountingStorage.saved = []
    use_media_storage(settings, CountingStorage)
    return Path(settings.SESSION_STORE_DIR)


@pytest.fixture
def active(telegram: Any, instance: ConnectorInstance) -> ConnectorInstance:
    telegram.seed_messages(PHONE, per_dialog=36)
    return log_in(instance)


@pytest.fixture
def viewer_client(viewer: Any) -> Any:
    return client_for(viewer)


@pytest.fixture
def outsider_client(outsider: Any) -> Any:
    return client_for(outsider)
