from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from sessions_app.crypto import fingerprint
from sessions_app.models import AuditEvent, PendingLogin, SendCodeAttempt
from sessions_app.services.lease import lease_acquire, lease_release
from sessions_app.services.login import login_send_code
from sessions_app.storage import get_session_storage
from tests.conftest import ADA, BEA, BEA_PASSWORD, log_in


def _run(*args, lines: list[str]):
    out, err = StringIO(), StringIO()
    call_command("generate_session", *args, stdin=StringIO("\n".join(lines) + "\n"), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_prints_the_three_env_lines(telegram, db):
    out, err = _run(lines=["", "", "+9996621001", "22222"])
    lines = dict(line.split("=", 1) for line in out.strip().splitlines())
    assert set(lines) == {"TELEGRAM_API_ID", "TELEGRAM_API_HASH", "TELEGRAM_SESSION"}
    assert telegram.is_authorized(lines["TELEGRAM_SESSION"])
    assert "Ada Demo" in err


def test_it_asks_for_the_2fa_password_and_retries_a_wrong_one(telegram, db):
    out, err = _run(lines=["", "", "+9996631002", "33333", "nope", BEA_PASSWORD])
    session = out.strip().splitlines()[-1].removeprefix("TELEGRAM_SESSION=")
    assert telegram.is_authorized(session)
    assert "password is wrong" in err and "four words" in err


def test_it_stores_the_session_on_an_instance_instead_of_printing(telegram, instance):
    out, _ = _run("--instance", instance.session, lines=["", "", "+9996621001", "22222"])
    instance.refresh_from_db()
    assert instance.status == "active"
    assert instance.session_string and instance.session_string not in out
    assert "TELEGRAM_SESSION" not in out


def test_it_fails_clearly_on_an_unknown_instance(telegram, db):
    with pytest.raises(CommandError, match="No instance"):
        _run("--instance", "nope", lines=[])


def test_it_fails_clearly_on_a_refused_phone(telegram, db):
    with pytest.raises(CommandError, match="does not accept this phone number"):
        _run(lines=["", "", "+15550100"])


def test_wrong_codes_end_with_an_error_and_nothing_printed(telegram, db):
    with pytest.raises(CommandError, match="code is not right"):
        _run(lines=["", "", "+9996621001", "11111", "11112", "11113"])


# --- Through the services: the send-code limits, the instance's lease and pending state, the audit ---


def _refused_codes(**where) -> None:
    """Five codes already asked for in the window (LOGIN_SEND_CODE_RATE is (5, 3600) in the tests)."""
    for _ in range(5):
        SendCodeAttempt.objects.create(**where)


def test_without_an_instance_the_send_code_limit_per_phone_applies(telegram, db):
    _refused_codes(phone_fingerprint=fingerprint(ADA))
    with pytest.raises(CommandError, match="already requested for this phone number"):
        _run(lines=["", "", ADA])
    assert SendCodeAttempt.objects.count() == 5  # no code was asked for
    refusal = AuditEvent.objects.get(action="login.send_code")
    assert refusal.outcome == "refused" and refusal.instance_id is None
    assert refusal.detail == {"via": "generate_session", "refusal": "LoginRefused"}


def test_without_an_instance_a_number_typed_as_on_the_page_counts_as_the_same_number(telegram, db):
    _run(lines=["", "", "+999 662-1001", "22222"])
    assert SendCodeAttempt.objects.get().phone_fingerprint == fingerprint(ADA)


def test_without_an_instance_the_code_asked_and_the_login_are_audited(telegram, db):
    out, _ = _run(lines=["", "", ADA, "11111", "22222"])
    session = out.strip().splitlines()[-1].removeprefix("TELEGRAM_SESSION=")
    attempt = SendCodeAttempt.objects.get()
    assert attempt.instance is None
    rows = list(AuditEvent.objects.order_by("id").values_list("action", "outcome", "instance_id", "detail"))
    assert [row[:3] for row in rows] == [
        ("login.send_code", "ok", None),
        ("login.code", "refused", None),
        ("login.code", "ok", None),
    ]
    assert rows[1][3] == {"via": "generate_session", "error": "CodeInvalid"}
    assert rows[2][3]["telegram_user_id"] and session not in str(rows)


def test_with_an_instance_the_send_code_limit_of_the_instance_applies(telegram, instance):
    _refused_codes(instance=instance, phone_fingerprint="another phone")
    with pytest.raises(CommandError, match="already requested for this instance"):
        _run("--instance", instance.session, lines=["", "", ADA])
    instance.refresh_from_db()
    assert instance.status == "new" and not PendingLogin.objects.exists()
    assert AuditEvent.objects.filter(instance=instance, action="login.send_code", outcome="refused").exists()


def test_with_an_instance_it_waits_for_the_instances_lease(telegram, instance):
    lease_acquire(session=instance.session, holder="another-process", purpose="test", wait=0)
    try:
        with pytest.raises(CommandError, match="Another operation is using"):
            _run("--instance", instance.session, lines=["", "", ADA])
    finally:
        lease_release(session=instance.session, holder="another-process")
    assert not SendCodeAttempt.objects.exists()


def test_with_an_instance_a_login_in_progress_on_the_page_is_not_taken_over(telegram, instance, operator):
    login_send_code(instance=instance, actor=operator, phone=BEA)
    with pytest.raises(CommandError, match="already in progress"):
        _run("--instance", instance.session, lines=["", "", ADA])
    assert PendingLogin.objects.get(instance=instance).phone == BEA


def test_with_an_instance_the_login_is_the_pages(telegram, instance):
    old = log_in(instance).session_string
    out, err = _run("--instance", instance.session, lines=["", "", ADA, "22222"])
    instance.refresh_from_db()
    assert "Logged in as Ada Demo" in out and f"Saved to {instance.object_key}." in out
    assert "could not make its own authorization" not in err
    assert instance.status == "active" and instance.dashboard_session  # the dashboard's own key, minted
    assert get_session_storage().load(instance.session).content == instance.session_string
    assert not telegram.is_authorized(old)  # the replaced connector key is logged out
    actions = set(AuditEvent.objects.filter(instance=instance).values_list("action", flat=True))
    assert {"login.send_code", "login.code", "connector_key.retire"} <= actions
    assert SendCodeAttempt.objects.get().instance == instance
    assert instance.login_finished_at is not None


def test_with_an_instance_a_2fa_account_asks_for_the_password_with_its_hint(telegram, instance):
    _, err = _run("--instance", instance.session, lines=["", "", BEA, "33333", "nope", BEA_PASSWORD])
    instance.refresh_from_db()
    assert "hint: four words" in err and "password is wrong" in err
    assert instance.status == "active" and instance.telegram_name == "Bea Demo" and instance.dashboard_session


def test_with_an_instance_wrong_codes_cancel_the_login(telegram, instance):
    with pytest.raises(CommandError, match="code is not right"):
        _run("--instance", instance.session, lines=["", "", ADA, "11111", "11112", "11113"])
    instance.refresh_from_db()
    assert instance.status == "new" and not PendingLogin.objects.exists()
    assert AuditEvent.objects.filter(instance=instance, action="login.cancel").exists()


def test_with_an_instance_input_ending_early_cancels_the_login(telegram, instance):
    with pytest.raises(CommandError, match="Input ended"):
        _run("--instance", instance.session, lines=["", "", ADA])
    assert not PendingLogin.objects.exists()


def test_with_an_instance_other_api_credentials_are_refused_before_any_code(telegram, instance):
    with pytest.raises(CommandError, match="logs in with API ID"):
        _run("--instance", instance.session, lines=["12345", "f" * 32, ADA])
    assert not SendCodeAttempt.objects.exists()


# --- An account that must set up a login email first, and codes that go by email ---

EVE, EVE_EMAIL = "+9996631005", "eve@example.org"


class _Typed:
    """Lines typed at the prompts; a callable is evaluated when its prompt comes (a code emailed just then)."""

    def __init__(self, lines: list) -> None:
        self.lines = list(lines)

    def readline(self) -> str:
        if not self.lines:
            return ""
        line = self.lines.pop(0)
        return (line() if callable(line) else line) + "\n"


def _run_typed(*args, lines: list):
    out, err = StringIO(), StringIO()
    call_command("generate_session", *args, stdin=_Typed(lines), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_sets_up_the_login_email_telegram_asks_for_then_signs_in(telegram, db):
    out, err = _run_typed(
        lines=[
            "",
            "",
            EVE,
            "not an address",
            EVE_EMAIL,
            lambda: telegram.last_email_code(EVE_EMAIL),
            lambda: telegram.last_code(EVE.lstrip("+")),
        ]
    )
    session = out.strip().splitlines()[-1].removeprefix("TELEGRAM_SESSION=")
    assert telegram.is_authorized(session)
    assert "login email set up" in err and "Enter an email address" in err
    assert "by email to" in err  # where each code went
    assert telegram.login_email(EVE.lstrip("+")) == EVE_EMAIL
    actions = list(AuditEvent.objects.filter(outcome="ok").values_list("action", flat=True))
    assert {"login.email", "login.email_verified", "login.code"} <= set(actions)
    assert EVE_EMAIL not in str(list(AuditEvent.objects.values_list("detail", flat=True)))


def test_with_an_instance_it_sets_up_the_login_email_then_stores_the_session(telegram, instance):
    out, err = _run_typed(
        "--instance",
        instance.session,
        lines=[
            "",
            "",
            EVE,
            EVE_EMAIL,
            "00000",  # a wrong emailed code: said, and asked again
            lambda: telegram.last_email_code(EVE_EMAIL),
            lambda: telegram.last_code(EVE.lstrip("+")),
        ],
    )
    instance.refresh_from_db()
    assert instance.status == "active" and telegram.is_authorized(instance.session_string)
    assert not PendingLogin.objects.filter(instance=instance).exists()
    assert "by email to" in err and "login email set up" in err
    assert instance.session_string not in out + err
    assert telegram.login_email(EVE.lstrip("+")) == EVE_EMAIL


def test_a_login_email_left_unconfirmed_cancels_the_instances_login(telegram, instance):
    with pytest.raises(CommandError, match="Input ended"):
        _run_typed("--instance", instance.session, lines=["", "", EVE, EVE_EMAIL])
    instance.refresh_from_db()
    assert instance.status == "new" and not PendingLogin.objects.filter(instance=instance).exists()
