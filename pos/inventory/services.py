"""Stock operations: the ONLY way stock changes.

Every operation locks the product rows in primary-key order (so two tills selling the same items in
opposite order never deadlock), appends StockMovement rows and moves Product.stock_quantity by the
same amount with F() expressions, all in one transaction. Invariant: stock_quantity == sum(movements).
"""

from collections import defaultdict
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from pos.catalog import lookup
from pos.catalog.models import Category, Product, Unit, low_stock_q
from pos.core import prepared
from pos.core.errors import InsufficientStock, ServiceError
from pos.core.money import to_money, to_quantity
from pos.core.permissions import PERMISSION_BACKEND
from pos.inventory.models import (
    OPEN_ALERT_STATUSES,
    AlertStatus,
    CountStatus,
    GoodsReceipt,
    GoodsReceiptLine,
    MovementKind,
    ReceiptStatus,
    StockAlert,
    StockCount,
    StockCountLine,
    StockMovement,
    Supplier,
)


@dataclass(frozen=True)
class StockChange:
    """One wanted change: `quantity` is signed (negative takes stock out)."""

    product_id: int
    quantity: Decimal
    unit_cost: Decimal | None = None


def lock_products(product_ids) -> dict[int, Product]:
    """Lock the products' rows in primary-key order and return them by id (call inside a transaction)."""
    ids = sorted(set(product_ids))
    return {p.pk: p for p in Product.objects.filter(pk__in=ids).order_by("pk").select_for_update()}


def _merge(changes):
    """{product id: total signed quantity} without zeros, and {product id: unit cost} weighted by
    quantity where costs were given (two receipts of one product at 10 and 12 give 11 for equal qty)."""
    quantities, values, costed = defaultdict(Decimal), defaultdict(Decimal), defaultdict(Decimal)
    for change in changes:
        quantity = to_quantity(change.quantity)
        quantities[change.product_id] += quantity
        if change.unit_cost is not None:
            if Decimal(change.unit_cost) < 0:
                raise ServiceError("A unit cost cannot be negative.", field="unit_cost")
            values[change.product_id] += quantity * Decimal(change.unit_cost)
            costed[change.product_id] += quantity
    costs = {pid: values[pid] / costed[pid] for pid in costed if costed[pid]}
    return {pid: qty for pid, qty in quantities.items() if qty != 0}, costs


def average_cost(stock, cost, quantity, unit_cost) -> Decimal:
    """Weighted average cost after receiving `quantity` at `unit_cost` on top of `stock` at `cost`.
    Stock at or below zero has no value to average with: the new cost is the received cost."""
    stock = max(Decimal(stock), Decimal(0))
    return to_money((stock * cost + quantity * unit_cost) / (stock + quantity))


def post_movements(changes, *, kind, user=None, reference="", note="", allow_negative=None, locked=None):
    """Apply stock changes as ledger rows; returns the StockMovement rows written.

    Changes to the same product are merged into one movement. Refuses (InsufficientStock, nothing
    written) when stock would go below zero, unless ALLOW_NEGATIVE_STOCK (or `allow_negative`).
    A purchase that adds stock at a given unit cost moves Product.cost_price to the weighted average.
    Query count does not depend on the number of products. `locked` ({id: product}): the caller
    already holds these rows locked (lock_products' order) in its transaction, which then takes the
    refusal too (a sale's checkout: one read of its products).
    """
    if kind not in MovementKind.values:
        raise ServiceError(f"Unknown movement kind '{kind}'.", field="kind")
    merged, costs = _merge(changes)
    if not merged:
        return []
    if allow_negative is None:
        allow_negative = settings.ALLOW_NEGATIVE_STOCK
    with transaction.atomic() if locked is None else nullcontext():
        products = lock_products(merged) if locked is None else {pid: locked[pid] for pid in merged if pid in locked}
        missing = set(merged) - set(products)
        if missing:
            raise ServiceError(f"Unknown product id(s): {sorted(missing)}.", field="product", code="unknown_product")
        movements = _write(products, merged, costs, kind, user, reference, note, allow_negative)
        # Stock that went down can only raise alerts: a sale of well-stocked goods touches no alert.
        sync_alerts([m.product for m in movements if m.quantity < 0], can_resolve=False)
        sync_alerts([m.product for m in movements if m.quantity > 0])
    return movements


