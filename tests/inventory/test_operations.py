from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from pos.core.errors import InsufficientStock, ServiceError
from pos.inventory.models import GoodsReceipt, StockCount, StockMovement, Supplier
from pos.inventory.services import (
    CountEntry,
    ReceiptLineRequest,
    adjust_stock,
    average_cost,
    cancel_count,
    complete_count,
    create_receipt,
    post_receipt,
    record_counts,
    record_manual_movement,
    start_count,
)
from pos.sales.models import Shift
from pos.sales.services import LineRequest, cancel_sale, create_sale
from tests.factories import CategoryFactory, ProductFactory

from .conftest import assert_ledger, ledger_sum


@pytest.fixture
def supplier(db):
    return Supplier.objects.create(name="Mumias Sugar Co.")


def receive(supplier, user, *lines):
    receipt = create_receipt(supplier=supplier, user=user,
                             lines=[ReceiptLineRequest(p.pk, Decimal(q), Decimal(c)) for p, q, c in lines])
    return post_receipt(receipt, user=user)


@pytest.mark.django_db
def test_ledger_holds_after_every_kind_of_operation(manager, cashier, stocked, supplier):
    sugar, milk = stocked("20"), stocked("5")
    Shift.objects.create(cashier=cashier, opening_float=Decimal("0"))
    sale, _ = create_sale(cashier=cashier, items=[LineRequest(Decimal("3"), product=sugar.pk),
                                                  LineRequest(Decimal("1"), product=milk.pk)])
    assert_ledger(sugar, milk)
    cancel_sale(sale, user=manager)
    assert_ledger(sugar, milk)
    record_manual_movement(sugar, Decimal("-2"), kind="damage", user=manager, reason="torn bags")
    record_manual_movement(milk, Decimal("4"), kind="transfer", user=manager, reason="from branch 2")
    assert_ledger(sugar, milk)
    receive(supplier, manager, (sugar, "10", "140.00"))
    assert_ledger(sugar, milk)
    count = start_count(user=manager)
    record_counts(count, [CountEntry(Decimal("27"), product=sugar.pk), CountEntry(Decimal("9"), barcode=milk.barcode)],
                  user=manager)
    complete_count(count, user=manager)
    assert_ledger(sugar, milk)
    assert (sugar.stock_quantity, milk.stock_quantity) == (Decimal("27"), Decimal("9"))
    assert set(StockMovement.objects.values_list("kind", flat=True)) == {
        "adjustment", "sale", "cancel", "damage", "transfer", "purchase", "count"}


@pytest.mark.django_db
def test_refused_negative_stock_writes_nothing(manager, stocked):
    p = stocked("2")
    with pytest.raises(InsufficientStock) as refused:
        record_manual_movement(p, Decimal("-3"), kind="damage", user=manager, reason="flood")
    assert "2.000 available" in refused.value.message
    assert_ledger(p)
    assert p.stock_quantity == 2 and StockMovement.objects.filter(product=p).count() == 1


@pytest.mark.django_db
def test_negative_stock_allowed_by_setting(manager, stocked, settings):
    settings.ALLOW_NEGATIVE_STOCK = True
    p = stocked("1")
    adjust_stock(p, Decimal("-3"), user=manager, reason="sold before delivery was booked")
    assert_ledger(p)
    assert p.stock_quantity == Decimal("-2")


@pytest.mark.django_db
def test_manual_movement_rules(manager, stocked):
    p = stocked("5")
    for kwargs, field in [
        ({"quantity": Decimal("1"), "kind": "sale"}, "kind"),
        ({"quantity": Decimal("1"), "kind": "count"}, "kind"),
        ({"quantity": Decimal("2"), "kind": "damage"}, "quantity"),
        ({"quantity": Decimal("-2"), "kind": "purchase"}, "quantity"),
        ({"quantity": Decimal("2"), "kind": "adjustment", "unit_cost": Decimal("5")}, "unit_cost"),
        ({"quantity": Decimal("0"), "kind": "adjustment"}, "quantity"),
    ]:
        quantity = kwargs.pop("quantity")
        with pytest.raises(ServiceError) as refused:
            record_manual_movement(p, quantity, user=manager, reason="x", **kwargs)
        assert refused.value.field == field
    with pytest.raises(ServiceError) as refused:
        record_manual_movement(p, Decimal("1"), kind="adjustment", user=manager, reason="  ")
    assert refused.value.field == "reason"
    assert StockMovement.objects.filter(product=p).count() == 1


