"""Issue "2 of 3" end to end over real HTTP: the dashboard, moto's S3 server and the demo Telegram.

The connector's side is played by its documented load(): boto3 get_object -> StringSession ->
a client that is authorized; and its save(): a plain put_object of text/plain.
"""

from __future__ import annotations

import asyncio

import pytest
from moto.server import ThreadedMotoServer
from telethon.sessions import StringSession

from sessions_app.models import ConnectorInstance
from tests.conftest import ADA, demo_session
from tests.storage.conftest import admin_client, configure_s3

KEY = "telegram/prod-bot/session.txt"
DETAIL = "/instances/prod-bot/"


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, settings, request):
    name = f"sessions-{request.node.name[:20].replace('_', '-')}".lower()
    admin_client("s3", s3_endpoint).create_bucket(Bucket=name)
    configure_s3(settings, bucket=name, endpoint=s3_endpoint)
    return name


def connector_load(endpoint: str, bucket: str) -> str:
    """What the connector's SessionManager.load() reads: the object's text, or "" when missing."""
    s3 = admin_client("s3", endpoint)
    try:
        return s3.get_object(Bucket=bucket, Key=KEY)["Body"].read().decode("utf-8")
    except s3.exceptions.NoSuchKey:
        return ""


def authorized_as(telegram, session: str) -> int | None:
    async def main():
        client = telegram.client_factory(StringSession(session).save(), api_id=1, api_hash="0" * 32)
        await client.connect()
        try:
            me = await client.get_me()
            return me.id if me else None
        finally:
            await client.disconnect()

    return asyncio.run(main())


def test_login_verify_sessions_revoke_against_an_s3_server(
    telegram, s3_endpoint, bucket, operator_client, owner_client, instance
):
    assert connector_load(s3_endpoint, bucket) == ""
    operator_client.post("/instances/prod-bot/login/", {"phone": ADA})
    operator_client.post("/instances/prod-bot/login/", {"code": "22222"})

    stored = connector_load(s3_endpoint, bucket)  # the object appears
    assert stored and authorized_as(telegram, stored) == 7100021001
    head = admin_client("s3", s3_endpoint).head_object(Bucket=bucket, Key=KEY)
    assert head["ContentType"].startswith("text/plain") and head["CacheControl"] == "no-store"
    assert head["ServerSideEncryption"] == "AES256"

    page = operator_client.get(DETAIL).content.decode()
    assert f"s3://{bucket}/{KEY}" in page and stored not in page

    assert "alive" in operator_client.post(f"{DETAIL}verify/", follow=True).content.decode()
    sessions = owner_client.get(f"{DETAIL}authorizations/").content.decode()
    assert "this dashboard" in sessions and "Terminate" in sessions

    owner_client.post(f"{DETAIL}revoke/")
    assert connector_load(s3_endpoint, bucket) == ""  # empty object: the connector starts fresh
    assert admin_client("s3", s3_endpoint).head_object(Bucket=bucket, Key=KEY)["ContentLength"] == 0
    assert authorized_as(telegram, stored) is None  # the key is logged out
    instance.refresh_from_db()
    assert instance.status == "revoked"


def test_an_object_written_by_a_connector_becomes_usable_after_verify(
    telegram, s3_endpoint, bucket, operator_client, instance
):
    string = demo_session()
    admin_client("s3", s3_endpoint).put_object(Bucket=bucket, Key=KEY, Body=string.encode(), ContentType="text/plain")
    response = operator_client.post(f"{DETAIL}verify/", follow=True)
    assert "alive" in response.content.decode()
    instance.refresh_from_db()
    assert instance.status == "active" and instance.session_string == string and instance.object_etag


def test_two_tabs_saving_at_once_give_a_visible_conflict(
    telegram, s3_endpoint, bucket, operator_client, owner_client, instance
):
    operator_client.post("/instances/prod-bot/login/", {"phone": ADA})
    operator_client.post("/instances/prod-bot/login/", {"code": "22222"})
    mine = connector_load(s3_endpoint, bucket)
    # Tab 2 changed the object in between (here: a connector saving its own, newer string).
    newer = demo_session()
    admin_client("s3", s3_endpoint).put_object(Bucket=bucket, Key=KEY, Body=newer.encode(), ContentType="text/plain")
    response = operator_client.post(f"{DETAIL}save/")
    assert response.status_code == 409 and "Someone else wrote" in response.content.decode()
    assert connector_load(s3_endpoint, bucket) == newer  # not a lost update
    assert ConnectorInstance.objects.get(pk=instance.pk).session_string == mine
