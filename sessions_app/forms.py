from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django import forms
from django.template.defaultfilters import filesizeformat

from sessions_app.converters import reserved_session_refusal
from sessions_app.models import ConnectorInstance
from sessions_app.storage.base import SESSION_NAME_HELP, is_session_name
from sessions_app.telegram import login as telegram_login

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
        if refusal := reserved_session_refusal(session):
            raise forms.ValidationError(refusal)
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


@dataclass(frozen=True)
class CodePrompt:
    """What the code step says and takes for one way Telegram sent the code (auth.sentCodeType*)."""

    where: str = ""  # where the code went, in words: "by SMS", "by email to a***@example.com"
    ask: str = ""  # what to type, shown next to the field
    then: str = ""  # what "Resend code" brings
    kind: str = "digits"  # "digits", "word" or "phrase"
    length: int | None = None  # digits announced (None: 4 to `longest`)
    longest: int = 8
    beginning: str = ""  # a word's first letter(s), a phrase's first word
    caller_prefix: str = ""  # a missed call: the calling number starts with these digits


_NEXT = {
    "Sms": "Telegram will send the code by SMS next",
    "Call": "Telegram will call you next and read the code out",
    "FlashCall": "Telegram will call you next and hang up at once",
    "MissedCall": "Telegram will give you a missed call next: the code is the last digits of the calling number",
    "FragmentSms": "Telegram will send the code to the number's Fragment account next",
    "": "Telegram named no other way to send this code, so it may refuse to send another",
}


def code_prompt(code_type: str, length: int | None = None, hint: str = "", next_type: str = "") -> CodePrompt:
    """The code step's words and input rules for a code of `code_type` (see telegram.login.SentCode)."""
    n = f"{length}-digit " if length else ""
    then = _NEXT.get(next_type, f"Telegram will send the code another way next ({next_type})")
    if code_type in telegram_login.WORD_TYPES:
        word = "word" if code_type == "SmsWord" else "phrase"
        starts = f" (it starts with “{hint}”)" if hint else ""
        ask = f"Type the {word} Telegram sent by SMS{starts}."
        return CodePrompt(f"as a {word} by SMS", ask, then, kind=word, beginning=hint)
    if code_type == telegram_login.EMAIL_SETUP:
        where = f"by email to {hint or 'the address you gave'}, to confirm it as the account's login email"
        then = "Telegram asks for the email address again and emails a new code"
        return CodePrompt(where, f"Type the {n}code from Telegram's email.", then, length=length)
    if code_type == "MissedCall":
        ask = f"Type the last {length or 'few'} digits of the calling number"
        ask += f" (the number starts with {hint})." if hint else "."
        return CodePrompt("in a call", ask, then, length=length, caller_prefix=_digits_only(hint))
    if code_type == "FlashCall":
        ask = "Type the whole calling number" + (f" (it looks like {hint})." if hint else ".")
        return CodePrompt("in a call that hangs up at once", ask, then, longest=15)
    email = hint or "the account's login email"
    fragment = hint or "fragment.com"
    where, ask = {
        "App": ("in the Telegram app on the account's other devices", f"Type the {n}code Telegram sent there."),
        "Sms": ("by SMS", f"Type the {n}code from the SMS."),
        "Call": ("in a phone call", f"Type the {n}code the call reads out."),
        telegram_login.EMAIL_CODE: (f"by email to {email}", f"Type the {n}code from Telegram's email."),
        "FragmentSms": (
            "on fragment.com (an anonymous number: the code arrives in the Fragment account that owns it)",
            f"Type the {n}code shown at {fragment}.",
        ),
    }.get(code_type, ("", f"Type the {n}code Telegram sent."))
    return CodePrompt(where, ask, then, length=length)


