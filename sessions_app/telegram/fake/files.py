"""Media files: what a media message carries (photo, document, voice, video) and upload.getFile.

Every file is a pure function of its message row: the same id, access hash, size and bytes each
time it is asked for, so a download can be checked against what the message advertised. Photos
are valid JPEGs (a small picture padded with comment segments up to the advertised size);
other files are bytes derived from the file id, behind a header that matches their MIME type.

The file reference names the message it was read from (``\\x01`` + peer, message id, epoch + a
tag): getFile reloads that message to find the file, as Telegram does with its
own opaque references. References never expire unless a test says so
(:meth:`DemoTelegram.expire_file_references`).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import sqlite3
import struct
from dataclasses import dataclass

from telethon.tl import functions, types

from sessions_app.telegram.fake.entities import access_hash
from sessions_app.telegram.fake.history import (
    KIND_DOCUMENT,
    KIND_PHOTO,
    KIND_SHARED_DOCUMENT,
)
from sessions_app.telegram.fake.rpc import Call, Rpc, dt, handles

# 48x32 gradients, JPEG quality 50: four, so that neighbouring photos do not look the same.
_JPEGS = [
    base64.b64decode(
        "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hn"
        "Pk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2Nj"
        "Y2P/wAARCAAgADADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAAAwIE/8QAFRABAQAAAAAAAAAAAAAAAAAAAgD/xAAWAQEBAQAA"
        "AAAAAAAAAAAAAAAFBAb/xAAWEQEBAQAAAAAAAAAAAAAAAAACAAP/2gAMAwEAAhEDEQA/AMBFZEhFZEo1RZugiQisiQijakc3QRIRWRIR"
        "RNSGbsZEhFZEhEk1ZXNxkSEVkSEUTUhm6CJCKyJCKNqQzd//2Q=="
    ),
    base64.b64decode(
        "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1x"
        "eXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAAR"
        "CAAgADADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAAAgQF/8QAFhAAAwAAAAAAAAAAAAAAAAAAAAED/8QAFwEBAAMAAAAAAAAAAAAA"
        "AAAABAIFBv/EABURAQEAAAAAAAAAAAAAAAAAAAIA/9oADAMBAAIRAxEAPwCdzA5ljmBzIB1o3RuYXMscwOYsOG3RuYHMscwuYsOE3azmFzLH"
        "MDmZ8OY3RuYHMscwuYsOG3RuYHMscwOYsOE3f//Z"
    ),
    base64.b64decode(
        "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1x"
        "eXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAAR"
        "CAAgADADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAAAwQF/8QAFRABAQAAAAAAAAAAAAAAAAAAAgD/xAAXAQEBAQEAAAAAAAAAAAAA"
        "AAAEAwIF/8QAFhEBAQEAAAAAAAAAAAAAAAAAAgAD/9oADAMBAAIRAxEAPwBEY0apGNGwVFOVIjGjVIxoySqxypUY0apGNGSVVOVtoxo1SMaN"
        "xypBypEY0apGNGSVVOVKjGjVIxoyCqxyv//Z"
    ),
    base64.b64decode(
        "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1x"
        "eXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAAR"
        "CAAgADADASIAAhEBAxEB/8QAFwABAQEBAAAAAAAAAAAAAAAAAQIABf/EABUQAQEAAAAAAAAAAAAAAAAAAAAR/8QAFwEBAQEBAAAAAAAAAAAA"
        "AAAABAEFAv/EABcRAQADAAAAAAAAAAAAAAAAAAABAxL/2gAMAwEAAhEDEQA/AOxRUVqxa4M2qipop1cLtVFTRTa4dbNFRRWRXAO10VFFNrhd"
        "roqKKdXC7f/Z"
    ),
]
_COM_MAX = 65533  # data bytes in one JPEG comment segment (its length field counts itself too)
_HEADERS = {
    "application/pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
    "application/zip": b"PK\x03\x04",
    "audio/ogg": b"OggS\x00\x02",
    "video/mp4": b"\x00\x00\x00\x18ftypmp42",
}
_DOCUMENTS = (  # (file name or "" for a voice message, MIME type, kind)
    ("report-{id}.pdf", "application/pdf", "document"),
    ("notes-{id}.txt", "text/plain", "document"),
    ("clip-{id}.mp4", "video/mp4", "video"),
    ("", "audio/ogg", "voice"),
    ("archive-{id}.zip", "application/zip", "document"),
)
_BLOCK = 65536
MEGABYTE = 1024 * 1024
_REF = struct.Struct(">qqI")  # peer, message id, reference epoch
_TAG = 6


@dataclass(frozen=True)
class FileSpec:
    """One file as the server keeps it."""

    id: int
    access_hash: int
    kind: str  # photo, document, voice or video
    size: int  # of the largest photo size / of the document
    mime: str
    name: str


def _mix(owner: int, value: int) -> int:
    return access_hash(owner, value) // 2 or 1


def file_spec(owner: int, row: sqlite3.Row) -> FileSpec | None:
    """The file of a message row, or None for a message without one."""
    mid = int(row["id"])
    if row["kind"] == KIND_PHOTO:
        file_id = _mix(owner, int(row["peer"]) * 1_000_003 + mid)
        if mid % 10 == 7:  # a few big photos: downloaded in several parts
            size = 150_000 + (mid * 7919) % 200_000
        else:
            size = 600 + (mid * 7919) % 12_000
        return FileSpec(file_id, access_hash(owner, file_id), "photo", size, "image/jpeg", "")
    if row["kind"] == KIND_SHARED_DOCUMENT:  # the same file forwarded around the account's chats
        file_id = _mix(owner, 424_242)
        return FileSpec(file_id, access_hash(owner, file_id), "document", 2_345, "application/pdf", "handbook.pdf")
    if row["kind"] == KIND_DOCUMENT:
        file_id = _mix(owner, int(row["peer"]) * 1_000_003 + mid + 500_000)
        name, mime, kind = _DOCUMENTS[(mid + abs(int(row["peer"]))) % len(_DOCUMENTS)]
        if mid % 45 == 22:  # beyond the archive's default size cap
            size = 21 * MEGABYTE + (mid * 104_729) % (4 * MEGABYTE)
        elif mid % 9 == 4:
            size = 300_000 + (mid * 104_729) % 900_000
        else:
            size = 300 + (mid * 104_729) % 6_000
        return FileSpec(file_id, access_hash(owner, file_id), kind, size, mime, name.format(id=mid))
    return None


def _reference(peer: int, mid: int, epoch: int) -> bytes:
    body = _REF.pack(peer, mid, epoch)
    return b"\x01" + body + hashlib.blake2b(body, digest_size=_TAG, key=b"demo-file-reference").digest()


def _read_reference(reference: bytes) -> tuple[int, int, int]:
    body, tag = reference[1 : 1 + _REF.size], reference[1 + _REF.size :]
    if (
        len(reference) != 1 + _REF.size + _TAG
        or reference[:1] != b"\x01"
        or tag != hashlib.blake2b(body, digest_size=_TAG, key=b"demo-file-reference").digest()
    ):
        raise Rpc(400, "FILE_REFERENCE_INVALID")
    peer, mid, epoch = _REF.unpack(body)
    return peer, mid, epoch


def _thumb_size(spec: FileSpec) -> int:
    return 360 + spec.size // 10


def message_media(owner: int, row: sqlite3.Row, dc: int, epoch: int) -> types.TypeMessageMedia | None:
    """The TL media of a message row, with a file reference of the current epoch."""
    spec = file_spec(owner, row)
    if spec is None:
        return None
    date, reference = dt(row["date"]), _reference(int(row["peer"]), int(row["id"]), epoch)
    if spec.kind == "photo":
        return types.MessageMediaPhoto(
            photo=types.Photo(
                id=spec.id,
                access_hash=spec.access_hash,
                file_reference=reference,
                date=date,
                sizes=[
                    types.PhotoSize(type="m", w=320, h=213, size=_thumb_size(spec)),
                    types.PhotoSize(type="x", w=1280, h=853, size=spec.size),
                ],
                dc_id=dc,
            )
        )
    attributes: list[types.TypeDocumentAttribute] = []
    if spec.kind == "voice":
        attributes.append(types.DocumentAttributeAudio(duration=1 + spec.size % 60, voice=True))
    if spec.kind == "video":
        attributes.append(types.DocumentAttributeVideo(duration=1 + spec.size % 90, w=640, h=360))
    if spec.name:
        attributes.append(types.DocumentAttributeFilename(file_name=spec.name))
    return types.MessageMediaDocument(
        document=types.Document(
            id=spec.id,
            access_hash=spec.access_hash,
            file_reference=reference,
            date=date,
            mime_type=spec.mime,
            size=spec.size,
            dc_id=dc,
            attributes=attributes,
        )
    )


@functools.lru_cache(maxsize=64)
def _jpeg(file_id: int, size: int) -> bytes:
    """A valid JPEG of exactly `size` bytes: a small picture with comment segments as padding."""
    picture = _JPEGS[file_id % len(_JPEGS)]
    padding = size - len(picture)
    if padding < 4:
        raise ValueError(f"a demo photo needs at least {len(picture) + 4} bytes")
    noise = hashlib.shake_128(file_id.to_bytes(8, "big", signed=True)).digest(padding)
    segments, used = [], 0
    while padding - used > 0:
        data = min(_COM_MAX, padding - used - 4)
        if 0 < padding - used - 4 - data < 4:  # the next segment would be too short to have a header
            data -= 4
        segments.append(b"\xff\xfe" + struct.pack(">H", data + 2) + noise[used : used + data])
        used += data + 4
    return picture[:2] + b"".join(segments) + picture[2:]


def _block(file_id: int, index: int, mime: str) -> bytes:
    digest = hashlib.shake_128(file_id.to_bytes(8, "big", signed=True) + index.to_bytes(8, "big"))
    data = digest.hexdigest(_BLOCK // 2).encode() if mime == "text/plain" else digest.digest(_BLOCK)
    header = _HEADERS.get(mime, b"") if index == 0 else b""
    return header + data[len(header) :]


def file_bytes(spec: FileSpec, offset: int, limit: int, *, thumb: bool = False) -> bytes:
    """Bytes [offset, offset + limit) of the file (of its small photo size when `thumb`)."""
    if spec.kind == "photo":
        size = _thumb_size(spec) if thumb else spec.size
        return _jpeg(spec.id + int(thumb), size)[offset : offset + limit]
    end = min(offset + limit, spec.size)
    if offset >= end:
        return b""
    first, last = offset // _BLOCK, (end - 1) // _BLOCK
    data = b"".join(_block(spec.id, index, spec.mime) for index in range(first, last + 1))
    start = offset - first * _BLOCK
    return data[start : start + end - offset]


def _check_window(request: functions.upload.GetFileRequest) -> None:
    """Telegram's rules for a part: limit divides 1 MB and offset is a multiple of 4 KB (1 KB if precise)."""
    offset, limit = request.offset, request.limit
    if limit <= 0 or limit > MEGABYTE or limit % 1024:
        raise Rpc(400, "LIMIT_INVALID")
    if not request.precise and (limit % 4096 or MEGABYTE % limit):
        raise Rpc(400, "LIMIT_INVALID")
    if offset < 0 or offset % (1024 if request.precise else 4096):
        raise Rpc(400, "OFFSET_INVALID")
    if not request.precise and offset // MEGABYTE != (offset + limit - 1) // MEGABYTE:
        raise Rpc(400, "LIMIT_INVALID")


