"""The eTIMS block of a Kiswahili cashier's receipt: KRA's signed data under Kiswahili labels, the
"awaiting KRA" line and a credit note, in the text, the ESC/POS bytes and the PDF."""

import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from pos.fiscal import simulator
from pos.fiscal.models import Document
from pos.fiscal.services import groups_of_four, process_outbox
from pos.sales.receipts import receipt_escpos, receipt_pdf, receipt_text
from tests.fiscal.conftest import sell, take_back

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def swahili(cashier):
    cashier.language = "sw"
    cashier.save()
    return cashier


def test_the_signed_block_in_swahili(device, goods, swahili, manager, shop_till, tmp_path):
    sugar, milk, rice = goods
    sale = sell(swahili, [(sugar, 1), (milk, 1)])
    document = Document.objects.get(sale=sale)
    stamp = document.sdc_datetime
    when = f"{stamp[6:8]}/{stamp[4:6]}/{stamp[:4]} {stamp[8:10]}:{stamp[10:12]}:{stamp[12:]}"
    lines = receipt_text(sale).splitlines()
    start = lines.index("TAARIFA ZA SCU".center(48).rstrip())
    block = lines[start:lines.index("-" * 48, start)]
    internal, signature = groups_of_four(document.internal_data), groups_of_four(document.signature)
    sdc, counter, total = document.sdc_id, document.receipt_counter, document.receipt_total

    def row(label, value):
        return f"{label}:".ljust(48 - len(value) - 1) + " " + value

    assert block == [
        "                 TAARIFA ZA SCU",
        row("Tarehe/saa ya SCU", when),
        row("Kitambulisho cha CU", sdc),
        row("Nambari ya ankara ya CU", f"{sdc}/{counter}"),
        row("Nambari ya risiti", f"{counter}/{total}"),
        *([row("Data ya ndani", internal)] if len(internal) + 15 <= 48 else
          ["Data ya ndani:", *[f"  {part}" for part in _wrap(internal, 46)]]),
        *([row("Sahihi ya risiti", signature)] if len(signature) + 18 <= 48 else
          ["Sahihi ya risiti:", *[f"  {part}" for part in _wrap(signature, 46)]]),
    ]
    assert "ANKARA YA KODI".center(48).rstrip() in lines and "TAX INVOICE" not in "\n".join(lines)
    escpos = receipt_escpos(sale).decode("ascii", errors="replace")
    assert "TAARIFA ZA SCU" in escpos and row("Kitambulisho cha CU", sdc) in escpos

    note = take_back(manager, sale, milk, 1)
    credit = Document.objects.get(sale_return=note)
    text = receipt_text(sale)
    assert "HATI YA MAREJESHO" in text and groups_of_four(credit.signature) in text
    assert f"\nNambari ya ankara ya awali ya CU:\n  {sdc}/{counter}\n" in text  # too long for one line
    assert re.search(r"^Marejesho #\d+ ", text, re.M) and re.search(r"^Marejesho yanayodaiwa +-65\.00$", text, re.M)
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed (apt-get install poppler-utils)")
    path = tmp_path / "risiti.pdf"
    path.write_bytes(receipt_pdf(sale))
    pdf = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True).stdout
    for expected in ("ANKARA YA KODI", "TAARIFA ZA SCU", f"Tarehe/saa ya SCU: {when}", f"Kitambulisho cha CU: {sdc}",
                     f"Nambari ya ankara ya CU: {sdc}/{counter}", f"Nambari ya risiti: {counter}/{total}",
                     "HATI YA MAREJESHO", "Sahihi ya risiti:"):
        assert expected in pdf, expected


def _wrap(text, width):
    from pos.sales.receipts import _wrap as wrap

    return wrap(text, width)


def test_a_receipt_before_kra_answers_says_so_in_swahili(device, goods, swahili, shop_till):
    sugar, _, _ = goods
    simulator.control(down=True)
    try:
        sale = sell(swahili, [(sugar, 1)])
        lines = receipt_text(sale).splitlines()
        at = lines.index("*** INASUBIRI SAHIHI YA KRA ***".center(48).rstrip())
        assert lines[at + 1:at + 3] == ["  Data iliyotiwa sahihi itafuata; omba nakala", "baadaye.".center(48).rstrip()]
        assert "*** INASUBIRI SAHIHI YA KRA ***" in receipt_escpos(sale).decode("ascii", errors="replace")
    finally:
        simulator.control(down=False)
    process_outbox(device, now=timezone.now() + timedelta(minutes=10))
    copy = receipt_text(sale, copy=True)
    assert "*** NAKALA ***" in copy and "TAARIFA ZA SCU" in copy and "INASUBIRI" not in copy
