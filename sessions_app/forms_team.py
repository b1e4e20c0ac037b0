"""Forms for the team pages: members and the audit trail's filters."""

from __future__ import annotations

from django import forms

from sessions_app.models import Role
from sessions_app.selectors.audit import AuditFilters


class MemberAddForm(forms.Form):
    user = forms.CharField(label="Username or email", max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class AuditFilterForm(forms.Form):
    who = forms.CharField(label="Who (username)", required=False, max_length=150)
    action = forms.CharField(required=False, max_length=60)
    outcome = forms.CharField(required=False, max_length=20)
    since = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def filters(self) -> AuditFilters:
        """The valid filters; a bad field is ignored (and shown with its error) rather than failing the page."""
        data = self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else {}
        return AuditFilters(
            who=data.get("who") or "",
            action=data.get("action") or "",
            outcome=data.get("outcome") or "",
            since=data.get("since"),
            until=data.get("until"),
        )
