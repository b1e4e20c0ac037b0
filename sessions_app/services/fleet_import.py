"""Bulk import: each row of a file becomes an instance logged in with its session, one row after another.

Each row runs the single import's path (services.login_import.session_import: the key checked
unclaimed, one short connection mints the dashboard's key, the object written) on a new instance.
Everything that can be decided offline is decided before the instance exists; a row refused by
Telegram (a wrong 2FA password, a dead key) or failing unexpectedly has its new instance deleted
again (its session object left as it is), so a bad row leaves nothing behind and never stops or
touches the others. Rows are started only within BULK_IMPORT_BUDGET_SECONDS, so the request ends
before a proxy's timeout; the rows left are named, to upload again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.views.decorators.debug import sensitive_variables

from sessions_app.converters import reserved_session_refusal
from sessions_app.models import ConnectorInstance, InstanceStatus
from sessions_app.selectors.access import role_of
from sessions_app.services.audit import audit_record
from sessions_app.services.errors import ActionRefused
from sessions_app.services.fleet_files import ImportRow
from sessions_app.services.instance_admin import NAME_MAX_LENGTH, ObjectChoice, instance_delete
from sessions_app.services.instances import instance_create
from sessions_app.services.keys import key_owner
from sessions_app.services.login_import import session_import
from sessions_app.services.sessions import same_key
from sessions_app.storage import StoreError, get_session_storage
from sessions_app.storage.base import SESSION_NAME_HELP, is_session_name
from sessions_app.telegram.errors import TelegramError

logger = logging.getLogger(__name__)


class Outcome:
    IMPORTED = "imported"
    REFUSED = "refused"
    HELD = "held"  # the key (or the SESSION) already belongs to another instance


@dataclass(frozen=True)
class RowResult:
    label: str
    session: str
    outcome: str
    sentence: str


@dataclass(frozen=True)
class BulkImport:
    rows: list[RowResult]
    seconds: float

    @property
    def imported(self) -> int:
        return sum(1 for row in self.rows if row.outcome == Outcome.IMPORTED)


def fleet_import(*, actor: User, rows: list[ImportRow], kind: str) -> BulkImport:
    """Import every row in turn; returns one sentence per row and how long it all took."""
    started = time.monotonic()
    seen: set[str] = set()
    results: list[RowResult] = []
    for row in rows:
        elapsed = time.monotonic() - started
        if results and elapsed >= settings.BULK_IMPORT_BUDGET_SECONDS:
            result = _refused(
                row,
                f"not started: the import stopped after {elapsed:.0f} s so the request would not time out; "
                "upload these rows again.",
            )
        else:
            result = _import_row_guarded(actor=actor, row=row, seen=seen)
        if result.outcome != Outcome.IMPORTED:
            audit_record(
                instance=None,
                actor=actor,
                action="fleet.import_row",
                outcome="refused",
                detail={"row": _where(row), "why": _why(result)},
            )
        results.append(result)
    done = BulkImport(rows=results, seconds=time.monotonic() - started)
    audit_record(
        instance=None,
        actor=actor,
        action="fleet.import",
        detail={"rows": len(results), "imported": done.imported, "kind": kind, "seconds": round(done.seconds, 1)},
    )
    return done


@sensitive_variables("row")
def _import_row_guarded(*, actor: User, row: ImportRow, seen: set[str]) -> RowResult:
    try:
        return _import_row(actor=actor, row=row, seen=seen)
    except Exception:  # noqa: BLE001 - a bug before the row's instance exists must not stop the file either
        logger.exception("Bulk import: %s failed unexpectedly before its instance was made", _where(row))
        return _refused(row, "failed unexpectedly; nothing was kept for it.")


def _why(result: RowResult) -> str:
    # The audit keeps the reason in words; from the file only the SESSION (never a string or password).
    reason = result.sentence.split(": ", 1)[-1]
    return reason.removeprefix("refused, ").removeprefix("refused. ")[:300]


def _refused(row: ImportRow, reason: str, outcome: str = Outcome.REFUSED) -> RowResult:
    return RowResult(row.label, row.session, outcome, f"{_where(row)}: {reason}")


@sensitive_variables("row")
def _import_row(*, actor: User, row: ImportRow, seen: set[str]) -> RowResult:
    if not is_session_name(row.session):
        return _refused(
            row,
            f"refused, its session column is {'empty' if not row.session else 'not a SESSION name'}: a SESSION "
            f"has {SESSION_NAME_HELP[0].lower()}{SESSION_NAME_HELP[1:]} Nothing was made.",
        )
    if reserved := reserved_session_refusal(row.session):
        return _refused(row, f"refused. {reserved}")
    if row.session in seen:
        return _refused(row, "refused, this SESSION appears earlier in the file. Nothing was made for this row.")
    seen.add(row.session)
    if row.problem:
        return _refused(row, f"refused, {row.problem} Nothing was made.")
    if len(row.name) > NAME_MAX_LENGTH:
        return _refused(
            row, f"refused, the name has {len(row.name)} characters (at most {NAME_MAX_LENGTH}). Nothing was made."
        )
    if ConnectorInstance.objects.filter(session=row.session).exists():
        return _refused(row, "already held by the instance with this SESSION; nothing was changed.", Outcome.HELD)
    if other := key_owner(session_string=row.session_string):
        visible = role_of(actor, other) is not None
        holder = f"the instance {other.session}" if visible else "another instance (one you cannot see)"
        return _refused(row, f"already held by {holder}: one key serves one instance. Nothing was made.", Outcome.HELD)
    if stored := _object_refusal(row):
        return _refused(row, stored)
    return _create_and_import(actor=actor, row=row)


def _where(row: ImportRow) -> str:
    # A zip entry's label is its file name, the SESSION itself; a CSV line's is "line N".
    if not is_session_name(row.session) or row.label.startswith(row.session):
        return row.label[:80]
    return f"{row.label} ({row.session})"


def _object_refusal(row: ImportRow) -> str:
    """A sentence when the store already holds another session at this SESSION (a running connector's)."""
    try:
        loaded = get_session_storage().load(row.session)
    except StoreError as error:
        return f"refused, its session object could not be read. {error.message}"
    if loaded.is_fresh or same_key(loaded.content, row.session_string):
        return ""
    return (
        "refused, the store already holds another session at this SESSION (a connector's?). Take it in with "
        "Discover instead, or pick another SESSION. Nothing was made."
    )


@sensitive_variables("row")
def _create_and_import(*, actor: User, row: ImportRow) -> RowResult:
    try:
        instance = instance_create(actor=actor, session=row.session, name=row.name)
    except ActionRefused as refusal:
        return _refused(row, f"refused. {refusal.message}")
    except ValidationError as invalid:
        return _refused(row, f"refused. {' '.join(invalid.messages)}")
    try:
        session_import(instance=instance, actor=actor, session_string=row.session_string, password=row.password or None)
    except (ActionRefused, TelegramError) as error:
        left = _undo(instance=instance, actor=actor, message=error.message)
        return _refused(row, f"refused, {_lower_first(error.message)}{left}")
    except Exception:  # noqa: BLE001 - one row's bug must not stop the file half-way; logged (redacted), undone
        logger.exception("Bulk import: %s failed unexpectedly; its instance is removed again", _where(row))
        left = _undo(instance=instance, actor=actor, message="nothing was kept")
        return _refused(row, f"failed unexpectedly; nothing was kept for it.{left}")
    instance.refresh_from_db()
    who = instance.telegram_name or "the account"
    saved = (
        ""
        if instance.status == InstanceStatus.ACTIVE
        else f" It is not in the store yet ({instance.get_status_display()}): Save on its page writes it."
    )
    return RowResult(
        row.label,
        row.session,
        Outcome.IMPORTED,
        f"{_where(row)}: imported, logged in as {who}; the dashboard holds its own authorization.{saved}",
    )


def _undo(*, instance: ConnectorInstance, actor: User, message: str) -> str:
    """Delete the instance made for a row Telegram refused; the sentence's ending says what is left.

    The session object is kept as it is: the import never wrote it (a connector's, holding the same
    key, would otherwise block the delete and leave an orphan instance).
    """
    try:
        instance.refresh_from_db()
        instance_delete(instance=instance, actor=actor, confirm=instance.session, choice=ObjectChoice.KEEP)
    except ConnectorInstance.DoesNotExist:
        return ""
    except ActionRefused as refusal:
        return f" The instance {instance.session} was made but could not be removed again: {refusal.message}"
    return "" if "nothing was" in message.lower() else " Nothing was made."


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text
