"""Migration 0003 creates the engine's index, fills it from messages already archived, and reverses cleanly."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from sessions_app.search import search_messages
from tests.search.support import Archive, search_index_objects


@pytest.mark.django_db(transaction=True)
def test_migrating_back_drops_the_index_and_forward_rebuilds_it_from_existing_messages():
    archive = Archive()
    account = archive.instance("search-a")
    archive.message(account, "zeppelin over the harbour")
    assert search_index_objects()

    try:
        call_command("migrate", "sessions_app", "0002_archive", verbosity=0)
        assert search_index_objects() == set()
        archive.message(account, "quokka archived while no index existed")
    finally:
        call_command("migrate", verbosity=0)

    assert search_index_objects()
    assert len(search_messages(instance=account, query="zeppelin")) == 1
    assert len(search_messages(instance=account, query="quokka")) == 1
