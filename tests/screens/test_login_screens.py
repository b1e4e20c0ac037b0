"""The login screens say what is what: where the 2FA hint comes from, and a late QR poll never restarts a login."""

from __future__ import annotations

import base64

from sessions_app.models import AuditEvent, PendingLogin
from tests.conftest import ADA, BEA

LOGIN = "/instances/prod-bot/login/"
QR = f"{LOGIN}qr/"


def _to_password_step(client) -> None:
    assert client.post(LOGIN, {"phone": BEA}).status_code == 302
    assert client.post(LOGIN, {"code": "33333"}).status_code == 302


def test_the_password_step_labels_the_hint_below_the_field(telegram, operator_client, instance):
    _to_password_step(operator_client)
    page = operator_client.get(LOGIN).content.decode()
    hint = page.index("Hint you set in Telegram: <em>four words</em>")
    assert page.index('name="password"') < hint < page.index("Check password")
    wrong = operator_client.post(LOGIN, {"password": "wrong horse"}).content.decode()
    # The error says the hint is below the field: it is.
    assert "the hint is shown below the field" in wrong
    assert wrong.index('name="password"') < wrong.index("Hint you set in Telegram: <em>four words</em>")


def test_the_password_step_says_when_the_account_has_no_hint(telegram, operator_client, instance):
    _to_password_step(operator_client)
    PendingLogin.objects.filter(instance=instance).update(password_hint="")
    page = operator_client.get(LOGIN).content.decode()
    assert "This account has no password hint set in Telegram." in page and "Hint you set" not in page


def _approve(telegram, instance, phone: str) -> None:
    token = PendingLogin.objects.get(instance=instance).qr_url.split("token=", 1)[1]
    telegram.approve_qr(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)), phone.lstrip("+"))


def test_the_qr_page_polls_as_a_poll(telegram, operator_client, instance):
    operator_client.post(QR)
    page = operator_client.get(QR).content.decode()
    poll = page.index('<input type="hidden" name="poll" value="1">')
    assert page.index('hx-trigger="every 3s"') < poll < page.index("I scanned it: check now")


def test_a_late_qr_poll_from_a_second_tab_never_restarts_the_finished_login(
    telegram, operator_client, instance, settings
):
    operator_client.post(QR)
    _approve(telegram, instance, ADA)
    assert operator_client.post(QR, {"poll": "1"})["Location"] == "/instances/prod-bot/"  # the first tab
    instance.refresh_from_db()
    assert instance.status == "active"
    # The second tab polls long after (a background tab's timers run once a minute at best).
    type(instance).objects.filter(pk=instance.pk).update(updated_at=instance.updated_at.replace(year=2020))
    tokens = AuditEvent.objects.filter(action="login.qr", outcome="token").count()
    response = operator_client.post(QR, {"poll": "1"}, headers={"HX-Request": "true"})
    assert response.status_code == 200  # htmx swaps it in: the card without a poll
    page = response.content.decode()
    assert "no longer waiting for a scan" in page and 'hx-trigger="every 3s"' not in page
    assert not PendingLogin.objects.exists()
    assert AuditEvent.objects.filter(action="login.qr", outcome="token").count() == tokens
    instance.refresh_from_db()
    assert instance.status == "active"


def test_a_qr_poll_after_a_cancel_in_another_tab_starts_nothing(telegram, operator_client, instance):
    operator_client.post(QR)
    operator_client.post(f"{LOGIN}cancel/")
    response = operator_client.post(QR, {"poll": "1"})
    assert response.status_code == 400 and "no longer waiting for a scan" in response.content.decode()
    assert not PendingLogin.objects.exists()


def test_the_show_button_still_starts_a_qr_login(telegram, operator_client, instance):
    assert operator_client.post(QR).status_code == 302
    assert PendingLogin.objects.get(instance=instance).step == "qr"
