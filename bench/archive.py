"""Archive pipeline benchmark: throughput against bare Telethon, flood-limit efficiency, peak memory.

    python bench/archive.py              # n = 100000 (a few minutes on 2 cores)
    python bench/archive.py --quick      # n = 5000, smoke run

Figures (see bench/README.md):
  a  bare Telethon iter_messages(entity, wait_time=0) over every dialog, one connected client, no DB
  b  archive_run_foreground() into the DB on a fresh instance: messages_saved / wall time
  c  b / a                                                    target >= 0.7
  t  tg-archive 1.3.1's own sync (bench/_tgarchive.py) on the same world: stored / wall time;
     b / t                                                    target >= 1.5
  r  with a simulated round trip per request (50 ms): the archive's wall time divided by the bare
     sequential loop's over the same dialogs                  target <= 0.5
  d  wall time under a 30 getHistory / 10 s flood limit, divided by the minimum that limit allows
                                                              target <= 1.15
  e  peak RSS of a whole archive run at two sizes, each in a fresh subprocess (should be flat)
  m  media download bytes per second (bench/_archive_media.py:measure, when present)

For a, b and t the demo Telegram answers from a process of its own (bench/_demo_server.py, over a
Unix socket), as Telegram's servers do their work elsewhere; its CPU is printed beside the
clients'. ``--demo-telegram inline`` answers inside the measured process instead, as before.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _setup  # noqa: E402
from bench._setup import ADA, log  # noqa: E402

HISTORY = "messages.getHistory"
CPU: dict[str, float] = {}  # process CPU seconds of the latest bare_telethon() ("a") and full_archive() ("b")
DEMO_PROCESS: dict[str, int] = {}  # {"demo Telegram": pid} while the demo Telegram answers from its own process


def _new_instance(session_name: str, session_string: str) -> Any:
    from sessions_app.models import ConnectorInstance
    from sessions_app.services.keys import dashboard_key_mint

    instance = ConnectorInstance.objects.create(
        session=session_name, name=f"Benchmark {session_name}", session_string=session_string, status="active"
    )
    return dashboard_key_mint(instance=instance, actor=None)  # the archive runs on the dashboard's own key


def _forget_archive(instance: Any) -> None:
    """The instance's archived messages and dialogs (their checkpoints) gone, for another full run."""
    from sessions_app.models import Dialog, Message

    Message.objects.filter(instance=instance).delete()
    Dialog.objects.filter(instance=instance).delete()


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

    with _ThreadCpu(DEMO_PROCESS) as others:
        started, cpu = time.perf_counter(), time.process_time()
        count = asyncio.run(run())
        CPU["a"] = time.process_time() - cpu
    CPU["a demo Telegram"] = others.seconds.get("demo Telegram", float("nan"))
    return count, time.perf_counter() - started


# -- (b) the full archive ------------------------------------------------------------------------------


class _ThreadCpu:
    """CPU seconds of the threads started during a run, by name, sampled from /proc every 0.1 s.

    The archive's reading thread (``telegram-archive``) lives only during the run, so its figure is
    its last sample: it misses at most its last 0.1 s. Linux only (elsewhere: empty).
    """

    def __init__(self, processes: dict[str, int] | None = None) -> None:
        import threading

        self.seconds: dict[str, float] = {}
        self._processes = processes or {}  # name -> pid of another process (the database server's backend)
        self._start = {name: self._cpu_of(f"/proc/{pid}/stat") for name, pid in self._processes.items()}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="bench-cpu-sampler", daemon=True)

    @classmethod
    def _cpu(cls, native_id: int) -> float | None:
        return cls._cpu_of(f"/proc/self/task/{native_id}/stat")

    @staticmethod
    def _cpu_of(stat: str) -> float | None:
        try:
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _sample(self) -> None:
        import threading

        while not self._stop.wait(0.1):
            for thread in threading.enumerate():
                if thread.native_id is not None and thread is not threading.main_thread():
                    cpu = self._cpu(thread.native_id)  # threads born during the run: all their CPU is the run's
                    if cpu is not None:
                        self.seconds[thread.name] = cpu
            for name, pid in self._processes.items():
                cpu, start = self._cpu_of(f"/proc/{pid}/stat"), self._start[name]
                if cpu is not None and start is not None:
                    self.seconds[name] = cpu - start

    def __enter__(self) -> _ThreadCpu:
        if Path("/proc/self/task").is_dir():
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        for name, pid in self._processes.items():  # the other processes' last figure, now
            cpu, start = self._cpu_of(f"/proc/{pid}/stat"), self._start[name]
            if cpu is not None and start is not None:
                self.seconds[name] = cpu - start


