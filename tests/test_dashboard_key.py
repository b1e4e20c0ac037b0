"""The dashboard's own authorization: minted at login, adopted from a foreign key, and the only key it uses."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

from sessions_app.models import AuditEvent, ConnectorInstance, Membership, Role
from sessions_app.services.archive_runs import archive_run_foreground
from sessions_app.services.health.check import health_check
from sessions_app.services.keys import key_fingerprint
from sessions_app.storage import get_session_storage
from sessions_app.telegram.account import get_me
from sessions_app.telegram.client import default_credentials
from sessions_app.telegram.errors import SessionRevoked
from tests import support
from tests.conftest import ADA, BEA, BEA_PASSWORD, bea_session, client_for, demo_session, log_in

DETAIL = "/instances/prod-bot/"
CONNECTOR_IP = "203.0.113.7"  # TEST-NET-3: a label for "the connector's machine", no traffic goes there


def _log_in(client, phone: str = ADA, code: str = "22222", password: str | None = None) -> None:
    assert client.post(f"{DETAIL}login/", {"phone": phone}).status_code == 302
    assert client.post(f"{DETAIL}login/", {"code": code}).status_code == 302
    if password is not None:
        assert client.post(f"{DETAIL}login/", {"password": password}).status_code == 302


def _by_hash(telegram, instance):
    return {a.hash: a for a in telegram.authorizations(instance.telegram_user_id)}


def test_a_login_mints_the_dashboards_own_key_and_both_say_what_they_are(telegram, operator_client, instance):
    _log_in(operator_client)
    instance.refresh_from_db()
    assert instance.dashboard_session and instance.dashboard_session != instance.session_string
    assert get_session_storage().load(instance.session).content == instance.session_string  # never the dashboard's
    assert instance.connector_key_fingerprint == key_fingerprint(instance.session_string)
    assert instance.dashboard_key_fingerprint == key_fingerprint(instance.dashboard_session)
    seen = _by_hash(telegram, instance)
    connector, dashboard = seen[instance.connector_authorization_hash], seen[instance.dashboard_authorization_hash]
    assert connector.device_model == "teleconnect connector" and "prod-bot" in connector.app_version
    assert dashboard.device_model == "teleconnect dashboard" and "prod-bot" in dashboard.app_version
    page = operator_client.get(DETAIL).content.decode()
    assert instance.dashboard_session not in page and instance.session_string not in page
    assert AuditEvent.objects.filter(instance=instance, action="dashboard_key.mint", outcome="ok").exists()


def _every_text_value_in_the_database() -> str:
    values = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            table = model._meta.db_table
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - model table names
            values.extend(str(value) for row in cursor.fetchall() for value in row)
    return "\n".join(values)


def test_a_2fa_login_mints_both_keys_and_the_password_is_in_no_table(telegram, operator_client, instance):
    _log_in(operator_client, phone=BEA, code="33333", password=BEA_PASSWORD)
    instance.refresh_from_db()
    assert instance.status == "active" and instance.session_string and instance.dashboard_session
    assert telegram.is_authorized(instance.session_string) and telegram.is_authorized(instance.dashboard_session)
    assert BEA_PASSWORD not in _every_text_value_in_the_database()


def test_a_qr_login_on_a_2fa_account_mints_with_the_password(telegram, operator_client, instance):
    import base64

    from sessions_app.models import PendingLogin

    operator_client.post(f"{DETAIL}login/qr/")
    pending = PendingLogin.objects.get(instance=instance)
    token = pending.qr_url.split("token=", 1)[1]
    telegram.approve_qr(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)), BEA.lstrip("+"))
    operator_client.post(f"{DETAIL}login/qr/")
    assert operator_client.post(f"{DETAIL}login/", {"password": BEA_PASSWORD}).status_code == 302
    instance.refresh_from_db()
    assert instance.status == "active" and instance.dashboard_session


def test_with_the_connector_holding_its_key_the_dashboard_never_touches_it(telegram, clock, owner_client, instance):
    _log_in(owner_client)
    instance.refresh_from_db()
    telegram.seed_messages(ADA.lstrip("+"), per_dialog=30)
    with telegram.hold(instance.session_string, CONNECTOR_IP):
        verify = owner_client.post(f"{DETAIL}verify/", follow=True).content.decode()
        assert "alive" in verify
        listing = owner_client.get(f"{DETAIL}authorizations/").content.decode()
        assert "this instance's connector" in listing
        clock.advance(25 * 3600)
        device = next(
            a
            for a in telegram.authorizations(instance.telegram_user_id)
            if a.hash not in (instance.connector_authorization_hash, instance.dashboard_authorization_hash)
        )
        owner_client.post(f"{DETAIL}authorizations/{device.hash}/terminate/")
        assert device.hash not in _by_hash(telegram, instance)
        run = archive_run_foreground(instance=instance)
        assert run.status == "done" and run.messages_saved > 0
        check = health_check(instance=ConnectorInstance.objects.get(pk=instance.pk), trigger="command")
        assert check.result == "healthy", check.reason
        assert telegram.connected_ips(instance.session_string) == [CONNECTOR_IP]
    assert telegram.is_authorized(instance.session_string)
    instance.refresh_from_db()
    assert instance.status == "active" and instance.connector_active_at is not None
    assert not AuditEvent.objects.filter(detail__error="SessionRevoked").exists()
    assert not AuditEvent.objects.filter(outcome="dead").exists()


def test_the_hazard_is_real_the_held_key_used_from_here_dies(telegram, instance):
    string = demo_session()
    with telegram.hold(string, CONNECTOR_IP), pytest.raises(SessionRevoked, match="two places at once"):
        get_me(session=string, api=default_credentials())
    assert not telegram.is_authorized(string)


def test_import_of_a_key_another_instance_holds_is_refused_before_any_connection(
    telegram, settings, owner, owner_client, instance
):
    log_in(instance)
    other = ConnectorInstance.objects.create(session="second", name="Second bot", created_by=owner)
    Membership.objects.create(user=owner, instance=other, role=Role.OWNER)
    settings.TELEGRAM_CLIENT_FACTORY = "tests.support.counting_factory"
    support.CountingFactory.built = 0
    response = owner_client.post("/instances/second/import/", {"session_string": instance.session_string})
    assert response.status_code == 400
    assert "already belongs to the instance prod-bot (Production bot)" in response.content.decode()
    assert support.CountingFactory.built == 0
    other.refresh_from_db()
    assert other.session_string == "" and other.status == "new"


def test_a_user_who_cannot_see_the_holder_is_not_told_its_name(telegram, owner, instance, django_user_model):
    log_in(instance)
    stranger = django_user_model.objects.create_user("sam", password="pass-sam-123", is_staff=True)
    mine = ConnectorInstance.objects.create(session="mine", name="Mine", created_by=stranger)
    Membership.objects.create(user=stranger, instance=mine, role=Role.OWNER)
    response = client_for(stranger).post("/instances/mine/import/", {"session_string": instance.session_string})
    assert response.status_code == 400
    page = response.content.decode()
    assert "another instance (one you cannot see)" in page and "prod-bot" not in page


def test_the_dashboards_own_key_cannot_be_imported_either(telegram, owner, instance, owner_client):
    log_in(instance)
    other = ConnectorInstance.objects.create(session="second", name="Second", created_by=owner)
    Membership.objects.create(user=owner, instance=other, role=Role.OWNER)
    response = owner_client.post("/instances/second/import/", {"session_string": instance.dashboard_session})
    assert response.status_code == 400 and "already belongs to" in response.content.decode()


def test_an_instance_from_before_offers_to_mint_and_minting_makes_verify_work(telegram, operator_client, instance):
    instance.session_string = demo_session()
    instance.status = "active"
    instance.save()
    get_session_storage().save(instance.session, instance.session_string, expected_etag=None)
    page = operator_client.get(DETAIL).content.decode()
    assert "Mint the dashboard's authorization" in page and "/dashboard-key/" in page
    refused = operator_client.post(f"{DETAIL}verify/", follow=True).content.decode()
    assert "Verify did not run" in refused
    form = operator_client.get(f"{DETAIL}dashboard-key/").content.decode()
    assert "stop it for this moment" in form
    assert operator_client.post(f"{DETAIL}dashboard-key/").status_code == 302
    instance.refresh_from_db()
    assert instance.dashboard_session and instance.connector_authorization_hash is not None
    assert "alive" in operator_client.post(f"{DETAIL}verify/", follow=True).content.decode()


def test_minting_asks_for_the_password_on_a_2fa_account_and_a_wrong_one_keeps_nothing(
    telegram, operator_client, instance
):
    instance.session_string = bea_session()
    instance.status = "active"
    instance.save()
    before = len(telegram.authorizations(_user_id(telegram, instance)))
    response = operator_client.post(f"{DETAIL}dashboard-key/")
    assert response.status_code == 400 and "two-step verification" in response.content.decode()
    response = operator_client.post(f"{DETAIL}dashboard-key/", {"password": "wrong"})
    assert response.status_code == 400 and "password is wrong" in response.content.decode()
    assert len(telegram.authorizations(_user_id(telegram, instance))) == before  # the half-made key was logged out
    assert operator_client.post(f"{DETAIL}dashboard-key/", {"password": BEA_PASSWORD}).status_code == 302
    instance.refresh_from_db()
    assert instance.dashboard_session


def _user_id(telegram, instance) -> int:
    return get_me(session=instance.session_string, api=default_credentials()).user_id


def test_a_failed_mint_leaves_the_login_done_and_says_what_is_unavailable(telegram, clock, operator_client, instance):
    telegram.flood("auth.exportLoginToken", 60)
    assert operator_client.post(f"{DETAIL}login/", {"phone": ADA}).status_code == 302
    response = operator_client.post(f"{DETAIL}login/", {"code": "22222"}, follow=True)
    page = response.content.decode()
    assert "Logged in as" in page and "Verify, Active sessions, Terminate and Archive" in page
    instance.refresh_from_db()
    assert instance.status == "active" and instance.session_string and not instance.dashboard_session
    clock.advance(61)
    assert operator_client.post(f"{DETAIL}dashboard-key/").status_code == 302
    instance.refresh_from_db()
    assert instance.dashboard_session and not instance.dashboard_key_error


def test_revoke_ends_both_authorizations(telegram, owner_client, instance):
    _log_in(owner_client)
    instance.refresh_from_db()
    connector, dashboard = instance.session_string, instance.dashboard_session
    assert owner_client.post(f"{DETAIL}revoke/").status_code == 302
    assert not telegram.is_authorized(connector) and not telegram.is_authorized(dashboard)
    instance.refresh_from_db()
    assert instance.status == "revoked" and not instance.session_string and not instance.dashboard_session
    assert get_session_storage().load(instance.session).is_fresh


def test_verify_adopts_a_connector_written_object_and_mints_from_it_once(telegram, operator_client, instance):
    log_in(instance)
    old_connector, old_dashboard = instance.session_string, instance.dashboard_session
    newer = demo_session()
    info = get_session_storage().load(instance.session).info
    get_session_storage().save(instance.session, newer, expected_etag=info.etag if info else None)
    assert "alive" in operator_client.post(f"{DETAIL}verify/", follow=True).content.decode()
    instance.refresh_from_db()
    assert instance.session_string == newer and instance.dashboard_session not in ("", old_dashboard)
    # The keys it replaced are logged out, not left authorized with nobody holding them.
    assert not telegram.is_authorized(old_connector) and not telegram.is_authorized(old_dashboard)
    assert telegram.is_authorized(newer)
