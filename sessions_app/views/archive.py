"""The message archive: dialogs and runs (start a run), one dialog's messages, search, export."""

from __future__ import annotations

from dataclasses import asdict
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpResponse, QueryDict, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from sessions_app import export
from sessions_app.http import AuthenticatedHttpRequest
from sessions_app.models import ConnectorInstance, Role
from sessions_app.models_media import MediaKind
from sessions_app.search import RANK_WINDOW, SearchHit, SearchQueryInvalid, search_page
from sessions_app.search.query import parse_query, short_search_hint
from sessions_app.selectors import access
from sessions_app.selectors import archive as selectors_archive
from sessions_app.selectors.archive import BIGINT_MAX, BIGINT_MIN, ArchiveProgress, DialogProgress
from sessions_app.services import archive_runs as archive_service
from sessions_app.services.archive_media import MediaChoice
from sessions_app.services.audit import audit_record
from sessions_app.services.errors import ActionRefused
from sessions_app.views.access import instance_for

SEARCH_PAGE_SIZE = 50


class PeerIdConverter:
    """Telethon's marked peer ids in URLs: signed 64-bit, negative for chats and channels."""

    regex = r"-?\d+"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not BIGINT_MIN <= number <= BIGINT_MAX:
            raise ValueError("peer id out of range")  # no match: 404
        return number

    def to_url(self, value: int) -> str:
        return str(int(value))


class ArchiveStartForm(forms.Form):
    use_takeout = forms.BooleanField(
        label="Use a takeout session",
        required=False,
        help_text="Telegram's data-export mode: gentler rate limits for long histories. "
        "Telegram may ask the account to allow it in the app first.",
    )
    refresh_edits_days = forms.IntegerField(
        label="Re-check edits of the last N days",
        min_value=0,
        max_value=365,
        initial=0,
        help_text="0 to 365. With 0 the run only fetches new messages.",
        error_messages={"required": "Enter a number of days from 0 to 365 (0 fetches only new messages)."},
    )
    media_kinds = forms.MultipleChoiceField(
        label="Download media",
        choices=MediaKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Files of the archived messages, each stored once. None ticked: messages only.",
    )
    media_max_bytes = forms.IntegerField(
        label="Largest file to download (bytes)",
        min_value=0,
        max_value=BIGINT_MAX,
        required=False,
        initial=lambda: settings.ARCHIVE_MEDIA_MAX_BYTES,
        help_text="Bigger files are skipped. Empty: ARCHIVE_MEDIA_MAX_BYTES.",
    )


