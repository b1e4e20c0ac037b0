"""The demo Telegram in a process of its own, for the throughput figures (bench/archive.py a, b, t).

Inside one process the demo Telegram's answering (reading its store, building the TL answer,
serializing it) runs on the client's interpreter lock: about half of every reader's CPU was the
fake server's, charged to whichever tool was being measured. Here the server side runs where a
real Telegram's does, elsewhere: :func:`serve` answers over a Unix socket (a local file, no
network), in a process of its own, on the same world file the bench seeded.

The client side is :class:`RemoteTelegram`: a DemoTelegram on the same file whose clients get a
:class:`RemoteSender`. What crosses the socket is what crosses Telegram's wire: the request's TL
bytes one way, the answer's TL bytes (or an RPC error) the other. The client parses the answer
itself, as Telethon's sender would. Connections, auth keys and the two-IP rule stay in the shared
file, so everything else a client does (connect, heartbeat, disconnect) is unchanged.

    python bench/_demo_server.py WORLD_FILE SOCKET   # started by start_server() below
"""

from __future__ import annotations

import asyncio
import itertools
import os
import struct
import subprocess
import sys
import threading
from collections import Counter
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from telethon import errors, helpers  # noqa: E402
from telethon.crypto import AuthKey  # noqa: E402
from telethon.extensions import BinaryReader  # noqa: E402
from telethon.tl import types  # noqa: E402
from telethon.tl.tlobject import TLObject  # noqa: E402

from sessions_app.telegram.fake.sender import FakeSender  # noqa: E402

FAMILY = "AF_UNIX"


# -- the server process -----------------------------------------------------------------------------


def _wire(answer: Any) -> Any:
    """The answer as the server would put it on the wire: TL bytes (bools, None and lists as they are)."""
    if isinstance(answer, TLObject):
        return bytes(answer)
    if isinstance(answer, list):
        return [_wire(item) for item in answer]
    return answer


def _serve_connection(world: Any, connection: Connection) -> None:
    """One client connection: requests in order, each answered before the next is read."""
    from sessions_app.telegram.fake.connections import NetworkDrop
    from sessions_app.telegram.fake.rpc import Rpc, UnknownAuthKey

    with connection:
        while True:
            try:
                message = connection.recv()
            except (EOFError, OSError):
                return
            kind = message[0]
            if kind == "requests":  # the control connection: the bench's request counts
                connection.send(dict(world.requests))
                continue
            if kind == "clear":
                world.requests.clear()
                connection.send(None)
                continue
            _kind, seq, dc, key, data, ip, connection_id = message
            with BinaryReader(data) as reader:
                request = reader.tgread_object()
            try:
                answer = world._receive(dc, AuthKey(key), request, ip=ip, connection_id=connection_id)
            except Rpc as rpc:
                reply: tuple[Any, ...] = (seq, "rpc", rpc.code, rpc.message)
            except NetworkDrop as drop:
                reply = (seq, "drop", str(drop))
            except UnknownAuthKey:
                reply = (seq, "unknown")
            else:
                reply = (seq, "ok", _wire(answer))
            connection.send(reply)


def serve(world_path: str, address: str) -> None:
    """Answer every client that connects to ``address``, one thread per connection, until killed."""
    from bench import _setup

    world = _setup.new_world(Path(world_path))
    with Listener(address, family=FAMILY) as listener:
        print("ready", flush=True)
        while True:
            connection = listener.accept()
            threading.Thread(target=_serve_connection, args=(world, connection), daemon=True).start()