def _write(products, merged, costs, kind, user, reference, note, allow_negative):
    movements, repriced = [], []
    for pid in sorted(merged):
        product, quantity = products[pid], merged[pid]
        after = product.stock_quantity + quantity
        if quantity < 0 and after < 0 and not allow_negative:
            raise InsufficientStock(product, -quantity, product.stock_quantity)
        unit_cost = costs.get(pid, product.cost_price)
        if kind == MovementKind.PURCHASE and quantity > 0 and pid in costs:
            new_cost = average_cost(product.stock_quantity, product.cost_price, quantity, unit_cost)
            if new_cost != product.cost_price:
                product.cost_price = new_cost
                repriced.append(product)
        movements.append(StockMovement(
            product=product, quantity=quantity, kind=kind, reference=reference, note=note, user=user,
            unit_cost=to_money(unit_cost), balance_after=after,
        ))
        product.stock_quantity = F("stock_quantity") + quantity
    if repriced or connection.vendor != "postgresql":
        Product.objects.bulk_update(products.values(),
                                    ["stock_quantity", "cost_price"] if repriced else ["stock_quantity"])
    else:
        _add_stock(merged)
    lookup.products_changed(products)  # the scanner's cached answers show stock
    prepared.insert(movements)
    for movement in movements:
        movement.product.stock_quantity = movement.balance_after
    if repriced:
        Product.history.bulk_history_create(repriced, update=True, default_user=user,
                                            default_change_reason=f"Average cost after {reference or kind}")
    return movements


def _add_stock(merged):
    """PostgreSQL: add each {product id: signed quantity} to the products' stock in one statement written
    once (the UPDATE bulk_update would build: building it through the ORM costs more CPU than running it)."""
    ids = sorted(merged)
    with connection.cursor() as cursor:
        cursor.execute(_ADD_STOCK, [ids, [merged[pid] for pid in ids]])


_ADD_STOCK = (
    f'UPDATE {Product._meta.db_table} AS p SET stock_quantity = p.stock_quantity + c.quantity '
    f'FROM unnest(%s::bigint[], %s::numeric[]) AS c(id, quantity) WHERE p.{Product._meta.pk.column} = c.id'
)


def adjust_stock(product, quantity, *, user, reason, kind=MovementKind.ADJUSTMENT, unit_cost=None):
    """A manual change of one product's stock (positive adds). `reason` is required."""
    if not (reason or "").strip():
        raise ServiceError("Give a reason for the stock change.", field="reason", code="reason_required")
    quantity = to_quantity(quantity)
    if quantity == 0:
        raise ServiceError("Quantity must not be zero.", field="quantity")
    pk = product.pk if isinstance(product, Product) else product
    return post_movements([StockChange(pk, quantity, unit_cost)], kind=kind, user=user, note=reason.strip())[0]


# Kinds a person may post by hand (API / admin); sales, returns and counts come from their own operations.
MANUAL_KINDS = (MovementKind.ADJUSTMENT, MovementKind.DAMAGE, MovementKind.PURCHASE, MovementKind.TRANSFER)


def record_manual_movement(product, quantity, *, kind, user, reason, unit_cost=None):
    """A stock change entered by a manager: adjustment or transfer (either sign), damage (removes
    stock) or purchase (adds stock, optionally at a unit cost that updates the average cost)."""
    if kind not in MANUAL_KINDS:
        allowed = ", ".join(MANUAL_KINDS)
        raise ServiceError(f"Kind '{kind}' cannot be posted by hand; use one of: {allowed}.", field="kind",
                           code="kind_not_allowed")
    quantity = to_quantity(quantity)
    if kind == MovementKind.DAMAGE and quantity > 0:
        raise ServiceError("Damage removes stock: give a negative quantity.", field="quantity")
    if kind == MovementKind.PURCHASE and quantity < 0:
        raise ServiceError("A purchase adds stock: give a positive quantity.", field="quantity")
    if unit_cost is not None and kind != MovementKind.PURCHASE:
        raise ServiceError("A unit cost is only taken with a purchase.", field="unit_cost")
    return adjust_stock(product, quantity, user=user, reason=reason, kind=kind, unit_cost=unit_cost)


