from __future__ import annotations

import logging

from sessions_app.logging import REDACTED, RedactSecretsFilter
from sessions_app.models import AuditEvent, ConnectorInstance
from tests.conftest import client_for, demo_session, log_in


def _logged_in_instance(instance) -> ConnectorInstance:
    instance.phone = "+9996621001"
    instance.api_id, instance.api_hash = 12345, "0123456789abcdef0123456789abcdef"
    return log_in(instance)


def test_admin_shows_the_instance_without_any_secret(telegram, instance, admin_user):
    instance = _logged_in_instance(instance)
    client = client_for(admin_user)
    pages = [
        client.get("/admin/sessions_app/connectorinstance/"),
        client.get(f"/admin/sessions_app/connectorinstance/{instance.pk}/change/"),
        client.get("/admin/sessions_app/auditevent/"),
    ]
    for page in pages:
        assert page.status_code == 200
        body = page.content.decode()
        assert instance.session_string not in body
        assert instance.api_hash not in body
        assert "9996621001" not in body
    assert "+999*****01" in pages[1].content.decode()


def test_admin_actions_save_verify_and_revoke(telegram, instance, admin_user, settings):
    from pathlib import Path

    instance = _logged_in_instance(instance)
    instance.api_id, instance.api_hash = None, ""
    instance.save()
    client = client_for(admin_user)
    url = "/admin/sessions_app/connectorinstance/"
    for action in ("save_sessions", "verify_sessions"):
        response = client.post(url, {"action": action, "_selected_action": [instance.pk]}, follow=True)
        assert "failed" not in response.content.decode()
    path = Path(settings.SESSION_STORE_DIR, "telegram", instance.session, "session.txt")
    string = instance.session_string
    assert path.read_text() == string
    client.post(url, {"action": "revoke_sessions", "_selected_action": [instance.pk]})
    instance.refresh_from_db()
    assert instance.status == "revoked" and path.read_bytes() == b"" and not telegram.is_authorized(string)
    assert {"session.save", "session.verify", "session.revoke"} <= set(
        AuditEvent.objects.values_list("action", flat=True)
    )


def test_log_lines_never_carry_a_session_string(telegram, db, caplog):
    string = demo_session()
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "loaded session %s for %s", (string, "prod-bot"), None)
    RedactSecretsFilter().filter(record)
    assert string not in record.getMessage() and REDACTED in record.getMessage() and "prod-bot" in record.getMessage()
    token = "gAAAAABk" + "x" * 60
    record = logging.LogRecord("x", logging.INFO, __file__, 1, f"token {token}", None, None)
    RedactSecretsFilter().filter(record)
    assert token not in record.getMessage()


def test_the_repr_of_an_instance_holds_no_secret(telegram, instance):
    instance = _logged_in_instance(instance)
    assert instance.session_string not in repr(instance) and instance.session_string not in str(instance)
