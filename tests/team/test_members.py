"""Members page: owners add, change and remove members; an owner always remains; everything is audited."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from sessions_app.models import AuditEvent, Membership, Role
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def members_url(instance) -> str:
    return reverse("instance_members", args=[instance.session])


def role_url(membership) -> str:
    return reverse("instance_member_role", args=[membership.instance.session, membership.pk])


def remove_url(membership) -> str:
    return reverse("instance_member_remove", args=[membership.instance.session, membership.pk])


def test_it_lists_members_and_says_what_each_role_may_do(owner_client, instance):
    page = owner_client.get(members_url(instance)).content.decode()
    assert "oscar" in page and "vera" in page
    for _, label in Role.choices:
        assert label in page


def test_it_adds_a_member_by_username(owner_client, instance, outsider):
    response = owner_client.post(members_url(instance), {"user": "mallory", "role": Role.OPERATOR})
    assert response.status_code == 302
    assert Membership.objects.get(instance=instance, user=outsider).role == Role.OPERATOR
    event = AuditEvent.objects.filter(action="member.add").get()
    assert event.detail == {"member": "mallory", "role": "operator"}
    assert event.actor_name == "olivia"


def test_it_adds_a_member_by_email(owner_client, instance):
    user = get_user_model().objects.create_user("nina", email="Nina@Example.invalid")
    owner_client.post(members_url(instance), {"user": "nina@example.invalid", "role": Role.VIEWER})
    assert Membership.objects.filter(instance=instance, user=user, role=Role.VIEWER).exists()


def test_it_says_so_when_no_user_has_that_name_and_adds_nobody(owner_client, instance):
    before = Membership.objects.count()
    response = owner_client.post(members_url(instance), {"user": "nobody", "role": Role.VIEWER})
    assert response.status_code == 400
    assert "No user has that username or email" in response.content.decode()
    assert Membership.objects.count() == before
    assert not AuditEvent.objects.filter(action="member.add").exists()


def test_it_refuses_to_add_someone_already_on_the_team(owner_client, instance):
    response = owner_client.post(members_url(instance), {"user": "vera", "role": Role.OWNER})
    assert response.status_code == 400
    assert "already on this instance" in response.content.decode()
    assert Membership.objects.get(instance=instance, user__username="vera").role == Role.VIEWER


def test_it_changes_a_role_and_audits_it(owner_client, instance, viewer):
    membership = Membership.objects.get(instance=instance, user=viewer)
    owner_client.post(role_url(membership), {"role": Role.OPERATOR})
    membership.refresh_from_db()
    assert membership.role == Role.OPERATOR
    event = AuditEvent.objects.get(action="member.role")
    assert event.detail == {"member": "vera", "from": "viewer", "to": "operator"}


def test_it_removes_a_member_and_audits_it(owner_client, instance, operator):
    membership = Membership.objects.get(instance=instance, user=operator)
    owner_client.post(remove_url(membership))
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert AuditEvent.objects.get(action="member.remove").detail == {"member": "oscar", "role": "operator"}


def test_the_last_owner_cannot_demote_themselves(owner_client, instance, owner):
    membership = Membership.objects.get(instance=instance, user=owner)
    response = owner_client.post(role_url(membership), {"role": Role.VIEWER}, follow=True)
    assert "last owner" in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == Role.OWNER
    assert not AuditEvent.objects.filter(action="member.role").exists()


def test_the_last_owner_cannot_be_removed(owner_client, instance, owner):
    membership = Membership.objects.get(instance=instance, user=owner)
    response = owner_client.post(remove_url(membership), follow=True)
    assert "last owner" in response.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_an_owner_can_step_down_once_another_owner_exists(owner_client, instance, owner, operator):
    Membership.objects.filter(instance=instance, user=operator).update(role=Role.OWNER)
    mine = Membership.objects.get(instance=instance, user=owner)
    owner_client.post(role_url(mine), {"role": Role.VIEWER})
    mine.refresh_from_db()
    assert mine.role == Role.VIEWER


@pytest.mark.parametrize("who", ["operator", "viewer"])
def test_it_requires_the_owner_role(request, instance, who, outsider):
    client = client_for(request.getfixturevalue(who))
    target = Membership.objects.get(instance=instance, user__username="vera")
    assert client.get(members_url(instance)).status_code == 403
    assert client.post(members_url(instance), {"user": "mallory", "role": Role.OWNER}).status_code == 403
    assert client.post(role_url(target), {"role": Role.OWNER}).status_code == 403
    assert client.post(remove_url(target)).status_code == 403
    assert not Membership.objects.filter(user=outsider).exists()


def test_an_outsider_gets_404(instance, outsider):
    client = client_for(outsider)
    target = Membership.objects.get(instance=instance, user__username="vera")
    assert client.get(members_url(instance)).status_code == 404
    assert client.post(remove_url(target)).status_code == 404
    assert Membership.objects.filter(pk=target.pk).exists()


def test_a_membership_of_another_instance_is_not_found_here(owner_client, instance, owner):
    from sessions_app.models import ConnectorInstance

    other = ConnectorInstance.objects.create(session="other-bot", name="Other")
    Membership.objects.create(user=owner, instance=other, role=Role.OWNER)
    foreign = Membership.objects.create(
        user=get_user_model().objects.create_user("zed"), instance=other, role=Role.VIEWER
    )
    assert owner_client.post(remove_url(foreign).replace("other-bot", "prod-bot")).status_code == 404
    assert Membership.objects.filter(pk=foreign.pk).exists()
