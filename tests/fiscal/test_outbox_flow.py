"""A day of sales and returns signed by the simulator over real HTTP: in order, no gaps, none twice."""

from decimal import Decimal

import pytest

from pos.fiscal import simulator
from pos.fiscal.models import Call, Document, DocumentStatus, StockStatus
from pos.fiscal.services import day_summary, process_outbox
from tests.fiscal.conftest import BRANCH, PIN, sell, take_back

D = Decimal
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_day_of_sales_and_returns_is_signed_in_order_with_no_gaps(device, goods, cashier, manager, shop_till):
    sugar, milk, rice = goods
    sales = [sell(cashier, [(sugar, 2), (milk, 1)]), sell(cashier, [(rice, "1.25")]), sell(cashier, [(milk, 3)])]
    returned = take_back(manager, sales[0], milk, 1)
    sales.append(sell(cashier, [(sugar, 1), (rice, "0.5")]))
    returned2 = take_back(manager, sales[1], rice, "0.25")

    documents = list(Document.objects.order_by("pk"))
    assert [d.trade_invoice_no for d in documents] == [
        sales[0].receipt_number, sales[1].receipt_number, sales[2].receipt_number,
        f"{sales[0].receipt_number}-R{returned.pk}", sales[3].receipt_number,
        f"{sales[1].receipt_number}-R{returned2.pk}"]
    assert [d.status for d in documents] == [DocumentStatus.SIGNED] * 6
    assert [d.invoice_no for d in documents] == [1, 2, 3, 4, 5, 6]
    assert [d.kind for d in documents] == ["S", "S", "S", "R", "S", "R"]
    assert documents[3].original_invoice_no == 1 and documents[5].original_invoice_no == 2
    assert documents[3].request["rcptTyCd"] == "R" and documents[3].request["orgInvcNo"] == 1
    assert [d.stock_no for d in documents] == [1, 2, 3, 4, 5, 6]
    assert all(d.stock_status == StockStatus.SENT for d in documents)

    # KRA's side: the same numbers, each receipt signed once, the signatures we stored
    seen = simulator.stats(PIN, BRANCH)
    assert seen["last_invoice_no"] == 6 and seen["last_sar_no"] == 6
    assert [i["trdInvcNo"] for i in seen["invoices"]] == [d.trade_invoice_no for d in documents]
    assert all(i["signings"] == 1 for i in seen["invoices"])
    assert [i["rcptSign"] for i in seen["invoices"]] == [d.signature for d in documents]
    rice.refresh_from_db()
    assert seen["stock_master"][rice.fiscal_item.item_code] == float(rice.stock_quantity) == 98.5

    # the first sale: 2 sugar (B, 16 %) and 1 milk (A, exempt)
    body = documents[0].request
    assert body["totAmt"] == 425.0 and body["taxblAmtB"] == 310.34 and body["taxAmtB"] == 49.66
    assert body["taxblAmtA"] == 65.0 and body["taxAmtA"] == 0 and body["taxRtB"] == 16 and body["taxRtE"] == 8
    assert [(i["taxTyCd"], i["totAmt"]) for i in body["itemList"]] == [("B", 360.0), ("A", 65.0)]
    assert body["pmtTyCd"] == "01" and body["salesSttsCd"] == "02"

    assert process_outbox(device)["signed"] == 0  # nothing signed twice
    assert day_summary()["all_signed"] and day_summary()["sales"] == 4 and day_summary()["returns"] == 2
    assert not Call.objects.filter(request_headers__cmcKey__isnull=False).exclude(
        request_headers__cmcKey="********").exists()
