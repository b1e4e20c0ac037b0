"""The instance list: search (?q=), status and health filter (?status=), sort, pages that keep them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions_app.models import ConnectorInstance, Membership, Role
from sessions_app.models_health import Health, InstanceHealth
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def make(session: str, name: str = "", *, members=(), status: str = "new", **fields) -> ConnectorInstance:
    instance = ConnectorInstance.objects.create(session=session, name=name or session.title(), status=status, **fields)
    for user, role in members:
        Membership.objects.create(user=user, instance=instance, role=role)
    return instance


def checked(instance: ConnectorInstance, state: str, minutes_ago: float | None) -> None:
    at = timezone.now() - timedelta(minutes=minutes_ago) if minutes_ago is not None else None
    InstanceHealth.objects.create(instance=instance, state=state, checked_at=at)


def sessions_on(response) -> list[str]:
    """The SESSIONs of the rows, in order (each row links to its instance)."""
    return re.findall(r'<a href="/instances/([^/"]+)/"><code>', response.content.decode())


@pytest.fixture
def team(owner, viewer, outsider):
    members = [(owner, Role.OWNER), (viewer, Role.VIEWER)]
    return {
        "sales": make("sales-bot", "Sales team", members=members, status="active", telegram_name="Ada Demo",
                      telegram_username="ada_sales", phone="+9996621001"),
        "news": make("news-feed", "Morning NEWS", members=members, status="revoked"),
        "ops": make("ops", "operations", members=members, status="unsaved", telegram_username="opsy"),
        "hidden": make("sales-hidden", "Sales secret", members=[(outsider, Role.OWNER)]),
    }  # fmt: skip


def test_it_searches_the_session_the_name_and_the_account_ignoring_case(team, owner_client):
    assert sessions_on(owner_client.get("/?q=SALES")) == ["sales-bot"]
    assert sessions_on(owner_client.get("/?q=morning news")) == ["news-feed"]
    assert sessions_on(owner_client.get("/?q=ada demo")) == ["sales-bot"]
    assert sessions_on(owner_client.get("/?q=@OPSY")) == ["ops"]
    assert sessions_on(owner_client.get("/?q=  ops  ")) == ["ops"]


def test_it_never_searches_the_encrypted_phone(team, owner_client):
    assert sessions_on(owner_client.get("/?q=6621001")) == []


def test_a_search_shows_only_instances_the_user_may_see(team, viewer, outsider):
    assert sessions_on(client_for(viewer).get("/?q=sales")) == ["sales-bot"]
    assert sessions_on(client_for(outsider).get("/?q=sales")) == ["sales-hidden"]


def test_a_search_that_finds_nothing_says_so(team, owner_client):
    page = owner_client.get("/?q=zeppelin").content.decode()
    assert "No instance matches “zeppelin”" in page and "Show all" in page


def test_a_search_treats_like_wildcards_as_text(team, owner_client):
    assert sessions_on(owner_client.get("/?q=%25")) == []
    assert sessions_on(owner_client.get("/?q=s_b")) == []  # "sales-bot" would match the wildcard
    assert sessions_on(owner_client.get("/?q=a_s")) == ["sales-bot"]  # @ada_sales holds it literally


def test_it_filters_by_instance_status(team, owner_client):
    assert sessions_on(owner_client.get("/?status=revoked")) == ["news-feed"]
    assert sessions_on(owner_client.get("/?status=unsaved")) == ["ops"]


def test_it_filters_by_health(team, owner_client):
    checked(team["sales"], Health.HEALTHY, 5)
    checked(team["news"], Health.CONNECTOR_GONE, 1)
    assert sessions_on(owner_client.get("/?status=healthy")) == ["sales-bot"]
    assert sessions_on(owner_client.get("/?status=attention")) == ["news-feed"]
    assert sessions_on(owner_client.get("/?status=connector_gone")) == ["news-feed"]
    assert sessions_on(owner_client.get("/?status=unknown")) == ["ops"]  # never checked


def test_the_old_attention_link_still_filters(team, owner_client):
    checked(team["news"], Health.UNREACHABLE, 1)
    response = owner_client.get("/?attention=1")
    assert sessions_on(response) == ["news-feed"]
    assert "<strong>Needs attention (1)</strong>" in response.content.decode()


def test_search_and_filter_combine(team, owner_client):
    assert sessions_on(owner_client.get("/?q=sales&status=revoked")) == []
    assert sessions_on(owner_client.get("/?q=news&status=revoked")) == ["news-feed"]


def test_an_unknown_filter_or_sort_is_reported_and_ignored(team, owner_client):
    response = owner_client.get("/?status=nonsense&sort=bogus")
    assert response.status_code == 400
    page = response.content.decode()
    assert "Select a valid choice" in page
    assert sessions_on(response) == ["news-feed", "ops", "sales-bot"]


def test_it_sorts_by_name_either_way_ignoring_case(team, owner_client):
    assert sessions_on(owner_client.get("/?sort=name")) == ["news-feed", "ops", "sales-bot"]
    assert sessions_on(owner_client.get("/?sort=-name")) == ["sales-bot", "ops", "news-feed"]


def test_it_sorts_by_status_in_the_status_order(team, owner_client):
    # new, code sent, password needed, active, unsaved, expired, revoked, error
    assert sessions_on(owner_client.get("/?sort=status")) == ["sales-bot", "ops", "news-feed"]
    assert sessions_on(owner_client.get("/?sort=-status")) == ["news-feed", "ops", "sales-bot"]


def test_it_sorts_by_last_check_with_never_checked_last_both_ways(team, owner_client):
    checked(team["sales"], Health.HEALTHY, 30)
    checked(team["news"], Health.HEALTHY, 1)
    checked(team["ops"], Health.UNKNOWN, None)  # a row, but no check ran yet
    assert sessions_on(owner_client.get("/?sort=checked")) == ["sales-bot", "news-feed", "ops"]
    assert sessions_on(owner_client.get("/?sort=-checked")) == ["news-feed", "sales-bot", "ops"]


def test_the_column_headers_sort_and_flip_keeping_the_search(team, owner_client):
    page = owner_client.get("/?q=s&sort=name").content.decode()
    assert 'href="?q=s&amp;sort=-name"' in page
    assert 'href="?q=s&amp;sort=status"' in page


def test_pages_keep_the_search_filter_and_sort(admin_user):
    ConnectorInstance.objects.bulk_create(
        [ConnectorInstance(session=f"bot-{i:03d}", name=f"Bot {i:03d}", status="active") for i in range(130)]
        + [ConnectorInstance(session="other", name="Other", status="active")]
    )
    client = client_for(admin_user)
    first = client.get("/?q=bot&status=active&sort=-name")
    page = first.content.decode()
    assert sessions_on(first)[0] == "bot-129" and "Page 1 of 3" in page and "130 instances match" in page
    assert 'href="?q=bot&amp;status=active&amp;sort=-name&amp;page=2"' in page
    last = client.get("/?q=bot&status=active&sort=-name&page=3")
    assert sessions_on(last)[-1] == "bot-000" and "other" not in sessions_on(last)
    assert 'href="?q=bot&amp;status=active&amp;sort=-name&amp;page=2"' in last.content.decode()  # previous


def test_each_row_has_a_box_for_the_bulk_form(team, owner_client):
    page = owner_client.get("/").content.decode()
    assert 'id="bulk" method="post" action="/instances/bulk/"' in page
    assert 'type="checkbox" name="session" value="sales-bot" form="bulk"' in page


def _list_queries(client, url: str = "/?q=bot&sort=-checked") -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_the_list_costs_the_same_few_queries_for_3_or_100_instances(owner, django_assert_num_queries):
    client = client_for(owner)
    for i in range(3):
        instance = make(f"bot-{i:03d}", members=[(owner, Role.OWNER)], status="active")
        checked(instance, Health.HEALTHY, i)
    few = _list_queries(client)
    for i in range(3, 100):
        instance = make(f"bot-{i:03d}", members=[(owner, Role.OWNER)], status="active")
        checked(instance, Health.HEALTHY, i)
    with django_assert_num_queries(few):
        client.get("/?q=bot&sort=-checked")
    assert few <= 12
