"""Active sessions, Terminate, archive runs and search, the audit trail and alerts through the API."""

from __future__ import annotations

import re

from django.utils import timezone

from sessions_app.models import AuditEvent, Message
from sessions_app.models_health import AlertDelivery
from sessions_app.services.archive_runs import archive_run_foreground
from sessions_app.services.health.check import health_check
from sessions_app.services.sessions import session_save
from tests.conftest import ADA, log_in


def test_a_viewer_lists_the_accounts_sessions_with_exact_hashes(telegram, viewer_api, instance):
    log_in(instance)
    instance.refresh_from_db()
    response = viewer_api.call("GET", "instances/prod-bot/authorizations/")
    assert response.status_code == 200, response.content
    hashes = {item["hash"] for item in response.json()["items"]}
    assert str(instance.connector_authorization_hash) in hashes
    assert [item["current"] for item in response.json()["items"]].count(True) == 1  # the dashboard's own key
    assert response.json()["can_terminate_now"] is False  # Telegram's 24-hour rule on a fresh key


def test_the_list_carries_the_watchs_marks_as_the_page_shows_them(
    telegram, operator, operator_client, viewer_api, instance
):
    log_in(instance)
    session_save(instance=instance, actor=None)
    instance.refresh_from_db()
    telegram.foreign_login(ADA, device_model="Old laptop")
    health_check(instance=instance)  # the baseline
    newcomer = telegram.foreign_login(ADA, device_model="iPhone 15 Pro")
    marked = telegram.foreign_login(ADA, device_model="Pixel 8")
    assert operator_client.post(f"/instances/prod-bot/authorizations/{marked}/known/").status_code == 302
    items = {
        item["hash"]: item for item in viewer_api.call("GET", "instances/prod-bot/authorizations/").json()["items"]
    }
    by_device = {item["device_model"]: item for item in items.values()}
    assert by_device["Old laptop"]["watched"] == "baseline" and by_device["Old laptop"]["first_seen_at"]
    assert items[str(newcomer)]["watched"] == "new" and items[str(newcomer)]["known_by"] == ""
    assert items[str(marked)]["watched"] == "known" and items[str(marked)]["known_by"] == operator.username
    assert items[str(marked)]["known_at"]
    own = [item for item in items.values() if item["whose"] in ("connector", "dashboard")]
    assert len(own) == 2 and all(item["watched"] is None for item in own)


def test_an_owner_terminates_a_device_once_telegram_allows_it(telegram, clock, owner, owner_api, instance):
    log_in(instance)
    instance.refresh_from_db()
    listed = owner_api.call("GET", "instances/prod-bot/authorizations/").json()["items"]
    device = next(
        i["hash"] for i in listed if not i["current"] and i["hash"] != str(instance.connector_authorization_hash)
    )
    too_soon = owner_api.call("POST", f"instances/prod-bot/authorizations/{device}/terminate/")
    assert too_soon.status_code in (409, 429), too_soon.content
    assert too_soon.json()["error"]
    clock.advance(25 * 3600)
    done = owner_api.call("POST", f"instances/prod-bot/authorizations/{device}/terminate/")
    assert done.status_code == 200, done.content
    after = owner_api.call("GET", "instances/prod-bot/authorizations/").json()["items"]
    assert device not in {i["hash"] for i in after}
    event = AuditEvent.objects.filter(action="api.write", outcome="ok").get()
    assert event.detail["token"] == "deploy" and event.actor == owner


def test_terminate_refuses_what_is_not_a_session_id(telegram, owner_api, instance):
    response = owner_api.call("POST", "instances/prod-bot/authorizations/not-a-number/terminate/")
    assert (response.status_code, response.json()["field"]) == (400, "hash")


def test_an_operator_queues_an_archive_run_and_reads_it(telegram, operator_api, viewer_api, instance):
    log_in(instance)
    started = operator_api.call("POST", "instances/prod-bot/archive/runs/", {"refresh_edits_days": 2})
    assert started.status_code == 202, started.content
    run = started.json()
    assert run["status"] == "queued" and run["session"] == "prod-bot"
    again = operator_api.call("POST", "instances/prod-bot/archive/runs/")
    assert again.status_code == 409  # one active run per instance
    read = viewer_api.call("GET", f"instances/prod-bot/archive/runs/{run['id']}/")
    assert read.status_code == 200 and read.json()["id"] == run["id"]
    assert viewer_api.call("GET", "instances/prod-bot/archive/runs/999999/").status_code == 404


def test_a_bad_archive_option_is_a_400_on_its_field(telegram, operator_api, instance):
    response = operator_api.call("POST", "instances/prod-bot/archive/runs/", {"refresh_edits_days": 400})
    assert (response.status_code, response.json()["field"]) == (400, "refresh_edits_days")


def test_a_viewer_searches_the_archive_and_only_the_search_is_audited(telegram, viewer, viewer_api, instance):
    log_in(instance)
    archive_run_foreground(instance=instance)
    text = Message.objects.filter(instance=instance).exclude(text="").values_list("text", flat=True).first()
    word = next(w for w in re.findall(r"[A-Za-z]{4,}", text))
    response = viewer_api.call("GET", "instances/prod-bot/archive/search/", q=word)
    assert response.status_code == 200, response.content
    items = response.json()["items"]
    assert items and all(word.lower() in (i["text"] + i["sender_name"]).lower() for i in items)
    event = AuditEvent.objects.get(action="archive.search", actor=viewer)
    assert word not in str(event.detail)


def test_a_search_without_words_is_a_400(telegram, viewer_api, instance):
    response = viewer_api.call("GET", "instances/prod-bot/archive/search/", q=" ")
    assert (response.status_code, response.json()["field"]) == (400, "q")


def test_the_audit_shows_what_the_user_may_see_as_sentences(telegram, owner_api, outsider_api, instance):
    owner_api.call("PATCH", "instances/prod-bot/", {"name": "Renamed"})
    mine = owner_api.call("GET", "audit/", action="api.write")
    assert mine.status_code == 200
    assert [e["sentence"] for e in mine.json()["items"]] == [
        "olivia used the API token “deploy” to rename the instance prod-bot"
    ]
    assert outsider_api.call("GET", "audit/", action="api.write").json()["items"] == []
    assert owner_api.call("GET", "audit/", since="not-a-day").status_code == 400


def test_alerts_show_the_deliveries_of_visible_instances_only(telegram, viewer_api, outsider_api, instance):
    AlertDelivery.objects.create(
        instance=instance,
        session="prod-bot",
        event="connector_gone",
        channel="webhook",
        target="https://hooks.example.invalid/x",
        next_attempt_at=timezone.now(),
    )
    seen = viewer_api.call("GET", "alerts/")
    assert seen.status_code == 200
    assert [(a["session"], a["event"]) for a in seen.json()["items"]] == [("prod-bot", "connector_gone")]
    assert outsider_api.call("GET", "alerts/").json()["count"] == 0
