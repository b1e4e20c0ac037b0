"""Error handlers (teleconnect.urls.handler400): a refusal Django makes before any view runs, in words."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.urls import Resolver404, resolve
from django.views import defaults

from sessions_app.views.login import session_import_too_big


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 400, except a POST too large to read, which is explained (413).

    The CSRF check reads the POST before the view does, so a pasted 3 MB "session string" ends
    here, not in the import view: its own page then says what went wrong.
    """
    if not isinstance(exception, RequestDataTooBig):
        return defaults.bad_request(request, exception)
    try:
        match = resolve(request.path_info)
    except Resolver404:
        match = None
    if match is not None and match.url_name == "session_import":
        try:
            return session_import_too_big(request, **match.kwargs)
        except (Http404, PermissionDenied):
            pass  # someone without the owner role: the plain sentence below, nothing about the instance
    message = (
        f"The form sent more than {filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}, more than any page here "
        "takes, so nothing was read or changed. Go back and send less."
    )
    return render(request, "400.html", {"message": message}, status=413)