def reference_epoch(db: sqlite3.Connection) -> int:
    """File references of an older epoch answer FILE_REFERENCE_EXPIRED (a knob moves the epoch on)."""
    row = db.execute("SELECT value FROM meta WHERE key = 'file_reference_epoch'").fetchone()
    return int(row["value"]) if row else 0


@handles(functions.upload.GetFileRequest)
def get_file(call: Call, request: functions.upload.GetFileRequest) -> types.upload.File:
    owner = call.require_user()
    location = request.location
    if isinstance(location, types.InputPhotoFileLocation):
        if location.thumb_size not in ("m", "x"):
            raise Rpc(400, "LOCATION_INVALID")
    elif not isinstance(location, types.InputDocumentFileLocation) or location.thumb_size:
        raise Rpc(400, "LOCATION_INVALID")
    _check_window(request)
    peer, mid, epoch = _read_reference(bytes(location.file_reference))
    if epoch < reference_epoch(call.db):
        raise Rpc(400, "FILE_REFERENCE_EXPIRED")
    row = call.db.execute(
        "SELECT * FROM messages WHERE owner = ? AND peer = ? AND id = ?", (owner, peer, mid)
    ).fetchone()
    spec = file_spec(owner, row) if row is not None else None
    if spec is None or spec.id != location.id or spec.access_hash != location.access_hash:
        raise Rpc(400, "FILE_ID_INVALID")
    if (spec.kind == "photo") != isinstance(location, types.InputPhotoFileLocation):
        raise Rpc(400, "LOCATION_INVALID")
    thumb = isinstance(location, types.InputPhotoFileLocation) and location.thumb_size == "m"
    data = file_bytes(spec, request.offset, request.limit, thumb=thumb)
    file_type = types.storage.FileJpeg() if spec.kind == "photo" else types.storage.FilePartial()
    return types.upload.File(type=file_type, mtime=int(row["date"]), bytes=data)
