"""teleconnect.asgi with every HTTP request's sync code on one shared thread: ``load.py --setups one-thread``.

Django's ASGI handler gives each request a thread-sensitive context, hence a thread, of its own.
Anything in front of it that opens one context for all requests (and Django before 3.2) leaves
every sync view of the process on a single thread: then one view waiting for Telegram holds up
every other page of that process. This is that world, for comparison only; the product never
serves it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext

from teleconnect.asgi import application as teleconnect_application

_ONE_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="one-for-all")


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        await teleconnect_application(scope, receive, send)
        return
    async with ThreadSensitiveContext(executor=_ONE_THREAD):
        await teleconnect_application(scope, receive, send)
