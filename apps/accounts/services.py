from __future__ import annotations

import datetime as dt
import hashlib
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone as django_timezone
from django.utils.text import slugify

from apps.audit.services import audit_record, snapshot
from apps.core.actors import Actor
from apps.core.currencies import validate_currency
from apps.core.errors import DomainError, PermissionDenied, ValidationError
from apps.core.validation import language_code

from .models import (
    LOGO_MAX_BYTES,
    ReactivationPolicy,
    Reseller,
    ResellerLogo,
    Role,
    StaffMembership,
    User,
)
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
    existing = StaffMembership.objects.filter(reseller=reseller, user=user).first()
    refusal = staff_change_refusal(
        actor=actor, actor_role=role_of(actor, reseller), user_id=user.pk,
        current_role=existing.role if existing else None, new_role=role,
        owners=_owner_count(reseller))
    if refusal is not None:
        raise refusal
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
    refusal = staff_change_refusal(
        actor=actor, actor_role=role_of(actor, reseller), user_id=user.pk,
        current_role=membership.role, new_role=None, owners=_owner_count(reseller))
    if refusal is not None:
        raise refusal
    audit_record(
        actor=actor, reseller_id=reseller.pk, action="staff.remove", obj=membership,
        before={"user": user.email, "role": membership.role},
    )
    membership.delete()


def _owner_count(reseller: Reseller) -> int:
    return StaffMembership.objects.filter(reseller=reseller, role=Role.OWNER).count()


def staff_change_refusal(
    *, actor: Actor, actor_role: str | None, user_id: int, current_role: str | None,
    new_role: str | None, owners: int,
) -> DomainError | None:
    """Why the actor may not give a staff member `new_role` (None: remove it), or None.

    The services raise it; the staff page asks it for every row, so that it offers
    only what the services accept. `actor_role` is the actor's role at the reseller
    (None for the provider or the system), `owners` how many owners it has.
    """
    if actor.user is not None and actor.user.pk == user_id and actor_role is not None:
        return ValidationError(
            "You cannot remove yourself or change your own role: ask another owner.",
            code="self_change", param="user")
    # Only an owner (or the provider) grants, changes or removes the owner role.
    if actor_role not in (None, Role.OWNER) and Role.OWNER in (new_role, current_role):
        return PermissionDenied("Only an owner may grant or change the owner role.",
                                code="owner_only")
    if current_role == Role.OWNER and new_role != Role.OWNER and owners <= 1:
        return ValidationError("A reseller keeps at least one owner.", code="last_owner",
                               param="user")
    return None


# ---------------------------------------------------------------- the logo

# The first bytes of each image type the header shows. SVG is refused: it can carry script.
_LOGO_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


def logo_content_type(content: bytes) -> str:
    """The image type of `content`, read from its bytes; a ValidationError for anything else."""
    for signature, content_type in _LOGO_SIGNATURES:
        if content.startswith(signature):
            return content_type
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    head = content[:512].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head:
        raise ValidationError("SVG logos are refused: an SVG file can carry script. "
                              "Upload a PNG, JPEG or WebP image.", code="logo_svg",
                              param="logo")
    raise ValidationError("The logo is a PNG, JPEG or WebP image.", code="logo_type",
                          param="logo")


@transaction.atomic
def reseller_logo_set(
    *, actor: Actor, reseller: Reseller, content: bytes, now: dt.datetime | None = None
) -> ResellerLogo:
    """Store the reseller's logo (PNG, JPEG or WebP, at most LOGO_MAX_BYTES), replacing any."""
    authorize(actor, reseller, Perm.SETTINGS_MANAGE)
    now = now or django_timezone.now()
    if not content:
        raise ValidationError("Choose an image file.", code="required", param="logo")
    if len(content) > LOGO_MAX_BYTES:
        raise ValidationError(
            f"The logo is at most {LOGO_MAX_BYTES // 1024} KB; this one is "
            f"{(len(content) + 1023) // 1024} KB.", code="logo_too_large", param="logo")
    content_type = logo_content_type(content)
    version = hashlib.sha256(content).hexdigest()[:16]
    locked = Reseller.objects.select_for_update().get(pk=reseller.pk)
    before = locked.logo_version
    logo, _ = ResellerLogo.objects.update_or_create(
        reseller=locked, defaults={"content": content, "content_type": content_type,
                                   "updated_at": now})
    Reseller.objects.filter(pk=locked.pk).update(logo_version=version)
    reseller.logo_version = version
    audit_record(actor=actor, reseller_id=reseller.pk, action="reseller.logo_set", obj=locked,
                 before={"logo_version": before},
                 after={"logo_version": version, "content_type": content_type,
                        "bytes": len(content)}, now=now)
    return logo


@transaction.atomic
def reseller_logo_remove(
    *, actor: Actor, reseller: Reseller, now: dt.datetime | None = None
) -> None:
    authorize(actor, reseller, Perm.SETTINGS_MANAGE)
    locked = Reseller.objects.select_for_update().get(pk=reseller.pk)
    if not locked.logo_version:
        return
    ResellerLogo.objects.filter(reseller=locked).delete()
    Reseller.objects.filter(pk=locked.pk).update(logo_version="")
    audit_record(actor=actor, reseller_id=reseller.pk, action="reseller.logo_remove",
                 obj=locked, before={"logo_version": locked.logo_version},
                 after={"logo_version": ""}, now=now or django_timezone.now())
    reseller.logo_version = ""
