from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "pos.payments"
    label = "payments"
    verbose_name = "Payments"
