"""`manage.py rotate_encryption_key` (issue 10, item 5): every secret re-encrypted under the first key.

The end-to-end path: secrets written under the old key -> SESSION_ENCRYPTION_KEY=new,old -> rotate
-> SESSION_ENCRYPTION_KEY=new alone -> every secret reads and every fingerprint still finds its key.
"""

from __future__ import annotations

import subprocess
import textwrap
from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client

from sessions_app.crypto import encrypted_fields, fingerprint
from sessions_app.models import AuditEvent, ConnectorInstance, LoginStep, PendingLogin, SendCodeAttempt
from sessions_app.models_health import InstanceHealth
from sessions_app.services.keys import key_fingerprint, key_owner
from tests.conftest import client_for, log_in
from tests.test_ops import manage

PHONE = "+9996621001"
PENDING_PHONE = "+9996631002"
API_HASH = "0123456789abcdef0123456789abcdef"
NEW = Fernet.generate_key().decode()

ENCRYPTED_COLUMNS = {
    "sessions_app_connectorinstance": ("session_string", "dashboard_session", "phone", "api_hash"),
    "sessions_app_pendinglogin": ("session_string", "phone", "phone_code_hash", "qr_url"),
}


def raw_tokens() -> dict[str, str]:
    """Every non-empty encrypted column as stored, keyed "table.column.pk"."""
    found = {}
    with connection.cursor() as cursor:
        for table, columns in ENCRYPTED_COLUMNS.items():
            cursor.execute(f"SELECT id, {', '.join(columns)} FROM {table}")  # noqa: S608 - fixed names
            for pk, *values in cursor.fetchall():
                found.update({f"{table}.{column}.{pk}": v for column, v in zip(columns, values, strict=True) if v})
    return found


@pytest.fixture
def written_under_the_old_key(telegram, instance, owner, settings):
    """An instance logged in (both keys, phone, API hash), a pending QR login on a second one, a send-code attempt."""
    instance.phone = PHONE
    instance.api_id, instance.api_hash = 12345, API_HASH
    instance = log_in(instance)
    other = ConnectorInstance.objects.create(session="second-bot", name="Second")
    PendingLogin.objects.create(
        instance=other,
        step=LoginStep.QR,
        session_string="1pending-key",
        phone=PENDING_PHONE,
        phone_code_hash="code-hash",
        qr_url="tg://login?token=abc",
    )
    SendCodeAttempt.objects.create(instance=instance, phone_fingerprint=fingerprint(PHONE))
    SendCodeAttempt.objects.create(instance=other, phone_fingerprint=fingerprint(PENDING_PHONE))
    InstanceHealth.objects.create(
        instance=instance, object_etag='"etag"', object_key_fingerprint=instance.connector_key_fingerprint
    )
    return instance, settings.SESSION_ENCRYPTION_KEYS[0]


def rotate(*args: str) -> str:
    out = StringIO()
    call_command("rotate_encryption_key", *args, stdout=out)
    return out.getvalue()


def test_every_encrypted_field_of_every_model_is_found_through_the_registry():
    found = {f"{model._meta.label}.{f.attname}" for model, fields in encrypted_fields() for f in fields}
    assert found >= {
        "sessions_app.ConnectorInstance.session_string",
        "sessions_app.ConnectorInstance.dashboard_session",
        "sessions_app.ConnectorInstance.api_hash",
        "sessions_app.ConnectorInstance.phone",
        "sessions_app.PendingLogin.session_string",
        "sessions_app.PendingLogin.phone",
        "sessions_app.PendingLogin.phone_code_hash",
        "sessions_app.PendingLogin.qr_url",
    }


def test_it_rotates_to_the_new_key_so_the_old_one_can_be_dropped(written_under_the_old_key, settings):
    instance, old = written_under_the_old_key
    before = raw_tokens()
    updated_at = instance.updated_at
    settings.SESSION_ENCRYPTION_KEYS = [NEW, old]

    output = rotate()

    assert "Re-encrypted 8 secrets under the first key:" in output
    assert "sessions_app.ConnectorInstance.session_string: 1" in output
    assert "sessions_app.PendingLogin.qr_url: 1" in output
    assert "Fingerprints recomputed: 2 auth key, 2 phone; 1 store object(s)" in output
    after = raw_tokens()
    assert after.keys() == before.keys()
    for name, token in after.items():
        assert token != before[name]
        Fernet(NEW.encode()).decrypt(token.encode())  # readable with the new key alone
        with pytest.raises(InvalidToken):
            Fernet(old.encode()).decrypt(token.encode())

    settings.SESSION_ENCRYPTION_KEYS = [NEW]
    fresh = ConnectorInstance.objects.get(pk=instance.pk)
    assert fresh.session_string == instance.session_string
    assert fresh.dashboard_session == instance.dashboard_session
    assert (fresh.phone, fresh.api_hash) == (PHONE, API_HASH)
    assert fresh.updated_at == updated_at
    pending = PendingLogin.objects.get(instance__session="second-bot")
    assert (pending.session_string, pending.phone, pending.phone_code_hash, pending.qr_url) == (
        "1pending-key",
        PENDING_PHONE,
        "code-hash",
        "tg://login?token=abc",
    )
    # The fingerprints stand for the same keys and phones under the key that now keys them.
    assert fresh.connector_key_fingerprint == key_fingerprint(instance.session_string)
    assert fresh.dashboard_key_fingerprint == key_fingerprint(instance.dashboard_session)
    assert key_owner(session_string=instance.session_string) == fresh
    assert key_owner(session_string=instance.dashboard_session) == fresh
    assert SendCodeAttempt.objects.filter(phone_fingerprint=fingerprint(PHONE)).count() == 1
    assert SendCodeAttempt.objects.filter(phone_fingerprint=fingerprint(PENDING_PHONE)).count() == 1
    health = InstanceHealth.objects.get(instance=instance)
    assert (health.object_etag, health.object_key_fingerprint) == ("", "")
    assert Client().get("/healthz").json()["secrets"] == "ok"
    assert client_for(instance.created_by).get("/instances/prod-bot/").status_code == 200
    assert AuditEvent.objects.filter(action="encryption.rotate", detail__secrets=8).exists()


