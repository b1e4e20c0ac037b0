"""GET /instances/<s>/archive/: dialogs, runs and the active run; POST starts a run."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions_app.models import ArchiveRun, ArchiveStatus, AuditEvent
from tests.archive_ui.conftest import make_dialog, make_messages
from tests.conftest import client_for, log_in

URL = "/instances/prod-bot/archive/"


@pytest.fixture
def logged_in(instance, telegram):
    return log_in(instance)


def test_it_lists_dialogs_with_counts_and_progress(instance, viewer_client):
    chat = make_dialog(instance, -1001234567890, "Team <b>chat</b>", kind="supergroup", total_on_server=200)
    make_messages(chat, range(1, 51))
    make_dialog(instance, 42, "Alice", last_message_date=timezone.now())
    page = viewer_client.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="/instances/prod-bot/archive/-1001234567890/"' in html
    assert "Team &lt;b&gt;chat&lt;/b&gt;" in html and "<b>chat" not in html
    assert '<progress max="200" value="50"></progress>' in html
    assert "total not known yet" in html  # Alice: no total from the server yet
    assert html.index("Alice") < html.index("Team &lt;b&gt;")  # most recent first, never-dated last


def test_it_shows_the_active_run_from_the_database_without_javascript(instance, viewer_client):
    dialog = make_dialog(instance, 7, "Big channel", kind="channel", total_on_server=900)
    make_messages(dialog, range(1, 301))
    now = timezone.now()
    ArchiveRun.objects.create(
        instance=instance,
        status=ArchiveStatus.FLOOD_WAIT,
        started_at=now - timedelta(seconds=100),
        dialogs_total=5,
        dialogs_done=2,
        messages_saved=1234,
        current_dialog=dialog,
        flood_wait_until=now + timedelta(seconds=30),
        flood_waits=3,
    )
    html = viewer_client.get(URL).content.decode()
    live = html[
        html.index('<div class="card live" id="archive-live"') : html.index('<div class="card" id="archive-dialogs"')
    ]
    assert "hidden" not in live[: live.index(">")]
    assert '<span data-field="status">waiting for Telegram</span>' in live
    assert '<span data-field="messages_saved">1234</span>' in live
    assert '<span data-field="dialogs_done">2</span> of <span data-field="dialogs_total">5</span>' in live
    assert '<progress max="5" value="2">' in live
    assert (
        "Big channel" in live
        and '<span data-field="dialog_archived">300</span> of <span data-field="dialog_total">900</span>' in live
    )
    assert re.search(r"12\.\d</span> messages/s", live)  # 1234 messages in about 100 s
    wait = int(re.search(r'resuming in <span data-field="flood_wait_seconds">(\d+)</span> s', live).group(1))
    assert 29 <= wait <= 30  # 30 s from now, rounded up
    assert "data-finished" not in live


def test_the_page_connects_the_htmx_websocket_extension_and_ships_no_script_of_its_own(instance, viewer_client):
    html = viewer_client.get(URL).content.decode()
    assert '<div hx-ext="ws" ws-connect="/ws/instances/prod-bot/">' in html
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts == ["/static/django_htmx/htmx-2.min.js", "/static/django_htmx/ext/hx-ws-2.min.js"]
    assert "<script>" not in html and " on" + "message" not in html


def test_the_page_renders_the_live_parts_the_socket_pushes(instance, operator):
    from sessions_app.selectors.archive import archive_progress, archive_run_current
    from sessions_app.views.archive import archive_live_html, archive_start_html, archive_tables_html

    dialog = make_dialog(instance, 7, "Big channel", total_on_server=900)
    make_messages(dialog, range(1, 11))
    ArchiveRun.objects.create(instance=instance, status=ArchiveStatus.DONE, messages_saved=99)
    ArchiveRun.objects.create(
        instance=instance, status=ArchiveStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now(),
        messages_saved=10, dialogs_total=1, current_dialog=dialog,
    )  # fmt: skip

    def squeeze(html: str) -> str:
        return re.sub(r">\s+<", "><", html.strip())

    page = squeeze(client_for(operator).get(URL).content.decode())
    progress = archive_progress(archive_run_current(instance=instance))
    for fragment in (
        archive_live_html(progress=progress),
        archive_start_html(instance=instance, progress=progress),
        archive_tables_html(instance=instance, can_operate=True),
    ):
        assert squeeze(fragment) in page


def test_without_an_active_run_the_live_area_is_hidden_and_past_runs_are_listed(instance, viewer_client):
    ArchiveRun.objects.create(instance=instance, status=ArchiveStatus.FAILED, messages_saved=17, flood_waits=2,
                              error="Telegram says the session was revoked. Log in again.")  # fmt: skip
    ArchiveRun.objects.create(instance=instance, status=ArchiveStatus.DONE, messages_saved=5000)
    html = viewer_client.get(URL).content.decode()
    assert re.search(r'id="archive-live"[^>]*hidden', html)
    assert "Telegram says the session was revoked. Log in again." in html
    assert ">5000<" in html and ">17<" in html and ">2<" in html


def test_a_viewer_sees_the_page_but_not_the_start_form(instance, viewer_client, operator):
    assert "Start an archive run" not in viewer_client.get(URL).content.decode()
    assert "Start an archive run" in client_for(operator).get(URL).content.decode()


def test_an_outsider_gets_404_and_an_anonymous_user_is_sent_to_sign_in(instance, outsider_client):
    assert outsider_client.get(URL).status_code == 404
    assert outsider_client.post(URL, {"refresh_edits_days": "0"}).status_code == 404
    response = Client().get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")
    assert Client().post(URL, {"refresh_edits_days": "0"}).status_code == 302
    assert not ArchiveRun.objects.exists()


def test_the_instance_page_links_to_the_archive(instance, viewer_client):
    assert f'href="{URL}"' in viewer_client.get("/instances/prod-bot/").content.decode()


def test_it_starts_a_run_for_an_operator(logged_in, operator):
    client = client_for(operator)
    response = client.post(URL, {"use_takeout": "on", "refresh_edits_days": "7"})
    assert response.status_code == 302 and response["Location"] == URL
    run = ArchiveRun.objects.get(instance=logged_in)
    assert run.status == ArchiveStatus.QUEUED and run.use_takeout and run.refresh_edits_days == 7
    assert run.started_by == operator and run.task_id
    assert AuditEvent.objects.filter(instance=logged_in, action="archive.start").exists()
    html = client.get(URL).content.decode()
    assert f"Archive run {run.pk} queued" in html
    assert re.search(r'id="archive-live">', html) and '<span data-field="status">queued</span>' in html
    assert re.search(r'<button type="submit" disabled title="A run is already active">', html)


def test_starting_a_run_needs_the_operator_role(logged_in, viewer_client):
    response = viewer_client.post(URL, {"refresh_edits_days": "0"})
    assert response.status_code == 403
    assert not ArchiveRun.objects.exists()


def test_a_second_run_is_refused_with_the_reason(logged_in, operator):
    ArchiveRun.objects.create(instance=logged_in, status=ArchiveStatus.RUNNING, heartbeat_at=timezone.now())
    response = client_for(operator).post(URL, {"refresh_edits_days": "0"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "in progress for this instance" in page and "taken over in 1 min 30 s" in page
    assert ArchiveRun.objects.count() == 1


def test_an_instance_without_a_session_cannot_start(instance, operator):
    response = client_for(operator).post(URL, {"refresh_edits_days": "0"})
    assert response.status_code == 400
    assert "no working session" in response.content.decode()
    assert not ArchiveRun.objects.exists()


@pytest.mark.parametrize("days", ["366", "-1", "abc", ""])
def test_it_rejects_a_bad_number_of_days(logged_in, operator, days):
    response = client_for(operator).post(URL, {"refresh_edits_days": days})
    assert response.status_code == 400
    assert 'class="errorlist"' in response.content.decode()
    assert not ArchiveRun.objects.exists()


def test_it_answers_only_get_and_post(instance, viewer_client):
    assert viewer_client.delete(URL).status_code == 405


def test_the_query_count_does_not_grow_with_dialogs_or_runs(instance, viewer_client):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert viewer_client.get(URL).status_code == 200
        return len(queries)

    first = make_dialog(instance, 1, "First")
    ArchiveRun.objects.create(
        instance=instance, status=ArchiveStatus.DONE, current_dialog=first, started_by=instance.created_by
    )
    few = count()
    for peer in range(2, 40):
        make_dialog(instance, peer, f"Dialog {peer}", total_on_server=10)
    for _ in range(12):
        ArchiveRun.objects.create(
            instance=instance, status=ArchiveStatus.FAILED, current_dialog=first, started_by=instance.created_by
        )
    ArchiveRun.objects.create(instance=instance, status=ArchiveStatus.RUNNING, current_dialog=first)
    assert count() == few <= 8
