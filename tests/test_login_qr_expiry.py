"""The QR page never shows an expired code; the demo "scan" goes through the service (lease, audit).

The demo Telegram's clock (the `clock` fixture) decides when its tokens expire, and the page
compares the token's expiry with Django's clock: moving the demo clock back before a token is
made gives a token that is already past its expiry for the page.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from sessions_app.models import AuditEvent, ConnectorInstance, PendingLogin
from sessions_app.services.lease import lease_acquire, lease_release
from sessions_app.services.login_import import QR_EXPIRY_MARGIN, qr_code_expiring
from sessions_app.telegram.fake import tokens

QR = "/instances/prod-bot/login/qr/"
REFRESHING = "a new one is being made"


def _expired_code(clock, operator_client, instance) -> PendingLogin:
    """A QR login whose code expired (on both clocks) while nobody looked at the page."""
    clock.advance(-(tokens.TOKEN_TTL + 30))
    operator_client.post(QR)
    clock.advance(tokens.TOKEN_TTL + 30)
    pending = PendingLogin.objects.get(instance=instance)
    assert pending.qr_expires < timezone.now()
    return pending


def test_the_page_renews_an_expired_code_before_showing_it(telegram, clock, operator_client, instance):
    stale = _expired_code(clock, operator_client, instance)
    page = operator_client.get(QR)
    fresh = PendingLogin.objects.get(instance=instance)
    assert page.status_code == 200
    assert fresh.pk == stale.pk and fresh.qr_url != stale.qr_url
    assert fresh.qr_expires > timezone.now() + QR_EXPIRY_MARGIN
    html = page.content.decode()
    assert "<svg" in html and REFRESHING not in html
    assert timezone.localtime(fresh.qr_expires).strftime("%H:%M:%S") in html


def test_a_code_about_to_expire_is_not_shown_and_the_page_says_a_new_one_is_coming(
    telegram, operator_client, instance, monkeypatch
):
    monkeypatch.setattr(tokens, "TOKEN_TTL", 1)  # Telegram keeps this token (still valid) for one more second
    operator_client.post(QR)
    pending = PendingLogin.objects.get(instance=instance)
    assert qr_code_expiring(pending)
    for response in (
        operator_client.get(QR),
        operator_client.post(QR, {"poll": "1", "login": pending.pk}, HTTP_HX_REQUEST="true"),
    ):
        html = response.content.decode()
        assert response.status_code == 200
        assert "<svg" not in html and REFRESHING in html
        assert f'name="login" value="{pending.pk}"' in html and 'hx-trigger="every 3s"' in html  # it keeps polling


def test_the_next_poll_shows_the_new_code_once_telegram_made_one(
    telegram, clock, operator_client, instance, monkeypatch
):
    monkeypatch.setattr(tokens, "TOKEN_TTL", 1)
    operator_client.post(QR)
    pending = PendingLogin.objects.get(instance=instance)
    monkeypatch.setattr(tokens, "TOKEN_TTL", 30)
    clock.advance(5)  # on Telegram's clock the old token is gone: the next export makes a new one
    response = operator_client.post(QR, {"poll": "1", "login": pending.pk}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<svg" in html and REFRESHING not in html
    assert PendingLogin.objects.get(pk=pending.pk).qr_url != pending.qr_url


def test_a_valid_code_is_shown_as_it_is(telegram, operator_client, instance):
    operator_client.post(QR)
    pending = PendingLogin.objects.get(instance=instance)
    html = operator_client.get(QR).content.decode()
    assert "<svg" in html
    assert PendingLogin.objects.get(pk=pending.pk).qr_url == pending.qr_url  # GET asked Telegram for nothing


def test_when_the_renewal_fails_the_page_says_why_and_shows_no_expired_code(
    telegram, clock, operator_client, instance, settings
):
    _expired_code(clock, operator_client, instance)
    settings.TELEGRAM_CLIENT_FACTORY = "tests.support.unreachable_factory"
    html = operator_client.get(QR).content.decode()
    assert "could not be reached" in html
    assert "<svg" not in html and REFRESHING in html


def test_a_scan_of_the_renewed_code_logs_the_instance_in(telegram, clock, operator_client, instance):
    import base64

    _expired_code(clock, operator_client, instance)
    operator_client.get(QR)
    pending = PendingLogin.objects.get(instance=instance)
    token = pending.qr_url.split("token=", 1)[1]
    telegram.approve_qr(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)), "9996621001")
    response = operator_client.post(QR, {"poll": "1", "login": pending.pk})
    assert response.status_code == 302 and response["Location"] == "/instances/prod-bot/"


# --- The demo "scan" ------------------------------------------------------------------------------


@pytest.fixture
def demo(settings, tmp_path):
    settings.TELEGRAM_CLIENT_FACTORY = "sessions_app.telegram.fake.demo_client_factory"
    settings.TELEGRAM_DEMO_STATE = str(tmp_path / "demo.sqlite3")


def test_the_demo_scan_is_audited_and_logs_in(demo, operator, operator_client, instance):
    operator_client.post(QR)
    pending = PendingLogin.objects.get(instance=instance)
    response = operator_client.post(QR, {"poll": "1", "login": pending.pk, "demo_phone": "9996621001"})
    assert response.status_code == 302 and response["Location"] == "/instances/prod-bot/"
    scan = AuditEvent.objects.get(action="login.qr_demo_scan")
    assert scan.outcome == "ok" and scan.actor == operator and scan.instance_id == instance.pk
    assert "9996621001" not in str(scan.detail)
    instance.refresh_from_db()
    assert instance.status == "active" and instance.login_finished_id == pending.pk


def test_the_demo_scan_waits_for_the_instances_lease(demo, operator_client, instance):
    operator_client.post(QR)
    pending = PendingLogin.objects.get(instance=instance)
    lease_acquire(session=instance.session, holder="another-process", purpose="test", wait=0)
    try:
        response = operator_client.post(QR, {"poll": "1", "login": pending.pk, "demo_phone": "9996621001"})
    finally:
        lease_release(session=instance.session, holder="another-process")
    assert response.status_code == 400 and "Another operation is using" in response.content.decode()
    assert ConnectorInstance.objects.get(pk=instance.pk).status == "new"
    assert AuditEvent.objects.filter(action="login.qr_demo_scan", outcome="refused").exists()
    assert not AuditEvent.objects.filter(action="login.qr_demo_scan", outcome="ok").exists()


def test_a_demo_scan_with_no_code_waiting_is_refused(demo, operator_client, instance):
    response = operator_client.post(QR, {"poll": "1", "demo_phone": "9996621001"})
    assert response.status_code == 400 and "no longer waiting" in response.content.decode()
    assert not AuditEvent.objects.filter(action="login.qr_demo_scan", outcome="ok").exists()


def test_a_demo_scan_from_a_page_of_another_login_is_refused(demo, operator_client, instance):
    operator_client.post(QR)
    pending = PendingLogin.objects.get(instance=instance)
    response = operator_client.post(QR, {"poll": "1", "login": pending.pk + 1, "demo_phone": "9996621001"})
    assert response.status_code == 400 and "no longer waiting" in response.content.decode()
    assert ConnectorInstance.objects.get(pk=instance.pk).status == "new"


def test_the_demo_scan_outside_demo_mode_is_refused(telegram, operator_client, instance):
    operator_client.post(QR)
    pending = PendingLogin.objects.get(instance=instance)
    response = operator_client.post(QR, {"poll": "1", "login": pending.pk, "demo_phone": "9996621001"})
    assert response.status_code == 400 and "only exists in demo mode" in response.content.decode()
    assert AuditEvent.objects.filter(action="login.qr_demo_scan", outcome="refused").exists()
