"""Active sessions marks every row for the security watch, and operators mark a device's session as known."""

from __future__ import annotations

import html

import pytest
from django.test import Client

from sessions_app.models import AuditEvent, ConnectorInstance, Membership, Role
from sessions_app.models_health import AlertDelivery
from sessions_app.models_watch import WatchedAuthorization
from sessions_app.services.health.check import health_check
from sessions_app.services.sessions import session_save
from tests.conftest import ADA, client_for, log_in

PAGE = "/instances/prod-bot/authorizations/"


def _known_url(authorization_hash: int) -> str:
    return f"{PAGE}{authorization_hash}/known/"


@pytest.fixture
def logged_in(telegram, instance):
    log_in(instance)
    session_save(instance=instance, actor=None)
    instance.refresh_from_db()
    return instance


def test_the_page_tells_the_baseline_from_a_new_login(logged_in, telegram, operator_client):
    telegram.foreign_login(ADA, device_model="Old laptop")
    health_check(instance=logged_in)  # the baseline
    telegram.foreign_login(ADA, device_model="iPhone 15 Pro")
    page = operator_client.get(PAGE).content.decode()
    assert "this dashboard" in page and "this instance's connector" in page
    assert page.count(">new</span>") == 1  # the iPhone: the next check alerts it
    assert "there before the watch began" in page  # the laptop and the demo account's own devices
    health_check(instance=logged_in)
    page = operator_client.get(PAGE).content.decode()
    assert page.count(">new</span>") == 1 and "Mark as known" in page


def test_an_operator_marks_a_session_as_known_audited_and_shown(logged_in, telegram, operator, operator_client):
    health_check(instance=logged_in)
    foreign = telegram.foreign_login(ADA, device_model="Pixel 8")
    response = operator_client.post(_known_url(foreign))
    assert response.status_code == 302 and response.url == PAGE
    event = AuditEvent.objects.get(instance=logged_in, action="authorization.known")
    assert event.actor_name == "oscar" and event.detail["hash"] == str(foreign)
    assert event.detail["device"] == "Pixel 8"
    record = WatchedAuthorization.objects.get(instance=logged_in, authorization_hash=foreign)
    assert record.known_by == operator and record.known_at is not None
    page = operator_client.get(PAGE).content.decode()
    assert "marked by oscar" in page
    health_check(instance=logged_in)  # marked before any check saw it: never alerted
    assert not AlertDelivery.objects.filter(instance=logged_in, event="new_authorization").exists()


def test_an_alerted_login_marked_as_known_shows_who_marked_it(logged_in, telegram, operator_client, owner):
    owner.email = "olivia@example.com"
    owner.save(update_fields=["email"])
    health_check(instance=logged_in)
    foreign = telegram.foreign_login(ADA, device_model="Work desktop")
    health_check(instance=logged_in)
    assert AlertDelivery.objects.filter(instance=logged_in, event="new_authorization").count() == 1
    operator_client.post(_known_url(foreign))
    page = operator_client.get(PAGE).content.decode()
    assert "marked by oscar" in page and ">new</span>" not in page


def test_a_viewer_cannot_mark_and_an_outsider_gets_404(logged_in, telegram, viewer, outsider):
    health_check(instance=logged_in)
    foreign = telegram.foreign_login(ADA)
    viewer_client = client_for(viewer)
    assert "Mark as known" not in viewer_client.get(PAGE).content.decode()
    assert viewer_client.post(_known_url(foreign)).status_code == 403
    assert client_for(outsider).post(_known_url(foreign)).status_code == 404
    assert not AuditEvent.objects.filter(action="authorization.known").exists()
    assert not WatchedAuthorization.objects.filter(authorization_hash=foreign).exists()


def test_marking_needs_the_csrf_token(logged_in, telegram, operator):
    foreign = telegram.foreign_login(ADA)
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    assert client.post(_known_url(foreign)).status_code == 403
    assert client.get(_known_url(foreign)).status_code == 405
    assert not AuditEvent.objects.filter(action="authorization.known").exists()


def test_the_instances_own_keys_and_unknown_hashes_are_not_marked(logged_in, operator_client):
    refusals = {
        logged_in.connector_authorization_hash: "one of this instance's own two authorizations",
        12345: "no longer among the account's active sessions",
        "not-a-number": "not a session id of this account",
    }
    for value, sentence in refusals.items():
        response = operator_client.post(_known_url(value), follow=True)
        assert response.status_code == 200
        assert sentence in html.unescape(response.content.decode())
    assert not AuditEvent.objects.filter(action="authorization.known").exists()
    assert not WatchedAuthorization.objects.filter(known_at__isnull=False).exists()


def test_another_instances_key_is_named_only_for_those_who_may_see_it(logged_in, telegram, owner, viewer):
    other = ConnectorInstance.objects.create(session="second-bot", name="Second bot")
    Membership.objects.create(user=owner, instance=other, role=Role.OWNER)
    log_in(other)
    owner_page = client_for(owner).get(PAGE).content.decode()
    assert "instance second-bot" in owner_page and "Second bot" in owner_page
    viewer_page = client_for(viewer).get(PAGE).content.decode()
    assert "instance second-bot" not in viewer_page and "Second bot" not in viewer_page
    assert "another instance</span>" in viewer_page


def test_the_admin_shows_what_the_watch_recorded_read_only(logged_in, telegram, admin_user):
    health_check(instance=logged_in)
    admin = client_for(admin_user)
    page = admin.get("/admin/sessions_app/watchedauthorization/").content.decode()
    assert "prod-bot" in page and "teleconnect connector" in page
    assert admin.get("/admin/sessions_app/watchedauthorization/add/").status_code == 403
    assert admin.get("/admin/sessions_app/accountwatch/").status_code == 200
