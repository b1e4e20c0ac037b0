"""Read queries for the archive pages: dialogs, runs and their progress, keyset pages of messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, TypedDict

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import BigIntegerField, Case, F, OuterRef, Q, QuerySet, Subquery, Sum, When
from django.template.defaultfilters import filesizeformat, linebreaksbr
from django.utils import timezone
from django.utils.safestring import SafeString

from sessions_app.models import ArchiveRun, ArchiveStatus, ConnectorInstance, Dialog, Message
from sessions_app.models_media import ArchivedMedia, ArchiveRunMedia, MediaStatus
from sessions_app.telegram.errors import seconds_left

PAGE_SIZE = 50
# An upgraded group's page: its old basic group's messages, keyed below every id of its own (ids < 2**32).
OLD_CHAT_SHIFT = 2**40
UPGRADED_KINDS = ("supergroup", "forum")
BIGINT_MIN = -(2**63)
BIGINT_MAX = 2**63 - 1


def dialogs_of(*, instance: ConnectorInstance) -> QuerySet[Dialog]:
    return (
        Dialog.objects.filter(instance=instance)
        .select_related("migrated_to")
        .order_by(F("last_message_date").desc(nulls_last=True), "title", "peer_id")
    )


def skipped_sentence(count: int) -> str:
    """ "N dialogs skipped": what the run, the archive page and `manage.py archive` say (empty for none)."""
    if not count:
        return ""
    return f"{count} dialog{'s' if count != 1 else ''} skipped"


def dialogs_skipped_of(*, instance: ConnectorInstance) -> list[Dialog]:
    """The dialogs the last run that reached them could not read, each with its reason."""
    return list(dialogs_of(instance=instance).exclude(skip_reason=""))


def conversation_of(*, instance: ConnectorInstance, peer_id: int) -> QuerySet[Dialog]:
    """The dialog and the basic groups it was upgraded from (Dialog.migrated_to): one conversation."""
    return Dialog.objects.filter(instance=instance).filter(Q(peer_id=peer_id) | Q(migrated_to__peer_id=peer_id))


def conversation_peer_ids(*, dialogs: Sequence[Dialog], peer_id: int) -> list[int]:
    """What conversation_of() finds, from the instance's dialogs already loaded: the peer id first."""
    dialog = next((dialog for dialog in dialogs if dialog.peer_id == peer_id), None)
    if dialog is None:
        return [peer_id]
    return [peer_id, *(old.peer_id for old in dialogs if old.migrated_to_id == dialog.pk)]


def dialog_of(*, instance: ConnectorInstance, peer_id: int) -> Dialog | None:
    """The dialog, with the messages of the basic groups it was upgraded from (for message_page).

    `upgraded_from_messages` is None when it was upgraded from none: read with the dialog, so a
    supergroup's page costs no query more than a chat's.
    """
    upgraded_from = Dialog.objects.filter(migrated_to=OuterRef("pk")).order_by().values("migrated_to")
    return (
        Dialog.objects.filter(instance=instance, peer_id=peer_id)
        .annotate(upgraded_from_messages=Subquery(upgraded_from.annotate(n=Sum("message_count")).values("n")))
        .first()
    )


def archived_media_of(*, instance: ConnectorInstance, media_id: int) -> ArchivedMedia | None:
    """A file of the instance's archive that the media store holds whole (status done), else None."""
    return ArchivedMedia.objects.filter(instance=instance, pk=media_id, status=MediaStatus.DONE).first()


def stored_media_count(*, instance: ConnectorInstance) -> int:
    """How many files of the instance's archive the media store holds."""
    return ArchivedMedia.objects.filter(instance=instance, status=MediaStatus.DONE).count()


def archive_runs_recent(*, instance: ConnectorInstance, limit: int = 10) -> list[ArchiveRun]:
    return list(
        ArchiveRun.objects.filter(instance=instance)
        .select_related("started_by", "current_dialog")
        .order_by("-created_at", "-id")[:limit]
    )


