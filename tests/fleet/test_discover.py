"""Discover, over real HTTP to moto: a bucket's connector objects become instances in one action."""

from __future__ import annotations

import time

import pytest

from sessions_app.models import AuditEvent, ConnectorInstance, Membership, Role
from sessions_app.selectors.audit_sentences import audit_sentence
from tests.conftest import BEA_PASSWORD, bea_session, client_for, demo_session
from tests.fleet.conftest import Bucket
from tests.storage.conftest import configure_s3

URL = "/instances/discover/"


@pytest.fixture
def admin_client(admin_user):
    return client_for(admin_user)


def test_a_bucket_of_50_connector_objects_becomes_50_instances_in_one_action(
    telegram, bucket, admin_client, admin_user
):
    strings = {f"conn-{number:02d}": demo_session() for number in range(50)}
    for session, string in strings.items():
        bucket.put(session, string)
    page = admin_client.get(URL).content.decode()
    assert all(session in page for session in strings)
    assert not any(string in page for string in strings.values())

    started = time.monotonic()
    response = admin_client.post(URL, {"session": list(strings)})
    print(f"\n50-object discover: {time.monotonic() - started:.2f} s")
    body = response.content.decode()
    assert response.status_code == 200 and "Taken in: 50 of 50" in body
    assert body.count(": created. It watches the object only") == 50
    made = ConnectorInstance.objects.filter(session__in=strings)
    assert made.count() == 50 and all(instance.session_string == "" for instance in made)
    assert Membership.objects.filter(user=admin_user, instance__in=made, role=Role.OWNER).count() == 50
    assert all(bucket.read(session) == string for session, string in strings.items())  # objects untouched
    assert "Every session object in the store already has an instance" in admin_client.get(URL).content.decode()
    event = AuditEvent.objects.get(action="fleet.discover")
    assert audit_sentence(event) == "admin took 50 of 50 discovered session objects in as instances"


def test_objects_an_instance_holds_are_not_listed(telegram, bucket, admin_client, instance):
    bucket.put("prod-bot", "1held")
    bucket.put("free-one", "1free")
    page = admin_client.get(URL).content.decode()
    assert 'value="free-one"' in page and 'value="prod-bot"' not in page


def test_empty_objects_are_shown_as_empty(telegram, bucket, admin_client):
    bucket.put("blank", "")
    bucket.put("full", "1abc")
    page = admin_client.get(URL).content.decode()
    rows = {row.split("</tr>")[0] for row in page.split("<tr>")[1:]}
    assert any('value="blank"' in row and "empty (not logged in)" in row for row in rows)
    assert any('value="full"' in row and "holds a session" in row for row in rows)
    body = admin_client.post(URL, {"session": ["blank"]}).content.decode()
    assert "blank: created. Its object is empty" in body


def test_each_row_says_what_happened(telegram, bucket, admin_client, instance):
    bucket.put("fresh", "1abc")
    body = admin_client.post(
        URL, {"session": ["fresh", "prod-bot", "discover", "bad.name", "gone-away", "fresh"]}
    ).content.decode()
    assert "Taken in: 1 of 5" in body
    assert "fresh: created." in body
    assert "prod-bot: already held by an instance; nothing was changed." in body
    assert "discover: refused." in body and "cannot be a SESSION namespace" in body
    assert "&#x27;bad.name&#x27;: refused, not a SESSION name" in body
    assert "gone-away: refused, its object is no longer in the store" in body
    assert set(ConnectorInstance.objects.values_list("session", flat=True)) == {"prod-bot", "fresh"}


def test_nothing_ticked_is_a_sentence(bucket, admin_client):
    response = admin_client.post(URL, {})
    assert response.status_code == 400 and "Tick at least one session object" in response.content.decode()


def test_without_list_bucket_the_page_names_the_permission_and_the_rest_works(
    telegram, moto_server, list_denied_endpoint, settings, admin_client, instance
):
    bucket = Bucket(moto_server)
    configure_s3(settings, bucket=bucket.name, endpoint=list_denied_endpoint)
    bucket.put("prod-bot", demo_session())
    page = admin_client.get(URL)
    assert page.status_code == 200
    assert f"s3:ListBucket on arn:aws:s3:::{bucket.name} with prefix telegram/" in page.content.decode()
    assert admin_client.get("/").status_code == 200
    detail = admin_client.get("/instances/prod-bot/")
    assert detail.status_code == 200 and f"s3://{bucket.name}/telegram/prod-bot/session.txt" in detail.content.decode()


def test_a_taken_in_object_is_adopted_with_verify(telegram, bucket, admin_client):
    ada, bea = demo_session(), bea_session()
    bucket.put("ada-conn", ada)
    bucket.put("bea-conn", bea)
    admin_client.post(URL, {"session": ["ada-conn", "bea-conn"]})
    assert "alive" in admin_client.post("/instances/ada-conn/verify/", follow=True).content.decode()
    refused = admin_client.post("/instances/bea-conn/verify/")
    assert refused.status_code == 400  # a 2FA account: the password is asked for next to the field
    adopted = admin_client.post("/instances/bea-conn/verify/", {"password": BEA_PASSWORD}, follow=True)
    assert "alive" in adopted.content.decode()
    for session, string in (("ada-conn", ada), ("bea-conn", bea)):
        instance = ConnectorInstance.objects.get(session=session)
        assert instance.status == "active" and instance.dashboard_session and instance.session_string == string
        assert bucket.read(session) == string  # the connector's object is as the connector wrote it


@pytest.mark.parametrize("user", ["operator", "viewer", "outsider"])
def test_only_team_admins_may_discover(bucket, instance, request, user):
    client = client_for(request.getfixturevalue(user))
    bucket.put("free-one", "1free")
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"session": ["free-one"]}).status_code == 403
    assert not ConnectorInstance.objects.filter(session="free-one").exists()


def test_a_staff_member_may_discover(bucket, owner):
    bucket.put("free-one", "1free")
    assert "free-one: created." in client_for(owner).post(URL, {"session": ["free-one"]}).content.decode()


def test_the_local_store_is_discovered_too(telegram, settings, tmp_path, admin_client):
    settings.AWS_S3_SESSION_BUCKET = ""
    path = tmp_path / "session-store" / "telegram" / "local-one"
    path.mkdir(parents=True)
    (path / "session.txt").write_text(demo_session())
    assert 'value="local-one"' in admin_client.get(URL).content.decode()
    assert "local-one: created." in admin_client.post(URL, {"session": ["local-one"]}).content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    assert client.get(URL).status_code == 302


def test_a_taken_in_instance_watches_its_object_until_adopted(telegram, bucket, admin_client):
    from sessions_app.services.health.check import health_check

    bucket.put("watched", demo_session())
    admin_client.post(URL, {"session": ["watched"]})
    check = health_check(instance=ConnectorInstance.objects.get(session="watched"))
    assert check.result == "idle" and "Verify adopts it" in check.reason
    assert ConnectorInstance.objects.get(session="watched").dashboard_session == ""
