from decimal import Decimal

import pytest

from pos.catalog.models import Category, Product
from pos.inventory.models import StockMovement
from tests.factories import CategoryFactory, ProductFactory, ean13

PRODUCTS = "/api/products/"
FIELDS = {"id", "name", "sku", "barcode", "category", "category_name", "price", "cost_price", "tax_rate", "unit",
          "stock_quantity", "reorder_level", "is_active"}


def new_product(shelf, **changes):
    body = {"name": "Jogoo Maize Meal 2kg", "sku": "CER-001", "barcode": ean13(777), "category": shelf.pk,
            "price": "150.00", "cost_price": "128.00", "tax_rate": "0.00", "unit": "pcs", "reorder_level": "30"}
    body.update(changes)
    return body


@pytest.mark.django_db
def test_product_json_has_exactly_the_agreed_fields(milk, manager, stock, api):
    stock(milk, "12.5", manager)
    body = api(manager).get(f"{PRODUCTS}{milk.pk}/").json()
    assert set(body) == FIELDS
    assert body["price"] == "65.00" and body["cost_price"] == "52.00" and body["tax_rate"] == "0.00"
    assert body["stock_quantity"] == "12.500" and body["reorder_level"] == "10.000"
    assert body["category"] == milk.category_id and body["category_name"] == "Dairy"
    assert body["barcode"] == milk.barcode and body["is_active"] is True


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin_user", "manager", "cashier", "bookkeeper"])
def test_every_role_reads_products_and_the_list_is_paginated(who, milk, request, api):
    answer = api(request.getfixturevalue(who)).get(PRODUCTS)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 1 and body["results"][0]["sku"] == "DAI-001"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin_user", "manager"])
def test_manager_and_admin_create_change_and_delete(who, dairy, request, api):
    client = api(request.getfixturevalue(who))
    created = client.post(PRODUCTS, new_product(dairy))
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert created.json()["stock_quantity"] == "0.000"
    assert client.patch(f"{PRODUCTS}{pk}/", {"price": "155.50"}).json()["price"] == "155.50"
    replaced = client.put(f"{PRODUCTS}{pk}/", new_product(dairy, name="Jogoo 2kg", price="149"))
    assert replaced.status_code == 200 and replaced.json()["name"] == "Jogoo 2kg"
    assert Product.objects.get(pk=pk).history.count() == 3
    assert client.delete(f"{PRODUCTS}{pk}/").status_code == 204
    assert not Product.objects.filter(pk=pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["cashier", "bookkeeper"])
def test_cashier_and_bookkeeper_cannot_change_the_catalogue(who, milk, dairy, request, api):
    client = api(request.getfixturevalue(who))
    assert client.post(PRODUCTS, new_product(dairy)).status_code == 403
    assert client.patch(f"{PRODUCTS}{milk.pk}/", {"price": "1.00"}).status_code == 403
    assert client.put(f"{PRODUCTS}{milk.pk}/", new_product(dairy)).status_code == 403
    assert client.delete(f"{PRODUCTS}{milk.pk}/").status_code == 403
    assert client.post(f"{PRODUCTS}categories/", {"name": "Toys"}).status_code == 403
    milk.refresh_from_db()
    assert milk.price == Decimal("65.00") and Product.objects.count() == 1 and Category.objects.count() == 1


@pytest.mark.django_db
def test_stock_quantity_cannot_be_set_through_the_api(milk, manager, api):
    answer = api(manager).patch(f"{PRODUCTS}{milk.pk}/", {"stock_quantity": "500", "price": "70.00"})
    assert answer.status_code == 200
    assert answer.json()["stock_quantity"] == "0.000"
    created = api(manager).post(PRODUCTS, new_product(milk.category, stock_quantity="99"))
    assert created.json()["stock_quantity"] == "0.000"


@pytest.mark.django_db
def test_a_price_edit_does_not_overwrite_stock_changed_meanwhile(milk, manager, stock, api):
    stale = Product.objects.get(pk=milk.pk)
    stock(milk, "8", manager)
    from pos.catalog.services import update_product

    update_product(stale, user=manager, price=Decimal("70.00"))
    milk.refresh_from_db()
    assert milk.stock_quantity == Decimal(8) and milk.price == Decimal("70.00")


@pytest.mark.django_db
@pytest.mark.parametrize("changes, field, message", [
    ({"price": "-1.00"}, "price", "Price cannot be negative."),
    ({"cost_price": "-0.01"}, "cost_price", "Cost price cannot be negative."),
    ({"reorder_level": "-3"}, "reorder_level", "Reorder level cannot be negative."),
    ({"price": "abc"}, "price", "A valid number is required."),
    ({"price": "1.005"}, "price", "Ensure that there are no more than 2 decimal places."),
    ({"tax_rate": "116"}, "tax_rate", None),
    ({"sku": "DAI-001"}, "sku", "A product with this SKU already exists."),
    ({"barcode": ean13(9001)}, "barcode", "A product with this barcode already exists."),
    ({"barcode": "6161234567895"}, "barcode", "6161234567895 is not a valid EAN-13 barcode: its check digit should be 0."),
    ({"barcode": "ABC 123"}, "barcode", "A barcode may only contain letters, digits and hyphens."),
    ({"category": 99999}, "category", "No category with id 99999."),
    ({"unit": "crate"}, "unit", '"crate" is not a valid choice.'),
    ({"name": ""}, "name", "This field may not be blank."),
])
def test_bad_input_is_400_with_a_field_message(changes, field, message, milk, manager, api):
    answer = api(manager).post(PRODUCTS, new_product(milk.category, **changes))
    assert answer.status_code == 400
    assert field in answer.json()
    if message:
        assert answer.json()[field] == [message]
    assert Product.objects.count() == 1


