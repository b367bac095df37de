"""Every call the panel makes to Stripe goes through here.

Each call uses the reseller's key for the mode of what it touches (test keys for
test-mode data only), an `Idempotency-Key` on every POST, the timeout of
settings.STRIPE_TIMEOUT_SECONDS and the address of settings.STRIPE_API_BASE (so
tests point the SDK at a local Stripe). The SDK's own network retries are off:
a call that gets no answer raises StripeUnavailable, its outcome unknown, and the
caller keeps the payment `unknown` until the janitor asks again with the same key.

Stripe's errors come out as three exceptions of ours:

- StripeDeclined: the card was refused (`card_declined`, with Stripe's
  `decline_code`), or needs the cardholder (`authentication_required`);
- StripeRejected: the request itself was refused (bad or revoked keys, an
  unknown object, bad parameters): nothing was charged;
- StripeUnavailable: no answer, a timeout, a rate limit or a Stripe server
  error: the charge may or may not have happened.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import stripe
from django.conf import settings

from apps.core import crypto
from apps.core.errors import DomainError

from .models import StripeKeys

T = TypeVar("T")


class CardPaymentsOff(DomainError):
    status = 409
    code = "card_payments_off"
    type = "invalid_request_error"


class StripeUnavailable(Exception):
    """Stripe did not answer: the outcome of the call is unknown."""


class StripeRejected(Exception):
    """Stripe refused the request (keys, parameters): nothing happened there."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class StripeDeclined(Exception):
    """The card was declined, or needs its holder to authenticate."""

    def __init__(self, message: str, *, code: str, decline_code: str = "",
                 payment_intent: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.decline_code = decline_code
        # The PaymentIntent as Stripe left it (status requires_payment_method or requires_action).
        self.payment_intent = payment_intent

    @property
    def needs_authentication(self) -> bool:
        return self.code == "authentication_required"


@dataclass
class Stats:
    """Calls made and seconds spent waiting on Stripe, for the benchmark (bench/payments.py)."""

    calls: int = 0
    seconds: float = 0.0

    def reset(self) -> None:
        self.calls, self.seconds = 0, 0.0


STATS = Stats()
_stats_lock = threading.Lock()


def keys_for(reseller_id: int, livemode: bool) -> StripeKeys | None:
    return StripeKeys.objects.filter(reseller_id=reseller_id, livemode=livemode).first()


def require_keys(reseller_id: int, livemode: bool) -> StripeKeys:
    keys = keys_for(reseller_id, livemode)
    if keys is None:
        mode = "live" if livemode else "test"
        raise CardPaymentsOff(f"Card payments are off in {mode} mode: no Stripe keys are set.",
                              param="source")
    return keys


@lru_cache(maxsize=256)
def _client(secret_key: str, api_base: str, timeout: float) -> stripe.StripeClient:
    return stripe.StripeClient(
        secret_key,
        base_addresses={"api": api_base},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


def client_for_secret(secret_key: str) -> stripe.StripeClient:
    return _client(secret_key, settings.STRIPE_API_BASE,
                   float(settings.STRIPE_TIMEOUT_SECONDS))


def client(keys: StripeKeys) -> stripe.StripeClient:
    return client_for_secret(crypto.decrypt(keys.secret_key_encrypted))


@contextmanager
def _translated() -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    except stripe.CardError as error:
        err = error.error
        raise StripeDeclined(
            error.user_message or str(error), code=error.code or "card_declined",
            decline_code=getattr(err, "decline_code", None) or "",
            payment_intent=getattr(err, "payment_intent", None),
        ) from error
    except (stripe.APIConnectionError, stripe.RateLimitError) as error:
        raise StripeUnavailable(str(error) or type(error).__name__) from error
    except stripe.APIError as error:
        # A Stripe server error: the request may have been carried out.
        raise StripeUnavailable(str(error) or "Stripe server error") from error
    except stripe.StripeError as error:
        raise StripeRejected(error.user_message or str(error) or type(error).__name__,
                             code=error.code or "") from error
    finally:
        with _stats_lock:
            STATS.calls += 1
            STATS.seconds += time.perf_counter() - started


def _call(fn: Callable[[], T]) -> T:
    with _translated():
        return fn()


def _post(idempotency_key: str) -> stripe.RequestOptions:
    return {"idempotency_key": idempotency_key}


# ---------------------------------------------------------------- calls


def account_check(keys: StripeKeys) -> str:
    """One harmless call (the balance): what the keys reach, in a line for the settings page."""
    balance = _call(lambda: client(keys).v1.balance.retrieve())
    mode = "live" if balance.livemode else "test"
    currencies = sorted({item.currency.upper() for item in (balance.available or [])})
    return f"Stripe {mode} account reached; balance in {', '.join(currencies) or 'no currency'}."


def customer_create(keys: StripeKeys, *, email: str, name: str, metadata: dict[str, str],
                    idempotency_key: str) -> str:
    params: Any = {"name": name, "metadata": metadata}
    if email:
        params["email"] = email
    customer = _call(lambda: client(keys).v1.customers.create(
        params=params, options=_post(idempotency_key)))
    return str(customer.id)


def payment_method_retrieve(keys: StripeKeys, payment_method_id: str) -> Any:
    return _call(lambda: client(keys).v1.payment_methods.retrieve(payment_method_id))


def payment_method_attach(keys: StripeKeys, payment_method_id: str, *, customer: str,
                          idempotency_key: str) -> Any:
    return _call(lambda: client(keys).v1.payment_methods.attach(
        payment_method_id, params={"customer": customer},
        options=_post(idempotency_key)))


def payment_method_detach(keys: StripeKeys, payment_method_id: str, *,
                          idempotency_key: str) -> Any:
    return _call(lambda: client(keys).v1.payment_methods.detach(
        payment_method_id, options=_post(idempotency_key)))


def payment_intent_charge(keys: StripeKeys, *, amount: int, currency: str, customer: str,
                          payment_method: str, idempotency_key: str,
                          metadata: dict[str, str], description: str) -> Any:
    """Charge a saved card with the cardholder absent (off-session), confirmed at once.

    Raises StripeDeclined for a declined card or one that needs authentication,
    StripeUnavailable when the outcome is unknown. The same key repeats the same
    answer, which is how a payment left `unknown` is resolved.
    """
    params: Any = {
        "amount": amount, "currency": currency.lower(), "customer": customer,
        "payment_method": payment_method, "off_session": True, "confirm": True,
        "metadata": metadata, "description": description,
    }
    return _call(lambda: client(keys).v1.payment_intents.create(
        params=params, options=_post(idempotency_key)))


def payment_intent_retrieve(keys: StripeKeys, payment_intent_id: str) -> Any:
    return _call(lambda: client(keys).v1.payment_intents.retrieve(payment_intent_id))


def payment_intent_find(keys: StripeKeys, *, customer: str, payment_id: int) -> Any:
    """The customer's PaymentIntent made for the panel's payment `payment_id`, or None.

    For a payment older than Stripe's idempotency window (24 hours), where asking
    again with its key would make a new charge.
    """
    if not customer:
        return None
    page = _call(lambda: client(keys).v1.payment_intents.list(
        params={"customer": customer, "limit": 100}))
    for intent in page.data:
        if metadata_of(intent).get("payment") == str(payment_id):
            return intent
    return None


def refund_create(keys: StripeKeys, *, payment_intent: str, amount: int,
                  idempotency_key: str, metadata: dict[str, str]) -> Any:
    params: Any = {"payment_intent": payment_intent, "amount": amount,
                              "metadata": metadata}
    return _call(lambda: client(keys).v1.refunds.create(
        params=params, options=_post(idempotency_key)))


def charge_retrieve(keys: StripeKeys, charge_id: str) -> Any:
    return _call(lambda: client(keys).v1.charges.retrieve(charge_id))


def dispute_retrieve(keys: StripeKeys, dispute_id: str) -> Any:
    return _call(lambda: client(keys).v1.disputes.retrieve(dispute_id))


def metadata_of(obj: Any) -> dict[str, str]:
    """A Stripe object's metadata as a dict: the SDK's StripeObject is not one (no .get)."""
    metadata = getattr(obj, "metadata", None)
    if not metadata:
        return {}
    return dict(metadata.to_dict()) if hasattr(metadata, "to_dict") else dict(metadata)


def event_verified(payload: bytes, signature: str, secret: str) -> Any:
    """The event of a webhook request, once its signature is checked (300 s tolerance).

    Raises stripe.SignatureVerificationError for a bad or stale signature and
    ValueError for a body that is not JSON.
    """
    return stripe.Webhook.construct_event(payload, signature, secret, tolerance=300)
