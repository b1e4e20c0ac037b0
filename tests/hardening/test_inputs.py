"""Bad inputs get a clear message and change nothing (issue 10, item 6: digits, a 3 MB import, the admin's API pair)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from sessions_app.forms import CodeForm, PhoneForm
from sessions_app.models import AuditEvent, ConnectorInstance, PendingLogin, SendCodeAttempt
from tests.conftest import ADA, client_for

LOGIN = "/instances/prod-bot/login/"
IMPORT = "/instances/prod-bot/import/"
API_HASH = "0123456789abcdef0123456789abcdef"

# ADA's demo code is 22222, here as other scripts write it.
TWOS = {
    "superscript": "²²²²²",
    "Arabic-Indic": "٢٢٢٢٢",
    "Persian": "۲۲۲۲۲",
    "full-width": "２２２２２",
    "Devanagari": "२२२२२",
    "spaced Arabic-Indic": "٢٢ ٢٢٢",
}


# --- Codes and phone numbers with non-ASCII digits ---------------------------------------------------


@pytest.mark.parametrize("script", TWOS)
def test_a_code_typed_in_other_digits_reaches_telegram_as_ascii_digits(script):
    form = CodeForm({"code": TWOS[script]})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["code"] == "22222"


@pytest.mark.parametrize("script", ["superscript", "Arabic-Indic", "full-width"])
def test_it_signs_in_with_a_code_typed_in_other_digits(telegram, operator_client, instance, script):
    assert operator_client.post(LOGIN, {"phone": ADA}).status_code == 302
    response = operator_client.post(LOGIN, {"code": TWOS[script]})
    assert response.status_code == 302 and response["Location"] == "/instances/prod-bot/"
    instance.refresh_from_db()
    assert instance.status == "active" and instance.telegram_name == "Ada Demo"


def test_a_wrong_code_in_other_digits_is_telegrams_refusal_not_a_500(telegram, operator_client, instance):
    operator_client.post(LOGIN, {"phone": ADA})
    response = operator_client.post(LOGIN, {"code": "٣٣٣٣٣"})
    assert response.status_code == 400
    assert "code" in response.content.decode().lower()
    assert PendingLogin.objects.get(instance=instance).step == "code"
    assert ConnectorInstance.objects.get(pk=instance.pk).status == "code_sent"


@pytest.mark.parametrize("code", ["½½½½½", "ⅡⅡⅡⅡⅡ", "22⁄22", "𝟐𝟐x𝟐𝟐"])
def test_a_code_that_is_not_digits_in_any_script_is_a_form_error_without_a_call(
    telegram, operator_client, instance, code
):
    operator_client.post(LOGIN, {"phone": ADA})
    audit_before = AuditEvent.objects.count()
    response = operator_client.post(LOGIN, {"code": code})
    assert response.status_code == 400
    assert "The code is the 5-digit number Telegram sent (digits only)." in response.content.decode()
    assert AuditEvent.objects.count() == audit_before  # no Telegram call was made
    assert PendingLogin.objects.get(instance=instance).step == "code"


def test_a_phone_number_typed_in_arabic_indic_digits_is_sent_as_ascii(telegram, operator_client, instance):
    assert PhoneForm({"phone": "+٩٩٩ ٦٦٢ ١٠٠١"}).is_valid()
    response = operator_client.post(LOGIN, {"phone": "+٩٩٩٦٦٢١٠٠١"})
    assert response.status_code == 302
    assert PendingLogin.objects.get(instance=instance).phone == ADA


def test_a_phone_number_with_non_digits_is_still_refused_before_telegram(telegram, operator_client, instance):
    response = operator_client.post(LOGIN, {"phone": "+999½621001"})
    assert response.status_code == 400
    assert not SendCodeAttempt.objects.exists()


# --- A 3 MB import ---------------------------------------------------------------------------------

THREE_MB = "1" + "A" * (3 * 1024 * 1024)
TOO_BIG = "That was far more than a session string: this page takes at most 2.5"


def csrf_client(user) -> tuple[Client, str]:
    """A browser-like client: the CSRF check runs, with a token taken from the import page."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get(IMPORT)
    return client, client.cookies["csrftoken"].value


def test_a_3_mb_import_shows_a_sentence_on_the_import_page(telegram, instance, owner):
    client, token = csrf_client(owner)
    response = client.post(IMPORT, {"session_string": THREE_MB, "csrfmiddlewaretoken": token})
    assert response.status_code == 413
    body = response.content.decode()
    assert "Import a session string into" in body and TOO_BIG in body
    assert "Nothing was imported." in body and "AAAAAAAAAA" not in body
    instance.refresh_from_db()
    assert instance.status == "new" and not instance.has_session
    assert not AuditEvent.objects.filter(action="login.import").exists()


