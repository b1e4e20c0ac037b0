"""Django's flush, able to empty the append-only audit table too.

flush resets the whole database (the test runner calls it between transactional tests). PostgreSQL
empties tables with TRUNCATE, which row triggers do not see; SQLite uses DELETE, which the audit
trigger refuses, so the triggers are lifted for the reset and put back after.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.db import connections

from sessions_app import audit_triggers


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        if connection.vendor != "sqlite":
            super().handle(**options)
            return
        audit_triggers.drop(connection)
        try:
            super().handle(**options)
        finally:
            audit_triggers.install(connection)