# --- goods received -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_goods_received_updates_weighted_average_cost(manager, stocked, supplier):
    # 10 in stock at 100.00; receive 30 at 120.00 and 10 at 110.00 on one note:
    # (10*100 + 30*120 + 10*110) / 50 = (1000 + 3600 + 1100) / 50 = 5700 / 50 = 114.00
    p = stocked("10", cost_price=Decimal("100.00"))
    receipt = receive(supplier, manager, (p, "30", "120.00"), (p, "10", "110.00"))
    p.refresh_from_db()
    assert p.cost_price == Decimal("114.00") and p.stock_quantity == 50
    movement = StockMovement.objects.get(reference=receipt.reference)
    assert movement.kind == "purchase" and movement.quantity == 40 and movement.unit_cost == Decimal("117.50")
    # then 25 more at 99.99: (50*114 + 25*99.99) / 75 = (5700 + 2499.75) / 75 = 109.33
    receive(supplier, manager, (p, "25", "99.99"))
    p.refresh_from_db()
    assert p.cost_price == Decimal("109.33")
    assert p.history.first().cost_price == Decimal("109.33")  # the audit trail saw the change
    assert_ledger(p)


def test_average_cost_ignores_stock_at_or_below_zero():
    assert average_cost(Decimal("-4"), Decimal("80"), Decimal("10"), Decimal("95.50")) == Decimal("95.50")
    assert average_cost(Decimal("0"), Decimal("80"), Decimal("3"), Decimal("10")) == Decimal("10.00")
    assert average_cost(Decimal("3"), Decimal("10"), Decimal("1"), Decimal("10.01")) == Decimal("10.00")


@pytest.mark.django_db
def test_purchase_by_hand_with_a_cost_updates_the_average_too(manager, stocked):
    p = stocked("4", cost_price=Decimal("50.00"))
    record_manual_movement(p, Decimal("4"), kind="purchase", user=manager, reason="cash buy", unit_cost=Decimal("60"))
    p.refresh_from_db()
    assert p.cost_price == Decimal("55.00")


@pytest.mark.django_db
def test_posted_note_cannot_be_posted_again(manager, stocked, supplier):
    p = stocked("0")
    receipt = receive(supplier, manager, (p, "6", "10.00"))
    with pytest.raises(ServiceError) as refused:
        post_receipt(receipt, user=manager)
    assert refused.value.code == "already_posted"
    p.refresh_from_db()
    assert p.stock_quantity == 6 and StockMovement.objects.filter(product=p).count() == 1
    assert GoodsReceipt.objects.get().posted_by == manager


@pytest.mark.django_db
def test_receipt_input_is_checked_before_anything_is_written(manager, supplier):
    pcs = ProductFactory(unit="pcs")
    for lines, message in [
        ([], "at least one line"),
        ([ReceiptLineRequest(999999, Decimal("1"), Decimal("1"))], "unknown product"),
        ([ReceiptLineRequest(pcs.pk, Decimal("0"), Decimal("1"))], "greater than zero"),
        ([ReceiptLineRequest(pcs.pk, Decimal("1.5"), Decimal("1"))], "whole pieces"),
    ]:
        with pytest.raises(ServiceError, match=message):
            create_receipt(supplier=supplier, lines=lines, user=manager)
    supplier.is_active = False
    supplier.save()
    with pytest.raises(ServiceError, match="active supplier"):
        create_receipt(supplier=supplier, lines=[ReceiptLineRequest(pcs.pk, Decimal("1"), Decimal("1"))], user=manager)
    assert GoodsReceipt.objects.count() == 0


# --- stock counts -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_count_completion_posts_exactly_the_variances(manager, stocked):
    over, short = stocked("10"), stocked("10", cost_price=Decimal("45.50"))
    exact, uncounted = stocked("3"), stocked("7")
    count = start_count(user=manager, note="year end")
    record_counts(count, [CountEntry(Decimal("12"), product=over.pk), CountEntry(Decimal("7.000"), product=short.pk),
                          CountEntry(Decimal("3"), product=exact.pk)], user=manager)
    line = count.lines.get(product=short)
    assert line.variance == Decimal("-3") and line.variance_value == Decimal("-136.50")
    assert StockCount.objects.with_totals().get(pk=count.pk).variance_value == Decimal("-136.50") + 2 * Decimal("60")
    movements = complete_count(count, user=manager)
    assert sorted((m.product_id, m.quantity) for m in movements) == [(over.pk, Decimal("2")), (short.pk, Decimal("-3"))]
    assert all(m.kind == "count" and m.reference == f"COUNT-{count.pk}" for m in movements)
    assert StockMovement.objects.filter(kind="count").count() == 2
    for p, qty in [(over, 12), (short, 7), (exact, 3), (uncounted, 7)]:
        p.refresh_from_db()
        assert p.stock_quantity == qty
    count.refresh_from_db()
    assert count.status == "completed" and count.completed_by == manager
    with pytest.raises(ServiceError, match="completed"):
        record_counts(count, [CountEntry(Decimal("1"), product=over.pk)], user=manager)
    with pytest.raises(ServiceError):
        complete_count(count, user=manager)
    assert StockMovement.objects.filter(kind="count").count() == 2


