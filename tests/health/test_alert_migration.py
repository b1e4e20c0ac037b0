"""Migration 0018: deliveries queued before alert channels (a webhook's URL kept only as its hash) still go out.

A waiting webhook delivery gets the configured URL with its hash, a waiting email its address; a
webhook delivery whose URL left ALERT_WEBHOOK_URLS is failed with a sentence. Migrating back restores
the hashes.
"""

from __future__ import annotations

import hashlib

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from sessions_app.models_health import AlertDelivery, DeliveryStatus
from sessions_app.services.health.delivery import alerts_deliver_due

BEFORE = ("sessions_app", "0017_archive_network")


def _hash(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


@pytest.mark.django_db(transaction=True)
def test_deliveries_queued_before_the_upgrade_are_sent_or_failed_with_a_sentence(receiver, settings):
    gone = "https://hooks.example/removed/secret-token"
    try:
        call_command("migrate", *BEFORE, verbosity=0)
        old = MigrationExecutor(connection).loader.project_state(BEFORE).apps.get_model("sessions_app", "AlertDelivery")
        common = {"session": "prod-bot", "event": "connector_gone", "payload": {"text": "gone"}}
        now = timezone.now()
        queued = {
            "webhook": old.objects.create(
                channel="webhook",
                target="http://127.0.0.1:…",
                target_key=_hash(receiver.url),
                next_attempt_at=now,
                **common,
            ),
            "email": old.objects.create(channel="email", target="oncall@example.com", next_attempt_at=now, **common),
            "gone": old.objects.create(
                channel="webhook",
                target="https://hooks.example/…",
                target_key=_hash(gone),
                next_attempt_at=now,
                **common,
            ),
            "delivered": old.objects.create(
                channel="webhook",
                target="https://hooks.example/…",
                target_key=_hash(gone),
                status="delivered",
                next_attempt_at=now,
                **common,
            ),
        }
    finally:
        call_command("migrate", verbosity=0)

    migrated = {name: AlertDelivery.objects.get(pk=row.pk) for name, row in queued.items()}
    assert (migrated["webhook"].destination, migrated["email"].destination) == (receiver.url, "oncall@example.com")
    assert migrated["gone"].status == DeliveryStatus.FAILED and migrated["gone"].destination == ""
    assert migrated["gone"].last_error == (
        "queued before the upgrade to alert channels, for a webhook URL no longer in ALERT_WEBHOOK_URLS: not sent"
    )
    assert migrated["delivered"].status == DeliveryStatus.DELIVERED

    try:  # back: the hash is where the older code looks for it
        call_command("migrate", *BEFORE, verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, target_key FROM sessions_app_alertdelivery WHERE channel = 'webhook'")
            keys = dict(cursor.fetchall())
        assert keys[queued["webhook"].pk] == _hash(receiver.url)
    finally:
        call_command("migrate", verbosity=0)

    assert alerts_deliver_due() == 2
    assert [hook["text"] for hook in receiver.received] == ["gone"]
    assert AlertDelivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 3
