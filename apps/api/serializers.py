"""Input and output serializers, one pair per operation. They validate and shape; never write."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from apps.core.catalogue import WEBHOOK_TYPES
from apps.credits.models import EntryKind
from apps.payments.charges import MAX_AMOUNT
from apps.payments.models import (
    PaymentPurpose,
    PaymentSource,
    PaymentState,
    RefundDestination,
    RefundState,
)
from apps.subscriptions.models import AccountStatus

from .models import Scope

# ---------------------------------------------------------------- shared


class ErrorDetailSerializer(serializers.Serializer):
    type = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()
    param = serializers.CharField(allow_null=True)


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def page_of(item: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    """The list shape: {"data": [...], "next_cursor": <string or null>}."""
    return type(name, (serializers.Serializer,), {
        "data": item(many=True),
        "next_cursor": serializers.CharField(allow_null=True),
    })


MAX_ID = 2**63 - 1  # PostgreSQL bigint


def id_field(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


class PageQuery(serializers.Serializer):
    cursor = serializers.RegexField(r"^[0-9]{1,18}$", required=False,
                                    help_text="The next_cursor of the previous page.")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=50)


class PingOut(serializers.Serializer):
    reseller = serializers.CharField()
    key_name = serializers.CharField()
    mode = serializers.ChoiceField(choices=["live", "test"])
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.values))


# ---------------------------------------------------------------- accounts


class AccountOut(serializers.Serializer):
    """The Account object (built by apps.api.objects.account_object; tests hold them equal)."""

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=AccountStatus.values)
    pending_reason = serializers.CharField(allow_blank=True)
    username = serializers.CharField()
    plan = serializers.IntegerField(source="plan_id")
    subscriber = serializers.IntegerField(source="subscriber_id")
    starts_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    auto_renew = serializers.BooleanField()
    renewal_source = serializers.CharField(
        help_text="Who collects at auto-renewal: external (your billing system), wallet, "
                  "card, ...")
    renewal_period_months = serializers.IntegerField(
        help_text="How many months an auto-renewal buys.")
    currency = serializers.CharField(help_text="The currency the subscriber pays it in.")
    livemode = serializers.BooleanField()


class AccountWithCredentialsOut(AccountOut):
    """The Account object and its password: create, retrieve, renew and reset-password."""

    password = serializers.CharField(help_text="The service password, in clear.")


class AccountListQuery(PageQuery):
    status = serializers.ChoiceField(choices=AccountStatus.values, required=False)
    plan = id_field(required=False)
    subscriber = id_field(required=False)
    expiring_before = serializers.DateTimeField(required=False)
    username = serializers.CharField(required=False, max_length=40)


def language_field(**kwargs: Any) -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=[code for code, _ in settings.LANGUAGES],
        help_text="The language of the subscriber's emails; the reseller's when not given.",
        **kwargs)


class SubscriberRef(serializers.Serializer):
    external_id = serializers.CharField(required=False, allow_blank=True, max_length=100)
    email = serializers.EmailField(required=False, allow_blank=True)
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    language = language_field(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("external_id") and not attrs.get("email"):
            raise serializers.ValidationError(
                {"external_id": ["Give the subscriber's external_id or email."]}, code="required"
            )
        return attrs


class AccountCreateIn(serializers.Serializer):
    subscriber = SubscriberRef()
    plan = id_field()
    months = serializers.IntegerField(required=False, min_value=1, max_value=120)
    username = serializers.CharField(required=False, max_length=40)
    currency = serializers.CharField(
        required=False, min_length=3, max_length=3,
        help_text="What the subscriber pays the account in: one its plan has a price in "
                  "(currency_not_offered otherwise); the reseller's base currency by default.")


class RenewIn(serializers.Serializer):
    months = serializers.IntegerField(required=False, min_value=1, max_value=120)
    payment_reference = serializers.CharField(required=False, allow_blank=True, max_length=200)


class ReasonIn(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class ChangePlanIn(serializers.Serializer):
    plan = id_field()
    when = serializers.ChoiceField(choices=["now", "renewal"], default="now")


class AutoRenewIn(serializers.Serializer):
    auto_renew = serializers.BooleanField()


class RenewalIn(serializers.Serializer):
    renewal_period_months = serializers.IntegerField(
        required=False, min_value=1, max_value=120,
        help_text="Months an auto-renewal buys: whole periods of the plan.")
    renewal_source = serializers.CharField(
        required=False, max_length=30,
        help_text="Who collects at auto-renewal (invalid_renewal_source lists them).")
    auto_renew = serializers.BooleanField(required=False)


class RenewOut(AccountWithCredentialsOut):
    renewal = serializers.ChoiceField(
        choices=["completed", "queued"], help_text="queued: waiting for credits."
    )


# ---------------------------------------------------------------- subscribers


class SubscriberOut(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField(allow_null=True)
    name = serializers.CharField()
    email = serializers.CharField(allow_blank=True)
    phone = serializers.CharField(allow_blank=True)
    country = serializers.CharField(allow_blank=True)
    language = serializers.ChoiceField(choices=[code for code, _ in settings.LANGUAGES])
    marketing_consent = serializers.BooleanField()
    livemode = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class SubscriberIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    country = serializers.CharField(required=False, allow_blank=True, max_length=2)
    language = language_field(required=False)
    external_id = serializers.CharField(required=False, allow_null=True, max_length=100)
    marketing_consent = serializers.BooleanField(required=False)
    marketing_consent_source = serializers.CharField(required=False, allow_blank=True,
                                                     max_length=60)


class SubscriberListQuery(PageQuery):
    external_id = serializers.CharField(required=False, max_length=100)
    email = serializers.CharField(required=False, max_length=254)


# ---------------------------------------------------------------- plans, credits, payments


class PlanOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    tier = serializers.CharField(allow_blank=True)
    duration_months = serializers.IntegerField()
    credit_cost = serializers.IntegerField()
    is_trial = serializers.BooleanField()
    prices = serializers.DictField(child=serializers.IntegerField(),
                                   help_text="Currency code -> amount in minor units.")


class BalanceOut(serializers.Serializer):
    balance = serializers.IntegerField()
    floor = serializers.IntegerField(allow_null=True)
    livemode = serializers.BooleanField()


class LedgerEntryOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    delta = serializers.IntegerField()
    balance_after = serializers.IntegerField()
    reference = serializers.CharField(allow_blank=True)
    account = serializers.IntegerField(source="account_id", allow_null=True)
    subscriber = serializers.IntegerField(source="subscriber_id", allow_null=True)
    created_at = serializers.DateTimeField()
    livemode = serializers.BooleanField()


class LedgerQuery(PageQuery):
    kind = serializers.ChoiceField(choices=EntryKind.values, required=False)


class PaymentIn(serializers.Serializer):
    account = id_field()
    amount = serializers.IntegerField(min_value=1, max_value=MAX_ID,
                                      help_text="Minor units (cents).")
    currency = serializers.CharField(min_length=3, max_length=3)
    reference = serializers.CharField(max_length=200)
    paid_at = serializers.DateTimeField()


class PaymentOut(serializers.Serializer):
    id = serializers.IntegerField()
    account = serializers.IntegerField(source="account_id")
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    reference = serializers.CharField()
    paid_at = serializers.DateTimeField()
    livemode = serializers.BooleanField()
    renewal = serializers.ChoiceField(choices=["completed", "queued", "already_recorded"],
                                      required=False, read_only=True)


class QueueItemOut(AccountOut):
    queue_reason = serializers.CharField()


class QueueQuery(PageQuery):
    within_days = serializers.IntegerField(required=False, min_value=0, max_value=365, default=7)


# ---------------------------------------------------------------- payments through the panel


class MinorUnitsField(serializers.IntegerField):
    """An amount in minor units: a JSON integer from 1, nothing else.

    Stricter than IntegerField, which takes "9", 9.0 and "9.0": money never goes through a
    float or a guess, so strings, fractions (9.5 or 9.0) and booleans are refused.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, max_value=MAX_AMOUNT,
                         help_text="Minor units of the currency (cents): a whole number.",
                         **kwargs)

    def to_internal_value(self, data: Any) -> int:
        if (not isinstance(data, int) or isinstance(data, bool)
                or not 1 <= data <= MAX_AMOUNT):
            raise serializers.ValidationError(
                f"The amount is a whole number of minor units from 1 to {MAX_AMOUNT}.",
                code="invalid_amount")
        return data