class BadParameter(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _int_param(query: QueryDict, name: str, what: str) -> int | None:
    raw = query.get(name, "").strip()
    if not raw:
        return None
    try:
        number = int(raw)
    except ValueError:
        raise BadParameter(f"{name}={raw[:30]!r} is not {what}. Use a whole number, or leave it out.") from None
    if not BIGINT_MIN <= number <= BIGINT_MAX:
        raise BadParameter(f"{name}={raw[:30]!r} is out of range for {what}.")
    return number


# The archive page's live parts: the page renders these templates on load, and the instance's
# websocket (consumers.py) pushes them again as they change; htmx swaps them in by their ids.
def _tables_context(*, instance: ConnectorInstance, can_operate: bool) -> dict[str, object]:
    return {
        "instance": instance,
        "can_operate": can_operate,
        "dialogs": selectors_archive.dialogs_of(instance=instance),
        "runs": selectors_archive.archive_runs_recent(instance=instance),
    }


def instance_status_html(*, status: str, label: str) -> str:
    return render_to_string("sessions_app/archive/_status.html", {"status": status, "label": label})


def archive_live_html(*, progress: ArchiveProgress | None) -> str:
    """The run's live block (hidden without a run)."""
    return render_to_string("sessions_app/archive/_live.html", {"progress": progress})


def archive_start_html(*, instance: ConnectorInstance, progress: ArchiveProgress | None) -> str:
    """The start button of the operators' form: disabled while a run is active."""
    return render_to_string("sessions_app/archive/_start.html", {"instance": instance, "progress": progress})


def archive_dialog_html(dialog: DialogProgress) -> str:
    """The two counting cells of the dialog being archived (its row in the dialogs table)."""
    return render_to_string("sessions_app/archive/_dialog_progress.html", asdict(dialog))


def archive_dialogs_html(*, instance: ConnectorInstance, can_operate: bool) -> tuple[str, set[int]]:
    """The dialogs table alone, and the peers it has rows for."""
    dialogs = list(selectors_archive.dialogs_of(instance=instance))
    context = {**_tables_context(instance=instance, can_operate=can_operate), "dialogs": dialogs}
    return render_to_string("sessions_app/archive/_dialogs.html", context), {dialog.peer_id for dialog in dialogs}


def archive_tables_html(*, instance: ConnectorInstance, can_operate: bool) -> str:
    context = _tables_context(instance=instance, can_operate=can_operate)
    return render_to_string("sessions_app/archive/_dialogs.html", context) + render_to_string(
        "sessions_app/archive/_runs.html", context
    )


def _archive_page(
    request: AuthenticatedHttpRequest,
    instance: ConnectorInstance,
    role: str,
    form: ArchiveStartForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    run = selectors_archive.archive_run_current(instance=instance)
    can_operate = access.has_role(role, Role.OPERATOR)
    context = {
        **_tables_context(instance=instance, can_operate=can_operate),
        "progress": selectors_archive.archive_progress(run) if run is not None else None,
        "form": form or ArchiveStartForm(),
        "error": error,
    }
    return render(request, "sessions_app/archive/index.html", context, status=status)


@require_http_methods(["GET", "POST"])
def archive(request: AuthenticatedHttpRequest, session: str) -> HttpResponse:
    """GET: dialogs, recent runs and the active run's progress. POST: start a run (operator)."""
    if request.method == "GET":
        instance, role = instance_for(request, session, Role.VIEWER)
        return _archive_page(request, instance, role)

    instance, role = instance_for(request, session, Role.OPERATOR)
    form = ArchiveStartForm(request.POST)
    if not form.is_valid():
        return _archive_page(request, instance, role, form=form, status=400)
    try:
        run = archive_service.archive_run_start(
            instance=instance,
            actor=request.user,
            use_takeout=form.cleaned_data["use_takeout"],
            refresh_edits_days=form.cleaned_data["refresh_edits_days"],
            media=MediaChoice(tuple(form.cleaned_data["media_kinds"]), form.cleaned_data["media_max_bytes"]),
        )
    except ActionRefused as refused:
        return _archive_page(request, instance, role, form=form, error=refused.message, status=400)
    messages.success(request, f"Archive run {run.pk} queued. Progress shows below as it runs.")
    return redirect("archive", session=instance.session)


@require_GET
def archive_dialog(request: AuthenticatedHttpRequest, session: str, peer_id: int) -> HttpResponse:
    instance, role = instance_for(request, session, Role.VIEWER)
    dialog = selectors_archive.dialog_of(instance=instance, peer_id=peer_id)
    if dialog is None:
        raise Http404("No such dialog in this instance's archive")
    context: dict[str, object] = {
        "instance": instance,
        "dialog": dialog,
        "page": None,
        "error": "",
        "can_operate": access.has_role(role, Role.OPERATOR),
    }
    try:
        before = _int_param(request.GET, "before", "a message id")
        after = _int_param(request.GET, "after", "a message id")
        if before is not None and after is not None:
            raise BadParameter("Use either before= or after= to page through messages, not both.")
    except BadParameter as bad:
        context["error"] = bad.message
        return render(request, "sessions_app/archive/dialog.html", context, status=400)
    page = selectors_archive.message_page(dialog=dialog, before=before, after=after)
    context["page"] = page
    context["rows"] = selectors_archive.message_rows(page, dialog=dialog)
    return render(request, "sessions_app/archive/dialog.html", context)


@require_GET
def archive_search(request: AuthenticatedHttpRequest, session: str) -> HttpResponse:
    """Full-text search, 50 results a page: `after` is the cursor of the "Next 50" link (search_page)."""
    instance, _ = instance_for(request, session, Role.VIEWER)
    query = request.GET.get("q", "").strip()
    # The filter's choices, and what a dialog filter searches: the dialog with its old basic groups.
    dialogs = list(
        selectors_archive.dialogs_of(instance=instance).select_related(None).only("peer_id", "title", "migrated_to")
    )
    context: dict[str, object] = {
        "instance": instance,
        "query": query,
        "peer": None,
        "dialogs": dialogs,
        "results": [],
        "error": "",
    }
    try:
        peer = _int_param(request.GET, "peer", "a dialog's peer id")
    except BadParameter as bad:
        context["error"] = bad.message
        return render(request, "sessions_app/archive/search.html", context, status=400)
    context["peer"] = peer
    if not query:
        return render(request, "sessions_app/archive/search.html", context)
    try:
        page = search_page(
            instance=instance,
            query=query,
            limit=SEARCH_PAGE_SIZE,
            peer_id=peer,
            after=request.GET.get("after", ""),
            conversation=None
            if peer is None
            else selectors_archive.conversation_peer_ids(dialogs=dialogs, peer_id=peer),
        )
    except SearchQueryInvalid as invalid:
        context["error"] = invalid.message
        return render(request, "sessions_app/archive/search.html", context, status=400)
    context["hint"] = short_search_hint(parse_query(query))  # parsed once more: search_page accepted it
    # That a search happened is recorded, never what was searched for.
    audit_record(instance=instance, actor=request.user, action="archive.search", detail={"results": len(page.hits)})
    context["results"] = _result_rows(instance=instance, hits=page.hits)
    context["page"] = {
        "first": page.first,
        "last": page.first + len(page.hits) - 1,
        "later": page.first > 1,
        "size": SEARCH_PAGE_SIZE,
        "window": RANK_WINDOW,
    }
    if page.next:
        kept = {"q": query, **({"peer": str(peer)} if peer is not None else {}), "after": page.next}
        context["next_url"] = "?" + urlencode(kept)
    return render(request, "sessions_app/archive/search.html", context)


def _result_rows(*, instance: ConnectorInstance, hits: list[SearchHit]) -> list[dict[str, object]]:
    """The results as the page prints them: plain values, one link reversed per dialog rather than per result.

    hit.snippet and hit.media are SafeStrings: the search module escapes the text and adds only <mark>.
    """
    dialog_urls: dict[int, str] = {}
    rows: list[dict[str, object]] = []
    for hit in hits:
        message, dialog = hit.message, hit.message.dialog
        if dialog.peer_id not in dialog_urls:
            dialog_urls[dialog.peer_id] = reverse("archive_dialog", args=[instance.session, dialog.peer_id])
        rows.append(
            {
                "href": f"{dialog_urls[dialog.peer_id]}?before={message.message_id + 1}#m{message.message_id}",
                "snippet": hit.snippet,
                "media": hit.media,
                "dialog_title": dialog.title,
                "sender": message.sender_name or (str(message.sender_id) if message.sender_id else ""),
                "date": timezone.localtime(message.date).strftime("%Y-%m-%d %H:%M"),  # the date filter's "Y-m-d H:i"
            }
        )
    return rows


@require_GET
def archive_export(request: AuthenticatedHttpRequest, session: str) -> HttpResponseBase:
    """The whole archive (or one dialog) as a download: operators only, and audited, as it leaves the dashboard."""
    instance, _ = instance_for(request, session, Role.OPERATOR)
    export_format = request.GET.get("format", "")
    if export_format not in export.FORMATS:
        return HttpResponse(
            f"Unknown export format {export_format[:20]!r}. Use format=jsonl (one JSON object per line) or format=csv.",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    try:
        peer = _int_param(request.GET, "peer", "a dialog's peer id")
    except BadParameter as bad:
        return HttpResponse(bad.message, status=400, content_type="text/plain; charset=utf-8")
    dialog = selectors_archive.dialog_of(instance=instance, peer_id=peer) if peer is not None else None
    if peer is not None and dialog is None:
        raise Http404("No such dialog in this instance's archive")
    lines = export.archive_export_start(
        instance=instance, actor=request.user, export_format=export_format, peer_id=peer
    )
    response = StreamingHttpResponse(
        export.aiter_sync(lines) if isinstance(request, ASGIRequest) else lines,
        content_type=export.FORMATS[export_format],
    )
    response["Content-Disposition"] = (
        export.dialog_download_disposition(
            title=dialog.title, peer_id=dialog.peer_id, export_format=export_format, day=timezone.localdate()
        )
        if dialog is not None
        else export.archive_download_disposition(session=instance.session, export_format=export_format)
    )
    response["Cache-Control"] = "no-store"
    return response
