"""The Telegram login flow, one stateless step per request (DESIGN decision 1).

Each step rebuilds a client from the pending session string, makes one Telegram call and stores
the string again; phone_code_hash travels explicitly. Nothing lives in a process between steps.
When the login succeeds, the same request mints the dashboard's own authorization from the new
connector key (services.keys), with the 2FA password the person has just typed, if any.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
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
from sessions_app.services.operations import Actor, Operation, telegram_operation
from sessions_app.services.sessions import session_save_after_login
from sessions_app.telegram import login as telegram
from sessions_app.telegram.account import Account
from sessions_app.telegram.client import KeyRole
from sessions_app.telegram.errors import FloodWait, PasswordNeeded, format_seconds, seconds_left

__all__ = ["LoginRefused"]


def _check_not_flood_waiting(instance: ConnectorInstance) -> None:
    left = seconds_left(instance.flood_wait_until)
    if left:
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
            left = max(seconds_left(times[0] + timedelta(seconds=seconds)), 1)
            raise LoginRefused(
                f"{count} codes were already requested for {scope} in the last {format_seconds(seconds)}. "
                f"To keep Telegram from blocking the number for a day, wait {format_seconds(left)} before asking again."
            )


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


def login_send_code(*, instance: ConnectorInstance, actor: User, phone: str) -> PendingLogin:
    """auth.sendCode for `phone` and keep the pending state (encrypted) for the code step.

    Under the instance's lease with the state re-read: two submits of the same phone send one code.
    """
    phone_fp = fingerprint(phone)
    try:
        with _login_operation(instance, actor, "login.send_code", None) as op:
            pending = pending_login_for(instance)
            if pending is not None:
                if pending.step == LoginStep.CODE and pending.phone == phone and _recent(pending.code_sent_at):
                    return pending  # a double submit: the first one's code is on its way
                raise LoginRefused(
                    "A login is already in progress for this instance. Enter the code, or cancel it first."
                )
            _check_not_flood_waiting(instance)
            _check_send_code_rate(instance, phone_fp)
            SendCodeAttempt.objects.create(instance=instance, phone_fingerprint=phone_fp)
            sent = telegram.send_code(session=op.session, phone=phone, api=op.api, label=op.label)
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


def login_resend_code(*, instance: ConnectorInstance, actor: User) -> PendingLogin:
    try:
        with _login_operation(instance, actor, "login.resend_code", LoginStep.CODE) as op:
            pending = _require_pending(instance, LoginStep.CODE)
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
            sent = telegram.resend_code(
                session=op.session,
                phone=pending.phone,
                phone_code_hash=pending.phone_code_hash,
                api=op.api,
                label=op.label,
            )
            pending.session_string = sent.session
            pending.phone_code_hash = sent.phone_code_hash
            pending.code_type, pending.next_type, pending.code_timeout = sent.code_type, sent.next_type, sent.timeout
            pending.code_sent_at = timezone.now()
            pending.save()
            audit_record(
                instance=instance, actor=actor, action="login.resend_code", detail={"code_type": sent.code_type}
            )
            return pending
    except FloodWait as exc:
        _remember_flood(instance, exc)
        raise


def _require_pending(instance: ConnectorInstance, step: str) -> PendingLogin:
    pending = pending_login_for(instance)
    if pending is None:
        raise LoginRefused(
            "There is no login in progress for this instance (it was finished or cancelled). Start again with the phone number."
        )
    if pending.step != step:
        raise LoginRefused("This login is at another step now (someone else may have continued it). Reload the page.")
    return pending


def already_logged_in(instance: ConnectorInstance) -> bool:
    """The login this step belongs to was just finished by another submit (a double click)."""
    return (
        pending_login_for(instance) is None
        and bool(instance.session_string)
        and instance.status in (InstanceStatus.ACTIVE, InstanceStatus.UNSAVED)
        and _recent(instance.updated_at)
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


def login_submit_code(*, instance: ConnectorInstance, actor: User, code: str) -> ConnectorInstance:
    """auth.signIn with the code; moves to the password step when the account has 2FA.

    Under the instance's lease with the state re-read: a second submit of the same step finds the
    login finished and gets its result (one sign-in).
    """
    if already_logged_in(instance):
        return instance
    try:
        with _login_operation(instance, actor, "login.code", LoginStep.CODE) as op:
            pending = _require_pending(instance, LoginStep.CODE)
            try:
                signed_in = telegram.sign_in_code(
                    session=op.session,
                    phone=pending.phone,
                    code=code,
                    phone_code_hash=pending.phone_code_hash,
                    api=op.api,
                    label=op.label,
                )
            except PasswordNeeded as needed:
                to_password_step(instance=instance, actor=actor, pending=pending, needed=needed, action="login.code")
                return instance
            return login_complete(instance=instance, actor=actor, signed_in=signed_in, method="code")
    except LoginRefused:
        if already_logged_in(instance):
            return instance
        raise


def login_submit_password(*, instance: ConnectorInstance, actor: User, password: str) -> ConnectorInstance:
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


def login_cancel(*, instance: ConnectorInstance, actor: User) -> ConnectorInstance:
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

    Runs inside the login step's operation (its lease), so nothing else changes the instance meanwhile.
    """
    old_connector = instance.session_string
    with transaction.atomic():
        PendingLogin.objects.filter(instance=instance).delete()
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
