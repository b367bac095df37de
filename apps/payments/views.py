"""The payments app's own doors: Stripe's webhooks in, and the subscriber's payment link."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .selectors import payment_from_link
from .stripe_api import keys_for
from .webhooks import stripe_webhook_receive


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest, slug: str, mode: str) -> HttpResponse:
    answer = stripe_webhook_receive(slug=slug, mode=mode, payload=request.body,
                                    signature=request.headers.get("Stripe-Signature", ""))
    return JsonResponse(answer.body, status=answer.status)


def pay_page(request: HttpRequest, token: str) -> HttpResponse:
    """The link in a subscriber's payment email: what is owed and what to do about it."""
    payment = payment_from_link(token)
    if payment is None:
        return render(request, "payments/pay.html", {"payment": None}, status=404)
    return render(request, "payments/pay.html", {
        "payment": payment, "reseller": payment.reseller,
        "publishable_key": getattr(keys_for(payment.reseller_id, payment.livemode),
                                   "publishable_key", ""),
    })
