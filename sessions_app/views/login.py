from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import RequestDataTooBig
from django.forms import Form
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from sessions_app.forms import CodeForm, CodePrompt, EmailForm, ImportForm, PasswordForm, PhoneForm, code_prompt
from sessions_app.http import AuthenticatedHttpRequest
from sessions_app.models import ConnectorInstance, LoginStep, PendingLogin, Role
from sessions_app.selectors import instances as selectors
from sessions_app.services import login as login_service
from sessions_app.services import login_import
from sessions_app.services.errors import ActionRefused
from sessions_app.telegram.errors import TelegramError, seconds_left
from sessions_app.telegram.login import EMAIL_SETUP
from sessions_app.views.access import instance_for


def _add_telegram_error(form: Form, error: TelegramError | ActionRefused) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


def _warn_without_dashboard_key(request: AuthenticatedHttpRequest, instance: ConnectorInstance) -> None:
    if instance.dashboard_session:
        return
    messages.warning(
        request,
        "The dashboard could not make its own authorization of this account"
        + (f" ({instance.dashboard_key_error})" if instance.dashboard_key_error else "")
        + ". Until “Mint the dashboard's authorization” succeeds, Verify, Active sessions, Terminate and Archive "
        "are unavailable; the connector's session itself is fine.",
    )


def _prompt(pending: PendingLogin) -> CodePrompt:
    """What the code step says and takes for the pending code (anything with a `step` will do)."""
    return code_prompt(
        getattr(pending, "code_type", ""),
        getattr(pending, "code_length", None),
        getattr(pending, "code_hint", ""),
        getattr(pending, "next_type", ""),
    )


def _step_form(pending: PendingLogin | None, data: QueryDict | None = None) -> Form:
    """The current step's form: phone, then code (or first the login email Telegram wants), then password."""
    if pending is None:
        return PhoneForm(data)
    if pending.step == LoginStep.CODE:
        return CodeForm(data, prompt=_prompt(pending))
    if pending.step == LoginStep.EMAIL:
        return EmailForm(data)
    return PasswordForm(data)


def _login_page(
    request: AuthenticatedHttpRequest, instance: ConnectorInstance, form: Form | None = None, status: int = 200
) -> HttpResponse:
    pending = selectors.pending_login_for(instance)
    if form is None:
        form = _step_form(pending)
    flood_left = seconds_left(instance.flood_wait_until)
    resend_in = login_service.resend_available_in(pending) if pending is not None else 0
    context = {
        "instance": instance,
        "pending": pending,
        "prompt": _prompt(pending) if pending is not None and pending.step == LoginStep.CODE else None,
        "form": form,
        "flood_left": flood_left,
        "resend_in": max(resend_in, flood_left),
    }
    return render(request, "sessions_app/login.html", context, status=status)


@sensitive_post_parameters("phone", "code", "password", "email")
@sensitive_variables("phone", "code", "password", "email", "phone_code_hash", "session", "string")
@require_http_methods(["GET", "POST"])
def login_step(request: AuthenticatedHttpRequest, session: str) -> HttpResponse:
    """GET shows the current step's form; POST submits it (phone, then code, then password).

    An account Telegram wants a login email for gets the email step before its codes: the code
    confirming the address, then the login code, both in the code field.
    """
    instance, _ = instance_for(request, session, Role.OPERATOR)
    if request.method == "GET":
        return _login_page(request, instance)

    pending = selectors.pending_login_for(instance)
    form = _step_form(pending, request.POST)
    if not form.is_valid():
        return _login_page(request, instance, form, status=400)
    try:
        if isinstance(form, PhoneForm):
            pending = login_service.login_send_code(
                instance=instance, actor=request.user, phone=form.cleaned_data["phone"]
            )
            if pending.step == LoginStep.EMAIL:
                messages.info(request, "No code yet: Telegram wants a login email for this account first.")
            else:
                messages.info(request, "Telegram sent a login code. Enter it below.")
        elif isinstance(form, EmailForm):
            login_service.login_submit_email(instance=instance, actor=request.user, email=form.cleaned_data["email"])
            messages.info(request, "Telegram emailed a code to confirm the address. Enter it below.")
        elif isinstance(form, CodeForm):
            login_service.login_submit_code(instance=instance, actor=request.user, code=form.cleaned_data["code"])
            if getattr(pending, "code_type", "") == EMAIL_SETUP:
                messages.info(request, "The login email is confirmed. Telegram emailed the login code: enter it below.")
        else:
            login_service.login_submit_password(
                instance=instance, actor=request.user, password=form.cleaned_data["password"]
            )
    except (ActionRefused, TelegramError) as error:
        instance.refresh_from_db()
        if type(_step_form(selectors.pending_login_for(instance))) is not type(form):
            # The login ended or moved on meanwhile (say Telegram wants what only its apps can do).
            messages.error(request, error.message)
            return _login_page(request, instance, status=400)
        _add_telegram_error(form, error)
        return _login_page(request, instance, form, status=400)
    instance.refresh_from_db()
    if selectors.pending_login_for(instance) is None:
        messages.success(
            request, f"Logged in as {instance.telegram_name}. The instance is {instance.get_status_display()}."
        )
        _warn_without_dashboard_key(request, instance)
        return redirect("instance_detail", session=instance.session)
    return redirect("instance_login", session=instance.session)


