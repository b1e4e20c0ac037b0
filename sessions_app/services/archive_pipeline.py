"""The reading half of an archive run: several dialogs in flight on one connection, ahead of the DB.

An archive is bound by round trips and flood limits, not by CPU. So the reading runs as asyncio
tasks on the connection's event loop (telegram.bridge.LoopThread): up to
``ARCHIVE_CONCURRENT_DIALOGS`` dialogs fetch side by side, each its own passes in order (backward
to the first message, forward to the newest, then the recent edits when asked), and hand their
chunks to the run's thread through :attr:`Pipeline.items` while that thread stores the previous
ones. At most ``buffered`` chunks wait there, so memory stays flat however long the history.

A FLOOD_WAIT closes one gate for every dialog: no request goes out until Telegram's wait is over
(the seconds it named are the rate limit, not a guess), then each dialog asks again for the chunk
it did not get. Nothing here writes the database: a chunk becomes a checkpoint only once the run's
thread has stored it, per dialog, so a run stopped at any instant resumes from what was stored.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sessions_app.telegram.archive import ArchiveConnection, ArchivedMessage, Chunk, RemoteDialog
from sessions_app.telegram.errors import FloodWait
from sessions_app.telegram.refusals import DialogRefused

CHUNK = 100


@dataclass
class Plan:
    """What one dialog still needs, from its stored checkpoints."""

    key: int  # the Dialog row's pk
    remote: RemoteDialog
    oldest: int  # oldest archived message id, 0 when none
    newest: int  # newest archived message id, 0 when none
    history_complete: bool
    refresh_since: datetime | None = None  # re-read messages this recent (edits), None for no refresh


@dataclass
class Stored:
    """A chunk for the run's thread to store, with what it means for the dialog's checkpoints."""

    key: int
    messages: list[ArchivedMessage]
    backward: bool  # moves the oldest checkpoint down
    refresh: bool  # rewrites rows that exist (edits) instead of only adding new ones
    total: int | None
    completes_history: bool = False  # the backward pass reached the dialog's first message
    migrated_from: RemoteDialog | None = None  # the basic group this supergroup was upgraded from


@dataclass
class Flooded:
    """Telegram asked every request to wait ``seconds``; the pipeline waits, the run shows it."""

    seconds: int


@dataclass
class Finished:
    """Every pass of one dialog has been handed over (its last chunk is before this in the queue)."""

    key: int


@dataclass
class Skipped:
    """Telegram refused this one dialog (left, banned, private, deleted): the run goes on without it.

    What it had handed over before the refusal is stored and checkpointed; the next run asks again.
    """

    key: int
    reason: str


@dataclass
class Failed:
    """A dialog's reading stopped on an error about the account (not a flood wait, not one dialog): the run ends."""

    error: Exception


@dataclass
class End:
    """Nothing more comes: every dialog finished or one failed."""


Item = Stored | Flooded | Finished | Skipped | Failed | End


@dataclass
class _Gate:
    """The flood gate shared by every dialog in flight: closed until `until` (loop time)."""

    until: float = 0.0
    in_flight: set[int] = field(default_factory=set)
    peak_in_flight: int = 0


