"""`manage.py demo_telegram age-keys` and `drop-connections`: the fake's knobs the demo recipes need, one line each."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from sessions_app.telegram.errors import TelegramUnreachable
from tests.conftest import ADA, log_in
from tests.telegram.test_demo_security_commands import ADA_ID, PHONE, demo_mode, demo_telegram

__all__ = ["demo_mode"]  # the fixture, shared with the security commands' tests

DAY = 24 * 3600


def ages(world) -> list[float]:
    now = world.clock()
    return sorted(now - authorization.date_created for authorization in world.authorizations(ADA_ID))


def test_age_keys_makes_every_authorization_of_the_account_older(demo_mode, instance):
    log_in(instance)
    before = ages(demo_mode)
    assert min(before) < DAY  # the fresh login's keys (the demo's seeded devices are older)
    printed = demo_telegram("age-keys", PHONE, "25")
    assert printed == (
        f"The {len(before)} authorization(s) of {PHONE} are now 25 hours older: "
        "those past 24 hours may terminate other sessions.\n"
    )
    assert [round(after - age) for after, age in zip(ages(demo_mode), before, strict=True)] == [25 * 3600] * len(before)


@pytest.mark.parametrize(
    ("phone", "hours", "said"), [("5550100", "25", "not a demo account"), (PHONE, "0", "positive")]
)
def test_age_keys_refuses_an_unknown_number_or_no_hours(demo_mode, phone, hours, said):
    with pytest.raises(CommandError, match=said):
        demo_telegram("age-keys", phone, hours)


def test_drop_connections_breaks_the_dashboard_s_key_at_its_nth_request(demo_mode, instance):
    from sessions_app.telegram.account import account_view
    from sessions_app.telegram.client import DEMO_CREDENTIALS

    log_in(instance)
    instance.refresh_from_db()
    assert account_view(session=instance.dashboard_session, api=DEMO_CREDENTIALS).authorizations
    printed = demo_telegram("drop-connections", instance.session, "--down-seconds", "3600")
    assert printed == (
        f"The dashboard's connection of {instance.session} breaks at its request number 1 from now "
        "and stays down 3600 s; a running archive run reconnects by itself.\n"
    )
    with pytest.raises(TelegramUnreachable):
        account_view(session=instance.dashboard_session, api=DEMO_CREDENTIALS)
    # Only that key's network broke: the connector's key still reaches Telegram.
    assert account_view(session=instance.session_string, api=DEMO_CREDENTIALS).authorizations


def test_drop_connections_needs_an_instance_with_a_dashboard_key(demo_mode, instance):
    with pytest.raises(CommandError, match="No instance has the SESSION name"):
        demo_telegram("drop-connections", "nobody-here")
    with pytest.raises(CommandError, match="log the instance in first"):
        demo_telegram("drop-connections", instance.session)
    log_in(instance)
    with pytest.raises(CommandError, match="N must be 1 or more"):
        demo_telegram("drop-connections", instance.session, "0")


@pytest.mark.parametrize("args", [("age-keys", ADA, "25"), ("drop-connections", "prod-bot")])
def test_the_knob_commands_are_refused_outside_demo_mode(telegram, instance, args):
    with pytest.raises(CommandError, match="only exists in demo mode"):
        demo_telegram(*args)
