from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from pos.inventory.models import GoodsReceipt, StockAlert, StockCount, StockMovement, Supplier
from pos.inventory.services import adjust_stock
from tests.factories import CategoryFactory, ProductFactory

from .conftest import assert_ledger

BASE = "/api/inventory"
LISTS = ["movements", "alerts", "alerts/active", "counts", "suppliers", "receipts"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", LISTS)
def test_read_roles(api, cashier, bookkeeper, manager, path):
    assert api(None).get(f"{BASE}/{path}/").status_code == 401
    assert api(cashier).get(f"{BASE}/{path}/").status_code == 403
    assert api(bookkeeper).get(f"{BASE}/{path}/").status_code == 200
    assert api(manager).get(f"{BASE}/{path}/").status_code == 200


@pytest.mark.django_db
def test_only_managers_and_admins_write(api, cashier, bookkeeper, admin_user, stocked):
    p = stocked("5")
    body = {"product": p.pk, "quantity": "1", "kind": "adjustment", "reason": "found in store room"}
    for user in (cashier, bookkeeper):
        client = api(user)
        assert client.post(f"{BASE}/movements/", body).status_code == 403
        assert client.post(f"{BASE}/counts/", {}).status_code == 403
        assert client.post(f"{BASE}/suppliers/", {"name": "Bidco"}).status_code == 403
        assert client.post(f"{BASE}/receipts/", {}).status_code == 403
    assert StockMovement.objects.count() == 1 and not Supplier.objects.exists()
    assert api(admin_user).post(f"{BASE}/movements/", body).status_code == 201


@pytest.mark.django_db
def test_post_movement_adds_and_removes_stock(api, manager, stocked):
    p = stocked("5")
    client = api(manager)
    response = client.post(f"{BASE}/movements/", {"product": p.pk, "quantity": "-2", "kind": "damage",
                                                  "reason": "rats in the store"})
    assert response.status_code == 201, response.data
    assert response.data["quantity"] == "-2.000" and response.data["balance_after"] == "3.000"
    assert response.data["user"] == "manager" and response.data["note"] == "rats in the store"
    response = client.post(f"{BASE}/movements/", {"product": p.pk, "quantity": "10", "kind": "purchase",
                                                  "reason": "cash purchase", "unit_cost": "30.00"})
    assert response.status_code == 201
    p.refresh_from_db()
    assert p.stock_quantity == 13 and p.cost_price == Decimal("36.92")  # (3*60 + 10*30) / 13 = 36.923
    assert_ledger(p)


@pytest.mark.django_db
@pytest.mark.parametrize("body, field", [
    ({"quantity": "1", "kind": "adjustment"}, "reason"),
    ({"quantity": "1", "kind": "adjustment", "reason": "   "}, "reason"),
    ({"quantity": "1", "kind": "sale", "reason": "x"}, "kind"),
    ({"quantity": "1", "kind": "return", "reason": "x"}, "kind"),
    ({"quantity": "1", "kind": "count", "reason": "x"}, "kind"),
    ({"quantity": "-9", "kind": "adjustment", "reason": "x"}, "quantity"),
    ({"quantity": "0", "kind": "adjustment", "reason": "x"}, "quantity"),
    ({"quantity": "abc", "kind": "adjustment", "reason": "x"}, "quantity"),
    ({"quantity": "1", "kind": "purchase", "reason": "x", "unit_cost": "-1"}, "unit_cost"),
    ({"quantity": "1", "kind": "adjustment", "reason": "x", "product": 999999}, "product"),
])
def test_bad_movement_is_400_with_the_field_and_writes_nothing(api, manager, stocked, body, field):
    p = stocked("3")
    response = api(manager).post(f"{BASE}/movements/", {"product": p.pk, **body})
    assert response.status_code == 400 and field in response.data, response.data
    assert StockMovement.objects.count() == 1
    p.refresh_from_db()
    assert p.stock_quantity == 3


@pytest.mark.django_db
def test_ledger_is_append_only(api, admin_user, stocked):
    stocked("3")
    movement = StockMovement.objects.get()
    client = api(admin_user)
    for method in ("put", "patch", "delete"):
        assert getattr(client, method)(f"{BASE}/movements/{movement.pk}/", {}).status_code == 405
    count = client.post(f"{BASE}/counts/", {}).data["id"]
    assert client.delete(f"{BASE}/counts/{count}/").status_code == 405
    assert client.patch(f"{BASE}/counts/{count}/", {"note": "x"}).status_code == 405
    assert StockMovement.objects.filter(pk=movement.pk).exists()


@pytest.mark.django_db
def test_movement_filters(api, manager, bookkeeper, stocked):
    a, b = stocked("5"), stocked("5")
    adjust_stock(a, Decimal("-1"), user=manager, reason="x", kind="damage")
    old = StockMovement.objects.filter(product=b).get()
    StockMovement.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    client = api(bookkeeper)

    def ids(query):
        response = client.get(f"{BASE}/movements/?{query}")
        assert response.status_code == 200, response.data
        return sorted(row["id"] for row in response.data["results"])

    assert len(ids(f"product={a.pk}")) == 2
    assert ids("kind=damage") == list(StockMovement.objects.filter(kind="damage").values_list("pk", flat=True))
    today = timezone.localdate()
    assert old.pk not in ids(f"date_from={today}")
    assert ids(f"date_to={today - timedelta(days=5)}") == [old.pk]
    assert client.get(f"{BASE}/movements/?date_from=yesterday").status_code == 400
    assert client.get(f"{BASE}/movements/?kind=theft").status_code == 400


@pytest.mark.django_db
def test_movement_list_queries_do_not_grow_with_rows(api, manager, django_assert_max_num_queries):
    client = api(manager)
    client.get(f"{BASE}/movements/")  # token and session warm-up
    adjust_stock(ProductFactory(), Decimal("1"), user=manager, reason="x")
    with django_assert_max_num_queries(4) as few:
        assert len(client.get(f"{BASE}/movements/").data["results"]) == 1
    for _ in range(30):
        adjust_stock(ProductFactory(), Decimal("1"), user=manager, reason="x")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(f"{BASE}/movements/").data["results"]) == 31


