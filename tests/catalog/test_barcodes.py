import pytest

from pos.catalog.barcodes import clean_barcode, ean13_check_digit, gtin_check_digit
from pos.core.errors import ServiceError
from tests.factories import ean13


@pytest.mark.parametrize("code", [
    "5449000000996",   # EAN-13 (Coca-Cola)
    "6161101600019",   # EAN-13, Kenyan prefix
    "96385074",        # EAN-8
    "036000291452",    # UPC-A
    "SHOP-0042",       # internal code: letters and hyphen, not checked
    "1234567",         # 7 digits: not a GTIN length, not checked
])
def test_valid_codes_are_accepted(code):
    assert clean_barcode(f"  {code} ") == code


@pytest.mark.parametrize("code, kind, right", [
    ("5449000000997", "EAN-13", "6"), ("96385075", "EAN-8", "4"), ("036000291453", "UPC-A", "2"),
])
def test_a_wrong_check_digit_is_refused_with_the_right_one(code, kind, right):
    with pytest.raises(ServiceError) as error:
        clean_barcode(code)
    assert error.value.field == "barcode"
    assert error.value.message == f"{code} is not a valid {kind} barcode: its check digit should be {right}."


@pytest.mark.parametrize("code", ["ABC 123", "61610/1", "mdf*", "x" * 65])
def test_bad_characters_or_length_are_refused(code):
    with pytest.raises(ServiceError):
        clean_barcode(code)


def test_empty_barcode_means_none():
    assert clean_barcode("") is None and clean_barcode("   ") is None and clean_barcode(None) is None


def test_our_check_digit_agrees_with_the_test_factory():
    for n in (1, 42, 9001, 123456):
        code = ean13(n)
        assert ean13_check_digit(code[:12]) == code[-1] == gtin_check_digit(code[:12])
