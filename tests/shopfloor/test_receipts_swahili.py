"""Receipts in the cashier's language: a Kiswahili cashier's sale prints in Kiswahili in every format (text,
80/58 mm HTML, ESC/POS, PDF); a cashier without a language gets the shop's (SHOP_LANGUAGE)."""

import shutil
import subprocess
from decimal import Decimal

import pytest
from django.utils import timezone

from pos.payments.models import Payment
from pos.payments.services import pay_cash
from pos.sales.receipts import receipt_escpos, receipt_html, receipt_pdf, receipt_text
from pos.sales.services import LineRequest, create_sale, open_shift
from tests.factories import ProductFactory
from tests.sales.conftest import give_stock

D = Decimal


@pytest.fixture
def swahili_sale(cashier, manager):
    """1.25 kg of rice, 2 packs of soap less 10.00, a loaf (pieces): 465.50, rounded to 466.00 for cash;
    M-Pesa 300.00 and the rest, 166.00, from 200.00 in cash (change 34.00)."""
    cashier.first_name, cashier.last_name, cashier.language = "Amina", "Wanjiru", "sw"
    cashier.save()
    open_shift(cashier, D("1000.00"))
    rice = ProductFactory(name="Mchele (loose)", price=D("240.00"), unit="kg", tax_rate=D("16"))
    soap = ProductFactory(name="Sabuni Menengai", price=D("55.00"), unit="pack", tax_rate=D("16"))
    bread = ProductFactory(name="Mkate Festive 400g", price=D("65.50"), tax_rate=D("0"))
    give_stock([rice, soap, bread], user=manager)
    sale, _ = create_sale(cashier=cashier, items=[LineRequest(D("1.25"), product=rice.pk),
                                                  LineRequest(D("2"), product=soap.pk, discount=D("10")),
                                                  LineRequest(D("1"), product=bread.pk)])
    Payment.objects.create(sale=sale, method="mpesa", amount=D("300.00"), status="completed",
                           receipt="QJK3ABC123", phone_number="254708374149")
    pay_cash(sale, amount=D("166.00"), amount_tendered=D("200.00"), user=cashier)
    sale.refresh_from_db()
    return sale


def expected_lines(sale):
    when = timezone.localtime(sale.created_at).strftime("%d/%m/%Y %H:%M")
    number = sale.receipt_number
    return [
        "             DUKA DEMO SUPERMARKET",
        "              Moi Avenue, Nairobi",
        "             Simu +254 700 000 000",
        " PIN ya KRA P051234567X Nambari ya VAT 0123456A",
        "-" * 48,
        f"Risiti {number}".ljust(31) + " " + when,
        "Keshia: Amina Wanjiru".ljust(48),
        "-" * 48,
        "Mchele (loose)",
        "  1.25 kg x 240.00                       300.00B",
        "Sabuni Menengai",
        "  2 pakiti x 55.00                       110.00B",
        "  Punguzo                                 -10.00",
        "Mkate Festive 400g",
        "  1 x 65.50                               65.50A",
        "-" * 48,
        "Jumla ndogo                               475.50",
        "Punguzo                                   -10.00",
        "Ukadiriaji                                  0.50",
        "JUMLA KES                                 466.00",
        "-" * 48,
        "Kodi Kiwango          Thamani                VAT",
        "A   Msamaha             65.50               0.00",
        "B   16%                344.83              55.17",
        "C   0%                   0.00               0.00",
        "D   Si VAT               0.00               0.00",
        "E   8%                   0.00               0.00",
        "Jumla ya VAT                               55.17",
        "Bidhaa                                         3",
        "-" * 48,
        "Pesa taslimu                              166.00",
        "M-Pesa                                    300.00",
        "  Kumb. QJK3ABC123".ljust(48),
        "Taslimu iliyotolewa                       200.00",
        "Chenji                                     34.00",
        "-" * 48,
        "         Bei zinajumuisha VAT. Asante!",
        f"{number:^48}".rstrip(),
    ]


@pytest.mark.django_db
def test_a_swahili_cashiers_receipt_text_is_in_swahili(swahili_sale):
    assert receipt_text(swahili_sale).splitlines() == expected_lines(swahili_sale)
    copy = receipt_text(swahili_sale, copy=True).splitlines()
    assert copy[5] == "                 *** NAKALA ***" and copy[6:] == expected_lines(swahili_sale)[5:]


