"""eTIMS and the cash rounding line. KRA checks that a document's items add up to its totals (totAmt, the
taxable amount and the VAT per band). The rounding line is no supply: no item, no VAT. So the signed
invoice is the items (totAmt = the sale's lines = total - rounding), and the rounding stays on our receipt
between the goods and what was paid; a credit note likewise is its return's lines, without its rounding."""

from decimal import Decimal as D

import pytest

from pos.fiscal.models import Document, DocumentStatus
from pos.sales.receipts import receipt_text
from pos.sales.services import LineRequest, create_sale
from tests.fiscal.conftest import take_back

pytestmark = pytest.mark.django_db(transaction=True)


def _sum(values):
    return sum((D(str(v)) for v in values), D(0))


def test_the_signed_invoice_and_credit_note_are_their_items_and_the_rounding_line_is_not_one(
        device, goods, cashier, manager, shop_till):
    from pos.payments.services import pay_cash

    sugar, milk, rice = goods
    # rice 0.333 kg x 240 = 79.92, 10 % off = 71.93; sugar 180; milk 65: lines 316.93 -> total 317.00
    sale, _ = create_sale(cashier=cashier, items=[LineRequest(D("0.333"), product=rice.pk, discount_percent=D(10)),
                                                  LineRequest(D(1), product=sugar.pk), LineRequest(D(1), product=milk.pk)])
    assert (sale.total, sale.rounding) == (D("317.00"), D("0.07"))
    pay_cash(sale, amount_tendered=D("317"), user=cashier)
    document = Document.objects.get(sale=sale)
    assert document.status == DocumentStatus.SIGNED, document.last_error  # the simulator checks the sums
    body = document.request
    lines_total = sale.total - sale.rounding
    assert D(str(body["totAmt"])) == _sum(i["totAmt"] for i in body["itemList"]) == lines_total == D("316.93")
    assert D(str(body["totTaxAmt"])) == _sum(i["taxAmt"] for i in body["itemList"]) == sale.tax
    assert D(str(body["totTaxblAmt"])) + D(str(body["totTaxAmt"])) == D(str(body["totAmt"]))
    assert _sum(body[f"taxblAmt{letter}"] for letter in "ABCDE") == D(str(body["totTaxblAmt"]))
    assert not any("ound" in i["itemNm"] for i in body["itemList"])
    text = receipt_text(sale)
    assert "Rounding" in text and "0.07" in text and "317.00" in text  # the customer's total, on our receipt

    everything = sale.items.order_by("pk")
    sale_return = take_back(manager, sale, rice, "0.333")
    for product in (sugar, milk):
        sale.refresh_from_db()
        sale_return = take_back(manager, sale, product, 1)
    notes = list(Document.objects.filter(sale_return__sale=sale).order_by("pk"))
    assert [n.status for n in notes] == [DocumentStatus.SIGNED] * 3
    for note in notes:
        lines = note.sale_return.lines.all()
        assert D(str(note.request["totAmt"])) == _sum(line.amount for line in lines) == (
            note.sale_return.amount - note.sale_return.rounding)
    # the credit notes give back exactly the signed invoice; the rounding lines only the shop's cash
    assert _sum(n.request["totAmt"] for n in notes) == D(str(body["totAmt"])) == _sum(i.total for i in everything)
    assert _sum(n.sale_return.amount for n in notes) == sale.total
    assert sale_return.sale.returned_amount == sale.total