def test_a_3_mb_import_is_refused_with_the_sentence_when_the_view_reads_it(telegram, instance, owner_client):
    response = owner_client.post(IMPORT, {"session_string": THREE_MB})  # no CSRF check: the view meets it
    assert response.status_code == 413
    assert TOO_BIG in response.content.decode()
    assert not ConnectorInstance.objects.get(pk=instance.pk).has_session


def test_a_3_mb_post_to_someone_elses_import_page_says_nothing_about_the_instance(telegram, instance, outsider):
    client, token = csrf_client(outsider)
    response = client.post(IMPORT, {"session_string": THREE_MB, "csrfmiddlewaretoken": token})
    assert response.status_code == 413
    body = response.content.decode()
    assert "more than any page here takes, so nothing was read or changed" in body
    assert "prod-bot" not in body


def test_a_3_mb_post_to_another_page_gets_the_plain_sentence(telegram, instance, owner):
    client, token = csrf_client(owner)
    response = client.post(LOGIN, {"phone": "9" * (3 * 1024 * 1024), "csrfmiddlewaretoken": token})
    assert response.status_code == 413
    assert "The form sent more than 2.5" in response.content.decode()
    assert not SendCodeAttempt.objects.exists()


def test_an_import_just_within_the_limit_is_an_ordinary_form_error(telegram, instance, owner_client):
    response = owner_client.post(IMPORT, {"session_string": "1" + "A" * 5000})
    assert response.status_code == 400
    assert TOO_BIG not in response.content.decode()


# --- The API id / hash pair in the admin -------------------------------------------------------------

CHANGE = "/admin/sessions_app/connectorinstance/{pk}/change/"


def admin_post(client: Client, instance: ConnectorInstance, **fields: str):
    data = {
        "name": instance.name,
        "api_id": "",
        "new_api_hash": "",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        **fields,
    }
    return client.post(CHANGE.format(pk=instance.pk), data)


BOTH_OR_NEITHER = "Give both the API id and the API hash override, or neither"


def test_the_model_refuses_an_api_id_without_an_api_hash_and_the_reverse(db):
    for fields in ({"api_id": 12345}, {"api_hash": API_HASH}):
        with pytest.raises(ValidationError, match=BOTH_OR_NEITHER):
            ConnectorInstance(session="x-bot", name="X", **fields).full_clean()
    ConnectorInstance(session="x-bot", name="X", api_id=12345, api_hash=API_HASH).full_clean()
    ConnectorInstance(session="x-bot", name="X").full_clean()


def test_the_admin_cannot_save_an_api_id_without_an_api_hash(instance, admin_user):
    response = admin_post(client_for(admin_user), instance, api_id="12345")
    assert response.status_code == 200
    assert BOTH_OR_NEITHER in response.content.decode()
    instance.refresh_from_db()
    assert instance.api_id is None and instance.api_hash == ""


def test_the_admin_saves_an_api_id_with_its_hash_and_never_shows_the_hash(instance, admin_user):
    client = client_for(admin_user)
    response = admin_post(client, instance, api_id="12345", new_api_hash=API_HASH.upper())
    assert response.status_code == 302
    instance.refresh_from_db()
    assert (instance.api_id, instance.api_hash) == (12345, API_HASH)
    assert API_HASH not in client.get(CHANGE.format(pk=instance.pk)).content.decode().lower()


def test_the_admin_keeps_the_stored_hash_when_only_the_api_id_changes_and_drops_it_with_the_id(instance, admin_user):
    instance.api_id, instance.api_hash = 12345, API_HASH
    instance.save()
    client = client_for(admin_user)
    assert admin_post(client, instance, api_id="777").status_code == 302
    instance.refresh_from_db()
    assert (instance.api_id, instance.api_hash) == (777, API_HASH)
    assert admin_post(client, instance).status_code == 302
    instance.refresh_from_db()
    assert (instance.api_id, instance.api_hash) == (None, "")


def test_the_admin_refuses_a_hash_that_is_not_one(instance, admin_user):
    response = admin_post(client_for(admin_user), instance, api_id="12345", new_api_hash="not-a-hash")
    assert response.status_code == 200
    assert "32-character hexadecimal string" in response.content.decode()
    assert ConnectorInstance.objects.get(pk=instance.pk).api_id is None


def test_the_instance_form_keeps_its_own_message(owner_client):
    response = owner_client.post("/instances/new/", {"session": "pair-bot", "name": "Pair", "api_id": "12345"})
    assert response.status_code == 400
    assert "Give both the API id and the API hash, or neither" in response.content.decode()
    assert not ConnectorInstance.objects.filter(session="pair-bot").exists()
