# The security watch: the account's own states (banned, frozen) as health results; what the checks
# last saw of each watched account (AccountWatch) and its authorizations (WatchedAuthorization).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

HEALTH_CHOICES = [
    ("unknown", "not checked yet"),
    ("healthy", "healthy"),
    ("idle", "nothing to watch"),
    ("connector_gone", "connector session gone"),
    ("object_changed", "object changed outside the dashboard"),
    ("dashboard_key_lost", "dashboard key lost"),
    ("unreachable", "store or Telegram unreachable"),
    ("account_banned", "account banned or deleted"),
    ("account_frozen", "account frozen"),
    ("busy", "not checked: instance busy"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0019_instance_proxy"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="healthcheck",
            name="result",
            field=models.CharField(choices=HEALTH_CHOICES, max_length=20),
        ),
        migrations.AlterField(
            model_name="instancehealth",
            name="state",
            field=models.CharField(choices=HEALTH_CHOICES, default="unknown", max_length=20),
        ),
        migrations.CreateModel(
            name="AccountWatch",
            fields=[
                (
                    "instance",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="account_watch",
                        serialize=False,
                        to="sessions_app.connectorinstance",
                    ),
                ),
                ("connector_key_fingerprint", models.CharField(blank=True, max_length=64)),
                ("baseline_at", models.DateTimeField(blank=True, null=True)),
                ("connector_country", models.CharField(blank=True, max_length=100)),
                ("two_step", models.BooleanField(blank=True, null=True)),
                ("recovery_email", models.BooleanField(blank=True, null=True)),
                ("login_email", models.CharField(blank=True, max_length=200)),
                ("email_pending", models.CharField(blank=True, max_length=200)),
                ("reset_pending", models.DateTimeField(blank=True, null=True)),
                ("security_seen_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name="WatchedAuthorization",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("authorization_hash", models.BigIntegerField()),
                (
                    "origin",
                    models.CharField(
                        choices=[
                            ("baseline", "present when the watch began or after a login"),
                            ("own", "this instance's connector or dashboard"),
                            ("new", "new since the baseline"),
                            ("marked", "marked as known before a check saw it"),
                        ],
                        max_length=10,
                    ),
                ),
                ("first_seen_at", models.DateTimeField()),
                ("description", models.CharField(blank=True, max_length=300)),
                ("alerted_at", models.DateTimeField(blank=True, null=True)),
                ("known_at", models.DateTimeField(blank=True, null=True)),
                (
                    "instance",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="watched_authorizations",
                        to="sessions_app.connectorinstance",
                    ),
                ),
                (
                    "known_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["instance", "first_seen_at", "id"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("instance", "authorization_hash"), name="watched_authorization_once"
                    )
                ],
            },
        ),
    ]
