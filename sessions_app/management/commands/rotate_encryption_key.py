"""Re-encrypt every stored secret under the first SESSION_ENCRYPTION_KEY.

Rotation, step by step: put the new key first (SESSION_ENCRYPTION_KEY=new,old) on every process,
run this command, then drop the old key. It refuses, changing nothing, while any secret decrypts
with none of the configured keys.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_app.services.encryption import SecretsUnreadable, encryption_key_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret under the first SESSION_ENCRYPTION_KEY and recompute the keyed "
        "fingerprints, in one transaction. Refuses, changing nothing, if a secret decrypts with no configured key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="check that every secret decrypts and count them; write nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            rotation = encryption_key_rotate(dry_run=options["dry_run"])
        except SecretsUnreadable as refusal:
            raise CommandError(refusal.message) from None
        verb = "Would re-encrypt" if options["dry_run"] else "Re-encrypted"
        self.stdout.write(f"{verb} {rotation.total} secret{'s' if rotation.total != 1 else ''} under the first key:")
        for label, count in sorted(rotation.secrets.items()):
            self.stdout.write(f"  {label}: {count}")
        self.stdout.write(
            f"Fingerprints recomputed: {rotation.key_fingerprints} auth key, {rotation.phone_fingerprints} phone; "
            f"{rotation.health_objects_forgotten} store object(s) to be read again at the next health check."
        )
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was written.")
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    "Done. Every secret now reads with the first key alone: the other keys can be removed "
                    "from SESSION_ENCRYPTION_KEY."
                )
            )
