"""Secrets at rest: Fernet with key rotation (SESSION_ENCRYPTION_KEY, first key encrypts).

A row whose secret no configured key decrypts still loads: the field holds the token as stored
(StoredToken), reading the attribute raises SecretUnreadable, and saving the row writes the token
back unchanged. So pages that never read a secret keep working when a key goes missing, pages
that do read one fail with one clear sentence (sessions_app.secrets_errors), and nothing is lost.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Expression, ExpressionWrapper, F
from django.db.models.query_utils import DeferredAttribute

# What is wrong and what to do, for pages, /healthz and the rotate command. Names no key.
UNREADABLE_BECAUSE = (
    "SESSION_ENCRYPTION_KEY no longer contains the key they were written with; "
    "restore it (keys can be listed comma-separated, newest first)"
)
SECRETS_UNREADABLE = f"Stored secrets cannot be decrypted: {UNREADABLE_BECAUSE}."


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with any configured key."""

    def __init__(self, message: str = SECRETS_UNREADABLE) -> None:
        super().__init__(message)
        self.message = message


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.SESSION_ENCRYPTION_KEYS))


def encrypt(plain: str) -> str:
    return fernet().encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise SecretUnreadable() from None


def fingerprint(value: str, *, key: str | None = None) -> str:
    """A keyed hash, for finding equal values (e.g. a phone number) without storing them.

    Keyed with the first (encrypting) key, so rotate_encryption_key, which re-encrypts every secret
    under that key, recomputes the stored fingerprints in the same run: afterwards nothing depends
    on the older keys and they can be dropped.
    """
    secret = (key or settings.SESSION_ENCRYPTION_KEYS[0]).encode("ascii")
    return hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()


class StoredToken:
    """A Fernet token as it is stored, written back unchanged when the row is saved.

    It stands in for a value no configured key decrypts, and carries already-encrypted tokens
    in rotation. Never shows the token in a repr.
    """

    __slots__ = ("token",)

    def __init__(self, token: str) -> None:
        self.token = token

    def __repr__(self) -> str:
        return "<StoredToken>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StoredToken) and other.token == self.token

    def __hash__(self) -> int:
        return hash(self.token)


class _SecretAttribute(DeferredAttribute):
    """Raises SecretUnreadable when the loaded value is a token no key decrypts."""

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        value = super().__get__(instance, cls)
        if isinstance(value, StoredToken):
            raise SecretUnreadable()
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        # A data descriptor, so reads always pass through __get__ above.
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.TextField):
    """A text column stored as a Fernet token; Python code only ever sees the plain value.

    Never rendered by admin (editable=False) and never included in the model's repr.
    """

    descriptor_class = _SecretAttribute

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def from_db_value(
        self, value: str | None, expression: Expression, connection: BaseDatabaseWrapper
    ) -> str | StoredToken | None:
        if value is None or value == "":
            return value
        try:
            return decrypt(value)
        except SecretUnreadable:
            return StoredToken(value)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        # The raw attribute: an unreadable token is saved back as it is instead of raising.
        if self.attname in model_instance.__dict__:
            return model_instance.__dict__[self.attname]
        return super().pre_save(model_instance, add)

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, StoredToken):
            return value.token
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)


def secret_is_set(instance: models.Model, name: str) -> bool:
    """Whether the encrypted field `name` holds a value, without needing to decrypt it."""
    if name not in instance.__dict__:  # deferred: read it without going through the raising attribute
        rows = list(type(instance)._base_manager.filter(pk=instance.pk).values_list(name, flat=True)[:1])
        if not rows:
            return False
        instance.__dict__[name] = rows[0]
    value = instance.__dict__[name]
    return isinstance(value, StoredToken) or bool(value)


def unreadable_fields(instance: models.Model) -> list[str]:
    """The loaded encrypted fields of `instance` that no configured key decrypts."""
    return [
        f.attname
        for f in instance._meta.concrete_fields
        if isinstance(f, EncryptedTextField) and isinstance(instance.__dict__.get(f.attname), StoredToken)
    ]


# --- Every secret in the database (the rotate command and /healthz) ---------------------------------


def encrypted_fields() -> list[tuple[type[models.Model], list[EncryptedTextField]]]:
    """Every model with EncryptedTextFields (found through the app registry) and those fields."""
    from django.apps import apps

    found = []
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        fields = [f for f in model._meta.local_concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            found.append((model, fields))
    return found


@dataclass(frozen=True)
class StoredSecret:
    """One non-empty encrypted column of one row, as stored (the token, not the plain value)."""

    model: type[models.Model]
    pk: Any
    field: str
    token: str = ""

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field}"


def stored_secrets(*, for_update: bool = False) -> Iterator[StoredSecret]:
    """Every non-empty secret in the database, read as stored (no decryption)."""
    for model, fields in encrypted_fields():
        # Through a plain TextField: no from_db_value, so the column comes back as stored.
        raw = [ExpressionWrapper(F(f.attname), output_field=models.TextField()) for f in fields]
        queryset = model._base_manager.order_by("pk")
        if for_update:
            queryset = queryset.select_for_update()
        for row in queryset.values_list("pk", *raw).iterator(chunk_size=500):
            pk, tokens = row[0], row[1:]
            for field, token in zip(fields, tokens, strict=True):
                if token:
                    yield StoredSecret(model=model, pk=pk, field=field.attname, token=token)


def readable(token: str) -> bool:
    try:
        fernet().decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeError):
        return False
    return True


def unreadable_secrets() -> list[StoredSecret]:
    """The stored secrets no configured key decrypts (tokens left out)."""
    return [StoredSecret(model=s.model, pk=s.pk, field=s.field) for s in stored_secrets() if not readable(s.token)]
