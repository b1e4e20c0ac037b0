"""Telegram's behaviour, as seen through Telethon's public client API: the contract every fake meets.

A fake is held to it by subclassing :class:`TelegramContract` in a test module and providing a
``telegram`` fixture that returns a :class:`Harness` (the world with its client factory and knobs,
and the manual clock that drives it). ``tests/telegram/test_demo_contract.py`` does that for the
in-repo demo Telegram. The topics live in the modules of this package.
"""

from __future__ import annotations

import pytest

from tests.telegram.contract.archive_accounts import ArchiveAccountsContract
from tests.telegram.contract.authorizations import AuthorizationsContract
from tests.telegram.contract.connections import ConnectionsContract
from tests.telegram.contract.flood import FloodContract
from tests.telegram.contract.harness import Harness, ManualClock
from tests.telegram.contract.login_tokens import LoginTokenContract
from tests.telegram.contract.media import MediaContract
from tests.telegram.contract.messages import MessagesContract
from tests.telegram.contract.network import NetworkContract
from tests.telegram.contract.real_accounts import RealAccountsContract
from tests.telegram.contract.security import SecurityContract
from tests.telegram.contract.sent_codes import SentCodesContract
from tests.telegram.contract.sessions import SessionsContract
from tests.telegram.contract.sign_in import SignInContract


@pytest.mark.asyncio
class TelegramContract(
    SignInContract,
    FloodContract,
    SessionsContract,
    AuthorizationsContract,
    ConnectionsContract,
    LoginTokenContract,
    MessagesContract,
    ArchiveAccountsContract,
    MediaContract,
    RealAccountsContract,
    SentCodesContract,
    NetworkContract,
    SecurityContract,
):
    """Every contract test; subclass it with a ``telegram`` fixture returning a Harness."""


__all__ = ["Harness", "ManualClock", "TelegramContract"]
