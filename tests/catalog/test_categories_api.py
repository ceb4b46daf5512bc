import pytest

from pos.catalog.models import Category
from tests.factories import CategoryFactory

CATEGORIES = "/api/products/categories/"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin_user", "manager", "cashier", "bookkeeper"])
def test_every_role_lists_categories(who, dairy, request, api):
    body = api(request.getfixturevalue(who)).get(CATEGORIES).json()
    assert body["count"] == 1
    assert body["results"] == [{"id": dairy.pk, "name": "Dairy", "parent": None, "is_active": True}]


@pytest.mark.django_db
def test_manager_creates_and_changes_a_category(dairy, manager, api):
    client = api(manager)
    created = client.post(CATEGORIES, {"name": "Yoghurt", "parent": dairy.pk})
    assert created.status_code == 201
    pk = created.json()["id"]
    assert created.json() == {"id": pk, "name": "Yoghurt", "parent": dairy.pk, "is_active": True}
    assert client.patch(f"{CATEGORIES}{pk}/", {"is_active": False}).json()["is_active"] is False
    assert client.put(f"{CATEGORIES}{pk}/", {"name": "Yogurts", "parent": None}).json()["name"] == "Yogurts"
    assert client.get(f"{CATEGORIES}{pk}/").json()["parent"] is None


@pytest.mark.django_db
def test_categories_cannot_be_deleted_through_the_api(dairy, manager, api):
    assert api(manager).delete(f"{CATEGORIES}{dairy.pk}/").status_code == 405
    assert Category.objects.filter(pk=dairy.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["cashier", "bookkeeper"])
def test_cashier_and_bookkeeper_cannot_change_categories(who, dairy, request, api):
    client = api(request.getfixturevalue(who))
    assert client.post(CATEGORIES, {"name": "Toys"}).status_code == 403
    assert client.patch(f"{CATEGORIES}{dairy.pk}/", {"name": "Milk"}).status_code == 403
    assert list(Category.objects.values_list("name", flat=True)) == ["Dairy"]


@pytest.mark.django_db
@pytest.mark.parametrize("body, field, message", [
    ({"name": "dairy"}, "name", "A category with this name already exists."),
    ({"name": ""}, "name", "This field may not be blank."),
    ({"name": "Toys", "parent": 4242}, "parent", "No category with id 4242."),
])
def test_bad_category_input_is_400(body, field, message, dairy, manager, api):
    answer = api(manager).post(CATEGORIES, body)
    assert answer.status_code == 400
    assert answer.json()[field] == [message]


@pytest.mark.django_db
def test_a_category_cannot_be_placed_inside_itself(manager, api):
    food = CategoryFactory(name="Food")
    dairy = CategoryFactory(name="Dairy", parent=food)
    answer = api(manager).patch(f"{CATEGORIES}{food.pk}/", {"parent": dairy.pk})
    assert answer.status_code == 400
    assert answer.json()["parent"] == ["A category cannot be inside itself."]
    food.refresh_from_db()
    assert food.parent is None


@pytest.mark.django_db
def test_filter_categories_by_parent(manager, api):
    food = CategoryFactory(name="Food")
    CategoryFactory(name="Dairy", parent=food)
    CategoryFactory(name="Household")
    body = api(manager).get(CATEGORIES, {"parent": food.pk}).json()
    assert [c["name"] for c in body["results"]] == ["Dairy"]
