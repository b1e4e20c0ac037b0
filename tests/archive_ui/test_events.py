"""Broadcasts leave after the transaction commits: a page never sees a status that rolled back."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction

from sessions_app.models import InstanceStatus
from sessions_app.services.instances import instance_set_status
from tests.archive_ui.test_consumer import _connect, _fresh_channel_layer, _snapshot  # noqa: F401 - autouse fixture

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio,
    pytest.mark.usefixtures("close_thread_connections"),
]


class Rollback(Exception):
    pass


async def _watching(user):
    communicator, connected, _ = await _connect(user)
    assert connected
    await _snapshot(communicator)
    return communicator


async def test_a_status_change_that_rolls_back_broadcasts_nothing(instance, viewer):
    communicator = await _watching(viewer)

    def change_then_fail() -> None:
        with pytest.raises(Rollback), transaction.atomic():
            instance_set_status(instance=instance, status=InstanceStatus.ACTIVE, actor=None)
            raise Rollback

    await sync_to_async(change_then_fail)()
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_a_status_change_that_commits_broadcasts_once_after_the_commit(instance, viewer):
    communicator = await _watching(viewer)

    def change_in_a_transaction() -> bool:
        with transaction.atomic():
            instance_set_status(instance=instance, status=InstanceStatus.ACTIVE, actor=None)
            return bool(transaction.get_connection().run_on_commit)  # still waiting for the commit

    assert await sync_to_async(change_in_a_transaction)()
    assert await communicator.receive_from() == '<span class="badge active" id="status">active</span>\n'
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_outside_a_transaction_it_broadcasts_at_once(instance, viewer):
    communicator = await _watching(viewer)
    await sync_to_async(instance_set_status)(instance=instance, status=InstanceStatus.EXPIRED, actor=None)
    assert 'class="badge expired"' in await communicator.receive_from()
    await communicator.disconnect()
