"""/metrics: Prometheus text for a scraper with METRICS_TOKEN, read from the database at each scrape."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from sessions_app.models import ArchiveRun, ArchiveStatus, ConnectorInstance, Dialog, InstanceStatus
from sessions_app.models_health import AlertDelivery, Health, HealthCheck, InstanceHealth
from sessions_app.services.health.check import health_check
from sessions_app.services.health.schedule import schedule_hold
from sessions_app.services.instances import instance_set_status
from sessions_app.services.sessions import session_save
from tests.conftest import client_for, log_in

REPO = Path(__file__).resolve().parent.parent
TOKEN = "scrape-token-7f3a9c1e5b"
FAMILIES = {
    "teleconnect_instances",
    "teleconnect_instances_by_health",
    "teleconnect_instances_needing_attention",
    "teleconnect_instance_health",
    "teleconnect_instance_last_check_age_seconds",
    "teleconnect_health_checks_recent",
    "teleconnect_alert_deliveries",
    "teleconnect_archive_runs",
    "teleconnect_archive_messages_stored",
    "teleconnect_archive_flood_waits",
    "teleconnect_flood_wait_remaining_seconds",
    "teleconnect_login_flood_waiting_instances",
    "teleconnect_health_schedule_running",
    "teleconnect_health_schedule_heartbeat_age_seconds",
}


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client: Client | None = None, token: str = TOKEN) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Family name -> {sorted labels: value}, as Prometheus' own parser reads the body."""
    response = (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {}
    for family in text_string_to_metric_families(response.content.decode()):
        families[family.name] = {tuple(sorted(sample.labels.items())): sample.value for sample in family.samples}
    return families


def value(families, name: str, **labels: str) -> float:
    return families[name][tuple(sorted(labels.items()))]


def _instance(session: str, status: str = InstanceStatus.NEW, **fields) -> ConnectorInstance:
    return ConnectorInstance.objects.create(session=session, name=session, status=status, **fields)


# --- who may read it ------------------------------------------------------------------------------


def test_it_is_404_while_metrics_token_is_unset_even_for_a_team_admin(db, settings, admin_user):
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    assert client_for(admin_user).get("/metrics").status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Bearer wrong-token", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN],
)
def test_it_answers_401_without_the_right_bearer_token_and_never_redirects_to_sign_in(db, token, authorization):
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    response = Client().get("/metrics", **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"teleconnect_" not in response.content


def test_a_signed_in_team_admin_without_the_token_is_refused_too(token, admin_user):
    assert client_for(admin_user).get("/metrics").status_code == 401


def test_the_token_scheme_is_case_insensitive_and_the_body_is_never_cached(db, token):
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"bearer {TOKEN}")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_it_only_answers_get(db, token):
    assert Client().post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


# --- what it shows --------------------------------------------------------------------------------


