"""The audit is append-only in the database and tamper-evident: on whichever database the suite runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from sessions_app import audit_triggers
from sessions_app.admin import AuditEventAdmin
from sessions_app.models import AuditEvent, ConnectorInstance
from sessions_app.services.audit import audit_record

pytestmark = pytest.mark.django_db


@contextmanager
def triggers_lifted() -> Iterator[None]:
    """Only a test tampers: lift the triggers the way someone with database access could."""
    audit_triggers.drop(connection)
    try:
        yield
    finally:
        audit_triggers.install(connection)


def three_events(instance: ConnectorInstance, actor) -> list[AuditEvent]:
    return [audit_record(instance=instance, actor=actor, action=action) for action in ("session.save", "x.y", "z.w")]


def verify() -> str:
    from io import StringIO

    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def test_the_database_refuses_to_update_an_audit_event(instance, owner):
    event = audit_record(instance=instance, actor=owner, action="session.save")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(outcome="refused")
    event.refresh_from_db()
    assert event.outcome == "ok"


def test_the_database_refuses_to_delete_an_audit_event(instance, owner):
    event = audit_record(instance=instance, actor=owner, action="session.save")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_deleting_an_instance_keeps_its_audit_events(instance, owner):
    event = audit_record(instance=instance, actor=owner, action="session.save")
    instance.delete()
    kept = AuditEvent.objects.get(pk=event.pk)
    assert kept.session == "prod-bot"
    assert "chain intact" in verify()


def test_deleting_a_user_keeps_their_name_on_their_audit_events(instance, outsider):
    event = audit_record(instance=instance, actor=outsider, action="session.save")
    outsider.delete()
    assert AuditEvent.objects.get(pk=event.pk).actor_name == "mallory"
    assert not get_user_model().objects.filter(username="mallory").exists()


def test_each_event_is_chained_to_the_previous_one(instance, owner):
    first, second, third = three_events(instance, owner)
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert len({first.hash, second.hash, third.hash}) == 3


def test_verify_audit_reports_an_intact_chain(instance, owner):
    three_events(instance, owner)
    assert verify().strip() == f"{AuditEvent.objects.count()} events, chain intact"


def test_verify_audit_reports_the_first_changed_event(instance, owner):
    _, second, third = three_events(instance, owner)
    with triggers_lifted():
        AuditEvent.objects.filter(pk__in=[second.pk, third.pk]).update(outcome="refused")
    with pytest.raises(CommandError, match=f"broken at event {second.pk}.*changed") as failure:
        verify()
    assert failure.value.returncode == 1


def test_verify_audit_reports_a_removed_event(instance, owner):
    _, second, third = three_events(instance, owner)
    with triggers_lifted():
        AuditEvent.objects.filter(pk=second.pk).delete()
    with pytest.raises(CommandError, match=f"broken at event {third.pk}.*removed"):
        verify()


def test_the_admin_offers_no_change_or_delete_even_to_superusers(admin_user, rf):
    from django.contrib import admin

    request = rf.get("/")
    request.user = admin_user
    model_admin = AuditEventAdmin(AuditEvent, admin.site)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert not model_admin.has_add_permission(request)


# SQLite's IMMEDIATE transactions serialize writers by design; its shared-cache test database cannot show it.
@pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrency needs a server database")
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_unbroken_chain():  # pragma: no cover - pg only
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    def write(n: int) -> None:
        try:
            for i in range(8):
                audit_record(instance=None, actor=None, action=f"load.w{n}", detail={"i": i})
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, range(4)))
    assert AuditEvent.objects.filter(action__startswith="load.").count() == 32
    assert AuditEvent.objects.values("prev_hash").distinct().count() == AuditEvent.objects.count()
    assert verify().endswith("chain intact\n")


def test_the_admin_lists_an_event_whose_user_and_instance_were_deleted(admin_user, instance, outsider):
    from tests.conftest import client_for

    event = audit_record(instance=instance, actor=outsider, action="session.save")
    outsider.delete()
    instance.delete()
    client = client_for(admin_user)
    listing = client.get("/admin/sessions_app/auditevent/")
    assert listing.status_code == 200
    assert "mallory" in listing.content.decode()
    assert client.get(f"/admin/sessions_app/auditevent/{event.pk}/change/").status_code == 200