def archive_run_current(*, instance: ConnectorInstance) -> ArchiveRun | None:
    """The run that is queued, running or waiting out a flood wait, if any."""
    return (
        ArchiveRun.objects.filter(instance=instance, status__in=ArchiveStatus.active())
        .select_related("current_dialog", "media_plan")
        .order_by("-created_at", "-id")
        .first()
    )


def archive_run_latest(*, instance: ConnectorInstance) -> ArchiveRun | None:
    """The newest run whatever its status (a finished one too, so a watcher sees the end)."""
    return (
        ArchiveRun.objects.filter(instance=instance)
        .select_related("current_dialog", "media_plan")
        .order_by("-created_at", "-id")
        .first()
    )


@dataclass(frozen=True)
class DialogProgress:
    """The dialog a run is archiving: how many of its messages the archive holds."""

    peer_id: int
    title: str
    archived: int
    total: int | None  # as Telegram last reported it; None until it did
    complete: bool  # the whole history back to the first message is archived


@dataclass(frozen=True)
class ArchiveProgress:
    """One run's progress: what the live block, the websocket and `manage.py archive` show.

    It travels through the channel layer as `as_event()` (plain JSON types) and comes back with
    `from_event()`. The flood wait is kept as its end, so whoever shows it counts down from the
    same instant (`flood_wait_seconds`, read when shown).
    """

    run_id: int
    status: str
    messages_saved: int
    dialogs_done: int
    dialogs_total: int
    rate: float  # messages per second
    flood_wait_until: datetime | None
    dialog: DialogProgress | None
    media_files_done: int = 0  # the media phase (services.archive_media), when the run chose media
    media_files_total: int = 0
    media_bytes: int = 0
    dialogs_skipped: int = 0  # dialogs Telegram refused this run (each says why on its row)
    reconnecting_in: int = 0  # seconds until the next attempt to reconnect a dropped connection; 0: connected

    @property
    def status_label(self) -> str:
        return str(ArchiveStatus(self.status).label)

    @property
    def is_active(self) -> bool:
        return self.status in ArchiveStatus.active()

    @property
    def flood_wait_seconds(self) -> int:
        return seconds_left(self.flood_wait_until)

    def as_event(self) -> dict[str, Any]:
        data = asdict(self)
        data["flood_wait_until"] = self.flood_wait_until.isoformat() if self.flood_wait_until else None
        return data

    @classmethod
    def from_event(cls, data: dict[str, Any]) -> ArchiveProgress:
        until, dialog = data["flood_wait_until"], data["dialog"]
        fields = {
            **data,
            "flood_wait_until": datetime.fromisoformat(until) if until else None,
            "dialog": DialogProgress(**dialog) if dialog else None,
        }
        return cls(**fields)


def archive_progress(run: ArchiveRun, *, rate: float | None = None, now: datetime | None = None) -> ArchiveProgress:
    """The one way to describe a run's progress, for the pipeline's events and for what the DB knows.

    `rate` is the pipeline's own (busy time only); without it, the run's average since it started.
    Built from the DB it changes only when the worker writes, so a watcher can compare two.
    """
    if rate is None:
        rate = 0.0
        if run.started_at is not None:
            # messages_saved is written with each heartbeat: measure up to the same instant.
            until = run.finished_at or run.heartbeat_at or now or timezone.now()
            elapsed = (until - run.started_at).total_seconds()
            if elapsed > 0:
                rate = round(run.messages_saved / elapsed, 1)
    dialog = run.current_dialog
    plan = _media_plan(run)
    return ArchiveProgress(
        run_id=run.pk,
        status=run.status,
        messages_saved=run.messages_saved,
        dialogs_done=run.dialogs_done,
        dialogs_total=run.dialogs_total,
        rate=rate,
        flood_wait_until=run.flood_wait_until if run.status == ArchiveStatus.FLOOD_WAIT else None,
        dialog=None
        if dialog is None
        else DialogProgress(
            peer_id=dialog.peer_id,
            title=dialog.title,
            archived=dialog.message_count,
            total=dialog.known_total,
            complete=dialog.history_complete,
        ),
        media_files_done=plan.files_done if plan else 0,
        media_files_total=plan.files_total if plan else 0,
        media_bytes=plan.bytes_done if plan else 0,
        dialogs_skipped=run.dialogs_skipped,
    )


