"""The security watch through real health checks on the demo Telegram: new logins, 2FA, ban, freeze, a moved connector."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from sessions_app.models import AuditEvent, ConnectorInstance, InstanceStatus, Membership, Role
from sessions_app.models_health import AlertDelivery, Health, InstanceHealth
from sessions_app.models_network import ServedRequest
from sessions_app.models_watch import AccountWatch, WatchedAuthorization
from sessions_app.services.health.check import health_check
from sessions_app.services.health.worker import HealthWorker
from sessions_app.services.keys import dashboard_key_mint, key_fingerprint
from sessions_app.services.lease import SERVING_PURPOSE, lease_acquire, lease_release
from sessions_app.services.sessions import session_save
from sessions_app.telegram.account import AccountView, list_authorizations
from sessions_app.telegram.client import default_credentials
from sessions_app.telegram.errors import AccountBanned
from tests.conftest import ADA, BEA, BEA_PASSWORD, bea_session, demo_session, log_in


def _alerts(instance, event: str) -> list[AlertDelivery]:
    """The alerts of one event queued for the instance (one per destination: here the owner's email only)."""
    return list(AlertDelivery.objects.filter(instance=instance, event=event).order_by("id"))


def _events(instance) -> list[str]:
    return list(AlertDelivery.objects.filter(instance=instance).order_by("id").values_list("event", flat=True))


def _state(instance) -> str:
    return InstanceHealth.objects.get(instance=instance).state


@pytest.fixture
def watched(saved):
    """A saved instance whose first check took the baseline."""
    assert health_check(instance=saved).result == Health.HEALTHY
    assert _events(saved) == []
    return saved


# --- New authorizations ------------------------------------------------------------------------------


def test_a_foreign_login_is_alerted_once_naming_the_device(watched, telegram):
    telegram.foreign_login(ADA, device_model="iPhone 15 Pro", ip="198.51.100.23", country="NL")
    assert health_check(instance=watched).result == Health.HEALTHY
    [alert] = _alerts(watched, "new_authorization")
    payload = alert.payload
    assert payload["authorization"] == {
        "device": "iPhone 15 Pro",
        "platform": "iOS",
        "app": "Telegram iOS 12.2",
        "api_id": 6,
        "ip": "198.51.100.23",
        "country": "NL",
        "created": payload["authorization"]["created"],
    }
    assert payload["authorization"]["created"]
    assert payload["text"].startswith(
        "teleconnect: A new login on Production bot: iPhone 15 Pro, Telegram iOS 12.2, from 198.51.100.23 (NL), "
    )
    for _ in range(3):
        health_check(instance=watched)
    assert len(_alerts(watched, "new_authorization")) == 1
    assert _state(watched) == Health.HEALTHY


def test_two_foreign_logins_are_two_alerts_each_naming_its_device(watched, telegram):
    telegram.foreign_login(ADA, device_model="iPhone 15 Pro")
    telegram.foreign_login(ADA, device_model="Pixel 8", app_name="Telegram Android", app_version="11.1")
    health_check(instance=watched)
    devices = sorted(alert.payload["authorization"]["device"] for alert in _alerts(watched, "new_authorization"))
    assert devices == ["Pixel 8", "iPhone 15 Pro"]


def test_the_alert_reaches_the_webhook_as_json(watched, telegram, receiver):
    worker = HealthWorker()
    telegram.foreign_login(ADA, device_model="Galaxy S24", country="DE")
    health_check(instance=watched)
    worker.sender_step()
    receiver.wait_for(1)
    [hook] = receiver.received
    assert hook["event"] == "new_authorization" and hook["session"] == "prod-bot"
    assert hook["authorization"]["device"] == "Galaxy S24" and hook["authorization"]["country"] == "DE"
    assert "A new login on Production bot: Galaxy S24" in hook["text"]


def test_what_was_there_at_the_first_check_is_the_baseline_and_not_alerted(saved, telegram):
    telegram.foreign_login(ADA, device_model="Old laptop")
    health_check(instance=saved)
    health_check(instance=saved)
    assert _events(saved) == []
    watch = AccountWatch.objects.get(instance=saved)
    assert watch.connector_key_fingerprint == saved.connector_key_fingerprint and watch.baseline_at is not None
    assert WatchedAuthorization.objects.filter(instance=saved, origin="baseline", description__startswith="Old laptop")


def test_a_new_login_takes_a_new_baseline(watched, telegram):
    """Logging the instance in again (a new connector key) makes what is on the account then the baseline."""
    telegram.foreign_login(ADA, device_model="Someone's tablet")
    log_in(watched)  # a new connector key and a new dashboard key, before any check saw the tablet
    session_save(instance=watched, actor=None)
    health_check(instance=watched)
    assert _events(watched) == []
    telegram.foreign_login(ADA, device_model="After the login")
    health_check(instance=watched)
    assert [a.payload["authorization"]["device"] for a in _alerts(watched, "new_authorization")] == ["After the login"]


def test_the_dashboards_own_mints_and_the_connector_are_never_alerted(watched, telegram):
    for _ in range(2):
        dashboard_key_mint(instance=watched, actor=None)  # a new dashboard key; the old one is logged out
        health_check(instance=watched)
    assert _events(watched) == []
    assert _state(watched) == Health.HEALTHY


def test_an_old_dashboard_key_that_outlived_its_re_mint_is_still_the_dashboards(watched, telegram, monkeypatch):
    monkeypatch.setattr("sessions_app.services.keys.key_retire", lambda **kwargs: False)  # Telegram did not confirm
    old = watched.dashboard_authorization_hash
    dashboard_key_mint(instance=watched, actor=None)
    watched.refresh_from_db()
    assert watched.dashboard_authorization_hash != old
    assert old in {a.hash for a in telegram.authorizations(_user_id(telegram))}  # still alive
    health_check(instance=watched)
    assert _events(watched) == []


def test_an_old_dashboard_key_minted_and_replaced_between_two_checks_is_the_dashboards(watched, telegram, monkeypatch):
    """Two re-mints before the next check, the first new key's logout unconfirmed: the check never saw it as own."""
    monkeypatch.setattr("sessions_app.services.keys.key_retire", lambda **kwargs: False)  # Telegram did not confirm
    dashboard_key_mint(instance=watched, actor=None)
    watched.refresh_from_db()
    between = watched.dashboard_authorization_hash
    dashboard_key_mint(instance=watched, actor=None)
    watched.refresh_from_db()
    assert watched.dashboard_authorization_hash != between
    assert between in {a.hash for a in telegram.authorizations(_user_id(telegram))}  # still alive
    health_check(instance=watched)
    assert _alerts(watched, "new_authorization") == []
    assert WatchedAuthorization.objects.get(instance=watched, authorization_hash=between).origin == "own"
    telegram.terminate(between)
    health_check(instance=watched)  # no longer listed: forgotten
    assert not WatchedAuthorization.objects.filter(instance=watched, authorization_hash=between).exists()
    assert _events(watched) == []


def _user_id(telegram) -> int:
    from sessions_app.telegram.fake.accounts import account_by_phone

    account = account_by_phone(ADA)
    assert account is not None
    return account.user_id


def test_another_instances_keys_on_the_same_account_are_not_new(watched, telegram, owner):
    other = ConnectorInstance.objects.create(session="second-bot", name="Second bot")
    Membership.objects.create(user=owner, instance=other, role=Role.OWNER)
    log_in(other)  # the same demo account: its connector's and its dashboard's authorizations appear
    health_check(instance=watched)
    assert _events(watched) == []


def test_a_login_another_instance_already_alerted_is_not_alerted_again(watched, telegram, owner):
    other = ConnectorInstance.objects.create(session="second-bot", name="Second bot")
    Membership.objects.create(user=owner, instance=other, role=Role.OWNER)
    log_in(other)
    for instance in (watched, other):
        ConnectorInstance.objects.filter(pk=instance.pk).update(telegram_user_id=_user_id(telegram))
        instance.refresh_from_db()
    health_check(instance=other)  # its baseline
    telegram.foreign_login(ADA, device_model="Intruder")
    health_check(instance=other)
    health_check(instance=watched)
    alerts = AlertDelivery.objects.filter(event="new_authorization")
    assert [alert.session for alert in alerts] == ["second-bot"]
    assert _events(watched) == []


def test_an_ended_authorization_is_forgotten(watched, telegram):
    foreign = telegram.foreign_login(ADA, device_model="Short visit")
    health_check(instance=watched)
    assert WatchedAuthorization.objects.filter(instance=watched, authorization_hash=foreign).exists()
    telegram.terminate(foreign)
    health_check(instance=watched)
    assert not WatchedAuthorization.objects.filter(instance=watched, authorization_hash=foreign).exists()
    assert len(_alerts(watched, "new_authorization")) == 1


# --- Two-step verification ---------------------------------------------------------------------------


@pytest.fixture
def saved_2fa(telegram, instance, owner):
    """An instance of the demo account with two-step verification, minted with its password, never checked."""
    owner.email = "olivia@example.com"
    owner.save(update_fields=["email"])
    instance.session_string = bea_session()
    instance.connector_key_fingerprint = key_fingerprint(instance.session_string)
    instance.status = InstanceStatus.ACTIVE
    instance.save()
    dashboard_key_mint(instance=instance, actor=None, password=BEA_PASSWORD)
    session_save(instance=instance, actor=None)
    instance.refresh_from_db()
    return instance


@pytest.fixture
def watched_2fa(saved_2fa):
    """saved_2fa, checked once."""
    instance = saved_2fa
    assert health_check(instance=instance).result == Health.HEALTHY
    assert AccountWatch.objects.get(instance=instance).two_step is True
    return instance


def test_two_step_switched_off_is_alerted_once(watched_2fa, telegram):
    telegram.two_step_off(BEA)
    assert health_check(instance=watched_2fa).result == Health.HEALTHY
    [alert] = _alerts(watched_2fa, "two_step_disabled")
    assert "two-step verification was switched off" in alert.payload["text"]
    assert alert.payload["two_step"]["two_step"] is False and alert.payload["two_step"]["previous"]["two_step"] is True
    health_check(instance=watched_2fa)
    assert len(_alerts(watched_2fa, "two_step_disabled")) == 1
    assert _state(watched_2fa) == Health.HEALTHY


def test_two_step_switched_on_again_and_off_again_is_an_alert_each_time(watched_2fa, telegram):
    telegram.two_step_off(BEA)
    health_check(instance=watched_2fa)
    telegram.two_step_on(BEA, "a new password")
    health_check(instance=watched_2fa)  # switched on from a session: whose recovery email?
    assert len(_alerts(watched_2fa, "two_step_disabled")) == 2
    telegram.two_step_off(BEA)
    health_check(instance=watched_2fa)
    assert len(_alerts(watched_2fa, "two_step_disabled")) == 3


def test_two_step_switched_on_on_an_account_without_it_is_alerted_once(watched, telegram):
    """The usual takeover of an account without 2FA: a session's holder sets a password and their own email."""
    telegram.two_step_on(ADA, "the intruder's password")
    telegram.recovery_email_set(ADA, "intruder@example.net")
    assert health_check(instance=watched).result == Health.HEALTHY
    [alert] = _alerts(watched, "two_step_disabled")
    assert (
        "On Production bot, two-step verification was switched on from a session: "
        "check the recovery email is the team's." in alert.payload["text"]
    )
    assert alert.payload["two_step"]["two_step"] is True and alert.payload["two_step"]["previous"]["two_step"] is False
    health_check(instance=watched)
    assert len(_alerts(watched, "two_step_disabled")) == 1
    assert _state(watched) == Health.HEALTHY


def test_a_password_reset_request_is_alerted_once_naming_the_date(watched_2fa, telegram):
    """Someone without the password asked account.resetPassword: it is gone in 7 days unless declined."""
    due = telegram.two_step_reset_requested(BEA)
    assert due - timezone.now() > timedelta(days=6)
    health_check(instance=watched_2fa)
    [alert] = _alerts(watched_2fa, "two_step_disabled")
    text = alert.payload["text"]
    assert "a reset of its two-step verification password was requested" in text
    assert f"removes the password on {due:%Y-%m-%d %H:%M} UTC unless the owner declines the reset" in text
    assert "Settings > Privacy and Security > Two-Step Verification" in text
    assert alert.payload["two_step"]["reset_pending"] == due.isoformat()
    assert alert.payload["two_step"]["previous"]["reset_pending"] is None
    health_check(instance=watched_2fa)
    assert len(_alerts(watched_2fa, "two_step_disabled")) == 1
    assert AccountWatch.objects.get(instance=watched_2fa).reset_pending == due


def test_a_declined_reset_is_no_news_and_a_new_request_is_a_new_alert(watched_2fa, telegram):
    telegram.two_step_reset_requested(BEA)
    health_check(instance=watched_2fa)
    telegram.two_step_on(BEA, BEA_PASSWORD)  # the same password set again: the request is gone
    health_check(instance=watched_2fa)
    assert AccountWatch.objects.get(instance=watched_2fa).reset_pending is None
    assert len(_alerts(watched_2fa, "two_step_disabled")) == 1
    telegram.two_step_reset_requested(BEA, days=3)
    health_check(instance=watched_2fa)
    assert len(_alerts(watched_2fa, "two_step_disabled")) == 2


def test_two_step_switched_on_before_the_first_check_is_the_baseline(saved, telegram):
    telegram.two_step_on(ADA, "set before the watch began")
    health_check(instance=saved)
    health_check(instance=saved)
    assert _events(saved) == []
    assert AccountWatch.objects.get(instance=saved).two_step is True


def test_a_reset_requested_before_the_first_check_is_the_baseline(saved_2fa, telegram):
    due = telegram.two_step_reset_requested(BEA)
    health_check(instance=saved_2fa)
    health_check(instance=saved_2fa)
    assert _events(saved_2fa) == []
    assert AccountWatch.objects.get(instance=saved_2fa).reset_pending == due


def test_a_changed_recovery_email_is_alerted_once(watched_2fa, telegram):
    telegram.recovery_email_set(BEA, "someone-else@example.net")
    health_check(instance=watched_2fa)
    health_check(instance=watched_2fa)
    [alert] = _alerts(watched_2fa, "two_step_disabled")
    assert "recovery email changed" in alert.payload["text"]


def test_an_account_without_two_step_at_the_first_check_is_not_alerted(watched, telegram):
    assert AccountWatch.objects.get(instance=watched).two_step is False
    health_check(instance=watched)
    assert _events(watched) == []


# --- Banned, deleted, frozen -------------------------------------------------------------------------


def test_a_banned_account_is_alerted_once_keeps_its_keys_and_recovers(watched, telegram):
    telegram.ban(ADA)
    check = health_check(instance=watched)
    assert check.result == Health.ACCOUNT_BANNED and check.connector_finding == "banned"
    assert "recover@telegram.org" in check.reason
    watched.refresh_from_db()
    assert watched.dashboard_session and watched.status == InstanceStatus.ACTIVE  # nothing forgotten
    assert AuditEvent.objects.filter(instance=watched, action="health.check", outcome="banned").exists()
    assert not AuditEvent.objects.filter(instance=watched, action="dashboard_key.lost").exists()
    health_check(instance=watched)
    assert _events(watched) == ["account_banned"]
    assert _alerts(watched, "account_banned")[0].payload["reason"] == check.reason

    telegram.unban(ADA)
    assert health_check(instance=watched).result == Health.HEALTHY
    assert _events(watched) == ["account_banned", "recovered"]
    watched.refresh_from_db()
    assert watched.status == InstanceStatus.ACTIVE


def test_a_deleted_account_is_account_banned_and_says_it_is_gone(watched, telegram):
    telegram.ban(ADA, deleted=True)
    check = health_check(instance=watched)
    assert check.result == Health.ACCOUNT_BANNED and "deleted" in check.reason
    assert _events(watched) == ["account_banned"]


def test_a_frozen_account_is_alerted_once_with_the_appeal_link_and_recovers(watched, telegram):
    telegram.freeze(ADA, appeal_url="https://t.me/spambot?start=appeal", until=timezone.now() + timedelta(days=30))
    check = health_check(instance=watched)
    assert check.result == Health.ACCOUNT_FROZEN and check.connector_finding == "frozen"
    assert "https://t.me/spambot?start=appeal" in check.reason
    health_check(instance=watched)
    assert _events(watched) == ["account_frozen"]
    watched.refresh_from_db()
    assert watched.dashboard_session and watched.status == InstanceStatus.ACTIVE

    telegram.unfreeze(ADA)
    assert health_check(instance=watched).result == Health.HEALTHY
    assert _events(watched) == ["account_frozen", "recovered"]


# --- The connector moving ----------------------------------------------------------------------------


def test_the_connector_seen_from_a_new_country_is_one_notice_and_no_status_change(watched, telegram):
    first = AccountWatch.objects.get(instance=watched).connector_country
    assert first  # the first sighting only records it
    telegram.move_key(ADA, watched.connector_authorization_hash, ip="203.0.113.50", country="DE")
    assert health_check(instance=watched).result == Health.HEALTHY
    [alert] = _alerts(watched, "connector_moved")
    assert alert.payload["connector"] == {"ip": "203.0.113.50", "country": "DE", "previous_country": first}
    assert "now connects from 203.0.113.50 (DE)" in alert.payload["text"]
    health_check(instance=watched)
    assert _events(watched) == ["connector_moved"]
    assert _state(watched) == Health.HEALTHY
    assert not AuditEvent.objects.filter(instance=watched, action="health.change").exclude(detail__from="unknown")


# --- A dashboard key that never existed (issue 19) ---------------------------------------------------


def test_an_instance_never_minted_is_not_alerted_as_a_lost_key_nor_recovered_after_minting(telegram, instance, owner):
    instance.session_string = demo_session()
    instance.connector_key_fingerprint = key_fingerprint(instance.session_string)
    instance.status = InstanceStatus.ACTIVE
    instance.save()
    session_save(instance=instance, actor=None)
    check = health_check(instance=instance)
    assert check.result == Health.IDLE and check.connector_finding == "not_minted"
    assert "Mint the dashboard's authorization" in check.reason
    dashboard_key_mint(instance=instance, actor=None)
    assert health_check(instance=instance).result == Health.HEALTHY
    assert _events(instance) == []


def test_a_minted_key_that_was_lost_is_still_alerted(watched, telegram):
    telegram.terminate_session(watched.dashboard_session)
    assert health_check(instance=watched).result == Health.DASHBOARD_KEY_LOST
    assert health_check(instance=watched).result == Health.DASHBOARD_KEY_LOST  # forgotten now, minted once
    assert _events(watched) == ["dashboard_key_lost"]


# --- A check answered by a running archive -----------------------------------------------------------


@pytest.fixture
def archive_running(watched, monkeypatch):
    """An archive run holds the dashboard's connection and answers the check's request (as between two chunks)."""
    from sessions_app.services import connector

    holder = "archive-run"
    lease_acquire(session=watched.session, holder=holder, purpose=SERVING_PURPOSE, wait=0)
    answers: list[Callable[[], AccountView]] = []

    def ask(*, session: str, holder: str, method: str, wait: float) -> ServedRequest:
        request = ServedRequest.objects.create(session=session, holder=holder, method=method)
        assert connector.connector_requests_serve(session=session, holder=holder, account=answers[-1]) == 1
        request.refresh_from_db()
        request.delete()
        return request

    monkeypatch.setattr(connector, "lease_ask", ask)
    yield answers
    lease_release(session=watched.session, holder=holder)


def _over_the_runs_connection(instance) -> AccountView:
    """What the run's connection answers: the account's authorizations (its 2FA state waits for a check of its own)."""
    listed = list_authorizations(session=instance.dashboard_session, api=default_credentials())
    return AccountView(authorizations=listed, security=None, freeze=None)


def test_a_check_answered_by_a_running_archive_still_alerts_a_new_login(watched, telegram, archive_running):
    telegram.foreign_login(ADA, device_model="Seen mid-run")
    archive_running.append(lambda: _over_the_runs_connection(watched))
    check = health_check(instance=watched)
    assert check.result == Health.HEALTHY and check.connector_finding == "listed"
    assert [a.payload["authorization"]["device"] for a in _alerts(watched, "new_authorization")] == ["Seen mid-run"]
    assert AccountWatch.objects.get(instance=watched).two_step is False  # kept from the last check of its own


def test_a_ban_seen_by_a_running_archive_is_account_banned(watched, telegram, archive_running):
    def banned() -> AccountView:
        raise AccountBanned()

    archive_running.append(banned)
    check = health_check(instance=watched)
    assert check.result == Health.ACCOUNT_BANNED and "recover@telegram.org" in check.reason
