"""Payment operations. Every state change of a Payment happens here; after each one the sale is
settled (pos.sales.services.settle_sale) so a sale is paid exactly when completed payments cover it."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pos.core.errors import ServiceError
from pos.core.money import to_money
from pos.payments.models import Method, Payment, PaymentStatus
from pos.sales.models import SaleStatus
from pos.sales.services import lock_sale, settle_sale


@transaction.atomic
def pay_cash(sale, *, amount_tendered, user, amount=None):
    """Take cash for a sale waiting for payment. `amount` is the part of the sale paid in cash (split
    tender; default: all that is still due); what the customer hands over beyond it is change."""
    sale = lock_sale(sale)
    if sale.status != SaleStatus.PENDING_PAYMENT:
        raise ServiceError(f"Sale {sale.receipt_number} is not waiting for payment.", field="sale", code="not_payable")
    due = sale.total - sale.paid_amount
    tendered = to_money(amount_tendered)
    applied = to_money(amount) if amount is not None else min(tendered, due)
    if applied <= 0:
        raise ServiceError("The cash amount must be greater than zero.", field="amount_tendered")
    if applied > due:
        raise ServiceError(f"Only {due} is still due on this sale.", field="amount", code="overpayment")
    if tendered < applied:
        raise ServiceError(f"Cash given ({tendered}) is less than the amount to pay ({applied}).",
                           field="amount_tendered", code="not_enough_cash")
    payment = Payment.objects.create(
        sale=sale, method=Method.CASH, amount=applied, currency=settings.CURRENCY, status=PaymentStatus.COMPLETED,
        amount_tendered=tendered, change_given=tendered - applied, created_by=user, completed_at=timezone.now(),
        amount_received=applied,
    )
    settle_sale(sale)
    return payment
