"""A logging filter that keeps session strings and other secrets out of every log line."""

from __future__ import annotations

import logging
import re

# A Telethon StringSession is "1" + url-safe base64 of ~263 bytes; Fernet tokens start "gAAAAA".
_SECRET_PATTERNS = [
    re.compile(r"\b1[A-Za-z0-9_=-]{200,}"),
    re.compile(r"gAAAAA[A-Za-z0-9_=-]{20,}"),
    re.compile(r"(phone_code_hash['\"]?\s*[:=]\s*['\"]?)[A-Za-z0-9]+", re.I),
]
REDACTED = "[redacted]"


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
        return True
