"""Scale labels: weighed and priced goods scan into the product whose PLU is on the label, with the
label's weight or price, through the barcode lookup the till uses."""

from decimal import Decimal

import pytest

from pos.catalog.barcodes import gtin_check_digit
from pos.catalog.models import ScaleBarcodeRule
from pos.catalog.scale import make_label, value_check_digit
from pos.catalog.services import lookup_barcode, save_scale_rule
from pos.core.errors import ServiceError
from tests.factories import ProductFactory

BARCODE = "/api/products/barcode/{}/"


def label(digits12):
    """A label as the scale prints it: 12 digits and the EAN-13 check digit."""
    assert len(digits12) == 12
    return digits12 + gtin_check_digit(digits12)


@pytest.fixture
def rules(db):
    return {
        "weight": save_scale_rule(ScaleBarcodeRule(name="Weight, 5-digit PLU, grams", prefix="20", item_digits=5,
                                                   value_kind="weight", value_digits=5, value_decimals=3)),
        "price": save_scale_rule(ScaleBarcodeRule(name="Price, 5-digit PLU, cents", prefix="21", item_digits=5,
                                                  value_kind="price", value_digits=5, value_decimals=2)),
        "price_checked": save_scale_rule(ScaleBarcodeRule(
            name="Price, 4-digit PLU, price check digit", prefix="22", item_digits=4, value_check_digit=True,
            value_kind="price", value_digits=5, value_decimals=2)),
    }


@pytest.fixture
def produce(db):
    return {
        "tomatoes": ProductFactory(name="Tomatoes (kg)", unit="kg", plu="4011", price=Decimal("120.00"),
                                   barcode=None),
        "beef": ProductFactory(name="Beef steak (kg)", unit="kg", plu="123", price=Decimal("750.00"),
                               barcode=None),
        "cheese": ProductFactory(name="Cheddar (g)", unit="g", plu="77", price=Decimal("2.50"), barcode=None),
    }


def test_a_weight_label_scans_at_its_weight(rules, produce):
    code = label("20" + "04011" + "01250")  # 2 0 | PLU 04011 | 1250 g | check
    assert code == "2004011012500"
    scan = lookup_barcode(code)
    assert scan.product == produce["tomatoes"] and scan.quantity == Decimal("1.250") and scan.amount is None
    assert scan.label.rule == rules["weight"]


def test_a_weight_label_for_goods_sold_in_grams_gives_grams(rules, produce):
    scan = lookup_barcode(label("20" + "00077" + "00345"))
    assert scan.product == produce["cheese"] and scan.quantity == Decimal("345.000")


def test_a_price_label_gives_the_price_and_the_quantity_it_buys(rules, produce):
    scan = lookup_barcode(label("21" + "00123" + "01875"))  # 01875 cents: 18.75 of beef
    assert scan.product == produce["beef"] and scan.amount == Decimal("18.75")
    assert scan.quantity == Decimal("0.025")  # 18.75 / 750.00
    scan = lookup_barcode(label("21" + "00123" + "93750"))  # 937.50 of beef at 750.00 a kg
    assert scan.amount == Decimal("937.50") and scan.quantity == Decimal("1.250")


def test_a_price_label_with_a_price_check_digit(rules, produce):
    scan = lookup_barcode(label("22" + "4011" + "8" + "15000"))  # PLU 4011, price check digit 8, 150.00
    assert scan.product == produce["tomatoes"] and scan.amount == Decimal("150.00")
    assert scan.quantity == Decimal("1.250")


@pytest.mark.parametrize(("value", "digit"), [
    ("2875", "9"), ("14685", "6"),  # GS1 General Specifications' own examples (7.9.3)
    ("0000", "0"), ("00000", "0"), ("0150", "1"), ("15000", "8"), ("99999", "6"), ("9999", "6"),
])
def test_gs1_value_check_digit(value, digit):
    assert value_check_digit(value) == digit


def test_a_label_whose_price_disagrees_with_its_check_digit_is_refused_with_a_message(rules, produce):
    # 22 | PLU 4011 | V | 15000 (150.00): a scale prints V = 8; a label with 150.00 and V = 3 was edited or
    # misprinted (its EAN-13 check digit is right, so only the price check digit catches it).
    with pytest.raises(ServiceError) as refused:
        lookup_barcode(label("22" + "4011" + "3" + "15000"))
    assert refused.value.code == "label_check_digit" and refused.value.field is None
    assert refused.value.message == ("This scale label is wrong: its price 15000 needs check digit 8, the label "
                                     "has 3. Weigh the item again for a new label.")


