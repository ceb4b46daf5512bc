"""Receipts carry KRA's signed block from the stored answer; the QR code scans to KRA's verification URL."""

import os
import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from pos.fiscal import simulator
from pos.fiscal.models import Call, Document, DocumentStatus
from pos.fiscal.services import groups_of_four, process_outbox, verification_url
from pos.sales.receipts import receipt_escpos, receipt_html, receipt_pdf, receipt_text
from tests.fiscal.conftest import BRANCH, PIN, sell, take_back

pytestmark = pytest.mark.django_db(transaction=True)
SBX = "https://etims-sbx.kra.go.ke/common/link/etims/receipt/indexEtimsReceiptData?Data="


def test_the_verification_url_is_pin_11_branch_2_signature_16():
    url = verification_url("P051234567X", "00", "ABCDEFGHIJKLMNOP", "production")
    assert url == ("https://etims.kra.go.ke/common/link/etims/receipt/indexEtimsReceiptData?Data="
                   "P051234567X00ABCDEFGHIJKLMNOP")
    assert verification_url("P051234567X", "01", "ABCDEFGHIJKLMNOP", "sandbox") == SBX + "P051234567X01ABCDEFGHIJKLMNOP"
    for pin, branch, sign in (("P05123456X", "00", "A" * 16), ("P051234567X", "0", "A" * 16),
                              ("P051234567X", "00", "A" * 15)):
        with pytest.raises(ValueError):
            verification_url(pin, branch, sign)
    assert groups_of_four("ABCDEFGHIJKLMNOPQR") == "ABCD-EFGH-IJKL-MNOP-QR"


def test_signed_receipt_shows_the_scu_block_and_a_reprint_says_copy_from_the_stored_answer(
        device, goods, cashier, manager, shop_till):
    sugar, milk, rice = goods
    sale = sell(cashier, [(sugar, 2), (rice, "1.25"), (milk, 1)])
    document = Document.objects.get(sale=sale)
    device.refresh_from_db()
    assert document.status == DocumentStatus.SIGNED and len(document.signature) == 16
    text = receipt_text(sale)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 48
    assert "TAX INVOICE" in text and "SCU INFORMATION" in text and "AWAITING" not in text
    stamp = document.sdc_datetime
    assert f"{stamp[6:8]}/{stamp[4:6]}/{stamp[:4]} {stamp[8:10]}:{stamp[10:12]}:{stamp[12:]}" in text
    assert re.search(rf"^CU invoice no: +{device.sdc_id}/{document.receipt_counter}$", text, re.M)
    assert re.search(rf"^CU ID: +{device.sdc_id}$", text, re.M)
    assert re.search(rf"^Receipt no: +{document.receipt_counter}/{document.receipt_total}$", text, re.M)
    assert groups_of_four(document.signature) in text and groups_of_four(document.internal_data) in text
    assert re.search(r"[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$", text, re.M)
    assert any(line.endswith("300.00B") for line in lines) and any(line.endswith("65.00A") for line in lines)
    assert "1.25 kg x 240.00" in text

    calls = Call.objects.count()
    copy = receipt_text(sale, copy=True)
    assert "*** COPY ***" in copy and groups_of_four(document.signature) in copy
    assert Call.objects.count() == calls  # a reprint never asks KRA again
    html = receipt_html(sale, copy=True)
    assert "<svg" in html and f'data-url="{SBX}{PIN}{BRANCH}{document.signature}"' in html
    assert receipt_escpos(sale).count(b"\x1d(k") >= 3  # the QR code's ESC/POS commands (model, store, print)

    note = take_back(manager, sale, milk, 1)
    credit = Document.objects.get(sale_return=note)
    assert credit.status == DocumentStatus.SIGNED
    text = receipt_text(sale)
    assert "CREDIT NOTE" in text and groups_of_four(credit.signature) in text
    assert re.search(rf"Original CU invoice no: +{device.sdc_id}/{document.receipt_counter}\n", text)


def test_a_receipt_printed_before_kra_answers_says_it_awaits_kra(device, goods, cashier, shop_till):
    sugar, _, _ = goods
    simulator.control(down=True)
    sale = sell(cashier, [(sugar, 1)])
    text = receipt_text(sale)
    assert "*** AWAITING KRA SIGNATURE ***" in text and "SCU INFORMATION" not in text
    assert "<svg" not in receipt_html(sale)
    simulator.control(down=False)
    process_outbox(device, now=timezone.now() + timedelta(minutes=10))
    assert "SCU INFORMATION" in receipt_text(sale, copy=True)


def test_the_pdf_receipt_qr_code_scans_to_the_stored_signature(device, goods, cashier, shop_till, artifacts_dir,
                                                              tmp_path):
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm not installed (apt-get install poppler-utils)")
    import zxingcpp
    from PIL import Image

    sugar, milk, _ = goods
    sale = sell(cashier, [(sugar, 1), (milk, 2)])
    document = Document.objects.get(sale=sale)
    pdf = tmp_path / "receipt.pdf"
    pdf.write_bytes(receipt_pdf(sale, copy=True))
    subprocess.run(["pdftoppm", "-png", "-r", "200", "-singlefile", str(pdf), str(tmp_path / "receipt")], check=True)
    png = tmp_path / "receipt.png"
    shutil.copy(png, os.path.join(artifacts_dir, "etims-receipt.png"))
    found = [r for r in zxingcpp.read_barcodes(Image.open(png)) if r.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(found) == 1
    url = found[0].text
    assert url == SBX + PIN + BRANCH + document.signature
    data = url.split("Data=")[1]
    assert (data[:11], data[11:13], data[13:]) == (PIN, BRANCH, document.signature) and len(data) == 29
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "TAX INVOICE" in text and "COPY" in text and groups_of_four(document.signature) in text
    assert f"{document.sdc_id}/{document.receipt_counter}" in text
