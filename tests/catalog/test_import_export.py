"""Spreadsheet import/export of the catalogue, through the admin (upload, then confirm) and the resources."""

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from import_export.formats.base_formats import CSV, XLSX

from pos.catalog.models import Category, Product
from pos.catalog.resources import CategoryResource, ProductResource
from pos.inventory.models import StockMovement
from tests.factories import CategoryFactory, ean13

HEADER = ["sku", "barcode", "name", "category", "price", "cost_price", "tax_rate", "unit", "reorder_level",
          "is_active"]
GOOD_ROWS = [
    ["BEV-001", 6161010000016, "Coca-Cola 500ml", "Beverages", 80, 62, 16, "pcs", 24, "yes"],
    ["FRS-001", "2004001000005", "Tomatoes", "fresh produce", "120.00", "80.00", "0", "kg", "10.5", "yes"],
    ["HOU-001", "SHOP-17", "Omo 1kg", "Household", 380.5, 315, 16, "pcs", 10, "no"],
]
BAD_ROWS = [
    ["OK-001", ean13(501), "Fine row", "Beverages", 100, 60, 16, "pcs", 5, "yes"],         # 1: fine alone
    ["DUP-001", ean13(502), "Twin A", "Beverages", 100, 60, 16, "pcs", 5, "yes"],         # 2: barcode twin of 4
    ["NEG-001", ean13(503), "Negative", "Beverages", -5, 60, 16, "pcs", 5, "yes"],        # 3: negative price
    ["DUP-002", ean13(502), "Twin B", "Beverages", 100, 60, 16, "pcs", 5, "yes"],         # 4: barcode twin of 2
    ["CAT-001", ean13(505), "Lost", "Toys", 100, 60, 16, "pcs", 5, "yes"],                # 5: unknown category
    ["NUM-001", ean13(506), "Text price", "Beverages", "abc", 60, 16, "pcs", 5, "yes"],   # 6: not a number
    ["OLD-001", ean13(9001), "Taken", "Beverages", 100, 60, 16, "pcs", 5, "yes"],         # 7: barcode of milk
    ["CHK-001", "6161234567895", "Check", "Beverages", 100, 60, 16, "pcs", 5, "yes"],     # 8: bad check digit
]
EXPECTED_ERRORS = {
    2: ("barcode", f"Barcode {ean13(502)} is used again on row 5 of this file."),
    3: ("price", "Price cannot be negative."),
    4: ("barcode", f"Barcode {ean13(502)} is used again on row 3 of this file."),
    5: ("category", "Unknown category 'Toys'. Create it first or correct the name."),
    6: ("price", "'abc' is not a number."),
    7: ("barcode", f"Barcode {ean13(9001)} already belongs to Brookside Milk 500ml (SKU DAI-001)."),
    8: ("barcode", "6161234567895 is not a valid EAN-13 barcode: its check digit should be 0."),
}


