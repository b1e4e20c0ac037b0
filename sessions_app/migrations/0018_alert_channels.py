# Alert channels: each delivery stores its destination (encrypted) instead of a webhook URL's hash.
#
# Deliveries still waiting to be sent (pending or sending) get theirs here: an email's is its address
# (its target), a webhook's is the URL in ALERT_WEBHOOK_URLS with that hash. A webhook delivery whose
# URL is no longer configured cannot be sent anywhere: it is marked failed with a sentence saying so.
# Deliveries already delivered or failed are history and keep no destination.

import hashlib

from django.conf import settings
from django.db import migrations, models

import sessions_app.crypto

WAITING = ("pending", "sending")
URL_GONE = "queued before the upgrade to alert channels, for a webhook URL no longer in ALERT_WEBHOOK_URLS: not sent"


def _hash(url):
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def store_destinations(apps, schema_editor):
    AlertDelivery = apps.get_model("sessions_app", "AlertDelivery")
    urls = {_hash(url): url for url in settings.ALERT_WEBHOOK_URLS}
    for delivery in AlertDelivery.objects.filter(status__in=WAITING).order_by("pk"):
        if delivery.channel == "email":
            delivery.destination = delivery.target
        elif delivery.target_key in urls:
            delivery.destination = urls[delivery.target_key]
        else:
            delivery.status, delivery.last_error, delivery.claimed_until = "failed", URL_GONE, None
        delivery.save(update_fields=["destination", "status", "last_error", "claimed_until"])


def restore_target_keys(apps, schema_editor):
    AlertDelivery = apps.get_model("sessions_app", "AlertDelivery")
    for delivery in AlertDelivery.objects.filter(channel="webhook").order_by("pk"):
        try:
            url = delivery.destination
        except sessions_app.crypto.SecretUnreadable:
            continue  # no key decrypts it: the older code could not have sent it either
        if url:
            delivery.target_key = _hash(url)
            delivery.save(update_fields=["target_key"])


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0017_archive_network")]

    operations = [
        migrations.AddField(
            model_name="alertdelivery",
            name="destination",
            field=sessions_app.crypto.EncryptedTextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(store_destinations, restore_target_keys),
        migrations.RemoveField(model_name="alertdelivery", name="target_key"),
        migrations.AlterField(
            model_name="alertdelivery",
            name="channel",
            field=models.CharField(max_length=20),
        ),
    ]
