"""Sale operations. Every state change of a Sale happens here, checked against TRANSITIONS.

Shifts (open, close, the X/Z report), sales (confirm, cancel, expire, settle) and returns. Each
operation is one transaction and raises ServiceError on bad input, so nothing is half-written.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from pos.catalog.models import Product, Unit
from pos.core.errors import ConflictError, IllegalTransition, ServiceError
from pos.core.money import ZERO, allocate, tax_included, to_money, to_quantity
from pos.core.permissions import can, discount_is_capped, may_act_for
from pos.fiscal import hooks as fiscal_hooks
from pos.inventory.models import MovementKind
from pos.inventory.services import StockChange, post_movements
from pos.reports import rollups
from pos.sales.models import (
    ReceiptSequence,
    Sale,
    SaleItem,
    SaleReturn,
    SaleReturnLine,
    SaleStatus,
    Shift,
    ShiftStatus,
    ShiftTotal,
)

# Payments still able to bring money in: a sale holding one is neither cancelled nor expired.
LIVE_PAYMENT_STATUSES = ("completed", "processing")
RETURNABLE = (SaleStatus.PAID, SaleStatus.PARTIALLY_REFUNDED)

TRANSITIONS = {
    SaleStatus.OPEN: {SaleStatus.PENDING_PAYMENT, SaleStatus.CANCELLED},
    SaleStatus.PENDING_PAYMENT: {SaleStatus.PAID, SaleStatus.CANCELLED},
    SaleStatus.PAID: {SaleStatus.PARTIALLY_REFUNDED, SaleStatus.REFUNDED},
    SaleStatus.PARTIALLY_REFUNDED: {SaleStatus.PARTIALLY_REFUNDED, SaleStatus.REFUNDED},
}


def transition(sale, target):
    """Move the sale to `target` if the state machine allows it (the caller saves)."""
    if target not in TRANSITIONS.get(sale.status, set()):
        raise IllegalTransition(sale, sale.status, target)
    sale.status = target


@dataclass(frozen=True)
class LineRequest:
    """A wanted line: `product` (id) or `barcode`, a quantity and an optional line discount (money)."""

    quantity: Decimal
    product: int | None = None
    barcode: str = ""
    discount: Decimal = ZERO


@dataclass
class PricedLine:
    product: Product
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal
    gross: Decimal
    discount: Decimal
    order_discount: Decimal = ZERO
    total: Decimal = ZERO
    tax: Decimal = ZERO
    cost: Decimal = ZERO


def price_lines(lines: list[PricedLine], order_discount: Decimal) -> list[PricedLine]:
    """Spread the order discount over the lines (in proportion to what is left of each after its own
    discount; the shares add up exactly) and compute each line's total, contained VAT and cost,
    each rounded half-up to the cent once, at the line."""
    order_discount = to_money(order_discount)
    left = [line.gross - line.discount for line in lines]
    if order_discount < 0:
        raise ServiceError("The discount cannot be negative.", field="discount")
    if order_discount > sum(left, ZERO):
        raise ServiceError("The discount is larger than the sale total.", field="discount", code="discount_too_large")
    for line, share in zip(lines, allocate(order_discount, left)):
        line.order_discount = share
        line.total = line.gross - line.discount - share
        line.tax = tax_included(line.total, line.tax_rate)
        line.cost = to_money(line.quantity * line.product.cost_price)
    return lines


def _fingerprint(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _resolve_products(requests: list[LineRequest], allow_inactive=False) -> list[Product]:
    """One query for all lines; unknown or inactive products are refused with the line number (an offline
    sale keeps a product deactivated after it was sold: `allow_inactive`)."""
    ids = {r.product for r in requests if r.product}
    codes = {r.barcode for r in requests if not r.product}
    found = Product.objects.filter(Q(pk__in=ids) | Q(barcode__in=codes))
    by_id = {p.pk: p for p in found}
    by_code = {p.barcode: p for p in found if p.barcode}
    products = []
    for n, r in enumerate(requests, start=1):
        product = by_id.get(r.product) if r.product else by_code.get(r.barcode)
        if product is None:
            what = f"product {r.product}" if r.product else f"barcode {r.barcode!r}"
            raise ServiceError(f"Line {n}: unknown {what}.", field="items", code="unknown_product")
        if not product.is_active and not allow_inactive:
            raise ServiceError(f"Line {n}: {product.name} is not for sale (inactive).", field="items",
                               code="inactive_product")
        products.append(product)
    return products


def _check_line(n, request, product, gross, user):
    if request.quantity <= 0:
        raise ServiceError(f"Line {n}: quantity must be greater than zero.", field="items", code="bad_quantity")
    if product.unit == Unit.PIECE and request.quantity != request.quantity.to_integral_value():
        raise ServiceError(f"Line {n}: {product.name} is sold in whole pieces.", field="items", code="bad_quantity")
    if request.discount < 0 or request.discount > gross:
        raise ServiceError(f"Line {n}: the discount must be between 0 and the line amount {gross}.",
                           field="items", code="bad_discount")
    limit = settings.CASHIER_MAX_DISCOUNT_PERCENT
    if discount_is_capped(user) and request.discount > to_money(gross * limit / 100):
        raise ServiceError(f"Line {n}: a cashier may give at most {limit}% discount; ask a manager.",
                           field="items", code="discount_not_allowed")


def build_lines(requests: list[LineRequest], order_discount=ZERO, user=None, recorded=None) -> list[PricedLine]:
    """Validate the wanted lines against the catalogue and price them (nothing is written).
    `recorded` ([(unit_price, tax_rate)] per line): the prices a till used offline, kept as sold."""
    if not requests:
        raise ServiceError("A sale needs at least one line.", field="items", code="empty")
    products = _resolve_products(requests, allow_inactive=recorded is not None)
    lines = []
    for n, (request, product) in enumerate(zip(requests, products), start=1):
        quantity = to_quantity(request.quantity)
        unit_price, tax_rate = recorded[n - 1] if recorded is not None else (product.price, product.tax_rate)
        gross = to_money(quantity * unit_price)
        _check_line(n, LineRequest(quantity, discount=to_money(request.discount)), product, gross, user)
        lines.append(PricedLine(product=product, quantity=quantity, unit_price=unit_price,
                                tax_rate=tax_rate, gross=gross, discount=to_money(request.discount)))
    _check_order_discount(lines, to_money(order_discount), user)
    return price_lines(lines, order_discount)


def _check_order_discount(lines, order_discount, user):
    """A cashier's order discount is limited like a line discount (CASHIER_MAX_DISCOUNT_PERCENT of what
    is left after the line discounts); managers and admins are not limited."""
    limit = settings.CASHIER_MAX_DISCOUNT_PERCENT
    left = sum((line.gross - line.discount for line in lines), ZERO)
    if discount_is_capped(user) and order_discount > to_money(left * limit / 100):
        raise ServiceError(f"A cashier may give at most {limit}% discount on the sale; ask a manager.",
                           field="discount", code="discount_not_allowed")


def next_receipt_number(prefix="") -> str:
    """The next receipt number, gap-free: the counter row is locked and moves in the caller's transaction.
    `prefix` picks the series (a till's own, e.g. "T01-", so tills never wait on each other's row);
    default RECEIPT_PREFIX."""
    prefix = prefix or settings.RECEIPT_PREFIX
    seq = ReceiptSequence.objects.select_for_update().filter(prefix=prefix).first()
    if seq is None:  # the shop's very first sale
        ReceiptSequence.objects.get_or_create(prefix=prefix)
        seq = ReceiptSequence.objects.select_for_update().get(prefix=prefix)
    seq.last_number += 1
    seq.save(update_fields=["last_number"])
    return f"{prefix}{seq.last_number:06d}"


def get_open_shift(cashier) -> Shift | None:
    return Shift.objects.filter(cashier=cashier, status=ShiftStatus.OPEN).first()


def _amount(value, field_name) -> Decimal:
    """A money amount given by a user: a number, zero or more, rounded to the cent."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ServiceError("Enter an amount, e.g. 1000.00.", field=field_name, code="invalid_amount") from None
    if not amount.is_finite() or amount < 0:
        raise ServiceError("The amount must be zero or more.", field=field_name, code="invalid_amount")
    return to_money(amount)


