"""Stock operations: the ONLY way stock changes.

Every operation locks the product rows in primary-key order (so two tills selling the same items in
opposite order never deadlock), appends StockMovement rows and moves Product.stock_quantity by the
same amount with F() expressions, all in one transaction. Invariant: stock_quantity == sum(movements).
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from pos.catalog.models import Product
from pos.core.errors import InsufficientStock, ServiceError
from pos.core.money import to_quantity
from pos.inventory.models import AlertStatus, MovementKind, StockAlert, StockMovement


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


def post_movements(changes, *, kind, user=None, reference="", note="", allow_negative=None):
    """Apply stock changes as ledger rows; returns the StockMovement rows written.

    Changes to the same product are merged into one movement. Refuses (InsufficientStock, nothing
    written) when stock would go below zero, unless ALLOW_NEGATIVE_STOCK (or `allow_negative`).
    Query count does not depend on the number of products.
    """
    if kind not in MovementKind.values:
        raise ServiceError(f"Unknown movement kind '{kind}'.", field="kind")
    merged = defaultdict(Decimal)
    costs = {}
    for change in changes:
        quantity = to_quantity(change.quantity)
        merged[change.product_id] += quantity
        if change.unit_cost is not None:
            costs[change.product_id] = change.unit_cost
    merged = {pid: qty for pid, qty in merged.items() if qty != 0}
    if not merged:
        return []
    if allow_negative is None:
        allow_negative = settings.ALLOW_NEGATIVE_STOCK
    with transaction.atomic():
        products = lock_products(merged)
        missing = set(merged) - set(products)
        if missing:
            raise ServiceError(f"Unknown product id(s): {sorted(missing)}.", field="product", code="unknown_product")
        movements = []
        for pid in sorted(merged):
            product, quantity = products[pid], merged[pid]
            after = product.stock_quantity + quantity
            if quantity < 0 and after < 0 and not allow_negative:
                raise InsufficientStock(product, -quantity, product.stock_quantity)
            movements.append(StockMovement(
                product=product, quantity=quantity, kind=kind, reference=reference, note=note, user=user,
                unit_cost=costs.get(pid, product.cost_price), balance_after=after,
            ))
            product.stock_quantity = F("stock_quantity") + quantity
        Product.objects.bulk_update(products.values(), ["stock_quantity"])
        StockMovement.objects.bulk_create(movements)
        for movement in movements:
            movement.product.stock_quantity = movement.balance_after
        sync_alerts([m.product for m in movements])
    return movements


def adjust_stock(product, quantity, *, user, reason, kind=MovementKind.ADJUSTMENT, unit_cost=None):
    """A manual change of one product's stock (positive adds). `reason` is required."""
    if not (reason or "").strip():
        raise ServiceError("Give a reason for the stock change.", field="reason", code="reason_required")
    quantity = to_quantity(quantity)
    if quantity == 0:
        raise ServiceError("Quantity must not be zero.", field="quantity")
    pk = product.pk if isinstance(product, Product) else product
    return post_movements([StockChange(pk, quantity, unit_cost)], kind=kind, user=user, note=reason.strip())[0]


def sync_alerts(products):
    """Raise one active alert for each product at or below its reorder level; resolve the active alert
    of each product back above it. Call with the products' rows locked and their current stock."""
    low = {p.pk: p for p in products if p.stock_quantity <= p.reorder_level and p.is_active}
    ok = [p.pk for p in products if p.pk not in low]
    now = timezone.now()
    if ok:
        StockAlert.objects.filter(product_id__in=ok, status=AlertStatus.ACTIVE).update(
            status=AlertStatus.RESOLVED, resolved_at=now
        )
    if low:
        already = set(
            StockAlert.objects.filter(product_id__in=low, status=AlertStatus.ACTIVE).values_list("product_id", flat=True)
        )
        StockAlert.objects.bulk_create([
            StockAlert(product=p, quantity=p.stock_quantity, reorder_level=p.reorder_level)
            for pid, p in low.items() if pid not in already
        ])
