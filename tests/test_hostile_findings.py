"""Two findings of hostile testing: the websocket revealed which instances exist; a QR poll after any
change to the instance claimed a QR login that never happened."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from sessions_app.models import AuditEvent, ConnectorInstance, PendingLogin
from sessions_app.services.errors import LoginRefused
from sessions_app.services.login import login_send_code, login_submit_code
from sessions_app.services.login_import import QR_LOGIN_ENDED
from tests.conftest import ADA, client_for, log_in

QR = "/instances/prod-bot/login/qr/"
FLASH = "with the QR code"


# --- 1. The websocket answers an outsider as HTTP does: one close code, whether the instance exists ---


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("close_thread_connections")
class TestTheWebsocketRevealsNoInstance:
    @pytest.fixture(autouse=True)
    def _fresh_channel_layer(self):
        from channels.layers import channel_layers

        channel_layers.backends.clear()
        yield
        channel_layers.backends.clear()

    async def test_an_outsider_gets_the_same_code_for_an_existing_and_a_missing_instance(self, instance, outsider):
        from tests.archive_ui.test_consumer import _close_code

        existing = await _close_code(outsider, "/ws/instances/prod-bot/")
        missing = await _close_code(outsider, "/ws/instances/nope-x/")
        assert existing == missing == 4404

    async def test_a_malformed_path_still_closes_with_4404(self, instance, outsider):
        from tests.archive_ui.test_consumer import _close_code

        assert await _close_code(outsider, "/ws/instances/bad.name/") == 4404

    @pytest.mark.parametrize("path", ["/ws/instances/prod-bot/", "/ws/instances/nope-x/"])
    async def test_an_anonymous_socket_gets_4401_either_way(self, instance, path):
        from tests.archive_ui.test_consumer import _close_code

        assert await _close_code(None, path) == 4401


# --- 2. "Logged in with the QR code" only for the QR login that finished -------------------------------


def _token(pending: PendingLogin) -> bytes:
    token = pending.qr_url.split("token=", 1)[1]
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def _flashes(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def active(telegram, instance):
    """An instance logged in long ago (nothing about it changed in the last minute)."""
    log_in(instance)
    ConnectorInstance.objects.filter(pk=instance.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    instance.refresh_from_db()
    return instance


def _assert_no_longer_waiting(response) -> None:
    page = response.content.decode()
    assert response.status_code == 400
    assert QR_LOGIN_ENDED.split(":")[0] in page
    assert not any(FLASH in message for message in _flashes(response))


def test_a_qr_poll_after_a_save_says_no_longer_waiting(active, operator_client):
    assert operator_client.post(f"/instances/{active.session}/save/").status_code == 302
    response = operator_client.post(QR, {"poll": "1"})
    _assert_no_longer_waiting(response)
    assert not PendingLogin.objects.exists()


def test_a_qr_poll_after_a_rename_says_no_longer_waiting(active, owner_client):
    response = owner_client.post(f"/instances/{active.session}/rename/", {"name": "Renamed bot"})
    assert response.status_code == 302
    _assert_no_longer_waiting(owner_client.post(QR, {"poll": "1"}))


def test_an_htmx_qr_poll_after_a_save_replaces_the_card_with_the_refusal(active, operator_client):
    operator_client.post(f"/instances/{active.session}/save/")
    response = operator_client.post(QR, {"poll": "1", "login": "1"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "HX-Redirect" not in response
    assert "no longer waiting" in response.content.decode() and "Show a QR code" in response.content.decode()


def test_another_tab_finishing_the_qr_login_is_reported_to_this_one(telegram, operator_client, instance):
    operator_client.post(QR)
    pending = PendingLogin.objects.get(instance=instance)
    other_tab = client_for(instance.memberships.get(role="owner").user)
    telegram.approve_qr(_token(pending), ADA.lstrip("+"))
    assert other_tab.post(QR, {"poll": "1", "login": str(pending.pk)}).status_code == 302  # that tab finished it
    response = operator_client.post(QR, {"poll": "1", "login": str(pending.pk)})
    assert response.status_code == 302 and response["Location"] == "/instances/prod-bot/"
    assert any(f"Logged in as Ada Demo {FLASH}" in message for message in _flashes(response))
    assert AuditEvent.objects.filter(action="login.qr", outcome="ok").count() == 1  # one login, reported twice


def test_a_poll_of_another_login_is_not_told_it_finished(telegram, operator_client, instance):
    operator_client.post(QR)
    pending = PendingLogin.objects.get(instance=instance)
    telegram.approve_qr(_token(pending), ADA.lstrip("+"))
    finished = operator_client.post(QR, {"poll": "1", "login": str(pending.pk)}, follow=True)  # its flash shown
    assert finished.redirect_chain == [("/instances/prod-bot/", 302)]
    _assert_no_longer_waiting(operator_client.post(QR, {"poll": "1", "login": str(pending.pk + 1)}))
    _assert_no_longer_waiting(operator_client.post(QR, {"poll": "1"}))  # a poll naming no login


def test_a_late_poll_of_the_finished_login_is_no_longer_told_it_finished(telegram, operator_client, instance):
    operator_client.post(QR)
    pending = PendingLogin.objects.get(instance=instance)
    telegram.approve_qr(_token(pending), ADA.lstrip("+"))
    operator_client.post(QR, {"poll": "1", "login": str(pending.pk)}, follow=True)
    ConnectorInstance.objects.filter(pk=instance.pk).update(login_finished_at=timezone.now() - timedelta(minutes=2))
    _assert_no_longer_waiting(operator_client.post(QR, {"poll": "1", "login": str(pending.pk)}))


def test_the_finished_login_is_recorded_on_the_instance(telegram, operator_client, instance):
    operator_client.post(QR)
    pending = PendingLogin.objects.get(instance=instance)
    telegram.approve_qr(_token(pending), ADA.lstrip("+"))
    operator_client.post(QR, {"poll": "1", "login": str(pending.pk)})
    instance.refresh_from_db()
    assert instance.login_finished_id == pending.pk
    assert timezone.now() - instance.login_finished_at < timedelta(seconds=10)


def test_the_qr_page_posts_its_login_with_each_poll(telegram, operator_client, instance):
    operator_client.post(QR)
    pending = PendingLogin.objects.get(instance=instance)
    page = operator_client.get(QR).content.decode()
    assert f'name="login" value="{pending.pk}"' in page


def test_a_code_submit_after_a_save_is_refused_not_reported_as_a_login(active, operator, operator_client):
    operator_client.post(f"/instances/{active.session}/save/")
    with pytest.raises(LoginRefused, match="no login in progress"):
        login_submit_code(instance=ConnectorInstance.objects.get(pk=active.pk), actor=operator, code="22222")


def test_a_double_code_submit_still_gets_the_first_ones_result(telegram, operator, instance):
    login_send_code(instance=instance, actor=operator, phone=ADA)
    pending = PendingLogin.objects.get(instance=instance)
    second_view = ConnectorInstance.objects.get(pk=instance.pk)
    login_submit_code(instance=ConnectorInstance.objects.get(pk=instance.pk), actor=operator, code="22222")
    assert login_submit_code(instance=second_view, actor=operator, code="22222").status == "active"
    second_view.refresh_from_db()
    assert second_view.login_finished_id == pending.pk