def open_shift(cashier, opening_float, note="") -> Shift:
    """Open a till session for `cashier` with the cash already in the drawer. One open shift per cashier."""
    opening_float = _amount(opening_float, "opening_float")
    current = get_open_shift(cashier)
    if current:
        raise ServiceError(f"{cashier} already has shift #{current.pk} open: close it before opening another.",
                           field="shift", code="shift_already_open")
    try:
        with transaction.atomic():
            return Shift.objects.create(cashier=cashier, opening_float=opening_float, note=note)
    except IntegrityError:
        raise ServiceError(f"{cashier} already has a shift open.", field="shift", code="shift_already_open") from None


def _selling_shift(cashier, shift) -> Shift:
    """The cashier's open shift, locked: closing it waits for the sale, and a closed one sells nothing."""
    locked = Shift.objects.select_for_update()
    wanted = locked.filter(cashier=cashier, status=ShiftStatus.OPEN) if shift is None else locked.filter(pk=shift.pk)
    shift = wanted.first()
    if shift is None:
        raise ServiceError("Open a shift before selling.", field="shift", code="no_open_shift")
    if shift.status != ShiftStatus.OPEN:
        raise ServiceError(f"Shift #{shift.pk} is closed: open a new shift to sell.", field="shift",
                           code="shift_closed")
    if shift.cashier_id != cashier.pk:
        raise ServiceError(f"Shift #{shift.pk} belongs to another cashier.", field="shift", code="not_your_shift")
    return shift


