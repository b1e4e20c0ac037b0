"""One live Telegram connection per SESSION, across processes and machines (DESIGN decision 2)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from sessions_app.models import TelegramLease
from sessions_app.telegram.errors import SessionBusy

_POLL_SECONDS = 0.1


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


@contextmanager
def telegram_lease(*, session: str, purpose: str, wait: float | None = None, holder: str = "") -> Iterator[str]:
    """Hold the SESSION's lease around a Telegram operation; SessionBusy if another holder keeps it."""
    holder = holder or uuid.uuid4().hex
    wait = settings.TELEGRAM_LEASE_WAIT_SECONDS if wait is None else wait
    deadline = time.monotonic() + wait
    while not _try_acquire(session=session, holder=holder, purpose=purpose, seconds=settings.TELEGRAM_LEASE_SECONDS):
        if time.monotonic() >= deadline:
            raise SessionBusy()
        # A DB row has no wake-up signal; poll briefly (the wait is bounded by TELEGRAM_LEASE_WAIT_SECONDS).
        time.sleep(_POLL_SECONDS)
    try:
        yield holder
    finally:
        TelegramLease.objects.filter(session=session, holder=holder).delete()
