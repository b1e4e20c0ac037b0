from __future__ import annotations

import re
import unicodedata
from typing import Any

from django import forms
from django.template.defaultfilters import filesizeformat

from sessions_app.models import ConnectorInstance
from sessions_app.storage.base import SESSION_NAME_HELP, is_session_name

_PHONE_JUNK = re.compile(r"[\s().-]")


def ascii_digits(value: str) -> str:
    """Digits as Telegram takes them: `٢٢٢٢٢`, `２２２２２` or `²²²²²` become `22222`; other characters stay.

    Codes and numbers are often typed on an Arabic, Persian or Indic keyboard or pasted with
    formatting; Telethon expects ASCII digits (anything else used to end in a TypeError).
    """
    normal = unicodedata.normalize("NFKC", value)  # full-width, superscript and circled digits
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in normal)


def clean_api_hash(value: str) -> str:
    """An API hash as my.telegram.org shows it (32 hexadecimal characters), lower-cased; "" stays ""."""
    api_hash = value.strip()
    if api_hash and not re.fullmatch(r"[0-9a-fA-F]{32}", api_hash):
        raise forms.ValidationError("The API hash is the 32-character hexadecimal string from my.telegram.org.")
    return api_hash.lower()


class InstanceForm(forms.Form):
    session = forms.CharField(
        label="SESSION namespace",
        max_length=200,
        strip=False,  # " x" is not "x": the namespace must match the connector's SESSION exactly  # longer input gets our own sentence below, not a bare length error
        help_text=SESSION_NAME_HELP,
        error_messages={"required": f"Choose a SESSION namespace: {SESSION_NAME_HELP}"},
    )
    name = forms.CharField(label="Display name", max_length=200)
    api_id = forms.IntegerField(label="API id (optional)", required=False, min_value=1, max_value=2**31 - 1)
    api_hash = forms.CharField(label="API hash (optional)", required=False, max_length=32, widget=forms.PasswordInput)

    def clean_session(self) -> str:
        session: str = self.cleaned_data["session"]
        if not is_session_name(session):
            raise forms.ValidationError(f"{session[:70]!r} is not a valid SESSION namespace. Use {SESSION_NAME_HELP}")
        if ConnectorInstance.objects.filter(session=session).exists():
            raise forms.ValidationError(f"An instance with SESSION {session!r} already exists. Pick another namespace.")
        return session

    def clean_api_hash(self) -> str:
        return clean_api_hash(self.cleaned_data["api_hash"])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # Form.clean() returns cleaned_data
        if bool(data.get("api_id")) != bool(data.get("api_hash")):
            raise forms.ValidationError(
                "Give both the API id and the API hash, or neither (the dashboard's own are used then)."
            )
        return data


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label="Phone number",
        max_length=32,
        help_text="International format with the country code, e.g. +44 7700 900123.",
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )

    def clean_phone(self) -> str:
        raw = _PHONE_JUNK.sub("", ascii_digits(self.cleaned_data["phone"]))
        digits = raw.removeprefix("+")
        if not (digits.isascii() and digits.isdigit()) or not 7 <= len(digits) <= 15 or raw.count("+") > 1:
            raise forms.ValidationError(
                "Enter the phone number in international format: + and the country code, then the number (7 to 15 digits)."
            )
        return "+" + digits


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean_code(self) -> str:
        code = re.sub(r"[\s-]", "", ascii_digits(self.cleaned_data["code"]))
        if not (code.isascii() and code.isdigit()) or not 4 <= len(code) <= 8:
            raise forms.ValidationError("The code is the 5-digit number Telegram sent (digits only).")
        return code


class PasswordForm(forms.Form):
    password = forms.CharField(
        label="Two-step verification password",
        max_length=256,
        widget=forms.PasswordInput(render_value=False),
        strip=False,
    )


class ImportForm(forms.Form):
    session_string = forms.CharField(
        label="Session string",
        max_length=2000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="The TELEGRAM_SESSION value printed by generate_session (one line starting with 1).",
    )

    def clean_session_string(self) -> str:
        return "".join(self.cleaned_data["session_string"].split())

    @classmethod
    def refused_as_too_big(cls, limit: int) -> ImportForm:
        """The form after a POST past DATA_UPLOAD_MAX_MEMORY_SIZE, which Django refuses to read."""
        form = cls(data={})
        form.is_valid()  # bound and cleaned, so the error below is the only one shown
        form.errors.pop("session_string", None)
        form.add_error(
            "session_string",
            f"That was far more than a session string: this page takes at most {filesizeformat(limit)}, and a "
            "session string is one line of about 350 characters. Nothing was imported. Paste only the "
            "TELEGRAM_SESSION value printed by generate_session.",
        )
        return form