@pytest.mark.django_db
def test_alerts_active_and_resolve(api, manager, bookkeeper):
    low = ProductFactory(reorder_level=Decimal("2"))
    adjust_stock(low, Decimal("1"), user=manager, reason="x")
    fine = ProductFactory(reorder_level=Decimal("2"))
    adjust_stock(fine, Decimal("1"), user=manager, reason="x")
    adjust_stock(fine, Decimal("5"), user=manager, reason="delivery")
    active = api(bookkeeper).get(f"{BASE}/alerts/active/").data["results"]
    assert [a["product"] for a in active] == [low.pk]
    assert len(api(bookkeeper).get(f"{BASE}/alerts/").data["results"]) == 2
    alert = active[0]["id"]
    assert api(bookkeeper).post(f"{BASE}/alerts/{alert}/resolve/").status_code == 403
    response = api(manager).post(f"{BASE}/alerts/{alert}/resolve/")
    assert response.status_code == 200 and response.data["status"] == "dismissed"
    assert response.data["resolved_by"] == "manager"
    assert api(manager).post(f"{BASE}/alerts/{alert}/resolve/").status_code == 400
    assert api(manager).get(f"{BASE}/alerts/active/").data["results"] == []


@pytest.mark.django_db
def test_count_flow(api, manager, stocked):
    food = CategoryFactory(name="Food")
    rice = stocked("20", category=food, cost_price=Decimal("120.00"), unit="kg")
    beans = stocked("8", category=food, cost_price=Decimal("90.00"))
    stocked("4")  # another category: not counted
    client = api(manager)
    response = client.post(f"{BASE}/counts/", {"category": food.pk, "note": "monthly"})
    assert response.status_code == 201, response.data
    count = response.data
    assert count["reference"] == f"COUNT-{count['id']}" and len(count["lines"]) == 2
    response = client.post(f"{BASE}/counts/{count['id']}/lines/", {"lines": [
        {"product": rice.pk, "counted": "18.5"}, {"barcode": beans.barcode, "counted": "9"}]})
    assert response.status_code == 200, response.data
    lines = {line["product"]: line for line in response.data["lines"]}
    assert lines[rice.pk]["variance"] == "-1.500" and lines[rice.pk]["variance_value"] == "-180.00"
    assert lines[beans.pk]["variance_value"] == "90.00"
    assert response.data["variance_value"] == "-90.00" and response.data["counted_lines"] == 2
    listed = client.get(f"{BASE}/counts/").data["results"][0]
    assert listed["variance_value"] == "-90.00" and "lines" not in listed
    response = client.post(f"{BASE}/counts/{count['id']}/complete/")
    assert response.status_code == 200 and response.data["status"] == "completed"
    assert sorted(StockMovement.objects.filter(kind="count").values_list("quantity", flat=True)) == [
        Decimal("-1.5"), Decimal("1")]
    again = client.post(f"{BASE}/counts/{count['id']}/lines/", {"lines": [{"product": rice.pk, "counted": "1"}]})
    assert again.status_code == 400 and "status" in again.data
    assert client.post(f"{BASE}/counts/{count['id']}/cancel/").status_code == 400
    assert client.get(f"{BASE}/counts/{count['id']}/").data["lines"][0]["counted_quantity"] is not None


