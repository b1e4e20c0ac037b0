"""A login typed in a terminal for no instance (`manage.py generate_session` without --instance).

With --instance the command goes through services.login like the login page (lease, pending state,
throttles, audit, the object written, the dashboard's key minted). Without one there is no instance
to hold a lease on or keep state for, and the string is printed, not kept: these steps still count
against the same send-code limit per phone number (LOGIN_SEND_CODE_RATE) and leave the same kind
of audit rows, with no instance, so the team can see who asked Telegram for codes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from sessions_app.crypto import fingerprint
from sessions_app.models import ConnectorInstance, SendCodeAttempt
from sessions_app.services.audit import audit_record
from sessions_app.services.errors import ActionRefused, LoginRefused
from sessions_app.telegram import login as telegram
from sessions_app.telegram.client import ApiCredentials
from sessions_app.telegram.errors import FloodWait, PasswordNeeded, TelegramError, format_seconds, seconds_left

VIA = "generate_session"  # in each row's detail: these rows come from the command, not a page


def send_code_rate_check(*, instance: ConnectorInstance | None, phone_fp: str) -> None:
    """LOGIN_SEND_CODE_RATE: at most N codes in the window per instance (when there is one) and per phone number."""
    count, seconds = settings.LOGIN_SEND_CODE_RATE
    since = timezone.now() - timedelta(seconds=seconds)
    recent = SendCodeAttempt.objects.filter(created_at__gte=since)
    scopes = [("this phone number", recent.filter(phone_fingerprint=phone_fp))]
    if instance is not None:
        scopes.insert(0, ("this instance", recent.filter(instance=instance)))
    for scope, queryset in scopes:
        times = list(queryset.order_by("created_at").values_list("created_at", flat=True)[:count])
        if len(times) >= count:
            left = max(seconds_left(times[0] + timedelta(seconds=seconds)), 1)
            raise LoginRefused(
                f"{count} codes were already requested for {scope} in the last {format_seconds(seconds)}. "
                f"To keep Telegram from blocking the number for a day, wait {format_seconds(left)} before asking again."
            )


@contextmanager
def _audited(action: str) -> Iterator[None]:
    """A refusal or Telegram's error, audited (no instance, no secret) and raised on."""
    try:
        yield
    except PasswordNeeded:
        raise  # the next step, not a failure
    except ActionRefused as refusal:
        refused = {"via": VIA, "refusal": type(refusal).__name__}
        audit_record(instance=None, actor=None, action=action, outcome="refused", detail=refused)
        raise
    except TelegramError as error:
        failed: dict[str, object] = {"via": VIA, "error": type(error).__name__}
        if isinstance(error, FloodWait):
            failed["seconds"] = error.seconds
        audit_record(instance=None, actor=None, action=action, outcome="refused", detail=failed)
        raise


def terminal_send_code(*, phone: str, api: ApiCredentials) -> telegram.SentCode:
    """auth.sendCode on a new key, within the per-phone send-code limit; counted and audited like the page's."""
    phone_fp = fingerprint(phone)
    with _audited("login.send_code"):
        send_code_rate_check(instance=None, phone_fp=phone_fp)
        SendCodeAttempt.objects.create(instance=None, phone_fingerprint=phone_fp)
        sent = telegram.send_code(session="", phone=phone, api=api)
    audit_record(instance=None, actor=None, action="login.send_code", detail={"via": VIA, "code_type": sent.code_type})
    return sent


def terminal_sign_in_code(*, sent: telegram.SentCode, phone: str, code: str, api: ApiCredentials) -> telegram.SignedIn:
    """auth.signIn with the code; PasswordNeeded (not audited as a failure) when the account has 2FA."""
    with _audited("login.code"):
        signed_in = telegram.sign_in_code(
            session=sent.session,
            phone=phone,
            code=code,
            phone_code_hash=sent.phone_code_hash,
            api=api,
            code_type=sent.code_type,
        )
    _audit_signed_in(signed_in, method="code")
    return signed_in


def terminal_sign_in_password(*, needed: PasswordNeeded, password: str, api: ApiCredentials) -> telegram.SignedIn:
    """The 2FA step (Telethon's SRP check); the password is used in this call only."""
    with _audited("login.password"):
        signed_in = telegram.sign_in_password(session=needed.session, password=password, api=api)
    _audit_signed_in(signed_in, method="password")
    return signed_in


def _audit_signed_in(signed_in: telegram.SignedIn, *, method: str) -> None:
    detail = {"via": VIA, "telegram_user_id": signed_in.account.user_id}
    audit_record(instance=None, actor=None, action=f"login.{method}", detail=detail)


def terminal_send_email_code(
    *, sent: telegram.SentCode, phone: str, email: str, api: ApiCredentials
) -> telegram.SentCode:
    """account.sendVerifyEmailCode: the login email Telegram wants set up first; it emails a code there."""
    with _audited("login.email"):
        emailed = telegram.send_email_code(
            session=sent.session, phone=phone, phone_code_hash=sent.phone_code_hash, email=email, api=api
        )
    audit_record(instance=None, actor=None, action="login.email", detail={"via": VIA, "code_type": emailed.code_type})
    return emailed


def terminal_verify_login_email(
    *, sent: telegram.SentCode, phone: str, code: str, api: ApiCredentials
) -> telegram.SentCode:
    """account.verifyEmail with the emailed code; returns the login code Telegram sends next."""
    with _audited("login.email_verified"):
        login_code = telegram.verify_login_email(
            session=sent.session, phone=phone, phone_code_hash=sent.phone_code_hash, code=code, api=api
        )
    detail = {"via": VIA, "code_type": login_code.code_type}
    audit_record(instance=None, actor=None, action="login.email_verified", detail=detail)
    return login_code
