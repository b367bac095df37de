from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from apps.audit.services import audit_record, snapshot
from apps.core.actors import Actor
from apps.core.currencies import validate_currency
from apps.core.errors import PermissionDenied, ValidationError
from apps.core.validation import language_code

from .models import ReactivationPolicy, Reseller, Role, StaffMembership, User
from .permissions import Perm, authorize, authorize_provider, role_of

RESELLER_FIELDS = [
    "name",
    "slug",
    "base_currency",
    "timezone",
    "language",
    "country",
    "contact_email",
    "reactivation_policy",
]


def reseller_validate(
    *, base_currency: str, timezone: str, country: str, contact_email: str,
    reactivation_policy: str, language: str | None = None,
) -> None:
    validate_currency(base_currency, param="base_currency")
    if timezone not in zoneinfo.available_timezones():
        raise ValidationError(
            f"{timezone!r} is not an IANA time zone (for example Europe/Madrid).",
            code="invalid_timezone",
            param="timezone",
        )
    if country and (len(country) != 2 or not country.isalpha() or not country.isupper()):
        raise ValidationError(
            "The country is a two-letter ISO 3166 code in capitals (for example ES).",
            code="invalid_country",
            param="country",
        )
    try:
        validate_email(contact_email)
    except DjangoValidationError:
        raise ValidationError(
            f"{contact_email!r} is not an email address.", code="invalid_email",
            param="contact_email",
        ) from None
    if reactivation_policy not in ReactivationPolicy.values:
        raise ValidationError(
            f"The reactivation policy is one of {', '.join(ReactivationPolicy.values)}.",
            code="invalid_reactivation_policy",
            param="reactivation_policy",
        )
    if language is not None:
        language_code(language)


@transaction.atomic
def reseller_create(
    *,
    actor: Actor,
    name: str,
    contact_email: str,
    slug: str = "",
    base_currency: str = "EUR",
    timezone: str = "UTC",
    country: str = "",
    reactivation_policy: str = ReactivationPolicy.FROM_EXPIRY,
    language: str = settings.LANGUAGE_CODE,
) -> Reseller:
    authorize_provider(actor, "resellers.manage")
    if not name.strip():
        raise ValidationError("A reseller needs a name.", code="required", param="name")
    reseller_validate(
        base_currency=base_currency, timezone=timezone, country=country,
        contact_email=contact_email, reactivation_policy=reactivation_policy, language=language,
    )
    slug = slug or slugify(name)
    if Reseller.objects.filter(slug=slug).exists():
        raise ValidationError(f"The slug {slug!r} is taken.", code="slug_taken", param="slug")
    reseller = Reseller.objects.create(
        name=name.strip(),
        slug=slug,
        base_currency=base_currency,
        timezone=timezone,
        country=country,
        contact_email=contact_email,
        reactivation_policy=reactivation_policy,
        language=language,
    )
    audit_record(
        actor=actor, reseller_id=reseller.pk, action="reseller.create", obj=reseller,
        after=snapshot(reseller, RESELLER_FIELDS),
    )
    return reseller


@transaction.atomic
def reseller_update(*, actor: Actor, reseller: Reseller, **changes: str) -> Reseller:
    authorize(actor, reseller, Perm.SETTINGS_MANAGE)
    unknown = set(changes) - set(RESELLER_FIELDS) - {"slug"}
    if unknown:
        raise ValidationError(f"Unknown fields: {', '.join(sorted(unknown))}.", code="invalid")
    reseller = Reseller.objects.select_for_update().get(pk=reseller.pk)
    before = snapshot(reseller, RESELLER_FIELDS)
    values = {**before, **changes}
    reseller_validate(
        base_currency=values["base_currency"], timezone=values["timezone"],
        country=values["country"], contact_email=values["contact_email"],
        reactivation_policy=values["reactivation_policy"], language=values["language"],
    )
    for field, value in changes.items():
        setattr(reseller, field, value)
    reseller.save(update_fields=list(changes))
    audit_record(
        actor=actor, reseller_id=reseller.pk, action="reseller.update", obj=reseller,
        before=before, after=snapshot(reseller, RESELLER_FIELDS),
    )
    return reseller


@transaction.atomic
def staff_set_role(*, actor: Actor, reseller: Reseller, user: User, role: str) -> StaffMembership:
    """Add a user to the reseller's staff, or change its role."""
    if role not in Role.values:
        raise ValidationError(
            f"The role is one of {', '.join(Role.values)}.", code="invalid_role", param="role"
        )
    authorize(actor, reseller, Perm.STAFF_MANAGE)
    _refuse_owner_change_by_non_owner(actor, reseller, user, role)
    existing = StaffMembership.objects.filter(reseller=reseller, user=user).first()
    before = {"role": existing.role} if existing else None
    try:
        with transaction.atomic():
            membership, _ = StaffMembership.objects.update_or_create(
                reseller=reseller, user=user, defaults={"role": role}
            )
    except IntegrityError:
        membership = StaffMembership.objects.get(reseller=reseller, user=user)
    audit_record(
        actor=actor, reseller_id=reseller.pk, action="staff.set_role", obj=membership,
        before=before, after={"user": user.email, "role": role},
    )
    return membership


@transaction.atomic
def staff_remove(*, actor: Actor, reseller: Reseller, user: User) -> None:
    authorize(actor, reseller, Perm.STAFF_MANAGE)
    membership = StaffMembership.objects.filter(reseller=reseller, user=user).first()
    if membership is None:
        return
    _refuse_owner_change_by_non_owner(actor, reseller, user, membership.role)
    if (
        membership.role == Role.OWNER
        and StaffMembership.objects.filter(reseller=reseller, role=Role.OWNER).count() == 1
    ):
        raise ValidationError(
            "A reseller keeps at least one owner.", code="last_owner", param="user"
        )
    audit_record(
        actor=actor, reseller_id=reseller.pk, action="staff.remove", obj=membership,
        before={"user": user.email, "role": membership.role},
    )
    membership.delete()


def _refuse_owner_change_by_non_owner(
    actor: Actor, reseller: Reseller, user: User, role: str
) -> None:
    """Only an owner (or the provider) grants, changes or removes the owner role."""
    actor_role = role_of(actor, reseller)
    if actor_role is None or actor_role == Role.OWNER:
        return
    target_role = role_of(Actor.for_user(user), reseller)
    if role == Role.OWNER or target_role == Role.OWNER:
        raise PermissionDenied("Only an owner may grant or change the owner role.",
                               code="owner_only")