@dataclass
class MethodTotal:
    """One payment method's money in a shift. expected = opening + tendered - change - refunds."""

    method: str
    label: str
    opening: Decimal = ZERO
    payments: Decimal = ZERO
    count: int = 0
    tendered: Decimal = ZERO
    change: Decimal = ZERO
    refunds: Decimal = ZERO
    expected: Decimal = ZERO
    counted: Decimal | None = None
    difference: Decimal | None = None


@dataclass
class VatTotal:
    rate: Decimal
    total: Decimal
    tax: Decimal

    @property
    def net(self):
        return self.total - self.tax


@dataclass
class ShiftReport:
    """The X report (open shift, read-only) or the Z report (closed shift, figures as stored at close)."""

    shift: Shift
    kind: str
    methods: list[MethodTotal]
    vat: list[VatTotal]
    sales_count: int = 0
    sales_total: Decimal = ZERO
    discount_total: Decimal = ZERO
    tax_total: Decimal = ZERO
    pending_count: int = 0
    cancelled_count: int = 0
    returns_count: int = 0
    returns_total: Decimal = ZERO
    generated_at: object = field(default_factory=timezone.now)

    @property
    def net_sales(self):
        return self.sales_total - self.returns_total

    @property
    def cash(self) -> MethodTotal:
        return next(m for m in self.methods if m.method == "cash")


SOLD = (SaleStatus.PAID, SaleStatus.PARTIALLY_REFUNDED, SaleStatus.REFUNDED)


def shift_report(shift, counted=None) -> ShiftReport:
    """The figures of a shift, from the sales and payments themselves: sales by status, VAT by rate,
    and per payment method opening, payments, tendered, change, refunds paid out, expected in the
    drawer, counted and difference. `counted` ({method: amount}) fills counted/difference for an open
    shift (close_shift uses it); a closed shift shows what was stored when it closed (the Z report).
    Constant number of queries."""
    from pos.payments.models import Method, Payment, Refund

    methods = {m: MethodTotal(m, label) for m, label in Method.choices}
    methods["cash"].opening = shift.opening_float
    paid = (Payment.objects.filter(sale__shift=shift, status="completed").values("method")
            .annotate(amount=Sum("amount"), change=Sum("change_given"), n=Count("id")))
    for row in paid:
        total = methods.setdefault(row["method"], MethodTotal(row["method"], row["method"]))
        total.payments, total.change, total.count = to_money(row["amount"]), to_money(row["change"]), row["n"]
        total.tendered = total.payments + total.change
    refunds = (Refund.objects.filter(status="completed")
               .filter(Q(sale_return__shift=shift) | Q(sale_return__isnull=True, payment__sale__shift=shift))
               .values("payment__method").annotate(amount=Sum("amount")))
    for row in refunds:
        methods.setdefault(row["payment__method"], MethodTotal(row["payment__method"], row["payment__method"]))
        methods[row["payment__method"]].refunds = to_money(row["amount"])
    for total in methods.values():
        total.expected = total.opening + total.tendered - total.change - total.refunds
    if shift.status == ShiftStatus.CLOSED:
        for stored in shift.totals.all():
            total = methods.setdefault(stored.method, MethodTotal(stored.method, stored.method))
            total.expected, total.counted, total.difference = stored.expected, stored.counted, stored.difference
    elif counted is not None:
        for method, total in methods.items():
            total.counted = counted.get(method, total.expected)
            total.difference = total.counted - total.expected
    report = ShiftReport(shift=shift, kind="Z" if shift.status == ShiftStatus.CLOSED else "X", vat=[],
                         methods=[t for t in methods.values() if t.method == "cash" or t.count or t.refunds
                                  or (t.counted is not None and t.counted != t.expected)])
    _add_sales_figures(report, shift)
    return report


