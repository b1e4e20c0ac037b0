"""One write to a local session store, in a child process that file permissions apply to.

Run by test_temporary_files.py, under `setpriv` without the capabilities that let root ignore
permissions when the tests run as root. Prints what happened as JSON.
"""

from __future__ import annotations

import json
import sys

from django.conf import settings

settings.configure()

from sessions_app.storage import LocalSessionStore, StoreError  # noqa: E402


def main(root: str, session: str, content: str, expected_etag: str) -> None:
    store = LocalSessionStore(root)
    try:
        info = store.save(session, content, expected_etag=expected_etag or None)
    except StoreError as error:
        print(json.dumps({"saved": False, "reason": error.reason, "message": error.message}))
    else:
        print(json.dumps({"saved": True, "etag": info.etag}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
