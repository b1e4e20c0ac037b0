"""Demo-mode helpers for the pages: what a person would do on their phone, done by the demo Telegram."""

from __future__ import annotations

import base64

from django.conf import settings

from sessions_app.telegram.errors import TelegramError


def demo_available() -> bool:
    return (
        settings.TELEGRAM_DEMO and settings.TELEGRAM_CLIENT_FACTORY == "sessions_app.telegram.fake.demo_client_factory"
    )


def demo_approve_qr(*, qr_url: str, phone: str) -> None:
    """Scan the QR code "with the phone" of a demo account (only in demo mode)."""
    from sessions_app.telegram.fake import DemoTelegram

    if not demo_available():
        raise TelegramError("Simulated scanning only exists in demo mode.")
    token = qr_url.split("token=", 1)[-1]
    try:
        DemoTelegram.from_settings().approve_qr(
            base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)), phone.lstrip("+")
        )
    except (ValueError, LookupError) as exc:
        raise TelegramError(f"The demo Telegram refused the scan: {exc}") from None
