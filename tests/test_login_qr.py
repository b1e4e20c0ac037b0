from __future__ import annotations

import base64

from sessions_app.models import PendingLogin
from tests.conftest import ADA, BEA_PASSWORD

QR = "/instances/prod-bot/login/qr/"


def _token(pending: PendingLogin) -> bytes:
    token = pending.qr_url.split("token=", 1)[1]
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def test_a_scanned_qr_code_logs_the_instance_in(telegram, operator_client, instance):
    page = operator_client.get(QR)
    assert page.status_code == 200 and "Show a QR code" in page.content.decode()
    assert operator_client.post(QR).status_code == 302
    pending = PendingLogin.objects.get(instance=instance)
    assert pending.step == "qr" and pending.qr_url.startswith("tg://login?token=")
    shown = operator_client.get(QR).content.decode()
    assert "<svg" in shown and pending.session_string not in shown

    assert operator_client.post(QR).status_code == 302  # nobody scanned yet: still waiting
    instance.refresh_from_db()
    assert instance.status == "new"

    telegram.approve_qr(_token(PendingLogin.objects.get(instance=instance)), ADA.lstrip("+"))
    response = operator_client.post(QR)
    assert response.status_code == 302 and response["Location"] == "/instances/prod-bot/"
    instance.refresh_from_db()
    assert instance.status == "active" and instance.telegram_name == "Ada Demo"
    assert telegram.is_authorized(instance.session_string)
    assert not PendingLogin.objects.exists()


def test_a_qr_login_on_a_2fa_account_asks_for_the_password(telegram, operator_client, instance):
    operator_client.post(QR)
    telegram.approve_qr(_token(PendingLogin.objects.get(instance=instance)), "9996631002")
    response = operator_client.post(QR)
    assert response["Location"] == "/instances/prod-bot/login/"
    assert 'name="password"' in operator_client.get("/instances/prod-bot/login/").content.decode()
    assert operator_client.post("/instances/prod-bot/login/", {"password": BEA_PASSWORD}).status_code == 302
    instance.refresh_from_db()
    assert instance.status == "active" and instance.telegram_name == "Bea Demo"


def test_an_expired_qr_code_is_renewed(telegram, clock, operator_client, instance):
    operator_client.post(QR)
    first = PendingLogin.objects.get(instance=instance).qr_url
    clock.advance(60)
    operator_client.post(QR)
    assert PendingLogin.objects.get(instance=instance).qr_url != first


def test_htmx_polling_redirects_with_a_header_when_done(telegram, operator_client, instance):
    operator_client.post(QR)
    telegram.approve_qr(_token(PendingLogin.objects.get(instance=instance)), ADA.lstrip("+"))
    response = operator_client.post(QR, headers={"HX-Request": "true"})
    assert response.status_code == 204 and response["HX-Redirect"] == "/instances/prod-bot/"


def test_qr_is_refused_while_a_phone_login_is_pending(telegram, operator_client, instance):
    operator_client.post("/instances/prod-bot/login/", {"phone": ADA})
    response = operator_client.post(QR, follow=True)
    assert "A login with the phone number is in progress" in response.content.decode()
    assert PendingLogin.objects.get(instance=instance).step == "code"


def test_the_demo_button_simulates_the_scan(operator_client, instance, settings, tmp_path):
    settings.TELEGRAM_CLIENT_FACTORY = "sessions_app.telegram.fake.demo_client_factory"
    settings.TELEGRAM_DEMO_STATE = str(tmp_path / "demo.sqlite3")
    operator_client.post(QR)
    assert "Scan with this demo account" in operator_client.get(QR).content.decode()
    response = operator_client.post(QR, {"demo_phone": "9996621001"})
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.status == "active"


def test_a_viewer_cannot_start_a_qr_login(telegram, instance, viewer):
    from tests.conftest import client_for

    assert client_for(viewer).post(QR).status_code == 403
    assert not PendingLogin.objects.exists()