def _digits_only(value: str) -> str:
    return "".join(ch for ch in ascii_digits(value) if ch.isascii() and ch.isdigit())


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=200,  # a phrase; digit codes are checked for their own length
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, prompt: CodePrompt | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prompt = prompt or CodePrompt()
        field = self.fields["code"]
        field.help_text = self.prompt.ask
        if self.prompt.kind != "digits":
            field.widget.attrs.update({"inputmode": "text", "autocapitalize": "none", "spellcheck": "false"})

    def clean_code(self) -> str:
        if self.prompt.kind == "digits":
            return self._digits(self.cleaned_data["code"])
        return self._words(self.cleaned_data["code"])

    def _digits(self, typed: str) -> str:
        prompt = self.prompt
        code = re.sub(r"[\s().+-]", "", ascii_digits(typed))
        if (
            prompt.caller_prefix
            and prompt.length
            and len(code) > prompt.length
            and code.startswith(prompt.caller_prefix)
        ):
            code = code[-prompt.length :]  # the whole calling number was typed: its last digits are the code
        if prompt.caller_prefix:
            wrong = f"Type only the last {prompt.length} digits of the number that called (digits only)."
        elif prompt.length:
            wrong = f"The code is the {prompt.length}-digit number Telegram sent (digits only)."
        elif prompt.longest > 8:
            wrong = "Type the whole number that called, with its country code (digits only)."
        else:
            wrong = "The code is the number Telegram sent: 4 to 8 digits (digits only)."
        fits = len(code) == prompt.length if prompt.length else 4 <= len(code) <= prompt.longest
        if not (code.isascii() and code.isdigit()) or not fits:
            raise forms.ValidationError(wrong)
        return code

    def _words(self, typed: str) -> str:
        prompt, words = self.prompt, typed.split()
        what = "word" if prompt.kind == "word" else "phrase"
        if not words or not all(w.isalpha() for w in words) or (what == "word" and len(words) > 1):
            raise forms.ValidationError(
                f"Type the {what} from Telegram's SMS: letters only, no digits"
                + (", one word." if what == "word" else ", words separated by spaces.")
            )
        start = prompt.beginning.casefold()
        if start and not (words[0] if what == "phrase" else words[0][: len(start)]).casefold() == start:
            raise forms.ValidationError(
                f"The {what} Telegram sent starts with “{prompt.beginning}”: type it as the SMS shows it."
            )
        return " ".join(words)


class PasswordForm(forms.Form):
    password = forms.CharField(
        label="Two-step verification password",
        max_length=256,
        widget=forms.PasswordInput(render_value=False),
        strip=False,
    )


TWO_STEP_FOR_MINT_HELP = (
    "Needed only when the account has two-step verification: the dashboard makes its own authorization of the "
    "account with it. Used for this request only, never stored or shown."
)


class EmailForm(forms.Form):
    email = forms.EmailField(
        label="Login email",
        max_length=254,
        help_text="An address the account's owner can read now: Telegram emails a code to it at once.",
        error_messages={
            "required": "Type the email address Telegram should use for this account's logins.",
            "invalid": "Enter an email address such as name@example.com.",
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


def two_step_password_field(label: str, help_text: str) -> forms.CharField:
    """An optional 2FA password for minting the dashboard's key: never rendered back, never stripped."""
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        max_length=256,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=help_text,
    )


class ImportForm(forms.Form):
    session_string = forms.CharField(
        label="Session string",
        max_length=2000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="The TELEGRAM_SESSION value printed by generate_session (one line starting with 1).",
    )

    password = two_step_password_field(
        "Two-step verification password (if the account has one)", TWO_STEP_FOR_MINT_HELP
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


class UseStoredForm(forms.Form):
    """The conflict page's "Use the stored one": the password, for a stored session of a 2FA account."""

    password = two_step_password_field(
        "2FA password (only if the account has two-step verification)",
        "Using the stored session makes the dashboard's own authorization from it; an account with two-step "
        "verification asks for its password then. Used once, never stored.",
    )


class VerifyForm(forms.Form):
    """Verify's optional password: needed when it adopts an object of a 2FA account the dashboard did not write."""

    password = two_step_password_field(
        "2FA password (only to adopt a session written elsewhere)",
        "Needed only when the stored session was written by a connector or generate_session for an account with "
        "two-step verification: Verify then makes the dashboard's own authorization with it. Used once, never stored.",
    )
