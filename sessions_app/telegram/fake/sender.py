"""FakeSender: Telethon's MTProtoSender with the network replaced by a call into a DemoTelegram.

Everything above the sender (TelegramClient's sign-in, SRP, PHONE_MIGRATE handling via _switch_dc,
error mapping, iterators, StringSession) is Telethon's own code. Requests and answers still cross
a wire of sorts: each request must serialize exactly as the real sender would send it, and each
answer is serialized and parsed back, so only valid TL reaches either side.
"""

from __future__ import annotations

import asyncio
import struct
from typing import TYPE_CHECKING, Any

from telethon import errors, helpers, utils
from telethon.crypto import AuthKey
from telethon.extensions import BinaryReader
from telethon.network.mtprotosender import MTProtoSender
from telethon.tl import types
from telethon.tl.tlobject import TLObject

from sessions_app.telegram.fake.accounts import DEMO_IP
from sessions_app.telegram.fake.connections import HEARTBEAT_SECONDS, NetworkDrop
from sessions_app.telegram.fake.rpc import Rpc, UnknownAuthKey

if TYPE_CHECKING:
    from sessions_app.telegram.fake.world import DemoTelegram


def over_the_wire(answer: Any) -> Any:
    """What the client would read back after the answer was serialized by the server."""
    if isinstance(answer, bool) or answer is None:
        return answer
    if isinstance(answer, list):
        return [over_the_wire(item) for item in answer]
    assert isinstance(answer, TLObject), answer
    with BinaryReader(bytes(answer)) as reader:
        return reader.tgread_object()


