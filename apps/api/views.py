"""One view per operation. Views validate with an input serializer, call one service or
selector, and shape the answer with an output serializer."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from django.db import IntegrityError, connection
from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.permissions import Perm, authorize
from apps.core.db import execute_prepared
from apps.core.errors import IdempotencyKeyReused, NotFound
from apps.credits.models import CreditLedgerEntry
from apps.credits.selectors import credits_balance
from apps.payments import charges
from apps.payments import selectors as payments
from apps.payments.models import Payment, PaymentSource
from apps.payments.services import payment_record
from apps.subscriptions import selectors as subs
from apps.subscriptions import services as subs_services
from apps.subscriptions.models import ServiceAccount
from apps.subscriptions.selectors import subscription_settings_for

from . import serializers as s
from . import services
from .base import ApiView, decode_cursor, doc, encode_cursor, keyset_page, offset_page
from .models import Scope, WebhookDelivery, WebhookEndpoint
from .objects import (
    ACCOUNT_COLUMNS,
    account_json_sql,
    account_object,
    account_with_credentials,
    payment_object,
    refund_object,
    wallet_object,
)

# ---------------------------------------------------------------- examples

ACCOUNT_EXAMPLE = {
    "id": 42, "status": "active", "pending_reason": "", "username": "ana.garcia7",
    "plan": 3, "subscriber": 17, "starts_at": "2026-03-10T12:00:00.118093Z",
    "expires_at": "2026-04-10T12:00:00.118093Z", "auto_renew": True,
    "renewal_source": "external", "renewal_period_months": 1, "currency": "EUR",
    "livemode": True,
}
CREDENTIALS_EXAMPLE = {**ACCOUNT_EXAMPLE, "password": "k7Qm29fXpL3aVw8e"}
SUBSCRIBER_EXAMPLE = {
    "id": 17, "external_id": "whmcs-client-301", "name": "Ana García",
    "email": "ana@example.net", "phone": "", "country": "ES", "language": "es",
    "marketing_consent": False,
    "livemode": True, "created_at": "2026-03-10T12:00:00Z",
}
PLAN_EXAMPLE = {"id": 3, "name": "Monthly", "tier": "", "duration_months": 1, "credit_cost": 1,
                "is_trial": False, "prices": {"EUR": 999}}
ENDPOINT_EXAMPLE = {
    "id": 5, "url": "https://billing.example.com/hooks/panel",
    "events": ["account.created", "account.renewed"], "description": "WHMCS",
    "is_active": True, "livemode": True, "created_at": "2026-03-10T12:00:00Z",
    "secret": "whsec_9hG4...",
}
PAYMENT_EXAMPLE = {"id": 7, "account": 42, "amount": 999, "currency": "EUR",
                   "reference": "WHMCS-INV-1001", "paid_at": "2026-03-10T11:58:00Z",
                   "livemode": True, "renewal": "completed"}
REFUND_EXAMPLE = {"id": 4, "object": "refund", "payment": 31, "amount": 500, "currency": "EUR",
                  "destination": "wallet", "state": "succeeded", "reason": "Goodwill",
                  "shorten": False,
                  "created": "2026-03-12T09:30:00Z", "livemode": True}
CARD_PAYMENT_EXAMPLE = {
    "id": 31, "object": "payment", "subscriber": 17, "account": 42, "source": "card",
    "purpose": "renewal", "state": "partially_refunded", "amount": 999, "currency": "EUR",
    "refunded_amount": 500, "reference": "", "created": "2026-03-10T12:00:00Z",
    "paid_at": "2026-03-10T12:00:02Z", "livemode": True,
    "card": {"brand": "visa", "last4": "4242"}, "error": None, "refunds": [REFUND_EXAMPLE],
}
TOP_UP_EXAMPLE = {
    "id": 32, "object": "payment", "subscriber": 17, "account": None, "source": "external",
    "purpose": "top_up", "state": "succeeded", "amount": 2000, "currency": "EUR",
    "refunded_amount": 0, "reference": "WHMCS-INV-1002", "created": "2026-03-10T12:00:00Z",
    "paid_at": "2026-03-10T12:00:00Z", "livemode": True, "card": None, "error": None,
    "refunds": [], "paid_accounts": [{"account": 42, "result": "renewed"}],
}
DELIVERY_EXAMPLE = {
    "id": 9, "event_id": "evt_5b1c...", "event_type": "account.created", "status": "succeeded",
    "attempts": 1, "last_status_code": 200, "next_attempt_at": None,
    "created_at": "2026-03-10T12:00:00Z", "delivered_at": "2026-03-10T12:00:01Z",
    "log": [{"attempted_at": "2026-03-10T12:00:01Z", "status_code": 200, "error": "",
             "duration_ms": 84}],
}


def page(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"data": items, "next_cursor": next_cursor}


# The filters of s.AccountListQuery, as account_list and the view apply them.
ACCOUNT_FILTERS = {"status": '"status" = %s::text', "plan": '"plan_id" = %s::bigint',
                   "subscriber": '"subscriber_id" = %s::bigint',
                   "username": '"username" = %s::text',
                   "expiring_before": '"expires_at" < %s::timestamptz',
                   "cursor": '"id" < %s::bigint'}


@cache
def _account_rows_sql(filters: tuple[str, ...]) -> str:
    where = "".join(f" AND {ACCOUNT_FILTERS[name]}" for name in filters)
    return (
        f'SELECT "id", {account_json_sql()}::text '  # noqa: S608
        f'FROM "{ServiceAccount._meta.db_table}" '
        f'WHERE "reseller_id" = %s::bigint AND "livemode" = %s::boolean{where} '
        'ORDER BY "id" DESC LIMIT %s::bigint'
    )


def account_page_json(reseller_id: int, livemode: bool, query: dict[str, Any]) -> str:
    """The account list page on PostgreSQL, as the JSON body: one prepared statement.

    The hottest read of the API (an integrator's sync), measured by bench/account_list.py
    (see objects.account_json_sql): the same rows and order as account_list with the
    view's filters, each row the Account object as PostgreSQL writes it.
    """
    filters = tuple(name for name in ACCOUNT_FILTERS if query.get(name))
    params: list[Any] = [reseller_id, livemode]
    for name in filters:
        params.append(decode_cursor(query[name]) if name == "cursor" else query[name])
    limit = query["limit"]
    rows = execute_prepared(_account_rows_sql(filters), [*params, limit + 1])
    next_cursor = encode_cursor(rows[limit - 1][0]) if len(rows) > limit else None
    return (f'{{"data":[{",".join(row[1] for row in rows[:limit])}],'
            f'"next_cursor":{json.dumps(next_cursor)}}}')


AccountPage = s.page_of(s.AccountOut, "AccountPage")
SubscriberPage = s.page_of(s.SubscriberOut, "SubscriberPage")
PlanPage = s.page_of(s.PlanOut, "PlanPage")
LedgerPage = s.page_of(s.LedgerEntryOut, "LedgerPage")
QueuePage = s.page_of(s.QueueItemOut, "RenewalQueuePage")
EndpointPage = s.page_of(s.WebhookEndpointOut, "WebhookEndpointPage")
DeliveryPage = s.page_of(s.DeliveryOut, "WebhookDeliveryPage")
PaymentPage = s.page_of(s.PaymentObjectOut, "PaymentPage")


# ---------------------------------------------------------------- ping


class PingView(ApiView):
    @doc(summary="Test the connection: which reseller, key, mode and scopes.", response=s.PingOut,
         example={"reseller": "acme", "key_name": "WHMCS", "mode": "live",
                  "scopes": ["accounts:read", "accounts:write"]})
    def get(self, request: Request) -> Response:
        return Response({"reseller": self.reseller.slug, "key_name": self.key.name,
                         "mode": self.key.mode, "scopes": self.key.scopes})


# ---------------------------------------------------------------- accounts


class AccountsView(ApiView):
    required_scopes = {"GET": Scope.ACCOUNTS_READ, "POST": Scope.ACCOUNTS_WRITE}

    @doc(summary="List accounts, newest first.", op="accounts_list", response=AccountPage, query=s.AccountListQuery,
         errors=[400], example=page([ACCOUNT_EXAMPLE], None))
    def get(self, request: Request) -> Response | HttpResponse:
        query = self.valid(s.AccountListQuery, request.query_params.dict())
        if connection.vendor == "postgresql":
            authorize(self.actor, self.reseller, Perm.VIEW)
            return HttpResponse(account_page_json(self.reseller.pk, self.livemode, query),
                                content_type="application/json")
        accounts = subs.account_list(
            self.reseller, actor=self.actor, livemode=self.livemode,
            status=query.get("status"), plan_id=query.get("plan"),
            subscriber_id=query.get("subscriber"),
        ).select_related(None).only(*ACCOUNT_COLUMNS)
        if query.get("username"):
            accounts = accounts.filter(username=query["username"])
        if "expiring_before" in query:
            accounts = accounts.filter(expires_at__lt=query["expiring_before"])
        rows, cursor = keyset_page(accounts, cursor=query.get("cursor"), limit=query["limit"])
        return Response(page([account_object(row) for row in rows], cursor))

    @doc(summary="Create an account (pending with insufficient_credits when credits are short).",
         request=s.AccountCreateIn, response=s.AccountWithCredentialsOut, status=201,
         errors=[400, 404, 409], write=True, example=CREDENTIALS_EXAMPLE,
         request_example={"subscriber": {"external_id": "whmcs-client-301",
                                         "email": "ana@example.net", "name": "Ana García"},
                          "plan": 3, "months": 1})
    def post(self, request: Request) -> Response:
        data = self.valid(s.AccountCreateIn, request.data)
        account, password = subs_services.account_open(
            actor=self.actor, reseller=self.reseller, livemode=self.livemode,
            subscriber=subs_services.SubscriberDetails(**data["subscriber"]),
            plan_id=data["plan"], months=data.get("months"), username=data.get("username"),
            currency=data.get("currency"),
        )
        return Response(account_with_credentials(account, password=password),
                        status=status.HTTP_201_CREATED)


class AccountView(ApiView):
    """Base of the single-account views: the account of this key's reseller and mode."""

    required_scope = Scope.ACCOUNTS_WRITE

    def account(self, account_id: int) -> ServiceAccount:
        return subs.account_get(self.reseller, actor=self.actor, account_id=account_id,
                                livemode=self.livemode)


class AccountDetailView(AccountView):
    required_scope = Scope.ACCOUNTS_READ

    @doc(summary="Retrieve an account, with its password.",
         response=s.AccountWithCredentialsOut, path_params=["id"], example=CREDENTIALS_EXAMPLE)
    def get(self, request: Request, id: int) -> Response:
        return Response(account_with_credentials(self.account(id)))


class AccountRenewView(AccountView):
    @doc(summary="Renew (extend) an account; once per payment_reference.", request=s.RenewIn,
         response=s.RenewOut, path_params=["id"], errors=[400, 409], write=True,
         example={**CREDENTIALS_EXAMPLE, "renewal": "completed"},
         request_example={"months": 1, "payment_reference": "WHMCS-INV-1001"})
    def post(self, request: Request, id: int) -> Response:
        data = self.valid(s.RenewIn, request.data)
        reference = data.get("payment_reference") or ""
        result = subs_services.account_renew(
            actor=self.actor, account=self.account(id), months=data.get("months"),
            reference=reference, idempotency_key=f"ref:{reference}" if reference else None,
        )
        account = subs.account_get(self.reseller, actor=self.actor, account_id=id)
        return Response({**account_with_credentials(account),
                         "renewal": "queued" if result.queued else "completed"})


class AccountSuspendView(AccountView):
    @doc(summary="Suspend an account.", request=s.ReasonIn, response=s.AccountOut,
         path_params=["id"], errors=[400, 409], write=True,
         example={**ACCOUNT_EXAMPLE, "status": "suspended"},
         request_example={"reason": "Overdue invoice"})
    def post(self, request: Request, id: int) -> Response:
        data = self.valid(s.ReasonIn, request.data)
        account = subs_services.account_suspend(actor=self.actor, account=self.account(id),
                                                reason=data.get("reason", ""))
        return Response(account_object(account))


class AccountUnsuspendView(AccountView):
    @doc(summary="Unsuspend an account (within its paid period).", request=s.ReasonIn,
         response=s.AccountOut, path_params=["id"], errors=[400, 409], write=True,
         example=ACCOUNT_EXAMPLE, request_example={})
    def post(self, request: Request, id: int) -> Response:
        data = self.valid(s.ReasonIn, request.data)
        account = subs_services.account_unsuspend(actor=self.actor, account=self.account(id),
                                                  reason=data.get("reason", ""))
        return Response(account_object(account))


class AccountTerminateView(AccountView):
    @doc(summary="Terminate an account (final).", request=s.ReasonIn, response=s.AccountOut,
         path_params=["id"], errors=[400, 409], write=True,
         example={**ACCOUNT_EXAMPLE, "status": "terminated"}, request_example={})
    def post(self, request: Request, id: int) -> Response:
        data = self.valid(s.ReasonIn, request.data)
        account = subs_services.account_terminate(actor=self.actor, account=self.account(id),
                                                  reason=data.get("reason", ""))
        return Response(account_object(account))


class AccountChangePlanView(AccountView):
    @doc(summary="Change the plan now or at the next renewal.", request=s.ChangePlanIn,
         response=s.AccountOut, path_params=["id"], errors=[400, 409], write=True,
         example=ACCOUNT_EXAMPLE, request_example={"plan": 4, "when": "renewal"})
    def post(self, request: Request, id: int) -> Response:
        data = self.valid(s.ChangePlanIn, request.data)
        account = self.account(id)
        plan = subs.plan_get(self.reseller, actor=self.actor, plan_id=data["plan"])
        account = subs_services.account_change_plan(actor=self.actor, account=account,
                                                    plan=plan, when=data["when"])
        return Response(account_object(account))


class AccountResetPasswordView(AccountView):
    @doc(summary="Generate a new password (the username stays).", request=None,
         response=s.AccountWithCredentialsOut, path_params=["id"], errors=[409], write=True,
         example=CREDENTIALS_EXAMPLE)
    def post(self, request: Request, id: int) -> Response:
        account, password = subs_services.account_reset_password(
            actor=self.actor, account=self.account(id))
        return Response(account_with_credentials(account, password=password))


class AccountAutoRenewView(AccountView):
    @doc(summary="Switch auto-renewal on or off (off is how a subscription is cancelled).",
         request=s.AutoRenewIn, response=s.AccountOut, path_params=["id"], errors=[400, 409],
         write=True, example={**ACCOUNT_EXAMPLE, "auto_renew": False},
         request_example={"auto_renew": False})
    def post(self, request: Request, id: int) -> Response:
        data = self.valid(s.AutoRenewIn, request.data)
        account = subs_services.account_set_auto_renew(
            actor=self.actor, account=self.account(id), auto_renew=data["auto_renew"])
        return Response(account_object(account))


class AccountRenewalView(AccountView):
    @doc(summary="Auto-renewal settings: on or off, the months it buys, who collects it "
                 "(all or nothing).", request=s.RenewalIn, response=s.AccountOut,
         path_params=["id"], errors=[400, 409], write=True,
         example={**ACCOUNT_EXAMPLE, "renewal_source": "wallet", "renewal_period_months": 3},
         request_example={"renewal_source": "wallet", "renewal_period_months": 3})
    def post(self, request: Request, id: int) -> Response:
        data = self.valid(s.RenewalIn, request.data)
        account = subs_services.account_update_renewal(
            actor=self.actor, account=self.account(id), auto_renew=data.get("auto_renew"),
            period_months=data.get("renewal_period_months"),
            source=data.get("renewal_source"))
        return Response(account_object(account))


# ---------------------------------------------------------------- subscribers


class SubscribersView(ApiView):
    required_scopes = {"GET": Scope.SUBSCRIBERS_READ, "POST": Scope.SUBSCRIBERS_WRITE}

    @doc(summary="List subscribers, newest first.", op="subscribers_list", response=SubscriberPage, errors=[400],
         query=s.SubscriberListQuery, example=page([SUBSCRIBER_EXAMPLE], None))
    def get(self, request: Request) -> Response:
        query = self.valid(s.SubscriberListQuery, request.query_params.dict())
        rows: QuerySet[Any] = subs.subscriber_list(self.reseller, actor=self.actor,
                                                   livemode=self.livemode)
        if query.get("external_id"):
            rows = rows.filter(external_id=query["external_id"])
        if query.get("email"):
            rows = rows.filter(email=query["email"].lower())
        items, cursor = keyset_page(rows, cursor=query.get("cursor"), limit=query["limit"])
        return Response(page(list(s.SubscriberOut(items, many=True).data), cursor))

    @doc(summary="Create a subscriber.", request=s.SubscriberIn, response=s.SubscriberOut,
         status=201, errors=[400], write=True, example=SUBSCRIBER_EXAMPLE,
         request_example={"name": "Ana García", "email": "ana@example.net",
                          "external_id": "whmcs-client-301", "country": "ES",
                          "language": "es"})
    def post(self, request: Request) -> Response:
        data = self.valid(s.SubscriberIn, request.data)
        subscriber = subs_services.subscriber_create(
            actor=self.actor, reseller=self.reseller, livemode=self.livemode, **data)
        return Response(s.SubscriberOut(subscriber).data, status=status.HTTP_201_CREATED)


class SubscriberDetailView(ApiView):
    required_scopes = {"GET": Scope.SUBSCRIBERS_READ, "PATCH": Scope.SUBSCRIBERS_WRITE}

    @doc(summary="Retrieve a subscriber.", response=s.SubscriberOut, path_params=["id"],
         example=SUBSCRIBER_EXAMPLE)
    def get(self, request: Request, id: int) -> Response:
        subscriber = subs.subscriber_get(self.reseller, actor=self.actor, subscriber_id=id,
                                         livemode=self.livemode)
        return Response(s.SubscriberOut(subscriber).data)

    @doc(summary="Update a subscriber (only the fields sent).", request=s.SubscriberIn,
         response=s.SubscriberOut, path_params=["id"], errors=[400], write=True,
         example=SUBSCRIBER_EXAMPLE, request_example={"phone": "+34 600 000 000"})
    def patch(self, request: Request, id: int) -> Response:
        serializer = s.SubscriberIn(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        subscriber = subs.subscriber_get(self.reseller, actor=self.actor, subscriber_id=id,
                                         livemode=self.livemode)
        subscriber = subs_services.subscriber_update(
            actor=self.actor, subscriber=subscriber, **serializer.validated_data)
        return Response(s.SubscriberOut(subscriber).data)


class MoneyView(ApiView):
    """Writes that move money: the Idempotency-Key is required and is the movement's own
    key, per mode (a test key's "k1" and a live key's "k1" are two movements)."""

    idempotency_required = True

    @property
    def money_key(self) -> str:
        mode = "live" if self.livemode else "test"
        key = self.idempotency_key
        # The payments' keys hold 150 characters; a longer header is kept as its digest.
        if len(key) > 120:
            key = "sha256-" + hashlib.sha256(key.encode()).hexdigest()
        return f"api:{mode}:{key}"

    @contextmanager
    def header_key(self) -> Iterator[None]:
        """The service's refusal of a reused key names the header the client sent."""
        try:
            yield
        except IdempotencyKeyReused as error:
            raise IdempotencyKeyReused(error.message, param="Idempotency-Key") from error


class SubscriberWalletView(ApiView):
    required_scope = Scope.PAYMENTS_READ

    @doc(summary="The subscriber's wallet: its balance in each currency.", response=s.WalletOut,
         path_params=["id"], example={"balances": [{"currency": "EUR", "amount": 1500}],
                                      "livemode": True})
    def get(self, request: Request, id: int) -> Response:
        subscriber = subs.subscriber_get(self.reseller, actor=self.actor, subscriber_id=id,
                                         livemode=self.livemode)
        authorize(self.actor, self.reseller, Perm.PAYMENTS_VIEW)
        return Response(wallet_object(payments.wallet_balances(self.reseller, subscriber),
                                      livemode=self.livemode))


class SubscriberTopUpView(MoneyView):
    required_scope = Scope.PAYMENTS_WRITE

    @doc(summary="Top up the subscriber's wallet with money your billing system took; the "
                 "wallet then pays the accounts waiting on it.", request=s.TopUpIn,
         response=s.TopUpOut, status=201, path_params=["id"], errors=[400, 404, 409],
         write=True, idempotency_required=True, example=TOP_UP_EXAMPLE,
         also={200: ("This top-up was made before with this Idempotency-Key by another of "
                     "your keys of this mode: the payment, nothing added again.",
                     {**TOP_UP_EXAMPLE, "paid_accounts": []})},
         request_example={"amount": 2000, "currency": "EUR", "reference": "WHMCS-INV-1002"})
    def post(self, request: Request, id: int) -> Response:
        data = self.valid(s.TopUpIn, request.data)
        subscriber = subs.subscriber_get(self.reseller, actor=self.actor, subscriber_id=id,
                                         livemode=self.livemode)
        with self.header_key():
            result = charges.wallet_top_up(
                actor=self.actor, subscriber=subscriber, amount=data["amount"],
                currency=data["currency"], source=PaymentSource.EXTERNAL,
                reference=data["reference"], idempotency_key=self.money_key)
        payment = payments.payment_get(self.reseller, result.payment.pk, actor=self.actor)
        body = {**payment_object(payment),
                "paid_accounts": [{"account": account_id, "result": outcome}
                                  for account_id, outcome in result.paid_accounts]}
        return Response(body, status=status.HTTP_201_CREATED if result.created
                        else status.HTTP_200_OK)


class PaymentView(ApiView):
    required_scope = Scope.PAYMENTS_READ

    def payment(self, payment_id: int) -> Payment:
        return payments.payment_get(self.reseller, payment_id, actor=self.actor,
                                    livemode=self.livemode)


class PaymentDetailView(PaymentView):
    @doc(summary="Retrieve a payment made through the panel (card, wallet, cash, bank "
                 "transfer, top-up), with its refunds.", response=s.PaymentObjectOut,
         path_params=["id"], example=CARD_PAYMENT_EXAMPLE)
    def get(self, request: Request, id: int) -> Response:
        return Response(payment_object(self.payment(id)))


class PaymentRefundsView(MoneyView, PaymentView):
    required_scope = Scope.PAYMENTS_WRITE
    # A refund to a card calls Stripe: no transaction of ours may hold the payment's row then.
    idempotency_in_service = True

    @doc(summary="Refund part or all of what is left of a payment, to the card or the wallet.",
         request=s.RefundIn, response=s.RefundOut, status=201, path_params=["id"],
         errors=[400, 404, 409], write=True, idempotency_required=True,
         example=REFUND_EXAMPLE,
         request_example={"amount": 500, "destination": "wallet", "reason": "Goodwill"})
    def post(self, request: Request, id: int) -> Response:
        data = self.valid(s.RefundIn, request.data)
        payment = self.payment(id)
        arguments = {"actor": self.actor, "payment": payment, "amount": data["amount"],
                     "idempotency_key": self.money_key,
                     "destination": data.get("destination"), "reason": data.get("reason", ""),
                     "shorten": data.get("shorten", False)}
        now = timezone.now()
        with self.header_key():
            try:
                refund = charges.payment_refund(**arguments, now=now)
            except IntegrityError:
                # The same key at the same moment: the other request made the refund; this
                # one finds it (and the key's other parameters are checked) on a second asking.
                refund = charges.payment_refund(**arguments, now=timezone.now())
        response = Response(refund_object(refund), status=status.HTTP_201_CREATED)
        if refund.created_at != now:
            response["Idempotent-Replayed"] = "true"
        return response


# ---------------------------------------------------------------- plans, credits, queue


class PlansView(ApiView):
    required_scope = Scope.PLANS_READ

    @doc(summary="The plans on sale.", response=PlanPage, example=page([PLAN_EXAMPLE], None))
    def get(self, request: Request) -> Response:
        plans = subs.plan_list(self.reseller, actor=self.actor)
        return Response(page([s.PlanOut({
            "id": plan.pk, "name": plan.name, "tier": plan.tier,
            "duration_months": plan.duration_months, "credit_cost": plan.credit_cost,
            "is_trial": plan.is_trial,
            "prices": {price.currency: price.amount for price in plan.prices.all()},
        }).data for plan in plans], None))


class CreditsBalanceView(ApiView):
    required_scope = Scope.CREDITS_READ

    @doc(summary="The credit balance of this key's mode.", response=s.BalanceOut,
         example={"balance": 120, "floor": 20, "livemode": True})
    def get(self, request: Request) -> Response:
        balance = credits_balance(self.reseller, actor=self.actor, livemode=self.livemode)
        floor = subscription_settings_for(self.reseller).credit_floor or None
        return Response({"balance": balance, "floor": floor, "livemode": self.livemode})


class CreditsLedgerView(ApiView):
    required_scope = Scope.CREDITS_READ

    @doc(summary="Credit movements, newest first.", response=LedgerPage, query=s.LedgerQuery,
         errors=[400], example=page([{
             "id": 88, "kind": "activation", "delta": -1, "balance_after": 119,
             "reference": "", "account": 42, "subscriber": 17,
             "created_at": "2026-03-10T12:00:00Z", "livemode": True}], None))
    def get(self, request: Request) -> Response:
        query = self.valid(s.LedgerQuery, request.query_params.dict())
        # The selector's authorisation first, then a keyset page over the same rows.
        credits_balance(self.reseller, actor=self.actor, livemode=self.livemode)
        rows = CreditLedgerEntry.objects.filter(reseller=self.reseller, livemode=self.livemode)
        if query.get("kind"):
            rows = rows.filter(kind=query["kind"])
        items, cursor = keyset_page(rows, cursor=query.get("cursor"), limit=query["limit"])
        return Response(page(list(s.LedgerEntryOut(items, many=True).data), cursor))


class RenewalQueueView(ApiView):
    required_scope = Scope.ACCOUNTS_READ

    @doc(summary="Accounts that need attention, most urgent first.", response=QueuePage,
         query=s.QueueQuery, errors=[400],
         example=page([{**ACCOUNT_EXAMPLE, "status": "grace", "queue_reason": "grace"}], None))
    def get(self, request: Request) -> Response:
        query = self.valid(s.QueueQuery, request.query_params.dict())
        rows = subs.renewal_queue(self.reseller, actor=self.actor, livemode=self.livemode,
                                  within_days=query["within_days"]).select_related(None)
        items, cursor = offset_page(rows, cursor=query.get("cursor"), limit=query["limit"])
        return Response(page([{**account_object(row), "queue_reason": row.queue_reason}  # type: ignore[attr-defined]
                              for row in items], cursor))


# ---------------------------------------------------------------- payments


class PaymentsView(ApiView):
    required_scopes = {"GET": Scope.PAYMENTS_READ, "POST": Scope.PAYMENTS_WRITE}

    @doc(summary="Payments made through the panel, newest first.", op="payments_list",
         response=PaymentPage, query=s.PaymentListQuery, errors=[400],
         example=page([CARD_PAYMENT_EXAMPLE], None))
    def get(self, request: Request) -> Response:
        query = self.valid(s.PaymentListQuery, request.query_params.dict())
        rows = payments.payment_list(
            self.reseller, actor=self.actor, livemode=self.livemode, state=query.get("state"),
            source=query.get("source"), subscriber_id=query.get("subscriber"),
            since=query.get("created_after"), until=query.get("created_before"),
        ).prefetch_related("refunds")
        items, cursor = keyset_page(rows, cursor=query.get("cursor"), limit=query["limit"])
        return Response(page([payment_object(row) for row in items], cursor))

    @doc(summary="Record a payment taken outside the panel; renews the account once per "
                 "reference.", request=s.PaymentIn, response=s.PaymentOut, status=201,
         errors=[400, 404, 409], write=True, example=PAYMENT_EXAMPLE,
         also={200: ("Recorded before (same account and reference): the first record, with "
                     "renewal already_recorded; nothing renews again.",
                     {**PAYMENT_EXAMPLE, "renewal": "already_recorded"})},
         request_example={"account": 42, "amount": 999, "currency": "EUR",
                          "reference": "WHMCS-INV-1001", "paid_at": "2026-03-10T11:58:00Z"})
    def post(self, request: Request) -> Response:
        data = self.valid(s.PaymentIn, request.data)
        result = payment_record(
            actor=self.actor, reseller=self.reseller, livemode=self.livemode,
            account_id=data["account"], amount=data["amount"], currency=data["currency"],
            reference=data["reference"], paid_at=data["paid_at"], api_key=self.key,
        )
        renewal = "already_recorded" if not result.created else (
            "queued" if result.renewal and result.renewal.queued else "completed")
        payment = result.payment
        body = {**s.PaymentOut(payment).data, "renewal": renewal}
        return Response(body, status=status.HTTP_201_CREATED if result.created
                        else status.HTTP_200_OK)


# ---------------------------------------------------------------- webhooks


class WebhookEndpointsView(ApiView):
    required_scope = Scope.WEBHOOKS_MANAGE

    @doc(summary="This mode's webhook endpoints.", op="webhook_endpoints_list", response=EndpointPage,
         example=page([{k: v for k, v in ENDPOINT_EXAMPLE.items() if k != "secret"}], None))
    def get(self, request: Request) -> Response:
        rows = WebhookEndpoint.objects.filter(reseller=self.reseller, livemode=self.livemode,
                                              deleted_at__isnull=True).order_by("id")[:100]
        return Response(page([s.WebhookEndpointOut(row).data for row in rows], None))

    @doc(summary="Register an endpoint; the signing secret is in this response only.",
         request=s.WebhookEndpointIn, response=s.WebhookEndpointCreatedOut, status=201,
         errors=[400], write=True, example=ENDPOINT_EXAMPLE,
         request_example={"url": "https://billing.example.com/hooks/panel",
                          "events": ["account.created", "account.renewed"]})
    def post(self, request: Request) -> Response:
        data = self.valid(s.WebhookEndpointIn, request.data)
        endpoint, secret = services.webhook_endpoint_create(
            actor=self.actor, reseller=self.reseller, livemode=self.livemode, url=data["url"],
            events=data["events"], description=data.get("description", ""))
        return Response({**s.WebhookEndpointOut(endpoint).data, "secret": secret},
                        status=status.HTTP_201_CREATED)


class WebhookEndpointView(ApiView):
    required_scope = Scope.WEBHOOKS_MANAGE

    def endpoint(self, endpoint_id: int) -> WebhookEndpoint:
        endpoint = WebhookEndpoint.objects.filter(
            reseller=self.reseller, livemode=self.livemode, deleted_at__isnull=True,
            pk=endpoint_id,
        ).first()
        if endpoint is None:
            raise NotFound("No such webhook endpoint.", code="webhook_endpoint_not_found",
                           param="id")
        return endpoint


class WebhookEndpointDetailView(WebhookEndpointView):
    @doc(summary="Retrieve an endpoint.", response=s.WebhookEndpointOut, path_params=["id"],
         example={k: v for k, v in ENDPOINT_EXAMPLE.items() if k != "secret"})
    def get(self, request: Request, id: int) -> Response:
        return Response(s.WebhookEndpointOut(self.endpoint(id)).data)

    @doc(summary="Change an endpoint's URL, events or state.", request=s.WebhookEndpointIn,
         response=s.WebhookEndpointOut, path_params=["id"], errors=[400], write=True,
         example={k: v for k, v in ENDPOINT_EXAMPLE.items() if k != "secret"},
         request_example={"events": ["account.created"]})
    def patch(self, request: Request, id: int) -> Response:
        serializer = s.WebhookEndpointIn(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(
            actor=self.actor, endpoint=self.endpoint(id), **serializer.validated_data)
        return Response(s.WebhookEndpointOut(endpoint).data)

    @doc(summary="Delete an endpoint (its delivery log stays).", response=None, status=204,
         path_params=["id"], write=True, example={})
    def delete(self, request: Request, id: int) -> Response:
        services.webhook_endpoint_delete(actor=self.actor, endpoint=self.endpoint(id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveriesView(WebhookEndpointView):
    @doc(summary="An endpoint's deliveries, newest first.", response=DeliveryPage,
         path_params=["id"], query=s.PageQuery, errors=[400],
         example=page([DELIVERY_EXAMPLE], None))
    def get(self, request: Request, id: int) -> Response:
        query = self.valid(s.PageQuery, request.query_params.dict())
        rows = WebhookDelivery.objects.filter(endpoint=self.endpoint(id)).prefetch_related("log")
        items, cursor = keyset_page(rows, cursor=query.get("cursor"), limit=query["limit"])
        return Response(page(list(s.DeliveryOut(items, many=True).data), cursor))


class WebhookRedeliverView(WebhookEndpointView):
    @doc(summary="Send a delivery again.", request=None, response=s.DeliveryOut,
         path_params=["id", "delivery_id"], errors=[409], write=True,
         example={**DELIVERY_EXAMPLE, "status": "pending"})
    def post(self, request: Request, id: int, delivery_id: int) -> Response:
        delivery = WebhookDelivery.objects.filter(endpoint=self.endpoint(id),
                                                  pk=delivery_id).first()
        if delivery is None:
            raise NotFound("No such delivery.", code="delivery_not_found", param="delivery_id")
        delivery = services.webhook_redeliver(actor=self.actor, delivery=delivery,
                                              now=timezone.now())
        return Response(s.DeliveryOut(delivery).data)
