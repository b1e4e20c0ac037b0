"""How an instance reaches Telegram: its own proxy, else TELEGRAM_PROXY, else directly."""

from __future__ import annotations

from dataclasses import dataclass

from sessions_app.models import ConnectorInstance
from sessions_app.models_network import InstanceProxy
from sessions_app.telegram.client import proxy_or_default
from sessions_app.telegram.proxy import Proxy, parse_proxy


def instance_own_proxy(instance: ConnectorInstance) -> Proxy | None:
    """The instance's own proxy (decrypted and parsed), None when it has none: for its clients' labels."""
    # By id: an instance not saved yet (pk None) simply has none.
    own = InstanceProxy.objects.filter(instance_id=instance.pk).only("url").first()
    # The attribute raises SecretUnreadable when no configured key decrypts it, like a session string.
    # The URL was written only after parse_proxy accepted it (services.proxy), so it parses again.
    return parse_proxy(own.url) if own is not None else None


@dataclass(frozen=True)
class Egress:
    """What the pages say about an instance's way out; never a credential."""

    masked: str  # scheme://host:port, or "" for a direct connection
    own: bool  # the instance's own proxy (False: TELEGRAM_PROXY or direct)

    def __str__(self) -> str:
        return self.masked or "direct"


def instance_egress(instance: ConnectorInstance) -> Egress:
    """For pages: the masked proxy the instance's connections go through, without decrypting the URL."""
    masked = InstanceProxy.objects.filter(instance=instance).values_list("masked", flat=True).first()
    if masked:
        return Egress(masked=masked, own=True)
    default = proxy_or_default(None)
    return Egress(masked=default.masked() if default is not None else "", own=False)
