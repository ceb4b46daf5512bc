from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "pos.sales"
    label = "sales"
    verbose_name = "Sales"
