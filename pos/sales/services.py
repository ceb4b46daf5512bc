"""Sale operations. Every state change of a Sale happens here, checked against TRANSITIONS (SALE_STATES,
pos.core.transitions); idempotent creation by pos.core.idempotency.

Shifts (open, close, the X/Z report), sales (confirm, cancel, expire, settle) and returns. Each
operation is one transaction and raises ServiceError on bad input, so nothing is half-written.
"""

import re
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from pos.catalog.models import Product, Unit
from pos.core import prepared
from pos.core.errors import ServiceError
from pos.core.history import insert_created
from pos.core.idempotency import create_once, fingerprint
from pos.core.money import CENT, ZERO, allocate, check_fits, tax_included, to_money, to_quantity
from pos.core.permissions import ANY_DISCOUNT, can, discount_is_capped, may_act_for
from pos.core.transitions import StateMachine
from pos.fiscal import hooks as fiscal_hooks
from pos.inventory.models import MovementKind
from pos.inventory.services import StockChange, post_movements
from pos.payments.models import LIVE_STATUSES as PAYMENT_LIVE_STATUSES
from pos.reports import rollups
from pos.sales.models import (
    SOLD_STATUSES,
    Authorisation,
    OverrideAction,
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

# Payments completed or still able to bring money in (pending, processing, unconfirmed: the one
# definition is pos.payments.models.IN_FLIGHT_STATUSES): a sale holding one is neither cancelled nor expired.
LIVE_PAYMENT_STATUSES = PAYMENT_LIVE_STATUSES
RETURNABLE = (SaleStatus.PAID, SaleStatus.PARTIALLY_RETURNED)

TRANSITIONS = {
    SaleStatus.OPEN: {SaleStatus.PENDING_PAYMENT, SaleStatus.CANCELLED},
    SaleStatus.PENDING_PAYMENT: {SaleStatus.PAID, SaleStatus.CANCELLED},
    SaleStatus.PAID: {SaleStatus.PARTIALLY_RETURNED, SaleStatus.RETURNED},
    SaleStatus.PARTIALLY_RETURNED: {SaleStatus.PARTIALLY_RETURNED, SaleStatus.RETURNED},
}


class NotAllowed(ServiceError):
    """The user may not do this alone (HTTP 403): a manager, or a manager's PIN at the till, may."""

    status_code = 403


SALE_STATES = StateMachine("Sale", TRANSITIONS)


@dataclass(frozen=True)
class LineRequest:
    """A wanted line: `product` (id) or `barcode`, a quantity and an optional line discount, either money
    (`discount`) or a percentage of the line (`discount_percent`, which wins when given)."""

    quantity: Decimal
    product: int | None = None
    barcode: str = ""
    discount: Decimal = ZERO
    discount_percent: Decimal | None = None


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


@dataclass
class PricedCart:
    """A priced cart: what the sale will store. total = sum of line totals + rounding."""

    lines: list[PricedLine]
    order_discount: Decimal
    rounding: Decimal

    @property
    def subtotal(self):
        return sum((line.gross for line in self.lines), ZERO)

    @property
    def discount(self):
        return sum((line.discount + line.order_discount for line in self.lines), ZERO)

    @property
    def tax(self):
        return sum((line.tax for line in self.lines), ZERO)

    @property
    def lines_total(self):
        return sum((line.total for line in self.lines), ZERO)

    @property
    def total(self):
        return self.lines_total + self.rounding


HUNDRED = Decimal(100)
QUANTITY_TEXT = re.compile(r"^\d+(\.\d+)?$")


def parse_quantity(value, field_name="quantity") -> Decimal:
    """A quantity typed by a person: digits with a decimal POINT only. "1,5" is refused (a comma is a
    decimal mark in some habits and a thousands separator in others: 15 kg or 1.5 kg?), so the page and
    the server share one rule (checkout.js has the same regular expression)."""
    if isinstance(value, Decimal | int):
        return to_quantity(value)
    text = str(value if value is not None else "").strip()
    if text.startswith("-") and QUANTITY_TEXT.match(text[1:]):
        raise ServiceError(_("The quantity must be greater than zero."), field=field_name, code="bad_quantity")
    if "," in text:
        raise ServiceError(_("%(text)r: use a point for decimals (1.5), not a comma.") % {"text": text}, field=field_name,
                           code="ambiguous_comma")
    if not QUANTITY_TEXT.match(text):
        raise ServiceError(_("%(text)r is not a quantity.") % {"text": text or _("(empty)")}, field=field_name,
                           code="bad_quantity")
    return to_quantity(Decimal(text))


def percent_of(amount: Decimal, percent) -> Decimal:
    """`percent` of `amount`, rounded DOWN to the cent: a discount never exceeds the percentage typed."""
    percent = Decimal(str(percent))
    if not percent.is_finite() or percent < 0 or percent > HUNDRED:
        raise ServiceError(_("A discount is between 0 and 100%."), field="discount_percent", code="bad_discount")
    return (amount * percent / HUNDRED).quantize(CENT, rounding=ROUND_DOWN)


def rounding_step() -> Decimal:
    step = Decimal(str(settings.CASH_ROUNDING_STEP))
    if step < 1 or step != step.to_integral_value():
        raise ImproperlyConfigured("CASH_ROUNDING_STEP is a whole number of shillings, at least 1.")
    return step


def round_cash(amount: Decimal) -> Decimal:
    """`amount` rounded to the cash rounding step by CASH_ROUNDING_RULE ("nearest": half up; "down").
    Something that costs money never rounds to nothing: it is then one step."""
    step = rounding_step()
    rule = settings.CASH_ROUNDING_RULE
    if rule not in ("nearest", "down"):
        raise ImproperlyConfigured("CASH_ROUNDING_RULE is 'nearest' or 'down'.")
    units = (Decimal(amount) / step).to_integral_value(rounding=ROUND_HALF_UP if rule == "nearest" else ROUND_FLOOR)
    rounded = to_money(units * step)
    if rounded <= 0 < amount:
        rounded = to_money(step)
    return rounded


def price_lines(lines: list[PricedLine], order_discount: Decimal) -> list[PricedLine]:
    """Spread the order discount over the lines (in proportion to what is left of each after its own
    discount; the shares add up exactly) and compute each line's total, contained VAT and cost,
    each rounded half-up to the cent once, at the line."""
    order_discount = to_money(order_discount)
    left = [line.gross - line.discount for line in lines]
    if order_discount < 0:
        raise ServiceError(_("The discount cannot be negative."), field="discount")
    if order_discount > sum(left, ZERO):
        raise ServiceError(_("The discount is larger than the sale total."), field="discount",
                           code="discount_too_large")
    for line, share in zip(lines, allocate(order_discount, left)):
        line.order_discount = share
        line.total = line.gross - line.discount - share
        line.tax = tax_included(line.total, line.tax_rate)
        line.cost = to_money(line.quantity * line.product.cost_price)
    return lines


def _resolve_products(requests: list[LineRequest], allow_inactive=False, lock=False) -> list[Product]:
    """One query for all lines; unknown or inactive products are refused with the line number (an offline
    sale keeps a product deactivated after it was sold: `allow_inactive`). `lock`: the rows are locked
    in primary-key order (as pos.inventory.services.lock_products does) for the stock they will give,
    with their eTIMS item (the receipt's tax letters)."""
    ids = sorted({r.product for r in requests if r.product})
    codes = sorted({r.barcode for r in requests if not r.product})
    if lock:  # the checkout's: compiled once (pos.core.prepared.fetch)
        found = prepared.fetch("sale products, locked", _locked_products, ids, codes)
    else:
        found = Product.objects.filter(Q(pk__in=ids) | Q(barcode__in=codes))
    by_id = {p.pk: p for p in found}
    by_code = {p.barcode: p for p in found if p.barcode}
    products = []
    for n, r in enumerate(requests, start=1):
        product = by_id.get(r.product) if r.product else by_code.get(r.barcode)
        if product is None:
            what = (_("product %(id)s") % {"id": r.product} if r.product
                    else _("barcode %(code)r") % {"code": r.barcode})
            raise ServiceError(_("Line %(n)s: unknown %(what)s.") % {"n": n, "what": what}, field="items",
                               code="unknown_product")
        if not product.is_active and not allow_inactive:
            raise ServiceError(_("Line %(n)s: %(name)s is not for sale (inactive).") % {"n": n, "name": product.name},
                               field="items",
                               code="inactive_product")
        products.append(product)
    return products


def _locked_products(ids, codes):
    return (Product.objects.filter(Q(pk__in=ids) | Q(barcode__in=codes)).select_related("fiscal_item").order_by("pk")
            .select_for_update(of=("self",)))


def _check_line(n, quantity, discount, product, gross):
    if quantity <= 0:
        raise ServiceError(_("Line %(n)s: quantity must be greater than zero.") % {"n": n}, field="items",
                           code="bad_quantity")
    if product.unit == Unit.PIECE and quantity != quantity.to_integral_value():
        raise ServiceError(_("Line %(n)s: %(name)s is sold in whole pieces.") % {"n": n, "name": product.name},
                           field="items", code="bad_quantity")
    if gross <= 0:  # e.g. 0.005 kg at 0.01: a line of nothing would make a sale nobody can pay
        raise ServiceError(_("Line %(n)s: %(quantity)s of %(name)s costs less than a cent.")
                           % {"n": n, "quantity": f"{quantity.normalize():f}", "name": product.name},
                           field="items", code="worthless_line")
    if discount < 0 or discount > gross:
        raise ServiceError(_("Line %(n)s: the discount must be between 0 and the line amount %(gross)s.")
                           % {"n": n, "gross": gross},
                           field="items", code="bad_discount")


def discount_cap_applies(user, authorised_by=None) -> bool:
    """The cashier's discount cap holds unless a manager authorised more (manager PIN at the till)."""
    return discount_is_capped(user) and not can(authorised_by, ANY_DISCOUNT)


def check_discount_cap(lines, user, authorised_by=None):
    """ONE cap: a cashier's discounts on a sale, lines and order together, are at most
    CASHIER_MAX_DISCOUNT_PERCENT of the sale's gross; beyond it a manager authorises (PIN)."""
    if not discount_cap_applies(user, authorised_by):
        return
    limit = settings.CASHIER_MAX_DISCOUNT_PERCENT
    gross = sum((line.gross for line in lines), ZERO)
    given = sum((line.discount + line.order_discount for line in lines), ZERO)
    if given > to_money(gross * limit / HUNDRED):
        raise ServiceError(_("A cashier may give at most %(limit)s%% discount on a sale (lines and order together: "
                             "%(given)s of %(gross)s); a manager can authorise more with their PIN.")
                           % {"limit": limit, "given": given, "gross": gross},
                           field="discount", code="discount_not_allowed")


def price_cart(requests: list[LineRequest], order_discount=ZERO, user=None, *, order_discount_percent=None,
               authorised_by=None, recorded=None, lock=False) -> PricedCart:
    """Validate the wanted lines against the catalogue and price them (nothing is written): line
    discounts (money or percent), the order discount (money, or percent of what is left after the line
    discounts), the cashier's one discount cap, and the cash rounding line.
    `recorded` ([(unit_price, tax_rate)] per line): the prices a till used offline, kept as sold.
    `lock`: the products' rows are locked for the sale being written (see _resolve_products)."""
    if not requests:
        raise ServiceError(_("A sale needs at least one line."), field="items", code="empty")
    products = _resolve_products(requests, allow_inactive=recorded is not None, lock=lock)
    lines = []
    for n, (request, product) in enumerate(zip(requests, products), start=1):
        quantity = to_quantity(request.quantity)
        unit_price, tax_rate = recorded[n - 1] if recorded is not None else (product.price, product.tax_rate)
        gross = to_money(quantity * unit_price)
        if request.discount_percent not in (None, ""):
            discount = percent_of(gross, request.discount_percent)
        else:
            discount = to_money(request.discount)
        _check_line(n, quantity, discount, product, gross)
        lines.append(PricedLine(product=product, quantity=quantity, unit_price=unit_price,
                                tax_rate=tax_rate, gross=gross, discount=discount))
    if order_discount_percent not in (None, ""):
        order_discount = percent_of(sum((line.gross - line.discount for line in lines), ZERO), order_discount_percent)
    order_discount = to_money(order_discount)
    price_lines(lines, order_discount)
    check_discount_cap(lines, user, authorised_by)
    lines_total = sum((line.total for line in lines), ZERO)
    for line in lines:  # a price x quantity too big for the money columns is a 400, never a 500
        check_fits(line.gross, "items", what=f"line amount of {line.product.name}")
    check_fits(sum((line.gross for line in lines), ZERO), "items", what="sale total")
    return PricedCart(lines=lines, order_discount=order_discount, rounding=round_cash(lines_total) - lines_total)


def build_lines(requests: list[LineRequest], order_discount=ZERO, user=None, recorded=None) -> list[PricedLine]:
    """The priced lines of a cart (see price_cart)."""
    return price_cart(requests, order_discount, user, recorded=recorded).lines


def next_receipt_number(prefix="") -> str:
    """The next receipt number, gap-free: the counter row is locked and moves in the caller's transaction.
    `prefix` picks the series (a till's own, e.g. "T01-", so tills never wait on each other's row);
    default RECEIPT_PREFIX."""
    prefix = prefix or settings.RECEIPT_PREFIX
    number = _count_receipt(prefix)
    if number is None:  # the series' very first sale
        ReceiptSequence.objects.get_or_create(prefix=prefix)
        number = _count_receipt(prefix)
    return f"{prefix}{number:06d}"


def _count_receipt(prefix):
    """Move the series' counter and read it in one statement (the UPDATE locks the row until the
    caller's transaction ends): the new number, or None when the series has no row yet."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {quote(ReceiptSequence._meta.db_table)} SET {quote('last_number')} = "
                       f"{quote('last_number')} + 1 WHERE {quote('prefix')} = %s RETURNING {quote('last_number')}",
                       [prefix])
        row = cursor.fetchone()
    return None if row is None else row[0]


def get_open_shift(cashier) -> Shift | None:
    return Shift.objects.filter(cashier=cashier, status=ShiftStatus.OPEN).first()


def _amount(value, field_name) -> Decimal:
    """A money amount given by a user: a number, zero or more, rounded to the cent."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ServiceError(_("Enter an amount, e.g. 1000.00."), field=field_name, code="invalid_amount") from None
    if not amount.is_finite() or amount < 0:
        raise ServiceError(_("The amount must be zero or more."), field=field_name, code="invalid_amount")
    return to_money(amount)


def open_shift(cashier, opening_float, note="") -> Shift:
    """Open a till session for `cashier` with the cash already in the drawer. One open shift per cashier."""
    opening_float = _amount(opening_float, "opening_float")
    current = get_open_shift(cashier)
    if current:
        raise ServiceError(_("%(cashier)s already has shift #%(shift)s open: close it before opening another.")
                           % {"cashier": cashier, "shift": current.pk},
                           field="shift", code="shift_already_open")
    try:
        with transaction.atomic():
            return Shift.objects.create(cashier=cashier, opening_float=opening_float, note=note)
    except IntegrityError:
        raise ServiceError(_("%(cashier)s already has a shift open.") % {"cashier": cashier}, field="shift",
                           code="shift_already_open") from None


def _selling_shift(cashier, shift) -> Shift:
    """The cashier's open shift, locked: closing it waits for the sale, and a closed one sells nothing."""
    if shift is None:  # compiled once (pos.core.prepared.fetch)
        shift = next(iter(prepared.fetch("open shift, locked", _open_shift_locked, [cashier.pk])), None)
    else:
        shift = Shift.objects.select_for_update().filter(pk=shift.pk).first()
    if shift is None:
        raise ServiceError(_("Open a shift before selling."), field="shift", code="no_open_shift")
    if shift.status != ShiftStatus.OPEN:
        raise ServiceError(_("Shift #%(shift)s is closed: open a new shift to sell.") % {"shift": shift.pk},
                           field="shift",
                           code="shift_closed")
    if shift.cashier_id != cashier.pk:
        raise ServiceError(_("Shift #%(shift)s belongs to another cashier.") % {"shift": shift.pk}, field="shift",
                           code="not_your_shift")
    return shift


def _open_shift_locked(cashier_ids):
    """The open shift of the cashier (a list of one id), locked."""
    return Shift.objects.select_for_update().filter(cashier_id__in=cashier_ids, status=ShiftStatus.OPEN).order_by("pk")[:1]


@dataclass
class MethodTotal:
    """One payment method's money in a shift. expected = opening + tendered - change - refunds + cash in -
    cash out (cash in / out: the drawer's paid in / paid out, cash only)."""

    method: str
    label: str
    opening: Decimal = ZERO
    payments: Decimal = ZERO
    count: int = 0
    tendered: Decimal = ZERO
    change: Decimal = ZERO
    refunds: Decimal = ZERO
    cash_in: Decimal = ZERO
    cash_out: Decimal = ZERO
    expected: Decimal = ZERO
    counted: Decimal | None = None
    difference: Decimal | None = None


@dataclass
class VatTotal:
    """One VAT rate of a shift: sales (total, tax), returns taken in the shift (returned_total,
    returned_tax) and what is left (net_total, net_tax): the VAT to file."""

    rate: Decimal
    total: Decimal
    tax: Decimal
    returned_total: Decimal = ZERO
    returned_tax: Decimal = ZERO

    @property
    def net(self):
        """Sales net of VAT at this rate (before returns)."""
        return self.total - self.tax

    @property
    def net_total(self):
        return self.total - self.returned_total

    @property
    def net_tax(self):
        return self.tax - self.returned_tax


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
    returns_tax: Decimal = ZERO
    rounding_total: Decimal = ZERO
    generated_at: object = field(default_factory=timezone.now)

    @property
    def net_sales(self):
        return self.sales_total - self.returns_total

    @property
    def net_tax(self):
        """VAT on sales minus VAT on returns: the VAT of the shift to file."""
        return self.tax_total - self.returns_tax

    @property
    def cash_sales(self):
        return self.cash.payments

    @property
    def cash_refunds(self):
        return self.cash.refunds

    @property
    def change_total(self):
        return self.cash.change

    @property
    def cash_in(self):
        return self.cash.cash_in

    @property
    def cash_out(self):
        return self.cash.cash_out

    @property
    def cash(self) -> MethodTotal:
        return next(m for m in self.methods if m.method == "cash")




def shift_report(shift, counted=None) -> ShiftReport:
    """The figures of a shift, from the sales and payments themselves: sales by status, VAT by rate,
    and per payment method opening, payments, tendered, change, refunds paid out, cash in / out of the
    drawer, expected in the drawer, counted and difference. `counted` ({method: amount}) fills counted/difference for an open
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
    # Refunds paid out in this shift: cash given from its drawer (whatever the payment's method), and the
    # rest by the payment's own method, counted where the return (else the sale) was taken.
    refunds = (Refund.objects.filter(status="completed")
               .filter(Q(drawer_shift=shift) | Q(drawer_shift__isnull=True) & (
                   Q(sale_return__shift=shift) | Q(sale_return__isnull=True, payment__sale__shift=shift)))
               .annotate(paid_by=Refund.paid_by_expression())
               .values("paid_by").annotate(amount=Sum("amount")))
    for row in refunds:
        methods.setdefault(row["paid_by"], MethodTotal(row["paid_by"], row["paid_by"]))
        methods[row["paid_by"]].refunds = to_money(row["amount"])
    for row in shift.cash_movements.values("kind").annotate(amount=Sum("amount")):
        setattr(methods["cash"], f"cash_{row['kind']}", to_money(row["amount"]))
    for total in methods.values():
        total.expected = (total.opening + total.tendered - total.change - total.refunds + total.cash_in
                          - total.cash_out)
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
        n=Count("id"), total=Sum("total"), discount=Sum("discount"), tax=Sum("tax"), rounding=Sum("rounding"))}
    sold = [by_status[s] for s in SOLD_STATUSES if s in by_status]
    report.sales_count = sum(row["n"] for row in sold)
    report.sales_total = to_money(sum((row["total"] for row in sold), ZERO))
    report.discount_total = to_money(sum((row["discount"] for row in sold), ZERO))
    report.tax_total = to_money(sum((row["tax"] for row in sold), ZERO))
    report.rounding_total = to_money(sum((row["rounding"] for row in sold), ZERO))
    report.pending_count = by_status.get(SaleStatus.PENDING_PAYMENT, {}).get("n", 0)
    report.cancelled_count = by_status.get(SaleStatus.CANCELLED, {}).get("n", 0)
    rates = (SaleItem.objects.filter(sale__shift=shift, sale__status__in=SOLD_STATUSES).values("tax_rate")
             .annotate(total=Sum("total"), tax=Sum("tax")).order_by("-tax_rate"))
    vat = {row["tax_rate"]: VatTotal(row["tax_rate"], to_money(row["total"]), to_money(row["tax"])) for row in rates}
    returned = (SaleReturnLine.objects.filter(sale_return__shift=shift).values("sale_item__tax_rate")
                .annotate(total=Sum("amount"), tax=Sum("tax")))
    for row in returned:
        rate = row["sale_item__tax_rate"]
        into = vat.setdefault(rate, VatTotal(rate, ZERO, ZERO))
        into.returned_total, into.returned_tax = to_money(row["total"]), to_money(row["tax"])
    report.vat = sorted(vat.values(), key=lambda v: -v.rate)
    returns = shift.returns.aggregate(n=Count("id"), total=Sum("amount"), tax=Sum("tax"))
    report.returns_count, report.returns_total = returns["n"], to_money(returns["total"] or ZERO)
    report.returns_tax = to_money(returns["tax"] or ZERO)


@transaction.atomic
def close_shift(shift, counted_cash, user, counted=None, note="") -> ShiftReport:
    """Close a shift with the cash counted in the drawer (and, optionally, other methods' counts:
    {method: amount}; a method not counted is taken as expected). Stores one ShiftTotal per method
    and the cash variance, and answers the Z report. Refused while a sale of the shift waits for
    payment (take the payment or cancel the sale first)."""
    shift = Shift.objects.select_for_update().get(pk=shift.pk)
    if shift.status != ShiftStatus.OPEN:
        raise ServiceError(_("Shift #%(shift)s is already closed.") % {"shift": shift.pk}, field="shift",
                           code="shift_closed")
    if user is not None and not may_act_for(user, shift.cashier_id):
        raise ServiceError(_("A cashier may close only their own shift."), field="shift", code="not_allowed")
    counts = {method: _amount(value, f"counted.{method}") for method, value in (counted or {}).items()}
    counts["cash"] = _amount(counted_cash, "counted_cash")
    waiting = list(shift.sales.filter(status=SaleStatus.PENDING_PAYMENT).values_list("receipt_number", flat=True))
    if waiting:
        raise ServiceError(_("Sales waiting for payment: %(sales)s. Take the payment or cancel them before "
                             "closing the shift.") % {"sales": ", ".join(waiting)}, field="shift", code="unpaid_sales")
    from pos.tills.services import refuse_while_unsynced

    refuse_while_unsynced(shift)
    report = shift_report(shift, counted=counts)
    unknown = set(counts) - {m.method for m in report.methods} - {m for m, _ in _method_choices()}
    if unknown:
        raise ServiceError(_("Unknown payment method: %(methods)s.") % {"methods": ", ".join(sorted(unknown))},
                           field="counted")
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
                note="", idempotency_key="", shift=None, receipt_prefix="", discount_percent=None,
                authorised_by=None):
    """Create and confirm a sale: its stock leaves now, it waits for payment (pending_payment).

    `discount` is the order discount in money, or `discount_percent` of what is left after the line
    discounts. The total carries the cash rounding line. `authorised_by`: a manager who allowed, with
    their PIN at this till, a discount beyond the cashier's cap (recorded as an Authorisation).

    With an idempotency key, a retry with the same body returns the first sale (created=False); the
    same key with another body is a ConflictError. A unique constraint enforces it under concurrency.
    Returns (sale, created).
    """
    sale, created, _ = create_cash_sale(
        cashier=cashier, items=items, discount=discount, customer_name=customer_name, customer_phone=customer_phone,
        note=note, idempotency_key=idempotency_key, shift=shift, receipt_prefix=receipt_prefix,
        discount_percent=discount_percent, authorised_by=authorised_by)
    return sale, created


def create_cash_sale(*, cashier, items: list[LineRequest], cash=None, discount=ZERO, customer_name="",
                     customer_phone="", note="", idempotency_key="", shift=None, receipt_prefix="",
                     discount_percent=None, authorised_by=None):
    """create_sale, and with `cash` (a Tender) its cash taken in the same transaction: the sale is
    written paid with its completed cash payment (the till's checkout, the fewest round trips), or
    written waiting for payment when the cash is refused (not enough given, ...).

    Returns (sale, created, TenderResult or None): None when the key replays an earlier sale (its
    tender is then replayed by its own key, pos.sales.paying.checkout). The sale comes back with its
    lines, payments and cashier loaded (the API answers from them without reading them again)."""
    request_hash = fingerprint({
        "cashier": cashier.pk,
        "items": [(i.product, i.barcode, str(to_quantity(i.quantity)), str(to_money(i.discount)),
                   None if i.discount_percent in (None, "") else str(Decimal(str(i.discount_percent))))
                  for i in items],
        "discount": str(to_money(discount)), "customer_phone": customer_phone, "customer_name": customer_name,
        "discount_percent": None if discount_percent in (None, "") else str(Decimal(str(discount_percent))),
    })
    made = {}

    def create():
        sale, made["result"] = _create_sale(
            cashier, items, discount, customer_name, customer_phone, note, idempotency_key or None, request_hash,
            shift, receipt_prefix, discount_percent, authorised_by, cash)
        return sale

    with prepared.statements():  # the same statements on every sale: parsed and planned once
        sale, created = create_once(
            Sale, idempotency_key, request_hash, create, what="sale", insert_first=True,
            owner=("cashier_id", cashier.pk, ANOTHER_CASHIERS_KEY), conflict=_other_cart)
    return sale, created, made.get("result") if created else None


ANOTHER_CASHIERS_KEY = "This Idempotency-Key belongs to another cashier's sale."


def _other_cart(sale):
    return (f"This Idempotency-Key already made sale {sale.receipt_number} with another cart: resume that sale or "
            "void it.")


def _create_sale(cashier, items, discount, customer_name, customer_phone, note, key, request_hash, shift,
                 receipt_prefix="", discount_percent=None, authorised_by=None, cash=None):
    """(sale, TenderResult of `cash` or None). Locks in the order every sale takes them: the shift, the
    till's receipt series, then the products by primary key."""
    shift = _selling_shift(cashier, shift)
    receipt_number = next_receipt_number(receipt_prefix)
    cart = price_cart(items, discount, cashier, order_discount_percent=discount_percent, authorised_by=authorised_by,
                      lock=True)
    sale, result = write_paid_sale(
        cashier=cashier, shift=shift, lines=cart.lines, discount=cart.order_discount, rounding=cart.rounding,
        receipt_number=receipt_number, customer_name=customer_name, customer_phone=customer_phone, note=note, key=key,
        fingerprint=request_hash, cash=cash, tender_key=tender_key(key, 1), locked=True)
    authorisations = []
    if discount_cap_applies(cashier) and authorised_by is not None:
        try:
            check_discount_cap(cart.lines, cashier)
        except ServiceError:
            authorisations.append(Authorisation.objects.create(
                action=OverrideAction.DISCOUNT, sale=sale, authorised_by=authorised_by, requested_by=cashier,
                detail=f"Discount {cart.discount} of {cart.subtotal}"))
    remember(sale, authorisations=authorisations)
    return sale, result


def write_sale(*, cashier, shift, lines, discount, receipt_number, customer_name="", customer_phone="", note="",
               key=None, fingerprint="", allow_negative=None, rounding=None, locked=False, cash=None,
               tender_key="") -> Sale:
    """Write a confirmed sale (pending_payment) with its priced lines and post its stock: see
    write_paid_sale (without `cash`, the sale waits for payment)."""
    return write_paid_sale(cashier=cashier, shift=shift, lines=lines, discount=discount, receipt_number=receipt_number,
                           customer_name=customer_name, customer_phone=customer_phone, note=note, key=key,
                           fingerprint=fingerprint, allow_negative=allow_negative, rounding=rounding, locked=locked,
                           cash=cash, tender_key=tender_key)[0]


def write_paid_sale(*, cashier, shift, lines, discount, receipt_number, customer_name="", customer_phone="", note="",
                    key=None, fingerprint="", allow_negative=None, rounding=None, locked=False, cash=None,
                    tender_key=""):
    """Write a confirmed sale (pending_payment) with its priced lines and post its stock, in the caller's
    transaction. `allow_negative` lets stock go below zero (a sale made offline already happened).
    `rounding`: the cash rounding line (default: computed from the lines by round_cash). `locked`: the
    lines' products are the rows the caller locked (price_cart(lock=True)).

    `cash` (a Tender): the cash is taken now, as pos.payments takes it (cash_payment): the sale is written
    paid with its payment (idempotency key `tender_key`), or waiting for payment when the cash is refused.
    Returns (sale, TenderResult of `cash` or None). The sale comes back with its lines, payments, returns
    and cashier loaded."""
    from pos.payments import services as payments

    lines_total = sum((line.total for line in lines), ZERO)
    if rounding is None:
        rounding = round_cash(lines_total) - lines_total
    sale = Sale(
        receipt_number=receipt_number, status=SaleStatus.PENDING_PAYMENT, cashier=cashier, shift=shift,
        customer_name=customer_name, customer_phone=customer_phone, note=note, currency=settings.CURRENCY,
        subtotal=sum((line.gross for line in lines), ZERO), order_discount=to_money(discount),
        discount=sum((line.discount + line.order_discount for line in lines), ZERO),
        tax=sum((line.tax for line in lines), ZERO), rounding=rounding, total=lines_total + rounding,
        idempotency_key=key, request_hash=fingerprint, confirmed_at=timezone.now(),
    )
    payment = result = None
    if cash is not None:
        amount = tender_amount(cash, sale.total)
        try:
            payment, request_hash = payments.cash_on_new_sale(sale, amount, cash.amount_tendered, user=cashier,
                                                              idempotency_key=tender_key)
        except ServiceError as error:  # the sale stays, waiting for payment (as a second request would leave it)
            result = TenderResult(error=error)
        else:
            result = TenderResult(payment=payment)
            _settled_fields(sale, payment.amount, payment.change_given)
    insert_created(sale)  # the checkout's rows: SQL built once (pos.core.prepared), with their history rows
    items = prepared.insert([
        SaleItem(sale=sale, product=line.product, name=line.product.name, sku=line.product.sku,
                 barcode=line.product.barcode or "", quantity=line.quantity, unit_price=line.unit_price,
                 unit_cost=line.product.cost_price, tax_rate=line.tax_rate, gross=line.gross,
                 discount=line.discount, order_discount=line.order_discount, tax=line.tax, total=line.total,
                 cost=line.cost)
        for line in lines
    ])
    post_movements([StockChange(line.product.pk, -line.quantity) for line in lines], kind=MovementKind.SALE,
                   user=cashier, reference=sale.receipt_number, allow_negative=allow_negative,
                   locked={line.product.pk: line.product for line in lines} if locked else None)
    if payment is not None:
        payment.request_hash = request_hash(sale.pk)
        insert_created(payment)
    if sale.status == SaleStatus.PAID:
        fiscal_hooks.sale_paid(sale)  # KRA eTIMS signs it after the commit, never on the till's time
        rollups.record_sale(sale, items)  # the reports' daily sums, in this transaction
    remember(sale, items=items, payments=[payment] if payment else [], returns=[])
    return sale, result


def remember(sale, **related):
    """Keep rows just written as the sale's prefetched relations (`sale.items.all()` reads no more; a
    filter still asks the database), as prefetch_related would have loaded them."""
    for name, rows in related.items():
        queryset = getattr(sale, name).all()
        queryset._result_cache, queryset._prefetch_done = list(rows), True
        sale._prefetched_objects_cache = {**getattr(sale, "_prefetched_objects_cache", {}), name: queryset}


def lock_sale(sale) -> Sale:
    return Sale.objects.select_for_update().get(pk=sale.pk)


@transaction.atomic
def cancel_sale(sale, *, user, reason=""):
    """Cancel an open or unpaid sale: its stock comes back. Refused while a payment on it is completed
    or still in progress (cancel or refund that payment first). A cashier cancels only their own sales."""
    sale = lock_sale(sale)
    if user is not None and not may_act_for(user, sale.cashier_id):
        raise ServiceError(_("A cashier may cancel only their own sales."), field="sale", code="not_allowed")
    if sale.status not in (SaleStatus.OPEN, SaleStatus.PENDING_PAYMENT):
        raise ServiceError(_("Sale %(number)s is %(status)s and cannot be cancelled; take a return instead.")
                           % {"number": sale.receipt_number, "status": sale.get_status_display().lower()},
                           field="status", code="not_cancellable")
    if sale.payments.filter(status__in=LIVE_PAYMENT_STATUSES).exists():
        raise ServiceError(_("This sale has a payment completed or in progress: cancel or refund it first."),
                           field="status", code="has_payments")
    _cancel(sale, user, reason)
    return sale


def _cancel(sale, user, reason):
    restore_stock(sale, user=user, kind=MovementKind.CANCEL)
    SALE_STATES.move(sale, SaleStatus.CANCELLED)
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
    fields = _settled_fields(sale, to_money(sums["paid"] or ZERO), to_money(sums["change"] or ZERO))
    if "paid_at" in fields:
        fiscal_hooks.sale_paid(sale)  # KRA eTIMS signs it after the commit, never on the till's time
    sale.save(update_fields=fields)
    if "paid_at" in fields:
        rollups.record_sale(sale)  # the reports' daily sums, in this transaction
    return sale


def _settled_fields(sale, paid, change) -> list[str]:
    """Set what the completed payments paid (and the change they gave); a sale waiting for payment that
    they cover becomes paid. Returns the fields changed (the caller saves, then signs and rolls up)."""
    sale.paid_amount = paid
    sale.change_due = change
    fields = ["paid_amount", "change_due"]
    if sale.status == SaleStatus.PENDING_PAYMENT and paid >= sale.total:
        SALE_STATES.move(sale, SaleStatus.PAID)
        sale.paid_at = timezone.now()
        fields += ["status", "paid_at"]
    return fields


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
            raise ServiceError(_("Line %(n)s: enter a quantity.") % {"n": item_id}, field="items",
                               code="bad_quantity") from None
        if quantity <= 0:
            raise ServiceError(_("Line %(n)s: the quantity to return must be greater than zero.") % {"n": item_id},
                               field="items",
                               code="bad_quantity")
        wanted[int(item_id)] = wanted.get(int(item_id), ZERO) + quantity
    if not wanted:
        raise ServiceError(_("Choose at least one line to return."), field="items", code="empty")
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
def return_items(sale, items, user, reason="", shift=None, authorised_by=None) -> SaleReturn:
    """Take back goods of a paid sale: `items` is [(sale_item_id, quantity)], each capped at the quantity
    sold minus already returned. Stock comes back (kind "return"); a SaleReturn records the refund owed
    (settled by pos.payments); the sale's returned_amount grows and it becomes partially_returned, or
    returned once every unit is back. `shift` is the till paying the refund out (default: the user's open
    shift, else the sale's shift if still open)."""
    if not can_take_returns(user) and not can_take_returns(authorised_by):
        raise NotAllowed("Only a manager may take returns: ask a manager to type their PIN.", field="sale",
                         code="not_allowed")
    sale = lock_sale(sale)
    if sale.status not in RETURNABLE:
        raise ServiceError(_("Sale %(number)s is %(status)s: only a paid sale takes returns.")
                           % {"number": sale.receipt_number, "status": sale.get_status_display().lower()},
                           field="status", code="not_returnable")
    wanted = _wanted_returns(items)
    sold = {item.pk: item for item in sale.items.select_related("product")}
    sale_return = SaleReturn(sale=sale, amount=ZERO, reason=(reason or "")[:200], created_by=user,
                             shift=shift or _refund_shift(sale, user))
    lines = []
    for item_id, quantity in wanted.items():
        item = sold.get(item_id)
        if item is None:
            raise ServiceError(_("Sale %(number)s has no line %(n)s.") % {"number": sale.receipt_number, "n": item_id},
                               field="items",
                               code="unknown_line")
        left = item.quantity - item.returned_quantity
        if quantity > left:
            raise ServiceError(_("%(name)s: at most %(left)s can be returned (%(sold)s sold, %(returned)s returned "
                                 "already).") % {"name": item.name, "left": f"{left.normalize():f}",
                                                 "sold": f"{item.quantity.normalize():f}",
                                                 "returned": f"{item.returned_quantity.normalize():f}"},
                               field="items",
                               code="return_exceeds_sold")
        if item.product.unit == Unit.PIECE and quantity != quantity.to_integral_value():
            raise ServiceError(_("%(name)s is returned in whole pieces.") % {"name": item.name}, field="items",
                               code="bad_quantity")
        lines.append(_return_line(sale_return, item, quantity))
        item.returned_quantity += quantity
    everything_back = all(item.returned_quantity >= item.quantity for item in sold.values())
    lines_amount = sum((line.amount for line in lines), ZERO)
    left = sale.total - sale.returned_amount
    # The refund is in whole shillings like the sale; the last return makes the returns add up to the
    # sale's total exactly (its rounding line included).
    sale_return.amount = left if everything_back else min(round_cash(lines_amount), left)
    sale_return.rounding = sale_return.amount - lines_amount
    sale_return.tax = sum((line.tax for line in lines), ZERO)
    sale_return.save()
    fiscal_hooks.return_taken(sale_return)  # its credit note is signed after the commit
    SaleReturnLine.objects.bulk_create(lines)
    SaleItem.objects.bulk_update([line.sale_item for line in lines], ["returned_quantity"])
    post_movements([StockChange(line.sale_item.product_id, line.quantity) for line in lines],
                   kind=MovementKind.RETURN, user=user, reference=sale.receipt_number, note=sale_return.reason)
    if authorised_by is not None and not can_take_returns(user):
        Authorisation.objects.create(action=OverrideAction.RETURN, sale=sale, sale_return=sale_return,
                                     authorised_by=authorised_by, requested_by=user,
                                     detail=f"Return of {sale_return.amount}")
    SALE_STATES.move(sale, SaleStatus.RETURNED if everything_back else SaleStatus.PARTIALLY_RETURNED)
    sale.returned_amount += sale_return.amount
    sale.save(update_fields=["status", "returned_amount"])
    rollups.record_return(sale_return)  # the reports' daily sums, in this transaction
    return sale_return


def _refund_shift(sale, user):
    own = get_open_shift(user)
    if own:
        return own
    if sale.shift_id and sale.shift.status == ShiftStatus.OPEN:
        return sale.shift
    return None


# The till's money operations (checkout in one call, one more tender, refunds now or owed, void of a
# paid sale): pos.sales.paying, exported here so `services` stays the one import point.
from pos.sales.cash import record_cash_movement  # noqa: E402,F401
from pos.sales.paying import (  # noqa: E402,F401
    REFUND_CHOICES,
    Tender,
    TenderResult,
    approve_return_refunds,
    balance_left,
    cash_part,
    checkout,
    owed_on,
    refund_return,
    refunds_owed,
    refunds_waiting,
    take_payment,
    tender_amount,
    tender_key,
    void_paid_sale,
)
