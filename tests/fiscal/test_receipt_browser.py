"""The 80 mm HTML receipt in Debian's chromium: printed, it is ONE page as wide as the paper holding the
48 columns, and its QR code (an inline SVG) scans to KRA's verification URL."""

import os
import re
import shutil
import subprocess

import pytest

from pos.fiscal.models import Document
from pos.sales.receipts import receipt_html, receipt_text
from tests.fiscal.conftest import BRANCH, PIN, sell

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
MM = 72 / 25.4  # PDF points per millimetre


@pytest.fixture
def chromium_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS)
        yield browser.new_page()
        browser.close()


def printed(page, html, tmp_path):
    page.set_content(html)
    page.emulate_media(media="print")
    path = tmp_path / "printed.pdf"
    path.write_bytes(page.pdf(prefer_css_page_size=True))
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    return int(re.search(r"Pages:\s+(\d+)", info).group(1)), width / MM, height / MM


@pytest.mark.parametrize("paper, columns", [(80, 48), (58, 32)])
def test_html_receipt_prints_as_one_page_of_the_paper_width_with_a_scannable_qr(
        chromium_page, device, goods, cashier, shop_till, settings, tmp_path, paper, columns):
    if not shutil.which("pdfinfo"):
        pytest.skip("pdfinfo not installed (apt-get install poppler-utils)")
    import zxingcpp
    from PIL import Image

    settings.RECEIPT_PAPER_MM = paper
    sugar, milk, rice = goods
    sale = sell(cashier, [(sugar, 2), (milk, 1), (rice, "1.25")] * 8)  # longer than an A4 page
    document = Document.objects.get(sale=sale)
    html = receipt_html(sale, copy=True)
    pages, width, height = printed(chromium_page, html, tmp_path)
    assert pages == 1
    assert width == pytest.approx(paper, abs=0.5) and height > 297
    # the longest line fits inside the paper (48 or 32 columns of the monospace font)
    chromium_page.emulate_media(media="screen")
    widths = chromium_page.evaluate("""() => { const pre = document.getElementById('receipt');
        return [pre.scrollWidth, pre.clientWidth, document.querySelector('.paper').getBoundingClientRect().width]; }""")
    assert widths[0] <= widths[1] + 1 and widths[2] == pytest.approx(paper * 96 / 25.4, abs=2)
    assert max(len(line) for line in receipt_text(sale).splitlines()) <= columns
    shot = tmp_path / "qr.png"
    chromium_page.locator("#etims-qr").screenshot(path=str(shot))
    found = zxingcpp.read_barcodes(Image.open(shot))
    assert [r.text for r in found] == [
        f"https://etims-sbx.kra.go.ke/common/link/etims/receipt/indexEtimsReceiptData?Data={PIN}{BRANCH}"
        f"{document.signature}"]
