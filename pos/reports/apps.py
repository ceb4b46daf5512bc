from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "pos.reports"
    label = "reports"
    verbose_name = "Reports"
