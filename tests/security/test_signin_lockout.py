"""Item 8: sign-in throttling (django-axes), its message and audit, the session's lifetime, no password reset."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.test.client import RequestFactory
from django.utils import timezone

from sessions_app.models import AuditEvent
from sessions_app.signin import client_ip

LOGIN = "/accounts/login/"
RIGHT = {"username": "olivia", "password": "pass-olivia-123"}
WRONG = {"username": "olivia", "password": "not-her-password"}


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def from_address(address: str) -> Client:
    return Client(REMOTE_ADDR=address)


def fail(client: Client, times: int, credentials: dict[str, str] = WRONG) -> list[int]:
    return [client.post(LOGIN, credentials).status_code for _ in range(times)]


def test_a_wrong_password_shows_the_sign_in_form_again(owner):
    response = from_address("198.51.100.7").post(LOGIN, WRONG)
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_it_locks_a_username_out_from_one_address_at_the_failure_limit(owner):
    client = from_address("198.51.100.7")
    assert fail(client, 3) == [200, 200, 429]
    response = client.post(LOGIN, RIGHT)  # even the right password, while locked out
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed sign-ins for this username from your address" in page
    assert "blocked for 15 minutes" in page and 'id="id_username"' in page
    assert "_auth_user_id" not in client.session


def test_the_lock_out_is_per_username_and_address(owner, operator):
    fail(from_address("198.51.100.7"), 3)
    assert from_address("203.0.113.9").post(LOGIN, RIGHT).status_code == 302  # same user, another address
    other_user = {"username": "oscar", "password": "pass-oscar-123"}
    assert from_address("198.51.100.7").post(LOGIN, other_user).status_code == 302  # same address, another user


def test_the_lock_out_ends_after_the_cool_off(owner):
    client = from_address("198.51.100.7")
    fail(client, 3)
    assert client.post(LOGIN, RIGHT).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert client.post(LOGIN, RIGHT).status_code == 302


def test_a_successful_sign_in_forgets_the_earlier_failures(owner):
    client = from_address("198.51.100.7")
    fail(client, 2)
    assert client.post(LOGIN, RIGHT).status_code == 302
    again = from_address("198.51.100.7")
    assert fail(again, 2) == [200, 200]  # counting starts over: two more are not a lock-out


def test_failures_lock_outs_and_sign_ins_are_audited_without_the_password(owner):
    client = from_address("198.51.100.7")
    fail(client, 3)
    from_address("203.0.113.9").post(LOGIN, RIGHT)
    events = list(AuditEvent.objects.filter(action__startswith="signin.").order_by("pk"))
    assert [(event.action, event.outcome) for event in events] == [
        ("signin.failed", "refused"),
        ("signin.failed", "refused"),
        ("signin.locked_out", "refused"),
        ("signin.failed", "refused"),
        ("signin.ok", "ok"),
    ]
    assert all(event.actor == owner and event.instance is None for event in events)
    assert events[2].detail == {"username": "olivia", "ip": "198.51.100.7", "failures": 3}
    assert events[4].detail == {"username": "olivia", "ip": "203.0.113.9"}
    assert "not-her-password" not in str([event.detail for event in events])
    assert "not-her-password" not in str(list(AccessAttempt.objects.values_list("post_data", flat=True)))


def test_refusals_during_a_lock_out_do_not_fill_the_audit_trail(owner):
    client = from_address("198.51.100.7")
    fail(client, 3)
    before = AuditEvent.objects.count()
    assert fail(client, 5) == [429] * 5
    assert AuditEvent.objects.count() == before


def test_a_failure_for_an_unknown_username_is_audited_without_an_actor(db):
    from_address("198.51.100.7").post(LOGIN, {"username": "nobody", "password": "x"})
    event = AuditEvent.objects.get(action="signin.failed")
    assert event.actor is None and event.detail["username"] == "nobody"


def test_behind_a_proxy_the_address_is_the_one_the_proxy_saw(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7")
    settings.SECURE_PROXY_SSL_HEADER = None
    assert client_ip(request) == "10.0.0.2"  # not behind a proxy: a forwarded header is anyone's to write
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert client_ip(request) == "198.51.100.7"  # the proxy's own entry, not the client-supplied first one


def test_the_sign_in_cookie_lasts_the_configured_age(owner, settings):
    settings.SESSION_COOKIE_AGE = 3600
    client = Client()
    response = client.post(LOGIN, RIGHT)
    assert response.status_code == 302
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 3600
    assert 3590 <= client.session.get_expiry_age() <= 3600


def test_the_default_session_lasts_eight_hours():
    assert settings.SESSION_COOKIE_AGE == 8 * 3600


@pytest.mark.parametrize(
    "path", ["/accounts/password_reset/", "/accounts/password_reset/done/", "/accounts/reset/MQ/set-password/"]
)
def test_the_password_reset_pages_are_not_routed(owner, path):
    assert Client().get(path).status_code in (302, 404)  # anonymous: the sign-in page, never a reset form
    signed_in = Client()
    signed_in.force_login(owner)
    assert signed_in.get(path).status_code == 404
    assert signed_in.post(path, {"email": "olivia@example.invalid"}).status_code == 404


def test_the_sign_in_page_says_how_to_get_a_forgotten_password_reset(db):
    assert "Ask a team admin to set a new one" in Client().get(LOGIN).content.decode()
