"""/api/v1/instances/{session}/archive/: start a run (operators), read a run, search the archive (viewers)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from sessions_app.api.access import api_write, instance_for_api
from sessions_app.api.auth import user_of
from sessions_app.api.errors import ApiError, ErrorOut
from sessions_app.api.instances import READ, WRITE, valid
from sessions_app.models import ArchiveRun, Role
from sessions_app.models_media import MediaKind
from sessions_app.search import SearchQueryInvalid, search_page
from sessions_app.services import archive_runs as archive_service
from sessions_app.services.archive_media import MediaChoice
from sessions_app.services.audit import audit_record
from sessions_app.views.archive import SEARCH_PAGE_SIZE, ArchiveStartForm

router = Router(tags=["archive"])


class RunIn(Schema):
    use_takeout: bool = False
    refresh_edits_days: int = Field(default=0, description="Re-check edits of the last N days (0 to 365)")
    media_kinds: list[str] = Field(
        default_factory=list, description="Media to download: " + ", ".join(MediaKind.values)
    )
    media_max_bytes: int | None = Field(
        default=None, description="Largest file to download; null: ARCHIVE_MEDIA_MAX_BYTES"
    )


class RunOut(Schema):
    id: int
    session: str
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    dialogs_total: int
    dialogs_done: int
    dialogs_skipped: int
    messages_saved: int
    flood_wait_until: datetime | None
    error: str


class HitOut(Schema):
    peer_id: int
    dialog: str
    message_id: int
    date: datetime
    sender_name: str
    text: str


class SearchOut(Schema):
    items: list[HitOut]
    first: int
    next: str = Field(description="Pass as `after` for the next page; empty on the last page")


def _run_out(run: ArchiveRun, session: str) -> RunOut:
    return RunOut(
        id=run.pk,
        session=session,
        status=run.status,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        dialogs_total=run.dialogs_total,
        dialogs_done=run.dialogs_done,
        dialogs_skipped=run.dialogs_skipped,
        messages_saved=run.messages_saved,
        flood_wait_until=run.flood_wait_until,
        error=run.error,
    )


@router.post("/{session:session}/archive/runs/", response={202: RunOut, **WRITE})
@api_write("start an archive run on")
def archive_run_start(request: HttpRequest, session: str, payload: RunIn | None = None) -> Status:
    """Queue an archive run on the worker (operators), with the archive page's options."""
    instance = instance_for_api(request, session, Role.OPERATOR)
    options = payload or RunIn()
    data = valid(
        ArchiveStartForm(
            {
                "use_takeout": options.use_takeout,
                "refresh_edits_days": options.refresh_edits_days,
                "media_kinds": options.media_kinds,
                "media_max_bytes": options.media_max_bytes,
            }
        )
    )
    run = archive_service.archive_run_start(
        instance=instance,
        actor=user_of(request),
        use_takeout=bool(data["use_takeout"]),
        refresh_edits_days=int(str(data["refresh_edits_days"])),
        media=MediaChoice(tuple(data["media_kinds"]), data["media_max_bytes"]),  # type: ignore[arg-type]
    )
    return Status(202, _run_out(run, session))


@router.get("/{session:session}/archive/runs/{run_id}/", response={200: RunOut, **READ})
def archive_run(request: HttpRequest, session: str, run_id: int) -> RunOut:
    instance = instance_for_api(request, session)
    run = ArchiveRun.objects.filter(instance=instance, pk=run_id).first()
    if run is None:
        raise ApiError(404, f"No archive run {run_id} on {session}.")
    return _run_out(run, session)


class SearchQuery(Schema):
    q: str = Field(description="Words every result contains (text, sender or file name)")
    peer: int | None = Field(None, description="Only this dialog's messages")
    after: str = Field("", description="The `next` of the previous page")


@router.get("/{session:session}/archive/search/", response={200: SearchOut, 400: ErrorOut, **READ})
def archive_search(request: HttpRequest, session: str, query: Query[SearchQuery]) -> SearchOut:
    """Full-text search of the archive, 50 a page (viewers). That a search ran is audited, never its words."""
    instance = instance_for_api(request, session)
    if not query.q.strip():
        raise ApiError(400, "Give the words to search for in `q`.", "q")
    try:
        page = search_page(
            instance=instance, query=query.q.strip(), limit=SEARCH_PAGE_SIZE, peer_id=query.peer, after=query.after
        )
    except SearchQueryInvalid as invalid:
        raise ApiError(400, invalid.message, "q") from None
    audit_record(instance=instance, actor=user_of(request), action="archive.search", detail={"results": len(page.hits)})
    return SearchOut(
        items=[
            HitOut(
                peer_id=hit.message.peer_id,
                dialog=hit.message.dialog.title,
                message_id=hit.message.message_id,
                date=hit.message.date,
                sender_name=hit.message.sender_name,
                text=hit.message.text,
            )
            for hit in page.hits
        ],
        first=page.first,
        next=page.next,
    )
