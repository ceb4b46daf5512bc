"""The server side of the offline till: per-till receipt series, reserved blocks, offline sales accepted
exactly once with the till's prices, stock posted below zero with a flag, the shift guard."""

import uuid
from decimal import Decimal

import pytest

from pos.core.books import check_books
from pos.inventory.models import StockMovement
from pos.payments.models import Payment
from pos.sales.models import Sale
from pos.sales.services import close_shift
from pos.tills import services as tills
from pos.tills.models import OfflineSale, Till
from tests.offline.conftest import offline_body

pytestmark = pytest.mark.django_db
SALES = "/api/sales/sales/"


def cash(amount, tendered):
    return {"method": "cash", "amount": amount, "amount_tendered": tendered}


def test_each_till_numbers_its_online_sales_in_its_own_series(api, cashier, other_cashier, stocked, shift):
    from pos.sales.services import open_shift

    open_shift(other_cashier, Decimal("0"))
    one = tills.register_till(uuid.uuid4(), user=cashier)
    two = tills.register_till(uuid.uuid4(), user=other_cashier)
    body = {"items": [{"product": stocked["sugar"].pk, "quantity": "1"}]}
    first = api(cashier).post(SALES, body, format="json", HTTP_X_TILL=str(one.device_id))
    second = api(cashier).post(SALES, body, format="json", HTTP_X_TILL=str(one.device_id))
    other = api(other_cashier).post(SALES, body, format="json", HTTP_X_TILL=str(two.device_id))
    plain = api(cashier).post(SALES, body, format="json")
    assert [r.status_code for r in (first, second, other, plain)] == [201, 201, 201, 201]
    assert [r.json()["receipt_number"] for r in (first, second, other, plain)] == [
        "T01-000001", "T01-000002", "T02-000001", "S-000001"]
    assert check_books() == []


def test_register_is_idempotent_per_device(api, cashier):
    device = str(uuid.uuid4())
    a = api(cashier).post("/api/tills/register/", {"device_id": device}, format="json").json()
    b = api(cashier).post("/api/tills/register/", {"device_id": device}, format="json").json()
    assert a["code"] == b["code"] == "T01" and a["offline_prefix"] == "T01OFF-"
    assert Till.objects.count() == 1


def test_blocks_follow_each_other(api, cashier, till):
    url = f"/api/tills/{till.device_id}/blocks/"
    first = api(cashier).post(url, {"size": 3}, format="json").json()
    second = api(cashier).post(url, {}, format="json").json()
    assert (first["start"], first["end"]) == (1, 3)
    assert (second["start"], second["end"]) == (4, 53)  # OFFLINE_BLOCK_SIZE = 50


