"""The login flow through Django's test client, above Telethon's real client and the demo Telegram."""

from __future__ import annotations

import pytest
from django.db import connection

from sessions_app.models import AuditEvent, ConnectorInstance, PendingLogin, SendCodeAttempt
from tests import support
from tests.conftest import ADA, BEA, BEA_PASSWORD, client_for

LOGIN = "/instances/prod-bot/login/"


def _post(client, data, url=LOGIN):
    return client.post(url, data)


def _raw_column(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608 - fixed names
        return cursor.fetchone()[0]


def test_it_logs_in_an_account_without_2fa(telegram, operator_client, instance):
    response = _post(operator_client, {"phone": "+999 66 2 1001"})
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.status == "code_sent"
    pending = PendingLogin.objects.get(instance=instance)
    assert pending.phone == ADA and pending.step == "code"

    page = operator_client.get(LOGIN).content.decode()
    assert 'name="code"' in page

    response = _post(operator_client, {"code": telegram.last_code(ADA.lstrip("+"))})
    assert response.status_code == 302 and response["Location"] == "/instances/prod-bot/"
    instance.refresh_from_db()
    assert instance.status == "active"
    assert instance.telegram_name == "Ada Demo"
    assert telegram.is_authorized(instance.session_string)
    assert not PendingLogin.objects.filter(instance=instance).exists()
    assert "+999*****01" in operator_client.get("/instances/prod-bot/").content.decode()


def test_it_keeps_the_session_string_and_pending_secrets_encrypted(telegram, operator_client, instance):
    _post(operator_client, {"phone": ADA})
    pending = PendingLogin.objects.get(instance=instance)
    for column in ("session_string", "phone", "phone_code_hash"):
        raw = _raw_column("sessions_app_pendinglogin", column, pending.pk)
        assert raw.startswith("gAAAAA") and raw != getattr(pending, column)
    _post(operator_client, {"code": "22222"})
    instance.refresh_from_db()
    raw = _raw_column("sessions_app_connectorinstance", "session_string", instance.pk)
    assert raw.startswith("gAAAAA") and instance.session_string not in raw


def test_it_logs_in_with_2fa_after_a_phone_migration(telegram, operator_client, instance):
    assert _post(operator_client, {"phone": BEA}).status_code == 302
    assert _post(operator_client, {"code": "33333"}).status_code == 302
    instance.refresh_from_db()
    assert instance.status == "password_needed"
    page = operator_client.get(LOGIN).content.decode()
    assert 'name="password"' in page and "four words" in page

    wrong = _post(operator_client, {"password": "wrong horse"})
    assert wrong.status_code == 400
    assert "password is wrong" in wrong.content.decode()
    instance.refresh_from_db()
    assert instance.status == "password_needed"
    assert PendingLogin.objects.get(instance=instance).step == "password"

    right = _post(operator_client, {"password": BEA_PASSWORD})
    assert right.status_code == 302
    instance.refresh_from_db()
    assert instance.status == "active" and instance.telegram_name == "Bea Demo"
    assert telegram.is_authorized(instance.session_string)
    assert BEA_PASSWORD not in str(list(AuditEvent.objects.values_list("detail", flat=True)))


def test_a_wrong_code_is_a_form_error_and_changes_nothing(telegram, operator_client, instance):
    _post(operator_client, {"phone": ADA})
    before = PendingLogin.objects.get(instance=instance)
    response = _post(operator_client, {"code": "12345"})
    assert response.status_code == 400
    assert "code is not right" in response.content.decode()
    after = PendingLogin.objects.get(instance=instance)
    assert (after.session_string, after.phone_code_hash, after.step) == (
        before.session_string,
        before.phone_code_hash,
        "code",
    )
    instance.refresh_from_db()
    assert instance.status == "code_sent"
    assert _post(operator_client, {"code": "22222"}).status_code == 302


def test_an_expired_code_says_so_and_offers_resend(telegram, clock, operator_client, instance):
    _post(operator_client, {"phone": ADA})
    clock.advance(telegram.code_ttl + 1)
    response = _post(operator_client, {"code": "22222"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "expired" in page and "Resend code" in page
    resend = operator_client.post("/instances/prod-bot/login/resend/")
    assert resend.status_code == 302
    assert _post(operator_client, {"code": "22222"}).status_code == 302
    instance.refresh_from_db()
    assert instance.status == "active"


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("+15550100", "does not accept this phone number"),
        ("+9996629999", "banned"),
    ],
)
def test_a_phone_telegram_refuses_is_a_form_error(telegram, operator_client, instance, phone, message):
    response = _post(operator_client, {"phone": phone})
    assert response.status_code == 400
    assert message in response.content.decode()
    instance.refresh_from_db()
    assert instance.status == "new"
    assert not PendingLogin.objects.exists()


@pytest.mark.parametrize("phone", ["", "abc", "+1", "12", "+" + "9" * 16, "++9996621001", "<script>", "９９９"])
def test_a_malformed_phone_never_reaches_telegram(telegram, operator_client, instance, phone):
    response = _post(operator_client, {"phone": phone})
    assert response.status_code == 400
    assert not SendCodeAttempt.objects.exists()
    assert not PendingLogin.objects.exists()


@pytest.mark.parametrize("code", ["", "abc", "1", "1" * 30, "22 22 2x"])
def test_a_malformed_code_is_refused_without_a_call(telegram, operator_client, instance, code):
    _post(operator_client, {"phone": ADA})
    response = _post(operator_client, {"code": code})
    assert response.status_code == 400
    assert PendingLogin.objects.get(instance=instance).step == "code"


def test_a_flood_wait_shows_the_seconds_and_disables_send(telegram, operator_client, instance):
    telegram.flood("auth.sendCode", 150)
    response = _post(operator_client, {"phone": ADA})
    assert response.status_code == 400
    page = response.content.decode()
    assert "wait 2 min 30 s" in page
    assert "disabled" in operator_client.get(LOGIN).content.decode()
    attempts = SendCodeAttempt.objects.count()
    again = _post(operator_client, {"phone": ADA})
    assert again.status_code == 400 and "left" in again.content.decode()
    assert SendCodeAttempt.objects.count() == attempts  # refused here, Telegram not asked again


def test_send_code_is_throttled_per_phone(telegram, operator_client, instance, owner, settings):
    settings.LOGIN_SEND_CODE_RATE = (2, 3600)
    other = ConnectorInstance.objects.create(session="other", name="Other")
    from sessions_app.models import Membership

    Membership.objects.create(user=instance.memberships.get(role="operator").user, instance=other, role="operator")
    assert _post(operator_client, {"phone": ADA}).status_code == 302
    operator_client.post("/instances/prod-bot/login/cancel/")
    assert _post(operator_client, {"phone": ADA}, "/instances/other/login/").status_code == 302
    operator_client.post("/instances/other/login/cancel/")
    response = _post(operator_client, {"phone": ADA})
    assert response.status_code == 400
    assert "2 codes were already requested for this phone number" in response.content.decode()
    assert SendCodeAttempt.objects.count() == 2


def test_cancel_drops_the_pending_state(telegram, operator_client, instance):
    _post(operator_client, {"phone": ADA})
    response = operator_client.post("/instances/prod-bot/login/cancel/")
    assert response.status_code == 302
    assert not PendingLogin.objects.exists()
    instance.refresh_from_db()
    assert instance.status == "new"
    assert 'name="phone"' in operator_client.get(LOGIN).content.decode()
    assert AuditEvent.objects.filter(action="login.cancel").exists()


def test_each_step_builds_a_fresh_client(telegram, operator_client, instance, settings):
    settings.TELEGRAM_CLIENT_FACTORY = "tests.support.counting_factory"
    support.CountingFactory.built = 0
    _post(operator_client, {"phone": ADA})
    after_send = support.CountingFactory.built
    _post(operator_client, {"code": "22222"})
    assert after_send >= 1
    assert support.CountingFactory.built > after_send


def test_a_restarted_dashboard_continues_the_flow(tmp_path, operator, instance):
    """Step 1 in one 'process', step 2 after everything in memory is gone: new world object, new client, new browser."""
    from sessions_app.telegram.fake import DemoTelegram

    state = tmp_path / "telegram.sqlite3"
    support.use_world(DemoTelegram(str(state)))
    assert _post(client_for(operator), {"phone": ADA}).status_code == 302

    support.use_world(DemoTelegram(str(state)))  # the restart: nothing shared but the DB and Telegram
    reloaded = PendingLogin.objects.get(instance=instance)
    assert reloaded.step == "code"
    assert _post(client_for(operator), {"code": "22222"}).status_code == 302
    instance.refresh_from_db()
    assert instance.status == "active"


def test_another_team_member_can_finish_the_login(telegram, operator_client, owner_client, instance):
    _post(operator_client, {"phone": ADA})
    assert _post(owner_client, {"code": "22222"}).status_code == 302
    instance.refresh_from_db()
    assert instance.status == "active"


def test_no_secret_appears_in_any_page(telegram, operator_client, instance):
    pages = [_post(operator_client, {"phone": BEA})]
    pending = PendingLogin.objects.get(instance=instance)
    secrets = [pending.session_string, pending.phone_code_hash]
    pages += [operator_client.get(LOGIN), _post(operator_client, {"code": "33333"})]
    pending.refresh_from_db()
    secrets.append(pending.session_string)
    pages += [
        operator_client.get(LOGIN),
        _post(operator_client, {"password": "bad guess"}),
        _post(operator_client, {"password": BEA_PASSWORD}),
    ]
    instance.refresh_from_db()
    secrets.append(instance.session_string)
    pages += [operator_client.get("/instances/prod-bot/"), operator_client.get("/")]
    for response in pages:
        body = response.content.decode()
        for secret in secrets:
            assert secret and secret not in body
        assert f'value="{BEA_PASSWORD}"' not in body


def test_a_viewer_cannot_log_in_an_instance(telegram, instance, viewer):
    response = client_for(viewer).post(LOGIN, {"phone": ADA})
    assert response.status_code == 403
    assert not SendCodeAttempt.objects.exists()


def test_telegram_unreachable_is_a_clear_error(operator_client, instance, settings):
    settings.TELEGRAM_CLIENT_FACTORY = "tests.support.unreachable_factory"
    response = _post(operator_client, {"phone": ADA})
    assert response.status_code == 400
    assert "could not be reached" in response.content.decode()
    instance.refresh_from_db()
    assert instance.status == "new"
    assert not PendingLogin.objects.exists()


def test_a_busy_instance_says_so(telegram, operator_client, instance):
    from sessions_app.services.lease import lease_acquire, lease_release

    # Another process holds the instance's connection (a row, not this thread's context).
    lease_acquire(session=instance.session, holder="another-process", purpose="test", wait=0)
    try:
        response = _post(operator_client, {"phone": ADA})
    finally:
        lease_release(session=instance.session, holder="another-process")
    assert response.status_code == 400
    assert "Another operation is using" in response.content.decode()


@pytest.mark.parametrize("field", ["phone", "code", "password"])
def test_no_input_gives_a_500(telegram, operator_client, instance, field):
    for value in ["", " ", "\x00", "𝟘" * 10, "9" * 5000, "' OR 1=1 --", "%s%s%n"]:
        response = _post(operator_client, {field: value})
        assert response.status_code in (200, 302, 400)


def test_demo_mode_hands_any_factory_a_usable_credential_pair(telegram, operator_client, instance, settings):
    settings.TELEGRAM_CLIENT_FACTORY = "tests.support.strict_factory"
    assert _post(operator_client, {"phone": ADA}).status_code == 302
    assert _post(operator_client, {"code": "22222"}).status_code == 302
    instance.refresh_from_db()
    assert instance.status == "active"