def ledger_mismatches():
    """Products whose cached stock differs from the sum of their movements: ONE aggregate query."""
    zero = Value(Decimal(0), output_field=DecimalField(max_digits=14, decimal_places=3))
    return (Product.objects.annotate(ledger=Coalesce(Sum("movements__quantity"), zero))
            .filter(~Q(stock_quantity=F("ledger"))).order_by("pk"))


# --- Low-stock alerts -------------------------------------------------------------------------


def sync_alerts(products, *, can_resolve=True):
    """Raise one active alert for each product at or below its reorder level; resolve the open alert
    of each product back above it (unless `can_resolve` is off). Call with the products' rows locked
    and their current stock."""
    low = {p.pk: p for p in products if p.low_on_stock}
    ok = [p.pk for p in products if p.pk not in low]
    if ok and can_resolve:
        _open_alerts().filter(product_id__in=ok).update(status=AlertStatus.RESOLVED, resolved_at=timezone.now())
    if low:
        already = set(_open_alerts().filter(product_id__in=low).values_list("product_id", flat=True))
        StockAlert.objects.bulk_create([
            StockAlert(product=p, quantity=p.stock_quantity, reorder_level=p.reorder_level)
            for pid, p in low.items() if pid not in already
        ], ignore_conflicts=True)


def _open_alerts():
    return StockAlert.objects.filter(status__in=OPEN_ALERT_STATUSES)


def scan_low_stock() -> dict:
    """Bring the alerts in line with every product's stock in three queries, whatever the catalogue
    size: catches stock changed outside these services (imports, reorder levels edited)."""
    with transaction.atomic():
        resolved = _open_alerts().exclude(low_stock_q("product__")).update(status=AlertStatus.RESOLVED,
                                                                          resolved_at=timezone.now())
        low = Product.objects.low_stock().exclude(alerts__status__in=OPEN_ALERT_STATUSES)
        raised = StockAlert.objects.bulk_create([
            StockAlert(product_id=pk, quantity=qty, reorder_level=level)
            for pk, qty, level in low.values_list("pk", "stock_quantity", "reorder_level")
        ], ignore_conflicts=True)
    return {"raised": len(raised), "resolved": resolved}


@transaction.atomic
def resolve_alert(alert, *, user):
    """A manager closes an alert. If the product is still low it is `dismissed`: no new alert is raised
    for it until its stock has gone back above the reorder level."""
    alert = StockAlert.objects.select_for_update().select_related("product").get(pk=alert.pk)
    if alert.status != AlertStatus.ACTIVE:
        raise ServiceError("This alert is already resolved.", field="status", code="already_resolved")
    product = alert.product
    still_low = product.low_on_stock
    alert.status = AlertStatus.DISMISSED if still_low else AlertStatus.RESOLVED
    alert.resolved_at, alert.resolved_by = timezone.now(), user
    alert.save(update_fields=["status", "resolved_at", "resolved_by"])
    return alert


def alert_recipients():
    """E-mail addresses of the active users who look after alerts (inventory.change_stockalert: managers,
    admins) and have one."""
    from pos.accounts.models import User

    users = User.objects.with_perm("inventory.change_stockalert", backend=PERMISSION_BACKEND).filter(is_active=True)
    return sorted(set(users.exclude(email="").values_list("email", flat=True)))


