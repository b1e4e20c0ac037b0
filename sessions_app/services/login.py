"""The Telegram login flow, one stateless step per request (DESIGN decision 1).

Each step rebuilds a client from the pending session string, makes one Telegram call and stores
the string again; phone_code_hash travels explicitly. Nothing lives in a process between steps.
When the login succeeds, the same request mints the dashboard's own authorization from the new
connector key (services.keys), with the 2FA password the person has just typed, if any.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sessions_app.crypto import fingerprint
from sessions_app.models import ConnectorInstance, InstanceStatus, LoginStep, PendingLogin, SendCodeAttempt
from sessions_app.selectors.instances import pending_login_for
from sessions_app.services.audit import audit_record
from sessions_app.services.errors import LoginRefused
from sessions_app.services.instances import instance_remember_account, instance_set_status
from sessions_app.services.keys import (
    dashboard_key_mint_after_login,
    key_fingerprint,
    key_retire,
)
from sessions_app.services.login_terminal import send_code_rate_check
from sessions_app.services.operations import Actor, Operation, telegram_operation
from sessions_app.services.sessions import session_save_after_login
from sessions_app.telegram import login as telegram
from sessions_app.telegram.account import Account
from sessions_app.telegram.client import KeyRole
from sessions_app.telegram.errors import FloodWait, OfficialAppOnly, PasswordNeeded, format_seconds, seconds_left

__all__ = ["LoginRefused"]


def _check_not_flood_waiting(instance: ConnectorInstance) -> None:
    left = seconds_left(instance.flood_wait_until)
    if left:
        raise LoginRefused(
            f"Telegram asked us to wait before sending another code: {format_seconds(left)} left. "
            "The button works again once the wait is over."
        )


def _check_send_code_rate(instance: ConnectorInstance, phone_fp: str) -> None:
    send_code_rate_check(instance=instance, phone_fp=phone_fp)


def _remember_flood(instance: ConnectorInstance, error: FloodWait) -> None:
    instance.flood_wait_until = timezone.now() + timedelta(seconds=error.seconds)
    instance.save(update_fields=["flood_wait_until", "updated_at"])


# A repeated submit within this many seconds of the first gets the first one's result.
DOUBLE_SUBMIT_SECONDS = 60


def _login_operation(
    instance: ConnectorInstance, actor: Actor, action: str, step: str | None
) -> AbstractContextManager[Operation]:
    """A login step runs on the pending key (read inside the lease), which becomes the connector's."""

    def pending_key(current: ConnectorInstance) -> str:
        return _require_pending(current, step).session_string if step is not None else ""

    return telegram_operation(
        instance=instance, actor=actor, action=action, role=KeyRole.CONNECTOR, session=pending_key, marks_dead=False
    )


def _recent(moment: datetime | None) -> bool:
    return moment is not None and timezone.now() - moment < timedelta(seconds=DOUBLE_SUBMIT_SECONDS)


def _apply_sent(pending: PendingLogin, sent: telegram.SentCode) -> None:
    """Keep what Telegram answered about the code: its key, hash and type (the type decides the step)."""
    pending.step = LoginStep.EMAIL if sent.code_type == telegram.SET_UP_EMAIL else LoginStep.CODE
    pending.session_string, pending.phone_code_hash = sent.session, sent.phone_code_hash
    pending.code_type, pending.next_type, pending.code_timeout = sent.code_type, sent.next_type, sent.timeout
    pending.code_length, pending.code_hint = sent.length, sent.hint[:200]
    pending.code_sent_at = timezone.now()


def _about_code(op: Operation, pending: PendingLogin) -> dict[str, Any]:
    """What every Telegram call about the pending code takes: its key, the number, the code's hash."""
    return {
        "session": op.session,
        "phone": pending.phone,
        "phone_code_hash": pending.phone_code_hash,
        "api": op.api,
        "label": op.label,
    }


def _give_up(instance: ConnectorInstance, actor: Actor, pending: PendingLogin) -> None:
    """Telegram wants what only its official apps can do: the login ends and the status goes back."""
    with transaction.atomic():
        pending.delete()
        instance_set_status(instance=instance, status=pending.previous_status or InstanceStatus.NEW, actor=actor)


def login_send_code(*, instance: ConnectorInstance, actor: Actor, phone: str) -> PendingLogin:
    """auth.sendCode for `phone` and keep the pending state (encrypted) for the code (or email) step.

    Under the instance's lease with the state re-read: two submits of the same phone send one code.
    """
    phone_fp = fingerprint(phone)
    try:
        with _login_operation(instance, actor, "login.send_code", None) as op:
            pending = pending_login_for(instance)
            if pending is not None:
                in_code_steps = pending.step in (LoginStep.CODE, LoginStep.EMAIL)
                if in_code_steps and pending.phone == phone and _recent(pending.code_sent_at):
                    return pending  # a double submit: the first one's code is on its way
                raise LoginRefused(
                    "A login is already in progress for this instance. Enter the code, or cancel it first."
                )
            _check_not_flood_waiting(instance)
            _check_send_code_rate(instance, phone_fp)
            SendCodeAttempt.objects.create(instance=instance, phone_fingerprint=phone_fp)
            sent = telegram.send_code(session=op.session, phone=phone, api=op.api, label=op.label)
            with transaction.atomic():
                pending = PendingLogin(
                    instance=instance, phone=phone, previous_status=instance.status, started_by=actor
                )
                _apply_sent(pending, sent)
                pending.save()
                instance.phone = phone
                instance_set_status(instance=instance, status=InstanceStatus.CODE_SENT, actor=actor, fields=("phone",))
                audit_record(
                    instance=instance, actor=actor, action="login.send_code", detail={"code_type": sent.code_type}
                )
            return pending
    except FloodWait as exc:
        _remember_flood(instance, exc)
        raise


