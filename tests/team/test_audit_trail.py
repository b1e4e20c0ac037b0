"""The audit trail pages: who sees what, filters, keyset pages, CSV export, sentences."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import AuditEvent, ConnectorInstance
from sessions_app.selectors import audit as selectors
from sessions_app.selectors.audit_sentences import audit_sentence
from sessions_app.services.audit import audit_record
from sessions_app.views.audit import csv_cell
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def elsewhere(db):
    return ConnectorInstance.objects.create(session="secret-bot", name="Not yours")


def body(response) -> str:
    return b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()


def test_it_shows_events_as_sentences(owner_client, instance, owner):
    audit_record(instance=instance, actor=owner, action="authorization.terminate", detail={"hash": "1"})
    page = body(owner_client.get(reverse("instance_audit", args=[instance.session])))
    assert "olivia terminated an active session on prod-bot" in page


def test_an_unknown_action_still_reads_as_a_sentence(instance, owner):
    event = audit_record(instance=instance, actor=owner, action="team.bulk_sync", outcome="failed")
    assert audit_sentence(event) == "olivia did team bulk sync on prod-bot (failed)"


def test_a_sentence_with_missing_detail_does_not_break(instance):
    event = audit_record(instance=instance, actor=None, action="member.role")
    assert audit_sentence(event) == "the system changed ? from ? to ? on prod-bot"


def test_the_global_trail_shows_only_instances_the_user_may_see(client, instance, elsewhere, viewer, owner):
    audit_record(instance=instance, actor=owner, action="session.save")
    audit_record(instance=elsewhere, actor=owner, action="session.revoke")
    page = body(client_for(viewer).get(reverse("audit_trail")))
    assert "saved the session of prod-bot" in page
    assert "secret-bot" not in page


def test_superusers_see_every_instance_on_the_global_trail(admin_user, instance, elsewhere, owner):
    audit_record(instance=elsewhere, actor=owner, action="session.revoke")
    assert "revoked the session of secret-bot" in body(client_for(admin_user).get(reverse("audit_trail")))


def test_a_user_sees_their_own_sign_ins_but_not_others(instance, viewer, owner):
    audit_record(instance=None, actor=owner, action="signin.failed", outcome="refused", detail={"username": "x"})
    audit_record(instance=None, actor=viewer, action="signin.ok")
    events = selectors.audit_events_visible(user=viewer)
    assert events.filter(action="signin.ok", actor_name="vera").exists()
    assert not events.filter(actor_name="olivia", instance_id__isnull=True).exists()


def test_an_outsider_gets_404_on_an_instance_trail(instance, outsider):
    assert client_for(outsider).get(reverse("instance_audit", args=[instance.session])).status_code == 404


def test_a_viewer_may_read_the_instance_trail(instance, viewer):
    assert client_for(viewer).get(reverse("instance_audit", args=[instance.session])).status_code == 200


def test_it_filters_by_who_action_outcome_and_dates(instance, owner, operator):
    audit_record(instance=instance, actor=owner, action="session.save")
    audit_record(instance=instance, actor=operator, action="session.verify", outcome="failed")
    events = selectors.audit_events_visible(user=owner, instance=instance)
    today = timezone.localdate()
    assert [e.action for e in selectors.audit_events_filtered(events, selectors.AuditFilters(who="OSCAR"))] == [
        "session.verify"
    ]
    assert selectors.audit_events_filtered(events, selectors.AuditFilters(outcome="failed")).count() == 1
    assert selectors.audit_events_filtered(events, selectors.AuditFilters(action="session.save")).count() == 1
    assert selectors.audit_events_filtered(events, selectors.AuditFilters(since=today, until=today)).count() == 2
    tomorrow = today + timedelta(days=1)
    assert not selectors.audit_events_filtered(events, selectors.AuditFilters(since=tomorrow)).exists()


def test_a_bad_date_is_shown_as_an_error_not_a_crash(owner_client, instance):
    response = owner_client.get(reverse("instance_audit", args=[instance.session]), {"since": "yesterday"})
    assert response.status_code == 200
    assert "Enter a valid date" in body(response)


def test_it_pages_by_id_without_gaps_or_repeats(owner_client, instance, owner):
    for n in range(7):
        audit_record(instance=instance, actor=owner, action=f"step.n{n}")
    events = selectors.audit_events_visible(user=owner, instance=instance)
    seen, before = [], None
    while True:
        page, before = selectors.audit_page(events, before=before, size=3)
        seen += [e.id for e in page]
        if before is None:
            break
    assert seen == sorted(events.values_list("id", flat=True), reverse=True)
    response = owner_client.get(reverse("instance_audit", args=[instance.session]), {"before": seen[2]})
    assert "step n" in body(response)


def test_the_csv_export_neutralises_formulas_and_is_audited(owner_client, instance, owner):
    audit_record(instance=instance, actor=owner, action="session.save", detail={"note": "x"})
    response = owner_client.get(reverse("instance_audit", args=[instance.session]), {"export": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body(response))))
    assert rows[0][0] == "time (UTC)"
    assert any("saved the session of prod-bot" in row[5] for row in rows[1:])
    assert AuditEvent.objects.filter(action="audit.export", session="prod-bot", actor_name="olivia").exists()


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_a_cell_that_could_be_a_formula_is_prefixed(value):
    assert csv_cell(value) == "'" + value


def test_an_ordinary_cell_is_left_alone():
    assert csv_cell("olivia") == "olivia"


def test_signing_out_is_recorded(instance, viewer):
    client_for(viewer).post(reverse("logout"))
    assert AuditEvent.objects.filter(action="signout", actor_name="vera").exists()


def test_the_instance_page_shows_activity_as_sentences_and_links_the_trail(owner_client, instance, owner):
    audit_record(instance=instance, actor=owner, action="session.verify", outcome="failed")
    page = body(owner_client.get(reverse("instance_detail", args=[instance.session])))
    assert "olivia verified the stored session of prod-bot (failed)" in page
    assert reverse("instance_audit", args=[instance.session]) in page
    assert reverse("instance_members", args=[instance.session]) in page


def test_the_instance_page_links_members_only_for_owners(instance, operator):
    page = body(client_for(operator).get(reverse("instance_detail", args=[instance.session])))
    assert reverse("instance_members", args=[instance.session]) not in page


def test_an_action_refused_for_a_role_too_low_is_recorded_with_who_tried_what(viewer, instance):
    response = client_for(viewer).post(reverse("session_revoke", args=[instance.session]))

    assert response.status_code == 403
    event = AuditEvent.objects.get(action="access.refused")
    assert (event.actor_id, event.instance_id, event.outcome) == (viewer.pk, instance.pk, "refused")
    assert audit_sentence(event) == (
        f"{viewer.username} was refused session revoke on {instance.session}: "
        "it needs the owner role, they are viewer (refused)"
    )


def test_a_page_refused_for_a_role_too_low_is_not_recorded(viewer, instance):
    response = client_for(viewer).get(reverse("instance_members", args=[instance.session]))

    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="access.refused").exists()


def test_an_outsider_posting_to_an_instance_leaves_no_trace_of_it(outsider, instance):
    response = client_for(outsider).post(reverse("session_revoke", args=[instance.session]))

    assert response.status_code == 404  # existence is not revealed, and nothing names the instance
    assert not AuditEvent.objects.filter(action="access.refused").exists()
