"""Media files on S3: the session store's client, settings and error sentences, as a plain Django storage.

Configured as STORAGES["archive_media"] when AWS_S3_MEDIA_BUCKET (by default the session bucket)
is set. Writes replace the key (file_overwrite): a download a killed run left unfinished is written
again whole. Objects are private (no ACL), server-side encrypted like the session object.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from storages.backends.s3 import S3File

from .s3 import S3SessionStore

MEDIA_CACHE_CONTROL = "private, max-age=0"


class S3MediaStorage(S3SessionStore):
    """Only the Django Storage API (save, open) is meant for media; the session methods stay unused.

    Calls: PutObject (or a multipart upload for big files, which needs s3:PutObject and, when an
    upload fails, s3:AbortMultipartUpload), and HeadObject + GetObject to read (s3:GetObject).
    """

    def __init__(self, *, bucket_name: str = "", **overrides: Any) -> None:
        options: dict[str, Any] = {
            "endpoint_url": settings.AWS_S3_ENDPOINT or None,
            "access_key": settings.AWS_ACCESS_KEY or None,
            "secret_key": settings.AWS_SECRET_KEY or None,
            "region_name": settings.AWS_REGION or None,
            "sse": settings.AWS_S3_SSE,
            "kms_key_id": settings.AWS_S3_KMS_KEY_ID,
            # Media are bigger than a session string: a slow part must not time out at 10 s.
            "read_timeout": 60,
            **overrides,
        }
        super().__init__(bucket_name=bucket_name or settings.AWS_S3_MEDIA_BUCKET, **options)
        self.file_overwrite = True
        self.object_parameters = {**self.object_parameters, "CacheControl": MEDIA_CACHE_CONTROL}  # type: ignore[has-type]

    def _save(self, name: str, content: Any) -> str:
        try:
            saved: str = super()._save(name, content)
        except (ClientError, BotoCoreError) as err:
            raise self._error(err, name, "writing") from err
        return saved

    def _open(self, name: str, mode: str = "rb") -> S3File:
        try:
            return super()._open(name, mode)
        except (ClientError, BotoCoreError) as err:
            raise self._error(err, name, "reading") from err
