"""The instance page says once how a session ended, and who or what ended it: a revoke by the team
is not the same as a session Telegram or another device ended."""

from __future__ import annotations

import pytest

from sessions_app.services.connector import CONNECTOR_NOT_LISTED
from sessions_app.services.health.check import health_check
from sessions_app.services.sessions import session_save
from tests.conftest import client_for, log_in
from tests.daily_use.test_words_not_codes import visible_text

DETAIL = "/instances/prod-bot/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def saved(telegram, instance):
    log_in(instance)
    session_save(instance=instance, actor=None)
    instance.refresh_from_db()
    return instance


def _status(page: str) -> tuple[str, str]:
    """The status badge's words and the one status line at the top."""
    badge = page.split('id="status">')[1].split("</span>")[0]
    line = visible_text(page.split('id="status-line">')[1].split("</div>")[0])
    return badge, line


def test_a_revoke_by_the_team_says_who_revoked_it_once(saved, owner_client):
    owner_client.post(f"{DETAIL}revoke/")
    page = owner_client.get(DETAIL).content.decode()
    badge, line = _status(page)
    assert badge == "revoked"
    assert line.startswith(
        "Revoked by olivia: the connector's and the dashboard's authorizations were ended on purpose."
    )
    assert "(since " in line
    assert visible_text(page).count("Revoked by olivia") == 1
    assert "Reason" not in visible_text(page)


def test_a_session_ended_outside_the_dashboard_is_not_called_a_revoke(saved, telegram, owner_client):
    telegram.terminate_session(saved.session_string)  # another device ends the connector's session
    health_check(instance=saved, trigger="schedule")
    page = owner_client.get(DETAIL).content.decode()
    badge, line = _status(page)
    assert badge == "ended outside the dashboard"
    assert line.startswith(f"Ended outside the dashboard: {CONNECTOR_NOT_LISTED}")
    assert line.endswith("found by the dashboard) Log in again")
    assert visible_text(page).count(CONNECTOR_NOT_LISTED) == 1  # not in a Reason row, not again under Health
    assert "Revoked by" not in page


def test_a_verify_that_finds_the_session_ended_names_who_verified(saved, telegram, operator):
    telegram.terminate_session(saved.session_string)
    client = client_for(operator)
    client.post(f"{DETAIL}verify/")
    badge, line = _status(client.get(DETAIL).content.decode())
    assert badge == "ended outside the dashboard"
    assert line.endswith("found by oscar) Log in again")


def test_a_working_session_has_no_status_line(saved, owner_client):
    page = owner_client.get(DETAIL).content.decode()
    assert 'id="status-line"' not in page
    assert page.split('id="status">')[1].startswith("active<")


def test_connector_activity_from_a_check_does_not_claim_a_verify_that_never_ran(saved, owner_client):
    health_check(instance=saved, trigger="schedule")
    saved.refresh_from_db()
    assert saved.connector_active_at is not None and saved.verified_at is None
    text = visible_text(owner_client.get(DETAIL).content.decode())
    assert "Last verify never" in text
    assert "at the last Verify" not in text and "as Telegram last reported it to a check or Verify" in text
