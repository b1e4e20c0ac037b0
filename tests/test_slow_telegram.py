"""Issue 10, item 11: a slow Telegram does not hold up other users' pages.

The views are synchronous and wait for Telegram. Under ASGI Django runs a sync view with
``sync_to_async(thread_sensitive=True)``; what keeps one request's wait from blocking another's
page is that Django's ASGI handler opens a ``ThreadSensitiveContext`` per request, so every
request's sync code gets a thread of its own. These tests drive the real ASGI application
(teleconnect.asgi) with a demo Telegram that answers every request after a delay, and check the
order in which the answers arrive, never how long they took.

The control case serves both requests on one shared thread (what a process would do if anything
in front of Django opened one context for all requests, or with Django before 3.2): there the
plain page must wait for the Telegram call, which shows the first test can fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from channels.testing import HttpCommunicator

from teleconnect.asgi import application
from tests.archive_ui.test_consumer import _session_cookie
from tests.conftest import log_in

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio,
    pytest.mark.usefixtures("close_thread_connections"),
]

DELAY = 0.5  # seconds the demo Telegram takes to answer each request
SLOW_PAGE = "/instances/prod-bot/authorizations/"  # lists the account's sessions: asks Telegram
PLAIN_PAGE = "/"  # the instance list: the database only
TIMEOUT = 60  # an answer that takes this long is a hang, not a slow page

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


async def _get(app: App, path: str, cookie: bytes) -> dict[str, Any]:
    communicator = HttpCommunicator(app, "GET", path, headers=[(b"host", b"127.0.0.1"), (b"cookie", cookie)])
    try:
        return await communicator.get_response(timeout=TIMEOUT)
    finally:
        await communicator.wait(timeout=TIMEOUT)


async def _until_waiting_for_telegram(telegram, session_string: str, slow: asyncio.Task) -> None:
    """Until the slow request is connected to the demo Telegram (its first answer is then DELAY away)."""
    for _ in range(int(TIMEOUT / 0.02)):
        if await sync_to_async(telegram.connected_ips)(session_string):
            return
        assert not slow.done(), f"the Telegram page answered without waiting for Telegram: {slow.result()['status']}"
        await asyncio.sleep(0.02)
    raise AssertionError("the Telegram page never connected to the demo Telegram")


async def _race(app: App, telegram, instance, *, slow_user, plain_user) -> tuple[bool, dict, dict]:
    """Start the Telegram page, and once it waits for Telegram ask for a plain page.

    Returns whether the Telegram page was still waiting when the plain page came back, and both answers.
    """
    instance = await sync_to_async(log_in)(instance)
    slow_cookie = await sync_to_async(_session_cookie)(slow_user)
    plain_cookie = await sync_to_async(_session_cookie)(plain_user)
    telegram.answer_delay = DELAY
    slow = asyncio.create_task(_get(app, SLOW_PAGE, slow_cookie))
    await _until_waiting_for_telegram(telegram, instance.dashboard_session, slow)
    plain = await _get(app, PLAIN_PAGE, plain_cookie)
    slow_still_waiting = not slow.done()
    return slow_still_waiting, plain, await slow


def _one_thread_for_all(app: App, executor: ThreadPoolExecutor) -> App:
    """The ASGI app with every request's sync code on one shared thread (the control case)."""

    async def serve(scope: dict[str, Any], receive: Any, send: Any) -> None:
        async with ThreadSensitiveContext(executor=executor):
            await app(scope, receive, send)

    return serve


async def test_a_plain_page_is_served_while_another_user_waits_for_telegram(telegram, instance, owner, viewer):
    slow_still_waiting, plain, slow = await _race(application, telegram, instance, slow_user=owner, plain_user=viewer)

    assert plain["status"] == 200 and b"Production bot" in plain["body"]
    assert slow_still_waiting, "the instance list waited for another user's Telegram call"
    assert slow["status"] == 200 and b"this dashboard" in slow["body"]  # the sessions Telegram listed


async def test_on_one_shared_thread_the_plain_page_would_wait_for_telegram(telegram, instance, owner, viewer):
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="one-for-all")
    try:
        app = _one_thread_for_all(application, executor)
        slow_still_waiting, plain, slow = await _race(app, telegram, instance, slow_user=owner, plain_user=viewer)
    finally:
        executor.submit(_close_connections).result()
        executor.shutdown(wait=True)

    assert plain["status"] == 200 and slow["status"] == 200
    assert not slow_still_waiting, "the control case no longer serialises requests: it proves nothing"


def _close_connections() -> None:
    from django.db import connections

    connections.close_all()
