"""The till's money operations on top of sales and payments (exported by pos.sales.services):

- `checkout`: confirm a sale AND take its tenders in one call (cash with what was handed over, or a
  mobile-money push / card), idempotent: a retry with the same key answers the same sale and payments.
- `take_payment`: one more tender on a sale waiting for payment (split tender, resume on any browser).
- `refund_return`: pay back what a return owes, now: cash out of the drawer (counted in the till's
  shift, whatever the sale was paid by), M-Pesa reversal or card refund (pos.payments.services.request_refund), or leave it owed.
- `void_paid_sale`: take everything back from a paid sale and refund it (a manager's authorisation).
- `refunds_owed`: returns with money still owed to the customer.

Amounts a till proposes are always payable: a sale's total is whole shillings (the rounding line), and
a cash part of a split leaves whole shillings due.
"""

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from django.db import transaction
from django.db.models import F, OuterRef, Sum
from django.utils.translation import gettext

from pos.core.errors import ServiceError
from pos.core.money import ZERO, to_money
from pos.core.permissions import can

REFUND_CHOICES = ("cash", "mpesa", "airtel", "card", "owe")


@dataclass(frozen=True)
class Tender:
    """One way the customer pays part or all of a sale. `amount` None: all that is left to pay."""

    method: str
    amount: Decimal | None = None
    amount_tendered: Decimal | None = None
    phone_number: str = ""


@dataclass
class TenderResult:
    payment: object = None
    error: ServiceError | None = None


def tender_key(key, n):
    """The idempotency key of the n-th tender of a checkout made with `key`."""
    return f"{key[:90]}:t{n}" if key else ""


def cash_part(left: Decimal, tendered: Decimal) -> Decimal:
    """The part of `left` that `tendered` cash pays: all of it, or what keeps whole shillings due."""
    if tendered >= left:
        return left
    return left - (left - tendered).to_integral_value(rounding=ROUND_CEILING)


def tender_amount(tender, left):
    """What `tender` pays of `left`: its amount, the cash part of what was handed over, or all of it."""
    if tender.amount is not None:
        return to_money(tender.amount)
    if tender.method == "cash" and tender.amount_tendered is not None:
        return cash_part(left, to_money(tender.amount_tendered))
    return left


def checkout(*, cashier, items, tenders=(), idempotency_key="", **sale_kwargs):
    """create_sale, then each tender in order (stopping at the first one refused). Returns
    (sale, created, [TenderResult]). A tender without an amount pays what the earlier tenders of the
    same request leave of the total, so a retry asks for exactly the same amounts (same keys, same
    answers)."""
    from pos.payments.services import initiate_payment
    from pos.sales.services import create_cash_sale, create_sale

    if len(tenders) == 1 and tenders[0].method == "cash":  # the till's cash sale: one transaction
        sale, created, result = create_cash_sale(cashier=cashier, items=items, cash=tenders[0],
                                                 idempotency_key=idempotency_key, **sale_kwargs)
        if result is not None:
            return sale, created, [result]
    else:
        sale, created = create_sale(cashier=cashier, items=items, idempotency_key=idempotency_key, **sale_kwargs)
    results, left = [], sale.total
    for n, tender in enumerate(tenders, start=1):
        amount = tender_amount(tender, left)
        try:
            payment, _ = initiate_payment(sale, tender.method, amount, phone_number=tender.phone_number,
                                          user=cashier, idempotency_key=tender_key(idempotency_key, n),
                                          amount_tendered=tender.amount_tendered)
        except ServiceError as error:
            results.append(TenderResult(error=error))
            break
        results.append(TenderResult(payment=payment))
        left -= amount
    if results:
        sale.refresh_from_db()
    return sale, created, results


def balance_left(sale) -> Decimal:
    """What is still to pay on the sale, less payments in flight."""
    from pos.payments.models import Payment

    in_flight = (Payment.objects.filter(sale=sale, status__in=("pending", "processing"))
                 .aggregate(s=Sum("amount"))["s"] or ZERO)
    return max(sale.total - sale.paid_amount - in_flight, ZERO)


