"""What the payment services share: state machines, outcomes, the call log, row locks, settings."""

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext

from pos.core.errors import ServiceError
from pos.core.money import ZERO, to_money
from pos.core.transitions import StateMachine
from pos.payments.models import (
    IN_FLIGHT_STATUSES,
    Method,
    Payment,
    PaymentEvent,
    PaymentStatus,
    Refund,
    RefundStatus,
)

log = logging.getLogger("pos.payments.services")

P = PaymentStatus
TRANSITIONS = {
    P.PENDING: {P.PROCESSING, P.UNCONFIRMED, P.COMPLETED, P.FAILED, P.CANCELLED, P.EXPIRED},
    P.PROCESSING: {P.COMPLETED, P.FAILED, P.CANCELLED, P.EXPIRED},
    # Unconfirmed leaves only on a definite answer from the provider (or the cashier giving up, in which
    # case the provider is still asked until its window closes: a late success is recorded).
    P.UNCONFIRMED: {P.PROCESSING, P.COMPLETED, P.FAILED, P.CANCELLED, P.EXPIRED},
    # A success the provider confirms after we gave up is money received: recorded, never lost.
    P.FAILED: {P.COMPLETED},
    P.CANCELLED: {P.COMPLETED},
    P.EXPIRED: {P.COMPLETED},
}
R = RefundStatus
REFUND_TRANSITIONS = {
    R.PENDING_APPROVAL: {R.PROCESSING, R.COMPLETED, R.REJECTED},
    R.PROCESSING: {R.COMPLETED, R.FAILED},
    # A refund recorded failed that the provider later reports done: completed, flagged for a person.
    R.FAILED: {R.COMPLETED},
}
PAYMENT_STATES = StateMachine("Payment", TRANSITIONS)
REFUND_STATES = StateMachine("Refund", REFUND_TRANSITIONS)

MOBILE = {Method.MPESA, Method.AIRTEL}
IN_FLIGHT = list(IN_FLIGHT_STATUSES)
# Refunds that count against what is still refundable: done, on their way or waiting for approval.
LIVE_REFUNDS = [R.PENDING_APPROVAL, R.PROCESSING, R.COMPLETED]
WAITING = {"pending", P.PROCESSING}


def _move(obj, target, table):
    (PAYMENT_STATES if table is TRANSITIONS else REFUND_STATES).move(obj, target)


@dataclass
class Outcome:
    """What applying a provider's answer did: `kind` is a CallbackOutcome value (received = nothing
    final yet)."""

    kind: str
    reason: str = ""
    payment: Payment | None = None
    refund: Refund | None = None


def _event(payment, action, *, request=None, response=None, error=""):
    PaymentEvent.objects.create(payment=payment, action=action[:40], request=request or {},
                                response=response or {}, error=error[:300])


def brought_in(payment) -> Decimal:
    """What a payment brought in: what the provider reported receiving (it may be more than was asked),
    else the amount asked. The one definition behind "refundable" and "excess"."""
    return payment.amount_received if payment.amount_received is not None else payment.amount


def enqueue(func, *args) -> bool:
    """Hand work to the task worker; a broker outage (Redis down) leaves it to the scheduled re-check."""
    try:
        from django_q.tasks import async_task

        async_task(func, *args)
    except Exception:
        log.warning("could not queue %s%r; the scheduled re-check will do it", func, args, exc_info=True)
        return False
    return True


def _lock(payment) -> Payment:
    return Payment.objects.select_for_update().get(pk=payment.pk)


def _money(value, field):
    try:
        amount = to_money(value)
    except (ArithmeticError, TypeError, ValueError):
        raise ServiceError(gettext("Enter an amount such as 150 or 150.50."), field=field,
                           code="invalid_amount") from None
    if not amount.is_finite():
        raise ServiceError(gettext("Enter an amount such as 150 or 150.50."), field=field, code="invalid_amount")
    return amount


def in_flight_amount(sale):
    """What payments still in flight on a sale may bring in (the one definition, see IN_FLIGHT_STATUSES)."""
    return to_money(sale.payments.filter(status__in=IN_FLIGHT).aggregate(s=Sum("amount"))["s"] or ZERO)


def has_payment_in_flight(sale) -> bool:
    """A sale holding a payment pending, processing or unconfirmed cannot be cancelled or expired."""
    return sale.payments.filter(status__in=IN_FLIGHT).exists()


def seconds(name, default):
    return float(getattr(settings, name, default))


def verify_after():
    return timedelta(seconds=seconds("PAYMENT_VERIFY_AFTER_SECONDS", 30))


def confirm_window():
    """How long an unconfirmed or disputed money state is re-checked before a person is asked."""
    return timedelta(seconds=seconds("PAYMENT_CONFIRM_WINDOW_SECONDS", 3600))


def backoff(attempts: int) -> timedelta:
    """The wait before the next re-check: PAYMENT_VERIFY_AFTER_SECONDS, then twice that, ... at most
    PAYMENT_MAX_VERIFY_INTERVAL seconds."""
    base = max(seconds("PAYMENT_VERIFY_AFTER_SECONDS", 30), 0.01)
    return timedelta(seconds=min(base * 2 ** min(attempts, 20), seconds("PAYMENT_MAX_VERIFY_INTERVAL", 600)))


def now():
    return timezone.now()


def short(value, n):
    return str(value or "")[:n]
