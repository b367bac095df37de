from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views

app_name = "api"

urlpatterns = [
    path("ping", views.PingView.as_view(), name="ping"),
    path("accounts", views.AccountsView.as_view(), name="accounts"),
    path("accounts/<int:id>", views.AccountDetailView.as_view(), name="account"),
    path("accounts/<int:id>/renew", views.AccountRenewView.as_view(), name="account-renew"),
    path("accounts/<int:id>/suspend", views.AccountSuspendView.as_view(), name="account-suspend"),
    path("accounts/<int:id>/unsuspend", views.AccountUnsuspendView.as_view(),
         name="account-unsuspend"),
    path("accounts/<int:id>/terminate", views.AccountTerminateView.as_view(),
         name="account-terminate"),
    path("accounts/<int:id>/change-plan", views.AccountChangePlanView.as_view(),
         name="account-change-plan"),
    path("accounts/<int:id>/reset-password", views.AccountResetPasswordView.as_view(),
         name="account-reset-password"),
    path("accounts/<int:id>/auto-renew", views.AccountAutoRenewView.as_view(),
         name="account-auto-renew"),
    path("subscribers", views.SubscribersView.as_view(), name="subscribers"),
    path("subscribers/<int:id>", views.SubscriberDetailView.as_view(), name="subscriber"),
    path("plans", views.PlansView.as_view(), name="plans"),
    path("credits/balance", views.CreditsBalanceView.as_view(), name="credits-balance"),
    path("credits/ledger", views.CreditsLedgerView.as_view(), name="credits-ledger"),
    path("payments", views.PaymentsView.as_view(), name="payments"),
    path("renewal-queue", views.RenewalQueueView.as_view(), name="renewal-queue"),
    path("webhook-endpoints", views.WebhookEndpointsView.as_view(), name="webhook-endpoints"),
    path("webhook-endpoints/<int:id>", views.WebhookEndpointDetailView.as_view(),
         name="webhook-endpoint"),
    path("webhook-endpoints/<int:id>/deliveries", views.WebhookDeliveriesView.as_view(),
         name="webhook-deliveries"),
    path("webhook-endpoints/<int:id>/deliveries/<int:delivery_id>/redeliver",
         views.WebhookRedeliverView.as_view(), name="webhook-redeliver"),
    path("schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]),
         name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema",
                                                 authentication_classes=[],
                                                 permission_classes=[]), name="docs"),
]
