"""Totals, VAT and discount arithmetic: properties that hold for every cart (hypothesis)."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from pos.catalog.models import Product
from pos.core.money import CENT, tax_included, to_money
from pos.sales.services import PricedLine, price_lines, returned_part

prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("500"), places=3)
rates = st.sampled_from([Decimal("0"), Decimal("8"), Decimal("16"), Decimal("16.00"), Decimal("25"), Decimal("100")])


@st.composite
def carts(draw):
    lines = []
    for _ in range(draw(st.integers(min_value=1, max_value=12))):
        price, quantity = draw(prices), draw(quantities)
        gross = to_money(quantity * price)
        product = Product(price=price, cost_price=draw(prices), tax_rate=draw(rates))
        lines.append(PricedLine(product=product, quantity=quantity, unit_price=price, tax_rate=product.tax_rate,
                                gross=gross, discount=draw(st.decimals(min_value=0, max_value=gross, places=2))))
    left = sum((line.gross - line.discount for line in lines), Decimal(0))
    return lines, draw(st.decimals(min_value=0, max_value=left, places=2))


@given(carts())
def test_line_totals_add_up_to_the_sale_and_discount_shares_are_exact(cart):
    lines, order_discount = cart
    left = [line.gross - line.discount for line in lines]
    priced = price_lines(lines, order_discount)
    assert sum(line.order_discount for line in priced) == order_discount
    assert sum(line.total for line in priced) == sum(left) - order_discount
    for line, before in zip(priced, left):
        assert Decimal(0) <= line.order_discount <= before
        assert line.total == line.gross - line.discount - line.order_discount
        assert line.total.as_tuple().exponent == -2 and line.tax.as_tuple().exponent == -2


@given(carts())
def test_tax_is_never_more_than_the_total_and_is_the_vat_contained_in_it(cart):
    for line in price_lines(*cart):
        assert Decimal(0) <= line.tax <= line.total
        exact = line.total * line.tax_rate / (100 + line.tax_rate)
        assert abs(line.tax - exact) <= Decimal("0.005")
        if line.tax_rate == 0:
            assert line.tax == 0


@given(st.integers(min_value=0, max_value=10**9))
def test_half_a_cent_always_rounds_up(cents):
    assert to_money(Decimal(cents) / 100 + Decimal("0.005")) == Decimal(cents + 1) / 100
    assert to_money(Decimal(cents) / 100 + Decimal("0.0049")) == Decimal(cents) / 100


def test_half_up_not_bankers_rounding_on_vat_and_lines():
    # 0.05 at 100% VAT contains 0.025 of tax: half-up gives 0.03 (banker's rounding would give 0.02).
    assert tax_included(Decimal("0.05"), Decimal("100")) == Decimal("0.03")
    assert to_money(Decimal("0.5") * Decimal("0.05")) == Decimal("0.03")
    assert to_money(Decimal("2.5") * Decimal("10.01")) == Decimal("25.03")


@st.composite
def returns(draw):
    """A line (total, units sold) and the units brought back in several returns, all of them in the end."""
    total = draw(st.decimals(min_value=0, max_value=Decimal("99999.99"), places=2))
    sold = draw(st.integers(min_value=1, max_value=60))
    chunks, left = [], sold
    while left:
        chunk = draw(st.integers(min_value=1, max_value=left))
        chunks.append(chunk)
        left -= chunk
    return total, Decimal(sold), [Decimal(c) for c in chunks]


@given(returns())
def test_returns_of_a_line_add_up_to_its_total_to_the_cent(case):
    total, sold, chunks = case
    refunds, before = [], Decimal(0)
    for chunk in chunks:
        refunds.append(returned_part(total, sold, before + chunk) - returned_part(total, sold, before))
        before += chunk
    assert sum(refunds) == total
    assert refunds[0] == (total * chunks[0] / sold).quantize(CENT, rounding="ROUND_HALF_UP")
    for refund, chunk in zip(refunds, chunks):
        assert refund >= 0
        assert abs(refund - total * chunk / sold) <= Decimal("0.01")
