"""Item 8: optional TOTP two-step sign-in (django-otp), compulsory for owners with TEAM_REQUIRE_2FA=1."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from sessions_app.models import AuditEvent, ConnectorInstance, Membership, Role
from tests.conftest import client_for

LOGIN = "/accounts/login/"
SETUP = "/accounts/2fa/"
VERIFY = "/accounts/2fa/verify/"


def code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code the user's app shows (steps_ahead=1: the next one, which the one-step tolerance accepts)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():06d}"


def enrolled(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="authenticator app", confirmed=True)


def signed_in_with_password(username: str, password: str) -> Client:
    client = Client()
    assert client.post(LOGIN, {"username": username, "password": password}).status_code == 302
    return client


# --- Enrolling ----------------------------------------------------------------------------------


def test_a_user_enrols_with_an_inline_svg_qr_code_and_a_code_from_the_app(operator):
    client = client_for(operator)
    page = client.get(SETUP)
    html = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in html and "<img" not in html and "otpauth://" not in html  # drawn here, no outside URL
    device = TOTPDevice.objects.get(user=operator, confirmed=False)
    shown_key = re.search(r'<span class="secret">([A-Z2-7 ]+)</span>', html).group(1).replace(" ", "")
    assert len(shown_key) == 32  # 20 random bytes, base32, for typing in by hand
    response = client.post(SETUP, {"token": code(device)})
    assert response.status_code == 302 and response["Location"] == "/"
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEvent.objects.filter(actor=operator, action="signin.2fa_enrolled").exists()
    assert client.get("/").status_code == 200  # this session counts as verified


def test_a_wrong_code_does_not_enrol(operator):
    client = client_for(operator)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=operator)
    wrong = f"{(int(code(device)) + 1) % 1_000_000:06d}"
    response = client.post(SETUP, {"token": wrong})
    assert response.status_code == 400 and "That code is not right" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert client.post(SETUP, {"token": "12 34"}).status_code == 400


@pytest.mark.parametrize("token", ["", "12345", "1234567", "²²²²²²", "٢٢٢٢٢٢", "abcdef"])
def test_a_code_that_is_not_six_ascii_digits_is_refused_with_a_sentence(operator, token):
    client = client_for(operator)
    response = client.post(SETUP, {"token": token})
    assert response.status_code == 400
    assert "6-digit code" in response.content.decode() or "6 digits (0-9)" in response.content.decode()


def test_reloading_the_enrol_page_keeps_the_same_secret_until_it_is_confirmed(operator):
    client = client_for(operator)
    first = re.search(r'class="secret">([^<]+)<', client.get(SETUP).content.decode()).group(1)
    second = re.search(r'class="secret">([^<]+)<', client.get(SETUP).content.decode()).group(1)
    assert first == second and TOTPDevice.objects.filter(user=operator).count() == 1


# --- Signing in ---------------------------------------------------------------------------------


def test_without_a_device_the_password_alone_signs_in(operator):
    client = signed_in_with_password("oscar", "pass-oscar-123")
    assert client.get("/").status_code == 200


def test_with_a_device_every_page_waits_for_the_code_after_the_password(operator, instance):
    device = enrolled(operator)
    client = signed_in_with_password("oscar", "pass-oscar-123")
    for path in ["/", "/instances/prod-bot/", "/instances/prod-bot/archive/", "/admin/", SETUP]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(VERIFY + "?next=")
    post = client.post("/instances/prod-bot/verify/")
    assert post.status_code == 302 and post["Location"] == VERIFY
    page = client.get(VERIFY)
    assert page.status_code == 200 and "Enter your sign-in code" in page.content.decode()
    response = client.post(VERIFY, {"token": code(device), "next": "/instances/prod-bot/"})
    assert response.status_code == 302 and response["Location"] == "/instances/prod-bot/"
    assert client.get("/instances/prod-bot/").status_code == 200
    assert AuditEvent.objects.filter(actor=operator, action="signin.2fa_ok").exists()


def test_a_wrong_code_keeps_the_user_out_and_is_audited(operator):
    device = enrolled(operator)
    client = signed_in_with_password("oscar", "pass-oscar-123")
    wrong = f"{(int(code(device)) + 1) % 1_000_000:06d}"
    response = client.post(VERIFY, {"token": wrong})
    assert response.status_code == 400 and "That code is not right" in response.content.decode()
    assert client.get("/").status_code == 302
    assert AuditEvent.objects.filter(actor=operator, action="signin.2fa_failed", outcome="refused").exists()


def test_repeated_wrong_codes_are_slowed_down_and_the_page_says_how_long(operator):
    device = enrolled(operator)
    client = signed_in_with_password("oscar", "pass-oscar-123")
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=5, throttling_failure_timestamp=None)
    device.refresh_from_db()
    device.throttle_increment()  # the 6th failure: 32 seconds before the next try
    response = client.post(VERIFY, {"token": code(device)})  # even the right code, meanwhile
    assert response.status_code == 400
    assert re.search(r"Too many wrong codes in a row: wait \d+ seconds", response.content.decode())
    assert client.get("/").status_code == 302


def test_a_code_is_accepted_only_once(operator):
    device = enrolled(operator)
    first = signed_in_with_password("oscar", "pass-oscar-123")
    token = code(device)
    assert first.post(VERIFY, {"token": token}).status_code == 302
    second = signed_in_with_password("oscar", "pass-oscar-123")
    assert second.post(VERIFY, {"token": token}).status_code == 400  # replayed


def test_the_code_step_never_sends_the_user_to_another_site(operator):
    device = enrolled(operator)
    client = signed_in_with_password("oscar", "pass-oscar-123")
    response = client.post(VERIFY, {"token": code(device), "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_htmx_requests_are_sent_to_the_code_step_with_hx_redirect(operator, instance):
    enrolled(operator)
    client = signed_in_with_password("oscar", "pass-oscar-123")
    response = client.get("/instances/prod-bot/login/", HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response["HX-Redirect"].startswith(VERIFY)


def test_signing_out_works_before_the_code_step(operator):
    enrolled(operator)
    client = signed_in_with_password("oscar", "pass-oscar-123")
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302 and client.get("/")["Location"].startswith(LOGIN)


def test_a_session_signed_in_before_the_user_enrolled_must_enter_a_code_too(operator):
    stolen = signed_in_with_password("oscar", "pass-oscar-123")
    assert stolen.get("/").status_code == 200
    enrolled(operator)
    assert stolen.get("/")["Location"].startswith(VERIFY)


# --- Turning it off ------------------------------------------------------------------------------


def test_a_user_turns_it_off_with_a_current_code(operator):
    device = enrolled(operator)
    client = signed_in_with_password("oscar", "pass-oscar-123")
    client.post(VERIFY, {"token": code(device)})
    wrong = f"{(int(code(device, 1)) + 1) % 1_000_000:06d}"
    assert client.post(SETUP, {"token": wrong}).status_code == 400
    assert TOTPDevice.objects.filter(user=operator).exists()
    TOTPDevice.objects.update(throttling_failure_timestamp=timezone.now() - timedelta(seconds=5))  # waited
    response = client.post(SETUP, {"token": code(device, 1)})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=operator).exists()
    assert AuditEvent.objects.filter(actor=operator, action="signin.2fa_removed").exists()
    assert client.get("/").status_code == 200


# --- TEAM_REQUIRE_2FA ---------------------------------------------------------------------------


def test_with_team_require_2fa_owners_are_sent_to_enrol(settings, owner, instance):
    settings.TEAM_REQUIRE_2FA = True
    client = signed_in_with_password("olivia", "pass-olivia-123")
    response = client.get("/instances/prod-bot/")
    assert response.status_code == 302 and response["Location"].startswith(SETUP + "?next=")
    page = client.get(SETUP)
    assert page.status_code == 200 and "The team requires two-step sign-in for owners" in page.content.decode()
    device = TOTPDevice.objects.get(user=owner)
    assert client.post(SETUP, {"token": code(device), "next": "/instances/prod-bot/"})["Location"] == (
        "/instances/prod-bot/"
    )
    assert client.get("/instances/prod-bot/").status_code == 200


def test_with_team_require_2fa_owners_cannot_turn_it_off(settings, owner, instance):
    settings.TEAM_REQUIRE_2FA = True
    device = enrolled(owner)
    client = signed_in_with_password("olivia", "pass-olivia-123")
    client.post(VERIFY, {"token": code(device)})
    response = client.post(SETUP, {"token": code(device, 1)})
    assert response.status_code == 400 and "Owners must keep two-step sign-in on" in response.content.decode()
    assert TOTPDevice.objects.filter(user=owner, confirmed=True).exists()


def test_with_team_require_2fa_team_admins_count_as_owners(settings, admin_user):
    settings.TEAM_REQUIRE_2FA = True
    client = signed_in_with_password("admin", "admin-pass-123")
    assert client.get("/admin/")["Location"].startswith(SETUP)


def test_with_team_require_2fa_operators_and_viewers_may_go_without(settings, operator, viewer, instance):
    settings.TEAM_REQUIRE_2FA = True
    assert signed_in_with_password("oscar", "pass-oscar-123").get("/").status_code == 200
    assert signed_in_with_password("vera", "pass-vera-123").get("/").status_code == 200


def test_with_team_require_2fa_becoming_an_owner_means_enrolling(settings, operator, instance):
    settings.TEAM_REQUIRE_2FA = True
    client = signed_in_with_password("oscar", "pass-oscar-123")
    assert client.get("/").status_code == 200
    Membership.objects.filter(user=operator, instance=instance).update(role=Role.OWNER)
    assert client.get("/")["Location"].startswith(SETUP)


def test_without_team_require_2fa_owners_may_go_without(owner, instance):
    assert signed_in_with_password("olivia", "pass-olivia-123").get("/").status_code == 200


def test_an_owner_of_another_instance_only_is_an_owner_too(settings, outsider):
    settings.TEAM_REQUIRE_2FA = True
    other = ConnectorInstance.objects.create(session="other-bot", name="Other")
    Membership.objects.create(user=outsider, instance=other, role=Role.OWNER)
    client = signed_in_with_password("mallory", "pass-mallory-123")
    assert client.get("/")["Location"].startswith(SETUP)


def test_the_throttle_delay_grows_with_each_wrong_code(operator):
    device = enrolled(operator)
    for _ in range(3):
        device.throttle_increment()
    allowed, state = device.verify_is_allowed()
    assert not allowed and state["locked_until"] - device.throttling_failure_timestamp == timedelta(seconds=4)
