"""django-q2 entry points (thin: the work is in services)."""

from pos.payments import services

SCHEDULES = [
    {"name": "Verify stale payments", "func": "pos.payments.tasks.recheck_money", "schedule_type": "I",
     "minutes": 1},
]


def recheck_money():
    return services.recheck_money()


def verify_stale_payments():
    return services.verify_stale_payments()


def confirm_callback(callback_id):
    outcome = services.confirm_callback(callback_id)
    return outcome.kind if outcome else None
