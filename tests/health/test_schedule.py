"""The schedule: each instance about once per interval, spread out, one check at a time, one schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from sessions_app.models import ConnectorInstance
from sessions_app.models_health import HealthCheck, HealthSchedule, InstanceHealth
from sessions_app.services.health.schedule import (
    SCHEDULE_LEASE_SECONDS,
    health_plan,
    health_run_due,
    schedule_hold,
)
from sessions_app.services.health.timing import next_slot, phase
from sessions_app.services.health.worker import STANDBY_SECONDS, HealthWorker

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_checks_are_spread_over_the_interval_not_bunched():
    interval = 300
    offsets = sorted(phase(f"bot-{n}", interval) for n in range(200))
    assert all(0 <= offset < interval for offset in offsets)
    per_minute = [sum(1 for o in offsets if minute * 60 <= o < (minute + 1) * 60) for minute in range(5)]
    assert all(25 <= count <= 55 for count in per_minute), per_minute  # about 40 in each minute of five


def test_each_instance_comes_round_once_per_interval(settings):
    for interval in (300, 7, 1):
        slot = next_slot("prod-bot", T0, interval)
        assert T0 < slot <= T0 + timedelta(seconds=interval)
        assert next_slot("prod-bot", slot, interval) == slot + timedelta(seconds=interval)


def test_a_new_instance_is_due_within_one_interval(db, settings):
    settings.HEALTH_CHECK_INTERVAL_SECONDS = 5
    instance = ConnectorInstance.objects.create(session="fresh", name="Fresh")
    now = timezone.now()
    assert health_plan(now=now) == 1
    due = InstanceHealth.objects.get(instance=instance).next_check_at
    assert now < due <= now + timedelta(seconds=5)
    assert health_plan(now=now) == 0


def test_a_shortened_interval_moves_far_away_checks_in(db, settings):
    instance = ConnectorInstance.objects.create(session="far", name="Far")
    now = timezone.now()
    InstanceHealth.objects.create(instance=instance, next_check_at=now + timedelta(seconds=290))
    settings.HEALTH_CHECK_INTERVAL_SECONDS = 10
    health_plan(now=now)
    assert InstanceHealth.objects.get(instance=instance).next_check_at <= now + timedelta(seconds=10)


def test_it_checks_what_is_due_most_overdue_first_and_nothing_else(telegram, db, settings):
    now = timezone.now()
    for name, late in (("late", 30), ("later", 90), ("not-yet", -30)):
        instance = ConnectorInstance.objects.create(session=name, name=name)
        InstanceHealth.objects.create(instance=instance, next_check_at=now - timedelta(seconds=late))
    assert health_run_due(now=now) == 2
    checked = list(HealthCheck.objects.order_by("id").values_list("instance__session", flat=True))
    assert checked == ["later", "late"]
    for health in InstanceHealth.objects.filter(instance__session__in=["late", "later"]):
        assert health.next_check_at > now


def test_an_instance_being_checked_elsewhere_is_left_alone(telegram, db):
    now = timezone.now()
    instance = ConnectorInstance.objects.create(session="busy", name="Busy")
    InstanceHealth.objects.create(
        instance=instance, next_check_at=now - timedelta(seconds=1), claimed_until=now + timedelta(seconds=30)
    )
    assert health_run_due(now=now) == 0


def test_of_three_workers_one_runs_the_schedule(telegram, db):
    ConnectorInstance.objects.create(session="prod-bot", name="Prod")
    workers = [HealthWorker(holder=f"worker-{n}") for n in range(3)]
    waits = [worker.schedule_step() for worker in workers]
    assert waits[0] < STANDBY_SECONDS and waits[1:] == [STANDBY_SECONDS, STANDBY_SECONDS]
    assert HealthSchedule.objects.get().holder == "worker-0"
    InstanceHealth.objects.update(next_check_at=timezone.now() - timedelta(seconds=1))
    for worker in workers:
        worker.schedule_step()
    assert HealthCheck.objects.count() == 1


def test_a_worker_restarted_three_times_leaves_exactly_one_schedule(telegram, db):
    ConnectorInstance.objects.create(session="prod-bot", name="Prod")
    now = timezone.now()
    # Restart 1 and 2: stopped cleanly, the next worker takes over at once.
    for n in range(3):
        worker = HealthWorker(holder=f"run-{n}")
        assert schedule_hold(holder=worker.holder, now=now)
        worker.stop()
    # Restart 3: killed (no release): the new worker waits until the old hold expires.
    assert schedule_hold(holder="killed", now=now)
    assert not schedule_hold(holder="run-3", now=now + timedelta(seconds=SCHEDULE_LEASE_SECONDS - 1))
    assert schedule_hold(holder="run-3", now=now + timedelta(seconds=SCHEDULE_LEASE_SECONDS + 1))
    assert list(HealthSchedule.objects.values_list("holder", flat=True)) == ["run-3"]
    assert not schedule_hold(holder="killed", now=now + timedelta(seconds=SCHEDULE_LEASE_SECONDS + 2))


def test_the_holder_keeps_the_schedule_by_renewing_it(db):
    now = timezone.now()
    assert schedule_hold(holder="a", now=now)
    for step in range(1, 5):
        later = now + timedelta(seconds=step * (SCHEDULE_LEASE_SECONDS - 10))
        assert schedule_hold(holder="a", now=later)
        assert not schedule_hold(holder="b", now=later)
    row = HealthSchedule.objects.get()
    assert row.started_at == now  # renewing keeps when it was taken
