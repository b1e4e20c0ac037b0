from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import BEA_PASSWORD


def _run(*args, lines: list[str]):
    out, err = StringIO(), StringIO()
    call_command("generate_session", *args, stdin=StringIO("\n".join(lines) + "\n"), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_prints_the_three_env_lines(telegram, db):
    out, err = _run(lines=["", "", "+9996621001", "22222"])
    lines = dict(line.split("=", 1) for line in out.strip().splitlines())
    assert set(lines) == {"TELEGRAM_API_ID", "TELEGRAM_API_HASH", "TELEGRAM_SESSION"}
    assert telegram.is_authorized(lines["TELEGRAM_SESSION"])
    assert "Ada Demo" in err


def test_it_asks_for_the_2fa_password_and_retries_a_wrong_one(telegram, db):
    out, err = _run(lines=["", "", "+9996631002", "33333", "nope", BEA_PASSWORD])
    session = out.strip().splitlines()[-1].removeprefix("TELEGRAM_SESSION=")
    assert telegram.is_authorized(session)
    assert "password is wrong" in err and "four words" in err


def test_it_stores_the_session_on_an_instance_instead_of_printing(telegram, instance):
    out, _ = _run("--instance", instance.session, lines=["", "", "+9996621001", "22222"])
    instance.refresh_from_db()
    assert instance.status == "active"
    assert instance.session_string and instance.session_string not in out
    assert "TELEGRAM_SESSION" not in out


def test_it_fails_clearly_on_an_unknown_instance(telegram, db):
    with pytest.raises(CommandError, match="No instance"):
        _run("--instance", "nope", lines=[])


def test_it_fails_clearly_on_a_refused_phone(telegram, db):
    with pytest.raises(CommandError, match="does not accept this phone number"):
        _run(lines=["", "", "+15550100"])


def test_wrong_codes_end_with_an_error_and_nothing_printed(telegram, db):
    with pytest.raises(CommandError, match="code is not right"):
        _run(lines=["", "", "+9996621001", "11111", "11112", "11113"])
