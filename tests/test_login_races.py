"""Refusals are messages, double submits get the first one's result, external deletes can be repaired.

A "second request" is simulated deterministically: it holds the instance as loaded before the first
one ran (as a view does), so only the state re-read under the instance's lease can save it.
"""

from __future__ import annotations

import pytest
from django.db import connection

from sessions_app.models import AuditEvent, ConnectorInstance, PendingLogin, SendCodeAttempt
from sessions_app.services.errors import ActionRefused
from sessions_app.services.instances import instance_create
from sessions_app.services.login import login_send_code, login_submit_code
from sessions_app.services.login_import import session_import
from sessions_app.storage import get_session_storage
from tests.conftest import ADA, BEA, demo_session

LOGIN = "/instances/prod-bot/login/"
RESEND = "/instances/prod-bot/login/resend/"


def _stale(instance: ConnectorInstance) -> ConnectorInstance:
    return ConnectorInstance.objects.get(pk=instance.pk)


def test_resend_without_a_pending_login_is_a_message_not_a_500(telegram, operator_client, instance):
    response = operator_client.post(RESEND)
    assert response.status_code == 400
    assert "no login in progress" in response.content.decode()


def test_resend_at_the_password_step_is_a_message(telegram, operator_client, instance):
    operator_client.post(LOGIN, {"phone": BEA})
    operator_client.post(LOGIN, {"code": "33333"})
    response = operator_client.post(RESEND)
    assert response.status_code == 400 and "another step" in response.content.decode()


def test_resend_past_the_hourly_limit_is_a_message(telegram, settings, operator_client, instance):
    settings.LOGIN_SEND_CODE_RATE = (1, 3600)
    operator_client.post(LOGIN, {"phone": ADA})
    response = operator_client.post(RESEND)
    assert response.status_code == 400 and "codes were already requested" in response.content.decode()


def test_resend_during_a_flood_wait_is_a_message(telegram, operator_client, instance):
    operator_client.post(LOGIN, {"phone": ADA})
    telegram.flood("auth.resendCode", 120)
    telegram.flood("auth.sendCode", 120)
    response = operator_client.post(RESEND)
    assert response.status_code == 400 and "rate-limiting" in response.content.decode()
    assert "Resend possible in" in operator_client.get(LOGIN).content.decode()


def test_resend_too_soon_says_when_and_the_button_waits(telegram, settings, operator_client, instance):
    settings.LOGIN_RESEND_MIN_SECONDS = 30
    operator_client.post(LOGIN, {"phone": ADA})
    page = operator_client.get(LOGIN).content.decode()
    assert "Resend possible in" in page
    response = operator_client.post(RESEND)
    assert response.status_code == 400 and "ask for another one in" in response.content.decode()
    assert SendCodeAttempt.objects.count() == 1


def test_a_double_phone_submit_sends_one_code_and_both_see_the_code_step(telegram, operator, instance):
    second_view = _stale(instance)
    first = login_send_code(instance=instance, actor=operator, phone=ADA)
    second = login_send_code(instance=second_view, actor=operator, phone=ADA)
    assert first.pk == second.pk
    assert SendCodeAttempt.objects.count() == 1 and PendingLogin.objects.count() == 1


def test_a_phone_submit_for_another_number_during_a_login_is_refused(telegram, operator, instance):
    login_send_code(instance=instance, actor=operator, phone=ADA)
    with pytest.raises(ActionRefused, match="already in progress"):
        login_send_code(instance=_stale(instance), actor=operator, phone=BEA)


def test_a_double_code_submit_signs_in_once(telegram, operator, instance):
    login_send_code(instance=instance, actor=operator, phone=ADA)
    second_view = _stale(instance)
    login_submit_code(instance=_stale(instance), actor=operator, code="22222")
    result = login_submit_code(instance=second_view, actor=operator, code="22222")
    assert result.status == "active" and result.dashboard_session
    assert AuditEvent.objects.filter(action="login.code", outcome="ok").count() == 1
    instance.refresh_from_db()
    assert get_session_storage().load(instance.session).content == instance.session_string


def test_two_imports_leave_the_db_and_the_store_holding_the_same_key(telegram, owner, instance):
    first_string, second_string = demo_session(), demo_session()
    second_view = _stale(instance)
    session_import(instance=_stale(instance), actor=owner, session_string=first_string)
    session_import(instance=second_view, actor=owner, session_string=second_string)
    instance.refresh_from_db()
    assert instance.session_string == second_string
    assert get_session_storage().load(instance.session).content == second_string
    assert not telegram.is_authorized(first_string)  # replaced and logged out, never dropped live