def take_payment(sale, tender: Tender, *, user, idempotency_key=""):
    """One tender on a sale waiting for payment (default amount: all that is left). Returns (payment, created)."""
    from pos.payments.services import initiate_payment

    amount = tender_amount(tender, balance_left(sale))
    return initiate_payment(sale, tender.method, amount, phone_number=tender.phone_number, user=user,
                            idempotency_key=idempotency_key, amount_tendered=tender.amount_tendered)


def owed_on(sale_return) -> Decimal:
    """What a return still owes: its amount less refunds done, on their way or waiting for approval (the
    payments' one definition, pos.payments.services.return_owed)."""
    from pos.payments.services import return_owed

    return return_owed(sale_return)


def refund_return(sale_return, how, *, user, authorised_by=None, idempotency_key=""):
    """Pay back what `sale_return` owes now, by `how`: "cash" (out of the till's drawer: the return's
    shift counts it), "mpesa" / "airtel" (reversal) or "card" (refund), each on the sale's completed
    payments of that method; or "owe" (nothing now: it stays in the list of refunds owed). Goes through
    pos.payments.services.request_refund; a refund waiting for approval is approved at once when a
    manager authorised it at the till. Money goes back only when `user` may take returns or
    `authorised_by` (a manager whose PIN was typed at the till) may. Returns the list of Refunds made."""
    from pos.payments.models import Payment
    from pos.payments.services import approve_refund, refundable_amount, request_refund
    from pos.sales.models import Authorisation, OverrideAction
    from pos.sales.services import NotAllowed

    if not can(user, "sales.return_sale") and not can(authorised_by, "sales.return_sale"):
        raise NotAllowed(gettext("A refund at a cashier's till needs a manager's PIN."), field="manager_pin",
                         code="not_allowed")
    if how not in REFUND_CHOICES:
        raise ServiceError(gettext("Refund by one of: %(choices)s.") % {"choices": ", ".join(REFUND_CHOICES)},
                           field="refund", code="bad_refund")
    if how == "owe":
        return []
    left = owed_on(sale_return)
    if left <= 0:
        raise ServiceError(gettext("Nothing is owed on this return any more."), field="refund", code="nothing_owed")
    completed = Payment.objects.filter(sale_id=sale_return.sale_id, status="completed")
    payments = list(completed.filter(method=how).order_by("-amount", "pk"))
    drawer = drawer_for(sale_return, user) if how == "cash" else None
    if how == "cash":
        # Cash from the drawer: first against the sale's cash payments, then against its other payments
        # (a customer who paid by M-Pesa or card takes cash back), each counted against what it brought in.
        payments += list(completed.exclude(method="cash").order_by("-amount", "pk"))
        if drawer is None and any(p.method != "cash" for p in payments):
            raise ServiceError(gettext("Open a shift at this till: cash given back comes out of an open shift's "
                                       "drawer."), field="refund", code="no_open_shift")
    if not payments:
        raise ServiceError(gettext("This sale was not paid by %(method)s: refund it another way, or leave it owed.")
                           % {"method": how},
                           field="refund", code="no_such_payment")
    refunds = []
    for n, payment in enumerate(payments, start=1):
        part = min(left, refundable_amount(payment))
        if part <= 0:
            continue
        key = f"{idempotency_key[:90]}:r{n}" if idempotency_key else ""
        refund, _ = request_refund(payment, part, f"Return #{sale_return.pk}: {sale_return.reason or 'goods back'}",
                                   user, sale_return=sale_return, idempotency_key=key, drawer_shift=drawer)
        if refund.status == "pending_approval" and can(authorised_by, "payments.approve_refund"):
            refund = approve_refund(refund, user=authorised_by)
        refunds.append(refund)
        left -= part
        if left <= 0:
            break
    if authorised_by is not None and authorised_by != user and refunds:
        Authorisation.objects.create(action=OverrideAction.REFUND, sale_id=sale_return.sale_id,
                                     sale_return=sale_return, authorised_by=authorised_by, requested_by=user,
                                     detail=f"Refund by {how} of {sum(r.amount for r in refunds)}")
    return refunds


