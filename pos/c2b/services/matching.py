"""Matching received M-Pesa money to sales.

Automatic only when it is provable:
  * reference: the account number the customer typed (paybill) names exactly one sale waiting for
    payment (its short reference, shown on the till screen);
  * amount: the receipt is the only unmatched one of its amount in the waiting window AND exactly one
    waiting sale is due that amount. Two waiting sales of the same amount are never matched automatically.
Otherwise the cashier types the code from the customer's SMS or picks the receipt from the till's list.

One receipt settles one sale, or part of one (the rest in cash): its register row is locked
(select_for_update), then the Payment is created through pos.payments.services; the register's unique
link and Payment's unique receipt refuse a second use even without the lock.
"""

import re
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, DecimalField, Exists, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext

from pos.c2b.models import MatchRule, ReceiptState, ReceivedPayment
from pos.core.errors import ServiceError
from pos.core.money import ZERO
from pos.core.permissions import can
from pos.payments.models import Method, Payment, PaymentStatus
from pos.payments.services import record_received_payment
from pos.sales.models import Sale, SaleStatus

IN_FLIGHT = [PaymentStatus.PENDING, PaymentStatus.PROCESSING]
MONEY = DecimalField(max_digits=14, decimal_places=2)


def window_start(now=None):
    return (now or timezone.now()) - timedelta(minutes=settings.C2B_MATCH_WINDOW_MINUTES)


def _key(text: str) -> str:
    """The comparable part of a reference: its digits without leading zeros ("S-000123" -> "123")."""
    return re.sub(r"\D", "", text or "").lstrip("0")


def sale_reference(sale) -> str:
    """The short reference the till shows for a sale: the account number to type on a paybill."""
    return _key(sale.receipt_number) or sale.receipt_number


def _names(bill_ref: str, sale) -> bool:
    ref = re.sub(r"[^0-9A-Za-z]", "", bill_ref or "").upper()
    if not ref:
        return False
    letters = re.sub(r"[^A-Z]", "", ref)
    receipt_letters = re.sub(r"[^A-Z]", "", sale.receipt_number.upper())
    return bool(_key(ref)) and _key(ref) == _key(sale.receipt_number) and letters in ("", receipt_letters)


def waiting_sales(now=None):
    """Sales waiting for payment in the matching window, each with `due` = total - paid - in flight."""
    in_flight = Coalesce(Sum("payments__amount", filter=Q(payments__status__in=IN_FLIGHT)), Value(ZERO),
                         output_field=MONEY)
    rows = (Sale.objects.filter(status=SaleStatus.PENDING_PAYMENT, confirmed_at__gte=window_start(now))
            .annotate(in_flight=in_flight).order_by("pk"))
    sales = []
    for sale in rows:
        sale.due = sale.total - sale.paid_amount - sale.in_flight
        sales.append(sale)
    return sales


def _due(sale):
    in_flight = sale.payments.filter(status__in=IN_FLIGHT).aggregate(s=Sum("amount"))["s"] or ZERO
    return sale.total - sale.paid_amount - in_flight


def sales_named_by(bill_ref: str):
    """Sales waiting for payment (any age) whose short reference is `bill_ref`."""
    digits = _key(bill_ref)
    if not digits:
        return []
    candidates = Sale.objects.filter(status=SaleStatus.PENDING_PAYMENT, receipt_number__endswith=digits)
    return [sale for sale in candidates if _names(bill_ref, sale)]


def _unmatched_in_window(now=None):
    """Unmatched money paid in the window (by M-Pesa's time: a receipt found hours later by the
    reconciliation is old money, not a payment arriving now)."""
    start = window_start(now)
    return ReceivedPayment.objects.filter(
        Q(trans_time__gte=start) | Q(trans_time__isnull=True), state=ReceiptState.UNMATCHED, received_at__gte=start,
    ).exclude(Exists(Payment.objects.filter(method=Method.MPESA, receipt=OuterRef("trans_id")).exclude(receipt="")))


def provable_sale(receipt, sales=None):
    """(sale, rule) when the receipt provably pays one waiting sale, else (None, why)."""
    if receipt.bill_ref:
        # The account number is proof whatever the sale's age (it may have waited longer than the window).
        named = sales_named_by(receipt.bill_ref)
        if len(named) == 1:
            return (named[0], MatchRule.REFERENCE) if _due(named[0]) > 0 else (None, "the named sale is paid")
        if len(named) > 1:
            return None, "the account number names several waiting sales"
    sales = waiting_sales() if sales is None else sales
    same_amount = [sale for sale in sales if sale.due == receipt.amount]
    if len(same_amount) != 1:
        return None, f"{len(same_amount)} waiting sales are due {receipt.amount}"
    twins = _unmatched_in_window().filter(amount=receipt.amount).count()
    if twins != 1:
        return None, f"{twins} unmatched receipts of {receipt.amount}"
    return same_amount[0], MatchRule.AMOUNT


