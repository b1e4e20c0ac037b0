"""Migrations 0003, 0009 and 0016 create the engine's index, fill it from messages already archived, and reverse cleanly."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from sessions_app.search import search_messages
from tests.search.support import Archive, index_matches, insert_message_row, search_index_objects


@pytest.mark.django_db(transaction=True)
def test_migrating_back_drops_the_index_and_forward_rebuilds_it_from_existing_messages():
    archive = Archive()
    account = archive.instance("search-a")
    archive.message(account, "zeppelin over the harbour")
    assert search_index_objects()

    try:
        call_command("migrate", "sessions_app", "0002_archive", verbosity=0)
        assert search_index_objects() == set()
        insert_message_row(archive, account, 2, text="quokka archived while no index existed")
    finally:
        call_command("migrate", verbosity=0)

    assert search_index_objects()
    assert len(search_messages(instance=account, query="zeppelin")) == 1
    assert len(search_messages(instance=account, query="quokka")) == 1


@pytest.mark.django_db(transaction=True)
def test_migration_0009_indexes_the_file_names_of_messages_already_archived_and_reverses_cleanly():
    archive = Archive()
    account = archive.instance("search-a")
    archive.message(account, "", media_kind="document", media_file_name="zeppelin_plans.pdf")

    try:
        call_command("migrate", "sessions_app", "0008_audit_append_only", verbosity=0)
        assert search_index_objects() and "media_file_name" not in index_definition()
        if connection.vendor == "sqlite":  # PostgreSQL's query finds it without the index, only slower
            assert search_messages(instance=account, query="zeppelin") == []
        insert_message_row(archive, account, 2, media_kind="document", media_file_name="quokka.jpg")
    finally:
        call_command("migrate", verbosity=0)

    assert "media_file_name" in index_definition()
    assert len(search_messages(instance=account, query="zeppelin")) == 1
    assert len(search_messages(instance=account, query="quokka")) == 1
    assert index_matches("pdf") == 1


def index_definition() -> str:
    """The FTS table's column list (SQLite) or the GIN index's definition (PostgreSQL).

    Since 0016 the GIN index is over a generated column: its definition then includes the
    column's expression.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM pragma_table_info('sessions_app_message_fts')")
            return " ".join(row[0] for row in cursor.fetchall())
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'sessions_app_message_search'")
        definition = str(cursor.fetchone()[0])
        cursor.execute(
            "SELECT column_name, generation_expression FROM information_schema.columns "
            "WHERE table_name = 'sessions_app_message' AND is_generated = 'ALWAYS'"
        )
        for column, expression in cursor.fetchall():
            if f"({column})" in definition:
                definition += f" {column} = {expression}"
        return definition


@pytest.mark.django_db(transaction=True)
def test_migration_0016_stores_the_search_document_of_messages_already_archived_and_reverses_cleanly():
    """On PostgreSQL 0016 moves the GIN index onto a stored search document; SQLite's FTS5 index stays as it was."""
    archive = Archive()
    account = archive.instance("search-a")
    archive.message(account, "zeppelin over the harbour", media_kind="document", media_file_name="quokka_plans.pdf")

    try:
        call_command("migrate", "sessions_app", "0015_archive_dialogs", verbosity=0)
        before = index_definition()
        assert "search_document" not in before and "media_file_name" in before
        insert_message_row(archive, account, 2, text="marmalade archived before 0016")
    finally:
        call_command("migrate", verbosity=0)

    after = index_definition()
    if connection.vendor == "postgresql":
        assert "(search_document)" in after and "media_file_name" in after
    else:
        assert after == before
    for word in ("zeppelin", "quokka", "plans", "marmalade"):
        assert len(search_messages(instance=account, query=word)) == 1, word
    assert index_matches("pdf") == 1
