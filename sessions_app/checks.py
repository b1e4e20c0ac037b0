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


def _production() -> bool:
    """Production as the settings say it: DEBUG off and served over HTTPS (DJANGO_HTTPS=1)."""
    return not settings.DEBUG and bool(getattr(settings, "HTTPS", False))


@register(deploy=True)
def embedded_defaults_in_production_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """The embedded defaults run one machine; in production each one loses data or breaks scaling."""
    if not _production():
        return []
    found: list[CheckMessage] = []
    generated = getattr(settings, "GENERATED_SECRETS", [])
    if generated:
        names = " and ".join(generated)
        found.append(
            Warning(
                f"{names} {'is' if len(generated) == 1 else 'are'} not set: the server runs on keys it generated "
                f"into {settings.VAR_DIR}, which a new machine or container does not have (stored sessions "
                "become unreadable, every sign-in ends).",
                hint=f"Set {names} (or {names.replace(' and ', '_FILE and ')}_FILE) from your secret store.",
                id="teleconnect.W010",
            )
        )
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        found.append(
            Warning(
                "The database is SQLite: one file on one machine, and web processes and workers wait on its lock.",
                hint="Set DATABASE_URL to a PostgreSQL database (postgres://user:password@host/name).",
                id="teleconnect.W011",
            )
        )
    if not settings.AWS_S3_SESSION_BUCKET:
        found.append(
            Warning(
                "AWS_S3_SESSION_BUCKET is not set: session objects are files in SESSION_STORE_DIR on this machine, "
                "where the telegram-connector service cannot load them.",
                hint="Set AWS_S3_SESSION_BUCKET (and AWS_REGION, AWS_ACCESS_KEY, AWS_SECRET_KEY) to the connector's bucket.",
                id="teleconnect.W012",
            )
        )
    if settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer":
        found.append(
            Warning(
                "REDIS_URL is not set: the in-memory channel layer reaches only this process, so live updates "
                "miss pages served by other web processes and by the workers.",
                hint="Set REDIS_URL (redis://host:6379/0).",
                id="teleconnect.W013",
            )
        )
    return found
