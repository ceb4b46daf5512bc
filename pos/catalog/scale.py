"""Scale labels: EAN-13 codes with the weight or the price inside (GS1 prefixes 20-29, "restricted
circulation"), printed by the shop's scale for produce, meat, cheese...

A ScaleBarcodeRule says how to cut a code: prefix, item code (the product's PLU), optional value check
digit, value, EAN-13 check digit. Common layouts:

    20 PPPPP WWWWW C   weight in grams (value_decimals 3: 01234 -> 1.234 kg)
    21 PPPPP CCCCC C   price in cents (value_decimals 2: 04550 -> 45.50)
    22 PPPP V CCCCC C  price in cents with a price check digit V (4-digit item code)
    2  PPPPPP WWWWW C  a one-digit prefix and a 6-digit item code

`lookup_barcode` is what the scanner's lookup calls: the product with this exact barcode first (so a
product may own a 2x code), then the first active rule whose prefix and length fit.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from pos.catalog.barcodes import gtin_check_digit
from pos.catalog.models import Product, ScaleBarcodeRule, ScaleValue, Unit
from pos.core.errors import ServiceError

QUANTITY = Decimal("0.001")
MONEY = Decimal("0.01")


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


def read_label(code, rules) -> ScaleLabel | None:
    """Cut `code` with the first rule (longest prefix first) that fits, or None. The EAN-13 check digit
    must be right: a misread label must not sell 10 kg of beef."""
    code = (code or "").strip()
    if len(code) != 13 or not code.isdigit() or gtin_check_digit(code[:-1]) != code[-1]:
        return None
    for rule in sorted(rules, key=lambda r: -len(r.prefix)):
        if not rule.is_active or rule.length != 13 or not code.startswith(rule.prefix):
            continue
        start = len(rule.prefix)
        item_code = code[start:start + rule.item_digits]
        value_start = start + rule.item_digits + int(rule.value_check_digit)
        value = Decimal(code[value_start:value_start + rule.value_digits]).scaleb(-rule.value_decimals)
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
        raise ServiceError(f"{product.name} has no price: a price label cannot be turned into a quantity.",
                           field="code", code="no_price")
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
    if rule.value_check_digit:
        body += "0"
    body += f"{digits:0{rule.value_digits}d}"
    return body + gtin_check_digit(body)
