import io
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from openpyxl import load_workbook

from pos.inventory.models import GoodsReceipt, GoodsReceiptLine, StockAlert, StockCount, StockMovement, Supplier
from pos.inventory.services import adjust_stock, start_count
from tests.factories import ProductFactory

ADMIN = "/admin/inventory"


def browser(user):
    client = Client()
    client.force_login(type(user).objects.get(pk=user.pk))  # the stored password hash signs the session
    return client


def inline_data(count, values):
    """The POST body of a count's change form with counted quantities for some lines."""
    lines = list(count.lines.order_by("product__name"))
    data = {"lines-TOTAL_FORMS": str(len(lines)), "lines-INITIAL_FORMS": str(len(lines)),
            "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "1000"}
    for i, line in enumerate(lines):
        data[f"lines-{i}-id"] = str(line.pk)
        data[f"lines-{i}-count"] = str(count.pk)
        data[f"lines-{i}-counted_quantity"] = values.get(line.product_id, "")
    return data


@pytest.mark.django_db
def test_movement_list_is_read_only_and_filters_by_product(manager, stocked):
    a, b = stocked("4"), stocked("6")
    client = browser(manager)
    page = client.get(f"{ADMIN}/stockmovement/?product={a.pk}")
    assert page.status_code == 200
    assert a.name in page.content.decode() and b.sku not in page.content.decode()
    assert client.get(f"{ADMIN}/stockmovement/add/").status_code == 403
    movement = StockMovement.objects.filter(product=a).get()
    assert client.post(f"{ADMIN}/stockmovement/{movement.pk}/delete/").status_code == 403
    client.post(f"{ADMIN}/stockmovement/{movement.pk}/change/", {"quantity": "100"})
    movement.refresh_from_db()
    assert movement.quantity == 4
    assert client.get(f"{ADMIN}/stockmovement/?q={b.sku}").content.decode().count(b.name) >= 1


@pytest.mark.django_db
def test_every_stock_page_opens(manager, bookkeeper, stocked):
    p = stocked("1", reorder_level=Decimal("5"))
    count = start_count(user=manager)
    supplier = Supplier.objects.create(name="Unga Ltd")
    receipt = GoodsReceipt.objects.create(supplier=supplier, created_by=manager)
    GoodsReceiptLine.objects.create(receipt=receipt, product=p, quantity=Decimal("2"), unit_cost=Decimal("9"))
    pages = ["stockmovement/", "stockalert/", f"stockalert/{StockAlert.objects.get().pk}/change/", "stockcount/",
             "stockcount/add/", f"stockcount/{count.pk}/change/", "supplier/", "supplier/add/",
             f"supplier/{supplier.pk}/change/", "goodsreceipt/", "goodsreceipt/add/",
             f"goodsreceipt/{receipt.pk}/change/", "stockmovement/export/"]
    for user in (manager, bookkeeper):
        client = browser(user)
        for page in pages:
            expected = 403 if user == bookkeeper and page.endswith("add/") else 200
            assert client.get(f"{ADMIN}/{page}").status_code == expected, (user, page)


@pytest.mark.django_db
def test_cashier_sees_no_stock_pages(cashier):
    client = browser(cashier)
    for page in ["stockmovement", "stockalert", "stockcount", "goodsreceipt", "supplier"]:
        assert client.get(f"{ADMIN}/{page}/").status_code == 403


@pytest.mark.django_db
def test_movement_export_xlsx_and_csv(bookkeeper, manager, stocked):
    p = stocked("7", name="Maize flour 2kg")
    client = browser(bookkeeper)
    response = client.post(f"{ADMIN}/stockmovement/export/?product={p.pk}", {"format": "1", "resource": "0"})
    assert response.status_code == 200, response.content[:500]
    assert b"Maize flour 2kg" in response.content and b"Adjustment" in response.content
    xlsx = client.post(f"{ADMIN}/stockmovement/export/", {"format": "0", "resource": "0"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    header = [c.value for c in sheet[1]]
    assert header[:6] == ["ID", "created at", "SKU", "product", "barcode", "kind"]
    assert sheet.max_row == 2


@pytest.mark.django_db
def test_valuation_export(bookkeeper, stocked):
    stocked("3", name="Cooking oil 1l", cost_price=Decimal("250.50"), price=Decimal("320.00"))
    response = browser(bookkeeper).get(f"{ADMIN}/stockmovement/valuation/")
    assert response.status_code == 200
    assert "stock-valuation" in response["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0] == ("SKU", "name", "category", "unit", "stock quantity", "cost price", "value at cost",
                       "selling price (VAT incl.)", "retail value")
    oil = next(r for r in rows if r[1] == "Cooking oil 1l")
    assert Decimal(str(oil[6])) == Decimal("751.50") and Decimal(str(oil[8])) == Decimal("960.00")


@pytest.mark.django_db
def test_alert_resolve_action(manager, bookkeeper):
    p = ProductFactory(reorder_level=Decimal("3"))
    adjust_stock(p, Decimal("1"), user=manager, reason="x")
    alert = StockAlert.objects.get()
    page = browser(manager).get(f"{ADMIN}/stockalert/").content.decode()
    assert f"/admin/inventory/stockmovement/?product={p.pk}" in page
    refused = browser(bookkeeper).post(f"{ADMIN}/stockalert/", {"action": "resolve_selected",
                                                                ACTION_CHECKBOX_NAME: [alert.pk]})
    alert.refresh_from_db()
    assert alert.status == "active" and refused.status_code in (200, 302)
    browser(manager).post(f"{ADMIN}/stockalert/", {"action": "resolve_selected", ACTION_CHECKBOX_NAME: [alert.pk]})
    alert.refresh_from_db()
    assert alert.status == "dismissed" and alert.resolved_by == manager


@pytest.mark.django_db
def test_count_in_the_admin_start_count_complete(manager, stocked):
    tea, soap = stocked("10", name="Tea 250g", cost_price=Decimal("80.00")), stocked("4", name="Soap bar")
    client = browser(manager)
    response = client.post(f"{ADMIN}/stockcount/add/", {"category": "", "note": "weekly"})
    assert response.status_code == 302, response.content.decode()[:2000]
    count = StockCount.objects.get()
    again = client.post(f"{ADMIN}/stockcount/add/", {"category": "", "note": "again"})
    assert again.status_code == 200 and "already in a count in progress" in again.content.decode()
    page = client.get(f"{ADMIN}/stockcount/{count.pk}/change/")
    assert page.status_code == 200 and "Tea 250g" in page.content.decode()
    bad = client.post(f"{ADMIN}/stockcount/{count.pk}/change/", inline_data(count, {tea.pk: "-2"}))
    assert bad.status_code == 200
    assert count.lines.get(product=tea).counted_quantity is None
    saved = client.post(f"{ADMIN}/stockcount/{count.pk}/change/", inline_data(count, {tea.pk: "8", soap.pk: "4"}))
    assert saved.status_code == 302
    assert count.lines.get(product=tea).counted_quantity == 8
    listing = client.get(f"{ADMIN}/stockcount/").content.decode()
    assert "-160.00" in listing and "2 / 2" in listing
    client.post(f"{ADMIN}/stockcount/", {"action": "complete_selected", ACTION_CHECKBOX_NAME: [count.pk]})
    count.refresh_from_db()
    assert count.status == "completed"
    assert list(StockMovement.objects.filter(kind="count").values_list("product_id", "quantity")) == [
        (tea.pk, Decimal("-2"))]
    client.post(f"{ADMIN}/stockcount/{count.pk}/change/", inline_data(count, {tea.pk: "1"}))
    assert count.lines.get(product=tea).counted_quantity == 8  # a completed count is locked


@pytest.mark.django_db
def test_count_cancel_action(manager, stocked):
    stocked("2")
    count = start_count(user=manager)
    browser(manager).post(f"{ADMIN}/stockcount/", {"action": "cancel_selected", ACTION_CHECKBOX_NAME: [count.pk]})
    count.refresh_from_db()
    assert count.status == "cancelled" and not StockMovement.objects.filter(kind="count").exists()


@pytest.mark.django_db
def test_goods_received_note_in_the_admin(manager, stocked):
    p = stocked("2", cost_price=Decimal("100.00"))
    supplier = Supplier.objects.create(name="Brookside Dairy")
    client = browser(manager)
    response = client.post(f"{ADMIN}/goodsreceipt/add/", {
        "supplier": supplier.pk, "supplier_reference": "DN-41", "note": "",
        "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "1000",
        "lines-0-product": str(p.pk), "lines-0-quantity": "2", "lines-0-unit_cost": "120.00",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    receipt = GoodsReceipt.objects.get()
    assert receipt.created_by == manager and receipt.lines.count() == 1
    p.refresh_from_db()
    assert p.stock_quantity == 2  # a draft moves nothing
    client.post(f"{ADMIN}/goodsreceipt/", {"action": "post_selected", ACTION_CHECKBOX_NAME: [receipt.pk]})
    receipt.refresh_from_db()
    p.refresh_from_db()
    assert receipt.status == "posted" and p.stock_quantity == 4 and p.cost_price == Decimal("110.00")
    client.post(f"{ADMIN}/goodsreceipt/{receipt.pk}/change/", {
        "supplier": supplier.pk, "supplier_reference": "CHANGED", "note": "",
        "lines-TOTAL_FORMS": "0", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "0",
    })
    receipt.refresh_from_db()
    assert receipt.supplier_reference == "DN-41"  # a posted note is read only
    client.post(f"{ADMIN}/goodsreceipt/", {"action": "post_selected", ACTION_CHECKBOX_NAME: [receipt.pk]})
    assert StockMovement.objects.filter(reference=receipt.reference).count() == 1
    assert GoodsReceiptLine.objects.get().quantity == 2