def test_a_double_import_of_one_string_imports_it_once(telegram, owner, instance):
    string = demo_session()
    second_view = _stale(instance)
    session_import(instance=_stale(instance), actor=owner, session_string=string)
    session_import(instance=second_view, actor=owner, session_string=string)
    assert AuditEvent.objects.filter(action="login.import").count() == 1
    assert telegram.is_authorized(string)


def test_a_second_create_of_one_session_is_a_clear_refusal(telegram, owner):
    instance_create(actor=owner, session="alpha", name="Alpha")
    with pytest.raises(ActionRefused, match="already exists"):
        instance_create(actor=owner, session="alpha", name="Alpha again")
    assert ConnectorInstance.objects.filter(session="alpha").count() == 1


def test_save_after_the_object_was_deleted_outside_writes_it_again(telegram, operator_client, instance, settings):
    operator_client.post(LOGIN, {"phone": ADA})
    operator_client.post(LOGIN, {"code": "22222"})
    instance.refresh_from_db()
    path = get_session_storage().path(instance.object_key)
    import os

    os.remove(path)
    response = operator_client.post("/instances/prod-bot/save/")
    assert response.status_code == 302
    assert get_session_storage().load(instance.session).content == instance.session_string
    assert AuditEvent.objects.filter(action="session.save", detail__replaced="missing object").exists()


def test_the_conflict_page_buttons_work_after_the_object_was_deleted(telegram, operator_client, instance):
    operator_client.post(LOGIN, {"phone": ADA})
    operator_client.post(LOGIN, {"code": "22222"})
    instance.refresh_from_db()
    store = get_session_storage()
    store.save(instance.session, demo_session(), expected_etag=instance.object_etag)
    conflict = operator_client.post("/instances/prod-bot/save/")
    assert conflict.status_code == 409
    current = store.head(instance.session)
    import os

    os.remove(store.path(instance.object_key))
    overwrite = operator_client.post("/instances/prod-bot/save/", {"resolve": "overwrite", "etag": current.etag})
    assert overwrite.status_code == 302
    assert store.load(instance.session).content == instance.session_string
    assert operator_client.post("/instances/prod-bot/save/", {"resolve": "use_stored"}).status_code == 302


@pytest.mark.parametrize("raw", [str(2**64), str(-(2**63) - 1), "9" * 40])
def test_an_authorization_hash_past_64_bits_is_a_clear_message(telegram, owner_client, instance, raw):
    response = owner_client.post(f"/instances/prod-bot/authorizations/{raw}/terminate/", follow=True)
    page = response.content.decode()
    assert "not a session id" in page and "Unexpected failure" not in page


def test_the_qr_password_step_does_not_loop(telegram, operator_client, instance):
    import base64

    from tests.conftest import BEA_PASSWORD

    operator_client.post(f"{LOGIN}qr/")
    pending = PendingLogin.objects.get(instance=instance)
    token = pending.qr_url.split("token=", 1)[1]
    telegram.approve_qr(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)), BEA.lstrip("+"))
    for _ in range(3):  # the page (or a second tab) keeps polling after the scan
        response = operator_client.post(f"{LOGIN}qr/", HTTP_HX_REQUEST="true")
        assert response.status_code == 204 and response["HX-Redirect"].endswith("/login/")
    page = operator_client.get(LOGIN).content.decode()
    assert "two-step verification" in page and "another step" not in page
    assert operator_client.post(LOGIN, {"password": BEA_PASSWORD}).status_code == 302
    instance.refresh_from_db()
    assert instance.status == "active"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrency needs a server database")
@pytest.mark.django_db(transaction=True)
def test_concurrent_phone_submits_send_one_code(telegram, settings, django_user_model):  # pragma: no cover - pg only
    import threading

    from django.db import connections

    settings.TELEGRAM_LEASE_WAIT_SECONDS = 10
    owner = django_user_model.objects.create_user("olga", password="pass-olga-123")
    instance = instance_create(actor=owner, session="race", name="Race")
    results: list[object] = []

    def submit() -> None:
        try:
            results.append(login_send_code(instance=_stale(instance), actor=owner, phone=ADA).pk)
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            results.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(set(results)) == 1, results
    assert SendCodeAttempt.objects.count() == 1
