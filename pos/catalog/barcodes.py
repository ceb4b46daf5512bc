"""Barcode rules.

A shop may use any code of letters, digits and hyphens (internal codes, Code 128 labels). A purely
numeric code of 8, 12 or 13 digits is read as EAN-8, UPC-A or EAN-13, and its check digit must be right:
a wrong one is almost always a typing or scanning mistake.
"""

import re

from pos.core.errors import ServiceError

MAX_LENGTH = 64
ALLOWED = re.compile(r"^[A-Za-z0-9-]+\Z")
GTIN_LENGTHS = {8: "EAN-8", 12: "UPC-A", 13: "EAN-13"}

HELP_TEXT = (
    "Letters, digits and hyphens, up to 64 characters. A numeric code of 8, 12 or 13 digits is checked "
    "as EAN-8, UPC-A or EAN-13 and refused when its check digit is wrong. Empty: no barcode."
)


def gtin_check_digit(body: str) -> str:
    """The GS1 check digit of `body` (all digits but the last): weights 3,1,3,... from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def ean13_check_digit(body12: str) -> str:
    """The check digit of a 12-digit EAN-13 body."""
    if len(body12) != 12 or not body12.isdigit():
        raise ValueError("An EAN-13 body is 12 digits.")
    return gtin_check_digit(body12)


def make_ean13(body12: str) -> str:
    return body12 + ean13_check_digit(body12)


def clean_barcode(code) -> str | None:
    """Normalise a barcode ('' and None -> None, spaces trimmed) or raise ServiceError(field='barcode')."""
    if code is None:
        return None
    code = str(code).strip()
    if not code:
        return None
    if len(code) > MAX_LENGTH:
        raise ServiceError(f"A barcode has at most {MAX_LENGTH} characters.", field="barcode", code="invalid_barcode")
    if not ALLOWED.match(code):
        raise ServiceError("A barcode may only contain letters, digits and hyphens.", field="barcode",
                           code="invalid_barcode")
    kind = GTIN_LENGTHS.get(len(code)) if code.isdigit() else None
    if kind and gtin_check_digit(code[:-1]) != code[-1]:
        raise ServiceError(
            f"{code} is not a valid {kind} barcode: its check digit should be {gtin_check_digit(code[:-1])}.",
            field="barcode", code="invalid_check_digit",
        )
    return code
