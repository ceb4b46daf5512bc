from django.apps import AppConfig


class TillsConfig(AppConfig):
    name = "pos.tills"
    label = "tills"
    verbose_name = "Tills"
