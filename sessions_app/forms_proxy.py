"""The form of an instance's proxy page (field `proxy`; the rules are services.proxy's)."""

from __future__ import annotations

from django import forms

from sessions_app.telegram.proxy import EXAMPLES


class ProxyForm(forms.Form):
    proxy = forms.CharField(
        label="Proxy URL",
        required=False,
        max_length=2000,
        # Never rendered back: the URL holds the proxy's password or the MTProxy secret.
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=f"For example {EXAMPLES}. Leave it empty to remove this instance's own proxy.",
        error_messages={"max_length": "A proxy URL has at most %(limit_value)d characters. The proxy was not changed."},
    )
