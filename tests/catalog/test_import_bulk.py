"""A big catalogue import: a few queries for the whole file, every rule still checked, history kept."""

from decimal import Decimal
from math import ceil

import pytest
from django.db import connection
from import_export.formats.base_formats import XLSX

from pos.catalog import services
from pos.catalog.models import Product
from pos.catalog.resources import PREVIEW_ROWS, ProductResource
from pos.core.errors import ServiceError
from tests.catalog.test_import_export import HEADER, confirm, upload, xlsx_bytes
from tests.factories import CategoryFactory, ean13

ROWS = 2000


def product_rows(count, start=700_000):
    return [[f"BULK-{n}", ean13(n), f"Bulk product {n}", "Bulk", 100 + n % 50, 60, 16, "pcs", 5, "yes"]
            for n in range(start, start + count)]


def import_rows(rows, user):
    return ProductResource().import_data(XLSX().create_dataset(xlsx_bytes(HEADER, rows)), user=user)


def batched_statements(rows):
    """Statements whose number follows the database's parameter limit (999 on SQLite, none on PostgreSQL):
    the two lookups of the file's SKUs and barcodes, and the INSERTs of products and of their history,
    which Django splits at that limit and at services.BULK_BATCH_SIZE."""
    limit = connection.features.max_query_params or rows
    statements = 2 * ceil(rows / limit)
    for model in (Product, Product.history.model):
        fields = [field for field in model._meta.concrete_fields if not field.primary_key]
        per_insert = min(services.BULK_BATCH_SIZE, connection.ops.bulk_batch_size(fields, [None] * rows))
        statements += ceil(rows / per_insert)
    return statements


@pytest.fixture
def bulk_shelf(db):
    return CategoryFactory(name="Bulk")


def test_two_thousand_rows_import_in_as_many_queries_as_twenty_apart_from_batches(bulk_shelf, manager,
                                                                                 django_assert_max_num_queries):
    with django_assert_max_num_queries(12 + batched_statements(20)) as small:
        import_rows(product_rows(20, start=1), manager)
    # The import used to make 8 queries per row: 16,000 for this file.
    with django_assert_max_num_queries(12 + batched_statements(ROWS)) as big:
        result = import_rows(product_rows(ROWS), manager)
    assert len(big) - batched_statements(ROWS) == len(small) - batched_statements(20)
    assert not result.has_errors() and not result.has_validation_errors()
    assert result.totals["new"] == ROWS
    assert Product.objects.count() == ROWS + 20
    last = Product.objects.get(sku=f"BULK-{700_000 + ROWS - 1}")
    assert last.barcode == ean13(700_000 + ROWS - 1) and last.category == bulk_shelf
    assert last.price == Decimal("149.00") and last.stock_quantity == 0
    history = Product.history.filter(history_type="+")
    assert history.count() == ROWS + 20 and set(history.values_list("history_user", flat=True)) == {manager.pk}


def test_duplicates_deep_in_a_big_file_are_reported_with_their_rows_and_nothing_is_written(bulk_shelf, manager):
    rows = product_rows(ROWS)
    rows[1499][1] = rows[6][1]  # row 1500 repeats row 7's barcode
    rows[1998][0] = rows[2][0]  # row 1999 repeats row 3's SKU
    result = import_rows(rows, manager)
    found = {row.number: row.error_dict for row in result.invalid_rows}
    barcode, sku = rows[6][1], rows[2][0]
    assert found == {
        7: {"barcode": [f"Barcode {barcode} is used again on row 1501 of this file."]},
        1500: {"barcode": [f"Barcode {barcode} is used again on row 8 of this file."]},
        3: {"sku": [f"SKU {sku} is used again on row 2000 of this file."]},
        1999: {"sku": [f"SKU {sku} is used again on row 4 of this file."]},
    }
    assert not Product.objects.exists()


