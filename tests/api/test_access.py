"""A token is its user: never more than their role (403), nothing they cannot see (404), nothing without one (401)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions_app.api.errors import NOT_FOUND, UNAUTHORIZED
from sessions_app.models import AuditEvent, ConnectorInstance
from sessions_app.models_api import ApiToken
from sessions_app.services.api_tokens import api_token_revoke
from tests.api.conftest import Api, token_for
from tests.conftest import client_for

# Every write endpoint built, with a body that would pass validation.
WRITES = [
    ("POST", "instances/", {"session": "viewer-made", "name": "Viewer's"}),
    ("PATCH", "instances/prod-bot/", {"name": "Renamed"}),
    ("DELETE", "instances/prod-bot/", None),
    ("POST", "instances/prod-bot/check/", None),
    ("POST", "instances/prod-bot/import/", {"session_string": "1" + "A" * 352}),
    ("POST", "instances/prod-bot/verify/", {}),
    ("POST", "instances/prod-bot/authorizations/12345/terminate/", None),
    ("POST", "instances/prod-bot/archive/runs/", {}),
]
INSTANCE_ROUTES = [
    ("GET", "instances/{s}/", None),
    ("GET", "instances/{s}/health/", None),
    ("PATCH", "instances/{s}/", {"name": "Mine now"}),
    ("DELETE", "instances/{s}/", None),
    ("POST", "instances/{s}/check/", None),
    ("POST", "instances/{s}/import/", {"session_string": "1" + "A" * 352}),
    ("POST", "instances/{s}/verify/", {}),
    ("GET", "instances/{s}/authorizations/", None),
    ("POST", "instances/{s}/authorizations/12345/terminate/", None),
    ("POST", "instances/{s}/archive/runs/", {}),
    ("GET", "instances/{s}/archive/runs/1/", None),
    ("GET", "instances/{s}/archive/search/?q=hello", None),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_a_viewers_token_gets_403_on_every_write(telegram, viewer, viewer_api, instance, method, path, body):
    response = viewer_api.call(method, path, body)
    assert response.status_code == 403, response.content
    assert response.json()["error"] and response.json()["field"] is None
    instance.refresh_from_db()
    assert (instance.name, instance.status) == ("Production bot", "new")
    assert list(ConnectorInstance.objects.values_list("session", flat=True)) == ["prod-bot"]
    refused = AuditEvent.objects.get(action="api.write")
    assert (refused.actor, refused.outcome, refused.detail["status"]) == (viewer, "refused", 403)


def test_a_viewers_token_reads_what_the_viewer_may(telegram, viewer_api, instance):
    assert viewer_api.call("GET", "instances/prod-bot/").json()["session"] == "prod-bot"
    assert viewer_api.call("GET", "instances/prod-bot/health/").json()["result"] == "unknown"
    assert [i["session"] for i in viewer_api.call("GET", "instances/").json()["items"]] == ["prod-bot"]


def test_an_operators_token_checks_but_does_not_rename(telegram, operator_api, instance):
    assert operator_api.call("POST", "instances/prod-bot/check/").status_code == 200
    response = operator_api.call("PATCH", "instances/prod-bot/", {"name": "Renamed"})
    assert response.status_code == 403
    assert "owner" in response.json()["error"]


@pytest.mark.parametrize(("method", "path", "body"), INSTANCE_ROUTES)
def test_an_outsiders_token_gets_404_as_for_no_instance_at_all(telegram, outsider_api, instance, method, path, body):
    theirs = outsider_api.call(method, path.format(s="prod-bot"), body)
    nothing = outsider_api.call(method, path.format(s="no-such-bot"), body)
    assert theirs.status_code == nothing.status_code == 404
    assert theirs.json() == nothing.json() == {"error": NOT_FOUND, "field": None}
    instance.refresh_from_db()
    assert instance.name == "Production bot"
    assert not AuditEvent.objects.filter(action="api.write").exists()


def test_an_outsider_lists_nothing(telegram, outsider_api, instance):
    assert outsider_api.call("GET", "instances/").json()["items"] == []


def _expired(owner) -> str:
    secret = token_for(owner, "old")
    ApiToken.objects.filter(name="old").update(expires_at=timezone.now() - timedelta(seconds=1))
    return secret


def _revoked(owner) -> str:
    secret = token_for(owner, "gone")
    api_token_revoke(user=owner, token=ApiToken.objects.get(name="gone"))
    return secret


def _inactive_user(owner) -> str:
    secret = token_for(owner, "left")
    owner.is_active = False
    owner.save()
    return secret


@pytest.mark.parametrize(
    "make",
    [
        lambda owner: None,
        lambda owner: "tc_not-a-token-at-all",
        lambda owner: "not-even-the-prefix",
        lambda owner: token_for(owner)[:-1],
        _expired,
        _revoked,
        _inactive_user,
    ],
    ids=["none", "unknown", "no-prefix", "truncated", "expired", "revoked", "inactive-user"],
)
@pytest.mark.parametrize(("method", "path", "body"), [("GET", "instances/", None), *WRITES])
def test_no_usable_token_gets_401(telegram, owner, instance, make, method, path, body):
    response = Api(make(owner)).call(method, path, body)
    assert response.status_code == 401
    assert response.json() == {"error": UNAUTHORIZED, "field": None}
    assert response["WWW-Authenticate"].startswith("Bearer")
    instance.refresh_from_db()
    assert instance.name == "Production bot"


def test_a_browser_session_without_a_token_gets_401_not_the_sign_in_page(telegram, owner, instance):
    browser = client_for(owner)
    assert browser.get("/").status_code == 200  # the cookie signs the pages in
    assert browser.get("/api/v1/instances/").status_code == 401
    response = browser.post("/api/v1/instances/prod-bot/check/")
    assert response.status_code == 401
    assert response.json()["error"] == UNAUTHORIZED


def test_a_token_needs_no_csrf_token_and_pages_still_do(telegram, owner, owner_api, instance):
    assert owner_api.call("PATCH", "instances/prod-bot/", {"name": "Renamed"}).status_code == 200
    browser = client_for(owner)
    browser.handler.enforce_csrf_checks = True
    assert browser.post("/instances/prod-bot/rename/", {"name": "Again"}).status_code == 403


def test_api_responses_are_never_cached(telegram, owner_api, instance):
    assert owner_api.call("GET", "instances/prod-bot/")["Cache-Control"] == "private, no-store"


def test_a_tokens_last_use_is_noted(telegram, owner, owner_api, instance):
    token = ApiToken.objects.get(user=owner)
    assert token.last_used_at is None
    owner_api.call("GET", "instances/")
    token.refresh_from_db()
    assert token.last_used_at is not None
