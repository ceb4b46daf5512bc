"""django-q2 entry points of the inventory (thin: the work is in pos.inventory.services)."""

from django.conf import settings

from pos.inventory import services

SCHEDULES = [
    {"name": "Scan low stock and e-mail managers", "func": "pos.inventory.tasks.scan_low_stock",
     "schedule_type": "I", "minutes": settings.LOW_STOCK_SCAN_MINUTES, "repeats": -1},
]


def scan_low_stock():
    """Raise/resolve alerts for every product, then e-mail managers a digest of the new ones."""
    result = services.scan_low_stock()
    result["notified"] = services.notify_new_alerts()
    return result
