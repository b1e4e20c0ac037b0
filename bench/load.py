"""Load test on loopback: signed-in users browsing, login flows and an archive run, all at once.

Each setup starts its own servers on 127.0.0.1 in a temporary directory, loads them for
``--seconds`` and stops them again:

- ``full``: PostgreSQL (a throwaway cluster), Redis (channels-redis), moto's S3 server for the
  session objects, two daphne processes and two task workers;
- ``embedded``: the defaults of scripts/run: SQLite, the local session store, the in-memory
  channel layer, one daphne and one worker;
- ``delayed``: ``embedded`` with a demo Telegram that answers every request after ``--delay``
  seconds (TELEGRAM_DEMO_DELAY_SECONDS): the browsing users' pages must stay as fast while the
  login flows wait for Telegram;
- ``one-thread`` (only when asked for): ``delayed`` served with every request's sync code on one
  shared thread (bench/_one_thread_asgi.py), what the pages would suffer if a view waiting for
  Telegram held up the others: the control for ``delayed``.

The demo Telegram is shared by every process through TELEGRAM_DEMO_STATE (a SQLite file).
Before the clock starts: the users sign in through /accounts/login/, the archive instance is
signed in and its first messages archived, the demo account is seeded with the history the
run will archive, and an operator starts that run (POST on the archive page). Then, for
``--seconds``: ``--users`` viewers go round list, detail, archive, dialog and search pages, and
``--logins`` operators sign a Telegram account in on their own instance (phone, then code),
over and over. The archive's rate is read from the database meanwhile.

Prints requests, errors, p50/p95 per page and the archive's rate; asserts nothing. Every loop
is bounded by time and by a request count; the script stops its servers and itself whatever
happens (a watchdog alarm ends a run that overstays). Only 127.0.0.1 is ever contacted.

    python bench/load.py                 # the three setups, 60 s each (about 9 minutes in all)
    python bench/load.py --quick         # 10 s each, 10 users, 3 login flows (about 2 minutes)
    python bench/load.py --setups delayed,one-thread --delay 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/load.py` puts bench/ first on sys.path, not the repo
    sys.path.insert(0, str(ROOT))

from bench._setup import log, machine  # noqa: E402
from bench._stack import PYTHON, Stack, app_env, manage  # noqa: E402
from bench._traffic import BROWSE_PAGES, LOGIN_PAGES, Client, Recorder, browse, login_flow, run_threads  # noqa: E402

SETUPS = {
    "full": "PostgreSQL + Redis + moto S3, 2 daphne + 2 workers",
    "embedded": "SQLite + local store + in-memory layer, 1 daphne + 1 worker",
    "delayed": "embedded, demo Telegram answering after {delay:g} s",
    "one-thread": "delayed, every request's sync code on one shared thread (the control)",
}
DEFAULT_SETUPS = "full,embedded,delayed"
DELAYED = ("delayed", "one-thread")
BUCKET = "teleconnect-load"
# A sign-in hashes the password (PBKDF2, about 0.8 s of CPU here): all at once, the last ones would
# wait for the others past the client's timeout. Signing in is not what this measures.
SIGN_IN_AT_ONCE = 6


class Overstayed(Exception):
    """The watchdog: a setup ran far past its time."""


@dataclass
class Outcome:
    setup: str
    description: str
    seconds: float
    recorder: Recorder
    archive: dict[str, Any] = field(default_factory=dict)
    sign_ins: Recorder | None = None
    crashed: list[str] = field(default_factory=list)


def _watch_archive(env: dict[str, str], seconds: float) -> tuple[subprocess.Popen[str], list[dict[str, Any]]]:
    """The archive's progress from the database, one sample a second, in a subprocess of the setup's env."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [PYTHON, str(ROOT / "bench" / "_load_db.py"), "watch", "--seconds", str(seconds), "--interval", "0.5"],
        env=env,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    samples: list[dict[str, Any]] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            samples.append(json.loads(line))

    threading.Thread(target=read, name="archive-watch", daemon=True).start()
    return process, samples


