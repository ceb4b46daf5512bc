"""Scheduled background work (django-q2), created idempotently.

Each app lists its schedules in `SCHEDULES` in its tasks.py:
    SCHEDULES = [{"name": "Expire unpaid sales", "func": "pos.sales.tasks.expire_unpaid_sales",
                  "schedule_type": "I", "minutes": 1}]
`ensure_schedules()` creates or updates one Schedule row per name (never a duplicate); it runs after
every migrate and from `manage.py ensure_schedules`.
"""

from importlib import import_module

from django.apps import apps

APPS = ["pos.inventory", "pos.sales", "pos.payments", "pos.reports", "pos.c2b", "pos.tills", "pos.fiscal"]


def declared_schedules():
    found = []
    for app in APPS:
        try:
            module = import_module(f"{app}.tasks")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.tasks":
                raise
            continue
        found += getattr(module, "SCHEDULES", [])
    return found


def ensure_schedules():
    from django_q.models import Schedule

    names = []
    for spec in declared_schedules():
        spec = dict(spec)
        name = spec.pop("name")
        Schedule.objects.update_or_create(name=name, defaults=spec)
        names.append(name)
    return names


def ensure_schedules_after_migrate(sender, **kwargs):
    if sender is list(apps.get_app_configs())[-1]:
        ensure_schedules()
