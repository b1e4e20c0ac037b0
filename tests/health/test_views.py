"""The team sees it: list columns and the "needs attention" filter, the last checks, "Check now", the alerts page."""

from __future__ import annotations

import re

from django.test import Client

from sessions_app.models import ConnectorInstance, Membership, Role
from sessions_app.models_health import HealthCheck
from sessions_app.services.health.check import health_check
from sessions_app.services.health.schedule import schedule_hold
from tests.conftest import client_for

DETAIL = "/instances/prod-bot/"


def test_the_list_shows_health_last_checked_and_connector_last_active(saved, owner_client):
    health_check(instance=saved)
    page = owner_client.get("/").content.decode()
    for heading in ("Health", "Last checked", "Connector last active"):
        assert re.search(f"<th>(<a [^>]*>)?{heading}", page)  # a sortable column's heading is a link
    assert 'class="badge health-healthy"' in page and "0\xa0minutes ago" in page


def test_needs_attention_lists_only_instances_with_a_problem(saved, telegram, owner, owner_client):
    other = ConnectorInstance.objects.create(session="calm-bot", name="Calm")
    Membership.objects.create(user=owner, instance=other, role=Role.OWNER)
    health_check(instance=other)
    telegram.terminate_session(saved.session_string)
    health_check(instance=saved)
    everything = owner_client.get("/").content.decode()
    assert "calm-bot" in everything and "Needs attention (1)" in everything
    attention = owner_client.get("/?attention=1").content.decode()
    assert "prod-bot" in attention and "calm-bot" not in attention
    assert "connector session gone" in attention


def test_the_list_says_when_no_worker_runs_the_schedule(saved, owner_client):
    assert "Health checks are not running" in owner_client.get("/").content.decode()
    schedule_hold(holder="worker-1", host="box:42")
    assert "Health checks are not running" not in owner_client.get("/").content.decode()


def test_the_detail_page_shows_the_last_checks(saved, telegram, operator_client):
    health_check(instance=saved)
    telegram.terminate_session(saved.session_string)
    health_check(instance=saved)
    page = operator_client.get(DETAIL).content.decode()
    assert 'id="health"' in page and "Check now" in page
    # Each check's findings in words, never their codes ("listed", "gone").
    assert page.count("<td>listed among the account&#x27;s sessions</td>") == 1
    assert page.count("<td>no longer listed</td>") == 1
    assert "no longer among the account&#x27;s active sessions" in page


def test_an_operator_checks_now_and_sees_the_result(saved, telegram, operator_client):
    telegram.terminate_session(saved.session_string)
    response = operator_client.post(f"{DETAIL}check/", follow=True)
    assert response.redirect_chain[-1][0] == DETAIL
    assert "Checked: connector session gone." in response.content.decode()
    check = HealthCheck.objects.get()
    assert (check.trigger, check.actor.username) == ("web", "oscar")


def test_check_now_says_when_a_check_is_already_running(saved, operator_client):
    from datetime import timedelta

    from django.utils import timezone

    from sessions_app.models_health import InstanceHealth

    health_check(instance=saved)
    InstanceHealth.objects.filter(instance=saved).update(claimed_until=timezone.now() + timedelta(minutes=1))
    page = operator_client.post(f"{DETAIL}check/", follow=True).content.decode()
    assert "The check did not run: A check of this instance is running right now" in page


def test_a_viewer_cannot_check_now_and_an_outsider_gets_404(saved, viewer, outsider):
    assert client_for(viewer).post(f"{DETAIL}check/").status_code == 403
    assert "Check now" not in client_for(viewer).get(DETAIL).content.decode()
    assert client_for(outsider).post(f"{DETAIL}check/").status_code == 404
    assert not HealthCheck.objects.exists()


def test_check_now_is_post_only(saved, operator_client):
    assert operator_client.get(f"{DETAIL}check/").status_code == 405


def test_the_alerts_page_shows_deliveries_and_failures_without_the_webhook_path(
    saved, telegram, receiver, viewer, outsider
):
    from sessions_app.services.health.delivery import alerts_deliver_due

    receiver.status = 503
    telegram.terminate_session(saved.session_string)
    health_check(instance=saved)
    alerts_deliver_due()
    page = client_for(viewer).get("/alerts/").content.decode()
    assert "connector session gone" in page and "the receiver answered HTTP 503" in page
    assert "email: olivia@example.com" in page and "delivered" in page
    assert "secret-token" not in page and "/hooks/" not in page
    assert "connector_gone" not in client_for(outsider).get("/alerts/").content.decode()
    only = client_for(viewer).get("/alerts/?session=other").content.decode()
    assert "No alert has been sent" in only


def test_someone_not_signed_in_is_sent_to_sign_in_and_checks_nothing(saved):
    anonymous = Client()
    assert anonymous.get("/alerts/")["Location"].startswith("/accounts/login/")
    assert anonymous.post(f"{DETAIL}check/")["Location"].startswith("/accounts/login/")
    assert not HealthCheck.objects.exists()
