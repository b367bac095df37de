"""Every CRM write: tenant-checked, one transaction, audited."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from apps.accounts.permissions import Perm, authorize
from apps.audit.services import audit_record, snapshot
from apps.core.actors import Actor
from apps.core.errors import NotFound, ValidationError
from apps.subscriptions.models import ServiceAccount, Subscriber

from .models import (
    AccountFollowUp,
    Channel,
    Device,
    InteractionStatus,
    Note,
    SupportInteraction,
)

MAX_NOTE = 10_000


def _text(value: str, *, param: str, label: str, max_length: int) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(f"{label} is required.", code="required", param=param)
    if len(value) > max_length:
        raise ValidationError(
            f"{label} has at most {max_length} characters.", code="too_long", param=param
        )
    return value


@transaction.atomic
def note_add(
    *, actor: Actor, subscriber: Subscriber, body: str, pinned: bool = False,
    now: dt.datetime | None = None,
) -> Note:
    authorize(actor, subscriber.reseller_id, Perm.CRM_MANAGE)
    now = now or timezone.now()
    note = Note.objects.create(
        reseller_id=subscriber.reseller_id, subscriber=subscriber,
        body=_text(body, param="body", label="The note", max_length=MAX_NOTE),
        pinned=pinned, author=actor.user, author_label=actor.label,
        created_at=now, updated_at=now,
    )
    audit_record(actor=actor, reseller_id=subscriber.reseller_id, action="crm.note_add",
                 obj=note, after=snapshot(note, ["body", "pinned"]), now=now)
    return note


@transaction.atomic
def note_update(
    *, actor: Actor, note: Note, body: str | None = None, pinned: bool | None = None,
    now: dt.datetime | None = None,
) -> Note:
    authorize(actor, note.reseller_id, Perm.CRM_MANAGE)
    now = now or timezone.now()
    note = Note.objects.select_for_update().get(pk=note.pk)
    before = snapshot(note, ["body", "pinned"])
    if body is not None:
        note.body = _text(body, param="body", label="The note", max_length=MAX_NOTE)
    if pinned is not None:
        note.pinned = pinned
    note.updated_at = now
    note.save()
    audit_record(actor=actor, reseller_id=note.reseller_id, action="crm.note_update", obj=note,
                 before=before, after=snapshot(note, ["body", "pinned"]), now=now)
    return note


@transaction.atomic
def interaction_add(
    *, actor: Actor, subscriber: Subscriber, channel: str, subject: str, details: str = "",
    resolution: str = "", now: dt.datetime | None = None,
) -> SupportInteraction:
    """Record a support contact; with a resolution it is recorded as resolved."""
    authorize(actor, subscriber.reseller_id, Perm.CRM_MANAGE)
    now = now or timezone.now()
    if channel not in Channel.values:
        raise ValidationError(f"The channel is one of {', '.join(Channel.values)}.",
                              code="invalid_channel", param="channel")
    resolution = (resolution or "").strip()
    interaction = SupportInteraction.objects.create(
        reseller_id=subscriber.reseller_id, subscriber=subscriber, channel=channel,
        subject=_text(subject, param="subject", label="The subject", max_length=200),
        details=(details or "").strip(),
        status=InteractionStatus.RESOLVED if resolution else InteractionStatus.OPEN,
        resolution=resolution, resolved_at=now if resolution else None,
        created_by_label=actor.label, created_at=now,
    )
    audit_record(actor=actor, reseller_id=subscriber.reseller_id, action="crm.interaction_add",
                 obj=interaction, after=snapshot(interaction, ["channel", "subject", "status"]),
                 now=now)
    return interaction


@transaction.atomic
def interaction_resolve(
    *, actor: Actor, interaction: SupportInteraction, resolution: str,
    now: dt.datetime | None = None,
) -> SupportInteraction:
    authorize(actor, interaction.reseller_id, Perm.CRM_MANAGE)
    now = now or timezone.now()
    text = _text(resolution, param="resolution", label="How it was resolved", max_length=5000)
    interaction = SupportInteraction.objects.select_for_update().get(pk=interaction.pk)
    before = snapshot(interaction, ["status", "resolution"])
    interaction.status = InteractionStatus.RESOLVED
    interaction.resolution = text
    interaction.resolved_at = now
    interaction.save()
    audit_record(actor=actor, reseller_id=interaction.reseller_id,
                 action="crm.interaction_resolve", obj=interaction, before=before,
                 after=snapshot(interaction, ["status", "resolution"]), now=now)
    return interaction


@transaction.atomic
def device_add(
    *, actor: Actor, subscriber: Subscriber, device_type: str, app: str = "",
    device_id: str = "", last_seen_at: dt.datetime | None = None, note: str = "",
    account: ServiceAccount | None = None, now: dt.datetime | None = None,
) -> Device:
    authorize(actor, subscriber.reseller_id, Perm.CRM_MANAGE)
    now = now or timezone.now()
    if account is not None and account.subscriber_id != subscriber.pk:
        raise NotFound("No such account.", code="account_not_found", param="account")
    device = Device.objects.create(
        reseller_id=subscriber.reseller_id, subscriber=subscriber, account=account,
        device_type=_text(device_type, param="device_type", label="The device type",
                          max_length=60),
        app=(app or "").strip()[:100], device_id=(device_id or "").strip()[:200],
        last_seen_at=last_seen_at, note=(note or "").strip()[:500], created_at=now,
    )
    audit_record(actor=actor, reseller_id=subscriber.reseller_id, action="crm.device_add",
                 obj=device, after=snapshot(device, ["device_type", "app", "device_id"]),
                 now=now)
    return device


def _follow_up_locked(account: ServiceAccount, now: dt.datetime) -> AccountFollowUp:
    follow_up, _ = AccountFollowUp.objects.get_or_create(
        account=account, defaults={"reseller_id": account.reseller_id, "updated_at": now}
    )
    return AccountFollowUp.objects.select_for_update().get(pk=follow_up.pk)


@transaction.atomic
def follow_up_note(
    *, actor: Actor, account: ServiceAccount, note: str, now: dt.datetime | None = None
) -> AccountFollowUp:
    """The renewal review's note on an account (empty clears it)."""
    authorize(actor, account.reseller_id, Perm.SUBSCRIBER_MANAGE)
    now = now or timezone.now()
    note = (note or "").strip()
    if len(note) > 2000:
        raise ValidationError("The note has at most 2000 characters.", code="too_long",
                              param="note")
    follow_up = _follow_up_locked(account, now)
    before = {"note": follow_up.note}
    follow_up.note = note
    follow_up.updated_at = now
    follow_up.save()
    audit_record(actor=actor, reseller_id=account.reseller_id, action="crm.follow_up_note",
                 obj=account, before=before, after={"note": note}, now=now)
    return follow_up


@transaction.atomic
def follow_up_mark_contacted(
    *, actor: Actor, account: ServiceAccount, contacted: bool = True,
    now: dt.datetime | None = None,
) -> AccountFollowUp:
    """Mark the account as contacted about its current expiry (or clear the mark)."""
    authorize(actor, account.reseller_id, Perm.SUBSCRIBER_MANAGE)
    now = now or timezone.now()
    follow_up = _follow_up_locked(account, now)
    if contacted:
        follow_up.contacted_at = now
        follow_up.contacted_for_expiry = account.expires_at
        follow_up.contacted_by_label = actor.label
    else:
        follow_up.contacted_at = None
        follow_up.contacted_for_expiry = None
        follow_up.contacted_by_label = ""
    follow_up.updated_at = now
    follow_up.save()
    audit_record(actor=actor, reseller_id=account.reseller_id,
                 action="crm.contacted" if contacted else "crm.contacted_clear", obj=account,
                 after={"expires_at": account.expires_at}, now=now)
    return follow_up
