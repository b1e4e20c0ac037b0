"""Operations: the production deploy check, the first-admin command and .env.example."""

from __future__ import annotations

import ast
import os
import re
import secrets
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

REPO = Path(__file__).resolve().parent.parent
_CONFIG_PREFIXES = ("DJANGO_", "TELEGRAM_", "AWS_", "TELECONNECT_", "DATABASE_", "REDIS_", "SESSION_", "LOGIN_")
# Read outside settings.py: by ensure_admin and by scripts/run.
_OPS_VARIABLES = {"TELECONNECT_ADMIN_USERNAME", "TELECONNECT_ADMIN_PASSWORD", "PORT"}


def manage(var_dir: Path, *args: str, **env_overrides: str) -> subprocess.CompletedProcess[str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_CONFIG_PREFIXES) and name not in {"LOG_LEVEL", "TIME_ZONE"}
    }
    env.update(DJANGO_SETTINGS_MODULE="teleconnect.settings", TELECONNECT_VAR_DIR=str(var_dir), **env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def production_env() -> dict[str, str]:
    """The README's production settings (nothing is contacted: `check --deploy` only reads them)."""
    return {
        "DATABASE_URL": "postgres://teleconnect:password@127.0.0.1:5432/teleconnect",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "DJANGO_HTTPS": "1",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
        "DJANGO_ALLOWED_HOSTS": "teleconnect.example",
        "SESSION_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "AWS_S3_SESSION_BUCKET": "connector-sessions",
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY": "AKIAEXAMPLEEXAMPLE",
        "AWS_SECRET_KEY": "example-secret-example-secret",
        "TELEGRAM_API_ID": "12345",
        "TELEGRAM_API_HASH": "0123456789abcdef0123456789abcdef",
    }


# --- manage.py check --deploy -------------------------------------------------------------------


@pytest.mark.slow
def test_it_passes_the_deploy_check_with_the_production_settings(tmp_path):
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **production_env())
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_it_fails_the_deploy_check_without_https(tmp_path):
    env = production_env()
    del env["DJANGO_HTTPS"]
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "security.W008" in result.stderr  # SECURE_SSL_REDIRECT
    assert "security.W012" in result.stderr  # SESSION_COOKIE_SECURE


# --- ensure_admin -------------------------------------------------------------------------------

_PASSWORD_LINE = re.compile(r"Sign in at (\S+) as (\S+) / (\S+)")


