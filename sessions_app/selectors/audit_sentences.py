"""Audit events as sentences: "admin terminated an active session on alpha".

A sentence names states, outcomes and steps in words ("from healthy to connector session gone",
"(password needed)"), never the codes stored in the event; the pages' filter menus and Outcome
columns say the same words (ACTION_WORDS, OUTCOME_WORDS, through the filters in templatetags/audit.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from sessions_app.models import AuditEvent, InstanceStatus
from sessions_app.models_health import Health
from sessions_app.services.health.events import event_words

# {where} is the instance's SESSION; each phrase follows the actor's name.
_PHRASES: dict[str, str] = {
    "instance.create": "created the instance {where}",
    "access.refused": "was refused {view} on {where}: it needs the {needed} role, they are {role}",
    "instance.status": "saw {where} change status from “{from}” to “{to}”",
    "instance.rename": "renamed {where} from '{from}' to '{to}'",
    "instance.delete": "deleted {where}{object_note}",
    "fleet.discover": "took {created} of {selected} discovered session objects in as instances",
    "fleet.import": "bulk-imported {imported} of {rows} rows from a {kind} in {seconds} s",
    "fleet.import_row": "could not bulk-import {row}: {why}",
    "dashboard_key.retire": "logged out the dashboard's own authorization of {where}",
    "connector_key.retire": "logged out a replaced connector key of {where}",
    "login.send_code": "asked Telegram for a login code on {where}",
    "login.resend_code": "asked for the login code again on {where}",
    "login.code": "entered the login code on {where}",
    "login.password": "entered the two-step verification password on {where}",
    "login.email": "gave Telegram the login email it asked for on {where}",
    "login.email_verified": "confirmed the login email with its code on {where}",
    "login.qr_demo_scan": "scanned the login QR code with the demo Telegram on {where}",
    "login.qr": "logged in by QR code on {where}",
    "login.cancel": "cancelled the login on {where}",
    "login.import": "imported a login on {where}",
    "session.import": "imported a session string into {where}",
    "session.save": "saved the session of {where} to the store",
    "session.verify": "verified the stored session of {where}",
    "session.revoke": "revoked the session of {where}",
    "session.logout": "logged {where} out of Telegram",
    "session.overwrite": "overwrote the stored session of {where}",
    "session.use_stored": "used the stored session of {where}",
    "authorization.list": "listed the active sessions of {where}",
    "authorization.terminate": "terminated an active session on {where}",
    "authorization.terminate_others": "terminated all other active sessions on {where}",
    "dashboard_key.mint": "minted a dashboard key for {where}",
    "dashboard_key.lost": "reported the dashboard key of {where} lost",
    "archive.start": "started an archive run on {where}",
    "archive.run": "ran the archive of {where}",
    "archive.export": "exported messages from the archive of {where}",
    "archive.search": "searched the archive of {where}",
    "health.check": "checked the health of {where}",
    "health.queue": "queued a health check of {where}",
    "health.change": "saw the health of {where} change from “{from}” to “{to}”",
    "health.alert": "raised an alert on {where}: {event}",
    "alert.delivery": "sent an alert about {where}",
    "encryption.rotate": "rotated the encryption key of {where}",
    "member.add": "made {member} {role} of {where}",
    "member.role": "changed {member} from {from} to {to} on {where}",
    "member.remove": "removed {member} from {where}",
    "audit.export": "exported the audit trail{of_where}",
    "api.write": "used the API token “{token}” to {what} {target}",
    "api_token.create": "made the API token “{token}”",
    "api_token.revoke": "revoked the API token “{token}”",
    "signin.ok": "signed in",
    "signin.failed": "failed to sign in as {username}",
    "signin.locked_out": "was locked out after failed sign-ins as {username}",
    "signin.2fa_ok": "passed the second factor",
    "signin.2fa_failed": "failed the second factor",
    "signin.2fa_enrolled": "enrolled a second factor",
    "signin.2fa_removed": "removed their second factor",
    "signout": "signed out",
    "authorization.known": "marked an active session of {where} as known ({device})",
    "instance.proxy": "changed the Telegram proxy of {where} from {from} to {to}",
}


# Each action in a few words, for the trail's filter menu (each event's own sentence is _PHRASES').
ACTION_WORDS: dict[str, str] = {
    "instance.create": "instance created",
    "access.refused": "refused: role too low",
    "instance.status": "status changed",
    "instance.rename": "renamed",
    "instance.delete": "deleted",
    "dashboard_key.retire": "dashboard's authorization logged out",
    "connector_key.retire": "replaced connector key logged out",
    "login.send_code": "login: code asked for",
    "login.resend_code": "login: code asked for again",
    "login.code": "login: code entered",
    "login.password": "login: password entered",
    "login.email": "login: email given",
    "login.email_verified": "login: email confirmed",
    "login.qr": "login by QR code",
    "login.qr_demo_scan": "login: QR code scanned in the demo",
    "login.cancel": "login cancelled",
    "login.import": "login imported",
    "session.import": "session string imported",
    "session.save": "session saved to the store",
    "session.verify": "Verify",
    "session.revoke": "Revoke",
    "session.logout": "logged out of Telegram",
    "session.overwrite": "stored session overwritten",
    "session.use_stored": "stored session taken",
    "authorization.list": "active sessions listed",
    "authorization.terminate": "a session terminated",
    "authorization.terminate_others": "all other sessions terminated",
    "dashboard_key.mint": "dashboard's authorization made",
    "dashboard_key.lost": "dashboard's authorization lost",
    "archive.start": "archive run started",
    "archive.run": "archive run",
    "archive.export": "archive exported",
    "archive.search": "archive searched",
    "health.check": "health checked",
    "health.queue": "health check queued",
    "health.change": "health changed",
    "health.alert": "alert raised",
    "alert.delivery": "alert sent",
    "encryption.rotate": "encryption key rotated",
    "member.add": "member added",
    "member.role": "member's role changed",
    "member.remove": "member removed",
    "audit.export": "audit trail exported",
    "signin.ok": "signed in",
    "signin.failed": "sign-in failed",
    "signin.locked_out": "locked out after failed sign-ins",
    "signin.2fa_ok": "second factor passed",
    "signin.2fa_failed": "second factor failed",
    "signin.2fa_enrolled": "second factor enrolled",
    "signin.2fa_removed": "second factor removed",
    "signout": "signed out",
    "authorization.known": "a session marked as known",
    "instance.proxy": "Telegram proxy changed",
    "fleet.discover": "discovered objects taken in",
    "fleet.import": "bulk import",
    "fleet.import_row": "bulk import: a row refused",
    "api.write": "a change through an API token",
    "api_token.create": "API token made",
    "api_token.revoke": "API token revoked",
}

# What an event's outcome says, in words ("ok" and "refused" already are).
OUTCOME_WORDS: dict[str, str] = {
    "password_needed": "password needed",
    "token": "QR code shown",
    "flood_wait": "Telegram asked to wait",
    "dead": "session no longer works",
    "partial": "partly done",
    "retrying": "will be retried",
    "banned": "account banned or deleted",
    "frozen": "account frozen",
}
# The events whose phrase already names the API token they came through.
_NAMES_ITS_TOKEN = frozenset({"api.write"})
# Events written by `manage.py generate_session` have no instance: they happened in a terminal.
_TERMINAL = "generate_session"
# The detail keys whose values are codes of a state, and the words for each.
_STATE_WORDS: dict[str, Mapping[str, str]] = {
    "health.change": {str(value): str(label) for value, label in Health.choices},
    "instance.status": {str(value): str(label) for value, label in InstanceStatus.choices},
}


def outcome_words(outcome: str) -> str:
    return OUTCOME_WORDS.get(outcome, outcome.replace("_", " "))


def action_words(action: str) -> str:
    return ACTION_WORDS.get(action) or action.replace(".", ": ").replace("_", " ")


class _Blank(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "?"


def audit_sentence(event: AuditEvent) -> str:
    """One sentence for the event; an unknown action still reads ("admin did team sync on alpha")."""
    detail = event.detail if isinstance(event.detail, dict) else {}
    terminal = not event.session and detail.get("via") == _TERMINAL
    who = event.actor_name or ("someone" if terminal else "the system")
    where = event.session or ("a terminal (the generate-session command)" if terminal else "the dashboard")
    values = _Blank({**{str(k): v for k, v in detail.items()}, "where": where})
    words = _STATE_WORDS.get(event.action, {})
    for key in ("from", "to"):
        if key in detail and words:
            values[key] = words.get(str(detail[key]), str(detail[key]).replace("_", " "))
    values["of_where"] = f" of {event.session}" if event.session else ""
    values["object_note"] = f" (object {detail['object']})" if detail.get("object") else ""
    if detail.get("view"):
        values["view"] = str(detail["view"]).replace("_", " ")
    if event.action == "health.alert":
        values["event"] = event_words(str(detail.get("event", "")))
    phrase = _PHRASES.get(event.action)
    if phrase is None:
        readable = event.action.replace(".", " ").replace("_", " ")
        phrase = f"did {readable} on {{where}}" if event.session else f"did {readable}"
    sentence = f"{who} {phrase.format_map(values)}"
    if detail.get("api_token") and event.action not in _NAMES_ITS_TOKEN:
        sentence += f" with the API token “{detail['api_token']}”"
    if event.outcome != "ok":
        sentence += f" ({outcome_words(event.outcome)})"
    return sentence