def test_offline_sale_is_accepted_exactly_once_and_a_retry_answers_the_first(api, cashier, till, stocked, shift):
    tills.reserve_block(till, user=cashier, size=5)
    sugar, milk = stocked["sugar"], stocked["milk"]
    body = offline_body(till, 1, [(sugar, 2, "180.00", "0"), (milk, 1, "65.00", "0")],
                        [cash("425.00", "500.00")], shift=shift, total="425.00")
    first = api(cashier).post(SALES, body, format="json")
    again = api(cashier).post(SALES, body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    sale = Sale.objects.get()
    assert sale.receipt_number == "T01OFF-000001"
    assert (sale.status, sale.total, sale.tax, sale.change_due) == ("paid", Decimal("425.00"), Decimal("49.66"),
                                                                     Decimal("75.00"))
    assert sale.shift == shift
    assert Payment.objects.get().amount_tendered == Decimal("500.00")
    sugar.refresh_from_db()
    assert sugar.stock_quantity == Decimal("18.000")
    assert StockMovement.objects.filter(reference="T01OFF-000001").count() == 2
    assert first.json()["offline"]["needs_attention"] is False
    till.refresh_from_db()
    assert till.last_synced_at is not None
    assert check_books() == []


def test_same_client_uuid_with_another_body_is_a_conflict(api, cashier, till, stocked, shift):
    tills.reserve_block(till, user=cashier, size=5)
    sugar = stocked["sugar"]
    body = offline_body(till, 1, [(sugar, 1, "180.00", "0")], [cash("180.00", "200.00")], shift=shift)
    assert api(cashier).post(SALES, body, format="json").status_code == 201
    body["items"][0]["quantity"] = "2"
    answer = api(cashier).post(SALES, body, format="json")
    assert answer.status_code == 409
    assert answer.json()["code"] == "idempotency_conflict"
    assert Sale.objects.count() == 1


def test_till_prices_are_kept_and_flagged_when_the_catalogue_changed(api, cashier, till, stocked, shift):
    tills.reserve_block(till, user=cashier, size=5)
    sugar = stocked["sugar"]
    sugar.price = Decimal("200.00")
    sugar.save()
    body = offline_body(till, 1, [(sugar, 1, "180.00", "0")], [cash("180.00", "180.00")], shift=shift)
    answer = api(cashier).post(SALES, body, format="json").json()
    sale = Sale.objects.get()
    assert sale.total == Decimal("180.00") and sale.items.get().unit_price == Decimal("180.00")
    offline = OfflineSale.objects.get()
    assert offline.price_changed and offline.needs_attention
    assert "sold at 180.00" in offline.notes and "catalogue now 200.00" in offline.notes
    assert answer["offline"]["price_changed"] is True


def test_stock_below_zero_is_posted_flagged_and_explained_until_reviewed(api, cashier, manager, till, stocked,
                                                                           shift):
    tills.reserve_block(till, user=cashier, size=5)
    milk = stocked["milk"]
    body = offline_body(till, 1, [(milk, 23, "65.00", "0")], [cash("1495.00", "1500.00")], shift=shift)
    answer = api(cashier).post(SALES, body, format="json")
    assert answer.status_code == 201
    milk.refresh_from_db()
    assert milk.stock_quantity == Decimal("-3.000")
    offline = OfflineSale.objects.get()
    assert offline.negative_stock and offline.needs_attention
    assert "went to -3.000 in stock" in offline.notes
    assert check_books() == []
    tills.mark_reviewed(offline, user=manager)
    assert check_books() == [f"stock: product {milk.sku} is negative (-3.000)"]


def test_typed_mpesa_code_is_recorded_and_flagged_unconfirmed(api, cashier, till, stocked, shift):
    tills.reserve_block(till, user=cashier, size=5)
    body = offline_body(till, 1, [(stocked["sugar"], 1, "180.00", "0")],
                        [{"method": "mpesa", "amount": "180.00", "code": "sfk3abc7xy"}], shift=shift)
    answer = api(cashier).post(SALES, body, format="json").json()
    assert answer["status"] == "paid"
    payment = Payment.objects.get()
    assert (payment.method, payment.status, payment.receipt) == ("mpesa", "completed", "")
    assert "SFK3ABC7XY" in payment.result_message
    offline = OfflineSale.objects.get()
    assert offline.unconfirmed_mpesa and offline.mpesa_code == "SFK3ABC7XY" and offline.needs_attention
    assert check_books() == []


def test_same_mpesa_code_typed_twice_keeps_both_sales(api, cashier, till, stocked, shift):
    tills.reserve_block(till, user=cashier, size=5)
    for number in (1, 2):
        body = offline_body(till, number, [(stocked["sugar"], 1, "180.00", "0")],
                            [{"method": "mpesa", "amount": "180.00", "code": "SFK3ABC7XY"}], shift=shift)
        assert api(cashier).post(SALES, body, format="json").status_code == 201
    assert Sale.objects.filter(status="paid").count() == 2


def test_number_never_reserved_is_refused_with_the_api_error_shape(api, cashier, till, stocked, shift):
    body = offline_body(till, 7, [(stocked["sugar"], 1, "180.00", "0")], [cash("180.00", "180.00")], shift=shift)
    answer = api(cashier).post(SALES, body, format="json")
    assert answer.status_code == 400
    assert answer.json() == {"number": ["Receipt T01OFF-000007 was never reserved for till T01."],
                             "code": "number_not_reserved"}
    assert Sale.objects.count() == 0


def test_offline_discount_follows_the_cashier_limit(api, cashier, till, stocked, shift):
    tills.reserve_block(till, user=cashier, size=5)
    too_much = offline_body(till, 1, [(stocked["sugar"], 1, "180.00", "36.00")], [cash("144.00", "144.00")],
                            shift=shift)
    answer = api(cashier).post(SALES, too_much, format="json")
    assert answer.status_code == 400 and answer.json()["code"] == "discount_not_allowed"
    allowed = offline_body(till, 1, [(stocked["sugar"], 1, "180.00", "18.00")], [cash("162.00", "200.00")],
                           shift=shift)
    assert api(cashier).post(SALES, allowed, format="json").status_code == 201
    assert Sale.objects.get().total == Decimal("162.00")


def test_shift_close_refused_while_the_till_holds_unsynced_sales(api, cashier, till, shift):
    url = f"/api/tills/{till.device_id}/status/"
    assert api(cashier).post(url, {"unsynced": 3}, format="json").status_code == 200
    answer = api(cashier).post(f"/api/sales/shifts/{shift.pk}/close/", {"counted_cash": "1000.00"}, format="json")
    assert answer.status_code == 400
    assert answer.json()["code"] == "unsynced_sales"
    assert "3 offline sale(s) on till T01" in answer.json()["shift"][0]
    api(cashier).post(url, {"unsynced": 0}, format="json")
    assert close_shift(shift, Decimal("1000.00"), cashier).kind == "Z"


def test_offline_gap_is_reported_by_check_books(api, cashier, till, stocked, shift):
    tills.reserve_block(till, user=cashier, size=5)
    body = offline_body(till, 2, [(stocked["sugar"], 1, "180.00", "0")], [cash("180.00", "180.00")], shift=shift)
    assert api(cashier).post(SALES, body, format="json").status_code == 201
    assert check_books() == ["receipts: till T01 offline numbers miss [1]"]


def test_catalogue_cursor_sends_only_what_changed(api, cashier, stocked, manager):
    from tests.factories import ProductFactory

    ProductFactory.create_batch(5)
    client = api(cashier)
    first = client.get("/api/tills/catalogue/", {"limit": 4}).json()
    assert len(first["results"]) == 4 and first["done"] is False
    rest = client.get("/api/tills/catalogue/", {"cursor": first["cursor"], "limit": 4}).json()
    assert len(rest["results"]) == 3 and rest["done"] is True
    seen = {row["id"] for row in first["results"] + rest["results"]}
    assert len(seen) == 7
    Product = type(stocked["sugar"])
    # move every product's updated_at into the past, then change one: only that one comes (plus overlap none)
    from datetime import timedelta

    from django.utils import timezone

    Product.objects.update(updated_at=timezone.now() - timedelta(minutes=10))
    cursor = client.get("/api/tills/catalogue/", {"limit": 100}).json()["cursor"]
    milk = stocked["milk"]
    milk.price = Decimal("70.00")
    milk.is_active = False
    milk.save()
    delta = client.get("/api/tills/catalogue/", {"cursor": cursor}).json()
    assert [(r["id"], r["price"], r["is_active"]) for r in delta["results"]] == [(milk.pk, "70.00", False)]


def test_bookkeeper_cannot_register_a_till(api, bookkeeper):
    answer = api(bookkeeper).post("/api/tills/register/", {"device_id": str(uuid.uuid4())}, format="json")
    assert answer.status_code == 403


def test_a_refused_sale_is_handed_over_and_kept_for_a_manager(api, cashier, manager, till, stocked, shift):
    from pos.tills.models import RefusedOfflineSale

    tills.reserve_block(till, user=cashier, size=5)
    body = offline_body(till, 1, [(stocked["sugar"], 1, "180.00", "90.00")], [cash("90.00", "100.00")], shift=shift)
    refusal = api(cashier).post(SALES, body, format="json")
    assert refusal.status_code == 400
    url = f"/api/tills/{till.device_id}/refused/"
    kept = api(cashier).post(url, {"body": body, "error": refusal.json()}, format="json")
    again = api(cashier).post(url, {"body": body, "error": refusal.json()}, format="json")
    assert (kept.status_code, again.status_code) == (201, 201) and kept.json()["id"] == again.json()["id"]
    refused = RefusedOfflineSale.objects.get()
    assert refused.body["items"][0]["discount"] == "90.00" and refused.error["code"] == "discount_not_allowed"
    tills.resolve_refused(refused, user=manager, resolution="Manager approved the discount; sale entered by hand.")
    refused.refresh_from_db()
    assert refused.resolved_by == manager
    with pytest.raises(Exception, match="Only a manager"):
        tills.resolve_refused(refused, user=cashier, resolution="x")


def test_queries_to_accept_an_offline_sale_do_not_grow_with_its_lines(api, cashier, till, stocked, shift,
                                                                        django_assert_max_num_queries):
    from tests.factories import ProductFactory

    tills.reserve_block(till, user=cashier, size=5)
    products = ProductFactory.create_batch(30, price=Decimal("10.00"))
    client = api(cashier)
    small = offline_body(till, 1, [(stocked["sugar"], 1, "180.00", "0")], [cash("180.00", "200.00")], shift=shift)
    big = offline_body(till, 2, [(p, 1, "10.00", "0") for p in products], [cash("300.00", "300.00")], shift=shift)
    for body in (small, big):
        with django_assert_max_num_queries(37):  # +1: the user's permissions (has_perm)
            assert client.post(SALES, body, format="json").status_code == 201
