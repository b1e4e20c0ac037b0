"""Item 9: the log redaction filter covers exception text and tracebacks, not only the message."""

from __future__ import annotations

import io
import logging
import sys

import pytest
from django.test import Client
from django.urls import path

from sessions_app.logging import REDACTED, RedactSecretsFilter, redact

SESSION_STRING = "1" + "BQAbCdEf_-" * 30  # the shape of a Telethon StringSession
FERNET_TOKEN = "gAAAAABk" + "x1y2z3" * 12
OTPAUTH = "otpauth://totp/teleconnect:olivia?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=teleconnect"


def formatted(record: logging.LogRecord) -> str:
    """What a handler with the filter writes for the record."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecretsFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.handle(record)
    return stream.getvalue()


def record_of_failure(message: str, exc: Exception) -> logging.LogRecord:
    try:
        raise exc
    except Exception:  # noqa: BLE001 - any exception: the record carries it
        return logging.LogRecord("teleconnect.test", logging.ERROR, __file__, 1, message, (), sys.exc_info())


def test_the_exception_message_in_a_traceback_is_redacted():
    output = formatted(record_of_failure("saving failed", ValueError(f"cannot parse {SESSION_STRING!r}")))
    assert SESSION_STRING not in output and SESSION_STRING[:60] not in output
    assert "Traceback (most recent call last)" in output and "ValueError: cannot parse" in output
    assert REDACTED in output


def test_a_chained_exception_is_redacted_too():
    def inner():
        raise KeyError(FERNET_TOKEN)

    try:
        try:
            inner()
        except KeyError as error:
            raise RuntimeError("decrypting failed") from error
    except RuntimeError as outer:
        record = record_of_failure("x", outer)
    output = formatted(record)
    assert FERNET_TOKEN not in output and "The above exception was the direct cause" in output


def test_stack_info_is_redacted():
    record = logging.LogRecord("t", logging.WARNING, __file__, 1, "look", (), None, sinfo=f"Stack: {OTPAUTH}")
    output = formatted(record)
    assert "JBSWY3DPEHPK3PXP" not in output and REDACTED in output


@pytest.mark.parametrize("secret", [SESSION_STRING, FERNET_TOKEN, OTPAUTH, "phone_code_hash=af12bc34de56"])
def test_each_kind_of_secret_is_redacted_from_the_message(secret):
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "value %s end", (secret,), None)
    output = formatted(record)
    assert secret not in output and output.endswith(" end\n")


def test_a_line_without_a_secret_is_left_alone():
    record = record_of_failure("checking %s", ValueError("store unreachable: timeout after 10 s"))
    record.args = ("prod-bot",)
    output = formatted(record)
    assert "checking prod-bot" in output and "ValueError: store unreachable: timeout after 10 s" in output
    assert REDACTED not in output


def test_without_the_filter_the_traceback_would_carry_the_secret():
    """Guards the tests above: the secret really is in the raw traceback."""
    stream = io.StringIO()
    logging.StreamHandler(stream).handle(record_of_failure("x", ValueError(SESSION_STRING)))
    assert SESSION_STRING in stream.getvalue()


def _crash(request):
    raise ValueError(f"bad session {SESSION_STRING}")


urlpatterns = [path("crash/", _crash)]


@pytest.fixture
def configured_output():
    """The configured console handler (settings.LOGGING), writing into a buffer for the test."""
    handlers = [h for h in logging.getLogger().handlers if any(isinstance(f, RedactSecretsFilter) for f in h.filters)]
    assert handlers, "settings.LOGGING puts RedactSecretsFilter on the root handler"
    handler = handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


def test_a_500_logged_by_django_carries_no_secret(settings, owner, configured_output):
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    assert client.get("/crash/").status_code == 500
    output = configured_output.getvalue()
    assert "Internal Server Error: /crash/" in output and "ValueError: bad session" in output
    assert SESSION_STRING not in output and SESSION_STRING[:40] not in output


# -- error reports: secrets inside containers, bytes and models ------------------------------------


def _generated_strings() -> tuple[str, str]:
    """A Telethon StringSession and a Pyrogram session string with a random key, made here."""
    import base64
    import os
    import struct

    from telethon.crypto import AuthKey
    from telethon.sessions import StringSession

    key = os.urandom(256)
    telethon = StringSession()
    telethon.set_dc(2, "149.154.167.51", 443)
    telethon.auth_key = AuthKey(key)
    pyrogram = base64.urlsafe_b64encode(struct.pack(">BI?256sQ?", 2, 1, False, key, 7100021001, False))
    return telethon.save(), pyrogram.decode().rstrip("=")


def _report_of(function, *args) -> str:
    from django.views.debug import ExceptionReporter

    try:
        function(*args)
    except RuntimeError:
        # The HTML report (debug page, admin email with include_html) is the one with every frame's locals.
        return ExceptionReporter(None, *sys.exc_info()).get_traceback_html()
    raise AssertionError("the function should fail")


def _holding_secrets_in_containers(telethon: str, pyrogram: str, password: str) -> None:
    # The report also shows these source lines: the secrets come in as arguments, never as literals here.
    from sessions_app.api.schemas import ImportIn

    form = {"session_string": telethon, "password": password}
    rows = [("prod-bot", "Prod", pyrogram, password)]
    upload = f"session,name,session_string,password\nprod-bot,Prod,{telethon},{password}\n".encode()
    body = ImportIn(session_string=telethon, password=password)
    named_only = {"password": password, "note": "shown"}
    harmless = {"rows": 3, "kind": "CSV file"}
    raise RuntimeError(f"{len(form)} {len(rows)} {len(upload)} {body is None} {len(named_only)} {harmless}")


def test_a_crash_report_hides_secrets_inside_dicts_lists_bytes_and_models(settings):
    settings.DEBUG = False
    telethon, pyrogram = _generated_strings()
    two_step = "".join(reversed("2retnuh"))  # the 2FA password, never written out in any reported source line
    report = _report_of(_holding_secrets_in_containers, telethon, pyrogram, two_step)
    assert "_holding_secrets_in_containers" in report and "CSV file" in report and "harmless" in report
    for secret in (telethon, pyrogram, two_step):
        assert secret not in report and secret[:40] not in report


def test_a_pyrogram_session_string_is_redacted_from_a_log_line():
    _, pyrogram = _generated_strings()
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "pasted %s end", (pyrogram,), None)
    output = formatted(record)
    assert pyrogram not in output and pyrogram[:40] not in output and output.endswith(" end\n")


def test_the_api_import_schema_never_shows_its_secrets_in_its_repr():
    from sessions_app.api.schemas import ImportIn, VerifyIn

    telethon, _ = _generated_strings()
    shown = repr(ImportIn(session_string=telethon, password="hunter2")) + repr(VerifyIn(password="hunter2"))
    assert telethon not in shown and "hunter2" not in shown


def test_a_local_named_like_an_authorization_key_is_hidden(rf):
    from sessions_app.logging import SecretsExceptionReporterFilter

    def holding(auth_key: bytes, packed: bytes, payload: object) -> None:
        raise RuntimeError("x")

    try:
        holding(b"\x01" * 256, b"\x02" * 271, object())
    except RuntimeError:
        traceback = sys.exc_info()[2]
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    variables = dict(SecretsExceptionReporterFilter().get_traceback_frame_variables(rf.get("/"), traceback.tb_frame))
    stars = SecretsExceptionReporterFilter.cleansed_substitute
    assert variables["auth_key"] == variables["packed"] == variables["payload"] == stars


def test_a_key_string_with_a_dash_one_inside_is_redacted_from_its_first_character():
    # "-1" inside a url-safe base64 string once let the Telethon pattern start there and leave the head.
    head = "AgAAAAEAwkrVFvjdgrg-1"
    line = f"INFO pasted {head}{'Kv9s7lrr729qzjtU2PVI' * 18} end"
    assert redact(line) == "INFO pasted [redacted] end"
