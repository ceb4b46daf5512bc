from django.apps import AppConfig


class FiscalConfig(AppConfig):
    name = "pos.fiscal"
    label = "fiscal"
    verbose_name = "KRA eTIMS"
