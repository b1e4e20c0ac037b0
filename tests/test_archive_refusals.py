"""Dialogs Telegram refuses (left, banned, private, deleted) are skipped with their sentence; the run goes on."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse
from telethon import errors

from sessions_app.models import ArchiveRun, Dialog, Message
from sessions_app.services.archive_runs import archive_run_foreground
from sessions_app.telegram.errors import AccountBanned, SessionRevoked, translate
from sessions_app.telegram.refusals import DIALOG_REFUSALS, DialogRefused, dialog_refusal
from tests.conftest import client_for, demo_session, log_in
from tests.support import archived_messages

CY = "+9996611003"  # the demo account with a channel it was removed from and an upgraded group
PHONE = CY.lstrip("+")
GONE_PRIVATE = "You were removed from this channel, or it is private now."


@pytest.fixture
def cy(telegram, instance):
    return log_in(instance, demo_session(CY, "11111"))


def _readable_truth(telegram) -> dict[int, list[tuple[int, str]]]:
    return {peer: rows for peer, rows in telegram.history_of(PHONE).items() if rows}


def _forbidden_peer(telegram) -> int:
    with telegram.store.tx() as db:
        return int(db.execute("SELECT peer FROM peers WHERE kind = 'forbidden'").fetchone()["peer"])


def _set_kind(telegram, peer: int, kind: str) -> None:
    with telegram.store.tx() as db:
        db.execute("UPDATE peers SET kind = ? WHERE peer = ?", (kind, peer))


def test_a_run_over_a_forbidden_channel_skips_it_with_its_sentence_and_stores_the_rest_once(telegram, cy):
    telegram.seed_messages(PHONE, per_dialog=230)
    run = archive_run_foreground(instance=cy)
    assert run.status == "done" and run.error == ""
    assert run.dialogs_skipped == 1 and run.dialogs_done == run.dialogs_total - 1
    assert archived_messages(cy) == _readable_truth(telegram)
    assert run.messages_saved == sum(len(rows) for rows in _readable_truth(telegram).values())
    skipped = Dialog.objects.get(instance=cy, peer_id=_forbidden_peer(telegram))
    assert skipped.skip_reason == GONE_PRIVATE and skipped.kind == "channel"
    assert set(Dialog.objects.filter(instance=cy).exclude(skip_reason="").values_list("pk", flat=True)) == {skipped.pk}


def test_the_next_run_tries_the_skipped_dialog_again_and_reads_it_once_it_answers(telegram, cy):
    archive_run_foreground(instance=cy)
    peer = _forbidden_peer(telegram)
    again = archive_run_foreground(instance=cy)
    assert again.status == "done" and again.dialogs_skipped == 1 and again.messages_saved == 0
    _set_kind(telegram, peer, "broadcast")  # back in the channel (it has no messages in the demo)
    third = archive_run_foreground(instance=cy)
    assert third.status == "done" and third.dialogs_skipped == 0 and third.dialogs_done == third.dialogs_total
    assert Dialog.objects.get(instance=cy, peer_id=peer).skip_reason == ""


def test_a_refused_dialog_keeps_what_it_stored_and_resumes_without_gap_or_duplicate(telegram, cy):
    telegram.seed_messages(PHONE, per_dialog=150)
    archive_run_foreground(instance=cy)
    news = Dialog.objects.get(instance=cy, title="Demo News")
    before = Message.objects.filter(dialog=news).count()
    _set_kind(telegram, news.peer_id, "forbidden")
    telegram.seed_messages(PHONE, per_dialog=40)  # the refused channel gets none: forbidden is frozen
    refused = archive_run_foreground(instance=cy)
    assert refused.status == "done" and refused.dialogs_skipped == 2
    news.refresh_from_db()
    assert news.skip_reason == GONE_PRIVATE and news.message_count == before == news.messages.count()
    _set_kind(telegram, news.peer_id, "broadcast")
    telegram.seed_messages(PHONE, per_dialog=130)
    back = archive_run_foreground(instance=cy)
    assert back.status == "done" and back.dialogs_skipped == 1
    assert archived_messages(cy) == _readable_truth(telegram)
    news.refresh_from_db()
    assert news.skip_reason == "" and news.message_count == len(telegram.history_of(PHONE)[news.peer_id])


def test_manage_py_archive_exits_0_and_names_the_skipped_dialog_and_why(telegram, cy, capsys):
    call_command("archive", cy.session)  # raises CommandError (exit 1) on a failed run
    out = capsys.readouterr().out
    assert "run 1 done" in out.replace(str(ArchiveRun.objects.get().pk), "1")
    assert "1 dialog skipped" in out
    assert f"skipped Demo Gone Private ({_forbidden_peer(telegram)}): {GONE_PRIVATE}" in out


def test_the_archive_page_shows_the_skip_on_the_run_and_the_reason_on_the_dialog(telegram, cy, owner):
    archive_run_foreground(instance=cy)
    page = client_for(owner).get(reverse("archive", args=[cy.session])).content.decode()
    assert "1 dialog skipped" in page
    assert f"Skipped: {GONE_PRIVATE}" in page and "the next run tries again" in page


def test_an_account_level_failure_still_fails_the_run(telegram, cy):
    telegram.terminate_session(cy.dashboard_session)
    run = archive_run_foreground(instance=cy)
    assert run.status == "failed" and run.dialogs_skipped == 0 and run.error


@pytest.mark.parametrize(("error", "sentence"), DIALOG_REFUSALS)
def test_each_per_dialog_refusal_has_its_own_sentence(error, sentence):
    refused = dialog_refusal(error(request=None))
    assert isinstance(refused, DialogRefused) and refused.message == sentence
    assert len({s for _e, s in DIALOG_REFUSALS}) == len(DIALOG_REFUSALS)


def test_errors_about_the_account_are_not_dialog_refusals():
    assert dialog_refusal(errors.AuthKeyUnregisteredError(request=None)) is None
    assert isinstance(translate(errors.AuthKeyUnregisteredError(request=None)), SessionRevoked)
    assert dialog_refusal(errors.UserDeactivatedBanError(request=None)) is None
    assert isinstance(translate(errors.UserDeactivatedBanError(request=None)), AccountBanned)
