"""One live Telegram connection per instance, across processes and machines (DESIGN decision 2).

A lease is a DB row with an expiry. Interactive actions wait a few seconds for it; while they
wait they mark the row as wanted, and a long holder (an archive run) that sees the mark between
chunks hands the connection over, waits for the action to finish and carries on.
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

from sessions_app.models import TelegramLease
from sessions_app.services.errors import InstanceBusy

_POLL_SECONDS = 0.05
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