def auto_match(receipt):
    """Match a newly received receipt when it provably pays one waiting sale. Returns the Payment or None."""
    sale, rule = provable_sale(receipt)
    if sale is None:
        return None
    try:
        return match_receipt(receipt, sale, user=None, rule=rule)
    except ServiceError:
        return None  # settled or changed meanwhile: the cashier still sees the money in the list


def auto_match_for_sale(sale):
    """Money that arrived before (or while) the sale started waiting: match what provably pays it."""
    matched = []
    sales = waiting_sales()
    this = next((s for s in sales if s.pk == sale.pk), None)
    if this is None or this.due <= 0:
        return matched
    # Only receipts that could pay this sale: of its amount due, or with an account number ending in its
    # reference (checked exactly by provable_sale).
    could = _unmatched_in_window().filter(Q(amount=this.due) | Q(bill_ref__endswith=sale_reference(sale)))
    for receipt in could.order_by("received_at", "pk"):
        found, rule = provable_sale(receipt, sales)
        if found is not None and found.pk == sale.pk:
            try:
                matched.append(match_receipt(receipt, sale, user=None, rule=rule))
            except ServiceError:
                continue
            sales = waiting_sales()
    return matched


def match_receipt(receipt, sale, *, user, rule=MatchRule.PICKED):
    """Settle `sale` (or part of it) with a received M-Pesa receipt: a completed M-Pesa Payment carrying the
    real receipt. The register row is locked first: one receipt never settles two sales."""
    if rule == MatchRule.MANAGER:
        _require_manager(user)
    if rule == MatchRule.PICKED and not _unmatched_in_window().filter(pk=receipt.pk).exists() \
            and not can(user, "c2b.match_receivedpayment"):
        raise ServiceError(gettext("Pick a payment from the list of the last minutes, or type the code from the "
                                   "customer's SMS; older money is matched by a manager."), field="receipt",
                           code="not_in_window")
    with transaction.atomic():
        receipt = ReceivedPayment.objects.select_for_update().get(pk=receipt.pk)
        if receipt.state != ReceiptState.UNMATCHED:
            where = (gettext("sale %(number)s") % {"number": receipt.payment.sale.receipt_number} if receipt.payment_id
                     else receipt.get_state_display())
            raise ServiceError(gettext("M-Pesa payment %(code)s is already used (%(where)s).")
                               % {"code": receipt.trans_id, "where": where}, field="receipt", code="already_matched")
        payment = record_received_payment(
            sale, method=Method.MPESA, amount_received=receipt.amount, receipt=receipt.trans_id, user=user,
            phone_number=receipt.msisdn if receipt.msisdn.isdigit() else "",
            result_message=f"C2B {receipt.get_source_display()}: {MatchRule(rule).label}",
        )
        receipt.state = ReceiptState.MATCHED
        receipt.payment = payment
        receipt.match_rule = rule
        receipt.matched_at = timezone.now()
        receipt.matched_by = user if getattr(user, "pk", None) else None
        receipt.shift_id = payment.sale.shift_id or receipt.shift_id
        receipt.flagged, receipt.flag_reason = False, ""
        receipt.save()
    return payment


def _find(code):
    code = re.sub(r"\s", "", code or "").upper()
    if not re.fullmatch(r"[A-Z0-9]{8,20}", code):
        raise ServiceError(gettext("Type the M-Pesa code from the customer's SMS, e.g. SGH3K7Q2LM."), field="code",
                           code="invalid_code")
    receipt = ReceivedPayment.objects.filter(trans_id=code).first()
    if receipt is None:
        asked = ask_mpesa_soon()
        message = (gettext("M-Pesa has not told the shop about %(code)s yet. Check the code; the shop is asking "
                           "M-Pesa now: try it again in a minute, or take another payment.") if asked else
                   gettext("M-Pesa has not told the shop about %(code)s yet. Check the code, or take another "
                           "payment."))
        raise ServiceError(message % {"code": code}, field="code", code="receipt_not_received")
    return receipt


