"""Settings from the environment: the typed readers in teleconnect/env.py and start-up itself.

A malformed value must stop start-up with ImproperlyConfigured naming the variable, never run
on silently with a default; the start-up tests prove it in a fresh interpreter, as a deploy would.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from teleconnect.env import (
    env_bool,
    env_choice_list,
    env_int,
    env_list,
    env_rate,
    env_secret,
    env_str,
    env_throttle_rate,
    local_secret,
)

REPO = Path(__file__).resolve().parent.parent
_CONFIG_PREFIXES = ("DJANGO_", "TELEGRAM_", "AWS_", "TELECONNECT_", "DATABASE_", "REDIS_", "SESSION_", "LOGIN_")


def clean_env(var_dir: Path, **overrides: str) -> dict[str, str]:
    """The caller's environment without any teleconnect configuration, plus overrides."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_CONFIG_PREFIXES) and name not in {"LOG_LEVEL", "TIME_ZONE"}
    }
    env.update(DJANGO_SETTINGS_MODULE="teleconnect.settings", TELECONNECT_VAR_DIR=str(var_dir), **overrides)
    return env


def start_django(var_dir: Path, **overrides: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=REPO,
        env=clean_env(var_dir, **overrides),
        capture_output=True,
        text=True,
        timeout=60,
    )


# --- env_str / env_bool -------------------------------------------------------------------------


def test_it_returns_the_default_when_a_variable_is_unset_or_blank(monkeypatch):
    monkeypatch.delenv("TC_TEST_VALUE", raising=False)
    assert env_str("TC_TEST_VALUE", "fallback") == "fallback"
    monkeypatch.setenv("TC_TEST_VALUE", "   ")
    assert env_str("TC_TEST_VALUE", "fallback") == "fallback"
    assert env_int("TC_TEST_VALUE", 7) == 7
    assert env_bool("TC_TEST_VALUE", True) is True


def test_it_strips_surrounding_whitespace(monkeypatch):
    monkeypatch.setenv("TC_TEST_VALUE", "  value \n")
    assert env_str("TC_TEST_VALUE") == "value"


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "yes", "on", " On "])
def test_it_reads_true_booleans(monkeypatch, raw):
    monkeypatch.setenv("TC_TEST_FLAG", raw)
    assert env_bool("TC_TEST_FLAG", False) is True


