"""django-q2 entry points of the sales app (thin: the work is in pos.sales.services)."""

import logging

from pos.core.errors import ServiceError
from pos.sales.services import expirable_sales, expire_sale

log = logging.getLogger(__name__)

SCHEDULES = [
    {"name": "Expire unpaid sales", "func": "pos.sales.tasks.expire_unpaid_sales", "schedule_type": "I",
     "minutes": 1, "repeats": -1},
]


def expire_unpaid_sales() -> int:
    """Cancel every sale left unpaid longer than SALE_PAYMENT_TIMEOUT, stock back. Returns how many."""
    expired = 0
    for sale in expirable_sales().order_by("pk"):
        try:
            expired += expire_sale(sale)
        except ServiceError as exc:
            log.warning("could not expire sale %s: %s", sale.receipt_number, exc.message)
    if expired:
        log.info("expired %d unpaid sale(s)", expired)
    return expired
