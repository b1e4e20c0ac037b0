"""Several dialogs in flight on one connection: bounded, resumable per dialog, flood-aware, indexed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from sessions_app.models import ArchiveRun, Dialog, Message
from sessions_app.services.archive_pipeline import Stored
from sessions_app.services.archive_runs import archive_run_foreground
from sessions_app.services.archive_store import chunks_store
from sessions_app.telegram.archive import ArchiveConnection, ArchivedMessage
from tests.conftest import ADA, log_in
from tests.support import archived_messages

PHONE = ADA.lstrip("+")


class _Stop(Exception):
    """Stands for the worker dying mid-run (the run row is left as it was)."""


@pytest.fixture
def active(telegram, instance):
    return log_in(instance)


@pytest.fixture
def in_flight(monkeypatch):
    """Records, at every getHistory the archive sends, which dialogs have a request out."""
    seen: dict[str, object] = {"now": set(), "peak": 0, "peaks": []}
    fetch = ArchiveConnection.fetch

    async def counting(self, dialog, **kwargs):
        now: set[int] = seen["now"]  # type: ignore[assignment]
        now.add(dialog.peer_id)
        seen["peak"] = max(seen["peak"], len(now))  # type: ignore[call-overload]
        try:
            await asyncio.sleep(0.002)  # let the other dialogs' requests go out meanwhile
            return await fetch(self, dialog, **kwargs)
        finally:
            now.discard(dialog.peer_id)

    monkeypatch.setattr(ArchiveConnection, "fetch", counting)
    return seen


@pytest.mark.parametrize("limit", [1, 2, 4])
def test_it_reads_at_most_the_configured_number_of_dialogs_at_once(telegram, active, settings, in_flight, limit):
    settings.ARCHIVE_CONCURRENT_DIALOGS = limit
    telegram.seed_messages(PHONE, per_dialog=250, dialogs=6)
    run = archive_run_foreground(instance=active)
    assert run.status == "done"
    assert in_flight["peak"] == limit  # several at once when allowed, never more
    truth = telegram.history_of(PHONE)
    assert archived_messages(active) == {peer: rows for peer, rows in truth.items() if rows}


def test_a_run_stopped_with_dialogs_in_flight_resumes_to_exactly_the_full_set(telegram, active, settings, monkeypatch):
    settings.ARCHIVE_CONCURRENT_DIALOGS = 4
    monkeypatch.setattr("sessions_app.services.archive.BEAT_SECONDS", 0)  # progress after every transaction
    telegram.seed_messages(PHONE, per_dialog=1000, dialogs=6)  # 10+ chunks each: a batch never ends one
    telegram.answer_delay = 0.01
    truth = telegram.history_of(PHONE)
    total = sum(len(rows) for rows in truth.values())
    partial: list[int] = []

    def die_mid_run(progress):
        if progress.messages_saved >= 800:
            partial.extend(
                Dialog.objects.filter(instance=active, message_count__gt=0, history_complete=False).values_list(
                    "peer_id", flat=True
                )
            )
            raise _Stop()

    with pytest.raises(_Stop):
        archive_run_foreground(instance=active, listener=die_mid_run)
    at_stop = Message.objects.filter(instance=active).count()
    assert 0 < at_stop < total
    assert len(partial) >= 2  # it stopped with several dialogs half-archived
    for dialog in Dialog.objects.filter(instance=active):  # each dialog's checkpoints match its rows
        assert dialog.message_count == Message.objects.filter(dialog=dialog).count()
    ArchiveRun.objects.filter(instance=active).update(heartbeat_at=timezone.now() - timedelta(days=1))

    resumed = archive_run_foreground(instance=active)
    assert resumed.status == "done"
    assert archived_messages(active) == {peer: rows for peer, rows in truth.items() if rows}
    assert Message.objects.filter(instance=active).count() == total  # no duplicate
    assert resumed.messages_saved == total - at_stop
    for dialog in Dialog.objects.filter(instance=active):
        assert dialog.history_complete and dialog.message_count == len(truth.get(dialog.peer_id, []))
    assert list(ArchiveRun.objects.filter(instance=active).order_by("id").values_list("status", flat=True)) == [
        "interrupted",
        "done",
    ]


def test_a_flood_wait_pauses_every_dialog_and_counts_once(telegram, active, settings):
    settings.ARCHIVE_CONCURRENT_DIALOGS = 4
    telegram.seed_messages(PHONE, per_dialog=120, dialogs=6)
    telegram.answer_delay = 0.005  # the four first requests are all on their way before one is answered
    telegram.flood("messages.getHistory", 1)
    run = archive_run_foreground(instance=active)
    assert run.status == "done" and run.flood_waits == 1  # four refused requests, one wait
    truth = telegram.history_of(PHONE)
    assert archived_messages(active) == {peer: rows for peer, rows in truth.items() if rows}


def test_a_failure_in_one_dialog_ends_the_run_with_its_sentence(telegram, active, settings):
    settings.ARCHIVE_CONCURRENT_DIALOGS = 4
    telegram.seed_messages(PHONE, per_dialog=50)
    telegram.terminate_session(active.dashboard_session)
    run = archive_run_foreground(instance=active)
    assert run.status == "failed" and "Mint the dashboard's authorization" in run.error


@pytest.mark.skipif(connection.vendor != "sqlite", reason="EXPLAIN QUERY PLAN is SQLite's")
@pytest.mark.django_db
def test_the_archive_reads_stay_on_an_index_without_the_foreign_key_indexes(instance):
    dialog = Dialog.objects.create(instance=instance, peer_id=1, kind="user", title="Ada")
    queries = [
        Message.objects.filter(instance=instance).values("id"),
        Message.objects.filter(dialog=dialog).order_by("-message_id")[:51],
        Message.objects.filter(instance=instance, peer_id=1, message_id__in=[1, 2]).values("id"),
    ]
    for query in queries:
        sql, params = query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " / ".join(str(row[-1]) for row in cursor.fetchall())
        assert "USING" in plan and "INDEX" in plan, plan


def _row(message_id: int, when: datetime, *, edited: datetime | None = None, text: str = "") -> ArchivedMessage:
    return ArchivedMessage(
        message_id, when.timestamp(), edited.timestamp() if edited else None, None, "", text, None, None, "",
        "", "", None, "", None, None, False, "",
    )  # fmt: skip


@pytest.mark.django_db
def test_a_chunk_without_telegrams_count_leaves_no_total_below_the_stored_messages(instance):
    dialog = Dialog.objects.create(instance=instance, peer_id=7, kind="user", title="Ada")
    when = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    first = Stored(dialog.pk, [_row(i, when) for i in (1, 2)], backward=True, refresh=False, total=2)
    assert chunks_store([(dialog, first)]) == 2
    later = Stored(dialog.pk, [_row(i, when) for i in (3, 4, 5)], backward=False, refresh=False, total=None)
    assert chunks_store([(dialog, later)]) == 3
    dialog.refresh_from_db()
    assert dialog.message_count == 5 and dialog.total_on_server == 5


@pytest.mark.django_db
def test_stored_dates_read_back_exactly_as_the_orm_writes_them(instance):
    dialog = Dialog.objects.create(instance=instance, peer_id=7, kind="user", title="Ada")
    sent, edited = datetime(2026, 12, 1, 7, 0, 5, tzinfo=UTC), datetime(2026, 12, 2, 23, 59, 59, tzinfo=UTC)
    chunk = Stored(dialog.pk, [_row(1, sent, edited=edited), _row(2, sent)], backward=True, refresh=False, total=2)
    chunks_store([(dialog, chunk)])
    stored = {m.message_id: m for m in Message.objects.filter(dialog=dialog)}
    assert (stored[1].date, stored[1].edit_date, stored[2].edit_date) == (sent, edited, None)
    by_orm = Message.objects.create(
        instance=instance, dialog=dialog, peer_id=7, message_id=3, date=sent, edit_date=edited, text=""
    )
    table, date, edit_date = (connection.ops.quote_name(n) for n in (Message._meta.db_table, "date", "edit_date"))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {date}, {edit_date} FROM {table} WHERE id IN (%s, %s)", [stored[1].pk, by_orm.pk])  # noqa: S608
        raw = cursor.fetchall()
    assert raw[0] == raw[1]  # the same text (SQLite) or value (PostgreSQL) as the ORM's own
    assert Message.objects.filter(dialog=dialog, date=sent, edit_date__lte=edited).count() == 2
