"""The Telegram login flow, one stateless step per request (DESIGN decision 1).

Each step rebuilds a client from the pending session string, makes one Telegram call and stores
the string again; phone_code_hash travels explicitly. Nothing lives in a process between steps.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from sessions_app.crypto import fingerprint
from sessions_app.models import ConnectorInstance, InstanceStatus, LoginStep, PendingLogin, SendCodeAttempt
from sessions_app.services.audit import audit_record
from sessions_app.services.instances import instance_credentials, instance_remember_account, instance_set_status
from sessions_app.services.lease import telegram_lease
from sessions_app.services.sessions import session_save_after_login
from sessions_app.telegram import client as telegram
from sessions_app.telegram.errors import FloodWait, PasswordNeeded, TelegramError, format_seconds


class LoginRefused(TelegramError):
    """Refused before reaching Telegram (throttle, flood wait still running, no pending step)."""


def _pending(instance: ConnectorInstance) -> PendingLogin | None:
    return PendingLogin.objects.filter(instance=instance).first()


def _check_not_flood_waiting(instance: ConnectorInstance) -> None:
    if instance.flood_wait_until and instance.flood_wait_until > timezone.now():
        left = int((instance.flood_wait_until - timezone.now()).total_seconds()) + 1
        raise LoginRefused(
            f"Telegram asked us to wait before sending another code: {format_seconds(left)} left. "
            "The button works again once the wait is over."
        )


def _check_send_code_rate(instance: ConnectorInstance, phone_fp: str) -> None:
    count, seconds = settings.LOGIN_SEND_CODE_RATE
    since = timezone.now() - timedelta(seconds=seconds)
    recent = SendCodeAttempt.objects.filter(created_at__gte=since)
    for scope, queryset in (
        ("this instance", recent.filter(instance=instance)),
        ("this phone number", recent.filter(phone_fingerprint=phone_fp)),
    ):
        times = list(queryset.order_by("created_at").values_list("created_at", flat=True)[:count])
        if len(times) >= count:
            free_at = times[0] + timedelta(seconds=seconds)
            left = max(int((free_at - timezone.now()).total_seconds()) + 1, 1)
            raise LoginRefused(
                f"{count} codes were already requested for {scope} in the last {format_seconds(seconds)}. "
                f"To keep Telegram from blocking the number for a day, wait {format_seconds(left)} before asking again."
            )


def _remember_flood(instance: ConnectorInstance, error: FloodWait) -> None:
    instance.flood_wait_until = timezone.now() + timedelta(seconds=error.seconds)
    instance.save(update_fields=["flood_wait_until", "updated_at"])


def login_send_code(*, instance: ConnectorInstance, actor: AbstractBaseUser, phone: str) -> PendingLogin:
    """auth.sendCode for `phone` and keep the pending state (encrypted) for the code step."""
    _check_not_flood_waiting(instance)
    phone_fp = fingerprint(phone)
    _check_send_code_rate(instance, phone_fp)
    pending = _pending(instance)
    if pending is not None:
        raise LoginRefused("A login is already in progress for this instance. Enter the code, or cancel it first.")
    SendCodeAttempt.objects.create(instance=instance, phone_fingerprint=phone_fp)
    try:
        with telegram_lease(session=instance.session, purpose="login"):
            sent = telegram.send_code(session="", phone=phone, api=instance_credentials(instance))
    except FloodWait as exc:
        _remember_flood(instance, exc)
        audit_record(
            instance=instance,
            actor=actor,
            action="login.send_code",
            outcome="flood_wait",
            detail={"seconds": exc.seconds},
        )
        raise
    except TelegramError as exc:
        audit_record(
            instance=instance,
            actor=actor,
            action="login.send_code",
            outcome="refused",
            detail={"error": type(exc).__name__},
        )
        raise
    with transaction.atomic():
        pending = PendingLogin.objects.create(
            instance=instance,
            step=LoginStep.CODE,
            session_string=sent.session,
            phone=phone,
            phone_code_hash=sent.phone_code_hash,
            code_type=sent.code_type,
            next_type=sent.next_type,
            code_sent_at=timezone.now(),
            code_timeout=sent.timeout,
            previous_status=instance.status,
            started_by=actor,
        )
        instance.phone = phone
        instance_set_status(instance=instance, status=InstanceStatus.CODE_SENT, actor=actor, fields=("phone",))
        audit_record(instance=instance, actor=actor, action="login.send_code", detail={"code_type": sent.code_type})
    return pending


def login_resend_code(*, instance: ConnectorInstance, actor: AbstractBaseUser) -> PendingLogin:
    pending = _require_pending(instance, LoginStep.CODE)
    _check_not_flood_waiting(instance)
    phone_fp = fingerprint(pending.phone)
    _check_send_code_rate(instance, phone_fp)
    SendCodeAttempt.objects.create(instance=instance, phone_fingerprint=phone_fp)
    try:
        with telegram_lease(session=instance.session, purpose="login"):
            sent = telegram.resend_code(
                session=pending.session_string,
                phone=pending.phone,
                phone_code_hash=pending.phone_code_hash,
                api=instance_credentials(instance),
            )
    except FloodWait as exc:
        _remember_flood(instance, exc)
        audit_record(
            instance=instance,
            actor=actor,
            action="login.resend_code",
            outcome="flood_wait",
            detail={"seconds": exc.seconds},
        )
        raise
    except TelegramError as exc:
        audit_record(
            instance=instance,
            actor=actor,
            action="login.resend_code",
            outcome="refused",
            detail={"error": type(exc).__name__},
        )
        raise
    pending.session_string = sent.session
    pending.phone_code_hash = sent.phone_code_hash
    pending.code_type, pending.next_type, pending.code_timeout = sent.code_type, sent.next_type, sent.timeout
    pending.code_sent_at = timezone.now()
    pending.save()
    audit_record(instance=instance, actor=actor, action="login.resend_code", detail={"code_type": sent.code_type})
    return pending


def _require_pending(instance: ConnectorInstance, step: str) -> PendingLogin:
    pending = _pending(instance)
    if pending is None:
        raise LoginRefused(
            "There is no login in progress for this instance (it was finished or cancelled). Start again with the phone number."
        )
    if pending.step != step:
        raise LoginRefused("This login is at another step now (someone else may have continued it). Reload the page.")
    return pending


def login_submit_code(*, instance: ConnectorInstance, actor: AbstractBaseUser, code: str) -> ConnectorInstance:
    """auth.signIn with the code; moves to the password step when the account has 2FA."""
    pending = _require_pending(instance, LoginStep.CODE)
    try:
        with telegram_lease(session=instance.session, purpose="login"):
            signed_in = telegram.sign_in_code(
                session=pending.session_string,
                phone=pending.phone,
                code=code,
                phone_code_hash=pending.phone_code_hash,
                api=instance_credentials(instance),
            )
    except PasswordNeeded as needed:
        with transaction.atomic():
            pending.step = LoginStep.PASSWORD
            pending.session_string = needed.session
            pending.password_hint = needed.hint[:200]
            pending.save()
            instance_set_status(instance=instance, status=InstanceStatus.PASSWORD_NEEDED, actor=actor)
            audit_record(instance=instance, actor=actor, action="login.code", outcome="password_needed")
        return instance
    except TelegramError as exc:
        audit_record(
            instance=instance, actor=actor, action="login.code", outcome="refused", detail={"error": type(exc).__name__}
        )
        raise
    return _login_complete(instance=instance, actor=actor, signed_in=signed_in, method="code")


def login_submit_password(*, instance: ConnectorInstance, actor: AbstractBaseUser, password: str) -> ConnectorInstance:
    """The 2FA step: Telethon's SRP check; the password itself is never stored or logged."""
    pending = _require_pending(instance, LoginStep.PASSWORD)
    try:
        with telegram_lease(session=instance.session, purpose="login"):
            signed_in = telegram.sign_in_password(
                session=pending.session_string, password=password, api=instance_credentials(instance)
            )
    except TelegramError as exc:
        audit_record(
            instance=instance,
            actor=actor,
            action="login.password",
            outcome="refused",
            detail={"error": type(exc).__name__},
        )
        raise
    return _login_complete(instance=instance, actor=actor, signed_in=signed_in, method="password")


