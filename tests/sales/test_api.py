"""The sales and shifts API as a client sees it."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from pos.inventory.models import StockMovement
from pos.sales.models import ReceiptSequence, Sale
from tests.factories import ProductFactory

D = Decimal
SALES = "/api/sales/sales/"
SALE_FIELDS = {"id", "receipt_number", "status", "items", "subtotal", "discount", "tax", "total", "paid_amount",
               "balance_due", "change_due", "cashier", "shift", "created_at"}
ITEM_FIELDS = {"id", "product", "name", "quantity", "unit_price", "discount", "tax", "total"}


def body(product, quantity="2", **extra):
    return {"items": [{"product": product.pk, "quantity": quantity, "discount": "0.00"}], "discount": "0.00",
            "customer_phone": "254712345678", **extra}


def stock(product):
    product.refresh_from_db()
    return product.stock_quantity


@pytest.mark.django_db
def test_post_is_idempotent_201_then_200_with_the_same_sale_and_409_for_another_body(api, cashier, till, goods):
    sugar, _ = goods
    client = api(cashier)
    first = client.post(SALES, body(sugar), format="json", HTTP_IDEMPOTENCY_KEY="till1-0001")
    again = client.post(SALES, body(sugar), format="json", HTTP_IDEMPOTENCY_KEY="till1-0001")
    other = client.post(SALES, body(sugar, "3"), format="json", HTTP_IDEMPOTENCY_KEY="till1-0001")
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert again.json()["id"] == first.json()["id"] and Sale.objects.count() == 1
    assert stock(sugar) == D("8")


@pytest.mark.django_db
def test_a_sale_has_the_agreed_shape_with_money_as_strings(api, cashier, till, goods):
    sugar, milk = goods
    answer = api(cashier).post(SALES, {"items": [{"product": sugar.pk, "quantity": "2", "discount": "10.00"},
                                                 {"barcode": milk.barcode, "quantity": "1"}],
                                       "discount": "5.00", "customer_phone": "254712345678"}, format="json")
    assert answer.status_code == 201, answer.json()
    sale = answer.json()
    assert SALE_FIELDS <= set(sale) and all(ITEM_FIELDS <= set(item) for item in sale["items"])
    assert (sale["subtotal"], sale["discount"], sale["total"], sale["balance_due"]) == (
        "425.00", "15.00", "410.00", "410.00")
    assert sale["status"] == "pending_payment" and sale["receipt_number"] == "S-000001"
    assert sale["cashier"] == cashier.pk and sale["shift"] == Sale.objects.get().shift_id
    assert [item["name"] for item in sale["items"]] == ["Sugar 1kg", "Milk 500ml"]
    assert sale["items"][0]["discount"] == "10.00" and sale["items"][1]["tax"] == "0.00"


@pytest.mark.parametrize("line, message", [
    ({"product": 999999, "quantity": "1"}, "unknown product"),
    ({"barcode": "0000000000000", "quantity": "1"}, "unknown barcode"),
    ({"product": "inactive", "quantity": "1"}, "inactive"),
    ({"product": "sugar", "quantity": "0"}, "greater than zero"),
    ({"product": "sugar", "quantity": "-2"}, "greater than zero"),
    ({"product": "sugar", "quantity": "11"}, "Not enough stock"),
    ({"product": "sugar", "quantity": "1", "discount": "180.01"}, "discount"),
    ({"product": "sugar", "quantity": "abc"}, "not a quantity"),
    ({"product": "sugar", "quantity": "1,5"}, "not a comma"),
    ({"quantity": "1"}, "product id or a barcode"),
])
@pytest.mark.django_db
def test_bad_lines_are_400_with_field_messages_and_nothing_is_written(api, manager, goods, line, message):
    from pos.sales.services import open_shift

    open_shift(manager, "0")
    sugar, milk = goods
    inactive = ProductFactory(is_active=False)
    line = {**line, "product": {"sugar": sugar.pk, "inactive": inactive.pk}.get(line.get("product"),
                                                                               line.get("product"))}
    line = {k: v for k, v in line.items() if v is not None}
    answer = api(manager).post(SALES, {"items": [{"product": milk.pk, "quantity": "1"}, line]}, format="json")
    assert answer.status_code == 400
    assert "items" in answer.json() and message in str(answer.json())
    assert Sale.objects.count() == 0 and not ReceiptSequence.objects.filter(last_number__gt=0).exists()
    assert (stock(sugar), stock(milk)) == (D("10"), D("10"))


@pytest.mark.django_db
def test_cashiers_see_only_their_own_sales_and_bookkeepers_only_read(api, cashier, other_cashier, bookkeeper,
                                                                      manager, till, goods):
    sugar, _ = goods
    sale_id = api(cashier).post(SALES, body(sugar), format="json").json()["id"]
    intruder = api(other_cashier)
    for path in (f"{SALES}{sale_id}/", f"{SALES}{sale_id}/receipt/?format=text"):
        assert intruder.get(path).status_code == 404
    assert intruder.post(f"{SALES}{sale_id}/cancel/", {}, format="json").status_code == 404
    assert intruder.get(SALES).json()["count"] == 0
    books = api(bookkeeper)
    assert books.get(SALES).json()["count"] == 1 and books.get(f"{SALES}{sale_id}/").status_code == 200
    assert books.post(SALES, body(sugar), format="json").status_code == 403
    assert books.post(f"{SALES}{sale_id}/cancel/", {}, format="json").status_code == 403
    assert api(manager).get(SALES).json()["count"] == 1
    assert api(None).get(SALES).status_code == 401


@pytest.mark.django_db
def test_cancel_own_unpaid_sale_gives_stock_back_but_a_paid_one_is_refused(api, cashier, till, goods):
    sugar, _ = goods
    client = api(cashier)
    unpaid = client.post(SALES, body(sugar), format="json").json()
    cancelled = client.post(f"{SALES}{unpaid['id']}/cancel/", {"reason": "customer left"}, format="json")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert stock(sugar) == D("10")
    paid = client.post(SALES, body(sugar, "1"), format="json").json()
    answer = client.post(f"{SALES}{paid['id']}/pay_cash/", {"amount_tendered": "200.00"}, format="json")
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["change_due"], answer.json()["paid_amount"]) == (
        "paid", "20.00", "180.00")
    assert answer.json()["payments"][0]["method"] == "cash"
    refused = client.post(f"{SALES}{paid['id']}/cancel/", {}, format="json")
    assert refused.status_code == 400 and "return" in str(refused.json())
    short = client.post(SALES, body(sugar, "1"), format="json").json()
    too_little = client.post(f"{SALES}{short['id']}/pay_cash/", {"amount_tendered": "100.00", "amount": "180.00"},
                             format="json")
    assert too_little.status_code == 400 and "amount_tendered" in too_little.json()


@pytest.mark.django_db
def test_returns_through_the_api_need_a_manager_and_are_capped(api, cashier, manager, till, goods):
    sugar, _ = goods
    sale = api(cashier).post(SALES, body(sugar), format="json").json()
    api(cashier).post(f"{SALES}{sale['id']}/pay_cash/", {"amount_tendered": "360.00"}, format="json")
    item = sale["items"][0]["id"]
    path = f"{SALES}{sale['id']}/return/"
    assert api(cashier).post(path, {"items": [{"item": item, "quantity": "1"}]}, format="json").status_code == 403
    taken = api(manager).post(path, {"items": [{"item": item, "quantity": "1"}], "reason": "dented"}, format="json")
    assert taken.status_code == 201
    assert taken.json()["amount"] == "180.00" and taken.json()["sale"]["status"] == "partially_returned"
    over = api(manager).post(path, {"items": [{"item": item, "quantity": "2"}]}, format="json")
    assert over.status_code == 400 and "Sugar 1kg: at most 1" in over.json()["items"][0]
    assert stock(sugar) == D("9")
    assert StockMovement.objects.filter(kind="return").count() == 1


@pytest.mark.django_db
def test_list_filters_by_shop_day_status_cashier_and_payment_method(api, cashier, manager, till, goods):
    sugar, milk = goods
    client = api(cashier)
    late = client.post(SALES, body(sugar, "1"), format="json").json()
    paid = client.post(SALES, body(milk, "1"), format="json").json()
    client.post(f"{SALES}{paid['id']}/pay_cash/", {"amount_tendered": "100"}, format="json")
    today = timezone.localdate()
    yesterday_late = timezone.make_aware(datetime.combine(today - timedelta(days=1), datetime.min.time())
                                         + timedelta(hours=23, minutes=30))  # 23:30 in Nairobi, 20:30 UTC
    Sale.objects.filter(pk=late["id"]).update(created_at=yesterday_late)
    boss = api(manager)

    def ids(query):
        return [s["id"] for s in boss.get(SALES + query).json()["results"]]

    yesterday = (today - timedelta(days=1)).isoformat()
    assert ids(f"?date_from={yesterday}&date_to={yesterday}") == [late["id"]]
    assert ids(f"?date_from={today.isoformat()}") == [paid["id"]]
    assert ids("?status=paid") == [paid["id"]]
    assert ids("?payment_method=cash") == [paid["id"]]
    assert ids("?payment_method=mpesa") == []
    assert set(ids(f"?cashier={cashier.pk}")) == {late["id"], paid["id"]}
    assert ids(f"?cashier={manager.pk}") == []
    assert boss.get(SALES + "?date_from=yesterday").status_code == 400


@pytest.mark.django_db
def test_today_lists_the_callers_sales_with_a_summary(api, cashier, other_cashier, manager, goods):
    from pos.sales.services import open_shift

    sugar, milk = goods
    for user in (cashier, other_cashier):
        open_shift(user, "0")
    api(cashier).post(SALES, body(sugar, "1"), format="json")
    cancelled = api(cashier).post(SALES, body(milk, "1"), format="json").json()
    api(cashier).post(f"{SALES}{cancelled['id']}/cancel/", {}, format="json")
    api(other_cashier).post(SALES, body(milk, "2"), format="json")
    mine = api(cashier).get(f"{SALES}today/").json()
    assert mine["summary"] == {"count": 1, "total": "180.00", "paid": "0.00", "cancelled": 1}
    assert len(mine["results"]) == 2
    everyone = api(manager).get(f"{SALES}today/").json()
    assert everyone["summary"]["count"] == 2 and everyone["summary"]["total"] == "310.00"


@pytest.mark.django_db
def test_receipt_formats_from_the_api(api, cashier, till, goods):
    sugar, _ = goods
    client = api(cashier)
    sale = client.post(SALES, body(sugar), format="json").json()
    path = f"{SALES}{sale['id']}/receipt/"
    pdf = client.get(path + "?format=pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    text = client.get(path + "?format=text")
    assert text["Content-Type"].startswith("text/plain") and sale["receipt_number"] in text.content.decode()
    escpos = client.get(path + "?format=escpos")
    assert escpos["Content-Type"] == "application/octet-stream" and b"\x1dV" in escpos.content
    html = client.get(path + "?format=html")
    assert b"@page" in html.content and b"<pre" in html.content
    assert client.get(path).content.startswith(b"%PDF")
    assert client.get(path + "?format=docx").status_code == 400


@pytest.mark.django_db
def test_shift_endpoints_open_current_report_close(api, cashier, other_cashier, bookkeeper, goods):
    client = api(cashier)
    assert client.get("/api/sales/shifts/current/").status_code == 404
    opened = client.post("/api/sales/shifts/open/", {"opening_float": "1000.00"}, format="json")
    assert opened.status_code == 201 and opened.json()["opening_float"] == "1000.00"
    assert client.post("/api/sales/shifts/open/", {"opening_float": "5"}, format="json").status_code == 400
    shift_id = opened.json()["id"]
    assert client.get("/api/sales/shifts/current/").json()["id"] == shift_id
    sale = client.post(SALES, body(goods[0], "1"), format="json").json()
    client.post(f"{SALES}{sale['id']}/pay_cash/", {"amount_tendered": "200"}, format="json")
    x = client.get(f"/api/sales/shifts/{shift_id}/report/").json()
    assert (x["kind"], x["sales_count"], x["sales_total"], x["expected_cash"], x["counted_cash"]) == (
        "X", 1, "180.00", "1180.00", None)
    assert api(other_cashier).get(f"/api/sales/shifts/{shift_id}/report/").status_code == 404
    assert api(bookkeeper).post("/api/sales/shifts/open/", {"opening_float": "0"}, format="json").status_code == 403
    z = client.post(f"/api/sales/shifts/{shift_id}/close/", {"counted_cash": "1190.00"}, format="json")
    assert z.status_code == 200
    assert (z.json()["kind"], z.json()["expected_cash"], z.json()["counted_cash"], z.json()["cash_variance"]) == (
        "Z", "1180.00", "1190.00", "10.00")
    assert client.get("/api/sales/shifts/current/").status_code == 404
    listed = client.get("/api/sales/shifts/").json()["results"]
    assert [s["status"] for s in listed] == ["closed"] and listed[0]["totals"][0]["method"] == "cash"
    refused = client.post(SALES, body(goods[0], "1"), format="json")
    assert refused.status_code == 400 and "shift" in refused.json()
