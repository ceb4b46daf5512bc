"""The import preview reads like the spreadsheet: clean headers, a changed price as "80.00 → 85.00" (not a
character diff), rows numbered as Excel numbers them, empty cells blank."""

import re
from decimal import Decimal

import pytest

from tests.catalog.test_import_export import HEADER, upload, xlsx_bytes
from tests.factories import CategoryFactory, ProductFactory


def cells(page):
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", page, flags=re.S)]


@pytest.mark.django_db
def test_a_changed_price_reads_old_to_new_and_headers_are_clean(manager, client):
    drinks = CategoryFactory(name="Beverages")
    ProductFactory(sku="BEV-001", barcode="6161010000016", name="Coca-Cola 500ml", category=drinks,
                   price=Decimal("80.00"), cost_price=Decimal("62.00"), tax_rate=Decimal("16.00"), unit="pcs",
                   reorder_level=Decimal("24"))
    rows = [["BEV-001", "6161010000016", "Coca-Cola 500ml", "Beverages", 85, 62, 16, "pcs", 24, "yes"],
            ["BEV-002", None, "Coca-Cola 2L", "Beverages", 220, 178, 16, "pcs", 12, "yes"]]
    page = upload(client, manager, xlsx_bytes(HEADER, rows), "prices.xlsx", "0").content.decode()
    shown = cells(page)
    assert "80.00 → 85.00" in shown
    assert "805.00" not in page and "None" not in shown
    headers = [re.sub(r"\s+", " ", h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", page, flags=re.S)]
    assert {"SKU", "Cost price", "Tax rate", "Reorder level"} <= set(headers)
    assert "capitalize" not in re.search(r"<table class=\"import-preview-table.*?</thead>", page, re.S).group(0)


@pytest.mark.django_db
def test_a_bad_row_is_named_by_its_spreadsheet_row_and_empty_cells_are_blank(manager, client):
    CategoryFactory(name="Beverages")
    rows = [["OK-001", None, "Fine", "Beverages", 10, 5, 16, "pcs", 1, "yes"],
            ["OK-002", None, "Fine too", "Beverages", 10, 5, 16, "pcs", 1, "yes"],
            ["BAD-003", None, "Bad price", "Beverages", "abc", None, 16, "pcs", 1, "yes"]]  # spreadsheet row 4
    preview = upload(client, manager, xlsx_bytes(HEADER, rows), "bad.xlsx", "0")
    page = preview.content.decode()
    assert preview.context["result"].invalid_rows[0].number == 3  # import-export's data-row index
    row = cells(page)
    start = row.index("BAD-003") - 1
    assert row[start] == "4"  # the Row column says what Excel says
    assert row[start + 2] == ""  # the empty barcode cell is blank, not "None"
    assert "None" not in row

