"""django-q2 entry points (thin: the work is in services)."""

from pos.payments import services

SCHEDULES = [
    {"name": "Verify stale payments", "func": "pos.payments.tasks.verify_stale_payments", "schedule_type": "I",
     "minutes": 1},
]


def verify_stale_payments():
    return services.verify_stale_payments()