@pytest.mark.django_db
def test_count_input_errors_are_400_and_write_nothing(api, manager, stocked):
    p = stocked("3")
    client = api(manager)
    count = client.post(f"{BASE}/counts/", {}).data["id"]
    for body in [{}, {"lines": []}, {"lines": [{"counted": "1"}]}, {"lines": [{"product": p.pk, "counted": "-1"}]},
                 {"lines": [{"product": p.pk, "counted": "2"}, {"product": 999999, "counted": "1"}]}]:
        response = client.post(f"{BASE}/counts/{count}/lines/", body, format="json")
        assert response.status_code == 400 and "lines" in response.data, (body, response.data)
    assert StockCount.objects.get().lines.get().counted_quantity is None
    assert client.post(f"{BASE}/counts/", {"category": 999999}).status_code == 400
    cancelled = client.post(f"{BASE}/counts/{count}/cancel/")
    assert cancelled.status_code == 200 and cancelled.data["status"] == "cancelled"


@pytest.mark.django_db
def test_suppliers_and_goods_received(api, manager, bookkeeper, stocked):
    p = stocked("10", cost_price=Decimal("50.00"))
    client = api(manager)
    supplier = client.post(f"{BASE}/suppliers/", {"name": "Bidco Africa", "phone": "+254711000000"})
    assert supplier.status_code == 201
    duplicate = client.post(f"{BASE}/suppliers/", {"name": "BIDCO africa"})
    assert duplicate.status_code == 400 and "name" in duplicate.data
    body = {"supplier": supplier.data["id"], "supplier_reference": "INV-889",
            "lines": [{"product": p.pk, "quantity": "10", "unit_cost": "70.00"}]}
    response = client.post(f"{BASE}/receipts/", body, format="json")
    assert response.status_code == 201, response.data
    receipt = response.data
    assert receipt["status"] == "draft" and receipt["total_value"] == "700.00"
    p.refresh_from_db()
    assert p.stock_quantity == 10  # a draft moves nothing
    assert api(bookkeeper).post(f"{BASE}/receipts/{receipt['id']}/post/").status_code == 403
    posted = client.post(f"{BASE}/receipts/{receipt['id']}/post/")
    assert posted.status_code == 200 and posted.data["status"] == "posted"
    p.refresh_from_db()
    assert p.stock_quantity == 20 and p.cost_price == Decimal("60.00")
    again = client.post(f"{BASE}/receipts/{receipt['id']}/post/")
    assert again.status_code == 400 and "status" in again.data
    assert client.put(f"{BASE}/receipts/{receipt['id']}/", body, format="json").status_code == 405
    assert StockMovement.objects.filter(reference=f"GRN-{receipt['id']}").count() == 1
    assert_ledger(p)


@pytest.mark.django_db
@pytest.mark.parametrize("lines", [
    [], [{"product": 999999, "quantity": "1", "unit_cost": "1"}], [{"quantity": "1", "unit_cost": "1"}],
    [{"product": "PRODUCT", "quantity": "0", "unit_cost": "1"}], [{"product": "PRODUCT", "quantity": "1",
                                                                    "unit_cost": "-5"}],
])
def test_bad_goods_received_note_is_400(api, manager, stocked, lines):
    p = stocked("0")
    supplier = Supplier.objects.create(name="Kapa Oil")
    lines = [{**line, "product": p.pk} if line.get("product") == "PRODUCT" else line for line in lines]
    response = api(manager).post(f"{BASE}/receipts/", {"supplier": supplier.pk, "lines": lines}, format="json")
    assert response.status_code == 400 and "lines" in response.data, response.data
    assert not GoodsReceipt.objects.exists()


@pytest.mark.django_db
def test_schema_documents_the_inventory_paths(api, admin_user):
    response = api(admin_user).get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ["/api/inventory/movements/", "/api/inventory/alerts/active/", "/api/inventory/alerts/{id}/resolve/",
                 "/api/inventory/counts/{id}/lines/", "/api/inventory/counts/{id}/complete/",
                 "/api/inventory/receipts/{id}/post/", "/api/inventory/suppliers/"]:
        assert path in paths, path
    movement_post = paths["/api/inventory/movements/"]["post"]
    schema = movement_post["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    body = response.json()["components"]["schemas"][schema]
    assert "reason" in body["required"] and "put" not in paths["/api/inventory/movements/{id}/"]
    assert StockAlert.objects.count() == 0