class CardOut(serializers.Serializer):
    brand = serializers.CharField(allow_blank=True)
    last4 = serializers.CharField(allow_blank=True)


class PaymentErrorOut(serializers.Serializer):
    code = serializers.CharField(allow_blank=True)
    decline_code = serializers.CharField(allow_blank=True)
    message = serializers.CharField(allow_blank=True)


class RefundOut(serializers.Serializer):
    """The Refund object (built by apps.api.objects.refund_object)."""

    id = serializers.IntegerField()
    object = serializers.ChoiceField(choices=["refund"])
    payment = serializers.IntegerField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    destination = serializers.ChoiceField(choices=RefundDestination.values)
    state = serializers.ChoiceField(choices=RefundState.choices)
    reason = serializers.CharField(allow_blank=True)
    shorten = serializers.BooleanField()
    created = serializers.DateTimeField()
    livemode = serializers.BooleanField()


class PaymentObjectOut(serializers.Serializer):
    """The Payment object (built by apps.api.objects.payment_object; tests hold them equal)."""

    id = serializers.IntegerField()
    object = serializers.ChoiceField(choices=["payment"])
    subscriber = serializers.IntegerField()
    account = serializers.IntegerField(allow_null=True, help_text="None for a wallet top-up.")
    # A field named "source": DRF's stubs type Field.source (the attribute it reads) as str.
    source = serializers.ChoiceField(choices=PaymentSource.values)  # type: ignore[assignment]
    purpose = serializers.ChoiceField(choices=PaymentPurpose.values)
    state = serializers.ChoiceField(choices=PaymentState.choices)
    amount = serializers.IntegerField(help_text="Minor units of the currency.")
    currency = serializers.CharField()
    refunded_amount = serializers.IntegerField()
    reference = serializers.CharField(allow_blank=True)
    created = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)
    livemode = serializers.BooleanField()
    card = CardOut(allow_null=True)
    error = PaymentErrorOut(allow_null=True)
    refunds = RefundOut(many=True, help_text="Oldest first.")