def test_a_4_digit_price_label_in_whole_shillings(db, produce):
    # 23 | PLU 04011 | V | 0150 (KES 150) | C: a 4-digit price with GS1's 2-,2-,3,5- check digit (1)
    rule = save_scale_rule(ScaleBarcodeRule(name="Price, shillings, check digit", prefix="23", item_digits=5,
                                            value_check_digit=True, value_kind="price", value_digits=4,
                                            value_decimals=0))
    code = label("23" + "04011" + "1" + "0150")
    assert code == "2304011101502" and make_label(rule, "4011", Decimal("150")) == code
    scan = lookup_barcode(code)
    assert scan.product == produce["tomatoes"] and scan.amount == Decimal("150.00")
    assert scan.quantity == Decimal("1.250")  # 150 / 120.00 a kg
    with pytest.raises(ServiceError, match="needs check digit 1, the label has 4"):
        lookup_barcode(label("23" + "04011" + "4" + "0150"))


def test_a_rule_may_skip_a_check_digit_its_scale_does_not_compute(db, produce):
    save_scale_rule(ScaleBarcodeRule(name="Price, digit not GS1", prefix="22", item_digits=4,
                                     value_check_digit=True, verify_value_check_digit=False, value_kind="price",
                                     value_digits=5, value_decimals=2))
    assert lookup_barcode(label("22" + "4011" + "3" + "15000")).amount == Decimal("150.00")


def test_a_verified_check_digit_needs_a_4_or_5_digit_value(db):
    with pytest.raises(ServiceError, match="4- or 5-digit value"):
        save_scale_rule(ScaleBarcodeRule(name="Bad", prefix="22", item_digits=3, value_check_digit=True,
                                         value_kind="price", value_digits=6, value_decimals=2))


def test_the_till_gets_the_wrong_label_refused_in_words(rules, produce, cashier, api):
    client = api(cashier)
    response = client.get(BARCODE.format(label("22" + "4011" + "3" + "15000")))
    assert response.status_code == 400
    assert response.json() == {"code": "label_check_digit", "detail": [
        "This scale label is wrong: its price 15000 needs check digit 8, the label has 3. Weigh the item again "
        "for a new label."]}


def test_wrong_check_digit_unknown_plu_and_inactive_products_are_unknown(rules, produce):
    good = label("20" + "04011" + "01250")
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert lookup_barcode(bad) is None  # a misread label must not sell anything
    assert lookup_barcode(label("20" + "09999" + "01250")) is None
    assert lookup_barcode(label("25" + "04011" + "01250")) is None  # no rule for 25
    produce["tomatoes"].is_active = False
    produce["tomatoes"].save()
    assert lookup_barcode(good) is None


def test_a_product_owning_a_2x_barcode_is_found_by_it_first(rules, produce):
    code = label("20" + "04011" + "01250")
    own = ProductFactory(name="Pre-packed salad", barcode=code)
    scan = lookup_barcode(code)
    assert scan.product == own and scan.label is None and scan.quantity is None


def test_rules_must_make_an_ean13(db):
    with pytest.raises(ServiceError, match="13"):
        save_scale_rule(ScaleBarcodeRule(name="Bad", prefix="20", item_digits=6, value_digits=5))
    with pytest.raises(ServiceError, match="starting with 2"):
        save_scale_rule(ScaleBarcodeRule(name="Bad", prefix="30", item_digits=5, value_digits=5))


def test_the_barcode_endpoint_answers_the_product_and_the_label(rules, produce, cashier, api,
                                                               django_assert_max_num_queries):
    client = api(cashier)
    body = client.get(BARCODE.format(label("20" + "04011" + "01250"))).json()
    assert body["id"] == produce["tomatoes"].pk and body["name"] == "Tomatoes (kg)"
    assert body["scale_label"] == {"rule": "Weight, 5-digit PLU, grams", "kind": "weight", "quantity": "1.250",
                                   "amount": None}
    priced = client.get(BARCODE.format(label("21" + "00123" + "93750"))).json()
    assert priced["scale_label"]["amount"] == "937.50" and priced["scale_label"]["quantity"] == "1.250"
    ordinary = ProductFactory(name="Sugar 1kg")
    with django_assert_max_num_queries(3):  # token, user, product: a label costs nothing to ordinary scans
        plain = client.get(BARCODE.format(ordinary.barcode)).json()
    assert "scale_label" not in plain
    assert client.get(BARCODE.format(label("20" + "09999" + "01250"))).status_code == 404


def test_plu_is_normalised_and_unique(produce):
    from pos.catalog.services import create_product

    kale = create_product(name="Sukuma wiki (kg)", sku="VEG-9", category=produce["beef"].category, unit="kg",
                          price=Decimal("80.00"), plu=" 00456 ")
    assert kale.plu == "456"  # '00456' on a 5-digit label and '456' are one PLU
    with pytest.raises(ServiceError):
        create_product(name="Other", sku="VEG-10", category=kale.category, price=Decimal("1.00"), plu="0456")
    with pytest.raises(ServiceError, match="digits"):
        create_product(name="Other", sku="VEG-11", category=kale.category, price=Decimal("1.00"), plu="45a")
