"""An upgraded group is whole: the old basic group's messages are archived, shown, exported and searched with it."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from sessions_app.models import Dialog, Message
from sessions_app.search import search_messages
from sessions_app.selectors.archive import message_page
from sessions_app.services.archive_runs import archive_run_foreground
from sessions_app.telegram.fake.history import MIGRATED_NEW_MESSAGES, MIGRATED_OLD_MESSAGES
from tests.conftest import client_for, demo_session, log_in

CY = "+9996611003"
PHONE = CY.lstrip("+")


@pytest.fixture
def archived(telegram, instance):
    cy = log_in(instance, demo_session(CY, "11111"))
    run = archive_run_foreground(instance=cy)
    assert run.status == "done"
    return cy


@pytest.fixture
def club(archived) -> tuple[Dialog, Dialog]:
    supergroup = Dialog.objects.get(instance=archived, title="Demo Club", kind="supergroup")
    old = Dialog.objects.get(instance=archived, migrated_to=supergroup)
    return supergroup, old


def test_the_old_basic_group_is_archived_under_its_own_ids_and_linked_to_its_supergroup(telegram, archived, club):
    supergroup, old = club
    truth = telegram.history_of(PHONE)
    assert old.kind == "group" and old.peer_id == -(4_300_000 + 2) and old.history_complete
    assert list(old.messages.order_by("message_id").values_list("message_id", "text")) == truth[old.peer_id]
    assert (
        list(supergroup.messages.order_by("message_id").values_list("message_id", "text")) == truth[supergroup.peer_id]
    )
    assert old.messages.count() == MIGRATED_OLD_MESSAGES and supergroup.messages.count() == MIGRATED_NEW_MESSAGES
    assert old.messages.filter(action_type="ChatMigrateTo").count() == 1
    assert supergroup.messages.filter(action_type="ChannelMigrateFrom", message_id=1).count() == 1


def test_a_later_run_reads_the_old_group_again_without_duplicates(telegram, archived, club):
    again = archive_run_foreground(instance=archived)
    assert again.status == "done" and again.messages_saved == 0
    assert again.dialogs_total == Dialog.objects.filter(instance=archived).count()
    assert Message.objects.filter(dialog=club[1]).count() == MIGRATED_OLD_MESSAGES


def test_the_dialog_page_shows_one_conversation_in_date_order(archived, club, owner):
    supergroup, old = club
    page = message_page(dialog=supergroup, size=50)
    dates = [message.date for message in page.messages]
    assert len(page.messages) == MIGRATED_OLD_MESSAGES + MIGRATED_NEW_MESSAGES
    assert dates == sorted(dates, reverse=True)
    assert {message.peer_id for message in page.messages} == {supergroup.peer_id, old.peer_id}
    small = message_page(dialog=supergroup, size=4)  # paging crosses from one chat into the other
    seen = list(small.messages)
    while small.has_older:
        small = message_page(dialog=supergroup, size=4, before=small.older_cursor)
        seen += small.messages
    assert [(m.peer_id, m.message_id) for m in seen] == [(m.peer_id, m.message_id) for m in page.messages]
    html = (
        client_for(owner).get(reverse("archive_dialog", args=[archived.session, supergroup.peer_id])).content.decode()
    )
    assert "Club after the upgrade #4" in html and "Club before the upgrade #1" in html
    assert html.index("Club after the upgrade #4") < html.index("Club before the upgrade #1")  # newest first
    assert "before the upgrade</span>" in html
    assert f"and {MIGRATED_OLD_MESSAGES} from the basic group it was upgraded from" in html
    anchors = [f'id="m{old.peer_id}-{m}"' for m in old.messages.values_list("message_id", flat=True)]
    assert all(anchor in html for anchor in anchors)


def test_the_export_of_the_supergroup_has_both_halves_each_keyed_by_its_own_chat(archived, club, owner):
    supergroup, old = club
    response = client_for(owner).get(
        reverse("archive_export", args=[archived.session]), {"format": "jsonl", "peer": supergroup.peer_id}
    )
    rows = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines() if line]
    keys = [(row["peer_id"], row["message_id"]) for row in rows]
    assert len(keys) == len(set(keys)) == MIGRATED_OLD_MESSAGES + MIGRATED_NEW_MESSAGES
    assert [peer for peer, _ in keys] == [old.peer_id] * MIGRATED_OLD_MESSAGES + [
        supergroup.peer_id
    ] * MIGRATED_NEW_MESSAGES


def test_searching_the_supergroup_finds_messages_from_both_sides(archived, club, owner):
    supergroup, old = club
    hits = search_messages(instance=archived, query="upgrade", peer_id=supergroup.peer_id)
    assert {hit.message.peer_id for hit in hits} == {supergroup.peer_id, old.peer_id}
    assert len(hits) == (MIGRATED_OLD_MESSAGES - 2) + (MIGRATED_NEW_MESSAGES - 1)  # the service messages have no text
    elsewhere = Dialog.objects.get(instance=archived, title="Demo Family")
    assert search_messages(instance=archived, query="upgrade", peer_id=elsewhere.peer_id) == []
    html = (
        client_for(owner)
        .get(reverse("archive_search", args=[archived.session]), {"q": "upgrade", "peer": supergroup.peer_id})
        .content.decode()
    )
    assert "Club before the" in html and "Club after the" in html


def test_the_dialogs_table_links_the_old_group_to_its_supergroup(archived, club, owner):
    supergroup, old = club
    html = client_for(owner).get(reverse("archive", args=[archived.session])).content.decode()
    row = html[html.index(f'<tr id="dialog-{old.peer_id}">') :]
    row = row[: row.index("</tr>")]
    assert reverse("archive_dialog", args=[archived.session, supergroup.peer_id]) in row and "data-upgraded" in row