@pytest.mark.django_db
def test_sale_during_a_count_is_kept(manager, cashier, stocked):
    """The variance is counted minus the snapshot: a sale rung up while counting stays in the stock."""
    p = stocked("10")
    count = start_count(user=manager)
    record_counts(count, [CountEntry(Decimal("9"), product=p.pk)], user=manager)  # one unit missing on the shelf
    Shift.objects.create(cashier=cashier, opening_float=Decimal("0"))
    create_sale(cashier=cashier, items=[LineRequest(Decimal("2"), product=p.pk)])
    complete_count(count, user=manager)
    p.refresh_from_db()
    assert p.stock_quantity == Decimal("7")  # 9 counted, then 2 sold
    assert_ledger(p)


@pytest.mark.django_db
def test_count_of_a_category_includes_its_sub_categories(manager, stocked):
    drinks = CategoryFactory(name="Drinks")
    soda = CategoryFactory(name="Soda", parent=drinks)
    cola, juice, bread = stocked("1", category=soda), stocked("1", category=drinks), stocked("1")
    ProductFactory(category=drinks, is_active=False)
    count = start_count(user=manager, category=drinks)
    assert set(count.lines.values_list("product_id", flat=True)) == {cola.pk, juice.pk}
    with pytest.raises(ServiceError, match="already in a count in progress"):
        start_count(user=manager)
    with pytest.raises(ServiceError, match="not part of this count"):
        record_counts(count, [CountEntry(Decimal("1"), product=bread.pk)], user=manager)
    cancel_count(count, user=manager)
    count.refresh_from_db()
    assert count.status == "cancelled" and count.cancelled_by == manager
    assert start_count(user=manager).lines.count() == 3
    with pytest.raises(ServiceError, match="cancelled"):
        complete_count(count, user=manager)
    assert StockMovement.objects.filter(kind="count").count() == 0


@pytest.mark.django_db
def test_counted_quantities_are_checked_before_anything_is_written(manager, stocked):
    p = stocked("4", unit="pcs")
    count = start_count(user=manager)
    for entries, message in [
        ([CountEntry(Decimal("2"), product=p.pk), CountEntry(Decimal("-1"), product=p.pk)], "negative"),
        ([CountEntry(Decimal("2"), product=p.pk), CountEntry(Decimal("1.5"), product=p.pk)], "whole pieces"),
        ([CountEntry(Decimal("2"), barcode="0000")], "not part of this count"),
    ]:
        with pytest.raises(ServiceError, match=message):
            record_counts(count, entries, user=manager)
    assert count.lines.get().counted_quantity is None


@pytest.mark.django_db
def test_count_correction_below_zero_is_refused(manager, cashier, stocked):
    p = stocked("5")
    count = start_count(user=manager)
    record_counts(count, [CountEntry(Decimal("1"), product=p.pk)], user=manager)  # shelf shows 4 fewer
    Shift.objects.create(cashier=cashier, opening_float=Decimal("0"))
    create_sale(cashier=cashier, items=[LineRequest(Decimal("3"), product=p.pk)])  # 2 left, -4 impossible
    with pytest.raises(InsufficientStock):
        complete_count(count, user=manager)
    count.refresh_from_db()
    assert count.status == "in_progress"
    assert_ledger(p)


# --- check_stock --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_check_stock_finds_a_deliberate_mismatch(manager, stocked, capsys, django_assert_num_queries):
    good, bad = stocked("4"), stocked("6")
    with django_assert_num_queries(1):
        call_command("check_stock")
    assert "matches the ledger" in capsys.readouterr().out
    with connection.cursor() as cursor:
        cursor.execute("UPDATE catalog_product SET stock_quantity = 9 WHERE id = %s", [bad.pk])
    with pytest.raises(CommandError) as failed:
        call_command("check_stock")
    assert failed.value.returncode == 1
    out = capsys.readouterr().out
    assert bad.sku in out and "difference 3.000" in out and good.sku not in out
    assert ledger_sum(bad) == 6


@pytest.mark.django_db
def test_a_draft_note_can_be_edited_but_a_note_posted_meanwhile_cannot(manager, supplier):
    from pos.inventory.services import save_receipt_draft

    new = save_receipt_draft(GoodsReceipt(supplier=supplier, supplier_reference="INV-1"), user=manager)
    assert new.created_by == manager
    new.supplier_reference = "INV-1A"
    save_receipt_draft(new, user=manager)
    product = ProductFactory()
    stale = GoodsReceipt.objects.get(pk=receive(supplier, manager, (product, "2", "50")).pk)  # posted
    stale.status = "draft"  # the editor's copy was read before another manager posted it
    stale.supplier_reference = "changed"
    with pytest.raises(ServiceError, match="posted"):
        save_receipt_draft(stale, user=manager)
    assert GoodsReceipt.objects.get(pk=stale.pk).supplier_reference != "changed"
    assert GoodsReceipt.objects.get(pk=new.pk).supplier_reference == "INV-1A"
