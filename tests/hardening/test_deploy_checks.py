"""`check --deploy` warns when production runs on the embedded defaults (issue 10, item 5)."""

from __future__ import annotations

import pytest

from sessions_app.checks import embedded_defaults_in_production_check
from tests.test_ops import manage, production_env

SQLITE = "django.db.backends.sqlite3"
POSTGRES = "django.db.backends.postgresql"
IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
REDIS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": ["redis://x"]}}}


@pytest.fixture
def production(settings, monkeypatch):
    # The engine name only: the test database's connection stays as it is.
    monkeypatch.setitem(settings.DATABASES["default"], "ENGINE", POSTGRES)
    settings.DEBUG = False
    settings.HTTPS = True
    settings.GENERATED_SECRETS = []
    settings.AWS_S3_SESSION_BUCKET = "connector-sessions"
    settings.CHANNEL_LAYERS = REDIS
    return settings


def warning_ids() -> list[str]:
    return [message.id for message in embedded_defaults_in_production_check(None)]


def test_it_says_nothing_when_production_runs_on_real_engines(production):
    assert warning_ids() == []


def test_it_warns_when_production_runs_on_keys_generated_into_var(production):
    production.GENERATED_SECRETS = ["SESSION_ENCRYPTION_KEY"]
    [message] = embedded_defaults_in_production_check(None)
    assert message.id == "teleconnect.W010"
    assert "SESSION_ENCRYPTION_KEY is not set" in message.msg and str(production.VAR_DIR) in message.msg
    assert "SESSION_ENCRYPTION_KEY_FILE" in message.hint


def test_it_warns_when_production_runs_on_sqlite(production):
    production.DATABASES["default"]["ENGINE"] = SQLITE
    assert warning_ids() == ["teleconnect.W011"]


def test_it_warns_when_production_runs_on_the_local_store(production):
    production.AWS_S3_SESSION_BUCKET = ""
    assert warning_ids() == ["teleconnect.W012"]


def test_it_warns_when_production_runs_on_the_in_memory_channel_layer(production):
    production.CHANNEL_LAYERS = IN_MEMORY
    assert warning_ids() == ["teleconnect.W013"]


@pytest.mark.parametrize(("debug", "https"), [(True, True), (False, False), (True, False)])
def test_it_leaves_a_local_install_alone(production, debug, https):
    production.DEBUG, production.HTTPS = debug, https
    production.GENERATED_SECRETS = ["DJANGO_SECRET_KEY", "SESSION_ENCRYPTION_KEY"]
    production.DATABASES["default"]["ENGINE"] = SQLITE
    production.AWS_S3_SESSION_BUCKET = ""
    production.CHANNEL_LAYERS = IN_MEMORY
    assert warning_ids() == []


@pytest.mark.slow
def test_manage_check_deploy_names_each_embedded_default_production_runs_on(tmp_path):
    env = production_env()
    for name in ("DATABASE_URL", "REDIS_URL", "AWS_S3_SESSION_BUCKET", "DJANGO_SECRET_KEY", "SESSION_ENCRYPTION_KEY"):
        del env[name]
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    for check_id in ("teleconnect.W010", "teleconnect.W011", "teleconnect.W012", "teleconnect.W013"):
        assert check_id in result.stderr, result.stderr
    assert "DJANGO_SECRET_KEY and SESSION_ENCRYPTION_KEY are not set" in result.stderr
