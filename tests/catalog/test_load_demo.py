from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum

from pos.accounts.models import User
from pos.catalog.barcodes import ean13_check_digit
from pos.catalog.models import Category, Product
from pos.inventory.models import StockMovement, Supplier

PASSWORDS = {"admin": "admin-demo-2026", "manager": "manager-demo-2026", "cashier": "cashier-demo-2026",
             "bookkeeper": "bookkeeper-demo-2026"}


def load():
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def snapshot():
    return {
        "users": list(User.objects.values_list("username", "role", "password")),
        "categories": list(Category.objects.values_list("name", flat=True)),
        "products": list(Product.objects.values_list("sku", "price", "stock_quantity", "updated_at")),
        "movements": StockMovement.objects.count(),
        "suppliers": Supplier.objects.count(),
    }


@pytest.mark.django_db
def test_demo_shop_is_believable_and_loads_once():
    assert "Demo data loaded" in load()
    first = snapshot()
    assert "already exists" in load()
    assert snapshot() == first

    for username, password in PASSWORDS.items():
        user = User.objects.get(username=username)
        assert user.role == username and user.check_password(password)
    assert Category.objects.count() >= 8
    products = list(Product.objects.all())
    assert len(products) >= 100
    assert all(len(p.barcode) == 13 and ean13_check_digit(p.barcode[:12]) == p.barcode[-1] for p in products)
    assert {p.tax_rate for p in products} == {Decimal("0.00"), Decimal("16.00")}
    assert {p.unit for p in products} == {"pcs", "kg"}
    assert all(p.price > p.cost_price > 0 for p in products)
    assert Product.objects.get(name="Brookside Whole Milk 500ml").tax_rate == 0
    assert Product.objects.get(name="Jogoo Maize Meal 2kg").tax_rate == 0
    assert Product.objects.get(name="Tomatoes").tax_rate == 0 and Product.objects.get(name="Tomatoes").unit == "kg"
    assert 5 <= Product.objects.low_stock().count() < len(products) / 2
    assert Supplier.objects.count() == 1


@pytest.mark.django_db
def test_opening_stock_goes_through_the_ledger():
    load()
    movements = StockMovement.objects.all()
    assert movements.count() > 100
    assert set(movements.values_list("note", flat=True)) == {"Opening stock"}
    assert set(movements.values_list("user__username", flat=True)) == {"manager"}
    for product in Product.objects.annotate(ledger=Sum("movements__quantity")):
        assert product.stock_quantity == (product.ledger or 0)


@pytest.mark.django_db
def test_demo_logins_work_through_the_api(api):
    load()
    for username, password in PASSWORDS.items():
        answer = api(None).post("/api/auth/login/", {"username": username, "password": password})
        assert answer.status_code == 200 and answer.json()["user"]["role"] == username


@pytest.mark.django_db
def test_a_missing_product_is_added_back_without_touching_the_rest():
    load()
    Product.objects.get(sku="DAI-008").delete()  # out of stock in the demo: no ledger rows
    others = snapshot()["products"]
    assert "0 users, 0 categories, 0 suppliers, 1 products" in load()
    assert Product.objects.get(sku="DAI-008").stock_quantity == 0
    assert [p for p in snapshot()["products"] if p[0] != "DAI-008"] == others
