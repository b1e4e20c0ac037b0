"""(m) Media download throughput: bytes per second of an archive run's media phase.

Called by bench/archive.py (``measure(workdir=...)``) or on its own:

    python bench/_archive_media.py [--n 3000] [--dialogs 5]

On a world of its own: the messages are archived first (no media), then a second run downloads
every kind of media up to ARCHIVE_MEDIA_MAX_BYTES into the local media store; its wall time is the
media phase's (the message phase finds nothing new). Bare Telethon downloading the same files
(download_media to one file each, each file id once, one client, no DB) is the reference. The run
also links every message to its file in the DB and fsyncs each stored file before marking it done.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _setup  # noqa: E402
from bench._setup import ADA, log  # noqa: E402

GET_FILE = "upload.getFile"


def _bare_download(session: str, max_bytes: int, directory: Path) -> tuple[int, int, float]:
    """(files, bytes, seconds): Telethon's download_media over every dialog into `directory`, each file id once.

    What the usual tools do (tdl, tg-archive): one file per media on disk, no database, no fsync.
    """
    from sessions_app.telegram import client as telegram_client

    async def main() -> tuple[int, int, float]:
        client = telegram_client.build_client(session, telegram_client.default_credentials())
        await client.connect()
        seen: set[int] = set()
        files = size = 0
        started = time.perf_counter()
        async for dialog in client.iter_dialogs():
            async for message in client.iter_messages(dialog.entity, wait_time=0):
                media = message.photo or message.document
                if media is None or media.id in seen or (message.file.size or 0) > max_bytes:
                    continue
                seen.add(media.id)
                path = await client.download_media(message, file=str(directory / str(media.id)))
                files, size = files + 1, size + Path(path).stat().st_size
        seconds = time.perf_counter() - started
        await client.disconnect()
        return files, size, seconds

    return asyncio.run(main())


def measure(*, workdir: Path, n: int = 3_000, dialogs: int = 5) -> str:
    """Archive n messages, then time a run that downloads their media; returns the figure's line."""
    from django.conf import settings

    from sessions_app.models import ConnectorInstance
    from sessions_app.models_media import ArchivedMedia, ArchiveRunMedia, MediaKind
    from sessions_app.services.archive_media import MediaChoice
    from sessions_app.services.archive_runs import archive_run_foreground
    from sessions_app.services.keys import dashboard_key_mint

    world = _setup.new_world(workdir / "demo-media.sqlite3")
    _setup.use_world(world)
    _setup.seed_exactly(world, ADA, total=n, dialogs=dialogs)
    session = _setup.demo_session()
    instance = ConnectorInstance.objects.create(
        session="bench-media", name="Benchmark media", session_string=session, status="active"
    )
    instance = dashboard_key_mint(instance=instance, actor=None)
    log(f"(m) archiving {n} messages without media")
    archive_run_foreground(instance=instance)

    cap = settings.ARCHIVE_MEDIA_MAX_BYTES
    world.requests.clear()
    log("(m) the run with media")
    started = time.perf_counter()
    run = archive_run_foreground(instance=instance, media=MediaChoice(tuple(MediaKind.values), cap))
    seconds = time.perf_counter() - started
    if run.status != "done":
        raise RuntimeError(f"the media run ended {run.status}: {run.error}")
    plan = ArchiveRunMedia.objects.get(run=run)
    stored = ArchivedMedia.objects.filter(instance=instance, status="done").count()
    requests = world.requests[(GET_FILE, "ok")]
    rate = plan.bytes_done / seconds

    log("(m) bare Telethon download_media over the same files")
    bare_files, bare_bytes, bare_seconds = _bare_download(session, cap, workdir / "bare-media")
    bare_rate = bare_bytes / bare_seconds
    if (bare_files, bare_bytes) != (stored, plan.bytes_done):
        log(
            f"(m) note: bare Telethon read {bare_files} files / {bare_bytes} B, the run stored {stored} / {plan.bytes_done}"
        )
    return (
        f"media download: {rate / 1e6:.1f} MB/s ({plan.files_done} files, {plan.bytes_done / 1e6:.1f} MB in {seconds:.2f} s, "
        f"{requests} getFile requests, {plan.files_too_big} messages above the {cap / 2**20:g} MiB cap); "
        f"bare Telethon download_media to files {bare_rate / 1e6:.1f} MB/s ({bare_files} files in {bare_seconds:.2f} s); "
        f"ratio {rate / bare_rate:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=3_000, help="messages in the world (about a third carry media)")
    parser.add_argument("--dialogs", type=int, default=5)
    _setup.common_arguments(parser)
    args = parser.parse_args()
    workdir = _setup.bootstrap(database_url=args.database_url, keep=args.keep)
    log(f"machine: {_setup.machine()}")
    print(f"(m) {measure(workdir=workdir, n=args.n, dialogs=args.dialogs)}")


if __name__ == "__main__":
    main()