class PaidAccountOut(serializers.Serializer):
    account = serializers.IntegerField()
    result = serializers.CharField(help_text="renewed, renewal_queued, or why it was not.")


class TopUpOut(PaymentObjectOut):
    paid_accounts = PaidAccountOut(
        many=True, help_text="The accounts waiting on the wallet that this top-up paid for, "
                             "oldest expiry first.")


class TopUpIn(serializers.Serializer):
    amount = MinorUnitsField()
    currency = serializers.CharField(min_length=3, max_length=3)
    reference = serializers.CharField(max_length=200,
                                      help_text="Your receipt or invoice number.")


class RefundIn(serializers.Serializer):
    amount = MinorUnitsField()
    destination = serializers.ChoiceField(
        choices=RefundDestination.values, required=False,
        help_text="card (card payments), wallet (a renewal's payment) or outside (cash or a "
                  "transfer handed back); by default the card for a card payment, the wallet "
                  "for a renewal paid otherwise, outside for a top-up.")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)
    shorten = serializers.BooleanField(
        required=False, default=False,
        help_text="Also take the months the payment paid for off the account (a whole "
                  "renewal payment only). By default a refund leaves the account's period.")


class PaymentListQuery(PageQuery):
    state = serializers.ChoiceField(choices=PaymentState.choices, required=False)
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=PaymentSource.values, required=False)
    subscriber = id_field(required=False)
    created_after = serializers.DateTimeField(required=False, help_text="Inclusive.")
    created_before = serializers.DateTimeField(required=False, help_text="Exclusive.")


class BalanceItemOut(serializers.Serializer):
    currency = serializers.CharField()
    amount = serializers.IntegerField(help_text="Minor units of the currency.")


class WalletOut(serializers.Serializer):
    balances = BalanceItemOut(many=True, help_text="One per currency the wallet ever held.")
    livemode = serializers.BooleanField()


# ---------------------------------------------------------------- webhooks


class WebhookEndpointOut(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField(allow_blank=True)
    is_active = serializers.BooleanField()
    livemode = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class WebhookEndpointCreatedOut(WebhookEndpointOut):
    """The endpoint and its signing secret: only the response that creates it has the secret."""

    secret = serializers.CharField(help_text="The signing secret (whsec_...), shown once.")


class WebhookEndpointIn(serializers.Serializer):
    url = serializers.CharField(max_length=500)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=list(WEBHOOK_TYPES)), min_length=1, max_length=20
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=200)
    is_active = serializers.BooleanField(required=False)


class AttemptOut(serializers.Serializer):
    attempted_at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    duration_ms = serializers.IntegerField()


class DeliveryOut(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.CharField()
    event_type = serializers.CharField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    last_status_code = serializers.IntegerField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    log = AttemptOut(many=True, help_text="Every attempt, oldest first.")
