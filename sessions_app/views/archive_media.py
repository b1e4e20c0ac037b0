"""A stored media file of the archive, streamed from the media store to a signed-in team member.

No public or presigned URL ever points at the store: every file goes through this view and its
access check. Raster images show inline (the dialog page's <img>); every other type is an
attachment, and `nosniff` keeps a browser from reading a file as something it is not.

Viewing a file is a read, like the dialog page that shows it, and is not audited (a page of
images would write one audit row per picture); the export, which carries the archive away in
bulk, is.
"""

from __future__ import annotations

import re

from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from sessions_app.http import AuthenticatedHttpRequest
from sessions_app.models import Role
from sessions_app.selectors import archive as selectors_archive
from sessions_app.storage import StoreError, get_media_storage
from sessions_app.storage.media import safe_file_name
from sessions_app.views.access import instance_for

# The type the sender's client claimed, used only when it is a bare `type/subtype` (RFC 6838
# characters): parameters, spaces or line breaks would reach the header as they are.
_MIME = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}")
MEDIA_POLICY = "default-src 'none'; sandbox"
# A browser shows an image opened on its own in a page of its own making, styled inline: allow
# that style (the bytes are a raster image: still no script, nothing loaded).
IMAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


@require_GET
def archive_media(request: AuthenticatedHttpRequest, session: str, media_id: int) -> HttpResponseBase:
    instance, _ = instance_for(request, session, Role.VIEWER)
    media = selectors_archive.archived_media_of(instance=instance, media_id=media_id)
    if media is None:
        raise Http404("No such stored file in this instance's archive")
    try:
        handle = get_media_storage().open(media.store_key, "rb")
    except FileNotFoundError:
        raise Http404("This file is missing from the media store") from None
    except StoreError as error:
        return HttpResponse(
            f"The media store cannot be read right now: {error.message}",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    response = FileResponse(
        handle,
        as_attachment=not media.is_image,
        filename=safe_file_name(kind=media.kind, file_name=media.file_name, mime=media.mime),
        content_type=_served_type(media.mime),
    )
    response["X-Content-Type-Options"] = "nosniff"
    # Whatever a browser makes of the bytes, they run no script and load nothing (django-csp
    # leaves a response's own policy alone).
    response["Content-Security-Policy"] = IMAGE_POLICY if media.is_image else MEDIA_POLICY
    return response


def _served_type(mime: str) -> str:
    """The sender's MIME type when it is one (a bare type/subtype); anything else is plain bytes."""
    return mime if _MIME.fullmatch(mime) else "application/octet-stream"
