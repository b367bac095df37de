from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

from apps.core.currencies import CURRENCY_CHOICES


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in: the provider's staff (is_staff) or a reseller's staff."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    is_staff = models.BooleanField(
        default=False, help_text="The provider's staff: may use the Django admin."
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    def __str__(self) -> str:
        return self.email


class ReactivationPolicy(models.TextChoices):
    FROM_EXPIRY = "from_expiry", "New period starts at the old expiry"
    FROM_RENEWAL = "from_renewal", "New period starts at the renewal"


class Reseller(models.Model):
    """The tenant. Every row that belongs to a reseller carries its id."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    base_currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="EUR")
    timezone = models.CharField(max_length=64, default="UTC")
    # The language of the emails to the reseller, and the default of its new subscribers'.
    language = models.CharField(max_length=10, choices=settings.LANGUAGES,
                                default=settings.LANGUAGE_CODE)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    contact_email = models.EmailField()
    reactivation_policy = models.CharField(
        max_length=20, choices=ReactivationPolicy.choices, default=ReactivationPolicy.FROM_EXPIRY
    )
    # Cached balances; only apps.credits.services changes them, in the same
    # transaction as the ledger row, under a row lock.
    credit_balance = models.BigIntegerField(default=0, editable=False)
    test_credit_balance = models.BigIntegerField(default=0, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The logo's SHA-256 (first 16 hex digits), empty without one: the header links
    # the logo by it without reading the image, and a new logo is a new URL.
    # Only reseller_logo_set and reseller_logo_remove change it.
    logo_version = models.CharField(max_length=16, blank=True, default="", editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(credit_balance__gte=0), name="reseller_credit_balance_gte_0"
            ),
            models.CheckConstraint(
                condition=models.Q(test_credit_balance__gte=0),
                name="reseller_test_credit_balance_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def balance(self, *, livemode: bool = True) -> int:
        return self.credit_balance if livemode else self.test_credit_balance


LOGO_MAX_BYTES = 256 * 1024
LOGO_CONTENT_TYPES = ("image/png", "image/jpeg", "image/webp")


class ResellerLogo(models.Model):
    """The reseller's logo, in the database.

    A few kilobytes per reseller: in the database it needs no media volume, no
    web server rule and no shared disk between web processes, with `make run`
    or in production alike, and it is backed up with everything else. Its own
    table, so that reading a Reseller never reads the image.
    """

    reseller = models.OneToOneField(Reseller, on_delete=models.CASCADE, primary_key=True,
                                    related_name="logo")
    content = models.BinaryField()
    content_type = models.CharField(max_length=20)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(content_type__in=LOGO_CONTENT_TYPES),
                                   name="reseller_logo_content_type"),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("content"), LOGO_MAX_BYTES),
                name="reseller_logo_size"),
        ]

    def __str__(self) -> str:
        return f"Logo of {self.reseller_id}"


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    BILLING = "billing", "Billing"
    SUPPORT = "support", "Support"
    VIEWER = "viewer", "Viewer"


class StaffMembership(models.Model):
    """A user's role at one reseller; a user may belong to several resellers."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    reseller = models.ForeignKey(Reseller, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "reseller"], name="membership_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in Role]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.reseller} ({self.role})"
