"""GET /instances/<s>/archive/export/?format=jsonl|csv: streamed, ordered, flat memory (operators; see tests/security)."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import AsyncClient, Client
from django.test.utils import CaptureQueriesContext

from sessions_app import export
from sessions_app.models import Message
from tests.archive_ui.conftest import make_dialog, make_messages
from tests.conftest import client_for

URL = "/instances/prod-bot/archive/export/"


@pytest.fixture
def archive(instance):
    """Three dialogs (negative, small and large peer ids) with every kind of field filled somewhere."""
    channel = make_dialog(instance, -1001234567890, "Канал «новости»", kind="channel")
    chat = make_dialog(instance, -4242, 'Team, "quoted"', kind="group")
    user = make_dialog(instance, 777, "Alice")
    make_messages(channel, [3, 1, 2], views=10)
    make_messages(chat, [5], is_service=True, action_type="MessageActionChatAddUser", sender_id=None, sender_name="")
    make_messages(
        chat,
        [6],
        text='multi\nline, with "quotes" and émoji 🎉',
        reply_to_id=5,
        topic_id=1,
        forward_from="Bob",
        media_kind="document",
        media_file_name="a,b.pdf",
        media_size=2048,
        media_mime="application/pdf",
        grouped_id=99,
        edit_date=datetime(2024, 5, 1, 8, 30, tzinfo=UTC),
    )
    make_messages(user, [10, 11])
    return instance


def expected_rows(instance) -> list[dict]:
    """The export's contract, written out independently of export.py."""
    rows = []
    for message in Message.objects.filter(instance=instance).select_related("dialog"):
        rows.append(
            {
                "peer_id": message.peer_id,
                "dialog_title": message.dialog.title,
                "message_id": message.message_id,
                "date": message.date.isoformat(),
                "edit_date": message.edit_date.isoformat() if message.edit_date else None,
                "sender_id": message.sender_id,
                "sender_name": message.sender_name,
                "text": message.text,
                "reply_to_id": message.reply_to_id,
                "topic_id": message.topic_id,
                "forward_from": message.forward_from,
                "media_kind": message.media_kind,
                "media_file_name": message.media_file_name,
                "media_size": message.media_size,
                "media_mime": message.media_mime,
                "media_path": "",  # no file stored (tests/archive_media covers stored ones)
                "views": message.views,
                "grouped_id": message.grouped_id,
                "is_service": message.is_service,
                "action_type": message.action_type,
            }
        )
    return sorted(rows, key=lambda row: (row["peer_id"], row["message_id"]))


def body(response) -> str:
    assert response.streaming
    return b"".join(response.streaming_content).decode("utf-8")


