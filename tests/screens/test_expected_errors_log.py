"""An expected 403 (role too low) or 404 (no role) is one line in the log, not a traceback."""

from __future__ import annotations

import logging
import sys

from sessions_app.logging import ExpectedHttpErrorsFilter
from tests.conftest import client_for


def _request_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "django.request"]


def test_a_role_too_low_logs_one_line_with_the_reason_and_no_traceback(instance, viewer, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client_for(viewer).post("/instances/prod-bot/revoke/")
    assert response.status_code == 403
    [record] = _request_records(caplog)
    assert record.exc_info is None and record.exc_text is None
    line = logging.Formatter().format(record)
    assert "\n" not in line and "Traceback" not in line
    assert line.startswith("Forbidden (Permission denied): /instances/prod-bot/revoke/") and "owner" in line


def test_an_instance_without_a_role_logs_one_not_found_line(instance, outsider, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client_for(outsider).get("/instances/prod-bot/")
    assert response.status_code == 404
    [record] = _request_records(caplog)
    line = logging.Formatter().format(record)
    assert line == "Not Found: /instances/prod-bot/"


def test_an_unexpected_error_still_logs_its_traceback():
    """The filter leaves real failures alone: only PermissionDenied and Http404 lose the traceback."""
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        failure = sys.exc_info()
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error: /x", None, failure)
    assert ExpectedHttpErrorsFilter().filter(record) and record.exc_info is not None
    assert "Traceback" in logging.Formatter().format(record)
