from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def product(request: HttpRequest) -> dict[str, object]:
    return {"telegram_demo": settings.TELEGRAM_DEMO}