@pytest.mark.django_db
def test_several_bad_fields_are_all_reported(dairy, manager, api):
    answer = api(manager).post(PRODUCTS, new_product(dairy, price="-5", barcode="12345678", category=0))
    assert answer.status_code == 400
    assert {"price", "barcode", "category"} <= set(answer.json())


@pytest.mark.django_db
def test_internal_codes_and_missing_barcodes_are_accepted(dairy, manager, api):
    client = api(manager)
    assert client.post(PRODUCTS, new_product(dairy, barcode="SHOP-17")).json()["barcode"] == "SHOP-17"
    one = client.post(PRODUCTS, new_product(dairy, sku="A-1", barcode=""))
    two = client.post(PRODUCTS, new_product(dairy, sku="A-2", barcode=None))
    assert one.status_code == two.status_code == 201
    assert one.json()["barcode"] is None and two.json()["barcode"] is None


@pytest.mark.django_db
def test_a_product_with_stock_history_is_not_deleted_but_can_be_deactivated(milk, manager, stock, api):
    stock(milk, "5", manager)
    client = api(manager)
    answer = client.delete(f"{PRODUCTS}{milk.pk}/")
    assert answer.status_code == 400
    assert "Deactivate it instead" in answer.json()["detail"][0]
    assert Product.objects.filter(pk=milk.pk).exists() and StockMovement.objects.filter(product=milk).count() == 1
    assert client.patch(f"{PRODUCTS}{milk.pk}/", {"is_active": False}).json()["is_active"] is False
    assert client.get(f"{PRODUCTS}barcode/{milk.barcode}/").status_code == 404


@pytest.mark.django_db
def test_barcode_lookup_hit_in_one_query(milk, cashier, api, django_assert_num_queries):
    client = api(cashier)
    client.get(f"{PRODUCTS}barcode/{milk.barcode}/")  # warm up the session/content-type caches
    with django_assert_num_queries(3):  # the token with its user, the user's permissions, the product with its category
        answer = client.get(f"{PRODUCTS}barcode/{milk.barcode}/")
    assert answer.status_code == 200
    assert answer.json()["id"] == milk.pk and answer.json()["category_name"] == "Dairy"


@pytest.mark.django_db
def test_barcode_lookup_miss_is_404_with_a_message(milk, cashier, api):
    answer = api(cashier).get(f"{PRODUCTS}barcode/0000000000000/")
    assert answer.status_code == 404
    assert answer.json() == {"detail": "No product with barcode 0000000000000."}


@pytest.mark.django_db
def test_low_stock_lists_active_products_at_or_below_reorder_level(milk, manager, stock, api):
    stock(milk, "10", manager)  # exactly at the reorder level: low
    plenty = stock(ProductFactory(name="Bread", reorder_level=Decimal(5), category=milk.category), "20", manager)
    gone = ProductFactory(name="Old stock", reorder_level=Decimal(5), is_active=False)
    answer = api(manager).get(f"{PRODUCTS}low_stock/")
    assert answer.status_code == 200
    names = [p["name"] for p in answer.json()["results"]]
    assert names == ["Brookside Milk 500ml"]
    assert plenty.name not in names and gone.name not in names


@pytest.mark.django_db
def test_filters_search_and_ordering(milk, manager, stock, api):
    snacks = CategoryFactory(name="Snacks")
    ProductFactory(name="Crisps 150g", sku="SNK-001", category=snacks, price=Decimal("180.00"))
    ProductFactory(name="Peanuts 100g", sku="SNK-002", category=snacks, price=Decimal("120.00"), is_active=False)
    client = api(manager)

    def names(query):
        answer = client.get(PRODUCTS, query)
        assert answer.status_code == 200, answer.json()
        return [p["name"] for p in answer.json()["results"]]

    assert names({"category": snacks.pk}) == ["Crisps 150g", "Peanuts 100g"]
    assert names({"is_active": "false"}) == ["Peanuts 100g"]
    assert names({"min_price": "100", "max_price": "150"}) == ["Peanuts 100g"]
    assert names({"low_stock": "true", "is_active": "true"}) == ["Brookside Milk 500ml", "Crisps 150g"]
    assert names({"search": "brookside"}) == ["Brookside Milk 500ml"]
    assert names({"search": "SNK-00"}) == ["Crisps 150g", "Peanuts 100g"]
    assert names({"search": milk.barcode[:9]}) == ["Brookside Milk 500ml"]
    assert names({"ordering": "-price"}) == ["Crisps 150g", "Peanuts 100g", "Brookside Milk 500ml"]
    assert client.get(PRODUCTS, {"category": "abc"}).status_code == 400


@pytest.mark.django_db
def test_product_list_query_count_does_not_grow_with_the_catalogue(cashier, api, django_assert_max_num_queries):
    client = api(cashier)
    ProductFactory()
    client.get(PRODUCTS)
    with django_assert_max_num_queries(4) as one:
        assert client.get(PRODUCTS).json()["count"] == 1
    for n in range(99):
        ProductFactory(category=CategoryFactory(name=f"Shelf {n}"))
    with django_assert_max_num_queries(4) as hundred:
        body = client.get(PRODUCTS, {"page_size": 100}).json()
    assert body["count"] == 100 and len(body["results"]) == 100
    assert len(hundred.captured_queries) == len(one.captured_queries)
