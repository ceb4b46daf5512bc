"""A Kiswahili cashier at a 1024x600 till in headless chromium: a refusal from the server reaches them in
Kiswahili, they complete a sale, and the receipt (on screen, the printed 80 mm page and the receipt PDF,
read with pdftotext and rendered with pdftoppm) is in Kiswahili."""

import re
import subprocess
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from pos.catalog.barcodes import gtin_check_digit
from pos.catalog.models import ScaleBarcodeRule
from pos.catalog.services import save_scale_rule
from pos.inventory.services import adjust_stock
from pos.sales.models import Sale
from tests.factories import ProductFactory
from tests.shopfloor.conftest import cashier_at_the_till

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def swahili_till(live_server, cashier, manager):
    cashier.language = "sw"  # the cashier's own language (the admin's user page), not the browser's
    cashier.first_name, cashier.last_name = "Amina", "Wanjiru"
    cashier.save()
    with cashier_at_the_till(live_server, 1024, 600, locale="en-GB") as page:
        yield page


@pytest.fixture
def goods(manager):
    rice = ProductFactory(name="Mchele Pishori (kg)", unit="kg", plu="4011", barcode=None, price=Decimal("240.00"))
    soap = ProductFactory(name="Sabuni Menengai", unit="pack", price=Decimal("55.00"))
    for product in (rice, soap):
        adjust_stock(product, Decimal(50), user=manager, reason="opening stock")
    save_scale_rule(ScaleBarcodeRule(name="Price, price check digit", prefix="22", item_digits=4,
                                     value_check_digit=True, value_kind="price", value_digits=5, value_decimals=2))
    return {"rice": rice, "soap": soap}


def label(digits12):
    return digits12 + gtin_check_digit(digits12)


def test_a_swahili_cashier_sells_and_the_printed_receipt_is_in_swahili(swahili_till, goods, artifacts_dir,
                                                                       tmp_path, live_server):
    page = swahili_till
    expect(page.locator("label[for=co-scan]")).to_contain_text("Changanua")
    # a scale label whose price disagrees with its check digit: the server refuses it, in Kiswahili
    page.keyboard.type(label("22" + "4011" + "6" + "30000"))
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=message]")).to_contain_text(
        "Lebo hii ya mizani si sahihi: bei yake 30000 inahitaji tarakimu ya ukaguzi 3, lebo ina 6.")
    # the right label: 300.00 of rice at 240.00 a kg is 1.25 kg
    page.keyboard.type(label("22" + "4011" + "3" + "30000"))
    page.keyboard.press("Enter")
    page.keyboard.type(goods["soap"].barcode)
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=total]")).to_have_text("KES 355.00")
    page.keyboard.press("F4")
    expect(page.locator("#co-cash-given")).to_be_focused()
    page.keyboard.type("500")
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=done]")).to_contain_text("Imelipwa")
    expect(page.locator("[data-test=change-due]")).to_have_text("KES 145.00")
    receipt = page.locator("[data-test=receipt]")
    expect(receipt).to_contain_text("Risiti ")
    sale = Sale.objects.get()
    assert sale.status == "paid" and sale.total == Decimal("355.00")
    number = sale.receipt_number
    expect(receipt).to_contain_text(f"Risiti {number}")
    for words in ("Keshia: Amina Wanjiru", "1.25 kg x 240.00", "1 pakiti x 55.00", "JUMLA KES", "Pesa taslimu",
                  "Taslimu iliyotolewa", "Chenji", "Bei zinajumuisha VAT. Asante!"):
        expect(receipt).to_contain_text(words)
    page.screenshot(path=f"{artifacts_dir}/shopfloor-swahili-receipt-1024x600.png")

    # the receipt PDF the till links to, as the cashier's browser gets it
    href = page.locator("[data-test=receipt-pdf]").get_attribute("href")
    answer = page.request.get(live_server.url + href)
    assert answer.status == 200 and answer.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "risiti.pdf"
    pdf.write_bytes(answer.body())
    text = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    when = timezone.localtime(sale.created_at).strftime("%d/%m/%Y %H:%M")
    for line in (f"Risiti {number} {when}", "Keshia: Amina Wanjiru", "1.25 kg x 240.00 300.00B", "1 pakiti x 55.00 55.00B",
                 "JUMLA KES 355.00", "Kodi Kiwango Thamani VAT", "Pesa taslimu 355.00", "Taslimu iliyotolewa 500.00",
                 "Chenji 145.00", "Bei zinajumuisha VAT. Asante!"):
        assert line in text.splitlines(), line
    assert "Change" not in text and "Cashier" not in text
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), f"{artifacts_dir}/swahili-receipt"],
                   check=True)

    # the till's 80 mm page, printed by chromium: one page, the receipt in Kiswahili
    printable = page.context.new_page()
    printable.goto(live_server.url + href.replace("format=pdf", "format=html"))
    printable.emulate_media(media="print")
    printed = tmp_path / "printed.pdf"
    printed.write_bytes(printable.pdf(prefer_css_page_size=True, print_background=True))
    printed_text = subprocess.run(["pdftotext", "-layout", str(printed), "-"], capture_output=True, text=True,
                                  check=True).stdout
    info = subprocess.run(["pdfinfo", str(printed)], capture_output=True, text=True, check=True).stdout
    pages = re.search(r"^Pages:\s+(\d+)$", info, re.M).group(1)
    width = float(re.search(r"^Page size:\s+([\d.]+) x", info, re.M).group(1))
    assert pages == "1" and round(width / 72 * 25.4) == 80  # one 80 mm page
    for words in (f"Risiti {number}", "1.25 kg x 240.00", "Chenji", "145.00", "Asante!"):
        assert words in printed_text, words



def test_the_tills_words_around_a_server_refusal_are_in_swahili(swahili_till, goods):
    """api.js names the field a refusal is about ("Mstari 1 kiasi: ..."), in the cashier's language."""
    page = swahili_till
    refusal = """async (body) => {
        try { await window.posApi.api("POST", body.path, body.data); return "accepted"; }
        catch (error) { return error.message; }
    }"""
    message = page.evaluate(refusal, {"path": "/api/sales/sales/",
                                      "data": {"items": [{"product": goods["soap"].pk, "quantity": "1"},
                                                         {"product": goods["soap"].pk, "discount": "x"}]}})
    assert message == "Mstari 2 kiasi: Sehemu hii inahitajika Mstari 2 punguzo: Nambari sahihi inahitajika."
    message = page.evaluate(refusal, {"path": "/api/sales/cash-movements/",
                                      "data": {"kind": "out", "amount": "elfu", "reason": "Benki"}})
    assert message.startswith("kiasi: "), message
