"""Who is on an instance's team: add, change a role, remove. Every change is audited; an owner always remains."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q

from sessions_app.models import ConnectorInstance, Membership, Role
from sessions_app.services.audit import audit_record
from sessions_app.services.errors import ActionRefused


class UnknownUser(ActionRefused):
    field = "user"
    default_message = "No user has that username or email. Ask an admin to create the account first, then add it."


class AlreadyMember(ActionRefused):
    field = "user"


class LastOwner(ActionRefused):
    default_message = (
        "This is the last owner of the instance: make someone else owner first, then change or remove this one."
    )


def _find_user(identifier: str) -> User:
    identifier = identifier.strip()
    matches = list(
        get_user_model().objects.filter(Q(username__iexact=identifier) | Q(email__iexact=identifier), is_active=True)[
            :2
        ]
    )
    if len(matches) != 1 or not identifier:
        raise UnknownUser()
    return matches[0]


def _refuse_if_last_owner(membership: Membership) -> None:
    others = Membership.objects.filter(instance=membership.instance, role=Role.OWNER).exclude(pk=membership.pk)
    if membership.role == Role.OWNER and not others.select_for_update().exists():
        raise LastOwner()


@transaction.atomic
def member_add(*, instance: ConnectorInstance, actor: User, identifier: str, role: str) -> Membership:
    user = _find_user(identifier)
    if Membership.objects.filter(instance=instance, user=user).exists():
        raise AlreadyMember(f"{user.get_username()} is already on this instance: change their role below instead.")
    membership = Membership.objects.create(instance=instance, user=user, role=Role(role))
    audit_record(
        instance=instance, actor=actor, action="member.add", detail={"member": user.get_username(), "role": role}
    )
    return membership


@transaction.atomic
def member_role_change(*, membership: Membership, actor: User, role: str) -> Membership:
    membership = Membership.objects.select_for_update().select_related("user", "instance").get(pk=membership.pk)
    previous = membership.role
    if previous == role:
        return membership
    if role != Role.OWNER:
        _refuse_if_last_owner(membership)
    membership.role = Role(role)
    membership.save(update_fields=["role"])
    audit_record(
        instance=membership.instance,
        actor=actor,
        action="member.role",
        detail={"member": membership.user.get_username(), "from": previous, "to": role},
    )
    return membership


@transaction.atomic
def member_remove(*, membership: Membership, actor: User) -> None:
    membership = Membership.objects.select_for_update().select_related("user", "instance").get(pk=membership.pk)
    _refuse_if_last_owner(membership)
    membership.delete()
    audit_record(
        instance=membership.instance,
        actor=actor,
        action="member.remove",
        detail={"member": membership.user.get_username(), "role": membership.role},
    )
