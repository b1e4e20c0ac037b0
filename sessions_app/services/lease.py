"""One live Telegram connection per instance, across processes and machines (DESIGN decision 2).

A lease is a DB row with an expiry. Interactive actions wait a few seconds for it; while they
wait they mark the row as wanted, and a long holder (an archive run) that sees the mark between
chunks hands the connection over, waits for the action to finish and carries on.

A holder that *serves* (its purpose is SERVING_PURPOSE: an archive run) also answers requests for
others over its own connection: a health check leaves one (ServedRequest) and waits, instead of
taking the connection away (lease_ask, lease_requests_waiting, lease_request_answer).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from sessions_app.models_network import ServedRequest, TelegramLease
from sessions_app.services.errors import InstanceBusy

_POLL_SECONDS = 0.05
SERVING_PURPOSE = "archive.run"  # the lease of an archive run: it serves requests between chunks
# The leases this thread (or task) holds: an operation nested in another on the same instance (a
# login step that mints the dashboard's key) runs under the outer lease instead of waiting for it.
_held: ContextVar[dict[str, str]] = ContextVar("teleconnect_leases_held", default={})  # noqa: B039 - never mutated


def _try_acquire(*, session: str, holder: str, purpose: str, seconds: int) -> bool:
    now = timezone.now()
    with transaction.atomic():
        TelegramLease.objects.filter(session=session, expires_at__lt=now).delete()
        try:
            with transaction.atomic():
                TelegramLease.objects.create(
                    session=session, holder=holder, purpose=purpose, expires_at=now + timedelta(seconds=seconds)
                )
        except IntegrityError:
            return False
    return True


def lease_renew(*, session: str, holder: str, seconds: int | None = None) -> bool:
    """Extend a held lease (long runs call this between chunks); False if it was lost."""
    seconds = seconds or settings.TELEGRAM_LEASE_SECONDS
    return bool(
        TelegramLease.objects.filter(session=session, holder=holder).update(
            expires_at=timezone.now() + timedelta(seconds=seconds)
        )
    )


def lease_wanted(*, session: str, holder: str) -> bool:
    """Whether someone is waiting for the lease `holder` keeps (a long holder then hands it over)."""
    return TelegramLease.objects.filter(session=session, holder=holder, wanted_at__isnull=False).exists()


def lease_release(*, session: str, holder: str) -> None:
    TelegramLease.objects.filter(session=session, holder=holder).delete()


def lease_hand_over(*, session: str, holder: str, grace: float = 2.0) -> None:
    """Release a wanted lease and wait (up to `grace` s) until the waiter has taken it, so it goes first."""
    lease_release(session=session, holder=holder)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and not TelegramLease.objects.filter(session=session).exists():
        time.sleep(_POLL_SECONDS / 2)


def lease_acquire(*, session: str, holder: str, purpose: str, wait: float, ask_handover: bool = True) -> None:
    """Take the lease, waiting up to `wait` seconds (marking it wanted); InstanceBusy when it stays taken."""
    deadline = time.monotonic() + wait
    while not _try_acquire(session=session, holder=holder, purpose=purpose, seconds=settings.TELEGRAM_LEASE_SECONDS):
        if ask_handover:
            TelegramLease.objects.filter(session=session, wanted_at__isnull=True).exclude(holder=holder).update(
                wanted_at=timezone.now()
            )
        if time.monotonic() >= deadline:
            raise InstanceBusy()
        # A DB row has no wake-up signal; poll briefly (bounded by `wait`).
        time.sleep(_POLL_SECONDS)


@contextmanager
def telegram_lease(*, session: str, purpose: str, wait: float | None = None, holder: str = "") -> Iterator[str]:
    """Hold the instance's lease around a Telegram operation; InstanceBusy if another holder keeps it."""
    held = _held.get()
    if session in held and (not holder or holder == held[session]):
        yield held[session]
        return
    holder = holder or uuid.uuid4().hex
    wait = settings.TELEGRAM_LEASE_WAIT_SECONDS if wait is None else wait
    lease_acquire(session=session, holder=holder, purpose=purpose, wait=wait)
    token = _held.set({**held, session: holder})
    try:
        yield holder
    finally:
        _held.reset(token)
        lease_release(session=session, holder=holder)


def lease_serving(*, session: str) -> str | None:
    """The holder of the instance's live lease when it serves requests for others (an archive run), else None."""
    return (
        TelegramLease.objects.filter(session=session, purpose=SERVING_PURPOSE, expires_at__gt=timezone.now())
        .values_list("holder", flat=True)
        .first()
    )


def lease_ask(*, session: str, holder: str, method: str, wait: float) -> ServedRequest | None:
    """Leave a request for the serving ``holder`` and wait up to ``wait`` seconds for its answer.

    None when the holder let the lease go meanwhile (the caller then takes the lease itself);
    InstanceBusy when no answer came in time. The request is gone afterwards either way.
    """
    # Left by askers that died waiting: nobody reads them any more.
    ServedRequest.objects.filter(created_at__lt=timezone.now() - timedelta(hours=1)).delete()
    request = ServedRequest.objects.create(session=session, holder=holder, method=method)
    deadline = time.monotonic() + wait
    try:
        while True:
            request.refresh_from_db()
            if request.answered_at is not None:
                return request
            if not TelegramLease.objects.filter(session=session, holder=holder).exists():
                return None
            if time.monotonic() >= deadline:
                raise InstanceBusy()
            # A DB row has no wake-up signal across processes; poll briefly (bounded by `wait`).
            time.sleep(_POLL_SECONDS)
    finally:
        ServedRequest.objects.filter(pk=request.pk).delete()


def lease_requests_waiting(*, session: str, holder: str) -> list[ServedRequest]:
    """The requests left for ``holder`` that it has not answered yet, oldest first."""
    return list(ServedRequest.objects.filter(session=session, holder=holder, answered_at__isnull=True).order_by("pk"))


def lease_request_answer(*, request: ServedRequest, answer: object = None, error: str = "") -> None:
    """The holder's answer (JSON), or the sentence of a refusal."""
    ServedRequest.objects.filter(pk=request.pk).update(answered_at=timezone.now(), answer=answer, error=error)