def _add_sales_figures(report, shift):
    by_status = {row["status"]: row for row in Sale.objects.filter(shift=shift).values("status").annotate(
        n=Count("id"), total=Sum("total"), discount=Sum("discount"), tax=Sum("tax"))}
    sold = [by_status[s] for s in SOLD if s in by_status]
    report.sales_count = sum(row["n"] for row in sold)
    report.sales_total = to_money(sum((row["total"] for row in sold), ZERO))
    report.discount_total = to_money(sum((row["discount"] for row in sold), ZERO))
    report.tax_total = to_money(sum((row["tax"] for row in sold), ZERO))
    report.pending_count = by_status.get(SaleStatus.PENDING_PAYMENT, {}).get("n", 0)
    report.cancelled_count = by_status.get(SaleStatus.CANCELLED, {}).get("n", 0)
    rates = (SaleItem.objects.filter(sale__shift=shift, sale__status__in=SOLD).values("tax_rate")
             .annotate(total=Sum("total"), tax=Sum("tax")).order_by("-tax_rate"))
    report.vat = [VatTotal(row["tax_rate"], to_money(row["total"]), to_money(row["tax"])) for row in rates]
    returns = shift.returns.aggregate(n=Count("id"), total=Sum("amount"))
    report.returns_count, report.returns_total = returns["n"], to_money(returns["total"] or ZERO)


@transaction.atomic
def close_shift(shift, counted_cash, user, counted=None, note="") -> ShiftReport:
    """Close a shift with the cash counted in the drawer (and, optionally, other methods' counts:
    {method: amount}; a method not counted is taken as expected). Stores one ShiftTotal per method
    and the cash variance, and answers the Z report. Refused while a sale of the shift waits for
    payment (take the payment or cancel the sale first)."""
    shift = Shift.objects.select_for_update().get(pk=shift.pk)
    if shift.status != ShiftStatus.OPEN:
        raise ServiceError(f"Shift #{shift.pk} is already closed.", field="shift", code="shift_closed")
    if user is not None and not may_act_for(user, shift.cashier_id):
        raise ServiceError("A cashier may close only their own shift.", field="shift", code="not_allowed")
    counts = {method: _amount(value, f"counted.{method}") for method, value in (counted or {}).items()}
    counts["cash"] = _amount(counted_cash, "counted_cash")
    waiting = list(shift.sales.filter(status=SaleStatus.PENDING_PAYMENT).values_list("receipt_number", flat=True))
    if waiting:
        raise ServiceError(f"Sales waiting for payment: {', '.join(waiting)}. Take the payment or cancel them "
                           "before closing the shift.", field="shift", code="unpaid_sales")
    from pos.tills.services import refuse_while_unsynced

    refuse_while_unsynced(shift)
    report = shift_report(shift, counted=counts)
    unknown = set(counts) - {m.method for m in report.methods} - {m for m, _ in _method_choices()}
    if unknown:
        raise ServiceError(f"Unknown payment method: {', '.join(sorted(unknown))}.", field="counted")
    ShiftTotal.objects.bulk_create([
        ShiftTotal(shift=shift, method=m.method, opening=m.opening, expected=m.expected, counted=m.counted,
                   difference=m.difference)
        for m in report.methods
    ])
    cash = report.cash
    shift.status = ShiftStatus.CLOSED
    shift.closed_at = timezone.now()
    shift.closed_by = user
    shift.expected_cash, shift.counted_cash, shift.cash_variance = cash.expected, cash.counted, cash.difference
    if note:
        shift.note = f"{shift.note}\n{note}".strip()
    shift.save()
    return shift_report(shift)


