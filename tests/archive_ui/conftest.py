"""Archive rows made with the ORM, the way the pipeline leaves them, for the archive pages' tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from sessions_app.models import ConnectorInstance, Dialog, Message
from tests.conftest import client_for

BASE_DATE = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def make_dialog(instance: ConnectorInstance, peer_id: int, title: str = "", kind: str = "user", **fields) -> Dialog:
    return Dialog.objects.create(
        instance=instance, peer_id=peer_id, kind=kind, title=title or f"Dialog {peer_id}", **fields
    )


def make_messages(dialog: Dialog, ids, **fields) -> list[Message]:
    """Messages with the given ids (text "message <id>", one minute apart) in one INSERT per 500."""
    rows = [
        Message(
            instance_id=dialog.instance_id,
            dialog=dialog,
            peer_id=dialog.peer_id,
            message_id=message_id,
            **{
                "date": BASE_DATE + timedelta(minutes=message_id),
                "sender_id": 1000 + message_id % 3,
                "sender_name": f"Sender {message_id % 3}",
                "text": f"message {message_id}",
                **fields,
            },
        )
        for message_id in ids
    ]
    Message.objects.bulk_create(rows, batch_size=500)
    Dialog.objects.filter(pk=dialog.pk).update(message_count=Message.objects.filter(dialog=dialog).count())
    return rows


@pytest.fixture
def viewer_client(viewer) -> Client:
    return client_for(viewer)


@pytest.fixture
def outsider_client(outsider) -> Client:
    return client_for(outsider)


@pytest.fixture
def other_instance(db, outsider) -> ConnectorInstance:
    """Someone else's instance, with a dialog the prod-bot team must not reach."""
    from sessions_app.models import Membership, Role

    other = ConnectorInstance.objects.create(session="other-bot", name="Other")
    Membership.objects.create(user=outsider, instance=other, role=Role.OWNER)
    return other
