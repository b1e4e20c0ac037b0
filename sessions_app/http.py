"""The request views and admin actions actually get, for the type checker."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class AuthenticatedHttpRequest(HttpRequest):
    """An HttpRequest after the middleware ran: annotate views with it, never instantiate it.

    LoginRequiredMiddleware lets only signed-in users reach a view not marked login_not_required
    (and the admin only staff), so `user` is a User, never AnonymousUser; HtmxMiddleware sets `htmx`.
    """

    user: User
    htmx: HtmxDetails
