"""The connection of an archive run: connecting, handing over, reconnecting, and the run's one takeout.

A run keeps its connection for hours, so the network will drop under it now and then: Telethon
retries first (the client's CLIENT_KWARGS), then :meth:`ArchiveLink.reconnect_within` brings the
connection back with a bounded backoff, and the run reads on from its checkpoints. A takeout run
initialises its takeout once (account.initTakeoutSession: Telegram may make the owner approve it
and notifies their devices each time) and keeps the id across reconnects and handovers; every
request of the run, file downloads included, goes inside it, and ``close()`` finishes it.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import itertools
import math
import time
from collections.abc import Callable, Coroutine
from typing import IO, Any, Self, TypeVar

from telethon import TelegramClient, functions

from sessions_app.telegram import client as telegram
from sessions_app.telegram import errors as app_errors
from sessions_app.telegram import media as telegram_media
from sessions_app.telegram.account import AccountView, Authorization, fetch_account_view, fetch_authorizations
from sessions_app.telegram.bridge import LoopThread

T = TypeVar("T")

# Seconds between attempts to reconnect after the connection dropped: quick at first, then bounded.
RECONNECT_BACKOFF = (1, 2, 4, 8, 15, 30)
# What Telethon itself does on a dropped connection before the run's own reconnect takes over: a
# run keeps its connection for hours, so it retries more than a one-shot operation (client.py's 1).
CLIENT_KWARGS: dict[str, Any] = {
    "connection_retries": 5,
    "retry_delay": 2,
    "auto_reconnect": True,
    "request_retries": 5,
}


class ConnectionLost(app_errors.TelegramUnreachable):
    """The connection dropped and did not come back within ARCHIVE_RECONNECT_SECONDS: the run ends."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"The connection to Telegram dropped and did not come back within {math.ceil(seconds)} s. "
            "Everything archived so far is kept: start the archive again and it resumes where it stopped."
        )


@dataclasses.dataclass(frozen=True)
class _ArchiveLabel(telegram.ClientLabel):
    """The archive's client: the usual labels, plus Telethon's own reconnects (passed through the factory)."""

    def client_kwargs(self) -> dict[str, Any]:
        return {**super().client_kwargs(), **CLIENT_KWARGS}


