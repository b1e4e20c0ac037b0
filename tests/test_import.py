from __future__ import annotations

import pytest

from sessions_app.models import AuditEvent
from sessions_app.telegram.account import log_out
from sessions_app.telegram.client import default_credentials
from sessions_app.telegram.login import send_code
from tests.conftest import client_for, demo_session

IMPORT = "/instances/prod-bot/import/"


def test_it_imports_a_working_session_string(telegram, owner_client, instance):
    string = demo_session()
    response = owner_client.post(IMPORT, {"session_string": string})
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.status == "active"
    assert instance.session_string == string
    assert instance.telegram_name == "Ada Demo"
    assert AuditEvent.objects.filter(instance=instance, action="login.import", outcome="ok").exists()
    assert string not in owner_client.get("/instances/prod-bot/").content.decode()


def test_the_import_form_never_echoes_the_string(telegram, owner_client, instance):
    string = demo_session()
    log_out(session=string, api=default_credentials())
    response = owner_client.post(IMPORT, {"session_string": string})
    assert response.status_code == 400
    assert string not in response.content.decode()


@pytest.mark.parametrize("bad", ["abc", "1abc", "2" + "A" * 352, "1" + "!" * 352, "   "])
def test_it_rejects_malformed_strings(telegram, owner_client, instance, bad):
    response = owner_client.post(IMPORT, {"session_string": bad})
    assert response.status_code == 400
    instance.refresh_from_db()
    assert instance.status == "new" and instance.session_string == ""


def test_it_rejects_a_truncated_string(telegram, owner_client, instance):
    string = demo_session()
    response = owner_client.post(IMPORT, {"session_string": string[:-20]})
    assert response.status_code == 400
    assert "not a Telethon session string" in response.content.decode()
    instance.refresh_from_db()
    assert instance.session_string == ""


def test_it_rejects_a_logged_out_string(telegram, owner_client, instance):
    string = demo_session()
    log_out(session=string, api=default_credentials())
    response = owner_client.post(IMPORT, {"session_string": string})
    assert response.status_code == 400
    assert "was logged out" in response.content.decode()
    instance.refresh_from_db()
    assert instance.status == "new" and instance.session_string == ""
    assert AuditEvent.objects.filter(instance=instance, action="session.import", outcome="dead").exists()


def test_it_rejects_a_string_from_an_unfinished_login(telegram, owner_client, instance):
    sent = send_code(session="", phone="+9996621001", api=default_credentials())
    response = owner_client.post(IMPORT, {"session_string": sent.session})
    assert response.status_code == 400
    assert "not logged in" in response.content.decode()


def test_only_owners_may_import(telegram, instance, operator):
    response = client_for(operator).post(IMPORT, {"session_string": "whatever"})
    assert response.status_code == 403
