"""Receipts: a PDF that parses and says what the sale says, an 80 mm text layout, ESC/POS bytes."""

import shutil
import subprocess
from decimal import Decimal

import pytest

from pos.payments.services import pay_cash
from pos.sales.receipts import receipt_escpos, receipt_html, receipt_pdf, receipt_text
from pos.sales.services import LineRequest, create_sale, return_items
from tests.factories import ProductFactory
from tests.sales.conftest import give_stock

D = Decimal


@pytest.fixture
def sale(cashier, manager, till, goods):
    sugar, milk = goods
    long_name = ProductFactory(name="Extra long product name for the thermal receipt layout test 2kg",
                               price=D("1234.50"), tax_rate=D("8"))
    give_stock([long_name], user=manager)
    sale, _ = create_sale(cashier=cashier, items=[LineRequest(D("2"), product=sugar.pk, discount=D("10")),
                                                  LineRequest(D("1"), product=milk.pk),
                                                  LineRequest(D("1"), product=long_name.pk)],
                          discount=D("4.50"))
    pay_cash(sale, amount_tendered=D("2000"), user=cashier)
    return_items(sale, [(sale.items.get(product=milk).pk, "1")], manager, "sour")
    sale.refresh_from_db()
    return sale


@pytest.mark.django_db
def test_pdf_parses_and_shows_the_receipt_number_total_and_shop(sale, settings, tmp_path):
    pdf = receipt_pdf(sale)
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed (apt-get install poppler-utils)")
    path = tmp_path / "receipt.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    for expected in (sale.receipt_number, f"{sale.total:,.2f}", settings.SHOP_NAME, settings.SHOP_KRA_PIN,
                     "Cash tendered", "2,000.00", "Change", "Refund owed"):
        assert expected in text


@pytest.mark.django_db
def test_thermal_text_fits_48_columns_and_breaks_vat_down_by_rate(sale, settings):
    text = receipt_text(sale)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 48
    assert settings.SHOP_NAME.upper() in text and f"KRA PIN {settings.SHOP_KRA_PIN}" in text
    vat_rows = {line.split()[0]: line.split()[1:] for line in lines if line[:1].isdigit() and "%" in line[:8]}
    items = {item.tax_rate: item for item in sale.items.all()}
    assert set(vat_rows) == {"16%", "8%", "0%"}
    sugar = items[D("16.00")]
    assert vat_rows["16%"] == [f"{sugar.total - sugar.tax:,.2f}", f"{sugar.tax:,.2f}", f"{sugar.total:,.2f}"]
    assert f"{sale.total:,.2f}" in next(line for line in lines if line.startswith("TOTAL KES"))
    assert any(line.startswith("Change") and line.endswith(f"{sale.change_due:,.2f}") for line in lines)
    assert "Returned: 1" in text and "Refund owed" in text


@pytest.mark.django_db
def test_escpos_bytes_and_printable_html(sale):
    data = receipt_escpos(sale)
    assert data.startswith(b"\x1b") and sale.receipt_number.encode() in data
    assert b"\x1dV" in data  # the paper cut
    html = receipt_html(sale)
    assert "@page" in html and "80mm" in html and "<pre class=\"receipt\" id=\"receipt\">" in html
    assert sale.receipt_number in html
