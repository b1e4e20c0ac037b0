"""The clients of bench/load.py: signed-in users browsing, login flows, and what they measured.

Each client is a thread with its own ``requests.Session`` (its cookies: the dashboard session and
the CSRF token). A client sends its requests to the daphne processes in turn (round robin per
client), so one user's pages and one login flow's steps are served by different processes.
Every loop is bounded twice: by the deadline and by a request count.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from bench._setup import percentile

TIMEOUT = (5, 60)  # connect, read (seconds): a request never hangs past the run


class Stop(Exception):
    """The client's deadline or request budget is reached."""


@dataclass
class Recorder:
    """Durations per page and errors, from every client thread."""

    durations: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    timeline: list[tuple[float, str, float]] = field(default_factory=list)  # (started, page, duration)
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    error_samples: dict[tuple[str, str], str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, page: str, started: float, seconds: float) -> None:
        with self.lock:
            self.durations[page].append(seconds)
            self.timeline.append((started, page, seconds))

    def error(self, page: str, what: str, sample: str = "") -> None:
        with self.lock:
            self.errors[(page, what)] += 1
            self.error_samples.setdefault((page, what), sample[:300])

    def requests(self) -> int:
        return sum(len(d) for d in self.durations.values()) + sum(self.errors.values())

    def summary(self, pages: list[str]) -> list[tuple[str, int, float, float, float]]:
        """(page, count, p50 ms, p95 ms, max ms) for each page that has samples, in the order given."""
        rows = []
        for page in pages:
            samples = self.durations.get(page)
            if samples:
                rows.append(
                    (
                        page,
                        len(samples),
                        percentile(samples, 0.5) * 1000,
                        percentile(samples, 0.95) * 1000,
                        max(samples) * 1000,
                    )
                )
        return rows


class Client:
    """One person: a session (cookies) and the daphne ports it cycles through."""

    def __init__(
        self, ports: list[int], recorder: Recorder, *, deadline: float, max_requests: int, offset: int
    ) -> None:
        self.http = requests.Session()
        self.ports = ports
        self.recorder = recorder
        self.deadline = deadline
        self.budget = max_requests
        self._turn = offset

    def _url(self, path: str) -> str:
        port = self.ports[self._turn % len(self.ports)]
        self._turn += 1
        return f"http://127.0.0.1:{port}{path}"

    def _check_bounds(self) -> None:
        if time.monotonic() >= self.deadline or self.budget <= 0:
            raise Stop()
        self.budget -= 1

    def call(
        self,
        page: str,
        method: str,
        path: str,
        *,
        expect: tuple[int, ...] = (200,),
        data: dict[str, str] | None = None,
        check: Callable[[requests.Response], str] | None = None,
        bounded: bool = True,
    ) -> requests.Response | None:
        """One timed request; a status outside ``expect`` (or a ``check`` saying why) counts as an error."""
        if bounded:
            self._check_bounds()
        if data is not None:
            data = {**data, "csrfmiddlewaretoken": self.http.cookies.get("csrftoken", "")}
        started_wall = time.time()
        started = time.perf_counter()
        try:
            answer = self.http.request(method, self._url(path), data=data, allow_redirects=False, timeout=TIMEOUT)
            answer.content  # noqa: B018 - the whole body is part of the page's time
        except requests.RequestException as exc:
            self.recorder.error(page, type(exc).__name__, str(exc))
            return None
        seconds = time.perf_counter() - started
        problem = "" if answer.status_code in expect else f"HTTP {answer.status_code}"
        if not problem and check is not None:
            problem = check(answer)
        if problem:
            self.recorder.error(page, problem, answer.text[-300:] if answer.text else "")
            return None
        self.recorder.ok(page, started_wall, seconds)
        return answer

    def sign_in(self, username: str, password: str) -> bool:
        if self.call("sign-in form", "GET", "/accounts/login/", bounded=False) is None:
            return False
        answer = self.call(
            "sign-in",
            "POST",
            "/accounts/login/",
            data={"username": username, "password": password, "next": "/"},
            expect=(302,),
            bounded=False,
        )
        return answer is not None and "sessionid" in self.http.cookies

    def think(self, mean: float, rng: random.Random) -> None:
        """A pause between pages (uniform 0..2*mean), cut short by the deadline."""
        if mean > 0:
            time.sleep(max(0.0, min(rng.uniform(0, 2 * mean), self.deadline - time.monotonic())))


BROWSE_PAGES = ["list", "detail", "archive", "archive dialog", "search"]
LOGIN_PAGES = ["login form", "login: phone", "login: code"]


def browse(client: Client, setup: dict[str, Any], *, think: float, seed: int) -> None:
    """A viewer going round the instance list, an instance's page, its archive, a dialog and a search."""
    rng = random.Random(seed)
    archive = setup["archive"]
    peers = setup["peers"] or [0]
    pages: list[tuple[str, Callable[[], str]]] = [
        ("list", lambda: "/"),
        ("detail", lambda: f"/instances/{rng.choice([archive, *setup['team'][:3]])}/"),
        ("archive", lambda: f"/instances/{archive}/archive/"),
        ("archive dialog", lambda: f"/instances/{archive}/archive/{rng.choice(peers[:8])}/"),
        ("search", lambda: f"/instances/{archive}/archive/search/?q={rng.choice(setup['words'])}"),
    ]
    turn = rng.randrange(len(pages))
    try:
        client.think(think, rng)  # people arrive over a while, not all in the same millisecond
        while True:
            page, path = pages[turn % len(pages)]
            turn += 1
            client.call(page, "GET", path())
            client.think(think, rng)
    except Stop:
        return


def _landed_on(path: str) -> Callable[[requests.Response], str]:
    def check(answer: requests.Response) -> str:
        location = answer.headers.get("Location", "")
        return "" if location.endswith(path) else f"redirected to {location or 'nowhere'}"

    return check


def login_flow(client: Client, flow: dict[str, str], *, think: float, seed: int) -> None:
    """An operator signing the instance's Telegram account in, again and again: phone, then code."""
    rng = random.Random(seed)
    base = f"/instances/{flow['session']}/"
    code = flow["phone"][6] * 5  # 99966XYYYY: the code is X five times
    try:
        client.think(think, rng)
        while True:
            if client.call("login form", "GET", base + "login/") is None:
                continue
            client.think(think, rng)
            sent = client.call(
                "login: phone",
                "POST",
                base + "login/",
                data={"phone": flow["phone"]},
                expect=(302,),
                check=_landed_on(base + "login/"),
            )
            if sent is not None:
                client.think(think, rng)
                done = client.call(
                    "login: code", "POST", base + "login/", data={"code": code}, expect=(302,), check=_landed_on(base)
                )
                if done is not None:
                    client.think(think, rng)
                    continue
            # Something went wrong: drop whatever login is pending so the next round starts clean.
            client.call("login cancel", "POST", base + "login/cancel/", data={}, expect=(302,))
    except Stop:
        return


def run_threads(targets: list[Callable[[], None]], *, name: str, join_by: float) -> int:
    """Start one thread per target; join them until ``join_by`` (monotonic); return how many are still alive."""
    threads = [threading.Thread(target=target, name=f"{name}-{n}", daemon=True) for n, target in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, join_by - time.monotonic()))
    return sum(thread.is_alive() for thread in threads)
