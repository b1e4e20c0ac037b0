"""Listing the session objects of an S3 bucket (Discover): ListObjectsV2 on telegram/, page by page.

A mixin of S3SessionStore, kept apart because it is the one operation that needs s3:ListBucket:
the connector's Get+Put policy does not grant it, and then only Discover says so.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .base import SESSION_PREFIX, ListedObject, StoreError, session_of_key

# S3 answers at most 1,000 keys a page; a smaller page only means more requests.
PAGE_SIZE = 1000


def list_permission_sentence(bucket: str) -> str:
    """What Discover needs and a Get+Put policy lacks, in the words of an IAM policy."""
    return (
        f"Listing the bucket was refused: the credentials lack s3:ListBucket on arn:aws:s3:::{bucket} "
        f'with prefix {SESSION_PREFIX} (a condition "s3:prefix": "{SESSION_PREFIX}*"). Only Discover needs it; '
        "every other page works without it. Grant it, or add the instances one by one."
    )


class S3Listing:
    """list_sessions() for S3SessionStore (which provides _client, bucket_name and _error)."""

    bucket_name: Any
    _client: Any

    def _error(self, err: Exception, key: str, verb: str) -> StoreError:
        raise NotImplementedError

    def list_sessions(self, *, page_size: int = PAGE_SIZE) -> list[ListedObject]:
        found: list[ListedObject] = []
        params: dict[str, Any] = {"Bucket": self.bucket_name, "Prefix": SESSION_PREFIX, "MaxKeys": page_size}
        while True:
            page = self._list_page(params)
            for item in page.get("Contents", []):
                session = session_of_key(str(item.get("Key", "")))
                if session is not None:
                    found.append(
                        ListedObject(
                            session=session, size=int(item.get("Size", 0)), last_modified=item.get("LastModified")
                        )
                    )
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return sorted(found, key=lambda listed: listed.session)
            params["ContinuationToken"] = token

    def _list_page(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            page: dict[str, Any] = self._client.list_objects_v2(**params)
        except ClientError as err:
            if str(err.response.get("Error", {}).get("Code", "")) in ("AccessDenied", "403"):
                raise StoreError(
                    list_permission_sentence(str(self.bucket_name)),
                    bucket=str(self.bucket_name),
                    key=SESSION_PREFIX,
                    reason="access denied",
                ) from err
            raise self._error(err, SESSION_PREFIX, "listing") from err
        except BotoCoreError as err:
            raise self._error(err, SESSION_PREFIX, "listing") from err
        return page
