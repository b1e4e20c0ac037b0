"""Telegram's refusals that concern one dialog, never the account: an archive run skips that dialog only.

A channel the account was removed from (or that went private) stays in messages.getDialogs as
channelForbidden and its history answers CHANNEL_PRIVATE; a deleted group, a ban in one group, a
deleted account answer likewise. Each gets its sentence. Errors about the account itself (a dead
key, a banned account) are not here: they stay run failures (errors.translate).
"""

from __future__ import annotations

from telethon import errors

from sessions_app.telegram import errors as app_errors


class DialogRefused(app_errors.TelegramError):
    """Telegram refuses one dialog's history (left, banned, private, deleted): the run skips that dialog only."""

    default_message = "Telegram does not let this account read this chat any more."


# One sentence per refusal that concerns one peer, never the account (those stay run failures).
DIALOG_REFUSALS: tuple[tuple[type[BaseException], str], ...] = (
    (errors.ChannelPrivateError, "You were removed from this channel, or it is private now."),
    (errors.ChannelInvalidError, "Telegram no longer knows this channel for this account: it was probably deleted."),
    (errors.ChatForbiddenError, "You are no longer a member of this group."),
    (errors.UserBannedInChannelError, "This account is banned from this group or channel."),
    (errors.InputUserDeactivatedError, "This person deleted their Telegram account."),
    (errors.PeerIdInvalidError, "Telegram does not know this chat for this account any more (deleted or left)."),
    (errors.ChatIdInvalidError, "Telegram does not know this group any more: it was deleted or upgraded."),
)


def dialog_refusal(exc: BaseException) -> DialogRefused | None:
    """The per-dialog refusal Telethon's error means, or None when the error is not about one peer."""
    for error, sentence in DIALOG_REFUSALS:
        if isinstance(exc, error):
            return DialogRefused(sentence)
    return None