def _media_plan(run: ArchiveRun) -> ArchiveRunMedia | None:
    try:
        return run.media_plan
    except ObjectDoesNotExist:  # the run downloads no media
        return None


@dataclass(frozen=True)
class MessagePage:
    """Up to PAGE_SIZE messages, newest first, and the cursors for the neighbouring pages."""

    messages: list[Message]
    has_older: bool
    has_newer: bool
    older_cursor: int | None  # for ?before=
    newer_cursor: int | None  # for ?after=
    oldest_after: int = 0  # ?after= of the oldest page
    from_before_upgrade: int = 0  # messages archived in the basic group this supergroup was upgraded from


def message_page(
    *, dialog: Dialog, before: int | None = None, after: int | None = None, size: int = PAGE_SIZE
) -> MessagePage:
    """Keyset pagination on (dialog, message_id): each page is one indexed range scan, never OFFSET.

    before=X shows the `size` messages just below X; after=X the `size` just above X (still shown
    newest first); neither shows the newest page.
    """
    base = Message.objects.filter(dialog=dialog).select_related("archived_media")
    key, oldest_after = "message_id", 0
    upgraded, old_messages = _upgraded_from(dialog)
    if upgraded:
        # One conversation with the basic group it was upgraded from: those messages come first, each
        # keyed by its own chat (the cursor of one of them is its id minus OLD_CHAT_SHIFT).
        key, oldest_after = "conversation_key", BIGINT_MIN
        own = F("message_id")
        shifted = F("message_id") - OLD_CHAT_SHIFT
        base = (
            Message.objects.filter(
                dialog_id__in=Dialog.objects.filter(Q(pk=dialog.pk) | Q(migrated_to=dialog)).values("pk")
            )
            .select_related("archived_media")
            .annotate(
                conversation_key=Case(
                    When(dialog_id=dialog.pk, then=own), default=shifted, output_field=BigIntegerField()
                )
            )
        )
    if after is not None:
        rows = list(base.filter(**{f"{key}__gt": after}).order_by(key)[: size + 1])
        has_newer = len(rows) > size
        rows = rows[:size]
        rows.reverse()
        has_older = base.filter(**{f"{key}__lte": after}).exists()
    else:
        scope = base if before is None else base.filter(**{f"{key}__lt": before})
        rows = list(scope.order_by(f"-{key}")[: size + 1])
        has_older = len(rows) > size
        rows = rows[:size]
        has_newer = before is not None and base.filter(**{f"{key}__gte": before}).exists()
    for row in rows:  # where the page of the message it replies to starts, in the same chat
        shift = getattr(row, key) - row.message_id
        row.reply_before = None if row.reply_to_id is None else row.reply_to_id + 1 + shift  # type: ignore[attr-defined]
        row.anchor = f"m{row.message_id}" if not shift else f"m{row.peer_id}-{row.message_id}"  # type: ignore[attr-defined]
    older_cursor: int | None
    newer_cursor: int | None
    if rows:
        older_cursor, newer_cursor = getattr(rows[-1], key), getattr(rows[0], key)
    else:
        # An empty page past either end still links back to the messages on the other side.
        older_cursor = min(after + 1, BIGINT_MAX) if after is not None else None
        newer_cursor = max(before - 1, BIGINT_MIN) if before is not None else None
    return MessagePage(
        messages=rows,
        has_older=has_older,
        has_newer=has_newer,
        older_cursor=older_cursor if has_older else None,
        newer_cursor=newer_cursor if has_newer else None,
        oldest_after=oldest_after,
        from_before_upgrade=old_messages,
    )


