"""Archive pipeline benchmark: throughput against bare Telethon, flood-limit efficiency, peak memory.

    python bench/archive.py              # n = 100000 (a few minutes on 2 cores)
    python bench/archive.py --quick      # n = 5000, smoke run

Figures (see bench/README.md):
  a  bare Telethon iter_messages(entity, wait_time=0) over every dialog, one connected client, no DB
  b  archive_run_foreground() into the DB on a fresh instance: messages_saved / wall time
  c  b / a                                                    target >= 0.7
  d  wall time under a 30 getHistory / 10 s flood limit, divided by the minimum that limit allows
                                                              target <= 1.15
  e  peak RSS of a whole archive run at two sizes, each in a fresh subprocess (should be flat)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _setup  # noqa: E402
from bench._setup import ADA, log  # noqa: E402

HISTORY = "messages.getHistory"


def _new_instance(session_name: str, session_string: str) -> Any:
    from sessions_app.models import ConnectorInstance
    from sessions_app.services.keys import dashboard_key_mint

    instance = ConnectorInstance.objects.create(
        session=session_name, name=f"Benchmark {session_name}", session_string=session_string, status="active"
    )
    return dashboard_key_mint(instance=instance, actor=None)  # the archive runs on the dashboard's own key


def _listener(total: int, label: str) -> Any:
    """Progress to stderr about every 10% (and on every flood wait)."""
    state = {"next": 0.1, "floods": 0}

    def listen(progress: Any) -> None:
        saved = progress.messages_saved
        if progress.flood_wait_seconds:
            state["floods"] += 1
            if state["floods"] % 5 == 1:
                log(f"{label}: flood wait {progress.flood_wait_seconds} s (#{state['floods']}), {saved}/{total} saved")
        if total and saved / total >= state["next"]:
            log(f"{label}: {saved}/{total} messages ({progress.rate} msg/s)")
            state["next"] += 0.1

    return listen


def _prepare_world(path: Path, *, n: int, dialogs: int) -> tuple[Any, str, dict[int, int]]:
    world = _setup.new_world(path)
    _setup.use_world(world)
    sizes = _setup.seed_exactly(world, ADA, total=n, dialogs=dialogs)
    session = _setup.demo_session()
    world.requests.clear()
    return world, session, sizes


# -- (a) bare Telethon ---------------------------------------------------------------------------------


def bare_telethon(session: str) -> tuple[int, float]:
    """(messages, seconds): every dialog iterated to the end on one connected client, nothing stored."""
    from sessions_app.telegram import client as telegram_client

    async def run() -> int:
        client = telegram_client.build_client(session, telegram_client.default_credentials())
        await client.connect()
        try:
            count = 0
            entities = [dialog.entity async for dialog in client.iter_dialogs()]
            for entity in entities:
                async for _message in client.iter_messages(entity, wait_time=0):
                    count += 1
            return count
        finally:
            await client.disconnect()

    started = time.perf_counter()
    count = asyncio.run(run())
    return count, time.perf_counter() - started


# -- (b) the full archive ------------------------------------------------------------------------------


def full_archive(instance: Any, *, total: int, label: str, profile: bool = False) -> tuple[Any, float]:
    from sessions_app.services.archive_runs import archive_run_foreground

    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    run = archive_run_foreground(instance=instance, listener=_listener(total, label))
    elapsed = time.perf_counter() - started
    if profiler is not None:
        import pstats

        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(45)
    if run.status != "done":
        raise RuntimeError(f"{label}: archive run ended {run.status}: {run.error}")
    return run, elapsed


def _check_archived(instance: Any, expected: int) -> None:
    from sessions_app.models import Message

    stored = Message.objects.filter(instance=instance).count()
    if stored != expected:
        raise RuntimeError(f"the archive holds {stored} messages, the demo Telegram {expected}")


# -- (d) under a flood limit ---------------------------------------------------------------------------


def minimum_seconds(requests: int, count: int, window: float) -> float:
    """The least time a sliding-window limit of `count` per `window` lets `requests` requests take.

    Request k (0-based) can go only once request k-count left the window, so the last one
    goes at least floor((requests - 1) / count) windows after the first.
    """
    return max(0, (requests - 1) // count) * window


# -- (e) peak RSS in a fresh process -------------------------------------------------------------------


def rss_child(world_path: str, session: str, n: int) -> None:
    """Entry point of the subprocess: archive the prepared world into a fresh DB, print JSON.

    The process's peak includes Django's setup and the migrations; the run's peak is VmHWM after
    resetting it just before the run, so it shows what the archive itself needs. (ru_maxrss is no
    use in a child: Linux carries the parent's peak over at exec, so it reports the parent's size.)
    """
    world = _setup.new_world(Path(world_path))
    _setup.use_world(world)
    instance = _new_instance(f"rss-{n}", session)
    setup_peak = _setup.peak_rss_since_reset_mib() or _setup.peak_rss_mib()
    start = _setup.current_rss_mib()
    reset = _setup.reset_peak_rss()
    run, elapsed = full_archive(instance, total=n, label=f"(e) n={n}")
    run_peak = _setup.peak_rss_since_reset_mib() if reset else None
    _check_archived(instance, n)
    print(
        json.dumps(
            {
                "n": n,
                "messages": run.messages_saved,
                "seconds": elapsed,
                "setup_peak_mib": setup_peak,
                "run_start_mib": start,
                "run_peak_mib": run_peak,
                "process_peak_mib": max(setup_peak, run_peak or 0) if reset else _setup.peak_rss_mib(),
            }
        )
    )


def rss_in_subprocess(workdir: Path, n: int, dialogs: int) -> dict[str, Any]:
    path = workdir / f"demo-rss-{n}.sqlite3"
    _world, session, _sizes = _prepare_world(path, n=n, dialogs=dialogs)
    log(f"(e) n={n}: archiving in a fresh subprocess")
    env = {**os.environ, "BENCH_SESSION": session}
    for name in ("TELECONNECT_VAR_DIR", "DATABASE_URL", "SESSION_ENCRYPTION_KEY", "TELEGRAM_DEMO_STATE"):
        env.pop(name, None)  # the child makes its own fresh environment
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, __file__, "--rss-child", str(n), "--world", str(path)],
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- main ----------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="messages for a, b and the larger RSS size")
    parser.add_argument("--quick", action="store_true", help="smoke run: n=5000, flood n=3000")
    parser.add_argument("--dialogs", type=int, default=8, help="dialogs the messages are spread over (>= 5)")
    parser.add_argument("--flood-n", type=int, default=30_000, help="messages for the flood-limit run (d)")
    parser.add_argument("--flood-count", type=int, default=30, help="getHistory requests allowed per window")
    parser.add_argument("--flood-window", type=float, default=10.0, help="the window, seconds")
    parser.add_argument(
        "--rtt-ms", type=float, default=50.0, help="simulated round trip per request for c' (0 to skip)"
    )
    parser.add_argument("--rtt-n", type=int, default=10_000, help="messages for the c' run")
    parser.add_argument("--skip-flood", action="store_true")
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile the archive run (b), stats on stderr")
    parser.add_argument("--rss-child", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--world", default="", help=argparse.SUPPRESS)
    _setup.common_arguments(parser)
    args = parser.parse_args()
    if args.quick:
        args.n, args.flood_n, args.rtt_n = 5_000, 3_000, 2_000
    if args.dialogs < 5:
        parser.error("--dialogs must be at least 5")

    workdir = _setup.bootstrap(database_url=args.database_url, keep=args.keep)
    if args.rss_child:
        rss_child(args.world, os.environ["BENCH_SESSION"], args.rss_child)
        return
    if args.keep:
        log(f"working directory: {workdir}")
    load_at_start = _setup.machine()
    log(f"machine: {load_at_start}")

    # (a) and (b) on one world: bare Telethon first, the archive, bare Telethon again (best of two).
    log(f"seeding n={args.n} messages over {args.dialogs} dialogs")
    world, session, sizes = _prepare_world(workdir / "demo-main.sqlite3", n=args.n, dialogs=args.dialogs)
    log(f"dialog sizes: {sorted(sizes.values(), reverse=True)}")
    log("(a) bare Telethon, first pass")
    count_a1, seconds_a1 = bare_telethon(session)
    if count_a1 != args.n:
        raise RuntimeError(f"bare Telethon read {count_a1} messages, expected {args.n}")
    history_requests_a = world.requests[(HISTORY, "ok")]
    log(f"(a) {count_a1 / seconds_a1:.0f} msg/s ({seconds_a1:.1f} s, {history_requests_a} getHistory requests)")

    log("(b) full archive into the DB")
    world.requests.clear()
    instance = _new_instance("bench-main", session)
    run, seconds_b = full_archive(instance, total=args.n, label="(b)", profile=args.profile)
    _check_archived(instance, args.n)
    history_requests_b = world.requests[(HISTORY, "ok")]
    rate_b = run.messages_saved / seconds_b
    log(f"(b) {rate_b:.0f} msg/s ({seconds_b:.1f} s, {history_requests_b} getHistory requests)")

    log("(a) bare Telethon, second pass")
    count_a2, seconds_a2 = bare_telethon(session)
    rate_a = max(count_a1 / seconds_a1, count_a2 / seconds_a2)
    ratio_c = rate_b / rate_a

    print(f"machine at start: {load_at_start}")
    print(f"n={args.n} messages over {len(sizes)} dialogs (sizes {min(sizes.values())}..{max(sizes.values())})")
    print(
        f"(a) bare Telethon iter_messages: {rate_a:,.0f} msg/s "
        f"(runs: {count_a1 / seconds_a1:,.0f} and {count_a2 / seconds_a2:,.0f} msg/s; "
        f"{history_requests_a} getHistory requests)"
    )
    print(
        f"(b) full archive into the DB:    {rate_b:,.0f} msg/s "
        f"({run.messages_saved} saved in {seconds_b:.1f} s; {history_requests_b} getHistory requests)"
    )
    print(f"(c) b/a = {ratio_c:.2f} (target >= 0.7: {'met' if ratio_c >= 0.7 else 'MISSED'})")
    sys.stdout.flush()

    rtt_text = ""
    if args.rtt_ms > 0:
        log(f"(c') n={args.rtt_n} with {args.rtt_ms:g} ms per request")
        rtt_world, rtt_session, _sizes = _prepare_world(
            workdir / "demo-rtt.sqlite3", n=args.rtt_n, dialogs=args.dialogs
        )
        rtt_world.latency = args.rtt_ms / 1000
        count_ra, seconds_ra = bare_telethon(rtt_session)
        rtt_run, seconds_rb = full_archive(_new_instance("bench-rtt", rtt_session), total=args.rtt_n, label="(c')")
        rate_ra, rate_rb = count_ra / seconds_ra, rtt_run.messages_saved / seconds_rb
        print(
            f"(c') with a simulated {args.rtt_ms:g} ms round trip per request, n={args.rtt_n}: "
            f"a'={rate_ra:,.0f} msg/s b'={rate_rb:,.0f} msg/s b'/a'={rate_rb / rate_ra:.2f}"
        )
        rtt_text = f" c'={rate_rb / rate_ra:.2f} at {args.rtt_ms:g} ms RTT"
        sys.stdout.flush()

    ratio_d = float("nan")
    if not args.skip_flood:
        log(f"(d) n={args.flood_n} under {args.flood_count} getHistory / {args.flood_window:g} s")
        flood_world, flood_session, flood_sizes = _prepare_world(
            workdir / "demo-flood.sqlite3", n=args.flood_n, dialogs=args.dialogs
        )
        estimate = sum(math.ceil(size / 100) + 1 for size in flood_sizes.values())
        flood_world.set_rate_limit(HISTORY, args.flood_count, args.flood_window)
        flood_instance = _new_instance("bench-flood", flood_session)
        flood_run, seconds_d = full_archive(flood_instance, total=args.flood_n, label="(d)")
        _check_archived(flood_instance, args.flood_n)
        made = flood_world.requests[(HISTORY, "ok")]
        refused = flood_world.requests[(HISTORY, "flood")]
        minimum = minimum_seconds(made, args.flood_count, args.flood_window)
        ratio_d = seconds_d / minimum if minimum else float("nan")
        print(
            f"(d) flood limit {args.flood_count}/{args.flood_window:g} s, n={args.flood_n}: "
            f"{made} getHistory requests answered (+{refused} answered FLOOD_WAIT; "
            f"ceil(m/100)+1 per dialog estimates {estimate}), {flood_run.flood_waits} flood waits slept"
        )
        print(
            f"    wall {seconds_d:.1f} s / minimum {minimum:.0f} s (floor(({made}-1)/{args.flood_count}) * "
            f"{args.flood_window:g} s) = {ratio_d:.3f} (target <= 1.15: {'met' if ratio_d <= 1.15 else 'MISSED'})"
        )
        sys.stdout.flush()

    rss: list[dict[str, Any]] = []
    if not args.skip_rss:
        for size in (args.n // 4, args.n):
            rss.append(rss_in_subprocess(workdir, size, args.dialogs))
        small, large = rss
        key = "run_peak_mib" if small["run_peak_mib"] and large["run_peak_mib"] else "process_peak_mib"
        for row in rss:
            print(
                f"(e) n={row['n']:>6}: peak RSS {row['process_peak_mib']:.1f} MiB for the whole process "
                f"(setup and migrations alone {row['setup_peak_mib']:.1f}); during the run: "
                f"{row['run_start_mib'] or float('nan'):.1f} MiB at the start, peak "
                f"{row['run_peak_mib'] or float('nan'):.1f} MiB ({row['messages'] / row['seconds']:,.0f} msg/s)"
            )
        print(f"    ratio n={large['n']} / n={small['n']}: {large[key] / small[key]:.2f} ({key})")
        sys.stdout.flush()

    rss_text = "rss skipped"
    if rss:
        key = "run_peak_mib" if rss[0]["run_peak_mib"] and rss[1]["run_peak_mib"] else "process_peak_mib"
        rss_text = (
            f"rss n1={rss[0]['n']}: {rss[0][key]:.1f} MiB n2={rss[1]['n']}: {rss[1][key]:.1f} MiB "
            f"(x{rss[1][key] / rss[0][key]:.2f})"
        )
    d_text = f"d={ratio_d:.3f} (target ≤ 1.15)" if not args.skip_flood else "d skipped"
    print(f"machine at end: {_setup.machine()}")
    print()
    print(
        f"archive bench: a={rate_a:,.0f} msg/s b={rate_b:,.0f} msg/s c={ratio_c:.2f} (target ≥ 0.7){rtt_text} "
        f"{d_text} {rss_text}"
    )


if __name__ == "__main__":
    main()
