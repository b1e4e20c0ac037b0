"""Every sentence a person reads uses words: the audit, alerts and instance pages after a varied
history show no internal code (connector_gone, password_needed, login.password, a bare "token")."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.core.management import get_commands
from django.utils import timezone

from sessions_app.models import ConnectorInstance, Membership, Role
from sessions_app.models_health import Health
from sessions_app.selectors.audit_sentences import audit_sentence
from sessions_app.services import login as login_service
from sessions_app.services.audit import audit_record
from sessions_app.services.authorizations import authorization_terminate
from sessions_app.services.health.alerts import alert_notice_queue, alerts_queue
from sessions_app.services.health.check import health_check
from sessions_app.services.login_import import login_qr_poll, session_import
from sessions_app.services.revoke import session_revoke
from sessions_app.services.sessions import session_save, session_verify
from tests.conftest import ADA, BEA, BEA_PASSWORD, client_for, demo_session

# SESSION names here have no underscore, so any snake_case word on a page is a code that leaked; an
# @username is Telegram's, and text in <code> (a command, an object key) is meant to be typed as it is.
CODE = re.compile(r"(?<![@\w])[a-z]+_[a-z_]+\b")
PAGES = ("/audit/", "/instances/prod-bot/audit/", "/instances/side-bot/audit/", "/alerts/", "/instances/prod-bot/",
         "/instances/side-bot/")  # fmt: skip


class _Text(HTMLParser):
    """The text a person reads as sentences: no tags, attributes, scripts, styles or <code>."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "code"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "code"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


@pytest.fixture
def history(telegram, clock, instance, owner, admin_user, settings):
    """prod-bot: logged in by code, saved, verified, checked, a device terminated, a QR started, its
    connector ended from elsewhere, checked again; side-bot: logged in with 2FA, imported, revoked;
    alerts for every problem and notice."""
    settings.ALERT_EMAILS = ["team@example.com"]
    settings.ALERT_WEBHOOK_URLS = []
    side = ConnectorInstance.objects.create(session="side-bot", name="Side bot", created_by=owner)
    Membership.objects.create(user=owner, instance=side, role=Role.OWNER)

    login_service.login_send_code(instance=instance, actor=owner, phone=ADA)
    prod = login_service.login_submit_code(instance=instance, actor=owner, code="22222")
    session_save(instance=prod, actor=owner)
    session_verify(instance=prod, actor=owner)
    health_check(instance=prod, trigger="schedule")
    clock.advance(25 * 3600)  # Telegram's 24-hour rule before a session may end others
    device = next(a for a in telegram.authorizations(prod.telegram_user_id) if a.device_model == "Pixel 8")
    authorization_terminate(instance=prod, actor=owner, authorization_hash=device.hash)

    login_service.login_send_code(instance=side, actor=admin_user, phone=BEA)
    login_service.login_submit_code(instance=side, actor=admin_user, code="33333")  # the password step follows
    side = login_service.login_submit_password(instance=side, actor=admin_user, password=BEA_PASSWORD)
    session_import(instance=side, actor=owner, session_string=demo_session())
    session_revoke(instance=ConnectorInstance.objects.get(pk=side.pk), actor=owner)

    prod = ConnectorInstance.objects.get(pk=prod.pk)
    telegram.terminate_session(prod.session_string)  # "another device" ends the connector's session
    health_check(instance=prod, trigger="schedule")
    login_qr_poll(instance=ConnectorInstance.objects.get(pk=prod.pk), actor=owner)

    now = timezone.now()
    transitions = [(Health.UNKNOWN, Health.IDLE), (Health.HEALTHY, Health.ACCOUNT_BANNED),
                   (Health.ACCOUNT_BANNED, Health.ACCOUNT_FROZEN), (Health.ACCOUNT_FROZEN, Health.DASHBOARD_KEY_LOST),
                   (Health.DASHBOARD_KEY_LOST, Health.OBJECT_CHANGED), (Health.OBJECT_CHANGED, Health.UNREACHABLE),
                   (Health.UNREACHABLE, Health.HEALTHY)]  # fmt: skip
    events = {Health.ACCOUNT_BANNED: "account_banned", Health.ACCOUNT_FROZEN: "account_frozen",
              Health.DASHBOARD_KEY_LOST: "dashboard_key_lost", Health.OBJECT_CHANGED: "object_changed",
              Health.UNREACHABLE: "outage", Health.HEALTHY: "recovered"}  # fmt: skip
    for previous, state in transitions:
        audit_record(instance=prod, actor=None, action="health.change", detail={"from": previous, "to": state})
        if state in events:
            alerts_queue(instance=prod, event=events[state], previous=previous, state=state, reason="", at=now)
    for notice in ("new_authorization", "two_step_disabled", "connector_moved"):
        alert_notice_queue(instance=prod, event=notice, text="Seen on the account.", details={}, at=now)
    return prod