def _method_choices():
    from pos.payments.models import Method

    return Method.choices


def create_sale(*, cashier, items: list[LineRequest], discount=ZERO, customer_name="", customer_phone="",
                note="", idempotency_key="", shift=None, receipt_prefix=""):
    """Create and confirm a sale: its stock leaves now, it waits for payment (pending_payment).

    With an idempotency key, a retry with the same body returns the first sale (created=False); the
    same key with another body is a ConflictError. A unique constraint enforces it under concurrency.
    Returns (sale, created).
    """
    fingerprint = _fingerprint({
        "cashier": cashier.pk,
        "items": [(i.product, i.barcode, str(to_quantity(i.quantity)), str(to_money(i.discount))) for i in items],
        "discount": str(to_money(discount)), "customer_phone": customer_phone, "customer_name": customer_name,
    })
    key = idempotency_key or None
    if key:
        existing = _replay(key, fingerprint)
        if existing:
            return existing, False
    try:
        with transaction.atomic():
            return _create_sale(cashier, items, discount, customer_name, customer_phone, note, key, fingerprint,
                                shift, receipt_prefix), True
    except IntegrityError:
        existing = key and _replay(key, fingerprint)
        if existing:
            return existing, False
        raise


def _replay(key, fingerprint):
    sale = Sale.objects.filter(idempotency_key=key).first()
    if sale and sale.request_hash != fingerprint:
        raise ConflictError("This Idempotency-Key was already used for a different sale.", code="idempotency_conflict",
                            field="Idempotency-Key")
    return sale


def _create_sale(cashier, items, discount, customer_name, customer_phone, note, key, fingerprint, shift,
                 receipt_prefix=""):
    shift = _selling_shift(cashier, shift)
    lines = build_lines(items, discount, cashier)
    return write_sale(cashier=cashier, shift=shift, lines=lines, discount=discount,
                      receipt_number=next_receipt_number(receipt_prefix), customer_name=customer_name,
                      customer_phone=customer_phone, note=note, key=key, fingerprint=fingerprint)


def write_sale(*, cashier, shift, lines, discount, receipt_number, customer_name="", customer_phone="", note="",
               key=None, fingerprint="", allow_negative=None) -> Sale:
    """Write a confirmed sale (pending_payment) with its priced lines and post its stock, in the caller's
    transaction. `allow_negative` lets stock go below zero (a sale made offline already happened)."""
    sale = Sale.objects.create(
        receipt_number=receipt_number, status=SaleStatus.PENDING_PAYMENT, cashier=cashier, shift=shift,
        customer_name=customer_name, customer_phone=customer_phone, note=note, currency=settings.CURRENCY,
        subtotal=sum((line.gross for line in lines), ZERO), order_discount=to_money(discount),
        discount=sum((line.discount + line.order_discount for line in lines), ZERO),
        tax=sum((line.tax for line in lines), ZERO), total=sum((line.total for line in lines), ZERO),
        idempotency_key=key, request_hash=fingerprint, confirmed_at=timezone.now(),
    )
    SaleItem.objects.bulk_create([
        SaleItem(sale=sale, product=line.product, name=line.product.name, sku=line.product.sku,
                 barcode=line.product.barcode or "", quantity=line.quantity, unit_price=line.unit_price,
                 unit_cost=line.product.cost_price, tax_rate=line.tax_rate, gross=line.gross,
                 discount=line.discount, order_discount=line.order_discount, tax=line.tax, total=line.total,
                 cost=line.cost)
        for line in lines
    ])
    post_movements([StockChange(line.product.pk, -line.quantity) for line in lines], kind=MovementKind.SALE,
                   user=cashier, reference=sale.receipt_number, allow_negative=allow_negative)
    return sale


def lock_sale(sale) -> Sale:
    return Sale.objects.select_for_update().get(pk=sale.pk)


