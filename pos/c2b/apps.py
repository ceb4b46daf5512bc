from django.apps import AppConfig


class C2BConfig(AppConfig):
    name = "pos.c2b"
    label = "c2b"
    verbose_name = "M-Pesa received (C2B)"

    def ready(self):
        from pos.c2b import checks  # noqa: F401  (registers the deploy check)
