"""Keeping session strings and other secrets out of every log line and every error report.

RedactSecretsFilter (on the log handlers) cleans the message, the exception text (the whole
traceback, exception messages included) and stack_info. SecretsExceptionReporterFilter
(DEFAULT_EXCEPTION_REPORTER_FILTER) hides, in error reports (debug page, admin emails), the local
variables that hold a secret by name or by value, in every frame, not only in the frames of
functions marked with sensitive_variables.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.views.debug import SafeExceptionReporterFilter

# A Telethon StringSession is "1" + url-safe base64 of ~263 bytes; Fernet tokens start "gAAAAA";
# an otpauth:// URL carries a TOTP secret.
_SECRET_PATTERNS = [
    re.compile(r"\b1[A-Za-z0-9_=-]{200,}"),
    re.compile(r"gAAAAA[A-Za-z0-9_=-]{20,}"),
    re.compile(r"(phone_code_hash['\"]?\s*[:=]\s*['\"]?)[A-Za-z0-9_-]+", re.I),
    re.compile(r"otpauth://[^\s'\"<>]+", re.I),
    re.compile(r"((?:socks[45]|https?|mtproxy)://)[^\s/@'\"<>]+(?=@)", re.I),  # a proxy's credentials or secret
]
REDACTED = "[redacted]"

# Local variables that hold a secret whatever their value looks like (a 2FA password, a login code,
# a phone number, a TOTP token or key).
SECRET_VARIABLE_NAMES = re.compile(
    r"^(password|code|phone|phone_code_hash|session_string|string|api_hash|token|otp_token|secret|key|bin_key)$",
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
        if SECRET_VARIABLE_NAMES.match(name) or (isinstance(value, str) and redact(value) != value):
            return self.cleansed_substitute
        return value
