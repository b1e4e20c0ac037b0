"""Every way Telegram sends the login code, through the login page: email, a login email to set up
first, words and phrases, calls, Fragment, and the answers only official apps can follow."""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

import pytest
from telethon.tl import functions, types

from sessions_app.models import AuditEvent, ConnectorInstance, PendingLogin, SendCodeAttempt
from sessions_app.telegram.fake import DemoTelegram, keys
from sessions_app.telegram.fake.rpc import Call
from tests import support
from tests.conftest import ADA, client_for
from tests.processes import site

LOGIN = "/instances/prod-bot/login/"
RESEND = "/instances/prod-bot/login/resend/"
DEE = "+9996621004"  # code by email to dee@example.com
EVE, EVE_EMAIL = "+9996631005", "eve@example.org"  # sets up a login email first (home DC 3)
FAY = "+9996621006"  # a word by SMS, then a phrase, a missed call, a call
GUS, HAL = "+9996621007", "+9996621008"  # Firebase SMS only; payment required
IVY = "+9996611009"  # a Fragment number
ADA_ID = 7100021001


def _page(client) -> str:
    return client.get(LOGIN).content.decode()


def _where(page: str) -> str:
    """The sentence saying where the code went, whitespace folded."""
    found = re.search(r'<p id="code-where">(.*?)</p>', page, re.S)
    assert found, "the page says nowhere where the code went"
    return " ".join(found.group(1).split())


def _digits(phone: str) -> str:
    return phone.lstrip("+")


def _pending(instance: ConnectorInstance) -> PendingLogin:
    return PendingLogin.objects.get(instance=instance)


def _active_as(instance: ConnectorInstance, name: str) -> bool:
    instance.refresh_from_db()
    return instance.status == "active" and instance.telegram_name == name


# --- Codes by email ------------------------------------------------------------------------------------


def test_it_logs_in_an_account_whose_code_goes_by_email(telegram, operator_client, instance):
    assert operator_client.post(LOGIN, {"phone": DEE}).status_code == 302
    page = _page(operator_client)
    assert "by email to d***@example.com" in _where(page) and 'name="code"' in page
    assert _pending(instance).code_type == "EmailCode"
    response = operator_client.post(LOGIN, {"code": telegram.last_code(_digits(DEE))})
    assert response.status_code == 302 and response["Location"] == "/instances/prod-bot/"
    assert _active_as(instance, "Dee Demo")
    assert telegram.is_authorized(instance.session_string)


def test_a_wrong_email_code_is_a_sentence_at_the_code_and_changes_nothing(telegram, operator_client, instance):
    operator_client.post(LOGIN, {"phone": DEE})
    before = _pending(instance)
    response = operator_client.post(LOGIN, {"code": "12345"})
    assert response.status_code == 400
    assert "That is not the code Telegram emailed." in response.content.decode()
    after = _pending(instance)
    assert (after.session_string, after.phone_code_hash, after.step, after.code_type) == (
        before.session_string,
        before.phone_code_hash,
        "code",
        "EmailCode",
    )
    assert operator_client.post(LOGIN, {"code": telegram.last_code(_digits(DEE))}).status_code == 302
    assert _active_as(instance, "Dee Demo")


def test_resending_an_emailed_code_when_telegram_has_no_other_way_says_so(telegram, operator_client, instance):
    operator_client.post(LOGIN, {"phone": DEE})
    assert "Telegram named no other way to send this code" in _page(operator_client)
    response = operator_client.post(RESEND)
    assert response.status_code == 400
    assert "Telegram has no other way left to send a code to this number now." in response.content.decode()
    assert _pending(instance).code_type == "EmailCode"


# --- A login email to set up first -----------------------------------------------------------------------


def test_it_sets_up_a_login_email_then_signs_in_with_the_code_emailed_there(telegram, operator_client, instance):
    assert operator_client.post(LOGIN, {"phone": EVE}).status_code == 302  # PHONE_MIGRATE_3 on the way
    assert _pending(instance).step == "email"
    page = _page(operator_client)
    assert 'name="email"' in page and 'name="code"' not in page

    assert operator_client.post(LOGIN, {"email": EVE_EMAIL}).status_code == 302
    assert (_pending(instance).step, _pending(instance).code_type) == ("code", "EmailSetup")
    page = _page(operator_client)
    assert "by email to e***@example.org, to confirm it as the account" in _where(page) and 'name="code"' in page

    wrong = operator_client.post(LOGIN, {"code": "000000"})
    assert wrong.status_code == 400
    assert "That is not the code Telegram emailed to confirm the address." in wrong.content.decode()

    confirmed = operator_client.post(LOGIN, {"code": telegram.last_email_code(EVE_EMAIL)})
    assert confirmed.status_code == 302 and confirmed["Location"] == LOGIN
    assert _pending(instance).code_type == "EmailCode"
    assert "by email to e***@example.org" in _page(operator_client)

    done = operator_client.post(LOGIN, {"code": telegram.last_code(_digits(EVE))})
    assert done.status_code == 302 and done["Location"] == "/instances/prod-bot/"
    assert _active_as(instance, "Eve Demo")
    assert telegram.login_email(_digits(EVE)) == EVE_EMAIL
    assert EVE_EMAIL not in json.dumps(list(AuditEvent.objects.values_list("detail", flat=True)))


