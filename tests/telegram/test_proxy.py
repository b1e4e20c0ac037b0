"""Proxy URLs (sessions_app.telegram.proxy): what they parse to, how they show, what is refused,
and what a client built with one gets (the TelegramClient keywords and the demo's connection IP)."""

from __future__ import annotations

import asyncio
import base64

import pytest
from django.core.exceptions import ImproperlyConfigured
from python_socks import ProxyType
from telethon import TelegramClient
from telethon.network.connection import ConnectionTcpFull, ConnectionTcpMTProxyRandomizedIntermediate
from telethon.sessions import StringSession
from telethon.tl.functions.account import GetAuthorizationsRequest

from sessions_app.telegram.client import ClientLabel, KeyRole, build_client, default_credentials, proxy_or_default
from sessions_app.telegram.fake import DemoTelegram
from sessions_app.telegram.proxy import Proxy, ProxyInvalid, parse_proxy, proxy_setting

SECRET = "0123456789abcdef0123456789abcdef"
FAKE_TLS = "ee" + SECRET + "676f6f676c652e636f6d"  # ee + secret + the hex of a domain (google.com)


# --- parsing and masking ------------------------------------------------------------------------


def test_it_reads_a_socks5_proxy_with_credentials():
    proxy = parse_proxy("socks5://alice:s3cr%40t@proxy.example:1080")
    assert proxy == Proxy(scheme="socks5", host="proxy.example", port=1080, username="alice", password="s3cr@t")
    assert proxy.client_kwargs() == {
        "proxy": {
            "proxy_type": ProxyType.SOCKS5,
            "addr": "proxy.example",
            "port": 1080,
            "username": "alice",
            "password": "s3cr@t",
            "rdns": True,
        }
    }


def test_it_reads_socks4_and_http_connect_without_credentials():
    socks4 = parse_proxy("socks4://198.51.100.4:1080")
    http = parse_proxy("HTTP://proxy.example:3128")
    assert socks4 is not None and http is not None
    assert socks4.client_kwargs()["proxy"]["proxy_type"] is ProxyType.SOCKS4
    assert http.client_kwargs()["proxy"] == {
        "proxy_type": ProxyType.HTTP,
        "addr": "proxy.example",
        "port": 3128,
        "username": None,
        "password": None,
        "rdns": True,
    }


@pytest.mark.parametrize("secret", [SECRET, "dd" + SECRET, ("dd" + SECRET).upper()])
def test_it_reads_an_mtproxy_with_a_plain_or_dd_secret(secret):
    proxy = parse_proxy(f"mtproxy://{secret}@mt.example:443")
    assert proxy is not None
    assert proxy.client_kwargs() == {
        "connection": ConnectionTcpMTProxyRandomizedIntermediate,
        "proxy": ("mt.example", 443, secret.lower()),
    }


def test_it_reads_an_mtproxy_secret_shared_as_base64():
    encoded = base64.urlsafe_b64encode(bytes.fromhex("dd" + SECRET)).decode().rstrip("=")
    proxy = parse_proxy(f"mtproxy://{encoded}@mt.example:443")
    assert proxy is not None and proxy.secret == "dd" + SECRET


@pytest.mark.parametrize("url", ["", "   "])
def test_an_empty_url_is_no_proxy(url):
    assert parse_proxy(url) is None


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("socks5://alice:hunter2@proxy.example:1080", "socks5://proxy.example:1080"),
        ("http://bob:hunter2@[2001:db8::1]:3128", "http://[2001:db8::1]:3128"),
        (f"mtproxy://dd{SECRET}@mt.example:443", "mtproxy://mt.example:443"),
    ],
)
def test_its_masked_form_repr_and_str_show_no_credential(url, masked):
    proxy = parse_proxy(url)
    assert proxy is not None
    assert proxy.masked() == str(proxy) == masked
    for shown in (proxy.masked(), str(proxy), repr(proxy), repr(ClientLabel(KeyRole.DASHBOARD, "s", proxy))):
        assert "hunter2" not in shown and SECRET not in shown and "alice" not in shown