def notify_new_alerts() -> int:
    """E-mail managers one digest of the active alerts not yet notified; returns how many it listed.

    The alerts are locked (others skip them) and marked notified in the transaction that sends the
    mail, so two workers never send the same alert and a failed send is retried on the next run.
    Nothing is sent (nor marked) while no manager has an e-mail address.
    """
    from django.core.mail import send_mail

    recipients = alert_recipients()
    if not recipients:
        return 0
    with transaction.atomic():
        alerts = list(
            StockAlert.objects.filter(status=AlertStatus.ACTIVE, notified_at__isnull=True)
            .select_for_update(skip_locked=True, of=("self",)).select_related("product").order_by("product__name")
        )
        if not alerts:
            return 0
        send_mail(_digest_subject(alerts), _digest_body(alerts), settings.DEFAULT_FROM_EMAIL, recipients)
        StockAlert.objects.filter(pk__in=[a.pk for a in alerts]).update(notified_at=timezone.now())
    return len(alerts)


def _digest_subject(alerts):
    noun = "product is" if len(alerts) == 1 else "products are"
    return f"[{settings.SHOP_NAME}] Low stock: {len(alerts)} {noun} at or below the reorder level"


def _digest_body(alerts):
    from django.urls import reverse

    lines = [f"These products reached their reorder level at {settings.SHOP_NAME}:", ""]
    for alert in alerts:
        p = alert.product
        lines.append(f"- {p.name} (SKU {p.sku}): {p.stock_quantity} in stock, reorder level {p.reorder_level}")
    link = settings.PUBLIC_BASE_URL.rstrip("/") + reverse("admin:inventory_stockalert_changelist")
    lines += ["", f"Open alerts: {link}?status__exact=active"]
    return "\n".join(lines)


# --- Suppliers and goods received -----------------------------------------------------------------


SUPPLIER_FIELDS = ("contact_name", "phone", "email", "kra_pin", "address", "is_active")


def create_supplier(*, name, **fields):
    """A new supplier; names are unique whatever their case."""
    name = (name or "").strip()
    if not name:
        raise ServiceError("Give the supplier's name.", field="name", code="required")
    if Supplier.objects.filter(name__iexact=name).exists():
        raise ServiceError("A supplier with this name already exists.", field="name", code="duplicate")
    return Supplier.objects.create(name=name, **{k: v for k, v in fields.items() if k in SUPPLIER_FIELDS})


@dataclass(frozen=True)
class ReceiptLineRequest:
    product: int
    quantity: Decimal
    unit_cost: Decimal


def _whole_pieces(product, quantity, label):
    if product.unit == Unit.PIECE and quantity != quantity.to_integral_value():
        raise ServiceError(f"{label}: {product.name} is counted in whole pieces.", field="lines", code="bad_quantity")


def check_receipt_line(product, quantity, unit_cost, label="Line"):
    """The rules of one goods-received line (the API, the admin's lines and posting all ask this):
    a positive quantity, whole pieces for goods sold by the piece, a cost not below zero."""
    quantity, unit_cost = to_quantity(quantity), to_money(unit_cost)
    if quantity <= 0:
        raise ServiceError(f"{label}: quantity must be greater than zero.", field="lines", code="bad_quantity")
    if unit_cost < 0:
        raise ServiceError(f"{label}: unit cost cannot be negative.", field="lines", code="bad_cost")
    _whole_pieces(product, quantity, label)
    return quantity, unit_cost


@transaction.atomic
def create_receipt(*, supplier, lines, user, supplier_reference="", note=""):
    """A draft goods-received note with its lines; nothing moves until it is posted."""
    if not isinstance(supplier, Supplier):
        supplier = Supplier.objects.filter(pk=supplier).first()
    if supplier is None or not supplier.is_active:
        raise ServiceError("Choose an active supplier.", field="supplier", code="unknown_supplier")
    if not lines:
        raise ServiceError("A goods-received note needs at least one line.", field="lines", code="empty")
    products = Product.objects.in_bulk({line.product for line in lines})
    rows = []
    for n, line in enumerate(lines, start=1):
        product = products.get(line.product)
        if product is None:
            raise ServiceError(f"Line {n}: unknown product {line.product}.", field="lines", code="unknown_product")
        quantity, unit_cost = check_receipt_line(product, line.quantity, line.unit_cost, f"Line {n}")
        rows.append(GoodsReceiptLine(product=product, quantity=quantity, unit_cost=unit_cost))
    receipt = GoodsReceipt.objects.create(supplier=supplier, supplier_reference=supplier_reference, note=note,
                                         created_by=user)
    for row in rows:
        row.receipt = receipt
    GoodsReceiptLine.objects.bulk_create(rows)
    return receipt