@pytest.mark.django_db
def test_the_html_receipts_80_and_58_mm_are_in_swahili(swahili_sale, settings):
    html = receipt_html(swahili_sale)
    text = html[html.index('<pre class="receipt" id="receipt">') + 34:html.index("</pre>")]
    assert text.replace("&#x27;", "'").splitlines() == expected_lines(swahili_sale)
    assert '<html lang="sw">' in html and "Chapisha risiti</button>" in html
    assert f"<title>Risiti {swahili_sale.receipt_number}</title>" in html
    settings.RECEIPT_PAPER_MM = 58
    narrow = receipt_html(swahili_sale, copy=True)
    lines = narrow[narrow.index('id="receipt">') + 13:narrow.index("</pre>")].splitlines()
    assert max(len(line) for line in lines) <= 32
    for expected in ("Simu +254 700 000 000", "*** NAKALA ***", "Keshia: Amina Wanjiru", "  2 pakiti x 55.00",
                     "Kodi Kiwango", "Jumla ya VAT", "  Kumb. QJK3ABC123", "Taslimu iliyotolewa", "Chenji"):
        assert any(line.strip().startswith(expected.strip()) for line in lines), expected
    assert "(nakala)</title>" in narrow


@pytest.mark.django_db
def test_the_escpos_bytes_are_in_swahili(swahili_sale):
    data = receipt_escpos(swahili_sale)
    body = data.decode("ascii", errors="replace")
    expected = expected_lines(swahili_sale)
    header = "\n".join(line.strip() for line in expected[:1])
    start = body.index(header)
    lines = body[start:].split("\n")
    assert lines[0] == "DUKA DEMO SUPERMARKET"
    rest = body[body.index(expected[1]):]
    assert rest.split("\n")[:len(expected) - 1] == expected[1:]


@pytest.mark.django_db
def test_the_pdf_receipt_is_in_swahili(swahili_sale, tmp_path):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed (apt-get install poppler-utils)")
    path = tmp_path / "risiti.pdf"
    path.write_bytes(receipt_pdf(swahili_sale))
    text = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout.rstrip("\x0c\n")
    when = timezone.localtime(swahili_sale.created_at).strftime("%d/%m/%Y %H:%M")
    number = swahili_sale.receipt_number
    assert text.splitlines() == [
        "Duka Demo Supermarket", "Moi Avenue, Nairobi", "Simu +254 700 000 000",
        "PIN ya KRA P051234567X Nambari ya VAT 0123456A",
        f"Risiti {number} {when}", "Keshia: Amina Wanjiru",
        "Mchele (loose)", "1.25 kg x 240.00 300.00B",
        "Sabuni Menengai", "2 pakiti x 55.00 110.00B", "Punguzo -10.00",
        "Mkate Festive 400g", "1 x 65.50 65.50A",
        "Jumla ndogo 475.50", "Punguzo -10.00", "Ukadiriaji 0.50", "JUMLA KES 466.00",
        "Kodi Kiwango Thamani VAT",
        "A Msamaha 65.50 0.00", "B 16% 344.83 55.17", "C 0% 0.00 0.00", "D Si VAT 0.00 0.00", "E 8% 0.00 0.00",
        "Jumla ya VAT 55.17", "Bidhaa 3",
        "Pesa taslimu 166.00", "M-Pesa 300.00", "Kumb. QJK3ABC123", "Taslimu iliyotolewa 200.00", "Chenji 34.00",
        "Bei zinajumuisha VAT. Asante!", number,
    ]
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
    assert f"Risiti {number}" in info


@pytest.mark.django_db
def test_the_receipt_language_is_the_cashiers_else_the_shops(swahili_sale, cashier, settings):
    assert receipt_text(swahili_sale).count("Asante!") == 1
    cashier.language = ""
    cashier.save()
    assert "Thank you!" in receipt_text(swahili_sale) and "Cash tendered" in receipt_text(swahili_sale)
    settings.LANGUAGE_CODE = "sw"  # SHOP_LANGUAGE=sw
    assert receipt_text(swahili_sale).splitlines() == expected_lines(swahili_sale)
    cashier.language = "en"
    cashier.save()
    assert "Change" in receipt_text(swahili_sale) and "Chenji" not in receipt_text(swahili_sale)


@pytest.mark.django_db
def test_the_58mm_pdf_keeps_the_long_swahili_lines_on_the_paper(swahili_sale, settings, tmp_path):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed (apt-get install poppler-utils)")
    settings.RECEIPT_PAPER_MM = 58
    path = tmp_path / "risiti-58.pdf"
    path.write_bytes(receipt_pdf(swahili_sale))
    text = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout.splitlines()
    assert "PIN ya KRA P051234567X" in text and "Nambari ya VAT 0123456A" in text
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert "164.409 x" in info  # 58 mm wide
