"""Back office by scanner: goods received with a product search box, posted from the note's own page
through the service's rules; counts completed with a confirmation, blind counts."""

from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from pos.core.errors import ServiceError
from pos.inventory.models import GoodsReceipt, GoodsReceiptLine, StockCount, StockMovement, Supplier
from pos.inventory.services import CountEntry, complete_count, post_receipt, record_counts, start_count
from tests.conftest import client_for
from tests.factories import ProductFactory

ADMIN = "/admin/inventory"


def note_data(supplier, *lines):
    data = {"supplier": supplier.pk, "supplier_reference": "DN-1", "note": "", "lines-TOTAL_FORMS": str(len(lines)),
            "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "1000"}
    for i, (product, quantity, cost) in enumerate(lines):
        data.update({f"lines-{i}-product": str(product.pk), f"lines-{i}-quantity": quantity,
                     f"lines-{i}-unit_cost": cost})
    return data


@pytest.fixture
def supplier(db):
    return Supplier.objects.create(name="Brookside Dairy")


@pytest.mark.django_db
def test_half_a_piece_is_refused_in_the_form_and_at_posting(manager, supplier):
    soap = ProductFactory(name="Soap bar", unit="pcs")
    client = client_for(manager)
    page = client.post(f"{ADMIN}/goodsreceipt/add/", note_data(supplier, (soap, "2.5", "40.00")))
    assert page.status_code == 200 and "Soap bar is counted in whole pieces" in page.content.decode()
    assert not GoodsReceipt.objects.exists()
    # a line stored around the form (an old note) is still refused by the service when posting
    receipt = GoodsReceipt.objects.create(supplier=supplier, created_by=manager)
    GoodsReceiptLine.objects.create(receipt=receipt, product=soap, quantity=Decimal("2.5"), unit_cost=Decimal(40))
    with pytest.raises(ServiceError, match="whole pieces"):
        post_receipt(receipt, user=manager)
    soap.refresh_from_db()
    assert soap.stock_quantity == 0


@pytest.mark.django_db
def test_a_scanned_barcode_finds_its_product_in_the_line_search_box(manager, supplier):
    milk = ProductFactory(name="Tuzo Fresh Milk 500ml", barcode="6161020000020")
    ProductFactory(name="Brookside Milk 500ml")
    answer = client_for(manager).get("/admin/autocomplete/", {
        "term": "6161020000020", "app_label": "inventory", "model_name": "goodsreceiptline", "field_name": "product"})
    assert answer.status_code == 200
    assert [r["id"] for r in answer.json()["results"]] == [str(milk.pk)]
    words = client_for(manager).get("/admin/autocomplete/", {
        "term": "milk", "app_label": "inventory", "model_name": "goodsreceiptline", "field_name": "product"})
    assert len(words.json()["results"]) == 2


@pytest.mark.django_db
def test_post_from_the_notes_own_page_after_a_confirmation(manager, supplier, bookkeeper):
    milk = ProductFactory(name="Tuzo Fresh Milk 500ml", cost_price=Decimal("48.00"))
    client = client_for(manager)
    assert client.post(f"{ADMIN}/goodsreceipt/add/", note_data(supplier, (milk, "24", "48.00"))).status_code == 302
    receipt = GoodsReceipt.objects.get()
    page = client.get(f"{ADMIN}/goodsreceipt/{receipt.pk}/change/").content.decode()
    assert f"{ADMIN}/goodsreceipt/{receipt.pk}/post/" in page  # the Post button
    assert "Tuzo Fresh Milk 500ml × 24" in page or "GoodsReceiptLine object" not in page
    confirm = client.get(f"{ADMIN}/goodsreceipt/{receipt.pk}/post/")
    assert confirm.status_code == 200 and "Post GRN-" in confirm.content.decode()
    assert "Tuzo Fresh Milk 500ml × 24 at 48.00" in confirm.content.decode()
    milk.refresh_from_db()
    assert milk.stock_quantity == 0  # the confirmation page moved nothing
    assert client_for(bookkeeper).post(f"{ADMIN}/goodsreceipt/{receipt.pk}/post/").status_code == 403
    done = client.post(f"{ADMIN}/goodsreceipt/{receipt.pk}/post/", {"confirm": "yes"})
    assert done.status_code == 302
    milk.refresh_from_db()
    receipt.refresh_from_db()
    assert receipt.status == "posted" and milk.stock_quantity == 24
    assert client.post(f"{ADMIN}/goodsreceipt/{receipt.pk}/post/").status_code == 403  # posted: no button
    assert StockMovement.objects.filter(reference=receipt.reference).count() == 1


@pytest.mark.django_db
def test_line_titles_are_readable(manager, supplier):
    milk = ProductFactory(name="Tuzo Fresh Milk 500ml")
    receipt = GoodsReceipt.objects.create(supplier=supplier, created_by=manager)
    line = GoodsReceiptLine.objects.create(receipt=receipt, product=milk, quantity=Decimal("24"), unit_cost=1)
    assert str(line) == "Tuzo Fresh Milk 500ml × 24"
    count = start_count(user=manager)
    assert str(count.lines.get()) == "Tuzo Fresh Milk 500ml"


def stocked(manager, quantity, **fields):
    from pos.inventory.services import adjust_stock

    product = ProductFactory(**fields)
    adjust_stock(product, Decimal(quantity), user=manager, reason="opening")
    return product


@pytest.mark.django_db
def test_completing_a_count_with_uncounted_lines_asks_first(manager):
    tea = stocked(manager, "10", name="Tea 250g")
    stocked(manager, "5", name="Soap bar")
    stocked(manager, "3", name="Salt 1kg")
    count = start_count(user=manager)
    record_counts(count, [CountEntry(Decimal("8"), product=tea.pk)], user=manager)
    client = client_for(manager)
    client.post(f"{ADMIN}/stockcount/", {"action": "complete_selected", ACTION_CHECKBOX_NAME: [count.pk]})
    count.refresh_from_db()
    assert count.status == "in_progress"  # the bulk action refuses: 2 of 3 lines are not counted
    page = client.get(f"{ADMIN}/stockcount/{count.pk}/complete/").content.decode()
    assert "2 of 3 lines are not counted" in page
    assert client.post(f"{ADMIN}/stockcount/{count.pk}/complete/", {"confirm": "yes"}).status_code == 302
    count.refresh_from_db()
    tea.refresh_from_db()
    assert count.status == "completed" and tea.stock_quantity == 8


@pytest.mark.django_db
def test_the_service_refuses_uncounted_lines_unless_allowed(manager):
    tea = stocked(manager, "10", name="Tea 250g")
    stocked(manager, "5", name="Soap bar")
    count = start_count(user=manager)
    record_counts(count, [CountEntry(Decimal("10"), product=tea.pk)], user=manager)
    with pytest.raises(ServiceError, match="1 of 2 lines are not counted"):
        complete_count(count, user=manager, allow_uncounted=False)
    complete_count(count, user=manager)
    count.refresh_from_db()
    assert count.status == "completed"


@pytest.mark.django_db
def test_a_blind_count_hides_the_expected_quantities_until_completed(manager):
    stocked(manager, "37", name="Tea 250g")
    client = client_for(manager)
    assert client.post(f"{ADMIN}/stockcount/add/", {"category": "", "note": "", "blind": "on"}).status_code == 302
    count = StockCount.objects.get()
    assert count.blind
    page = client.get(f"{ADMIN}/stockcount/{count.pk}/change/").content.decode()
    assert "Tea 250g" in page
    assert "37.000" not in page and "37.00" not in page  # neither the expected quantity nor the variance
    tea_line = count.lines.get()
    record_counts(count, [CountEntry(Decimal("35"), product=tea_line.product_id)], user=manager)
    complete_count(count, user=manager)
    done = client.get(f"{ADMIN}/stockcount/{count.pk}/change/").content.decode()
    assert "37.000" in done and "-2.000" in done  # after completion the manager sees what was expected
