from django.apps import AppConfig


class C2BConfig(AppConfig):
    name = "pos.c2b"
    label = "c2b"
    verbose_name = "M-Pesa received (C2B)"