def xlsx_bytes(header, rows):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_text(header, rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def csv_bytes(header, rows):
    return csv_text(header, rows).encode()


@pytest.fixture
def shelves(db):
    return [CategoryFactory(name=name) for name in ("Beverages", "Fresh Produce", "Household")]


def upload(client, user, content, filename, fmt, model="product"):
    """Admin import step 1: upload the file; the answer is a dry-run preview (or the rows' errors)."""
    client.force_login(user)
    upload = io.BytesIO(content)
    upload.name = filename
    preview = client.post(f"/admin/catalog/{model}/import/", {"format": fmt, "import_file": upload})
    assert preview.status_code == 200
    return preview


def confirm(client, preview, model="product"):
    """Admin import step 2: press the confirm button of the preview."""
    return client.post(f"/admin/catalog/{model}/process_import/", preview.context["confirm_form"].initial)


def assert_good_rows_imported():
    coke = Product.objects.get(sku="BEV-001")
    assert coke.barcode == "6161010000016" and coke.price == Decimal("80.00") and coke.category.name == "Beverages"
    tomatoes = Product.objects.get(sku="FRS-001")
    assert tomatoes.unit == "kg" and tomatoes.tax_rate == Decimal("0.00") and tomatoes.reorder_level == Decimal("10.5")
    assert tomatoes.category.name == "Fresh Produce"
    omo = Product.objects.get(sku="HOU-001")
    assert omo.price == Decimal("380.50") and omo.is_active is False and omo.barcode == "SHOP-17"
    assert all(p.stock_quantity == 0 for p in Product.objects.all())


@pytest.mark.django_db
@pytest.mark.parametrize("fmt, build, filename", [("0", xlsx_bytes, "products.xlsx"), ("1", csv_bytes, "products.csv")])
def test_admin_imports_a_good_file_in_two_steps(fmt, build, filename, shelves, manager, client):
    preview = upload(client, manager, build(HEADER, GOOD_ROWS), filename, fmt)
    assert not Product.objects.exists()  # the preview is a dry run
    page = preview.content.decode()
    assert "Coca-Cola 500ml" in page and "Tomatoes" in page
    answer = confirm(client, preview)
    assert answer.status_code == 302 and answer.url == "/admin/catalog/product/"
    assert_good_rows_imported()
    assert Product.objects.get(sku="BEV-001").history.first().history_user == manager


@pytest.mark.django_db
@pytest.mark.parametrize("fmt, build, filename", [("0", xlsx_bytes, "broken.xlsx"), ("1", csv_bytes, "broken.csv")])
def test_admin_shows_every_bad_row_with_its_number_and_writes_nothing(fmt, build, filename, shelves, milk, manager,
                                                                     client):
    preview = upload(client, manager, build(HEADER, BAD_ROWS), filename, fmt)
    assert "confirm_form" not in preview.context  # no confirm button for a file with errors
    result = preview.context["result"]
    assert {row.number: row.error_dict for row in result.invalid_rows}.keys() == EXPECTED_ERRORS.keys()
    page = preview.content.decode()
    for _field, message in EXPECTED_ERRORS.values():
        assert message.replace("'", "&#x27;") in page
    assert list(Product.objects.values_list("sku", flat=True)) == ["DAI-001"]


@pytest.mark.django_db
@pytest.mark.parametrize("fmt, build", [(XLSX, xlsx_bytes), (CSV, csv_text)])
def test_resource_imports_a_good_file(fmt, build, shelves, manager):
    dataset = fmt().create_dataset(build(HEADER, GOOD_ROWS))
    result = ProductResource().import_data(dataset, dry_run=False, user=manager)
    assert not result.has_errors() and not result.has_validation_errors()
    assert result.totals["new"] == 3
    assert_good_rows_imported()


@pytest.mark.django_db
def test_resource_reports_each_bad_row_and_rolls_back_the_whole_file(shelves, milk, manager):
    dataset = XLSX().create_dataset(xlsx_bytes(HEADER, BAD_ROWS))
    result = ProductResource().import_data(dataset, dry_run=False, user=manager)
    found = {row.number: row.error_dict for row in result.invalid_rows}
    assert found.keys() == EXPECTED_ERRORS.keys()
    for number, (field, message) in EXPECTED_ERRORS.items():
        assert found[number][field] == [message], (number, found[number])
    assert Product.objects.count() == 1  # row 1 was fine but the file had errors: nothing written


@pytest.mark.django_db
def test_a_duplicate_sku_in_the_file_is_a_row_error(shelves, manager):
    rows = [GOOD_ROWS[0], [*GOOD_ROWS[1][:0], "BEV-001", *GOOD_ROWS[1][1:]]]
    result = ProductResource().import_data(CSV().create_dataset(csv_text(HEADER, rows)), user=manager)
    assert {r.number: r.error_dict["sku"] for r in result.invalid_rows} == {
        1: ["SKU BEV-001 is used again on row 3 of this file."],
        2: ["SKU BEV-001 is used again on row 2 of this file."],
    }
    assert not Product.objects.exists()


@pytest.mark.django_db
def test_reimport_updates_by_sku_and_never_touches_stock(shelves, manager, stock):
    ProductResource().import_data(CSV().create_dataset(csv_text(HEADER, GOOD_ROWS)), user=manager)
    coke = stock(Product.objects.get(sku="BEV-001"), "30", manager)
    changed = [["BEV-001", 6161010000016, "Coca-Cola 500ml", "Beverages", 85, 62, 16, "pcs", 24, "yes"]]
    result = ProductResource().import_data(
        CSV().create_dataset(csv_text(HEADER + ["stock_quantity"], [changed[0] + [9999]])), user=manager)
    assert result.totals["update"] == 1 and not result.has_validation_errors()
    coke.refresh_from_db()
    assert coke.price == Decimal("85.00") and coke.stock_quantity == Decimal(30)
    assert StockMovement.objects.filter(product=coke).count() == 1
    assert "stock_quantity" not in [f.column_name for f in ProductResource().get_import_fields()]


@pytest.mark.django_db
def test_cashier_and_bookkeeper_cannot_import(shelves, cashier, bookkeeper, client):
    for user in (cashier, bookkeeper):
        client.force_login(user)
        upload = io.BytesIO(xlsx_bytes(HEADER, GOOD_ROWS))
        upload.name = "products.xlsx"
        assert client.post("/admin/catalog/product/import/", {"format": "0", "import_file": upload}).status_code == 403
    assert not Product.objects.exists()


@pytest.mark.django_db
def test_admin_export_to_xlsx_reopens_with_openpyxl(milk, bookkeeper, manager, stock, client):
    stock(milk, "12", manager)
    client.force_login(bookkeeper)
    form = client.get("/admin/catalog/product/export/").context["form"]
    data = {"format": "0", "resource": "0", **{name: "on" for name in form.fields if name.startswith("productresource_")}}
    answer = client.post("/admin/catalog/product/export/", data)
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = [str(h).lower().replace(" ", "_") for h in rows[0]]
    record = dict(zip(header, rows[1]))
    assert record["sku"] == "DAI-001" and record["barcode"] == milk.barcode and record["category"] == "Dairy"
    assert Decimal(str(record["price"])) == Decimal("65.00")
    assert Decimal(str(record["stock_quantity"])) == Decimal(12)


@pytest.mark.django_db
def test_exported_products_import_back_unchanged(milk, manager):
    exported = ProductResource().export()
    result = ProductResource().import_data(CSV().create_dataset(exported.csv), user=manager)
    assert not result.has_validation_errors() and result.totals["skip"] == 1


@pytest.mark.django_db
def test_categories_import_by_name_with_parents(manager):
    CategoryFactory(name="Food")
    rows = [["Dairy", "food", "yes"], ["Yoghurt", "Dairy", "yes"], ["Old Shelf", "", "no"]]
    result = CategoryResource().import_data(CSV().create_dataset(csv_text(["name", "parent", "is_active"], rows)),
                                            user=manager)
    assert not result.has_validation_errors()
    assert Category.objects.get(name="Yoghurt").parent.name == "Dairy"
    assert Category.objects.get(name="Dairy").parent.name == "Food"
    assert Category.objects.get(name="Old Shelf").is_active is False


@pytest.mark.django_db
def test_category_import_with_an_unknown_parent_writes_nothing(manager):
    rows = [["Dairy", "", "yes"], ["Yoghurt", "Milk Things", "yes"]]
    result = CategoryResource().import_data(CSV().create_dataset(csv_text(["name", "parent", "is_active"], rows)),
                                            user=manager)
    assert [(r.number, r.error_dict["parent"]) for r in result.invalid_rows] == [
        (2, ["Unknown category 'Milk Things'. Create it first or correct the name."])]
    assert not Category.objects.exists()


@pytest.mark.django_db
def test_admin_imports_categories(manager, client):
    preview = upload(client, manager, csv_bytes(["name", "parent", "is_active"], [["Beverages", "", "yes"]]),
                     "c.csv", "1", model="category")
    assert confirm(client, preview, model="category").status_code == 302
    assert Category.objects.filter(name="Beverages").exists()
