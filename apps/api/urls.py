from django.urls import path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views

app_name = "api"


class IdConverter:
    """Any path segment: a non-numeric or out-of-range id becomes 0, which matches nothing,
    so the API answers its own JSON 404 instead of Django's HTML page."""

    regex = "[^/]+"

    def to_python(self, value: str) -> int:
        if value.isdigit() and len(value) <= 18:
            return int(value)
        return 0

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")

urlpatterns = [
    path("ping", views.PingView.as_view(), name="ping"),
    path("accounts", views.AccountsView.as_view(), name="accounts"),
    path("accounts/<id:id>", views.AccountDetailView.as_view(), name="account"),
    path("accounts/<id:id>/renew", views.AccountRenewView.as_view(), name="account-renew"),
    path("accounts/<id:id>/suspend", views.AccountSuspendView.as_view(), name="account-suspend"),
    path("accounts/<id:id>/unsuspend", views.AccountUnsuspendView.as_view(),
         name="account-unsuspend"),
    path("accounts/<id:id>/terminate", views.AccountTerminateView.as_view(),
         name="account-terminate"),
    path("accounts/<id:id>/change-plan", views.AccountChangePlanView.as_view(),
         name="account-change-plan"),
    path("accounts/<id:id>/reset-password", views.AccountResetPasswordView.as_view(),
         name="account-reset-password"),
    path("accounts/<id:id>/auto-renew", views.AccountAutoRenewView.as_view(),
         name="account-auto-renew"),
    path("accounts/<id:id>/renewal", views.AccountRenewalView.as_view(),
         name="account-renewal"),
    path("subscribers", views.SubscribersView.as_view(), name="subscribers"),
    path("subscribers/<id:id>", views.SubscriberDetailView.as_view(), name="subscriber"),
    path("subscribers/<id:id>/wallet", views.SubscriberWalletView.as_view(),
         name="subscriber-wallet"),
    path("subscribers/<id:id>/wallet/top-ups", views.SubscriberTopUpView.as_view(),
         name="subscriber-wallet-top-ups"),
    path("plans", views.PlansView.as_view(), name="plans"),
    path("credits/balance", views.CreditsBalanceView.as_view(), name="credits-balance"),
    path("credits/ledger", views.CreditsLedgerView.as_view(), name="credits-ledger"),
    path("payments", views.PaymentsView.as_view(), name="payments"),
    path("payments/<id:id>", views.PaymentDetailView.as_view(), name="payment"),
    path("payments/<id:id>/refunds", views.PaymentRefundsView.as_view(),
         name="payment-refunds"),
    path("renewal-queue", views.RenewalQueueView.as_view(), name="renewal-queue"),
    path("webhook-endpoints", views.WebhookEndpointsView.as_view(), name="webhook-endpoints"),
    path("webhook-endpoints/<id:id>", views.WebhookEndpointDetailView.as_view(),
         name="webhook-endpoint"),
    path("webhook-endpoints/<id:id>/deliveries", views.WebhookDeliveriesView.as_view(),
         name="webhook-deliveries"),
    path("webhook-endpoints/<id:id>/deliveries/<id:delivery_id>/redeliver",
         views.WebhookRedeliverView.as_view(), name="webhook-redeliver"),
    path("schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]),
         name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema",
                                                 authentication_classes=[],
                                                 permission_classes=[]), name="docs"),
]
