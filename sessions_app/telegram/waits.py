"""How long to wait: the one rounding and wording for every wait the pages, the archive and the login throttle show.

Split out of errors.py (which re-exports both) to keep that module under the size limit.
"""

from __future__ import annotations

import datetime
import math


def seconds_left(until: datetime.datetime | None, now: datetime.datetime | None = None) -> int:
    """Whole seconds still to wait until `until`, rounded up; 0 when there is no wait or it is over.

    The one rounding for every wait the pages, the archive and the login throttle show.
    """
    if until is None:
        return 0
    now = now or datetime.datetime.now(tz=datetime.UTC)
    return max(0, math.ceil((until - now).total_seconds()))


def format_seconds(seconds: int) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {sec} s" if sec else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
