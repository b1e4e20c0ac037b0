# Archive media: ArchivedMedia (one row per Telegram file), the run's media plan, and messages pointing to their file.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0010_archive_pipeline")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.CreateModel(
            name="ArchivedMedia",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("file_id", models.BigIntegerField(help_text="Telegram's photo or document id")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("photo", "photos"),
                            ("document", "documents (files, audio, GIFs, stickers)"),
                            ("voice", "voice messages"),
                            ("video", "videos (and round video messages)"),
                        ],
                        max_length=10,
                    ),
                ),
                ("size", models.BigIntegerField(blank=True, null=True)),
                ("mime", models.CharField(blank=True, max_length=120)),
                ("file_name", models.CharField(blank=True, max_length=300)),
                ("store_key", models.CharField(blank=True, max_length=400)),
                (
                    "status",
                    models.CharField(
                        choices=[("pending", "not downloaded yet"), ("done", "stored"), ("failed", "failed")],
                        default="pending",
                        max_length=10,
                    ),
                ),
                ("error", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("downloaded_at", models.DateTimeField(blank=True, null=True)),
                (
                    "instance",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="sessions_app.connectorinstance",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("instance", "file_id"), name="one_media_per_telegram_file")
                ],
            },
        ),
        migrations.CreateModel(
            name="ArchiveRunMedia",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kinds", models.CharField(help_text="comma-separated MediaKind values", max_length=60)),
                ("max_bytes", models.BigIntegerField()),
                ("files_total", models.PositiveIntegerField(default=0)),
                ("files_done", models.PositiveIntegerField(default=0)),
                ("files_failed", models.PositiveIntegerField(default=0)),
                ("files_too_big", models.PositiveIntegerField(default=0)),
                ("bytes_done", models.BigIntegerField(default=0)),
                (
                    "run",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="media_plan",
                        to="sessions_app.archiverun",
                    ),
                ),
            ],
        ),
        migrations.AddField(
            model_name="message",
            name="archived_media",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="messages",
                to="sessions_app.archivedmedia",
            ),
        ),
    ]
