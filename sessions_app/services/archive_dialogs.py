"""Which dialogs a run reads: the listed ones, the basic groups upgraded to supergroups, and the refused.

Telegram drops a basic group from the dialog list once it became a supergroup, but its messages
from before the upgrade stay there, under its own ids. The archive keeps them as a dialog of
their own (so (peer, message id) never collides) that points at its supergroup (Dialog.migrated_to);
the pages, the export and the search show both as one conversation. A run finds the old group in
the supergroup's first message (messageActionChannelMigrateFrom), or in the listed Chat's migrated_to.

A dialog Telegram refuses (left, banned, private, deleted) keeps what was archived and says why on
its row (Dialog.skip_reason) until a run reads it again.
"""

from __future__ import annotations

import logging

from sessions_app.models import ConnectorInstance, Dialog
from sessions_app.telegram.archive import RemoteDialog, old_chat

logger = logging.getLogger(__name__)


def dialogs_to_read(
    *, instance: ConnectorInstance, listed: list[tuple[Dialog, RemoteDialog]]
) -> list[tuple[Dialog, RemoteDialog]]:
    """The listed dialogs plus the upgraded basic groups known from earlier runs, each linked to its supergroup."""
    by_peer = {dialog.peer_id: dialog for dialog, _remote in listed}
    for dialog, remote in listed:
        supergroup = by_peer.get(remote.migrated_to) if remote.migrated_to is not None else None
        if supergroup is not None and dialog.migrated_to_id != supergroup.pk:
            dialog.migrated_to = supergroup
            Dialog.objects.filter(pk=dialog.pk).update(migrated_to=supergroup)
    found = list(listed)
    for dialog in Dialog.objects.filter(instance=instance, migrated_to__isnull=False).exclude(
        peer_id__in=list(by_peer)
    ):
        found.append((dialog, old_chat(dialog.peer_id, dialog.title)))
    return found


def old_chat_adopt(*, supergroup: Dialog, remote: RemoteDialog) -> Dialog:
    """The row of the basic group `supergroup` was upgraded from (made on first sight), linked to it."""
    dialog, _created = Dialog.objects.get_or_create(
        instance_id=supergroup.instance_id,
        peer_id=remote.peer_id,
        defaults={"kind": remote.kind, "title": remote.title, "migrated_to": supergroup},
    )
    if dialog.migrated_to_id != supergroup.pk:
        dialog.migrated_to = supergroup
        Dialog.objects.filter(pk=dialog.pk).update(migrated_to=supergroup)
    return dialog


def dialog_skip(*, dialog: Dialog, reason: str) -> None:
    """Telegram refused the dialog: say why on its row (what it archived before stays)."""
    logger.info("archive skips dialog %s of instance %s: %s", dialog.peer_id, dialog.instance_id, reason)
    dialog.skip_reason = reason[: Dialog._meta.get_field("skip_reason").max_length or None]
    Dialog.objects.filter(pk=dialog.pk).update(skip_reason=dialog.skip_reason)


def dialog_unskip(*, dialog: Dialog) -> None:
    """The dialog was read again after a refusal: it is no longer skipped."""
    if dialog.skip_reason:
        dialog.skip_reason = ""
        Dialog.objects.filter(pk=dialog.pk).update(skip_reason="")
