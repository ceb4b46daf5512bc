"""Each row lock of the sales, inventory and payments services, proven on PostgreSQL: remove the
`select_for_update` and these tests fail (the threads start together at a barrier)."""

from decimal import Decimal

import pytest

from pos.core.books import check_books
from pos.core.errors import ServiceError
from pos.inventory.models import GoodsReceipt, GoodsReceiptLine, StockMovement, Supplier
from pos.inventory.services import (
    CountEntry,
    complete_count,
    post_receipt,
    record_counts,
    start_count,
)
from pos.payments.models import Payment, Refund
from pos.payments.services import (
    approve_refund,
    initiate_payment,
    pay_cash,
    refundable_amount,
    request_refund,
)
from pos.sales.models import Sale
from pos.sales.services import cancel_sale, return_items
from tests.factories import ProductFactory
from tests.races.conftest import errors, ok, race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_goods_received_note_is_posted_once(needs_postgres, managers):
    product = ProductFactory(price=Decimal("100.00"), cost_price=Decimal("50.00"))
    supplier = Supplier.objects.create(name="Bidco")
    note = GoodsReceipt.objects.create(supplier=supplier, created_by=managers[0])
    GoodsReceiptLine.objects.create(receipt=note, product=product, quantity=Decimal(12), unit_cost=Decimal("55.00"))
    results = race(8, lambda i: post_receipt(note, user=managers[i]))
    assert len(ok(results)) == 1
    assert all(isinstance(e, ServiceError) and e.code == "already_posted" for e in errors(results))
    product.refresh_from_db()
    assert product.stock_quantity == Decimal("12.000")
    assert StockMovement.objects.filter(product=product, reference=note.reference).count() == 1
    assert check_books() == []


def test_stock_count_is_completed_once(needs_postgres, managers):
    product = ProductFactory(price=Decimal("100.00"), stock_quantity=Decimal(0))
    count = start_count(user=managers[0])
    record_counts(count, [CountEntry(Decimal(7), product=product.pk)], user=managers[0])
    results = race(8, lambda i: complete_count(count, user=managers[i]))
    assert len(ok(results)) == 1
    assert all(isinstance(e, ServiceError) and e.code == "count_closed" for e in errors(results))
    product.refresh_from_db()
    assert product.stock_quantity == Decimal("7.000")
    assert check_books() == []


def test_sale_lock_cash_for_the_whole_sale_is_taken_once(needs_postgres, sell, cashier):
    sale = sell("300.00")
    results = race(8, lambda i: pay_cash(Sale.objects.get(pk=sale.pk), amount_tendered=Decimal(500), user=cashier))
    assert len(ok(results)) == 1
    assert all(isinstance(e, ServiceError) for e in errors(results))
    sale.refresh_from_db()
    assert sale.status == "paid" and sale.paid_amount == Decimal("300.00") and sale.change_due == Decimal("200.00")
    assert Payment.objects.filter(sale=sale).count() == 1
    assert check_books() == []


def test_sale_lock_cancel_and_pay_never_both_happen(needs_postgres, sell, cashier):
    sales = [sell("120.00") for _ in range(6)]
    for sale in sales:
        def work(i, sale=sale):
            fresh_sale = Sale.objects.get(pk=sale.pk)
            if i % 2:
                return cancel_sale(fresh_sale, user=cashier)
            return pay_cash(fresh_sale, amount_tendered=Decimal(120), user=cashier)

        race(4, work)
        sale.refresh_from_db()
        paid = Payment.objects.filter(sale=sale, status="completed").count()
        assert (sale.status, paid) in (("paid", 1), ("cancelled", 0)), (sale.status, paid)
    assert check_books() == []


def test_sale_lock_the_last_unit_is_returned_once(needs_postgres, sell, cashier, managers):
    sale = sell("250.00")
    pay_cash(sale, amount_tendered=Decimal(250), user=cashier)
    item = sale.items.get()
    results = race(8, lambda i: return_items(Sale.objects.get(pk=sale.pk), [(item.pk, "1")], managers[i], "back"))
    assert len(ok(results)) == 1
    item.refresh_from_db()
    assert item.returned_quantity == Decimal("1.000")
    sale.refresh_from_db()
    assert sale.returned_amount == Decimal("250.00") and sale.status == "returned"
    assert check_books() == []


def test_refund_start_eight_refunds_of_one_return_across_a_split_tender_sale_pay_what_it_owes(
        needs_postgres, sell, cashier, managers, settings):
    settings.REFUND_APPROVAL_THRESHOLD = Decimal(100000)
    sale = sell("400.00", "200.00", "100.00")
    payments = [pay_cash(sale, amount_tendered=Decimal(a), user=cashier, amount=Decimal(a))
                for a in ("300.00", "250.00", "150.00")]
    item = sale.items.get(unit_price=Decimal("400.00"))
    sale_return = return_items(Sale.objects.get(pk=sale.pk), [(item.pk, "1")], managers[0], "faulty")
    assert sale_return.amount == Decimal("400.00")
    results = race(8, lambda i: request_refund(payments[i % 3], Decimal("150.00"), "faulty", managers[i],
                                               sale_return=sale_return)[0])
    paid = sum(r.amount for r in ok(results) if r.status == "completed")
    assert paid == Decimal("300.00")  # two of 150; a third would exceed the 400 owed
    assert len(ok(results)) == 2
    assert all(isinstance(e, ServiceError) and e.code == "refund_too_large" for e in errors(results))
    room = next(p for p in payments if refundable_amount(p) >= Decimal("100.00"))
    last, _ = request_refund(room, Decimal("100.00"), "the rest", managers[0], sale_return=sale_return)
    assert last.status == "completed"
    assert sum(r.amount for r in Refund.objects.filter(sale_return=sale_return, status="completed")) == \
        Decimal("400.00")
    assert check_books() == []


def test_concurrent_approvals_have_one_winner(needs_postgres, sell, cashier, manager, managers, settings):
    settings.REFUND_APPROVAL_THRESHOLD = Decimal(10)
    sale = sell("500.00")
    payment = pay_cash(sale, amount_tendered=Decimal(500), user=cashier)
    refund, _ = request_refund(payment, Decimal("200.00"), "damaged", manager)
    assert refund.status == "pending_approval"
    results = race(8, lambda i: approve_refund(Refund.objects.get(pk=refund.pk), user=managers[i]))
    assert len(ok(results)) == 1
    assert all(isinstance(e, ServiceError) and e.code == "not_pending" for e in errors(results))
    refund.refresh_from_db()
    assert refund.status == "completed" and refund.approved_by in managers
    assert Refund.objects.filter(payment=payment, status="completed").count() == 1
    assert check_books() == []


def test_two_pushes_at_once_never_ask_for_more_than_due(needs_postgres, sandbox, sell, cashier):
    sale = sell("500.00")
    phones = ["0708374149", "0711111111", "0722222222", "0733333333"]
    results = race(4, lambda i: initiate_payment(Sale.objects.get(pk=sale.pk), "mpesa", "500", phone_number=phones[i],
                                                 user=cashier)[0])
    assert len(ok(results)) == 1
    assert all(isinstance(e, ServiceError) and e.code == "overpayment" for e in errors(results))
    assert Payment.objects.filter(sale=sale).count() == 1
