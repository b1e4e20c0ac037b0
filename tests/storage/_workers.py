"""Code run in child processes (spawned, so it is imported fresh): keep its imports small."""

from __future__ import annotations

from typing import Any

ROUNDS = 20


def race_rounds(location: str, name: str, barrier: Any, results: Any) -> None:
    """Each round: both processes read the ETag, then both try to replace it; report the outcome."""
    from django.conf import settings

    if not settings.configured:
        settings.configure()

    from sessions_app.storage import LocalSessionStore, StoreConflict

    store = LocalSessionStore(location)
    outcomes = []
    for round_no in range(ROUNDS):
        barrier.wait()
        info = store.head("race")
        etag = info.etag if info else None
        barrier.wait()  # both have read the same ETag; nobody has written yet
        try:
            store.save("race", f"{name}-{round_no}", expected_etag=etag)
            outcomes.append("won")
        except StoreConflict:
            outcomes.append("lost")
    results.put((name, outcomes))
