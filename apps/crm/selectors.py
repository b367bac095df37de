"""CRM reads, tenant-scoped: the reseller first, the actor checked."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm, authorize
from apps.core.actors import Actor
from apps.core.errors import NotFound

from .models import Device, Note, SupportInteraction


def notes_of(reseller: Reseller, *, actor: Actor, subscriber_id: int) -> QuerySet[Note]:
    authorize(actor, reseller, Perm.VIEW)
    return Note.objects.filter(reseller=reseller, subscriber_id=subscriber_id)


def note_get(reseller: Reseller, *, actor: Actor, note_id: int) -> Note:
    authorize(actor, reseller, Perm.VIEW)
    note = Note.objects.filter(reseller=reseller, pk=note_id).first()
    if note is None:
        raise NotFound("No such note.", code="note_not_found", param="note")
    return note


def interactions_of(
    reseller: Reseller, *, actor: Actor, subscriber_id: int, query: str = ""
) -> QuerySet[SupportInteraction]:
    authorize(actor, reseller, Perm.VIEW)
    interactions = SupportInteraction.objects.filter(reseller=reseller, subscriber_id=subscriber_id)
    if query.strip():
        q = query.strip()
        interactions = interactions.filter(
            Q(subject__icontains=q) | Q(details__icontains=q) | Q(resolution__icontains=q)
        )
    return interactions


def interaction_get(reseller: Reseller, *, actor: Actor, interaction_id: int) -> SupportInteraction:
    authorize(actor, reseller, Perm.VIEW)
    interaction = SupportInteraction.objects.filter(reseller=reseller, pk=interaction_id).first()
    if interaction is None:
        raise NotFound("No such interaction.", code="interaction_not_found", param="interaction")
    return interaction


def devices_of(reseller: Reseller, *, actor: Actor, subscriber_id: int) -> QuerySet[Device]:
    authorize(actor, reseller, Perm.VIEW)
    return Device.objects.filter(reseller=reseller, subscriber_id=subscriber_id).select_related(
        "account"
    )
