"""A secret that cannot be decrypted becomes one clear page, not a bare 500.

The field raises SecretUnreadable only where a secret is read (sessions_app.crypto), so pages
that need none keep working; the ones that do get this page, which names the missing key
setting and never a value.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.deprecation import MiddlewareMixin

from sessions_app.crypto import SecretUnreadable

logger = logging.getLogger(__name__)


class SecretUnreadableMiddleware(MiddlewareMixin):
    """Answers 503 with the sentence from SecretUnreadable when a view or template raised it.

    MiddlewareMixin: runs in sync and async mode alike, so an ASGI request stays async.
    """

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, SecretUnreadable):
            return None
        logger.error("%s %s: %s", request.method, request.path, exception.message)
        return render(request, "secrets_unreadable.html", {"message": exception.message}, status=503)
