"""Each instance's own egress (issue 18, section 5): the proxy page, and the proxy on every connection.

The connections are seen where a third-party factory would see them: TELEGRAM_CLIENT_FACTORY points
at a recording factory in front of the demo Telegram, which keeps each client's keywords.
"""

from __future__ import annotations

import logging

import pytest
from django.db import connection
from telethon.network.connection import ConnectionTcpMTProxyRandomizedIntermediate

from sessions_app.crypto import encrypted_fields
from sessions_app.models import AuditEvent, ConnectorInstance
from sessions_app.models_network import InstanceProxy
from sessions_app.services.archive_media import MediaChoice
from sessions_app.services.archive_runs import archive_run_foreground
from sessions_app.services.health.check import health_check
from sessions_app.services.instance_admin import InstanceGone
from sessions_app.services.login import login_send_code, login_submit_code
from sessions_app.services.login_terminal import terminal_send_code, terminal_sign_in_code
from sessions_app.services.proxy import ProxyRefused, instance_proxy_set
from sessions_app.services.sessions import session_save
from sessions_app.telegram.account import list_authorizations
from sessions_app.telegram.client import default_credentials
from sessions_app.telegram.proxy import parse_proxy
from tests import support
from tests.conftest import ADA, client_for, demo_session, log_in

PASSWORD = "hunter2-proxy-pass"
SECRET = "0123456789abcdef0123456789abcdef"
SOCKS = f"socks5://alice:{PASSWORD}@198.51.100.23:1080"
SOCKS_MASKED = "socks5://198.51.100.23:1080"
MTPROXY = f"mtproxy://dd{SECRET}@mt.example:443"

RECEIVED: list[dict] = []


def recording_factory(session, *, api_id, api_hash, **client_kwargs):
    """The demo Telegram's factory, keeping the keywords each client was built with."""
    RECEIVED.append(dict(client_kwargs))
    return support.telegram_factory(session, api_id=api_id, api_hash=api_hash, **client_kwargs)


@pytest.fixture
def received(settings, telegram):
    RECEIVED.clear()
    settings.TELEGRAM_CLIENT_FACTORY = "tests.test_proxy.recording_factory"
    return RECEIVED


def proxy_kwargs(url: str) -> dict:
    proxy = parse_proxy(url)
    assert proxy is not None
    return proxy.client_kwargs()


def assert_all_through(built: list[dict], url: str) -> None:
    expected = proxy_kwargs(url)
    assert built, "no client was built"
    for kwargs in built:
        assert kwargs["proxy"] == expected["proxy"]
        assert kwargs.get("connection") == expected.get("connection")


def set_proxy(instance: ConnectorInstance, url: str, actor=None) -> None:
    instance_proxy_set(instance=instance, actor=actor, url=url)


# --- every connection of a proxied instance carries its proxy ---------------------------------------


def test_the_login_code_steps_and_the_mint_after_them_go_through_the_instances_proxy(received, instance, owner):
    set_proxy(instance, SOCKS)
    login_send_code(instance=instance, actor=owner, phone=ADA)
    login_submit_code(instance=instance, actor=owner, code="22222")
    instance.refresh_from_db()
    assert instance.status == "active" and instance.has_dashboard_key
    assert len(received) >= 4  # send code, sign in, and the mint's two clients
    assert_all_through(received, SOCKS)


def test_the_mint_goes_through_the_instances_mtproxy(received, instance):
    instance.session_string = demo_session()
    instance.save()
    set_proxy(instance, MTPROXY)
    received.clear()
    log_in(instance, instance.session_string)
    assert len(received) >= 2  # the connector's key and the new dashboard key
    assert_all_through(received, MTPROXY)
    assert received[0]["connection"] is ConnectionTcpMTProxyRandomizedIntermediate


def test_a_health_check_goes_through_the_instances_proxy(received, instance):
    log_in(instance)
    session_save(instance=instance, actor=None)
    set_proxy(instance, SOCKS)
    received.clear()
    check = health_check(instance=instance)
    assert check.result == "healthy", check.reason
    assert_all_through(received, SOCKS)


def test_an_archive_run_and_its_media_go_through_the_instances_proxy(received, instance, telegram):
    log_in(instance)
    set_proxy(instance, SOCKS)
    telegram.seed_messages(ADA.lstrip("+"), per_dialog=40)
    received.clear()
    run = archive_run_foreground(instance=instance, media=MediaChoice(("photo", "document"), 2_000_000))
    assert run.status == "done" and run.messages_saved > 0
    assert run.media_plan.files_done > 0  # media downloads rode the same proxied connection
    assert_all_through(received, SOCKS)
    assert any(kwargs.get("connection_retries") == 5 for kwargs in received)  # the archive's own client