def run_ensure_admin(*args: str) -> str:
    out = StringIO()
    call_command("ensure_admin", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def admin_env(monkeypatch):
    for name in ("TELECONNECT_ADMIN_USERNAME", "TELECONNECT_ADMIN_PASSWORD", "TELECONNECT_ADMIN_PASSWORD_FILE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_it_creates_one_admin_and_prints_its_generated_password_once(db, admin_env):
    first = run_ensure_admin()
    match = _PASSWORD_LINE.search(first)
    assert match, first
    url, username, password = match.groups()
    assert url == "http://127.0.0.1:8000/accounts/login/"
    assert username == "admin"
    assert len(password) >= 16

    admins = get_user_model().objects.filter(is_superuser=True)
    assert [user.username for user in admins] == ["admin"]
    assert admins[0].is_staff
    assert admins[0].check_password(password)

    second = run_ensure_admin()
    assert "already exists" in second
    assert password not in second
    assert "Sign in at" not in second
    assert get_user_model().objects.filter(is_superuser=True).count() == 1


def test_it_generates_a_different_password_for_each_new_install(db, admin_env):
    first = _PASSWORD_LINE.search(run_ensure_admin()).group(3)
    get_user_model().objects.all().delete()
    second = _PASSWORD_LINE.search(run_ensure_admin()).group(3)
    assert first != second


def test_it_prints_the_login_url_it_is_given(db, admin_env):
    output = run_ensure_admin("--login-url", "http://127.0.0.1:9000/accounts/login/")
    assert "Sign in at http://127.0.0.1:9000/accounts/login/ as admin" in output


def test_it_uses_the_username_and_password_from_the_environment_without_printing_it(db, admin_env):
    admin_env.setenv("TELECONNECT_ADMIN_USERNAME", "ops")
    admin_env.setenv("TELECONNECT_ADMIN_PASSWORD", "a long team passphrase 42")
    output = run_ensure_admin()
    assert "as ops / the password in TELECONNECT_ADMIN_PASSWORD" in output
    assert "a long team passphrase 42" not in output
    user = get_user_model().objects.get(username="ops")
    assert user.is_superuser
    assert user.check_password("a long team passphrase 42")


def test_it_reads_the_password_from_teleconnect_admin_password_file(db, admin_env, tmp_path):
    password_file = tmp_path / "admin_password"
    password_file.write_text("another long passphrase 7\n", encoding="utf-8")
    admin_env.setenv("TELECONNECT_ADMIN_PASSWORD_FILE", str(password_file))
    run_ensure_admin()
    assert get_user_model().objects.get(username="admin").check_password("another long passphrase 7")


def test_it_refuses_a_weak_password_from_the_environment(db, admin_env):
    admin_env.setenv("TELECONNECT_ADMIN_PASSWORD", "admin")
    with pytest.raises(CommandError, match="TELECONNECT_ADMIN_PASSWORD is too weak"):
        run_ensure_admin()
    assert not get_user_model().objects.exists()


def test_it_does_nothing_when_another_superuser_exists(db, admin_env):
    get_user_model().objects.create_superuser("founder", "founder@example.invalid", "founder-pass-123")
    output = run_ensure_admin()
    assert "An admin already exists (founder)" in output
    assert not get_user_model().objects.filter(username="admin").exists()


def test_it_explains_when_the_admin_name_is_taken_by_a_regular_user(db, admin_env):
    get_user_model().objects.create_user("admin", password="regular-pass-123")
    with pytest.raises(CommandError, match="exists but is not a superuser.*TELECONNECT_ADMIN_USERNAME"):
        run_ensure_admin()
    regular = get_user_model().objects.get(username="admin")
    assert not regular.is_superuser
    assert regular.check_password("regular-pass-123")


# --- .env.example -------------------------------------------------------------------------------

_ENV_LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=")


def settings_variables() -> dict[str, str]:
    """{NAME: reader} for every env_*("NAME", ...) call in teleconnect/settings.py."""
    tree = ast.parse((REPO / "teleconnect" / "settings.py").read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id.startswith("env_")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found[node.args[0].value] = node.func.id
    return found


def env_example_lines() -> list[str]:
    return (REPO / ".env.example").read_text(encoding="utf-8").splitlines()


def env_example_variables() -> set[str]:
    return {match.group(1) for line in env_example_lines() if (match := _ENV_LINE.match(line))}


def test_settings_reads_the_variables_this_test_expects():
    # Guards the parser below: if it found nothing, the .env.example tests would pass vacuously.
    variables = settings_variables()
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "TELEGRAM_API_ID", "AWS_S3_SESSION_BUCKET"} <= set(variables)
    assert variables["DJANGO_SECRET_KEY"] == "env_secret"


def test_env_example_names_every_variable_settings_reads():
    missing = sorted(set(settings_variables()) - env_example_variables())
    assert not missing, f"add these to .env.example, each with a comment: {missing}"


def test_env_example_names_only_variables_that_are_read():
    unknown = sorted(env_example_variables() - set(settings_variables()) - _OPS_VARIABLES)
    assert not unknown, f"these are in .env.example but nothing reads them: {unknown}"


def test_env_example_mentions_the_file_variant_of_every_secret():
    text = "\n".join(env_example_lines())
    secrets_without_file = sorted(
        name for name, reader in settings_variables().items() if reader == "env_secret" and f"{name}_FILE" not in text
    )
    assert not secrets_without_file


def test_env_example_explains_every_variable_in_the_comment_above_it():
    lines = env_example_lines()
    unexplained = [
        match.group(1)
        for index, line in enumerate(lines)
        if (match := _ENV_LINE.match(line))
        and (index == 0 or not lines[index - 1].startswith("#") or _ENV_LINE.match(lines[index - 1]))
    ]
    assert not unexplained