def resend_available_in(pending: PendingLogin) -> int:
    """Seconds until another code may be asked for (LOGIN_RESEND_MIN_SECONDS after the last one)."""
    if pending.code_sent_at is None:
        return 0
    return seconds_left(pending.code_sent_at + timedelta(seconds=settings.LOGIN_RESEND_MIN_SECONDS))


def login_resend_code(*, instance: ConnectorInstance, actor: Actor) -> PendingLogin:
    """auth.resendCode, the way Telegram named next; at the code confirming a new login email, back to the email step."""
    try:
        with _login_operation(instance, actor, "login.resend_code", LoginStep.CODE) as op:
            pending = _require_pending(instance, LoginStep.CODE)
            if pending.code_type == telegram.EMAIL_SETUP:
                pending.step, pending.code_type, pending.code_length = LoginStep.EMAIL, telegram.SET_UP_EMAIL, None
                pending.save()
                audit_record(instance=instance, actor=actor, action="login.resend_code", detail={"to": "email"})
                return pending
            left = resend_available_in(pending)
            if left:
                raise LoginRefused(
                    f"A code was sent moments ago: you can ask for another one in {format_seconds(left)}. "
                    "Codes can take a minute to arrive; check the Telegram app on the account's other devices."
                )
            _check_not_flood_waiting(instance)
            phone_fp = fingerprint(pending.phone)
            _check_send_code_rate(instance, phone_fp)
            SendCodeAttempt.objects.create(instance=instance, phone_fingerprint=phone_fp)
            try:
                sent = telegram.resend_code(**_about_code(op, pending))
            except OfficialAppOnly:
                _give_up(instance, actor, pending)
                raise
            _apply_sent(pending, sent)
            pending.save()
            audit_record(
                instance=instance, actor=actor, action="login.resend_code", detail={"code_type": sent.code_type}
            )
            return pending
    except FloodWait as exc:
        _remember_flood(instance, exc)
        raise


def login_submit_email(*, instance: ConnectorInstance, actor: Actor, email: str) -> PendingLogin:
    """account.sendVerifyEmailCode: Telegram emails a code confirming the login email it wants set up first."""
    with _login_operation(instance, actor, "login.email", LoginStep.EMAIL) as op:
        pending = pending_login_for(instance)
        if pending is not None and pending.code_type == telegram.EMAIL_SETUP and _recent(pending.code_sent_at):
            return pending
        pending = _require_pending(instance, LoginStep.EMAIL)
        sent = telegram.send_email_code(**_about_code(op, pending), email=email)
        _apply_sent(pending, sent)
        pending.save()
        audit_record(instance=instance, actor=actor, action="login.email", detail={"code_type": sent.code_type})
        return pending


def _require_pending(instance: ConnectorInstance, step: str) -> PendingLogin:
    pending = pending_login_for(instance)
    if pending is None:
        raise LoginRefused(
            "There is no login in progress for this instance (it was finished or cancelled). Start again with the phone number."
        )
    if pending.step != step:
        raise LoginRefused("This login is at another step now (someone else may have continued it). Reload the page.")
    return pending


def already_logged_in(instance: ConnectorInstance, *, login: int | None = None) -> bool:
    """The login this step belongs to was just finished by another submit (a double click, another tab).

    Decided from the login itself (login_complete records which pending login finished, and when),
    never from updated_at, which any Save or rename moves. `login` is the id of the pending login the
    step belongs to (the QR page posts it): then only that login's finish counts. The code and
    password forms post none, so any login finished moments ago counts for them.
    """
    return (
        pending_login_for(instance) is None
        and bool(instance.session_string)
        and instance.status in (InstanceStatus.ACTIVE, InstanceStatus.UNSAVED)
        and _recent(instance.login_finished_at)
        and (login is None or instance.login_finished_id == login)
    )


def to_password_step(
    *, instance: ConnectorInstance, actor: Actor, pending: PendingLogin, needed: PasswordNeeded, action: str
) -> None:
    with transaction.atomic():
        pending.step = LoginStep.PASSWORD
        pending.session_string = needed.session
        pending.password_hint = needed.hint[:200]
        pending.qr_url = ""
        pending.save()
        instance_set_status(instance=instance, status=InstanceStatus.PASSWORD_NEEDED, actor=actor)
        audit_record(instance=instance, actor=actor, action=action, outcome="password_needed")


