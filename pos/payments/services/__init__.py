"""Payment operations (the import point; the work is split by concern):

- payments.py: cash, initiating provider payments, applying the provider's answers, verify, cancel;
- callbacks.py: webhooks stored first, matched, confirmed with the provider in a task;
- refunds.py: refunds decided under the sale's lock, approvals, provider results, the definition of
  "refundable";
- sweep.py: the scheduled re-check of every unconfirmed or disputed money state.

Every state change of a Payment or a Refund happens in these modules, checked against TRANSITIONS /
REFUND_TRANSITIONS (pos.core.transitions), under row locks, in short transactions; providers are never
called while a row is locked, and only by the task worker (send_payment, send_refund, the re-check),
never on a web request a till waits on.
"""

from pos.payments.services.callbacks import (
    PROVIDERS,
    CallbackAnswer,
    confirm_callback,
    escape_text,
    handle_callback,
    store_callback,
)
from pos.payments.services.common import (
    IN_FLIGHT,
    LIVE_REFUNDS,
    MOBILE,
    PAYMENT_STATES,
    REFUND_STATES,
    REFUND_TRANSITIONS,
    TRANSITIONS,
    WAITING,
    Outcome,
    _move,
    enqueue,
    has_payment_in_flight,
    in_flight_amount,
)
from pos.payments.services.payments import (
    BUSY_MESSAGE,
    apply_result,
    cancel_payment,
    cash_on_new_sale,
    cash_payment,
    close_unconfirmed_payment,
    excess_of,
    initiate_payment,
    pay_cash,
    payment_fingerprint,
    record_received_payment,
    send_payment,
    verify_later,
    verify_payment,
)
from pos.payments.services.refunds import (
    apply_refund_result,
    approve_refund,
    check_refund,
    over_refunded_payments,
    over_refunded_returns,
    refundable_amount,
    reject_refund,
    request_refund,
    return_owed,
    send_refund,
)
from pos.payments.services.sweep import (
    recheck_callbacks,
    recheck_money,
    recheck_refunds,
    send_unsent,
    verify_stale_payments,
)

__all__ = [
    "BUSY_MESSAGE",
    "IN_FLIGHT",
    "LIVE_REFUNDS",
    "MOBILE",
    "PAYMENT_STATES",
    "PROVIDERS",
    "REFUND_STATES",
    "REFUND_TRANSITIONS",
    "TRANSITIONS",
    "WAITING",
    "CallbackAnswer",
    "Outcome",
    "_move",
    "apply_refund_result",
    "apply_result",
    "approve_refund",
    "cancel_payment",
    "cash_on_new_sale",
    "cash_payment",
    "check_refund",
    "close_unconfirmed_payment",
    "confirm_callback",
    "enqueue",
    "escape_text",
    "excess_of",
    "handle_callback",
    "has_payment_in_flight",
    "in_flight_amount",
    "initiate_payment",
    "over_refunded_payments",
    "payment_fingerprint",
    "over_refunded_returns",
    "pay_cash",
    "recheck_callbacks",
    "recheck_money",
    "recheck_refunds",
    "record_received_payment",
    "refundable_amount",
    "reject_refund",
    "request_refund",
    "return_owed",
    "send_payment",
    "send_refund",
    "send_unsent",
    "store_callback",
    "verify_later",
    "verify_payment",
    "verify_stale_payments",
]
