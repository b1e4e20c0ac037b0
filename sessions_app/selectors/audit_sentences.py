"""Audit events as sentences: "admin terminated an active session on alpha"."""

from __future__ import annotations

from sessions_app.models import AuditEvent

# {where} is the instance's SESSION; each phrase follows the actor's name.
_PHRASES: dict[str, str] = {
    "instance.create": "created the instance {where}",
    "access.refused": "was refused {view} on {where}: it needs the {needed} role, they are {role}",
    "instance.status": "saw {where} change status from {from} to {to}",
    "instance.rename": "renamed {where} from '{from}' to '{to}'",
    "instance.delete": "deleted {where}{object_note}",
    "dashboard_key.retire": "logged out the dashboard's own authorization of {where}",
    "connector_key.retire": "logged out a replaced connector key of {where}",
    "login.send_code": "asked Telegram for a login code on {where}",
    "login.resend_code": "asked for the login code again on {where}",
    "login.code": "entered the login code on {where}",
    "login.qr": "logged in by QR code on {where}",
    "login.cancel": "cancelled the login on {where}",
    "login.import": "imported a login on {where}",
    "session.import": "imported a session file into {where}",
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
    "health.change": "saw the health of {where} change from {from} to {to}",
    "health.alert": "raised a health alert on {where}",
    "alert.delivery": "sent an alert about {where}",
    "encryption.rotate": "rotated the encryption key of {where}",
    "member.add": "made {member} {role} of {where}",
    "member.role": "changed {member} from {from} to {to} on {where}",
    "member.remove": "removed {member} from {where}",
    "audit.export": "exported the audit trail{of_where}",
    "signin.ok": "signed in",
    "signin.failed": "failed to sign in as {username}",
    "signin.locked_out": "was locked out after failed sign-ins as {username}",
    "signin.2fa_ok": "passed the second factor",
    "signin.2fa_failed": "failed the second factor",
    "signin.2fa_enrolled": "enrolled a second factor",
    "signin.2fa_removed": "removed their second factor",
    "signout": "signed out",
}


class _Blank(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "?"


def audit_sentence(event: AuditEvent) -> str:
    """One sentence for the event; an unknown action still reads ("admin did team sync on alpha")."""
    who = event.actor_name or "the system"
    where = event.session or "the dashboard"
    detail = event.detail if isinstance(event.detail, dict) else {}
    values = _Blank({**{str(k): v for k, v in detail.items()}, "where": where})
    values["of_where"] = f" of {event.session}" if event.session else ""
    values["object_note"] = f" (object {detail['object']})" if detail.get("object") else ""
    if detail.get("view"):
        values["view"] = str(detail["view"]).replace("_", " ")
    phrase = _PHRASES.get(event.action)
    if phrase is None:
        readable = event.action.replace(".", " ").replace("_", " ")
        phrase = f"did {readable} on {{where}}" if event.session else f"did {readable}"
    sentence = f"{who} {phrase.format_map(values)}"
    if event.outcome != "ok":
        sentence += f" ({event.outcome})"
    return sentence
