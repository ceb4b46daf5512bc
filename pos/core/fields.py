from django.db import models


class MoneyField(models.DecimalField):
    """Money: 14 digits, 2 decimals, in the install's currency (settings.CURRENCY)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(*args, **kwargs)


class QuantityField(models.DecimalField):
    """Quantities: 3 decimals, for goods sold by weight."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 3)
        super().__init__(*args, **kwargs)
