"""The session object store (placeholder until the S3/local implementation lands)."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import FileSystemStorage


def get_session_storage() -> FileSystemStorage:
    return FileSystemStorage(location=settings.SESSION_STORE_DIR, file_permissions_mode=0o600)
