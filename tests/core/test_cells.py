"""The one rule for spreadsheet cells (pos.core.cells)."""

from decimal import Decimal

import pytest

from pos.core.cells import safe_cell


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd",
                                  "=1", "-", "+", "+254 700 000 000"])
def test_text_a_spreadsheet_would_run_gets_an_apostrophe(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Sugar 1kg", "", "-12.50", "+3", "1,234.00", "-0.5", Decimal("-12.50"), -3, None,
                                   "a=b", " =x"])
def test_plain_text_and_numbers_are_left_alone(value):
    assert safe_cell(value) == value
