"""Media of the archive: one row per Telegram file an instance's archive holds, and each run's media plan."""

from __future__ import annotations

from django.db import models

# Served inline (the dialog page's <img>); every other type is an attachment. Never SVG: it can carry script.
INLINE_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


class MediaKind(models.TextChoices):
    PHOTO = "photo", "photos"
    DOCUMENT = "document", "documents (files, audio, GIFs, stickers)"
    VOICE = "voice", "voice messages"
    VIDEO = "video", "videos (and round video messages)"


class MediaStatus(models.TextChoices):
    PENDING = "pending", "not downloaded yet"
    DONE = "done", "stored"
    FAILED = "failed", "failed"


class ArchivedMedia(models.Model):
    """A Telegram file (by its file id) stored at `store_key` once `status` is done.

    Messages point to it (Message.archived_media): the same file in several messages is downloaded
    and stored once. The row is "done" only after the store holds the whole file.
    """

    instance = models.ForeignKey("sessions_app.ConnectorInstance", on_delete=models.CASCADE, related_name="+")
    file_id = models.BigIntegerField(help_text="Telegram's photo or document id")
    kind = models.CharField(max_length=10, choices=MediaKind.choices)
    size = models.BigIntegerField(null=True, blank=True)
    mime = models.CharField(max_length=120, blank=True)
    file_name = models.CharField(max_length=300, blank=True)
    store_key = models.CharField(max_length=400, blank=True)
    status = models.CharField(max_length=10, choices=MediaStatus.choices, default=MediaStatus.PENDING)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["instance", "file_id"], name="one_media_per_telegram_file")]

    def __str__(self) -> str:
        return f"{self.kind} {self.file_id} ({self.status})"

    @property
    def is_image(self) -> bool:
        return self.mime in INLINE_IMAGE_TYPES


class ArchiveRunMedia(models.Model):
    """What a run downloads (kinds, size cap) and how far it got. No row: the run downloads no media."""

    run = models.OneToOneField("sessions_app.ArchiveRun", on_delete=models.CASCADE, related_name="media_plan")
    kinds = models.CharField(max_length=60, help_text="comma-separated MediaKind values")
    max_bytes = models.BigIntegerField()
    files_total = models.PositiveIntegerField(default=0)
    files_done = models.PositiveIntegerField(default=0)
    files_failed = models.PositiveIntegerField(default=0)
    files_too_big = models.PositiveIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"media of archive run {self.run_id}: {self.files_done} of {self.files_total}"

    @property
    def kind_list(self) -> list[str]:
        return [kind for kind in self.kinds.split(",") if kind]
