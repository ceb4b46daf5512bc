"""Receipts: a PDF that parses and says what the sale says, an 80 mm text layout, ESC/POS bytes."""

import re
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
                     "Cash tendered", "2,000.00", "Change", "Refund owed", "360.00B", "Items"):
        assert expected in text


@pytest.mark.django_db
def test_thermal_text_fits_48_columns_with_tax_letters_and_the_a_to_e_table(sale, settings):
    text = receipt_text(sale)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 48
    assert settings.SHOP_NAME.upper() in text and f"KRA PIN {settings.SHOP_KRA_PIN}" in text
    # each line's total carries its eTIMS tax letter: B 16 %, A exempt, E 8 %
    assert any(line.endswith("360.00B") for line in lines)
    assert any(line.endswith("65.00A") for line in lines)
    assert any(line.endswith("1,234.50E") for line in lines)
    bands = {line.split()[0]: line.split()[2:] for line in lines if line[:1] in "ABCDE" and line[1:4] == "   "}
    assert list(bands) == ["A", "B", "C", "D", "E"]
    items = {item.tax_rate: item for item in sale.items.all()}
    sugar, milk, long_one = items[D("16.00")], items[D("0.00")], items[D("8.00")]
    assert bands["B"] == [f"{sugar.total - sugar.tax:,.2f}", f"{sugar.tax:,.2f}"] == ["300.91", "48.14"]
    assert bands["A"] == [f"{milk.total:,.2f}", "0.00"] and bands["C"] == ["0.00", "0.00"]
    assert bands["E"] == [f"{long_one.total - long_one.tax:,.2f}", f"{long_one.tax:,.2f}"]
    assert f"{sale.total:,.2f}" in next(line for line in lines if line.startswith("TOTAL KES"))
    assert any(line.startswith("Change") and line.endswith(f"{sale.change_due:,.2f}") for line in lines)
    assert any(line.startswith("Items") and line.endswith("3") for line in lines)
    assert "Returned: 1" in text and "Refund owed" in text
    assert "COPY" not in text and "COPY" in receipt_text(sale, copy=True)


@pytest.fixture
def weighed_sale(cashier, manager, till):
    """1.25 kg of rice and 2 pieces of soap, paid by M-Pesa and card (stored completed payments)."""
    from pos.payments.models import Payment
    from pos.sales.services import settle_sale

    rice = ProductFactory(name="Rice loose", price=D("240.00"), unit="kg")
    soap = ProductFactory(name="Soap bar", price=D("50.00"))
    give_stock([rice, soap], user=manager)
    sale, _ = create_sale(cashier=cashier, items=[LineRequest(D("1.25"), product=rice.pk),
                                                  LineRequest(D("2"), product=soap.pk)])
    Payment.objects.create(sale=sale, method="mpesa", amount=D("300.00"), status="completed",
                           receipt="QJK3ABC123", phone_number="254708374149")
    Payment.objects.create(sale=sale, method="card", amount=D("100.00"), status="completed", receipt="FLW-778899")
    settle_sale(sale)
    sale.refresh_from_db()
    return sale


@pytest.mark.django_db
def test_every_format_shows_units_and_the_mobile_money_and_card_references(weighed_sale, tmp_path):
    text = receipt_text(weighed_sale)
    assert "1.25 kg x 240.00" in text and "  2 x 50.00" in text and "2.000" not in text
    assert "Ref QJK3ABC123" in text and "Ref FLW-778899" in text
    html = receipt_html(weighed_sale)
    assert "1.25 kg x 240.00" in html and "QJK3ABC123" in html and "FLW-778899" in html
    escpos = receipt_escpos(weighed_sale)
    assert b"1.25 kg x 240.00" in escpos and b"QJK3ABC123" in escpos and b"FLW-778899" in escpos
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed (apt-get install poppler-utils)")
    path = tmp_path / "receipt.pdf"
    path.write_bytes(receipt_pdf(weighed_sale))
    pdf_text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout
    for expected in ("1.25 kg x 240.00", "2 x 50.00", "QJK3ABC123", "FLW-778899", "300.00B"):
        assert expected in pdf_text


@pytest.mark.django_db
def test_58mm_paper_gives_32_columns_and_a_58mm_page(sale, settings):
    settings.RECEIPT_PAPER_MM = 58
    lines = receipt_text(sale).splitlines()
    assert max(len(line) for line in lines) <= 32 and len(max(lines, key=len)) >= 30
    html = receipt_html(sale)
    assert "size: 58mm " in html and 'data-paper-mm="58"' in html


@pytest.mark.django_db
def test_escpos_kicks_the_cash_drawer_only_when_set(sale, settings):
    kick = b"\x1bp\x00"
    assert kick not in receipt_escpos(sale)
    settings.RECEIPT_KICK_DRAWER = True
    data = receipt_escpos(sale)
    assert data.startswith(kick) and b"\x1dV" in data
    assert kick not in receipt_escpos(sale, copy=True)  # a reprint does not open the drawer


@pytest.mark.django_db
def test_escpos_bytes_and_printable_html(sale):
    data = receipt_escpos(sale)
    assert data.startswith(b"\x1b") and sale.receipt_number.encode() in data
    assert b"\x1dV" in data  # the paper cut
    html = receipt_html(sale)
    assert "<pre class=\"receipt\" id=\"receipt\">" in html and sale.receipt_number in html
    # one page exactly as tall as the receipt: a valid size (two lengths) and no margin
    rule = re.search(r"@page \{ size: (\d+)mm ([\d.]+)mm; margin: 0; \}", html)
    assert rule and rule.group(1) == "80"
    lines = receipt_text(sale).count("\n")
    assert float(rule.group(2)) == pytest.approx(8 + lines * 3.0, abs=0.2)


@pytest.mark.django_db
def test_a_reprint_from_the_api_or_the_back_office_says_copy(sale, api, manager):
    from django.urls import reverse

    from tests.conftest import client_for

    path = f"/api/sales/sales/{sale.id}/receipt/?format=text"
    assert "COPY" not in api(manager).get(path).content.decode()
    assert "*** COPY ***" in api(manager).get(path + "&copy=1").content.decode()
    page = client_for(manager).get(reverse("admin:sales_sale_receipt_80mm", args=[sale.pk])).content.decode()
    assert "*** COPY ***" in page
