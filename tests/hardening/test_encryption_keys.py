"""A SESSION_ENCRYPTION_KEY that lost the key the secrets were written with (issue 10, item 5).

Pages that need no secret keep working, pages that need one say which setting lost the key (503),
/healthz fails naming the problem, and nothing stored is changed or lost meanwhile.
"""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.test import Client

from sessions_app.crypto import SECRETS_UNREADABLE, SecretUnreadable
from sessions_app.models import ConnectorInstance, PendingLogin
from tests.archive_ui.conftest import make_dialog, make_messages
from tests.conftest import client_for, log_in

PHONE = "+9996621001"
API_HASH = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def logged_in(telegram, instance) -> ConnectorInstance:
    instance.phone = PHONE
    instance.api_id, instance.api_hash = 12345, API_HASH
    instance = log_in(instance)
    make_messages(make_dialog(instance, 501, title="Ops chat"), [1, 2, 3])
    return instance


@pytest.fixture
def key_lost(settings, logged_in) -> list[str]:
    """The key the secrets were written with, after SESSION_ENCRYPTION_KEY was replaced by another."""
    old = list(settings.SESSION_ENCRYPTION_KEYS)
    settings.SESSION_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    return old


def stored_columns(instance: ConnectorInstance) -> tuple:
    """The encrypted columns exactly as stored, to prove nothing was rewritten."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT session_string, dashboard_session, phone, api_hash FROM sessions_app_connectorinstance WHERE id = %s",
            [instance.pk],
        )
        return cursor.fetchone()


def test_the_instance_list_still_renders_and_marks_the_phone_it_cannot_decrypt(key_lost, logged_in, owner_client):
    response = owner_client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "prod-bot" in body and "(cannot be decrypted)" in body


def test_the_archive_pages_still_render_without_the_key(key_lost, logged_in, viewer):
    client = client_for(viewer)
    for url in ("/instances/prod-bot/archive/", "/instances/prod-bot/archive/501/"):
        response = client.get(url)
        assert response.status_code == 200, url
    assert "message 2" in client.get("/instances/prod-bot/archive/501/").content.decode()


def test_the_instance_page_still_renders_and_says_which_key_is_missing(key_lost, logged_in, owner_client):
    response = owner_client.get("/instances/prod-bot/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Stored secrets cannot be decrypted: SESSION_ENCRYPTION_KEY no longer contains the key" in body
    assert "Production bot" in body and "(cannot be decrypted)" in body
    assert key_lost[0] not in body


def test_the_instance_page_shows_no_key_warning_while_every_secret_decrypts(logged_in, owner_client):
    body = owner_client.get("/instances/prod-bot/").content.decode()
    assert "cannot be decrypted" not in body and "made " in body


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/instances/prod-bot/verify/"),
        ("post", "/instances/prod-bot/save/"),
        ("get", "/instances/prod-bot/authorizations/"),
    ],
)
def test_a_page_that_needs_a_secret_names_the_missing_key_instead_of_a_500(
    key_lost, logged_in, owner_client, method, url
):
    before = stored_columns(logged_in)
    response = getattr(owner_client, method)(url)
    assert response.status_code == 503
    body = response.content.decode()
    assert (
        "Stored secrets cannot be decrypted: SESSION_ENCRYPTION_KEY no longer contains the key they were written with"
        in body
    )
    assert "comma-separated, newest first" in body
    assert key_lost[0] not in body
    assert stored_columns(logged_in) == before


def test_the_clear_page_shows_for_htmx_requests_too(key_lost, logged_in, owner_client):
    response = owner_client.post("/instances/prod-bot/verify/", HTTP_HX_REQUEST="true")
    assert response.status_code == 503
    assert "SESSION_ENCRYPTION_KEY" in response.content.decode()


def test_reading_an_unreadable_secret_raises_secret_unreadable_and_saving_the_row_keeps_it(
    key_lost, logged_in, settings
):
    before = stored_columns(logged_in)
    instance = ConnectorInstance.objects.get(pk=logged_in.pk)
    with pytest.raises(SecretUnreadable, match="SESSION_ENCRYPTION_KEY"):
        _ = instance.session_string
    assert instance.has_session
    instance.name = "Renamed while the key was missing"
    instance.save()
    assert stored_columns(logged_in) == before

    settings.SESSION_ENCRYPTION_KEYS = key_lost
    restored = ConnectorInstance.objects.get(pk=logged_in.pk)
    assert restored.name == "Renamed while the key was missing"
    assert restored.session_string == logged_in.session_string
    assert restored.phone == PHONE and restored.api_hash == API_HASH


def test_the_admin_still_lists_and_edits_an_instance_whose_secrets_it_cannot_decrypt(key_lost, logged_in, admin_user):
    before = stored_columns(logged_in)
    client = client_for(admin_user)
    assert client.get("/admin/sessions_app/connectorinstance/").status_code == 200
    change = f"/admin/sessions_app/connectorinstance/{logged_in.pk}/change/"
    assert client.get(change).status_code == 200
    response = client.post(
        change,
        {
            "name": "Edited in admin",
            "api_id": "12345",
            "new_api_hash": "",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ConnectorInstance.objects.get(pk=logged_in.pk).name == "Edited in admin"
    assert stored_columns(logged_in) == before


def test_the_login_step_names_the_missing_key_when_the_pending_login_cannot_be_read(telegram, instance, settings):
    PendingLogin.objects.create(instance=instance, session_string="1pending", phone=PHONE, phone_code_hash="abc")
    settings.SESSION_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    client = client_for(instance.memberships.get(role="operator").user)
    for response in (
        client.get("/instances/prod-bot/login/"),
        client.post("/instances/prod-bot/login/", {"code": "22222"}),
    ):
        assert response.status_code == 503
        assert "SESSION_ENCRYPTION_KEY no longer contains the key" in response.content.decode()
    assert PendingLogin.objects.filter(instance=instance).exists()


# --- /healthz -----------------------------------------------------------------------------------


def test_healthz_fails_naming_the_missing_key_without_revealing_a_secret(key_lost, logged_in):
    response = Client().get("/healthz")
    assert response.status_code == 503
    data = response.json()
    assert data["status"] == "error"
    assert data["secrets"].startswith("error: 4 stored secrets cannot be decrypted: SESSION_ENCRYPTION_KEY")
    body = response.content.decode()
    for secret in (*key_lost, *stored_columns(logged_in)):
        assert secret not in body


def test_healthz_is_ok_while_every_secret_decrypts(logged_in):
    response = Client().get("/healthz")
    assert response.status_code == 200, response.content
    assert response.json()["secrets"] == "ok"


def test_healthz_is_ok_once_the_old_key_is_listed_after_the_new_one(key_lost, logged_in, settings):
    settings.SESSION_ENCRYPTION_KEYS = [*settings.SESSION_ENCRYPTION_KEYS, *key_lost]
    response = Client().get("/healthz")
    assert response.status_code == 200, response.content
    assert response.json()["secrets"] == "ok"


def test_the_sentence_on_the_page_is_the_one_in_the_issue():
    assert SECRETS_UNREADABLE.lower().startswith(
        "stored secrets cannot be decrypted: session_encryption_key no longer contains the key they were written with; "
        "restore it (keys can be listed comma-separated, newest first)"
    )


def test_healthz_tells_anonymous_callers_the_store_problem_without_its_path(db, settings, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.SESSION_STORE_DIR = str(blocker / "store")
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["store"] == "error: filesystem error"
    assert str(tmp_path) not in response.content.decode()


def test_healthz_tells_staff_where_the_store_failed(db, settings, tmp_path, owner):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.SESSION_STORE_DIR = str(blocker / "store")
    response = client_for(owner).get("/healthz")
    assert response.status_code == 503
    assert str(blocker) in response.json()["store"]


def test_a_deferred_secret_is_known_to_be_set_without_being_decrypted(key_lost, logged_in):
    listed = ConnectorInstance.objects.defer("session_string", "dashboard_session").get(pk=logged_in.pk)
    assert listed.has_session and listed.has_dashboard_key
    with pytest.raises(SecretUnreadable):
        _ = listed.session_string
    empty = ConnectorInstance.objects.create(session="empty-bot", name="Empty")
    assert not ConnectorInstance.objects.defer("session_string").get(pk=empty.pk).has_session
