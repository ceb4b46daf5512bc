"""django-q2 entry points (thin: the work is in services)."""

from pos.payments import services
from pos.payments.models import Payment

SCHEDULES = [
    {"name": "Verify stale payments", "func": "pos.payments.tasks.recheck_money", "schedule_type": "I",
     "minutes": 1},
]


def recheck_money():
    return services.recheck_money()


def verify_payment(payment_id):
    payment = Payment.objects.filter(pk=payment_id).first()
    return services.verify_payment(payment).kind if payment else None


def verify_stale_payments():
    return services.verify_stale_payments()


def confirm_callback(callback_id):
    outcome = services.confirm_callback(callback_id)
    return outcome.kind if outcome else None


def send_payment(payment_id):
    payment = services.send_payment(payment_id)
    return payment.status if payment else None


def send_refund(refund_id):
    refund = services.send_refund(refund_id)
    return refund.status if refund else None
