"""Scale labels: EAN-13 codes with the weight or the price inside (GS1 prefixes 20-29, "restricted
circulation"), printed by the shop's scale for produce, meat, cheese...

A ScaleBarcodeRule says how to cut a code: prefix, item code (the product's PLU), optional value check
digit, value, EAN-13 check digit. Common layouts:

    20 PPPPP WWWWW C   weight in grams (value_decimals 3: 01234 -> 1.234 kg)
    21 PPPPP CCCCC C   price in cents (value_decimals 2: 04550 -> 45.50)
    22 PPPP V CCCCC C  price in cents with a price check digit V (4-digit item code)
    23 PPPPP V CCCC C  whole shillings, 4 digits, with a price check digit V
    2  PPPPPP WWWWW C  a one-digit prefix and a 6-digit item code

The value check digit V is GS1's (General Specifications 7.9.3, "price/weight check digit"): each digit of a
4-digit value is weighted 2-, 2-, 3, 5- and the check digit is the last digit of 3 x the sum; a 5-digit
value is weighted 5+, 2-, 5-, 5+, 2- and the check digit is the digit whose 5- product is 10 minus the
sum's last digit. A rule verifies it (`verify_value_check_digit`): a label whose price does not agree with
its own check digit is refused with a message, not sold.

`lookup_barcode` is what the scanner's lookup calls: the product with this exact barcode first (so a
product may own a 2x code), then the first active rule whose prefix and length fit.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from pos.catalog.barcodes import gtin_check_digit
from pos.catalog.models import Product, ScaleBarcodeRule, ScaleValue, Unit
from pos.core.errors import ServiceError

QUANTITY = Decimal("0.001")
MONEY = Decimal("0.01")


# GS1's weighting factors: the units digit of the weighted digit, indexed by the digit.
TWO_MINUS = [0, 2, 4, 6, 8, 9, 1, 3, 5, 7]   # 2 x d, units digit minus tens digit
THREE = [0, 3, 6, 9, 2, 5, 8, 1, 4, 7]       # 3 x d, units digit
FIVE_PLUS = [0, 5, 1, 6, 2, 7, 3, 8, 4, 9]   # 5 x d, units digit plus tens digit
FIVE_MINUS = [0, 5, 9, 4, 8, 3, 7, 2, 6, 1]  # 5 x d, units digit minus tens digit


def value_check_digit(value: str) -> str:
    """GS1's check digit of a 4- or 5-digit price or weight: '2875' -> '9', '14685' -> '6'."""
    digits = [int(ch) for ch in value]
    if len(digits) == 4:
        weighted = TWO_MINUS[digits[0]] + TWO_MINUS[digits[1]] + THREE[digits[2]] + FIVE_MINUS[digits[3]]
        return str(weighted * 3 % 10)
    if len(digits) == 5:
        weighted = (FIVE_PLUS[digits[0]] + TWO_MINUS[digits[1]] + FIVE_MINUS[digits[2]] + FIVE_PLUS[digits[3]]
                    + TWO_MINUS[digits[4]])
        return str(FIVE_MINUS.index((10 - weighted % 10) % 10))
    raise ValueError(f"GS1 value check digits are for 4 or 5 digits, not {len(digits)}")


@dataclass(frozen=True)
class ScaleLabel:
    """What a label says: the rule that read it, the item code, the weight (kg) or the price on it."""

    rule: ScaleBarcodeRule
    item_code: str
    weight: Decimal | None = None
    price: Decimal | None = None


@dataclass(frozen=True)
class Scan:
    """A scanned code's answer: the product and, for a scale label, the quantity and the label's price."""

    product: Product
    label: ScaleLabel | None = None
    quantity: Decimal | None = None
    amount: Decimal | None = None


def normalise_plu(code) -> str | None:
    """'00123' and '123' are the same PLU: digits without leading zeros ('' and None -> None)."""
    code = str(code or "").strip()
    if not code:
        return None
    if not code.isdigit():
        raise ServiceError("A PLU is digits only.", field="plu", code="invalid_plu")
    return code.lstrip("0") or "0"


def check_rule(rule):
    """A rule must cut a 13-digit EAN-13 with a digits-only prefix starting with 2."""
    if not rule.prefix.isdigit() or not rule.prefix.startswith("2"):
        raise ServiceError("A scale label prefix is digits starting with 2 (GS1 20-29).", field="prefix",
                           code="invalid_prefix")
    if rule.length != 13:
        raise ServiceError(
            f"Prefix, item code, value and check digits make {rule.length} digits; an EAN-13 label has 13.",
            field="item_digits", code="invalid_layout")
    if rule.value_kind == ScaleValue.PRICE and rule.value_decimals > 2:
        raise ServiceError("A price has at most 2 decimals.", field="value_decimals", code="invalid_layout")
    if rule.value_check_digit and rule.verify_value_check_digit and rule.value_digits not in (4, 5):
        raise ServiceError("GS1's value check digit covers a 4- or 5-digit value: set 4 or 5 value digits, or "
                           "do not verify the check digit.", field="value_digits", code="invalid_layout")