class Pipeline:
    """Reads the plans' dialogs ``concurrency`` at a time; the caller takes :attr:`items` and stores.

    ``start()`` and ``stop()`` are called from the run's thread; :meth:`stored` too, after the
    transaction of :class:`Stored` items, to let as many more chunks be read ahead.
    """

    def __init__(
        self, connection: ArchiveConnection, plans: list[Plan], *, concurrency: int, buffered: int | None = None
    ) -> None:
        self.connection = connection
        self.plans = plans
        self.concurrency = max(1, concurrency)
        self.buffered = buffered or 2 * self.concurrency
        self.items: queue.Queue[Item] = queue.Queue()
        self._gate = _Gate()
        self._slots: asyncio.Semaphore | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def peak_in_flight(self) -> int:
        """The most dialogs that had a request out at the same time (never above ``concurrency``)."""
        return self._gate.peak_in_flight

    def start(self) -> None:
        self.connection.submit(self._main())

    def stored(self, chunks: int = 1) -> None:
        """Chunks stored: their slots may hold the next ones read ahead."""
        slots = self._slots
        if slots is not None:

            def release() -> None:
                for _ in range(chunks):
                    slots.release()

            self.connection.call_soon(release)

    def stop(self) -> None:
        """Cancel every request in flight and every dialog's task; waits until they are gone."""

        async def cancel() -> None:
            if self._task is not None and not self._task.done():
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)

        self.connection.run(cancel())

    async def _main(self) -> None:
        self._task = asyncio.current_task()
        self._slots = asyncio.Semaphore(self.buffered)
        plans: Iterator[Plan] = iter(self.plans)

        async def worker() -> None:
            for plan in plans:  # one shared iterator: each dialog goes to exactly one worker
                try:
                    await self._dialog(plan)
                except DialogRefused as refused:
                    self.items.put(Skipped(plan.key, refused.message))

        workers = [asyncio.ensure_future(worker()) for _ in range(min(self.concurrency, len(self.plans)))]
        try:
            await asyncio.gather(*workers)
        except Exception as error:  # noqa: BLE001 - handed to the run's thread, which raises it there
            self.items.put(Failed(error))
        finally:
            # One failed (a dropped connection, say): the other dialogs stop too, no request left behind.
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            self.items.put(End())

    async def _emit(self, item: Stored) -> None:
        assert self._slots is not None
        await self._slots.acquire()
        self.items.put(item)

    async def _fetch(self, plan: Plan, *, offset_id: int = 0, min_id: int = 0, reverse: bool = False) -> Chunk:
        """One chunk of the dialog, waiting out the flood gate before it and after every FLOOD_WAIT."""
        loop = asyncio.get_running_loop()
        gate = self._gate
        while True:
            wait = gate.until - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue  # another dialog may have closed the gate again meanwhile
            gate.in_flight.add(plan.key)
            gate.peak_in_flight = max(gate.peak_in_flight, len(gate.in_flight))
            try:
                chunk = await self.connection.fetch(
                    plan.remote, offset_id=offset_id, min_id=min_id, reverse=reverse, size=CHUNK
                )
            finally:
                gate.in_flight.discard(plan.key)
            if isinstance(chunk.error, FloodWait):
                # Requests already on their way when the gate closed come back refused too: one wait.
                if loop.time() >= gate.until:
                    self.items.put(Flooded(chunk.error.seconds))
                gate.until = max(gate.until, loop.time() + chunk.error.seconds)
                continue  # nothing of a refused chunk is kept: ask for the same chunk again
            if chunk.error is not None:
                raise chunk.error
            return chunk

    async def _dialog(self, plan: Plan) -> None:
        if not plan.history_complete:
            offset = plan.oldest
            while True:
                chunk = await self._fetch(plan, offset_id=offset)
                ids = [m.message_id for m in chunk.messages]
                if ids:
                    plan.newest, offset = max(plan.newest, max(ids)), min(ids)
                done = chunk.exhausted or not ids
                await self._emit(
                    Stored(
                        plan.key,
                        chunk.messages,
                        backward=True,
                        refresh=False,
                        total=chunk.total,
                        completes_history=done,
                        migrated_from=chunk.migrated_from,
                    )
                )
                if done:
                    break
        while True:
            chunk = await self._fetch(plan, min_id=plan.newest, reverse=True)
            if chunk.messages:
                plan.newest = max(plan.newest, max(m.message_id for m in chunk.messages))
                await self._emit(Stored(plan.key, chunk.messages, backward=False, refresh=False, total=chunk.total))
            if chunk.exhausted or not chunk.messages:
                break
        if plan.refresh_since is not None:
            await self._refresh(plan, plan.refresh_since)
        self.items.put(Finished(plan.key))

    async def _refresh(self, plan: Plan, since: datetime) -> None:
        """Re-read the newest messages down to ``since`` so that their edits replace the stored copies."""
        offset, since_unix = 0, since.timestamp()
        while True:
            chunk = await self._fetch(plan, offset_id=offset)
            recent = [m for m in chunk.messages if m.date_unix >= since_unix]
            if recent:
                await self._emit(Stored(plan.key, recent, backward=False, refresh=True, total=chunk.total))
                offset = min(m.message_id for m in recent)
            if chunk.exhausted or len(recent) < len(chunk.messages):
                return