def test_without_a_proxy_of_its_own_an_instance_goes_through_telegram_proxy(received, instance, settings):
    settings.TELEGRAM_PROXY = MTPROXY
    log_in(instance)
    assert_all_through(received, MTPROXY)
    set_proxy(instance, SOCKS)
    received.clear()
    log_in(instance, instance.session_string)
    assert_all_through(received, SOCKS)  # its own wins over the default
    set_proxy(instance, "")
    received.clear()
    log_in(instance, instance.session_string)
    assert_all_through(received, MTPROXY)  # cleared: back to the default


def test_a_terminal_login_for_no_instance_goes_through_telegram_proxy(received, settings, db):
    settings.TELEGRAM_PROXY = SOCKS
    sent = terminal_send_code(phone=ADA, api=default_credentials())
    terminal_sign_in_code(sent=sent, phone=ADA, code="22222", api=default_credentials())
    assert len(received) >= 2
    assert_all_through(received, SOCKS)


def test_without_any_proxy_connections_go_directly(received, instance, settings):
    settings.TELEGRAM_PROXY = ""
    log_in(instance)
    assert received and all("proxy" not in kwargs and "connection" not in kwargs for kwargs in received)


def test_the_demo_sees_a_proxied_dashboard_key_coming_from_the_proxys_address(telegram, instance):
    set_proxy(instance, SOCKS)
    log_in(instance)
    # account.getAuthorizations from the connector's key: the dashboard's authorization and its IP.
    listed = list_authorizations(session=instance.session_string, api=default_credentials())
    assert [a.ip for a in listed if a.hash == instance.dashboard_authorization_hash] == ["198.51.100.23"]


def test_the_demo_sees_an_unproxied_dashboard_key_from_its_own_address(telegram, instance):
    log_in(instance)
    listed = list_authorizations(session=instance.session_string, api=default_credentials())
    assert [a.ip for a in listed if a.hash == instance.dashboard_authorization_hash] == ["127.0.0.1"]