@pytest.mark.parametrize(
    "url",
    [
        "socks5://alice:p%40ss%3Aword@proxy.example:1080",
        "socks4://198.51.100.4:1080",
        "http://[2001:db8::1]:3128",
        f"mtproxy://dd{SECRET}@mt.example:443",
    ],
)
def test_its_full_url_reads_back_as_the_same_proxy(url):
    proxy = parse_proxy(url)
    assert proxy is not None and parse_proxy(proxy.url()) == proxy


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("ftp://proxy.example:21", "starts with socks5://, socks4://, http:// or mtproxy://"),
        ("alice:hunter2@proxy.example:1080", "starts with socks5://, socks4://, http:// or mtproxy://"),
        ("https://alice:hunter2@proxy.example:443", "https:// proxy"),
        ("socks5://alice:hunter2@proxy.example", "port is missing"),
        ("socks5://proxy.example:99999", "port must be a number from 1 to 65535"),
        ("socks5://proxy.example:0", "port must be a number from 1 to 65535"),
        ("socks5://proxy.example:port", "port must be a number from 1 to 65535"),
        ("socks5://:1080", "host is missing"),
        ("socks5://alice@proxy.example:1080", "user name and password together"),
        ("socks5://:hunter2@proxy.example:1080", "user name and password together"),
        ("socks5://proxy.example:1080/path?x=1", "ends with host:port"),
        ("mtproxy://mt.example:443", "only the secret"),
        (f"mtproxy://{SECRET}:hunter2@mt.example:443", "only the secret"),
        ("mtproxy://0123abcd@mt.example:443", "32 hexadecimal digits"),
        (f"mtproxy://{FAKE_TLS}@mt.example:443", "fake-TLS"),
    ],
)
def test_it_refuses_a_proxy_it_cannot_use_with_a_sentence_that_quotes_nothing(url, said):
    with pytest.raises(ProxyInvalid) as refused:
        parse_proxy(url)
    message = refused.value.message
    assert said in message and message.endswith(".")
    assert "hunter2" not in message and SECRET not in message and "alice" not in message


def test_a_malformed_setting_is_improperly_configured_naming_it_without_its_secret():
    with pytest.raises(ImproperlyConfigured, match="TELEGRAM_PROXY is not a proxy teleconnect can use") as refused:
        proxy_setting("TELEGRAM_PROXY", "socks5://alice:hunter2@proxy.example")
    assert "hunter2" not in str(refused.value)
    assert proxy_setting("TELEGRAM_PROXY", " socks5://proxy.example:1080 ") == "socks5://proxy.example:1080"
    assert proxy_setting("TELEGRAM_PROXY", "") == ""


# --- what a client gets ---------------------------------------------------------------------------


RECEIVED: list[dict] = []


def recording_factory(session, *, api_id, api_hash, **client_kwargs):
    """TELEGRAM_CLIENT_FACTORY for these tests: keeps what it was given, returns an unconnected real client."""
    RECEIVED.append(client_kwargs)
    return TelegramClient(StringSession(session), api_id, api_hash, **client_kwargs)


@pytest.fixture
def received(settings):
    RECEIVED.clear()
    settings.TELEGRAM_CLIENT_FACTORY = "tests.telegram.test_proxy.recording_factory"
    return RECEIVED


def test_a_label_with_a_proxy_hands_it_to_the_factory(received):
    proxy = parse_proxy("socks5://alice:hunter2@proxy.example:1080")
    assert proxy is not None
    build_client("", default_credentials(), ClientLabel(KeyRole.DASHBOARD, "prod-bot", proxy))
    assert received[0]["proxy"] == proxy.client_kwargs()["proxy"]
    assert received[0]["device_model"] == "teleconnect dashboard"


