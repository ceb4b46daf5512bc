"""Sale operations. Every state change of a Sale happens here, checked against TRANSITIONS."""

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from pos.catalog.models import Product, Unit
from pos.core.errors import ConflictError, IllegalTransition, ServiceError
from pos.core.money import ZERO, allocate, tax_included, to_money, to_quantity
from pos.inventory.models import MovementKind
from pos.inventory.services import StockChange, post_movements
from pos.sales.models import ReceiptSequence, Sale, SaleItem, SaleStatus, Shift, ShiftStatus

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


def _resolve_products(requests: list[LineRequest]) -> list[Product]:
    """One query for all lines; unknown or inactive products are refused with the line number."""
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
        if not product.is_active:
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
    if user is not None and getattr(user, "is_cashier", False) and gross and request.discount * 100 > gross * limit:
        raise ServiceError(f"Line {n}: a cashier may give at most {limit}% discount; ask a manager.",
                           field="items", code="discount_not_allowed")


def build_lines(requests: list[LineRequest], order_discount=ZERO, user=None) -> list[PricedLine]:
    """Validate the wanted lines against the catalogue and price them (nothing is written)."""
    if not requests:
        raise ServiceError("A sale needs at least one line.", field="items", code="empty")
    products = _resolve_products(requests)
    lines = []
    for n, (request, product) in enumerate(zip(requests, products), start=1):
        quantity = to_quantity(request.quantity)
        gross = to_money(quantity * product.price)
        _check_line(n, LineRequest(quantity, discount=to_money(request.discount)), product, gross, user)
        lines.append(PricedLine(product=product, quantity=quantity, unit_price=product.price,
                                tax_rate=product.tax_rate, gross=gross, discount=to_money(request.discount)))
    return price_lines(lines, order_discount)


def next_receipt_number() -> str:
    """The next receipt number, gap-free: the counter row is locked and moves in the caller's transaction."""
    prefix = settings.RECEIPT_PREFIX
    ReceiptSequence.objects.get_or_create(prefix=prefix)
    seq = ReceiptSequence.objects.select_for_update().get(prefix=prefix)
    seq.last_number += 1
    seq.save(update_fields=["last_number"])
    return f"{prefix}{seq.last_number:06d}"


def get_open_shift(cashier) -> Shift | None:
    return Shift.objects.filter(cashier=cashier, status=ShiftStatus.OPEN).first()


def create_sale(*, cashier, items: list[LineRequest], discount=ZERO, customer_name="", customer_phone="",
                note="", idempotency_key="", shift=None):
    """Create and confirm a sale: its stock leaves now, it waits for payment (pending_payment).

    With an idempotency key, a retry with the same body returns the first sale (created=False); the
    same key with another body is a ConflictError. A unique constraint enforces it under concurrency.
    Returns (sale, created).
    """
    fingerprint = _fingerprint({
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
                                shift), True
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


def _create_sale(cashier, items, discount, customer_name, customer_phone, note, key, fingerprint, shift):
    shift = shift or get_open_shift(cashier)
    if shift is None or shift.status != ShiftStatus.OPEN:
        raise ServiceError("Open a shift before selling.", field="shift", code="no_open_shift")
    lines = build_lines(items, discount, cashier)
    receipt_number = next_receipt_number()
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
                   user=cashier, reference=sale.receipt_number)
    return sale


def lock_sale(sale) -> Sale:
    return Sale.objects.select_for_update().get(pk=sale.pk)


@transaction.atomic
def cancel_sale(sale, *, user, reason=""):
    """Cancel an open or unpaid sale: its stock comes back. Refused while a payment on it is completed
    or still in progress (cancel or refund that payment first)."""
    sale = lock_sale(sale)
    if sale.status not in (SaleStatus.OPEN, SaleStatus.PENDING_PAYMENT):
        raise ServiceError(f"Sale {sale.receipt_number} is {sale.get_status_display().lower()} and cannot be "
                           "cancelled; take a return instead.", field="status", code="not_cancellable")
    live = sale.payments.filter(status__in=["completed", "processing"])
    if live.exists():
        raise ServiceError("This sale has a payment completed or in progress: cancel or refund it first.",
                           field="status", code="has_payments")
    restore_stock(sale, user=user, kind=MovementKind.CANCEL)
    transition(sale, SaleStatus.CANCELLED)
    sale.cancelled_at = timezone.now()
    sale.cancel_reason = reason[:200]
    sale.save(update_fields=["status", "cancelled_at", "cancel_reason"])
    return sale


def restore_stock(sale, *, user, kind):
    """Put back the stock a confirmed sale took (what was not returned already)."""
    changes = [StockChange(item.product_id, item.quantity - item.returned_quantity) for item in sale.items.all()]
    post_movements(changes, kind=kind, user=user, reference=sale.receipt_number)


@transaction.atomic
def settle_sale(sale) -> Sale:
    """Recompute what was paid from the completed payments and mark the sale paid when they cover its
    total. Cash over the total becomes change due. Called by pos.payments.services after every payment
    state change; idempotent."""
    sale = lock_sale(sale)
    paid = sale.payments.filter(status="completed").aggregate(total=Sum("amount"))["total"] or ZERO
    change = sale.payments.filter(status="completed").aggregate(total=Sum("change_given"))["total"] or ZERO
    sale.paid_amount = paid
    sale.change_due = change
    fields = ["paid_amount", "change_due"]
    if sale.status == SaleStatus.PENDING_PAYMENT and paid >= sale.total:
        transition(sale, SaleStatus.PAID)
        sale.paid_at = timezone.now()
        fields += ["status", "paid_at"]
    sale.save(update_fields=fields)
    return sale
