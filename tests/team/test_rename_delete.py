"""Rename (owners) and delete (owners, confirmed by typing the SESSION; a live object needs revoke-first or keep)."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from sessions_app.models import ArchiveRun, AuditEvent, ConnectorInstance, Dialog, Membership, Message
from sessions_app.models_health import Health, HealthCheck
from sessions_app.models_media import ArchivedMedia
from sessions_app.selectors.audit_sentences import audit_sentence
from sessions_app.services.instance_admin import (
    DeleteRefused,
    InstanceGone,
    ObjectChoice,
    instance_delete,
    instance_rename,
)
from sessions_app.services.sessions import session_save
from sessions_app.storage import get_session_storage
from sessions_app.storage.local import LocalSessionStore
from tests.conftest import client_for, log_in

pytestmark = pytest.mark.django_db
RENAME = "/instances/prod-bot/rename/"
DELETE = "/instances/prod-bot/delete/"


def object_path(settings) -> Path:
    return Path(settings.SESSION_STORE_DIR, "telegram", "prod-bot", "session.txt")


@pytest.fixture
def saved(telegram, instance):
    """Logged in (the connector's key and the dashboard's own) and saved: the object holds a live session."""
    log_in(instance)
    session_save(instance=instance, actor=None)
    instance.refresh_from_db()
    return instance


def gone() -> bool:
    return not ConnectorInstance.objects.filter(session="prod-bot").exists()


# --- rename ------------------------------------------------------------------------------------------


def test_an_owner_renames_the_instance_and_it_is_audited(owner_client, instance):
    response = owner_client.post(RENAME, {"name": "  Sales bot  "})
    assert response.status_code == 302 and response["Location"] == "/instances/prod-bot/"
    instance.refresh_from_db()
    assert instance.name == "Sales bot"
    event = AuditEvent.objects.get(action="instance.rename")
    assert audit_sentence(event) == "olivia renamed prod-bot from 'Production bot' to 'Sales bot'"


def test_the_rename_form_shows_the_current_name(owner_client, instance):
    page = owner_client.get(RENAME).content.decode()
    assert 'value="Production bot"' in page and 'action="/instances/prod-bot/rename/"' in page


@pytest.mark.parametrize(
    ("name", "says"), [("   ", "cannot be blank"), ("x" * 201, "at most 200 characters (this one has 201)")]
)
def test_a_blank_or_too_long_name_is_a_form_error_and_nothing_changes(owner_client, instance, name, says):
    response = owner_client.post(RENAME, {"name": name})
    assert response.status_code == 400 and says in response.content.decode()
    instance.refresh_from_db()
    assert instance.name == "Production bot"
    assert not AuditEvent.objects.filter(action="instance.rename").exists()


def test_the_same_name_again_changes_and_records_nothing(owner_client, instance):
    owner_client.post(RENAME, {"name": "Production bot"})
    assert not AuditEvent.objects.filter(action="instance.rename").exists()


def test_rename_needs_the_owner_role(instance, operator, viewer, outsider):
    assert client_for(operator).post(RENAME, {"name": "Mine"}).status_code == 403
    assert client_for(viewer).get(RENAME).status_code == 403
    assert client_for(outsider).post(RENAME, {"name": "Mine"}).status_code == 404
    instance.refresh_from_db()
    assert instance.name == "Production bot"


# --- delete: who, and the confirmation ---------------------------------------------------------------


def test_delete_needs_the_owner_role(instance, operator, viewer, outsider):
    data = {"confirm": "prod-bot"}
    assert client_for(operator).post(DELETE, data).status_code == 403
    assert client_for(viewer).get(DELETE).status_code == 403
    assert client_for(outsider).post(DELETE, data).status_code == 404
    assert not gone()


def test_the_confirmation_page_says_what_goes_and_what_the_object_holds(saved, owner_client):
    page = owner_client.get(DELETE).content.decode()
    assert "still holds a session" in page and "Type <code>prod-bot</code> to confirm" in page
    assert 'value="revoke"' in page and 'value="keep"' in page
    assert saved.session_string not in page


@pytest.mark.parametrize("typed", ["", "prod-bo", "PROD-BOT", " prod-bot"])
def test_a_wrong_confirmation_deletes_nothing(owner_client, instance, typed):
    response = owner_client.post(DELETE, {"confirm": typed})
    assert response.status_code == 400
    assert "type the SESSION exactly as shown (prod-bot)" in response.content.decode()
    assert not gone()
    assert not AuditEvent.objects.filter(action="instance.delete").exists()


# --- delete: nothing held ---------------------------------------------------------------------------


def test_it_deletes_an_instance_with_no_session_and_its_archive_but_keeps_the_audit_trail(
    telegram, owner_client, instance
):
    dialog = Dialog.objects.create(instance=instance, peer_id=42, kind="user", title="Ada")
    Message.objects.create(
        instance=instance, dialog=dialog, peer_id=42, message_id=1, date="2024-01-01T00:00Z", text="hi"
    )
    ArchiveRun.objects.create(instance=instance, status="done")
    HealthCheck.objects.create(instance=instance, started_at="2024-01-01T00:00Z", trigger="web", result=Health.IDLE)
    earlier = list(AuditEvent.objects.values_list("id", "hash"))
    owner_client.post(RENAME, {"name": "Renamed"})
    response = owner_client.post(DELETE, {"confirm": "prod-bot"}, follow=True)
    page = response.content.decode()
    assert "Deleted prod-bot" in page and "It had no session object in the store." in page
    assert gone()
    assert not (Dialog.objects.exists() or Message.objects.exists() or ArchiveRun.objects.exists())
    assert not (HealthCheck.objects.exists() or Membership.objects.exists())
    for pk, digest in earlier:  # untouched
        assert AuditEvent.objects.get(pk=pk).hash == digest
    event = AuditEvent.objects.get(action="instance.delete")
    assert event.session == "prod-bot" and audit_sentence(event) == "olivia deleted prod-bot (object missing)"
    assert AuditEvent.objects.filter(session="prod-bot", action="instance.rename").exists()
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert "chain intact" in out.getvalue()


def test_an_empty_object_is_nothing_to_revoke(telegram, owner_client, instance, settings):
    get_session_storage().save(instance.session, "", expected_etag=None)
    owner_client.post(DELETE, {"confirm": "prod-bot"})
    assert gone()
    assert object_path(settings).read_text() == ""
    assert audit_sentence(AuditEvent.objects.get(action="instance.delete")) == "olivia deleted prod-bot (object empty)"


def test_the_same_session_can_be_created_again_and_does_not_inherit_the_old_audit(telegram, owner_client, instance):
    owner_client.post(DELETE, {"confirm": "prod-bot"})
    response = owner_client.post("/instances/new/", {"session": "prod-bot", "name": "Again"})
    assert response.status_code == 302
    again = ConnectorInstance.objects.get(session="prod-bot")
    assert again.name == "Again" and again.pk != instance.pk  # ids are never reused: old events stay the old one's
    trail = owner_client.get("/instances/prod-bot/audit/").content.decode()
    assert "created the instance prod-bot" in trail and "deleted prod-bot" not in trail


# --- delete: a live session --------------------------------------------------------------------------


def test_a_live_object_refuses_a_plain_delete(saved, owner_client, settings):
    response = owner_client.post(DELETE, {"confirm": "prod-bot"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Not deleted: telegram/prod-bot/session.txt still holds a session" in page
    assert "Revoke first" in page and "Keep the object" in page
    assert not gone()
    refused = AuditEvent.objects.get(action="instance.delete")
    assert refused.outcome == "refused" and audit_sentence(refused) == "olivia deleted prod-bot (refused)"


def test_a_connector_key_kept_only_here_also_counts_as_live(telegram, owner_client, instance):
    log_in(instance)  # logged in, never saved: the object is missing
    response = owner_client.post(DELETE, {"confirm": "prod-bot"})
    assert response.status_code == 400 and "still keeps this instance's connector session" in response.content.decode()
    assert not gone()


def test_revoke_first_ends_both_authorizations_empties_the_object_and_deletes(saved, telegram, owner_client, settings):
    connector, dashboard = saved.session_string, saved.dashboard_session
    response = owner_client.post(DELETE, {"confirm": "prod-bot", "object": "revoke"}, follow=True)
    assert "Its session was revoked first" in response.content.decode()
    assert gone()
    assert not telegram.is_authorized(connector) and not telegram.is_authorized(dashboard)
    assert object_path(settings).read_text() == ""
    actions = set(AuditEvent.objects.filter(session="prod-bot").values_list("action", flat=True))
    assert {"session.revoke", "instance.delete"} <= actions
    assert (
        audit_sentence(AuditEvent.objects.get(action="instance.delete")) == "olivia deleted prod-bot (object revoked)"
    )


def test_keep_leaves_the_object_and_the_connector_but_logs_out_the_dashboards_key(
    saved, telegram, owner_client, settings
):
    connector, dashboard = saved.session_string, saved.dashboard_session
    response = owner_client.post(DELETE, {"confirm": "prod-bot", "object": "keep"}, follow=True)
    assert "was left untouched in the store" in response.content.decode()
    assert gone()
    assert object_path(settings).read_text() == connector
    assert telegram.is_authorized(connector) and not telegram.is_authorized(dashboard)
    event = AuditEvent.objects.get(action="instance.delete")
    assert audit_sentence(event) == "olivia deleted prod-bot (object kept)"
    assert AuditEvent.objects.filter(session="prod-bot", action="dashboard_key.retire", outcome="ok").exists()


def test_when_the_revoke_fails_nothing_is_deleted(saved, owner_client, settings):
    before = object_path(settings).read_text()
    settings.TELEGRAM_CLIENT_FACTORY = "tests.support.unreachable_factory"
    response = owner_client.post(DELETE, {"confirm": "prod-bot", "object": "revoke"})
    assert response.status_code == 400
    assert "Not deleted: Nothing was revoked" in response.content.decode()
    assert not gone()
    saved.refresh_from_db()
    assert saved.status == "active" and saved.session_string == before
    assert object_path(settings).read_text() == before


def test_when_the_dashboards_key_cannot_be_logged_out_keep_deletes_nothing(saved, owner_client, settings):
    settings.TELEGRAM_CLIENT_FACTORY = "tests.support.unreachable_factory"
    response = owner_client.post(DELETE, {"confirm": "prod-bot", "object": "keep"})
    assert response.status_code == 400
    assert "Telegram did not confirm logging out the dashboard" in response.content.decode()
    assert not gone()


def test_with_the_store_down_a_plain_delete_is_refused_but_keep_works(telegram, owner_client, instance, settings):
    settings.AWS_S3_SESSION_BUCKET = "sessions"
    settings.AWS_S3_ENDPOINT = "http://127.0.0.1:9"  # nothing listens there
    page = owner_client.get(DELETE).content.decode()
    assert "could not be read right now" in page
    response = owner_client.post(DELETE, {"confirm": "prod-bot"})
    assert response.status_code == 400 and "the session object could not be read" in response.content.decode()
    assert not gone()
    owner_client.post(DELETE, {"confirm": "prod-bot", "object": "keep"})
    assert gone()


def test_it_refuses_while_an_archive_run_is_active(telegram, owner_client, instance):
    ArchiveRun.objects.create(instance=instance, status="running")
    response = owner_client.post(DELETE, {"confirm": "prod-bot"})
    assert (
        response.status_code == 400
        and "an archive run of this instance is queued or running" in response.content.decode()
    )
    assert not gone()


# --- two people at once ------------------------------------------------------------------------------


def test_the_second_of_two_deletes_is_told_it_is_gone(telegram, owner, instance):
    first = ConnectorInstance.objects.get(pk=instance.pk)
    second = ConnectorInstance.objects.get(pk=instance.pk)  # loaded by the other person's request
    instance_delete(instance=first, actor=owner, confirm="prod-bot")
    with pytest.raises(InstanceGone):
        instance_delete(instance=second, actor=owner, confirm="prod-bot", choice=ObjectChoice.KEEP)
    assert AuditEvent.objects.filter(action="instance.delete", outcome="ok").count() == 1


def test_a_second_click_after_the_delete_gets_a_404_not_an_error(telegram, owner_client, instance):
    assert owner_client.post(DELETE, {"confirm": "prod-bot"}).status_code == 302
    assert owner_client.post(DELETE, {"confirm": "prod-bot"}).status_code == 404


def test_an_archive_run_queued_while_the_delete_reads_the_store_stops_the_delete(
    telegram, owner, instance, monkeypatch
):
    # Another person's "Archive now" lands while the delete waits for the store's answer.
    answer = LocalSessionStore.head

    def head_while_someone_starts_a_run(store, session):
        ArchiveRun.objects.get_or_create(instance=instance, status="queued")
        return answer(store, session)

    monkeypatch.setattr(LocalSessionStore, "head", head_while_someone_starts_a_run)

    with pytest.raises(DeleteRefused) as refused:
        instance_delete(instance=instance, actor=owner, confirm="prod-bot")

    assert "an archive run of this instance is queued or running" in refused.value.message
    assert not gone() and ArchiveRun.objects.filter(instance=instance, status="queued").count() == 1
    assert AuditEvent.objects.filter(action="instance.delete", outcome="refused").count() == 1
    assert not AuditEvent.objects.filter(action="instance.delete", outcome="ok").exists()


def test_the_confirmation_page_says_the_stored_media_files_stay_in_the_store(owner_client, instance):
    for file_id, status in ((1, "done"), (2, "done"), (3, "pending")):
        ArchivedMedia.objects.create(
            instance=instance, file_id=file_id, kind="photo", store_key=f"k{file_id}", status=status
        )

    page = owner_client.get(DELETE).content.decode()

    assert (
        "the 2 files the archive downloaded stay in the media store under <code>telegram/prod-bot/media/</code>" in page
    )


def test_without_stored_media_the_confirmation_page_says_nothing_of_them(owner_client, instance):
    assert "Media files:" not in owner_client.get(DELETE).content.decode()


def test_renaming_an_instance_deleted_since_the_page_loaded_says_it_is_gone(owner, instance):
    loaded = ConnectorInstance.objects.get(pk=instance.pk)  # the rename page's copy
    ConnectorInstance.objects.filter(pk=instance.pk).delete()  # another owner's delete

    with pytest.raises(InstanceGone):
        instance_rename(instance=loaded, actor=owner, name="Renamed")

    assert not AuditEvent.objects.filter(action="instance.rename").exists()
