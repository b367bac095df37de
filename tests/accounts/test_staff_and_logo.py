"""Staff changes the services refuse (yourself, the last owner) and the reseller's logo."""

from __future__ import annotations

import pytest

from apps.accounts.models import Reseller, ResellerLogo, StaffMembership
from apps.accounts.services import (
    reseller_logo_remove,
    reseller_logo_set,
    staff_remove,
    staff_set_role,
)
from apps.audit.models import AuditEntry
from apps.core.errors import PermissionDenied, ValidationError

from ..conftest import SYSTEM, staff
from ..factories import UserFactory

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32


def test_nobody_removes_themselves_or_changes_their_own_role(reseller: Reseller) -> None:
    owner = staff(reseller, "owner")
    staff(reseller, "owner")  # a second owner: the refusal is about oneself, not the last owner
    assert owner.user is not None
    for attempt in (lambda: staff_remove(actor=owner, reseller=reseller, user=owner.user),
                    lambda: staff_set_role(actor=owner, reseller=reseller, user=owner.user,
                                           role="viewer")):
        with pytest.raises(ValidationError) as raised:
            attempt()
        assert raised.value.code == "self_change"
    assert StaffMembership.objects.get(reseller=reseller, user=owner.user).role == "owner"


def test_the_last_owner_is_neither_removed_nor_demoted(reseller: Reseller) -> None:
    owner = UserFactory.create()
    staff_set_role(actor=SYSTEM, reseller=reseller, user=owner, role="owner")
    for attempt in (lambda: staff_remove(actor=SYSTEM, reseller=reseller, user=owner),
                    lambda: staff_set_role(actor=SYSTEM, reseller=reseller, user=owner,
                                           role="admin")):
        with pytest.raises(ValidationError) as raised:
            attempt()
        assert raised.value.code == "last_owner"
    second = UserFactory.create()
    staff_set_role(actor=SYSTEM, reseller=reseller, user=second, role="owner")
    staff_set_role(actor=SYSTEM, reseller=reseller, user=owner, role="admin")
    assert StaffMembership.objects.get(reseller=reseller, user=owner).role == "admin"


def test_an_admin_never_touches_an_owner(reseller: Reseller) -> None:
    admin = staff(reseller, "admin")
    owner = staff(reseller, "owner")
    staff(reseller, "owner")
    assert owner.user is not None
    with pytest.raises(PermissionDenied) as raised:
        staff_remove(actor=admin, reseller=reseller, user=owner.user)
    assert raised.value.code == "owner_only"


@pytest.mark.parametrize(("content", "content_type"), [
    (PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp")])
def test_a_png_jpeg_or_webp_logo_is_kept_with_its_type(reseller: Reseller, content: bytes,
                                                       content_type: str) -> None:
    owner = staff(reseller, "owner")
    logo = reseller_logo_set(actor=owner, reseller=reseller, content=content)
    assert logo.content_type == content_type
    reseller.refresh_from_db()
    assert len(reseller.logo_version) == 16
    assert AuditEntry.objects.filter(action="reseller.logo_set").exists()
    reseller_logo_remove(actor=owner, reseller=reseller)
    reseller.refresh_from_db()
    assert reseller.logo_version == "" and not ResellerLogo.objects.exists()


@pytest.mark.parametrize(("content", "code"), [
    (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "logo_svg"),
    (b"  <?xml version='1.0'?>\n<svg/>", "logo_svg"),
    (b"GIF89a" + b"\x00" * 10, "logo_type"),
    (b"", "required"),
    (PNG + b"\x00" * 256 * 1024, "logo_too_large"),
])
def test_anything_else_is_refused_with_a_code(reseller: Reseller, content: bytes,
                                              code: str) -> None:
    with pytest.raises(ValidationError) as raised:
        reseller_logo_set(actor=staff(reseller, "owner"), reseller=reseller, content=content)
    assert raised.value.code == code and raised.value.param == "logo"


def test_a_viewer_may_not_change_the_logo(reseller: Reseller) -> None:
    with pytest.raises(PermissionDenied):
        reseller_logo_set(actor=staff(reseller, "viewer"), reseller=reseller, content=PNG)
