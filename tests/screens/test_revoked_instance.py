"""A revoked instance: Revoke again says it was already revoked, and Save and Revoke say why they cannot run."""

from __future__ import annotations

from pathlib import Path

import pytest

from sessions_app.models import AuditEvent
from sessions_app.storage import get_session_storage
from tests import support
from tests.conftest import demo_session, log_in

DETAIL = "/instances/prod-bot/"


@pytest.fixture
def revoked(telegram, instance, owner_client):
    log_in(instance)
    assert "Revoked:" in owner_client.post(f"{DETAIL}revoke/", follow=True).content.decode()
    instance.refresh_from_db()
    assert instance.status == "revoked"
    return instance


def _object(settings) -> Path:
    return Path(settings.SESSION_STORE_DIR, "telegram", "prod-bot", "session.txt")


def test_revoking_a_revoked_instance_says_so_without_telegram_and_changes_nothing(revoked, owner_client, settings):
    settings.TELEGRAM_CLIENT_FACTORY = "tests.support.counting_factory"
    support.CountingFactory.built = 0
    before = _object(settings).stat().st_mtime_ns, revoked.object_etag, revoked.updated_at
    audited = AuditEvent.objects.count()

    page = owner_client.post(f"{DETAIL}revoke/", follow=True).content.decode()

    assert "already revoked" in page and "Nothing was changed" in page and "Revoked:" not in page
    assert support.CountingFactory.built == 0  # no Telegram call
    revoked.refresh_from_db()
    assert (_object(settings).stat().st_mtime_ns, revoked.object_etag, revoked.updated_at) == before
    assert revoked.status == "revoked"
    [event] = AuditEvent.objects.order_by("id")[audited:]
    assert (event.action, event.outcome, event.detail) == ("session.revoke", "refused", {"refusal": "AlreadyRevoked"})


def test_revoke_on_an_instance_never_logged_in_says_there_is_nothing_to_revoke(telegram, instance, owner_client):
    page = owner_client.post(f"{DETAIL}revoke/", follow=True).content.decode()
    assert "no session to revoke" in page
    instance.refresh_from_db()
    assert instance.status == "new"
    assert AuditEvent.objects.filter(action="session.revoke", outcome="refused").exists()
    assert not AuditEvent.objects.filter(action="session.revoke", outcome="ok").exists()


def test_an_object_a_connector_wrote_after_the_revoke_is_still_revoked(revoked, owner_client, telegram):
    string = demo_session()
    store = get_session_storage()
    store.save("prod-bot", string, expected_etag=store.head("prod-bot").etag)
    page = owner_client.post(f"{DETAIL}revoke/", follow=True).content.decode()
    assert "Revoked:" in page and "already revoked" not in page
    assert not telegram.is_authorized(string)


def test_the_revoked_instance_page_disables_save_and_revoke_with_the_reason(revoked, owner_client):
    page = owner_client.get(DETAIL).content.decode()
    assert f'href="{DETAIL}revoke/"' not in page and f'action="{DETAIL}save/"' not in page
    assert (
        '<button type="button" class="danger" disabled aria-describedby="revoke-unavailable">Revoke…</button>' in page
    )
    assert "Already revoked: no session is left to end" in page
    assert '<button type="button" class="secondary" disabled aria-describedby="save-unavailable">' in page
    assert "Nothing to save: the session was revoked" in page


def test_the_revoke_confirmation_of_a_revoked_instance_offers_no_revoke(revoked, owner_client):
    page = owner_client.get(f"{DETAIL}revoke/").content.decode()
    assert "Already revoked" in page and f'action="{DETAIL}revoke/"' not in page


def test_an_active_instance_page_offers_save_and_revoke(telegram, instance, owner_client):
    log_in(instance)
    page = owner_client.get(DETAIL).content.decode()
    assert f'href="{DETAIL}revoke/"' in page and f'action="{DETAIL}save/"' in page
    assert "revoke-unavailable" not in page and "save-unavailable" not in page


def test_save_on_a_revoked_instance_is_refused_with_a_message_and_audited(revoked, owner_client):
    page = owner_client.post(f"{DETAIL}save/", follow=True).content.decode()
    assert "Not saved: This instance&#x27;s session was revoked, so there is nothing to save." in page
    event = AuditEvent.objects.filter(action="session.save").latest("id")
    assert (event.outcome, event.detail) == ("refused", {"refusal": "NothingToSave"})


def test_last_verify_says_what_the_check_found_and_when(telegram, instance, operator_client):
    log_in(instance)
    operator_client.post(f"{DETAIL}save/")
    assert "never" in operator_client.get(DETAIL).content.decode().split('id="last-verify"')[1][:20]
    operator_client.post(f"{DETAIL}verify/")
    page = operator_client.get(DETAIL).content.decode()
    shown = page.split('id="last-verify">')[1].split("</dd>")[0]
    assert shown.startswith("alive: Telegram still lists the connector&#x27;s session")
    instance.refresh_from_db()
    assert instance.verified_at.strftime("%Y-%m-%d %H:%M:%S") in shown and "ago" in shown
    telegram.terminate_session(instance.session_string)
    operator_client.post(f"{DETAIL}verify/")
    shown = operator_client.get(DETAIL).content.decode().split('id="last-verify">')[1].split("</dd>")[0]
    assert shown.startswith("revoked: the stored session was logged out or terminated elsewhere")
