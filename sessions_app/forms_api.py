"""The tokens page's form: a name and how many days the token lasts (empty: until revoked)."""

from __future__ import annotations

from django import forms

from sessions_app.services.api_tokens import EXPIRES_DAYS_MAX, TOKEN_NAME_MAX_LENGTH


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=TOKEN_NAME_MAX_LENGTH,
        help_text="Where the token is used, e.g. “CI deploy”: the audit names it beside your name.",
    )
    expires_days = forms.IntegerField(
        label="Expires after (days)",
        required=False,
        min_value=1,
        max_value=EXPIRES_DAYS_MAX,
        initial=90,
        help_text=f"1 to {EXPIRES_DAYS_MAX} days; leave it empty for a token that lasts until you revoke it.",
    )
