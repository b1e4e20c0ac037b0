"""What one engine does and the other does not, and how each finds rows: its index, never a table scan.

Each test is marked only_on(vendor) and is deselected (not skipped) on the other database; see conftest.
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection

from sessions_app.models import Message
from sessions_app.search import RANK_WINDOW, postgresql, search_messages, sqlite
from sessions_app.search.paging import Window
from sessions_app.search.query import fts5_match, parse_query
from sessions_app.search.snippet import MARK_END, MARK_START
from tests.search.support import fts_columns, texts, upsert

# With rank 1, FTS5 checks its index against the content table, row by row.
INTEGRITY_CHECK = "INSERT INTO sessions_app_message_fts (sessions_app_message_fts, rank) VALUES ('integrity-check', 1)"


def add_filler(archive, instance, count: int, *, text: str = "nothing to see") -> None:
    dialog = archive.dialog(instance, 5)
    Message.objects.bulk_create(
        Message(instance=instance, dialog=dialog, peer_id=5, message_id=10_000 + n, date=dialog.updated_at, text=text)
        for n in range(count)
    )


def plan(sql: str, params: list[object], *, explain: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"{explain} {sql}", params)
        return [str(row[-1]) for row in cursor.fetchall()]


@pytest.mark.only_on("sqlite")
class TestSQLite:
    @pytest.mark.parametrize(
        ("query", "stored"),
        [("cafe", "Rendez-vous au café"), ("café", "meet at the cafe"), ("CAFÉ", "meet at the cafe"), ("zoe", "Zoë")],
    )
    def test_on_sqlite_a_word_finds_it_with_or_without_accents(self, archive, account, query, stored):
        archive.message(account, stored)

        assert texts(search_messages(instance=account, query=query)) == [stored]

    def test_on_sqlite_the_snippet_marks_the_accented_word_found_without_accents(self, archive, account):
        archive.message(account, "au café")

        [hit] = search_messages(instance=account, query="cafe")

        assert hit.snippet == "au <mark>café</mark>"

    @pytest.mark.parametrize(
        ("text", "query"),
        [
            ("Rendez-vous au café, Zoë et ZOE", "cafe zoë"),
            ("ÅNGSTRÖM and angstrom", "angström"),
            ("meet meeting MEETS unmet", "meet"),
            ("an x-ray, don't foo_bar", "ray don bar"),
            ("Встреча в кафе, йогурт и иогурт", "кафе йогурт"),
            ("नमस्ते दुनिया", "नमस"),
            ("日本語テキスト 日本語", "日本語"),
            ("Straße STRASSE strasse", "straße"),
            ("İstanbul istanbul", "istanbul"),
            ("cafe\u0301 and café", "café"),
            ("ĳssel ijssel", "ijssel"),
            ("œuvre oeuvre", "œuvre"),
            ("<b>tag</b>&amp;tag", "tag amp"),
        ],
    )
    def test_on_sqlite_snippets_mark_exactly_the_words_fts5_itself_marks(self, archive, account, text, query):
        archive.message(account, text)
        terms = parse_query(query)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT highlight(sessions_app_message_fts, 0, %s, %s) FROM sessions_app_message_fts "
                "WHERE sessions_app_message_fts MATCH %s",
                [MARK_START, MARK_END, fts5_match(terms)],
            )
            [(by_fts5,)] = cursor.fetchall()

        assert sqlite.mark_matches(text, terms) == by_fts5
        assert MARK_START in by_fts5

    @pytest.mark.parametrize("peer_id", [None, 5])
    @pytest.mark.parametrize("page", [{}, {"bounds": Window(floor=1, ceiling=10**6), "after": (1.5, 99)}])
    def test_on_sqlite_the_match_drives_the_query_and_messages_are_read_by_primary_key(
        self, archive, account, peer_id, page
    ):
        # Statistics saying the instance holds one message in 500: the plan must still start from
        # the full-text match (walking an instance's rows means a full-text probe per message).
        add_filler(archive, archive.instance("search-b"), 500, text="budget review")
        archive.message(account, "budget review", peer_id=5)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        sql, params = sqlite.search_sql(
            terms=parse_query("budget review"),
            instance_id=account.pk,
            limit=50,
            window=RANK_WINDOW,
            peers=None if peer_id is None else [peer_id],
            **page,
        )

        steps = plan(sql, params, explain="EXPLAIN QUERY PLAN")

        reads = [step for step in steps if "sessions_app_message" in step or " m " in f" {step} "]
        assert reads[0].startswith(f"SCAN {sqlite.FTS_TABLE} VIRTUAL TABLE"), steps
        assert "SEARCH m USING INTEGER PRIMARY KEY (rowid=?)" in reads[1], steps
        assert not [step for step in steps if step.startswith("SCAN m") or "instance_id" in step], steps
        # The index serves the rowid order, so reading the rank window stops early: the only
        # sort is by bm25, of the window, after the candidates are read.
        assert [step for step in steps if "TEMP B-TREE" in step] == ["USE TEMP B-TREE FOR ORDER BY"], steps
        assert steps.index("SCAN candidates") < steps.index("USE TEMP B-TREE FOR ORDER BY"), steps

    @pytest.mark.parametrize("peer_id", [None, 5])
    def test_on_sqlite_matches_past_the_window_are_read_in_index_order_without_sorting(self, archive, account, peer_id):
        add_filler(archive, archive.instance("search-b"), 500, text="budget review")
        archive.message(account, "budget review", peer_id=5)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        sql, params = sqlite.older_sql(
            terms=parse_query("budget review"),
            instance_id=account.pk,
            limit=51,
            peers=None if peer_id is None else [peer_id],
            below=10**6,
        )

        steps = plan(sql, params, explain="EXPLAIN QUERY PLAN")

        assert steps[0].startswith(f"SCAN {sqlite.FTS_TABLE} VIRTUAL TABLE"), steps
        assert "SEARCH m USING INTEGER PRIMARY KEY (rowid=?)" in steps[1], steps
        assert len(steps) == 2, steps  # no sort: the index hands rowids over highest first

    def test_on_sqlite_the_fts_table_indexes_exactly_the_columns_the_search_code_names(self, archive, account):
        assert fts_columns() == list(sqlite.FTS_COLUMNS) == ["text", "sender_name", "media_file_name"]
        assert len(sqlite.BM25_WEIGHTS) == len(sqlite.FTS_COLUMNS)

    def test_on_sqlite_a_word_in_the_text_ranks_above_the_same_word_in_a_file_name(self, archive, account):
        archive.message(account, "budget notes", media_kind="document", media_file_name="q3.xlsx")
        archive.message(account, "q3 notes", media_kind="document", media_file_name="budget.xlsx")

        hits = search_messages(instance=account, query="budget")

        assert texts(hits) == ["budget notes", "q3 notes"] and hits[0].rank > hits[1].rank

    def test_on_sqlite_the_explicit_fts_statements_keep_the_index_in_step_without_triggers(self, archive, account):
        with connection.cursor() as cursor:
            for trigger in ("insert", "update", "delete"):
                cursor.execute(f"DROP TRIGGER sessions_app_message_fts_{trigger}")
        dialog = archive.dialog(account, 5)
        rows = Message.objects.bulk_create(
            Message(
                instance=account,
                dialog=dialog,
                peer_id=5,
                message_id=n,
                date=dialog.updated_at,
                text=f"walrus {n}",
                sender_name="Ann",
                media_kind="document",
                media_file_name=f"tusk_{n}.pdf",
            )
            for n in range(3)
        )
        pks = [row.pk for row in Message.objects.filter(instance=account).order_by("pk")]
        assert search_messages(instance=account, query="walrus") == []

        with connection.cursor() as cursor:
            cursor.execute(sqlite.fts_insert_sql(len(pks)), pks)
            cursor.execute(INTEGRITY_CHECK)
        assert len(search_messages(instance=account, query="walrus tusk ann")) == len(rows) == 3

        with connection.cursor() as cursor:
            cursor.execute(sqlite.fts_delete_sql(1), pks[:1])
            Message.objects.filter(pk=pks[0]).update(media_file_name="ivory.pdf")
            cursor.execute(sqlite.fts_insert_sql(1), pks[:1])
            cursor.execute(sqlite.fts_delete_sql(1), pks[1:2])
            Message.objects.filter(pk=pks[1]).delete()
            cursor.execute(INTEGRITY_CHECK)
        found = sorted(hit.message.media_file_name for hit in search_messages(instance=account, query="pdf"))
        assert found == ["ivory.pdf", "tusk_2.pdf"]
        with pytest.raises(ValueError, match="at least 1"):
            sqlite.fts_insert_sql(0)

    def test_on_sqlite_the_fts_index_matches_the_message_table_after_inserts_upserts_and_deletes(
        self, archive, account
    ):
        kept = archive.message(
            account, "first words", sender_name="Ann", media_kind="document", media_file_name="a.pdf"
        )
        gone = archive.message(account, "second words", media_kind="document", media_file_name="b.pdf")
        upsert(kept, text="first words, edited")
        upsert(kept, media_file_name="c.pdf")
        upsert(kept)
        Message.objects.filter(pk=gone.pk).update(sender_name="Bob", media_file_name="d.pdf")
        gone.delete()
        archive.instance("search-b").delete()

        with connection.cursor() as cursor:
            cursor.execute(INTEGRITY_CHECK)
            cursor.execute("SELECT rowid FROM sessions_app_message_fts WHERE sessions_app_message_fts MATCH 'words'")
            assert [row[0] for row in cursor.fetchall()] == [kept.pk]

    def test_on_sqlite_the_integrity_check_does_catch_an_index_out_of_step(self, archive, account):
        # The check above proves something only if it fails on a stale index.
        message = archive.message(account, "first words")
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER sessions_app_message_fts_update")
            Message.objects.filter(pk=message.pk).update(text="other words")

            with pytest.raises(DatabaseError, match="malformed"):
                cursor.execute(INTEGRITY_CHECK)


@pytest.mark.only_on("postgresql")
class TestPostgreSQL:
    def test_on_postgresql_the_simple_configuration_keeps_accented_and_plain_words_apart(self, archive, account):
        archive.message(account, "Rendez-vous au café")
        archive.message(account, "meet at the cafe")

        assert texts(search_messages(instance=account, query="café")) == ["Rendez-vous au café"]
        assert texts(search_messages(instance=account, query="cafe")) == ["meet at the cafe"]

    def test_on_postgresql_words_inside_angle_brackets_are_not_indexed(self, archive, account):
        # The default parser takes `<…>` for an XML tag and skips it (the index expression is fixed).
        archive.message(account, "<script>alert(1)</script> budget")

        assert search_messages(instance=account, query="script") == []
        assert len(search_messages(instance=account, query="budget")) == 1

    @pytest.mark.parametrize("peer_id", [None, 5])
    def test_on_postgresql_the_query_uses_the_gin_index(self, archive, account, peer_id):
        # The account's other messages make its instance_id index the worse way in, as in production.
        add_filler(archive, account, 500)
        archive.message(account, "budget review", peer_id=5)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE sessions_app_message")
        sql, params = postgresql.search_sql(
            terms=parse_query("budget review"),
            instance_id=account.pk,
            limit=50,
            window=RANK_WINDOW,
            peers=None if peer_id is None else [peer_id],
        )
        with connection.cursor() as cursor:
            # The pending list merged, as a settled archive's is (see the test below).
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [postgresql.INDEX_NAME])
            # On a table this small a sequential scan is still cheapest; the point is that the index serves.
            cursor.execute("SET LOCAL enable_seqscan = off")
            steps = plan(sql, params, explain="EXPLAIN")

        assert any(f"Bitmap Index Scan on {postgresql.INDEX_NAME}" in step for step in steps), steps
        assert not any("Seq Scan on sessions_app_message" in step for step in steps), steps

    @pytest.mark.parametrize(
        "build",
        [
            lambda terms, pk: postgresql.search_sql(
                terms=terms,
                instance_id=pk,
                limit=51,
                window=RANK_WINDOW,
                peers=None,
                bounds=Window(floor=1, ceiling=10**6),
                after=(0.5, 99),
            ),
            lambda terms, pk: postgresql.older_sql(terms=terms, instance_id=pk, limit=51, peers=None, below=10**6),
        ],
        ids=["later ranked page", "past the window"],
    )
    def test_on_postgresql_later_pages_and_file_names_use_the_gin_index(self, archive, account, build):
        add_filler(archive, account, 500)
        archive.message(account, "", media_kind="document", media_file_name="budget_review-2024.pdf")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE sessions_app_message")
        sql, params = build(parse_query("budget review"), account.pk)
        with connection.cursor() as cursor:
            # The rows just inserted sit in the GIN index's pending list, which the planner prices by
            # its size until (auto)vacuum merges it: merge it now, as a settled archive would be.
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [postgresql.INDEX_NAME])
            cursor.execute("SET LOCAL enable_seqscan = off")
            steps = plan(sql, params, explain="EXPLAIN")

        assert any(f"Bitmap Index Scan on {postgresql.INDEX_NAME}" in step for step in steps), steps
        assert not any("Seq Scan on sessions_app_message" in step for step in steps), steps
        assert len(search_messages(instance=account, query="budget review")) == 1