def read_label(code, rules) -> ScaleLabel | None:
    """Cut `code` with the first rule (longest prefix first) that fits, or None. The EAN-13 check digit
    must be right: a misread label must not sell 10 kg of beef. A rule that verifies the value's own check
    digit refuses (ServiceError) a label whose value disagrees with it: a label printed or edited wrong."""
    code = (code or "").strip()
    if len(code) != 13 or not code.isdigit() or gtin_check_digit(code[:-1]) != code[-1]:
        return None
    for rule in sorted(rules, key=lambda r: -len(r.prefix)):
        if not rule.is_active or rule.length != 13 or not code.startswith(rule.prefix):
            continue
        start = len(rule.prefix)
        item_code = code[start:start + rule.item_digits]
        value_start = start + rule.item_digits + int(rule.value_check_digit)
        digits = code[value_start:value_start + rule.value_digits]
        if rule.value_check_digit and rule.verify_value_check_digit and len(digits) in (4, 5):
            printed, expected = code[value_start - 1], value_check_digit(digits)
            if printed != expected:
                raise ServiceError(
                    _("This scale label is wrong: its %(kind)s %(digits)s needs check digit %(expected)s, "
                      "the label has %(printed)s. Weigh the item again for a new label.")
                    % {"kind": _("price") if rule.value_kind == ScaleValue.PRICE else _("weight"),
                       "digits": digits, "expected": expected, "printed": printed},
                    code="label_check_digit")
        value = Decimal(digits).scaleb(-rule.value_decimals)
        if rule.value_kind == ScaleValue.WEIGHT:
            return ScaleLabel(rule=rule, item_code=item_code, weight=value)
        return ScaleLabel(rule=rule, item_code=item_code, price=value.quantize(MONEY))
    return None


def label_quantity(product, label) -> tuple[Decimal, Decimal | None]:
    """The quantity to sell (in the product's unit) and, for a price label, the amount printed on it.

    A weight is in kg on the label: a product sold in grams gets grams. A price label's quantity is its
    price divided by the product's price, to the gram (the line then costs that quantity at the price,
    which can differ from the label by a cent of rounding)."""
    if label.weight is not None:
        quantity = label.weight * 1000 if product.unit == Unit.GRAM else label.weight
        return quantity.quantize(QUANTITY, ROUND_HALF_UP), None
    if not product.price:
        raise ServiceError(_("%(name)s has no price: a price label cannot be turned into a quantity.")
                           % {"name": product.name},
                           field="barcode", code="no_price")
    return (label.price / product.price).quantize(QUANTITY, ROUND_HALF_UP), label.price


def scale_rules():
    return list(ScaleBarcodeRule.objects.filter(is_active=True))


def lookup_barcode(code) -> Scan | None:
    """The scanner's lookup: the active product with this barcode, or the product a scale label names with
    the label's quantity (and price). None when nothing matches. One query for an ordinary barcode; a miss
    that could be a label (13 digits starting with 2) costs two more (the rules, the PLU)."""
    from pos.catalog.services import find_by_barcode

    code = (code or "").strip()
    product = find_by_barcode(code)
    if product is not None:
        return Scan(product=product)
    return lookup_scale_label(code)


def lookup_scale_label(code) -> Scan | None:
    """The product a scale label names, with the label's quantity (and price); None when `code` is no
    label of an active rule and an active product's PLU. No query unless `code` is 13 digits from 2."""
    code = (code or "").strip()
    if len(code) != 13 or not code.startswith("2") or not code.isdigit():
        return None
    label = read_label(code, scale_rules())
    if label is None:
        return None
    plu = normalise_plu(label.item_code)
    product = Product.objects.select_related("category").filter(plu=plu, is_active=True).first()
    if product is None:
        return None
    quantity, amount = label_quantity(product, label)
    if quantity <= 0:
        return None
    return Scan(product=product, label=label, quantity=quantity, amount=amount)


def make_label(rule, item_code, value) -> str:
    """The EAN-13 a scale prints for `item_code` and `value` (kg or currency) under `rule` (tests, demo)."""
    digits = int((Decimal(value).scaleb(rule.value_decimals)).to_integral_value(ROUND_HALF_UP))
    body = f"{rule.prefix}{int(item_code):0{rule.item_digits}d}"
    value = f"{digits:0{rule.value_digits}d}"
    if rule.value_check_digit:
        body += value_check_digit(value) if len(value) in (4, 5) else "0"
    body += value
    return body + gtin_check_digit(body)
