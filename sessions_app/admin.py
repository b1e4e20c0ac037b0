"""Inspection without secrets: encrypted fields are never listed, shown or editable here."""

from __future__ import annotations

from django.contrib import admin

from sessions_app.models import AuditEvent, ConnectorInstance, Membership, PendingLogin


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(ConnectorInstance)
class ConnectorInstanceAdmin(admin.ModelAdmin):
    list_display = ["session", "name", "status", "phone_masked", "telegram_name", "updated_at"]
    list_filter = ["status"]
    search_fields = ["session", "name", "telegram_username"]
    fields = ["session", "name", "api_id", "status", "telegram_user_id", "telegram_name", "telegram_username", "phone_masked", "last_error", "created_at", "updated_at"]
    readonly_fields = ["status", "telegram_user_id", "telegram_name", "telegram_username", "phone_masked", "last_error", "created_at", "updated_at"]
    inlines = [MembershipInline]

    @admin.display(description="phone")
    def phone_masked(self, obj: ConnectorInstance) -> str:
        return obj.phone_masked


@admin.register(PendingLogin)
class PendingLoginAdmin(admin.ModelAdmin):
    list_display = ["instance", "step", "code_type", "code_sent_at", "started_by", "updated_at"]
    fields = ["instance", "step", "code_type", "next_type", "code_sent_at", "password_hint", "started_by", "updated_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "session", "actor", "action", "outcome"]
    list_filter = ["action", "outcome"]
    search_fields = ["session", "action"]
    readonly_fields = ["instance", "session", "actor", "action", "outcome", "detail", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["instance", "user", "role"]
    list_filter = ["role"]
    autocomplete_fields = ["user", "instance"]