def _archive_rate(samples: list[dict[str, Any]], start: float, end: float) -> dict[str, Any]:
    """Messages saved per second within [start, end], from the samples (until the run ended, if sooner)."""
    inside = [s for s in samples if start <= s["t"] <= end]
    before = [s for s in samples if s["t"] <= start]
    first = before[-1] if before else (inside[0] if inside else None)
    if first is None or not inside:
        return {"rate": 0.0, "saved": 0, "seconds": 0.0, "status": samples[-1]["status"] if samples else "?"}
    last = inside[-1]
    # When the run finished inside the window, its rate is over the time it ran, not the whole window.
    reached = next(s for s in inside if s["messages"] == last["messages"])
    if last["status"] not in ("running", "queued") and reached["t"] < last["t"]:
        last = reached
    seconds = max(last["t"] - first["t"], 1e-9)
    saved = last["messages"] - first["messages"]
    return {
        "rate": saved / seconds,
        "saved": saved,
        "seconds": seconds,
        "status": inside[-1]["status"],
        "error": inside[-1].get("error", ""),
    }


def _engines(stack: Stack, kind: str) -> dict[str, str]:
    """The settings that switch a setup from the embedded defaults to the real engines (started here)."""
    if kind != "full":
        return {}
    return {
        "DATABASE_URL": stack.postgresql(),
        "REDIS_URL": stack.redis(),
        "AWS_S3_SESSION_BUCKET": BUCKET,
        "AWS_S3_ENDPOINT": stack.moto(),
        "AWS_ACCESS_KEY": "testing",  # moto accepts any credentials
        "AWS_SECRET_KEY": "testing",  # noqa: S106
        "AWS_REGION": "us-east-1",
    }


