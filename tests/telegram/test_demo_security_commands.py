"""`manage.py demo_telegram` for the security watch: each subcommand does one thing to the demo world and says so."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from sessions_app.telegram.fake import DemoTelegram
from tests import support
from tests.conftest import ADA, BEA, log_in

ADA_ID = 7100021001
PHONE = ADA.lstrip("+")


@pytest.fixture
def demo_mode(settings, tmp_path) -> DemoTelegram:
    """Demo mode as scripts/run has it: the command reaches the world at TELEGRAM_DEMO_STATE."""
    settings.TELEGRAM_DEMO = True
    settings.TELEGRAM_DEMO_STATE = str(tmp_path / "demo-telegram.sqlite3")
    settings.TELEGRAM_CLIENT_FACTORY = "sessions_app.telegram.fake.demo_client_factory"
    world = DemoTelegram.from_settings()
    support.use_world(world)
    return world


def demo_telegram(*args: str) -> str:
    out = StringIO()
    call_command("demo_telegram", *args, stdout=out)
    return out.getvalue()


def account_row(world: DemoTelegram, phone: str = PHONE):
    with world.store.tx() as db:
        return db.execute("SELECT * FROM accounts WHERE phone = ?", (phone,)).fetchone()


def test_foreign_login_adds_a_stranger_s_session_and_prints_its_hash(demo_mode):
    printed = demo_telegram("foreign-login", PHONE, "--device", "Galaxy S24", "--ip", "192.0.2.7", "--country", "PL")
    [foreign] = [a for a in demo_mode.authorizations(ADA_ID) if a.device_model == "Galaxy S24"]
    assert (foreign.ip, foreign.country, foreign.api_id) == ("192.0.2.7", "PL", 6)
    assert printed.count("\n") == 1 and str(foreign.hash) in printed and "192.0.2.7 (PL)" in printed


def test_two_step_off_removes_the_password(demo_mode):
    assert account_row(demo_mode, BEA.lstrip("+"))["verifier"] is not None
    assert "has_password false" in demo_telegram("two-step-off", BEA.lstrip("+"))
    assert account_row(demo_mode, BEA.lstrip("+"))["verifier"] is None


def test_two_step_reset_requests_a_reset_in_seven_days(demo_mode):
    before = demo_mode.clock()
    printed = demo_telegram("two-step-reset", BEA.lstrip("+"))
    due = account_row(demo_mode, BEA.lstrip("+"))["password_reset_at"]
    assert before + 7 * 86400 <= due <= demo_mode.clock() + 7 * 86400
    assert "pending_reset_date" in printed and printed.count("\n") == 1
    demo_telegram("two-step-off", BEA.lstrip("+"))
    assert account_row(demo_mode, BEA.lstrip("+"))["password_reset_at"] is None


def test_two_step_reset_of_an_account_without_a_password_is_refused(demo_mode):
    with pytest.raises(CommandError, match="no two-step verification password"):
        demo_telegram("two-step-reset", PHONE)


@pytest.mark.parametrize(("flags", "answer"), [((), "USER_DEACTIVATED_BAN"), (("--deleted",), "USER_DEACTIVATED")])
def test_ban_and_unban(demo_mode, flags, answer):
    assert f"answers {answer}." in demo_telegram("ban", PHONE, *flags)
    assert account_row(demo_mode)["deactivated"] == answer
    assert "work again" in demo_telegram("unban", PHONE)
    assert account_row(demo_mode)["deactivated"] is None


def test_freeze_and_unfreeze(demo_mode):
    printed = demo_telegram("freeze", PHONE, "--appeal-url", "https://t.me/appeal_demo")
    assert "FROZEN_METHOD_INVALID" in printed and "https://t.me/appeal_demo" in printed
    row = account_row(demo_mode)
    assert row["frozen_since"] is not None and row["frozen_appeal"] == "https://t.me/appeal_demo"
    assert "no longer frozen" in demo_telegram("unfreeze", PHONE)
    assert account_row(demo_mode)["frozen_since"] is None


def test_move_connector_moves_the_instance_s_connector_authorization(demo_mode, instance):
    log_in(instance)
    instance.refresh_from_db()
    assert instance.connector_authorization_hash is not None
    printed = demo_telegram("move-connector", instance.session, "--ip", "192.0.2.44", "--country", "JP")
    assert printed == f"The connector of {instance.session} is now seen from 192.0.2.44 (JP).\n"
    moved = next(a for a in demo_mode.authorizations(ADA_ID) if a.hash == instance.connector_authorization_hash)
    assert (moved.ip, moved.country) == ("192.0.2.44", "JP")


def test_move_connector_needs_a_known_connector_authorization(demo_mode, instance):
    with pytest.raises(CommandError, match="No instance has the SESSION name"):
        demo_telegram("move-connector", "nobody-here", "--ip", "192.0.2.44", "--country", "JP")
    with pytest.raises(CommandError, match="run a health check"):
        demo_telegram("move-connector", instance.session, "--ip", "192.0.2.44", "--country", "JP")


def test_move_connector_refuses_a_hash_the_account_does_not_have(demo_mode, instance):
    log_in(instance)
    instance.refresh_from_db()
    demo_mode.terminate(instance.connector_authorization_hash)
    with pytest.raises(CommandError, match="no longer active"):
        demo_telegram("move-connector", instance.session, "--ip", "192.0.2.44", "--country", "JP")
    instance.phone = ADA  # the number is known, the hash is not the account's any more
    instance.save()
    with pytest.raises(CommandError, match="no active session with hash"):
        demo_telegram("move-connector", instance.session, "--ip", "192.0.2.44", "--country", "JP")


@pytest.mark.parametrize(
    "args",
    [
        ("foreign-login", "5550100"),
        ("two-step-off", "5550100"),
        ("ban", "5550100"),
        ("unban", "5550100"),
        ("freeze", "5550100"),
        ("unfreeze", "5550100"),
    ],
)
def test_each_subcommand_refuses_a_number_that_is_no_demo_account(demo_mode, args):
    with pytest.raises(CommandError, match="not a demo account"):
        demo_telegram(*args)


@pytest.mark.parametrize("args", [("foreign-login", PHONE), ("ban", PHONE), ("freeze", PHONE), ("two-step-off", PHONE)])
def test_the_subcommands_are_refused_outside_demo_mode(telegram, args):
    with pytest.raises(CommandError, match="only exists in demo mode"):
        demo_telegram(*args)


def test_a_banned_account_s_keys_answer_the_ban_through_the_demo_factory(demo_mode, instance):
    """The command and the dashboard's clients share the world at TELEGRAM_DEMO_STATE."""
    from sessions_app.telegram.account import account_view
    from sessions_app.telegram.client import DEMO_CREDENTIALS
    from sessions_app.telegram.errors import AccountBanned

    log_in(instance)
    instance.refresh_from_db()
    demo_telegram("ban", PHONE)
    with pytest.raises(AccountBanned):
        account_view(session=instance.dashboard_session, api=DEMO_CREDENTIALS)
    demo_telegram("unban", PHONE)
    assert account_view(session=instance.dashboard_session, api=DEMO_CREDENTIALS).authorizations