def test_a_malformed_email_is_refused_without_a_call(telegram, operator_client, instance):
    operator_client.post(LOGIN, {"phone": EVE})
    audit_before = AuditEvent.objects.count()
    for typed in ("eve@", "not an address", ""):
        response = operator_client.post(LOGIN, {"email": typed})
        assert response.status_code == 400
        body = response.content.decode()
        assert "Enter an email address such as name@example.com." in body or "Type the email address" in body
    assert AuditEvent.objects.count() == audit_before
    assert _pending(instance).step == "email"


@pytest.mark.parametrize(
    ("email", "sentence"),
    [
        ("eve@localhost", "Telegram does not accept this email address."),
        ("eve@disposable.example", "Telegram does not take this address as a login email"),
    ],
)
def test_an_email_telegram_refuses_is_a_sentence_at_the_email(telegram, operator_client, instance, email, sentence):
    operator_client.post(LOGIN, {"phone": EVE})
    response = operator_client.post(LOGIN, {"email": email})
    assert response.status_code == 400
    assert sentence in response.content.decode()
    assert _pending(instance).step == "email"
    assert operator_client.post(LOGIN, {"email": EVE_EMAIL}).status_code == 302


def test_an_expired_email_code_says_so_and_a_new_code_asks_for_the_address_again(
    telegram, clock, operator_client, instance
):
    operator_client.post(LOGIN, {"phone": EVE})
    operator_client.post(LOGIN, {"email": "old@example.org"})
    assert "Send a new code: Telegram asks for the email address again" in _page(operator_client)
    clock.advance(telegram.code_ttl + 1)
    expired = operator_client.post(LOGIN, {"code": telegram.last_email_code("old@example.org")})
    assert expired.status_code == 400
    assert "The code Telegram emailed has expired." in expired.content.decode()

    again = operator_client.post(RESEND, follow=True)
    assert "Type the email address again" in again.content.decode()
    assert _pending(instance).step == "email"
    assert operator_client.post(LOGIN, {"email": EVE_EMAIL}).status_code == 302
    assert operator_client.post(LOGIN, {"code": telegram.last_email_code(EVE_EMAIL)}).status_code == 302
    assert operator_client.post(LOGIN, {"code": telegram.last_code(_digits(EVE))}).status_code == 302
    assert _active_as(instance, "Eve Demo")


def test_a_viewer_cannot_give_the_login_email_and_an_outsider_does_not_see_the_instance(
    telegram, operator_client, instance, viewer, outsider
):
    operator_client.post(LOGIN, {"phone": EVE})
    assert client_for(viewer).post(LOGIN, {"email": EVE_EMAIL}).status_code == 403
    assert client_for(outsider).post(LOGIN, {"email": EVE_EMAIL}).status_code == 404
    assert _pending(instance).step == "email"


# --- Words, phrases, calls, Fragment ------------------------------------------------------------------------


def test_it_logs_in_an_account_that_gets_a_word_by_sms(telegram, operator_client, instance):
    operator_client.post(LOGIN, {"phone": FAY})
    page = _page(operator_client)
    assert "as a word by SMS" in _where(page) and "Type the word Telegram sent by SMS (it starts with “o”)." in page
    assert 'inputmode="text"' in page
    assert operator_client.post(LOGIN, {"code": " Orbit "}).status_code == 302
    assert _active_as(instance, "Fay Demo")


@pytest.mark.parametrize(
    ("typed", "sentence"),
    [
        ("orb1t", "letters only, no digits, one word."),
        ("22222", "letters only, no digits, one word."),
        ("orbit harbor", "letters only, no digits, one word."),
        ("planet", "The word Telegram sent starts with “o”"),
    ],
)
def test_a_word_that_cannot_be_the_one_sent_is_refused_without_a_call(
    telegram, operator_client, instance, typed, sentence
):
    operator_client.post(LOGIN, {"phone": FAY})
    audit_before = AuditEvent.objects.count()
    response = operator_client.post(LOGIN, {"code": typed})
    assert response.status_code == 400
    assert sentence in response.content.decode()
    assert AuditEvent.objects.count() == audit_before


