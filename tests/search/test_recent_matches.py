"""PostgreSQL: a word in a few percent of the messages reads its newest matches through a bitmap (migration 0023).

The ranked window is the same rows whichever way they are read: these tests compare the pages of
the planner's own way with those of the estimated floor, and of a floor set too high on purpose.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sessions_app import search
from sessions_app.models import Dialog, Message
from sessions_app.search import postgresql
from sessions_app.search.query import parse_query
from tests.search.support import walk_pages

pytestmark = pytest.mark.only_on("postgresql")

MESSAGES = 400
EVERY = 25  # one message in 25 holds "sparse": 4%, under WALK_DENSITY


@pytest.fixture
def filled(archive, account):
    """400 messages that all hold "common", every 25th also "sparse"; analyzed, as autovacuum leaves a table."""
    dialog = archive.dialog(account, 5)
    Message.objects.bulk_create(
        Message(
            instance=account,
            dialog=dialog,
            peer_id=5,
            message_id=n,
            date=datetime(2026, 1, 2, tzinfo=UTC),
            text=f"common words {n}" + (" sparse" if n % EVERY == 0 else ""),
        )
        for n in range(1, MESSAGES + 1)
    )
    Dialog.objects.filter(pk=dialog.pk).update(message_count=MESSAGES)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sessions_app_message")
    return account


def pages(instance, query: str, *, peer_id: int | None = None) -> tuple[list[list[int]], list[str]]:
    """The message ids of every page (3 a page), and the SQL that read them."""
    with CaptureQueriesContext(connection) as queries:
        walked = walk_pages(instance, query, limit=3, peer_id=peer_id)
    return [[hit.message.message_id for hit in page.hits] for page in walked], [q["sql"] for q in queries]


def reads_recent(sql: list[str]) -> bool:
    return any(postgresql.RECENT_FUNCTION in statement for statement in sql)


def test_a_word_in_a_few_percent_of_the_messages_gets_a_floor_and_a_common_or_unknown_one_none(filled):
    newest = Message.objects.order_by("-id").values_list("id", flat=True).first()

    floor = postgresql.recent_floor(terms=parse_query("sparse"), instance_id=filled.pk, window=5)

    assert floor is not None and 0 < floor < newest
    assert postgresql.recent_floor(terms=parse_query("common"), instance_id=filled.pk, window=5) is None
    assert postgresql.recent_floor(terms=parse_query("absent"), instance_id=filled.pk, window=5) is None


@pytest.mark.parametrize("margin", [postgresql.FLOOR_MARGIN, 0.01], ids=["estimated floor", "floor too high"])
def test_the_pages_are_the_same_as_the_planners_whatever_the_floor(filled, monkeypatch, margin):
    monkeypatch.setattr(search, "RANK_WINDOW", 5)  # 16 matches: a ranked window, then older matches
    monkeypatch.setattr(postgresql, "WALK_DENSITY", 0.0)
    planners, sql = pages(filled, "sparse")
    assert not reads_recent(sql)
    monkeypatch.setattr(postgresql, "WALK_DENSITY", 0.05)
    monkeypatch.setattr(postgresql, "FLOOR_MARGIN", margin)

    banded, sql = pages(filled, "sparse")

    assert reads_recent(sql)
    assert banded == planners
    assert sorted(i for page in banded for i in page) == list(range(EVERY, MESSAGES + 1, EVERY))


def test_a_dialog_filter_or_a_common_word_leave_the_reading_to_the_planner(filled, monkeypatch):
    monkeypatch.setattr(search, "RANK_WINDOW", 5)
    for query, peer_id in [("sparse", 5), ("common", None), ("comm", None)]:
        _, sql = pages(filled, query, peer_id=peer_id)
        assert not reads_recent(sql), (query, peer_id)


def test_a_prefix_counts_as_its_words_together(filled, monkeypatch):
    # "spars" finds no whole word, so the search retries it as a prefix: its words ("sparse") are
    # in 4% of the messages, a floor; the pages are the planner's whatever the floor.
    assert postgresql.recent_floor(terms=parse_query("spars"), instance_id=filled.pk, window=5) is not None
    assert postgresql.recent_floor(terms=parse_query("zzz"), instance_id=filled.pk, window=5) is None
    monkeypatch.setattr(search, "RANK_WINDOW", 5)
    monkeypatch.setattr(postgresql, "WALK_DENSITY", 0.0)
    planners, sql = pages(filled, "spars")
    assert not reads_recent(sql)
    monkeypatch.setattr(postgresql, "WALK_DENSITY", 0.05)
    banded, sql = pages(filled, "spars")
    assert reads_recent(sql) and banded == planners
    assert sorted(i for page in banded for i in page) == list(range(EVERY, MESSAGES + 1, EVERY))


def test_the_function_reads_through_a_bitmap_never_down_the_primary_key(filled):
    # Its own query's plan, as auto_explain reports it to the client: the function's SET clause
    # turns index scans off, so the walk the planner prefers for such a word is not among its choices.
    plans: list[str] = []
    connection.ensure_connection()
    raw = connection.connection

    def keep(notice) -> None:
        plans.append(notice.message_primary or "")

    raw.add_notice_handler(keep)
    try:
        with connection.cursor() as cursor:
            cursor.execute("LOAD 'auto_explain'")
            for setting in ("log_min_duration = 0", "log_nested_statements = on", "log_level = notice"):
                cursor.execute(f"SET LOCAL auto_explain.{setting}")
            cursor.execute("SET LOCAL enable_seqscan = off")  # a table this small is cheapest read whole
            cursor.execute(
                f"SELECT count(*) FROM {postgresql.RECENT_FUNCTION}(to_tsquery('simple', 'sparse'), %s, 0, %s, 5)",  # noqa: S608
                [filled.pk, postgresql.BIGINT_MAX],
            )
            assert cursor.fetchone() == (5,)
    finally:
        raw.remove_notice_handler(keep)

    [inner] = [plan for plan in plans if "sessions_app_message AS m" in plan]
    # Planned with the values (a table this small picks its own index; a big one ANDs both bitmaps).
    assert "Bitmap Heap Scan on sessions_app_message" in inner and "'sparse'" in inner, inner
    assert "Index Scan Backward" not in inner and "Parallel" not in inner, inner