def approve_return_refunds(sale_return, *, user, till_user):
    """A manager (`user`: logged in, or whose PIN was typed at `till_user`'s till) approves the refunds of
    `sale_return` waiting for approval, through pos.payments.services.approve_refund; cash ones are paid
    out of the till's open shift's drawer. Returns the refunds."""
    from pos.payments.services import approve_refund
    from pos.sales.models import Authorisation, OverrideAction
    from pos.sales.services import get_open_shift

    waiting = list(sale_return.refunds.filter(status="pending_approval").order_by("pk"))
    if not waiting:
        raise ServiceError(gettext("No refund of this return is waiting for approval."), field="refund",
                           code="not_pending")
    drawer = get_open_shift(till_user)
    refunds = [approve_refund(refund, user=user, drawer_shift=drawer) for refund in waiting]
    if user != till_user:
        Authorisation.objects.create(action=OverrideAction.REFUND, sale_id=sale_return.sale_id,
                                     sale_return=sale_return, authorised_by=user, requested_by=till_user,
                                     detail=f"Approved refunds of {sum(r.amount for r in refunds)}")
    return refunds


def drawer_for(sale_return, user):
    """The open shift whose drawer pays cash back: the user's own, else the return's till if still open."""
    from pos.sales.models import ShiftStatus
    from pos.sales.services import get_open_shift

    own = get_open_shift(user)
    if own is not None:
        return own
    shift = sale_return.shift
    return shift if shift is not None and shift.status == ShiftStatus.OPEN else None


def void_paid_sale(sale, *, user, authorised_by, refund_by=None, reason=""):
    """A manager's void of a paid sale: every unit not yet returned comes back (a return), and its money
    is refunded by `refund_by` (default: each payment's own method, biggest first). Returns the return."""
    from pos.sales.models import Authorisation, OverrideAction
    from pos.sales.services import RETURNABLE, NotAllowed, return_items

    if not can(authorised_by, "sales.return_sale"):
        raise NotAllowed(gettext("Voiding a paid sale needs a manager's PIN."), field="manager_pin", code="not_allowed")
    if sale.status not in RETURNABLE:
        raise ServiceError(gettext("Sale %(number)s is not paid: void it with Cancel.") % {"number": sale.receipt_number},
                           field="status",
                           code="not_paid")
    items = [(item.pk, item.quantity - item.returned_quantity) for item in sale.items.all()
             if item.quantity > item.returned_quantity]
    with transaction.atomic():
        sale_return = return_items(sale, items, user, reason or "Void of a paid sale", authorised_by=authorised_by)
        Authorisation.objects.create(action=OverrideAction.VOID, sale=sale, sale_return=sale_return,
                                     authorised_by=authorised_by, requested_by=user, detail=reason[:200])
    methods = [refund_by] if refund_by else list(
        sale.payments.filter(status="completed").values_list("method", flat=True).distinct())
    for method in methods:
        if owed_on(sale_return) <= 0:
            break
        refund_return(sale_return, method, user=user, authorised_by=authorised_by)
    return sale_return


def refunds_owed(queryset=None):
    """Returns with money still owed (amount > refunds done, on their way or waiting), oldest first,
    annotated with `owed`."""
    from pos.payments.services.refunds import live_refund_sum
    from pos.sales.models import SaleReturn

    rows = (queryset if queryset is not None else SaleReturn.objects.all()).annotate(
        refunded=live_refund_sum(sale_return=OuterRef("pk")), owed=F("amount") - F("refunded"))
    return rows.filter(owed__gt=0).select_related("sale", "created_by").order_by("created_at")


def refunds_waiting(queryset=None):
    """Refunds of returns waiting for a manager's approval, oldest first (`queryset`: the Refunds the
    caller may see)."""
    from pos.payments.models import Refund, RefundStatus

    rows = queryset if queryset is not None else Refund.objects.all()
    return (rows.filter(status=RefundStatus.PENDING_APPROVAL, sale_return__isnull=False)
            .select_related("payment__sale", "requested_by").order_by("created_at", "pk"))