@pytest.mark.parametrize("path", PAGES)
def test_the_page_shows_words_not_codes(history, admin_user, path):
    response = client_for(admin_user).get(path)
    assert response.status_code == 200
    text = visible_text(response.content.decode())
    # A management command is a name a person types (the Verify help names generate_session), not a code.
    commands = set(get_commands())
    assert [code for code in CODE.findall(text) if code not in commands] == [], text


def test_the_trail_says_what_the_codes_meant(history, admin_user):
    text = visible_text(client_for(admin_user).get("/audit/").content.decode())
    for said in (
        "admin entered the two-step verification password on side-bot",
        "admin entered the login code on side-bot (password needed)",
        "olivia logged in by QR code on prod-bot (QR code shown)",
        "olivia imported a login on side-bot",
        "the system saw the health of prod-bot change from “not checked yet” to “nothing to watch”",
        "the system saw the health of prod-bot change from “healthy” to “account banned or deleted”",
        "saw prod-bot change status from “active” to “revoked”",
    ):
        assert said in text, said


def test_alerts_name_their_event_in_words(history, admin_user):
    text = visible_text(client_for(admin_user).get("/alerts/").content.decode())
    for said in ("account frozen", "account banned or deleted", "new login on the account",
                 "two-step verification switched off", "connector seen from another country"):  # fmt: skip
        assert said in text, said


def test_a_session_made_in_a_terminal_reads_as_one(db):
    event = audit_record(instance=None, actor=None, action="login.password", detail={"via": "generate_session"})
    assert audit_sentence(event) == (
        "someone entered the two-step verification password on a terminal (the generate-session command)"
    )


def test_the_terminate_confirmation_names_the_device_not_its_id(telegram, clock, instance, owner_client):
    login_service.login_send_code(instance=instance, actor=None, phone=ADA)
    prod = login_service.login_submit_code(instance=instance, actor=None, code="22222")
    clock.advance(25 * 3600)
    device = next(a for a in telegram.authorizations(prod.telegram_user_id) if a.device_model == "Pixel 8")
    url = f"/instances/prod-bot/authorizations/{device.hash}/terminate/"

    page = owner_client.get(url).content.decode()

    assert str(abs(device.hash)) not in visible_text(page)
    assert "<strong>Pixel 8</strong> (Telegram Android" in page and "will be logged out of Ada Demo." in page

    telegram.ban(ADA)  # Telegram cannot be asked which device it is: the page still never shows the id
    page = owner_client.get(url).content.decode()
    assert str(abs(device.hash)) not in visible_text(page)
    assert "The session you picked in the list of active sessions will be logged out" in page


def test_an_alert_in_the_trail_says_which_event_in_words(instance):
    event = audit_record(
        instance=instance, actor=None, action="health.alert", detail={"event": "new_authorization", "deliveries": 0}
    )
    assert audit_sentence(event) == "the system raised an alert on prod-bot: new login on the account"
