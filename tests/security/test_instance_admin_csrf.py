"""The instance list's bulk actions, rename and delete change state: a cross-site POST changes nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from sessions_app.models import ArchiveRun, AuditEvent, ConnectorInstance

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(owner) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    return client


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/instances/bulk/", {"action": "archive", "session": "prod-bot"}),
        ("/instances/prod-bot/rename/", {"name": "Taken over"}),
        ("/instances/prod-bot/delete/", {"confirm": "prod-bot", "object": "keep"}),
    ],
)
def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(telegram, instance, browser, path, data):
    response = browser.post(path, data)

    assert response.status_code == 403
    instance.refresh_from_db()
    assert instance.name == "Production bot"
    assert ConnectorInstance.objects.filter(session="prod-bot").exists()
    assert not ArchiveRun.objects.exists()
    assert not AuditEvent.objects.filter(action__in=["instance.rename", "instance.delete", "archive.start"]).exists()


def test_the_same_post_with_the_token_goes_through(telegram, instance, browser):
    browser.get("/instances/prod-bot/rename/")

    response = browser.post(
        "/instances/prod-bot/rename/", {"name": "Renamed", "csrfmiddlewaretoken": browser.cookies["csrftoken"].value}
    )

    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.name == "Renamed"


def test_bulk_actions_and_media_take_only_their_method(instance, owner_client):
    assert owner_client.get("/instances/bulk/").status_code == 405
    assert owner_client.post("/instances/prod-bot/archive/media/1/").status_code == 405