def test_active_sessions_shows_the_proxys_address_never_its_credentials(telegram, instance, owner_client):
    set_proxy(instance, SOCKS)
    log_in(instance)
    page = owner_client.get(f"/instances/{instance.session}/authorizations/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "198.51.100.23" in body and PASSWORD not in body


# --- the page: owners only, audited, never showing the secret ------------------------------------


def _raw_stored_url(instance: ConnectorInstance) -> str:
    table = InstanceProxy._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT url FROM {table} WHERE instance_id = %s", [instance.pk])  # noqa: S608 - a model's table name
        return cursor.fetchone()[0]


def test_an_owner_sets_the_proxy_stored_encrypted_shown_masked_and_audited(telegram, instance, owner, caplog):
    client = client_for(owner)
    page = client.get(f"/instances/{instance.session}/proxy/")
    assert page.status_code == 200 and "directly (no proxy)" in page.content.decode()
    with caplog.at_level(logging.DEBUG):
        answer = client.post(f"/instances/{instance.session}/proxy/", {"proxy": SOCKS}, follow=True)
    assert answer.redirect_chain[-1][0] == f"/instances/{instance.session}/"
    body = answer.content.decode()
    assert f"Telegram connections go through <code>{SOCKS_MASKED}</code>" in body
    assert PASSWORD not in body and "alice" not in body
    raw = _raw_stored_url(instance)
    assert raw.startswith("gAAAAA") and PASSWORD not in raw
    assert InstanceProxy.objects.get(instance=instance).masked == SOCKS_MASKED
    event = AuditEvent.objects.get(action="instance.proxy")
    assert event.actor == owner and event.detail == {"from": "none", "to": SOCKS_MASKED}
    assert PASSWORD not in caplog.text
    for url in (f"/instances/{instance.session}/proxy/", f"/instances/{instance.session}/audit/", "/audit/"):
        shown = client.get(url).content.decode()
        assert PASSWORD not in shown and "alice" not in shown


def test_the_admin_never_shows_the_proxys_credentials(telegram, instance, admin_user):
    set_proxy(instance, SOCKS)
    client = client_for(admin_user)
    for url in (
        "/admin/sessions_app/connectorinstance/",
        f"/admin/sessions_app/connectorinstance/{instance.pk}/change/",
        "/admin/sessions_app/auditevent/",
    ):
        page = client.get(url)
        assert page.status_code == 200
        assert PASSWORD not in page.content.decode()


def test_an_owner_clears_the_proxy_back_to_the_default(telegram, instance, owner, settings):
    settings.TELEGRAM_PROXY = "http://default.example:3128"
    set_proxy(instance, SOCKS, actor=owner)
    answer = client_for(owner).post(f"/instances/{instance.session}/proxy/", {"proxy": ""}, follow=True)
    assert answer.status_code == 200
    assert not InstanceProxy.objects.filter(instance=instance).exists()
    body = answer.content.decode()
    assert "has no proxy of its own" in body
    assert "Telegram connections go through <code>http://default.example:3128</code>" in body
    last = AuditEvent.objects.filter(action="instance.proxy").latest("id")
    assert last.detail == {"from": SOCKS_MASKED, "to": "none"}


def test_the_same_proxy_twice_is_audited_once(telegram, instance, owner):
    set_proxy(instance, SOCKS, actor=owner)
    set_proxy(instance, SOCKS, actor=owner)
    assert AuditEvent.objects.filter(action="instance.proxy").count() == 1


def test_an_operator_is_refused_and_nothing_changes(telegram, instance, operator_client):
    set_proxy(instance, SOCKS)
    before = _raw_stored_url(instance)
    assert operator_client.get(f"/instances/{instance.session}/proxy/").status_code == 403
    answer = operator_client.post(f"/instances/{instance.session}/proxy/", {"proxy": MTPROXY})
    assert answer.status_code == 403
    assert _raw_stored_url(instance) == before
    assert AuditEvent.objects.filter(action="access.refused", outcome="refused").exists()
    assert AuditEvent.objects.filter(action="instance.proxy").count() == 1  # only the owner's set


def test_an_outsider_gets_404(telegram, instance, outsider):
    assert client_for(outsider).post(f"/instances/{instance.session}/proxy/", {"proxy": SOCKS}).status_code == 404
    assert not InstanceProxy.objects.exists()


def test_only_owners_see_the_change_link_on_the_instance_page(telegram, instance, owner_client, operator_client):
    proxy_url = f"/instances/{instance.session}/proxy/"
    assert proxy_url in owner_client.get(f"/instances/{instance.session}/").content.decode()
    page = operator_client.get(f"/instances/{instance.session}/").content.decode()
    assert proxy_url not in page and "Telegram connections go direct" in page


@pytest.mark.parametrize(
    ("url", "said"),
    [
        (f"ftp://alice:{PASSWORD}@proxy.example:21", "starts with socks5://, socks4://, http:// or mtproxy://"),
        (f"socks5://alice:{PASSWORD}@proxy.example", "port is missing"),
        (f"mtproxy://ee{SECRET}676f6f676c652e636f6d@mt.example:443", "fake-TLS"),
    ],
)
def test_a_malformed_proxy_is_a_form_error_and_changes_nothing(telegram, instance, owner, url, said):
    set_proxy(instance, MTPROXY)
    before = _raw_stored_url(instance)
    answer = client_for(owner).post(f"/instances/{instance.session}/proxy/", {"proxy": url})
    assert answer.status_code == 400
    body = answer.content.decode()
    assert said in body and "The proxy was not changed." in body
    assert PASSWORD not in body and SECRET not in body  # the typed URL is never echoed
    assert _raw_stored_url(instance) == before
    assert AuditEvent.objects.filter(action="instance.proxy").count() == 1


def test_a_deleted_instance_takes_its_proxy_along_and_refuses_a_new_one(telegram, instance, owner):
    set_proxy(instance, SOCKS)
    stale = ConnectorInstance.objects.get(pk=instance.pk)
    instance.delete()
    assert not InstanceProxy.objects.exists()
    with pytest.raises(InstanceGone):
        instance_proxy_set(instance=stale, actor=owner, url=SOCKS)
    assert not InstanceProxy.objects.exists()


def test_the_service_refuses_a_malformed_proxy_on_the_proxy_field(telegram, instance, owner):
    with pytest.raises(ProxyRefused) as refused:
        instance_proxy_set(instance=instance, actor=owner, url="socks5://proxy.example:0")
    assert refused.value.field == "proxy"


def test_the_proxy_is_among_the_secrets_key_rotation_re_encrypts():
    assert any(model is InstanceProxy and [f.name for f in fields] == ["url"] for model, fields in encrypted_fields())
