"""A small fixed shop for the report tests, with every figure computed by hand in the tests.

Day D = Tuesday 2026-03-10 (Nairobi, UTC+3). Products: Sugar 180.00 (cost 150, VAT 16%, Groceries),
Milk 65.00 (cost 50, VAT-exempt, Dairy), Soap 100.00 (cost 60, VAT 16%, Household).

  A  cashier   2 Sugar + 1 Milk, order discount 25.00       paid cash        D 10:00
  B  cashier   1 Soap (line discount 10.00) + 1 Sugar        cash 100 + M-Pesa 170  D 23:59
  C  cashier2  3 Milk                                        cash 200 (change 5)    D+1 00:01
  X  cashier   1 Sugar, cancelled                            excluded
  P  cashier   1 Soap, waiting for payment                   excluded
  R  manager   return of 1 Sugar of sale A                   D+1 12:00
"""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from pos.inventory.services import adjust_stock
from pos.payments.gateways.base import GatewayResult
from pos.payments.models import Payment
from pos.payments.services import apply_result, pay_cash
from pos.reports import rollups
from pos.sales.models import Sale, SaleReturn
from pos.sales.services import (
    LineRequest,
    cancel_sale,
    create_sale,
    open_shift,
    return_items,
)
from tests.factories import CategoryFactory, ProductFactory

NAIROBI = ZoneInfo("Africa/Nairobi")
D = date(2026, 3, 10)
D1 = date(2026, 3, 11)


def at(day, hour, minute=0):
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NAIROBI)


def sell(cashier, lines, discount="0"):
    sale, _ = create_sale(cashier=cashier, items=[LineRequest(Decimal(q), product=p.pk, discount=Decimal(d))
                                                  for p, q, d in lines], discount=Decimal(discount))
    return sale


def pay_mpesa(sale, amount, receipt):
    payment = Payment.objects.create(sale=sale, method="mpesa", amount=Decimal(amount), currency="KES",
                                     status="processing", provider_reference=f"ws_CO_{receipt}")
    apply_result(payment, GatewayResult(status="completed", amount=Decimal(amount), currency="KES", receipt=receipt),
                 "test")


def dated(sale, moment):
    Sale.objects.filter(pk=sale.pk).update(paid_at=moment, created_at=moment)


@pytest.fixture
def products(manager):
    sugar = ProductFactory(name="Sugar", sku="SUG", price=Decimal("180.00"), cost_price=Decimal("150.00"),
                           category=CategoryFactory(name="Groceries"), reorder_level=Decimal(5))
    milk = ProductFactory(name="Milk", sku="MLK", price=Decimal("65.00"), cost_price=Decimal("50.00"),
                          tax_rate=Decimal(0), category=CategoryFactory(name="Dairy"))
    soap = ProductFactory(name="Soap", sku="SOP", price=Decimal("100.00"), cost_price=Decimal("60.00"),
                          category=CategoryFactory(name="Household"))
    for p in (sugar, milk, soap):
        adjust_stock(p, Decimal(10), user=manager, reason="opening stock")
    return sugar, milk, soap


@pytest.fixture
def shop(cashier, other_cashier, manager, products):
    sugar, milk, soap = products
    open_shift(cashier, Decimal(1000))
    open_shift(other_cashier, Decimal(500))
    a = sell(cashier, [(sugar, "2", "0"), (milk, "1", "0")], discount="25.00")
    pay_cash(a, amount_tendered=Decimal(400), user=cashier)
    b = sell(cashier, [(soap, "1", "10.00"), (sugar, "1", "0")])
    pay_cash(b, amount_tendered=Decimal(100), amount=Decimal(100), user=cashier)
    pay_mpesa(b, "170.00", "QKR0000001")
    c = sell(other_cashier, [(milk, "3", "0")])
    pay_cash(c, amount_tendered=Decimal(200), user=other_cashier)
    x = sell(cashier, [(sugar, "1", "0")])
    cancel_sale(x, user=cashier, reason="customer left")
    p = sell(cashier, [(soap, "1", "0")])
    sugar_line = a.items.get(product=sugar)
    sale_return = return_items(a, [(sugar_line.pk, Decimal(1))], manager, reason="damaged bag")
    dated(a, at(D, 10))
    dated(b, at(D, 23, 59))
    dated(c, at(D1, 0, 1))
    Sale.objects.filter(pk__in=[x.pk, p.pk]).update(created_at=at(D, 12))
    SaleReturn.objects.filter(pk=sale_return.pk).update(created_at=at(D1, 12))
    rollups.rebuild()  # the sales were back-dated behind the services' back: their days are rolled up again
    assert rollups.mismatches() == []
    return {"a": a, "b": b, "c": c, "x": x, "p": p, "return": sale_return, "products": products}


def login(client, user):
    client.force_login(user)
    return client
