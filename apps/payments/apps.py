from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "apps.payments"
    label = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from apps.subscriptions.guards import register_in_flight_check

        from .charges import account_has_payment_in_flight

        register_in_flight_check(account_has_payment_in_flight)
