"""CRM services: tenant and role checks, audit, and the rules the database keeps."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from apps.audit.models import AuditEntry
from apps.core.errors import NotFound, PermissionDenied, ValidationError
from apps.crm.models import InteractionStatus, SupportInteraction
from apps.crm.services import (
    device_add,
    follow_up_mark_contacted,
    follow_up_note,
    interaction_add,
    interaction_resolve,
    note_add,
    note_update,
)
from apps.subscriptions.services import account_renew
from tests.conftest import NOW, SYSTEM, grant, staff
from tests.factories import ResellerFactory, SubscriberFactory

pytestmark = pytest.mark.django_db


def test_note_add_edit_pin_keeps_author_and_times(subscriber, reseller):
    actor = staff(reseller, "support")
    note = note_add(actor=actor, subscriber=subscriber, body="  Likes email  ", now=NOW)
    assert (note.body, note.author, note.pinned) == ("Likes email", actor.user, False)
    later = NOW + dt.timedelta(hours=1)
    note = note_update(actor=actor, note=note, body="Likes phone", pinned=True, now=later)
    assert (note.body, note.pinned, note.created_at, note.updated_at) == (
        "Likes phone", True, NOW, later)
    assert AuditEntry.objects.filter(action__startswith="crm.note").count() == 2


def test_roles_without_crm_manage_are_refused(subscriber, reseller):
    with pytest.raises(PermissionDenied):
        note_add(actor=staff(reseller, "billing"), subscriber=subscriber, body="x")
    with pytest.raises(PermissionDenied):
        interaction_add(actor=staff(reseller, "viewer"), subscriber=subscriber,
                        channel="email", subject="x")


def test_staff_of_another_reseller_gets_not_found(subscriber):
    stranger = staff(ResellerFactory.create(), "owner")
    with pytest.raises(NotFound):
        note_add(actor=stranger, subscriber=subscriber, body="x")


def test_interaction_open_then_resolved(subscriber):
    interaction = interaction_add(actor=SYSTEM, subscriber=subscriber, channel="phone",
                                  subject="No sound", now=NOW)
    assert interaction.status == InteractionStatus.OPEN
    with pytest.raises(ValidationError):
        interaction_resolve(actor=SYSTEM, interaction=interaction, resolution=" ")
    done = interaction_resolve(actor=SYSTEM, interaction=interaction,
                               resolution="Updated the app", now=NOW)
    assert (done.status, done.resolved_at) == (InteractionStatus.RESOLVED, NOW)


def test_database_refuses_a_resolved_interaction_without_resolution(subscriber):
    interaction = interaction_add(actor=SYSTEM, subscriber=subscriber, channel="chat",
                                  subject="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        SupportInteraction.objects.filter(pk=interaction.pk).update(
            status=InteractionStatus.RESOLVED, resolved_at=NOW)


def test_bad_channel_is_refused(subscriber):
    with pytest.raises(ValidationError) as error:
        interaction_add(actor=SYSTEM, subscriber=subscriber, channel="fax", subject="x")
    assert error.value.param == "channel"


def test_device_of_another_subscribers_account_is_refused(active_account, reseller):
    other = SubscriberFactory.create(reseller=reseller)
    with pytest.raises(NotFound):
        device_add(actor=SYSTEM, subscriber=other, device_type="TV", account=active_account)


def test_contacted_mark_belongs_to_one_expiry(active_account, reseller):
    follow_up = follow_up_mark_contacted(actor=SYSTEM, account=active_account, now=NOW)
    assert follow_up.contacted_for_expiry == active_account.expires_at
    follow_up_note(actor=SYSTEM, account=active_account, note="Will pay cash")
    grant(reseller, 5)
    renewed = account_renew(actor=SYSTEM, account=active_account, now=NOW).account
    follow_up.refresh_from_db()
    assert follow_up.note == "Will pay cash"
    # After a renewal the mark is for the old expiry: not contacted for the new one.
    assert follow_up.contacted_for_expiry != renewed.expires_at


def test_billing_role_may_mark_contacted_but_viewer_may_not(active_account, reseller):
    follow_up_mark_contacted(actor=staff(reseller, "billing"), account=active_account)
    with pytest.raises(PermissionDenied):
        follow_up_mark_contacted(actor=staff(reseller, "viewer"), account=active_account)
