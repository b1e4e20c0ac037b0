"""The store contract: value types, errors, the key layout and the base every backend implements."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

CONTENT_TYPE: Final = "text/plain; charset=utf-8"
CACHE_CONTROL: Final = "no-store"

# The SESSION namespace rule, in one place: the model, the form, the websocket route and the
# store's key all use these.
SESSION_NAME_PATTERN: Final = r"[A-Za-z0-9_-]{1,64}"
SESSION_NAME_HELP: Final = "1 to 64 characters: letters A-Z or a-z, digits, '-' and '_' (no spaces, slashes or dots)."
_SESSION_RE: Final = re.compile(SESSION_NAME_PATTERN)


def is_session_name(value: object) -> bool:
    return isinstance(value, str) and _SESSION_RE.fullmatch(value) is not None


def session_key(session: str) -> str:
    """The object key of a SESSION namespace, the same one the connector loads."""
    if not is_session_name(session):
        raise ValueError(f"Invalid SESSION name {session!r}: use {SESSION_NAME_HELP}")
    return f"telegram/{session}/session.txt"


# Every session object lives under this prefix; Discover lists it (s3:ListBucket on the prefix).
SESSION_PREFIX: Final = "telegram/"
_SESSION_KEY_RE: Final = re.compile(rf"telegram/({SESSION_NAME_PATTERN})/session\.txt")


def session_of_key(key: str) -> str | None:
    """The SESSION whose object `key` is, or None for any other key (the inverse of session_key)."""
    match = _SESSION_KEY_RE.fullmatch(key)
    return match.group(1) if match else None


def content_etag(data: bytes) -> str:
    """An S3-style ETag (quoted md5 hex) for content stored without multipart or KMS."""
    return '"' + hashlib.md5(data, usedforsecurity=False).hexdigest() + '"'


def same_etag(a: str, b: str) -> bool:
    # S3 accepts If-Match with or without the quotes; compare the same way.
    return a.strip('"') == b.strip('"')


@dataclass(frozen=True)
class ObjectInfo:
    """What the store knows about one stored object. Never holds the content."""

    key: str
    size: int
    etag: str
    last_modified: datetime | None
    version_id: str
    encryption: str

    def describe(self) -> str:
        """A short human description for messages: ETag, size and time."""
        when = f", modified {self.last_modified:%Y-%m-%d %H:%M:%S %Z}" if self.last_modified else ""
        unit = "byte" if self.size == 1 else "bytes"
        return f"ETag {self.etag}, {self.size} {unit}{when}"


@dataclass(frozen=True)
class ListedObject:
    """One session object found by listing the store: its SESSION, size and time, never its content."""

    session: str
    size: int
    last_modified: datetime | None

    @property
    def empty(self) -> bool:
        return self.size == 0


@dataclass(frozen=True)
class LoadedSession:
    """The result of load(): content "" means a fresh session (empty object or no object)."""

    # The session string is a credential: keep it out of reprs, logs and assertion output.
    content: str = field(repr=False)
    info: ObjectInfo | None

    @property
    def is_fresh(self) -> bool:
        return self.content == ""


class StoreError(Exception):
    """The store could not do what was asked. `message` is safe to show to a user.

    `reason` is a short phrase in plain words: "access denied", "bucket does not exist",
    "credentials rejected", "no credentials", "wrong region", "encryption key problem",
    "not UTF-8 text", "unreachable", "conflict", "filesystem error" or "store error".
    """

    def __init__(self, message: str, *, bucket: str = "", key: str = "", reason: str = "store error") -> None:
        super().__init__(message)
        self.message = message
        self.bucket = bucket
        self.key = key
        self.reason = reason

    def __str__(self) -> str:
        return self.message


class StoreUnreachable(StoreError):
    """The store did not answer: endpoint down, host not found, timeout, connection refused, 5xx."""

    def __init__(self, message: str, *, bucket: str = "", key: str = "", reason: str = "unreachable") -> None:
        super().__init__(message, bucket=bucket, key=key, reason=reason)


class StoreConflict(StoreError):
    """A conditional write lost: someone else created, changed or removed the object since it was read.

    `current` is the stored object's info now (None when there is no object).
    """

    def __init__(self, message: str, *, bucket: str = "", key: str = "", current: ObjectInfo | None) -> None:
        super().__init__(message, bucket=bucket, key=key, reason="conflict")
        self.current = current


class _Missing:
    def __repr__(self) -> str:
        return "<required>"


_MISSING: Final = _Missing()


class SessionStore:
    """The session object store: one UTF-8 text object per SESSION at telegram/{SESSION}/session.txt.

    Backends are also Django storages (the model's FileField uses them), so the Django Storage
    API (open, exists, size, the FileField save path) works on the same objects.
    """

    #: Where objects live, for messages: "s3://bucket" or the local directory.
    location: str

    def load(self, session: str) -> LoadedSession:
        """Read the session the way the connector's load() does.

        A non-empty object is the session; an empty object or a missing key is a fresh session
        (content ""; info None when the key is missing). Anything else raises StoreError, or
        StoreUnreachable when the store does not answer.
        """
        raise NotImplementedError

    def head(self, session: str) -> ObjectInfo | None:
        """The stored object's metadata, or None when there is no object. Never reads the content."""
        raise NotImplementedError

    def conflict(self, session: str, *, expected_etag: str | None) -> StoreConflict:
        """The conflict a write expecting `expected_etag` would meet now, with the object's info (one HEAD)."""
        return self._conflict(session_key(session), expected_etag or None, self.head(session), "writing")

    def list_sessions(self) -> list[ListedObject]:
        """Every session object in the store (keys telegram/{SESSION}/session.txt), sorted by SESSION.

        Other keys under telegram/ are skipped. On S3 this pages through ListObjectsV2 and needs
        s3:ListBucket on the telegram/ prefix, which no other operation needs: without it this
        raises StoreError (reason "access denied") whose message names the missing permission.
        """
        raise NotImplementedError

    def save(
        self,
        session: str | None,
        content: Any,
        max_length: int | None = None,
        *,
        expected_etag: str | None | _Missing = _MISSING,
    ) -> Any:
        """Write `content` as the session object, only if nobody else wrote it in between.

        expected_etag=None (or "", an unknown ETag) creates the object and refuses if it already
        exists; an ETag replaces the object only while it still has that ETag. A lost race raises StoreConflict carrying
        the current object's info. Returns the new object's info.

        Called without expected_etag (as Django's FileField does, with a File), this is the
        plain Django Storage.save().
        """
        if isinstance(expected_etag, _Missing):
            if isinstance(content, str):
                raise TypeError("SessionStore.save() needs expected_etag=: the last ETag read, or None to create.")
            return super().save(session, content, max_length=max_length)  # type: ignore[misc]
        if not isinstance(content, str):
            raise TypeError(f"Session content must be str, got {type(content).__name__}.")
        return self._write(session_key(session), content.encode("utf-8"), expected_etag or None, "writing")  # type: ignore[arg-type]

    def clear(self, session: str, *, expected_etag: str | None) -> ObjectInfo:
        """Revoke: write an EMPTY object, conditional exactly like save().

        The connector then starts fresh. Writing (not deleting) keeps revoke within a policy
        that grants only s3:GetObject and s3:PutObject.
        """
        return self._write(session_key(session), b"", expected_etag or None, "clearing")

    def ping(self) -> None:
        """Raise StoreError/StoreUnreachable unless the store answers with usable settings."""
        raise NotImplementedError

    def _write(self, key: str, data: bytes, expected_etag: str | None, verb: str) -> ObjectInfo:
        raise NotImplementedError

    def _conflict(self, key: str, expected_etag: str | None, current: ObjectInfo | None, verb: str) -> StoreConflict:
        where = self._where(key)
        action = "Not cleared" if verb == "clearing" else "Not saved"
        if expected_etag is None and current is not None:
            detail = f"{where} already exists ({current.describe()}). Load it first, then replace it."
        elif expected_etag is None:
            detail = f"another writer was creating {where} at the same moment. Reload the instance and try again."
        elif current is None:
            detail = f"{where} was removed since it was read. Reload the instance and try again."
        else:
            detail = (
                f"{where} was changed by another writer since it was read "
                f"(expected ETag {expected_etag}, now {current.describe()}). Reload the instance and try again."
            )
        return StoreConflict(f"{action}: {detail}", bucket=self._bucket_label, key=key, current=current)

    @property
    def _bucket_label(self) -> str:
        # StoreError.bucket: the bucket name on S3, the directory for the local store.
        return self.location

    def _where(self, key: str) -> str:
        return f"{self.location.rstrip('/')}/{key}"
