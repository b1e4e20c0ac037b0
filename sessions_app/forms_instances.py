"""Forms of the instance list (search, filter, sort, bulk actions) and of rename and delete."""

from __future__ import annotations

import functools

from django import forms

from sessions_app.selectors.instances import HEALTH_FILTERS, SORTS, STATUS_FILTERS
from sessions_app.services.instance_admin import NAME_MAX_LENGTH, ObjectChoice
from sessions_app.services.instance_bulk import BulkAction


class InstanceListForm(forms.Form):
    """The list's GET parameters; an invalid one is reported and ignored."""

    q = forms.CharField(label="Search", required=False, max_length=200)
    status = forms.ChoiceField(
        label="Status or health",
        required=False,
        choices=[("", "any"), ("Status", list(STATUS_FILTERS)), ("Health", list(HEALTH_FILTERS))],
    )
    sort = forms.ChoiceField(label="Sort by", required=False, choices=[("", "SESSION"), *SORTS.items()])

    def value(self, name: str) -> str:
        """The parameter's cleaned value, or "" when it is missing or invalid."""
        if not hasattr(self, "cleaned_data") or name in self.errors:
            return ""
        return str(self.cleaned_data.get(name) or "")

    def select(self, name: str) -> str:
        """The <select> of `status` or `sort`, as {{ form.<name> }} renders it.

        Django renders a select through one template include per option: a tenth of the list
        page's rendering time. The choices never change, so a valid value's HTML is rendered once.
        """
        field = self[name]
        if field.errors:  # a refused value: rare, rendered as it is
            return str(field)
        value = field.value()
        return _rendered_select(name, None if value is None else str(value))


@functools.lru_cache(maxsize=64)  # a valid value is one of the two fields' choices: a few entries
def _rendered_select(name: str, value: str | None) -> str:
    return str(InstanceListForm({} if value is None else {name: value})[name])


class BulkForm(forms.Form):
    action = forms.ChoiceField(
        choices=[(BulkAction.CHECK, "Check now"), (BulkAction.ARCHIVE, "Archive now")],
        error_messages={
            "required": "Choose an action: Check now or Archive now.",
            "invalid_choice": "Choose an action: Check now or Archive now.",
        },
    )


class RenameForm(forms.Form):
    # The rules (not blank, at most NAME_MAX_LENGTH characters) are services.instance_admin.instance_rename's;
    # the browser is told the same limit, so it stops typing where the rule would refuse.
    name = forms.CharField(
        label="Display name",
        required=False,
        strip=False,
        widget=forms.TextInput(attrs={"maxlength": NAME_MAX_LENGTH, "required": True}),
    )


class DeleteForm(forms.Form):
    confirm = forms.CharField(label="Type the SESSION to confirm", required=False, strip=False, max_length=200)
    object = forms.ChoiceField(
        label="If the session object still holds a session",
        required=False,
        initial=ObjectChoice.NONE,
        widget=forms.RadioSelect,
        choices=[
            (ObjectChoice.NONE, "Neither: delete only if nothing holds a session (the default)"),
            (ObjectChoice.REVOKE, "Revoke first: Telegram ends both authorizations and the object is emptied"),
            (
                ObjectChoice.KEEP,
                "Keep the object: leave it untouched in the store (a connector loading it stays logged in)",
            ),
        ],
    )
