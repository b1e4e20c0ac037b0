"""Health-check benchmark: one pass over many instances on the demo Telegram, and what one worker can watch.

    python bench/health.py              # 1,000 instances
    python bench/health.py --quick      # 100 instances

Each instance is logged in the way the login flow does it (its own demo account, so every account has
the few authorizations a real one has: two seeded devices, the connector's and the dashboard's),
its dashboard key minted and its session saved to the local store. Then, with every instance due:

  pass 1  the first pass (cold), one check at a time: a HEAD and a GET of each object, getAuthorizations
  pass 2  the steady state, one check at a time: a HEAD per object (ETag unchanged), getAuthorizations
  pass 3  the steady state, --concurrency checks at a time (HEALTH_CHECK_CONCURRENCY, default 4)
  rtt     passes 2 and 3 on --rtt-n instances with a simulated --rtt-ms round trip per Telegram request

and prints the wall time, per-check p50/p95, Telegram requests per instance (counted where the fake
sender hands each request to the demo Telegram), store reads and SQL queries per check, and the
figure that matters: how many instances one worker's schedule checks in a 300 s interval
(300 s / (pass wall time / checks)). One schedule runs in a whole deployment, so this is its limit.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _setup  # noqa: E402
from bench._setup import log  # noqa: E402

INTERVAL = 300  # the default HEALTH_CHECK_INTERVAL_SECONDS


def add_demo_accounts(count: int) -> list[tuple[str, str]]:
    """Give the demo Telegram `count` more accounts (this process only), before its state is seeded.

    The demo roster has three accounts; a thousand instances on three accounts would list hundreds of
    authorizations per getAuthorizations, which no real account has. Returns (phone, code) pairs.
    """
    from sessions_app.telegram.fake import accounts, history, seed

    extra = []
    for n in range(count):
        dc = 1 + n // 8000
        phone = f"99966{dc}{1100 + n % 8000:04d}"
        extra.append(
            accounts.DemoAccount(phone, dc, str(dc) * 5, None, "", "Bench", f"{n:04d}", f"bench_{n}", 7_300_000_000 + n)
        )
    roster = (*accounts.DEMO_ACCOUNTS, *extra)
    for module in (accounts, history, seed):
        module.DEMO_ACCOUNTS = roster  # type: ignore[attr-defined]
    return [(f"+{account.phone}", account.code) for account in extra]


def make_instances(pairs: list[tuple[str, str]]) -> list[Any]:
    from sessions_app.models import ConnectorInstance
    from sessions_app.services.keys import dashboard_key_mint, key_fingerprint
    from sessions_app.services.sessions import session_save

    made = []
    started = time.monotonic()
    for n, (phone, code) in enumerate(pairs):
        string = _setup.demo_session(phone, code)
        instance = ConnectorInstance.objects.create(
            session=f"bot-{n:04d}",
            name=f"Bench bot {n}",
            session_string=string,
            connector_key_fingerprint=key_fingerprint(string),
            status="active",
        )
        dashboard_key_mint(instance=instance, actor=None)
        session_save(instance=instance, actor=None)
        made.append(instance)
        if (n + 1) % 100 == 0:
            log(f"logged in {n + 1}/{len(pairs)} instances ({(n + 1) / (time.monotonic() - started):.1f}/s)")
    return made


class StoreCounter:
    """Counts the store's HEADs and GETs (wrapping the one cached store object's methods)."""

    def __init__(self) -> None:
        from sessions_app.storage import get_session_storage

        self.counts: Counter[str] = Counter()
        store = get_session_storage()
        for name in ("head", "load"):
            method = getattr(store, name)

            def counted(*args: Any, _method: Any = method, _name: str = name, **kwargs: Any) -> Any:
                self.counts[_name] += 1
                return _method(*args, **kwargs)

            setattr(store, name, counted)


def one_pass(world: Any, store: StoreCounter, sessions: list[str], label: str, concurrency: int = 1) -> dict[str, Any]:
    from django.db import connection
    from django.utils import timezone

    from sessions_app.models_health import HealthCheck, InstanceHealth
    from sessions_app.services.health.schedule import health_run_due

    InstanceHealth.objects.filter(instance__session__in=sessions).update(
        next_check_at=timezone.now() - timedelta(seconds=1)
    )
    first_id = HealthCheck.objects.order_by("-id").values_list("id", flat=True).first() or 0
    world.requests.clear()
    store.counts.clear()
    queries = Counter[str]()  # the calling thread's connection only: counted in one-at-a-time passes

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries["sql"] += 1
        return execute(sql, params, many, context)

    started = time.monotonic()
    with connection.execute_wrapper(count):
        checked = health_run_due(limit=len(sessions), concurrency=concurrency)
    wall = time.monotonic() - started
    checks = HealthCheck.objects.filter(id__gt=first_id)
    results = Counter(checks.values_list("result", flat=True))
    durations = [ms / 1000 for ms in checks.values_list("duration_ms", flat=True)]
    requests = sum(world.requests.values())
    by_method = Counter({method: n for (method, outcome), n in world.requests.items()})
    label = f"{label}, {concurrency} at a time"
    log(f"{label}: {checked} checks in {wall:.1f} s, results {dict(results)}")
    return {
        "label": label,
        "concurrency": concurrency,
        "checked": checked,
        "wall": wall,
        "per_check": wall / checked,
        "durations": _setup.summary_ms(durations),
        "results": dict(results),
        "requests": requests / checked,
        "by_method": {method: n / checked for method, n in sorted(by_method.items())},
        "heads": store.counts["head"] / checked,
        "gets": store.counts["load"] / checked,
        "queries": queries["sql"] / checked,
    }


def report(row: dict[str, Any]) -> None:
    methods = ", ".join(f"{method} {n:.2f}" for method, n in row["by_method"].items())
    d = row["durations"]
    print(
        f"{row['label']}: {row['checked']} checks in {row['wall']:.1f} s = {row['per_check'] * 1000:.1f} ms per check "
        f"(check itself p50 {d['p50']:.0f} ms, p95 {d['p95']:.0f} ms); results {row['results']}"
    )
    print(
        f"    per instance: {row['requests']:.2f} Telegram requests ({methods}); "
        f"store {row['heads']:.2f} HEAD + {row['gets']:.2f} GET"
        + (f"; {row['queries']:.1f} SQL queries" if row["concurrency"] == 1 else "")
    )
    capacity = INTERVAL / row["per_check"]
    print(f"    one worker watches about {capacity:,.0f} instances at a {INTERVAL} s interval")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="100 instances")
    parser.add_argument("--rtt-ms", type=float, default=50.0, help="simulated Telegram round trip (0: skip)")
    parser.add_argument("--rtt-n", type=int, default=100, help="instances in the round-trip passes")
    parser.add_argument("--concurrency", type=int, default=4, help="checks at once in the concurrent passes")
    _setup.common_arguments(parser)
    args = parser.parse_args()
    count = 100 if args.quick else args.instances

    workdir = _setup.bootstrap(database_url=args.database_url, keep=args.keep)
    log(f"working in {workdir}")
    pairs = add_demo_accounts(count)
    world = _setup.new_world(workdir / "demo-telegram.sqlite3")
    _setup.use_world(world)
    print(f"machine at start: {_setup.machine()}")

    started = time.monotonic()
    instances = make_instances(pairs)
    log(f"setup: {count} instances logged in, minted and saved in {time.monotonic() - started:.0f} s")

    from sessions_app.services.health.schedule import health_plan

    health_plan()
    store = StoreCounter()
    sessions = [instance.session for instance in instances]
    many = args.concurrency
    rows = [
        one_pass(world, store, sessions, "pass 1 (cold)"),
        one_pass(world, store, sessions, "pass 2 (steady)"),
        one_pass(world, store, sessions, "pass 3 (steady)", concurrency=many),
    ]
    if args.rtt_ms > 0:
        world.latency = args.rtt_ms / 1000
        label = f"rtt {args.rtt_ms:g} ms per request, {min(args.rtt_n, count)} instances"
        rows.append(one_pass(world, store, sessions[: args.rtt_n], label))
        rows.append(one_pass(world, store, sessions[: args.rtt_n], label, concurrency=many))
        world.latency = 0.0

    print(f"n={count} instances, one account each, on the demo Telegram")
    for row in rows:
        report(row)
    print(f"machine at end: {_setup.machine()}")


if __name__ == "__main__":
    main()
