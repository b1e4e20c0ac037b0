"""Every way a real account gets in: 2FA at import and at adoption, a new key that stumbles, blame.

Through the forms, against the demo Telegram: a 2FA account's string imports in one submission
with its password, Verify adopts a 2FA object a connector wrote, and both leave exactly two
teleconnect authorizations (the connector's and the dashboard's). A failure of the dashboard's
new key never changes the connector's status.
"""

from __future__ import annotations

import pytest
from telethon import errors as telethon_errors

from sessions_app.models import AuditEvent, InstanceStatus
from sessions_app.services.sessions import session_save
from sessions_app.storage import get_session_storage
from sessions_app.telegram import mint
from sessions_app.telegram.client import default_credentials
from sessions_app.telegram.errors import LoginTokenRefused, PasswordNeeded, translate
from tests.conftest import ADA, BEA, BEA_PASSWORD, bea_session, client_for, demo_session, log_in

DETAIL = "/instances/prod-bot/"
IMPORT = f"{DETAIL}import/"
BEA_ID = 7100031002
ADA_ID = 7100021001


def teleconnect_authorizations(telegram, user_id: int) -> list:
    """The account's sessions that are not the demo's seeded (official) devices."""
    return [a for a in telegram.authorizations(user_id) if not a.app_name.startswith("Telegram")]


def waiting_for_password(telegram, user_id: int) -> int:
    """Keys of the account still waiting for its 2FA password (half-made logins)."""
    with telegram.store.tx() as db:
        return int(db.execute("SELECT COUNT(*) FROM auth_keys WHERE pending_user_id = ?", (user_id,)).fetchone()[0])


def assert_exactly_connector_and_dashboard(telegram, instance, user_id: int) -> None:
    instance.refresh_from_db()
    hashes = {a.hash for a in teleconnect_authorizations(telegram, user_id)}
    assert hashes == {instance.connector_authorization_hash, instance.dashboard_authorization_hash}
    assert waiting_for_password(telegram, user_id) == 0


# -- import --------------------------------------------------------------------------------------


def test_a_2fa_accounts_string_imports_in_one_submission_with_its_password(telegram, owner_client, instance):
    string = bea_session()
    response = owner_client.post(IMPORT, {"session_string": string, "password": BEA_PASSWORD})
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.ACTIVE and instance.dashboard_session
    assert instance.telegram_name == "Bea Demo"
    assert_exactly_connector_and_dashboard(telegram, instance, BEA_ID)
    page = owner_client.get(DETAIL).content.decode()
    assert string not in page and BEA_PASSWORD not in page
    assert not AuditEvent.objects.filter(detail__icontains=BEA_PASSWORD).exists()


def test_the_import_form_shows_the_password_field_up_front(telegram, owner_client, instance):
    page = owner_client.get(IMPORT).content.decode()
    assert 'name="password"' in page and 'name="session_string"' in page
    assert "two-step verification" in page


@pytest.mark.parametrize("password", ["", "wrong password"])
def test_a_2fa_import_without_the_right_password_says_so_next_to_the_field_and_leaves_nothing(
    telegram, owner_client, instance, password
):
    string = bea_session()
    before = {a.hash for a in teleconnect_authorizations(telegram, BEA_ID)}
    response = owner_client.post(IMPORT, {"session_string": string, "password": password})
    assert response.status_code == 400
    page = response.content.decode()
    assert "two-step verification" in page
    # the sentence is the password field's own error, and neither secret is written back
    assert page.index('name="password"') < page.index("errorlist", page.index('name="password"'))
    assert string not in page and (not password or password not in page)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.NEW and not instance.session_string and not instance.dashboard_session
    assert {a.hash for a in teleconnect_authorizations(telegram, BEA_ID)} == before  # no half-made authorization
    assert waiting_for_password(telegram, BEA_ID) == 0
    assert telegram.is_authorized(string)


def test_a_password_given_for_an_account_without_2fa_is_not_needed_and_not_kept(telegram, owner_client, instance):
    response = owner_client.post(IMPORT, {"session_string": demo_session(), "password": "unused"})
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.ACTIVE
    assert_exactly_connector_and_dashboard(telegram, instance, ADA_ID)


