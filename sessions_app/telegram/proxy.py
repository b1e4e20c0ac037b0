"""A way out to Telegram: a proxy URL parsed into what TelegramClient takes (issue 18, section 5).

One URL syntax for TELEGRAM_PROXY and the per-instance proxy:

- ``socks5://user:password@host:port`` and ``socks4://host:port`` (SOCKS, remote DNS),
- ``http://user:password@host:port`` (an HTTP proxy that allows CONNECT),
- ``mtproxy://SECRET@host:port`` (MTProxy; SECRET is 32 hexadecimal digits, optionally ``dd``-prefixed).

SOCKS and HTTP go through python-socks, the library Telethon itself uses for proxies; MTProxy is
Telethon's own connection class. Credentials and the MTProxy secret never leave a :class:`Proxy`
except through :meth:`Proxy.client_kwargs` and :meth:`Proxy.url` (stored encrypted): its repr, its
str and :meth:`Proxy.masked` show ``scheme://host:port`` only, and no refusal quotes the URL.

No Django models here: settings import this module to refuse a malformed TELEGRAM_PROXY at start-up.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, quote, urlsplit

from django.core.exceptions import ImproperlyConfigured
from python_socks import ProxyType, parse_proxy_url

SOCKS_AND_HTTP = ("socks5", "socks4", "http")
MTPROXY = "mtproxy"
SCHEMES = (*SOCKS_AND_HTTP, MTPROXY)
EXAMPLES = "socks5://user:password@proxy.example:1080, http://user:password@proxy.example:3128 or mtproxy://SECRET@proxy.example:443"

_HEX_SECRET = re.compile(r"(dd)?[0-9a-f]{32}")
_FAKE_TLS = re.compile(r"ee[0-9a-f]{32,}")


class ProxyInvalid(ValueError):
    """The URL is not a proxy teleconnect can use; the message says why without quoting it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Proxy:
    """One parsed proxy. Only scheme, host and port show in repr: the rest is secret."""

    scheme: str  # one of SCHEMES
    host: str
    port: int
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    secret: str = field(default="", repr=False)  # MTProxy: hexadecimal, as typed (dd kept)

    def masked(self) -> str:
        """``scheme://host:port``: what pages, audit and logs may show."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def __str__(self) -> str:
        return self.masked()

    def url(self) -> str:
        """The full URL, credentials included (to be stored encrypted); parse_proxy(url()) == self."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.scheme == MTPROXY:
            userinfo = f"{self.secret}@"
        elif self.username:
            userinfo = f"{quote(self.username, safe='')}:{quote(self.password, safe='')}@"
        else:
            userinfo = ""
        return f"{self.scheme}://{userinfo}{host}:{self.port}"

    def client_kwargs(self) -> dict[str, Any]:
        """TelegramClient keyword arguments: ``proxy`` (and ``connection`` for MTProxy)."""
        if self.scheme == MTPROXY:
            # Imported here: settings load this module, and Telethon need not load with them.
            from telethon.network.connection import ConnectionTcpMTProxyRandomizedIntermediate

            # The randomized (padded) intermediate transport is what dd-secrets demand, and MTProxy
            # servers accept it for plain secrets too.
            return {
                "connection": ConnectionTcpMTProxyRandomizedIntermediate,
                "proxy": (self.host, self.port, self.secret),
            }
        return {
            "proxy": {
                "proxy_type": ProxyType[self.scheme.upper()],
                "addr": self.host,
                "port": self.port,
                "username": self.username or None,
                "password": self.password or None,
                "rdns": True,
            }
        }


def parse_proxy(url: str) -> Proxy | None:
    """The proxy a URL names, None for an empty one (a direct connection); ProxyInvalid otherwise."""
    url = url.strip()
    if not url:
        return None
    parts = _split(url)
    host, port = _host_and_port(parts)
    if parts.scheme == MTPROXY:
        if parts.password is not None or not parts.username:
            raise ProxyInvalid(
                "An MTProxy URL carries its secret, and only the secret, before the @: mtproxy://SECRET@host:port."
            )
        return Proxy(scheme=MTPROXY, host=host, port=port, secret=_mtproxy_secret(parts.username))
    if bool(parts.username) != (parts.password is not None):
        raise ProxyInvalid(
            "Write the proxy's user name and password together (scheme://user:password@host:port), or neither."
        )
    proxy_type, addr, number, username, password = parse_proxy_url(url)
    return Proxy(
        scheme=proxy_type.name.lower(),
        host=addr,
        port=number,
        username=username or "",
        password=password or "",
    )


def proxy_setting(name: str, url: str) -> str:
    """A proxy URL from the environment, checked at start-up: ImproperlyConfigured names the variable."""
    try:
        parse_proxy(url)
    except ProxyInvalid as invalid:
        raise ImproperlyConfigured(f"{name} is not a proxy teleconnect can use: {invalid.message}") from None
    return url.strip()


def _split(url: str) -> SplitResult:
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "https":
        raise ProxyInvalid(
            "An https:// proxy (TLS to the proxy itself) is not supported: use an http:// proxy, which "
            "tunnels Telegram's own encrypted traffic with HTTP CONNECT, or a SOCKS5 one."
        )
    if scheme not in SCHEMES:
        raise ProxyInvalid(
            "A proxy URL starts with socks5://, socks4://, http:// or mtproxy://, for example " + EXAMPLES + "."
        )
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ProxyInvalid("This proxy URL cannot be read. Write it as, for example, " + EXAMPLES + ".") from None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ProxyInvalid("A proxy URL ends with host:port; remove what follows the port.")
    return parts


def _host_and_port(parts: SplitResult) -> tuple[str, int]:
    host = parts.hostname or ""
    if not host or any(c.isspace() for c in host):
        raise ProxyInvalid("The proxy's host is missing: write it as scheme://host:port.")
    try:
        port = parts.port
    except ValueError:
        raise ProxyInvalid("The proxy's port must be a number from 1 to 65535.") from None
    if port is None:
        raise ProxyInvalid("The proxy's port is missing: write it after the host, as host:port (e.g. :1080).")
    if not 1 <= port <= 65535:
        raise ProxyInvalid("The proxy's port must be a number from 1 to 65535.")
    return host, port


def _mtproxy_secret(secret: str) -> str:
    """The secret as lower-case hex (plain or dd); an ee (fake-TLS) secret is refused: Telethon cannot speak it."""
    hexed = secret.lower()
    if not re.fullmatch(r"[0-9a-f]+", hexed):
        try:  # secrets are also shared as (url-safe) base64
            raw = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        hexed = raw.hex()
    if _FAKE_TLS.fullmatch(hexed):
        raise ProxyInvalid(
            "This MTProxy secret starts with ee: it is a fake-TLS secret, which Telethon (the Telegram library "
            "teleconnect uses) cannot connect with. Ask the proxy's operator for its dd secret or plain secret, "
            "or use a SOCKS5 proxy."
        )
    if not _HEX_SECRET.fullmatch(hexed):
        raise ProxyInvalid(
            "An MTProxy secret is 32 hexadecimal digits, optionally prefixed with dd: mtproxy://SECRET@host:port."
        )
    return hexed