@require_POST
def login_resend(request: AuthenticatedHttpRequest, session: str) -> HttpResponse:
    instance, _ = instance_for(request, session, Role.OPERATOR)
    try:
        pending = login_service.login_resend_code(instance=instance, actor=request.user)
    except (ActionRefused, TelegramError) as error:
        # Every refusal (no login pending, the password step, the hourly limit, a flood wait, too
        # soon after the last code) is a sentence on the login page.
        messages.error(request, error.message)
        instance.refresh_from_db()
        return _login_page(request, instance, status=400)
    if pending.step == LoginStep.EMAIL:
        messages.info(request, "Type the email address again (or another one): Telegram emails a new code to it.")
    else:
        messages.info(request, f"A new code is on its way: Telegram sends it {_prompt(pending).where}.")
    return redirect("instance_login", session=instance.session)


@require_POST
def login_cancel(request: AuthenticatedHttpRequest, session: str) -> HttpResponse:
    instance, _ = instance_for(request, session, Role.OPERATOR)
    login_service.login_cancel(instance=instance, actor=request.user)
    messages.info(request, "Login cancelled.")
    return redirect("instance_detail", session=instance.session)


@sensitive_post_parameters("session_string", "password")
@sensitive_variables("session_string", "session", "string", "password")
@require_http_methods(["GET", "POST"])
def session_import(request: AuthenticatedHttpRequest, session: str) -> HttpResponse:
    instance, _ = instance_for(request, session, Role.OWNER)
    try:
        form = ImportForm(request.POST or None)
    except RequestDataTooBig:  # usually met first by the CSRF check: see sessions_app.views.errors
        return session_import_too_big(request, session)
    if request.method == "POST" and form.is_valid():
        try:
            login_import.session_import(
                instance=instance,
                actor=request.user,
                session_string=form.cleaned_data["session_string"],
                password=form.cleaned_data["password"] or None,
            )
        except (ActionRefused, TelegramError) as error:
            _add_telegram_error(form, error)
        else:
            messages.success(request, f"Session imported: logged in as {instance.telegram_name}.")
            _warn_without_dashboard_key(request, instance)
            return redirect("instance_detail", session=instance.session)
    status = 400 if form.errors else 200
    return render(request, "sessions_app/import.html", {"instance": instance, "form": form}, status=status)


def session_import_too_big(request: HttpRequest, session: str) -> HttpResponse:
    """The import page refusing a POST past DATA_UPLOAD_MAX_MEMORY_SIZE (413); nothing was read or imported."""
    instance, _ = instance_for(request, session, Role.OWNER)
    form = ImportForm.refused_as_too_big(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    return render(request, "sessions_app/import.html", {"instance": instance, "form": form}, status=413)


def _qr_svg(url: str) -> str:
    import qrcode
    import qrcode.image.svg

    return str(qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8).to_string(encoding="unicode"))


def _posted_login(request: HttpRequest) -> int | None:
    """The id of the pending login the QR page showed (its polls post it), if any."""
    raw = request.POST.get("login", "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None


@sensitive_post_parameters("demo_phone")
@sensitive_variables("password", "session", "string", "token")
@require_http_methods(["GET", "POST"])
def login_qr(request: AuthenticatedHttpRequest, session: str) -> HttpResponse:
    """GET shows the QR code (if one is pending); POST creates or checks it (htmx polls this).

    A code past its expiry (or about to pass it) is never shown: GET renews it first, as a poll does.
    """
    instance, _ = instance_for(request, session, Role.OPERATOR)
    error = ""
    pending = selectors.pending_login_for(instance)
    expired = (
        request.method == "GET"
        and pending is not None
        and pending.step == LoginStep.QR
        and login_import.qr_code_expiring(pending)
    )
    if request.method == "POST" or expired:
        login = pending.pk if expired and pending is not None else _posted_login(request)
        try:
            if request.POST.get("demo_phone"):
                pending = login_import.login_qr_demo_scan(
                    instance=instance, actor=request.user, phone=request.POST["demo_phone"], login=login
                )
            else:
                # The page showing a code polls with "poll" (and its login's id): that never starts a new login.
                start = request.method == "POST" and not request.POST.get("poll")
                pending = login_import.login_qr_poll(instance=instance, actor=request.user, start=start, login=login)
        except (ActionRefused, TelegramError) as failure:
            error = failure.message
            pending = selectors.pending_login_for(instance)
        else:
            if pending is None:
                instance.refresh_from_db()
                messages.success(request, f"Logged in as {instance.telegram_name} with the QR code.")
                _warn_without_dashboard_key(request, instance)
                return _redirect_htmx(request, "instance_detail", instance.session)
            if pending.step == LoginStep.PASSWORD:
                return _redirect_htmx(request, "instance_login", instance.session)
            if request.method == "POST" and not request.htmx:
                return redirect("instance_login_qr", session=instance.session)
    if pending is not None and pending.step != LoginStep.QR:
        if error:
            messages.error(request, error)
        return redirect("instance_login", session=instance.session)
    from sessions_app.telegram.demo import demo_available

    # A code still expiring after the renewal (Telegram kept it a few seconds more, or could not be
    # reached) is not drawn: the page says a new one is coming, and its next poll brings it.
    showable = pending is not None and pending.qr_url and not login_import.qr_code_expiring(pending)
    context = {
        "instance": instance,
        "pending": pending,
        "qr_svg": _qr_svg(pending.qr_url) if pending is not None and showable else "",
        "error": error,
        "demo": demo_available(),
    }
    # htmx swaps only a 2xx: a poll that found its login gone must replace the polling card to stop.
    status = 400 if error and request.method == "POST" and not (request.htmx and pending is None) else 200
    return render(request, "sessions_app/login_qr.html", context, status=status)


def _redirect_htmx(request: AuthenticatedHttpRequest, name: str, session: str) -> HttpResponse:
    from django.urls import reverse

    url = reverse(name, kwargs={"session": session})
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)
