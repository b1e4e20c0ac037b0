"""The session object: written after login, saved, verified, revoked; conflicts never lose an update."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sessions_app.models import AuditEvent, ConnectorInstance
from sessions_app.storage import get_session_storage
from tests.conftest import ADA, demo_session

DETAIL = "/instances/prod-bot/"


def _object_path(settings, session: str = "prod-bot") -> Path:
    return Path(settings.SESSION_STORE_DIR, "telegram", session, "session.txt")


def _log_in(client, code: str = "22222", phone: str = ADA) -> None:
    assert client.post("/instances/prod-bot/login/", {"phone": phone}).status_code == 302
    assert client.post("/instances/prod-bot/login/", {"code": code}).status_code == 302


def test_login_writes_the_object_the_connector_loads(telegram, operator_client, instance, settings):
    _log_in(operator_client)
    instance.refresh_from_db()
    path = _object_path(settings)
    assert path.read_text(encoding="utf-8") == instance.session_string
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert instance.status == "active" and instance.object_etag and instance.saved_at
    page = operator_client.get(DETAIL).content.decode()
    assert instance.object_etag.strip('"') in page and instance.session_string not in page


def test_verify_says_alive_for_a_working_object(telegram, operator_client, instance):
    _log_in(operator_client)
    response = operator_client.post(f"{DETAIL}verify/", follow=True)
    assert "alive" in response.content.decode()
    instance.refresh_from_db()
    assert instance.verify_result == "alive" and instance.verified_at


def test_verify_adopts_an_object_written_by_a_connector(telegram, operator_client, instance):
    string = demo_session()
    get_session_storage().save(instance.session, string, expected_etag=None)
    response = operator_client.post(f"{DETAIL}verify/", follow=True)
    assert "alive" in response.content.decode()
    instance.refresh_from_db()
    assert instance.status == "active" and instance.session_string == string and instance.telegram_name == "Ada Demo"


def test_verify_on_a_missing_or_empty_object_says_fresh(telegram, operator_client, instance, settings):
    response = operator_client.post(f"{DETAIL}verify/", follow=True)
    assert "empty or missing" in response.content.decode()
    get_session_storage().save(instance.session, "", expected_etag=None)
    operator_client.post(f"{DETAIL}verify/")
    instance.refresh_from_db()
    assert instance.verify_result == "fresh" and instance.status == "new"


def test_verify_marks_a_session_terminated_elsewhere_as_revoked(telegram, operator_client, instance):
    _log_in(operator_client)
    instance.refresh_from_db()
    assert telegram.terminate_session(instance.session_string)
    operator_client.post(f"{DETAIL}verify/")
    instance.refresh_from_db()
    assert instance.status == "revoked" and instance.verify_result == "revoked"
    assert "Log in again" in operator_client.get(DETAIL).content.decode()


def test_revoke_logs_out_and_leaves_an_empty_object(telegram, operator_client, owner_client, instance, settings):
    _log_in(operator_client)
    instance.refresh_from_db()
    string = instance.session_string
    confirm = owner_client.get(f"{DETAIL}revoke/")
    assert confirm.status_code == 200 and 'action="/instances/prod-bot/revoke/"' in confirm.content.decode()
    response = owner_client.post(f"{DETAIL}revoke/")
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.status == "revoked" and instance.session_string == ""
    assert _object_path(settings).read_bytes() == b""
    assert not telegram.is_authorized(string)
    assert AuditEvent.objects.filter(instance=instance, action="session.revoke", outcome="ok").exists()


def test_revoke_needs_the_owner_role(telegram, operator_client, instance):
    _log_in(operator_client)
    assert operator_client.post(f"{DETAIL}revoke/").status_code == 403
    instance.refresh_from_db()
    assert instance.status == "active"


def test_revoke_with_telegram_down_changes_nothing(telegram, operator_client, owner_client, instance, settings):
    _log_in(operator_client)
    instance.refresh_from_db()
    settings.TELEGRAM_CLIENT_FACTORY = "tests.support.unreachable_factory"
    response = owner_client.post(f"{DETAIL}revoke/", follow=True)
    assert "Nothing was revoked" in response.content.decode()
    before = instance.session_string
    instance.refresh_from_db()
    assert instance.status == "active" and instance.session_string == before
    assert _object_path(settings).read_text() == before


def test_a_half_done_revoke_says_which_half_and_can_be_retried(
    telegram, operator_client, owner_client, instance, settings, monkeypatch
):
    """S3 goes down between the Telegram logout and the empty-object write; the retry finishes."""
    from moto.server import ThreadedMotoServer

    from tests.storage.conftest import admin_client, configure_s3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        admin_client("s3", endpoint).create_bucket(Bucket="half-revoke")
        configure_s3(settings, bucket="half-revoke", endpoint=endpoint)
        _log_in(operator_client)
        instance.refresh_from_db()
        string = instance.session_string
        server.stop()  # S3 is down now; Telegram is not
        response = owner_client.post(f"{DETAIL}revoke/", follow=True)
        page = response.content.decode()
        assert "Telegram logged the session out" in page and "still holds the old string" in page
        assert not telegram.is_authorized(string)
        instance.refresh_from_db()
        assert instance.status == "revoked" and instance.session_string == ""

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)  # S3 is back, same data
        server.start()
        key = "telegram/prod-bot/session.txt"
        assert admin_client("s3", endpoint).get_object(Bucket="half-revoke", Key=key)["Body"].read().decode() == string
        response = owner_client.post(f"{DETAIL}revoke/", follow=True)
        assert "Revoked" in response.content.decode()
        assert admin_client("s3", endpoint).get_object(Bucket="half-revoke", Key=key)["Body"].read() == b""
    finally:
        server.stop()


def test_save_conflict_is_shown_and_never_overwrites_silently(telegram, operator_client, instance, settings):
    _log_in(operator_client)
    instance.refresh_from_db()
    store = get_session_storage()
    other = demo_session()
    store.save(instance.session, other, expected_etag=instance.object_etag)  # another tab or a connector
    response = operator_client.post(f"{DETAIL}save/")
    assert response.status_code == 409
    page = response.content.decode()
    assert "Someone else wrote" in page and "Use the stored one" in page and "Overwrite it" in page
    assert _object_path(settings).read_text() == other
    assert other not in page

    current_etag = store.head(instance.session).etag
    response = operator_client.post(f"{DETAIL}save/", {"resolve": "overwrite", "etag": current_etag})
    assert response.status_code == 302
    instance.refresh_from_db()
    assert _object_path(settings).read_text() == instance.session_string
    assert AuditEvent.objects.filter(instance=instance, action="session.overwrite").exists()


def test_use_the_stored_one_adopts_it(telegram, operator_client, instance, settings):
    _log_in(operator_client)
    instance.refresh_from_db()
    other = demo_session()
    get_session_storage().save(instance.session, other, expected_etag=instance.object_etag)
    assert operator_client.post(f"{DETAIL}save/").status_code == 409
    assert operator_client.post(f"{DETAIL}save/", {"resolve": "use_stored"}).status_code == 302
    instance.refresh_from_db()
    assert instance.session_string == other and instance.status == "active"
    assert AuditEvent.objects.filter(instance=instance, action="session.use_stored").exists()


def test_using_a_stored_session_that_is_dead_is_audited_and_marks_the_instance(
    telegram, operator_client, instance, settings
):
    _log_in(operator_client)
    instance.refresh_from_db()
    dead = demo_session()
    telegram.terminate_session(dead)
    get_session_storage().save(instance.session, dead, expected_etag=instance.object_etag)
    assert operator_client.post(f"{DETAIL}save/").status_code == 409
    response = operator_client.post(f"{DETAIL}save/", {"resolve": "use_stored"}, follow=True)
    assert "no longer valid" in response.content.decode() or "logged out" in response.content.decode()
    assert AuditEvent.objects.filter(instance=instance, action="session.use_stored", outcome="dead").exists()
    instance.refresh_from_db()
    assert instance.status == "revoked" and instance.session_string != dead


def test_two_tabs_saving_at_once_give_one_winner(telegram, operator_client, owner_client, instance, settings):
    _log_in(operator_client)
    first = ConnectorInstance.objects.get(pk=instance.pk)
    second = ConnectorInstance.objects.get(pk=instance.pk)
    from sessions_app.services.sessions import session_save
    from sessions_app.storage import StoreConflict

    first.session_string = demo_session()
    second.session_string = demo_session()
    session_save(instance=first, actor=None)
    with pytest.raises(StoreConflict):
        session_save(instance=second, actor=None)
    assert _object_path(settings).read_text() == first.session_string


def test_store_down_at_save_keeps_the_session_unsaved(telegram, operator_client, instance, settings):
    settings.AWS_S3_SESSION_BUCKET = "sessions"
    settings.AWS_S3_ENDPOINT = "http://127.0.0.1:9"  # nothing listens there
    _log_in(operator_client)
    instance.refresh_from_db()
    assert instance.status == "unsaved" and instance.session_string
    assert "not in the session store yet" in operator_client.get(DETAIL).content.decode()
    assert (
        "unsaved" in operator_client.get("/").content.decode()
        or "not saved" in operator_client.get("/").content.decode()
    )
    settings.AWS_S3_SESSION_BUCKET = ""
    response = operator_client.post(f"{DETAIL}save/")
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.status == "active"
    assert _object_path(settings).read_text() == instance.session_string


def _devices(telegram, instance):
    """The account's authorizations that are neither this instance's connector nor its dashboard key."""
    ours = {instance.connector_authorization_hash, instance.dashboard_authorization_hash}
    return [a for a in telegram.authorizations(instance.telegram_user_id) if a.hash not in ours]


def test_authorizations_list_marks_whose_each_one_is_and_keeps_hashes_exact(
    telegram, clock, operator_client, owner_client, instance
):
    _log_in(operator_client)
    instance.refresh_from_db()
    assert instance.connector_authorization_hash is not None and instance.dashboard_authorization_hash is not None
    page = owner_client.get(f"{DETAIL}authorizations/").content.decode()
    assert "this dashboard" in page and "this instance's connector" in page and "another device" in page
    assert "/terminate/" not in page  # the dashboard's key is fresh: Telegram's 24-hour rule
    assert "can terminate sessions from" in page
    clock.advance(25 * 3600)
    page = owner_client.get(f"{DETAIL}authorizations/").content.decode()
    for item in _devices(telegram, instance):
        assert f"/authorizations/{item.hash}/terminate/" in page
    for ours in (instance.connector_authorization_hash, instance.dashboard_authorization_hash):
        assert f"/authorizations/{ours}/terminate/" not in page


def test_terminate_one_session(telegram, clock, operator_client, owner_client, instance):
    _log_in(operator_client)
    instance.refresh_from_db()
    other = _devices(telegram, instance)[0]
    url = f"{DETAIL}authorizations/{other.hash}/terminate/"
    refused = owner_client.post(url, follow=True)
    assert "less than 24 hours old" in refused.content.decode()
    assert other.hash in [a.hash for a in telegram.authorizations(instance.telegram_user_id)]
    clock.advance(25 * 3600)
    assert owner_client.get(url).status_code == 200
    assert owner_client.post(url).status_code == 302
    assert other.hash not in [a.hash for a in telegram.authorizations(instance.telegram_user_id)]
    assert operator_client.post(url).status_code == 403


def test_terminate_others_explains_the_24_hour_rule(telegram, clock, operator_client, owner_client, instance):
    _log_in(operator_client)
    instance.refresh_from_db()
    response = owner_client.post(f"{DETAIL}authorizations/terminate-others/", follow=True)
    assert "less than 24 hours old" in response.content.decode()
    assert len(telegram.authorizations(instance.telegram_user_id)) > 1
    clock.advance(25 * 3600)
    owner_client.post(f"{DETAIL}authorizations/terminate-others/")
    left = {a.hash for a in telegram.authorizations(instance.telegram_user_id)}
    assert left == {instance.connector_authorization_hash, instance.dashboard_authorization_hash}
    assert telegram.is_authorized(instance.session_string)


def test_verify_finds_a_connector_terminated_elsewhere_through_the_dashboard_key(telegram, operator_client, instance):
    _log_in(operator_client)
    instance.refresh_from_db()
    telegram.terminate_session(instance.session_string)
    page = operator_client.get(f"{DETAIL}authorizations/").content.decode()
    assert "this instance's connector" not in page  # listed by the dashboard's key, which still works
    response = operator_client.post(f"{DETAIL}verify/", follow=True)
    assert "was revoked" in response.content.decode()
    instance.refresh_from_db()
    assert instance.status == "revoked" and instance.verify_result == "revoked"


def test_a_lost_dashboard_key_is_forgotten_and_the_page_offers_to_mint_again(telegram, operator_client, instance):
    _log_in(operator_client)
    instance.refresh_from_db()
    telegram.terminate_session(instance.dashboard_session)
    page = operator_client.get(f"{DETAIL}authorizations/").content.decode()
    assert "Mint the dashboard&#x27;s authorization" in page
    instance.refresh_from_db()
    assert instance.status == "active" and not instance.dashboard_session
    assert telegram.is_authorized(instance.session_string)
    assert AuditEvent.objects.filter(instance=instance, action="dashboard_key.lost").exists()
