from decimal import Decimal

import pytest

from pos.catalog.models import Category, Product
from tests.factories import ProductFactory, ean13

LIST = "/admin/catalog/product/"
ADD = "/admin/catalog/product/add/"


def change_url(product):
    return f"{LIST}{product.pk}/change/"


def form_data(category, **changes):
    data = {"name": "Kabras Sugar 2kg", "category": category.pk, "sku": "CER-010", "barcode": ean13(4040),
            "unit": "pcs", "is_active": "on", "price": "360.00", "cost_price": "310.00", "tax_rate": "16.00",
            "reorder_level": "15", "_save": "Save"}
    data.update(changes)
    return data


def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_cashier_sees_the_product_list_but_cannot_add_change_or_import(milk, cashier, client):
    logged_in(client, cashier)
    page = client.get(LIST)
    assert page.status_code == 200 and milk.name in page.content.decode()
    assert client.get(ADD).status_code == 403
    assert client.post(ADD, form_data(milk.category)).status_code == 403
    view = client.get(change_url(milk))
    assert view.status_code == 200 and 'name="price"' not in view.content.decode()
    assert client.post(change_url(milk), form_data(milk.category, price="1.00")).status_code == 403
    assert client.get(f"{LIST}import/").status_code == 403
    assert client.get(f"{LIST}export/").status_code == 403
    assert client.get("/admin/catalog/category/add/").status_code == 403
    milk.refresh_from_db()
    assert milk.price == Decimal("65.00") and Product.objects.count() == 1


@pytest.mark.django_db
def test_bookkeeper_views_and_exports_but_cannot_change(milk, bookkeeper, client):
    logged_in(client, bookkeeper)
    assert client.get(LIST).status_code == 200
    assert client.get(change_url(milk)).status_code == 200
    assert client.get(ADD).status_code == 403
    assert client.get(f"{LIST}export/").status_code == 200
    assert client.get(f"{LIST}import/").status_code == 403
    assert client.get("/admin/catalog/category/").status_code == 200


@pytest.mark.django_db
def test_manager_adds_a_product_in_the_admin_and_history_names_him(dairy, manager, client):
    logged_in(client, manager)
    assert client.get(ADD).status_code == 200
    answer = client.post(ADD, form_data(dairy))
    assert answer.status_code == 302, answer.context["adminform"].form.errors
    product = Product.objects.get(sku="CER-010")
    assert product.price == Decimal("360.00") and product.stock_quantity == 0
    assert product.history.first().history_user == manager
    assert client.get(f"{LIST}{product.pk}/history/").status_code == 200


@pytest.mark.django_db
def test_admin_form_refuses_a_wrong_check_digit_and_a_negative_price(dairy, manager, client):
    logged_in(client, manager)
    answer = client.post(ADD, form_data(dairy, barcode="6161234567895", price="-4"))
    assert answer.status_code == 200
    errors = answer.context["adminform"].form.errors
    assert errors["barcode"] == ["6161234567895 is not a valid EAN-13 barcode: its check digit should be 0."]
    assert "price" in errors
    assert not Product.objects.exists()


@pytest.mark.django_db
def test_stock_is_read_only_in_the_change_form(milk, manager, stock, client):
    stock(milk, "7", manager)
    logged_in(client, manager)
    page = client.get(change_url(milk)).content.decode()
    assert 'name="stock_quantity"' not in page and "7.000" in page
    answer = client.post(change_url(milk), form_data(milk.category, sku=milk.sku, barcode=milk.barcode,
                                                     price="70.00", stock_quantity="999"))
    assert answer.status_code == 302
    milk.refresh_from_db()
    assert milk.price == Decimal("70.00") and milk.stock_quantity == Decimal(7)