def test_a_wrong_word_is_telegrams_refusal_in_words(telegram, operator_client, instance):
    operator_client.post(LOGIN, {"phone": FAY})
    response = operator_client.post(LOGIN, {"code": "ocean"})
    assert response.status_code == 400
    assert "That is not the word Telegram sent by SMS." in response.content.decode()
    assert _pending(instance).step == "code"


@pytest.mark.parametrize("typed", ["2222", "222222", "22 22"])
def test_a_code_of_the_wrong_length_is_refused_without_a_call(telegram, operator_client, instance, typed):
    operator_client.post(LOGIN, {"phone": ADA})
    audit_before = AuditEvent.objects.count()
    response = operator_client.post(LOGIN, {"code": typed})
    assert response.status_code == 400
    assert "The code is the 5-digit number Telegram sent (digits only)." in response.content.decode()
    assert AuditEvent.objects.count() == audit_before


def test_resend_says_what_comes_next_and_follows_it(telegram, operator_client, instance):
    operator_client.post(LOGIN, {"phone": ADA})
    page = _page(operator_client)
    assert "in the Telegram app on the account&#x27;s other devices" in _where(page)
    assert "Resend code: Telegram will send the code by SMS next." in page

    assert operator_client.post(RESEND).status_code == 302
    page = _page(operator_client)
    assert "for +999…01 by SMS, at" in _where(page) and "Resend code: Telegram will call you next" in page

    assert operator_client.post(RESEND).status_code == 302
    page = _page(operator_client)
    assert "in a phone call" in _where(page) and "Type the 5-digit code the call reads out." in page
    assert "Resend code: Telegram named no other way to send this code" in page

    refused = operator_client.post(RESEND)
    assert refused.status_code == 400
    assert "no other way left" in refused.content.decode()
    assert operator_client.post(LOGIN, {"code": "22222"}).status_code == 302


def test_a_phrase_and_then_a_missed_call_take_what_they_announce(telegram, operator_client, instance):
    operator_client.post(LOGIN, {"phone": FAY})
    assert "Resend code: Telegram will send the code by SMS next." in _page(operator_client)
    operator_client.post(RESEND)
    page = _page(operator_client)
    assert "as a phrase by SMS" in _where(page) and "(it starts with “quiet”)" in page
    assert "Telegram will give you a missed call next" in page
    assert operator_client.post(LOGIN, {"code": "quiet silver 2"}).status_code == 400

    operator_client.post(RESEND)
    page = _page(operator_client)
    assert (
        "in a call," in _where(page)
        and "Type the last 5 digits of the calling number (the number starts with +99966)." in page
    )
    short = operator_client.post(LOGIN, {"code": "222"})
    assert (
        short.status_code == 400 and "Type only the last 5 digits of the number that called" in short.content.decode()
    )
    # The whole calling number, as the phone shows it, is taken too: its last digits are the code.
    assert operator_client.post(LOGIN, {"code": "+999 66 22222"}).status_code == 302
    assert _active_as(instance, "Fay Demo")


def test_a_phrase_signs_in_however_it_is_spaced(telegram, operator_client, instance):
    operator_client.post(LOGIN, {"phone": FAY})
    operator_client.post(RESEND)
    assert operator_client.post(LOGIN, {"code": "  Quiet   silver HARBOR "}).status_code == 302
    assert _active_as(instance, "Fay Demo")


def test_a_fragment_number_says_where_its_code_arrives(telegram, operator_client, instance):
    operator_client.post(LOGIN, {"phone": IVY})
    page = _page(operator_client)
    assert "on fragment.com" in _where(page) and 'href="https://fragment.com/code/9996611009"' in page
    assert "Resend code: Telegram will call you next" in page
    assert operator_client.post(LOGIN, {"code": telegram.last_code(_digits(IVY))}).status_code == 302
    assert _active_as(instance, "Ivy Demo")


# --- What only Telegram's official apps can follow ---------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "why"),
    [(GUS, "just its official apps can do (Firebase SMS)"), (HAL, "wants a Telegram Premium purchase")],
)
def test_a_code_only_official_apps_can_receive_is_refused_and_starts_nothing(
    telegram, operator_client, instance, phone, why
):
    response = operator_client.post(LOGIN, {"phone": phone})
    assert response.status_code == 400
    body = response.content.decode()
    assert why in body and "official Telegram app" in body and "QR code instead" in body
    assert not PendingLogin.objects.exists()
    instance.refresh_from_db()
    assert (instance.status, instance.phone) == ("new", "")
    assert 'name="phone"' in body and 'name="code"' not in body


class LogsInAtSendCode(DemoTelegram):
    """A Telegram that logs the key in at auth.sendCode (auth.sentCodeSuccess), as for a future auth token."""

    def _dispatch(self, call: Call, request: Any) -> Any:
        answer = super()._dispatch(call, request)
        while hasattr(request, "query"):
            request = request.query
        if isinstance(request, functions.auth.SendCodeRequest):
            return types.auth.SentCodeSuccess(keys.authorize(call.db, call.key_id, ADA_ID, call.now))
        return answer