class FakeSender(MTProtoSender):
    """An MTProto sender bound to a DemoTelegram world; it never opens a socket.

    While connected it holds a connection in the world, from ``ip``, renewed by a heartbeat.
    """

    _user_connected: bool  # set by MTProtoSender.__init__

    def __init__(
        self,
        world: DemoTelegram,
        auth_key: AuthKey | None,
        *,
        ip: str = DEMO_IP,
        loggers: Any,
        auth_key_callback: Any = None,
        updates_queue: Any = None,
        auto_reconnect_callback: Any = None,
    ) -> None:
        super().__init__(
            auth_key,
            loggers=loggers,
            retries=1,
            delay=0,
            auto_reconnect=False,
            auth_key_callback=auth_key_callback,
            updates_queue=updates_queue,
            auto_reconnect_callback=auto_reconnect_callback,
        )
        self._world = world
        self.ip = ip
        self.dc_id: int | None = None
        self._closed: asyncio.Future[None] | None = None
        self._connection_id: str | None = None
        self._heartbeat: asyncio.TimerHandle | None = None
        self._lost: BaseException | None = None  # why the connection broke, for the requests still on their way

    # The connection object Telethon builds (ConnectionTcpFull) is kept for its address only.
    async def connect(self, connection: Any) -> bool:
        async with self._connect_lock:
            if self._user_connected:
                return False
            self._connection = connection
            self.dc_id = int(connection._dc_id)
            if not self.auth_key:
                # What the DH key exchange would produce; the DC remembers the key from now on.
                self.auth_key.key = self._world._issue_auth_key(self.dc_id, self.ip)
                if self._auth_key_callback:
                    await self._auth_key_callback(self.auth_key)
            self._connection_id = self._world._connect(self.auth_key, self.ip)  # NetworkDrop during an outage
            self._lost = None
            self._heartbeat = helpers.get_running_loop().call_later(HEARTBEAT_SECONDS, self._beat)
            self._user_connected = True
            if self._closed is None or self._closed.done():
                self._closed = helpers.get_running_loop().create_future()
            return True

    def is_connected(self) -> bool:
        return self._user_connected

    def _transport_connected(self) -> bool:
        return self._user_connected

    def _keepalive_ping(self, rnd_id: int) -> None:
        """The demo DC is always reachable; nothing to probe."""

    def _beat(self) -> None:
        """Renew the connection's lease while connected (a timer, so a forgotten client leaves no task)."""
        if self._connection_id is None:
            return
        self._world._heartbeat(self._connection_id)
        self._heartbeat = helpers.get_running_loop().call_later(HEARTBEAT_SECONDS, self._beat)

    def _hang_up(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None
        if self._connection_id is not None:
            self._world._disconnect(self._connection_id)
            self._connection_id = None

    async def disconnect(self) -> None:
        await self._disconnect()

    async def _disconnect(self, error: BaseException | None = None) -> None:
        if self._connection is None:
            return
        self._user_connected = False
        self._connection = None
        self._hang_up()
        if self._closed is not None and not self._closed.done():
            if error is None:
                self._closed.set_result(None)
            else:
                self._closed.set_exception(error)
                self._closed.exception()  # nobody may be watching; don't warn about it at exit

    @property
    def disconnected(self) -> asyncio.Future[None]:
        return asyncio.shield(self._disconnected)

    @property
    def _disconnected(self) -> asyncio.Future[None]:
        if self._closed is None:
            self._closed = helpers.get_running_loop().create_future()
            self._closed.set_result(None)
        return self._closed

    def send(self, request: Any, ordered: bool = False) -> Any:
        if not self._user_connected:
            raise ConnectionError("Cannot send requests while disconnected")
        if utils.is_list_like(request):
            return [self._answer(item) for item in request]
        return self._answer(request)

    def _answer(self, request: Any) -> asyncio.Future[Any]:
        try:
            bytes(request)  # the real sender serializes here and raises the same struct.error
        except struct.error as exc:
            self._log.error("Request caused struct.error: %s: %s", exc, request)
            raise
        loop = helpers.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._user_connected:  # an earlier request in this batch lost the connection
            self._fail(future)
            return future
        delay = self._world.answer_delay
        if delay > 0:
            # Network latency: the answer comes later while the event loop carries on, as it would
            # over a socket (a blocking sleep would stall every other client on this loop).
            loop.call_later(delay, self._settle, request, future)
        else:
            self._settle(request, future)
        return future

    def _settle(self, request: Any, future: asyncio.Future[Any]) -> None:
        """The DC answers ``request``: its result or its error goes into ``future``."""
        if future.done():  # the caller gave up waiting (a timeout cancelled it)
            return
        if not self._user_connected:  # disconnected (or the connection broke) while the request was on its way
            self._fail(future)
            return
        try:
            assert self.dc_id is not None and self._connection_id is not None
            answer = self._world._receive(
                self.dc_id, self.auth_key, request, ip=self.ip, connection_id=self._connection_id
            )
        except Rpc as rpc:
            future.set_exception(errors.rpc_message_to_error(types.RpcError(rpc.code, rpc.message), request))
        except NetworkDrop as drop:
            # As Telethon's sender without auto-reconnect: the request and the connection fail together.
            future.set_exception(ConnectionError(str(drop)))
            self._drop(ConnectionError(str(drop)))
        except UnknownAuthKey:
            self._log.info("Server does not know about the current auth key; the session may need to be recreated")
            future.set_exception(errors.AuthKeyNotFound())
            self._drop(errors.AuthKeyNotFound())
        else:
            future.set_result(over_the_wire(answer))

    def _fail(self, future: asyncio.Future[Any]) -> None:
        """A request that cannot be answered: the connection's error when it broke, else cancelled (a disconnect)."""
        if self._lost is not None:
            future.set_exception(ConnectionError(str(self._lost)))
        else:
            future.cancel()

    def _drop(self, error: BaseException) -> None:
        """Lose the connection the way the real sender does on a -404 or a broken socket: no more requests go out."""
        self._lost = error
        self._user_connected = False
        self._connection = None
        self._hang_up()
        if self._closed is not None and not self._closed.done():
            self._closed.set_exception(error)
            self._closed.exception()