@pytest.mark.django_db
def test_list_editable_price_reorder_and_active(milk, manager, client):
    logged_in(client, manager)
    data = {"form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-MIN_NUM_FORMS": "0",
            "form-MAX_NUM_FORMS": "1000", "form-0-id": str(milk.pk), "form-0-price": "72.50",
            "form-0-reorder_level": "12", "_save": "Save"}
    answer = client.post(LIST, data)
    assert answer.status_code == 302
    milk.refresh_from_db()
    assert milk.price == Decimal("72.50") and milk.reorder_level == Decimal(12) and milk.is_active is False


@pytest.mark.django_db
def test_stock_state_filter_and_badge(milk, manager, stock, client):
    stock(milk, "4", manager)  # reorder level 10: low
    full = stock(ProductFactory(name="Sugar 1kg", category=milk.category, reorder_level=Decimal(2)), "50", manager)
    empty = ProductFactory(name="Salt 1kg", category=milk.category)
    logged_in(client, manager)

    def listed(state):
        return {p.name for p in client.get(LIST, {"stock": state}).context["cl"].result_list}

    assert listed("low") == {milk.name}
    assert listed("out") == {empty.name}
    assert listed("ok") == {full.name}
    page = client.get(LIST).content.decode()
    assert "Low" in page and "Out" in page and "OK" in page


@pytest.mark.django_db
def test_search_by_name_sku_and_barcode(milk, manager, client):
    ProductFactory(name="Bread", category=milk.category)
    logged_in(client, manager)
    for term in ("brookside", "DAI-001", milk.barcode):
        assert [p.pk for p in client.get(LIST, {"q": term}).context["cl"].result_list] == [milk.pk]


@pytest.mark.django_db
def test_admin_refuses_to_delete_a_product_with_stock_history(milk, manager, stock, client):
    stock(milk, "3", manager)
    logged_in(client, manager)
    answer = client.post(f"{LIST}{milk.pk}/delete/", {"post": "yes"})
    assert answer.status_code == 403  # no Delete for a product with history: Deactivate is offered instead
    assert Product.objects.filter(pk=milk.pk).exists()


@pytest.mark.django_db
def test_manager_adds_a_category_in_the_admin(manager, client):
    logged_in(client, manager)
    answer = client.post("/admin/catalog/category/add/", {"name": "Frozen Food", "is_active": "on", "_save": "Save"})
    assert answer.status_code == 302
    assert Category.objects.filter(name="Frozen Food").exists()


@pytest.mark.django_db
def test_product_list_query_count_in_the_admin(manager, client, django_assert_max_num_queries):
    ProductFactory()
    logged_in(client, manager)
    client.get(LIST)
    with django_assert_max_num_queries(40) as one:
        client.get(LIST)
    for _ in range(40):
        ProductFactory()
    with django_assert_max_num_queries(40) as many:
        client.get(LIST)
    assert len(many.captured_queries) == len(one.captured_queries)


@pytest.mark.django_db
def test_history_pages_open_for_products_and_categories(milk, manager, client):
    from pos.catalog.services import update_product

    update_product(milk, user=manager, price=Decimal("68.00"))
    logged_in(client, manager)
    history = client.get(f"{LIST}{milk.pk}/history/")
    assert history.status_code == 200
    assert [r.history_user for r in history.context["page_obj"]][:1] == [manager]
    assert "manager" in history.content.decode()
    assert client.get(f"/admin/catalog/category/{milk.category_id}/history/").status_code == 200


@pytest.mark.django_db
def test_a_product_links_to_its_stock_movements(manager):
    from decimal import Decimal

    from django.test import Client

    from pos.inventory.services import adjust_stock
    from tests.factories import ProductFactory

    product, other = ProductFactory(name="Linked flour"), ProductFactory(name="Unrelated soap")
    adjust_stock(product, Decimal("3"), user=manager, reason="delivery")
    adjust_stock(other, Decimal("5"), user=manager, reason="delivery")
    client = Client()
    client.force_login(manager)
    page = client.get(f"/admin/catalog/product/{product.pk}/change/").content.decode()
    link = f"/admin/inventory/stockmovement/?product={product.pk}"
    assert link in page
    movements = client.get(link).content.decode()
    assert "Linked flour" in movements and "Unrelated soap" not in movements
