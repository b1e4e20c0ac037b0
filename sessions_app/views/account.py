"""Two-step sign-in for team members: enrol an authenticator app (TOTP), the code step, turning it off."""

from __future__ import annotations

from base64 import b32encode

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods
from django_otp import DEVICE_ID_SESSION_KEY, verify_token
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from sessions_app.http import AuthenticatedHttpRequest
from sessions_app.services.audit import audit_record
from sessions_app.signin import two_factor_required

DEVICE_NAME = "authenticator app"


class CodeForm(forms.Form):
    token = forms.CharField(
        label="6-digit code from the authenticator app",
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
        error_messages={"required": "Enter the 6-digit code your authenticator app shows now."},
    )

    def clean_token(self) -> str:
        token = "".join(self.cleaned_data["token"].split())
        if not (len(token) == 6 and token.isascii() and token.isdigit()):
            raise forms.ValidationError("The code is the 6 digits (0-9) your authenticator app shows now.")
        return token


def _next_url(request: AuthenticatedHttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if safe else "/"


def _confirmed_device(request: AuthenticatedHttpRequest) -> TOTPDevice | None:
    device = TOTPDevice.objects.filter(user=request.user, confirmed=True).order_by("pk").first()
    return device if isinstance(device, TOTPDevice) else None


@sensitive_variables("token", "device")
def _check_code(request: AuthenticatedHttpRequest, device: TOTPDevice, token: str) -> str:
    """ "" when the code is right (and not used before); otherwise what to tell the user."""
    allowed, state = device.verify_is_allowed()
    if not allowed:
        wait = max(1, int(((state or {}).get("locked_until", timezone.now()) - timezone.now()).total_seconds()) + 1)
        return f"Too many wrong codes in a row: wait {wait} seconds, then enter the code your app shows then."
    if verify_token(request.user, device.persistent_id, token) is None:
        return "That code is not right (or was already used). Enter the code your app shows now; check the phone's clock if it keeps failing."
    return ""


def _qr_svg(url: str) -> str:
    import qrcode
    import qrcode.image.svg

    return str(qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8).to_string(encoding="unicode"))


def _grouped_secret(device: TOTPDevice) -> str:
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@sensitive_post_parameters("token")
@require_http_methods(["GET", "POST"])
def two_factor(request: AuthenticatedHttpRequest) -> HttpResponse:
    """With a device: its state and a way to turn it off. Without: enrol one (QR code, then a code from it)."""
    required = two_factor_required(request.user)
    device = _confirmed_device(request)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if device is not None:
        if request.method == "POST" and form.is_valid():
            if required:
                form.add_error(None, "Owners must keep two-step sign-in on here (TEAM_REQUIRE_2FA).")
            elif problem := _check_code(request, device, form.cleaned_data["token"]):
                form.add_error("token", problem)
            else:
                TOTPDevice.objects.filter(user=request.user).delete()
                request.session.pop(DEVICE_ID_SESSION_KEY, None)
                audit_record(instance=None, actor=request.user, action="signin.2fa_removed")
                messages.success(request, "Two-step sign-in is off: your password alone signs you in now.")
                return redirect("two_factor")
        context = {"device": device, "form": form, "required": required}
        return render(request, "sessions_app/account/two_factor.html", context, status=400 if form.errors else 200)

    pending, _ = TOTPDevice.objects.get_or_create(user=request.user, confirmed=False, defaults={"name": DEVICE_NAME})
    if request.method == "POST" and form.is_valid():
        if problem := _check_code(request, pending, form.cleaned_data["token"]):
            form.add_error("token", problem)
        else:
            TOTPDevice.objects.filter(pk=pending.pk).update(confirmed=True)
            pending.confirmed = True
            otp_login(request, pending)
            audit_record(instance=None, actor=request.user, action="signin.2fa_enrolled")
            messages.success(request, "Two-step sign-in is on: each sign-in now asks for a code from the app.")
            return redirect(_next_url(request))
    context = {
        "device": None,
        "form": form,
        "required": required,
        "qr_svg": _qr_svg(pending.config_url),
        "secret": _grouped_secret(pending),
        "next": _next_url(request),
    }
    return render(request, "sessions_app/account/two_factor.html", context, status=400 if form.errors else 200)


@sensitive_post_parameters("token")
@require_http_methods(["GET", "POST"])
def two_factor_verify(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The second sign-in step: a code from the user's authenticator app."""
    device = _confirmed_device(request)
    if device is None:
        return redirect(_next_url(request))
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if problem := _check_code(request, device, form.cleaned_data["token"]):
            form.add_error("token", problem)
            audit_record(instance=None, actor=request.user, action="signin.2fa_failed", outcome="refused")
        else:
            otp_login(request, device)
            audit_record(instance=None, actor=request.user, action="signin.2fa_ok")
            return redirect(_next_url(request))
    context = {"form": form, "next": _next_url(request)}
    return render(request, "sessions_app/account/two_factor_verify.html", context, status=400 if form.errors else 200)