def login_cancel(*, instance: ConnectorInstance, actor: AbstractBaseUser) -> ConnectorInstance:
    """Drop the pending state; the instance goes back to what it was before the login started."""
    pending = _pending(instance)
    if pending is None:
        return instance
    with transaction.atomic():
        previous = pending.previous_status or InstanceStatus.NEW
        pending.delete()
        instance_set_status(instance=instance, status=previous, actor=actor)
        audit_record(instance=instance, actor=actor, action="login.cancel")
    return instance


def _login_complete(
    *, instance: ConnectorInstance, actor: AbstractBaseUser, signed_in: telegram.SignedIn, method: str
) -> ConnectorInstance:
    with transaction.atomic():
        PendingLogin.objects.filter(instance=instance).delete()
        instance_adopt_session(
            instance=instance, actor=actor, session_string=signed_in.session, account=signed_in.account, method=method
        )
    session_save_after_login(instance=instance, actor=actor)
    return instance


def instance_adopt_session(
    *,
    instance: ConnectorInstance,
    actor: AbstractBaseUser | None,
    session_string: str,
    account: telegram.Account,
    method: str,
) -> ConnectorInstance:
    """Keep a working session (encrypted) and who it belongs to; the instance becomes active."""
    instance.session_string = session_string
    account_fields = instance_remember_account(instance, account)
    if account.phone:
        instance.phone = "+" + account.phone.lstrip("+")
    instance.flood_wait_until = None
    instance_set_status(
        instance=instance,
        status=InstanceStatus.ACTIVE,
        actor=actor,
        fields=("session_string", *account_fields, "phone", "flood_wait_until"),
    )
    audit_record(instance=instance, actor=actor, action=f"login.{method}", detail={"telegram_user_id": account.user_id})
    return instance


