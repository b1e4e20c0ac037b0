from __future__ import annotations

import pytest
from django.test import Client

from sessions_app.models import AuditEvent, ConnectorInstance, Membership, Role
from tests.conftest import client_for


def test_it_creates_an_instance_and_makes_the_creator_owner(owner_client, owner):
    response = owner_client.post("/instances/new/", {"session": "sales-bot_2", "name": "Sales"})
    assert response.status_code == 302
    assert response["Location"] == "/instances/sales-bot_2/"
    instance = ConnectorInstance.objects.get(session="sales-bot_2")
    assert instance.status == "new"
    assert Membership.objects.get(instance=instance, user=owner).role == Role.OWNER
    assert AuditEvent.objects.filter(instance=instance, action="instance.create").exists()


@pytest.mark.parametrize("bad", ["../x", "a b", "a/b", "", "x" * 65, "dots.are.not.ok", "ünïcode", "a\\b", " lead"])
def test_it_rejects_a_bad_session_namespace_with_a_sentence(owner_client, bad):
    response = owner_client.post("/instances/new/", {"session": bad, "name": "Bad"})
    assert response.status_code == 400
    assert "letters A-Z or a-z, digits" in response.content.decode()
    assert not ConnectorInstance.objects.exists()


def test_it_accepts_exactly_64_characters(owner_client):
    response = owner_client.post("/instances/new/", {"session": "x" * 64, "name": "Long"})
    assert response.status_code == 302
    assert ConnectorInstance.objects.filter(session="x" * 64).exists()


def test_it_refuses_a_duplicate_namespace(owner_client, instance):
    response = owner_client.post("/instances/new/", {"session": instance.session, "name": "Again"})
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert ConnectorInstance.objects.count() == 1


def test_it_keeps_the_api_hash_encrypted_and_never_shows_it(owner_client):
    api_hash = "0123456789abcdef0123456789abcdef"
    response = owner_client.post(
        "/instances/new/", {"session": "own-app", "name": "Own app", "api_id": "12345", "api_hash": api_hash}
    )
    assert response.status_code == 302
    instance = ConnectorInstance.objects.get(session="own-app")
    assert instance.api_hash == api_hash
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT api_hash FROM sessions_app_connectorinstance WHERE session = %s", ["own-app"])
        raw = cursor.fetchone()[0]
    assert api_hash not in raw and raw.startswith("gAAAAA")
    page = owner_client.get("/instances/own-app/").content.decode()
    assert api_hash not in page


def test_it_wants_both_api_id_and_hash_or_neither(owner_client):
    response = owner_client.post("/instances/new/", {"session": "half", "name": "Half", "api_id": "12345"})
    assert response.status_code == 400
    assert "both the API id and the API hash" in response.content.decode()
    assert not ConnectorInstance.objects.exists()


def test_it_requires_staff_to_create_instances(operator_client):
    response = operator_client.post("/instances/new/", {"session": "mine", "name": "Mine"})
    assert response.status_code == 403
    assert not ConnectorInstance.objects.exists()


def test_the_list_shows_only_instances_the_user_has_a_role_on(instance, outsider, viewer):
    assert instance.session in client_for(viewer).get("/").content.decode()
    assert instance.session not in client_for(outsider).get("/").content.decode()


def test_an_outsider_gets_404_for_someone_elses_instance(instance, outsider):
    client = client_for(outsider)
    assert client.get(f"/instances/{instance.session}/").status_code == 404
    assert client.get(f"/instances/{instance.session}/login/").status_code == 404
    assert client.post(f"/instances/{instance.session}/login/", {"phone": "+9996621001"}).status_code == 404


def test_a_team_admin_sees_every_instance(instance, admin_user):
    assert client_for(admin_user).get(f"/instances/{instance.session}/").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/instances/new/",
        "/instances/prod-bot/",
        "/instances/prod-bot/login/",
        "/instances/prod-bot/import/",
        "/admin/",
    ],
)
def test_anonymous_users_are_sent_to_sign_in(db, url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/") or response["Location"].startswith("/admin/login/")


def test_sign_in_page_and_healthz_are_public(db):
    assert Client().get("/accounts/login/").status_code == 200
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_team_sign_in_works_and_a_wrong_password_is_refused(owner):
    client = Client()
    bad = client.post("/accounts/login/", {"username": "olivia", "password": "nope"})
    assert bad.status_code == 200 and "enter a correct username and password" in bad.content.decode()
    good = client.post("/accounts/login/", {"username": "olivia", "password": "pass-olivia-123"})
    assert good.status_code == 302 and good["Location"] == "/"


def test_posts_need_a_csrf_token(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post("/instances/new/", {"session": "nocsrf", "name": "x"}).status_code == 403
    assert not ConnectorInstance.objects.exists()


def test_the_list_is_paginated(admin_user):
    ConnectorInstance.objects.bulk_create(
        [ConnectorInstance(session=f"bot-{i:03d}", name=f"Bot {i}") for i in range(130)]
    )
    client = client_for(admin_user)
    first = client.get("/").content.decode()
    assert "bot-000" in first and "bot-049" in first and "bot-050" not in first and "Page 1 of 3" in first
    last = client.get("/?page=3").content.decode()
    assert "bot-100" in last and "bot-129" in last and "bot-099" not in last
    assert client.get("/?page=abc").status_code == 200
