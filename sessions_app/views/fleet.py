"""Bringing an existing fleet in: Discover (objects already in the store) and bulk import (a file)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from sessions_app.forms_fleet import BulkImportForm
from sessions_app.http import AuthenticatedHttpRequest
from sessions_app.selectors import access
from sessions_app.selectors.fleet import objects_without_instance
from sessions_app.services.errors import ActionRefused
from sessions_app.services.fleet_discover import DISCOVER_MAX, fleet_take_in
from sessions_app.services.fleet_import import fleet_import


def _require_creator(request: AuthenticatedHttpRequest) -> None:
    # The same rule as "Add instance": these pages create instances.
    if not access.can_create_instances(request.user):
        raise PermissionDenied("Only team admins (staff) can add connector instances.")


@require_http_methods(["GET", "POST"])
def fleet_discover(request: AuthenticatedHttpRequest) -> HttpResponse:
    """GET lists the store's session objects that no instance holds; POST session=... (repeated) takes them in."""
    _require_creator(request)
    results, error = [], ""
    if request.method == "POST":
        try:
            results = fleet_take_in(actor=request.user, sessions=request.POST.getlist("session"))
        except ActionRefused as refusal:
            error = refusal.message
    context = {
        "discovery": objects_without_instance(),
        "results": results,
        "created": sum(1 for result in results if result.created),
        "error": error,
        "discover_max": DISCOVER_MAX,
    }
    return render(request, "sessions_app/fleet_discover.html", context, status=400 if error else 200)


@sensitive_post_parameters()
@sensitive_variables("form")
@require_http_methods(["GET", "POST"])
def fleet_bulk_import(request: AuthenticatedHttpRequest) -> HttpResponse:
    """GET the upload form; POST file=<CSV or zip>: each row imported in turn, one sentence per row."""
    _require_creator(request)
    form = BulkImportForm(request.POST, request.FILES) if request.method == "POST" else BulkImportForm()
    done = None
    if request.method == "POST" and form.is_valid():
        done = fleet_import(actor=request.user, rows=form.rows, kind=form.kind)
        form = BulkImportForm()
    context = {"form": form, "done": done}
    return render(request, "sessions_app/fleet_bulk_import.html", context, status=400 if form.errors else 200)