def test_the_body_parses_and_carries_every_family(db, token):
    now = timezone.now()
    alpha = _instance("alpha", InstanceStatus.ACTIVE)
    beta = _instance("beta", InstanceStatus.REVOKED)
    _instance("gamma")  # never checked: no health row
    InstanceHealth.objects.create(instance=alpha, state=Health.HEALTHY, checked_at=now - timedelta(seconds=120))
    InstanceHealth.objects.create(instance=beta, state=Health.CONNECTOR_GONE, checked_at=now - timedelta(hours=1))
    for result, minutes_ago in (  # in the order the checks wrote them
        (Health.BUSY, 60),
        (Health.HEALTHY, 6),
        (Health.CONNECTOR_GONE, 2),
        (Health.HEALTHY, 1),
    ):
        HealthCheck.objects.create(instance=alpha, started_at=now - timedelta(minutes=minutes_ago), result=result)
    for event, channel, status in (
        ("connector_gone", "webhook", "delivered"),
        ("connector_gone", "webhook", "delivered"),
        ("connector_gone", "email", "failed"),
    ):
        AlertDelivery.objects.create(
            instance=beta, session="beta", event=event, channel=channel, status=status, next_attempt_at=now
        )
    ArchiveRun.objects.create(instance=alpha, status=ArchiveStatus.DONE, messages_saved=40, flood_waits=2)
    ArchiveRun.objects.create(
        instance=alpha, status=ArchiveStatus.FLOOD_WAIT, flood_waits=1, flood_wait_until=now + timedelta(seconds=300)
    )
    Dialog.objects.create(instance=alpha, peer_id=1, kind="user", title="Ada", message_count=30)
    Dialog.objects.create(instance=alpha, peer_id=2, kind="group", title="Team", message_count=12)

    families = scrape()

    assert FAMILIES <= set(families)
    assert all(name.startswith("teleconnect_") for name in families)  # no per-process metrics (CPU, GC)
    assert value(families, "teleconnect_instances", status="active") == 1
    assert value(families, "teleconnect_instances", status="revoked") == 1
    assert value(families, "teleconnect_instances", status="new") == 1
    assert value(families, "teleconnect_instances", status="error") == 0  # every status, zeros included
    assert value(families, "teleconnect_instances_by_health", result="unknown") == 1
    assert value(families, "teleconnect_instances_by_health", result="healthy") == 1
    assert value(families, "teleconnect_instances_by_health", result="connector_gone") == 1
    assert ("result", "busy") not in {
        label for labels in families["teleconnect_instances_by_health"] for label in labels
    }
    assert value(families, "teleconnect_instances_needing_attention") == 1
    assert value(families, "teleconnect_instance_health", session="gamma", result="unknown") == 1
    assert value(families, "teleconnect_instance_health", session="beta", result="connector_gone") == 1
    ages = families["teleconnect_instance_last_check_age_seconds"]
    assert set(ages) == {(("session", "alpha"),), (("session", "beta"),)}  # gamma was never checked
    assert value(families, "teleconnect_instance_last_check_age_seconds", session="alpha") == pytest.approx(120, abs=60)
    assert value(families, "teleconnect_instance_last_check_age_seconds", session="beta") == pytest.approx(3600, abs=60)
    assert value(families, "teleconnect_health_checks_recent", result="healthy") == 2
    assert value(families, "teleconnect_health_checks_recent", result="connector_gone") == 1
    assert value(families, "teleconnect_health_checks_recent", result="busy") == 0  # an hour ago: outside the window
    assert families["teleconnect_alert_deliveries"] == {
        (("channel", "email"), ("event", "connector_gone"), ("status", "failed")): 1,
        (("channel", "webhook"), ("event", "connector_gone"), ("status", "delivered")): 2,
    }
    assert value(families, "teleconnect_archive_runs", status="done") == 1
    assert value(families, "teleconnect_archive_runs", status="flood_wait") == 1
    assert value(families, "teleconnect_archive_runs", status="failed") == 0
    assert value(families, "teleconnect_archive_messages_stored") == 42
    assert value(families, "teleconnect_archive_flood_waits") == 3
    assert value(families, "teleconnect_flood_wait_remaining_seconds", operation="archive") == pytest.approx(
        300, abs=60
    )
    assert value(families, "teleconnect_flood_wait_remaining_seconds", operation="login") == 0


def test_a_login_flood_wait_counts_until_it_is_over(db, token):
    now = timezone.now()
    _instance("alpha", flood_wait_until=now + timedelta(seconds=600))
    _instance("beta", flood_wait_until=now - timedelta(seconds=5))  # over already
    families = scrape()
    assert value(families, "teleconnect_login_flood_waiting_instances") == 1
    assert value(families, "teleconnect_flood_wait_remaining_seconds", operation="login") == pytest.approx(600, abs=60)


def test_the_schedule_heartbeat_is_infinitely_old_until_a_worker_holds_it(db, token):
    families = scrape()
    assert value(families, "teleconnect_health_schedule_running") == 0
    assert math.isinf(value(families, "teleconnect_health_schedule_heartbeat_age_seconds"))

    assert schedule_hold(holder="worker-1", host="box:42", now=timezone.now() - timedelta(seconds=400))
    families = scrape()  # its holder stopped beating: the lease ran out
    assert value(families, "teleconnect_health_schedule_running") == 0
    assert value(families, "teleconnect_health_schedule_heartbeat_age_seconds") == pytest.approx(400, abs=30)

    assert schedule_hold(holder="worker-2", host="box:43")
    families = scrape()
    assert value(families, "teleconnect_health_schedule_running") == 1
    assert value(families, "teleconnect_health_schedule_heartbeat_age_seconds") < 30


