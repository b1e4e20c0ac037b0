"""teleconnect's data: connector instances, their pending logins, team roles, audit, leases."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Value
from django.db.models.functions import Concat, Lower
from django.utils import timezone

from sessions_app.crypto import (
    SECRETS_UNREADABLE,
    EncryptedTextField,
    SecretUnreadable,
    secret_is_set,
    unreadable_fields,
)
from sessions_app.storage.base import SESSION_NAME_HELP, SESSION_NAME_PATTERN, session_key

session_name_validator = RegexValidator(rf"^{SESSION_NAME_PATTERN}$", message=f"Use {SESSION_NAME_HELP}")

LIST_SEPARATOR = "\x1f"  # the unit separator: in no name, so no search spans two fields
_LIST_FIELDS = ("session", Value(LIST_SEPARATOR), "name", Value(LIST_SEPARATOR), "telegram_name", Value("\x1f@"))
LIST_SEARCH_TEXT = Lower(Concat(*_LIST_FIELDS, "telegram_username"))


def session_object_storage() -> Storage:
    from sessions_app.storage import get_session_storage

    store = get_session_storage()
    assert isinstance(store, Storage)  # every SessionStore backend is also a Django storage
    return store


class InstanceStatus(models.TextChoices):
    NEW = "new", "new"
    CODE_SENT = "code_sent", "code sent"
    PASSWORD_NEEDED = "password_needed", "password needed"
    ACTIVE = "active", "active"
    UNSAVED = "unsaved", "active, not saved to the store"
    EXPIRED = "expired", "expired"
    REVOKED = "revoked", "revoked"
    ERROR = "error", "error"


class ConnectorInstance(models.Model):
    session = models.CharField(
        "SESSION namespace",
        max_length=64,
        unique=True,
        validators=[session_name_validator],
        help_text=SESSION_NAME_HELP,
    )
    name = models.CharField("display name", max_length=200)
    api_id = models.PositiveIntegerField("API id override", null=True, blank=True)
    api_hash = EncryptedTextField("API hash override")
    status = models.CharField(max_length=20, choices=InstanceStatus.choices, default=InstanceStatus.NEW)
    phone = EncryptedTextField()
    session_string = EncryptedTextField()
    telegram_user_id = models.BigIntegerField(null=True, blank=True, editable=False)
    telegram_name = models.CharField(max_length=300, blank=True, editable=False)
    telegram_username = models.CharField(max_length=64, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    flood_wait_until = models.DateTimeField(null=True, blank=True, editable=False)
    # The object the connector loads: telegram/{SESSION}/session.txt in the session store.
    session_object = models.FileField(storage=session_object_storage, max_length=200, blank=True, editable=False)
    object_etag = models.CharField(max_length=100, blank=True, editable=False)
    object_size = models.PositiveIntegerField(null=True, blank=True, editable=False)
    object_last_modified = models.DateTimeField(null=True, blank=True, editable=False)
    object_version_id = models.CharField(max_length=200, blank=True, editable=False)
    object_encryption = models.CharField(max_length=50, blank=True, editable=False)
    saved_at = models.DateTimeField(null=True, blank=True, editable=False)
    verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    verify_result = models.CharField(max_length=30, blank=True, editable=False)
    # The dashboard's own authorization of the same account (DESIGN decision 2): minted from the
    # connector's key, used for everything but minting and revoking, never written to the store.
    dashboard_session = EncryptedTextField()
    dashboard_minted_at = models.DateTimeField(null=True, blank=True, editable=False)
    dashboard_key_error = models.TextField(blank=True, editable=False)
    # Keyed fingerprints (HMAC) of both auth keys: one key belongs to at most one instance.
    connector_key_fingerprint = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    dashboard_key_fingerprint = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    # The connector's and the dashboard's authorizations as account.getAuthorizations lists them.
    connector_authorization_hash = models.BigIntegerField(null=True, blank=True, editable=False)
    dashboard_authorization_hash = models.BigIntegerField(null=True, blank=True, editable=False)
    connector_active_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The login that last finished (its PendingLogin id, null for one that had none, and when): a
    # late step or poll of that login gets its result; any other stale step is refused.
    login_finished_id = models.BigIntegerField(null=True, blank=True, editable=False)
    login_finished_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # What the list's search looks in (selectors.instances.instances_matching), folded once when the
    # row is written instead of for every row of every search; PostgreSQL indexes its trigrams (0022).
    list_search_text = models.GeneratedField(
        expression=LIST_SEARCH_TEXT, output_field=models.TextField(), db_persist=True
    )

    class Meta:
        ordering = ["session"]

    def __str__(self) -> str:
        return self.session

    def __repr__(self) -> str:
        return f"<ConnectorInstance {self.session} {self.status}>"

    def clean(self) -> None:
        # Admin and forms alike: an API id override is used with its own hash, never the dashboard's.
        if bool(self.api_id) != secret_is_set(self, "api_hash"):
            raise ValidationError(
                "Give both the API id and the API hash override, or neither (the dashboard's own are used then)."
            )

    @property
    def phone_masked(self) -> str:
        try:
            return mask_phone(self.phone)
        except SecretUnreadable:  # lists still render; pages that need the secret say why they cannot
            return "(cannot be decrypted)"

    @property
    def has_session(self) -> bool:
        return secret_is_set(self, "session_string")

    @property
    def has_dashboard_key(self) -> bool:
        return secret_is_set(self, "dashboard_session")

    @property
    def secrets_problem(self) -> str:
        """The sentence for pages when a loaded secret of this instance cannot be decrypted, else ""."""
        return SECRETS_UNREADABLE if unreadable_fields(self) else ""

    @property
    def object_key(self) -> str:
        return session_key(self.session)


def mask_phone(phone: str) -> str:
    digits = phone.lstrip("+")
    if len(digits) <= 4:
        return "*" * len(digits)
    return "+" + digits[:3] + "*" * (len(digits) - 5) + digits[-2:]


class LoginStep(models.TextChoices):
    CODE = "code", "code"
    EMAIL = "email", "login email"  # Telegram wants a login email set up before it sends a code
    QR = "qr", "QR code"
    PASSWORD = "password", "password"


class PendingLogin(models.Model):
    """The state between two login steps, so any web process can serve the next one: session_string
    holds the not-yet-authorized key Telegram bound the code to, so the next step reconnects with exactly it."""

    instance = models.OneToOneField(ConnectorInstance, on_delete=models.CASCADE, related_name="pending_login")
    step = models.CharField(max_length=10, choices=LoginStep.choices, default=LoginStep.CODE)
    session_string = EncryptedTextField()
    phone = EncryptedTextField()
    phone_code_hash = EncryptedTextField()
    qr_url = EncryptedTextField()  # tg://login?token=… : a login credential while it is valid
    qr_expires = models.DateTimeField(null=True, blank=True)
    code_type = models.CharField(max_length=40, blank=True)  # auth.sentCodeType* name, or "EmailSetup"
    code_length = models.PositiveSmallIntegerField(null=True, blank=True)
    code_hint = models.CharField(max_length=200, blank=True)  # email pattern, first letter/word, caller prefix, URL
    next_type = models.CharField(max_length=40, blank=True)
    code_sent_at = models.DateTimeField(null=True, blank=True)
    code_timeout = models.PositiveIntegerField(null=True, blank=True)
    password_hint = models.CharField(max_length=200, blank=True)
    previous_status = models.CharField(max_length=20, choices=InstanceStatus.choices, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"pending login of instance {self.instance_id} at the {self.step} step"

    def __repr__(self) -> str:
        return f"<PendingLogin {self.instance_id} {self.step}>"


class SendCodeAttempt(models.Model):
    """One auth.sendCode we made, for throttling per instance and per phone (phone kept as an HMAC)."""

    instance = models.ForeignKey(ConnectorInstance, null=True, on_delete=models.SET_NULL, related_name="+")
    phone_fingerprint = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"send-code attempt at {self.created_at:%Y-%m-%d %H:%M:%S}"


class Role(models.TextChoices):
    VIEWER = "viewer", "viewer: sees the instance"
    OPERATOR = "operator", "operator: logs in, saves, verifies, archives"
    OWNER = "owner", "owner: also revokes, terminates sessions, imports"


ROLE_RANK = {Role.VIEWER: 1, Role.OPERATOR: 2, Role.OWNER: 3}


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="instance_memberships")
    instance = models.ForeignKey(ConnectorInstance, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "instance"], name="one_role_per_user_and_instance")]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} of {self.instance}"


class AuditEvent(models.Model):
    """Who did what to which instance. detail never holds a secret (no session, code, hash or password)."""

    # Append-only (a trigger refuses UPDATE and DELETE): no SET_NULL, no constraint; session and
    # actor_name keep who and where after the instance or the user is deleted.
    instance = models.ForeignKey(
        ConnectorInstance,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="audit_events",
    )
    session = models.CharField(max_length=64, blank=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=60)
    outcome = models.CharField(max_length=20, default="ok")
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)  # set before hashing, so no auto_now
    prev_hash = models.CharField(max_length=64, blank=True)  # services.audit_chain links each event to the last
    hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.session} {self.action} {self.outcome}"


# --- Message archive ------------------------------------------------------------------------------


class DialogKind(models.TextChoices):
    USER = "user", "user"
    BOT = "bot", "bot"
    GROUP = "group", "group"
    CHANNEL = "channel", "channel"
    SUPERGROUP = "supergroup", "supergroup"
    FORUM = "forum", "forum"


class Dialog(models.Model):
    """One chat of an instance's account with its archive checkpoints: a first pass walks newest -> oldest,
    resuming at oldest_archived_id; later ones fetch above newest_archived_id, oldest first (gapless).
    migrated_to: the supergroup this basic group became; its older messages stay under their own peer id."""

    instance = models.ForeignKey(ConnectorInstance, on_delete=models.CASCADE, related_name="dialogs")
    peer_id = models.BigIntegerField(help_text="Telethon's marked peer id (channels -100…, chats negative)")
    kind = models.CharField(max_length=12, choices=DialogKind.choices)
    title = models.CharField(max_length=300)
    username = models.CharField(max_length=64, blank=True)
    message_count = models.PositiveIntegerField(default=0)
    total_on_server = models.PositiveIntegerField(null=True, blank=True)
    last_message_date = models.DateTimeField(null=True, blank=True)
    newest_archived_id = models.BigIntegerField(default=0)
    oldest_archived_id = models.BigIntegerField(default=0)
    history_complete = models.BooleanField(default=False)
    skip_reason = models.CharField(max_length=300, blank=True)  # why the last run could not read it
    migrated_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["instance", "peer_id"], name="one_dialog_per_peer")]
        indexes = [models.Index(fields=["instance", "-last_message_date"], name="dialog_recent")]

    def __str__(self) -> str:
        return f"{self.title} ({self.kind} {self.peer_id})"

    @property
    def known_total(self) -> int | None:
        """Telegram's last count, never below what is archived (the archive keeps messages deleted since)."""
        return None if self.total_on_server is None else max(self.total_on_server, self.message_count)