def login_submit_code(*, instance: ConnectorInstance, actor: Actor, code: str) -> ConnectorInstance:
    """auth.signIn with the code; moves to the password step when the account has 2FA.

    The code confirming a new login email goes to account.verifyEmail; the login code follows by email.
    Under the instance's lease with the state re-read: a second submit of the same step finds the
    login finished and gets its result (one sign-in).
    """
    if already_logged_in(instance):
        return instance
    try:
        with _login_operation(instance, actor, "login.code", LoginStep.CODE) as op:
            pending = _require_pending(instance, LoginStep.CODE)
            if pending.code_type == telegram.EMAIL_SETUP:
                return _verify_login_email(instance=instance, actor=actor, pending=pending, op=op, code=code)
            try:
                signed_in = telegram.sign_in_code(**_about_code(op, pending), code=code, code_type=pending.code_type)
            except PasswordNeeded as needed:
                to_password_step(instance=instance, actor=actor, pending=pending, needed=needed, action="login.code")
                return instance
            return login_complete(instance=instance, actor=actor, signed_in=signed_in, method="code")
    except LoginRefused:
        if already_logged_in(instance):
            return instance
        raise


def _verify_login_email(
    *, instance: ConnectorInstance, actor: Actor, pending: PendingLogin, op: Operation, code: str
) -> ConnectorInstance:
    try:
        sent = telegram.verify_login_email(**_about_code(op, pending), code=code)
    except OfficialAppOnly:
        _give_up(instance, actor, pending)
        raise
    _apply_sent(pending, sent)
    pending.save()
    audit_record(instance=instance, actor=actor, action="login.email_verified", detail={"code_type": sent.code_type})
    return instance


def login_submit_password(*, instance: ConnectorInstance, actor: Actor, password: str) -> ConnectorInstance:
    """The 2FA step: Telethon's SRP check; the password is never stored or logged.

    It is used once more in this request, to mint the dashboard's own authorization.
    """
    if already_logged_in(instance):
        return instance
    try:
        with _login_operation(instance, actor, "login.password", LoginStep.PASSWORD) as op:
            signed_in = telegram.sign_in_password(session=op.session, password=password, api=op.api, label=op.label)
            return login_complete(
                instance=instance, actor=actor, signed_in=signed_in, method="password", password=password
            )
    except LoginRefused:
        if already_logged_in(instance):
            return instance
        raise


def login_cancel(*, instance: ConnectorInstance, actor: Actor) -> ConnectorInstance:
    """Drop the pending state; the instance goes back to what it was before the login started."""
    with transaction.atomic():
        pending = PendingLogin.objects.select_for_update().filter(instance=instance).first()
        if pending is None:
            return instance
        previous = pending.previous_status or InstanceStatus.NEW
        pending.delete()
        instance_set_status(instance=instance, status=previous, actor=actor)
        audit_record(instance=instance, actor=actor, action="login.cancel")
    return instance


def login_complete(
    *,
    instance: ConnectorInstance,
    actor: Actor,
    signed_in: telegram.SignedIn,
    method: str,
    password: str | None = None,
) -> ConnectorInstance:
    """Keep the new connector key, write the object, mint the dashboard's key, retire the keys replaced.

    Runs inside the login step's operation (its lease), so nothing else changes the instance meanwhile:
    the pending login read here is the one this step belongs to. Its id and the time are kept on the
    instance (the pending row is deleted), so a late poll or double submit of that login can tell
    it finished (already_logged_in).
    """
    old_connector = instance.session_string
    with transaction.atomic():
        pending = PendingLogin.objects.filter(instance=instance)
        instance.login_finished_id = pending.values_list("pk", flat=True).first()
        instance.login_finished_at = timezone.now()
        pending.delete()
        instance.save(update_fields=["login_finished_id", "login_finished_at"])
        instance_adopt_session(
            instance=instance, actor=actor, session_string=signed_in.session, account=signed_in.account, method=method
        )
    session_save_after_login(instance=instance, actor=actor)
    dashboard_key_mint_after_login(instance=instance, actor=actor, password=password)
    if old_connector and old_connector != signed_in.session:
        key_retire(instance=instance, actor=actor, old=old_connector, role=KeyRole.CONNECTOR)
    return instance


def instance_adopt_session(
    *,
    instance: ConnectorInstance,
    actor: Actor,
    session_string: str,
    account: Account,
    method: str,
) -> ConnectorInstance:
    """Keep a working session (encrypted) and who it belongs to; the instance becomes active."""
    instance.session_string = session_string
    instance.connector_key_fingerprint = key_fingerprint(session_string)
    instance.connector_authorization_hash = None
    account_fields = instance_remember_account(instance, account)
    if account.phone:
        instance.phone = "+" + account.phone.lstrip("+")
    instance.flood_wait_until = None
    instance_set_status(
        instance=instance,
        status=InstanceStatus.ACTIVE,
        actor=actor,
        fields=(
            "session_string",
            "connector_key_fingerprint",
            "connector_authorization_hash",
            *account_fields,
            "phone",
            "flood_wait_until",
        ),
    )
    audit_record(instance=instance, actor=actor, action=f"login.{method}", detail={"telegram_user_id": account.user_id})
    return instance
