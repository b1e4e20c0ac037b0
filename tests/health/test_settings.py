"""Health and alert settings: a malformed value stops start-up naming the variable (and never echoes a URL)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from teleconnect.env import env_email_list, env_url, env_url_list
from tests.test_settings_env import start_django


def test_it_reads_comma_separated_webhook_urls(monkeypatch):
    monkeypatch.setenv("TC_TEST_HOOKS", " https://hooks.example/a , http://127.0.0.1:8080/b ,")
    assert env_url_list("TC_TEST_HOOKS") == ["https://hooks.example/a", "http://127.0.0.1:8080/b"]
    monkeypatch.delenv("TC_TEST_HOOKS")
    assert env_url_list("TC_TEST_HOOKS") == []


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("ftp://hooks.example/a", "entry 1 must start with http:// or https://"),
        ("https://ok.example/a,hooks.example/b", "entry 2 must start with http:// or https://"),
        ("https:///no-host", "entry 1 must be a URL with a host name"),
        ("https://hooks.example:99999/a", "entry 1 has a port that is not a number"),
        ("https://hooks.example/a b", "entry 1 must be a URL with a host name and no spaces"),
    ],
)
def test_it_refuses_a_malformed_webhook_url_naming_the_variable_not_the_url(monkeypatch, raw, problem):
    monkeypatch.setenv("TC_TEST_HOOKS", raw)
    with pytest.raises(ImproperlyConfigured) as refused:
        env_url_list("TC_TEST_HOOKS")
    assert str(refused.value).startswith(f"TC_TEST_HOOKS {problem}")
    assert "hooks.example" not in str(refused.value)


def test_it_reads_the_dashboard_url_without_its_trailing_slash(monkeypatch):
    monkeypatch.setenv("TC_TEST_URL", "https://teleconnect.example/")
    assert env_url("TC_TEST_URL") == "https://teleconnect.example"
    monkeypatch.setenv("TC_TEST_URL", "teleconnect.example")
    with pytest.raises(ImproperlyConfigured, match="TC_TEST_URL must start with http"):
        env_url("TC_TEST_URL")


def test_it_reads_alert_emails_and_refuses_a_malformed_one(monkeypatch):
    monkeypatch.setenv("TC_TEST_EMAILS", "oncall@example.com, ops@example.org")
    assert env_email_list("TC_TEST_EMAILS") == ["oncall@example.com", "ops@example.org"]
    monkeypatch.setenv("TC_TEST_EMAILS", "oncall@example.com, not-an-address")
    with pytest.raises(ImproperlyConfigured, match="TC_TEST_EMAILS entry 2 is not an email address"):
        env_email_list("TC_TEST_EMAILS")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ALERT_WEBHOOK_URLS", "https://hooks.example/a,not a url"),
        ("ALERT_EMAILS", "nobody"),
        ("DASHBOARD_URL", "teleconnect.example"),
        ("HEALTH_CHECK_INTERVAL_SECONDS", "0"),
        ("EMAIL_USE_SSL", "1"),
    ],
)
def test_it_refuses_to_start_with_a_malformed_health_setting_naming_the_variable(tmp_path, name, value):
    overrides = {name: value, "EMAIL_USE_TLS": "1"} if name == "EMAIL_USE_SSL" else {name: value}
    result = start_django(tmp_path, **overrides)
    assert result.returncode != 0
    assert name in result.stderr.strip().splitlines()[-1], result.stderr


@pytest.mark.slow
def test_it_starts_with_a_valid_alert_configuration(tmp_path):
    result = start_django(
        tmp_path,
        HEALTH_CHECK_INTERVAL_SECONDS="3",
        ALERT_WEBHOOK_URLS="https://hooks.slack.com/services/T0/B0/x,http://127.0.0.1:9000/hook",
        ALERT_EMAILS="oncall@example.com",
        ALERT_WEBHOOK_EVENTS="connector_gone,account_banned,account_frozen,recovered",
        ALERT_EMAIL_EVENTS="new_authorization, two_step_disabled, connector_moved",
        DASHBOARD_URL="https://teleconnect.example",
    )
    assert result.returncode == 0, result.stderr