class PaymentAtResend(DemoTelegram):
    """A Telegram that wants a Premium purchase once the code is resent (auth.sentCodePaymentRequired)."""

    def _dispatch(self, call: Call, request: Any) -> Any:
        answer = super()._dispatch(call, request)
        while hasattr(request, "query"):
            request = request.query
        if isinstance(request, functions.auth.ResendCodeRequest):
            return types.auth.SentCodePaymentRequired("p", request.phone_code_hash, "a@b.invalid", "s", 7, "EUR", 1)
        return answer


def test_an_unexpected_login_at_send_code_is_undone_and_refused(clock, operator_client, instance):
    world = LogsInAtSendCode(None, clock=clock)
    support.use_world(world)
    before = {a.hash for a in world.authorizations(ADA_ID)}
    response = operator_client.post(LOGIN, {"phone": ADA})
    assert response.status_code == 400
    assert "logged that session out again" in response.content.decode()
    assert not PendingLogin.objects.exists()
    assert {a.hash for a in world.authorizations(ADA_ID)} == before  # nothing left signed in
    instance.refresh_from_db()
    assert instance.status == "new" and not instance.session_string


def test_an_official_app_only_answer_to_a_resend_ends_the_login_and_restores_the_status(
    clock, operator_client, instance
):
    support.use_world(PaymentAtResend(None, clock=clock))
    ConnectorInstance.objects.filter(pk=instance.pk).update(status="revoked")
    operator_client.post(LOGIN, {"phone": ADA})
    instance.refresh_from_db()
    assert instance.status == "code_sent"
    response = operator_client.post(RESEND)
    assert response.status_code == 400
    body = response.content.decode()
    assert "wants a Telegram Premium purchase" in body and 'name="phone"' in body
    assert not PendingLogin.objects.exists()
    instance.refresh_from_db()
    assert instance.status == "revoked"
    assert SendCodeAttempt.objects.count() == 2


# --- The page -----------------------------------------------------------------------------------------------


def test_the_login_page_warns_once_about_new_login_and_is_this_you(telegram, operator_client, instance):
    pages = [_page(operator_client)]
    operator_client.post(LOGIN, {"phone": EVE})
    pages.append(_page(operator_client))
    operator_client.post(LOGIN, {"email": EVE_EMAIL})
    pages.append(_page(operator_client))
    for page in pages:
        assert page.count("Is this you?") == 1 and page.count("New login") == 1
        assert "ends the connector's session" in page


# --- Across processes -----------------------------------------------------------------------------------------

SETUP = """
from django.contrib.auth import get_user_model
from sessions_app.models import ConnectorInstance, Membership
user = get_user_model().objects.create_user("oscar", password="pass-oscar-123")
instance = ConnectorInstance.objects.create(session="prod-bot", name="Production bot")
Membership.objects.create(user=user, instance=instance, role="operator")
"""

STEP = """
from django.contrib.auth import get_user_model
from django.test import Client
client = Client()
client.force_login(get_user_model().objects.get(username="oscar"))
response = client.post("/instances/prod-bot/login/", {data!r})
print("STEP", response.status_code, response.get("Location", ""))
"""


@pytest.mark.slow
def test_the_email_setup_login_runs_across_separate_processes(tmp_path):
    """Each step in its own `manage.py shell`: nothing but the database and the demo Telegram's file is shared."""
    app = site(tmp_path, DJANGO_ALLOWED_HOSTS="testserver")
    made = app.manage("shell", "-c", SETUP)
    assert made.returncode == 0, made.stderr
    world = DemoTelegram(app.env["TELEGRAM_DEMO_STATE"])

    def step(**data: str) -> str:
        ran = app.manage("shell", "-c", STEP.format(data=data))
        assert ran.returncode == 0, ran.stderr
        return ran.stdout.split("STEP", 1)[1].strip()

    assert step(phone=EVE) == "302 /instances/prod-bot/login/"
    assert step(email=EVE_EMAIL) == "302 /instances/prod-bot/login/"
    assert step(code=world.last_email_code(EVE_EMAIL)) == "302 /instances/prod-bot/login/"
    assert step(code=world.last_code(_digits(EVE))) == "302 /instances/prod-bot/"
    assert world.login_email(_digits(EVE)) == EVE_EMAIL
    with sqlite3.connect(app.db_path) as db:
        status, name = db.execute("SELECT status, telegram_name FROM sessions_app_connectorinstance").fetchone()
        pending = db.execute("SELECT COUNT(*) FROM sessions_app_pendinglogin").fetchone()[0]
    assert (status, name, pending) == ("active", "Eve Demo", 0)
