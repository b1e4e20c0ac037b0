"""Keeping session strings and other secrets out of every log line and every error report.

RedactSecretsFilter (on the log handlers) cleans the message, the exception text (the whole
traceback, exception messages included) and stack_info. SecretsExceptionReporterFilter
(DEFAULT_EXCEPTION_REPORTER_FILTER) hides, in error reports (debug page, admin emails), the local
variables that hold a secret by name or by value, in every frame, not only in the frames of
functions marked with sensitive_variables.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.views.debug import SafeExceptionReporterFilter

# A Telethon StringSession is "1" + url-safe base64 of ~263 bytes; Fernet tokens start "gAAAAA";
# an otpauth:// URL carries a TOTP secret; a Pyrogram / Kurigram session string is url-safe base64 of
# 271+ bytes (340+ characters, any first character).
_SECRET_PATTERNS = [
    # First a whole run of key-like text (a Pyrogram or Telethon string), from its first character: a
    # pattern that could start inside it (after a "-") would leave its head in the log.
    re.compile(r"(?<![A-Za-z0-9_=-])[A-Za-z0-9_-]{340,}={0,2}"),
    re.compile(r"\b1[A-Za-z0-9_=-]{200,}"),
    re.compile(r"gAAAAA[A-Za-z0-9_=-]{20,}"),
    re.compile(r"(phone_code_hash['\"]?\s*[:=]\s*['\"]?)[A-Za-z0-9_-]+", re.I),
    re.compile(r"otpauth://[^\s'\"<>]+", re.I),
    re.compile(r"((?:socks[45]|https?|mtproxy)://)[^\s/@'\"<>]+(?=@)", re.I),  # a proxy's credentials or secret
]
REDACTED = "[redacted]"

# Local variables that hold a secret whatever their value looks like (a 2FA password, a login code,
# a phone number, a TOTP token or key, an authorization key, packed or parsed session bytes).
SECRET_VARIABLE_NAMES = re.compile(
    r"^(password|code|phone|phone_code_hash|session_string|string|api_hash|token|otp_token|secret|key|bin_key"
    r"|auth_key|packed|payload)$",
    re.I,
)

_traceback_formatter = logging.Formatter()


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        # Formatters render exc_info into exc_text once and reuse it: filling it here, redacted,
        # means no handler prints the raw traceback (whose last line repeats the exception's text).
        if record.exc_info and not record.exc_text:
            record.exc_text = _traceback_formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class ExpectedHttpErrorsFilter(logging.Filter):
    """A 403 (role too low) or 404 the app raised on purpose is one line in the log, not a traceback.

    Django logs PermissionDenied with the exception attached; the reason goes into the line instead.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, (PermissionDenied, Http404)):
            reason = str(error)
            if reason:
                record.msg, record.args = f"{record.getMessage()} ({reason})", None
            record.exc_info, record.exc_text = None, None
        return True


class SecretsExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter (settings, request.POST under sensitive_post_parameters) plus secret locals anywhere."""

    # Django's list; PROXY (TELEGRAM_PROXY holds the proxy's credentials) and AUTHORIZATION (request.META's
    # bearer token: METRICS_TOKEN, API tokens).
    hidden_settings = re.compile("API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|PROXY|AUTHORIZATION", flags=re.I)

    def get_traceback_frame_variables(self, request: HttpRequest | None, tb_frame: Any) -> Any:
        # Unlike sensitive_variables, also with DEBUG on: a debug page must not show a secret either.
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [(name, self._clean_variable(name, value)) for name, value in variables]

    def _clean_variable(self, name: str, value: Any) -> Any:
        if SECRET_VARIABLE_NAMES.match(name) or _holds_secret(value):
            return self.cleansed_substitute
        return value


def _holds_secret(value: Any) -> bool:
    """A str with a secret in it; bytes, a container, a pydantic model or a dataclass whose text has one.

    A model's or dataclass's repr leaves out fields marked repr=False, so their fields are read too,
    and a key or field named like a secret (password, session_string, ...) with a value hides it all.
    """
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        return _holds_secret_flat(value)
    if not isinstance(value, (dict, list, tuple, set, frozenset)) and not _is_model(value):
        return False
    try:
        text = repr(value)
        return redact(text) != text or _named_secret_inside(value, depth=4)
    except Exception:  # noqa: BLE001 - a repr that fails must not break the report: hide the value instead
        return True


def _is_model(value: Any) -> bool:
    if isinstance(value, type):
        return False
    return dataclasses.is_dataclass(value) or hasattr(value, "model_dump")


def _fields_of(value: Any) -> dict[Any, Any] | None:
    if isinstance(value, dict):
        return value
    if _is_model(value):
        if dataclasses.is_dataclass(value):
            return {field.name: getattr(value, field.name, None) for field in dataclasses.fields(value)}
        return dict(vars(value))
    return None


def _named_secret_inside(value: Any, depth: int) -> bool:
    """A key or field named like a secret holding something, or a value with a secret, down to `depth` levels."""
    if depth < 0:
        return False
    fields = _fields_of(value)
    if fields is not None:
        for name, item in fields.items():
            if isinstance(name, str) and SECRET_VARIABLE_NAMES.match(name) and item not in (None, "", b""):
                return True
            if _holds_secret_flat(item) or _named_secret_inside(item, depth - 1):
                return True
        return False
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_holds_secret_flat(item) or _named_secret_inside(item, depth - 1) for item in list(value)[:1000])
    return False


def _holds_secret_flat(value: Any) -> bool:
    if isinstance(value, str):
        return redact(value) != value
    if isinstance(value, (bytes, bytearray, memoryview)):
        text = bytes(value).decode("latin-1")
        return redact(text) != text
    return False
