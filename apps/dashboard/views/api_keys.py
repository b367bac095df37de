"""The API and webhooks tab: API keys (scopes, IP allow-list, expiry) and webhook endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.accounts.permissions import Perm
from apps.api import services as api_services
from apps.api.models import ApiKey, WebhookDelivery, WebhookEndpoint
from apps.core.errors import DomainError

from .. import forms
from ..access import Context, dashboard_view
from .settings import tab_page, tab_redirect


def _api_page(request: HttpRequest, ctx: Context, *, status: int = 200,
              shown_once: dict[str, Any] | None = None,
              api_key_form: forms.ApiKeyForm | None = None,
              webhook_form: forms.WebhookForm | None = None) -> HttpResponse:
    reseller = ctx.reseller
    response = tab_page(
        request, ctx, "api", status=status,
        api_keys=list(ApiKey.objects.filter(reseller=reseller).order_by("-created_at")[:100]),
        endpoints=list(WebhookEndpoint.objects.filter(reseller=reseller, deleted_at=None)
                       .order_by("-created_at")[:50]),
        deliveries=list(WebhookDelivery.objects.filter(reseller=reseller)
                        .select_related("endpoint").order_by("-id")[:30]),
        api_key_form=api_key_form or forms.ApiKeyForm(),
        webhook_form=webhook_form or forms.WebhookForm(),
        shown_once=shown_once,
    )
    if shown_once:
        response["Cache-Control"] = "no-store"
    return response


def _api_error(request: HttpRequest, ctx: Context, **bound: Any) -> HttpResponse:
    return _api_page(request, ctx, status=400, **bound)


def _api_shown(request: HttpRequest, ctx: Context, shown: dict[str, Any]) -> HttpResponse:
    return _api_page(request, ctx, shown_once=shown)


@dashboard_view(Perm.API_KEYS_MANAGE)
def settings_api_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    return _api_page(request, ctx)


def _api_key(ctx: Context, key_id: int) -> ApiKey:
    key = ApiKey.objects.filter(reseller=ctx.reseller, pk=key_id).first()
    if key is None:
        raise Http404
    return key


@require_POST
@dashboard_view(Perm.API_KEYS_MANAGE)
def api_key_create_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    form = forms.ApiKeyForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        expires = data["expires_at"]
        try:
            key, raw = api_services.api_key_create(
                actor=ctx.actor, reseller=ctx.reseller, name=data["name"], mode=data["mode"],
                scopes=data["scopes"], allowed_ips=data["allowed_ips"],
                expires_at=dt.datetime.combine(expires, dt.time(), tzinfo=ctx.zone)
                if expires else None)
        except DomainError as error:
            forms.attach_error(form, error)
        else:
            return _api_shown(request, ctx, {"kind": "key", "name": key.name, "value": raw,
                                             "test": key.mode == "test"})
    return _api_error(request, ctx, api_key_form=form)


@require_POST
@dashboard_view(Perm.API_KEYS_MANAGE)
def api_key_revoke_view(request: HttpRequest, ctx: Context, key_id: int) -> HttpResponse:
    key = api_services.api_key_revoke(actor=ctx.actor, key=_api_key(ctx, key_id))
    messages.success(request, _("Key %(prefix)s revoked.") % {"prefix": key.prefix})
    return tab_redirect("api")


@require_POST
@dashboard_view(Perm.API_KEYS_MANAGE)
def api_key_rotate_view(request: HttpRequest, ctx: Context, key_id: int) -> HttpResponse:
    key, raw = api_services.api_key_rotate(actor=ctx.actor, key=_api_key(ctx, key_id))
    return _api_shown(request, ctx, {"kind": "key", "name": key.name, "value": raw,
                                     "test": key.mode == "test"})


@require_POST
@dashboard_view(Perm.API_KEYS_MANAGE)
def webhook_create_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    form = forms.WebhookForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            endpoint, secret = api_services.webhook_endpoint_create(
                actor=ctx.actor, reseller=ctx.reseller, livemode=data["mode"] == "live",
                url=data["url"], events=data["events"], description=data["description"])
        except DomainError as error:
            forms.attach_error(form, error)
        else:
            return _api_shown(request, ctx, {"kind": "secret", "name": endpoint.url,
                                             "value": secret, "test": not endpoint.livemode})
    return _api_error(request, ctx, webhook_form=form)


@require_POST
@dashboard_view(Perm.API_KEYS_MANAGE)
def webhook_delete_view(request: HttpRequest, ctx: Context, endpoint_id: int) -> HttpResponse:
    endpoint = WebhookEndpoint.objects.filter(reseller=ctx.reseller, pk=endpoint_id,
                                              deleted_at=None).first()
    if endpoint is None:
        raise Http404
    api_services.webhook_endpoint_delete(actor=ctx.actor, endpoint=endpoint)
    messages.success(request, _("Webhook endpoint deleted."))
    return tab_redirect("api")


@require_POST
@dashboard_view(Perm.API_KEYS_MANAGE)
def webhook_redeliver_view(request: HttpRequest, ctx: Context, delivery_id: int) -> HttpResponse:
    delivery = WebhookDelivery.objects.filter(reseller=ctx.reseller, pk=delivery_id).first()
    if delivery is None:
        raise Http404
    api_services.webhook_redeliver(actor=ctx.actor, delivery=delivery)
    messages.success(request, _("The delivery will be sent again."))
    return tab_redirect("api")
