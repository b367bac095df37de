from django.urls import path

from . import views

urlpatterns = [
    path("webhooks/stripe/<slug:slug>/<str:mode>/", views.stripe_webhook,
         name="payments_stripe_webhook"),
    path("pay/<str:token>/", views.pay_page, name="payments_pay"),
]
