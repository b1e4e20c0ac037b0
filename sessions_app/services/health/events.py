"""The events alerts are sent for, as plain names: settings checks ALERT_*_EVENTS against them at start-up.

Nothing here imports Django or the models, so teleconnect/settings.py can import it.
"""

from __future__ import annotations

RECOVERED = "recovered"
# Events about the watched account that change no health state: each is alerted once, when seen.
NOTICE_EVENTS = ("new_authorization", "two_step_disabled", "connector_moved")

# Each event in a few words, for email subjects: people read words, not codes. Every event is here.
EVENT_WORDS: dict[str, str] = {
    "connector_gone": "connector session gone",
    "object_changed": "session object changed outside the dashboard",
    "dashboard_key_lost": "dashboard key lost",
    "outage": "store or Telegram unreachable",
    "account_banned": "account banned or deleted",
    "account_frozen": "account frozen",
    RECOVERED: "recovered",
    "new_authorization": "new login on the account",
    "two_step_disabled": "two-step verification switched off",
    "connector_moved": "connector seen from another country",
}
ALERT_EVENTS: tuple[str, ...] = tuple(EVENT_WORDS)


def event_words(event: str) -> str:
    """The event in words; an event added without its words still reads as words."""
    return EVENT_WORDS.get(event, event.replace("_", " "))
