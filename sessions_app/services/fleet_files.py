"""A bulk-import file read into rows: a CSV, or a zip of session files and strings (nothing kept).

CSV: a header ``session,name,session_string`` (optionally ``,password``), one instance per line.
Zip: ``SESSION.session`` files (Telethon or Pyrogram SQLite) and ``SESSION.txt`` files holding one
session string (Telethon, or Pyrogram / Kurigram), the file name being the SESSION; folders inside
the zip are ignored. An optional ``instances.csv`` in the zip (header ``session,name``, optionally
``,password``) gives display names and the 2FA passwords of accounts that have one.

Every string is converted to a Telethon StringSession here, offline; a row that cannot be read
carries the sentence saying why and is refused later, without touching the others.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from sessions_app.services.errors import ActionRefused
from sessions_app.telegram.session_files import SessionUnreadable, from_any_string, from_sqlite_file

CSV_COLUMNS = ("session", "name", "session_string")
ZIP_MANIFEST = "instances.csv"
_ZIP_SUFFIXES = {".session": "session file", ".txt": "session string file"}


class FileRefused(ActionRefused):
    """The whole file is refused (too big, too many rows, not a CSV or zip): nothing was imported."""

    field = "file"


@dataclass(frozen=True)
class ImportRow:
    """One instance to import. `problem` is a sentence when the row could not be read (then it is refused)."""

    label: str  # where it is in the file, for its sentence: "row 3", "alpha.session"
    session: str
    name: str
    session_string: str = field(repr=False)  # the Telethon StringSession, converted offline
    password: str = field(repr=False, default="")
    problem: str = ""


@sensitive_variables()  # the file's bytes, its rows: session strings, 2FA passwords
def fleet_file_rows(*, filename: str, data: bytes) -> tuple[str, list[ImportRow]]:
    """(kind, rows) of an uploaded file: kind "CSV file" or "zip file". FileRefused for the file as a whole."""
    if len(data) > settings.BULK_IMPORT_MAX_BYTES:
        raise FileRefused(_too_big(len(data)))
    if zipfile.is_zipfile(io.BytesIO(data)):
        try:
            return "zip file", _zip_rows(data)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError):
            # Damaged, encrypted (RuntimeError asks for a password) or compressed in a way Python cannot read.
            raise FileRefused(
                "This zip file cannot be read: it is damaged, encrypted or compressed in an unusual way. "
                "Nothing was imported. Make it again with a plain zip tool, without a password."
            ) from None
    if filename.lower().endswith(".zip"):
        raise FileRefused("This .zip file is damaged or not a zip file. Nothing was imported.")
    return "CSV file", _csv_rows(data)


def _too_big(size: int) -> str:
    limit = settings.BULK_IMPORT_MAX_BYTES
    return (
        f"The file is {size / 1024 / 1024:.1f} MB; bulk import takes at most {limit / 1024 / 1024:.0f} MB. "
        "Nothing was imported. Split it into smaller files."
    )


def _too_many(count: int) -> FileRefused:
    return FileRefused(
        f"The file has {count} rows; bulk import takes at most {settings.BULK_IMPORT_MAX_ROWS} at a time. "
        "Nothing was imported. Split it into smaller files."
    )


@sensitive_variables()  # the file's bytes, its rows: session strings, 2FA passwords
def _text(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused(f"The {what} is not UTF-8 text (nor a zip file). Nothing was imported.") from None


@sensitive_variables()  # the file's bytes, its rows: session strings, 2FA passwords
def _table(text: str, required: tuple[str, ...], what: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [column.strip().lower() for column in reader.fieldnames or []]
    if not set(required) <= set(header):
        raise FileRefused(
            f"The {what} needs a first line naming its columns: {','.join(required)} (and optionally password). "
            "Nothing was imported."
        )
    reader.fieldnames = header
    rows: list[dict[str, str]] = []
    for raw in reader:
        if len(rows) >= settings.BULK_IMPORT_MAX_ROWS:
            raise _too_many(len(rows) + 1 + sum(1 for _ in reader))
        row = {str(key): (value or "").strip() if isinstance(value, str) else "" for key, value in raw.items()}
        if any(row.values()):
            rows.append(row)
    return rows


@sensitive_variables()  # the file's bytes, its rows: session strings, 2FA passwords
def _csv_rows(data: bytes) -> list[ImportRow]:
    try:
        table = _table(_text(data, "file"), CSV_COLUMNS, "CSV file")
    except csv.Error:
        raise FileRefused("The file is not a readable CSV file (nor a zip file). Nothing was imported.") from None
    rows = []
    for number, row in enumerate(table, start=2):  # line 1 is the header
        string, problem = "", ""
        try:
            string = from_any_string(row.get("session_string", ""))
        except SessionUnreadable as unreadable:
            problem = f"its session string could not be read: {_lower_first(unreadable.message)}"
        session = row.get("session", "")
        rows.append(
            ImportRow(
                label=f"line {number}",
                session=session,
                name=row.get("name", "") or session,
                session_string=string,
                password=row.get("password", ""),
                problem=problem,
            )
        )
    return rows


@sensitive_variables()  # the file's bytes, its rows: session strings, 2FA passwords
def _zip_rows(data: bytes) -> list[ImportRow]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = [
            info
            for info in archive.infolist()
            if not info.is_dir()
            and not PurePosixPath(info.filename).name.startswith(".")
            and not info.filename.startswith("__MACOSX/")
        ]
        if len(entries) > settings.BULK_IMPORT_MAX_ROWS + 1:
            raise _too_many(len(entries))
        if sum(info.file_size for info in entries) > settings.BULK_IMPORT_MAX_BYTES:
            raise FileRefused(_too_big(sum(info.file_size for info in entries)))
        manifest = _zip_manifest(archive, entries)
        rows: list[ImportRow] = []
        for info in entries:
            path = PurePosixPath(info.filename)
            if path.name == ZIP_MANIFEST:
                continue
            if len(rows) >= settings.BULK_IMPORT_MAX_ROWS:
                raise _too_many(len(entries))
            rows.append(_zip_row(archive, info, manifest))
    return rows


@sensitive_variables()  # the file's bytes, its rows: session strings, 2FA passwords
def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    # The sizes in a zip's directory can lie: read no more than the limit allows.
    with archive.open(info) as member:
        data = member.read(settings.BULK_IMPORT_MAX_BYTES + 1)
    if len(data) > settings.BULK_IMPORT_MAX_BYTES:
        raise FileRefused(_too_big(len(data)))
    return data


@sensitive_variables()  # the file's bytes, its rows: session strings, 2FA passwords
def _zip_manifest(archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo]) -> dict[str, dict[str, str]]:
    found = [info for info in entries if PurePosixPath(info.filename).name == ZIP_MANIFEST]
    if not found:
        return {}
    table = _table(_text(_read(archive, found[0]), ZIP_MANIFEST), ("session", "name"), ZIP_MANIFEST)
    return {row["session"]: row for row in table if row.get("session")}


@sensitive_variables()  # the file's bytes, its rows: session strings, 2FA passwords
def _zip_row(archive: zipfile.ZipFile, info: zipfile.ZipInfo, manifest: dict[str, dict[str, str]]) -> ImportRow:
    path = PurePosixPath(info.filename)
    session, suffix = path.stem, path.suffix.lower()
    extra = manifest.get(session, {})
    row = {"label": path.name, "session": session, "name": extra.get("name", "") or session}
    if suffix not in _ZIP_SUFFIXES:
        problem = "it is neither a .session file nor a .txt file holding a session string."
        return ImportRow(**row, session_string="", problem=problem)
    try:
        data = _read(archive, info)
        if suffix == ".session":
            string = from_sqlite_file(data)
        else:
            string = from_any_string(data.decode("utf-8-sig"))
    except (SessionUnreadable, UnicodeDecodeError) as error:
        reason = error.message if isinstance(error, SessionUnreadable) else "It is not UTF-8 text."
        reason = _lower_first(reason)
        return ImportRow(**row, session_string="", problem=f"its {_ZIP_SUFFIXES[suffix]} could not be read: {reason}")
    return ImportRow(**row, session_string=string, password=extra.get("password", ""))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