def test_the_dashboard_keeps_working_between_the_new_key_list_and_the_rotation(written_under_the_old_key, settings):
    instance, old = written_under_the_old_key
    settings.SESSION_ENCRYPTION_KEYS = [NEW, old]
    assert ConnectorInstance.objects.get(pk=instance.pk).session_string == instance.session_string
    assert Client().get("/healthz").json()["secrets"] == "ok"


def test_running_it_again_changes_no_fingerprint(written_under_the_old_key, settings):
    _, old = written_under_the_old_key
    settings.SESSION_ENCRYPTION_KEYS = [NEW, old]
    rotate()
    settings.SESSION_ENCRYPTION_KEYS = [NEW]
    output = rotate()
    assert "Re-encrypted 8 secrets" in output
    assert "Fingerprints recomputed: 0 auth key, 0 phone; 0 store object(s)" in output


def test_it_refuses_and_changes_nothing_when_a_secret_decrypts_with_no_configured_key(
    written_under_the_old_key, settings
):
    instance, old = written_under_the_old_key
    before = raw_tokens()
    fingerprints = (instance.connector_key_fingerprint, instance.dashboard_key_fingerprint)
    settings.SESSION_ENCRYPTION_KEYS = [NEW]  # the old key was dropped before rotating

    with pytest.raises(CommandError) as refusal:
        rotate()

    message = str(refusal.value)
    assert message.startswith("Nothing was changed: 8 stored secrets cannot be decrypted with any configured key")
    assert "sessions_app.ConnectorInstance.session_string ×1" in message
    assert "SESSION_ENCRYPTION_KEY no longer contains the key they were written with" in message
    assert old not in message and instance.session_string not in message
    assert raw_tokens() == before
    settings.SESSION_ENCRYPTION_KEYS = [old]
    fresh = ConnectorInstance.objects.get(pk=instance.pk)
    assert (fresh.connector_key_fingerprint, fresh.dashboard_key_fingerprint) == fingerprints
    assert not AuditEvent.objects.filter(action="encryption.rotate").exists()


def test_it_refuses_when_only_one_secret_is_unreadable_and_rotates_none(written_under_the_old_key, settings):
    instance, old = written_under_the_old_key
    stranger = Fernet(Fernet.generate_key()).encrypt(b"+4470000000").decode()
    ConnectorInstance.objects.filter(pk=instance.pk).update(phone=_stored(stranger))
    before = raw_tokens()
    settings.SESSION_ENCRYPTION_KEYS = [NEW, old]

    with pytest.raises(CommandError, match=r"1 stored secret cannot be decrypted .*ConnectorInstance\.phone ×1"):
        rotate()
    assert raw_tokens() == before


def test_a_dry_run_counts_and_writes_nothing(written_under_the_old_key, settings):
    _, old = written_under_the_old_key
    before = raw_tokens()
    settings.SESSION_ENCRYPTION_KEYS = [NEW, old]
    output = rotate("--dry-run")
    assert "Would re-encrypt 8 secrets" in output and "Dry run: nothing was written." in output
    assert raw_tokens() == before


def _stored(token: str):
    from sessions_app.crypto import StoredToken

    return StoredToken(token)


# --- Through the environment, as an operator runs it ------------------------------------------------

_WRITE = textwrap.dedent(
    """
    from sessions_app.models import ConnectorInstance
    ConnectorInstance.objects.create(session="env-bot", name="Env", phone="+9996621001", session_string="1secret")
    """
)
_READ = textwrap.dedent(
    """
    from sessions_app.models import ConnectorInstance
    i = ConnectorInstance.objects.get(session="env-bot")
    print(i.phone, i.session_string)
    """
)


@pytest.mark.slow
def test_an_operator_rotates_through_session_encryption_key_and_drops_the_old_key(tmp_path):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()

    def run(keys: str, *args: str) -> subprocess.CompletedProcess[str]:
        result = manage(tmp_path, *args, SESSION_ENCRYPTION_KEY=keys)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    run(old, "migrate", "--verbosity", "0")
    run(old, "shell", "-c", _WRITE)
    refused = manage(tmp_path, "rotate_encryption_key", SESSION_ENCRYPTION_KEY=new)
    assert refused.returncode != 0 and "Nothing was changed: 2 stored secrets" in refused.stderr
    assert "Re-encrypted 2 secrets" in run(f"{new},{old}", "rotate_encryption_key").stdout
    assert run(new, "shell", "--no-imports", "-c", _READ).stdout.strip() == "+9996621001 1secret"