# -- Verify adopting an object a connector wrote -------------------------------------------------


def _connector_wrote(instance, string: str) -> None:
    get_session_storage().save(instance.session, string, expected_etag=None)


def test_verify_adopts_a_2fa_object_written_by_a_connector(telegram, operator_client, instance):
    string = bea_session()
    _connector_wrote(instance, string)
    page = operator_client.get(DETAIL).content.decode()
    assert 'name="password"' in page  # Verify's optional password, shown up front
    response = operator_client.post(f"{DETAIL}verify/", {"password": BEA_PASSWORD})
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.ACTIVE and instance.verify_result == "alive"
    assert instance.session_string == string and instance.dashboard_session
    assert_exactly_connector_and_dashboard(telegram, instance, BEA_ID)


@pytest.mark.parametrize("password", ["", "not it"])
def test_verify_of_a_2fa_object_without_the_right_password_asks_next_to_the_field(
    telegram, operator_client, instance, password
):
    string = bea_session()
    _connector_wrote(instance, string)
    response = operator_client.post(f"{DETAIL}verify/", {"password": password})
    assert response.status_code == 400
    page = response.content.decode()
    assert "two-step verification" in page
    assert string not in page and (not password or password not in page)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.NEW and not instance.session_string
    assert teleconnect_authorizations(telegram, BEA_ID) and waiting_for_password(telegram, BEA_ID) == 0
    assert len(teleconnect_authorizations(telegram, BEA_ID)) == 1  # the connector's only
    assert telegram.is_authorized(string)


# -- the dashboard's new key stumbling -----------------------------------------------------------


def test_a_minted_key_that_stumbles_once_is_asked_again(telegram, owner_client, instance):
    telegram.stumble_next_minted_keys(1)
    response = owner_client.post(IMPORT, {"session_string": demo_session()})
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.ACTIVE and instance.dashboard_session
    with telegram.store.tx() as db:
        left = db.execute("SELECT value FROM meta WHERE key = 'stumble_new_keys'").fetchone()[0]
        stumbling = db.execute("SELECT COUNT(*) FROM auth_keys WHERE stumbles > 0").fetchone()[0]
    assert left == "0" and stumbling == 0  # the new key did stumble, and was asked again
    assert_exactly_connector_and_dashboard(telegram, instance, ADA_ID)


def test_a_mint_that_gives_up_never_marks_the_connector_dead(telegram, operator_client, instance, monkeypatch):
    log_in(instance)
    instance.refresh_from_db()
    connector = instance.session_string
    monkeypatch.setattr(mint, "NEW_KEY_RETRY_DELAYS", ())
    telegram.stumble_next_minted_keys(1)
    response = operator_client.post(f"{DETAIL}dashboard-key/")
    assert response.status_code == 400
    assert "session is not affected" in response.content.decode()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.ACTIVE  # not revoked: the connector's key is fine
    assert instance.session_string == connector and telegram.is_authorized(connector)
    assert_exactly_connector_and_dashboard(telegram, instance, ADA_ID)  # the old dashboard key kept, nothing new


def test_a_login_whose_mint_gives_up_stays_active_with_the_mint_button(
    telegram, operator_client, instance, monkeypatch
):
    monkeypatch.setattr(mint, "NEW_KEY_RETRY_DELAYS", ())
    telegram.stumble_next_minted_keys(1)
    assert operator_client.post(f"{DETAIL}login/", {"phone": ADA}).status_code == 302
    response = operator_client.post(f"{DETAIL}login/", {"code": "22222"}, follow=True)
    assert response.status_code == 200
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.ACTIVE and instance.session_string and not instance.dashboard_session
    assert "connector's session is not affected" in instance.dashboard_key_error
    assert "Mint the dashboard" in response.content.decode()
    devices = [a.device_model for a in teleconnect_authorizations(telegram, ADA_ID)]
    assert devices == ["teleconnect connector"]  # the half-made dashboard authorization was logged out


