"""An API write's audit event lands on an instance's trail only when the token's user has a role on it."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from sessions_app.models import AuditEvent
from tests.api.conftest import Api, token_for


@pytest.fixture
def other_staff_api(db):
    """A team admin (staff, not superuser) with no role on prod-bot."""
    return Api(token_for(get_user_model().objects.create_user("stella", password="pass-stella-123", is_staff=True)))


def test_a_refused_create_of_an_instance_the_user_cannot_see_is_not_on_its_trail(outsider_api, instance):
    response = outsider_api.call("POST", "instances/", {"session": "prod-bot", "name": "Mine now"})
    assert response.status_code == 403
    event = AuditEvent.objects.get(action="api.write")
    assert event.instance_id is None and event.detail["target"] == "prod-bot" and event.detail["status"] == 403
    assert not instance.audit_events.filter(action="api.write").exists()


def test_a_staff_users_create_clashing_with_an_instance_it_cannot_see_is_not_on_its_trail(other_staff_api, instance):
    response = other_staff_api.call("POST", "instances/", {"session": "prod-bot", "name": "Mine now"})
    assert 400 <= response.status_code < 500 and response.status_code != 404
    event = AuditEvent.objects.get(action="api.write")
    assert event.instance_id is None and event.detail["target"] == "prod-bot"


def test_a_write_on_a_visible_instance_is_on_its_trail(owner_api, instance):
    assert owner_api.call("PATCH", "instances/prod-bot/", {"name": "Sales bot"}).status_code == 200
    event = AuditEvent.objects.get(action="api.write")
    assert event.instance_id == instance.pk
