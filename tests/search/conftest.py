"""Archive data for the search tests, and engine-specific tests selected by the database in use.

The suite runs on whichever database the session has (SQLite by default, PostgreSQL when
scripts/test sets DATABASE_URL). Tests marked `only_on("sqlite")` or `only_on("postgresql")`
check what one engine does and the other does not; on the other engine they are deselected
(never skipped), so the summary's "deselected" count says what did not apply.
"""

from __future__ import annotations

import pytest
from django.db import connection

from sessions_app.models import ConnectorInstance
from tests.search.support import Archive


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "only_on(vendor): run only when the test database is that vendor")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("only_on")
        (drop if marker is not None and marker.args[0] != connection.vendor else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def archive(db) -> Archive:
    return Archive()


@pytest.fixture
def account(archive: Archive) -> ConnectorInstance:
    return archive.instance("search-a")