def session_import(*, instance: ConnectorInstance, actor: AbstractBaseUser, session_string: str) -> ConnectorInstance:
    """Adopt a session string made elsewhere, only after get_me with it succeeds."""
    try:
        with telegram_lease(session=instance.session, purpose="import"):
            account = telegram.get_me(session=session_string, api=instance_credentials(instance))
    except TelegramError as exc:
        audit_record(
            instance=instance,
            actor=actor,
            action="session.import",
            outcome="refused",
            detail={"error": type(exc).__name__},
        )
        raise
    with transaction.atomic():
        PendingLogin.objects.filter(instance=instance).delete()
        instance_adopt_session(
            instance=instance, actor=actor, session_string=session_string, account=account, method="import"
        )
    session_save_after_login(instance=instance, actor=actor)
    return instance


def login_qr_poll(*, instance: ConnectorInstance, actor: AbstractBaseUser) -> PendingLogin | None:
    """Start or check a QR login: returns the pending state, or None once the instance is logged in.

    Each call is one auth.exportLoginToken on a fresh client, like every other login step.
    """
    pending = _pending(instance)
    if pending is not None and pending.step != LoginStep.QR:
        raise LoginRefused("A login with the phone number is in progress for this instance. Finish or cancel it first.")
    try:
        with telegram_lease(session=instance.session, purpose="login"):
            result = telegram.qr_poll(
                session=pending.session_string if pending else "", api=instance_credentials(instance)
            )
    except PasswordNeeded as needed:
        with transaction.atomic():
            pending.step, pending.session_string, pending.password_hint = (
                LoginStep.PASSWORD,
                needed.session,
                needed.hint[:200],
            )
            pending.qr_url = ""
            pending.save()
            instance_set_status(instance=instance, status=InstanceStatus.PASSWORD_NEEDED, actor=actor)
            audit_record(instance=instance, actor=actor, action="login.qr", outcome="password_needed")
        return pending
    except TelegramError as exc:
        audit_record(
            instance=instance, actor=actor, action="login.qr", outcome="refused", detail={"error": type(exc).__name__}
        )
        raise
    if isinstance(result, telegram.SignedIn):
        _login_complete(instance=instance, actor=actor, signed_in=result, method="qr")
        return None
    if pending is None:
        pending = PendingLogin(instance=instance, step=LoginStep.QR, previous_status=instance.status, started_by=actor)
        audit_record(instance=instance, actor=actor, action="login.qr", outcome="token")
    pending.session_string, pending.qr_url, pending.qr_expires = result.session, result.url, result.expires
    pending.save()
    return pending
