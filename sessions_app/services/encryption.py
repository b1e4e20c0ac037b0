"""Encryption key rotation: every stored secret re-encrypted under the first SESSION_ENCRYPTION_KEY.

Fingerprints (HMACs for finding equal auth keys and phone numbers without storing them) are keyed
with that same first key (sessions_app.crypto.fingerprint), so the rotation recomputes them too:
afterwards nothing in the database depends on the older keys, which can then be dropped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.db import models, transaction

from sessions_app.crypto import UNREADABLE_BECAUSE, StoredSecret, StoredToken, fernet, fingerprint, stored_secrets
from sessions_app.models import ConnectorInstance, PendingLogin, SendCodeAttempt
from sessions_app.models_health import InstanceHealth
from sessions_app.services.audit import audit_record
from sessions_app.services.keys import key_fingerprint
from sessions_app.telegram.errors import SessionMalformed

# The instance's secret and the fingerprint of the auth key inside it.
_KEY_FINGERPRINTS = (
    ("session_string", "connector_key_fingerprint"),
    ("dashboard_session", "dashboard_key_fingerprint"),
)


class SecretsUnreadable(Exception):
    """Some stored secrets decrypt with no configured key: nothing was rotated."""

    def __init__(self, unreadable: list[StoredSecret]) -> None:
        self.unreadable = unreadable
        where = ", ".join(f"{label} ×{count}" for label, count in sorted(Counter(s.label for s in unreadable).items()))
        noun = "stored secret cannot" if len(unreadable) == 1 else "stored secrets cannot"
        self.message = (
            f"Nothing was changed: {len(unreadable)} {noun} be decrypted with any configured key ({where}): "
            f"{UNREADABLE_BECAUSE}, then run the command again."
        )
        super().__init__(self.message)


@dataclass
class Rotation:
    """What a rotation did: secrets re-encrypted per model field, fingerprints recomputed."""

    secrets: Counter[str] = field(default_factory=Counter)
    key_fingerprints: int = 0
    phone_fingerprints: int = 0
    health_objects_forgotten: int = 0

    @property
    def total(self) -> int:
        return sum(self.secrets.values())


@transaction.atomic
def encryption_key_rotate(*, dry_run: bool = False) -> Rotation:
    """Re-encrypt every secret (every EncryptedTextField of every model) under the first key.

    All or nothing, in one transaction: SecretsUnreadable, before anything is written, when a
    secret decrypts with no configured key. dry_run checks and counts, then rolls back.
    """
    multi = fernet()
    rotation = Rotation()
    rewritten: dict[tuple[type[models.Model], object], dict[str, StoredToken]] = {}
    unreadable: list[StoredSecret] = []
    for secret in stored_secrets(for_update=True):
        try:
            token = multi.rotate(secret.token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            unreadable.append(StoredSecret(model=secret.model, pk=secret.pk, field=secret.field))
            continue
        rewritten.setdefault((secret.model, secret.pk), {})[secret.field] = StoredToken(token)
        rotation.secrets[secret.label] += 1
    if unreadable:
        raise SecretsUnreadable(unreadable)
    for (model, pk), values in rewritten.items():
        # update(), not save(): no auto_now field moves, no signal fires; StoredToken goes in as is.
        model._base_manager.filter(pk=pk).update(**values)
    rotation.key_fingerprints = _recompute_key_fingerprints()
    rotation.phone_fingerprints = _recompute_phone_fingerprints()
    rotation.health_objects_forgotten = _forget_stale_object_fingerprints()
    if dry_run:
        transaction.set_rollback(True)
    else:
        audit_record(
            instance=None,
            actor=None,
            action="encryption.rotate",
            detail={"secrets": rotation.total, "key_fingerprints": rotation.key_fingerprints},
        )
    return rotation


def _recompute_key_fingerprints() -> int:
    changed = 0
    instances = ConnectorInstance.objects.select_for_update().only(
        "pk", *(name for pair in _KEY_FINGERPRINTS for name in pair)
    )
    for instance in instances.order_by("pk"):
        values = {}
        for secret_field, fingerprint_field in _KEY_FINGERPRINTS:
            current, secret = getattr(instance, fingerprint_field), getattr(instance, secret_field)
            if current is None or not secret:
                continue  # only fingerprints that exist are recomputed, from the key they stand for
            try:
                recomputed = key_fingerprint(secret)
            except SessionMalformed:
                continue
            if recomputed != current:
                values[fingerprint_field] = recomputed
        if values:
            ConnectorInstance.objects.filter(pk=instance.pk).update(**values)
            changed += len(values)
    return changed


def _recompute_phone_fingerprints() -> int:
    """Send-code attempts of a phone the database still holds move to the new fingerprint.

    Attempts of phones it no longer holds keep theirs; they only count towards the send-code
    limit for LOGIN_SEND_CODE_RATE's window anyway.
    """
    phones = {p for p in ConnectorInstance.objects.values_list("phone", flat=True) if p}
    phones |= {p for p in PendingLogin.objects.values_list("phone", flat=True) if p}
    older_keys = settings.SESSION_ENCRYPTION_KEYS[1:]
    moved = 0
    for phone in phones:
        new = fingerprint(phone)
        old = {fingerprint(phone, key=key) for key in older_keys} - {new}
        if old:
            moved += SendCodeAttempt.objects.filter(phone_fingerprint__in=old).update(phone_fingerprint=new)
    return moved


def _forget_stale_object_fingerprints() -> int:
    """A health check's remembered fingerprint of the store object is forgotten unless it is current.

    The next check then reads the object again (one GET) instead of comparing old-key and new-key
    fingerprints and reporting a change that did not happen.
    """
    forgotten = 0
    for health in (
        InstanceHealth.objects.select_for_update().exclude(object_key_fingerprint="").select_related("instance")
    ):
        if health.object_key_fingerprint == health.instance.connector_key_fingerprint:
            continue
        InstanceHealth.objects.filter(pk=health.pk).update(object_etag="", object_key_fingerprint="")
        forgotten += 1
    return forgotten
