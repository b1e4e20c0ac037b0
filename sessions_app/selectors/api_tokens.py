"""Read queries for the tokens page: a user's own tokens only."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet

from sessions_app.models_api import ApiToken


def api_tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def api_token_of(user: User, token_id: int) -> ApiToken | None:
    return ApiToken.objects.filter(user=user, pk=token_id).first()