def ensure_receipt_draft(receipt):
    """Refuse any change to a posted note (its stock has moved; post a correcting adjustment instead)."""
    if receipt.status != ReceiptStatus.DRAFT:
        raise ServiceError(f"{receipt.reference} is posted and can no longer be changed.", field="status",
                           code="already_posted")


@transaction.atomic
def save_receipt_draft(receipt, *, user):
    """Create a draft note, or save changes to one. The stored note is locked and checked, so a note
    posted meanwhile (by another manager) is never changed."""
    if receipt.pk:
        ensure_receipt_draft(GoodsReceipt.objects.select_for_update().get(pk=receipt.pk))
    else:
        receipt.created_by = user
    receipt.save()
    return receipt


@transaction.atomic
def post_receipt(receipt, *, user):
    """Post a draft note: one purchase movement per product (reference GRN-<id>) at the lines' cost,
    which moves each product's cost price to the weighted average. Posting twice is refused."""
    receipt = GoodsReceipt.objects.select_for_update().get(pk=receipt.pk)
    ensure_receipt_draft(receipt)
    lines = list(receipt.lines.select_related("product"))
    if not lines:
        raise ServiceError("Add at least one line before posting.", field="lines", code="empty")
    for n, line in enumerate(lines, start=1):  # lines saved before a rule existed, or around the form
        check_receipt_line(line.product, line.quantity, line.unit_cost, f"Line {n} ({line.product.name})")
    post_movements([StockChange(line.product_id, line.quantity, line.unit_cost) for line in lines],
                   kind=MovementKind.PURCHASE, user=user, reference=receipt.reference,
                   note=f"{receipt.supplier} {receipt.supplier_reference}".strip())
    receipt.status, receipt.posted_at, receipt.posted_by = ReceiptStatus.POSTED, timezone.now(), user
    receipt.save(update_fields=["status", "posted_at", "posted_by"])
    return receipt


# --- Stock counts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountEntry:
    """A counted quantity for a product given by id or by barcode."""

    counted: Decimal
    product: int | None = None
    barcode: str = ""


def _category_and_children(category):
    ids, level = {category.pk}, {category.pk}
    while level:
        level = set(Category.objects.filter(parent_id__in=level).values_list("pk", flat=True)) - ids
        ids |= level
    return ids


def count_scope(category=None):
    """The active products a new count would cover (all, or one category and its sub-categories).
    Refused when there are none, or when one is already in a count in progress."""
    products = Product.objects.active()
    if category is not None:
        products = products.filter(category_id__in=_category_and_children(category))
    busy = products.filter(pk__in=StockCountLine.objects.filter(count__status=CountStatus.IN_PROGRESS)
                           .values("product_id"))
    clash = busy.first()
    if clash:
        raise ServiceError(f"{clash.name} is already in a count in progress; complete or cancel it first.",
                           field="category", code="count_in_progress")
    if not products.exists():
        raise ServiceError("There are no active products to count here.", field="category", code="empty")
    return products


@transaction.atomic
def start_count(*, user, category=None, note="", blind=False):
    """Start a count: snapshot the expected quantity and unit cost of each product of count_scope().
    A blind count hides the expected quantities from the counters until it is completed."""
    snapshot = list(count_scope(category).values_list("pk", "stock_quantity", "cost_price"))
    count = StockCount.objects.create(category=category, note=note, started_by=user, blind=blind)
    StockCountLine.objects.bulk_create([
        StockCountLine(count=count, product_id=pk, expected_quantity=qty, unit_cost=cost)
        for pk, qty, cost in snapshot
    ])
    return count


