"""The instance list on a big fleet: the folded search column, id paging, the rows' printed values, PostgreSQL's plans."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from sessions_app.models import ConnectorInstance, Membership, Role
from sessions_app.models_health import Health, InstanceHealth
from sessions_app.selectors.health import attention_count
from sessions_app.selectors.instances import (
    InstancePaginator,
    instances_matching,
    instances_sorted,
    instances_visible_to,
    list_rows,
)
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's indexes and plans")


def sessions_on(response) -> list[str]:
    return re.findall(r'<a href="/instances/([^/"]+)/"><code>', response.content.decode())


def test_the_search_text_follows_every_write_of_its_columns(owner_client, owner):
    instance = ConnectorInstance.objects.create(session="alpha", name="First")
    Membership.objects.create(user=owner, instance=instance, role=Role.OWNER)
    assert sessions_on(owner_client.get("/?q=first")) == ["alpha"]
    # an update() that never calls save(): the database computes the column itself
    ConnectorInstance.objects.filter(pk=instance.pk).update(name="Renamed", telegram_username="Newbot")
    assert sessions_on(owner_client.get("/?q=first")) == []
    assert sessions_on(owner_client.get("/?q=RENAMED")) == ["alpha"]
    assert sessions_on(owner_client.get("/?q=@newb")) == ["alpha"]


def test_an_at_sign_finds_usernames_by_their_start_and_never_spans_two_fields(owner_client, owner):
    for session, name, username in (("one", "Ops desk", "opsbot"), ("two", "Dev", "devops")):
        instance = ConnectorInstance.objects.create(session=session, name=name, telegram_username=username)
        Membership.objects.create(user=owner, instance=instance, role=Role.OWNER)
    assert sessions_on(owner_client.get("/?q=@ops")) == ["one"]
    assert sessions_on(owner_client.get("/?q=ops")) == ["one", "two"]
    assert sessions_on(owner_client.get("/?q=desk@")) == []  # the end of a name and the username's "@"
    assert sessions_on(owner_client.get("/?q=one%1Fops")) == []  # a separator typed in is dropped, never matched


def test_pages_of_ids_show_each_instance_once_in_every_sort(admin_user):
    now = timezone.now()
    for i in range(23):
        instance = ConnectorInstance.objects.create(session=f"conn-{i:02d}", name=f"Name {(i * 7) % 23:02d}")
        if i % 3:  # some never checked, the rest checked at scattered times
            InstanceHealth.objects.create(
                instance=instance, state=Health.HEALTHY, checked_at=now - timedelta(minutes=i % 5)
            )
    visible = instances_visible_to(admin_user)
    for sort in ("", "name", "-name", "status", "checked", "-checked"):
        ordered = list(instances_sorted(visible, sort).values_list("session", flat=True))
        paginator = InstancePaginator(instances_sorted(visible, sort), 5, sort=sort)
        paged = [row["session"] for number in paginator.page_range for row in paginator.page(number).object_list]
        assert paged == ordered, sort
        assert len(set(paged)) == 23


def test_a_row_prints_what_the_template_filters_printed():
    now = timezone.now()
    instance = ConnectorInstance.objects.create(
        session="alpha", name="<b>Alpha</b>", status="active", phone="+9996621001", telegram_username="ada"
    )
    InstanceHealth.objects.create(
        instance=instance, state=Health.CONNECTOR_GONE, reason="gone", checked_at=now - timedelta(minutes=3),
        failing_since=now - timedelta(minutes=10),
    )  # fmt: skip
    ConnectorInstance.objects.filter(pk=instance.pk).update(connector_active_at=None)
    page = InstancePaginator(ConnectorInstance.objects.order_by("session"), 50, sort="").page(1)
    [row] = page.object_list
    local = timezone.localtime(now - timedelta(minutes=10))
    assert row["url"] == "/instances/alpha/"
    assert row["status_label"] == "active" and row["health_label"] == "connector session gone"
    assert row["checked"] == "3\xa0minutes ago" and row["connector_active"] == "—"
    assert row["failing_since"] == f"{local:%H:%M}"
    assert row["phone_masked"] == "+999*****01"
    assert row["updated"] == f"{timezone.localtime(ConnectorInstance.objects.get().updated_at):%Y-%m-%d %H:%M}"
    unreachable = list_rows([_with_health(instance, Health.UNREACHABLE, now)], now=now)[0]
    assert unreachable["failing_since"] == ""  # an unreachable badge says so itself


def _with_health(instance: ConnectorInstance, state: str, now) -> ConnectorInstance:
    instance.health_state, instance.health_reason = state, ""
    instance.health_failing_since, instance.health_checked_at = now, now
    return instance


def test_the_page_escapes_what_a_row_holds(owner, owner_client):
    instance = ConnectorInstance.objects.create(session="alpha", name="<script>x</script>")
    Membership.objects.create(user=owner, instance=instance, role=Role.OWNER)
    page = owner_client.get("/").content.decode()
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page


def test_the_masked_number_follows_the_stored_number(owner, owner_client):
    instance = ConnectorInstance.objects.create(session="alpha", name="Alpha", phone="+9996621001")
    Membership.objects.create(user=owner, instance=instance, role=Role.OWNER)
    page = owner_client.get("/").content.decode()
    assert "+999*****01" in page and "9996621001" not in page
    instance.phone = "+9996631077"
    instance.save(update_fields=["phone"])
    page = owner_client.get("/").content.decode()
    assert "+999*****77" in page and "+999*****01" not in page
    ConnectorInstance.objects.filter(pk=instance.pk).update(phone="")
    assert "+999*****" not in owner_client.get("/").content.decode()


def test_the_attention_count_is_the_visible_instances_with_a_problem(owner, outsider, admin_user):
    for session, state, member in (
        ("a", Health.CONNECTOR_GONE, owner),
        ("b", Health.HEALTHY, owner),
        ("c", Health.UNREACHABLE, outsider),
        ("d", Health.ACCOUNT_BANNED, owner),
    ):
        instance = ConnectorInstance.objects.create(session=session, name=session)
        Membership.objects.create(user=member, instance=instance, role=Role.VIEWER)
        InstanceHealth.objects.create(instance=instance, state=state)
    assert attention_count(owner) == 2
    assert attention_count(outsider) == 1
    assert attention_count(admin_user) == 3
    assert "3" in client_for(admin_user).get("/").content.decode()


@on_postgresql
def test_postgresql_pages_and_searches_the_list_by_its_indexes(admin_user):
    """The queries have the shape the indexes of migrations 0022 and 0024 serve (with sequential scans off, so
    that the plan shows whether an index can answer, whatever this small table's statistics say)."""
    ConnectorInstance.objects.bulk_create(
        ConnectorInstance(session=f"conn-{i:05d}", name=f"Team {i % 97}") for i in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sessions_app_connectorinstance")
    visible = instances_visible_to(admin_user)

    def plan(queryset) -> str:
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            return "\n".join(row[0] for row in cursor.fetchall())

    deep = plan(instances_sorted(visible, "").values_list("pk", flat=True)[2950:3000])
    assert "Sort" not in deep and "Index" in deep
    by_name = plan(instances_sorted(visible, "-name").values_list("pk", flat=True)[1500:1550])
    assert "sessions_app_instance_list_by_name" in by_name and "->  Sort" not in by_name  # an incremental sort at most
    assert "sessions_app_instance_list_search" in plan(instances_matching(visible, "team 42").order_by())  # the count
    with connection.cursor() as cursor:
        # Migration 0024: the search text too, so a common text is tested in the index, not in the rows.
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE 'sessions_app_instance_list_by_%'"
        )
        definitions = dict(cursor.fetchall())
    assert definitions["sessions_app_instance_list_by_session"].endswith("INCLUDE (id, list_search_text)")
    assert definitions["sessions_app_instance_list_by_name"].endswith("INCLUDE (name, id, list_search_text)")


@pytest.mark.parametrize("minutes", [0, 0.5, 1, 59, 60, 61, 119.9, 600, 1439.99, 1440, 1441, 60 * 24 * 45])
def test_the_reused_words_for_a_time_are_django_timesince_exactly(minutes):
    from django.utils.timesince import timesince

    from sessions_app.selectors.instances import _ago

    now = timezone.now()
    moment = now - timedelta(minutes=minutes)
    assert _ago(moment, now) == f"{timesince(moment, now)} ago"
    assert _ago(now + timedelta(minutes=5), now) == f"{timesince(now + timedelta(minutes=5), now)} ago"


@pytest.mark.parametrize(
    "params",
    [{}, {"status": "healthy"}, {"status": "active", "sort": "-name"}, {"sort": "checked"}, {"status": "bogus"},
     {"sort": "sideways"}, {"status": ""}],
)  # fmt: skip
def test_the_selects_are_what_the_form_renders(params):
    from sessions_app.forms_instances import InstanceListForm

    for _ in range(2):  # the second time from the cache
        form = InstanceListForm(params)
        form.is_valid()
        assert form.select("status") == str(form["status"])
        assert form.select("sort") == str(form["sort"])
