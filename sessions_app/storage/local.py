"""The local-directory session store: the S3 key layout under SESSION_STORE_DIR, files 0600."""

from __future__ import annotations

import errno
import fcntl
import glob
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from django.core.files.storage import FileSystemStorage

from .base import (
    SESSION_PREFIX,
    ListedObject,
    LoadedSession,
    ObjectInfo,
    SessionStore,
    StoreError,
    content_etag,
    same_etag,
    session_key,
    session_of_key,
)

ENCRYPTION = "local 0600"
# Temp files are ".session.txt.<random>.tmp" beside the object, renamed over it once written.
TEMP_SUFFIX = ".tmp"

logger = logging.getLogger(__name__)


def make_private_dirs(*, root: Path, directory: Path) -> None:
    """Create `directory` (inside `root`) and every level above it up to `root` itself, all 0700."""
    # mkdir(parents=True) gives intermediate directories the default mode (umask), so each
    # level below the root is created here.
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    level = root
    for part in directory.relative_to(root).parts:
        level = level / part
        level.mkdir(mode=0o700, exist_ok=True)


class LocalSessionStore(SessionStore, FileSystemStorage):
    """Session objects as files. Same conditional semantics as S3, enforced under an flock.

    Writes go to a temp file in the same directory and are renamed over the object, so a reader
    sees the old content or the new, never a torn file. The compare-and-swap holds an exclusive
    flock on a per-session lock file, so two processes racing get exactly one winner.
    """

    def __init__(self, location: str | os.PathLike[str]) -> None:
        super().__init__(location=os.fspath(location), file_permissions_mode=0o600, directory_permissions_mode=0o700)

    def load(self, session: str) -> LoadedSession:
        key = session_key(session)
        path = self._object_path(key)
        try:
            with open(path, "rb") as f:
                data = f.read()
                info = self._info(key, data, os.fstat(f.fileno()).st_mtime)
        except FileNotFoundError:
            return LoadedSession(content="", info=None)
        except OSError as err:
            raise self._os_error(err, key, "reading") from err
        try:
            return LoadedSession(content=data.decode("utf-8"), info=info)
        except UnicodeDecodeError as err:
            raise StoreError(
                f"{self._where(key)} is not UTF-8 text, so it cannot be a session string. Replace or revoke it.",
                bucket=self.location,
                key=key,
                reason="not UTF-8 text",
            ) from err

    def head(self, session: str) -> ObjectInfo | None:
        key = session_key(session)
        try:
            return self._current(key)
        except OSError as err:
            raise self._os_error(err, key, "checking") from err

    def list_sessions(self) -> list[ListedObject]:
        root = Path(self.location)
        found: list[ListedObject] = []
        try:
            for path in sorted(root.joinpath(SESSION_PREFIX).glob("*/session.txt")):
                session = session_of_key(path.relative_to(root).as_posix())
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue  # removed while listing: simply not listed
                if session is not None and path.is_file():
                    modified = datetime.fromtimestamp(stat.st_mtime, tz=UTC)
                    found.append(ListedObject(session=session, size=stat.st_size, last_modified=modified))
        except OSError as err:
            raise self._os_error(err, SESSION_PREFIX, "listing") from err
        return found

    def ping(self) -> None:
        root = Path(self.location)
        try:
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as err:
            raise self._os_error(err, "", "preparing") from err
        if not os.access(root, os.W_OK | os.X_OK):
            raise StoreError(
                f"The session store directory {root} is not writable by the server process. "
                "Fix its owner or permissions, or point SESSION_STORE_DIR elsewhere.",
                bucket=self.location,
                reason="access denied",
            )

    def _write(self, key: str, data: bytes, expected_etag: str | None, verb: str) -> ObjectInfo:
        path = self._object_path(key)
        try:
            self._make_dirs(path.parent)
            with self._locked(path):
                self._remove_leftovers(path)
                current = self._current(key)
                if (expected_etag is None and current is not None) or (
                    expected_etag is not None and (current is None or not same_etag(current.etag, expected_etag))
                ):
                    raise self._conflict(key, expected_etag, current, verb)
                mtime = self._replace(path, data)
        except OSError as err:
            raise self._os_error(err, key, verb) from err
        return self._info(key, data, mtime)

    def _object_path(self, key: str) -> Path:
        return Path(self.location, *key.split("/"))

    def _current(self, key: str) -> ObjectInfo | None:
        try:
            with open(self._object_path(key), "rb") as f:
                return self._info(key, f.read(), os.fstat(f.fileno()).st_mtime)
        except FileNotFoundError:
            return None

    def _info(self, key: str, data: bytes, mtime: float) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            size=len(data),
            etag=content_etag(data),
            last_modified=datetime.fromtimestamp(mtime, tz=UTC),
            version_id="",
            encryption=ENCRYPTION,
        )

    def _make_dirs(self, directory: Path) -> None:
        make_private_dirs(root=Path(self.location), directory=directory)

    @contextmanager
    def _locked(self, path: Path) -> Iterator[None]:
        fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _replace(self, path: Path, data: bytes) -> float:
        """Write `data` to a temp file beside `path`, then rename it over `path`.

        The temp file holds the session string: every failure before the rename removes it (a
        failed removal is logged, and the next write to this object removes it under the lock).
        """
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)  # mode 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
                mtime = os.fstat(f.fileno()).st_mtime
            os.replace(tmp, path)
        except BaseException:
            self._discard(tmp)
            raise
        self._sync_directory(path.parent)
        return mtime

    def _remove_leftovers(self, path: Path) -> None:
        """Remove temp files a writer left behind (killed, or its cleanup failed).

        Called under the object's lock: every writer holds it while its temp file exists, so any
        temp file seen here belongs to a writer that is gone.
        """
        try:
            leftovers = list(path.parent.glob(f".{glob.escape(path.name)}.*{TEMP_SUFFIX}"))
        except OSError:
            return  # a directory we cannot list: nothing we could remove either
        for leftover in leftovers:
            self._discard(str(leftover))

    def _discard(self, tmp: str) -> None:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        except OSError as err:  # never hide the write's own error behind the cleanup's
            logger.warning(
                "could not remove the temporary file %s (%s); the next write to this session removes it",
                tmp,
                _cause(err),
            )

    def _sync_directory(self, directory: Path) -> None:
        """Make the rename durable. The object is already replaced here, so a failure is logged, not raised.

        Raising would tell the caller the write failed while readers already see the new
        content, and its next write, conditional on the old ETag, would then be refused.
        """
        try:
            dir_fd = os.open(directory, os.O_RDONLY)
        except OSError as err:
            logger.warning("could not open %s to flush the rename to disk: %s", directory, _cause(err))
            return
        try:
            os.fsync(dir_fd)
        except OSError as err:
            logger.warning("could not flush the rename in %s to disk: %s", directory, _cause(err))
        finally:
            os.close(dir_fd)

    def _os_error(self, err: OSError, key: str, verb: str) -> StoreError:
        where = self._where(key) if key else self.location
        if isinstance(err, PermissionError):
            return StoreError(
                f"Access denied {verb} {where}: the server process lacks permission on it. "
                "Fix the owner or permissions of SESSION_STORE_DIR.",
                bucket=self.location,
                key=key,
                reason="access denied",
            )
        cause = _cause(err)
        hint = " Free some disk space." if err.errno == errno.ENOSPC else " Check SESSION_STORE_DIR."
        return StoreError(
            f"The local session store failed {verb} {where}: {cause}.{hint}",
            bucket=self.location,
            key=key,
            reason="filesystem error",
        )


def _cause(err: OSError) -> str:
    return os.strerror(err.errno) if err.errno else str(err)