@pytest.mark.parametrize("raw", ["0", "false", "False", "no", "off"])
def test_it_reads_false_booleans(monkeypatch, raw):
    monkeypatch.setenv("TC_TEST_FLAG", raw)
    assert env_bool("TC_TEST_FLAG", True) is False


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "enabled"])
def test_it_rejects_a_boolean_it_cannot_read_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("TC_TEST_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="TC_TEST_FLAG must be a boolean"):
        env_bool("TC_TEST_FLAG", False)


# --- env_int ------------------------------------------------------------------------------------


def test_it_reads_an_integer(monkeypatch):
    monkeypatch.setenv("TC_TEST_NUMBER", " 42 ")
    assert env_int("TC_TEST_NUMBER", 0) == 42


@pytest.mark.parametrize("raw", ["abc", "1.5", "12s", "0x10"])
def test_it_rejects_a_non_integer_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("TC_TEST_NUMBER", raw)
    with pytest.raises(ImproperlyConfigured, match="TC_TEST_NUMBER must be an integer"):
        env_int("TC_TEST_NUMBER", 0)


def test_it_enforces_the_minimum_of_an_integer(monkeypatch):
    monkeypatch.setenv("TC_TEST_NUMBER", "4")
    with pytest.raises(ImproperlyConfigured, match="TC_TEST_NUMBER must be at least 5"):
        env_int("TC_TEST_NUMBER", 10, minimum=5)
    monkeypatch.setenv("TC_TEST_NUMBER", "5")
    assert env_int("TC_TEST_NUMBER", 10, minimum=5) == 5


# --- env_list -----------------------------------------------------------------------------------


def test_it_splits_a_list_on_commas_dropping_blanks(monkeypatch):
    monkeypatch.setenv("TC_TEST_LIST", " a.example, b.example ,,c.example, ")
    assert env_list("TC_TEST_LIST", ["default"]) == ["a.example", "b.example", "c.example"]


def test_it_returns_a_copy_of_the_default_list(monkeypatch):
    monkeypatch.delenv("TC_TEST_LIST", raising=False)
    default = ["127.0.0.1"]
    result = env_list("TC_TEST_LIST", default)
    result.append("changed")
    assert default == ["127.0.0.1"]


# --- env_choice_list ----------------------------------------------------------------------------

COLOURS = ("red", "green", "blue")


def test_it_reads_a_list_of_choices_defaulting_to_all_of_them(monkeypatch):
    monkeypatch.delenv("TC_TEST_CHOICES", raising=False)
    assert env_choice_list("TC_TEST_CHOICES", COLOURS) == ["red", "green", "blue"]
    monkeypatch.setenv("TC_TEST_CHOICES", " blue, red ,blue,")
    assert env_choice_list("TC_TEST_CHOICES", COLOURS) == ["blue", "red"]


def test_it_refuses_an_unknown_choice_naming_it_and_the_variable(monkeypatch):
    monkeypatch.setenv("TC_TEST_CHOICES", "red,purple")
    with pytest.raises(ImproperlyConfigured) as refused:
        env_choice_list("TC_TEST_CHOICES", COLOURS, what="colour")
    assert str(refused.value) == (
        "TC_TEST_CHOICES names an unknown colour, 'purple': use some of red, green, blue (comma-separated)"
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ALERT_WEBHOOK_EVENTS", "ALERT_EMAIL_EVENTS"])
def test_it_refuses_to_start_with_an_alert_event_it_does_not_know_naming_it(tmp_path, name):
    result = start_django(tmp_path, **{name: "connector_gone, conector_moved"})
    assert result.returncode != 0
    error_line = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in error_line
    assert f"{name} names an unknown alert event, 'conector_moved': use some of connector_gone," in error_line


# --- env_rate -----------------------------------------------------------------------------------


def test_it_reads_a_rate_as_count_and_seconds(monkeypatch):
    monkeypatch.setenv("TC_TEST_RATE", "3/60")
    assert env_rate("TC_TEST_RATE", "5/3600") == (3, 60)
    monkeypatch.delenv("TC_TEST_RATE")
    assert env_rate("TC_TEST_RATE", "5/3600") == (5, 3600)


@pytest.mark.parametrize("raw", ["5", "5/", "/60", "0/60", "5/0", "-1/60", "five/hour", "5/60/2"])
def test_it_rejects_a_malformed_rate_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("TC_TEST_RATE", raw)
    with pytest.raises(ImproperlyConfigured, match="TC_TEST_RATE must look like COUNT/SECONDS"):
        env_rate("TC_TEST_RATE", "5/3600")


# --- env_throttle_rate --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "count", "seconds"),
    [("300/m", 300, 60), ("5000/h", 5000, 3600), ("10/s", 10, 1), ("100/10m", 100, 600), ("7/30", 7, 30)],
)
def test_it_reads_a_throttle_rate_as_django_ninja_counts_it(monkeypatch, raw, count, seconds):
    from ninja.throttling import AuthRateThrottle

    monkeypatch.setenv("TC_TEST_THROTTLE", raw)
    rate = env_throttle_rate("TC_TEST_THROTTLE", "300/m")
    assert rate == raw
    throttle = AuthRateThrottle(rate)
    assert (throttle.num_requests, throttle.duration) == (count, seconds)


def test_it_returns_the_default_throttle_rate_when_unset(monkeypatch):
    monkeypatch.delenv("TC_TEST_THROTTLE", raising=False)
    assert env_throttle_rate("TC_TEST_THROTTLE", "300/m") == "300/m"


@pytest.mark.parametrize("raw", ["300", "300/", "/m", "0/m", "300/0m", "-1/m", "300/minute", "300 per m", "3/m/2"])
def test_it_rejects_a_malformed_throttle_rate_in_a_sentence_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("TC_TEST_THROTTLE", raw)
    with pytest.raises(ImproperlyConfigured) as refused:
        env_throttle_rate("TC_TEST_THROTTLE", "300/m")
    assert str(refused.value) == (
        f"TC_TEST_THROTTLE must be a number of requests per s, m, h or d (e.g. 300/m, 5000/h or 100/10m), got {raw!r}"
    )


@pytest.mark.slow
def test_it_refuses_to_start_with_a_malformed_api_throttle_rate(tmp_path):
    result = start_django(tmp_path, API_THROTTLE_RATE="300 a minute")
    assert result.returncode != 0
    error_line = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured: API_THROTTLE_RATE must be a number of requests per s, m, h or d" in error_line


@pytest.mark.slow
def test_the_api_throttles_at_the_rate_from_the_environment(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from sessions_app.api.main import THROTTLE; "
            "print(THROTTLE.num_requests, THROTTLE.duration)",
        ],
        cwd=REPO,
        env=clean_env(tmp_path, API_THROTTLE_RATE="42/h"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip().splitlines()[-1] == "42 3600", result.stderr


# --- env_secret ---------------------------------------------------------------------------------


def test_it_reads_a_secret_from_the_variable(monkeypatch):
    monkeypatch.delenv("TC_TEST_SECRET_FILE", raising=False)
    monkeypatch.setenv("TC_TEST_SECRET", "s3cret")
    assert env_secret("TC_TEST_SECRET") == "s3cret"


def test_it_reads_a_secret_from_the_file_named_by_name_file(monkeypatch, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-the-file\n", encoding="utf-8")
    monkeypatch.setenv("TC_TEST_SECRET", "from-the-variable")
    monkeypatch.setenv("TC_TEST_SECRET_FILE", str(secret_file))
    assert env_secret("TC_TEST_SECRET") == "from-the-file"


def test_it_fails_when_name_file_cannot_be_read_naming_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("TC_TEST_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="TC_TEST_SECRET_FILE points to .*missing.*cannot be read"):
        env_secret("TC_TEST_SECRET")


def test_it_returns_the_secret_default_when_neither_is_set(monkeypatch):
    monkeypatch.delenv("TC_TEST_SECRET", raising=False)
    monkeypatch.delenv("TC_TEST_SECRET_FILE", raising=False)
    assert env_secret("TC_TEST_SECRET", "default") == "default"


# --- local_secret -------------------------------------------------------------------------------


def test_it_generates_a_local_secret_once_readable_only_by_the_owner(tmp_path):
    path = tmp_path / "var" / "secret_key"
    first = local_secret(path, lambda: "generated-1")
    second = local_secret(path, lambda: "generated-2")
    assert first == second == "generated-1"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# --- start-up with the real settings module -----------------------------------------------------


@pytest.mark.slow
def test_it_starts_with_no_configuration_at_all(tmp_path):
    result = start_django(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout
    # The embedded defaults generate their local secrets on first start.
    assert (tmp_path / "secret_key").exists()
    assert (tmp_path / "session_encryption_key").exists()


@pytest.mark.slow
def test_it_starts_with_a_valid_production_like_configuration(tmp_path):
    result = start_django(
        tmp_path,
        DJANGO_DEBUG="0",
        DJANGO_HTTPS="1",
        DJANGO_ALLOWED_HOSTS="teleconnect.example",
        SESSION_ENCRYPTION_KEY=f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}",
        TELEGRAM_API_ID="12345",
        TELEGRAM_API_HASH="0123456789abcdef0123456789abcdef",
        LOGIN_SEND_CODE_RATE="3/600",
        AWS_S3_SSE="aws:kms",
        TELEGRAM_PROXY="socks5://user:pass@127.0.0.1:1080",
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TELEGRAM_API_ID", "abc"),
        ("TELEGRAM_API_ID", "-1"),
        ("DJANGO_DEBUG", "maybe"),
        ("DJANGO_HTTPS", "sometimes"),
        ("LOGIN_SEND_CODE_RATE", "5"),
        ("AWS_S3_SSE", "rot13"),
        ("SESSION_ENCRYPTION_KEY", "short"),
        ("DJANGO_HSTS_SECONDS", "-1"),
        ("DATABASE_CONN_MAX_AGE", "forever"),
        ("TELEGRAM_LEASE_SECONDS", "1"),
        ("TELEGRAM_TIMEOUT_SECONDS", "0"),
        ("DATABASE_URL", "not-a-database://x"),
        ("DJANGO_SECRET_KEY_FILE", "/nonexistent/teleconnect-secret"),
        ("TELEGRAM_PROXY", "ftp://proxy.example:21"),
        ("TELEGRAM_PROXY", "socks5://proxy.example"),
    ],
)
def test_it_refuses_to_start_with_a_malformed_value_naming_the_variable(tmp_path, name, value):
    result = start_django(tmp_path, **{name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    error_line = result.stderr.strip().splitlines()[-1]
    assert name in error_line, result.stderr


@pytest.mark.slow
def test_it_refuses_a_malformed_proxy_in_a_sentence_without_its_credentials(tmp_path):
    result = start_django(tmp_path, TELEGRAM_PROXY="mtproxy://ee0123456789abcdef0123456789abcdef@127.0.0.1:443")
    assert result.returncode != 0
    error_line = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured: TELEGRAM_PROXY is not a proxy teleconnect can use" in error_line
    assert "fake-TLS" in error_line
    assert "0123456789abcdef" not in result.stderr


def test_telegram_proxy_is_empty_by_default_and_read_from_the_environment(monkeypatch):
    from sessions_app.telegram.proxy import proxy_setting

    monkeypatch.delenv("TELEGRAM_PROXY", raising=False)
    assert proxy_setting("TELEGRAM_PROXY", env_secret("TELEGRAM_PROXY")) == ""
    monkeypatch.setenv("TELEGRAM_PROXY", " http://user:pass@127.0.0.1:3128 ")
    assert proxy_setting("TELEGRAM_PROXY", env_secret("TELEGRAM_PROXY")) == "http://user:pass@127.0.0.1:3128"


@pytest.mark.slow
def test_it_refuses_an_api_id_without_its_api_hash(tmp_path):
    result = start_django(tmp_path, TELEGRAM_API_ID="12345")
    assert result.returncode != 0
    assert "TELEGRAM_API_HASH" in result.stderr.strip().splitlines()[-1]
