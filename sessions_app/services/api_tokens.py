"""Personal API tokens: made (shown once), used, revoked. Only a token's SHA-256 is ever stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from sessions_app.models_api import ApiToken
from sessions_app.services.audit import audit_record
from sessions_app.services.errors import ActionRefused

# Not a secret: the start every token shares, recognisable in a leaked file or a secret scanner's rules.
TOKEN_PREFIX = "tc_"  # noqa: S105
TOKEN_NAME_MAX_LENGTH = 100
EXPIRES_DAYS_MAX = 365
# A token's last use is written at most this often: a busy script does not write on every request.
LAST_USE_PRECISION = timedelta(minutes=1)


class TokenRefused(ActionRefused):
    field = "name"


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the whole token: shown once, never stored


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@sensitive_variables("secret")
@transaction.atomic
def api_token_create(*, user: User, name: str, expires_days: int | None, via: str = "web") -> NewToken:
    """A new token acting as `user`; `expires_days` None means it never expires (until revoked)."""
    name = name.strip()
    if not name:
        raise TokenRefused("Give the token a name that says where it is used, e.g. “CI deploy”.")
    if len(name) > TOKEN_NAME_MAX_LENGTH:
        raise TokenRefused(f"Keep the name to {TOKEN_NAME_MAX_LENGTH} characters or fewer.")
    if expires_days is not None and not 1 <= expires_days <= EXPIRES_DAYS_MAX:
        refusal = TokenRefused(f"A token lasts from 1 to {EXPIRES_DAYS_MAX} days (leave it empty for no expiry).")
        refusal.field = "expires_days"
        raise refusal
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=secret[:8],
        digest=token_digest(secret),
        created_at=now,
        expires_at=now + timedelta(days=expires_days) if expires_days is not None else None,
    )
    audit_record(
        instance=None,
        actor=user,
        action="api_token.create",
        detail={"token": name, "token_id": token.pk, "expires_days": expires_days, "via": via},
    )
    return NewToken(token=token, secret=secret)


@transaction.atomic
def api_token_revoke(*, user: User, token: ApiToken) -> ApiToken:
    """Revoked at once: the next request with it gets 401. Revoking twice changes nothing."""
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        instance=None, actor=user, action="api_token.revoke", detail={"token": token.name, "token_id": token.pk}
    )
    return token


@sensitive_variables("secret")
def api_token_authenticate(*, secret: str) -> ApiToken | None:
    """The usable token (with its user) for a bearer secret, its last use noted; None for any other."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(digest=token_digest(secret)).first()
    now = timezone.now()
    if token is None or not token.usable(now) or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USE_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
