"""`manage.py check_sessions [SESSION ...]`: one pass now, one line per instance, an exit status that tells."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sessions_app.models import ConnectorInstance
from sessions_app.models_health import HealthCheck


def check_sessions(*sessions: str) -> str:
    out = StringIO()
    call_command("check_sessions", *sessions, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_it_checks_every_instance_and_prints_one_line_each(saved):
    ConnectorInstance.objects.create(session="spare", name="Spare")
    lines = check_sessions().splitlines()
    assert lines[0].startswith("prod-bot  healthy: connector last active")
    assert lines[1] == "spare  nothing to watch: Not logged in: nothing to watch."
    assert len(lines) == 2
    assert set(HealthCheck.objects.values_list("trigger", flat=True)) == {"command"}


def test_it_checks_only_the_named_sessions(saved):
    ConnectorInstance.objects.create(session="spare", name="Spare")
    assert check_sessions("spare").splitlines() == ["spare  nothing to watch: Not logged in: nothing to watch."]
    assert not HealthCheck.objects.filter(instance=saved).exists()


def test_it_exits_zero_when_every_check_ran_whatever_it_found(saved, telegram):
    telegram.terminate_session(saved.session_string)
    assert check_sessions().startswith("prod-bot  connector session gone: The connector's authorization")


def test_it_exits_non_zero_when_checks_could_not_run(saved, settings):
    settings.TELEGRAM_CLIENT_FACTORY = "tests.support.unreachable_factory"
    out = StringIO()
    with pytest.raises(CommandError, match="1 check\\(s\\) could not run") as failed:
        call_command("check_sessions", stdout=out, stderr=StringIO())
    assert failed.value.returncode == 1
    assert out.getvalue().startswith("prod-bot  store or Telegram unreachable: Telegram could not be reached")


def test_it_refuses_an_unknown_session_and_checks_nothing(saved):
    with pytest.raises(CommandError, match="No instance with SESSION nope; nothing was checked") as refused:
        check_sessions("prod-bot", "nope")
    assert refused.value.returncode == 2
    assert not HealthCheck.objects.exists()


def test_it_sends_the_alerts_its_pass_queued(saved, telegram, receiver):
    telegram.terminate_session(saved.session_string)
    check_sessions()
    assert [hook["event"] for hook in receiver.received] == ["connector_gone"]
