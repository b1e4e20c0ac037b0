"""Inspection without secrets: encrypted fields are never listed or shown here (the API hash override is write-only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from sessions_app.forms import clean_api_hash
from sessions_app.http import AuthenticatedHttpRequest
from sessions_app.models import AuditEvent, ConnectorInstance, Membership, PendingLogin
from sessions_app.models_watch import AccountWatch, WatchedAuthorization
from sessions_app.services import revoke as revoke_service
from sessions_app.services import sessions as session_service
from sessions_app.storage import StoreError
from sessions_app.telegram.errors import TelegramError


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


class ConnectorInstanceAdminForm(forms.ModelForm):
    """The API hash override can be set here but is never shown; the model's clean() wants both or neither."""

    new_api_hash = forms.CharField(
        label="API hash override",
        required=False,
        max_length=32,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Set with an API id override: the 32-character hexadecimal hash from my.telegram.org. "
        "Never shown; leave empty to keep the stored one. Emptying the API id removes its hash too.",
    )

    class Meta:
        model = ConnectorInstance
        fields = ["session", "name", "api_id"]

    def clean_new_api_hash(self) -> str:
        return clean_api_hash(self.cleaned_data["new_api_hash"])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # ModelForm.clean() returns cleaned_data
        # Set before the model's clean() (in _post_clean) judges the pair.
        if data.get("new_api_hash"):
            self.instance.api_hash = data["new_api_hash"]
        elif not data.get("api_id"):
            self.instance.api_hash = ""
        return data


@admin.register(ConnectorInstance)
class ConnectorInstanceAdmin(admin.ModelAdmin):
    form = ConnectorInstanceAdminForm
    list_display = ["session", "name", "status", "phone_masked", "telegram_name", "updated_at"]
    list_filter = ["status"]
    search_fields = ["session", "name", "telegram_username"]
    _object_fields = [
        "object_key",
        "object_size",
        "object_etag",
        "object_last_modified",
        "object_version_id",
        "object_encryption",
        "saved_at",
    ]
    fields: ClassVar[tuple[str, ...]] = (
        "session",
        "name",
        "api_id",
        "new_api_hash",
        "status",
        "telegram_user_id",
        "telegram_name",
        "telegram_username",
        "phone_masked",
        *_object_fields,
        "verified_at",
        "verify_result",
        "last_error",
        "created_at",
        "updated_at",
    )
    # Only the name and the API id and hash override are edited here; everything else is state.
    readonly_fields = tuple(f for f in fields if f not in ("session", "name", "api_id", "new_api_hash"))
    inlines = [MembershipInline]
    actions = ["save_sessions", "verify_sessions", "revoke_sessions"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: ConnectorInstance | None = None
    ) -> list[str] | tuple[str, ...]:
        # The SESSION namespace names the S3 object: fixed once the instance exists.
        return [*self.readonly_fields, "session"] if obj is not None else self.readonly_fields

    @admin.display(description="phone")
    def phone_masked(self, obj: ConnectorInstance) -> str:
        return obj.phone_masked

    @admin.display(description="object key")
    def object_key(self, obj: ConnectorInstance) -> str:
        return obj.object_key

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet[ConnectorInstance],
        verb: str,
        run: Callable[[ConnectorInstance], str],
    ) -> None:
        for instance in queryset:
            try:
                outcome = run(instance)
            except (StoreError, TelegramError, revoke_service.RevokeIncomplete) as error:
                self.message_user(request, f"{instance.session}: {verb} failed: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"{instance.session}: {outcome}", messages.SUCCESS)

    @admin.action(description="Save the session to the store")
    def save_sessions(self, request: AuthenticatedHttpRequest, queryset: QuerySet[ConnectorInstance]) -> None:
        self._each(
            request,
            queryset,
            "save",
            lambda i: f"saved (ETag {session_service.session_save(instance=i, actor=request.user).etag})",
        )

    @admin.action(description="Verify the stored session")
    def verify_sessions(self, request: AuthenticatedHttpRequest, queryset: QuerySet[ConnectorInstance]) -> None:
        self._each(
            request, queryset, "verify", lambda i: session_service.session_verify(instance=i, actor=request.user)
        )

    @admin.action(description="Revoke (log out and empty the object)")
    def revoke_sessions(self, request: AuthenticatedHttpRequest, queryset: QuerySet[ConnectorInstance]) -> None:
        self._each(
            request,
            queryset,
            "revoke",
            lambda i: (revoke_service.session_revoke(instance=i, actor=request.user), "revoked")[1],
        )


@admin.register(PendingLogin)
class PendingLoginAdmin(admin.ModelAdmin):
    list_display = ["instance", "step", "code_type", "code_sent_at", "started_by", "updated_at"]
    fields: ClassVar[tuple[str, ...]] = (
        "instance",
        "step",
        "code_type",
        "next_type",
        "code_sent_at",
        "password_hint",
        "started_by",
        "updated_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    # actor_name, not actor: the user may have been deleted since (the audit keeps the name).
    list_display = ["created_at", "session", "actor_name", "action", "outcome"]
    list_filter = ["action", "outcome"]
    search_fields = ["session", "action"]
    fields: ClassVar[tuple[str, ...]] = (
        "session",
        "actor_name",
        "action",
        "outcome",
        "detail",
        "created_at",
        "prev_hash",
        "hash",
    )
    readonly_fields = fields

    # Append-only for everyone, superusers included (the database refuses it too).
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["instance", "user", "role"]
    list_filter = ["role"]
    autocomplete_fields = ["user", "instance"]


class _ReadOnlyAdmin(admin.ModelAdmin):
    """What the checks recorded: for inspection only (the security watch writes it)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AccountWatch)
class AccountWatchAdmin(_ReadOnlyAdmin):
    list_display = ["instance", "baseline_at", "connector_country", "two_step", "security_seen_at"]
    search_fields = ["instance__session"]


@admin.register(WatchedAuthorization)
class WatchedAuthorizationAdmin(_ReadOnlyAdmin):
    list_display = ["instance", "description", "origin", "first_seen_at", "alerted_at", "known_by", "known_at"]
    list_filter = ["origin"]
    search_fields = ["instance__session", "description"]
