"""/account/tokens/: a team member's personal API tokens (made, listed, revoked). Each acts as its user."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from sessions_app.forms_api import ApiTokenForm
from sessions_app.http import AuthenticatedHttpRequest
from sessions_app.selectors.api_tokens import api_token_of, api_tokens_of
from sessions_app.services.api_tokens import api_token_create, api_token_revoke
from sessions_app.services.errors import ActionRefused


@sensitive_variables("new")
@require_http_methods(["GET", "POST"])
def api_tokens(request: AuthenticatedHttpRequest) -> HttpResponse:
    """GET: the user's tokens. POST name, expires_days: a new token, shown on this response only."""
    form = ApiTokenForm(request.POST or None)
    new = None
    if request.method == "POST" and form.is_valid():
        try:
            new = api_token_create(
                user=request.user, name=form.cleaned_data["name"], expires_days=form.cleaned_data["expires_days"]
            )
        except ActionRefused as refusal:
            form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)
        else:
            form = ApiTokenForm()
    context = {"form": form, "tokens": api_tokens_of(request.user), "new": new}
    return render(request, "sessions_app/api_tokens.html", context, status=400 if form.errors else 200)


@require_POST
def api_token_revoke_view(request: AuthenticatedHttpRequest, token_id: int) -> HttpResponse:
    token = api_token_of(request.user, token_id)
    if token is None:  # someone else's token looks like no token at all
        raise Http404("No such token")
    api_token_revoke(user=request.user, token=token)
    messages.success(request, f"Revoked the token “{token.name}”: a request with it now gets 401.")
    return redirect("api_tokens")
