"""{% instance_egress instance as egress %}: the instance's way out to Telegram, for any page that shows it."""

from __future__ import annotations

from django import template

from sessions_app.models import ConnectorInstance
from sessions_app.selectors.proxy import Egress
from sessions_app.selectors.proxy import instance_egress as _instance_egress

register = template.Library()


@register.simple_tag
def instance_egress(instance: ConnectorInstance) -> Egress:
    return _instance_egress(instance)