class Message(models.Model):
    """One archived message; (instance, peer_id, message_id) is Telegram's identity for it."""

    # No index of their own: the unique constraint starts with instance, message_keyset with dialog,
    # and every index is written once per archived message (bench/archive.py).
    instance = models.ForeignKey(ConnectorInstance, on_delete=models.CASCADE, related_name="+", db_index=False)
    dialog = models.ForeignKey(Dialog, on_delete=models.CASCADE, related_name="messages", db_index=False)
    peer_id = models.BigIntegerField()
    message_id = models.BigIntegerField()
    date = models.DateTimeField()
    edit_date = models.DateTimeField(null=True, blank=True)
    sender_id = models.BigIntegerField(null=True, blank=True)
    sender_name = models.CharField(max_length=300, blank=True)
    text = models.TextField(blank=True)
    reply_to_id = models.BigIntegerField(null=True, blank=True)
    topic_id = models.BigIntegerField(null=True, blank=True)
    forward_from = models.CharField(max_length=300, blank=True)
    media_kind = models.CharField(max_length=30, blank=True)
    media_file_name = models.CharField(max_length=300, blank=True)
    media_size = models.BigIntegerField(null=True, blank=True)
    media_mime = models.CharField(max_length=120, blank=True)
    views = models.PositiveIntegerField(null=True, blank=True)
    grouped_id = models.BigIntegerField(null=True, blank=True)
    is_service = models.BooleanField(default=False)
    action_type = models.CharField(max_length=80, blank=True)
    archived_media = models.ForeignKey(  # set by services.archive_media; unindexed: nothing looks it up
        "ArchivedMedia", null=True, blank=True, on_delete=models.SET_NULL, db_index=False, related_name="messages"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instance", "peer_id", "message_id"], name="one_row_per_telegram_message")
        ]
        indexes = [models.Index(fields=["dialog", "-message_id"], name="message_keyset")]

    def __str__(self) -> str:
        return f"message {self.message_id} in {self.peer_id}"


class ArchiveStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    FLOOD_WAIT = "flood_wait", "waiting for Telegram"
    DONE = "done", "done"
    FAILED = "failed", "failed"
    INTERRUPTED = "interrupted", "interrupted"

    @classmethod
    def active(cls) -> tuple[ArchiveStatus, ...]:
        """A run in one of these holds (or is about to hold) the instance's archive slot."""
        return (cls.QUEUED, cls.RUNNING, cls.FLOOD_WAIT)


class ArchiveRun(models.Model):
    instance = models.ForeignKey(ConnectorInstance, on_delete=models.CASCADE, related_name="archive_runs")
    status = models.CharField(max_length=12, choices=ArchiveStatus.choices, default=ArchiveStatus.QUEUED)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    use_takeout = models.BooleanField(default=False)
    refresh_edits_days = models.PositiveIntegerField(default=0)
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    dialogs_total = models.PositiveIntegerField(default=0)
    dialogs_done = models.PositiveIntegerField(default=0)
    dialogs_skipped = models.PositiveIntegerField(default=0)
    messages_saved = models.PositiveIntegerField(default=0)
    current_dialog = models.ForeignKey(Dialog, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    flood_wait_until = models.DateTimeField(null=True, blank=True)
    flood_waits = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # Which process runs it: a run whose process is gone from this host is taken over at once.
    worker_host = models.CharField(max_length=255, blank=True)
    worker_pid = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"archive run {self.pk} of {self.instance_id}: {self.status}"

    @property
    def is_active(self) -> bool:
        return self.status in ArchiveStatus.active()


# --- Session health, archive media ----------------------------------------------------------------
# In their own module (this one is at the size limit); imported here so Django registers them.
from sessions_app import models_api, models_health, models_media, models_network, models_watch  # noqa: E402, F401
from sessions_app.models_network import TelegramLease  # noqa: E402, F401
