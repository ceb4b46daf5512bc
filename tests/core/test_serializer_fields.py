"""One money field and one quantity field for every serializer (pos.core.serializers)."""

import ast
from pathlib import Path

import pytest
from rest_framework import serializers

from pos.core.serializers import MoneyField, QuantityField

ROOT = Path(__file__).resolve().parent.parent.parent / "pos"


@pytest.mark.parametrize("value", ["1e30", "NaN", "Infinity", True, "12.345", "", None, [], "1e12"])
def test_money_refuses_what_the_column_cannot_hold(value):
    with pytest.raises(serializers.ValidationError):
        MoneyField().run_validation(value)


def test_money_and_quantity_keep_the_columns_precision():
    assert str(MoneyField().run_validation("999999999999.99")) == "999999999999.99"
    assert str(QuantityField().run_validation("2.125")) == "2.125"
    with pytest.raises(serializers.ValidationError):
        QuantityField().run_validation("1e11")


def test_no_api_module_defines_its_own_14_digit_decimal_field():
    copies = []
    for path in ROOT.rglob("api.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "DecimalField":
                digits = {k.arg: getattr(k.value, "value", None) for k in node.keywords}
                spread = [getattr(k.value, "id", "") for k in node.keywords if k.arg is None]
                if digits.get("max_digits") == 14 or {"MONEY", "QTY", "QUANTITY"} & set(spread):
                    copies.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not copies, f"use pos.core.serializers.money_field / quantity_field: {copies}"