def _ensure_in_progress(count):
    if count.status != CountStatus.IN_PROGRESS:
        raise ServiceError(f"Count #{count.pk} is {count.get_status_display().lower()} and can no longer change.",
                           field="status", code="count_closed")


def _lock_count(count):
    count = StockCount.objects.select_for_update().get(pk=count.pk)
    _ensure_in_progress(count)
    return count


def _matched_lines(count, entries):
    """Check every entry against the count's lines; returns {line id: line} with counted set (unsaved)."""
    if not entries:
        raise ServiceError("Give at least one counted quantity.", field="lines", code="empty")
    lines = {line.product_id: line for line in count.lines.select_related("product")}
    by_barcode = {line.product.barcode: line for line in lines.values() if line.product.barcode}
    changed = {}
    for n, entry in enumerate(entries, start=1):
        line = lines.get(entry.product) if entry.product else by_barcode.get(entry.barcode)
        if line is None:
            what = f"product {entry.product}" if entry.product else f"barcode {entry.barcode!r}"
            raise ServiceError(f"Line {n}: {what} is not part of this count.", field="lines", code="not_in_count")
        counted = to_quantity(entry.counted)
        if counted < 0:
            raise ServiceError(f"Line {n}: a counted quantity cannot be negative.", field="lines",
                               code="bad_quantity")
        _whole_pieces(line.product, counted, f"Line {n}")
        line.counted_quantity = counted
        changed[line.pk] = line
    return changed


def check_counts(count, entries):
    """Validate counted quantities without writing (the admin form shows the message)."""
    _ensure_in_progress(count)
    _matched_lines(count, list(entries))


@transaction.atomic
def record_counts(count, entries, *, user):
    """Set the counted quantities of a count in progress (bulk, by product id or barcode; a later
    entry for the same product wins). Every entry is checked before anything is written."""
    count = _lock_count(count)
    changed = _matched_lines(count, list(entries))
    StockCountLine.objects.bulk_update(changed.values(), ["counted_quantity"])
    return list(changed.values())


@transaction.atomic
def complete_count(count, *, user, allow_uncounted=True):
    """Post one `count` movement (reference COUNT-<id>) per line whose counted quantity differs from
    the snapshot, then lock the count. Returns the movements.

    The variance is counted minus the SNAPSHOT (expected) quantity, posted as a movement on top of
    the current stock: the shelf is counted as it was when the count started, so a sale or delivery
    recorded while the count was in progress stays in the stock (stock after = counted + what moved
    since the snapshot). Comparing with the stock at completion instead would erase those movements.
    Lines left uncounted change nothing. If a correction would take stock below zero (more sold since
    the snapshot than the count found), completion is refused like any other stock write.
    """
    count = _lock_count(count)
    every = list(count.lines.all())
    lines = [line for line in every if line.counted_quantity is not None]
    if not lines:
        raise ServiceError("Enter at least one counted quantity before completing.", field="lines", code="empty")
    if not allow_uncounted and len(lines) < len(every):
        raise ServiceError(f"{len(every) - len(lines)} of {len(every)} lines are not counted yet: confirm to "
                           "complete the count without them (their stock stays as it is).", field="lines",
                           code="uncounted_lines")
    changes = [StockChange(line.product_id, line.variance, line.unit_cost) for line in lines if line.variance]
    movements = post_movements(changes, kind=MovementKind.COUNT, user=user, reference=count.reference,
                               note=f"Stock count #{count.pk}")
    count.status, count.completed_at, count.completed_by = CountStatus.COMPLETED, timezone.now(), user
    count.save(update_fields=["status", "completed_at", "completed_by"])
    return movements


@transaction.atomic
def cancel_count(count, *, user):
    """Drop a count in progress: nothing is posted."""
    count = _lock_count(count)
    count.status, count.cancelled_at, count.cancelled_by = CountStatus.CANCELLED, timezone.now(), user
    count.save(update_fields=["status", "cancelled_at", "cancelled_by"])
    return count