class ArchiveLink:
    """One client for a whole run on a LoopThread of its own; ``disconnect()`` and ``reconnect()``
    hand it to an interactive action and take it back, ``reconnect_within()`` survives a drop."""

    def __init__(
        self,
        *,
        session: str,
        api: telegram.ApiCredentials,
        label: telegram.ClientLabel | None = None,
        use_takeout: bool = False,
        takeout_files_max: int = 0,
    ) -> None:
        self._loop = LoopThread("telegram-archive")
        self._session = session
        self._api = api
        base = label if label is not None else telegram.ClientLabel(telegram.KeyRole.DASHBOARD)
        self._label = _ArchiveLabel(base.role, base.session, base.proxy)
        self._use_takeout = use_takeout
        self._takeout_files_max = takeout_files_max  # 0: the takeout asks for no files
        self._client: TelegramClient | None = None
        self._requester: TelegramClient | None = None
        self.takeout_id: int | None = None  # the run's one takeout, kept until close()
        self.generation = 0  # connections opened so far: tells a failure of an older one from the current's

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return self._loop.submit(coro)

    def call_soon(self, callback: Callable[[], object]) -> None:
        """Run a plain callback on the connection's loop (e.g. free a slot from the storing thread)."""
        self._loop.call_soon(callback)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the connection's loop and wait; Telethon's errors come out translated."""
        return self._run(coro)

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            return self._loop.run(coro)
        except app_errors.TelegramError:
            raise
        except Exception as exc:  # noqa: BLE001 - every Telethon/network failure is translated
            raise app_errors.translate(exc) from exc

    @property
    def requester(self) -> TelegramClient:
        if self._requester is None:
            raise app_errors.TelegramError("The archive's Telegram connection is closed.")
        return self._requester

    def open(self) -> None:
        async def connect() -> None:
            client = telegram.build_client(self._session, self._api, self._label)
            self._client = client
            await client.connect()
            if not await client.is_user_authorized():
                raise app_errors.NotAuthorized()
            self._requester = client
            if self._use_takeout:
                if self.takeout_id is None:
                    files = self._takeout_files_max > 0
                    takeout = await client(
                        functions.account.InitTakeoutSessionRequest(
                            message_users=True,
                            message_chats=True,
                            message_megagroups=True,
                            message_channels=True,
                            files=files or None,
                            file_max_size=self._takeout_files_max if files else None,
                        )
                    )
                    self.takeout_id = takeout.id
                # With the id known and nothing asked, Telethon's takeout() inits nothing: it wraps.
                client.session.takeout_id = self.takeout_id
                self._requester = client.takeout(finalize=False)

        self._run(connect())
        self.generation += 1

    def disconnect(self) -> None:
        """Disconnect, keeping the takeout for reconnect() (the loop stays too)."""

        async def disconnect() -> None:
            if self._client is not None:
                await self._client.disconnect()

        try:
            self._loop.run(disconnect())
        finally:
            self._client = self._requester = None

    def reconnect(self) -> None:
        self.open()

    def reconnect_within(self, seconds: float, waiting: Callable[[int], object]) -> None:
        """Bring a dropped connection back, trying with RECONNECT_BACKOFF for up to ``seconds``.

        ``waiting(n)`` is called before each pause of ``n`` seconds (the run shows "reconnecting in
        n s" and renews its lease). ConnectionLost once the network stayed down past ``seconds``;
        any other refusal (the key was revoked meanwhile, say) comes out as it is.
        """
        deadline = time.monotonic() + seconds
        for attempt in itertools.count():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            pause = min(RECONNECT_BACKOFF[min(attempt, len(RECONNECT_BACKOFF) - 1)], left)
            waiting(math.ceil(pause))
            time.sleep(pause)  # the network is down: nothing to wait on but the clock
            try:
                self.disconnect()
                self.open()
            except app_errors.TelegramUnreachable:
                continue
            return
        self.disconnect()
        raise ConnectionLost(seconds)

    def _finish_takeout(self, success: bool) -> None:
        """account.finishTakeoutSession for the run's takeout; best effort (the connection may be down)."""
        if self.takeout_id is None or self._requester is None:
            return
        try:
            self._run(self._requester(functions.account.FinishTakeoutSessionRequest(success=success)))
        except app_errors.TelegramError:
            return
        self.takeout_id = None

    def close(self, *, success: bool = True) -> None:
        try:
            self._finish_takeout(success)
            self.disconnect()
        finally:
            self._loop.close()

    def __enter__(self) -> Self:
        try:
            self.open()
        except BaseException:
            self.close()  # a failed open (e.g. takeout not approved) still disconnects and closes the loop
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        self.close(success=exc_type is None)

    def authorizations(self) -> list[Authorization]:
        """account.getAuthorizations on the run's connection (outside the takeout): for a health check."""
        client = self._client
        if client is None:
            raise app_errors.TelegramUnreachable()
        return self._run(fetch_authorizations(client))

    def account_view(self) -> AccountView:
        """fetch_account_view on the run's connection (outside the takeout): for a health check."""
        client = self._client
        if client is None:
            raise app_errors.TelegramUnreachable()
        return self._run(fetch_account_view(client))

    def download(self, item: telegram_media.RemoteMedia, sink: IO[bytes], offset: int = 0) -> int:
        """Append the file from `offset` to `sink` by parts (upload.getFile, inside the takeout); returns the bytes."""
        return self._run(telegram_media.download(self.requester, item, sink, offset, takeout_id=self.takeout_id))

    def start_download(
        self, item: telegram_media.RemoteMedia, sink: IO[bytes]
    ) -> concurrent.futures.Future[app_errors.TelegramError | None]:
        """download() started ahead on the connection's loop; the future holds the failure (or None)."""
        return self.submit(telegram_media.download_into(self.requester, item, sink, takeout_id=self.takeout_id))