def test_a_status_and_health_change_shows_in_the_next_scrape(db, token, telegram, instance):
    log_in(instance)
    session_save(instance=instance, actor=None)
    health_check(instance=instance)
    before = scrape()
    assert value(before, "teleconnect_instances", status="active") == 1
    assert value(before, "teleconnect_instance_health", session="prod-bot", result="healthy") == 1
    assert value(before, "teleconnect_instances_needing_attention") == 0

    telegram.terminate_session(instance.session_string)  # ended from another device: the next check finds it
    health_check(instance=instance)
    after = scrape()
    assert value(after, "teleconnect_instances", status="active") == 0
    assert value(after, "teleconnect_instances", status="revoked") == 1
    assert value(after, "teleconnect_instance_health", session="prod-bot", result="connector_gone") == 1
    assert (("result", "healthy"), ("session", "prod-bot")) not in after["teleconnect_instance_health"]
    assert value(after, "teleconnect_instances_needing_attention") == 1
    assert value(after, "teleconnect_health_checks_recent", result="connector_gone") == 1

    instance.refresh_from_db()
    instance_set_status(instance=instance, status=InstanceStatus.ERROR, actor=None, error="broken")
    assert value(scrape(), "teleconnect_instances", status="error") == 1


def test_no_session_string_phone_or_secret_appears_in_the_body(db, settings, token, telegram, instance):
    settings.ALERT_WEBHOOK_URLS = ["https://hooks.example/T000/webhook-secret-path"]
    log_in(instance)
    instance.refresh_from_db()
    instance.api_id, instance.api_hash = 12345, "0123456789abcdef0123456789abcdef"
    instance.save()
    AlertDelivery.objects.create(
        instance=instance,
        session=instance.session,
        event="connector_gone",
        channel="webhook",
        target="https://hooks.example/…",
        payload={"url": settings.ALERT_WEBHOOK_URLS[0]},
        next_attempt_at=timezone.now(),
    )
    body = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    assert "prod-bot" in body  # the instance is there, by its SESSION name only
    secrets = [instance.session_string, instance.dashboard_session, instance.phone, instance.api_hash, TOKEN]
    secrets += [instance.phone.lstrip("+"), "webhook-secret-path", "hooks.example", instance.telegram_name]
    for secret in filter(None, secrets):
        assert secret not in body
    assert instance.session_string[:20] not in body


def test_the_query_count_does_not_grow_with_the_number_of_instances(db, token, django_assert_max_num_queries):
    def fleet(count: int, start: int) -> None:
        for i in range(start, start + count):
            item = _instance(f"bot-{i:03d}", InstanceStatus.ACTIVE)
            InstanceHealth.objects.create(instance=item, state=Health.HEALTHY, checked_at=timezone.now())
            HealthCheck.objects.create(instance=item, started_at=timezone.now(), result=Health.HEALTHY)
            ArchiveRun.objects.create(instance=item, status=ArchiveStatus.DONE)

    fleet(3, 0)
    with django_assert_max_num_queries(6):
        small = scrape()
    fleet(60, 3)
    with django_assert_max_num_queries(6):
        big = scrape()
    assert len(small["teleconnect_instance_health"]) == 3 and len(big["teleconnect_instance_health"]) == 63


def test_the_setting_is_read_from_metrics_token_or_metrics_token_file(tmp_path):
    secret_file = tmp_path / "metrics-token"
    secret_file.write_text(f"{TOKEN}\n", encoding="utf-8")
    env = {name: val for name, val in os.environ.items() if not name.startswith("METRICS_TOKEN")}
    env.update(DJANGO_SETTINGS_MODULE="teleconnect.settings", TELECONNECT_VAR_DIR=str(tmp_path))
    show = "import django; django.setup(); from django.conf import settings; print(repr(settings.METRICS_TOKEN))"

    def started(**extra: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", show], cwd=REPO, env={**env, **extra}, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert started() == "''"
    assert started(METRICS_TOKEN_FILE=str(secret_file)) == repr(TOKEN)