@transaction.atomic
def cancel_sale(sale, *, user, reason=""):
    """Cancel an open or unpaid sale: its stock comes back. Refused while a payment on it is completed
    or still in progress (cancel or refund that payment first). A cashier cancels only their own sales."""
    sale = lock_sale(sale)
    if user is not None and not may_act_for(user, sale.cashier_id):
        raise ServiceError("A cashier may cancel only their own sales.", field="sale", code="not_allowed")
    if sale.status not in (SaleStatus.OPEN, SaleStatus.PENDING_PAYMENT):
        raise ServiceError(f"Sale {sale.receipt_number} is {sale.get_status_display().lower()} and cannot be "
                           "cancelled; take a return instead.", field="status", code="not_cancellable")
    if sale.payments.filter(status__in=LIVE_PAYMENT_STATUSES).exists():
        raise ServiceError("This sale has a payment completed or in progress: cancel or refund it first.",
                           field="status", code="has_payments")
    _cancel(sale, user, reason)
    return sale


def _cancel(sale, user, reason):
    restore_stock(sale, user=user, kind=MovementKind.CANCEL)
    transition(sale, SaleStatus.CANCELLED)
    sale.cancelled_at = timezone.now()
    sale.cancelled_by = user
    sale.cancel_reason = reason[:200]
    sale.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason"])


def expiry_cutoff():
    return timezone.now() - timedelta(seconds=settings.SALE_PAYMENT_TIMEOUT)


def expirable_sales():
    """Sales waiting for payment longer than SALE_PAYMENT_TIMEOUT with no payment completed or in progress."""
    return (Sale.objects.filter(status=SaleStatus.PENDING_PAYMENT, confirmed_at__lt=expiry_cutoff())
            .exclude(payments__status__in=LIVE_PAYMENT_STATUSES))


@transaction.atomic
def expire_sale(sale) -> bool:
    """Cancel an unpaid sale that outlived SALE_PAYMENT_TIMEOUT (user None, reason "expired"), its stock
    back. Checked again under the row lock: returns False, changing nothing, when the sale was paid,
    cancelled, has a payment completed or in progress, or is not old enough."""
    sale = lock_sale(sale)
    if sale.status != SaleStatus.PENDING_PAYMENT or sale.confirmed_at is None or sale.confirmed_at >= expiry_cutoff():
        return False
    if sale.payments.filter(status__in=LIVE_PAYMENT_STATUSES).exists():
        return False
    _cancel(sale, None, "expired")
    return True


def restore_stock(sale, *, user, kind):
    """Put back the stock a confirmed sale took (what was not returned already)."""
    changes = [StockChange(item.product_id, item.quantity - item.returned_quantity) for item in sale.items.all()]
    post_movements(changes, kind=kind, user=user, reference=sale.receipt_number)


@transaction.atomic(savepoint=False)
def settle_sale(sale) -> Sale:
    """Recompute what was paid from the completed payments and mark the sale paid when they cover its
    total. Cash over the total becomes change due. Called by pos.payments.services after every payment
    state change; idempotent."""
    return settle_locked_sale(lock_sale(sale))


def settle_locked_sale(sale) -> Sale:
    """settle_sale for a caller that already holds the sale's row lock in its transaction."""
    sums = sale.payments.filter(status="completed").aggregate(paid=Sum("amount"), change=Sum("change_given"))
    paid = to_money(sums["paid"] or ZERO)
    sale.paid_amount = paid
    sale.change_due = to_money(sums["change"] or ZERO)
    fields = ["paid_amount", "change_due"]
    if sale.status == SaleStatus.PENDING_PAYMENT and paid >= sale.total:
        transition(sale, SaleStatus.PAID)
        sale.paid_at = timezone.now()
        fields += ["status", "paid_at"]
        fiscal_hooks.sale_paid(sale)  # KRA eTIMS signs it after the commit, never on the till's time
    sale.save(update_fields=fields)
    if "paid_at" in fields:
        rollups.record_sale(sale)  # the reports' daily sums, in this transaction
    return sale


def returned_part(value: Decimal, sold: Decimal, returned: Decimal) -> Decimal:
    """The part of a line's `value` (total, tax or cost) that `returned` of `sold` units carry, rounded
    half-up; all units returned give exactly `value`. A return's share is the difference between the
    parts after and before it, so a line's returns always add up to the line to the cent."""
    if returned >= sold:
        return value
    return to_money(value * returned / sold)


