"""Setting and clearing an instance's own proxy (owners; issue 18, section 5).

The URL holds credentials, so it is stored encrypted and the audit trail keeps only its masked
form (scheme://host:port). It takes effect at the instance's next connection; a connection already
open (an archive run's) keeps its way out until it reconnects.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from sessions_app.crypto import unreadable_fields
from sessions_app.models import ConnectorInstance
from sessions_app.models_network import InstanceProxy
from sessions_app.services.audit import audit_record
from sessions_app.services.errors import ActionRefused
from sessions_app.services.instance_admin import InstanceGone
from sessions_app.telegram.proxy import ProxyInvalid, parse_proxy

NONE = "none"  # in the audit detail: no proxy of its own (TELEGRAM_PROXY, or direct)


class ProxyRefused(ActionRefused):
    field = "proxy"


@sensitive_variables("url", "proxy")
@transaction.atomic
def instance_proxy_set(*, instance: ConnectorInstance, actor: User | None, url: str) -> InstanceProxy | None:
    """Give the instance its own proxy, or with an empty `url` remove it (back to TELEGRAM_PROXY).

    ProxyRefused (nothing changes) for a URL teleconnect cannot use; InstanceGone when someone
    deleted the instance since the page was loaded. Returns the instance's proxy row (None: cleared).
    """
    try:
        proxy = parse_proxy(url)
    except ProxyInvalid as invalid:
        raise ProxyRefused(f"{invalid.message} The proxy was not changed.") from None
    # Locked, so a delete waits for this (and no row is written for an instance that is gone).
    if not ConnectorInstance.objects.select_for_update().filter(pk=instance.pk).exists():
        raise InstanceGone()
    current = InstanceProxy.objects.filter(instance=instance).first()
    previous = current.masked if current is not None else NONE
    if proxy is None:
        if current is None:
            return None
        current.delete()
        audit_record(instance=instance, actor=actor, action="instance.proxy", detail={"from": previous, "to": NONE})
        return None
    if current is not None and not unreadable_fields(current) and current.url == proxy.url():
        return current  # a second submit of the same proxy
    row = current or InstanceProxy(instance=instance)
    row.url, row.masked, row.updated_by = proxy.url(), proxy.masked(), actor
    row.save()
    # Only the masked form: the credentials and an MTProxy secret never reach the audit trail.
    audit_record(
        instance=instance, actor=actor, action="instance.proxy", detail={"from": previous, "to": proxy.masked()}
    )
    return row