def start_server(world_path: Path, workdir: Path) -> tuple[subprocess.Popen[str], str]:
    """Start :func:`serve` in a new process on ``world_path``; returns it and its socket's address."""
    address = str(workdir / "demo-telegram.sock")
    process = subprocess.Popen(  # noqa: S603 - this interpreter and this file
        [sys.executable, __file__, str(world_path), address], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        process.kill()
        raise RuntimeError("the demo Telegram server did not start")
    return process, address


# -- the client side ------------------------------------------------------------------------------


class RemoteSender(FakeSender):
    """FakeSender whose requests travel to the server process; answers resolve their futures as they arrive."""

    address: str

    def _open_link(self) -> None:
        self._link = Client(self.address, family=FAMILY)
        self._pending: dict[int, tuple[asyncio.Future[Any], Any]] = {}
        self._seq = itertools.count()
        self._loop = helpers.get_running_loop()
        self._loop.add_reader(self._link.fileno(), self._on_answers)

    def _close_link(self) -> None:
        link = getattr(self, "_link", None)
        if link is None:
            return
        self._link = None
        self._loop.remove_reader(link.fileno())
        link.close()
        for future, _request in self._pending.values():
            if not future.done():
                self._fail(future)
        self._pending.clear()

    async def connect(self, connection: Any) -> bool:
        connected = await super().connect(connection)
        if connected:
            self._open_link()
        return connected

    def _hang_up(self) -> None:
        super()._hang_up()
        self._close_link()

    def _answer(self, request: Any) -> asyncio.Future[Any]:
        try:
            data = bytes(request)
        except struct.error as exc:
            self._log.error("Request caused struct.error: %s: %s", exc, request)
            raise
        future: asyncio.Future[Any] = helpers.get_running_loop().create_future()
        if not self._user_connected or self._link is None:
            self._fail(future)
            return future
        seq = next(self._seq)
        self._pending[seq] = (future, request)
        assert self.dc_id is not None
        self._link.send(("call", seq, self.dc_id, self.auth_key.key, data, self.ip, self._connection_id))
        return future

    def _on_answers(self) -> None:
        link = self._link
        while link is not None and link.poll():
            try:
                seq, outcome, *rest = link.recv()
            except (EOFError, OSError) as exc:
                self._drop(ConnectionError(f"the demo Telegram server went away: {exc}"))
                return
            future, request = self._pending.pop(seq)
            if future.done():
                continue
            if not self._user_connected:
                self._fail(future)
            elif outcome == "ok":
                future.set_result(_parse(rest[0]))
            elif outcome == "rpc":
                future.set_exception(errors.rpc_message_to_error(types.RpcError(rest[0], rest[1]), request))
            elif outcome == "drop":
                future.set_exception(ConnectionError(rest[0]))
                self._drop(ConnectionError(rest[0]))
            else:
                self._log.info("Server does not know about the current auth key")
                future.set_exception(errors.AuthKeyNotFound())
                self._drop(errors.AuthKeyNotFound())
            link = self._link


def _parse(payload: Any) -> Any:
    if isinstance(payload, bytes):
        with BinaryReader(payload) as reader:
            return reader.tgread_object()
    if isinstance(payload, list):
        return [_parse(item) for item in payload]
    return payload


class _RemoteCounts:
    """``world.requests`` for a world served elsewhere: the server's counts, read on demand."""

    def __init__(self, address: str) -> None:
        self._link = Client(address, family=FAMILY)
        self._lock = threading.Lock()

    def __getitem__(self, key: tuple[str, str]) -> int:
        with self._lock:
            self._link.send(("requests",))
            counts: dict[tuple[str, str], int] = self._link.recv()
        return Counter(counts)[key]

    def clear(self) -> None:
        with self._lock:
            self._link.send(("clear",))
            self._link.recv()


def remote_world(world_path: Path, address: str) -> Any:
    """A DemoTelegram on the server's world file whose clients' requests the server answers."""
    from sessions_app.telegram.fake import DemoTelegram

    class RemoteTelegram(DemoTelegram):
        def client_factory(self, session: str, **kwargs: Any) -> Any:
            client = super().client_factory(session, **kwargs)
            local = client._sender
            sender = RemoteSender(
                self,
                local.auth_key,
                ip=local.ip,
                loggers=client._log,
                auth_key_callback=client._auth_key_callback,
                updates_queue=client._updates_queue,
                auto_reconnect_callback=client._handle_auto_reconnect,
            )
            sender.address = address
            client._sender = sender
            return client

    world = RemoteTelegram(str(world_path))
    world.requests = _RemoteCounts(address)  # type: ignore[attr-defined]
    world.server_address = address  # type: ignore[attr-defined]
    return world


def wait_gone(process: subprocess.Popen[str], seconds: float = 5.0) -> None:
    """Stop the server process (SIGTERM, then SIGKILL after `seconds`) and wait for it."""
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


if __name__ == "__main__":
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    serve(sys.argv[1], sys.argv[2])