def _wanted_returns(items) -> dict[int, Decimal]:
    wanted = {}
    for item_id, quantity in items:
        try:
            quantity = to_quantity(Decimal(str(quantity)))
        except (InvalidOperation, ValueError, TypeError):
            raise ServiceError(f"Line {item_id}: enter a quantity.", field="items", code="bad_quantity") from None
        if quantity <= 0:
            raise ServiceError(f"Line {item_id}: the quantity to return must be greater than zero.", field="items",
                               code="bad_quantity")
        wanted[int(item_id)] = wanted.get(int(item_id), ZERO) + quantity
    if not wanted:
        raise ServiceError("Choose at least one line to return.", field="items", code="empty")
    return wanted


def _return_line(sale_return, item, quantity) -> SaleReturnLine:
    before, after = item.returned_quantity, item.returned_quantity + quantity

    def share(value):
        return returned_part(value, item.quantity, after) - returned_part(value, item.quantity, before)

    return SaleReturnLine(sale_return=sale_return, sale_item=item, quantity=quantity, amount=share(item.total),
                          tax=share(item.tax), cost=share(item.cost))


def can_take_returns(user) -> bool:
    return can(user, "sales.return_sale")


@transaction.atomic
def return_items(sale, items, user, reason="", shift=None) -> SaleReturn:
    """Take back goods of a paid sale: `items` is [(sale_item_id, quantity)], each capped at the quantity
    sold minus already returned. Stock comes back (kind "return"); a SaleReturn records the refund owed
    (settled by pos.payments); the sale's refunded_amount grows and it becomes partially_refunded, or
    refunded once every unit is back. `shift` is the till paying the refund out (default: the user's open
    shift, else the sale's shift if still open)."""
    if not can_take_returns(user):
        raise ServiceError("Only a manager may take returns.", field="sale", code="not_allowed")
    sale = lock_sale(sale)
    if sale.status not in RETURNABLE:
        raise ServiceError(f"Sale {sale.receipt_number} is {sale.get_status_display().lower()}: only a paid sale "
                           "takes returns.", field="status", code="not_returnable")
    wanted = _wanted_returns(items)
    sold = {item.pk: item for item in sale.items.select_related("product")}
    sale_return = SaleReturn(sale=sale, amount=ZERO, reason=(reason or "")[:200], created_by=user,
                             shift=shift or _refund_shift(sale, user))
    lines = []
    for item_id, quantity in wanted.items():
        item = sold.get(item_id)
        if item is None:
            raise ServiceError(f"Sale {sale.receipt_number} has no line {item_id}.", field="items",
                               code="unknown_line")
        left = item.quantity - item.returned_quantity
        if quantity > left:
            raise ServiceError(f"{item.name}: at most {left.normalize():f} can be returned ({item.quantity.normalize():f} "
                               f"sold, {item.returned_quantity.normalize():f} returned already).", field="items",
                               code="return_exceeds_sold")
        if item.product.unit == Unit.PIECE and quantity != quantity.to_integral_value():
            raise ServiceError(f"{item.name} is returned in whole pieces.", field="items", code="bad_quantity")
        lines.append(_return_line(sale_return, item, quantity))
        item.returned_quantity += quantity
    sale_return.amount = sum((line.amount for line in lines), ZERO)
    sale_return.tax = sum((line.tax for line in lines), ZERO)
    sale_return.save()
    fiscal_hooks.return_taken(sale_return)  # its credit note is signed after the commit
    SaleReturnLine.objects.bulk_create(lines)
    SaleItem.objects.bulk_update([line.sale_item for line in lines], ["returned_quantity"])
    post_movements([StockChange(line.sale_item.product_id, line.quantity) for line in lines],
                   kind=MovementKind.RETURN, user=user, reference=sale.receipt_number, note=sale_return.reason)
    everything_back = all(item.returned_quantity >= item.quantity for item in sold.values())
    transition(sale, SaleStatus.REFUNDED if everything_back else SaleStatus.PARTIALLY_REFUNDED)
    sale.refunded_amount += sale_return.amount
    sale.save(update_fields=["status", "refunded_amount"])
    rollups.record_return(sale_return)  # the reports' daily sums, in this transaction
    return sale_return


def _refund_shift(sale, user):
    own = get_open_shift(user)
    if own:
        return own
    if sale.shift_id and sale.shift.status == ShiftStatus.OPEN:
        return sale.shift
    return None
