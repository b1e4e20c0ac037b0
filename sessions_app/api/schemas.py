"""What the API takes and gives, as pydantic schemas: the OpenAPI document is generated from these."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import Field

from sessions_app.models import ConnectorInstance
from sessions_app.models_health import Health, InstanceHealth
from sessions_app.selectors import instance_state


class HealthOut(Schema):
    result: str = Field(description="The last check's finding: " + ", ".join(Health.values))
    checked_at: datetime | None
    reason: str


class AccountOut(Schema):
    name: str
    username: str


class InstanceOut(Schema):
    session: str
    name: str
    status: str
    reason: str = Field(description="Why the status is what it is, in words (empty when there is nothing to say)")
    health: HealthOut
    account: AccountOut


class InstancePage(Schema):
    items: list[InstanceOut]
    page: int
    pages: int
    count: int


class InstanceIn(Schema):
    session: str = Field(description="The SESSION namespace: the connector's object is telegram/{session}/session.txt")
    name: str


class InstancePatch(Schema):
    name: str


class DeletedOut(Schema):
    session: str
    object: Literal["kept", "revoked", "empty", "missing"]


class CheckOut(Schema):
    session: str
    result: str
    reason: str
    checked_at: datetime


class ImportIn(Schema):
    session_string: str = Field(
        description="The TELEGRAM_SESSION value (Telethon StringSession); never echoed", repr=False
    )
    password: str = Field(
        "", description="The account's two-step password, if it has one; used once, never stored", repr=False
    )


class VerifyIn(Schema):
    password: str = Field("", description="Only to adopt an object of a 2FA account written elsewhere", repr=False)


class VerifyOut(Schema):
    session: str
    result: Literal["alive", "fresh", "expired", "revoked"]
    instance: InstanceOut


def instance_out(instance: ConnectorInstance, health: InstanceHealth | None) -> InstanceOut:
    """An instance as the API shows it; `health` None: never checked."""
    ended = instance_state.session_ended(instance)
    return InstanceOut(
        session=instance.session,
        name=instance.name,
        status=instance.status,
        reason=ended.sentence if ended is not None else instance.last_error,
        health=HealthOut(
            result=health.state if health is not None else Health.UNKNOWN,
            checked_at=health.checked_at if health is not None else None,
            reason=health.reason if health is not None else "",
        ),
        account=AccountOut(name=instance.telegram_name, username=instance.telegram_username),
    )
