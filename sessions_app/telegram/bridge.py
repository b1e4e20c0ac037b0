"""The one bridge between the app's synchronous code and Telethon's asyncio world.

Views, services, commands and task workers are synchronous Django code; Telethon is asyncio.
Every Telegram call crosses over here, the same way for a one-shot login step and for an archive
run that keeps its connection for hours: a :class:`LoopThread` owns an event loop in a thread of
its own, and sync code submits coroutines to it.

- ``loop.run(coro)`` waits for the result; ``loop.submit(coro)`` returns a future, so an archive
  can read the next chunk from Telegram while the caller writes the previous one to the database.
- A client must be created, used and disconnected on the same loop: build it inside a coroutine
  that runs on the LoopThread, never in the calling thread.
- The caller may itself be inside a running loop (an async view, a websocket consumer, pytest's
  asyncio): the work still runs on the LoopThread, so nothing nests ``asyncio.run``.
- Exceptions cross unchanged; ``errors.translate`` turns Telethon's into the app's at the callers.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """An asyncio event loop running in its own daemon thread until :meth:`close`."""

    def __init__(self, name: str = "telegram") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()
        self._closed = False

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule a coroutine on the loop; the future's result() waits for it from any thread."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def call_soon(self, callback: Callable[[], object]) -> None:
        """Run a plain callback on the loop, from any thread, without waiting for it."""
        self._loop.call_soon_threadsafe(callback)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the loop and wait for its result (its exception is raised here)."""
        return self.submit(coro).result()

    def close(self) -> None:
        """Stop the loop after what was submitted has finished; idempotent."""
        if self._closed:
            return
        self._closed = True

        async def drain() -> None:
            # Cancel what is still pending (a read-ahead nobody waits for) before the loop stops.
            current = asyncio.current_task()
            pending = [task for task in asyncio.all_tasks() if task is not current]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(drain(), self._loop).result()
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def __enter__(self) -> LoopThread:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run one coroutine to completion from sync code on a short-lived LoopThread."""

    async def main() -> T:
        return await make()

    with LoopThread("telegram-op") as loop:
        return loop.run(main())