def _upgraded_from(dialog: Dialog) -> tuple[bool, int]:
    """Whether `dialog` was upgraded from a basic group, and how many messages those groups hold."""
    if dialog.kind not in UPGRADED_KINDS:  # only a supergroup can have been a basic group
        return False, 0
    if hasattr(dialog, "upgraded_from_messages"):  # dialog_of() read it with the dialog
        messages: int | None = dialog.upgraded_from_messages
    else:
        messages = Dialog.objects.filter(migrated_to=dialog).aggregate(n=Sum("message_count"))["n"]
    return messages is not None, messages or 0


class MessageRow(TypedDict):
    """One message of the dialog page, every value ready to print (a dict: the template finds each key at once)."""

    anchor: str  # the element id: m<message id>, or m<peer id>-<message id> in the basic group it was upgraded from
    message_id: int
    peer_id: int
    other_chat: bool  # from the basic group this supergroup was upgraded from
    is_service: bool
    action_type: str
    sender: str
    date_iso: str
    date_text: str
    edited: str  # when, or "" if never edited
    reply_to_id: int | None
    reply_href: str  # ?before=… of the page that shows the message replied to, with its anchor
    topic_id: int | None
    forward_from: str
    grouped_id: int | None
    views: str  # "12 views", or "" when Telegram counts none
    text: SafeString  # escaped, line breaks as <br>
    media_line: str  # "photo · name · 1.2 MB · image/jpeg", or "" without media
    media: ArchivedMedia | None  # the stored file, when the media store holds it whole


_SHOWN_DATE = "%Y-%m-%d %H:%M:%S"  # the template's date:"Y-m-d H:i:s"


def message_rows(page: MessagePage, *, dialog: Dialog) -> list[MessageRow]:
    """The page's messages as the dialog page prints them, dates in the current time zone as the `date` filter has them.

    Formatting 50 messages in the template (filters, a model attribute behind each failed dict
    lookup, an include per message) was most of the page's time.
    """
    rows: list[MessageRow] = []
    for message in page.messages:
        other_chat = message.peer_id != dialog.peer_id
        date = timezone.localtime(message.date)
        media_line = ""
        if message.media_kind:
            size = filesizeformat(message.media_size) if message.media_size is not None else ""
            parts = (message.media_kind, message.media_file_name, size, message.media_mime)
            media_line = " · ".join(part for part in parts if part)
        media = message.archived_media
        reply_href = ""
        if message.reply_to_id is not None:
            chat = f"{message.peer_id}-" if other_chat else ""
            reply_href = f"?before={message.reply_before}#m{chat}{message.reply_to_id}"  # type: ignore[attr-defined]
        rows.append(
            {
                "anchor": message.anchor,  # type: ignore[attr-defined]
                "message_id": message.message_id,
                "peer_id": message.peer_id,
                "other_chat": other_chat,
                "is_service": message.is_service,
                "action_type": message.action_type or "action",
                "sender": message.sender_name or (str(message.sender_id) if message.sender_id else "unknown sender"),
                "date_iso": date.isoformat(),
                "date_text": date.strftime(_SHOWN_DATE),
                "edited": timezone.localtime(message.edit_date).strftime(_SHOWN_DATE) if message.edit_date else "",
                "reply_to_id": message.reply_to_id,
                "reply_href": reply_href,
                "topic_id": message.topic_id,
                "forward_from": message.forward_from,
                "grouped_id": message.grouped_id,
                "views": "" if message.views is None else f"{message.views} view{'' if message.views == 1 else 's'}",
                "text": linebreaksbr(message.text, autoescape=True) if message.text else SafeString(""),
                "media_line": media_line,
                "media": media if media is not None and media.status == MediaStatus.DONE else None,
            }
        )
    return rows
