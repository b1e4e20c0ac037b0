"""The instance list's rows, built in Python: ``{% instance_rows rows %}``.

A page holds 50 rows of about 16 values each. Django's template engine resolved every one of
those 800 values through its lookup and rendering machinery, which was a third of the page's
time on a 10,000-instance fleet (bench/pages.py). Here each row is one ``str.format`` of the same
markup the template printed, every value escaped with ``html.escape`` (what Django's escape
does, without its lazy-string wrapper per call). The values come ready to print from
selectors.instances.list_rows (a ListRow each).
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe

from sessions_app.selectors.instances import ListRow

register = template.Library()

_ROW = (
    "<tr>"
    '<td class="select"><input type="checkbox" name="session" value="{session}" form="bulk" '
    'id="select-{session}" aria-label="Select {session}"></td>'
    '<td class="session"><a href="{url}"><code>{session}</code></a></td>'
    '<td class="name">{name}</td>'
    '<td class="status" data-label="Status"><span class="badge {status}">{status_label}</span></td>'
    '<td class="health" data-label="Health">{health}</td>'
    '<td class="muted" data-label="Last checked">{checked}</td>'
    '<td class="muted" data-label="Connector last active">{connector_active}</td>'
    '<td data-label="Account">{account}</td>'
    '<td class="muted updated" data-label="Updated">{updated}</td>'
    "</tr>\n"
)


def _health(row: ListRow) -> str:
    if not row["health_state"]:
        return '<span class="muted">not checked yet</span>'
    badge = '<span class="badge health-{}" title="{}">{}</span>'.format(
        escape(row["health_state"]), escape(row["health_reason"]), escape(row["health_label"])
    )
    if row["failing_since"]:
        return f'{badge}<br><span class="muted">checks failing since {escape(row["failing_since"])}</span>'
    return badge


def _account(row: ListRow) -> str:
    html = escape(row["telegram_name"] or "—")
    if row["telegram_username"]:
        html += f' <span class="muted">@{escape(row["telegram_username"])}</span>'
    if row["phone_masked"]:
        html += f'<br><span class="muted">{escape(row["phone_masked"])}</span>'
    return html


@register.simple_tag
def instance_rows(rows: Iterable[ListRow]) -> SafeString:
    """The ``<tr>`` of every row, in order, every value escaped (as Django's escape does)."""
    html = [
        _ROW.format(
            session=escape(row["session"]),
            url=escape(row["url"]),
            name=escape(row["name"]),
            status=escape(row["status"]),
            status_label=escape(row["status_label"]),
            health=_health(row),
            checked=escape(row["checked"]),
            connector_active=escape(row["connector_active"]),
            account=_account(row),
            updated=escape(row["updated"]),
        )
        for row in rows
    ]
    return mark_safe("".join(html))  # noqa: S308 - every value above is escaped
