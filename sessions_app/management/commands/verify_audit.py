"""Walk the audit hash chain: "N events, chain intact", or the first broken link and exit status 1."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sessions_app.selectors.audit import audit_events_in_chain_order
from sessions_app.services.audit_chain import audit_chain_first_break


class Command(BaseCommand):
    help = "Check that no audit event was changed or removed (each carries a hash chained to the previous one)."

    def handle(self, *args: Any, **options: Any) -> None:
        count, broken = audit_chain_first_break(audit_events_in_chain_order())
        if broken is not None:
            raise CommandError(
                f"Audit chain broken at event {broken.event_id} (event {count} in order): {broken.reason}. "
                "Restore the audit table from a backup taken before that event and compare.",
                returncode=1,
            )
        self.stdout.write(f"{count} events, chain intact")
