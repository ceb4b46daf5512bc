"""Tax types: A exempt, B 16 %, C zero-rated, D non-VAT, E 8 % (A = exempt and B = 16 %, not the other way)."""

from decimal import Decimal

import pytest

from pos.core.errors import ServiceError
from pos.fiscal.models import Document, DocumentStatus, FiscalItem
from pos.fiscal.services import tax_type
from pos.sales.receipts import receipt_text
from tests.factories import ProductFactory
from tests.fiscal.conftest import sell
from tests.sales.conftest import give_stock

D = Decimal


def test_vat_rates_map_to_the_etims_letters():
    assert tax_type(D("16")) == "B" and tax_type(D("8")) == "E"
    assert tax_type(D("0")) == "A" and tax_type(D("0"), "C") == "C" and tax_type(D("0"), "D") == "D"
    with pytest.raises(ServiceError, match="14%"):
        tax_type(D("14"))


@pytest.mark.django_db(transaction=True)
def test_zero_rated_items_are_c_and_a_rate_etims_does_not_know_blocks_only_that_items_sales(
        device, goods, cashier, manager, shop_till):
    sugar, milk, _ = goods
    sell(cashier, [(milk, 1)])
    item = FiscalItem.objects.get(product=milk)
    item.zero_rate_as = "C"
    item.save()
    odd = ProductFactory(name="Odd rate", price=D("100.00"), tax_rate=D("14"))
    give_stock([odd], user=manager)
    blocked = sell(cashier, [(odd, 1)])
    zero_rated = sell(cashier, [(milk, 2), (sugar, 1)])
    document = Document.objects.get(sale=zero_rated)
    assert document.status == DocumentStatus.SIGNED
    assert [line["taxTyCd"] for line in document.request["itemList"]] == ["C", "B"]
    assert document.request["taxblAmtC"] == 130.0 and document.request["taxblAmtA"] == 0
    assert any(line.endswith("130.00C") for line in receipt_text(zero_rated).splitlines())
    stuck = Document.objects.get(sale=blocked)
    assert stuck.status == DocumentStatus.BLOCKED and "VAT rate of 14% has no eTIMS tax type" in stuck.last_error