def _prepare(env: dict[str, str], kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """Migrate, then the cast, the instances and the demo history (bench/_load_db.py setup)."""
    log(f"{kind}: migrate")
    manage(env, "migrate", "--noinput")
    log(f"{kind}: users, instances, first archive, demo history ({args.messages:,} messages to archive)")
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [PYTHON, str(ROOT / "bench" / "_load_db.py"), "setup", "--users", str(args.users)]
        + ["--logins", str(args.logins), "--first-messages", str(args.first_messages)]
        + ["--messages", str(args.messages), "--bucket", BUCKET if kind == "full" else ""],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench/_load_db.py setup failed ({done.returncode}):\n{done.stderr[-3000:]}")
    made: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return made


def _sign_in(people: list[tuple[Client, str]], password: str, recorder: Recorder) -> None:
    log(f"{len(people)} users sign in, {SIGN_IN_AT_ONCE} at a time")
    gate = threading.Semaphore(SIGN_IN_AT_ONCE)

    def sign_in(client: Client, username: str) -> None:
        with gate:
            client.sign_in(username, password)

    run_threads(
        [lambda c=client, u=user: sign_in(c, u) for client, user in people],
        name="sign-in",
        join_by=time.monotonic() + 300,
    )
    signed = sum("sessionid" in client.http.cookies for client, _ in people)
    if signed < len(people):
        raise RuntimeError(f"only {signed} of {len(people)} users could sign in: {dict(recorder.errors)}")


def _start_archive(admin: Client, made: dict[str, Any], samples: list[dict[str, Any]]) -> None:
    """An operator starts the run on the archive page; wait (up to a minute) until the worker saves messages."""
    log("an operator starts the archive run")
    started = admin.call(
        "archive start",
        "POST",
        f"/instances/{made['archive']}/archive/",
        data={"refresh_edits_days": "0"},
        expect=(302,),
    )
    if started is None:
        raise RuntimeError(f"the archive run did not start: {admin.recorder.error_samples}")
    wait_until = time.monotonic() + 60
    while time.monotonic() < wait_until and not any(s["messages"] > made["archived_before"] for s in samples):
        time.sleep(0.2)


def run_setup(kind: str, args: argparse.Namespace) -> Outcome:
    description = SETUPS[kind].format(delay=args.delay)
    workdir = Path(tempfile.mkdtemp(prefix=f"teleconnect-load-{kind}-"))
    log(f"{kind}: {description}; working in {workdir}")
    stack = Stack(workdir)
    watcher: subprocess.Popen[str] | None = None
    signal.alarm(int(args.seconds + 900))  # generous: setup, sign-ins, the run and the stop
    try:
        env = app_env(workdir, **_engines(stack, kind))
        made = _prepare(env, kind, args)
        # The servers get the slow Telegram; the setup above did not need to wait for it.
        served_env = {**env, "TELEGRAM_DEMO_DELAY_SECONDS": str(args.delay if kind in DELAYED else 0)}
        webs = 2 if kind == "full" else 1
        app = "bench._one_thread_asgi:application" if kind == "one-thread" else "teleconnect.asgi:application"
        log(f"{kind}: starting {webs} daphne and {webs} worker(s)")
        ports = [stack.daphne(f"daphne-{n}", served_env, app) for n in range(webs)]
        for n in range(webs):
            stack.worker(f"worker-{n}", served_env)

        before = Recorder()
        far = time.monotonic() + 600
        admin = Client(ports, before, deadline=far, max_requests=10, offset=0)
        browsers = [
            Client(ports, before, deadline=far, max_requests=args.max_requests, offset=n) for n in range(args.users)
        ]
        flows = [
            Client(ports, before, deadline=far, max_requests=args.max_requests, offset=n) for n in range(args.logins)
        ]
        _sign_in(
            [
                (admin, made["admin"]),
                *zip(browsers, made["browsers"], strict=True),
                *zip(flows, (f["user"] for f in made["flows"]), strict=True),
            ],
            made["password"],
            before,
        )
        watcher, samples = _watch_archive(env, args.seconds + 180)
        _start_archive(admin, made, samples)

        log(f"{kind}: {args.users} users browse and {args.logins} login flows run for {args.seconds:g} s")
        recorder = Recorder()
        deadline = time.monotonic() + args.seconds
        for client in (*browsers, *flows):
            client.recorder, client.deadline = recorder, deadline
        start_wall = time.time()
        targets = [
            lambda c=client, n=n: browse(c, made, think=args.think, seed=n) for n, client in enumerate(browsers)
        ] + [
            lambda c=client, f=flow, n=n: login_flow(c, f, think=args.think, seed=1000 + n)
            for n, (client, flow) in enumerate(zip(flows, made["flows"], strict=True))
        ]
        stragglers = run_threads(targets, name="client", join_by=deadline + 90)
        if stragglers:
            log(f"{kind}: {stragglers} clients still waiting for an answer 90 s after the deadline")
        time.sleep(1.0)  # one more archive sample after the window
        archive = {**_archive_rate(samples, start_wall, start_wall + args.seconds), "waiting": made["to_archive"]}
        return Outcome(
            setup=kind,
            description=description,
            seconds=args.seconds,
            recorder=recorder,
            archive=archive,
            sign_ins=before,
            crashed=stack.check_alive(),
        )
    except Exception:
        for name, _ in stack.processes:
            tail = stack.tail(name)
            if tail:
                log(f"{kind}: last lines of {name}:\n{tail}")
        raise
    finally:
        signal.alarm(0)
        if watcher is not None:
            if watcher.stdin is not None:
                watcher.stdin.close()
            try:
                watcher.wait(timeout=10)
            except subprocess.TimeoutExpired:
                watcher.kill()
                watcher.wait(timeout=10)
        log(f"{kind}: stopping the servers")
        stack.stop()
        if args.keep:
            log(f"{kind}: kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def report(outcome: Outcome, args: argparse.Namespace) -> None:
    recorder = outcome.recorder
    total = recorder.requests()
    errors = sum(recorder.errors.values())
    print(f"\n== {outcome.setup}: {outcome.description}")
    print(
        f"{args.users} browsing users, {args.logins} login flows, think time {args.think:g} s (mean), "
        f"{outcome.seconds:g} s"
    )
    print(f"requests {total:,} ({total / outcome.seconds:,.1f}/s), errors {errors}")
    print(f"  {'page':<16}{'count':>8}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for page, count, p50, p95, worst in recorder.summary(BROWSE_PAGES + LOGIN_PAGES + ["login cancel"]):
        print(f"  {page:<16}{count:>8}{p50:>10.1f}{p95:>10.1f}{worst:>10.1f}")
    browsing = [s for page in BROWSE_PAGES for s in recorder.durations.get(page, [])]
    if browsing:
        slow = args.slow_ms / 1000
        over = sum(s > slow for s in browsing)
        print(f"  browsing pages over {args.slow_ms:g} ms: {over} of {len(browsing)}")
    for (page, what), count in sorted(recorder.errors.items()):
        sample = recorder.error_samples.get((page, what), "").replace("\n", " ")
        print(f"  error: {page}: {what} x{count}  {sample[:160]}")
    archive = outcome.archive
    line = (
        f"archive run: {archive.get('saved', 0):,} messages saved in {archive.get('seconds', 0):.1f} s = "
        f"{archive.get('rate', 0):,.0f} msg/s (run {archive.get('status', '?')}; {archive.get('waiting', 0):,} were waiting)"
    )
    print(line + (f" error: {archive['error']}" if archive.get("error") else ""))
    if outcome.sign_ins is not None:
        for _, count, p50, p95, _ in outcome.sign_ins.summary(["sign-in"]):
            print(
                f"sign-in before the window ({count} users, {SIGN_IN_AT_ONCE} at a time): "
                f"p50 {p50:.0f} ms, p95 {p95:.0f} ms"
            )
    if outcome.crashed:
        print(f"processes that exited during the run: {', '.join(outcome.crashed)}")
    sys.stdout.flush()


def summary(outcomes: list[Outcome]) -> None:
    print("\nload test summary (p50 / p95 ms):")
    pages = BROWSE_PAGES + ["login: phone", "login: code"]
    print(
        f"  {'setup':<10}{'requests':>9}{'errors':>7}" + "".join(f"{p:>18}" for p in pages) + f"{'archive msg/s':>15}"
    )
    for outcome in outcomes:
        cells = []
        rows = {page: (p50, p95) for page, _, p50, p95, _ in outcome.recorder.summary(pages)}
        for page in pages:
            p50, p95 = rows[page] if page in rows else (None, None)
            cells.append(f"{p50:>9.0f} /{p95:>6.0f}" if p50 is not None else f"{'-':>9} /{'-':>6}")
        print(
            f"  {outcome.setup:<10}{outcome.recorder.requests():>9,}{sum(outcome.recorder.errors.values()):>7}"
            + "".join(f"{c:>18}" for c in cells)
            + f"{outcome.archive.get('rate', 0):>15,.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60, help="length of the measured window per setup (60)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 10 s, 10 users, 3 login flows, think 1 s, small history"
    )
    parser.add_argument(
        "--setups", default=DEFAULT_SETUPS, help=f"comma-separated, of {', '.join(SETUPS)} ({DEFAULT_SETUPS})"
    )
    parser.add_argument("--users", type=int, default=50, help="signed-in users browsing (50)")
    parser.add_argument("--logins", type=int, default=10, help="concurrent login flows, each on its own instance (10)")
    parser.add_argument(
        "--think", type=float, default=None, help="mean pause between one client's requests, uniform 0..2x, s (5)"
    )
    parser.add_argument("--delay", type=float, default=2.0, help="the delayed setup's Telegram answer time, s (2)")
    parser.add_argument("--messages", type=int, default=300_000, help="history the archive run has to fetch")
    parser.add_argument("--first-messages", type=int, default=20_000, help="archived before the run (pages to show)")
    parser.add_argument("--max-requests", type=int, default=0, help="cap per client (default: 100 per second of run)")
    parser.add_argument("--slow-ms", type=float, default=1000, help="count browsing pages slower than this (1000)")
    parser.add_argument("--keep", action="store_true", help="keep each setup's directory (logs of every server)")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.users, args.logins = 10, 10, 3
        args.messages, args.first_messages = 30_000, 3_000
    if args.think is None:
        args.think = 1.0 if args.quick else 5.0  # a smoke run wants a few rounds in its 10 s
    args.max_requests = args.max_requests or int(100 * args.seconds)
    chosen = [name.strip() for name in args.setups.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(SETUPS))
    if unknown:
        parser.error(f"unknown setup(s): {', '.join(unknown)} (choose from {', '.join(SETUPS)})")
    if args.seconds <= 0 or args.users < 0 or args.logins < 0:
        parser.error("--seconds must be positive, --users and --logins at least 0")

    def overstayed(signum: int, frame: object) -> None:
        raise Overstayed("the watchdog stopped a setup that ran far past its time")

    signal.signal(signal.SIGALRM, overstayed)
    print(f"machine at start: {machine()}")
    outcomes = []
    for kind in chosen:
        outcome = run_setup(kind, args)
        report(outcome, args)
        outcomes.append(outcome)
    summary(outcomes)
    print(f"machine at end: {machine()}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
