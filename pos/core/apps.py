from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "pos.core"
    label = "core"
    verbose_name = "Core"

    def ready(self):
        from pos.core import schema  # noqa: F401 - registers the OpenAPI extensions
        from pos.core.history import build_history_managers_once
        from pos.core.schedules import ensure_schedules_after_migrate

        post_migrate.connect(ensure_schedules_after_migrate, dispatch_uid="pos.core.schedules")
        build_history_managers_once()
