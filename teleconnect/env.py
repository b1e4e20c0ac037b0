"""Typed readers for settings that come from the environment.

Each reader returns the embedded default when the variable is unset or empty and raises
ImproperlyConfigured naming the variable when a value is present but malformed, so a typo
stops start-up instead of silently running with a default.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def env_str(name: str, default: str = "") -> str:
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool = False) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false, yes/no), got {value!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ImproperlyConfigured(f"{name} must be a finite number, got {value!r}")
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum:g}, got {number:g}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice_list(name: str, choices: Sequence[str], *, what: str = "value") -> list[str]:
    """Comma-separated names, each one of `choices` (default: all of them, in their order)."""
    names = env_list(name, list(choices))
    for item in names:
        if item not in choices:
            raise ImproperlyConfigured(
                f"{name} names an unknown {what}, {item!r}: use some of {', '.join(choices)} (comma-separated)"
            )
    return list(dict.fromkeys(names))


def env_secret(name: str, default: str = "") -> str:
    """Read NAME, or the contents of the file named by NAME_FILE (for Docker/K8s secrets)."""
    file_name = _raw(f"{name}_FILE")
    if file_name is not None:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"{name}_FILE points to {file_name!r}, which cannot be read: {exc.strerror}"
            ) from None
    return env_str(name, default)


def env_rate(name: str, default: str) -> tuple[int, int]:
    """A rate written as COUNT/SECONDS, e.g. 5/3600."""
    value = env_str(name, default)
    count, sep, seconds = value.partition("/")
    try:
        parsed = (int(count), int(seconds))
    except ValueError:
        parsed = (-1, -1)
    if not sep or parsed[0] < 1 or parsed[1] < 1:
        raise ImproperlyConfigured(
            f"{name} must look like COUNT/SECONDS with positive numbers (e.g. 5/3600), got {value!r}"
        )
    return parsed


# django-ninja's throttle rates: COUNT per second, minute, hour or day, or per a number of them (100/10m, 5/30).
_THROTTLE_RATE = re.compile(r"(?P<count>\d+)/(?P<times>\d*)(?P<unit>s|sec|m|min|h|hour|d|day)?")


def env_throttle_rate(name: str, default: str) -> str:
    """A django-ninja throttle rate, e.g. 300/m; returned as written, for ninja to parse."""
    value = env_str(name, default)
    match = _THROTTLE_RATE.fullmatch(value)
    if match is not None and match["unit"] is None and not match["times"]:
        match = None  # "5/": no period at all
    if match is None or int(match["count"]) < 1 or (match["times"] and int(match["times"]) < 1):
        raise ImproperlyConfigured(
            f"{name} must be a number of requests per s, m, h or d (e.g. 300/m, 5000/h or 100/10m), got {value!r}"
        )
    return value


def local_secret(path: Path, make: Callable[[], str]) -> str:
    """A secret generated once for a local, embedded-defaults install and kept in var/ (mode 0600)."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process (web or worker) started at the same moment
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)
    return value


def _http_url_problem(value: str) -> str:
    """What is wrong with an http(s) URL, "" when nothing. Never repeats the value (it may hold a token)."""
    parsed = urlsplit(value)
    if parsed.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    try:
        _ = parsed.port  # a port that is not a number raises here
    except ValueError:
        return "has a port that is not a number from 0 to 65535"
    if not parsed.hostname or any(ch.isspace() for ch in value):
        return "must be a URL with a host name and no spaces"
    return ""


def env_url(name: str, default: str = "") -> str:
    """An http(s) URL, e.g. https://teleconnect.example; the trailing slash is dropped."""
    value = _raw(name)
    if value is None:
        return default
    problem = _http_url_problem(value)
    if problem:
        raise ImproperlyConfigured(f"{name} {problem}")
    return value.rstrip("/")


def env_url_list(name: str) -> list[str]:
    """Comma-separated http(s) URLs; a malformed entry names the variable and the entry's position only."""
    urls = env_list(name, [])
    for position, url in enumerate(urls, start=1):
        problem = _http_url_problem(url)
        if problem:
            raise ImproperlyConfigured(f"{name} entry {position} {problem}")
    return urls


def env_email_list(name: str) -> list[str]:
    """Comma-separated email addresses."""
    addresses = env_list(name, [])
    for position, address in enumerate(addresses, start=1):
        try:
            validate_email(address)
        except ValidationError:
            raise ImproperlyConfigured(f"{name} entry {position} is not an email address: {address!r}") from None
    return addresses
