"""/account/tokens/ and `create_api_token`: shown once, kept as a hash, listed with last use, revocable and audited."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from sessions_app.models import AuditEvent
from sessions_app.models_api import ApiToken
from sessions_app.selectors.audit_sentences import audit_sentence
from tests.api.conftest import Api, token_for
from tests.conftest import client_for

TOKENS = "/account/tokens/"


def _secret_on(page: str) -> str:
    start = page.index('id="token-secret">') + len('id="token-secret">')
    return page[start : page.index("</code>", start)]


def test_a_new_token_is_shown_once_and_kept_only_as_its_hash(telegram, owner, instance):
    browser = client_for(owner)
    made = browser.post(TOKENS, {"name": "CI deploy", "expires_days": "30"})
    assert made.status_code == 200
    secret = _secret_on(made.content.decode())
    assert secret.startswith("tc_") and len(secret) > 40
    token = ApiToken.objects.get(user=owner)
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(list(ApiToken.objects.values_list()))
    assert secret not in str(list(AuditEvent.objects.values_list()))
    listed = browser.get(TOKENS).content.decode()
    assert "CI deploy" in listed and token.prefix in listed
    assert secret not in listed
    assert Api(secret).call("GET", "instances/").status_code == 200


def test_the_list_shows_created_expiry_and_last_use(telegram, owner, instance):
    Api(token_for(owner, "used", expires_days=None)).call("GET", "instances/")
    token_for(owner, "unused")
    page = client_for(owner).get(TOKENS).content.decode()
    assert page.count("<td>never</td>") == 2  # "used" never expires; "unused" was never used
    assert "Last used" in page and "Expires" in page


@pytest.mark.parametrize(
    ("posted", "field"),
    [
        ({"name": "", "expires_days": "30"}, "name"),
        ({"name": "x", "expires_days": "0"}, "expires_days"),
        ({"name": "x", "expires_days": "366"}, "expires_days"),
    ],
)
def test_a_bad_name_or_expiry_makes_no_token(telegram, owner, posted, field):
    response = client_for(owner).post(TOKENS, posted)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert not ApiToken.objects.exists()


def test_an_empty_expiry_is_a_token_that_never_expires(telegram, owner):
    client_for(owner).post(TOKENS, {"name": "forever", "expires_days": ""})
    assert ApiToken.objects.get().expires_at is None


def test_revoking_a_token_ends_it_at_once_and_is_audited(telegram, owner, instance):
    secret = token_for(owner, "laptop")
    token = ApiToken.objects.get()
    response = client_for(owner).post(f"/account/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    assert Api(secret).call("GET", "instances/").status_code == 401
    event = AuditEvent.objects.get(action="api_token.revoke")
    assert event.actor == owner
    assert audit_sentence(event) == "olivia revoked the API token “laptop”"
    assert "revoked" in client_for(owner).get(TOKENS).content.decode()


def test_nobody_revokes_someone_elses_token(telegram, owner, outsider, instance):
    secret = token_for(owner, "laptop")
    token = ApiToken.objects.get()
    assert client_for(outsider).post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    assert Api(secret).call("GET", "instances/").status_code == 200
    assert "laptop" not in client_for(outsider).get(TOKENS).content.decode()


def test_making_a_token_is_audited(telegram, owner):
    client_for(owner).post(TOKENS, {"name": "CI deploy", "expires_days": "30"})
    event = AuditEvent.objects.get(action="api_token.create")
    assert audit_sentence(event) == "olivia made the API token “CI deploy”"


def test_the_tokens_page_needs_a_signed_in_user(db):
    from django.test import Client

    response = Client().get(TOKENS)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_create_api_token_prints_a_working_token(telegram, owner, instance):
    out, err = StringIO(), StringIO()
    call_command("create_api_token", "olivia", "--name", "bootstrap", "--expires-days", "7", stdout=out, stderr=err)
    secret = out.getvalue().strip()
    assert secret.startswith("tc_")
    assert "shown only this once" in err.getvalue()
    assert Api(secret).call("GET", "instances/prod-bot/").json()["session"] == "prod-bot"
    assert ApiToken.objects.get().name == "bootstrap"
    assert AuditEvent.objects.get(action="api_token.create").detail["via"] == "command"


def test_create_api_token_refuses_an_unknown_user_and_a_bad_expiry(telegram, owner):
    with pytest.raises(CommandError, match="No active user"):
        call_command("create_api_token", "nobody", "--name", "x", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="1 to 365 days"):
        call_command("create_api_token", "olivia", "--name", "x", "--expires-days", "0", stdout=StringIO())
    assert not ApiToken.objects.exists()
