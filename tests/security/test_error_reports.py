"""Item 9: what a crash report (admin email, debug page) shows of the login, import and password steps.

Each view below is made to fail inside its service call; the report Django would send must carry
neither the POSTed secret nor the service's secret arguments.
"""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest
from django.contrib.auth.signals import user_login_failed
from django.core.signals import got_request_exception
from django.views.debug import ExceptionReporter, get_exception_reporter_filter

from sessions_app.logging import SecretsExceptionReporterFilter
from sessions_app.models import LoginStep

PHONE, CODE, PASSWORD, SESSION_STRING = "+4915112345678", "86420", "hunter2-two-step", "zz-imported-string-zz"


@pytest.fixture
def report(monkeypatch):
    """The plain-text report of the next request that fails (what AdminEmailHandler would mail)."""
    reports: list[str] = []

    def capture(sender, request, **kwargs):
        reports.append(ExceptionReporter(request, *sys.exc_info()).get_traceback_text())

    got_request_exception.connect(capture)
    yield reports
    got_request_exception.disconnect(capture)


def exploding(*args, **kwargs):
    raise RuntimeError("the service failed")


def at_step(monkeypatch, step):
    from sessions_app.selectors import instances

    monkeypatch.setattr(instances, "pending_login_for", lambda instance: SimpleNamespace(step=step))


def post_and_fail(client, url, data):
    with pytest.raises(RuntimeError, match="the service failed"):
        client.post(url, data)


def test_the_phone_step_hides_the_phone(monkeypatch, report, operator_client, instance):
    monkeypatch.setattr("sessions_app.services.login.login_send_code", exploding)
    post_and_fail(operator_client, "/instances/prod-bot/login/", {"phone": PHONE})
    assert "the service failed" in report[0] and "phone" in report[0]
    assert PHONE not in report[0] and PHONE.removeprefix("+") not in report[0]


def test_the_code_step_hides_the_code(monkeypatch, report, operator_client, instance):
    at_step(monkeypatch, LoginStep.CODE)
    monkeypatch.setattr("sessions_app.services.login.login_submit_code", exploding)
    post_and_fail(operator_client, "/instances/prod-bot/login/", {"code": CODE})
    assert "the service failed" in report[0] and CODE not in report[0]


def test_the_password_step_hides_the_password(monkeypatch, report, operator_client, instance):
    at_step(monkeypatch, LoginStep.PASSWORD)
    monkeypatch.setattr("sessions_app.services.login.login_submit_password", exploding)
    post_and_fail(operator_client, "/instances/prod-bot/login/", {"password": PASSWORD})
    assert "the service failed" in report[0] and PASSWORD not in report[0]


def test_the_import_hides_the_session_string(monkeypatch, report, owner_client, instance):
    monkeypatch.setattr("sessions_app.services.login_import.session_import", exploding)
    post_and_fail(owner_client, "/instances/prod-bot/import/", {"session_string": SESSION_STRING})
    assert "the service failed" in report[0] and SESSION_STRING not in report[0]


def test_the_dashboard_key_form_hides_the_password(monkeypatch, report, operator_client, instance):
    monkeypatch.setattr("sessions_app.services.keys.dashboard_key_mint", exploding)
    post_and_fail(operator_client, "/instances/prod-bot/dashboard-key/", {"password": PASSWORD})
    assert "the service failed" in report[0] and PASSWORD not in report[0]


def test_the_two_step_code_is_hidden(monkeypatch, report, operator_client):
    monkeypatch.setattr("sessions_app.views.account.verify_token", exploding)
    post_and_fail(operator_client, "/accounts/2fa/", {"token": "135791"})
    assert "the service failed" in report[0] and "135791" not in report[0]


def test_djangos_sign_in_hides_the_password(db, owner):
    seen = []

    def capture(sender, credentials, request=None, **kwargs):
        seen.append(get_exception_reporter_filter(request).get_post_parameters(request))

    user_login_failed.connect(capture)
    try:
        from django.test import Client

        Client().post("/accounts/login/", {"username": "olivia", "password": PASSWORD})
    finally:
        user_login_failed.disconnect(capture)
    assert seen and seen[0]["password"] == "********************" and PASSWORD not in str(seen[0])


def test_without_the_view_decorators_the_post_would_show_the_secret(rf):
    """Guards the tests above: a POST that no decorator marks is shown as it came."""
    request = rf.post("/x/", {"password": PASSWORD})
    assert get_exception_reporter_filter(request).get_post_parameters(request)["password"] == PASSWORD


def _frame_of(function, *args):
    try:
        function(*args)
    except RuntimeError:
        traceback = sys.exc_info()[2]
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    return traceback.tb_frame


def _undecorated(password, harmless):
    session_string = "1" + "A" * 300
    note = "pasted " + session_string
    raise RuntimeError(f"{len(password)} {len(note)} {harmless}")


def test_error_reports_hide_secret_locals_in_every_frame_by_name_and_by_value(rf):
    frame = _frame_of(_undecorated, PASSWORD, "shown")
    variables = dict(SecretsExceptionReporterFilter().get_traceback_frame_variables(rf.get("/"), frame))
    stars = SecretsExceptionReporterFilter.cleansed_substitute
    assert variables["password"] == stars and variables["session_string"] == stars
    assert variables["note"] == stars  # a session string inside another value
    assert variables["harmless"] == "shown"


def test_the_project_uses_the_secrets_filter_for_error_reports(rf):
    assert isinstance(get_exception_reporter_filter(rf.get("/")), SecretsExceptionReporterFilter)