def test_verify_adoption_blames_a_stumbling_new_key_on_nobody_but_it(telegram, operator_client, instance, monkeypatch):
    string = demo_session()
    _connector_wrote(instance, string)
    monkeypatch.setattr(mint, "NEW_KEY_RETRY_DELAYS", ())
    telegram.stumble_next_minted_keys(1)
    response = operator_client.post(f"{DETAIL}verify/", {"password": ""}, follow=True)
    assert "session is not affected" in response.content.decode()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.NEW  # not "revoked": nothing is known against the connector
    assert telegram.is_authorized(string)


# -- login tokens and active sessions ------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (telethon_errors.AuthTokenExpiredError, "expired"),
        (telethon_errors.AuthTokenAlreadyAcceptedError, "already used"),
        (telethon_errors.AuthTokenInvalidError, "does not recognise"),
        (telethon_errors.AuthTokenInvalidxError, "does not recognise"),
        (telethon_errors.AuthTokenExceptionError, "could not process"),
    ],
)
def test_every_login_token_error_has_its_own_sentence(error, words):
    translated = translate(error(request=None))
    assert isinstance(translated, LoginTokenRefused)
    assert words in translated.message and "QR code" in translated.message
    assert "refused the request" not in translated.message


def test_active_sessions_marks_a_login_waiting_for_the_password_and_unconfirmed_ones(telegram, owner, instance):
    import base64

    from sessions_app.services.keys import dashboard_key_mint, key_fingerprint
    from sessions_app.telegram.login import qr_poll

    instance.session_string = bea_session()
    instance.connector_key_fingerprint = key_fingerprint(instance.session_string)
    instance.status = InstanceStatus.ACTIVE
    instance.save()
    dashboard_key_mint(instance=instance, actor=None, password=BEA_PASSWORD)
    pending = qr_poll(session="", api=default_credentials())  # someone's QR login of the same account
    token = pending.url.split("token=", 1)[1]
    telegram.approve_qr(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)), BEA.lstrip("+"))
    with pytest.raises(PasswordNeeded):  # scanned: the login now waits for the 2FA password
        qr_poll(session=pending.session, api=default_credentials())
    page = client_for(owner).get(f"{DETAIL}authorizations/").content.decode()
    assert "waiting for the 2FA password" in page
    assert "unconfirmed" in page


# -- a conflict resolved with "Use the stored one" ---------------------------------------------------


def _conflict_with_a_2fa_object(operator_client, instance) -> str:
    """The dashboard holds Ada's session; a connector wrote Bea's (2FA) over the object since."""
    string = bea_session()
    log_in(instance)
    session_save(instance=instance, actor=None)
    instance.refresh_from_db()
    get_session_storage().save(instance.session, string, expected_etag=instance.object_etag)
    conflict = operator_client.post(f"{DETAIL}save/")
    assert conflict.status_code == 409 and 'name="password"' in conflict.content.decode()
    return string


def test_use_the_stored_one_adopts_a_2fa_object_with_its_password(telegram, operator_client, instance):
    string = _conflict_with_a_2fa_object(operator_client, instance)
    response = operator_client.post(f"{DETAIL}save/", {"resolve": "use_stored", "password": BEA_PASSWORD})
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.session_string == string and instance.status == InstanceStatus.ACTIVE
    assert_exactly_connector_and_dashboard(telegram, instance, BEA_ID)
    assert AuditEvent.objects.filter(instance=instance, action="session.use_stored", outcome="ok").exists()


@pytest.mark.parametrize("password", ["", "not it"])
def test_use_the_stored_one_without_the_right_password_asks_again_on_the_conflict_page(
    telegram, operator_client, instance, password
):
    string = _conflict_with_a_2fa_object(operator_client, instance)
    before = instance.session_string
    response = operator_client.post(f"{DETAIL}save/", {"resolve": "use_stored", "password": password})
    assert response.status_code == 400
    page = response.content.decode()
    assert "two-step verification" in page and "Use the stored one" in page and "Overwrite it" in page
    assert string not in page and (not password or password not in page)
    instance.refresh_from_db()
    assert instance.session_string == before  # nothing adopted; the object is still Bea's
    assert get_session_storage().load(instance.session).content == string
    assert waiting_for_password(telegram, BEA_ID) == 0
    assert len(teleconnect_authorizations(telegram, BEA_ID)) == 1  # the connector's only
