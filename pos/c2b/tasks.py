"""django-q2 entry points (thin: the work is in services). Schedules are created by pos.core.schedules."""

from pos.c2b import services

SCHEDULES = [
    {"name": "M-Pesa reconciliation (Pull Transactions, hourly)", "func": "pos.c2b.tasks.reconcile_recent",
     "schedule_type": "I", "minutes": 60},
    {"name": "M-Pesa reconciliation (Pull Transactions, nightly, 47 hours)", "func": "pos.c2b.tasks.reconcile_nightly",
     "schedule_type": "C", "cron": "30 2 * * *"},
    {"name": "Delete old C2B notices (C2B_NOTIFICATION_KEEP_DAYS)", "func": "pos.c2b.tasks.purge_old_notifications",
     "schedule_type": "C", "cron": "45 3 * * *"},
]


def _summary(run):
    return {"listed": run.listed, "new_receipts": run.new_receipts, "stk_completed": run.stk_completed,
            "flagged": run.flagged, "error": run.error}


def reconcile_recent():
    return _summary(services.reconcile())


def reconcile_nightly():
    return _summary(services.reconcile(hours=47))


def reconcile_last_hour():
    """Queued when a cashier types an M-Pesa code the shop never heard of (its confirmation may be lost)."""
    return _summary(services.reconcile(hours=1))


def purge_old_notifications():
    return {"deleted": services.purge_old_notifications()}