def test_jsonl_holds_every_message_in_peer_then_id_order(archive, operator_client):
    response = operator_client.get(URL, {"format": "jsonl"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="prod-bot-archive.jsonl"'
    text = body(response)
    assert "Канал «новости»" in text and "🎉" in text  # ensure_ascii=False
    rows = [json.loads(line) for line in text.splitlines()]
    assert rows == expected_rows(archive)
    assert [(row["peer_id"], row["message_id"]) for row in rows][:4] == [
        (-1001234567890, 1), (-1001234567890, 2), (-1001234567890, 3), (-4242, 5)
    ]  # fmt: skip
    assert rows[3]["is_service"] is True and rows[3]["sender_id"] is None
    assert rows[4]["edit_date"] == "2024-05-01T08:30:00+00:00"


def test_csv_round_trips_through_a_csv_reader(archive, operator_client):
    response = operator_client.get(URL, {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="prod-bot-archive.csv"'
    reader = csv.DictReader(io.StringIO(body(response), newline=""))
    assert reader.fieldnames == export.FIELDS
    as_text = [
        {key: "" if value is None else str(value).lower() if isinstance(value, bool) else str(value) for key, value in row.items()}
        for row in expected_rows(archive)
    ]  # fmt: skip
    assert list(reader) == as_text


def test_one_dialog_can_be_exported_alone(archive, operator_client):
    rows = [
        json.loads(line) for line in body(operator_client.get(URL, {"format": "jsonl", "peer": "-4242"})).splitlines()
    ]
    assert [(row["peer_id"], row["message_id"]) for row in rows] == [(-4242, 5), (-4242, 6)]
    assert operator_client.get(URL, {"format": "jsonl", "peer": "12345"}).status_code == 404
    assert operator_client.get(URL, {"format": "jsonl", "peer": "x"}).status_code == 400


def test_an_empty_archive_is_an_empty_file_or_just_the_header(instance, operator_client):
    assert body(operator_client.get(URL, {"format": "jsonl"})) == ""
    assert body(operator_client.get(URL, {"format": "csv"})).strip() == ",".join(export.FIELDS)


@pytest.mark.parametrize("query", [{"format": "xml"}, {}, {"format": "JSONL"}])
def test_an_unknown_format_is_a_400_with_a_sentence(instance, operator_client, query):
    response = operator_client.get(URL, query)
    assert response.status_code == 400
    assert "Use format=jsonl (one JSON object per line) or format=csv." in response.content.decode()


def test_only_the_instance_team_can_export(archive, outsider, other_instance):
    assert client_for(outsider).get(URL, {"format": "csv"}).status_code == 404
    response = Client().get(URL, {"format": "csv"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    make_messages(make_dialog(other_instance, 1, "Theirs"), [1])
    ours = body(client_for(archive.memberships.get(role="operator").user).get(URL, {"format": "jsonl"}))
    assert "Theirs" not in ours
    theirs = body(client_for(outsider).get(URL.replace("prod-bot", "other-bot"), {"format": "jsonl"}))
    assert [json.loads(line)["dialog_title"] for line in theirs.splitlines()] == ["Theirs"]


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 4, 1000])
def test_keyset_chunks_neither_skip_nor_repeat_rows(archive, chunk_size):
    pieces = export.export_lines(instance=archive, export_format="jsonl", chunk_size=chunk_size)
    rows = [json.loads(line) for line in "".join(pieces).splitlines()]
    assert rows == expected_rows(archive)


def test_it_reads_in_keyset_chunks_never_with_offset(instance):
    dialog = make_dialog(instance, 1, "One")
    make_messages(dialog, range(1, 4501))
    with CaptureQueriesContext(connection) as queries:
        lines = "".join(export.export_lines(instance=instance, export_format="jsonl"))
    assert lines.count("\n") == 4500
    message_queries = [q["sql"] for q in queries.captured_queries if "sessions_app_message" in q["sql"]]
    assert len(message_queries) == 3  # 2000 + 2000 + 500
    assert all("OFFSET" not in sql.upper() and "LIMIT 2000" in sql.upper() for sql in message_queries)


def _peak_bytes(instance, export_format: str) -> int:
    tracemalloc.start()
    try:
        for _piece in export.export_lines(instance=instance, export_format=export_format):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("export_format", ["jsonl", "csv"])
def test_memory_stays_flat_as_the_archive_grows(instance, export_format):
    dialog = make_dialog(instance, 1, "Busy")
    make_messages(dialog, range(1, 2001), text="x" * 200)
    small = _peak_bytes(instance, export_format)
    make_messages(dialog, range(2001, 20001), text="x" * 200)
    large = _peak_bytes(instance, export_format)
    print(f"{export_format}: peak {small / 1e6:.2f} MB for 2k rows, {large / 1e6:.2f} MB for 20k rows")
    assert large < 3 * small


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("close_thread_connections")
async def test_under_asgi_it_streams_with_an_async_iterator(archive, operator):
    from asgiref.sync import sync_to_async

    client = AsyncClient()
    await sync_to_async(client.force_login)(operator)
    response = await client.get(URL, {"format": "jsonl"})
    assert response.status_code == 200 and response.streaming and response.is_async
    pieces = [piece async for piece in response.streaming_content]
    rows = [json.loads(line) for line in b"".join(pieces).decode().splitlines()]
    assert rows == await sync_to_async(expected_rows)(archive)
