from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured


@register()
def telegram_client_factory_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    from sessions_app.telegram.client import client_factory

    try:
        client_factory()
    except ImproperlyConfigured as exc:
        return [
            Error(
                str(exc),
                hint="Set TELEGRAM_CLIENT_FACTORY to a dotted path of "
                "factory(session, *, api_id, api_hash, **client_kwargs).",
                id="teleconnect.E001",
            )
        ]
    return []


@register(deploy=True)
def demo_telegram_in_production_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    if settings.TELEGRAM_DEMO:
        return [
            Warning("TELEGRAM_API_ID is not set: the dashboard runs against the demo Telegram.", id="teleconnect.W001")
        ]
    return []