def ask_mpesa_soon() -> bool:
    """A code the shop never heard of: its confirmation may be lost. Queue a reconciliation of the last hour
    (at most one a minute, whatever the number of tills asking). True when one was queued."""
    from django.core.cache import cache
    from django_q.tasks import async_task

    if not cache.add("c2b:reconcile-requested", 1, timeout=60):
        return False
    async_task("pos.c2b.tasks.reconcile_last_hour")
    return True


def match_by_code(sale, code, *, user, rule=MatchRule.CODE):
    """The cashier typed the receipt code from the customer's SMS."""
    return match_receipt(_find(code), sale, user=user, rule=rule)


def _require_manager(user):
    if not can(user, "c2b.match_receivedpayment"):
        raise ServiceError(gettext("Only a manager may do this with received M-Pesa money."), field="receipt",
                           code="not_allowed")


def record_deposit(receipt, *, user, note):
    """A manager records unmatched money as the customer's deposit / overpayment (kept, never deleted)."""
    _require_manager(user)
    if not (note or "").strip():
        raise ServiceError(gettext("Say whose deposit this is (name, phone, what for)."), field="note",
                           code="required")
    with transaction.atomic():
        receipt = ReceivedPayment.objects.select_for_update().get(pk=receipt.pk)
        if receipt.state != ReceiptState.UNMATCHED:
            raise ServiceError(gettext("M-Pesa payment %(code)s is already %(state)s.")
                               % {"code": receipt.trans_id, "state": receipt.get_state_display().lower()},
                               field="receipt", code="already_matched")
        receipt.state = ReceiptState.DEPOSIT
        receipt.note = note.strip()[:300]
        receipt.matched_at, receipt.matched_by = timezone.now(), user
        receipt.flagged, receipt.flag_reason = False, ""
        receipt.save()
    return receipt


def _payer(receipt) -> str:
    name = receipt.payer or "M-Pesa customer"
    phone = receipt.msisdn if receipt.msisdn.isdigit() else ""
    return f"{name} ({phone[:5]}***{phone[-3:]})" if phone else name


def _row(receipt, now):
    return {"id": receipt.pk, "trans_id": receipt.trans_id, "amount": str(receipt.amount),
            "payer": _payer(receipt), "account": receipt.bill_ref, "received_at": receipt.received_at.isoformat(),
            "age_seconds": max(0, int((now - (receipt.trans_time or receipt.received_at)).total_seconds()))}


def look_for_payment(sale):
    """The till's poll (a POST): match money that provably pays `sale` (it may have arrived before the sale
    started waiting), then answer what the panel shows (till_view), the matches just made marked."""
    newly = auto_match_for_sale(sale) if sale.status == SaleStatus.PENDING_PAYMENT else []
    return till_view(sale, newly)


def till_view(sale, newly=()):
    """What the till's M-Pesa panel shows while `sale` waits: where to pay, the money matched to it, and
    money arrived in the last minutes that nobody matched yet. Reads only (look_for_payment matches)."""
    now = timezone.now()
    sale.refresh_from_db()
    matched = (ReceivedPayment.objects.filter(payment__sale=sale).select_related("payment")
               .order_by("matched_at", "pk"))
    incoming = _unmatched_in_window(now).order_by("-received_at", "-pk")[:20]
    return {
        "sale": {"id": sale.pk, "receipt_number": sale.receipt_number, "status": sale.status,
                 "total": str(sale.total), "paid": str(sale.paid_amount), "due": str(sale.balance_due),
                 "reference": sale_reference(sale)},
        "pay_to": {"paybill": settings.C2B_SHORTCODE, "account": sale_reference(sale),
                   "till": settings.C2B_TILL_NUMBER},
        "matched": [{**_row(r, now), "applied": str(r.payment.amount), "rule": r.match_rule,
                     "rule_label": r.get_match_rule_display(), "just_now": r.payment_id in {p.pk for p in newly}}
                    for r in matched],
        "incoming": [_row(r, now) for r in incoming],
        "window_minutes": settings.C2B_MATCH_WINDOW_MINUTES,
    }


def shift_summary(shift):
    """M-Pesa money received during a shift: matched to its sales, and still unmatched (for the manager)."""
    rows = (ReceivedPayment.objects.filter(shift=shift).values("state")
            .annotate(n=Count("id"), total=Coalesce(Sum("amount"), Value(ZERO), output_field=MONEY)))
    summary = {state: {"count": 0, "total": Decimal("0.00")} for state in ReceiptState.values}
    for row in rows:
        summary[row["state"]] = {"count": row["n"], "total": row["total"]}
    return summary
