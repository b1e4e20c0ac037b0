"""Bulk import when a row fails: an unexpected error, the time budget, a refusal next to a connector's object."""

from __future__ import annotations

import logging

import pytest

from sessions_app.models import ConnectorInstance
from sessions_app.services import fleet_import
from tests.conftest import BEA_PASSWORD, bea_session, client_for, demo_session
from tests.fleet import formats
from tests.fleet.test_bulk_import import assert_secrets_absent, sentences, upload


@pytest.fixture
def admin_client(admin_user):
    return client_for(admin_user)


def test_an_unexpected_error_in_one_row_does_not_stop_the_others(telegram, bucket, admin_client, monkeypatch, caplog):
    real_import = fleet_import.session_import

    def breaking_one(*, instance, **kwargs):
        if instance.session == "breaks":
            raise RuntimeError("a bug in the import")
        return real_import(instance=instance, **kwargs)

    monkeypatch.setattr(fleet_import, "session_import", breaking_one)
    rows = [("first", "F", demo_session(), ""), ("breaks", "B", demo_session(), ""), ("last", "L", demo_session(), "")]
    caplog.set_level(logging.DEBUG)
    response = upload(admin_client, formats.csv_file(rows))
    assert response.status_code == 200
    said = sentences(response)
    assert said[0].startswith("imported|line 2 (first): imported")
    assert said[1] == "refused|line 3 (breaks): failed unexpectedly; nothing was kept for it."
    assert said[2].startswith("imported|line 4 (last): imported")
    assert set(ConnectorInstance.objects.values_list("session", flat=True)) == {"first", "last"}
    assert bucket.read("breaks") == ""
    assert "breaks" in caplog.text and "a bug in the import" in caplog.text  # logged, with its traceback
    assert_secrets_absent(caplog.text + response.content.decode(), [row[2] for row in rows])


def test_rows_past_the_time_budget_are_not_started(telegram, bucket, admin_client, settings):
    settings.BULK_IMPORT_BUDGET_SECONDS = 0
    rows = [("one", "1", demo_session(), ""), ("two", "2", demo_session(), ""), ("three", "3", demo_session(), "")]
    response = upload(admin_client, formats.csv_file(rows))
    said = sentences(response)
    assert said[0].startswith("imported|line 2 (one): imported")
    for line, (session, *_) in zip(said[1:], rows[1:], strict=True):
        assert line.startswith(f"refused|line {rows.index((session, *_)) + 2} ({session}): not started: ")
        assert "the import stopped after 0 s so the request would not time out; upload these rows again." in line
    assert set(ConnectorInstance.objects.values_list("session", flat=True)) == {"one"}
    assert bucket.read("two") == "" and bucket.read("three") == ""


def test_the_default_budget_stays_below_common_proxy_timeouts(settings):
    assert 0 < settings.BULK_IMPORT_BUDGET_SECONDS < 60


def test_a_refused_row_next_to_a_connectors_object_leaves_no_instance_and_the_object_untouched(
    telegram, bucket, admin_client
):
    string = bea_session()
    bucket.put("running", string)  # a connector already runs with this key
    response = upload(admin_client, formats.csv_file([("running", "R", string, "not the password")]))
    said = sentences(response)
    assert said[0].startswith("refused|line 2 (running): refused,") and "password" in said[0], said
    assert "could not be removed" not in said[0]
    assert not ConnectorInstance.objects.filter(session="running").exists()
    assert bucket.read("running") == string

    again = sentences(upload(admin_client, formats.csv_file([("running", "R", string, BEA_PASSWORD)])))
    assert again[0].startswith("imported|line 2 (running): imported"), again
    assert ConnectorInstance.objects.get(session="running").dashboard_session
    assert bucket.read("running") == string
