"""Background work of the tills (django-q2 entry points, thin)."""

from pos.tills import services

SCHEDULES = [{"name": "Match M-Pesa codes typed on offline tills", "func": "pos.tills.tasks.confirm_offline_codes",
              "schedule_type": "I", "minutes": 2}]


def confirm_offline_codes():
    return services.confirm_offline_codes()
