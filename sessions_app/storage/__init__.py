"""The session object store: S3 (a django-storages subclass) or a local directory, one contract.

Services call get_session_storage() and use load/head/save/clear (list_sessions for Discover); the model's FileField uses the
same object as a Django storage. Only this package imports boto3/botocore.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings

from .base import (
    CACHE_CONTROL,
    CONTENT_TYPE,
    ListedObject,
    LoadedSession,
    ObjectInfo,
    SessionStore,
    StoreConflict,
    StoreError,
    StoreUnreachable,
    session_key,
)
from .local import LocalSessionStore
from .media import LocalMediaStorage, get_media_storage, media_key

if TYPE_CHECKING:
    from .s3 import S3SessionStore

__all__ = [
    "CACHE_CONTROL",
    "CONTENT_TYPE",
    "ListedObject",
    "LoadedSession",
    "LocalMediaStorage",
    "LocalSessionStore",
    "ObjectInfo",
    "S3SessionStore",
    "SessionStore",
    "StoreConflict",
    "StoreError",
    "StoreUnreachable",
    "get_media_storage",
    "get_session_storage",
    "media_key",
    "session_key",
]


def __getattr__(name: str) -> Any:
    # boto3 loads only when S3 is used.
    if name == "S3SessionStore":
        from .s3 import S3SessionStore

        return S3SessionStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class _StoreSettings:
    bucket: str
    endpoint: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    region: str
    sse: str
    kms_key_id: str
    store_dir: str


def get_session_storage() -> SessionStore:
    """The configured store: S3 when AWS_S3_SESSION_BUCKET is set, else the local directory.

    The result is a Django Storage too. It is cached per settings values, so overridden settings
    (tests) get their own store while normal calls reuse one (and its boto3 connections).
    """
    return _build(
        _StoreSettings(
            bucket=settings.AWS_S3_SESSION_BUCKET,
            endpoint=settings.AWS_S3_ENDPOINT,
            access_key=settings.AWS_ACCESS_KEY,
            secret_key=settings.AWS_SECRET_KEY,
            region=settings.AWS_REGION,
            sse=settings.AWS_S3_SSE,
            kms_key_id=settings.AWS_S3_KMS_KEY_ID,
            store_dir=str(settings.SESSION_STORE_DIR),
        )
    )


@functools.lru_cache(maxsize=8)
def _build(config: _StoreSettings) -> SessionStore:
    if not config.bucket:
        return LocalSessionStore(config.store_dir)
    from .s3 import S3SessionStore

    return S3SessionStore(
        bucket_name=config.bucket,
        endpoint_url=config.endpoint or None,
        access_key=config.access_key or None,
        secret_key=config.secret_key or None,
        region_name=config.region or None,
        sse=config.sse,
        kms_key_id=config.kms_key_id,
    )