def _database_backend() -> dict[str, int]:
    """{"server": pid} of this thread's PostgreSQL backend (the storing thread's), when it runs on this machine."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    return {"server": int(pid)} if Path(f"/proc/{pid}").is_dir() else {}


def full_archive(instance: Any, *, total: int, label: str, profile: bool = False) -> tuple[Any, float]:
    from sessions_app.services.archive_runs import archive_run_foreground

    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started, cpu, own = time.perf_counter(), time.process_time(), time.thread_time()
    with _ThreadCpu({**_database_backend(), **DEMO_PROCESS}) as threads:
        run = archive_run_foreground(instance=instance, listener=_listener(total, label))
    elapsed = time.perf_counter() - started
    CPU["b"] = time.process_time() - cpu
    CPU["b reading thread"] = threads.seconds.get("telegram-archive", float("nan"))
    CPU["b storing thread"] = time.thread_time() - own
    CPU["b server"] = threads.seconds.get("server", float("nan"))
    CPU["b demo Telegram"] = threads.seconds.get("demo Telegram", float("nan"))
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


def rss_in_subprocess(workdir: Path, n: int, dialogs: int, database_url: str = "") -> dict[str, Any]:
    path = workdir / f"demo-rss-{n}.sqlite3"
    _world, session, _sizes = _prepare_world(path, n=n, dialogs=dialogs)
    log(f"(e) n={n}: archiving in a fresh subprocess")
    env = {**os.environ, "BENCH_SESSION": session}
    for name in ("TELECONNECT_VAR_DIR", "DATABASE_URL", "SESSION_ENCRYPTION_KEY", "TELEGRAM_DEMO_STATE"):
        env.pop(name, None)  # the child makes its own fresh environment
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, __file__, "--rss-child", str(n), "--world", str(path), "--database-url", database_url],
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


# -- (t) tg-archive ------------------------------------------------------------------------------------


def tgarchive_run(world: Any, session: str, sizes: dict[int, int], workdir: Path, *, n: int, attempt: int) -> Any:
    """One tg-archive sync over every dialog of the same world (its sleep between batches 0); None if it cannot run."""
    from bench import _tgarchive

    log(f"(t) tg-archive 1.3.1's sync on the same world, pass {attempt}")
    attempt_dir = workdir / f"tgarchive-{attempt}"  # its own files: a second sync must not find the first's
    attempt_dir.mkdir(exist_ok=True)
    try:
        result = _tgarchive.run(
            Path(world.store.path), session, sorted(sizes), attempt_dir, server=getattr(world, "server_address", "")
        )
    except (OSError, subprocess.CalledProcessError) as error:
        log(f"(t) tg-archive could not run: {error}")
        return None
    if result["messages"] != n:
        log(f"(t) tg-archive stored {result['messages']} messages, the demo Telegram holds {n}")
    return result


def print_tgarchive(f: dict[str, Any], *, dialogs: int) -> str:
    """t (tg-archive) beside this engine's b: the paired ratio (judged) and the best runs' one."""
    result = f["t best"]
    if result is None:
        print("(t) tg-archive could not run")
        return "tg-archive failed"
    rate_t = result["messages"] / result["seconds"]
    runs = ", ".join("-" if r is None else format(r, ",.0f") for r in f["t runs"])
    print(
        f"(t) tg-archive 1.3.1 sync, beside b on {f['engine']}: {rate_t:,.0f} msg/s ({result['messages']} stored in "
        f"{result['seconds']:.1f} s, {dialogs} runs, one per dialog; {result['requests']} getHistory requests; "
        f"CPU {result['cpu_seconds'] / result['messages'] * 1e6:.0f} us/msg; best of runs at {runs} msg/s)"
    )
    paired = f["bt paired"]
    print(
        f"    b/t = {paired:.2f} on {f['engine']}, the median of each b over the t run right after it "
        f"(target >= 1.5: {'met' if paired >= 1.5 else 'MISSED'}); best b / best t = {f['b'] / rate_t:.2f}"
    )
    sys.stdout.flush()
    return f"t={rate_t:,.0f} msg/s b/t={paired:.2f} ({f['engine']})"


# -- (r) round trips -----------------------------------------------------------------------------------


def round_trip_figure(workdir: Path, *, rtt_ms: float, n: int, dialogs: int) -> str:
    """Every answer held back `rtt_ms` (the event loop carries on meanwhile, as over a socket)."""
    from django.conf import settings

    log(f"(r) n={n} with {rtt_ms:g} ms per request")
    world, session, _sizes = _prepare_world(workdir / "demo-rtt.sqlite3", n=n, dialogs=dialogs)
    world.answer_delay = rtt_ms / 1000
    count, seconds_bare = bare_telethon(session)
    run, seconds_ours = full_archive(_new_instance("bench-rtt", session), total=n, label="(r)")
    ratio = seconds_ours / seconds_bare
    print(
        f"(r) {rtt_ms:g} ms round trip per request, n={n}: bare sequential loop {seconds_bare:.1f} s "
        f"({count / seconds_bare:,.0f} msg/s), archive {seconds_ours:.1f} s ({run.messages_saved / seconds_ours:,.0f} "
        f"msg/s, {settings.ARCHIVE_CONCURRENT_DIALOGS} dialogs in flight)"
    )
    print(f"    archive / bare = {ratio:.2f} (target <= 0.5: {'met' if ratio <= 0.5 else 'MISSED'})")
    sys.stdout.flush()
    return f"r={ratio:.2f} at {rtt_ms:g} ms RTT (target ≤ 0.5)"


# -- (m) media -----------------------------------------------------------------------------------------


def media_figure(workdir: Path) -> str:
    """Media bytes per second: bench/_archive_media.py:measure() (the media download's own bench)."""
    try:
        media = importlib.import_module("bench._archive_media")
    except ImportError:
        print("(m) media download: bench/_archive_media.py is not there yet")
        return "media n/a"
    log("(m) media download")
    text = str(media.measure(workdir=workdir))
    print(f"(m) {text}")
    sys.stdout.flush()
    return "m: see above"


# -- a, b and c on one engine ---------------------------------------------------------------------------


def throughput(
    workdir: Path,
    *,
    n: int,
    dialogs: int,
    repeat: int = 2,
    profile: bool = False,
    tgarchive: bool = True,
    demo: str = "process",
) -> dict[str, Any]:
    """(a) and (b) on one world, taking turns: a, b, a, b, ..., a; each figure is the best of its runs.

    On a shared machine one pass of either can lose a fifth to a neighbour: the best of several,
    measured alike for both, compares the two tools and not the moments they ran at.

    ``demo="process"``: the demo Telegram answers a, b and t from a process of its own
    (bench/_demo_server.py), as Telegram's servers do their work elsewhere; ``"inline"``: inside
    the measured process, its CPU charged to whichever tool is being measured.
    """
    log(f"seeding n={n} messages over {dialogs} dialogs")
    world, session, sizes = _prepare_world(workdir / "demo-main.sqlite3", n=n, dialogs=dialogs)
    log(f"dialog sizes: {sorted(sizes.values(), reverse=True)}")
    server = None
    if demo == "process":
        from bench import _demo_server

        server, address = _demo_server.start_server(workdir / "demo-main.sqlite3", workdir)
        world = _demo_server.remote_world(workdir / "demo-main.sqlite3", address)
        _setup.use_world(world)
        log(f"the demo Telegram answers from its own process (pid {server.pid})")
        DEMO_PROCESS["demo Telegram"] = server.pid
    try:
        figures = _throughput_runs(
            world, session, sizes, workdir, n=n, repeat=repeat, profile=profile, tgarchive=tgarchive
        )
    finally:
        DEMO_PROCESS.clear()
        if server is not None:
            _demo_server.wait_gone(server)
    figures["demo"] = demo
    return figures


def _throughput_runs(
    world: Any,
    session: str,
    sizes: dict[int, int],
    workdir: Path,
    *,
    n: int,
    repeat: int,
    profile: bool,
    tgarchive: bool,
) -> dict[str, Any]:
    from django.db import connection

    log("(a) bare Telethon, first pass")
    count_a1, seconds_a1 = bare_telethon(session)
    if count_a1 != n:
        raise RuntimeError(f"bare Telethon read {count_a1} messages, expected {n}")
    history_requests_a = world.requests[(HISTORY, "ok")]
    log(f"(a) {count_a1 / seconds_a1:.0f} msg/s ({seconds_a1:.1f} s, {history_requests_a} getHistory requests)")

    instance = _new_instance("bench-main", session)
    runs_b: list[tuple[float, Any, float, dict[str, float], int]] = []  # (rate, run, seconds, CPU, requests)
    runs_a = [(count_a1, seconds_a1)]
    runs_t: list[Any] = []
    for attempt in range(1, repeat + 1):
        if attempt > 1:  # the same instance, emptied: the next run archives everything again
            _forget_archive(instance)
            log(f"(a) bare Telethon, pass {attempt}")
            runs_a.append(bare_telethon(session))
        log(f"(b) full archive into the DB ({connection.vendor}), pass {attempt}")
        world.requests.clear()
        run, seconds_b = full_archive(instance, total=n, label="(b)", profile=profile and attempt == 1)
        _check_archived(instance, n)
        requests_b = world.requests[(HISTORY, "ok")]
        log(f"(b) {run.messages_saved / seconds_b:.0f} msg/s ({seconds_b:.1f} s, {requests_b} getHistory requests)")
        runs_b.append((run.messages_saved / seconds_b, run, seconds_b, dict(CPU), requests_b))
        if tgarchive:
            runs_t.append(tgarchive_run(world, session, sizes, workdir, n=n, attempt=attempt))
    log("(a) bare Telethon, last pass")
    runs_a.append(bare_telethon(session))
    count_a2, seconds_a2 = runs_a[-1]
    cpu_a_demo = CPU.get("a demo Telegram", float("nan"))
    rate_a = max(count / seconds for count, seconds in runs_a)
    rate_b, run, seconds_b, cpu_b, history_requests_b = max(runs_b, key=lambda r: r[0])
    saved = run.messages_saved
    return {
        "engine": connection.vendor,
        "world": world,
        "session": session,
        "sizes": sizes,
        "a": rate_a,
        "a runs": [count / seconds for count, seconds in runs_a],
        "b runs": [r[0] for r in runs_b],
        "a requests": history_requests_a,
        "b": rate_b,
        "b saved": saved,
        "b seconds": seconds_b,
        "b requests": history_requests_b,
        "c": rate_b / rate_a,
        # Each b against the a runs just before and after it, and against the t run right after it:
        # the machine's speed drifts (another tenant, a turbo), and a pair shares its moment.
        "c paired": statistics.median(
            b[0] / ((a1[0] / a1[1] + a2[0] / a2[1]) / 2) for b, a1, a2 in zip(runs_b, runs_a, runs_a[1:], strict=False)
        ),
        "t runs": [None if t is None else t["messages"] / t["seconds"] for t in runs_t],
        "t best": max((t for t in runs_t if t is not None), key=lambda t: t["messages"] / t["seconds"], default=None),
        "bt paired": statistics.median(
            [b[0] / (t["messages"] / t["seconds"]) for b, t in zip(runs_b, runs_t, strict=False) if t is not None]
            or [float("nan")]
        ),
        "cpu a us": CPU["a"] / count_a2 * 1e6,
        "cpu b us": cpu_b["b"] / saved * 1e6,
        "reading us": cpu_b["b reading thread"] / saved * 1e6,
        "storing us": cpu_b["b storing thread"] / saved * 1e6,
        "wall b us": seconds_b / saved * 1e6,
        "wall a us": [seconds_a2 / count_a2 * 1e6, seconds_a1 / count_a1 * 1e6],
        "server us": cpu_b.get("b server", float("nan")) / saved * 1e6,
        "demo us": [cpu_a_demo / count_a2 * 1e6, cpu_b.get("b demo Telegram", float("nan")) / saved * 1e6],
    }


def print_throughput(f: dict[str, Any]) -> None:
    engine = f["engine"]
    print(
        f"(a) bare Telethon iter_messages: {f['a']:,.0f} msg/s "
        f"(best of runs at {', '.join(f'{rate:,.0f}' for rate in f['a runs'])} msg/s; {f['a requests']} getHistory requests)"
    )
    print(
        f"(b) full archive into {engine}: {f['b']:,.0f} msg/s "
        f"({f['b saved']} saved in {f['b seconds']:.1f} s; {f['b requests']} getHistory requests; "
        f"best of runs at {', '.join(f'{rate:,.0f}' for rate in f['b runs'])} msg/s)"
    )
    print(
        f"    CPU time of the process: a {f['cpu a us']:.0f} us/msg, b {f['cpu b us']:.0f} us/msg "
        "(both threads; on a busy machine the wall-time figures follow the CPU the process gets)"
    )
    server = f" + the database server's backend {f['server us']:.0f} us/msg" if not math.isnan(f["server us"]) else ""
    print(
        f"    b per thread: reading (event loop) {f['reading us']:.0f} us/msg CPU, "
        f"storing (the run's thread) {f['storing us']:.0f} us/msg CPU{server}, "
        f"wall {f['wall b us']:.0f} us/msg (a: {f['wall a us'][0]:.0f} and {f['wall a us'][1]:.0f} us/msg)"
    )
    if f.get("demo") == "process":
        demo_a, demo_b = f["demo us"]
        print(
            f"    the demo Telegram's own process (what Telegram's servers do): {demo_a:.0f} us/msg CPU during a, "
            f"{demo_b:.0f} during b"
        )
    else:
        print("    the demo Telegram answered inside the measured process (--demo-telegram inline)")
    paired = f["c paired"]
    print(
        f"(c) b/a = {paired:.2f} on {engine}, the median of each b over the mean of the a runs before and after it "
        f"(target >= 0.7: {'met' if paired >= 0.7 else 'MISSED'}); best b / best a = {f['c']:.2f}"
    )


def sqlite_beside(
    workdir: Path, *, n: int, dialogs: int, repeat: int, skip_tgarchive: bool, demo: str
) -> dict[str, Any]:
    """a, b and c on SQLite in a fresh subprocess, beside the figures of the --database-url engine."""
    log("a, b and c on SQLite too, in a fresh subprocess")
    env = dict(os.environ)
    for name in ("TELECONNECT_VAR_DIR", "DATABASE_URL", "SESSION_ENCRYPTION_KEY", "TELEGRAM_DEMO_STATE"):
        env.pop(name, None)  # the child makes its own fresh environment
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [
            sys.executable,
            __file__,
            "--throughput-child",
            "--n",
            str(n),
            "--dialogs",
            str(dialogs),
            "--repeat",
            str(repeat),
            "--demo-telegram",
            demo,
            *(["--skip-tgarchive"] if skip_tgarchive else []),
        ],
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


# -- main ----------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="messages for a, b and the larger RSS size")
    parser.add_argument("--quick", action="store_true", help="smoke run: n=5000, flood n=3000")
    parser.add_argument("--dialogs", type=int, default=8, help="dialogs the messages are spread over (>= 5)")
    parser.add_argument("--flood-n", type=int, default=30_000, help="messages for the flood-limit run (d)")
    parser.add_argument("--flood-count", type=int, default=30, help="getHistory requests allowed per window")
    parser.add_argument("--flood-window", type=float, default=10.0, help="the window, seconds")
    parser.add_argument("--rtt-ms", type=float, default=50.0, help="simulated round trip per request for r (0 to skip)")
    parser.add_argument("--rtt-n", type=int, default=10_000, help="messages for the r run")
    parser.add_argument("--skip-tgarchive", action="store_true", help="skip tg-archive's run (t)")
    parser.add_argument("--skip-media", action="store_true", help="skip the media download figure (m)")
    parser.add_argument("--skip-flood", action="store_true")
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile the archive run (b), stats on stderr")
    parser.add_argument(
        "--demo-telegram",
        choices=("process", "inline"),
        default="process",
        help="where the demo Telegram answers a, b and t: its own process, as Telegram's servers are "
        "elsewhere (default), or inside the measured process",
    )
    parser.add_argument("--repeat", type=int, default=2, help="runs of b and of t (a: one more); the best of each")
    parser.add_argument("--rss-child", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--world", default="", help=argparse.SUPPRESS)
    parser.add_argument("--throughput-child", action="store_true", help=argparse.SUPPRESS)
    _setup.common_arguments(parser)
    args = parser.parse_args()
    if args.quick:
        args.n, args.flood_n, args.rtt_n = 5_000, 3_000, 2_000
    if args.dialogs < 5:
        parser.error("--dialogs must be at least 5")

    database_url = _setup.fresh_database(args.database_url)  # a new database on the server, for every run
    workdir = _setup.bootstrap(database_url=database_url, keep=args.keep)
    if args.rss_child:
        rss_child(args.world, os.environ["BENCH_SESSION"], args.rss_child)
        return
    # a, b and t as asked, the same in this process and in the SQLite child beside it
    runs: dict[str, Any] = {
        "n": args.n,
        "dialogs": args.dialogs,
        "repeat": args.repeat,
        "tgarchive": not args.skip_tgarchive,
        "demo": args.demo_telegram,
    }
    if args.throughput_child:
        figures = throughput(workdir, **runs)
        for name in ("world", "session", "sizes"):
            del figures[name]
        print(json.dumps(figures))
        return
    if args.keep:
        log(f"working directory: {workdir}")
    load_at_start = _setup.machine()
    log(f"machine: {load_at_start}")

    figures = throughput(workdir, **runs, profile=args.profile)
    figures.pop("world"), figures.pop("session")
    sizes = figures.pop("sizes")
    print(f"machine at start: {load_at_start}")
    print(f"n={args.n} messages over {len(sizes)} dialogs (sizes {min(sizes.values())}..{max(sizes.values())})")
    print_throughput(figures)
    sqlite_figures: dict[str, Any] | None = None
    if figures["engine"] != "sqlite":
        sqlite_figures = sqlite_beside(
            workdir,
            n=args.n,
            dialogs=args.dialogs,
            repeat=args.repeat,
            skip_tgarchive=args.skip_tgarchive,
            demo=args.demo_telegram,
        )
        print_throughput(sqlite_figures)
    sys.stdout.flush()

    tga_text = "tg-archive skipped"
    if not args.skip_tgarchive:
        texts = [print_tgarchive(figures, dialogs=len(sizes))]
        if sqlite_figures is not None:
            texts.append(print_tgarchive(sqlite_figures, dialogs=len(sizes)))
        tga_text = " ".join(texts) + " (target ≥ 1.5)"

    rtt_text = ""
    if args.rtt_ms > 0:
        rtt_text = round_trip_figure(workdir, rtt_ms=args.rtt_ms, n=args.rtt_n, dialogs=args.dialogs)

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
            rss.append(rss_in_subprocess(workdir, size, args.dialogs, args.database_url))
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

    media_text = "media skipped"
    if not args.skip_media:
        media_text = media_figure(workdir)

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
    engines = " ".join(
        f"{f['engine']}: a={f['a']:,.0f} msg/s b={f['b']:,.0f} msg/s c={f['c paired']:.2f} (paired; best {f['c']:.2f})"
        for f in (figures, sqlite_figures)
        if f is not None
    )
    print(f"archive bench: {engines} (target c ≥ 0.7) {tga_text} {rtt_text} {d_text} {rss_text} {media_text}")


if __name__ == "__main__":
    main()
