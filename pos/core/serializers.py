"""The API's money and quantity fields, one definition for every serializer: decimal strings with the
columns' precision (money: 14 digits, 2 places; quantity: 14 digits, 3 places), so a value the database
cannot hold (1e30, NaN, Infinity, true) is a 400 with a field message, never a 500."""

from rest_framework import serializers

MONEY = {"max_digits": 14, "decimal_places": 2}
QUANTITY = {"max_digits": 14, "decimal_places": 3}


class MoneyField(serializers.DecimalField):
    def __init__(self, **kwargs):
        super().__init__(**{**MONEY, **kwargs})


class QuantityField(serializers.DecimalField):
    def __init__(self, **kwargs):
        super().__init__(**{**QUANTITY, **kwargs})


def money_field(**kwargs):
    return MoneyField(**kwargs)


def quantity_field(**kwargs):
    return QuantityField(**kwargs)