def test_telegram_proxy_is_the_default_of_labels_without_one_and_of_unlabelled_clients(settings, received):
    settings.TELEGRAM_PROXY = f"mtproxy://dd{SECRET}@mt.example:443"
    own = parse_proxy("socks5://proxy.example:1080")
    build_client("", default_credentials(), ClientLabel(KeyRole.DASHBOARD, "prod-bot"))
    build_client("", default_credentials())
    build_client("", default_credentials(), ClientLabel(KeyRole.DASHBOARD, "prod-bot", own))
    default_kwargs = {
        "connection": ConnectionTcpMTProxyRandomizedIntermediate,
        "proxy": ("mt.example", 443, "dd" + SECRET),
    }
    assert {k: received[0][k] for k in ("connection", "proxy")} == default_kwargs
    assert received[1] == default_kwargs
    assert received[2]["proxy"]["addr"] == "proxy.example" and "connection" not in received[2]


def test_without_telegram_proxy_a_label_without_a_proxy_connects_directly(settings, received):
    settings.TELEGRAM_PROXY = ""
    build_client("", default_credentials(), ClientLabel(KeyRole.DASHBOARD, "prod-bot"))
    build_client("", default_credentials())
    assert proxy_or_default(None) is None
    assert "proxy" not in received[0] and "connection" not in received[0]
    assert received[1] == {}


@pytest.mark.parametrize(
    "url",
    ["socks5://alice:hunter2@proxy.example:1080", "http://proxy.example:3128", f"mtproxy://{SECRET}@mt.example:443"],
)
def test_a_real_telegram_client_takes_the_proxy_keywords_without_contacting_anything(url):
    proxy = parse_proxy(url)
    assert proxy is not None
    kwargs = proxy.client_kwargs()
    client = TelegramClient(StringSession(), 1, "0" * 32, **kwargs)
    assert client._proxy == kwargs["proxy"]
    assert client._connection is kwargs.get("connection", ConnectionTcpFull)
    assert not client.is_connected()


# --- the demo Telegram -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "ip"),
    [
        ("socks5://alice:hunter2@198.51.100.23:1080", "198.51.100.23"),
        (f"mtproxy://dd{SECRET}@mt.example:443", "mt.example"),
        ("", "127.0.0.1"),
    ],
)
def test_the_demo_client_comes_from_the_proxys_host_and_never_dials_it(url, ip):
    world = DemoTelegram(None)
    proxy = parse_proxy(url)
    kwargs = proxy.client_kwargs() if proxy is not None else {}
    client = world.client_factory("", api_id=1, api_hash="0" * 32, **kwargs)
    assert client._sender.ip == ip
    assert client._proxy is None and client._connection is ConnectionTcpFull


def test_an_explicit_demo_ip_wins_over_the_proxy():
    world = DemoTelegram(None)
    proxy = parse_proxy("socks5://198.51.100.23:1080")
    assert proxy is not None
    client = world.client_factory("", api_id=1, api_hash="0" * 32, ip="203.0.113.9", **proxy.client_kwargs())
    assert client._sender.ip == "203.0.113.9"


def test_a_demo_login_through_a_proxy_shows_the_proxys_address_in_active_sessions():
    world = DemoTelegram(None)
    proxy = parse_proxy("socks5://alice:hunter2@198.51.100.23:1080")
    assert proxy is not None

    async def log_in_and_list() -> list[str]:
        client = world.client_factory("", api_id=1, api_hash="0" * 32, **proxy.client_kwargs())
        await client.connect()
        try:
            sent = await client.send_code_request("+9996621001")
            await client.sign_in("+9996621001", "22222", phone_code_hash=sent.phone_code_hash)
            listed = await client(GetAuthorizationsRequest())
            return [a.ip for a in listed.authorizations if a.current]
        finally:
            await client.disconnect()

    assert asyncio.run(log_in_and_list()) == ["198.51.100.23"]