def test_a_barcode_already_in_the_catalogue_is_caught_in_a_big_file(bulk_shelf, manager):
    import_rows(product_rows(1, start=5), manager)
    rows = product_rows(ROWS)
    rows[1234][1] = ean13(5)
    result = import_rows(rows, manager)
    assert [(row.number, row.error_dict) for row in result.invalid_rows] == [
        (1235, {"barcode": [f"Barcode {ean13(5)} already belongs to Bulk product 5 (SKU BULK-5)."]})]
    assert Product.objects.count() == 1


def test_reimport_of_a_big_file_updates_changed_rows_with_history_and_skips_the_rest(bulk_shelf, manager, stock):
    rows = product_rows(300)
    import_rows(rows, manager)
    first = stock(Product.objects.get(sku=rows[0][0]), "12", manager)
    for row in rows[:100]:
        row[4] = 999
    result = import_rows(rows, manager)
    assert (result.totals["update"], result.totals["skip"]) == (100, 200)
    first.refresh_from_db()
    assert first.price == Decimal("999.00") and first.stock_quantity == Decimal(12)
    assert Product.objects.filter(price=Decimal("999.00")).count() == 100
    updates = Product.history.filter(history_type="~")
    assert updates.count() == 100 and updates.filter(price=Decimal("999.00"), history_user=manager).count() == 100


def test_save_products_writes_nothing_when_a_barcode_was_taken_meanwhile(bulk_shelf, manager):
    taken = services.create_product(sku="FIRST", barcode=ean13(77), name="First", category=bulk_shelf,
                                    price=Decimal("10"), user=manager)
    fine = Product(sku="NEW-1", barcode=ean13(78), name="Fine", category=bulk_shelf, price=Decimal("10"))
    clash = Product(sku="NEW-2", barcode=taken.barcode, name="Clash", category=bulk_shelf, price=Decimal("10"))
    with pytest.raises(ServiceError, match="saved at the same time"):
        services.save_products([fine, clash], user=manager)
    assert list(Product.objects.values_list("sku", flat=True)) == ["FIRST"]


def test_check_product_reports_field_errors_without_a_query(bulk_shelf, django_assert_num_queries):
    product = Product(sku=" X-1 ", barcode="6161234567895", name="", category=bulk_shelf, price=Decimal("1.005"),
                      unit="crate")
    with django_assert_num_queries(0):
        errors = services.check_product(product)
    assert errors == {
        "barcode": ["6161234567895 is not a valid EAN-13 barcode: its check digit should be 0."],
        "name": ["This field cannot be blank."],
        "unit": ["Value 'crate' is not a valid choice."],
    }
    assert product.sku == "X-1" and product.price == Decimal("1.01")


def test_admin_preview_of_a_big_file_lists_its_first_rows_and_the_confirm_imports_all(bulk_shelf, manager, client):
    rows = product_rows(PREVIEW_ROWS + 50)
    preview = upload(client, manager, xlsx_bytes(HEADER, rows), "big.xlsx", "0")
    page = preview.content.decode()
    assert f"{PREVIEW_ROWS + 50} rows: {PREVIEW_ROWS + 50} new, 0 changed, 0 unchanged." in page
    assert f"The table shows the first {PREVIEW_ROWS}." in page
    assert rows[PREVIEW_ROWS - 1][2] in page and rows[PREVIEW_ROWS][2] not in page
    assert not Product.objects.exists()
    assert confirm(client, preview).status_code == 302
    assert Product.objects.count() == PREVIEW_ROWS + 50


def test_admin_lists_every_bad_row_of_a_big_file(bulk_shelf, manager, client):
    rows = product_rows(PREVIEW_ROWS * 3)
    for number in (5, PREVIEW_ROWS * 2, PREVIEW_ROWS * 3):
        rows[number - 1][4] = "free"
    preview = upload(client, manager, xlsx_bytes(HEADER, rows), "big.xlsx", "0")
    assert [row.number for row in preview.context["result"].invalid_rows] == [5, PREVIEW_ROWS * 2, PREVIEW_ROWS * 3]
    assert preview.content.decode().count("&#x27;free&#x27; is not a number.") == 3
    assert "confirm_form" not in preview.context and not Product.objects.exists()
